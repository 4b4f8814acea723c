//! The module in a real browser (headless Chromium through `wasm-bindgen-test-runner`): parse
//! errors, plans, pipelines, and the CLI's exact output on every golden case.
//!
//! Every call goes through the exported functions and back through JavaScript values, as the
//! page makes it. Run with `scripts/test-web`, or
//! `cargo test -p grove-wasm --target wasm32-unknown-unknown` with the runner on `PATH`.
#![cfg(target_arch = "wasm32")]

use grove_wasm::{is_fleet_file, show, show_webhook, GroveFleet, JsFiles};
use serde::Deserialize;
use std::collections::BTreeMap;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A golden case of `tests/titles/` or `tests/webhooks/`: the title or payload, and what the
/// CLI made of it.
struct Case {
    name: &'static str,
    input: &'static str,
    yaml: &'static str,
    plan_json: &'static str,
    plan_text: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/golden.rs"));

/// A diagnostic as JavaScript sees it.
#[derive(Debug, Deserialize)]
struct Diagnostic {
    severity: String,
    message: String,
    start: usize,
    end: usize,
    hint: Option<String>,
}

/// A failure as JavaScript sees it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroveError {
    kind: String,
    exit_code: u8,
    message: String,
    source: Option<String>,
    diagnostics: Vec<Diagnostic>,
}

/// A graph job as JavaScript sees it.
#[derive(Debug, Deserialize)]
struct GraphJob {
    name: String,
    stage: String,
    needs: Vec<String>,
}

/// A graph as JavaScript sees it.
#[derive(Debug, Deserialize)]
struct Graph {
    stages: Vec<String>,
    jobs: Vec<GraphJob>,
}

/// An outcome as JavaScript sees it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Outcome {
    diagnostics: Vec<Diagnostic>,
    plan: Option<serde_json::Value>,
    plan_json: Option<String>,
    plan_text: Option<String>,
    yaml: Option<String>,
    graph: Option<Graph>,
    error: Option<GroveError>,
}

/// The message of a thrown `JsError`.
fn thrown(error: wasm_bindgen::JsError) -> String {
    let value = JsValue::from(error);
    value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_else(|| format!("{value:?}"))
}

/// The example cluster as a JavaScript `Map`, or as a plain object.
fn cluster(as_map: bool) -> JsFiles {
    let files: BTreeMap<&str, &str> = CLUSTER.iter().copied().collect();
    files_value(&files, as_map)
}

fn files_value(files: &BTreeMap<&str, &str>, as_map: bool) -> JsFiles {
    let serializer = if as_map {
        serde_wasm_bindgen::Serializer::new()
    } else {
        serde_wasm_bindgen::Serializer::json_compatible()
    };
    let value = serde::Serialize::serialize(files, &serializer).expect("files to JavaScript");
    assert_eq!(value.is_instance_of::<js_sys::Map>(), as_map);
    value.unchecked_into()
}

/// Shows `title` on the example cluster through the stateless export.
fn run(title: &str) -> Outcome {
    let value = match show(title, &cluster(true)) {
        Ok(value) => value,
        Err(e) => panic!("show threw: {}", thrown(e)),
    };
    serde_wasm_bindgen::from_value(value.into()).expect("an Outcome")
}

/// A fleet class over `files`.
fn fleet_of(files: JsFiles) -> GroveFleet {
    match GroveFleet::new(&files) {
        Ok(fleet) => fleet,
        Err(e) => panic!("Fleet threw: {}", thrown(e)),
    }
}

/// What differs between an outcome and the CLI's output for `case`, if anything.
fn differences_from_cli(case: &Case, how: &str, got: &Outcome, differences: &mut Vec<String>) {
    if let Some(error) = &got.error {
        differences.push(format!(
            "{} via {how}: failed: {}",
            case.name, error.message
        ));
        return;
    }
    for (what, got, expected) in [
        ("yml", &got.yaml, case.yaml),
        ("plan.json", &got.plan_json, case.plan_json),
        ("plan.txt", &got.plan_text, case.plan_text),
    ] {
        if got.as_deref() != Some(expected) {
            differences.push(format!(
                "{}.{what} via {how} differs:\n--- expected\n{expected}\n--- got\n{}",
                case.name,
                got.as_deref().unwrap_or("(nothing)")
            ));
        }
    }
    // The plan object and the plan JSON are the same data.
    let parsed: serde_json::Value = serde_json::from_str(case.plan_json).expect("golden plan JSON");
    if got.plan.as_ref() != Some(&parsed) {
        differences.push(format!(
            "{} via {how}: the plan object differs from plan.json",
            case.name
        ));
    }
}

#[wasm_bindgen_test]
fn every_golden_case_matches_the_cli_byte_for_byte() {
    assert!(CASES.len() >= 10, "golden cases are missing");
    let fleet = fleet_of(cluster(false));
    let mut differences = Vec::new();
    for case in CASES {
        let title = case.input.trim_end_matches('\n');
        let from_class: Outcome = match fleet.show(title) {
            Ok(value) => serde_wasm_bindgen::from_value(value.into()).expect("an Outcome"),
            Err(e) => panic!("{}: Fleet.show threw: {}", case.name, thrown(e)),
        };
        differences_from_cli(case, "show()", &run(title), &mut differences);
        differences_from_cli(case, "Fleet.show()", &from_class, &mut differences);
    }
    assert!(differences.is_empty(), "{}", differences.join("\n\n"));
}

#[wasm_bindgen_test]
fn every_webhook_case_matches_the_cli_byte_for_byte() {
    assert!(WEBHOOK_CASES.len() >= 20, "webhook cases are missing");
    let mut files: BTreeMap<&str, &str> = CLUSTER.iter().copied().collect();
    files.extend(WEBHOOK_CLUSTER.iter().copied());
    let fleet = fleet_of(files_value(&files, true));
    let mut differences = Vec::new();
    for case in WEBHOOK_CASES {
        let from_class: Outcome = match fleet.show_webhook(case.input) {
            Ok(value) => serde_wasm_bindgen::from_value(value.into()).expect("an Outcome"),
            Err(e) => panic!("{}: Fleet.showWebhook threw: {}", case.name, thrown(e)),
        };
        let stateless: Outcome = match show_webhook(case.input, &files_value(&files, false)) {
            Ok(value) => serde_wasm_bindgen::from_value(value.into()).expect("an Outcome"),
            Err(e) => panic!("{}: showWebhook threw: {}", case.name, thrown(e)),
        };
        for (how, got) in [
            ("showWebhook()", &stateless),
            ("Fleet.showWebhook()", &from_class),
        ] {
            assert!(
                got.diagnostics.is_empty(),
                "{}: {:?}",
                case.name,
                got.diagnostics
            );
            differences_from_cli(case, how, got, &mut differences);
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n\n"));
}

#[wasm_bindgen_test]
fn a_bad_payload_is_an_error_as_data() {
    let fleet = fleet_of(cluster(true));
    for (payload, word) in [
        ("{\"object_kind\": \"push\"", "not JSON"),
        ("[1, 2]", "expected a JSON object"),
        (
            "{\"object_kind\": \"push\", \"ref\": 4}",
            "`project` is missing",
        ),
    ] {
        let got: Outcome = match fleet.show_webhook(payload) {
            Ok(value) => serde_wasm_bindgen::from_value(value.into()).expect("an Outcome"),
            Err(e) => panic!("showWebhook threw: {}", thrown(e)),
        };
        assert!(
            got.yaml.is_none() && got.plan.is_none() && got.graph.is_none(),
            "{payload}"
        );
        let error = got.error.expect("an error");
        assert_eq!(
            (error.kind.as_str(), error.exit_code),
            ("invalid-input", 5),
            "{payload}"
        );
        assert!(
            error.message.starts_with("invalid webhook payload: ") && error.message.contains(word),
            "{payload}: {}",
            error.message
        );
    }
}

#[wasm_bindgen_test]
fn a_bad_title_gives_diagnostics_at_its_bytes_and_no_pipeline() {
    // (title, the text under the first error, a word of its message)
    let cases = [
        ("[AutoDeploy][Updte] campus", "Updte", "unknown type"),
        ("[autodeploy][Update] campus", "[autodeploy]", "spelled"),
        ("[AutoDeploy][Update] campus,Labs", "L", "uppercase letter"),
        (
            "[AutoDeploy][Archive] campus|4",
            "|4",
            "without deployment ids",
        ),
        (
            "[AutoDeploy][Batch][Upgrad] x|y",
            "Upgrad",
            "unknown batch type",
        ),
        (
            "[AutoDeploy][Update] café",
            "é",
            "not allowed in an instance name",
        ),
        (
            "[AutoDeploy][Update] x,\u{1f332}grove",
            "\u{1f332}",
            "not allowed in an instance name",
        ),
        ("[AutoDeploy][Update] campus,,labs", "", "empty item"),
    ];
    for (title, under, word) in cases {
        let got = run(title);
        assert!(
            got.yaml.is_none() && got.plan.is_none() && got.graph.is_none(),
            "{title}"
        );
        assert!(
            got.plan_json.is_none() && got.plan_text.is_none(),
            "{title}"
        );
        let first = got
            .diagnostics
            .iter()
            .find(|d| d.severity == "error")
            .unwrap_or_else(|| panic!("{title}: no error in {:?}", got.diagnostics));
        assert!(
            first.start <= first.end && first.end <= title.len(),
            "{title}: {first:?}"
        );
        assert_eq!(&title[first.start..first.end], under, "{title}: {first:?}");
        assert!(
            first.message.to_lowercase().contains(&word.to_lowercase()),
            "{title}: {first:?}"
        );
        let error = got.error.expect("the error the CLI exits with");
        assert_eq!((error.kind.as_str(), error.exit_code), ("invalid-input", 5));
        assert_eq!(error.source.as_deref(), Some("commit title"));
        assert!(
            error.message.starts_with("invalid commit title: "),
            "{}",
            error.message
        );
        assert!(
            error.message.contains("commit title:1:"),
            "{}",
            error.message
        );
        assert_eq!(error.diagnostics.len(), got.diagnostics.len());
    }
    let got = run("[AutoDeploy][Update] campus,,labs");
    assert_eq!(
        got.diagnostics[0].hint.as_deref(),
        Some("remove the extra comma")
    );
}

#[wasm_bindgen_test]
fn a_warning_keeps_the_pipeline() {
    let title = "Revert \"[AutoDeploy][Update] campus\"";
    let got = run(title);
    assert!(got.error.is_none(), "{:?}", got.error);
    assert_eq!(got.diagnostics.len(), 1);
    let warning = &got.diagnostics[0];
    assert_eq!(warning.severity, "warning");
    assert_eq!(&title[warning.start..warning.end], "[AutoDeploy]");
    let plan = got.plan.expect("a plan");
    assert_eq!(plan["kind"], "none");
    assert!(got
        .plan_text
        .expect("text")
        .starts_with("Nothing to deploy."));
    let graph = got.graph.expect("a graph");
    assert_eq!(graph.stages, ["noop"]);
    assert_eq!(graph.jobs.len(), 1);
}

#[wasm_bindgen_test]
fn plans_say_what_is_done_and_what_is_left_out() {
    let got = run("[AutoDeploy][Update] research|7,academy");
    let plan = got.plan.expect("a plan");
    assert_eq!(plan["kind"], "update");
    assert_eq!(plan["terraform"], false);
    assert_eq!(plan["instances"][0]["name"], "research");
    assert_eq!(plan["instances"][0]["deployment_id"], "7");
    assert_eq!(
        plan["instances"][1]["deployment_id"],
        serde_json::Value::Null
    );

    let got = run("[AutoDeploy][Batch][Upgrade] https://github.com/openedx/edx-platform.git|open-release/sumac.1");
    let plan = got.plan.expect("a plan");
    assert_eq!(plan["kind"], "batch-upgrade");
    assert_eq!(plan["skipped"][0]["name"], "library");
    let text = got.plan_text.expect("text");
    assert!(
        text.contains("Left out:\n  library: BATCH_UPGRADE_DISABLED is true"),
        "{text}"
    );
}

#[wasm_bindgen_test]
fn failures_beyond_the_title_come_back_as_data_with_the_whole_message() {
    let title = "[AutoDeploy][Update] campus,nowhere,gone";
    let got = run(title);
    // Each missing instance is also underlined in the title.
    let under: Vec<&str> = got
        .diagnostics
        .iter()
        .map(|d| &title[d.start..d.end])
        .collect();
    assert_eq!(under, ["nowhere", "gone"]);
    assert!(got.diagnostics.iter().all(|d| d.severity == "error"));
    assert!(got.yaml.is_none() && got.plan.is_none());
    let error = got.error.expect("an error");
    assert_eq!(
        (error.kind.as_str(), error.exit_code),
        ("no-such-instance", 3)
    );
    assert_eq!(
        error.message,
        "no such instances \"nowhere\", \"gone\" in instances/ (each needs instances/NAME/config.yml)"
    );

    let files: BTreeMap<&str, &str> = [
        (
            "instances/broken/config.yml",
            "LMS_HOST: a\nEDX_PLATFORM_VERSION: [1\n",
        ),
        ("instances/fine/config.yml", "LMS_HOST: b\n"),
        ("grove.yml", "ENV_STORE: s3://grove-state/fleet\n"),
    ]
    .into_iter()
    .collect();
    let fleet = match GroveFleet::new(&files_value(&files, false)) {
        Ok(fleet) => fleet,
        Err(e) => panic!("Fleet threw: {}", thrown(e)),
    };
    let get = |title: &str| -> Outcome {
        match fleet.show(title) {
            Ok(value) => serde_wasm_bindgen::from_value(value.into()).expect("an Outcome"),
            Err(e) => panic!("show threw: {}", thrown(e)),
        }
    };
    assert!(get("[AutoDeploy][Update] fine").yaml.is_some());
    let error = get("[AutoDeploy][Update] broken").error.expect("an error");
    assert_eq!((error.kind.as_str(), error.exit_code), ("invalid-input", 5));
    assert_eq!(error.source.as_deref(), Some("instances/broken/config.yml"));
    assert!(
        error.message.starts_with("instances/broken/config.yml:"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("\ninstances/broken/config.yml:"),
        "{}",
        error.message
    );
    assert_eq!(error.diagnostics.len(), 1);
}

#[wasm_bindgen_test]
fn pipelines_have_their_stages_in_order_and_every_need_is_a_job() {
    let got = run("[AutoDeploy][Create] campus|1,newcampus");
    let plan = got.plan.expect("a plan");
    assert_eq!(plan["instances"][1]["name"], "newcampus");
    assert_eq!(plan["instances"][1]["action"], "create");
    let yaml = got.yaml.expect("yaml");
    assert!(yaml.starts_with("# Generated by Grove."), "{yaml}");
    let graph = got.graph.expect("a graph");
    assert_eq!(graph.stages, ["terraform", "venv", "build", "release"]);
    let names: Vec<&str> = graph.jobs.iter().map(|j| j.name.as_str()).collect();
    for job in &graph.jobs {
        assert!(graph.stages.contains(&job.stage), "{job:?}");
        for need in &job.needs {
            assert!(names.contains(&need.as_str()), "{job:?}");
        }
    }
    let build = graph
        .jobs
        .iter()
        .find(|j| j.name == "build:newcampus")
        .expect("build:newcampus");
    assert!(build.needs.contains(&"terraform:apply".to_string()));
    // Terraform's two jobs, one venv job for the one requirements set, build and release for
    // each instance.
    assert_eq!(graph.jobs.len(), 2 + 1 + 2 * 2);
}

/// An outline as JavaScript sees it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Outline {
    plan_text: Option<String>,
    files: Vec<FileOutline>,
    error: Option<GroveError>,
}

/// A file of an outline as JavaScript sees it.
#[derive(Debug, Deserialize)]
struct FileOutline {
    file: String,
    jobs: usize,
    bytes: usize,
}

/// A pipeline file as JavaScript sees it.
#[derive(Debug, Deserialize)]
struct PipelineFile {
    file: String,
    yaml: String,
    graph: Graph,
}

#[wasm_bindgen_test]
fn an_outline_then_one_file_at_a_time_is_the_whole_outcome() {
    let mut files: BTreeMap<&str, &str> = CLUSTER.iter().copied().collect();
    files.insert(
        "grove.yml",
        "ENV_STORE: s3://grove-state/fleet\nLIMITS:\n  jobs_per_pipeline: 6\n",
    );
    let mut fleet = fleet_of(files_value(&files, true));
    let title = "[AutoDeploy][Batch][UpgradeTo] 4f2c9e1d";
    let whole: Outcome = serde_wasm_bindgen::from_value(
        fleet
            .show(title)
            .map_err(thrown)
            .expect("an outcome")
            .into(),
    )
    .expect("an Outcome");
    let outline: Outline = serde_wasm_bindgen::from_value(
        fleet
            .outline("title", title)
            .map_err(thrown)
            .expect("an outline")
            .into(),
    )
    .expect("an Outline");
    assert!(outline.error.is_none(), "{:?}", outline.error);
    assert_eq!(outline.plan_text, whole.plan_text);
    assert!(outline.files.len() > 2, "{:?}", outline.files);
    assert_eq!(outline.files[0].file, "generated.yml");
    for (i, listed) in outline.files.iter().enumerate() {
        let value = fleet.file(&listed.file).map_err(thrown).expect("a file");
        let got: PipelineFile =
            serde_wasm_bindgen::from_value(value.into()).expect("a PipelineFile");
        assert_eq!(got.file, listed.file);
        assert_eq!(got.yaml.len(), listed.bytes);
        assert_eq!(got.graph.jobs.len(), listed.jobs);
        if i == 0 {
            assert_eq!(Some(&got.yaml), whole.yaml.as_ref());
            assert_eq!(
                got.graph.stages,
                whole.graph.as_ref().expect("a graph").stages
            );
        }
        // Jobs in the order of the file.
        let lines: Vec<&str> = got.yaml.lines().collect();
        let at: Vec<usize> = got
            .graph
            .jobs
            .iter()
            .map(|job| {
                lines
                    .iter()
                    .position(|l| *l == format!("{}:", job.name))
                    .unwrap_or_else(|| panic!("{} not in {}", job.name, got.file))
            })
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{}: {at:?}", got.file);
    }
    let none = fleet
        .file("generated-shards/shard-99.yml")
        .map_err(thrown)
        .expect("null");
    assert!(JsValue::from(none).is_null());
    assert!(fleet.outline("other", title).is_err());
}

#[wasm_bindgen_test]
fn the_fleet_summary_lists_instances_and_ignored_folders() {
    let mut files: BTreeMap<&str, &str> = CLUSTER.iter().copied().collect();
    files.insert("instances/Not_A_Name/config.yml", "");
    let fleet = match GroveFleet::new(&files_value(&files, true)) {
        Ok(fleet) => fleet,
        Err(e) => panic!("Fleet threw: {}", thrown(e)),
    };
    let summary = match fleet.summary() {
        Ok(value) => value,
        Err(e) => panic!("summary threw: {}", thrown(e)),
    };
    let summary: serde_json::Value =
        serde_wasm_bindgen::from_value(summary.into()).expect("a summary");
    assert_eq!(summary["instances"].as_array().map(Vec::len), Some(8));
    assert_eq!(summary["ignored"][0]["folder"], "Not_A_Name");
    assert_eq!(summary["error"], serde_json::Value::Null);

    let bad: BTreeMap<&str, &str> = [("grove.yml", "PIPELINE_PATCHES: [\n")]
        .into_iter()
        .collect();
    let fleet = match GroveFleet::new(&files_value(&bad, true)) {
        Ok(fleet) => fleet,
        Err(e) => panic!("Fleet threw: {}", thrown(e)),
    };
    let got: Outcome = match fleet.show("anything") {
        Ok(value) => serde_wasm_bindgen::from_value(value.into()).expect("an Outcome"),
        Err(e) => panic!("show threw: {}", thrown(e)),
    };
    let error = got.error.expect("an error");
    assert!(
        error.message.starts_with("grove.yml:1:"),
        "{}",
        error.message
    );
}

#[wasm_bindgen_test]
fn a_fleet_of_the_wrong_shape_throws_with_a_reason() {
    let not_text = js_sys::Map::new();
    not_text.set(&"grove.yml".into(), &JsValue::from(3));
    for value in [JsValue::from(3), JsValue::NULL, not_text.into()] {
        match GroveFleet::new(&value.clone().unchecked_into()) {
            Ok(_) => panic!("{value:?} was taken as a fleet"),
            Err(e) => {
                let message = thrown(e);
                assert!(message.starts_with("the fleet must be"), "{message}");
            }
        }
    }
}

#[wasm_bindgen_test]
fn only_the_files_core_reads_are_kept_from_a_folder() {
    assert!(is_fleet_file("instances/campus/config.yml"));
    assert!(!is_fleet_file("instances/campus/.venv/pyvenv.cfg"));
}
