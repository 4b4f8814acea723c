//! The embedded env store: a local folder, `<store>/<key>`. No server.
//!
//! Files are written whole by rename. The conditional write of a manifest takes a lock file
//! beside it (created exclusively), compares the SHA-256 of the manifest's current bytes with
//! the version the sync pulled, and writes only if they are equal.

use super::manifest::sha256_hex;
use super::{Store, StoreError, Tag};
use crate::repository::write_atomically;
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

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    /// The lock file beside the object at `key`, which its conditional writes take.
    fn lock_path(&self, key: &str) -> PathBuf {
        let path = self.path(key);
        let file_name = path.file_name().unwrap_or_default().to_string_lossy();
        path.with_file_name(format!(".{file_name}.lock"))
    }

    fn write(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.path(key);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| failed("create", parent, e))?;
        }
        write_atomically(&path, bytes).map_err(|f| StoreError::Failed(f.to_string()))
    }
}

/// Holds a lock file until dropped.
///
/// The lock file names its holder, `PID START on HOST` (START: when the process started, from
/// `/proc`, so that a later process given the same PID is not taken for it), and is created
/// with that text in one step (a hard link of a file written beforehand). A lock whose holder
/// was on this host and runs no more was left by a killed sync: the next one takes it over by
/// itself.
struct Lock(PathBuf);

impl Lock {
    fn take(path: PathBuf) -> Result<Lock, StoreError> {
        let pid = std::process::id();
        let started = start_time(pid).unwrap_or_else(|| "?".to_string());
        let holder = format!("{pid} {started} on {}", host());
        let mine = path.with_file_name(format!(
            "{}.{}",
            path.file_name().unwrap_or_default().to_string_lossy(),
            std::process::id()
        ));
        fs::write(&mine, &holder).map_err(|e| failed("create", &mine, e))?;
        let taken = Lock::wait_for(&path, &mine);
        let _ = fs::remove_file(&mine);
        taken
    }

    /// Links `mine` to `path` once no other live sync holds it.
    fn wait_for(path: &Path, mine: &Path) -> Result<Lock, StoreError> {
        let started = Instant::now();
        loop {
            match fs::hard_link(mine, path) {
                Ok(()) => return Ok(Lock(path.to_path_buf())),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    if take_over_if_stale(path, mine) {
                        continue;
                    }
                    if started.elapsed() > LOCK_WAIT {
                        return Err(StoreError::Failed(format!(
                            "another sync has held the lock {} for over {}s; if none is \
                             running, delete that file",
                            path.display(),
                            LOCK_WAIT.as_secs()
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(failed("create", path, e)),
            }
        }
    }
}

/// Removes the lock at `path` if its holder was a process of this host that runs no more;
/// tells whether it did. The lock is first renamed to a name of this sync's own, so that of
/// two syncs that find it stale only one removes it; a lock that turns out to be another's
/// fresh one is linked back.
fn take_over_if_stale(path: &Path, mine: &Path) -> bool {
    let Ok(text) = fs::read_to_string(path) else {
        return false;
    };
    let Some((who, lock_host)) = text.split_once(" on ") else {
        return false;
    };
    // `PID START`, or `PID` alone from an older grove.
    let mut who = who.split(' ');
    let Some(Ok(pid)) = who.next().map(str::parse::<u32>) else {
        return false;
    };
    let started = who.next().filter(|s| *s != "?");
    let proc = Path::new("/proc");
    let dead = lock_host == host()
        && proc.join("self").exists()
        && (!proc.join(pid.to_string()).exists()
            || started.is_some_and(|started| start_time(pid).as_deref() != Some(started)));
    if !dead {
        return false;
    }
    let aside = mine.with_file_name(format!(
        "{}.stale",
        mine.file_name().unwrap_or_default().to_string_lossy()
    ));
    if fs::rename(path, &aside).is_err() {
        return false;
    }
    if fs::read_to_string(&aside).is_ok_and(|moved| moved != text) {
        let _ = fs::hard_link(&aside, path);
    }
    let _ = fs::remove_file(&aside);
    true
}

/// When process `pid` started (clock ticks since boot, field 22 of `/proc/PID/stat`), if it runs.
fn start_time(pid: u32) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, field 2, is in parentheses and may hold anything: count after it.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19).map(str::to_string)
}

/// This machine's name, to tell whether a lock's holder ran here.
fn host() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

impl Store for FolderStore {
    fn describe(&self) -> String {
        format!("the env store {}", self.root.display())
    }

    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, Tag)>, StoreError> {
        let path = self.path(key);
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
        let lock = self.lock_path(key);
        let parent = lock.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&parent).map_err(|e| failed("create", &parent, e))?;
        let _lock = Lock::take(lock)?;
        let current = self.get(key)?.map(|(_, tag)| tag);
        if current.as_ref() != expected {
            return Err(StoreError::Conflict);
        }
        self.write(key, &bytes)
    }

    fn confirm(&self, key: &str, expected: &Tag) -> Result<(), StoreError> {
        // Under the lock, as a write would check; a lock a killed sync left is taken over here
        // too, not only by the next sync that has something to write.
        let lock = self.lock_path(key);
        let _lock = match lock.parent() {
            Some(parent) if parent.is_dir() => Some(Lock::take(lock)?),
            _ => None,
        };
        super::still(self.get(key)?, expected)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let dir = self.path(prefix);
        if dir.is_dir() {
            list_into(&dir, prefix.trim_end_matches('/'), &mut keys)?;
        }
        Ok(keys)
    }

    fn delete_many(&self, keys: Vec<String>) -> Result<(), StoreError> {
        for key in keys {
            let path = self.path(&key);
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

fn list_into(dir: &Path, key: &str, keys: &mut Vec<String>) -> Result<(), StoreError> {
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
