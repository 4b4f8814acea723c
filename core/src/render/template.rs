//! Pipeline templates: the embedded defaults, a cluster repository's overrides, and `{{patch}}`.
//!
//! Templates are handlebars. Every `{{value}}` is written through [`crate::yaml::quote`], so a
//! value always lands as one quoted YAML string; handlebars' HTML escaping never runs. Raw
//! output (`{{{...}}}`, `{{&...}}`) is refused in every template, embedded or overridden.
//! `{{plain x}}` writes `x` unquoted only when YAML reads it back as the same string (for the
//! job names and paths Grove makes), and quoted otherwise. Only `{{patch "NAME"}}` writes text
//! as it is: the cluster's own `PIPELINE_PATCHES`.

use crate::diagnostic::Diagnostic;
use crate::error::{Cause, Error, Result};
use crate::fleet::{Fleet, TEMPLATES_DIR, TEMPLATE_SUFFIX};
use crate::yaml;
use handlebars::{
    Context, Handlebars, Helper, HelperResult, JsonRender, Output, RenderContext, RenderErrorReason,
};
use std::collections::{BTreeMap, BTreeSet};

/// The template every pipeline starts from.
pub const ROOT: &str = "pipeline";
/// The deepest `indent=` a `{{patch}}` may ask for.
pub const MAX_INDENT: u64 = 64;

/// The embedded templates, by name (file name without [`SUFFIX`]).
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "pipeline",
        include_str!("../../../templates/pipelines/pipeline.yml.hbs"),
    ),
    (
        "terraform",
        include_str!("../../../templates/pipelines/terraform.yml.hbs"),
    ),
    (
        "base-image",
        include_str!("../../../templates/pipelines/base-image.yml.hbs"),
    ),
    (
        "instance",
        include_str!("../../../templates/pipelines/instance.yml.hbs"),
    ),
    (
        "instance-variables",
        include_str!("../../../templates/pipelines/instance-variables.yml.hbs"),
    ),
    (
        "instance-cache",
        include_str!("../../../templates/pipelines/instance-cache.yml.hbs"),
    ),
    (
        "venv",
        include_str!("../../../templates/pipelines/venv.yml.hbs"),
    ),
    (
        "archive",
        include_str!("../../../templates/pipelines/archive.yml.hbs"),
    ),
    (
        "delete",
        include_str!("../../../templates/pipelines/delete.yml.hbs"),
    ),
    (
        "noop",
        include_str!("../../../templates/pipelines/noop.yml.hbs"),
    ),
    (
        "preview",
        include_str!("../../../templates/pipelines/preview.yml.hbs"),
    ),
    (
        "shards",
        include_str!("../../../templates/pipelines/shards.yml.hbs"),
    ),
];

/// The templates in force for one fleet, ready to render.
pub struct Templates {
    registry: Handlebars<'static>,
    /// Template name → where it came from (`embedded` or the override's path).
    pub origins: BTreeMap<String, String>,
    /// Every patch name some template has a patch point for.
    pub patch_points: BTreeSet<String>,
    /// Whether any patch has text, from `PIPELINE_PATCHES` or the command line.
    patched: bool,
}

impl Templates {
    /// The embedded templates with the fleet's overrides from `templates/pipelines/` laid over
    /// them, and `patches` (patch name → text) written at their patch points.
    pub fn new(fleet: &Fleet, patches: BTreeMap<String, String>) -> Result<Templates> {
        let mut sources: BTreeMap<String, (String, &str)> = EMBEDDED
            .iter()
            .map(|(name, text)| (name.to_string(), ("embedded".to_string(), *text)))
            .collect();
        for (file, text) in fleet.files_under(TEMPLATES_DIR) {
            if let Some(name) = file.strip_suffix(TEMPLATE_SUFFIX) {
                if !name.contains('/') {
                    sources.insert(name.to_string(), (format!("{TEMPLATES_DIR}/{file}"), text));
                }
            }
        }
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        registry.register_escape_fn(yaml::quote);
        let patched = patches.values().any(|text| !text.is_empty());
        registry.register_helper(
            "patch",
            Box::new(
                move |h: &Helper,
                      _: &Handlebars,
                      _: &Context,
                      _: &mut RenderContext,
                      out: &mut dyn Output|
                      -> HelperResult {
                    let name = h
                        .param(0)
                        .map(|p| p.value().render())
                        .ok_or_else(|| RenderErrorReason::ParamNotFoundForIndex("patch", 0))?;
                    let indent = h
                        .hash_get("indent")
                        .and_then(|v| v.value().as_u64())
                        .unwrap_or(0);
                    if indent > MAX_INDENT {
                        return Err(RenderErrorReason::Other(format!(
                            "patch \"{name}\": indent={indent} is more than {MAX_INDENT}"
                        ))
                        .into());
                    }
                    let indent = indent as usize;
                    if let Some(text) = patches.get(&name) {
                        let pad = " ".repeat(indent);
                        for line in text.lines() {
                            if !line.is_empty() {
                                out.write(&pad)?;
                            }
                            out.write(line)?;
                            out.write("\n")?;
                        }
                    }
                    Ok(())
                },
            ),
        );
        registry.register_helper(
            "plain",
            Box::new(
                |h: &Helper,
                 _: &Handlebars,
                 _: &Context,
                 _: &mut RenderContext,
                 out: &mut dyn Output|
                 -> HelperResult {
                    let value = h
                        .param(0)
                        .map(|p| p.value().render())
                        .ok_or_else(|| RenderErrorReason::ParamNotFoundForIndex("plain", 0))?;
                    out.write(&yaml::plain_or_quoted(&value))?;
                    Ok(())
                },
            ),
        );
        let mut origins = BTreeMap::new();
        let mut patch_points = BTreeSet::new();
        for (name, (origin, text)) in &sources {
            refuse_raw_output(origin, text)?;
            patch_points.extend(patch_names(text));
            registry
                .register_template_string(name, *text)
                .map_err(|e| template_error(origin, text, &e.to_string(), e.pos()))?;
            origins.insert(name.clone(), origin.clone());
        }
        Ok(Templates {
            registry,
            origins,
            patch_points,
            patched,
        })
    }

    /// Whether every template is Grove's own and no patch adds text: then a generated pipeline
    /// that fails its checks is a bug in Grove, not in the repository.
    pub fn is_grove_own(&self) -> bool {
        !self.patched && self.origins.values().all(|origin| origin == "embedded")
    }

    /// Whether the root and instance templates are the embedded ones, whose instance chains
    /// may be rendered once per shape ([`super::chain`]).
    pub fn chains_by_shape(&self) -> bool {
        [ROOT, "instance", "instance-variables", "instance-cache"]
            .iter()
            .all(|name| self.origins.get(*name).map(String::as_str) == Some("embedded"))
    }

    /// Renders the template `name` over `context` (`shards`, the root of a sharded pipeline).
    pub fn render_template(&self, name: &str, context: &serde_json::Value) -> Result<String> {
        self.registry.render(name, context).map_err(|e| {
            let origin = e
                .template_name
                .as_deref()
                .and_then(|name| self.origins.get(name))
                .cloned()
                .unwrap_or_else(|| "a pipeline template".into());
            let at = e.line_no.map(|l| format!(":{l}")).unwrap_or_default();
            Error::new(
                Cause::Template {
                    origin: origin.clone(),
                },
                format!("{origin}{at}: {}", e.reason()),
            )
        })
    }
}

/// Refuses `{{{` and `{{&`, which would write a value without quoting it.
fn refuse_raw_output(origin: &str, text: &str) -> Result<()> {
    for pattern in ["{{{", "{{&", "{{~{", "{{~&"] {
        if let Some(at) = text.find(pattern) {
            let message =
                "raw output is not allowed in pipeline templates: every value must be quoted";
            return Err(Error::located(
                Cause::Template {
                    origin: origin.to_string(),
                },
                format!("{origin}: {message}"),
                origin,
                text,
                vec![Diagnostic::error(at..at + pattern.len(), message)
                    .with_hint("write {{value}}, which Grove writes as a quoted YAML string")],
            ));
        }
    }
    Ok(())
}

/// The patch names a template has patch points for: `{{patch "NAME"}}`.
pub fn patch_names(text: &str) -> impl Iterator<Item = String> + '_ {
    text.match_indices("{{").filter_map(move |(at, _)| {
        let rest = text[at + 2..].trim_start_matches('~').trim_start();
        let rest = rest.strip_prefix("patch")?.trim_start();
        let rest = rest.strip_prefix('"')?;
        rest.find('"').map(|end| rest[..end].to_string())
    })
}

fn template_error(
    origin: &str,
    text: &str,
    message: &str,
    position: Option<(usize, usize)>,
) -> Error {
    let offset = position.map_or(0, |(line, column)| {
        text.split_inclusive('\n')
            .take(line.saturating_sub(1))
            .map(str::len)
            .sum::<usize>()
            + column.saturating_sub(1)
    });
    let offset = offset.min(text.len());
    Error::located(
        Cause::Template {
            origin: origin.to_string(),
        },
        format!("{origin}: the template does not compile: {message}"),
        origin,
        text,
        vec![Diagnostic::error(offset..offset, message.to_string())],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_patch_points() {
        let names: Vec<String> =
            patch_names("a {{patch \"x\"}} b {{~ patch \"y-z\" indent=2}}").collect();
        assert_eq!(names, ["x", "y-z"]);
    }
}
