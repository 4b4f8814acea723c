//! Preview instances on disk and on the cluster: `grove preview up` and `grove preview down`.
//!
//! `up` creates or updates `instances/NAME/` from the template instance in one idempotent step
//! (the preview's own config computed by [`grove_core::preview`]) and makes sure its namespace
//! exists, labelled as a preview. The pipeline's preview job then runs the usual
//! `venv → prepare → buildimage → predeploy → deploy → postdeploy` commands on it. `down`
//! archives the preview, deletes its namespace and removes its folder; a preview that is
//! already gone is success. Neither ever touches an instance or namespace that is not a
//! preview (exit 4).

use crate::failure::Failure;
use crate::process;
use crate::Context;
use grove_core::fleet::{CONFIG_FILE, INSTANCES_DIR, SETTINGS_FILE};
use grove_core::name::InstanceName;
use grove_core::preview::{self, Source, MARKER_FILE};
use grove_core::value::{Repository, RepositoryKind, Version};
use grove_core::{Cause, Error};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The namespace label that marks a preview's namespace (`grove-preview=true`).
const LABEL: &str = "grove-preview";

/// What `grove preview up` is given on its command line, unchecked.
pub struct UpArgs<'a> {
    /// The preview instance.
    pub name: &'a str,
    /// The template instance.
    pub template: &'a str,
    /// `edx-platform` or `theme`.
    pub kind: &'a str,
    /// The source repository.
    pub repository: &'a str,
    /// The source branch.
    pub version: &'a str,
    /// The preview's LMS host.
    pub host: &'a str,
}

/// An invalid command-line value (exit 5).
fn invalid(what: &str, message: impl std::fmt::Display) -> Failure {
    Failure::Core(Error::new(
        Cause::Value {
            what: what.to_string(),
        },
        format!("invalid {what}: {message}"),
    ))
}

/// Something that is there but is not a preview (exit 4).
fn not_a_preview(message: String) -> Failure {
    Failure::Core(Error::new(Cause::AlreadyExists, message))
}

fn name(what: &str, text: &str) -> Result<InstanceName, Failure> {
    InstanceName::parse(text).map_err(|e| invalid(what, e.message))
}

/// The state of the preview's namespace on the cluster.
enum Namespace {
    /// There is none.
    Absent,
    /// There is one, labelled as a preview.
    Preview,
    /// There is one, and it is not a preview's.
    Other,
}

/// Asks the cluster about namespace `name` (its name and preview label, or nothing).
fn namespace(context: &Context, name: &InstanceName) -> Result<Namespace, Failure> {
    let out = process::output(
        &context.ui,
        Command::new("kubectl").args([
            "get",
            "namespace",
            name.as_str(),
            "--ignore-not-found",
            "--output",
            &format!("jsonpath={{.metadata.name}}:{{.metadata.labels.{LABEL}}}"),
        ]),
    )?;
    Ok(match out.trim() {
        "" => Namespace::Absent,
        found if found == format!("{name}:true") => Namespace::Preview,
        _ => Namespace::Other,
    })
}

/// Whether `instances/NAME/` (resolved) is there, and if so, whether it is a preview's.
fn folder_state(dir: &Path) -> (bool, bool) {
    (dir.exists(), dir.join(MARKER_FILE).is_file())
}

/// The manifest of a preview's namespace: its name and the label that marks it a preview,
/// created in one call so that it is never there unlabelled.
fn namespace_manifest(name: &InstanceName) -> String {
    format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels:\n    {LABEL}: \"true\"\n"
    )
}

/// `grove preview up NAME --template T --kind K --repository R --version V --host H`.
pub fn up(context: &Context, args: &UpArgs<'_>) -> Result<(), Failure> {
    let name = name("preview name", args.name)?;
    let template = name_of_template(context, args.template)?;
    let kind = match args.kind {
        "edx-platform" => RepositoryKind::EdxPlatform,
        "theme" => RepositoryKind::Theme,
        other => {
            return Err(invalid(
                "--kind",
                format!("{other:?}; expected edx-platform or theme"),
            ))
        }
    };
    let repository =
        Repository::parse(args.repository).map_err(|e| invalid("--repository", e.message))?;
    // Only what a webhook of a trusted repository could have asked for: an https:// URL of a
    // trusted repository of that kind, or of a fork on its host when forks get previews.
    let webhooks = context.repository.settings()?.webhooks;
    let forks = webhooks.preview.as_ref().is_some_and(|p| p.allow_forks);
    grove_core::webhook::trusted_source(&webhooks, kind, repository.as_str(), forks).map_err(
        |message| {
            invalid(
                "--repository",
                format!("{:?}: {message}", repository.as_str()),
            )
        },
    )?;
    let version = Version::parse(args.version).map_err(|e| invalid("--version", e.message))?;
    grove_core::value::Host::parse(args.host).map_err(|m| invalid("--host", m))?;
    if name == template {
        return Err(not_a_preview(format!(
            "a preview cannot be its own template \"{template}\""
        )));
    }
    let source = Source {
        name: name.clone(),
        host: args.host.to_string(),
        kind,
        repository,
        version,
    };
    let repo = &context.repository;
    let target = repo.instance_dir(&name)?;
    if let (true, false) = folder_state(&target) {
        return Err(not_a_preview(format!(
            "{INSTANCES_DIR}/{name}/ exists and is not a preview (it has no {MARKER_FILE}); it is left alone"
        )));
    }
    let read = |file: &str| -> Result<String, Failure> {
        Ok(repo
            .read_text(&format!("{INSTANCES_DIR}/{template}/{file}"))?
            .unwrap_or_default())
    };
    let config = preview::config_yml(
        &format!("{INSTANCES_DIR}/{template}/{CONFIG_FILE}"),
        &read(CONFIG_FILE)?,
        &source,
    )?;
    let settings = preview::settings_yml(
        &format!("{INSTANCES_DIR}/{template}/{SETTINGS_FILE}"),
        &read(SETTINGS_FILE)?,
        &source,
    )?;
    match namespace(context, &name)? {
        Namespace::Other => {
            return Err(not_a_preview(format!(
                "namespace {name} exists on the cluster and is not labelled {LABEL}=true; it is left alone"
            )))
        }
        Namespace::Absent => {
            // `create`, never `apply`: a namespace someone else made in the meantime is not
            // taken over; the next `preview up` then finds it, labelled or not.
            process::run_with_input(
                &context.ui,
                Command::new("kubectl").args(["create", "-f", "-"]),
                namespace_manifest(&name).as_bytes(),
            )?;
        }
        Namespace::Preview => {}
    }
    let marker = format!(
        "# A preview instance made by `grove preview up`; `grove preview down {name}` removes it.\ntemplate: {template}\n"
    );
    let _lock = crate::state::lock(context, &name)?;
    write_folder(
        context,
        &name,
        &template,
        &[
            (CONFIG_FILE, config),
            (SETTINGS_FILE, settings),
            (MARKER_FILE, marker),
        ],
    )?;
    context.ui.info(format!(
        "preview {name} is up to date with {template}, from {} at {}",
        source.repository, source.version
    ));
    Ok(())
}

/// Checks the template instance's name and that it exists (exit 5, exit 3).
fn name_of_template(context: &Context, text: &str) -> Result<InstanceName, Failure> {
    let template = name("template instance", text)?;
    context.repository.require(&template)?;
    Ok(template)
}

/// Builds the preview's folder beside its place: the template's files (what belongs to one
/// instance only left out: its venv, its Tutor env, a preview marker), with `files` written
/// over them, then swaps it in. The old folder's venv and Tutor env are kept.
fn write_folder(
    context: &Context,
    name: &InstanceName,
    template: &InstanceName,
    files: &[(&str, String)],
) -> Result<(), Failure> {
    let boundary = context.repository.boundary()?;
    let parent = boundary.folder(INSTANCES_DIR, 0o777)?;
    let target = context.repository.instance_dir(name)?;
    let pid = std::process::id();
    let staging = parent.join(format!(".{name}.preview-{pid}"));
    let old = parent.join(format!(".{name}.old-{pid}"));
    let _ = fs::remove_dir_all(&staging);
    let result = boundary
        .copy_tree(
            &format!("{INSTANCES_DIR}/{template}"),
            &staging,
            &[".venv", "env", MARKER_FILE],
        )
        .and_then(|()| {
            (|| -> std::io::Result<()> {
                for (file, text) in files {
                    fs::write(staging.join(file), text)?;
                }
                if target.exists() {
                    for kept in [".venv", "env"] {
                        let from = target.join(kept);
                        if from.exists() {
                            fs::rename(&from, staging.join(kept))?;
                        }
                    }
                    fs::rename(&target, &old)?;
                }
                fs::rename(&staging, &target)?;
                if old.exists() {
                    fs::remove_dir_all(&old)?;
                }
                Ok(())
            })()
            .map_err(|e| Failure::io("write", &target, e))
        });
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    result
}

/// `grove preview down NAME`: archive the preview, delete its namespace, delete its state from
/// the store, remove its folder.
///
/// A preview that is already gone (no folder, no namespace) is success.
pub fn down(context: &Context, name_text: &str) -> Result<(), Failure> {
    let name = name("preview name", name_text)?;
    let dir: PathBuf = context.repository.instance_dir(&name)?;
    let (folder, marked) = folder_state(&dir);
    if folder && !marked {
        return Err(not_a_preview(format!(
            "{INSTANCES_DIR}/{name}/ is not a preview (it has no {MARKER_FILE}); it is left alone"
        )));
    }
    let namespace = namespace(context, &name)?;
    if let Namespace::Other = namespace {
        return Err(not_a_preview(format!(
            "namespace {name} exists on the cluster and is not labelled {LABEL}=true; it is left alone"
        )));
    }
    if !folder && matches!(namespace, Namespace::Absent) {
        // No instance of that name is in git, so what the store keeps of it is the preview's.
        if !crate::state::forget(context, &name)? {
            context
                .ui
                .info(format!("preview {name} is already gone: nothing to remove"));
        }
        return Ok(());
    }
    if let Namespace::Preview = namespace {
        if folder {
            // Stop the workloads first, as any archive does, so nothing writes while the
            // namespace goes away.
            crate::cluster::archive(context, &name)?;
        }
        process::run(
            &context.ui,
            Command::new("kubectl").args(["delete", "namespace", name.as_str(), "--wait=true"]),
        )?;
    }
    // The folder last: while it is there, a failed removal can be run again.
    crate::state::forget(context, &name)?;
    if folder {
        fs::remove_dir_all(&dir).map_err(|e| Failure::io("remove", &dir, e))?;
    }
    context
        .ui
        .info(format!("preview {name} is archived and removed"));
    Ok(())
}
