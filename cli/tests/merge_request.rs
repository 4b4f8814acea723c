//! The plan in the merge request: `grove plan --format markdown` against reviewed goldens, and
//! `grove plan --merge-request-note` against a small GitLab on loopback that answers the notes
//! API as GitLab does (pages of notes, `X-Next-Page`) and records every request, so the test
//! asserts the exact requests: one note created, then that same note updated; another user's
//! note with the marker, a system note and a second plan job's note left alone; a 403 is exit 1
//! with a message that says what the token lacks. The fake server (`common/gitlab.rs`) stands in
//! for GitLab's API, which cannot run here; `grove` and its HTTP client are the real ones.

mod common;

use common::gitlab::{in_job, listing, request, FakeGitLab, NOTES};
use common::*;
use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

// ---------------------------------------------------------------------------------------------
// The Markdown goldens.

/// The titles whose Markdown plan is reviewed: Terraform and a new instance with deployment ids;
/// base images, versions and instances left out with their reasons; nothing to deploy.
const MARKDOWN_GOLDENS: [&str; 3] = ["03-create", "08-batch-upgrade-to", "01-no-autodeploy"];

fn title(name: &str) -> String {
    std::fs::read_to_string(project().join(format!("tests/titles/{name}.title")))
        .unwrap()
        .trim_end()
        .to_string()
}

#[test]
fn the_markdown_plan_of_three_titles_is_the_reviewed_one() {
    for name in MARKDOWN_GOLDENS {
        let run = grove(
            &example_cluster(),
            &["plan", "--format", "markdown", &title(name)],
        );
        assert!(run.status.success(), "{name}: {}", describe(&run));
        let markdown = String::from_utf8(run.stdout).unwrap();
        assert_kept_whole(name, &markdown);
        golden_settings("titles")
            .bind(|| insta::assert_snapshot!(format!("{name}.plan.md"), markdown));
    }
}

#[test]
fn the_markdown_plan_of_a_sharded_pipeline_lists_its_shards() {
    let root = scratch("markdown-sharded");
    copy_tree(&example_cluster(), &root);
    let settings = root.join("grove.yml");
    let text = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(
        &settings,
        format!("{text}\nLIMITS:\n  jobs_per_pipeline: 6\n"),
    )
    .unwrap();
    let name = "07-batch-upgrade";
    let run = grove(&root, &["plan", "--format", "markdown", &title(name)]);
    assert!(run.status.success(), "{}", describe(&run));
    let markdown = String::from_utf8(run.stdout).unwrap();
    assert!(markdown.contains("| Shard | File | Instances | Jobs | Bytes |"));
    assert_kept_whole(name, &markdown);
    golden_settings("titles")
        .bind(|| insta::assert_snapshot!(format!("{name}.sharded.plan.md"), markdown));
}

#[test]
fn values_in_the_markdown_plan_cannot_format_link_or_mention() {
    // An instance folder whose name is not an instance name is left out of a batch, with its
    // name in the reason: it is written in a code span, and the reason escaped.
    let root = scratch("markdown-hostile");
    copy_tree(&example_cluster(), &root);
    let folder = root.join("instances/@all_*x*|[l](u)");
    copy_tree(&root.join("instances/campus"), &folder);
    let run = grove(
        &root,
        &[
            "plan",
            "--format",
            "markdown",
            &title("08-batch-upgrade-to"),
        ],
    );
    assert!(run.status.success(), "{}", describe(&run));
    let markdown = String::from_utf8(run.stdout).unwrap();
    let row = markdown
        .lines()
        .find(|l| l.starts_with("| `@all"))
        .unwrap_or_else(|| panic!("no row for the folder:\n{markdown}"));
    assert!(row.starts_with("| `@all_*x*\\|[l](u)` | "), "{row}");
    let reason = row.rsplit(" | ").next().unwrap();
    assert!(!reason.contains("*x*") && !reason.contains(" @"), "{row}");
}

/// `grove plan --merge-request-note` in a merge request pipeline of project 42, !5, run in `cwd`.
fn plan_with_note(cwd: &Path, api: &str, title: &str, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_grove"));
    command
        .args(["--root"])
        .arg(example_cluster())
        .args([
            "plan",
            "--json-file",
            "grove-plan.json",
            "--merge-request-note",
            title,
        ])
        .current_dir(cwd);
    let job = [
        ("CI_MERGE_REQUEST_IID", "5"),
        ("CI_JOB_NAME", "grove-plan"),
        ("CI_PIPELINE_ID", "1001"),
        (
            "CI_PIPELINE_URL",
            "https://gitlab.example.org/ops/cluster/-/pipelines/1001",
        ),
    ];
    in_job(command, api, &[&job[..], env].concat())
}

/// The note Grove writes for `title`, from the reviewed Markdown of the example cluster.
fn expected_note(job: &str, title: &str, plan: &str) -> String {
    format!(
        "<!-- grove-plan: {job} -->\n#### Grove plan for `{title}`\n\n{plan}\n<sub>From pipeline [#1001](https://gitlab.example.org/ops/cluster/-/pipelines/1001). Grove updates this note on every pipeline of the merge request.</sub>\n"
    )
}

fn markdown_of(title: &str) -> String {
    let run = grove(&example_cluster(), &["plan", "--format", "markdown", title]);
    assert!(run.status.success(), "{}", describe(&run));
    String::from_utf8(run.stdout).unwrap()
}

#[test]
fn a_merge_request_gets_one_note_created_then_that_note_updated() {
    let gitlab = FakeGitLab::start();
    let cwd = scratch("note-upsert");
    let first = "[AutoDeploy][Update] campus|42";

    let run = plan_with_note(&cwd, &gitlab.api, first, &[]);
    assert!(run.status.success(), "{}", describe(&run));
    // The plan is in the log, as text, and kept as JSON for the job's artifact.
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.starts_with("Update: deploy 1 instance"), "{stdout}");
    let saved: Value =
        serde_json::from_slice(&std::fs::read(cwd.join("grove-plan.json")).unwrap()).unwrap();
    assert_eq!(saved["kind"], "update");
    assert_eq!(saved["instances"][0]["name"], "campus");
    assert!(
        String::from_utf8_lossy(&run.stderr)
            .contains("posted the plan on merge request !5 (note 200)"),
        "{}",
        describe(&run)
    );
    let created = expected_note("grove-plan", first, &markdown_of(first));
    assert_eq!(
        gitlab.requests(),
        [
            request("GET", "/api/v4/user", Value::Null),
            listing(1),
            listing(2),
            request("POST", NOTES, json!({"body": created})),
        ]
    );

    // The next pipeline of the merge request (its title changed): the same note, updated.
    let second = "[AutoDeploy][Create] campus|101,newcampus|102";
    let run = plan_with_note(&cwd, &gitlab.api, second, &[]);
    assert!(run.status.success(), "{}", describe(&run));
    assert!(
        String::from_utf8_lossy(&run.stderr)
            .contains("updated the plan on merge request !5 (note 200)"),
        "{}",
        describe(&run)
    );
    let updated = expected_note("grove-plan", second, &markdown_of(second));
    assert_eq!(
        gitlab.requests(),
        [
            request("GET", "/api/v4/user", Value::Null),
            listing(1),
            listing(2),
            request("PUT", &format!("{NOTES}/200"), json!({"body": updated})),
        ]
    );
    // One note from Grove, holding the latest plan; the others untouched.
    let notes = gitlab.notes();
    let bodies: Vec<(u64, &str)> = notes.iter().map(|n| (n.id, n.body.as_str())).collect();
    assert_eq!(
        bodies,
        [
            (100, "Looks good to me"),
            (101, "added 1 commit <!-- grove-plan: grove-plan -->"),
            (102, "Quoting Grove: <!-- grove-plan: grove-plan -->"),
            (200, updated.as_str()),
        ]
    );
}

#[test]
fn two_plan_jobs_of_one_project_keep_a_note_each() {
    // Two clusters, two job prefixes: each job's marker names it.
    let gitlab = FakeGitLab::start();
    let cwd = scratch("note-two-jobs");
    let title = "[AutoDeploy][Update] campus|42";
    for job in ["grove-plan", "staging-plan", "staging-plan"] {
        let run = plan_with_note(&cwd, &gitlab.api, title, &[("CI_JOB_NAME", job)]);
        assert!(run.status.success(), "{}", describe(&run));
    }
    let requests = gitlab.requests();
    let writes: Vec<(&str, &str)> = requests
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| (r.method.as_str(), r.target.as_str()))
        .collect();
    let second = format!("{NOTES}/201");
    assert_eq!(
        writes,
        [("POST", NOTES), ("POST", NOTES), ("PUT", second.as_str())]
    );
    let markers: Vec<String> = gitlab
        .notes()
        .iter()
        .filter(|n| n.id >= 200)
        .map(|n| n.body.lines().next().unwrap().to_string())
        .collect();
    assert_eq!(
        markers,
        [
            "<!-- grove-plan: grove-plan -->",
            "<!-- grove-plan: staging-plan -->"
        ]
    );
}

#[test]
fn a_403_is_exit_1_with_what_the_token_lacks() {
    let gitlab = FakeGitLab::start();
    gitlab.state.lock().unwrap().refuse_writes = Some(403);
    let cwd = scratch("note-403");
    let run = plan_with_note(&cwd, &gitlab.api, "[AutoDeploy][Update] campus|42", &[]);
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("cannot post the plan on merge request !5: GitLab refused the token in GROVE_GITLAB_TOKEN (403 Forbidden: 403 Forbidden): it needs the `api` scope and at least the Reporter role in this project"),
        "{stderr}"
    );
    assert!(!stderr.contains("glpat-secret"), "{stderr}");
    // The plan is still in the log, and nothing was written on GitLab.
    assert!(String::from_utf8_lossy(&run.stdout).starts_with("Update: deploy 1 instance"));
    assert_eq!(gitlab.notes().len(), 3);
    let methods: Vec<String> = gitlab.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["GET", "GET", "GET", "POST"]);
}

#[test]
fn a_token_gitlab_does_not_accept_is_exit_1() {
    let gitlab = FakeGitLab::start();
    let cwd = scratch("note-401");
    let run = plan_with_note(
        &cwd,
        &gitlab.api,
        "[AutoDeploy][Update] campus|42",
        &[("GROVE_GITLAB_TOKEN", "glpat-revoked")],
    );
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("GitLab did not accept the token in GROVE_GITLAB_TOKEN (401 Unauthorized"),
        "{stderr}"
    );
    assert!(!stderr.contains("glpat-revoked"), "{stderr}");
}

#[test]
fn without_a_token_or_a_merge_request_nothing_is_sent() {
    let gitlab = FakeGitLab::start();
    let cwd = scratch("note-none");
    for (unset, says) in [
        (
            "GROVE_GITLAB_TOKEN",
            "no token in GROVE_GITLAB_TOKEN: the plan is in this log only",
        ),
        ("CI_MERGE_REQUEST_IID", "not a merge request pipeline"),
    ] {
        let run = plan_with_note(
            &cwd,
            &gitlab.api,
            "[AutoDeploy][Update] campus|42",
            &[(unset, "")],
        );
        assert!(run.status.success(), "{}", describe(&run));
        assert!(
            String::from_utf8_lossy(&run.stderr).contains(says),
            "{}",
            describe(&run)
        );
        assert!(String::from_utf8_lossy(&run.stdout).starts_with("Update: deploy 1 instance"));
        assert!(cwd.join("grove-plan.json").is_file());
    }
    assert_eq!(gitlab.requests(), []);
}

#[test]
fn a_gitlab_that_does_not_answer_is_exit_1() {
    // A port nothing listens on (bound, then released).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cwd = scratch("note-down");
    let run = plan_with_note(
        &cwd,
        &format!("http://127.0.0.1:{port}/api/v4"),
        "[AutoDeploy][Update] campus|42",
        &[],
    );
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("did not answer"),
        "{}",
        describe(&run)
    );
}
