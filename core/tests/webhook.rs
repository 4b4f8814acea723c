//! Deciding webhooks in core: the same request as a title for a cluster push, trust, forks,
//! settings errors, and payload values kept out of scripts.

use grove_core::request::{Repository, RepositoryKind, Version};
use grove_core::webhook::{decide, parse, Event};
use grove_core::{generate, request_from_title, request_from_webhook, Files, Fleet, Request};

mod common;

use std::path::Path;

/// The example cluster with the webhook fixtures' instances laid over it, and `grove.yml`
/// replaced when `settings` is given (with a store that outlives CI jobs).
fn fleet(settings: Option<&str>) -> Fleet {
    let mut files = common::project_files(&["examples/cluster", "tests/webhooks/cluster"]);
    if let Some(text) = settings {
        files.insert(
            "grove.yml".into(),
            format!("ENV_STORE: s3://grove-state/fleet\n{text}"),
        );
    }
    Fleet::new(files).unwrap()
}

fn payload(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../tests/webhooks/{name}.json"));
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn a_cluster_push_is_its_head_commit_title() {
    let fleet = fleet(None);
    let request = request_from_webhook(&payload("gitlab-push-cluster"), &fleet).unwrap();
    let (title, _) = request_from_title("[AutoDeploy][Update] campus|42").unwrap();
    assert_eq!(request, title);
    let by_hook = generate(&request, &fleet).unwrap();
    let by_title = generate(&title, &fleet).unwrap();
    assert_eq!(by_hook.yaml, by_title.yaml);
    assert_eq!(by_hook.plan, by_title.plan);
}

#[test]
fn a_push_to_a_trusted_repository_is_a_batch_of_what_is_built_from_it() {
    let fleet = fleet(None);
    let request = request_from_webhook(&payload("gitlab-push-theme"), &fleet).unwrap();
    assert_eq!(
        request,
        Request::Pushed(grove_core::request::PushedRef {
            kind: RepositoryKind::Theme,
            repository: Repository::parse("https://gitlab.example.org/opencraft/courses-theme.git")
                .unwrap(),
            branch: Version::parse("main").unwrap(),
        })
    );
    let plan = generate(&request, &fleet).unwrap().plan;
    assert_eq!(plan.kind, "batch-upgrade");
    let names: Vec<&str> = plan.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["mirror"]);
    assert!(plan.base_images.is_empty());
    assert_eq!(plan.skipped[0].name, "museum");
}

#[test]
fn nothing_is_trusted_without_webhooks_settings() {
    let fleet = fleet(Some(""));
    for name in [
        "gitlab-push-cluster",
        "gitlab-push-edx-platform",
        "github-push-edx-platform",
        "github-pr-opened",
        "gitlab-mr-open",
    ] {
        let request = request_from_webhook(&payload(name), &fleet).unwrap();
        assert!(
            matches!(request, Request::Ignored { .. }),
            "{name}: {request:?}"
        );
        let generated = generate(&request, &fleet).unwrap();
        assert!(generated.plan.is_noop());
        assert_eq!(generated.pipeline.jobs.len(), 1);
        assert!(generated.yaml.contains("not listed in WEBHOOKS"), "{name}");
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
    let fleet = fleet(Some(SETTINGS));
    let request = request_from_webhook(&payload("github-pr-fork"), &fleet).unwrap();
    let Request::PreviewUp(preview) = request else {
        panic!("{request:?}");
    };
    assert_eq!(preview.name.as_str(), "pr-1235-better-grading");
    assert_eq!(
        preview.repository.as_ref().map(Repository::as_str),
        Some("https://github.com/ada/edx-platform.git")
    );
    assert_eq!(preview.auto_stop_in, None);
    let yaml = generate(&Request::PreviewUp(preview), &fleet).unwrap().yaml;
    assert!(!yaml.contains("auto_stop_in"), "{yaml}");
}

#[test]
fn bad_settings_are_exit_5_and_point_at_webhooks() {
    for (settings, message) in [
        (
            SETTINGS.replace(
                "https://{name}.preview.example.org",
                "https://preview.example.org/{name}",
            ),
            "must hold {name} in its host",
        ),
        (
            SETTINGS.replace("template_instance: staging", "template_instance: Staging"),
            "preview.template_instance: uppercase letter",
        ),
        (
            SETTINGS.replace(
                "allow_forks: true",
                "allow_forks: true\n    auto_stop_in: soon",
            ),
            "auto_stop_in \"soon\" is not a duration",
        ),
        (
            SETTINGS.replace(
                "kind: edx-platform",
                "kind: edx-platform\n      preview_prefix: PR",
            ),
            "preview_prefix \"PR\"",
        ),
    ] {
        let fleet = fleet(Some(&settings));
        let e = request_from_webhook(&payload("github-pr-opened"), &fleet).unwrap_err();
        assert_eq!(e.exit_code(), 5, "{e}");
        assert!(e.message.contains(message), "{}", e.message);
        assert!(
            e.message.starts_with("grove.yml: WEBHOOKS:"),
            "{}",
            e.message
        );
    }
    // An unknown key is a typo, not silently ignored.
    let files: Files = [(
        "grove.yml".to_string(),
        "WEBHOOKS:\n  trusted_repository: []\n".to_string(),
    )]
    .into();
    let e = Fleet::new(files).unwrap_err();
    assert_eq!(e.exit_code(), 5);
    assert!(
        e.message.contains("unknown field `trusted_repository`"),
        "{}",
        e.message
    );
}

#[test]
fn payload_values_reach_jobs_only_as_unexpanded_variables() {
    let fleet = fleet(None);
    for name in [
        "github-pr-opened",
        "gitlab-mr-theme-open",
        "github-pr-closed",
    ] {
        let event = parse(&payload(name)).unwrap();
        let Event::Review(review) = &event else {
            panic!("{name}: {event:?}");
        };
        let request = decide(&event, &fleet).unwrap();
        let generated = generate(&request, &fleet).unwrap();
        for job in &generated.pipeline.jobs {
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
            .yaml
            .contains(&format!("    name: review/{}\n", preview.name)));
    }
}

#[test]
fn other_events_are_described_not_refused() {
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
        let request = request_from_webhook(body, &fleet(None)).unwrap();
        match request {
            Request::Ignored { reason: got } => assert!(got.contains(reason), "{got}"),
            other => panic!("{body}: {other:?}"),
        }
    }
}
