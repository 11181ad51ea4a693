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


def _split(doc: dict[str, Any]) -> tuple[str, str, str]:
    """(text before, indent, text after) the one value of ``doc`` set to ITEMS."""
    text = orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode()
    head, tail = text.split(orjson.dumps(_PLACEHOLDER).decode(), 1)
    key_line = head.rsplit("\n", 1)[1]  # e.g. '  "findings": '
    return head, " " * (len(key_line) - len(key_line.lstrip(" "))), tail


class JsonItems:
    """An indented JSON document whose one list (the ITEMS value) is written item by item.

    Everything before the list is written at once; everything after it is
    taken from the document given to :meth:`close`, so it may hold values only
    known at the end (a summary).
    """

    def __init__(self, out: TextIO, head_doc: dict[str, Any]):
        self.out = out
        head, self.indent, _ = _split(head_doc)
        out.write(head + "[")
        self.separator = "\n"
        self.wrote = False

    def add(self, items: Iterable[Any]) -> None:
        prefix = self.indent + "  "
        for item in items:
            self.out.write(self.separator + prefix + orjson.dumps(item).decode())
            self.separator = ",\n"
            self.wrote = True

    def close(self, tail_doc: dict[str, Any]) -> None:
        tail = _split(tail_doc)[2]
        self.out.write(("\n" + self.indent + "]" if self.wrote else "]") + tail + "\n")


def write_json_with_items(out: TextIO, doc: dict[str, Any], items: Iterable[Any]) -> None:
    """Write ``doc`` (indented), with ``items`` in place of the one value set to ITEMS."""
    writer = JsonItems(out, doc)
    writer.add(items)
    writer.close(doc)


ITEMS = _PLACEHOLDER


def render_with(write: Callable[..., None], result: Any, **options: Any) -> str:
    buffer = io.StringIO()
    write(result, buffer, **options)
    return buffer.getvalue()
