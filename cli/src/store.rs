//! The store: where each instance's state (see [`crate::state`]) is kept between pipelines, one
//! whole generation at a time.
//!
//! # Where
//!
//! `ENV_STORE` in the root `grove.yml` names the store: a folder (a path, relative to the
//! root, or a `file:///` URL), or `s3://bucket/prefix` on any S3-compatible server, reached
//! with the usual `AWS_*` variables (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`). Unset, it is the folder `.grove/env-store` in the
//! root: embedded, no server, for one machine (a CI job's checkout is gone when the job ends,
//! so generating a deploying pipeline refuses it).
//!
//! # Layout: immutable generations behind one pointer
//!
//! Both kinds of store hold the same keys, per instance:
//!
//! ```text
//! NAME/manifest.json                         the pointer: which generation is current,
//!                                            every file of it with its SHA-256, and the
//!                                            config keys the next run starts from
//! NAME/generations/00000007-3fa9c2d1.json    that generation's manifest, kept with it, so a
//!                                            pipeline can read the generation it prepared
//! NAME/generations/00000007-3fa9c2d1/PATH    the files of one generation, never rewritten:
//!                                            config.yml (Tutor's, secrets and all), env/...
//! ```
//!
//! A push uploads the whole new generation under a fresh folder that no reader knows yet, then
//! flips `manifest.json` with **one conditional write**: it succeeds only if the manifest is
//! still the one the command pulled (its S3 ETag, or for a folder the SHA-256 of its bytes
//! under a lock), or, on a first push, only if there is none yet. So:
//!
//! - a push that fails while uploading changes nothing a reader sees (its half-uploaded
//!   generation is deleted, best effort, and is invisible either way);
//! - a push that races another one loses the conditional write ([`Pushed::Conflict`]) and
//!   overwrites nothing;
//! - a reader never sees a mix: it reads one manifest, then immutable files checked against
//!   the hashes in it.
//!
//! After a successful flip, generations more than [`GENERATIONS_KEPT`] behind are deleted.

mod local;
pub mod manifest;
mod s3;

use crate::failure::Failure;
use grove_core::name::InstanceName;
use manifest::{Manifest, Snapshot};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// How many generations of an instance a store keeps (the current one included).
pub const GENERATIONS_KEPT: u64 = 3;

/// Where the store is when `grove.yml` names none, relative to the root.
pub const DEFAULT_STORE: &str = ".grove/env-store";

/// Test-only fault injection: fail a push after uploading this many files.
pub const FAIL_AFTER_UPLOADS_VARIABLE: &str = "GROVE_ENV_STORE_FAIL_AFTER_UPLOADS";

/// An opaque version of one object (an S3 ETag, or a hash of a file's bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag(pub String);

/// Why a store operation failed.
#[derive(Debug)]
pub enum StoreError {
    /// A conditional write found the object changed.
    Conflict,
    /// Anything else: the network, the server, the file system.
    Failed(String),
}

impl StoreError {
    /// The failure (exit 1) of `doing` something with `store`.
    pub fn into_failure(self, store: &dyn Store, doing: &str) -> Failure {
        match self {
            StoreError::Conflict => {
                Failure::External(format!("{} changed while {doing}", store.describe()))
            }
            StoreError::Failed(message) => {
                Failure::External(format!("{}: cannot {doing}: {message}", store.describe()))
            }
        }
    }
}

/// Everything Grove does to a store: one narrow interface over keys of the form `NAME/...`,
/// implemented by a local folder and by S3.
pub trait Store {
    /// The store as a person names it, for messages.
    fn describe(&self) -> String;
    /// Reads an object and its version; `None` if it is not there.
    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, Tag)>, StoreError>;
    /// Writes objects whole, unconditionally: only for keys that no reader knows yet.
    fn put_many(&self, objects: Vec<(String, Vec<u8>)>) -> Result<(), StoreError>;
    /// Writes an object only if its version is still `expected` (`None`: only if it is not
    /// there); [`StoreError::Conflict`] otherwise.
    fn put_if(&self, key: &str, bytes: Vec<u8>, expected: Option<&Tag>) -> Result<(), StoreError>;
    /// Every key under `prefix` (which ends with `/`).
    fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError>;
    /// Deletes objects; keys that are not there are fine.
    fn delete_many(&self, keys: Vec<String>) -> Result<(), StoreError>;

    /// Reads several objects; fails if one is missing.
    fn get_many(&self, keys: Vec<String>) -> Result<Vec<Vec<u8>>, StoreError> {
        keys.iter()
            .map(|key| match self.get(key)? {
                Some((bytes, _)) => Ok(bytes),
                None => Err(StoreError::Failed(format!("{key} is missing"))),
            })
            .collect()
    }
}

/// Opens the store that `grove.yml` names (`setting`, a folder relative to `root` or any of the
/// URLs above), or the folder `default` ([`DEFAULT_STORE`], resolved inside the repository).
pub fn open(
    root: &Path,
    default: PathBuf,
    setting: Option<&str>,
) -> Result<Box<dyn Store>, Failure> {
    let setting = setting.map(str::trim).filter(|s| !s.is_empty());
    match setting {
        None => Ok(Box::new(local::FolderStore::new(default))),
        Some(url) if url.starts_with("s3://") => Ok(Box::new(s3::S3Store::open(url)?)),
        Some(url) if url.starts_with("file://") => {
            let path = &url["file://".len()..];
            if !path.starts_with('/') {
                return Err(invalid_setting(
                    url,
                    "a file:// URL needs an absolute path (file:///...)",
                ));
            }
            Ok(Box::new(local::FolderStore::new(PathBuf::from(path))))
        }
        Some(url) if url.contains("://") => Err(invalid_setting(
            url,
            "only a folder, file:///... and s3://bucket/prefix are supported",
        )),
        Some(path) => Ok(Box::new(local::FolderStore::new(root.join(path)))),
    }
}

fn invalid_setting(value: &str, why: &str) -> Failure {
    Failure::Core(grove_core::Error::new(
        grove_core::Cause::setting("grove.yml", "ENV_STORE"),
        format!("grove.yml: ENV_STORE \"{value}\" is not usable: {why}"),
    ))
}

/// The key of an instance's current manifest.
fn manifest_key(name: &InstanceName) -> String {
    format!("{name}/manifest.json")
}

/// The key of one generation's own copy of its manifest.
fn generation_manifest_key(name: &InstanceName, id: &str) -> String {
    format!("{name}/generations/{id}.json")
}

/// The folder (key prefix) of one generation's files.
fn generation_prefix(name: &InstanceName, id: &str) -> String {
    format!("{name}/generations/{id}/")
}

/// An instance's current generation, as pulled: its manifest and the manifest's version.
pub struct Current {
    /// The manifest.
    pub manifest: Manifest,
    /// Its version, which a push must still find.
    pub tag: Tag,
}

/// Reads an instance's current manifest; `None` if the store holds nothing of it.
pub fn current(store: &dyn Store, name: &InstanceName) -> Result<Option<Current>, Failure> {
    let key = manifest_key(name);
    let found = store
        .get(&key)
        .map_err(|e| e.into_failure(store, &format!("read the state of {name}")))?;
    found
        .map(|(bytes, tag)| {
            Ok(Current {
                manifest: parse_manifest(store, &key, &bytes)?,
                tag,
            })
        })
        .transpose()
}

/// Reads the manifest of generation `id` of an instance.
pub fn generation(store: &dyn Store, name: &InstanceName, id: &str) -> Result<Manifest, Failure> {
    let key = generation_manifest_key(name, id);
    match store
        .get(&key)
        .map_err(|e| e.into_failure(store, &format!("read the state of {name}")))?
    {
        Some((bytes, _)) => parse_manifest(store, &key, &bytes),
        None => Err(Failure::External(format!(
            "{}: generation {id} of {name} is gone: newer pipelines have prepared {name} since, \
             and the store keeps the last {GENERATIONS_KEPT}. This job is outdated: run the \
             newest pipeline of {name}, or its prepare job again",
            store.describe()
        ))),
    }
}

fn parse_manifest(store: &dyn Store, key: &str, bytes: &[u8]) -> Result<Manifest, Failure> {
    Manifest::parse(bytes).map_err(|why| {
        Failure::External(format!(
            "{}: {key} is not a manifest Grove can read: {why}",
            store.describe()
        ))
    })
}

/// Downloads the files `paths` of a generation (all when `None`), each checked against the
/// SHA-256 in its manifest.
pub fn read(
    store: &dyn Store,
    name: &InstanceName,
    manifest: &Manifest,
    only: Option<&[&str]>,
) -> Result<Snapshot, Failure> {
    let prefix = generation_prefix(name, &manifest.id);
    let paths: Vec<&String> = manifest
        .files
        .keys()
        .filter(|p| only.is_none_or(|only| only.contains(&p.as_str())))
        .collect();
    let doing = format!("read the state of {name}");
    let contents = store
        .get_many(
            paths
                .iter()
                .map(|p| format!("{prefix}{}", manifest.stored_path(p)))
                .collect(),
        )
        .map_err(|e| e.into_failure(store, &doing))?;
    let mut snapshot = Snapshot::default();
    for (path, bytes) in paths.into_iter().zip(contents) {
        let entry = &manifest.files[path];
        if manifest::sha256_hex(&bytes) != entry.sha256 {
            return Err(Failure::External(format!(
                "{}: {prefix}{path} does not match the SHA-256 in its manifest: the store was \
                 changed outside Grove; nothing was changed locally",
                store.describe(),
            )));
        }
        snapshot.insert(path.clone(), bytes, entry.executable);
    }
    if only.is_none() {
        snapshot.directories = manifest.directories.clone();
    }
    Ok(snapshot)
}

/// What a push did.
pub enum Pushed {
    /// The snapshot is the new current generation.
    New(Manifest),
    /// The snapshot was already the current generation: nothing was written.
    Unchanged,
    /// The store changed since `previous` was pulled: nothing was written.
    Conflict,
}

/// Uploads `snapshot` as the generation after `previous` (or the first), with the config keys
/// `kept`, and flips the manifest to it unless the store changed since `previous` was pulled.
pub fn push(
    store: &dyn Store,
    name: &InstanceName,
    previous: Option<&Current>,
    snapshot: Snapshot,
    kept: &BTreeSet<String>,
) -> Result<Pushed, Failure> {
    if let Some(p) = previous {
        if p.manifest.describes(&snapshot, kept) {
            // What a push killed after its flip did not prune yet goes now.
            prune(store, name, p.manifest.generation);
            return Ok(Pushed::Unchanged);
        }
    }
    let manifest = Manifest::next(previous.map(|p| &p.manifest), &snapshot, kept);
    let prefix = generation_prefix(name, &manifest.id);
    let mut objects: Vec<(String, Vec<u8>)> = snapshot
        .files
        .into_iter()
        .map(|(path, file)| (format!("{prefix}{path}"), file.bytes))
        .collect();
    objects.push((
        generation_manifest_key(name, &manifest.id),
        manifest.to_bytes(),
    ));
    let uploaded: Vec<String> = objects.iter().map(|(k, _)| k.clone()).collect();
    let doing = format!("push the state of {name}");
    if let Err(e) = upload(store, objects) {
        discard(store, uploaded);
        return Err(e.into_failure(store, &doing));
    }
    match store.put_if(
        &manifest_key(name),
        manifest.to_bytes(),
        previous.map(|p| &p.tag),
    ) {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            discard(store, uploaded);
            return Ok(Pushed::Conflict);
        }
        Err(StoreError::Failed(message)) => {
            // The write may have landed with its answer lost: keep the generation it names.
            return Err(Failure::External(format!(
                "{}: cannot flip {} to generation {}: {message}\nThe store holds either the \
                 generation it had or the new one, whole; run the command again.",
                store.describe(),
                manifest_key(name),
                manifest.generation
            )));
        }
    }
    prune(store, name, manifest.generation);
    Ok(Pushed::New(manifest))
}

/// Uploads a generation's files, failing part-way when the test-only fault variable says so.
fn upload(store: &dyn Store, mut objects: Vec<(String, Vec<u8>)>) -> Result<(), StoreError> {
    let fail_after = std::env::var(FAIL_AFTER_UPLOADS_VARIABLE)
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    match fail_after {
        Some(count) if count < objects.len() => {
            objects.truncate(count);
            store.put_many(objects)?;
            Err(StoreError::Failed(format!(
                "fault injected by {FAIL_AFTER_UPLOADS_VARIABLE} after {count} uploads"
            )))
        }
        _ => store.put_many(objects),
    }
}

/// Deletes the files of a generation that never became current; best effort, since no
/// reader can see them anyway.
fn discard(store: &dyn Store, keys: Vec<String>) {
    let _ = store.delete_many(keys);
}

/// Deletes generations more than [`GENERATIONS_KEPT`] behind `current`; failures only warn.
fn prune(store: &dyn Store, name: &InstanceName, current: u64) {
    let prefix = format!("{name}/generations/");
    let old: Vec<String> = match store.list(&prefix) {
        Ok(keys) => keys
            .into_iter()
            .filter(|key| {
                let rest = &key[prefix.len()..];
                let id = rest.split('/').next().unwrap_or_default();
                let id = id.strip_suffix(".json").unwrap_or(id);
                manifest::generation_number(id).is_some_and(|n| n + GENERATIONS_KEPT <= current)
            })
            .collect(),
        Err(e) => {
            eprintln!("grove: warning: cannot list old generations of {name}: {e:?}");
            return;
        }
    };
    if !old.is_empty() {
        if let Err(e) = store.delete_many(old) {
            eprintln!("grove: warning: cannot delete old generations of {name}: {e:?}");
        }
    }
}

/// Deletes everything the store keeps of `name`, its manifest first, so that no reader ever
/// finds a generation half deleted. Whether there was anything; nothing there is fine.
pub fn forget(store: &dyn Store, name: &InstanceName) -> Result<bool, Failure> {
    let doing = format!("delete the state of {name}");
    let keys = store
        .list(&format!("{name}/"))
        .map_err(|e| e.into_failure(store, &doing))?;
    if keys.is_empty() {
        return Ok(false);
    }
    let manifest = manifest_key(name);
    store
        .delete_many(vec![manifest.clone()])
        .map_err(|e| e.into_failure(store, &doing))?;
    store
        .delete_many(keys.into_iter().filter(|key| *key != manifest).collect())
        .map_err(|e| e.into_failure(store, &doing))?;
    Ok(true)
}
