//! An instance's state: the Tutor config values that git does not hold, and the config Grove
//! gives Tutor.
//!
//! Tutor's first `config save` generates an instance's secrets (`ID`, `MYSQL_ROOT_PASSWORD`,
//! `JWT_RSA_PRIVATE_KEY`, ...) into its `config.yml`. Grove never lets Tutor write the
//! `config.yml` in git. Tutor runs on a config that [`compose`] makes from
//!
//! 1. the instance's `config.yml` in git, which wins for every key people set there;
//! 2. the values the store kept from the last run ([`Stored`]): what Tutor generated, what an
//!    operator set by hand with `grove tutor exec`, and the namespace;
//! 3. values Grove sets for one run ([`Setting`]): Terraform's outputs, over which git wins,
//!    and a batch upgrade's edx-platform version, which wins over git for that run;
//!
//! and once Tutor has saved, [`kept`] says which keys of its config the store keeps for the
//! next run.
//!
//! Configs are handled as text, one top-level entry at a time ([`Config`]): every value reaches
//! Tutor exactly as it was written, in git or by Tutor, and nothing is written out again in
//! another form, so Tutor reads each value as it reads it in its own file. Every cut and every
//! composition is read back and compared with its sources before it is used.

use crate::error::{Cause, Error, Result};
use crate::name::InstanceName;
use crate::yaml::{self, Limits, Node};
use std::collections::BTreeSet;

/// The Tutor setting that names an instance's Kubernetes namespace. Unless git sets it, Grove
/// gives Tutor the instance's name, and the store keeps it from then on, so it never moves.
pub const NAMESPACE_KEY: &str = "K8S_NAMESPACE";

/// One top-level entry of a config: its key and its text, with the value it reads as.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key.
    pub key: String,
    /// The entry as written, from the start of its key's line to the next entry; it ends with
    /// a line break.
    pub text: String,
    value: Node,
}

impl Entry {
    /// Whether `other` reads as the same value.
    pub fn same_value(&self, other: &Entry) -> bool {
        self.value == other.value
    }
}

/// A Tutor `config.yml` cut into its top-level entries, each checked to read as it reads in
/// the whole file.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// What comes before the first entry: a byte-order mark, directives, `---`, comments.
    prefix: String,
    entries: Vec<Entry>,
}

/// Whether a line starts a new top-level entry: it starts at its first column with neither
/// space, tab nor comment, and is neither a sequence item nor a document marker or directive.
fn starts_entry(line: &str) -> bool {
    let marker = |m: &str| {
        line.strip_prefix(m)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']))
    };
    match line.as_bytes().first() {
        None | Some(b' ' | b'\t' | b'\r' | b'\n' | b'#' | b'%') => false,
        Some(b'-') if marker("-") || marker("---") => false,
        Some(b'.') if marker("...") => false,
        Some(_) => true,
    }
}

impl Config {
    /// Cuts `text`, the file `path`, into its entries.
    ///
    /// Fails with exit 5 when it is not a mapping of string keys, or cannot be cut at lines
    /// that start with a key. With `secret`, the file holds generated secrets (the stored
    /// config): errors say where, never what.
    pub fn parse(path: &str, text: &str, secret: bool) -> Result<Config> {
        let fail = |message: String, at: usize| -> Error {
            let (line, column) = crate::diagnostic::line_column(text, at);
            let message = format!("{path}:{line}:{column}: {message}");
            if secret {
                Error::new(Cause::file(path), message)
            } else {
                let end = crate::diagnostic::floor_char_boundary(text, at + 1);
                Error::located(
                    Cause::file(path),
                    message.clone(),
                    path,
                    text,
                    vec![crate::diagnostic::Diagnostic::error(
                        at..end.max(at),
                        message,
                    )],
                )
            }
        };
        let whole = yaml::parse(text, &Limits::SETTINGS)
            .map_err(|e| fail(e.message, e.offset.unwrap_or(0)))?;
        let Some(expected) = keyed(&whole) else {
            return Err(fail(
                "a Tutor config is a mapping of KEY: value lines".into(),
                0,
            ));
        };
        let body_start = if text.starts_with('\u{feff}') { 3 } else { 0 };
        let mut starts = Vec::new();
        let mut offset = body_start;
        for line in text[body_start..].split_inclusive('\n') {
            if starts_entry(line) {
                starts.push(offset);
            }
            offset += line.len();
        }
        let cut_fails = |at: usize| {
            fail(
                "Grove reads a Tutor config one top-level key at a time, and cannot cut this file there: \
                 start each top-level key at the start of a line, as KEY: value, with what belongs to it on the lines below, indented"
                    .into(),
                at,
            )
        };
        if starts.len() != expected.len() {
            return Err(cut_fails(starts.get(expected.len()).copied().unwrap_or(0)));
        }
        let mut entries = Vec::with_capacity(starts.len());
        for (i, (key, value)) in expected.into_iter().enumerate() {
            let start = starts[i];
            let end = starts.get(i + 1).copied().unwrap_or(text.len());
            let mut entry_text = text[start..end].to_string();
            if !entry_text.ends_with('\n') {
                entry_text.push('\n');
            }
            let read = yaml::parse(&entry_text, &Limits::SETTINGS)
                .ok()
                .and_then(|node| keyed(&node));
            match read.as_deref() {
                Some([(k, v)]) if *k == key && *v == value => {}
                _ => return Err(cut_fails(start)),
            }
            entries.push(Entry {
                key,
                text: entry_text,
                value,
            });
        }
        Ok(Config {
            prefix: text[..starts.first().copied().unwrap_or(text.len())].to_string(),
            entries,
        })
    }

    /// The entries, in file order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry of `key`, if there is one.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }

    /// Every key, in file order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.key.as_str())
    }

    /// The value of `key` when it is a string.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(|e| e.value.as_str())
    }

    /// The whole file again.
    pub fn to_text(&self) -> String {
        let mut out = self.prefix.clone();
        for entry in &self.entries {
            out.push_str(&entry.text);
        }
        out
    }
}

/// The entries of a mapping whose keys are all text, in order; `None` for any other node.
fn keyed(node: &Node) -> Option<Vec<(String, Node)>> {
    node.entries()?
        .iter()
        .map(|(key, value)| Some((key.as_str()?.to_string(), value.clone())))
        .collect()
}

/// What the store kept of an instance from its last run: the config Tutor saved then, and the
/// keys of it that carry over.
#[derive(Debug, Clone, Copy)]
pub struct Stored<'a> {
    /// The config Tutor saved.
    pub config: &'a Config,
    /// The keys of it the next run starts from (see [`kept`]).
    pub kept: &'a BTreeSet<String>,
}

/// Who sets a [`Setting`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingSource {
    /// An output of the cluster's Terraform: the instance's `config.yml` wins over it.
    Terraform,
    /// The pipeline, for this run (a batch upgrade's edx-platform version): it wins over git.
    Pipeline,
}

/// A value of a setting Grove gives Tutor for one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingValue {
    /// Text, written as a quoted string.
    Text(String),
    /// An integer, written bare.
    Integer(i64),
    /// `true` or `false`.
    Bool(bool),
}

/// A value Grove sets in the config of one run, not from git nor from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The Tutor setting, `UPPER_CASE`.
    pub key: String,
    /// Its value.
    pub value: SettingValue,
    /// Who sets it.
    pub source: SettingSource,
}

impl Setting {
    /// The entry's text: `KEY: value` and a line break.
    fn text(&self) -> String {
        let value = match &self.value {
            SettingValue::Text(text) => yaml::quote(text),
            SettingValue::Integer(n) => n.to_string(),
            SettingValue::Bool(b) => b.to_string(),
        };
        format!("{}: {value}\n", self.key)
    }
}

/// The config one run of Tutor starts from.
#[derive(Debug, Clone, PartialEq)]
pub struct Composed {
    /// The `config.yml` Tutor reads.
    pub text: String,
    /// The keys that came from git and from the run's settings, not from the store.
    pub inputs: BTreeSet<String>,
    /// What is worth saying about it, one sentence each (never a value).
    pub notes: Vec<String>,
}

/// The config Tutor gets for instance `name`: `git`, with what the store kept that git does
/// not set, and the run's settings, each entry as its source wrote it (see the module's
/// documentation for which wins).
///
/// The result is read back and each entry compared with its source; a file that composes into
/// something else is exit 5.
pub fn compose(
    name: &InstanceName,
    git_path: &str,
    git: &Config,
    stored: Option<Stored<'_>>,
    settings: &[Setting],
) -> Result<Composed> {
    let in_git: BTreeSet<&str> = git.keys().collect();
    let setting = |key: &str| settings.iter().find(|s| s.key == key);
    // (key, text, the value it must read as: None for a setting, checked by reading its text)
    let mut parts: Vec<(String, String, Option<&Node>)> = Vec::new();
    let mut inputs = BTreeSet::new();
    let mut notes = Vec::new();
    for entry in git.entries() {
        inputs.insert(entry.key.clone());
        match setting(&entry.key) {
            Some(s) if s.source == SettingSource::Pipeline => {
                parts.push((s.key.clone(), s.text(), None));
            }
            Some(_) => {
                notes.push(format!(
                    "{} is set in {git_path}, which wins over Terraform's output for it",
                    entry.key
                ));
                parts.push((entry.key.clone(), entry.text.clone(), Some(&entry.value)));
            }
            None => parts.push((entry.key.clone(), entry.text.clone(), Some(&entry.value))),
        }
    }
    if let Some(stored) = stored {
        for entry in stored.config.entries() {
            if stored.kept.contains(&entry.key)
                && !in_git.contains(entry.key.as_str())
                && setting(&entry.key).is_none()
            {
                parts.push((entry.key.clone(), entry.text.clone(), Some(&entry.value)));
            }
        }
    }
    for s in settings {
        if !in_git.contains(s.key.as_str()) {
            inputs.insert(s.key.clone());
            parts.push((s.key.clone(), s.text(), None));
        }
    }
    if !parts.iter().any(|(key, _, _)| key == NAMESPACE_KEY) {
        inputs.insert(NAMESPACE_KEY.to_string());
        parts.push((
            NAMESPACE_KEY.to_string(),
            format!("{NAMESPACE_KEY}: {}\n", yaml::quote(name.as_str())),
            None,
        ));
    }
    let mut text = git.prefix.clone();
    for (_, part, _) in &parts {
        text.push_str(part);
    }
    let composed = Config::parse(git_path, &text, true).map_err(|e| {
        Error::new(
            Cause::file(git_path),
            format!(
                "{git_path}: the values the store keeps cannot be added to it: {}",
                e.message
            ),
        )
    })?;
    let same = composed.entries().len() == parts.len()
        && composed
            .entries()
            .iter()
            .zip(&parts)
            .all(|(entry, (key, _, value))| {
                entry.key == *key && value.is_none_or(|v| *v == entry.value)
            });
    if !same {
        return Err(Error::new(
            Cause::file(git_path),
            format!("{git_path}: adding the values the store keeps would change what it says; end it with its last KEY: value entry"),
        ));
    }
    Ok(Composed {
        text,
        inputs,
        notes,
    })
}

/// The keys of `saved` (the config Tutor saved after a run that started from `inputs` and the
/// kept keys `before`) that the store keeps for the next run: every key the run's inputs did
/// not set (Tutor generated it, or a command set it), every key kept before that is still
/// there (so a secret pinned in git and later unpinned keeps its value), and the namespace.
pub fn kept(
    saved: &Config,
    inputs: &BTreeSet<String>,
    before: &BTreeSet<String>,
) -> BTreeSet<String> {
    saved
        .keys()
        .filter(|key| !inputs.contains(*key) || before.contains(*key) || *key == NAMESPACE_KEY)
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        Config::parse("config.yml", text, false).unwrap()
    }

    fn keys(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|k| k.to_string()).collect()
    }

    /// What Tutor 22 writes (PyYAML, block style, sorted keys, indentless sequences, long and
    /// multi-line strings continued on indented lines).
    const SAVED: &str = "CMS_HOST: studio.campus.example.org
ID: 0q6bDnRvSXwqkpGrRaOH9zPO
JWT_RSA_PRIVATE_KEY: '-----BEGIN RSA PRIVATE KEY-----

  MIIEpAIBAAKCAQEAr2tgfs3a

  -----END RSA PRIVATE KEY-----'
K8S_NAMESPACE: campus
LMS_HOST: campus.example.org
MYSQL_ROOT_PASSWORD: kXw3yW0D
PLUGINS:
- mfe
- indigo
PLUGIN_INDEXES:
- https://overhang.io/tutor/main
";

    #[test]
    fn a_config_is_cut_at_its_top_level_keys() {
        let saved = config(SAVED);
        let keys: Vec<&str> = saved.keys().collect();
        assert_eq!(
            keys,
            [
                "CMS_HOST",
                "ID",
                "JWT_RSA_PRIVATE_KEY",
                "K8S_NAMESPACE",
                "LMS_HOST",
                "MYSQL_ROOT_PASSWORD",
                "PLUGINS",
                "PLUGIN_INDEXES"
            ]
        );
        assert_eq!(
            saved.get("PLUGINS").unwrap().text,
            "PLUGINS:\n- mfe\n- indigo\n"
        );
        assert_eq!(saved.to_text(), SAVED);
        assert_eq!(saved.text("K8S_NAMESPACE"), Some("campus"));
        // A prefix, comments, a byte-order mark, a directive and CRLF are kept as written.
        let text =
            "\u{feff}%YAML 1.1\n---\n# head\nA: 1 # one\n\n# about B\nB:\r\n  c: [1,\r\n    2]\n";
        let c = config(text);
        assert_eq!(c.keys().collect::<Vec<_>>(), ["A", "B"]);
        assert_eq!(c.to_text(), text);
        assert_eq!(c.get("A").unwrap().text, "A: 1 # one\n\n# about B\n");
    }

    #[test]
    fn what_cannot_be_cut_is_refused_with_its_line() {
        for (text, line) in [
            ("A: [1,\n2]\n", 2),
            ("? A\n: 1\n", 1),
            ("A: 1\n---\nB: 2\n", 2),
            ("- a\n- b\n", 1),
            ("just text\n", 1),
        ] {
            let e = Config::parse("config.yml", text, false).unwrap_err();
            assert_eq!(e.exit_code(), 5, "{text:?}");
            assert!(
                e.message.starts_with(&format!("config.yml:{line}:")),
                "{text:?}: {}",
                e.message
            );
        }
        // A secret config's errors never show its text.
        let e = Config::parse("store", "ID: [\"s3cret\"\n", true).unwrap_err();
        assert!(
            e.source.is_none() && !e.to_string().contains("s3cret"),
            "{e}"
        );
    }

    fn campus() -> InstanceName {
        InstanceName::parse("campus").unwrap()
    }

    #[test]
    fn git_wins_and_the_store_fills_in_what_git_does_not_set() {
        let git = config("LMS_HOST: new.example.org\nPLATFORM_NAME: yes\n");
        let saved = config(SAVED);
        let kept_before = keys(&[
            "ID",
            "JWT_RSA_PRIVATE_KEY",
            "K8S_NAMESPACE",
            "MYSQL_ROOT_PASSWORD",
            "PLUGINS",
            "LMS_HOST",
        ]);
        let composed = compose(
            &campus(),
            "config.yml",
            &git,
            Some(Stored {
                config: &saved,
                kept: &kept_before,
            }),
            &[],
        )
        .unwrap();
        assert_eq!(
            composed.text,
            format!(
                "LMS_HOST: new.example.org\nPLATFORM_NAME: yes\n{}{}K8S_NAMESPACE: campus\nMYSQL_ROOT_PASSWORD: kXw3yW0D\nPLUGINS:\n- mfe\n- indigo\n",
                "ID: 0q6bDnRvSXwqkpGrRaOH9zPO\n",
                saved.get("JWT_RSA_PRIVATE_KEY").unwrap().text
            )
        );
        assert_eq!(composed.inputs, keys(&["LMS_HOST", "PLATFORM_NAME"]));
        assert!(composed.notes.is_empty());
    }

    #[test]
    fn a_first_run_gets_the_instance_name_as_its_namespace() {
        let composed = compose(
            &campus(),
            "config.yml",
            &config("LMS_HOST: a.org\n"),
            None,
            &[],
        )
        .unwrap();
        assert_eq!(
            composed.text,
            "LMS_HOST: a.org\nK8S_NAMESPACE: \"campus\"\n"
        );
        assert_eq!(composed.inputs, keys(&["K8S_NAMESPACE", "LMS_HOST"]));
        let own = compose(
            &campus(),
            "config.yml",
            &config("K8S_NAMESPACE: other\n"),
            None,
            &[],
        )
        .unwrap();
        assert_eq!(own.text, "K8S_NAMESPACE: other\n");
    }

    #[test]
    fn settings_of_a_run_meet_git_and_the_store() {
        let git = config(
            "MYSQL_HOST: git.example.org\nEDX_PLATFORM_VERSION: main # tracked\nLMS_HOST: a.org",
        );
        let settings = [
            Setting {
                key: "MYSQL_HOST".into(),
                value: SettingValue::Text("tf.example.org".into()),
                source: SettingSource::Terraform,
            },
            Setting {
                key: "MYSQL_PORT".into(),
                value: SettingValue::Integer(3306),
                source: SettingSource::Terraform,
            },
            Setting {
                key: "EDX_PLATFORM_VERSION".into(),
                value: SettingValue::Text("4f2c9e1d".into()),
                source: SettingSource::Pipeline,
            },
        ];
        let composed = compose(&campus(), "config.yml", &git, None, &settings).unwrap();
        assert_eq!(
            composed.text,
            "MYSQL_HOST: git.example.org\nEDX_PLATFORM_VERSION: \"4f2c9e1d\"\nLMS_HOST: a.org\nMYSQL_PORT: 3306\nK8S_NAMESPACE: \"campus\"\n"
        );
        assert_eq!(
            composed.notes,
            ["MYSQL_HOST is set in config.yml, which wins over Terraform's output for it"]
        );
    }

    #[test]
    fn a_file_that_would_change_when_extended_is_refused() {
        // `...` ends the document: what follows would be another one.
        let git = config("LMS_HOST: a.org\n...\n");
        let e = compose(&campus(), "config.yml", &git, None, &[]).unwrap_err();
        assert_eq!(e.exit_code(), 5);
        assert!(e.message.starts_with("config.yml: "), "{}", e.message);
    }

    #[test]
    fn what_is_kept_for_the_next_run() {
        let saved = config(SAVED);
        let inputs = keys(&[
            "CMS_HOST",
            "LMS_HOST",
            "K8S_NAMESPACE",
            "MYSQL_ROOT_PASSWORD",
        ]);
        // MYSQL_ROOT_PASSWORD is pinned in git now, but was kept before: it stays kept.
        let before = keys(&["ID", "MYSQL_ROOT_PASSWORD", "GONE"]);
        assert_eq!(
            kept(&saved, &inputs, &before),
            keys(&[
                "ID",
                "JWT_RSA_PRIVATE_KEY",
                "K8S_NAMESPACE",
                "MYSQL_ROOT_PASSWORD",
                "PLUGINS",
                "PLUGIN_INDEXES"
            ])
        );
    }
}
