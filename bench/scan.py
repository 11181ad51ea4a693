#!/usr/bin/env python3
"""End-to-end scan benchmark: resources/s and peak RSS at 1k, 10k and 100k resources.

    python bench/scan.py                 # 1k, 10k, 100k
    python bench/scan.py --sizes 1000 --repeat 3 --format sarif

Each run is a fresh `kubeward scan DIR -f json -o /dev/null` process (start-up,
reading, parsing, every check, line recovery and the report included); peak RSS
is sampled over the whole process tree (the scan and its workers) every 20 ms,
and the main process's own peak comes from wait4(); CPU is the user+system time
of the scan and its workers, per resource (steadier than the wall time). Corpora
are generated once into bench/.corpus/ by corpus.py (deterministic, seed 1). Not
part of the test run.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402


def ensure_corpus(size: int) -> Path:
    target = HERE / ".corpus" / f"n{size}"
    marker = target / ".done"
    if not marker.exists():
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        corpus.generate(target, size, seed=1)
        marker.write_text("ok")
    return target


def _tree_rss_kib(root: int) -> int:
    """Resident memory of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") // 1024
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, ()))
    return total


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(directory: Path, fmt: str, extra: list[str]) -> tuple[float, int, int, float]:
    """(seconds, peak RSS of the scan and its workers together in KiB, own peak RSS in KiB,
    CPU seconds of the scan and its workers: steadier than the wall time on a busy machine)."""
    cpu = _children_cpu()
    cmd = [sys.executable, "-m", "kubeward", "scan", str(directory), "-f", fmt, "-o", os.devnull]
    cmd += ["--no-config", "--fail-on", "none"]
    start = time.perf_counter()
    proc = subprocess.Popen([*cmd, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while True:  # sample the whole process tree: workers are not in wait4()'s figure
        peak = max(peak, _tree_rss_kib(proc.pid))
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"scan failed ({code}): {proc.stderr.read().decode()[-2000:]}")
    return elapsed, max(peak, usage.ru_maxrss), usage.ru_maxrss, _children_cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the best is reported")
    parser.add_argument("--format", default="json", choices=["json", "sarif", "junit", "table"])
    parser.add_argument("extra", nargs="*", help="extra arguments for kubeward scan")
    args = parser.parse_args()
    print(
        f"{'resources':>10} {'best s':>8} {'res/s':>9} {'RSS all':>9} {'RSS main':>9} {'CPU µs/res':>11}   "
        f"({args.format}, best of {args.repeat}, {os.cpu_count()} cpus)"
    )
    for size in args.sizes:
        directory = ensure_corpus(size)
        runs = [run_once(directory, args.format, args.extra) for _ in range(args.repeat)]
        best = min(r[0] for r in runs)
        rss = max(r[1] for r in runs)
        own = max(r[2] for r in runs)
        cpu = min(r[3] for r in runs)
        print(
            f"{size:>10,} {best:>8.2f} {size / best:>9,.0f} {rss / 1024:>7.0f}MB {own / 1024:>7.0f}MB {cpu / size * 1e6:>11.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
