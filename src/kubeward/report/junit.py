"""JUnit XML: one test case per check and resource, failed when it has findings."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from ..engine import ScanResult
from ..model import Finding


def render(result: ScanResult, **_: object) -> str:
    by_check: dict[str, list[Finding]] = defaultdict(list)
    for f in result.findings:
        by_check[f.check_id].append(f)
    suites = ET.Element("testsuites", name="kubeward")
    total = failures = 0
    for check in sorted(result.checks, key=lambda c: c.id):
        findings = by_check.get(check.id, [])
        per_resource: dict[str, list[Finding]] = defaultdict(list)
        for f in findings:
            per_resource[f.resource.ref].append(f)
        suite = ET.SubElement(suites, "testsuite", name=f"{check.id} {check.slug}")
        cases = fails = skipped = 0
        for ref, items in per_resource.items():
            case = ET.SubElement(suite, "testcase", classname=check.id, name=ref, file=items[0].resource.file)
            cases += 1
            active = [f for f in items if not f.suppressed]
            if not active:
                ET.SubElement(case, "skipped", message="; ".join(f.suppression or "" for f in items))
                skipped += 1
                continue
            fails += 1
            first = active[0]
            failure = ET.SubElement(case, "failure", message=first.message, type=str(first.severity))
            failure.text = "\n".join(
                f"{f.resource.file}:{f.line or '?'} {f.path_str}: {f.message}. {check.remediation}" for f in active
            )
        if not cases:  # a check that found nothing is one passing case
            ET.SubElement(suite, "testcase", classname=check.id, name=check.title)
            cases = 1
        suite.set("tests", str(cases))
        suite.set("failures", str(fails))
        suite.set("skipped", str(skipped))
        suite.set("errors", "0")
        total += cases
        failures += fails
    if result.errors:
        suite = ET.SubElement(
            suites, "testsuite", name="input", tests=str(len(result.errors)), errors=str(len(result.errors)), failures="0"
        )
        for e in result.errors:
            case = ET.SubElement(suite, "testcase", classname="input", name=e.file)
            ET.SubElement(case, "error", message=str(e))
        total += len(result.errors)
    suites.set("tests", str(total))
    suites.set("failures", str(failures))
    suites.set("errors", str(len(result.errors)))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def write(result: ScanResult, out, **options: object) -> None:
    out.write(render(result, **options))
