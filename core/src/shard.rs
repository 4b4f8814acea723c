//! Sharding: a pipeline too big for GitLab's limits (`LIMITS` of grove.yml) split into child
//! pipelines, so that GitLab is never handed a file it would refuse.
//!
//! A pipeline that fits is written exactly as it always was. One that does not becomes:
//!
//! - the **generated pipeline** (level 1, the child of the pipeline that ran `grove`), rendered
//!   by `shards.yml.hbs`: the jobs that come first (Terraform, base images); the publish job
//!   ([`Job::ShardPublish`]), which takes the shard files from the parent pipeline's
//!   generate job ([`Options::parent_job`]:
//!   `needs: [{pipeline: $PARENT_PIPELINE_ID, job: grove-generate}]`) and
//!   publishes them as its own artifacts; and one trigger job per shard, `grove-shard:N`, which
//!   needs the publish job and the Terraform and base-image jobs its instances build on;
//! - **shard N** (level 2), the file `shard-N.yml` in the shard folder, rendered by
//!   `pipeline.yml.hbs` like any pipeline: whole instance chains (every [`Step`]), so that no
//!   `needs` crosses files.
//!
//! Instances are packed into shards in plan order, grouped by base image, as many as the job
//! limit allows; a shard that still breaks a limit once rendered (a patch adding jobs or text)
//! is split in two until it fits. The result depends on the input alone.

use crate::error::{Cause, Error, Result};
use crate::fleet::Fleet;
use crate::job::{Job, Stage, Step};
use crate::pipeline::{self, Pipeline};
use crate::plan::{Action, Plan, PlannedShard};
use crate::render::template::{Templates, ROOT};
use crate::render::{self, Options, ShardsData, TriggerData};
use crate::settings::Limits;
use std::collections::BTreeSet;

/// The template of the generated pipeline of a sharded plan.
const TEMPLATE: &str = "shards";

/// The shard folder of a pipeline file: its path without `.yml` (or `.yaml`), then `-shards`.
///
/// `generated.yml` → `generated-shards`, `out/pipeline.yaml` → `out/pipeline-shards`.
pub fn dir_for(pipeline_file: &str) -> String {
    let stem = pipeline_file
        .strip_suffix(".yml")
        .or_else(|| pipeline_file.strip_suffix(".yaml"))
        .unwrap_or(pipeline_file);
    format!("{stem}-shards")
}

/// The file name of shard `number` in the shard folder.
pub fn file_name(number: usize) -> String {
    format!("shard-{number}.yml")
}

/// One pipeline file: its YAML, read back into its model and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Its YAML.
    pub yaml: String,
    /// Its YAML read back and checked.
    pub pipeline: Pipeline,
}

/// One shard pipeline file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    /// Its number, from 1.
    pub number: usize,
    /// Its file name in the shard folder ([`file_name`]).
    pub file: String,
    /// Its YAML and model.
    pub content: File,
}

/// What rendering a plan gives: the generated pipeline, and its shards when it needs them.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The generated pipeline.
    pub main: File,
    /// The shard pipelines it triggers (none when the plan fits one file).
    pub shards: Vec<Shard>,
    /// The shards as the report lists them.
    pub planned: Vec<PlannedShard>,
}

/// A generated file that cannot be made to fit (exit 5).
fn unshardable(message: String) -> Error {
    Error::new(
        Cause::Limits,
        format!(
            "the pipeline cannot be made to fit GitLab's limits (LIMITS in grove.yml): {message}"
        ),
    )
}

/// Renders the plan: one file when it fits the fleet's limits, else the generated pipeline and
/// its shards.
pub fn render(
    plan: &Plan,
    fleet: &Fleet,
    templates: &Templates,
    options: &Options,
) -> Result<Rendered> {
    let renderer = Renderer {
        fleet,
        templates,
        options,
        limits: fleet.settings.limits,
    };
    let single = |main: File| Rendered {
        main,
        shards: Vec::new(),
        planned: Vec::new(),
    };
    if estimated_jobs(plan) <= renderer.limits.jobs_per_pipeline || plan.instances.len() < 2 {
        let main = renderer.file(ROOT, &render::context(plan, fleet, options))?;
        if pipeline::fits(&renderer.limits, main.pipeline.jobs.len(), main.yaml.len())
            || plan.instances.len() < 2
        {
            renderer.check_limits("", &main)?;
            return Ok(single(main));
        }
    }
    if renderer.limits.child_pipeline_depth < 2 {
        return Err(unshardable(format!(
            "it needs shards, a second level of child pipelines, and child_pipeline_depth is {}",
            renderer.limits.child_pipeline_depth
        )));
    }
    let packed = renderer.pack(plan)?;
    let main = renderer.level_one(plan, &packed)?;
    let mut shards = Vec::with_capacity(packed.len());
    let mut planned = Vec::with_capacity(packed.len());
    for (i, (members, content)) in packed.into_iter().enumerate() {
        let number = i + 1;
        planned.push(PlannedShard {
            number,
            file: file_name(number),
            instances: members
                .iter()
                .map(|&m| plan.instances[m].name.clone())
                .collect(),
            jobs: content.pipeline.jobs.len(),
            bytes: content.yaml.len(),
        });
        shards.push(Shard {
            number,
            file: file_name(number),
            content,
        });
    }
    Ok(Rendered {
        main,
        shards,
        planned,
    })
}

/// The jobs of one planned instance.
fn jobs_of(action: Action) -> usize {
    match action {
        Action::Archive | Action::Delete => 1,
        Action::Create | Action::Update | Action::Upgrade => Step::ALL.len(),
    }
}

/// How many requirements sets the deployed instances of `plan` use: one venv job each.
fn requirements_sets(plan: &Plan) -> usize {
    plan.instances
        .iter()
        .filter(|i| jobs_of(i.action) == Step::ALL.len())
        .map(|i| i.requirements_hash.as_str())
        .collect::<BTreeSet<_>>()
        .len()
}

/// The jobs the templates make of `plan` with instances, as Grove's own templates make them
/// (never more: a pipeline this estimate says is too big is sharded without being rendered).
fn estimated_jobs(plan: &Plan) -> usize {
    let chains: usize = plan.instances.iter().map(|i| jobs_of(i.action)).sum();
    chains + requirements_sets(plan) + plan.base_images.len() + if plan.terraform { 2 } else { 0 }
}

/// A copy of `plan` with no instance (and nothing left out, no reason, no preview).
fn without_instances(plan: &Plan) -> Plan {
    let mut copy = plan.clone();
    copy.instances.clear();
    copy.skipped.clear();
    copy.reason = None;
    copy.preview = None;
    copy
}

/// The plan of one shard: the instances at `members` of `plan`, with no Terraform and no base
/// image (the shard's trigger job waits for those).
fn shard_plan(empty: &Plan, plan: &Plan, members: &[usize]) -> Plan {
    let mut shard = empty.clone();
    shard.instances = members
        .iter()
        .map(|&m| {
            let mut instance = plan.instances[m].clone();
            instance.base_image = None;
            instance
        })
        .collect();
    shard
}

/// A shard: the indexes of its instances in the plan, and its file.
type Packed = (Vec<usize>, File);

/// What rendering one plan needs.
struct Renderer<'a> {
    fleet: &'a Fleet,
    templates: &'a Templates,
    options: &'a Options,
    limits: Limits,
}

impl Renderer<'_> {
    /// Renders `context` with `template`, reads it back and checks it: what fails the checks
    /// is Grove's bug when only its own templates made it, else the templates' or patches'.
    fn file(&self, template: &str, context: &render::Context) -> Result<File> {
        let yaml = render::render(self.templates, template, context)?;
        let pipeline = Pipeline::parse(&yaml)
            .and_then(|pipeline| pipeline.check().map(|()| pipeline))
            .map_err(|mut e| {
                if !self.templates.is_grove_own() {
                    e.cause = Cause::Template {
                        origin: "the templates of templates/pipelines/ or PIPELINE_PATCHES".into(),
                    };
                }
                e
            })?;
        Ok(File { yaml, pipeline })
    }

    /// Checks one file against the limits (`name` is its shard file, or empty).
    fn check_limits(&self, name: &str, file: &File) -> Result<()> {
        file.pipeline.check_limits(&self.limits, name, &file.yaml)
    }

    /// Packs the plan's instances into shards that fit, in plan order grouped by base image.
    fn pack(&self, plan: &Plan) -> Result<Vec<Packed>> {
        // The plan without its instances: what every shard's plan starts from.
        let mut empty = without_instances(plan);
        empty.terraform = false;
        empty.base_images.clear();
        empty.notes.clear();

        let mut order: Vec<usize> = (0..plan.instances.len()).collect();
        order.sort_by_key(|&i| plan.instances[i].base_image);
        let per_instance = plan
            .instances
            .iter()
            .map(|i| jobs_of(i.action))
            .max()
            .unwrap_or(1);
        // Each shard holds the venv jobs of its instances' requirements sets too.
        let room = self
            .limits
            .jobs_per_pipeline
            .saturating_sub(requirements_sets(plan));
        let capacity = (room / per_instance).max(1);
        // A trigger job needs the publish job, Terraform's apply, and its shard's base images.
        let fixed_needs = 1 + usize::from(plan.terraform);
        let images_per_shard = self.limits.needs_per_job.saturating_sub(fixed_needs);
        if images_per_shard == 0 && !plan.base_images.is_empty() {
            return Err(unshardable(format!(
                "a shard's trigger job needs at least {} jobs, and needs_per_job is {}",
                fixed_needs + 1,
                self.limits.needs_per_job
            )));
        }
        let mut chunks: Vec<Vec<usize>> = Vec::new();
        let mut chunk: Vec<usize> = Vec::new();
        let mut images: BTreeSet<usize> = BTreeSet::new();
        for i in order {
            let image = plan.instances[i].base_image;
            let new_image = image.is_some_and(|b| !images.contains(&b));
            if chunk.len() == capacity || (new_image && images.len() == images_per_shard) {
                chunks.push(std::mem::take(&mut chunk));
                images.clear();
            }
            images.extend(image);
            chunk.push(i);
        }
        if !chunk.is_empty() {
            chunks.push(chunk);
        }
        let mut packed = Vec::with_capacity(chunks.len());
        for chunk in chunks {
            self.fit(plan, &empty, chunk, &mut packed)?;
        }
        Ok(packed)
    }

    /// Renders one chunk of instances as a shard; if it breaks a limit, splits it in two.
    fn fit(
        &self,
        plan: &Plan,
        empty: &Plan,
        chunk: Vec<usize>,
        packed: &mut Vec<Packed>,
    ) -> Result<()> {
        let shard = shard_plan(empty, plan, &chunk);
        let file = self.file(ROOT, &render::context(&shard, self.fleet, self.options))?;
        if pipeline::fits(&self.limits, file.pipeline.jobs.len(), file.yaml.len()) {
            self.check_limits(&file_name(packed.len() + 1), &file)?;
            packed.push((chunk, file));
            return Ok(());
        }
        if chunk.len() == 1 {
            let name = &plan.instances[chunk[0]].name;
            return Err(unshardable(format!(
                "the jobs of instance \"{name}\" alone are {} jobs and {} bytes; a file may have {} jobs and {} bytes",
                file.pipeline.jobs.len(),
                file.yaml.len(),
                self.limits.jobs_per_pipeline,
                self.limits.artifact_yaml_bytes
            )));
        }
        let mut first = chunk;
        let second = first.split_off(first.len() / 2);
        self.fit(plan, empty, first, packed)?;
        self.fit(plan, empty, second, packed)
    }

    /// Renders the generated pipeline of a sharded plan: Terraform, base images, the publish
    /// job and one trigger job per shard.
    fn level_one(&self, plan: &Plan, shards: &[Packed]) -> Result<File> {
        let jobs = shards.len() + 1 + plan.base_images.len() + if plan.terraform { 2 } else { 0 };
        if jobs > self.limits.jobs_per_pipeline {
            return Err(unshardable(format!(
                "{} instances need {} shards, and the generated pipeline would hold {jobs} jobs; jobs_per_pipeline is {}",
                plan.instances.len(),
                shards.len(),
                self.limits.jobs_per_pipeline
            )));
        }
        let head = without_instances(plan);
        let mut context = render::context(&head, self.fleet, self.options);
        let dir = &self.options.shard_dir;
        let triggers = shards
            .iter()
            .enumerate()
            .map(|(i, (members, _))| {
                let mut needs = vec![Job::ShardPublish.name()];
                if plan.terraform {
                    needs.push(Job::TerraformApply.name());
                }
                let images: BTreeSet<usize> = members
                    .iter()
                    .filter_map(|&m| plan.instances[m].base_image)
                    .collect();
                needs.extend(images.iter().map(|&b| Job::BaseImage(b).name()));
                TriggerData {
                    job: Job::ShardTrigger(i + 1).name(),
                    artifact: format!("{dir}/{}", file_name(i + 1)),
                    include_job: Job::ShardPublish.name(),
                    stage: Stage::Shards.as_str(),
                    needs,
                    instances: members.len(),
                }
            })
            .collect();
        context.stages.push(Stage::Shards.as_str());
        context.shards = Some(ShardsData {
            publish_job: Job::ShardPublish.name(),
            parent_job: self.options.parent_job.clone(),
            stage: Stage::Shards.as_str(),
            paths: format!("{dir}/"),
            count: shards.len(),
            triggers,
        });
        let file = self.file(TEMPLATE, &context)?;
        self.check_limits("", &file)?;
        Ok(file)
    }
}
