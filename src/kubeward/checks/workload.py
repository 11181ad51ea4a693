"""Workload hardening beyond the Pod Security Standards."""

from __future__ import annotations

from collections.abc import Iterator

from ..inventory import WORKLOADS, Container, PodSpec
from ..model import Severity, Violation
from .registry import check

COMPUTE_RESOURCES = ("cpu", "memory")


@check(
    id="KW-W001",
    slug="read-only-root-filesystem",
    title="Containers should run with a read-only root filesystem",
    severity=Severity.LOW,
    kinds=WORKLOADS,
    rationale="""A writable root filesystem lets an attacker drop tools, modify binaries and
        persist inside the container. Mount emptyDir volumes for the paths that must
        be writable.""",
    remediation="Set securityContext.readOnlyRootFilesystem: true and mount emptyDir volumes where the app writes.",
    refs={"cis": "5.7.3", "nsa": "pod-security"},
    tags=("hardening",),
)
def read_only_root_filesystem(pod: PodSpec) -> Iterator[Violation]:
    for c in pod.containers():
        if c.security_context.get("readOnlyRootFilesystem") is not True:
            yield Violation(
                c.at("securityContext", "readOnlyRootFilesystem"),
                f"container {c.name!r} has a writable root filesystem",
                c.name,
            )


def _resource_containers(pod: PodSpec) -> Iterator[Container]:
    # ephemeral containers may not set resources at all
    return (c for c in pod.containers() if not c.is_ephemeral)


@check(
    id="KW-W002",
    slug="resource-limits",
    title="Containers should set CPU and memory limits",
    severity=Severity.MEDIUM,
    kinds=WORKLOADS,
    rationale="""Without limits one container can exhaust the node's memory or CPU and starve
        its neighbours: a denial of service waiting for a bug or an attacker.""",
    remediation="Set resources.limits.cpu and resources.limits.memory on every container.",
    refs={"nsa": "resource-policies", "cis": "5.7"},
    tags=("resources",),
)
def resource_limits(pod: PodSpec) -> Iterator[Violation]:
    for c in _resource_containers(pod):
        limits = c.get("resources", "limits")
        missing = [r for r in COMPUTE_RESOURCES if not isinstance(limits, dict) or limits.get(r) is None]
        if missing:
            yield Violation(c.at("resources", "limits"), f"container {c.name!r} has no {' or '.join(missing)} limit", c.name)


@check(
    id="KW-W003",
    slug="resource-requests",
    title="Containers should set CPU and memory requests",
    severity=Severity.LOW,
    kinds=WORKLOADS,
    rationale="""Requests let the scheduler place pods where they fit and decide eviction order;
        a pod without them is the first evicted under pressure and can overcommit a node.
        (A limit set without a request defaults the request to the limit.)""",
    remediation="Set resources.requests.cpu and resources.requests.memory on every container.",
    refs={"nsa": "resource-policies"},
    tags=("resources",),
)
def resource_requests(pod: PodSpec) -> Iterator[Violation]:
    for c in _resource_containers(pod):
        requests = c.get("resources", "requests")
        limits = c.get("resources", "limits")
        missing = [
            r
            for r in COMPUTE_RESOURCES
            if (not isinstance(requests, dict) or requests.get(r) is None)
            and (not isinstance(limits, dict) or limits.get(r) is None)
        ]
        if missing:
            yield Violation(c.at("resources", "requests"), f"container {c.name!r} has no {' or '.join(missing)} request", c.name)
