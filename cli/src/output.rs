//! Writing a generated pipeline: `FILE`, and when it is sharded, its shard files in the shard
//! folder beside it (`generated.yml` → `generated-shards/shard-N.yml`), as one set.
//!
//! Every file is written to a temporary first; only when all are written are they renamed into
//! place (the shard folder first, then `FILE`), so a failure leaves the previous set, never half
//! of a new one. A run that makes no shards removes the shard files of an earlier run. The whole
//! write holds a lock on `.FILE.lock` beside `FILE`, so two runs writing the same `FILE` at once
//! leave one's set, never one's `FILE` with the other's shards.

use crate::failure::Failure;
use grove_core::Generated;
use std::fs;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

/// Where the shards of pipeline file `file` go: the folder on disk, and the same folder as the
/// generated pipeline names it in `artifact:` (relative to the current folder, which in CI is the
/// project's folder, where artifact paths start).
pub fn shard_dir(file: &Path) -> Result<(PathBuf, String), Failure> {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Failure::Usage(format!("{} is not a file path", file.display())))?;
    let folder = grove_core::shard::dir_for(name);
    let parent = file.parent().unwrap_or(Path::new(""));
    let on_disk = parent.join(&folder);
    let relative = if parent.is_absolute() {
        std::env::current_dir()
            .ok()
            .and_then(|cwd| parent.strip_prefix(cwd).ok().map(Path::to_path_buf))
            .unwrap_or_else(|| parent.to_path_buf())
    } else {
        parent.to_path_buf()
    };
    let mut parts: Vec<String> = Vec::new();
    for component in relative.components() {
        match component {
            Component::CurDir => {}
            Component::RootDir => parts.push(String::new()),
            other => parts.push(
                other
                    .as_os_str()
                    .to_str()
                    .ok_or_else(|| {
                        Failure::Usage(format!("{} is not a UTF-8 path", file.display()))
                    })?
                    .to_string(),
            ),
        }
    }
    parts.push(folder);
    Ok((on_disk, parts.join("/")))
}

/// Whether `name` is a shard file name Grove writes (`shard-N.yml`).
fn is_shard_file(name: &str) -> bool {
    name.strip_prefix("shard-")
        .and_then(|rest| rest.strip_suffix(".yml"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Refuses to replace a shard folder that holds anything but shard files (exit 1).
fn check_ours(dir: &Path) -> Result<bool, Failure> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Failure::io("list", dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Failure::io("list", dir, e))?;
        let name = entry.file_name();
        if !name.to_str().is_some_and(is_shard_file) {
            return Err(Failure::External(format!(
                "{} holds {}, which is not a shard file Grove wrote; move it away",
                dir.display(),
                name.to_string_lossy()
            )));
        }
    }
    Ok(true)
}

/// How many written files are synced together.
const SYNC_BATCH: usize = 64;

/// Writes `contents` to a new file at `path`, and returns it open, to be synced with the others.
fn write_file(path: &Path, contents: &[u8]) -> std::io::Result<fs::File> {
    let mut file = fs::File::create(path)?;
    file.write_all(contents)?;
    Ok(file)
}

/// A hidden name beside `path`, unique to this process.
fn beside(path: &Path, what: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{what}-{}", std::process::id()))
}

/// Takes the lock of the set written to `file`: `.FILE.lock` beside it, held until the returned
/// file is closed (the kernel releases it with its holder, however that ends).
fn lock(file: &Path) -> Result<fs::File, Failure> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    crate::lock::hold(&file.with_file_name(format!(".{name}.lock")), || {})
}

/// Writes `generated` to `file`, and its shards (if any) to `dir`, as one set.
pub fn write(file: &Path, dir: &Path, generated: &Generated) -> Result<(), Failure> {
    let _lock = lock(file)?;
    let had_shards = check_ours(dir)?;
    let tmp_file = beside(file, "tmp");
    let tmp_dir = beside(dir, "tmp");
    let old_dir = beside(dir, "old");
    let cleanup = || {
        let _ = fs::remove_file(&tmp_file);
        let _ = fs::remove_dir_all(&tmp_dir);
    };
    // 1. Every file to a temporary, synced a batch at a time: the file system flushes a batch
    //    together rather than one journal commit per file, and a few thousand shards never
    //    hold a few thousand files open.
    let written = (|| {
        let mut unsynced = vec![write_file(&tmp_file, generated.main.yaml.as_bytes())?];
        if !generated.shards.is_empty() {
            let _ = fs::remove_dir_all(&tmp_dir);
            fs::create_dir(&tmp_dir)?;
            for shard in &generated.shards {
                if unsynced.len() == SYNC_BATCH {
                    unsynced.iter().try_for_each(fs::File::sync_all)?;
                    unsynced.clear();
                }
                unsynced.push(write_file(
                    &tmp_dir.join(&shard.file),
                    shard.content.yaml.as_bytes(),
                )?);
            }
        }
        unsynced.iter().try_for_each(fs::File::sync_all)
    })();
    if let Err(e) = written {
        cleanup();
        return Err(Failure::io("write", file, e));
    }
    // 2. The shard folder into place, keeping the old one until FILE is in place too.
    if !generated.shards.is_empty() {
        if had_shards {
            if let Err(e) = fs::rename(dir, &old_dir) {
                cleanup();
                return Err(Failure::io("replace", dir, e));
            }
        }
        if let Err(e) = fs::rename(&tmp_dir, dir) {
            if had_shards {
                let _ = fs::rename(&old_dir, dir);
            }
            cleanup();
            return Err(Failure::io("write", dir, e));
        }
    }
    // 3. FILE into place; on failure, the old shard folder back.
    if let Err(e) = fs::rename(&tmp_file, file) {
        if !generated.shards.is_empty() {
            let _ = fs::remove_dir_all(dir);
            if had_shards {
                let _ = fs::rename(&old_dir, dir);
            }
        }
        cleanup();
        return Err(Failure::io("write", file, e));
    }
    // 4. What an earlier run left: the replaced folder, or shards this run does not have.
    if had_shards {
        let stale = if generated.shards.is_empty() {
            dir
        } else {
            &old_dir
        };
        fs::remove_dir_all(stale).map_err(|e| Failure::io("remove", stale, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_folders_are_named_after_the_file() {
        let (disk, named) = shard_dir(Path::new("generated.yml")).unwrap();
        assert_eq!(disk, PathBuf::from("generated-shards"));
        assert_eq!(named, "generated-shards");
        let (disk, named) = shard_dir(Path::new("./out/p.yaml")).unwrap();
        assert_eq!(disk, PathBuf::from("./out/p-shards"));
        assert_eq!(named, "out/p-shards");
        assert!(is_shard_file("shard-12.yml"));
        assert!(!is_shard_file("shard-.yml") && !is_shard_file("notes.txt"));
    }
}
