#!/usr/bin/env python3
"""CPU cost of each per-resource check over a corpus, and of the engine around them.

    PYTHONPATH=src python bench/checks.py                      # bench/.corpus/n10000
    PYTHONPATH=src python bench/checks.py DIR --top 20

Loads the corpus once, then times every per-resource check's function over the
resources of its kinds (the views built once per resource, with the facts checks
share already computed, as the engine has them), best of --repeat runs; then the whole `Scanner.check_resources` (checks, Finding
creation, suppressions, line recovery) for comparison. Microseconds per resource
of the corpus. Not part of the test run.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("directory", nargs="?", type=Path, default=HERE / ".corpus" / "n10000")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()

    from kubeward.config import Config
    from kubeward.engine import Scanner, select_checks
    from kubeward.inventory import POD_SPEC_PATHS, kind_key, pod_spec_of
    from kubeward.sources.files import load_paths

    loaded = load_paths([str(opts.directory)])
    resources = loaded.resources
    n = len(resources)
    config = Config()
    checks = select_checks(config)
    scanner = Scanner(checks, config)

    # the views the engine builds, with every fact the checks share (containers, images,
    # volumes...) already computed by a first run: what is timed is each check's own cost
    subjects = [(kind_key(r), pod_spec_of(r) if kind_key(r) in POD_SPEC_PATHS else r) for r in resources]
    for key, subject in subjects:
        for _check, fn, takes_config, _ in scanner.plans.get(key, ()):
            list(fn(subject, config) if takes_config else fn(subject))

    gc.disable()
    costs: list[tuple[float, str, int]] = []
    for c in scanner.checks:
        if c.scope != "resource":
            continue
        mine = [s for k, s in subjects if k in c.kinds]
        best = float("inf")
        found = 0
        for _ in range(opts.repeat):
            found = 0
            start = time.process_time()
            for subject in mine:
                for _v in c.fn(subject, config) if c.takes_config else c.fn(subject):
                    found += 1
            best = min(best, time.process_time() - start)
        costs.append((best, f"{c.id} {c.slug}", found))
    total = sum(t for t, _, _ in costs)
    print(f"{n} resources; per-resource checks: {1e6 * total / n:.1f} us/resource in total")
    for t, name, found in sorted(costs, reverse=True)[: opts.top]:
        print(f"  {1e6 * t / n:7.2f} us  {name:<48} {found} violations")

    best = float("inf")
    for _ in range(opts.repeat):
        fresh = load_paths([str(opts.directory)]).resources
        start = time.process_time()
        findings, _ = scanner.check_resources(fresh, release=True)
        best = min(best, time.process_time() - start)
    print(f"check_resources (checks, findings, suppressions, lines, release): {1e6 * best / n:.1f} us/resource", end="")
    print(f", {len(findings)} findings")
    gc.enable()


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent / "src"))
    main()
