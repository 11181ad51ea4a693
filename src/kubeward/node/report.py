"""Reports for `kubeward node`: table, JSON, SARIF 2.1.0 and JUnit.

A node-specific writer rather than the scan writers: every result here has a
status (pass / fail / manual), an effective value and its source, none of
which a scan Finding carries, and the scan writers need registered checks.
SARIF keeps them faithfully (``kind: pass | fail | review``), JUnit as passed,
failed and skipped test cases; the SARIF levels, severities and URIs are the
scan writer's own.
"""

from __future__ import annotations

import hashlib
import io
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

import orjson

from .. import __version__
from ..model import Severity
from ..report.sarif import INFO_URI, LEVELS, SARIF_SCHEMA, SECURITY_SEVERITY, _uri
from .cis import BENCHMARK, FAIL, MANUAL, PASS, Result

SCHEMA_VERSION = 1


@dataclass
class NodeReport:
    results: list[Result]
    components: dict[str, dict] = field(default_factory=dict)  # name -> {origin, file, also}
    errors: list[str] = field(default_factory=list)
    encryption: dict | None = None

    def counts(self) -> dict[str, int]:
        c = Counter(r.status for r in self.results)
        return {PASS: c.get(PASS, 0), FAIL: c.get(FAIL, 0), MANUAL: c.get(MANUAL, 0)}

    def failed(self, threshold: Severity | None) -> bool:
        return threshold is not None and any(r.status == FAIL and r.severity >= threshold for r in self.results)


def write_json(report: NodeReport, out: TextIO) -> None:
    doc = {
        "schemaVersion": SCHEMA_VERSION,
        "tool": {"name": "kubeward", "version": __version__},
        "benchmark": BENCHMARK,
        "components": report.components,
        "results": [r.as_dict() for r in report.results],
        "encryption": report.encryption,
        "errors": report.errors,
        "summary": {**report.counts(), "checks": len(report.results)},
    }
    out.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode() + "\n")


_STATUS_STYLE = {PASS: "green", FAIL: "bold red", MANUAL: "yellow"}


def write_table(report: NodeReport, out: TextIO, *, color: bool = False, width: int | None = None) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=out, force_terminal=color, no_color=not color, highlight=False, width=width or 160, soft_wrap=False)
    if report.components:
        for name, info in report.components.items():
            console.print(Text(f"{name}: {info['origin']} {info['file']}", style="bold"))
        console.print()
    table = Table(show_lines=False, box=None, pad_edge=False)
    for column in ("ID", "STATUS", "COMPONENT", "CHECK", "VALUE", "SOURCE"):
        table.add_column(column, overflow="fold")
    for r in report.results:
        table.add_row(
            r.id,
            Text(r.status.upper(), style=_STATUS_STYLE[r.status]),
            r.component,
            r.title + (f"\n  {r.message}" if r.status != PASS else ""),
            r.value,
            r.source,
        )
    console.print(table)
    for error in report.errors:
        console.print(Text(f"error: {error}", style="red"))
    c = report.counts()
    console.print(Text(f"\n{len(report.results)} checks: {c[PASS]} pass, {c[FAIL]} fail, {c[MANUAL]} manual ({BENCHMARK})",
                       style="bold"))


def _rule(r: Result) -> dict:
    return {
        "id": r.id,
        "name": r.id,
        "shortDescription": {"text": r.title},
        "help": {"text": r.remediation},
        "defaultConfiguration": {"level": LEVELS[r.severity]},
        "properties": {"tags": ["security", "node", r.component], "security-severity": SECURITY_SEVERITY[r.severity],
                       "benchmark": BENCHMARK if r.cis else "kubeward"},
    }


def write_sarif(report: NodeReport, out: TextIO) -> None:
    rules: dict[str, dict] = {}
    for r in report.results:
        rules.setdefault(r.id, _rule(r))
    order = {rid: i for i, rid in enumerate(rules)}
    results = []
    for r in report.results:
        kind = {PASS: "pass", FAIL: "fail", MANUAL: "review"}[r.status]
        fingerprint = hashlib.sha256(f"{r.id}|{r.component}|{r.file}".encode()).hexdigest()[:32]
        results.append({
            "ruleId": r.id,
            "ruleIndex": order[r.id],
            "kind": kind,
            "level": LEVELS[r.severity] if r.status == FAIL else "none",
            "message": {"text": f"{r.component}: {r.title}: {r.message} (value {r.value}; {r.source})"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(r.file or r.component)}}}],
            "partialFingerprints": {"kubeward/v1": fingerprint},
            "properties": {"status": r.status, "value": r.value, "source": r.source, "component": r.component},
        })
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "kubeward", "version": __version__, "informationUri": INFO_URI,
                                "rules": list(rules.values())}},
            "results": results,
            "invocations": [{"executionSuccessful": not report.errors, "toolExecutionNotifications": [
                {"level": "error", "message": {"text": e}} for e in report.errors]}],
        }],
    }
    out.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")


def write_junit(report: NodeReport, out: TextIO) -> None:
    suites = ET.Element("testsuites", name="kubeward node")
    by_component: dict[str, list[Result]] = {}
    for r in report.results:
        by_component.setdefault(r.component, []).append(r)
    total = failures = skipped = 0
    for component, items in by_component.items():
        suite = ET.SubElement(suites, "testsuite", name=component)
        fails = skips = 0
        for r in items:
            case = ET.SubElement(suite, "testcase", classname=f"{component}", name=f"{r.id} {r.title}", file=r.file)
            if r.status == FAIL:
                fails += 1
                failure = ET.SubElement(case, "failure", message=r.message, type=str(r.severity))
                failure.text = f"value {r.value} from {r.source}\n{r.remediation}"
            elif r.status == MANUAL:
                skips += 1
                ET.SubElement(case, "skipped", message=f"manual: {r.message} (value {r.value}; {r.source})")
        suite.set("tests", str(len(items)))
        suite.set("failures", str(fails))
        suite.set("skipped", str(skips))
        suite.set("errors", "0")
        total, failures, skipped = total + len(items), failures + fails, skipped + skips
    if report.errors:
        suite = ET.SubElement(suites, "testsuite", name="input", tests=str(len(report.errors)), errors=str(len(report.errors)),
                              failures="0")
        for e in report.errors:
            ET.SubElement(ET.SubElement(suite, "testcase", classname="input", name=e[:80]), "error", message=e)
    suites.set("tests", str(total + len(report.errors)))
    suites.set("failures", str(failures))
    suites.set("skipped", str(skipped))
    suites.set("errors", str(len(report.errors)))
    ET.indent(suites)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n")


WRITERS = {"json": write_json, "sarif": write_sarif, "junit": write_junit}


def render(report: NodeReport, fmt: str, **options) -> str:
    buffer = io.StringIO()
    if fmt == "table":
        write_table(report, buffer, **options)
    else:
        WRITERS[fmt](report, buffer)
    return buffer.getvalue()
