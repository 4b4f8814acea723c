//! What an operator runs by hand in an instance's Tutor root: `grove tutor exec` and
//! `grove venv activate`. Both work on the Tutor root [`state::open`] lays out, with the
//! instance's venv ([`crate::venv::ensure`]), and push what they changed in the config or
//! `env/` to the store.
//!
//! They sit above [`state`], [`tutor`] and [`crate::venv`], which never use them: the
//! modules' `use` arrows go one way (`by_hand` → `state` → `tutor` → `venv`).

use crate::failure::Failure;
use crate::{state, tutor, Context};
use grove_core::name::InstanceName;
use std::ffi::OsString;
use std::io::ErrorKind as IoKind;
use std::process::Command;

/// `grove tutor exec NAME "COMMAND"`: the string split by shell-word rules, run without a shell,
/// in the instance's Tutor root; what it changes in the config or `env/` is pushed to the store.
pub fn exec(context: &Context, name: &InstanceName, command: &str) -> Result<(), Failure> {
    let words = shell_words::split(command).map_err(|e| {
        Failure::Core(grove_core::Error::located(
            grove_core::Cause::Value {
                what: "Tutor command".into(),
            },
            format!("cannot split the Tutor command: {e}"),
            "tutor command",
            command,
            vec![],
        ))
    })?;
    if words.is_empty() {
        return Err(Failure::Core(grove_core::Error::new(
            grove_core::Cause::Value {
                what: "Tutor command".into(),
            },
            "the Tutor command is empty",
        )));
    }
    let root = state::open(context, name)?;
    root.run(context, &words)?;
    root.push_changes(context)
}

/// `grove venv activate`: starts `$SHELL` (or `/bin/sh`) with the venv active and
/// `TUTOR_ROOT` set to the instance's Tutor root; when the shell exits, what it changed in the
/// config or `env/` is pushed to the store, and grove exits with the shell's exit code.
///
/// The user's shell is the program the user asked for, not a way to run a command string.
pub fn activate(context: &Context, name: &InstanceName) -> Result<(), Failure> {
    let venv = crate::venv::ensure(context, name)?;
    let tutor_root = state::open(context, name)?;
    let root = tutor_root.dir.clone();
    let shell = std::env::var_os("SHELL")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| OsString::from("/bin/sh"));
    let mut command = Command::new(&shell);
    tutor::set_environment(&mut command, &root, &venv.dir);
    context.ui.info(format!(
        "starting {} with {} active and TUTOR_ROOT={}; exit the shell to return",
        shell.to_string_lossy(),
        venv.display,
        root.display()
    ));
    context.ui.show(&command);
    let status = command.status();
    if status.is_ok() {
        tutor_root.push_changes(context)?;
    }
    match status {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(Failure::Exit(
            status.code().map_or(1, |c| c.clamp(1, 255) as u8),
        )),
        Err(e) if e.kind() == IoKind::NotFound => Err(Failure::External(format!(
            "the shell `{}` was not found: set SHELL to an installed shell",
            shell.to_string_lossy()
        ))),
        Err(e) => Err(Failure::External(format!(
            "cannot start the shell `{}`: {e}",
            shell.to_string_lossy()
        ))),
    }
}
