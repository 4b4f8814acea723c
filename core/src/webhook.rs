//! Webhook payloads: GitLab's Push Hook and Merge Request Hook, GitHub's `push` and
//! `pull_request`, read into an [`Event`] and decided into a [`Request`] against the
//! `WEBHOOKS` settings of grove.yml.
//!
//! A webhook is just another way to ask: a push to the cluster repository is its head
//! commit's title; a push to a trusted edx-platform fork or theme is a batch upgrade of the
//! instances built from it; a pull request opens, updates or removes its preview instance.
//! Anything else, and anything from a repository grove.yml does not list, is
//! [`Request::Ignored`], with the reason. Payload values that reach a pipeline are checked
//! here ([`Repository`], [`Version`]) and only ever become quoted, unexpanded variables.
//!
//! A repository is known by the clone URL its forge sets (GitHub's `clone_url`, GitLab's
//! `git_http_url`) and by nothing its owner writes ([`RepositoryInfo`]). Payloads reach Grove
//! unauthenticated (GitLab's pipeline trigger passes the body, not the forge's signature), so
//! the trigger token is what keeps strangers out; the trust list is defence in depth against
//! what a forge sends for repositories the cluster's maintainers do not control.
//!
//! Payloads are read with serde_json (whose recursion limit refuses absurd nesting); a payload
//! that is not JSON, or lacks a field the event needs, or has one of the wrong type, fails with
//! exit 5 and names the field.

use crate::error::{Cause, Error, Result};
use crate::preview::{self, Preview};
use crate::request::{PushedRef, Request};
use crate::settings::{TrustedRepository, WebhookSettings};
use crate::value::{repository_key, same_repository, Host, Repository, RepositoryKind, Version};
use serde_json::Value;

/// The largest payload Grove reads, in bytes (GitLab caps webhook bodies at 25 MB).
pub const MAX_PAYLOAD: usize = 25 * 1024 * 1024;

/// Who sent a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forge {
    /// A GitLab webhook (`object_kind` in the body).
    GitLab,
    /// A GitHub webhook (recognised by its shape; the event name is only in a header).
    GitHub,
}

/// A repository as a payload describes it, by the fields the forge itself sets.
///
/// GitHub derives `clone_url` and `full_name` from the repository's owner and name, and GitLab
/// `git_http_url` and `path_with_namespace` from the project's path; both give the id. Fields a
/// repository's owner writes (`homepage`, the "Website" box on GitHub; `description`; `name`)
/// are never read, so no repository can name itself another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryInfo {
    /// Its name for messages: `path_with_namespace` or `full_name`.
    pub display: String,
    /// The URL to clone it from, the one URL matched against grove.yml: GitHub's `clone_url`,
    /// GitLab's `git_http_url`.
    pub url: String,
    /// Its id on the forge, if given (GitLab project id, GitHub repository id).
    pub id: Option<u64>,
}

/// A push to a branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// Who sent it.
    pub forge: Forge,
    /// The repository pushed to.
    pub repository: RepositoryInfo,
    /// The full ref, such as `refs/heads/main`.
    pub git_ref: String,
    /// Whether the push deletes the ref.
    pub deleted: bool,
    /// The repository's default branch, when the payload gives it.
    pub default_branch: Option<String>,
    /// The first line of the head commit's message, when the payload carries the head commit.
    pub head_title: Option<String>,
}

/// What a pull request event asks for its preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewAction {
    /// Opened, reopened, updated or synchronized: create or update the preview.
    Up,
    /// Merged or closed: archive and remove the preview.
    Down,
}

/// A pull request (GitHub) or merge request (GitLab) event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// Who sent it.
    pub forge: Forge,
    /// The action as the payload names it (`open`, `synchronize`, ...).
    pub action_name: String,
    /// What the action asks for, or `None` for actions that change nothing deployed.
    pub action: Option<ReviewAction>,
    /// The request's number in its target repository.
    pub number: u64,
    /// The repository the request is into.
    pub target: RepositoryInfo,
    /// The branch it is into.
    pub target_branch: String,
    /// The repository it comes from (`None` if it was deleted).
    pub source: Option<RepositoryInfo>,
    /// The branch it comes from.
    pub source_branch: String,
}

/// A webhook payload, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A push to a branch or tag.
    Push(Push),
    /// A pull or merge request event.
    Review(Review),
    /// Any other event, described in words.
    Other(String),
}

/// An invalid payload (exit 5).
fn invalid(message: impl std::fmt::Display) -> Error {
    Error::new(
        Cause::Payload,
        format!("invalid webhook payload: {message}"),
    )
}

/// The JSON type of a value, for messages.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The value at a dotted path; `None` when a part is missing or null.
fn lookup<'a>(root: &'a Value, path: &str) -> Result<Option<&'a Value>> {
    let mut value = root;
    let mut walked = String::new();
    for part in path.split('.') {
        match value {
            Value::Object(map) => match map.get(part) {
                None | Some(Value::Null) => return Ok(None),
                Some(next) => value = next,
            },
            other => {
                return Err(invalid(format!(
                    "`{walked}` is {}; expected an object",
                    type_name(other)
                )))
            }
        }
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(part);
    }
    Ok(Some(value))
}

/// A string at `path`, or `None` if it is missing or null.
fn opt_str<'a>(root: &'a Value, path: &str) -> Result<Option<&'a str>> {
    match lookup(root, path)? {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(invalid(format!(
            "`{path}` is {}; expected a string",
            type_name(other)
        ))),
    }
}

/// A string that must be there.
fn req_str<'a>(root: &'a Value, path: &str) -> Result<&'a str> {
    opt_str(root, path)?.ok_or_else(|| invalid(format!("`{path}` is missing")))
}

/// A non-negative integer at `path`, or `None` if it is missing or null.
fn opt_u64(root: &Value, path: &str) -> Result<Option<u64>> {
    match lookup(root, path)? {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| invalid(format!("`{path}` is {n}; expected a non-negative integer"))),
        Some(other) => Err(invalid(format!(
            "`{path}` is {}; expected a number",
            type_name(other)
        ))),
    }
}

/// A boolean at `path`, false if it is missing or null.
fn flag(root: &Value, path: &str) -> Result<bool> {
    match lookup(root, path)? {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(invalid(format!(
            "`{path}` is {}; expected true or false",
            type_name(other)
        ))),
    }
}

/// A repository from an object of the payload, by the fields `forge` sets (see
/// [`RepositoryInfo`]): its clone URL must be there (exit 5 otherwise).
fn repository_info(root: &Value, path: &str, forge: Forge) -> Result<RepositoryInfo> {
    let Some(object) = lookup(root, path)? else {
        return Err(invalid(format!("`{path}` is missing")));
    };
    if !object.is_object() {
        return Err(invalid(format!(
            "`{path}` is {}; expected an object",
            type_name(object)
        )));
    }
    let (url_key, display_key) = match forge {
        Forge::GitHub => ("clone_url", "full_name"),
        Forge::GitLab => ("git_http_url", "path_with_namespace"),
    };
    let url = opt_str(object, url_key)?
        .ok_or_else(|| invalid(format!("`{path}.{url_key}` is missing")))?
        .to_string();
    let display = opt_str(object, display_key)?.unwrap_or(&url).to_string();
    Ok(RepositoryInfo {
        display,
        url,
        id: opt_u64(object, "id")?,
    })
}

/// Reads a payload into an event. Fails with exit 5 when it is not JSON, not an object, or an
/// event Grove acts on lacks a field or has one of the wrong type.
pub fn parse(text: &str) -> Result<Event> {
    if text.len() > MAX_PAYLOAD {
        return Err(invalid(format!(
            "it is {} bytes; the limit is {MAX_PAYLOAD}",
            text.len()
        )));
    }
    let root: Value = serde_json::from_str(text).map_err(|e| invalid(format!("not JSON: {e}")))?;
    let Value::Object(object) = &root else {
        return Err(invalid(format!(
            "it is {}; expected a JSON object",
            type_name(&root)
        )));
    };
    if object.contains_key("object_kind") {
        return gitlab(&root);
    }
    if object.contains_key("pull_request") && object.contains_key("number") {
        return github_pull_request(&root);
    }
    if object.contains_key("ref")
        && object.contains_key("repository")
        && (object.contains_key("pusher") || object.contains_key("head_commit"))
    {
        return github_push(&root);
    }
    Ok(Event::Other(
        "the payload is neither a GitLab Push Hook or Merge Request Hook nor a GitHub push or pull_request event".into(),
    ))
}

/// The first line of a commit message.
fn first_line(message: &str) -> String {
    message
        .split('\n')
        .next()
        .unwrap_or_default()
        .trim_end_matches('\r')
        .to_string()
}

fn gitlab(root: &Value) -> Result<Event> {
    let kind = req_str(root, "object_kind")?;
    match kind {
        "push" => {
            let repository = repository_info(root, "project", Forge::GitLab)?;
            let git_ref = req_str(root, "ref")?.to_string();
            let after = opt_str(root, "after")?.unwrap_or_default();
            let deleted = !after.is_empty() && after.chars().all(|c| c == '0');
            let head = opt_str(root, "checkout_sha")?.unwrap_or(after);
            let commits = match lookup(root, "commits")? {
                None => Vec::new(),
                Some(Value::Array(list)) => list.clone(),
                Some(other) => {
                    return Err(invalid(format!(
                        "`commits` is {}; expected a list",
                        type_name(other)
                    )))
                }
            };
            let mut head_title = None;
            for commit in &commits {
                if req_str(commit, "id")? == head {
                    head_title = Some(first_line(req_str(commit, "message")?));
                }
            }
            Ok(Event::Push(Push {
                forge: Forge::GitLab,
                default_branch: opt_str(root, "project.default_branch")?.map(str::to_string),
                repository,
                git_ref,
                deleted,
                head_title,
            }))
        }
        "merge_request" => {
            let target = repository_info(root, "object_attributes.target", Forge::GitLab)?;
            let source = match lookup(root, "object_attributes.source")? {
                None => None,
                Some(_) => Some(repository_info(
                    root,
                    "object_attributes.source",
                    Forge::GitLab,
                )?),
            };
            let number = opt_u64(root, "object_attributes.iid")?
                .ok_or_else(|| invalid("`object_attributes.iid` is missing"))?;
            let action_name = opt_str(root, "object_attributes.action")?
                .unwrap_or("none")
                .to_string();
            let action = match action_name.as_str() {
                "open" | "reopen" | "update" => Some(ReviewAction::Up),
                "close" | "merge" => Some(ReviewAction::Down),
                _ => None,
            };
            let source_id = opt_u64(root, "object_attributes.source_project_id")?;
            let target_id = opt_u64(root, "object_attributes.target_project_id")?;
            let source = source.map(|mut s| {
                s.id = source_id.or(s.id);
                s
            });
            let mut target = target;
            target.id = target_id.or(target.id);
            Ok(Event::Review(Review {
                forge: Forge::GitLab,
                action_name,
                action,
                number,
                target,
                target_branch: req_str(root, "object_attributes.target_branch")?.to_string(),
                source,
                source_branch: req_str(root, "object_attributes.source_branch")?.to_string(),
            }))
        }
        other => Ok(Event::Other(format!(
            "GitLab {:?} events deploy nothing",
            truncated(other)
        ))),
    }
}

fn github_push(root: &Value) -> Result<Event> {
    let repository = repository_info(root, "repository", Forge::GitHub)?;
    let head_title = opt_str(root, "head_commit.message")?.map(first_line);
    Ok(Event::Push(Push {
        forge: Forge::GitHub,
        default_branch: opt_str(root, "repository.default_branch")?.map(str::to_string),
        git_ref: req_str(root, "ref")?.to_string(),
        deleted: flag(root, "deleted")?,
        repository,
        head_title,
    }))
}

fn github_pull_request(root: &Value) -> Result<Event> {
    let action_name = req_str(root, "action")?.to_string();
    let number = opt_u64(root, "number")?.ok_or_else(|| invalid("`number` is missing"))?;
    let target = repository_info(root, "pull_request.base.repo", Forge::GitHub)?;
    let source = match lookup(root, "pull_request.head.repo")? {
        None => None,
        Some(_) => Some(repository_info(
            root,
            "pull_request.head.repo",
            Forge::GitHub,
        )?),
    };
    let action = match action_name.as_str() {
        "opened" | "reopened" | "synchronize" => Some(ReviewAction::Up),
        "closed" => Some(ReviewAction::Down),
        _ => None,
    };
    // `merged` only says how it was closed; read it to refuse a malformed one.
    flag(root, "pull_request.merged")?;
    Ok(Event::Review(Review {
        forge: Forge::GitHub,
        action_name,
        action,
        number,
        target,
        target_branch: req_str(root, "pull_request.base.ref")?.to_string(),
        source,
        source_branch: req_str(root, "pull_request.head.ref")?.to_string(),
    }))
}

/// A payload value cut to 100 characters, for messages.
fn truncated(text: &str) -> String {
    match text.char_indices().nth(100) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// Whether a payload's repository is `url`, by the clone URL its forge sets.
fn names(info: &RepositoryInfo, url: &str) -> bool {
    same_repository(&info.url, url)
}

/// The reason every payload from a repository grove.yml does not list is ignored.
pub const NOT_TRUSTED: &str = "not a trusted repository";

/// The host of an `https://` URL that has a path and no user, lowercase.
fn https_host(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://")?;
    let (authority, path) = rest.split_once('/')?;
    if authority.contains('@') || path.trim_matches('/').is_empty() {
        return None;
    }
    Host::parse(authority).ok()?;
    Some(authority.split(':').next()?.to_ascii_lowercase())
}

/// Checks a repository a preview of `kind` is to be built from (`grove preview up
/// --repository`, the source of a pull request): an `https://` URL (never `http://`, `file://`,
/// a path, `ext::` or ssh) of a repository `WEBHOOKS.trusted_repositories` lists with that kind,
/// or, when `forks` is true, of a repository on the same host as one of them (a fork, as
/// `WEBHOOKS.preview.allow_forks` allows). The error says why, for a message.
pub fn trusted_source(
    settings: &WebhookSettings,
    kind: RepositoryKind,
    url: &str,
    forks: bool,
) -> std::result::Result<(), String> {
    let Some(host) = https_host(url) else {
        return Err(
            "previews are built only from https:// URLs (with a host and a path, and no user) of trusted repositories"
                .into(),
        );
    };
    let mut of_kind = settings
        .trusted_repositories
        .iter()
        .filter(|t| t.kind == kind);
    if of_kind
        .clone()
        .any(|t| same_repository(t.url.as_str(), url))
    {
        return Ok(());
    }
    if forks
        && of_kind.any(|t| repository_key(t.url.as_str()).split('/').next() == Some(host.as_str()))
    {
        return Ok(());
    }
    Err(format!(
        "it is {NOT_TRUSTED}: WEBHOOKS.trusted_repositories of grove.yml lists no {} repository at that URL{}",
        kind.as_str(),
        if forks { ", nor on its host" } else { "" }
    ))
}

/// The branch of a `refs/heads/...` ref.
fn branch_of(git_ref: &str) -> Option<&str> {
    git_ref.strip_prefix("refs/heads/")
}

/// Reads a payload and decides what it asks, by the `WEBHOOKS` settings of grove.yml (see
/// [`decide`]).
pub fn request(payload: &str, settings: &WebhookSettings) -> Result<Request> {
    decide(&parse(payload)?, settings)
}

/// Decides what an event asks, by the `WEBHOOKS` settings of grove.yml.
///
/// Fails with exit 5 when a value the request would use is not a valid repository or branch,
/// and as titles do for a cluster push whose head commit title is malformed.
pub fn decide(event: &Event, settings: &WebhookSettings) -> Result<Request> {
    let ignored = |reason: String| Ok(Request::Ignored { reason });
    match event {
        Event::Other(what) => ignored(what.clone()),
        Event::Push(push) => {
            let shown = truncated(&push.repository.display);
            let Some(branch) = branch_of(&push.git_ref) else {
                return ignored(format!(
                    "the push to {shown} is to {:?}, not a branch",
                    truncated(&push.git_ref)
                ));
            };
            if let Some(cluster) = &settings.cluster_repository {
                if names(&push.repository, cluster.as_str()) {
                    return cluster_push(push, branch, settings);
                }
            }
            let Some(trusted) = settings
                .trusted_repositories
                .iter()
                .find(|t| names(&push.repository, t.url.as_str()))
            else {
                return ignored(format!(
                    "{shown} is {NOT_TRUSTED}: it is not listed in WEBHOOKS of grove.yml, so its pushes deploy nothing"
                ));
            };
            if push.deleted {
                return ignored(format!(
                    "the push deletes branch {:?} of {shown}",
                    truncated(branch)
                ));
            }
            if !branch_allowed(trusted, branch) {
                return ignored(format!(
                    "branch {:?} of {shown} is not among the branches grove.yml lists for it",
                    truncated(branch)
                ));
            }
            let repository = trusted.url.clone();
            let branch = Version::parse(branch).map_err(|e| {
                invalid(format!(
                    "the pushed branch {:?}: {}",
                    truncated(branch),
                    e.message
                ))
            })?;
            Ok(Request::Pushed(PushedRef {
                kind: trusted.kind,
                repository,
                branch,
            }))
        }
        Event::Review(review) => decide_review(review, settings),
    }
}

fn branch_allowed(trusted: &TrustedRepository, branch: &str) -> bool {
    match &trusted.branches {
        None => true,
        Some(list) => list.iter().any(|b| b == branch),
    }
}

/// A push to the cluster repository: its head commit's title, on the deploying branch only.
fn cluster_push(push: &Push, branch: &str, settings: &WebhookSettings) -> Result<Request> {
    let deploying = settings
        .cluster_branch
        .as_deref()
        .or(push.default_branch.as_deref());
    let ignored = |reason: String| Ok(Request::Ignored { reason });
    if let Some(deploying) = deploying {
        if branch != deploying {
            return ignored(format!(
                "the push to the cluster repository is to branch {:?}; only {deploying:?} deploys",
                truncated(branch)
            ));
        }
    }
    if push.deleted {
        return ignored("the push deletes the cluster repository's branch".into());
    }
    let Some(title) = &push.head_title else {
        return ignored("the push to the cluster repository carries no head commit".into());
    };
    let (request, _warnings) = crate::title::request(title)?;
    Ok(request)
}

fn decide_review(review: &Review, settings: &WebhookSettings) -> Result<Request> {
    let noun = match review.forge {
        Forge::GitLab => format!("merge request !{}", review.number),
        Forge::GitHub => format!("pull request #{}", review.number),
    };
    let shown = truncated(&review.target.display);
    let ignored = |reason: String| Ok(Request::Ignored { reason });
    let Some(trusted) = settings
        .trusted_repositories
        .iter()
        .find(|t| names(&review.target, t.url.as_str()))
    else {
        return ignored(format!(
            "{shown} is {NOT_TRUSTED}: it is not listed in WEBHOOKS of grove.yml, so its {noun} deploys nothing"
        ));
    };
    let Some(action) = review.action else {
        return ignored(format!(
            "the {noun} event of {shown} is {:?}, which changes no preview",
            truncated(&review.action_name)
        ));
    };
    let Some(preview_settings) = &settings.preview else {
        return ignored(format!(
            "grove.yml has no WEBHOOKS.preview, so {noun} of {shown} gets no preview"
        ));
    };
    if !branch_allowed(trusted, &review.target_branch) {
        return ignored(format!(
            "{noun} of {shown} is into branch {:?}, which is not among the branches grove.yml lists for it",
            truncated(&review.target_branch)
        ));
    }
    // The same repository only when the forge's clone URLs agree, and its ids too if given.
    let fork = match &review.source {
        None => true,
        Some(source) => {
            !names(&review.target, &source.url)
                || matches!((source.id, review.target.id), (Some(a), Some(b)) if a != b)
        }
    };
    // What the preview would clone, checked before anything is decided from it: the forge's
    // clone URL of the source, an `https://` URL of the trusted repository itself, or of a fork
    // on its host.
    let repository = match review.source.as_ref().map(|s| s.url.as_str()) {
        Some(url) => {
            let bad = |message: String| {
                invalid(format!(
                    "the source repository {:?} of {noun}: {message}",
                    truncated(url)
                ))
            };
            let repository = Repository::parse(url).map_err(|e| bad(e.message))?;
            trusted_source(settings, trusted.kind, url, fork).map_err(bad)?;
            Some(repository)
        }
        None => None,
    };
    if fork && !preview_settings.allow_forks && action == ReviewAction::Up {
        let from = review
            .source
            .as_ref()
            .map_or("a deleted repository".to_string(), |s| {
                truncated(&s.display)
            });
        return ignored(format!(
            "{noun} of {shown} comes from a fork ({from}) and WEBHOOKS.preview.allow_forks is not true"
        ));
    }
    let branch = Version::parse(&review.source_branch).map_err(|e| {
        invalid(format!(
            "the source branch {:?} of {noun}: {}",
            truncated(&review.source_branch),
            e.message
        ))
    })?;
    if repository.is_none() && action == ReviewAction::Up {
        return ignored(format!(
            "the source repository of {noun} of {shown} is gone"
        ));
    }
    let key = repository_key(trusted.url.as_str());
    let name = preview::name(
        &trusted.preview_prefix,
        review.number,
        branch.as_str(),
        &key,
    );
    let (url, host) = preview_settings.url_pattern.url(&name);
    let preview = Box::new(Preview {
        environment: format!("{}{name}", preview::ENVIRONMENT_PREFIX),
        name,
        number: review.number,
        url,
        host,
        template: preview_settings.template_instance.clone(),
        kind: trusted.kind,
        repository,
        branch,
        auto_stop_in: preview_settings
            .auto_stop_in
            .as_ref()
            .map(|a| a.as_str().to_string()),
    });
    Ok(match action {
        ReviewAction::Up => Request::PreviewUp(preview),
        ReviewAction::Down => Request::PreviewDown(preview),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_json_and_wrong_shapes_are_exit_5() {
        for (payload, message) in [
            ("", "not JSON"),
            ("[1]", "it is a list; expected a JSON object"),
            ("{\"object_kind\": 3}", "`object_kind` is a number; expected a string"),
            ("{\"object_kind\": \"push\"}", "`project` is missing"),
            (
                "{\"object_kind\": \"push\", \"project\": {\"homepage\": \"https://x/y.git\"}, \"ref\": \"refs/heads/main\"}",
                "`project.git_http_url` is missing",
            ),
            (
                "{\"ref\": \"refs/heads/main\", \"pusher\": {}, \"repository\": {\"homepage\": \"https://x/y.git\", \"html_url\": \"https://x/y\"}}",
                "`repository.clone_url` is missing",
            ),
            (
                "{\"object_kind\": \"push\", \"project\": {\"git_http_url\": \"https://x/y.git\"}, \"ref\": [1]}",
                "`ref` is a list; expected a string",
            ),
        ] {
            let e = parse(payload).unwrap_err();
            assert_eq!(e.exit_code(), 5);
            assert!(e.message.contains(message), "{payload}: {}", e.message);
        }
        let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        let e = parse(&format!("{{\"a\": {deep}}}")).unwrap_err();
        assert!(e.message.contains("recursion limit"), "{}", e.message);
    }
}
