//! Grove's core: commit titles in, pipeline YAML out, and no I/O on the way.
//!
//! The flow of data is title → [`request::Request`] → [`plan::Plan`] → pipeline → YAML.
//! Nothing here touches files, processes, the network, the environment, a clock or randomness:
//! the CLI and the WASM module hand in text and get text and data back.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod diagnostic;
pub mod error;
pub mod name;
pub mod request;
pub mod title;
