"""Pod Security Admission: what a namespace's labels (or the admission
configuration's defaults) make the API server do with each workload.

Mirrors k8s.io/pod-security-admission: ``PolicyToEvaluate`` (labels over
defaults; an invalid enforce level fails closed to restricted, invalid audit
and warn levels fail open to privileged, an invalid version means latest),
the PodSecurityConfiguration file, and its namespace and runtimeClass
exemptions. Pods are rejected by ``enforce``; for workload controllers PSA
only warns and audits on the template, and the controller's pods are what
enforce rejects.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .checks import pss
from .inventory import Inventory, PodSpec
from .model import Resource

MODES = ("enforce", "audit", "warn")
LABEL_PREFIX = "pod-security.kubernetes.io/"
DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True, slots=True)
class LevelVersion:
    level: str
    version_text: str = "latest"  # as written: "latest" or "v1.N"

    @property
    def version(self) -> pss.Version:
        return pss.parse_version(self.version_text)

    def __str__(self) -> str:
        return f"{self.level}:{self.version_text}"


PRIVILEGED = LevelVersion("privileged")


@dataclass
class Policy:
    enforce: LevelVersion = PRIVILEGED
    audit: LevelVersion = PRIVILEGED
    warn: LevelVersion = PRIVILEGED
    errors: list[str] = field(default_factory=list)

    def mode(self, name: str) -> LevelVersion:
        return getattr(self, name)


@dataclass
class PsaConfig:
    """A PodSecurityConfiguration: defaults for unlabelled namespaces, and exemptions."""

    defaults: Policy = field(default_factory=Policy)
    exempt_namespaces: frozenset[str] = frozenset()
    exempt_runtime_classes: frozenset[str] = frozenset()
    exempt_usernames: frozenset[str] = frozenset()
    source: str | None = None


class PsaConfigError(ValueError):
    pass


def policy_for(labels: dict[str, Any] | None, defaults: Policy) -> Policy:
    """PolicyToEvaluate: a namespace's labels over the configured defaults."""
    policy = Policy(defaults.enforce, defaults.audit, defaults.warn)
    labels = labels or {}
    for mode in MODES:
        current = policy.mode(mode)
        level, version = current.level, current.version_text
        if f"{LABEL_PREFIX}{mode}" in labels:
            value = labels[f"{LABEL_PREFIX}{mode}"]
            if value in pss.LEVELS:
                level = value
            else:
                # enforce fails closed; audit and warn fail open
                level = "restricted" if mode == "enforce" else "privileged"
                policy.errors.append(f"{LABEL_PREFIX}{mode}={value!r}: must be one of privileged, baseline, restricted")
        if f"{LABEL_PREFIX}{mode}-version" in labels:
            value = labels[f"{LABEL_PREFIX}{mode}-version"]
            try:
                pss.parse_version(str(value))
                version = str(value)
            except ValueError:
                version = "latest"
                policy.errors.append(f'{LABEL_PREFIX}{mode}-version={value!r}: must be "latest" or "v1.x"')
        setattr(policy, mode, LevelVersion(level, version))
    return policy


def load_psa_config(path: Path) -> PsaConfig:
    """A PodSecurityConfiguration, or an AdmissionConfiguration holding one."""
    from .sources.yamlparse import YamlError, load_document

    where = str(path)
    try:
        data = load_document(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise PsaConfigError(f"{where}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    except YamlError as exc:
        raise PsaConfigError(f"{where}: {exc}") from None
    if isinstance(data, dict) and data.get("kind") == "AdmissionConfiguration":
        plugin = next((p for p in data.get("plugins") or [] if isinstance(p, dict) and p.get("name") == "PodSecurity"), None)
        if plugin is None:
            raise PsaConfigError(f"{where}: the AdmissionConfiguration has no PodSecurity plugin")
        if plugin.get("configuration") is not None:
            data = plugin["configuration"]
        elif plugin.get("path"):
            return load_psa_config(path.parent / plugin["path"])
    if not isinstance(data, dict) or data.get("kind") != "PodSecurityConfiguration":
        raise PsaConfigError(f"{where}: expected kind PodSecurityConfiguration (or an AdmissionConfiguration with one)")
    return parse_psa_config(data, where)


def parse_psa_config(data: dict[str, Any], where: str) -> PsaConfig:
    defaults = data.get("defaults") or {}
    exemptions = data.get("exemptions") or {}
    if not isinstance(defaults, dict) or not isinstance(exemptions, dict):
        raise PsaConfigError(f"{where}: defaults and exemptions must be mappings")
    policy = Policy()
    for mode in MODES:
        level = defaults.get(mode, "privileged")
        version = str(defaults.get(f"{mode}-version", "latest"))
        if level not in pss.LEVELS:
            raise PsaConfigError(f"{where}: defaults.{mode}: {level!r} must be one of privileged, baseline, restricted")
        try:
            pss.parse_version(version)
        except ValueError as exc:
            raise PsaConfigError(f"{where}: defaults.{mode}-version: {exc}") from None
        setattr(policy, mode, LevelVersion(level, version))

    def names(key: str) -> frozenset[str]:
        value = exemptions.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise PsaConfigError(f"{where}: exemptions.{key} must be a list of names")
        return frozenset(value)

    return PsaConfig(policy, names("namespaces"), names("runtimeClasses"), names("usernames"), where)


# ---------------------------------------------------------------------------
# evaluation


@dataclass
class ModeResult:
    mode: str
    policy: LevelVersion
    results: list[pss.PssResult]

    @property
    def allowed(self) -> bool:
        return not self.results

    def message(self) -> str:
        return pss.admission_message(self.policy.level, self.policy.version_text, self.results, enforce=self.mode == "enforce")


@dataclass
class WorkloadReport:
    resource: Resource
    namespace: str
    strictest: str  # at the evaluated version
    violations: list[pss.PssResult]  # against the requested level
    modes: list[ModeResult]  # against the namespace's policy
    exempt: str | None = None

    @property
    def rejected(self) -> bool:
        return any(m.mode == "enforce" and not m.allowed for m in self.modes)


@dataclass
class NamespaceReport:
    name: str
    labels: dict[str, str] | None  # pod-security labels; None when no Namespace object was given
    workloads: list[WorkloadReport]
    policy: Policy
    exempt: bool = False

    @property
    def strictest(self) -> str:
        """The strictest level every workload of the namespace satisfies."""
        levels = [w.strictest for w in self.workloads]
        return min(levels, key=pss.LEVELS.index) if levels else "restricted"

    def failing(self, level: str) -> list[WorkloadReport]:
        rank = pss.LEVELS.index(level)
        return [w for w in self.workloads if pss.LEVELS.index(w.strictest) < rank]


def workload_namespace(resource: Resource) -> str:
    return resource.namespace or DEFAULT_NAMESPACE


def evaluate_workload(pod: PodSpec, level: str, version: pss.Version, policy: Policy, config: PsaConfig) -> WorkloadReport:
    resource = pod.resource
    namespace = workload_namespace(resource)
    exempt = None
    runtime_class = pod.spec.get("runtimeClassName")
    if namespace in config.exempt_namespaces:
        exempt = f"namespace {namespace} is exempt ({config.source})"
    elif isinstance(runtime_class, str) and runtime_class in config.exempt_runtime_classes:
        exempt = f"runtimeClass {runtime_class} is exempt ({config.source})"
    modes = []
    if exempt is None:
        for mode in MODES:
            lv = policy.mode(mode)
            modes.append(ModeResult(mode, lv, pss.evaluate(pod, lv.level, lv.version)))
    return WorkloadReport(
        resource=resource,
        namespace=namespace,
        strictest=pss.strictest_level(pod, version),
        violations=pss.evaluate(pod, level, version),
        modes=modes,
        exempt=exempt,
    )


def analyse(inventory: Inventory, level: str, version: pss.Version, config: PsaConfig) -> list[NamespaceReport]:
    """Per namespace: its labels, its policy, and every workload evaluated against both."""
    namespaces: dict[str, dict[str, Any]] = {}
    for ns in inventory.kinds("Namespace"):
        labels = ns.metadata.get("labels")
        namespaces[ns.name] = labels if isinstance(labels, dict) else {}
    by_namespace: dict[str, list[WorkloadReport]] = defaultdict(list)
    policies: dict[str, Policy] = {}
    for pod in inventory.workloads():
        namespace = workload_namespace(pod.resource)
        if namespace not in policies:
            policies[namespace] = policy_for(namespaces.get(namespace), config.defaults)
        by_namespace[namespace].append(evaluate_workload(pod, level, version, policies[namespace], config))
    reports = []
    for name in sorted(set(namespaces) | set(by_namespace)):
        labels = namespaces.get(name)
        pod_security = {k: str(v) for k, v in (labels or {}).items() if str(k).startswith(LABEL_PREFIX)}
        reports.append(
            NamespaceReport(
                name=name,
                labels=pod_security if name in namespaces else None,
                workloads=by_namespace.get(name, []),
                policy=policies.get(name) or policy_for(labels, config.defaults),
                exempt=name in config.exempt_namespaces,
            )
        )
    return reports


def _rank(level: str) -> int:
    return pss.LEVELS.index(level)


def recommended_labels(report: NamespaceReport, version_text: str) -> dict[str, str]:
    """The label set to apply: enforce what every workload satisfies (never weaker than
    what is enforced today), and audit and warn at restricted."""
    enforce = max(report.strictest, report.policy.enforce.level, key=_rank)
    labels = {f"{LABEL_PREFIX}enforce": enforce, f"{LABEL_PREFIX}enforce-version": version_text}
    if enforce != "restricted":
        labels |= {
            f"{LABEL_PREFIX}audit": "restricted",
            f"{LABEL_PREFIX}audit-version": version_text,
            f"{LABEL_PREFIX}warn": "restricted",
            f"{LABEL_PREFIX}warn-version": version_text,
        }
    return labels


def advice(report: NamespaceReport) -> str:
    """One sentence: what can be enforced now and what stands in the way of more."""
    if not report.workloads:
        return "no workloads in the input; restricted can be enforced"
    strictest = report.strictest
    rejected = [w for w in report.workloads if w.rejected]
    if rejected:
        policy = report.policy.enforce
        return f"enforce {policy} is set, and rejects the pods of {len(rejected)} workload{_s(rejected)}: {_names(rejected)}"
    if strictest == "restricted":
        return "you can enforce restricted now"
    nxt = pss.LEVELS[_rank(strictest) + 1]
    failing = report.failing(nxt)
    now = (
        f"you can enforce {strictest} now"
        if strictest != "privileged"
        else "nothing stricter than privileged can be enforced yet"
    )
    return f"{now}; {nxt} fails for {len(failing)} workload{_s(failing)}: {_names(failing)}"


def _s(items: list) -> str:
    return "" if len(items) == 1 else "s"


def _names(workloads: list[WorkloadReport]) -> str:
    return ", ".join(w.resource.ref for w in workloads[:5]) + (", ..." if len(workloads) > 5 else "")
