"""What bench/lines_memcheck.py and bench/guard_memcheck.py share: their input texts and RSS."""

from __future__ import annotations

import glob
import os
import tempfile
from pathlib import Path

import corpus

HERE = Path(__file__).resolve().parent


def corpus_texts(size: int) -> list[str]:
    """A generated corpus of ``size`` resources (seed 3), then every YAML file of tests/data."""
    files = glob.glob(str(HERE.parent / "tests" / "data" / "**" / "*.yaml"), recursive=True)
    with tempfile.TemporaryDirectory() as tmp:
        corpus.generate(Path(tmp), size, seed=3)
        return [Path(f).read_text() for f in sorted(glob.glob(f"{tmp}/*.yaml")) + sorted(files)]


def rss_kib() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
