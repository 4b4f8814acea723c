//! Lock files: an open file with the kernel's advisory lock on it (`flock`), held for as long
//! as the file stays open. The kernel releases it with its holder, however the holder ends
//! (exit, panic, SIGKILL), so a lock is never left held by a process that is gone, and what a
//! holder finds half done under it was left by one that died.

use crate::failure::Failure;
use std::fs;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Opens the lock file at `path`, creating it if it is missing, never through a symbolic link.
pub fn open(path: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Takes the lock file at `path` (created if missing), for as long as the returned file is
/// open. When another process holds it, `waiting` is called once (to say so), then this waits
/// for it.
pub fn hold(path: &Path, waiting: impl FnOnce()) -> Result<fs::File, Failure> {
    let file = open(path).map_err(|e| Failure::io("create", path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => {
            waiting();
            file.lock().map_err(|e| Failure::io("lock", path, e))?;
            Ok(file)
        }
        Err(fs::TryLockError::Error(e)) => Err(Failure::io("lock", path, e)),
    }
}
