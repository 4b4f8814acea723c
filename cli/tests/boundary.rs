//! The repository boundary: `grove` reads and writes nothing outside the cluster repository
//! (symbolic links are followed only while they stay inside it), reads nothing but regular files
//! of at most 1 MiB, never blocks on a FIFO, and no error echoes the contents of a file.
//!
//! Each test runs in a scratch folder holding the cluster repository (`cluster/`) and, beside
//! it, `outside/` with a sentinel secret: the secret must never reach stdout or stderr, and
//! `outside/` must be left exactly as it was.

mod common;

use common::*;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// What the files outside the repository hold, and the environment of every run: it must never
/// be printed.
const SECRET: &str = "grove-sentinel-secret-4be1c07d";

/// A cluster repository and a folder outside it.
struct Sandbox {
    root: PathBuf,
    outside: PathBuf,
}

impl Sandbox {
    /// A copy of the example cluster (with a folder store) in `NAME/cluster`, and
    /// `NAME/outside/secret.yml`, a settings file that holds the secret.
    fn new(name: &str) -> Sandbox {
        let base = scratch(name);
        let root = base.join("cluster");
        copy_tree(&example_cluster(), &root);
        folder_store(&root);
        let outside = base.join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(
            outside.join("secret.yml"),
            format!(
                "LMS_HOST: campus.example.org\nPLATFORM_NAME: \"{SECRET}\"\nroot:x:0:0:{SECRET}\n"
            ),
        )
        .unwrap();
        Sandbox { root, outside }
    }

    /// `grove ARGS` in the repository with the secret in its environment, killed (and the test
    /// failed) if it runs longer than 60 seconds: nothing here may block.
    fn grove(&self, args: &[&str]) -> Output {
        let mut command = grove_command(&self.root, args);
        command.env("GROVE_TEST_SENTINEL", SECRET);
        within(command, Duration::from_secs(60))
    }

    /// Every file under `outside/`, to compare before and after.
    fn outside(&self) -> std::collections::BTreeMap<String, Vec<u8>> {
        tree(&self.outside)
    }
}

/// Runs `command` to its end, or kills it and fails the test after `limit`.
fn within(mut command: Command, limit: Duration) -> Output {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("grove runs");
    let pid = child.id();
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(child.wait_with_output());
    });
    match receive.recv_timeout(limit) {
        Ok(output) => output.expect("grove can be waited for"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("`grove` still ran after {limit:?}: it blocked");
        }
    }
}

/// Asserts exit 5, a message on stderr that holds every one of `names`, and no secret.
fn refused(run: &Output, names: &[&str]) {
    assert_eq!(run.status.code(), Some(5), "{}", describe(run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    for name in names {
        assert!(
            stderr.contains(name),
            "{name:?} is not named: {}",
            describe(run)
        );
    }
    no_secret(run);
}

/// Asserts that nothing of the sentinel files, or of /etc/passwd, was printed.
fn no_secret(run: &Output) {
    for output in [&run.stdout, &run.stderr] {
        let text = String::from_utf8_lossy(output);
        assert!(
            !text.contains(SECRET) && !text.contains("root:x:0:0"),
            "a file's contents were printed: {}",
            describe(run)
        );
    }
}

/// Replaces `path` with a symbolic link to `target`.
fn link(path: &Path, target: impl AsRef<Path>) {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_dir_all(path);
    symlink(target, path).unwrap();
}

/// Makes a FIFO at `path`.
fn fifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

const UPDATE_CAMPUS: &str = "[AutoDeploy][Update] campus";

// ---------------------------------------------------------------------------------------
// Reading

/// A settings file linked anywhere outside the repository (the process environment, the
/// password file, a secret file, /dev/zero) is refused with exit 5, naming the link, before a
/// byte of it is read; a pipeline is not written.
#[test]
fn a_settings_file_linked_outside_the_repository_is_refused_unread() {
    let sandbox = Sandbox::new("link-out");
    let before = sandbox.outside();
    let secret = sandbox.outside.join("secret.yml");
    let out = sandbox.root.join("out.yml");
    let cases: [(&str, &Path); 6] = [
        (
            "instances/campus/config.yml",
            Path::new("/proc/self/environ"),
        ),
        ("instances/campus/config.yml", Path::new("/etc/passwd")),
        ("instances/campus/config.yml", &secret),
        ("instances/campus/config.yml", Path::new("/dev/zero")),
        ("instances/campus/grove.yml", &secret),
        ("grove.yml", &secret),
    ];
    for (path, target) in cases {
        let file = sandbox.root.join(path);
        let kept = std::fs::read(&file).unwrap();
        link(&file, target);
        let run = sandbox.grove(&["plan", UPDATE_CAMPUS]);
        refused(
            &run,
            &[&format!(
                "{path} is a symbolic link that leads outside the cluster repository"
            )],
        );
        let run = sandbox.grove(&["pipeline", UPDATE_CAMPUS, out.to_str().unwrap()]);
        refused(&run, &[path]);
        assert!(!out.exists(), "{path}: a pipeline was written");
        // A relative link that climbs out is the same.
        let climbs = format!(
            "{}../outside/secret.yml",
            "../".repeat(path.matches('/').count() + 1)
        );
        link(&file, &climbs);
        refused(&sandbox.grove(&["plan", UPDATE_CAMPUS]), &[path]);
        std::fs::remove_file(&file).unwrap();
        std::fs::write(&file, kept).unwrap();
    }
    // A link that stays inside the repository is followed.
    link(
        &sandbox.root.join("instances/campus/grove.yml"),
        "../labs/grove.yml",
    );
    let run = sandbox.grove(&["plan", UPDATE_CAMPUS]);
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(sandbox.outside(), before);
}

/// A pipeline template linked outside is refused like a settings file.
#[test]
fn a_template_linked_outside_is_refused() {
    let sandbox = Sandbox::new("template-out");
    let templates = sandbox.root.join("templates/pipelines");
    std::fs::create_dir_all(&templates).unwrap();
    link(
        &templates.join("deploy.yml.hbs"),
        sandbox.outside.join("secret.yml"),
    );
    let run = sandbox.grove(&["plan", UPDATE_CAMPUS]);
    refused(
        &run,
        &["templates/pipelines/deploy.yml.hbs is a symbolic link"],
    );
}

/// An instance folder linked to a folder outside the repository is never planned or deployed,
/// by name or by a batch: every command that would read it fails with exit 5 naming it, and
/// nothing is written outside.
#[test]
fn an_instance_folder_linked_outside_is_neither_planned_nor_deployed() {
    let sandbox = Sandbox::new("instance-out");
    let evil = sandbox.outside.join("evil");
    std::fs::create_dir_all(&evil).unwrap();
    std::fs::write(
        evil.join("config.yml"),
        format!("LMS_HOST: evil.example.org\nPLATFORM_NAME: \"{SECRET}\"\nEDX_PLATFORM_REPOSITORY: https://github.com/openedx/edx-platform.git\nEDX_PLATFORM_VERSION: open-release/sumac.1\n"),
    )
    .unwrap();
    std::fs::write(evil.join("grove.yml"), "BATCH_UPGRADE_DISABLED: false\n").unwrap();
    link(&sandbox.root.join("instances/evil"), &evil);
    let before = sandbox.outside();
    let out = sandbox.root.join("out.yml");
    let message = "instances/evil is a symbolic link that leads outside the cluster repository";
    for title in [
        "[AutoDeploy][Update] evil",
        "[AutoDeploy][Create] evil",
        "[AutoDeploy][Archive] evil",
        // Every instance's config is read to refuse shared namespaces and hosts.
        UPDATE_CAMPUS,
        "[AutoDeploy][Batch][UpgradeTo] abcdef1",
        "[AutoDeploy][Batch][Upgrade] https://github.com/openedx/edx-platform.git|open-release/sumac.1",
    ] {
        refused(&sandbox.grove(&["plan", title]), &[message]);
        refused(&sandbox.grove(&["pipeline", title, out.to_str().unwrap()]), &[message]);
        assert!(!out.exists(), "{title}: a pipeline was written");
    }
    // Nor is it worked on by name: refused before any program runs, nothing written to it.
    for args in [
        &["new", "evil"][..],
        &["prepare", "evil"],
        &["venv", "update", "evil"],
        &["venv", "update", "--all"],
        &["deploy", "evil"],
        &["predeploy", "evil"],
        &["archive", "evil"],
    ] {
        refused(&sandbox.grove(args), &["instances/evil"]);
    }
    assert_eq!(sandbox.outside(), before);
}

/// A FIFO, a socket, a folder, a 4 GiB sparse file and a 2 MiB file in the place of a settings
/// file are refused with exit 5, naming the file; none blocks, none is read whole (the 4 GiB
/// file's size comes from its metadata) and none is echoed.
#[test]
fn only_regular_files_of_at_most_1_mib_are_read() {
    let sandbox = Sandbox::new("file-kinds");
    let config = sandbox.root.join("instances/campus/config.yml");
    let path = "instances/campus/config.yml";

    fifo(&config);
    refused(
        &sandbox.grove(&["plan", UPDATE_CAMPUS]),
        &[&format!("{path} is a FIFO, not a regular file")],
    );
    // A batch reads every instance with several threads: the same.
    refused(
        &sandbox.grove(&["plan", "[AutoDeploy][Batch][UpgradeTo] abcdef1"]),
        &[&format!("{path} is a FIFO")],
    );

    std::fs::remove_file(&config).unwrap();
    let socket = std::os::unix::net::UnixListener::bind(&config).unwrap();
    refused(
        &sandbox.grove(&["plan", UPDATE_CAMPUS]),
        &[&format!("{path} is a socket, not a regular file")],
    );
    drop(socket);
    std::fs::remove_file(&config).unwrap();

    std::fs::create_dir(&config).unwrap();
    refused(
        &sandbox.grove(&["plan", UPDATE_CAMPUS]),
        &[&format!("{path} is a folder, not a regular file")],
    );
    std::fs::remove_dir(&config).unwrap();

    // Sparse: 4 GiB long, a few bytes on disk. The size in the message is the metadata's.
    let file = std::fs::File::create(&config).unwrap();
    std::io::Write::write_all(&mut &file, format!("PLATFORM_NAME: {SECRET}\n").as_bytes()).unwrap();
    file.set_len(4 << 30).unwrap();
    drop(file);
    refused(
        &sandbox.grove(&["plan", UPDATE_CAMPUS]),
        &[&format!(
            "{path} is 4294967296 bytes; Grove reads files of at most 1048576 bytes"
        )],
    );

    // One line of 2 MiB.
    std::fs::write(
        &config,
        format!("PLATFORM_NAME: {SECRET}{}\n", "x".repeat(2 << 20)),
    )
    .unwrap();
    let run = sandbox.grove(&["plan", UPDATE_CAMPUS]);
    refused(&run, &[&format!("{path} is 2097198 bytes")]);
    assert!(run.stderr.len() < 2048, "{}", describe(&run));
}

/// An error in a file with a very long line shows where it is and a short excerpt of the line
/// around it, never the line.
#[test]
fn an_error_on_a_long_line_shows_a_short_excerpt() {
    let sandbox = Sandbox::new("long-line");
    let config = sandbox.root.join("instances/campus/config.yml");
    std::fs::write(
        &config,
        format!(
            "LMS_HOST: campus.example.org\nPLATFORM_NAME: {{a: \"{SECRET}{}\", b: [1, 2}}\n",
            "x".repeat(800_000)
        ),
    )
    .unwrap();
    let run = sandbox.grove(&["plan", UPDATE_CAMPUS]);
    refused(&run, &["instances/campus/config.yml:2:"]);
    assert!(
        run.stderr.len() < 2048,
        "{} bytes: {}",
        run.stderr.len(),
        describe(&run)
    );
}

// ---------------------------------------------------------------------------------------
// Writing: grove new

/// With `instances/` a link to a folder outside, `grove new` writes nothing there.
#[test]
fn grove_new_writes_nothing_through_a_linked_instances_folder() {
    let sandbox = Sandbox::new("instances-out");
    let elsewhere = sandbox.outside.join("instances");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::remove_dir_all(sandbox.root.join("instances")).unwrap();
    link(&sandbox.root.join("instances"), &elsewhere);
    let before = sandbox.outside();
    let run = sandbox.grove(&["new", "fresh"]);
    refused(
        &run,
        &["instances is a symbolic link that leads outside the cluster repository"],
    );
    let run = sandbox.grove(&["prepare", "fresh"]);
    refused(&run, &["instances is a symbolic link"]);
    assert_eq!(sandbox.outside(), before);
}

/// In `defaults/`, a link to a file inside the repository is copied as that file; a link that
/// leads outside, a link to a folder and a FIFO are refused with exit 5, naming them, and no
/// instance is created.
#[test]
fn grove_new_copies_inside_links_of_defaults_and_refuses_the_rest() {
    let sandbox = Sandbox::new("defaults-links");
    let defaults = sandbox.root.join("defaults");
    let shared = sandbox.root.join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::rename(defaults.join("config.yml"), shared.join("config.yml")).unwrap();
    link(&defaults.join("config.yml"), "../shared/config.yml");
    let run = sandbox.grove(&["new", "fresh"]);
    assert!(run.status.success(), "{}", describe(&run));
    let copy = sandbox.root.join("instances/fresh/config.yml");
    assert!(
        std::fs::symlink_metadata(&copy).unwrap().is_file(),
        "a copy, not a link"
    );
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        std::fs::read(shared.join("config.yml")).unwrap()
    );
    // The new instance is whole: the next Update plans it.
    let run = sandbox.grove(&["plan", "[AutoDeploy][Update] fresh"]);
    assert!(run.status.success(), "{}", describe(&run));

    let before = sandbox.outside();
    let secret = sandbox.outside.join("secret.yml");
    // Each case: the entry of defaults/, made by the function, and the message.
    type Make<'a> = &'a dyn Fn(&Path);
    let refusals: [(&str, Make, &str); 4] = [
        (
            "extra.yml",
            &|p| link(p, &secret),
            "defaults/extra.yml is a symbolic link that leads outside the cluster repository",
        ),
        (
            "climbs.yml",
            &|p| link(p, "../../outside/secret.yml"),
            "defaults/climbs.yml is a symbolic link that leads outside",
        ),
        (
            "folder",
            &|p| link(p, "../shared"),
            "defaults/folder is a symbolic link to a folder",
        ),
        (
            "pipe",
            &|p| fifo(p),
            "defaults/pipe is a FIFO, not a regular file",
        ),
    ];
    for (name, make, message) in refusals {
        let path = defaults.join(name);
        make(&path);
        let run = sandbox.grove(&["new", "other"]);
        refused(&run, &[message]);
        assert!(
            !sandbox.root.join("instances/other").exists(),
            "{name}: created"
        );
        let left: Vec<String> = std::fs::read_dir(sandbox.root.join("instances"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(left.is_empty(), "{name}: {left:?} left");
        std::fs::remove_file(&path).unwrap();
    }
    assert_eq!(sandbox.outside(), before);
}

// ---------------------------------------------------------------------------------------
// Writing: Grove's own folder

/// `.grove/` (Tutor roots, the default store, base images' venv, Terraform's plan) holds
/// secrets: when it, or a folder in it, is a link (force-committed), even one that stays inside
/// the repository, every command that would write there fails with exit 5 naming it, before any
/// program runs, and nothing is written where it leads.
#[test]
fn grove_s_own_folder_is_never_a_link() {
    let sandbox = Sandbox::new("private-link");
    // The default store, in .grove/.
    let path = sandbox.root.join("grove.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("ENV_STORE:"))
        .collect();
    std::fs::write(&path, text.join("\n") + "\n").unwrap();
    let elsewhere = sandbox.outside.join("grove");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let _ = std::fs::remove_dir_all(sandbox.root.join(".grove"));
    link(&sandbox.root.join(".grove"), &elsewhere);
    let before = sandbox.outside();
    for args in [
        &["prepare", "campus"][..],
        &["deploy", "campus"],
        &["terraform", "plan"],
        &[
            "buildimage",
            "--base",
            "openedx",
            "--repository",
            "https://github.com/openedx/edx-platform.git",
            "--version",
            "open-release/sumac.1",
        ],
    ] {
        refused(
            &sandbox.grove(args),
            &[".grove is a symbolic link: .grove/ is Grove's own folder"],
        );
    }
    assert_eq!(sandbox.outside(), before);
    // A link that stays inside is refused all the same: a Tutor root in git's folder would
    // put the instance's secrets one `git add` away.
    std::fs::remove_file(sandbox.root.join(".grove")).unwrap();
    std::fs::create_dir_all(sandbox.root.join(".grove")).unwrap();
    link(&sandbox.root.join(".grove/tutor"), "../instances/campus");
    refused(
        &sandbox.grove(&["prepare", "campus"]),
        &[".grove/tutor is a symbolic link"],
    );
    let campus = tree(&sandbox.root.join("instances/campus"));
    assert_eq!(
        campus.keys().collect::<Vec<_>>(),
        tree(&example_cluster().join("instances/campus"))
            .keys()
            .collect::<Vec<_>>()
    );
    // In the store's folder too: nothing is read or written through a link (exit 1, a store
    // that is not as Grove left it).
    std::fs::remove_file(sandbox.root.join(".grove/tutor")).unwrap();
    let store = sandbox.outside.join("store");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::create_dir_all(sandbox.root.join(".grove/env-store")).unwrap();
    link(&sandbox.root.join(".grove/env-store/campus"), &store);
    let before = sandbox.outside();
    let run = sandbox.grove(&["prepare", "campus"]);
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains(
            "env-store/campus is a symbolic link: a store holds only the files Grove wrote"
        ),
        "{}",
        describe(&run)
    );
    assert_eq!(sandbox.outside(), before);
}
