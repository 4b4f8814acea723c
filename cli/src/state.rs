//! An instance's state on this machine: the Tutor root Grove lays out for Tutor from git and
//! the store, and what it pushes back to the store.
//!
//! Tutor never runs in `instances/NAME/`: the `config.yml` there is the one people write, in
//! git, and Tutor would write the instance's secrets into it. Tutor runs in the instance's
//! *Tutor root* (its `TUTOR_ROOT`), a working folder of the cluster repository that git
//! ignores (`.grove/.gitignore` ignores everything, itself included) and that only its owner
//! can enter:
//!
//! ```text
//! .grove/tutor/NAME/config.yml     the config Tutor reads and saves (secrets included)
//! .grove/tutor/NAME/env/           what Tutor renders, with env-overrides/ laid over it
//! .grove/tutor/NAME/.generation    the store generation it is exactly, while it is
//! .grove/tutor/.NAME.lock          held while a grove command uses it
//! ```
//!
//! Two ways in:
//!
//! - [`prepare`] (`grove prepare`, `grove tutor sync`) composes the config from git, what the
//!   store kept and the run's settings ([`grove_core::state::compose`]), lays it out over the
//!   current generation's `env/`, runs `tutor config save`, lays `env-overrides/` over the
//!   result and pushes it as the next generation. A push that loses a race pulls the winner's
//!   state and runs again, so two prepares never leave two sets of secrets.
//! - [`open`] (every other command) lays out a generation exactly as it was stored: the one
//!   the pipeline's own prepare job made (`GROVE_STATE_GENERATION`, from its dotenv report),
//!   else the current one. Commands that change the config by hand (`grove tutor exec`,
//!   `grove venv activate`) push what changed ([`TutorRoot::push_changes`]).

use crate::failure::Failure;
use crate::repository::create_private_dirs;
use crate::store::manifest::{Manifest, Snapshot, ENV_DIR};
use crate::store::{self, Pushed, Store};
use crate::Context;
use grove_core::fleet::{CONFIG_FILE, INSTANCES_DIR};
use grove_core::name::InstanceName;
use grove_core::state::{self, Config, Setting, Stored};
use std::collections::BTreeSet;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// The variable that pins the generation later jobs of a pipeline use: `NAME/ID`, written by
/// `grove prepare --dotenv FILE` into the prepare job's dotenv report.
pub const GENERATION_VARIABLE: &str = "GROVE_STATE_GENERATION";

/// Where, in a Tutor root, `grove predeploy` clones themes: built into the image, never state.
pub const THEMES_DIR: &str = "env/build/openedx/themes";

/// The file of a Tutor root that names the generation it is exactly.
const MARKER: &str = ".generation";

/// How many times a prepare runs when its push loses a race.
const ATTEMPTS: usize = 3;

/// The store `grove.yml` names, opened.
pub fn store_of(context: &Context, fleet: &grove_core::Fleet) -> Result<Box<dyn Store>, Failure> {
    let repository = &context.repository;
    let setting = fleet.settings.env_store.as_deref();
    let default = if setting.is_none_or(|s| s.trim().is_empty()) {
        // The default folder lives in .grove/, which git must not see, inside the repository.
        repository.private_dir()?;
        repository.private_path(store::DEFAULT_STORE, false)?
    } else {
        PathBuf::new()
    };
    store::open(&repository.absolute_root()?, default, setting)
}

/// The lock of instance `name` in this checkout, `.grove/tutor/.NAME.lock`, held for as long as
/// the returned file is open: while a grove command creates the instance's folder or uses its
/// Tutor root. Another command waits for it; the kernel releases it with its holder, however
/// that ends, so a killed command never leaves it held.
pub fn lock(context: &Context, name: &InstanceName) -> Result<fs::File, Failure> {
    let roots = context.repository.private_folder("tutor")?;
    crate::lock::hold(&roots.join(format!(".{name}.lock")), || {
        context.ui.info(format!(
            "waiting for another grove command that is using {name}"
        ))
    })
}

/// The Tutor root of `name`, and its lock ([`lock`]). The Tutor root is Grove's own folder:
/// a link in its place (a force-committed `.grove/`) is refused (exit 5), never written
/// through.
fn locked_root(context: &Context, name: &InstanceName) -> Result<(PathBuf, fs::File), Failure> {
    let file = lock(context, name)?;
    let dir = context.repository.private_path(
        &format!("{}/tutor/{name}", crate::repository::PRIVATE_DIR),
        false,
    )?;
    Ok((dir, file))
}

/// Replaces the Tutor root `dir` whole with `snapshot`: built beside it, then renamed into
/// place. `marker` names the generation it is exactly, if it is one.
fn lay_out(dir: &Path, snapshot: &Snapshot, marker: Option<&str>) -> Result<(), Failure> {
    let name = dir.file_name().unwrap_or_default().to_string_lossy();
    let new = dir.with_file_name(format!(".{name}.new"));
    let old = dir.with_file_name(format!(".{name}.old"));
    remove_dir(&new)?;
    remove_dir(&old)?;
    create_private_dirs(&new)?;
    snapshot.write_into(&new)?;
    if let Some(id) = marker {
        write(&new.join(MARKER), id.as_bytes())?;
    }
    if dir.exists() {
        rename(dir, &old)?;
    }
    rename(&new, dir)?;
    remove_dir(&old)
}

/// Lays `instances/NAME/env-overrides/` over the Tutor root's `env/`.
fn overlay(context: &Context, name: &InstanceName, dir: &Path) -> Result<(), Failure> {
    let overrides = context
        .repository
        .path(&format!("{INSTANCES_DIR}/{name}/env-overrides"))?;
    Snapshot::read(&overrides)?.write_into(&dir.join(ENV_DIR))
}

/// What a Tutor root holds that is state: its config and `env/` (without cloned themes).
fn snapshot_of(dir: &Path) -> Result<Snapshot, Failure> {
    let mut snapshot = Snapshot::default();
    snapshot.add(&dir.join(CONFIG_FILE), CONFIG_FILE, &[])?;
    snapshot.add(&dir.join(ENV_DIR), ENV_DIR, &[THEMES_DIR])?;
    Ok(snapshot)
}

/// The `config.yml` of a snapshot, called `what` in messages, which never show its text (it
/// holds secrets); `None` when there is none (a store of an earlier grove kept `env/` alone).
fn config_of(what: &str, snapshot: &Snapshot) -> Result<Option<Config>, Failure> {
    let Some(file) = snapshot.files.get(CONFIG_FILE) else {
        return Ok(None);
    };
    let text = std::str::from_utf8(&file.bytes)
        .map_err(|_| Failure::External(format!("{what} is not UTF-8 text")))?;
    Ok(Some(Config::parse(what, text, true)?))
}

/// `grove prepare` and `grove tutor sync`: the config composed from git, what the store kept
/// and `settings`, saved by Tutor, pushed as the instance's next generation. Returns the id
/// of the generation the instance now is.
pub fn prepare(
    context: &Context,
    name: &InstanceName,
    settings: &[Setting],
) -> Result<String, Failure> {
    let (fleet, _) = context.repository.fleet_of(name)?;
    let git_path = format!("{INSTANCES_DIR}/{name}/{CONFIG_FILE}");
    let git = Config::parse(&git_path, fleet.file(&git_path).unwrap_or_default(), false)?;
    let store = store_of(context, &fleet)?;
    let store = store.as_ref();
    let (dir, _lock) = locked_root(context, name)?;
    for attempt in 1..=ATTEMPTS {
        let current = store::current(store, name)?;
        let (mut snapshot, config) = match &current {
            Some(c) => {
                let snapshot = store::read(store, name, &c.manifest, None)?;
                let what = format!(
                    "the stored config of {name} (generation {})",
                    c.manifest.generation
                );
                let config = config_of(&what, &snapshot)?;
                context.ui.info(format!(
                    "pulled generation {} of {name} from {}",
                    c.manifest.generation,
                    store.describe()
                ));
                (snapshot, config)
            }
            None => {
                context.ui.info(format!(
                    "{} holds no state of {name} yet: Tutor generates its secrets now",
                    store.describe()
                ));
                (Snapshot::default(), None)
            }
        };
        let no_kept = BTreeSet::new();
        let kept_before = current.as_ref().map_or(&no_kept, |c| &c.manifest.kept);
        let stored = config.as_ref().map(|config| Stored {
            config,
            kept: kept_before,
        });
        let composed = state::compose(name, &git_path, &git, stored, settings)?;
        for note in &composed.notes {
            context.ui.info(format!("note: {note}"));
        }
        snapshot.insert(CONFIG_FILE.into(), composed.text.into_bytes(), false);
        lay_out(&dir, &snapshot, None)?;
        overlay(context, name, &dir)?;
        let mut save = crate::tutor::command(context, name, &dir)?;
        save.args(["config", "save"]);
        crate::process::run(&context.ui, &mut save)?;
        overlay(context, name, &dir)?;
        let snapshot = snapshot_of(&dir)?;
        let saved = config_of("the config Tutor saved", &snapshot)?.ok_or_else(|| {
            Failure::External(format!(
                "`tutor config save` wrote no config.yml in {}",
                dir.display()
            ))
        })?;
        let kept = state::kept(&saved, &composed.inputs, kept_before);
        let id = match store::push(store, name, current.as_ref(), snapshot, &kept)? {
            Pushed::New(manifest) => {
                context.ui.info(format!(
                    "pushed generation {} of {name} to {}",
                    manifest.generation,
                    store.describe()
                ));
                manifest.id
            }
            Pushed::Unchanged => {
                let current = current.expect("only a pulled generation is unchanged");
                context.ui.info(format!(
                    "the state of {name} is unchanged: generation {} stays current",
                    current.manifest.generation
                ));
                current.manifest.id
            }
            Pushed::Conflict => {
                context.ui.info(format!(
                    "another command stored a new state of {name} while this one ran \
                     (attempt {attempt} of {ATTEMPTS}): starting again from it"
                ));
                continue;
            }
        };
        write(&dir.join(MARKER), id.as_bytes())?;
        return Ok(id);
    }
    Err(Failure::External(format!(
        "the state of {name} in {} changed {ATTEMPTS} times while this prepare ran: another \
         pipeline is preparing {name}. Nothing of this run was stored; run `grove prepare \
         {name}` again once it is done",
        store.describe()
    )))
}

/// An instance's Tutor root, laid out exactly as one generation left it, held for one command.
pub struct TutorRoot {
    /// The instance.
    pub name: InstanceName,
    /// The folder (absolute): Tutor's `TUTOR_ROOT`.
    pub dir: PathBuf,
    /// The generation it was laid out from.
    base: Manifest,
    store: Box<dyn Store>,
    _lock: fs::File,
}

/// Which generation a command of instance `name` works on: the one `GROVE_STATE_GENERATION`
/// names, else none (the current one).
fn pinned(name: &InstanceName) -> Result<Option<String>, Failure> {
    let Ok(value) = std::env::var(GENERATION_VARIABLE) else {
        return Ok(None);
    };
    let (instance, id) = value.split_once('/').unwrap_or(("", ""));
    if crate::store::manifest::generation_number(id).is_none() {
        return Err(Failure::Usage(format!(
            "{GENERATION_VARIABLE} is {value:?}; it must be NAME/GENERATION, as `grove prepare --dotenv` writes it"
        )));
    }
    if instance != name.as_str() {
        return Err(Failure::Usage(format!(
            "{GENERATION_VARIABLE} names a generation of {instance:?}, not of {name:?}: \
             unset it to work on the current generation of {name}"
        )));
    }
    Ok(Some(id.to_string()))
}

/// The Tutor root of `name`, exactly as its pinned or current generation left it (reused when
/// it already is). Fails (exit 1) when the store holds no state of it: `grove prepare` first.
pub fn open(context: &Context, name: &InstanceName) -> Result<TutorRoot, Failure> {
    let (fleet, _) = context.repository.fleet_of(name)?;
    let store = store_of(context, &fleet)?;
    let pin = pinned(name)?;
    let base = match &pin {
        Some(id) => store::generation(store.as_ref(), name, id)?,
        None => {
            store::current(store.as_ref(), name)?
                .ok_or_else(|| {
                    Failure::External(format!(
                        "{} holds no state of {name}: run `grove prepare {name}` first",
                        store.describe()
                    ))
                })?
                .manifest
        }
    };
    let (dir, lock) = locked_root(context, name)?;
    let marker = fs::read_to_string(dir.join(MARKER)).unwrap_or_default();
    if marker != base.id || !dir.join(CONFIG_FILE).is_file() {
        let snapshot = store::read(store.as_ref(), name, &base, None)?;
        lay_out(&dir, &snapshot, Some(&base.id))?;
        context.ui.info(format!(
            "laid out generation {} of {name} from {}",
            base.generation,
            store.describe()
        ));
    }
    if pin.is_none() {
        warn_if_git_changed(context, name, &fleet, &dir, &base);
    }
    Ok(TutorRoot {
        name: name.clone(),
        dir,
        base,
        store,
        _lock: lock,
    })
}

/// Says so when the instance's `config.yml` in git sets a key otherwise than the generation:
/// `grove prepare` has not run since it changed.
fn warn_if_git_changed(
    context: &Context,
    name: &InstanceName,
    fleet: &grove_core::Fleet,
    dir: &Path,
    base: &Manifest,
) {
    let git_path = format!("{INSTANCES_DIR}/{name}/{CONFIG_FILE}");
    let Ok(git) = Config::parse(&git_path, fleet.file(&git_path).unwrap_or_default(), false) else {
        return;
    };
    let Ok(text) = fs::read_to_string(dir.join(CONFIG_FILE)) else {
        return;
    };
    let Ok(laid) = Config::parse("the Tutor root's config", &text, true) else {
        return;
    };
    let changed: Vec<&str> = git
        .entries()
        .iter()
        .filter(|entry| laid.get(&entry.key).is_none_or(|e| !e.same_value(entry)))
        .map(|entry| entry.key.as_str())
        .collect();
    if !changed.is_empty() {
        context.ui.info(format!(
            "note: {git_path} sets {} otherwise than generation {} of {name}: run `grove prepare {name}` to use it",
            changed.join(", "),
            base.generation
        ));
    }
}

impl TutorRoot {
    /// The instance's `tutor`, in its venv, with this Tutor root.
    pub fn tutor(&self, context: &Context) -> Result<std::process::Command, Failure> {
        crate::tutor::command(context, &self.name, &self.dir)
    }

    /// Runs `tutor ARGS...` in this Tutor root, streaming its output.
    pub fn run<I, S>(&self, context: &Context, args: I) -> Result<(), Failure>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut command = self.tutor(context)?;
        command.args(args);
        let result = crate::process::run(&context.ui, &mut command);
        if result.is_err() {
            // A failed command may have left the root half changed: lay it out anew next time.
            let _ = fs::remove_file(self.dir.join(MARKER));
        }
        result
    }

    /// The instance's namespace, as this generation gives it to Tutor.
    pub fn namespace(&self) -> Result<String, Failure> {
        let text = fs::read_to_string(self.dir.join(CONFIG_FILE))
            .map_err(|e| Failure::io("read", &self.dir.join(CONFIG_FILE), e))?;
        let config = Config::parse("the Tutor root's config", &text, true)?;
        let namespace = config
            .text(state::NAMESPACE_KEY)
            .unwrap_or(self.name.as_str())
            .to_string();
        checked_namespace(&self.name, namespace)
    }

    /// Pushes what a command changed in the config or `env/` as the next generation; nothing
    /// when nothing changed. Fails (exit 1) when the store moved on since this root was laid
    /// out: the change is then not stored, and the message says so.
    pub fn push_changes(&self, context: &Context) -> Result<(), Failure> {
        let store = self.store.as_ref();
        let name = &self.name;
        let snapshot = snapshot_of(&self.dir)?;
        let base_files = store::read(store, name, &self.base, Some(&[CONFIG_FILE]))?;
        let saved = config_of("the config in the Tutor root", &snapshot)?.ok_or_else(|| {
            Failure::External(format!("the Tutor root of {name} has no config.yml"))
        })?;
        let what = format!(
            "the stored config of {name} (generation {})",
            self.base.generation
        );
        let kept = match config_of(&what, &base_files)? {
            Some(before) => {
                let inputs: BTreeSet<String> = before
                    .keys()
                    .filter(|key| !self.base.kept.contains(*key))
                    .map(str::to_string)
                    .collect();
                state::kept(&saved, &inputs, &self.base.kept)
            }
            None => self.base.kept.clone(),
        };
        if self.base.describes(&snapshot, &kept) {
            return Ok(());
        }
        let current = store::current(store, name)?;
        let moved_on = |now: &str| {
            Failure::External(format!(
                "this command changed the state of {name}, but {} moved on from generation {} \
                 ({now}) while it ran: the change was NOT stored. Run the command again",
                store.describe(),
                self.base.generation
            ))
        };
        match &current {
            Some(c) if c.manifest.id == self.base.id => {}
            Some(c) => {
                let _ = fs::remove_file(self.dir.join(MARKER));
                return Err(moved_on(&format!(
                    "it is at generation {} now, pushed {} by {}",
                    c.manifest.generation,
                    c.manifest.pushed_when(),
                    c.manifest.pushed_by
                )));
            }
            None => {
                let _ = fs::remove_file(self.dir.join(MARKER));
                return Err(moved_on("it was deleted"));
            }
        }
        match store::push(store, name, current.as_ref(), snapshot, &kept)? {
            Pushed::New(manifest) => {
                write(&self.dir.join(MARKER), manifest.id.as_bytes())?;
                context.ui.info(format!(
                    "pushed the change as generation {} of {name} to {}",
                    manifest.generation,
                    store.describe()
                ));
                Ok(())
            }
            Pushed::Unchanged => Ok(()),
            Pushed::Conflict => {
                let _ = fs::remove_file(self.dir.join(MARKER));
                Err(moved_on("another command pushed just now"))
            }
        }
    }
}

/// The namespace instance `name` is deployed in: as its stored state gives it to Tutor (the
/// pinned or current generation); with no stored state, `K8S_NAMESPACE` of its `config.yml`
/// in git (if its folder is there: a deleted instance's is not), else its name. Checked as a
/// DNS label, like instance names.
pub fn namespace(context: &Context, name: &InstanceName) -> Result<String, Failure> {
    let fleet = grove_core::Fleet::new(
        context
            .repository
            .load(&grove_core::request::Need::Only(vec![name]))?,
    )?;
    let in_git = match fleet.instance(name) {
        Ok(instance) => instance.config.k8s_namespace,
        Err(e) if e.cause == grove_core::Cause::NoSuchInstance => None,
        Err(e) => return Err(e.into()),
    };
    let store = store_of(context, &fleet)?;
    let store = store.as_ref();
    let manifest = match pinned(name)? {
        Some(id) => Some(store::generation(store, name, &id)?),
        None => store::current(store, name)?.map(|c| c.manifest),
    };
    let stored = match &manifest {
        Some(m) => {
            let files = store::read(store, name, m, Some(&[CONFIG_FILE]))?;
            let what = format!("the stored config of {name} (generation {})", m.generation);
            config_of(&what, &files)?.and_then(|c| c.text(state::NAMESPACE_KEY).map(str::to_string))
        }
        None => None,
    };
    let namespace = stored.or(in_git).unwrap_or_else(|| name.to_string());
    checked_namespace(name, namespace)
}

/// `namespace` if it is a valid Kubernetes namespace (the rule of instance names).
fn checked_namespace(name: &InstanceName, namespace: String) -> Result<String, Failure> {
    InstanceName::parse(&namespace).map_err(|invalid| {
        Failure::Core(grove_core::Error::new(
            grove_core::Cause::setting(
                format!("{INSTANCES_DIR}/{name}/config.yml"),
                "K8S_NAMESPACE",
            ),
            format!(
                "{INSTANCES_DIR}/{name}: K8S_NAMESPACE {namespace:?} is not a valid namespace: {}",
                invalid.message
            ),
        ))
    })?;
    Ok(namespace)
}

/// Removes everything of `name`'s state: in the store (manifest first), and its Tutor root.
/// Whether the store held anything; nothing there is fine.
pub fn forget(context: &Context, name: &InstanceName) -> Result<bool, Failure> {
    let fleet = grove_core::Fleet::new(
        context
            .repository
            .load(&grove_core::request::Need::Settings)?,
    )?;
    let store = store_of(context, &fleet)?;
    let (dir, _lock) = locked_root(context, name)?;
    let found = store::forget(store.as_ref(), name)?;
    remove_dir(&dir)?;
    if found {
        context.ui.info(format!(
            "deleted the state of {name} from {}",
            store.describe()
        ));
    }
    Ok(found)
}

/// The `KEY=VALUE` line of a dotenv report that pins generation `id` of `name` for the later
/// jobs of a pipeline.
pub fn dotenv(name: &InstanceName, id: &str) -> String {
    format!("{GENERATION_VARIABLE}={name}/{id}\n")
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    crate::repository::write_private(path, bytes)
}

fn rename(from: &Path, to: &Path) -> Result<(), Failure> {
    fs::rename(from, to).map_err(|e| {
        Failure::External(format!(
            "cannot rename {} to {}: {e}",
            from.display(),
            to.display()
        ))
    })
}

fn remove_dir(dir: &Path) -> Result<(), Failure> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(Failure::io("remove", dir, e)),
        _ => Ok(()),
    }
}
