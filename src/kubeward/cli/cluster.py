"""`kubeward cluster`: collect a live cluster, optionally save a snapshot, scan and report
exactly as `kubeward scan` does (cli/scan.py's reporting)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .scan import EXIT_ERROR, _error, load_scan_config, run_report


def _split(values) -> tuple[str, ...]:
    """--include-kinds a,b --include-kinds c -> (a, b, c)."""
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


def run_cluster(
    *,
    kubeconfig,
    context,
    namespaces,
    all_namespaces,
    selector,
    include_kinds,
    exclude_kinds,
    save,
    chunk_size,
    concurrency,
    qps,
    burst,
    request_timeout,
    progress,
    fmt,
    output,
    config_path,
    no_config,
    fail_on,
    only,
    skip,
    show_suppressed,
    color,
    verbose,
    kubernetes_version=None,
    framework=None,
) -> int:
    from ..sources.cluster import ClusterError, CollectOptions, collect, info_kubernetes_version, write_snapshot

    if all_namespaces and namespaces:
        _error("--all-namespaces and -n/--namespace exclude each other")
        return EXIT_ERROR
    config, checks, problem = load_scan_config(config_path, no_config, Path.cwd(), kubernetes_version, only, skip)
    if problem:
        _error(problem)
        return EXIT_ERROR
    options = CollectOptions(
        kubeconfig=kubeconfig,
        context=context,
        namespaces=tuple(dict.fromkeys(namespaces)),
        selector=selector,
        include_kinds=_split(include_kinds),
        exclude_kinds=_split(exclude_kinds),
        chunk_size=chunk_size,
        concurrency=concurrency,
        qps=qps,
        burst=burst,
        timeout=request_timeout,
    )
    show = sys.stderr.isatty() if progress is None else progress
    try:
        with _Progress(show) as bar:
            collection = collect(options, bar.update if show else None)
    except ClusterError as exc:
        _error(str(exc))
        return EXIT_ERROR
    for note in collection.notes:
        click.echo(f"kubeward: warning: {note}", err=True)
    if save:
        try:
            write_snapshot(save, (r.obj for r in collection.resources))
        except OSError as exc:
            _error(f"{save}: cannot write the snapshot: {exc.strerror or exc}")
            return EXIT_ERROR

    def scan(checks, config, stream):
        from ..runner import scan_resources

        return scan_resources(collection.resources, checks, config, sink=stream.add if stream is not None else None)

    return run_report(
        scan,
        config_start=Path.cwd(),
        fmt=fmt,
        output=output,
        config_path=config_path,
        no_config=no_config,
        fail_on=fail_on,
        only=only,
        skip=skip,
        show_suppressed=show_suppressed,
        color=color,
        verbose=verbose,
        framework=framework,
        loaded=(config, checks),
        # deprecated-API checks target the cluster's own version unless told otherwise
        default_kubernetes_version=info_kubernetes_version(collection.info),
    )


class _Progress:
    """A rich progress bar on stderr while lists run (terminals only)."""

    def __init__(self, show: bool):
        self.show = show
        self.progress = None
        self.task = None

    def __enter__(self) -> _Progress:
        if self.show:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                TextColumn("listing"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[objects]} objects"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task("lists", total=None, objects=0)
        return self

    def update(self, done: int, total: int, objects: int) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=done, total=total, objects=objects)

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()


def run_scanner_rbac(*, name: str, namespace: str, fmt: str) -> int:
    from ..sources.clusterrbac import scanner_rbac

    docs = scanner_rbac(name, namespace)
    if fmt == "json":
        import orjson

        sys.stdout.write(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": docs}, option=orjson.OPT_INDENT_2).decode())
        sys.stdout.write("\n")
    else:
        import yaml

        sys.stdout.write(yaml.safe_dump_all(docs, sort_keys=False))
    return 0
