//! The manifest, `NAME/manifest.json`: the pointer to an instance's current generation, with
//! every file of it and its SHA-256 and the config keys the next run starts from; and
//! [`Snapshot`], the files of a generation in memory.

use crate::failure::Failure;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// The `format` of the manifests this version writes and reads.
pub const FORMAT: &str = "grove-env-store/2";

/// The format of the manifests of earlier versions, which kept `env/` alone: their paths are
/// relative to `env/`, and they keep no config.
pub const FORMAT_ENV_ONLY: &str = "grove-env-store/1";

/// The folder of Tutor's rendered environment in a Tutor root, and in a generation.
pub const ENV_DIR: &str = "env";

/// One file of a generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// The SHA-256 of its bytes, lowercase hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// Whether it is executable.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub executable: bool,
}

/// The pointer to an instance's current generation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// Counts pushes: 1 for the first.
    pub generation: u64,
    /// The generation's folder name: the number, then random hex, so that two racing pushes
    /// never write into the same folder.
    pub id: String,
    /// When it was pushed, in seconds since the Unix epoch.
    pub pushed_at: u64,
    /// Who pushed it: the CI job, or user@host.
    pub pushed_by: String,
    /// Every file, by path relative to the Tutor root (with `/`): `config.yml`, `env/...`.
    pub files: BTreeMap<String, FileEntry>,
    /// Empty folders, which object stores cannot hold otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub directories: Vec<String>,
    /// The keys of `config.yml` that the next run starts from (see `grove_core::state::kept`).
    #[serde(default)]
    pub kept: BTreeSet<String>,
    /// Read from a [`FORMAT_ENV_ONLY`] manifest: files are stored at their path in `env/`.
    #[serde(skip)]
    env_only: bool,
}

impl Manifest {
    /// Reads a manifest, refusing other formats and paths that would leave `env/`.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, String> {
        let mut manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if manifest.format == FORMAT_ENV_ONLY {
            manifest.env_only = true;
            manifest.files = std::mem::take(&mut manifest.files)
                .into_iter()
                .map(|(path, entry)| (format!("{ENV_DIR}/{path}"), entry))
                .collect();
            for dir in &mut manifest.directories {
                *dir = format!("{ENV_DIR}/{dir}");
            }
        } else if manifest.format != FORMAT {
            return Err(format!(
                "its format is \"{}\", this grove reads \"{FORMAT}\"",
                manifest.format
            ));
        }
        if generation_number(&manifest.id) != Some(manifest.generation) {
            return Err(format!(
                "its id \"{}\" does not name generation {}",
                manifest.id, manifest.generation
            ));
        }
        for path in manifest.files.keys().chain(&manifest.directories) {
            if !is_safe_relative_path(path) {
                return Err(format!("it names an unsafe path \"{path}\""));
            }
        }
        Ok(manifest)
    }

    /// The manifest of the generation after `previous` (or the first), holding `snapshot`,
    /// with the config keys `kept`.
    pub fn next(
        previous: Option<&Manifest>,
        snapshot: &Snapshot,
        kept: &BTreeSet<String>,
    ) -> Manifest {
        let generation = previous.map_or(1, |m| m.generation + 1);
        let pushed_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Manifest {
            format: FORMAT.to_string(),
            generation,
            id: format!("{generation:08}-{:08x}", random_u32()),
            pushed_at,
            pushed_by: pusher(),
            files: snapshot
                .files
                .iter()
                .map(|(path, file)| (path.clone(), file.entry()))
                .collect(),
            directories: snapshot.directories.clone(),
            kept: kept.clone(),
            env_only: false,
        }
    }

    /// Where the file at `path` is stored in its generation's folder.
    pub fn stored_path<'a>(&self, path: &'a str) -> &'a str {
        match path.strip_prefix(ENV_DIR).and_then(|p| p.strip_prefix('/')) {
            Some(in_env) if self.env_only => in_env,
            _ => path,
        }
    }

    /// Whether this manifest describes exactly the files and folders of `snapshot`, and
    /// keeps `kept`.
    pub fn describes(&self, snapshot: &Snapshot, kept: &BTreeSet<String>) -> bool {
        self.kept == *kept
            && self.directories == snapshot.directories
            && self.files.len() == snapshot.files.len()
            && snapshot
                .files
                .iter()
                .all(|(path, file)| self.files.get(path) == Some(&file.entry()))
    }

    /// The manifest as stored: pretty JSON, one trailing newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a manifest serializes");
        bytes.push(b'\n');
        bytes
    }

    /// When it was pushed, for messages: `at 2025-01-31 09:05:00 UTC`.
    pub fn pushed_when(&self) -> String {
        format!("at {}", utc_time(self.pushed_at))
    }
}

/// The generation number at the start of a generation id (`00000007-3fa9c2d1` → 7).
pub fn generation_number(id: &str) -> Option<u64> {
    let (number, random) = id.split_once('-')?;
    if random.is_empty() || !random.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    number.parse().ok()
}

/// Seconds since the Unix epoch as `YYYY-MM-DD hh:mm:ss UTC` (the proleptic Gregorian
/// calendar, by Howard Hinnant's days-to-civil algorithm).
fn utc_time(seconds: u64) -> String {
    let (days, rest) = ((seconds / 86_400) as i64, seconds % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A relative path with `/`, no empty, `.` or `..` parts, that stays inside its folder.
pub fn is_safe_relative_path(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\\')
        && !path.contains('\0')
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

/// 32 random bits from the standard library's per-process random hash keys, the clock and the
/// process id: enough to keep two pushes of one generation apart.
fn random_u32() -> u32 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    hasher.finish() as u32
}

/// Who is pushing: the CI job when there is one, else user@host.
fn pusher() -> String {
    if let Ok(url) = std::env::var("CI_JOB_URL") {
        return url;
    }
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "someone".to_string());
    let host = fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "somewhere".to_string());
    format!("{user}@{host}")
}

/// One file of a [`Snapshot`].
#[derive(Debug, Clone)]
pub struct SnapshotFile {
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Whether it is executable.
    pub executable: bool,
}

impl SnapshotFile {
    fn entry(&self) -> FileEntry {
        FileEntry {
            sha256: sha256_hex(&self.bytes),
            size: self.bytes.len() as u64,
            executable: self.executable,
        }
    }
}

/// The files of a generation in memory: files by relative path, and its empty folders.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Files by path relative to the folder, with `/`.
    pub files: BTreeMap<String, SnapshotFile>,
    /// Empty folders, sorted.
    pub directories: Vec<String>,
}

impl Snapshot {
    /// Adds a file.
    pub fn insert(&mut self, path: String, bytes: Vec<u8>, executable: bool) {
        self.files.insert(path, SnapshotFile { bytes, executable });
    }

    /// Reads a folder; a missing folder is empty.
    pub fn read(dir: &Path) -> Result<Snapshot, Failure> {
        let mut snapshot = Snapshot::default();
        snapshot.add(dir, "", &[])?;
        Ok(snapshot)
    }

    /// Adds the file or folder at `path` (a missing one adds nothing), under `at` (a path in
    /// the snapshot, empty for its top), leaving out the folders `exclude` (paths in the
    /// snapshot). A symbolic link is refused: a snapshot holds what is in its folder, never
    /// what a link points at.
    pub fn add(&mut self, path: &Path, at: &str, exclude: &[&str]) -> Result<(), Failure> {
        let metadata = match fs::symlink_metadata(path) {
            Ok(metadata) => metadata,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Failure::io("read", path, e)),
        };
        if metadata.file_type().is_symlink() {
            return Err(Failure::External(format!(
                "{} is a symbolic link: Grove copies files and folders only, never what a link points at",
                path.display()
            )));
        }
        if metadata.is_dir() {
            if exclude.contains(&at) {
                return Ok(());
            }
            let entries = fs::read_dir(path).map_err(|e| Failure::io("list", path, e))?;
            let mut empty = true;
            for entry in entries {
                empty = false;
                let entry = entry.map_err(|e| Failure::io("list", path, e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let child = if at.is_empty() {
                    name
                } else {
                    format!("{at}/{name}")
                };
                self.add(&entry.path(), &child, exclude)?;
            }
            if empty && !at.is_empty() {
                self.directories.push(at.to_string());
                self.directories.sort();
            }
        } else if metadata.is_file() {
            let shown = path.display().to_string();
            let (bytes, metadata) = crate::boundary::read_file(path, &shown)?.ok_or_else(|| {
                Failure::io(
                    "read",
                    path,
                    std::io::Error::from(std::io::ErrorKind::NotFound),
                )
            })?;
            self.insert(at.to_string(), bytes, is_executable(&metadata));
        } else {
            return Err(Failure::External(format!(
                "{} is neither a file nor a folder",
                path.display()
            )));
        }
        Ok(())
    }

    /// Writes the snapshot into `dir`, over what is there.
    pub fn write_into(&self, dir: &Path) -> Result<(), Failure> {
        fs::create_dir_all(dir).map_err(|e| Failure::io("create", dir, e))?;
        for path in &self.directories {
            let full = dir.join(path);
            fs::create_dir_all(&full).map_err(|e| Failure::io("create", &full, e))?;
        }
        for (path, file) in &self.files {
            let full = dir.join(path);
            if let Some(parent) = full.parent() {
                fs::create_dir_all(parent).map_err(|e| Failure::io("create", parent, e))?;
            }
            fs::write(&full, &file.bytes).map_err(|e| Failure::io("write", &full, e))?;
            if file.executable {
                set_executable(&full)?;
            }
        }
        Ok(())
    }
}

#[cfg(unix)]
fn is_executable(metadata: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_metadata: &fs::Metadata) -> bool {
    false
}

#[cfg(unix)]
fn set_executable(path: &Path) -> Result<(), Failure> {
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(path)
        .map_err(|e| Failure::io("read", path, e))?
        .permissions()
        .mode();
    fs::set_permissions(path, fs::Permissions::from_mode(mode | 0o111))
        .map_err(|e| Failure::io("make executable", path, e))
}

#[cfg(not(unix))]
fn set_executable(_path: &Path) -> Result<(), Failure> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_ids_carry_their_number() {
        assert_eq!(generation_number("00000007-3fa9c2d1"), Some(7));
        assert_eq!(generation_number("7"), None);
        assert_eq!(generation_number("x-1"), None);
        assert_eq!(generation_number("1-zz"), None);
    }

    #[test]
    fn push_times_read_as_utc_dates() {
        assert_eq!(utc_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_time(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc_time(1_738_314_300), "2025-01-31 09:05:00 UTC");
    }

    #[test]
    fn unsafe_paths_are_refused() {
        for path in ["", "/etc/passwd", "a/../b", "..", "a//b", "./a", "a\\b"] {
            assert!(!is_safe_relative_path(path), "{path}");
        }
        assert!(is_safe_relative_path("apps/openedx/settings/lms.py"));
        assert!(is_safe_relative_path(".env"));
    }

    #[test]
    fn a_manifest_round_trips_and_describes_its_snapshot() {
        let mut snapshot = Snapshot::default();
        snapshot.insert("a/b.txt".into(), b"hello".to_vec(), false);
        snapshot.insert("run".into(), b"#!".to_vec(), true);
        let kept: BTreeSet<String> = ["ID".to_string()].into();
        let manifest = Manifest::next(None, &snapshot, &kept);
        assert_eq!(manifest.generation, 1);
        let read = Manifest::parse(&manifest.to_bytes()).unwrap();
        assert!(read.describes(&snapshot, &kept));
        assert!(!read.describes(&snapshot, &BTreeSet::new()));
        snapshot.insert("run".into(), b"#!".to_vec(), false);
        assert!(!read.describes(&snapshot, &kept));
        let next = Manifest::next(Some(&read), &snapshot, &kept);
        assert_eq!(next.generation, 2);
        assert_ne!(next.id, read.id);
    }

    #[test]
    fn an_env_only_manifest_of_an_earlier_grove_reads_as_env() {
        let text = r#"{"format":"grove-env-store/1","generation":3,"id":"00000003-ab",
            "pushed_at":0,"pushed_by":"x","files":{"version":{"sha256":"","size":0}},
            "directories":["build"]}"#;
        let manifest = Manifest::parse(text.as_bytes()).unwrap();
        assert_eq!(manifest.files.keys().collect::<Vec<_>>(), ["env/version"]);
        assert_eq!(manifest.directories, ["env/build"]);
        assert_eq!(manifest.stored_path("env/version"), "version");
        assert!(manifest.kept.is_empty());
    }

    #[test]
    fn a_manifest_with_a_path_out_of_env_is_refused() {
        let text = r#"{"format":"grove-env-store/1","generation":1,"id":"00000001-ab",
            "pushed_at":0,"pushed_by":"x","files":{"../x":{"sha256":"","size":0}}}"#;
        assert!(Manifest::parse(text.as_bytes())
            .unwrap_err()
            .contains("unsafe"));
    }
}
