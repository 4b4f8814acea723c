//! Hostile input through the `grove` binary (issue 13), as the example cluster's
//! `instances/campus/config.yml`, `instances/campus/grove.yml` or root `grove.yml`: aliases with
//! a large anchor, 50,000 nested brackets, deep block nesting, a duplicate key, files over the
//! size limit (one of them 4 GiB and sparse), a FIFO, a character device and a link to
//! `/dev/zero`. Each is refused at once: exit 5, a first line on stderr that names the file
//! and, for what is wrong inside it, the line and column; no pipeline written; a short stderr
//! that never shows the file; a small peak of memory. A byte-order mark and a `%YAML 1.1`
//! directive are read as PyYAML reads them: the same pipeline is written.
//!
//! Every run has a watchdog: a `grove` that still runs after 20 seconds is killed and the test
//! fails saying it hung. No duration is asserted.
//!
//! The same inputs run through core's reader in `core/tests/hostile_yaml.rs`.

mod common;

use common::{copy_tree, example_cluster, grove_command, scratch};
use std::ffi::CString;
use std::fmt;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

const UPDATE_CAMPUS: &str = "[AutoDeploy][Update] campus";

const CONFIG: &str = "instances/campus/config.yml";
const SETTINGS: &str = "instances/campus/grove.yml";
const CLUSTER: &str = "grove.yml";

/// How long a run may take before it is taken to hang.
const WATCHDOG: Duration = Duration::from_secs(20);
/// The most stderr a refusal may print: a message and a short excerpt.
const MAX_STDERR: usize = 2048;
/// The most memory a run may take at its peak, in KiB: far below what reading a 4 GiB file,
/// or copying a large anchor many times, would take.
const MAX_PEAK_KIB: i64 = 100 * 1024;

/// A run of `grove` to its end.
struct Run {
    args: Vec<String>,
    status: ExitStatus,
    stdout: String,
    stderr: String,
    /// The peak resident memory of the process, in KiB, as the kernel counts it: Linux counts
    /// the test process it was started from as well, so this is at least grove's peak.
    peak_kib: i64,
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |text: &str| text.chars().take(3000).collect::<String>();
        write!(
            f,
            "grove {:?}: {}, peak {} KiB\n--- stdout\n{}\n--- stderr\n{}",
            self.args,
            self.status,
            self.peak_kib,
            shown(&self.stdout),
            shown(&self.stderr)
        )
    }
}

/// Reads all of `pipe` on a thread of its own.
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Runs `grove --root ROOT ARGS` to its end, or kills it and fails the test after
/// [`WATCHDOG`]; the peak memory comes from the kernel's account of the process (`wait4`).
#[expect(
    clippy::zombie_processes,
    reason = "the child is reaped by wait4, which also gives its peak memory"
)]
fn grove(root: &Path, args: &[&str]) -> Run {
    let mut child = grove_command(root, args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("grove runs");
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let pid = child.id() as libc::pid_t;
    let started = Instant::now();
    let (status, usage) = loop {
        let mut status = 0;
        // SAFETY: `rusage` is plain integers, for which zero is a valid value.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: both pointers are to live locals; `pid` is this process's child, not yet
        // waited for (`Child` is never waited for below, but killed).
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if reaped == pid {
            break (status, usage);
        }
        assert_eq!(reaped, 0, "wait4: {}", std::io::Error::last_os_error());
        if started.elapsed() > WATCHDOG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("grove {args:?} still ran after {WATCHDOG:?}: it hung, and was killed");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Run {
        args: args.iter().map(|a| a.to_string()).collect(),
        status: ExitStatus::from_raw(status),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
        peak_kib: usage.ru_maxrss,
    }
}

/// A copy of the example cluster in a scratch folder, with the pipeline written beside it.
struct Cluster {
    root: PathBuf,
    out: PathBuf,
}

impl Cluster {
    fn new(name: &str) -> Cluster {
        let dir = scratch(name);
        let root = dir.join("cluster");
        copy_tree(&example_cluster(), &root);
        Cluster {
            root,
            out: dir.join("out.yml"),
        }
    }

    /// Removes the file `path` of the repository, for something else to take its place;
    /// where it was, on disk.
    fn clear(&self, path: &str) -> PathBuf {
        let file = self.root.join(path);
        std::fs::remove_file(&file).unwrap();
        file
    }

    /// `grove pipeline "[AutoDeploy][Update] campus" OUT`, after which the peak memory is
    /// asserted small.
    fn pipeline(&self) -> Run {
        let run = grove(
            &self.root,
            &["pipeline", UPDATE_CAMPUS, self.out.to_str().unwrap()],
        );
        assert!(
            run.peak_kib < MAX_PEAK_KIB,
            "more memory than {MAX_PEAK_KIB} KiB: {run}"
        );
        run
    }

    /// Asserts that `grove pipeline` refuses the cluster as it is: exit 5, `error: ` and
    /// `first_line` as stderr's first line, a short stderr, and no pipeline.
    fn refused(&self, first_line: &str) -> Run {
        let run = self.pipeline();
        assert_eq!(run.status.code(), Some(5), "{run}");
        assert_eq!(
            run.stderr.lines().next(),
            Some(format!("error: {first_line}").as_str()),
            "{run}"
        );
        assert!(
            run.stderr.len() < MAX_STDERR,
            "{} bytes on stderr: {run}",
            run.stderr.len()
        );
        assert!(!self.out.exists(), "a pipeline was written: {run}");
        run
    }
}

/// The items of a large anchor, `lol, lol, ...`: 599,998 bytes, which aliases would copy.
fn anchor() -> String {
    vec!["lol"; 120_000].join(", ")
}

/// Refuses each `(path, text, error)`: `text` as the file `path` of a fresh copy of the example
/// cluster, refused with stderr's first line `error: ERROR`.
fn check_refused(cases: &[(&str, String, String)]) {
    for (path, text, error) in cases {
        let cluster = Cluster::new("hostile");
        std::fs::write(cluster.root.join(path), text).unwrap();
        let run = cluster.refused(error);
        // A short excerpt of a line may hold a few items of the anchor; never the anchor.
        assert!(
            run.stderr.matches("lol").count() < 20,
            "the anchor is shown: {run}"
        );
    }
}

#[test]
fn aliases_after_a_quote_a_tab_or_a_quoted_line_break_are_refused_at_once() {
    let anchor = anchor();
    let aliased = "YAML aliases (*name) are not allowed in settings files";
    let tab = "a tab, where YAML takes spaces only (tabs belong in quoted text and block scalars)";
    check_refused(&[
        // After a quote in a flow sequence.
        (
            CONFIG,
            format!("r: &r [{anchor}]\nX: [it's, *r]\n"),
            format!("{CONFIG}:2:11: {aliased}"),
        ),
        // After a tab: the tab is refused first, where it is.
        (
            SETTINGS,
            format!("r: &r [{anchor}]\nB:\t*r\n"),
            format!("{SETTINGS}:2:3: {tab}"),
        ),
        // After a double-quoted value that runs onto the next line.
        (
            CLUSTER,
            format!("r: &r [{anchor}]\nD: \"it's\n  long\"\nE: *r\n"),
            format!("{CLUSTER}:4:4: {aliased}"),
        ),
        (
            CONFIG,
            format!("r: &r [{anchor}]\nD: [\"it's\n  long\", *r]\n"),
            format!("{CONFIG}:3:10: {aliased}"),
        ),
        // On the anchor's own line, 600 KB in: `X: {r: &r [` is 11 characters, `], s: ` 6.
        (
            SETTINGS,
            format!("X: {{r: &r [{anchor}], s: *r}}\n"),
            format!("{SETTINGS}:1:{}: {aliased}", 11 + anchor.len() + 6 + 1),
        ),
    ]);
}

#[test]
fn nesting_deeper_than_100_is_refused_at_once() {
    let mappings: String = (0..150)
        .map(|i| format!("{}k{i}:\n", "  ".repeat(i)))
        .collect();
    let sequences: String = (1..150).fold("A:\n".to_string(), |text, i| {
        format!("{text}{}-\n", "  ".repeat(i))
    });
    let deeper = "nesting deeper than 100 levels";
    check_refused(&[
        // 50,000 brackets after a quoted word: text after the value.
        (
            CONFIG,
            format!("LMS_HOST: 'x' {}\n", "[".repeat(50_000)),
            format!("{CONFIG}:1:15: unexpected text after the value"),
        ),
        // In a sequence after a quoted item: `THEMES: ["x", ` is 14 characters; the mapping
        // is level 1, the sequence 2, so the 99th bracket is level 101.
        (
            SETTINGS,
            format!(
                "THEMES: [\"x\", {}{}]\n",
                "[".repeat(50_000),
                "]".repeat(50_000)
            ),
            format!("{SETTINGS}:1:113: {deeper}"),
        ),
        // Block collections: level 101 is on line 101, indented 200 spaces.
        (CLUSTER, mappings, format!("{CLUSTER}:101:201: {deeper}")),
        (CONFIG, sequences, format!("{CONFIG}:101:201: {deeper}")),
    ]);
}

#[test]
fn a_duplicate_key_is_refused_at_its_own_line() {
    let config = std::fs::read_to_string(example_cluster().join(CONFIG)).unwrap();
    let (first, rest) = config.split_at(config.find("PLATFORM_NAME").unwrap());
    assert_eq!(first.lines().count(), 2);
    check_refused(&[(
        CONFIG,
        format!("{first}LMS_HOST: evil.example.org\n{rest}"),
        format!("{CONFIG}:3:1: this key is already set on line 1"),
    )]);
}

/// `text` padded with a comment to exactly `len` bytes.
fn padded(text: &str, len: usize) -> String {
    format!("{text}#{}\n", "x".repeat(len - text.len() - 2))
}

#[test]
fn a_file_over_1_mib_is_refused_unread() {
    let over = "bytes; Grove reads files of at most 1048576 bytes here";
    for path in [CONFIG, CLUSTER] {
        let text = std::fs::read_to_string(example_cluster().join(path)).unwrap();
        check_refused(&[(
            path,
            padded(&text, (1 << 20) + 1),
            format!("{path} is 1048577 {over}"),
        )]);
    }
    // 4 GiB, sparse: its size is the metadata's, and nothing of it is read.
    let cluster = Cluster::new("sparse");
    let file = std::fs::File::create(cluster.clear(CONFIG)).unwrap();
    std::io::Write::write_all(&mut &file, b"LMS_HOST: campus.example.org\n").unwrap();
    file.set_len(4 << 30).unwrap();
    drop(file);
    cluster.refused(&format!("{CONFIG} is 4294967296 {over}"));
}

/// Makes the node `path` with `make` (`mkfifo`, `mknod`); the error it failed with, if it did.
fn make_node(
    path: &Path,
    make: impl FnOnce(*const libc::c_char) -> libc::c_int,
) -> std::io::Result<()> {
    let path = CString::new(path.as_os_str().as_bytes()).unwrap();
    if make(path.as_ptr()) == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[test]
fn a_fifo_a_device_or_a_link_to_dev_zero_is_refused_without_blocking() {
    // A FIFO no writer ever opens: reading it would block forever.
    for path in [CONFIG, SETTINGS, CLUSTER] {
        let cluster = Cluster::new("fifo");
        let file = cluster.clear(path);
        // SAFETY: the path is a NUL-terminated string that outlives the call.
        make_node(&file, |p| unsafe { libc::mkfifo(p, 0o644) }).unwrap();
        cluster.refused(&format!(
            "{path} is a FIFO, not a regular file: Grove reads regular files only"
        ));
    }

    // /dev/zero, linked: the link leads outside the repository.
    let cluster = Cluster::new("dev-zero");
    std::os::unix::fs::symlink("/dev/zero", cluster.clear(CONFIG)).unwrap();
    cluster.refused(&format!(
        "{CONFIG} is a symbolic link that leads outside the cluster repository: Grove reads and writes nothing outside it"
    ));

    // /dev/zero's own device (1, 5) inside the repository, where the process may make one
    // (it is root, as in CI); reading it would never end.
    let cluster = Cluster::new("device");
    let file = cluster.clear(CONFIG);
    // SAFETY: the path is a NUL-terminated string that outlives the call.
    let made = make_node(&file, |p| unsafe {
        libc::mknod(p, libc::S_IFCHR | 0o644, libc::makedev(1, 5))
    });
    match made {
        Ok(()) => {
            cluster.refused(&format!(
                "{CONFIG} is a character device, not a regular file: Grove reads regular files only"
            ));
        }
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            eprintln!("not allowed to make a device ({e}): the link to /dev/zero stands for it");
        }
        Err(e) => panic!("mknod: {e}"),
    }
}

#[test]
fn a_byte_order_mark_and_a_yaml_1_1_directive_are_read_as_pyyaml_reads_them() {
    let reference = Cluster::new("reference");
    let run = reference.pipeline();
    assert!(run.status.success(), "{run}");
    let expected = std::fs::read_to_string(&reference.out).unwrap();
    let headers = ["\u{feff}", "%YAML 1.1\n---\n", "\u{feff}%YAML 1.1\n---\n"];
    for path in [CONFIG, SETTINGS, CLUSTER] {
        let text = std::fs::read_to_string(example_cluster().join(path)).unwrap();
        let mut texts: Vec<String> = headers.iter().map(|h| format!("{h}{text}")).collect();
        // And a file of exactly the limit.
        texts.push(padded(&text, 1 << 20));
        for text in texts {
            let cluster = Cluster::new("accepted");
            std::fs::write(cluster.root.join(path), &text).unwrap();
            let run = cluster.pipeline();
            let shown: String = text.chars().take(20).collect();
            assert!(run.status.success(), "{path} {shown:?}: {run}");
            assert_eq!(
                std::fs::read_to_string(&cluster.out).unwrap(),
                expected,
                "{path} {shown:?}"
            );
        }
    }
}
