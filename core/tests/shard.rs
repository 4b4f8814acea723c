//! Sharding against GitLab's limits: a pipeline just under the limits is one file, exactly as
//! before; one just over is split into shards that each fit, with no `needs` across files.

use grove_core::render::PARENT_JOB;
use grove_core::settings::Limits;
use grove_core::{Cause, Files, Generated, Pipeline};
use std::collections::BTreeSet;

mod common;

/// The publish job of a sharded pipeline.
const PUBLISH_JOB: &str = "grove-shards";

const REPO: &str = "https://github.com/openedx/edx-platform.git";
const TITLE: &str =
    "[AutoDeploy][Batch][Upgrade] https://github.com/openedx/edx-platform.git|open-release/sumac.1";

/// A fleet of `n` instances, all built from the batch title's pair, with `grove.yml` as given.
fn fleet(n: usize, settings: &str) -> Files {
    let mut files = Files::new();
    files.insert(
        "grove.yml".into(),
        format!("ENV_STORE: s3://grove-state/fleet\n{settings}"),
    );
    for i in 0..n {
        files.insert(
            format!("instances/i{i:04}/config.yml"),
            format!(
                "EDX_PLATFORM_REPOSITORY: {REPO}\nEDX_PLATFORM_VERSION: open-release/sumac.1\n"
            ),
        );
    }
    files
}

fn run(n: usize, settings: &str, title: &str) -> grove_core::Result<Generated> {
    common::generate(fleet(n, settings), title)
}

/// Every file passes the structural checks and the limits, and no `needs` leaves its file.
fn assert_every_file_fits(generated: &Generated, limits: &Limits) {
    let files = std::iter::once(("generated.yml".to_string(), &generated.main)).chain(
        generated
            .shards
            .iter()
            .map(|s| (s.file.clone(), &s.content)),
    );
    for (name, file) in files {
        let reread = Pipeline::parse(&file.yaml).unwrap();
        assert_eq!(reread, file.pipeline, "{name}");
        reread.check().unwrap();
        reread.check_limits(limits, &name, &file.yaml).unwrap();
    }
}

#[test]
fn just_under_the_job_limit_is_one_file_and_just_over_is_sharded() {
    // One base image, one venv and two jobs per instance: 249 instances are 500 jobs, 250 are
    // 502.
    let under = run(249, "", TITLE).unwrap();
    assert!(under.shards.is_empty());
    assert!(under.planned_shards.is_empty());
    assert_eq!(under.main.pipeline.jobs.len(), 500);
    assert!(!under.main.yaml.contains(PUBLISH_JOB));
    let json = serde_json::to_string(&under.report()).unwrap();
    assert!(!json.contains("\"shards\""), "{json}");

    let over = run(250, "", TITLE).unwrap();
    assert_eq!(over.shards.len(), 2);
    assert_every_file_fits(&over, &Limits::default());
    let jobs: BTreeSet<&str> = over.main.pipeline.job_names().collect();
    assert_eq!(
        jobs,
        BTreeSet::from([
            "base-image:1",
            "grove-shards",
            "grove-shard:1",
            "grove-shard:2"
        ])
    );
    let trigger = over
        .main
        .pipeline
        .jobs
        .iter()
        .find(|j| j.name == "grove-shard:1")
        .unwrap();
    assert_eq!(trigger.needs, ["grove-shards", "base-image:1"]);
    assert!(over.main.yaml.contains(&format!(
        "    - pipeline: $PARENT_PIPELINE_ID\n      job: {PARENT_JOB}\n"
    )));
    assert!(over.main.yaml.contains(
        "      - artifact: \"generated-shards/shard-2.yml\"\n        job: grove-shards\n"
    ));
    // Whole chains, 249 instances and their venv in the first shard, every instance exactly
    // once, and each shard with the venv job of its instances.
    assert_eq!(over.planned_shards[0].instances.len(), 249);
    assert_eq!(over.planned_shards[0].jobs, 499);
    assert_eq!(over.planned_shards[1].instances.len(), 1);
    let mut all = BTreeSet::new();
    for shard in &over.shards {
        let names: Vec<&str> = shard.content.pipeline.job_names().collect();
        assert_eq!(names[0], "venv:1", "{}", shard.file);
        for name in &names[1..] {
            assert!(all.insert(name.to_string()), "{name} twice");
            assert!(!name.starts_with("base-image"), "{name}");
        }
    }
    assert_eq!(all.len(), 250 * 2);
    let text = over.report().describe();
    assert!(text.contains("triggers 2 shard pipelines"), "{text}");
    assert!(
        text.contains("  shard 2 (shard-2.yml): 1 instance, 3 jobs"),
        "{text}"
    );
    let json = serde_json::to_value(over.report()).unwrap();
    assert_eq!(json["shards"][1]["instances"][0], "i0249");
    assert_eq!(json["shards"][0]["jobs"], 499);
}

#[test]
fn the_limits_are_settings() {
    // 1000 jobs allowed: 499 instances (1000 jobs) fit in one file, 500 do not.
    let settings = "LIMITS:\n  jobs_per_pipeline: 1000\n";
    assert!(run(499, settings, TITLE).unwrap().shards.is_empty());
    assert_eq!(run(500, settings, TITLE).unwrap().shards.len(), 2);
    // The YAML size counts too.
    let small = run(10, "LIMITS:\n  artifact_yaml_bytes: 6000\n", TITLE).unwrap();
    assert!(small.shards.len() > 1);
    let limits = Limits {
        artifact_yaml_bytes: 6000,
        ..Limits::default()
    };
    assert_every_file_fits(&small, &limits);
    // GitLab allows at most 2000 jobs and 2 levels; more is refused with exit 5, at the key.
    for (bad, key) in [
        (
            "LIMITS:\n  jobs_per_pipeline: 2001\n",
            "LIMITS.jobs_per_pipeline",
        ),
        (
            "LIMITS:\n  child_pipeline_depth: 3\n",
            "LIMITS.child_pipeline_depth",
        ),
        ("LIMITS:\n  needs_per_jobs: 3\n", "LIMITS.needs_per_jobs"),
    ] {
        let e = run(1, bad, TITLE).unwrap_err();
        assert_eq!(
            e.cause,
            Cause::setting("grove.yml", key),
            "{bad}: {}",
            e.message
        );
        assert_eq!(e.exit_code(), 5);
    }
    // Sharding needs a second level of child pipelines.
    let e = run(250, "LIMITS:\n  child_pipeline_depth: 1\n", TITLE).unwrap_err();
    assert_eq!(e.cause, Cause::Limits);
    assert!(
        e.message.contains("child_pipeline_depth is 1"),
        "{}",
        e.message
    );
}

#[test]
fn shards_group_instances_by_base_image_within_the_needs_limit() {
    // Instances on 4 base images; at most 3 needs per job: the publish job and 2 images.
    let mut files = Files::new();
    files.insert(
        "grove.yml".into(),
        "ENV_STORE: s3://grove-state/fleet\nLIMITS:\n  needs_per_job: 3\n  jobs_per_pipeline: 60\n"
            .into(),
    );
    for i in 0..40 {
        files.insert(
            format!("instances/i{i:04}/config.yml"),
            format!(
                "EDX_PLATFORM_REPOSITORY: https://example.org/r{}.git\nEDX_PLATFORM_VERSION: v\n",
                i % 4
            ),
        );
    }
    let title = "[AutoDeploy][Batch][UpgradeTo] 4f2c9e1d";
    let generated = common::generate(files.clone(), title).unwrap();
    let limits = Limits {
        needs_per_job: 3,
        jobs_per_pipeline: 60,
        ..Limits::default()
    };
    assert_every_file_fits(&generated, &limits);
    for job in &generated.main.pipeline.jobs {
        assert!(job.needs.len() <= 3, "{job:?}");
    }
    // The same input gives the same files.
    let again = common::generate(files, title).unwrap();
    assert_eq!(again.main.yaml, generated.main.yaml);
    assert_eq!(again.shards, generated.shards);
}
