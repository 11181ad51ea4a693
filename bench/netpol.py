#!/usr/bin/env python3
"""NetworkPolicy analysis speed: `kubeward netpol matrix` end to end, and its parts.

    python bench/netpol.py [--size 5000]

Generates (once) the benchmark corpus with bench/corpus.py (seed 1), then reports,
best of three: loading the manifests, building the model, computing the matrix
edges, and the whole `kubeward netpol matrix -f json` command in a fresh process.
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

from kubeward.analysis.netpol import Network  # noqa: E402
from kubeward.inventory import Inventory  # noqa: E402
from kubeward.sources.files import load_paths  # noqa: E402


def best(fn, repeat: int = 3):
    timings, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        timings.append(time.perf_counter() - start)
    return min(timings), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=5_000)
    args = parser.parse_args()
    corpus = ensure_corpus(args.size)
    load_s, loaded = best(lambda: load_paths([str(corpus)]))
    inventory = Inventory(loaded.resources)
    model_s, net = best(lambda: Network.from_inventory(inventory))
    matrix_s, edges = best(lambda: list(net.matrix().edges()))
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src")}
    command = [sys.executable, "-m", "kubeward", "netpol", "matrix", str(corpus), "-f", "json"]
    cli_s, _ = best(lambda: subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True))
    counts = f"{len(loaded.resources):,} objects, {len(net.workloads):,} workloads, {len(net.policies):,} policies"
    print(f"corpus n{args.size}: {counts}")
    print(f"  load manifests        {load_s:7.3f} s")
    print(f"  build model           {model_s:7.3f} s")
    print(f"  matrix edges          {matrix_s:7.3f} s  ({len(edges):,} class edges)")
    print(f"  kubeward netpol matrix -f json (fresh process) {cli_s:7.3f} s")


if __name__ == "__main__":
    main()
