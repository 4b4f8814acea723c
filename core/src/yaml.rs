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

    #[test]
    fn errors_carry_an_offset() {
        let err = from_str::<serde_yaml::Value>("a: 1\nb: [\n").unwrap_err();
        assert!(err.offset.is_some());
        assert!(!err.message.contains(" at line "));
    }
}
