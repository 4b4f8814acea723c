//! The local side of a sync: `env/` replaced whole by renames, the old one kept beside it
//! until the push has succeeded, and put back if anything fails.
//!
//! ```text
//! instances/NAME/env/                     what Tutor reads and writes
//! instances/NAME/env-overrides/           laid over it
//! instances/NAME/.env-sync/staging/       the pulled copy, built here first
//! instances/NAME/.env-sync/before/        the env/ this sync replaced, until it ends
//! instances/NAME/.env-sync/no-env-before  there was no env/ before this sync
//! ```

use super::manifest::Snapshot;
use crate::failure::Failure;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// The folders of one instance that a sync works with.
pub struct SyncFolders {
    /// `env/`.
    pub env: PathBuf,
    /// `env-overrides/`.
    pub overrides: PathBuf,
    /// `.env-sync/`, which exists only while a sync runs (or after one was interrupted).
    work: PathBuf,
    /// `.env-sync/staging/`: the new `env/`, before it is renamed into place.
    pub staging: PathBuf,
    /// `.env-sync/before/`: the replaced `env/`.
    before: PathBuf,
    /// `.env-sync/no-env-before`: there was no `env/` to keep.
    no_env_before: PathBuf,
}

impl SyncFolders {
    /// The folders of the instance at `instance_dir`.
    pub fn new(instance_dir: &Path) -> SyncFolders {
        let work = instance_dir.join(".env-sync");
        SyncFolders {
            env: instance_dir.join("env"),
            overrides: instance_dir.join("env-overrides"),
            staging: work.join("staging"),
            before: work.join("before"),
            no_env_before: work.join("no-env-before"),
            work,
        }
    }

    /// Undoes what an interrupted sync left; tells whether `env/` was put back.
    pub fn recover(&self) -> Result<bool, Failure> {
        if !self.work.exists() {
            return Ok(false);
        }
        let swapped = self.before.exists() || self.no_env_before.exists();
        if swapped {
            self.roll_back()?;
        } else {
            remove_dir(&self.work)?;
        }
        Ok(swapped)
    }

    /// An empty staging folder.
    pub fn clear_staging(&self) -> Result<(), Failure> {
        remove_dir(&self.staging)?;
        fs::create_dir_all(&self.work).map_err(|e| Failure::io("create", &self.work, e))
    }

    /// Renames `env/` aside and the staging folder into its place.
    pub fn swap_in(&self) -> Result<(), Failure> {
        if self.env.exists() {
            rename(&self.env, &self.before)?;
        } else {
            fs::write(&self.no_env_before, b"")
                .map_err(|e| Failure::io("write", &self.no_env_before, e))?;
        }
        rename(&self.staging, &self.env)
    }

    /// Ends a successful sync: drops the replaced `env/`.
    ///
    /// First the markers that [`recover`](Self::recover) rolls back from go, each in one
    /// atomic step (`before/` renamed away, `no-env-before` removed): a sync killed while the
    /// replaced `env/` is being deleted must not leave a partial `before/` that the next sync
    /// would put back as `env/`.
    pub fn finish(&self) -> Result<(), Failure> {
        if self.before.exists() {
            let done = self.work.join("done");
            remove_dir(&done)?;
            rename(&self.before, &done)?;
        }
        match fs::remove_file(&self.no_env_before) {
            Err(e) if e.kind() != ErrorKind::NotFound => {
                return Err(Failure::io("remove", &self.no_env_before, e))
            }
            _ => {}
        }
        remove_dir(&self.work)
    }

    /// Ends a failed sync: puts the replaced `env/` back (or removes `env/` if there was none).
    pub fn roll_back(&self) -> Result<(), Failure> {
        if self.before.exists() || self.no_env_before.exists() {
            if self.env.exists() {
                let failed = self.work.join("failed");
                remove_dir(&failed)?;
                rename(&self.env, &failed)?;
            }
            if self.before.exists() {
                rename(&self.before, &self.env)?;
            }
        }
        remove_dir(&self.work)
    }
}

/// Copies every file of `overrides` over `target`, at the same relative paths; a missing
/// `overrides` folder lays nothing.
pub fn overlay(overrides: &Path, target: &Path) -> Result<(), Failure> {
    if !overrides.exists() {
        return Ok(());
    }
    Snapshot::read(overrides)?.write_into(target)
}

/// Copies the folder `from` (if it exists) to `to`, which must not hold other files.
pub fn copy_tree(from: &Path, to: &Path) -> Result<(), Failure> {
    Snapshot::read(from)?.write_into(to)
}

fn rename(from: &Path, to: &Path) -> Result<(), Failure> {
    fs::rename(from, to).map_err(|e| {
        Failure::External(format!(
            "cannot rename {} to {}: {e}",
            from.display(),
            to.display()
        ))
    })
}

fn remove_dir(dir: &Path) -> Result<(), Failure> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(Failure::io("remove", dir, e)),
        _ => Ok(()),
    }
}
