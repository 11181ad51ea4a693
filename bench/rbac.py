#!/usr/bin/env python3
"""`kubeward rbac` speed on the generated corpus: wall time of each subcommand, end to end.

    python bench/rbac.py [--size 5000]

Runs every subcommand as a fresh process (parsing included, as a user sees it),
best of three, and the in-process phases (load, model, assessment, paths) once.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from scan import ensure_corpus  # noqa: E402

COMMANDS = [
    ["who-can", "get", "secrets", "-n", "payments"],
    ["who-can", "create", "pods"],
    ["can", "group:developers"],
    ["risks"],
    ["paths"],
]


def wall(args: list[str], corpus: Path, repeat: int = 3) -> float:
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src")}
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "kubeward", "rbac", *args, str(corpus)], env=env, capture_output=True)
        best = min(best, time.perf_counter() - start)
        if done.returncode not in (0, 1):
            raise SystemExit(f"kubeward rbac {' '.join(args)} failed: {done.stderr.decode()}")
    return best


def phases(corpus: Path) -> None:
    sys.path.insert(0, str(HERE.parent / "src"))
    from kubeward.analysis.rbac import RbacModel
    from kubeward.analysis.rbacrisk import Assessment, Escalation
    from kubeward.inventory import Inventory
    from kubeward.sources.files import load_paths

    t0 = time.perf_counter()
    inventory = Inventory(load_paths([str(corpus)]).resources)
    t1 = time.perf_counter()
    model = RbacModel.of(inventory)
    t2 = time.perf_counter()
    assessment = Assessment.of(inventory)
    t3 = time.perf_counter()
    paths = Escalation(assessment, inventory).paths()
    t4 = time.perf_counter()
    print(f"  {len(inventory):,} objects: {len(model.bindings)} bindings, {len(assessment.hits)} risky, {len(paths)} paths")
    print(f"  load {t1 - t0:.3f}s  model {t2 - t1:.3f}s  assessment {t3 - t2:.3f}s  paths {t4 - t3:.3f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=5000)
    args = parser.parse_args()
    corpus = ensure_corpus(args.size)
    print(f"corpus: {corpus} ({args.size:,} resources)")
    phases(corpus)
    for command in COMMANDS:
        print(f"  kubeward rbac {' '.join(command):<45} {wall(command, corpus):6.2f}s")


if __name__ == "__main__":
    main()
