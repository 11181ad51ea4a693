#!/usr/bin/env python3
"""Memory checks for kubeward._tree (tree copying, dig): a workload for valgrind, and a leak loop.

    PYTHONMALLOC=malloc valgrind --error-exitcode=1 --leak-check=full \\
        python bench/tree_memcheck.py --valgrind     # C against Python on many objects, odd input included
    PYTHONPATH=src python bench/tree_memcheck.py --rss  # 200k objects copied 3 ways: RSS and refcounts must not grow

CPython itself makes valgrind report uninitialised values at start-up; run the
same with ``--baseline`` (everything but the C calls) under
``--gen-suppressions=all`` first and pass what it prints as ``--suppressions``, so
that what remains is the extension's.

Objects: a small generated corpus (corpus.py) and tests/data, read by kubeward's
loaders, each copied with interned_tree without a length limit (as release_resource
copies what it keeps), up to 128 characters (as share_strings copies) and up to 0;
then odd input: subclasses, objects claiming a type, malformed items(), hostile depth
and cycles (every error path). Not part of the test run.
"""

from __future__ import annotations

import argparse
import sys
from collections import OrderedDict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from memcheck_support import corpus_texts, rss_kib  # noqa: E402


class Str(str):
    pass


class ClaimsStr:
    __class__ = property(lambda self: str)


class ClaimsDict:
    __class__ = property(lambda self: dict)


class ShortIter(list):
    def __iter__(self):
        return iter(list(list.__iter__(self))[:-1])


class BadItems(dict):
    def __init__(self, items):
        super().__init__()
        self._items = items

    def items(self):
        return self._items


def workload(size: int) -> list[dict]:
    """Every resource of the corpus and tests/data, as kubeward's loaders read it."""
    from kubeward.sources.files import load_bytes

    return [r.obj for i, text in enumerate(corpus_texts(size)) for r in load_bytes(text.encode(), f"t{i}.yaml").resources]


def deep(n: int, make):
    value = "leaf"
    for _ in range(n):
        value = make(value)
    return value


cycle: dict = {"a": []}
cycle["a"].append(cycle)
ODD = [  # (value, longest)
    (Str("a"), None), ({"k": Str("v")}, 128), ({Str("k"): 1}, None), (Str("x" * 300), 128), (ClaimsStr(), None),
    ([ClaimsStr()], 1), (ClaimsDict(), None), (OrderedDict(a=["b", {"c": "d"}]), 128), (ShortIter(["a", ["b"]]), None),
    (BadItems([("a", 1), ("b",)]), None), (BadItems([("a", 1, 2)]), None), (BadItems([5]), None), (BadItems(5), None),
    ({"a": [1, BadItems([["k", "v"], ("x", [Str("y")])])]}, None), (deep(5000, lambda v: [v]), None),
    (deep(5000, lambda v: {"k": v, "s": "x"}), 128), ({"k": "v", 1: (2, ["t"]), None: b"x", 2.5: [True, None]}, 0),
    (cycle, None), (["a", "b"], 2**100), (["a", "b"], -(2**100)),
]  # fmt: skip


def run(objects, *, check: bool) -> int:
    """Copy every object 3 ways (compared with the Python definition when ``check``); returns the copies made."""
    from kubeward import engine

    c = engine._tree.interned_tree
    copies = 0
    for obj in objects:
        whole, short, none = c(obj), c(obj, 128), c(obj, longest=0)
        if check:
            expected = [engine._interned_tree(obj), engine._interned_tree(obj, 128), engine._interned_tree(obj, 0)]
            if [whole, short, none] != expected or repr([whole, short, none]) != repr(expected):
                sys.exit(f"C and Python disagree on {obj!r}")
        copies += 3
    for value, longest in ODD:
        try:
            c(value, longest)
        except (TypeError, ValueError, AttributeError, RecursionError):
            pass
    for args in ((), ({}, 1, 2), ({}, 1.5)):
        try:
            c(*args)
        except TypeError:
            pass
    return copies + dig_all(objects, check=check)


DIG_PATHS = [("metadata", "name"), ("spec", "template", "spec", "containers", 0, "image"), ("spec", "ports", 0, "port"),
             ("spec", "containers", -1), ("spec", "containers", 2**70), ("spec", True), ("a", ["unhashable"]), ()]  # fmt: skip


def dig_all(objects, *, check: bool) -> int:
    """dig along a few paths of every object and of the odd ones (same answers as Python when ``check``)."""
    from kubeward import inventory

    c = inventory._tree.dig
    calls = 0
    for obj in [*objects, *(value for value, _ in ODD)]:
        for path in DIG_PATHS:
            try:
                got = c(obj, *path)
            except (TypeError, IndexError, AttributeError) as exc:
                got = type(exc)
            if check:
                try:
                    expected = inventory._dig(obj, *path)
                except (TypeError, IndexError, AttributeError) as exc:
                    expected = type(exc)
                if got is not expected and not (type(got) is tuple and got == expected):
                    sys.exit(f"C and Python dig disagree on {obj!r} {path}")
            calls += 1
    return calls


def _nodes(value, out: list) -> list:
    out.append(value)
    if isinstance(value, dict):
        for k, v in value.items():
            out.append(k)
            _nodes(v, out)
    elif isinstance(value, list):
        for v in value:
            _nodes(v, out)
    return out


def _shared(value) -> bool:
    """None, the bools, small ints and one-character strs are the interpreter's singletons:
    everything refers to them (the list of refcounts below too), so their counts say nothing."""
    return value is None or type(value) is bool or (type(value) is int and -5 <= value <= 256) or (
        type(value) is str and len(value) <= 1
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--valgrind", action="store_true", help="one pass over a small workload, checked against Python")
    mode.add_argument("--rss", action="store_true", help="copy 200k objects 3 ways; fail if RSS or refcounts grow")
    parser.add_argument("--baseline", action="store_true", help="with --valgrind: build the workload, call nothing")
    parser.add_argument("--size", type=int, default=60, help="generated resources in the workload")
    parser.add_argument("--objects", type=int, default=200_000, help="with --rss: objects copied (3 copies each)")
    opts = parser.parse_args()

    from kubeward import engine

    if engine._tree is None:
        sys.exit("kubeward._tree is not built: python setup.py build_ext --inplace")
    objects = workload(opts.size)
    if opts.valgrind:
        copies = "-" if opts.baseline else run(objects, check=True)
        print(f"{len(objects)} objects, {copies} copies, C and Python agree")
        return
    rounds = -(-opts.objects // len(objects))
    run(objects, check=True)  # warm up; also interns in place the strs nobody interned before
    nodes = [n for obj in objects for n in _nodes(obj, []) if not _shared(n)]
    refs = [sys.getrefcount(n) for n in nodes]
    start = rss_kib()
    copies = 0
    for _ in range(rounds):
        copies += run(objects, check=False)
    grown = rss_kib() - start
    same = refs == [sys.getrefcount(n) for n in nodes]
    odd = rounds * (len(ODD) + 3)
    print(f"{copies:,} copies of {rounds * len(objects):,} objects (+{odd:,} odd calls): RSS grew {grown} KiB; "
          f"refcounts of {len(nodes):,} source nodes {'unchanged' if same else 'CHANGED'}")
    if grown > 1024 or not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
