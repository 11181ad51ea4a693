#!/usr/bin/env python3
"""End-to-end scan benchmark: resources/s and peak RSS at 1k, 10k and 100k resources.

    python bench/scan.py                 # 1k, 10k, 100k
    python bench/scan.py --sizes 1000 --repeat 3 --format sarif

Each run is a fresh `kubeward scan DIR -f json -o /dev/null` process (start-up,
reading, parsing, every check, line recovery and the report included); peak RSS
is sampled over the whole process tree (the scan and its workers) every 20 ms, PSS
(shared pages split between the processes that share them) every 200 ms,
and the main process's own peak comes from wait4(); CPU is the user+system time
of the scan and its workers, per resource (steadier than the wall time). Corpora
are generated once into bench/.corpus/ by corpus.py (deterministic, seed 1). Not
part of the test run.
"""

from __future__ import annotations

import argparse
import os
import platform
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


def _tree(root: int) -> list[int]:
    """A process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, ()))
    return found


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[21]) * PAGE_KIB
    except OSError:  # gone meanwhile
        return 0


def _pss_kib(pid: int) -> int:
    """Proportional set size: the pages a forked worker shares with its parent are split between
    them, where summed RSS counts them once per process. Costlier to read (the kernel walks the
    page tables), so it is sampled less often."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
PSS_EVERY = 10  # samples of RSS per sample of PSS


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(directory: Path, fmt: str, extra: list[str]) -> tuple[float, int, int, int, float]:
    """(seconds, peak RSS and peak PSS of the scan and its workers together in KiB, own peak RSS
    in KiB, CPU seconds of the scan and its workers: steadier than the wall time on a busy machine)."""
    cpu = _children_cpu()
    cmd = [sys.executable, "-m", "kubeward", "scan", str(directory), "-f", fmt, "-o", os.devnull]
    cmd += ["--no-config", "--fail-on", "none"]
    start = time.perf_counter()
    proc = subprocess.Popen([*cmd, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = peak_pss = samples = 0
    while True:  # sample the whole process tree: workers are not in wait4()'s figure
        pids = _tree(proc.pid)
        peak = max(peak, sum(map(_rss_kib, pids)))
        if samples % PSS_EVERY == 0:
            peak_pss = max(peak_pss, sum(map(_pss_kib, pids)))
        samples += 1
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"scan failed ({code}): {proc.stderr.read().decode()[-2000:]}")
    return elapsed, max(peak, usage.ru_maxrss), peak_pss, usage.ru_maxrss, _children_cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the best is reported")
    parser.add_argument("--format", default="json", choices=["json", "sarif", "junit", "table"])
    parser.add_argument("extra", nargs="*", help="extra arguments for kubeward scan")
    args = parser.parse_args()
    print(
        f"{'resources':>10} {'best s':>8} {'res/s':>9} {'RSS all':>9} {'PSS all':>9} {'RSS main':>9} {'CPU µs/res':>11}   "
        f"({args.format}, best of {args.repeat}, {os.cpu_count()} cpus, Python {platform.python_version()} {sys.executable})"
    )
    for size in args.sizes:
        directory = ensure_corpus(size)
        runs = [run_once(directory, args.format, args.extra) for _ in range(args.repeat)]
        best = min(r[0] for r in runs)
        rss, pss, own = (max(r[i] for r in runs) / 1024 for i in (1, 2, 3))
        cpu = min(r[4] for r in runs)
        print(
            f"{size:>10,} {best:>8.2f} {size / best:>9,.0f} {rss:>7.0f}MB {pss:>7.0f}MB {own:>7.0f}MB {cpu / size * 1e6:>11.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
