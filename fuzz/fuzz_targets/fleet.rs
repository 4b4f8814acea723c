//! Any text as an instance's config.yml and grove.yml and the cluster's grove.yml: no panic,
//! and every error points inside the file it names.
#![no_main]

use grove_core::fleet::Fleet;
use grove_core::name::InstanceName;
use grove_core::render::template::Templates;
use grove_core::{shard, title, Files, Options, Plan};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The embedded templates, compiled once (compiling them per input would be most of the time).
fn templates() -> &'static Templates {
    static TEMPLATES: OnceLock<Templates> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let fleet = Fleet::new(Files::new()).unwrap();
        Templates::new(&fleet, Options::default().patches(&fleet)).unwrap()
    })
}

fuzz_target!(|input: (&str, &str, &str)| {
    let (config, settings, cluster) = input;
    let mut files = Files::new();
    files.insert("instances/campus/config.yml".into(), config.into());
    files.insert("instances/campus/grove.yml".into(), settings.into());
    // With a store that outlives CI jobs, so that generation is reached.
    files.insert("grove.yml".into(), format!("ENV_STORE: s3://b/p\n{cluster}"));
    let fleet = match Fleet::new(files) {
        Ok(fleet) => fleet,
        Err(e) => return check(&e),
    };
    if let Err(e) = fleet.instance(&InstanceName::parse("campus").unwrap()) {
        check(&e);
    }
    let (request, _) = title::request("[AutoDeploy][Batch][UpgradeTo] abcdef1").unwrap();
    let rendered = Plan::new(&request, &fleet)
        .and_then(|plan| shard::render(&plan, &fleet, templates(), &Options::default()));
    if let Err(e) = rendered {
        check(&e);
    }
});

fn check(error: &grove_core::Error) {
    if let Some(source) = &error.source {
        for d in &error.diagnostics {
            assert!(d.start <= d.end && d.end <= source.text.len(), "{d:?} in {}", source.name);
        }
    }
}
