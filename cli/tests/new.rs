//! `grove new`: a copy of `defaults/`, whole or not at all, refusing what exists and bad names.

mod common;

use common::*;

fn cluster(name: &str) -> std::path::PathBuf {
    let root = scratch(name);
    copy_tree(&example_cluster(), &root);
    root
}

#[test]
fn new_copies_defaults() {
    let root = cluster("new");
    let run = grove(&root, &["new", "fresh"]);
    assert!(run.status.success(), "{}", describe(&run));
    for file in ["config.yml", "grove.yml", "grove-requirements.txt"] {
        assert_eq!(
            std::fs::read(root.join("instances/fresh").join(file)).unwrap(),
            std::fs::read(root.join("defaults").join(file)).unwrap(),
            "{file}"
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(root.join("instances"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // The new instance is usable at once.
    let run = grove(&root, &["plan", "[AutoDeploy][Update] fresh"]);
    assert!(run.status.success(), "{}", describe(&run));
}

#[test]
fn new_refuses_an_existing_instance_with_exit_4_and_changes_nothing() {
    let root = cluster("new-exists");
    let before = std::fs::read(root.join("instances/campus/config.yml")).unwrap();
    let run = grove(&root, &["new", "campus"]);
    assert_eq!(run.status.code(), Some(4), "{}", describe(&run));
    assert!(String::from_utf8_lossy(&run.stderr).contains("instance \"campus\" already exists"));
    assert_eq!(
        std::fs::read(root.join("instances/campus/config.yml")).unwrap(),
        before
    );
}

#[test]
fn new_refuses_bad_names_with_exit_5() {
    let root = cluster("new-bad");
    let long = "a".repeat(50);
    for name in [
        "..",
        "a/b",
        "../x",
        "a b",
        "Campus",
        "a\nb",
        "a\"b",
        "a$b",
        "a;b",
        "-a",
        long.as_str(),
        "",
    ] {
        let run = grove(&root, &["new", "--", name]);
        assert_eq!(run.status.code(), Some(5), "{name:?}: {}", describe(&run));
        assert!(
            String::from_utf8_lossy(&run.stderr).contains("invalid instance name"),
            "{name:?}"
        );
    }
    let entries: Vec<_> = std::fs::read_dir(root.join("instances")).unwrap().collect();
    let example: Vec<_> = std::fs::read_dir(example_cluster().join("instances"))
        .unwrap()
        .collect();
    assert_eq!(entries.len(), example.len(), "nothing was created");
    assert!(!root.join("x").exists());
}

#[test]
fn new_recovers_from_an_interrupted_run() {
    let root = cluster("new-leftover");
    // What a `grove new` killed half-way through leaves: a hidden staging folder.
    let staging = root.join("instances/.fresh.new-999999");
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::write(staging.join("config.yml"), "half: written").unwrap();
    let run = grove(&root, &["plan", "[AutoDeploy][Update] fresh"]);
    assert_eq!(
        run.status.code(),
        Some(3),
        "a staging folder is not an instance: {}",
        describe(&run)
    );
    let run = grove(&root, &["new", "fresh"]);
    assert!(run.status.success(), "{}", describe(&run));
    assert!(!staging.exists());
    assert_eq!(
        std::fs::read(root.join("instances/fresh/config.yml")).unwrap(),
        std::fs::read(root.join("defaults/config.yml")).unwrap()
    );
}

#[test]
fn new_without_defaults_is_a_clear_error() {
    let root = cluster("new-nodefaults");
    std::fs::remove_dir_all(root.join("defaults")).unwrap();
    let run = grove(&root, &["new", "fresh"]);
    assert_eq!(run.status.code(), Some(5), "{}", describe(&run));
    assert!(String::from_utf8_lossy(&run.stderr).contains("defaults/config.yml is missing"));
    assert!(!root.join("instances/fresh").exists());
}

#[test]
fn the_root_comes_from_grove_root_when_not_given() {
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_grove"))
        .args(["plan", "[AutoDeploy][Update] campus"])
        .env("GROVE_ROOT", example_cluster())
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", describe(&run));
    assert!(String::from_utf8_lossy(&run.stdout).starts_with("Update: deploy 1 instance"));
}

/// Two `grove new x` at once, 40 times over, with a `defaults/` of 300 files: every round ends
/// with one whole instance, one run that created it (exit 0) and one that says it exists
/// (exit 4), and no staging folder left. Neither run removes the other's staging folder: only
/// one whose owner is gone (its lock released by the kernel) is removed.
#[test]
fn two_concurrent_new_end_with_one_whole_instance_one_exit_0_and_one_exit_4() {
    let shm = std::path::Path::new("/dev/shm");
    let base = if shm.is_dir() {
        let dir = shm.join(format!("grove-new-race-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        dir
    } else {
        scratch("new-race")
    };
    let root = base.join("cluster");
    copy_tree(&example_cluster(), &root);
    for i in 0..300 {
        let dir = root.join(format!("defaults/files/part-{}", i % 12));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(format!("file-{i}.txt")),
            format!("file {i}\n").repeat(40),
        )
        .unwrap();
    }
    let defaults = tree(&root.join("defaults"));
    let instance = root.join("instances/x");
    let start = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_grove"))
            .arg("--root")
            .arg(&root)
            .args(["new", "x"])
            .env_remove("GROVE_ROOT")
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    for round in 1..=40 {
        let (a, b) = (start(), start());
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let mut codes = [a.status.code(), b.status.code()];
        codes.sort();
        assert_eq!(
            codes,
            [Some(0), Some(4)],
            "round {round}:\n{}\n{}",
            describe(&a),
            describe(&b)
        );
        let loser = if a.status.code() == Some(4) { &a } else { &b };
        assert!(
            String::from_utf8_lossy(&loser.stderr).contains("instance \"x\" already exists"),
            "round {round}: {}",
            describe(loser)
        );
        let copy = tree(&instance);
        assert!(
            copy == defaults,
            "round {round}: instances/x is not a whole copy of defaults/ ({} of {} files)",
            copy.len(),
            defaults.len()
        );
        let left: Vec<String> = std::fs::read_dir(root.join("instances"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".x."))
            .collect();
        assert!(left.is_empty(), "round {round}: {left:?} left");
        std::fs::remove_dir_all(&instance).unwrap();
    }
    let _ = std::fs::remove_dir_all(&base);
}
