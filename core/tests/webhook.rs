//! Deciding webhooks in core: the same request as a title for a cluster push, trust, forks,
//! settings errors, and payload values kept out of scripts.

use grove_core::generate::InMemory;
use grove_core::request::Kind;
use grove_core::value::{Repository, RepositoryKind, Version};
use grove_core::webhook::{decide, parse, Event};
use grove_core::{Cause, Files, Fleet, Generated, Input, Options, Request};

mod common;

use std::path::Path;

/// The example cluster with the webhook fixtures' instances laid over it, and `grove.yml`
/// replaced when `settings` is given (with a store that outlives CI jobs).
fn files(settings: Option<&str>) -> Files {
    let mut files = common::project_files(&["examples/cluster", "tests/webhooks/cluster"]);
    if let Some(text) = settings {
        files.insert(
            "grove.yml".into(),
            format!("ENV_STORE: s3://grove-state/fleet\n{text}"),
        );
    }
    files
}

/// The cluster of [`files`], prepared once.
fn cluster(settings: Option<&str>) -> InMemory {
    InMemory::new(files(settings), Options::default())
}

/// What core makes of `input` against `cluster`.
fn generate(cluster: &InMemory, input: Input<'_>) -> grove_core::Result<Generated> {
    grove_core::generate(cluster, input, &Options::default())
}

/// The request a payload makes against `cluster`'s settings.
fn request(cluster: &InMemory, payload: &str) -> grove_core::Result<Request> {
    let settings = &cluster.prepared().unwrap().fleet.settings;
    grove_core::webhook::request(payload, &settings.webhooks)
}

fn payload(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../tests/webhooks/{name}.json"));
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn a_cluster_push_is_its_head_commit_title() {
    let cluster = cluster(None);
    let push = payload("gitlab-push-cluster");
    let title = "[AutoDeploy][Update] campus|42";
    assert_eq!(request(&cluster, &push).unwrap(), common::request(title));
    let by_hook = generate(&cluster, Input::Webhook(&push)).unwrap();
    let by_title = generate(&cluster, Input::Title(title)).unwrap();
    assert_eq!(by_hook.main.yaml, by_title.main.yaml);
    assert_eq!(by_hook.plan, by_title.plan);
}

#[test]
fn a_push_to_a_trusted_repository_is_a_batch_of_what_is_built_from_it() {
    let cluster = cluster(None);
    let push = payload("gitlab-push-theme");
    assert_eq!(
        request(&cluster, &push).unwrap(),
        Request::Pushed(grove_core::request::PushedRef {
            kind: RepositoryKind::Theme,
            repository: Repository::parse("https://gitlab.example.org/opencraft/courses-theme.git")
                .unwrap(),
            branch: Version::parse("main").unwrap(),
        })
    );
    let plan = generate(&cluster, Input::Webhook(&push)).unwrap().plan;
    assert_eq!(plan.kind, Kind::BatchUpgrade);
    let names: Vec<&str> = plan.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["mirror"]);
    assert!(plan.base_images.is_empty());
    assert_eq!(plan.skipped[0].name, "museum");
}

#[test]
fn nothing_is_trusted_without_webhooks_settings() {
    let cluster = cluster(Some(""));
    for name in [
        "gitlab-push-cluster",
        "gitlab-push-edx-platform",
        "github-push-edx-platform",
        "github-pr-opened",
        "gitlab-mr-open",
    ] {
        let request = request(&cluster, &payload(name)).unwrap();
        assert!(
            matches!(request, Request::Ignored { .. }),
            "{name}: {request:?}"
        );
        let generated = generate(&cluster, Input::Webhook(&payload(name))).unwrap();
        assert!(generated.plan.is_noop());
        assert_eq!(generated.main.pipeline.jobs.len(), 1);
        assert!(
            generated.main.yaml.contains("not listed in WEBHOOKS"),
            "{name}"
        );
    }
}

const SETTINGS: &str = "WEBHOOKS:
  trusted_repositories:
    - url: git@github.com:open-craft/edx-platform
      kind: edx-platform
  preview:
    template_instance: staging
    url_pattern: https://{name}.preview.example.org
    allow_forks: true
";

#[test]
fn forks_deploy_only_when_allowed_and_url_spellings_match() {
    let cluster = cluster(Some(SETTINGS));
    let fork = payload("github-pr-fork");
    let decided = request(&cluster, &fork).unwrap();
    let Request::PreviewUp(preview) = decided else {
        panic!("{decided:?}");
    };
    assert_eq!(preview.name.as_str(), "pr-1235-better-grading");
    assert_eq!(
        preview.repository.as_ref().map(Repository::as_str),
        Some("https://github.com/ada/edx-platform.git")
    );
    assert_eq!(preview.auto_stop_in, None);
    let yaml = generate(&cluster, Input::Webhook(&fork)).unwrap().main.yaml;
    assert!(!yaml.contains("auto_stop_in"), "{yaml}");
    // A fork is cloned only from an https:// URL on the host of the trusted repository.
    for (url, message) in [
        (
            "http://github.com/ada/edx-platform.git",
            "only from https:// URLs",
        ),
        ("file:///etc", "only from https:// URLs"),
        ("ext::sh", "only from https:// URLs"),
        (
            "https://evil.example.org/ada/edx-platform.git",
            "not a trusted repository",
        ),
    ] {
        let mut body: serde_json::Value = serde_json::from_str(&fork).unwrap();
        body["pull_request"]["head"]["repo"]["clone_url"] = serde_json::json!(url);
        let e = request(&cluster, &body.to_string()).unwrap_err();
        assert_eq!(e.exit_code(), 5, "{url}");
        assert_eq!(e.cause, Cause::Payload, "{url}");
        assert!(
            e.message.contains("the source repository") && e.message.contains(message),
            "{url}: {}",
            e.message
        );
    }
}

#[test]
fn bad_settings_are_refused_when_read_at_their_key() {
    for (settings, key, message) in [
        (
            SETTINGS.replace(
                "https://{name}.preview.example.org",
                "https://preview.example.org/{name}",
            ),
            "WEBHOOKS.preview.url_pattern",
            "must hold {name} in its host",
        ),
        (
            SETTINGS.replace("template_instance: staging", "template_instance: Staging"),
            "WEBHOOKS.preview.template_instance",
            "uppercase letter",
        ),
        (
            SETTINGS.replace(
                "allow_forks: true",
                "allow_forks: true\n    auto_stop_in: soon",
            ),
            "WEBHOOKS.preview.auto_stop_in",
            "auto_stop_in \"soon\" is not a duration",
        ),
        (
            SETTINGS.replace(
                "kind: edx-platform",
                "kind: edx-platform\n      preview_prefix: PR",
            ),
            "WEBHOOKS.trusted_repositories.preview_prefix",
            "preview_prefix \"PR\"",
        ),
        (
            SETTINGS.replace(
                "url: git@github.com:open-craft/edx-platform",
                "url: -oProxyCommand=evil",
            ),
            "WEBHOOKS.trusted_repositories.url",
            "must not start with '-'",
        ),
        (
            SETTINGS.replace(
                "kind: edx-platform\n",
                "kind: edx-platform\n    - url: https://github.com/openedx/edx-platform.git\n      kind: edx-platform\n",
            ),
            "WEBHOOKS.trusted_repositories.preview_prefix",
            "https://github.com/openedx/edx-platform.git has no preview_prefix (so \"pr\"), as git@github.com:open-craft/edx-platform above does",
        ),
        (
            "WEBHOOKS:\n  trusted_repository: []\n".to_string(),
            "WEBHOOKS.trusted_repository",
            "unknown field `trusted_repository`",
        ),
    ] {
        // Whatever the input: a title reaches them as surely as a payload does.
        let e = Fleet::new(files(Some(&settings))).unwrap_err();
        assert_eq!(e.cause, Cause::setting("grove.yml", key), "{e}");
        assert!(e.message.contains(message), "{}", e.message);
        let e = generate(
            &cluster(Some(&settings)),
            Input::Title("[AutoDeploy][Update] campus"),
        )
        .unwrap_err();
        assert_eq!(e.cause, Cause::setting("grove.yml", key), "{e}");
    }
}

#[test]
fn payload_values_reach_jobs_only_as_unexpanded_variables() {
    let cluster = cluster(None);
    let settings = cluster.prepared().unwrap().fleet.settings.webhooks.clone();
    for name in [
        "github-pr-opened",
        "gitlab-mr-theme-open",
        "github-pr-closed",
    ] {
        let event = parse(&payload(name)).unwrap();
        let Event::Review(review) = &event else {
            panic!("{name}: {event:?}");
        };
        assert!(decide(&event, &settings).is_ok());
        let generated = generate(&cluster, Input::Webhook(&payload(name))).unwrap();
        for job in &generated.main.pipeline.jobs {
            for line in &job.script {
                assert!(
                    !line.contains(&review.source_branch),
                    "{name}: job {} runs {line:?}",
                    job.name
                );
                assert!(line.starts_with("grove "), "{name}: {line}");
            }
            assert!(!job.name.contains('/'), "{name}: {}", job.name);
            for variable in &job.variables {
                assert!(!variable.expand, "{name}: {} is expanded", variable.name);
            }
        }
        let preview = generated.plan.preview.unwrap();
        assert!(generated
            .main
            .yaml
            .contains(&format!("    name: review/{}\n", preview.name)));
    }
}

#[test]
fn other_events_are_described_not_refused() {
    let cluster = cluster(None);
    for (body, reason) in [
        ("{}", "neither a GitLab Push Hook"),
        (
            "{\"object_kind\": \"pipeline\"}",
            "GitLab \"pipeline\" events deploy nothing",
        ),
        (
            "{\"zen\": \"Keep it logically awesome.\", \"hook_id\": 1}",
            "neither",
        ),
    ] {
        match request(&cluster, body).unwrap() {
            Request::Ignored { reason: got } => assert!(got.contains(reason), "{got}"),
            other => panic!("{body}: {other:?}"),
        }
    }
}

/// The repository objects of a fixture, as JSON pointers.
fn repository_objects(name: &str) -> &'static [&'static str] {
    if name.starts_with("github-pr") {
        &[
            "/repository",
            "/pull_request/base/repo",
            "/pull_request/head/repo",
        ]
    } else if name.starts_with("github") {
        &["/repository"]
    } else if name.starts_with("gitlab-mr") {
        &[
            "/project",
            "/repository",
            "/object_attributes/source",
            "/object_attributes/target",
        ]
    } else {
        &["/project", "/repository"]
    }
}

/// A fixture with `field` of each of its repository objects set to `value`.
fn with_field(name: &str, field: &str, value: &str) -> String {
    let mut body: serde_json::Value = serde_json::from_str(&payload(name)).unwrap();
    for pointer in repository_objects(name) {
        body.pointer_mut(pointer).unwrap()[field] = serde_json::json!(value);
    }
    body.to_string()
}

/// A repository is trusted by the clone URL its forge sets (GitHub's `clone_url`, GitLab's
/// `git_http_url`) and nothing else: a `homepage` (on GitHub, the "Website" any owner fills in)
/// or any other field naming the cluster repository or a trusted one leaves a payload from a
/// stranger's repository a no-op, "not a trusted repository", push or pull request, GitHub or
/// GitLab; the forge's own field, set the same way, would be trusted (so the payloads are ones
/// that would otherwise deploy).
#[test]
fn only_the_clone_url_the_forge_sets_makes_a_repository_trusted() {
    let cluster = cluster(None);
    let github_fields = [
        "homepage",
        "html_url",
        "url",
        "git_url",
        "ssh_url",
        "svn_url",
        "mirror_url",
        "full_name",
        "name",
        "description",
    ];
    let gitlab_fields = [
        "homepage",
        "web_url",
        "url",
        "http_url",
        "ssh_url",
        "git_ssh_url",
        "path_with_namespace",
        "name",
        "description",
    ];
    // (fixture, the forge's field, the repository it pretends to be)
    let cases = [
        (
            "github-push-homepage",
            "clone_url",
            "https://gitlab.example.org/ops/cluster.git",
        ),
        (
            "github-push-untrusted",
            "clone_url",
            "https://github.com/open-craft/edx-platform.git",
        ),
        (
            "github-pr-homepage",
            "clone_url",
            "https://github.com/open-craft/edx-platform.git",
        ),
        (
            "gitlab-push-homepage",
            "git_http_url",
            "https://gitlab.example.org/ops/cluster.git",
        ),
        (
            "gitlab-push-untrusted",
            "git_http_url",
            "https://gitlab.example.org/opencraft/edx-platform.git",
        ),
        (
            "gitlab-mr-homepage",
            "git_http_url",
            "https://gitlab.example.org/opencraft/edx-platform.git",
        ),
    ];
    let not_trusted = |request: &Request| match request {
        Request::Ignored { reason } => reason.contains(grove_core::webhook::NOT_TRUSTED),
        _ => false,
    };
    for (name, forge_field, url) in cases {
        let fields: &[&str] = if name.starts_with("github") {
            &github_fields
        } else {
            &gitlab_fields
        };
        let as_is = request(&cluster, &payload(name)).unwrap();
        assert!(not_trusted(&as_is), "{name}: {as_is:?}");
        let path = url
            .trim_end_matches(".git")
            .split('/')
            .skip(3)
            .collect::<Vec<_>>()
            .join("/");
        for field in fields {
            for value in [url, url.trim_end_matches(".git"), path.as_str()] {
                let body = with_field(name, field, value);
                let got = request(&cluster, &body).unwrap();
                assert!(not_trusted(&got), "{name}: {field} = {value}: {got:?}");
                let generated = generate(&cluster, Input::Webhook(&body)).unwrap();
                assert!(generated.plan.is_noop(), "{name}: {field}");
            }
        }
        let trusted = request(&cluster, &with_field(name, forge_field, url)).unwrap();
        assert!(
            !matches!(trusted, Request::Ignored { .. }),
            "{name}: {forge_field} = {url}: {trusted:?}"
        );
    }
}
