"""Compute resources beyond CPU and memory limits: ephemeral storage, limits against
requests, and the namespace policies (LimitRange, ResourceQuota) that bound them."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

from ..inventory import WORKLOADS, Inventory, PodSpec
from ..model import Resource, Severity, Violation
from .namespaces import namespace_objects, namespace_target, workload_namespaces
from .registry import check
from .workload import resource_containers as _resource_containers

QUANTITY = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+))(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)")
SUFFIXES = {
    "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), None: Fraction(1),
    "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9),
    "T": Fraction(10**12), "P": Fraction(10**15), "E": Fraction(10**18),
    "Ki": Fraction(2**10), "Mi": Fraction(2**20), "Gi": Fraction(2**30),
    "Ti": Fraction(2**40), "Pi": Fraction(2**50), "Ei": Fraction(2**60),
}  # fmt: skip
MAX_EXPONENT = 30  # far beyond any real quantity; bounds the work on hostile input
BOUNDED = ("cpu", "memory", "ephemeral-storage")


def parse_quantity(value: Any) -> Fraction | None:
    """A Kubernetes quantity ("500m", "1Gi", "1e3", 2, 0.5) as an exact Fraction, or None."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return _parse_quantity(value)


@functools.lru_cache(maxsize=4096)  # a corpus repeats a few dozen quantities ("100m", "128Mi") endlessly
def _parse_quantity(value: str | int | float) -> Fraction | None:
    match = QUANTITY.fullmatch(str(value))
    if not match:
        return None
    number, exponent, suffix = match.groups()
    try:
        if exponent is not None:
            if abs(int(exponent)) > MAX_EXPONENT:
                return None
            return Fraction(number) * Fraction(10) ** int(exponent)
        return Fraction(number) * SUFFIXES[suffix]
    except ValueError:  # e.g. more digits than int() converts
        return None


@check(
    id="KW-L001",
    slug="ephemeral-storage-limit",
    title="Containers should set an ephemeral-storage limit",
    severity=Severity.LOW,
    kinds=WORKLOADS,
    rationale="""Logs, emptyDir volumes and the writable layer all use the node's disk. A container
        without an ephemeral-storage limit can fill it, and the kubelet then evicts the node's
        other pods to reclaim space.""",
    remediation="Set resources.limits.ephemeral-storage on every container.",
    example="""
        resources:
          requests: {ephemeral-storage: 256Mi}
          limits: {ephemeral-storage: 1Gi}
    """,
    refs={"nsa": "network/resource-policies", "mitre": "T1499"},
    tags=("resources",),
)
def ephemeral_storage_limit(pod: PodSpec) -> Iterator[Violation]:
    for c in _resource_containers(pod):
        limits = c.get("resources", "limits")
        if not isinstance(limits, dict) or limits.get("ephemeral-storage") is None:
            yield Violation(
                c.at("resources", "limits", "ephemeral-storage"), f"container {c.name!r} has no ephemeral-storage limit", c.name
            )


@check(
    id="KW-L002",
    slug="limits-below-requests",
    title="Resource limits must not be lower than requests",
    severity=Severity.MEDIUM,
    kinds=WORKLOADS,
    rationale="""The API server rejects a pod whose limit is below its request: the manifest cannot be
        applied, and for a controller the failure only shows in its events while the rollout stalls.""",
    remediation="Raise the limit to at least the request, or lower the request.",
    example="""
        resources:
          requests: {memory: 256Mi}
          limits: {memory: 512Mi}
    """,
    refs={"nsa": "network/resource-policies", "mitre": "T1499"},
    tags=("resources",),
)
def limits_below_requests(pod: PodSpec) -> Iterator[Violation]:
    for c in _resource_containers(pod):
        resources = c.data.get("resources")
        if not isinstance(resources, dict):
            continue
        limits, requests = resources.get("limits"), resources.get("requests")
        if not isinstance(limits, dict) or not isinstance(requests, dict):
            continue
        for name in BOUNDED:
            if limits.get(name) is None or requests.get(name) is None:
                continue  # nothing to compare (and nothing to parse)
            limit, request = parse_quantity(limits.get(name)), parse_quantity(requests.get(name))
            if limit is not None and request is not None and limit < request:
                yield Violation(
                    c.at("resources", "limits", name),
                    f"container {c.name!r}: {name} limit {limits[name]} is below the request {requests[name]}",
                    c.name,
                )


def _namespaces_without(inventory: Inventory, kind: str) -> Iterator[tuple[Resource, Violation]]:
    """One finding per namespace that has workloads but no object of ``kind``."""
    covered = {r.namespace for r in inventory.kinds(kind)}
    namespaces = namespace_objects(inventory)
    workloads = workload_namespaces(inventory)
    for name in workloads:
        if name not in covered:
            resource, path = namespace_target(namespaces, workloads, name)
            yield resource, Violation(path, f"namespace {name!r} has workloads but no {kind}")


@check(
    id="KW-L003",
    slug="namespace-without-limitrange",
    title="Namespaces with workloads should have a LimitRange",
    severity=Severity.LOW,
    scope="inventory",
    kinds=("LimitRange",),
    rationale="""A LimitRange gives containers that forget them default requests and limits, and caps
        what any one container may ask for; without it a single pod can claim a node.""",
    remediation="Add a LimitRange with default and defaultRequest values for containers to the namespace.",
    example="""
        apiVersion: v1
        kind: LimitRange
        metadata: {name: defaults, namespace: shop}
        spec:
          limits:
            - type: Container
              default: {cpu: 500m, memory: 256Mi}
              defaultRequest: {cpu: 100m, memory: 128Mi}
    """,
    refs={"nsa": "network/resource-policies", "mitre": "T1499"},
    tags=("resources", "namespaces"),
)
def namespace_without_limitrange(inventory: Inventory) -> Iterator[tuple[Resource, Violation]]:
    return _namespaces_without(inventory, "LimitRange")


@check(
    id="KW-L004",
    slug="namespace-without-resourcequota",
    title="Namespaces with workloads should have a ResourceQuota",
    severity=Severity.LOW,
    scope="inventory",
    kinds=("ResourceQuota",),
    rationale="""A ResourceQuota bounds what a whole namespace may consume; without one a runaway
        autoscaler, a fork of replicas or a compromised deployer can take the cluster's capacity.""",
    remediation="Add a ResourceQuota for CPU, memory and object counts to the namespace.",
    example="""
        apiVersion: v1
        kind: ResourceQuota
        metadata: {name: quota, namespace: shop}
        spec:
          hard: {requests.cpu: "8", requests.memory: 16Gi, limits.memory: 32Gi, pods: "50"}
    """,
    refs={"nsa": "network/resource-policies", "mitre": "T1496"},
    tags=("resources", "namespaces"),
)
def namespace_without_resourcequota(inventory: Inventory) -> Iterator[tuple[Resource, Violation]]:
    return _namespaces_without(inventory, "ResourceQuota")
