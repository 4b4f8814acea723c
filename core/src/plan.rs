//! The plan: what a request will do to the fleet, in which order, and what it leaves out and why.
//!
//! A plan is the contract between deciding and rendering. `grove plan --format json` prints it;
//! its field names (`kind`, `terraform`, `instances`, `skipped`) are read by other tools and
//! stay stable.

use crate::error::{Cause, Error, Result};
use crate::fleet::{Fleet, Instance, CLUSTER_SETTINGS, CONFIG_FILE, INSTANCES_DIR, SETTINGS_FILE};
use crate::job::Step;
use crate::name::InstanceName;
use crate::preview::Preview;
use crate::request::{Kind, PlatformRef, PushedRef, Request, Target};
use crate::value::{same_repository, CommitHash, DeploymentId, Repository, RepositoryKind};
use serde::ser::SerializeStruct;
use serde::Serialize;
use std::collections::BTreeMap;

/// What happens to one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Created (from `defaults/` if its folder is missing) and deployed.
    Create,
    /// Redeployed with its current config.
    Update,
    /// Image rebuilt on a new base image, then redeployed.
    Upgrade,
    /// Workloads stopped, data kept.
    Archive,
    /// Namespace and stored state deleted, for good (its folder already gone).
    Delete,
}

/// One instance the pipeline acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedInstance {
    /// The instance.
    pub name: InstanceName,
    /// The requester's deployment id, if the title gave one.
    pub deployment_id: Option<DeploymentId>,
    /// What happens to it.
    pub action: Action,
    /// Whether its folder is in the commit: always true, since Create needs it there too (the
    /// field stays for the tools that read it).
    pub exists: bool,
    /// The short hash of its requirements, for the venv cache key.
    pub requirements_hash: String,
    /// Index into [`Plan::base_images`] of the base image it is rebuilt on, in batch upgrades.
    pub base_image: Option<usize>,
    /// The edx-platform version it is moved to, in `UpgradeTo`.
    pub edx_platform_version: Option<CommitHash>,
}

/// A base image built before the instances that use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseImage {
    /// The edx-platform repository.
    pub repository: Repository,
    /// The branch, tag or commit.
    pub version: String,
    /// How many planned instances are built on it.
    pub instances: usize,
}

/// An instance the request could have touched but leaves alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The instance (or folder) name.
    pub name: String,
    /// Why it is left out, in words.
    pub reason: String,
}

/// What a request will do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// What kind of request it carries out.
    pub kind: Kind,
    /// Whether Terraform plan and apply run first.
    pub terraform: bool,
    /// The instances acted on: in title order for Create, Update and Archive, by name for batches.
    pub instances: Vec<PlannedInstance>,
    /// Instances left out, with the reason.
    pub skipped: Vec<Skipped>,
    /// Base images built first, in batch upgrades.
    pub base_images: Vec<BaseImage>,
    /// Why the pipeline does nothing, when it does nothing.
    pub reason: Option<String>,
    /// Other things worth knowing, one sentence each.
    pub notes: Vec<String>,
    /// The preview instance a `preview-up` or `preview-down` plan acts on (webhooks only).
    pub preview: Option<Preview>,
}

/// A shard child pipeline, as a report of a sharded pipeline lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedShard {
    /// Its number, from 1.
    pub number: usize,
    /// Its file name in the shard folder.
    pub file: String,
    /// The instances whose jobs it holds.
    pub instances: Vec<InstanceName>,
    /// How many jobs it holds.
    pub jobs: usize,
    /// How many bytes of YAML it is.
    pub bytes: usize,
}

/// A plan with what rendering it found: the plan as `grove plan` shows it, in words, in
/// Markdown, or as JSON (whose fields other tools read, and which stay as they are).
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    /// The plan.
    pub plan: &'a Plan,
    /// Keys of `PIPELINE_PATCHES` that no template has a patch point for.
    pub unknown_patches: &'a [String],
    /// The shard child pipelines, when the pipeline is too big for GitLab's limits.
    pub shards: &'a [PlannedShard],
}

/// The JSON plan: `kind`, `terraform`, `instances`, `skipped`, `base_images`, `reason`,
/// `notes`, `unknown_patches`, then `preview` and `shards` when there are any.
impl Serialize for Report<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let plan = self.plan;
        let fields = 8 + usize::from(plan.preview.is_some()) + usize::from(!self.shards.is_empty());
        let mut out = serializer.serialize_struct("Plan", fields)?;
        out.serialize_field("kind", &plan.kind)?;
        out.serialize_field("terraform", &plan.terraform)?;
        out.serialize_field("instances", &plan.instances)?;
        out.serialize_field("skipped", &plan.skipped)?;
        out.serialize_field("base_images", &plan.base_images)?;
        out.serialize_field("reason", &plan.reason)?;
        out.serialize_field("notes", &plan.notes)?;
        out.serialize_field("unknown_patches", self.unknown_patches)?;
        if let Some(preview) = &plan.preview {
            out.serialize_field("preview", preview)?;
        }
        if !self.shards.is_empty() {
            out.serialize_field("shards", self.shards)?;
        }
        out.end()
    }
}

impl Plan {
    fn empty(kind: Kind) -> Plan {
        Plan {
            kind,
            terraform: false,
            instances: Vec::new(),
            skipped: Vec::new(),
            base_images: Vec::new(),
            reason: None,
            notes: Vec::new(),
            preview: None,
        }
    }

    /// Decides what `request` does to `fleet`.
    ///
    /// Fails with exit 3 when Update or Archive names an instance that is not there, and with
    /// exit 5 when a file the plan must read is malformed.
    pub fn new(request: &Request, fleet: &Fleet) -> Result<Plan> {
        let mut plan = Plan::empty(request.kind());
        match request {
            Request::Nothing => {
                plan.reason = Some("the commit title has no [AutoDeploy] tag".into());
            }
            Request::Infrastructure { .. } => plan.terraform = true,
            Request::Create(targets) => {
                plan.terraform = true;
                plan.instances = deployed(fleet, targets, Action::Create)?;
            }
            Request::Update(targets) => plan.instances = deployed(fleet, targets, Action::Update)?,
            Request::Archive(names) => {
                require_all(fleet, names.iter())?;
                plan.instances = named(fleet, names, Action::Archive);
            }
            Request::Delete(names) => {
                require_gone(fleet, names)?;
                plan.terraform = true;
                plan.instances = named(fleet, names, Action::Delete);
            }
            Request::BuildImage(refs) => {
                for r in refs {
                    plan.base_images.push(BaseImage {
                        repository: r.repository.clone(),
                        version: r.version.to_string(),
                        instances: 0,
                    });
                }
            }
            Request::BatchUpgrade(refs) => batch(&mut plan, fleet, Batch::Pairs(refs))?,
            Request::BatchUpgradeTo(commit) => batch(&mut plan, fleet, Batch::To(commit))?,
            Request::Pushed(pushed) => batch(&mut plan, fleet, Batch::Pushed(pushed))?,
            Request::PreviewUp(preview) | Request::PreviewDown(preview) => {
                // An instance of the preview's name that is not a preview is refused by
                // `grove preview up` and `down` themselves (exit 4), which see its folder.
                if let Request::PreviewUp(_) = request {
                    // Parse the template now so a broken one fails the generation.
                    fleet.instance(&preview.template)?;
                }
                plan.preview = Some((**preview).clone());
            }
            Request::Ignored { reason } => plan.reason = Some(reason.clone()),
        }
        for ignored in &fleet.ignored {
            if matches!(
                request,
                Request::BatchUpgrade(_) | Request::BatchUpgradeTo(_) | Request::Pushed(_)
            ) {
                plan.skipped.push(Skipped {
                    name: ignored.folder.clone(),
                    reason: ignored.reason.clone(),
                });
            }
        }
        if plan.reason.is_none()
            && plan.instances.is_empty()
            && !plan.terraform
            && plan.preview.is_none()
            && plan.base_images.is_empty()
        {
            plan.reason = Some("no instance matches the request".into());
        }
        if !plan.instances.is_empty() || plan.preview.is_some() {
            check_store(fleet)?;
        }
        if plan.terraform {
            check_terraform(fleet, plan.kind)?;
        }
        Ok(plan)
    }

    /// The first line of [`Report::describe`]: what the pipeline does, in one sentence.
    fn headline(&self) -> String {
        let count = instances;
        match self.kind {
            _ if self.reason.is_some() => "Nothing to deploy.".to_string(),
            Kind::Infrastructure => {
                "Infrastructure: Terraform plan and apply, no instance.".to_string()
            }
            Kind::Create => format!(
                "Create: Terraform plan and apply, then create and deploy {}.",
                count(self.instances.len())
            ),
            Kind::Update => format!(
                "Update: deploy {}, no Terraform.",
                count(self.instances.len())
            ),
            Kind::Delete => format!(
                "Delete: Terraform plan and apply, then delete the namespace and the stored state of {}, for good.",
                count(self.instances.len())
            ),
            Kind::BuildImage => format!(
                "Build image: build and push {} base image{}; deploy nothing.",
                self.base_images.len(),
                if self.base_images.len() == 1 { "" } else { "s" }
            ),
            Kind::Archive => format!(
                "Archive: stop the workloads of {}, keeping their data.",
                count(self.instances.len())
            ),
            Kind::BatchUpgrade if self.base_images.is_empty() => format!(
                "Batch upgrade: rebuild and redeploy {}.",
                count(self.instances.len())
            ),
            Kind::BatchUpgrade | Kind::BatchUpgradeTo => format!(
                "Batch upgrade: build {} base image{}, then rebuild and redeploy {}.",
                self.base_images.len(),
                if self.base_images.len() == 1 { "" } else { "s" },
                count(self.instances.len())
            ),
            Kind::PreviewUp | Kind::PreviewDown => match &self.preview {
                Some(p) if self.kind == Kind::PreviewUp => format!(
                    "Preview up: create or update preview instance {} from {}, with {} {} at {}.",
                    p.name,
                    p.template,
                    p.kind.as_str(),
                    p.repository.as_ref().map_or("", Repository::as_str),
                    p.branch
                ),
                Some(p) => format!(
                    "Preview down: archive and remove preview instance {}.",
                    p.name
                ),
                None => format!("{}.", self.kind.as_str()),
            },
            Kind::None => "Nothing to deploy.".to_string(),
        }
    }

    /// Whether the pipeline has nothing to do but say so.
    pub fn is_noop(&self) -> bool {
        self.reason.is_some()
    }
}

impl Report<'_> {
    /// The plan in plain words, one line per fact, for people.
    pub fn describe(&self) -> String {
        let plan = self.plan;
        let mut out = String::new();
        let count = instances;
        let headline = plan.headline();
        out.push_str(&headline);
        out.push('\n');
        if let Some(reason) = &plan.reason {
            out.push_str(&format!("Why: {reason}.\n"));
        }
        if let Some(p) = &plan.preview {
            out.push_str(&format!("  environment {} at {}", p.environment, p.url));
            if let Some(stop) = p
                .auto_stop_in
                .as_ref()
                .filter(|_| plan.kind == Kind::PreviewUp)
            {
                out.push_str(&format!(", stopped automatically after {stop}"));
            }
            out.push('\n');
        }
        for (i, image) in plan.base_images.iter().enumerate() {
            let used = match image.instances {
                0 => String::new(),
                n => format!(" (for {})", count(n)),
            };
            out.push_str(&format!(
                "  base image {}: {} at {}{used}\n",
                i + 1,
                image.repository,
                image.version,
            ));
        }
        for instance in &plan.instances {
            let mut line = format!("  {}", instance.name);
            if let Some(id) = &instance.deployment_id {
                line.push_str(&format!(" (deployment {id})"));
            }
            line.push_str(&format!(": {}", steps(instance)));
            if let Some(version) = &instance.edx_platform_version {
                line.push_str(&format!(", moved to edx-platform {version}"));
            }
            out.push_str(&line);
            out.push('\n');
        }
        if !plan.skipped.is_empty() {
            out.push_str("Left out:\n");
            for skipped in &plan.skipped {
                out.push_str(&format!("  {}: {}\n", skipped.name, skipped.reason));
            }
        }
        describe_shards(self.shards, &mut out);
        for note in &plan.notes {
            out.push_str(&format!("Note: {note}.\n"));
        }
        if !self.unknown_patches.is_empty() {
            out.push_str(&format!(
                "Unknown patches: PIPELINE_PATCHES in grove.yml names {}, which no template has a patch point for; they are not used.\n",
                self.unknown_patches.join(", ")
            ));
        }
        out
    }

    /// The plan in Markdown (GitLab Flavored), for a merge request note: what the pipeline does,
    /// each instance and its steps, the base images, what is left out and why, the shards.
    ///
    /// Values from titles, payloads and the repository are written in code spans (where GitLab
    /// reads no Markdown, HTML or reference), and in the sentences that carry them (why an
    /// instance is left out, notes) the characters Markdown and GitLab's references use are
    /// escaped.
    pub fn markdown(&self) -> String {
        let plan = self.plan;
        let mut out = String::new();
        let headline = match (&plan.preview, plan.reason.is_some()) {
            (Some(p), false) if plan.kind == Kind::PreviewUp => format!(
                "Preview up: create or update preview instance {} from {}, with {} {} at {}.",
                code(p.name.as_str()),
                code(p.template.as_str()),
                p.kind.as_str(),
                code(p.repository.as_ref().map_or("", Repository::as_str)),
                code(p.branch.as_str())
            ),
            (Some(p), false) => format!(
                "Preview down: archive and remove preview instance {}.",
                code(p.name.as_str())
            ),
            // The other headlines hold no value from outside (a kind, counts).
            _ => plan.headline(),
        };
        out.push_str(&format!("**{headline}**\n"));
        if let Some(reason) = &plan.reason {
            out.push_str(&format!("\nWhy: {}.\n", text(reason)));
        }
        if let Some(p) = &plan.preview {
            out.push_str(&format!(
                "\nEnvironment {} at {}",
                code(&p.environment),
                code(&p.url)
            ));
            if let Some(stop) = p
                .auto_stop_in
                .as_ref()
                .filter(|_| plan.kind == Kind::PreviewUp)
            {
                out.push_str(&format!(", stopped automatically after {}", code(stop)));
            }
            out.push_str(".\n");
        }
        if plan.terraform {
            out.push_str("\nTerraform: plan, then apply, before anything else.\n");
        }
        if !plan.base_images.is_empty() {
            out.push_str("\nBase images, built first:\n\n| # | Repository | Version | For |\n|---|---|---|---|\n");
            for (i, image) in plan.base_images.iter().enumerate() {
                let used = match image.instances {
                    0 => "no instance of this pipeline".to_string(),
                    n => instances(n),
                };
                out.push_str(&format!(
                    "| {} | {} | {} | {used} |\n",
                    i + 1,
                    code(image.repository.as_str()),
                    code(&image.version),
                ));
            }
        }
        if !plan.instances.is_empty() {
            // The deployment column only when a title gave deployment ids.
            let ids = plan.instances.iter().any(|i| i.deployment_id.is_some());
            out.push_str(&format!(
                "\n{}:\n\n{}\n",
                capitalized(&instances(plan.instances.len())),
                if ids {
                    "| Instance | Deployment | Steps |\n|---|---|---|"
                } else {
                    "| Instance | Steps |\n|---|---|"
                }
            ));
            for instance in &plan.instances {
                let mut steps = steps(instance).replace("defaults/", "`defaults/`");
                if let Some(version) = &instance.edx_platform_version {
                    steps.push_str(&format!(
                        ", moved to edx-platform {}",
                        code(version.as_str())
                    ));
                }
                let id = match (&instance.deployment_id, ids) {
                    (Some(id), _) => format!(" {} |", code(&id.to_string())),
                    (None, true) => " |".to_string(),
                    (None, false) => String::new(),
                };
                out.push_str(&format!(
                    "| {} |{id} {steps} |\n",
                    code(instance.name.as_str()),
                ));
            }
        }
        if !plan.skipped.is_empty() {
            out.push_str(&format!(
                "\nLeft out ({}):\n\n| Instance | Why |\n|---|---|\n",
                plan.skipped.len()
            ));
            for skipped in &plan.skipped {
                out.push_str(&format!(
                    "| {} | {} |\n",
                    code(&skipped.name),
                    text(&skipped.reason)
                ));
            }
        }
        if !self.shards.is_empty() {
            out.push_str(&format!(
                "\nSharded: too big for one pipeline file (`LIMITS` in `grove.yml`), so the pipeline triggers {} shard pipeline{}:\n\n| Shard | File | Instances | Jobs | Bytes |\n|---|---|---|---|---|\n",
                self.shards.len(),
                if self.shards.len() == 1 { "" } else { "s" }
            ));
            for shard in self.shards {
                let span = match (shard.instances.first(), shard.instances.last()) {
                    (Some(first), Some(last)) if shard.instances.len() > 1 => {
                        format!(": {} … {}", code(first.as_str()), code(last.as_str()))
                    }
                    (Some(only), _) => format!(": {}", code(only.as_str())),
                    _ => String::new(),
                };
                out.push_str(&format!(
                    "| {} | {} | {}{span} | {} | {} |\n",
                    shard.number,
                    code(&shard.file),
                    shard.instances.len(),
                    shard.jobs,
                    shard.bytes
                ));
            }
        }
        if !plan.notes.is_empty() || !self.unknown_patches.is_empty() {
            out.push('\n');
        }
        for note in &plan.notes {
            out.push_str(&format!("> Note: {}.\n", text(note)));
        }
        if !self.unknown_patches.is_empty() {
            let names: Vec<String> = self.unknown_patches.iter().map(|n| code(n)).collect();
            out.push_str(&format!(
                "> Unknown patches: `PIPELINE_PATCHES` in `grove.yml` names {}, which no template has a patch point for; they are not used.\n",
                names.join(", ")
            ));
        }
        out
    }
}

/// "1 instance", "3 instances".
fn instances(n: usize) -> String {
    if n == 1 {
        "1 instance".to_string()
    } else {
        format!("{n} instances")
    }
}

/// The text with its first letter in capitals.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The jobs of one planned instance, in words.
fn steps(instance: &PlannedInstance) -> String {
    match instance.action {
        Action::Archive => "archive".to_string(),
        Action::Delete => "delete (namespace, stored state)".to_string(),
        Action::Create | Action::Update | Action::Upgrade => {
            Step::ALL.map(Step::describe).join(" → ")
        }
    }
}

/// The shards in plain words, for [`Report::describe`]; nothing when there are none.
fn describe_shards(shards: &[PlannedShard], out: &mut String) {
    if shards.is_empty() {
        return;
    }
    out.push_str(&format!(
        "Sharded: too big for one pipeline file (LIMITS in grove.yml), so the pipeline triggers {} shard pipeline{}:\n",
        shards.len(),
        if shards.len() == 1 { "" } else { "s" }
    ));
    for shard in shards {
        let span = match (shard.instances.first(), shard.instances.last()) {
            (Some(first), Some(last)) if shard.instances.len() > 1 => format!(": {first} … {last}"),
            (Some(only), _) => format!(": {only}"),
            _ => String::new(),
        };
        out.push_str(&format!(
            "  shard {} ({}): {} instance{}, {} jobs, {} bytes{span}\n",
            shard.number,
            shard.file,
            shard.instances.len(),
            if shard.instances.len() == 1 { "" } else { "s" },
            shard.jobs,
            shard.bytes
        ));
    }
}

/// A value as a Markdown code span that is safe in a table cell (see [`markdown_code`]).
fn code(value: &str) -> String {
    code_span(value, true)
}

/// A value as a Markdown code span, where GitLab reads no Markdown, HTML or reference: the
/// fence is longer than any run of backticks in it, and line breaks become spaces.
pub fn markdown_code(value: &str) -> String {
    code_span(value, false)
}

/// [`markdown_code`], with `|` escaped when it goes in a table cell (GFM splits table rows
/// before it reads code spans).
fn code_span(value: &str, in_table: bool) -> String {
    let mut value = value.replace(['\r', '\n'], " ");
    if in_table {
        value = value.replace('|', "\\|");
    }
    let mut longest = 0;
    let mut run = 0;
    for c in value.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if value.starts_with('`') || value.ends_with('`') || value.trim().is_empty() {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{value}{pad}{fence}")
}

/// Text for Markdown: the characters that Markdown, GitLab's extensions (`:emoji:`, `{+ +}`,
/// `$math$`) and its references (`@user`, `#1`, `!1`, `~label`, `%milestone`, `&epic`) read
/// are escaped with a backslash, and line breaks become spaces.
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\r' | '\n' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '!' | '#' | '|' | '~' | '@' | '&'
            | '$' | ':' | '%' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Refuses (exit 5) a store that a pipeline's jobs would lose: the jobs of a pipeline that acts
/// on instances keep their state (Tutor's secrets) in `ENV_STORE`, and each job starts from a
/// fresh checkout, so a folder inside the repository is gone when the job that wrote it ends.
/// An absolute path or `file:///` URL is taken as a disk the runners keep, on purpose.
fn check_store(fleet: &Fleet) -> Result<()> {
    let setting = fleet.settings.env_store.as_deref().map(str::trim);
    let durable = setting
        .is_some_and(|s| s.starts_with("s3://") || s.starts_with("file:///") || s.starts_with('/'));
    if durable {
        return Ok(());
    }
    let what = match setting {
        None | Some("") => "ENV_STORE is not set, so instances' state (Tutor's secrets) would be kept in the folder .grove/env-store of the job's checkout".to_string(),
        Some(other) => format!("ENV_STORE {other:?} is not an s3:// URL or an absolute path"),
    };
    let message = format!(
        "{what}, which is gone when the job ends: the next pipeline would generate new secrets. \
         Set ENV_STORE to s3://bucket/prefix, or to an absolute path or file:/// URL on a disk every runner keeps"
    );
    Err(
        if fleet
            .file(CLUSTER_SETTINGS)
            .is_some_and(|t| t.contains("ENV_STORE"))
        {
            fleet.key_diagnostic(CLUSTER_SETTINGS, "ENV_STORE", &message)
        } else {
            Error::new(
                Cause::setting(CLUSTER_SETTINGS, "ENV_STORE"),
                format!("{CLUSTER_SETTINGS}: {message}"),
            )
        },
    )
}

/// Fails with exit 3 when an instance to create is not in the commit: a folder that a CI job
/// made from `defaults/` would be gone with the job, and with it what Tutor needs.
fn require_committed<'a>(
    fleet: &Fleet,
    names: impl Iterator<Item = &'a InstanceName>,
) -> Result<()> {
    match names.into_iter().find(|name| !fleet.contains(name)) {
        None => Ok(()),
        Some(name) => Err(Error::new(
            Cause::NoSuchInstance,
            format!(
                "instance \"{name}\" is not in this commit ({INSTANCES_DIR}/{name}/{CONFIG_FILE} does not exist): \
                 run `grove new {name}`, set its config, commit and push, then create it; a folder made inside a CI job \
                 is gone when the job ends"
            ),
        )),
    }
}

/// Fails with exit 5 when an instance to delete is still in the commit: its commit must remove
/// its folder, so that no later Terraform run recreates what this one destroys.
fn require_gone(fleet: &Fleet, names: &[InstanceName]) -> Result<()> {
    match names.iter().find(|name| fleet.contains(name)) {
        None => Ok(()),
        Some(name) => Err(Error::new(
            Cause::file(format!("{INSTANCES_DIR}/{name}/{CONFIG_FILE}")),
            format!(
                "instance \"{name}\" is still in this commit ({INSTANCES_DIR}/{name}/{CONFIG_FILE} exists): \
                 a Delete's commit also removes {INSTANCES_DIR}/{name}/ (`git rm -r {INSTANCES_DIR}/{name}`), \
                 so that no later Terraform run recreates what this one destroys"
            ),
        )),
    }
}

/// Fails with exit 5 when a plan that runs Terraform has no Terraform configuration to run:
/// no `.tf` file in `TERRAFORM_DIR` (`infrastructure/` unless grove.yml names another folder).
fn check_terraform(fleet: &Fleet, kind: Kind) -> Result<()> {
    let dir = fleet.settings.terraform_dir();
    if fleet
        .files_under(dir)
        .any(|(path, _)| path.ends_with(".tf") && !path.contains('/'))
    {
        return Ok(());
    }
    Err(Error::new(
        Cause::setting(CLUSTER_SETTINGS, "TERRAFORM_DIR"),
        format!(
            "{dir}/ holds no Terraform configuration (*.tf), and the {} pipeline runs Terraform first: \
             add the cluster's Terraform to {dir}/, or name its folder in TERRAFORM_DIR of {CLUSTER_SETTINGS}",
            kind.as_str()
        ),
    ))
}

/// The instances `names`, each with `action` (one that needs no more of the fleet).
fn named(fleet: &Fleet, names: &[InstanceName], action: Action) -> Vec<PlannedInstance> {
    names
        .iter()
        .map(|name| PlannedInstance {
            name: name.clone(),
            deployment_id: None,
            action,
            exists: fleet.contains(name),
            requirements_hash: fleet.requirements_hash(name),
            base_image: None,
            edx_platform_version: None,
        })
        .collect()
}

/// Fails with exit 3, naming every listed instance that is not in the fleet.
fn require_all<'a>(fleet: &Fleet, names: impl Iterator<Item = &'a InstanceName>) -> Result<()> {
    let missing: Vec<String> = names
        .filter(|name| !fleet.contains(name))
        .map(|name| format!("\"{name}\""))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let (noun, list) = match missing.len() {
        1 => ("instance", missing[0].clone()),
        _ => ("instances", missing.join(", ")),
    };
    Err(Error::new(
        Cause::NoSuchInstance,
        format!("no such {noun} {list} in {INSTANCES_DIR}/ (each needs {INSTANCES_DIR}/NAME/{CONFIG_FILE})"),
    ))
}

/// Plans Create or Update of the listed instances, in title order.
fn deployed(fleet: &Fleet, targets: &[Target], action: Action) -> Result<Vec<PlannedInstance>> {
    if action == Action::Create {
        require_committed(fleet, targets.iter().map(|t| &t.name))?;
    }
    require_all(fleet, targets.iter().map(|t| &t.name))?;
    targets
        .iter()
        .map(|target| {
            // Parse it now so a broken config fails the generation, not the deployment.
            fleet.instance(&target.name)?;
            Ok(PlannedInstance {
                name: target.name.clone(),
                deployment_id: target.deployment_id.clone(),
                action,
                exists: true,
                requirements_hash: fleet.requirements_hash(&target.name),
                base_image: None,
                edx_platform_version: None,
            })
        })
        .collect()
}

/// What a batch upgrade matches on.
enum Batch<'a> {
    /// `[Batch][Upgrade] REPO|VERSION,...`
    Pairs(&'a [PlatformRef]),
    /// `[Batch][UpgradeTo] COMMIT`
    To(&'a CommitHash),
    /// A push to a trusted repository: the instances built from it (edx-platform, on a base
    /// image of it) or using it as a theme (on no base image), whatever its URL's spelling.
    Pushed(&'a PushedRef),
}

/// Plans a batch upgrade: every matching instance that allows it, by name, after base images.
fn batch(plan: &mut Plan, fleet: &Fleet, batch: Batch<'_>) -> Result<()> {
    // Base image key → index into plan.base_images, in order of first use.
    let mut images: BTreeMap<(String, String), usize> = BTreeMap::new();
    for name in fleet.names() {
        let instance = fleet.instance(name)?;
        let repository = instance.config.edx_platform_repository.as_ref();
        let version = instance.config.edx_platform_version.as_ref();
        let (image_repository, image_version) = match batch {
            Batch::Pairs(refs) => {
                let matched = refs
                    .iter()
                    .any(|r| Some(&r.repository) == repository && Some(&r.version) == version);
                if !matched {
                    continue;
                }
                (repository, version.map(|v| v.to_string()))
            }
            Batch::Pushed(pushed) => {
                let built_from = match pushed.kind {
                    RepositoryKind::EdxPlatform => {
                        repository.is_some_and(|r| {
                            same_repository(r.as_str(), pushed.repository.as_str())
                        }) && version == Some(&pushed.branch)
                    }
                    RepositoryKind::Theme => instance.settings.themes.iter().any(|t| {
                        same_repository(t.repository.as_str(), pushed.repository.as_str())
                            && t.version == pushed.branch
                    }),
                };
                if !built_from {
                    continue;
                }
                (repository, version.map(|v| v.to_string()))
            }
            Batch::To(commit) => match repository {
                Some(repository) => (Some(repository), Some(commit.to_string())),
                None => {
                    plan.skipped.push(Skipped {
                        name: name.to_string(),
                        reason: format!(
                            "{INSTANCES_DIR}/{name}/{CONFIG_FILE} sets no EDX_PLATFORM_REPOSITORY"
                        ),
                    });
                    continue;
                }
            },
        };
        if instance.settings.batch_upgrade_disabled {
            plan.skipped.push(Skipped {
                name: name.to_string(),
                reason: format!(
                    "BATCH_UPGRADE_DISABLED is true in {INSTANCES_DIR}/{name}/{SETTINGS_FILE}"
                ),
            });
            continue;
        }
        if let Batch::Pushed(PushedRef {
            kind: RepositoryKind::Theme,
            ..
        }) = batch
        {
            // A theme is cloned into the instance's own image: no base image to rebuild.
            plan.instances
                .push(upgraded(fleet, &instance, None, &batch));
            continue;
        }
        // A batch matches only instances that name both (their config was read typed).
        let (Some(image_repository), Some(image_version)) = (image_repository, image_version)
        else {
            continue;
        };
        let key = (image_repository.to_string(), image_version.clone());
        let index = match images.get(&key) {
            Some(&index) => index,
            None => {
                plan.base_images.push(BaseImage {
                    repository: image_repository.clone(),
                    version: image_version,
                    instances: 0,
                });
                images.insert(key, plan.base_images.len() - 1);
                plan.base_images.len() - 1
            }
        };
        plan.base_images[index].instances += 1;
        plan.instances
            .push(upgraded(fleet, &instance, Some(index), &batch));
    }
    if let Batch::Pushed(pushed) = batch {
        if plan.instances.is_empty() {
            let verb = match pushed.kind {
                RepositoryKind::EdxPlatform => "is built from",
                RepositoryKind::Theme => "uses the theme",
            };
            plan.notes.push(format!(
                "no batch-enabled instance {verb} {} at {}",
                pushed.repository, pushed.branch
            ));
        }
    }
    if let (Batch::To(commit), false) = (&batch, plan.instances.is_empty()) {
        plan.notes.push(format!(
            "each instance is built and deployed at edx-platform {commit} for this pipeline; its config.yml in git keeps its own EDX_PLATFORM_VERSION, \
             which the next Update of it deploys again: commit the version to keep it"
        ));
    }
    if let Batch::Pairs(refs) = batch {
        for r in refs {
            if !images.contains_key(&(r.repository.to_string(), r.version.to_string())) {
                plan.notes.push(format!(
                    "no batch-enabled instance is built from {}|{}",
                    r.repository, r.version
                ));
            }
        }
    }
    Ok(())
}

fn upgraded(
    fleet: &Fleet,
    instance: &Instance,
    base_image: Option<usize>,
    batch: &Batch<'_>,
) -> PlannedInstance {
    PlannedInstance {
        name: instance.name.clone(),
        deployment_id: None,
        action: Action::Upgrade,
        exists: true,
        requirements_hash: fleet.requirements_hash(&instance.name),
        base_image,
        edx_platform_version: match batch {
            Batch::To(commit) => Some((*commit).clone()),
            Batch::Pairs(_) | Batch::Pushed(_) => None,
        },
    }
}

#[cfg(test)]
mod markdown_tests {
    use super::{code, markdown_code, text};

    #[test]
    fn code_spans_hold_any_value() {
        assert_eq!(code("campus"), "`campus`");
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(markdown_code("a|b"), "`a|b`");
        assert_eq!(code("x`y"), "``x`y``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code("a\nb"), "`a b`");
        assert_eq!(code(""), "`  `");
    }

    #[test]
    fn text_escapes_markdown_and_gitlab_references() {
        assert_eq!(
            text("@all see #1, !2 & ~bug: *x* <b>[l](u)</b> $m$ %v {+y+}"),
            "\\@all see \\#1, \\!2 \\& \\~bug\\: \\*x\\* \\<b\\>\\[l\\](u)\\</b\\> \\$m\\$ \\%v \\{+y+\\}"
        );
        assert_eq!(text("one\ntwo"), "one two");
        assert_eq!(text("instances/a_b/grove.yml"), "instances/a\\_b/grove.yml");
    }
}
