//! Any text as a webhook payload, decided against the example cluster's trust settings: no
//! panic, and a request that is decided renders a pipeline that passes the checks.
#![no_main]

use grove_core::fleet::Fleet;
use grove_core::template::Templates;
use grove_core::{generate_with, request_from_webhook, Files};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The example cluster's trust settings and one template instance, with compiled templates.
fn fixture() -> &'static (Fleet, Templates) {
    static FIXTURE: OnceLock<(Fleet, Templates)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut files = Files::new();
        files.insert("grove.yml".into(), include_str!("../../examples/cluster/grove.yml").into());
        files.insert(
            "instances/staging/config.yml".into(),
            include_str!("../../examples/cluster/instances/staging/config.yml").into(),
        );
        let fleet = Fleet::new(files).expect("the example settings parse");
        let templates = Templates::new(&fleet).expect("the templates compile");
        (fleet, templates)
    })
}

fuzz_target!(|payload: &str| {
    let (fleet, templates) = fixture();
    if let Ok(request) = request_from_webhook(payload, fleet) {
        if let Ok(generated) = generate_with(&request, fleet, templates) {
            generated.pipeline.check().expect("a generated pipeline passes its checks");
        }
    }
});
