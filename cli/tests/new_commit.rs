//! `grove new NAME --commit`: the files `grove new NAME` would make, committed to the cluster
//! project through GitLab's commits API in one request, titled to create the instance, with no
//! folder made in the checkout. Run against the fake GitLab of `common/gitlab.rs` on loopback,
//! which records every request (so the tests assert the exact request) and answers as GitLab
//! does: one commit, all of its actions or none, 400 for a file already on the branch, 401 for
//! another token, 403 when told to refuse writes. `grove` and its HTTP client are the real ones.

mod common;

use base64::Engine;
use common::gitlab::{in_job, request, FakeGitLab, File, COMMITS, COMMIT_ID};
use common::*;
use grove_core::name::InstanceName;
use grove_core::request::Target;
use grove_core::value::DeploymentId;
use grove_core::Request;
use serde_json::json;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Text in a file of `defaults/` that no output may show.
const CANARY: &str = "canary-7f3e-file-text";
/// A file of `defaults/` that is not UTF-8.
const LOGO: &[u8] = &[
    0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe, 0x80,
];
const HOOK: &str = "#!/bin/sh\necho hook\n";

/// A copy of the example cluster whose `defaults/` also holds a binary file, an executable
/// script in a folder, a file of text, a `.venv` (never copied) and an empty folder.
fn cluster(name: &str) -> PathBuf {
    let root = scratch(name);
    copy_tree(&example_cluster(), &root);
    let defaults = root.join("defaults");
    std::fs::create_dir_all(defaults.join("files")).unwrap();
    std::fs::write(defaults.join("files/logo.bin"), LOGO).unwrap();
    std::fs::create_dir_all(defaults.join("bin")).unwrap();
    std::fs::write(defaults.join("bin/hook.sh"), HOOK).unwrap();
    std::fs::set_permissions(
        defaults.join("bin/hook.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(defaults.join("notes.txt"), format!("{CANARY}\n")).unwrap();
    std::fs::create_dir_all(defaults.join(".venv/bin")).unwrap();
    std::fs::write(defaults.join(".venv/bin/python"), "not copied").unwrap();
    std::fs::create_dir_all(defaults.join("empty")).unwrap();
    root
}

/// `grove --root ROOT new ARGS` as a CI job of project 42 on `api` runs it, on its default
/// branch `main`, with `env` over the job's variables (an empty value removes one).
fn new_commit(root: &Path, api: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_grove"));
    command.arg("--root").arg(root).arg("new").args(args);
    in_job(
        command,
        api,
        &[&[("CI_DEFAULT_BRANCH", "main")][..], env].concat(),
    )
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The entries of `instances/`, hidden ones included.
fn instances(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("instances"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every file under `dir`, by path relative to it, as the fake keeps files.
fn files_under(dir: &Path) -> BTreeMap<String, File> {
    let mut files = BTreeMap::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((at, prefix)) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let entry = entry.unwrap();
            let path = format!("{prefix}{}", entry.file_name().to_str().unwrap());
            let metadata = entry.metadata().unwrap();
            if metadata.is_dir() {
                stack.push((entry.path(), format!("{path}/")));
            } else {
                let file = File {
                    bytes: std::fs::read(entry.path()).unwrap(),
                    executable: metadata.permissions().mode() & 0o111 != 0,
                };
                files.insert(path, file);
            }
        }
    }
    files
}

/// Asserts that `run` failed with exit `code`, saying `says`, and printed nothing else of note.
fn assert_fails(run: &Output, code: i32, says: &str) {
    assert_eq!(run.status.code(), Some(code), "{}", describe(run));
    assert!(
        String::from_utf8_lossy(&run.stderr).contains(says),
        "not said: {says}\n{}",
        describe(run)
    );
    assert!(run.stdout.is_empty(), "{}", describe(run));
    assert_nothing_secret(run);
}

/// Asserts that a run said nothing of the token or of a file's contents.
fn assert_nothing_secret(run: &Output) {
    for stream in [&run.stdout, &run.stderr] {
        let text = String::from_utf8_lossy(stream);
        assert!(!text.contains("glpat-"), "the token is shown: {text}");
        assert!(!text.contains(CANARY), "a file is shown: {text}");
        assert!(
            !text.contains(&b64(format!("{CANARY}\n").as_bytes())),
            "a file is shown: {text}"
        );
    }
}

#[test]
fn one_request_commits_every_file_of_defaults_and_nothing_is_made_here() {
    let gitlab = FakeGitLab::start();
    let root = cluster("commit");
    let before = instances(&root);
    let run = new_commit(
        &root,
        &gitlab.api,
        &["campus2", "--commit", "--deployment-id", "77"],
        &[],
    );
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        format!("{COMMIT_ID}\n")
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("committed instances/campus2/ (6 files from defaults/) to main as 6104942438c1: [AutoDeploy][Create] campus2|77; the push pipeline creates it"),
        "{stderr}"
    );
    assert_nothing_secret(&run);

    let defaults = root.join("defaults");
    let read = |file: &str| std::fs::read(defaults.join(file)).unwrap();
    let create = |file: &str, bytes: &[u8]| {
        json!({
            "action": "create",
            "file_path": format!("instances/campus2/{file}"),
            "content": b64(bytes),
            "encoding": "base64",
        })
    };
    let expected = json!({
        "branch": "main",
        "commit_message": "[AutoDeploy][Create] campus2|77",
        "actions": [
            create("bin/hook.sh", HOOK.as_bytes()),
            {
                "action": "chmod",
                "file_path": "instances/campus2/bin/hook.sh",
                "execute_filemode": true,
            },
            create("config.yml", &read("config.yml")),
            create("files/logo.bin", LOGO),
            create("grove-requirements.txt", &read("grove-requirements.txt")),
            create("grove.yml", &read("grove.yml")),
            create("notes.txt", format!("{CANARY}\n").as_bytes()),
        ],
    });
    assert_eq!(gitlab.requests(), [request("POST", COMMITS, expected)]);

    // Nothing here: no instance folder, no staging folder.
    assert_eq!(instances(&root), before);
    assert!(!root.join("instances/campus2").exists());

    // On the branch, exactly what `grove new campus2` makes here, execute bit included.
    let by_hand = cluster("commit-by-hand");
    let run = grove(&by_hand, &["new", "campus2"]);
    assert!(run.status.success(), "{}", describe(&run));
    let made = files_under(&by_hand.join("instances/campus2"));
    let committed: BTreeMap<String, File> = gitlab
        .files("main")
        .into_iter()
        .map(|(path, file)| {
            let path = path.strip_prefix("instances/campus2/").unwrap().to_string();
            (path, file)
        })
        .collect();
    assert_eq!(committed, made);
    assert!(committed["bin/hook.sh"].executable);
    assert!(!committed["config.yml"].executable);
}

#[test]
fn the_title_parses_back_as_the_create_of_that_instance_and_id() {
    for (args, id) in [
        (
            &["campus2", "--commit", "--deployment-id", "req-2024.11_7"][..],
            Some("req-2024.11_7"),
        ),
        (&["campus2", "--commit"][..], None),
    ] {
        let gitlab = FakeGitLab::start();
        let root = cluster("commit-title");
        let run = new_commit(&root, &gitlab.api, args, &[]);
        assert!(run.status.success(), "{}", describe(&run));
        let requests = gitlab.requests();
        assert_eq!(requests.len(), 1);
        let title = requests[0].body["commit_message"].as_str().unwrap();
        let (parsed, warnings) = grove_core::title::request(title).unwrap();
        assert!(warnings.is_empty(), "{title}: {warnings:?}");
        assert_eq!(
            parsed,
            Request::Create(vec![Target {
                name: InstanceName::parse("campus2").unwrap(),
                deployment_id: id.map(|id| DeploymentId::parse(id).unwrap()),
            }]),
            "{title}"
        );
    }
}

#[test]
fn the_branch_is_the_one_given_else_ci_default_branch() {
    let gitlab = FakeGitLab::start();
    let root = cluster("commit-branch");
    let run = new_commit(
        &root,
        &gitlab.api,
        &["campus2", "--commit", "--branch", "release"],
        &[("CI_DEFAULT_BRANCH", "")],
    );
    assert!(run.status.success(), "{}", describe(&run));
    let requests = gitlab.requests();
    assert_eq!(requests[0].body["branch"], "release");
    assert!(gitlab
        .files("release")
        .contains_key("instances/campus2/config.yml"));
    assert!(gitlab.files("main").is_empty());

    // A branch GitLab does not have: exit 1 with what GitLab said.
    let run = new_commit(
        &root,
        &gitlab.api,
        &["campus3", "--commit", "--branch", "nosuch"],
        &[],
    );
    assert_fails(
        &run,
        1,
        "cannot commit instances/campus3/ to nosuch: GitLab answered 400: You can only create or edit files when you are on a branch",
    );
}

#[test]
fn a_refused_token_is_exit_1_saying_what_it_lacks_and_leaves_nothing() {
    for (status, says) in [
        (401, "GitLab did not accept the token in GROVE_GITLAB_TOKEN (401 Unauthorized: 401 Unauthorized); it may be expired or revoked"),
        (403, "GitLab refused the token in GROVE_GITLAB_TOKEN (403 Forbidden: 403 Forbidden): it needs the `api` scope and a role allowed to push to main (Developer or Maintainer; a protected branch allows only the roles its settings name)"),
    ] {
        let gitlab = FakeGitLab::start();
        let root = cluster("commit-refused");
        let before = instances(&root);
        let mut env = vec![];
        match status {
            401 => env.push(("GROVE_GITLAB_TOKEN", "glpat-revoked")),
            _ => gitlab.state.lock().unwrap().refuse_writes = Some(status),
        }
        let run = new_commit(&root, &gitlab.api, &["campus2", "--commit"], &env);
        assert_fails(
            &run,
            1,
            &format!("cannot commit instances/campus2/ to main: {says}"),
        );
        assert_eq!(gitlab.requests().len(), 1, "{status}");
        assert!(gitlab.files("main").is_empty());
        assert_eq!(instances(&root), before, "{status}");
    }
}

#[test]
fn an_instance_already_on_the_branch_is_exit_4() {
    let gitlab = FakeGitLab::start();
    gitlab
        .state
        .lock()
        .unwrap()
        .branches
        .get_mut("main")
        .unwrap()
        .insert(
            "instances/campus2/config.yml".into(),
            File {
                bytes: b"ours: true\n".to_vec(),
                executable: false,
            },
        );
    let root = cluster("commit-exists-remote");
    let before = instances(&root);
    let run = new_commit(&root, &gitlab.api, &["campus2", "--commit"], &[]);
    assert_fails(
        &run,
        4,
        "cannot commit instances/campus2/ to main: it is already there (GitLab answered 400: A file with this name already exists); pull it into this checkout, or choose another name",
    );
    assert_eq!(gitlab.requests().len(), 1);
    // The branch is as it was, and nothing is made here.
    let files = gitlab.files("main");
    assert_eq!(files.len(), 1);
    assert_eq!(files["instances/campus2/config.yml"].bytes, b"ours: true\n");
    assert_eq!(instances(&root), before);
}

#[test]
fn an_instance_already_in_the_checkout_is_exit_4_and_nothing_is_sent() {
    let gitlab = FakeGitLab::start();
    let root = cluster("commit-exists-here");
    let run = new_commit(&root, &gitlab.api, &["campus", "--commit"], &[]);
    assert_fails(&run, 4, "instance \"campus\" already exists");
    assert_eq!(gitlab.requests(), []);
}

#[test]
fn a_missing_variable_is_exit_2_naming_it_and_nothing_is_sent() {
    let gitlab = FakeGitLab::start();
    let root = cluster("commit-unset");
    let before = instances(&root);
    for (unset, named) in [
        ("CI_API_V4_URL", "CI_API_V4_URL"),
        ("CI_PROJECT_ID", "CI_PROJECT_ID"),
        (
            "CI_DEFAULT_BRANCH",
            "a branch (--branch, or CI_DEFAULT_BRANCH)",
        ),
        ("GROVE_GITLAB_TOKEN", "GROVE_GITLAB_TOKEN"),
    ] {
        let run = new_commit(&root, &gitlab.api, &["campus2", "--commit"], &[(unset, "")]);
        assert_fails(
            &run,
            2,
            &format!("grove new --commit needs {named}, not set"),
        );
    }
    // Two at once are named together.
    let run = new_commit(
        &root,
        &gitlab.api,
        &["campus2", "--commit"],
        &[("CI_PROJECT_ID", ""), ("GROVE_GITLAB_TOKEN", "")],
    );
    assert_fails(
        &run,
        2,
        "grove new --commit needs CI_PROJECT_ID, GROVE_GITLAB_TOKEN, not set",
    );
    assert_eq!(gitlab.requests(), []);
    assert_eq!(instances(&root), before);
}

#[test]
fn a_bad_name_or_deployment_id_is_exit_5_and_nothing_is_sent() {
    let gitlab = FakeGitLab::start();
    let root = cluster("commit-bad");
    let before = instances(&root);
    for name in ["..", "a/b", "Campus", "-rf", "a b", ""] {
        let run = new_commit(&root, &gitlab.api, &["--commit", "--", name], &[]);
        assert_fails(&run, 5, "invalid instance name");
    }
    let long = "7".repeat(65);
    for id in [
        "-rf",
        "4 2",
        "a/b",
        "a|b",
        "x..y",
        "$CI_JOB_TOKEN",
        "",
        long.as_str(),
    ] {
        let run = new_commit(
            &root,
            &gitlab.api,
            &["campus2", "--commit", "--deployment-id", id],
            &[],
        );
        assert_fails(&run, 5, "invalid --deployment-id");
    }
    assert_eq!(gitlab.requests(), []);
    assert_eq!(instances(&root), before);
}

#[test]
fn deployment_id_and_branch_go_with_commit_only() {
    let root = cluster("commit-usage");
    for args in [
        &["campus2", "--deployment-id", "7"][..],
        &["campus2", "--branch", "main"][..],
    ] {
        let run = grove(
            &root,
            &std::iter::once("new")
                .chain(args.iter().copied())
                .collect::<Vec<_>>(),
        );
        assert_fails(&run, 2, "--commit");
    }
    assert!(!root.join("instances/campus2").exists());
}

#[test]
fn a_link_out_of_the_repository_in_defaults_is_exit_5_and_nothing_is_sent() {
    let gitlab = FakeGitLab::start();
    let root = cluster("commit-link");
    let outside = scratch("commit-link-outside");
    std::fs::write(outside.join("secret"), format!("{CANARY}\n")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret"), root.join("defaults/secret")).unwrap();
    let before = instances(&root);
    let run = new_commit(&root, &gitlab.api, &["campus2", "--commit"], &[]);
    assert_fails(
        &run,
        5,
        "defaults/secret is a symbolic link that leads outside the cluster repository",
    );
    assert_eq!(gitlab.requests(), []);
    assert_eq!(instances(&root), before);
}
