"""All resources of one run, indexed, and the pod spec inside every workload kind.

The views here (:class:`PodSpec`, :class:`Container`) are thin wrappers over the
raw dicts: they carry the field path so a finding can name the exact field,
and they never raise on wrong types -- a wrong type is recorded as a problem
and the value is treated as absent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple, TypeVar

from .model import Path, Resource

try:
    from . import _tree
except ImportError:  # pragma: no cover - exercised only where the extension was not built
    _tree = None
from .model import format_path as _fmt

# Where each workload kind keeps its pod template: (path to pod spec).
BUILTIN_WORKLOADS: dict[str, Path] = {
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
# Custom resources that carry pods, keyed "Kind.group" (their kind key, see kind_key).
CRD_WORKLOADS: dict[str, Path] = {
    "Rollout.argoproj.io": ("spec", "template", "spec"),
    "Service.serving.knative.dev": ("spec", "template", "spec"),
    "Configuration.serving.knative.dev": ("spec", "template", "spec"),
    "Revision.serving.knative.dev": ("spec",),
    "ScaledJob.keda.sh": ("spec", "jobTargetRef", "template", "spec"),
    # not pod specs, but pod-level fields plus their own container lists (below)
    "Workflow.argoproj.io": ("spec",),
    "WorkflowTemplate.argoproj.io": ("spec",),
    "ClusterWorkflowTemplate.argoproj.io": ("spec",),
    "CronWorkflow.argoproj.io": ("spec", "workflowSpec"),
    "Task.tekton.dev": ("spec",),
    "ClusterTask.tekton.dev": ("spec",),
    "TaskRun.tekton.dev": ("spec", "taskSpec"),
    "SparkApplication.sparkoperator.k8s.io": ("spec",),
}
POD_SPEC_PATHS: dict[str, Path] = {**BUILTIN_WORKLOADS, **CRD_WORKLOADS}
WORKLOADS = frozenset(POD_SPEC_PATHS)
CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")
T = TypeVar("T")


def kind_key(resource: Resource) -> str:
    """The kind checks are dispatched on: the kind, or "Kind.group" for a custom
    resource that carries pods (so a Knative Service is not a core Service)."""
    kind = resource.kind
    group = resource.api_version.rpartition("/")[0]
    if group:
        qualified = f"{kind}.{group}"
        if qualified in CRD_WORKLOADS:
            return qualified
    return kind


def _dig(obj: Any, *keys: str | int) -> Any:
    """obj[k1][k2]... or None when any step is missing or of the wrong type."""
    for key in keys:  # one test per step for the common case (a str key into a dict)
        if isinstance(obj, dict) and not isinstance(key, int):
            obj = obj.get(key)
        elif isinstance(obj, list) and isinstance(key, int) and key < len(obj):
            obj = obj[key]
        else:
            return None
    return obj


# _dig is the definition; kubeward._tree.dig, its C port, runs where it was built: the
# checks call dig about 15 times per resource and the cross-resource phase 250,000 times
# at 100k resources. tests/test_tree.py holds the two to the same answers.
dig = _dig if _tree is None else _tree.dig


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class Container:
    """One container (init, regular or ephemeral) with its path in the resource."""

    # name and securityContext are read by nearly every check (~60 per workload): set
    # once here rather than recomputed by a property on each access
    __slots__ = ("data", "path", "field", "name", "security_context", "is_ephemeral")

    def __init__(self, data: dict[str, Any], path: Path, field: str):
        self.data = data
        self.path = path
        self.field = field  # initContainers / containers / ephemeralContainers
        name = data.get("name")
        self.name: str = name if isinstance(name, str) else f"#{path[-1]}"
        self.security_context: dict[str, Any] = mapping(data.get("securityContext"))
        self.is_ephemeral = field == "ephemeralContainers"

    def get(self, *keys: str | int) -> Any:
        return dig(self.data, *keys)

    def at(self, *keys: str | int) -> Path:
        return (*self.path, *keys)


# (path from the pod spec, holds a list?, field name) of the containers of custom
# resources whose containers do not sit in the usual three lists.
ContainerSource = tuple[Path, bool, str]


def _argo_sources(spec: dict[str, Any]) -> list[ContainerSource]:
    sources: list[ContainerSource] = []
    templates = spec.get("templates")
    for i, template in enumerate(templates if isinstance(templates, list) else ()):
        if not isinstance(template, dict):
            continue
        at = ("templates", i)
        sources += [
            ((*at, "initContainers"), True, "initContainers"),
            ((*at, "container"), False, "containers"),
            ((*at, "script"), False, "containers"),
            ((*at, "sidecars"), True, "containers"),
            ((*at, "containerSet", "containers"), True, "containers"),
        ]
    return sources


def _tekton_sources(spec: dict[str, Any]) -> list[ContainerSource]:
    return [(("steps",), True, "containers"), (("sidecars",), True, "containers")]


def _spark_sources(spec: dict[str, Any]) -> list[ContainerSource]:
    return [(("driver",), False, "containers"), (("executor",), False, "containers")]


CONTAINER_SOURCES = {
    "Workflow.argoproj.io": _argo_sources,
    "WorkflowTemplate.argoproj.io": _argo_sources,
    "ClusterWorkflowTemplate.argoproj.io": _argo_sources,
    "CronWorkflow.argoproj.io": _argo_sources,
    "Task.tekton.dev": _tekton_sources,
    "ClusterTask.tekton.dev": _tekton_sources,
    "TaskRun.tekton.dev": _tekton_sources,
    "SparkApplication.sparkoperator.k8s.io": _spark_sources,
}


class PodSpec:
    """The pod spec of a workload, and where it sits in the resource."""

    __slots__ = (
        "resource",
        "spec",
        "path",
        "template_meta",
        "problems",
        "sources",
        "security_context",
        "memo",
        "_containers",
        "_volumes",
    )

    def __init__(
        self,
        resource: Resource,
        spec: dict[str, Any],
        path: Path,
        template_meta: dict[str, Any],
        sources: list[ContainerSource] | None = None,
    ):
        self.resource = resource
        self.spec = spec
        self.path = path
        self.template_meta = template_meta
        self.sources = sources
        self.problems: list[str] = []
        self.security_context: dict[str, Any] = mapping(spec.get("securityContext"))
        # facts several checks derive from this pod (images, hostPath volumes...): see cached()
        self.memo: dict[str, Any] = {}
        self._containers: list[Container] | None = None
        self._volumes: list[tuple[int, dict[str, Any]]] | None = None

    def get(self, *keys: str | int) -> Any:
        return dig(self.spec, *keys)

    def at(self, *keys: str | int) -> Path:
        return (*self.path, *keys)

    def cached(self, key: str, compute: Callable[[PodSpec], T]) -> T:
        """``compute(self)``, computed once per pod: for facts that several checks read."""
        try:
            return self.memo[key]
        except KeyError:
            value = self.memo[key] = compute(self)
            return value

    def containers(self) -> list[Container]:
        """Every container: init, regular and ephemeral, in that order."""
        if self._containers is None:
            self._containers = list(self._iter_containers())
        return self._containers

    def _iter_containers(self) -> Iterator[Container]:
        sources = self.sources if self.sources is not None else [((f,), True, f) for f in CONTAINER_FIELDS]
        for rel, many, field in sources:
            items = dig(self.spec, *rel)
            if items is None:
                continue
            if not many:
                if isinstance(items, dict):
                    yield Container(items, self.at(*rel), field)
                continue
            if not isinstance(items, list):
                self.problems.append(f"{_fmt(self.at(*rel))} must be a list, not {type(items).__name__}")
                continue
            for i, item in enumerate(items):
                if isinstance(item, dict):
                    yield Container(item, self.at(*rel, i), field)
                else:
                    self.problems.append(f"{_fmt(self.at(*rel, i))} must be an object, not {type(item).__name__}")

    def volumes(self) -> list[tuple[int, dict[str, Any]]]:
        """(index, volume) of every volume that is an object."""
        if self._volumes is None:
            items = self.spec.get("volumes")
            if isinstance(items, list):
                self._volumes = [(i, item) for i, item in enumerate(items) if isinstance(item, dict)]
            else:
                self._volumes = []
                if items is not None:
                    self.problems.append(f"{_fmt(self.at('volumes'))} must be a list, not {type(items).__name__}")
        return self._volumes


def pod_spec_of(resource: Resource, key: str | None = None) -> PodSpec | None:
    """The pod spec of a workload resource, or None for other kinds (``key``: its kind key, if known)."""
    key = kind_key(resource) if key is None else key
    spec_path = POD_SPEC_PATHS.get(key)
    if spec_path is None:
        return None
    spec = dig(resource.obj, *spec_path)
    meta = dig(resource.obj, *template_meta_path(key))
    spec_dict = spec if isinstance(spec, dict) else {}
    sources = CONTAINER_SOURCES[key](spec_dict) if key in CONTAINER_SOURCES else None
    pod = PodSpec(resource, spec_dict, spec_path, mapping(meta), sources)
    if spec is None:
        pod.problems.append(f"{_fmt(spec_path)} is missing")
    elif not isinstance(spec, dict):
        pod.problems.append(f"{_fmt(spec_path)} must be an object, not {type(spec).__name__}")
    return pod


def template_meta_path(key: str) -> Path:
    """Where a workload keeps the metadata (labels, annotations) of its pods."""
    if key in CONTAINER_SOURCES:
        if key.endswith("argoproj.io"):
            return (*POD_SPEC_PATHS[key], "podMetadata")
        return ("metadata",)  # Tekton and Spark: the object's own metadata
    return (*POD_SPEC_PATHS[key][:-1], "metadata")


AUTOMOUNT = "automountServiceAccountToken"
PROTOCOLS = ("TCP", "UDP", "SCTP")
MAX_PORT = 65535


def service_account_field(pod: PodSpec) -> str | None:
    """The pod spec field that names the ServiceAccount the pod runs as: serviceAccountName
    wins; the deprecated serviceAccount is its alias when it is empty (as the API server
    converts it); None when neither names one (the pod runs as "default")."""
    for key in ("serviceAccountName", "serviceAccount"):
        value = pod.spec.get(key)
        if isinstance(value, str) and value:
            return key
    return None


class ContainerPort(NamedTuple):
    number: int
    protocol: str
    name: str | None


def _port_items(pod: PodSpec) -> Iterator[dict[str, Any]]:
    """The port entries of a pod's containers and init containers (a native sidecar serves on its ports too)."""
    for field_name in ("containers", "initContainers"):
        containers = pod.spec.get(field_name)
        for container in containers if isinstance(containers, list) else ():
            items = container.get("ports") if isinstance(container, dict) else None
            for item in items if isinstance(items, list) else ():
                if isinstance(item, dict):
                    yield item


def container_ports(pod: PodSpec) -> tuple[ContainerPort, ...]:
    """The valid ports of a pod's containers and init containers."""
    ports: list[ContainerPort] = []
    for item in _port_items(pod):
        number, protocol, name = item.get("containerPort"), item.get("protocol"), item.get("name")
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= MAX_PORT:
            continue
        protocol = protocol if protocol in PROTOCOLS else "TCP" if protocol is None else None
        if protocol is None:
            continue
        ports.append(ContainerPort(number, protocol, name if isinstance(name, str) and name else None))
    return tuple(ports)


def declared_ports(pod: PodSpec) -> tuple[int | str, ...]:
    """Every containerPort value and port name the containers and init containers declare, as
    written, once each (a tuple: a few per workload, and a third of a frozenset's size)."""
    declared: dict[int | str, None] = {}
    for item in _port_items(pod):
        for key in ("containerPort", "name"):
            value = item.get(key)
            if isinstance(value, (int, str)) and not isinstance(value, bool):
                declared[value] = None
    return tuple(declared)


class WorkloadFacts(NamedTuple):
    """What the cross-resource checks read of a workload, taken from its pod spec once.

    A scan takes them in the worker that checked the workload, then releases the
    resource to its identity: the facts are all the cross-resource phase keeps
    of it (a few hundred bytes, where the fields they come from took kilobytes).
    Raw values are as written; each reader applies its own rule to them.
    """

    labels: Any  # the pod template's labels
    account_field: str | None  # see service_account_field
    account: str  # the ServiceAccount the pods run as ("default" when none is named)
    automount: Any  # the pod spec's automountServiceAccountToken
    replicas: Any  # the object's spec.replicas
    ports: tuple[ContainerPort, ...]  # see container_ports
    declared: tuple[int | str, ...]  # see declared_ports

    def plain(self) -> tuple:
        """The facts as plain tuples, for marshal (scan workers send them so)."""
        return (*self[:5], tuple(tuple(p) for p in self.ports), self.declared)

    @classmethod
    def from_plain(cls, plain: tuple) -> WorkloadFacts:
        labels, account_field, account, automount, replicas, ports, declared = plain
        return cls(labels, account_field, account, automount, replicas, tuple(ContainerPort(*p) for p in ports), declared)


def workload_facts(pod: PodSpec) -> WorkloadFacts:
    account_field = service_account_field(pod)
    spec = pod.resource.obj.get("spec")
    return WorkloadFacts(
        labels=pod.template_meta.get("labels"),
        account_field=account_field,
        account=pod.spec[account_field] if account_field else "default",
        automount=pod.spec.get(AUTOMOUNT),
        replicas=spec.get("replicas") if isinstance(spec, dict) else None,
        ports=container_ports(pod),
        declared=declared_ports(pod),
    )


class Inventory:
    """Every resource of a run, indexed by kind and namespace."""

    def __init__(self, resources: list[Resource] | None = None):
        self.resources: list[Resource] = []
        self.by_kind: dict[str, list[Resource]] = defaultdict(list)
        self.by_namespace: dict[str, list[Resource]] = defaultdict(list)
        self.add(resources or ())
        self._pods: dict[int, PodSpec | None] = {}
        self._facts: dict[int, WorkloadFacts | None] = {}
        self._memo: dict[str, Any] = {}

    def add(self, resources: Iterable[Resource]) -> None:
        """Add resources (before any check reads the inventory): a scan adds each batch as
        it arrives from the workers, so indexing overlaps with their work."""
        by_kind, by_namespace = self.by_kind, self.by_namespace
        for resource in resources:
            self.resources.append(resource)
            by_kind[kind_key(resource)].append(resource)
            by_namespace[resource.namespace].append(resource)

    def kind_counts(self) -> dict[str, int]:
        """Resources per kind key, in order of first appearance."""
        return {kind: len(items) for kind, items in self.by_kind.items()}

    def cached(self, key: str, compute: Callable[[Inventory], T]) -> T:
        """``compute(self)``, computed once per inventory: for structures that several
        cross-resource checks build from the same objects (indexes, per-namespace facts)."""
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = compute(self)
            return value

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

    def facts(self, resource: Resource) -> WorkloadFacts | None:
        """A workload's facts: those taken before it was released, else taken now (None for other kinds)."""
        if resource.facts is not None:
            return resource.facts
        key = id(resource)
        if key not in self._facts:
            pod = self.pod_spec(resource)
            self._facts[key] = workload_facts(pod) if pod is not None else None
        return self._facts[key]

    def workload_facts(self) -> list[tuple[Resource, WorkloadFacts]]:
        """Every workload with its facts, in input order by kind (as :meth:`workloads`); listed
        once per inventory, as most cross-resource analyses start from it."""
        return self.cached("workload_facts", _workload_facts)


def _workload_facts(inventory: Inventory) -> list[tuple[Resource, WorkloadFacts]]:
    pairs = ((resource, inventory.facts(resource)) for resource in inventory.kinds(*POD_SPEC_PATHS))
    return [(resource, facts) for resource, facts in pairs if facts is not None]
