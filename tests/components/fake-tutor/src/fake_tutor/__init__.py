"""A fake `tutor` that records how it was called, for Grove's end-to-end tests.

Each call appends one line to the file named by $GROVE_FAKE_LOG:
CI_JOB_NAME, CI_PROJECT_DIR, "tutor", each argument, then "TUTOR_ROOT=<value>" and
"GROVE_STATE_GENERATION=<value>" (the generation the job was pinned to), separated by tabs.
It changes nothing: the config Grove laid out in TUTOR_ROOT is the one it "saves".
"""

import os
import sys


def main() -> int:
    env = os.environ
    fields = [env.get("CI_JOB_NAME", "-"), env.get("CI_PROJECT_DIR", "-"), "tutor", *sys.argv[1:]]
    fields.append("TUTOR_ROOT=" + env.get("TUTOR_ROOT", ""))
    fields.append("GROVE_STATE_GENERATION=" + env.get("GROVE_STATE_GENERATION", ""))
    line = "\t".join(fields) + "\n"
    log = env.get("GROVE_FAKE_LOG")
    if log:
        # One write in append mode, so lines of jobs running at once never interleave.
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
    return int(env.get("GROVE_FAKE_EXIT", "0"))


if __name__ == "__main__":
    sys.exit(main())
