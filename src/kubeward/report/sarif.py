"""SARIF 2.1.0, for GitHub code scanning and other SARIF consumers."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import PurePath
from typing import TextIO

from .. import __version__
from ..engine import ScanResult
from ..model import Finding, Severity
from . import ITEMS, JsonItems, encode_items, render_with

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFO_URI = "https://github.com/kubeward/kubeward"
LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub ranks alerts by this property (0.0-10.0).
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}


def _uri(file: str) -> str:
    path = PurePath(file)
    if path.is_absolute():
        return path.as_uri()
    return path.as_posix()


def _rule(check) -> dict:
    return {
        "id": check.id,
        "name": check.slug,
        "shortDescription": {"text": check.title},
        "fullDescription": {"text": check.rationale or check.title},
        "help": {"text": check.remediation or check.title},
        "defaultConfiguration": {"level": LEVELS[check.severity]},
        "properties": {
            "tags": sorted({"security", *check.tags}),
            "security-severity": SECURITY_SEVERITY[check.severity],
            "refs": check.refs,
        },
    }


def _result(f: Finding, rule_index: int, remediation: str, uri: str, ref: str) -> dict:
    path = f.path_str
    location: dict = {"physicalLocation": {"artifactLocation": {"uri": uri}}}
    if f.line:
        location["physicalLocation"]["region"] = {"startLine": f.line}
    location["logicalLocations"] = [{"name": path or ref, "fullyQualifiedName": f"{ref}:{path}", "kind": "object"}]
    fingerprint = hashlib.sha256(f"{f.check_id}|{ref}|{path}".encode()).hexdigest()[:32]
    out: dict = {
        "ruleId": f.check_id,
        "ruleIndex": rule_index,
        "level": LEVELS[f.severity],
        "message": {"text": f"{ref}: {f.message}. {remediation}".strip()},
        "locations": [location],
        "partialFingerprints": {"kubeward/v1": fingerprint},
        "properties": {"severity": str(f.severity), "resource": ref, "path": path},
    }
    if f.suppressed:
        kind = "inSource" if f.suppression and "(annotation " in f.suppression else "external"
        out["suppressions"] = [{"kind": kind, "justification": f.suppression or ""}]
    return out


class Encoder:
    """Findings -> the text of their results in the log. Picklable (it holds the
    rules' indexes and texts, not the checks), so scan workers encode their own
    findings and the main process only writes the text."""

    def __init__(self, checks: list, prefix: str):
        self.rules = {c.id: (i, c.remediation) for i, c in enumerate(checks)}
        self.prefix = prefix

    def __call__(self, findings: list[Finding]) -> bytearray:
        wheres: dict[int, tuple[str, str]] = {}  # per resource: (uri, ref), shared by its findings

        def items() -> Iterator[dict]:
            for f in findings:
                where = wheres.get(id(f.resource))
                if where is None:
                    where = wheres[id(f.resource)] = (_uri(f.resource.file), f.resource.ref)
                yield _result(f, *self.rules[f.check_id], *where)

        return encode_items(items(), self.prefix)


def _log(checks: list, errors: list | None) -> dict:
    """The SARIF log around the results; ``errors`` None means not yet known."""
    run: dict = {
        "tool": {
            "driver": {
                "name": "kubeward",
                "version": __version__,
                "informationUri": INFO_URI,
                "rules": [_rule(c) for c in checks],
            }
        },
        "results": ITEMS,
    }
    if errors is not None:
        run["invocations"] = [
            {
                "executionSuccessful": not errors,
                "toolExecutionNotifications": [
                    {
                        "level": "error",
                        "message": {"text": e.message},
                        "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(e.file)}}}],
                    }
                    for e in errors
                ],
            }
        ]
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


class Stream:
    """Writes the log while the scan runs: rules first, results as they come."""

    def __init__(self, out: TextIO, checks: list, **_: object):
        self.checks = sorted(checks, key=lambda c: c.id)
        self.items = JsonItems(out, _log(self.checks, None))
        self.encoder = Encoder(self.checks, self.items.prefix)

    def add(self, findings: list[Finding]) -> None:
        for start in range(0, len(findings), 1000):  # bounded text, however many findings
            self.add_encoded(self.encoder(findings[start : start + 1000]))

    def add_encoded(self, data: bytes | bytearray) -> None:
        """Add findings that :attr:`encoder` encoded (in a scan worker, say)."""
        self.items.add_encoded(data)

    def end(self, result: ScanResult) -> None:
        self.items.close(_log(self.checks, result.errors))


def write(result: ScanResult, out: TextIO, **options: object) -> None:
    stream = Stream(out, result.checks)
    stream.add(result.findings)
    stream.end(result)


def render(result: ScanResult, **options: object) -> str:
    return render_with(write, result, **options)
