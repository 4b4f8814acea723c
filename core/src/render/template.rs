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
/// How deep blocks (`{{#if}}`, `{{#each}}`, `{{#> partial}}`, ...) may nest in a template.
pub const MAX_BLOCK_DEPTH: usize = 64;

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
            refuse_reference_tags(origin, text)?;
            patch_points.extend(patch_names(text));
            registry
                .register_template_string(name, *text)
                .map_err(|e| template_error(origin, text, &e.reason().to_string(), e.pos()))?;
            origins.insert(name.clone(), origin.clone());
        }
        refuse_partial_cycles(&registry, &sources)?;
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

/// A partial of the templates in force: a template, or an inline partial (`{{#*inline "NAME"}}`),
/// by name; what it calls, and in which template it is written.
#[derive(Default)]
struct Partial<'a> {
    /// The partials it calls (`{{> NAME}}`, `{{#> NAME}}`), and its blocks call.
    calls: BTreeSet<String>,
    /// The templates it is written in (an inline partial may be written in several), as their
    /// origin and text.
    written_in: Vec<(&'a str, &'a str)>,
}

/// Refuses templates whose partials could include themselves, directly or through others:
/// handlebars would follow them until the stack overflows (an abort, not an error). Every
/// partial is named in the template (never by an expression), so what each may call is known
/// before anything is rendered; an inline partial is counted with every partial of its name,
/// wherever it is written, which can only find more cycles, never fewer.
fn refuse_partial_cycles(
    registry: &Handlebars<'static>,
    sources: &BTreeMap<String, (String, &str)>,
) -> Result<()> {
    let mut partials: BTreeMap<String, Partial<'_>> = BTreeMap::new();
    for (name, (origin, text)) in sources {
        let Some(template) = registry.get_template(name) else {
            continue;
        };
        let written = (origin.as_str(), *text);
        partials
            .entry(name.clone())
            .or_default()
            .written_in
            .push(written);
        collect_calls(template, name, written, &mut partials, 0)?;
    }
    // Depth first from each partial, along the calls; a call back into the path is a cycle.
    fn visit(
        name: &str,
        partials: &BTreeMap<String, Partial<'_>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == name) {
            let mut cycle = path[at..].to_vec();
            cycle.push(name.to_string());
            return Some(cycle);
        }
        if done.contains(name) {
            return None;
        }
        path.push(name.to_string());
        for call in partials.get(name).map(|p| &p.calls).into_iter().flatten() {
            if let Some(cycle) = visit(call, partials, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(name.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for name in partials.keys() {
        let Some(cycle) = visit(name, &partials, &mut Vec::new(), &mut done) else {
            continue;
        };
        // Shown where the last step is written: the call that closes the cycle.
        let (caller, callee) = (&cycle[cycle.len() - 2], &cycle[cycle.len() - 1]);
        let (origin, text, at) = partials[caller.as_str()]
            .written_in
            .iter()
            .find_map(|&(origin, text)| partial_call_at(text, callee).map(|at| (origin, text, at)))
            .unwrap_or((
                partials[caller.as_str()]
                    .written_in
                    .first()
                    .map_or("a pipeline template", |w| w.0),
                "",
                0,
            ));
        let message = format!(
            "partial {callee:?} includes itself ({}): a partial may not include itself, directly or through others",
            cycle.join(" → ")
        );
        return Err(located(origin, text, at, 3, message));
    }
    Ok(())
}

/// Adds the partials `template` calls to those of `caller`, and its inline partials as
/// partials of their own; a partial named by an expression (`{{> (lookup ...)}}`) is refused.
fn collect_calls<'a>(
    template: &handlebars::template::Template,
    caller: &str,
    written: (&'a str, &'a str),
    partials: &mut BTreeMap<String, Partial<'a>>,
    depth: usize,
) -> Result<()> {
    use handlebars::template::{Parameter, TemplateElement};
    let (origin, text) = written;
    if depth > MAX_BLOCK_DEPTH {
        // Rendering recurses once a block: refused before the stack would overflow.
        let at = block_deeper_than(text, MAX_BLOCK_DEPTH).unwrap_or(0);
        let message = format!("blocks are nested more than {MAX_BLOCK_DEPTH} deep");
        return Err(located(origin, text, at, 3, message));
    }
    let name_of = |parameter: &Parameter| -> Result<String> {
        match parameter {
            Parameter::Name(_) | Parameter::Path(_) => {
                Ok(parameter.as_name().unwrap_or_default().to_string())
            }
            Parameter::Literal(serde_json::Value::String(name)) => Ok(name.clone()),
            _ => Err(located(
                origin,
                text,
                unnamed_partial_at(text).unwrap_or(0),
                3,
                "a partial must be named in the template, not by an expression".into(),
            )),
        }
    };
    for element in &template.elements {
        match element {
            TemplateElement::PartialExpression(d) | TemplateElement::PartialBlock(d) => {
                let name = name_of(&d.name)?;
                // `@partial-block` is the caller's own block, written in the caller: it calls
                // what that block calls, which is counted there.
                if name != "@partial-block" {
                    partials
                        .entry(caller.to_string())
                        .or_default()
                        .calls
                        .insert(name);
                }
                if let Some(block) = &d.template {
                    collect_calls(block, caller, written, partials, depth + 1)?;
                }
            }
            TemplateElement::DecoratorBlock(d) if d.name.as_name() == Some("inline") => {
                let name = d
                    .params
                    .first()
                    .map(name_of)
                    .transpose()?
                    .unwrap_or_default();
                let partial = partials.entry(name.clone()).or_default();
                if !partial.written_in.contains(&written) {
                    partial.written_in.push(written);
                }
                if let Some(block) = &d.template {
                    collect_calls(block, &name, written, partials, depth + 1)?;
                }
            }
            TemplateElement::DecoratorBlock(d) => {
                if let Some(block) = &d.template {
                    collect_calls(block, caller, written, partials, depth + 1)?;
                }
            }
            TemplateElement::HelperBlock(h) => {
                for block in [&h.template, &h.inverse].into_iter().flatten() {
                    collect_calls(block, caller, written, partials, depth + 1)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// An error at `len` bytes from byte `at` of the template `origin`, naming its file and line.
fn located(origin: &str, text: &str, at: usize, len: usize, message: String) -> Error {
    let at = at.min(text.len());
    let end = crate::diagnostic::floor_char_boundary(text, (at + len).min(text.len())).max(at);
    let (line, _) = crate::diagnostic::line_column(text, at);
    Error::located(
        Cause::Template {
            origin: origin.to_string(),
        },
        format!("{origin}:{line}: {message}"),
        origin,
        text,
        vec![Diagnostic::error(at..end, message)],
    )
}

/// Where `text` first calls a partial by anything but its name, for a message.
fn unnamed_partial_at(text: &str) -> Option<usize> {
    text.match_indices("{{").find_map(|(at, _)| {
        let rest = text[at + 2..].trim_start_matches('~').trim_start();
        let rest = rest.strip_prefix('#').unwrap_or(rest);
        let rest = rest.strip_prefix('>')?.trim_start();
        (!rest.starts_with(|c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '@' | '"')))
            .then_some(at)
    })
}

/// Where a block of `text` first opens deeper than `max` (counting `{{#` and `{{/`), for a
/// message.
fn block_deeper_than(text: &str, max: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (at, _) in text.match_indices("{{") {
        let rest = text[at + 2..].trim_start_matches('~').trim_start();
        if rest.starts_with('#') {
            depth += 1;
            if depth > max {
                return Some(at);
            }
        } else if rest.starts_with('/') {
            depth = depth.saturating_sub(1);
        }
    }
    None
}

/// Where `text` first calls the partial `name` (`{{> name`, `{{#> name`, with `~` and spaces
/// allowed), for a message.
fn partial_call_at(text: &str, name: &str) -> Option<usize> {
    text.match_indices("{{").find_map(|(at, _)| {
        let rest = text[at + 2..].trim_start_matches('~').trim_start();
        let rest = rest.strip_prefix('#').unwrap_or(rest);
        let rest = rest.strip_prefix('>')?.trim_start();
        let rest = rest
            .strip_prefix(name)
            .or_else(|| rest.strip_prefix(&format!("\"{name}\"")))?;
        rest.starts_with(|c: char| c.is_whitespace() || c == '}' || c == '~')
            .then_some(at)
    })
}

/// Refuses GitLab's `!reference` tag, which Grove does not resolve (the generated pipeline is
/// read back and checked, and a tag it cannot read would be refused there, at a line of the
/// output rather than of the template): at the template's line, saying what to write instead.
/// Comment lines may name it.
fn refuse_reference_tags(origin: &str, text: &str) -> Result<()> {
    let tag = "!reference";
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let comment = line.trim_start().starts_with('#');
        let found = line.match_indices(tag).find(|&(at, _)| {
            let before = line[..at].chars().next_back();
            let after = line[at + tag.len()..].chars().next();
            before.is_none_or(|c| c.is_whitespace() || matches!(c, '[' | ',' | '{'))
                && after.is_none_or(|c| c.is_whitespace() || c == '[')
        });
        if let (false, Some((at, _))) = (comment, found) {
            let message = "GitLab's !reference tag is not supported in pipeline templates: write the referenced lines out, or use `extends:`";
            return Err(located(
                origin,
                text,
                line_start + at,
                tag.len(),
                message.into(),
            ));
        }
        line_start += line.len();
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
        format!(
            "{origin}{}: the template does not compile: {message}",
            position
                .map(|(line, _)| format!(":{line}"))
                .unwrap_or_default()
        ),
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
