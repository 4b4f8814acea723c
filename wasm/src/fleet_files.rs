//! Which files of a cluster repository the playground needs: the same ones the CLI reads.
//!
//! The page asks this before it reads a dropped folder, so that a large tree (with `.venv/`
//! folders, Tutor's `env/`, images) costs nothing beyond its file names.

/// Whether core reads the file at `path` (relative to the cluster root, with `/`): core's one
/// list, [`grove_core::fleet::is_fleet_file`].
///
/// These are the root `grove.yml`, `defaults/grove-requirements.txt`, the pipeline templates
/// directly in `templates/pipelines/`, and `config.yml`, `grove.yml` and
/// `grove-requirements.txt` of each folder under `instances/`.
pub fn is_fleet_file(path: &str) -> bool {
    grove_core::fleet::is_fleet_file(path)
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
