//! The tool image runs every job: the programs it carries are listed in `image/programs`, which
//! the Dockerfile runs one by one at build time (a missing program fails the build), and this
//! test checks, with no Docker engine here:
//!
//! - that the Dockerfile passes hadolint, installs and checks every listed program, and lets the
//!   list into its build context;
//! - that every program each job runs is listed, for every golden pipeline (every title's and
//!   every webhook payload's), a sharded one, and the CI components' own jobs: the job's script
//!   commands, and for `grove COMMAND` the programs that command starts ([`GROVE_RUNS`]);
//! - that [`GROVE_RUNS`] is what grove really starts: each command runs on a copy of the example
//!   cluster (with a Terraform folder, as real clusters have) with a PATH that holds only the
//!   programs of its row, as recording fakes (uv and python3 are the real ones behind a
//!   recording shim, since venvs are really built), and must succeed and start exactly those.
//!   The instances' `tutor` is a fake that starts what Tutor starts for each command ([`TUTOR`]):
//!   Tutor needs Docker, a cluster and the network, none of which is here.
//!
//! Every generated job runs in the tool image: the jobs name no image of their own, and the CI
//! component gives its own tool image as the pipeline's default image.

mod common;

use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What each `grove` command that a job runs starts on PATH. `tutor` stands for the instance
/// venv's Tutor, which runs on the image's python3; the programs Tutor starts for that command
/// are in the row too.
const GROVE_RUNS: &[(&str, &[&str])] = &[
    ("venv update", &["uv", "python3"]),
    ("new", &[]),
    // Tutor's config, with the instance's settings from Terraform's outputs.
    ("prepare", &["tutor", "terraform"]),
    // `tutor images build` and `push`: docker, with buildx.
    ("buildimage", &["tutor", "docker", "docker-buildx"]),
    // The themes, cloned.
    ("predeploy", &["git"]),
    // `tutor k8s launch`: kubectl.
    ("deploy", &["tutor", "kubectl"]),
    // `tutor k8s do settheme`, then `kubectl rollout restart`.
    ("postdeploy", &["tutor", "kubectl"]),
    ("archive", &["kubectl"]),
    // The namespace, deleted; the store is a folder or S3 (no program).
    ("delete", &["kubectl"]),
    ("terraform plan", &["terraform"]),
    ("terraform apply", &["terraform"]),
    ("preview up", &["kubectl"]),
    ("preview down", &["kubectl"]),
    // The components' own jobs.
    ("pipeline", &[]),
    ("webhookpipeline", &[]),
    ("plan", &[]),
];

/// A fake Tutor, as far as the programs it starts go (Tutor 19): `images build` runs
/// `docker buildx build`, `images push` runs `docker push`, every `k8s` command runs kubectl
/// (launch applies the manifests, `do` runs a job in the cluster). Its own call is recorded as
/// `tutor`.
const TUTOR: &str = r#"#!/bin/sh
printf 'tutor\t%s\n' "$*" >> "$GROVE_FAKE_LOG"
case "$1 $2" in
  "images build") exec docker buildx build --tag "$3" "$TUTOR_ROOT/env/build/openedx" ;;
  "images push") exec docker push "$3" ;;
  "k8s "*) exec kubectl apply --kustomize "$TUTOR_ROOT/env" ;;
esac
exit 0
"#;

/// A recording fake of a program on PATH (shell builtins only: the PATH holds nothing else);
/// docker runs its buildx plugin as the Docker CLI does, and the answers grove reads are given.
const FAKE: &str = r#"#!/bin/sh
prog=${0##*/}
printf '%s\t%s\n' "$prog" "$*" >> "$GROVE_FAKE_LOG"
case "$prog $*" in
  "docker buildx "*) shift; exec docker-buildx "$@" ;;
  "terraform "*" plan "*) for a in "$@"; do case "$a" in -out=*) : > "${a#-out=}" ;; esac; done ;;
  "terraform "*" output -json") echo '{}' ;;
  "kubectl --namespace "*" get deployments "*) printf 'lms\ncms\n' ;;
  "kubectl get namespace "*) exit 0 ;;
  "git clone "*) for a in "$@"; do last="$a"; done; /bin/mkdir -p "$last" ;;
esac
exit 0
"#;

/// A recording shim in front of a real program.
fn shim(real: &Path) -> String {
    format!(
        "#!/bin/sh\nprintf '%s\\t%s\\n' \"${{0##*/}}\" \"$*\" >> \"$GROVE_FAKE_LOG\"\nexec {} \"$@\"\n",
        real.display()
    )
}

/// The programs of the tool image: `image/programs`, name → the command that shows it runs.
fn image_programs() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(project().join("image/programs")).unwrap();
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, check) = l.split_once(' ').unwrap_or((l, ""));
            (name.to_string(), check.trim().to_string())
        })
        .collect()
}

fn dockerfile() -> String {
    std::fs::read_to_string(project().join("Dockerfile")).unwrap()
}

#[test]
fn hadolint_passes_on_the_dockerfile_and_fails_on_a_bad_one() {
    let run = Command::new(tool("hadolint"))
        .args(["--no-color", "Dockerfile"])
        .current_dir(project())
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", describe(&run));
    // The lint can fail: an unpinned base image and apt without --no-install-recommends.
    let dir = scratch("hadolint-negative");
    let bad = dir.join("Dockerfile");
    std::fs::write(
        &bad,
        "FROM debian\nRUN apt-get update && apt-get install -y curl\n",
    )
    .unwrap();
    let run = Command::new(tool("hadolint"))
        .arg("--no-color")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!run.status.success(), "{}", describe(&run));
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(out.contains("DL3006") && out.contains("DL3015"), "{out}");
}

#[test]
fn the_dockerfile_installs_every_listed_program_and_runs_each_at_build_time() {
    let dockerfile = dockerfile();
    let programs = image_programs();
    for expected in [
        "sh",
        "grove",
        "python3",
        "uv",
        "git",
        "kubectl",
        "terraform",
        "docker",
        "docker-buildx",
    ] {
        assert!(programs.contains_key(expected), "{expected} is not listed");
    }
    // The last stage is the image: it copies the list and runs every command of it.
    let last = &dockerfile[dockerfile.rfind("\nFROM ").unwrap()..];
    assert!(
        last.contains("COPY image/programs /usr/local/share/grove/programs\n"),
        "{last}"
    );
    assert!(
        last.contains("/usr/local/share/grove/programs \\\n    | xargs -L 1 env\n"),
        "{last}"
    );
    // Each program comes from somewhere: a stage, a package, the base image.
    let sources = [
        ("grove", "COPY --from=build /usr/local/bin/grove /usr/local/bin/grove"),
        ("python3", "FROM python:${PYTHON_VERSION}-slim-bookworm"),
        ("sh", "FROM python:${PYTHON_VERSION}-slim-bookworm"),
        ("uv", "COPY --from=uv /uv /uvx /usr/local/bin/"),
        ("git", "apt-get install -y --no-install-recommends ca-certificates git"),
        ("kubectl", "COPY --from=kubectl /kubectl /usr/local/bin/kubectl"),
        ("terraform", "COPY --from=terraform /bin/terraform /usr/local/bin/terraform"),
        ("docker", "COPY --from=docker-cli /usr/local/bin/docker /usr/local/bin/docker"),
        (
            "docker-buildx",
            "COPY --from=docker-cli /usr/local/libexec/docker/cli-plugins/docker-buildx /usr/local/libexec/docker/cli-plugins/docker-buildx",
        ),
    ];
    let sourced: BTreeSet<&str> = sources.iter().map(|(p, _)| *p).collect();
    assert_eq!(
        sourced,
        programs.keys().map(String::as_str).collect(),
        "every listed program needs its source here"
    );
    for (program, line) in sources {
        assert!(
            last.contains(line),
            "{program}: no `{line}` in the image's stage"
        );
    }
    // Downloads are pinned: images by digest, kubectl by its checksum.
    for pinned in [
        "FROM hashicorp/terraform:1.10.5@sha256:",
        "FROM docker:27.5.1-cli@sha256:",
        "sha256sum --check --strict",
    ] {
        assert!(dockerfile.contains(pinned), "{pinned}");
    }
    // The build context lets the list in.
    let ignore = std::fs::read_to_string(project().join(".dockerignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "!image/"), "{ignore}");
}

/// The commands of a script line: each a list of words, the words of `if`/`then`/`else` and
/// of `!` removed, split at `;`, `&&`, `||` and `|`.
fn commands(line: &str) -> Vec<Vec<String>> {
    let words = shell_words::split(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    let mut out = vec![Vec::new()];
    for word in words {
        let (word, ends) = match word.strip_suffix(';') {
            Some(w) => (w.to_string(), true),
            None => (word, false),
        };
        if matches!(word.as_str(), "&&" | "||" | "|") {
            out.push(Vec::new());
            continue;
        }
        let current = out.last_mut().unwrap();
        let keyword = matches!(
            word.as_str(),
            "if" | "then" | "else" | "elif" | "fi" | "do" | "done" | "!"
        );
        let skipped = word.is_empty() || (current.is_empty() && keyword);
        if !skipped {
            current.push(word);
        }
        if ends {
            out.push(Vec::new());
        }
    }
    out.retain(|c| !c.is_empty());
    out
}

/// The programs a job script's command starts: shell builtins are the image's `sh`, `grove` is
/// itself plus its row of [`GROVE_RUNS`], with `tutor` standing for the image's python3.
fn programs_of(command: &[String]) -> Result<BTreeSet<String>, String> {
    const BUILTINS: [&str; 8] = ["set", "echo", "[", "test", "true", "false", ":", "export"];
    let program = command[0].as_str();
    let mut out = BTreeSet::from(["sh".to_string()]);
    if BUILTINS.contains(&program) {
        return Ok(out);
    }
    out.insert(program.to_string());
    if program != "grove" {
        return Ok(out);
    }
    // Global options and `$GROVE_ARGS` (options only) come before the command.
    let words: Vec<&str> = command[1..]
        .iter()
        .map(String::as_str)
        .filter(|w| !w.starts_with('-') && !w.starts_with('$'))
        .collect();
    let row = GROVE_RUNS
        .iter()
        .filter(|(name, _)| {
            let parts: Vec<&str> = name.split(' ').collect();
            words.len() >= parts.len() && words[..parts.len()] == parts[..]
        })
        .max_by_key(|(name, _)| name.len())
        .ok_or_else(|| {
            format!("grove {words:?} is not in GROVE_RUNS: add it, with its sandbox run")
        })?;
    for program in row.1 {
        out.insert(
            if *program == "tutor" {
                "python3"
            } else {
                program
            }
            .to_string(),
        );
    }
    Ok(out)
}

/// Every job with a script in a pipeline file: (name, image if named, its script lines).
fn jobs(yaml: &Value) -> Vec<(String, Option<String>, Vec<String>)> {
    let default_image = yaml["default"]["image"].as_str().map(String::from);
    let lines = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => s.lines().map(String::from).collect(),
            Value::Array(items) => items
                .iter()
                .flat_map(|i| {
                    i.as_str()
                        .unwrap_or_default()
                        .lines()
                        .map(String::from)
                        .collect::<Vec<_>>()
                })
                .collect(),
            _ => Vec::new(),
        }
    };
    yaml.as_object()
        .unwrap()
        .iter()
        .filter(|(_, job)| job.get("script").is_some())
        .map(|(name, job)| {
            let image = job["image"]
                .as_str()
                .map(String::from)
                .or(default_image.clone());
            let mut script = lines(&job["before_script"]);
            script.extend(lines(&job["script"]));
            script.extend(lines(&job["after_script"]));
            (name.clone(), image, script)
        })
        .collect()
}

/// The pipeline files the test reads: every golden, a sharded pipeline, the components' bodies.
fn pipeline_files() -> Vec<(String, Value)> {
    let mut files = Vec::new();
    for (name, text) in goldens(".yml") {
        files.push((
            format!("tests/{name}"),
            grove_core::yaml::from_str::<Value>(&text, &grove_core::yaml::Limits::PIPELINE)
                .unwrap(),
        ));
    }
    assert!(files.len() >= 40, "goldens are missing");
    // A sharded pipeline: its publish job and its shards.
    let root = scratch("image-sharded");
    copy_tree(&example_cluster(), &root);
    let settings = root.join("grove.yml");
    let text = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(
        &settings,
        format!("{text}\nLIMITS:\n  jobs_per_pipeline: 6\n"),
    )
    .unwrap();
    let out = root.join("generated.yml");
    let title = "[AutoDeploy][Batch][UpgradeTo] 4f2c9e1d";
    let run = grove(&root, &["pipeline", title, out.to_str().unwrap()]);
    assert!(run.status.success(), "{}", describe(&run));
    for path in std::iter::once(out.clone()).chain(
        std::fs::read_dir(root.join("generated-shards"))
            .unwrap()
            .map(|e| e.unwrap().path()),
    ) {
        let text = std::fs::read_to_string(&path).unwrap();
        files.push((
            format!("sharded {}", path.file_name().unwrap().to_string_lossy()),
            grove_core::yaml::from_str::<Value>(&text, &grove_core::yaml::Limits::PIPELINE)
                .unwrap(),
        ));
    }
    // The components' own jobs (their bodies, after the `---` line).
    for component in ["pipeline", "plan"] {
        let path = project().join(format!("ci-components/templates/{component}.yml"));
        let text = std::fs::read_to_string(path).unwrap();
        let body = text.split("\n---\n").nth(1).unwrap();
        files.push((
            format!("component {component}"),
            grove_core::yaml::from_str::<Value>(body, &grove_core::yaml::Limits::PIPELINE).unwrap(),
        ));
    }
    files
}

#[test]
fn every_program_each_job_runs_is_in_the_tool_image() {
    let programs = image_programs();
    let mut checked = 0;
    let mut seen = BTreeSet::new();
    for (file, yaml) in pipeline_files() {
        for (job, image, script) in jobs(&yaml) {
            // The job runs in the tool image: the component's (its default image), or named.
            if let Some(image) = &image {
                assert!(
                    image.starts_with("registry.gitlab.com/opencraft/grove:")
                        || image.starts_with("$[[ inputs.image ]]:"),
                    "{file}: {job} runs in {image}, not the tool image"
                );
            }
            assert!(!script.is_empty(), "{file}: {job} has no script");
            for line in &script {
                for command in commands(line) {
                    let needed = programs_of(&command)
                        .unwrap_or_else(|e| panic!("{file}: {job}: {line}: {e}"));
                    for program in needed {
                        assert!(
                            programs.contains_key(&program),
                            "{file}: {job} runs {program} ({line:?}), which the tool image does not have (image/programs)"
                        );
                        seen.insert(program);
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 250, "{checked} commands");
    // Every program of the image is used by some job (the list is not padded).
    assert_eq!(
        seen,
        programs.keys().cloned().collect(),
        "programs of the image that no job runs, or the other way round"
    );
}

#[test]
fn script_commands_are_read_as_the_shell_reads_them() {
    assert_eq!(
        commands("if [ -n \"${X:-}\" ]; then grove $A webhookpipeline --output g.yml; else"),
        [
            vec!["[", "-n", "${X:-}", "]"],
            vec!["grove", "$A", "webhookpipeline", "--output", "g.yml"],
        ]
    );
    assert_eq!(
        commands("echo \"the parent pipeline's job\" && kubectl get pods"),
        [
            vec!["echo", "the parent pipeline's job"],
            vec!["kubectl", "get", "pods"]
        ]
    );
    let grove = |line: &str| programs_of(&commands(line)[0]).unwrap();
    assert_eq!(
        grove("grove buildimage --base openedx --repository \"$R\" --version \"$V\""),
        ["docker", "docker-buildx", "grove", "python3", "sh"]
            .map(String::from)
            .into()
    );
    assert_eq!(
        grove("grove $GROVE_ARGS plan --format \"$F\" x"),
        ["grove", "sh"].map(String::from).into()
    );
    assert!(programs_of(&commands("grove tutor sync campus")[0]).is_err());
}

// ---------------------------------------------------------------------------------------------
// GROVE_RUNS, checked: each command with only its row's programs on PATH.

/// A copy of the example cluster with a Terraform folder and a theme on `campus`, venvs whose
/// `tutor` is [`TUTOR`], and a PATH folder to fill.
struct Sandbox {
    root: PathBuf,
    bin: PathBuf,
    log: PathBuf,
}

impl Sandbox {
    fn new(name: &str) -> Sandbox {
        let base = scratch(name);
        let root = base.join("cluster");
        copy_tree(&example_cluster(), &root);
        folder_store(&root);
        std::fs::create_dir_all(root.join("infrastructure")).unwrap();
        std::fs::write(root.join("infrastructure/main.tf"), "# the cluster\n").unwrap();
        let settings = root.join("instances/campus/grove.yml");
        let text = std::fs::read_to_string(&settings).unwrap();
        std::fs::write(
            &settings,
            format!("{text}THEMES:\n  - name: example-theme\n    repository: https://github.com/open-craft/example-theme.git\n    version: main\n"),
        )
        .unwrap();
        for dir in ["instances/campus", "instances/staging", ".grove/base"] {
            let requirements = if dir == ".grove/base" {
                "defaults/grove-requirements.txt"
            } else {
                &format!("{dir}/grove-requirements.txt")
            };
            let requirements = std::fs::read_to_string(root.join(requirements)).unwrap();
            fake_venv(&root.join(dir), &requirements, TUTOR);
        }
        let bin = base.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        Sandbox {
            root,
            bin,
            log: base.join("calls.log"),
        }
    }

    /// Puts `programs` on the PATH: fakes, or recording shims of the real uv and python3.
    fn provide(&self, programs: &[&str]) {
        use std::os::unix::fs::PermissionsExt;
        for program in programs {
            let text = match *program {
                "tutor" => continue,
                "uv" => shim(&tool("uv").canonicalize().unwrap()),
                "python3" => shim(&python3()),
                _ => FAKE.to_string(),
            };
            let path = self.bin.join(program);
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    /// Runs grove with the PATH holding only the sandbox's folder; returns the programs started.
    fn run(&self, args: &[&str]) -> BTreeSet<String> {
        let _ = std::fs::remove_file(&self.log);
        // The rest of the environment is kept (uv's cache and certificates, for the venv).
        let run = Command::new(env!("CARGO_BIN_EXE_grove"))
            .args(args)
            .current_dir(&self.root)
            .env("PATH", &self.bin)
            .env_remove("GROVE_ROOT")
            .env_remove("GROVE_PIPELINE_IMAGE")
            .env_remove("GROVE_GITLAB_TOKEN")
            .env_remove("GROVE_VENV_INSTALLER")
            .env("GROVE_FAKE_LOG", &self.log)
            .env("NO_COLOR", "1")
            .env("UV_PYTHON_DOWNLOADS", "never")
            .output()
            .unwrap();
        assert!(run.status.success(), "grove {args:?}: {}", describe(&run));
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| l.split('\t').next().unwrap().to_string())
            .collect()
    }
}

/// This machine's python3 interpreter itself (not a launcher such as pyenv's, which needs
/// more than the sandbox's PATH).
fn python3() -> PathBuf {
    let run = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 runs");
    assert!(run.status.success(), "{}", describe(&run));
    PathBuf::from(String::from_utf8(run.stdout).unwrap().trim())
}

fn row(command: &str) -> &'static [&'static str] {
    GROVE_RUNS
        .iter()
        .find(|(name, _)| *name == command)
        .unwrap()
        .1
}

#[test]
fn each_grove_command_starts_exactly_the_programs_of_its_row() {
    let sandbox = Sandbox::new("image-runs");
    // In the order of a pipeline, each command on the state the ones before left.
    let preview = [
        "preview",
        "up",
        "pr-7-feature",
        "--template",
        "staging",
        "--kind",
        "edx-platform",
        "--repository",
        "https://github.com/open-craft/edx-platform.git",
        "--version",
        "feature",
        "--host",
        "pr-7-feature.preview.example.org",
    ];
    let runs: Vec<(&str, Vec<&str>)> = vec![
        ("new", vec!["new", "brandnew"]),
        ("terraform plan", vec!["terraform", "plan"]),
        ("terraform apply", vec!["terraform", "apply"]),
        ("prepare", vec!["prepare", "campus"]),
        ("buildimage", vec!["buildimage", "campus", "openedx"]),
        (
            "buildimage",
            vec![
                "buildimage",
                "--base",
                "openedx",
                "--repository",
                "https://github.com/openedx/edx-platform.git",
                "--version",
                "open-release/sumac.1",
            ],
        ),
        ("predeploy", vec!["predeploy", "campus"]),
        ("deploy", vec!["deploy", "campus"]),
        ("postdeploy", vec!["postdeploy", "campus"]),
        ("archive", vec!["archive", "campus"]),
        ("preview up", preview.to_vec()),
        ("preview down", vec!["preview", "down", "pr-7-feature"]),
        // Last: the commit of a Delete removes the instance's folder.
        ("delete", vec!["delete", "campus"]),
    ];
    let mut covered = BTreeSet::new();
    for (command, args) in runs {
        let programs = row(command);
        if command == "delete" {
            std::fs::remove_dir_all(sandbox.root.join("instances/campus")).unwrap();
        }
        sandbox.provide(programs);
        let started = sandbox.run(&args);
        assert_eq!(
            started,
            programs.iter().map(|p| p.to_string()).collect(),
            "grove {args:?} started other programs than its row in GROVE_RUNS"
        );
        covered.insert(command);
        // Nothing is left on PATH for the next command.
        for entry in std::fs::read_dir(&sandbox.bin).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
    }
    // The venv, really built (uv, on the real python3), with a Tutor that installs offline.
    let fake_tutor = project().join("tests/components/fake-tutor");
    let requirements = sandbox.root.join("instances/labs/grove-requirements.txt");
    std::fs::write(
        &requirements,
        format!("fake-tutor @ file://{}\n", fake_tutor.display()),
    )
    .unwrap();
    sandbox.provide(row("venv update"));
    let started = sandbox.run(&["venv", "update", "labs"]);
    assert_eq!(started, ["python3", "uv"].map(String::from).into());
    assert!(sandbox
        .root
        .join("instances/labs/.venv/bin/tutor")
        .is_file());
    covered.insert("venv update");
    // Every command a job runs has been run here (the components' own commands write files
    // and start nothing).
    let jobs: BTreeSet<&str> = GROVE_RUNS
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| !matches!(*name, "pipeline" | "webhookpipeline" | "plan"))
        .collect();
    assert_eq!(covered, jobs);
}

#[test]
fn the_components_own_commands_start_nothing() {
    let sandbox = Sandbox::new("image-components");
    let out = sandbox.root.join("generated.yml");
    let title = "[AutoDeploy][Create] campus|1,newcampus|2";
    let payload = project().join("tests/webhooks/github-pr-opened.json");
    for args in [
        vec!["pipeline", title, out.to_str().unwrap()],
        vec![
            "plan",
            "--json-file",
            "grove-plan.json",
            "--merge-request-note",
            title,
        ],
        vec![
            "webhookpipeline",
            "--output",
            out.to_str().unwrap(),
            "--payload",
            payload.to_str().unwrap(),
        ],
    ] {
        assert_eq!(sandbox.run(&args), BTreeSet::new(), "grove {args:?}");
    }
}
