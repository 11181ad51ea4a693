"""Report writers. Each module has ``write(result, out, **options)`` and
``render(result, **options) -> str``; JSON and SARIF stream their findings,
so a report of 100k findings is never held in memory as one string."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any, TextIO

import orjson

FORMATS = ("table", "json", "sarif", "junit")
_PLACEHOLDER = "\x00kubeward-items\x00"


def write_json_with_items(out: TextIO, doc: dict[str, Any], items: Iterable[Any]) -> None:
    """Write ``doc`` (indented), streaming ``items`` in place of the one value set to ITEMS."""
    text = orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode()
    head, tail = text.split(orjson.dumps(_PLACEHOLDER).decode(), 1)
    key_line = head.rsplit("\n", 1)[1]  # e.g. '  "findings": '
    indent = " " * (len(key_line) - len(key_line.lstrip(" ")))
    out.write(head)
    out.write("[")
    separator = "\n"
    wrote = False
    for item in items:
        out.write(separator + indent + "  " + orjson.dumps(item).decode())
        separator = ",\n"
        wrote = True
    out.write(("\n" + indent + "]" if wrote else "]") + tail + "\n")


ITEMS = _PLACEHOLDER


def render_with(write: Callable[..., None], result: Any, **options: Any) -> str:
    buffer = io.StringIO()
    write(result, buffer, **options)
    return buffer.getvalue()
