"""Every benchmark, one after the other, each printing its table (not part of the test run).

    .venv/bin/python tests/benchmarks/run_all.py [--quick]

1. bench_core.py: start-up to first answer, answer time once warm, memory (the core).
2. bench_retrieval.py: retrieval on synthetic knowledge bases of 1,000 to 50,000
   passages per language, checking that results are identical to plain rank-bm25.
3. bench_webhooks.py: signed WhatsApp and Telegram webhooks at 1, 20 and 100 concurrent
   senders against `python -m bot serve`, next to an empty Starlette endpoint.

`--quick` shortens each measurement (for a smoke run); the figures in the README come
from a full run. The machine matters: print it with the results.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description="run every benchmark")
    parser.add_argument("--quick", action="store_true", help="short measurements, small synthetic sizes")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )
    runs = [
        [sys.executable, str(HERE / "bench_core.py")],
        [sys.executable, str(HERE / "bench_retrieval.py"), *(["--sizes", "1000,10000"] if args.quick else [])],
        [sys.executable, str(HERE / "bench_webhooks.py"), *(["--seconds", "3"] if args.quick else [])],
    ]
    failed = 0
    for command in runs:
        print(
            f"\n$ {' '.join(Path(c).name if c.endswith('.py') else 'python' for c in command[:2])}"
            f"{' ' + ' '.join(command[2:]) if command[2:] else ''}",
            flush=True,
        )
        failed += subprocess.run(command, check=False).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
