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
    from ..config import Config, ConfigError, discover, load_config, parse_kubernetes_version
    from ..engine import select_checks
    from ..runner import scan_paths

    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="kubeward: %(message)s", stream=sys.stderr)
    try:
        config = Config()
        if config_path:
            config = load_config(Path(config_path))
        elif not no_config:
            found = discover(Path(paths[0]) if paths[0] != "-" else Path.cwd())
            if found:
                config = load_config(found)
        if kubernetes_version:
            config.kubernetes_version = parse_kubernetes_version(kubernetes_version)
        checks = select_checks(config, only, skip)
    except ConfigError as exc:
        _error(str(exc))
        return EXIT_ERROR
    from ..checks.registry import known_selector

    for selector in (*only, *skip):
        if not known_selector(selector):
            _error(f"no check, slug or tag is named {selector!r}; run 'kubeward checks' for the list")
            return EXIT_ERROR

    result = scan_paths(paths, checks, config, jobs=jobs, max_file_bytes=max_file_bytes, helm_values=list(helm_values))

    for error in result.errors:
        _error(str(error))
    notes = {f"{f.resource.file}: {f.resource.ref}: {note}": None for f in result.findings for note in f.notes}
    for note in notes:
        click.echo(f"kubeward: warning: {note}", err=True)

    if color is None:
        color = output in (None, "-") and sys.stdout.isatty()
    writer = _writer(fmt)
    options = {"color": color, "show_suppressed": show_suppressed, "framework": framework}
    if framework and fmt == "table":
        from ..report import framework as writer
    if output and output != "-":
        try:
            with open(output, "w", encoding="utf-8") as out:
                writer.write(result, out, **options)
        except OSError as exc:
            _error(f"{output}: cannot write the report: {exc.strerror or exc}")
            return EXIT_ERROR
    else:
        writer.write(result, sys.stdout, **options)

    if result.errors:
        return EXIT_ERROR
    threshold = _threshold(fail_on, config.fail_on)
    if threshold is not None and any(f.severity >= threshold for f in result.active()):
        return EXIT_FINDINGS
    return EXIT_OK


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
