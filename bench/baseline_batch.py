"""The anchor Grove's speed is measured against: the batch-upgrade pipeline Grove writes, made
the way the original Python tool would make it, with PyYAML and Jinja2.

Usage: python baseline_batch.py [--times] [--libyaml] ROOT OUT REPO|VERSION...

It reads the cluster repository at ROOT as that tool did: the root grove.yml (its LIMITS), then
every instances/NAME/config.yml and grove.yml with yaml.safe_load; it takes the instances built
from one of the REPO|VERSION pairs whose BATCH_UPGRADE_DISABLED is not true, hashes their
grove-requirements.txt (else defaults/grove-requirements.txt, else "none"), and renders its
own Jinja2 templates (bench/templates/) into YAML text, which it reads back with
yaml.safe_load and writes with yaml.safe_dump. The jobs are Grove's: base-image:N, one venv:N per requirements set of a file,
build:NAME and release:NAME; a batch too big for GitLab's limits is written, as Grove writes it,
as OUT (base images, grove-shards, one grove-shard:N trigger per shard) and OUT's shard folder
(OUT without .yml, then -shards/) of shard-N.yml files. scripts/bench checks that its jobs and
their needs are Grove's. It checks nothing else (no value, no limit beyond the job count).

--times prints, on stderr, the seconds spent reading, rendering, and reading back and writing.
--libyaml reads and writes every YAML file with PyYAML's C bindings to libyaml (CSafeLoader,
CSafeDumper) instead of yaml.safe_load and yaml.safe_dump: a faster anchor than the original
tool was, measured beside it.
"""
import hashlib
import json
import os
import sys
import time

import jinja2
import yaml

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
# GitLab's limits, as Grove's LIMITS defaults them.
LIMITS = {"needs_per_job": 50, "jobs_per_pipeline": 500, "artifact_yaml_bytes": 5 * 1024 * 1024}
PARENT_JOB = "grove-generate"
# PyYAML's pure-Python loader and dumper, as yaml.safe_load and yaml.safe_dump use them, unless
# --libyaml.
YAML = {"loader": yaml.SafeLoader, "dumper": yaml.SafeDumper}


def read_yaml(path):
    """A YAML file as Python data ({} when empty), or None when it is not there."""
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.load(f, Loader=YAML["loader"]) or {}
    except FileNotFoundError:
        return None


def short_hash(path):
    """The first 16 hex digits of the SHA-256 of a file, or None when it is not there."""
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()[:16]
    except FileNotFoundError:
        return None


def select(root, pairs):
    """The instances the batch upgrades, by name, and the base images, in order of first use."""
    defaults_hash = short_hash(os.path.join(root, "defaults", "grove-requirements.txt"))
    instances, images = [], {}
    base = os.path.join(root, "instances")
    for name in sorted(os.listdir(base)):
        if name.startswith("."):
            continue
        folder = os.path.join(base, name)
        config = read_yaml(os.path.join(folder, "config.yml"))
        if config is None:
            continue
        settings = read_yaml(os.path.join(folder, "grove.yml")) or {}
        pair = (config.get("EDX_PLATFORM_REPOSITORY"), config.get("EDX_PLATFORM_VERSION"))
        if pair not in pairs or settings.get("BATCH_UPGRADE_DISABLED") is True:
            continue
        image = images.setdefault(pair, len(images))
        requirements = short_hash(os.path.join(folder, "grove-requirements.txt"))
        instances.append(
            {
                "name": name,
                "host": config.get("LMS_HOST"),
                "image": image,
                "hash": requirements or defaults_hash or "none",
            }
        )
    return instances, list(images)


def requirements_sets(instances):
    return len({i["hash"] for i in instances})


def pipeline_context(instances, images, in_shard):
    """What pipeline.yml.j2 sees for a file of `instances` (a shard builds no base image)."""
    venvs, by_hash, rows = [], {}, []
    for i in instances:
        venv = by_hash.get(i["hash"])
        if venv is None:
            venv = {
                "job": f"venv:{len(venvs) + 1}",
                "name": i["name"],
                "key": f"venv-{i['hash']}",
                "path": f".grove/venvs/{i['hash']}/",
            }
            venvs.append(venv)
            by_hash[i["hash"]] = venv
        needs = [venv["job"]] + ([] if in_shard else [f"base-image:{i['image'] + 1}"])
        rows.append({"name": i["name"], "host": i["host"], "venv": venv, "build_needs": needs})
    base_images = [] if in_shard else image_rows(images)
    stages = (["base-image"] if base_images else []) + (["venv", "build", "release"] if rows else [])
    return {"stages": stages, "base_images": base_images, "venvs": venvs, "instances": rows}


def image_rows(images):
    return [
        {"job": f"base-image:{n + 1}", "repository": repo, "version": version}
        for n, (repo, version) in enumerate(images)
    ]


def pack(instances, limits):
    """Instances in shards, as Grove packs them: in order, grouped by base image, as many as the
    job limit leaves room for beside the venv jobs, with at most needs_per_job - 1 base images."""
    room = max(limits["jobs_per_pipeline"] - requirements_sets(instances), 0)
    capacity = max(room // 2, 1)
    images_per_shard = limits["needs_per_job"] - 1
    shards, shard, images = [], [], set()
    for i in sorted(instances, key=lambda i: i["image"]):
        new_image = i["image"] not in images
        if len(shard) == capacity or (new_image and len(images) == images_per_shard):
            shards.append(shard)
            shard, images = [], set()
        images.add(i["image"])
        shard.append(i)
    if shard:
        shards.append(shard)
    return shards


def shard_dir(out):
    for suffix in (".yml", ".yaml"):
        if out.endswith(suffix):
            return out[: -len(suffix)] + "-shards"
    return out + "-shards"


def render(root, out, pairs, times):
    started = time.perf_counter()
    settings = read_yaml(os.path.join(root, "grove.yml")) or {}
    limits = {**LIMITS, **(settings.get("LIMITS") or {})}
    instances, images = select(root, pairs)
    read = time.perf_counter()

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=False, keep_trailing_newline=True
    )
    env.filters["q"] = json.dumps
    pipeline = env.get_template("pipeline.yml.j2")
    files = {}
    estimated = 2 * len(instances) + requirements_sets(instances) + len(images)
    if estimated <= limits["jobs_per_pipeline"] or len(instances) < 2:
        files[out] = pipeline.render(pipeline_context(instances, images, in_shard=False))
    if out not in files or (
        len(files[out]) > limits["artifact_yaml_bytes"] and len(instances) >= 2
    ):
        folder = shard_dir(out)
        shards = []
        for number, members in enumerate(pack(instances, limits), 1):
            name = f"shard-{number}.yml"
            files[os.path.join(folder, name)] = pipeline.render(
                pipeline_context(members, images, in_shard=True)
            )
            used = sorted({m["image"] for m in members})
            needs = [f"base-image:{b + 1}" for b in used]
            shards.append({"number": number, "file": name, "needs": needs})
        files[out] = env.get_template("shards.yml.j2").render(
            base_images=image_rows(images), shards=shards, shard_dir=folder, parent_job=PARENT_JOB
        )
    rendered = time.perf_counter()

    for path, text in files.items():
        document = yaml.load(text, Loader=YAML["loader"])
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            yaml.dump(document, f, Dumper=YAML["dumper"], sort_keys=False, width=1000)
    written = time.perf_counter()
    if times:
        print(
            f"baseline: read {read - started:.3f} s, render {rendered - read:.3f} s, "
            f"read back and write {written - rendered:.3f} s",
            file=sys.stderr,
        )
    return len(instances), len(files)


def main():
    args = sys.argv[1:]
    times = "--times" in args
    if "--libyaml" in args:
        YAML.update(loader=yaml.CSafeLoader, dumper=yaml.CSafeDumper)
    args = [a for a in args if a not in ("--times", "--libyaml")]
    if len(args) < 3 or any("|" not in p for p in args[2:]):
        sys.exit("usage: baseline_batch.py [--times] [--libyaml] ROOT OUT REPO|VERSION...")
    root, out = args[0], args[1]
    pairs = {tuple(p.split("|", 1)) for p in args[2:]}
    instances, files = render(root, out, pairs, times)
    print(f"baseline: {instances} instances in {files} files")


if __name__ == "__main__":
    main()
