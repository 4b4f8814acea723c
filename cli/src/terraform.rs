//! Terraform for the cluster's infrastructure: plan, apply, and the outputs instances use.

use crate::failure::Failure;
use crate::process;
use crate::Context;
use grove_core::name::InstanceName;
use grove_core::request::Need;
use grove_core::state::{Setting, SettingSource, SettingValue};
use std::path::PathBuf;
use std::process::Command;

/// Where `grove terraform plan` saves the plan that `apply` applies (the generated pipeline keeps
/// it as an artifact between the two jobs).
const PLAN_FILE: &str = grove_core::render::TERRAFORM_PLAN_FILE;

/// The Terraform folder, absolute, from `TERRAFORM_DIR` in grove.yml.
fn dir(context: &Context) -> Result<PathBuf, Failure> {
    let fleet = grove_core::Fleet::new(context.repository.load(&Need::Settings)?)?;
    Ok(context
        .repository
        .absolute_root()?
        .join(fleet.settings.terraform_dir()))
}

fn terraform(dir: &std::path::Path) -> Command {
    let mut command = Command::new("terraform");
    command.arg(format!("-chdir={}", dir.display()));
    command
}

/// `grove terraform plan`: init, then plan into `.grove/terraform.plan`.
pub fn plan(context: &Context) -> Result<(), Failure> {
    let dir = dir(context)?;
    context.repository.private_dir()?;
    let plan = context.repository.private_path(PLAN_FILE, false)?;
    process::run(&context.ui, terraform(&dir).args(["init", "-input=false"]))?;
    process::run(
        &context.ui,
        terraform(&dir)
            .args(["plan", "-input=false"])
            .arg(format!("-out={}", plan.display())),
    )
}

/// `grove terraform apply`: apply the plan `grove terraform plan` saved.
pub fn apply(context: &Context) -> Result<(), Failure> {
    let dir = dir(context)?;
    let plan = context.repository.private_path(PLAN_FILE, false)?;
    if !plan.is_file() {
        return Err(Failure::External(format!(
            "{PLAN_FILE} is missing: run `grove terraform plan` first"
        )));
    }
    process::run(&context.ui, terraform(&dir).args(["init", "-input=false"]))?;
    process::run(
        &context.ui,
        terraform(&dir).args(["apply", "-input=false"]).arg(&plan),
    )
}

/// The Tutor settings Terraform outputs for one instance, when the infrastructure exists.
///
/// They come from the output `instances` (a map of instance name → map of Tutor setting →
/// value: a string, an integer or a boolean). No Terraform folder, or no such output, means no
/// settings. Values never appear in messages: an output may be a password.
pub fn instance_settings(context: &Context, name: &InstanceName) -> Result<Vec<Setting>, Failure> {
    let dir = dir(context)?;
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let text = process::output(&context.ui, terraform(&dir).args(["output", "-json"]))?;
    let outputs: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Failure::External(format!(
            "`terraform output -json` printed invalid JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let Some(settings) = outputs["instances"]["value"][name.as_str()].as_object() else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for (key, value) in settings {
        let key_ok = !key.is_empty()
            && key.len() <= 128
            && key
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !key_ok {
            return Err(Failure::External(format!(
                "terraform output instances.{name} has a key that is not a Tutor setting: Tutor settings are UPPER_CASE"
            )));
        }
        let value = match value {
            serde_json::Value::String(s) => Some(SettingValue::Text(s.clone())),
            serde_json::Value::Bool(b) => Some(SettingValue::Bool(*b)),
            serde_json::Value::Number(n) => n.as_i64().map(SettingValue::Integer),
            _ => None,
        };
        let Some(value) = value else {
            return Err(Failure::External(format!(
                "terraform output instances.{name}.{key} is not a string, an integer or a boolean"
            )));
        };
        found.push(Setting {
            key: key.clone(),
            value,
            source: SettingSource::Terraform,
        });
    }
    Ok(found)
}
