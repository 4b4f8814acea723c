//! The fast path of rendering (instance chains rendered shape by shape) against the general
//! path it stands in for (handlebars over the whole pipeline), on the example cluster and on
//! generated fleets.

mod common;

#[path = "../examples/fleet_gen.rs"]
mod fleet_gen;

use grove_core::plan::Plan;
use grove_core::render::template::{Templates, ROOT};
use grove_core::{render, Fleet, Options};

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
        let options = Options::default();
        let templates = Templates::new(&fleet, options.patches(&fleet)).unwrap();
        let plan = Plan::new(&common::request(&title), &fleet).unwrap();
        let context = serde_json::to_value(render::context(&plan, &fleet, &options)).unwrap();
        let by_shape = render::chain::render(ROOT, &context, |name, data| {
            templates.render_template(name, data)
        })
        .unwrap();
        let whole = templates.render_template(ROOT, &context).unwrap();
        assert_eq!(by_shape.as_deref(), Some(whole.as_str()), "{title}");
        assert!(templates.chains_by_shape());
        let rendered = render::render(&templates, ROOT, &render::context(&plan, &fleet, &options));
        // (Rendering ends the file with one newline.)
        assert_eq!(
            rendered.unwrap(),
            format!("{}\n", whole.trim_end()),
            "{title}"
        );
    }
}
