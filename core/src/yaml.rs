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
    let mut value: serde_yaml::Value = serde_yaml::from_str(text).map_err(convert)?;
    value.apply_merge().map_err(convert)?;
    serde_yaml::from_value(value).map_err(convert)
}

/// Reads one YAML document into `T` directly, without merge keys: the fast path for configs.
pub fn from_str_plain<T: DeserializeOwned + Default>(text: &str) -> Result<T, YamlError> {
    if is_blank(text) {
        return Ok(T::default());
    }
    serde_yaml::from_str(text).map_err(convert)
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
    out
}

/// Writes `text` as a plain (unquoted) YAML scalar when that reads back as the same string,
/// and quoted otherwise. Used for names Grove makes itself, to keep the YAML readable.
pub fn plain_or_quoted(text: &str) -> String {
    if is_plain_safe(text) {
        text.to_string()
    } else {
        quote(text)
    }
}

/// Whether `text` reads back as itself, a string, when written unquoted as a key or value.
fn is_plain_safe(text: &str) -> bool {
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let reserved = ["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    (first.is_ascii_alphabetic() || first == '_')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-' | ':'))
        && !text.ends_with(':')
        && !reserved.iter().any(|r| text.eq_ignore_ascii_case(r))
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
