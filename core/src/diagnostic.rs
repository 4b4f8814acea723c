//! Diagnostics: a message about a byte range of some input, with an optional hint.
//!
//! Parsers in core return their value together with a list of diagnostics instead of
//! failing on the first problem. The CLI draws them with carets; the web page underlines them.

use serde::Serialize;
use std::ops::Range;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The input cannot be used.
    Error,
    /// The input is used, but probably not as its author meant.
    Warning,
}

/// A message about the bytes `start..end` of an input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Whether this stops the input from being used.
    pub severity: Severity,
    /// What is wrong, in one sentence.
    pub message: String,
    /// First byte of the offending part.
    pub start: usize,
    /// One past the last byte of the offending part (equal to `start` for a point).
    pub end: usize,
    /// How to fix it, when we know.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// An error about `range`.
    pub fn error(range: Range<usize>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            start: range.start,
            end: range.end,
            hint: None,
        }
    }

    /// A warning about `range`.
    pub fn warning(range: Range<usize>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(range, message)
        }
    }

    /// The same diagnostic with a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The same diagnostic moved `offset` bytes to the right.
    fn shifted(mut self, offset: usize) -> Self {
        self.start += offset;
        self.end += offset;
        self
    }

    /// The byte range this diagnostic is about.
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Why a piece of text is not a valid value, and which of its bytes are at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// What is wrong.
    pub message: String,
    /// The offending bytes, relative to the start of the piece of text.
    pub range: Range<usize>,
    /// How to fix it.
    pub hint: String,
}

impl Invalid {
    /// A problem with `range` of a value.
    pub fn new(range: Range<usize>, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Invalid {
            message: message.into(),
            range,
            hint: hint.into(),
        }
    }

    /// An error diagnostic for a value that starts `offset` bytes into a larger input.
    pub fn at(self, offset: usize) -> Diagnostic {
        Diagnostic::error(self.range, self.message)
            .with_hint(self.hint)
            .shifted(offset)
    }
}

/// A parsed value together with everything noticed while parsing it.
///
/// `value` is `None` exactly when at least one diagnostic is an error.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed<T> {
    /// The value, unless the input had errors.
    pub value: Option<T>,
    /// Errors and warnings, in input order.
    pub diagnostics: Vec<Diagnostic>,
}

impl<T> Parsed<T> {
    /// A value with the warnings found on the way; drops the value if any diagnostic is an error.
    pub fn new(value: T, diagnostics: Vec<Diagnostic>) -> Self {
        let value = if diagnostics.iter().any(Diagnostic::is_error) {
            None
        } else {
            Some(value)
        };
        Parsed { value, diagnostics }
    }

    /// A failure with the given errors.
    pub fn failed(diagnostics: Vec<Diagnostic>) -> Self {
        debug_assert!(diagnostics.iter().any(Diagnostic::is_error));
        Parsed {
            value: None,
            diagnostics,
        }
    }
}

/// Converts a byte offset into a 1-based line and column (in characters).
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit_once('\n')
        .map_or(before, |(_, last)| last)
        .chars()
        .count()
        + 1;
    (line, column)
}

/// The largest char boundary at or below `offset`.
pub fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_from_one() {
        let text = "a: 1\nbé: 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 5), (2, 1));
        assert_eq!(line_column(text, 8), (2, 3));
        assert_eq!(line_column(text, 100), (3, 1));
    }

    #[test]
    fn parsed_drops_value_on_error() {
        let ok = Parsed::new(1, vec![Diagnostic::warning(0..1, "w")]);
        assert_eq!(ok.value, Some(1));
        let bad = Parsed::new(1, vec![Diagnostic::error(0..1, "e")]);
        assert_eq!(bad.value, None);
    }
}
