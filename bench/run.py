"""`make bench`: every benchmark, one after another; non-zero exit if one misses its target."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["cold_start.py", "slack_ack.py", "deploy.py"]


def main() -> int:
    failed = 0
    for name in BENCHMARKS:
        print(f"== {name}", flush=True)
        failed |= subprocess.run([sys.executable, str(HERE / name), *sys.argv[1:]], check=False).returncode != 0
    return int(failed)


if __name__ == "__main__":
    sys.exit(main())
