"""The jobs of a written pipeline (OUT and its shard folder, OUT without .yml then -shards/), for
scripts/bench.

Usage:
  python jobs.py compare ROOT EXPECTED_OUT ACTUAL_OUT
      Fails (exit 1), listing the differences, unless both pipelines have the same files, and
      in each file the same jobs with the same stage and needs (in order).
  python jobs.py shape ROOT OUT
      Prints, one `key: value` a line: the instances named by jobs, the most jobs naming one
      instance (a job `STEP:NAME` names the instance NAME of ROOT/instances/), the venv jobs
      (stage venv), the shard files, the jobs, and the bytes of YAML of all the files.
"""
import json
import os
import sys

import yaml

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Top-level keys of a GitLab CI file that are not jobs.
KEYWORDS = {
    "default", "include", "stages", "variables", "workflow", "image", "services", "cache",
    "before_script", "after_script", "spec",
}


def files(out):
    """The pipeline files of OUT: {name: path}, OUT as "generated", shards by file name."""
    found = {"generated": out}
    stem = out[: -len(".yml")] if out.endswith(".yml") else out
    folder = stem + "-shards"
    if os.path.isdir(folder):
        for name in sorted(os.listdir(folder)):
            if name.endswith(".yml"):
                found[name] = os.path.join(folder, name)
    return found


def jobs(path):
    """The jobs of one file: {name: (stage, needs)}, each need a string (a mapping as JSON)."""
    with open(path, encoding="utf-8") as f:
        document = yaml.load(f, Loader=Loader)
    found = {}
    for name, job in document.items():
        if name in KEYWORDS or name.startswith("."):
            continue
        needs = [n if isinstance(n, str) else json.dumps(n, sort_keys=True) for n in job.get("needs", [])]
        found[name] = (job.get("stage"), needs)
    return found


def compare(expected_out, actual_out):
    expected, actual = files(expected_out), files(actual_out)
    problems = []
    if list(expected) != list(actual):
        problems.append(f"files: expected {list(expected)}, got {list(actual)}")
    for name in expected.keys() & actual.keys():
        want, got = jobs(expected[name]), jobs(actual[name])
        for job in sorted(want.keys() - got.keys()):
            problems.append(f"{name}: job {job} is missing")
        for job in sorted(got.keys() - want.keys()):
            problems.append(f"{name}: job {job} is not expected")
        for job in sorted(want.keys() & got.keys()):
            if want[job] != got[job]:
                problems.append(f"{name}: job {job}: expected {want[job]}, got {got[job]}")
    for problem in problems[:20]:
        print(problem, file=sys.stderr)
    if problems:
        sys.exit(f"jobs.py: {len(problems)} differences between {expected_out} and {actual_out}")
    total = sum(len(jobs(path)) for path in expected.values())
    print(f"same jobs and needs: {len(expected)} files, {total} jobs")


def shape(root, out):
    instances = set(os.listdir(os.path.join(root, "instances")))
    per_instance, venvs, total, size = {}, 0, 0, 0
    found = files(out)
    for path in found.values():
        size += os.path.getsize(path)
        for name, (stage, _) in jobs(path).items():
            total += 1
            venvs += stage == "venv"
            named = name.split(":", 1)[-1]
            if named in instances:
                per_instance[named] = per_instance.get(named, 0) + 1
    print(f"instances: {len(per_instance)}")
    print(f"jobs per instance: {max(per_instance.values(), default=0)}")
    print(f"venv jobs: {venvs}")
    print(f"shard files: {len(found) - 1}")
    print(f"jobs: {total}")
    print(f"yaml bytes: {size}")


def main():
    args = sys.argv[1:]
    if args[:1] == ["compare"] and len(args) == 4:
        compare(args[2], args[3])
    elif args[:1] == ["shape"] and len(args) == 3:
        shape(args[1], args[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
