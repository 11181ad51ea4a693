#!/usr/bin/env python3
"""Pod Security Standards evaluation speed: pods/s and microseconds per pod.

    python bench/pss.py [--size 10000]

Evaluates restricted (and baseline) at latest on the pod template of every
workload in the benchmark corpus and on every upstream conformance fixture,
in one process; parsing is excluded. Upstream's Go evaluates a pod in about
3 microseconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from scan import ensure_corpus  # noqa: E402

from kubeward.checks import pss  # noqa: E402
from kubeward.inventory import pod_spec_of  # noqa: E402
from kubeward.sources.files import load_paths  # noqa: E402

FIXTURES = Path(os.environ.get("KUBEWARD_SHARED", HERE.parent.parent / "shared")) / "conformance" / "pss" / "testdata"


def best(pods, level: str, repeat: int = 5) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        for pod in pods:
            pss.evaluate(pod, level, pss.LATEST)
        timings.append(time.perf_counter() - start)
    return min(timings)


def report(name: str, pods) -> None:
    for level in ("restricted", "baseline"):
        seconds = best(pods, level)
        rate, micros = len(pods) / seconds, 1e6 * seconds / len(pods)
        print(f"{name:<28} {level:<11} {len(pods):>7,} pods  {rate:>10,.0f} pods/s  {micros:6.1f} µs/pod")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=10_000)
    args = parser.parse_args()
    loaded = load_paths([str(ensure_corpus(args.size))])
    pods = [p for p in map(pod_spec_of, loaded.resources) if p is not None]
    report(f"corpus n{args.size} workloads", pods)
    if FIXTURES.is_dir():
        fixtures = [yaml.load(f.read_text(), Loader=yaml.CSafeLoader) for f in sorted(FIXTURES.rglob("*.yaml"))]
        from kubeward.model import Resource

        report("upstream fixtures", [pod_spec_of(Resource(obj, "fixture")) for obj in fixtures])


if __name__ == "__main__":
    main()
