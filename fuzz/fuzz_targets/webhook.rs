//! Any text as a webhook payload, decided against the example cluster's trust settings: no
//! panic, and a request that is decided renders a pipeline that passes the checks.
#![no_main]

use grove_core::generate::{plan_and_render, Prepared};
use grove_core::{webhook, Files, Options};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The example cluster's trust settings and one template instance, with compiled templates.
fn fixture() -> &'static Prepared {
    static FIXTURE: OnceLock<Prepared> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut files = Files::new();
        files.insert("grove.yml".into(), include_str!("../../examples/cluster/grove.yml").into());
        files.insert(
            "instances/staging/config.yml".into(),
            include_str!("../../examples/cluster/instances/staging/config.yml").into(),
        );
        Prepared::new(files, &Options::default()).expect("the example settings parse")
    })
}

fuzz_target!(|payload: &str| {
    let prepared = fixture();
    if let Ok(request) = webhook::request(payload, &prepared.fleet.settings.webhooks) {
        if let Ok(generated) = plan_and_render(request, Vec::new(), prepared, &Options::default()) {
            generated.main.pipeline.check().expect("a generated pipeline passes its checks");
        }
    }
});
