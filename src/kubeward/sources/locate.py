"""Recover the source line of a field path, lazily.

Parsing never records positions (that would slow every scan). For documents
with findings, lines are recovered afterwards:

* block-style YAML (nearly every manifest) is read by indentation with
  :class:`TextIndex`, which keeps no parse tree; when the C extension
  ``kubeward.sources._lineindex`` was built, its ``LineIndex`` (a port of
  TextIndex giving the same answer for every text and path, well over ten times
  cheaper) does the work instead;
* JSON and anything the indentation reading cannot follow falls back to
  libyaml's composer, once per document.

Both give the line of the deepest node of the path that exists, so a missing
field points at its nearest present parent.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import yaml

from ..model import Path, Resource

# TextIndex below is the reference and what runs where no compiler was at hand;
# LineIndex is its C port, used because line recovery is a sizeable share of a
# scan's per-resource CPU. tests/test_lineindex.py holds them to the same answers.
try:
    from ._lineindex import LineIndex
except ImportError:  # pragma: no cover - exercised only where the extension was not built
    LineIndex = None


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
    the indent of its content, and the content itself. Walks are cached by
    path prefix and each mapping's keys are indexed once, so the many findings
    of one document share the work.
    """

    __slots__ = ("entries", "_walks", "_keymaps")

    def __init__(self, text: str):
        entries: list[tuple[int, tuple[int, ...], int, str]] = []  # (line, markers, indent, content)
        for number, raw in enumerate(text.split("\n")):
            stripped = raw.lstrip(" ")
            if not stripped or stripped[0] == "#":
                continue
            if stripped[0] != "-":  # the common case: a plain "key: value" line
                entries.append((number, (), len(raw) - len(stripped), stripped.rstrip("\r")))
                continue
            if stripped.startswith(("---", "...")) and len(raw) == len(stripped):
                continue  # a document marker
            indent = len(raw) - len(stripped)
            markers: tuple[int, ...] = ()
            while stripped[:1] == "-" and stripped[1:2] in (" ", "", "\r"):
                markers += (indent,)
                rest = stripped[1:].lstrip(" ")
                indent += len(stripped) - len(rest)
                stripped = rest
            if stripped[:1] == "#":
                stripped = ""
            entries.append((number, markers, indent, stripped.rstrip("\r")))
        self.entries = entries
        # path prefix -> (lo, hi, skip, line, finished)
        self._walks: dict[Path, tuple[int, int, int, int, bool]] = {}
        self._keymaps: dict[tuple[int, int, int], dict[str, tuple[int, int, bool]]] = {}

    def line_of(self, path: Path) -> int | None:
        """0-based line of the deepest node of ``path`` found, or None for an empty text."""
        if not self.entries:
            return None
        state = self._walks.get(path)
        if state is None:
            state = self._walk(path)
        return state[3]

    def _walk(self, path: Path) -> tuple[int, int, int, int, bool]:
        if not path:
            state = (0, len(self.entries), 0, self.entries[0][0], False)
        else:
            lo, hi, skip, line, finished = self._walks.get(path[:-1]) or self._walk(path[:-1])
            state = (lo, hi, skip, line, True) if finished else self._step(lo, hi, skip, line, path[-1])
        self._walks[path] = state
        return state

    def _step(self, lo: int, hi: int, skip: int, line: int, part: str | int) -> tuple[int, int, int, int, bool]:
        """Descend one path element from the node spanning [lo, hi)."""
        entries = self.entries
        if lo >= hi:
            return lo, hi, skip, line, True
        if isinstance(part, str):
            found = self._keymap(lo, hi, skip).get(part)
            if found is None:
                return lo, hi, skip, line, True
            index, end, inline = found
            # a value on the key's own line (flow collection, scalar) has no lines below
            return index + 1, end, 0, entries[index][0], inline
        found = self._item(lo, hi, part, skip)
        if found is None:
            return lo, hi, skip, line, True
        index, end, depth = found
        skip = depth + 1
        content_here = skip < len(entries[index][1]) or entries[index][3]
        # an item whose "-" stands alone starts on the next line
        line = entries[index][0] if content_here or index + 1 >= end else entries[index + 1][0]
        return index, end, skip, line, False

    def _keymap(self, lo: int, hi: int, skip: int) -> dict[str, tuple[int, int, bool]]:
        """key -> (entry, end of its value block, value inline) for the mapping in [lo, hi)."""
        cache_key = (lo, hi, skip)
        keymap = self._keymaps.get(cache_key)
        if keymap is not None:
            return keymap
        keymap = {}
        self._keymaps[cache_key] = keymap
        entries = self.entries
        if skip < len(entries[lo][1]):
            return keymap  # a sequence, not a mapping
        first = lo + 1 if not entries[lo][3] else lo  # "-" alone: the mapping starts below
        if first >= hi:
            return keymap
        indent = entries[first][2]
        keys: list[tuple[str, int, bool]] = []
        for i in range(first, hi):
            _, markers, ind, content = entries[i]
            # keys sit at the mapping's indent; a "- " line there belongs to a
            # compact sequence, except the item's own first line
            if ind != indent or (markers and i != lo):
                continue
            split = _split_key(content)
            if split is not None:
                keys.append((split[0], i, _is_inline(split[1])))
        for n, (key, index, inline) in enumerate(keys):
            end = keys[n + 1][1] if n + 1 < len(keys) else hi
            keymap[key] = (index, end, inline)  # the last duplicate wins, as in decoding
        return keymap

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
                if len(starts) > index + 1:
                    break
            elif markers[0] < seq_indent:
                break
        if seq_indent is None or index >= len(starts):
            return None
        begin = starts[index]
        end = starts[index + 1] if index + 1 < len(starts) else hi
        return begin, end, depth if begin == lo else 0


def _split_key(content: str) -> tuple[str, str] | None:
    """("key", "rest of line") for a ``key: value`` line, else None."""
    if content[:1] in ("'", '"'):
        close = content.find(content[0], 1)
        if close < 0 or content[close + 1 : close + 2] != ":":
            return None
        rest = content[close + 2 :]
        if rest and rest[0] not in " \t":
            return None
        return content[1:close], rest.strip()
    colon = content.find(": ")
    if colon < 0:
        colon = content.find(":\t")
    if colon < 0:
        if not content.endswith(":"):
            return None
        colon = len(content) - 1
    return content[:colon].rstrip(), content[colon + 1 :].strip()


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
    lookups: dict[int, Callable[[Path], int | None]] = {}
    for resource, path, finding in pairs:
        if resource.rendered:
            finding.line = None  # rendered output: no line in the user's file
            continue
        source = resource.source
        if source is None:
            finding.line = resource.start_line or None  # 0: a live object, no file
            continue
        lookup = lookups.get(id(source))
        if lookup is None:
            lookup = lookups[id(source)] = _lookup(source)
        full = (*resource.list_path, *path)
        try:
            line = lookup(full)
        except TypeError:
            if LineIndex is None or not isinstance(getattr(lookup, "__self__", None), LineIndex):
                raise
            # LineIndex takes str keys and int indexes >= 0 only: the reference answers the rest
            line = TextIndex(source).line_of(full)
        finding.line = resource.start_line + line if line is not None else resource.start_line


_LEAD = re.compile(r"[ \t\r\n-]*")


def _index(source: str) -> LineIndex | TextIndex | yaml.Node | None:
    """A LineIndex (or TextIndex) for block-style YAML, else libyaml's node tree (None if unreadable)."""
    start = _LEAD.match(source).end()  # what source.lstrip(" \t\r\n-") would keep, without the copy
    # ("<" first: a one-character search is several times cheaper than "<<" on most documents)
    if source[start : start + 1] in "{[" or "<" in source and "<<" in source or "*" in source and "&" in source:
        return compose(source)  # JSON, flow style, merges or aliases: let libyaml read it
    if LineIndex is not None:
        try:
            return LineIndex(source)
        except (ValueError, OverflowError):  # lone surrogates (no UTF-8) or a text over 2 GiB
            pass
    return TextIndex(source)


def _lookup(source: str) -> Callable[[Path], int | None]:
    """path -> 0-based line, for one document."""
    index = _index(source)
    if index is None or isinstance(index, yaml.Node):
        return functools.partial(line_of_node, index)
    return index.line_of
