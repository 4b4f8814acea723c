//! The embedded store: a local folder, `<store>/<key>`. No server.
//!
//! Files are written whole by rename, readable by their owner alone (they hold secrets), in
//! folders only their owner can enter. The conditional write of a manifest takes the lock file
//! beside it, compares the SHA-256 of the manifest's current bytes with the version the command
//! pulled, and writes only if they are equal.

use super::manifest::sha256_hex;
use super::{Store, StoreError, Tag};
use crate::repository::{create_private_dirs, write_private};
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a conditional write waits for another sync's lock before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// A store in a local folder.
pub struct FolderStore {
    root: PathBuf,
}

impl FolderStore {
    /// The store in `root` (created on the first push).
    pub fn new(root: PathBuf) -> FolderStore {
        FolderStore { root }
    }

    /// Where the object at `key` is: under the store's folder through no symbolic link, since a
    /// store holds only what Grove wrote there, and a link would read or write elsewhere.
    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        let mut path = self.root.clone();
        for part in key.split('/').filter(|p| !p.is_empty()) {
            path.push(part);
            if fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(StoreError::Failed(format!(
                    "{} is a symbolic link: a store holds only the files Grove wrote",
                    path.display()
                )));
            }
        }
        Ok(path)
    }

    /// The lock file beside the object at `key`, which its conditional writes take.
    fn lock_path(&self, key: &str) -> Result<PathBuf, StoreError> {
        let (dir, name) = key.rsplit_once('/').unwrap_or(("", key));
        self.path(&format!("{dir}/.{name}.lock"))
    }

    fn write(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            create_private_dirs(parent).map_err(|f| StoreError::Failed(f.to_string()))?;
        }
        write_private(&path, bytes).map_err(|f| StoreError::Failed(f.to_string()))
    }
}

/// Takes the lock file at `path` (created if missing) for as long as the returned file is
/// open. The kernel releases it when its holder exits, however it exits, so a killed push
/// never leaves the store locked.
fn lock(path: &Path) -> Result<fs::File, StoreError> {
    let file = crate::lock::open(path).map_err(|e| failed("create", path, e))?;
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(fs::TryLockError::WouldBlock) if started.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Failed(format!(
                    "another grove has held the lock {} for over {}s",
                    path.display(),
                    LOCK_WAIT.as_secs()
                )))
            }
            Err(fs::TryLockError::Error(e)) => return Err(failed("lock", path, e)),
        }
    }
}

impl Store for FolderStore {
    fn describe(&self) -> String {
        format!("the store {}", self.root.display())
    }

    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, Tag)>, StoreError> {
        let path = self.path(key)?;
        match fs::read(&path) {
            Ok(bytes) => {
                let tag = Tag(sha256_hex(&bytes));
                Ok(Some((bytes, tag)))
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(failed("read", &path, e)),
        }
    }

    fn put_many(&self, objects: Vec<(String, Vec<u8>)>) -> Result<(), StoreError> {
        objects
            .iter()
            .try_for_each(|(key, bytes)| self.write(key, bytes))
    }

    fn put_if(&self, key: &str, bytes: Vec<u8>, expected: Option<&Tag>) -> Result<(), StoreError> {
        let lock_path = self.lock_path(key)?;
        if let Some(parent) = lock_path.parent() {
            create_private_dirs(parent).map_err(|f| StoreError::Failed(f.to_string()))?;
        }
        let _lock = lock(&lock_path)?;
        let current = self.get(key)?.map(|(_, tag)| tag);
        if current.as_ref() != expected {
            return Err(StoreError::Conflict);
        }
        self.write(key, &bytes)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let dir = self.path(prefix)?;
        if dir.is_dir() {
            list_into(&dir, prefix.trim_end_matches('/'), &mut keys)?;
        }
        Ok(keys)
    }

    fn delete_many(&self, keys: Vec<String>) -> Result<(), StoreError> {
        for key in keys {
            let path = self.path(&key)?;
            match fs::remove_file(&path) {
                Err(e) if e.kind() != ErrorKind::NotFound => {
                    return Err(failed("delete", &path, e))
                }
                _ => remove_empty_parents(&path, &self.root),
            }
        }
        Ok(())
    }
}

/// Lists the files below `dir` as keys under `key`. A folder found empty is removed (only if it
/// still is): a push killed between making a folder and writing into it leaves one, and
/// nothing else would ever see it, since it holds no key.
fn list_into(dir: &Path, key: &str, keys: &mut Vec<String>) -> Result<(), StoreError> {
    let before = keys.len();
    for entry in fs::read_dir(dir).map_err(|e| failed("list", dir, e))? {
        let entry = entry.map_err(|e| failed("list", dir, e))?;
        let child = format!("{key}/{}", entry.file_name().to_string_lossy());
        if entry
            .file_type()
            .map_err(|e| failed("list", dir, e))?
            .is_dir()
        {
            list_into(&entry.path(), &child, keys)?;
        } else {
            keys.push(child);
        }
    }
    if keys.len() == before {
        let _ = fs::remove_dir(dir);
    }
    Ok(())
}

/// Removes the now empty folders above a deleted file, up to the store's root.
fn remove_empty_parents(file: &Path, root: &Path) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d == root || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

fn failed(action: &str, path: &Path, error: std::io::Error) -> StoreError {
    StoreError::Failed(format!("cannot {action} {}: {error}", path.display()))
}
