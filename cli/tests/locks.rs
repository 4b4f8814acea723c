//! One lock per instance, read from the pipelines themselves: in every golden pipeline (each
//! title's and each webhook payload's) and in sharded ones, every job that touches the cluster
//! for an instance holds `resource_group: instance-NAME`, and one pipeline has exactly one such
//! job per instance (beside the manual stop job of its environment). GitLab runs one job of a
//! resource group at a time, project-wide, so two pipelines' releases of one instance run one
//! after the other, and no release is split into jobs that another pipeline's could come
//! between (issue 15: the older commit deployed last).

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The commands that change an instance on the cluster.
const ON_THE_CLUSTER: [&str; 6] = [
    "grove deploy ",
    "grove postdeploy ",
    "grove archive ",
    "grove delete ",
    "grove preview up ",
    "grove preview down ",
];

/// The grove commands that leave the cluster alone (a venv, the store, an image, Terraform's
/// cloud resources under their own `terraform` lock).
const OFF_THE_CLUSTER: [&str; 6] = [
    "grove venv update ",
    "grove prepare ",
    "grove predeploy ",
    "grove buildimage ",
    "grove terraform plan",
    "grove terraform apply",
];

/// The other script lines the templates write: none of them runs a program on the cluster.
const OTHER_LINES: [&str; 3] = [
    "export \"$(cat grove-state.env)\"",
    "echo \"Nothing to deploy - $GROVE_REASON\"",
    "echo \"Publishing the shard pipelines of the parent pipeline's generate job\"",
];

/// One job that touches the cluster for an instance.
#[derive(Debug)]
struct ClusterJob {
    file: String,
    job: String,
    resource_group: Option<String>,
    /// `environment: action: stop` with `when: manual`: the stop job of an environment, which
    /// GitLab starts only when the environment is stopped.
    manual_stop: bool,
    /// `environment: on_stop`.
    on_stop: Option<String>,
}

/// The jobs of a pipeline file: name → body (without `stages`, `variables`, `default`,
/// `workflow`, `include` and hidden jobs).
fn jobs(text: &str) -> Vec<(String, Value)> {
    let pipeline: Value =
        grove_core::yaml::from_str(text, &grove_core::yaml::Limits::PIPELINE).unwrap();
    pipeline
        .as_object()
        .unwrap()
        .iter()
        .filter(|(key, _)| {
            !matches!(
                key.as_str(),
                "stages" | "variables" | "default" | "workflow" | "include"
            ) && !key.starts_with('.')
        })
        .map(|(key, body)| (key.clone(), body.clone()))
        .collect()
}

/// The value of a job's variable, in either form Grove writes.
fn variable(body: &Value, name: &str) -> Option<String> {
    let value = &body["variables"][name];
    value["value"]
        .as_str()
        .or_else(|| value.as_str())
        .map(str::to_string)
}

/// The jobs of the pipeline made of `files` (a generated file and its shards, which run as
/// one pipeline's children) that touch the cluster, by instance. Panics on a script line that
/// is neither a known grove command nor one of the other lines the templates write.
fn cluster_jobs(files: &[(String, String)]) -> BTreeMap<String, Vec<ClusterJob>> {
    let mut by_instance: BTreeMap<String, Vec<ClusterJob>> = BTreeMap::new();
    for (file, text) in files {
        for (job, body) in jobs(text) {
            let script: Vec<&str> = body["script"]
                .as_array()
                .map(|lines| lines.iter().map(|l| l.as_str().unwrap()).collect())
                .unwrap_or_default();
            let mut touches = false;
            for line in &script {
                if ON_THE_CLUSTER.iter().any(|c| line.starts_with(c)) {
                    // The instance is the job's INSTANCE_NAME, and nothing else.
                    let operand =
                        line.split_whitespace()
                            .nth(if line.starts_with("grove preview") {
                                3
                            } else {
                                2
                            });
                    assert_eq!(
                        operand,
                        Some("\"$INSTANCE_NAME\""),
                        "{file}: job {job}: {line}"
                    );
                    touches = true;
                } else {
                    assert!(
                        OFF_THE_CLUSTER.iter().any(|c| line.starts_with(c))
                            || OTHER_LINES.contains(line),
                        "{file}: job {job}: the script line {line:?} is not known to leave the \
                         cluster alone; add it to ON_THE_CLUSTER or OFF_THE_CLUSTER"
                    );
                }
            }
            if script.iter().any(|l| l.starts_with("grove terraform ")) {
                assert_eq!(
                    body["resource_group"].as_str(),
                    Some("terraform"),
                    "{file}: job {job} runs Terraform outside its lock"
                );
            }
            if !touches {
                continue;
            }
            let instance = variable(&body, "INSTANCE_NAME")
                .unwrap_or_else(|| panic!("{file}: job {job} has no INSTANCE_NAME"));
            let environment = &body["environment"];
            by_instance.entry(instance).or_default().push(ClusterJob {
                file: file.clone(),
                job,
                resource_group: body["resource_group"].as_str().map(str::to_string),
                manual_stop: environment["action"] == "stop" && body["when"] == "manual",
                on_stop: environment["on_stop"].as_str().map(str::to_string),
            });
        }
    }
    by_instance
}

/// Asserts the lock rules on one pipeline; returns how many instances it touches.
fn assert_one_lock_per_instance(what: &str, files: &[(String, String)]) -> usize {
    let by_instance = cluster_jobs(files);
    for (instance, jobs) in &by_instance {
        let lock = format!("instance-{instance}");
        for job in jobs {
            assert_eq!(
                job.resource_group.as_deref(),
                Some(lock.as_str()),
                "{what}: {}: job {} touches the cluster for {instance} outside its lock",
                job.file,
                job.job
            );
        }
        let releases: Vec<&ClusterJob> = jobs.iter().filter(|j| !j.manual_stop).collect();
        assert_eq!(
            releases.len(),
            1,
            "{what}: {instance} is touched by {} jobs in one pipeline: {:?}",
            releases.len(),
            releases.iter().map(|j| &j.job).collect::<Vec<_>>()
        );
        // A manual stop job is the environment's own, named by the release's on_stop.
        for stop in jobs.iter().filter(|j| j.manual_stop) {
            assert_eq!(
                releases[0].on_stop.as_deref(),
                Some(stop.job.as_str()),
                "{what}: the manual job {} is not the stop job of {}",
                stop.job,
                releases[0].job
            );
        }
    }
    by_instance.len()
}

#[test]
fn every_golden_pipeline_holds_one_lock_per_instance_for_one_job() {
    let mut touched = 0;
    let mut pipelines = 0;
    for (name, text) in goldens(".yml") {
        touched += assert_one_lock_per_instance(&name, &[(name.clone(), text)]);
        pipelines += 1;
    }
    assert!(pipelines >= 40, "only {pipelines} golden pipelines");
    // The check checks something: most goldens touch instances.
    assert!(
        touched >= 30,
        "only {touched} instances touched in the goldens"
    );
}

/// A copy of the example cluster whose pipelines are sharded from 6 jobs on.
fn sharding_cluster() -> PathBuf {
    let root = scratch("locks-sharded");
    copy_tree(&example_cluster(), &root);
    let grove_yml = root.join("grove.yml");
    let text = std::fs::read_to_string(&grove_yml).unwrap();
    std::fs::write(
        &grove_yml,
        format!("{text}LIMITS:\n  jobs_per_pipeline: 6\n"),
    )
    .unwrap();
    root
}

/// `grove pipeline TITLE` in `root`: the generated file and its shards, as (name, text).
fn generated(root: &Path, title: &str) -> Vec<(String, String)> {
    let out = root.join("out");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let file = out.join("generated.yml");
    let run = grove(root, &["pipeline", title, file.to_str().unwrap()]);
    assert!(run.status.success(), "{title}: {}", describe(&run));
    tree(&out)
        .into_iter()
        .filter(|(name, _)| name.ends_with(".yml"))
        .map(|(name, bytes)| (name, String::from_utf8(bytes).unwrap()))
        .collect()
}

#[test]
fn a_sharded_pipeline_holds_one_lock_per_instance_for_one_job_across_its_shards() {
    let root = sharding_cluster();
    let titles = [
        std::fs::read_to_string(project().join("tests/titles/08-batch-upgrade-to.title")).unwrap(),
        "[AutoDeploy][Update] campus|1,labs|2,academy|3,research|4,library|5,staging|6".into(),
    ];
    for title in titles {
        let title = title.trim_end();
        let files = generated(&root, title);
        let shards = files
            .iter()
            .filter(|(name, _)| name.starts_with("generated-shards/"))
            .count();
        assert!(shards >= 2, "{title}: not sharded: {files:?}");
        let touched = assert_one_lock_per_instance(title, &files);
        assert!(touched >= 5, "{title}: {touched} instances");
    }
}

/// The check above must be able to fail: a release split in two jobs, a job without its lock,
/// a lock of another instance, a command it does not know.
#[test]
fn the_lock_check_catches_a_split_release_and_a_missing_lock() {
    let release = |name: &str, group: &str, script: &str| {
        format!(
            "{name}:\n  stage: release\n  resource_group: {group}\n  variables:\n    INSTANCE_NAME: {{value: \"campus\", expand: false}}\n  script:\n    - {script}\n"
        )
    };
    let deploy = "grove deploy \"$INSTANCE_NAME\"";
    let postdeploy = "grove postdeploy \"$INSTANCE_NAME\"";
    let broken = [
        format!(
            "{}\n{}",
            release("deploy:campus", "instance-campus", deploy),
            release("postdeploy:campus", "instance-campus", postdeploy)
        ),
        release("release:campus", "campus", deploy),
        release("release:campus", "instance-labs", deploy),
        release("release:campus", "instance-campus", "tutor k8s launch"),
        release("release:campus", "instance-campus", "grove deploy campus"),
    ];
    for text in broken {
        let files = [("broken.yml".to_string(), text.clone())];
        let caught = std::panic::catch_unwind(|| assert_one_lock_per_instance("broken", &files));
        assert!(caught.is_err(), "not caught:\n{text}");
    }
    let good = release("release:campus", "instance-campus", deploy);
    assert_eq!(
        assert_one_lock_per_instance("good", &[("good.yml".to_string(), good)]),
        1
    );
}
