//! Comprehensive themes: cloned with git into Tutor's build context before the image is built,
//! with the instance's SCSS overrides written into the first one, never through a link that
//! leads out of it.

use crate::boundary::Boundary;
use crate::failure::Failure;
use crate::process;
use crate::Context;
use grove_core::fleet::{InstanceSettings, Theme};
use grove_core::name::InstanceName;
use grove_core::request::{Repository, Version};
use grove_core::{Error, ErrorKind};
use std::fs;
use std::path::{Component, Path};
use std::process::Command;

fn invalid(name: &InstanceName, message: String) -> Failure {
    Failure::Core(Error::new(
        ErrorKind::InvalidInput,
        format!("instances/{name}/grove.yml: {message}"),
    ))
}

/// The instance's themes, each value checked: names are folder names, repositories and
/// versions are what git can take without reading them as options.
pub fn checked(name: &InstanceName, settings: &InstanceSettings) -> Result<Vec<Theme>, Failure> {
    for theme in &settings.themes {
        InstanceName::parse(&theme.name)
            .map_err(|e| invalid(name, format!("theme name {:?}: {}", theme.name, e.message)))?;
        Repository::parse(&theme.repository).map_err(|e| {
            invalid(
                name,
                format!("theme {}: repository: {}", theme.name, e.message),
            )
        })?;
        Version::parse(&theme.version).map_err(|e| {
            invalid(
                name,
                format!("theme {}: version: {}", theme.name, e.message),
            )
        })?;
    }
    Ok(settings.themes.clone())
}

/// Checks that an SCSS override path stays inside the theme.
fn checked_path<'a>(name: &InstanceName, path: &'a str) -> Result<&'a Path, Failure> {
    let p = Path::new(path);
    let inside = !path.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)));
    if inside && path.ends_with(".scss") {
        Ok(p)
    } else {
        Err(invalid(
            name,
            format!("THEME_SCSS_OVERRIDES: {path:?} is not a relative .scss path inside the theme"),
        ))
    }
}

/// `grove predeploy`: clone each theme (replacing an older clone whole), then write the SCSS
/// overrides into the first theme.
pub fn predeploy(context: &Context, name: &InstanceName) -> Result<(), Failure> {
    let (_, instance) = context.repository.fleet_of(name)?;
    let themes = checked(name, &instance.settings)?;
    let overrides: Vec<(&Path, &String)> = instance
        .settings
        .theme_scss_overrides
        .iter()
        .map(|(path, text)| Ok((checked_path(name, path)?, text)))
        .collect::<Result<_, Failure>>()?;
    if themes.is_empty() && !overrides.is_empty() {
        return Err(invalid(
            name,
            "THEME_SCSS_OVERRIDES needs a theme in THEMES".into(),
        ));
    }
    // Where Tutor takes themes from when it builds the openedx image.
    let root = crate::state::open(context, name)?;
    let dir = root.dir.join(crate::state::THEMES_DIR);
    fs::create_dir_all(&dir).map_err(|e| Failure::io("create", &dir, e))?;
    for theme in &themes {
        let target = dir.join(&theme.name);
        let staging = dir.join(format!(".{}.clone", theme.name));
        let _ = fs::remove_dir_all(&staging);
        let mut clone = Command::new("git");
        clone
            .args([
                "clone",
                "--quiet",
                "--depth",
                "1",
                "--branch",
                theme.version.as_str(),
                "--",
            ])
            .arg(&theme.repository)
            .arg(&staging);
        if let Err(e) = process::run(&context.ui, &mut clone) {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
        if target.exists() {
            fs::remove_dir_all(&target).map_err(|e| Failure::io("replace", &target, e))?;
        }
        fs::rename(&staging, &target).map_err(|e| Failure::io("move into place", &target, e))?;
        context
            .ui
            .info(format!("cloned theme {} at {}", theme.name, theme.version));
    }
    if let Some(first) = themes.first() {
        // The clone is the theme's author's: its links are followed only while they stay in it.
        let folder = dir.join(&first.name);
        let theme = Boundary::new(&folder, format!("the theme {}", first.name))
            .map_err(|e| Failure::io("read", &folder, e))?;
        for (path, text) in overrides {
            let relative = path.to_string_lossy();
            theme.resolve(&relative)?;
            let (parent, _) = relative.rsplit_once('/').unwrap_or(("", &relative));
            theme.folder(parent, 0o777)?;
            let file = theme.resolve(&relative)?;
            crate::repository::write_atomically(&file, text.as_bytes())?;
            context
                .ui
                .info(format!("wrote SCSS override {}", path.display()));
        }
    }
    Ok(())
}
