//! Requests: what a commit title or a webhook payload asks Grove to do.
//!
//! A request holds only checked values ([`crate::value`], [`InstanceName`]).

use crate::name::InstanceName;
use crate::preview::Preview;
use crate::value::{CommitHash, DeploymentId, Repository, RepositoryKind, Version};
use serde::Serialize;

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
    /// `[AutoDeploy][Delete] NAME,...`: Terraform (the commit removes their folders), then
    /// delete these instances' namespaces and stored state, for good.
    Delete(Vec<InstanceName>),
    /// `[AutoDeploy][Build][Image] REPO|VERSION,...`: build and push these base images.
    BuildImage(Vec<PlatformRef>),
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

/// The kind of a plan, as `grove plan --format json` names it in `kind` (other tools read it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Nothing to deploy.
    None,
    /// Terraform only.
    Infrastructure,
    /// Terraform, then create and deploy instances.
    Create,
    /// Deploy instances.
    Update,
    /// Stop instances' workloads, keeping their data.
    Archive,
    /// Terraform, then delete instances for good.
    Delete,
    /// Build base images, deploy nothing.
    BuildImage,
    /// Rebuild and redeploy the instances built from some repositories and versions.
    BatchUpgrade,
    /// Move every batch-enabled instance to one edx-platform commit.
    BatchUpgradeTo,
    /// Create or update a pull request's preview instance.
    PreviewUp,
    /// Archive and remove a pull request's preview instance.
    PreviewDown,
}

impl Kind {
    /// The kind's name in the JSON plan: `none`, `batch-upgrade`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::None => "none",
            Kind::Infrastructure => "infrastructure",
            Kind::Create => "create",
            Kind::Update => "update",
            Kind::Archive => "archive",
            Kind::Delete => "delete",
            Kind::BuildImage => "build-image",
            Kind::BatchUpgrade => "batch-upgrade",
            Kind::BatchUpgradeTo => "batch-upgrade-to",
            Kind::PreviewUp => "preview-up",
            Kind::PreviewDown => "preview-down",
        }
    }
}

/// What of the cluster repository a request's plan reads (besides `grove.yml`, the templates
/// and `defaults/grove-requirements.txt`, which every plan reads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need<'a> {
    /// Nothing of `instances/`: enough to decide what a webhook payload asks.
    Settings,
    /// Every file Grove reads of every instance (batch upgrades decide by reading them all).
    All,
    /// The `config.yml` of every instance (so that two instances that would share a namespace
    /// or a host are refused, whichever is named), and every file of these instances.
    Only(Vec<&'a InstanceName>),
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

impl Request {
    /// The kind of plan this request makes.
    pub fn kind(&self) -> Kind {
        match self {
            Request::Nothing | Request::Ignored { .. } => Kind::None,
            Request::Infrastructure { .. } => Kind::Infrastructure,
            Request::Create(_) => Kind::Create,
            Request::Update(_) => Kind::Update,
            Request::Archive(_) => Kind::Archive,
            Request::Delete(_) => Kind::Delete,
            Request::BuildImage(_) => Kind::BuildImage,
            Request::BatchUpgrade(_) | Request::Pushed(_) => Kind::BatchUpgrade,
            Request::BatchUpgradeTo(_) => Kind::BatchUpgradeTo,
            Request::PreviewUp(_) => Kind::PreviewUp,
            Request::PreviewDown(_) => Kind::PreviewDown,
        }
    }

    /// What of the cluster repository planning this request reads.
    pub fn need(&self) -> Need<'_> {
        match self {
            Request::Nothing
            | Request::Infrastructure { .. }
            | Request::Ignored { .. }
            | Request::PreviewDown(_)
            | Request::BuildImage(_)
            // The folders of instances to delete are gone from the commit.
            | Request::Delete(_) => Need::Only(Vec::new()),
            // The template it is built from.
            Request::PreviewUp(preview) => Need::Only(vec![&preview.template]),
            Request::Create(targets) | Request::Update(targets) => {
                Need::Only(targets.iter().map(|t| &t.name).collect())
            }
            Request::Archive(names) => Need::Only(names.iter().collect()),
            Request::BatchUpgrade(_) | Request::BatchUpgradeTo(_) | Request::Pushed(_) => Need::All,
        }
    }

    /// The commit title that asks for this request, in the current format.
    ///
    /// Parsing the result gives the same request back. `Nothing` prints as an empty title, and
    /// so do the requests only a webhook can make (`Pushed`, `PreviewUp`, `PreviewDown`,
    /// `Ignored`), which no title asks for.
    pub fn to_title(&self) -> String {
        fn names_of(names: &[InstanceName]) -> String {
            let names: Vec<&str> = names.iter().map(InstanceName::as_str).collect();
            names.join(",")
        }
        fn refs_of(refs: &[PlatformRef]) -> String {
            let refs: Vec<String> = refs
                .iter()
                .map(|r| format!("{}|{}", r.repository, r.version))
                .collect();
            refs.join(",")
        }
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
            Request::Archive(names) => format!("[AutoDeploy][Archive] {}", names_of(names)),
            Request::Delete(names) => format!("[AutoDeploy][Delete] {}", names_of(names)),
            Request::BatchUpgrade(refs) => {
                format!("[AutoDeploy][Batch][Upgrade] {}", refs_of(refs))
            }
            Request::BuildImage(refs) => format!("[AutoDeploy][Build][Image] {}", refs_of(refs)),
            Request::BatchUpgradeTo(commit) => format!("[AutoDeploy][Batch][UpgradeTo] {commit}"),
            Request::Pushed(_)
            | Request::PreviewUp(_)
            | Request::PreviewDown(_)
            | Request::Ignored { .. } => String::new(),
        }
    }
}
