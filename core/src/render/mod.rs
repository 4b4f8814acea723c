//! Rendering: a plan turned into the typed data the pipeline templates see ([`Context`]), then
//! into YAML text through the templates ([`template`]), many instance chains at a time
//! ([`chain`]).
//!
//! Every value from a title, a payload or a file reaches the templates here, as a string that
//! the templates write quoted, and jobs only as `variables:` with `expand: false`.

pub mod chain;
pub mod template;

use crate::error::Result;
use crate::fleet::{Fleet, INSTANCES_DIR};
use crate::job::{resource_group, Job, Stage, Step};
use crate::name::InstanceName;
use crate::plan::{Action, Plan, PlannedInstance};
use crate::preview::Preview;
use crate::request::Kind;
use crate::value::{CommitHash, Repository};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use template::Templates;

/// Where `grove terraform plan` saves the plan that `grove terraform apply` applies, relative to
/// the repository: the artifact between the two jobs.
pub const TERRAFORM_PLAN_FILE: &str = ".grove/terraform.plan";

/// The job of the parent pipeline that writes the pipeline files (the CI component's, with its
/// default `job-prefix`), unless [`Options::parent_job`] names another.
pub const PARENT_JOB: &str = "grove-generate";

/// The shard folder of `generated.yml`, the CI component's pipeline file.
pub const DEFAULT_SHARD_DIR: &str = "generated-shards";

/// How the generated jobs run, from the command line (the CI component gives these from its
/// inputs); grove.yml's own settings win. Values here are written quoted, like any value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Where the repository is in the CI project whose pipelines run it, as a prefix of the
    /// paths that generated jobs keep as artifacts and caches: empty when it is the project's
    /// top folder, else its path ending in `/` (the CI component's `root`).
    pub path_in_project: String,
    /// The folder of the shard files, as the generated pipeline names it in its `artifact:`
    /// includes (relative to the project's folder in CI).
    pub shard_dir: String,
    /// The job of the parent pipeline that writes the pipeline files, which a sharded
    /// pipeline fetches them from.
    pub parent_job: String,
    /// The image of the generated jobs when grove.yml sets no `PIPELINE_IMAGE`.
    pub image: Option<String>,
    /// The services of the jobs that build Docker images; the first is the Docker daemon,
    /// reached as `docker`.
    pub image_builder_services: Vec<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            path_in_project: String::new(),
            shard_dir: DEFAULT_SHARD_DIR.to_string(),
            parent_job: PARENT_JOB.to_string(),
            image: None,
            image_builder_services: Vec::new(),
        }
    }
}

/// The patch points of the jobs that build Docker images (Tutor's `images build` and `push`),
/// which get [`Options::image_builder_services`].
const IMAGE_BUILDER_PATCHES: [&str; 3] = ["base-image-job", "build-job", "preview-up-job"];

/// Where a pipeline's jobs find the shared venv of a requirements set, relative to the
/// repository: `.grove/venvs/HASH/` (what `grove venv update --shared` builds).
const SHARED_VENVS_DIR: &str = ".grove/venvs";

/// The GitLab environment of a deployed instance: `instances/NAME`.
pub fn environment(name: &InstanceName) -> String {
    format!("{INSTANCES_DIR}/{name}")
}

impl Options {
    /// The patches in force: grove.yml's `PIPELINE_PATCHES`, with the image builder's services
    /// as a `services:` patch of each job that builds an image, after grove.yml's own text,
    /// unless that already sets `services:`.
    pub fn patches(&self, fleet: &Fleet) -> BTreeMap<String, String> {
        let mut patches = fleet.settings.pipeline_patches.clone();
        if self.image_builder_services.is_empty() {
            return patches;
        }
        // The Docker daemon (docker:dind) without TLS, on the job's own network, started with
        // `--tls=false` so that it does not wait before listening; the tool image's
        // DOCKER_HOST is tcp://docker:2375.
        let mut services = String::from("services:\n");
        for (i, image) in self.image_builder_services.iter().enumerate() {
            services.push_str(&format!("  - name: {}\n", crate::yaml::quote(image)));
            if i == 0 {
                services.push_str("    alias: docker\n    command: [\"--tls=false\"]\n");
                services.push_str("    variables:\n      DOCKER_TLS_CERTDIR: \"\"\n");
            }
        }
        for name in IMAGE_BUILDER_PATCHES {
            let text = patches.entry(name.to_string()).or_default();
            if text.lines().any(|line| line.starts_with("services:")) {
                continue;
            }
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&services);
        }
        patches
    }
}

/// The data the pipeline templates see (`pipeline.yml.hbs`, `shards.yml.hbs` and their
/// partials): every name and value already made, as strings.
#[derive(Debug, Clone, Serialize)]
pub struct Context {
    /// The plan's kind.
    pub kind: Kind,
    /// The stages the jobs use, in order.
    pub stages: Vec<&'static str>,
    /// The image of every job (`default: image:`), if one is set.
    pub image: Option<String>,
    /// Terraform's jobs, if the plan runs Terraform.
    pub terraform: Option<TerraformData>,
    /// The base images, built first.
    pub base_images: Vec<BaseImageData>,
    /// The venvs of the deployed instances: one per requirements set.
    pub venvs: Vec<VenvData>,
    /// The deployed instances' chains.
    pub instances: Vec<InstanceData>,
    /// The archived instances.
    pub archives: Vec<StopData>,
    /// The deleted instances.
    pub deletes: Vec<StopData>,
    /// The preview instance's jobs, if any.
    pub preview: Option<PreviewData>,
    /// The no-op job, when there is nothing to do.
    pub noop: Option<NoopData>,
    /// The publish and trigger jobs of a sharded pipeline (`shards.yml.hbs` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shards: Option<ShardsData>,
}

/// Terraform's two jobs.
#[derive(Debug, Clone, Serialize)]
pub struct TerraformData {
    /// `terraform:plan`.
    pub plan_job: String,
    /// `terraform:apply`.
    pub apply_job: String,
    /// The saved plan, the artifact between them.
    pub plan_file: String,
}

/// One base image's job.
#[derive(Debug, Clone, Serialize)]
pub struct BaseImageData {
    /// `base-image:N`.
    pub job: String,
    /// The edx-platform repository.
    pub repository: Repository,
    /// The branch, tag or commit.
    pub version: String,
}

/// A job variable, written unexpanded.
#[derive(Debug, Clone, Serialize)]
pub struct Variable {
    /// Its name.
    pub name: &'static str,
    /// Its value.
    pub value: String,
}

/// A shared venv's cache.
#[derive(Debug, Clone, Serialize)]
pub struct CacheData {
    /// Its key: the hash of the requirements it is built from.
    pub key: String,
    /// The venv's folder.
    pub path: String,
}

/// The job that builds the shared venv of one requirements set.
#[derive(Debug, Clone, Serialize)]
pub struct VenvData {
    /// `venv:N`.
    pub job: String,
    /// The first instance of the set, whose requirements it is built from.
    pub name: String,
    /// The venv's cache, which the instances' jobs pull.
    pub cache: CacheData,
}

/// A GitLab environment.
#[derive(Debug, Clone, Serialize)]
pub struct EnvironmentData {
    /// `instances/NAME`.
    pub name: String,
    /// `https://LMS_HOST`, when the config sets `LMS_HOST`.
    pub url: Option<String>,
}

/// One deployed instance's chain of jobs.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceData {
    /// The instance.
    pub name: String,
    /// Its folder, where the repository is in the project.
    pub folder: String,
    /// Each step's job name, by step.
    pub jobs: BTreeMap<&'static str, String>,
    /// What each step's job needs, by step.
    pub needs: BTreeMap<&'static str, Vec<String>>,
    /// The cache of the shared venv of its requirements.
    pub cache: CacheData,
    /// The lock of its release, which touches the cluster.
    pub resource_group: String,
    /// The environment its release deploys.
    pub environment: EnvironmentData,
    /// Its jobs' variables.
    pub variables: Vec<Variable>,
    /// The edx-platform version it is moved to, in `UpgradeTo`.
    pub edx_platform_version: Option<CommitHash>,
}

/// One archived or deleted instance's job, which stops its environment.
#[derive(Debug, Clone, Serialize)]
pub struct StopData {
    /// `archive:NAME` or `delete:NAME`.
    pub job: String,
    /// The instance.
    pub name: String,
    /// Its lock.
    pub resource_group: String,
    /// The environment it stops.
    pub environment: String,
    /// What comes first: nothing for an archive, Terraform's apply for a delete.
    pub needs: Vec<String>,
}

/// A preview instance's jobs.
#[derive(Debug, Clone, Serialize)]
pub struct PreviewData {
    /// Whether it is created or updated (else only removed).
    pub up: bool,
    /// The preview instance.
    pub name: String,
    /// `preview-up:NAME`.
    pub up_job: String,
    /// `preview-down:NAME`.
    pub down_job: String,
    /// `review/NAME`.
    pub environment: String,
    /// Where it is reached.
    pub url: String,
    /// GitLab's `auto_stop_in`, if set.
    pub auto_stop_in: Option<String>,
    /// Its lock.
    pub resource_group: String,
    /// Its jobs' variables.
    pub variables: Vec<Variable>,
}

/// The no-op job.
#[derive(Debug, Clone, Serialize)]
pub struct NoopData {
    /// `noop`.
    pub job: String,
    /// Why there is nothing to do.
    pub reason: String,
}

/// The publish and trigger jobs of a sharded pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct ShardsData {
    /// `grove-shards`.
    pub publish_job: String,
    /// The parent pipeline's job that wrote the shard files.
    pub parent_job: String,
    /// Their stage.
    pub stage: &'static str,
    /// The shard folder, ending in `/`.
    pub paths: String,
    /// How many shards.
    pub count: usize,
    /// One trigger job per shard.
    pub triggers: Vec<TriggerData>,
}

/// The trigger job of one shard.
#[derive(Debug, Clone, Serialize)]
pub struct TriggerData {
    /// `grove-shard:N`.
    pub job: String,
    /// The shard's file, as an artifact of the publish job.
    pub artifact: String,
    /// The publish job.
    pub include_job: String,
    /// Its stage.
    pub stage: &'static str,
    /// The publish job, Terraform's apply, and the base images its instances build on.
    pub needs: Vec<String>,
    /// How many instances the shard holds.
    pub instances: usize,
}

/// The data the templates see for `plan`.
pub fn context(plan: &Plan, fleet: &Fleet, options: &Options) -> Context {
    let mut stages: BTreeSet<Stage> = BTreeSet::new();
    let prefix = &options.path_in_project;
    let terraform = plan.terraform.then(|| {
        stages.insert(Stage::Terraform);
        TerraformData {
            plan_job: Job::TerraformPlan.name(),
            apply_job: Job::TerraformApply.name(),
            plan_file: format!("{prefix}{TERRAFORM_PLAN_FILE}"),
        }
    });
    let base_images: Vec<BaseImageData> = plan
        .base_images
        .iter()
        .enumerate()
        .map(|(i, image)| {
            stages.insert(Stage::BaseImage);
            BaseImageData {
                job: Job::BaseImage(i).name(),
                repository: image.repository.clone(),
                version: image.version.clone(),
            }
        })
        .collect();
    let mut venvs: Vec<VenvData> = Vec::new();
    let mut instances = Vec::new();
    let mut archives = Vec::new();
    let mut deletes = Vec::new();
    for instance in &plan.instances {
        let name = &instance.name;
        match instance.action {
            Action::Archive | Action::Delete => {
                let (stage, job, needs, list) = if instance.action == Action::Archive {
                    (
                        Stage::Archive,
                        Job::Archive(name),
                        Vec::new(),
                        &mut archives,
                    )
                } else {
                    let needs = vec![Job::TerraformApply.name()];
                    (Stage::Delete, Job::Delete(name), needs, &mut deletes)
                };
                stages.insert(stage);
                list.push(StopData {
                    job: job.name(),
                    name: name.to_string(),
                    resource_group: resource_group(name),
                    environment: environment(name),
                    needs,
                });
            }
            Action::Create | Action::Update | Action::Upgrade => {
                stages.insert(Stage::Venv);
                stages.extend(Step::ALL.map(Stage::Step));
                let cache = CacheData {
                    key: format!("venv-{}", instance.requirements_hash),
                    path: format!("{prefix}{SHARED_VENVS_DIR}/{}/", instance.requirements_hash),
                };
                let venv = match venvs.iter().position(|v| v.cache.key == cache.key) {
                    Some(index) => index,
                    None => {
                        venvs.push(VenvData {
                            job: Job::Venv(venvs.len()).name(),
                            name: name.to_string(),
                            cache: cache.clone(),
                        });
                        venvs.len() - 1
                    }
                };
                let url = fleet
                    .config(name)
                    .and_then(|config| config.lms_host.as_ref())
                    .map(|host| format!("https://{host}"));
                instances.push(deployed(plan, instance, prefix, venv, cache, url));
            }
        }
    }
    let preview = plan.preview.as_ref().map(|preview| {
        stages.insert(Stage::Preview);
        preview_data(preview, plan.kind == Kind::PreviewUp)
    });
    let noop = plan.reason.as_ref().map(|reason| {
        stages.insert(Stage::Noop);
        NoopData {
            job: Job::Noop.name(),
            reason: reason.clone(),
        }
    });
    Context {
        kind: plan.kind,
        stages: stages.into_iter().map(Stage::as_str).collect(),
        image: fleet
            .settings
            .pipeline_image
            .clone()
            .or_else(|| options.image.clone()),
        terraform,
        base_images,
        venvs,
        instances,
        archives,
        deletes,
        preview,
        noop,
        shards: None,
    }
}

/// The data for one deployed instance's chain of jobs; its paths start with `prefix`, where the
/// repository is in the CI project ([`Options::path_in_project`]); its venv is built by the
/// `venv`th venv job, into `cache`; its environment is reached at `url`.
fn deployed(
    plan: &Plan,
    instance: &PlannedInstance,
    prefix: &str,
    venv: usize,
    cache: CacheData,
    url: Option<String>,
) -> InstanceData {
    let name = &instance.name;
    let job = |step: Step| Job::Step(step, name).name();
    let needs = Step::ALL
        .iter()
        .map(|&step| {
            let needs = match step {
                Step::Build => std::iter::once(Job::Venv(venv).name())
                    .chain(plan.terraform.then(|| Job::TerraformApply.name()))
                    .chain(instance.base_image.map(|i| Job::BaseImage(i).name()))
                    .collect(),
                Step::Release => vec![job(Step::Build)],
            };
            (step.as_str(), needs)
        })
        .collect();
    let mut variables = vec![Variable {
        name: "INSTANCE_NAME",
        value: name.to_string(),
    }];
    if let Some(id) = &instance.deployment_id {
        variables.push(Variable {
            name: "DEPLOYMENT_ID",
            value: id.to_string(),
        });
    }
    if let Some(version) = &instance.edx_platform_version {
        variables.push(Variable {
            name: "EDX_PLATFORM_VERSION",
            value: version.to_string(),
        });
    }
    InstanceData {
        name: name.to_string(),
        folder: format!("{prefix}{INSTANCES_DIR}/{name}/"),
        jobs: Step::ALL.iter().map(|&s| (s.as_str(), job(s))).collect(),
        needs,
        cache,
        resource_group: resource_group(name),
        environment: EnvironmentData {
            name: environment(name),
            url,
        },
        variables,
        edx_platform_version: instance.edx_platform_version.clone(),
    }
}

/// The data the preview templates render: the job names, the environment, and the variables.
fn preview_data(preview: &Preview, up: bool) -> PreviewData {
    let variable = |name: &'static str, value: &str| Variable {
        name,
        value: value.to_string(),
    };
    PreviewData {
        up,
        name: preview.name.to_string(),
        up_job: Job::PreviewUp(&preview.name).name(),
        down_job: Job::PreviewDown(&preview.name).name(),
        environment: preview.environment.clone(),
        url: preview.url.clone(),
        auto_stop_in: preview.auto_stop_in.clone(),
        resource_group: resource_group(&preview.name),
        variables: vec![
            variable("INSTANCE_NAME", preview.name.as_str()),
            variable("PREVIEW_TEMPLATE", preview.template.as_str()),
            variable("PREVIEW_KIND", preview.kind.as_str()),
            variable(
                "PREVIEW_REPOSITORY",
                preview.repository.as_ref().map_or("", Repository::as_str),
            ),
            variable("PREVIEW_VERSION", preview.branch.as_str()),
            variable("PREVIEW_HOST", &preview.host),
        ],
    }
}

/// Renders `context` with `template` (the root `pipeline`, or `shards`) into YAML text that
/// ends with one newline.
pub fn render(templates: &Templates, template: &str, context: &Context) -> Result<String> {
    let data = serde_json::to_value(context).expect("the context is plain data");
    let by_shape = match template == template::ROOT && templates.chains_by_shape() {
        true => chain::render(template, &data, |name, data| {
            templates.render_template(name, data)
        })?,
        false => None,
    };
    let mut text = match by_shape {
        Some(text) => text,
        None => templates.render_template(template, &data)?,
    };
    // Patch points left empty leave blank lines at the end; one newline ends the file.
    text.truncate(text.trim_end().len());
    text.push('\n');
    Ok(text)
}
