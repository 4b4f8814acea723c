"""Writes a synthetic cluster repository of N instances: the same files, byte for byte, as the
Rust `gen-fleet` example (core/examples/fleet_gen.rs), which `scripts/bench` checks.

Usage: python3 bench/gen_fleet.py N ROOT

Three edx-platform repositories, four versions, one instance in seven with batch upgrades
disabled, two requirements sets (one instance in four on the defaults' set). Prints the
batch-upgrade title that matches the most instances, as the Rust example does.
"""
import os
import sys

REPOS = (
    "https://github.com/openedx/edx-platform.git",
    "https://github.com/open-craft/edx-platform.git",
    "https://gitlab.example.org/campus/edx-platform.git",
)
VERSIONS = (
    "open-release/sumac.1",
    "open-release/sumac.2",
    "open-release/teak.1",
    "open-release/teak.2",
)
BASE_REQUIREMENTS = "tutor==22.0.3\n"
PLUGIN_REQUIREMENTS = "tutor==22.0.3\ntutor-mfe\n"


def batch_title():
    """The batch upgrade that matches the most instances."""
    return f"[AutoDeploy][Batch][Upgrade] {REPOS[0]}|{VERSIONS[0]}"


def instance_files(i):
    """The files of instance number `i`: (path, text) pairs."""
    name = f"inst-{i:05d}"
    repo = REPOS[i % 3] if i % 5 else REPOS[0]
    version = VERSIONS[(i // 3) % 4] if i % 2 else VERSIONS[0]
    config = "".join(
        f"{key}: {value}\n"
        for key, value in (
            ("LMS_HOST", f"{name}.courses.example.org"),
            ("CMS_HOST", f"studio.{name}.courses.example.org"),
            ("PLATFORM_NAME", f"Campus {i}"),
            ("CONTACT_EMAIL", f"ops+{i}@example.org"),
            ("EDX_PLATFORM_REPOSITORY", repo),
            ("EDX_PLATFORM_VERSION", version),
            ("ENABLE_HTTPS", "true"),
            ("K8S_NAMESPACE", name),
        )
    )
    disabled = "true" if i % 7 == 3 else "false"
    requirements = PLUGIN_REQUIREMENTS if i % 4 else BASE_REQUIREMENTS
    folder = f"instances/{name}"
    return (
        (f"{folder}/config.yml", config),
        (f"{folder}/grove.yml", f"BATCH_UPGRADE_DISABLED: {disabled}\n"),
        (f"{folder}/grove-requirements.txt", requirements),
    )


def fleet(n):
    """Every file of a fleet of `n` instances: (path, text) pairs."""
    # The instances' state outlives CI jobs (a deploying pipeline refuses a store that does not).
    yield "grove.yml", "ENV_STORE: s3://grove-state/fleet\n"
    yield "defaults/config.yml", (
        f"EDX_PLATFORM_REPOSITORY: {REPOS[0]}\nEDX_PLATFORM_VERSION: {VERSIONS[0]}\n"
    )
    yield "defaults/grove.yml", "BATCH_UPGRADE_DISABLED: false\n"
    yield "defaults/grove-requirements.txt", BASE_REQUIREMENTS
    for i in range(n):
        yield from instance_files(i)


def main():
    if len(sys.argv) != 3 or not sys.argv[1].isdigit():
        sys.exit("usage: gen_fleet.py N ROOT")
    n, root = int(sys.argv[1]), sys.argv[2]
    for path, text in fleet(n):
        path = os.path.join(root, path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    print(batch_title())


if __name__ == "__main__":
    main()
