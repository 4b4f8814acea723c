//! The one error type of core, and the exit code each kind of error maps to.

use crate::diagnostic::Diagnostic;
use std::fmt;

/// What went wrong, as far as a caller needs to decide what to do (and which exit code to use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// An instance named by the input is not in `instances/` (exit 3).
    NoSuchInstance,
    /// Something that was to be created already exists (exit 4).
    AlreadyExists,
    /// A commit title, config file, payload or template is malformed (exit 5).
    InvalidInput,
}

impl ErrorKind {
    /// The process exit code of SPEC.md for this kind of error.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::NoSuchInstance => 3,
            ErrorKind::AlreadyExists => 4,
            ErrorKind::InvalidInput => 5,
        }
    }
}

/// The input an error points into: its name (`commit title`, a file path) and its full text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// What the input is called in messages: a path relative to the root, or `commit title`.
    pub name: String,
    /// The whole text, so that diagnostics can be drawn over it.
    pub text: String,
}

/// An error from core: a kind, a one-line message, and the diagnostics over its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// What kind of failure this is.
    pub kind: ErrorKind,
    /// One line that says what failed.
    pub message: String,
    /// The input the diagnostics point into, if there is one.
    pub source: Option<Source>,
    /// The details, with byte ranges into `source`.
    pub diagnostics: Vec<Diagnostic>,
}

impl Error {
    /// An error with no source text.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            source: None,
            diagnostics: Vec::new(),
        }
    }

    /// Invalid input in `name`, with diagnostics over `text`.
    pub fn invalid(
        message: impl Into<String>,
        name: impl Into<String>,
        text: impl Into<String>,
        diagnostics: Vec<Diagnostic>,
    ) -> Self {
        Error {
            kind: ErrorKind::InvalidInput,
            message: message.into(),
            source: Some(Source {
                name: name.into(),
                text: text.into(),
            }),
            diagnostics,
        }
    }

    /// The same error pointing into `name`/`text`.
    pub fn with_source(mut self, name: impl Into<String>, text: impl Into<String>) -> Self {
        self.source = Some(Source {
            name: name.into(),
            text: text.into(),
        });
        self
    }

    /// The same error with one more diagnostic.
    pub fn with_diagnostic(mut self, diagnostic: Diagnostic) -> Self {
        self.diagnostics.push(diagnostic);
        self
    }

    /// The process exit code of SPEC.md.
    pub fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }
}

/// Writes the message, then each diagnostic as `name:line:column: message (hint)`.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        for d in &self.diagnostics {
            match &self.source {
                Some(source) => {
                    let (line, column) = crate::diagnostic::line_column(&source.text, d.start);
                    write!(f, "\n{}:{line}:{column}: {}", source.name, d.message)?;
                }
                None => write!(f, "\n{}", d.message)?,
            }
            if let Some(hint) = &d.hint {
                write!(f, " (hint: {hint})")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// Core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
