#!/usr/bin/env python3
"""YAML loader throughput on the benchmark corpus (documents/s, one core).

    python bench/loaders.py [--size 5000]

Compares PyYAML's CSafeLoader (the YAML 1.1 reference), yaml-rs alone (YAML
1.2, not faithful), and kubeward's load path (guard + fast path + faithful
fallback), and reports how many documents the guard sent to the faithful loader.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import yaml
import yaml_rs

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from scan import ensure_corpus  # noqa: E402

from kubeward.sources.yamlparse import load_document, load_faithful, needs_faithful, split_documents  # noqa: E402


def best_of(fn, docs, repeat=3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for d in docs:
            fn(d)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=5000)
    args = parser.parse_args()
    directory = ensure_corpus(args.size)
    docs = [chunk for f in sorted(directory.glob("*.yaml")) for _, chunk in split_documents(f.read_text())]
    size_mb = sum(map(len, docs)) / 1e6
    guarded = sum(needs_faithful(d) for d in docs)
    print(
        f"{len(docs):,} documents, {size_mb:.1f} MB; "
        f"guard sends {guarded} ({100 * guarded / len(docs):.1f}%) to the faithful loader"
    )
    fast_docs = [d for d in docs if not needs_faithful(d)]
    disagree = sum(yaml_rs.loads(d, parse_datetime=False) != load_faithful(d) for d in fast_docs)
    print(f"fast path and faithful loader disagree on {disagree} of the {len(fast_docs):,} documents the guard lets through")
    loaders = {
        "PyYAML CSafeLoader": lambda d: yaml.load(d, Loader=yaml.CSafeLoader),
        "kubeward faithful (CSafeLoader + go-yaml rules)": load_faithful,
        "yaml-rs alone (YAML 1.2)": lambda d: yaml_rs.loads(d, parse_datetime=False),
        "guard only (needs_faithful)": needs_faithful,
        "kubeward load_document (guard + fast + faithful)": load_document,
    }
    for name, fn in loaders.items():
        seconds = best_of(fn, docs)
        print(f"{name:<50} {len(docs) / seconds:>10,.0f} docs/s")


if __name__ == "__main__":
    main()
