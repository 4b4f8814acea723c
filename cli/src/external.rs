//! External subcommands: `grove foo ARGS` runs `grove-foo ARGS` from PATH with the cluster
//! root in `GROVE_ROOT`, the way git and cargo take plugins.

use crate::failure::Failure;
use crate::Context;
use std::ffi::OsString;
use std::process::Command;

/// Runs `grove-NAME` with the remaining arguments; grove exits with its exit code.
pub fn run(context: &Context, args: &[OsString]) -> Result<(), Failure> {
    let name = args.first().and_then(|a| a.to_str()).unwrap_or_default();
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-');
    if !valid {
        return Err(Failure::Usage(format!("unknown command {name:?}")));
    }
    let program = format!("grove-{name}");
    let mut command = Command::new(&program);
    command
        .args(&args[1..])
        .env("GROVE_ROOT", context.repository.absolute_root()?);
    context.ui.show(&command);
    match command.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(Failure::Exit(
            status.code().map_or(1, |c| c.clamp(1, 255) as u8),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Failure::Usage(format!(
            "unknown command {name:?} (no grove-{name} on PATH); see grove --help"
        ))),
        Err(e) => Err(Failure::External(format!("cannot run {program}: {e}"))),
    }
}
