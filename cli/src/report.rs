//! Errors and warnings drawn for a person: the input, and carets under the offending bytes.

use crate::failure::Failure;
use codespan_reporting::diagnostic::{Diagnostic as Report, Label, Severity as Level};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, termcolor::ColorChoice, termcolor::StandardStream};
use grove_core::diagnostic::{floor_char_boundary, Severity};
use grove_core::Diagnostic;
use std::io::IsTerminal;

/// Colour on a terminal, never when `NO_COLOR` is set or stderr is not a terminal.
pub fn color_choice() -> ColorChoice {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if no_color || !std::io::stderr().is_terminal() {
        ColorChoice::Never
    } else {
        ColorChoice::Auto
    }
}

/// The longest line drawn whole under a diagnostic; a longer one is shown as an excerpt of
/// [`EXCERPT`] characters either side of the offending bytes.
const MAX_LINE: usize = 240;

/// How many characters of a long line an excerpt shows either side of the offending bytes.
const EXCERPT: usize = 40;

/// Draws diagnostics over `text` (called `name`) on stderr, under a headline.
pub fn diagnostics(name: &str, text: &str, headline: Option<&str>, diagnostics: &[Diagnostic]) {
    let file = SimpleFile::new(name, text);
    let writer = StandardStream::stderr(color_choice());
    let config = term::Config::default();
    for (i, d) in diagnostics.iter().enumerate() {
        let level = match d.severity {
            Severity::Error => Level::Error,
            Severity::Warning => Level::Warning,
        };
        let start = floor_char_boundary(text, d.start);
        let end = floor_char_boundary(text, d.end.max(start));
        let message = match (i, headline) {
            (0, Some(headline)) => headline.to_string(),
            _ => d.message.clone(),
        };
        let line_start = text[..start].rfind('\n').map_or(0, |n| n + 1);
        let line_end = text[end..].find('\n').map_or(text.len(), |n| end + n);
        if line_end - line_start > MAX_LINE {
            excerpt(name, text, start, end, &message, d);
            continue;
        }
        let mut report = Report::new(level)
            .with_message(message)
            .with_labels(vec![Label::primary((), start..end).with_message(&d.message)]);
        if let Some(hint) = &d.hint {
            report = report.with_notes(vec![format!("hint: {hint}")]);
        }
        let _ = term::emit(&mut writer.lock(), &config, &file, &report);
    }
}

/// Prints a diagnostic on a long line (a one-line file of a megabyte): where it is, and a short
/// excerpt of the line around the offending bytes, never the line.
fn excerpt(name: &str, text: &str, start: usize, end: usize, message: &str, d: &Diagnostic) {
    let level = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let (line, column) = grove_core::diagnostic::line_column(text, start);
    let line_start = text[..start].rfind('\n').map_or(0, |n| n + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |n| start + n);
    let before: Vec<char> = text[line_start..start]
        .chars()
        .rev()
        .take(EXCERPT)
        .collect();
    let marked: String = text[start..end.min(line_end)]
        .chars()
        .take(EXCERPT)
        .collect();
    let after: String = text[start + marked.len()..line_end]
        .chars()
        .take(EXCERPT)
        .collect();
    let head: String = before.iter().rev().collect();
    let clip = |shown: usize, whole: usize| if shown < whole { "…" } else { "" };
    let left = clip(head.len(), start - line_start);
    let right = clip(start + marked.len() + after.len(), line_end);
    let shown = |s: &str| {
        s.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
    };
    let mut out = format!(
        "{level}: {message}\n  ┌─ {name}:{line}:{column}\n  │ {left}{}{}{}{right}\n  │ {}{} {}\n",
        shown(&head),
        shown(&marked),
        shown(&after),
        " ".repeat(left.chars().count() + head.chars().count()),
        "^".repeat(marked.chars().count().max(1)),
        d.message
    );
    if let Some(hint) = &d.hint {
        out.push_str(&format!("  = hint: {hint}\n"));
    }
    eprint!("{out}");
}

/// Prints a failure on stderr: drawn over its source when it has one, else as one line.
pub fn failure(failure: &Failure) {
    if let Failure::Exit(_) = failure {
        return;
    }
    if let Failure::Core(e) = failure {
        if let Some(source) = &e.source {
            if !e.diagnostics.is_empty() {
                diagnostics(&source.name, &source.text, Some(&e.message), &e.diagnostics);
                return;
            }
        }
    }
    eprintln!("error: {failure}");
}
