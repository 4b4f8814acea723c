//! Why a command failed, and the exit code that says so (the table of README.md; core's
//! causes map to theirs in `grove_core::Cause::exit_code`).

use grove_core::Error;
use std::fmt;
use std::path::Path;

/// A failed command.
#[derive(Debug)]
pub enum Failure {
    /// Core refused the input (exit 3, 4 or 5).
    Core(Error),
    /// The file system, an external program or the network failed (exit 1).
    External(String),
    /// The command line is wrong (exit 2).
    Usage(String),
    /// An external subcommand failed with this exit code, and said why itself.
    Exit(u8),
}

impl Failure {
    /// An I/O error on `path`.
    pub fn io(action: &str, path: &Path, error: std::io::Error) -> Failure {
        Failure::External(format!("cannot {action} {}: {error}", path.display()))
    }

    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Core(e) => e.exit_code(),
            Failure::External(_) => 1,
            Failure::Usage(_) => 2,
            Failure::Exit(code) => *code,
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Core(e)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Core(e) => write!(f, "{e}"),
            Failure::External(message) | Failure::Usage(message) => f.write_str(message),
            Failure::Exit(code) => write!(f, "exit code {code}"),
        }
    }
}
