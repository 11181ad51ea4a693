"""Effective configuration: every value a check reads, with where it came from.

For the API server, controller manager and scheduler the command line is the
whole story (plus the component's built-in default for an absent flag; the
scheduler's ``--config`` file replaces its deprecated ``--profiling`` flag).
etcd also reads ``ETCD_*`` environment variables for flags not on its command
line, and with ``--config-file`` ignores both. The kubelet is in kubelet.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .discover import Component, host_path
from .flags import FlagSet, parse_bool, parse_flags


@dataclass(frozen=True)
class Source:
    """Where an effective value came from."""

    kind: str  # flag | config | drop-in | env | default | unset
    file: str = ""  # the manifest, unit, process or config file
    key: str = ""  # the flag, config key or variable
    detail: str = ""  # for defaults: whose default

    def __str__(self) -> str:
        if self.kind == "flag":
            return f"flag --{self.key} ({self.file})" if self.file else f"flag --{self.key}"
        if self.kind in ("config", "drop-in"):
            return f"{self.kind} {self.file}: {self.key}"
        if self.kind == "env":
            return f"environment {self.key} ({self.file})"
        if self.kind == "default":
            return f"default ({self.detail})" if self.detail else "default"
        return "not set"

    def as_dict(self) -> dict:
        return {"kind": self.kind, "file": self.file or None, "key": self.key or None, "detail": self.detail or None}


@dataclass(frozen=True)
class Value:
    value: Any
    source: Source

    @property
    def explicit(self) -> bool:
        return self.source.kind not in ("default", "unset")

    @property
    def is_set(self) -> bool:
        return self.source.kind != "unset" and self.value not in (None, "", [])


# The components' defaults for the flags the checks read (kube-apiserver, kube-controller-manager,
# kube-scheduler and etcd reference pages; for etcd `etcd --help`).
DEFAULTS: dict[str, dict[str, Any]] = {
    "apiserver": {
        "anonymous-auth": True,
        "profiling": True,
        "authorization-mode": ["AlwaysAllow"],
        "service-account-lookup": True,
        "service-account-extend-token-expiration": True,
        "request-timeout": "1m0s",
        "audit-log-maxage": 0,
        "audit-log-maxbackup": 0,
        "audit-log-maxsize": 0,
        "secure-port": 6443,
        "tls-min-version": "",
    },
    "controller-manager": {
        "terminated-pod-gc-threshold": 12500,
        "profiling": True,
        "use-service-account-credentials": False,
        "bind-address": "0.0.0.0",
    },
    "scheduler": {"profiling": True, "bind-address": "0.0.0.0"},
    "etcd": {"client-cert-auth": False, "auto-tls": False, "peer-client-cert-auth": False, "peer-auto-tls": False},
}
# Admission plugins kube-apiserver enables unless --disable-admission-plugins names them
# (kube-apiserver reference, --enable-admission-plugins, v1.30+).
DEFAULT_ADMISSION_PLUGINS = (
    "CertificateApproval", "CertificateSigning", "CertificateSubjectRestriction", "ClusterTrustBundleAttest",
    "DefaultIngressClass", "DefaultStorageClass", "DefaultTolerationSeconds", "LimitRanger", "MutatingAdmissionWebhook",
    "NamespaceLifecycle", "PersistentVolumeClaimResize", "PodSecurity", "Priority", "ResourceQuota", "RuntimeClass",
    "ServiceAccount", "StorageObjectInUseProtection", "TaintNodesByCondition", "ValidatingAdmissionPolicy",
    "ValidatingAdmissionWebhook",
)
BINARY = {
    "apiserver": "kube-apiserver",
    "controller-manager": "kube-controller-manager",
    "scheduler": "kube-scheduler",
    "etcd": "etcd",
    "kubelet": "kubelet",
}


def typed(default: Any, text: str) -> Any:
    """A flag's text as the type of its default (bool, int, list, str)."""
    if isinstance(default, bool):
        parsed = parse_bool(text)
        return text if parsed is None else parsed
    if isinstance(default, int):
        try:
            return int(text)
        except ValueError:
            return text
    if isinstance(default, list):
        return [v.strip() for v in text.split(",") if v.strip()]
    return text


@dataclass
class Effective:
    """The effective settings of one flag-configured component."""

    component: Component
    flags: FlagSet
    root: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    config_file: str = ""  # etcd --config-file / scheduler --config, when read
    config: dict | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.component.name

    @property
    def where(self) -> str:
        return self.component.file

    def flag(self, name: str) -> Value:
        """The effective value of ``--name``."""
        default = DEFAULTS.get(self.name, {}).get(name)
        if self.name == "etcd" and self.config is not None:
            return self._etcd_config(name, default)
        if self.name == "scheduler" and name == "profiling" and self.config is not None:
            raw = self.config.get("enableProfiling")
            if isinstance(raw, bool):
                return Value(raw, Source("config", self.config_file, "enableProfiling"))
            return Value(True, Source("default", detail=f"KubeSchedulerConfiguration enableProfiling; --profiling is ignored "
                                                        f"with --config {self.config_file}"))
        if name in self.flags.lists:
            return Value(list(self.flags.lists[name]), Source("flag", self.where, name))
        if self.flags.has(name):
            text = self.flags.get(name) or ""
            return Value(typed(default, text) if default is not None else text, Source("flag", self.where, name))
        if self.name == "etcd":
            var = "ETCD_" + name.upper().replace("-", "_")
            if var in self.component.env:
                text = self.component.env[var]
                return Value(typed(default, text) if default is not None else text, Source("env", self.where, var))
        if default is not None:
            return Value(default, Source("default", detail=f"{BINARY.get(self.name, self.name)} built-in"))
        return Value(None, Source("unset", key=name))

    def _etcd_config(self, name: str, default: Any) -> Value:
        # etcd's YAML config file: TLS settings under client-transport-security / peer-transport-security
        keys = {"cert-file", "key-file", "client-cert-auth", "trusted-ca-file", "auto-tls"}
        if name in keys:
            section, key = "client-transport-security", name
        elif name.startswith("peer-") and name[5:] in keys:
            section, key = "peer-transport-security", name[5:]
        else:
            section, key = "", name
        node = self.config.get(section) if section else self.config
        if isinstance(node, dict) and key in node and node[key] not in (None, ""):
            return Value(node[key], Source("config", self.config_file, f"{section}.{key}" if section else key))
        if default is not None:
            return Value(default, Source("default", detail="etcd built-in (--config-file set: flags and ETCD_* ignored)"))
        return Value(None, Source("unset", key=name))

    def gates(self) -> dict[str, Value]:
        return {k: Value(v, Source("flag", self.where, f"feature-gates={k}")) for k, v in self.flags.gates.items()}

    def admission_plugins(self) -> tuple[set[str], Source]:
        """The admission plugins the API server runs and what decided it."""
        if self.flags.lists.get("admission-control"):  # deprecated: the complete list, replacing the defaults
            return set(self.flags.lists["admission-control"]), Source("flag", self.where, "admission-control")
        enabled = set(DEFAULT_ADMISSION_PLUGINS) | set(self.flags.lists.get("enable-admission-plugins", []))
        enabled -= set(self.flags.lists.get("disable-admission-plugins", []))
        keys = [k for k in ("enable-admission-plugins", "disable-admission-plugins") if k in self.flags.lists]
        if keys:
            return enabled, Source("flag", self.where, " + --".join(keys))
        return enabled, Source("default", detail="kube-apiserver default-enabled admission plugins")

    def path(self, value: str) -> Path | None:
        """A file named by a flag, on this host (None offline)."""
        if not value or self.root is None:
            return None
        return host_path(self.root, value)


def load_yaml_file(path: Path) -> tuple[dict | None, str | None]:
    """The first document of a YAML/JSON file as a dict, or an error."""
    from ..sources.yamlparse import parse_documents

    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return None, f"{path}: {exc.strerror or exc}"
    for doc in parse_documents(text):
        if doc.error:
            return None, f"{path}: {doc.error}"
        if isinstance(doc.value, dict):
            return doc.value, None
        return None, f"{path}: not a mapping"
    return {}, None


def resolve(component: Component, root: Path | None = None, file_root: Path | None = None) -> Effective:
    """The effective configuration of a flag-configured component."""
    flags = parse_flags(component.argv, go_flag=component.name == "etcd")
    eff = Effective(component, flags, root)
    eff.errors += [f"{component.file}: {e}" for e in flags.errors]
    base = file_root or root
    config_flag = {"etcd": "config-file", "scheduler": "config"}.get(component.name)
    if config_flag and flags.get(config_flag):
        name = flags.get(config_flag) or ""
        path = host_path(base, name) if base is not None else Path(name)
        config, error = load_yaml_file(path)
        eff.config_file = str(path)
        if error:
            eff.errors.append(f"--{config_flag}: {error}")
            eff.config = {} if component.name == "scheduler" else None
        else:
            eff.config = config
    return eff
