"""The kubelet's effective configuration, resolved in the kubelet's own order.

1. Built-in defaults. With ``--config`` these are the KubeletConfiguration
   v1beta1 defaults (pkg/kubelet/apis/config/v1beta1/defaults.go,
   SetDefaults_KubeletConfiguration); without a config file the kubelet starts
   from "legacy" flag defaults instead (cmd/kubelet/app/options/options.go,
   applyLegacyDefaults): anonymous auth *on*, webhook authentication off,
   authorization ``AlwaysAllow``, read-only port 10255.
2. The ``--config`` file.
3. The ``--config-dir`` drop-ins: every ``*.conf`` file under it, walked in
   lexical order (filepath.WalkDir), each applied as a JSON merge patch
   (RFC 7386; cmd/kubelet/app/server.go, mergeKubeletConfigurations).
4. Command-line flags, which override the files (the kubelet re-parses them
   over the loaded configuration), feature gates merged key by key.

Fields the v1beta1 defaulting leaves alone keep Go's zero value:
``readOnlyPort`` 0, ``protectKernelDefaults`` false, ``rotateCertificates``
false, ``serverTLSBootstrap`` false, ``tlsCipherSuites`` empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .discover import Component, host_path
from .effective import Source, Value, load_yaml_file
from .flags import FlagSet, parse_bool, parse_flags

V1BETA1 = "KubeletConfiguration v1beta1 default (defaults.go)"
LEGACY = "kubelet flag default without --config (applyLegacyDefaults)"
ZERO = "KubeletConfiguration v1beta1: not defaulted, Go zero value"

# config key -> (default with --config, where that default comes from)
DEFAULTS: dict[str, tuple[Any, str]] = {
    "authentication.anonymous.enabled": (False, V1BETA1),
    "authentication.webhook.enabled": (True, V1BETA1),
    "authentication.x509.clientCAFile": ("", ZERO),
    "authorization.mode": ("Webhook", V1BETA1),
    "readOnlyPort": (0, ZERO),
    "port": (10250, V1BETA1),
    "address": ("0.0.0.0", V1BETA1),
    "streamingConnectionIdleTimeout": ("4h0m0s", V1BETA1),
    "protectKernelDefaults": (False, ZERO),
    "makeIPTablesUtilChains": (True, V1BETA1),
    "eventRecordQPS": (50, V1BETA1),
    "tlsCertFile": ("", ZERO),
    "tlsPrivateKeyFile": ("", ZERO),
    "rotateCertificates": (False, ZERO),
    "serverTLSBootstrap": (False, ZERO),
    "tlsCipherSuites": ([], ZERO),
    "tlsMinVersion": ("", ZERO),
    "podPidsLimit": (-1, V1BETA1),
    "seccompDefault": (False, V1BETA1),
    "enableDebuggingHandlers": (True, V1BETA1),
    "staticPodPath": ("", ZERO),
}
# applyLegacyDefaults: what changes when the kubelet runs without a config file
LEGACY_DEFAULTS: dict[str, Any] = {
    "authentication.anonymous.enabled": True,
    "authentication.webhook.enabled": False,
    "authorization.mode": "AlwaysAllow",
    "readOnlyPort": 10255,
}
# flag -> config key (kubelet flags that mirror KubeletConfiguration fields)
FLAG_KEYS: dict[str, str] = {
    "anonymous-auth": "authentication.anonymous.enabled",
    "authentication-token-webhook": "authentication.webhook.enabled",
    "client-ca-file": "authentication.x509.clientCAFile",
    "authorization-mode": "authorization.mode",
    "read-only-port": "readOnlyPort",
    "port": "port",
    "address": "address",
    "streaming-connection-idle-timeout": "streamingConnectionIdleTimeout",
    "protect-kernel-defaults": "protectKernelDefaults",
    "make-iptables-util-chains": "makeIPTablesUtilChains",
    "event-qps": "eventRecordQPS",
    "tls-cert-file": "tlsCertFile",
    "tls-private-key-file": "tlsPrivateKeyFile",
    "rotate-certificates": "rotateCertificates",
    "rotate-server-certificates": "serverTLSBootstrap",
    "tls-cipher-suites": "tlsCipherSuites",
    "tls-min-version": "tlsMinVersion",
    "pod-max-pids": "podPidsLimit",
    "seccomp-default": "seccompDefault",
    "enable-debugging-handlers": "enableDebuggingHandlers",
    "pod-manifest-path": "staticPodPath",
}
KEY_FLAGS = {v: k for k, v in FLAG_KEYS.items()}
# Non-pointer fields defaults.go fills when they hold Go's zero value: in the config file, writing
# the zero value ("0s", "", 0) is the same as leaving the key out (kubeadm writes
# streamingConnectionIdleTimeout: 0s and gets 4h).
ZERO_DEFAULTED = frozenset({"streamingConnectionIdleTimeout", "authorization.mode", "port", "address"})


def _is_zero(value: Any) -> bool:
    if value in ("", 0, None) and not isinstance(value, bool):
        return True
    return isinstance(value, str) and parse_duration(value) == 0


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def dig(config: dict, key: str) -> tuple[bool, Any]:
    node: Any = config
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def dropin_files(directory: Path) -> list[Path]:
    """``*.conf`` files under ``directory`` in filepath.WalkDir order: lexical at each level,
    depth first, which is the order of their relative paths compared part by part."""
    found = [p for p in directory.rglob("*.conf") if p.is_file()]
    return sorted(found, key=lambda p: p.relative_to(directory).parts)


def _flag_value(key: str, text: str) -> Any:
    default = DEFAULTS.get(key, ("", ""))[0]
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
class KubeletConfig:
    component: Component
    flags: FlagSet
    config_file: str = ""  # the --config file read, if any
    config: dict = field(default_factory=dict)
    dropins: list[tuple[str, dict]] = field(default_factory=list)
    merged: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    root: Path | None = None

    name = "kubelet"

    @property
    def where(self) -> str:
        return self.component.file

    def get(self, key: str) -> Value:
        """The effective value of config ``key`` (dotted), flags first."""
        flag = KEY_FLAGS.get(key)
        if flag and self.flags.has(flag):
            text = ",".join(self.flags.lists[flag]) if flag in self.flags.lists else (self.flags.get(flag) or "")
            return Value(_flag_value(key, text), Source("flag", self.where, flag))
        for path, patch in reversed(self.dropins):
            found, value = dig(patch, key)
            if found and value is not None:
                return Value(value, Source("drop-in", path, key))
        found, value = dig(self.config, key)
        if found and value is not None:
            if key in ZERO_DEFAULTED and _is_zero(value):
                default, _ = DEFAULTS[key]
                detail = f"{self.config_file}: {key}: {value!r} is Go's zero value, which defaults.go replaces"
                return Value(default, Source("default", self.config_file, key, detail))
            return Value(value, Source("config", self.config_file, key))
        if not self.config_file and key in LEGACY_DEFAULTS:
            return Value(LEGACY_DEFAULTS[key], Source("default", detail=LEGACY))
        if key in DEFAULTS:
            default, detail = DEFAULTS[key]
            return Value(default, Source("default", detail=detail))
        return Value(None, Source("unset", key=key))

    def flag(self, name: str) -> Value:
        """A flag-only setting (``--hostname-override``, ``--kubeconfig``)."""
        if self.flags.has(name):
            return Value(self.flags.get(name), Source("flag", self.where, name))
        return Value(None, Source("unset", key=name))

    def gate(self, name: str) -> Value | None:
        """A feature gate: flags override the config file's featureGates key by key."""
        if name in self.flags.gates:
            return Value(self.flags.gates[name], Source("flag", self.where, f"feature-gates={name}"))
        for path, patch in reversed(self.dropins):
            found, value = dig(patch, f"featureGates.{name}")
            if found and isinstance(value, bool):
                return Value(value, Source("drop-in", path, f"featureGates.{name}"))
        found, value = dig(self.config, f"featureGates.{name}")
        if found and isinstance(value, bool):
            return Value(value, Source("config", self.config_file, f"featureGates.{name}"))
        return None

    def file_path(self, value: Value) -> Path | None:
        """A file named by a setting, on this host. Relative paths in a config file are relative
        to that file (the kubelet resolves them so); on the command line, to the working directory."""
        text = value.value
        if not isinstance(text, str) or not text:
            return None
        p = Path(text)
        if not p.is_absolute() and value.source.kind in ("config", "drop-in") and value.source.file:
            return Path(value.source.file).parent / p
        if self.root is None:
            return None
        return host_path(self.root, text)


def resolve_kubelet(
    component: Component | None,
    *,
    root: Path | None = None,
    config_path: Path | None = None,
    config_dir: Path | None = None,
) -> KubeletConfig:
    """The kubelet's effective configuration. ``config_path``/``config_dir`` given explicitly
    replace the ``--config``/``--config-dir`` of the command line."""
    if component is None:
        component = Component("kubelet", ["kubelet"], "command line", str(config_path or "kubelet"))
    flags = parse_flags(component.argv)
    kc = KubeletConfig(component, flags, root=root)
    kc.errors += [f"{component.file}: {e}" for e in flags.errors]
    if config_path is None and flags.get("config"):
        config_path = host_path(root, flags.get("config") or "") if root is not None else Path(flags.get("config") or "")
    if config_dir is None and flags.get("config-dir"):
        config_dir = host_path(root, flags.get("config-dir") or "") if root is not None else Path(flags.get("config-dir") or "")
    if config_path is not None:
        config, error = load_yaml_file(config_path)
        kc.config_file = str(config_path)
        if error:
            kc.errors.append(error)
        else:
            kind = config.get("kind") if config else None
            if config and kind != "KubeletConfiguration":
                kc.errors.append(f"{config_path}: kind is {kind!r}, not KubeletConfiguration")
            kc.config = config or {}
    if config_dir is not None:
        if not config_dir.is_dir():
            kc.errors.append(f"{config_dir}: --config-dir is not a directory")
        for path in dropin_files(config_dir) if config_dir.is_dir() else []:
            patch, error = load_yaml_file(path)
            if error:
                kc.errors.append(error)
                continue
            kc.dropins.append((str(path), patch or {}))
    merged = kc.config
    for _, patch in kc.dropins:
        merged = merge_patch(merged, patch)
    kc.merged = merged
    return kc


def parse_duration(text: Any) -> float | None:
    """Go's time.ParseDuration, in seconds (None when invalid)."""
    import re

    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text) / 1e9  # a bare number in a config file is nanoseconds
    if not isinstance(text, str):
        return None
    s = text.strip()
    if s in ("0", "+0", "-0"):
        return 0.0
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    sign = -1 if s.startswith("-") else 1
    s = s.lstrip("+-")
    parts = re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)", s)
    if not parts or "".join(n + u for n, u in parts) != s:
        return None
    return sign * sum(float(n) * units[u] for n, u in parts)
