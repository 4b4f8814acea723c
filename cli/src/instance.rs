//! Instance folders on disk: creating one from `defaults/`, whole or not at all.

use crate::failure::Failure;
use crate::repository::Repository;
use grove_core::fleet::{CONFIG_FILE, DEFAULTS_DIR, INSTANCES_DIR};
use grove_core::name::InstanceName;
use grove_core::{Error, ErrorKind};
use std::fs;
use std::io::ErrorKind as IoKind;
use std::path::Path;

/// Creates `instances/NAME/` as a copy of `defaults/`.
///
/// The copy is built in a hidden folder beside it and renamed into place, so the instance is
/// either there whole or not at all. Fails with exit 4 if the instance already exists.
pub fn create(repository: &Repository, name: &InstanceName) -> Result<(), Failure> {
    let target = repository.instance_dir(name);
    if target.join(CONFIG_FILE).exists() {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            format!(
                "instance \"{name}\" already exists: {INSTANCES_DIR}/{name}/{CONFIG_FILE} is there"
            ),
        )
        .into());
    }
    let defaults = repository.root.join(DEFAULTS_DIR);
    if !defaults.join(CONFIG_FILE).is_file() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("{DEFAULTS_DIR}/{CONFIG_FILE} is missing: `grove new` copies {DEFAULTS_DIR}/ into the new instance"),
        )
        .into());
    }
    let parent = repository.root.join(INSTANCES_DIR);
    fs::create_dir_all(&parent).map_err(|e| Failure::io("create", &parent, e))?;
    remove_leftovers(&parent, name);
    let staging = parent.join(format!(".{name}.new-{}", std::process::id()));
    let result = copy_tree(&defaults, &staging).and_then(|()| {
        sync_dir(&staging)?;
        fs::rename(&staging, &target)?;
        sync_dir(&parent)
    });
    match result {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            if matches!(e.kind(), IoKind::AlreadyExists | IoKind::DirectoryNotEmpty) {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!("{INSTANCES_DIR}/{name}/ already exists but holds no {CONFIG_FILE}; move it away first"),
                )
                .into());
            }
            Err(Failure::io("create", &target, e))
        }
    }
}

/// Removes staging folders that an interrupted `grove new NAME` left behind.
fn remove_leftovers(parent: &Path, name: &InstanceName) {
    let prefix = format!(".{name}.new-");
    if let Ok(entries) = fs::read_dir(parent) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// Copies a folder tree, leaving out Python venvs.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == ".venv" {
            continue;
        }
        let kind = entry.file_type()?;
        let (source, dest) = (entry.path(), to.join(&name));
        if kind.is_dir() {
            copy_tree(&source, &dest)?;
        } else if kind.is_file() {
            fs::copy(&source, &dest)?;
            fs::File::open(&dest)?.sync_all()?;
        }
    }
    Ok(())
}

/// Flushes a folder's entries to disk.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// `grove prepare`: create the instance from `defaults/` if it is missing, then render its
/// Tutor config in its venv, with Terraform's outputs when the infrastructure exists.
pub fn prepare(
    _context: &crate::Context,
    _name: &InstanceName,
    _edx_platform_version: Option<&str>,
) -> Result<(), Failure> {
    Err(Failure::External(
        "grove prepare is not implemented yet".into(),
    ))
}
