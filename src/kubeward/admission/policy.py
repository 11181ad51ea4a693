"""The admission policy: which checks block, warn or only audit, where, and for whom.

```yaml
version: 1
default-mode: warn                # enforce | warn | audit | off, for checks no rule names
rules:                            # first matching rule wins
  - checks: [tag:pss-baseline]    # ids, slugs, tags; and/or min-severity
    mode: enforce
  - min-severity: critical
    mode: enforce
namespaces:                       # per-namespace overrides (globs), consulted before the rules above
  - names: ["dev-*"]
    default-mode: audit
    rules: [{checks: [KW-P001], mode: enforce}]
pod-security:
  namespace-labels: true          # KW-P checks follow each namespace's pod-security.kubernetes.io labels
system-namespaces: [kube-system]  # never evaluated (the webhook's own namespace is added)
exemptions:
  - reason: node agent needs the host network
    namespaces: [monitoring]      # all given selectors must match
    users: [], groups: [], service-accounts: ["monitoring/node-exporter"]
    images: ["quay.io/prometheus/node-exporter:*"], containers: [exporter]
    checks: [KW-P002]             # default: every check
    expires: 2027-06-30
exec:                             # CONNECT pods/exec and pods/attach
  deny-namespaces: [kube-system]
mutations:                        # opt-in secure defaults for /mutate
  seccomp-profile: true
  allow-privilege-escalation: true
  drop-all-capabilities: true
  automount-service-account-token: true   # only pods running as the default ServiceAccount
  read-only-root-filesystem: false
  override: false                 # never replace an explicit value unless true
annotation-suppressions: false    # honour ignore-check.kubeward.io/ annotations on objects?
scan: {...}                       # .kubeward.yaml settings for the checks (images, pod-security level, ...)
```
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..checks.registry import Check, all_checks, known_selector, matches
from ..config import Config, ConfigError, parse_config
from ..model import Severity
from ..sources.yamlparse import YamlError, load_document

MODES = ("enforce", "warn", "audit", "off")
RANK = {m: i for i, m in enumerate(reversed(MODES))}  # off < audit < warn < enforce
TOP_KEYS = {
    "version", "default-mode", "rules", "namespaces", "pod-security", "system-namespaces", "exemptions",
    "exec", "mutations", "annotation-suppressions", "scan",
}  # fmt: skip
RULE_KEYS = {"checks", "min-severity", "mode"}
NS_KEYS = {"names", "default-mode", "rules"}
EXEMPTION_KEYS = {
    "reason", "expires", "namespaces", "users", "groups", "service-accounts", "images", "containers", "checks",
}  # fmt: skip
MUTATION_KEYS = {
    "seccomp-profile", "allow-privilege-escalation", "drop-all-capabilities", "automount-service-account-token",
    "read-only-root-filesystem", "override", "namespaces",
}  # fmt: skip
DEFAULT_SYSTEM_NAMESPACES = ("kube-system",)


class PolicyError(ValueError):
    """An invalid policy; the message names the file and the field."""


@dataclass(frozen=True, slots=True)
class Rule:
    checks: tuple[str, ...]  # selectors; empty = any check
    min_severity: Severity | None
    mode: str

    def matches(self, check: Check, severity: Severity) -> bool:
        if self.checks and not any(matches(check, s) for s in self.checks):
            return False
        return self.min_severity is None or severity >= self.min_severity


@dataclass(frozen=True, slots=True)
class NamespaceOverride:
    names: tuple[str, ...]
    default_mode: str | None
    rules: tuple[Rule, ...]

    def applies(self, namespace: str) -> bool:
        return any(fnmatch.fnmatchcase(namespace, n) for n in self.names)


@dataclass(frozen=True, slots=True)
class Exemption:
    reason: str
    origin: str  # "exemptions[2]"
    expires: dt.date | None = None
    namespaces: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    service_accounts: tuple[str, ...] = ()  # "namespace/name" of the pod's ServiceAccount (globs)
    images: tuple[str, ...] = ()
    containers: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and today > self.expires

    @property
    def per_container(self) -> bool:
        return bool(self.images or self.containers)

    def matches_request(self, namespace: str, user: str, groups: tuple[str, ...], service_account: str | None) -> bool:
        """The request-level selectors (all given must match)."""
        if self.namespaces and not _any_glob(namespace, self.namespaces):
            return False
        if self.users and not _any_glob(user, self.users):
            return False
        if self.groups and not any(_any_glob(g, self.groups) for g in groups):
            return False
        if self.service_accounts and (service_account is None or not _any_glob(service_account, self.service_accounts)):
            return False
        return True

    def matches_finding(self, check: Check | None, container: str | None, image: str | None) -> bool:
        if self.checks and not any(matches(check, s) for s in self.checks):
            return False
        if self.containers and (container is None or not _any_glob(container, self.containers)):
            return False
        if self.images and (image is None or not _any_glob(image, self.images)):
            return False
        return True


@dataclass(frozen=True, slots=True)
class Mutations:
    seccomp_profile: bool = False
    allow_privilege_escalation: bool = False
    drop_all_capabilities: bool = False
    automount_service_account_token: bool = False
    read_only_root_filesystem: bool = False
    override: bool = False
    namespaces: tuple[str, ...] = ()  # globs; empty = every namespace

    @property
    def any(self) -> bool:
        return (
            self.seccomp_profile
            or self.allow_privilege_escalation
            or self.drop_all_capabilities
            or self.automount_service_account_token
            or self.read_only_root_filesystem
        )


@dataclass(slots=True)
class Policy:
    default_mode: str = "warn"
    rules: tuple[Rule, ...] = ()
    namespaces: tuple[NamespaceOverride, ...] = ()
    namespace_labels: bool = False
    system_namespaces: tuple[str, ...] = DEFAULT_SYSTEM_NAMESPACES
    exemptions: tuple[Exemption, ...] = ()
    exec_deny_namespaces: tuple[str, ...] = ()
    mutations: Mutations = field(default_factory=Mutations)
    annotation_suppressions: bool = False
    scan: Config = field(default_factory=Config)
    source: str = "<default>"
    digest: str = ""  # of the text it was read from: reloads compare it
    _modes: dict[str, dict[str, str]] = field(default_factory=dict)  # namespace -> check id -> mode

    def modes_for(self, namespace: str) -> dict[str, str]:
        """Mode of every resource check in a namespace (cached per namespace)."""
        found = self._modes.get(namespace)
        if found is None:
            if len(self._modes) > 10_000:  # bounded: namespaces come from requests
                self._modes.clear()
            found = self._modes[namespace] = self._compute_modes(namespace)
        return found

    def _compute_modes(self, namespace: str) -> dict[str, str]:
        overrides = [o for o in self.namespaces if o.applies(namespace)]
        default = next((o.default_mode for o in overrides if o.default_mode), self.default_mode)
        rules = [r for o in overrides for r in o.rules] + list(self.rules)
        severities = self.scan.severity
        out = {}
        for c in all_checks():
            if c.scope != "resource":
                continue
            severity = next((s for sel, s in severities.items() if matches(c, sel)), c.severity)
            out[c.id] = next((r.mode for r in rules if r.matches(c, severity)), default)
        return out

    def is_system_namespace(self, namespace: str) -> bool:
        return _any_glob(namespace, self.system_namespaces)


def _any_glob(value: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


def load_policy(path: Path, *, own_namespace: str | None = None) -> Policy:
    where = str(path)
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{where}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    return parse_policy_text(text, where, own_namespace=own_namespace)


def parse_policy_text(text: str, where: str = "<policy>", *, own_namespace: str | None = None) -> Policy:
    try:
        data = load_document(text)
    except YamlError as exc:
        raise PolicyError(f"{where}: {exc}") from None
    policy = parse_policy(data, where, own_namespace=own_namespace)
    policy.digest = hashlib.sha256(text.encode()).hexdigest()
    return policy


def parse_policy(data: Any, where: str = "<policy>", *, own_namespace: str | None = None) -> Policy:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError(f"{where}: the policy must be a mapping")
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise PolicyError(f"{where}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(TOP_KEYS))})")
    if data.get("version", 1) != 1:
        raise PolicyError(f"{where}: version must be 1, not {data.get('version')!r}")
    policy = Policy(source=where)
    policy.default_mode = _mode(data.get("default-mode", "warn"), where, "default-mode")
    policy.rules = _rules(data.get("rules"), where, "rules")
    policy.namespaces = tuple(
        _namespace(item, where, i) for i, item in enumerate(_list(data.get("namespaces"), where, "namespaces"))
    )
    pod_security = data.get("pod-security") or {}
    if not isinstance(pod_security, dict) or set(pod_security) - {"namespace-labels"}:
        raise PolicyError(f"{where}: pod-security accepts only 'namespace-labels' (set the level in scan.pod-security)")
    policy.namespace_labels = _bool(pod_security.get("namespace-labels", False), where, "pod-security.namespace-labels")
    system = data.get("system-namespaces")
    policy.system_namespaces = (
        tuple(_strings(system, where, "system-namespaces")) if system is not None else DEFAULT_SYSTEM_NAMESPACES
    )
    if own_namespace and own_namespace not in policy.system_namespaces:
        policy.system_namespaces += (own_namespace,)
    items = _list(data.get("exemptions"), where, "exemptions")
    policy.exemptions = tuple(_exemption(item, where, i) for i, item in enumerate(items))
    exec_ = data.get("exec") or {}
    if not isinstance(exec_, dict) or set(exec_) - {"deny-namespaces"}:
        raise PolicyError(f"{where}: exec accepts only 'deny-namespaces'")
    policy.exec_deny_namespaces = tuple(_strings(exec_.get("deny-namespaces"), where, "exec.deny-namespaces"))
    policy.mutations = _mutations(data.get("mutations"), where)
    policy.annotation_suppressions = _bool(data.get("annotation-suppressions", False), where, "annotation-suppressions")
    try:
        policy.scan = parse_config(data.get("scan"), f"{where}: scan")
    except ConfigError as exc:
        raise PolicyError(str(exc)) from None
    return policy


def _list(value: Any, where: str, key: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PolicyError(f"{where}: {key} must be a list")
    return value


def _strings(value: Any, where: str, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise PolicyError(f"{where}: {key} must be a list of strings")
    return value


def _bool(value: Any, where: str, key: str) -> bool:
    if not isinstance(value, bool):
        raise PolicyError(f"{where}: {key} must be true or false, not {value!r}")
    return value


def _mode(value: Any, where: str, key: str) -> str:
    if value is False:  # YAML 1.1 reads a bare `off` as false
        return "off"
    if not isinstance(value, str) or value not in MODES:
        raise PolicyError(f"{where}: {key}: {value!r} must be one of {', '.join(MODES)}")
    return value


def _selectors(value: Any, where: str, key: str) -> tuple[str, ...]:
    selectors = _strings(value, where, key)
    for s in selectors:
        if s != "*" and not known_selector(s):
            raise PolicyError(f"{where}: {key}: no check, slug or tag is named {s!r} (see 'kubeward checks')")
    return tuple(selectors)


def _rules(value: Any, where: str, key: str) -> tuple[Rule, ...]:
    rules = []
    for i, item in enumerate(_list(value, where, key)):
        at = f"{key}[{i}]"
        if not isinstance(item, dict):
            raise PolicyError(f"{where}: {at} must be a mapping")
        unknown = set(item) - RULE_KEYS
        if unknown:
            raise PolicyError(f"{where}: {at}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(RULE_KEYS))})")
        if "mode" not in item:
            raise PolicyError(f"{where}: {at}: 'mode' is required")
        if "checks" not in item and "min-severity" not in item:
            raise PolicyError(f"{where}: {at}: name 'checks' and/or 'min-severity'")
        severity = None
        if item.get("min-severity") is not None:
            try:
                severity = Severity.parse(item["min-severity"])
            except ValueError as exc:
                raise PolicyError(f"{where}: {at}.min-severity: {exc}") from None
        checks = _selectors(item.get("checks"), where, f"{at}.checks")
        rules.append(Rule(tuple(c for c in checks if c != "*"), severity, _mode(item["mode"], where, f"{at}.mode")))
    return tuple(rules)


def _namespace(item: Any, where: str, index: int) -> NamespaceOverride:
    at = f"namespaces[{index}]"
    if not isinstance(item, dict):
        raise PolicyError(f"{where}: {at} must be a mapping")
    unknown = set(item) - NS_KEYS
    if unknown:
        raise PolicyError(f"{where}: {at}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(NS_KEYS))})")
    names = _strings(item.get("names"), where, f"{at}.names")
    if not names:
        raise PolicyError(f"{where}: {at}.names: name at least one namespace (globs allowed)")
    default = item.get("default-mode")
    return NamespaceOverride(
        tuple(names),
        _mode(default, where, f"{at}.default-mode") if default is not None else None,
        _rules(item.get("rules"), where, f"{at}.rules"),
    )


def _exemption(item: Any, where: str, index: int) -> Exemption:
    at = f"exemptions[{index}]"
    if not isinstance(item, dict):
        raise PolicyError(f"{where}: {at} must be a mapping")
    unknown = set(item) - EXEMPTION_KEYS
    if unknown:
        raise PolicyError(f"{where}: {at}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(EXEMPTION_KEYS))})")
    reason = item.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise PolicyError(f"{where}: {at}: 'reason' is required: say why this is exempt")
    expires = item.get("expires")
    if expires is not None:
        if not isinstance(expires, dt.date):
            try:
                expires = dt.date.fromisoformat(str(expires))
            except ValueError:
                raise PolicyError(f"{where}: {at}.expires must be a date like 2027-01-31, not {expires!r}") from None
    lists = {k: tuple(_strings(item.get(k), where, f"{at}.{k}")) for k in EXEMPTION_KEYS - {"reason", "expires", "checks"}}
    for sa in lists["service-accounts"]:
        if "/" not in sa:
            raise PolicyError(f"{where}: {at}.service-accounts: {sa!r} must be NAMESPACE/NAME")
    if not any(lists.values()):
        raise PolicyError(
            f"{where}: {at}: name at least one of namespaces, users, groups, service-accounts, images, containers "
            "(an exemption for everything would switch the policy off)"
        )
    return Exemption(
        reason=reason.strip(),
        origin=at,
        expires=expires,
        namespaces=lists["namespaces"],
        users=lists["users"],
        groups=lists["groups"],
        service_accounts=lists["service-accounts"],
        images=lists["images"],
        containers=lists["containers"],
        checks=_selectors(item.get("checks"), where, f"{at}.checks"),
    )


def _mutations(value: Any, where: str) -> Mutations:
    if value is None:
        return Mutations()
    if not isinstance(value, dict):
        raise PolicyError(f"{where}: mutations must be a mapping")
    unknown = set(value) - MUTATION_KEYS
    if unknown:
        raise PolicyError(f"{where}: mutations: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(MUTATION_KEYS))})")
    flags = {k: _bool(v, where, f"mutations.{k}") for k, v in value.items() if k != "namespaces"}
    return Mutations(
        **{k.replace("-", "_"): v for k, v in flags.items()},
        namespaces=tuple(_strings(value.get("namespaces"), where, "mutations.namespaces")),
    )


DEFAULT_POLICY = """\
# kubeward admission policy (see docs/admission.md)
version: 1
default-mode: warn
rules:
  - checks: [tag:pss-baseline]
    mode: enforce
  - min-severity: critical
    mode: enforce
  - checks: [tag:reliability]
    mode: audit
system-namespaces: [kube-system]
mutations:
  seccomp-profile: true
  allow-privilege-escalation: true
  drop-all-capabilities: true
"""
