//! The preview: one commit title against one fleet, and everything the page shows about it, as
//! plain data that serializes to JavaScript.
//!
//! This module has no JavaScript in it, so it runs and is tested like any Rust code. A failure is
//! a value here, never a panic: a malformed title gives its diagnostics, and any other failure
//! (a missing instance, a malformed config) gives the error the CLI would exit with.
//!
//! Every kind of input goes through [`LoadedFleet::preview_request`]: a title is read into a
//! request by [`LoadedFleet::preview_title`], a webhook payload by
//! [`LoadedFleet::preview_webhook`].

use crate::graph::Graph;
use grove_core::template::Templates;
use grove_core::{Diagnostic, Error, ErrorKind, Files, Fleet, Plan, Request};
use serde::Serialize;

/// A core error as data: what the CLI would print, and the exit code it would exit with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// `no-such-instance`, `already-exists` or `invalid-input`.
    pub kind: &'static str,
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
            kind: kind_name(error.kind),
            exit_code: error.exit_code(),
            message: error.to_string(),
            summary: error.message.clone(),
            source: error.source.as_ref().map(|s| s.name.clone()),
            diagnostics: error.diagnostics.clone(),
        }
    }
}

/// The stable name of an error kind, in kebab case like the plan's fields.
fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::NoSuchInstance => "no-such-instance",
        ErrorKind::AlreadyExists => "already-exists",
        ErrorKind::InvalidInput => "invalid-input",
    }
}

/// Everything the page shows for one input.
///
/// Either `error` is set and the outputs are `None` (and `shards` empty), or the outputs are all
/// set and `error` is `None`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    /// The input's errors and warnings, with byte ranges into it (UTF-8 offsets).
    pub diagnostics: Vec<Diagnostic>,
    /// What the pipeline will do.
    pub plan: Option<Plan>,
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

impl Preview {
    /// A preview that stops at `error`, keeping the input's diagnostics.
    fn failed(diagnostics: Vec<Diagnostic>, error: &Error) -> Preview {
        Preview {
            diagnostics,
            plan: None,
            plan_json: None,
            plan_text: None,
            yaml: None,
            shards: Vec::new(),
            graph: None,
            error: Some(Failure::from(error)),
        }
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

/// A fleet read from its files once, with its pipeline templates compiled once, ready to preview
/// many inputs against (one per keystroke).
///
/// A fleet that cannot be read is kept as its error, so that every preview reports it.
pub struct LoadedFleet {
    fleet: Result<(Fleet, Result<Templates, Error>), Error>,
}

impl LoadedFleet {
    /// Indexes the files of a cluster repository (path → text) and compiles its templates.
    pub fn new(files: Files) -> LoadedFleet {
        LoadedFleet {
            fleet: Fleet::new(files).map(|fleet| {
                let templates = Templates::new(&fleet);
                (fleet, templates)
            }),
        }
    }

    /// The instances, ignored folders and error of this fleet.
    pub fn summary(&self) -> FleetSummary {
        match &self.fleet {
            Ok((fleet, _)) => FleetSummary {
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

    /// Previews a commit title: its diagnostics, and its plan and pipeline if it has no errors.
    pub fn preview_title(&self, title: &str) -> Preview {
        self.preview_request(grove_core::request_from_title(title))
    }

    /// Previews a webhook payload (GitLab or GitHub JSON), as `grove webhookpipeline` and
    /// `grove plan --webhook` read it against this fleet's `WEBHOOKS` settings.
    ///
    /// The preview's own diagnostics are always empty: they would point into the payload. When
    /// a push to the cluster repository carries a malformed commit title, the error's
    /// diagnostics point into that title (its `source` is `commit title`).
    pub fn preview_webhook(&self, payload: &str) -> Preview {
        let read = match &self.fleet {
            Ok((fleet, _)) => grove_core::request_from_webhook(payload, fleet),
            Err(error) => Err(error.clone()),
        };
        match read {
            Ok(request) => self.preview_request(Ok((request, Vec::new()))),
            Err(error) => Preview::failed(Vec::new(), &error),
        }
    }

    /// Previews a request read from any input, given with that input's warnings, or the error
    /// that reading the input failed with (whose diagnostics point into the input).
    pub fn preview_request(&self, read: Result<(Request, Vec<Diagnostic>), Error>) -> Preview {
        let (request, diagnostics) = match read {
            Ok(read) => read,
            Err(error) => return Preview::failed(error.diagnostics.clone(), &error),
        };
        let (fleet, templates) = match &self.fleet {
            Ok((fleet, Ok(templates))) => (fleet, templates),
            Ok((_, Err(error))) | Err(error) => return Preview::failed(diagnostics, error),
        };
        let generated = match grove_core::generate_with(&request, fleet, templates) {
            Ok(generated) => generated,
            Err(error) => return Preview::failed(diagnostics, &error),
        };
        let plan_json = match serde_json::to_string_pretty(&generated.plan) {
            Ok(mut json) => {
                json.push('\n');
                json
            }
            Err(e) => {
                let error = Error::new(
                    ErrorKind::InvalidInput,
                    format!("the plan cannot be written as JSON: {e}"),
                );
                return Preview::failed(diagnostics, &error);
            }
        };
        let shards = generated
            .shards
            .into_iter()
            .map(|shard| ShardFile {
                file: format!("{}/{}", grove_core::shard::DEFAULT_DIR, shard.file),
                jobs: shard.pipeline.jobs.len(),
                yaml: shard.yaml,
            })
            .collect();
        Preview {
            diagnostics,
            shards,
            plan_text: Some(generated.plan.describe()),
            plan_json: Some(plan_json),
            graph: Some(Graph::from(&generated.pipeline)),
            yaml: Some(generated.yaml),
            plan: Some(generated.plan),
            error: None,
        }
    }
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
        let preview = fleet(&[]).preview_title("[AutoDeploy][Updte] a");
        assert!(preview.yaml.is_none() && preview.plan.is_none());
        assert_eq!(preview.diagnostics.len(), 1);
        assert_eq!(preview.diagnostics[0].range(), 13..18);
        let error = preview.error.expect("an error");
        assert_eq!((error.kind, error.exit_code), ("invalid-input", 5));
        assert_eq!(error.source.as_deref(), Some("commit title"));
    }

    #[test]
    fn a_missing_instance_is_exit_3_as_data() {
        let preview = fleet(&[]).preview_title("[AutoDeploy][Update] nowhere");
        assert!(preview.diagnostics.is_empty());
        let error = preview.error.expect("an error");
        assert_eq!((error.kind, error.exit_code), ("no-such-instance", 3));
        assert!(error.message.contains("\"nowhere\""), "{}", error.message);
    }

    #[test]
    fn a_malformed_root_settings_file_fails_every_preview() {
        let f = fleet(&[("grove.yml", "PIPELINE_PATCHES: [\n")]);
        assert!(f.summary().error.is_some());
        let preview = f.preview_title("no tag");
        let error = preview.error.expect("an error");
        assert!(error.message.starts_with("grove.yml:"), "{}", error.message);
    }

    #[test]
    fn a_template_that_does_not_compile_fails_every_preview() {
        let f = fleet(&[
            ("instances/a/config.yml", ""),
            ("templates/pipelines/noop.yml.hbs", "noop: {{{reason}}}\n"),
        ]);
        let error = f.preview_title("no tag").error.expect("an error");
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
        ]);
        let core_fleet = Fleet::new(
            [
                (
                    "grove.yml",
                    "ENV_STORE: s3://grove-state/fleet\nPIPELINE_PATCHES:\n  nowhere: x\n",
                ),
                ("instances/a/config.yml", "LMS_HOST: a.org\n"),
            ]
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect(),
        )
        .expect("a fleet");
        for title in ["[AutoDeploy][Update] a", "[AutoDeploy][Create] a", "x"] {
            let (request, _) = grove_core::request_from_title(title).expect("a request");
            let expected = grove_core::generate(&request, &core_fleet).expect("generated");
            let got = f.preview_title(title);
            assert_eq!(got.yaml.as_deref(), Some(expected.yaml.as_str()), "{title}");
            assert_eq!(got.plan.as_ref(), Some(&expected.plan), "{title}");
        }
    }

    #[test]
    fn a_good_title_gives_every_output() {
        let f = fleet(&[("instances/a/config.yml", "LMS_HOST: a.org\n")]);
        assert_eq!(f.summary().instances, ["a"]);
        let preview = f.preview_title("[AutoDeploy][Update] a");
        assert!(preview.error.is_none());
        let yaml = preview.yaml.expect("yaml");
        assert!(yaml.contains("deploy:a"), "{yaml}");
        assert!(preview.plan_json.expect("json").ends_with("}\n"));
        assert!(preview.plan_text.expect("text").starts_with("Update:"));
        let graph = preview.graph.expect("graph");
        let deploy = graph.jobs.iter().find(|j| j.name == "deploy:a");
        assert_eq!(
            deploy.map(|j| j.needs.clone()),
            Some(vec!["predeploy:a".to_string(), "prepare:a".to_string()])
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
    fn a_cluster_push_is_previewed_as_its_head_commit_title() {
        let f = fleet(&[
            ("grove.yml", WEBHOOK_SETTINGS),
            ("instances/a/config.yml", "LMS_HOST: a.org\n"),
        ]);
        let payload = gitlab_push(
            "https://gitlab.example.org/ops/cluster.git",
            "[AutoDeploy][Update] a|4",
        );
        let by_payload = f.preview_webhook(&payload);
        let by_title = f.preview_title("[AutoDeploy][Update] a|4");
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
        let preview = f.preview_webhook(&payload);
        assert!(preview.diagnostics.is_empty());
        let error = preview.error.expect("an error");
        assert_eq!((error.kind, error.exit_code), ("invalid-input", 5));
        assert_eq!(error.source.as_deref(), Some("commit title"));
        assert_eq!(error.diagnostics[0].range(), 13..18);
    }

    #[test]
    fn payloads_grove_cannot_read_or_does_not_trust() {
        let f = fleet(&[("grove.yml", WEBHOOK_SETTINGS)]);
        let error = f
            .preview_webhook("{\"object_kind\": ")
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
        let untrusted = f.preview_webhook(&gitlab_push(
            "https://gitlab.example.org/other/repo.git",
            "[AutoDeploy][Update] a",
        ));
        assert!(untrusted.error.is_none(), "{:?}", untrusted.error);
        let plan = untrusted.plan.expect("a plan");
        assert_eq!(plan.kind, "none");
        assert!(untrusted.yaml.expect("yaml").contains("noop"));
    }

    #[test]
    fn a_sharded_plan_gives_every_shard_file_as_core_writes_it() {
        let files: Vec<(&str, &str)> = vec![
            (
                "grove.yml",
                "ENV_STORE: s3://grove-state/fleet\nLIMITS:\n  jobs_per_pipeline: 10\n",
            ),
            ("instances/a/config.yml", "LMS_HOST: a.org\n"),
            ("instances/b/config.yml", "LMS_HOST: b.org\n"),
            ("instances/c/config.yml", "LMS_HOST: c.org\n"),
        ];
        let title = "[AutoDeploy][Update] a,b,c";
        let preview = fleet(&files).preview_title(title);
        assert!(preview.error.is_none(), "{:?}", preview.error);
        let core_fleet = Fleet::new(
            files
                .iter()
                .map(|(p, t)| (p.to_string(), t.to_string()))
                .collect(),
        )
        .expect("a fleet");
        let (request, _) = grove_core::request_from_title(title).expect("a request");
        let expected = grove_core::generate(&request, &core_fleet).expect("generated");
        assert_eq!(expected.shards.len(), 3);
        assert_eq!(preview.yaml.as_deref(), Some(expected.yaml.as_str()));
        let got: Vec<(&str, usize, &str)> = preview
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
                    s.pipeline.jobs.len(),
                    s.yaml.as_str(),
                )
            })
            .collect();
        let want: Vec<(&str, usize, &str)> =
            want.iter().map(|(f, j, y)| (f.as_str(), *j, *y)).collect();
        assert_eq!(got, want);
        assert_eq!(got[0].0, "generated-shards/shard-1.yml");
    }
}
