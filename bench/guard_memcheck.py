#!/usr/bin/env python3
"""Memory checks for the C guard (kubeward.sources._guard): a workload for valgrind, and a leak loop.

    PYTHONMALLOC=malloc valgrind --error-exitcode=1 --leak-check=full \\
        python bench/guard_memcheck.py --valgrind     # C against the regexes on many texts, odd input included
    PYTHONPATH=src python bench/guard_memcheck.py --rss  # 1M calls: RSS and refcounts must not grow

CPython itself makes valgrind report uninitialised values at start-up; run the
same with ``--baseline`` (everything but the C calls) under
``--gen-suppressions=all`` first and pass what it prints as ``--suppressions``, so
that what remains is the extension's.

Texts: a small generated corpus (corpus.py), tests/data, random texts from the
fragments of tests/test_guard.py (fixed seed), and edge cases (empty text, a token
as the last byte, non-ASCII, a large text). Not part of the test run.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from memcheck_support import corpus_texts, rss_kib  # noqa: E402

FRAGMENTS = [
    "yes", "Yes", "YES", "y", "n", "No", "on", "OFF", "o", "0", "0755", "0x1F", "0b101", "0o17", "0x", "_", "1" * 19,
    "_" * 19, "+", "-", "*alias", "*", "!tag", "!", "%", "<<", "<", ":", ": ", ",", "[", "]", "{", "}", "#", " ", "\t",
    "\r", "\n", "\r\n", "'", '"', "é", "日本", "😀", "\xa0", "\x85", "\x00",
]


def workload(size: int, randoms: int) -> list[str]:
    from kubeward.sources.yamlparse import split_documents

    texts = corpus_texts(size)
    docs = [chunk for text in texts for _, chunk in split_documents(text)]
    rng = random.Random(5)
    docs += ["".join(rng.choices(FRAGMENTS, k=rng.randrange(40))) for _ in range(randoms)]
    big = "".join(f"  key{i}: value-{i}\n" for i in range(20_000))
    docs += ["", "y", "a: y", "a: *", "a: !", "*", "0x", "a: 0x1", "-" + "1" * 19, "é", "a: yes\r", "a:\ryes",
             big, big + "a: no", "no\n" + big, big.replace("key9999:", "key9999: 0644 #")]
    return docs


def run(docs: list[str], *, check: bool) -> int:
    """Call the C guard on every text (and compare with the regexes when ``check``); returns the unsafe count."""
    from kubeward.sources import yamlparse

    c = yamlparse._guard.needs_faithful
    unsafe = 0
    for text in docs:
        answer = c(text)
        if check and answer is not yamlparse._needs_faithful_regex(text):
            sys.exit(f"C and regex disagree on {text!r}")
        unsafe += answer
    for bad in ("a: \ud800 yes", b"a: yes", None):
        try:
            c(bad)
        except (TypeError, UnicodeEncodeError):
            pass
    return unsafe




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--valgrind", action="store_true", help="one pass over a small workload, checked against the regexes")
    mode.add_argument("--rss", action="store_true", help="1M calls; fail if RSS or refcounts grow")
    parser.add_argument("--baseline", action="store_true", help="with --valgrind: build the workload, call nothing")
    parser.add_argument("--size", type=int, default=60, help="generated resources in the workload")
    parser.add_argument("--calls", type=int, default=1_000_000, help="with --rss: guard calls")
    opts = parser.parse_args()

    from kubeward.sources import yamlparse

    if yamlparse._guard is None:
        sys.exit("kubeward.sources._guard is not built: python setup.py build_ext --inplace")
    if opts.valgrind:
        docs = workload(opts.size, 3000)
        unsafe = "-" if opts.baseline else run(docs, check=True)
        print(f"{len(docs)} texts, {unsafe} unsafe, C and regex agree")
        return
    docs = [d for d in workload(opts.size, 300) if len(d) < 10_000]  # typical manifests, cycled to --calls
    docs += ["a: \u00e9 yes", "日本: 0755"]  # non-ASCII: the UTF-8 copy is made once, cached on the str
    rounds = -(-opts.calls // len(docs))
    run(docs, check=True)  # warm up; also fills the UTF-8 caches of the non-ASCII texts
    refs = [sys.getrefcount(d) for d in docs]
    start = rss_kib()
    for _ in range(rounds):
        run(docs, check=False)
    grown = rss_kib() - start
    same = refs == [sys.getrefcount(d) for d in docs]
    print(f"{rounds * len(docs):,} guard calls (+{3 * rounds:,} failing ones): RSS grew {grown} KiB; "
          f"refcounts of the texts {'unchanged' if same else 'CHANGED'}")
    if grown > 1024 or not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
