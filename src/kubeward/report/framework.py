"""Results grouped by a compliance framework's controls, with a score per control.

`kubeward scan --framework cis|nsa|mitre|pss` maps every selected check to the
control its metadata names (refs["cis"] = "5.2.2" and so on). Per control:
the checks mapped to it, the resources they evaluated, the resources that
failed (any unsuppressed finding), and a score = passing / evaluated.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ..checks.registry import Check
from ..engine import ScanResult
from ..model import Finding

FRAMEWORKS = {
    "cis": "CIS Kubernetes Benchmark v1.9 (section 5)",
    "nsa": "NSA/CISA Kubernetes Hardening Guide v1.2",
    "mitre": "MITRE ATT&CK for Containers",
    "pss": "Pod Security Standards",
}


@dataclass
class Control:
    id: str
    checks: list[Check] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    evaluated: int = 0

    @property
    def failing(self) -> int:
        return len({id(f.resource) for f in self.findings})

    @property
    def score(self) -> float | None:
        if not self.evaluated:
            return None
        return max(0.0, (self.evaluated - self.failing) / self.evaluated)

    @property
    def status(self) -> str:
        if not self.evaluated:
            return "n/a"
        return "FAIL" if self.findings else "PASS"


def control_keys(check: Check, framework: str) -> list[str]:
    """The controls a check maps to: refs values may list several, comma-separated."""
    value = check.refs.get(framework)
    if not value:
        return []
    if framework == "pss":
        return [value.split(":", 1)[0].strip()]  # "baseline: privileged" -> the level
    return [part.strip() for part in value.split(",") if part.strip()]


def controls(result: ScanResult, framework: str) -> list[Control]:
    by_id: dict[str, Control] = {}
    by_check: dict[str, list[Control]] = defaultdict(list)
    for check in result.checks:
        for key in control_keys(check, framework):
            control = by_id.setdefault(key, Control(key))
            control.checks.append(check)
            # resources the control covers: the widest of its checks (kinds overlap)
            control.evaluated = max(control.evaluated, result.evaluated(check))
            by_check[check.id].append(control)
    for finding in result.findings:
        if not finding.suppressed:
            for control in by_check.get(finding.check_id, ()):
                control.findings.append(finding)
    return sorted(by_id.values(), key=lambda c: _sort_key(c.id))


def _sort_key(control_id: str) -> tuple:
    parts = control_id.replace("-", ".").replace("/", ".").split(".")
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


def summary_dict(result: ScanResult, framework: str) -> dict:
    items = controls(result, framework)
    scored = [c for c in items if c.score is not None]
    return {
        "framework": framework,
        "title": FRAMEWORKS[framework],
        "score": round(sum(c.score for c in scored) / len(scored), 4) if scored else None,
        "controls": [
            {
                "control": c.id,
                "status": c.status,
                "checks": [k.id for k in c.checks],
                "evaluated": c.evaluated,
                "failing": c.failing,
                "findings": len(c.findings),
                "score": None if c.score is None else round(c.score, 4),
            }
            for c in items
        ],
    }


def render(result: ScanResult, framework: str, *, color: bool = False, **_: object) -> str:
    import io

    from rich.console import Console
    from rich.table import Table

    summary = summary_dict(result, framework)
    items = {c.id: c for c in controls(result, framework)}
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, highlight=False, width=140)
    for entry in summary["controls"]:
        control = items[entry["control"]]
        if not control.findings:
            continue
        console.print(f"[bold]{framework.upper()} {control.id}[/bold]  ({', '.join(k.id for k in control.checks)})")
        by_resource: dict[int, list[Finding]] = defaultdict(list)
        for f in control.findings:
            by_resource[id(f.resource)].append(f)
        for group in by_resource.values():
            res = group[0].resource
            console.print(f"  {res.ref}  [dim]{res.file}[/dim]")
            for f in group:
                console.print(f"    {str(f.severity).upper():<8} {f.check_id} L{f.line or '?'} {f.message}", markup=False)
        console.print()
    table = Table(title=f"{summary['title']}: per-control coverage and score")
    for column in ("Control", "Status", "Checks", "Evaluated", "Failing", "Score"):
        table.add_column(column, justify="right" if column in ("Evaluated", "Failing", "Score") else "left")
    for entry in summary["controls"]:
        score = "-" if entry["score"] is None else f"{100 * entry['score']:.0f}%"
        status = {"PASS": "[green]PASS[/green]", "FAIL": "[red]FAIL[/red]"}.get(entry["status"], entry["status"])
        table.add_row(entry["control"], status, " ".join(entry["checks"]), str(entry["evaluated"]), str(entry["failing"]), score)
    console.print(table)
    overall = "-" if summary["score"] is None else f"{100 * summary['score']:.0f}%"
    failing = sum(1 for e in summary["controls"] if e["status"] == "FAIL")
    console.print(f"{len(summary['controls'])} controls, {failing} failing; mean score {overall}")
    return buffer.getvalue()


def write(result: ScanResult, out, *, framework: str, **options: object) -> None:
    out.write(render(result, framework, **options))
