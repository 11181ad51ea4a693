"""A scan from paths to a ScanResult: sources, then the engine, in parallel.

Files are read and checked in worker processes (one per core by default), a
batch of files at a time; each worker sends back its findings and the
resources, shrunk to what the cross-resource checks need. The main process
then runs the cross-resource checks once. Memory stays bounded by the batch,
not by the size of the input.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
from collections import deque
from collections.abc import Callable, Sequence
from itertools import islice
from pathlib import Path
from typing import BinaryIO

from .checks.registry import Check, lookup
from .config import Config
from .engine import Scanner, ScanResult, count_kinds, sort_findings
from .inventory import Inventory
from .model import Finding, InputError, Resource
from .sources.files import DEFAULT_MAX_FILE_BYTES, collect_inputs, load_file

# Parallel workers pay for themselves only on larger inputs.
PARALLEL_MIN_FILES = 16
PARALLEL_MIN_BYTES = 2 * 1024 * 1024
BATCH_BYTES = 512 * 1024

Batch = tuple[list[Finding], list[Resource], list[InputError]]


def scan_paths(
    paths: Sequence[str],
    checks: Sequence[Check],
    config: Config,
    *,
    jobs: int = 0,
    stdin: BinaryIO | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    helm_values: list[str] | None = None,
    today: dt.date | None = None,
    sink: Callable[[list[Finding]], None] | None = None,
) -> ScanResult:
    """Scan every input; ``jobs`` 0 means one worker per CPU, 1 means in-process.

    Findings come in input order, batch by batch (each in source order), then
    the cross-resource findings. With a ``sink`` they are handed to it as they
    arrive and only counted in the result, so a report can be written while
    the scan runs and memory does not grow with the number of findings.
    """
    today = today or dt.date.today()
    scanner = Scanner(checks, config, today)
    inputs = collect_inputs(paths, stdin=stdin, max_file_bytes=max_file_bytes, helm_values=helm_values)
    result = ScanResult(checks=scanner.checks)
    kept: list[Resource] = []
    result.errors.extend(inputs.loaded.errors)

    def deliver(findings: list[Finding]) -> None:
        sort_findings(findings)
        result.record(findings, keep=sink is None)
        if sink is not None and findings:
            sink(findings)

    def absorb(batch: Batch) -> None:
        findings, resources, errors = batch
        deliver(findings)
        kept.extend(resources)
        result.errors.extend(errors)
        # what is kept lives until the report: stop the cycle collector from
        # re-walking it after every batch (its cost would grow with the input)
        gc.freeze()

    resources = inputs.loaded.resources
    findings, errors = scanner.check_resources(resources, release=True)
    absorb((findings, resources, errors))

    sizes = [_size(file) for file in inputs.files]
    batches = _batches(inputs.files, sizes)
    workers = _worker_count(jobs, len(inputs.files), sum(sizes))
    if workers > 1 and len(batches) > 1:
        import multiprocessing

        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        ctx = multiprocessing.get_context(method)
        init = ([c.id for c in scanner.checks], config, today, max_file_bytes)
        with ctx.Pool(workers, initializer=_init_worker, initargs=init) as pool:
            # a sliding window, not imap: results wait in memory only while the
            # report writer is busy with earlier ones, never for the whole input
            todo = iter(batches)
            pending = deque(pool.apply_async(_scan_batch, (files,)) for files in islice(todo, 2 * workers))
            while pending:
                batch = pending.popleft().get()
                following = next(todo, None)
                if following is not None:
                    pending.append(pool.apply_async(_scan_batch, (following,)))
                absorb(batch)
    else:
        for files in batches:
            absorb(_scan_files(scanner, files, max_file_bytes))

    result.resources = len(kept)
    result.kind_counts = count_kinds(kept)
    findings, errors = scanner.check_inventory(Inventory(kept))
    deliver(findings)
    result.errors.extend(errors)
    return result


def _worker_count(jobs: int, files: int, total_bytes: int) -> int:
    if jobs:
        return jobs
    if files < PARALLEL_MIN_FILES or total_bytes < PARALLEL_MIN_BYTES:
        return 1
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _size(file: Path) -> int:
    try:
        return file.stat().st_size
    except OSError:
        return 0  # reading it will report why


def _batches(files: list[Path], sizes: list[int]) -> list[list[Path]]:
    """Group files into batches of about BATCH_BYTES, keeping their order."""
    batches: list[list[Path]] = []
    current: list[Path] = []
    size = 0
    for file, file_size in zip(files, sizes, strict=True):
        size += file_size
        current.append(file)
        if size >= BATCH_BYTES:
            batches.append(current)
            current, size = [], 0
    if current:
        batches.append(current)
    return batches


def _scan_files(scanner: Scanner, files: list[Path], max_file_bytes: int) -> Batch:
    findings: list[Finding] = []
    kept: list[Resource] = []
    errors: list[InputError] = []
    for file in files:
        loaded = load_file(file, max_file_bytes)
        errors.extend(loaded.errors)
        batch_findings, batch_errors = scanner.check_resources(loaded.resources, release=True)
        findings.extend(batch_findings)
        errors.extend(batch_errors)
        kept.extend(loaded.resources)
    return findings, kept, errors


_worker: tuple[Scanner, int] | None = None


def _init_worker(check_ids: list[str], config: Config, today: dt.date, max_file_bytes: int) -> None:
    global _worker
    checks = [lookup(i) for i in check_ids]
    _worker = (Scanner([c for c in checks if c is not None], config, today), max_file_bytes)


def _scan_batch(files: list[Path]) -> Batch:
    assert _worker is not None
    scanner, max_file_bytes = _worker
    return _scan_files(scanner, files, max_file_bytes)


def scan_resources(
    resources: list[Resource],
    checks: Sequence[Check],
    config: Config,
    *,
    today: dt.date | None = None,
    sink: Callable[[list[Finding]], None] | None = None,
) -> ScanResult:
    """Scan objects already in memory (a live cluster's), as :func:`scan_paths` scans files:
    per-resource checks, then the cross-resource ones; resources are released on the way."""
    scanner = Scanner(checks, config, today or dt.date.today())
    result = ScanResult(checks=scanner.checks, resources=len(resources), kind_counts=count_kinds(resources))
    for phase in (
        lambda: scanner.check_resources(resources, release=True),
        lambda: scanner.check_inventory(Inventory(resources)),
    ):
        findings, errors = phase()
        sort_findings(findings)
        result.record(findings, keep=sink is None)
        if sink is not None and findings:
            sink(findings)
        result.errors.extend(errors)
    return result
