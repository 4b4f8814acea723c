//! Instance folders on disk: creating one from `defaults/`, whole or not at all.

use crate::failure::Failure;
use crate::repository::Repository;
use grove_core::fleet::{CONFIG_FILE, DEFAULTS_DIR, INSTANCES_DIR};
use grove_core::name::InstanceName;
use grove_core::state::{Setting, SettingSource, SettingValue};
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
            grove_core::request::Version::parse(text).map_err(|invalid| {
                Failure::Core(Error::invalid(
                    format!("invalid --edx-platform-version: {}", invalid.message),
                    "--edx-platform-version",
                    text,
                    vec![invalid.at(0)],
                ))
            })
        })
        .transpose()?;
    let repository = &context.repository;
    if !repository.instance_dir(name).join(CONFIG_FILE).is_file() {
        match create(repository, name) {
            Ok(()) => context.ui.info(format!(
                "created {INSTANCES_DIR}/{name} from {DEFAULTS_DIR}/"
            )),
            // Another run created it in the meantime: just as good.
            Err(Failure::Core(e))
                if e.kind == ErrorKind::AlreadyExists && repository.require(name).is_ok() => {}
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
