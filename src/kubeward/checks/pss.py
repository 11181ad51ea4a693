"""The Pod Security Standards, exactly as Pod Security Admission evaluates them.

This mirrors k8s.io/pod-security-admission ``policy/``: 19 checks, each with
the implementations it has had since policy version v1.0, registered with the
version they start at and the baseline checks they override in the restricted
profile. Messages use upstream's words ("privileged (container "x" must not
set securityContext.privileged=true)"), so "kubeward says restricted passes"
means "the API server admits it". Conformance: tests/checks/test_pss_conformance.py
runs every upstream fixture (4,537 pods, v1.0 to v1.37).

Each implementation returns ``None`` (allowed) or a :class:`Verdict` with the
reason, the detail, and the field paths that caused it (for findings and
line numbers). All container checks visit init, regular and ephemeral
containers in that order, as upstream's visitContainers does.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..inventory import Container, PodSpec, mapping
from ..model import Path

Version = tuple[int, int]
LATEST: Version = (1, 37)  # the newest policy version implemented here
LEVELS = ("privileged", "baseline", "restricted")
_VERSION = re.compile(r"v1\.(0|[1-9][0-9]*)")


def parse_level(text: str) -> str:
    if text not in LEVELS:
        raise ValueError(f"unknown Pod Security level {text!r} (expected privileged, baseline or restricted)")
    return text


def parse_version(text: str) -> Version:
    """``latest`` or ``v1.N``; versions newer than we know evaluate as the newest (as upstream)."""
    if text == "latest":
        return LATEST
    match = _VERSION.fullmatch(text)
    if not match:
        raise ValueError(f"invalid Pod Security version {text!r} (expected 'latest' or v1.N)")
    return min((1, int(match.group(1))), LATEST)


def format_version(version: Version) -> str:
    return f"v{version[0]}.{version[1]}"


@dataclass(frozen=True, slots=True)
class Verdict:
    reason: str
    detail: str
    fields: tuple[tuple[Path, str | None], ...]  # (field path, container name) of each offence

    @property
    def message(self) -> str:
        return f"{self.reason} ({self.detail})" if self.detail else self.reason


CheckFn = Callable[[PodSpec], "Verdict | None"]


@dataclass(frozen=True, slots=True)
class Impl:
    min_version: Version
    fn: CheckFn
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PssCheck:
    id: str
    level: str
    impls: tuple[Impl, ...]

    def impl_at(self, version: Version) -> Impl | None:
        """The implementation with the greatest minimum version <= version."""
        found = None
        for impl in self.impls:
            if impl.min_version <= version:
                found = impl
        return found


@dataclass(frozen=True, slots=True)
class PssResult:
    check_id: str
    verdict: Verdict


# ---------------------------------------------------------------------------
# helpers.go


def _plural(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def _join_quote(items: Iterable[str]) -> str:
    items = list(items)
    return '"' + '", "'.join(items) + '"' if items else ""


def _containers(names: Sequence[str]) -> str:
    return f"{_plural('container', 'containers', len(names))} {_join_quote(names)}"


def _go_quote(text: str) -> str:
    """Go's %q (strconv.Quote): printable non-ASCII stays as it is."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _sc(c: Container) -> dict[str, Any] | None:
    """The container's securityContext, or None when it is absent (Go's nil)."""
    sc = c.data.get("securityContext")
    return sc if isinstance(sc, dict) else None


def _pod_sc(pod: PodSpec) -> dict[str, Any] | None:
    sc = pod.spec.get("securityContext")
    return sc if isinstance(sc, dict) else None


def _is_windows(pod: PodSpec) -> bool:
    os_ = pod.spec.get("os")
    return isinstance(os_, dict) and os_.get("name") == "windows"


def _user_namespaced(pod: PodSpec) -> bool:
    """relaxPolicyForUserNamespacePod: spec.hostUsers explicitly false."""
    return pod.spec.get("hostUsers") is False


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _meta_path(pod: PodSpec, *keys: str) -> Path:
    return (*pod.path[:-1], "metadata", *keys)


# ---------------------------------------------------------------------------
# the checks, in upstream's file order


def privileged_1_0(pod: PodSpec) -> Verdict | None:
    bad, fields = [], []
    for c in pod.containers():
        sc = _sc(c)
        if sc is not None and sc.get("privileged") is True:
            bad.append(c.name)
            fields.append((c.at("securityContext", "privileged"), c.name))
    if not bad:
        return None
    return Verdict("privileged", f"{_containers(bad)} must not set securityContext.privileged=true", tuple(fields))


def host_namespaces_1_0(pod: PodSpec) -> Verdict | None:
    found = [f for f in ("hostNetwork", "hostPID", "hostIPC") if pod.spec.get(f) is True]
    if not found:
        return None
    return Verdict("host namespaces", ", ".join(f"{f}=true" for f in found), tuple((pod.at(f), None) for f in found))


def host_path_volumes_1_0(pod: PodSpec) -> Verdict | None:
    bad, fields = [], []
    for i, volume in pod.volumes():
        if volume.get("hostPath") is not None:
            bad.append(_str(volume.get("name")))
            fields.append((pod.at("volumes", i, "hostPath"), None))
    if not bad:
        return None
    return Verdict("hostPath volumes", f"{_plural('volume', 'volumes', len(bad))} {_join_quote(bad)}", tuple(fields))


def host_ports_1_0(pod: PodSpec) -> Verdict | None:
    bad, ports, fields = [], set(), []
    for c in pod.containers():
        valid = True
        items = c.data.get("ports")
        for j, port in enumerate(items if isinstance(items, list) else ()):
            host_port = port.get("hostPort") if isinstance(port, dict) else None
            if isinstance(host_port, int) and not isinstance(host_port, bool) and host_port != 0:
                valid = False
                ports.add(str(host_port))
                fields.append((c.at("ports", j, "hostPort"), c.name))
        if not valid:
            bad.append(c.name)
    if not bad:
        return None
    detail = (
        f"{_containers(bad)} {_plural('uses', 'use', len(bad))} "
        f"{_plural('hostPort', 'hostPorts', len(ports))} {', '.join(sorted(ports))}"
    )
    return Verdict("hostPort", detail, tuple(fields))


_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_LIFECYCLE = ("postStart", "preStop")


def host_probes_and_host_lifecycle_1_34(pod: PodSpec) -> Verdict | None:
    bad, hosts, fields = set(), set(), []
    for c in pod.containers():
        handlers = [(c.data.get(p), (p,)) for p in _PROBES]
        lifecycle = c.data.get("lifecycle")
        if isinstance(lifecycle, dict):
            handlers += [(lifecycle.get(h), ("lifecycle", h)) for h in _LIFECYCLE]
        for handler, where in handlers:
            if not isinstance(handler, dict):
                continue
            for kind in ("httpGet", "tcpSocket"):
                host = _str(mapping(handler.get(kind)).get("host"))
                if host:
                    bad.add(c.name)
                    hosts.add(host)
                    fields.append((c.at(*where, kind, "host"), c.name))
    if not bad:
        return None
    detail = (
        f"{_containers(sorted(bad))} {_plural('uses', 'use', len(bad))} "
        f"{_plural('probe or lifecycle host', 'probe or lifecycle hosts', len(hosts))} {_join_quote(sorted(hosts))}"
    )
    return Verdict("probe or lifecycle host", detail, tuple(fields))


def proc_mount_1_0(pod: PodSpec) -> Verdict | None:
    bad, types, fields = [], set(), []
    for c in pod.containers():
        sc = _sc(c)
        value = sc.get("procMount") if sc is not None else None
        if value is not None and value != "Default":
            bad.append(c.name)
            types.add(_str(value))
            fields.append((c.at("securityContext", "procMount"), c.name))
    if not bad:
        return None
    detail = f"{_containers(bad)} must not set securityContext.procMount to {_join_quote(sorted(types))}"
    return Verdict("procMount", detail, tuple(fields))


def proc_mount_1_35_baseline(pod: PodSpec) -> Verdict | None:
    return None if _user_namespaced(pod) else proc_mount_1_0(pod)


_DEFAULT_CAPABILITIES = frozenset(
    {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
     "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
)  # fmt: skip


def _capabilities(c: Container) -> dict[str, Any] | None:
    sc = _sc(c)
    caps = sc.get("capabilities") if sc is not None else None
    return caps if isinstance(caps, dict) else None


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def capabilities_baseline_1_0(pod: PodSpec) -> Verdict | None:
    bad, caps, fields = [], set(), []
    for c in pod.containers():
        capabilities = _capabilities(c)
        if capabilities is None:
            continue
        valid = True
        for cap in _list(capabilities.get("add")):
            if cap not in _DEFAULT_CAPABILITIES:
                valid = False
                caps.add(_str(cap))
        if not valid:
            bad.append(c.name)
            fields.append((c.at("securityContext", "capabilities", "add"), c.name))
    if not bad:
        return None
    detail = f"{_containers(bad)} must not include {_join_quote(sorted(caps))} in securityContext.capabilities.add"
    return Verdict("non-default capabilities", detail, tuple(fields))


def _selinux(pod: PodSpec, allowed_types: frozenset[str]) -> Verdict | None:
    bad_types: set[str] = set()
    flags = {"user": False, "role": False}

    def valid(options: dict[str, Any]) -> bool:
        ok = True
        kind = _str(options.get("type"))
        if kind not in allowed_types:
            ok = False
            bad_types.add(kind)
        for key in flags:
            if _str(options.get(key)):
                ok = False
                flags[key] = True
        return ok

    setters, fields, bad = [], [], []
    pod_sc = _pod_sc(pod)
    options = pod_sc.get("seLinuxOptions") if pod_sc is not None else None
    if isinstance(options, dict) and not valid(options):
        setters.append("pod")
        fields.append((pod.at("securityContext", "seLinuxOptions"), None))
    for c in pod.containers():
        sc = _sc(c)
        options = sc.get("seLinuxOptions") if sc is not None else None
        if isinstance(options, dict) and not valid(options):
            bad.append(c.name)
            fields.append((c.at("securityContext", "seLinuxOptions"), c.name))
    if bad:
        setters.append(_containers(bad))
    if not setters:
        return None
    data = []
    if bad_types:
        data.append(f"{_plural('type', 'types', len(bad_types))} {_join_quote(sorted(bad_types))}")
    data += [f"{key} may not be set" for key, was_set in flags.items() if was_set]
    detail = f"{' and '.join(setters)} set forbidden securityContext.seLinuxOptions: {'; '.join(data)}"
    return Verdict("seLinuxOptions", detail, tuple(fields))


_SELINUX_TYPES_1_0 = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})
_SELINUX_TYPES_1_31 = _SELINUX_TYPES_1_0 | {"container_engine_t"}


def selinux_options_1_0(pod: PodSpec) -> Verdict | None:
    return _selinux(pod, _SELINUX_TYPES_1_0)


def selinux_options_1_31(pod: PodSpec) -> Verdict | None:
    return _selinux(pod, _SELINUX_TYPES_1_31)


_SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
_SECCOMP_CONTAINER_ANNOTATION = "container.seccomp.security.alpha.kubernetes.io/"
_SECCOMP_TYPES = frozenset({"RuntimeDefault", "Localhost"})


def _valid_seccomp_annotation(value: Any) -> bool:
    return isinstance(value, str) and (value in ("runtime/default", "docker/default") or value.startswith("localhost/"))


def seccomp_profile_baseline_1_0(pod: PodSpec) -> Verdict | None:
    annotations = mapping(pod.template_meta.get("annotations"))
    keys = [_SECCOMP_POD_ANNOTATION] + [_SECCOMP_CONTAINER_ANNOTATION + c.name for c in pod.containers()]
    forbidden, fields = set(), []
    for key in keys:
        if key in annotations and not _valid_seccomp_annotation(annotations[key]):
            forbidden.add(f"{key}={_go_quote(_str(annotations[key]))}")
            fields.append((_meta_path(pod, "annotations", key), None))
    if not forbidden:
        return None
    detail = f"forbidden {_plural('annotation', 'annotations', len(forbidden))} {', '.join(sorted(forbidden))}"
    return Verdict("seccompProfile", detail, tuple(fields))


def _profile_type(sc: dict[str, Any] | None, field: str) -> str | None:
    """The type of a seccompProfile/appArmorProfile: "" for an empty one, None when unset."""
    profile = sc.get(field) if sc is not None else None
    return _str(profile.get("type")) if isinstance(profile, dict) else None


def _seccomp_type(sc: dict[str, Any] | None) -> str | None:
    return _profile_type(sc, "seccompProfile")


def _bad_profile_types(pod: PodSpec, field: str, allowed: frozenset[str]) -> tuple[list[str], set[str], list]:
    """Pod and containers that set ``field``.type outside ``allowed``: (setters, bad values, fields)."""
    setters, values, fields, bad = [], set(), [], []
    kind = _profile_type(_pod_sc(pod), field)
    if kind is not None and kind not in allowed:
        setters.append("pod")
        values.add(kind)
        fields.append((pod.at("securityContext", field, "type"), None))
    for c in pod.containers():
        kind = _profile_type(_sc(c), field)
        if kind is not None and kind not in allowed:
            bad.append(c.name)
            values.add(kind)
            fields.append((c.at("securityContext", field, "type"), c.name))
    if bad:
        setters.append(_containers(bad))
    return setters, values, fields


def seccomp_profile_baseline_1_19(pod: PodSpec) -> Verdict | None:
    setters, values, fields = _bad_profile_types(pod, "seccompProfile", _SECCOMP_TYPES)
    if not setters:
        return None
    detail = f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to {_join_quote(sorted(values))}"
    return Verdict("seccompProfile", detail, tuple(fields))


def seccomp_profile_restricted_1_19(pod: PodSpec) -> Verdict | None:
    setters, values, explicit, implicit, fields, implicit_fields = [], set(), [], [], [], []
    pod_set = False
    kind = _seccomp_type(_pod_sc(pod))
    if kind is not None:
        if kind in _SECCOMP_TYPES:
            pod_set = True
        else:
            setters.append("pod")
            values.add(kind)
            fields.append((pod.at("securityContext", "seccompProfile", "type"), None))
    for c in pod.containers():
        kind = _seccomp_type(_sc(c))
        if kind is None:
            if not pod_set:
                implicit.append(c.name)
                implicit_fields.append((c.at("securityContext", "seccompProfile"), c.name))
        elif kind not in _SECCOMP_TYPES:
            explicit.append(c.name)
            values.add(kind)
            fields.append((c.at("securityContext", "seccompProfile", "type"), c.name))
    if explicit:
        setters.append(_containers(explicit))
    if setters:
        detail = f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to {_join_quote(sorted(values))}"
        return Verdict("seccompProfile", detail, tuple(fields))
    if implicit:
        detail = f'pod or {_containers(implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"'
        return Verdict("seccompProfile", detail, tuple(implicit_fields))
    return None


def seccomp_profile_restricted_1_25(pod: PodSpec) -> Verdict | None:
    return None if _is_windows(pod) else seccomp_profile_restricted_1_19(pod)


_APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
_APPARMOR_TYPES = frozenset({"RuntimeDefault", "Localhost"})


def app_armor_profile_1_0(pod: PodSpec) -> Verdict | None:
    setters, values, fields = _bad_profile_types(pod, "appArmorProfile", _APPARMOR_TYPES)
    annotations = []
    for key, value in mapping(pod.template_meta.get("annotations")).items():
        if isinstance(key, str) and key.startswith(_APPARMOR_ANNOTATION):
            text = _str(value)
            if not (text in ("", "runtime/default") or text.startswith("localhost/")):
                annotations.append(f"{key}={_go_quote(text)}")
                fields.append((_meta_path(pod, "annotations", key), None))
    listed = sorted(values)
    if annotations:
        listed += sorted(annotations)
        setters.append(_plural("annotation", "annotations", len(annotations)))
    if not setters:
        return None
    reason = _plural("forbidden AppArmor profile", "forbidden AppArmor profiles", len(listed))
    return Verdict(reason, f"{' and '.join(setters)} must not set AppArmor profile type to {_join_quote(listed)}", tuple(fields))


_SYSCTLS_1_0 = frozenset(
    {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
     "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"}
)  # fmt: skip
_SYSCTLS_1_27 = _SYSCTLS_1_0 | {"net.ipv4.ip_local_reserved_ports"}
_SYSCTLS_1_29 = _SYSCTLS_1_27 | {
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"
}  # fmt: skip
_SYSCTLS_1_32 = _SYSCTLS_1_29 | {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}
_SYSCTLS_1_37 = _SYSCTLS_1_32 | {"net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"}


def _sysctls(allowed: frozenset[str]) -> CheckFn:
    def check(pod: PodSpec) -> Verdict | None:
        pod_sc = _pod_sc(pod)
        forbidden, fields = [], []
        for i, sysctl in enumerate(_list(pod_sc.get("sysctls")) if pod_sc is not None else ()):
            name = _str(sysctl.get("name")) if isinstance(sysctl, dict) else ""
            if name not in allowed:
                forbidden.append(name)
                fields.append((pod.at("securityContext", "sysctls", i, "name"), None))
        return Verdict("forbidden sysctls", ", ".join(forbidden), tuple(fields)) if forbidden else None

    return check


def windows_host_process_1_0(pod: PodSpec) -> Verdict | None:
    setters, fields, bad = [], [], []
    pod_sc = _pod_sc(pod)
    if pod_sc is not None and mapping(pod_sc.get("windowsOptions")).get("hostProcess") is True:
        setters.append("pod")
        fields.append((pod.at("securityContext", "windowsOptions", "hostProcess"), None))
    for c in pod.containers():
        sc = _sc(c)
        if sc is not None and mapping(sc.get("windowsOptions")).get("hostProcess") is True:
            bad.append(c.name)
            fields.append((c.at("securityContext", "windowsOptions", "hostProcess"), c.name))
    if bad:
        setters.append(_containers(bad))
    if not setters:
        return None
    return Verdict(
        "hostProcess", f"{' and '.join(setters)} must not set securityContext.windowsOptions.hostProcess=true", tuple(fields)
    )


_ALLOWED_VOLUME_SOURCES = (
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim", "projected", "secret"
)  # fmt: skip
_RESTRICTED_VOLUME_SOURCES = (
    "hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi", "glusterfs", "rbd",
    "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile", "vsphereVolume", "quobyte", "azureDisk",
    "photonPersistentDisk", "portworxVolume", "scaleIO", "storageos",
)  # fmt: skip


def restricted_volumes_1_0(pod: PodSpec) -> Verdict | None:
    bad, types, fields = [], set(), []
    for i, volume in pod.volumes():
        if any(volume.get(s) is not None for s in _ALLOWED_VOLUME_SOURCES):
            continue
        if all(k == "name" or volume[k] is None for k in volume):
            continue  # no source at all: the API server defaults it to emptyDir
        kind = next((s for s in _RESTRICTED_VOLUME_SOURCES if volume.get(s) is not None), "unknown")
        bad.append(_str(volume.get("name")))
        types.add(kind)
        fields.append((pod.at("volumes", i, kind) if kind != "unknown" else pod.at("volumes", i), None))
    if not bad:
        return None
    detail = (
        f"{_plural('volume', 'volumes', len(bad))} {_join_quote(bad)} {_plural('uses', 'use', len(bad))} "
        f"{_plural('restricted volume type', 'restricted volume types', len(types))} {_join_quote(sorted(types))}"
    )
    return Verdict("restricted volume types", detail, tuple(fields))


def run_as_non_root_1_0(pod: PodSpec) -> Verdict | None:
    setters, explicit, implicit, fields, implicit_fields = [], [], [], [], []
    pod_non_root = False
    pod_sc = _pod_sc(pod)
    value = pod_sc.get("runAsNonRoot") if pod_sc is not None else None
    if value is False:
        setters.append("pod")
        fields.append((pod.at("securityContext", "runAsNonRoot"), None))
    elif value is True:
        pod_non_root = True
    for c in pod.containers():
        sc = _sc(c)
        value = sc.get("runAsNonRoot") if sc is not None else None
        if value is False:
            explicit.append(c.name)
            fields.append((c.at("securityContext", "runAsNonRoot"), c.name))
        elif value is None and not pod_non_root:
            implicit.append(c.name)
            implicit_fields.append((c.at("securityContext", "runAsNonRoot"), c.name))
    if explicit:
        setters.append(_containers(explicit))
    if setters:
        return Verdict(
            "runAsNonRoot != true", f"{' and '.join(setters)} must not set securityContext.runAsNonRoot=false", tuple(fields)
        )
    if implicit:
        return Verdict(
            "runAsNonRoot != true",
            f"pod or {_containers(implicit)} must set securityContext.runAsNonRoot=true",
            tuple(implicit_fields),
        )
    return None


def run_as_non_root_1_35(pod: PodSpec) -> Verdict | None:
    return None if _user_namespaced(pod) else run_as_non_root_1_0(pod)


def _is_zero(value: Any) -> bool:
    return value == 0 and not isinstance(value, bool)


def run_as_user_1_23(pod: PodSpec) -> Verdict | None:
    setters, fields, bad = [], [], []
    pod_sc = _pod_sc(pod)
    if pod_sc is not None and _is_zero(pod_sc.get("runAsUser")):
        setters.append("pod")
        fields.append((pod.at("securityContext", "runAsUser"), None))
    for c in pod.containers():
        sc = _sc(c)
        if sc is not None and _is_zero(sc.get("runAsUser")):
            bad.append(c.name)
            fields.append((c.at("securityContext", "runAsUser"), c.name))
    if bad:
        setters.append(_containers(bad))
    if not setters:
        return None
    return Verdict("runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0", tuple(fields))


def run_as_user_1_35(pod: PodSpec) -> Verdict | None:
    return None if _user_namespaced(pod) else run_as_user_1_23(pod)


def allow_privilege_escalation_1_8(pod: PodSpec) -> Verdict | None:
    bad, fields = [], []
    for c in pod.containers():
        sc = _sc(c)
        if sc is None or sc.get("allowPrivilegeEscalation") is not False:
            bad.append(c.name)
            fields.append((c.at("securityContext", "allowPrivilegeEscalation"), c.name))
    if not bad:
        return None
    return Verdict(
        "allowPrivilegeEscalation != false",
        f"{_containers(bad)} must set securityContext.allowPrivilegeEscalation=false",
        tuple(fields),
    )


def allow_privilege_escalation_1_25(pod: PodSpec) -> Verdict | None:
    return None if _is_windows(pod) else allow_privilege_escalation_1_8(pod)


def capabilities_restricted_1_22(pod: PodSpec) -> Verdict | None:
    missing_drop, adding, caps, fields = [], [], set(), []
    for c in pod.containers():
        capabilities = _capabilities(c)
        if capabilities is None:
            missing_drop.append(c.name)
            fields.append((c.at("securityContext", "capabilities", "drop"), c.name))
            continue
        if "ALL" not in _list(capabilities.get("drop")):
            missing_drop.append(c.name)
            fields.append((c.at("securityContext", "capabilities", "drop"), c.name))
        forbidden = [cap for cap in _list(capabilities.get("add")) if cap != "NET_BIND_SERVICE"]
        if forbidden:
            adding.append(c.name)
            caps.update(_str(cap) for cap in forbidden)
            fields.append((c.at("securityContext", "capabilities", "add"), c.name))
    details = []
    if missing_drop:
        details.append(f'{_containers(missing_drop)} must set securityContext.capabilities.drop=["ALL"]')
    if adding:
        details.append(f"{_containers(adding)} must not include {_join_quote(sorted(caps))} in securityContext.capabilities.add")
    return Verdict("unrestricted capabilities", "; ".join(details), tuple(fields)) if details else None


def capabilities_restricted_1_25(pod: PodSpec) -> Verdict | None:
    return None if _is_windows(pod) else capabilities_restricted_1_22(pod)


# ---------------------------------------------------------------------------
# the registry (upstream's checks.go / registry.go)

B, R = "baseline", "restricted"
CHECKS: tuple[PssCheck, ...] = (
    PssCheck(
        "allowPrivilegeEscalation",
        R,
        (Impl((1, 8), allow_privilege_escalation_1_8), Impl((1, 25), allow_privilege_escalation_1_25)),
    ),
    PssCheck("appArmorProfile", B, (Impl((1, 0), app_armor_profile_1_0),)),
    PssCheck("capabilities_baseline", B, (Impl((1, 0), capabilities_baseline_1_0),)),
    PssCheck(
        "capabilities_restricted",
        R,
        (
            Impl((1, 22), capabilities_restricted_1_22, ("capabilities_baseline",)),
            Impl((1, 25), capabilities_restricted_1_25, ("capabilities_baseline",)),
        ),
    ),
    PssCheck("hostNamespaces", B, (Impl((1, 0), host_namespaces_1_0),)),
    PssCheck("hostPathVolumes", B, (Impl((1, 0), host_path_volumes_1_0),)),
    PssCheck("hostPorts", B, (Impl((1, 0), host_ports_1_0),)),
    PssCheck("hostProbesAndHostLifecycle", B, (Impl((1, 34), host_probes_and_host_lifecycle_1_34),)),
    PssCheck("privileged", B, (Impl((1, 0), privileged_1_0),)),
    PssCheck("procMount", B, (Impl((1, 0), proc_mount_1_0), Impl((1, 35), proc_mount_1_35_baseline))),
    PssCheck("procMount_restricted", R, (Impl((1, 35), proc_mount_1_0, ("procMount",)),)),
    PssCheck("restrictedVolumes", R, (Impl((1, 0), restricted_volumes_1_0, ("hostPathVolumes",)),)),
    PssCheck("runAsNonRoot", R, (Impl((1, 0), run_as_non_root_1_0), Impl((1, 35), run_as_non_root_1_35))),
    PssCheck("runAsUser", R, (Impl((1, 23), run_as_user_1_23), Impl((1, 35), run_as_user_1_35))),
    PssCheck("seLinuxOptions", B, (Impl((1, 0), selinux_options_1_0), Impl((1, 31), selinux_options_1_31))),
    PssCheck(
        "seccompProfile_baseline", B, (Impl((1, 0), seccomp_profile_baseline_1_0), Impl((1, 19), seccomp_profile_baseline_1_19))
    ),
    PssCheck(
        "seccompProfile_restricted",
        R,
        (
            Impl((1, 19), seccomp_profile_restricted_1_19, ("seccompProfile_baseline",)),
            Impl((1, 25), seccomp_profile_restricted_1_25, ("seccompProfile_baseline",)),
        ),
    ),
    PssCheck(
        "sysctls",
        B,
        (
            Impl((1, 0), _sysctls(_SYSCTLS_1_0)),
            Impl((1, 27), _sysctls(_SYSCTLS_1_27)),
            Impl((1, 29), _sysctls(_SYSCTLS_1_29)),
            Impl((1, 32), _sysctls(_SYSCTLS_1_32)),
            Impl((1, 37), _sysctls(_SYSCTLS_1_37)),
        ),
    ),
    PssCheck("windowsHostProcess", B, (Impl((1, 0), windows_host_process_1_0),)),
)
BY_ID = {c.id: c for c in CHECKS}


@functools.cache
def checks_for(level: str, version: Version) -> tuple[tuple[str, CheckFn], ...]:
    """The (check id, implementation) pairs a level evaluates at a version, in upstream's order."""
    if level == "privileged":
        return ()
    version = min(version, LATEST)
    chosen: dict[str, Impl] = {}
    for check in CHECKS:
        if check.level == B or level == R:
            impl = check.impl_at(version)
            if impl is not None:
                chosen[check.id] = impl
    overridden = {o for impl in chosen.values() for o in impl.overrides} if level == R else set()
    baseline = sorted(i for i in chosen if BY_ID[i].level == B and i not in overridden)
    restricted = sorted(i for i in chosen if BY_ID[i].level == R)
    return tuple((i, chosen[i].fn) for i in (*baseline, *restricted))


def evaluate(pod: PodSpec, level: str, version: Version) -> list[PssResult]:
    """Every violation of ``level`` at ``version``; an empty list means allowed."""
    results = []
    for check_id, fn in checks_for(level, version):
        verdict = fn(pod)
        if verdict is not None:
            results.append(PssResult(check_id, verdict))
    return results


def strictest_level(pod: PodSpec, version: Version) -> str:
    """The most restrictive level the pod satisfies at ``version``."""
    if not evaluate(pod, R, version):
        return R
    if not evaluate(pod, B, version):
        return B
    return "privileged"


def aggregate_message(results: Sequence[PssResult]) -> str:
    """AggregateCheckResults(...).ForbiddenDetail(): "reason (detail), reason (detail)"."""
    return ", ".join(r.verdict.message for r in results)


def admission_message(level: str, version_text: str, results: Sequence[PssResult], *, enforce: bool = True) -> str:
    """What the API server says: violates PodSecurity "restricted:latest": ..."""
    verb = "violates" if enforce else "would violate"
    return f"{verb} PodSecurity {_go_quote(f'{level}:{version_text}')}: {aggregate_message(results)}"
