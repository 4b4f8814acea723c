//! Preview instances: one per pull request (GitHub) or merge request (GitLab) on a trusted
//! repository, named and reached deterministically, built from a template instance.
//!
//! This module owns what a preview is called (`pr-<number>-<branch-slug>`, with a short hash
//! when the branch had to be shortened or rewritten), where it is reached (`url_pattern` of
//! grove.yml), the data its jobs are rendered from, and the files `grove preview up` writes
//! into it: the template's `config.yml` and `grove.yml` with the preview's own values set.
//! Everything here is pure; the CLI does the reading and writing.

use crate::diagnostic::floor_char_boundary;
use crate::error::{Cause, Error, Result};
use crate::hash::short_hash;
use crate::name::{InstanceName, MAX_NAME_LEN};
use crate::settings::{InstanceSettings, PreviewPrefix, Theme};
use crate::value::{Repository, RepositoryKind, Version};
use crate::yaml;
use serde::Serialize;
use serde_json::{Map, Value};

/// The GitLab environment folder previews live in: `review/<name>`.
pub const ENVIRONMENT_PREFIX: &str = "review/";
/// The file `grove preview up` leaves in a preview's folder, so that `grove preview down`
/// never removes an instance that is not a preview.
pub const MARKER_FILE: &str = ".grove-preview";

/// How many hex digits of the hash a shortened or rewritten branch adds to a name.
const HASH_LEN: usize = 8;

/// A pull request's preview instance, as a webhook asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Preview {
    /// The instance (and namespace): `pr-<number>-<branch-slug>`.
    pub name: InstanceName,
    /// The pull or merge request's number (GitHub `number`, GitLab `iid`).
    pub number: u64,
    /// The GitLab environment: `review/<name>`.
    pub environment: String,
    /// Where the preview is reached: `url_pattern` with `{name}` replaced.
    pub url: String,
    /// The host part of `url`, the preview's `LMS_HOST`.
    pub host: String,
    /// The instance the preview is copied from.
    #[serde(rename = "template_instance")]
    pub template: InstanceName,
    /// Whether the request's branch replaces edx-platform or the theme.
    pub kind: RepositoryKind,
    /// The request's source repository (absent when it was deleted, which only a close allows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<Repository>,
    /// The request's source branch.
    pub branch: Version,
    /// GitLab's `auto_stop_in` for the environment, from grove.yml.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_stop_in: Option<String>,
}

/// Lowercase letters and digits of `branch`, every other run of characters made one `-`.
fn slug(branch: &str) -> String {
    let mut out = String::with_capacity(branch.len());
    for c in branch.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// The preview instance name of request `number` from `branch`: `PREFIX-NUMBER-SLUG`.
///
/// When the slug is not the branch itself (uppercase, `/`, `_`, ...) or the name would be
/// longer than an instance name may be, the slug is cut to fit and the first 8 hex digits of
/// the hash of `repository_key`, the number and the branch are added, so two branches (or two
/// repositories) never share a preview.
pub fn name(
    prefix: &PreviewPrefix,
    number: u64,
    branch: &str,
    repository_key: &str,
) -> InstanceName {
    let head = format!("{}-{number}", prefix.as_str());
    let slug = slug(branch);
    let whole = if slug.is_empty() {
        head.clone()
    } else {
        format!("{head}-{slug}")
    };
    if slug == branch && whole.len() <= MAX_NAME_LEN {
        return InstanceName::parse(&whole).expect("a checked prefix, digits and a slug");
    }
    let hash = &short_hash(&format!("{repository_key}\n{number}\n{branch}"))[..HASH_LEN];
    // head + '-' + slug + '-' + hash
    let room = MAX_NAME_LEN.saturating_sub(head.len() + 2 + HASH_LEN);
    let cut = slug[..floor_char_boundary(&slug, room)].trim_end_matches('-');
    let text = if cut.is_empty() {
        format!("{head}-{hash}")
    } else {
        format!("{head}-{cut}-{hash}")
    };
    InstanceName::parse(&text).expect("a checked prefix, digits, a slug and hex digits")
}

/// What `grove preview up` builds a preview from: its name, host and source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The preview instance (and its namespace).
    pub name: InstanceName,
    /// Its `LMS_HOST`; `CMS_HOST` is `studio.` and the same.
    pub host: String,
    /// Whether the branch replaces edx-platform or the first theme.
    pub kind: RepositoryKind,
    /// The source repository.
    pub repository: Repository,
    /// The source branch.
    pub version: Version,
}

/// Whether a top-level key of the template's Tutor config is left out of a preview, so that
/// Tutor generates the preview's own: its id, passwords, secrets and keys.
fn is_secret(key: &str) -> bool {
    key == "ID"
        || key.contains("PASSWORD")
        || key.contains("SECRET")
        || key.starts_with("JWT_")
        || key.ends_with("_KEY")
}

/// The preview's `config.yml`: the template's, with its namespace, hosts and (for an
/// edx-platform preview) its edx-platform source set, and its secrets left out.
///
/// Every other key is kept as written. The result is read back and compared with the
/// template's, so a config this cannot rewrite safely is refused (exit 5), never mangled.
pub fn config_yml(template_path: &str, template: &str, source: &Source) -> Result<String> {
    let mut set = vec![
        ("K8S_NAMESPACE", source.name.to_string()),
        ("LMS_HOST", source.host.clone()),
        ("CMS_HOST", format!("studio.{}", source.host)),
    ];
    if source.kind == RepositoryKind::EdxPlatform {
        set.push(("EDX_PLATFORM_REPOSITORY", source.repository.to_string()));
        set.push(("EDX_PLATFORM_VERSION", source.version.to_string()));
    }
    rewrite(template_path, template, &set, is_secret)
}

/// The preview's `grove.yml`: the template's, kept out of batch upgrades, and (for a theme
/// preview) with its first theme moved to the source; a template with no theme gets one,
/// named after the repository.
pub fn settings_yml(template_path: &str, template: &str, source: &Source) -> Result<String> {
    let settings: InstanceSettings = crate::settings::parse(template_path, template)?;
    let mut set = vec![("BATCH_UPGRADE_DISABLED", "true".to_string())];
    if source.kind == RepositoryKind::Theme {
        let mut themes = settings.themes.clone();
        let theme = Theme {
            name: themes
                .first()
                .map(|t| t.name.clone())
                .unwrap_or_else(|| theme_name(source.repository.as_str())),
            repository: source.repository.clone(),
            version: source.version.clone(),
        };
        match themes.first_mut() {
            Some(first) => *first = theme,
            None => themes.push(theme),
        }
        let items: Vec<String> = themes
            .iter()
            .map(|t| {
                format!(
                    "{{name: {}, repository: {}, version: {}}}",
                    yaml::quote(&t.name),
                    yaml::quote(t.repository.as_str()),
                    yaml::quote(t.version.as_str())
                )
            })
            .collect();
        set.push(("THEMES", format!("[{}]", items.join(", "))));
    }
    let text = rewrite_raw(template, &set, |_| false);
    let back: InstanceSettings = yaml::from_settings(&text).map_err(|e| {
        Error::new(
            Cause::file(template_path),
            format!(
                "{template_path}: cannot be rewritten for a preview: {}",
                e.message
            ),
        )
    })?;
    if !back.batch_upgrade_disabled || back.theme_scss_overrides != settings.theme_scss_overrides {
        return Err(Error::new(
            Cause::file(template_path),
            format!("{template_path}: cannot be rewritten for a preview safely"),
        ));
    }
    Ok(text)
}

/// A theme folder name from a repository URL: its last path segment without `.git`.
fn theme_name(repository: &str) -> String {
    let last = repository
        .trim_end_matches('/')
        .rsplit(['/', ':'])
        .next()
        .unwrap_or_default();
    let last = last.strip_suffix(".git").unwrap_or(last);
    let name: String = last
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    if name.is_empty() {
        "preview-theme".to_string()
    } else {
        name
    }
}

/// Sets top-level keys of a YAML mapping (values are quoted unless they are given as YAML) and
/// leaves out those `drop` names, then checks by reading both back that nothing else changed.
fn rewrite(
    path: &str,
    text: &str,
    set: &[(&str, String)],
    drop: impl Fn(&str) -> bool,
) -> Result<String> {
    let quoted: Vec<(&str, String)> = set.iter().map(|(k, v)| (*k, yaml::quote(v))).collect();
    let out = rewrite_raw(text, &quoted, &drop);
    let read = |text: &str| -> Result<Map<String, Value>> {
        match yaml::parse(text, &yaml::Limits::SETTINGS).and_then(|n| n.to_json()) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(Value::Null) => Ok(Map::new()),
            Ok(_) => Err(Error::new(
                Cause::file(path),
                format!("{path}: not a mapping of keys to values"),
            )),
            Err(e) => Err(Error::new(
                Cause::file(path),
                format!("{path}: {}", e.message),
            )),
        }
    };
    let mut expected = read(text)?;
    expected.retain(|key, _| !drop(key));
    for (key, value) in set {
        expected.insert(key.to_string(), Value::String(value.clone()));
    }
    if read(&out)? != expected {
        return Err(Error::new(
            Cause::file(path),
            format!("{path}: cannot be rewritten for a preview safely (a key is written in a form Grove does not rewrite)"),
        ));
    }
    Ok(out)
}

/// The text of `rewrite` before the check: each top-level key line to set or drop is left out
/// with the lines that continue it, and `KEY: VALUE` lines are added at the end.
fn rewrite_raw(text: &str, set: &[(&str, String)], drop: impl Fn(&str) -> bool) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    let mut skipping = false;
    for line in text.lines() {
        let continues = line.is_empty()
            || line.starts_with([' ', '\t', '-'])
            || (line.starts_with('#') && skipping);
        if !continues || line == "---" {
            skipping = false;
            if let Some(key) = top_level_key(line) {
                skipping = drop(key) || set.iter().any(|(k, _)| *k == key);
            }
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    for (key, value) in set {
        out.push_str(&format!("{key}: {value}\n"));
    }
    out
}

/// The key of a `KEY: ...` line at the start of a line, unquoted keys only.
fn top_level_key(line: &str) -> Option<&str> {
    let (key, _) = line.split_once(':')?;
    (!key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    .then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_stable_and_distinct() {
        let n = |number, branch: &str| {
            name(&PreviewPrefix::default(), number, branch, "github.com/o/r").to_string()
        };
        assert_eq!(n(12, "feature-x"), "pr-12-feature-x");
        assert_eq!(n(12, "feature-x"), n(12, "feature-x"));
        let slash = n(12, "feature/x");
        assert!(slash.starts_with("pr-12-feature-x-"), "{slash}");
        assert_ne!(slash, n(12, "feature-x"));
        let long_a = n(7, &format!("{}-a", "very-long-branch-name".repeat(4)));
        let long_b = n(8, &format!("{}-b", "very-long-branch-name".repeat(4)));
        let long_c = n(7, &format!("{}-c", "very-long-branch-name".repeat(4)));
        for long in [&long_a, &long_b, &long_c] {
            assert!(long.len() <= MAX_NAME_LEN, "{long}");
            assert!(InstanceName::parse(long).is_ok());
        }
        assert_ne!(long_a, long_c);
        assert_ne!(long_a, long_b);
        assert_eq!(n(3, "___").len(), "pr-3-".len() + HASH_LEN);
        let other_repo = name(
            &PreviewPrefix::default(),
            12,
            "feature/x",
            "github.com/o/other",
        )
        .to_string();
        assert_ne!(other_repo, slash);
        let huge = name(&PreviewPrefix::default(), u64::MAX, &"x".repeat(300), "k").to_string();
        assert!(huge.len() <= MAX_NAME_LEN, "{huge}");
    }

    fn source(kind: RepositoryKind) -> Source {
        Source {
            name: InstanceName::parse("pr-4-fix").unwrap(),
            host: "pr-4-fix.preview.example.org".into(),
            kind,
            repository: Repository::parse("https://github.com/o/edx-platform.git").unwrap(),
            version: Version::parse("fix").unwrap(),
        }
    }

    #[test]
    fn config_keeps_the_template_and_sets_the_preview() {
        let template = "# staging\nLMS_HOST: staging.example.org\nPLATFORM_NAME: \"Staging\"\nID: abc\nMYSQL_ROOT_PASSWORD: s3cret\nLIST:\n- a\n- b\nNESTED:\n  x: 1\nEDX_PLATFORM_VERSION: main\n";
        let out = config_yml(
            "instances/staging/config.yml",
            template,
            &source(RepositoryKind::EdxPlatform),
        )
        .unwrap();
        assert_eq!(
            out,
            "# staging\nPLATFORM_NAME: \"Staging\"\nLIST:\n- a\n- b\nNESTED:\n  x: 1\nK8S_NAMESPACE: \"pr-4-fix\"\nLMS_HOST: \"pr-4-fix.preview.example.org\"\nCMS_HOST: \"studio.pr-4-fix.preview.example.org\"\nEDX_PLATFORM_REPOSITORY: \"https://github.com/o/edx-platform.git\"\nEDX_PLATFORM_VERSION: \"fix\"\n"
        );
        assert!(config_yml("c", "\"LMS_HOST\": x\n", &source(RepositoryKind::Theme)).is_err());
    }

    #[test]
    fn settings_move_the_first_theme() {
        let template = "THEMES:\n  - name: t\n    repository: https://x.org/t.git\nBATCH_UPGRADE_DISABLED: false\n";
        let out = settings_yml("g", template, &source(RepositoryKind::Theme)).unwrap();
        assert_eq!(out, "BATCH_UPGRADE_DISABLED: true\nTHEMES: [{name: \"t\", repository: \"https://github.com/o/edx-platform.git\", version: \"fix\"}]\n");
        let out = settings_yml("g", "", &source(RepositoryKind::Theme)).unwrap();
        assert!(out.contains("name: \"edx-platform\""), "{out}");
        let out = settings_yml("g", "", &source(RepositoryKind::EdxPlatform)).unwrap();
        assert_eq!(out, "BATCH_UPGRADE_DISABLED: true\n");
    }
}
