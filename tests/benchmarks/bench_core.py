"""Speed and memory of the answering core (not part of the test run).

    .venv/bin/python tests/benchmarks/bench_core.py

Measures, on the real knowledge base, in a fresh `python -m bot ask --jsonl` process:
start-up to first answer (target < 2 s), the median and p99 time of one answer once warm
(target < 20 ms at the median), and the resident memory at the end (target < 300 MB).
The questions are the calibration questions (every language and kind), asked in turn.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):  # peak resident set size
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    questions = [q["q"] for q in yaml.safe_load((ROOT / "knowledge" / "calibration.yaml").read_text("utf-8"))]
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "ask", "--jsonl"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    assert proc.stdin and proc.stdout

    def one(text: str) -> float:
        t = time.perf_counter()
        proc.stdin.write(json.dumps({"id": 1, "text": text}, ensure_ascii=False) + "\n")  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]
        proc.stdout.readline()  # type: ignore[union-attr]
        return (time.perf_counter() - t) * 1000

    one(questions[0])
    startup = time.perf_counter() - started
    times = [one(q) for _ in range(3) for q in questions]
    peak = rss_mb(proc.pid)
    proc.stdin.close()
    proc.wait(timeout=30)
    times.sort()
    rows = [
        ("start-up to first answer", f"{startup:.2f} s", "< 2 s", startup < 2),
        ("answer, median (warm)", f"{statistics.median(times):.1f} ms", "< 20 ms", statistics.median(times) < 20),
        ("answer, p99 (warm)", f"{times[int(len(times) * 0.99) - 1]:.1f} ms", "", True),
        ("peak resident memory", f"{peak:.0f} MB", "< 300 MB", peak < 300),
    ]
    print(f"{len(times)} answers, {len(questions)} distinct questions, Python {sys.version.split()[0]}")
    for name, value, target, ok in rows:
        print(f"{name:<28} {value:>10}  {target:<9} {'ok' if ok else 'MISSED'}")
    return 0 if all(r[3] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
