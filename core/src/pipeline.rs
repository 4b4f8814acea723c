//! The pipeline: a plan rendered through the templates into GitLab CI YAML, then read back into
//! a typed model and checked before anyone sees it.
//!
//! The checks are the ones GitLab would otherwise make after a push, when it is too late: every
//! `needs` names a job that exists, every stage is declared, `needs` has no cycle, there is at
//! least one job, and job names fit GitLab's limits.

use crate::error::{Cause, Error, Result};
use crate::settings::Limits;
use crate::yaml;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The longest job name GitLab accepts.
const MAX_JOB_NAME: usize = 255;
/// The longest job name GitLab accepts in `needs`.
const MAX_NEEDS_NAME: usize = 128;

/// Keys at the top of a GitLab CI file that are not jobs.
const GLOBAL_KEYS: [&str; 10] = [
    "default",
    "include",
    "stages",
    "variables",
    "workflow",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
];

/// GitLab's stages when a file declares none.
const DEFAULT_STAGES: [&str; 3] = ["build", "test", "deploy"];

/// A job variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Variable {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
    /// Whether GitLab expands `$VARIABLES` in the value.
    pub expand: bool,
}

/// A job, as far as Grove checks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Job {
    /// Its name.
    pub name: String,
    /// Its stage (`test` when not given, as in GitLab).
    pub stage: String,
    /// The jobs it needs, in order.
    pub needs: Vec<String>,
    /// Its script lines.
    pub script: Vec<String>,
    /// Its own variables.
    pub variables: Vec<Variable>,
    /// Its `resource_group`, if any.
    pub resource_group: Option<String>,
}

/// A generated pipeline read back from its YAML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pipeline {
    /// The declared stages, in order.
    pub stages: Vec<String>,
    /// The jobs, in file order.
    pub jobs: Vec<Job>,
}

/// An error in generated YAML: the templates produced something GitLab would refuse. Grove's
/// own templates never should ([`Cause::Internal`]); the caller says when an override or a
/// patch is to blame.
fn invalid(message: impl Into<String>) -> Error {
    Error::new(
        Cause::Internal,
        format!("the generated pipeline is invalid: {}", message.into()),
    )
}

/// A generated file that breaks a limit of `LIMITS` ([`Cause::Limits`]).
fn broken(file: &str, message: String) -> Error {
    Error::new(
        Cause::Limits,
        match file {
            "" => format!("the generated pipeline breaks GitLab's limits: {message}"),
            _ => format!("the generated pipeline {file} breaks GitLab's limits: {message}"),
        },
    )
}

impl Pipeline {
    /// Reads pipeline YAML into the model, jobs in file order (with the limits of
    /// [`yaml::Limits::PIPELINE`]: an override's anchors, aliases and merge keys are read as
    /// GitLab reads them).
    pub fn parse(text: &str) -> Result<Pipeline> {
        let located = |e: yaml::YamlError| {
            let (line, column) = crate::diagnostic::line_column(text, e.offset.unwrap_or(0));
            invalid(format!("line {line}, column {column}: {}", e.message))
        };
        let node = yaml::parse(text, &yaml::Limits::PIPELINE).map_err(located)?;
        let entries = match &node.value {
            yaml::Value::Map(entries) => entries,
            _ => return Err(invalid("the document is not a mapping")),
        };
        let mut stages = None;
        let mut jobs = Vec::new();
        for (key, body) in entries {
            let Some(name) = key.as_str() else {
                return Err(located(yaml::YamlError {
                    message: format!("{}, where a job name was expected", key.describe()),
                    offset: Some(key.span.start),
                }));
            };
            if name == "stages" {
                stages = Some(body.to_json().map_err(located)?);
            } else if !GLOBAL_KEYS.contains(&name) && !name.starts_with('.') {
                jobs.push(Job::from_value(
                    name.to_string(),
                    body.to_json().map_err(located)?,
                )?);
            }
        }
        let stages = match stages {
            None => DEFAULT_STAGES.iter().map(|s| s.to_string()).collect(),
            Some(Value::Array(list)) => list
                .into_iter()
                .map(|s| match s {
                    Value::String(s) => Ok(s),
                    _ => Err(invalid("`stages` holds a non-string")),
                })
                .collect::<Result<Vec<_>>>()?,
            Some(_) => return Err(invalid("`stages` is not a list")),
        };
        Ok(Pipeline { stages, jobs })
    }

    /// The names of the jobs, in file order.
    pub fn job_names(&self) -> impl Iterator<Item = &str> {
        self.jobs.iter().map(|job| job.name.as_str())
    }

    /// Checks what GitLab would refuse after the push.
    pub fn check(&self) -> Result<()> {
        if self.jobs.is_empty() {
            return Err(invalid(
                "it has no job, and GitLab refuses an empty pipeline",
            ));
        }
        let declared: BTreeSet<&str> = self
            .stages
            .iter()
            .map(String::as_str)
            .chain([".pre", ".post"])
            .collect();
        let index: BTreeMap<&str, usize> = self
            .jobs
            .iter()
            .enumerate()
            .map(|(i, j)| (j.name.as_str(), i))
            .collect();
        for job in &self.jobs {
            if job.name.len() > MAX_JOB_NAME {
                return Err(invalid(format!(
                    "job name \"{}…\" is {} characters; GitLab allows {MAX_JOB_NAME}",
                    &job.name[..crate::diagnostic::floor_char_boundary(&job.name, 40)],
                    job.name.len()
                )));
            }
            if !declared.contains(job.stage.as_str()) {
                return Err(invalid(format!(
                    "job \"{}\" is in stage \"{}\", which `stages` does not declare",
                    job.name, job.stage
                )));
            }
            for need in &job.needs {
                if need.len() > MAX_NEEDS_NAME {
                    return Err(invalid(format!(
                        "job \"{}\" needs a job whose name is {} characters; GitLab allows {MAX_NEEDS_NAME} in `needs`",
                        job.name,
                        need.len()
                    )));
                }
                if !index.contains_key(need.as_str()) {
                    return Err(invalid(format!(
                        "job \"{}\" needs \"{need}\", which is not a job of this pipeline",
                        job.name
                    )));
                }
            }
        }
        if let Some(cycle) = self.find_cycle(&index) {
            return Err(invalid(format!(
                "`needs` has a cycle: {}",
                cycle.join(" → ")
            )));
        }
        Ok(())
    }

    /// A cycle in `needs`, as the job names along it, if there is one.
    fn find_cycle(&self, index: &BTreeMap<&str, usize>) -> Option<Vec<String>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Open,
            Done,
        }
        let mut marks = vec![Mark::New; self.jobs.len()];
        for start in 0..self.jobs.len() {
            if marks[start] != Mark::New {
                continue;
            }
            // Iterative depth-first search: (job, next need to visit).
            let mut stack = vec![(start, 0usize)];
            marks[start] = Mark::Open;
            while let Some(&mut (job, ref mut next)) = stack.last_mut() {
                let needs = &self.jobs[job].needs;
                if *next == needs.len() {
                    marks[job] = Mark::Done;
                    stack.pop();
                    continue;
                }
                let need = index[needs[*next].as_str()];
                *next += 1;
                match marks[need] {
                    Mark::New => {
                        marks[need] = Mark::Open;
                        stack.push((need, 0));
                    }
                    Mark::Open => {
                        let from = stack.iter().position(|&(j, _)| j == need).unwrap_or(0);
                        let mut cycle: Vec<String> = stack[from..]
                            .iter()
                            .map(|&(j, _)| self.jobs[j].name.clone())
                            .collect();
                        cycle.push(self.jobs[need].name.clone());
                        return Some(cycle);
                    }
                    Mark::Done => {}
                }
            }
        }
        None
    }
}

/// Checks against GitLab's limits (`LIMITS` of grove.yml).
impl Pipeline {
    /// Checks this file (`yaml`, read into this pipeline and structurally checked) against
    /// `limits`: its jobs, its bytes, every job's `needs`, every `parallel:matrix`.
    pub fn check_limits(&self, limits: &Limits, file: &str, yaml: &str) -> Result<()> {
        let pipeline = self;
        if pipeline.jobs.len() > limits.jobs_per_pipeline {
            return Err(broken(
                file,
                format!(
                    "it has {} jobs; LIMITS.jobs_per_pipeline allows {}",
                    pipeline.jobs.len(),
                    limits.jobs_per_pipeline
                ),
            ));
        }
        if yaml.len() > limits.artifact_yaml_bytes {
            return Err(broken(
                file,
                format!(
                    "it is {} bytes; LIMITS.artifact_yaml_bytes allows {}",
                    yaml.len(),
                    limits.artifact_yaml_bytes
                ),
            ));
        }
        self.check_needs(limits, file)?;
        // Grove's own templates have no matrix: only a patch or an override brings one, and
        // only then is the file read a second time.
        if yaml.contains("matrix") {
            Self::check_matrices(limits, file, yaml)?;
        }
        Ok(())
    }

    /// No job has more `needs` than `limits` allow.
    fn check_needs(&self, limits: &Limits, file: &str) -> Result<()> {
        match self
            .jobs
            .iter()
            .find(|job| job.needs.len() > limits.needs_per_job)
        {
            Some(job) => Err(broken(
                file,
                format!(
                    "job \"{}\" has {} needs; LIMITS.needs_per_job allows {}",
                    job.name,
                    job.needs.len(),
                    limits.needs_per_job
                ),
            )),
            None => Ok(()),
        }
    }

    fn check_matrices(limits: &Limits, file: &str, yaml: &str) -> Result<()> {
        let document: Value = yaml::parse(yaml, &yaml::Limits::PIPELINE)
            .and_then(|node| node.to_json())
            .map_err(|e| broken(file, e.message))?;
        let Value::Object(top) = document else {
            return Ok(());
        };
        for (name, job) in &top {
            let Some(Value::Array(matrix)) = job.get("parallel").and_then(|p| p.get("matrix"))
            else {
                continue;
            };
            let combinations: usize = matrix
                .iter()
                .map(|entry| match entry {
                    Value::Object(vars) => vars
                        .values()
                        .map(|v| match v {
                            Value::Array(values) => values.len().max(1),
                            _ => 1,
                        })
                        .product(),
                    _ => 1,
                })
                .sum();
            if combinations > limits.matrix_combinations {
                return Err(broken(
                    file,
                    format!(
                        "job \"{name}\" has {combinations} parallel:matrix combinations; LIMITS.matrix_combinations allows {}",
                        limits.matrix_combinations
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Whether a file of this many jobs and bytes fits `limits`.
pub fn fits(limits: &Limits, jobs: usize, bytes: usize) -> bool {
    jobs <= limits.jobs_per_pipeline && bytes <= limits.artifact_yaml_bytes
}

impl Job {
    /// A job from its name and its mapping.
    fn from_value(name: String, body: Value) -> Result<Job> {
        let Value::Object(mut body) = body else {
            return Err(invalid(format!("job \"{name}\" is not a mapping")));
        };
        if !body.contains_key("script")
            && !body.contains_key("trigger")
            && !body.contains_key("extends")
        {
            return Err(invalid(format!(
                "job \"{name}\" has no `script` or `trigger`"
            )));
        }
        let mut text = |key: &str| -> Result<Option<String>> {
            match body.remove(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(invalid(format!("job \"{name}\": `{key}` is not a string"))),
            }
        };
        let stage = text("stage")?.unwrap_or_else(|| "test".to_string());
        let resource_group = text("resource_group");
        let needs = match body.remove("needs") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) => {
                let mut needs = Vec::new();
                for need in list {
                    match need {
                        Value::String(job) => needs.push(job),
                        Value::Object(need)
                            if need.contains_key("pipeline") || need.contains_key("project") => {}
                        Value::Object(mut need) => match need.remove("job") {
                            Some(Value::String(job)) => {
                                let optional = need
                                    .get("optional")
                                    .and_then(Value::as_bool)
                                    .unwrap_or(false);
                                if !optional {
                                    needs.push(job);
                                }
                            }
                            _ => {
                                return Err(invalid(format!(
                                    "job \"{name}\": a `needs` entry has no `job`"
                                )))
                            }
                        },
                        _ => {
                            return Err(invalid(format!(
                                "job \"{name}\": a `needs` entry is neither a name nor a mapping"
                            )))
                        }
                    }
                }
                needs
            }
            Some(_) => return Err(invalid(format!("job \"{name}\": `needs` is not a list"))),
        };
        let script = match body.remove("script") {
            None => Vec::new(),
            Some(Value::String(line)) => vec![line],
            Some(Value::Array(lines)) => lines
                .into_iter()
                .map(|l| match l {
                    Value::String(l) => Ok(l),
                    _ => Err(invalid(format!(
                        "job \"{name}\": a script line is not a string"
                    ))),
                })
                .collect::<Result<Vec<_>>>()?,
            Some(_) => {
                return Err(invalid(format!(
                    "job \"{name}\": `script` is not a list of strings"
                )))
            }
        };
        let variables = match body.remove("variables") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(vars)) => vars
                .into_iter()
                .map(|(var, value)| match value {
                    Value::String(value) => Ok(Variable {
                        name: var,
                        value,
                        expand: true,
                    }),
                    Value::Number(n) => Ok(Variable {
                        name: var,
                        value: n.to_string(),
                        expand: true,
                    }),
                    Value::Object(mut o) => Ok(Variable {
                        name: var,
                        value: match o.remove("value") {
                            Some(Value::String(value)) => value,
                            _ => String::new(),
                        },
                        expand: o.get("expand").and_then(Value::as_bool).unwrap_or(true),
                    }),
                    _ => Err(invalid(format!(
                        "job \"{name}\": variable {var} is neither a string nor a mapping"
                    ))),
                })
                .collect::<Result<Vec<_>>>()?,
            Some(_) => {
                return Err(invalid(format!(
                    "job \"{name}\": `variables` is not a mapping"
                )))
            }
        };
        Ok(Job {
            resource_group: resource_group?,
            name,
            stage,
            needs,
            script,
            variables,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses and checks a pipeline; returns `ok` or the error message.
    fn check(yaml: &str, expected: &str) {
        let got = match Pipeline::parse(yaml).and_then(|p| p.check()) {
            Ok(()) => "ok".to_string(),
            Err(e) => e.message,
        };
        assert_eq!(got, expected, "{yaml}");
    }

    #[test]
    fn documents_read_into_the_model() {
        // (document, `ok` or the error): flow style, anchors and merge keys, and every way a document can fail to be a pipeline.
        let corpus: &[(&str, &str)] = &[
            ("a: {script: [x]}", "ok"),
            ("a: {script: x}", "ok"),
            ("b: {script: [x]}\na: {script: [y], stage: s}\nstages: [s]", "the generated pipeline is invalid: job \"b\" is in stage \"test\", which `stages` does not declare"),
            ("a: {script: [x], stage: null, resource_group: ~}", "ok"),
            ("a: {script: [x], stage: 1}", "the generated pipeline is invalid: job \"a\": `stage` is not a string"),
            ("a: {script: [x], stage: [s]}", "the generated pipeline is invalid: job \"a\": `stage` is not a string"),
            ("a: {script: [x], needs: null}", "ok"),
            ("a: {script: [x], needs: [b, {job: c}, {job: d, optional: true}, {job: e, optional: 1}, {pipeline: p, job: 3}, {project: q}]}\nb: {script: [x]}\nc: {script: [x]}\ne: {script: [x]}", "ok"),
            ("a: {script: [x], needs: [{optional: true}]}", "the generated pipeline is invalid: job \"a\": a `needs` entry has no `job`"),
            ("a: {script: [x], needs: [1]}", "the generated pipeline is invalid: job \"a\": a `needs` entry is neither a name nor a mapping"),
            ("a: {script: [x], needs: b}", "the generated pipeline is invalid: job \"a\": `needs` is not a list"),
            ("a: {script: [x], needs: [{job: b, job: c}]}", "the generated pipeline is invalid: line 1, column 35: this key is already set on line 1"),
            ("a: {script: null}", "the generated pipeline is invalid: job \"a\": `script` is not a list of strings"),
            ("a: {script: [1]}", "the generated pipeline is invalid: job \"a\": a script line is not a string"),
            ("a: {script: {x: y}}", "the generated pipeline is invalid: job \"a\": `script` is not a list of strings"),
            ("a: {trigger: {include: x}}", "ok"),
            ("a: {extends: .b}\n.b: {script: [x]}", "ok"),
            ("a: {stage: test}", "the generated pipeline is invalid: job \"a\" has no `script` or `trigger`"),
            ("a: [x]", "the generated pipeline is invalid: job \"a\" is not a mapping"),
            ("a: x", "the generated pipeline is invalid: job \"a\" is not a mapping"),
            ("a: null", "the generated pipeline is invalid: job \"a\" is not a mapping"),
            ("", "the generated pipeline is invalid: the document is not a mapping"),
            ("# nothing\n", "the generated pipeline is invalid: the document is not a mapping"),
            ("[a, b]", "the generated pipeline is invalid: the document is not a mapping"),
            ("x", "the generated pipeline is invalid: the document is not a mapping"),
            ("a: {script: [x]}\na: {script: [y]}", "the generated pipeline is invalid: line 2, column 1: this key is already set on line 1"),
            ("a: {script: [x], script: [y]}", "the generated pipeline is invalid: line 1, column 18: this key is already set on line 1"),
            ("a: {script: [x], cache: {key: k, key: l}}", "the generated pipeline is invalid: line 1, column 34: this key is already set on line 1"),
            ("a: {script: [x], cache: {1: k}}", "the generated pipeline is invalid: line 1, column 26: this key is the integer 1, not text"),
            ("a: {script: [x], cache: {? [k] : l}}", "the generated pipeline is invalid: line 1, column 26: explicit keys (`? key`) are not supported"),
            ("a: {script: [x], variables: {A: s, B: 1, C: -2, D: 1.5, E: 1e3, F: {value: v, expand: false}, G: {value: 1}, H: {expand: no}, I: {description: d}}}", "ok"),
            ("a: {script: [x], variables: {Z: z, A: a}}", "ok"),
            ("a: {script: [x], variables: {A: .nan}}", "the generated pipeline is invalid: line 1, column 33: NaN is not a number JSON can hold"),
            ("a: {script: [x], variables: {A: .inf}}", "the generated pipeline is invalid: line 1, column 33: inf is not a number JSON can hold"),
            ("a: {script: [x], variables: {A: true}}", "the generated pipeline is invalid: job \"a\": variable A is neither a string nor a mapping"),
            ("a: {script: [x], variables: {A: null}}", "the generated pipeline is invalid: job \"a\": variable A is neither a string nor a mapping"),
            ("a: {script: [x], variables: {A: [x]}}", "the generated pipeline is invalid: job \"a\": variable A is neither a string nor a mapping"),
            ("a: {script: [x], variables: {A: s, A: t}}", "the generated pipeline is invalid: line 1, column 36: this key is already set on line 1"),
            ("a: {script: [x], variables: {A: {value: v, value: w}}}", "the generated pipeline is invalid: line 1, column 44: this key is already set on line 1"),
            ("a: {script: [x], variables: [A]}", "the generated pipeline is invalid: job \"a\": `variables` is not a mapping"),
            ("a: {script: [x], variables: null}", "ok"),
            ("a: &j {script: [x]}\nb: *j", "ok"),
            ("a: {script: &s [x, y]}\nb: {script: *s, needs: [a]}", "ok"),
            (".t: &t {script: [x]}\na:\n  <<: *t\n  stage: test", "ok"),
            ("a: {script: [x], tags: !reference [.t, tags]}\n.t: {tags: [k]}", "the generated pipeline is invalid: line 1, column 35: the tag !reference is not supported here: write the referenced lines out, or use `extends:`"),
            ("a: {script: !!str x}", "ok"),
            ("a: {script: [x]}\nstages: [build, 1]", "the generated pipeline is invalid: `stages` holds a non-string"),
            ("a: {script: [x]}\nstages: build", "the generated pipeline is invalid: `stages` is not a list"),
            ("a: {stage: test}\nstages: build", "the generated pipeline is invalid: job \"a\" has no `script` or `trigger`"),
            ("a: {script: [x]}\nstages: null", "the generated pipeline is invalid: `stages` is not a list"),
            ("a: {script: [x]}\ndefault: {image: i, image: j}", "the generated pipeline is invalid: line 2, column 21: this key is already set on line 2"),
            ("a: {script: [x]}\nvariables: {A: 1, B: .nan}\nworkflow: {rules: [{when: always}]}", "ok"),
            ("1: {script: [x]}", "the generated pipeline is invalid: line 1, column 1: the integer 1, where a job name was expected"),
            ("true: {script: [x]}", "the generated pipeline is invalid: line 1, column 1: the boolean true, where a job name was expected"),
            ("null: {script: [x]}", "the generated pipeline is invalid: line 1, column 1: null, where a job name was expected"),
            ("'1': {script: [x]}", "ok"),
            ("a: {script: [x]}\n---\nb: {script: [y]}", "the generated pipeline is invalid: line 2, column 1: a second document: a file holds one YAML document"),
            ("a: {script: [x]\n", "the generated pipeline is invalid: line 1, column 4: this flow collection is not closed"),
            ("\"a\\u00e9\": {script: [\"x\\ny\"]}", "ok"),
        ];
        for (yaml, expected) in corpus {
            check(yaml, expected);
        }
    }

    #[test]
    fn structural_checks() {
        check("a: {script: [x]}", "ok");
        check(
            "stages: [s]\na: {stage: s, script: [x]}\nb: {stage: s, needs: [a], script: [x]}",
            "ok",
        );
        check("{}", "the generated pipeline is invalid: it has no job, and GitLab refuses an empty pipeline");
        check(".hidden: {script: [x]}", "the generated pipeline is invalid: it has no job, and GitLab refuses an empty pipeline");
        check("a: {stage: nope, script: [x]}", "the generated pipeline is invalid: job \"a\" is in stage \"nope\", which `stages` does not declare");
        check("a: {needs: [b], script: [x]}", "the generated pipeline is invalid: job \"a\" needs \"b\", which is not a job of this pipeline");
        check(
            "a: {needs: [b], script: [x]}\nb: {needs: [c], script: [x]}\nc: {needs: [a], script: [x]}",
            "the generated pipeline is invalid: `needs` has a cycle: a → b → c → a",
        );
        check(
            "a: {needs: [a], script: [x]}",
            "the generated pipeline is invalid: `needs` has a cycle: a → a",
        );
        check(
            "a: {stage: test}",
            "the generated pipeline is invalid: job \"a\" has no `script` or `trigger`",
        );
        check(
            "a: [x]",
            "the generated pipeline is invalid: job \"a\" is not a mapping",
        );
        check(
            "a: {script: [x]}\na: {script: [y]}",
            "the generated pipeline is invalid: line 2, column 1: this key is already set on line 1",
        );
        let long = "j".repeat(256);
        check(&format!("{long}: {{script: [x]}}"), &format!("the generated pipeline is invalid: job name \"{}…\" is 256 characters; GitLab allows 255", "j".repeat(40)));
        let name = "j".repeat(129);
        check(
            &format!("{name}: {{script: [x]}}\nb: {{needs: [{name}], script: [x]}}"),
            "the generated pipeline is invalid: job \"b\" needs a job whose name is 129 characters; GitLab allows 128 in `needs`",
        );
    }

    #[test]
    fn files_are_checked_against_the_limits() {
        let limits = Limits {
            needs_per_job: 1,
            jobs_per_pipeline: 3,
            matrix_combinations: 4,
            ..Limits::default()
        };
        let check = |yaml: &str| {
            let pipeline = Pipeline::parse(yaml).unwrap();
            pipeline
                .check_limits(&limits, "f.yml", yaml)
                .map_err(|e| e.message)
        };
        assert!(check("a: {script: [x]}\nb: {needs: [a], script: [x]}").is_ok());
        let e = check("a: {script: [x]}\nb: {script: [x]}\nc: {script: [x]}\nd: {script: [x]}");
        assert!(e.unwrap_err().contains("it has 4 jobs"));
        let e = check("a: {script: [x]}\nb: {needs: [a, c], script: [x]}\nc: {script: [x]}");
        assert!(e.unwrap_err().contains("\"b\" has 2 needs"));
        let e = check("a: {script: [x], parallel: {matrix: [{X: [1, 2, 3], Y: [1, 2]}]}}");
        assert!(e.unwrap_err().contains("6 parallel:matrix combinations"));
        assert!(check("a: {script: [x], parallel: {matrix: [{X: [1, 2]}, {Y: [1, 2]}]}}").is_ok());
        let small = Limits {
            artifact_yaml_bytes: 10,
            ..Limits::default()
        };
        let yaml = "a: {script: [x]}\n";
        let e = Pipeline::parse(yaml)
            .unwrap()
            .check_limits(&small, "f.yml", yaml);
        assert!(e.unwrap_err().message.contains("17 bytes"));
    }
}
