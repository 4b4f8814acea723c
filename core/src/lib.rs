//! Grove's core: commit titles and webhook payloads in, pipeline YAML out, and no I/O on the way.
//!
//! The modules are layers, each using only those below it (ARCHITECTURE.md draws them):
//!
//! 1. `diagnostic`, `error`, `yaml`, `hash`: diagnostics and errors as data, the one YAML reader;
//! 2. `name`, `value`, `job`: checked names and values, the names of stages, steps and jobs;
//! 3. `settings`: every settings file, typed and checked as it is read;
//! 4. `preview`, `state`: preview instances, an instance's Tutor state as text;
//! 5. `request`; then `title` and `webhook`, which read an input into a request;
//! 6. `fleet`: the cluster repository as data;
//! 7. `plan`: what a request does to the fleet;
//! 8. `render` (with `template` and `chain`) and `pipeline`: the plan as YAML, the YAML read
//!    back into a model and checked;
//! 9. `shard`: pipelines too big for one file; `generate`: the one entry.
//!
//! `core/tests/layers.rs` reads every `crate::` path of `src/` and fails on a cycle between
//! modules (`scripts/test` runs it first).
//!
//! Nothing here touches files, processes, the network, the environment, a clock or randomness:
//! the CLI and the WASM module hand in text and get text and data back.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod diagnostic;
pub mod error;
pub mod fleet;
pub mod generate;
mod hash;
pub mod job;
pub mod name;
pub mod pipeline;
pub mod plan;
pub mod preview;
pub mod render;
pub mod request;
pub mod settings;
pub mod shard;
pub mod state;
pub mod title;
pub mod value;
pub mod webhook;
pub mod yaml;

pub use diagnostic::{Diagnostic, Parsed};
pub use error::{Cause, Error, Result};
pub use fleet::{Files, Fleet};
pub use generate::{generate, Cluster, Generated, Input, Prepared};
pub use pipeline::Pipeline;
pub use plan::Plan;
pub use render::Options;
pub use request::Request;
