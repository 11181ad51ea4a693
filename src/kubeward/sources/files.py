"""Turn paths (files, directories, stdin, Helm charts, Kustomize dirs) into Resources.

Every input problem becomes an :class:`InputError` naming the file (and the
document); reading always goes on with the next document and the next file.
"""

from __future__ import annotations

import gzip
import logging
import os
import sys
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from ..model import InputError, Resource
from .yamlparse import MAX_DOCUMENT_BYTES, parse_documents

log = logging.getLogger("kubeward.sources")

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json", ".yaml.gz", ".yml.gz", ".json.gz")
CHART_FILE = "Chart.yaml"
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# A whole input file larger than this is refused (memory guard); single
# documents are limited separately, to what the API server accepts.
DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024
STDIN = "-"


@dataclass
class LoadResult:
    resources: list[Resource] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    files: int = 0  # inputs read (files, stdin, rendered charts)
    skipped: int = 0  # documents that were not Kubernetes objects

    def extend(self, other: LoadResult) -> None:
        self.resources.extend(other.resources)
        self.errors.extend(other.errors)
        self.files += other.files
        self.skipped += other.skipped


@dataclass
class Inputs:
    """What the command line named: manifest files to read, and inputs already
    read (stdin, rendered charts and Kustomize dirs, and errors)."""

    files: list[Path] = field(default_factory=list)
    loaded: LoadResult = field(default_factory=LoadResult)


def collect_inputs(
    paths: Iterable[str],
    *,
    stdin: BinaryIO | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    helm_values: list[str] | None = None,
) -> Inputs:
    """Expand paths into files (directories recursively); never raises for bad input."""
    inputs = Inputs()
    for raw in paths:
        if raw == STDIN:
            stream = stdin if stdin is not None else sys.stdin.buffer
            inputs.loaded.extend(load_bytes(_read_limited(stream, max_file_bytes), "<stdin>"))
            continue
        path = Path(raw)
        if path.is_dir():
            _collect_dir(path, inputs, helm_values)
        elif path.exists() or path.is_symlink():
            inputs.files.append(path)
        else:
            inputs.loaded.errors.append(InputError(raw, "no such file or directory"))
    return inputs


def load_paths(
    paths: Iterable[str],
    *,
    stdin: BinaryIO | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    helm_values: list[str] | None = None,
) -> LoadResult:
    """Read every input into memory at once (for small inputs and tests)."""
    inputs = collect_inputs(paths, stdin=stdin, max_file_bytes=max_file_bytes, helm_values=helm_values)
    result = inputs.loaded
    for file in inputs.files:
        result.extend(load_file(file, max_file_bytes))
    return result


def _collect_dir(path: Path, inputs: Inputs, helm_values: list[str] | None) -> None:
    from . import render  # subprocess helpers, only when a directory needs them

    if (path / CHART_FILE).is_file():
        inputs.loaded.extend(render.helm_chart(path, helm_values))
    elif any((path / name).is_file() for name in KUSTOMIZATION_FILES):
        inputs.loaded.extend(render.kustomize(path))
    else:
        inputs.files.extend(_walk(path, inputs.loaded))


def _walk(root: Path, result: LoadResult) -> Iterator[Path]:
    """Manifest files under ``root``, sorted; nested Helm charts are rendered."""
    from . import render

    def onerror(exc: OSError) -> None:
        result.errors.append(InputError(exc.filename or str(root), _os_message(exc)))

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        here = Path(dirpath)
        if here != root and CHART_FILE in filenames:
            # chart templates are not YAML until rendered
            result.extend(render.helm_chart(here, None))
            dirnames[:] = []
            continue
        for name in sorted(filenames):
            if name.endswith(MANIFEST_SUFFIXES) and not name.startswith("."):
                yield here / name


def load_file(path: Path, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> LoadResult:
    name = str(path)
    try:
        size = path.stat().st_size
        if size > max_file_bytes:
            return _error(
                name,
                f"file is {size / 1048576:.1f} MiB, above the {max_file_bytes // 1048576} MiB limit (--max-file-size); skipped",
            )
        with path.open("rb") as fh:
            data = fh.read()
        if path.suffix == ".gz":
            data = _gunzip(data, max_file_bytes)
            if data is None:
                return _error(
                    name, f"uncompressed, it is above the {max_file_bytes // 1048576} MiB limit (--max-file-size); skipped"
                )
    except (OSError, EOFError, zlib.error) as exc:
        return _error(name, _os_message(exc) if isinstance(exc, OSError) and exc.strerror else f"cannot decompress: {exc}")
    return load_bytes(data, name, is_json=path.name.removesuffix(".gz").endswith(".json"))


def _gunzip(data: bytes, limit: int) -> bytes | None:
    """The decompressed data, or None when it would exceed ``limit`` (a gzip bomb stops early)."""
    out = bytearray()
    with gzip.GzipFile(fileobj=__import__("io").BytesIO(data)) as fh:
        while chunk := fh.read(1024 * 1024):
            out += chunk
            if len(out) > limit:
                return None
    return bytes(out)


def load_bytes(data: bytes | None, name: str, *, is_json: bool = False) -> LoadResult:
    """Parse a whole input (one file, or stdin) into Resources."""
    if data is None:
        return _error(name, "input is above the size limit (--max-file-size); skipped")
    if b"\0" in data[:8192]:
        return _error(name, "binary file, not a manifest; skipped")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return _error(name, f"not UTF-8 text (invalid byte 0x{data[exc.start]:02x} on line {line}); skipped")
    result = LoadResult(files=1)
    stripped = text.lstrip()
    if is_json or stripped.startswith(("{", "[")) and _looks_like_json(stripped):
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            if is_json:
                result.errors.append(InputError(name, f"invalid JSON: {exc}"))
                return result
        else:
            lines = _item_lines(text, value)
            if lines is not None:
                _add_line_items(result, value, name, lines)
            else:
                add_document(result, value, name, 0, 1, text)
            return result
    for doc in parse_documents(text):
        if doc.error:
            result.errors.append(InputError(name, doc.error, doc.index))
        else:
            add_document(result, doc.value, name, doc.index, doc.start_line, doc.text)
    return result


def _looks_like_json(text: str) -> bool:
    return text.rstrip().endswith(("}", "]"))


def _item_lines(text: str, value: Any) -> list[int] | None:
    """Where each item of a JSON List starts, when every item sits on a line of its own
    (as `kubeward cluster --save` writes them): findings then get their line from the
    item's line alone, without indexing the whole file."""
    if not isinstance(value, dict) or not isinstance(value.get("items"), list) or not value["items"]:
        return None
    kind = value.get("kind")
    if not isinstance(kind, str) or not kind.endswith("List"):
        return None
    items = value["items"]
    lines = text.split("\n")
    n = len(items)
    if not n + 2 <= len(lines) <= n + 3 or not lines[0].rstrip().endswith("["):
        return None
    if not lines[n + 1].lstrip().startswith("]") or not all(line.lstrip().startswith("{") for line in lines[1 : n + 1]):
        return None
    return list(range(2, 2 + len(items)))  # line 1 is the head, one line per item


def _add_line_items(result: LoadResult, value: dict, name: str, lines: list[int]) -> None:
    kind = value["kind"]
    for i, (item, line) in enumerate(zip(value["items"], lines, strict=True)):
        if not isinstance(item, dict):
            result.errors.append(InputError(name, f"items[{i}] of a {kind} is not an object", 0, line))
            continue
        _complete_item(item, value)
        _add_object(result, item, name, 0, line, None, ())


def add_document(result: LoadResult, value: Any, name: str, index: int, start_line: int, text: str) -> None:
    """Add one decoded document: an object, a List of objects, or a note why not."""
    if value is None:
        return
    if not isinstance(value, dict):
        what = "a list" if isinstance(value, list) else f"a scalar ({type(value).__name__})"
        result.errors.append(InputError(name, f"document is {what}, not a Kubernetes object", index, start_line))
        return
    _add_object(result, value, name, index, start_line, text, ())


def _add_object(result: LoadResult, obj: dict, name: str, index: int, start_line: int, text: str | None, prefix: tuple) -> None:
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    if kind is None or api_version is None:
        result.skipped += 1
        log.debug("%s (document %d): not a Kubernetes object (no apiVersion/kind); skipped", name, index + 1)
        return
    if not isinstance(kind, str) or not isinstance(api_version, str):
        result.errors.append(InputError(name, "apiVersion and kind must be strings", index, start_line))
        return
    items = obj.get("items")
    if kind.endswith("List") and isinstance(items, list):
        # the API server's limit is per object: a List may be as large as the file limit
        check_size = text is not None and len(text) > MAX_DOCUMENT_BYTES
        for i, item in enumerate(items):
            where = (*prefix, "items", i)
            if not isinstance(item, dict):
                result.errors.append(InputError(name, f"items[{i}] of a {kind} is not an object", index, start_line))
            elif check_size and len(orjson.dumps(item)) > MAX_DOCUMENT_BYTES:
                result.errors.append(
                    InputError(
                        name, f"items[{i}] of a {kind} is larger than the API server accepts (3 MiB); skipped", index, start_line
                    )
                )
            else:
                _complete_item(item, obj)
                _add_object(result, item, name, index, start_line, text, where)
        return
    metadata = obj.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        result.errors.append(
            InputError(name, f"metadata of {kind} must be an object, not {type(metadata).__name__}", index, start_line)
        )
        return
    result.resources.append(Resource(obj, name, index, start_line, text, prefix))


def _complete_item(item: dict, lst: dict) -> None:
    """Items of an API list (PodList, from `kubectl get --raw` or the API) lack apiVersion
    and kind: they are the list's, less "List"."""
    list_kind = lst.get("kind")
    if "kind" in item or "apiVersion" in item or list_kind == "List" or not isinstance(lst.get("apiVersion"), str):
        return
    item["apiVersion"] = lst["apiVersion"]
    item["kind"] = list_kind.removesuffix("List")


def _read_limited(stream: BinaryIO, limit: int) -> bytes | None:
    data = stream.read(limit + 1)
    return None if len(data) > limit else data


def _error(name: str, message: str) -> LoadResult:
    return LoadResult(errors=[InputError(name, message)])


def _os_message(exc: OSError) -> str:
    return exc.strerror.lower() if exc.strerror else str(exc)
