//! `grove tutor sync`: the env store round-trips, in a local folder and on an S3-compatible
//! server (moto, started on loopback by the test), and a failed or racing push loses nothing.
//!
//! Tutor is replaced by a fake `tutor` in the instance's venv (`.venv/bin/tutor`, with the
//! requirements hash that `venv::ensure` takes as current). It records its argv, renders
//! `env/` from `config.yml` as `config save` would, and runs `$FAKE_TUTOR_HOOK` if set: the
//! hook is how a test changes the store between the pull and the push.

mod common;

use common::*;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::ObjectStore;
use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The requirements of the test instance's venv.
const REQUIREMENTS: &str = "tutor==0.0.0-fake\n";

/// What the fake `tutor` does: record argv, render two files of `env/` like `config save`,
/// then run the hook.
const FAKE_TUTOR: &str = r#"#!/bin/sh
printf '%s\n' "$*" >> "$TUTOR_ROOT/../../tutor-argv.log"
mkdir -p "$TUTOR_ROOT/env/apps/openedx"
cp "$TUTOR_ROOT/config.yml" "$TUTOR_ROOT/env/apps/openedx/config.yml"
echo "rendered by tutor" > "$TUTOR_ROOT/env/apps/overridden.txt"
if [ -n "$FAKE_TUTOR_HOOK" ]; then
  hook="$FAKE_TUTOR_HOOK"
  unset FAKE_TUTOR_HOOK
  "$hook" || exit 1
fi
"#;

/// A cluster repository with one instance, `demo`, whose env store is `store`.
struct Cluster {
    root: PathBuf,
}

impl Cluster {
    fn new(label: &str, store: &str) -> Cluster {
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
        Cluster { root }
    }

    fn instance(&self) -> PathBuf {
        self.root.join("instances/demo")
    }

    fn env(&self) -> PathBuf {
        self.instance().join("env")
    }

    fn set_lms_host(&self, host: &str) {
        fs::write(
            self.instance().join("config.yml"),
            format!("LMS_HOST: {host}\n"),
        )
        .unwrap();
    }

    /// `grove tutor sync demo`, with extra environment variables.
    fn sync(&self, env: &[(&str, &str)]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_grove"));
        command
            .arg("--root")
            .arg(&self.root)
            .args(["tutor", "sync", "demo"])
            .env_remove("GROVE_ROOT")
            .env_remove("FAKE_TUTOR_HOOK")
            .env("NO_COLOR", "1");
        for (key, value) in env {
            command.env(key, value);
        }
        command.output().expect("grove runs")
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

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
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
            (path.clone(), text(&store[&key]).to_string())
        })
        .collect()
}

/// The env/ a successful sync of `demo` with LMS_HOST `host` leaves.
fn expected_env(host: &str) -> BTreeMap<String, String> {
    [
        ("apps/openedx/config.yml", format!("LMS_HOST: {host}\n")),
        ("apps/overridden.txt", "from env-overrides\n".to_string()),
        ("extra.txt", "only in env-overrides\n".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn env_texts(dir: &Path) -> BTreeMap<String, String> {
    tree(dir)
        .into_iter()
        .map(|(k, v)| (k, text(&v).to_string()))
        .collect()
}

fn assert_no_leftovers(cluster: &Cluster) {
    assert!(
        !cluster.instance().join(".env-sync").exists(),
        "a sync left .env-sync behind"
    );
}

// ---------------------------------------------------------------------------------------
// Local folder store

#[test]
fn local_store_round_trips_and_overrides_win() {
    let cluster = Cluster::new("envstore-local", "env-store");
    let store_dir = cluster.root.join("env-store");

    let run = cluster.sync(&[]);
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(cluster.tutor_calls(), vec!["config save"]);
    assert_eq!(env_texts(&cluster.env()), expected_env("demo.example.com"));
    let store = tree(&store_dir);
    assert_eq!(manifest(&store)["generation"], 1);
    assert_eq!(current_files(&store), expected_env("demo.example.com"));
    assert_no_leftovers(&cluster);

    // Unchanged: no new generation.
    let run = cluster.sync(&[]);
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(
        tree(&store_dir),
        store,
        "an unchanged sync rewrote the store"
    );

    // A file only in the store comes back; a config change makes generation 2.
    cluster.set_lms_host("new.example.com");
    fs::remove_dir_all(cluster.env()).unwrap();
    let run = cluster.sync(&[]);
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(cluster.tutor_calls().len(), 3);
    assert_eq!(env_texts(&cluster.env()), expected_env("new.example.com"));
    let store = tree(&store_dir);
    assert_eq!(manifest(&store)["generation"], 2);
    assert_eq!(current_files(&store), expected_env("new.example.com"));
    assert_no_leftovers(&cluster);
}

#[test]
fn local_store_pull_brings_files_that_tutor_does_not_render() {
    let cluster = Cluster::new("envstore-local-pull", "env-store");
    // A first push of a local env/ that holds a file Tutor does not write.
    fs::create_dir_all(cluster.env().join("plugins")).unwrap();
    fs::write(cluster.env().join("plugins/kept.txt"), "kept\n").unwrap();
    let run = cluster.sync(&[]);
    assert!(run.status.success(), "{}", describe(&run));

    // A second clone of the repository, with no env/ at all, gets it from the store.
    let other = Cluster::new("envstore-local-pull-2", "placeholder");
    fs::write(
        other.root.join("grove.yml"),
        format!(
            "ENV_STORE: \"{}\"\n",
            cluster.root.join("env-store").display()
        ),
    )
    .unwrap();
    let run = other.sync(&[]);
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(
        fs::read_to_string(other.env().join("plugins/kept.txt")).unwrap(),
        "kept\n"
    );
}

#[test]
fn local_store_failed_push_loses_nothing() {
    let cluster = Cluster::new("envstore-local-fail", "env-store");
    let store_dir = cluster.root.join("env-store");
    let run = cluster.sync(&[]);
    assert!(run.status.success(), "{}", describe(&run));
    fs::write(cluster.env().join("local-only.txt"), "mine\n").unwrap();
    let env_before = tree(&cluster.env());
    let store_before = tree(&store_dir);

    cluster.set_lms_host("changed.example.com");
    let run = cluster.sync(&[("GROVE_ENV_STORE_FAIL_AFTER_UPLOADS", "1")]);
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("fault injected"), "{stderr}");
    assert_eq!(tree(&cluster.env()), env_before, "the local env/ changed");
    assert_eq!(tree(&store_dir), store_before, "the store changed");
    assert_no_leftovers(&cluster);
}

#[test]
fn local_store_failed_tutor_loses_nothing() {
    let cluster = Cluster::new("envstore-local-tutor-fails", "env-store");
    let store_dir = cluster.root.join("env-store");
    let run = cluster.sync(&[]);
    assert!(run.status.success(), "{}", describe(&run));
    let env_before = tree(&cluster.env());
    let store_before = tree(&store_dir);
    let hook = cluster.hook("fail", Path::new("/bin/false"), &[]);
    let run = cluster.sync(&[("FAKE_TUTOR_HOOK", hook.to_str().unwrap())]);
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    assert_eq!(tree(&cluster.env()), env_before);
    assert_eq!(tree(&store_dir), store_before);
    assert_no_leftovers(&cluster);
}

#[test]
fn local_store_push_that_races_a_remote_change_is_refused_and_loses_nothing() {
    let store_dir = scratch("envstore-local-race-store");
    let store = store_dir.to_str().unwrap();
    let ours = Cluster::new("envstore-local-race-ours", store);
    let theirs = Cluster::new("envstore-local-race-theirs", store);
    let run = ours.sync(&[]);
    assert!(run.status.success(), "{}", describe(&run));
    let env_before = tree(&ours.env());

    // While our Tutor runs, another clone pushes generation 2.
    theirs.set_lms_host("theirs.example.com");
    let grove = PathBuf::from(env!("CARGO_BIN_EXE_grove"));
    let root = theirs.root.to_str().unwrap();
    let hook = ours.hook("race", &grove, &["--root", root, "tutor", "sync", "demo"]);
    ours.set_lms_host("ours.example.com");
    let run = ours.sync(&[("FAKE_TUTOR_HOOK", hook.to_str().unwrap())]);
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("changed since this sync pulled it")
            && stderr.contains("generation 2")
            && stderr.contains("grove tutor sync demo"),
        "{stderr}"
    );
    assert_eq!(tree(&ours.env()), env_before, "our env/ changed");
    let store_now = tree(&store_dir);
    assert_eq!(manifest(&store_now)["generation"], 2);
    assert_eq!(
        current_files(&store_now),
        expected_env("theirs.example.com")
    );
    let generations: Vec<&String> = store_now
        .keys()
        .filter(|k| k.starts_with("demo/generations/00000002"))
        .collect();
    assert_eq!(
        generations.len(),
        3,
        "our refused upload was left: {generations:?}"
    );
    assert_no_leftovers(&ours);

    // Syncing again builds on their generation.
    let run = ours.sync(&[]);
    assert!(run.status.success(), "{}", describe(&run));
    let store_now = tree(&store_dir);
    assert_eq!(manifest(&store_now)["generation"], 3);
    assert_eq!(current_files(&store_now), expected_env("ours.example.com"));
}

#[test]
fn an_unchanged_sync_that_races_a_remote_change_is_reported_too() {
    let store_dir = scratch("envstore-local-race-unchanged-store");
    let store = store_dir.to_str().unwrap();
    let ours = Cluster::new("envstore-local-race-unchanged-ours", store);
    let theirs = Cluster::new("envstore-local-race-unchanged-theirs", store);
    let run = ours.sync(&[]);
    assert!(run.status.success(), "{}", describe(&run));
    let env_before = tree(&ours.env());
    theirs.set_lms_host("theirs.example.com");
    let grove = PathBuf::from(env!("CARGO_BIN_EXE_grove"));
    let root = theirs.root.to_str().unwrap();
    let hook = ours.hook("race", &grove, &["--root", root, "tutor", "sync", "demo"]);
    // Our render is unchanged, but the store moved on: our env/ would be stale.
    let run = ours.sync(&[("FAKE_TUTOR_HOOK", hook.to_str().unwrap())]);
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    assert_eq!(tree(&ours.env()), env_before);
    let store_now = tree(&store_dir);
    assert_eq!(
        current_files(&store_now),
        expected_env("theirs.example.com")
    );
}

#[test]
fn local_store_keeps_only_the_last_generations() {
    let cluster = Cluster::new("envstore-local-prune", "env-store");
    for n in 0..5 {
        cluster.set_lms_host(&format!("host{n}.example.com"));
        let run = cluster.sync(&[]);
        assert!(run.status.success(), "{}", describe(&run));
    }
    let store = tree(&cluster.root.join("env-store"));
    let mut generations: Vec<&str> = store
        .keys()
        .filter_map(|k| k.strip_prefix("demo/generations/"))
        .map(|k| &k[..8])
        .collect();
    generations.dedup();
    assert_eq!(generations, vec!["00000003", "00000004", "00000005"]);
}

#[test]
fn an_unknown_store_scheme_is_invalid_input() {
    let cluster = Cluster::new("envstore-bad-url", "ftp://example.com/x");
    let run = cluster.sync(&[]);
    assert_eq!(run.status.code(), Some(5), "{}", describe(&run));
    assert!(cluster.tutor_calls().is_empty());
}

// ---------------------------------------------------------------------------------------
// S3, against moto's server on loopback

/// A moto S3 server on 127.0.0.1, killed when dropped.
struct S3Server {
    child: Child,
    port: u16,
}

impl S3Server {
    fn start() -> S3Server {
        let program = tool("moto_server");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let mut server = S3Server { child, port };
        let started = Instant::now();
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("moto_server exited at start: {status}");
            }
            if server.request("GET", "/").is_some() {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto_server did not answer on 127.0.0.1:{port} within 60s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One plain HTTP request; the status code, or None if the server does not answer.
    fn request(&self, method: &str, path: &str) -> Option<u16> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .ok()?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        response.split(' ').nth(1)?.parse().ok()
    }

    fn create_bucket(&self, bucket: &str) {
        let status = self.request("PUT", &format!("/{bucket}"));
        assert_eq!(status, Some(200), "cannot create bucket {bucket}");
    }

    /// The AWS variables that point `grove` (and [`Self::snapshot`]) at this server.
    fn aws_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", "testing".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
        ]
    }

    fn client(&self, bucket: &str) -> AmazonS3 {
        AmazonS3Builder::new()
            .with_endpoint(self.endpoint())
            .with_allow_http(true)
            .with_access_key_id("testing")
            .with_secret_access_key("testing")
            .with_region("us-east-1")
            .with_bucket_name(bucket)
            .build()
            .unwrap()
    }

    /// Every object of a bucket under `prefix/` (all of them for ""), key without it → bytes.
    fn snapshot(&self, bucket: &str, prefix: &str) -> BTreeMap<String, Vec<u8>> {
        use futures::TryStreamExt;
        let client = self.client(bucket);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let path = object_store::path::Path::from(prefix);
            let strip = if prefix.is_empty() {
                0
            } else {
                prefix.len() + 1
            };
            let metas: Vec<_> = client
                .list((!prefix.is_empty()).then_some(&path))
                .try_collect()
                .await
                .unwrap();
            let mut out = BTreeMap::new();
            for meta in metas {
                let bytes = client
                    .get(&meta.location)
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                let key = meta.location.as_ref()[strip..].to_string();
                out.insert(key, bytes.to_vec());
            }
            out
        })
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `sync` with the server's AWS variables and `extra`.
fn sync_s3(cluster: &Cluster, server: &S3Server, extra: &[(&str, &str)]) -> Output {
    let aws = server.aws_env();
    let mut env: Vec<(&str, &str)> = aws.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.extend_from_slice(extra);
    cluster.sync(&env)
}

#[test]
fn s3_store_round_trips_and_overrides_win() {
    let server = S3Server::start();
    server.create_bucket("grove-env");
    let cluster = Cluster::new("envstore-s3", "s3://grove-env/fleet");

    let run = sync_s3(&cluster, &server, &[]);
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(env_texts(&cluster.env()), expected_env("demo.example.com"));
    let store = server.snapshot("grove-env", "fleet");
    assert_eq!(manifest(&store)["generation"], 1);
    assert_eq!(current_files(&store), expected_env("demo.example.com"));

    let run = sync_s3(&cluster, &server, &[]);
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(server.snapshot("grove-env", "fleet"), store);

    cluster.set_lms_host("new.example.com");
    fs::remove_dir_all(cluster.env()).unwrap();
    let run = sync_s3(&cluster, &server, &[]);
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(cluster.tutor_calls(), vec!["config save"; 3]);
    assert_eq!(env_texts(&cluster.env()), expected_env("new.example.com"));
    let store = server.snapshot("grove-env", "fleet");
    assert_eq!(manifest(&store)["generation"], 2);
    assert_eq!(current_files(&store), expected_env("new.example.com"));
    assert_no_leftovers(&cluster);
}

#[test]
fn s3_store_failed_push_midway_loses_nothing() {
    let server = S3Server::start();
    server.create_bucket("grove-env");
    let cluster = Cluster::new("envstore-s3-fail", "s3://grove-env");
    let run = sync_s3(&cluster, &server, &[]);
    assert!(run.status.success(), "{}", describe(&run));
    let env_before = tree(&cluster.env());
    let store_before = server.snapshot("grove-env", "");

    cluster.set_lms_host("changed.example.com");
    let run = sync_s3(
        &cluster,
        &server,
        &[("GROVE_ENV_STORE_FAIL_AFTER_UPLOADS", "2")],
    );
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    assert_eq!(tree(&cluster.env()), env_before, "the local env/ changed");
    assert_eq!(
        server.snapshot("grove-env", ""),
        store_before,
        "the store changed"
    );
    assert_no_leftovers(&cluster);
}

#[test]
fn s3_store_that_goes_away_during_a_sync_loses_nothing_locally() {
    let mut server = S3Server::start();
    server.create_bucket("grove-env");
    let cluster = Cluster::new("envstore-s3-down", "s3://grove-env/x");
    let run = sync_s3(&cluster, &server, &[]);
    assert!(run.status.success(), "{}", describe(&run));
    let env_before = tree(&cluster.env());

    // The server stops while Tutor runs: the push cannot reach it.
    let kill = cluster.hook(
        "stop-server",
        Path::new("/bin/kill"),
        &[&server.child.id().to_string()],
    );
    cluster.set_lms_host("changed.example.com");
    let started = Instant::now();
    let run = sync_s3(
        &cluster,
        &server,
        &[("FAKE_TUTOR_HOOK", kill.to_str().unwrap())],
    );
    server.stop();
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "giving up took {:?}",
        started.elapsed()
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("s3://grove-env/x"), "{stderr}");
    assert_eq!(tree(&cluster.env()), env_before, "the local env/ changed");
    assert_no_leftovers(&cluster);
}

#[test]
fn s3_store_push_that_races_a_remote_change_is_refused_and_loses_nothing() {
    let server = S3Server::start();
    server.create_bucket("grove-env");
    let ours = Cluster::new("envstore-s3-race-ours", "s3://grove-env/race");
    let theirs = Cluster::new("envstore-s3-race-theirs", "s3://grove-env/race");
    let run = sync_s3(&ours, &server, &[]);
    assert!(run.status.success(), "{}", describe(&run));
    let env_before = tree(&ours.env());

    theirs.set_lms_host("theirs.example.com");
    let grove = PathBuf::from(env!("CARGO_BIN_EXE_grove"));
    let root = theirs.root.to_str().unwrap();
    let hook = ours.hook("race", &grove, &["--root", root, "tutor", "sync", "demo"]);
    ours.set_lms_host("ours.example.com");
    let run = sync_s3(
        &ours,
        &server,
        &[("FAKE_TUTOR_HOOK", hook.to_str().unwrap())],
    );
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("changed since this sync pulled it") && stderr.contains("generation 2"),
        "{stderr}"
    );
    assert_eq!(tree(&ours.env()), env_before, "our env/ changed");
    let store = server.snapshot("grove-env", "race");
    assert_eq!(manifest(&store)["generation"], 2);
    assert_eq!(current_files(&store), expected_env("theirs.example.com"));
    let generation_2: Vec<&String> = store
        .keys()
        .filter(|k| k.starts_with("demo/generations/00000002"))
        .collect();
    assert_eq!(
        generation_2.len(),
        3,
        "our refused upload was left: {generation_2:?}"
    );
    assert_no_leftovers(&ours);

    let run = sync_s3(&ours, &server, &[]);
    assert!(run.status.success(), "{}", describe(&run));
    let store = server.snapshot("grove-env", "race");
    assert_eq!(manifest(&store)["generation"], 3);
    assert_eq!(current_files(&store), expected_env("ours.example.com"));
}

#[test]
fn s3_first_pushes_that_race_are_refused_too() {
    let server = S3Server::start();
    server.create_bucket("grove-env");
    let ours = Cluster::new("envstore-s3-first-ours", "s3://grove-env");
    let theirs = Cluster::new("envstore-s3-first-theirs", "s3://grove-env");
    theirs.set_lms_host("theirs.example.com");
    let grove = PathBuf::from(env!("CARGO_BIN_EXE_grove"));
    let root = theirs.root.to_str().unwrap();
    let hook = ours.hook("race", &grove, &["--root", root, "tutor", "sync", "demo"]);
    let run = sync_s3(
        &ours,
        &server,
        &[("FAKE_TUTOR_HOOK", hook.to_str().unwrap())],
    );
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    assert!(!ours.env().exists(), "a refused first sync left an env/");
    let store = server.snapshot("grove-env", "");
    assert_eq!(current_files(&store), expected_env("theirs.example.com"));
}
