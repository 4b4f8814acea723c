//! The boundary of a folder Grove works in (the cluster repository, a cloned theme): its paths
//! resolved inside it, its files read and copied so that nothing outside it is read or written.
//!
//! - A symbolic link is followed only while it stays inside: every existing component of a path
//!   is looked at without following it, and a link is resolved whole and must land under the
//!   folder's canonical path (exit 5 otherwise, naming the link, never its target).
//! - A file is opened with `O_NOFOLLOW` (so a link put in its place after resolving is not
//!   followed either) and `O_NONBLOCK` (so a FIFO never blocks), and read only if it is a
//!   regular file no longer than the caller's limit: the size comes from its metadata, and at
//!   most the limit plus one byte is read.

use crate::failure::Failure;
use grove_core::{Cause, Error};
use std::fs::{self, File};
use std::io::{ErrorKind as IoKind, Read};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A folder whose paths are resolved inside it.
#[derive(Debug, Clone)]
pub struct Boundary {
    /// The folder, absolute: where resolved paths start while no link is followed.
    root: PathBuf,
    /// Its canonical path, under which every followed link must land.
    canonical: PathBuf,
    /// What it is, for messages: "the cluster repository", "the theme NAME".
    what: String,
}

/// A path of the repository refused (exit 5).
fn invalid(path: &str, message: String) -> Failure {
    Failure::Core(Error::new(Cause::file(path), message))
}

/// What a file that is not a regular file is, for messages.
fn kind_of(file_type: fs::FileType) -> &'static str {
    if file_type.is_dir() {
        "a folder"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else {
        "something else"
    }
}

/// `shown` is not a regular file (exit 5).
pub fn not_a_file(shown: &str, file_type: fs::FileType) -> Failure {
    invalid(
        shown,
        format!(
            "{shown} is {}, not a regular file: Grove reads regular files only",
            kind_of(file_type)
        ),
    )
}

/// Opens `path` for reading, never following a link in its last component (ELOOP) and
/// never blocking (a FIFO).
fn open_no_follow(path: &Path) -> std::io::Result<File> {
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
}

/// Opens the file at `path` (named `shown` in messages) for reading, if there is one: never
/// following a link in its last component, never blocking, and only a regular file.
pub fn open_file(path: &Path, shown: &str) -> Result<Option<(File, fs::Metadata)>, Failure> {
    regular(open_no_follow(path), path, shown)
}

/// The file `opened` from `path`, if it is a regular file; `None` if there was none.
fn regular(
    opened: std::io::Result<File>,
    path: &Path,
    shown: &str,
) -> Result<Option<(File, fs::Metadata)>, Failure> {
    let file = match opened {
        Ok(file) => file,
        Err(e) if matches!(e.kind(), IoKind::NotFound | IoKind::NotADirectory) => return Ok(None),
        Err(e) => {
            // A link (ELOOP), a socket (ENXIO): say what it is rather than how opening failed.
            return Err(match fs::symlink_metadata(path) {
                Ok(metadata) if !metadata.is_file() => not_a_file(shown, metadata.file_type()),
                _ => Failure::io("read", path, e),
            });
        }
    };
    let metadata = file.metadata().map_err(|e| Failure::io("read", path, e))?;
    if !metadata.is_file() {
        return Err(not_a_file(shown, metadata.file_type()));
    }
    Ok(Some((file, metadata)))
}

/// Reads an opened file into `into`: refused (exit 5) when it is longer than `limit`, by its
/// metadata before reading, or by reading at most one byte more.
fn read_limited(
    file: File,
    metadata: &fs::Metadata,
    path: &Path,
    shown: &str,
    limit: u64,
    into: &mut Vec<u8>,
) -> Result<(), Failure> {
    let too_long = |size: String| {
        invalid(
            shown,
            format!("{shown} is {size} bytes; Grove reads files of at most {limit} bytes here"),
        )
    };
    if metadata.len() > limit {
        return Err(too_long(metadata.len().to_string()));
    }
    into.clear();
    into.reserve(metadata.len() as usize + 1);
    file.take(limit + 1)
        .read_to_end(into)
        .map_err(|e| Failure::io("read", path, e))?;
    if into.len() as u64 > limit {
        return Err(too_long(format!("more than {limit}")));
    }
    Ok(())
}

/// Reads the regular file at `path` (named `shown` in messages) whole, whatever its size:
/// Grove's own files, and folders a snapshot copies. `None` if there is none.
pub fn read_file(path: &Path, shown: &str) -> Result<Option<(Vec<u8>, fs::Metadata)>, Failure> {
    let Some((mut file, metadata)) = open_file(path, shown)? else {
        return Ok(None);
    };
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.read_to_end(&mut bytes)
        .map_err(|e| Failure::io("read", path, e))?;
    Ok(Some((bytes, metadata)))
}

impl Boundary {
    /// The boundary of the folder `root`, which must exist; `what` names it in messages.
    pub fn new(root: &Path, what: impl Into<String>) -> std::io::Result<Boundary> {
        let root = std::path::absolute(root)?;
        let canonical = fs::canonicalize(&root)?;
        if !canonical.is_dir() {
            return Err(std::io::Error::from(IoKind::NotADirectory));
        }
        Ok(Boundary {
            root,
            canonical,
            what: what.into(),
        })
    }

    /// The folder, absolute.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where `relative` (names separated by `/`) is on disk: each existing component followed
    /// when it is a link that stays inside, the missing ones appended as they are. A link that
    /// leads outside, or to nothing, is refused (exit 5), as is `..`.
    pub fn resolve(&self, relative: &str) -> Result<PathBuf, Failure> {
        self.walk(relative, None)
    }

    /// [`Boundary::resolve`] for a folder, creating the missing ones with `mode` (less the
    /// umask) as real folders.
    pub fn folder(&self, relative: &str, mode: u32) -> Result<PathBuf, Failure> {
        self.walk(relative, Some(mode))
    }

    fn walk(&self, relative: &str, create: Option<u32>) -> Result<PathBuf, Failure> {
        let mut at = self.root.clone();
        let mut shown = String::new();
        let mut missing = false;
        for part in relative.split('/').filter(|p| !p.is_empty() && *p != ".") {
            if part == ".." {
                return Err(invalid(
                    relative,
                    format!("{relative}: `..` is not allowed in a path of {}", self.what),
                ));
            }
            if !shown.is_empty() {
                shown.push('/');
            }
            shown.push_str(part);
            at.push(part);
            if missing {
                if let Some(mode) = create {
                    create_dir(&at, mode)?;
                }
                continue;
            }
            match fs::symlink_metadata(&at) {
                Ok(metadata) if metadata.file_type().is_symlink() => {
                    at = self.follow(&at, &shown, relative)?;
                }
                Ok(_) => {}
                Err(e) if matches!(e.kind(), IoKind::NotFound | IoKind::NotADirectory) => {
                    missing = true;
                    if let Some(mode) = create {
                        create_dir(&at, mode)?;
                    }
                }
                Err(e) => return Err(Failure::io("read", &at, e)),
            }
        }
        if create.is_some() && !at.is_dir() {
            return Err(invalid(relative, format!("{relative} is not a folder")));
        }
        Ok(at)
    }

    /// Where the link at `path` (`shown`, while resolving `relative`) leads, if inside.
    fn follow(&self, path: &Path, shown: &str, relative: &str) -> Result<PathBuf, Failure> {
        let at = if shown == relative {
            String::new()
        } else {
            format!("{relative}: ")
        };
        match fs::canonicalize(path) {
            Ok(target) if target.starts_with(&self.canonical) => Ok(target),
            Ok(_) => Err(invalid(shown, format!(
                "{at}{shown} is a symbolic link that leads outside {}: Grove reads and writes nothing outside it",
                self.what
            ))),
            Err(e) if matches!(e.kind(), IoKind::NotFound | IoKind::NotADirectory) => Err(
                invalid(shown, format!("{at}{shown} is a symbolic link to nothing")),
            ),
            Err(e) => Err(Failure::io("resolve", path, e)),
        }
    }

    /// Reads the file at `relative`, at most `limit` bytes (exit 5 when longer); `None` if
    /// there is none.
    pub fn read(&self, relative: &str, limit: u64) -> Result<Option<Vec<u8>>, Failure> {
        let mut bytes = Vec::new();
        let found = Reader::new(self).read(relative, limit, &mut bytes)?;
        Ok(found.then_some(bytes))
    }

    /// Copies the folder `from` (relative) to `to`, a new folder, leaving out the entries
    /// named in `skip` at any depth. Files are copied with their permissions and synced; a link
    /// to a file inside is copied as that file; a link to a folder, a link that leads outside
    /// and anything but files and folders are refused (exit 5), naming them.
    pub fn copy_tree(&self, from: &str, to: &Path, skip: &[&str]) -> Result<(), Failure> {
        let source = self.resolve(from)?;
        self.copy_folder(&source, from, to, skip)
    }

    fn copy_folder(
        &self,
        dir: &Path,
        shown: &str,
        to: &Path,
        skip: &[&str],
    ) -> Result<(), Failure> {
        fs::create_dir(to).map_err(|e| Failure::io("create", to, e))?;
        let entries = fs::read_dir(dir).map_err(|e| Failure::io("list", dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Failure::io("list", dir, e))?;
            let name = entry.file_name();
            if skip.iter().any(|s| name == *s) {
                continue;
            }
            let child = format!("{shown}/{}", name.to_string_lossy());
            let dest = to.join(&name);
            let file_type = entry.file_type().map_err(|e| Failure::io("list", dir, e))?;
            if file_type.is_dir() {
                self.copy_folder(&entry.path(), &child, &dest, skip)?;
                continue;
            }
            let source = if file_type.is_symlink() {
                let target = self.resolve(&child)?;
                if target.is_dir() {
                    return Err(invalid(
                        &child,
                        format!(
                        "{child} is a symbolic link to a folder: Grove copies links to files only"
                    ),
                    ));
                }
                target
            } else if file_type.is_file() {
                entry.path()
            } else {
                return Err(not_a_file(&child, file_type));
            };
            copy_file(&source, &child, &dest)?;
        }
        Ok(())
    }
}

/// Creates the folder `path` with `mode`; one that another process just made is fine.
fn create_dir(path: &Path, mode: u32) -> Result<(), Failure> {
    match fs::DirBuilder::new().mode(mode).create(path) {
        Err(e)
            if e.kind() == IoKind::AlreadyExists
                && fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) =>
        {
            Ok(())
        }
        result => result.map_err(|e| Failure::io("create", path, e)),
    }
}

/// Copies the regular file `source` (`shown` in messages) to the new file `dest`, with its
/// permissions, and syncs it.
fn copy_file(source: &Path, shown: &str, dest: &Path) -> Result<(), Failure> {
    let Some((mut from, metadata)) = open_file(source, shown)? else {
        return Err(Failure::io(
            "copy",
            source,
            std::io::Error::from(IoKind::NotFound),
        ));
    };
    let mut to = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(metadata.permissions().mode() & 0o7777)
        .open(dest)
        .map_err(|e| Failure::io("create", dest, e))?;
    std::io::copy(&mut from, &mut to).map_err(|e| Failure::io("copy", source, e))?;
    to.sync_all().map_err(|e| Failure::io("write", dest, e))
}

/// Reads files of one boundary, remembering the last folder it resolved: the files of a batch
/// come folder by folder, so each folder is resolved once.
pub struct Reader<'a> {
    boundary: &'a Boundary,
    last: Option<(String, PathBuf)>,
}

impl<'a> Reader<'a> {
    /// A reader of `boundary`.
    pub fn new(boundary: &'a Boundary) -> Reader<'a> {
        Reader {
            boundary,
            last: None,
        }
    }

    /// Reads the file at `relative` into `into`, at most `limit` bytes (exit 5 when longer);
    /// whether there is one.
    pub fn read(
        &mut self,
        relative: &str,
        limit: u64,
        into: &mut Vec<u8>,
    ) -> Result<bool, Failure> {
        let (dir, name) = relative.rsplit_once('/').unwrap_or(("", relative));
        let parent = match &self.last {
            Some((last, path)) if last == dir => path.clone(),
            _ => {
                let path = self.boundary.resolve(dir)?;
                self.last = Some((dir.to_string(), path.clone()));
                path
            }
        };
        let mut path = parent.join(name);
        let mut opened = open_no_follow(&path);
        if matches!(&opened, Err(e) if e.raw_os_error() == Some(libc::ELOOP)) {
            // A link: followed while it stays inside.
            path = self.boundary.resolve(relative)?;
            opened = open_no_follow(&path);
        }
        let Some((file, metadata)) = regular(opened, &path, relative)? else {
            return Ok(false);
        };
        read_limited(file, &metadata, &path, relative, limit, into)?;
        Ok(true)
    }
}
