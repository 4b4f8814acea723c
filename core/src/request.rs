//! Requests: what a commit title or a webhook payload asks Grove to do.
//!
//! A request holds only checked values. Each value type here refuses what could be read as
//! something else downstream: a leading `-` (an option to git or tutor), whitespace, quotes,
//! `$` and control characters.

use crate::diagnostic::Invalid;
use crate::name::InstanceName;
use crate::preview::Preview;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a commit title asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// No `[AutoDeploy]` tag: nothing to deploy.
    Nothing,
    /// `[AutoDeploy][Infrastructure] MESSAGE`: Terraform only.
    Infrastructure {
        /// The free text after the tags (never used in a job).
        message: String,
    },
    /// `[AutoDeploy][Create] NAME|ID,...`: Terraform, then deploy these instances.
    Create(Vec<Target>),
    /// `[AutoDeploy][Update] NAME|ID,...`: deploy these instances.
    Update(Vec<Target>),
    /// `[AutoDeploy][Archive] NAME,...`: archive these instances.
    Archive(Vec<InstanceName>),
    /// `[AutoDeploy][Batch][Upgrade] REPO|VERSION,...`: rebuild and redeploy matching instances.
    BatchUpgrade(Vec<PlatformRef>),
    /// `[AutoDeploy][Batch][UpgradeTo] COMMIT`: move every batch-enabled instance to a commit.
    BatchUpgradeTo(CommitHash),
    /// A push to a trusted edx-platform fork or theme repository (webhooks only): rebuild and
    /// redeploy every batch-enabled instance built from that repository and branch.
    Pushed(PushedRef),
    /// A pull request opened or updated (webhooks only): create or update its preview instance.
    PreviewUp(Box<Preview>),
    /// A pull request merged or closed (webhooks only): archive and remove its preview instance.
    PreviewDown(Box<Preview>),
    /// A webhook event that deploys nothing, and why (webhooks only).
    Ignored {
        /// Why nothing is deployed, in words; shown in the plan and in the no-op job's log.
        reason: String,
    },
}

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

/// A branch of a trusted repository that was pushed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushedRef {
    /// Whether the repository is an edx-platform fork or a theme.
    pub kind: RepositoryKind,
    /// The repository, as grove.yml lists it (instances are matched on the same repository
    /// whatever its spelling: `https://`, `git@`, with or without `.git`).
    pub repository: Repository,
    /// The branch pushed to.
    pub branch: Version,
}

/// An instance to deploy, with the id its requester uses to track the deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The instance.
    pub name: InstanceName,
    /// The client-provided deployment id, if any.
    pub deployment_id: Option<DeploymentId>,
}

/// An edx-platform repository and version, as in an instance's `config.yml`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PlatformRef {
    /// `EDX_PLATFORM_REPOSITORY`.
    pub repository: Repository,
    /// `EDX_PLATFORM_VERSION`.
    pub version: Version,
}

/// Defines a checked string type: its doc, its name, the limit, what it allows, and a hint.
macro_rules! checked_string {
    ($(#[$doc:meta])* $ty:ident, $what:literal, $max:expr, $min:expr, $allowed:expr, $hint:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $ty(String);

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

impl Request {
    /// The plan kind this request produces: `none`, `create`, `batch-upgrade`, ...
    pub fn kind(&self) -> &'static str {
        match self {
            Request::Nothing => "none",
            Request::Infrastructure { .. } => "infrastructure",
            Request::Create(_) => "create",
            Request::Update(_) => "update",
            Request::Archive(_) => "archive",
            Request::BatchUpgrade(_) => "batch-upgrade",
            Request::BatchUpgradeTo(_) => "batch-upgrade-to",
            Request::Pushed(_) => "batch-upgrade",
            Request::PreviewUp(_) => "preview-up",
            Request::PreviewDown(_) => "preview-down",
            Request::Ignored { .. } => "none",
        }
    }

    /// The instances a request names, or `None` when it concerns the whole fleet (batches).
    pub fn named_instances(&self) -> Option<Vec<&InstanceName>> {
        match self {
            Request::Nothing | Request::Infrastructure { .. } | Request::Ignored { .. } => {
                Some(Vec::new())
            }
            // The template it is built from.
            Request::PreviewUp(preview) => Some(vec![&preview.template]),
            Request::PreviewDown(_) => Some(Vec::new()),
            Request::Create(targets) | Request::Update(targets) => {
                Some(targets.iter().map(|t| &t.name).collect())
            }
            Request::Archive(names) => Some(names.iter().collect()),
            Request::BatchUpgrade(_) | Request::BatchUpgradeTo(_) | Request::Pushed(_) => None,
        }
    }

    /// The commit title that asks for this request, in the current format.
    ///
    /// Parsing the result gives the same request back. `Nothing` prints as an empty title, and
    /// so do the requests only a webhook can make (`Pushed`, `PreviewUp`, `PreviewDown`,
    /// `Ignored`), which no title asks for.
    pub fn to_title(&self) -> String {
        fn targets(list: &[Target]) -> String {
            let items: Vec<String> = list
                .iter()
                .map(|t| match &t.deployment_id {
                    Some(id) => format!("{}|{}", t.name, id),
                    None => t.name.to_string(),
                })
                .collect();
            items.join(",")
        }
        match self {
            Request::Nothing => String::new(),
            Request::Infrastructure { message } if message.is_empty() => {
                "[AutoDeploy][Infrastructure]".into()
            }
            Request::Infrastructure { message } => {
                format!("[AutoDeploy][Infrastructure] {message}")
            }
            Request::Create(list) => format!("[AutoDeploy][Create] {}", targets(list)),
            Request::Update(list) => format!("[AutoDeploy][Update] {}", targets(list)),
            Request::Archive(names) => {
                let names: Vec<&str> = names.iter().map(InstanceName::as_str).collect();
                format!("[AutoDeploy][Archive] {}", names.join(","))
            }
            Request::BatchUpgrade(refs) => {
                let refs: Vec<String> = refs
                    .iter()
                    .map(|r| format!("{}|{}", r.repository, r.version))
                    .collect();
                format!("[AutoDeploy][Batch][Upgrade] {}", refs.join(","))
            }
            Request::BatchUpgradeTo(commit) => format!("[AutoDeploy][Batch][UpgradeTo] {commit}"),
            Request::Pushed(_)
            | Request::PreviewUp(_)
            | Request::PreviewDown(_)
            | Request::Ignored { .. } => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_refuse_what_could_be_read_as_something_else() {
        assert!(DeploymentId::parse("42").is_ok());
        assert!(DeploymentId::parse("-rf").is_err());
        assert!(DeploymentId::parse("4 2").is_err());
        assert!(Repository::parse("https://github.com/openedx/edx-platform.git").is_ok());
        assert!(Repository::parse("git@github.com:openedx/edx-platform.git").is_ok());
        assert!(Repository::parse("--upload-pack=touch").is_err());
        assert!(Repository::parse("https://x/$CI_JOB_TOKEN").is_err());
        assert!(Version::parse("open-release/sumac.1").is_ok());
        assert!(Version::parse("a..b").is_err());
        assert!(Version::parse("v1\"").is_err());
        assert!(CommitHash::parse("0123abc").is_ok());
        assert!(CommitHash::parse("0123ab").is_err());
        assert!(CommitHash::parse("0123abg").is_err());
    }
}
