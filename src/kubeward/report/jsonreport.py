"""The JSON report: a stable, documented schema (docs/json-report.md)."""

from __future__ import annotations

from typing import TextIO

from .. import __version__
from ..checks.registry import Check
from ..engine import ScanResult
from ..model import Finding, Severity
from . import ITEMS, render_with, write_json_with_items

SCHEMA_VERSION = 1


def finding_dict(f: Finding, check: Check) -> dict:
    res = f.resource
    return {
        "check": f.check_id,
        "slug": f.slug,
        "title": check.title,
        "severity": str(f.severity),
        "kind": res.kind,
        "apiVersion": res.api_version,
        "namespace": res.namespace,
        "name": res.name,
        "file": res.file,
        "document": res.doc_index + 1,
        "line": f.line,
        "path": f.path_str,
        "container": f.container,
        "message": f.message,
        "remediation": check.remediation,
        "refs": check.refs,
        "suppressed": f.suppressed,
        "suppression": f.suppression,
        "notes": list(f.notes),
    }


def summary(result: ScanResult) -> dict:
    counts = {str(s): 0 for s in sorted(Severity, reverse=True)}
    suppressed = 0
    for f in result.findings:
        if f.suppressed:
            suppressed += 1
        else:
            counts[str(f.severity)] += 1
    return {
        "resources": result.resources,
        "checks": len(result.checks),
        "findings": sum(counts.values()),
        "bySeverity": counts,
        "suppressed": suppressed,
        "errors": len(result.errors),
    }


def write(result: ScanResult, out: TextIO, *, framework: str | None = None, **_: object) -> None:
    checks = {c.id: c for c in result.checks}
    doc = {
        "schemaVersion": SCHEMA_VERSION,
        "tool": {"name": "kubeward", "version": __version__},
        "summary": summary(result),
        **({"framework": _framework_summary(result, framework)} if framework else {}),
        "findings": ITEMS,
        "errors": [
            {"file": e.file, "document": None if e.doc_index is None else e.doc_index + 1, "line": e.line, "message": e.message}
            for e in result.errors
        ],
    }
    write_json_with_items(out, doc, (finding_dict(f, checks[f.check_id]) for f in result.findings))


def _framework_summary(result: ScanResult, framework: str) -> dict:
    from .framework import summary_dict

    return summary_dict(result, framework)


def render(result: ScanResult, **options: object) -> str:
    return render_with(write, result, **options)
