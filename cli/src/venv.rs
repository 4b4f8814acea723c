//! Each instance's own Python virtual environment, `instances/NAME/.venv`, built from its
//! `grove-requirements.txt` (seed 001), or from `defaults/grove-requirements.txt` when the
//! instance has none.
//!
//! The venv is built with `uv` when it is on PATH (fast, and every instance shares uv's one
//! cache), else with `python3 -m venv` and pip; `GROVE_VENV_INSTALLER=uv|pip` chooses. A venv
//! is current when its `.grove-requirements-hash` holds the hash of the requirements' text.
//! That file is written last, so a venv whose install failed never claims to be current.
//!
//! `reset` never leaves an instance without a working venv. With uv, the new venv is built
//! *relocatable* in `.venv.new-PID` beside the old one and renamed into place on success. With
//! pip (venvs hold absolute paths), the old venv is moved to `.venv.old-PID`, the new one is
//! built in place, and the old one is moved back if that fails. Whatever an interrupted reset
//! leaves behind is put right by the next command that touches the venv.

use crate::failure::Failure;
use crate::process::{self, Ui};
use crate::repository::write_atomically;
use crate::Context;
use grove_core::fleet::{short_hash, DEFAULTS_DIR, INSTANCES_DIR, REQUIREMENTS_FILE};
use grove_core::name::InstanceName;
use grove_core::{Error, ErrorKind};
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

/// Prefix of a reset's new venv, built beside the old one: `.venv.new-PID`.
const NEW_PREFIX: &str = ".venv.new-";

/// Prefix of the old venv while a reset swaps it out: `.venv.old-PID`.
const OLD_PREFIX: &str = ".venv.old-";

/// `grove venv update`: creates or updates each venv; does nothing when the requirements'
/// hash is unchanged.
pub fn update(context: &Context, names: &[InstanceName]) -> Result<(), Failure> {
    for_each(context, names, Action::Update)
}

/// `grove venv reset`: builds a new venv beside the old one and swaps only on success.
pub fn reset(context: &Context, names: &[InstanceName]) -> Result<(), Failure> {
    for_each(context, names, Action::Reset)
}

/// The instance's venv, built first if it is missing or stale; returns its folder.
pub fn ensure(context: &Context, name: &InstanceName) -> Result<PathBuf, Failure> {
    let spec = Spec::instance(context, name)?;
    ensure_spec(context, &spec)
}

/// The Tutor root and venv that base images are built with: `.grove/base/`, its venv built
/// from `defaults/grove-requirements.txt`.
pub fn ensure_base(context: &Context) -> Result<(PathBuf, PathBuf), Failure> {
    let spec = Spec::base(context)?;
    let venv = ensure_spec(context, &spec)?;
    Ok((spec.home, venv))
}

/// Updates the venv of `spec` if it is missing or stale, saying so only when it does work.
fn ensure_spec(context: &Context, spec: &Spec) -> Result<PathBuf, Failure> {
    let builder = Builder::new(context.ui, false)?;
    let outcome = builder.build(spec, Action::Update)?;
    if !matches!(outcome, Outcome::UpToDate) {
        context
            .ui
            .info(format!("{}: {outcome}", spec.venv_display()));
    }
    Ok(spec.venv())
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

/// One venv: where it lives and what goes into it.
struct Spec {
    /// The folder that holds `.venv`: the instance's folder, or `.grove/base`.
    home: PathBuf,
    /// The same folder relative to the repository root, for messages.
    home_display: String,
    /// The venv, resolved inside the repository.
    venv: PathBuf,
    /// The requirements file the venv is built from.
    requirements: PathBuf,
    /// The same file relative to the repository root, for messages.
    requirements_display: String,
    /// Its text.
    requirements_text: String,
}

impl Spec {
    /// The venv of instance `name`: its own requirements, or the defaults'.
    fn instance(context: &Context, name: &InstanceName) -> Result<Spec, Failure> {
        let home_display = format!("{INSTANCES_DIR}/{name}");
        let own = format!("{home_display}/{REQUIREMENTS_FILE}");
        let (requirements_display, requirements_text) =
            match context.repository.read_text(&own)? {
                Some(text) => (own, text),
                None => defaults_requirements(context)?.ok_or_else(|| {
                    Failure::Core(Error::new(
                        ErrorKind::InvalidInput,
                        format!(
                            "neither {home_display}/{REQUIREMENTS_FILE} nor {DEFAULTS_DIR}/{REQUIREMENTS_FILE} exists: \
                             the venv of \"{name}\" needs one of them"
                        ),
                    ))
                })?,
            };
        Spec::new(
            context,
            home_display,
            requirements_display,
            requirements_text,
        )
    }

    /// The venv that base images are built with.
    fn base(context: &Context) -> Result<Spec, Failure> {
        let (requirements_display, requirements_text) = defaults_requirements(context)?
            .ok_or_else(|| {
                Failure::Core(Error::new(
                    ErrorKind::InvalidInput,
                    format!("{DEFAULTS_DIR}/{REQUIREMENTS_FILE} is missing: base images are built with the Tutor it lists"),
                ))
            })?;
        context.repository.private_folder(BASE_ROOT)?;
        let home_display = format!("{}/{BASE_ROOT}", crate::repository::PRIVATE_DIR);
        Spec::new(
            context,
            home_display,
            requirements_display,
            requirements_text,
        )
    }

    /// The venv in `home_display`, built from `requirements_display`: paths resolved inside the
    /// repository.
    fn new(
        context: &Context,
        home_display: String,
        requirements_display: String,
        requirements_text: String,
    ) -> Result<Spec, Failure> {
        let repository = &context.repository;
        Ok(Spec {
            home: repository.path(&home_display)?,
            venv: repository.path(&format!("{home_display}/{VENV_DIR}"))?,
            requirements: repository.path(&requirements_display)?,
            home_display,
            requirements_display,
            requirements_text,
        })
    }

    /// The venv's folder.
    fn venv(&self) -> PathBuf {
        self.venv.clone()
    }

    /// The venv's folder relative to the repository root, for messages.
    fn venv_display(&self) -> String {
        format!("{}/{VENV_DIR}", self.home_display)
    }
}

/// `defaults/grove-requirements.txt`, for messages, and its text, if it exists.
fn defaults_requirements(context: &Context) -> Result<Option<(String, String)>, Failure> {
    let path = format!("{DEFAULTS_DIR}/{REQUIREMENTS_FILE}");
    Ok(context
        .repository
        .read_text(&path)?
        .map(|text| (path, text)))
}

/// Runs `action` on the venv of every instance in `names`: one at a time with its installer's
/// output streamed, or several in parallel (bounded to the CPUs) with a progress bar on a
/// terminal and one line per instance otherwise.
fn for_each(context: &Context, names: &[InstanceName], action: Action) -> Result<(), Failure> {
    if let [name] = names {
        let spec = Spec::instance(context, name)?;
        let outcome = Builder::new(context.ui, false)?.build(&spec, action)?;
        context
            .ui
            .info(format!("{}: {outcome}", spec.venv_display()));
        return Ok(());
    }
    if names.is_empty() {
        context.ui.info("no instances: nothing to do");
        return Ok(());
    }
    let builder = Builder::new(context.ui, true)?;
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(names.len());
    let progress = (!context.ui.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(names.len() as u64);
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
    let queue = Mutex::new(names.iter());
    let failed = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let next = queue.lock().map(|mut q| q.next()).ok().flatten();
                let Some(name) = next else { break };
                let result =
                    Spec::instance(context, name).and_then(|spec| builder.build(&spec, action));
                match result {
                    Ok(outcome) => {
                        if !context.ui.quiet {
                            say(format!("grove: {name}: {outcome}"));
                        }
                    }
                    Err(failure) => {
                        say(format!("error: {name}: {failure}"));
                        if let Ok(mut failed) = failed.lock() {
                            failed.push(name.to_string());
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
        context.ui.info(format!("{} venvs done", names.len()));
        Ok(())
    } else {
        failed.sort();
        Err(Failure::External(format!(
            "{} of {} venvs failed: {}",
            failed.len(),
            names.len(),
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
                ErrorKind::InvalidInput,
                format!("{INSTALLER_VARIABLE}={other:?} is not an installer: use \"uv\" or \"pip\", or leave it unset"),
            ))),
            Err(std::env::VarError::NotUnicode(_)) => Err(Failure::Core(Error::new(
                ErrorKind::InvalidInput,
                format!("{INSTALLER_VARIABLE} is not UTF-8: use \"uv\" or \"pip\""),
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

    /// Updates or resets the venv of `spec`.
    fn build(&self, spec: &Spec, action: Action) -> Result<Outcome, Failure> {
        recover(&spec.home)?;
        let hash = short_hash(&spec.requirements_text);
        match action {
            Action::Update => self.update(spec, &hash),
            Action::Reset => self.reset(spec, &hash),
        }
    }

    /// Creates the venv if it is missing, and installs the requirements unless it is current.
    fn update(&self, spec: &Spec, hash: &str) -> Result<Outcome, Failure> {
        let venv = spec.venv();
        if recorded_hash(&venv).as_deref() == Some(hash) {
            return Ok(Outcome::UpToDate);
        }
        // From here on the venv is not current until the install succeeds.
        let hash_file = venv.join(HASH_FILE);
        match fs::remove_file(&hash_file) {
            Err(e) if e.kind() != IoKind::NotFound => {
                return Err(Failure::io("remove", &hash_file, e))
            }
            _ => {}
        }
        let created = !is_venv(&venv);
        if created {
            remove_dir_if_present(&venv)?;
            self.create(&venv, &spec.home)?;
        }
        self.install(&venv, spec)?;
        write_atomically(&hash_file, hash.as_bytes())?;
        Ok(if created {
            Outcome::Created
        } else {
            Outcome::Updated
        })
    }

    /// Builds the venv anew and swaps it in only when it is complete.
    fn reset(&self, spec: &Spec, hash: &str) -> Result<Outcome, Failure> {
        match self.installer {
            Installer::Uv => self.reset_beside(spec, hash),
            Installer::Pip => self.reset_in_place(spec, hash),
        }
    }

    /// uv: builds a relocatable venv in `.venv.new-PID`, then renames it over the old one.
    fn reset_beside(&self, spec: &Spec, hash: &str) -> Result<Outcome, Failure> {
        let venv = spec.venv();
        let new = spec
            .home
            .join(format!("{NEW_PREFIX}{}", std::process::id()));
        remove_dir_if_present(&new)?;
        let built = self
            .create(&new, &spec.home)
            .and_then(|()| self.install(&new, spec))
            .and_then(|()| write_atomically(&new.join(HASH_FILE), hash.as_bytes()));
        if let Err(failure) = built {
            let _ = fs::remove_dir_all(&new);
            return Err(reset_failed(spec, failure));
        }
        let old = spec
            .home
            .join(format!("{OLD_PREFIX}{}", std::process::id()));
        let had_old = venv.exists();
        if had_old {
            if let Err(e) = fs::rename(&venv, &old) {
                let _ = fs::remove_dir_all(&new);
                return Err(Failure::io("move aside", &venv, e));
            }
        }
        if let Err(e) = fs::rename(&new, &venv) {
            if had_old {
                let _ = fs::rename(&old, &venv);
            }
            let _ = fs::remove_dir_all(&new);
            return Err(Failure::io("move into place", &venv, e));
        }
        if had_old {
            remove_dir_if_present(&old)?;
        }
        Ok(Outcome::Reset)
    }

    /// pip: moves the old venv to `.venv.old-PID`, builds the new one in place (pip's venvs
    /// hold absolute paths), and moves the old one back if that fails.
    fn reset_in_place(&self, spec: &Spec, hash: &str) -> Result<Outcome, Failure> {
        let venv = spec.venv();
        let old = spec
            .home
            .join(format!("{OLD_PREFIX}{}", std::process::id()));
        let had_old = venv.exists();
        if had_old {
            fs::rename(&venv, &old).map_err(|e| Failure::io("move aside", &venv, e))?;
        }
        let built = self
            .create(&venv, &spec.home)
            .and_then(|()| self.install(&venv, spec))
            .and_then(|()| write_atomically(&venv.join(HASH_FILE), hash.as_bytes()));
        match built {
            Ok(()) => {
                if had_old {
                    remove_dir_if_present(&old)?;
                }
                Ok(Outcome::Reset)
            }
            Err(failure) => {
                let _ = fs::remove_dir_all(&venv);
                if had_old {
                    if let Err(e) = fs::rename(&old, &venv) {
                        return Err(Failure::External(format!(
                            "the reset of {} failed ({failure}), and the old venv could not be moved back from {}: {e}; the next grove command that uses the venv moves it back",
                            spec.venv_display(),
                            old.display()
                        )));
                    }
                }
                Err(reset_failed(spec, failure))
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

    /// Installs the requirements of `spec` into `venv`; relative paths in the requirements
    /// are taken from the requirements file's folder.
    fn install(&self, venv: &Path, spec: &Spec) -> Result<(), Failure> {
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
            .arg(&spec.requirements)
            .current_dir(spec.requirements.parent().unwrap_or(&spec.home))
            .env_remove("VIRTUAL_ENV")
            .env_remove("PYTHONHOME");
        process::run(&self.ui, &mut command).map_err(|failure| {
            Failure::External(format!(
                "cannot install {} into {}: {failure}",
                spec.requirements_display,
                spec.venv_display()
            ))
        })
    }
}

/// The failure of a reset, saying that the old venv is still there.
fn reset_failed(spec: &Spec, failure: Failure) -> Failure {
    Failure::External(format!(
        "the reset of {} failed, the old venv is left as it was: {failure}",
        spec.venv_display()
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

/// Puts right what an interrupted reset left in `home`, skipping what a running grove owns.
///
/// A `.venv.new-PID` never made it into place: it is removed. A `.venv.old-PID` is the venv
/// from before the reset: it is removed when `.venv` was built whole, and moved back to
/// `.venv` otherwise.
fn recover(home: &Path) -> Result<(), Failure> {
    let entries = match fs::read_dir(home) {
        Ok(entries) => entries,
        Err(e) if e.kind() == IoKind::NotFound => return Ok(()),
        Err(e) => return Err(Failure::io("list", home, e)),
    };
    let mut olds = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let (is_new, pid) = if let Some(pid) = name.strip_prefix(NEW_PREFIX) {
            (true, pid.to_string())
        } else if let Some(pid) = name.strip_prefix(OLD_PREFIX) {
            (false, pid.to_string())
        } else {
            continue;
        };
        if is_running(&pid) {
            continue;
        }
        if is_new {
            remove_dir_if_present(&entry.path())?;
        } else {
            olds.push(entry.path());
        }
    }
    let venv = home.join(VENV_DIR);
    for old in olds {
        if recorded_hash(&venv).is_some() {
            remove_dir_if_present(&old)?;
        } else {
            remove_dir_if_present(&venv)?;
            fs::rename(&old, &venv).map_err(|e| Failure::io("move back", &old, e))?;
        }
    }
    Ok(())
}

/// Whether the process `pid` (from a leftover's name) is running, other than this one.
fn is_running(pid: &str) -> bool {
    match pid.parse::<u32>() {
        Ok(pid) if pid == std::process::id() => false,
        Ok(pid) => Path::new("/proc").join(pid.to_string()).exists(),
        Err(_) => false,
    }
}
