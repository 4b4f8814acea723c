//! Errors as data: why something failed ([`Cause`]), a one-line message, and diagnostics over
//! the input they point into. The exit code of each cause is decided here, once.

use crate::diagnostic::Diagnostic;
use serde::Serialize;
use std::fmt;

/// Why core refused or failed, with what the caller needs to act on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "cause", rename_all = "kebab-case")]
pub enum Cause {
    /// A commit title that does not parse (exit 5).
    Title,
    /// A webhook payload that cannot be read (exit 5).
    Payload,
    /// A file of the cluster repository (settings, an instance's config) that is malformed or
    /// says something Grove cannot do; `key` is the setting when one is at fault (exit 5).
    File {
        /// The file, relative to the repository's root.
        path: String,
        /// The setting at fault, as `KEY` or `KEY.sub`, when there is one.
        key: Option<String>,
    },
    /// A pipeline template (embedded or overridden) or a `PIPELINE_PATCHES` text that does not
    /// compile, render or give a pipeline GitLab would take (exit 5).
    Template {
        /// The template's file (`embedded` templates are Grove's own), or `PIPELINE_PATCHES`.
        origin: String,
    },
    /// A pipeline that cannot be made to fit GitLab's limits (`LIMITS` of `grove.yml`) (exit 5).
    Limits,
    /// A value given on the command line or in a request that is not valid, such as an
    /// instance name (exit 5).
    Value {
        /// What the value is, in words: `instance name`, `version`, ...
        what: String,
    },
    /// An instance named by the input is not in `instances/` (exit 3).
    NoSuchInstance,
    /// Something that was to be created already exists (exit 4).
    AlreadyExists,
    /// Grove's own pipeline, from its own templates and no patch, failed its own checks: a bug
    /// in Grove, not in the input (exit 70, `EX_SOFTWARE` of `sysexits.h`).
    Internal,
}

impl Cause {
    /// The process exit code for this cause: 3 no such instance, 4 already exists, 5 invalid
    /// input, 70 a bug in Grove.
    pub fn exit_code(&self) -> u8 {
        match self {
            Cause::NoSuchInstance => 3,
            Cause::AlreadyExists => 4,
            Cause::Internal => 70,
            Cause::Title
            | Cause::Payload
            | Cause::File { .. }
            | Cause::Template { .. }
            | Cause::Limits
            | Cause::Value { .. } => 5,
        }
    }

    /// The stable name of the cause's kind: `no-such-instance`, `already-exists`, `internal`,
    /// or `invalid-input` for the causes of exit 5.
    pub fn kind(&self) -> &'static str {
        match self {
            Cause::NoSuchInstance => "no-such-instance",
            Cause::AlreadyExists => "already-exists",
            Cause::Internal => "internal",
            _ => "invalid-input",
        }
    }

    /// A bad file, pointing at nothing in particular.
    pub fn file(path: impl Into<String>) -> Cause {
        Cause::File {
            path: path.into(),
            key: None,
        }
    }

    /// A bad setting of a file.
    pub fn setting(path: impl Into<String>, key: impl Into<String>) -> Cause {
        Cause::File {
            path: path.into(),
            key: Some(key.into()),
        }
    }
}

/// The input an error points into: its name (`commit title`, a file path) and its full text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// What the input is called in messages: a path relative to the root, or `commit title`.
    pub name: String,
    /// The whole text, so that diagnostics can be drawn over it (the CLI shows a short
    /// excerpt around them, never the whole text).
    pub text: String,
}

/// An error from core: its cause, a one-line message, and the diagnostics over its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// Why it failed.
    pub cause: Cause,
    /// One line that says what failed.
    pub message: String,
    /// The input the diagnostics point into, if there is one.
    pub source: Option<Box<Source>>,
    /// The details, with byte ranges into `source`.
    pub diagnostics: Vec<Diagnostic>,
}

impl Error {
    /// An error with no source text.
    pub fn new(cause: Cause, message: impl Into<String>) -> Self {
        Error {
            cause,
            message: message.into(),
            source: None,
            diagnostics: Vec::new(),
        }
    }

    /// An error with diagnostics over `text`, the input called `name`.
    pub fn located(
        cause: Cause,
        message: impl Into<String>,
        name: impl Into<String>,
        text: impl Into<String>,
        diagnostics: Vec<Diagnostic>,
    ) -> Self {
        Error {
            cause,
            message: message.into(),
            source: Some(Box::new(Source {
                name: name.into(),
                text: text.into(),
            })),
            diagnostics,
        }
    }

    /// The process exit code ([`Cause::exit_code`]).
    pub fn exit_code(&self) -> u8 {
        self.cause.exit_code()
    }

    /// The line and column (from 1) of the first diagnostic in its source, if there is one.
    pub fn line_column(&self) -> Option<(usize, usize)> {
        let source = self.source.as_ref()?;
        let first = self.diagnostics.first()?;
        Some(crate::diagnostic::line_column(&source.text, first.start))
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
