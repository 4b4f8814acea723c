//! The one generator: an input (a commit title or a webhook payload) and a cluster repository
//! in; the plan and its pipeline files out.
//!
//! The cluster repository is reached through [`Cluster`], a small trait in the style of taplo's
//! `Environment`: the CLI reads from disk only what the request needs, the browser module hands
//! over the files it was given. Both are thin adapters over [`generate`].

use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::fleet::{Files, Fleet};
use crate::plan::{Plan, PlannedShard, Report};
use crate::render::template::Templates;
use crate::render::Options;
use crate::request::{Need, Request};
use crate::settings::ClusterSettings;
use crate::shard::{self, File, Shard};
use std::borrow::Borrow;

/// What a pipeline is generated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input<'a> {
    /// A commit title (or `GROVE_TITLE`).
    Title(&'a str),
    /// A GitLab or GitHub webhook payload (JSON text).
    Webhook(&'a str),
}

/// A fleet and its templates, compiled for one set of [`Options`]: what generating needs.
pub struct Prepared {
    /// The fleet.
    pub fleet: Fleet,
    /// Its templates (embedded, overridden), with the patches in force.
    pub templates: Templates,
}

impl Prepared {
    /// Reads the files of a cluster repository (path → text) and compiles its templates.
    pub fn new(files: Files, options: &Options) -> Result<Prepared> {
        let fleet = Fleet::new(files)?;
        let templates = Templates::new(&fleet, options.patches(&fleet))?;
        Ok(Prepared { fleet, templates })
    }
}

/// A cluster repository, as the generator reads it.
pub trait Cluster {
    /// How reading it fails; core's own errors convert into it.
    type Error: From<Error>;
    /// A prepared fleet, owned or borrowed.
    type Prepared<'a>: Borrow<Prepared>
    where
        Self: 'a;

    /// The cluster's settings (`grove.yml`), all a webhook payload is decided by.
    fn settings(&self) -> Result<ClusterSettings, Self::Error>;

    /// The fleet with at least the files `need` names (and `grove.yml`, the templates and
    /// `defaults/grove-requirements.txt`), its templates compiled for `options`.
    fn prepare(
        &self,
        need: &Need<'_>,
        options: &Options,
    ) -> Result<Self::Prepared<'_>, Self::Error>;
}

/// Everything Grove makes of one input.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The request the input makes.
    pub request: Request,
    /// The warnings of a title that parsed (none for a payload), over the title.
    pub warnings: Vec<Diagnostic>,
    /// What will happen, and what is left out.
    pub plan: Plan,
    /// Keys of `PIPELINE_PATCHES` that no template has a patch point for.
    pub unknown_patches: Vec<String>,
    /// The child pipeline, as GitLab will read it.
    pub main: File,
    /// The shard pipelines `main` triggers, when the plan is too big for one file; none
    /// otherwise. They go in the shard folder ([`shard::dir_for`]).
    pub shards: Vec<Shard>,
    /// The shards as the report lists them.
    pub planned_shards: Vec<PlannedShard>,
}

impl Generated {
    /// The plan with what rendering found, for `grove plan` in each of its formats.
    pub fn report(&self) -> Report<'_> {
        Report {
            plan: &self.plan,
            unknown_patches: &self.unknown_patches,
            shards: &self.planned_shards,
        }
    }
}

/// Reads `input` into a request, reads what of `cluster` the request needs, plans it and
/// renders its pipeline files, each read back and checked.
pub fn generate<C: Cluster>(
    cluster: &C,
    input: Input<'_>,
    options: &Options,
) -> Result<Generated, C::Error> {
    let (request, warnings) = match input {
        Input::Title(title) => crate::title::request(title)?,
        Input::Webhook(payload) => {
            let settings = cluster.settings()?;
            (
                crate::webhook::request(payload, &settings.webhooks)?,
                Vec::new(),
            )
        }
    };
    let prepared = cluster.prepare(&request.need(), options)?;
    let generated = plan_and_render(request, warnings, prepared.borrow(), options)?;
    Ok(generated)
}

/// The steps of [`generate`] once the request and the fleet are there.
pub fn plan_and_render(
    request: Request,
    warnings: Vec<Diagnostic>,
    prepared: &Prepared,
    options: &Options,
) -> Result<Generated> {
    let Prepared { fleet, templates } = prepared;
    let plan = Plan::new(&request, fleet)?;
    let unknown_patches = fleet
        .settings
        .pipeline_patches
        .keys()
        .filter(|name| !templates.patch_points.contains(*name))
        .cloned()
        .collect();
    let rendered = shard::render(&plan, fleet, templates, options)?;
    Ok(Generated {
        request,
        warnings,
        plan,
        unknown_patches,
        main: rendered.main,
        shards: rendered.shards,
        planned_shards: rendered.planned,
    })
}

/// A cluster repository held whole in memory, as path → text (the browser's dropped folder,
/// tests, benches): prepared once, for one set of [`Options`], whatever a request needs.
pub struct InMemory {
    prepared: Result<Prepared>,
    options: Options,
}

impl InMemory {
    /// Reads the files and compiles their templates once, for `options`.
    pub fn new(files: Files, options: Options) -> InMemory {
        InMemory {
            prepared: Prepared::new(files, &options),
            options,
        }
    }

    /// The prepared fleet, or why the files cannot be used.
    pub fn prepared(&self) -> Result<&Prepared, &Error> {
        self.prepared.as_ref()
    }
}

impl Cluster for InMemory {
    type Error = Error;
    type Prepared<'a> = &'a Prepared;

    fn settings(&self) -> Result<ClusterSettings> {
        self.prepared
            .as_ref()
            .map(|p| p.fleet.settings.clone())
            .map_err(Clone::clone)
    }

    fn prepare(&self, _need: &Need<'_>, options: &Options) -> Result<&Prepared> {
        if options != &self.options {
            return Err(Error::new(
                crate::error::Cause::Internal,
                "the fleet in memory was prepared for other options",
            ));
        }
        self.prepared.as_ref().map_err(Clone::clone)
    }
}
