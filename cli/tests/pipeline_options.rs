//! Where and how generated jobs run, as the CI component asks: `--parent-job` (the generate job a
//! sharded pipeline fetches its shard files from) and `--image-builder-service` (the services of
//! the jobs that build Docker images), from the command line or the environment; the defaults
//! keep every golden as it is (tests/golden.rs), and what a pipeline file cannot hold is a bad
//! command line.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const DIND: &str =
    "docker:27.5.1-dind@sha256:aa3df78ecf320f5fafdce71c659f1629e96e9de0968305fe1de670e0ca9176ce";

/// The services block grove writes for [`DIND`].
fn dind_block() -> String {
    format!(
        "  services:\n    - name: \"{DIND}\"\n      alias: docker\n      command: [\"--tls=false\"]\n      variables:\n        DOCKER_TLS_CERTDIR: \"\"\n"
    )
}

/// A copy of the example cluster, its grove.yml extended with `settings`, and its
/// `PIPELINE_PATCHES` with `patches`.
fn cluster_with(name: &str, settings: &str, patches: &str) -> PathBuf {
    let root = scratch(name);
    copy_tree(&example_cluster(), &root);
    let path = root.join("grove.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\nPIPELINE_PATCHES:\n"));
    let text = text.replacen(
        "\nPIPELINE_PATCHES:\n",
        &format!("\nPIPELINE_PATCHES:\n{patches}"),
        1,
    );
    std::fs::write(&path, format!("{text}{settings}")).unwrap();
    root
}

/// A copy of the example cluster, its grove.yml extended with `settings`.
fn cluster(name: &str, settings: &str) -> PathBuf {
    cluster_with(name, settings, "")
}

/// `grove pipeline TITLE out/generated.yml ARGS` in `root`, with `env`; the generated file.
fn pipeline(root: &Path, title: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_grove"));
    command
        .args(["--root", ".", "pipeline", title, "generated.yml"])
        .args(args)
        .current_dir(root)
        .env_remove("GROVE_ROOT")
        .env_remove("GROVE_PIPELINE_IMAGE")
        .env_remove("GROVE_PARENT_JOB")
        .env_remove("GROVE_IMAGE_BUILDER_SERVICES");
    for (key, value) in env {
        command.env(key, value);
    }
    let run = command.output().unwrap();
    assert!(run.status.success(), "{}", describe(&run));
    std::fs::read_to_string(root.join("generated.yml")).unwrap()
}

fn check_schema(files: &[PathBuf]) {
    let run = Command::new(tool("check-jsonschema"))
        .args(["--builtin-schema", "vendor.gitlab-ci"])
        .args(files)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", describe(&run));
}

const BATCH: &str = "[AutoDeploy][Batch][UpgradeTo] 4f2c9e1d";

#[test]
fn a_sharded_pipeline_fetches_its_shards_from_the_named_parent_job() {
    let root = cluster("parent-job", "\nLIMITS:\n  jobs_per_pipeline: 12\n");
    let need = |job: &str| {
        format!("    - pipeline: $PARENT_PIPELINE_ID\n      job: {job}\n      artifacts: true\n")
    };
    // The default: the component's default job-prefix.
    let yaml = pipeline(&root, BATCH, &[], &[]);
    assert!(yaml.contains(&need("grove-generate")), "{yaml}");
    // Named on the command line, or in the environment (as the component does).
    let yaml = pipeline(&root, BATCH, &["--parent-job", "production-generate"], &[]);
    assert!(yaml.contains(&need("production-generate")), "{yaml}");
    let yaml = pipeline(
        &root,
        BATCH,
        &[],
        &[("GROVE_PARENT_JOB", "staging-generate")],
    );
    assert!(yaml.contains(&need("staging-generate")), "{yaml}");
    // Nothing else changes: the same file but for that one name.
    assert_eq!(
        yaml.replace("staging-generate", "grove-generate"),
        pipeline(&root, BATCH, &[], &[])
    );
    check_schema(&[root.join("generated.yml")]);
}

#[test]
fn the_image_jobs_get_the_docker_daemon_service_and_no_other_job_does() {
    let root = cluster("services", "");
    let yaml = pipeline(&root, BATCH, &["--image-builder-service", DIND], &[]);
    let golden = golden("titles/08-batch-upgrade-to.yml");
    // Two base images and five instance images: each job that builds one, and only those.
    assert_eq!(yaml.matches(&dind_block()).count(), 7, "{yaml}");
    assert_eq!(yaml.replace(&dind_block(), ""), golden);
    for job in yaml.split("\n\n").filter(|j| j.contains(&dind_block())) {
        assert!(
            job.starts_with("base-image:") || job.starts_with("image:"),
            "{job}"
        );
    }
    check_schema(&[root.join("generated.yml")]);
    // A preview builds its image in its up job.
    let payload = project().join("tests/webhooks/github-pr-opened.json");
    let webhooks = scratch("services-webhook");
    copy_tree(&example_cluster(), &webhooks);
    copy_tree(&project().join("tests/webhooks/cluster"), &webhooks);
    let run = Command::new(env!("CARGO_BIN_EXE_grove"))
        .args(["--root", "."])
        .args(["webhookpipeline", "--output", "generated.yml", "--payload"])
        .arg(&payload)
        .current_dir(&webhooks)
        .env_remove("GROVE_ROOT")
        .env_remove("GROVE_PIPELINE_IMAGE")
        .env(
            "GROVE_IMAGE_BUILDER_SERVICES",
            format!("{DIND} registry.example.org/mirror/registry:2"),
        )
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", describe(&run));
    let yaml = std::fs::read_to_string(webhooks.join("generated.yml")).unwrap();
    let up = yaml
        .split("\n\n")
        .find(|j| j.starts_with("preview-up:"))
        .unwrap_or_else(|| panic!("no preview-up job:\n{yaml}"));
    assert!(
        format!("{up}\n").contains(&format!(
            "{}    - name: \"registry.example.org/mirror/registry:2\"\n",
            dind_block()
        )),
        "{up}"
    );
    assert_eq!(yaml.matches("  services:\n").count(), 1, "{yaml}");
    check_schema(&[webhooks.join("generated.yml")]);
}

#[test]
fn grove_yml_patches_of_the_image_jobs_come_first_and_their_own_services_win() {
    // A patch with other keys: the services follow it.
    let root = cluster_with(
        "services-patch",
        "",
        "  build-job: |\n    tags: [docker-privileged]\n",
    );
    let yaml = pipeline(
        &root,
        "[AutoDeploy][Update] campus|42",
        &["--image-builder-service", DIND],
        &[],
    );
    assert!(
        yaml.contains(&format!(
            "      dotenv: grove-state.env\n  tags: [docker-privileged]\n{}",
            dind_block()
        )),
        "{yaml}"
    );
    check_schema(&[root.join("generated.yml")]);
    // A patch that sets services itself: it is left alone.
    let root = cluster_with(
        "services-own",
        "",
        "  build-job: |\n    services:\n      - name: registry.example.org/dind:1\n",
    );
    let yaml = pipeline(
        &root,
        "[AutoDeploy][Update] campus|42",
        &["--image-builder-service", DIND],
        &[],
    );
    assert!(!yaml.contains(DIND), "{yaml}");
    assert!(
        yaml.contains("  services:\n    - name: registry.example.org/dind:1\n"),
        "{yaml}"
    );
    // No service given, or an empty list (the component's input set to ""): no services.
    for env in [vec![], vec![("GROVE_IMAGE_BUILDER_SERVICES", "")]] {
        let root = cluster("services-none", "");
        let yaml = pipeline(&root, "[AutoDeploy][Update] campus|42", &[], &env);
        assert_eq!(yaml, golden("titles/04-update.yml"));
    }
}

#[test]
fn names_a_pipeline_file_cannot_hold_are_a_bad_command_line() {
    let root = cluster("bad-names", "");
    for args in [
        ["--parent-job", "grove generate"],
        ["--parent-job", ".hidden"],
        ["--parent-job", "a\"b"],
        ["--image-builder-service", "docker:dind; id"],
        ["--image-builder-service", "Docker:DIND"],
        ["--image-builder-service", "$IMAGE"],
    ] {
        let run = Command::new(env!("CARGO_BIN_EXE_grove"))
            .args([
                "--root",
                ".",
                "pipeline",
                "[AutoDeploy][Update] campus|42",
                "generated.yml",
            ])
            .args(args)
            .current_dir(&root)
            .env_remove("GROVE_ROOT")
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(2), "{args:?}: {}", describe(&run));
        assert!(!root.join("generated.yml").exists(), "{args:?}");
    }
}

/// The cluster repository named through `..` (`./clu/../clu`) is the same folder as `clu`:
/// the generated artifact and cache paths are the same, `clu/...`.
#[test]
fn a_root_named_through_dot_dot_gives_the_same_paths() {
    let base = scratch("root-dot-dot");
    copy_tree(&example_cluster(), &base.join("clu"));
    let mut files = Vec::new();
    for (root, file) in [
        ("clu", "plain.yml"),
        ("./clu/../clu", "dots.yml"),
        ("./clu/.", "dot.yml"),
    ] {
        let run = Command::new(env!("CARGO_BIN_EXE_grove"))
            .args([
                "--root",
                root,
                "pipeline",
                "[AutoDeploy][Update] campus",
                file,
            ])
            .current_dir(&base)
            .env_remove("GROVE_ROOT")
            .env_remove("GROVE_PIPELINE_IMAGE")
            .output()
            .unwrap();
        assert!(run.status.success(), "{root}: {}", describe(&run));
        files.push(std::fs::read_to_string(base.join(file)).unwrap());
    }
    assert!(files[0].contains("clu/"), "{}", files[0]);
    assert_eq!(files[1], files[0], "./clu/../clu");
    assert_eq!(files[2], files[0], "./clu/.");
}
