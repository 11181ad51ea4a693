"""Least privilege from use: the minimal Role/ClusterRole (+ binding) that covers what a
subject actually did according to the audit log, and, given its current RBAC (manifests
or a cluster snapshot), the permissions it holds but never used, risky ones first.

What counts as use: every request by the subject (its own identity, or impersonated as
it) that got past authorization -- any status but 401 and 403, so a 404 on get counts.
Requests every authenticated identity may make (discovery, /version, self subject
reviews; the system:discovery, system:basic-user and system:public-info-viewer
bootstrap roles) are left out. Name-bearing verbs (get, update, patch, delete) keep
their ``resourceNames`` when at most ``max_names`` distinct names were used; verbs
without a name (list, watch, create, deletecollection) never carry resourceNames,
as RBAC would not match them otherwise.

RBAC semantics come from analysis/rbac.py (RbacModel, rule_allows) and the risk
labels from analysis/rbacrisk.py: nothing about RBAC matching is reimplemented here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..analysis.rbac import RBAC_GROUP, RbacModel, Request, Rule, Subject, rule_allows
from ..analysis.rbacrisk import RISKS
from ..model import Resource

NAMED_VERBS = frozenset({"get", "update", "patch", "delete"})
EVERYONE_PATHS = ("/api", "/api/", "/apis", "/apis/", "/version", "/version/", "/openapi", "/healthz", "/livez", "/readyz")
EVERYONE_PREFIXES = ("/api/", "/apis/", "/openapi/", "/healthz/", "/livez/", "/readyz/")
EVERYONE_RESOURCES = frozenset({"selfsubjectaccessreviews", "selfsubjectrulesreviews", "selfsubjectreviews"})


def subject_username(subject: Subject) -> str:
    return subject.username or subject.name


@dataclass(slots=True)
class Usage:
    """What one subject did: (namespace, group, resource[/sub]) -> verb -> names; paths -> verbs."""

    subject: Subject
    resources: dict[tuple[str, str, str], dict[str, set[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set))
    )
    paths: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    requests: list[Request] = field(default_factory=list)
    events: int = 0


def observe(events: Iterable[dict], subject: Subject) -> Usage:
    who = subject_username(subject)
    usage = Usage(subject)
    seen: set[str] = set()
    for ev in events:
        if ev["stage"] == "RequestReceived":
            continue
        imp = ev.get("impersonatedUser")
        user = imp.get("username", "") if isinstance(imp, dict) else ev["user"].get("username", "")
        if user != who:
            continue
        status = ev.get("responseStatus")
        code = status.get("code", 0) if status else 0
        if code in (401, 403) or ev["auditID"] in seen:
            continue
        seen.add(ev["auditID"])
        verb = ev["verb"]
        ref = ev.get("objectRef")
        if ref is None or not ref.get("resource"):
            path = ev.get("requestURI", "").partition("?")[0]
            if path in EVERYONE_PATHS or path.startswith(EVERYONE_PREFIXES):
                continue
            usage.paths[path].add(verb)
            usage.requests.append(Request(verb, path=path))
            usage.events += 1
            continue
        resource = ref["resource"]
        if resource in EVERYONE_RESOURCES:
            continue
        sub = ref.get("subresource", "")
        combined = f"{resource}/{sub}" if sub else resource
        ns, name, group = ref.get("namespace", ""), ref.get("name", ""), ref.get("apiGroup", "")
        # namespaces are cluster-scoped (a ClusterRole), though the authorizer sees a namespace's
        # own name as the request's namespace, as objectRef does
        usage.resources[("" if resource == "namespaces" else ns, group, combined)][verb].add(name if verb in NAMED_VERBS else "")
        usage.requests.append(Request(verb, resource, sub, group, name or "", ns))
        usage.events += 1
    return usage


def _rules(entries: dict[tuple[str, str], dict[str, set[str]]], max_names: int) -> list[dict[str, Any]]:
    """PolicyRules for one role: (group, resource) -> verb -> names, merged where verbs coincide."""
    rules: dict[tuple, dict[str, Any]] = {}
    for (group, resource), verbs in sorted(entries.items()):
        named = {v: n for v, n in verbs.items() if v in NAMED_VERBS}
        unnamed = sorted(v for v in verbs if v not in NAMED_VERBS)
        names = sorted({x for n in named.values() for x in n if x})
        parts: list[tuple[list[str], list[str]]] = []
        if named and names and len(names) <= max_names and all(all(named[v]) for v in named):
            parts.append((sorted(named), names))
            if unnamed:
                parts.append((unnamed, []))
        else:
            parts.append((sorted(set(named) | set(unnamed)), []))
        for verb_list, rnames in parts:
            key = (group, tuple(verb_list), tuple(rnames))
            rule = rules.setdefault(key, {"apiGroups": [group], "resources": [], "verbs": verb_list})
            if rnames:
                rule["resourceNames"] = rnames
            rule["resources"].append(resource)
    return list(rules.values())


def minimal_rbac(usage: Usage, name: str | None = None, max_names: int = 5) -> list[dict[str, Any]]:
    """Role + RoleBinding per namespace used, and a ClusterRole + ClusterRoleBinding for
    cluster-scoped resources, all-namespace requests and non-resource URLs."""
    subject = usage.subject
    base = name or f"{subject.name}-least-privilege"
    ref = _subject_ref(subject)
    by_ns: dict[str, dict[tuple[str, str], dict[str, set[str]]]] = defaultdict(dict)
    for (ns, group, resource), verbs in usage.resources.items():
        by_ns[ns][(group, resource)] = verbs
    docs: list[dict[str, Any]] = []
    for ns in sorted(n for n in by_ns if n):
        meta = {"name": base, "namespace": ns, "labels": {"app.kubernetes.io/managed-by": "kubeward-audit-rbac"}}
        docs.append({"apiVersion": f"{RBAC_GROUP}/v1", "kind": "Role", "metadata": meta, "rules": _rules(by_ns[ns], max_names)})
        docs.append({"apiVersion": f"{RBAC_GROUP}/v1", "kind": "RoleBinding", "metadata": dict(meta),
                     "roleRef": {"apiGroup": RBAC_GROUP, "kind": "Role", "name": base}, "subjects": [ref]})  # fmt: skip
    cluster_rules = _rules(by_ns.get("", {}), max_names)
    for path, verbs in sorted(usage.paths.items()):
        cluster_rules.append({"nonResourceURLs": [path], "verbs": sorted(verbs)})
    if cluster_rules:
        meta = {"name": base, "labels": {"app.kubernetes.io/managed-by": "kubeward-audit-rbac"}}
        docs.append({"apiVersion": f"{RBAC_GROUP}/v1", "kind": "ClusterRole", "metadata": meta, "rules": cluster_rules})
        docs.append({"apiVersion": f"{RBAC_GROUP}/v1", "kind": "ClusterRoleBinding", "metadata": dict(meta),
                     "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": base}, "subjects": [ref]})  # fmt: skip
    return docs


def _subject_ref(subject: Subject) -> dict[str, str]:
    if subject.kind == "ServiceAccount":
        return {"kind": "ServiceAccount", "name": subject.name, "namespace": subject.namespace}
    return {"apiGroup": RBAC_GROUP, "kind": subject.kind, "name": subject.name}


# -- granted but unused ------------------------------------------------------------------------------


@dataclass(slots=True)
class Unused:
    binding: str  # "ClusterRoleBinding x" / "RoleBinding ns/x"
    role: str
    rule: Rule
    scope: str  # where the grant applies
    risks: list[str]
    used: int  # observed requests this rule allowed (0: entirely unused)

    def to_dict(self) -> dict[str, Any]:
        return {"binding": self.binding, "role": self.role, "rule": self.rule.describe(), "scope": self.scope,
                "risks": self.risks, "usedBy": self.used}  # fmt: skip


def unused_permissions(usage: Usage, resources: list[Resource]) -> list[Unused]:
    """Every rule granted to the subject that no observed request needed, risky ones first.
    (A rule some request used is left out: narrowing it further is the generated role's job.)"""
    model = RbacModel(resources)
    out = []
    for grant in model.grants(usage.subject):
        role = grant.binding.role
        if role is None:
            continue
        for source in role.rules:
            used = sum(1 for req in usage.requests if grant.applies_in(req.namespace) and rule_allows(source.rule, req))
            if used:
                continue
            risks = [risk.label for risk in RISKS if any(rule_allows(source.rule, r) for r in risk.any_of)]
            out.append(Unused(grant.binding.ref, role.ref, source.rule, grant.binding.scope, risks, used))
    order = {risk.label: i for i, risk in enumerate(RISKS)}
    out.sort(key=lambda u: (not u.risks, min((order[r] for r in u.risks), default=99), u.binding, u.rule.describe()))
    return out
