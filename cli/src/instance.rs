//! Instance folders on disk: creating one from `defaults/`, whole or not at all, or listing
//! the files it would hold (`grove new --commit`).

use crate::failure::Failure;
use grove_core::fleet::{CONFIG_FILE, DEFAULTS_DIR, INSTANCES_DIR};
use grove_core::name::InstanceName;
use grove_core::state::{Setting, SettingSource, SettingValue};
use grove_core::{Cause, Error};
use std::fs;
use std::io::ErrorKind as IoKind;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Creates `instances/NAME/` as a copy of `defaults/`.
///
/// The copy is built in a hidden folder beside it and renamed into place, so the instance is
/// either there whole or not at all. It is built holding the instance's lock
/// ([`crate::state::lock`]), so a concurrent `grove new NAME` waits, then finds the instance
/// there and fails with exit 4, as does one that starts when it exists. Nothing is read or
/// written outside the repository: a link in `defaults/` is copied as the file it names inside
/// it, and refused otherwise (exit 5), as is `instances/` or `instances/NAME` leading out.
pub fn create(context: &crate::Context, name: &InstanceName) -> Result<(), Failure> {
    stage(context, name)?.place()
}

/// A file of a new instance: its path inside `instances/NAME/` (names separated by `/`), its
/// bytes, and whether it is executable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    pub path: String,
    pub bytes: Vec<u8>,
    pub executable: bool,
}

/// The files `grove new NAME` would put in `instances/NAME/`, sorted by path, checked as
/// [`create`] checks them (exit 4 when the instance exists, exit 5 for what `defaults/` may not
/// hold), with nothing left on disk: the copy is made exactly as [`create`] makes it, read, and
/// removed. Empty folders are not listed (git holds files only).
pub fn files(context: &crate::Context, name: &InstanceName) -> Result<Vec<NewFile>, Failure> {
    let staged = stage(context, name)?;
    let mut files = Vec::new();
    read_staged(&staged.staging, "", &mut files)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// A copy of `defaults/` for the new instance, in a hidden folder under `instances/`, made
/// holding the instance's lock: renamed into place by [`Staged::place`], removed when dropped
/// otherwise (before the lock is released).
struct Staged {
    parent: PathBuf,
    staging: PathBuf,
    target: PathBuf,
    name: InstanceName,
    _lock: fs::File,
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Gone already once placed.
        let _ = fs::remove_dir_all(&self.staging);
    }
}

/// Copies `defaults/` for the new instance `name`, after checking that it does not exist.
fn stage(context: &crate::Context, name: &InstanceName) -> Result<Staged, Failure> {
    let repository = &context.repository;
    let boundary = repository.boundary()?;
    let exists = || -> Failure {
        Error::new(
            Cause::AlreadyExists,
            format!(
                "instance \"{name}\" already exists: {INSTANCES_DIR}/{name}/{CONFIG_FILE} is there"
            ),
        )
        .into()
    };
    let config = format!("{INSTANCES_DIR}/{name}/{CONFIG_FILE}");
    if boundary.resolve(&config)?.exists() {
        return Err(exists());
    }
    let defaults = format!("{DEFAULTS_DIR}/{CONFIG_FILE}");
    if boundary.resolve(&defaults)?.symlink_metadata().is_err() {
        return Err(Error::new(
            Cause::file(&defaults),
            format!(
                "{defaults} is missing: `grove new` copies {DEFAULTS_DIR}/ into the new instance"
            ),
        )
        .into());
    }
    let parent = boundary.folder(INSTANCES_DIR, 0o777)?;
    let lock = crate::state::lock(context, name)?;
    // Another run may have created it while this one waited for the lock.
    if boundary.resolve(&config)?.exists() {
        return Err(exists());
    }
    let target = repository.instance_dir(name)?;
    remove_leftovers(&parent, name);
    let staged = Staged {
        staging: parent.join(format!(".{name}.new-{}", std::process::id())),
        parent,
        target,
        name: name.clone(),
        _lock: lock,
    };
    boundary.copy_tree(DEFAULTS_DIR, &staged.staging, &[".venv"])?;
    Ok(staged)
}

impl Staged {
    /// Renames the copy into place as `instances/NAME/`, synced.
    fn place(self) -> Result<(), Failure> {
        let name = &self.name;
        sync_dir(&self.staging)?;
        fs::rename(&self.staging, &self.target).map_err(|e| {
            if matches!(e.kind(), IoKind::AlreadyExists | IoKind::DirectoryNotEmpty) {
                Error::new(
                    Cause::AlreadyExists,
                    format!("{INSTANCES_DIR}/{name}/ already exists but holds no {CONFIG_FILE}; move it away first"),
                )
                .into()
            } else {
                Failure::io("create", &self.target, e)
            }
        })?;
        sync_dir(&self.parent)
    }
}

/// Reads the files of the copy at `dir` (`shown` inside the instance) into `files`. The copy
/// holds only folders and regular files, made by [`crate::boundary::Boundary::copy_tree`].
fn read_staged(dir: &Path, shown: &str, files: &mut Vec<NewFile>) -> Result<(), Failure> {
    let entries = fs::read_dir(dir).map_err(|e| Failure::io("list", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Failure::io("list", dir, e))?;
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            return Err(Error::new(
                Cause::file(format!("{DEFAULTS_DIR}/{shown}")),
                format!(
                    "{DEFAULTS_DIR}/{shown}{} has a name that is not UTF-8: git hosts take UTF-8 paths only",
                    file_name.to_string_lossy()
                ),
            )
            .into());
        };
        let path = format!("{shown}{file_name}");
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            read_staged(&entry.path(), &format!("{path}/"), files)?;
            continue;
        }
        let (bytes, metadata) =
            crate::boundary::read_file(&entry.path(), &path)?.ok_or_else(|| {
                Failure::io(
                    "read",
                    &entry.path(),
                    std::io::Error::from(IoKind::NotFound),
                )
            })?;
        files.push(NewFile {
            path,
            bytes,
            executable: metadata.permissions().mode() & 0o111 != 0,
        });
    }
    Ok(())
}

/// Removes the staging folders of `grove new NAME` in `parent`: only the holder of the
/// instance's lock calls this, so their owners are gone (killed, or failed to clean up).
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

/// Flushes a folder's entries to disk.
fn sync_dir(dir: &Path) -> Result<(), Failure> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Failure::io("sync", dir, e))
}

/// `grove prepare`: create the instance from `defaults/` if it is missing, then render its
/// Tutor config and env in its Tutor root from git, the store and Terraform's outputs, and
/// push the result to the store (see [`crate::state::prepare`]). With `dotenv`, the generation
/// it made is written there for the later jobs of the pipeline.
///
/// One idempotent step: with the same inputs, a second run stores nothing new. With
/// `--edx-platform-version`, that version is Tutor's `EDX_PLATFORM_VERSION` for this run, over
/// the one in git (a batch upgrade to a commit); `config.yml` in git is never written.
pub fn prepare(
    context: &crate::Context,
    name: &InstanceName,
    edx_platform_version: Option<&str>,
    dotenv: Option<&Path>,
) -> Result<(), Failure> {
    // Check everything given before touching anything.
    let version = edx_platform_version
        .map(|text| {
            crate::checked(
                "--edx-platform-version",
                text,
                grove_core::value::Version::parse,
            )
        })
        .transpose()?;
    let repository = &context.repository;
    if !repository.instance_dir(name)?.join(CONFIG_FILE).is_file() {
        match create(context, name) {
            Ok(()) => context.ui.info(format!(
                "created {INSTANCES_DIR}/{name} from {DEFAULTS_DIR}/"
            )),
            // Another run created it in the meantime: just as good.
            Err(Failure::Core(e))
                if e.cause == Cause::AlreadyExists && repository.require(name).is_ok() => {}
            Err(failure) => return Err(failure),
        }
    }
    // A config.yml that does not parse is exit 5, naming the file and the line, before Tutor.
    repository.fleet_of(name)?;
    let mut settings = crate::terraform::instance_settings(context, name)?;
    let from_terraform = settings.len();
    if let Some(version) = &version {
        settings.push(Setting {
            key: "EDX_PLATFORM_VERSION".into(),
            value: SettingValue::Text(version.to_string()),
            source: SettingSource::Pipeline,
        });
    }
    let id = crate::state::prepare(context, name, &settings)?;
    if let Some(path) = dotenv {
        crate::repository::write_atomically(path, crate::state::dotenv(name, &id).as_bytes())?;
    }
    context.ui.info(format!(
        "prepared {name}: Tutor's config and env rendered{}{}",
        match from_terraform {
            0 => String::new(),
            n => format!(" with {n} settings from Terraform"),
        },
        match &version {
            Some(v) => format!(", at edx-platform {v} for this run"),
            None => String::new(),
        }
    ));
    Ok(())
}
