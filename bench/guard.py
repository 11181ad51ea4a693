#!/usr/bin/env python3
"""The YAML loader's guard: the regexes against their C port (kubeward.sources._guard).

    PYTHONPATH=src python bench/guard.py               # --size 10000, best of 5
    PYTHONPATH=src python bench/guard.py --size 1000 --repeat 9

Generates a corpus with corpus.py into a temporary directory, splits every file
into documents with yamlparse.split_documents and times one guard call per
document, per implementation (best of --repeat); checks both answer the same.
Not part of the test run.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402


def documents(size: int, seed: int) -> list[str]:
    from kubeward.sources.yamlparse import split_documents

    with tempfile.TemporaryDirectory(prefix="kw-guard-") as tmp:
        corpus.generate(Path(tmp), size, seed=seed)
        texts = [p.read_text() for p in sorted(Path(tmp).glob("*.yaml"))]
    return [chunk for text in texts for _, chunk in split_documents(text)]


def best(fn, docs: list[str], repeat: int) -> float:
    """Best seconds over ``repeat`` passes of fn over every document."""
    times = []
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            for d in docs:
                fn(d)
            times.append(time.perf_counter() - start)
    finally:
        gc.enable()
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000, help="generated resources")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    opts = parser.parse_args()

    from kubeward.sources import yamlparse

    if yamlparse._guard is None:
        sys.exit("kubeward.sources._guard is not built: python setup.py build_ext --inplace")
    docs = documents(opts.size, opts.seed)
    size = sum(len(d.encode()) for d in docs)
    answers = [yamlparse._needs_faithful_regex(d) for d in docs]
    assert [yamlparse._guard.needs_faithful(d) for d in docs] == answers, "the C guard disagrees with the regexes"
    print(f"{len(docs)} documents, {size / len(docs):,.0f} bytes each on average, {sum(answers)} need the faithful loader")
    rows = [
        ("regex (_needs_faithful_regex)", yamlparse._needs_faithful_regex),
        ("C (_guard.needs_faithful)", yamlparse._guard.needs_faithful),
        ("needs_faithful (C + wrapper)", yamlparse.needs_faithful),
    ]
    base = None
    for name, fn in rows:
        seconds = best(fn, docs, opts.repeat)
        base = base or seconds
        per_doc = seconds / len(docs) * 1e6
        print(f"{name:32s} {per_doc:8.2f} µs/doc  {size / seconds / 1e6:8.0f} MB/s  {base / seconds:6.1f}x")


if __name__ == "__main__":
    main()
