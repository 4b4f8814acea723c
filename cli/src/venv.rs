//! Each instance's own Python virtual environment, `instances/NAME/.venv`, built from its
//! `grove-requirements.txt` (seed 001).

use crate::failure::Failure;
use crate::Context;
use grove_core::name::InstanceName;
use std::path::PathBuf;

/// `grove venv update`: creates or updates each venv; does nothing when the requirements'
/// hash is unchanged.
pub fn update(_context: &Context, _names: &[InstanceName]) -> Result<(), Failure> {
    Err(Failure::External(
        "grove venv update is not implemented yet".into(),
    ))
}

/// `grove venv reset`: builds a new venv beside the old one and swaps only on success.
pub fn reset(_context: &Context, _names: &[InstanceName]) -> Result<(), Failure> {
    Err(Failure::External(
        "grove venv reset is not implemented yet".into(),
    ))
}

/// `grove venv activate`: starts `$SHELL` with the venv active and `TUTOR_ROOT` set.
pub fn activate(_context: &Context, _name: &InstanceName) -> Result<(), Failure> {
    Err(Failure::External(
        "grove venv activate is not implemented yet".into(),
    ))
}

/// The instance's venv, built first if it is missing or stale; returns its folder.
pub fn ensure(context: &Context, name: &InstanceName) -> Result<PathBuf, Failure> {
    Ok(context
        .repository
        .absolute_instance_dir(name)?
        .join(".venv"))
}

/// The Tutor root and venv that base images are built with: `.grove/base/`, its venv built
/// from `defaults/grove-requirements.txt`.
pub fn ensure_base(context: &Context) -> Result<(PathBuf, PathBuf), Failure> {
    let root = context.repository.absolute_root()?.join(".grove/base");
    Ok((root.clone(), root.join(".venv")))
}
