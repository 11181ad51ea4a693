"""Audit policies (audit.k8s.io/v1 Policy): the recommended one, and a checker.

Rule matching is the API server's own, first match wins, no match = level None
(k8s.io/apiserver/pkg/audit/policy/checker.go: ruleMatches, ruleMatchesResource,
ruleMatchesNonResource, pathMatches). Note the upstream details reproduced here:
``resources: ["pods/*"]`` matches ``pods`` itself as well as every subresource;
``"*/scale"`` matches any resource's scale subresource; a rule with namespaces or
resources never matches a non-resource request (and its nonResourceURLs are then
ignored); cluster-scoped requests have namespace "".

The checker asks the policy what it would log for the requests that matter
(secret and token bodies, RBAC and webhook changes, exec/attach/port-forward,
nodes/proxy), probing with the users, groups, namespaces and names the policy
itself mentions plus typical ones, and finds rules that an earlier rule always
matches first (shadowed: they never apply).

Public API (used by other components): ``load_policy_file(path) -> dict``,
``check_policy(policy) -> list[PolicyIssue]``, ``level_for(policy, request)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model import Severity
from ..sources.yamlparse import YamlError, load_document

LEVELS = ("None", "Metadata", "Request", "RequestResponse")
STAGES = ("RequestReceived", "ResponseStarted", "ResponseComplete", "Panic")


class PolicyError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class AuditRequest:
    """The authorizer attributes the policy checker sees."""

    verb: str
    user: str = "alice@example.com"
    groups: tuple[str, ...] = ("system:authenticated",)
    resource: str = ""
    subresource: str = ""
    group: str = ""
    namespace: str = ""
    name: str = ""
    path: str | None = None  # a non-resource request

    def describe(self) -> str:
        if self.path is not None:
            return f"{self.verb} {self.path} by {self.user}"
        what = self.resource + (f"/{self.subresource}" if self.subresource else "")
        if self.group:
            what += f" ({self.group})"
        where = f" in {self.namespace}" if self.namespace else ""
        return f"{self.verb} {what}{where} by {self.user}"


@dataclass(frozen=True, slots=True)
class PolicyIssue:
    id: str
    severity: Severity
    message: str
    rule: int | None = None  # index in rules
    example: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "severity": str(self.severity),
            "message": self.message,
            "rule": self.rule,
            "example": self.example,
        }


# -- loading ---------------------------------------------------------------------------------------


def load_policy_file(path: str | Path) -> dict:
    """The policy document of a file (YAML or JSON), checked to be an audit.k8s.io Policy."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = load_document(text)
    except YamlError as exc:
        raise PolicyError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: not an audit policy (expected a mapping)")
    if data.get("kind") != "Policy" or not str(data.get("apiVersion", "")).startswith("audit.k8s.io/"):
        raise PolicyError(f"{path}: not an audit policy (kind {data.get('kind')!r}, apiVersion {data.get('apiVersion')!r})")
    return data


# -- matching (checker.go) ----------------------------------------------------------------------------------


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _path_matches(path: str, spec: str) -> bool:
    return spec == "*" or spec == path or (spec.endswith("*") and path.startswith(spec.rstrip("*")))


def rule_matches(rule: dict, req: AuditRequest) -> bool:
    users = _strings(rule.get("users"))
    if users and req.user not in users:
        return False
    groups = _strings(rule.get("userGroups"))
    if groups and not any(g in groups for g in req.groups):
        return False
    verbs = _strings(rule.get("verbs"))
    if verbs and req.verb not in verbs:
        return False
    namespaces = _strings(rule.get("namespaces"))
    resources = rule.get("resources") if isinstance(rule.get("resources"), list) else []
    if namespaces or resources:
        return _matches_resource(namespaces, resources, req)
    urls = _strings(rule.get("nonResourceURLs"))
    if urls:
        return req.path is not None and any(_path_matches(req.path, spec) for spec in urls)
    return True


def _matches_resource(namespaces: list[str], resources: list, req: AuditRequest) -> bool:
    if req.path is not None:
        return False
    if namespaces and req.namespace not in namespaces:
        return False
    if not resources:
        return True
    combined = f"{req.resource}/{req.subresource}" if req.subresource else req.resource
    for gr in resources:
        if not isinstance(gr, dict) or gr.get("group", "") != req.group:
            continue
        names = _strings(gr.get("resources"))
        if not names:
            return True
        resource_names = _strings(gr.get("resourceNames"))
        if resource_names and req.name not in resource_names:
            continue
        for res in names:
            if res == combined or res == "*":
                return True
            if req.subresource and res.startswith("*/") and req.subresource == res[2:]:
                return True
            if res.endswith("/*") and req.resource == res[:-2]:
                return True
    return False


def level_for(policy: dict, req: AuditRequest) -> tuple[str, frozenset[str], int | None]:
    """(level, omitted stages, index of the matching rule) for a request: LevelAndStages."""
    base = frozenset(_strings(policy.get("omitStages")))
    for i, rule in enumerate(_rules(policy)):
        if isinstance(rule, dict) and rule_matches(rule, req):
            level = rule.get("level") if rule.get("level") in LEVELS else "None"
            return level, base | frozenset(_strings(rule.get("omitStages"))), i
    return "None", base, None


def _rules(policy: dict) -> list:
    rules = policy.get("rules")
    return rules if isinstance(rules, list) else []


def _logged(level: str, omitted: frozenset[str]) -> bool:
    return level != "None" and not {"RequestReceived", "ResponseStarted", "ResponseComplete"} <= omitted


# -- the checks ----------------------------------------------------------------------------------------------

WRITES = ("create", "update", "patch", "delete", "deletecollection")
RBAC = ("roles", "rolebindings", "clusterroles", "clusterrolebindings")
WEBHOOKS = ("validatingwebhookconfigurations", "mutatingwebhookconfigurations")


@dataclass(slots=True)
class _Probe:
    users: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)


def _vocabulary(policy: dict) -> _Probe:
    """Identities, namespaces and names to probe with: typical ones plus every one the policy names."""
    probe = _Probe(
        users=[
            ("alice@example.com", ("system:authenticated",)),
            (
                "system:serviceaccount:default:app",
                ("system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"),
            ),
            ("system:kube-controller-manager", ("system:authenticated",)),
            ("system:node:node-1", ("system:nodes", "system:authenticated")),
            ("system:anonymous", ("system:unauthenticated",)),
        ],
        namespaces=["default", "kube-system"],
        names=["some-name"],
    )
    for rule in _rules(policy):
        if not isinstance(rule, dict):
            continue
        for user in _strings(rule.get("users")):
            probe.users.append((user, ("system:authenticated",)))
        for group in _strings(rule.get("userGroups")):
            probe.users.append((f"member-of-{group}", (group, "system:authenticated")))
        probe.namespaces += [n for n in _strings(rule.get("namespaces")) if n and n not in probe.namespaces]
        for gr in rule.get("resources") if isinstance(rule.get("resources"), list) else []:
            if isinstance(gr, dict):
                probe.names += [n for n in _strings(gr.get("resourceNames")) if n not in probe.names]
    return probe


def _requests(probe: _Probe, verbs, group: str, resource: str, subresource: str = "", *, cluster: bool = False):
    for user, groups in probe.users:
        for verb in verbs:
            for ns in [""] if cluster else probe.namespaces:
                for name in probe.names:
                    yield AuditRequest(verb, user, groups, resource, subresource, group, ns, name)


def _first(policy: dict, requests, bad) -> tuple[AuditRequest, str, int | None] | None:
    for req in requests:
        level, omitted, index = level_for(policy, req)
        if bad(level, omitted):
            return req, level, index
    return None


def _rule_text(index: int | None) -> str:
    return f"rules[{index}]" if index is not None else "no rule (default None)"


def _bodies(level: str, omitted: frozenset[str]) -> bool:
    return level in ("Request", "RequestResponse") and _logged(level, omitted)


def check_policy(policy: dict) -> list[PolicyIssue]:
    """Problems of an audit policy, most severe first."""
    issues: list[PolicyIssue] = []
    if not isinstance(policy, dict):
        return [PolicyIssue("KW-AP000", Severity.HIGH, "the policy is not a mapping")]
    rules = policy.get("rules")
    if not isinstance(rules, list) or not rules:
        issues.append(PolicyIssue("KW-AP000", Severity.HIGH, "the policy has no rules: nothing is logged"))
    for i, rule in enumerate(_rules(policy)):
        if not isinstance(rule, dict):
            issues.append(PolicyIssue("KW-AP000", Severity.MEDIUM, f"rules[{i}] is not a mapping: ignored here", i))
        elif rule.get("level") not in LEVELS:
            issues.append(
                PolicyIssue(
                    "KW-AP000", Severity.MEDIUM, f"rules[{i}]: level {rule.get('level')!r} is not one of {', '.join(LEVELS)}", i
                )
            )
    probe = _vocabulary(policy)
    not_logged = lambda level, omitted: not _logged(level, omitted)  # noqa: E731

    for resource, sub, group, sev, what in (
        ("secrets", "", "", Severity.HIGH, "Secret values"),
        ("serviceaccounts", "token", "", Severity.HIGH, "service account tokens (TokenRequest responses)"),
        ("tokenreviews", "", "authentication.k8s.io", Severity.HIGH, "bearer tokens (TokenReview requests)"),
        ("configmaps", "", "", Severity.MEDIUM, "ConfigMap contents (often credentials)"),
    ):
        cluster = resource == "tokenreviews"
        verbs = ("create",) if sub or cluster else ("get", "list", "watch", "create", "update", "patch")
        hit = _first(policy, _requests(probe, verbs, group, resource, sub, cluster=cluster), _bodies)
        if hit:
            req, level, index = hit
            issues.append(PolicyIssue("KW-AP001", sev, f"{what} are logged: {_rule_text(index)} logs {resource}"
                                      f"{'/' + sub if sub else ''} at {level}; use Metadata", index, req.describe()))  # fmt: skip

    for resources, group, sev, what in (
        (RBAC, "rbac.authorization.k8s.io", Severity.HIGH, "RBAC changes"),
        (WEBHOOKS, "admissionregistration.k8s.io", Severity.HIGH, "admission webhook changes"),
        (("certificatesigningrequests",), "certificates.k8s.io", Severity.MEDIUM, "certificate signing requests"),
    ):
        for resource in resources:
            cluster = resource.startswith("cluster") or group != "rbac.authorization.k8s.io"
            hit = _first(policy, _requests(probe, WRITES, group, resource, cluster=cluster), not_logged)
            if hit:
                req, level, index = hit
                issues.append(PolicyIssue("KW-AP002", sev, f"{what} are missed: {_rule_text(index)} gives {req.verb} "
                                          f"{resource} level {level}", index, req.describe()))  # fmt: skip
                break

    for resource, sub, verbs, what in (
        ("pods", "exec", ("create", "get"), "exec into pods"),
        ("pods", "attach", ("create", "get"), "attach to pods"),
        ("pods", "portforward", ("create", "get"), "port-forward to pods"),
        ("pods", "ephemeralcontainers", ("update", "patch"), "ephemeral containers"),
        ("nodes", "proxy", ("get", "create"), "nodes/proxy (the kubelet API)"),
    ):
        hit = _first(policy, _requests(probe, verbs, "", resource, sub, cluster=resource == "nodes"), not_logged)
        if hit:
            req, level, index = hit
            issues.append(PolicyIssue("KW-AP003", Severity.HIGH, f"{what} is not logged: {_rule_text(index)} gives "
                                      f"{req.verb} {resource}/{sub} level {level}", index, req.describe()))  # fmt: skip

    for j, earlier in shadowed_rules(policy):
        issues.append(PolicyIssue("KW-AP004", Severity.MEDIUM, f"rules[{j}] never applies: rules[{earlier}] matches every "
                                  f"request it matches, first (rules are first-match)", j))  # fmt: skip

    if "RequestReceived" not in _strings(policy.get("omitStages")):
        issues.append(PolicyIssue("KW-AP005", Severity.LOW, "omitStages lacks RequestReceived: every request is logged twice"))
    issues.sort(key=lambda i: (-i.severity, i.id, i.rule if i.rule is not None else -1))
    return issues


# -- shadowing: does rule A match every request rule B matches? ----------------------------------------------


def _subset(inner: list[str], outer: list[str]) -> bool:
    """A constraint list ``outer`` (empty = anything) admits everything ``inner`` admits."""
    return not outer or (bool(inner) and set(inner) <= set(outer))


def _res_covered(res: str, outer: list[str]) -> bool:
    """Every (resource, subresource) the policy string ``res`` matches is matched by one of ``outer``."""
    base, _, sub = res.partition("/")
    for o in outer:
        if o == "*" or o == res:
            return True
        if o.endswith("/*") and base == o[:-2] and base != "*":  # "pods/*" covers pods, pods/exec, "pods/*"
            return True
        if o.startswith("*/") and sub and sub == o[2:] and sub != "*":
            return True
    return False


def _group_resources_covered(inner: list, outer: list) -> bool:
    if not outer:
        return True
    if not inner:
        return False
    for gr in inner:
        if not isinstance(gr, dict):
            continue
        names = _strings(gr.get("resources"))
        rnames = _strings(gr.get("resourceNames"))
        ok = False
        for o in outer:
            if not isinstance(o, dict) or o.get("group", "") != gr.get("group", ""):
                continue
            onames = _strings(o.get("resources"))
            if not onames:
                ok = True
                break
            if not names:
                continue
            if not _subset(rnames, _strings(o.get("resourceNames"))):
                continue
            if all(_res_covered(n, onames) for n in names):
                ok = True
                break
        if not ok:
            return False
    return True


def covers(a: dict, b: dict) -> bool:
    """Rule ``a`` matches every request rule ``b`` matches (a sufficient, structural test)."""
    if not (
        _subset(_strings(b.get("users")), _strings(a.get("users")))
        and _subset(_strings(b.get("userGroups")), _strings(a.get("userGroups")))
    ):
        return False
    if not _subset(_strings(b.get("verbs")), _strings(a.get("verbs"))):
        return False
    a_ns, b_ns = _strings(a.get("namespaces")), _strings(b.get("namespaces"))
    a_res = a.get("resources") if isinstance(a.get("resources"), list) else []
    b_res = b.get("resources") if isinstance(b.get("resources"), list) else []
    a_urls, b_urls = _strings(a.get("nonResourceURLs")), _strings(b.get("nonResourceURLs"))
    if a_ns or a_res:  # a matches resource requests only
        if not (b_ns or b_res):
            return False
        return _subset(b_ns, a_ns) and _group_resources_covered(b_res, a_res)
    if a_urls:  # a matches non-resource requests only
        if b_ns or b_res or not b_urls:
            return False
        return all(any(_url_covered(u, o) for o in a_urls) for u in b_urls)
    return True


def _url_covered(spec: str, outer: str) -> bool:
    if outer == "*" or outer == spec:
        return True
    return outer.endswith("*") and spec.rstrip("*").startswith(outer.rstrip("*")) and spec != "*"


def shadowed_rules(policy: dict) -> list[tuple[int, int]]:
    """(rule, the earlier rule that shadows it) for every rule that can never apply."""
    rules = _rules(policy)
    out = []
    for j, b in enumerate(rules):
        if not isinstance(b, dict):
            continue
        for i in range(j):
            a = rules[i]
            if isinstance(a, dict) and covers(a, b):
                out.append((j, i))
                break
    return out


# -- the recommended policy ------------------------------------------------------------------------------------

RECOMMENDED = """\
# kubeward's recommended audit policy (kubeward audit policy generate).
# Rules are first-match: order matters. Check changes with: kubeward audit policy check FILE
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]   # every request is still logged once, at ResponseComplete/ResponseStarted
rules:
  # -- noise: health checks and high-volume read-only system traffic ----------------------------
  - level: None
    nonResourceURLs: ["/healthz*", "/livez*", "/readyz*", "/metrics"]
  - level: None
    users: ["system:kube-proxy"]
    verbs: ["watch"]
    resources:
      - group: ""
        resources: ["endpoints", "services", "services/status"]
      - group: "discovery.k8s.io"
        resources: ["endpointslices"]
  - level: None
    userGroups: ["system:nodes"]
    verbs: ["get"]
    resources:
      - group: ""
        resources: ["nodes", "nodes/status"]
  - level: None
    verbs: ["get", "list", "watch"]
    resources:
      - group: ""
        resources: ["events"]
      - group: "events.k8s.io"
        resources: ["events"]
  - level: None
    userGroups: ["system:nodes", "system:serviceaccounts:kube-system"]
    resources:
      - group: "coordination.k8s.io"
        resources: ["leases"]
  # -- credentials: metadata only, so values and tokens never reach the log -------------------------
  - level: Metadata
    resources:
      - group: ""
        resources: ["secrets", "configmaps", "serviceaccounts/token"]
      - group: "authentication.k8s.io"
        resources: ["tokenreviews"]
  # -- interactive access: the URI carries the command; streams are not bodies ---------------------
  - level: Metadata
    resources:
      - group: ""
        resources: ["pods/exec", "pods/attach", "pods/portforward", "pods/proxy", "nodes/proxy", "services/proxy"]
  # -- privilege changes: full request and response ----------------------------------------------------
  - level: RequestResponse
    verbs: ["create", "update", "patch", "delete", "deletecollection"]
    resources:
      - group: "rbac.authorization.k8s.io"
        resources: ["roles", "rolebindings", "clusterroles", "clusterrolebindings"]
      - group: "admissionregistration.k8s.io"
        resources: ["validatingwebhookconfigurations", "mutatingwebhookconfigurations",
                    "validatingadmissionpolicies", "validatingadmissionpolicybindings"]
      - group: "certificates.k8s.io"
        resources: ["certificatesigningrequests", "certificatesigningrequests/approval"]
  # -- reads elsewhere: who read what, not the data ----------------------------------------------------
  - level: Metadata
    verbs: ["get", "list", "watch"]
  # -- every other write: the request body (pod specs, namespace labels, ephemeral containers) ------
  - level: Request
    verbs: ["create", "update", "patch", "delete", "deletecollection"]
  # -- the rest (impersonation attempts, discovery, self-subject reviews): metadata -------------------
  - level: Metadata
"""


def recommended_policy() -> str:
    return RECOMMENDED
