//! End to end with the real Tutor from PyPI (22.x), installed by the real uv into a real
//! per-instance venv: `grove new`, `grove venv update`, `grove prepare` (which runs
//! `tutor config save`) and `grove tutor exec`. Only Terraform is a fake, which records its argv.
//!
//! These tests need uv (scripts/setup-tools installs it), Python 3.10 or newer and PyPI (or
//! uv's cache). Missing any of them is a failure with a clear message, never a skip.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The Tutor the demo instance is built with.
const TUTOR_REQUIREMENT: &str = "tutor>=22,<23\n";

/// A fake `terraform`: appends its argv (one line, tab-separated) to $GROVE_FAKE_LOG and prints
/// $GROVE_FAKE_STATE/terraform-output.json for `output -json`.
const FAKE_TERRAFORM: &str = r#"#!/bin/sh
{ printf 'terraform'; for a in "$@"; do printf '\t%s' "$a"; done; printf '\n'; } >> "$GROVE_FAKE_LOG"
case "$*" in
  *"output -json") cat "$GROVE_FAKE_STATE/terraform-output.json" ;;
esac
"#;

/// A scratch copy of the example cluster, uv and the fake terraform on PATH.
struct Cluster {
    root: PathBuf,
    fakes: PathBuf,
    log: PathBuf,
}

impl Cluster {
    fn new(name: &str) -> Cluster {
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
        let fakes = base.join("fakes");
        std::fs::create_dir_all(&fakes).unwrap();
        let terraform = fakes.join("terraform");
        std::fs::write(&terraform, FAKE_TERRAFORM).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&terraform, std::fs::Permissions::from_mode(0o755)).unwrap();
        Cluster {
            root,
            fakes,
            log: base.join("argv.log"),
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
            .env_remove("GROVE_VENV_INSTALLER")
            .env_remove("VIRTUAL_ENV")
            .env_remove("TUTOR_ROOT")
            .output()
            .expect("grove runs")
    }

    fn instance(&self, name: &str) -> PathBuf {
        self.root.join("instances").join(name)
    }

    /// The recorded terraform calls, one tab-separated argv per line.
    fn terraform_calls(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
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

/// Every file under `dir` (but the venv, where Python caches bytecode) with its contents.
fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut all = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_name() == ".venv" {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                stack.push(path.clone());
                all.insert(path.strip_prefix(dir).unwrap().to_path_buf(), Vec::new());
            } else {
                let bytes = std::fs::read(&path).unwrap();
                all.insert(path.strip_prefix(dir).unwrap().to_path_buf(), bytes);
            }
        }
    }
    all
}

#[test]
fn new_venv_prepare_and_exec_with_the_real_tutor() {
    let cluster = Cluster::new("tutor-e2e");
    let host = "learn.demo.example.org";
    cluster.new_instance("demo", host);
    let dir = cluster.instance("demo");

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

    // prepare renders Tutor's env from config.yml.
    let run = cluster.grove(&["prepare", "demo"]);
    succeeded(&run);
    let lms = std::fs::read_to_string(dir.join("env/apps/openedx/config/lms.env.yml"))
        .unwrap_or_else(|e| panic!("Tutor rendered no lms.env.yml ({e}): {}", describe(&run)));
    assert!(lms.contains(&format!("LMS_BASE: \"{host}\"")), "{lms}");
    // ENABLE_HTTPS: true in defaults/config.yml reached the env too.
    assert!(
        lms.contains(&format!("LMS_ROOT_URL: \"https://{host}\"")),
        "{lms}"
    );
    assert!(dir.join("env/k8s").is_dir());
    assert!(
        cluster.terraform_calls().is_empty(),
        "no infrastructure/ folder, yet terraform ran: {:?}",
        cluster.terraform_calls()
    );

    // A second prepare changes nothing.
    let before = contents(&dir);
    succeeded(&cluster.grove(&["prepare", "demo"]));
    assert_eq!(
        contents(&dir),
        before,
        "a second prepare changed the instance"
    );

    // tutor exec runs the venv's Tutor with TUTOR_ROOT at the instance.
    assert_eq!(cluster.printvalue("demo", "LMS_HOST"), host);
    assert_eq!(
        cluster.printvalue("demo", "EDX_PLATFORM_VERSION"),
        "open-release/sumac.1"
    );
}

#[test]
fn prepare_creates_the_instance_and_passes_terraform_outputs_to_tutor() {
    let cluster = Cluster::new("tutor-e2e-terraform");
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

    // Created from defaults/ and moved to another version, in one step.
    let run = cluster.grove(&[
        "prepare",
        "demo",
        "--edx-platform-version",
        "open-release/teak.2",
    ]);
    succeeded(&run);
    let infrastructure = std::path::absolute(cluster.root.join("infrastructure")).unwrap();
    assert_eq!(
        cluster.terraform_calls(),
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
    let config = std::fs::read_to_string(dir.join("config.yml")).unwrap();
    assert!(
        config.contains("EDX_PLATFORM_REPOSITORY: https://github.com/openedx/edx-platform.git"),
        "the rest of config.yml was kept: {config}"
    );

    // The settings reached Tutor's config, with their types.
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
    let cms = std::fs::read_to_string(dir.join("env/apps/openedx/config/cms.env.yml")).unwrap();
    assert!(cms.contains("studio: not a mapping"), "{cms}");

    // The same prepare again changes nothing.
    let before = contents(&dir);
    succeeded(&cluster.grove(&[
        "prepare",
        "demo",
        "--edx-platform-version",
        "open-release/teak.2",
    ]));
    assert_eq!(
        contents(&dir),
        before,
        "a second prepare changed the instance"
    );
}
