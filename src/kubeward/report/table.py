"""The terminal report: findings grouped by resource, coloured by severity."""

from __future__ import annotations

import io
from collections.abc import Iterator
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
        self.out = out
        self.console = _console(out, color, width or 120)
        self.show_suppressed = show_suppressed
        # without colour the text is plain: scan workers can render it (PlainEncoder)
        self.encoder = None if color else PlainEncoder(show_suppressed, width or 120)

    def add(self, findings: list[Finding]) -> None:
        if self.encoder is not None:
            self.add_encoded(self.encoder(findings))
            return
        from rich.text import Text

        for parts in _lines(findings, self.show_suppressed):
            text = Text()
            for chunk, style in parts:
                text.append(chunk, style=style)
            self.console.print(text)

    def add_encoded(self, text: str) -> None:
        """Add findings that :attr:`encoder` rendered (in a scan worker, say)."""
        self.out.write(text)

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


Line = list[tuple[str, str | None]]  # (text, rich style) parts


def _lines(findings: list[Finding], show_suppressed: bool) -> Iterator[Line]:
    """The report's lines for some findings: a header per resource, a line per finding
    (with its path and notes under it), a blank line after each resource."""
    shown = [f for f in findings if show_suppressed or not f.suppressed]
    for _, group in groupby(shown, key=lambda f: id(f.resource)):
        items = list(group)
        res = items[0].resource
        header: Line = [(res.ref, "bold"), (f"  {res.file}", "dim")]
        if res.doc_index:
            header.append((f" (document {res.doc_index + 1})", "dim"))
        yield header
        for f in items:
            line: Line = [
                ("  ", None),
                (f"{str(f.severity).upper():<8}", "dim" if f.suppressed else STYLES[f.severity]),
                (f" {f.check_id} ", "bold"),
                (f"{f.slug:<28}", "dim"),
                (f" L{f.line or '?':<5}", "dim"),
                (f" {f.message}", None),
            ]
            if f.suppressed:
                line.append((f"  [suppressed: {f.suppression}]", "dim italic"))
            yield line
            if f.path:
                yield [(f"{'':>52}{f.path_str}", "dim")]
            for note in f.notes:
                yield [(f"{'':>52}note: {note}", "magenta")]
        yield []


class PlainEncoder:
    """Findings -> the text the table prints for them without colour. Picklable.

    Rich takes ~130 us to print a line; an uncoloured line of printable ASCII that
    fits the width (nearly all of them) prints as itself, so it is written as is,
    and only other lines (control characters, tabs, wide characters, trailing
    spaces past the width) go through rich, with the console the table uses.
    """

    def __init__(self, show_suppressed: bool, width: int):
        self.show_suppressed = show_suppressed
        self.width = width
        self._rich: tuple | None = None  # (console, its buffer), made when first needed

    def __getstate__(self) -> dict:
        return {"show_suppressed": self.show_suppressed, "width": self.width, "_rich": None}

    def __call__(self, findings: list[Finding]) -> str:
        out = []
        for parts in _lines(findings, self.show_suppressed):
            line = "".join(chunk for chunk, _ in parts)
            if line.isascii() and line.isprintable() and (len(line) <= self.width or not line.endswith(" ")):
                out.append(line + "\n")
            else:
                out.append(self._through_rich(line))
        return "".join(out)

    def _through_rich(self, line: str) -> str:
        from rich.text import Text

        if self._rich is None:
            buffer = io.StringIO()
            self._rich = (_console(buffer, False, self.width), buffer)
        console, buffer = self._rich
        buffer.seek(0)
        buffer.truncate()
        console.print(Text(line))  # without colour, styles do not change the text
        return buffer.getvalue()


def _console(out, color: bool, width: int):
    from rich.console import Console  # here, not at module level: `kubeward --help` stays fast

    return Console(file=out, force_terminal=color, no_color=not color, highlight=False, width=width, soft_wrap=True)


def write(result: ScanResult, out, **options: object) -> None:
    stream = Stream(out, result.checks, **options)
    stream.add(result.findings)
    stream.end(result)


def render(result: ScanResult, **options: object) -> str:
    buffer = io.StringIO()
    write(result, buffer, **options)
    return buffer.getvalue()
