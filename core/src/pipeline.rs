//! The pipeline: a plan rendered through the templates into GitLab CI YAML, then read back into
//! a typed model and checked before anyone sees it.
//!
//! The checks are the ones GitLab would otherwise make after a push, when it is too late: every
//! `needs` names a job that exists, every stage is declared, `needs` has no cycle, there is at
//! least one job, and job names fit GitLab's limits.

use crate::error::{Error, ErrorKind, Result};
use crate::fleet::{Fleet, INSTANCES_DIR};
use crate::plan::{Action, Plan, PlannedInstance};
use crate::template::Templates;
use crate::yaml;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The longest job name GitLab accepts.
pub const MAX_JOB_NAME: usize = 255;
/// The longest job name GitLab accepts in `needs`.
pub const MAX_NEEDS_NAME: usize = 128;

/// Stages in the order they run; a pipeline declares those its jobs use.
pub const STAGES: [&str; 11] = [
    "terraform",
    "base-image",
    "venv",
    "prepare",
    "image",
    "predeploy",
    "deploy",
    "postdeploy",
    "archive",
    crate::preview::STAGE,
    "noop",
];

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

/// Renders `plan` into YAML with the fleet's templates, and checks the result.
pub fn render(plan: &Plan, fleet: &Fleet, templates: &Templates) -> Result<(String, Pipeline)> {
    let context = context(plan, fleet);
    let mut text = templates.render(&context)?;
    // Patch points left empty leave blank lines at the end; one newline ends the file.
    text.truncate(text.trim_end().len());
    text.push('\n');
    let pipeline = Pipeline::parse(&text)?;
    pipeline.check()?;
    Ok((text, pipeline))
}

/// A job name for an instance step, such as `deploy:campus`.
fn job(step: &str, name: &str) -> String {
    format!("{step}:{name}")
}

/// The data the templates see.
pub fn context(plan: &Plan, fleet: &Fleet) -> Value {
    let mut stages: BTreeSet<&str> = BTreeSet::new();
    let terraform = plan.terraform.then(|| {
        stages.insert("terraform");
        json!({
            "plan_job": "terraform:plan",
            "apply_job": "terraform:apply",
            "plan_file": ".grove/terraform.plan",
        })
    });
    let base_images: Vec<Value> = plan
        .base_images
        .iter()
        .enumerate()
        .map(|(i, image)| {
            stages.insert("base-image");
            json!({
                "job": base_image_job(i),
                "repository": image.repository,
                "version": image.version,
            })
        })
        .collect();
    let mut instances = Vec::new();
    let mut archives = Vec::new();
    for instance in &plan.instances {
        if instance.action == Action::Archive {
            stages.insert("archive");
            archives.push(json!({
                "job": job("archive", instance.name.as_str()),
                "name": instance.name,
                "resource_group": format!("instance-{}", instance.name),
            }));
        } else {
            stages.extend([
                "venv",
                "prepare",
                "image",
                "predeploy",
                "deploy",
                "postdeploy",
            ]);
            instances.push(deployed(plan, instance));
        }
    }
    let preview = plan.preview.as_ref().map(|preview| {
        stages.insert(crate::preview::STAGE);
        crate::preview::context(preview, plan.kind == "preview-up")
    });
    let noop = plan.reason.as_ref().map(|reason| {
        stages.insert("noop");
        json!({"job": "noop", "reason": reason})
    });
    let stages: Vec<&str> = STAGES
        .iter()
        .copied()
        .filter(|s| stages.contains(s))
        .collect();
    json!({
        "kind": plan.kind,
        "stages": stages,
        "image": fleet.settings.pipeline_image,
        "terraform": terraform,
        "base_images": base_images,
        "instances": instances,
        "archives": archives,
        "preview": preview,
        "noop": noop,
    })
}

fn base_image_job(index: usize) -> String {
    format!("base-image:{}", index + 1)
}

/// The data for one deployed instance's chain of jobs.
fn deployed(plan: &Plan, instance: &PlannedInstance) -> Value {
    let name = instance.name.as_str();
    let folder = format!("{INSTANCES_DIR}/{name}/");
    let jobs: Map<String, Value> = [
        "venv",
        "prepare",
        "image",
        "predeploy",
        "deploy",
        "postdeploy",
    ]
    .iter()
    .map(|step| (step.to_string(), Value::String(job(step, name))))
    .collect();
    let mut prepare_needs = vec![job("venv", name)];
    if plan.terraform {
        prepare_needs.push("terraform:apply".to_string());
    }
    let mut image_needs = vec![job("prepare", name)];
    if let Some(index) = instance.base_image {
        image_needs.push(base_image_job(index));
    }
    let after = |step: &str| vec![job(step, name), job("prepare", name)];
    let mut variables = vec![json!({"name": "INSTANCE_NAME", "value": name})];
    if let Some(id) = &instance.deployment_id {
        variables.push(json!({"name": "DEPLOYMENT_ID", "value": id}));
    }
    if let Some(version) = &instance.edx_platform_version {
        variables.push(json!({"name": "EDX_PLATFORM_VERSION", "value": version}));
    }
    json!({
        "name": name,
        "exists": instance.exists,
        "folder": folder,
        "jobs": jobs,
        "needs": {
            "prepare": prepare_needs,
            "image": image_needs,
            "predeploy": after("image"),
            "deploy": after("predeploy"),
            "postdeploy": after("deploy"),
        },
        "cache": {
            "key": format!("venv-{name}-{}", instance.requirements_hash),
            "path": format!("{folder}.venv/"),
            "exclude": format!("{folder}.venv/**/*"),
        },
        "resource_group": format!("instance-{name}"),
        "variables": variables,
        "edx_platform_version": instance.edx_platform_version,
    })
}

/// An error in generated YAML: the templates (embedded or overridden) produced something wrong.
fn invalid(message: impl Into<String>) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!("the generated pipeline is invalid: {}", message.into()),
    )
}

impl Pipeline {
    /// Reads pipeline YAML into the model.
    ///
    /// The YAML is read straight into the model when it can be ([`typed`]); anything that path
    /// does not model exactly (merge keys, tags, non-string keys, duplicate keys, a malformed
    /// document) is read again by the general path, through generic values with merge keys
    /// applied, which gives the same model or the error.
    pub fn parse(text: &str) -> Result<Pipeline> {
        match typed::parse(text) {
            Some(pipeline) => Ok(pipeline),
            None => Pipeline::parse_general(text),
        }
    }

    /// The general path of [`Pipeline::parse`]: YAML → values → merge keys → JSON values →
    /// model. Public only so that tests can compare the fast path with it.
    #[doc(hidden)]
    pub fn parse_general(text: &str) -> Result<Pipeline> {
        let document: Value = yaml::from_str(text).map_err(|e| {
            let (line, column) = crate::diagnostic::line_column(text, e.offset.unwrap_or(0));
            invalid(format!("line {line}, column {column}: {}", e.message))
        })?;
        let Value::Object(top) = document else {
            return Err(invalid("the document is not a mapping"));
        };
        let stages = match top.get("stages") {
            None => DEFAULT_STAGES.iter().map(|s| s.to_string()).collect(),
            Some(Value::Array(list)) => list
                .iter()
                .map(|s| {
                    s.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| invalid("`stages` holds a non-string"))
                })
                .collect::<Result<Vec<_>>>()?,
            Some(_) => return Err(invalid("`stages` is not a list")),
        };
        let mut jobs = Vec::new();
        for (name, body) in &top {
            if GLOBAL_KEYS.contains(&name.as_str()) || name.starts_with('.') {
                continue;
            }
            jobs.push(Job::parse(name, body)?);
        }
        Ok(Pipeline { stages, jobs })
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

impl Job {
    fn parse(name: &str, body: &Value) -> Result<Job> {
        let Value::Object(body) = body else {
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
        let text = |key: &str| -> Result<Option<String>> {
            match body.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(invalid(format!("job \"{name}\": `{key}` is not a string"))),
            }
        };
        let stage = text("stage")?.unwrap_or_else(|| "test".to_string());
        let needs = match body.get("needs") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) => {
                let mut needs = Vec::new();
                for need in list {
                    match need {
                        Value::String(job) => needs.push(job.clone()),
                        Value::Object(need)
                            if need.contains_key("pipeline") || need.contains_key("project") => {}
                        Value::Object(need) => match need.get("job") {
                            Some(Value::String(job)) => {
                                let optional = need
                                    .get("optional")
                                    .and_then(Value::as_bool)
                                    .unwrap_or(false);
                                if !optional {
                                    needs.push(job.clone());
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
        let script = match body.get("script") {
            None => Vec::new(),
            Some(Value::String(line)) => vec![line.clone()],
            Some(Value::Array(lines)) => lines
                .iter()
                .map(|l| {
                    l.as_str().map(str::to_string).ok_or_else(|| {
                        invalid(format!("job \"{name}\": a script line is not a string"))
                    })
                })
                .collect::<Result<Vec<_>>>()?,
            Some(_) => {
                return Err(invalid(format!(
                    "job \"{name}\": `script` is not a list of strings"
                )))
            }
        };
        let variables = match body.get("variables") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(vars)) => vars
                .iter()
                .map(|(var, value)| match value {
                    Value::String(v) => Ok(Variable {
                        name: var.clone(),
                        value: v.clone(),
                        expand: true,
                    }),
                    Value::Number(n) => Ok(Variable {
                        name: var.clone(),
                        value: n.to_string(),
                        expand: true,
                    }),
                    Value::Object(o) => Ok(Variable {
                        name: var.clone(),
                        value: o
                            .get("value")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
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
            name: name.to_string(),
            stage,
            needs,
            script,
            variables,
            resource_group: text("resource_group")?,
        })
    }
}

/// The fast path of [`Pipeline::parse`]: the YAML read straight into the model with serde,
/// without building generic values. It gives `None` (take the general path) for anything it does
/// not model exactly as the general path does: merge keys (`<<`), tags, non-string keys,
/// duplicate keys, non-finite numbers, a document that is not a mapping, or any error at all
/// (the general path then reports it with its own message).
mod typed {
    use super::{Job, Pipeline, Variable, DEFAULT_STAGES, GLOBAL_KEYS};
    use crate::yaml;
    use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
    use std::fmt;

    pub(super) fn parse(text: &str) -> Option<Pipeline> {
        if text.contains("<<") {
            return None;
        }
        // Grove's own templates write a subset of YAML that is read without serde_yaml; what
        // falls outside it is read with serde_yaml into the same model.
        let document: Document = match yaml::from_str_simple(text) {
            Some(document) => document,
            None => yaml::from_str_plain(text).ok()?,
        };
        build(document)
    }

    /// [`parse`] with the serde-free reader alone, for tests.
    #[cfg(test)]
    pub(super) fn parse_simple(text: &str) -> Option<Pipeline> {
        build(yaml::from_str_simple(text)?)
    }

    fn build(document: Document) -> Option<Pipeline> {
        if !document.mapping {
            return None;
        }
        let mut jobs = document.jobs;
        // The general path reads the top mapping into a sorted map: jobs come by name.
        jobs.sort_by(|a, b| a.name.cmp(&b.name));
        if jobs.windows(2).any(|w| w[0].name == w[1].name) {
            return None;
        }
        let mut others = document.others;
        others.sort();
        if others.windows(2).any(|w| w[0] == w[1]) {
            return None;
        }
        let stages = document
            .stages
            .unwrap_or_else(|| DEFAULT_STAGES.iter().map(|s| s.to_string()).collect());
        Some(Pipeline { stages, jobs })
    }

    /// The error that sends a document to the general path.
    fn general<E: de::Error>() -> E {
        E::custom("not on the fast path")
    }

    /// Whether a sorted list of keys has a duplicate.
    fn has_duplicates(keys: &mut [String]) -> bool {
        keys.sort_unstable();
        keys.windows(2).any(|w| w[0] == w[1])
    }

    #[derive(Default)]
    struct Document {
        mapping: bool,
        stages: Option<Vec<String>>,
        jobs: Vec<Job>,
        /// Keys that are not jobs, to find duplicates.
        others: Vec<String>,
    }

    impl<'de> Deserialize<'de> for Document {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(DocumentVisitor)
        }
    }

    struct DocumentVisitor;

    impl<'de> Visitor<'de> for DocumentVisitor {
        type Value = Document;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a mapping")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
            let mut document = Document {
                mapping: true,
                ..Document::default()
            };
            while let Some(Key(key)) = map.next_key()? {
                if key == "stages" {
                    document.stages = Some(map.next_value::<Strings>()?.0);
                    document.others.push(key);
                } else if GLOBAL_KEYS.contains(&key.as_str()) || key.starts_with('.') {
                    map.next_value::<Ignore>()?;
                    document.others.push(key);
                } else {
                    let body: Body = map.next_value()?;
                    document.jobs.push(body.into_job(key)?);
                }
            }
            Ok(document)
        }
    }

    /// A mapping key: a string, nothing else.
    struct Key(String);

    impl<'de> Deserialize<'de> for Key {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(StrVisitor).map(Key)
        }
    }

    /// A string, and nothing else.
    struct StrVisitor;

    impl<'de> Visitor<'de> for StrVisitor {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
            Ok(v)
        }
    }

    /// A string or null (`None`), and nothing else.
    struct OptionalStr(Option<String>);

    impl<'de> Deserialize<'de> for OptionalStr {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = OptionalStr;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a string or null")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<OptionalStr, E> {
                    Ok(OptionalStr(Some(v.to_string())))
                }
                fn visit_string<E: de::Error>(self, v: String) -> Result<OptionalStr, E> {
                    Ok(OptionalStr(Some(v)))
                }
                fn visit_unit<E: de::Error>(self) -> Result<OptionalStr, E> {
                    Ok(OptionalStr(None))
                }
                fn visit_none<E: de::Error>(self) -> Result<OptionalStr, E> {
                    Ok(OptionalStr(None))
                }
            }
            d.deserialize_any(V)
        }
    }

    /// A list of strings.
    struct Strings(Vec<String>);

    impl<'de> Deserialize<'de> for Strings {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Strings;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a list of strings")
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strings, A::Error> {
                    let mut list = Vec::new();
                    while let Some(Key(item)) = seq.next_element()? {
                        list.push(item);
                    }
                    Ok(Strings(list))
                }
            }
            d.deserialize_any(V)
        }
    }

    /// Any value whose type the model does not look at: a string (`Some`), or anything else
    /// (`None`), which is walked like [`Ignore`].
    struct StrOrOther(Option<String>);

    /// Any value the model does not read. Maps are still walked for what the general path
    /// refuses or reads differently (duplicate or non-string keys, tags).
    struct Ignore;

    macro_rules! accept_scalars {
        ($value:expr) => {
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok($value)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok($value)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok($value)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok($value)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok($value)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok($value)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<Ignore>()?.is_some() {}
                Ok($value)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut keys = Vec::new();
                while let Some(Key(key)) = map.next_key()? {
                    map.next_value::<Ignore>()?;
                    keys.push(key);
                }
                if has_duplicates(&mut keys) {
                    return Err(general());
                }
                Ok($value)
            }
        };
    }

    impl<'de> Deserialize<'de> for Ignore {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Ignore;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("any value")
                }
                fn visit_str<E: de::Error>(self, _: &str) -> Result<Ignore, E> {
                    Ok(Ignore)
                }
                accept_scalars!(Ignore);
            }
            d.deserialize_any(V)
        }
    }

    impl<'de> Deserialize<'de> for StrOrOther {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = StrOrOther;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("any value")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<StrOrOther, E> {
                    Ok(StrOrOther(Some(v.to_string())))
                }
                fn visit_string<E: de::Error>(self, v: String) -> Result<StrOrOther, E> {
                    Ok(StrOrOther(Some(v)))
                }
                accept_scalars!(StrOrOther(None));
            }
            d.deserialize_any(V)
        }
    }

    /// A boolean (`Some`), or any other value (`None`).
    struct BoolOrOther(Option<bool>);

    impl<'de> Deserialize<'de> for BoolOrOther {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = BoolOrOther;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("any value")
                }
                fn visit_str<E: de::Error>(self, _: &str) -> Result<BoolOrOther, E> {
                    Ok(BoolOrOther(None))
                }
                fn visit_bool<E: de::Error>(self, v: bool) -> Result<BoolOrOther, E> {
                    Ok(BoolOrOther(Some(v)))
                }
                fn visit_i64<E: de::Error>(self, _: i64) -> Result<BoolOrOther, E> {
                    Ok(BoolOrOther(None))
                }
                fn visit_u64<E: de::Error>(self, _: u64) -> Result<BoolOrOther, E> {
                    Ok(BoolOrOther(None))
                }
                fn visit_f64<E: de::Error>(self, _: f64) -> Result<BoolOrOther, E> {
                    Ok(BoolOrOther(None))
                }
                fn visit_unit<E: de::Error>(self) -> Result<BoolOrOther, E> {
                    Ok(BoolOrOther(None))
                }
                fn visit_none<E: de::Error>(self) -> Result<BoolOrOther, E> {
                    Ok(BoolOrOther(None))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<BoolOrOther, A::Error> {
                    Ignore::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                    Ok(BoolOrOther(None))
                }
                fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<BoolOrOther, A::Error> {
                    Ignore::deserialize(de::value::MapAccessDeserializer::new(map))?;
                    Ok(BoolOrOther(None))
                }
            }
            d.deserialize_any(V)
        }
    }

    /// One entry of `needs`: a job name it waits for, or nothing (another pipeline's job, or
    /// an optional need).
    struct Need(Option<String>);

    impl<'de> Deserialize<'de> for Need {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Need;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a job name or a mapping")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Need, E> {
                    Ok(Need(Some(v.to_string())))
                }
                fn visit_string<E: de::Error>(self, v: String) -> Result<Need, E> {
                    Ok(Need(Some(v)))
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Need, A::Error> {
                    let mut keys = Vec::new();
                    let mut elsewhere = false;
                    let mut job = None;
                    let mut optional = false;
                    while let Some(Key(key)) = map.next_key()? {
                        match key.as_str() {
                            "job" => job = map.next_value::<StrOrOther>()?.0,
                            "optional" => {
                                optional = map.next_value::<BoolOrOther>()?.0.unwrap_or(false)
                            }
                            other => {
                                elsewhere |= other == "pipeline" || other == "project";
                                map.next_value::<Ignore>()?;
                            }
                        }
                        keys.push(key);
                    }
                    if has_duplicates(&mut keys) {
                        return Err(general());
                    }
                    if elsewhere {
                        return Ok(Need(None));
                    }
                    match job {
                        Some(job) => Ok(Need((!optional).then_some(job))),
                        None => Err(general()),
                    }
                }
            }
            d.deserialize_any(V)
        }
    }

    /// `needs`: a list, or null.
    struct Needs(Vec<String>);

    impl<'de> Deserialize<'de> for Needs {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Needs;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a list of needs")
                }
                fn visit_unit<E: de::Error>(self) -> Result<Needs, E> {
                    Ok(Needs(Vec::new()))
                }
                fn visit_none<E: de::Error>(self) -> Result<Needs, E> {
                    Ok(Needs(Vec::new()))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Needs, A::Error> {
                    let mut needs = Vec::new();
                    while let Some(Need(need)) = seq.next_element()? {
                        needs.extend(need);
                    }
                    Ok(Needs(needs))
                }
            }
            d.deserialize_any(V)
        }
    }

    /// `script`: one string or a list of strings.
    struct Script(Vec<String>);

    impl<'de> Deserialize<'de> for Script {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Script;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a list of strings")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Script, E> {
                    Ok(Script(vec![v.to_string()]))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Script, A::Error> {
                    Strings::deserialize(de::value::SeqAccessDeserializer::new(seq))
                        .map(|s| Script(s.0))
                }
            }
            d.deserialize_any(V)
        }
    }

    /// One variable's value: `(value, expand)`.
    struct VariableValue(String, bool);

    impl<'de> Deserialize<'de> for VariableValue {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = VariableValue;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a string, a number or a mapping")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<VariableValue, E> {
                    Ok(VariableValue(v.to_string(), true))
                }
                fn visit_string<E: de::Error>(self, v: String) -> Result<VariableValue, E> {
                    Ok(VariableValue(v, true))
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<VariableValue, E> {
                    Ok(VariableValue(serde_json::Number::from(v).to_string(), true))
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> Result<VariableValue, E> {
                    Ok(VariableValue(serde_json::Number::from(v).to_string(), true))
                }
                fn visit_f64<E: de::Error>(self, v: f64) -> Result<VariableValue, E> {
                    serde_json::Number::from_f64(v)
                        .map(|n| VariableValue(n.to_string(), true))
                        .ok_or_else(general)
                }
                fn visit_map<A: MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<VariableValue, A::Error> {
                    let mut keys = Vec::new();
                    let mut value = None;
                    let mut expand = None;
                    while let Some(Key(key)) = map.next_key()? {
                        match key.as_str() {
                            "value" => value = map.next_value::<StrOrOther>()?.0,
                            "expand" => expand = map.next_value::<BoolOrOther>()?.0,
                            _ => {
                                map.next_value::<Ignore>()?;
                            }
                        }
                        keys.push(key);
                    }
                    if has_duplicates(&mut keys) {
                        return Err(general());
                    }
                    Ok(VariableValue(
                        value.unwrap_or_default(),
                        expand.unwrap_or(true),
                    ))
                }
            }
            d.deserialize_any(V)
        }
    }

    /// `variables`: a mapping, or null. Sorted by name, as the general path reads them.
    struct Variables(Vec<Variable>);

    impl<'de> Deserialize<'de> for Variables {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Variables;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a mapping of variables")
                }
                fn visit_unit<E: de::Error>(self) -> Result<Variables, E> {
                    Ok(Variables(Vec::new()))
                }
                fn visit_none<E: de::Error>(self) -> Result<Variables, E> {
                    Ok(Variables(Vec::new()))
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Variables, A::Error> {
                    let mut variables = Vec::new();
                    while let Some(Key(name)) = map.next_key()? {
                        let VariableValue(value, expand) = map.next_value()?;
                        variables.push(Variable {
                            name,
                            value,
                            expand,
                        });
                    }
                    variables.sort_by(|a: &Variable, b: &Variable| a.name.cmp(&b.name));
                    if variables.windows(2).any(|w| w[0].name == w[1].name) {
                        return Err(general());
                    }
                    Ok(Variables(variables))
                }
            }
            d.deserialize_any(V)
        }
    }

    /// A job's mapping, as far as the model reads it.
    #[derive(Default)]
    struct Body {
        runs: bool,
        stage: Option<String>,
        needs: Vec<String>,
        script: Vec<String>,
        variables: Vec<Variable>,
        resource_group: Option<String>,
    }

    impl Body {
        fn into_job<E: de::Error>(self, name: String) -> Result<Job, E> {
            if !self.runs {
                return Err(general());
            }
            Ok(Job {
                name,
                stage: self.stage.unwrap_or_else(|| "test".to_string()),
                needs: self.needs,
                script: self.script,
                variables: self.variables,
                resource_group: self.resource_group,
            })
        }
    }

    impl<'de> Deserialize<'de> for Body {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Body;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a job")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Body, A::Error> {
                    let mut body = Body::default();
                    let mut keys = Vec::new();
                    while let Some(Key(key)) = map.next_key()? {
                        match key.as_str() {
                            "stage" => body.stage = map.next_value::<OptionalStr>()?.0,
                            "resource_group" => {
                                body.resource_group = map.next_value::<OptionalStr>()?.0
                            }
                            "needs" => body.needs = map.next_value::<Needs>()?.0,
                            "script" => {
                                body.runs = true;
                                body.script = map.next_value::<Script>()?.0;
                            }
                            "variables" => body.variables = map.next_value::<Variables>()?.0,
                            other => {
                                body.runs |= other == "trigger" || other == "extends";
                                map.next_value::<Ignore>()?;
                            }
                        }
                        keys.push(key);
                    }
                    if has_duplicates(&mut keys) {
                        return Err(general());
                    }
                    Ok(body)
                }
            }
            d.deserialize_any(V)
        }
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

    /// The fast path either declines or reads exactly what the general path reads.
    fn same_as_general(yaml: &str) -> bool {
        let fast = typed::parse(yaml);
        let general = Pipeline::parse_general(yaml);
        if let Some(pipeline) = &fast {
            assert_eq!(
                Ok(pipeline),
                general.as_ref().map_err(|e| &e.message),
                "{yaml}"
            );
        }
        fast.is_some()
    }

    #[test]
    fn the_fast_path_reads_what_the_general_path_reads() {
        // (document, whether the fast path takes it)
        let corpus: &[(&str, bool)] = &[
            ("a: {script: [x]}", true),
            ("a: {script: x}", true),
            ("b: {script: [x]}\na: {script: [y], stage: s}\nstages: [s]", true),
            ("a: {script: [x], stage: null, resource_group: ~}", true),
            ("a: {script: [x], stage: 1}", false),
            ("a: {script: [x], stage: [s]}", false),
            ("a: {script: [x], needs: null}", true),
            ("a: {script: [x], needs: [b, {job: c}, {job: d, optional: true}, {job: e, optional: 1}, {pipeline: p, job: 3}, {project: q}]}\nb: {script: [x]}\nc: {script: [x]}\ne: {script: [x]}", true),
            ("a: {script: [x], needs: [{optional: true}]}", false),
            ("a: {script: [x], needs: [1]}", false),
            ("a: {script: [x], needs: b}", false),
            ("a: {script: [x], needs: [{job: b, job: c}]}", false),
            ("a: {script: null}", false),
            ("a: {script: [1]}", false),
            ("a: {script: {x: y}}", false),
            ("a: {trigger: {include: x}}", true),
            ("a: {extends: .b}\n.b: {script: [x]}", true),
            ("a: {stage: test}", false),
            ("a: [x]", false),
            ("a: x", false),
            ("a: null", false),
            ("", false),
            ("# nothing\n", false),
            ("[a, b]", false),
            ("x", false),
            ("a: {script: [x]}\na: {script: [y]}", false),
            ("a: {script: [x], script: [y]}", false),
            ("a: {script: [x], cache: {key: k, key: l}}", false),
            ("a: {script: [x], cache: {1: k}}", false),
            ("a: {script: [x], cache: {? [k] : l}}", false),
            ("a: {script: [x], variables: {A: s, B: 1, C: -2, D: 1.5, E: 1e3, F: {value: v, expand: false}, G: {value: 1}, H: {expand: no}, I: {description: d}}}", true),
            ("a: {script: [x], variables: {Z: z, A: a}}", true),
            ("a: {script: [x], variables: {A: .nan}}", false),
            ("a: {script: [x], variables: {A: .inf}}", false),
            ("a: {script: [x], variables: {A: true}}", false),
            ("a: {script: [x], variables: {A: null}}", false),
            ("a: {script: [x], variables: {A: [x]}}", false),
            ("a: {script: [x], variables: {A: s, A: t}}", false),
            ("a: {script: [x], variables: {A: {value: v, value: w}}}", false),
            ("a: {script: [x], variables: [A]}", false),
            ("a: {script: [x], variables: null}", true),
            ("a: &j {script: [x]}\nb: *j", true),
            ("a: {script: &s [x, y]}\nb: {script: *s, needs: [a]}", true),
            (".t: &t {script: [x]}\na:\n  <<: *t\n  stage: test", false),
            ("a: {script: [x], tags: !reference [.t, tags]}\n.t: {tags: [k]}", false),
            ("a: {script: !!str x}", true),
            ("a: {script: [x]}\nstages: [build, 1]", false),
            ("a: {script: [x]}\nstages: build", false),
            ("a: {script: [x]}\nstages: null", false),
            ("a: {script: [x]}\ndefault: {image: i, image: j}", false),
            ("a: {script: [x]}\nvariables: {A: 1, B: .nan}\nworkflow: {rules: [{when: always}]}", true),
            ("1: {script: [x]}", false),
            ("true: {script: [x]}", false),
            ("null: {script: [x]}", false),
            ("'1': {script: [x]}", true),
            ("a: {script: [x]}\n---\nb: {script: [y]}", false),
            ("a: {script: [x]\n", false),
            ("\"a\\u00e9\": {script: [\"x\\ny\"]}", true),
        ];
        for (yaml, fast) in corpus {
            assert_eq!(same_as_general(yaml), *fast, "{yaml}");
        }
    }

    #[test]
    fn the_simple_reader_reads_what_serde_yaml_reads() {
        // (document, whether the serde-free reader takes it)
        let corpus: &[(&str, bool)] = &[
            ("# head\nstages:\n  - a\n  - b\n\nj:\n  stage: a\n  needs: []\n  script:\n    - echo \"x - $Y\"\n", true),
            ("j:\n  stage: a\n  script:\n    - x\nstages:\n  - a\n", true),
            ("j:\n  script:\n  - x\n", false),
            ("j:\n  script:\n    - x\n   - y\n", false),
            ("j:\n  script:\n    - x\n      continued\n", false),
            ("j:\n  script:\n    - x # comment\n", false),
            ("j:\n  script:\n    - x#y\n", false),
            ("j:\n  script:\n    - 'x'\n", false),
            ("j:\n  script:\n    - |\n      x\n", false),
            ("j:\n  script:\n    - &a x\nk:\n  script:\n    - *a\n", false),
            ("j:\n  script:\n    - !!str x\n", false),
            ("j:\n  script:\n    - \"a\\\"b\\\\c\\nd\\te\\rf\\u00e9\\u0000\"\n", true),
            ("j:\n  script:\n    - \"a\\x41\"\n", false),
            ("j:\n  script:\n    - \"a\\/\"\n", false),
            ("j:\n  script:\n    - \"é😀\"\n", true),
            ("j:\n  script:\n    - \"a\u{2028}b\"\n", false),
            ("j:\n  script:\n    - \"unterminated\n", false),
            ("j:\n  script:\n    - \"a\" b\n", false),
            ("j:\n  script:\n    - x\n  variables:\n    A: {value: \"v, }\", expand: false}\n    B: {value: \"w\"}\n    C: {value: plain, expand: true}\n", true),
            ("j:\n  script:\n    - x\n  variables:\n    A: {value: \"v\", expand: no}\n", false),
            ("j:\n  script:\n    - x\n  variables:\n    A: {value: [1]}\n", false),
            ("j:\n  script:\n    - x\n  variables:\n    A: {value: \"v\"} x\n", false),
            ("j:\n  script:\n    - x\n  variables:\n    A: {value: \"v\",expand: false}\n", false),
            ("j:\n  script:\n    - x\n  variables:\n    A: 1\n", true),
            ("j:\n  script:\n    - x\n  variables:\n    A: 0\n    B: 123456789012345678\n", true),
            ("j:\n  script:\n    - x\n  variables:\n    A: 1234567890123456789\n", false),
            ("j:\n  script:\n    - x\n  variables:\n    A: 007\n", false),
            ("j:\n  script:\n    - x\n  variables:\n    A: 1_000\n", false),
            ("j:\n  script:\n    - x\n  variables:\n    A: 0x1f\n", false),
            ("j:\n  script:\n    - x\n  variables:\n    A: 1e3\n", false),
            ("j:\n  script:\n    - x\n  variables:\n    A: +1\n", false),
            ("j:\n  script:\n    - x\n  variables:\n    A: -1\n", false),
            ("j:\n  script:\n    - x\n  retry: 1\n  timeout: 1 h\n", true),
            ("j:\n  script:\n    - x\n  retry: {max: 2, when: [script_failure]}\n", false),
            ("j:\n  script:\n    - 1\n", false),
            ("j:\n  stage: 1\n  script:\n    - x\n", false),
            ("j:\n  script:\n    - x\n  variables:\n    A: 1 day\n", true),
            ("j:\n  script:\n    - x\n  variables:\n    A: null\n", false),
            ("j:\n  script:\n    - x\n  variables:\n    A: ~\n", false),
            ("j:\n  script:\n    - x\n  variables:\n    A:\n", false),
            ("j:\n  script:\n    - x\n  variables:\n", true),
            ("j:\n  script:\n    - x\n  artifacts:\n    expire_in: 1 day\n    paths:\n      - instances/a/\n    exclude:\n      - \"instances/a/.venv/**/*\"\n", true),
            ("j:\n  script:\n    - x\n  needs:\n    - k\n    - l\nk:\n  script:\n    - x\nl:\n  script:\n    - x\n", true),
            ("j:\n  script:\n    - x\n  needs:\n    - {job: k, optional: true}\n", true),
            ("j:\n  script:\n    - x\n  needs:\n    - job: k\n", false),
            ("j:\n  script:\n    - x\n  needs:\n", true),
            ("j:\n  script:\n    - x\n  stage: true\n", false),
            ("j:\n  script:\n    - x\n  stage: True\n", false),
            ("j:\n  script:\n    - x\n  stage: yes\n", false),
            ("j:\n  script:\n    - x\n  stage: 1.5\n", false),
            ("j:\n  script:\n    - x\n  stage: .inf\n", false),
            ("j:\n  script:\n    - x\n  stage: a: b\n", false),
            ("j:\n  script:\n    - x\n  stage: a:\n", false),
            ("j:\n  script:\n    - x\n  stage: a:b\n", true),
            ("j:\n  script:\n    - x\n  stage: é\n", false),
            ("j:\n  script:\n    - x\n  stage:    spaced   \n", true),
            ("j:\n  script:\n    - x\nj:\n  script:\n    - y\n", false),
            ("j:\n  script:\n    - x\n  script:\n    - y\n", false),
            ("deploy:inst-1:\n  script:\n    - x\n  resource_group: instance-inst-1\n", true),
            (".hidden:\n  script:\n    - x\nj:\n  extends: .hidden\n", false),
            (".hidden:\n  script:\n    - x\nj:\n  extends: hidden\n", true),
            (".inf:\n  script:\n    - x\n", false),
            ("true:\n  script:\n    - x\n", false),
            ("1:\n  script:\n    - x\n", false),
            ("\"q\":\n  script:\n    - x\n", false),
            ("<<:\n  script:\n    - x\n", false),
            ("  j:\n    script:\n      - x\n", false),
            ("j:\n\tscript:\n    - x\n", false),
            ("j:\r\n  script:\r\n    - x\r\n", false),
            ("---\nj:\n  script:\n    - x\n", false),
            ("- j\n", false),
            ("j\n", false),
            ("", false),
            ("# only a comment\n", false),
            ("j:\n  script: x\n", true),
            ("j:\n  script: []\n", true),
            ("j:\n  script: {}\n", false),
            ("j:\n  script:\n    - x\n  cache: {}\n", true),
            ("j:\n  script:\n    - x\n  when: manual\n  environment:\n    name: review/a\n    url: \"https://a.example.org\"\n    on_stop: stop:a\n    auto_stop_in: 1 week\n", true),
        ];
        for (yaml, simple) in corpus {
            let got = typed::parse_simple(yaml);
            if let Some(pipeline) = &got {
                assert_eq!(
                    Ok(pipeline),
                    Pipeline::parse_general(yaml)
                        .as_ref()
                        .map_err(|e| &e.message),
                    "{yaml}"
                );
            }
            assert_eq!(got.is_some(), *simple, "{yaml}");
            // Whatever the path, parse gives what the general path gives.
            assert_eq!(
                Pipeline::parse(yaml).map_err(|e| e.message),
                Pipeline::parse_general(yaml).map_err(|e| e.message),
                "{yaml}"
            );
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
            "the generated pipeline is invalid: line 1, column 1: duplicate entry with key \"a\"",
        );
        let long = "j".repeat(256);
        check(&format!("{long}: {{script: [x]}}"), &format!("the generated pipeline is invalid: job name \"{}…\" is 256 characters; GitLab allows 255", "j".repeat(40)));
        let name = "j".repeat(129);
        check(
            &format!("{name}: {{script: [x]}}\nb: {{needs: [{name}], script: [x]}}"),
            "the generated pipeline is invalid: job \"b\" needs a job whose name is 129 characters; GitLab allows 128 in `needs`",
        );
    }
}
