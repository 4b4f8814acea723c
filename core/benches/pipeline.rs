//! Plan, render and validate a batch upgrade for fleets of 10 to 10,000 instances, end to end
//! and step by step. Run with `cargo bench -p grove-core`.

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
            .map(|name| fleet.instance(name).unwrap().requirements_hash.len())
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

/// Reading the YAML back into the model and checking it.
#[divan::bench(args = SIZES, sample_count = 10)]
fn validate(bencher: divan::Bencher, n: usize) {
    let fleet = Fleet::new(fleet_gen::fleet(n)).unwrap();
    let generated = grove_core::generate(&request(), &fleet).unwrap();
    bencher.bench(|| {
        let pipeline = Pipeline::parse(&generated.yaml).unwrap();
        pipeline.check().unwrap();
        pipeline
    });
}
