"""`kubeward pss`: Pod Security Standards per workload and per namespace."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import orjson

from ..checks import pss
from ..psa import MODES, NamespaceReport, WorkloadReport, advice, recommended_labels

EXIT_OK, EXIT_VIOLATIONS, EXIT_ERROR = 0, 1, 2


def run_pss(*, paths, level, version, namespaces, pss_config, fmt, max_file_size) -> int:
    from ..inventory import Inventory
    from ..psa import PsaConfig, PsaConfigError, analyse, load_psa_config
    from ..sources.files import load_paths

    try:
        evaluated = pss.parse_version(version)
        config = load_psa_config(Path(pss_config)) if pss_config else PsaConfig()
    except (ValueError, PsaConfigError) as exc:
        click.echo(f"kubeward: error: {exc}", err=True)
        return EXIT_ERROR
    loaded = load_paths(list(paths) or ["."], max_file_bytes=max_file_size * 1024 * 1024)
    for error in loaded.errors:
        click.echo(f"kubeward: error: {error}", err=True)
    reports = analyse(Inventory(loaded.resources), level, evaluated, config)
    for report in reports:
        for error in report.policy.errors:
            click.echo(f"kubeward: warning: namespace {report.name}: invalid label {error}", err=True)
    if fmt == "json":
        sys.stdout.write(_json(reports, level, version))
    else:
        sys.stdout.write(_table(reports, level, version, namespaces))
    if loaded.errors:
        return EXIT_ERROR
    workloads = [w for r in reports for w in r.workloads]
    return EXIT_VIOLATIONS if any(w.violations or w.rejected for w in workloads) else EXIT_OK


def _mode_line(w: WorkloadReport) -> list[str]:
    if w.exempt:
        return [f"    exempt: {w.exempt}"]
    lines = []
    for m in w.modes:
        if m.policy.level == "privileged":
            continue
        if m.allowed:
            outcome = "allowed"
        elif m.mode == "enforce":
            outcome = "REJECTED" if w.resource.kind == "Pod" else "its pods would be REJECTED"
        else:
            outcome = "audit annotation" if m.mode == "audit" else "warning"
        lines.append(f"    namespace {w.namespace} {m.mode} {m.policy}: {outcome}")
        if not m.allowed and m.mode == "enforce":
            lines.append(f"      {m.message()}")
    return lines


def _table(reports: list[NamespaceReport], level: str, version: str, namespaces_only: bool) -> str:
    out = []
    for report in [] if namespaces_only else reports:
        for w in report.workloads:
            res = w.resource
            out.append(f"{res.ref}  {res.file}" + (f" (document {res.doc_index + 1})" if res.doc_index else ""))
            out.append(f"  satisfies: {w.strictest} (at {version})")
            if w.violations:
                out.append(f"  {level}:{version}: {len(w.violations)} violation{'s' if len(w.violations) != 1 else ''}")
                out += [f"    - {r.verdict.message}" for r in w.violations]
            else:
                out.append(f"  {level}:{version}: passes")
            out += _mode_line(w)
            out.append("")
    if reports:
        out.append("Namespaces")
        for report in reports:
            out.append(f"  {report.name}" + ("  (exempt)" if report.exempt else ""))
            if report.labels is None:
                out.append("    labels: no Namespace object in the input")
            else:
                current = ", ".join(f"{k.rsplit('/', 1)[1]}={v}" for k, v in sorted(report.labels.items())) or "none"
                out.append(f"    labels: {current}")
            out.append(f"    {advice(report)}")
            labels = recommended_labels(report, version)
            out.append(
                "    apply: kubectl label --overwrite ns " + report.name + " " + " ".join(f"{k}={v}" for k, v in labels.items())
            )
        out.append("")
    total = sum(len(r.workloads) for r in reports)
    failing = sum(1 for r in reports for w in r.workloads if w.violations)
    out.append(f"{total} workloads, {failing} violate {level}:{version}")
    return "\n".join(out) + "\n"


def _json(reports: list[NamespaceReport], level: str, version: str) -> str:
    def workload(w: WorkloadReport) -> dict:
        res = w.resource
        return {
            "kind": res.kind,
            "namespace": w.namespace,
            "name": res.name,
            "file": res.file,
            "document": res.doc_index + 1,
            "strictestLevel": w.strictest,
            "violations": [
                {"check": r.check_id, "reason": r.verdict.reason, "detail": r.verdict.detail, "message": r.verdict.message}
                for r in w.violations
            ],
            "namespacePolicy": {
                m.mode: {"policy": str(m.policy), "allowed": m.allowed, "message": None if m.allowed else m.message()}
                for m in w.modes
            },
            "exempt": w.exempt,
        }

    doc = {
        "schemaVersion": 1,
        "level": level,
        "version": version,
        "workloads": [workload(w) for r in reports for w in r.workloads],
        "namespaces": [
            {
                "name": r.name,
                "labels": r.labels,
                "policy": {mode: str(r.policy.mode(mode)) for mode in MODES},
                "labelErrors": r.policy.errors,
                "exempt": r.exempt,
                "strictestLevel": r.strictest,
                "advice": advice(r),
                "recommendedLabels": recommended_labels(r, version),
            }
            for r in reports
        ],
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n"
