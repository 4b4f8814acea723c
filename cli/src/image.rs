//! Docker images: an instance's (`tutor images build`), and base images for batch upgrades.

use crate::failure::Failure;
use crate::tutor;
use crate::Context;
use grove_core::name::InstanceName;
use grove_core::value::{Repository, Version};
use grove_core::{Cause, Error};

/// Checks an image name or reference given on the command line.
fn checked<'a>(what: &str, value: &'a str) -> Result<&'a str, Failure> {
    let ok = !value.is_empty()
        && !value.starts_with('-')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c));
    if ok {
        Ok(value)
    } else {
        Err(Failure::Core(Error::new(
            Cause::Value { what: what.to_string() },
            format!("invalid {what} {value:?}: use letters, digits and . _ - / : @, not starting with -"),
        )))
    }
}

/// The arguments of `tutor images build` for one image, each value checked first.
fn build_args(image: &str, cache_from: Option<&str>) -> Result<Vec<String>, Failure> {
    let mut args = vec![
        "images".to_string(),
        "build".to_string(),
        checked("image", image)?.to_string(),
    ];
    if let Some(reference) = cache_from {
        let reference = checked("--cache-from reference", reference)?;
        // `tutor images build` has no cache-from flag of its own: docker gets it.
        args.push(format!("--docker-arg=--cache-from={reference}"));
    }
    Ok(args)
}

/// `grove buildimage NAME IMAGE [--cache-from REF]`: build and push an instance's image.
pub fn build(
    context: &Context,
    name: &InstanceName,
    image: &str,
    cache_from: Option<&str>,
) -> Result<(), Failure> {
    let args = build_args(image, cache_from)?;
    let root = crate::state::open(context, name)?;
    root.run(context, args)?;
    root.run(context, ["images", "push", image])?;
    context
        .ui
        .info(format!("built and pushed the {image} image of {name}"));
    Ok(())
}

/// `grove buildimage --base IMAGE --repository R --version V`: the base image that a batch
/// upgrade rebuilds instances on, built with the defaults' Tutor.
pub fn build_base(
    context: &Context,
    image: &str,
    repository: &str,
    version: &str,
    cache_from: Option<&str>,
) -> Result<(), Failure> {
    let build = build_args(image, cache_from)?;
    let invalid = |what: &str, message: String| {
        Failure::Core(Error::new(
            Cause::Value {
                what: what.to_string(),
            },
            format!("invalid {what}: {message}"),
        ))
    };
    let repository =
        Repository::parse_remote(repository).map_err(|e| invalid("--repository", e.message))?;
    let version = Version::parse(version).map_err(|e| invalid("--version", e.message))?;
    let (root, venv) = crate::venv::ensure_base(context)?;
    // The base root's config is Tutor's own, throwaway: it builds an image, deploys nothing.
    let mut save = tutor::command_in(&root, &venv);
    save.args(["config", "save"])
        .arg("--set")
        .arg(tutor::setting(
            "EDX_PLATFORM_REPOSITORY",
            repository.as_str(),
        ))
        .arg("--set")
        .arg(tutor::setting("EDX_PLATFORM_VERSION", version.as_str()));
    crate::process::run(&context.ui, &mut save)?;
    let mut command = tutor::command_in(&root, &venv);
    command.args(build);
    crate::process::run(&context.ui, &mut command)?;
    let mut push = tutor::command_in(&root, &venv);
    push.args(["images", "push", image]);
    crate::process::run(&context.ui, &mut push)?;
    context.ui.info(format!(
        "built and pushed the base {image} image for {repository} at {version}"
    ));
    Ok(())
}
