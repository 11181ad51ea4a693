#!/usr/bin/env python3
"""Memory checks for the C LineIndex: a workload for valgrind, and a leak loop.

    PYTHONMALLOC=malloc valgrind --error-exitcode=1 --leak-check=full \\
        python bench/lines_memcheck.py --valgrind        # many builds and lookups, odd input included
    PYTHONPATH=src python bench/lines_memcheck.py --rss   # 100k indexes: RSS and refcounts must not grow

CPython itself makes valgrind report uninitialised values at start-up (reading
.pyc headers with int.from_bytes); run the same with ``--baseline`` (everything
but the LineIndex calls) under ``--gen-suppressions=all`` first and pass what it
prints as ``--suppressions``, so that what remains is the extension's.

Documents: a small generated corpus (corpus.py), tests/data, and edge cases (empty
text, no newline, a long line, deep nesting, many lines). Not part of the test run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from memcheck_support import corpus_texts, rss_kib  # noqa: E402


def node_paths(value, prefix=()):
    yield prefix
    yield (*prefix, "missing")
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str):
                yield from node_paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from node_paths(v, (*prefix, i))
        yield (*prefix, len(value))


def workload(size: int) -> list[tuple[str, list[tuple]]]:
    from kubeward.sources.yamlparse import split_documents

    texts = corpus_texts(size)
    docs = []
    for text in texts:
        for _, chunk in split_documents(text):
            try:
                value = yaml.load(chunk, Loader=yaml.CSafeLoader)
            except yaml.YAMLError:
                value = None
            docs.append((chunk, list(node_paths(value))))
    deep = "".join(" " * i + f"k{i}:\n" for i in range(300))
    many = "".join(f"key{i}: {i}\n" for i in range(20000)) + "".join(f"- n: {i}\n" for i in range(2000))
    docs += [
        ("", [(), ("a",)]), ("a", [("a",), (0,)]), ("- ", [(0,), (0, 0)]), ("a:\r\n  b: 1\r", [("a", "b")]),
        (f"a: {'x' * 200_000}\nb:\n  {'k' * 100_000}: 1", [("a",), ("b", "k" * 100_000)]),
        (deep, [tuple(f"k{i}" for i in range(300))]), ("- " * 5000 + "x", [(0,) * 5000]),
        (many, [("key19999",), ("key5",), ("nokey", 0)]), ("é: 1\n日本:\n  - ключ: 2", [("日本", 0, "ключ")]),
    ]
    return docs


ODD = [("\ud800",), (2**70,), (True, False), (-1,), (1.5,), (None,), ("a", object())]


def run(docs, rounds: int) -> int:
    from kubeward.sources.locate import LineIndex

    lookups = 0
    for _ in range(rounds):
        for text, paths in docs:
            index = LineIndex(text)
            index.entries()
            for path in paths:
                index.line_of(path)
                lookups += 1
            for path in ODD:
                try:
                    index.line_of(path)
                except TypeError:
                    pass
            try:
                index.line_of(["not", "a", "tuple"])
            except TypeError:
                pass
    for bad in ("a: \ud800", b"a: 1"):
        try:
            LineIndex(bad)
        except (TypeError, ValueError):
            pass
    return lookups




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--valgrind", action="store_true", help="one pass over a small workload")
    mode.add_argument("--rss", action="store_true", help="100k indexes; fail if RSS or refcounts grow")
    parser.add_argument("--baseline", action="store_true", help="with --valgrind: build the workload, call nothing")
    parser.add_argument("--size", type=int, default=60, help="generated resources in the workload")
    opts = parser.parse_args()

    docs = workload(opts.size)
    if opts.valgrind:
        from kubeward.sources.locate import LineIndex

        print(f"{len(docs)} documents, {0 if opts.baseline else run(docs, 2)} lookups; {LineIndex.__name__}")
        return
    from kubeward.sources.locate import LineIndex

    block = [(t, p) for t, p in docs if len(t) < 10_000]  # typical manifests, cycled to 100k indexes
    rounds = -(-100_000 // len(block))
    run(block, 2)  # warm up: caches, the allocator's arenas
    refs = [sys.getrefcount(t) for t, _ in block] + [sys.getrefcount(p) for _, ps in block for p in ps[:3]]
    start = rss_kib()
    lookups = run(block, rounds)
    grown = rss_kib() - start
    after = [sys.getrefcount(t) for t, _ in block] + [sys.getrefcount(p) for _, ps in block for p in ps[:3]]
    print(f"{rounds * len(block)} LineIndex builds, {lookups} lookups: RSS grew {grown} KiB; "
          f"refcounts of texts and paths {'unchanged' if refs == after else 'CHANGED'}; {LineIndex.__name__}")
    if grown > 2048 or refs != after:
        sys.exit(1)


if __name__ == "__main__":
    main()
