//! The cluster repository on disk: finding it, reading what core needs, writing files whole.
//!
//! Every path of the repository that Grove reads or writes is resolved inside it, and every file
//! it reads is a regular file of at most [`MAX_FILE_LEN`] bytes ([`crate::boundary`]).

use crate::boundary::{Boundary, Reader};
use crate::failure::Failure;
use grove_core::fleet::{
    is_fleet_file, CLUSTER_SETTINGS, CONFIG_FILE, DEFAULTS_DIR, INSTANCES_DIR, INSTANCE_FILES,
    REQUIREMENTS_FILE, TEMPLATES_DIR,
};
use grove_core::name::InstanceName;
use grove_core::request::Need;
use grove_core::settings::ClusterSettings;
use grove_core::{Files, Options, Prepared};
use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

/// The longest file Grove reads from the cluster repository (settings, templates,
/// requirements): core's limit on settings files.
pub const MAX_FILE_LEN: u64 = grove_core::yaml::MAX_SETTINGS_LEN as u64;

/// The folder of what Grove keeps in the cluster repository that git must not see.
pub const PRIVATE_DIR: &str = ".grove";

/// A cluster repository rooted at a folder.
pub struct Repository {
    /// The root folder, as given.
    pub root: PathBuf,
    /// Its boundary, once a command needs it.
    boundary: OnceLock<Boundary>,
}

impl Repository {
    /// The repository at `root`.
    pub fn new(root: PathBuf) -> Repository {
        Repository {
            root,
            boundary: OnceLock::new(),
        }
    }

    /// The repository's boundary: every path of it is resolved through this (exit 1 when the
    /// root is not a folder).
    pub fn boundary(&self) -> Result<&Boundary, Failure> {
        if let Some(boundary) = self.boundary.get() {
            return Ok(boundary);
        }
        let boundary = Boundary::new(&self.root, "the cluster repository").map_err(|_| {
            Failure::External(format!(
                "the cluster repository {} is not a folder (set --root or GROVE_ROOT)",
                self.root.display()
            ))
        })?;
        Ok(self.boundary.get_or_init(|| boundary))
    }

    /// Where `relative` is in the repository, resolved inside it (exit 5 for a link that
    /// leads outside).
    pub fn path(&self, relative: &str) -> Result<PathBuf, Failure> {
        self.boundary()?.resolve(relative)
    }

    /// The folder of instance `name`, absolute, resolved inside the repository.
    pub fn instance_dir(&self, name: &InstanceName) -> Result<PathBuf, Failure> {
        self.path(&format!("{INSTANCES_DIR}/{name}"))
    }

    /// The root folder, absolute (Tutor and child programs get absolute paths).
    pub fn absolute_root(&self) -> Result<PathBuf, Failure> {
        std::path::absolute(&self.root).map_err(|e| Failure::io("resolve", &self.root, e))
    }

    /// `.grove/`, the folder of what Grove keeps in the cluster repository that git must not
    /// see (Tutor roots, the default store, base images' Tutor root, Terraform's plan):
    /// created if it is missing, entered by its owner alone, with a `.gitignore` that ignores
    /// everything in it, itself included. Absolute, resolved inside the repository.
    pub fn private_dir(&self) -> Result<PathBuf, Failure> {
        let dir = self.private_path(PRIVATE_DIR, true)?;
        let ignore = dir.join(".gitignore");
        if !ignore.is_file() {
            write_atomically(
                &ignore,
                b"# Written by Grove: nothing here is ever committed.\n*\n",
            )?;
        }
        Ok(dir)
    }

    /// The folder `.grove/SUB`, created if it is missing, entered by its owner alone.
    pub fn private_folder(&self, sub: &str) -> Result<PathBuf, Failure> {
        self.private_dir()?;
        self.private_path(&format!("{PRIVATE_DIR}/{sub}"), true)
    }

    /// `relative`, a path in `.grove/`: Grove's own folders, which hold secrets, so a link
    /// anywhere on it is refused (exit 5), even one that stays inside the repository. Missing
    /// folders are created (entered by their owner alone) when `create` is set.
    pub fn private_path(&self, relative: &str, create: bool) -> Result<PathBuf, Failure> {
        let boundary = self.boundary()?;
        let mut at = boundary.root().to_path_buf();
        let mut shown = String::new();
        for part in relative.split('/') {
            at.push(part);
            shown = if shown.is_empty() {
                part.to_string()
            } else {
                format!("{shown}/{part}")
            };
            if fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err(Failure::Core(grove_core::Error::new(
                    grove_core::Cause::file(&shown),
                    format!("{shown} is a symbolic link: {PRIVATE_DIR}/ is Grove's own folder, which holds secrets, and has no links"),
                )));
            }
        }
        if create {
            boundary.folder(relative, 0o700)
        } else {
            Ok(at)
        }
    }

    /// Fails with exit 3 unless `instances/NAME/config.yml` exists (exit 5 when it, or the
    /// folder, leads outside the repository, or is not a regular file).
    pub fn require(&self, name: &InstanceName) -> Result<(), Failure> {
        let relative = format!("{INSTANCES_DIR}/{name}/{CONFIG_FILE}");
        let config = self.path(&relative)?;
        match fs::symlink_metadata(&config) {
            Ok(metadata) if metadata.is_file() => Ok(()),
            Ok(metadata) => Err(crate::boundary::not_a_file(&relative, metadata.file_type())),
            Err(_) => Err(Failure::Core(grove_core::Error::new(
                grove_core::Cause::NoSuchInstance,
                format!("no such instance \"{name}\": {relative} does not exist"),
            ))),
        }
    }

    /// Reads the text file at `relative`, at most [`MAX_FILE_LEN`] bytes of UTF-8 (exit 5
    /// otherwise); `None` if there is none.
    pub fn read_text(&self, relative: &str) -> Result<Option<String>, Failure> {
        match self.boundary()?.read(relative, MAX_FILE_LEN)? {
            Some(bytes) => text(relative, bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Reads and parses one instance, with the cluster settings (exit 3, 5).
    pub fn fleet_of(
        &self,
        name: &InstanceName,
    ) -> Result<(grove_core::Fleet, grove_core::fleet::Instance), Failure> {
        let fleet = grove_core::Fleet::new(self.load(&Need::Only(vec![name]))?)?;
        let instance = fleet.instance(name)?;
        Ok((fleet, instance))
    }

    /// The cluster's settings, `grove.yml` (exit 5 when malformed).
    pub fn settings(&self) -> Result<ClusterSettings, Failure> {
        Ok(grove_core::fleet::cluster_settings(
            self.read_text(CLUSTER_SETTINGS)?.as_deref(),
        )?)
    }

    /// Where the repository is in the current folder (in CI, the project's folder, where
    /// artifact and cache paths start), as a prefix: empty for the folder itself, or for one
    /// outside it, else `clusters/production/`. Each part may hold only letters, digits, `_`,
    /// `.` and `-` (exit 2 otherwise), since it is written into the generated pipeline's paths.
    ///
    /// The root is first normalised lexically (`./clu/../clu` is `clu`), as the folders it
    /// names are.
    pub fn path_in_project(&self) -> Result<String, Failure> {
        let Some(root) = normalised(&self.root) else {
            // Above the current folder: paths as at the top.
            return Ok(String::new());
        };
        let relative = if root.is_absolute() {
            let Some(cwd) = std::env::current_dir().ok().as_deref().and_then(normalised) else {
                return Ok(String::new());
            };
            match root.strip_prefix(&cwd) {
                Ok(relative) => relative.to_path_buf(),
                Err(_) => return Ok(String::new()),
            }
        } else {
            root
        };
        let mut prefix = String::new();
        for component in relative.components() {
            let Component::Normal(part) = component else {
                return Ok(String::new());
            };
            let part = part.to_str().filter(|p| {
                p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
            });
            let Some(part) = part else {
                return Err(Failure::Usage(format!(
                    "the cluster repository {} is in a folder whose name the generated pipeline cannot hold in its paths: use only letters, digits, `_`, `.` and `-`",
                    self.root.display()
                )));
            };
            prefix.push_str(part);
            prefix.push('/');
        }
        Ok(prefix)
    }

    /// Reads the files core needs for `need` into a map, path → text.
    pub fn load(&self, need: &Need<'_>) -> Result<Files, Failure> {
        self.boundary()?;
        let mut paths = vec![
            CLUSTER_SETTINGS.to_string(),
            format!("{DEFAULTS_DIR}/{REQUIREMENTS_FILE}"),
        ];
        for name in self.list(TEMPLATES_DIR)? {
            let path = format!("{TEMPLATES_DIR}/{name}");
            if is_fleet_file(&path) {
                paths.push(path);
            }
        }
        let (configs, whole): (Vec<String>, Vec<String>) = match need {
            Need::Settings => (Vec::new(), Vec::new()),
            Need::All => (Vec::new(), self.list(INSTANCES_DIR)?),
            Need::Only(names) => (
                self.list(INSTANCES_DIR)?,
                names.iter().map(|n| n.to_string()).collect(),
            ),
        };
        for folder in &whole {
            for file in INSTANCE_FILES {
                let path = format!("{INSTANCES_DIR}/{folder}/{file}");
                if is_fleet_file(&path) {
                    paths.push(path);
                }
            }
        }
        for folder in configs.iter().filter(|f| !whole.contains(f)) {
            let path = format!("{INSTANCES_DIR}/{folder}/{CONFIG_FILE}");
            if is_fleet_file(&path) {
                paths.push(path);
            }
        }
        let mut files = Files::new();
        for (path, text) in self.read_all(paths)? {
            files.insert(path, text);
        }
        // The Terraform files, by name only: plans that run Terraform check that there is a
        // configuration to run, and Grove reads nothing of it. (A grove.yml that does not
        // parse is reported when core reads it.)
        let settings =
            grove_core::fleet::cluster_settings(files.get(CLUSTER_SETTINGS).map(String::as_str));
        if let Ok(settings) = settings {
            let dir = settings.terraform_dir();
            for name in self.list(dir)? {
                if name.ends_with(".tf") {
                    files.insert(format!("{dir}/{name}"), String::new());
                }
            }
        }
        Ok(files)
    }

    /// Reads the files at `paths` (relative to the root) that exist, in order, with a few threads
    /// when there are many: a batch upgrade reads three small files of every instance, and the
    /// time goes into opening them. The first failure in `paths` order is the one reported.
    fn read_all(&self, paths: Vec<String>) -> Result<Vec<(String, String)>, Failure> {
        const PER_THREAD: usize = 512;
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, 4)
            .min(paths.len().div_ceil(PER_THREAD))
            .max(1);
        if threads == 1 {
            return self.read_some(paths);
        }
        let chunk = paths.len().div_ceil(threads);
        let mut chunks: Vec<Vec<String>> = Vec::with_capacity(threads);
        let mut paths = paths.into_iter().peekable();
        while paths.peek().is_some() {
            chunks.push(paths.by_ref().take(chunk).collect());
        }
        let results: Vec<Result<Vec<(String, String)>, Failure>> = std::thread::scope(|scope| {
            let handles: Vec<_> = chunks
                .into_iter()
                .map(|chunk| scope.spawn(move || self.read_some(chunk)))
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("a reading thread panicked"))
                .collect()
        });
        let mut files = Vec::new();
        for result in results {
            files.extend(result?);
        }
        Ok(files)
    }

    /// Reads the files at `paths` that exist, in order, on this thread.
    fn read_some(&self, paths: Vec<String>) -> Result<Vec<(String, String)>, Failure> {
        let mut reader = Reader::new(self.boundary()?);
        let mut files = Vec::with_capacity(paths.len());
        let mut scratch = Vec::with_capacity(8192);
        for path in paths {
            if reader.read(&path, MAX_FILE_LEN, &mut scratch)? {
                let text = text(&path, scratch.to_vec())?;
                files.push((path, text));
            }
        }
        Ok(files)
    }

    /// The names in a folder of the repository; none if it does not exist.
    fn list(&self, dir: &str) -> Result<Vec<String>, Failure> {
        let full = self.path(dir)?;
        let entries = match fs::read_dir(&full) {
            Ok(entries) => entries,
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                return Ok(Vec::new())
            }
            Err(e) => return Err(Failure::io("list", &full, e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Failure::io("list", &full, e))?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }
}

/// The bytes of the file at `path` as text (exit 5 unless they are UTF-8).
fn text(path: &str, bytes: Vec<u8>) -> Result<String, Failure> {
    String::from_utf8(bytes).map_err(|e| {
        Failure::Core(grove_core::Error::new(
            grove_core::Cause::file(path),
            format!(
                "{path}: not UTF-8 text (byte {})",
                e.utf8_error().valid_up_to()
            ),
        ))
    })
}

/// `path` with `.` left out and each `..` taking the name before it away; `None` when a `..`
/// climbs above where a relative path starts.
fn normalised(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir) => {}
                _ => return None,
            },
            other => out.push(other),
        }
    }
    Some(out)
}

/// Writes `contents` to `path` whole or not at all: a temporary file beside it, then a rename.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), Failure> {
    write_whole(path, contents, 0o644)
}

/// [`write_atomically`] for a file that may hold secrets: readable by its owner alone.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), Failure> {
    write_whole(path, contents, 0o600)
}

/// Creates `dir` and the folders above it that are missing, those it creates entered by their
/// owner alone (the store and Tutor roots hold secrets).
pub fn create_private_dirs(dir: &Path) -> Result<(), Failure> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Failure::io("create", dir, e))
}

/// Writes a file whole by rename, created with `mode` (less the umask).
fn write_whole(path: &Path, contents: &[u8], mode: u32) -> Result<(), Failure> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| Failure::External(format!("{} is not a file path", path.display())))?;
    // Unique to this write: two threads of one grove may write the same file at once.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        file_name.to_string_lossy(),
        std::process::id(),
        WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let result = (|| {
        // A new file: never one a link in its place points at.
        match fs::remove_file(&tmp) {
            Err(e) if e.kind() != ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Failure::io("write", path, e)
    })
}

/// The generator reads the repository through this: only the files a request needs.
impl grove_core::Cluster for Repository {
    type Error = Failure;
    type Prepared<'a> = Prepared;

    fn settings(&self) -> Result<ClusterSettings, Failure> {
        Repository::settings(self)
    }

    fn prepare(&self, need: &Need<'_>, options: &Options) -> Result<Prepared, Failure> {
        Ok(Prepared::new(self.load(need)?, options)?)
    }
}

/// Where and how the generated jobs run, from the command line (the CI component gives these
/// from its inputs); grove.yml's own settings win.
#[derive(Debug, Clone, Default)]
pub struct JobSettings {
    /// The image of the generated jobs when grove.yml sets no `PIPELINE_IMAGE`.
    pub image: Option<String>,
    /// The parent pipeline's job that writes the pipeline files, which a sharded pipeline
    /// fetches them from.
    pub parent_job: String,
    /// The services of the jobs that build Docker images; the first is the Docker daemon,
    /// reached as `docker`.
    pub image_builder_services: Vec<String>,
}

impl JobSettings {
    /// The generator's options for a pipeline whose shard folder is named `shard_dir`, in
    /// the repository at `repository`.
    ///
    /// A parent job or service image that a pipeline file cannot hold is a bad command line
    /// (exit 2): they are names, checked here, and written as quoted YAML strings.
    pub fn options(&self, repository: &Repository, shard_dir: &str) -> Result<Options, Failure> {
        let job = &self.parent_job;
        let fits = !job.is_empty()
            && job.len() <= 255
            && !job.starts_with('.')
            && job
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        if !fits {
            return Err(Failure::Usage(format!(
                "the parent job {job:?} is not a job name Grove writes: use letters, digits, `-`, `_`, `.` and `:` (at most 255, not starting with `.`)"
            )));
        }
        let services: Vec<String> = self
            .image_builder_services
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        for image in &services {
            let fits = image.len() <= 255
                && image
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_alphanumeric())
                && image.bytes().all(|b| {
                    b.is_ascii_lowercase()
                        || b.is_ascii_digit()
                        || matches!(b, b'-' | b'_' | b'.' | b':' | b'/' | b'@')
                });
            if !fits {
                return Err(Failure::Usage(format!(
                    "the image builder service {image:?} is not an image reference: use lowercase letters, digits, `-`, `_`, `.`, `:`, `/` and `@`"
                )));
            }
        }
        Ok(Options {
            path_in_project: repository.path_in_project()?,
            shard_dir: shard_dir.to_string(),
            parent_job: job.clone(),
            image: self.image.clone(),
            image_builder_services: services,
        })
    }
}
