//! `grove venv update|reset|activate`: real venvs, built with the real uv and with the
//! `python3 -m venv` + pip fallback, from a tiny local package (tests/fixtures/venv/grove-hello,
//! whose build backend is in the package itself, so nothing comes from the network).

mod common;

use common::*;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A scratch copy of the example cluster, with the grove-hello package beside it.
struct Cluster {
    root: PathBuf,
    /// `grove-hello @ file:///...`, a requirement that installs the `grove-hello` script.
    hello: String,
    /// Which installer grove is told to use.
    installer: &'static str,
    /// Extra environment for grove.
    env: Vec<(String, OsString)>,
}

impl Cluster {
    fn new(name: &str, installer: &'static str) -> Cluster {
        let base = scratch(name);
        let root = base.join("cluster");
        copy_tree(&example_cluster(), &root);
        let package = base.join("packages/grove-hello");
        copy_tree(&project().join("tests/fixtures/venv/grove-hello"), &package);
        let hello = format!("grove-hello @ file://{}\n", package.display());
        Cluster {
            root,
            hello,
            installer,
            env: Vec::new(),
        }
    }

    /// Runs grove with uv on PATH, and the installer chosen.
    fn grove(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("grove runs")
    }

    /// grove with uv on PATH, and the installer chosen, ready to run.
    fn command(&self, args: &[&str]) -> Command {
        let uv = tool("uv");
        let path = std::env::join_paths(std::iter::once(uv.parent().unwrap().to_path_buf()).chain(
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
        ))
        .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_grove"));
        command
            .arg("--root")
            .arg(&self.root)
            .args(args)
            .env("PATH", path)
            .env("GROVE_VENV_INSTALLER", self.installer)
            .env("NO_COLOR", "1")
            .env_remove("GROVE_ROOT")
            .env_remove("VIRTUAL_ENV");
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command
    }

    fn instance(&self, name: &str) -> PathBuf {
        self.root.join("instances").join(name)
    }

    fn set_requirements(&self, name: &str, text: &str) {
        std::fs::write(self.instance(name).join("grove-requirements.txt"), text).unwrap();
    }
}

fn succeeded(output: &Output) {
    assert!(output.status.success(), "{}", describe(output));
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs the venv's `grove-hello` script: it works only if the venv is whole and where its
/// scripts expect it to be.
fn hello_runs(venv: &Path) -> bool {
    Command::new(venv.join("bin/grove-hello"))
        .env_remove("VIRTUAL_ENV")
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout == b"hello from grove-hello\n")
}

/// Where the venv's python, importing grove_hello, says its venv is (`sys.prefix`), resolved.
fn python_prefix(venv: &Path) -> PathBuf {
    let python = Command::new(venv.join("bin/python"))
        .args(["-c", "import grove_hello, sys; print(sys.prefix)"])
        .output()
        .unwrap();
    assert!(python.status.success(), "{}", describe(&python));
    std::fs::canonicalize(String::from_utf8_lossy(&python.stdout).trim()).unwrap()
}

/// The names in `dir` that start with `.venv.` (what a reset leaves while it runs).
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".venv."))
        .collect()
}

fn recorded_hash(venv: &Path) -> String {
    std::fs::read_to_string(venv.join(".grove-requirements-hash")).unwrap_or_default()
}

/// Every file under `dir` with its length and modification time, to show nothing changed.
fn snapshot(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut all = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.path().symlink_metadata().unwrap();
            if meta.is_dir() {
                stack.push(entry.path());
            }
            all.push((entry.path(), meta.len(), meta.modified().unwrap()));
        }
    }
    all.sort();
    all
}

#[test]
fn update_creates_the_venv_then_does_nothing_while_the_requirements_are_unchanged() {
    let cluster = Cluster::new("venv-update", "uv");
    cluster.set_requirements("campus", &cluster.hello);
    let venv = cluster.instance("campus").join(".venv");

    let run = cluster.grove(&["venv", "update", "campus"]);
    succeeded(&run);
    assert!(
        stderr(&run).contains("instances/campus/.venv: created"),
        "{}",
        describe(&run)
    );
    assert!(hello_runs(&venv));
    assert_eq!(
        recorded_hash(&venv),
        grove_core::fleet::short_hash(&cluster.hello)
    );

    let before = snapshot(&venv);
    let run = cluster.grove(&["venv", "update", "campus"]);
    succeeded(&run);
    assert!(
        stderr(&run).contains("up to date, nothing to do"),
        "{}",
        describe(&run)
    );
    assert_eq!(snapshot(&venv), before, "a second update changed the venv");

    // Changed requirements are installed into the same venv.
    let changed = format!("# with a comment\n{}", cluster.hello);
    cluster.set_requirements("campus", &changed);
    let run = cluster.grove(&["venv", "update", "campus"]);
    succeeded(&run);
    assert!(
        stderr(&run).contains("instances/campus/.venv: updated"),
        "{}",
        describe(&run)
    );
    assert_eq!(
        recorded_hash(&venv),
        grove_core::fleet::short_hash(&changed)
    );
    assert!(hello_runs(&venv));
}

#[test]
fn an_instance_without_requirements_gets_the_defaults() {
    let cluster = Cluster::new("venv-defaults", "uv");
    std::fs::write(
        cluster.root.join("defaults/grove-requirements.txt"),
        &cluster.hello,
    )
    .unwrap();
    std::fs::remove_file(cluster.instance("labs").join("grove-requirements.txt")).unwrap();
    let run = cluster.grove(&["venv", "update", "labs"]);
    succeeded(&run);
    let venv = cluster.instance("labs").join(".venv");
    assert!(hello_runs(&venv));
    assert_eq!(
        recorded_hash(&venv),
        grove_core::fleet::short_hash(&cluster.hello)
    );
}

#[test]
fn a_failed_update_does_not_claim_to_be_current() {
    let cluster = Cluster::new("venv-update-fails", "uv");
    cluster.set_requirements("campus", &cluster.hello);
    succeeded(&cluster.grove(&["venv", "update", "campus"]));
    let venv = cluster.instance("campus").join(".venv");
    let broken = format!(
        "{}missing @ file:///nonexistent/grove-test/missing\n",
        cluster.hello
    );
    cluster.set_requirements("campus", &broken);
    let run = cluster.grove(&["venv", "update", "campus"]);
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    assert!(
        stderr(&run).contains("cannot install instances/campus/grove-requirements.txt"),
        "{}",
        describe(&run)
    );
    assert_eq!(
        recorded_hash(&venv),
        "",
        "a failed update left a hash behind"
    );
    // So the next update tries again, rather than saying it is up to date.
    let run = cluster.grove(&["venv", "update", "campus"]);
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
}

/// A reset whose install fails leaves the old venv in place, working and current as before;
/// a reset that succeeds swaps in a new venv whose scripts run where it now is.
fn reset_swaps_only_a_working_venv_in(installer: &'static str) {
    let cluster = Cluster::new(&format!("venv-reset-{installer}"), installer);
    let home = cluster.instance("campus");
    let venv = home.join(".venv");
    cluster.set_requirements("campus", &cluster.hello);
    succeeded(&cluster.grove(&["venv", "update", "campus"]));
    std::fs::write(venv.join("marker-of-the-old-venv"), "old").unwrap();
    let old_hash = recorded_hash(&venv);

    // A failed reset.
    cluster.set_requirements(
        "campus",
        &format!(
            "{}this-package-does-not-exist-grove @ file:///nonexistent/grove-test/missing\n",
            cluster.hello
        ),
    );
    let run = cluster.grove(&["venv", "reset", "campus"]);
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    assert!(
        stderr(&run)
            .contains("the reset of instances/campus/.venv failed, the old venv is left as it was"),
        "{}",
        describe(&run)
    );
    assert!(
        venv.join("marker-of-the-old-venv").exists(),
        "the old venv is gone"
    );
    assert!(hello_runs(&venv), "the old venv no longer works");
    assert_eq!(recorded_hash(&venv), old_hash);
    assert_eq!(leftovers(&home), Vec::<String>::new());

    // A reset that succeeds.
    let fixed = format!("# fixed\n{}", cluster.hello);
    cluster.set_requirements("campus", &fixed);
    let run = cluster.grove(&["venv", "reset", "campus"]);
    succeeded(&run);
    assert!(
        stderr(&run).contains("instances/campus/.venv: reset"),
        "{}",
        describe(&run)
    );
    assert!(
        !venv.join("marker-of-the-old-venv").exists(),
        "the old venv is still in place"
    );
    assert!(hello_runs(&venv), "the reset venv's scripts do not run");
    assert_eq!(
        python_prefix(&venv),
        std::fs::canonicalize(&venv).unwrap(),
        "the venv's python thinks it lives elsewhere"
    );
    assert_eq!(recorded_hash(&venv), grove_core::fleet::short_hash(&fixed));
    assert_eq!(leftovers(&home), Vec::<String>::new());
}

#[test]
fn reset_with_uv_swaps_only_a_working_venv_in() {
    reset_swaps_only_a_working_venv_in("uv");
}

#[test]
fn reset_with_pip_swaps_only_a_working_venv_in() {
    reset_swaps_only_a_working_venv_in("pip");
}

#[test]
fn what_an_interrupted_reset_left_is_put_right() {
    let cluster = Cluster::new("venv-interrupted", "uv");
    cluster.set_requirements("campus", &cluster.hello);
    cluster.set_requirements("labs", &cluster.hello);
    succeeded(&cluster.grove(&["venv", "update", "campus", "--quiet"]));
    succeeded(&cluster.grove(&["venv", "update", "labs", "--quiet"]));
    // Named after a process that runs (this test): what tells a dead build's leftovers is that
    // no grove holds the venv's lock, not whether a process of that id runs.
    let pid = std::process::id();
    let (dead_new, dead_old) = (format!(".venv.new-{pid}"), format!(".venv.old-{pid}"));
    let (dead_new, dead_old) = (dead_new.as_str(), dead_old.as_str());

    // campus: interrupted after the old venv was moved aside, before the new one moved in.
    let campus = cluster.instance("campus");
    std::fs::rename(campus.join(".venv"), campus.join(dead_old)).unwrap();
    std::fs::create_dir_all(campus.join(dead_new).join("bin")).unwrap();
    let run = cluster.grove(&["venv", "update", "campus"]);
    succeeded(&run);
    assert!(stderr(&run).contains("up to date"), "{}", describe(&run));
    assert!(
        hello_runs(&campus.join(".venv")),
        "the old venv was not moved back"
    );
    assert_eq!(leftovers(&campus), Vec::<String>::new());

    // labs: interrupted after the new venv moved in, before the old one was removed.
    let labs = cluster.instance("labs");
    std::fs::create_dir_all(labs.join(dead_old).join("bin")).unwrap();
    let run = cluster.grove(&["venv", "update", "labs"]);
    succeeded(&run);
    assert!(hello_runs(&labs.join(".venv")));
    assert_eq!(leftovers(&labs), Vec::<String>::new());
}

#[test]
fn all_builds_every_instance_in_parallel_and_reports_each_failure() {
    let cluster = Cluster::new("venv-all", "uv");
    let instances = [
        "academy",
        "campus",
        "labs",
        "library",
        "newcampus",
        "research",
        "sandbox",
        "staging",
    ];
    for name in instances {
        cluster.set_requirements(name, &cluster.hello);
    }
    cluster.set_requirements(
        "library",
        "broken @ file:///nonexistent/grove-test/broken\n",
    );
    let run = cluster.grove(&["venv", "update", "--all"]);
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    let err = stderr(&run);
    assert!(err.contains("error: library: cannot install"), "{err}");
    assert!(err.contains("1 of 8 venvs failed: library"), "{err}");
    for name in instances {
        let venv = cluster.instance(name).join(".venv");
        if name == "library" {
            assert_eq!(recorded_hash(&venv), "");
        } else {
            assert!(
                err.contains(&format!("grove: {name}: created")),
                "{name}: {err}"
            );
            assert!(hello_runs(&venv), "{name}");
        }
    }

    cluster.set_requirements("library", &cluster.hello);
    let run = cluster.grove(&["venv", "update", "--all"]);
    succeeded(&run);
    let err = stderr(&run);
    assert!(err.contains("grove: library: updated"), "{err}");
    assert!(
        err.contains("grove: campus: up to date, nothing to do"),
        "{err}"
    );
    assert!(err.contains("8 venvs done"), "{err}");

    let run = cluster.grove(&["venv", "reset", "--all", "--quiet"]);
    succeeded(&run);
    assert_eq!(stderr(&run), "", "--quiet prints nothing but errors");
    for name in instances {
        assert!(hello_runs(&cluster.instance(name).join(".venv")), "{name}");
    }
}

#[test]
fn activate_starts_the_shell_in_the_venv_and_exits_with_its_status() {
    let mut cluster = Cluster::new("venv-activate", "uv");
    cluster.set_requirements("campus", &cluster.hello);
    // The state `grove prepare` stored, which the shell's TUTOR_ROOT holds.
    let store = folder_store(&cluster.root);
    stored_generation(
        &store,
        "campus",
        1,
        &[("config.yml", "ID: campus-id\nK8S_NAMESPACE: campus\n")],
    );
    let shell = cluster.root.parent().unwrap().join("fake-shell");
    let record = cluster.root.parent().unwrap().join("shell.env");
    // The shell records what it sees, and changes the config as an operator would.
    std::fs::write(
        &shell,
        format!(
            "#!/bin/sh\n{{ echo \"VIRTUAL_ENV=$VIRTUAL_ENV\"; echo \"TUTOR_ROOT=$TUTOR_ROOT\"; \
             echo \"PATH=$PATH\"; grove-hello; }} > '{}'\necho 'PLATFORM_NAME: By hand' >> \"$TUTOR_ROOT/config.yml\"\nexit 7\n",
            record.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&shell, std::fs::Permissions::from_mode(0o755)).unwrap();
    cluster.env.push(("SHELL".into(), shell.into()));

    let run = cluster.grove(&["venv", "activate", "campus"]);
    assert_eq!(run.status.code(), Some(7), "{}", describe(&run));
    let instance = std::path::absolute(cluster.instance("campus")).unwrap();
    let venv = instance.join(".venv");
    let tutor_root = std::path::absolute(cluster.root.join(".grove/tutor/campus")).unwrap();
    let seen = std::fs::read_to_string(&record).unwrap();
    assert!(
        seen.contains(&format!("VIRTUAL_ENV={}\n", venv.display())),
        "{seen}"
    );
    assert!(
        seen.contains(&format!("TUTOR_ROOT={}\n", tutor_root.display())),
        "{seen}"
    );
    // What the shell changed is stored as the next generation, and kept.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.join("campus/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["generation"], 2, "{}", describe(&run));
    assert!(manifest["kept"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("PLATFORM_NAME")));
    assert!(
        seen.contains(&format!("PATH={}/bin:", venv.display())),
        "{seen}"
    );
    assert!(seen.contains("hello from grove-hello"), "{seen}");

    // The alias, and a shell that succeeds.
    std::fs::write(
        cluster.root.parent().unwrap().join("fake-shell"),
        "#!/bin/sh\nexit 0\n",
    )
    .unwrap();
    succeeded(&cluster.grove(&["venv", "shell", "campus"]));
}

#[test]
fn unknown_instances_are_exit_3_and_bad_names_exit_5() {
    let cluster = Cluster::new("venv-errors", "uv");
    for args in [
        &["venv", "update", "nowhere"][..],
        &["venv", "reset", "nowhere"],
        &["venv", "activate", "nowhere"],
        &["tutor", "exec", "nowhere", "config printvalue LMS_HOST"],
    ] {
        let run = cluster.grove(args);
        assert_eq!(run.status.code(), Some(3), "{args:?}: {}", describe(&run));
        assert!(
            stderr(&run).contains("no such instance \"nowhere\""),
            "{args:?}"
        );
    }
    for args in [
        &["venv", "update", "Bad_Name"][..],
        &["venv", "reset", "../campus"],
        &["venv", "activate", "a b"],
        &["tutor", "exec", "Bad_Name", "config printvalue LMS_HOST"],
        &["prepare", "Bad_Name"],
        &[
            "prepare",
            "new-one",
            "--edx-platform-version",
            "bad version",
        ],
        &["prepare", "new-one", "--edx-platform-version=-rf"],
    ] {
        let run = cluster.grove(args);
        assert_eq!(run.status.code(), Some(5), "{args:?}: {}", describe(&run));
    }
    assert!(
        !cluster.instance("new-one").exists(),
        "a prepare with bad input created the instance"
    );
    let run = cluster.grove(&["venv", "update", "--all", "campus"]);
    assert_eq!(run.status.code(), Some(2), "{}", describe(&run));
}

#[test]
fn an_unknown_installer_is_refused() {
    let mut cluster = Cluster::new("venv-installer", "uv");
    cluster.installer = "conda";
    let run = cluster.grove(&["venv", "update", "campus"]);
    assert_eq!(run.status.code(), Some(5), "{}", describe(&run));
    assert!(
        stderr(&run).contains("GROVE_VENV_INSTALLER"),
        "{}",
        describe(&run)
    );
    assert!(!cluster.instance("campus").join(".venv").exists());
}

// ---------------------------------------------------------------------------------------
// Shared venvs: .grove/venvs/HASH

impl Cluster {
    /// The shared venv of the requirements `text`: `.grove/venvs/HASH`.
    fn shared(&self, text: &str) -> PathBuf {
        self.root
            .join(".grove/venvs")
            .join(grove_core::fleet::short_hash(text))
    }

    /// The shared venvs there are, by name.
    fn shared_venvs(&self) -> Vec<String> {
        names_in(&self.root.join(".grove/venvs"), |n| !n.starts_with('.'))
    }

    /// What lies beside the shared venvs other than their locks: a build's leftovers.
    fn shared_leftovers(&self) -> Vec<String> {
        names_in(&self.root.join(".grove/venvs"), |n| {
            n.starts_with('.') && !n.ends_with(".lock")
        })
    }

    /// Stores a generation of `name`'s state in a folder store, as `grove prepare` would, so
    /// that `grove tutor exec` runs.
    fn store_state(&self, name: &str) {
        let store = folder_store(&self.root);
        let config = format!("ID: {name}-id\nK8S_NAMESPACE: {name}\n");
        stored_generation(&store, name, 1, &[("config.yml", &config)]);
    }
}

/// The names in `dir` that `keep` keeps, sorted; none if there is no `dir`.
fn names_in(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| keep(n))
        .collect();
    names.sort();
    names
}

/// Copies a folder tree with its symbolic links as links (as a CI cache or a checkout carries
/// a venv, whose `bin/python` is a link to the Python it was made from).
fn copy_with_links(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), dest).unwrap();
        } else if kind.is_dir() {
            copy_with_links(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// Whether no process holds the lock file at `path` (this takes it and lets it go).
fn lock_is_free(path: &Path) -> bool {
    let file = std::fs::File::open(path).unwrap();
    let free = file.try_lock().is_ok();
    if free {
        file.unlock().unwrap();
    }
    free
}

/// The stand-in `tutor`'s line for `args`, run from the venv at `venv`.
fn tutor_ran_in(venv: &Path, args: &str) -> String {
    format!(
        "tutor in {}: {args}\n",
        std::fs::canonicalize(venv).unwrap().display()
    )
}

#[test]
fn update_shared_builds_one_venv_for_the_instances_with_the_same_requirements() {
    let cluster = Cluster::new("venv-shared", "uv");
    cluster.set_requirements("campus", &cluster.hello);
    cluster.set_requirements("labs", &cluster.hello);

    let run = cluster.grove(&["venv", "update", "--shared", "campus", "labs"]);
    succeeded(&run);
    let hash = grove_core::fleet::short_hash(&cluster.hello);
    let venv = cluster.shared(&cluster.hello);
    assert!(
        stderr(&run).contains(&format!(".grove/venvs/{hash} (campus, labs): created")),
        "{}",
        describe(&run)
    );
    assert_eq!(cluster.shared_venvs(), vec![hash.clone()]);
    assert_eq!(recorded_hash(&venv), hash);
    assert!(hello_runs(&venv));
    assert_eq!(cluster.shared_leftovers(), Vec::<String>::new());
    for name in ["campus", "labs"] {
        assert!(
            !cluster.instance(name).join(".venv").exists(),
            "{name} got a venv of its own"
        );
    }
    assert!(lock_is_free(
        &cluster.root.join(format!(".grove/venvs/.{hash}.lock"))
    ));

    // Again: nothing to do, nothing touched.
    let before = snapshot(&venv);
    let run = cluster.grove(&["venv", "update", "--shared", "labs", "campus"]);
    succeeded(&run);
    assert!(
        stderr(&run).contains(&format!(
            ".grove/venvs/{hash} (labs, campus): up to date, nothing to do"
        )),
        "{}",
        describe(&run)
    );
    assert_eq!(snapshot(&venv), before, "a second update changed the venv");
    assert_eq!(cluster.shared_venvs(), vec![hash]);
}

#[test]
fn a_shared_venv_works_in_another_checkout_and_tutor_calls_use_it() {
    let cluster = Cluster::new("venv-shared-moves", "uv");
    cluster.set_requirements("campus", &cluster.hello);
    cluster.set_requirements("labs", &cluster.hello);
    succeeded(&cluster.grove(&["venv", "update", "--shared", "campus", "labs"]));

    // The next job's checkout: the same repository, cache restored, at another absolute path;
    // the first one is gone.
    let moved = Cluster {
        root: cluster
            .root
            .parent()
            .unwrap()
            .join("another/runner/builds/cluster"),
        hello: cluster.hello.clone(),
        installer: "uv",
        env: Vec::new(),
    };
    copy_with_links(&cluster.root, &moved.root);
    std::fs::remove_dir_all(&cluster.root).unwrap();
    let venv = moved.shared(&moved.hello);
    assert!(hello_runs(&venv), "the moved venv's script does not run");
    assert_eq!(
        python_prefix(&venv),
        std::fs::canonicalize(&venv).unwrap(),
        "the moved venv's python thinks it lives elsewhere"
    );

    // Every Tutor call there runs the shared venv's `tutor`, and builds no venv of its own.
    for name in ["campus", "labs"] {
        moved.store_state(name);
        let run = moved.grove(&["tutor", "exec", name, "config printvalue LMS_HOST"]);
        succeeded(&run);
        assert_eq!(
            String::from_utf8_lossy(&run.stdout),
            tutor_ran_in(&venv, "config printvalue LMS_HOST"),
            "{}",
            describe(&run)
        );
        assert!(
            !moved.instance(name).join(".venv").exists(),
            "{name} built a venv of its own: {}",
            describe(&run)
        );
    }
}

#[test]
fn different_requirements_get_different_venvs_and_a_stale_one_is_not_used() {
    let cluster = Cluster::new("venv-shared-apart", "uv");
    let labs_requirements = format!("# labs pins its own\n{}", cluster.hello);
    cluster.set_requirements("campus", &cluster.hello);
    cluster.set_requirements("labs", &labs_requirements);
    let run = cluster.grove(&["venv", "update", "--shared", "campus", "labs"]);
    succeeded(&run);
    let (campus_venv, labs_venv) = (
        cluster.shared(&cluster.hello),
        cluster.shared(&labs_requirements),
    );
    assert_ne!(campus_venv, labs_venv);
    let mut both = vec![
        grove_core::fleet::short_hash(&cluster.hello),
        grove_core::fleet::short_hash(&labs_requirements),
    ];
    both.sort();
    assert_eq!(cluster.shared_venvs(), both);
    for (venv, requirements) in [
        (&campus_venv, &cluster.hello),
        (&labs_venv, &labs_requirements),
    ] {
        assert_eq!(
            recorded_hash(venv),
            grove_core::fleet::short_hash(requirements)
        );
        assert!(hello_runs(venv));
    }
    let err = stderr(&run);
    assert!(err.contains("(campus): created"), "{err}");
    assert!(err.contains("(labs): created"), "{err}");
    assert!(err.contains("2 venvs done"), "{err}");

    // Each instance's Tutor runs in the venv of its own requirements.
    for (name, venv) in [("campus", &campus_venv), ("labs", &labs_venv)] {
        cluster.store_state(name);
        let run = cluster.grove(&["tutor", "exec", name, "config printvalue ID"]);
        succeeded(&run);
        assert_eq!(
            String::from_utf8_lossy(&run.stdout),
            tutor_ran_in(venv, "config printvalue ID")
        );
    }

    // campus's requirements change: the shared venv of the old ones is not used; its own venv
    // is built from the new ones.
    let changed = format!("# campus moved on\n{}", cluster.hello);
    cluster.set_requirements("campus", &changed);
    let run = cluster.grove(&["tutor", "exec", "campus", "config printvalue ID"]);
    succeeded(&run);
    let own = cluster.instance("campus").join(".venv");
    assert!(
        stderr(&run).contains("instances/campus/.venv: created"),
        "{}",
        describe(&run)
    );
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        tutor_ran_in(&own, "config printvalue ID")
    );
    assert_eq!(recorded_hash(&own), grove_core::fleet::short_hash(&changed));
}

#[test]
fn a_shared_venv_needs_uv() {
    let cluster = Cluster::new("venv-shared-pip", "pip");
    cluster.set_requirements("campus", &cluster.hello);
    let run = cluster.grove(&["venv", "update", "--shared", "campus"]);
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    assert!(
        stderr(&run).contains("a shared venv must be relocatable, which only uv builds"),
        "{}",
        describe(&run)
    );
    assert_eq!(cluster.shared_venvs(), Vec::<String>::new());
    assert!(!cluster.instance("campus").join(".venv").exists());
}

/// A build waits while another grove holds the venv's lock, and leaves what that one works in
/// alone; once the lock is free, it takes what it finds for a dead build's leftovers.
#[test]
fn a_build_waits_for_the_venv_s_lock_then_puts_right_what_it_finds() {
    use std::io::BufRead;
    let cluster = Cluster::new("venv-shared-lock", "uv");
    cluster.set_requirements("campus", &cluster.hello);
    let hash = grove_core::fleet::short_hash(&cluster.hello);
    let venvs = cluster.root.join(".grove/venvs");
    std::fs::create_dir_all(&venvs).unwrap();
    // Another grove's build, under way: its lock held, its new venv beside.
    let lock = std::fs::File::create(venvs.join(format!(".{hash}.lock"))).unwrap();
    lock.lock().unwrap();
    let building = venvs.join(format!(".{hash}.new-4194399"));
    std::fs::create_dir_all(building.join("bin")).unwrap();

    let mut child = cluster
        .command(&["venv", "update", "--shared", "campus"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    while !said.contains("waiting for another grove command") {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("grove ended without waiting for the lock: {said}");
        }
        said.push_str(&line);
    }
    assert!(
        said.contains(&format!(
            "waiting for another grove command that is building .grove/venvs/{hash}"
        )),
        "{said}"
    );
    assert!(building.exists(), "grove touched a build under way");

    drop(lock);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "{said}{rest}");
    assert!(rest.contains(": created"), "{rest}");
    assert!(hello_runs(&cluster.shared(&cluster.hello)));
    assert_eq!(cluster.shared_leftovers(), Vec::<String>::new());
}

#[test]
fn a_shared_venv_whose_python_is_gone_is_not_used_and_is_built_anew() {
    let cluster = Cluster::new("venv-shared-python-gone", "uv");
    cluster.set_requirements("campus", &cluster.hello);
    succeeded(&cluster.grove(&["venv", "update", "--shared", "campus"]));
    let venv = cluster.shared(&cluster.hello);
    // As a cache made in another image would bring it: its Python is not on this machine.
    let python = venv.join("bin/python");
    std::fs::remove_file(&python).unwrap();
    std::os::unix::fs::symlink("/nonexistent/grove-test/python3", &python).unwrap();

    cluster.store_state("campus");
    let run = cluster.grove(&["tutor", "exec", "campus", "config printvalue ID"]);
    succeeded(&run);
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        tutor_ran_in(
            &cluster.instance("campus").join(".venv"),
            "config printvalue ID"
        ),
        "{}",
        describe(&run)
    );

    let run = cluster.grove(&["venv", "update", "--shared", "campus"]);
    succeeded(&run);
    assert!(
        stderr(&run).contains("(campus): created"),
        "{}",
        describe(&run)
    );
    assert!(hello_runs(&venv));
    assert_eq!(cluster.shared_leftovers(), Vec::<String>::new());
}
