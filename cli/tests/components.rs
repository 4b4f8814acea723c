//! The GitLab CI components of `ci-components/`: checked against GitLab's own CI schema, and run
//! end to end with gitlab-ci-local 4.60.0 on a scratch copy of the example cluster repository.
//!
//! In the example cluster's runs, two steps are emulated, and only these:
//!
//! - **`include: component:`.** gitlab-ci-local cannot fetch a component from a GitLab server
//!   (there is none offline), and when it reads one from its include cache it skips `regex` and
//!   functions. So this test resolves the include itself, as GitLab does: it checks the given
//!   inputs against the spec (known names, types, `options`, `regex`), interpolates
//!   `$[[ inputs.NAME ]]` in the keys and string values of the component's body (a string that is
//!   one whole block keeps the input's type), and writes the result as the pipeline file.
//!   Regexes are checked with Python's `re`, standing in for GitLab's RE2 on these simple,
//!   anchored patterns.
//! - **What gitlab-ci-local does not do in child pipelines.** One line is appended to each
//!   generate job's script that rewrites `generated.yml` and its shard files before they become
//!   the artifact (`FOR_GITLAB_CI_LOCAL` below): `expand: false` variables, which gitlab-ci-local
//!   4.60.0 refuses (see `for_gitlab_ci_local` in `common/mod.rs`), become literal values; job
//!   images and services are dropped (there is no Docker); a need of the parent pipeline's
//!   generate job (`needs: pipeline:`), which it skips, copies that job's artifacts by the name
//!   grove wrote; `forward: pipeline_variables` passes `GROVE_ROOT` on to the shard pipelines.
//!   gitlab-ci-local's copy of GitLab's schema (17.7) still refuses `tags: []`, which GitLab now
//!   takes: that one rule is ignored (`IGNORED_SCHEMA_PATHS`).
//!
//! The catalog project's own pipeline needs no emulated include: gitlab-ci-local reads a
//! component of the project's own commit (`$CI_SERVER_FQDN/$CI_PROJECT_PATH/NAME@$CI_COMMIT_SHA`)
//! from the checkout, as GitLab does.
//!
//! Everything else is real: the generate job runs the `grove` built from this repository, the
//! child pipeline runs from the artifact, `grove venv update` builds real venvs with uv, and only
//! `tutor` (a tiny Python package, `tests/components/fake-tutor/`), `kubectl`, `terraform` and
//! `git` are fakes that record the job and argv of every call.

mod common;

use common::*;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A component of `ci-components/templates/`: its name and its two YAML documents, as text.
struct Component {
    name: String,
    header: String,
    body: String,
}

impl Component {
    /// `spec: inputs:` of the header.
    fn inputs(&self) -> Map<String, Value> {
        yaml(&self.header)["spec"]["inputs"]
            .as_object()
            .cloned()
            .unwrap_or_default()
    }
}

/// Every component, from `templates/NAME.yml` and `templates/NAME/template.yml`, by name.
fn components() -> Vec<Component> {
    let dir = project().join("ci-components/templates");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let (name, file) = if path.is_dir() {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, path.join("template.yml"))
        } else if path.extension().is_some_and(|e| e == "yml") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            (name, path)
        } else {
            continue;
        };
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let (header, body) = split_documents(&file, &text);
        found.push(Component { name, header, body });
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(
        found.len() >= 2,
        "components are missing from {}",
        dir.display()
    );
    found
}

/// The component called `name`.
fn component(name: &str) -> Component {
    components()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no component {name:?} in ci-components/templates/"))
}

/// Splits a component file on its `---` line into the spec header and the body.
fn split_documents(path: &Path, text: &str) -> (String, String) {
    let mut documents = vec![String::new()];
    for line in text.lines() {
        if line.trim_end() == "---" {
            documents.push(String::new());
        } else {
            let last = documents.last_mut().unwrap();
            last.push_str(line);
            last.push('\n');
        }
    }
    assert_eq!(
        documents.len(),
        2,
        "{}: a component is a spec header, a `---` line, then its jobs",
        path.display()
    );
    let body = documents.pop().unwrap();
    (documents.pop().unwrap(), body)
}

/// Reads YAML into JSON values (merge keys applied), through core's one YAML module.
fn yaml(text: &str) -> Value {
    grove_core::yaml::from_str::<Value>(text, &grove_core::yaml::Limits::PIPELINE)
        .unwrap_or_else(|e| panic!("{e:?}\n{text}"))
}

/// Whether each `(regex, value)` matches, as GitLab checks `spec:inputs:regex`.
///
/// Python's `re` stands in for RE2; a final `$` becomes `\Z`, since RE2's `$` does not match
/// before a trailing newline and Python's does.
fn regexes_match(pairs: &[(String, String)]) -> Vec<bool> {
    if pairs.is_empty() {
        return Vec::new();
    }
    const PROGRAM: &str = r#"
import json, re, sys
def anchored(p):
    return p[:-1] + r"\Z" if p.endswith("$") and not p.endswith(r"\$") else p
print(json.dumps([re.search(anchored(p), v) is not None for p, v in json.load(sys.stdin)]))
"#;
    let mut child = Command::new("python3")
        .args(["-c", PROGRAM])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(pairs).unwrap().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The value of every input for one include, checked as GitLab checks it: no unknown names,
/// no missing required input, the declared type, one of `options`, matching `regex`.
fn resolve_inputs(
    component: &Component,
    given: &Map<String, Value>,
) -> Result<BTreeMap<String, Value>, String> {
    let spec = component.inputs();
    if let Some(unknown) = given.keys().find(|k| !spec.contains_key(*k)) {
        return Err(format!("unknown input {unknown:?}"));
    }
    let mut values = BTreeMap::new();
    let mut regexes = Vec::new();
    for (name, input) in &spec {
        let value = given
            .get(name)
            .or_else(|| input.get("default"))
            .cloned()
            .ok_or_else(|| format!("input {name:?} is required"))?;
        let kind = input
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("string");
        let typed = match kind {
            "string" => value.is_string(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "array" => value.is_array(),
            other => return Err(format!("input {name:?} has an unknown type {other:?}")),
        };
        if !typed {
            return Err(format!("input {name:?}: {value} is not a {kind}"));
        }
        if let Some(options) = input.get("options").and_then(Value::as_array) {
            if !options.contains(&value) {
                return Err(format!("input {name:?}: {value} is not one of {options:?}"));
            }
        }
        if let (Some(regex), Some(text)) =
            (input.get("regex").and_then(Value::as_str), value.as_str())
        {
            regexes.push((name.clone(), regex.to_string(), text.to_string()));
        }
        values.insert(name.clone(), value);
    }
    let pairs: Vec<(String, String)> = regexes
        .iter()
        .map(|(_, r, v)| (r.clone(), v.clone()))
        .collect();
    for ((name, regex, text), matched) in regexes.iter().zip(regexes_match(&pairs)) {
        if !matched {
            return Err(format!("input {name:?}: {text:?} does not match {regex}"));
        }
    }
    Ok(values)
}

/// The component's body with these inputs, as GitLab interpolates it.
fn instantiate(component: &Component, given: &Map<String, Value>) -> Result<Value, String> {
    let inputs = resolve_inputs(component, given)?;
    interpolate(&yaml(&component.body), &inputs)
}

/// Interpolates every `$[[ ... ]]` block in the keys and string values of `value`.
fn interpolate(value: &Value, inputs: &BTreeMap<String, Value>) -> Result<Value, String> {
    match value {
        Value::String(text) => interpolate_text(text, inputs),
        Value::Array(items) => items
            .iter()
            .map(|item| interpolate(item, inputs))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, item) in map {
                let Value::String(key) = interpolate_text(key, inputs)? else {
                    return Err(format!("the key {key:?} is not a string once interpolated"));
                };
                out.insert(key, interpolate(item, inputs)?);
            }
            Ok(Value::Object(out))
        }
        other => Ok(other.clone()),
    }
}

/// One string: a string that is a single whole block takes the input's value and type; blocks
/// inside longer text are replaced by the value's text.
fn interpolate_text(text: &str, inputs: &BTreeMap<String, Value>) -> Result<Value, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("$[[") {
        let length = rest[start..]
            .find("]]")
            .ok_or_else(|| format!("unclosed interpolation block in {text:?}"))?;
        let value = block_value(&rest[start + 3..start + length], inputs)?;
        if start == 0 && length + 2 == rest.len() && out.is_empty() {
            return Ok(value);
        }
        out.push_str(&rest[..start]);
        match value {
            Value::String(s) => out.push_str(&s),
            Value::Number(_) | Value::Bool(_) => out.push_str(&value.to_string()),
            other => {
                return Err(format!(
                    "{other} cannot be written inside the text {text:?}"
                ))
            }
        }
        rest = &rest[start + length + 2..];
    }
    out.push_str(rest);
    Ok(Value::String(out))
}

/// The value of one block, `inputs.NAME` (the components use no functions).
fn block_value(block: &str, inputs: &BTreeMap<String, Value>) -> Result<Value, String> {
    let mut parts = block.split('|').map(str::trim);
    let reference = parts.next().unwrap_or_default();
    if let Some(function) = parts.next() {
        return Err(format!(
            "the function {function:?} is not emulated by this test"
        ));
    }
    let name = reference
        .strip_prefix("inputs.")
        .ok_or_else(|| format!("unknown interpolation {reference:?}"))?;
    inputs
        .get(name)
        .cloned()
        .ok_or_else(|| format!("unknown input {name:?} in $[[ {block} ]]"))
}

/// The `include: - component:` entries of a pipeline file: (component name, inputs).
fn component_includes(pipeline: &Value) -> Vec<(String, Map<String, Value>)> {
    let includes = match &pipeline["include"] {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    };
    includes
        .iter()
        .filter_map(|include| {
            let address = include["component"].as_str()?;
            let path = address.split('@').next().unwrap();
            let name = path.rsplit('/').next().unwrap().to_string();
            let inputs = include["inputs"].as_object().cloned().unwrap_or_default();
            Some((name, inputs))
        })
        .collect()
}

/// A pipeline file with its component includes resolved in place (the emulated step).
fn resolve_pipeline(pipeline: &Value) -> Value {
    let mut resolved = Map::new();
    for (name, inputs) in component_includes(pipeline) {
        let body = instantiate(&component(&name), &inputs)
            .unwrap_or_else(|e| panic!("include of {name}: {e}"));
        for (key, value) in body.as_object().unwrap() {
            assert!(
                resolved.insert(key.clone(), value.clone()).is_none(),
                "{key} is defined by two components"
            );
        }
    }
    for (key, value) in pipeline.as_object().unwrap() {
        if key == "include" {
            continue;
        }
        assert!(
            resolved.insert(key.clone(), value.clone()).is_none(),
            "{key} is defined by a component and by the pipeline"
        );
    }
    Value::Object(resolved)
}

/// Runs check-jsonschema with GitLab's CI schema on `files`.
fn check_schema(files: &[PathBuf]) -> std::process::Output {
    Command::new(tool("check-jsonschema"))
        .args(["--builtin-schema", "vendor.gitlab-ci"])
        .args(files)
        .output()
        .unwrap()
}

/// Test values for each component, from `tests/components/inputs.yml`.
fn test_values(name: &str) -> Vec<Map<String, Value>> {
    let text = std::fs::read_to_string(project().join("tests/components/inputs.yml")).unwrap();
    yaml(&text)[name]
        .as_array()
        .unwrap_or_else(|| panic!("tests/components/inputs.yml has no test values for {name}"))
        .iter()
        .map(|v| v.as_object().cloned().unwrap())
        .collect()
}

/// The pipelines that include the components: the example cluster's and the catalog project's.
fn including_pipelines() -> Vec<(String, Value)> {
    [
        "examples/cluster/.gitlab-ci.yml",
        "ci-components/.gitlab-ci.yml",
    ]
    .iter()
    .map(|path| {
        let text = std::fs::read_to_string(project().join(path)).unwrap();
        (path.to_string(), yaml(&text))
    })
    .collect()
}

/// Every set of inputs a component's body is checked with: its defaults, the test values, each
/// of each input's `options`, and what the including pipelines give it.
fn input_sets(component: &Component) -> Vec<(String, Map<String, Value>)> {
    let mut sets = vec![("defaults".to_string(), Map::new())];
    for (n, values) in test_values(&component.name).into_iter().enumerate() {
        sets.push((format!("test values {n}"), values));
    }
    for (name, input) in component.inputs() {
        for option in input["options"].as_array().into_iter().flatten() {
            let mut values = Map::new();
            values.insert(name.clone(), option.clone());
            sets.push((format!("{name} = {option}"), values));
        }
    }
    for (path, pipeline) in including_pipelines() {
        for (name, inputs) in component_includes(&pipeline) {
            if name == component.name {
                sets.push((format!("the include in {path}"), inputs));
            }
        }
    }
    sets
}

#[test]
fn every_spec_header_validates_against_gitlabs_schema() {
    // GitLab's schema has `spec` as a top-level key of its own, so the header alone is a
    // document it can check.
    let dir = scratch("component-headers");
    let files: Vec<PathBuf> = components()
        .iter()
        .map(|c| {
            let file = dir.join(format!("{}.spec.yml", c.name));
            std::fs::write(&file, &c.header).unwrap();
            file
        })
        .collect();
    let run = check_schema(&files);
    assert!(run.status.success(), "{}", describe(&run));
}

#[test]
fn the_schema_check_catches_a_broken_spec_header() {
    let dir = scratch("component-header-negative");
    let file = dir.join("broken.spec.yml");
    std::fs::write(
        &file,
        "spec:\n  inputs:\n    stage:\n      type: text\n      default: deploy\n",
    )
    .unwrap();
    let run = check_schema(&[file]);
    assert!(!run.status.success(), "{}", describe(&run));
}

#[test]
fn every_body_validates_with_defaults_test_values_options_and_its_includes() {
    let dir = scratch("component-bodies");
    let mut files = Vec::new();
    for component in components() {
        for (n, (what, given)) in input_sets(&component).into_iter().enumerate() {
            let body = instantiate(&component, &given)
                .unwrap_or_else(|e| panic!("{} with {what}: {e}", component.name));
            let text = serde_json::to_string_pretty(&body).unwrap();
            assert!(
                !text.contains("$[["),
                "{} with {what}: {text}",
                component.name
            );
            let file = dir.join(format!("{}.{n}.json", component.name));
            std::fs::write(&file, text).unwrap();
            files.push(file);
        }
    }
    let run = check_schema(&files);
    assert!(run.status.success(), "{}", describe(&run));
}

#[test]
fn every_input_is_described_typed_defaulted_and_used() {
    for component in components() {
        let inputs = component.inputs();
        assert!(!inputs.is_empty(), "{} has no inputs", component.name);
        for (name, input) in &inputs {
            let what = format!("{} input {name}", component.name);
            assert!(
                input["description"].as_str().is_some_and(|d| d.len() > 10),
                "{what} has no description"
            );
            assert!(input["type"].is_string(), "{what} has no explicit type");
            assert!(input.get("default").is_some(), "{what} has no default");
            assert!(
                component.body.contains(&format!("$[[ inputs.{name} ]]")),
                "{what} is never used"
            );
        }
    }
}

#[test]
fn no_input_is_spliced_into_a_script() {
    // Inputs reach scripts only through job variables; scripts are fixed text.
    fn scripts_of(value: &Value, out: &mut Vec<String>) {
        if let Value::Object(map) = value {
            for (key, item) in map {
                if matches!(key.as_str(), "script" | "before_script" | "after_script") {
                    out.push(item.to_string());
                } else {
                    scripts_of(item, out);
                }
            }
        }
    }
    for component in components() {
        let mut scripts = Vec::new();
        scripts_of(&yaml(&component.body), &mut scripts);
        assert!(!scripts.is_empty(), "{} has no script", component.name);
        for script in scripts {
            assert!(
                !script.contains("$[["),
                "{}: an input is spliced into a script: {script}",
                component.name
            );
        }
    }
}

#[test]
fn the_default_grove_version_is_this_workspaces_version() {
    for component in components() {
        if let Some(version) = component.inputs().get("grove-version") {
            assert_eq!(
                version["default"],
                json!(env!("CARGO_PKG_VERSION")),
                "{}: the default grove-version must be the version this repository builds",
                component.name
            );
        }
    }
}

#[test]
fn regexes_accept_good_values_and_refuse_hostile_ones() {
    let pipeline = component("pipeline");
    let accepted = [
        ("root", "."),
        ("root", "clusters/prod"),
        ("args", "--verbose"),
        ("args", "-q"),
        ("args", " --verbose  --quiet "),
        ("image", "registry.example.org:5000/ops/grove"),
        ("grove-version", "1.2.3-rc.1"),
        ("grove-version", "latest"),
    ];
    for (name, value) in accepted {
        let mut given = Map::new();
        given.insert(name.into(), json!(value));
        resolve_inputs(&pipeline, &given)
            .unwrap_or_else(|e| panic!("{name} = {value:?} is refused: {e}"));
    }
    let refused = [
        ("root", ".."),
        ("root", "../elsewhere"),
        ("root", "/etc"),
        ("root", "a/../../b"),
        ("root", "$HOME"),
        ("args", "--verbose; rm -rf /"),
        ("args", "--root=$(id)"),
        ("args", "*"),
        ("args", "--verbose\n--quiet"),
        ("args", "pipeline"),
        ("image", "grove; id"),
        ("image", "Registry/Grove"),
        ("grove-version", "1.2"),
        ("grove-version", "latest\n"),
        ("stage", "deploy"),
    ];
    for (name, value) in refused {
        let mut given = Map::new();
        given.insert(name.into(), json!(value));
        if name == "stage" {
            // Stages are not restricted (they reach no script); a wrong type still is.
            given.insert(name.into(), json!(7));
        }
        assert!(
            resolve_inputs(&pipeline, &given).is_err(),
            "{name} = {value:?} is accepted"
        );
    }
}

#[test]
fn the_emulated_include_refuses_what_gitlab_refuses() {
    let plan = component("plan");
    let bad = [
        json!({"unknown": "x"}),
        json!({"format": "yaml"}),
        json!({"rules": "always"}),
        json!({"stage": ["test"]}),
    ];
    for given in bad {
        assert!(
            resolve_inputs(&plan, given.as_object().unwrap()).is_err(),
            "{given} is accepted"
        );
    }
    let body = instantiate(
        &plan,
        json!({"rules": [{"when": "manual"}]}).as_object().unwrap(),
    )
    .unwrap();
    assert_eq!(body["grove-plan"]["rules"], json!([{"when": "manual"}]));
    assert_eq!(
        body["grove-plan"]["image"],
        json!(format!(
            "registry.gitlab.com/opencraft/grove:{}",
            env!("CARGO_PKG_VERSION")
        ))
    );
}

#[test]
fn the_readme_documents_every_component_and_input() {
    let readme = std::fs::read_to_string(project().join("ci-components/README.md")).unwrap();
    for component in components() {
        assert!(
            readme.contains(&format!("/{}@", component.name)),
            "ci-components/README.md has no example including {}",
            component.name
        );
        for name in component.inputs().keys() {
            assert!(
                readme.contains(&format!("`{name}`")),
                "ci-components/README.md does not document input {name} of {}",
                component.name
            );
        }
    }
}

/// The YAML examples of ci-components/README.md that are pipelines (they include a component),
/// with the `### ` heading they are under.
fn readme_examples() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(project().join("ci-components/README.md")).unwrap();
    let mut examples = Vec::new();
    let (mut heading, mut block): (String, Option<String>) = (String::new(), None);
    for line in readme.lines() {
        match &mut block {
            Some(text) if line == "```" => {
                if text.contains("component: ") {
                    examples.push((heading.clone(), std::mem::take(text)));
                }
                block = None;
            }
            Some(text) => {
                text.push_str(line);
                text.push('\n');
            }
            None if line == "```yaml" => block = Some(String::new()),
            None if line.starts_with("## ") || line.starts_with("### ") => {
                heading = line.to_string()
            }
            None => {}
        }
    }
    examples
}

#[test]
fn the_readme_has_a_components_section_with_an_example_of_each() {
    let readme = std::fs::read_to_string(project().join("ci-components/README.md")).unwrap();
    assert!(
        readme.contains("\n## Components\n"),
        "no ## Components section"
    );
    let examples = readme_examples();
    for component in components() {
        let heading = format!("### `{}`", component.name);
        let under: Vec<&String> = examples
            .iter()
            .filter(|(h, _)| *h == heading)
            .map(|(_, text)| text)
            .collect();
        assert!(
            under
                .iter()
                .any(|text| text.contains(&format!("/{}@", component.name))),
            "ci-components/README.md has no example including {} under {heading}",
            component.name
        );
    }
}

#[test]
fn every_example_in_the_readme_works() {
    // Each example, its includes resolved as GitLab resolves them (inputs checked), is a valid
    // pipeline for GitLab's schema, and gitlab-ci-local lists its jobs (stages that exist,
    // needs that resolve).
    let dir = scratch("readme-examples");
    let examples = readme_examples();
    assert!(examples.len() >= 4, "{examples:?}");
    let mut files = Vec::new();
    for (n, (heading, text)) in examples.iter().enumerate() {
        let resolved = resolve_pipeline(&yaml(text));
        let jobs: Vec<&String> = resolved
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| !matches!(k.as_str(), "stages" | "variables" | "default" | "workflow"))
            .collect();
        assert!(!jobs.is_empty(), "{heading}: no job\n{text}");
        let file = dir.join(format!("example-{n}.json"));
        std::fs::write(&file, resolved.to_string()).unwrap();
        files.push(file);
        let project = dir.join(format!("example-{n}"));
        std::fs::create_dir_all(project.join("home")).unwrap();
        std::fs::write(project.join(".gitlab-ci.yml"), resolved.to_string()).unwrap();
        let list = Command::new(tool("gitlab-ci-local"))
            .args(IGNORED_SCHEMA_PATHS)
            .args(["--list-json", "--home"])
            .arg(project.join("home"))
            .current_dir(&project)
            .output()
            .unwrap();
        assert!(list.status.success(), "{heading}: {}", describe(&list));
        let stdout = String::from_utf8_lossy(&list.stdout);
        let listed: Vec<Value> = serde_json::from_str(&stdout[stdout.find('[').unwrap()..])
            .unwrap_or_else(|e| panic!("{heading}: {e}: {}", describe(&list)));
        let listed: BTreeSet<&str> = listed.iter().filter_map(|j| j["name"].as_str()).collect();
        assert_eq!(
            listed,
            jobs.iter().map(|j| j.as_str()).collect(),
            "{heading}"
        );
    }
    let run = check_schema(&files);
    assert!(run.status.success(), "{}", describe(&run));
}

#[test]
fn the_catalog_project_tests_its_components_at_the_commit_and_releases_on_semver_tags() {
    let text = std::fs::read_to_string(project().join("ci-components/.gitlab-ci.yml")).unwrap();
    let pipeline = yaml(&text);
    let includes: Vec<&str> = pipeline["include"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["component"].as_str())
        .collect();
    for component in components() {
        let address = format!(
            "$CI_SERVER_FQDN/$CI_PROJECT_PATH/{}@$CI_COMMIT_SHA",
            component.name
        );
        assert!(
            includes.contains(&address.as_str()),
            "{address} is not included"
        );
    }
    let release = pipeline
        .as_object()
        .unwrap()
        .values()
        .find(|job| job.get("release").is_some())
        .expect("a job with the release keyword");
    assert!(release["release"]["tag_name"] == json!("$CI_COMMIT_TAG"));
    assert!(release["rules"].to_string().contains("CI_COMMIT_TAG"));
    // The whole file, with its includes resolved, is a valid GitLab pipeline.
    let dir = scratch("catalog-pipeline");
    let file = dir.join("catalog.json");
    std::fs::write(&file, resolve_pipeline(&pipeline).to_string()).unwrap();
    let run = check_schema(&[file]);
    assert!(run.status.success(), "{}", describe(&run));
}

// ---------------------------------------------------------------------------------------------
// End to end: the example cluster repository, its components, gitlab-ci-local.

/// The one rule of gitlab-ci-local 4.60.0's copy of GitLab's schema (GitLab 17.7) that GitLab has
/// since dropped: `tags: []` (the components' default: no runner tags) is valid in GitLab's
/// current schema, which check-jsonschema vendors and these tests also check every file against.
const IGNORED_SCHEMA_PATHS: [&str; 2] = ["--ignore-schema-paths", "#/definitions/tags/minItems"];

/// A fake `kubectl`, `terraform` or `git`: appends `JOB<TAB>PROJECT_DIR<TAB>PROGRAM<TAB>ARG...`
/// to $GROVE_FAKE_LOG in one write, and answers the few questions grove asks.
const FAKE: &str = r#"#!/bin/sh
prog=$(basename "$0")
line="${CI_JOB_NAME:--}	${CI_PROJECT_DIR:--}	$prog"
for a in "$@"; do line="$line	$a"; done
printf '%s\n' "$line" >> "$GROVE_FAKE_LOG"
case "$prog $*" in
  "terraform "*" plan "*) for a in "$@"; do case "$a" in -out=*) : > "${a#-out=}" ;; esac; done ;;
  "terraform "*" output -json") echo '{}' ;;
  "kubectl --namespace "*" get deployments "*) printf 'lms\ncms\n' ;;
  "kubectl get namespace "*) echo "namespace/$3" ;;
  # Tutor renders its jobs with kustomize, then picks one by name from what it prints.
  "kubectl kustomize "*) cat "$2/k8s/jobs.yml" ;;
  # What Tutor applies: the namespace and instance (openedx-ID) of its kustomization, and the
  # LMS's secret key and platform name, as Tutor rendered them.
  "kubectl apply --kustomize "*)
    applied="${CI_JOB_NAME:--}	${CI_PROJECT_DIR:--}	applied"
    while IFS= read -r line; do
      case "$line" in
        "namespace: "*) applied="$applied	namespace=${line#namespace: }" ;;
        *"app.kubernetes.io/instance: "*) applied="$applied	instance=${line##*: }" ;;
      esac
    done < "$3/kustomization.yml"
    while IFS= read -r setting; do
      case "$setting" in SECRET_KEY:*|PLATFORM_NAME:*) applied="$applied	$setting" ;; esac
    done < "$3/apps/openedx/config/lms.env.yml"
    printf '%s\n' "$applied" >> "$GROVE_FAKE_LOG" ;;
esac
exit 0
"#;

/// A Kubernetes API server that says every job Tutor starts has succeeded at once and that
/// none is running: what `tutor k8s launch` asks the cluster through the Kubernetes client,
/// beside the kubectl calls the fake above records. Prints its port, then serves until killed.
const FAKE_KUBERNETES: &str = r#"
import http.server, json, sys, urllib.parse

class Api(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        items = []
        for selector in query.get("fieldSelector", []):
            if selector.startswith("metadata.name="):
                name = selector[len("metadata.name="):]
                items.append({"metadata": {"name": name}, "status": {"succeeded": 1}})
        body = json.dumps({"kind": "JobList", "apiVersion": "batch/v1", "metadata": {}, "items": items}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Api)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

/// [`FAKE_KUBERNETES`], running, with a kubeconfig that points at it; killed when dropped.
struct FakeKubernetes {
    child: std::process::Child,
    kubeconfig: PathBuf,
}

impl FakeKubernetes {
    fn start(dir: &Path) -> FakeKubernetes {
        let mut child = Command::new("python3")
            .args(["-c", FAKE_KUBERNETES])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut port = String::new();
        use std::io::BufRead;
        std::io::BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut port)
            .unwrap();
        let kubeconfig = dir.join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: fake\n\
                 clusters: [{{name: fake, cluster: {{server: \"http://127.0.0.1:{}\"}}}}]\n\
                 users: [{{name: fake, user: {{token: fake}}}}]\n\
                 contexts: [{{name: fake, context: {{cluster: fake, user: fake}}}}]\n",
                port.trim()
            ),
        )
        .unwrap();
        FakeKubernetes { child, kubeconfig }
    }
}

impl Drop for FakeKubernetes {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Rewrites a generated pipeline and its shard files in place for gitlab-ci-local, which has no
/// Docker here and no cross-pipeline artifacts; the files as grove wrote them are kept beside
/// the call log, as `GROVE_FAKE_LOG.JOB.generated.yml` (and `.generated-shards.shard-N.yml`).
///
/// - `expand: false` variables become plain values with `$` doubled, as `for_gitlab_ci_local`
///   (common/mod.rs) does;
/// - `default: image:` and each job's `services:` are dropped: the jobs run on gitlab-ci-local's
///   shell executor, a job image would make it set CI_PROJECT_DIR to the container's path, and
///   a service makes it start Docker;
/// - a need of a job of the parent pipeline (`needs: - pipeline: $PARENT_PIPELINE_ID, job: X`),
///   which gitlab-ci-local skips, becomes `needs: []` and a first script line that copies X's
///   artifacts into the job, from gitlab-ci-local's artifacts folder, which parent and child
///   pipelines share: what GitLab does for that need, by the job name grove wrote;
/// - a trigger job's `forward: pipeline_variables: true`, which gitlab-ci-local does not
///   implement, gets the one pipeline variable the shard pipelines read, the `GROVE_ROOT` that
///   the component's trigger job passes to the child pipeline (the generate job has the same).
const FOR_GITLAB_CI_LOCAL: &str = r#"#!/usr/bin/env python3
import glob, os, sys
keep = os.environ["GROVE_FAKE_LOG"] + "." + os.environ.get("CI_JOB_NAME", "-") + "."
def rewrite(path):
    text = open(path, encoding="utf-8").read()
    open(keep + path.replace("/", "."), "w", encoding="utf-8").write(text)
    out, fetch = [], None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line == "default:" and i + 1 < len(lines) and lines[i + 1].startswith("  image: "):
            i += 2
            continue
        if line == "  services:":
            i += 1
            while i < len(lines) and lines[i].startswith("   "):
                i += 1
            continue
        if (line == "  needs:" and i + 2 < len(lines)
                and lines[i + 1] == "    - pipeline: $PARENT_PIPELINE_ID"
                and lines[i + 2].startswith("      job: ")):
            fetch = lines[i + 2][len("      job: "):].strip('"')
            out.append("  needs: []")
            i += 3
            if i < len(lines) and lines[i] == "      artifacts: true":
                i += 1
            continue
        if line == "      pipeline_variables: true" and out and out[-1] == "    forward:":
            out.append(line)
            out.append("  variables:")
            out.append('    GROVE_ROOT: "%s"' % os.environ["GROVE_ROOT"])
            i += 1
            continue
        if line == "  script:" and fetch:
            out.append(line)
            out.append('    - cp -R "$CI_PROJECT_DIR/../../artifacts/%s/." "$CI_PROJECT_DIR/"' % fetch)
            fetch = None
            i += 1
            continue
        trimmed = line.lstrip()
        key, sep, rest = trimmed.partition(": {value: ")
        if sep and rest.endswith(", expand: false}"):
            value = rest[: -len(", expand: false}")].replace("$", "$$")
            line = line[: len(line) - len(trimmed)] + key + ": " + value
        out.append(line)
        i += 1
    open(path, "w", encoding="utf-8").write("\n".join(out) + "\n")
rewrite(sys.argv[1])
for shard in sorted(glob.glob(sys.argv[1][: -len(".yml")] + "-shards/*.yml")):
    rewrite(shard)
"#;

/// A scratch copy of the example cluster repository, made a git repository, with the fakes.
struct Cluster {
    /// The project (canonical, so that job paths compare equal); the cluster repository is at
    /// its top, or in a folder of it.
    root: PathBuf,
    /// Where the fakes record their calls.
    log: PathBuf,
    /// gitlab-ci-local's home (no variables from the real one).
    home: PathBuf,
    /// The store (a folder outside the project).
    store: PathBuf,
}

impl Cluster {
    /// The example cluster as a project of its own, its `.gitlab-ci.yml` at the top.
    fn new(name: &str) -> Cluster {
        Cluster::in_folder(name, None)
    }

    /// The example cluster in `folder` of the project (the components' `root` input set to
    /// it), or at its top.
    fn in_folder(name: &str, folder: Option<&str>) -> Cluster {
        Cluster::build(name, folder, None, None)
    }

    /// The example cluster in `folder` of the project, or at its top, with its store in
    /// `store` (a folder outside the project, as a runner's persistent disk would be; one of
    /// its own when `None`); with `real_tutor` (a Kubernetes API the real Tutor can ask), its
    /// instances' venvs get the real Tutor instead of the fake one.
    fn build(
        name: &str,
        folder: Option<&str>,
        store: Option<&Path>,
        real_tutor: Option<&FakeKubernetes>,
    ) -> Cluster {
        let example = example_cluster().join(".gitlab-ci.yml");
        let mut pipeline = yaml(&std::fs::read_to_string(example).unwrap());
        if let Some(folder) = folder {
            for include in pipeline["include"].as_array_mut().unwrap() {
                include["inputs"]["root"] = json!(folder);
            }
        }
        Cluster::project(
            name,
            &[(folder.unwrap_or(""), "")],
            &pipeline,
            store,
            real_tutor,
        )
    }

    /// A project holding a copy of the example cluster in each of `clusters` (a folder, `""`
    /// for the top, and text appended to its grove.yml), whose pipeline is `pipeline` with its
    /// component includes resolved. Each cluster keeps its state in a store of its own outside
    /// the project, or (with one cluster) in `store`; with `real_tutor`, instances' venvs get
    /// the real Tutor, and jobs a kubeconfig for its Kubernetes API.
    fn project(
        name: &str,
        clusters: &[(&str, &str)],
        pipeline: &Value,
        store: Option<&Path>,
        real_tutor: Option<&FakeKubernetes>,
    ) -> Cluster {
        let base = scratch(name).canonicalize().unwrap();
        let root = base.join("cluster");
        let mut stores = Vec::new();
        for (n, (folder, settings)) in clusters.iter().enumerate() {
            let repository = root.join(folder);
            copy_tree(&example_cluster(), &repository);
            let cluster_store = match store {
                Some(store) if clusters.len() == 1 => store.to_path_buf(),
                _ => base.join(format!("store-{n}")),
            };
            set_store(&repository, cluster_store.to_str().unwrap());
            stores.push(cluster_store);
            let grove_yml = repository.join("grove.yml");
            let text = std::fs::read_to_string(&grove_yml).unwrap();
            std::fs::write(&grove_yml, format!("{text}{settings}")).unwrap();
            // Every venv gets the fake tutor instead of Tutor, unless the real one is asked for.
            let fake_tutor = project().join("tests/components/fake-tutor");
            let fake = format!("fake-tutor @ file://{}\n", fake_tutor.display());
            std::fs::write(repository.join("defaults/grove-requirements.txt"), &fake).unwrap();
            let requirement = if real_tutor.is_some() {
                "tutor>=22,<23\n"
            } else {
                fake.as_str()
            };
            for entry in std::fs::read_dir(repository.join("instances")).unwrap() {
                let file = entry.unwrap().path().join("grove-requirements.txt");
                std::fs::write(file, requirement).unwrap();
            }
        }
        // The emulated include, and the one line for gitlab-ci-local in each generate job.
        let mut resolved = resolve_pipeline(pipeline);
        for (job, body) in resolved.as_object_mut().unwrap() {
            if job.ends_with("-generate") {
                body["script"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!("for-gitlab-ci-local generated.yml"));
            }
        }
        std::fs::write(
            root.join(".gitlab-ci.yml"),
            serde_json::to_string_pretty(&resolved).unwrap(),
        )
        .unwrap();
        // The fakes, and PATH for every job: grove first, then the fakes, then uv.
        let fakes = base.join("fakes");
        std::fs::create_dir_all(&fakes).unwrap();
        for program in ["kubectl", "terraform", "git", "docker"] {
            write_executable(&fakes.join(program), FAKE);
        }
        write_executable(&fakes.join("for-gitlab-ci-local"), FOR_GITLAB_CI_LOCAL);
        let grove_dir = Path::new(env!("CARGO_BIN_EXE_grove")).parent().unwrap();
        let uv_dir = tool("uv").parent().unwrap().to_path_buf();
        let path = format!(
            "{}:{}:{}:{}",
            grove_dir.display(),
            fakes.display(),
            uv_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let log = base.join("calls.log");
        // Values that start with "/" would be file variables: the long form says otherwise.
        let mut variables = json!({
            "PATH": {"type": "variable", "values": {"*": path}},
            "GROVE_FAKE_LOG": {"type": "variable", "values": {"*": log.display().to_string()}},
            "NO_COLOR": "1",
        });
        if let Some(kubernetes) = real_tutor {
            variables["KUBECONFIG"] = json!({"type": "variable", "values": {"*": kubernetes.kubeconfig.display().to_string()}});
        }
        std::fs::write(
            root.join(".gitlab-ci-local-variables.yml"),
            variables.to_string(),
        )
        .unwrap();
        let home = base.join("home");
        std::fs::create_dir_all(&home).unwrap();
        let cluster = Cluster {
            root,
            log,
            home,
            store: stores.swap_remove(0),
        };
        cluster.git(&["init", "--quiet", "--initial-branch=main"]);
        cluster.git(&[
            "remote",
            "add",
            "origin",
            "git@gitlab.example.org:ops/cluster.git",
        ]);
        std::fs::write(cluster.root.join(".gitignore"), ".gitlab-ci-local/\n").unwrap();
        cluster.git(&["add", "--all"]);
        cluster.git(&["commit", "--quiet", "--message", "The example cluster"]);
        cluster
    }

    /// The pipeline grove-generate wrote, as grove wrote it (before the rewrite for
    /// gitlab-ci-local).
    fn generated(&self) -> String {
        self.written("grove-generate", "generated.yml")
    }

    /// A file that `job` wrote (`generated.yml`, `generated-shards/shard-1.yml`), as grove
    /// wrote it.
    fn written(&self, job: &str, file: &str) -> String {
        let mut path = self.log.clone().into_os_string();
        path.push(format!(".{job}.{}", file.replace('/', ".")));
        std::fs::read_to_string(path).unwrap_or_default()
    }

    /// The real git, for the scratch repository itself.
    fn git(&self, args: &[&str]) {
        let run = Command::new("git")
            .args([
                "-c",
                "user.name=Grove Test",
                "-c",
                "user.email=test@example.org",
            ])
            .args(args)
            .current_dir(&self.root)
            .output()
            .unwrap();
        assert!(run.status.success(), "git {args:?}: {}", describe(&run));
    }

    /// Runs the whole pipeline with gitlab-ci-local (shell executor, each job in its own copy of
    /// the repository, artifacts and caches passed as GitLab passes them).
    fn run(&self, variables: &[(&str, &str)]) -> Run {
        self.run_with(variables, &[])
    }

    /// [`Cluster::run`] with more options for gitlab-ci-local.
    fn run_with(&self, variables: &[(&str, &str)], options: &[&str]) -> Run {
        let (succeeded, run) = self.attempt(variables, options);
        assert!(succeeded, "gitlab-ci-local failed: {}", run.text);
        run
    }

    /// [`Cluster::run_with`] of a pipeline that may fail: whether gitlab-ci-local succeeded,
    /// and what ran.
    fn attempt(&self, variables: &[(&str, &str)], options: &[&str]) -> (bool, Run) {
        let mut command = Command::new(tool("gitlab-ci-local"));
        command.args(options);
        command
            .args([
                "--force-shell-executor",
                "--shell-isolation",
                "--no-artifacts-to-source",
            ])
            .args(IGNORED_SCHEMA_PATHS)
            .arg("--home")
            .arg(&self.home)
            .current_dir(&self.root)
            .env("NO_COLOR", "1")
            .env("FORCE_COLOR", "0")
            .env_remove("GROVE_ROOT");
        for (key, value) in variables {
            command.arg("--variable").arg(format!("{key}={value}"));
        }
        let output = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let text = format!(
            "{}\n(the whole run:)\n{}",
            describe(&output),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
        let run = Run {
            events: events(&stdout),
            calls: calls(&std::fs::read_to_string(&self.log).unwrap_or_default()),
            text,
            stdout,
        };
        (output.status.success(), run)
    }
}

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A job starting or finishing, in the order gitlab-ci-local printed it, or its line in the
/// summary at the end (the only line a trigger job gets).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Started(String),
    Finished { job: String, ok: bool },
    Summary { job: String, ok: bool },
}

/// Removes the `[trigger] -> ` prefix of a child pipeline's lines.
fn without_trigger(line: &str) -> Option<&str> {
    match line.strip_prefix('[') {
        Some(rest) => Some(rest.split_once("] -> ")?.1),
        None => Some(line),
    }
}

/// The job events of gitlab-ci-local's output. A failing job's line ends with `FAIL <code>`.
fn events(stdout: &str) -> Vec<Event> {
    stdout
        .lines()
        .filter_map(|line| {
            let line = line.trim_start();
            for (word, ok) in [("PASS ", true), ("FAIL ", false)] {
                if let Some(rest) = line.strip_prefix(word) {
                    let job = without_trigger(rest.trim())?.trim().to_string();
                    return Some(Event::Summary { job, ok });
                }
            }
            let line = without_trigger(line)?;
            let mut words = line.split_whitespace();
            let job = words.next()?.to_string();
            match words.next()? {
                "starting" => Some(Event::Started(job)),
                "finished" if words.next() == Some("in") => Some(Event::Finished {
                    job,
                    ok: !line.contains(" FAIL "),
                }),
                _ => None,
            }
        })
        .collect()
}

/// The recorded calls, in order: (job, argv with the job's folder written `$CI_PROJECT_DIR`).
fn calls(log: &str) -> Vec<(String, Vec<String>)> {
    log.lines()
        .map(|line| {
            let mut fields = line.split('\t');
            let job = fields.next().unwrap().to_string();
            let dir = fields.next().unwrap().to_string();
            let argv = fields
                .map(|f| {
                    f.replace(&format!("{dir}/./"), "$CI_PROJECT_DIR/")
                        .replace(&dir, "$CI_PROJECT_DIR")
                })
                .collect();
            (job, argv)
        })
        .collect()
}

/// What one pipeline run did.
struct Run {
    events: Vec<Event>,
    calls: Vec<(String, Vec<String>)>,
    /// gitlab-ci-local's output and the call log, for failure messages.
    text: String,
    /// gitlab-ci-local's output.
    stdout: String,
}

impl Run {
    /// The jobs that ran, each checked to have succeeded.
    fn jobs(&self) -> BTreeSet<String> {
        let mut jobs = BTreeSet::new();
        for event in &self.events {
            if let Event::Finished { job, ok } | Event::Summary { job, ok } = event {
                assert!(ok, "job {job} failed:\n{}", self.text);
                jobs.insert(job.clone());
            }
        }
        jobs
    }

    fn position(&self, event: &Event) -> usize {
        self.events
            .iter()
            .position(|e| e == event)
            .unwrap_or_else(|| panic!("{event:?} is not in the run:\n{}", self.text))
    }

    /// Asserts that each job finished before the next one started.
    fn assert_order(&self, chain: &[&str]) {
        for pair in chain.windows(2) {
            let finished = self.position(&Event::Finished {
                job: pair[0].into(),
                ok: true,
            });
            let started = self.position(&Event::Started(pair[1].into()));
            assert!(
                finished < started,
                "{} started before {} finished:\n{}",
                pair[1],
                pair[0],
                self.text
            );
        }
    }

    /// The calls one job made, in order.
    fn calls_of(&self, job: &str) -> Vec<Vec<String>> {
        self.calls
            .iter()
            .filter(|(j, _)| j == job)
            .map(|(_, argv)| argv.clone())
            .collect()
    }
}

/// A recorded argv, from words.
fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// The TUTOR_ROOT field the fake tutor records for an instance of the cluster in `folder` of
/// the project (empty at its top, else ending in `/`).
fn tutor_root(folder: &str, instance: &str) -> String {
    format!("TUTOR_ROOT=$CI_PROJECT_DIR/{folder}.grove/tutor/{instance}")
}

/// The generation of `instance` the store holds now, as the later jobs of its pipeline are
/// pinned to it: `GROVE_STATE_GENERATION=NAME/ID`.
fn pinned_generation(store: &Path, instance: &str) -> String {
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(store.join(format!("{instance}/manifest.json"))).unwrap(),
    )
    .unwrap();
    format!(
        "GROVE_STATE_GENERATION={instance}/{}",
        manifest["id"].as_str().unwrap()
    )
}

/// The jobs of a deployed instance, in their order: what does not touch the cluster, then its
/// release under the instance's lock.
const INSTANCE_CHAIN: [&str; 2] = ["build", "release"];

/// The two jobs of a deployed instance, in their order.
fn instance_jobs(instance: &str) -> Vec<String> {
    INSTANCE_CHAIN
        .iter()
        .map(|step| format!("{step}:{instance}"))
        .collect()
}

/// The venv jobs of a pipeline file whose instances use `n` requirements sets.
fn venv_jobs(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("venv:{i}")).collect()
}

/// Asserts what the jobs of one deployed instance ran: the venv jobs without Tutor; its build
/// saved and stored its config, then built and pushed its image on exactly the generation it
/// stored; its release ran Tutor's k8s launch, then a rollout restart, on that generation too.
fn assert_instance_deployed(run: &Run, store: &Path, instance: &str) {
    assert_instance_deployed_in(run, store, "", instance);
}

/// [`assert_instance_deployed`] for the cluster in `folder` of the project.
fn assert_instance_deployed_in(run: &Run, store: &Path, folder: &str, instance: &str) {
    let jobs = instance_jobs(instance);
    let chain: Vec<&str> = jobs.iter().map(String::as_str).collect();
    run.assert_order(&chain);
    for (job, _) in &run.calls {
        assert!(
            !job.starts_with("venv:"),
            "{job} ran a program\n{}",
            run.text
        );
    }
    let root = tutor_root(folder, instance);
    let pinned = pinned_generation(store, instance);
    let build = run.calls_of(&jobs[0]);
    assert!(
        build.contains(&argv(&[
            "tutor",
            "config",
            "save",
            &root,
            "GROVE_STATE_GENERATION="
        ])),
        "build:{instance} did not save the Tutor config in the instance: {build:?}\n{}",
        run.text
    );
    assert_eq!(
        build[build.len().saturating_sub(2)..],
        [
            argv(&["tutor", "images", "build", "openedx", &root, &pinned]),
            argv(&["tutor", "images", "push", "openedx", &root, &pinned]),
        ],
        "{}",
        run.text
    );
    assert_eq!(
        run.calls_of(&jobs[1]),
        [
            argv(&[
                "tutor",
                "k8s",
                "launch",
                "--non-interactive",
                &root,
                &pinned
            ]),
            argv(&[
                "kubectl",
                "--namespace",
                instance,
                "rollout",
                "restart",
                "deployment"
            ])
        ],
        "{}",
        run.text
    );
}

/// The jobs every deployment pipeline has in the parent.
fn parent_jobs() -> Vec<String> {
    vec!["grove-generate".into(), "grove-deploy".into()]
}

/// Asserts that the run was the no-op pipeline: the parent's jobs and `noop`, no call made.
fn assert_noop(run: &Run) {
    assert_eq!(
        run.jobs(),
        set(parent_jobs().into_iter().chain(["noop".to_string()])),
        "{}",
        run.text
    );
    assert!(run.calls.is_empty(), "{}", run.text);
}

fn set(jobs: impl IntoIterator<Item = String>) -> BTreeSet<String> {
    jobs.into_iter().collect()
}

/// Runs a push to the default branch with this commit title.
fn push(name: &str, title: &str) -> (Cluster, Run) {
    let cluster = Cluster::new(name);
    let run = cluster.run(&[("CI_COMMIT_TITLE", title)]);
    (cluster, run)
}

#[test]
fn e2e_a_title_without_autodeploy_runs_the_noop_child_pipeline() {
    let (_, run) = push("e2e-noop", "Fix the footer links on the landing page");
    assert_eq!(
        run.jobs(),
        set(parent_jobs().into_iter().chain(["noop".to_string()])),
        "{}",
        run.text
    );
    run.assert_order(&["grove-generate", "noop"]);
    assert!(run.calls.is_empty(), "{}", run.text);
}

/// Asserts that the pipeline's Terraform jobs planned, then applied that plan, in the cluster's
/// Terraform folder.
fn assert_terraform_ran(run: &Run) {
    let tf = "-chdir=$CI_PROJECT_DIR/infrastructure";
    let plan = "$CI_PROJECT_DIR/.grove/terraform.plan";
    assert_eq!(
        run.calls_of("terraform:plan"),
        [
            argv(&["terraform", tf, "init", "-input=false"]),
            argv(&[
                "terraform",
                tf,
                "plan",
                "-input=false",
                &format!("-out={plan}")
            ]),
        ],
        "{}",
        run.text
    );
    assert_eq!(
        run.calls_of("terraform:apply"),
        [
            argv(&["terraform", tf, "init", "-input=false"]),
            argv(&["terraform", tf, "apply", "-input=false", plan]),
        ],
        "{}",
        run.text
    );
}

#[test]
fn e2e_create_runs_terraform_then_each_instance() {
    let (cluster, run) = push(
        "e2e-create",
        "[AutoDeploy][Create] campus|101,newcampus|102",
    );
    let mut expected = set(parent_jobs());
    expected.extend(["terraform:plan".to_string(), "terraform:apply".to_string()]);
    expected.extend(venv_jobs(1));
    expected.extend(instance_jobs("campus"));
    expected.extend(instance_jobs("newcampus"));
    assert_eq!(run.jobs(), expected, "{}", run.text);
    run.assert_order(&["grove-generate", "terraform:plan", "terraform:apply"]);
    assert_terraform_ran(&run);
    for instance in ["campus", "newcampus"] {
        run.assert_order(&["terraform:apply", &format!("build:{instance}")]);
        assert_instance_deployed(&run, &cluster.store, instance);
    }
}

#[test]
fn e2e_update_deploys_only_the_listed_instance() {
    let (cluster, run) = push("e2e-update", "[AutoDeploy][Update] campus|42");
    let mut expected = set(parent_jobs());
    expected.extend(venv_jobs(1));
    expected.extend(instance_jobs("campus"));
    assert_eq!(run.jobs(), expected, "{}", run.text);
    run.assert_order(&["grove-generate", "venv:1", "build:campus"]);
    assert_instance_deployed(&run, &cluster.store, "campus");
    assert!(
        run.calls.iter().all(|(job, _)| job.ends_with(":campus")),
        "{}",
        run.text
    );
}

#[test]
fn e2e_a_cluster_in_a_folder_of_the_project_deploys_from_there() {
    let folder = "clusters/production";
    let cluster = Cluster::in_folder("e2e-folder", Some(folder));
    let run = cluster.run(&[("CI_COMMIT_TITLE", "[AutoDeploy][Update] campus|42")]);
    let mut expected = set(parent_jobs());
    expected.extend(venv_jobs(1));
    expected.extend(instance_jobs("campus"));
    assert_eq!(run.jobs(), expected, "{}", run.text);
    assert_instance_deployed_in(&run, &cluster.store, &format!("{folder}/"), "campus");
    // The generation prepare stored reaches the later jobs through its dotenv report (checked
    // above), and no job publishes the instance's folder.
    let generated = cluster.generated();
    assert!(
        generated.contains("      dotenv: grove-state.env\n"),
        "{generated}"
    );
    assert!(!generated.contains("instances/campus/\n"), "{generated}");
    // The cache paths start with the folder.
    assert!(
        generated.contains(&format!("      - {folder}/.grove/venvs/")),
        "{generated}"
    );
    // The generated jobs run in the component's tool image.
    assert!(
        generated.contains("default:\n  image: \"registry.gitlab.com/opencraft/grove:0.1.0\"\n"),
        "{generated}"
    );
}

#[test]
fn e2e_archive_scales_each_listed_instance_to_zero() {
    let (_, run) = push("e2e-archive", "[AutoDeploy][Archive] staging,labs");
    let mut expected = set(parent_jobs());
    expected.extend(["archive:staging".to_string(), "archive:labs".to_string()]);
    assert_eq!(run.jobs(), expected, "{}", run.text);
    for instance in ["staging", "labs"] {
        assert_eq!(
            run.calls_of(&format!("archive:{instance}")),
            [
                argv(&[
                    "kubectl",
                    "get",
                    "namespace",
                    instance,
                    "--ignore-not-found",
                    "--output",
                    "name",
                ]),
                argv(&[
                    "kubectl",
                    "--namespace",
                    instance,
                    "get",
                    "deployments",
                    "--output",
                    "jsonpath={range .items[?(@.spec.replicas>0)]}{.metadata.name}{\"\\n\"}{end}",
                ]),
                argv(&[
                    "kubectl",
                    "--namespace",
                    instance,
                    "scale",
                    "--replicas=0",
                    "deployment/lms",
                    "deployment/cms",
                ]),
            ],
            "{}",
            run.text
        );
    }
}

/// A Delete: its commit removes the instance's folder; Terraform runs first (so that no
/// resource of the instance is left), then `delete:NAME` deletes the namespace the store names
/// and forgets the stored state.
#[test]
fn e2e_delete_runs_terraform_then_deletes_the_namespace_and_the_state() {
    let cluster = Cluster::new("e2e-delete");
    stored_generation(
        &cluster.store,
        "labs",
        1,
        &[("config.yml", "ID: labs-id\nK8S_NAMESPACE: labs-prod\n")],
    );
    cluster.git(&["rm", "-r", "--quiet", "instances/labs"]);
    let title = "[AutoDeploy][Delete] labs";
    cluster.git(&["commit", "--quiet", "--message", title]);
    let run = cluster.run(&[("CI_COMMIT_TITLE", title)]);
    let mut expected = set(parent_jobs());
    expected.extend([
        "terraform:plan".to_string(),
        "terraform:apply".to_string(),
        "delete:labs".to_string(),
    ]);
    assert_eq!(run.jobs(), expected, "{}", run.text);
    run.assert_order(&[
        "grove-generate",
        "terraform:plan",
        "terraform:apply",
        "delete:labs",
    ]);
    assert_terraform_ran(&run);
    assert_eq!(
        run.calls_of("delete:labs"),
        [
            argv(&[
                "kubectl",
                "get",
                "namespace",
                "labs-prod",
                "--ignore-not-found",
                "--output",
                "name",
            ]),
            argv(&[
                "kubectl",
                "delete",
                "namespace",
                "labs-prod",
                "--ignore-not-found",
                "--wait=true",
            ]),
        ],
        "{}",
        run.text
    );
    assert!(!cluster.store.join("labs").exists(), "{}", run.text);
    // The job stops the instance's GitLab environment.
    let generated = cluster.generated();
    assert!(
        generated.contains("  environment:\n    name: instances/labs\n    action: stop\n"),
        "{generated}"
    );
}

/// A run without a new commit (a pipeline schedule) that names a title in GROVE_TITLE runs that
/// title's pipeline, not the title of the commit it runs on.
#[test]
fn e2e_a_schedule_runs_the_pipeline_of_grove_title() {
    let cluster = Cluster::new("e2e-schedule");
    let run = cluster.run(&[
        ("CI_PIPELINE_SOURCE", "schedule"),
        ("CI_COMMIT_TITLE", "[AutoDeploy][Update] labs|7"),
        ("GROVE_TITLE", "[AutoDeploy][Update] campus|42"),
    ]);
    let mut expected = set(parent_jobs());
    expected.extend(venv_jobs(1));
    expected.extend(instance_jobs("campus"));
    assert_eq!(run.jobs(), expected, "{}", run.text);
    assert_instance_deployed(&run, &cluster.store, "campus");
    assert!(
        run.calls.iter().all(|(job, _)| job.ends_with(":campus")),
        "{}",
        run.text
    );
    assert!(
        cluster
            .generated()
            .contains("    DEPLOYMENT_ID: {value: \"42\", expand: false}\n"),
        "{}",
        cluster.generated()
    );
}

/// A pipeline started with a trigger token always has TRIGGER_PAYLOAD (GitLab sets it to the
/// request's parameters, variables included) and is read as a webhook: a GROVE_TITLE set through
/// the token that webhooks use deploys nothing, so that token can do no more than WEBHOOKS allows.
#[test]
fn e2e_a_trigger_token_run_is_a_webhook_whatever_grove_title_says() {
    let cluster = Cluster::new("e2e-trigger-title");
    let title = "[AutoDeploy][Update] campus|42";
    let payload = cluster.root.parent().unwrap().join("trigger-request.json");
    std::fs::write(
        &payload,
        json!({"ref": "main", "variables": {"GROVE_TITLE": title}, "id": "7"}).to_string(),
    )
    .unwrap();
    let run = cluster.run(&[
        ("CI_PIPELINE_SOURCE", "trigger"),
        ("TRIGGER_PAYLOAD", payload.to_str().unwrap()),
        ("GROVE_TITLE", title),
    ]);
    assert_noop(&run);
    assert!(
        cluster
            .generated()
            .contains("the payload is neither a GitLab Push Hook or Merge Request Hook"),
        "{}",
        cluster.generated()
    );
}

/// GROVE_TITLE is one argument that grove parses, never part of a script: a value written to
/// run a command runs nothing; one that is not a deployment title gives the no-op pipeline, one
/// that is malformed fails the generate job (exit 5) and starts no child pipeline.
#[test]
fn e2e_a_hostile_grove_title_is_parsed_not_run() {
    let cluster = Cluster::new("e2e-hostile-title");
    let marker = cluster.root.parent().unwrap().join("spliced");
    let touch = format!("touch {}", marker.display());
    let noop = format!("$({touch})");
    let run = cluster.run(&[("CI_PIPELINE_SOURCE", "schedule"), ("GROVE_TITLE", &noop)]);
    assert_noop(&run);
    assert!(!marker.exists(), "GROVE_TITLE ran: {}", run.text);

    for title in [
        format!("[AutoDeploy][Update] campus\"; {touch}; echo \""),
        format!("[AutoDeploy][Update] campus$({touch})"),
        format!("[AutoDeploy][Update] campus`{touch}`"),
    ] {
        let (succeeded, run) = cluster.attempt(
            &[("CI_PIPELINE_SOURCE", "schedule"), ("GROVE_TITLE", &title)],
            &[],
        );
        assert!(!succeeded, "{title}: {}", run.text);
        assert!(
            run.events.contains(&Event::Summary {
                job: "grove-generate".into(),
                ok: false
            }),
            "{title}: {}",
            run.text
        );
        // The job's output (on gitlab-ci-local's stderr): grove's exit 5 and its message.
        assert!(
            run.text
                .contains("grove-generate > error: invalid commit title: character")
                && run.text.contains("is not allowed in an instance name")
                && run.text.contains("FAIL 5"),
            "{title}: {}",
            run.text
        );
        assert!(
            !run.events
                .iter()
                .any(|e| matches!(e, Event::Started(job) if job != "grove-generate")),
            "{title}: a job other than grove-generate started: {}",
            run.text
        );
        assert!(run.calls.is_empty(), "{title}: {}", run.text);
        assert!(!marker.exists(), "{title}: GROVE_TITLE ran: {}", run.text);
    }
}

#[test]
fn e2e_batch_upgrade_builds_base_images_then_each_matching_instance() {
    let title =
        std::fs::read_to_string(project().join("tests/titles/07-batch-upgrade.title")).unwrap();
    let (cluster, run) = push("e2e-batch", title.trim_end());
    let mut expected = set(parent_jobs());
    expected.extend(["base-image:1".to_string(), "base-image:2".to_string()]);
    // The test cluster's instances share one requirements set (the fake Tutor).
    expected.extend(venv_jobs(1));
    for instance in ["academy", "campus", "labs"] {
        expected.extend(instance_jobs(instance));
    }
    assert_eq!(run.jobs(), expected, "{}", run.text);
    let bases = [
        (
            "base-image:1",
            "https://github.com/open-craft/edx-platform.git",
            "opencraft-release/sumac.1",
        ),
        (
            "base-image:2",
            "https://github.com/openedx/edx-platform.git",
            "open-release/sumac.1",
        ),
    ];
    let root = "TUTOR_ROOT=$CI_PROJECT_DIR/.grove/base";
    for (job, repository, version) in bases {
        assert_eq!(
            run.calls_of(job),
            [
                argv(&[
                    "tutor",
                    "config",
                    "save",
                    "--set",
                    &format!("EDX_PLATFORM_REPOSITORY=\"{repository}\""),
                    "--set",
                    &format!("EDX_PLATFORM_VERSION=\"{version}\""),
                    root,
                    "GROVE_STATE_GENERATION=",
                ]),
                argv(&[
                    "tutor",
                    "images",
                    "build",
                    "openedx",
                    root,
                    "GROVE_STATE_GENERATION="
                ]),
                argv(&[
                    "tutor",
                    "images",
                    "push",
                    "openedx",
                    root,
                    "GROVE_STATE_GENERATION="
                ]),
            ],
            "{}",
            run.text
        );
    }
    for (instance, base) in [
        ("academy", "base-image:1"),
        ("campus", "base-image:2"),
        ("labs", "base-image:1"),
    ] {
        run.assert_order(&[base, &format!("build:{instance}")]);
        assert_instance_deployed(&run, &cluster.store, instance);
    }
}

#[test]
fn e2e_a_merge_request_runs_only_the_plan_job() {
    let cluster = Cluster::new("e2e-merge-request");
    let run = cluster.run(&[
        ("CI_PIPELINE_SOURCE", "merge_request_event"),
        ("CI_COMMIT_BRANCH", ""),
        ("CI_MERGE_REQUEST_TITLE", "[AutoDeploy][Update] campus|42"),
    ]);
    assert_eq!(run.jobs(), set(["grove-plan".to_string()]), "{}", run.text);
    assert!(run.calls.is_empty(), "{}", run.text);
    assert!(run.text.contains("campus"), "{}", run.text);
}

#[test]
fn e2e_the_catalog_pipeline_includes_its_components_at_the_commit() {
    // gitlab-ci-local resolves `$CI_SERVER_FQDN/$CI_PROJECT_PATH/NAME@$CI_COMMIT_SHA` itself
    // (a component of the project's own commit is read from its checkout): nothing is emulated
    // here but the GitLab server. The trigger job is left out: its child pipeline is the no-op
    // one, whose `expand: false` variable gitlab-ci-local 4.60.0 refuses.
    let base = scratch("catalog-e2e").canonicalize().unwrap();
    let root = base.join("grove-components");
    copy_tree(&project().join("ci-components"), &root);
    let grove_dir = Path::new(env!("CARGO_BIN_EXE_grove")).parent().unwrap();
    let path = format!(
        "{}:{}",
        grove_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    std::fs::write(
        root.join(".gitlab-ci-local-variables.yml"),
        json!({"PATH": {"type": "variable", "values": {"*": path}}}).to_string(),
    )
    .unwrap();
    let git = |args: &[&str]| {
        let run = Command::new("git")
            .args([
                "-c",
                "user.name=Grove Test",
                "-c",
                "user.email=test@example.org",
            ])
            .args(args)
            .current_dir(&root)
            .output()
            .unwrap();
        assert!(run.status.success(), "git {args:?}: {}", describe(&run));
    };
    git(&["init", "--quiet", "--initial-branch=main"]);
    git(&[
        "remote",
        "add",
        "origin",
        "git@gitlab.example.org:opencraft/grove-components.git",
    ]);
    std::fs::write(root.join(".gitignore"), ".gitlab-ci-local/\n").unwrap();
    git(&["add", "--all"]);
    git(&[
        "commit",
        "--quiet",
        "--message",
        "Document the plan component",
    ]);
    let home = base.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let gitlab_ci_local = || {
        let mut command = Command::new(tool("gitlab-ci-local"));
        command
            .args(IGNORED_SCHEMA_PATHS)
            .arg("--home")
            .arg(&home)
            .current_dir(&root)
            .env("NO_COLOR", "1")
            .env("FORCE_COLOR", "0")
            .env_remove("GROVE_ROOT");
        command
    };

    let list = gitlab_ci_local().arg("--list-json").output().unwrap();
    assert!(list.status.success(), "{}", describe(&list));
    let stdout = String::from_utf8_lossy(&list.stdout);
    let jobs: Vec<Value> = serde_json::from_str(&stdout[stdout.find('[').unwrap()..]).unwrap();
    let listed: BTreeMap<String, (String, Vec<String>)> = jobs
        .iter()
        .map(|job| {
            let needs = job["needs"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|n| n["job"].as_str().unwrap().to_string())
                .collect();
            let when = job["when"].as_str().unwrap_or_default().to_string();
            (job["name"].as_str().unwrap().to_string(), (when, needs))
        })
        .collect();
    let expected: BTreeMap<String, (String, Vec<String>)> = [
        ("grove-generate", "on_success", vec![]),
        ("grove-deploy", "on_success", vec!["grove-generate"]),
        ("grove-plan", "on_success", vec![]),
        ("check-generated", "on_success", vec!["grove-generate"]),
        ("check-readme", "on_success", vec![]),
        // A release only on semver tags.
        ("create-release", "never", vec![]),
    ]
    .into_iter()
    .map(|(name, when, needs)| {
        (
            name.to_string(),
            (
                when.to_string(),
                needs.into_iter().map(String::from).collect(),
            ),
        )
    })
    .collect();
    assert_eq!(listed, expected, "{}", describe(&list));

    let run = gitlab_ci_local()
        .args([
            "--force-shell-executor",
            "--shell-isolation",
            "--no-artifacts-to-source",
        ])
        .args([
            "grove-generate",
            "check-generated",
            "check-readme",
            "grove-plan",
        ])
        .output()
        .unwrap();
    let text = describe(&run);
    assert!(run.status.success(), "{text}");
    let summary: BTreeSet<Event> = events(&String::from_utf8_lossy(&run.stdout))
        .into_iter()
        .filter(|e| matches!(e, Event::Summary { .. }))
        .collect();
    let passed = |job: &str| Event::Summary {
        job: job.into(),
        ok: true,
    };
    assert_eq!(
        summary,
        [
            "grove-generate",
            "check-generated",
            "check-readme",
            "grove-plan"
        ]
        .into_iter()
        .map(passed)
        .collect(),
        "{text}"
    );
    assert!(
        text.contains("no [AutoDeploy] tag") || text.contains("nothing to deploy"),
        "{text}"
    );
}

/// The values of `prefix=` fields in one job's recorded calls of `program` (`applied` for what
/// Tutor applied), in order.
fn fields_of(run: &Run, job: &str, program: &str, prefix: &str) -> Vec<String> {
    run.calls_of(job)
        .into_iter()
        .filter(|call| call.first().map(String::as_str) == Some(program))
        .flat_map(|call| call.into_iter().skip(1))
        .filter_map(|field| field.strip_prefix(prefix).map(str::to_string))
        .collect()
}

/// A value of the current generation's stored config of `instance` in the folder store.
fn stored_value(store: &Path, instance: &str, key: &str) -> String {
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(store.join(format!("{instance}/manifest.json"))).unwrap(),
    )
    .unwrap();
    let id = manifest["id"].as_str().unwrap();
    let config =
        std::fs::read_to_string(store.join(format!("{instance}/generations/{id}/config.yml")))
            .unwrap();
    config
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("no {key} in the stored config"))
        .to_string()
}

/// Two pushes of one cluster repository, each in a fresh clone with a fresh gitlab-ci-local
/// state, the store outside both, the real Tutor in every job (kubectl, docker and terraform
/// are fakes that record what they are given, and a fake Kubernetes API answers Tutor's
/// client): the second pipeline's deploy applies the secrets the first one's prepare made.
#[test]
fn e2e_with_the_real_tutor_the_second_pipeline_deploys_the_first_ones_secrets() {
    let base = scratch("e2e-real-tutor").canonicalize().unwrap();
    let kubernetes = FakeKubernetes::start(&base);
    let store = base.join("store");
    let title = "[AutoDeploy][Update] campus|1";

    let first = Cluster::build("e2e-real-tutor-1", None, Some(&store), Some(&kubernetes));
    let run = first.run(&[("CI_COMMIT_TITLE", title)]);
    let mut expected = set(parent_jobs());
    expected.extend(venv_jobs(1));
    expected.extend(instance_jobs("campus"));
    assert_eq!(run.jobs(), expected, "{}", run.text);
    let id = stored_value(&store, "campus", "ID");
    let secret_key = stored_value(&store, "campus", "OPENEDX_SECRET_KEY");
    assert!(
        id.len() >= 20 && secret_key.len() >= 20,
        "{id} {secret_key}"
    );
    // What Tutor applied belongs to the instance (its ID) and its own namespace.
    let instance = format!("openedx-{id}");
    let jobs = fields_of(&run, "release:campus", "applied", "instance=");
    assert!(
        !jobs.is_empty() && jobs.iter().all(|i| *i == instance),
        "{jobs:?}\n{}",
        run.text
    );
    let namespaces = fields_of(&run, "release:campus", "applied", "namespace=");
    assert!(
        !namespaces.is_empty() && namespaces.iter().all(|n| n == "campus"),
        "{namespaces:?}"
    );
    let applied_first = fields_of(&run, "release:campus", "applied", "SECRET_KEY: ");
    assert!(!applied_first.is_empty(), "{}", run.text);
    assert!(
        applied_first
            .iter()
            .all(|s| s.contains(secret_key.trim_matches(['\'', '"']))),
        "{applied_first:?} does not hold the stored key\n{}",
        run.text
    );

    // The next commit changes the platform's name; a fresh clone runs its pipeline.
    let second = Cluster::build("e2e-real-tutor-2", None, Some(&store), Some(&kubernetes));
    let config = second.root.join("instances/campus/config.yml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("Campus Online", "Campus Online, renamed"),
    )
    .unwrap();
    second.git(&["commit", "--quiet", "--all", "--message", title]);
    let run = second.run(&[("CI_COMMIT_TITLE", title)]);
    assert_eq!(run.jobs(), expected, "{}", run.text);
    assert_eq!(
        stored_value(&store, "campus", "ID"),
        id,
        "the secrets rotated"
    );
    let jobs = fields_of(&run, "release:campus", "applied", "instance=");
    assert!(
        !jobs.is_empty() && jobs.iter().all(|i| *i == instance),
        "{jobs:?}\n{}",
        run.text
    );
    assert_eq!(
        fields_of(&run, "release:campus", "applied", "SECRET_KEY: "),
        applied_first,
        "the second deploy applied other secrets\n{}",
        run.text
    );
    let names = fields_of(&run, "release:campus", "applied", "PLATFORM_NAME: ");
    assert!(
        names.iter().all(|n| n == "\"Campus Online, renamed\""),
        "{names:?}\n{}",
        run.text
    );
}

// ---------------------------------------------------------------------------------------------
// Two clusters in one project: the pipeline component included twice, with two job prefixes.

/// The title both clusters' generate jobs read (each cluster is a copy of the example one).
const TWO_CLUSTERS_TITLE: &str = "[AutoDeploy][Update] campus|42,labs|7,academy|9";

/// A project with the example cluster in `clusters/production` and `clusters/staging`, each with
/// its own `LIMITS` text, including the pipeline component once for each, as `production` and
/// `staging`; runs a push of [`TWO_CLUSTERS_TITLE`] to the default branch.
///
/// gitlab-ci-local runs one job at a time here (`--concurrency 1`): parent and child pipelines
/// share its state folder, where two child pipelines' jobs of the same name (`venv:campus`,
/// `grove-shards`) would otherwise overwrite each other's files; GitLab keeps them apart.
fn two_clusters(name: &str, production: &str, staging: &str) -> (Cluster, Run) {
    let include = |prefix: &str| {
        json!({
            "component": "gitlab.com/opencraft/grove-components/pipeline@0.1.0",
            "inputs": {"job-prefix": prefix, "root": format!("clusters/{prefix}"), "stage": "deploy"},
        })
    };
    let pipeline = json!({
        "include": [include("production"), include("staging")],
        "stages": ["deploy"],
    });
    let cluster = Cluster::project(
        name,
        &[
            ("clusters/production", production),
            ("clusters/staging", staging),
        ],
        &pipeline,
        None,
        None,
    );
    let run = cluster.run_with(
        &[("CI_COMMIT_TITLE", TWO_CLUSTERS_TITLE)],
        &["--concurrency", "1"],
    );
    (cluster, run)
}

/// Each job that finished, by the pipeline it ran in: `""` for the parent, else the chain of
/// trigger jobs that started it (`production-deploy`, `production-deploy -> grove-shard:1`).
fn jobs_by_pipeline(stdout: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut jobs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in stdout.lines() {
        let line = line.trim_start();
        let (pipeline, rest) = match line.strip_prefix('[').and_then(|r| r.split_once("] -> ")) {
            Some((pipeline, rest)) => (pipeline.to_string(), rest),
            None => (String::new(), line),
        };
        assert!(!line.starts_with("FAIL "), "a job failed: {line}\n{stdout}");
        let mut words = rest.split_whitespace();
        if let (Some(job), Some("finished"), Some("in")) =
            (words.next(), words.next(), words.next())
        {
            assert!(!rest.contains(" FAIL "), "{line}");
            jobs.entry(pipeline).or_default().insert(job.to_string());
        }
    }
    jobs
}

/// Asserts that in each cluster's pipelines, every Tutor call of `instance` was made on that
/// cluster's copy: `tutor k8s launch` once per cluster, each in its own folder.
fn assert_each_cluster_deployed_its_own(run: &Run, instance: &str) {
    let launches: BTreeSet<String> = run
        .calls_of(&format!("release:{instance}"))
        .into_iter()
        .filter(|call| call.starts_with(&argv(&["tutor", "k8s", "launch"])))
        .filter_map(|call| call.into_iter().find(|f| f.starts_with("TUTOR_ROOT=")))
        .collect();
    assert_eq!(
        launches,
        ["production", "staging"]
            .iter()
            .map(|c| tutor_root(&format!("clusters/{c}/"), instance))
            .collect(),
        "{}",
        run.text
    );
    for step in INSTANCE_CHAIN {
        for call in run.calls_of(&format!("{step}:{instance}")) {
            if call[0] == "tutor" {
                let root = call.iter().find(|f| f.starts_with("TUTOR_ROOT=")).unwrap();
                assert!(
                    root.ends_with(&format!("/.grove/tutor/{instance}")),
                    "{step}:{instance} ran Tutor on another instance: {call:?}"
                );
            }
        }
    }
}

#[test]
fn e2e_two_clusters_in_one_project_each_run_their_own_jobs() {
    let (cluster, run) = two_clusters("e2e-two-clusters", "", "");
    let by_pipeline = jobs_by_pipeline(&run.stdout);
    // The instances share one requirements set (the fake Tutor).
    let chains: BTreeSet<String> = ["campus", "labs", "academy"]
        .iter()
        .flat_map(|i| instance_jobs(i))
        .chain(venv_jobs(1))
        .collect();
    let parent: BTreeSet<String> = ["production-generate", "staging-generate"]
        .map(String::from)
        .into();
    assert_eq!(by_pipeline[""], parent, "{}", run.text);
    assert_eq!(by_pipeline["production-deploy"], chains, "{}", run.text);
    assert_eq!(by_pipeline["staging-deploy"], chains, "{}", run.text);
    assert_eq!(by_pipeline.len(), 3, "{by_pipeline:?}\n{}", run.text);
    for instance in ["campus", "labs", "academy"] {
        assert_each_cluster_deployed_its_own(&run, instance);
    }
    // Each generate job wrote its own cluster's pipeline, and the image jobs have the Docker
    // daemon service the component gives by default.
    for prefix in ["production", "staging"] {
        let generated = cluster.written(&format!("{prefix}-generate"), "generated.yml");
        assert!(
            generated.contains(&format!("      - clusters/{prefix}/.grove/venvs/")),
            "{generated}"
        );
        let dind = "  services:\n    - name: \"docker:27.5.1-dind@sha256:aa3df78ecf320f5fafdce71c659f1629e96e9de0968305fe1de670e0ca9176ce\"\n      alias: docker\n";
        assert_eq!(generated.matches(dind).count(), 3, "{generated}");
    }
}

#[test]
fn e2e_two_sharded_clusters_in_one_project_each_fetch_their_own_shards() {
    // production: one instance per shard; staging: two. (A shard holds the venv job of its
    // instances' requirements set, which they share here.)
    let (cluster, run) = two_clusters(
        "e2e-two-sharded",
        "\nLIMITS:\n  jobs_per_pipeline: 4\n",
        "\nLIMITS:\n  jobs_per_pipeline: 6\n",
    );
    let by_pipeline = jobs_by_pipeline(&run.stdout);
    let names =
        |jobs: &[&str]| -> BTreeSet<String> { jobs.iter().map(|j| j.to_string()).collect() };
    let chains = |instances: &[&str]| -> BTreeSet<String> {
        instances
            .iter()
            .flat_map(|i| instance_jobs(i))
            .chain(venv_jobs(1))
            .collect()
    };
    // Shards are packed in plan order: the title's.
    let expected: BTreeMap<String, BTreeSet<String>> = [
        ("", names(&["production-generate", "staging-generate"])),
        ("production-deploy", names(&["grove-shards"])),
        ("production-deploy -> grove-shard:1", chains(&["campus"])),
        ("production-deploy -> grove-shard:2", chains(&["labs"])),
        ("production-deploy -> grove-shard:3", chains(&["academy"])),
        ("staging-deploy", names(&["grove-shards"])),
        (
            "staging-deploy -> grove-shard:1",
            chains(&["campus", "labs"]),
        ),
        ("staging-deploy -> grove-shard:2", chains(&["academy"])),
    ]
    .into_iter()
    .map(|(p, jobs)| (p.to_string(), jobs))
    .collect();
    assert_eq!(by_pipeline, expected, "{}", run.text);
    for instance in ["campus", "labs", "academy"] {
        assert_each_cluster_deployed_its_own(&run, instance);
    }
    // Each generated pipeline fetches its shard files from its own generate job.
    for (prefix, shards) in [("production", 3), ("staging", 2)] {
        let job = format!("{prefix}-generate");
        let generated = cluster.written(&job, "generated.yml");
        assert!(
            generated.contains(&format!(
                "    - pipeline: $PARENT_PIPELINE_ID\n      job: {job}\n      artifacts: true\n"
            )),
            "{generated}"
        );
        for n in 1..=shards {
            let shard = cluster.written(&job, &format!("generated-shards/shard-{n}.yml"));
            assert!(
                shard.contains(&format!("      - clusters/{prefix}/.grove/venvs/")),
                "{prefix} shard {n}:\n{shard}"
            );
        }
    }
}

#[test]
fn e2e_a_merge_request_plan_job_keeps_the_plan_in_a_note_with_its_token_variable() {
    // The plan component given `gitlab-token: $GROVE_PLAN_TOKEN`, in a merge request pipeline of
    // project 42 (!5), whose GitLab is the recording fake on loopback (common/gitlab.rs).
    use common::gitlab::{listing, request, FakeGitLab, NOTES};
    let gitlab = FakeGitLab::start();
    let example = example_cluster().join(".gitlab-ci.yml");
    let mut pipeline = yaml(&std::fs::read_to_string(example).unwrap());
    for include in pipeline["include"].as_array_mut().unwrap() {
        if include["component"].as_str().unwrap().contains("/plan@") {
            include["inputs"]["gitlab-token"] = json!("$GROVE_PLAN_TOKEN");
            include["inputs"]["format"] = json!("markdown");
        }
    }
    let cluster = Cluster::project("e2e-plan-note", &[("", "")], &pipeline, None, None);
    let title = "[AutoDeploy][Update] campus|42";
    let run = cluster.run(&[
        ("CI_PIPELINE_SOURCE", "merge_request_event"),
        ("CI_COMMIT_BRANCH", ""),
        ("CI_MERGE_REQUEST_TITLE", title),
        ("CI_MERGE_REQUEST_IID", "5"),
        ("CI_PROJECT_ID", "42"),
        ("CI_API_V4_URL", &gitlab.api),
        ("GROVE_PLAN_TOKEN", "glpat-secret"),
    ]);
    assert_eq!(run.jobs(), set(["grove-plan".to_string()]), "{}", run.text);
    // The log has the plan in Markdown; the note has it too, created by the token's user.
    let markdown = String::from_utf8(
        grove(&example_cluster(), &["plan", "--format", "markdown", title]).stdout,
    )
    .unwrap();
    assert!(
        run.text
            .contains("**Update: deploy 1 instance, no Terraform.**"),
        "{}",
        run.text
    );
    let requests = gitlab.requests();
    assert_eq!(
        requests[..3],
        [
            request("GET", "/api/v4/user", Value::Null),
            listing(1),
            listing(2)
        ],
        "{}",
        run.text
    );
    assert_eq!(requests.len(), 4, "{requests:?}");
    assert_eq!(
        (requests[3].method.as_str(), requests[3].target.as_str()),
        ("POST", NOTES)
    );
    let body = requests[3].body["body"].as_str().unwrap();
    assert!(
        body.starts_with(&format!(
            "<!-- grove-plan: grove-plan -->\n#### Grove plan for `{title}`\n\n{markdown}\n<sub>From pipeline [#"
        )),
        "{body}"
    );
    // The plan is kept as the job's artifact.
    let artifact = cluster
        .root
        .join(".gitlab-ci-local/artifacts/grove-plan/grove-plan.json");
    let plan: Value = serde_json::from_slice(&std::fs::read(&artifact).unwrap()).unwrap();
    assert_eq!(plan["kind"], "update");
    assert_eq!(plan["instances"][0]["name"], "campus");
}
