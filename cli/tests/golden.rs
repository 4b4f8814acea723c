//! Golden pipelines: every title form in `tests/titles/` on the example cluster and every
//! payload in `tests/webhooks/` on the webhook cluster, end to end through the `grove` binary,
//! against outputs reviewed like code (insta snapshots beside each input: see
//! `common::golden_settings` and CONTRIBUTING.md for accepting a change).

mod common;

use common::*;
use std::path::Path;

/// Runs `grove` with `args` on `root`; its stdout, after asserting that it succeeded.
fn stdout_of(root: &Path, args: &[&str]) -> String {
    let run = grove(root, args);
    assert!(run.status.success(), "{args:?}: {}", describe(&run));
    String::from_utf8(run.stdout).unwrap()
}

#[test]
fn every_title_and_payload_gives_its_reviewed_pipeline_and_plan() {
    let cluster = example_cluster();
    let webhook_cluster = webhook_cluster();
    let out_dir = scratch("golden");
    insta::glob!("../../tests", "{titles/*.title,webhooks/*.json}", |input| {
        let name = input.file_stem().unwrap().to_str().unwrap();
        let dir = input
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        let out = out_dir.join(format!("{dir}-{name}.yml"));
        let out = out.to_str().unwrap();
        let title = std::fs::read_to_string(input).unwrap();
        let title = title.trim_end_matches('\n');
        let payload = input.to_str().unwrap();
        let (root, pipeline, plan): (&Path, Vec<&str>, Vec<&str>) = match dir {
            "titles" => (&cluster, vec!["pipeline", title, out], vec!["plan", title]),
            _ => (
                &webhook_cluster,
                vec!["webhookpipeline", "--output", out, "--payload", payload],
                vec!["plan", "--webhook", payload],
            ),
        };
        stdout_of(root, &pipeline);
        let outputs = [
            ("yml", std::fs::read_to_string(out).unwrap()),
            (
                "plan.json",
                stdout_of(root, &[&plan[..], &["--format", "json"]].concat()),
            ),
            ("plan.txt", stdout_of(root, &plan)),
        ];
        golden_settings(dir).bind(|| {
            for (suffix, output) in outputs {
                let file = format!("{name}.{suffix}");
                assert_kept_whole(&file, &output);
                insta::assert_snapshot!(file, output);
            }
        });
    });
}

#[test]
fn the_same_inputs_give_byte_identical_yaml() {
    let root = example_cluster();
    let dir = scratch("determinism");
    for (name, title) in golden_titles() {
        let (a, b) = (
            dir.join(format!("{name}-a.yml")),
            dir.join(format!("{name}-b.yml")),
        );
        for out in [&a, &b] {
            let run = grove(&root, &["pipeline", &title, out.to_str().unwrap()]);
            assert!(run.status.success(), "{name}: {}", describe(&run));
        }
        assert_eq!(
            std::fs::read(&a).unwrap(),
            std::fs::read(&b).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn plan_json_has_the_stable_fields() {
    let root = example_cluster();
    let run = grove(
        &root,
        &[
            "plan",
            "[AutoDeploy][Update] research|7,academy",
            "--format",
            "json",
        ],
    );
    assert!(run.status.success(), "{}", describe(&run));
    let plan: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(plan["kind"], "update");
    assert_eq!(plan["terraform"], false);
    assert_eq!(
        plan["instances"],
        serde_json::json!([
            {"name": "research", "deployment_id": "7", "action": "update", "exists": true,
             "requirements_hash": plan["instances"][0]["requirements_hash"], "base_image": null, "edx_platform_version": null},
            {"name": "academy", "deployment_id": null, "action": "update", "exists": true,
             "requirements_hash": plan["instances"][1]["requirements_hash"], "base_image": null, "edx_platform_version": null},
        ])
    );
    assert_eq!(plan["skipped"], serde_json::json!([]));
}

#[test]
fn batch_upgrade_leaves_out_disabled_instances_and_says_so() {
    let root = example_cluster();
    let title = "[AutoDeploy][Batch][Upgrade] https://github.com/openedx/edx-platform.git|open-release/sumac.1";
    let run = grove(&root, &["plan", title, "--format", "json"]);
    assert!(run.status.success(), "{}", describe(&run));
    let plan: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let names: Vec<&str> = plan["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["campus"]);
    assert_eq!(plan["skipped"][0]["name"], "library");
    assert!(plan["skipped"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("BATCH_UPGRADE_DISABLED"));
}

/// No generated pipeline publishes an instance's state (its config or `env/`, which hold its
/// secrets) as an artifact every reader of the project could download: the later jobs pull it
/// from the store. What a job does keep is for readers who may run pipelines at most.
#[test]
fn no_pipeline_publishes_an_instances_state_to_every_reader() {
    let files = goldens(".yml");
    assert!(files.len() >= 30, "only {} golden pipelines", files.len());
    let mut artifacts = 0;
    for (file, text) in files {
        let pipeline: serde_json::Value =
            grove_core::yaml::from_str(&text, &grove_core::yaml::Limits::PIPELINE).unwrap();
        for (job, body) in pipeline.as_object().unwrap() {
            let Some(kept) = body.get("artifacts") else {
                continue;
            };
            artifacts += 1;
            let access = kept["access"].as_str().unwrap_or("all");
            for path in kept["paths"].as_array().into_iter().flatten() {
                let path = path.as_str().unwrap();
                let state = path.contains("instances/")
                    || path.contains(".grove/tutor")
                    || path.contains("env")
                    || path.ends_with("config.yml");
                assert!(!state, "{file}: job {job} keeps {path} as an artifact");
                if path.contains("terraform") {
                    assert_eq!(access, "developer", "{file}: job {job}");
                }
            }
            // A dotenv report carries the generation's id, never a value of the config.
            if let Some(report) = kept["reports"]["dotenv"].as_str() {
                assert_eq!(report, "grove-state.env", "{file}: job {job}");
            }
        }
    }
    assert!(
        artifacts > 10,
        "only {artifacts} jobs keep artifacts: the check checks little"
    );
}
