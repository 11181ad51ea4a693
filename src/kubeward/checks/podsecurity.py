"""Container isolation: the kubeward checks behind the Pod Security Standards.

These are kubeward's own findings, one per practice, with a field path and a
fix. (The exact, versioned PSS profile evaluation lives in pss.py.)
"""

from __future__ import annotations

from collections.abc import Iterator

from ..inventory import WORKLOADS, PodSpec
from ..model import Severity, Violation
from .registry import check

# Capabilities the restricted profile lets a container add.
ALLOWED_ADDED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")


@check(
    id="KW-P001",
    slug="privileged-container",
    title="Containers must not run privileged",
    severity=Severity.CRITICAL,
    kinds=WORKLOADS,
    rationale="""A privileged container has every capability and all host devices; it can
        load kernel modules and escape to the node. It disables nearly every isolation
        mechanism the container runtime provides.""",
    remediation="Remove securityContext.privileged or set it to false; grant only the specific capabilities needed.",
    refs={"pss": "baseline", "cis": "5.2.2", "nsa": "pod-security"},
    tags=("pss-baseline", "pod-security"),
)
def privileged_container(pod: PodSpec) -> Iterator[Violation]:
    for c in pod.containers():
        if c.security_context.get("privileged") is True:
            yield Violation(c.at("securityContext", "privileged"), f"container {c.name!r} runs privileged", c.name)


@check(
    id="KW-P002",
    slug="host-namespaces",
    title="Pods must not share the host's network, PID or IPC namespace",
    severity=Severity.HIGH,
    kinds=WORKLOADS,
    rationale="""Sharing the host network lets a pod sniff node traffic and reach services
        bound to localhost; sharing the PID namespace exposes every process on the node
        (and their environment); sharing IPC exposes host shared memory.""",
    remediation="Remove hostNetwork, hostPID and hostIPC from the pod spec (or set them to false).",
    refs={"pss": "baseline", "cis": "5.2.3-5.2.5", "nsa": "pod-security"},
    tags=("pss-baseline", "pod-security"),
)
def host_namespaces(pod: PodSpec) -> Iterator[Violation]:
    for field in HOST_NAMESPACES:
        if pod.spec.get(field) is True:
            yield Violation(pod.at(field), f"pod shares the host namespace ({field}: true)")


@check(
    id="KW-P003",
    slug="privilege-escalation",
    title="Containers must set allowPrivilegeEscalation: false",
    severity=Severity.MEDIUM,
    kinds=WORKLOADS,
    rationale="""Unless allowPrivilegeEscalation is false, a process can gain more privileges
        than its parent (setuid binaries, file capabilities). Kubernetes defaults it to
        true, so it must be set explicitly.""",
    remediation="Set securityContext.allowPrivilegeEscalation: false on every container.",
    refs={"pss": "restricted", "cis": "5.2.6", "nsa": "pod-security"},
    tags=("pss-restricted", "pod-security"),
)
def privilege_escalation(pod: PodSpec) -> Iterator[Violation]:
    for c in pod.containers():
        if c.security_context.get("allowPrivilegeEscalation") is not False:
            yield Violation(
                c.at("securityContext", "allowPrivilegeEscalation"),
                f"container {c.name!r} allows privilege escalation",
                c.name,
            )


@check(
    id="KW-P004",
    slug="host-path-volume",
    title="Pods must not mount hostPath volumes",
    severity=Severity.HIGH,
    kinds=WORKLOADS,
    rationale="""A hostPath volume exposes the node's filesystem to the pod: reading
        credentials, writing to the container runtime socket or kubelet files leads
        straight to node compromise.""",
    remediation="Use emptyDir, configMap, secret, projected or a PersistentVolumeClaim instead of hostPath.",
    refs={"pss": "baseline", "cis": "5.2.12", "nsa": "pod-security"},
    tags=("pss-baseline", "pod-security"),
)
def host_path_volume(pod: PodSpec) -> Iterator[Violation]:
    for i, volume in pod.volumes():
        host_path = volume.get("hostPath")
        if host_path is not None:
            where = host_path.get("path") if isinstance(host_path, dict) else None
            yield Violation(
                pod.at("volumes", i, "hostPath"),
                f"volume {volume.get('name')!r} mounts the host path {where!r}",
            )


@check(
    id="KW-P005",
    slug="added-capabilities",
    title="Containers must not add Linux capabilities beyond NET_BIND_SERVICE",
    severity=Severity.MEDIUM,
    kinds=WORKLOADS,
    rationale="""Each added capability widens what a compromised process can do to the
        kernel and the node. The restricted profile allows adding only NET_BIND_SERVICE.""",
    remediation="Remove them from securityContext.capabilities.add; keep only NET_BIND_SERVICE if a low port is needed.",
    refs={"pss": "restricted", "cis": "5.2.9", "nsa": "pod-security"},
    tags=("pss-restricted", "pod-security"),
)
def added_capabilities(pod: PodSpec) -> Iterator[Violation]:
    for c in pod.containers():
        added = c.get("securityContext", "capabilities", "add")
        if not isinstance(added, list):
            continue
        extra = [str(cap) for cap in added if cap not in ALLOWED_ADDED_CAPABILITIES]
        if extra:
            yield Violation(
                c.at("securityContext", "capabilities", "add"),
                f"container {c.name!r} adds capabilities {', '.join(extra)}",
                c.name,
            )


@check(
    id="KW-P006",
    slug="run-as-non-root",
    title="Containers must run as a non-root user",
    severity=Severity.MEDIUM,
    kinds=WORKLOADS,
    rationale="""A process running as UID 0 is root on the node if it escapes the container,
        and owns every file in the image. Set runAsNonRoot: true (the kubelet then
        refuses to start an image that would run as root) or a non-zero runAsUser.""",
    remediation="Set securityContext.runAsNonRoot: true (pod or container level) and a non-zero runAsUser.",
    refs={"pss": "restricted", "cis": "5.2.7", "nsa": "pod-security"},
    tags=("pss-restricted", "pod-security"),
)
def run_as_non_root(pod: PodSpec) -> Iterator[Violation]:
    pod_sc = pod.security_context
    for c in pod.containers():
        sc = c.security_context
        # container settings override the pod's
        user_path = c.at("securityContext", "runAsUser") if "runAsUser" in sc else pod.at("securityContext", "runAsUser")
        user = sc.get("runAsUser", pod_sc.get("runAsUser"))
        non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
        if user == 0 and type(user) is int:
            yield Violation(user_path, f"container {c.name!r} runs as root (runAsUser: 0)", c.name)
        elif non_root is not True and not (type(user) is int and user > 0):
            path = c.at("securityContext", "runAsNonRoot")
            if non_root is False and "runAsNonRoot" not in sc:
                path = pod.at("securityContext", "runAsNonRoot")
            yield Violation(path, f"container {c.name!r} may run as root (runAsNonRoot is not true)", c.name)
