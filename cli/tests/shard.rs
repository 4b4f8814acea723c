//! Fleet scale within GitLab's limits: batch upgrades of 600 and 5,000 instances are sharded,
//! and every file `grove pipeline` writes passes GitLab's schema (check-jsonschema), the
//! structural checks and the limits; gitlab-ci-local lists the 600-instance pipeline, the
//! generated file and each shard, with the expected jobs and needs.

mod common;

#[path = "../../core/examples/fleet_gen.rs"]
mod fleet_gen;

use common::*;
use grove_core::settings::Limits;
use grove_core::Pipeline;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const UPGRADE_TO: &str = "[AutoDeploy][Batch][UpgradeTo] 4f2c9e1d";

/// Writes a synthetic cluster repository of `n` instances (core/examples/fleet_gen.rs).
fn write_fleet(n: usize) -> PathBuf {
    let root = scratch(&format!("fleet-{n}"));
    for (path, text) in fleet_gen::fleet(n) {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    root
}

/// Runs `grove pipeline TITLE out/generated.yml`; returns the generated file and the shards.
fn pipeline(root: &Path, title: &str) -> (PathBuf, Vec<PathBuf>) {
    let out = root.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let file = out.join("generated.yml");
    // As in CI: a path relative to the current folder, which artifact paths start from.
    let run = Command::new(env!("CARGO_BIN_EXE_grove"))
        .args(["--root", ".", "pipeline", title, "out/generated.yml"])
        .current_dir(root)
        .env_remove("GROVE_ROOT")
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", describe(&run));
    let dir = out.join("generated-shards");
    let mut shards: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    };
    shards.sort_by_key(|p| {
        let name = p.file_name().unwrap().to_str().unwrap();
        name.trim_start_matches("shard-")
            .trim_end_matches(".yml")
            .parse::<usize>()
            .unwrap()
    });
    (file, shards)
}

/// Structural checks and limits on every file; returns each file's jobs and needs.
fn check_every_file(file: &Path, shards: &[PathBuf]) -> Vec<BTreeMap<String, Vec<String>>> {
    std::iter::once(file)
        .chain(shards.iter().map(PathBuf::as_path))
        .map(|path| {
            let yaml = std::fs::read_to_string(path).unwrap();
            let pipeline = Pipeline::parse(&yaml).unwrap();
            pipeline.check().unwrap();
            pipeline
                .check_limits(&Limits::default(), &path.display().to_string(), &yaml)
                .unwrap();
            pipeline
                .jobs
                .into_iter()
                .map(|job| (job.name, job.needs))
                .collect()
        })
        .collect()
}

/// check-jsonschema with GitLab's schema on every file, in as many processes as there are CPUs.
fn check_schema(files: Vec<PathBuf>) {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = files.len().div_ceil(workers);
    std::thread::scope(|scope| {
        for part in files.chunks(chunk.max(1)) {
            scope.spawn(move || {
                let run = Command::new(tool("check-jsonschema"))
                    .args(["--builtin-schema", "vendor.gitlab-ci"])
                    .args(part)
                    .output()
                    .unwrap();
                assert!(run.status.success(), "{}", describe(&run));
            });
        }
    });
}

/// Jobs and their needs (within the file) as gitlab-ci-local lists them.
fn listed_by_gitlab_ci_local(name: &str, path: &Path) -> BTreeMap<String, Vec<String>> {
    let dir = scratch(&format!("gcl-{name}"));
    let yaml = std::fs::read_to_string(path).unwrap();
    std::fs::write(dir.join(".gitlab-ci.yml"), for_gitlab_ci_local(&yaml)).unwrap();
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    // gitlab-ci-local exits before a pipe takes all of a long listing: write it to a file.
    let listing = dir.join("listing.json");
    let run = Command::new(tool("gitlab-ci-local"))
        .args(["--list-json", "--home"])
        .arg(&home)
        .current_dir(&dir)
        .stdout(std::fs::File::create(&listing).unwrap())
        .output()
        .unwrap();
    assert!(run.status.success(), "{name}: {}", describe(&run));
    let jobs: Vec<serde_json::Value> = serde_json::from_slice(&std::fs::read(&listing).unwrap())
        .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {}", describe(&run)));
    jobs.iter()
        .map(|job| {
            let needs = job["needs"]
                .as_array()
                .map(|n| {
                    n.iter()
                        .map(|n| n["job"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default();
            (job["name"].as_str().unwrap().to_string(), needs)
        })
        .collect()
}

/// Asserts that a shard's jobs are whole chains (each instance's build and release) and the
/// venv jobs they need; returns how many instances it deploys.
fn assert_whole_chains(shard: &BTreeMap<String, Vec<String>>) -> usize {
    let mut instances = 0;
    for (job, needs) in shard {
        if let Some(name) = job.strip_prefix("release:") {
            assert_eq!(needs, &[format!("build:{name}")], "{job}");
            instances += 1;
        } else if job.starts_with("build:") {
            assert!(
                needs.iter().all(|n| n.starts_with("venv:")),
                "{job}: {needs:?}"
            );
        } else {
            assert!(job.starts_with("venv:"), "{job}");
        }
    }
    assert!(instances > 0 && shard.len() > 2 * instances);
    instances
}

#[test]
fn a_batch_upgrade_of_600_instances_is_sharded_and_gitlab_reads_every_file() {
    let root = write_fleet(600);
    let started = Instant::now();
    let (file, shards) = pipeline(&root, UPGRADE_TO);
    eprintln!("600 instances: grove pipeline {:?}", started.elapsed());
    assert!(shards.len() >= 2, "{shards:?}");
    let files = check_every_file(&file, &shards);

    // The generated pipeline: base images, the publish job, one trigger per shard.
    let head = &files[0];
    assert_eq!(head["grove-shards"], Vec::<String>::new());
    for n in 1..=shards.len() {
        let needs = &head[&format!("grove-shard:{n}")];
        assert_eq!(needs[0], "grove-shards");
        assert!(
            needs[1..].iter().all(|n| n.starts_with("base-image:")),
            "{needs:?}"
        );
    }
    let yaml = std::fs::read_to_string(&file).unwrap();
    assert!(
        yaml.contains("      - artifact: \"out/generated-shards/shard-1.yml\"\n"),
        "{yaml}"
    );
    // Each shard: whole chains and the venvs they use, so every need is in the file.
    let mut instances = 0;
    for shard in &files[1..] {
        instances += assert_whole_chains(shard);
    }
    let plan = grove(&root, &["plan", UPGRADE_TO, "--format", "json"]);
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(plan["instances"].as_array().unwrap().len(), instances);
    assert_eq!(plan["shards"].as_array().unwrap().len(), shards.len());

    let started = Instant::now();
    let mut all = vec![file.clone()];
    all.extend(shards.iter().cloned());
    check_schema(all);
    eprintln!("600 instances: check-jsonschema {:?}", started.elapsed());

    let started = Instant::now();
    std::thread::scope(|scope| {
        let paths: Vec<&Path> = std::iter::once(file.as_path())
            .chain(shards.iter().map(PathBuf::as_path))
            .collect();
        for (i, (path, expected)) in paths.into_iter().zip(&files).enumerate() {
            scope.spawn(move || {
                let listed = listed_by_gitlab_ci_local(&format!("shard-{i}"), path);
                assert_eq!(&listed, expected, "{}", path.display());
            });
        }
    });
    eprintln!("600 instances: gitlab-ci-local {:?}", started.elapsed());
}

#[test]
fn a_batch_upgrade_of_5000_instances_is_sharded_within_the_limits() {
    let root = write_fleet(5000);
    let started = Instant::now();
    let (file, shards) = pipeline(&root, UPGRADE_TO);
    eprintln!("5000 instances: grove pipeline {:?}", started.elapsed());
    assert!(shards.len() >= 15, "{}", shards.len());
    let files = check_every_file(&file, &shards);
    let instances: usize = files[1..].iter().map(assert_whole_chains).sum();
    let plan = grove(&root, &["plan", UPGRADE_TO, "--format", "json"]);
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(plan["instances"].as_array().unwrap().len(), instances);
    let started = Instant::now();
    let mut all = vec![file];
    all.extend(shards);
    check_schema(all);
    eprintln!("5000 instances: check-jsonschema {:?}", started.elapsed());
}

#[test]
fn the_files_are_written_as_a_set_and_stale_shards_are_removed() {
    let root = write_fleet(300);
    let (file, shards) = pipeline(&root, UPGRADE_TO);
    assert_eq!(shards.len(), 2);
    // A run that needs no shard removes the previous run's shard folder.
    let (_, after) = pipeline(&root, "[AutoDeploy][Update] inst-00001");
    assert!(after.is_empty());
    assert!(!file.with_file_name("generated-shards").exists());
    // A shard folder holding something else is not Grove's to replace (exit 1), and nothing
    // is written.
    let dir = file.with_file_name("generated-shards");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let before = std::fs::read_to_string(&file).unwrap();
    let run = grove(&root, &["pipeline", UPGRADE_TO, file.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
    // FILE, its shard folder, and the lock the runs take on them: no temporary.
    let mut left: Vec<_> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [".generated.yml.lock", "generated-shards", "generated.yml"],
        "temporaries left"
    );
    // LIMITS beyond what GitLab allows: exit 5.
    std::fs::write(
        root.join("grove.yml"),
        "LIMITS:\n  jobs_per_pipeline: 2500\n",
    )
    .unwrap();
    let run = grove(&root, &["plan", UPGRADE_TO]);
    assert_eq!(run.status.code(), Some(5), "{}", describe(&run));
}

/// Two `grove pipeline` runs writing the same FILE at once, with different shard sets (nine
/// shards, three, none), many times over: both succeed, and FILE with its shard folder is
/// always the whole set of one of them, never one's FILE with the other's shards (or none).
#[test]
fn concurrent_runs_on_one_file_leave_the_whole_set_of_one() {
    let root = write_fleet(150);
    std::fs::write(
        root.join("grove.yml"),
        "ENV_STORE: s3://grove-state/fleet\nLIMITS:\n  jobs_per_pipeline: 34\n",
    )
    .unwrap();
    let names: Vec<String> = (0..40).map(|i| format!("inst-{i:05}")).collect();
    let few = format!("[AutoDeploy][Update] {}", names.join(","));
    let titles = [UPGRADE_TO, few.as_str(), "[AutoDeploy][Update] inst-00001"];
    let out = root.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let run = |title: &str| {
        Command::new(env!("CARGO_BIN_EXE_grove"))
            .args([
                "--root",
                ".",
                "--quiet",
                "pipeline",
                title,
                "out/generated.yml",
            ])
            .current_dir(&root)
            .env_remove("GROVE_ROOT")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    // What each run leaves alone: the reference sets.
    let sets: Vec<BTreeMap<String, Vec<u8>>> = titles
        .iter()
        .map(|title| {
            assert!(run(title).wait().unwrap().success());
            tree(&out)
        })
        .collect();
    let shards = |set: &BTreeMap<String, Vec<u8>>| {
        set.keys()
            .filter(|k| k.starts_with("generated-shards/"))
            .count()
    };
    assert_eq!(sets.iter().map(shards).collect::<Vec<_>>(), [9, 3, 0]);
    for round in 0..300 {
        let (first, second) = (titles[round % 3], titles[(round + 1 + round / 3) % 3]);
        let (a, b) = (run(first), run(second));
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        assert!(
            a.status.success() && b.status.success(),
            "round {round}:\n{}\n{}",
            describe(&a),
            describe(&b)
        );
        let set = tree(&out);
        assert!(
            sets.contains(&set),
            "round {round} ({first} and {second}): the files are not one run's set: {:?}",
            set.keys().collect::<Vec<_>>()
        );
    }
}

/// What a batch costs on GitLab: on a generated fleet whose instances use two requirements
/// sets, one venv job per set (not per instance), and at most three jobs that name an instance
/// (by job name or by its INSTANCE_NAME): its build, its release, and the venv job it may lend
/// its name to. The file passes GitLab's schema, and gitlab-ci-local reads the same jobs.
#[test]
fn a_batch_has_one_venv_job_per_requirements_set_and_three_jobs_per_instance_at_most() {
    let root = write_fleet(60);
    let (file, shards) = pipeline(&root, UPGRADE_TO);
    assert!(shards.is_empty(), "{shards:?}");
    let yaml = std::fs::read_to_string(&file).unwrap();
    let pipeline = Pipeline::parse(&yaml).unwrap();
    let venvs: Vec<&str> = pipeline
        .job_names()
        .filter(|n| n.starts_with("venv:"))
        .collect();
    assert_eq!(venvs, ["venv:1", "venv:2"]);
    let mut per_instance: BTreeMap<String, usize> = BTreeMap::new();
    for job in &pipeline.jobs {
        let mut named: Vec<String> = job
            .variables
            .iter()
            .filter(|v| v.name == "INSTANCE_NAME")
            .map(|v| v.value.clone())
            .collect();
        if let Some((_, instance)) = job.name.split_once(':') {
            if instance.starts_with("inst-") {
                named.push(instance.to_string());
            }
        }
        named.sort();
        named.dedup();
        for instance in named {
            *per_instance.entry(instance).or_default() += 1;
        }
    }
    let plan = grove(&root, &["plan", UPGRADE_TO, "--format", "json"]);
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let instances = plan["instances"].as_array().unwrap();
    assert_eq!(per_instance.len(), instances.len());
    assert!(instances.len() > 40, "{}", instances.len());
    let most = per_instance.values().max().copied().unwrap_or_default();
    assert!(most <= 3, "{per_instance:?}");
    // Each release comes after its build, and each build after its venv (whose cache it reads).
    let files = check_every_file(&file, &[]);
    for (job, needs) in &files[0] {
        if let Some(name) = job.strip_prefix("release:") {
            assert_eq!(needs, &[format!("build:{name}")]);
        }
        if job.starts_with("build:") {
            assert_eq!(
                needs.iter().filter(|n| n.starts_with("venv:")).count(),
                1,
                "{job}: {needs:?}"
            );
        }
    }
    check_schema(vec![file.clone()]);
    assert_eq!(listed_by_gitlab_ci_local("venvs", &file), files[0]);
}
