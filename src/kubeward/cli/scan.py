"""`kubeward scan`: sources -> inventory -> engine -> report."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from ..model import Severity

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
DEFAULT_FAIL_ON = Severity.LOW


def run_scan(
    *,
    paths,
    fmt,
    output,
    config_path,
    no_config,
    fail_on,
    only,
    skip,
    show_suppressed,
    helm_values,
    max_file_size,
    jobs,
    color,
    verbose,
    kubernetes_version=None,
    framework=None,
) -> int:
    """`kubeward scan` with the options as click parsed them; returns the exit status."""
    paths = list(paths) or ["."]
    max_file_bytes = max_file_size * 1024 * 1024

    from ..sources.cluster import snapshot_kubernetes_version

    def scan(checks, config, stream):
        from ..runner import scan_paths

        # a report that can encode its items where the findings are made (JSON, SARIF,
        # the plain table) gets them encoded by the scan workers: the main process only writes
        encode = getattr(stream, "encoder", None)
        sink = None if stream is None else stream.add if encode is None else stream.add_encoded
        RETAINED.clear()  # the last scan's only: CliRunner tests run many in one process
        return scan_paths(
            paths,
            checks,
            config,
            jobs=jobs,
            max_file_bytes=max_file_bytes,
            helm_values=list(helm_values),
            sink=sink,
            encode=encode,
            retain=RETAINED,
        )

    return run_report(
        scan,
        config_start=Path(paths[0]) if paths[0] != "-" else Path.cwd(),
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
        kubernetes_version=kubernetes_version,
        framework=framework,
        # a cluster snapshot is checked against its cluster's version, as `kubeward cluster` did
        default_kubernetes_version=snapshot_kubernetes_version(paths),
    )


# What a scan read stays referenced until the process ends: main() ends it with
# os._exit, and the heap is not freed object by object.
RETAINED: list = []


def load_scan_config(config_path, no_config, config_start: Path, kubernetes_version, only, skip):
    """The configuration and the checks selected, or an error message."""
    from ..config import Config, ConfigError, discover, load_config, parse_kubernetes_version
    from ..engine import select_checks

    try:
        config = Config()
        if config_path:
            config = load_config(Path(config_path))
        elif not no_config:
            found = discover(config_start)
            if found:
                config = load_config(found)
        if kubernetes_version:
            config.kubernetes_version = parse_kubernetes_version(kubernetes_version)
        checks = select_checks(config, only, skip)
    except ConfigError as exc:
        return None, None, str(exc)
    from ..checks.registry import known_selector

    for selector in (*only, *skip):
        if not known_selector(selector):
            return None, None, f"no check, slug or tag is named {selector!r}; run 'kubeward checks' for the list"
    return config, checks, None


def run_report(
    scan,
    *,
    config_start: Path,
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
    loaded=None,
    default_kubernetes_version=None,
) -> int:
    """Configure, run ``scan(checks, config, stream) -> ScanResult``, write the report and
    return the exit status: what `scan` and `cluster` share. ``loaded`` is an already
    loaded (config, checks) pair."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="kubeward: %(message)s", stream=sys.stderr)
    if loaded is None:
        config, checks, problem = load_scan_config(config_path, no_config, config_start, kubernetes_version, only, skip)
        if problem:
            _error(problem)
            return EXIT_ERROR
    else:
        config, checks = loaded
    if config.kubernetes_version is None and default_kubernetes_version is not None:
        config.kubernetes_version = default_kubernetes_version

    if color is None:
        color = output in (None, "-") and sys.stdout.isatty()
    options = {"color": color, "show_suppressed": show_suppressed, "framework": framework}
    try:
        out = open(output, "w", encoding="utf-8") if output and output != "-" else sys.stdout
    except OSError as exc:
        _error(f"{output}: cannot write the report: {exc.strerror or exc}")
        return EXIT_ERROR
    from ..runner import WorkerLost

    try:
        result = _scan_and_report(out, fmt, options, scan, checks, config)
    except WorkerLost as exc:
        _error(str(exc))
        return EXIT_ERROR
    finally:
        if out is not sys.stdout:
            out.close()

    for error in result.errors:
        _error(str(error))
    for note in result.notes:
        click.echo(f"kubeward: warning: {note}", err=True)

    if result.errors:
        return EXIT_ERROR
    threshold = _threshold(fail_on, config.fail_on)
    worst = result.worst()
    if threshold is not None and worst is not None and worst >= threshold:
        return EXIT_FINDINGS
    return EXIT_OK


def _scan_and_report(out, fmt, options, scan, checks, config):
    """Scan, writing the report as findings arrive where the format allows (table,
    json, sarif); JUnit and framework reports need every finding first."""
    stream_class = None if options["framework"] else _writer(fmt).__dict__.get("Stream")
    if stream_class is None:
        result = scan(checks, config, None)
        writer = _writer(fmt)
        if options["framework"] and fmt == "table":
            from ..report import framework as writer
        writer.write(result, out, **options)
        return result
    stream = stream_class(out, checks, **options)
    result = scan(checks, config, stream)
    stream.end(result)
    return result


def _threshold(flag: str | None, configured: Severity | None) -> Severity | None:
    if flag is not None:
        return None if flag.lower() == "none" else Severity.parse(flag)
    return configured if configured is not None else DEFAULT_FAIL_ON


def _writer(fmt: str):
    if fmt == "json":
        from ..report import jsonreport as writer
    elif fmt == "sarif":
        from ..report import sarif as writer
    elif fmt == "junit":
        from ..report import junit as writer
    else:
        from ..report import table as writer
    return writer


def _error(message: str) -> None:
    click.echo(f"kubeward: error: {message}", err=True)
