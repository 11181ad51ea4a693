"""Namespaces: Pod Security Admission labels, default-deny network policies, kube-system."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..analysis.netpol import INGRESS, default_deny, network_of
from ..inventory import WORKLOADS, Inventory, PodSpec, mapping
from ..model import Path, Resource, Severity, Violation
from .registry import check

PSA_PREFIX = "pod-security.kubernetes.io/"
ENFORCE = PSA_PREFIX + "enforce"


def workload_namespaces(inventory: Inventory) -> dict[str, Resource]:
    """Each namespace that has workloads -> its first workload, in input order.

    Workloads without a namespace ("") are skipped: where they land is unknown.
    """
    return inventory.cached("workload_namespaces", _first_workloads)


def _first_workloads(inventory: Inventory) -> dict[str, Resource]:
    first: dict[str, Resource] = {}
    for resource in inventory.resources:
        if resource.kind in WORKLOADS and resource.namespace:
            first.setdefault(resource.namespace, resource)
    return first


def namespace_objects(inventory: Inventory) -> dict[str, Resource]:
    """The Namespace objects of the input, by name."""
    return {ns.name: ns for ns in inventory.kinds("Namespace") if ns.name}


def namespace_target(namespaces: dict[str, Resource], workloads: dict[str, Resource], name: str) -> tuple[Resource, Path]:
    """Where a per-namespace finding goes: the Namespace object if present, else its first workload."""
    if name in namespaces:
        return namespaces[name], ("metadata", "name")
    return workloads[name], ("metadata", "namespace")


def _labels(ns: Resource) -> dict[str, Any]:
    return mapping(ns.metadata.get("labels"))


@check(
    id="KW-M001",
    slug="namespace-psa-enforce-missing",
    title="Namespaces should enforce a Pod Security Standard",
    severity=Severity.MEDIUM,
    kinds=("Namespace",),
    rationale="""Without a pod-security.kubernetes.io/enforce label, Pod Security Admission applies the
        cluster default, which is privileged unless configured: any pod, privileged or with host
        access, can be created in the namespace.""",
    remediation="Label the namespace pod-security.kubernetes.io/enforce: restricted (or baseline).",
    example="""
        metadata:
          labels:
            pod-security.kubernetes.io/enforce: restricted
            pod-security.kubernetes.io/enforce-version: latest
    """,
    refs={"cis": "5.2.1", "nsa": "pod-security/enforcement", "mitre": "T1610"},
    tags=("namespaces", "pod-security"),
)
def namespace_psa_enforce_missing(ns: Resource) -> Iterator[Violation]:
    if ENFORCE not in _labels(ns):
        yield Violation(("metadata", "labels", ENFORCE), f"namespace {ns.name!r} has no {ENFORCE} label")


@check(
    id="KW-M002",
    slug="namespace-psa-privileged",
    title="Namespaces should not enforce the privileged Pod Security level",
    severity=Severity.MEDIUM,
    kinds=("Namespace",),
    rationale="""enforce: privileged explicitly allows everything: privileged containers, host namespaces and
        hostPath mounts. System namespaces such as kube-system usually need it; record that with a
        suppression and its reason rather than leaving the finding unexplained.""",
    remediation="Enforce restricted (or baseline), or suppress the finding with the reason the namespace needs privileged pods.",
    example="""
        metadata:
          labels:
            pod-security.kubernetes.io/enforce: baseline
    """,
    refs={"cis": "5.2.1", "nsa": "pod-security/enforcement", "mitre": "T1611"},
    tags=("namespaces", "pod-security"),
)
def namespace_psa_privileged(ns: Resource) -> Iterator[Violation]:
    if _labels(ns).get(ENFORCE) == "privileged":
        yield Violation(
            ("metadata", "labels", ENFORCE),
            f"namespace {ns.name!r} enforces the privileged Pod Security level, which allows everything",
        )


@check(
    id="KW-M003",
    slug="namespace-without-default-deny",
    title="Every namespace should have a default-deny ingress NetworkPolicy",
    severity=Severity.MEDIUM,
    scope="inventory",
    kinds=("NetworkPolicy", "Namespace"),
    rationale="""Pods accept traffic from anywhere in the cluster until a NetworkPolicy selects them. A
        default-deny policy makes every new workload closed until its traffic is explicitly allowed,
        so one compromised pod cannot reach everything else. A namespace counts as default-deny when
        a valid policy selects every pod (podSelector: {}) for Ingress and no policy selecting every
        pod allows any ingress.""",
    remediation="Add a NetworkPolicy with podSelector: {}, policyTypes: [Ingress] and no ingress rules to the namespace.",
    example="""
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: default-deny-ingress, namespace: shop}
        spec:
          podSelector: {}
          policyTypes: [Ingress]
    """,
    refs={"cis": "5.3.2", "nsa": "network/network-policies", "mitre": "T1046"},
    tags=("namespaces", "network"),
)
def namespace_without_default_deny(inventory: Inventory) -> Iterator[tuple[Resource, Violation]]:
    yield from default_deny_findings(inventory, INGRESS)


def default_deny_findings(inventory: Inventory, direction: str) -> Iterator[tuple[Resource, Violation]]:
    """One finding per namespace of the input that is not default-deny for the direction
    (see analysis.netpol.default_deny for what counts)."""
    net = network_of(inventory)
    namespaces = namespace_objects(inventory)
    workloads = workload_namespaces(inventory)
    for name in dict.fromkeys([*namespaces, *workloads]):
        covered, reason = default_deny(net, name, direction)
        if not covered:
            resource, path = namespace_target(namespaces, workloads, name)
            yield resource, Violation(path, reason)


@check(
    id="KW-M004",
    slug="namespace-psa-audit-warn-missing",
    title="Namespaces should audit or warn on a Pod Security Standard",
    severity=Severity.INFO,
    kinds=("Namespace",),
    rationale="""The warn and audit labels report pods that violate a stricter level without rejecting
        them: users see the warning on kubectl apply and the audit log records it. They are how a
        namespace is tightened without breaking it.""",
    remediation="Label the namespace pod-security.kubernetes.io/warn and /audit with the level you aim for.",
    example="""
        metadata:
          labels:
            pod-security.kubernetes.io/enforce: baseline
            pod-security.kubernetes.io/warn: restricted
            pod-security.kubernetes.io/audit: restricted
    """,
    refs={"nsa": "pod-security/enforcement", "mitre": "T1610"},
    tags=("namespaces", "pod-security"),
)
def namespace_psa_audit_warn_missing(ns: Resource) -> Iterator[Violation]:
    labels = _labels(ns)
    if PSA_PREFIX + "warn" not in labels and PSA_PREFIX + "audit" not in labels:
        yield Violation(
            ("metadata", "labels"),
            f"namespace {ns.name!r} has neither a {PSA_PREFIX}warn nor a {PSA_PREFIX}audit label",
        )


@check(
    id="KW-M005",
    slug="kube-system-workload",
    title="Applications should not be deployed into kube-system",
    severity=Severity.LOW,
    kinds=WORKLOADS,
    rationale="""kube-system runs the control plane's add-ons: it is usually exempt from Pod Security,
        its service accounts are highly privileged and many policies trust it. An application
        placed there inherits that trust and can reach those credentials.""",
    remediation="Deploy the workload into its own namespace.",
    example="""
        metadata:
          name: app
          namespace: app
    """,
    refs={"cis": "5.7.1", "nsa": "network/namespaces", "mitre": "T1610"},
    tags=("namespaces",),
)
def kube_system_workload(pod: PodSpec) -> Iterator[Violation]:
    if pod.resource.namespace == "kube-system":
        yield Violation(("metadata", "namespace"), f"{pod.resource.kind} {pod.resource.name!r} is deployed into kube-system")
