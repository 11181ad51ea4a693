"""Run the selected checks over an Inventory; apply configuration and suppressions."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .checks.registry import Check, all_checks, matches
from .config import Config
from .inventory import POD_SPEC_PATHS, Inventory, dig
from .model import Finding, InputError, Resource, Severity, Violation
from .sources.locate import assign_lines

log = logging.getLogger("kubeward.engine")

SUPPRESS_PREFIX = "ignore-check.kubeward.io/"


@dataclass
class ScanResult:
    findings: list[Finding] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    resources: int = 0

    def active(self) -> list[Finding]:
        return [f for f in self.findings if not f.suppressed]


def select_checks(config: Config, only: Sequence[str] = (), skip: Sequence[str] = ()) -> list[Check]:
    """The checks to run: config enable/disable, then command-line --check/--skip."""
    selected = all_checks()
    enable = list(only) or config.enable
    if enable:
        selected = [c for c in selected if any(matches(c, s) for s in enable)]
    for selector in (*config.disable, *skip):
        selected = [c for c in selected if not matches(c, selector)]
    return selected


def effective_severity(check: Check, config: Config) -> Severity:
    for selector, severity in config.severity.items():
        if matches(check, selector):
            return severity
    return check.severity


def scan(inventory: Inventory, checks: Iterable[Check], config: Config, today: dt.date | None = None) -> ScanResult:
    checks = list(checks)
    result = ScanResult(checks=checks, resources=len(inventory))
    per_kind: dict[str, list[Check]] = defaultdict(list)
    inventory_checks: list[Check] = []
    for c in checks:
        if c.scope == "inventory":
            inventory_checks.append(c)
        else:
            for kind in c.kinds:
                per_kind[kind].append(c)
    severities = {c.id: effective_severity(c, config) for c in checks}

    def emit(c: Check, resource: Resource, violation: Violation) -> None:
        result.findings.append(
            Finding(
                check_id=c.id,
                slug=c.slug,
                severity=severities[c.id],
                title=c.title,
                message=violation.message,
                resource=resource,
                path=violation.path,
                remediation=c.remediation,
                refs=c.refs,
                container=violation.container,
            )
        )

    for resource in inventory.resources:
        kind_checks = per_kind.get(resource.kind)
        if not kind_checks:
            continue
        subject = inventory.pod_spec(resource) if resource.kind in POD_SPEC_PATHS else resource
        for c in kind_checks:
            try:
                for violation in c.fn(subject):
                    emit(c, resource, violation)
            except Exception as exc:  # a check must never stop the scan
                log.debug("check %s failed on %s", c.id, resource.ref, exc_info=True)
                result.errors.append(_check_error(c, resource, exc))
        problems = getattr(subject, "problems", None)
        if problems:
            for problem in dict.fromkeys(problems):
                result.errors.append(InputError(resource.file, f"{resource.ref}: {problem}", resource.doc_index))

    for c in inventory_checks:
        try:
            for resource, violation in c.fn(inventory):
                emit(c, resource, violation)
        except Exception as exc:
            log.debug("check %s failed", c.id, exc_info=True)
            result.errors.append(InputError("<inventory>", f"check {c.id} could not run: {type(exc).__name__}"))

    apply_suppressions(result.findings, config, today or dt.date.today())
    assign_lines([(f.resource, f.path, f) for f in result.findings])
    result.findings.sort(key=lambda f: (f.resource.file, f.resource.doc_index, f.line or 0, f.check_id))
    return result


def _check_error(c: Check, resource: Resource, exc: Exception) -> InputError:
    return InputError(
        resource.file,
        f"{resource.ref}: check {c.id} could not evaluate it ({type(exc).__name__}); is a field of the wrong type?",
        resource.doc_index,
    )


def apply_suppressions(findings: list[Finding], config: Config, today: dt.date) -> None:
    by_id = {c.id: c for c in all_checks()}
    for finding in findings:
        check = by_id[finding.check_id]
        annotation = _annotation_suppression(finding, check)
        if annotation:
            finding.suppressed = True
            finding.suppression = annotation
            continue
        for rule in config.suppressions:
            if not rule.matches(finding, check):
                continue
            if rule.expired(today):
                finding.notes.append(f"suppression {rule.origin} expired on {rule.expires.isoformat()}")
                continue
            finding.suppressed = True
            finding.suppression = f"{rule.reason} ({rule.origin})"
            break


def _annotation_suppression(finding: Finding, check: Check) -> str | None:
    """``ignore-check.kubeward.io/<check>[.<container>]: <reason>`` on the object or pod template."""
    resource = finding.resource
    sources = [resource.metadata.get("annotations")]
    spec_path = POD_SPEC_PATHS.get(resource.kind)
    if spec_path:
        sources.append(dig(resource.obj, *spec_path[:-1], "metadata", "annotations"))
    for found in sources:
        if not isinstance(found, dict):
            continue
        for key, reason in found.items():
            if not isinstance(key, str) or not key.startswith(SUPPRESS_PREFIX):
                continue
            target, _, container = key[len(SUPPRESS_PREFIX) :].partition(".")
            if not matches(check, target) or (container and container != finding.container):
                continue
            if not isinstance(reason, str) or not reason.strip():
                finding.notes.append(f"annotation {key} has no reason and is ignored")
                continue
            return f"{reason.strip()} (annotation {key})"
    return None
