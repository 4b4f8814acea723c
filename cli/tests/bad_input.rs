//! Hostile and malformed input through the `grove` binary: the exit code README.md gives, a message
//! that names the problem, and nothing written.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Runs `grove pipeline` on a title; asserts exit `code`, `message` on stderr, and no file
/// written. Returns stderr.
fn check(title: &str, code: i32, message: &str) -> String {
    let shown: String = title.chars().take(80).collect();
    let dir = scratch("bad-title");
    let out = dir.join("pipeline.yml");
    let run = grove(
        &example_cluster(),
        &["pipeline", title, out.to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(
        run.status.code(),
        Some(code),
        "{shown:?}: {}",
        describe(&run)
    );
    assert!(
        stderr.contains(message),
        "{shown:?}: expected {message:?} in\n{stderr}"
    );
    assert!(!out.exists(), "{shown:?}: a pipeline was written");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "{shown:?}: something was written"
    );
    stderr.into_owned()
}

/// Runs `grove pipeline TITLE` on the repository at `root`, to `root/p.yml`: the run, and that
/// path.
fn pipeline_in(root: &Path, title: &str) -> (Output, PathBuf) {
    let out = root.join("p.yml");
    let run = grove(root, &["pipeline", title, out.to_str().unwrap()]);
    (run, out)
}

#[test]
fn malformed_titles_give_exit_5_and_name_the_problem() {
    let long_name = format!("[AutoDeploy][Update] {}", "a".repeat(50));
    let long_title = format!("[AutoDeploy][Update] a,{}", "b,".repeat(2100));
    let cases: &[(&str, &str)] = &[
        ("[AutoDeploy][Creat] a", "unknown type \"Creat\"; expected one of Create, Update, Archive, Delete, Infrastructure, Batch, Build"),
        ("[AutoDeploy][create] a", "did you mean [Create]?"),
        ("[AutoDeploy][Deploy] a", "unknown type \"Deploy\""),
        ("[AutoDeploy][] a", "unknown type \"\""),
        ("[autodeploy][Update] a", "the tag is spelled \"[autodeploy]\""),
        ("[AutoDeploy][Update]", "no instances listed"),
        ("[AutoDeploy][Update]   ", "no instances listed"),
        ("[AutoDeploy][Update] campus,,labs", "empty item in the list"),
        ("[AutoDeploy][Update] campus,", "empty item in the list"),
        ("[AutoDeploy][Update] campus|", "the deployment id is empty"),
        ("[AutoDeploy][Update] campus|1|2", "character '|' is not allowed in a deployment id"),
        ("[AutoDeploy][Update] campus|$(id)", "character '$' is not allowed in a deployment id"),
        ("[AutoDeploy][Update] campus,campus", "\"campus\" is listed twice"),
        ("[AutoDeploy][Update] Campus", "uppercase letter 'C' in instance name"),
        ("[AutoDeploy][Update] ../etc", "character '.' is not allowed in an instance name"),
        ("[AutoDeploy][Update] a/b", "character '/' is not allowed in an instance name"),
        ("[AutoDeploy][Update] my campus", "character ' ' is not allowed in an instance name"),
        ("[AutoDeploy][Update] a\"b", "character '\"' is not allowed in an instance name"),
        ("[AutoDeploy][Update] a'b", "character '\\'' is not allowed in an instance name"),
        ("[AutoDeploy][Update] a$b", "character '$' is not allowed in an instance name"),
        ("[AutoDeploy][Update] a;b", "character ';' is not allowed in an instance name"),
        ("[AutoDeploy][Update] -a", "instance name starts with '-'"),
        ("[AutoDeploy][Update] a-", "instance name ends with '-'"),
        ("[AutoDeploy][Update] é", "character 'é' is not allowed in an instance name"),
        (&long_name, "instance name is 50 characters long; the limit is 49"),
        ("[AutoDeploy][Update] campus\nlabs", "a commit title is one line"),
        ("[AutoDeploy][Update] campus\r", "a commit title is one line"),
        ("[AutoDeploy][Archive] campus|1", "Archive takes instance names without deployment ids"),
        ("[AutoDeploy][Batch] x", "[Batch] needs a second tag: [Upgrade] or [UpgradeTo]"),
        ("[AutoDeploy][Batch][Upgrad] x|y", "unknown batch type \"Upgrad\""),
        ("[AutoDeploy][Batch][Upgrade] https://x.org/a.git", "is not a REPOSITORY|VERSION pair"),
        ("[AutoDeploy][Batch][Upgrade] --upload-pack=x|main", "a repository must not start with '-'"),
        ("[AutoDeploy][Batch][Upgrade] /srv/git/edx-platform.git|main", "\"/srv/git/edx-platform.git\" is not a remote git URL"),
        ("[AutoDeploy][Batch][Upgrade] https://x.org/a.git|a..b", "a version must not contain '..'"),
        ("[AutoDeploy][Batch][Upgrade] https://x.org/$CI_JOB_TOKEN|main", "character '$' is not allowed in a repository"),
        ("[AutoDeploy][Batch][Upgrade] https://x.org/a.git|main: x", "character ':' is not allowed in a version"),
        ("[AutoDeploy][Batch][UpgradeTo] main", "character 'm' is not allowed in a commit hash"),
        ("[AutoDeploy][Batch][UpgradeTo] abc", "the commit hash is 3 characters long; it must be 7 to 64"),
        ("[AutoDeploy][Batch][UpgradeTo]", "no commit hash given"),
        ("[AutoDeploy][Batch][UpgradeTo] abcdef1,abcdef2", "UpgradeTo takes exactly one commit hash"),
        ("[AutoDeploy][Update][now] campus", "unexpected tag \"[now]\" after the type"),
        ("[AutoDeploy][Update campus", "this '[' is not closed"),
        ("[AutoDeploy]", "nothing follows [AutoDeploy]"),
        ("[AutoDeploy] campus", "expected NAME:ID - MESSAGE after [AutoDeploy]"),
        ("[AutoDeploy] campus:42 deploy", "expected \" - \" between the deployment id and the message"),
        ("[AutoDeploy] campus:42 - roll back", "unknown message \"roll back\""),
        ("[AutoDeploy] campus: - apply changes", "the deployment id is empty"),
        (&long_title, "the commit title is 4223 bytes long; the limit is 4096"),
    ];
    assert!(cases.len() >= 25);
    for (title, message) in cases {
        check(title, 5, message);
    }
}

/// The two title forms of issue 15, `[AutoDeploy][Delete] NAMES` and
/// `[AutoDeploy][Build][Image] REPOSITORY|VERSION,...`: each malformed title is exit 5, with the
/// problem on the first line and its place in the title (`commit title:1:COLUMN`, the column of
/// its first character, counted from 1), and nothing written.
#[test]
fn malformed_delete_and_build_image_titles_give_exit_5_at_the_problem() {
    let repository = "https://github.com/openedx/edx-platform.git";
    let listed_twice = format!("[AutoDeploy][Build][Image] {repository}|main,{repository}|main");
    let cases: &[(&str, &str, usize)] = &[
        ("[AutoDeploy][Delete]", "no instances listed", 21),
        ("[AutoDeploy][Delete]   ", "no instances listed", 24),
        (
            "[AutoDeploy][Delete] campus,,labs",
            "empty item in the list",
            29,
        ),
        (
            "[AutoDeploy][Delete] retired,",
            "empty item in the list",
            30,
        ),
        (
            "[AutoDeploy][Delete] Retired",
            "uppercase letter 'R' in instance name",
            22,
        ),
        (
            "[AutoDeploy][Delete] ../campus",
            "character '.' is not allowed in an instance name",
            22,
        ),
        (
            "[AutoDeploy][Delete] old campus",
            "character ' ' is not allowed in an instance name",
            25,
        ),
        (
            "[AutoDeploy][Delete] $(id)",
            "character '$' is not allowed in an instance name",
            22,
        ),
        (
            "[AutoDeploy][Delete] \"; rm -rf /",
            "character '\"' is not allowed in an instance name",
            22,
        ),
        (
            "[AutoDeploy][Delete] -retired",
            "instance name starts with '-'",
            22,
        ),
        (
            "[AutoDeploy][Delete] retired,old,retired",
            "\"retired\" is listed twice",
            34,
        ),
        (
            "[AutoDeploy][Delete] retired|42",
            "Delete takes instance names without deployment ids",
            29,
        ),
        (
            "[AutoDeploy][Delete][Now] retired",
            "unexpected tag \"[Now]\" after the type",
            21,
        ),
        ("[AutoDeploy][Delet] retired", "unknown type \"Delet\"", 14),
        (
            "[AutoDeploy][Build] https://github.com/openedx/edx-platform.git|main",
            "[Build] needs a second tag: [Image]",
            13,
        ),
        (
            "[AutoDeploy][Build][Images] https://github.com/openedx/edx-platform.git|main",
            "unknown build type \"Images\"; expected Image",
            21,
        ),
        (
            "[AutoDeploy][Build][image] https://github.com/openedx/edx-platform.git|main",
            "unknown build type \"image\"",
            21,
        ),
        (
            "[AutoDeploy][Image] https://github.com/openedx/edx-platform.git|main",
            "unknown type \"Image\"",
            14,
        ),
        (
            "[AutoDeploy][Build][Image]",
            "no REPOSITORY|VERSION pairs listed",
            27,
        ),
        (
            "[AutoDeploy][Build][Image] https://github.com/openedx/edx-platform.git",
            "is not a REPOSITORY|VERSION pair",
            28,
        ),
        (
            "[AutoDeploy][Build][Image] |main",
            "the repository is empty",
            28,
        ),
        (
            "[AutoDeploy][Build][Image] https://github.com/openedx/edx-platform.git|",
            "the version is empty",
            72,
        ),
        (
            "[AutoDeploy][Build][Image] edx-platform|main",
            "\"edx-platform\" is not a remote git URL",
            28,
        ),
        (
            "[AutoDeploy][Build][Image] file:///srv/git/edx-platform.git|main",
            "is not a remote git URL",
            28,
        ),
        (
            "[AutoDeploy][Build][Image] ext::sh|main",
            "\"ext::sh\" is not a remote git URL",
            28,
        ),
        (
            "[AutoDeploy][Build][Image] --upload-pack=touch|main",
            "a repository must not start with '-'",
            28,
        ),
        (
            "[AutoDeploy][Build][Image] https://x.org/$CI_JOB_TOKEN|main",
            "character '$' is not allowed in a repository",
            42,
        ),
        (
            "[AutoDeploy][Build][Image] https://github.com/openedx/edx-platform.git|a..b",
            "a version must not contain '..'",
            73,
        ),
        (
            "[AutoDeploy][Build][Image] https://github.com/openedx/edx-platform.git|main campus",
            "character ' ' is not allowed in a version",
            76,
        ),
        (
            "[AutoDeploy][Build][Image] https://github.com/openedx/edx-platform.git|main,",
            "empty item in the list",
            77,
        ),
        (&listed_twice, "is listed twice", 77),
    ];
    assert!(cases.len() >= 10);
    for (title, message, column) in cases {
        let stderr = check(title, 5, message);
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error: invalid commit title: ") && first.contains(message),
            "{title:?}: the first line does not name the problem:\n{stderr}"
        );
        assert!(
            stderr.contains(&format!("commit title:1:{column}\n")),
            "{title:?}: not located at column {column}:\n{stderr}"
        );
    }
}

#[test]
fn errors_are_drawn_under_the_offending_characters() {
    let run = grove(&example_cluster(), &["plan", "[AutoDeploy][Creat] campus"]);
    assert_eq!(run.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&run.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let title_line = lines
        .iter()
        .position(|l| l.ends_with("[AutoDeploy][Creat] campus"))
        .expect(&stderr);
    let carets = lines[title_line + 1];
    let title_start = lines[title_line].find("[AutoDeploy]").unwrap();
    assert_eq!(carets.find('^'), Some(title_start + 13), "{stderr}");
    assert_eq!(carets.matches('^').count(), 5, "{stderr}");
}

#[test]
fn update_or_archive_of_a_missing_instance_is_exit_3() {
    check(
        "[AutoDeploy][Update] nosuch|1",
        3,
        "no such instance \"nosuch\"",
    );
    check(
        "[AutoDeploy][Update] campus,nosuch,gone",
        3,
        "no such instances \"nosuch\", \"gone\"",
    );
    check(
        "[AutoDeploy][Archive] nosuch",
        3,
        "no such instance \"nosuch\"",
    );
    check(
        "[AutoDeploy] nosuch:1 - apply changes",
        3,
        "no such instance \"nosuch\"",
    );
}

#[test]
fn create_of_an_instance_not_in_the_commit_is_exit_3_saying_how_to_add_it() {
    let dir = scratch("create-missing");
    let out = dir.join("p.yml");
    let run = grove(
        &example_cluster(),
        &[
            "pipeline",
            "[AutoDeploy][Create] campus,brandnew",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(run.status.code(), Some(3), "{}", describe(&run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("instance \"brandnew\" is not in this commit")
            && stderr.contains("run `grove new brandnew`, set its config, commit and push"),
        "{stderr}"
    );
    assert!(!out.exists(), "a pipeline was written");
}

#[test]
fn a_malformed_config_is_exit_5_naming_the_file_and_line() {
    let root = scratch("bad-config");
    copy_tree(&example_cluster(), &root);
    std::fs::write(
        root.join("instances/campus/config.yml"),
        "LMS_HOST: campus.example.org\nEDX_PLATFORM_VERSION: [open-release\n",
    )
    .unwrap();
    let (run, out) = pipeline_in(&root, "[AutoDeploy][Update] campus");
    assert_eq!(run.status.code(), Some(5), "{}", describe(&run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("instances/campus/config.yml:2:23: this flow collection is not closed"),
        "{stderr}"
    );
    assert!(!out.exists());
    // An unrelated instance still deploys: only the plans that read the broken file fail.
    let (run, _) = pipeline_in(&root, "[AutoDeploy][Update] labs");
    assert!(run.status.success(), "{}", describe(&run));
    // A batch upgrade must read every instance, so it fails too.
    let (run, _) = pipeline_in(&root, "[AutoDeploy][Batch][UpgradeTo] abcdef1");
    assert_eq!(run.status.code(), Some(5), "{}", describe(&run));
}

#[test]
fn a_batch_setting_of_the_wrong_type_is_exit_5() {
    let root = scratch("bad-setting");
    copy_tree(&example_cluster(), &root);
    std::fs::write(
        root.join("instances/labs/grove.yml"),
        "BATCH_UPGRADE_DISABLED: sometimes\n",
    )
    .unwrap();
    let run = grove(&root, &["plan", "[AutoDeploy][Batch][UpgradeTo] abcdef1"]);
    assert_eq!(run.status.code(), Some(5), "{}", describe(&run));
    assert!(String::from_utf8_lossy(&run.stderr).contains("instances/labs/grove.yml:1:"));
}

#[test]
fn a_title_starting_with_a_dash_is_a_title_not_an_option() {
    let run = grove(&example_cluster(), &["plan", "--not-an-option"]);
    assert!(run.status.success(), "{}", describe(&run));
    assert!(String::from_utf8_lossy(&run.stdout).starts_with("Nothing to deploy."));
}

#[test]
fn a_bad_command_line_is_exit_2() {
    let run = grove(&example_cluster(), &["pipeline"]);
    assert_eq!(run.status.code(), Some(2), "{}", describe(&run));
    let run = grove(&example_cluster(), &["no-such-command"]);
    assert_eq!(run.status.code(), Some(2), "{}", describe(&run));
}

#[test]
fn alias_bombs_and_deep_nesting_in_configs_are_exit_5() {
    let root = scratch("yaml-limits");
    copy_tree(&example_cluster(), &root);
    let mut bomb = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let mut previous = 'a';
    for name in 'b'..='i' {
        bomb.push_str(&format!(
            "{name}: &{name} [{}]\n",
            vec![format!("*{previous}"); 9].join(",")
        ));
        previous = name;
    }
    let deep = format!("x: {}{}\n", "[".repeat(101), "]".repeat(101));
    for (config, message) in [
        (bomb, "YAML aliases (*name) are not allowed"),
        (deep, "nesting deeper than 100 levels"),
    ] {
        std::fs::write(root.join("instances/campus/config.yml"), config).unwrap();
        let run = grove(&root, &["plan", "[AutoDeploy][Update] campus"]);
        assert_eq!(run.status.code(), Some(5), "{}", describe(&run));
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(
            stderr.contains("instances/campus/config.yml:") && stderr.contains(message),
            "{stderr}"
        );
    }
}

/// A title whose pipeline runs Terraform (Create, Infrastructure, Delete) needs Terraform's
/// configuration: without a `*.tf` file directly in TERRAFORM_DIR (`infrastructure/` unless
/// grove.yml names another folder), it is exit 5 naming the folder, before any job could fail
/// halfway through the pipeline. Titles that run no Terraform do not care.
#[test]
fn a_title_that_runs_terraform_needs_its_configuration() {
    let root = scratch("no-terraform");
    copy_tree(&example_cluster(), &root);
    let out = root.join("out.yml");
    let run = |title: &str| grove(&root, &["pipeline", title, out.to_str().unwrap()]);
    let terraform = [
        ("[AutoDeploy][Create] campus|1", "create"),
        (
            "[AutoDeploy][Infrastructure] bigger nodes",
            "infrastructure",
        ),
        ("[AutoDeploy][Delete] retired", "delete"),
    ];
    let others = [
        "[AutoDeploy][Update] campus|1",
        "[AutoDeploy][Archive] labs",
        "Fix a typo",
    ];
    let main_tf = root.join("infrastructure/main.tf");
    let text = std::fs::read_to_string(&main_tf).unwrap();
    // No folder, an empty one, one whose .tf files are only in a subfolder.
    for layout in ["none", "empty", "nested"] {
        let _ = std::fs::remove_dir_all(root.join("infrastructure"));
        match layout {
            "empty" => std::fs::create_dir_all(root.join("infrastructure")).unwrap(),
            "nested" => {
                std::fs::create_dir_all(root.join("infrastructure/modules")).unwrap();
                std::fs::write(root.join("infrastructure/modules/main.tf"), &text).unwrap();
            }
            _ => {}
        }
        for (title, kind) in terraform {
            let _ = std::fs::remove_file(&out);
            let failed = run(title);
            assert_eq!(
                failed.status.code(),
                Some(5),
                "{layout} {title}: {}",
                describe(&failed)
            );
            let stderr = String::from_utf8_lossy(&failed.stderr);
            assert!(
                stderr.contains(&format!(
                    "infrastructure/ holds no Terraform configuration (*.tf), and the {kind} pipeline runs Terraform first"
                )) && stderr.contains("TERRAFORM_DIR"),
                "{layout} {title}: {stderr}"
            );
            assert!(!out.exists(), "{layout} {title}: a pipeline was written");
        }
        for title in others {
            let ran = run(title);
            assert!(ran.status.success(), "{layout} {title}: {}", describe(&ran));
        }
    }
    // Another folder, named in TERRAFORM_DIR.
    std::fs::create_dir_all(root.join("cloud")).unwrap();
    std::fs::write(root.join("cloud/main.tf"), &text).unwrap();
    let grove_yml = root.join("grove.yml");
    let settings = std::fs::read_to_string(&grove_yml).unwrap();
    std::fs::write(&grove_yml, format!("{settings}TERRAFORM_DIR: cloud\n")).unwrap();
    for (title, _) in terraform {
        let ran = run(title);
        assert!(ran.status.success(), "{title}: {}", describe(&ran));
    }
}

/// A pipeline that acts on instances keeps their state in ENV_STORE; a folder inside the job's
/// checkout is gone when the job ends, so such a store is refused before anything is written,
/// by `grove plan` and `grove pipeline` alike. Terraform alone, or nothing, needs no store.
#[test]
fn a_store_that_dies_with_the_job_is_refused_for_pipelines_that_deploy() {
    let root = scratch("store-durability");
    copy_tree(&example_cluster(), &root);
    let out = root.join("out.yml");
    let check = |title: &str| -> (Option<i32>, String) {
        let plan = grove(&root, &["plan", title]);
        let pipeline = grove(&root, &["pipeline", title, out.to_str().unwrap()]);
        assert_eq!(
            plan.status.code(),
            pipeline.status.code(),
            "{}",
            describe(&pipeline)
        );
        let written = out.exists();
        let _ = std::fs::remove_file(&out);
        assert_eq!(written, pipeline.status.success());
        (
            pipeline.status.code(),
            String::from_utf8_lossy(&pipeline.stderr).into_owned(),
        )
    };
    let deploying = [
        "[AutoDeploy][Update] campus|1",
        "[AutoDeploy][Archive] labs",
        "[AutoDeploy][Batch][UpgradeTo] 4f2c9e1d",
    ];
    for (setting, refused) in [
        (None, true),
        (Some("env-store"), true),
        (Some("./.grove/env-store"), true),
        (Some("/srv/grove/state"), false),
        (Some("file:///srv/grove/state"), false),
        (Some("s3://state/cluster"), false),
    ] {
        let path = root.join("grove.yml");
        let text = std::fs::read_to_string(&path).unwrap();
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with("ENV_STORE:"))
            .collect();
        let mut text = kept.join("\n") + "\n";
        if let Some(value) = setting {
            text.push_str(&format!("ENV_STORE: {value}\n"));
        }
        std::fs::write(&path, text).unwrap();
        for title in deploying {
            let (code, stderr) = check(title);
            if refused {
                assert_eq!(code, Some(5), "{setting:?} {title}: {stderr}");
                assert!(
                    stderr.contains("ENV_STORE")
                        && stderr.contains("s3://bucket/prefix")
                        && stderr.contains("gone when the job ends"),
                    "{stderr}"
                );
            } else {
                assert_eq!(code, Some(0), "{setting:?} {title}: {stderr}");
            }
        }
        for title in ["[AutoDeploy][Infrastructure] bump", "Fix a typo"] {
            assert_eq!(check(title).0, Some(0), "{setting:?} {title}");
        }
    }
}

/// A template override whose partials include each other, or a patch point with an indent
/// beyond the limit, is exit 5 at once, naming the file and line (it used to overflow the stack
/// or try to allocate gigabytes).
#[test]
fn partials_that_include_themselves_and_huge_indents_are_exit_5() {
    let cases = [
        (
            "{{#*inline \"x\"}}\n{{> x}}\n{{/inline}}\n{{> x}}\n",
            "error: templates/pipelines/pipeline.yml.hbs:2: the partial \"x\" includes itself, \
             which never ends",
        ),
        (
            "{{> a}}\n{{#*inline \"a\"}}{{> b}}{{/inline}}\n{{#*inline \"b\"}}{{> a}}{{/inline}}\n",
            "error: templates/pipelines/pipeline.yml.hbs:3: the partials include each other, \
             which never ends: b → a → b",
        ),
        (
            "stages: [x]\n{{patch \"pipeline-tail\" indent=18446744073709551615}}\n",
            "error: templates/pipelines/pipeline.yml.hbs:2: the indent= of a patch must be a \
             number from 0 to 64",
        ),
        (
            "stages: [x]\n{{patch \"pipeline-tail\" indent=4000000000}}\n",
            "error: templates/pipelines/pipeline.yml.hbs:2: the indent= of a patch must be a \
             number from 0 to 64",
        ),
    ];
    for (template, first_line) in cases {
        let root = scratch("template-cycle");
        copy_tree(&example_cluster(), &root);
        std::fs::create_dir_all(root.join("templates/pipelines")).unwrap();
        std::fs::write(root.join("templates/pipelines/pipeline.yml.hbs"), template).unwrap();
        let (run, out) = pipeline_in(&root, "[AutoDeploy][Update] campus");
        assert_eq!(run.status.code(), Some(5), "{template}: {}", describe(&run));
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(stderr.lines().next(), Some(first_line), "{stderr}");
        assert!(!out.exists());
    }
}
