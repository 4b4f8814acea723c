//! Plan, render and validate a batch upgrade for fleets of 10 to 10,000 instances, end to end
//! and step by step: parse the fleet, plan, render, validate, emit. Run with
//! `cargo bench -p grove-core`; the figures are in BENCHMARKS.md.

#[path = "../examples/fleet_gen.rs"]
mod fleet_gen;

use grove_core::generate::InMemory;
use grove_core::plan::Plan;
use grove_core::render::template::{Templates, ROOT};
use grove_core::{render, Fleet, Input, Options, Pipeline, Request};

const SIZES: [usize; 4] = [10, 100, 1_000, 10_000];

fn main() {
    divan::main();
}

fn request() -> Request {
    grove_core::title::request(&fleet_gen::batch_title())
        .unwrap()
        .0
}

/// The fleet's templates, for the default options.
fn templates(fleet: &Fleet) -> Templates {
    Templates::new(fleet, Options::default().patches(fleet)).unwrap()
}

/// Everything: files in, YAML out.
#[divan::bench(args = SIZES, sample_count = 10)]
fn end_to_end(bencher: divan::Bencher, n: usize) {
    let files = fleet_gen::fleet(n);
    let title = fleet_gen::batch_title();
    let options = Options::default();
    bencher.with_inputs(|| files.clone()).bench_values(|files| {
        let cluster = InMemory::new(files, options.clone());
        grove_core::generate(&cluster, Input::Title(&title), &options)
            .unwrap()
            .main
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
    let templates = templates(&fleet);
    let plan = Plan::new(&request(), &fleet).unwrap();
    let options = Options::default();
    bencher.bench(|| {
        render::render(&templates, ROOT, &render::context(&plan, &fleet, &options)).unwrap()
    });
}

/// The whole YAML of a batch upgrade, unsharded, as the templates render it.
fn rendered(n: usize) -> String {
    let fleet = Fleet::new(fleet_gen::fleet(n)).unwrap();
    let templates = templates(&fleet);
    let plan = Plan::new(&request(), &fleet).unwrap();
    render::render(
        &templates,
        ROOT,
        &render::context(&plan, &fleet, &Options::default()),
    )
    .unwrap()
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
    let options = Options::default();
    let cluster = InMemory::new(fleet_gen::fleet(n), options.clone());
    let title = fleet_gen::batch_title();
    let generated = grove_core::generate(&cluster, Input::Title(&title), &options).unwrap();
    bencher.bench(|| {
        let report = generated.report();
        let json = serde_json::to_string_pretty(&report).unwrap();
        json.len() + report.describe().len()
    });
}
