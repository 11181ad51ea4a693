"""Workload hardening beyond the Pod Security Standards."""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Iterator
from typing import Any

from ..inventory import WORKLOADS, Container, PodSpec, dig, mapping
from ..model import Path, Severity, Violation
from . import pss
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
    refs={"cis": "5.7.3", "nsa": "pod-security/immutable-filesystem", "mitre": "T1525"},
    example="""
        securityContext:
          readOnlyRootFilesystem: true
        volumeMounts:
          - {name: tmp, mountPath: /tmp}   # volumes: [{name: tmp, emptyDir: {}}]
    """,
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


def resource_containers(pod: PodSpec) -> list[Container]:
    # ephemeral containers may not set resources at all
    return pod.cached("resource_containers", _resource_containers)


def _resource_containers(pod: PodSpec) -> list[Container]:
    return [c for c in pod.containers() if not c.is_ephemeral]


@check(
    id="KW-W002",
    slug="resource-limits",
    title="Containers should set CPU and memory limits",
    severity=Severity.MEDIUM,
    kinds=WORKLOADS,
    rationale="""Without limits one container can exhaust the node's memory or CPU and starve
        its neighbours: a denial of service waiting for a bug or an attacker.""",
    remediation="Set resources.limits.cpu and resources.limits.memory on every container.",
    refs={"nsa": "network/resource-policies", "mitre": "T1499"},
    example="""
        resources:
          limits: {cpu: 500m, memory: 256Mi}
    """,
    tags=("resources",),
)
def resource_limits(pod: PodSpec) -> Iterator[Violation]:
    for c in resource_containers(pod):
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
    refs={"nsa": "network/resource-policies", "mitre": "T1496"},
    example="""
        resources:
          requests: {cpu: 100m, memory: 128Mi}
    """,
    tags=("resources",),
)
def resource_requests(pod: PodSpec) -> Iterator[Violation]:
    for c in resource_containers(pod):
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


# ---------------------------------------------------------------------------
# KW-W004..KW-W022: identities, Linux hardening, host paths, pod hygiene

# UIDs and GIDs at or above 10000 do not collide with the users and groups of
# the node (system accounts below 1000, people from 1000): a process that
# escapes does not own their files.
MIN_ID = 10000

SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_ANNOTATION = "container.seccomp.security.alpha.kubernetes.io/"
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"

RUNTIME_SOCKETS = frozenset({
    "/var/run/docker.sock", "/run/docker.sock",
    "/var/run/containerd/containerd.sock", "/run/containerd/containerd.sock",
    "/var/run/crio/crio.sock", "/run/crio/crio.sock",
    "/var/run/cri-dockerd.sock", "/run/k3s/containerd/containerd.sock",
})  # fmt: skip
# directories that hold one of the sockets above
RUNTIME_SOCKET_DIRS = frozenset({
    "/var/run", "/run", "/var/run/containerd", "/run/containerd", "/var/run/crio", "/run/crio",
    "/run/k3s", "/run/k3s/containerd",
})  # fmt: skip
# the node's configuration, credentials, kernel interfaces and runtime state
SENSITIVE_HOST_DIRS = (
    "/etc", "/root", "/home", "/proc", "/sys", "/boot", "/dev",
    "/var/lib/kubelet", "/var/lib/docker", "/var/lib/containerd", "/etc/kubernetes",
)  # fmt: skip


def _int(value: Any) -> int | None:
    """An integer field's value, or None (YAML's true is not the integer 1)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _windows(pod: PodSpec) -> bool:
    # Linux-only fields (runAsUser, capabilities, seccomp, hostUsers, ...) do not apply
    return dig(pod.spec, "os", "name") == "windows"


def _effective(pod: PodSpec, c: Container, field: str) -> tuple[Any, Path, bool]:
    """(value, path, from the pod?): the container's securityContext.<field> if set, else the pod's."""
    if c.security_context.get(field) is not None:
        return c.security_context[field], c.at("securityContext", field), False
    if pod.security_context.get(field) is not None:
        return pod.security_context[field], pod.at("securityContext", field), True
    return None, c.at("securityContext", field), False


def _low_ids(pod: PodSpec, field: str, id_name: str) -> Iterator[Violation]:
    # In a user namespace (hostUsers: false) IDs are mapped away from the node's: no collision.
    if _windows(pod) or pod.spec.get("hostUsers") is False:
        return
    for c in pod.containers():
        value, path, inherited = _effective(pod, c, field)
        if value is None:
            yield Violation(path, f"container {c.name!r} sets no {field} (the image decides its {id_name})", c.name)
        elif _int(value) is not None and 0 < value < MIN_ID:
            where = ", set on the pod" if inherited else ""
            yield Violation(path, f"container {c.name!r} runs as {id_name} {value} (below {MIN_ID}{where})", c.name)


@check(
    id="KW-W004",
    slug="run-as-user-below-10000",
    title="Containers should run as a UID of 10000 or more",
    severity=Severity.LOW,
    kinds=WORKLOADS,
    rationale="""A low UID is likely to be a real user or system account on the node: a process
        that escapes the container owns that user's files. Without runAsUser the image
        decides, and many images pick a low UID or root. (Not reported in a user namespace,
        hostUsers: false, where UIDs are mapped away from the node's; UID 0 is KW-P018.)""",
    remediation="Set securityContext.runAsUser to a UID of 10000 or more on the pod or on every container.",
    example="""
        securityContext:
          runAsNonRoot: true
          runAsUser: 10001
    """,
    refs={"cis": "5.7.3", "nsa": "pod-security/non-root", "mitre": "T1611"},
    tags=("hardening",),
)
def run_as_user_below_10000(pod: PodSpec) -> Iterator[Violation]:
    return _low_ids(pod, "runAsUser", "UID")


@check(
    id="KW-W005",
    slug="run-as-group-below-10000",
    title="Containers should run as a GID of 10000 or more",
    severity=Severity.LOW,
    kinds=WORKLOADS,
    rationale="""A low GID is likely to be a group of the node (disk, adm, docker...): a process
        that escapes the container can read and write that group's files. Without
        runAsGroup the image decides, which is often GID 0. (Not reported in a user
        namespace, hostUsers: false; GID 0 is KW-W006.)""",
    remediation="Set securityContext.runAsGroup to a GID of 10000 or more on the pod or on every container.",
    example="""
        securityContext:
          runAsUser: 10001
          runAsGroup: 10001
    """,
    refs={"cis": "5.7.3", "nsa": "pod-security/non-root", "mitre": "T1611"},
    tags=("hardening",),
)
def run_as_group_below_10000(pod: PodSpec) -> Iterator[Violation]:
    return _low_ids(pod, "runAsGroup", "GID")


@check(
    id="KW-W006",
    slug="run-as-group-root",
    title="Containers must not run with GID 0 (root group)",
    severity=Severity.MEDIUM,
    kinds=WORKLOADS,
    rationale="""runAsGroup: 0 gives the process the root group: it can read and write every
        group-root file in the image, in mounted volumes and, after an escape, on the node.
        runAsNonRoot does not prevent it.""",
    remediation="Set securityContext.runAsGroup to a non-zero GID (10000 or more).",
    example="""
        securityContext:
          runAsGroup: 10001
    """,
    refs={"cis": "5.2.7", "nsa": "pod-security/non-root", "mitre": "T1611"},
    tags=("hardening",),
)
def run_as_group_root(pod: PodSpec) -> Iterator[Violation]:
    for c in pod.containers():
        value, path, inherited = _effective(pod, c, "runAsGroup")
        if _int(value) == 0:
            where = ", set on the pod" if inherited else ""
            yield Violation(path, f"container {c.name!r} runs with GID 0 (the root group{where})", c.name)


@check(
    id="KW-W007",
    slug="supplemental-groups-root",
    title="Pods must not add GID 0 to supplementalGroups",
    severity=Severity.MEDIUM,
    kinds=WORKLOADS,
    rationale="""Every container of the pod gets the supplemental groups: GID 0 gives them all
        the root group's access to files in the image, volumes and, after an escape, the node.""",
    remediation="Remove 0 from spec.securityContext.supplementalGroups.",
    example="""
        securityContext:
          supplementalGroups: [10002]
    """,
    refs={"cis": "5.2.7", "nsa": "pod-security/non-root", "mitre": "T1611"},
    tags=("hardening",),
)
def supplemental_groups_root(pod: PodSpec) -> Iterator[Violation]:
    groups = pod.security_context.get("supplementalGroups")
    for i, gid in enumerate(groups if isinstance(groups, list) else ()):
        if _int(gid) == 0:
            yield Violation(
                pod.at("securityContext", "supplementalGroups", i), "the pod adds GID 0 (the root group) to every container"
            )


@check(
    id="KW-W008",
    slug="fs-group-root",
    title="Pods must not set fsGroup: 0",
    severity=Severity.MEDIUM,
    kinds=WORKLOADS,
    rationale="""fsGroup is added to every container's groups and volumes are made group-owned
        by it: fsGroup: 0 hands the root group to every process and root-group ownership to
        the pod's volumes.""",
    remediation="Set spec.securityContext.fsGroup to a non-zero GID (10000 or more).",
    example="""
        securityContext:
          fsGroup: 10001
    """,
    refs={"cis": "5.2.7", "nsa": "pod-security/non-root", "mitre": "T1611"},
    tags=("hardening",),
)
def fs_group_root(pod: PodSpec) -> Iterator[Violation]:
    if _int(pod.security_context.get("fsGroup")) == 0:
        yield Violation(pod.at("securityContext", "fsGroup"), "the pod sets fsGroup: 0 (the root group owns its volumes)")


def _covered_by_pss(config: Any, pss_id: str) -> bool:
    """Does the configured Pod Security evaluation include ``pss_id``? Its KW-P check then reports the same fact."""
    return pss_id in _pss_ids(config.pss_level, config.pss_version)


@functools.cache  # asked for every workload: build the set once per level and version
def _pss_ids(level: str, version: pss.Version) -> frozenset[str]:
    return frozenset(i for i, _ in pss.checks_for(level, version))


def _capability(value: Any) -> str:
    # runtimes read "net_raw" and "CAP_NET_RAW" as NET_RAW
    return str(value).upper().removeprefix("CAP_")


@check(
    id="KW-W009",
    slug="net-raw-not-dropped",
    title="Containers should drop the NET_RAW capability",
    severity=Severity.MEDIUM,
    kinds=WORKLOADS,
    rationale="""NET_RAW is in the runtime's default set: it lets a process craft raw packets,
        enough to spoof ARP and DNS answers to its neighbours on the node's network. (Silent
        when the configured Pod Security level is restricted, v1.22+, where KW-P019 requires drop ALL.)""",
    remediation='Set securityContext.capabilities.drop: ["ALL"] (or at least NET_RAW) on every container.',
    example="""
        securityContext:
          capabilities:
            drop: ["ALL"]
    """,
    refs={"cis": "5.2.8", "nsa": "pod-security/hardening", "mitre": "T1557"},
    tags=("hardening",),
    takes_config=True,
)
def net_raw_not_dropped(pod: PodSpec, config) -> Iterator[Violation]:
    if _covered_by_pss(config, "capabilities_restricted") or _windows(pod):
        return
    for c in pod.containers():
        drop = c.get("securityContext", "capabilities", "drop")
        dropped = {_capability(cap) for cap in drop} if isinstance(drop, list) else set()
        if not dropped & {"ALL", "NET_RAW"}:
            yield Violation(
                c.at("securityContext", "capabilities", "drop"),
                f"container {c.name!r} keeps NET_RAW (drops neither ALL nor NET_RAW)",
                c.name,
            )


def _confining(profile: Any) -> bool:
    """A seccomp or AppArmor profile (field or annotation value) that confines: not Unconfined."""
    if isinstance(profile, dict):
        return profile.get("type") in ("RuntimeDefault", "Localhost")
    return isinstance(profile, str) and (profile in ("runtime/default", "docker/default") or profile.startswith("localhost/"))


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


@check(
    id="KW-W010",
    slug="no-linux-hardening",
    title="Containers should have a seccomp, AppArmor or SELinux profile",
    severity=Severity.LOW,
    kinds=WORKLOADS,
    rationale="""Seccomp, AppArmor and SELinux confine what a process can ask of the kernel. A
        container that sets none gets whatever the node defaults to, which for seccomp is
        usually Unconfined: the whole kernel attack surface is one exploit from the node.
        (Silent at the restricted Pod Security level, v1.19+, where KW-P014 requires seccomp.)""",
    remediation="Set spec.securityContext.seccompProfile.type: RuntimeDefault (or an AppArmor or SELinux profile).",
    example="""
        securityContext:
          seccompProfile:
            type: RuntimeDefault
    """,
    refs={"cis": "5.7.2", "nsa": "pod-security/hardening", "mitre": "T1611"},
    tags=("hardening",),
    takes_config=True,
)
def no_linux_hardening(pod: PodSpec, config) -> Iterator[Violation]:
    if _covered_by_pss(config, "seccompProfile_restricted") or _windows(pod):
        return
    notes = mapping(pod.template_meta.get("annotations"))
    psc = pod.security_context
    for c in pod.containers():
        csc = c.security_context
        # a field wins over the deprecated annotations, a container's setting over the pod's
        seccomp = _first(
            csc.get("seccompProfile"),
            psc.get("seccompProfile"),
            notes.get(SECCOMP_CONTAINER_ANNOTATION + c.name),
            notes.get(SECCOMP_POD_ANNOTATION),
        )
        apparmor = _first(csc.get("appArmorProfile"), notes.get(APPARMOR_ANNOTATION + c.name), psc.get("appArmorProfile"))
        selinux = mapping(csc.get("seLinuxOptions")) or mapping(psc.get("seLinuxOptions"))
        if not (_confining(seccomp) or _confining(apparmor) or selinux):
            yield Violation(
                c.at("securityContext", "seccompProfile"),
                f"container {c.name!r} has no seccomp, AppArmor or SELinux profile",
                c.name,
            )


@check(
    id="KW-W011",
    slug="security-context-missing",
    title="Pods or containers should set a securityContext",
    severity=Severity.LOW,
    kinds=WORKLOADS,
    rationale="""With no securityContext on the container or the pod, every security setting is
        the permissive default: root allowed, privilege escalation allowed, writable root
        filesystem, default capabilities. (Silent at the restricted Pod Security level,
        v1.8+, where KW-P003 already requires one on every container.)""",
    remediation="Set a securityContext on the pod and the container (runAsNonRoot, allowPrivilegeEscalation: false, drop ALL).",
    example="""
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities:
            drop: ["ALL"]
    """,
    refs={"cis": "5.7.3", "nsa": "pod-security/hardening", "mitre": "T1611"},
    tags=("hardening",),
    takes_config=True,
)
def security_context_missing(pod: PodSpec, config) -> Iterator[Violation]:
    if _covered_by_pss(config, "allowPrivilegeEscalation") or pod.security_context:
        return
    for c in pod.containers():
        if not c.security_context:
            yield Violation(c.at("securityContext"), f"container {c.name!r} and its pod set no securityContext", c.name)


@check(
    id="KW-W012",
    slug="user-namespace",
    title="Pods could run in a user namespace (hostUsers: false)",
    severity=Severity.INFO,
    kinds=WORKLOADS,
    rationale="""With hostUsers: false the pod gets its own user namespace: root in the pod is an
        unprivileged user on the node, and file capabilities and UIDs lose their meaning
        outside it, which defuses most container escapes. Advice, where the cluster supports
        user namespaces (on by default since v1.33, with a recent kernel and runtime).""",
    remediation="Set spec.hostUsers: false where the cluster supports user namespaces.",
    example="""
        spec:
          hostUsers: false
    """,
    refs={"cis": "5.2.7", "nsa": "pod-security/non-root", "mitre": "T1611"},
    tags=("hardening",),
)
def user_namespace(pod: PodSpec) -> Iterator[Violation]:
    # the API refuses hostUsers: false with host namespaces, and Windows has no user namespaces
    shares_host = any(pod.spec.get(f) is True for f in ("hostNetwork", "hostPID", "hostIPC"))
    if pod.spec.get("hostUsers") is not False and not shares_host and not _windows(pod):
        yield Violation(pod.at("hostUsers"), "the pod shares the node's user namespace (hostUsers is not false)")


@check(
    id="KW-W013",
    slug="share-process-namespace",
    title="Pods should not share one process namespace between containers",
    severity=Severity.MEDIUM,
    kinds=WORKLOADS,
    rationale="""With shareProcessNamespace every container sees the others' processes: it can
        signal them, read their environment in /proc/<pid>/environ and their filesystem
        through /proc/<pid>/root, so a compromised sidecar reaches the app's secrets.""",
    remediation="Remove spec.shareProcessNamespace (use it only for debugging, not in production).",
    example="""
        spec:
          shareProcessNamespace: false
    """,
    refs={"nsa": "pod-security/hardening", "mitre": "T1552.001"},
    tags=("hardening",),
)
def share_process_namespace(pod: PodSpec) -> Iterator[Violation]:
    if pod.spec.get("shareProcessNamespace") is True:
        yield Violation(pod.at("shareProcessNamespace"), "the pod's containers share one process namespace")


def _normalise(path: str) -> str:
    """/var//run/ -> /var/run: the node resolves both to the same place."""
    return posixpath.normpath(re.sub("/+", "/", path))


def _host_paths(pod: PodSpec) -> list[tuple[int, str, str]]:
    """(index, volume name, normalised path) of each hostPath volume."""
    return pod.cached("host_paths", _find_host_paths)


def _find_host_paths(pod: PodSpec) -> list[tuple[int, str, str]]:
    found = []
    for i, volume in pod.volumes():
        path = dig(volume, "hostPath", "path")
        if isinstance(path, str) and path:
            name = volume.get("name")
            found.append((i, name if isinstance(name, str) else f"#{i}", _normalise(path)))
    return found


@check(
    id="KW-W014",
    slug="container-runtime-socket",
    title="Pods must not mount the container runtime socket",
    severity=Severity.CRITICAL,
    kinds=WORKLOADS,
    rationale="""Whoever reaches the Docker, containerd or CRI-O socket controls the node's
        runtime: it can start a privileged container with the host's root filesystem and
        run commands in every other container. Mounting a directory that holds the socket
        (/var/run, /run/containerd...) exposes it just the same.""",
    remediation="Remove the hostPath volume; build images with a rootless builder (BuildKit, kaniko) instead.",
    example="""
        volumes:
          - name: tmp
            emptyDir: {}
    """,
    refs={"cis": "5.2.12", "nsa": "pod-security/hardening", "mitre": "T1611, T1609"},
    tags=("hardening",),
)
def container_runtime_socket(pod: PodSpec) -> Iterator[Violation]:
    for i, name, path in _host_paths(pod):
        at = pod.at("volumes", i, "hostPath", "path")
        if path in RUNTIME_SOCKETS:
            yield Violation(at, f"volume {name!r} mounts the container runtime socket {path} from the node")
        elif path in RUNTIME_SOCKET_DIRS:
            yield Violation(at, f"volume {name!r} mounts {path} from the node, which holds the container runtime socket")


@check(
    id="KW-W015",
    slug="sensitive-host-path",
    title="Pods must not mount sensitive directories of the node",
    severity=Severity.HIGH,
    kinds=WORKLOADS,
    rationale="""The node's root, /etc, /root, /home, /proc, /sys, /boot, /dev and the kubelet's
        and runtime's state directories hold credentials (kubelet and PKI keys, SSH keys),
        kernel interfaces and other pods' data: reading them leaks secrets, writing them
        takes over the node.""",
    remediation="Remove the hostPath volume, or narrow it to the one file needed and mount it readOnly.",
    example="""
        volumes:
          - name: config
            configMap:
              name: app-config
    """,
    refs={"cis": "5.2.12", "nsa": "pod-security/hardening", "mitre": "T1611, T1552.001"},
    tags=("hardening",),
)
def sensitive_host_path(pod: PodSpec) -> Iterator[Violation]:
    for i, name, path in _host_paths(pod):
        if path in RUNTIME_SOCKETS or path in RUNTIME_SOCKET_DIRS:
            continue  # KW-W014
        at = pod.at("volumes", i, "hostPath", "path")
        if path == "/":
            yield Violation(at, f"volume {name!r} mounts the node's root filesystem")
            continue
        # the most specific directory names the risk best (/etc/kubernetes over /etc)
        under = [d for d in SENSITIVE_HOST_DIRS if path == d or path.startswith(d + "/")]
        if under:
            yield Violation(at, f"volume {name!r} mounts {path} from the node (under {max(under, key=len)})")


@check(
    id="KW-W016",
    slug="host-path-writable",
    title="hostPath volumes must be mounted readOnly",
    severity=Severity.HIGH,
    kinds=WORKLOADS,
    rationale="""A writable hostPath mount lets the container change files on the node: plant
        binaries, cron jobs or kubelet configuration that run outside the container, or
        fill the node's disk.""",
    remediation="Set readOnly: true on every volumeMount of a hostPath volume.",
    example="""
        volumeMounts:
          - name: host-logs
            mountPath: /var/log/host
            readOnly: true
    """,
    refs={"cis": "5.2.12", "nsa": "pod-security/immutable-filesystem", "mitre": "T1611"},
    tags=("hardening",),
)
def host_path_writable(pod: PodSpec) -> Iterator[Violation]:
    host = {name: path for _, name, path in _host_paths(pod)}
    if not host:
        return
    for c in pod.containers():
        mounts = c.data.get("volumeMounts")
        for j, mount in enumerate(mounts if isinstance(mounts, list) else ()):
            name = dig(mount, "name")
            if isinstance(name, str) and name in host and dig(mount, "readOnly") is not True:
                message = f"container {c.name!r} mounts hostPath volume {name!r} ({host[name]}) writable"
                yield Violation(c.at("volumeMounts", j, "readOnly"), message, c.name)


@check(
    id="KW-W017",
    slug="mount-propagation-bidirectional",
    title="Volume mounts must not use Bidirectional mount propagation",
    severity=Severity.HIGH,
    kinds=WORKLOADS,
    rationale="""With mountPropagation: Bidirectional, mounts made inside the container appear on
        the node and in every pod sharing the volume: a compromised container can mount over
        host paths the node and other pods use.""",
    remediation="Remove mountPropagation or use HostToContainer (or None).",
    example="""
        volumeMounts:
          - name: data
            mountPath: /data
            mountPropagation: HostToContainer
    """,
    refs={"cis": "5.2.12", "nsa": "pod-security/hardening", "mitre": "T1611"},
    tags=("hardening",),
)
def mount_propagation_bidirectional(pod: PodSpec) -> Iterator[Violation]:
    for c in pod.containers():
        mounts = c.data.get("volumeMounts")
        for j, mount in enumerate(mounts if isinstance(mounts, list) else ()):
            if dig(mount, "mountPropagation") == "Bidirectional":
                message = f"container {c.name!r} propagates mounts of volume {dig(mount, 'name')!r} back to the node"
                yield Violation(c.at("volumeMounts", j, "mountPropagation"), message, c.name)


@check(
    id="KW-W018",
    slug="privileged-port",
    title="Containers should listen on ports of 1024 or more",
    severity=Severity.LOW,
    kinds=WORKLOADS,
    rationale="""Binding a port below 1024 needs root or the NET_BIND_SERVICE capability (unless
        the runtime lowers net.ipv4.ip_unprivileged_port_start): a privilege the process
        keeps for its whole life. A Service can expose port 80 while the container listens
        on 8080.""",
    remediation="Listen on a port of 1024 or more and map it in the Service (port: 80, targetPort: 8080).",
    example="""
        ports:
          - containerPort: 8080
    """,
    refs={"nsa": "pod-security/non-root", "mitre": "T1068"},
    tags=("hardening",),
)
def privileged_port(pod: PodSpec) -> Iterator[Violation]:
    if _windows(pod):
        return  # Windows has no privileged ports
    for c in pod.containers():
        ports = c.data.get("ports")
        for k, port in enumerate(ports if isinstance(ports, list) else ()):
            number = _int(dig(port, "containerPort"))
            if number is not None and 0 < number < 1024:
                yield Violation(
                    c.at("ports", k, "containerPort"), f"container {c.name!r} listens on privileged port {number}", c.name
                )


@check(
    id="KW-W019",
    slug="duplicate-env-var",
    title="Containers must not define the same environment variable twice",
    severity=Severity.LOW,
    kinds=WORKLOADS,
    rationale="""When env names a variable twice the later entry silently wins: a reviewer who
        reads the first one (say, a TLS or debug switch) approves a value that never applies.""",
    remediation="Keep one entry per variable name in env.",
    example="""
        env:
          - name: LOG_LEVEL
            value: info
    """,
    refs={"nsa": "pod-security/hardening", "mitre": "T1562.001"},
    tags=("hardening",),
)
def duplicate_env_var(pod: PodSpec) -> Iterator[Violation]:
    for c in pod.containers():
        env = c.data.get("env")
        first: dict[str, int] = {}
        for i, item in enumerate(env if isinstance(env, list) else ()):
            name = dig(item, "name")
            if not isinstance(name, str):
                continue
            if name in first:
                message = f"container {c.name!r} sets {name} twice (env[{first[name]}] and env[{i}]); the later one wins"
                yield Violation(c.at("env", i, "name"), message, c.name)
            else:
                first[name] = i


def _annotations(pod: PodSpec) -> Iterator[tuple[str, Path]]:
    """The pod template's annotation keys, with their paths."""
    for key in mapping(pod.template_meta.get("annotations")):
        if isinstance(key, str):
            yield key, (*pod.path[:-1], "metadata", "annotations", key)


@check(
    id="KW-W020",
    slug="deprecated-seccomp-annotation",
    title="Use securityContext.seccompProfile, not the seccomp annotations",
    severity=Severity.LOW,
    kinds=WORKLOADS,
    rationale="""The seccomp.security.alpha.kubernetes.io annotations are deprecated since v1.19.
        Since v1.25 only the API server's conversion to the field at pod creation honours
        them: static pods ignore them and a future release drops them, so the profile a
        reviewer sees may not be the one applied.""",
    remediation="Replace the annotation with securityContext.seccompProfile on the pod or the container.",
    example="""
        securityContext:
          seccompProfile:
            type: RuntimeDefault
    """,
    refs={"cis": "5.7.2", "nsa": "pod-security/hardening", "mitre": "T1611"},
    tags=("hardening",),
)
def deprecated_seccomp_annotation(pod: PodSpec) -> Iterator[Violation]:
    for key, path in _annotations(pod):
        if key == SECCOMP_POD_ANNOTATION or key.startswith(SECCOMP_CONTAINER_ANNOTATION):
            yield Violation(path, f"annotation {key} is deprecated since v1.19: use securityContext.seccompProfile")


@check(
    id="KW-W021",
    slug="deprecated-apparmor-annotation",
    title="Use securityContext.appArmorProfile, not the AppArmor annotations",
    severity=Severity.LOW,
    kinds=WORKLOADS,
    rationale="""The container.apparmor.security.beta.kubernetes.io annotations are deprecated
        since v1.30, when the appArmorProfile field became GA; they are kept only for
        compatibility and will stop working in a future release.""",
    remediation="Replace the annotation with securityContext.appArmorProfile on the pod or the container.",
    example="""
        securityContext:
          appArmorProfile:
            type: RuntimeDefault
    """,
    refs={"nsa": "pod-security/hardening", "mitre": "T1611"},
    tags=("hardening",),
)
def deprecated_apparmor_annotation(pod: PodSpec) -> Iterator[Violation]:
    for key, path in _annotations(pod):
        if key.startswith(APPARMOR_ANNOTATION):
            yield Violation(path, f"annotation {key} is deprecated since v1.30: use securityContext.appArmorProfile")


@check(
    id="KW-W022",
    slug="stdin-tty",
    title="Containers need not keep stdin or a TTY open",
    severity=Severity.INFO,
    kinds=WORKLOADS,
    rationale="""stdin: true and tty: true keep an interactive channel open that anyone allowed to
        attach (pods/attach) can use as a shell into the process. Services do not need it;
        it is usually a debugging leftover.""",
    remediation="Remove stdin and tty (use kubectl debug for interactive sessions).",
    example="""
        containers:
          - name: app
            image: registry.example.com/app:1.4.2
    """,
    refs={"nsa": "pod-security/hardening", "mitre": "T1609"},
    tags=("hardening",),
)
def stdin_tty(pod: PodSpec) -> Iterator[Violation]:
    for c in pod.containers():
        if c.is_ephemeral:
            continue  # kubectl debug -it sets them by design
        fields = [f for f in ("stdin", "tty") if c.data.get(f) is True]
        if fields:
            yield Violation(c.at(fields[0]), f"container {c.name!r} sets {' and '.join(fields)}: true", c.name)
