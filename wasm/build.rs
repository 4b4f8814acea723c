//! Embeds the example cluster and the golden cases of `tests/titles/` and `tests/webhooks/`
//! for the browser tests.
//!
//! Writes `$OUT_DIR/golden.rs` with `CLUSTER` (every file of `examples/cluster/`, path → text),
//! `WEBHOOK_CLUSTER` (the files `tests/webhooks/cluster/` lays over it), `CASES` (each
//! `NAME.title` with its expected `.yml`, `.plan.json` and `.plan.txt`, read from the insta
//! snapshots `NAME.yml.snap`, ... after their header) and `WEBHOOK_CASES` (each payload
//! `NAME.json` with the same three), so that the tests in the browser need no file system and
//! fail if a case changes.

#[path = "../cli/tests/common/snapshot.rs"]
mod snapshot;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let project = manifest.parent().expect("the workspace root").to_path_buf();
    let cluster = project.join("examples/cluster");
    let titles = project.join("tests/titles");
    println!("cargo:rerun-if-changed={}", cluster.display());
    println!("cargo:rerun-if-changed={}", titles.display());

    let webhooks = project.join("tests/webhooks");
    println!("cargo:rerun-if-changed={}", webhooks.display());

    let mut out = String::new();
    files_const(
        &mut out,
        "CLUSTER",
        "Every file of `examples/cluster/`: path relative to it, and text.",
        &cluster,
    );
    files_const(
        &mut out,
        "WEBHOOK_CLUSTER",
        "The files `tests/webhooks/cluster/` lays over the example cluster for the webhook cases.",
        &webhooks.join("cluster"),
    );
    cases_const(
        &mut out,
        "CASES",
        "The title cases: name, title file, and the expected outputs of the CLI.",
        &titles,
        ".title",
    );
    cases_const(
        &mut out,
        "WEBHOOK_CASES",
        "The webhook cases: name, payload file, and the expected outputs of the CLI.",
        &webhooks,
        ".json",
    );

    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    fs::write(out_dir.join("golden.rs"), out).expect("write golden.rs");
}

/// Writes `const NAME: &[(&str, &str)]`: every file under `dir`, path relative to it → text.
fn files_const(out: &mut String, name: &str, doc: &str, dir: &Path) {
    writeln!(out, "/// {doc}\nconst {name}: &[(&str, &str)] = &[").expect("write");
    let mut files = Vec::new();
    walk(dir, dir, &mut files);
    files.sort();
    for (relative, full) in &files {
        writeln!(out, "    ({relative:?}, include_str!({full:?})),").expect("write");
    }
    out.push_str("];\n\n");
}

/// Writes `const NAME: &[Case]`: every `CASE{input_suffix}` of `dir` with its `.yml`,
/// `.plan.json` and `.plan.txt` (the text of `CASE.yml.snap`, ...).
fn cases_const(out: &mut String, name: &str, doc: &str, dir: &Path, input_suffix: &str) {
    writeln!(out, "/// {doc}\nconst {name}: &[Case] = &[").expect("write");
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let file = e.file_name().to_string_lossy().into_owned();
                    file.strip_suffix(input_suffix).map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    for case in &names {
        let input = dir.join(format!("{case}{input_suffix}"));
        let golden = |suffix: &str| {
            let path = dir.join(format!("{case}{suffix}.snap"));
            println!("cargo:rerun-if-changed={}", path.display());
            let text = fs::read_to_string(&path).expect("a golden case's output");
            snapshot::text(&text)
                .unwrap_or_else(|| panic!("{} is not an insta snapshot", path.display()))
                .to_string()
        };
        writeln!(
            out,
            "    Case {{ name: {case:?}, input: include_str!({:?}), yaml: {:?}, \
             plan_json: {:?}, plan_text: {:?} }},",
            input.display().to_string(),
            golden(".yml"),
            golden(".plan.json"),
            golden(".plan.txt"),
        )
        .expect("write");
    }
    out.push_str("];\n\n");
}

/// Collects every file under `dir` that is not hidden, as (path relative to `root`, full path).
fn walk(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(root, &path, files);
        } else if let Ok(relative) = path.strip_prefix(root) {
            let relative = relative.to_string_lossy().replace('\\', "/");
            files.push((relative, path.display().to_string()));
        }
    }
}
