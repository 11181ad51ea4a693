"""KW-P: the Pod Security Standards as kubeward checks.

One kubeward check per upstream PSS check, so PSS is the single source of
truth for privileged containers, host namespaces, capabilities and the rest:
the same code decides what `kubeward scan`, `kubeward pss` and Pod Security
Admission would say. Each check is active when the configured level and
version (``pod-security`` in .kubeward.yaml; restricted/latest by default)
evaluate it (see _plan for how overridden baseline checks keep their facts).
Messages are upstream's, so they match what the API server prints.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

from ..inventory import WORKLOADS, PodSpec
from ..model import Severity, Violation
from . import pss
from .registry import check

C, H, M, L = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW

# (kubeward id, upstream id, slug, severity, title, rationale, remediation, CIS 5.2.x)
CATALOGUE = (
    ("KW-P001", "privileged", "privileged-container", C, "Containers must not run privileged",
     "A privileged container has every capability and all host devices; it can load kernel modules and "
     "escape to the node. It disables nearly every isolation mechanism the container runtime provides.",
     "Remove securityContext.privileged or set it to false; grant only the specific capabilities needed.", "5.2.2"),
    ("KW-P002", "hostNamespaces", "host-namespaces", H, "Pods must not share the host's network, PID or IPC namespace",
     "Sharing the host network lets a pod sniff node traffic and reach services bound to localhost; sharing "
     "the PID namespace exposes every process on the node (and their environment); sharing IPC exposes host "
     "shared memory.",
     "Remove hostNetwork, hostPID and hostIPC from the pod spec (or set them to false).", "5.2.3-5.2.5"),
    ("KW-P003", "allowPrivilegeEscalation", "privilege-escalation", M, "Containers must set allowPrivilegeEscalation: false",
     "Unless allowPrivilegeEscalation is false, a process can gain more privileges than its parent (setuid "
     "binaries, file capabilities). Kubernetes defaults it to true, so it must be set explicitly.",
     "Set securityContext.allowPrivilegeEscalation: false on every container.", "5.2.6"),
    ("KW-P004", "hostPathVolumes", "host-path-volume", H, "Pods must not mount hostPath volumes",
     "A hostPath volume exposes the node's filesystem to the pod: reading credentials, writing to the "
     "container runtime socket or kubelet files leads straight to node compromise. (At the restricted level "
     "KW-P017 restricted-volume-types reports hostPath instead, as Pod Security Admission does.)",
     "Use emptyDir, configMap, secret, projected or a PersistentVolumeClaim instead of hostPath.", "5.2.12"),
    ("KW-P005", "capabilities_baseline", "non-default-capabilities", H, "Containers must not add capabilities beyond the default set",
     "NET_RAW and the capabilities outside the container runtime's default set (SYS_ADMIN, NET_ADMIN, "
     "SYS_PTRACE, ...) give a compromised process power over the kernel and the node's network. (At the "
     "restricted level KW-P019 capabilities-restricted applies instead.)",
     "Remove the capabilities from securityContext.capabilities.add.", "5.2.8-5.2.9"),
    ("KW-P006", "runAsNonRoot", "run-as-non-root", M, "Containers must run with runAsNonRoot: true",
     "A process running as UID 0 is root on the node if it escapes the container, and owns every file in "
     "the image. With runAsNonRoot: true the kubelet refuses to start an image that would run as root.",
     "Set securityContext.runAsNonRoot: true on the pod (or on every container).", "5.2.7"),
    ("KW-P007", "hostPorts", "host-ports", M, "Containers must not bind host ports",
     "A hostPort exposes the container directly on the node's address, bypassing Services and "
     "NetworkPolicies, and limits where the pod can be scheduled.",
     "Remove hostPort from the container ports; expose the pod through a Service.", "5.2.13"),
    ("KW-P008", "hostProbesAndHostLifecycle", "probe-host", M, "Probes and lifecycle hooks must not set a host",
     "A probe or lifecycle handler with a host makes the kubelet connect to an arbitrary address from the "
     "node: a server-side request forgery from the node's network position.",
     "Remove the host field from httpGet and tcpSocket probes and lifecycle handlers.", ""),
    ("KW-P009", "procMount", "proc-mount", H, "Containers must keep the default /proc masks",
     "procMount: Unmasked exposes kernel interfaces under /proc that the runtime hides by default. (From "
     "v1.35 baseline allows it in a user namespace, hostUsers: false; restricted never does: KW-P010.)",
     "Remove securityContext.procMount or set it to Default.", ""),
    ("KW-P010", "procMount_restricted", "proc-mount-restricted", H, "Containers must keep the default /proc masks, even in a user namespace",
     "The restricted profile (v1.35+) requires the default /proc masks whether or not the pod runs in a "
     "user namespace.",
     "Remove securityContext.procMount or set it to Default.", ""),
    ("KW-P011", "appArmorProfile", "apparmor-profile", H, "AppArmor must not be disabled or overridden",
     "The runtime's default AppArmor profile confines what a container can do; setting it to Unconfined "
     "removes that layer.",
     "Use appArmorProfile.type RuntimeDefault or Localhost (or the annotation values runtime/default or localhost/*).", ""),
    ("KW-P012", "seLinuxOptions", "selinux-options", H, "SELinux type, user and role must not be customised",
     "A custom SELinux type, user or role can escape the confinement the container runtime applies.",
     "Remove seLinuxOptions.user and .role; use only the container_t family of types.", ""),
    ("KW-P013", "seccompProfile_baseline", "seccomp-not-unconfined", H, "Seccomp must not be set to Unconfined",
     "Seccomp filters the system calls a container can make; Unconfined exposes the whole kernel attack "
     "surface. (At the restricted level KW-P014 seccomp-profile applies instead.)",
     "Set seccompProfile.type to RuntimeDefault or Localhost.", "5.7.2"),
    ("KW-P014", "seccompProfile_restricted", "seccomp-profile", M, "A seccomp profile must be set (RuntimeDefault or Localhost)",
     "Without an explicit seccomp profile, most runtimes run containers unconfined; the restricted profile "
     "requires RuntimeDefault or Localhost.",
     "Set spec.securityContext.seccompProfile.type: RuntimeDefault.", "5.7.2"),
    ("KW-P015", "sysctls", "unsafe-sysctls", H, "Pods may set only namespaced, safe sysctls",
     "Unsafe sysctls change kernel parameters shared with the node and every other pod on it.",
     "Remove the sysctl or use one of the safe set (e.g. net.ipv4.ip_local_port_range).", ""),
    ("KW-P016", "windowsHostProcess", "windows-host-process", C, "Windows containers must not run as HostProcess",
     "A Windows HostProcess container runs directly on the host with full access to it.",
     "Remove securityContext.windowsOptions.hostProcess.", ""),
    ("KW-P017", "restrictedVolumes", "restricted-volume-types", M, "Pods may use only the restricted profile's volume types",
     "Volume types other than configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, "
     "projected and secret reach node or network storage directly, bypassing the PersistentVolume controls.",
     "Use a PersistentVolumeClaim instead of inline hostPath, nfs, iscsi and other volume types.", "5.2.12"),
    ("KW-P018", "runAsUser", "run-as-user-root", M, "Containers must not set runAsUser: 0",
     "runAsUser: 0 runs the process as root, defeating runAsNonRoot.",
     "Set runAsUser to a non-zero UID (or remove it and rely on the image's non-root user).", "5.2.7"),
    ("KW-P019", "capabilities_restricted", "capabilities-restricted", M, "Containers must drop ALL capabilities and add only NET_BIND_SERVICE",
     "Dropping all capabilities and adding back only what is needed is the least-privilege baseline for a "
     "process; most applications need none.",
     'Set securityContext.capabilities.drop: ["ALL"]; add only NET_BIND_SERVICE if a low port is needed.', "5.2.8-5.2.10"),
)  # fmt: skip


@functools.cache
def _plan(pss_id: str, level: str, version: pss.Version) -> tuple[Callable | None, tuple[Callable, ...]]:
    """(implementation to run, baseline implementations whose fields it leaves to them).

    The restricted profile includes the baseline one. Where upstream's restricted
    profile replaces a baseline check (restrictedVolumes for hostPathVolumes, ...),
    the baseline check still reports what it covers, at its own severity (a
    hostPath volume is KW-P004), and the overriding check reports the rest.
    Pod Security's verdict is unchanged; only which kubeward id carries a fact.
    """
    active = dict(pss.checks_for(level, version))
    if level == "restricted":
        active = dict(pss.checks_for("baseline", version)) | active
    impl = pss.BY_ID[pss_id].impl_at(version)
    overridden = impl.overrides if impl is not None and level == "restricted" else ()
    return active.get(pss_id), tuple(active[o] for o in overridden if o in active)


def _pss_check(pss_id: str) -> Callable[[PodSpec, object], Iterator[Violation]]:
    def run(pod: PodSpec, config) -> Iterator[Violation]:
        fn, deferred = _plan(pss_id, config.pss_level, config.pss_version)
        verdict = fn(pod) if fn is not None else None
        if verdict is None:
            return
        taken = {path for other in deferred if (v := other(pod)) is not None for path, _ in v.fields} if deferred else ()
        message = verdict.message
        for path, container in verdict.fields:
            if path not in taken:
                yield Violation(path, message, container)

    run.__name__ = run.__qualname__ = f"pss_{pss_id}"
    return run


# kubeward id -> (NSA/CISA section, MITRE ATT&CK technique, CIS 5.x controls, example of the fix)
REFERENCES = {
    "KW-P001": ('pod-security/hardening', 'T1611', '5.2.2', 'securityContext:\n  privileged: false'),
    "KW-P002": ('pod-security/hardening', 'T1611', '5.2.3, 5.2.4, 5.2.5', 'spec:\n  hostNetwork: false\n  hostPID: false\n  hostIPC: false'),
    "KW-P003": ('pod-security/non-root', 'T1068', '5.2.6', 'securityContext:\n  allowPrivilegeEscalation: false'),
    "KW-P004": ('pod-security/hardening', 'T1611', '5.2.12', 'volumes:\n  - name: data\n    persistentVolumeClaim:\n      claimName: data'),
    "KW-P005": ('pod-security/hardening', 'T1611', '5.2.8, 5.2.9', 'securityContext:\n  capabilities:\n    drop: [ALL]\n    add: [NET_BIND_SERVICE]'),
    "KW-P006": ('pod-security/non-root', 'T1611', '5.2.7', 'spec:\n  securityContext:\n    runAsNonRoot: true\n    runAsUser: 10001'),
    "KW-P007": ('network/network-policies', 'T1133', '5.2.13', 'ports:\n  - containerPort: 8080   # no hostPort; expose it with a Service'),
    "KW-P008": ('pod-security/hardening', 'T1557', '', 'livenessProbe:\n  httpGet:\n    path: /healthz\n    port: 8080   # no host: the kubelet probes the pod IP'),
    "KW-P009": ('pod-security/hardening', 'T1611', '', 'securityContext:\n  procMount: Default'),
    "KW-P010": ('pod-security/hardening', 'T1611', '', 'securityContext:\n  procMount: Default'),
    "KW-P011": ('pod-security/hardening', 'T1562.001', '', 'securityContext:\n  appArmorProfile:\n    type: RuntimeDefault'),
    "KW-P012": ('pod-security/hardening', 'T1562.001', '', 'securityContext:\n  seLinuxOptions:\n    level: "s0:c123,c456"   # no user, role or custom type'),
    "KW-P013": ('pod-security/hardening', 'T1562.001', '5.7.2', 'securityContext:\n  seccompProfile:\n    type: RuntimeDefault'),
    "KW-P014": ('pod-security/hardening', 'T1611', '5.7.2', 'spec:\n  securityContext:\n    seccompProfile:\n      type: RuntimeDefault'),
    "KW-P015": ('pod-security/hardening', 'T1611', '', 'securityContext:\n  sysctls:\n    - name: net.ipv4.ip_local_port_range\n      value: "1024 65535"'),
    "KW-P016": ('pod-security/hardening', 'T1611', '5.2.11', 'securityContext:\n  windowsOptions:\n    hostProcess: false'),
    "KW-P017": ('pod-security/hardening', 'T1611', '5.2.12', 'volumes:\n  - name: shared\n    persistentVolumeClaim:\n      claimName: shared'),
    "KW-P018": ('pod-security/non-root', 'T1611', '5.2.7', 'securityContext:\n  runAsUser: 10001'),
    "KW-P019": ('pod-security/hardening', 'T1611', '5.2.8, 5.2.9, 5.2.10', 'securityContext:\n  capabilities:\n    drop: [ALL]'),
}  # fmt: skip

for _id, _pss_id, _slug, _severity, _title, _rationale, _remediation, _ in CATALOGUE:
    _level = pss.BY_ID[_pss_id].level
    _nsa, _mitre, _cis, _example = REFERENCES[_id]
    _refs = {"pss": f"{_level}: {_pss_id}", "nsa": _nsa, "mitre": _mitre} | ({"cis": _cis} if _cis else {})
    check(
        id=_id,
        slug=_slug,
        title=_title,
        severity=_severity,
        kinds=WORKLOADS,
        rationale=_rationale,
        remediation=_remediation,
        refs=_refs,
        tags=(f"pss-{_level}", "pod-security"),
        takes_config=True,
        example=_example,
    )(_pss_check(_pss_id))
