"""Risky RBAC permissions, who runs with them, and privilege-escalation paths.

Built on :mod:`kubeward.analysis.rbac`. One pass over every (binding, subject)
evaluates every rule of the bound role against the catalogue below; the checks
in :mod:`kubeward.checks.rbac` and the ``kubeward rbac`` commands read the result.
"""

from __future__ import annotations

import weakref
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..inventory import Inventory, dig
from ..model import Severity
from .rbac import (
    ALL,
    ALL_SERVICE_ACCOUNTS,
    ANONYMOUS,
    AUTHENTICATED,
    RBAC_GROUP,
    SA_GROUP_PREFIX,
    UNAUTHENTICATED,
    Binding,
    Grant,
    RbacModel,
    Request,
    RuleSource,
    Subject,
    Usage,
    is_cluster_scoped,
    is_platform_subject,
    rule_allows,
    service_account,
    service_account_usage,
)

CERTS = "certificates.k8s.io"
WEBHOOKS = "admissionregistration.k8s.io"
WRITE = ("create", "update", "patch")
POD_CONTROLLERS = (
    ("", "pods"),
    ("", "replicationcontrollers"),
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
)


def _req(verb: str, group: str, resource: str, name: str | None = None) -> Request:
    plural, _, sub = resource.partition("/")
    # create and list carry no object name: a rule limited by resourceNames does not grant them
    return Request(verb, plural, sub, group, "" if verb in ("create", "list", "watch", "deletecollection") else name)


@dataclass(frozen=True)
class Risk:
    """A permission worth reporting: the binding grants one of ``any_of``; for a
    compound risk the subject must also hold one request of every ``also`` group
    (from any of its bindings in the same scope)."""

    check_id: str
    label: str
    any_of: tuple[Request, ...]
    also: tuple[tuple[Request, ...], ...] = ()
    bindings: str = "any"  # "cluster": ClusterRoleBindings only; "namespaced": RoleBindings only
    namespaces: frozenset[str] | None = None  # only grants that reach these namespaces
    subsumes: bool = False  # reported alone: the binding's other risks follow from it


def _each(verbs: tuple[str, ...], group: str, resources: tuple[str, ...]) -> tuple[Request, ...]:
    return tuple(_req(v, group, r) for r in resources for v in verbs)


WILDCARD = Request(ALL, ALL, "", ALL, "")
KUBE_SYSTEM = frozenset({"kube-system"})

RISKS: tuple[Risk, ...] = (
    Risk(
        "KW-R001", "do anything (every verb on every resource, as cluster-admin)", (WILDCARD,), bindings="cluster", subsumes=True
    ),
    Risk("KW-R003", "read secrets", _each(("get", "list", "watch"), "", ("secrets",))),
    Risk(
        "KW-R004",
        "create pods or pod controllers",
        tuple(_req("create", g, r) for g, r in POD_CONTROLLERS),
    ),
    Risk(
        "KW-R005",
        "exec, attach, port-forward or add ephemeral containers to pods",
        # websocket connections were authorized as get until KEP-4006 (1.30+) required create
        _each(("create", "get"), "", ("pods/exec", "pods/attach", "pods/portforward"))
        + _each(("update", "patch"), "", ("pods/ephemeralcontainers",)),
    ),
    Risk("KW-R006", "escalate or bind roles", _each(("escalate", "bind"), RBAC_GROUP, ("clusterroles", "roles"))),
    Risk(
        "KW-R007",
        "impersonate users or groups",
        _each(("impersonate",), "", ("users", "groups"))
        + _each(("impersonate",), "authentication.k8s.io", ("userextras", "uids")),
        bindings="cluster",
    ),
    Risk("KW-R008", "proxy to the kubelet API (nodes/proxy)", _each(("get", "create"), "", ("nodes/proxy",)), bindings="cluster"),
    Risk(
        "KW-R009",
        "act as service accounts (create their tokens or impersonate them)",
        _each(("create",), "", ("serviceaccounts/token",)) + _each(("impersonate",), "", ("serviceaccounts",)),
    ),
    Risk(
        "KW-R010",
        "approve certificate signing requests",
        _each(("update", "patch"), CERTS, ("certificatesigningrequests/approval",)),
        also=(_each(("approve",), CERTS, ("signers",)),),
        bindings="cluster",
    ),
    Risk(
        "KW-R011",
        "edit admission webhook configurations",
        _each((*WRITE, "delete"), WEBHOOKS, ("validatingwebhookconfigurations", "mutatingwebhookconfigurations")),
        bindings="cluster",
    ),
    Risk(
        "KW-R012",
        "edit RBAC roles or bindings",
        _each(WRITE, RBAC_GROUP, ("roles", "rolebindings", "clusterroles", "clusterrolebindings")),
    ),
    Risk("KW-R013", "create persistent volumes (hostPath)", _each(("create",), "", ("persistentvolumes",)), bindings="cluster"),
    Risk(
        "KW-R014",
        "do anything (every verb on every resource)",
        (WILDCARD,),
        bindings="namespaced",
        namespaces=KUBE_SYSTEM,
        subsumes=True,
    ),
    Risk("KW-R015", "write ConfigMaps in kube-system", _each(WRITE, "", ("configmaps",)), namespaces=KUBE_SYSTEM),
)
BY_ID = {r.check_id: r for r in RISKS}
BROAD = "KW-R002"  # any grant to anonymous / all authenticated: not a permission but a subject
EXPOSED = "KW-R016"
UNUSED = "KW-R017"


@dataclass(slots=True)
class Hit:
    """A binding granting a subject a risky permission."""

    check_id: str
    label: str
    grant: Grant
    source: RuleSource | None  # the rule that grants it (None for KW-R002 and the reachability checks)
    platform: bool  # a platform-default grant (bootstrap binding or control-plane subject)
    reach: list[Usage] = field(default_factory=list)
    reach_known: bool = False  # the input has workloads where the subject's pods would run
    detail: str = ""

    @property
    def subject(self) -> Subject:
        return self.grant.bound

    @property
    def binding(self) -> Binding:
        return self.grant.binding

    @property
    def exposed(self) -> list[Usage]:
        return [u for u in self.reach if u.mounted and u.exposed]

    @property
    def mounted(self) -> list[Usage]:
        return [u for u in self.reach if u.mounted]

    def severity(self) -> Severity:
        return CHECK_SEVERITY[self.check_id]

    def rank(self) -> Severity:
        """The severity, one level up when an internet-facing workload mounts the
        subject's token, one down for a service account no workload of the input mounts."""
        base = self.severity()
        if self.exposed:
            return Severity(min(base + 1, Severity.CRITICAL))
        if self.reach_known and not self.mounted and _is_account(self.subject):
            return Severity(max(base - 1, Severity.INFO))
        return base

    def scope(self) -> str:
        return self.binding.scope

    def message(self) -> str:
        if self.check_id == BROAD:
            role = self.binding.role.ref if self.binding.role else "its role"
            who = (
                "anonymous requests"
                if self.subject.name in (ANONYMOUS, UNAUTHENTICATED)
                else "every authenticated user and service account"
            )
            return f"{role} is bound to {self.subject} {self.scope()}: {who} gets it"
        rule = ""
        if self.source is not None:
            role = self.binding.role
            where = f"rules[{self.source.index}] of {role.ref}" if role else "its role"
            if role is not None and self.source.role is not role.resource:
                where = f"rules[{self.source.index}] of {self.source.role.ref}, aggregated into {role.ref}"
            rule = f" ({where}: {self.source.rule.describe()})"
        return f"{self.subject} can {self.label} {self.scope()}{rule}{self.detail}"


CHECK_SEVERITY: dict[str, Severity] = {
    "KW-R001": Severity.CRITICAL,
    "KW-R002": Severity.HIGH,
    "KW-R003": Severity.HIGH,
    "KW-R004": Severity.HIGH,
    "KW-R005": Severity.HIGH,
    "KW-R006": Severity.CRITICAL,
    "KW-R007": Severity.CRITICAL,
    "KW-R008": Severity.HIGH,
    "KW-R009": Severity.HIGH,
    "KW-R010": Severity.HIGH,
    "KW-R011": Severity.HIGH,
    "KW-R012": Severity.MEDIUM,
    "KW-R013": Severity.HIGH,
    "KW-R014": Severity.CRITICAL,
    "KW-R015": Severity.HIGH,
    "KW-R016": Severity.CRITICAL,
    "KW-R017": Severity.LOW,
}


def _is_account(subject: Subject) -> bool:
    return subject.kind == "ServiceAccount" or (subject.kind == "User" and service_account(subject.name) is not None)


def is_platform_grant(grant: Grant) -> bool:
    """A bootstrap binding, or a binding to a control-plane identity (see is_platform_subject)."""
    return grant.binding.bootstrap or is_platform_subject(grant.bound)


def _binding_allows(binding: Binding, request: Request) -> RuleSource | None:
    if binding.role is None:
        return None
    if binding.namespace is not None and is_cluster_scoped(request.group, request.resource):
        return None  # a RoleBinding grants nothing on cluster-scoped resources
    for source in binding.role.rules:
        if rule_allows(source.rule, request):
            return source
    return None


def _applies(risk: Risk, binding: Binding) -> bool:
    cluster = binding.namespace is None
    if risk.bindings == "cluster" and not cluster:
        return False
    if risk.bindings == "namespaced" and cluster:
        return False
    return risk.namespaces is None or cluster or binding.namespace in risk.namespaces


class Assessment:
    """Every risky grant of an inventory, with the workloads that run with it."""

    def __init__(self, inventory: Inventory):
        self.model = RbacModel.of(inventory)
        self.usage = service_account_usage(inventory, self.model)
        self.workload_namespaces = {r.namespace for r in inventory.kinds(*_workload_kinds())} | {ns for ns, _ in self.usage}
        self._usage_by_ns: dict[str, list[Usage]] = defaultdict(list)
        for (namespace, _), usages in self.usage.items():
            self._usage_by_ns[namespace].extend(usages)
        self._reach: dict[Subject, tuple[list[Usage], bool]] = {}
        self._exposed: dict[Subject, list[Usage]] = {}
        # (role, cluster-wide binding?) -> the risks its rules allow, with the rule that does, in
        # RISKS order: many bindings share a role (edit, view...) and every subject of a binding
        # asks the same questions of it
        self._allows: dict[tuple[int, bool], list[tuple[Risk, RuleSource]]] = {}
        self.hits: list[Hit] = []
        for binding in self.model.bindings:
            for index, subject in binding.subjects:
                self._assess(Grant(binding, index, subject))

    @classmethod
    def of(cls, inventory: Inventory) -> Assessment:
        found = _ASSESSMENTS.get(inventory)
        if found is None:
            found = _ASSESSMENTS[inventory] = cls(inventory)
        return found

    def reach(self, subject: Subject) -> tuple[list[Usage], bool]:
        """The workloads that run as the subject (or as a member of it), and whether the
        input holds workloads of the namespaces concerned at all."""
        found = self._reach.get(subject)
        if found is None:  # groups reach thousands of workloads: work each subject out once
            found = self._reach[subject] = self._find_reach(subject)
        return found

    def _find_reach(self, subject: Subject) -> tuple[list[Usage], bool]:
        sa = service_account(subject.name) if subject.kind == "User" else None
        if subject.kind == "ServiceAccount" or sa:
            sa = sa or subject
            return list(self.usage.get((sa.namespace, sa.name), ())), sa.namespace in self.workload_namespaces
        if subject.kind != "Group":
            return [], False
        name = subject.name
        if name in (ALL_SERVICE_ACCOUNTS, AUTHENTICATED):
            return [u for usages in self.usage.values() for u in usages], bool(self.workload_namespaces)
        if name.startswith(SA_GROUP_PREFIX):
            ns = name[len(SA_GROUP_PREFIX) :]
            return list(self._usage_by_ns.get(ns, ())), ns in self.workload_namespaces
        return [], False

    def _assess(self, grant: Grant) -> None:
        binding, subject = grant.binding, grant.bound
        platform = is_platform_grant(grant)
        reach, known = self.reach(subject)
        found: list[Hit] = []
        if binding.role is not None and binding.role.rules and _is_broad(subject):
            found.append(Hit(BROAD, "use every permission of the binding", grant, None, platform, reach, known))
        for risk, source in self._allowed(binding):
            if not _applies(risk, binding):
                continue
            hit = self._match(risk, source, grant, platform, reach, known)
            if hit is None:
                continue
            if risk.subsumes:
                found = [h for h in found if h.check_id == BROAD]
                found.append(hit)
                break
            found.append(hit)
        self.hits += found
        risky = [h for h in found if h.check_id != BROAD]
        if not risky:
            return
        labels = "; ".join(h.label for h in risky)
        exposed = self._exposed.get(subject)
        if exposed is None:
            exposed = self._exposed[subject] = [u for u in reach if u.mounted and u.exposed]
        if exposed:
            names = ", ".join(f"{u.workload.ref} ({'; '.join(u.exposure)})" for u in exposed[:3])
            detail = f": mounted by internet-facing {names}" + (f" and {len(exposed) - 3} more" if len(exposed) > 3 else "")
            self.hits.append(Hit(EXPOSED, labels, grant, None, platform, reach, known, detail))
        elif known and _is_account(subject) and not any(u.mounted for u in reach):
            why = "workloads run as it with automountServiceAccountToken: false" if reach else "no workload runs as it"
            self.hits.append(
                Hit(UNUSED, labels, grant, None, platform, reach, known, f": no workload of the input mounts its token ({why})")
            )

    def _allowed(self, binding: Binding) -> list[tuple[Risk, RuleSource]]:
        """The risks the binding's role allows where it is bound, each with the first rule that does."""
        key = (id(binding.role), binding.namespace is None)
        found = self._allows.get(key)
        if found is None:
            found = self._allows[key] = []
            for risk in RISKS:
                for request in risk.any_of:
                    source = _binding_allows(binding, request)
                    if source is not None:
                        found.append((risk, source))
                        break
        return found

    def _match(self, risk: Risk, source: RuleSource, grant: Grant, platform: bool, reach: list[Usage], known: bool) -> Hit | None:
        namespace = grant.binding.namespace or ""
        for alternatives in risk.also:
            if not any(self.model.allows(grant.bound, _in(r, namespace)) for r in alternatives):
                return None
        detail = ""
        if source.rule.resource_names:
            detail = f" (only objects named {', '.join(source.rule.resource_names)})"
        return Hit(risk.check_id, risk.label, grant, source, platform, reach, known, detail)

    def findings(self, check_id: str, include_system: bool = False) -> Iterator[Hit]:
        for hit in self.hits:
            if hit.check_id == check_id and (include_system or not hit.platform):
                yield hit

    def ranked(self, include_system: bool = False) -> list[Hit]:
        """Every hit, most dangerous first: rank, then the check's own severity, then exposure."""
        hits = [h for h in self.hits if include_system or not h.platform]
        return sorted(hits, key=lambda h: (-h.rank(), -h.severity(), -len(h.exposed), h.check_id, str(h.subject)))


_ASSESSMENTS: weakref.WeakKeyDictionary[Inventory, Assessment] = weakref.WeakKeyDictionary()


def _workload_kinds() -> tuple[str, ...]:
    from ..inventory import POD_SPEC_PATHS

    return tuple(POD_SPEC_PATHS)


def _in(request: Request, namespace: str) -> Request:
    return Request(request.verb, request.resource, request.subresource, request.group, request.name, namespace, request.path)


def _is_broad(subject: Subject) -> bool:
    if subject.kind == "Group":
        return subject.name in (AUTHENTICATED, UNAUTHENTICATED)
    return subject.kind == "User" and subject.name == ANONYMOUS


# ---------------------------------------------------------------------------
# Privilege-escalation paths

ADMIN = Subject("Group", "system:masters")  # the goal: what cluster-admin is bound to by default


@dataclass(frozen=True, slots=True)
class Step:
    """One move: ``source`` can act as ``target`` because ``how``."""

    source: Subject
    target: Subject
    how: str


@dataclass(slots=True)
class Path:
    start: Subject
    steps: list[Step]
    exposed: list[Usage]

    @property
    def end(self) -> Subject:
        return self.steps[-1].target


class Escalation:
    """The escalation graph: subjects as nodes, "can become" moves as edges."""

    def __init__(self, assessment: Assessment, inventory: Inventory):
        self.a = assessment
        self.model = assessment.model
        self.accounts: dict[str, set[str]] = defaultdict(set)  # namespace -> service accounts known
        for ns, name in self.model.service_accounts:
            self.accounts[ns].add(name)
        for binding in self.model.bindings:
            for _, s in binding.subjects:
                if s.kind == "ServiceAccount":
                    self.accounts[s.namespace].add(s.name)
        for ns, name in self.a.usage:
            self.accounts[ns].add(name)
        self.token_secrets: dict[str, set[str]] = defaultdict(set)
        for secret in inventory.kinds("Secret"):
            if secret.obj.get("type") == "kubernetes.io/service-account-token":
                name = dig(secret.metadata, "annotations", "kubernetes.io/service-account.name")
                if isinstance(name, str) and name:
                    self.token_secrets[secret.namespace].add(name)
        self._edges: dict[Subject, list[Step]] = {}

    def _admin(self, subject: Subject) -> str | None:
        """Why the subject already is cluster-admin, if it is."""
        if subject == ADMIN:
            return "cluster-admin"
        found = self.model.allows(subject, WILDCARD)
        return f"{found[0].binding.ref}" if found else None

    def _namespaces(self, subject: Subject, request: Request) -> list[str] | None:
        """Namespaces where the subject is allowed the request (["*"] = all of them)."""
        found = []
        for grant in self.model.grants(subject):
            binding = grant.binding
            if binding.role is None or not any(rule_allows(s.rule, request) for s in binding.role.rules):
                continue
            if binding.namespace is None:
                return ["*"]
            found.append(binding.namespace)
        return sorted(set(found)) or None

    def _accounts_in(self, namespaces: list[str], only: set[str] | None = None) -> Iterator[Subject]:
        for ns in sorted(self.accounts) if namespaces == ["*"] else namespaces:
            for name in sorted(self.accounts.get(ns, ()) | ({"default"} if namespaces != ["*"] else set())):
                if only is None or name in only:
                    yield Subject("ServiceAccount", name, ns)

    def edges(self, subject: Subject) -> list[Step]:
        if subject in self._edges:
            return self._edges[subject]
        steps: list[Step] = []
        self._edges[subject] = steps

        def scope(namespaces: list[str], target: Subject | None = None) -> str:
            if namespaces == ["*"]:
                return "in every namespace"
            return f"in namespace {target.namespace if target else ', '.join(namespaces)}"

        # create pods (or a controller that creates them) in N: run a pod as any ServiceAccount of N
        for group, resource in POD_CONTROLLERS:
            spaces = self._namespaces(subject, _req("create", group, resource))
            if spaces:
                for target in self._accounts_in(spaces):
                    steps.append(
                        Step(subject, target, f"can create {resource} {scope(spaces, target)}: a pod can run as {target}")
                    )
                break
        # create serviceaccounts/token: mint a token for the ServiceAccounts of N
        spaces = self._namespaces(subject, _req("create", "", "serviceaccounts/token", None))
        if spaces:
            for target in self._accounts_in(spaces):
                steps.append(
                    Step(subject, target, f"can create serviceaccounts/token {scope(spaces, target)}: a token for {target}")
                )
        # read secrets in N: the long-lived token Secrets of N's ServiceAccounts
        spaces = self._namespaces(subject, _req("get", "", "secrets"))
        if spaces:
            for ns in sorted(self.token_secrets) if spaces == ["*"] else spaces:
                for name in sorted(self.token_secrets.get(ns, ())):
                    target = Subject("ServiceAccount", name, ns)
                    steps.append(Step(subject, target, f"can read secrets {scope(spaces, target)}: the token Secret of {target}"))
        # exec into pods of N (or through the kubelet, anywhere): the tokens they mount
        exec_spaces = self._namespaces(subject, _req("create", "", "pods/exec"))
        proxy = self._namespaces(subject, _req("get", "", "nodes/proxy")) == ["*"]
        for (ns, name), usages in sorted(self.a.usage.items()):
            if not any(u.mounted for u in usages):
                continue
            target = Subject("ServiceAccount", name, ns)
            if exec_spaces and (exec_spaces == ["*"] or ns in exec_spaces):
                steps.append(
                    Step(
                        subject,
                        target,
                        f"can exec into pods {scope(exec_spaces, target)}: {usages[0].workload.ref} mounts {target}",
                    )
                )
            elif proxy:
                steps.append(
                    Step(subject, target, f"can use nodes/proxy (kubelet exec): {usages[0].workload.ref} mounts {target}")
                )
        # impersonation: groups (system:masters included), users, service accounts
        if self._namespaces(subject, _req("impersonate", "", "groups")) == ["*"]:
            steps.append(Step(subject, ADMIN, "can impersonate any group, system:masters included"))
        spaces = self._namespaces(subject, _req("impersonate", "", "serviceaccounts"))
        if spaces:
            for target in self._accounts_in(spaces):
                steps.append(Step(subject, target, f"can impersonate service accounts {scope(spaces, target)}"))
        if self._namespaces(subject, _req("impersonate", "", "users")) == ["*"]:
            for target in sorted({s for b in self.model.bindings for _, s in b.subjects if s.kind == "User"}):
                steps.append(Step(subject, target, "can impersonate any user"))
        # bind or escalate ClusterRoles cluster-wide: grant itself cluster-admin
        for verb in ("bind", "escalate"):
            if self._namespaces(subject, _req(verb, RBAC_GROUP, "clusterroles")) == ["*"]:
                steps.append(Step(subject, ADMIN, f"can {verb} ClusterRoles cluster-wide: can grant itself cluster-admin"))
                break
        # approve its own CSR for a client certificate in group system:masters
        if all(
            self._namespaces(subject, _req(v, CERTS, r)) == ["*"]
            for v, r in (("create", "certificatesigningrequests"), ("update", "certificatesigningrequests/approval"))
        ) and self._namespaces(subject, _req("approve", CERTS, "signers")) == ["*"]:
            steps.append(Step(subject, ADMIN, "can create and approve a CSR for a client certificate in group system:masters"))
        steps[:] = [s for s in steps if s.target != subject]
        return steps

    def paths(self, include_system: bool = False, max_depth: int = 4) -> list[Path]:
        """The shortest chain from each subject that is not already cluster-admin to one that is."""
        starts = set(self.model.subjects()) | {Subject("ServiceAccount", n, ns) for ns, n in self.a.usage}
        found: list[Path] = []
        for start in sorted(starts):
            if (not include_system and is_platform_subject(start)) or self._admin(start):
                continue
            chain = self._shortest(start, max_depth)
            if chain:
                reach, _ = self.a.reach(start)
                found.append(Path(start, chain, [u for u in reach if u.mounted and u.exposed]))
        return sorted(found, key=lambda p: (not p.exposed, len(p.steps), str(p.start)))

    def _shortest(self, start: Subject, max_depth: int) -> list[Step] | None:
        queue: deque[tuple[Subject, list[Step]]] = deque([(start, [])])
        seen = {start}
        while queue:
            node, chain = queue.popleft()
            if len(chain) >= max_depth:
                continue
            for step in self.edges(node):
                if step.target in seen:
                    continue
                seen.add(step.target)
                new = [*chain, step]
                why = self._admin(step.target)
                if why:
                    if step.target != ADMIN:
                        new.append(Step(step.target, ADMIN, f"is cluster-admin through {why}"))
                    return new
                queue.append((step.target, new))
        return None


def escalation_paths(inventory: Inventory, include_system: bool = False) -> list[Path]:
    return Escalation(Assessment.of(inventory), inventory).paths(include_system)
