//! Sharding: a pipeline too big for GitLab's limits ([`crate::limits`]) split into child
//! pipelines, so that GitLab is never handed a file it would refuse.
//!
//! A pipeline that fits is written exactly as it always was. One that does not becomes:
//!
//! - the **generated pipeline** (level 1, the child of the pipeline that ran `grove`), rendered
//!   by `shards.yml.hbs`: the jobs that come first (Terraform, base images); the job
//!   [`PUBLISH_JOB`], which takes the shard files from the parent pipeline's
//!   generate job ([`Fleet::parent_job`], else [`PARENT_JOB`]:
//!   `needs: [{pipeline: $PARENT_PIPELINE_ID, job: grove-generate}]`) and
//!   publishes them as its own artifacts; and one trigger job per shard, `grove-shard:N`, which
//!   needs the publish job and the Terraform and base-image jobs its instances build on;
//! - **shard N** (level 2), the file `shard-N.yml` in the shard folder, rendered by
//!   `pipeline.yml.hbs` like any pipeline: whole instance chains (venv → prepare → image →
//!   predeploy → deploy → postdeploy), so that no `needs` crosses files.
//!
//! Instances are packed into shards in plan order, grouped by base image, as many as the job
//! limit allows; a shard that still breaks a limit once rendered (a patch adding jobs or text)
//! is split in two until it fits. The result depends on the input alone.

use crate::error::{Error, ErrorKind, Result};
use crate::fleet::Fleet;
use crate::limits::Limits;
use crate::name::InstanceName;
use crate::pipeline::{self, Pipeline};
use crate::plan::{Action, Plan};
use crate::template::Templates;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// The job of the parent pipeline that writes the pipeline files (the CI component's, with its
/// default `job-prefix`), unless [`Fleet::parent_job`] names another.
pub const PARENT_JOB: &str = "grove-generate";
/// The job of the generated pipeline that re-publishes the shard files as its artifacts.
pub const PUBLISH_JOB: &str = "grove-shards";
/// The stage of the publish and trigger jobs.
pub const STAGE: &str = "shards";
/// The template of the generated pipeline of a sharded plan.
pub const TEMPLATE: &str = "shards";
/// The shard folder of `generated.yml`, the CI component's pipeline file.
pub const DEFAULT_DIR: &str = "generated-shards";
/// The jobs of one deployed instance's chain.
const JOBS_PER_INSTANCE: usize = 6;

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

/// The trigger job of shard `number` in the generated pipeline.
pub fn trigger_job(number: usize) -> String {
    format!("grove-shard:{number}")
}

/// One shard pipeline file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    /// Its number, from 1.
    pub number: usize,
    /// Its file name in the shard folder ([`file_name`]).
    pub file: String,
    /// Its YAML.
    pub yaml: String,
    /// Its YAML read back and checked.
    pub pipeline: Pipeline,
}

/// A shard as the plan reports it.
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

/// A generated file that cannot be made to fit (exit 5).
fn unshardable(message: String) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!(
            "the pipeline cannot be made to fit GitLab's limits (LIMITS in grove.yml): {message}"
        ),
    )
}

/// Renders `plan`: one file when it fits the fleet's limits, else the generated pipeline and its
/// shards, which are also recorded in `plan.shards`. `dir` is the shard folder as the generated
/// pipeline names it in `artifact:` (relative to the project's folder in CI).
pub fn render(
    plan: &mut Plan,
    fleet: &Fleet,
    templates: &Templates,
    dir: &str,
) -> Result<(String, Pipeline, Vec<Shard>)> {
    let limits = fleet.settings.limits;
    limits.validate()?;
    plan.shards.clear();
    if estimated_jobs(plan) <= limits.jobs_per_pipeline || plan.instances.len() < 2 {
        let (yaml, pipeline) = pipeline::render(plan, fleet, templates)?;
        if limits.fits(pipeline.jobs.len(), yaml.len()) || plan.instances.len() < 2 {
            limits.check("", &yaml, &pipeline)?;
            return Ok((yaml, pipeline, Vec::new()));
        }
    }
    if limits.child_pipeline_depth < 2 {
        return Err(unshardable(format!(
            "it needs shards, a second level of child pipelines, and child_pipeline_depth is {}",
            limits.child_pipeline_depth
        )));
    }
    let shards = pack(plan, fleet, templates, &limits)?;
    let (yaml, pipeline) = level_one(plan, fleet, templates, &limits, dir, &shards)?;
    let mut files = Vec::with_capacity(shards.len());
    for (i, (members, yaml, pipeline)) in shards.into_iter().enumerate() {
        let number = i + 1;
        plan.shards.push(PlannedShard {
            number,
            file: file_name(number),
            instances: members
                .iter()
                .map(|&m| plan.instances[m].name.clone())
                .collect(),
            jobs: pipeline.jobs.len(),
            bytes: yaml.len(),
        });
        files.push(Shard {
            number,
            file: file_name(number),
            yaml,
            pipeline,
        });
    }
    Ok((yaml, pipeline, files))
}

/// The jobs the templates make of `plan`, as Grove's own templates make them.
fn estimated_jobs(plan: &Plan) -> usize {
    let chains: usize = plan
        .instances
        .iter()
        .map(|i| match i.action {
            Action::Archive => 1,
            _ => JOBS_PER_INSTANCE,
        })
        .sum();
    chains + plan.base_images.len() + if plan.terraform { 2 } else { 0 } + 1
}

/// A copy of `plan` with no instance (and nothing left out, no shard, no reason, no preview).
fn without_instances(plan: &Plan) -> Plan {
    let mut copy = plan.clone();
    copy.instances.clear();
    copy.skipped.clear();
    copy.shards.clear();
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

type Packed = (Vec<usize>, String, Pipeline);

/// Packs the plan's instances into shards that fit, in plan order grouped by base image.
fn pack(plan: &Plan, fleet: &Fleet, templates: &Templates, limits: &Limits) -> Result<Vec<Packed>> {
    // The plan without its instances: what every shard's plan starts from.
    let mut empty = without_instances(plan);
    empty.terraform = false;
    empty.base_images.clear();
    empty.notes.clear();
    empty.unknown_patches.clear();

    let mut order: Vec<usize> = (0..plan.instances.len()).collect();
    order.sort_by_key(|&i| plan.instances[i].base_image);
    let per_instance = plan
        .instances
        .iter()
        .map(|i| match i.action {
            Action::Archive => 1,
            _ => JOBS_PER_INSTANCE,
        })
        .max()
        .unwrap_or(1);
    let capacity = (limits.jobs_per_pipeline / per_instance).max(1);
    // A trigger job needs the publish job, Terraform's apply, and its shard's base images.
    let fixed_needs = 1 + usize::from(plan.terraform);
    let images_per_shard = limits.needs_per_job.saturating_sub(fixed_needs);
    if images_per_shard == 0 && !plan.base_images.is_empty() {
        return Err(unshardable(format!(
            "a shard's trigger job needs at least {} jobs, and needs_per_job is {}",
            fixed_needs + 1,
            limits.needs_per_job
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
        fit(plan, &empty, fleet, templates, limits, chunk, &mut packed)?;
    }
    Ok(packed)
}

/// Renders one chunk of instances as a shard; if it breaks a limit, splits it in two.
fn fit(
    plan: &Plan,
    empty: &Plan,
    fleet: &Fleet,
    templates: &Templates,
    limits: &Limits,
    chunk: Vec<usize>,
    packed: &mut Vec<Packed>,
) -> Result<()> {
    let (yaml, pipeline) = pipeline::render(&shard_plan(empty, plan, &chunk), fleet, templates)?;
    if limits.fits(pipeline.jobs.len(), yaml.len()) {
        let file = file_name(packed.len() + 1);
        limits.check(&file, &yaml, &pipeline)?;
        packed.push((chunk, yaml, pipeline));
        return Ok(());
    }
    if chunk.len() == 1 {
        let name = &plan.instances[chunk[0]].name;
        return Err(unshardable(format!(
            "the jobs of instance \"{name}\" alone are {} jobs and {} bytes; a file may have {} jobs and {} bytes",
            pipeline.jobs.len(),
            yaml.len(),
            limits.jobs_per_pipeline,
            limits.artifact_yaml_bytes
        )));
    }
    let mut first = chunk;
    let second = first.split_off(first.len() / 2);
    fit(plan, empty, fleet, templates, limits, first, packed)?;
    fit(plan, empty, fleet, templates, limits, second, packed)
}

/// Renders the generated pipeline of a sharded plan: Terraform, base images, the publish job
/// and one trigger job per shard.
fn level_one(
    plan: &Plan,
    fleet: &Fleet,
    templates: &Templates,
    limits: &Limits,
    dir: &str,
    shards: &[Packed],
) -> Result<(String, Pipeline)> {
    let jobs = shards.len() + 1 + plan.base_images.len() + if plan.terraform { 2 } else { 0 };
    if jobs > limits.jobs_per_pipeline {
        return Err(unshardable(format!(
            "{} instances need {} shards, and the generated pipeline would hold {jobs} jobs; jobs_per_pipeline is {}",
            plan.instances.len(),
            shards.len(),
            limits.jobs_per_pipeline
        )));
    }
    let head = without_instances(plan);
    let mut context = pipeline::context(&head, fleet);
    let triggers: Vec<Value> = shards
        .iter()
        .enumerate()
        .map(|(i, (members, _, _))| {
            let mut needs = vec![PUBLISH_JOB.to_string()];
            if plan.terraform {
                needs.push("terraform:apply".to_string());
            }
            let images: BTreeSet<usize> = members
                .iter()
                .filter_map(|&m| plan.instances[m].base_image)
                .collect();
            needs.extend(images.iter().map(|&b| format!("base-image:{}", b + 1)));
            json!({
                "job": trigger_job(i + 1),
                "artifact": format!("{dir}/{}", file_name(i + 1)),
                "include_job": PUBLISH_JOB,
                "stage": STAGE,
                "needs": needs,
                "instances": members.len(),
            })
        })
        .collect();
    if let Value::Object(map) = &mut context {
        if let Some(Value::Array(stages)) = map.get_mut("stages") {
            stages.push(Value::String(STAGE.to_string()));
        }
        map.insert(
            "shards".to_string(),
            json!({
                "publish_job": PUBLISH_JOB,
                "parent_job": fleet.parent_job.as_deref().unwrap_or(PARENT_JOB),
                "stage": STAGE,
                "paths": format!("{dir}/"),
                "count": shards.len(),
                "triggers": triggers,
            }),
        );
    }
    let mut yaml = templates.render_template(TEMPLATE, &context)?;
    yaml.truncate(yaml.trim_end().len());
    yaml.push('\n');
    let pipeline = Pipeline::parse(&yaml)?;
    pipeline.check()?;
    limits.check("", &yaml, &pipeline)?;
    Ok((yaml, pipeline))
}

/// The shards in plain words, for [`Plan::describe`]; nothing when there are none.
pub fn describe(shards: &[PlannedShard], out: &mut String) {
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
