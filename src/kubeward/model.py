"""The shared vocabulary: Resource, Violation, Finding, Severity.

Plain slotted classes with no I/O and no imports of our own, so every layer
can depend on them.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, field
from typing import Any


class Severity(enum.IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[str(text).strip().upper()]
        except KeyError:
            names = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of: {names})") from None

    def __str__(self) -> str:
        return _SEVERITY_NAMES[self]


_SEVERITY_NAMES = {s: s.name.lower() for s in Severity}

# A field path is a tuple of keys (str) and list indexes (int), e.g.
# ("spec", "containers", 0, "securityContext", "privileged").
Path = tuple[str | int, ...]


@functools.lru_cache(maxsize=4096)  # the same paths recur across thousands of findings
def format_path(path: Path) -> str:
    """Render ("spec", "containers", 0, "image") as spec.containers[0].image."""
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        else:
            if out:
                out.append(".")
            out.append(part)
    return "".join(out)


@dataclass(slots=True, eq=False)
class Resource:
    """One Kubernetes object as read from a source.

    ``obj`` stays the raw decoded dict (fast); ``source`` keeps the text of the
    document so the engine can recover line numbers lazily, only for documents
    that have findings.

    The identity (``kind``, ``api_version``, ``name``, ``namespace``) is read
    from ``obj`` once, when the resource is made: checks ask for it hundreds of
    thousands of times in a large scan, and a resource keeps its identity when
    the engine shrinks ``obj`` after checking it. Change an object's identity
    by making a new Resource.
    """

    obj: dict[str, Any]
    file: str
    doc_index: int = 0
    start_line: int = 1
    source: str | None = None  # the document's text, when it came from text
    list_path: Path = ()  # position inside a `kind: List` document, if any
    rendered: bool = False  # produced by helm/kustomize: lines are not the user's
    facts: Any = None  # what the cross-resource checks need of a released workload (inventory.WorkloadFacts)
    kind: str = field(init=False, repr=False)
    api_version: str = field(init=False, repr=False)
    name: str = field(init=False, repr=False)
    namespace: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        obj = self.obj
        self.kind = _str(obj.get("kind"))
        self.api_version = _str(obj.get("apiVersion"))
        meta = obj.get("metadata")
        if isinstance(meta, dict):
            self.name = _str(meta.get("name") or meta.get("generateName"))
            self.namespace = _str(meta.get("namespace"))
        else:
            self.name = self.namespace = ""

    def __reduce__(self):
        # positional, not the slots-dataclass default (a dict per object): scan
        # workers send every resource and finding back to the main process
        fields = (self.obj, self.file, self.doc_index, self.start_line, self.source, self.list_path, self.rendered, self.facts)
        return Resource, fields

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.obj.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def ref(self) -> str:
        ns = self.namespace
        return f"{self.kind}/{ns + '/' if ns else ''}{self.name}"


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


@dataclass(slots=True)
class Violation:
    """What a check yields: where (a field path) and what is wrong."""

    path: Path
    message: str
    container: str | None = None  # name of the container concerned, if any


@dataclass(slots=True, eq=False)
class Finding:
    """A violation bound to a resource, a check and a place in the source."""

    check_id: str  # title, remediation and references live on the check
    slug: str
    severity: Severity
    message: str
    resource: Resource
    path: Path
    container: str | None = None
    line: int | None = None
    suppressed: bool = False
    suppression: str | None = None  # reason, and where the suppression came from
    notes: tuple[str, ...] = ()

    def __reduce__(self):
        fields = (self.check_id, self.slug, self.severity, self.message, self.resource, self.path, self.container)
        return Finding, (*fields, self.line, self.suppressed, self.suppression, self.notes)

    @property
    def path_str(self) -> str:
        return format_path(self.path)


@dataclass(slots=True)
class InputError:
    """A source that could not be read, named as precisely as we can."""

    file: str
    message: str
    doc_index: int | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.doc_index is not None:
            where += f" (document {self.doc_index + 1})"
        if self.line is not None:
            where += f" line {self.line}"
        return f"{where}: {self.message}"
