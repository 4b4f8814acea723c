//! What Grove does to an instance on the Kubernetes cluster: deploy, post-deploy, archive,
//! delete.

use crate::failure::Failure;
use crate::process;
use crate::state;
use crate::Context;
use grove_core::fleet::{CONFIG_FILE, INSTANCES_DIR};
use grove_core::name::InstanceName;
use grove_core::{Cause, Error};
use std::process::Command;

fn kubectl(namespace: &str) -> Command {
    let mut command = Command::new("kubectl");
    command.arg("--namespace").arg(namespace);
    command
}

/// `grove deploy`: Tutor's non-interactive Kubernetes deployment.
pub fn deploy(context: &Context, name: &InstanceName) -> Result<(), Failure> {
    let root = state::open(context, name)?;
    root.run(context, ["k8s", "launch", "--non-interactive"])?;
    context.ui.info(format!("deployed {name}"));
    Ok(())
}

/// `grove postdeploy`: enable the instance's theme, then restart its deployments so that
/// updated images are pulled.
pub fn postdeploy(context: &Context, name: &InstanceName) -> Result<(), Failure> {
    let (_, instance) = context.repository.fleet_of(name)?;
    let root = state::open(context, name)?;
    if let Some(theme) = instance.settings.themes.first() {
        root.run(context, ["k8s", "do", "settheme", theme.name.as_str()])?;
    }
    let namespace = root.namespace()?;
    process::run(
        &context.ui,
        kubectl(&namespace).args(["rollout", "restart", "deployment"]),
    )?;
    context
        .ui
        .info(format!("restarted the deployments of {name}"));
    Ok(())
}

/// Whether the cluster has namespace `namespace`. Only an answer counts: a kubectl that cannot
/// ask (no cluster reached, no permission) fails (exit 1), never reads as "gone", since Delete
/// then forgets the instance's state and Archive reports success.
fn namespace_exists(context: &Context, namespace: &str) -> Result<bool, Failure> {
    let found = process::output(
        &context.ui,
        Command::new("kubectl").args([
            "get",
            "namespace",
            namespace,
            "--ignore-not-found",
            "--output",
            "name",
        ]),
    )?;
    Ok(!found.trim().is_empty())
}

/// `grove archive`: scale every deployment of the instance to zero, keeping its volumes.
///
/// Archiving an archived instance (nothing running, or no namespace) succeeds and changes nothing.
pub fn archive(context: &Context, name: &InstanceName) -> Result<(), Failure> {
    let namespace = state::namespace(context, name)?;
    if !namespace_exists(context, &namespace)? {
        context.ui.info(format!(
            "{name} is already archived: namespace {namespace} is gone"
        ));
        return Ok(());
    }
    let running = process::output(
        &context.ui,
        kubectl(&namespace).args([
            "get",
            "deployments",
            "--output",
            "jsonpath={range .items[?(@.spec.replicas>0)]}{.metadata.name}{\"\\n\"}{end}",
        ]),
    )?;
    let running: Vec<&str> = running.lines().filter(|l| !l.trim().is_empty()).collect();
    if running.is_empty() {
        context
            .ui
            .info(format!("{name} is already archived: nothing is running"));
        return Ok(());
    }
    // The resource/name form keeps every name an operand, never an option.
    let mut args: Vec<String> = vec!["scale".into(), "--replicas=0".into()];
    args.extend(running.iter().map(|d| format!("deployment/{}", d.trim())));
    process::run(&context.ui, kubectl(&namespace).args(&args))?;
    context.ui.info(format!(
        "archived {name}: {} deployment{} scaled to zero, volumes kept",
        running.len(),
        if running.len() == 1 { "" } else { "s" }
    ));
    Ok(())
}

/// Namespaces that are never an instance's, whatever a stored state says.
const SYSTEM_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

/// `grove delete NAME`: removes an instance for good, once its folder is gone from the
/// checkout (the commit that deletes it removes it, so that no later Terraform run recreates
/// it): its namespace, with its workloads and volumes, then its stored state and its Tutor
/// root. The namespace comes from the stored state. Every step is idempotent, and an instance
/// already gone is success; killed half-way, the next run finishes the work.
pub fn delete(context: &Context, name: &InstanceName) -> Result<(), Failure> {
    let config = format!("{INSTANCES_DIR}/{name}/{CONFIG_FILE}");
    if context.repository.require(name).is_ok() {
        return Err(Failure::Core(Error::new(
            Cause::file(&config),
            format!(
                "instance \"{name}\" is still in the checkout ({config} exists): remove its folder in \
                 the commit that deletes it (`git rm -r {INSTANCES_DIR}/{name}`), so that no later \
                 Terraform run recreates it"
            ),
        )));
    }
    let namespace = state::namespace(context, name)?;
    if SYSTEM_NAMESPACES.contains(&namespace.as_str()) {
        return Err(Failure::Core(Error::new(
            Cause::setting(&config, "K8S_NAMESPACE"),
            format!("the namespace of {name} is {namespace}, which is Kubernetes' own: Grove deletes no such namespace"),
        )));
    }
    if namespace_exists(context, &namespace)? {
        process::run(
            &context.ui,
            Command::new("kubectl").args([
                "delete",
                "namespace",
                namespace.as_str(),
                "--ignore-not-found",
                "--wait=true",
            ]),
        )?;
        context
            .ui
            .info(format!("deleted namespace {namespace} of {name}"));
    } else {
        context
            .ui
            .info(format!("namespace {namespace} of {name} is already gone"));
    }
    state::forget(context, name)?;
    Ok(())
}
