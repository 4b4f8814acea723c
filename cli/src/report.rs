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
        let mut report = Report::new(level)
            .with_message(message)
            .with_labels(vec![Label::primary((), start..end).with_message(&d.message)]);
        if let Some(hint) = &d.hint {
            report = report.with_notes(vec![format!("hint: {hint}")]);
        }
        let _ = term::emit(&mut writer.lock(), &config, &file, &report);
    }
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
