//! Comprehensive themes: cloned with git into Tutor's build context before the image is built,
//! with the instance's SCSS overrides written into the first one, never through a link that
//! leads out of it.

use crate::boundary::Boundary;
use crate::failure::Failure;
use crate::process;
use crate::Context;
use grove_core::name::InstanceName;
use grove_core::{Cause, Error};
use std::fs;
use std::process::Command;

fn invalid(name: &InstanceName, message: String) -> Failure {
    Failure::Core(Error::new(
        Cause::file(format!("instances/{name}/grove.yml")),
        format!("instances/{name}/grove.yml: {message}"),
    ))
}

/// `grove predeploy`: clone each theme (replacing an older clone whole), then write the SCSS
/// overrides into the first theme.
pub fn predeploy(context: &Context, name: &InstanceName) -> Result<(), Failure> {
    // The settings were checked as they were read: theme names are folder names, repositories
    // and versions what git takes without reading them as options, override paths inside.
    let (_, instance) = context.repository.fleet_of(name)?;
    let themes = &instance.settings.themes;
    let overrides = &instance.settings.theme_scss_overrides;
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
    for theme in themes {
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
            .arg(theme.repository.as_str())
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
        for (relative, text) in overrides {
            theme.resolve(relative)?;
            let (parent, _) = relative.rsplit_once('/').unwrap_or(("", relative));
            theme.folder(parent, 0o777)?;
            let file = theme.resolve(relative)?;
            crate::repository::write_atomically(&file, text.as_bytes())?;
            context.ui.info(format!("wrote SCSS override {relative}"));
        }
    }
    Ok(())
}
