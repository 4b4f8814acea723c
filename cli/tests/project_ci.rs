//! Grove's own `.gitlab-ci.yml`, on a scratch copy of this repository (its files as git sees
//! them, committed to a fresh repository): valid for GitLab's schema; gitlab-ci-local lists its
//! jobs, on a branch and on a semver tag; and runs the ones that need no registry:
//!
//! - `test`, whose script is `.ci/run`. The real `.ci/run` runs this very suite, so in the copy it
//!   is replaced by a stand-in that records how the job called it (folder, variables) and runs the
//!   suite's first step, `cargo fmt --check`, on the copy: the job's wiring is tested, not the
//!   suite a second time inside itself.
//! - `versions`, which checks that the tag, the crate version, the image's tag and the
//!   components' default grove-version agree, as it is, on a branch and on the tag; it fails on a
//!   tag or a component default that disagrees.
//! - `components` on a semver tag, with the catalog project a bare git repository on disk (no
//!   registry, no GitLab): the components, their README, LICENSE.md and the CHANGELOG are pushed
//!   under the tag.
//!
//! `tool-image` (buildah, a registry) and `release` (GitLab's release API) cannot run here; the test
//! checks what they would do from their definitions.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const STAND_IN: &str = r#"#!/bin/sh
# A stand-in for .ci/run, inside the test suite (cli/tests/project_ci.rs): the real one runs the
# suite, which runs this test.
set -eu
test -x scripts/test
printf '%s\t%s\t%s\t%s\n' "$PWD" "$CI_PROJECT_DIR" "${CARGO_TARGET_DIR:-}" "${GROVE_TOOLS:-}" >> "$STAND_IN_LOG"
cargo fmt --all -- --check
"#;

fn git(dir: &Path, args: &[&str]) -> Output {
    let run = Command::new("git")
        .args([
            "-c",
            "user.name=Grove Test",
            "-c",
            "user.email=test@example.org",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(run.status.success(), "git {args:?}: {}", describe(&run));
    run
}

/// A scratch copy of this repository's files (tracked, and new ones git does not ignore), as a
/// fresh git repository with one commit; `change` edits it first.
fn copy_of_project(name: &str, change: impl FnOnce(&Path)) -> PathBuf {
    let base = scratch(name).canonicalize().unwrap();
    let root = base.join("grove");
    let listed = git(
        &project(),
        &[
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ],
    );
    for file in String::from_utf8(listed.stdout).unwrap().split('\0') {
        let from = project().join(file);
        if file.is_empty() || !from.is_file() {
            continue;
        }
        let to = root.join(file);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap();
    }
    change(&root);
    std::fs::write(root.join(".gitignore"), ".gitlab-ci-local/\n/target/\n").unwrap();
    git(&root, &["init", "--quiet"]);
    git(
        &root,
        &[
            "remote",
            "add",
            "origin",
            "git@gitlab.example.org:opencraft/grove.git",
        ],
    );
    git(&root, &["add", "--all"]);
    git(&root, &["commit", "--quiet", "--message", "Grove"]);
    std::fs::create_dir_all(base.join("home")).unwrap();
    root
}

/// gitlab-ci-local in `root`, with a home of its own (no variables from outside).
fn gitlab_ci_local(root: &Path, args: &[&str]) -> Output {
    Command::new(tool("gitlab-ci-local"))
        .arg("--home")
        .arg(root.parent().unwrap().join("home"))
        .args(args)
        .current_dir(root)
        .env("NO_COLOR", "1")
        .env("FORCE_COLOR", "0")
        .env_remove("CI_COMMIT_TAG")
        .output()
        .unwrap()
}

/// Each job gitlab-ci-local lists: name → (stage, when).
fn listed(root: &Path, variables: &[&str]) -> BTreeMap<String, (String, String)> {
    let mut args = vec!["--list-json"];
    for variable in variables {
        args.extend(["--variable", variable]);
    }
    let run = gitlab_ci_local(root, &args);
    assert!(run.status.success(), "{}", describe(&run));
    let stdout = String::from_utf8_lossy(&run.stdout);
    let jobs: Vec<Value> = serde_json::from_str(&stdout[stdout.find('[').unwrap()..]).unwrap();
    jobs.iter()
        .map(|job| {
            (
                job["name"].as_str().unwrap().to_string(),
                (
                    job["stage"].as_str().unwrap().to_string(),
                    job["when"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

fn pipeline() -> Value {
    let text = std::fs::read_to_string(project().join(".gitlab-ci.yml")).unwrap();
    grove_core::yaml::from_str::<Value>(&text, &grove_core::yaml::Limits::PIPELINE).unwrap()
}

#[test]
fn the_project_pipeline_is_valid_for_gitlabs_schema() {
    let run = Command::new(tool("check-jsonschema"))
        .args(["--builtin-schema", "vendor.gitlab-ci"])
        .arg(project().join(".gitlab-ci.yml"))
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", describe(&run));
}

#[test]
fn gitlab_ci_local_lists_the_jobs_of_a_branch_and_of_a_semver_tag() {
    let root = copy_of_project("project-ci-list", |_| {});
    let jobs = |entries: [(&str, &str, &str); 5]| -> BTreeMap<String, (String, String)> {
        entries
            .iter()
            .map(|(name, stage, when)| (name.to_string(), (stage.to_string(), when.to_string())))
            .collect()
    };
    assert_eq!(
        listed(&root, &[]),
        jobs([
            ("test", "test", "on_success"),
            ("versions", "test", "on_success"),
            ("tool-image", "build", "never"),
            ("components", "publish", "never"),
            ("release", "publish", "never"),
        ])
    );
    assert_eq!(
        listed(&root, &["CI_COMMIT_TAG=0.1.0"]),
        jobs([
            ("test", "test", "on_success"),
            ("versions", "test", "on_success"),
            ("tool-image", "build", "on_success"),
            ("components", "publish", "on_success"),
            ("release", "publish", "on_success"),
        ])
    );
    // A tag that is not semver builds the image (a pre-release, say) but publishes nothing.
    let pre = listed(&root, &["CI_COMMIT_TAG=0.1.0-rc.1"]);
    assert_eq!(pre["tool-image"].1, "on_success");
    assert_eq!(pre["components"].1, "never");
    assert_eq!(pre["release"].1, "never");
}

#[test]
fn gitlab_ci_local_runs_the_test_job_and_the_version_check() {
    let root = copy_of_project("project-ci-run", |root| {
        std::fs::write(root.join(".ci/run"), STAND_IN).unwrap();
    });
    let log = root.parent().unwrap().join("stand-in.log");
    let run = gitlab_ci_local(
        &root,
        &[
            "--force-shell-executor",
            "--shell-isolation",
            "--no-artifacts-to-source",
            "--variable",
            &format!("STAND_IN_LOG={}", log.display()),
            "test",
            "versions",
        ],
    );
    let text = describe(&run);
    assert!(run.status.success(), "{text}");
    for job in ["test", "versions"] {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with("PASS")
                    && l.split_whitespace().nth(1) == Some(job)),
            "{job} did not pass:\n{text}"
        );
    }
    // The test job ran .ci/run at the top of its copy of the project, with its cache folders
    // in the project's folder (gitlab-ci-local gives CI_PROJECT_DIR the path it has in the
    // job's image, as GitLab's runner does).
    let logged = std::fs::read_to_string(&log).unwrap();
    let fields: Vec<&str> = logged.trim_end().split('\t').collect();
    let job_dir = root.join(".gitlab-ci-local/builds/test");
    let ci_dir = "/builds/opencraft/grove";
    assert_eq!(
        fields,
        [
            job_dir.to_str().unwrap(),
            ci_dir,
            &format!("{ci_dir}/.cache/target"),
            &format!("{ci_dir}/.cache/tools"),
        ],
        "{text}"
    );
    assert!(text.contains("check-versions: 0.1.0 everywhere"), "{text}");
    // The release notes are the CHANGELOG's section of the version.
    let notes =
        std::fs::read_to_string(root.join(".gitlab-ci-local/artifacts/versions/release-notes.md"))
            .unwrap();
    assert!(notes.starts_with("\nThe first release.\n"), "{notes}");
    assert!(!notes.lines().any(|l| l.starts_with("## ")), "{notes}");
    assert!(notes.contains("### Added"), "{notes}");
}

/// scripts/check-versions in a copy of the project edited by `change`, in a tag pipeline of
/// `tag` if given.
fn check_versions(name: &str, tag: Option<&str>, change: impl FnOnce(&Path)) -> Output {
    let root = copy_of_project(name, change);
    let mut command = Command::new(root.join("scripts/check-versions"));
    command.current_dir(&root).env_remove("CI_COMMIT_TAG");
    if let Some(tag) = tag {
        command.env("CI_COMMIT_TAG", tag);
    }
    command.output().unwrap()
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{}: no {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// A case of the version check: a name, the tag, an edit of the project, what the check says.
type Disagreement<'a> = (&'a str, Option<&'a str>, &'a dyn Fn(&Path), &'a str);

#[test]
fn the_version_check_fails_on_each_disagreement() {
    let ok = check_versions("versions-ok", Some("0.1.0"), |_| {});
    assert!(ok.status.success(), "{}", describe(&ok));
    let cases: [Disagreement; 5] = [
        (
            "versions-tag",
            Some("0.2.0"),
            &|_| {},
            "the tag 0.2.0 is not the crate version 0.1.0",
        ),
        (
            "versions-crate",
            None,
            &|root| edit(&root.join("Cargo.toml"), "version = \"0.1.0\"", "version = \"0.2.0\""),
            "ci-components/templates/pipeline.yml: the default grove-version is \"0.1.0\", not 0.2.0",
        ),
        (
            "versions-component",
            None,
            &|root| {
                edit(
                    &root.join("ci-components/templates/plan.yml"),
                    "      default: 0.1.0\n",
                    "      default: 0.0.9\n",
                )
            },
            "ci-components/templates/plan.yml: the default grove-version is \"0.0.9\", not 0.1.0",
        ),
        (
            "versions-image",
            None,
            &|root| {
                edit(
                    &root.join("ci-components/.gitlab-ci.yml"),
                    "opencraft/grove:0.1.0",
                    "opencraft/grove:0.0.9",
                )
            },
            "ci-components/.gitlab-ci.yml names version 0.0.9, not 0.1.0",
        ),
        (
            "versions-changelog",
            None,
            &|root| edit(&root.join("CHANGELOG.md"), "## 0.1.0\n", "## 0.0.9\n"),
            "CHANGELOG.md has no section \"## 0.1.0\"",
        ),
    ];
    for (name, tag, change, says) in cases {
        let run = check_versions(name, tag, change);
        assert_eq!(run.status.code(), Some(1), "{name}: {}", describe(&run));
        assert!(
            String::from_utf8_lossy(&run.stderr).contains(says),
            "{name}: {}",
            describe(&run)
        );
    }
}

#[test]
fn a_semver_tag_publishes_the_components_to_the_catalog_project() {
    let root = copy_of_project("project-ci-publish", |_| {});
    let catalog = root.parent().unwrap().join("grove-components.git");
    let run = Command::new("git")
        .args(["init", "--quiet", "--bare", "--initial-branch=main"])
        .arg(&catalog)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", describe(&run));
    let publish = || {
        gitlab_ci_local(
            &root,
            &[
                "--force-shell-executor",
                "--shell-isolation",
                "--no-artifacts-to-source",
                "--variable",
                "CI_COMMIT_TAG=0.1.0",
                "--variable",
                &format!("GROVE_CATALOG_URL=file://{}", catalog.display()),
                "components",
            ],
        )
    };
    let run = publish();
    assert!(run.status.success(), "{}", describe(&run));
    // The catalog project holds, at the tag, this folder and the CHANGELOG, and nothing else.
    let files = git(&catalog, &["ls-tree", "-r", "--name-only", "0.1.0"]);
    let files: Vec<String> = String::from_utf8(files.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let mut expected: Vec<String> = tree(&project().join("ci-components"))
        .into_keys()
        .chain(["CHANGELOG.md".to_string()])
        .collect();
    expected.sort();
    assert_eq!(files, expected);
    for required in [
        "templates/pipeline.yml",
        "templates/plan.yml",
        "README.md",
        "LICENSE.md",
        "CHANGELOG.md",
        ".gitlab-ci.yml",
    ] {
        assert!(files.iter().any(|f| f == required), "{required}: {files:?}");
    }
    let readme = git(&catalog, &["show", "0.1.0:README.md"]);
    assert_eq!(
        readme.stdout,
        std::fs::read(project().join("ci-components/README.md")).unwrap()
    );
    // The same version again is refused: a published version never changes.
    let again = publish();
    assert!(!again.status.success(), "{}", describe(&again));
    assert!(
        describe(&again).contains("the catalog already has 0.1.0"),
        "{}",
        describe(&again)
    );
}

#[test]
fn the_image_and_release_jobs_build_push_and_release_what_they_should() {
    let pipeline = pipeline();
    let image = &pipeline["tool-image"];
    assert!(image["image"]
        .as_str()
        .unwrap()
        .starts_with("quay.io/buildah/stable:"));
    let script = image["script"].to_string();
    for part in [
        "buildah build",
        "--tag \\\"$CI_REGISTRY_IMAGE:$CI_COMMIT_TAG\\\" .",
        "buildah push --digestfile image-digest",
        "--password-stdin",
    ] {
        assert!(script.contains(part), "{part}: {script}");
    }
    assert_eq!(image["needs"], serde_json::json!(["versions"]));
    let release = &pipeline["release"];
    assert_eq!(release["release"]["tag_name"], "$CI_COMMIT_TAG");
    assert_eq!(release["release"]["description"], "./release-notes.md");
    assert!(release["rules"][0]["if"]
        .as_str()
        .unwrap()
        .contains("/^[0-9]+\\.[0-9]+\\.[0-9]+$/"));
    // The components are published from the image of the tag, after it is pushed.
    let components = &pipeline["components"];
    assert_eq!(components["image"], "$CI_REGISTRY_IMAGE:$CI_COMMIT_TAG");
    assert_eq!(
        components["script"],
        serde_json::json!(["scripts/publish-components"])
    );
}
