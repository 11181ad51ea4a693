"""The ``audit:`` section of .kubeward.yaml: which detection rules run, at what
severity, their thresholds and allowlists.

```yaml
audit:
  disable: [namespace-lifecycle]          # rule ids or slugs
  enable: []                              # optional: run only these
  severity: {exec-into-pod: high}
  allow-users: ["system:serviceaccount:argocd:*"]   # never alert on these users (globs), any rule
  rules:
    auth-failure-burst: {threshold: 20, window-seconds: 30}
    unexpected-source-ip: {allowed-cidrs: ["10.0.0.0/8"]}
    secret-access: {allow-users: ["system:serviceaccount:velero:velero"]}  # replaces the rule's defaults
```

The rule catalogue lives in rules.py; this module only parses and validates
against it (imported lazily: config.py imports this module).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from ..model import Severity

KEYS = {"enable", "disable", "severity", "allow-users", "rules"}


class AuditConfigError(ValueError):
    pass


@dataclass(slots=True)
class AuditSettings:
    enable: tuple[str, ...] = ()  # rule ids; empty = all
    disable: tuple[str, ...] = ()
    severity: dict[str, Severity] = field(default_factory=dict)
    allow_users: tuple[str, ...] = ()
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # rule id -> overrides (parsed)

    def enabled(self, rule_id: str) -> bool:
        return (not self.enable or rule_id in self.enable) and rule_id not in self.disable


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AuditConfigError(f"{where} must be a list of strings")
    return tuple(value)


def _rule_id(name: str, where: str) -> str:
    from .rules import resolve

    rule = resolve(name)
    if rule is None:
        raise AuditConfigError(f"{where}: no audit rule is named {name!r} (see docs/audit.md)")
    return rule.id


def parse_param(kind: str, value: Any, where: str) -> Any:
    if kind == "int":
        if type(value) is not int or value < 1:
            raise AuditConfigError(f"{where} must be a positive integer")
        return value
    if kind == "float":
        if type(value) not in (int, float) or value <= 0:
            raise AuditConfigError(f"{where} must be a positive number")
        return float(value)
    if kind == "strings":
        return _strings(value, where)
    if kind == "cidrs":
        try:
            return tuple(ipaddress.ip_network(v, strict=False) for v in _strings(value, where))
        except ValueError as exc:
            raise AuditConfigError(f"{where}: {exc}") from None
    raise AssertionError(kind)


def parse_audit_settings(data: Any, where: str) -> AuditSettings:
    if data is None:
        return AuditSettings()
    if not isinstance(data, dict):
        raise AuditConfigError(f"{where}: audit must be a mapping")
    unknown = set(data) - KEYS
    if unknown:
        raise AuditConfigError(f"{where}: audit: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(KEYS))})")
    settings = AuditSettings()
    settings.enable = tuple(
        _rule_id(n, f"{where}: audit.enable") for n in _strings(data.get("enable", []), f"{where}: audit.enable")
    )
    settings.disable = tuple(
        _rule_id(n, f"{where}: audit.disable") for n in _strings(data.get("disable", []), f"{where}: audit.disable")
    )
    severity = data.get("severity") or {}
    if not isinstance(severity, dict):
        raise AuditConfigError(f"{where}: audit.severity must map rule ids or slugs to a severity")
    for name, value in severity.items():
        try:
            settings.severity[_rule_id(str(name), f"{where}: audit.severity")] = Severity.parse(value)
        except ValueError as exc:
            raise AuditConfigError(f"{where}: audit.severity.{name}: {exc}") from None
    settings.allow_users = _strings(data.get("allow-users", []), f"{where}: audit.allow-users")
    rules = data.get("rules") or {}
    if not isinstance(rules, dict):
        raise AuditConfigError(f"{where}: audit.rules must map rule ids or slugs to their settings")
    from .rules import BY_ID

    for name, options in rules.items():
        rule_id = _rule_id(str(name), f"{where}: audit.rules")
        at = f"{where}: audit.rules.{name}"
        if not isinstance(options, dict):
            raise AuditConfigError(f"{at} must be a mapping")
        known = BY_ID[rule_id].params
        parsed = {}
        for key, value in options.items():
            if key not in known:
                raise AuditConfigError(f"{at}: unknown setting {key!r} (known: {', '.join(sorted(known))})")
            parsed[key] = parse_param(known[key][0], value, f"{at}.{key}")
        settings.params[rule_id] = parsed
    return settings
