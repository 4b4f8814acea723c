//! Writes a synthetic cluster repository of N instances to DIR and prints the batch-upgrade
//! title that matches the most instances.
//!
//! Usage: `cargo run --release -p grove-core --example gen-fleet -- N DIR`

mod fleet_gen;

use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(n), Some(dir)) = (args.first().and_then(|n| n.parse().ok()), args.get(1)) else {
        eprintln!("usage: gen-fleet N DIR");
        std::process::exit(2);
    };
    for (path, text) in fleet_gen::fleet(n) {
        let path = Path::new(dir).join(path);
        std::fs::create_dir_all(path.parent().expect("a file has a folder"))
            .expect("create folder");
        std::fs::write(&path, text).expect("write file");
    }
    println!("{}", fleet_gen::batch_title());
}
