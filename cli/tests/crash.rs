//! Crash safety: `grove new`, `grove venv reset` and `grove prepare` killed with SIGKILL at
//! many points leave the instance in the old state or the new one, never a mix, and the next
//! run puts right whatever the killed one left, by itself.
//!
//! Each command gets its own kill loop (the three run as parallel test functions):
//!
//! 1. One uninterrupted run is timed to learn how long the command takes on this machine, D;
//!    D then follows the uninterrupted recovery runs. Nothing is asserted about time: D
//!    only places the kill points.
//! 2. The command is started (in its own process group) and killed at a point: a few just
//!    after the start, then [`UNIFORM_POINTS`] spread over `[0, D]`, then midpoints between
//!    neighbouring points that left different phases on disk, so that more points land on the
//!    transitions (the renames, the pointer flip, the clean-ups).
//! 3. The whole process group gets SIGKILL (grove and whatever it started: uv, Tutor), and
//!    the harness waits until none of it runs any more.
//! 4. The state on disk is checked against the old and the new one, then the next natural
//!    command is run and must end, by itself, in the new state with no leftovers.
//!
//! The scratch folders are in `/dev/shm` when there is one: SIGKILL loses nothing that reached
//! the kernel, so a kill leaves the same on any file system, and grove's fsyncs (which are
//! for power loss) then cost nothing.
//!
//! The counts of where the kills landed are printed (`cargo test --test crash --
//! --nocapture` shows them).

mod common;

use common::*;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Kill points spread evenly over the timed duration of the command.
const UNIFORM_POINTS: usize = 50;

/// Kill points just after the start, when grove has barely begun.
const EARLY_POINTS: [Duration; 5] = [
    Duration::ZERO,
    Duration::from_micros(500),
    Duration::from_millis(1),
    Duration::from_millis(2),
    Duration::from_millis(4),
];

/// How many midpoints each refinement round may add between neighbouring points that left
/// different phases on disk.
const REFINE_POINTS: usize = 8;

/// How many refinement rounds follow the uniform points.
const REFINE_ROUNDS: usize = 2;

// ---------------------------------------------------------------------------------------
// Killing a process group

extern "C" {
    /// `kill(2)` from the C library that std already links.
    fn kill(pid: i32, signal: i32) -> i32;
}

/// SIGKILL's number on Linux.
const SIGKILL: i32 = 9;

/// What became of a command that was to be killed.
enum Killed {
    /// It was killed while running.
    Killed,
    /// It had already exited, with this code, when the kill point came.
    Finished(Option<i32>),
}

/// Starts `command` in a process group of its own, waits `delay`, then kills the whole group
/// with SIGKILL (unless the command has exited already) and waits until none of it runs.
fn run_and_kill(mut command: Command, delay: Duration) -> Killed {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    let mut child = command.spawn().expect("grove starts");
    let group = child.id();
    if !delay.is_zero() {
        std::thread::sleep(delay);
    }
    if let Some(status) = child.try_wait().expect("grove can be waited for") {
        return Killed::Finished(status.code());
    }
    // SAFETY: `kill` takes two integers and touches no memory of this process; the group is
    // the one just started (its leader, our child, is not yet waited for, so its id is ours).
    let sent = unsafe { kill(-(group as i32), SIGKILL) };
    assert_eq!(sent, 0, "cannot send SIGKILL to process group {group}");
    child.wait().expect("grove can be waited for");
    wait_until_gone(group);
    Killed::Killed
}

/// Waits until no process of the group `group` is alive (zombies that nobody reaps count as
/// gone: they run nothing).
fn wait_until_gone(group: u32) {
    let started = Instant::now();
    while group_is_alive(group) {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "process group {group} still runs long after SIGKILL"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether a live process (not a zombie) is in the process group `group`, per `/proc`.
fn group_is_alive(group: u32) -> bool {
    let Ok(entries) = fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            return false;
        };
        // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses.
        let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
            return false;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        matches!(fields.as_slice(), [state, _ppid, pgrp, ..]
            if pgrp.parse() == Ok(group) && *state != "Z" && *state != "X")
    })
}

// ---------------------------------------------------------------------------------------
// The kill loop

/// Where one kill landed: the state the instance holds (`old` or `new`, or for a sync, the
/// store's and the env's) and the finer phase the harness saw on disk; and how long the
/// uninterrupted run that recovered took, if there was one that did the whole work.
struct Landing {
    state: String,
    phase: String,
    full_run: Option<Duration>,
}

/// Times `run` once uninterrupted, then calls `trial` with every kill point and tallies where
/// they landed; returns the number of kill points.
///
/// `trial(delay)` prepares the old state, kills the command at `delay`, checks the invariant
/// and the recovery, and says where the kill landed. The duration that places the kill
/// points follows the uninterrupted runs that trials report (the median of the last few), so
/// that the points keep covering the command's run when the machine gets busier or idler.
fn kill_loop(
    command: &str,
    run: impl FnOnce() -> Duration,
    mut trial: impl FnMut(Duration) -> Landing,
) -> usize {
    let first = run();
    let mut recent = vec![first];
    let current = |recent: &[Duration]| {
        let mut last: Vec<Duration> = recent.iter().rev().take(5).copied().collect();
        last.sort();
        last[last.len() / 2]
    };
    let mut landed: Vec<(Duration, Landing)> = Vec::new();
    let mut try_at =
        |delay: Duration, recent: &mut Vec<Duration>, landed: &mut Vec<(Duration, Landing)>| {
            let landing = trial(delay);
            recent.extend(landing.full_run);
            landed.push((delay, landing));
        };
    for delay in EARLY_POINTS {
        try_at(delay, &mut recent, &mut landed);
    }
    // The uniform points in an interleaved order (31 is prime to 50), so that a change of
    // pace on the machine shifts all of them alike.
    for i in 0..UNIFORM_POINTS {
        let step = (i * 31) % UNIFORM_POINTS + 1;
        let delay = current(&recent) * step as u32 / UNIFORM_POINTS as u32;
        try_at(delay, &mut recent, &mut landed);
    }
    for _ in 0..REFINE_ROUNDS {
        landed.sort_by_key(|(d, _)| *d);
        let midpoints: Vec<Duration> = landed
            .windows(2)
            .filter(|pair| {
                pair[0].1.phase != pair[1].1.phase
                    && pair[1].0.saturating_sub(pair[0].0) > Duration::from_micros(200)
            })
            .map(|pair| (pair[0].0 + pair[1].0) / 2)
            .take(REFINE_POINTS)
            .collect();
        for delay in midpoints {
            try_at(delay, &mut recent, &mut landed);
        }
    }
    let mut states: BTreeMap<&str, usize> = BTreeMap::new();
    let mut phases: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, landing) in &landed {
        *states.entry(&landing.state).or_default() += 1;
        *phases.entry(&landing.phase).or_default() += 1;
    }
    eprintln!(
        "crash harness: {command}: first uninterrupted run {first:?}, last {:?}; {} kill points; states {states:?}; phases {phases:?}",
        current(&recent),
        landed.len()
    );
    landed.len()
}

// ---------------------------------------------------------------------------------------
// Helpers

/// The names in `dir` that start with `prefix`.
fn names_starting(dir: &Path, prefix: &str) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect()
}

/// How two trees differ, briefly, for assertion messages.
fn difference(actual: &BTreeMap<String, Vec<u8>>, expected: &BTreeMap<String, Vec<u8>>) -> String {
    let missing: Vec<&String> = expected
        .keys()
        .filter(|k| !actual.contains_key(*k))
        .collect();
    let extra: Vec<&String> = actual
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    let changed: Vec<&String> = expected
        .iter()
        .filter(|(k, v)| actual.get(*k).is_some_and(|a| a != *v))
        .map(|(k, _)| k)
        .collect();
    format!(
        "{} missing (first {:?}), {} extra (first {:?}), {} changed (first {:?})",
        missing.len(),
        missing.first(),
        extra.len(),
        extra.first(),
        changed.len(),
        changed.first()
    )
}

/// Runs a command to its end and times it.
fn timed(command: &mut Command) -> (Output, Duration) {
    let started = Instant::now();
    let output = command.output().expect("grove runs");
    (output, started.elapsed())
}

/// `grove --root ROOT ARGS...`, with nothing from the outside environment that changes it.
fn grove_command(root: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_grove"));
    command
        .arg("--root")
        .arg(root)
        .args(args)
        .env_remove("GROVE_ROOT")
        .env_remove("VIRTUAL_ENV")
        .env("NO_COLOR", "1");
    command
}

/// A fresh scratch folder for one test, in memory (`/dev/shm`) when the machine has it.
///
/// SIGKILL loses nothing that reached the kernel, so what a kill leaves is the same on any
/// file system; in memory, the fsyncs that grove does for power loss cost nothing and the
/// loops take a fraction of the time. Removed by [`Scratch`]'s drop when the test passes.
fn crash_scratch(name: &str) -> Scratch {
    let shm = Path::new("/dev/shm");
    let dir = shm.join(format!("grove-crash-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    if shm.is_dir() && fs::create_dir(&dir).is_ok() {
        Scratch(dir)
    } else {
        Scratch(scratch(name))
    }
}

/// A scratch folder, removed when the test that made it passes (kept to look at otherwise).
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

/// Asserts that a run succeeded, showing what it said otherwise.
fn succeeded(output: &Output, what: &str) {
    assert!(output.status.success(), "{what}: {}", describe(output));
}

// ---------------------------------------------------------------------------------------
// grove new

/// How many files the crash test adds to `defaults/`, so that the copy takes a while.
const DEFAULTS_FILES: usize = 300;

/// `grove new NAME` killed at every point: `instances/NAME` is absent or whole, and the next
/// `grove new NAME` creates it (or says it exists) and leaves no staging folder.
#[test]
fn grove_new_killed_anywhere_leaves_no_instance_or_a_whole_one() {
    let scratch = crash_scratch("new");
    let root = scratch.0.clone();
    copy_tree(&example_cluster(), &root);
    for i in 0..DEFAULTS_FILES {
        let dir = root.join(format!("defaults/files/part-{}", i % 12));
        fs::create_dir_all(&dir).unwrap();
        let line = format!("defaults file {i}: {}\n", "x".repeat(i % 64));
        fs::write(dir.join(format!("file-{i}.txt")), line.repeat(20 + i % 50)).unwrap();
    }
    let defaults = tree(&root.join("defaults"));
    let instances = root.join("instances");
    let next = std::cell::Cell::new(0);
    let fresh_name = || {
        next.set(next.get() + 1);
        format!("crash-{}", next.get())
    };

    let points = kill_loop(
        "grove new",
        || {
            let name = fresh_name();
            let (output, took) = timed(&mut grove_command(&root, &["new", &name]));
            succeeded(&output, "an uninterrupted grove new");
            fs::remove_dir_all(instances.join(&name)).unwrap();
            took
        },
        |delay| {
            let name = fresh_name();
            let killed = run_and_kill(grove_command(&root, &["new", &name]), delay);
            if let Killed::Finished(code) = killed {
                assert_eq!(code, Some(0), "grove new {name} failed on its own");
            }
            let instance = instances.join(&name);
            let staging = names_starting(&instances, &format!(".{name}.new-"));
            let state = if instance.exists() {
                let copy = tree(&instance);
                assert!(
                    copy == defaults,
                    "killed after {delay:?}, instances/{name} is there but is not a whole copy of defaults/: {}",
                    difference(&copy, &defaults)
                );
                "new"
            } else {
                let plan = grove_command(&root, &["plan", &format!("[AutoDeploy][Update] {name}")])
                    .output()
                    .unwrap();
                assert_eq!(
                    plan.status.code(),
                    Some(3),
                    "killed after {delay:?}, the fleet sees an instance {name} that is not there: {}",
                    describe(&plan)
                );
                "old"
            };
            let phase = match (state, staging.is_empty()) {
                ("old", true) => "absent",
                ("old", false) => "absent, staging folder left",
                (_, true) => "whole",
                (_, false) => "whole, staging folder left",
            };

            // The next run recovers by itself.
            let (again, took) = timed(&mut grove_command(&root, &["new", &name]));
            if state == "old" {
                succeeded(&again, "the grove new after a killed one");
            } else {
                assert_eq!(again.status.code(), Some(4), "{}", describe(&again));
            }
            let copy = tree(&instance);
            assert!(
                copy == defaults,
                "after recovery: {}",
                difference(&copy, &defaults)
            );
            let left = names_starting(&instances, &format!(".{name}."));
            assert!(left.is_empty(), "after recovery, {left:?} are left");
            fs::remove_dir_all(&instance).unwrap();
            Landing {
                state: state.to_string(),
                phase: phase.to_string(),
                full_run: (state == "old").then_some(took),
            }
        },
    );
    assert!(points >= 50, "only {points} kill points");
}

// ---------------------------------------------------------------------------------------
// grove venv reset

/// A file the harness puts in the venv before each reset: the old venv has it, a new one not.
const OLD_MARKER: &str = "crash-test-old-venv";

/// The venv's grove-hello script runs (with the venv's python, importing the package): the
/// venv is whole and works where it is.
fn venv_works(venv: &Path) -> bool {
    Command::new(venv.join("bin/grove-hello"))
        .env_remove("VIRTUAL_ENV")
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout == b"hello from grove-hello\n")
}

/// Builds the grove-hello fixture's wheel into `dir` with its own build backend (standard
/// library only), and returns the wheel's path: installing a built wheel is quicker than
/// building the package in every reset, and needs no network either.
fn hello_wheel(dir: &Path) -> std::path::PathBuf {
    let package = dir.join("grove-hello");
    copy_tree(&project().join("tests/fixtures/venv/grove-hello"), &package);
    let wheels = dir.join("wheels");
    fs::create_dir_all(&wheels).unwrap();
    let built = Command::new("python3")
        .args([
            "-c",
            "import sys, wheel_backend; print(wheel_backend.build_wheel(sys.argv[1]))",
        ])
        .arg(&wheels)
        .current_dir(&package)
        .output()
        .expect("python3 runs");
    succeeded(&built, "building the grove-hello wheel");
    wheels.join(String::from_utf8_lossy(&built.stdout).trim())
}

/// The interpreter that `python3` on PATH is (past any shims), for uv to build venvs with.
fn real_python() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 runs");
    succeeded(&out, "python3");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A scratch cluster whose instances `campus` and `labs` need the grove-hello wheel, and grove
/// to run on it with the real uv.
struct VenvCluster {
    /// Removed with the cluster when the test passes.
    _scratch: Scratch,
    root: std::path::PathBuf,
    /// What campus and labs need: `grove-hello @ file:///...whl`.
    requirements: String,
    /// PATH, with uv first.
    path: std::ffi::OsString,
    /// The Python uv builds venvs from.
    python: String,
}

impl VenvCluster {
    fn new(name: &str) -> VenvCluster {
        let scratch = crash_scratch(name);
        let base = scratch.0.clone();
        let root = base.join("cluster");
        copy_tree(&example_cluster(), &root);
        let wheel = hello_wheel(&base.join("packages"));
        let requirements = format!("grove-hello @ file://{}\n", wheel.display());
        for name in ["campus", "labs"] {
            fs::write(
                root.join("instances")
                    .join(name)
                    .join("grove-requirements.txt"),
                &requirements,
            )
            .unwrap();
        }
        let uv = tool("uv");
        let path = std::env::join_paths(std::iter::once(uv.parent().unwrap().to_path_buf()).chain(
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
        ))
        .unwrap();
        VenvCluster {
            _scratch: scratch,
            root,
            requirements,
            path,
            python: real_python(),
        }
    }

    /// `grove ARGS...` on the cluster, with uv.
    fn grove(&self, args: &[&str]) -> Command {
        let mut command = grove_command(&self.root, args);
        command
            .env("PATH", &self.path)
            .env("GROVE_VENV_INSTALLER", "uv")
            .env("UV_PYTHON", &self.python);
        command
    }
}

/// `grove venv reset` (with uv, from the local grove-hello package) killed at every point:
/// `.venv` is the old venv or the new one and works; `grove venv update` then finds it
/// current, with no leftovers, and a reset after it ends in a new working venv.
#[test]
fn grove_venv_reset_killed_anywhere_leaves_a_working_old_or_new_venv() {
    let cluster = VenvCluster::new("venv");
    let instance = cluster.root.join("instances/campus");
    let venv = instance.join(".venv");
    let hash = grove_core::fleet::short_hash(&cluster.requirements);
    let grove = |args: &[&str]| cluster.grove(args);
    succeeded(
        &grove(&["venv", "update", "campus"]).output().unwrap(),
        "the first venv update",
    );
    let leftovers = || names_starting(&instance, ".venv.");

    let points = kill_loop(
        "grove venv reset",
        || {
            let (output, took) = timed(&mut grove(&["venv", "reset", "campus"]));
            succeeded(&output, "an uninterrupted reset");
            took
        },
        |delay| {
            fs::write(venv.join(OLD_MARKER), delay.as_nanos().to_string()).unwrap();
            let killed = run_and_kill(grove(&["venv", "reset", "campus"]), delay);
            if let Killed::Finished(code) = killed {
                assert_eq!(code, Some(0), "a reset failed on its own");
            }
            let left = leftovers();
            let new_left = left.iter().any(|n| n.starts_with(".venv.new-"));
            let old_left = left.iter().any(|n| n.starts_with(".venv.old-"));
            let phase = if venv.exists() {
                assert!(
                    venv_works(&venv),
                    "killed after {delay:?}, .venv is there but does not work (leftovers {left:?})"
                );
                assert_eq!(
                    fs::read_to_string(venv.join(".grove-requirements-hash")).unwrap_or_default(),
                    hash,
                    "killed after {delay:?}, .venv does not record its requirements"
                );
                let which = if venv.join(OLD_MARKER).exists() {
                    "old"
                } else {
                    "new"
                };
                match (new_left, old_left) {
                    (false, false) => which.to_string(),
                    (true, false) => format!("{which}, new venv being built"),
                    (false, true) => format!("{which}, old venv left aside"),
                    (true, true) => format!("{which}, both left"),
                }
            } else {
                // Only between the two renames of the swap: the old venv is aside, the new
                // one whole beside it, and the next command puts the old one back.
                assert!(
                    old_left,
                    "killed after {delay:?}, .venv is gone and no old venv is kept: {left:?}"
                );
                "no .venv: between the swap's renames".to_string()
            };

            // The next command that touches the venv puts it right, with nothing to build.
            let update = grove(&["venv", "update", "campus"]).output().unwrap();
            succeeded(&update, "the venv update after a killed reset");
            assert!(
                String::from_utf8_lossy(&update.stderr).contains("up to date, nothing to do"),
                "killed after {delay:?} ({phase}), the update had to rebuild: {}",
                describe(&update)
            );
            assert_eq!(leftovers(), Vec::<String>::new(), "after the update");
            assert!(
                venv_works(&venv),
                "after the update, the venv does not work"
            );
            let mut full_run = None;
            let state = if venv.join(OLD_MARKER).exists() {
                // It ends in the new state with the next reset.
                let (reset, took) = timed(&mut grove(&["venv", "reset", "campus"]));
                succeeded(&reset, "the reset after a killed one");
                full_run = Some(took);
                assert!(!venv.join(OLD_MARKER).exists());
                assert_eq!(leftovers(), Vec::<String>::new(), "after the next reset");
                assert!(
                    venv_works(&venv),
                    "after the next reset, the venv does not work"
                );
                "old"
            } else {
                "new"
            };
            Landing {
                state: state.to_string(),
                phase,
                full_run,
            }
        },
    );
    assert!(points >= 50, "only {points} kill points");
}

/// `grove venv update --shared campus labs` (their one shared venv, with uv) killed at every
/// point of its build: `.grove/venvs/HASH` is absent or whole and working, never half built;
/// the next run builds it, or finds it current, and leaves no leftovers and the lock free.
#[test]
fn grove_venv_update_shared_killed_anywhere_leaves_no_venv_or_a_whole_one() {
    let cluster = VenvCluster::new("venv-shared");
    let hash = grove_core::fleet::short_hash(&cluster.requirements);
    let venvs = cluster.root.join(".grove/venvs");
    let venv = venvs.join(&hash);
    let update = || cluster.grove(&["venv", "update", "--shared", "campus", "labs"]);
    let leftovers = || {
        let mut left = names_starting(&venvs, &format!(".{hash}."));
        left.retain(|n| !n.ends_with(".lock"));
        left
    };
    let lock_is_free = || {
        // Taken and let go with the file's closing, when it is free.
        let lock = fs::File::open(venvs.join(format!(".{hash}.lock"))).unwrap();
        lock.try_lock().is_ok()
    };

    let points = kill_loop(
        "grove venv update --shared",
        || {
            let (output, took) = timed(&mut update());
            succeeded(&output, "an uninterrupted shared update");
            took
        },
        |delay| {
            // Every trial starts from a cold cache: no shared venv.
            if venv.exists() {
                fs::remove_dir_all(&venv).unwrap();
            }
            if let Killed::Finished(code) = run_and_kill(update(), delay) {
                assert_eq!(code, Some(0), "a shared update failed on its own");
            }
            let left = leftovers();
            let whole = venv.exists();
            let phase = if whole {
                assert!(
                    venv_works(&venv),
                    "killed after {delay:?}, the shared venv is there but does not work (leftovers {left:?})"
                );
                assert_eq!(
                    fs::read_to_string(venv.join(".grove-requirements-hash")).unwrap_or_default(),
                    hash,
                    "killed after {delay:?}, the shared venv does not record its requirements"
                );
                format!("whole, leftovers {}", left.len())
            } else if left.is_empty() {
                "no venv".to_string()
            } else {
                "no venv, a new one being built".to_string()
            };

            // The next run ends with the venv whole, by itself.
            let (rerun, took) = timed(&mut update());
            succeeded(&rerun, "the shared update after a killed one");
            let said = String::from_utf8_lossy(&rerun.stderr);
            let expected = if whole {
                "(campus, labs): up to date, nothing to do"
            } else {
                "(campus, labs): created"
            };
            assert!(
                said.contains(expected),
                "killed after {delay:?} ({phase}): {}",
                describe(&rerun)
            );
            assert_eq!(leftovers(), Vec::<String>::new(), "after the rerun");
            assert!(venv_works(&venv), "after the rerun, the venv does not work");
            assert!(lock_is_free(), "after the rerun, the venv's lock is held");
            Landing {
                state: if whole { "whole" } else { "none" }.to_string(),
                phase,
                full_run: (!whole).then_some(took),
            }
        },
    );
    assert!(points >= 50, "only {points} kill points");
}

// ---------------------------------------------------------------------------------------
// grove prepare

/// The requirements of the prepare test's fake venv.
const PREPARE_REQUIREMENTS: &str = "tutor==0.0.0-fake\n";

/// How many files the fake Tutor renders into `env/`.
const RENDERED_FILES: usize = 300;

/// The two LMS hosts that the prepare test alternates between: each prepare renders the other.
const HOSTS: [&str; 2] = ["one.example.com", "two.example.com"];

/// A fake `tutor` for `config save`: generates `ID` once (as Tutor generates its secrets),
/// then renders [`RENDERED_FILES`] files into `env/` from the host and the ID in `config.yml`,
/// with shell builtins only (one `mkdir`); fails at once when `$FAKE_TUTOR_FAIL` is set.
fn fake_tutor() -> String {
    format!(
        r#"#!/bin/sh
[ -n "$FAKE_TUTOR_FAIL" ] && exit 1
host=unknown
id=
while IFS= read -r line; do
  case "$line" in
    LMS_HOST:*) host="${{line#LMS_HOST: }}" ;;
    ID:*) id="${{line#ID: }}" ;;
  esac
done < "$TUTOR_ROOT/config.yml"
if [ -z "$id" ]; then
  id="generated-$$"
  printf 'ID: %s\n' "$id" >> "$TUTOR_ROOT/config.yml"
fi
mkdir -p "$TUTOR_ROOT/env/apps/openedx" "$TUTOR_ROOT/env/apps/cms" "$TUTOR_ROOT/env/apps/lms" "$TUTOR_ROOT/env/k8s"
i=0
for dir in apps/openedx apps/cms apps/lms k8s; do
  n=0
  while [ $n -lt {per_dir} ]; do
    printf 'rendered file %s of %s for %s\n%s\n' "$i" "$dir" "$host" "setting_$i: $host/$i" > "$TUTOR_ROOT/env/$dir/file-$i.yml"
    i=$((i + 1))
    n=$((n + 1))
  done
done
printf 'LMS_HOST: %s\nID: %s\n' "$host" "$id" > "$TUTOR_ROOT/env/apps/openedx/config.yml"
"#,
        per_dir = RENDERED_FILES / 4
    )
}

/// The store's view of instance `demo`: its manifest's bytes, generation and id, and every
/// file the manifest lists, read from the generation's folder and checked against its hash.
struct StoreState {
    manifest: Vec<u8>,
    generation: u64,
    files: BTreeMap<String, Vec<u8>>,
}

/// Reads the store's current generation of `demo`, asserting that every file the manifest
/// lists is there with the SHA-256 the manifest gives, and that the generation's own copy of
/// the manifest is there too.
fn store_state(store: &Path, when: &str) -> StoreState {
    let manifest = fs::read(store.join("demo/manifest.json"))
        .unwrap_or_else(|e| panic!("{when}: the store has no manifest: {e}"));
    let parsed: serde_json::Value = serde_json::from_slice(&manifest)
        .unwrap_or_else(|e| panic!("{when}: the manifest does not parse: {e}"));
    let id = parsed["id"].as_str().unwrap();
    let generation = parsed["generation"].as_u64().unwrap();
    assert_eq!(
        fs::read(store.join(format!("demo/generations/{id}.json"))).ok(),
        Some(manifest.clone()),
        "{when}: generation {id} has no copy of its manifest"
    );
    let mut files = BTreeMap::new();
    for (path, entry) in parsed["files"].as_object().unwrap() {
        let key = store.join(format!("demo/generations/{id}/{path}"));
        let bytes = fs::read(&key).unwrap_or_else(|e| {
            panic!("{when}: generation {id} lists {path}, which is not there: {e}")
        });
        let sha = format!("{:x}", Sha256::digest(&bytes));
        assert_eq!(
            entry["sha256"].as_str(),
            Some(sha.as_str()),
            "{when}: {path} of generation {id} does not match its hash"
        );
        files.insert(path.clone(), bytes);
    }
    StoreState {
        manifest,
        generation,
        files,
    }
}

/// The instance's secret (`ID`) in a stored generation's config.
fn stored_id(state: &StoreState) -> String {
    let config = String::from_utf8(state.files["config.yml"].clone()).unwrap();
    config
        .lines()
        .find_map(|l| l.strip_prefix("ID: "))
        .expect("the stored config holds the ID")
        .to_string()
}

/// `grove prepare` (local folder store, a fake Tutor that renders a few hundred files) killed
/// at every point: the store's current generation is the old or the new one, whole, and the
/// secret never changes; the Tutor root is a working copy, laid out anew; the next prepare ends
/// with the store in the new state, still with the same secret.
#[test]
fn grove_prepare_killed_anywhere_leaves_the_old_or_the_new_generation() {
    let scratch = crash_scratch("prepare");
    let root = scratch.0.clone();
    let store = root.join("env-store");
    fs::write(
        root.join("grove.yml"),
        format!("ENV_STORE: \"{}\"\n", store.display()),
    )
    .unwrap();
    let instance = root.join("instances/demo");
    fs::create_dir_all(instance.join("env-overrides/apps")).unwrap();
    fs::write(
        instance.join("grove-requirements.txt"),
        PREPARE_REQUIREMENTS,
    )
    .unwrap();
    fs::write(
        instance.join("env-overrides/apps/overridden.txt"),
        "from env-overrides\n",
    )
    .unwrap();
    // Overrides win over what Tutor renders.
    fs::create_dir_all(instance.join("env-overrides/apps/cms")).unwrap();
    fs::write(
        instance.join("env-overrides/apps/cms/file-80.yml"),
        "overridden\n",
    )
    .unwrap();
    fake_venv(&instance, PREPARE_REQUIREMENTS, &fake_tutor());
    let set_host = |host: &str| {
        fs::write(instance.join("config.yml"), format!("LMS_HOST: {host}\n")).unwrap();
    };
    let prepare = || grove_command(&root, &["prepare", "demo"]);

    // What each host's generation holds, learnt from uninterrupted prepares; the first one
    // generates the secret that every later one keeps.
    let mut rendered: [BTreeMap<String, Vec<u8>>; 2] = Default::default();
    let host = std::cell::Cell::new(0);
    for (i, expected) in rendered.iter_mut().enumerate() {
        set_host(HOSTS[i]);
        succeeded(&prepare().output().unwrap(), "a first prepare");
        *expected = store_state(&store, "a first prepare").files;
        host.set(i);
    }
    let secret = stored_id(&store_state(&store, "the first prepares"));
    assert_ne!(rendered[0], rendered[1]);
    assert!(rendered[0].len() > RENDERED_FILES);

    let points = kill_loop(
        "grove prepare",
        || {
            host.set(1 - host.get());
            set_host(HOSTS[host.get()]);
            let (output, took) = timed(&mut prepare());
            succeeded(&output, "an uninterrupted prepare");
            assert!(store_state(&store, "an uninterrupted prepare").files == rendered[host.get()]);
            took
        },
        |delay| {
            // Before: the store holds `old`; the config now renders `new`.
            let (old, new) = (host.get(), 1 - host.get());
            let before = store_state(&store, "before the killed prepare");
            assert!(before.files == rendered[old]);
            set_host(HOSTS[new]);
            let killed = run_and_kill(prepare(), delay);
            if let Killed::Finished(code) = killed {
                assert_eq!(code, Some(0), "a prepare failed on its own");
            }
            host.set(new);
            let when = format!("killed after {delay:?}");

            // The store: the old generation, or the next one holding the new state, whole.
            let after = store_state(&store, &when);
            let store_is = if after.manifest == before.manifest {
                "old"
            } else {
                assert_eq!(after.generation, before.generation + 1, "{when}");
                assert!(
                    after.files == rendered[new],
                    "{when}, the store's new generation is not the new state: {}",
                    difference(&after.files, &rendered[new])
                );
                "new"
            };
            assert_eq!(stored_id(&after), secret, "{when}: the secret changed");
            let leftovers = names_starting(&root.join(".grove/tutor"), ".demo.");
            let phase = format!(
                "store {store_is}{}",
                if leftovers.iter().any(|n| n != ".demo.lock") {
                    ", a half-laid Tutor root left"
                } else {
                    ""
                }
            );

            // A prepare whose Tutor fails changes nothing in the store.
            let failing = prepare().env("FAKE_TUTOR_FAIL", "1").output().unwrap();
            assert!(
                !failing.status.success(),
                "a prepare whose Tutor fails succeeded: {}",
                describe(&failing)
            );
            assert_eq!(
                fs::read(store.join("demo/manifest.json")).unwrap(),
                after.manifest,
                "a prepare whose Tutor failed changed the store"
            );

            // The next prepare succeeds and ends in the new state, with the same secret.
            let (next, took) = timed(&mut prepare());
            succeeded(&next, &format!("the prepare after one {when} ({phase})"));
            let last = store_state(&store, "after the next prepare");
            assert!(
                last.files == rendered[new],
                "after the next prepare, the store: {}",
                difference(&last.files, &rendered[new])
            );
            let leftovers = names_starting(&root.join(".grove/tutor"), ".demo.");
            assert_eq!(
                leftovers,
                [".demo.lock"],
                "the next prepare left {leftovers:?}"
            );
            // What a killed push uploaded is never current, and is pruned with the
            // generations of its number: nothing older than the last three is left.
            let oldest_kept = last.generation.saturating_sub(2);
            let stale: Vec<String> = names_starting(&store.join("demo/generations"), "")
                .into_iter()
                // (A write killed half-way leaves a hidden temporary file, never read.)
                .filter(|n| !n.starts_with('.'))
                .filter(|n| n[..8].parse::<u64>().unwrap() < oldest_kept)
                .collect();
            assert!(
                stale.is_empty(),
                "{when}: generations left behind: {stale:?}"
            );
            Landing {
                state: format!("store {store_is}"),
                phase,
                full_run: (store_is == "old").then_some(took),
            }
        },
    );
    assert!(points >= 50, "only {points} kill points");
}

/// A push killed while it held the folder store's lock on the manifest (or a Tutor root's
/// lock) leaves the lock file, but not the lock: the kernel releases it with its holder, and
/// the next prepare goes ahead at once.
#[test]
fn a_lock_held_by_a_killed_command_is_released() {
    let scratch = crash_scratch("stale-lock");
    let root = scratch.0.clone();
    let store = root.join("env-store");
    fs::write(
        root.join("grove.yml"),
        format!("ENV_STORE: \"{}\"\n", store.display()),
    )
    .unwrap();
    let instance = root.join("instances/demo");
    fs::create_dir_all(&instance).unwrap();
    fs::write(
        instance.join("grove-requirements.txt"),
        PREPARE_REQUIREMENTS,
    )
    .unwrap();
    fs::write(instance.join("config.yml"), "LMS_HOST: a.example.com\n").unwrap();
    fake_venv(&instance, PREPARE_REQUIREMENTS, &fake_tutor());
    let prepare = || grove_command(&root, &["prepare", "demo"]).output().unwrap();
    succeeded(&prepare(), "the first prepare");

    for lock in [
        store.join("demo/.manifest.json.lock"),
        root.join(".grove/tutor/.demo.lock"),
    ] {
        // A process takes the lock (flock, as grove does), then is killed holding it.
        let mut holder = Command::new("python3")
            .args([
                "-c",
                "import fcntl, sys, time\nf = open(sys.argv[1], 'a')\nfcntl.flock(f, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(600)",
                lock.to_str().unwrap(),
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        use std::io::BufRead;
        std::io::BufReader::new(holder.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "held\n");
        holder.kill().unwrap();
        holder.wait().unwrap();
        fs::write(
            instance.join("config.yml"),
            format!(
                "LMS_HOST: {}.example.com\n",
                lock.file_name().unwrap().len()
            ),
        )
        .unwrap();
        let started = Instant::now();
        succeeded(&prepare(), "the prepare after a killed lock holder");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the prepare waited {:?} for a lock nobody held",
            started.elapsed()
        );
        assert!(lock.exists());
    }
    assert_eq!(store_state(&store, "after the locks").generation, 3);
}
