"""Run the selected checks over an Inventory; apply configuration and suppressions."""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .checks.registry import Check, all_checks, matches
from .config import Config
from .inventory import (
    POD_SPEC_PATHS,
    Inventory,
    PodSpec,
    WorkloadFacts,
    dig,
    kind_key,
    pod_spec_of,
    template_meta_path,
    workload_facts,
)
from .model import Finding, InputError, Path, Resource, Severity
from .sources.locate import assign_lines

# _interned_tree below is the definition of the tree copying done when a checked resource
# is released or kept whole, and what runs where no compiler was at hand; _tree is its C
# port, used because the copying was a visible share of a scan's per-resource CPU.
# tests/test_tree.py holds the two to the same results.
try:
    from . import _tree
except ImportError:  # pragma: no cover - exercised only where the extension was not built
    _tree = None

log = logging.getLogger("kubeward.engine")

SUPPRESS_PREFIX = "ignore-check.kubeward.io/"


@dataclass(slots=True)
class Tally:
    """What a scan result counts of some findings. Workers whose findings a report
    encodes as they are found send this instead of the findings."""

    by_severity: Counter = field(default_factory=Counter)  # unsuppressed findings per severity
    suppressed: int = 0
    notes: list[str] = field(default_factory=list)  # warnings about findings, in their order

    @classmethod
    def of(cls, findings: Iterable[Finding]) -> Tally:
        tally = cls()
        for f in findings:
            if f.suppressed:
                tally.suppressed += 1
            else:
                tally.by_severity[f.severity] += 1
            for note in f.notes:
                tally.notes.append(f"{f.resource.file}: {f.resource.ref}: {note}")
        return tally


@dataclass
class ScanResult:
    findings: list[Finding] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    resources: int = 0
    kind_counts: dict[str, int] = field(default_factory=dict)  # resources scanned per kind key
    by_severity: Counter = field(default_factory=Counter)  # unsuppressed findings per severity
    suppressed: int = 0
    notes: dict[str, None] = field(default_factory=dict)  # warnings about findings (e.g. expired suppressions)

    def record(self, findings: list[Finding], *, keep: bool = True) -> None:
        """Count findings (and keep them unless a report is streaming them)."""
        self.count(Tally.of(findings))
        if keep:
            self.findings.extend(findings)

    def count(self, tally: Tally) -> None:
        """Count findings from their tally (the findings themselves went to a report)."""
        self.by_severity.update(tally.by_severity)
        self.suppressed += tally.suppressed
        for note in tally.notes:
            self.notes[note] = None

    def worst(self) -> Severity | None:
        """The highest severity among unsuppressed findings."""
        return max((s for s, n in self.by_severity.items() if n), default=None)

    def evaluated(self, check: Check) -> int:
        """How many resources a check looked at."""
        if check.scope == "inventory":
            return self.resources
        return sum(self.kind_counts.get(k, 0) for k in check.kinds)


def sort_findings(findings: list[Finding]) -> None:
    """Source order: file, document, line, check."""
    findings.sort(key=lambda f: (f.resource.file, f.resource.doc_index, f.line or 0, f.check_id))


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


class Scanner:
    """Runs checks in two phases, so inputs can stream through with bounded memory.

    1. :meth:`check_resources` runs the per-resource checks on a batch (one
       file, say), applies suppressions and recovers lines while the source
       text is at hand; with ``release=True`` it then shrinks every resource
       that no cross-resource check needs in full to its identity.
    2. :meth:`check_inventory` runs the cross-resource checks once over all
       resources kept.
    """

    def __init__(self, checks: Iterable[Check], config: Config, today: dt.date | None = None):
        self.checks = list(checks)
        self.config = config
        self.today = today or dt.date.today()
        self.severities = {c.id: effective_severity(c, config) for c in self.checks}
        self.by_id = {c.id: c for c in self.checks}
        self.per_kind: dict[str, list[Check]] = defaultdict(list)
        self.inventory_checks: list[Check] = []
        for c in self.checks:
            if c.scope == "inventory":
                self.inventory_checks.append(c)
            else:
                for kind in c.kinds:
                    self.per_kind[kind].append(c)
        # kinds a cross-resource check reads in full (an empty `kinds` means identity only);
        # of workloads, they read the facts taken before release (inventory.WorkloadFacts)
        self.full_kinds = frozenset(k for c in self.inventory_checks for k in c.kinds)

        # per kind: (check, fn, takes config?, severity), so the hot loop below looks nothing up
        self.plans: dict[str, list[tuple[Check, Any, bool, Severity]]] = {
            kind: [(c, c.fn, c.takes_config, self.severities[c.id]) for c in kind_checks]
            for kind, kind_checks in self.per_kind.items()
        }

    def check_resources(self, resources: Iterable[Resource], *, release: bool = False) -> tuple[list[Finding], list[InputError]]:
        findings: list[Finding] = []
        errors: list[InputError] = []
        config = self.config
        keys = [kind_key(r) for r in resources]
        pods: dict[int, PodSpec | None] = {}  # the views built for the checks, for the workloads' facts
        for resource, key in zip(resources, keys, strict=True):
            plan = self.plans.get(key)
            if not plan:
                continue
            if key in POD_SPEC_PATHS:
                subject = pods[id(resource)] = pod_spec_of(resource, key)
            else:
                subject = resource
            for c, fn, takes_config, severity in plan:
                try:
                    for v in fn(subject, config) if takes_config else fn(subject):
                        findings.append(Finding(c.id, c.slug, severity, v.message, resource, v.path, v.container))
                except Exception as exc:  # a check must never stop the scan
                    log.debug("check %s failed on %s", c.id, resource.ref, exc_info=True)
                    errors.append(_check_error(c, resource, exc))
            problems = getattr(subject, "problems", None)
            if problems:
                for problem in dict.fromkeys(problems):
                    errors.append(InputError(resource.file, f"{resource.ref}: {problem}", resource.doc_index))
        self._finish(findings)
        if release:
            take_facts = bool(self.inventory_checks)
            for resource, key in zip(resources, keys, strict=True):
                if take_facts and key in POD_SPEC_PATHS:
                    pod = pods.get(id(resource)) or pod_spec_of(resource, key)
                    if pod is not None:
                        resource.facts = _shared_facts(workload_facts(pod))
                if key not in self.full_kinds:
                    release_resource(resource, key)
                else:
                    share_strings(resource)
        return findings, errors

    def check_inventory(self, inventory: Inventory) -> tuple[list[Finding], list[InputError]]:
        findings: list[Finding] = []
        errors: list[InputError] = []
        for c in self.inventory_checks:
            severity = self.severities[c.id]
            try:
                pairs = c.fn(inventory, self.config) if c.takes_config else c.fn(inventory)
                for resource, v in pairs:
                    findings.append(Finding(c.id, c.slug, severity, v.message, resource, v.path, v.container))
            except Exception as exc:
                log.debug("check %s failed", c.id, exc_info=True)
                errors.append(InputError("<inventory>", f"check {c.id} could not run: {type(exc).__name__}"))
        self._finish(findings, by_document=True)
        return findings, errors

    def _finish(self, findings: list[Finding], *, by_document: bool = False) -> None:
        apply_suppressions(findings, self.config, self.today, self.by_id)
        if not by_document:
            assign_lines([(f.resource, f.path, f) for f in findings])
            return
        # a document at a time, so that its line index is freed before the next is built:
        # cross-resource findings come check by check, and keeping the index of every
        # document they name until the last one cost ~100 MB at 100k resources
        documents: dict[int, list[tuple[Resource, Path, Finding]]] = {}
        for f in findings:
            documents.setdefault(id(f.resource.source), []).append((f.resource, f.path, f))
        for pairs in documents.values():
            assign_lines(pairs)


def scan(inventory: Inventory, checks: Iterable[Check], config: Config, today: dt.date | None = None) -> ScanResult:
    """Run every selected check over an in-memory inventory (the library entry point)."""
    scanner = Scanner(checks, config, today)
    result = ScanResult(checks=scanner.checks, resources=len(inventory), kind_counts=inventory.kind_counts())
    for findings, errors in (scanner.check_resources(inventory.resources), scanner.check_inventory(inventory)):
        sort_findings(findings)
        result.record(findings)
        result.errors.extend(errors)
    return result


def release_resource(resource: Resource, key: str | None = None) -> None:
    """Shrink a checked resource to its identity and suppression annotations.

    Everything else is dropped, so a scan of 100k objects holds 100k small
    dicts rather than 100k manifests (what the cross-resource checks need of a
    workload is in its ``facts``, taken before). The strings kept are
    interned: the names and namespaces that recur across thousands of released
    objects are then stored (and pickled) once.
    """
    key = kind_key(resource) if key is None else key
    obj = resource.obj
    interned_tree = _interned_tree if _tree is None else _tree.interned_tree  # looked up once: called per field
    identity = {sys.intern(k): interned_tree(v) for k, v in resource.metadata.items() if k in _IDENTITY}
    ignores = dict(_ignore_annotations(resource, key))
    if ignores:
        identity["annotations"] = interned_tree(ignores)
    resource.obj = {
        "apiVersion": interned_tree(obj.get("apiVersion")),
        "kind": interned_tree(obj.get("kind")),
        "metadata": identity,
    }
    resource.source = None
    _share_identity(resource)


def _shared_facts(facts: WorkloadFacts) -> WorkloadFacts:
    """The facts with their strings interned, as release_resource interns what it keeps."""
    try:
        labels = _interned(facts.labels)
    except RecursionError:
        labels = facts.labels  # a hostile nesting depth: keep them as they are
    return facts._replace(labels=labels, account=sys.intern(facts.account))


def share_strings(resource: Resource) -> None:
    """Intern the short strings of an object kept whole for the cross-resource checks.

    Its keys and most of its values ("apiVersion", "app.kubernetes.io/name", "TCP"...)
    recur across thousands of objects; interned, they are stored once per process
    (resources reach the main process as marshal data, which keeps them interned):
    the objects kept whole took 159 MB at 100k resources, 66 MB with their strings shared.
    """
    try:
        resource.obj = _interned(resource.obj, 128)
    except RecursionError:
        pass  # a hostile nesting depth: keep the object as it is
    _share_identity(resource)


def _share_identity(resource: Resource) -> None:
    """Intern the resource's identity too, read from the object before its strings were
    interned: the very strings its object now holds, so that marshal sends them once and the
    main process stores them once (sent apart, they took 23 MB at 100k resources)."""
    resource.kind, resource.api_version, resource.name, resource.namespace = (
        sys.intern(v) if type(v) is str else v
        for v in (resource.kind, resource.api_version, resource.name, resource.namespace)
    )


def _interned(value: Any, longest: int | None = None) -> Any:
    """_interned_tree, by its C port where it was built."""
    return (_interned_tree if _tree is None else _tree.interned_tree)(value, longest)


def _interned_tree(value: Any, longest: int | None = None) -> Any:
    """A copy of a tree with its strings (up to ``longest`` characters, if given) interned
    (the definition; _tree.interned_tree, its C port, runs when built)."""
    if isinstance(value, str):
        return sys.intern(value) if longest is None or len(value) <= longest else value
    if isinstance(value, dict):
        return {sys.intern(k) if isinstance(k, str) else k: _interned_tree(v, longest) for k, v in value.items()}
    if isinstance(value, list):
        return [_interned_tree(v, longest) for v in value]
    return value


_IDENTITY = ("name", "generateName", "namespace", "uid")


def _check_error(c: Check, resource: Resource, exc: Exception) -> InputError:
    return InputError(
        resource.file,
        f"{resource.ref}: check {c.id} could not evaluate it ({type(exc).__name__}); is a field of the wrong type?",
        resource.doc_index,
    )


def apply_suppressions(findings: list[Finding], config: Config, today: dt.date, checks: dict[str, Check] | None = None) -> None:
    """Mark the findings that an annotation or a configured suppression covers (``checks``:
    the checks by id, when the caller has them at hand)."""
    by_id = checks if checks is not None else {c.id: c for c in all_checks()}
    rules = config.suppressions
    ignores: dict[int, list[tuple[str, Any]]] = {}  # per resource: its findings share them
    for finding in findings:
        key = id(finding.resource)
        annotations = ignores.get(key)
        if annotations is None:
            annotations = ignores[key] = _ignore_annotations(finding.resource)
        if not annotations and not rules:
            continue  # the usual case: nothing can suppress it
        check = by_id[finding.check_id]
        annotation = _annotation_suppression(finding, check, annotations) if annotations else None
        if annotation:
            finding.suppressed = True
            finding.suppression = annotation
            continue
        for rule in rules:
            if not rule.matches(finding, check):
                continue
            if rule.expired(today):
                finding.notes += (f"suppression {rule.origin} expired on {rule.expires.isoformat()}",)
                continue
            finding.suppressed = True
            finding.suppression = f"{rule.reason} ({rule.origin})"
            break


def _annotation_suppression(finding: Finding, check: Check, annotations: list[tuple[str, Any]]) -> str | None:
    """``ignore-check.kubeward.io/<check>[.<container>]: <reason>`` on the object or pod template."""
    for key, reason in annotations:
        target, _, container = key[len(SUPPRESS_PREFIX) :].partition(".")
        if not matches(check, target) or (container and container != finding.container):
            continue
        if not isinstance(reason, str) or not reason.strip():
            finding.notes += (f"annotation {key} has no reason and is ignored",)
            continue
        return f"{reason.strip()} (annotation {key})"
    return None


def _ignore_annotations(resource: Resource, key: str | None = None) -> list[tuple[str, Any]]:
    """The ``ignore-check.kubeward.io/`` annotations of an object and its pod template."""
    found = _ignores_in(resource.metadata.get("annotations"))
    obj = resource.obj
    if "spec" in obj or len(obj) > 3:  # a released resource keeps only its identity (and its ignores)
        key = kind_key(resource) if key is None else key
        if key in POD_SPEC_PATHS:
            path = template_meta_path(key)
            if path != ("metadata",):  # Tekton and Spark: the pods' metadata is the object's own, read above
                found += _ignores_in(dig(obj, *path, "annotations"))
    return found


def _ignores_in(annotations: Any) -> list[tuple[str, Any]]:
    if not isinstance(annotations, dict):
        return []
    return [(k, v) for k, v in annotations.items() if isinstance(k, str) and k.startswith(SUPPRESS_PREFIX)]
