//! Why a command failed, and the exit code of SPEC.md that says so.

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
            Failure::External(message) => f.write_str(message),
        }
    }
}
