//! YAML, read and written: the one reader of every file Grove reads (settings, instance
//! configs, Tutor's saved configs, pipelines read back) and the writing of values.
//!
//! The reader is Grove's own ([`parse`]): it keeps its limits while it reads (the size of the
//! text, the depth of nesting, and what aliases may copy, or for settings no alias at all),
//! points every problem at its line and column, resolves scalars as YAML 1.1 does, as PyYAML
//! (Tutor) and Psych (GitLab) do, and refuses, with the place, what it does not read rather
//! than read it otherwise. Typed settings are read from the [`Node`] it gives through serde
//! ([`from_node`]), every error pointing at the node that caused it.
//!
//! It replaced serde_yaml (archived upstream), which kept none of these limits while reading,
//! read YAML 1.2 where Tutor and GitLab read 1.1, and took 20 µs per small config; see
//! ARCHITECTURE.md. serde_yaml remains in the tests, as one of the readers this one is
//! compared with.

mod de;
mod parse;
mod resolve;

use std::fmt;
use std::ops::Range;

/// The largest settings file Grove reads, in bytes.
pub const MAX_SETTINGS_LEN: usize = 1 << 20;
/// The deepest nesting Grove reads.
const MAX_DEPTH: usize = 100;

/// A YAML text that could not be read, with where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// What is wrong, without the position.
    pub message: String,
    /// Byte offset of the problem in the text, when known.
    pub offset: Option<usize>,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// What a text may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes.
    pub max_len: usize,
    /// The deepest nesting of collections.
    pub max_depth: usize,
    /// Whether aliases are read (their copies counted against a budget), or refused.
    pub aliases: bool,
}

impl Limits {
    /// Settings files and configs: at most 1 MiB, 100 levels, no alias.
    pub const SETTINGS: Limits = Limits {
        max_len: MAX_SETTINGS_LEN,
        max_depth: MAX_DEPTH,
        aliases: false,
    };

    /// Pipelines (Grove's own output, with a cluster's overrides and patches, which may use
    /// anchors and aliases as GitLab allows): 100 levels, aliases copying at most a few times
    /// the text's size.
    pub const PIPELINE: Limits = Limits {
        max_len: usize::MAX,
        max_depth: MAX_DEPTH,
        aliases: true,
    };

    /// How many nodes aliases may copy in a text of `len` bytes.
    fn alias_budget(&self, len: usize) -> usize {
        if self.aliases {
            len.saturating_mul(4).saturating_add(10_000)
        } else {
            0
        }
    }
}

/// A value read from YAML.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~`, or nothing.
    Null,
    /// `true`, `yes`, `on`, ... and their opposites.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A number with a fraction, `.inf` or `.nan`.
    Float(f64),
    /// Text.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order.
    Map(Vec<(Node, Node)>),
}

/// A node: its value, where it is in the text, and its tag if it has one Grove keeps.
#[derive(Debug, Clone)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// The bytes of the text it was read from.
    pub span: Range<usize>,
    /// A tag the reader does not resolve itself (such as GitLab's `!reference`).
    pub tag: Option<String>,
}

/// Nodes are equal when their values (and tags) are, wherever they are.
impl PartialEq for Node {
    fn eq(&self, other: &Node) -> bool {
        self.value == other.value && self.tag == other.tag
    }
}

impl Node {
    fn new(value: Value, span: Range<usize>) -> Node {
        Node {
            value,
            span,
            tag: None,
        }
    }

    /// How many nodes this one is, itself included.
    fn size(&self) -> usize {
        1 + match &self.value {
            Value::Seq(items) => items.iter().map(Node::size).sum(),
            Value::Map(entries) => entries.iter().map(|(k, v)| k.size() + v.size()).sum(),
            _ => 0,
        }
    }

    /// The entries of a mapping, in order; `None` for any other node (an empty document is an
    /// empty mapping).
    pub fn entries(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            Value::Null => Some(&[]),
            _ => None,
        }
    }

    /// The value of the entry whose key is the text `key`, in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// The keys that lead to byte `at` of the text, joined with `.` (`LIMITS.jobs_per_pipeline`;
    /// the items of a sequence add nothing), when `at` is in an entry of a mapping.
    pub fn key_path_at(&self, at: usize) -> Option<String> {
        let mut path: Vec<&str> = Vec::new();
        let mut node = self;
        'down: loop {
            match &node.value {
                Value::Map(entries) => {
                    for (key, value) in entries {
                        let in_key = key.span.contains(&at);
                        if in_key || value.span.contains(&at) || value.span.start == at {
                            path.push(key.as_str().unwrap_or("?"));
                            if in_key {
                                break 'down;
                            }
                            node = value;
                            continue 'down;
                        }
                    }
                    break;
                }
                Value::Seq(items) => match items.iter().find(|i| i.span.contains(&at)) {
                    Some(item) => node = item,
                    None => break,
                },
                _ => break,
            }
        }
        (!path.is_empty()).then(|| path.join("."))
    }

    /// The text, when the node is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The node as JSON: mappings need text keys; a tag, `.inf` or `.nan` is refused.
    pub fn to_json(&self) -> Result<serde_json::Value, YamlError> {
        let fail = |message: String| YamlError {
            message,
            offset: Some(self.span.start),
        };
        if let Some(tag) = &self.tag {
            return Err(fail(format!(
                "the tag {tag} is not supported here{}",
                if tag == "!reference" {
                    ": write the referenced lines out, or use `extends:`"
                } else {
                    ""
                }
            )));
        }
        Ok(match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(n) => serde_json::Value::from(*n),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .ok_or_else(|| fail(format!("{f} is not a number JSON can hold")))?,
            Value::Str(s) => serde_json::Value::String(s.clone()),
            Value::Seq(items) => {
                serde_json::Value::Array(items.iter().map(Node::to_json).collect::<Result<_, _>>()?)
            }
            Value::Map(entries) => {
                let mut map = serde_json::Map::with_capacity(entries.len());
                for (key, value) in entries {
                    let Some(key) = key.as_str() else {
                        return Err(YamlError {
                            message: format!("this key is {}, not text", key.describe()),
                            offset: Some(key.span.start),
                        });
                    };
                    map.insert(key.to_string(), value.to_json()?);
                }
                serde_json::Value::Object(map)
            }
        })
    }

    /// What the node is, for messages: `the integer 1`, `a mapping`, ... (never long text).
    pub fn describe(&self) -> String {
        match &self.value {
            Value::Null => "null".into(),
            Value::Bool(b) => format!("the boolean {b}"),
            Value::Int(n) => format!("the integer {n}"),
            Value::Float(f) => format!("the number {f}"),
            Value::Str(_) => "a string".into(),
            Value::Seq(_) => "a sequence".into(),
            Value::Map(_) => "a mapping".into(),
        }
    }
}

impl Value {
    /// A text that is equal for equal keys, for finding duplicates.
    fn identity(&self) -> String {
        match self {
            Value::Null => "~".into(),
            Value::Bool(b) => format!("b{b}"),
            Value::Int(n) => format!("i{n}"),
            Value::Float(f) => format!("f{}", f.to_bits()),
            Value::Str(s) => format!("s{s}"),
            Value::Seq(items) => format!("[{}]", items.len()),
            Value::Map(entries) => format!("{{{}}}", entries.len()),
        }
    }
}

/// The line (from 1) of byte `at` of `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Applies a tag to a node: the standard ones convert or check it (as PyYAML's safe loader
/// does), `!` makes text, and any other is kept on the node for its reader to decide.
fn apply_tag(mut node: Node, tag: &str) -> Result<Node, String> {
    let standard = tag
        .strip_prefix("!!")
        .or_else(|| tag.strip_prefix("tag:yaml.org,2002:"));
    let text = |node: &Node| match &node.value {
        Value::Str(s) => Some(s.clone()),
        Value::Null => Some(String::new()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Int(n) => Some(n.to_string()),
        Value::Float(f) => Some(f.to_string()),
        _ => None,
    };
    let fail = |what: &str| format!("this value is not {what}, as its tag {tag} says");
    match (standard, tag) {
        (Some("str"), _) | (None, "!") => {
            node.value = Value::Str(text(&node).ok_or_else(|| fail("text"))?);
        }
        (Some("int"), _) => {
            let n = text(&node).and_then(|t| resolve::int(&t));
            node.value = Value::Int(n.ok_or_else(|| fail("an integer"))?);
        }
        (Some("float"), _) => {
            let t = text(&node).ok_or_else(|| fail("a number"))?;
            let f = resolve::float(&t).or_else(|| resolve::int(&t).map(|n| n as f64));
            node.value = Value::Float(f.ok_or_else(|| fail("a number"))?);
        }
        (Some("bool"), _) => {
            let t = text(&node)
                .ok_or_else(|| fail("a boolean"))?
                .to_ascii_lowercase();
            node.value = match t.as_str() {
                "yes" | "true" | "on" => Value::Bool(true),
                "no" | "false" | "off" => Value::Bool(false),
                _ => return Err(fail("a boolean")),
            };
        }
        (Some("null"), _) => {
            text(&node).ok_or_else(|| fail("null"))?;
            node.value = Value::Null;
        }
        (Some("map"), _) => {
            if node.entries().is_none() {
                return Err(fail("a mapping"));
            }
        }
        (Some("seq"), _) => {
            if !matches!(node.value, Value::Seq(_)) {
                return Err(fail("a sequence"));
            }
        }
        (Some(other), _) => return Err(format!("the tag !!{other} is not supported")),
        (None, _) => node.tag = Some(tag.to_string()),
    }
    Ok(node)
}

/// Applies the merge keys (`<<`) of a mapping, as YAML 1.1 (PyYAML, GitLab) does: the entries
/// of the merged mapping (or mappings, the first winning) that the mapping does not set itself.
fn merge(mut node: Node) -> Result<Node, (String, usize)> {
    let Value::Map(entries) = &mut node.value else {
        return Ok(node);
    };
    if !entries.iter().any(|(k, _)| is_merge_key(k)) {
        return Ok(node);
    }
    let mut own = Vec::new();
    let mut merged: Vec<(Node, Node)> = Vec::new();
    let mut merged_keys = std::collections::HashSet::new();
    for (key, value) in std::mem::take(entries) {
        if !is_merge_key(&key) {
            own.push((key, value));
            continue;
        }
        let sources = match value.value {
            Value::Map(entries) => vec![entries],
            Value::Seq(items) => {
                let mut all = Vec::new();
                for item in items {
                    match item.value {
                        Value::Map(entries) => all.push(entries),
                        _ => {
                            return Err((
                                "a merge key (<<) takes mappings only".into(),
                                item.span.start,
                            ))
                        }
                    }
                }
                all
            }
            _ => {
                return Err((
                    "a merge key (<<) takes a mapping or a list of mappings".into(),
                    value.span.start,
                ))
            }
        };
        for source in sources {
            for (k, v) in source {
                if merged_keys.insert(k.value.identity()) {
                    merged.push((k, v));
                }
            }
        }
    }
    let own_keys: std::collections::HashSet<String> =
        own.iter().map(|(k, _)| k.value.identity()).collect();
    for (key, value) in merged {
        if !own_keys.contains(&key.value.identity()) {
            own.push((key, value));
        }
    }
    *entries = own;
    Ok(node)
}

fn is_merge_key(key: &Node) -> bool {
    key.tag.is_none() && key.as_str() == Some("<<") && !key.span.is_empty()
}

/// Reads one YAML document within `limits`. An empty document (or only comments) is null.
pub fn parse(text: &str, limits: &Limits) -> Result<Node, YamlError> {
    if text.len() > limits.max_len {
        return Err(YamlError {
            message: format!(
                "the file is {} bytes; the limit is {}",
                text.len(),
                limits.max_len
            ),
            offset: Some(limits.max_len.min(text.len())),
        });
    }
    parse::Parser::new(text, limits).document()
}

/// Reads `T` from a node, each error pointing at the node that caused it.
pub fn from_node<T: serde::de::DeserializeOwned>(node: &Node) -> Result<T, YamlError> {
    T::deserialize(de::NodeDeserializer(node)).map_err(|e| YamlError {
        message: e.message,
        offset: Some(e.span.map_or(node.span.start, |s| s.start)),
    })
}

/// Reads `T` from a text within `limits`.
pub fn from_str<T: serde::de::DeserializeOwned>(
    text: &str,
    limits: &Limits,
) -> Result<T, YamlError> {
    from_node(&parse(text, limits)?)
}

/// Reads `T` from a settings text (see [`Limits::SETTINGS`]); an empty text reads as
/// `T`'s defaults where `T` takes them.
pub fn from_settings<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    from_str(text, &Limits::SETTINGS)
}

/// Quotes `text` as a YAML double-quoted scalar that reads back as exactly `text`.
///
/// Everything that is not printable ASCII or plain Unicode is escaped, including line breaks
/// of every kind (so no value can start a new line of YAML) and the byte-order mark.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    quote_into(&mut out, text);
    out
}

/// [`quote`], written at the end of `out`.
pub fn quote_into(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20
                || c == '\u{7f}'
                || ('\u{80}'..='\u{9f}').contains(&c)
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') =>
            {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes `text` as a plain (unquoted) YAML scalar when that reads back as the same string,
/// and quoted otherwise. Used for names Grove makes itself, to keep the YAML readable.
pub fn plain_or_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    plain_or_quoted_into(&mut out, text);
    out
}

/// [`plain_or_quoted`], written at the end of `out`.
pub fn plain_or_quoted_into(out: &mut String, text: &str) {
    if is_plain_safe(text) {
        out.push_str(text);
    } else {
        quote_into(out, text);
    }
}

/// Whether `text` reads back as itself, a string, when written unquoted as a key or value:
/// it starts with a letter or `_`, holds letters, digits and `_./-:` only, does not end with
/// `:`, and is no word YAML 1.1 reads as something else.
fn is_plain_safe(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-' | ':'))
        && !text.ends_with(':')
        && matches!(resolve::plain(text), Value::Str(_))
}

#[cfg(test)]
mod tests;
