//! The env store: where each instance's rendered Tutor `env/` is kept between pipelines, and
//! `grove tutor sync`, which pulls it, lays `env-overrides/` over it, runs `tutor config save`
//! and pushes the result back.
//!
//! # Where
//!
//! `ENV_STORE` in the root `grove.yml` names the store: a folder (a path, relative to the
//! root, or a `file:///` URL), or `s3://bucket/prefix` on any S3-compatible server, reached
//! with the usual `AWS_*` variables (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`). Unset, it is the folder `.grove/env-store` in the
//! root: embedded, no server.
//!
//! # Layout: immutable generations behind one pointer
//!
//! Both kinds of store hold the same keys, per instance:
//!
//! ```text
//! NAME/manifest.json                         the pointer: which generation is current,
//!                                            and every file of it with its SHA-256
//! NAME/generations/00000007-3fa9c2d1/PATH    the files of one generation, never rewritten
//! ```
//!
//! A push uploads the whole new `env/` under a fresh generation folder that no reader knows
//! yet, then flips `manifest.json` with **one conditional write**: it succeeds only if the
//! manifest is still the one this sync pulled (its S3 ETag, or for a folder the SHA-256 of
//! its bytes under a lock file), or, on a first push, only if there is none yet. So:
//!
//! - a push that fails while uploading changes nothing a reader sees (its half-uploaded
//!   generation is deleted, best effort, and is invisible either way);
//! - a push that races another one (or any change of the store since the pull) loses the
//!   conditional write, is reported as a conflict (exit 1) saying which generation is there
//!   now and how to resolve it, and overwrites nothing;
//! - a reader never sees a mix: it reads one manifest, then immutable files checked against
//!   the hashes in it.
//!
//! After a successful flip, generations more than [`GENERATIONS_KEPT`] behind are deleted.
//! A push still uploading a generation that old is one whose flip must fail anyway.
//!
//! # The local side
//!
//! The pulled copy (or, on a first push, a copy of the local `env/`) is built in a staging
//! folder, `instances/NAME/.env-sync/`, overlaid with `env-overrides/`, and renamed into
//! place; the `env/` it replaces is kept beside it until the push has succeeded, and renamed
//! back if Tutor or the push fails. A sync interrupted half-way is undone by the next one.
//! Overrides are laid over the pulled copy and again over Tutor's output, so they always win.

mod folder;
mod local;
mod manifest;
mod s3;

use crate::failure::Failure;
use crate::tutor;
use crate::Context;
use grove_core::name::InstanceName;
use manifest::{Manifest, Snapshot};
use std::path::{Path, PathBuf};

/// How many generations of an instance's `env/` a store keeps (the current one included).
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
    fn into_failure(self, store: &dyn Store, doing: &str) -> Failure {
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

/// Everything `grove tutor sync` does to a store: one narrow interface over keys of the
/// form `NAME/...`, implemented by a local folder and by S3.
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
    /// Checks that an object's version is still `expected`, as [`Store::put_if`] checks before
    /// it writes; [`StoreError::Conflict`] otherwise.
    fn confirm(&self, key: &str, expected: &Tag) -> Result<(), StoreError> {
        still(self.get(key)?, expected)
    }
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

/// Whether what a read found (`found`) is still the version `expected`: the check of
/// [`Store::confirm`].
fn still(found: Option<(Vec<u8>, Tag)>, expected: &Tag) -> Result<(), StoreError> {
    match found {
        Some((_, tag)) if tag == *expected => Ok(()),
        _ => Err(StoreError::Conflict),
    }
}

/// Opens the store that the fleet's `grove.yml` names.
fn open_for(context: &Context, fleet: &grove_core::Fleet) -> Result<Box<dyn Store>, Failure> {
    open(
        &context.repository.absolute_root()?,
        fleet.settings.env_store.as_deref(),
    )
}

/// Opens the store that `grove.yml` names (`setting`), or the default folder under `root`.
pub fn open(root: &Path, setting: Option<&str>) -> Result<Box<dyn Store>, Failure> {
    let setting = setting.map(str::trim).filter(|s| !s.is_empty());
    match setting {
        None => Ok(Box::new(local::FolderStore::new(root.join(DEFAULT_STORE)))),
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
        grove_core::ErrorKind::InvalidInput,
        format!("grove.yml: ENV_STORE \"{value}\" is not usable: {why}"),
    ))
}

/// The key of an instance's manifest.
fn manifest_key(name: &InstanceName) -> String {
    format!("{name}/manifest.json")
}

/// The folder (key prefix) of one generation.
fn generation_prefix(name: &InstanceName, id: &str) -> String {
    format!("{name}/generations/{id}/")
}

/// What a pull found: the manifest and its version, or nothing (a first push).
struct Pulled {
    manifest: Manifest,
    tag: Tag,
}

/// `grove tutor sync`: pull `env/`, lay `env-overrides/` over it, save the config, push it back.
pub fn sync(context: &Context, name: &InstanceName) -> Result<(), Failure> {
    let (fleet, _) = context.repository.fleet_of(name)?;
    let store = open_for(context, &fleet)?;
    let instance_dir = context.repository.absolute_instance_dir(name)?;
    let work = folder::SyncFolders::new(&instance_dir);
    if work.recover()? {
        context.ui.info(format!(
            "restored instances/{name}/env from an interrupted sync"
        ));
    }

    let pulled = pull(store.as_ref(), name, &work)?;
    match &pulled {
        Some(p) => context.ui.info(format!(
            "pulled generation {} of {name} ({} files) from {}",
            p.manifest.generation,
            p.manifest.files.len(),
            store.describe()
        )),
        None => context.ui.info(format!(
            "{} has no env for {name} yet: this sync is its first push",
            store.describe()
        )),
    }
    folder::overlay(&work.overrides, &work.staging)?;
    work.swap_in()?;

    let outcome = tutor::run(context, name, ["config", "save"])
        .and_then(|()| folder::overlay(&work.overrides, &work.env))
        .and_then(|()| push(context, store.as_ref(), name, &work, pulled.as_ref()));
    match outcome {
        Ok(()) => work.finish(),
        Err(failure) => {
            work.roll_back()?;
            context.ui.info(format!(
                "instances/{name}/env is back as it was before this sync"
            ));
            Err(failure)
        }
    }
}

/// Deletes everything the store keeps of `name`, its manifest first, so that no reader ever
/// finds a generation half deleted. Whether there was anything; nothing there is fine. For
/// `grove preview down`, which removes a preview everywhere it is.
pub fn forget(context: &Context, name: &InstanceName) -> Result<bool, Failure> {
    let settings = context
        .repository
        .load(crate::repository::Scope::Only(Vec::new()))?;
    let store = open_for(context, &grove_core::Fleet::new(settings)?)?;
    let store = store.as_ref();
    let keys = store
        .list(&format!("{name}/"))
        .map_err(|e| e.into_failure(store, &format!("list the env of {name}")))?;
    if keys.is_empty() {
        return Ok(false);
    }
    let manifest = manifest_key(name);
    let doing = format!("delete the env of {name}");
    store
        .delete_many(vec![manifest.clone()])
        .map_err(|e| e.into_failure(store, &doing))?;
    store
        .delete_many(keys.into_iter().filter(|key| *key != manifest).collect())
        .map_err(|e| e.into_failure(store, &doing))?;
    context.ui.info(format!(
        "deleted the env of {name} from {}",
        store.describe()
    ));
    Ok(true)
}

/// Downloads the current generation into the staging folder (or, with nothing in the store,
/// copies the local `env/` there), checking every file against the manifest.
fn pull(
    store: &dyn Store,
    name: &InstanceName,
    work: &folder::SyncFolders,
) -> Result<Option<Pulled>, Failure> {
    work.clear_staging()?;
    let doing = format!("read the env of {name}");
    let Some((bytes, tag)) = store
        .get(&manifest_key(name))
        .map_err(|e| e.into_failure(store, &doing))?
    else {
        folder::copy_tree(&work.env, &work.staging)?;
        return Ok(None);
    };
    let manifest = Manifest::parse(&bytes).map_err(|why| {
        Failure::External(format!(
            "{}: {} is not a manifest Grove can read: {why}",
            store.describe(),
            manifest_key(name)
        ))
    })?;
    let prefix = generation_prefix(name, &manifest.id);
    let paths: Vec<&String> = manifest.files.keys().collect();
    let contents = store
        .get_many(paths.iter().map(|p| format!("{prefix}{p}")).collect())
        .map_err(|e| e.into_failure(store, &doing))?;
    let mut snapshot = Snapshot::default();
    for (path, bytes) in paths.into_iter().zip(contents) {
        let entry = &manifest.files[path];
        if manifest::sha256_hex(&bytes) != entry.sha256 {
            return Err(Failure::External(format!(
                "{}: {prefix}{path} does not match the SHA-256 in {}: the store was changed \
                 outside Grove; nothing was changed locally",
                store.describe(),
                manifest_key(name)
            )));
        }
        snapshot.insert(path.clone(), bytes, entry.executable);
    }
    snapshot.directories = manifest.directories.clone();
    snapshot.write_into(&work.staging)?;
    Ok(Some(Pulled { manifest, tag }))
}

/// Uploads `env/` as a new generation and flips the manifest to it, unless nothing changed.
fn push(
    context: &Context,
    store: &dyn Store,
    name: &InstanceName,
    work: &folder::SyncFolders,
    pulled: Option<&Pulled>,
) -> Result<(), Failure> {
    let snapshot = Snapshot::read(&work.env)?;
    if let Some(p) = pulled {
        if p.manifest.describes(&snapshot) {
            // Nothing to write, but the local env/ must still be the store's current one.
            match store.confirm(&manifest_key(name), &p.tag) {
                Ok(()) => {}
                Err(StoreError::Conflict) => return Err(conflict(store, name, pulled)),
                Err(e) => return Err(e.into_failure(store, &format!("read the env of {name}"))),
            }
            context.ui.info(format!(
                "env of {name} unchanged: generation {} stays current",
                p.manifest.generation
            ));
            return Ok(());
        }
    }
    let manifest = Manifest::next(pulled.map(|p| &p.manifest), &snapshot);
    let prefix = generation_prefix(name, &manifest.id);
    let objects: Vec<(String, Vec<u8>)> = snapshot
        .files
        .into_iter()
        .map(|(path, file)| (format!("{prefix}{path}"), file.bytes))
        .collect();
    let uploaded_keys: Vec<String> = objects.iter().map(|(k, _)| k.clone()).collect();
    let doing = format!("push the env of {name}");

    if let Err(e) = upload(store, objects) {
        discard(store, uploaded_keys);
        return Err(e.into_failure(store, &doing));
    }
    let expected = pulled.map(|p| &p.tag);
    match store.put_if(&manifest_key(name), manifest.to_bytes(), expected) {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            discard(store, uploaded_keys);
            return Err(conflict(store, name, pulled));
        }
        Err(StoreError::Failed(message)) => {
            // The write may have landed with its answer lost: keep the generation it names.
            return Err(Failure::External(format!(
                "{}: cannot flip {} to generation {}: {message}\nThe store holds either the \
                 generation it had or the new one, whole; run `grove tutor sync {name}` again.",
                store.describe(),
                manifest_key(name),
                manifest.generation
            )));
        }
    }
    context.ui.info(format!(
        "pushed generation {} of {name} ({} files) to {}",
        manifest.generation,
        manifest.files.len(),
        store.describe()
    ));
    prune(context, store, name, manifest.generation);
    Ok(())
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

/// The error for a manifest that changed since the pull, saying what is there now.
fn conflict(store: &dyn Store, name: &InstanceName, pulled: Option<&Pulled>) -> Failure {
    let before = match pulled {
        Some(p) => format!(
            "generation {} (pushed {} by {})",
            p.manifest.generation,
            p.manifest.pushed_when(),
            p.manifest.pushed_by
        ),
        None => "no env at all".to_string(),
    };
    let now = match store.get(&manifest_key(name)) {
        Ok(Some((bytes, _))) => match Manifest::parse(&bytes) {
            Ok(m) => format!(
                "generation {} (pushed {} by {})",
                m.generation,
                m.pushed_when(),
                m.pushed_by
            ),
            Err(_) => "a manifest Grove cannot read".to_string(),
        },
        Ok(None) => "no env at all (it was deleted)".to_string(),
        Err(_) => "something else (it could not be read back)".to_string(),
    };
    Failure::External(format!(
        "{}: the env of {name} changed since this sync pulled it: it was {before}, it is now \
         {now}.\nNothing was overwritten, and instances/{name}/env is back as it was. Run \
         `grove tutor sync {name}` again to build on the new generation.",
        store.describe()
    ))
}

/// Deletes generations more than [`GENERATIONS_KEPT`] behind `current`; failures only warn.
fn prune(context: &Context, store: &dyn Store, name: &InstanceName, current: u64) {
    let prefix = format!("{name}/generations/");
    let keys = match store.list(&prefix) {
        Ok(keys) => keys,
        Err(e) => {
            context.ui.info(format!(
                "warning: cannot list old generations of {name}: {e:?}"
            ));
            return;
        }
    };
    let old: Vec<String> = keys
        .into_iter()
        .filter(|key| {
            let id = key[prefix.len()..].split('/').next().unwrap_or_default();
            manifest::generation_number(id).is_some_and(|n| n + GENERATIONS_KEPT <= current)
        })
        .collect();
    if !old.is_empty() {
        if let Err(e) = store.delete_many(old) {
            context.ui.info(format!(
                "warning: cannot delete old generations of {name}: {e:?}"
            ));
        }
    }
}
