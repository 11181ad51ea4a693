"""Report writers. Each module has ``write(result, out, **options)`` and
``render(result, **options) -> str``; JSON and SARIF stream their findings,
so a report of 100k findings is never held in memory as one string."""

from __future__ import annotations

import codecs
import io
import os
from collections.abc import Callable, Iterable
from functools import partial
from itertools import islice
from typing import Any, BinaryIO, TextIO

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
        self.separator = b"\n"
        self.wrote = False
        self.binary = _utf8_bytes_under(out)

    @property
    def prefix(self) -> str:
        """The indent of each item."""
        return self.indent + "  "

    def add(self, items: Iterable[Any]) -> None:
        items = iter(items)
        while chunk := list(islice(items, 1000)):  # bounded text, however many items
            self.add_encoded(encode_items(chunk, self.prefix))

    def add_encoded(self, data: bytes | bytearray | BinaryIO) -> None:
        """Add items already encoded by :func:`encode_items`: their bytes, or a binary file
        holding them (a scan worker's)."""
        if not isinstance(data, bytes | bytearray):
            if self.binary is None:
                data = data.read()
            else:  # copied through one buffer, never held whole
                self._add_chunks(iter(partial(_read_into, data, memoryview(bytearray(1 << 20))), None))
                return
        if not data:
            return
        if self.binary is not None:  # straight to the file: no decoding and re-encoding of the batch
            self._add_chunks((data,))
        else:
            self.out.write((self.separator + data).decode())
            self.separator = b",\n"
            self.wrote = True

    def _add_chunks(self, chunks: Iterable[bytes | bytearray | memoryview]) -> None:
        assert self.binary is not None
        for chunk in chunks:
            if not chunk:
                continue
            if self.separator:  # before the first chunk of these items
                self.out.flush()
                self.binary.write(self.separator)
                self.separator = b""
            self.binary.write(chunk)
            self.wrote = True
        if self.wrote:
            self.separator = b",\n"

    def close(self, tail_doc: dict[str, Any]) -> None:
        tail = _split(tail_doc)[2]
        self.out.write(("\n" + self.indent + "]" if self.wrote else "]") + tail + "\n")


def _read_into(file: BinaryIO, buffer: memoryview) -> memoryview | None:
    """The next chunk of a file in ``buffer``, or None at its end."""
    size = file.readinto(buffer)
    return buffer[:size] if size else None


def _utf8_bytes_under(out: TextIO) -> BinaryIO | None:
    """The byte stream under a text stream when UTF-8 text reaches it unchanged
    (UTF-8 encoding, no line-end translation), else None."""
    buffer = getattr(out, "buffer", None)
    encoding = getattr(out, "encoding", None)
    if buffer is None or not encoding or os.linesep != "\n":
        return None
    try:
        return buffer if codecs.lookup(encoding).name == "utf-8" else None
    except LookupError:
        return None


def encode_items(items: Iterable[Any], prefix: str) -> bytearray:
    """Items as they appear in the list of a :class:`JsonItems` document, UTF-8: each on
    its own line after ``prefix``, separated by commas (empty for no items)."""
    # one growing buffer, each item dropped once dumped: holding a batch's items (dicts,
    # or their texts for a join) at once cost more in page faults than the joins saved
    buffer = bytearray()
    separator = prefix.encode()
    for item in items:
        buffer += separator
        buffer += orjson.dumps(item)
        separator = b",\n" + prefix.encode()
    return buffer


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
