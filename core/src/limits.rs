//! GitLab's limits on pipelines, as settings (`LIMITS` in the cluster's `grove.yml`), and the
//! check of one pipeline file against them.
//!
//! The defaults are GitLab.com's. A self-managed GitLab may allow more jobs per pipeline (up to
//! 2000, which Grove takes as the ceiling); the nesting depth and the `parallel:matrix` size are
//! GitLab's own hard limits and can only be lowered.

use crate::error::{Error, ErrorKind, Result};
use crate::pipeline::Pipeline;
use crate::yaml;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The most jobs per pipeline `LIMITS.jobs_per_pipeline` may allow.
pub const MAX_JOBS_PER_PIPELINE: usize = 2000;
/// GitLab's nesting limit: a parent pipeline, its child, and the child's child.
pub const MAX_CHILD_PIPELINE_DEPTH: usize = 2;
/// GitLab's limit on the combinations of one `parallel:matrix`.
pub const MAX_MATRIX_COMBINATIONS: usize = 200;

/// `LIMITS` of the cluster's `grove.yml`: what GitLab accepts in one pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// The most `needs` one job may have (GitLab.com: 50).
    pub needs_per_job: usize,
    /// The most jobs one pipeline file may hold (GitLab.com: 500; at most 2000).
    pub jobs_per_pipeline: usize,
    /// The most bytes of YAML one generated file (an artifact include) may have (5 MB).
    pub artifact_yaml_bytes: usize,
    /// How deep child pipelines may nest below the pipeline that runs `grove` (2, GitLab's
    /// maximum). A sharded pipeline needs 2: the generated pipeline, and its shards.
    pub child_pipeline_depth: usize,
    /// The most combinations of one `parallel:matrix` (200, GitLab's maximum).
    pub matrix_combinations: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            needs_per_job: 50,
            jobs_per_pipeline: 500,
            artifact_yaml_bytes: 5 * 1024 * 1024,
            child_pipeline_depth: MAX_CHILD_PIPELINE_DEPTH,
            matrix_combinations: MAX_MATRIX_COMBINATIONS,
        }
    }
}

/// An invalid `LIMITS` setting (exit 5).
fn setting(message: String) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!("grove.yml: LIMITS: {message}"),
    )
}

/// A generated file that breaks a limit (exit 5).
fn broken(file: &str, message: String) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        match file {
            "" => format!("the generated pipeline breaks GitLab's limits: {message}"),
            _ => format!("the generated pipeline {file} breaks GitLab's limits: {message}"),
        },
    )
}

impl Limits {
    /// Refuses settings GitLab cannot honour: zero, more than 2000 jobs, deeper than 2 levels,
    /// more than 200 matrix combinations.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("needs_per_job", self.needs_per_job),
            ("jobs_per_pipeline", self.jobs_per_pipeline),
            ("artifact_yaml_bytes", self.artifact_yaml_bytes),
            ("child_pipeline_depth", self.child_pipeline_depth),
            ("matrix_combinations", self.matrix_combinations),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(setting(format!("{key} is 0; it must be at least 1")));
            }
        }
        let ceilings = [
            (
                "jobs_per_pipeline",
                self.jobs_per_pipeline,
                MAX_JOBS_PER_PIPELINE,
            ),
            (
                "child_pipeline_depth",
                self.child_pipeline_depth,
                MAX_CHILD_PIPELINE_DEPTH,
            ),
            (
                "matrix_combinations",
                self.matrix_combinations,
                MAX_MATRIX_COMBINATIONS,
            ),
        ];
        for (key, value, ceiling) in ceilings {
            if value > ceiling {
                return Err(setting(format!(
                    "{key} is {value}; GitLab allows at most {ceiling}"
                )));
            }
        }
        Ok(())
    }

    /// Whether a file of this many jobs and bytes fits.
    pub fn fits(&self, jobs: usize, bytes: usize) -> bool {
        jobs <= self.jobs_per_pipeline && bytes <= self.artifact_yaml_bytes
    }

    /// Checks one generated file (already parsed into `pipeline` and structurally checked)
    /// against the limits: its jobs, its bytes, every job's `needs`, every `parallel:matrix`.
    pub fn check(&self, file: &str, yaml: &str, pipeline: &Pipeline) -> Result<()> {
        if pipeline.jobs.len() > self.jobs_per_pipeline {
            return Err(broken(
                file,
                format!(
                    "it has {} jobs; LIMITS.jobs_per_pipeline allows {}",
                    pipeline.jobs.len(),
                    self.jobs_per_pipeline
                ),
            ));
        }
        if yaml.len() > self.artifact_yaml_bytes {
            return Err(broken(
                file,
                format!(
                    "it is {} bytes; LIMITS.artifact_yaml_bytes allows {}",
                    yaml.len(),
                    self.artifact_yaml_bytes
                ),
            ));
        }
        self.check_needs(file, pipeline)?;
        // Grove's own templates have no matrix: only a patch or an override brings one, and
        // only then is the file read a second time.
        if yaml.contains("matrix") {
            self.check_matrices(file, yaml)?;
        }
        Ok(())
    }

    /// No job has more `needs` than allowed.
    pub fn check_needs(&self, file: &str, pipeline: &Pipeline) -> Result<()> {
        match pipeline
            .jobs
            .iter()
            .find(|job| job.needs.len() > self.needs_per_job)
        {
            Some(job) => Err(broken(
                file,
                format!(
                    "job \"{}\" has {} needs; LIMITS.needs_per_job allows {}",
                    job.name,
                    job.needs.len(),
                    self.needs_per_job
                ),
            )),
            None => Ok(()),
        }
    }

    fn check_matrices(&self, file: &str, yaml: &str) -> Result<()> {
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
            if combinations > self.matrix_combinations {
                return Err(broken(
                    file,
                    format!(
                        "job \"{name}\" has {combinations} parallel:matrix combinations; LIMITS.matrix_combinations allows {}",
                        self.matrix_combinations
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        assert!(Limits::default().validate().is_ok());
        let too_many = Limits {
            jobs_per_pipeline: 2001,
            ..Limits::default()
        };
        let e = too_many.validate().unwrap_err();
        assert_eq!(e.exit_code(), 5);
        assert!(
            e.message.contains("jobs_per_pipeline is 2001"),
            "{}",
            e.message
        );
        let ok = Limits {
            jobs_per_pipeline: 2000,
            ..Limits::default()
        };
        assert!(ok.validate().is_ok());
        let deep = Limits {
            child_pipeline_depth: 3,
            ..Limits::default()
        };
        assert!(deep.validate().is_err());
        let zero = Limits {
            needs_per_job: 0,
            ..Limits::default()
        };
        assert!(zero.validate().is_err());
    }

    #[test]
    fn files_are_checked() {
        let limits = Limits {
            needs_per_job: 1,
            jobs_per_pipeline: 3,
            matrix_combinations: 4,
            ..Limits::default()
        };
        let check = |yaml: &str| {
            let pipeline = Pipeline::parse(yaml).unwrap();
            limits
                .check("f.yml", yaml, &pipeline)
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
        let e = small.check("f.yml", yaml, &Pipeline::parse(yaml).unwrap());
        assert!(e.unwrap_err().message.contains("17 bytes"));
    }
}
