//! Grove's core: commit titles in, pipeline YAML out, and no I/O on the way.
//!
//! The flow of data is title or webhook payload → [`request::Request`] → [`plan::Plan`] →
//! pipeline → YAML.
//! Nothing here touches files, processes, the network, the environment, a clock or randomness:
//! the CLI and the WASM module hand in text and get text and data back.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod diagnostic;
pub mod error;
pub mod fleet;
pub mod name;
pub mod pipeline;
pub mod plan;
pub mod preview;
pub mod request;
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
}

/// Plans `request` against `fleet` and renders its pipeline with the fleet's templates.
pub fn generate(request: &Request, fleet: &Fleet) -> Result<Generated> {
    let templates = template::Templates::new(fleet)?;
    let mut plan = Plan::new(request, fleet)?;
    plan.unknown_patches = fleet
        .settings
        .pipeline_patches
        .keys()
        .filter(|name| !templates.patch_points.contains(*name))
        .cloned()
        .collect();
    let (yaml, pipeline) = pipeline::render(&plan, fleet, &templates)?;
    Ok(Generated {
        plan,
        yaml,
        pipeline,
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
