//! Which files of a cluster repository a preview needs: the same ones the CLI reads.
//!
//! The page asks this before it reads a dropped folder, so that a large tree (with `.venv/`
//! folders, Tutor's `env/`, images) costs nothing beyond its file names.

use grove_core::fleet::{
    CLUSTER_SETTINGS, CONFIG_FILE, DEFAULTS_DIR, INSTANCES_DIR, REQUIREMENTS_FILE, SETTINGS_FILE,
    TEMPLATES_DIR,
};
use grove_core::template::SUFFIX;

/// Whether core reads the file at `path` (relative to the cluster root, with `/`).
///
/// These are the root `grove.yml`, `defaults/grove-requirements.txt`, the pipeline templates
/// directly in `templates/pipelines/`, and `config.yml`, `grove.yml` and
/// `grove-requirements.txt` of each folder under `instances/`.
pub fn is_fleet_file(path: &str) -> bool {
    if path == CLUSTER_SETTINGS {
        return true;
    }
    if let Some(file) = under(path, DEFAULTS_DIR) {
        return file == REQUIREMENTS_FILE;
    }
    if let Some(file) = under(path, TEMPLATES_DIR) {
        return file.ends_with(SUFFIX) && !file.contains('/');
    }
    if let Some(rest) = under(path, INSTANCES_DIR) {
        return match rest.split_once('/') {
            Some((folder, file)) => {
                !folder.is_empty()
                    && !folder.starts_with('.')
                    && [CONFIG_FILE, SETTINGS_FILE, REQUIREMENTS_FILE].contains(&file)
            }
            None => false,
        };
    }
    false
}

/// The rest of `path` after `dir/`, if it is under `dir`.
fn under<'a>(path: &'a str, dir: &str) -> Option<&'a str> {
    path.strip_prefix(dir)?.strip_prefix('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_core_reads() {
        for path in [
            "grove.yml",
            "defaults/grove-requirements.txt",
            "templates/pipelines/instance.yml.hbs",
            "instances/campus/config.yml",
            "instances/campus/grove.yml",
            "instances/campus/grove-requirements.txt",
        ] {
            assert!(is_fleet_file(path), "{path}");
        }
        for path in [
            "README.md",
            "defaults/config.yml",
            "templates/pipelines/old/instance.yml.hbs",
            "templates/pipelines/notes.txt",
            "instances/campus/env/lms.env.yml",
            "instances/campus/.venv/bin/tutor",
            "instances/.cache/config.yml",
            "instances/config.yml",
            "instancesx/a/config.yml",
        ] {
            assert!(!is_fleet_file(path), "{path}");
        }
    }
}
