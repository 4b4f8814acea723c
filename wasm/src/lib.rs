//! Grove's core compiled to WebAssembly for the playground (the page in `web/`): the boundary
//! between JavaScript and [`grove_core`].
//!
//! The exports, for `wasm-bindgen --target web`:
//!
//! - [`show()`]`(title, files)`: the outcome of one commit title against a fleet given as
//!   path → text;
//! - [`show_webhook()`] (`showWebhook(payload, files)`): the same for a GitLab or GitHub
//!   webhook payload (JSON text), as `grove webhookpipeline` reads it;
//! - the [`GroveFleet`] class (`Fleet` in JavaScript): the same two, with the fleet read once
//!   for many inputs (one per keystroke); and, for a page that shows one pipeline file at a
//!   time, `fleet.outline(kind, input)` (the outcome without the files' text, kept in the fleet)
//!   and `fleet.file(name)` (one file of it, with its graph);
//! - [`is_fleet_file`] (`isFleetFile`): which files of a dropped folder are worth reading;
//! - [`version`]: the version of this crate.
//!
//! Nothing panics across the boundary. A title with errors gives its diagnostics as data, and so
//! does any failure of core (a missing instance, a malformed config): the `error` of a
//! [`playground::Outcome`] carries the whole message and the CLI's exit code. Only arguments of the
//! wrong shape (a fleet that does not map paths to text) throw, as a `JsError` with the reason.
//! Diagnostic ranges are UTF-8 byte offsets into the input; JavaScript strings count UTF-16 units,
//! so the page converts them before it underlines.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod fleet_files;
pub mod graph;
pub mod playground;

use grove_core::Files;
use playground::{Kept, LoadedFleet};
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** A cluster repository as data: each path relative to its root (with `/`) and its text. */
export type Files = Record<string, string> | Map<string, string>;

/** A message about the bytes `start..end` (UTF-8 offsets) of an input. */
export interface Diagnostic {
  severity: "error" | "warning";
  message: string;
  /** First byte of the offending part (UTF-8 offset, not a JavaScript string index). */
  start: number;
  /** One past its last byte; equal to `start` for a point. */
  end: number;
  hint: string | null;
}

/** A failure of core, as the CLI would report it. */
export interface GroveError {
  kind: "no-such-instance" | "already-exists" | "invalid-input";
  /** The CLI's exit code: 3, 4 or 5. */
  exitCode: number;
  /** The whole message, one line per diagnostic, as the CLI prints it. */
  message: string;
  /** The first line of `message`. */
  summary: string;
  /** What the diagnostics point into: `commit title` or a file path. */
  source: string | null;
  diagnostics: Diagnostic[];
}

/** One instance a plan acts on (the fields of `grove plan --format json`). */
export interface PlannedInstance {
  name: string;
  deployment_id: string | null;
  action: "create" | "update" | "upgrade" | "archive";
  exists: boolean;
  requirements_hash: string;
  base_image: number | null;
  edx_platform_version: string | null;
}

/** A base image built before the instances that use it. */
export interface BaseImage {
  repository: string;
  version: string;
  instances: number;
}

/** An instance left out, and why. */
export interface Skipped {
  name: string;
  reason: string;
}

/** What a request will do: `grove plan --format json`. */
export interface Plan {
  kind: "none" | "infrastructure" | "create" | "update" | "archive" | "delete" | "batch-upgrade" | "batch-upgrade-to" | "build-image" | string;
  terraform: boolean;
  instances: PlannedInstance[];
  skipped: Skipped[];
  base_images: BaseImage[];
  reason: string | null;
  notes: string[];
  unknown_patches: string[];
  /** The preview instance of a webhook plan (`preview-up`, `preview-down`); never set for titles. */
  preview?: Record<string, unknown>;
}

/** A job of the pipeline graph. */
export interface GraphJob {
  name: string;
  stage: string;
  needs: string[];
  /** The line of the YAML its name is on, from 1 (0 if not found). */
  line: number;
  /** How many lines of the YAML are the job's (0 if not found). */
  lines: number;
  /** The pipeline file it triggers (`generated-shards/shard-N.yml`), if any. */
  trigger: string | null;
}

/** The stages of a pipeline in order, and its jobs in the order of its YAML, with their `needs`. */
export interface Graph {
  stages: string[];
  jobs: GraphJob[];
}

/** A pipeline file of an outcome, without its text. */
export interface FileOutline {
  /** `generated.yml`, or `generated-shards/shard-N.yml`. */
  file: string;
  jobs: number;
  /** How many stages it declares. */
  stages: number;
  bytes: number;
}

/** An outcome without the text of its pipeline files (`Fleet.outline`). */
export interface Outline {
  diagnostics: Diagnostic[];
  plan: Plan | null;
  planJson: string | null;
  planText: string | null;
  /** `generated.yml` first, then its shards; empty when there is an error. */
  files: FileOutline[];
  error: GroveError | null;
}

/** One pipeline file of the last outline (`Fleet.file`). */
export interface PipelineFile {
  file: string;
  yaml: string;
  graph: Graph;
}

/**
 * Everything the page shows for one title or webhook payload. Either `error` is set and `plan`, `planJson`,
 * `planText`, `yaml` and `graph` are null, or those are all set and `error` is null.
 */
export interface Outcome {
  /** The title's errors and warnings; always empty for a webhook payload (see `error`). */
  diagnostics: Diagnostic[];
  plan: Plan | null;
  /** Exactly what `grove plan --format json` prints. */
  planJson: string | null;
  /** Exactly what `grove plan` prints. */
  planText: string | null;
  /** Exactly what `grove pipeline` writes. */
  yaml: string | null;
  /** The shard pipelines `yaml` triggers when the plan is too big for one file (else none). */
  shards: ShardFile[];
  graph: Graph | null;
  error: GroveError | null;
}

/** A shard pipeline, exactly as `grove pipeline` writes it beside `generated.yml`. */
export interface ShardFile {
  /** `generated-shards/shard-N.yml`. */
  file: string;
  jobs: number;
  yaml: string;
}

/** A folder under `instances/` that is not an instance. */
export interface IgnoredFolder {
  folder: string;
  reason: string;
}

/** The instances of a fleet, or why it cannot be used. */
export interface FleetSummary {
  instances: string[];
  ignored: IgnoredFolder[];
  error: GroveError | null;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// A JavaScript object or `Map` of path → text (`Files` in TypeScript).
    #[wasm_bindgen(typescript_type = "Files")]
    pub type JsFiles;

    /// A [`playground::Outcome`] in JavaScript (`Outcome` in TypeScript).
    #[wasm_bindgen(typescript_type = "Outcome")]
    pub type JsOutcome;

    /// A [`playground::FleetSummary`] in JavaScript (`FleetSummary` in TypeScript).
    #[wasm_bindgen(typescript_type = "FleetSummary")]
    pub type JsFleetSummary;

    /// A [`playground::Outline`] in JavaScript (`Outline` in TypeScript).
    #[wasm_bindgen(typescript_type = "Outline")]
    pub type JsOutline;

    /// A [`playground::PipelineFile`] in JavaScript, or `null` (`PipelineFile | null`).
    #[wasm_bindgen(typescript_type = "PipelineFile | null")]
    pub type JsPipelineFile;
}

/// Shows a commit title against a fleet: its diagnostics, plan, pipeline YAML and graph.
///
/// Throws only if `files` does not map paths to text.
#[wasm_bindgen]
pub fn show(title: &str, files: &JsFiles) -> Result<JsOutcome, JsError> {
    GroveFleet::new(files)?.show(title)
}

/// Shows a webhook payload (GitLab or GitHub JSON text) against a fleet: its plan, pipeline
/// YAML and graph, as `grove webhookpipeline` and `grove plan --webhook` make them. A payload
/// Grove cannot read, or one the fleet's `WEBHOOKS` settings do not allow, is the outcome's
/// `error`, never a throw.
///
/// Throws only if `files` does not map paths to text.
#[wasm_bindgen(js_name = showWebhook)]
pub fn show_webhook(payload: &str, files: &JsFiles) -> Result<JsOutcome, JsError> {
    GroveFleet::new(files)?.show_webhook(payload)
}

/// Whether Grove reads the file at `path` (relative to the cluster root): the files to keep of
/// a dropped folder.
#[wasm_bindgen(js_name = isFleetFile)]
pub fn is_fleet_file(path: &str) -> bool {
    fleet_files::is_fleet_file(path)
}

/// The version of Grove this module was built from.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// A fleet read once from its files, to show many titles against (`Fleet` in JavaScript).
#[wasm_bindgen(js_name = Fleet)]
pub struct GroveFleet {
    inner: LoadedFleet,
    /// The last outcome of [`GroveFleet::outline`], whose files [`GroveFleet::file`] gives.
    kept: Option<Kept>,
}

#[wasm_bindgen(js_class = Fleet)]
impl GroveFleet {
    /// Reads a fleet from its files. A malformed `grove.yml` does not throw: it is the `error`
    /// of [`GroveFleet::summary`] and of every outcome. Throws only if `files` does not map
    /// paths to text.
    #[wasm_bindgen(constructor)]
    pub fn new(files: &JsFiles) -> Result<GroveFleet, JsError> {
        let files = files_from_js(files).map_err(|why| {
            JsError::new(&format!(
                "the fleet must be an object or Map of file path → text: {why}"
            ))
        })?;
        Ok(GroveFleet {
            inner: LoadedFleet::new(files),
            kept: None,
        })
    }

    /// Shows a commit title against this fleet.
    pub fn show(&self, title: &str) -> Result<JsOutcome, JsError> {
        to_js(&self.inner.show_title(title)).map(JsCast::unchecked_into)
    }

    /// Shows a webhook payload (JSON text) against this fleet (see [`show_webhook()`]).
    #[wasm_bindgen(js_name = showWebhook)]
    pub fn show_webhook(&self, payload: &str) -> Result<JsOutcome, JsError> {
        to_js(&self.inner.show_webhook(payload)).map(JsCast::unchecked_into)
    }

    /// The instances of this fleet, the folders that are not instances, and its error if any.
    pub fn summary(&self) -> Result<JsFleetSummary, JsError> {
        to_js(&self.inner.summary()).map(JsCast::unchecked_into)
    }

    /// Shows a commit title (`kind` is `title`) or a webhook payload (`webhook`), keeps the
    /// result for [`GroveFleet::file`], and returns all of it but the pipeline files' text:
    /// what a page shows on every keystroke. Throws only for another `kind`.
    pub fn outline(&mut self, kind: &str, input: &str) -> Result<JsOutline, JsError> {
        let kept = match kind {
            "title" => self.inner.keep_title(input),
            "webhook" => self.inner.keep_webhook(input),
            _ => return Err(JsError::new("the kind of input must be title or webhook")),
        };
        let outline = to_js(&kept.outline)?;
        self.kept = Some(kept);
        Ok(outline.unchecked_into())
    }

    /// One pipeline file of the last [`GroveFleet::outline`] (`generated.yml`, or a shard's
    /// `generated-shards/shard-N.yml`) with its graph, or `null` if it has no such file.
    pub fn file(&self, file: &str) -> Result<JsPipelineFile, JsError> {
        let file = self.kept.as_ref().and_then(|kept| kept.file(file));
        to_js(&file).map(JsCast::unchecked_into)
    }
}

/// The files of a `Files` value (an object or a `Map` of path → text), or why it is not one.
fn files_from_js(value: &JsValue) -> Result<Files, String> {
    let entries = if let Some(map) = value.dyn_ref::<js_sys::Map>() {
        js_sys::Array::from(&map.entries())
    } else if value.is_object() && !js_sys::Array::is_array(value) {
        js_sys::Object::entries(value.unchecked_ref())
    } else if value.is_null() || js_sys::Array::is_array(value) {
        return Err(format!(
            "got {}",
            if value.is_null() { "null" } else { "an array" }
        ));
    } else {
        return Err(format!(
            "got a {}",
            value.js_typeof().as_string().unwrap_or_default()
        ));
    };
    entries
        .iter()
        .map(|entry| {
            let entry: js_sys::Array = entry.unchecked_into();
            let path = entry.get(0).as_string().ok_or("a path is not a string")?;
            match entry.get(1).as_string() {
                Some(text) => Ok((path, text)),
                None => Err(format!("the text of {path} is not a string")),
            }
        })
        .collect()
}

/// Converts a value to plain JavaScript data: objects, arrays, strings, numbers and `null`.
///
/// The value crosses the boundary as one JSON text that `JSON.parse` reads: one call instead
/// of one per field. It is written pretty, like the plan's JSON (`planJson`), so that the
/// module holds one serializer of the plan, not two.
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| JsError::new(&format!("cannot hand the result to JavaScript: {e}")))?;
    js_sys::JSON::parse(&text).map_err(|_| JsError::new("cannot hand the result to JavaScript"))
}
