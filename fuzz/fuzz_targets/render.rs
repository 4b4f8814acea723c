//! Hostile values through the templates: whatever the text, the pipeline keeps exactly the
//! template's jobs and scripts, and the value arrives intact in an unexpanded variable.
#![no_main]

use grove_core::fleet::Fleet;
use grove_core::plan::Plan;
use grove_core::render::template::Templates;
use grove_core::{shard, title, Files, Options};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The empty fleet and its compiled templates, made once (compiling them is the slow part).
fn fixture() -> &'static (Fleet, Templates) {
    static FIXTURE: OnceLock<(Fleet, Templates)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let fleet = Fleet::new(Files::new()).unwrap();
        let templates = Templates::new(&fleet, Options::default().patches(&fleet)).unwrap();
        (fleet, templates)
    })
}

fuzz_target!(|value: &str| {
    let (fleet, templates) = fixture();
    let mut plan = Plan::new(&title::request("no tag").unwrap().0, fleet).unwrap();
    plan.reason = Some(value.to_string());
    let rendered = shard::render(&plan, fleet, templates, &Options::default())
        .expect("any value renders")
        .main
        .pipeline;
    assert_eq!(rendered.jobs.len(), 1);
    let job = &rendered.jobs[0];
    assert_eq!(job.name, "noop");
    assert_eq!(job.script, ["echo \"Nothing to deploy - $GROVE_REASON\""]);
    assert_eq!(job.variables.len(), 1);
    assert_eq!(job.variables[0].value, value);
    assert!(!job.variables[0].expand);
});
