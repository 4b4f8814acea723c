//! `grove`: deploys and runs a fleet of Open edX instances from one git repository.
//!
//! This crate is the thin side of Grove that touches the world: it reads the cluster
//! repository, calls `grove-core`, writes files and prints. Exit codes follow SPEC.md.

mod failure;
mod instance;
mod report;
mod repository;

use clap::{Parser, Subcommand, ValueEnum};
use failure::Failure;
use grove_core::name::InstanceName;
use grove_core::{Error, Fleet};
use repository::{Repository, Scope};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Deploys and runs a fleet of Open edX instances (Tutor on Kubernetes) from one git repository.
#[derive(Parser)]
#[command(name = "grove", version, about, long_about = None)]
struct Cli {
    /// The cluster repository (holds grove.yml, defaults/ and instances/).
    #[arg(long, global = true, env = "GROVE_ROOT", default_value = ".")]
    root: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes the child pipeline for a commit title to FILE.
    Pipeline {
        /// The commit title, such as "[AutoDeploy][Update] campus|42".
        #[arg(allow_hyphen_values = true)]
        title: String,
        /// Where to write the pipeline YAML.
        file: PathBuf,
    },
    /// Explains what a commit title would do, writing nothing.
    Plan {
        /// The commit title.
        #[arg(allow_hyphen_values = true)]
        title: String,
        /// How to print the plan.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Creates instances/NAME from defaults/.
    New {
        /// The new instance's name.
        name: String,
    },
}

/// How `grove plan` prints.
#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// Plain words.
    Text,
    /// One JSON object.
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let repository = Repository::new(cli.root);
    match run(&repository, cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            report::failure(&failure);
            ExitCode::from(failure.exit_code())
        }
    }
}

fn run(repository: &Repository, command: Command) -> Result<(), Failure> {
    match command {
        Command::Pipeline { title, file } => {
            let generated = generate(repository, &title)?;
            repository::write_atomically(&file, generated.yaml.as_bytes())?;
            eprintln!(
                "grove: wrote {} ({} jobs, {}) to {}",
                generated.plan.kind,
                generated.pipeline.jobs.len(),
                summary(&generated.plan),
                file.display()
            );
            Ok(())
        }
        Command::Plan { title, format } => {
            let generated = generate(repository, &title)?;
            let text = match format {
                Format::Text => generated.plan.describe(),
                Format::Json => {
                    let mut json = serde_json::to_string_pretty(&generated.plan)
                        .map_err(|e| Failure::External(e.to_string()))?;
                    json.push('\n');
                    json
                }
            };
            std::io::stdout()
                .write_all(text.as_bytes())
                .map_err(|e| Failure::External(format!("cannot write to stdout: {e}")))
        }
        Command::New { name } => {
            let name = parse_name(&name)?;
            instance::create(repository, &name)?;
            eprintln!("grove: created instances/{name} from defaults/");
            Ok(())
        }
    }
}

/// Parses a title, reads what it needs of the repository, and generates its pipeline.
fn generate(repository: &Repository, title: &str) -> Result<grove_core::Generated, Failure> {
    let (request, warnings) = grove_core::request_from_title(title)?;
    if !warnings.is_empty() {
        report::diagnostics("commit title", title, None, &warnings);
    }
    let scope = match request.named_instances() {
        Some(names) => Scope::Only(names),
        None => Scope::All,
    };
    let fleet = Fleet::new(repository.load(scope)?)?;
    Ok(grove_core::generate(&request, &fleet)?)
}

fn summary(plan: &grove_core::Plan) -> String {
    match plan.instances.len() {
        _ if plan.reason.is_some() => "nothing to deploy".to_string(),
        1 => "1 instance".to_string(),
        n => format!("{n} instances"),
    }
}

/// Checks an instance name given on the command line (exit 5 if it is not one).
fn parse_name(text: &str) -> Result<InstanceName, Failure> {
    InstanceName::parse(text).map_err(|invalid| {
        Failure::Core(Error::invalid(
            format!("invalid instance name: {}", invalid.message),
            "instance name",
            text,
            vec![invalid.at(0)],
        ))
    })
}
