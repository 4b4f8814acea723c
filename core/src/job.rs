//! The vocabulary of generated pipelines: the stages in the order they run, the steps of a
//! deployed instance, and the name of every job Grove writes. Each is spelled here once; the
//! plan, the templates' data and the shards take them from here.

use crate::name::InstanceName;
use std::fmt;

/// A stage of a generated pipeline. A pipeline declares, in this order, the stages its jobs use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Terraform's plan and apply.
    Terraform,
    /// The base images of a batch upgrade or a build.
    BaseImage,
    /// The venvs, one per requirements set.
    Venv,
    /// One step of deployed instances, in the order of the steps.
    Step(Step),
    /// Instances archived.
    Archive,
    /// Instances deleted.
    Delete,
    /// A pull request's preview instance.
    Preview,
    /// The job that says there is nothing to do.
    Noop,
    /// The publish and trigger jobs of a sharded pipeline.
    Shards,
}

impl Stage {
    /// The stage's name in the pipeline.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Terraform => "terraform",
            Stage::BaseImage => "base-image",
            Stage::Venv => "venv",
            Stage::Step(step) => step.as_str(),
            Stage::Archive => "archive",
            Stage::Delete => "delete",
            Stage::Preview => "preview",
            Stage::Noop => "noop",
            Stage::Shards => "shards",
        }
    }
}

/// One job of a deployed instance's chain, in the order they run: at most three per instance,
/// since every job costs a runner, an image pull and a checkout before its script starts.
/// Adding a step is an entry here and its job in the `instance` template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// Its state (Tutor's config and env, stored as a new generation), its themes cloned into
    /// Tutor's build context, and its image built from them: nothing that touches the cluster.
    Build,
    /// Everything that touches the cluster, under the instance's one lock: the deployment,
    /// then the theme enabled and the deployments restarted.
    Release,
}

impl Step {
    /// Every step, in the order they run.
    pub const ALL: [Step; 2] = [Step::Build, Step::Release];

    /// The step's name: its stage's, and the first part of its jobs' names.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Build => "build",
            Step::Release => "release",
        }
    }

    /// The step in words, with what it runs, for the plan.
    pub fn describe(self) -> &'static str {
        match self {
            Step::Build => "build (state, themes, image)",
            Step::Release => "release (deploy, postdeploy)",
        }
    }
}

/// A job Grove writes, which gives its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job<'a> {
    /// `terraform:plan`.
    TerraformPlan,
    /// `terraform:apply`.
    TerraformApply,
    /// `base-image:N`, for the base image at this index of the plan (from 0).
    BaseImage(usize),
    /// `venv:N`, for the Nth requirements set of a pipeline file (from 0).
    Venv(usize),
    /// `STEP:NAME`, such as `build:campus`.
    Step(Step, &'a InstanceName),
    /// `archive:NAME`.
    Archive(&'a InstanceName),
    /// `delete:NAME`.
    Delete(&'a InstanceName),
    /// `preview-up:NAME`.
    PreviewUp(&'a InstanceName),
    /// `preview-down:NAME`.
    PreviewDown(&'a InstanceName),
    /// `noop`.
    Noop,
    /// `grove-shards`: publishes the shard files of a sharded pipeline.
    ShardPublish,
    /// `grove-shard:N`: triggers shard N (from 1).
    ShardTrigger(usize),
}

impl fmt::Display for Job<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Job::TerraformPlan => f.write_str("terraform:plan"),
            Job::TerraformApply => f.write_str("terraform:apply"),
            Job::BaseImage(index) => write!(f, "base-image:{}", index + 1),
            Job::Venv(index) => write!(f, "venv:{}", index + 1),
            Job::Step(step, name) => write!(f, "{}:{name}", step.as_str()),
            Job::Archive(name) => write!(f, "archive:{name}"),
            Job::Delete(name) => write!(f, "delete:{name}"),
            Job::PreviewUp(name) => write!(f, "preview-up:{name}"),
            Job::PreviewDown(name) => write!(f, "preview-down:{name}"),
            Job::Noop => f.write_str("noop"),
            Job::ShardPublish => f.write_str("grove-shards"),
            Job::ShardTrigger(number) => write!(f, "grove-shard:{number}"),
        }
    }
}

impl Job<'_> {
    /// The job's name.
    pub fn name(&self) -> String {
        self.to_string()
    }
}

/// The resource group that locks an instance's jobs that touch the cluster (its release,
/// archive, delete, preview): `instance-NAME`.
pub fn resource_group(name: &InstanceName) -> String {
    format!("instance-{name}")
}
