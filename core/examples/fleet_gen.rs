//! A synthetic cluster repository of N instances, as data: the same files as
//! `bench/gen_fleet.py` writes (three edx-platform repositories, four versions, one instance in
//! seven with batch upgrades disabled, two requirements sets), which `scripts/bench` checks.
//! Shared by the `gen-fleet` example and the benchmarks.
#![allow(dead_code)]

use grove_core::Files;

/// The edx-platform repositories instances are built from.
pub const REPOS: [&str; 3] = [
    "https://github.com/openedx/edx-platform.git",
    "https://github.com/open-craft/edx-platform.git",
    "https://gitlab.example.org/campus/edx-platform.git",
];

/// The versions instances are on.
pub const VERSIONS: [&str; 4] = [
    "open-release/sumac.1",
    "open-release/sumac.2",
    "open-release/teak.1",
    "open-release/teak.2",
];

/// The title of the batch upgrade that matches the most instances.
pub fn batch_title() -> String {
    format!("[AutoDeploy][Batch][Upgrade] {}|{}", REPOS[0], VERSIONS[0])
}

/// The files of a fleet of `n` instances, path → text.
pub fn fleet(n: usize) -> Files {
    let mut files = Files::new();
    // The instances' state outlives CI jobs (a deploying pipeline refuses a store that does not).
    files.insert(
        "grove.yml".into(),
        "ENV_STORE: s3://grove-state/fleet\n".into(),
    );
    files.insert(
        "defaults/config.yml".into(),
        format!(
            "EDX_PLATFORM_REPOSITORY: {}\nEDX_PLATFORM_VERSION: {}\n",
            REPOS[0], VERSIONS[0]
        ),
    );
    files.insert(
        "defaults/grove.yml".into(),
        "BATCH_UPGRADE_DISABLED: false\n".into(),
    );
    files.insert(
        "defaults/grove-requirements.txt".into(),
        "tutor==22.0.3\n".into(),
    );
    for i in 0..n {
        let name = format!("inst-{i:05}");
        let repo = REPOS[if i % 5 != 0 { i % 3 } else { 0 }];
        let version = VERSIONS[if i % 2 != 0 { (i / 3) % 4 } else { 0 }];
        files.insert(
            format!("instances/{name}/config.yml"),
            format!(
                "LMS_HOST: {name}.courses.example.org\nCMS_HOST: studio.{name}.courses.example.org\n\
                 PLATFORM_NAME: Campus {i}\nCONTACT_EMAIL: ops+{i}@example.org\n\
                 EDX_PLATFORM_REPOSITORY: {repo}\nEDX_PLATFORM_VERSION: {version}\n\
                 ENABLE_HTTPS: true\nK8S_NAMESPACE: {name}\n"
            ),
        );
        files.insert(
            format!("instances/{name}/grove.yml"),
            format!(
                "BATCH_UPGRADE_DISABLED: {}\n",
                if i % 7 == 3 { "true" } else { "false" }
            ),
        );
        files.insert(
            format!("instances/{name}/grove-requirements.txt"),
            if i % 4 != 0 {
                "tutor==22.0.3\ntutor-mfe\n"
            } else {
                "tutor==22.0.3\n"
            }
            .into(),
        );
    }
    files
}
