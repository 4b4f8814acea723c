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
