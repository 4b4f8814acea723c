//! The golden pipelines against the real GitLab tooling: GitLab's own CI schema
//! (check-jsonschema) and gitlab-ci-local 4.60.0. Both are installed by `scripts/setup-tools`.

mod common;

use common::*;
use grove_core::Pipeline;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

#[test]
fn every_golden_pipeline_validates_against_gitlabs_schema() {
    // The reviewed pipelines as plain files, for the tool to read.
    let dir = scratch("schema-goldens");
    let files: Vec<PathBuf> = goldens(".yml")
        .into_iter()
        .map(|(name, yaml)| {
            let file = dir.join(name.replace('/', "-"));
            std::fs::write(&file, yaml).unwrap();
            file
        })
        .collect();
    assert!(files.len() >= 30, "golden pipelines are missing");
    let run = Command::new(tool("check-jsonschema"))
        .args(["--builtin-schema", "vendor.gitlab-ci"])
        .args(&files)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", describe(&run));
}

#[test]
fn the_schema_check_catches_a_broken_pipeline() {
    // The check above must be able to fail: a job whose script is a number is refused.
    let dir = scratch("schema-negative");
    let file = dir.join("broken.yml");
    std::fs::write(&file, "job:\n  script: 42\n").unwrap();
    let run = Command::new(tool("check-jsonschema"))
        .args(["--builtin-schema", "vendor.gitlab-ci"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!run.status.success(), "{}", describe(&run));
}

/// Jobs and their needs as gitlab-ci-local lists them.
fn listed_by_gitlab_ci_local(name: &str, yaml: &str) -> BTreeMap<String, Vec<String>> {
    let dir = scratch(&format!("gcl-{name}"));
    std::fs::write(dir.join(".gitlab-ci.yml"), for_gitlab_ci_local(yaml)).unwrap();
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let run = Command::new(tool("gitlab-ci-local"))
        .args(["--list-json", "--home"])
        .arg(&home)
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(run.status.success(), "{name}: {}", describe(&run));
    let jobs: Vec<serde_json::Value> = serde_json::from_slice(&run.stdout)
        .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {}", describe(&run)));
    jobs.iter()
        .map(|job| {
            let needs = job["needs"]
                .as_array()
                .map(|needs| {
                    needs
                        .iter()
                        .map(|n| n["job"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default();
            (job["name"].as_str().unwrap().to_string(), needs)
        })
        .collect()
}

#[test]
fn gitlab_ci_local_lists_every_golden_pipeline_with_its_jobs_and_needs() {
    let cases = goldens(".yml");
    std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .map(|(name, yaml)| {
                scope.spawn(move || {
                    let expected: BTreeMap<String, Vec<String>> = Pipeline::parse(yaml)
                        .unwrap()
                        .jobs
                        .into_iter()
                        .map(|job| (job.name, job.needs))
                        .collect();
                    assert!(!expected.is_empty(), "{name}");
                    let listed = listed_by_gitlab_ci_local(&name.replace('/', "-"), yaml);
                    assert_eq!(
                        listed, expected,
                        "{name}: gitlab-ci-local lists other jobs or needs"
                    );
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
    });
}

#[test]
fn the_rewrite_for_gitlab_ci_local_keeps_values_literal() {
    let yaml = "a:\n  variables:\n    X: {value: \"$CI_JOB_TOKEN\", expand: false}\n  script:\n    - echo \"$X\"\n";
    assert_eq!(
        for_gitlab_ci_local(yaml),
        "a:\n  variables:\n    X: \"$$CI_JOB_TOKEN\"\n  script:\n    - echo \"$X\"\n"
    );
}
