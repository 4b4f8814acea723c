//! End to end with the real Tutor from PyPI (22.x), installed by the real uv into a real
//! per-instance venv: `grove new`, `grove venv update`, `grove prepare` (which runs
//! `tutor config save` in the instance's Tutor root, composed from git and the store) and
//! `grove tutor exec`. Two fresh clones of one cluster repository share a store (a folder on a
//! disk both see, and an S3-compatible server on loopback) and must get the same secrets and a
//! byte-identical `env/`. Only Terraform and kubectl are fakes, which record their argv.
//!
//! These tests need uv (scripts/setup-tools installs it), Python 3.10 or newer and PyPI (or
//! uv's cache). Missing any of them is a failure with a clear message, never a skip.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The Tutor the demo instance is built with.
const TUTOR_REQUIREMENT: &str = "tutor>=22,<23\n";

/// A fake `terraform` or `kubectl`: appends its argv (one line, tab-separated) to
/// $GROVE_FAKE_LOG; `terraform output -json` prints $GROVE_FAKE_STATE/terraform-output.json, and
/// `kubectl get namespace` succeeds (the namespace is there) with nothing running in it.
const FAKE: &str = r#"#!/bin/sh
prog=$(basename "$0")
{ printf '%s' "$prog"; for a in "$@"; do printf '\t%s' "$a"; done; printf '\n'; } >> "$GROVE_FAKE_LOG"
case "$prog $*" in
  "terraform "*"output -json") cat "$GROVE_FAKE_STATE/terraform-output.json" ;;
  "kubectl get namespace "*) echo "namespace/$3" ;;
esac
exit 0
"#;

/// A scratch copy of the example cluster (one clone of it) without its Terraform folder, uv and
/// the fakes on PATH.
struct Cluster {
    root: PathBuf,
    fakes: PathBuf,
    log: PathBuf,
    /// Extra variables for every grove run (the S3 server's, when the store is on S3).
    env: Vec<(String, String)>,
}

impl Cluster {
    /// A clone whose store is `store` (an absolute path, or an `s3://` URL reached with `env`).
    fn new(name: &str, store: &str, env: Vec<(String, String)>) -> Cluster {
        let uv = tool("uv");
        let python = Command::new(&uv)
            .args(["python", "find", ">=3.10"])
            .output()
            .expect("uv runs");
        assert!(
            python.status.success(),
            "Tutor 22 needs Python 3.10 or newer, and uv finds none: install one \
             (such as `uv python install 3.12`)\n{}",
            describe(&python)
        );
        let base = scratch(name);
        let root = base.join("cluster");
        copy_tree(&example_cluster(), &root);
        // Without the example's Terraform: the tests that need infrastructure make their own.
        std::fs::remove_dir_all(root.join("infrastructure")).unwrap();
        set_store(&root, store);
        let fakes = base.join("fakes");
        std::fs::create_dir_all(&fakes).unwrap();
        for program in ["terraform", "kubectl"] {
            let path = fakes.join(program);
            std::fs::write(&path, FAKE).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Cluster {
            root,
            fakes,
            log: base.join("argv.log"),
            env,
        }
    }

    fn grove(&self, args: &[&str]) -> Output {
        let uv_bin = tool("uv").parent().unwrap().to_path_buf();
        let path = std::env::join_paths([uv_bin, self.fakes.clone()].into_iter().chain(
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
        ))
        .unwrap();
        Command::new(env!("CARGO_BIN_EXE_grove"))
            .arg("--root")
            .arg(&self.root)
            .args(args)
            .env("PATH", path)
            .env("GROVE_FAKE_LOG", &self.log)
            .env("GROVE_FAKE_STATE", self.fakes.parent().unwrap())
            .env("NO_COLOR", "1")
            .env_remove("GROVE_ROOT")
            .env_remove("GROVE_STATE_GENERATION")
            .env_remove("GROVE_VENV_INSTALLER")
            .env_remove("VIRTUAL_ENV")
            .env_remove("TUTOR_ROOT")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("grove runs")
    }

    fn instance(&self, name: &str) -> PathBuf {
        self.root.join("instances").join(name)
    }

    /// Where Tutor runs for instance `name`.
    fn tutor_root(&self, name: &str) -> PathBuf {
        self.root.join(".grove/tutor").join(name)
    }

    /// The recorded calls of `program`, one tab-separated argv per line.
    fn calls(&self, program: &str) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.split('\t').next() == Some(program))
            .map(str::to_string)
            .collect()
    }

    /// `grove new NAME`, with its venv's requirements and `LMS_HOST` set.
    fn new_instance(&self, name: &str, lms_host: &str) {
        succeeded(&self.grove(&["new", name]));
        let dir = self.instance(name);
        std::fs::write(dir.join("grove-requirements.txt"), TUTOR_REQUIREMENT).unwrap();
        let config = dir.join("config.yml");
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str(&format!("LMS_HOST: {lms_host}\n"));
        std::fs::write(&config, text).unwrap();
    }

    /// Copies instance `name`'s files from `other`, as a pull of the commit that added it.
    fn pull_instance(&self, other: &Cluster, name: &str) {
        std::fs::create_dir_all(self.instance(name)).unwrap();
        for file in grove_core::fleet::INSTANCE_FILES {
            std::fs::copy(
                other.instance(name).join(file),
                self.instance(name).join(file),
            )
            .unwrap();
        }
    }

    /// `grove tutor exec NAME "config printvalue KEY"`: what it printed.
    fn printvalue(&self, name: &str, key: &str) -> String {
        let run = self.grove(&["tutor", "exec", name, &format!("config printvalue {key}")]);
        succeeded(&run);
        String::from_utf8(run.stdout)
            .unwrap()
            .trim_end()
            .to_string()
    }
}

fn succeeded(output: &Output) {
    assert!(output.status.success(), "{}", describe(output));
}

/// The keys of the current generation's config that the store keeps, from the manifest in a
/// folder store.
fn kept_keys(store: &Path, name: &str) -> Vec<String> {
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(store.join(format!("{name}/manifest.json"))).unwrap(),
    )
    .unwrap();
    manifest["kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

/// The secrets Tutor 22 generates on a first `config save` that a deployment depends on.
const SECRETS: [&str; 7] = [
    "ID",
    "JWT_RSA_PRIVATE_KEY",
    "MYSQL_ROOT_PASSWORD",
    "OPENEDX_MYSQL_PASSWORD",
    "OPENEDX_SECRET_KEY",
    "CMS_OAUTH2_SECRET",
    "MEILISEARCH_MASTER_KEY",
];

#[test]
fn new_venv_prepare_and_exec_with_the_real_tutor() {
    let store = scratch("tutor-e2e-store");
    let cluster = Cluster::new("tutor-e2e", store.to_str().unwrap(), Vec::new());
    let host = "learn.demo.example.org";
    cluster.new_instance("demo", host);
    let dir = cluster.instance("demo");
    let git_config = std::fs::read(dir.join("config.yml")).unwrap();

    // The venv: built once, then left alone while the requirements are unchanged.
    let run = cluster.grove(&["venv", "update", "demo"]);
    succeeded(&run);
    assert!(dir.join(".venv/bin/tutor").exists(), "{}", describe(&run));
    assert_eq!(
        std::fs::read_to_string(dir.join(".venv/.grove-requirements-hash")).unwrap(),
        grove_core::fleet::short_hash(TUTOR_REQUIREMENT)
    );
    let run = cluster.grove(&["venv", "update", "demo"]);
    succeeded(&run);
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("instances/demo/.venv: up to date"),
        "{}",
        describe(&run)
    );

    // prepare renders Tutor's env in the Tutor root, from config.yml and what it generates.
    let run = cluster.grove(&["prepare", "demo"]);
    succeeded(&run);
    let root = cluster.tutor_root("demo");
    let lms = std::fs::read_to_string(root.join("env/apps/openedx/config/lms.env.yml"))
        .unwrap_or_else(|e| panic!("Tutor rendered no lms.env.yml ({e}): {}", describe(&run)));
    assert!(lms.contains(&format!("LMS_BASE: \"{host}\"")), "{lms}");
    // ENABLE_HTTPS: true in defaults/config.yml reached the env too.
    assert!(
        lms.contains(&format!("LMS_ROOT_URL: \"https://{host}\"")),
        "{lms}"
    );
    assert!(root.join("env/k8s").is_dir());
    assert!(
        cluster.calls("terraform").is_empty(),
        "no infrastructure/ folder, yet terraform ran"
    );
    // Git's config.yml is never written; Tutor's secrets went to the store.
    assert_eq!(std::fs::read(dir.join("config.yml")).unwrap(), git_config);
    let kept = kept_keys(&store, "demo");
    for secret in SECRETS {
        assert!(
            kept.iter().any(|k| k == secret),
            "{secret} is not kept: {kept:?}"
        );
    }

    // A second prepare stores nothing new.
    let manifest = std::fs::read(store.join("demo/manifest.json")).unwrap();
    succeeded(&cluster.grove(&["prepare", "demo"]));
    assert_eq!(
        std::fs::read(store.join("demo/manifest.json")).unwrap(),
        manifest
    );

    // tutor exec runs the venv's Tutor in the Tutor root.
    assert_eq!(cluster.printvalue("demo", "LMS_HOST"), host);
    assert_eq!(
        cluster.printvalue("demo", "EDX_PLATFORM_VERSION"),
        "open-release/sumac.1"
    );
    // The namespace is the instance's name, and the one archive acts on.
    assert_eq!(cluster.printvalue("demo", "K8S_NAMESPACE"), "demo");
    succeeded(&cluster.grove(&["archive", "demo"]));
    assert_eq!(
        cluster.calls("kubectl").first().map(String::as_str),
        Some("kubectl\tget\tnamespace\tdemo\t--ignore-not-found\t--output\tname")
    );
    succeeded(&cluster.grove(&["postdeploy", "demo"]));
    assert_eq!(
        cluster.calls("kubectl").last().map(String::as_str),
        Some("kubectl\t--namespace\tdemo\trollout\trestart\tdeployment")
    );
}

/// Clone A prepares a new instance; a fresh clone B of the same commit prepares it again with
/// the same store: every secret Tutor generated, and env/, are the same. Then a value changed
/// in git reaches env/ and the secrets stay; a secret pinned in git wins.
fn two_clones_share_one_state(label: &str, store: &str, env: Vec<(String, String)>) {
    let a = Cluster::new(&format!("{label}-a"), store, env.clone());
    a.new_instance("demo", "learn.demo.example.org");
    succeeded(&a.grove(&["prepare", "demo"]));
    let b = Cluster::new(&format!("{label}-b"), store, env);
    b.pull_instance(&a, "demo");
    succeeded(&b.grove(&["prepare", "demo"]));
    for key in SECRETS.iter().chain(&["K8S_NAMESPACE"]) {
        let (in_a, in_b) = (a.printvalue("demo", key), b.printvalue("demo", key));
        assert!(!in_a.is_empty(), "{key} is empty");
        assert_eq!(in_a, in_b, "{key} differs between the clones");
    }
    assert!(
        tree(&a.tutor_root("demo").join("env")) == tree(&b.tutor_root("demo").join("env")),
        "env/ differs between the clones"
    );

    // A value changed in git reaches env/; the secrets stay.
    let secret_before = b.printvalue("demo", "OPENEDX_SECRET_KEY");
    let config = b.instance("demo").join("config.yml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("learn.demo.example.org", "courses.demo.example.org"),
    )
    .unwrap();
    succeeded(&b.grove(&["prepare", "demo"]));
    let lms = std::fs::read_to_string(
        b.tutor_root("demo")
            .join("env/apps/openedx/config/lms.env.yml"),
    )
    .unwrap();
    assert!(
        lms.contains("LMS_BASE: \"courses.demo.example.org\""),
        "{lms}"
    );
    assert_eq!(b.printvalue("demo", "OPENEDX_SECRET_KEY"), secret_before);
    // Clone A, with the old commit, still gets the secrets (and its own LMS_HOST).
    succeeded(&a.grove(&["prepare", "demo"]));
    assert_eq!(a.printvalue("demo", "OPENEDX_SECRET_KEY"), secret_before);

    // A secret pinned in git wins over the stored one.
    std::fs::write(
        &config,
        std::fs::read_to_string(&config).unwrap() + "MYSQL_ROOT_PASSWORD: pinned-by-ops\n",
    )
    .unwrap();
    succeeded(&b.grove(&["prepare", "demo"]));
    assert_eq!(b.printvalue("demo", "MYSQL_ROOT_PASSWORD"), "pinned-by-ops");
    assert_eq!(b.printvalue("demo", "ID"), a.printvalue("demo", "ID"));
}

#[test]
fn two_clones_get_the_same_secrets_from_a_shared_folder_store() {
    let store = scratch("tutor-two-clones-store");
    two_clones_share_one_state("tutor-two-clones", store.to_str().unwrap(), Vec::new());
}

#[test]
fn two_clones_get_the_same_secrets_from_s3() {
    let server = S3Server::start();
    server.create_bucket("grove-state");
    let env = server
        .aws_env()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    two_clones_share_one_state("tutor-two-clones-s3", "s3://grove-state/cluster", env);
    let store = server.snapshot("grove-state", "cluster");
    assert!(
        store.contains_key("demo/manifest.json"),
        "{:?}",
        store.keys()
    );
}

#[test]
fn prepare_by_hand_leaves_the_cluster_repository_as_git_has_it() {
    let store = scratch("tutor-git-status-store");
    let cluster = Cluster::new("tutor-git-status", store.to_str().unwrap(), Vec::new());
    cluster.new_instance("demo", "learn.demo.example.org");
    let git = |args: &[&str]| {
        let run = Command::new("git")
            .arg("-C")
            .arg(&cluster.root)
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
    git(&["add", "-A"]);
    git(&["commit", "-qm", "the cluster, with demo"]);
    succeeded(&cluster.grove(&["prepare", "demo"]));
    succeeded(&cluster.grove(&[
        "tutor",
        "exec",
        "demo",
        "config save --set PLATFORM_NAME=Demo",
    ]));
    assert_eq!(git(&["status", "--porcelain", "--untracked-files=all"]), "");
    let secret = cluster.printvalue("demo", "OPENEDX_SECRET_KEY");
    for file in git(&["ls-files", "--cached", "--others", "--exclude-standard"]).lines() {
        let bytes = std::fs::read(cluster.root.join(file)).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&secret),
            "{file}, which git would take, holds a secret"
        );
    }
}

#[test]
fn prepare_creates_the_instance_and_passes_terraform_outputs_to_tutor() {
    let store = scratch("tutor-e2e-terraform-store");
    let cluster = Cluster::new("tutor-e2e-terraform", store.to_str().unwrap(), Vec::new());
    std::fs::create_dir_all(cluster.root.join("infrastructure")).unwrap();
    std::fs::write(
        cluster
            .fakes
            .parent()
            .unwrap()
            .join("terraform-output.json"),
        r#"{
  "instances": {"sensitive": false, "type": "map", "value": {
    "demo": {"MYSQL_HOST": "db.internal.example.org", "MYSQL_PORT": 3307,
             "CMS_HOST": "studio: not a mapping", "RUN_MYSQL": false},
    "other": {"MYSQL_HOST": "elsewhere"}
  }}
}"#,
    )
    .unwrap();
    assert!(!cluster.instance("demo").exists());

    // Created from defaults/, at another version for this run, in one step.
    let run = cluster.grove(&[
        "prepare",
        "demo",
        "--edx-platform-version",
        "open-release/teak.2",
    ]);
    succeeded(&run);
    let infrastructure = std::path::absolute(cluster.root.join("infrastructure")).unwrap();
    assert_eq!(
        cluster.calls("terraform"),
        vec![format!(
            "terraform\t-chdir={}\toutput\t-json",
            infrastructure.display()
        )]
    );
    let dir = cluster.instance("demo");
    assert_eq!(
        std::fs::read(dir.join("grove.yml")).unwrap(),
        std::fs::read(cluster.root.join("defaults/grove.yml")).unwrap()
    );
    // config.yml is the defaults' copy, untouched: the version is this run's, not git's.
    assert_eq!(
        std::fs::read(dir.join("config.yml")).unwrap(),
        std::fs::read(cluster.root.join("defaults/config.yml")).unwrap()
    );

    // The settings reached Tutor's config, with their types; no value was printed.
    assert!(
        !String::from_utf8_lossy(&run.stderr).contains("db.internal"),
        "{}",
        describe(&run)
    );
    assert_eq!(
        cluster.printvalue("demo", "MYSQL_HOST"),
        "db.internal.example.org"
    );
    assert_eq!(cluster.printvalue("demo", "MYSQL_PORT"), "3307");
    assert_eq!(
        cluster.printvalue("demo", "CMS_HOST"),
        "studio: not a mapping"
    );
    assert_eq!(cluster.printvalue("demo", "RUN_MYSQL"), "false");
    assert_eq!(
        cluster.printvalue("demo", "EDX_PLATFORM_VERSION"),
        "open-release/teak.2"
    );
    let cms = std::fs::read_to_string(
        cluster
            .tutor_root("demo")
            .join("env/apps/openedx/config/cms.env.yml"),
    )
    .unwrap();
    assert!(cms.contains("studio: not a mapping"), "{cms}");

    // The same prepare again stores nothing new.
    let manifest = std::fs::read(store.join("demo/manifest.json")).unwrap();
    succeeded(&cluster.grove(&[
        "prepare",
        "demo",
        "--edx-platform-version",
        "open-release/teak.2",
    ]));
    assert_eq!(
        std::fs::read(store.join("demo/manifest.json")).unwrap(),
        manifest
    );
    // Without the version, the next prepare is back at git's: the run's value is not kept.
    succeeded(&cluster.grove(&["prepare", "demo"]));
    assert_eq!(
        cluster.printvalue("demo", "EDX_PLATFORM_VERSION"),
        "open-release/sumac.1"
    );
}

#[test]
fn instances_that_would_share_a_namespace_or_a_host_are_refused() {
    let store = scratch("tutor-e2e-shared-store");
    let cluster = Cluster::new("tutor-e2e-shared", store.to_str().unwrap(), Vec::new());
    let config = cluster.instance("labs").join("config.yml");
    let original = std::fs::read_to_string(&config).unwrap();
    for (extra, what) in [
        (
            "K8S_NAMESPACE: campus\n",
            "the Kubernetes namespace \"campus\"",
        ),
        ("", "the LMS_HOST \"campus.courses.example.org\""),
    ] {
        let text = if extra.is_empty() {
            original.replace("labs.courses", "campus.courses")
        } else {
            original.clone() + extra
        };
        std::fs::write(&config, text).unwrap();
        let run = cluster.grove(&["prepare", "labs"]);
        assert_eq!(run.status.code(), Some(5), "{}", describe(&run));
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(
            stderr.contains("\"campus\" and \"labs\" would share") && stderr.contains(what),
            "{stderr}"
        );
    }
    assert!(!cluster.tutor_root("labs").exists());
}
