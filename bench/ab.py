#!/usr/bin/env python3
"""Compare scan speed of source trees or interpreters, with their runs interleaved.

    python bench/ab.py /tmp/old/src src --size 100000 --rounds 3
    python bench/ab.py src .venv-deb/bin/python:src   # the same code, another interpreter's venv

Each side is ``[PYTHON:]SRC``: kubeward is imported from SRC (PYTHONPATH) by PYTHON
(default: this interpreter), which must have kubeward's dependencies (a venv's
python); SRC needs its C extensions built in place if they are to be measured.

The sides run one after another, in alternating order each round, on the corpus
bench/scan.py generates; the medians of wall and CPU time are printed. This virtual
machine's speed drifts by 10-15 % within an hour, so two versions timed an hour apart
say little; interleaved runs compare them under the same conditions. Not part of the
test run.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

from scan import ensure_corpus


def run(python: str, src: str, directory: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the scan and its workers) of one scan."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    code = "from kubeward.cli.main import main; main()"
    cmd = [python, "-c", code, "scan", directory, "-f", "json", "-o", os.devnull, "--no-config", "--fail-on", "none"]
    subprocess.run(cmd, env=dict(os.environ, PYTHONPATH=os.path.abspath(src)), check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sides", nargs="+", help="[PYTHON:]SRC, two or more")
    parser.add_argument("--size", type=int, default=100_000, help="resources in the corpus")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sides = [side.rpartition(":")[::2] for side in args.sides]  # (python or "", src)
    directory = str(ensure_corpus(args.size))
    runs: dict[int, list[tuple[float, float]]] = {i: [] for i in range(len(sides))}
    for round_ in range(args.rounds):
        order = range(len(sides)) if round_ % 2 == 0 else reversed(range(len(sides)))
        for i in order:
            python, src = sides[i]
            runs[i].append(run(python or sys.executable, src, directory))
    print(f"{args.size:,} resources, {args.rounds} rounds")
    for i, side in enumerate(args.sides):
        walls, cpus = [w for w, _ in runs[i]], [c for _, c in runs[i]]
        wall = statistics.median(walls)
        print(f"{side:50s} wall {wall:6.2f} s (min {min(walls):.2f}, {args.size / wall:,.0f} res/s)  "
              f"CPU {statistics.median(cpus):6.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
