//! Running external programs: never through a shell, output streamed to the user, failures and
//! missing programs turned into clear errors (exit 1).

use crate::failure::Failure;
use std::ffi::OsStr;
use std::io::ErrorKind;
use std::process::{Command, Stdio};

/// How much `grove` itself says: `--quiet`, `--verbose`, or neither.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ui {
    /// Say nothing but errors.
    pub quiet: bool,
    /// Also show each command before it runs.
    pub verbose: bool,
}

impl Ui {
    /// A progress line on stderr, unless quiet.
    pub fn info(&self, message: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("grove: {}", message.as_ref());
        }
    }

    /// Shows a command line on stderr, when verbose.
    pub fn show(&self, command: &Command) {
        if self.verbose && !self.quiet {
            eprintln!("$ {}", command_line(command));
        }
    }
}

/// A command as a person would type it, for messages.
pub fn command_line(command: &Command) -> String {
    let quote = |s: &OsStr| {
        let s = s.to_string_lossy();
        if !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+%".contains(c))
        {
            s.into_owned()
        } else {
            format!("'{}'", s.replace('\'', r"'\''"))
        }
    };
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The error for a program that could not be started.
fn spawn_failure(command: &Command, error: std::io::Error) -> Failure {
    let program = command.get_program().to_string_lossy();
    if error.kind() == ErrorKind::NotFound {
        Failure::External(format!(
            "`{program}` was not found: install it or put it on PATH"
        ))
    } else {
        Failure::External(format!("cannot run `{program}`: {error}"))
    }
}

/// The error for a program that exited with a failure.
fn exit_failure(command: &Command, status: std::process::ExitStatus) -> Failure {
    let how = match status.code() {
        Some(code) => format!("exit code {code}"),
        None => "a signal".to_string(),
    };
    Failure::External(format!("`{}` failed with {how}", command_line(command)))
}

/// Runs a program with its output streamed to the user; fails (exit 1) unless it succeeds.
pub fn run(ui: &Ui, command: &mut Command) -> Result<(), Failure> {
    ui.show(command);
    if ui.quiet {
        command.stdout(Stdio::null());
    }
    let status = command.status().map_err(|e| spawn_failure(command, e))?;
    if status.success() {
        Ok(())
    } else {
        Err(exit_failure(command, status))
    }
}

/// [`run`] with `input` on the program's stdin (a manifest for `kubectl create -f -`).
pub fn run_with_input(ui: &Ui, command: &mut Command, input: &[u8]) -> Result<(), Failure> {
    use std::io::Write;
    ui.show(command);
    if ui.quiet {
        command.stdout(Stdio::null());
    }
    let mut child = command
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| spawn_failure(command, e))?;
    let written = child.stdin.take().map(|mut stdin| stdin.write_all(input));
    let status = child.wait().map_err(|e| spawn_failure(command, e))?;
    if !status.success() {
        return Err(exit_failure(command, status));
    }
    match written {
        // A program that succeeded without reading all of it (it closed its stdin) is taken
        // at its word.
        Some(Err(e)) if e.kind() != ErrorKind::BrokenPipe => Err(Failure::External(format!(
            "cannot write to `{}`: {e}",
            command_line(command)
        ))),
        _ => Ok(()),
    }
}

/// Runs a program and returns what it printed on stdout; its stderr goes to the user.
pub fn output(ui: &Ui, command: &mut Command) -> Result<String, Failure> {
    ui.show(command);
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| spawn_failure(command, e))?;
    if !output.status.success() {
        return Err(exit_failure(command, output.status));
    }
    String::from_utf8(output.stdout).map_err(|_| {
        Failure::External(format!(
            "`{}` printed something that is not UTF-8",
            command_line(command)
        ))
    })
}
