"""`kubeward probe`: what an unauthenticated client can reach on named hosts."""

from __future__ import annotations

import json
import sys

import click

from .. import __version__
from ..model import Severity

EXIT_OK, EXIT_EXPOSED, EXIT_ERROR = 0, 1, 2


def run_probe(*, hosts, ports, timeout, concurrency, fmt, fail_on) -> int:
    from ..probe import TargetError, plan, probe

    try:
        targets = plan(list(hosts), list(ports))
    except TargetError as exc:
        click.echo(f"kubeward: error: {exc}", err=True)
        return EXIT_ERROR
    results = probe(targets, timeout=timeout, concurrency=concurrency)
    sys.stdout.write(render_json(results) if fmt == "json" else render_table(results))
    threshold = None if fail_on == "none" else Severity.parse(fail_on)
    exposed = threshold is not None and any(f.rule.severity >= threshold for r in results for f in r.findings)
    return EXIT_EXPOSED if exposed else EXIT_OK


def _summary(results) -> dict:
    verdicts: dict[str, int] = {}
    severities: dict[str, int] = {}
    for r in results:
        verdicts[r.verdict] = verdicts.get(r.verdict, 0) + 1
        for f in r.findings:
            severities[str(f.rule.severity)] = severities.get(str(f.rule.severity), 0) + 1
    return {"targets": len(results), "verdicts": verdicts, "findings": sum(severities.values()), "bySeverity": severities}


def render_json(results) -> str:
    doc = {
        "tool": "kubeward",
        "version": __version__,
        "targets": [r.as_dict() for r in results],
        "findings": [f.as_dict() for r in results for f in r.findings],
        "summary": _summary(results),
    }
    return json.dumps(doc, indent=2) + "\n"


def _answers(obs) -> str:
    parts = []
    for ex in obs.exchanges:
        if ex.scheme != obs.scheme:
            continue
        parts.append(f"{ex.path} {ex.status if ex.status is not None else ex.error}")
    return ", ".join(parts)


def render_table(results) -> str:
    rows = [("TARGET", "SERVICE", "SCHEME", "VERDICT", "WHY")]
    for r in results:
        rows.append((r.target.address, r.target.service, r.observation.scheme or "-", r.verdict, r.why))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    out = []
    for i, row in enumerate(rows):
        out.append("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)) + "  " + row[4])
        if i and results[i - 1].observation.scheme:
            out.append(" " * (widths[0] + 2) + "answers: " + _answers(results[i - 1].observation))
    findings = sorted((f for r in results for f in r.findings), key=lambda f: (-f.rule.severity, f.rule.id, f.target.address))
    if findings:
        out += ["", "Findings"]
        for f in findings:
            out.append(f"{str(f.rule.severity).upper():<8}  {f.rule.id}  {f.target.address} ({f.rule.service})  {f.rule.title}")
            out += [f"    evidence: {line}" for line in f.evidence]
            out.append(f"    fix: {f.rule.remediation}")
    certs = [r for r in results if r.observation.tls]
    if certs:
        out += ["", "TLS certificates (not verified)"]
        for r in certs:
            t = r.observation.tls
            out.append(
                f"{r.target.address}  {t.version}  subject {t.subject or '?'}  issuer {t.issuer or '?'}"
                f"  expires {t.not_after or '?'}  sha256 {t.sha256[:16]}…"
            )
    s = _summary(results)
    verdicts = ", ".join(f"{n} {v}" for v, n in s["verdicts"].items())
    sev = ", ".join(f"{s['bySeverity'][k]} {k}" for k in ("critical", "high", "medium", "low", "info") if k in s["bySeverity"])
    total = f"{s['targets']} target{'s' * (s['targets'] != 1)}: {verdicts}; {s['findings']} finding(s)"
    out += ["", total + (f" ({sev})" if sev else "")]
    return "\n".join(out) + "\n"
