//! Settings: the cluster's `grove.yml` and each instance's `config.yml` and `grove.yml`, read
//! once into typed values that are checked while they are read.
//!
//! Parse, don't validate: every value Grove later acts on has its type here (a repository, a
//! version, an instance name, a preview URL pattern, a limit within GitLab's), so a mistake
//! surfaces when the file is read, located at its key, and not when some request first reaches
//! it. Every file is read by the one YAML reader ([`crate::yaml`]) within its limits (1 MiB, no
//! alias, nesting at most 100).

use crate::diagnostic::Diagnostic;
use crate::error::{Cause, Error, Result};
use crate::name::InstanceName;
use crate::value::{Host, Repository, RepositoryKind, Version};
use crate::yaml;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// Cluster-wide settings from the root `grove.yml`. Every key is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE", default)]
pub struct ClusterSettings {
    /// Text laid into the pipeline templates at `{{patch "NAME"}}`, by patch name.
    pub pipeline_patches: BTreeMap<String, String>,
    /// The image generated jobs run in (`default: image:`), if set.
    pub pipeline_image: Option<String>,
    /// The Terraform configuration of the cluster, relative to the root.
    #[serde(deserialize_with = "relative_path")]
    pub terraform_dir: Option<String>,
    /// Where instances' state (Tutor's config and `env/`, secrets included) is kept between
    /// jobs: `s3://bucket/prefix`, or an absolute path or `file:///` URL on a disk every runner
    /// keeps. Defaults to `.grove/env-store` in the root, which pipelines that deploy refuse.
    pub env_store: Option<String>,
    /// Which repositories' webhooks may deploy, and how pull requests get previews.
    pub webhooks: WebhookSettings,
    /// GitLab's limits on one pipeline file (GitLab.com's unless set); a plan that breaks them
    /// is sharded.
    pub limits: Limits,
}

impl ClusterSettings {
    /// The Terraform folder, relative to the root (`infrastructure` unless set).
    pub fn terraform_dir(&self) -> &str {
        self.terraform_dir.as_deref().unwrap_or("infrastructure")
    }
}

/// The keys of an instance's Tutor `config.yml` that Grove reads; the others are Tutor's.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct InstanceConfig {
    /// The edx-platform repository the instance is built from.
    #[serde(rename = "EDX_PLATFORM_REPOSITORY")]
    pub edx_platform_repository: Option<Repository>,
    /// The edx-platform branch, tag or commit the instance is built from.
    #[serde(rename = "EDX_PLATFORM_VERSION")]
    pub edx_platform_version: Option<Version>,
    /// The Kubernetes namespace, if the config sets one (else the instance name).
    #[serde(rename = "K8S_NAMESPACE")]
    pub k8s_namespace: Option<String>,
    /// The host the instance's LMS is served at.
    #[serde(rename = "LMS_HOST")]
    pub lms_host: Option<Host>,
}

/// An instance's Grove settings from its `grove.yml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE", default)]
pub struct InstanceSettings {
    /// Leave this instance out of batch upgrades.
    pub batch_upgrade_disabled: bool,
    /// Theme repositories cloned before the image is built; the first one is enabled.
    pub themes: Vec<Theme>,
    /// SCSS files written into the first theme: path inside the theme → content.
    #[serde(deserialize_with = "scss_overrides")]
    pub theme_scss_overrides: BTreeMap<String, String>,
}

/// A comprehensive theme: a git repository cloned into Tutor's build context.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Theme {
    /// The theme's folder name, which is also the name Open edX knows it by.
    #[serde(deserialize_with = "folder_name")]
    pub name: String,
    /// The git repository.
    pub repository: Repository,
    /// The branch or tag to clone (`main` unless set).
    #[serde(default = "default_theme_version")]
    pub version: Version,
}

fn default_theme_version() -> Version {
    Version::parse("main").expect("a valid version")
}

/// What the `WEBHOOKS` key of grove.yml says. Every key is optional; without any, every
/// webhook is a no-op.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSettings {
    /// The cluster repository itself: a push to it is read as its head commit's title.
    pub cluster_repository: Option<Repository>,
    /// The branch of the cluster repository whose pushes deploy (else the project's default
    /// branch, as the payload gives it).
    pub cluster_branch: Option<String>,
    /// The edx-platform forks and theme repositories whose pushes and pull requests deploy.
    pub trusted_repositories: Vec<TrustedRepository>,
    /// How pull requests get preview instances; without it, pull requests deploy nothing.
    pub preview: Option<PreviewSettings>,
}

impl WebhookSettings {
    /// Two trusted repositories whose previews' names could meet, as (the later, the earlier)
    /// of their indices in `trusted_repositories`, when pull requests get previews.
    ///
    /// A preview is named `PREFIX-NUMBER-BRANCH` (with a hash of the repository only when the
    /// branch had to be shortened or rewritten), and a prefix holds no `-`: names are unique
    /// per (repository, request) exactly when no two trusted repositories share a prefix.
    pub fn preview_collision(&self) -> Option<(usize, usize)> {
        self.preview.as_ref()?;
        let repositories = &self.trusted_repositories;
        (0..repositories.len()).find_map(|at| {
            (0..at)
                .find(|&earlier| {
                    repositories[earlier].preview_prefix == repositories[at].preview_prefix
                })
                .map(|earlier| (at, earlier))
        })
    }
}

/// A repository whose pushes and pull requests may deploy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedRepository {
    /// Its URL, in any spelling git accepts (`https://`, `git@host:path`, with or without `.git`).
    pub url: Repository,
    /// `edx-platform` or `theme`.
    pub kind: RepositoryKind,
    /// Only pushes to these branches (and pull requests into them) deploy; all when absent.
    #[serde(default)]
    pub branches: Option<Vec<String>>,
    /// The first part of its previews' names (`pr` unless set). With `preview` set, each
    /// trusted repository must have its own, so that their request numbers never meet: two
    /// alike are refused when grove.yml is read ([`WebhookSettings::preview_collision`]).
    #[serde(default)]
    pub preview_prefix: PreviewPrefix,
}

/// How pull requests on trusted repositories get preview instances.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewSettings {
    /// The instance each preview is copied from.
    pub template_instance: InstanceName,
    /// Where a preview is reached: `{name}` is replaced by the preview's name.
    pub url_pattern: UrlPattern,
    /// GitLab's `auto_stop_in` for the preview environments, such as `1 week`.
    #[serde(default)]
    pub auto_stop_in: Option<AutoStopIn>,
    /// Whether pull requests from forks (source repository ≠ target) get previews.
    #[serde(default)]
    pub allow_forks: bool,
}

/// The first part of preview names: a lowercase letter, then up to 9 lowercase letters or
/// digits.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct PreviewPrefix(String);

impl Default for PreviewPrefix {
    fn default() -> PreviewPrefix {
        PreviewPrefix("pr".into())
    }
}

impl TryFrom<String> for PreviewPrefix {
    type Error = String;

    fn try_from(prefix: String) -> std::result::Result<Self, String> {
        let ok = prefix.len() <= 10
            && prefix.starts_with(|c: char| c.is_ascii_lowercase())
            && prefix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if ok {
            Ok(PreviewPrefix(prefix))
        } else {
            Err(format!(
                "preview_prefix {prefix:?} must be a lowercase letter followed by up to 9 lowercase letters or digits"
            ))
        }
    }
}

impl PreviewPrefix {
    /// The prefix as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a preview is reached, such as `https://{name}.preview.example.org`: `http://` or
/// `https://`, `{name}` once and in the host, and otherwise only lowercase letters, digits,
/// `.`, `-`, `/` and `:`; so the URL is made of checked parts only.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct UrlPattern(String);

impl TryFrom<String> for UrlPattern {
    type Error = String;

    fn try_from(pattern: String) -> std::result::Result<Self, String> {
        let rest = pattern
            .strip_prefix("https://")
            .or_else(|| pattern.strip_prefix("http://"))
            .ok_or_else(|| {
                format!("url_pattern {pattern:?} must start with https:// or http://")
            })?;
        if pattern.matches("{name}").count() != 1 {
            return Err(format!(
                "url_pattern {pattern:?} must hold {{name}} exactly once"
            ));
        }
        let outside = pattern.replace("{name}", "");
        if let Some(c) = outside.chars().find(|&c| {
            !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '/' | ':'))
        }) {
            return Err(format!(
                "url_pattern {pattern:?} holds {c:?}; use lowercase letters, digits, '.', '-', '/' and ':'"
            ));
        }
        let authority = rest.split('/').next().unwrap_or_default();
        if !authority.contains("{name}") {
            return Err(format!(
                "url_pattern {pattern:?} must hold {{name}} in its host"
            ));
        }
        // Every instance name starts with a letter and ends with a letter or digit, so a
        // pattern whose host is valid with `a` in it is valid with any name.
        let host = host_of(authority, "a");
        let labels_ok = host
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
        if !labels_ok {
            return Err(format!(
                "url_pattern {pattern:?} does not give a valid host name"
            ));
        }
        Ok(UrlPattern(pattern))
    }
}

/// The host of `authority` (`host[:port]`) with `{name}` replaced by `name`.
fn host_of(authority: &str, name: &str) -> String {
    authority
        .split(':')
        .next()
        .unwrap_or_default()
        .replace("{name}", name)
}

impl UrlPattern {
    /// The URL and the host of the preview `name`.
    pub fn url(&self, name: &InstanceName) -> (String, String) {
        let rest = self.0.split_once("://").map_or("", |(_, rest)| rest);
        let authority = rest.split('/').next().unwrap_or_default();
        (
            self.0.replace("{name}", name.as_str()),
            host_of(authority, name.as_str()),
        )
    }
}

/// GitLab's `auto_stop_in`, such as `1 week`, `3 days 12 hours` or `never`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct AutoStopIn(String);

impl TryFrom<String> for AutoStopIn {
    type Error = String;

    fn try_from(text: String) -> std::result::Result<Self, String> {
        let words: Vec<&str> = text.split(' ').collect();
        let unit = |w: &str| {
            let w = w.strip_suffix('s').unwrap_or(w);
            matches!(
                w,
                "second" | "minute" | "min" | "hour" | "day" | "week" | "month" | "year"
            )
        };
        let pairs = words.chunks_exact(2);
        let pairs_ok = pairs.remainder().is_empty()
            && pairs.clone().all(|pair| {
                !pair[0].is_empty() && pair[0].chars().all(|c| c.is_ascii_digit()) && unit(pair[1])
            });
        if text == "never" || (!words.is_empty() && pairs_ok && text.len() <= 64) {
            Ok(AutoStopIn(text))
        } else {
            Err(format!(
                "auto_stop_in {text:?} is not a duration such as \"1 week\" or \"3 days 12 hours\", or \"never\""
            ))
        }
    }
}

impl AutoStopIn {
    /// The duration as GitLab reads it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The most jobs per pipeline `LIMITS.jobs_per_pipeline` may allow (a self-managed GitLab's
/// ceiling).
const MAX_JOBS_PER_PIPELINE: usize = 2000;
/// GitLab's nesting limit: a parent pipeline, its child, and the child's child.
const MAX_CHILD_PIPELINE_DEPTH: usize = 2;
/// GitLab's limit on the combinations of one `parallel:matrix`.
const MAX_MATRIX_COMBINATIONS: usize = 200;

/// `LIMITS` of the cluster's `grove.yml`: what GitLab accepts in one pipeline file. The
/// defaults are GitLab.com's; the nesting depth and the `parallel:matrix` size are GitLab's own
/// hard limits and can only be lowered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// The most `needs` one job may have (GitLab.com: 50).
    #[serde(deserialize_with = "positive")]
    pub needs_per_job: usize,
    /// The most jobs one pipeline file may hold (GitLab.com: 500; at most 2000).
    #[serde(deserialize_with = "jobs_per_pipeline")]
    pub jobs_per_pipeline: usize,
    /// The most bytes of YAML one generated file (an artifact include) may have (5 MB).
    #[serde(deserialize_with = "positive")]
    pub artifact_yaml_bytes: usize,
    /// How deep child pipelines may nest below the pipeline that runs `grove` (2, GitLab's
    /// maximum). A sharded pipeline needs 2: the generated pipeline, and its shards.
    #[serde(deserialize_with = "child_pipeline_depth")]
    pub child_pipeline_depth: usize,
    /// The most combinations of one `parallel:matrix` (200, GitLab's maximum).
    #[serde(deserialize_with = "matrix_combinations")]
    pub matrix_combinations: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            needs_per_job: 50,
            jobs_per_pipeline: 500,
            artifact_yaml_bytes: 5 * 1024 * 1024,
            child_pipeline_depth: MAX_CHILD_PIPELINE_DEPTH,
            matrix_combinations: MAX_MATRIX_COMBINATIONS,
        }
    }
}

/// An integer from 1 to `max`.
fn bounded<'de, D: Deserializer<'de>>(d: D, max: usize) -> std::result::Result<usize, D::Error> {
    let value = usize::deserialize(d)?;
    if value == 0 {
        return Err(serde::de::Error::custom(
            "0 is not allowed; it must be at least 1",
        ));
    }
    if value > max {
        return Err(serde::de::Error::custom(format!(
            "{value} is more than GitLab allows: at most {max}"
        )));
    }
    Ok(value)
}

fn positive<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<usize, D::Error> {
    bounded(d, usize::MAX)
}

fn jobs_per_pipeline<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<usize, D::Error> {
    bounded(d, MAX_JOBS_PER_PIPELINE)
}

fn child_pipeline_depth<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<usize, D::Error> {
    bounded(d, MAX_CHILD_PIPELINE_DEPTH)
}

fn matrix_combinations<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<usize, D::Error> {
    bounded(d, MAX_MATRIX_COMBINATIONS)
}

/// A path relative to the repository's root that stays inside it: no leading `/`, no `..`.
fn relative_path<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    let Some(path) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    let inside = !path.is_empty()
        && !path.starts_with('/')
        && path
            .split('/')
            .all(|part| part != ".." && !part.starts_with('-'))
        && !path.chars().any(char::is_control);
    if inside {
        Ok(Some(path))
    } else {
        Err(serde::de::Error::custom(format!(
            "{path:?} is not a folder inside the repository: give a relative path without `..`"
        )))
    }
}

/// A folder name: letters, digits, `-`, `_` and `.`, not starting with `.` or `-`.
fn folder_name<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    let name = String::deserialize(d)?;
    let ok = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with(['.', '-'])
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(name)
    } else {
        Err(serde::de::Error::custom(format!(
            "{name:?} is not a folder name: use letters, digits, '-', '_' and '.', not starting with '.' or '-'"
        )))
    }
}

/// SCSS overrides: each path a relative `.scss` path that stays inside the theme.
fn scss_overrides<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<BTreeMap<String, String>, D::Error> {
    let overrides = BTreeMap::<String, String>::deserialize(d)?;
    for path in overrides.keys() {
        let inside = !path.is_empty()
            && !path.starts_with('/')
            && path
                .split('/')
                .all(|part| !part.is_empty() && part != "." && part != "..")
            && !path.chars().any(char::is_control);
        if !inside || !path.ends_with(".scss") {
            return Err(serde::de::Error::custom(format!(
                "{path:?} is not a relative .scss path inside the theme"
            )));
        }
    }
    Ok(overrides)
}

/// The top-level key whose entry holds byte `at` of a text that did not parse: the last line
/// at or before it that starts with a key (`KEY:`).
fn top_level_key_at(text: &str, at: usize) -> Option<String> {
    let before = &text[..crate::diagnostic::floor_char_boundary(text, at)];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let mut lines: Vec<&str> = text[..line_start].lines().collect();
    lines.push(text[line_start..].lines().next().unwrap_or_default());
    lines.iter().rev().find_map(|line| {
        let (key, _) = line.split_once(':')?;
        let plain = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        plain.then(|| key.to_string())
    })
}

/// An error at byte `at` of a settings file: it names the file, the line and the column, and
/// the setting `key`, and shows no more of the text than the diagnostic's excerpt.
fn located(path: &str, text: &str, at: usize, key: Option<String>, message: String) -> Error {
    let at = at.min(text.len());
    let (line, column) = crate::diagnostic::line_column(text, at);
    let end = crate::diagnostic::floor_char_boundary(text, at + 1).max(at);
    Error::located(
        Cause::File {
            path: path.to_string(),
            key,
        },
        format!("{path}:{line}:{column}: {message}"),
        path,
        text,
        vec![Diagnostic::error(at..end, message)],
    )
}

/// [`parse`], with the node the value was read from.
fn parse_node<T: serde::de::DeserializeOwned>(path: &str, text: &str) -> Result<(yaml::Node, T)> {
    let node = yaml::parse(text, &yaml::Limits::SETTINGS).map_err(|e| {
        let at = e.offset.unwrap_or(0);
        located(path, text, at, top_level_key_at(text, at), e.message)
    })?;
    let value = yaml::from_node(&node).map_err(|e| {
        let at = e.offset.unwrap_or(0);
        let key = e.offset.and_then(|at| node.key_path_at(at));
        located(path, text, at, key, e.message)
    })?;
    Ok((node, value))
}

/// Reads a settings file of the repository into `T`: an error names the file, the line and
/// the column, and the setting at fault ([`Cause::File`]), and shows no more of the text than
/// the diagnostic's excerpt.
pub fn parse<T: serde::de::DeserializeOwned>(path: &str, text: &str) -> Result<T> {
    parse_node(path, text).map(|(_, value)| value)
}

/// Reads the cluster's `grove.yml` (see [`parse`]), and refuses, at the entry at fault, a
/// `WEBHOOKS` under which two pull requests could get the same preview
/// ([`WebhookSettings::preview_collision`]).
pub fn parse_cluster(path: &str, text: &str) -> Result<ClusterSettings> {
    let (node, settings) = parse_node::<ClusterSettings>(path, text)?;
    if let Some((at, earlier)) = settings.webhooks.preview_collision() {
        let repositories = &settings.webhooks.trusted_repositories;
        let (entry, other) = (&repositories[at], &repositories[earlier]);
        let item = node
            .get("WEBHOOKS")
            .and_then(|w| w.get("trusted_repositories"))
            .and_then(|list| match &list.value {
                yaml::Value::Seq(items) => items.get(at),
                _ => None,
            });
        let prefix = entry.preview_prefix.as_str();
        let (offset, which) = match item.and_then(|i| i.get("preview_prefix")) {
            Some(value) => (value.span.start, format!("preview_prefix {prefix:?}")),
            None => (
                item.map_or(0, |i| i.span.start),
                format!("no preview_prefix (so {prefix:?})"),
            ),
        };
        let message = format!(
            "{} has {which}, as {} above does: a pull request of each with the same number and branch would get the same preview, so one would overwrite or remove the other's; give each trusted repository its own preview_prefix",
            entry.url, other.url
        );
        return Err(located(
            path,
            text,
            offset,
            Some("WEBHOOKS.trusted_repositories.preview_prefix".into()),
            message,
        ));
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `text` as a cluster `grove.yml`; `Ok` or the located error as `line:column key:
    /// message`.
    fn check(text: &str, expected: std::result::Result<(), &str>) {
        let got = parse_cluster("grove.yml", text).map(|_| ()).map_err(|e| {
            let (line, column) = e.line_column().unwrap();
            let key = match &e.cause {
                Cause::File { path, key } => {
                    assert_eq!(path, "grove.yml");
                    key.clone().unwrap_or_default()
                }
                other => panic!("{other:?}"),
            };
            format!("{line}:{column} {key}: {}", e.diagnostics[0].message)
        });
        assert_eq!(
            got.as_ref().map(|_| ()).map_err(String::as_str),
            expected,
            "{text}"
        );
    }

    #[test]
    fn mistakes_are_found_when_the_file_is_read_at_their_key() {
        check("", Ok(()));
        check("LIMITS:\n  jobs_per_pipeline: 2000\n", Ok(()));
        check(
            "LIMITS:\n  jobs_per_pipeline: 2001\n",
            Err("2:22 LIMITS.jobs_per_pipeline: 2001 is more than GitLab allows: at most 2000"),
        );
        check(
            "LIMITS:\n  needs_per_job: 0\n",
            Err("2:18 LIMITS.needs_per_job: 0 is not allowed; it must be at least 1"),
        );
        check(
            "LIMITS:\n  child_pipeline_depth: 3\n",
            Err("2:25 LIMITS.child_pipeline_depth: 3 is more than GitLab allows: at most 2"),
        );
        check(
            "LIMITS:\n  jobs: 3\n",
            Err("2:3 LIMITS.jobs: unknown field `jobs`, expected one of `needs_per_job`, `jobs_per_pipeline`, `artifact_yaml_bytes`, `child_pipeline_depth`, `matrix_combinations`"),
        );
        check(
            "WEBHOOKS:\n  trusted_repositories:\n    - url: --upload-pack=x\n      kind: theme\n",
            Err("3:12 WEBHOOKS.trusted_repositories.url: a repository must not start with '-'"),
        );
        check(
            "WEBHOOKS:\n  trusted_repositories:\n    - url: https://x.org/t.git\n      kind: plugin\n",
            Err("4:13 WEBHOOKS.trusted_repositories.kind: unknown variant `plugin`, expected `edx-platform` or `theme`"),
        );
        check(
            "WEBHOOKS:\n  trusted_repositories:\n    - url: https://x.org/t.git\n      kind: theme\n      preview_prefix: PR\n",
            Err("5:23 WEBHOOKS.trusted_repositories.preview_prefix: preview_prefix \"PR\" must be a lowercase letter followed by up to 9 lowercase letters or digits"),
        );
        check(
            "WEBHOOKS:\n  preview:\n    template_instance: Staging\n    url_pattern: https://{name}.x.org\n",
            Err("3:24 WEBHOOKS.preview.template_instance: uppercase letter 'S' in instance name"),
        );
        check(
            "WEBHOOKS:\n  preview:\n    template_instance: staging\n    url_pattern: https://x.org/{name}\n",
            Err("4:18 WEBHOOKS.preview.url_pattern: url_pattern \"https://x.org/{name}\" must hold {name} in its host"),
        );
        check(
            "WEBHOOKS:\n  preview:\n    template_instance: staging\n    url_pattern: https://{name}-.x.org\n",
            Err("4:18 WEBHOOKS.preview.url_pattern: url_pattern \"https://{name}-.x.org\" does not give a valid host name"),
        );
        check(
            "WEBHOOKS:\n  preview:\n    template_instance: staging\n    url_pattern: https://{name}.x.org\n    auto_stop_in: 1 fortnight\n",
            Err("5:19 WEBHOOKS.preview.auto_stop_in: auto_stop_in \"1 fortnight\" is not a duration such as \"1 week\" or \"3 days 12 hours\", or \"never\""),
        );
        // Two trusted repositories with one preview prefix: at the later one's prefix (or its
        // entry, when it sets none), only when pull requests get previews.
        let two = |first: &str, second: &str, preview: bool| {
            format!(
                "WEBHOOKS:\n  trusted_repositories:\n    - url: https://github.com/a/edx-platform.git\n      kind: edx-platform\n{first}    - url: https://gitlab.example.org/b/edx-platform.git\n      kind: edx-platform\n{second}{}",
                if preview {
                    "  preview:\n    template_instance: staging\n    url_pattern: https://{name}.x.org\n"
                } else {
                    ""
                }
            )
        };
        check(
            &two("", "", true),
            Err("5:7 WEBHOOKS.trusted_repositories.preview_prefix: https://gitlab.example.org/b/edx-platform.git has no preview_prefix (so \"pr\"), as https://github.com/a/edx-platform.git above does: a pull request of each with the same number and branch would get the same preview, so one would overwrite or remove the other's; give each trusted repository its own preview_prefix"),
        );
        check(
            &two("      preview_prefix: gh\n", "      preview_prefix: gh\n", true),
            Err("8:23 WEBHOOKS.trusted_repositories.preview_prefix: https://gitlab.example.org/b/edx-platform.git has preview_prefix \"gh\", as https://github.com/a/edx-platform.git above does: a pull request of each with the same number and branch would get the same preview, so one would overwrite or remove the other's; give each trusted repository its own preview_prefix"),
        );
        check(
            &two("      preview_prefix: pr\n", "", true),
            Err("6:7 WEBHOOKS.trusted_repositories.preview_prefix: https://gitlab.example.org/b/edx-platform.git has no preview_prefix (so \"pr\"), as https://github.com/a/edx-platform.git above does: a pull request of each with the same number and branch would get the same preview, so one would overwrite or remove the other's; give each trusted repository its own preview_prefix"),
        );
        check(&two("", "      preview_prefix: gl\n", true), Ok(()));
        check(&two("", "", false), Ok(()));
        check(
            "TERRAFORM_DIR: ../elsewhere\n",
            Err("1:16 TERRAFORM_DIR: \"../elsewhere\" is not a folder inside the repository: give a relative path without `..`"),
        );
        check(
            "A: &a [1]\nB: *a\n",
            Err("2:4 B: YAML aliases (*name) are not allowed in settings files"),
        );
    }

    #[test]
    fn preview_urls_are_made_of_checked_parts() {
        let pattern =
            UrlPattern::try_from("https://{name}.preview.example.org".to_string()).unwrap();
        let name = InstanceName::parse("pr-1-a").unwrap();
        assert_eq!(
            pattern.url(&name),
            (
                "https://pr-1-a.preview.example.org".to_string(),
                "pr-1-a.preview.example.org".to_string()
            )
        );
        let with_port = UrlPattern::try_from("http://{name}.x.org:8080/lms".to_string()).unwrap();
        assert_eq!(
            with_port.url(&name),
            (
                "http://pr-1-a.x.org:8080/lms".to_string(),
                "pr-1-a.x.org".to_string()
            )
        );
        for bad in [
            "ftp://{name}.x",
            "https://x.org/{name}",
            "https://{name}.x.org/$X",
            "https://{name}{name}.x",
            "https://.{name}.x",
            "https://{name}..x",
        ] {
            assert!(UrlPattern::try_from(bad.to_string()).is_err(), "{bad}");
        }
    }

    #[test]
    fn auto_stop_in_is_a_duration() {
        for ok in ["1 week", "3 days 12 hours", "never", "30 minutes"] {
            assert!(AutoStopIn::try_from(ok.to_string()).is_ok(), "{ok}");
        }
        for bad in ["", "week", "1", "1 fortnight", "$X", "1  week"] {
            assert!(AutoStopIn::try_from(bad.to_string()).is_err(), "{bad}");
        }
    }
}
