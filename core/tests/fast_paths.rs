//! Every fast path against the general path it stands in for, on real inputs: the reviewed
//! golden pipelines, the example cluster, and generated fleets. (The unit tests of `fleet` and
//! `pipeline` check the same on corpora of tricky inputs.)

mod common;

#[path = "../examples/fleet_gen.rs"]
mod fleet_gen;

use grove_core::plan::Plan;
use grove_core::template::Templates;
use grove_core::{pipeline, request_from_title, Fleet, Pipeline};

/// Grove's own pipelines are on the serde-free reader's path, and it reads them as serde_yaml
/// does; the model is then the same whichever reads it.
fn same_pipeline(what: &str, yaml: &str) {
    let simple = grove_core::yaml::from_str_simple(yaml);
    let general = grove_core::yaml::from_str::<serde_json::Value>(yaml).map_err(|e| e.message);
    assert_eq!(
        simple.as_ref().ok_or("not on the simple path"),
        general.as_ref().map_err(|_| "serde_yaml failed"),
        "{what}"
    );
    let fast = Pipeline::parse(yaml).map_err(|e| e.message);
    let general = Pipeline::parse_general(yaml).map_err(|e| e.message);
    assert_eq!(fast, general, "{what}");
}

#[test]
fn golden_pipelines_read_the_same() {
    let mut seen = 0;
    for dir in ["tests/titles", "tests/webhooks"] {
        for (path, text) in common::project_files(&[dir]) {
            if path.ends_with(".yml") && !path.contains('/') {
                same_pipeline(&format!("{dir}/{path}"), &text);
                seen += 1;
            }
        }
    }
    assert!(seen >= 10, "only {seen} golden pipelines");
}

#[test]
fn generated_fleets_read_the_same() {
    for n in [0, 1, 7, 100, 700] {
        let fleet = Fleet::new(fleet_gen::fleet(n)).unwrap();
        let templates = Templates::new(&fleet).unwrap();
        for title in [
            fleet_gen::batch_title(),
            "[AutoDeploy][Batch][UpgradeTo] 0123456789abcdef0123456789abcdef01234567".to_string(),
            "[AutoDeploy][Create] inst-00000|7".to_string(),
            "no deployment".to_string(),
        ] {
            if n == 0 && title.contains("Create") {
                continue;
            }
            let plan = Plan::new(&request_from_title(&title).unwrap().0, &fleet).unwrap();
            let yaml = templates.render(&pipeline::context(&plan, &fleet)).unwrap();
            same_pipeline(&format!("{n} instances, {title}"), &yaml);
        }
    }
}

/// The fast settings reader takes the example cluster's and the generated fleets' files, and
/// reads every instance as serde_yaml does (`Fleet::instance` uses the fast path; the general
/// path is `fleet::parse_yaml`).
#[test]
fn instance_files_read_the_same() {
    let example = common::project_files(&["examples/cluster"]);
    for files in [example, fleet_gen::fleet(50)] {
        let fleet = Fleet::new(files).unwrap();
        for name in fleet.names() {
            let instance = fleet.instance(name).unwrap();
            let config_path = format!("instances/{name}/config.yml");
            let config: grove_core::fleet::InstanceConfig = grove_core::fleet::parse_yaml(
                &config_path,
                fleet.file(&config_path).unwrap_or_default(),
            )
            .unwrap();
            assert_eq!(
                format!("{:?}", instance.config),
                format!("{config:?}"),
                "{name}"
            );
            let settings_path = format!("instances/{name}/grove.yml");
            let settings: grove_core::fleet::InstanceSettings = match fleet.file(&settings_path) {
                Some(text) => grove_core::fleet::parse_yaml(&settings_path, text).unwrap(),
                None => Default::default(),
            };
            assert_eq!(
                format!("{:?}", instance.settings),
                format!("{settings:?}"),
                "{name}"
            );
        }
    }
}

/// Instance chains rendered shape by shape give what handlebars gives for the whole pipeline,
/// and the shape-by-shape way is really taken (it does not fall back).
#[test]
fn chains_rendered_by_shape_are_what_handlebars_renders() {
    let example = common::project_files(&["examples/cluster"]);
    let titles = [
        "[AutoDeploy][Batch][UpgradeTo] abcdef1",
        "[AutoDeploy][Create] campus|1,newcampus|2,labs",
        "[AutoDeploy][Update] campus|7,academy,research|x.1",
    ];
    for (files, title) in titles
        .iter()
        .map(|t| (example.clone(), t.to_string()))
        .chain([(fleet_gen::fleet(60), fleet_gen::batch_title())])
    {
        let fleet = Fleet::new(files).unwrap();
        let templates = Templates::new(&fleet).unwrap();
        let plan = Plan::new(&request_from_title(&title).unwrap().0, &fleet).unwrap();
        let context = pipeline::context(&plan, &fleet);
        let by_shape =
            grove_core::chain::render(&context, |name, data| templates.render_template(name, data))
                .unwrap();
        let whole = templates
            .render_template(grove_core::template::ROOT, &context)
            .unwrap();
        assert_eq!(by_shape.as_deref(), Some(whole.as_str()), "{title}");
        assert_eq!(templates.render(&context).unwrap(), whole, "{title}");
    }
}
