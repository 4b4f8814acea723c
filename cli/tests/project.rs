//! Where a generated pipeline runs: a cluster repository in a folder of its CI project (the CI
//! component's `root`), whose artifact and cache paths must start there, and the image its jobs
//! run in when grove.yml sets none.

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Output};

/// A CI project folder holding the example cluster at `inner` (relative to it).
fn project_with_cluster(name: &str, inner: &str) -> std::path::PathBuf {
    let project = scratch(name).canonicalize().unwrap();
    copy_tree(&example_cluster(), &project.join(inner));
    project
}

/// `grove ARGS` run in `cwd`, with nothing from the outside environment.
fn grove_in(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_grove"));
    command
        .args(args)
        .current_dir(cwd)
        .env_remove("GROVE_ROOT")
        .env_remove("GROVE_PIPELINE_IMAGE")
        .env("NO_COLOR", "1");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

/// The reviewed Create pipeline, with its paths where the repository is in the project.
/// (A path that starts with `.` is quoted at the top of the project, and plain below a folder.)
fn create_golden_at(prefix: &str) -> String {
    let golden = golden("titles/03-create.yml");
    let mut out = String::new();
    for line in golden.split_inclusive('\n') {
        let grove_dir = line
            .trim_end()
            .strip_suffix('"')
            .and_then(|l| l.split_once("\".grove/"));
        match grove_dir {
            Some((before, after)) => out.push_str(&format!("{before}{prefix}.grove/{after}\n")),
            None => out.push_str(
                &line
                    .replace("- instances/", &format!("- {prefix}instances/"))
                    .replace("- \"instances/", &format!("- \"{prefix}instances/")),
            ),
        }
    }
    out
}

const CREATE: &str = "[AutoDeploy][Create] campus|101,newcampus|102";

#[test]
fn a_repository_in_a_folder_of_the_project_has_its_paths_start_there() {
    let project = project_with_cluster("in-folder", "clusters/production");
    let absolute = project.join("clusters/production");
    for root in [
        "clusters/production",
        "./clusters/production/",
        absolute.to_str().unwrap(),
    ] {
        let run = grove_in(
            &project,
            &["--root", root, "pipeline", CREATE, "generated.yml"],
            &[],
        );
        assert!(run.status.success(), "{root}: {}", describe(&run));
        let yaml = std::fs::read_to_string(project.join("generated.yml")).unwrap();
        assert_eq!(
            yaml,
            create_golden_at("clusters/production/"),
            "--root {root}"
        );
    }
    // GitLab's own schema takes it.
    let check = Command::new(tool("check-jsonschema"))
        .args(["--builtin-schema", "vendor.gitlab-ci"])
        .arg(project.join("generated.yml"))
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", describe(&check));
}

#[test]
fn a_repository_at_the_top_or_outside_the_current_folder_has_the_paths_of_the_golden() {
    let ci_project = project_with_cluster("at-top", ".");
    let out = scratch("at-top-out");
    let golden = golden("titles/03-create.yml");
    // At the top of the current folder.
    let run = grove_in(&ci_project, &["pipeline", CREATE, "generated.yml"], &[]);
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(
        std::fs::read_to_string(ci_project.join("generated.yml")).unwrap(),
        golden
    );
    // Elsewhere than the current folder: nothing to start paths with.
    let file = out.join("generated.yml");
    let run = grove_in(
        &out,
        &[
            "--root",
            ci_project.to_str().unwrap(),
            "pipeline",
            CREATE,
            file.to_str().unwrap(),
        ],
        &[],
    );
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), golden);
}

#[test]
fn a_folder_name_the_paths_cannot_hold_is_a_bad_command_line() {
    let project = project_with_cluster("bad-folder", "my cluster");
    let run = grove_in(
        &project,
        &["--root", "my cluster", "pipeline", CREATE, "generated.yml"],
        &[],
    );
    assert_eq!(run.status.code(), Some(2), "{}", describe(&run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("my cluster") && stderr.contains("only letters, digits"),
        "{stderr}"
    );
    assert!(!project.join("generated.yml").exists());
}

#[test]
fn jobs_run_in_the_given_image_unless_grove_yml_names_one() {
    let ci_project = project_with_cluster("image", ".");
    let image = "registry.gitlab.com/opencraft/grove:0.1.0";
    let golden = golden("titles/04-update.yml");
    let title = std::fs::read_to_string(project().join("tests/titles/04-update.title")).unwrap();
    let title = title.trim_end();
    let with_image = golden.replacen("\n\n", &format!("\ndefault:\n  image: \"{image}\"\n\n"), 1);
    for run in [
        grove_in(
            &ci_project,
            &["pipeline", title, "generated.yml"],
            &[("GROVE_PIPELINE_IMAGE", image)],
        ),
        grove_in(
            &ci_project,
            &[
                "pipeline",
                title,
                "generated.yml",
                "--pipeline-image",
                image,
            ],
            &[],
        ),
    ] {
        assert!(run.status.success(), "{}", describe(&run));
        assert_eq!(
            std::fs::read_to_string(ci_project.join("generated.yml")).unwrap(),
            with_image
        );
    }
    // grove.yml's own PIPELINE_IMAGE wins.
    let settings = ci_project.join("grove.yml");
    let text = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(
        &settings,
        format!("{text}\nPIPELINE_IMAGE: registry.example.org/ops/grove:7\n"),
    )
    .unwrap();
    let run = grove_in(
        &ci_project,
        &["pipeline", title, "generated.yml"],
        &[("GROVE_PIPELINE_IMAGE", image)],
    );
    assert!(run.status.success(), "{}", describe(&run));
    let yaml = std::fs::read_to_string(ci_project.join("generated.yml")).unwrap();
    assert!(
        yaml.contains("default:\n  image: \"registry.example.org/ops/grove:7\"\n"),
        "{yaml}"
    );
}
