//! The graph of a pipeline: its stages in order, and its jobs in the order of the YAML, with the
//! jobs they need, the lines of the YAML that are theirs, and the pipeline file a trigger job
//! starts.
//!
//! It is the part of [`grove_core::Pipeline`] the page draws; scripts and variables stay out.
//! The model read back from the YAML does not keep the order of the file, so the jobs are put
//! back in it here, from the top-level keys of the YAML text.

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
    /// The line of the YAML its name is on, from 1; 0 when it cannot be found.
    pub line: usize,
    /// How many lines of the YAML are the job's, from its name to its last line that is not
    /// blank; 0 when it cannot be found.
    pub lines: usize,
    /// The pipeline file the job triggers (`generated-shards/shard-N.yml`), when it includes one
    /// of the files it was given.
    pub trigger: Option<String>,
}

/// The stages of a pipeline in the order they run, and its jobs in the order of its YAML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Graph {
    /// The stages, in order: the declared ones, then any other stage a job uses.
    pub stages: Vec<String>,
    /// The jobs, in the order of the YAML (jobs whose name is not found in it come last).
    pub jobs: Vec<GraphJob>,
}

impl Graph {
    /// The graph of `pipeline`, which was read back from `yaml`. A job whose lines include one
    /// of `files` (as `artifact:` or `local:`) triggers it.
    pub fn new(pipeline: &Pipeline, yaml: &str, files: &[&str]) -> Graph {
        let mut stages = pipeline.stages.clone();
        for job in &pipeline.jobs {
            if !stages.contains(&job.stage) {
                stages.push(job.stage.clone());
            }
        }
        let lines: Vec<&str> = yaml.lines().collect();
        // The jobs whose name starts a block of the YAML, in the order of the blocks; then any
        // job whose name was not found there. Each job is found by a linear search: a file
        // holds at most GitLab's 2,000 jobs, and a map or a sort would make the module larger.
        let mut left: Vec<Option<&grove_core::pipeline::Job>> =
            pipeline.jobs.iter().map(Some).collect();
        let mut jobs = Vec::with_capacity(pipeline.jobs.len());
        for (key, first, count) in blocks(&lines) {
            let found = left
                .iter_mut()
                .find(|job| job.is_some_and(|job| job.name == key));
            if let Some(job) = found.and_then(Option::take) {
                let own = &lines[first - 1..first - 1 + count];
                jobs.push(graph_job(job, first, count, trigger(own, files)));
            }
        }
        for job in left.into_iter().flatten() {
            jobs.push(graph_job(job, 0, 0, None));
        }
        Graph { stages, jobs }
    }
}

/// A job of the graph.
fn graph_job(
    job: &grove_core::pipeline::Job,
    line: usize,
    lines: usize,
    trigger: Option<String>,
) -> GraphJob {
    GraphJob {
        name: job.name.clone(),
        stage: job.stage.clone(),
        needs: job.needs.clone(),
        line,
        lines,
        trigger,
    }
}

/// Each top-level key of a YAML mapping, in order, with its first line (from 1) and how many
/// lines are its own: up to the next top-level key, without the blank and comment lines before
/// it.
fn blocks<'a>(lines: &[&'a str]) -> Vec<(&'a str, usize, usize)> {
    let starts: Vec<(usize, &str)> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, line)| top_level_key(line).map(|key| (i, key)))
        .collect();
    let mut out = Vec::with_capacity(starts.len());
    for (k, &(start, key)) in starts.iter().enumerate() {
        let mut end = starts.get(k + 1).map_or(lines.len(), |next| next.0);
        while end > start + 1 && {
            let last = lines[end - 1].trim_start();
            last.is_empty() || last.starts_with('#')
        } {
            end -= 1;
        }
        out.push((key, start + 1, end - start));
    }
    out
}

/// The key a line of a YAML mapping starts at column 0, if it does: a plain key (up to `: ` or
/// a final `:`) or a quoted one without escapes.
fn top_level_key(line: &str) -> Option<&str> {
    let first = line.chars().next()?;
    if matches!(
        first,
        ' ' | '\t' | '#' | '-' | '{' | '[' | '&' | '*' | '!' | '|' | '>' | '%'
    ) {
        return None;
    }
    if let quote @ ('"' | '\'') = first {
        let rest = &line[1..];
        let end = rest.find(quote)?;
        let key = &rest[..end];
        let after = &rest[end + 1..];
        return (!key.contains('\\') && after.trim_end().starts_with(':')).then_some(key);
    }
    let end = line
        .find(": ")
        .or_else(|| line.trim_end().strip_suffix(':').map(str::len))?;
    Some(&line[..end])
}

/// The file of `files` that one of `lines` includes as `artifact:` or `local:`, if any.
fn trigger(lines: &[&str], files: &[&str]) -> Option<String> {
    lines.iter().find_map(|line| {
        let item = line.trim().trim_start_matches("- ");
        let value = item
            .strip_prefix("artifact:")
            .or_else(|| item.strip_prefix("local:"))?
            .trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        files
            .iter()
            .find(|file| **file == value)
            .map(|f| f.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "# Generated by Grove.\nstages:\n  - terraform\n  - shards\n\n\
        terraform:plan:\n  stage: terraform\n  needs: []\n\n\
        terraform:apply:\n  stage: terraform\n  needs:\n    - terraform:plan\n\n\
        \"grove-shard:1\":\n  stage: shards\n  trigger:\n    include:\n      - artifact: \"generated-shards/shard-1.yml\"\n        job: grove-shards\n";

    #[test]
    fn jobs_in_file_order_with_their_lines_and_triggers() {
        let pipeline = Pipeline {
            stages: vec!["terraform".into(), "shards".into()],
            jobs: ["grove-shard:1", "terraform:apply", "terraform:plan"]
                .iter()
                .map(|name| grove_core::pipeline::Job {
                    name: name.to_string(),
                    stage: if name.starts_with("grove") {
                        "shards"
                    } else {
                        "terraform"
                    }
                    .into(),
                    needs: Vec::new(),
                    script: Vec::new(),
                    variables: Vec::new(),
                    resource_group: None,
                })
                .collect(),
        };
        let graph = Graph::new(&pipeline, YAML, &["generated-shards/shard-1.yml"]);
        let got: Vec<(&str, usize, usize, Option<&str>)> = graph
            .jobs
            .iter()
            .map(|j| (j.name.as_str(), j.line, j.lines, j.trigger.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("terraform:plan", 6, 3, None),
                ("terraform:apply", 10, 4, None),
                ("grove-shard:1", 15, 6, Some("generated-shards/shard-1.yml")),
            ]
        );
        let lines: Vec<&str> = YAML.lines().collect();
        assert_eq!(
            lines[9..13].join("\n"),
            "terraform:apply:\n  stage: terraform\n  needs:\n    - terraform:plan"
        );
    }

    #[test]
    fn top_level_keys() {
        for (line, key) in [
            ("deploy:campus:", Some("deploy:campus")),
            ("stages:", Some("stages")),
            ("variables: {A: b}", Some("variables")),
            ("\"a: b\":", Some("a: b")),
            ("'x':", Some("x")),
            ("  stage: deploy", None),
            ("# comment:", None),
            ("- item:", None),
            ("", None),
            ("no colon", None),
        ] {
            assert_eq!(top_level_key(line), key, "{line}");
        }
    }
}
