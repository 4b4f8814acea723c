//! Rendering many instance chains fast: one handlebars render per *shape* of instance, then
//! plain substitution of each instance's values.
//!
//! Two instances have the same shape when their template data differ only in the text of
//! non-empty strings. The embedded `instance` templates never look inside a string (no string
//! comparison, no helper but `plain` and the YAML escape), so the output for a shape is the
//! same text with each value written where its placeholder was. A shape is rendered once with
//! placeholders (`zzgrove<N>zz`, which `plain` writes bare and the escape writes quoted), and
//! each instance is then written by substituting `quote(value)` or `plain_or_quoted(value)`.
//!
//! Nothing here is trusted blindly: the first instance of every shape is also rendered by
//! handlebars and must match byte for byte, and the root template must place the chains
//! exactly where `{{#each instances}}` would; otherwise the caller renders the usual way.
//! Overridden instance templates are always rendered the usual way.

use crate::yaml;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// A piece of a shape's text.
enum Piece {
    /// Template text.
    Text(String),
    /// The Nth string value, written as a quoted YAML string.
    Quoted(usize),
    /// The Nth string value, written by the `plain` helper.
    Plain(usize),
}

/// One shape: its text with placeholders, cut into pieces.
struct Shape {
    pieces: Vec<Piece>,
}

/// The placeholder for the Nth string value.
fn placeholder(n: usize) -> String {
    format!("zzgrove{n}zz")
}

/// The shape key of instance data, and its non-empty strings in order.
fn shape_of(value: &Value) -> (String, Vec<&str>) {
    fn walk<'a>(value: &'a Value, key: &mut String, strings: &mut Vec<&'a str>) {
        match value {
            Value::String(s) if !s.is_empty() => {
                key.push('S');
                strings.push(s);
            }
            Value::Array(items) => {
                key.push('[');
                for item in items {
                    walk(item, key, strings);
                    key.push(',');
                }
                key.push(']');
            }
            Value::Object(map) => {
                key.push('{');
                for (k, v) in map {
                    key.push_str(k);
                    key.push(':');
                    walk(v, key, strings);
                    key.push(',');
                }
                key.push('}');
            }
            other => key.push_str(&other.to_string()),
        }
    }
    let (mut key, mut strings) = (String::new(), Vec::new());
    walk(value, &mut key, &mut strings);
    (key, strings)
}

/// The instance data with every non-empty string replaced by its placeholder.
fn with_placeholders(value: &Value, next: &mut usize) -> Value {
    match value {
        Value::String(s) if !s.is_empty() => {
            *next += 1;
            Value::String(placeholder(*next - 1))
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| with_placeholders(v, next)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), with_placeholders(v, next)))
                .collect::<Map<_, _>>(),
        ),
        other => other.clone(),
    }
}

impl Shape {
    /// Cuts rendered text with placeholders into pieces; `None` if a placeholder appears in a
    /// form this module does not know (then the shape is not used).
    fn new(text: &str, count: usize) -> Option<Shape> {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(at) = rest.find("zzgrove") {
            let quoted = at > 0 && rest.as_bytes()[at - 1] == b'"';
            let digits: String = rest[at + 7..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            let n: usize = digits.parse().ok()?;
            let end = at + 7 + digits.len();
            if !rest[end..].starts_with("zz") || n >= count {
                return None;
            }
            let end = end + 2;
            if quoted {
                if !rest[end..].starts_with('"') {
                    return None;
                }
                pieces.push(Piece::Text(rest[..at - 1].to_string()));
                pieces.push(Piece::Quoted(n));
                rest = &rest[end + 1..];
            } else {
                pieces.push(Piece::Text(rest[..at].to_string()));
                pieces.push(Piece::Plain(n));
                rest = &rest[end..];
            }
        }
        pieces.push(Piece::Text(rest.to_string()));
        Some(Shape { pieces })
    }

    /// Writes one instance's chain.
    fn write(&self, strings: &[&str], out: &mut String) {
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Quoted(n) => yaml::quote_into(out, strings[*n]),
                Piece::Plain(n) => yaml::plain_or_quoted_into(out, strings[*n]),
            }
        }
    }
}

/// Renders the template `root` with its `instances` written shape by shape.
///
/// `render(name, data)` renders a template with handlebars. Returns `None` when the fast way
/// does not apply or does not reproduce handlebars exactly; the caller then renders as usual.
pub fn render<E>(
    root_name: &str,
    context: &Value,
    mut render: impl FnMut(&str, &Value) -> Result<String, E>,
) -> Result<Option<String>, E> {
    let Some(Value::Array(instances)) = context.get("instances") else {
        return Ok(None);
    };
    let Value::Object(top) = context else {
        return Ok(None);
    };
    if instances.len() < 2 {
        return Ok(None);
    }
    // Where the chains go: the root with no instance, and with the first one only.
    let mut root: Map<String, Value> = top
        .iter()
        .filter(|(k, _)| k.as_str() != "instances")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    root.insert("instances".into(), Value::Array(Vec::new()));
    let empty = render(root_name, &Value::Object(root.clone()))?;
    root.insert("instances".into(), Value::Array(vec![instances[0].clone()]));
    let one = render(root_name, &Value::Object(root))?;
    let first = render("instance", &instances[0])?;
    if one.len() != empty.len() + first.len() {
        return Ok(None);
    }
    let common = one
        .bytes()
        .zip(empty.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    let Some(at) = (common.saturating_sub(first.len())..=common)
        .rev()
        .find(|&k| {
            empty.is_char_boundary(k)
                && one.get(..k) == empty.get(..k)
                && one.get(k..k + first.len()) == Some(first.as_str())
                && one.get(k + first.len()..) == empty.get(k..)
        })
    else {
        return Ok(None);
    };
    let mut shapes: HashMap<String, Shape> = HashMap::new();
    let mut out = String::with_capacity(empty.len() + first.len() * instances.len());
    out.push_str(&empty[..at]);
    for instance in instances {
        let (key, strings) = shape_of(instance);
        if !shapes.contains_key(&key) {
            let mut count = 0;
            let data = with_placeholders(instance, &mut count);
            let Some(shape) = Shape::new(&render("instance", &data)?, count) else {
                return Ok(None);
            };
            let mut written = String::new();
            shape.write(&strings, &mut written);
            if written != render("instance", instance)? {
                return Ok(None);
            }
            shapes.insert(key.clone(), shape);
        }
        shapes[&key].write(&strings, &mut out);
    }
    out.push_str(&empty[at..]);
    Ok(Some(out))
}
