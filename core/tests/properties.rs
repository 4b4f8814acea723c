//! Properties over generated requests: every valid request renders a pipeline that passes the
//! structural checks; printing a request as a title and parsing it back gives it again; and no
//! value from the request appears anywhere but in an unexpanded variable.

use grove_core::generate::plan_and_render;
use grove_core::name::InstanceName;
use grove_core::request::{PlatformRef, Request, Target};
use grove_core::title::parse_title;
use grove_core::value::{CommitHash, DeploymentId, Repository, Version};
use grove_core::{Files, Generated, Options, Prepared};
use proptest::prelude::*;

fn name() -> impl Strategy<Value = InstanceName> {
    "[a-z][a-z0-9-]{0,30}[a-z0-9]".prop_map(|s| InstanceName::parse(&s).unwrap())
}

/// Deployment ids with a distinctive prefix, so that finding one in the YAML means it is there.
fn deployment_id() -> impl Strategy<Value = DeploymentId> {
    "[A-Za-z0-9._]{1,20}".prop_filter_map("valid", |s| DeploymentId::parse(&format!("id-{s}")).ok())
}

fn repository() -> impl Strategy<Value = Repository> {
    "[a-z]{1,10}(/[a-z0-9_.@~+%-]{1,12}){1,3}".prop_filter_map("valid", |s| {
        Repository::parse(&format!("https://git.example.org/{s}.git")).ok()
    })
}

fn version() -> impl Strategy<Value = Version> {
    "[a-z0-9][a-z0-9_+-]{0,10}(/[a-z0-9_+-]{1,10}){0,2}"
        .prop_filter_map("valid", |s| Version::parse(&format!("rel/{s}")).ok())
}

fn targets() -> impl Strategy<Value = Vec<Target>> {
    prop::collection::btree_map(name(), prop::option::of(deployment_id()), 1..6).prop_map(|map| {
        map.into_iter()
            .map(|(name, deployment_id)| Target {
                name,
                deployment_id,
            })
            .collect()
    })
}

/// One to three distinct (repository, version) pairs.
fn platform_refs() -> impl Strategy<Value = Vec<PlatformRef>> {
    prop::collection::btree_set((repository(), version()), 1..4).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(repository, version)| PlatformRef {
                repository,
                version,
            })
            .collect()
    })
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        Just(Request::Nothing),
        // A message that starts with `[` reads as a second tag after the type, which the
        // title grammar refuses (a misplaced `[Upgrade]` is more likely than such a message).
        "([!-Z\\\\-~][ -~]{0,39})?".prop_map(|message| Request::Infrastructure {
            message: message.trim().to_string()
        }),
        targets().prop_map(Request::Create),
        targets().prop_map(Request::Update),
        prop::collection::btree_set(name(), 1..6)
            .prop_map(|names| Request::Archive(names.into_iter().collect())),
        prop::collection::btree_set(name(), 1..6)
            .prop_map(|names| Request::Delete(names.into_iter().collect())),
        platform_refs().prop_map(Request::BuildImage),
        platform_refs().prop_map(Request::BatchUpgrade),
        "[0-9a-f]{7,40}".prop_map(|c| Request::BatchUpgradeTo(CommitHash::parse(&c).unwrap())),
    ]
}

/// A fleet that holds every instance the request names, built from the request's own pairs
/// (so that batch upgrades match something), plus one instance with batch upgrades disabled;
/// with a Terraform configuration, and without the folders of the instances a Delete names.
fn fleet_for(request: &Request) -> Files {
    let mut files = Files::new();
    files.insert("infrastructure/main.tf".into(), String::new());
    files.insert("defaults/grove-requirements.txt".into(), "tutor\n".into());
    files.insert(
        "grove.yml".into(),
        "ENV_STORE: s3://grove-state/fleet\n".into(),
    );
    let mut add = |name: &str, repository: &str, version: &str, disabled: bool| {
        files.insert(
            format!("instances/{name}/config.yml"),
            format!("EDX_PLATFORM_REPOSITORY: {repository}\nEDX_PLATFORM_VERSION: {version}\n"),
        );
        files.insert(
            format!("instances/{name}/grove.yml"),
            format!("BATCH_UPGRADE_DISABLED: {disabled}\n"),
        );
    };
    match request {
        Request::Update(targets) | Request::Create(targets) => {
            for t in targets {
                add(t.name.as_str(), "https://x.org/a.git", "main", false);
            }
        }
        Request::Archive(names) => {
            for n in names {
                add(n.as_str(), "https://x.org/a.git", "main", false);
            }
        }
        Request::BatchUpgrade(pairs) => {
            for (i, pair) in pairs.iter().enumerate() {
                add(
                    &format!("inst-{i}"),
                    pair.repository.as_str(),
                    pair.version.as_str(),
                    false,
                );
                add(
                    &format!("off-{i}"),
                    pair.repository.as_str(),
                    pair.version.as_str(),
                    true,
                );
            }
        }
        _ => add("campus", "https://x.org/a.git", "main", false),
    }
    files
}

/// What core makes of `request` against the fleet made for it.
fn generate(request: &Request) -> Generated {
    let options = Options::default();
    let prepared = Prepared::new(fleet_for(request), &options).unwrap();
    plan_and_render(request.clone(), Vec::new(), &prepared, &options).unwrap()
}

/// The values of a request that must never leave unexpanded variables.
fn free_values(request: &Request) -> Vec<String> {
    match request {
        Request::Create(targets) | Request::Update(targets) => targets
            .iter()
            .filter_map(|t| t.deployment_id.as_ref().map(|d| d.to_string()))
            .collect(),
        Request::BatchUpgrade(pairs) | Request::BuildImage(pairs) => pairs
            .iter()
            .flat_map(|p| [p.repository.to_string(), p.version.to_string()])
            .collect(),
        Request::BatchUpgradeTo(commit) => vec![commit.to_string()],
        _ => Vec::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_valid_request_renders_a_pipeline_that_passes_the_checks(request in request()) {
        let generated = generate(&request);
        generated.main.pipeline.check().unwrap();
        prop_assert!(!generated.main.pipeline.jobs.is_empty());
    }

    #[test]
    fn printing_a_request_and_parsing_it_back_gives_it_again(request in request()) {
        let title = request.to_title();
        let parsed = parse_title(&title);
        prop_assert_eq!(parsed.value, Some(request), "{}", title);
    }

    #[test]
    fn request_values_appear_only_in_unexpanded_variables(request in request()) {
        let generated = generate(&request);
        for value in free_values(&request) {
            for line in generated.main.yaml.lines().filter(|l| l.contains(value.as_str())) {
                let line = line.trim_start();
                let is_variable = line.contains(": {value: \"") && line.ends_with("\", expand: false}");
                prop_assert!(is_variable, "{:?} appears outside a variable: {:?}", value, line);
            }
        }
        for job in &generated.main.pipeline.jobs {
            for variable in &job.variables {
                prop_assert!(!variable.expand, "{} in {} expands", variable.name, job.name);
            }
        }
    }
}
