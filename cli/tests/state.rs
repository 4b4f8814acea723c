//! An instance's state in the store: `grove prepare` (and `grove tutor sync`, the same
//! operation) in fresh clones of one cluster repository gives the same secrets and the same
//! `env/`, in a shared folder store and on an S3-compatible server (moto, started on loopback
//! by the test); git is never written; a failed, killed or racing prepare loses nothing and
//! never leaves two sets of secrets.
//!
//! Tutor is [`FAKE_TUTOR`] in the instance's venv: it generates `ID` and `MYSQL_ROOT_PASSWORD`
//! on a first `config save`, as Tutor does, and renders `env/` from the config.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The requirements of the test instance's venv.
const REQUIREMENTS: &str = "tutor==0.0.0-fake\n";

/// One clone of a cluster repository with one instance, `demo`, whose store is `store`.
struct Clone {
    root: PathBuf,
}

impl Clone {
    fn new(label: &str, store: &str) -> Clone {
        let root = scratch(label);
        fs::write(root.join("grove.yml"), format!("ENV_STORE: \"{store}\"\n")).unwrap();
        let instance = root.join("instances/demo");
        fs::create_dir_all(instance.join("env-overrides/apps")).unwrap();
        fs::write(instance.join("config.yml"), "LMS_HOST: demo.example.com\n").unwrap();
        fs::write(instance.join("grove-requirements.txt"), REQUIREMENTS).unwrap();
        fs::write(
            instance.join("env-overrides/apps/overridden.txt"),
            "from env-overrides\n",
        )
        .unwrap();
        fs::write(
            instance.join("env-overrides/extra.txt"),
            "only in env-overrides\n",
        )
        .unwrap();
        fake_venv(&instance, REQUIREMENTS, FAKE_TUTOR);
        Clone { root }
    }

    fn config_path(&self) -> PathBuf {
        self.root.join("instances/demo/config.yml")
    }

    fn set_config(&self, text: &str) {
        fs::write(self.config_path(), text).unwrap();
    }

    fn tutor_root(&self) -> PathBuf {
        self.root.join(".grove/tutor/demo")
    }

    fn env(&self) -> BTreeMap<String, Vec<u8>> {
        tree(&self.tutor_root().join("env"))
    }

    /// `grove ARGS` on this clone, with extra environment variables.
    fn grove(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_grove"));
        command
            .arg("--root")
            .arg(&self.root)
            .args(args)
            .env_remove("GROVE_ROOT")
            .env_remove("GROVE_STATE_GENERATION")
            .env_remove("FAKE_TUTOR_HOOK")
            .env("FAKE_TUTOR_LOG", self.root.join("tutor-argv.log"))
            .env("NO_COLOR", "1");
        for (key, value) in env {
            command.env(key, value);
        }
        command.output().expect("grove runs")
    }

    fn prepare(&self, env: &[(&str, &str)]) -> Output {
        self.grove(&["prepare", "demo"], env)
    }

    /// The value Tutor reads for `key`: `grove tutor exec demo "config printvalue KEY"`.
    fn printvalue(&self, key: &str, env: &[(&str, &str)]) -> String {
        let run = self.grove(
            &["tutor", "exec", "demo", &format!("config printvalue {key}")],
            env,
        );
        assert!(run.status.success(), "{}", describe(&run));
        String::from_utf8(run.stdout).unwrap().trim().to_string()
    }

    fn tutor_calls(&self) -> Vec<String> {
        fs::read_to_string(self.root.join("tutor-argv.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// A hook for the fake tutor: an executable that runs `program args...`.
    fn hook(&self, name: &str, program: &Path, args: &[&str]) -> PathBuf {
        let path = self.root.join(name);
        let mut text = format!("#!/bin/sh\nexec '{}'", program.display());
        for arg in args {
            text.push_str(&format!(" '{arg}'"));
        }
        text.push('\n');
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        path
    }
}

fn ok(run: &Output) {
    assert!(run.status.success(), "{}", describe(run));
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The manifest of `demo` in a store snapshot (key → bytes).
fn manifest(store: &BTreeMap<String, Vec<u8>>) -> serde_json::Value {
    serde_json::from_slice(&store["demo/manifest.json"]).unwrap()
}

/// The current generation's files in a store snapshot, path → text.
fn current_files(store: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, String> {
    let manifest = manifest(store);
    let id = manifest["id"].as_str().unwrap();
    manifest["files"]
        .as_object()
        .unwrap()
        .keys()
        .map(|path| {
            let key = format!("demo/generations/{id}/{path}");
            (path.clone(), text(&store[&key]))
        })
        .collect()
}

/// The value of `key` in a config text Grove or the fake Tutor wrote (`KEY: value` lines).
fn value(config: &str, key: &str) -> String {
    config
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("no {key} in {config}"))
        .trim_matches('"')
        .to_string()
}

/// The stored config's value of `key`.
fn stored(store: &BTreeMap<String, Vec<u8>>, key: &str) -> String {
    value(&current_files(store)["config.yml"], key)
}

// ---------------------------------------------------------------------------------------
// Local folder store, shared by clones as a runner's persistent disk would be

/// A folder store outside every clone, named by its absolute path.
fn shared_store(label: &str) -> (PathBuf, String) {
    let dir = scratch(label);
    let setting = dir.to_str().unwrap().to_string();
    (dir, setting)
}

#[test]
fn a_fresh_clone_gets_the_same_secrets_and_the_same_env() {
    let (store_dir, store) = shared_store("state-clones-store");
    let a = Clone::new("state-clones-a", &store);
    let git_before = fs::read(a.config_path()).unwrap();
    ok(&a.prepare(&[]));
    assert_eq!(a.tutor_calls(), ["config save"]);
    let first = tree(&store_dir);
    assert_eq!(manifest(&first)["generation"], 1);
    let id = stored(&first, "ID");
    assert_eq!(stored(&first, "K8S_NAMESPACE"), "demo");
    assert_eq!(
        manifest(&first)["kept"],
        serde_json::json!(["ID", "K8S_NAMESPACE", "MYSQL_ROOT_PASSWORD"])
    );
    // Overrides win over what Tutor renders, and are stored with the env.
    let files = current_files(&first);
    assert_eq!(files["env/apps/overridden.txt"], "from env-overrides\n");
    assert_eq!(files["env/extra.txt"], "only in env-overrides\n");
    // Git is never written.
    assert_eq!(fs::read(a.config_path()).unwrap(), git_before);

    // Another clone (another CI job: no artifact, no cache) gets the same, and stores nothing.
    let b = Clone::new("state-clones-b", &store);
    ok(&b.prepare(&[]));
    assert_eq!(
        tree(&store_dir),
        first,
        "an unchanged prepare rewrote the store"
    );
    assert_eq!(b.env(), a.env());
    assert_eq!(
        fs::read(b.tutor_root().join("config.yml")).unwrap(),
        fs::read(a.tutor_root().join("config.yml")).unwrap()
    );
    assert_eq!(b.printvalue("ID", &[]), id);
    assert_eq!(
        a.printvalue("MYSQL_ROOT_PASSWORD", &[]),
        b.printvalue("MYSQL_ROOT_PASSWORD", &[])
    );
    // `grove tutor sync` is the same operation.
    ok(&b.grove(&["tutor", "sync", "demo"], &[]));
    assert_eq!(tree(&store_dir), first);
}

#[test]
fn git_wins_for_what_people_set_and_the_secrets_stay() {
    let (store_dir, store) = shared_store("state-git-store");
    let clone = Clone::new("state-git", &store);
    ok(&clone.prepare(&[]));
    let before = tree(&store_dir);
    let id = stored(&before, "ID");
    let password = stored(&before, "MYSQL_ROOT_PASSWORD");

    // A value changed in git reaches env/ on the next prepare; the secrets stay.
    clone.set_config("LMS_HOST: new.example.com\nPLATFORM_NAME: New\n");
    ok(&clone.prepare(&[]));
    let after = tree(&store_dir);
    assert_eq!(manifest(&after)["generation"], 2);
    assert_eq!(stored(&after, "ID"), id);
    assert_eq!(stored(&after, "MYSQL_ROOT_PASSWORD"), password);
    let env = text(&clone.env()["apps/openedx/config.yml"]);
    assert_eq!(value(&env, "LMS_HOST"), "new.example.com");
    assert_eq!(value(&env, "ID"), id);

    // A secret pinned in git wins over the stored one; unpinned, it keeps the pinned value
    // (the one the database now uses), never a new random one.
    clone.set_config("LMS_HOST: new.example.com\nMYSQL_ROOT_PASSWORD: pinned-in-git\n");
    ok(&clone.prepare(&[]));
    assert_eq!(
        stored(&tree(&store_dir), "MYSQL_ROOT_PASSWORD"),
        "pinned-in-git"
    );
    assert_eq!(
        clone.printvalue("MYSQL_ROOT_PASSWORD", &[]),
        "pinned-in-git"
    );
    clone.set_config("LMS_HOST: new.example.com\n");
    ok(&clone.prepare(&[]));
    let last = tree(&store_dir);
    assert_eq!(stored(&last, "MYSQL_ROOT_PASSWORD"), "pinned-in-git");
    assert_eq!(stored(&last, "ID"), id);
    // A key removed from git is gone from Tutor's config: git says what people set.
    assert!(!current_files(&last)["config.yml"].contains("PLATFORM_NAME"));
}

#[test]
fn a_change_made_by_hand_with_tutor_exec_is_kept() {
    let (store_dir, store) = shared_store("state-exec-store");
    let clone = Clone::new("state-exec", &store);
    ok(&clone.prepare(&[]));
    // A read changes nothing.
    let id = clone.printvalue("ID", &[]);
    assert_eq!(manifest(&tree(&store_dir))["generation"], 1);
    // A deliberate change is pushed, and the next prepare (in another clone) keeps it.
    ok(&clone.grove(
        &[
            "tutor",
            "exec",
            "demo",
            "config save --set PLATFORM_NAME=Chosen",
        ],
        &[],
    ));
    assert_eq!(manifest(&tree(&store_dir))["generation"], 2);
    let other = Clone::new("state-exec-other", &store);
    ok(&other.prepare(&[]));
    assert_eq!(other.printvalue("PLATFORM_NAME", &[]), "Chosen");
    assert_eq!(other.printvalue("ID", &[]), id);
    // So is an unset.
    ok(&other.grove(
        &["tutor", "exec", "demo", "config save --unset PLATFORM_NAME"],
        &[],
    ));
    ok(&clone.prepare(&[]));
    assert!(!current_files(&tree(&store_dir))["config.yml"].contains("PLATFORM_NAME"));
    // A change on a generation the store has moved on from is refused, and says so.
    ok(&other.grove(&["tutor", "exec", "demo", "config save --set A=1"], &[]));
    let hook = clone.hook(
        "race",
        Path::new(env!("CARGO_BIN_EXE_grove")),
        &[
            "--root",
            other.root.to_str().unwrap(),
            "tutor",
            "exec",
            "demo",
            "config save --set B=2",
        ],
    );
    let run = clone.grove(
        &["tutor", "exec", "demo", "config save --set C=3"],
        &[("FAKE_TUTOR_HOOK", hook.to_str().unwrap())],
    );
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("was NOT stored"),
        "{}",
        describe(&run)
    );
    assert!(!current_files(&tree(&store_dir))["config.yml"].contains("C: 3"));
}

#[test]
fn no_secret_reaches_the_output_even_verbose() {
    let (store_dir, store) = shared_store("state-quiet-store");
    let clone = Clone::new("state-quiet", &store);
    for args in [
        &["--verbose", "prepare", "demo"][..],
        &["--verbose", "tutor", "sync", "demo"],
    ] {
        let run = clone.grove(args, &[]);
        ok(&run);
        let store = tree(&store_dir);
        for secret in [stored(&store, "ID"), stored(&store, "MYSQL_ROOT_PASSWORD")] {
            let output = format!("{}{}", text(&run.stdout), text(&run.stderr));
            assert!(
                !output.contains(&secret),
                "{args:?} printed a secret:\n{output}"
            );
        }
    }
}

#[test]
fn the_dotenv_names_the_generation_for_the_later_jobs() {
    let (_, store) = shared_store("state-dotenv-store");
    let clone = Clone::new("state-dotenv", &store);
    let dotenv = clone.root.join("grove-state.env");
    ok(&clone.grove(
        &["prepare", "demo", "--dotenv", dotenv.to_str().unwrap()],
        &[],
    ));
    let line = fs::read_to_string(&dotenv).unwrap();
    let id = line
        .strip_prefix("GROVE_STATE_GENERATION=demo/")
        .and_then(|rest| rest.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("{line:?}"));
    assert!(id.starts_with("00000001-"), "{id}");
    // Unchanged, it names the same generation again.
    ok(&clone.grove(
        &["prepare", "demo", "--dotenv", dotenv.to_str().unwrap()],
        &[],
    ));
    assert_eq!(fs::read_to_string(&dotenv).unwrap(), line);
}

#[test]
fn a_prepare_by_hand_leaves_git_status_clean() {
    let (_, store) = shared_store("state-git-status-store");
    let clone = Clone::new("state-git-status", &store);
    let git = |args: &[&str]| {
        let run = Command::new("git")
            .arg("-C")
            .arg(&clone.root)
            .args(args)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.org")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.org")
            .output()
            .unwrap();
        assert!(run.status.success(), "git {args:?}: {}", describe(&run));
        String::from_utf8(run.stdout).unwrap()
    };
    git(&["init", "-q"]);
    // The fake venv and the test's log are not the cluster's files.
    fs::write(clone.root.join(".gitignore"), ".venv/\ntutor-argv.log\n").unwrap();
    git(&["add", "-A"]);
    git(&["commit", "-qm", "cluster"]);
    ok(&clone.prepare(&[]));
    ok(&clone.grove(&["tutor", "exec", "demo", "config save --set X=1"], &[]));
    let secret = clone.printvalue("MYSQL_ROOT_PASSWORD", &[]);
    assert_eq!(git(&["status", "--porcelain", "--untracked-files=all"]), "");
    // Nothing `git add -A` would take holds the secret.
    for file in git(&["ls-files", "--cached", "--others", "--exclude-standard"]).lines() {
        let bytes = fs::read(clone.root.join(file)).unwrap();
        assert!(!text(&bytes).contains(&secret), "{file} holds the secret");
    }
    // What holds it is for its owner alone.
    for path in [clone.root.join(".grove"), clone.tutor_root()] {
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", path.display());
    }
}

#[test]
fn a_failed_push_or_tutor_changes_nothing_and_the_next_prepare_converges() {
    let (store_dir, store) = shared_store("state-fail-store");
    let clone = Clone::new("state-fail", &store);
    ok(&clone.prepare(&[]));
    let before = tree(&store_dir);
    clone.set_config("LMS_HOST: changed.example.com\n");

    let run = clone.prepare(&[("GROVE_ENV_STORE_FAIL_AFTER_UPLOADS", "1")]);
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    assert!(String::from_utf8_lossy(&run.stderr).contains("fault injected"));
    assert_eq!(tree(&store_dir), before, "a failed push changed the store");

    let run = clone.prepare(&[("FAKE_TUTOR_FAIL", "1")]);
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    assert_eq!(tree(&store_dir), before, "a failed Tutor changed the store");

    ok(&clone.prepare(&[]));
    let after = tree(&store_dir);
    assert_eq!(manifest(&after)["generation"], 2);
    assert_eq!(stored(&after, "ID"), stored(&before, "ID"));
    assert_eq!(stored(&after, "LMS_HOST"), "changed.example.com");
}

#[test]
fn a_prepare_that_loses_a_race_starts_again_from_the_winners_state() {
    for first_push in [true, false] {
        let (store_dir, store) = shared_store("state-race-store");
        let ours = Clone::new("state-race-ours", &store);
        let theirs = Clone::new("state-race-theirs", &store);
        if !first_push {
            ok(&theirs.prepare(&[]));
        }
        // While our Tutor runs, another clone prepares (with another LMS_HOST).
        theirs.set_config("LMS_HOST: theirs.example.com\n");
        let hook = ours.hook(
            "race",
            Path::new(env!("CARGO_BIN_EXE_grove")),
            &["--root", theirs.root.to_str().unwrap(), "prepare", "demo"],
        );
        ours.set_config("LMS_HOST: ours.example.com\n");
        let run = ours.prepare(&[("FAKE_TUTOR_HOOK", hook.to_str().unwrap())]);
        ok(&run);
        assert!(
            String::from_utf8_lossy(&run.stderr).contains("starting again from it"),
            "{}",
            describe(&run)
        );
        // One set of secrets: theirs, which won; with our config on top.
        let store_now = tree(&store_dir);
        let theirs_id = value(
            &fs::read_to_string(theirs.tutor_root().join("config.yml")).unwrap(),
            "ID",
        );
        assert_eq!(
            stored(&store_now, "ID"),
            theirs_id,
            "first push: {first_push}"
        );
        assert_eq!(stored(&store_now, "LMS_HOST"), "ours.example.com");
        assert_eq!(ours.printvalue("ID", &[]), theirs_id);
        // Our refused upload left nothing behind: only whole generations, each with its
        // manifest.
        let manifests: Vec<&String> = store_now
            .keys()
            .filter(|k| k.starts_with("demo/generations/") && k.ends_with(".json"))
            .collect();
        let expected = manifest(&store_now)["generation"].as_u64().unwrap();
        assert_eq!(manifests.len() as u64, expected, "{manifests:?}");
    }
}

#[test]
fn prepares_of_a_new_instance_started_at_once_end_with_one_set_of_secrets() {
    for round in 0..6 {
        let (store_dir, store) = shared_store("state-at-once-store");
        let clones: Vec<Clone> = (0..2)
            .map(|n| Clone::new(&format!("state-at-once-{round}-{n}"), &store))
            .collect();
        let runs: Vec<Output> = std::thread::scope(|scope| {
            let handles: Vec<_> = clones
                .iter()
                .map(|clone| scope.spawn(|| clone.prepare(&[])))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let third = Clone::new(&format!("state-at-once-{round}-third"), &store);
        ok(&third.prepare(&[]));
        let id = third.printvalue("ID", &[]);
        assert_eq!(stored(&tree(&store_dir), "ID"), id);
        for (clone, run) in clones.iter().zip(&runs) {
            if run.status.success() {
                assert_eq!(clone.printvalue("ID", &[]), id, "round {round}");
            } else {
                assert_eq!(run.status.code(), Some(1), "{}", describe(run));
            }
        }
        assert!(
            runs.iter().any(|r| r.status.success()),
            "round {round}: none succeeded"
        );
    }
}

#[test]
fn the_store_keeps_the_last_generations_only() {
    let (store_dir, store) = shared_store("state-prune-store");
    let clone = Clone::new("state-prune", &store);
    for n in 0..5 {
        clone.set_config(&format!("LMS_HOST: host{n}.example.com\n"));
        ok(&clone.prepare(&[]));
    }
    let store = tree(&store_dir);
    let mut generations: Vec<&str> = store
        .keys()
        .filter_map(|k| k.strip_prefix("demo/generations/"))
        .map(|k| &k[..8])
        .collect();
    generations.dedup();
    assert_eq!(generations, ["00000003", "00000004", "00000005"]);
}

#[test]
fn a_store_of_an_earlier_grove_is_read_and_carried_on() {
    let (store_dir, store) = shared_store("state-v1-store");
    // An earlier grove kept env/ alone, with paths relative to it.
    let id = "00000004-0abc";
    fs::create_dir_all(store_dir.join(format!("demo/generations/{id}/plugins"))).unwrap();
    fs::write(
        store_dir.join(format!("demo/generations/{id}/plugins/kept.txt")),
        "kept\n",
    )
    .unwrap();
    let manifest_v1 = serde_json::json!({
        "format": "grove-env-store/1", "generation": 4, "id": id, "pushed_at": 0,
        "pushed_by": "an earlier grove",
        "files": {"plugins/kept.txt": {
            "sha256": "8b0a9c3a8fcb6d1d5e0e1f9eb2b6f0f3ca5f4a56cf8d3b41d4d3a4e4c3e8c1a0", "size": 5}},
    });
    // The hash above is wrong on purpose: a file that does not match is refused.
    fs::write(
        store_dir.join("demo/manifest.json"),
        manifest_v1.to_string(),
    )
    .unwrap();
    let clone = Clone::new("state-v1", &store);
    let run = clone.prepare(&[]);
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    assert!(String::from_utf8_lossy(&run.stderr).contains("does not match the SHA-256"));
    // With the right hash it is carried on: generation 5 keeps the file, under env/.
    use sha2::{Digest, Sha256};
    let mut manifest_v1 = manifest_v1;
    manifest_v1["files"]["plugins/kept.txt"]["sha256"] =
        serde_json::json!(format!("{:x}", Sha256::digest(b"kept\n")));
    fs::write(
        store_dir.join("demo/manifest.json"),
        manifest_v1.to_string(),
    )
    .unwrap();
    ok(&clone.prepare(&[]));
    let store = tree(&store_dir);
    assert_eq!(manifest(&store)["generation"], 5);
    assert_eq!(manifest(&store)["format"], "grove-env-store/2");
    assert_eq!(current_files(&store)["env/plugins/kept.txt"], "kept\n");
}

#[test]
fn an_unknown_store_scheme_is_invalid_input() {
    let clone = Clone::new("state-bad-url", "ftp://example.com/x");
    let run = clone.prepare(&[]);
    assert_eq!(run.status.code(), Some(5), "{}", describe(&run));
    assert!(clone.tutor_calls().is_empty());
}

// ---------------------------------------------------------------------------------------
// S3, against moto's server on loopback

fn with_s3<'a>(server: &'a S3Server, extra: &[(&'a str, &'a str)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = server
        .aws_env()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

fn env_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[test]
fn s3_a_fresh_clone_gets_the_same_secrets_and_env() {
    let server = S3Server::start();
    server.create_bucket("grove-state");
    let env = with_s3(&server, &[]);
    let env = env_refs(&env);
    let a = Clone::new("state-s3-a", "s3://grove-state/fleet");
    ok(&a.prepare(&env));
    let store = server.snapshot("grove-state", "fleet");
    assert_eq!(manifest(&store)["generation"], 1);
    let b = Clone::new("state-s3-b", "s3://grove-state/fleet");
    ok(&b.prepare(&env));
    assert_eq!(server.snapshot("grove-state", "fleet"), store);
    assert_eq!(b.env(), a.env());
    assert_eq!(b.printvalue("ID", &env), stored(&store, "ID"));
    b.set_config("LMS_HOST: new.example.com\n");
    ok(&b.prepare(&env));
    let store = server.snapshot("grove-state", "fleet");
    assert_eq!(manifest(&store)["generation"], 2);
    assert_eq!(stored(&store, "ID"), a.printvalue("ID", &env));
}

#[test]
fn s3_a_failed_push_midway_changes_nothing() {
    let server = S3Server::start();
    server.create_bucket("grove-state");
    let env = with_s3(&server, &[]);
    let clone = Clone::new("state-s3-fail", "s3://grove-state");
    ok(&clone.prepare(&env_refs(&env)));
    let before = server.snapshot("grove-state", "");
    clone.set_config("LMS_HOST: changed.example.com\n");
    let env_fail = with_s3(&server, &[("GROVE_ENV_STORE_FAIL_AFTER_UPLOADS", "2")]);
    let run = clone.prepare(&env_refs(&env_fail));
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    assert_eq!(
        server.snapshot("grove-state", ""),
        before,
        "the store changed"
    );
    ok(&clone.prepare(&env_refs(&env)));
    assert_eq!(
        manifest(&server.snapshot("grove-state", ""))["generation"],
        2
    );
}

#[test]
fn s3_a_store_that_goes_away_is_a_clear_failure_soon() {
    let mut server = S3Server::start();
    server.create_bucket("grove-state");
    let clone = Clone::new("state-s3-down", "s3://grove-state/x");
    let kill = clone.hook(
        "stop-server",
        Path::new("/bin/kill"),
        &[&server.child.id().to_string()],
    );
    let env = with_s3(&server, &[("FAKE_TUTOR_HOOK", kill.to_str().unwrap())]);
    let started = Instant::now();
    let run = clone.prepare(&env_refs(&env));
    server.stop();
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "giving up took {:?}",
        started.elapsed()
    );
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("s3://grove-state/x"),
        "{}",
        describe(&run)
    );
}

#[test]
fn s3_prepares_that_race_end_with_the_winners_secrets() {
    let server = S3Server::start();
    server.create_bucket("grove-state");
    let ours = Clone::new("state-s3-race-ours", "s3://grove-state/race");
    let theirs = Clone::new("state-s3-race-theirs", "s3://grove-state/race");
    let aws = with_s3(&server, &[]);
    // The hook runs grove with the test's environment, which has no AWS variables: give
    // them through a wrapper.
    let wrapper = theirs.root.join("theirs-prepare");
    let mut script = String::from("#!/bin/sh\n");
    for (key, value) in &aws {
        script.push_str(&format!("export {key}='{value}'\n"));
    }
    script.push_str(&format!(
        "exec '{}' --root '{}' prepare demo\n",
        env!("CARGO_BIN_EXE_grove"),
        theirs.root.display()
    ));
    fs::write(&wrapper, script).unwrap();
    fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
    let env = with_s3(&server, &[("FAKE_TUTOR_HOOK", wrapper.to_str().unwrap())]);
    let run = ours.prepare(&env_refs(&env));
    ok(&run);
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("starting again from it"),
        "{}",
        describe(&run)
    );
    let store = server.snapshot("grove-state", "race");
    let theirs_id = value(
        &fs::read_to_string(theirs.tutor_root().join("config.yml")).unwrap(),
        "ID",
    );
    assert_eq!(stored(&store, "ID"), theirs_id);
    assert_eq!(ours.printvalue("ID", &env_refs(&aws)), theirs_id);
}

/// `grove prepare --edx-platform-version` gives Tutor that version for this run and never
/// writes `config.yml` (issue 14: it used to rewrite the file before checking it, making a
/// duplicate key or a second document of a quoted key, a space before the colon, a flow
/// mapping or a BOM, and turning CRLF into LF): the file keeps its bytes, whatever its form.
#[test]
fn prepare_at_another_version_never_writes_config_yml() {
    let (_store_dir, store) = shared_store("state-version-store");
    let clone = Clone::new("state-version", &store);
    for config in [
        "LMS_HOST: demo.example.com\n\"EDX_PLATFORM_VERSION\": old\n",
        "LMS_HOST: demo.example.com\nEDX_PLATFORM_VERSION : old\n",
        "\u{feff}LMS_HOST: demo.example.com\nEDX_PLATFORM_VERSION: old\n",
        "LMS_HOST: demo.example.com\r\nEDX_PLATFORM_VERSION: old\r\n",
    ] {
        clone.set_config(config);
        let run = clone.grove(
            &[
                "prepare",
                "demo",
                "--edx-platform-version",
                "open-release/teak.2",
            ],
            &[],
        );
        assert!(run.status.success(), "{config:?}: {}", describe(&run));
        assert_eq!(
            fs::read_to_string(clone.config_path()).unwrap(),
            config,
            "config.yml was written"
        );
        // Set for this run (as a YAML string, which the fake Tutor keeps as given).
        assert_eq!(
            clone.printvalue("EDX_PLATFORM_VERSION", &[]),
            "\"open-release/teak.2\"",
            "{config:?}"
        );
    }
    // A flow mapping is refused (exit 5, located) before Tutor runs, and left as it is.
    let flow = "{LMS_HOST: demo.example.com, EDX_PLATFORM_VERSION: old}\n";
    clone.set_config(flow);
    let run = clone.grove(&["prepare", "demo", "--edx-platform-version", "x"], &[]);
    assert_eq!(run.status.code(), Some(5), "{}", describe(&run));
    assert!(
        String::from_utf8_lossy(&run.stderr).starts_with("error: instances/demo/config.yml:1:1: "),
        "{}",
        describe(&run)
    );
    assert_eq!(fs::read_to_string(clone.config_path()).unwrap(), flow);
}
