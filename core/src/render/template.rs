//! Pipeline templates: the embedded defaults, a cluster repository's overrides, and `{{patch}}`.
//!
//! Templates are handlebars. Every `{{value}}` is written through [`crate::yaml::quote`], so a
//! value always lands as one quoted YAML string; handlebars' HTML escaping never runs. Raw
//! output (`{{{...}}}`, `{{&...}}`) is refused in every template, embedded or overridden.
//! `{{plain x}}` writes `x` unquoted only when YAML reads it back as the same string (for the
//! job names and paths Grove makes), and quoted otherwise. Only `{{patch "NAME"}}` writes text
//! as it is: the cluster's own `PIPELINE_PATCHES`.
//!
//! Before anything renders, the templates are read once more as handlebars compiled them: no
//! partial may include itself, directly or through others (`{{> name}}`, `{{#> name}}` and
//! `{{#*inline "name"}}` form one graph, which must have no cycle), a partial's name is written
//! out, and every `{{patch}}` `indent=` is a number from 0 to [`MAX_INDENT`].

use crate::diagnostic::Diagnostic;
use crate::error::{Cause, Error, Result};
use crate::fleet::{Fleet, TEMPLATES_DIR, TEMPLATE_SUFFIX};
use crate::yaml;
use handlebars::template::{HelperTemplate, Parameter, TemplateElement};
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
                    let name = first_param(h, "patch")?;
                    let indent = match h.hash_get("indent").map(|v| v.value()) {
                        None => 0,
                        Some(value) => value
                            .as_u64()
                            .filter(|indent| *indent <= MAX_INDENT)
                            .ok_or_else(|| {
                                RenderErrorReason::Other(format!(
                                    "patch \"{name}\": indent={value} is not a number from 0 \
                                     to {MAX_INDENT}"
                                ))
                            })?,
                    };
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
                    let value = first_param(h, "plain")?;
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
        let mut includes = Vec::new();
        for (name, (origin, text)) in &sources {
            if let Some(template) = registry.get_template(name) {
                let mut reader = Reader {
                    origin,
                    text,
                    includes: &mut includes,
                };
                reader.read(template, name, 0)?;
            }
        }
        refuse_include_cycles(&includes, &sources)?;
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
/// The first parameter of the helper `helper`, rendered as text.
fn first_param(h: &Helper, helper: &'static str) -> std::result::Result<String, RenderErrorReason> {
    h.param(0)
        .map(|p| p.value().render())
        .ok_or(RenderErrorReason::ParamNotFoundForIndex(helper, 0))
}

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

/// An error at `len` bytes from byte `at` of the template `origin`, naming its file and line.
fn located_bytes(origin: &str, text: &str, at: usize, len: usize, message: String) -> Error {
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
            return Err(located_bytes(
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
fn patch_names(text: &str) -> impl Iterator<Item = String> + '_ {
    text.match_indices("{{").filter_map(move |(at, _)| {
        let rest = text[at + 2..].trim_start_matches('~').trim_start();
        let rest = rest.strip_prefix("patch")?.trim_start();
        let rest = rest.strip_prefix('"')?;
        rest.find('"').map(|end| rest[..end].to_string())
    })
}

/// A partial included by a template or an inline partial: `{{> to}}` or `{{#> to}}`.
#[derive(Debug)]
struct Include {
    /// The template or inline partial it is written in.
    from: String,
    /// The partial it includes.
    to: String,
    /// The template file it is written in, and its line and column there.
    origin: String,
    line: usize,
    column: usize,
}

/// Reads one compiled template: its includes, and the names and `indent=`s it must write out.
struct Reader<'a> {
    origin: &'a str,
    text: &'a str,
    includes: &'a mut Vec<Include>,
}

impl Reader<'_> {
    /// Reads `template`, which is written in the template or inline partial `within`, `depth`
    /// blocks deep: rendering recurses once a block, so blocks nested more than
    /// [`MAX_BLOCK_DEPTH`] deep are refused before the stack could overflow.
    fn read(&mut self, template: &handlebars::Template, within: &str, depth: usize) -> Result<()> {
        for (element, at) in template.elements.iter().zip(&template.mapping) {
            let position = (at.0, at.1);
            let opens_block = match element {
                TemplateElement::HelperBlock(_) | TemplateElement::DecoratorBlock(_) => true,
                TemplateElement::PartialBlock(partial) => partial.template.is_some(),
                _ => false,
            };
            if opens_block && depth >= MAX_BLOCK_DEPTH {
                let message = format!("blocks are nested more than {MAX_BLOCK_DEPTH} deep");
                return Err(self.refuse(position, &message));
            }
            match element {
                TemplateElement::Expression(helper)
                | TemplateElement::HtmlExpression(helper)
                | TemplateElement::HelperBlock(helper) => {
                    self.check_indent(helper, position)?;
                    for inner in helper.template.iter().chain(&helper.inverse) {
                        self.read(inner, within, depth + 1)?;
                    }
                }
                TemplateElement::DecoratorBlock(decorator) => {
                    let inner_name = match (decorator.name.as_name(), decorator.params.first()) {
                        (Some("inline"), Some(name)) => self.inline_name(name, position)?,
                        _ => within.to_string(),
                    };
                    if let Some(inner) = &decorator.template {
                        self.read(inner, &inner_name, depth + 1)?;
                    }
                }
                TemplateElement::PartialExpression(partial)
                | TemplateElement::PartialBlock(partial) => {
                    let to = self.partial_name(&partial.name, position)?;
                    // `{{> @partial-block}}` is the caller's block, read where it is written.
                    if !to.starts_with('@') {
                        self.includes.push(Include {
                            from: within.to_string(),
                            to,
                            origin: self.origin.to_string(),
                            line: position.0,
                            column: position.1,
                        });
                    }
                    if let Some(inner) = &partial.template {
                        self.read(inner, within, depth + 1)?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The name of a partial, `{{> name}}`: written out (handlebars would compute a
    /// `{{> (expression)}}`), so that its includes can be followed.
    fn partial_name(&self, name: &Parameter, position: (usize, usize)) -> Result<String> {
        match name {
            Parameter::Name(_) | Parameter::Path(_) => name.as_name().map(str::to_string),
            _ => None,
        }
        .ok_or_else(|| self.unnamed(position))
    }

    /// The name of an inline partial, `{{#*inline "name"}}`: a string (handlebars would look
    /// up `{{#*inline name}}` in the data).
    fn inline_name(&self, name: &Parameter, position: (usize, usize)) -> Result<String> {
        match name {
            Parameter::Literal(serde_json::Value::String(name)) => Ok(name.clone()),
            _ => Err(self.unnamed(position)),
        }
    }

    fn unnamed(&self, position: (usize, usize)) -> Error {
        self.refuse(
            position,
            "the name of a partial must be written out, so that Grove can check that no partial \
             includes itself",
        )
    }

    /// Refuses a `{{patch}}` whose `indent=` is not a number from 0 to [`MAX_INDENT`].
    fn check_indent(&self, helper: &HelperTemplate, position: (usize, usize)) -> Result<()> {
        if helper.name.as_name() != Some("patch") {
            return Ok(());
        }
        match helper.hash.get("indent") {
            None => Ok(()),
            Some(Parameter::Literal(indent))
                if indent.as_u64().is_some_and(|i| i <= MAX_INDENT) =>
            {
                Ok(())
            }
            Some(_) => Err(self.refuse(
                position,
                &format!("the indent= of a patch must be a number from 0 to {MAX_INDENT}"),
            )),
        }
    }

    /// An error at `position` (line and column, from 1) of this template.
    fn refuse(&self, position: (usize, usize), message: &str) -> Error {
        located(self.origin, self.text, message, position)
    }
}

/// Refuses a cycle of includes: a partial that includes itself, directly or through others,
/// would render until the stack overflows. An include is followed to every template and every
/// inline partial of its name, wherever defined, since an inline partial is seen by the
/// partials its template includes.
fn refuse_include_cycles(
    includes: &[Include],
    sources: &BTreeMap<String, (String, &str)>,
) -> Result<()> {
    let mut from: BTreeMap<&str, Vec<&Include>> = BTreeMap::new();
    for include in includes {
        from.entry(include.from.as_str()).or_default().push(include);
    }
    /// Depth first from `name`; the includes along the path so far are in `path`.
    fn visit<'a>(
        name: &'a str,
        from: &BTreeMap<&'a str, Vec<&'a Include>>,
        done: &mut BTreeSet<&'a str>,
        path: &mut Vec<&'a Include>,
    ) -> Option<Vec<&'a Include>> {
        for include in from.get(name).into_iter().flatten() {
            if let Some(start) = path.iter().position(|i| i.from == include.to) {
                let mut cycle = path[start..].to_vec();
                cycle.push(include);
                return Some(cycle);
            }
            if include.from == include.to {
                return Some(vec![include]);
            }
            if done.contains(include.to.as_str()) {
                continue;
            }
            path.push(include);
            if let Some(cycle) = visit(&include.to, from, done, path) {
                return Some(cycle);
            }
            path.pop();
        }
        done.insert(name);
        None
    }
    let mut done = BTreeSet::new();
    for name in from.keys() {
        if done.contains(name) {
            continue;
        }
        if let Some(mut cycle) = visit(name, &from, &mut done, &mut Vec::new()) {
            // Shown from the last include written in an override, if one is: the repository's
            // to fix (one only in embedded templates would be Grove's).
            let at = cycle
                .iter()
                .rposition(|i| i.origin != "embedded")
                .unwrap_or(cycle.len() - 1);
            cycle.rotate_left(at);
            let shown = cycle[0];
            let names: Vec<&str> = cycle
                .iter()
                .map(|i| i.from.as_str())
                .chain([shown.from.as_str()])
                .collect();
            let message = match cycle.len() {
                1 => format!(
                    "the partial \"{}\" includes itself, which never ends",
                    shown.to
                ),
                _ => format!(
                    "the partials include each other, which never ends: {}",
                    names.join(" → ")
                ),
            };
            let text = sources
                .values()
                .find(|(origin, _)| *origin == shown.origin)
                .map_or("", |(_, text)| text);
            return Err(located(
                &shown.origin,
                text,
                &message,
                (shown.line, shown.column),
            ));
        }
    }
    Ok(())
}

/// An error in template `origin` (whose text is `text`) at a line and column (from 1).
fn located(origin: &str, text: &str, message: &str, (line, column): (usize, usize)) -> Error {
    let offset = offset(text, (line, column));
    Error::located(
        Cause::Template {
            origin: origin.to_string(),
        },
        format!("{origin}:{line}: {message}"),
        origin,
        text,
        vec![Diagnostic::error(offset..offset, message.to_string())],
    )
}

/// The byte offset of a line and column (from 1) in `text`, at most its length.
fn offset(text: &str, (line, column): (usize, usize)) -> usize {
    let offset = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum::<usize>()
        + column.saturating_sub(1);
    offset.min(text.len())
}

fn template_error(
    origin: &str,
    text: &str,
    message: &str,
    position: Option<(usize, usize)>,
) -> Error {
    let offset = position.map_or(0, |position| offset(text, position));
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
