"""The JSON report: a stable, documented schema (docs/json-report.md)."""

from __future__ import annotations

from typing import TextIO

import orjson

from .. import __version__
from ..checks.registry import Check
from ..engine import ScanResult
from ..model import Finding, Path, Resource, Severity
from . import ITEMS, JsonItems, render_with, write_json_with_items

SCHEMA_VERSION = 1


def finding_dict(f: Finding, check: Check) -> dict:
    return _item(f, check.title, check.remediation, check.refs, _where(f.resource))


def _where(res: Resource) -> dict:
    """The resource's part of a finding's item (the same for all its findings)."""
    return {
        "kind": res.kind,
        "apiVersion": res.api_version,
        "namespace": res.namespace,
        "name": res.name,
        "file": res.file,
        "document": res.doc_index + 1,
    }


def _item(f: Finding, title: str, remediation: str, refs: dict[str, str], where: dict) -> dict:
    return {
        "check": f.check_id,
        "slug": f.slug,
        "title": title,
        "severity": str(f.severity),
        **where,
        "line": f.line,
        "path": f.path_str,
        "container": f.container,
        "message": f.message,
        "remediation": remediation,
        "refs": refs,
        "suppressed": f.suppressed,
        "suppression": f.suppression,
        "notes": list(f.notes),
    }


class Encoder:
    """Findings -> the text of their items in the report's findings list.

    Picklable (it holds the checks' texts, not the checks), so scan workers
    encode their own findings and the main process only writes the text.
    """

    def __init__(self, checks: list[Check], prefix: str):
        self.checks = {c.id: (c.title, c.remediation, c.refs) for c in checks}
        self.prefix = prefix

    def __call__(self, findings: list[Finding]) -> bytearray:
        # Each item is the bytes orjson makes of _item(...), put together from the dumps
        # of its parts: a check's and a resource's parts are dumped once, not per finding
        # (which halves the cost). JSON members joined by commas are the object's members.
        heads: dict[tuple, bytes] = {}  # check, slug, title, severity
        tails: dict[str, bytes] = {}  # remediation, refs
        wheres: dict[int, bytes] = {}  # the resource's fields
        paths: dict[Path, str] = {}  # the same paths recur across resources: format each once
        buffer = bytearray()
        separator = self.prefix.encode()
        following = b",\n" + separator
        for f in findings:
            head = heads.get((f.check_id, f.slug, f.severity))
            if head is None:
                title, remediation, refs = self.checks[f.check_id]
                tails[f.check_id] = _members({"remediation": remediation, "refs": refs})
                fields = {"check": f.check_id, "slug": f.slug, "title": title, "severity": str(f.severity)}
                head = heads[(f.check_id, f.slug, f.severity)] = _members(fields)
            where = wheres.get(id(f.resource))
            if where is None:
                where = wheres[id(f.resource)] = _members(_where(f.resource))
            path = paths.get(f.path)
            if path is None:
                path = paths[f.path] = f.path_str
            middle = _members({"line": f.line, "path": path, "container": f.container, "message": f.message})
            if f.suppressed or f.suppression is not None or f.notes:
                last = _members({"suppressed": f.suppressed, "suppression": f.suppression, "notes": list(f.notes)})
            else:
                last = _UNSUPPRESSED
            buffer += b"".join((separator, b"{", head, b",", where, b",", middle, b",", tails[f.check_id], b",", last, b"}"))
            separator = following
        return buffer


def _members(fields: dict) -> bytes:
    """The members of a JSON object, as orjson writes them, without the braces."""
    return orjson.dumps(fields)[1:-1]


_UNSUPPRESSED = _members({"suppressed": False, "suppression": None, "notes": []})


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
        self.items = JsonItems(out, {"schemaVersion": SCHEMA_VERSION, "tool": _TOOL, "findings": ITEMS})
        self.encoder = Encoder(checks, self.items.prefix)

    def add(self, findings: list[Finding]) -> None:
        for start in range(0, len(findings), 1000):  # bounded text, however many findings
            self.add_encoded(self.encoder(findings[start : start + 1000]))

    def add_encoded(self, data: bytes | bytearray) -> None:
        """Add findings that :attr:`encoder` encoded (in a scan worker, say)."""
        self.items.add_encoded(data)

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
