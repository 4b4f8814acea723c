//! `grove`: deploys and runs a fleet of Open edX instances from one git repository.
//!
//! This crate is the thin side of Grove that touches the world: it reads the cluster
//! repository, runs programs (never through a shell), writes files and prints. The deciding
//! is done by `grove-core`. The exit codes are README.md's table, decided in `failure`.

mod boundary;
mod by_hand;
mod cluster;
mod external;
mod failure;
mod gitlab;
mod image;
mod instance;
mod lock;
mod output;
mod preview;
mod process;
mod report;
mod repository;
mod state;
mod store;
mod terraform;
mod theme;
mod tutor;
mod venv;
mod webhook;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use failure::Failure;
use grove_core::name::InstanceName;
use grove_core::request::Need;
use grove_core::{Error, Fleet, Input};
use process::Ui;
use repository::Repository;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc instead of the C library's allocator: a batch upgrade allocates and frees millions
/// of small strings, across the threads that read the files, and musl's allocator (the tool
/// image's) and glibc's spend a quarter of the run on it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Deploys and runs a fleet of Open edX instances (Tutor on Kubernetes) from one git repository.
#[derive(Parser)]
#[command(name = "grove", version, about, long_about = None)]
struct Cli {
    /// The cluster repository (holds grove.yml, defaults/ and instances/).
    #[arg(long, global = true, env = "GROVE_ROOT", default_value = ".")]
    root: PathBuf,
    /// Print nothing but errors.
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Also print each command before it runs.
    #[arg(long, short, global = true)]
    verbose: bool,
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
        #[command(flatten)]
        jobs: JobArgs,
    },
    /// Writes the child pipeline for a GitLab or GitHub webhook payload to FILE.
    Webhookpipeline {
        /// Where to write the pipeline YAML.
        #[arg(long)]
        output: PathBuf,
        /// The payload file (GitLab hands a trigger's JSON body to the pipeline in
        /// $TRIGGER_PAYLOAD).
        #[arg(long, env = "TRIGGER_PAYLOAD")]
        payload: PathBuf,
        #[command(flatten)]
        jobs: JobArgs,
    },
    /// Explains what a commit title (or, with --webhook, a webhook payload) would do, writing
    /// nothing.
    Plan {
        /// The commit title.
        #[arg(
            allow_hyphen_values = true,
            required_unless_present = "webhook",
            conflicts_with = "webhook"
        )]
        title: Option<String>,
        /// Explain this webhook payload file instead of a title.
        #[arg(long, value_name = "FILE")]
        webhook: Option<PathBuf>,
        /// How to print the plan.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Also write the plan as JSON to FILE (the plan component keeps grove-plan.json).
        #[arg(long, value_name = "FILE")]
        json_file: Option<PathBuf>,
        /// Also create or update Grove's one note on the merge request ($CI_MERGE_REQUEST_IID
        /// of $CI_PROJECT_ID, through $CI_API_V4_URL) with the plan in Markdown, as the token in
        /// $GROVE_GITLAB_TOKEN; with no token, or outside a merge request pipeline, it says so
        /// and posts nothing.
        #[arg(long)]
        merge_request_note: bool,
        #[command(flatten)]
        jobs: JobArgs,
    },
    /// Creates instances/NAME from defaults/; fails if it exists. With --commit, commits those
    /// files to the cluster project on GitLab instead, titled to create the instance.
    New {
        /// The new instance's name.
        name: String,
        /// Make no folder here: commit the files `grove new NAME` would make, in one commit
        /// titled "[AutoDeploy][Create] NAME|ID", to --branch of $CI_PROJECT_ID through
        /// $CI_API_V4_URL, as the token in $GROVE_GITLAB_TOKEN; the push pipeline then creates
        /// the instance. Prints the commit's id.
        #[arg(long)]
        commit: bool,
        /// The deployment id in the commit's title (with --commit).
        #[arg(
            long,
            value_name = "ID",
            requires = "commit",
            allow_hyphen_values = true
        )]
        deployment_id: Option<String>,
        /// The branch to commit to (with --commit); $CI_DEFAULT_BRANCH unless given.
        #[arg(long, requires = "commit", allow_hyphen_values = true)]
        branch: Option<String>,
    },
    /// Creates instances/NAME from defaults/ if it is missing, then renders its Tutor config and
    /// env from git and the store, and stores the result (secrets included) for later jobs.
    Prepare {
        /// The instance.
        name: String,
        /// Use this edx-platform version for this run, over config.yml's (batch UpgradeTo).
        #[arg(long)]
        edx_platform_version: Option<String>,
        /// Write GROVE_STATE_GENERATION=NAME/ID, the generation this run made, to this dotenv
        /// file, so that the later jobs of a pipeline use exactly it.
        #[arg(long, value_name = "FILE")]
        dotenv: Option<PathBuf>,
    },
    /// Manages the Python virtual environments Tutor runs in: an instance's own .venv, or shared.
    Venv {
        #[command(subcommand)]
        action: VenvAction,
    },
    /// Runs Tutor for an instance, in its venv with TUTOR_ROOT set to its folder.
    Tutor {
        #[command(subcommand)]
        action: TutorAction,
    },
    /// Prepares an instance for deployment: clones its themes, writes SCSS overrides.
    Predeploy {
        /// The instance.
        name: String,
    },
    /// Deploys an instance to Kubernetes (Tutor's non-interactive k8s deployment).
    Deploy {
        /// The instance.
        name: String,
    },
    /// Finishes a deployment: enables the theme, restarts deployments to pull new images.
    Postdeploy {
        /// The instance.
        name: String,
    },
    /// Builds a Docker image of an instance (tutor images build), or a base image.
    Buildimage {
        /// The instance (omit with --base).
        #[arg(required_unless_present = "base")]
        name: Option<String>,
        /// The image, such as openedx.
        image: Option<String>,
        /// An image to use as a build cache.
        #[arg(long, alias = "cache_from")]
        cache_from: Option<String>,
        /// Build the base image IMAGE for --repository and --version instead of an instance's.
        #[arg(long, requires_all = ["repository", "version"])]
        base: bool,
        /// The edx-platform repository of the base image.
        #[arg(long)]
        repository: Option<String>,
        /// The edx-platform version of the base image.
        #[arg(long)]
        version: Option<String>,
    },
    /// Creates, updates or removes a pull request's preview instance.
    Preview {
        #[command(subcommand)]
        action: PreviewAction,
    },
    /// Archives an instance: stops its workloads and keeps its data.
    Archive {
        /// The instance.
        name: String,
    },
    /// Deletes an instance for good, once its folder is gone: its namespace (workloads and
    /// volumes), then its stored state. An instance already gone is success.
    Delete {
        /// The instance.
        name: String,
    },
    /// Runs Terraform for the cluster's infrastructure.
    Terraform {
        #[command(subcommand)]
        action: TerraformAction,
    },
    /// Prints a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Prints the man page.
    Man,
    /// `grove foo ...` runs `grove-foo ...` from PATH, with GROVE_ROOT set.
    #[command(external_subcommand)]
    External(Vec<OsString>),
}

/// Where and how the generated jobs run; the CI component gives these from its inputs.
#[derive(clap::Args)]
struct JobArgs {
    /// The image the generated jobs run in when grove.yml sets no PIPELINE_IMAGE (the CI
    /// component gives its own tool image).
    #[arg(long, env = "GROVE_PIPELINE_IMAGE", value_name = "IMAGE")]
    pipeline_image: Option<String>,
    /// The job of the parent pipeline that writes the pipeline files, which a sharded pipeline
    /// fetches its shard files from (the CI component's `<job-prefix>-generate`).
    #[arg(long, env = "GROVE_PARENT_JOB", value_name = "JOB", default_value = grove_core::render::PARENT_JOB)]
    parent_job: String,
    /// A service of the jobs that build Docker images, such as docker:dind (repeat it, or
    /// separate images with spaces); the first is the Docker daemon, reached as `docker`.
    #[arg(
        long = "image-builder-service",
        env = "GROVE_IMAGE_BUILDER_SERVICES",
        value_name = "IMAGE",
        value_delimiter = ' '
    )]
    image_builder_services: Vec<String>,
}

impl JobArgs {
    fn settings(self) -> repository::JobSettings {
        repository::JobSettings {
            image: self.pipeline_image,
            parent_job: self.parent_job,
            image_builder_services: self.image_builder_services,
        }
    }
}

#[derive(Subcommand)]
enum VenvAction {
    /// Creates or updates the venv from grove-requirements.txt; does nothing if unchanged.
    Update(VenvUpdate),
    /// Rebuilds the venv from scratch beside the old one, swapping only on success.
    Reset(VenvTarget),
    /// Starts $SHELL with the venv active and TUTOR_ROOT set.
    #[command(alias = "shell")]
    Activate {
        /// The instance.
        name: String,
    },
}

/// The instances whose venvs `grove venv update` builds, and which venvs.
#[derive(clap::Args)]
struct VenvUpdate {
    /// The instances.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    names: Vec<String>,
    /// Every instance, in parallel.
    #[arg(long)]
    all: bool,
    /// Build the shared venv of each distinct requirements set, .grove/venvs/HASH, once for all
    /// the instances that use it, relocatable (needs uv), instead of each instance's own .venv.
    #[arg(long)]
    shared: bool,
}

/// One instance, or all of them.
#[derive(clap::Args)]
struct VenvTarget {
    /// The instance.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    name: Option<String>,
    /// Every instance, in parallel.
    #[arg(long)]
    all: bool,
}

#[derive(Subcommand)]
enum TutorAction {
    /// `grove prepare` of an existing instance: pulls its state from the store, lays the git
    /// config and env-overrides/ over it, saves the config, pushes it.
    Sync {
        /// The instance.
        name: String,
    },
    /// Runs any Tutor command, given as one string split by shell-word rules (no shell runs).
    Exec {
        /// The instance.
        name: String,
        /// The Tutor command, such as "config printvalue LMS_HOST".
        #[arg(allow_hyphen_values = true)]
        command: String,
    },
}

#[derive(Subcommand)]
enum PreviewAction {
    /// Creates or updates instances/NAME from the template instance, with the pull request's
    /// source, and its labelled namespace; idempotent.
    Up {
        /// The preview instance.
        name: String,
        /// The instance the preview is copied from.
        #[arg(long)]
        template: String,
        /// What the source replaces: edx-platform or the first theme.
        #[arg(long, value_parser = ["edx-platform", "theme"])]
        kind: String,
        /// The source repository.
        #[arg(long, allow_hyphen_values = true)]
        repository: String,
        /// The source branch.
        #[arg(long, allow_hyphen_values = true)]
        version: String,
        /// The preview's LMS host (its CMS host is studio.HOST).
        #[arg(long)]
        host: String,
    },
    /// Archives the preview, deletes its namespace and removes its folder; a preview already
    /// gone is success.
    Down {
        /// The preview instance.
        name: String,
    },
}

#[derive(Subcommand)]
enum TerraformAction {
    /// terraform init and plan, saving the plan.
    Plan,
    /// terraform apply of the saved plan.
    Apply,
}

/// How `grove plan` prints.
#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// Plain words.
    Text,
    /// One JSON object.
    Json,
    /// Markdown, as the merge request note shows it.
    Markdown,
}

/// What every command gets: the repository, and how much to say.
pub struct Context {
    /// The cluster repository.
    pub repository: Repository,
    /// How much `grove` says.
    pub ui: Ui,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let context = Context {
        repository: Repository::new(cli.root),
        ui: Ui {
            quiet: cli.quiet,
            verbose: cli.verbose,
        },
    };
    match run(&context, cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            report::failure(&failure);
            ExitCode::from(failure.exit_code())
        }
    }
}

fn run(context: &Context, command: Command) -> Result<(), Failure> {
    match command {
        Command::Pipeline { title, file, jobs } => {
            let (dir, named) = output::shard_dir(&file)?;
            let options = jobs.settings().options(&context.repository, &named)?;
            let generated = generate(context, Input::Title(&title), &options)?;
            write_pipeline(context, &file, &dir, &generated)
        }
        Command::Webhookpipeline {
            output,
            payload,
            jobs,
        } => {
            let (dir, named) = output::shard_dir(&output)?;
            let options = jobs.settings().options(&context.repository, &named)?;
            let payload = webhook::read_payload(&payload)?;
            let generated = generate(context, Input::Webhook(&payload), &options)?;
            write_pipeline(context, &output, &dir, &generated)
        }
        Command::Plan {
            title,
            webhook,
            format,
            json_file,
            merge_request_note,
            jobs,
        } => {
            let options = jobs
                .settings()
                .options(&context.repository, grove_core::render::DEFAULT_SHARD_DIR)?;
            let (generated, subject) = match (webhook, title) {
                (Some(path), _) => {
                    let payload = webhook::read_payload(&path)?;
                    let generated = generate(context, Input::Webhook(&payload), &options)?;
                    (generated, format!("the webhook payload {}", path.display()))
                }
                (None, title) => {
                    let title = title.unwrap_or_default();
                    let generated = generate(context, Input::Title(&title), &options)?;
                    (generated, title)
                }
            };
            let plan = generated.report();
            let json = || -> Result<String, Failure> {
                let mut json = serde_json::to_string_pretty(&plan)
                    .map_err(|e| Failure::External(e.to_string()))?;
                json.push('\n');
                Ok(json)
            };
            if let Some(path) = &json_file {
                std::fs::write(path, json()?).map_err(|e| Failure::io("write", path, e))?;
            }
            let text = match format {
                Format::Text => plan.describe(),
                Format::Json => json()?,
                Format::Markdown => plan.markdown(),
            };
            print(&text)?;
            if merge_request_note {
                gitlab::post_plan(&context.ui, &plan, &subject)?;
            }
            Ok(())
        }
        Command::New {
            name,
            commit: true,
            deployment_id,
            branch,
        } => {
            let name = parse_name(&name)?;
            let deployment_id = deployment_id
                .map(|text| {
                    checked(
                        "--deployment-id",
                        &text,
                        grove_core::value::DeploymentId::parse,
                    )
                })
                .transpose()?;
            gitlab::commit_instance(context, &name, deployment_id, branch)
        }
        Command::New { name, .. } => {
            let name = parse_name(&name)?;
            instance::create(context, &name)?;
            context
                .ui
                .info(format!("created instances/{name} from defaults/"));
            Ok(())
        }
        Command::Prepare {
            name,
            edx_platform_version,
            dotenv,
        } => instance::prepare(
            context,
            &parse_name(&name)?,
            edx_platform_version.as_deref(),
            dotenv.as_deref(),
        ),
        Command::Venv { action } => match action {
            VenvAction::Update(target) => {
                let names = targets(context, target.all, target.names)?;
                if target.shared {
                    venv::update_shared(context, &names)
                } else {
                    venv::update(context, &names)
                }
            }
            VenvAction::Reset(target) => venv::reset(
                context,
                &targets(context, target.all, target.name.into_iter().collect())?,
            ),
            VenvAction::Activate { name } => by_hand::activate(context, &existing(context, &name)?),
        },
        Command::Tutor { action } => match action {
            TutorAction::Sync { name } => {
                instance::prepare(context, &existing(context, &name)?, None, None)
            }
            TutorAction::Exec { name, command } => {
                by_hand::exec(context, &existing(context, &name)?, &command)
            }
        },
        Command::Predeploy { name } => theme::predeploy(context, &existing(context, &name)?),
        Command::Deploy { name } => cluster::deploy(context, &existing(context, &name)?),
        Command::Postdeploy { name } => cluster::postdeploy(context, &existing(context, &name)?),
        Command::Buildimage {
            name,
            image,
            cache_from,
            base,
            repository,
            version,
        } => {
            if base {
                // With --base, the one positional is the image.
                let image = image.or(name).unwrap_or_else(|| "openedx".to_string());
                image::build_base(
                    context,
                    &image,
                    repository.as_deref().unwrap_or_default(),
                    version.as_deref().unwrap_or_default(),
                    cache_from.as_deref(),
                )
            } else {
                let name = existing(context, name.as_deref().unwrap_or_default())?;
                let image = image.unwrap_or_else(|| "openedx".to_string());
                image::build(context, &name, &image, cache_from.as_deref())
            }
        }
        Command::Preview { action } => match action {
            PreviewAction::Up {
                name,
                template,
                kind,
                repository,
                version,
                host,
            } => preview::up(
                context,
                &preview::UpArgs {
                    name: &name,
                    template: &template,
                    kind: &kind,
                    repository: &repository,
                    version: &version,
                    host: &host,
                },
            ),
            PreviewAction::Down { name } => preview::down(context, &name),
        },
        Command::Archive { name } => cluster::archive(context, &existing(context, &name)?),
        Command::Delete { name } => cluster::delete(context, &parse_name(&name)?),
        Command::Terraform { action } => match action {
            TerraformAction::Plan => terraform::plan(context),
            TerraformAction::Apply => terraform::apply(context),
        },
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "grove", &mut out);
            print(&String::from_utf8_lossy(&out))
        }
        Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut out)
                .map_err(|e| Failure::External(format!("cannot render the man page: {e}")))?;
            print(&String::from_utf8_lossy(&out))
        }
        Command::External(args) => external::run(context, &args),
    }
}

/// Writes to stdout, turning a closed pipe into a clean failure.
fn print(text: &str) -> Result<(), Failure> {
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(|e| Failure::External(format!("cannot write to stdout: {e}")))
}

/// Writes a generated pipeline (and its shards, if any, into `dir`) as one set, and says so.
fn write_pipeline(
    context: &Context,
    file: &std::path::Path,
    dir: &std::path::Path,
    generated: &grove_core::Generated,
) -> Result<(), Failure> {
    output::write(file, dir, generated)?;
    let shards = match generated.shards.len() {
        0 => String::new(),
        n => format!(
            ", triggering {n} shard pipeline{} ({} jobs) in {}",
            if n == 1 { "" } else { "s" },
            generated
                .shards
                .iter()
                .map(|s| s.content.pipeline.jobs.len())
                .sum::<usize>(),
            dir.display()
        ),
    };
    context.ui.info(format!(
        "wrote {} ({} jobs, {}) to {}{shards}",
        generated.plan.kind.as_str(),
        generated.main.pipeline.jobs.len(),
        summary(&generated.plan),
        file.display()
    ));
    Ok(())
}

/// Generates the pipeline of `input` (reading what its request needs of the repository),
/// after printing a title's warnings.
fn generate(
    context: &Context,
    input: Input<'_>,
    options: &grove_core::Options,
) -> Result<grove_core::Generated, Failure> {
    let generated = grove_core::generate(&context.repository, input, options)?;
    if let (Input::Title(title), false) = (input, generated.warnings.is_empty()) {
        report::diagnostics("commit title", title, None, &generated.warnings);
    }
    Ok(generated)
}

fn summary(plan: &grove_core::Plan) -> String {
    match plan.instances.len() {
        _ if plan.reason.is_some() => "nothing to deploy".to_string(),
        _ if plan.preview.is_some() => "1 preview".to_string(),
        1 => "1 instance".to_string(),
        n => format!("{n} instances"),
    }
}

/// Checks an instance name given on the command line (exit 5 if it is not one).
fn parse_name(text: &str) -> Result<InstanceName, Failure> {
    checked("instance name", text, InstanceName::parse)
}

/// Checks `text`, the `what` given on the command line, with `parse` (exit 5, pointing at what
/// is wrong in it).
fn checked<T>(
    what: &str,
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, grove_core::diagnostic::Invalid>,
) -> Result<T, Failure> {
    parse(text).map_err(|invalid| {
        Failure::Core(Error::located(
            grove_core::Cause::Value {
                what: what.to_string(),
            },
            format!("invalid {what}: {}", invalid.message),
            what,
            text,
            vec![invalid.at(0)],
        ))
    })
}

/// Checks a name and that the instance exists (exit 5, exit 3).
fn existing(context: &Context, text: &str) -> Result<InstanceName, Failure> {
    let name = parse_name(text)?;
    context.repository.require(&name)?;
    Ok(name)
}

/// The instances a venv command acts on: those named, or every instance with --all.
fn targets(context: &Context, all: bool, names: Vec<String>) -> Result<Vec<InstanceName>, Failure> {
    if all {
        let fleet = Fleet::new(context.repository.load(&Need::All)?)?;
        return Ok(fleet.names().cloned().collect());
    }
    if names.is_empty() {
        return Err(Failure::External("name an instance or pass --all".into()));
    }
    names.iter().map(|name| existing(context, name)).collect()
}
