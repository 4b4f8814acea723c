//! Every use of serde_yaml, in one place.
//!
//! serde_yaml is archived upstream (0.9.34+deprecated). Nothing outside this module names it,
//! so a maintained fork can replace it here alone.

use serde::de::DeserializeOwned;

/// A YAML document that could not be read, with where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// What is wrong, without the position.
    pub message: String,
    /// Byte offset of the problem in the document, when known.
    pub offset: Option<usize>,
}

/// Reads one YAML document into `T`. An empty document (or only comments) reads as `T::default()`.
///
/// Anchors and aliases are expanded and `<<` merge keys applied, as GitLab does.
pub fn from_str<T: DeserializeOwned + Default>(text: &str) -> Result<T, YamlError> {
    if is_blank(text) {
        return Ok(T::default());
    }
    let mut value: serde_yaml::Value = read(text)?;
    value.apply_merge().map_err(convert)?;
    serde_yaml::from_value(value).map_err(convert)
}

/// Reads one YAML document into `T` directly, without merge keys: the fast path for configs.
pub fn from_str_plain<T: DeserializeOwned + Default>(text: &str) -> Result<T, YamlError> {
    if is_blank(text) {
        return Ok(T::default());
    }
    read(text)
}

/// Reads one document with serde_yaml. A byte-order mark at the start is skipped, as PyYAML
/// (and so Tutor) skips it: libyaml would count it as a column and refuse a `%YAML` directive
/// after it. Error offsets still count from the start of `text`.
fn read<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let skipped = text.len() - body.len();
    serde_yaml::from_str(body).map_err(|e| {
        let mut e = convert(e);
        e.offset = e.offset.map(|at| at + skipped);
        e
    })
}

/// A YAML document read whole into an opaque value that compares as YAML values compare: what
/// [`crate::state`] checks its composed Tutor configs with, entry by entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Document(serde_yaml::Value);

impl Document {
    /// Reads one document (an empty one is null), within the limits of settings files.
    pub fn parse(text: &str) -> Result<Document, YamlError> {
        check_settings_limits(text)?;
        if is_blank(text) {
            return Ok(Document(serde_yaml::Value::Null));
        }
        read(text).map(Document)
    }

    /// The entries of a mapping document whose keys are all strings, in order; `None` for any
    /// other document.
    pub fn entries(&self) -> Option<Vec<(String, Document)>> {
        match &self.0 {
            serde_yaml::Value::Mapping(map) => map
                .iter()
                .map(|(key, value)| Some((key.as_str()?.to_string(), Document(value.clone()))))
                .collect(),
            serde_yaml::Value::Null => Some(Vec::new()),
            _ => None,
        }
    }

    /// The value as text, when it is a string.
    pub fn as_str(&self) -> Option<&str> {
        self.0.as_str()
    }
}

/// The deepest nesting Grove reads in a settings file.
pub const MAX_DEPTH: usize = 100;
/// The largest settings file Grove reads, in bytes.
pub const MAX_SETTINGS_LEN: usize = 1 << 20;

/// Refuses what a settings file (`config.yml`, `grove.yml`) has no use for and could use to
/// exhaust memory or time: more than [`MAX_SETTINGS_LEN`] bytes, aliases (`*name`, the stuff of
/// "billion laughs" bombs), and nesting deeper than [`MAX_DEPTH`] levels.
///
/// The scan is lexical and linear: it follows quotes, comments, block scalars, flow brackets,
/// indentation and `- ` entries, which is all it needs to see aliases and depth.
pub fn check_settings_limits(text: &str) -> Result<(), YamlError> {
    if text.len() > MAX_SETTINGS_LEN {
        return Err(YamlError {
            message: format!(
                "the file is {} bytes; settings files are at most {MAX_SETTINGS_LEN}",
                text.len()
            ),
            offset: Some(MAX_SETTINGS_LEN),
        });
    }
    let too_deep = |offset: usize| YamlError {
        message: format!("nesting deeper than {MAX_DEPTH} levels"),
        offset: Some(offset),
    };
    let mut indents: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    let mut block_scalar: Option<usize> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let content = line.trim_end_matches(['\n', '\r']);
        let indent = content.len() - content.trim_start_matches(' ').len();
        let rest = &content[indent..];
        if let Some(parent) = block_scalar {
            if rest.is_empty() || indent > parent {
                continue;
            }
            block_scalar = None;
        }
        if rest.is_empty() || rest.starts_with('#') {
            continue;
        }
        if flow == 0 {
            while indents.last().is_some_and(|&top| top > indent) {
                indents.pop();
            }
            if indents.last().is_none_or(|&top| top < indent) {
                indents.push(indent);
            }
        }
        let bytes = rest.as_bytes();
        let mut dashes = 0;
        let mut at_node_start = true;
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            match c {
                b'\'' | b'"' => {
                    // Skip the quoted scalar (to the end of the line if it goes on).
                    let quote = c;
                    i += 1;
                    while i < bytes.len() && bytes[i] != quote {
                        if quote == b'"' && bytes[i] == b'\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                    at_node_start = false;
                }
                b'#' if i == 0 || bytes[i - 1] == b' ' => break,
                b'*' if at_node_start => {
                    return Err(YamlError {
                        message: "YAML aliases (*name) are not allowed in settings files".into(),
                        offset: Some(start + indent + i),
                    });
                }
                b'-' if at_node_start
                    && bytes.get(i + 1).is_none_or(|&n| n == b' ')
                    && flow == 0 =>
                {
                    dashes += 1;
                }
                b'[' | b'{' if at_node_start || flow > 0 => {
                    flow += 1;
                    at_node_start = true;
                }
                b']' | b'}' => {
                    flow = flow.saturating_sub(1);
                    at_node_start = false;
                }
                b',' if flow > 0 => at_node_start = true,
                b':' if bytes.get(i + 1).is_none_or(|&n| n == b' ') => at_node_start = true,
                b'|' | b'>' if at_node_start && flow == 0 => {
                    block_scalar = Some(indent);
                    break;
                }
                b' ' | b'\t' => {}
                b'&' | b'!' if at_node_start => {
                    // An anchor or a tag: skip its name; the node follows.
                    while i + 1 < bytes.len() && bytes[i + 1] != b' ' {
                        i += 1;
                    }
                }
                _ => at_node_start = false,
            }
            if indents.len() + dashes + flow > MAX_DEPTH {
                return Err(too_deep(start + indent + i));
            }
            i += 1;
        }
    }
    Ok(())
}

/// Reads the block-style YAML that Grove's pipeline templates write, without serde_yaml: the
/// fast path of reading a generated pipeline back. It takes only a strict subset — block
/// mappings with plain keys, block sequences of scalars, plain scalars of printable ASCII that
/// are surely strings (or exactly `true` or `false`, or a decimal integer without sign or leading
/// zero), double-quoted scalars with the escapes [`quote`] writes, `[]`, `{}` and one-line flow
/// mappings of such scalars, full-line comments — and gives `None` for anything else (anchors,
/// aliases, tags, merge keys, block scalars, multi-line scalars, other escapes, trailing
/// comments, tabs, CR, a document marker, a duplicate key, ...); the caller then reads the text
/// with [`from_str`]. Where it gives a document it is the one [`from_str`] gives: the tests of
/// `pipeline` check it on a corpus.
pub fn from_str_simple(text: &str) -> Option<serde_json::Value> {
    simple::parse(text)
}

/// Where `: ` (which ends a plain YAML key) first is in `text`.
fn find_colon_space(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(at) = bytes[from..].iter().position(|&b| b == b':') {
        let at = from + at;
        if bytes.get(at + 1) == Some(&b' ') {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

mod simple {
    use super::find_colon_space;
    use serde_json::{Map, Value};

    struct Line<'a> {
        indent: usize,
        content: &'a str,
    }

    pub fn parse(text: &str) -> Option<Value> {
        if text.bytes().any(|b| b == b'\r' || b == b'\t') {
            return None;
        }
        let mut lines = Vec::new();
        for line in text.split('\n') {
            let content = line.trim_start_matches(' ');
            if content.trim_end_matches(' ').is_empty() || content.starts_with('#') {
                continue;
            }
            lines.push(Line {
                indent: line.len() - content.len(),
                content: content.trim_end_matches(' '),
            });
        }
        if lines.first()?.indent != 0 {
            return None;
        }
        let mut at = 0;
        let node = block(&lines, &mut at, 0)?;
        (at == lines.len()).then_some(node)
    }

    /// The block node whose lines start at `lines[*at]`, at `indent`.
    fn block(lines: &[Line], at: &mut usize, indent: usize) -> Option<Value> {
        let first = lines.get(*at)?;
        if first.indent != indent {
            return None;
        }
        if first.content == "-" || first.content.starts_with("- ") {
            let mut items = Vec::new();
            while let Some(line) = lines.get(*at).filter(|l| l.indent == indent) {
                let item = line.content.strip_prefix("- ")?;
                items.push(inline(item.trim_start_matches(' '))?);
                *at += 1;
            }
            return Some(Value::Array(items));
        }
        let mut entries = Map::new();
        while let Some(line) = lines.get(*at).filter(|l| l.indent == indent) {
            let (key, rest) = match find_colon_space(line.content) {
                Some(colon) => (&line.content[..colon], &line.content[colon + 2..]),
                None => (line.content.strip_suffix(':')?, ""),
            };
            if !is_key(key) {
                return None;
            }
            *at += 1;
            let rest = rest.trim_start_matches(' ');
            let value = if !rest.is_empty() {
                inline(rest)?
            } else {
                match lines.get(*at) {
                    Some(next) if next.indent > indent => block(lines, at, next.indent)?,
                    Some(next) if next.indent == indent && next.content.starts_with('-') => {
                        return None
                    }
                    _ => Value::Null,
                }
            };
            // A duplicate key is an error of serde_yaml's, which the caller reports.
            if entries.insert(key.to_string(), value).is_some() {
                return None;
            }
        }
        if lines.get(*at).is_some_and(|l| l.indent > indent) {
            return None;
        }
        Some(Value::Object(entries))
    }

    /// A plain key: `[A-Za-z_.][A-Za-z0-9_.:/-]*`, not ending with `:`, not a word or a
    /// special float YAML could read as something else.
    fn is_key(key: &str) -> bool {
        let bytes = key.as_bytes();
        !bytes.is_empty()
            && (bytes[0].is_ascii_alphabetic() || matches!(bytes[0], b'_' | b'.'))
            && bytes.iter().all(|&b| {
                b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'/' | b'-')
            })
            && !key.ends_with(':')
            && !super::is_reserved_word(key)
            && !(bytes[0] == b'.' && bytes.get(1).is_some_and(|b| b"iInN".contains(b)))
    }

    /// A node on one line: a scalar, `[]`, `{}` or a flow mapping of scalars.
    fn inline(text: &str) -> Option<Value> {
        match text {
            "[]" => return Some(Value::Array(Vec::new())),
            "{}" => return Some(Value::Object(Map::new())),
            _ => {}
        }
        if let Some(inner) = text.strip_prefix('{') {
            return flow_mapping(inner);
        }
        let (node, rest) = scalar(text, false)?;
        rest.is_empty().then_some(node)
    }

    /// `{key: value, ...}` after the `{`.
    fn flow_mapping(mut text: &str) -> Option<Value> {
        let mut entries = Map::new();
        loop {
            text = text.trim_start_matches(' ');
            let colon = find_colon_space(text)?;
            let key = &text[..colon];
            if !is_key(key) {
                return None;
            }
            let (value, rest) = scalar(text[colon + 2..].trim_start_matches(' '), true)?;
            if entries.insert(key.to_string(), value).is_some() {
                return None;
            }
            let rest = rest.trim_start_matches(' ');
            if let Some(rest) = rest.strip_prefix(", ") {
                text = rest;
            } else {
                let rest = rest.strip_prefix('}')?;
                return rest.is_empty().then_some(Value::Object(entries));
            }
        }
    }

    /// A scalar at the start of `text`, and what follows it. In a flow mapping, a plain scalar
    /// ends at `,` or `}`.
    fn scalar(text: &str, in_flow: bool) -> Option<(Value, &str)> {
        if let Some(quoted) = text.strip_prefix('"') {
            return double_quoted(quoted);
        }
        let end = if in_flow {
            text.bytes()
                .position(|b| matches!(b, b',' | b'}' | b'[' | b']' | b'{'))
                .unwrap_or(text.len())
        } else {
            text.len()
        };
        let plain = text[..end].trim_end_matches(' ');
        Some((plain_scalar(plain)?, &text[end..]))
    }

    fn plain_scalar(text: &str) -> Option<Value> {
        let bytes = text.as_bytes();
        let first = *bytes.first()?;
        if b"-?:,[]{}#&*!|>'\"%@`~".contains(&first)
            || !bytes
                .iter()
                .all(|&b| (0x20..0x7f).contains(&b) && b != b'#')
            || find_colon_space(text).is_some()
            || text.ends_with(':')
        {
            return None;
        }
        match text {
            "true" => return Some(Value::Bool(true)),
            "false" => return Some(Value::Bool(false)),
            _ if super::is_reserved_word(text) => return None,
            _ => {}
        }
        // A decimal integer in its one canonical form (`retry: 1` of a patch) is a number;
        // any other number (signs, leading zeros, `_`, `0x`, floats, ...) goes to serde_yaml.
        if is_canonical_integer(text) {
            return text.parse::<u64>().ok().map(|n| Value::Number(n.into()));
        }
        // Numbers start with a digit, a sign or a dot, and never hold a space.
        if (first.is_ascii_digit() || matches!(first, b'+' | b'.')) && !text.contains(' ') {
            return None;
        }
        Some(Value::String(text.to_string()))
    }

    /// `0`, or a digit from 1 to 9 and at most 17 more digits (always within `u64`).
    fn is_canonical_integer(text: &str) -> bool {
        let bytes = text.as_bytes();
        match bytes {
            [b'0'] => true,
            [b'1'..=b'9', rest @ ..] => rest.len() <= 17 && rest.iter().all(u8::is_ascii_digit),
            _ => false,
        }
    }

    /// A double-quoted scalar after its `"`, with the escapes [`super::quote`] writes.
    fn double_quoted(text: &str) -> Option<(Value, &str)> {
        // Most values are printable ASCII without an escape: copied whole.
        for (i, &b) in text.as_bytes().iter().enumerate() {
            match b {
                b'"' => return Some((Value::String(text[..i].to_string()), &text[i + 1..])),
                b'\\' | 0x80.. => break,
                0x00..0x20 | 0x7f => return None,
                _ => {}
            }
        }
        let mut out = String::new();
        let mut chars = text.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return Some((Value::String(out), &text[i + 1..])),
                '\\' => match chars.next()?.1 {
                    '"' => out.push('"'),
                    '\\' => out.push('\\'),
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'u' => {
                        let hex: String = (0..4)
                            .filter_map(|_| chars.next().map(|(_, c)| c))
                            .collect();
                        if hex.len() != 4 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                            return None;
                        }
                        out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                    }
                    _ => return None,
                },
                c if (c as u32) < 0x20
                    || c == '\u{7f}'
                    || ('\u{80}'..='\u{9f}').contains(&c)
                    || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') =>
                {
                    return None
                }
                c => out.push(c),
            }
        }
        None
    }
}

/// Reads a settings file that is trivially simple — nothing but empty lines, comments at the
/// start of a line, and `KEY: value` lines with a plain key and a plain one-line scalar of
/// harmless characters — as its `(key, value)` pairs, in order. Anything else (quotes, flow or
/// block collections, block scalars, anchors, tags, indentation, tabs, CR, non-ASCII, a value
/// that YAML could read as null, a boolean or a number, a key YAML could read as other than a
/// string, a file over [`MAX_SETTINGS_LEN`]) gives `None`, and the caller reads the file with
/// serde_yaml instead. Values that look like booleans are still returned (`true`, `false`); the
/// caller decides what each key may hold.
///
/// This is the fast path of reading `config.yml` and `grove.yml` of thousands of instances; the
/// tests of `fleet` check it against serde_yaml on a corpus of tricky inputs.
pub fn simple_mapping(text: &str) -> Option<Vec<(&str, &str)>> {
    if text.len() > MAX_SETTINGS_LEN || !text.is_ascii() {
        return None;
    }
    let mut pairs = Vec::new();
    for line in text.split('\n') {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, rest) = line.split_once(':')?;
        let value = rest.strip_prefix(' ')?.trim_matches(' ');
        if !is_simple_key(key) || !is_simple_value(value) {
            return None;
        }
        pairs.push((key, value));
    }
    Some(pairs)
}

/// Words that YAML (1.1 or 1.2) may read as something other than a string.
fn is_reserved_word(text: &str) -> bool {
    text.len() <= 5
        && ["y", "n", "yes", "no", "on", "off", "true", "false", "null"]
            .iter()
            .any(|word| text.eq_ignore_ascii_case(word))
}

/// `[A-Za-z_][A-Za-z0-9_]*`, at most 128 characters, and no reserved word.
fn is_simple_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && (bytes[0].is_ascii_alphabetic() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_')
        && !is_reserved_word(key)
}

/// A plain scalar that reads back as itself: it starts with a letter, a digit, `/` or `_`, holds
/// only letters, digits, spaces and `._/:+@=-`, has no `: ` and does not end with `:`.
fn is_simple_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'/' || bytes[0] == b'_')
        && bytes.iter().all(|&b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b' ' | b'.' | b'_' | b'/' | b':' | b'+' | b'@' | b'=' | b'-'
                )
        })
        && find_colon_space(value).is_none()
        && !value.ends_with(':')
}

/// Whether a simple value (see [`simple_mapping`]) is read by YAML as a string: not a reserved
/// word, and not starting with a digit (which could make it a number).
pub fn is_simple_string(value: &str) -> bool {
    !is_reserved_word(value) && !value.as_bytes()[0].is_ascii_digit()
}

/// Whether a document holds nothing but blanks and comments.
fn is_blank(text: &str) -> bool {
    text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#') || line == "---"
    })
}

fn convert(e: serde_yaml::Error) -> YamlError {
    let offset = e.location().map(|l| l.index());
    let mut message = e.to_string();
    // serde_yaml appends " at line L column C"; positions are reported separately.
    if let Some(at) = message.find(" at line ") {
        message.truncate(at);
    }
    YamlError { message, offset }
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

/// Whether `text` reads back as itself, a string, when written unquoted as a key or value.
fn is_plain_safe(text: &str) -> bool {
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-' | ':'))
        && !text.ends_with(':')
        && !is_reserved_word(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_text_reads_back_unchanged() {
        for text in [
            "plain",
            "",
            "a: b",
            "x\"\n- job:\n  script: [rm -rf /]",
            "$CI_JOB_TOKEN ${X} $$",
            "tab\there\r\u{0}\u{7f}\u{85}\u{2028}\u{2029}\u{feff}é😀",
            "{{ not a template }}",
            "&anchor *alias !tag %directive @ ` |",
        ] {
            let quoted = quote(text);
            assert!(!quoted[1..quoted.len() - 1].contains('\n'));
            let back: String = serde_yaml::from_str(&quoted).unwrap();
            assert_eq!(back, text);
        }
    }

    #[test]
    fn plain_scalars_read_back_unchanged() {
        for (text, plain) in [
            ("deploy:campus", true),
            ("instances/campus/.venv/", true),
            ("venv-campus-0123", true),
            ("yes", false),
            ("Off", false),
            ("a: b", false),
            ("a:", false),
            ("1a", false),
            ("-a", false),
            ("a*", false),
            ("", false),
        ] {
            let written = plain_or_quoted(text);
            assert_eq!(written == text, plain, "{text:?}");
            let back: String = serde_yaml::from_str(&written).unwrap();
            assert_eq!(back, text);
            let map: std::collections::BTreeMap<String, String> =
                serde_yaml::from_str(&format!("{written}: x")).unwrap();
            assert_eq!(map.keys().next().map(String::as_str), Some(text));
        }
    }

    /// Checks the settings limits: `Ok` or the start of the error message.
    fn check_limits(text: &str, expected: Result<(), &str>) {
        let got = check_settings_limits(text);
        match (&got, expected) {
            (Ok(()), Ok(())) => {}
            (Err(e), Err(message)) => {
                assert!(e.message.starts_with(message), "{text:?}: {}", e.message)
            }
            _ => panic!("{text:?}: got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn settings_limits() {
        check_limits("A: 1\nB: [x, y]\nC: {d: e}\n", Ok(()));
        check_limits("A: \"*not an alias\"\nB: 'x *y'\nC: a*b # *c\n", Ok(()));
        check_limits("A: &anchor x\nB: |\n  *literal\n  - text\n", Ok(()));
        check_limits("A: &a [1]\nB: *a\n", Err("YAML aliases"));
        check_limits("A: [*a]\n", Err("YAML aliases"));
        check_limits("- *a\n", Err("YAML aliases"));
        let deep_flow = format!("x: {}{}\n", "[".repeat(101), "]".repeat(101));
        check_limits(&deep_flow, Err("nesting deeper than 100"));
        let ok_flow = format!("x: {}{}\n", "[".repeat(99), "]".repeat(99));
        check_limits(&ok_flow, Ok(()));
        let deep_block: String = (0..101)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        check_limits(&deep_block, Err("nesting deeper than 100"));
        let deep_dashes = format!("{}x\n", "- ".repeat(101));
        check_limits(&deep_dashes, Err("nesting deeper than 100"));
        check_limits(&"a".repeat(MAX_SETTINGS_LEN + 1), Err("the file is"));
    }

    #[test]
    fn errors_carry_an_offset() {
        let err = from_str::<serde_yaml::Value>("a: 1\nb: [\n").unwrap_err();
        assert!(err.offset.is_some());
        assert!(!err.message.contains(" at line "));
    }
}
