//! Embeds the example cluster and the golden cases of `tests/titles/` for the browser tests.
//!
//! Writes `$OUT_DIR/golden.rs` with `CLUSTER` (every file of `examples/cluster/`, path → text)
//! and `CASES` (each `NAME.title` with its expected `.yml`, `.plan.json` and `.plan.txt`), as
//! `include_str!`s, so that the tests in the browser need no file system and fail if a case
//! changes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let project = manifest.parent().expect("the workspace root").to_path_buf();
    let cluster = project.join("examples/cluster");
    let titles = project.join("tests/titles");
    println!("cargo:rerun-if-changed={}", cluster.display());
    println!("cargo:rerun-if-changed={}", titles.display());

    let mut out = String::new();
    out.push_str("/// Every file of `examples/cluster/`: path relative to it, and text.\n");
    out.push_str("const CLUSTER: &[(&str, &str)] = &[\n");
    let mut files = Vec::new();
    walk(&cluster, &cluster, &mut files);
    files.sort();
    for (relative, full) in &files {
        writeln!(out, "    ({relative:?}, include_str!({full:?})),").expect("write");
    }
    out.push_str("];\n\n");

    out.push_str("/// The golden cases: name, title file, and the expected outputs of the CLI.\n");
    out.push_str("const CASES: &[Case] = &[\n");
    let mut names: Vec<String> = fs::read_dir(&titles)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.strip_suffix(".title").map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    for name in &names {
        let file = |suffix: &str| titles.join(format!("{name}{suffix}")).display().to_string();
        writeln!(
            out,
            "    Case {{ name: {name:?}, title: include_str!({:?}), yaml: include_str!({:?}), \
             plan_json: include_str!({:?}), plan_text: include_str!({:?}) }},",
            file(".title"),
            file(".yml"),
            file(".plan.json"),
            file(".plan.txt"),
        )
        .expect("write");
    }
    out.push_str("];\n");

    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    fs::write(out_dir.join("golden.rs"), out).expect("write golden.rs");
}

/// Collects every file under `dir` that is not hidden, as (path relative to `root`, full path).
fn walk(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(root, &path, files);
        } else if let Ok(relative) = path.strip_prefix(root) {
            let relative = relative.to_string_lossy().replace('\\', "/");
            files.push((relative, path.display().to_string()));
        }
    }
}
