"""Effective RBAC permissions: who can do what, as the Kubernetes RBAC authorizer decides it.

The model resolves Roles, ClusterRoles (with ``aggregationRule``), RoleBindings and
ClusterRoleBindings into grants per subject, and answers requests with the
authorizer's own matching rules. Upstream references (kubernetes/kubernetes):

- ``pkg/apis/rbac/v1/evaluation_helpers.go``: VerbMatches, APIGroupMatches,
  ResourceMatches, ResourceNameMatches, NonResourceURLMatches;
- ``plugin/pkg/auth/authorizer/rbac/rbac.go``: RuleAllows;
- ``pkg/registry/rbac/validation/rule.go``: VisitRulesFor, GetRoleReferenceRules,
  appliesToUser (which bindings apply to a user in a namespace);
- ``pkg/controller/clusterroleaggregation/clusterroleaggregation_controller.go``:
  syncClusterRole (how aggregated ClusterRoles get their rules).

It also links ServiceAccounts to the workloads that mount their token and says
which of those workloads are reachable from outside the cluster.
"""

from __future__ import annotations

import functools
import json
import pathlib
import weakref
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..inventory import AUTOMOUNT, Inventory, dig, mapping
from ..model import Path, Resource
from ..selectors import selector_matches
from .workloads import workload_index

RBAC_GROUP = "rbac.authorization.k8s.io"
ALL = "*"  # rbacv1.VerbAll, APIGroupAll, ResourceAll, NonResourceAll
BOOTSTRAP_LABEL = "kubernetes.io/bootstrapping"  # "rbac-defaults" on the API server's own roles and bindings
ROLE_KINDS = ("Role", "ClusterRole")
BINDING_KINDS = ("RoleBinding", "ClusterRoleBinding")
RBAC_KINDS = (*ROLE_KINDS, *BINDING_KINDS)

# Groups every authenticated identity, or every service account, belongs to.
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS = "system:anonymous"
ALL_SERVICE_ACCOUNTS = "system:serviceaccounts"
SA_PREFIX = "system:serviceaccount:"
SA_GROUP_PREFIX = "system:serviceaccounts:"
BROAD_GROUPS = frozenset({AUTHENTICATED, UNAUTHENTICATED, ALL_SERVICE_ACCOUNTS})

# ---------------------------------------------------------------------------
# Built-in resources: API group and whether they are namespaced. The model never
# needs this (rules match strings); queries and the risk catalogue do, to turn
# "create deployments" into a request and to know that a RoleBinding cannot grant
# a cluster-scoped resource.

_CORE_NAMESPACED = (
    "pods bindings configmaps endpoints events limitranges persistentvolumeclaims podtemplates "
    "replicationcontrollers resourcequotas secrets serviceaccounts services"
)
_CORE_CLUSTER = "namespaces nodes persistentvolumes componentstatuses"
_GROUPS: dict[str, tuple[str, str]] = {  # group: (namespaced, cluster-scoped)
    "": (_CORE_NAMESPACED, _CORE_CLUSTER),
    "apps": ("deployments replicasets statefulsets daemonsets controllerrevisions", ""),
    "batch": ("jobs cronjobs", ""),
    "autoscaling": ("horizontalpodautoscalers", ""),
    "policy": ("poddisruptionbudgets", ""),
    "networking.k8s.io": ("networkpolicies ingresses", "ingressclasses ipaddresses servicecidrs"),
    "discovery.k8s.io": ("endpointslices", ""),
    "coordination.k8s.io": ("leases", ""),
    "events.k8s.io": ("events", ""),
    RBAC_GROUP: ("roles rolebindings", "clusterroles clusterrolebindings"),
    "certificates.k8s.io": ("", "certificatesigningrequests signers clustertrustbundles"),
    "admissionregistration.k8s.io": (
        "",
        "validatingwebhookconfigurations mutatingwebhookconfigurations validatingadmissionpolicies "
        "validatingadmissionpolicybindings",
    ),
    "apiextensions.k8s.io": ("", "customresourcedefinitions"),
    "apiregistration.k8s.io": ("", "apiservices"),
    "storage.k8s.io": ("csistoragecapacities", "storageclasses volumeattachments csidrivers csinodes"),
    "scheduling.k8s.io": ("", "priorityclasses"),
    "node.k8s.io": ("", "runtimeclasses"),
    "flowcontrol.apiserver.k8s.io": ("", "flowschemas prioritylevelconfigurations"),
    "authentication.k8s.io": ("", "tokenreviews selfsubjectreviews userextras uids"),
    "authorization.k8s.io": (
        "localsubjectaccessreviews",
        "subjectaccessreviews selfsubjectaccessreviews selfsubjectrulesreviews",
    ),
}
RESOURCE_GROUPS: dict[str, str] = {}  # resource: group (first group wins: "events" is core)
CLUSTER_SCOPED: set[tuple[str, str]] = set()  # (group, resource)
for _group, (_namespaced, _cluster) in _GROUPS.items():
    for _name in _namespaced.split():
        RESOURCE_GROUPS.setdefault(_name, _group)
    for _name in _cluster.split():
        RESOURCE_GROUPS.setdefault(_name, _group)
        CLUSTER_SCOPED.add((_group, _name))
# impersonation targets users, groups and serviceaccounts of the core group
CLUSTER_SCOPED |= {("", "users"), ("", "groups")}
RESOURCE_GROUPS.update({"users": "", "groups": ""})


def is_cluster_scoped(group: str, resource: str) -> bool:
    return (group, resource.partition("/")[0]) in CLUSTER_SCOPED


# ---------------------------------------------------------------------------
# Rules and requests


@dataclass(frozen=True, slots=True)
class Rule:
    """A PolicyRule, its lists as tuples of strings (a missing list is empty)."""

    verbs: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    def describe(self) -> str:
        """kubectl-like: "get,list secrets" / "* *.*" / "get /healthz"."""
        verbs = ",".join(self.verbs) or "(no verbs)"
        parts = []
        if self.resources:
            groups = [g or "core" for g in self.api_groups] or ["(no groups)"]
            what = ",".join(self.resources)
            parts.append(f"{what} in {'group ' if len(groups) == 1 else 'groups '}{','.join(groups)}")
        if self.resource_names:
            parts.append(f"named {','.join(self.resource_names)}")
        if self.non_resource_urls:
            parts.append(",".join(self.non_resource_urls))
        return f"{verbs} {' '.join(parts) or '(nothing)'}"


def _strings(value: Any) -> tuple[str, ...]:
    """The strings of a list; anything else in it (and a non-list) is ignored."""
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def parse_rule(raw: Any) -> Rule | None:
    """A rule from its manifest form, or None when it is not an object."""
    if not isinstance(raw, dict):
        return None
    return Rule(
        _strings(raw.get("verbs")),
        _strings(raw.get("apiGroups")),
        _strings(raw.get("resources")),
        _strings(raw.get("resourceNames")),
        _strings(raw.get("nonResourceURLs")),
    )


@dataclass(frozen=True, slots=True)
class Request:
    """An API request as the authorizer sees it (authorizer.Attributes).

    ``path`` set: a non-resource request (``/healthz``). ``namespace`` "" is a
    cluster-wide request (a cluster-scoped object, or all namespaces). ``name``
    None is kubeward's "some object": it matches a rule whatever its
    resourceNames, for "can this subject exec into some pod" questions.
    """

    verb: str
    resource: str = ""
    subresource: str = ""
    group: str = ""
    name: str | None = ""
    namespace: str = ""
    path: str | None = None

    @property
    def is_resource(self) -> bool:
        return self.path is None

    def describe(self) -> str:
        if not self.is_resource:
            return f"{self.verb} {self.path}"
        what = self.resource + (f"/{self.subresource}" if self.subresource else "")
        if self.group:
            what = f"{what} ({self.group})"
        if self.name:
            what += f" named {self.name}"
        return f"{self.verb} {what}"


def verb_matches(rule: Rule, verb: str) -> bool:
    """VerbMatches: "*" or the exact verb."""
    return ALL in rule.verbs or verb in rule.verbs


def api_group_matches(rule: Rule, group: str) -> bool:
    """APIGroupMatches: "*" or the exact group ("" is the core group)."""
    return ALL in rule.api_groups or group in rule.api_groups


def resource_matches(rule: Rule, combined: str, subresource: str) -> bool:
    """ResourceMatches: "*", the exact "resource[/subresource]", or "*/subresource".

    There is no "resource/*": a rule for "pods/*" grants the literal "pods/*" only.
    """
    for item in rule.resources:
        if item == ALL or item == combined:
            return True
        if subresource and item == "*/" + subresource:
            return True
    return False


def resource_name_matches(rule: Rule, name: str | None) -> bool:
    """ResourceNameMatches: no resourceNames allows every name; else the exact name.
    (A request without a name, like create or list, only matches a rule without resourceNames.)"""
    if not rule.resource_names or name is None:
        return True
    return name in rule.resource_names


def non_resource_url_matches(rule: Rule, path: str) -> bool:
    """NonResourceURLMatches: "*", the exact path, or a prefix ending in "*"."""
    for url in rule.non_resource_urls:
        if url == ALL or url == path:
            return True
        if url.endswith("*") and path.startswith(url.rstrip("*")):
            return True
    return False


def rule_allows(rule: Rule, request: Request) -> bool:
    """RuleAllows (plugin/pkg/auth/authorizer/rbac/rbac.go)."""
    if request.is_resource:
        combined = f"{request.resource}/{request.subresource}" if request.subresource else request.resource
        return (
            verb_matches(rule, request.verb)
            and api_group_matches(rule, request.group)
            and resource_matches(rule, combined, request.subresource)
            and resource_name_matches(rule, request.name)
        )
    return verb_matches(rule, request.verb) and non_resource_url_matches(rule, request.path or "")


def parse_request(verb: str, resource: str, *, namespace: str = "", name: str | None = "") -> Request:
    """A request from kubectl-style words: "pods", "pods/exec", "deployments.apps",
    "deployments.apps/scale", "*", or a non-resource URL "/metrics".

    A resource without a group takes its built-in group (core when unknown).
    """
    if resource.startswith("/"):
        return Request(verb, path=resource)
    base, _, subresource = resource.partition("/")
    plural, dot, group = base.partition(".")
    if not dot:
        group = RESOURCE_GROUPS.get(plural, "")
    return Request(verb, plural, subresource, group, name, namespace)


# ---------------------------------------------------------------------------
# Subjects


@dataclass(frozen=True, slots=True, order=True)
class Subject:
    """A User, Group or ServiceAccount (with its namespace)."""

    kind: str
    name: str
    namespace: str = ""

    def __str__(self) -> str:
        if self.kind == "ServiceAccount":
            return f"{SA_PREFIX}{self.namespace}:{self.name}"
        return f"{self.kind.lower()}:{self.name}"

    @property
    def username(self) -> str | None:
        """The user name the authenticator gives this subject (None for a group)."""
        if self.kind == "ServiceAccount":
            return f"{SA_PREFIX}{self.namespace}:{self.name}"
        return self.name if self.kind == "User" else None

    def groups(self) -> tuple[str, ...]:
        """The groups the authenticator always adds: the built-in groups."""
        if self.kind == "ServiceAccount":
            return (ALL_SERVICE_ACCOUNTS, SA_GROUP_PREFIX + self.namespace, AUTHENTICATED)
        if self.kind == "User":
            return (UNAUTHENTICATED,) if self.name == ANONYMOUS else (AUTHENTICATED,)
        if self.name in (AUTHENTICATED, UNAUTHENTICATED):
            return (self.name,)
        return (self.name, AUTHENTICATED)  # members of any other group are authenticated


def service_account(username: str) -> Subject | None:
    """system:serviceaccount:NS:NAME as a Subject, else None."""
    if not username.startswith(SA_PREFIX):
        return None
    namespace, sep, name = username[len(SA_PREFIX) :].partition(":")
    return Subject("ServiceAccount", name, namespace) if sep and namespace and name and ":" not in name else None


def parse_subject(text: str) -> Subject:
    """A subject from the command line.

    ``system:serviceaccount:NS:NAME``, ``sa:NS/NAME`` (or ``serviceaccount:NS/NAME``),
    ``user:NAME``, ``group:NAME``; a bare name is a user (``alice``, ``system:anonymous``).
    """
    text = text.strip()
    sa = service_account(text)
    if sa:
        return sa
    prefix, sep, rest = text.partition(":")
    kind = {"user": "User", "group": "Group", "sa": "ServiceAccount", "serviceaccount": "ServiceAccount"}.get(prefix.lower())
    if sep and kind == "ServiceAccount":
        namespace, sep2, name = rest.replace(":", "/", 1).partition("/")
        if sep2 and namespace and name:
            return Subject(kind, name, namespace)
        raise ValueError(f"service account {text!r} must be sa:NAMESPACE/NAME or system:serviceaccount:NAMESPACE:NAME")
    if sep and kind:
        if not rest:
            raise ValueError(f"subject {text!r} has no name")
        return Subject(kind, rest)
    if not text or text.startswith(SA_PREFIX):
        raise ValueError(f"cannot read subject {text!r}: use user:NAME, group:NAME or system:serviceaccount:NAMESPACE:NAME")
    return Subject("User", text)


# Platform-default subjects: the control plane's own identities. Grants to them are
# the cluster working as designed and are left out of findings (--include-system
# shows them). Never in this list: system:anonymous and the broad groups.
KUBE_SYSTEM_ACCOUNTS = frozenset(
    """attachdetach-controller bootstrap-signer certificate-controller clusterrole-aggregation-controller
    cronjob-controller daemon-set-controller deployment-controller disruption-controller endpoint-controller
    endpointslice-controller endpointslicemirroring-controller ephemeral-volume-controller expand-controller
    generic-garbage-collector horizontal-pod-autoscaler job-controller legacy-service-account-token-cleaner
    namespace-controller node-controller persistent-volume-binder pod-garbage-collector pv-protection-controller
    pvc-protection-controller replicaset-controller replication-controller resourcequota-controller
    root-ca-cert-publisher route-controller service-account-controller service-cidrs-controller service-controller
    statefulset-controller token-cleaner ttl-after-finished-controller ttl-controller
    validatingadmissionpolicy-status-controller resource-claim-controller selinux-warning-controller
    kube-proxy coredns kube-dns""".split()
)


def is_platform_subject(subject: Subject) -> bool:
    """The control plane's own identities: system:* users (not system:anonymous), system:*
    groups (not the broad built-in ones), and the kube-system controller accounts."""
    if subject.kind == "ServiceAccount":
        return subject.namespace == "kube-system" and subject.name in KUBE_SYSTEM_ACCOUNTS
    if subject.kind == "User":
        sa = service_account(subject.name)
        if sa:
            return is_platform_subject(sa)
        return subject.name.startswith("system:") and subject.name != ANONYMOUS
    if subject.name in BROAD_GROUPS or subject.name.startswith(SA_GROUP_PREFIX):
        return False
    return subject.name.startswith("system:")


# ---------------------------------------------------------------------------
# Roles, bindings and grants


@dataclass(slots=True)
class RuleSource:
    """A rule and where it is written: ``rules[index]`` of ``role`` (for an aggregated
    ClusterRole, the role it was aggregated from)."""

    rule: Rule
    role: Resource
    index: int

    @property
    def path(self) -> Path:
        return ("rules", self.index)


@dataclass(slots=True)
class Role:
    resource: Resource
    kind: str
    name: str
    namespace: str
    rules: list[RuleSource]
    selectors: list[Any] | None = None  # aggregationRule.clusterRoleSelectors, when aggregated

    @property
    def ref(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"


@dataclass(slots=True, eq=False)
class Binding:
    resource: Resource
    namespace: str | None  # None: a ClusterRoleBinding, which applies in every namespace and cluster-wide
    role_kind: str
    role_name: str
    role: Role | None
    subjects: list[tuple[int, Subject]]

    @property
    def bootstrap(self) -> bool:
        """Created by the API server itself (labelled kubernetes.io/bootstrapping: rbac-defaults)."""
        return mapping(self.resource.metadata.get("labels")).get(BOOTSTRAP_LABEL) == "rbac-defaults"

    @property
    def scope(self) -> str:
        return "cluster-wide" if self.namespace is None else f"in namespace {self.namespace}"

    @property
    def ref(self) -> str:
        return self.resource.ref


@dataclass(frozen=True, slots=True)
class Grant:
    """A binding applying to a subject: ``subjects[index]`` of ``binding`` names ``bound``
    (the subject itself, or a group it belongs to)."""

    binding: Binding
    index: int
    bound: Subject

    @property
    def path(self) -> Path:
        return ("subjects", self.index)

    def applies_in(self, namespace: str) -> bool:
        """Does it apply to a request in this namespace ("" = cluster-wide)?"""
        return self.binding.namespace is None or self.binding.namespace == namespace


@dataclass(frozen=True, slots=True)
class Note:
    """Something in the RBAC input that grants nothing, or less than it seems."""

    resource: Resource
    path: Path
    message: str


class RbacModel:
    """Roles, bindings and the grants they make, indexed by subject."""

    def __init__(self, resources: Iterable[Resource], *, defaults: bool = True):
        self.roles: dict[tuple[str, str], Role] = {}
        self.cluster_roles: dict[str, Role] = {}
        self.bindings: list[Binding] = []
        self.notes: list[Note] = []
        self.service_accounts: dict[tuple[str, str], Resource] = {}
        self._users: dict[str, list[tuple[Binding, int, Subject]]] = defaultdict(list)
        self._groups: dict[str, list[tuple[Binding, int, Subject]]] = defaultdict(list)
        self._accounts: dict[tuple[str, str], list[tuple[Binding, int, Subject]]] = defaultdict(list)
        binding_resources = []
        if defaults:  # every cluster has the bootstrap ClusterRoles; the input's own win
            for resource in bootstrap_cluster_roles():
                self._add_role(resource)
        for resource in resources:
            kind = resource.kind
            if kind in ROLE_KINDS:
                self._add_role(resource)
            elif kind in BINDING_KINDS:
                binding_resources.append(resource)
            elif kind == "ServiceAccount" and resource.name:
                self.service_accounts[(resource.namespace, resource.name)] = resource
        aggregate(self.cluster_roles, self.notes)
        for resource in binding_resources:
            self._add_binding(resource)

    @classmethod
    def of(cls, inventory: Inventory) -> RbacModel:
        """The model of an inventory, built once and shared by every check of a scan."""
        model = _MODELS.get(inventory)
        if model is None:
            model = cls(inventory.kinds(*RBAC_KINDS, "ServiceAccount"))
            _MODELS[inventory] = model
        return model

    # -- building

    def _add_role(self, resource: Resource) -> None:
        kind, name, namespace = resource.kind, resource.name, resource.namespace
        if not name:
            return
        raw_rules = resource.obj.get("rules")
        rules = []
        if raw_rules is not None and not isinstance(raw_rules, list):
            self.notes.append(Note(resource, ("rules",), f"rules must be a list, not {type(raw_rules).__name__}"))
        for i, raw in enumerate(raw_rules if isinstance(raw_rules, list) else ()):
            rule = parse_rule(raw)
            if rule is None:
                self.notes.append(Note(resource, ("rules", i), "rule is not an object and grants nothing"))
            else:
                rules.append(RuleSource(rule, resource, i))
        selectors = None
        if kind == "ClusterRole" and "aggregationRule" in resource.obj:
            agg = resource.obj.get("aggregationRule")
            if isinstance(agg, dict):
                found = agg.get("clusterRoleSelectors")
                selectors = found if isinstance(found, list) else []
            elif agg is not None:
                self.notes.append(Note(resource, ("aggregationRule",), "aggregationRule must be an object; ignored"))
        # the last definition of a name is the one applied
        role = Role(resource, kind, name, namespace if kind == "Role" else "", rules, selectors)
        if kind == "Role":
            self.roles[(namespace, name)] = role
        else:
            self.cluster_roles[name] = role

    def _add_binding(self, resource: Resource) -> None:
        cluster = resource.kind == "ClusterRoleBinding"
        namespace = None if cluster else resource.namespace
        ref = mapping(resource.obj.get("roleRef"))
        role_kind, role_name = ref.get("kind"), ref.get("name")
        role_kind = role_kind if isinstance(role_kind, str) else ""
        role_name = role_name if isinstance(role_name, str) else ""
        # GetRoleReferenceRules: a Role is looked up in the binding's namespace (a
        # ClusterRoleBinding has none, so a Role ref never resolves there)
        role = None
        if role_kind == "ClusterRole":
            role = self.cluster_roles.get(role_name)
        elif role_kind == "Role" and not cluster:
            role = self.roles.get((resource.namespace, role_name))
        if role is None:
            what = f"{role_kind or 'role'} {role_name!r}" if role_name else "its roleRef"
            where = f" in namespace {resource.namespace!r}" if role_kind == "Role" and not cluster else ""
            self.notes.append(Note(resource, ("roleRef",), f"{what}{where} is not in the input: the binding grants nothing here"))
        binding = Binding(resource, namespace, role_kind, role_name, role, [])
        raw = resource.obj.get("subjects")
        if raw is not None and not isinstance(raw, list):
            self.notes.append(Note(resource, ("subjects",), f"subjects must be a list, not {type(raw).__name__}"))
        for i, item in enumerate(raw if isinstance(raw, list) else ()):
            subject = self._subject(resource, i, item, namespace)
            if subject is None:
                continue
            binding.subjects.append((i, subject))
            entry = (binding, i, subject)
            if subject.kind == "User":
                self._users[subject.name].append(entry)
            elif subject.kind == "Group":
                self._groups[subject.name].append(entry)
            else:
                self._accounts[(subject.namespace, subject.name)].append(entry)
        self.bindings.append(binding)

    def _subject(self, resource: Resource, i: int, item: Any, namespace: str | None) -> Subject | None:
        """appliesToUser: User and Group by name, ServiceAccount by namespace (defaulting to
        the RoleBinding's) and name. Any other kind matches no one."""
        path = ("subjects", i)
        if not isinstance(item, dict):
            self.notes.append(Note(resource, path, "subject is not an object and matches no one"))
            return None
        kind, name = item.get("kind"), item.get("name")
        if kind not in ("User", "Group", "ServiceAccount") or not isinstance(name, str) or not name:
            self.notes.append(Note(resource, path, f"subject of kind {kind!r} named {name!r} matches no one"))
            return None
        if kind != "ServiceAccount":
            return Subject(kind, name)
        sa_ns = item.get("namespace")
        sa_ns = sa_ns if isinstance(sa_ns, str) and sa_ns else (namespace or "")
        if not sa_ns:
            self.notes.append(Note(resource, path, f"ServiceAccount {name!r} has no namespace and matches no one"))
            return None
        return Subject("ServiceAccount", name, sa_ns)

    # -- queries

    def grants(self, subject: Subject) -> list[Grant]:
        """Every binding that applies to the subject, directly or through its groups, in input order."""
        entries: list[tuple[Binding, int, Subject]] = []
        username = subject.username
        if subject.kind == "ServiceAccount":
            entries += self._accounts.get((subject.namespace, subject.name), ())
        if username is not None:
            entries += self._users.get(username, ())
        for group in subject.groups():
            entries += self._groups.get(group, ())
        order = {id(b): i for i, b in enumerate(self.bindings)}
        seen: set[tuple[int, int]] = set()
        out = []
        for binding, index, bound in sorted(entries, key=lambda e: (order[id(e[0])], e[1])):
            if (id(binding), index) not in seen:
                seen.add((id(binding), index))
                out.append(Grant(binding, index, bound))
        return out

    def rules_for(self, subject: Subject, namespace: str) -> Iterator[tuple[Grant, RuleSource]]:
        """VisitRulesFor: the rules that apply to the subject for a request in this namespace."""
        for grant in self.grants(subject):
            if grant.applies_in(namespace) and grant.binding.role is not None:
                for source in grant.binding.role.rules:
                    yield grant, source

    def allows(self, subject: Subject, request: Request) -> tuple[Grant, RuleSource] | None:
        """The first rule that allows the request (None: RBAC denies it)."""
        for grant, source in self.rules_for(subject, request.namespace):
            if rule_allows(source.rule, request):
                return grant, source
        return None

    def who_can(self, request: Request) -> list[tuple[Grant, RuleSource]]:
        """Every (binding subject, rule) allowing the request, the way `kubectl auth can-i
        --as` would answer for each subject bound: ClusterRoleBindings, plus the
        RoleBindings of the request's namespace."""
        out = []
        for binding in self.bindings:
            if binding.role is None or not (binding.namespace is None or binding.namespace == request.namespace):
                continue
            source = next((s for s in binding.role.rules if rule_allows(s.rule, request)), None)
            if source is None:
                continue
            for index, subject in binding.subjects:
                out.append((Grant(binding, index, subject), source))
        return out

    def members(self, group: str) -> list[Subject]:
        """The subjects of the input a built-in group covers (service accounts, and named users)."""
        accounts = set(self.service_accounts) | set(self._accounts)
        users = {name for name in self._users if not service_account(name)}
        if group == ALL_SERVICE_ACCOUNTS:
            found = [Subject("ServiceAccount", n, ns) for ns, n in accounts]
        elif group.startswith(SA_GROUP_PREFIX):
            ns = group[len(SA_GROUP_PREFIX) :]
            found = [Subject("ServiceAccount", n, s) for s, n in accounts if s == ns]
        elif group == AUTHENTICATED:
            found = [Subject("ServiceAccount", n, ns) for ns, n in accounts]
            found += [Subject("User", u) for u in users if u != ANONYMOUS]
        elif group == UNAUTHENTICATED:
            found = [Subject("User", ANONYMOUS)]
        else:
            return []
        return sorted(found)

    def subjects(self) -> list[Subject]:
        """Every subject named by a binding, and every ServiceAccount of the input."""
        found = {s for b in self.bindings for _, s in b.subjects}
        found |= {Subject("ServiceAccount", n, ns) for ns, n in self.service_accounts}
        return sorted(found)


_MODELS: weakref.WeakKeyDictionary[Inventory, RbacModel] = weakref.WeakKeyDictionary()
DEFAULTS_FILE = "<kubernetes bootstrap ClusterRoles>"


@functools.cache
def _bootstrap_data() -> tuple[dict[str, Any], ...]:
    path = pathlib.Path(__file__).with_name("data") / "bootstrap-clusterroles-1.28.json"
    return tuple(json.loads(path.read_text(encoding="utf-8"))["items"])


def bootstrap_cluster_roles() -> list[Resource]:
    """The ClusterRoles the API server creates at start (v1.28): cluster-admin, admin,
    edit, view and the system:* roles, as Resources (fresh objects: aggregation rewrites rules)."""
    out = []
    for i, item in enumerate(_bootstrap_data()):
        obj: dict[str, Any] = {
            "apiVersion": f"{RBAC_GROUP}/v1",
            "kind": "ClusterRole",
            "metadata": {"name": item["name"], "labels": dict(item["labels"])},
            "rules": item["rules"],
        }
        if "aggregationRule" in item:
            obj["aggregationRule"] = item["aggregationRule"]
        out.append(Resource(obj, DEFAULTS_FILE, i))
    return out


def aggregate(cluster_roles: dict[str, Role], notes: list[Note] | None = None) -> None:
    """Fill the rules of every ClusterRole with an aggregationRule, as the
    clusterrole-aggregation-controller does (syncClusterRole): for each selector in
    order, the matching ClusterRoles sorted by name (itself excepted), their rules
    appended unless an equal rule is already there.

    The controller *overwrites* the rules of an aggregated role, so whatever rules its
    manifest holds are replaced. Aggregated roles can select each other (admin
    aggregates edit, which aggregates view); the controller converges by
    re-syncing, and so do we: repeat until nothing changes (the least fixpoint).
    """
    aggregated = sorted((r for r in cluster_roles.values() if r.selectors is not None), key=lambda r: r.name)
    if not aggregated:
        return
    for role in aggregated:
        role.rules = []
    by_name = sorted(cluster_roles.values(), key=lambda r: r.name)
    for _ in range(len(aggregated) + 2):
        changed = False
        for role in aggregated:
            new = _aggregated_rules(role, by_name)
            if [s.rule for s in new] != [s.rule for s in role.rules]:
                role.rules, changed = new, True
        if not changed:
            return
    if notes is not None:  # only rules that grow without end could get here; cannot happen with finite input
        notes.append(Note(aggregated[0].resource, ("aggregationRule",), "aggregation did not converge"))


def _aggregated_rules(role: Role, by_name: list[Role]) -> list[RuleSource]:
    rules: list[RuleSource] = []
    seen: set[Rule] = set()
    for selector in role.selectors or ():
        if not isinstance(selector, dict):
            continue
        for other in by_name:
            if other.name == role.name or not selector_matches(selector, mapping(other.resource.metadata.get("labels"))):
                continue
            for source in other.rules:
                if source.rule not in seen:
                    seen.add(source.rule)
                    rules.append(source)
    return rules


# ---------------------------------------------------------------------------
# Who runs with it: workloads that mount a ServiceAccount's token, and their exposure



@dataclass(slots=True)
class Usage:
    """A workload running as a ServiceAccount."""

    workload: Resource
    mounted: bool  # the token is mounted (pod setting, else the ServiceAccount's, else true)
    exposure: tuple[str, ...] = ()  # why it is reachable from outside the cluster, if it is

    @property
    def exposed(self) -> bool:
        return bool(self.exposure)


def automount(own: Any, account: Resource | None) -> bool:
    """The pod's automountServiceAccountToken (``own``) overrides the ServiceAccount's; default true."""
    if isinstance(own, bool):
        return own
    theirs = account.obj.get(AUTOMOUNT) if account is not None else None
    return theirs if isinstance(theirs, bool) else True


def ingress_backends(ingress: Resource) -> Iterator[str]:
    """The Service names an Ingress routes to (networking/v1 and extensions/v1beta1)."""
    spec = mapping(ingress.obj.get("spec"))
    backends = [spec.get("defaultBackend"), spec.get("backend")]
    rules = spec.get("rules")
    for rule in rules if isinstance(rules, list) else ():
        paths = dig(rule, "http", "paths")
        for item in paths if isinstance(paths, list) else ():
            backends.append(dig(item, "backend"))
    for backend in backends:
        for key in (("service", "name"), ("serviceName",)):
            name = dig(backend, *key)
            if isinstance(name, str) and name:
                yield name


def exposing_services(inventory: Inventory) -> dict[str, list[tuple[Resource, str]]]:
    """Services that take traffic from outside the cluster, by namespace, with why:
    type LoadBalancer or NodePort, or a backend of an Ingress."""
    routed: dict[tuple[str, str], list[str]] = defaultdict(list)
    for ingress in inventory.kinds("Ingress"):
        for name in ingress_backends(ingress):
            routed[(ingress.namespace, name)].append(ingress.name)
    found: dict[str, list[tuple[Resource, str]]] = defaultdict(list)
    for service in inventory.kinds("Service"):
        kind = dig(service.obj, "spec", "type")
        reasons = []
        if kind in ("LoadBalancer", "NodePort"):
            reasons.append(f"Service {service.name} ({kind})")
        for ingress in dict.fromkeys(routed.get((service.namespace, service.name), ())):
            reasons.append(f"Ingress {ingress} via Service {service.name}")
        for reason in reasons:
            found[service.namespace].append((service, reason))
    return found


def service_account_usage(inventory: Inventory, model: RbacModel | None = None) -> dict[tuple[str, str], list[Usage]]:
    """(namespace, ServiceAccount) -> the workloads running as it."""
    model = model or RbacModel.of(inventory)
    index = workload_index(inventory)
    exposure: dict[int, list[str]] = defaultdict(list)  # from each exposing Service to what it selects: no pairwise pass
    for namespace, services in exposing_services(inventory).items():
        for service, reason in services:
            for workload in index.service_selected(namespace, dig(service.obj, "spec", "selector")):
                exposure[id(workload)].append(reason)
    usage: dict[tuple[str, str], list[Usage]] = defaultdict(list)
    for workload, facts in inventory.workload_facts():
        key = (workload.namespace, facts.account)
        mounted = automount(facts.automount, model.service_accounts.get(key))
        usage[key].append(Usage(workload, mounted, tuple(exposure.get(id(workload), ()))))
    return usage
