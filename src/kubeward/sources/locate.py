"""Recover the source line of a field path, lazily.

Parsing never records positions (that would slow every scan). For documents
with findings, lines are recovered afterwards:

* block-style YAML (nearly every manifest) is read by indentation with
  :class:`TextIndex`, which costs a few microseconds per lookup and keeps no
  parse tree;
* JSON and anything the indentation reading cannot follow falls back to
  libyaml's composer, once per document.

Both give the line of the deepest node of the path that exists, so a missing
field points at its nearest present parent.
"""

from __future__ import annotations

import yaml

from ..model import Path, Resource


def compose(text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.CSafeLoader)
    except (yaml.YAMLError, RecursionError):
        return None


def line_of_node(root: yaml.Node | None, path: Path) -> int | None:
    """0-based line of the deepest node along ``path`` that exists in ``root``."""
    if root is None:
        return None
    node = root
    line = root.start_mark.line
    for part in path:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key_node, value_node in reversed(node.value):  # the last duplicate wins
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == part:
                    line = key_node.start_mark.line
                    node = value_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line
        else:
            return line
    return line


class TextIndex:
    """Field path -> line for block-style YAML, by indentation.

    Each content line is reduced to the indents of its leading ``- `` markers,
    the indent of its content, and the content itself.
    """

    __slots__ = ("entries",)

    def __init__(self, text: str):
        entries: list[tuple[int, tuple[int, ...], int, str]] = []  # (line, markers, indent, content)
        for number, raw in enumerate(text.split("\n")):
            stripped = raw.lstrip(" ")
            if not stripped or stripped[0] == "#" or stripped.startswith(("---", "...")) and len(raw) == len(stripped):
                continue
            indent = len(raw) - len(stripped)
            markers: list[int] = []
            while stripped[:1] == "-" and stripped[1:2] in (" ", "", "\r"):
                markers.append(indent)
                rest = stripped[1:].lstrip(" ")
                indent += len(stripped) - len(rest)
                stripped = rest
            if stripped[:1] == "#":
                stripped = ""
            entries.append((number, tuple(markers), indent, stripped.rstrip("\r")))
        self.entries = entries

    def line_of(self, path: Path) -> int | None:
        """0-based line of the deepest node of ``path`` found, or None if unsure."""
        entries = self.entries
        if not entries:
            return None
        lo, hi = 0, len(entries)
        skip = 0  # "- " markers of entry `lo` already consumed by outer sequences
        line = entries[0][0]
        for part in path:
            if lo >= hi:
                return line
            if isinstance(part, str):
                found = self._key(lo, hi, part, skip)
                if found is None:
                    return line
                index, value_inline = found
                line = entries[index][0]
                if value_inline:
                    return line  # a flow collection or scalar on the key's line
                lo, hi, skip = index + 1, self._block_end(index + 1, hi, entries[index][2]), 0
            else:
                found = self._item(lo, hi, part, skip)
                if found is None:
                    return line
                index, end, depth = found
                lo, hi, skip = index, end, depth + 1
                content_here = skip < len(entries[index][1]) or entries[index][3]
                # an item whose "-" stands alone starts on the next line
                line = entries[index][0] if content_here or index + 1 >= end else entries[index + 1][0]
        return line

    def _key(self, lo: int, hi: int, key: str, skip: int) -> tuple[int, bool] | None:
        """The entry holding ``key`` in the mapping that spans [lo, hi)."""
        entries = self.entries
        first = lo
        if skip < len(entries[lo][1]):
            return None  # a sequence, not a mapping
        if not entries[first][3]:  # "-" alone: the item's mapping starts below
            first += 1
            if first >= hi:
                return None
        indent = entries[first][2]
        candidates = (f"{key}:", f'"{key}":', f"'{key}':")
        found = None
        for i in range(first, hi):
            _, markers, ind, content = entries[i]
            # keys sit at the mapping's indent; a "- " line there starts another
            # item, except the item's own first line
            if ind != indent or (markers and i != lo):
                continue
            for candidate in candidates:
                if content.startswith(candidate):
                    rest = content[len(candidate) :]
                    if rest and rest[0] not in " \t":
                        continue
                    found = (i, _is_inline(rest.strip()))  # the last duplicate wins, as in decoding
                    break
        return found

    def _block_end(self, start: int, hi: int, key_indent: int) -> int:
        """End of the value block of a key at ``key_indent`` (exclusive)."""
        entries = self.entries
        for i in range(start, hi):
            _, markers, ind, _ = entries[i]
            first = markers[0] if markers else ind
            if first < key_indent or (first == key_indent and not markers):
                return i
        return hi

    def _item(self, lo: int, hi: int, index: int, skip: int) -> tuple[int, int, int] | None:
        """(entry, end, marker depth) of item ``index`` of the sequence in [lo, hi)."""
        entries = self.entries
        first_markers = entries[lo][1]
        if skip < len(first_markers):
            depth, seq_indent = skip, first_markers[skip]
        else:
            depth, seq_indent = 0, None
        starts: list[int] = []
        for i in range(lo, hi):
            markers = entries[i][1]
            if i == lo and skip:
                markers = markers[skip:]
            if not markers:
                continue
            if seq_indent is None:
                seq_indent = markers[0]
            if markers[0] == seq_indent:
                starts.append(i)
            elif markers[0] < seq_indent:
                break
        if seq_indent is None or index >= len(starts):
            return None
        begin = starts[index]
        end = starts[index + 1] if index + 1 < len(starts) else hi
        return begin, end, depth if begin == lo else 0


def _is_inline(rest: str) -> bool:
    """Does a key's value continue on its own line (flow collection, scalar)?"""
    if not rest or rest[0] == "#":
        return False
    if rest[0] in "&!":  # an anchor or tag, possibly followed by an inline value
        parts = rest.split(None, 1)
        return len(parts) > 1 and not parts[1].startswith("#")
    return True


def assign_lines(pairs: list[tuple[Resource, Path, object]]) -> None:
    """Set ``.line`` on each finding from its resource and path.

    ``pairs`` holds (resource, path, finding); each document is indexed once.
    """
    indexes: dict[int, TextIndex | yaml.Node | None] = {}
    for resource, path, finding in pairs:
        if resource.rendered:
            finding.line = None  # rendered output: no line in the user's file
            continue
        source = resource.source
        if source is None:
            finding.line = resource.start_line
            continue
        key = id(source)
        index = indexes.get(key)
        if key not in indexes:
            index = indexes[key] = _index(source)
        full = (*resource.list_path, *path)
        line = index.line_of(full) if isinstance(index, TextIndex) else line_of_node(index, full)
        finding.line = resource.start_line + line if line is not None else resource.start_line


def _index(source: str) -> TextIndex | yaml.Node | None:
    head = source.lstrip(" \t\r\n-")
    if head[:1] in "{[" or "<<" in source or "*" in source and "&" in source:
        return compose(source)  # JSON, flow style, merges or aliases: let libyaml read it
    return TextIndex(source)
