//! The fleet: a cluster repository given as data, path → text, and the typed settings in it.
//!
//! The CLI reads the files from disk; the web page gets them from a dropped folder. Either way
//! core sees the same map. Instance files are parsed only when a plan needs them, so a broken
//! `config.yml` stops only the pipelines that use that instance (and batch upgrades, which must
//! read every instance to decide).

use crate::diagnostic::Diagnostic;
use crate::error::{Cause, Error, Result};
pub use crate::hash::short_hash;
use crate::name::InstanceName;
use crate::settings::{self, ClusterSettings, InstanceConfig, InstanceSettings};
use std::collections::{BTreeMap, BTreeSet};

/// A cluster repository as data: paths relative to its root (with `/`), and their text.
pub type Files = BTreeMap<String, String>;

/// The cluster-wide settings file.
pub const CLUSTER_SETTINGS: &str = "grove.yml";
/// The folder that holds one folder per instance.
pub const INSTANCES_DIR: &str = "instances";
/// What `grove new` copies into a new instance.
pub const DEFAULTS_DIR: &str = "defaults";
/// An instance's Tutor config.
pub const CONFIG_FILE: &str = "config.yml";
/// An instance's Grove settings.
pub const SETTINGS_FILE: &str = "grove.yml";
/// An instance's Python requirements (tutor and plugins).
pub const REQUIREMENTS_FILE: &str = "grove-requirements.txt";
/// The folder of a cluster repository's own pipeline templates.
pub const TEMPLATES_DIR: &str = "templates/pipelines";
/// The file name suffix of pipeline templates.
pub const TEMPLATE_SUFFIX: &str = ".yml.hbs";

/// One instance, parsed.
#[derive(Debug, Clone)]
pub struct Instance {
    /// Its name (and folder name).
    pub name: InstanceName,
    /// What Grove reads of its Tutor config.
    pub config: InstanceConfig,
    /// Its Grove settings.
    pub settings: InstanceSettings,
}

/// A folder under `instances/` that is not an instance, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    /// The folder name.
    pub folder: String,
    /// Why it was not taken as an instance.
    pub reason: String,
}

/// The cluster repository: its settings, its instances, its template overrides.
#[derive(Debug, Clone, Default)]
pub struct Fleet {
    /// The root `grove.yml`.
    pub settings: ClusterSettings,
    /// Every folder with a `config.yml` and a valid name.
    instances: BTreeSet<InstanceName>,
    /// What Grove reads of each instance's `config.yml`, parsed once (or why it does not
    /// parse, which fails only the plans that use the instance).
    configs: BTreeMap<InstanceName, Result<InstanceConfig>>,
    /// Folders under `instances/` that are not instances.
    pub ignored: Vec<Ignored>,
    /// The short hash of `defaults/grove-requirements.txt`, if there is one.
    pub defaults_requirements_hash: Option<String>,
    files: Files,
}

impl Fleet {
    /// Indexes a cluster repository and reads its root `grove.yml`.
    pub fn new(files: Files) -> Result<Fleet> {
        let settings = cluster_settings(files.get(CLUSTER_SETTINGS).map(String::as_str))?;
        let mut instances = BTreeSet::new();
        let mut ignored = Vec::new();
        let prefix = format!("{INSTANCES_DIR}/");
        let mut last_folder = "";
        for path in files.keys() {
            let Some(rest) = path.strip_prefix(&prefix) else {
                continue;
            };
            let Some((folder, file)) = rest.split_once('/') else {
                continue;
            };
            if folder == last_folder || folder.starts_with('.') {
                continue;
            }
            if file != CONFIG_FILE
                && !files.contains_key(&format!("{prefix}{folder}/{CONFIG_FILE}"))
            {
                continue;
            }
            last_folder = folder;
            match InstanceName::parse(folder) {
                Ok(name) => {
                    instances.insert(name);
                }
                Err(invalid) => ignored.push(Ignored {
                    folder: folder.to_string(),
                    reason: format!("not a valid instance name: {}", invalid.message),
                }),
            }
        }
        let defaults_requirements_hash = files
            .get(&format!("{DEFAULTS_DIR}/{REQUIREMENTS_FILE}"))
            .map(|text| short_hash(text));
        let configs = instances
            .iter()
            .map(|name| {
                let path = format!("{INSTANCES_DIR}/{name}/{CONFIG_FILE}");
                let text = files.get(&path).map(String::as_str).unwrap_or_default();
                let config = settings::parse(&path, text);
                (name.clone(), config)
            })
            .collect();
        let fleet = Fleet {
            settings,
            instances,
            configs,
            ignored,
            defaults_requirements_hash,
            files,
        };
        fleet.check_unique()?;
        Ok(fleet)
    }

    /// Refuses two instances that would share a Kubernetes namespace (`K8S_NAMESPACE`, else
    /// the name) or an `LMS_HOST`: one's deployment would overwrite the other's, and archiving
    /// one would stop both. Instances whose config does not parse are left to their own plans.
    fn check_unique(&self) -> Result<()> {
        let mut namespaces: BTreeMap<&str, &InstanceName> = BTreeMap::new();
        let mut hosts: BTreeMap<String, &InstanceName> = BTreeMap::new();
        for (name, config) in &self.configs {
            let Ok(config) = config else { continue };
            let namespace = config.k8s_namespace.as_deref().unwrap_or(name.as_str());
            if let Some(other) = namespaces.insert(namespace, name) {
                return Err(self.shared(
                    other,
                    name,
                    CONFIG_FILE,
                    "K8S_NAMESPACE",
                    &format!("the Kubernetes namespace {namespace:?}"),
                ));
            }
            if let Some(host) = &config.lms_host {
                if let Some(other) = hosts.insert(host.as_str().to_ascii_lowercase(), name) {
                    return Err(self.shared(
                        other,
                        name,
                        CONFIG_FILE,
                        "LMS_HOST",
                        &format!("the LMS_HOST {:?}", host.as_str()),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The error for instances `a` and `b` that share `what`, pointing at `key` in `b`'s file.
    fn shared(
        &self,
        a: &InstanceName,
        b: &InstanceName,
        file: &str,
        key: &str,
        what: &str,
    ) -> Error {
        let path = format!("{INSTANCES_DIR}/{b}/{file}");
        self.key_diagnostic(
            &path,
            key,
            &format!("instances \"{a}\" and \"{b}\" would share {what}: give each its own (one deployment would overwrite the other's)"),
        )
    }

    /// Whether `instances/NAME/config.yml` exists.
    pub fn contains(&self, name: &InstanceName) -> bool {
        self.instances.contains(name)
    }

    /// Every instance name, sorted.
    pub fn names(&self) -> impl Iterator<Item = &InstanceName> {
        self.instances.iter()
    }

    /// How many instances there are.
    pub fn len(&self) -> usize {
        self.instances.len()
    }

    /// Whether there are no instances.
    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }

    /// The text of a file of the repository, if it is there.
    pub fn file(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(String::as_str)
    }

    /// Every file under `dir/`, with its path relative to `dir`.
    pub fn files_under<'a>(&'a self, dir: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        let prefix = format!("{dir}/");
        self.files
            .range(prefix.clone()..)
            .take_while(move |(path, _)| path.starts_with(&prefix))
            .map(move |(path, text)| (&path[dir.len() + 1..], text.as_str()))
    }

    /// What Grove read of an instance's `config.yml`, if it is an instance whose config parsed.
    pub fn config(&self, name: &InstanceName) -> Option<&InstanceConfig> {
        self.configs.get(name)?.as_ref().ok()
    }

    /// Parses one instance. Fails with exit 3 if it is not there, 5 if a file is malformed.
    pub fn instance(&self, name: &InstanceName) -> Result<Instance> {
        if !self.contains(name) {
            return Err(Error::new(
                Cause::NoSuchInstance,
                format!("no such instance \"{name}\": {INSTANCES_DIR}/{name}/{CONFIG_FILE} does not exist"),
            ));
        }
        let path = |file: &str| format!("{INSTANCES_DIR}/{name}/{file}");
        let config = self
            .configs
            .get(name)
            .cloned()
            .unwrap_or_else(|| Ok(InstanceConfig::default()))?;
        let settings_path = path(SETTINGS_FILE);
        let settings = match self.file(&settings_path) {
            Some(text) => settings::parse(&settings_path, text)?,
            None => InstanceSettings::default(),
        };
        Ok(Instance {
            name: name.clone(),
            config,
            settings,
        })
    }

    /// The short hash of the requirements an instance's venv is built from (its own file, else
    /// `defaults/`, else `none`), for cache keys. Computed only for the instances a plan takes.
    pub fn requirements_hash(&self, name: &InstanceName) -> String {
        self.file(&format!("{INSTANCES_DIR}/{name}/{REQUIREMENTS_FILE}"))
            .map(short_hash)
            .or_else(|| self.defaults_requirements_hash.clone())
            .unwrap_or_else(|| "none".to_string())
    }

    /// Where a top-level key of a YAML file is, for pointing at it in messages.
    pub fn key_diagnostic(&self, path: &str, key: &str, message: &str) -> Error {
        let text = self.file(path).unwrap_or_default();
        let range = key_range(text, key).unwrap_or(0..0);
        Error::located(
            Cause::setting(path, key),
            format!("{path}: {message}"),
            path,
            text,
            vec![Diagnostic::error(range, message)],
        )
    }
}

/// The cluster's settings from the text of its `grove.yml`, if it has one (every key is
/// optional).
pub fn cluster_settings(text: Option<&str>) -> Result<ClusterSettings> {
    match text {
        Some(text) => settings::parse_cluster(CLUSTER_SETTINGS, text),
        None => Ok(ClusterSettings::default()),
    }
}

/// Whether Grove reads the file at `path` (relative to the cluster root, with `/`): the one list
/// of the files of a cluster repository that core looks at.
///
/// These are the root `grove.yml`, `defaults/grove-requirements.txt`, the pipeline templates
/// directly in `templates/pipelines/`, `config.yml`, `grove.yml` and `grove-requirements.txt`
/// of each folder under `instances/` whose name does not start with `.`, and the Terraform
/// files (`*.tf`) of a folder such as `infrastructure/`, whose presence is all Grove reads of
/// them.
pub fn is_fleet_file(path: &str) -> bool {
    fn under<'a>(path: &'a str, dir: &str) -> Option<&'a str> {
        path.strip_prefix(dir)?.strip_prefix('/')
    }
    if path == CLUSTER_SETTINGS {
        return true;
    }
    // A Terraform configuration, whose presence plans that run Terraform check: `*.tf` files of
    // a folder outside instances/, defaults/ and templates/, at most three folders deep.
    if path.ends_with(".tf")
        && path.split('/').count() <= 4
        && ![INSTANCES_DIR, DEFAULTS_DIR, "templates"]
            .iter()
            .any(|dir| path.starts_with(&format!("{dir}/")))
    {
        return true;
    }
    if let Some(file) = under(path, DEFAULTS_DIR) {
        return file == REQUIREMENTS_FILE;
    }
    if let Some(file) = under(path, TEMPLATES_DIR) {
        return file.ends_with(TEMPLATE_SUFFIX) && !file.contains('/');
    }
    if let Some(rest) = under(path, INSTANCES_DIR) {
        return match rest.split_once('/') {
            Some((folder, file)) => {
                !folder.is_empty() && !folder.starts_with('.') && INSTANCE_FILES.contains(&file)
            }
            None => false,
        };
    }
    false
}

/// The files of an instance folder that Grove reads.
pub const INSTANCE_FILES: [&str; 3] = [CONFIG_FILE, SETTINGS_FILE, REQUIREMENTS_FILE];

/// The byte range of `KEY:` at the start of a line of a YAML file.
fn key_range(text: &str, key: &str) -> Option<std::ops::Range<usize>> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.starts_with(key) && line[key.len()..].trim_start().starts_with(':') {
            return Some(offset..offset + key.len());
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet(files: &[(&str, &str)]) -> Fleet {
        Fleet::new(
            files
                .iter()
                .map(|(p, t)| (p.to_string(), t.to_string()))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn instances_are_folders_with_a_config() {
        let f = fleet(&[
            ("instances/a/config.yml", "LMS_HOST: a.org\n"),
            ("instances/b/grove.yml", "BATCH_UPGRADE_DISABLED: true\n"),
            ("instances/Bad/config.yml", ""),
            ("instances/.tmp-x/config.yml", ""),
            ("defaults/grove-requirements.txt", "tutor\n"),
        ]);
        let names: Vec<&str> = f.names().map(InstanceName::as_str).collect();
        assert_eq!(names, ["a"]);
        assert_eq!(f.ignored.len(), 1);
        assert_eq!(f.ignored[0].folder, "Bad");
        let a = f.instance(&InstanceName::parse("a").unwrap()).unwrap();
        assert_eq!(a.name.as_str(), "a");
        assert_eq!(f.requirements_hash(&a.name), short_hash("tutor\n"));
    }

    #[test]
    fn a_malformed_config_names_its_file_and_line() {
        let f = fleet(&[(
            "instances/a/config.yml",
            "LMS_HOST: a\nEDX_PLATFORM_VERSION: [1\n",
        )]);
        let e = f.instance(&InstanceName::parse("a").unwrap()).unwrap_err();
        assert_eq!(
            e.cause,
            Cause::File {
                path: "instances/a/config.yml".into(),
                key: Some("EDX_PLATFORM_VERSION".into())
            }
        );
        assert!(
            e.message.starts_with("instances/a/config.yml:"),
            "{}",
            e.message
        );
        let f = fleet(&[
            ("instances/a/grove.yml", "BATCH_UPGRADE_DISABLED: maybe\n"),
            ("instances/a/config.yml", ""),
        ]);
        let e = f.instance(&InstanceName::parse("a").unwrap()).unwrap_err();
        assert!(
            e.message.starts_with("instances/a/grove.yml:1:"),
            "{}",
            e.message
        );
    }

    #[test]
    fn two_instances_may_not_share_a_namespace_or_a_host() {
        let check = |files: &[(&str, &str)]| {
            Fleet::new(
                files
                    .iter()
                    .map(|(p, t)| (p.to_string(), t.to_string()))
                    .collect(),
            )
            .map(|_| ())
            .map_err(|e| (e.exit_code(), e.message))
        };
        assert_eq!(
            check(&[
                ("instances/a/config.yml", "LMS_HOST: a.org\n"),
                (
                    "instances/b/config.yml",
                    "LMS_HOST: b.org\nK8S_NAMESPACE: c\n"
                ),
                (
                    "instances/c/config.yml",
                    "LMS_HOST: c.org\nK8S_NAMESPACE: a-ns\n"
                ),
            ]),
            Ok(())
        );
        assert_eq!(
            check(&[
                ("instances/a/config.yml", "LMS_HOST: a.org\n"),
                ("instances/b/config.yml", "LMS_HOST: b.org\nK8S_NAMESPACE: a\n"),
            ]),
            Err((5, "instances/b/config.yml: instances \"a\" and \"b\" would share the Kubernetes namespace \"a\": give each its own (one deployment would overwrite the other's)".into()))
        );
        assert_eq!(
            check(&[
                ("instances/a/config.yml", "LMS_HOST: Courses.example.org\n"),
                ("instances/b/config.yml", "LMS_HOST: courses.example.org\n"),
            ]),
            Err((5, "instances/b/config.yml: instances \"a\" and \"b\" would share the LMS_HOST \"courses.example.org\": give each its own (one deployment would overwrite the other's)".into()))
        );
        // A config that does not parse fails the plans that use it, not the fleet.
        assert_eq!(
            check(&[
                ("instances/a/config.yml", "LMS_HOST: [\n"),
                ("instances/b/config.yml", "LMS_HOST: b.org\n"),
            ]),
            Ok(())
        );
    }

    #[test]
    fn a_missing_instance_is_exit_3() {
        let f = fleet(&[]);
        let e = f.instance(&InstanceName::parse("a").unwrap()).unwrap_err();
        assert_eq!(e.exit_code(), 3);
    }
}
