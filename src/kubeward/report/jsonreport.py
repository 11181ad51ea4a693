"""The JSON report: a stable, documented schema (docs/json-report.md)."""

from __future__ import annotations

from typing import TextIO

from .. import __version__
from ..checks.registry import Check
from ..engine import ScanResult
from ..model import Finding, Severity
from . import ITEMS, JsonItems, render_with, write_json_with_items

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
    counts = {str(s): result.by_severity.get(s, 0) for s in sorted(Severity, reverse=True)}
    return {
        "resources": result.resources,
        "checks": len(result.checks),
        "findings": sum(counts.values()),
        "bySeverity": counts,
        "suppressed": result.suppressed,
        "errors": len(result.errors),
    }


def _errors(result: ScanResult) -> list[dict]:
    return [
        {"file": e.file, "document": None if e.doc_index is None else e.doc_index + 1, "line": e.line, "message": e.message}
        for e in result.errors
    ]


class Stream:
    """Writes the report while the scan runs: findings as they come, the summary last."""

    def __init__(self, out: TextIO, checks: list[Check], **_: object):
        self.checks = {c.id: c for c in checks}
        self.items = JsonItems(out, {"schemaVersion": SCHEMA_VERSION, "tool": _TOOL, "findings": ITEMS})

    def add(self, findings: list[Finding]) -> None:
        self.items.add(finding_dict(f, self.checks[f.check_id]) for f in findings)

    def end(self, result: ScanResult) -> None:
        self.items.close(
            {
                "schemaVersion": SCHEMA_VERSION,
                "tool": _TOOL,
                "findings": ITEMS,
                "errors": _errors(result),
                "summary": summary(result),
            }
        )


_TOOL = {"name": "kubeward", "version": __version__}


def write(result: ScanResult, out: TextIO, *, framework: str | None = None, **_: object) -> None:
    checks = {c.id: c for c in result.checks}
    doc = {
        "schemaVersion": SCHEMA_VERSION,
        "tool": _TOOL,
        "findings": ITEMS,
        "errors": _errors(result),
        "summary": summary(result),
        **({"framework": _framework_summary(result, framework)} if framework else {}),
    }
    write_json_with_items(out, doc, (finding_dict(f, checks[f.check_id]) for f in result.findings))


def _framework_summary(result: ScanResult, framework: str) -> dict:
    from .framework import summary_dict

    return summary_dict(result, framework)


def render(result: ScanResult, **options: object) -> str:
    return render_with(write, result, **options)
