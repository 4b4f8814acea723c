//! Running Tutor for one instance: its own venv's `tutor`, with `TUTOR_ROOT` set to its folder.

use crate::failure::Failure;
use crate::process;
use crate::venv;
use crate::Context;
use grove_core::name::InstanceName;
use std::ffi::OsString;
use std::process::Command;

/// The `tutor` of an instance's venv, ready to take arguments.
///
/// The venv is built first if it is missing (a cold CI cache), so every Tutor call works.
pub fn command(context: &Context, name: &InstanceName) -> Result<Command, Failure> {
    let dir = context.repository.absolute_instance_dir(name)?;
    let venv = venv::ensure(context, name)?;
    Ok(command_in(&dir, &venv))
}

/// `tutor` from the venv at `venv`, with `TUTOR_ROOT` set to `root`.
pub fn command_in(root: &std::path::Path, venv: &std::path::Path) -> Command {
    let bin = venv.join("bin");
    let mut command = Command::new(bin.join("tutor"));
    let mut path = OsString::from(&bin);
    if let Some(old) = std::env::var_os("PATH") {
        path.push(":");
        path.push(old);
    }
    command
        .env("TUTOR_ROOT", root)
        .env("VIRTUAL_ENV", venv)
        .env("PATH", path)
        .env_remove("PYTHONHOME")
        .current_dir(root);
    command
}

/// Runs `tutor ARGS...` for an instance, streaming its output.
pub fn run<I, S>(context: &Context, name: &InstanceName, args: I) -> Result<(), Failure>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = command(context, name)?;
    command.args(args);
    process::run(&context.ui, &mut command)
}

/// `grove tutor exec NAME "COMMAND"`: the string split by shell-word rules, run without a shell.
pub fn exec(context: &Context, name: &InstanceName, command: &str) -> Result<(), Failure> {
    let words = shell_words::split(command).map_err(|e| {
        Failure::Core(grove_core::Error::invalid(
            format!("cannot split the Tutor command: {e}"),
            "tutor command",
            command,
            vec![],
        ))
    })?;
    if words.is_empty() {
        return Err(Failure::Core(grove_core::Error::new(
            grove_core::ErrorKind::InvalidInput,
            "the Tutor command is empty",
        )));
    }
    run(context, name, &words)
}
