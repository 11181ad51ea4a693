"""Recover the source line of a field path, lazily.

Parsing never records positions (that would slow every scan); only documents
that have findings are composed again, once, to map field paths to lines.
"""

from __future__ import annotations

import yaml

from ..model import Path, Resource


def compose(text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.CSafeLoader)
    except (yaml.YAMLError, RecursionError):
        return None


def line_of(root: yaml.Node | None, path: Path) -> int | None:
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


def assign_lines(pairs: list[tuple[Resource, Path, object]]) -> None:
    """Set ``.line`` on each finding-like object from its resource and path.

    ``pairs`` holds (resource, path, finding); documents are composed once each.
    """
    roots: dict[int, yaml.Node | None] = {}
    for resource, path, finding in pairs:
        if resource.rendered:
            finding.line = None  # rendered output: no line in the user's file
            continue
        if resource.source is None:
            finding.line = resource.start_line
            continue
        key = id(resource.source)
        if key not in roots:
            roots[key] = compose(resource.source)
        line = line_of(roots[key], (*resource.list_path, *path))
        finding.line = resource.start_line + line if line is not None else resource.start_line
