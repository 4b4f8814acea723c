//! Grove's core: commit titles in, pipeline YAML out, and no I/O on the way.
//!
//! The flow of data is title or webhook payload → [`request::Request`] → [`plan::Plan`] →
//! pipeline → YAML.
//! Nothing here touches files, processes, the network, the environment, a clock or randomness:
//! the CLI and the WASM module hand in text and get text and data back.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod chain;
pub mod diagnostic;
pub mod error;
pub mod fleet;
pub mod limits;
pub mod name;
pub mod pipeline;
pub mod plan;
pub mod preview;
pub mod request;
pub mod shard;
pub mod state;
pub mod template;
pub mod title;
pub mod webhook;
pub mod yaml;

pub use diagnostic::{Diagnostic, Parsed};
pub use error::{Error, ErrorKind, Result};
pub use fleet::{Files, Fleet};
pub use pipeline::Pipeline;
pub use plan::Plan;
pub use request::Request;
pub use webhook::request_from_webhook;

/// Everything Grove makes of one request: the plan, the pipeline YAML and its model.
#[derive(Debug, Clone)]
pub struct Generated {
    /// What will happen, and what is left out.
    pub plan: Plan,
    /// The child pipeline, as GitLab will read it.
    pub yaml: String,
    /// The pipeline read back from `yaml`.
    pub pipeline: Pipeline,
    /// The shard pipelines `yaml` triggers, when the plan is too big for one file; none
    /// otherwise. They go in the shard folder ([`shard::dir_for`]).
    pub shards: Vec<shard::Shard>,
}

/// Plans `request` against `fleet` and renders its pipeline with the fleet's templates, for the
/// pipeline file `generated.yml` (its shards, if any, in `generated-shards/`).
pub fn generate(request: &Request, fleet: &Fleet) -> Result<Generated> {
    generate_for(request, fleet, shard::DEFAULT_DIR)
}

/// [`generate`] for a pipeline whose shard folder is `shard_dir` (see [`shard::dir_for`]), as
/// the generated pipeline names it in its `artifact:` includes.
pub fn generate_for(request: &Request, fleet: &Fleet, shard_dir: &str) -> Result<Generated> {
    let templates = template::Templates::new(fleet)?;
    generate_with_in(request, fleet, &templates, shard_dir)
}

/// [`generate`] with the fleet's templates compiled beforehand ([`template::Templates::new`]),
/// for a caller that generates many pipelines for one fleet, such as the browser preview.
pub fn generate_with(
    request: &Request,
    fleet: &Fleet,
    templates: &template::Templates,
) -> Result<Generated> {
    generate_with_in(request, fleet, templates, shard::DEFAULT_DIR)
}

/// The steps of [`generate_for`] after the templates are compiled.
fn generate_with_in(
    request: &Request,
    fleet: &Fleet,
    templates: &template::Templates,
    shard_dir: &str,
) -> Result<Generated> {
    let mut plan = Plan::new(request, fleet)?;
    plan.unknown_patches = fleet
        .settings
        .pipeline_patches
        .keys()
        .filter(|name| !templates.patch_points.contains(*name))
        .cloned()
        .collect();
    let (yaml, pipeline, shards) = shard::render(&mut plan, fleet, templates, shard_dir)?;
    Ok(Generated {
        plan,
        yaml,
        pipeline,
        shards,
    })
}

/// Parses a commit title, failing with exit 5 and its diagnostics if it is malformed.
///
/// The warnings of a title that parsed are returned beside the request.
pub fn request_from_title(title: &str) -> Result<(Request, Vec<Diagnostic>)> {
    let parsed = title::parse_title(title);
    match parsed.value {
        Some(request) => Ok((request, parsed.diagnostics)),
        None => {
            let first = parsed
                .diagnostics
                .iter()
                .find(|d| d.is_error())
                .map(|d| d.message.clone())
                .unwrap_or_default();
            Err(Error::invalid(
                format!("invalid commit title: {first}"),
                "commit title",
                title,
                parsed.diagnostics,
            ))
        }
    }
}
