//! The lifecycle commands against fake `tutor`, `kubectl`, `terraform` and `git` executables
//! that record the exact argv they were given (there is no cluster, Docker or Terraform here).

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A scratch cluster repository with fakes on PATH and a fake venv for some instances.
struct Cluster {
    root: PathBuf,
    fakes: PathBuf,
    log: PathBuf,
}

/// The fake: appends `PROGRAM<TAB>ARG...` (and TUTOR_ROOT for tutor) to $GROVE_FAKE_LOG, and
/// answers the few questions grove asks from files in $GROVE_FAKE_STATE.
const FAKE: &str = r#"#!/bin/sh
prog=$(basename "$0")
{ printf '%s' "$prog"; for a in "$@"; do printf '\t%s' "$a"; done; printf '\n'; } >> "$GROVE_FAKE_LOG"
if [ "$prog" = tutor ]; then printf 'TUTOR_ROOT=%s\n' "$TUTOR_ROOT" >> "$GROVE_FAKE_LOG"; fi
state="$GROVE_FAKE_STATE"
case "$prog $*" in
  "kubectl get namespace "*) [ -e "$state/namespace" ] && echo "namespace/$3" ;;
  "kubectl delete namespace "*) [ -e "$state/delete-fails" ] && exit 1; rm -f "$state/namespace" ;;
  "kubectl --namespace "*" get deployments "*) cat "$state/deployments" 2>/dev/null ;;
  "kubectl --namespace "*" scale "*) : > "$state/deployments" ;;
  "terraform "*" output -json") cat "$state/terraform-output.json" 2>/dev/null || echo '{}' ;;
  "git clone "*) for last; do :; done; mkdir -p "$last/lms" && echo theme > "$last/README" ;;
esac
exit "${GROVE_FAKE_EXIT:-0}"
"#;

impl Cluster {
    fn new(name: &str) -> Cluster {
        let base = scratch(name);
        let root = base.join("cluster");
        copy_tree(&example_cluster(), &root);
        let fakes = base.join("fakes");
        std::fs::create_dir_all(&fakes).unwrap();
        for program in ["kubectl", "terraform", "git", "docker"] {
            write_executable(&fakes.join(program), FAKE);
        }
        let state = base.join("state");
        std::fs::create_dir_all(&state).unwrap();
        let store = folder_store(&root);
        let cluster = Cluster {
            root,
            fakes,
            log: base.join("argv.log"),
        };
        for instance in ["campus", "labs", "academy"] {
            cluster.fake_venv(instance);
            // The state `grove prepare` keeps, which every later command lays out.
            let config = format!("ID: {instance}-id\nK8S_NAMESPACE: {instance}\n");
            stored_generation(
                &store,
                instance,
                1,
                &[("config.yml", &config), ("env/version", "22\n")],
            );
        }
        cluster
    }

    fn state(&self) -> PathBuf {
        self.fakes.parent().unwrap().join("state")
    }

    /// A venv that grove takes as current, whose `tutor` is the fake.
    fn fake_venv(&self, instance: &str) {
        let dir = self.root.join("instances").join(instance);
        let requirements = std::fs::read_to_string(dir.join("grove-requirements.txt")).unwrap();
        fake_venv(&dir, &requirements, FAKE);
    }

    fn grove(&self, args: &[&str]) -> Output {
        self.grove_with(&[], args)
    }

    /// `grove ARGS` with the variables `env` set (and GROVE_STATE_GENERATION only from them).
    fn grove_with(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        let path = format!(
            "{}:{}",
            self.fakes.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new(env!("CARGO_BIN_EXE_grove"))
            .arg("--root")
            .arg(&self.root)
            .args(args)
            .env("PATH", path)
            .env("GROVE_FAKE_LOG", &self.log)
            .env("GROVE_FAKE_STATE", self.state())
            .env("NO_COLOR", "1")
            .env_remove("GROVE_ROOT")
            .env_remove("GROVE_STATE_GENERATION")
            .envs(env.iter().copied())
            .output()
            .unwrap()
    }

    /// The recorded calls, one `program arg...` string (tab-separated) per line; then clears them.
    fn calls(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let _ = std::fs::remove_file(&self.log);
        text.lines().map(str::to_string).collect()
    }

    /// The instance's Tutor root, where Tutor runs.
    fn tutor_root(&self, name: &str) -> String {
        std::path::absolute(self.root.join(".grove/tutor").join(name))
            .unwrap()
            .display()
            .to_string()
    }
}

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// How grove asks whether namespace `name` is there, as the fake records it.
fn get_namespace(name: &str) -> String {
    argv(&[
        "kubectl",
        "get",
        "namespace",
        name,
        "--ignore-not-found",
        "--output",
        "name",
    ])
}

/// Joins argv the way the fake records it.
fn argv(words: &[&str]) -> String {
    words.join("\t")
}

#[test]
fn deploy_runs_tutors_non_interactive_k8s_launch_in_the_tutor_root() {
    let cluster = Cluster::new("deploy");
    let run = cluster.grove(&["deploy", "campus"]);
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(
        cluster.calls(),
        [
            argv(&["tutor", "k8s", "launch", "--non-interactive"]),
            format!("TUTOR_ROOT={}", cluster.tutor_root("campus")),
        ]
    );
}

#[test]
fn later_jobs_use_the_generation_their_prepare_made_and_nothing_else() {
    let cluster = Cluster::new("pinned");
    let store = cluster.root.join(".grove/env-store");
    let config = |root: &str| std::fs::read_to_string(Path::new(root).join("config.yml")).unwrap();
    // Generation 2 is what this pipeline's prepare made; then another pipeline made 3.
    let two = stored_generation(
        &store,
        "campus",
        2,
        &[("config.yml", "ID: two\nK8S_NAMESPACE: campus\n")],
    );
    stored_generation(
        &store,
        "campus",
        3,
        &[("config.yml", "ID: three\nK8S_NAMESPACE: campus\n")],
    );
    let pin = format!("campus/{two}");
    let run = cluster.grove_with(&[("GROVE_STATE_GENERATION", &pin)], &["deploy", "campus"]);
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(
        config(&cluster.tutor_root("campus")),
        "ID: two\nK8S_NAMESPACE: campus\n"
    );
    // By hand, with no pin: the current generation.
    let run = cluster.grove(&["deploy", "campus"]);
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(
        config(&cluster.tutor_root("campus")),
        "ID: three\nK8S_NAMESPACE: campus\n"
    );
    cluster.calls();

    // A generation the store no longer keeps: this job is outdated, and says so.
    let run = cluster.grove_with(
        &[("GROVE_STATE_GENERATION", "campus/00000001-ffffffff")],
        &["deploy", "campus"],
    );
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("is gone"),
        "{}",
        describe(&run)
    );
    // A pin of another instance, or not a pin at all, is a usage error; nothing runs.
    for pin in [
        format!("labs/{two}"),
        "campus".to_string(),
        "campus/../x".to_string(),
    ] {
        let run = cluster.grove_with(&[("GROVE_STATE_GENERATION", &pin)], &["deploy", "campus"]);
        assert_eq!(run.status.code(), Some(2), "{pin}: {}", describe(&run));
    }
    assert!(cluster.calls().is_empty());
}

#[test]
fn commands_on_an_instance_never_prepared_say_what_to_run() {
    let cluster = Cluster::new("unprepared");
    for args in [
        &["deploy", "library"][..],
        &["tutor", "exec", "library", "config printvalue ID"],
    ] {
        let run = cluster.grove(args);
        assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
        assert!(
            String::from_utf8_lossy(&run.stderr).contains("run `grove prepare library` first"),
            "{}",
            describe(&run)
        );
    }
    assert!(cluster.calls().is_empty());
}

#[test]
fn postdeploy_enables_the_theme_and_restarts_deployments() {
    let cluster = Cluster::new("postdeploy");
    std::fs::write(
        cluster.root.join("instances/campus/grove.yml"),
        "BATCH_UPGRADE_DISABLED: false\nTHEMES:\n  - name: campus-theme\n    repository: https://git.example.org/campus/theme.git\n    version: v2\n",
    )
    .unwrap();
    let run = cluster.grove(&["postdeploy", "campus"]);
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(
        cluster.calls(),
        [
            argv(&["tutor", "k8s", "do", "settheme", "campus-theme"]),
            format!("TUTOR_ROOT={}", cluster.tutor_root("campus")),
            argv(&[
                "kubectl",
                "--namespace",
                "campus",
                "rollout",
                "restart",
                "deployment"
            ]),
        ]
    );
    // Without a theme, only the restart, in the namespace the stored state gave Tutor.
    stored_generation(
        &cluster.root.join(".grove/env-store"),
        "labs",
        2,
        &[("config.yml", "K8S_NAMESPACE: labs-prod\n")],
    );
    let run = cluster.grove(&["postdeploy", "labs"]);
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(
        cluster.calls(),
        [argv(&[
            "kubectl",
            "--namespace",
            "labs-prod",
            "rollout",
            "restart",
            "deployment"
        ])]
    );
}

#[test]
fn buildimage_passes_cache_from_through_docker_arg_and_pushes() {
    let cluster = Cluster::new("buildimage");
    let root = format!("TUTOR_ROOT={}", cluster.tutor_root("campus"));
    for flag in ["--cache-from", "--cache_from"] {
        let run = cluster.grove(&[
            "buildimage",
            "campus",
            "openedx",
            flag,
            "registry.example.org/campus/openedx:latest",
        ]);
        assert!(run.status.success(), "{}", describe(&run));
        assert_eq!(
            cluster.calls(),
            [
                argv(&[
                    "tutor",
                    "images",
                    "build",
                    "openedx",
                    "--docker-arg=--cache-from=registry.example.org/campus/openedx:latest"
                ]),
                root.clone(),
                argv(&["tutor", "images", "push", "openedx"]),
                root.clone(),
            ]
        );
    }
    let run = cluster.grove(&["buildimage", "campus", "mfe"]);
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(
        cluster.calls(),
        [
            argv(&["tutor", "images", "build", "mfe"]),
            root.clone(),
            argv(&["tutor", "images", "push", "mfe"]),
            root
        ]
    );
    // A reference that could be read as an option is refused before anything runs.
    let run = cluster.grove(&["buildimage", "campus", "openedx", "--cache-from=--push"]);
    assert_eq!(run.status.code(), Some(5), "{}", describe(&run));
    assert!(cluster.calls().is_empty());
}

/// A base image is built from a repository that Tutor's image build can clone: a path or a
/// local transport is refused (exit 5, naming the option) before anything runs.
#[test]
fn buildimage_base_takes_only_a_remote_repository() {
    let cluster = Cluster::new("buildimage-base-remote");
    for repository in [
        "edx-platform",
        "/srv/git/edx-platform.git",
        "file:///srv/x.git",
        "ext::sh",
    ] {
        let run = cluster.grove(&[
            "buildimage",
            "--base",
            "openedx",
            "--repository",
            repository,
            "--version",
            "main",
        ]);
        assert_eq!(
            run.status.code(),
            Some(5),
            "{repository}: {}",
            describe(&run)
        );
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(
            stderr.contains(&format!(
                "invalid --repository: {repository:?} is not a remote git URL"
            )),
            "{stderr}"
        );
    }
    assert!(cluster.calls().is_empty());
}

#[test]
fn archive_scales_running_deployments_to_zero_and_is_idempotent() {
    let cluster = Cluster::new("archive");
    std::fs::write(cluster.state().join("namespace"), "").unwrap();
    std::fs::write(cluster.state().join("deployments"), "lms\ncms\n").unwrap();
    let jsonpath = "jsonpath={range .items[?(@.spec.replicas>0)]}{.metadata.name}{\"\\n\"}{end}";
    let run = cluster.grove(&["archive", "labs"]);
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(
        cluster.calls(),
        [
            get_namespace("labs"),
            argv(&[
                "kubectl",
                "--namespace",
                "labs",
                "get",
                "deployments",
                "--output",
                jsonpath
            ]),
            argv(&[
                "kubectl",
                "--namespace",
                "labs",
                "scale",
                "--replicas=0",
                "deployment/lms",
                "deployment/cms"
            ]),
        ]
    );
    // The second time nothing is running: it asks, and changes nothing.
    let run = cluster.grove(&["archive", "labs"]);
    assert!(run.status.success(), "{}", describe(&run));
    assert!(String::from_utf8_lossy(&run.stderr).contains("already archived"));
    assert_eq!(
        cluster.calls(),
        [
            get_namespace("labs"),
            argv(&[
                "kubectl",
                "--namespace",
                "labs",
                "get",
                "deployments",
                "--output",
                jsonpath
            ]),
        ]
    );
    // With the namespace gone, archiving is done already.
    std::fs::remove_file(cluster.state().join("namespace")).unwrap();
    let run = cluster.grove(&["archive", "labs"]);
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(cluster.calls(), [get_namespace("labs")]);
}

/// `kubectl delete namespace NAMESPACE`, as grove runs it, as the fake records it.
fn delete_namespace(namespace: &str) -> String {
    argv(&[
        "kubectl",
        "delete",
        "namespace",
        namespace,
        "--ignore-not-found",
        "--wait=true",
    ])
}

/// Removes `instances/NAME/` from the checkout, as the commit of a Delete does.
fn remove_folder(cluster: &Cluster, name: &str) {
    std::fs::remove_dir_all(cluster.root.join("instances").join(name)).unwrap();
}

/// A Delete end to end, on the real folder store: the namespace named by the stored state (not
/// the instance's name) is deleted, then the state is forgotten (the store's and the Tutor
/// root's); deleting again asks the cluster, finds nothing and succeeds.
#[test]
fn delete_removes_the_namespace_the_store_names_and_forgets_the_state() {
    let cluster = Cluster::new("delete");
    let store = cluster.root.join(".grove/env-store");
    stored_generation(
        &store,
        "campus",
        2,
        &[("config.yml", "ID: campus-id\nK8S_NAMESPACE: campus-prod\n")],
    );
    // A deploy lays out the Tutor root from the store, as on a runner that deployed it.
    let run = cluster.grove(&["deploy", "campus"]);
    assert!(run.status.success(), "{}", describe(&run));
    let tutor_root = PathBuf::from(cluster.tutor_root("campus"));
    assert!(tutor_root.join("config.yml").is_file());
    cluster.calls();
    std::fs::write(cluster.state().join("namespace"), "").unwrap();
    remove_folder(&cluster, "campus");

    let run = cluster.grove(&["delete", "campus"]);
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(
        cluster.calls(),
        [
            get_namespace("campus-prod"),
            delete_namespace("campus-prod")
        ]
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("deleted namespace campus-prod of campus")
            && stderr.contains("deleted the state of campus"),
        "{stderr}"
    );
    assert!(!cluster.state().join("namespace").exists());
    assert!(!store.join("campus").exists(), "the store still has campus");
    assert!(!tutor_root.exists(), "the Tutor root of campus is left");
    // The other instances keep theirs.
    assert!(store.join("labs/manifest.json").is_file());

    // Again: with the state gone, the namespace is the instance's name; nothing is there.
    let run = cluster.grove(&["delete", "campus"]);
    assert_eq!(run.status.code(), Some(0), "{}", describe(&run));
    assert_eq!(cluster.calls(), [get_namespace("campus")]);
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("namespace campus of campus is already gone"),
        "{}",
        describe(&run)
    );
    // An instance never deployed, or a name that is not one.
    let run = cluster.grove(&["delete", "nosuch"]);
    assert_eq!(run.status.code(), Some(0), "{}", describe(&run));
    assert_eq!(cluster.calls(), [get_namespace("nosuch")]);
    for name in ["../labs", "Labs", "labs_old"] {
        let run = cluster.grove(&["delete", name]);
        assert_eq!(run.status.code(), Some(5), "{name}: {}", describe(&run));
    }
    assert!(cluster.calls().is_empty());
}

/// The commit of a Delete removes the instance's folder; with the folder still there, neither
/// `grove delete` nor the pipeline of the title touch anything (exit 5), and both say so.
#[test]
fn delete_refuses_an_instance_still_in_the_checkout() {
    let cluster = Cluster::new("delete-folder");
    std::fs::write(cluster.state().join("namespace"), "").unwrap();
    let run = cluster.grove(&["delete", "labs"]);
    assert_eq!(run.status.code(), Some(5), "{}", describe(&run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("instance \"labs\" is still in the checkout")
            && stderr.contains("`git rm -r instances/labs`"),
        "{stderr}"
    );
    assert!(cluster.calls().is_empty());
    assert!(cluster
        .root
        .join(".grove/env-store/labs/manifest.json")
        .is_file());

    let out = cluster.fakes.parent().unwrap().join("delete.yml");
    for title in [
        "[AutoDeploy][Delete] labs",
        "[AutoDeploy][Delete] retired,labs",
    ] {
        let run = cluster.grove(&["pipeline", title, out.to_str().unwrap()]);
        assert_eq!(run.status.code(), Some(5), "{title}: {}", describe(&run));
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(
            stderr.contains("instance \"labs\" is still in this commit")
                && stderr.contains("`git rm -r instances/labs`"),
            "{title}: {stderr}"
        );
        assert!(!out.exists(), "{title}: a pipeline was written");
    }
    // Once the folder is gone, the same title gives the pipeline.
    remove_folder(&cluster, "labs");
    let run = cluster.grove(&[
        "pipeline",
        "[AutoDeploy][Delete] labs",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", describe(&run));
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains("    - grove delete \"$INSTANCE_NAME\"\n"));
    assert!(cluster.calls().is_empty());
}

/// A kubectl that cannot ask the cluster is not an answer: Delete fails (exit 1) and keeps the
/// state, so that a retry deletes the right namespace; so does a failed deletion. Archive
/// fails too, rather than report an archived instance.
#[test]
fn delete_keeps_the_state_until_the_namespace_is_gone() {
    let cluster = Cluster::new("delete-retry");
    let manifest = cluster.root.join(".grove/env-store/campus/manifest.json");
    std::fs::write(cluster.state().join("namespace"), "").unwrap();
    remove_folder(&cluster, "campus");
    let unreachable = [("GROVE_FAKE_EXIT", "1")];
    let run = cluster.grove_with(&unreachable, &["delete", "campus"]);
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    assert_eq!(cluster.calls(), [get_namespace("campus")]);
    assert!(manifest.is_file(), "the state is gone");
    let run = cluster.grove_with(&unreachable, &["archive", "labs"]);
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    assert_eq!(cluster.calls(), [get_namespace("labs")]);

    std::fs::write(cluster.state().join("delete-fails"), "").unwrap();
    let run = cluster.grove(&["delete", "campus"]);
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    assert_eq!(
        cluster.calls(),
        [get_namespace("campus"), delete_namespace("campus")]
    );
    assert!(manifest.is_file(), "the state is gone");

    // The retry finishes the job.
    std::fs::remove_file(cluster.state().join("delete-fails")).unwrap();
    let run = cluster.grove(&["delete", "campus"]);
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(
        cluster.calls(),
        [get_namespace("campus"), delete_namespace("campus")]
    );
    assert!(!manifest.exists());
}

/// A stored namespace that is Kubernetes' own is never deleted, whatever the store says.
#[test]
fn delete_never_deletes_a_system_namespace() {
    let cluster = Cluster::new("delete-system");
    stored_generation(
        &cluster.root.join(".grove/env-store"),
        "campus",
        2,
        &[("config.yml", "K8S_NAMESPACE: kube-system\n")],
    );
    std::fs::write(cluster.state().join("namespace"), "").unwrap();
    remove_folder(&cluster, "campus");
    let run = cluster.grove(&["delete", "campus"]);
    assert_eq!(run.status.code(), Some(5), "{}", describe(&run));
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("kube-system, which is Kubernetes' own"),
        "{}",
        describe(&run)
    );
    assert!(cluster.calls().is_empty());
    assert!(cluster
        .root
        .join(".grove/env-store/campus/manifest.json")
        .is_file());
}

#[test]
fn predeploy_clones_themes_and_writes_scss_overrides() {
    let cluster = Cluster::new("predeploy");
    std::fs::write(
        cluster.root.join("instances/campus/grove.yml"),
        "THEMES:\n  - name: campus-theme\n    repository: https://git.example.org/campus/theme.git\n    version: v2\nTHEME_SCSS_OVERRIDES:\n  lms/static/sass/_overrides.scss: \"$primary: #0b5;\\n\"\n",
    )
    .unwrap();
    for _ in 0..2 {
        let run = cluster.grove(&["predeploy", "campus"]);
        assert!(run.status.success(), "{}", describe(&run));
        let themes = format!("{}/env/build/openedx/themes", cluster.tutor_root("campus"));
        assert_eq!(
            cluster.calls(),
            [argv(&[
                "git",
                "clone",
                "--quiet",
                "--depth",
                "1",
                "--branch",
                "v2",
                "--",
                "https://git.example.org/campus/theme.git",
                &format!("{themes}/.campus-theme.clone"),
            ])]
        );
        let theme = Path::new(&themes).join("campus-theme");
        assert_eq!(
            std::fs::read_to_string(theme.join("README")).unwrap(),
            "theme\n"
        );
        assert_eq!(
            std::fs::read_to_string(theme.join("lms/static/sass/_overrides.scss")).unwrap(),
            "$primary: #0b5;\n"
        );
        assert!(!Path::new(&themes).join(".campus-theme.clone").exists());
    }
}

#[test]
fn predeploy_refuses_hostile_theme_settings() {
    let cluster = Cluster::new("predeploy-hostile");
    for (settings, message) in [
        ("THEMES:\n  - name: t\n    repository: \"--upload-pack=touch /tmp/x\"\n", "must not start with '-'"),
        ("THEMES:\n  - name: ../t\n    repository: https://x.org/t.git\n", "instances/campus/grove.yml:2:11: \"../t\" is not a folder name"),
        ("THEMES:\n  - name: t\n    repository: https://x.org/t.git\nTHEME_SCSS_OVERRIDES:\n  ../../x.scss: a\n", "is not a relative .scss path"),
    ] {
        std::fs::write(cluster.root.join("instances/campus/grove.yml"), settings).unwrap();
        let run = cluster.grove(&["predeploy", "campus"]);
        assert_eq!(run.status.code(), Some(5), "{}", describe(&run));
        assert!(String::from_utf8_lossy(&run.stderr).contains(message), "{}", describe(&run));
        assert!(cluster.calls().is_empty());
    }
}

/// A cloned theme whose `lms/static/sass` is a link to a folder outside: the SCSS override
/// `lms/static/sass/x.scss` is refused with exit 5, naming it, and nothing is written outside.
#[test]
fn predeploy_never_writes_through_a_link_in_a_cloned_theme() {
    let cluster = Cluster::new("predeploy-link");
    let outside = cluster.fakes.parent().unwrap().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("kept.scss"), "kept\n").unwrap();
    // A git that clones a theme holding the link.
    write_executable(
        &cluster.fakes.join("git"),
        &format!(
            "#!/bin/sh\nfor last; do :; done\nmkdir -p \"$last/lms/static\" && ln -s '{}' \"$last/lms/static/sass\"\n",
            outside.display()
        ),
    );
    std::fs::write(
        cluster.root.join("instances/campus/grove.yml"),
        "THEMES:\n  - name: campus-theme\n    repository: https://git.example.org/campus/theme.git\n    version: v2\nTHEME_SCSS_OVERRIDES:\n  lms/static/sass/x.scss: \"$primary: #0b5;\\n\"\n",
    )
    .unwrap();
    let run = cluster.grove(&["predeploy", "campus"]);
    assert_eq!(run.status.code(), Some(5), "{}", describe(&run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("lms/static/sass/x.scss: lms/static/sass is a symbolic link that leads outside the theme campus-theme"),
        "{}",
        describe(&run)
    );
    assert_eq!(
        tree(&outside).into_keys().collect::<Vec<_>>(),
        ["kept.scss"],
        "something was written outside"
    );
}

#[test]
fn terraform_plan_and_apply_run_in_the_terraform_folder() {
    let cluster = Cluster::new("terraform");
    let dir = std::path::absolute(cluster.root.join("infrastructure"))
        .unwrap()
        .display()
        .to_string();
    let plan = std::path::absolute(cluster.root.join(".grove/terraform.plan"))
        .unwrap()
        .display()
        .to_string();
    let run = cluster.grove(&["terraform", "apply"]);
    assert_eq!(
        run.status.code(),
        Some(1),
        "no saved plan yet: {}",
        describe(&run)
    );
    let run = cluster.grove(&["terraform", "plan"]);
    assert!(run.status.success(), "{}", describe(&run));
    let chdir = format!("-chdir={dir}");
    assert_eq!(
        cluster.calls(),
        [
            argv(&["terraform", &chdir, "init", "-input=false"]),
            argv(&[
                "terraform",
                &chdir,
                "plan",
                "-input=false",
                &format!("-out={plan}")
            ]),
        ]
    );
    std::fs::write(&plan, "saved").unwrap();
    let run = cluster.grove(&["terraform", "apply"]);
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(
        cluster.calls(),
        [
            argv(&["terraform", &chdir, "init", "-input=false"]),
            argv(&["terraform", &chdir, "apply", "-input=false", &plan]),
        ]
    );
}

#[test]
fn a_failing_program_is_exit_1_naming_it() {
    let cluster = Cluster::new("failing");
    let path = format!(
        "{}:{}",
        cluster.fakes.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = Command::new(env!("CARGO_BIN_EXE_grove"))
        .args(["--root", cluster.root.to_str().unwrap(), "deploy", "campus"])
        .env("PATH", path)
        .env("GROVE_FAKE_LOG", &cluster.log)
        .env("GROVE_FAKE_STATE", cluster.state())
        .env("GROVE_FAKE_EXIT", "3")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    assert!(String::from_utf8_lossy(&run.stderr)
        .contains("k8s launch --non-interactive` failed with exit code 3"));
}

#[test]
fn a_missing_program_is_a_clear_error() {
    let cluster = Cluster::new("missing-program");
    std::fs::remove_file(cluster.fakes.join("kubectl")).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_grove"))
        .args([
            "--root",
            cluster.root.to_str().unwrap(),
            "archive",
            "campus",
        ])
        .env("PATH", &cluster.fakes)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    assert!(String::from_utf8_lossy(&run.stderr)
        .contains("`kubectl` was not found: install it or put it on PATH"));
}

#[test]
fn unknown_instances_and_bad_names() {
    let cluster = Cluster::new("unknown");
    for command in ["deploy", "postdeploy", "predeploy", "archive"] {
        let run = cluster.grove(&[command, "nosuch"]);
        assert_eq!(run.status.code(), Some(3), "{command}: {}", describe(&run));
        let run = cluster.grove(&[command, "../campus"]);
        assert_eq!(run.status.code(), Some(5), "{command}: {}", describe(&run));
    }
    assert!(cluster.calls().is_empty());
}

#[test]
fn verbose_shows_commands_and_quiet_shows_nothing() {
    let cluster = Cluster::new("verbosity");
    let run = cluster.grove(&["--verbose", "deploy", "campus"]);
    assert!(run.status.success(), "{}", describe(&run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("$ ") && stderr.contains("tutor k8s launch --non-interactive"),
        "{stderr}"
    );
    let run = cluster.grove(&["--quiet", "deploy", "campus"]);
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(String::from_utf8_lossy(&run.stderr), "");
}

#[test]
fn external_subcommands_run_grove_foo_with_the_root() {
    let cluster = Cluster::new("external");
    write_executable(
        &cluster.fakes.join("grove-hello"),
        "#!/bin/sh\necho \"hello $* from $GROVE_ROOT\"\nexit 7\n",
    );
    let run = cluster.grove(&["hello", "a", "b"]);
    assert_eq!(run.status.code(), Some(7), "{}", describe(&run));
    let root = std::path::absolute(&cluster.root).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        format!("hello a b from {}\n", root.display())
    );
    let run = cluster.grove(&["nosuchplugin"]);
    assert_eq!(run.status.code(), Some(2), "{}", describe(&run));
}

#[test]
fn completions_and_man_page() {
    let cluster = Cluster::new("completions");
    for shell in ["bash", "zsh", "fish"] {
        let run = cluster.grove(&["completions", shell]);
        assert!(run.status.success(), "{}", describe(&run));
        let text = String::from_utf8_lossy(&run.stdout);
        assert!(
            text.contains("webhookpipeline") || text.contains("pipeline"),
            "{shell}"
        );
        assert!(text.contains("buildimage"), "{shell}");
    }
    let run = cluster.grove(&["man"]);
    assert!(run.status.success(), "{}", describe(&run));
    assert!(String::from_utf8_lossy(&run.stdout).starts_with(".ie \\n(.g .ds Aq \\(aq"));
}
