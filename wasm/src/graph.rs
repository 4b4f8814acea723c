//! The graph of a pipeline: its stages in order, and its jobs with the jobs they need.
//!
//! It is the part of [`grove_core::Pipeline`] the page draws; scripts and variables stay out.

use grove_core::Pipeline;
use serde::Serialize;

/// One job of the graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GraphJob {
    /// The job name.
    pub name: String,
    /// The stage it runs in; always one of [`Graph::stages`].
    pub stage: String,
    /// The jobs it waits for, in the order the YAML lists them.
    pub needs: Vec<String>,
}

/// The stages of a pipeline in the order they run, and its jobs in file order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Graph {
    /// The stages, in order: the declared ones, then any other stage a job uses.
    pub stages: Vec<String>,
    /// The jobs, in the order of the YAML.
    pub jobs: Vec<GraphJob>,
}

impl From<&Pipeline> for Graph {
    fn from(pipeline: &Pipeline) -> Graph {
        let mut stages = pipeline.stages.clone();
        for job in &pipeline.jobs {
            if !stages.contains(&job.stage) {
                stages.push(job.stage.clone());
            }
        }
        Graph {
            stages,
            jobs: pipeline
                .jobs
                .iter()
                .map(|job| GraphJob {
                    name: job.name.clone(),
                    stage: job.stage.clone(),
                    needs: job.needs.clone(),
                })
                .collect(),
        }
    }
}
