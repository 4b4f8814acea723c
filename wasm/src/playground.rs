//! The playground's work: one commit title (or webhook payload) against one fleet, and
//! everything the page shows about it (its [`Outcome`]), as plain data that serializes to
//! JavaScript.
//!
//! This module has no JavaScript in it, so it runs and is tested like any Rust code. A failure is
//! a value here, never a panic: a malformed title gives its diagnostics, and any other failure
//! (a missing instance, a malformed config) gives the error the CLI would exit with.
//!
//! Every kind of input goes through [`LoadedFleet::keep`]: a title is read into a request by
//! [`LoadedFleet::keep_title`], a webhook payload by [`LoadedFleet::keep_webhook`]. What it keeps
//! ([`Kept`]) is handed to the page whole, as an [`Outcome`], or in parts: its [`Outline`] (all but
//! the pipeline files' text), then each [`PipelineFile`] when it is shown.

use crate::graph::Graph;
use grove_core::generate::InMemory;
use grove_core::{Cause, Diagnostic, Error, Files, Fleet, Input, Options, Pipeline, Request};
use serde::Serialize;

/// A core error as data: what the CLI would print, the exit code it would exit with, and its
/// cause with its details (the file and setting at fault, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// `no-such-instance`, `already-exists`, `invalid-input` or `internal`.
    pub kind: &'static str,
    /// Why it failed, as core says: `{"cause": "file", "path": ..., "key": ...}`, ...
    pub cause: Cause,
    /// The exit code of the CLI for this error (3, 4 or 5).
    pub exit_code: u8,
    /// The whole message, with one line per diagnostic, as the CLI prints it.
    pub message: String,
    /// The first line of the message alone.
    pub summary: String,
    /// The input the diagnostics point into (`commit title` or a file path), if any.
    pub source: Option<String>,
    /// Diagnostics with byte ranges into `source`.
    pub diagnostics: Vec<Diagnostic>,
}

impl From<&Error> for Failure {
    fn from(error: &Error) -> Self {
        Failure {
            kind: error.cause.kind(),
            cause: error.cause.clone(),
            exit_code: error.exit_code(),
            message: error.to_string(),
            summary: error.message.clone(),
            source: error.source.as_ref().map(|s| s.name.clone()),
            diagnostics: error.diagnostics.clone(),
        }
    }
}

/// Everything the page shows for one input.
///
/// Either `error` is set and the outputs are `None` (and `shards` empty), or the outputs are all
/// set and `error` is `None`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// The input's errors and warnings, with byte ranges into it (UTF-8 offsets).
    pub diagnostics: Vec<Diagnostic>,
    /// What the pipeline will do.
    pub plan: Option<serde_json::Value>,
    /// The plan exactly as `grove plan --format json` prints it.
    pub plan_json: Option<String>,
    /// The plan in plain words, exactly as `grove plan` prints it.
    pub plan_text: Option<String>,
    /// The child pipeline, exactly as `grove pipeline` writes it.
    pub yaml: Option<String>,
    /// The shard pipelines it triggers, exactly as `grove pipeline` writes them beside it, when
    /// the plan is too big for one file; none otherwise.
    pub shards: Vec<ShardFile>,
    /// The stages and jobs of the pipeline, with their `needs`.
    pub graph: Option<Graph>,
    /// Why there is no pipeline, when there is none.
    pub error: Option<Failure>,
}

impl From<Kept> for Outcome {
    fn from(kept: Kept) -> Outcome {
        let graph = kept.graph(0);
        let mut files = kept.files.into_iter();
        let yaml = files.next().map(|main| main.yaml);
        let outline = kept.outline;
        Outcome {
            diagnostics: outline.diagnostics,
            plan: outline.plan,
            plan_json: outline.plan_json,
            plan_text: outline.plan_text,
            yaml,
            shards: files
                .map(|shard| ShardFile {
                    file: shard.file,
                    jobs: shard.pipeline.jobs.len(),
                    yaml: shard.yaml,
                })
                .collect(),
            graph,
            error: outline.error,
        }
    }
}

/// An outcome without the text of its pipeline files: what the page shows on every keystroke.
///
/// Either `error` is set and the plan fields are `None` (and `files` empty), or the plan fields
/// are all set and `error` is `None`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outline {
    /// The input's errors and warnings, with byte ranges into it (UTF-8 offsets).
    pub diagnostics: Vec<Diagnostic>,
    /// What the pipeline will do.
    pub plan: Option<serde_json::Value>,
    /// The plan exactly as `grove plan --format json` prints it.
    pub plan_json: Option<String>,
    /// The plan in plain words, exactly as `grove plan` prints it.
    pub plan_text: Option<String>,
    /// The pipeline files, `generated.yml` first, then its shards.
    pub files: Vec<FileOutline>,
    /// Why there is no pipeline, when there is none.
    pub error: Option<Failure>,
}

/// A pipeline file, without its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileOutline {
    /// `generated.yml`, or `generated-shards/shard-N.yml`.
    pub file: String,
    /// How many jobs it holds.
    pub jobs: usize,
    /// How many stages it declares.
    pub stages: usize,
    /// How many bytes its YAML has.
    pub bytes: usize,
}

/// One pipeline file, whole: its YAML and its graph.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineFile {
    /// `generated.yml`, or `generated-shards/shard-N.yml`.
    pub file: String,
    /// Exactly what `grove pipeline` writes to it.
    pub yaml: String,
    /// Its stages and jobs, in file order, with their `needs`.
    pub graph: Graph,
}

/// The main pipeline file of an outcome (shard files are named by core).
pub const MAIN_FILE: &str = "generated.yml";

/// A file of an outcome, as core made it.
#[derive(Debug, Clone)]
struct KeptFile {
    file: String,
    yaml: String,
    pipeline: Pipeline,
}

/// An outcome kept whole: its outline, and its pipeline files with their models, so that each
/// file's graph is drawn only when the file is shown.
#[derive(Debug, Clone)]
pub struct Kept {
    /// Everything but the pipeline files' text.
    pub outline: Outline,
    files: Vec<KeptFile>,
}

impl Kept {
    /// An outcome that stops at `error`, keeping the input's diagnostics.
    fn failed(diagnostics: Vec<Diagnostic>, error: &Error) -> Kept {
        Kept {
            outline: Outline {
                diagnostics,
                plan: None,
                plan_json: None,
                plan_text: None,
                files: Vec::new(),
                error: Some(Failure::from(error)),
            },
            files: Vec::new(),
        }
    }

    /// The graph of the `index`th file (`generated.yml` is 0), if there is one.
    fn graph(&self, index: usize) -> Option<Graph> {
        let kept = self.files.get(index)?;
        let names: Vec<&str> = self.files.iter().map(|f| f.file.as_str()).collect();
        Some(Graph::new(&kept.pipeline, &kept.yaml, &names))
    }

    /// The pipeline file named `file` (`generated.yml` or a shard's path), with its graph.
    pub fn file(&self, file: &str) -> Option<PipelineFile> {
        let index = self.files.iter().position(|f| f.file == file)?;
        Some(PipelineFile {
            file: file.to_string(),
            yaml: self.files[index].yaml.clone(),
            graph: self.graph(index)?,
        })
    }
}

/// One shard pipeline file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShardFile {
    /// Its path beside `generated.yml`: `generated-shards/shard-N.yml`.
    pub file: String,
    /// How many jobs it holds.
    pub jobs: usize,
    /// Its YAML.
    pub yaml: String,
}

/// A folder under `instances/` that is not taken as an instance, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IgnoredFolder {
    /// The folder name.
    pub folder: String,
    /// Why it is not an instance.
    pub reason: String,
}

/// What the page shows about a fleet before any title.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FleetSummary {
    /// Every instance, sorted by name.
    pub instances: Vec<String>,
    /// Folders under `instances/` that are not instances.
    pub ignored: Vec<IgnoredFolder>,
    /// Why the fleet cannot be used at all (a malformed root `grove.yml`), if it cannot.
    pub error: Option<Failure>,
}

/// A fleet read from its files once, with its pipeline templates compiled once, ready to show
/// the outcome of many inputs (one per keystroke): core's in-memory cluster, with the CLI's
/// default options.
///
/// A fleet that cannot be read is kept as its error, so that every outcome reports it.
pub struct LoadedFleet {
    cluster: InMemory,
}

impl LoadedFleet {
    /// Indexes the files of a cluster repository (path → text) and compiles its templates.
    pub fn new(files: Files) -> LoadedFleet {
        LoadedFleet {
            cluster: InMemory::new(files, Options::default()),
        }
    }

    /// The fleet, or why its files cannot be used.
    fn fleet(&self) -> Result<&Fleet, &Error> {
        self.cluster.prepared().map(|p| &p.fleet)
    }

    /// The instances, ignored folders and error of this fleet.
    pub fn summary(&self) -> FleetSummary {
        match self.fleet() {
            Ok(fleet) => FleetSummary {
                instances: fleet.names().map(|n| n.to_string()).collect(),
                ignored: fleet
                    .ignored
                    .iter()
                    .map(|i| IgnoredFolder {
                        folder: i.folder.clone(),
                        reason: i.reason.clone(),
                    })
                    .collect(),
                error: None,
            },
            Err(error) => FleetSummary {
                instances: Vec::new(),
                ignored: Vec::new(),
                error: Some(Failure::from(error)),
            },
        }
    }

    /// Shows a commit title: its diagnostics, and its plan and pipeline if it has no errors.
    pub fn show_title(&self, title: &str) -> Outcome {
        self.keep_title(title).into()
    }

    /// Shows a webhook payload (GitLab or GitHub JSON), as `grove webhookpipeline` and
    /// `grove plan --webhook` read it against this fleet's `WEBHOOKS` settings.
    ///
    /// The outcome's own diagnostics are always empty: they would point into the payload. When
    /// a push to the cluster repository carries a malformed commit title, the error's
    /// diagnostics point into that title (its `source` is `commit title`).
    pub fn show_webhook(&self, payload: &str) -> Outcome {
        self.keep_webhook(payload).into()
    }

    /// [`LoadedFleet::show_title`], kept whole. An instance the title names that the fleet
    /// does not have is also a diagnostic over its name, so that the page underlines it.
    pub fn keep_title(&self, title: &str) -> Kept {
        let kept = self.keep(Input::Title(title));
        let no_such_instance = kept
            .outline
            .error
            .as_ref()
            .is_some_and(|e| e.cause == Cause::NoSuchInstance);
        match (
            no_such_instance,
            self.fleet(),
            grove_core::title::request(title),
        ) {
            (true, Ok(fleet), Ok((request, _))) => {
                let mut kept = kept;
                let missing = unknown_instances(title, &request, fleet);
                kept.outline.diagnostics.extend(missing);
                kept
            }
            _ => kept,
        }
    }

    /// [`LoadedFleet::show_webhook`], kept whole.
    pub fn keep_webhook(&self, payload: &str) -> Kept {
        self.keep(Input::Webhook(payload))
    }

    /// Shows any input, kept whole: what core's one generator makes of it, as the CLI
    /// would.
    pub fn keep(&self, input: Input<'_>) -> Kept {
        let generated = match grove_core::generate(&self.cluster, input, &Options::default()) {
            Ok(generated) => generated,
            // A title's diagnostics point into it; a payload's error is the error alone.
            Err(error) => {
                let diagnostics = match (input, &error.cause) {
                    (Input::Title(_), Cause::Title) => error.diagnostics.clone(),
                    (Input::Title(title), _) => grove_core::title::parse_title(title).diagnostics,
                    (Input::Webhook(_), _) => Vec::new(),
                };
                return Kept::failed(diagnostics, &error);
            }
        };
        let report = generated.report();
        let (plan_json, plan) = match (
            serde_json::to_string_pretty(&report),
            serde_json::to_value(report),
        ) {
            (Ok(mut json), Ok(value)) => {
                json.push('\n');
                (json, value)
            }
            (Err(e), _) | (_, Err(e)) => {
                let error = Error::new(
                    Cause::Internal,
                    format!("the plan cannot be written as JSON: {e}"),
                );
                return Kept::failed(generated.warnings, &error);
            }
        };
        let plan_text = report.describe();
        let main = KeptFile {
            file: MAIN_FILE.to_string(),
            yaml: generated.main.yaml,
            pipeline: generated.main.pipeline,
        };
        let shards = generated.shards.into_iter().map(|shard| KeptFile {
            file: format!("{}/{}", grove_core::render::DEFAULT_SHARD_DIR, shard.file),
            yaml: shard.content.yaml,
            pipeline: shard.content.pipeline,
        });
        let files: Vec<KeptFile> = std::iter::once(main).chain(shards).collect();
        Kept {
            outline: Outline {
                diagnostics: generated.warnings,
                plan_text: Some(plan_text),
                plan_json: Some(plan_json),
                plan: Some(plan),
                files: files
                    .iter()
                    .map(|f| FileOutline {
                        file: f.file.clone(),
                        jobs: f.pipeline.jobs.len(),
                        stages: f.pipeline.stages.len(),
                        bytes: f.yaml.len(),
                    })
                    .collect(),
                error: None,
            },
            files,
        }
    }
}

/// A diagnostic over each instance `request` names that `fleet` does not have (and would not
/// create), at its name in `title`.
fn unknown_instances(title: &str, request: &Request, fleet: &Fleet) -> Vec<Diagnostic> {
    let names: Vec<&grove_core::name::InstanceName> = match request {
        Request::Update(targets) => targets.iter().map(|t| &t.name).collect(),
        Request::Archive(names) => names.iter().collect(),
        _ => Vec::new(),
    };
    let list = list_start(title);
    let mut from = list;
    let mut out = Vec::new();
    for name in names {
        let Some(at) = find_name(title, name.as_str(), from) else {
            continue;
        };
        from = at + name.as_str().len();
        if fleet.contains(name) {
            continue;
        }
        let hint = match closest(name.as_str(), fleet.names().map(|n| n.as_str())) {
            Some(near) => format!("did you mean {near}?"),
            None => format!("each instance needs instances/{name}/config.yml"),
        };
        out.push(
            Diagnostic::error(
                at..from,
                format!("no such instance \"{name}\" in instances/"),
            )
            .with_hint(hint),
        );
    }
    out
}

/// Where the list of a title starts: after its leading `[...]` tags.
fn list_start(title: &str) -> usize {
    let mut at = 0;
    loop {
        let rest = &title[at..];
        let trimmed = rest.trim_start();
        if !trimmed.starts_with('[') {
            return at;
        }
        match trimmed.find(']') {
            Some(end) => at += rest.len() - trimmed.len() + end + 1,
            None => return at,
        }
    }
}

/// The byte offset of `name` in `title` at or after `from`, as a whole word.
fn find_name(title: &str, name: &str, from: usize) -> Option<usize> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut start = from;
    while let Some(found) = title.get(start..)?.find(name) {
        let at = start + found;
        let end = at + name.len();
        let before = title[..at].chars().next_back();
        let after = title[end..].chars().next();
        if !before.is_some_and(word) && !after.is_some_and(word) {
            return Some(at);
        }
        start = end;
    }
    None
}

/// The name of `names` nearest to `name`, if one is at most two edits away.
fn closest<'a>(name: &str, names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    names
        .map(|candidate| (edits(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// The Levenshtein distance between two short names.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fleet of `files`, with a store that outlives CI jobs unless `grove.yml` is given.
    fn fleet(files: &[(&str, &str)]) -> LoadedFleet {
        let mut files: grove_core::Files = files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
        files
            .entry("grove.yml".into())
            .or_insert_with(|| "ENV_STORE: s3://grove-state/fleet\n".into());
        LoadedFleet::new(files)
    }

    #[test]
    fn a_bad_title_gives_diagnostics_and_exit_5() {
        let outcome = fleet(&[]).show_title("[AutoDeploy][Updte] a");
        assert!(outcome.yaml.is_none() && outcome.plan.is_none());
        assert_eq!(outcome.diagnostics.len(), 1);
        assert_eq!(outcome.diagnostics[0].range(), 13..18);
        let error = outcome.error.expect("an error");
        assert_eq!((error.kind, error.exit_code), ("invalid-input", 5));
        assert_eq!(error.source.as_deref(), Some("commit title"));
    }

    #[test]
    fn a_missing_instance_is_exit_3_as_data_and_underlined() {
        let f = fleet(&[("instances/campus/config.yml", "")]);
        let title = "[AutoDeploy][Update] campus,nowhere|4, campsu";
        let outcome = f.show_title(title);
        let error = outcome.error.expect("an error");
        assert_eq!((error.kind, error.exit_code), ("no-such-instance", 3));
        assert!(error.message.contains("\"nowhere\""), "{}", error.message);
        let under: Vec<(&str, Option<&str>)> = outcome
            .diagnostics
            .iter()
            .map(|d| (&title[d.range()], d.hint.as_deref()))
            .collect();
        assert_eq!(
            under,
            [
                (
                    "nowhere",
                    Some("each instance needs instances/nowhere/config.yml")
                ),
                ("campsu", Some("did you mean campus?")),
            ]
        );
        assert!(outcome.diagnostics.iter().all(Diagnostic::is_error));
        // A tag that holds the name is not the name.
        let outcome = f.show_title("[AutoDeploy][Archive] archive");
        let d = &outcome.diagnostics[0];
        assert_eq!(d.range(), 22..29);
        // The older form, and a name that exists: nothing to underline.
        let outcome = f.show_title("[AutoDeploy] gone:5 - apply changes");
        assert_eq!(outcome.diagnostics[0].range(), 13..17);
        assert!(f
            .show_title("[AutoDeploy][Update] campus")
            .diagnostics
            .is_empty());
    }

    #[test]
    fn kept_in_parts_it_is_the_whole_outcome() {
        let files: Vec<(&str, &str)> = vec![
            (
                "grove.yml",
                "ENV_STORE: s3://grove-state/fleet\nLIMITS:\n  jobs_per_pipeline: 4\n",
            ),
            ("instances/a/config.yml", "LMS_HOST: a.org\n"),
            ("instances/b/config.yml", "LMS_HOST: b.org\n"),
        ];
        let f = fleet(&files);
        let title = "[AutoDeploy][Update] a,b";
        let whole = f.show_title(title);
        let kept = f.keep_title(title);
        let names: Vec<(&str, usize)> = kept
            .outline
            .files
            .iter()
            .map(|o| (o.file.as_str(), o.jobs))
            .collect();
        assert_eq!(
            names,
            [
                ("generated.yml", 3),
                ("generated-shards/shard-1.yml", 3),
                ("generated-shards/shard-2.yml", 3)
            ]
        );
        let main = kept.file("generated.yml").expect("the main file");
        assert_eq!(Some(&main.yaml), whole.yaml.as_ref());
        assert_eq!(Some(&main.graph), whole.graph.as_ref());
        assert_eq!(kept.outline.files[0].bytes, main.yaml.len());
        let triggers: Vec<Option<&str>> = main
            .graph
            .jobs
            .iter()
            .map(|j| j.trigger.as_deref())
            .collect();
        assert!(
            triggers.contains(&Some("generated-shards/shard-2.yml")),
            "{triggers:?}"
        );
        let shard = kept.file("generated-shards/shard-2.yml").expect("a shard");
        assert_eq!(shard.yaml, whole.shards[1].yaml);
        assert_eq!(shard.graph.jobs.len(), 3);
        // In file order: the venv of its requirements, then the instance's build and release.
        assert_eq!(shard.graph.jobs[0].name, "venv:1");
        assert_eq!(shard.graph.jobs[2].name, "release:b");
        let lines: Vec<&str> = shard.yaml.lines().collect();
        for job in &shard.graph.jobs {
            assert_eq!(lines[job.line - 1], format!("{}:", job.name));
        }
        assert!(kept.file("generated-shards/shard-3.yml").is_none());
        assert!(f
            .keep_title("[AutoDeploy][Update] c")
            .file("generated.yml")
            .is_none());
    }

    #[test]
    fn a_malformed_root_settings_file_fails_every_outcome() {
        let f = fleet(&[("grove.yml", "PIPELINE_PATCHES: [\n")]);
        assert!(f.summary().error.is_some());
        let outcome = f.show_title("no tag");
        let error = outcome.error.expect("an error");
        assert!(error.message.starts_with("grove.yml:"), "{}", error.message);
    }

    #[test]
    fn a_template_that_does_not_compile_fails_every_outcome() {
        let f = fleet(&[
            ("instances/a/config.yml", ""),
            ("templates/pipelines/noop.yml.hbs", "noop: {{{reason}}}\n"),
        ]);
        let error = f.show_title("no tag").error.expect("an error");
        assert!(error.message.contains("raw output"), "{}", error.message);
    }

    #[test]
    fn the_same_as_core_generate() {
        let f = fleet(&[
            (
                "grove.yml",
                "ENV_STORE: s3://grove-state/fleet\nPIPELINE_PATCHES:\n  nowhere: x\n",
            ),
            ("instances/a/config.yml", "LMS_HOST: a.org\n"),
            ("infrastructure/main.tf", ""),
        ]);
        let core_fleet = InMemory::new(
            [
                (
                    "grove.yml",
                    "ENV_STORE: s3://grove-state/fleet\nPIPELINE_PATCHES:\n  nowhere: x\n",
                ),
                ("instances/a/config.yml", "LMS_HOST: a.org\n"),
                ("infrastructure/main.tf", ""),
            ]
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect(),
            Options::default(),
        );
        for title in ["[AutoDeploy][Update] a", "[AutoDeploy][Create] a", "x"] {
            let expected =
                grove_core::generate(&core_fleet, Input::Title(title), &Options::default())
                    .expect("generated");
            let got = f.show_title(title);
            assert_eq!(
                got.yaml.as_deref(),
                Some(expected.main.yaml.as_str()),
                "{title}"
            );
            assert_eq!(
                got.plan,
                Some(serde_json::to_value(expected.report()).unwrap()),
                "{title}"
            );
        }
    }

    #[test]
    fn a_good_title_gives_every_output() {
        let f = fleet(&[("instances/a/config.yml", "LMS_HOST: a.org\n")]);
        assert_eq!(f.summary().instances, ["a"]);
        let outcome = f.show_title("[AutoDeploy][Update] a");
        assert!(outcome.error.is_none());
        let yaml = outcome.yaml.expect("yaml");
        assert!(yaml.contains("release:a"), "{yaml}");
        assert!(outcome.plan_json.expect("json").ends_with("}\n"));
        assert!(outcome.plan_text.expect("text").starts_with("Update:"));
        let graph = outcome.graph.expect("graph");
        let release = graph.jobs.iter().find(|j| j.name == "release:a");
        assert_eq!(
            release.map(|j| j.needs.clone()),
            Some(vec!["build:a".to_string()])
        );
    }

    /// A GitLab push to `repository`'s `main` whose head commit is titled `title`.
    fn gitlab_push(repository: &str, title: &str) -> String {
        serde_json::json!({
            "object_kind": "push",
            "ref": "refs/heads/main",
            "checkout_sha": "da15",
            "project": {"path_with_namespace": "ops/cluster", "git_http_url": repository, "default_branch": "main"},
            "commits": [{"id": "da15", "message": format!("{title}\n\nbody")}],
        })
        .to_string()
    }

    const WEBHOOK_SETTINGS: &str =
        "ENV_STORE: s3://grove-state/fleet\nWEBHOOKS:\n  cluster_repository: https://gitlab.example.org/ops/cluster.git\n";

    #[test]
    fn a_cluster_push_is_shown_as_its_head_commit_title() {
        let f = fleet(&[
            ("grove.yml", WEBHOOK_SETTINGS),
            ("instances/a/config.yml", "LMS_HOST: a.org\n"),
        ]);
        let payload = gitlab_push(
            "https://gitlab.example.org/ops/cluster.git",
            "[AutoDeploy][Update] a|4",
        );
        let by_payload = f.show_webhook(&payload);
        let by_title = f.show_title("[AutoDeploy][Update] a|4");
        assert!(by_payload.error.is_none(), "{:?}", by_payload.error);
        assert_eq!(by_payload.yaml, by_title.yaml);
        assert_eq!(by_payload.plan_json, by_title.plan_json);
    }

    #[test]
    fn a_bad_head_commit_title_points_into_the_title_not_the_payload() {
        let f = fleet(&[("grove.yml", WEBHOOK_SETTINGS)]);
        let payload = gitlab_push(
            "https://gitlab.example.org/ops/cluster.git",
            "[AutoDeploy][Updte] a",
        );
        let outcome = f.show_webhook(&payload);
        assert!(outcome.diagnostics.is_empty());
        let error = outcome.error.expect("an error");
        assert_eq!((error.kind, error.exit_code), ("invalid-input", 5));
        assert_eq!(error.source.as_deref(), Some("commit title"));
        assert_eq!(error.diagnostics[0].range(), 13..18);
    }

    #[test]
    fn payloads_grove_cannot_read_or_does_not_trust() {
        let f = fleet(&[("grove.yml", WEBHOOK_SETTINGS)]);
        let error = f
            .show_webhook("{\"object_kind\": ")
            .error
            .expect("an error");
        assert_eq!((error.kind, error.exit_code), ("invalid-input", 5));
        assert!(
            error
                .summary
                .starts_with("invalid webhook payload: not JSON"),
            "{}",
            error.summary
        );
        let untrusted = f.show_webhook(&gitlab_push(
            "https://gitlab.example.org/other/repo.git",
            "[AutoDeploy][Update] a",
        ));
        assert!(untrusted.error.is_none(), "{:?}", untrusted.error);
        let plan = untrusted.plan.expect("a plan");
        assert_eq!(plan["kind"], "none");
        assert!(untrusted.yaml.expect("yaml").contains("noop"));
    }

    #[test]
    fn a_sharded_plan_gives_every_shard_file_as_core_writes_it() {
        let files: Vec<(&str, &str)> = vec![
            (
                "grove.yml",
                "ENV_STORE: s3://grove-state/fleet\nLIMITS:\n  jobs_per_pipeline: 4\n",
            ),
            ("instances/a/config.yml", "LMS_HOST: a.org\n"),
            ("instances/b/config.yml", "LMS_HOST: b.org\n"),
            ("instances/c/config.yml", "LMS_HOST: c.org\n"),
        ];
        let title = "[AutoDeploy][Update] a,b,c";
        let outcome = fleet(&files).show_title(title);
        assert!(outcome.error.is_none(), "{:?}", outcome.error);
        let core_fleet = InMemory::new(
            files
                .iter()
                .map(|(p, t)| (p.to_string(), t.to_string()))
                .collect(),
            Options::default(),
        );
        let expected = grove_core::generate(&core_fleet, Input::Title(title), &Options::default())
            .expect("generated");
        assert_eq!(expected.shards.len(), 3);
        assert_eq!(outcome.yaml.as_deref(), Some(expected.main.yaml.as_str()));
        let got: Vec<(&str, usize, &str)> = outcome
            .shards
            .iter()
            .map(|s| (s.file.as_str(), s.jobs, s.yaml.as_str()))
            .collect();
        let want: Vec<(String, usize, &str)> = expected
            .shards
            .iter()
            .map(|s| {
                (
                    format!("generated-shards/{}", s.file),
                    s.content.pipeline.jobs.len(),
                    s.content.yaml.as_str(),
                )
            })
            .collect();
        let want: Vec<(&str, usize, &str)> =
            want.iter().map(|(f, j, y)| (f.as_str(), *j, *y)).collect();
        assert_eq!(got, want);
        assert_eq!(got[0].0, "generated-shards/shard-1.yml");
    }
}
