"""A scan from paths to a ScanResult: sources, then the engine, in parallel.

Files are read and checked in worker processes (one per core by default), a
batch of files at a time; each worker sends back its findings and the
resources, shrunk to what the cross-resource checks need. The main process
then runs the cross-resource checks once. Memory stays bounded by the batch,
not by the size of the input.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import marshal
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain, islice
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from .checks.registry import Check, lookup
from .config import Config
from .engine import Scanner, ScanResult, Tally, sort_findings
from .inventory import Inventory, WorkloadFacts
from .model import Finding, InputError, Resource
from .sources.files import DEFAULT_MAX_FILE_BYTES, collect_inputs, load_file

# Parallel workers pay for themselves only on larger inputs.
PARALLEL_MIN_FILES = 16
PARALLEL_MIN_BYTES = 2 * 1024 * 1024
BATCH_BYTES = 512 * 1024
FINAL_CHUNK = 5_000  # cross-resource findings handed to the report at a time
GC_THRESHOLD = 20_000  # allocations between runs of the cycle collector while scanning


class WorkerLost(RuntimeError):
    """A worker process died mid-scan: the report would be incomplete."""


class Batch(NamedTuple):
    """What a batch of files gives the main process."""

    findings: list[Finding] | None  # in source order; None when encoded
    encoded: Any  # what ``encode`` made of the findings (None without encode, or without findings)
    tally: Tally  # what the result counts of the findings
    resources: list[Resource] | bytes  # released once checked; from a worker, as _ship made them
    errors: list[InputError]


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
    sink: Callable[[Any], None] | None = None,
    encode: Callable[[list[Finding]], Any] | None = None,
    retain: list | None = None,
) -> ScanResult:
    """Scan every input; ``jobs`` 0 means one worker per CPU, 1 means in-process.

    Findings come in input order, batch by batch (each in source order), then
    the cross-resource findings. With a ``sink`` they are handed to it as they
    arrive and only counted in the result, so a report can be written while
    the scan runs and memory does not grow with the number of findings.

    With ``encode`` as well (a picklable function of a list of findings, such as
    a report's item encoder) each batch is encoded where it is checked, in a
    worker, and ``sink`` receives what ``encode`` returns instead of the
    findings: the main process then neither rebuilds nor formats them.

    The inventory of what was scanned is appended to ``retain``, if given, so that
    the caller decides when it is freed: the CLI ends the process without freeing it
    (object by object, that took 0.18 s after a 100k-resource scan).
    """
    with _fewer_collections():
        return _scan_paths(paths, checks, config, jobs, stdin, max_file_bytes, helm_values, today, sink, encode, retain)


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the cycle collector every 20,000 net allocations, not 700, while scanning.

    A scan allocates millions of short-lived objects (parsed documents, views,
    findings) and makes next to no cycles: at the default threshold the collector
    ran thousands of times (0.4 s of a 100k-resource scan's main process). The
    workers, forked meanwhile, inherit the setting.
    """
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], GC_THRESHOLD), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def _scan_paths(
    paths: Sequence[str],
    checks: Sequence[Check],
    config: Config,
    jobs: int,
    stdin: BinaryIO | None,
    max_file_bytes: int,
    helm_values: list[str] | None,
    today: dt.date | None,
    sink: Callable[[Any], None] | None,
    encode: Callable[[list[Finding]], Any] | None,
    retain: list | None,
) -> ScanResult:
    today = today or dt.date.today()
    scanner = Scanner(checks, config, today)
    inputs = collect_inputs(paths, stdin=stdin, max_file_bytes=max_file_bytes, helm_values=helm_values)
    result = ScanResult(checks=scanner.checks)
    inventory = Inventory()  # what the cross-resource checks read, indexed as batches arrive
    if retain is not None:
        retain.append(inventory)
    result.errors.extend(inputs.loaded.errors)
    encode = encode if sink is not None else None

    def absorb(batch: Batch) -> None:
        result.count(batch.tally)
        if batch.findings is None:
            if isinstance(batch.encoded, Spooled):
                with open(batch.encoded.path, "rb") as spooled:
                    sink(spooled)
                os.unlink(batch.encoded.path)
            elif batch.encoded is not None:
                sink(batch.encoded)
        elif sink is None:
            result.findings.extend(batch.findings)
        elif batch.findings:
            sink(batch.findings)
        inventory.add(_unship(batch.resources))
        result.errors.extend(batch.errors)
        # what is kept lives until the report: stop the cycle collector from
        # re-walking it after every batch (its cost would grow with the input)
        gc.freeze()

    resources = inputs.loaded.resources
    findings, errors = scanner.check_resources(resources, release=True)
    absorb(_pack(findings, resources, errors, encode))

    workers, first, rest = _plan(inputs.files, jobs)
    batches = chain(first, rest)
    if workers > 1 and len(first) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        ctx = multiprocessing.get_context(method)
        spool = tempfile.mkdtemp(prefix="kubeward-")
        init = ([c.id for c in scanner.checks], config, today, max_file_bytes, encode, spool)
        try:
            # ProcessPoolExecutor, not multiprocessing.Pool: Pool's worker-handler thread wakes
            # whenever a result is waiting (26k times in a 100k-resource scan, 0.4 s of CPU)
            with ProcessPoolExecutor(workers - 1, ctx, initializer=_init_worker, initargs=init) as pool:
                _scan_in_parallel(pool, workers - 1, enumerate(batches), scanner, max_file_bytes, encode, absorb)
        finally:
            shutil.rmtree(spool, ignore_errors=True)
    else:
        for files in batches:
            absorb(_scan_files(scanner, files, max_file_bytes, encode))

    result.resources = len(inventory)
    result.kind_counts = inventory.kind_counts()
    with _no_collections():
        findings, errors = scanner.check_inventory(inventory)
        # a few thousand findings at a time: encoded at once, the 73k cross-resource findings of
        # a 100k-resource scan made a 44 MB buffer (twice that while it grew), the scan's peak
        sort_findings(findings)
        for start in range(0, max(len(findings), 1), FINAL_CHUNK):
            absorb(_pack(findings[start : start + FINAL_CHUNK], [], errors if start == 0 else [], encode))
    return result


@contextlib.contextmanager
def _no_collections() -> Iterator[None]:
    """No cycle collection during the cross-resource checks and the hand-off of their findings:
    they build indexes of a few million objects that make no garbage cycles, and the collector
    re-walking them took a tenth of the phase at 100k resources (and a full collection 0.1 s
    while the findings were sorted). Whatever cycles there are go at the end."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _scan_in_parallel(
    pool: Any,
    helpers: int,
    todo: Iterator[tuple[int, list[Path]]],
    scanner: Scanner,
    max_file_bytes: int,
    encode: Callable | None,
    absorb: Callable[[Batch], None],
) -> None:
    """Scan the batches with the pool's worker processes and in this process too, absorbing
    each batch's results in input order.

    The main process is one of the workers: between absorbing the others' results it
    scans a batch itself, whose resources then need no trip through a pipe. The
    workers are kept fed with a few batches each; what waits to be absorbed is
    bounded, so memory stays bounded by the window, not by the input.
    """
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    pending: deque[Future | Batch] = deque()  # in input order: a worker's future, or a batch scanned here
    window = 6 * helpers + 2  # batches waiting to be absorbed, at most
    exhausted = False

    def take(item: Future | Batch) -> Batch:
        if not isinstance(item, Future):
            return item
        try:
            return item.result()
        except BrokenProcessPool:
            raise WorkerLost(
                "a scan worker stopped unexpectedly (killed, or out of memory?); --jobs 1 scans in one process"
            ) from None

    while True:
        # keep every worker a few batches ahead, so that none waits while this process scans
        busy = sum(1 for item in pending if isinstance(item, Future) and not item.done())
        while not exhausted and busy < 3 * helpers and len(pending) < window:
            task = next(todo, None)
            if task is None:
                exhausted = True
            else:
                pending.append(pool.submit(_scan_batch, *task))
                busy += 1
        while pending and (not isinstance(pending[0], Future) or pending[0].done()):
            absorb(take(pending.popleft()))
        task = None if exhausted or len(pending) >= window else next(todo, None)
        if task is not None:
            pending.append(_scan_files(scanner, task[1], max_file_bytes, encode))
        elif pending:  # nothing left to scan here, or enough waiting: wait for the oldest
            exhausted = exhausted or len(pending) < window
            absorb(take(pending.popleft()))
        elif exhausted:
            return
        else:
            exhausted = True


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


def _plan(files: list[Path], jobs: int) -> tuple[int, list[list[Path]], Iterator[list[Path]]]:
    """(workers to use, the first two batches, the batches after them).

    Files are sized as they are batched, while the workers already run (stat-ing 20,000
    files first took 0.07 s): only as many as it takes to choose the worker count come first.
    """
    sized = ((file, _size(file)) for file in files)
    head: list[tuple[Path, int]] = []
    seen = 0
    for item in sized:
        head.append(item)
        seen += item[1]
        if seen >= PARALLEL_MIN_BYTES:
            break
    workers = _worker_count(jobs, len(files), seen)  # seen is the total when below the threshold
    batches = _batches(chain(head, sized))
    return workers, list(islice(batches, 2)), batches


def _batches(sized: Iterable[tuple[Path, int]]) -> Iterator[list[Path]]:
    """Group (file, size) into batches of about BATCH_BYTES, keeping their order."""
    current: list[Path] = []
    size = 0
    for file, file_size in sized:
        size += file_size
        current.append(file)
        if size >= BATCH_BYTES:
            yield current
            current, size = [], 0
    if current:
        yield current


def _scan_files(scanner: Scanner, files: list[Path], max_file_bytes: int, encode: Callable | None) -> Batch:
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
    return _pack(findings, kept, errors, encode)


def _pack(findings: list[Finding], resources: list[Resource], errors: list[InputError], encode: Callable | None) -> Batch:
    """The batch for the main process: findings in source order, or what ``encode`` makes of them."""
    sort_findings(findings)
    if encode is None:
        return Batch(findings, None, Tally.of(findings), resources, errors)
    return Batch(None, encode(findings) if findings else None, Tally.of(findings), resources, errors)


class Spooled(NamedTuple):
    """Encoded findings a worker wrote to a file, for the main process to copy into the
    report: a few MB per batch that would otherwise be pickled, piped, unpickled and
    copied again in the main process (and fragment its heap: +85 MB at 100k resources)."""

    path: str


_worker: tuple[Scanner, int, Callable | None, str] | None = None


def _init_worker(
    check_ids: list[str], config: Config, today: dt.date, max_file_bytes: int, encode: Callable | None, spool: str
) -> None:
    global _worker
    gc.set_threshold(max(gc.get_threshold()[0], GC_THRESHOLD), *gc.get_threshold()[1:])  # as _fewer_collections
    checks = [lookup(i) for i in check_ids]
    _worker = (Scanner([c for c in checks if c is not None], config, today), max_file_bytes, encode, spool)


def _scan_batch(index: int, files: list[Path]) -> Batch:
    assert _worker is not None
    scanner, max_file_bytes, encode, spool = _worker
    batch = _scan_files(scanner, files, max_file_bytes, encode)
    if isinstance(batch.encoded, bytes | bytearray):
        path = os.path.join(spool, f"{index}.out")
        with open(path, "wb") as out:
            out.write(batch.encoded)
        batch = batch._replace(encoded=Spooled(path))
    return batch._replace(resources=_ship(batch.resources))


def _ship(resources: list[Resource]) -> bytes | list[Resource]:
    """A worker's checked resources as one marshal blob for the main process.

    Marshal, not pickle: one call for the whole batch costs less than pickling
    each resource (0.25 s less CPU in the main process at 100k), and the strings a worker
    interned (label keys, namespaces) arrive interned, so what recurs across
    batches is stored once in the main process (pickle makes a copy per batch:
    +25 MB at 100k resources). Objects marshal cannot write (a library
    caller's) travel pickled instead.
    """
    plain = [r.fields() for r in resources]
    facts = [(i, r.facts.plain()) for i, r in enumerate(resources) if r.facts is not None]
    try:
        return marshal.dumps((plain, facts))
    except ValueError:
        return resources


def _unship(shipped: bytes | list[Resource]) -> list[Resource]:
    if not isinstance(shipped, bytes):
        return shipped
    plain, facts = marshal.loads(shipped)
    resources = [Resource.from_fields(fields) for fields in plain]
    for i, fields in facts:
        resources[i].facts = WorkloadFacts.from_plain(fields)
    return resources


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
    inventory = Inventory(resources)  # indexed by kind and namespace, which release keeps
    result = ScanResult(checks=scanner.checks, resources=len(inventory), kind_counts=inventory.kind_counts())
    for phase in (
        lambda: scanner.check_resources(resources, release=True),
        lambda: scanner.check_inventory(inventory),
    ):
        findings, errors = phase()
        sort_findings(findings)
        result.record(findings, keep=sink is None)
        if sink is not None and findings:
            sink(findings)
        result.errors.extend(errors)
    return result
