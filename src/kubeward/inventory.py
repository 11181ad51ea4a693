"""All resources of one run, indexed, and the pod spec inside every workload kind.

The views here (:class:`PodSpec`, :class:`Container`) are thin wrappers over the
raw dicts: they carry the field path so a finding can name the exact field,
and they never raise on wrong types -- a wrong type is recorded as a problem
and the value is treated as absent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from .model import Path, Resource
from .model import format_path as _fmt

# Where each workload kind keeps its pod template: (path to pod spec).
POD_SPEC_PATHS: dict[str, Path] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "PodTemplate": ("template", "spec"),
}
WORKLOADS = frozenset(POD_SPEC_PATHS)
CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")


def dig(obj: Any, *keys: str | int) -> Any:
    """obj[k1][k2]... or None when any step is missing or of the wrong type."""
    for key in keys:
        if isinstance(key, int):
            if not isinstance(obj, list) or key >= len(obj):
                return None
        elif not isinstance(obj, dict):
            return None
        obj = obj[key] if isinstance(key, int) else obj.get(key)
    return obj


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class Container:
    """One container (init, regular or ephemeral) with its path in the resource."""

    __slots__ = ("data", "path", "field")

    def __init__(self, data: dict[str, Any], path: Path, field: str):
        self.data = data
        self.path = path
        self.field = field  # initContainers / containers / ephemeralContainers

    @property
    def name(self) -> str:
        name = self.data.get("name")
        return name if isinstance(name, str) else f"#{self.path[-1]}"

    def get(self, *keys: str | int) -> Any:
        return dig(self.data, *keys)

    def at(self, *keys: str | int) -> Path:
        return (*self.path, *keys)

    @property
    def security_context(self) -> dict[str, Any]:
        return mapping(self.data.get("securityContext"))

    @property
    def is_ephemeral(self) -> bool:
        return self.field == "ephemeralContainers"


class PodSpec:
    """The pod spec of a workload, and where it sits in the resource."""

    __slots__ = ("resource", "spec", "path", "template_meta", "problems", "_containers")

    def __init__(self, resource: Resource, spec: dict[str, Any], path: Path, template_meta: dict[str, Any]):
        self.resource = resource
        self.spec = spec
        self.path = path
        self.template_meta = template_meta
        self.problems: list[str] = []
        self._containers: list[Container] | None = None

    def get(self, *keys: str | int) -> Any:
        return dig(self.spec, *keys)

    def at(self, *keys: str | int) -> Path:
        return (*self.path, *keys)

    @property
    def security_context(self) -> dict[str, Any]:
        return mapping(self.spec.get("securityContext"))

    def containers(self) -> list[Container]:
        """Every container: init, regular and ephemeral, in that order."""
        if self._containers is None:
            self._containers = list(self._iter_containers())
        return self._containers

    def _iter_containers(self) -> Iterator[Container]:
        for field in CONTAINER_FIELDS:
            items = self.spec.get(field)
            if items is None:
                continue
            if not isinstance(items, list):
                self.problems.append(f"{_fmt(self.at(field))} must be a list, not {type(items).__name__}")
                continue
            for i, item in enumerate(items):
                if isinstance(item, dict):
                    yield Container(item, self.at(field, i), field)
                else:
                    self.problems.append(f"{_fmt(self.at(field, i))} must be an object, not {type(item).__name__}")

    def volumes(self) -> Iterator[tuple[int, dict[str, Any]]]:
        items = self.spec.get("volumes")
        if isinstance(items, list):
            for i, item in enumerate(items):
                if isinstance(item, dict):
                    yield i, item
        elif items is not None:
            self.problems.append(f"{_fmt(self.at('volumes'))} must be a list, not {type(items).__name__}")


def pod_spec_of(resource: Resource) -> PodSpec | None:
    """The pod spec of a workload resource, or None for other kinds."""
    spec_path = POD_SPEC_PATHS.get(resource.kind)
    if spec_path is None:
        return None
    spec = dig(resource.obj, *spec_path)
    meta_path = spec_path[:-1] + ("metadata",)
    pod = PodSpec(resource, spec if isinstance(spec, dict) else {}, spec_path, mapping(dig(resource.obj, *meta_path)))
    if spec is None:
        pod.problems.append(f"{_fmt(spec_path)} is missing")
    elif not isinstance(spec, dict):
        pod.problems.append(f"{_fmt(spec_path)} must be an object, not {type(spec).__name__}")
    return pod


class Inventory:
    """Every resource of a run, indexed by kind and namespace."""

    def __init__(self, resources: list[Resource]):
        self.resources = resources
        self.by_kind: dict[str, list[Resource]] = defaultdict(list)
        self.by_namespace: dict[str, list[Resource]] = defaultdict(list)
        for resource in resources:
            self.by_kind[resource.kind].append(resource)
            self.by_namespace[resource.namespace].append(resource)
        self._pods: dict[int, PodSpec | None] = {}

    def __len__(self) -> int:
        return len(self.resources)

    def kinds(self, *kinds: str) -> Iterator[Resource]:
        for kind in kinds:
            yield from self.by_kind.get(kind, ())

    def pod_spec(self, resource: Resource) -> PodSpec | None:
        key = id(resource)
        if key not in self._pods:
            self._pods[key] = pod_spec_of(resource)
        return self._pods[key]

    def workloads(self) -> Iterator[PodSpec]:
        for resource in self.kinds(*POD_SPEC_PATHS):
            pod = self.pod_spec(resource)
            if pod is not None:
                yield pod
