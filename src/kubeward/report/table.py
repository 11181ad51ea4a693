"""The terminal report: findings grouped by resource, coloured by severity."""

from __future__ import annotations

import io
from itertools import groupby

from ..engine import ScanResult
from ..model import Finding, Severity
from .jsonreport import summary

STYLES = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


class Stream:
    """Prints findings grouped by resource as they come, and the summary last."""

    def __init__(
        self, out, checks: list, *, color: bool = False, show_suppressed: bool = False, width: int | None = None, **_: object
    ):
        from rich.console import Console

        self.console = Console(
            file=out, force_terminal=color, no_color=not color, highlight=False, width=width or 120, soft_wrap=True
        )
        self.show_suppressed = show_suppressed

    def add(self, findings: list[Finding]) -> None:
        from rich.text import Text

        console = self.console
        shown = [f for f in findings if self.show_suppressed or not f.suppressed]
        for _, group in groupby(shown, key=lambda f: id(f.resource)):
            items = list(group)
            res = items[0].resource
            header = Text()
            header.append(res.ref, style="bold")
            header.append(f"  {res.file}", style="dim")
            if res.doc_index:
                header.append(f" (document {res.doc_index + 1})", style="dim")
            console.print(header)
            for f in items:
                line = Text("  ")
                line.append(f"{str(f.severity).upper():<8}", style="dim" if f.suppressed else STYLES[f.severity])
                line.append(f" {f.check_id} ", style="bold")
                line.append(f"{f.slug:<28}", style="dim")
                line.append(f" L{f.line or '?':<5}", style="dim")
                line.append(f" {f.message}")
                if f.suppressed:
                    line.append(f"  [suppressed: {f.suppression}]", style="dim italic")
                console.print(line)
                if f.path:
                    console.print(Text(f"{'':>52}{f.path_str}", style="dim"))
                for note in f.notes:
                    console.print(Text(f"{'':>52}note: {note}", style="magenta"))
            console.print()

    def end(self, result: ScanResult) -> None:
        from rich.text import Text

        s = summary(result)
        counts = ", ".join(f"{n} {name}" for name, n in s["bySeverity"].items() if n)
        tail = Text()
        if s["findings"]:
            tail.append(f"{s['findings']} findings", style="bold")
            tail.append(f" ({counts})")
        else:
            tail.append("No findings", style="bold green")
        tail.append(f" in {s['resources']} resources, {s['checks']} checks")
        if s["suppressed"]:
            tail.append(f", {s['suppressed']} suppressed")
        if s["errors"]:
            tail.append(f", {s['errors']} input errors", style="bold red")
        self.console.print(tail)


def write(result: ScanResult, out, **options: object) -> None:
    stream = Stream(out, result.checks, **options)
    stream.add(result.findings)
    stream.end(result)


def render(result: ScanResult, **options: object) -> str:
    buffer = io.StringIO()
    write(result, buffer, **options)
    return buffer.getvalue()
