//! Plan, render and validate a batch upgrade for fleets of 10 to 10,000 instances, end to end
//! and step by step: parse the fleet, plan, render, validate, emit. Run with
//! `cargo bench -p grove-core`; the figures are in BENCHMARKS.md.

#[path = "../examples/fleet_gen.rs"]
mod fleet_gen;

use grove_core::plan::Plan;
use grove_core::template::Templates;
use grove_core::{pipeline, request_from_title, Fleet, Pipeline, Request};

const SIZES: [usize; 4] = [10, 100, 1_000, 10_000];

fn main() {
    divan::main();
}

fn request() -> Request {
    request_from_title(&fleet_gen::batch_title()).unwrap().0
}

/// Everything: files in, YAML out.
#[divan::bench(args = SIZES, sample_count = 10)]
fn end_to_end(bencher: divan::Bencher, n: usize) {
    let files = fleet_gen::fleet(n);
    let request = request();
    bencher.with_inputs(|| files.clone()).bench_values(|files| {
        grove_core::generate(&request, &Fleet::new(files).unwrap())
            .unwrap()
            .yaml
    });
}

/// Indexing the files and parsing every instance's config and settings.
#[divan::bench(args = SIZES, sample_count = 10)]
fn parse_fleet(bencher: divan::Bencher, n: usize) {
    let files = fleet_gen::fleet(n);
    bencher.with_inputs(|| files.clone()).bench_values(|files| {
        let fleet = Fleet::new(files).unwrap();
        fleet
            .names()
            .map(|name| {
                let instance = fleet.instance(name).unwrap();
                usize::from(instance.settings.batch_upgrade_disabled)
                    + fleet.requirements_hash(name).len()
            })
            .sum::<usize>()
    });
}

/// Deciding which instances a batch upgrade takes.
#[divan::bench(args = SIZES, sample_count = 10)]
fn plan(bencher: divan::Bencher, n: usize) {
    let fleet = Fleet::new(fleet_gen::fleet(n)).unwrap();
    let request = request();
    bencher.bench(|| Plan::new(&request, &fleet).unwrap());
}

/// Rendering the plan through the templates into YAML text.
#[divan::bench(args = SIZES, sample_count = 10)]
fn render(bencher: divan::Bencher, n: usize) {
    let fleet = Fleet::new(fleet_gen::fleet(n)).unwrap();
    let templates = Templates::new(&fleet).unwrap();
    let plan = Plan::new(&request(), &fleet).unwrap();
    bencher.bench(|| templates.render(&pipeline::context(&plan, &fleet)).unwrap());
}

/// The whole YAML of a batch upgrade, unsharded, as the templates render it.
fn rendered(n: usize) -> String {
    let fleet = Fleet::new(fleet_gen::fleet(n)).unwrap();
    let templates = Templates::new(&fleet).unwrap();
    let plan = Plan::new(&request(), &fleet).unwrap();
    templates.render(&pipeline::context(&plan, &fleet)).unwrap()
}

/// Reading the YAML back into the model and checking it.
#[divan::bench(args = SIZES, sample_count = 10)]
fn validate(bencher: divan::Bencher, n: usize) {
    let yaml = rendered(n);
    bencher.bench(|| {
        let pipeline = Pipeline::parse(&yaml).unwrap();
        pipeline.check().unwrap();
        pipeline
    });
}

/// Grove's YAML reader alone, on the rendered pipeline, for comparison with serde_yaml's.
#[divan::bench(args = SIZES, sample_count = 10)]
fn read_yaml(bencher: divan::Bencher, n: usize) {
    let yaml = rendered(n);
    bencher.bench(|| grove_core::yaml::parse(&yaml, &grove_core::yaml::Limits::PIPELINE).unwrap());
}

/// serde_yaml (which Grove's reader replaced) reading the same text into a value.
#[divan::bench(args = SIZES, sample_count = 10)]
fn read_yaml_serde_yaml(bencher: divan::Bencher, n: usize) {
    let yaml = rendered(n);
    bencher.bench(|| serde_yaml::from_str::<serde_yaml::Value>(&yaml).unwrap());
}

/// What `grove plan` and `grove pipeline` print beside the YAML: the plan as JSON and as text.
#[divan::bench(args = SIZES, sample_count = 10)]
fn emit(bencher: divan::Bencher, n: usize) {
    let fleet = Fleet::new(fleet_gen::fleet(n)).unwrap();
    let generated = grove_core::generate(&request(), &fleet).unwrap();
    bencher.bench(|| {
        let json = serde_json::to_string_pretty(&generated.plan).unwrap();
        json.len() + generated.plan.describe().len()
    });
}
