//! Checked values: what a title, a payload or a settings file may hold in a place where it
//! reaches a pipeline or a command line (deployment ids, repositories, versions, commits).
//!
//! Each type refuses what could be read as something else downstream: a leading `-` (an option
//! to git or tutor), whitespace, quotes, `$` and control characters. Each deserializes from a
//! string through the same check, so a settings file holds only checked values.

use crate::diagnostic::Invalid;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a trusted repository holds, as `kind` in `WEBHOOKS.trusted_repositories` of grove.yml.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RepositoryKind {
    /// An edx-platform fork: instances name it in `EDX_PLATFORM_REPOSITORY`.
    EdxPlatform,
    /// A comprehensive theme: instances name it in `THEMES` of their grove.yml.
    Theme,
}

impl RepositoryKind {
    /// The name used in grove.yml and on the command line: `edx-platform` or `theme`.
    pub fn as_str(self) -> &'static str {
        match self {
            RepositoryKind::EdxPlatform => "edx-platform",
            RepositoryKind::Theme => "theme",
        }
    }
}

/// Defines a checked string type: its doc, its name, the limit, what it allows, and a hint.
macro_rules! checked_string {
    ($(#[$doc:meta])* $ty:ident, $what:literal, $max:expr, $min:expr, $allowed:expr, $hint:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String")]
        pub struct $ty(String);

        impl TryFrom<String> for $ty {
            type Error = String;

            fn try_from(text: String) -> Result<Self, String> {
                $ty::parse(&text).map_err(|invalid| invalid.message)
            }
        }

        impl $ty {
            /// Checks `text` and returns it as this type.
            pub fn parse(text: &str) -> Result<Self, Invalid> {
                check(text, $what, $min, $max, $allowed, $hint).map(|()| $ty(text.to_string()))
            }

            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

checked_string!(
    /// A client-provided deployment id: letters, digits, `.`, `_` and `-`, at most 64.
    DeploymentId,
    "deployment id",
    64,
    1,
    |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'),
    "deployment ids use letters, digits, '.', '_' and '-'"
);

checked_string!(
    /// A git repository URL or path, as in `EDX_PLATFORM_REPOSITORY`.
    Repository,
    "repository",
    512,
    1,
    |c: char| c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '.' | '_' | '-' | '@' | '~' | '+' | '%'),
    "a repository is a URL such as https://github.com/openedx/edx-platform.git"
);

/// What a base image can be built from, for the hint of [`Repository::parse_remote`].
const REMOTE_HINT: &str = "a base image is built from a remote git URL: https://HOST/PATH, http://, ssh:// or git://, or USER@HOST:PATH";

impl Repository {
    /// [`Repository::parse`], and a remote git URL that a Docker build can clone: `https://`,
    /// `http://`, `ssh://` or `git://` with a host and a path, or the scp-like `USER@HOST:PATH`.
    /// A base image is built from such a URL (Tutor's image clones it); a path, or another
    /// transport such as `file://` or `ext::`, is refused.
    pub fn parse_remote(text: &str) -> Result<Repository, Invalid> {
        let repository = Repository::parse(text)?;
        if is_remote(text) {
            Ok(repository)
        } else {
            Err(Invalid::new(
                0..text.len(),
                format!("{text:?} is not a remote git URL"),
                REMOTE_HINT,
            ))
        }
    }
}

/// Whether `text` is a remote git URL (see [`Repository::parse_remote`]).
fn is_remote(text: &str) -> bool {
    for scheme in ["https://", "http://", "ssh://", "git://"] {
        if let Some(rest) = text.strip_prefix(scheme) {
            return matches!(rest.split_once('/'), Some((host, path)) if !host.is_empty() && !path.is_empty());
        }
    }
    // scp-like: no '/' before the first ':', a user and a host before it, a path after it.
    match text.split_once(':') {
        Some((login, path)) => {
            !login.contains('/')
                && !path.is_empty()
                && matches!(login.split_once('@'), Some((user, host)) if !user.is_empty() && !host.is_empty())
        }
        None => false,
    }
}

checked_string!(
    /// A git branch, tag or commit, as in `EDX_PLATFORM_VERSION`.
    Version,
    "version",
    255,
    1,
    |c: char| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+'),
    "a version is a git branch, tag or commit such as open-release/sumac.1"
);

checked_string!(
    /// A git commit hash: 7 to 64 hexadecimal digits.
    CommitHash,
    "commit hash",
    64,
    7,
    |c: char| c.is_ascii_hexdigit(),
    "a commit hash is 7 to 64 hexadecimal digits"
);

/// Checks a value against its length limits and allowed characters.
fn check(
    text: &str,
    what: &str,
    min: usize,
    max: usize,
    allowed: impl Fn(char) -> bool,
    hint: &str,
) -> Result<(), Invalid> {
    if text.is_empty() {
        return Err(Invalid::new(0..0, format!("the {what} is empty"), hint));
    }
    if text.starts_with('-') {
        return Err(Invalid::new(
            0..1,
            format!("a {what} must not start with '-'"),
            hint,
        ));
    }
    if let Some((at, c)) = text.char_indices().find(|&(_, c)| !allowed(c)) {
        return Err(Invalid::new(
            at..at + c.len_utf8(),
            format!("character {c:?} is not allowed in a {what}"),
            hint,
        ));
    }
    if text.len() < min || text.len() > max {
        return Err(Invalid::new(
            0..text.len(),
            format!(
                "the {what} is {} characters long; it must be {min} to {max}",
                text.len()
            ),
            hint,
        ));
    }
    if text.contains("..") {
        let at = text.find("..").unwrap_or(0);
        return Err(Invalid::new(
            at..at + 2,
            format!("a {what} must not contain '..'"),
            hint,
        ));
    }
    Ok(())
}

/// A host name, as in `LMS_HOST`: DNS labels of letters, digits and `-` (none starting or
/// ending with `-`), at most 253 bytes, and an optional `:PORT`. It is written into URLs that
/// GitLab reads (an environment's `url`), so nothing else is allowed in it, `$` least of all.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub struct Host(String);

impl Host {
    /// Checks `text` and returns it as a host.
    pub fn parse(text: &str) -> Result<Host, String> {
        let (name, port) = match text.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (text, None),
        };
        let name_ok = !name.is_empty()
            && name.len() <= 253
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        let port_ok = port
            .is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit()));
        if name_ok && port_ok {
            Ok(Host(text.to_string()))
        } else {
            Err(format!(
                "{text:?} is not a host name of letters, digits, '-' and '.' (with an optional :PORT)"
            ))
        }
    }

    /// The host as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Host {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        Host::parse(&text)
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The same repository whatever the spelling: host and path, lowercase, without scheme, user,
/// port, trailing `/` or `.git`. `git@host:path`, `ssh://git@host/path` and
/// `https://host/path.git` are one repository.
pub fn repository_key(url: &str) -> String {
    let url = url.trim().to_ascii_lowercase();
    let (rest, scp) = match url.split_once("://") {
        Some((_, rest)) => (rest.to_string(), false),
        None => (url.clone(), true),
    };
    let (authority, path) = match (scp, rest.split_once('/')) {
        // `git@host:path` (scp-like): the first ':' separates host and path.
        (true, _) if rest.contains(':') => {
            let (host, path) = rest.split_once(':').unwrap_or((&rest, ""));
            (host.to_string(), path.to_string())
        }
        (_, Some((authority, path))) => (authority.to_string(), path.to_string()),
        (_, None) => (rest.clone(), String::new()),
    };
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = match host.split_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => host,
    };
    let path = path.trim_end_matches('/');
    let path = path
        .strip_suffix(".git")
        .unwrap_or(path)
        .trim_end_matches('/');
    format!("{host}/{path}")
}

/// Whether two URLs name the same repository (see [`repository_key`]).
pub fn same_repository(a: &str, b: &str) -> bool {
    repository_key(a) == repository_key(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_spellings_are_one_repository() {
        let key = "github.com/open-craft/edx-platform";
        for url in [
            "https://github.com/open-craft/edx-platform.git",
            "https://github.com/open-craft/edx-platform",
            "https://github.com/Open-Craft/edx-platform/",
            "git@github.com:open-craft/edx-platform.git",
            "ssh://git@github.com:22/open-craft/edx-platform.git",
            "git://github.com/open-craft/edx-platform.git",
            "http://user@github.com/open-craft/edx-platform",
        ] {
            assert_eq!(repository_key(url), key, "{url}");
        }
        assert_ne!(
            repository_key("https://github.com/open-craft/edx-platform-x"),
            key
        );
        assert_ne!(
            repository_key("https://evil.org/github.com/open-craft/edx-platform"),
            key
        );
    }

    #[test]
    fn hosts_are_dns_names() {
        for ok in [
            "campus.example.org",
            "Campus.Example.org",
            "localhost",
            "a-b.c:8000",
        ] {
            assert!(Host::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-a.org",
            "a-.org",
            "a..org",
            "a.org/x",
            "$CI_JOB_TOKEN.org",
            "a.org:",
            "a.org:x",
            "a b.org",
        ] {
            assert!(Host::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_refuse_what_could_be_read_as_something_else() {
        assert!(DeploymentId::parse("42").is_ok());
        assert!(DeploymentId::parse("-rf").is_err());
        assert!(DeploymentId::parse("4 2").is_err());
        assert!(Repository::parse("https://github.com/openedx/edx-platform.git").is_ok());
        assert!(Repository::parse("git@github.com:openedx/edx-platform.git").is_ok());
        assert!(Repository::parse("--upload-pack=touch").is_err());
        assert!(Repository::parse("https://x/$CI_JOB_TOKEN").is_err());
        for remote in [
            "https://github.com/openedx/edx-platform.git",
            "http://git.example.org/a",
            "ssh://git@github.com:22/openedx/edx-platform.git",
            "git://github.com/openedx/edx-platform.git",
            "git@github.com:openedx/edx-platform.git",
        ] {
            assert!(Repository::parse_remote(remote).is_ok(), "{remote}");
        }
        for local in [
            "edx-platform",
            "/srv/git/edx-platform.git",
            "file:///srv/git/edx-platform.git",
            "ext::sh",
            "ftp://x.org/a.git",
            "https://",
            "https://x.org",
            "x.org:a.git",
            "@x.org:a.git",
            "git@:a.git",
            "git@x.org:",
            "a/b@x.org:c",
        ] {
            assert!(Repository::parse_remote(local).is_err(), "{local}");
        }
        assert!(Version::parse("open-release/sumac.1").is_ok());
        assert!(Version::parse("a..b").is_err());
        assert!(Version::parse("v1\"").is_err());
        assert!(CommitHash::parse("0123abc").is_ok());
        assert!(CommitHash::parse("0123ab").is_err());
        assert!(CommitHash::parse("0123abg").is_err());
    }
}
