#!/usr/bin/env python3
"""The engine's tree copying at release time: Python against its C port (kubeward._tree).

    PYTHONPATH=src python bench/tree.py               # bench/.corpus/n10000, best of 5
    PYTHONPATH=src python bench/tree.py --size 1000 --repeat 9

Loads the corpus (made by bench/scan.py's ensure_corpus if missing) afresh for every
pass, as a scan meets its objects (strings fresh from the parser, not yet interned),
and times, per implementation (best of --repeat):

  * interned_tree(obj, 128) on the objects of the kinds cross-resource checks read
    whole (what share_strings does to them);
  * the whole release step of Scanner.check_resources(release=True): share_strings
    or release_resource per resource (the workloads' facts, taken before, are not
    timed; the objects replaced are freed after the clock stops, which costs the
    same for both and only adds noise), with kubeward.engine._tree unset, then set.

Checks both give equal results. Microseconds per resource of the corpus (and per
resource concerned). Not part of the test run.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from scan import ensure_corpus  # noqa: E402


def fresh(directory: Path, scanner):
    """The corpus's resources, just loaded: (kept whole, released with their kind keys)."""
    from kubeward.inventory import kind_key
    from kubeward.sources.files import load_paths

    whole, released = [], []
    for r in load_paths([str(directory)]).resources:
        key = kind_key(r)
        if key in scanner.full_kinds:
            whole.append((r,))
        else:
            released.append((r, key))
    return whole, released


def timed(fn, items) -> float:
    gc.disable()
    try:
        start = time.perf_counter()
        for item in items:
            fn(*item)
        return time.perf_counter() - start
    finally:
        gc.enable()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000, help="corpus size (bench/.corpus/n<size>)")
    parser.add_argument("--repeat", type=int, default=5)
    opts = parser.parse_args()

    from kubeward import engine
    from kubeward.config import Config

    c_tree = engine._tree
    if c_tree is None:
        sys.exit("kubeward._tree is not built: python setup.py build_ext --inplace")
    directory = ensure_corpus(opts.size)
    config = Config()
    scanner = engine.Scanner(engine.select_checks(config), config)

    whole, released = fresh(directory, scanner)
    n = len(whole) + len(released)
    objs = [r.obj for (r,) in whole]
    assert [engine._interned_tree(o, 128) for o in objs] == [c_tree.interned_tree(o, 128) for o in objs]
    print(f"{n} resources: {len(whole)} kept whole, {len(released)} released")

    rows: dict[str, tuple[int, dict[str, list[float]]]] = {
        "interned_tree(obj, 128), kept whole": (len(whole), {}),
        "release step (share_strings + release_resource)": (n, {}),
    }
    del whole, released, objs
    for i in range(opts.repeat):
        # alternate which goes first; and each run starts from the same state: nothing of the
        # run before alive (its interned strs died with it), the corpus just loaded
        for name, impl in (("Python", None), ("C", c_tree))[:: 1 if i % 2 else -1]:
            gc.collect()
            whole, _ = fresh(directory, scanner)
            fn = engine._interned_tree if impl is None else impl.interned_tree
            seconds = timed(fn, [(r.obj, 128) for (r,) in whole])
            rows["interned_tree(obj, 128), kept whole"][1].setdefault(name, []).append(seconds)
            del whole, _
            gc.collect()

            whole, released = fresh(directory, scanner)
            originals = [r.obj for r, *_ in whole + released]  # freed after the clock stops: the same for both
            engine._tree = impl
            try:
                seconds = timed(engine.share_strings, whole) + timed(engine.release_resource, released)
            finally:
                engine._tree = c_tree
            rows["release step (share_strings + release_resource)"][1].setdefault(name, []).append(seconds)
            del whole, released, originals

    for name, (count, times) in rows.items():
        py, c = min(times["Python"]), min(times["C"])
        print(f"{name}:")
        for impl, seconds in (("Python", py), ("C", c)):
            print(f"  {impl:7s} {seconds / n * 1e6:7.2f} µs/resource of the corpus  "
                  f"{seconds / count * 1e6:7.2f} µs each  {py / seconds:5.1f}x")


if __name__ == "__main__":
    main()
