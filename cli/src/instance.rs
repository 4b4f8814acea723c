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
///
/// One idempotent step: with the same inputs, a second run changes nothing. With
/// `--edx-platform-version`, `EDX_PLATFORM_VERSION` in `config.yml` is set first (the rest of
/// the file is kept, and the file is rewritten whole or not at all).
pub fn prepare(
    context: &crate::Context,
    name: &InstanceName,
    edx_platform_version: Option<&str>,
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
    let config = repository.instance_dir(name).join(CONFIG_FILE);
    if let Some(version) = &version {
        let text = fs::read_to_string(&config).map_err(|e| Failure::io("read", &config, e))?;
        let changed = with_top_level_key(&text, "EDX_PLATFORM_VERSION", version.as_str());
        if changed != text {
            crate::repository::write_atomically(&config, changed.as_bytes())?;
            context.ui.info(format!(
                "set EDX_PLATFORM_VERSION to {version} in {INSTANCES_DIR}/{name}/{CONFIG_FILE}"
            ));
        }
    }
    // A config.yml that does not parse is exit 5, naming the file and the line, before Tutor.
    repository.fleet_of(name)?;
    let settings = crate::terraform::instance_settings(context, name)?;
    let mut save = crate::tutor::command(context, name)?;
    save.args(["config", "save"]);
    for (key, value) in &settings {
        save.arg("--set").arg(crate::tutor::setting(key, value));
    }
    crate::process::run(&context.ui, &mut save)?;
    context.ui.info(format!(
        "prepared {INSTANCES_DIR}/{name}: Tutor's env rendered{}",
        match settings.len() {
            0 => String::new(),
            n => format!(" with {n} settings from Terraform"),
        }
    ));
    Ok(())
}

/// `text` (a YAML mapping) with the top-level `key` set to `value`: its line replaced (with
/// any indented lines that continue it), or appended when it is missing. Other lines are kept.
fn with_top_level_key(text: &str, key: &str, value: &str) -> String {
    let prefix = format!("{key}:");
    let mut lines: Vec<&str> = text.lines().collect();
    let current = lines.iter().position(|line| {
        line.strip_prefix(&prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
    });
    if let Some(at) = current {
        let unquoted = lines[at][prefix.len()..]
            .split(" #")
            .next()
            .unwrap_or_default()
            .trim()
            .trim_matches(|c| c == '\'' || c == '"');
        let continued = lines[at + 1..]
            .iter()
            .take_while(|l| l.starts_with([' ', '\t']))
            .count();
        if unquoted == value && continued == 0 {
            return text.to_string();
        }
        lines.drain(at + 1..at + 1 + continued);
    }
    // The value is a checked version (letters, digits, / . _ - +): single quotes keep it text.
    let line = format!("{key}: '{value}'");
    let mut out = String::with_capacity(text.len() + line.len() + 1);
    let mut placed = false;
    for (i, l) in lines.iter().enumerate() {
        if Some(i) == current {
            out.push_str(&line);
            placed = true;
        } else {
            out.push_str(l);
        }
        out.push('\n');
    }
    if !placed {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::with_top_level_key;

    #[test]
    fn sets_a_top_level_key_and_keeps_the_rest() {
        let text = "A: 1\nEDX_PLATFORM_VERSION: open-release/sumac.1\nB: 2\n";
        assert_eq!(
            with_top_level_key(text, "EDX_PLATFORM_VERSION", "v2"),
            "A: 1\nEDX_PLATFORM_VERSION: 'v2'\nB: 2\n"
        );
        assert_eq!(
            with_top_level_key("A: 1", "EDX_PLATFORM_VERSION", "v2"),
            "A: 1\nEDX_PLATFORM_VERSION: 'v2'\n"
        );
        // Same value: the text is left exactly as it was.
        assert_eq!(
            with_top_level_key(text, "EDX_PLATFORM_VERSION", "open-release/sumac.1"),
            text
        );
        // Nested keys of the same name and longer keys are not touched; continuations go.
        let text = "X:\n  EDX_PLATFORM_VERSION: a\nEDX_PLATFORM_VERSION_2: b\nEDX_PLATFORM_VERSION: >-\n  old\nC: 3\n";
        assert_eq!(
            with_top_level_key(text, "EDX_PLATFORM_VERSION", "v2"),
            "X:\n  EDX_PLATFORM_VERSION: a\nEDX_PLATFORM_VERSION_2: b\nEDX_PLATFORM_VERSION: 'v2'\nC: 3\n"
        );
    }
}
