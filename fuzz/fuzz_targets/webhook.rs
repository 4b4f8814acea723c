//! Any text as a webhook payload, decided against the example cluster's trust settings: no
//! panic, and a request that is decided renders a pipeline that passes the checks.
#![no_main]

use grove_core::fleet::Fleet;
use grove_core::{generate, request_from_webhook, Files};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|payload: &str| {
    let mut files = Files::new();
    files.insert("grove.yml".into(), include_str!("../../examples/cluster/grove.yml").into());
    files.insert(
        "instances/staging/config.yml".into(),
        include_str!("../../examples/cluster/instances/staging/config.yml").into(),
    );
    let fleet = Fleet::new(files).expect("the example settings parse");
    if let Ok(request) = request_from_webhook(payload, &fleet) {
        if let Ok(generated) = generate(&request, &fleet) {
            generated.pipeline.check().expect("a generated pipeline passes its checks");
        }
    }
});
