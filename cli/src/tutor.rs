//! Running Tutor for one instance: the `tutor` of the venv [`venv::ensure`] picks (its own, or
//! the shared one of its requirements), with `TUTOR_ROOT` set to its Tutor root (which the
//! `state` module lays out, and runs Tutor in through this one: this module uses `venv` alone).

use crate::failure::Failure;
use crate::venv;
use crate::Context;
use grove_core::fleet::{DEFAULTS_DIR, INSTANCES_DIR, REQUIREMENTS_FILE};
use grove_core::name::InstanceName;
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

/// The `tutor` of an instance's venv, ready to take arguments, in the Tutor root `dir`.
///
/// The venv is built first when neither the instance's own venv nor the shared one of its
/// requirements is current (a cold CI cache), so every Tutor call works. A venv without `tutor` (requirements that do not list it) is a clear error.
pub fn command(context: &Context, name: &InstanceName, dir: &Path) -> Result<Command, Failure> {
    let venv = venv::ensure(context, name)?.dir;
    if !venv.join("bin/tutor").exists() {
        return Err(Failure::Core(grove_core::Error::new(
            grove_core::Cause::file(format!("{INSTANCES_DIR}/{name}/{REQUIREMENTS_FILE}")),
            format!(
                "the venv of \"{name}\" has no `tutor`: list tutor in {INSTANCES_DIR}/{name}/{REQUIREMENTS_FILE} \
                 (or {DEFAULTS_DIR}/{REQUIREMENTS_FILE}), then run `grove venv update {name}`"
            ),
        )));
    }
    Ok(command_in(dir, &venv))
}

/// `tutor` from the venv at `venv`, with `TUTOR_ROOT` set to `root`.
pub fn command_in(root: &Path, venv: &Path) -> Command {
    let mut command = Command::new(venv.join("bin/tutor"));
    set_environment(&mut command, root, venv);
    command.current_dir(root);
    command
}

/// Sets what an active venv and Tutor need: `VIRTUAL_ENV`, the venv's `bin` first on `PATH`,
/// `TUTOR_ROOT`; and removes `PYTHONHOME`, which would point Python elsewhere.
pub fn set_environment(command: &mut Command, root: &Path, venv: &Path) {
    let bin = venv.join("bin");
    let mut path = OsString::from(&bin);
    if let Some(old) = std::env::var_os("PATH").filter(|p| !p.is_empty()) {
        path.push(":");
        path.push(old);
    }
    command
        .env("TUTOR_ROOT", root)
        .env("VIRTUAL_ENV", venv)
        .env("PATH", path)
        .env_remove("PYTHONHOME");
}

/// The `KEY=VALUE` argument of `tutor config save --set` that sets `key` to the text `value`.
///
/// Tutor reads the value as YAML, so text that YAML would read as something else (`a: b`,
/// `[x]`, `~`, `#...`, an empty string) is written as a quoted string. Numbers and `true` or
/// `false` are left bare, so that they stay numbers and booleans.
pub fn setting(key: &str, value: &str) -> String {
    let plain_number = !value.is_empty()
        && value.parse::<f64>().is_ok()
        && value
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
    if plain_number || value == "true" || value == "false" {
        format!("{key}={value}")
    } else {
        let quoted = serde_json::Value::String(value.to_string()).to_string();
        format!("{key}={quoted}")
    }
}
