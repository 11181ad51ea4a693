""".kubeward.yaml: which checks run, at what severity, and what is suppressed.

```yaml
version: 1
enable: [pod-security, KW-I001]   # optional: run only these (ids, slugs, tags)
disable: [read-only-root-filesystem]
severity:                         # per-check overrides
  image-tag-latest: high
fail-on: medium
images:
  allowed-registries: ["mysecure-registry.com/*"]   # globs on the image reference; empty = any
  denied-registries: ["docker.io/*"]
recommended-labels: [app.kubernetes.io/name, app.kubernetes.io/version]
kubernetes-version: v1.30         # target version for deprecated/removed API checks
pod-security:                     # the Pod Security Standards level and version checked
  level: restricted               # baseline | restricted | privileged (= PSS checks off)
  version: latest                 # or v1.N, as a namespace would pin it
suppressions:
  - check: host-path-volume       # id, slug or "*"
    kind: DaemonSet               # optional filters: kind, namespace, name (glob),
    name: node-exporter           #   container, file (glob)
    reason: reads /proc and /sys of the node by design
    expires: 2027-06-30           # optional; after it the finding is reported again
```
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .audit.settings import AuditConfigError, AuditSettings, parse_audit_settings
from .checks.pss import LATEST, parse_level, parse_version
from .checks.registry import Check, known_selector, matches
from .model import Finding, Severity
from .sources.yamlparse import YamlError, load_document

CONFIG_NAMES = (".kubeward.yaml", ".kubeward.yml")
TOP_LEVEL_KEYS = {
    "version", "enable", "disable", "severity", "fail-on", "pod-security", "suppressions",
    "images", "recommended-labels", "kubernetes-version", "audit",
}  # fmt: skip
IMAGE_KEYS = {"allowed-registries", "denied-registries"}
DEFAULT_RECOMMENDED_LABELS = ("app.kubernetes.io/name",)
KUBERNETES_VERSION = re.compile(r"v?1\.(\d+)(?:\.\d+)?")
PSS_KEYS = {"level", "version"}
SUPPRESSION_KEYS = {"check", "reason", "kind", "namespace", "name", "container", "file", "expires"}


class ConfigError(ValueError):
    """An invalid configuration; the message names the file and the field."""


@dataclass(slots=True)
class Suppression:
    check: str
    reason: str
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    container: str | None = None
    file: str | None = None
    expires: dt.date | None = None
    origin: str = ""  # "<config file>: suppressions[3]"

    def matches(self, finding: Finding, check: Check) -> bool:
        res = finding.resource
        return (
            (self.check == "*" or matches(check, self.check))
            and (self.kind is None or self.kind == res.kind)
            and (self.namespace is None or fnmatch.fnmatchcase(res.namespace, self.namespace))
            and (self.name is None or fnmatch.fnmatchcase(res.name, self.name))
            and (self.container is None or self.container == finding.container)
            and (self.file is None or _file_matches(res.file, self.file))
        )

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and today > self.expires


def _file_matches(path: str, pattern: str) -> bool:
    path = path.replace("\\", "/")
    return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, "*/" + pattern.lstrip("/"))


@dataclass(slots=True)
class Config:
    path: str | None = None
    enable: list[str] = field(default_factory=list)
    disable: list[str] = field(default_factory=list)
    severity: dict[str, Severity] = field(default_factory=dict)
    fail_on: Severity | None = None
    suppressions: list[Suppression] = field(default_factory=list)
    pss_level: str = "restricted"
    pss_version: tuple[int, int] = LATEST
    allowed_registries: tuple[str, ...] = ()  # image globs; empty = any registry
    denied_registries: tuple[str, ...] = ()
    recommended_labels: tuple[str, ...] = DEFAULT_RECOMMENDED_LABELS
    kubernetes_version: tuple[int, int] | None = None  # target cluster version, e.g. (1, 30)
    audit: AuditSettings = field(default_factory=AuditSettings)  # `kubeward audit` rules (audit/settings.py)


def discover(start: Path) -> Path | None:
    """The nearest .kubeward.yaml in ``start`` or any directory above it."""
    here = start.resolve()
    if not here.is_dir():
        here = here.parent
    for directory in (here, *here.parents):
        for name in CONFIG_NAMES:
            candidate = directory / name
            if candidate.is_file():
                return candidate
    return None


def load_config(path: Path) -> Config:
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = load_document(text)
    except YamlError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return parse_config(data, where)


def parse_config(data: Any, where: str) -> Config:
    if data is None:
        return Config(path=where)
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: the configuration must be a mapping")
    unknown = set(data) - TOP_LEVEL_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(TOP_LEVEL_KEYS))})")
    version = data.get("version", 1)
    if version != 1:
        raise ConfigError(f"{where}: version must be 1, not {version!r}")
    config = Config(path=where)
    config.enable = _selectors(data.get("enable"), where, "enable")
    config.disable = _selectors(data.get("disable"), where, "disable")
    severity = data.get("severity") or {}
    if not isinstance(severity, dict):
        raise ConfigError(f"{where}: severity must map check ids or slugs to a severity")
    for key, value in severity.items():
        _known(key, where, f"severity.{key}")
        config.severity[key] = _severity(value, where, f"severity.{key}")
    if data.get("fail-on") is not None:
        config.fail_on = _severity(data["fail-on"], where, "fail-on")
    _pod_security(config, data.get("pod-security"), where)
    _images(config, data.get("images"), where)
    if data.get("recommended-labels") is not None:
        config.recommended_labels = tuple(_strings(data["recommended-labels"], where, "recommended-labels"))
    if data.get("kubernetes-version") is not None:
        config.kubernetes_version = parse_kubernetes_version(str(data["kubernetes-version"]), f"{where}: kubernetes-version")
    try:
        config.audit = parse_audit_settings(data.get("audit"), where)
    except AuditConfigError as exc:
        raise ConfigError(str(exc)) from None
    items = data.get("suppressions") or []
    if not isinstance(items, list):
        raise ConfigError(f"{where}: suppressions must be a list")
    config.suppressions = [_suppression(item, where, i) for i, item in enumerate(items)]
    return config


def _pod_security(config: Config, value: Any, where: str) -> None:
    if value is None:
        return
    if not isinstance(value, dict) or set(value) - PSS_KEYS:
        raise ConfigError(f"{where}: pod-security must be a mapping with 'level' and/or 'version'")
    try:
        config.pss_level = parse_level(str(value.get("level", config.pss_level)))
        config.pss_version = parse_version(str(value.get("version", "latest")))
    except ValueError as exc:
        raise ConfigError(f"{where}: pod-security: {exc}") from None


def _images(config: Config, value: Any, where: str) -> None:
    if value is None:
        return
    if not isinstance(value, dict) or set(value) - IMAGE_KEYS:
        raise ConfigError(f"{where}: images must be a mapping with {' and/or '.join(sorted(IMAGE_KEYS))}")
    config.allowed_registries = tuple(_strings(value.get("allowed-registries"), where, "images.allowed-registries"))
    config.denied_registries = tuple(_strings(value.get("denied-registries"), where, "images.denied-registries"))


def _strings(value: Any, where: str, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    return value


def parse_kubernetes_version(text: str, where: str = "--kubernetes-version") -> tuple[int, int]:
    """'v1.30', '1.30' or '1.30.2' -> (1, 30)."""
    match = KUBERNETES_VERSION.fullmatch(text.strip())
    if not match:
        raise ConfigError(f"{where}: {text!r} is not a Kubernetes version like v1.30")
    return (1, int(match.group(1)))


def _selectors(value: Any, where: str, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of check ids, slugs or tags")
    for selector in value:
        _known(selector, where, key)
    return value


def _known(selector: str, where: str, key: str) -> None:
    if not known_selector(selector):
        raise ConfigError(f"{where}: {key}: no check, slug or tag is named {selector!r} (see 'kubeward checks')")


def _severity(value: Any, where: str, key: str) -> Severity:
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise ConfigError(f"{where}: {key}: {exc}") from None


def _suppression(item: Any, where: str, index: int) -> Suppression:
    at = f"{where}: suppressions[{index}]"
    if not isinstance(item, dict):
        raise ConfigError(f"{at} must be a mapping")
    unknown = set(item) - SUPPRESSION_KEYS
    if unknown:
        raise ConfigError(f"{at}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(SUPPRESSION_KEYS))})")
    check = item.get("check")
    reason = item.get("reason")
    if not isinstance(check, str) or not check:
        raise ConfigError(f"{at}: 'check' (an id, slug, tag or '*') is required")
    if check != "*":
        _known(check, at, "check")
    if not isinstance(reason, str) or not reason.strip():
        raise ConfigError(f"{at}: 'reason' is required: say why this finding is accepted")
    expires = item.get("expires")
    if expires is not None:
        try:
            expires = dt.date.fromisoformat(str(expires))
        except ValueError:
            raise ConfigError(f"{at}: expires must be a date like 2027-01-31, not {expires!r}") from None
    fields = {}
    for key in ("kind", "namespace", "name", "container", "file"):
        value = item.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{at}: {key} must be a string")
        fields[key] = value
    return Suppression(check=check, reason=reason.strip(), expires=expires, origin=at, **fields)
