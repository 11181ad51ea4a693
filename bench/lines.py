#!/usr/bin/env python3
"""Source-line recovery: the Python TextIndex against its C port LineIndex.

    PYTHONPATH=src python bench/lines.py               # --size 10000
    PYTHONPATH=src python bench/lines.py --size 1000 --repeat 5

Generates a corpus with corpus.py into a temporary directory, loads it, runs the
per-resource checks with the engine's Scanner and collects the (document, path)
pairs a scan looks lines up for: ``(resource.source, (*resource.list_path,
*finding.path))``. Documents that locate._index sends to libyaml's composer (JSON,
flow style, aliases) are left out: neither index reads them. Then times, per
implementation, building one index per document plus all of its lookups (best of
--repeat), and the whole of ``assign_lines`` over the findings with and without
the extension. Not part of the test run.
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


def collect(size: int, seed: int):
    """(findings, {document: [paths]}) for the per-resource checks over a generated corpus."""
    from kubeward.config import Config
    from kubeward.engine import Scanner, select_checks
    from kubeward.sources.files import load_paths

    with tempfile.TemporaryDirectory(prefix="kw-lines-") as tmp:
        corpus.generate(Path(tmp), size, seed=seed)
        resources = load_paths([tmp]).resources
    config = Config()
    findings, _ = Scanner(select_checks(config), config).check_resources(resources)
    documents: dict[int, tuple[str, list]] = {}
    for f in findings:
        r = f.resource
        if r.source is not None and not r.rendered:
            documents.setdefault(id(r.source), (r.source, []))[1].append((*r.list_path, *f.path))
    return findings, list(documents.values())


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def lookups(cls, documents):
    def run():
        for text, paths in documents:
            index = cls(text)
            for path in paths:
                index.line_of(path)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10000, help="resources in the generated corpus")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()

    from kubeward.sources import locate

    if locate.LineIndex is None:
        sys.exit("kubeward.sources._lineindex is not built (python setup.py build_ext --inplace)")
    findings, documents = collect(opts.size, opts.seed)
    block = [(t, p) for t, p in documents if isinstance(locate._index(t), locate.LineIndex)]
    n_docs, n_paths = len(block), sum(len(p) for _, p in block)
    for text, paths in block:  # the same answers, before timing anything
        py, c = locate.TextIndex(text), locate.LineIndex(text)
        assert all(py.line_of(p) == c.line_of(p) for p in paths)
    print(f"corpus --size {opts.size}: {len(findings)} findings; {len(documents)} documents with findings, "
          f"{n_docs} read by indentation, {n_paths} lookups ({n_paths / max(n_docs, 1):.1f} per document)")

    gc.disable()
    try:
        t_py = best(lookups(locate.TextIndex, block), opts.repeat)
        t_c = best(lookups(locate.LineIndex, block), opts.repeat)
        pairs = [(f.resource, f.path, f) for f in findings]
        t_assign_c = best(lambda: locate.assign_lines(pairs), opts.repeat)
        saved, locate.LineIndex = locate.LineIndex, None
        try:
            t_assign_py = best(lambda: locate.assign_lines(pairs), opts.repeat)
        finally:
            locate.LineIndex = saved
    finally:
        gc.enable()
    for name, t in (("TextIndex (Python)", t_py), ("LineIndex (C)", t_c)):
        print(f"{name:20} {t * 1e3:8.1f} ms  {t * 1e6 / n_docs:7.2f} µs/document  {t * 1e6 / n_paths:6.3f} µs/lookup")
    print(f"speed-up             {t_py / t_c:8.1f}x")
    print(f"assign_lines over all findings: {t_assign_py * 1e3:.1f} ms without the extension, "
          f"{t_assign_c * 1e3:.1f} ms with it ({t_assign_py / t_assign_c:.1f}x)")


if __name__ == "__main__":
    main()
