//! The Python virtual environments Tutor runs in, built from an instance's
//! `grove-requirements.txt` (seed 001), or from `defaults/grove-requirements.txt` when the
//! instance has none.
//!
//! ```text
//! instances/NAME/.venv/       the instance's own venv: `grove venv update|reset NAME`
//! .grove/venvs/HASH/          a shared venv: `grove venv update --shared NAME...`, one for all
//!                             the instances whose requirements' text has the short hash HASH
//!                             (`grove_core::fleet::short_hash`, as in the pipeline's cache keys)
//! .grove/base/.venv/          the venv base images are built with (the defaults' requirements)
//! .grove/venvs/.KEY.lock      each venv's lock (KEY: HASH, instance-NAME or base)
//! ```
//!
//! Every Tutor call runs in the venv [`ensure`] picks: the instance's own venv if it is
//! current, else the shared venv of its requirements if that one is current, else its own
//! venv, built or updated first (a cold CI cache). A venv is current when its
//! `.grove-requirements-hash` holds the hash of the requirements' text. That file is written
//! last, so a venv whose install failed, or was killed, never claims to be current; and since
//! a shared venv is named by that hash, instances whose requirements differ never share one.
//!
//! Venvs are built with `uv` when it is on PATH (fast, and every venv shares uv's one cache),
//! else with `python3 -m venv` and pip; `GROVE_VENV_INSTALLER=uv|pip` chooses. uv builds them
//! *relocatable* (`uv venv --relocatable`). A Python venv is otherwise tied to the absolute
//! path it was built at: pip writes that path into the `#!` line of every script it installs,
//! `bin/tutor` among them. A relocatable venv records `relocatable = true` in its
//! `pyvenv.cfg`, and `uv pip install` into it writes each entry-point script to start the
//! `python` found beside the script when it runs (`exec "$(dirname "$(realpath "$0")")/python"`),
//! so the venv works wherever its folder is moved or copied to, as long as the Python it was
//! built from is still where it was (its `bin/python` links to it): the same CI image. That is
//! what lets a pipeline build one venv per distinct requirements set, in one job, and hand it
//! through GitLab's cache to every later job of every instance that uses it, although each job
//! starts from a fresh checkout, perhaps on another runner, at another absolute path. A shared
//! venv whose Python is not there (a cache from another image) is not current, and is built
//! anew. A venv that pip builds cannot move, so `--shared` needs uv (exit 1 without it).
//!
//! Every build holds its venv's lock (`flock`) from start to end, so two grove commands never
//! build one venv at once, and the kernel releases the lock with its holder however it ends.
//! `update` installs into an instance's own venv in place. `reset` with uv, and every build of a
//! shared venv, builds the new venv beside it, in `.venv.new-PID` (`.HASH.new-PID`), and
//! renames it into place, moving the old one to `.venv.old-PID` for the moment of the swap;
//! `reset` with pip moves the old venv aside, builds in place (pip's venvs cannot move) and
//! moves the old one back if that fails. Whatever a
//! command holding the lock finds of these was left by one that died, and it puts it right
//! first: a new venv is removed, an old one is removed when the venv is whole and moved back
//! otherwise. The locks are in `.grove/`, which git never sees.

use crate::failure::Failure;
use crate::lock;
use crate::process::{self, Ui};
use crate::repository::{write_atomically, PRIVATE_DIR};
use crate::Context;
use grove_core::fleet::{short_hash, DEFAULTS_DIR, INSTANCES_DIR, REQUIREMENTS_FILE};
use grove_core::name::InstanceName;
use grove_core::{Cause, Error};
use std::fmt;
use std::fs;
use std::io::{ErrorKind as IoKind, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The venv's folder name, inside the instance's folder.
pub const VENV_DIR: &str = ".venv";

/// The file in a venv that holds the hash of the requirements it was last built from.
pub const HASH_FILE: &str = ".grove-requirements-hash";

/// The environment variable that picks the installer: `uv`, `pip`, or unset for uv when it is
/// on PATH and pip otherwise.
pub const INSTALLER_VARIABLE: &str = "GROVE_VENV_INSTALLER";

/// Where the base images' Tutor root lives, in the repository's private folder (`.grove/`).
const BASE_ROOT: &str = "base";

/// The folder in `.grove/` of the shared venvs, and of every venv's lock.
const VENVS_DIR: &str = "venvs";

/// How many instance names a message about a shared venv lists before it counts the rest.
const NAMES_SHOWN: usize = 3;

/// A venv that Tutor runs in.
pub struct Venv {
    /// Its folder, resolved inside the repository.
    pub dir: PathBuf,
    /// The same folder relative to the repository root, for messages.
    pub display: String,
}

/// `grove venv update NAME...`: creates or updates each instance's own venv; does nothing when
/// the requirements' hash is unchanged.
pub fn update(context: &Context, names: &[InstanceName]) -> Result<(), Failure> {
    for_each_own(context, names, Action::Update)
}

/// `grove venv reset`: builds a new venv beside the old one and swaps only on success.
pub fn reset(context: &Context, names: &[InstanceName]) -> Result<(), Failure> {
    for_each_own(context, names, Action::Reset)
}

/// `grove venv update --shared NAME...`: builds the shared venv of each distinct requirements
/// set of `names`, once, unless it is current; with uv, since it must be relocatable.
pub fn update_shared(context: &Context, names: &[InstanceName]) -> Result<(), Failure> {
    Installer::choose()?.relocatable()?;
    let mut sets: Vec<(Requirements, Vec<&InstanceName>)> = Vec::new();
    for name in names {
        let requirements = Requirements::of_instance(context, name)?;
        match sets.iter_mut().find(|(r, _)| r.hash == requirements.hash) {
            Some((_, users)) if !users.contains(&name) => users.push(name),
            Some(_) => {}
            None => sets.push((requirements, vec![name])),
        }
    }
    let label = |(requirements, users): &(Requirements, Vec<&InstanceName>)| {
        let mut shown: Vec<String> = users
            .iter()
            .take(NAMES_SHOWN)
            .map(|n| n.to_string())
            .collect();
        if users.len() > NAMES_SHOWN {
            shown.push(format!("{} more", users.len() - NAMES_SHOWN));
        }
        format!(
            "{} ({})",
            shared_display(&requirements.hash),
            shown.join(", ")
        )
    };
    for_each(context, &sets, label, |builder, set| {
        let requirements = &set.0;
        let place = Place::shared(context, &requirements.hash)?;
        builder
            .build(context, &place, requirements, Action::Update)
            .map(|outcome| (label(set), outcome))
    })
}

/// The venv a Tutor call of instance `name` runs in: its own venv if it is current, else the
/// shared venv of its requirements if that one is current, else its own venv, built or updated
/// first.
pub fn ensure(context: &Context, name: &InstanceName) -> Result<Venv, Failure> {
    let requirements = Requirements::of_instance(context, name)?;
    ensure_in(context, Place::own(context, name)?, &requirements)
}

/// The Tutor root and venv that base images are built with: `.grove/base/`, its venv picked
/// as [`ensure`] picks an instance's, from `defaults/grove-requirements.txt`.
pub fn ensure_base(context: &Context) -> Result<(PathBuf, PathBuf), Failure> {
    let requirements = Requirements::of_defaults(context)?.ok_or_else(|| {
        Failure::Core(Error::new(
            Cause::file(format!("{DEFAULTS_DIR}/{REQUIREMENTS_FILE}")),
            format!("{DEFAULTS_DIR}/{REQUIREMENTS_FILE} is missing: base images are built with the Tutor it lists"),
        ))
    })?;
    let home = context.repository.private_folder(BASE_ROOT)?;
    let venv = ensure_in(context, Place::base(context)?, &requirements)?;
    Ok((home, venv.dir))
}

/// `own` if it is current, else the shared venv of `requirements` if it is current, else `own`
/// built or updated first (saying so only when it does work).
///
/// Whether a venv is current is read without its lock: its hash file is written last and
/// whole, and a shared venv is only ever renamed into place whole. When neither is, the build
/// takes the lock and looks again, so a build another command just finished is used as it is.
fn ensure_in(context: &Context, own: Place, requirements: &Requirements) -> Result<Venv, Failure> {
    if own.is_current(requirements) {
        return Ok(own.venv());
    }
    let shared = Place::shared(context, &requirements.hash)?;
    if shared.is_current(requirements) {
        return Ok(shared.venv());
    }
    let outcome =
        Builder::new(context.ui, false)?.build(context, &own, requirements, Action::Update)?;
    if !matches!(outcome, Outcome::UpToDate) {
        context.ui.info(format!("{}: {outcome}", own.display));
    }
    Ok(own.venv())
}

/// What to do to a venv.
#[derive(Clone, Copy)]
enum Action {
    /// Create it if missing, install the requirements if they changed.
    Update,
    /// Build it anew, swapping it in only on success.
    Reset,
}

/// What was done to a venv.
enum Outcome {
    /// Nothing: it was built from these very requirements.
    UpToDate,
    /// It was missing and was built.
    Created,
    /// Its requirements changed and were installed.
    Updated,
    /// It was built anew and swapped in.
    Reset,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::UpToDate => "up to date, nothing to do",
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Reset => "reset",
        })
    }
}

/// The requirements file a venv is built from.
struct Requirements {
    /// The file, resolved inside the repository.
    path: PathBuf,
    /// The same file relative to the repository root, for messages.
    display: String,
    /// The short hash of its text: what a current venv records, and a shared venv's name.
    hash: String,
}

impl Requirements {
    /// Instance `name`'s own requirements, or the defaults'.
    fn of_instance(context: &Context, name: &InstanceName) -> Result<Requirements, Failure> {
        let own = format!("{INSTANCES_DIR}/{name}/{REQUIREMENTS_FILE}");
        match context.repository.read_text(&own)? {
            Some(text) => Requirements::new(context, own, &text),
            None => Requirements::of_defaults(context)?.ok_or_else(|| {
                Failure::Core(Error::new(
                    Cause::file(format!("{DEFAULTS_DIR}/{REQUIREMENTS_FILE}")),
                    format!(
                        "neither {own} nor {DEFAULTS_DIR}/{REQUIREMENTS_FILE} exists: \
                         the venv of \"{name}\" needs one of them"
                    ),
                ))
            }),
        }
    }

    /// `defaults/grove-requirements.txt`, if it exists.
    fn of_defaults(context: &Context) -> Result<Option<Requirements>, Failure> {
        let path = format!("{DEFAULTS_DIR}/{REQUIREMENTS_FILE}");
        match context.repository.read_text(&path)? {
            Some(text) => Requirements::new(context, path, &text).map(Some),
            None => Ok(None),
        }
    }

    fn new(context: &Context, display: String, text: &str) -> Result<Requirements, Failure> {
        Ok(Requirements {
            path: context.repository.path(&display)?,
            hash: short_hash(text),
            display,
        })
    }
}

/// Where one venv lives, and the name of its lock.
struct Place {
    /// The venv's folder, resolved inside the repository.
    dir: PathBuf,
    /// The same folder relative to the repository root, for messages.
    display: String,
    /// Its lock is `.grove/venvs/.KEY.lock`.
    lock_key: String,
    /// A shared venv: only ever built whole beside it and renamed into place, and with uv.
    shared: bool,
}

impl Place {
    /// Instance `name`'s own venv, `instances/NAME/.venv`.
    fn own(context: &Context, name: &InstanceName) -> Result<Place, Failure> {
        let display = format!("{INSTANCES_DIR}/{name}/{VENV_DIR}");
        Ok(Place {
            dir: context.repository.path(&display)?,
            display,
            lock_key: format!("instance-{name}"),
            shared: false,
        })
    }

    /// The base images' venv, `.grove/base/.venv`.
    fn base(context: &Context) -> Result<Place, Failure> {
        let display = format!("{PRIVATE_DIR}/{BASE_ROOT}/{VENV_DIR}");
        Ok(Place {
            dir: context.repository.private_path(&display, false)?,
            display,
            lock_key: BASE_ROOT.to_string(),
            shared: false,
        })
    }

    /// The shared venv of the requirements whose hash is `hash`, `.grove/venvs/HASH`.
    fn shared(context: &Context, hash: &str) -> Result<Place, Failure> {
        let display = shared_display(hash);
        Ok(Place {
            dir: context.repository.private_path(&display, false)?,
            display,
            lock_key: hash.to_string(),
            shared: true,
        })
    }

    /// Whether the venv was built whole from `requirements`; and for a shared venv, which a
    /// CI cache may have brought from another machine, whether the Python it was built from
    /// (its `bin/python` links to it) is here: a cached venv of another image is built anew.
    fn is_current(&self, requirements: &Requirements) -> bool {
        recorded_hash(&self.dir).as_deref() == Some(requirements.hash.as_str())
            && (!self.shared || self.dir.join("bin/python").is_file())
    }

    /// The folder that holds the venv, and what builds and swaps leave beside it.
    fn home(&self) -> &Path {
        self.dir.parent().unwrap_or(&self.dir)
    }

    /// The prefix of what a build leaves beside the venv while it works, `what` being `new`
    /// or `old`: `.venv.new-`, `.HASH.old-`. (The PID that follows tells nothing to the build,
    /// which holds the lock, but keeps the names that clusters' `.gitignore` already ignore.)
    fn scratch_prefix(&self, what: &str) -> String {
        let name = self.dir.file_name().unwrap_or_default().to_string_lossy();
        format!(".{}.{what}-", name.trim_start_matches('.'))
    }

    /// What this build works in beside the venv: `.venv.new-PID`, `.HASH.old-PID`.
    fn scratch(&self, what: &str) -> PathBuf {
        self.home().join(format!(
            "{}{}",
            self.scratch_prefix(what),
            std::process::id()
        ))
    }

    /// Takes the venv's lock, `.grove/venvs/.KEY.lock`, waiting (and saying so) while another
    /// grove command holds it.
    fn lock(&self, context: &Context) -> Result<fs::File, Failure> {
        let dir = context.repository.private_folder(VENVS_DIR)?;
        lock::hold(&dir.join(format!(".{}.lock", self.lock_key)), || {
            context.ui.info(format!(
                "waiting for another grove command that is building {}",
                self.display
            ))
        })
    }

    /// The venv, for Tutor calls.
    fn venv(&self) -> Venv {
        Venv {
            dir: self.dir.clone(),
            display: self.display.clone(),
        }
    }
}

/// `.grove/venvs/HASH`.
fn shared_display(hash: &str) -> String {
    format!("{PRIVATE_DIR}/{VENVS_DIR}/{hash}")
}

/// Runs `action` on the own venv of every instance in `names`.
fn for_each_own(context: &Context, names: &[InstanceName], action: Action) -> Result<(), Failure> {
    for_each(context, names, InstanceName::to_string, |builder, name| {
        let requirements = Requirements::of_instance(context, name)?;
        let place = Place::own(context, name)?;
        builder
            .build(context, &place, &requirements, action)
            .map(|outcome| (place.display, outcome))
    })
}

/// Runs `work` on every item: one alone with its installer's output streamed, or several in
/// parallel (bounded to the CPUs) with a progress bar on a terminal and one line per item
/// (called by its `label`) otherwise. `work` returns what it did and to which venv.
fn for_each<T: Sync>(
    context: &Context,
    items: &[T],
    label: impl Fn(&T) -> String + Sync,
    work: impl Fn(&Builder, &T) -> Result<(String, Outcome), Failure> + Sync,
) -> Result<(), Failure> {
    if let [item] = items {
        let (venv, outcome) = work(&Builder::new(context.ui, false)?, item)?;
        context.ui.info(format!("{venv}: {outcome}"));
        return Ok(());
    }
    if items.is_empty() {
        context.ui.info("no instances: nothing to do");
        return Ok(());
    }
    let builder = Builder::new(context.ui, true)?;
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len());
    let progress = (!context.ui.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(items.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} venvs")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    });
    let say = |line: String| match &progress {
        Some(bar) => bar.println(line),
        None => eprintln!("{line}"),
    };
    let queue = Mutex::new(items.iter());
    let failed = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let next = queue.lock().map(|mut q| q.next()).ok().flatten();
                let Some(item) = next else { break };
                match work(&builder, item) {
                    Ok((_, outcome)) => {
                        if !context.ui.quiet {
                            say(format!("grove: {}: {outcome}", label(item)));
                        }
                    }
                    Err(failure) => {
                        say(format!("error: {}: {failure}", label(item)));
                        if let Ok(mut failed) = failed.lock() {
                            failed.push(label(item));
                        }
                    }
                }
                if let Some(bar) = &progress {
                    bar.inc(1);
                }
            });
        }
    });
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let mut failed = failed.into_inner().unwrap_or_default();
    if failed.is_empty() {
        context.ui.info(format!("{} venvs done", items.len()));
        Ok(())
    } else {
        failed.sort();
        Err(Failure::External(format!(
            "{} of {} venvs failed: {}",
            failed.len(),
            items.len(),
            failed.join(", ")
        )))
    }
}

/// The program that builds venvs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Installer {
    /// `uv venv --relocatable` and `uv pip install`.
    Uv,
    /// `python3 -m venv` and the venv's own pip.
    Pip,
}

impl Installer {
    /// uv when it is on PATH, else pip; `GROVE_VENV_INSTALLER` decides when it is set.
    fn choose() -> Result<Installer, Failure> {
        match std::env::var(INSTALLER_VARIABLE).as_deref() {
            Ok("uv") => Ok(Installer::Uv),
            Ok("pip") => Ok(Installer::Pip),
            Ok("") | Err(std::env::VarError::NotPresent) => Ok(if on_path("uv") {
                Installer::Uv
            } else {
                Installer::Pip
            }),
            Ok(other) => Err(Failure::Core(Error::new(
                Cause::Value {
                    what: INSTALLER_VARIABLE.into(),
                },
                format!("{INSTALLER_VARIABLE}={other:?} is not an installer: use \"uv\" or \"pip\", or leave it unset"),
            ))),
            Err(std::env::VarError::NotUnicode(_)) => Err(Failure::Core(Error::new(
                Cause::Value {
                    what: INSTALLER_VARIABLE.into(),
                },
                format!("{INSTALLER_VARIABLE} is not UTF-8: use \"uv\" or \"pip\""),
            ))),
        }
    }

    /// Fails (exit 1) unless this installer builds venvs that can move to another path, as a
    /// shared venv must: uv's relocatable ones.
    fn relocatable(self) -> Result<(), Failure> {
        match self {
            Installer::Uv => Ok(()),
            Installer::Pip => Err(Failure::External(format!(
                "a shared venv must be relocatable, which only uv builds, and grove would build with pip \
                 ({INSTALLER_VARIABLE}=pip, or no uv on PATH): a venv that pip builds holds its absolute \
                 path in its scripts and cannot move to the next job's checkout. Put uv on PATH (with \
                 {INSTALLER_VARIABLE} unset or uv), or build each instance's own venv with \
                 `grove venv update NAME`"
            ))),
        }
    }
}

/// Whether an executable called `program` is in a folder of PATH.
fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            fs::metadata(dir.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// Builds venvs with one installer.
struct Builder {
    /// The installer.
    installer: Installer,
    /// How much the installer's commands show.
    ui: Ui,
    /// Whether to ask the installer to print only errors (several venvs at once).
    quiet_installer: bool,
}

impl Builder {
    /// A builder for the installer in use; `parallel` quiets the installers' own output.
    fn new(ui: Ui, parallel: bool) -> Result<Builder, Failure> {
        let installer = Installer::choose()?;
        let ui = if parallel {
            Ui {
                quiet: true,
                verbose: false,
            }
        } else {
            ui
        };
        Ok(Builder {
            installer,
            ui,
            quiet_installer: parallel || ui.quiet,
        })
    }

    /// Updates or resets the venv at `place` from `requirements`, holding its lock throughout,
    /// after putting right what a killed build left beside it.
    fn build(
        &self,
        context: &Context,
        place: &Place,
        requirements: &Requirements,
        action: Action,
    ) -> Result<Outcome, Failure> {
        if place.shared {
            self.installer.relocatable()?;
        }
        let _lock = place.lock(context)?;
        recover(place)?;
        match action {
            Action::Update if place.shared => {
                if place.is_current(requirements) {
                    return Ok(Outcome::UpToDate);
                }
                self.beside(place, requirements)?;
                Ok(Outcome::Created)
            }
            Action::Update => self.update(place, requirements),
            Action::Reset => match self.installer {
                Installer::Uv => self
                    .beside(place, requirements)
                    .map(|()| Outcome::Reset)
                    .map_err(|failure| reset_failed(place, failure)),
                Installer::Pip => self.reset_in_place(place, requirements),
            },
        }
    }

    /// Creates the venv if it is missing, and installs the requirements unless it is current.
    fn update(&self, place: &Place, requirements: &Requirements) -> Result<Outcome, Failure> {
        if place.is_current(requirements) {
            return Ok(Outcome::UpToDate);
        }
        let venv = &place.dir;
        // From here on the venv is not current until the install succeeds.
        let hash_file = venv.join(HASH_FILE);
        match fs::remove_file(&hash_file) {
            Err(e) if e.kind() != IoKind::NotFound => {
                return Err(Failure::io("remove", &hash_file, e))
            }
            _ => {}
        }
        let created = !is_venv(venv);
        if created {
            remove_dir_if_present(venv)?;
            self.create(venv, place.home())?;
        }
        self.install(venv, place, requirements)?;
        write_atomically(&hash_file, requirements.hash.as_bytes())?;
        Ok(if created {
            Outcome::Created
        } else {
            Outcome::Updated
        })
    }

    /// Builds a relocatable venv (uv) in `.venv.new-PID` beside the venv, then renames it
    /// over the old one; on failure, the old one is left as it was.
    fn beside(&self, place: &Place, requirements: &Requirements) -> Result<(), Failure> {
        let venv = &place.dir;
        let new = place.scratch("new");
        remove_dir_if_present(&new)?;
        let built = self
            .create(&new, place.home())
            .and_then(|()| self.install(&new, place, requirements))
            .and_then(|()| write_atomically(&new.join(HASH_FILE), requirements.hash.as_bytes()));
        if let Err(failure) = built {
            let _ = fs::remove_dir_all(&new);
            return Err(failure);
        }
        let old = place.scratch("old");
        let had_old = venv.exists();
        if had_old {
            if let Err(e) = fs::rename(venv, &old) {
                let _ = fs::remove_dir_all(&new);
                return Err(Failure::io("move aside", venv, e));
            }
        }
        if let Err(e) = fs::rename(&new, venv) {
            if had_old {
                let _ = fs::rename(&old, venv);
            }
            let _ = fs::remove_dir_all(&new);
            return Err(Failure::io("move into place", venv, e));
        }
        if had_old {
            remove_dir_if_present(&old)?;
        }
        Ok(())
    }

    /// pip: moves the old venv to `.venv.old-PID`, builds the new one in place (pip's venvs
    /// hold absolute paths), and moves the old one back if that fails.
    fn reset_in_place(
        &self,
        place: &Place,
        requirements: &Requirements,
    ) -> Result<Outcome, Failure> {
        let venv = &place.dir;
        let old = place.scratch("old");
        let had_old = venv.exists();
        if had_old {
            fs::rename(venv, &old).map_err(|e| Failure::io("move aside", venv, e))?;
        }
        let built = self
            .create(venv, place.home())
            .and_then(|()| self.install(venv, place, requirements))
            .and_then(|()| write_atomically(&venv.join(HASH_FILE), requirements.hash.as_bytes()));
        match built {
            Ok(()) => {
                if had_old {
                    remove_dir_if_present(&old)?;
                }
                Ok(Outcome::Reset)
            }
            Err(failure) => {
                let _ = fs::remove_dir_all(venv);
                if had_old {
                    if let Err(e) = fs::rename(&old, venv) {
                        return Err(Failure::External(format!(
                            "the reset of {} failed ({failure}), and the old venv could not be moved back from {}: {e}; the next grove command that builds the venv moves it back",
                            place.display,
                            old.display()
                        )));
                    }
                }
                Err(reset_failed(place, failure))
            }
        }
    }

    /// Creates an empty venv at `venv`.
    fn create(&self, venv: &Path, home: &Path) -> Result<(), Failure> {
        let mut command = match self.installer {
            Installer::Uv => {
                let mut command = Command::new("uv");
                command.args(["venv", "--relocatable"]);
                if self.quiet_installer {
                    command.arg("--quiet");
                }
                command.arg(venv);
                command
            }
            Installer::Pip => {
                let mut command = Command::new("python3");
                command.args(["-m", "venv"]).arg(venv);
                command
            }
        };
        command
            .current_dir(home)
            .env_remove("VIRTUAL_ENV")
            .env_remove("PYTHONHOME");
        process::run(&self.ui, &mut command)
    }

    /// Installs `requirements` into `venv` (the venv at `place`, or the one being built beside
    /// it); relative paths in the requirements are taken from the requirements file's folder.
    fn install(
        &self,
        venv: &Path,
        place: &Place,
        requirements: &Requirements,
    ) -> Result<(), Failure> {
        let python = venv.join("bin/python");
        let mut command = match self.installer {
            Installer::Uv => {
                let mut command = Command::new("uv");
                command.args(["pip", "install"]);
                if self.quiet_installer {
                    command.arg("--quiet");
                }
                command.arg("--python").arg(&python);
                command
            }
            Installer::Pip => {
                let mut command = Command::new(&python);
                command.args(["-m", "pip", "install"]);
                if self.quiet_installer {
                    command.arg("--quiet");
                }
                command.env("PIP_DISABLE_PIP_VERSION_CHECK", "1");
                command
            }
        };
        command
            .arg("--requirement")
            .arg(&requirements.path)
            .current_dir(requirements.path.parent().unwrap_or(place.home()))
            .env_remove("VIRTUAL_ENV")
            .env_remove("PYTHONHOME");
        process::run(&self.ui, &mut command).map_err(|failure| {
            Failure::External(format!(
                "cannot install {} into {}: {failure}",
                requirements.display, place.display
            ))
        })
    }
}

/// The failure of a reset, saying that the old venv is still there.
fn reset_failed(place: &Place, failure: Failure) -> Failure {
    Failure::External(format!(
        "the reset of {} failed, the old venv is left as it was: {failure}",
        place.display
    ))
}

/// The requirements hash a venv was last built from, if it was built whole.
fn recorded_hash(venv: &Path) -> Option<String> {
    fs::read_to_string(venv.join(HASH_FILE))
        .ok()
        .map(|text| text.trim().to_string())
}

/// Whether `venv` holds a Python venv (its `pyvenv.cfg`).
fn is_venv(venv: &Path) -> bool {
    venv.join("pyvenv.cfg").is_file()
}

/// Removes a folder tree, if it is there.
fn remove_dir_if_present(dir: &Path) -> Result<(), Failure> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != IoKind::NotFound => Err(Failure::io("remove", dir, e)),
        _ => Ok(()),
    }
}

/// Puts right what a killed build left beside the venv at `place`; called with its lock held,
/// so whatever it finds is a dead command's.
///
/// A new venv (`.venv.new-PID`) never made it into place: it is removed. An old one
/// (`.venv.old-PID`) is the venv from before a swap: it is removed when the venv was built
/// whole, and moved back into place otherwise.
fn recover(place: &Place) -> Result<(), Failure> {
    let home = place.home();
    let entries = match fs::read_dir(home) {
        Ok(entries) => entries,
        Err(e) if e.kind() == IoKind::NotFound => return Ok(()),
        Err(e) => return Err(Failure::io("list", home, e)),
    };
    let (new_prefix, old_prefix) = (place.scratch_prefix("new"), place.scratch_prefix("old"));
    let mut olds = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&new_prefix) {
            remove_dir_if_present(&entry.path())?;
        } else if name.starts_with(&old_prefix) {
            olds.push(entry.path());
        }
    }
    let venv = &place.dir;
    for old in olds {
        if recorded_hash(venv).is_some() {
            remove_dir_if_present(&old)?;
        } else {
            remove_dir_if_present(venv)?;
            fs::rename(&old, venv).map_err(|e| Failure::io("move back", &old, e))?;
        }
    }
    Ok(())
}
