//! What the CLI's integration tests share: paths of the project, and running `grove`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod gitlab;

/// The project's root folder.
pub fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The example cluster repository.
pub fn example_cluster() -> PathBuf {
    project().join("examples/cluster")
}

/// The golden cases: `(name, title)` for every `tests/titles/NAME.title`, sorted.
pub fn golden_titles() -> Vec<(String, String)> {
    let dir = project().join("tests/titles");
    let mut cases: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            let name = path
                .file_name()?
                .to_str()?
                .strip_suffix(".title")?
                .to_string();
            let title = std::fs::read_to_string(&path).unwrap();
            Some((name, title.trim_end_matches('\n').to_string()))
        })
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 10,
        "golden cases are missing from {}",
        dir.display()
    );
    cases
}

/// Runs `grove` with `args` on the repository at `root`, with no GROVE_ROOT, GROVE_PIPELINE_IMAGE
/// or colour from outside.
pub fn grove(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_grove"))
        .arg("--root")
        .arg(root)
        .args(args)
        .env_remove("GROVE_ROOT")
        .env_remove("GROVE_PIPELINE_IMAGE")
        .env("NO_COLOR", "1")
        .output()
        .expect("grove runs")
}

/// The exit code, stdout and stderr of a run, for assertion messages.
pub fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A fresh scratch folder, unique to one call.
pub fn scratch(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("grove-test-{}-{n}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Copies a folder tree.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// Compares `actual` with the expected file at `path`, or rewrites it when `GROVE_BLESS=1`.
///
/// Every change to an expected file is reviewed like code.
pub fn check_golden(path: &Path, actual: &str) {
    if std::env::var_os("GROVE_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|_| {
        panic!(
            "{} is missing; run with GROVE_BLESS=1 to create it, then review it",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the generated output, first at line {}:\n  expected: {:?}\n  actual:   {:?}\n(run with GROVE_BLESS=1 to accept, then review the diff)",
            path.display(),
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first)
        );
    }
}

/// The folder of the test tools that `scripts/setup-tools` installs.
///
/// The tests need them and fail, never skip, when they are missing.
pub fn tool(name: &str) -> PathBuf {
    let bin = std::env::var_os("GROVE_TOOLS_BIN")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/grove/tools/bin")))
        .expect("HOME or GROVE_TOOLS_BIN is set");
    let path = bin.join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup-tools first (it installs the tools the tests use)",
        path.display()
    );
    path
}

/// The same pipeline in the form gitlab-ci-local 4.60.0 reads.
///
/// gitlab-ci-local 4.60.0 refuses job-level `variables: X: {value: ..., expand: false}` ("invalid
/// variables hash"), which GitLab itself accepts. This writes each such variable as the plain
/// value with every `$` doubled, which GitLab and gitlab-ci-local both read as the same literal,
/// unexpanded text. Jobs, stages and needs are left exactly as generated.
pub fn for_gitlab_ci_local(yaml: &str) -> String {
    let mut out = String::with_capacity(yaml.len());
    for line in yaml.lines() {
        let trimmed = line.trim_start();
        let rewritten = trimmed
            .split_once(": {value: ")
            .and_then(|(key, rest)| Some((key, rest.strip_suffix(", expand: false}")?)))
            .map(|(key, value)| {
                let indent = &line[..line.len() - trimmed.len()];
                format!("{indent}{key}: {}", value.replace('$', "$$"))
            });
        out.push_str(rewritten.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// Every file under a folder, relative path → bytes; empty if the folder is not there.
pub fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, prefix: &str, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
            if entry.file_type().unwrap().is_dir() {
                walk(&entry.path(), &format!("{name}/"), out);
            } else {
                out.insert(name, std::fs::read(entry.path()).unwrap());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    if dir.exists() {
        walk(dir, "", &mut out);
    }
    out
}

/// Gives instance folder `dir` a venv that grove takes as current for `requirements` (the hash
/// marker `venv::ensure` checks), whose `tutor` is the script `tutor`.
pub fn fake_venv(dir: &Path, requirements: &str, tutor: &str) {
    use std::os::unix::fs::PermissionsExt;
    let venv = dir.join(".venv");
    std::fs::create_dir_all(venv.join("bin")).unwrap();
    std::fs::write(venv.join("pyvenv.cfg"), "home = /usr/bin\n").unwrap();
    std::fs::write(
        venv.join(".grove-requirements-hash"),
        grove_core::fleet::short_hash(requirements),
    )
    .unwrap();
    let program = venv.join("bin/tutor");
    std::fs::write(&program, tutor).unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
}
