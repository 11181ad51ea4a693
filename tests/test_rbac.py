"""RBAC: the authorizer's matching, aggregation, grants per subject, risky checks, escalation paths."""

from __future__ import annotations

import json
import random

import pytest

from helpers import DATA, SHARED, scan_text
from kubeward.analysis.rbac import (
    RbacModel,
    Request,
    Rule,
    Subject,
    bootstrap_cluster_roles,
    is_platform_subject,
    parse_request,
    parse_rule,
    parse_subject,
    rule_allows,
)
from kubeward.analysis.rbacrisk import RISKS, Assessment, Escalation
from kubeward.checks.registry import all_checks
from kubeward.config import Config
from kubeward.engine import select_checks
from kubeward.inventory import Inventory
from kubeward.model import Resource
from kubeward.runner import scan_paths
from kubeward.sources.files import load_bytes, load_paths

RECORDING = SHARED / "recordings" / "k8s-1.28-api"
EXCHANGES = RECORDING / "exchanges"
needs_recording = pytest.mark.skipif(not EXCHANGES.is_dir(), reason=f"{EXCHANGES} is not present (set KUBEWARD_SHARED)")
RBAC_CHECKS = [c.id for c in all_checks() if c.id.startswith("KW-R")]


def _listed(name: str, kind: str) -> list[Resource]:
    body = json.loads((EXCHANGES / name).read_text())["response"]["body"]
    return [
        Resource({**item, "kind": kind, "apiVersion": "rbac.authorization.k8s.io/v1"}, name, i)
        for i, item in enumerate(body["items"])
    ]


def recorded_rbac() -> list[Resource]:
    prefix = "apis_rbac.authorization.k8s.io_v1_"
    return [
        *_listed(f"0104-GET-{prefix}clusterroles--full.json", "ClusterRole"),
        *_listed(f"0101-GET-{prefix}clusterrolebindings--full.json", "ClusterRoleBinding"),
        *_listed(f"0109-GET-{prefix}roles--full.json", "Role"),
        *_listed(f"0107-GET-{prefix}rolebindings--full.json", "RoleBinding"),
    ]


def load(text: str) -> list[Resource]:
    loaded = load_bytes(text.encode(), "t.yaml")
    assert not loaded.errors
    return loaded.resources


def rule(**kw) -> Rule:
    return parse_rule(kw)


# -- the authorizer's matching (evaluation_helpers.go) ------------------------------------------


@pytest.mark.parametrize(
    "rule_kw,request_,allowed",
    [
        ({"verbs": ["*"], "apiGroups": [""], "resources": ["pods"]}, Request("delete", "pods"), True),
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, Request("list", "pods"), False),
        ({"verbs": ["get"], "apiGroups": ["*"], "resources": ["deployments"]}, Request("get", "deployments", group="apps"), True),
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["deployments"]}, Request("get", "deployments", group="apps"), False),
        ({"verbs": ["get"], "apiGroups": ["apps"], "resources": ["*"]}, Request("get", "deployments", "scale", "apps"), True),
        # subresources: exact, or */sub; "pods" does not cover pods/exec and "pods/*" is no wildcard
        ({"verbs": ["create"], "apiGroups": [""], "resources": ["pods/exec"]}, Request("create", "pods", "exec"), True),
        ({"verbs": ["create"], "apiGroups": [""], "resources": ["*/exec"]}, Request("create", "pods", "exec"), True),
        ({"verbs": ["create"], "apiGroups": [""], "resources": ["pods"]}, Request("create", "pods", "exec"), False),
        ({"verbs": ["create"], "apiGroups": [""], "resources": ["pods/*"]}, Request("create", "pods", "exec"), False),
        ({"verbs": ["create"], "apiGroups": [""], "resources": ["*/exec"]}, Request("create", "pods"), False),
        ({"verbs": ["create"], "apiGroups": [""], "resources": ["*/xec"]}, Request("create", "pods", "exec"), False),
        # resourceNames: empty allows every name; otherwise only those, and never a nameless request
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}, Request("get", "secrets", name="db"), True),
        (
            {"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["db"]},
            Request("get", "secrets", name="db"),
            True,
        ),
        (
            {"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["db"]},
            Request("get", "secrets", name="x"),
            False,
        ),
        (
            {"verbs": ["list"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["db"]},
            Request("list", "secrets"),
            False,
        ),
        (
            {"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["db"]},
            Request("get", "secrets", name=None),
            True,
        ),
        # non-resource URLs: exact, "*", or a prefix ending in "*"; resource rules never match them
        ({"verbs": ["get"], "nonResourceURLs": ["/healthz"]}, Request("get", path="/healthz"), True),
        ({"verbs": ["get"], "nonResourceURLs": ["/healthz"]}, Request("get", path="/healthz/etcd"), False),
        ({"verbs": ["get"], "nonResourceURLs": ["/healthz/*"]}, Request("get", path="/healthz/etcd"), True),
        ({"verbs": ["get"], "nonResourceURLs": ["/hea*"]}, Request("get", path="/healthz"), True),
        ({"verbs": ["get"], "nonResourceURLs": ["*"]}, Request("get", path="/metrics"), True),
        ({"verbs": ["get"], "apiGroups": ["*"], "resources": ["*"]}, Request("get", path="/metrics"), False),
        ({"verbs": ["get"], "nonResourceURLs": ["*"]}, Request("get", "pods"), False),
    ],
)
def test_rule_allows_as_the_authorizer(rule_kw, request_, allowed):
    assert rule_allows(rule(**rule_kw), request_) is allowed


def test_parse_request_resolves_builtin_groups():
    assert parse_request("create", "deployments") == Request("create", "deployments", "", "apps")
    assert parse_request("get", "deployments.apps/scale", namespace="x") == Request(
        "get", "deployments", "scale", "apps", "", "x"
    )
    assert parse_request("get", "widgets.example.com") == Request("get", "widgets", "", "example.com")
    assert parse_request("get", "/metrics").path == "/metrics"
    assert parse_request("create", "pods/exec").subresource == "exec"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("system:serviceaccount:shop:web", Subject("ServiceAccount", "web", "shop")),
        ("sa:shop/web", Subject("ServiceAccount", "web", "shop")),
        ("serviceaccount:shop:web", Subject("ServiceAccount", "web", "shop")),
        ("user:alice", Subject("User", "alice")),
        ("group:system:masters", Subject("Group", "system:masters")),
        ("alice", Subject("User", "alice")),
        ("system:anonymous", Subject("User", "system:anonymous")),
    ],
)
def test_subject_syntax(text, expected):
    assert parse_subject(text) == expected
    assert parse_subject(str(expected)) == expected


@pytest.mark.parametrize("text", ["", "sa:web", "system:serviceaccount:shop", "user:"])
def test_bad_subjects_are_errors(text):
    with pytest.raises(ValueError):
        parse_subject(text)


# -- aggregation (clusterroleaggregation_controller.go) ---------------------------------------


@needs_recording
def test_aggregation_recomputes_the_recorded_rules_exactly():
    resources = recorded_rbac()
    expected = {}
    for r in resources:
        if r.kind == "ClusterRole" and "aggregationRule" in r.obj:
            expected[r.name] = [parse_rule(x) for x in r.obj["rules"]]
            r.obj["rules"] = []  # blank them: the model must rebuild them from the other roles
    assert set(expected) == {"admin", "edit", "view", "platform-viewer"}
    random.Random(5).shuffle(resources)  # input order must not matter, only names
    model = RbacModel(resources, defaults=False)
    for name, rules in expected.items():
        assert [s.rule for s in model.cluster_roles[name].rules] == rules, name


def test_aggregation_overwrites_manifest_rules_and_chains():
    model = RbacModel(
        load("""
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: top}
aggregationRule: {clusterRoleSelectors: [{matchLabels: {to-top: "true"}}]}
rules: [{apiGroups: ["*"], resources: ["*"], verbs: ["*"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: middle, labels: {to-top: "true"}}
aggregationRule: {clusterRoleSelectors: [{matchLabels: {to-middle: "true"}}]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: b-leaf, labels: {to-middle: "true", to-top: "true"}}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: a-leaf, labels: {to-middle: "true"}}
rules: [{apiGroups: [""], resources: [secrets], verbs: [get]}, {apiGroups: [""], resources: [pods], verbs: [get]}]
"""),
        defaults=False,
    )
    secrets, pods = (
        rule(apiGroups=[""], resources=["secrets"], verbs=["get"]),
        rule(apiGroups=[""], resources=["pods"], verbs=["get"]),
    )
    assert [s.rule for s in model.cluster_roles["middle"].rules] == [secrets, pods]  # a-leaf first, duplicate dropped
    # top: its own "*" rule is overwritten; b-leaf (sorted before middle) then middle's rules
    assert [s.rule for s in model.cluster_roles["top"].rules] == [pods, secrets]
    assert model.cluster_roles["top"].rules[1].role.name == "a-leaf"  # each rule remembers where it is written


def test_bootstrap_cluster_roles_are_known_when_not_in_the_input():
    model = RbacModel(
        load("""
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: devs, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{kind: Group, apiGroup: rbac.authorization.k8s.io, name: devs}]
""")
    )
    devs = Subject("Group", "devs")
    assert model.allows(devs, Request("create", "deployments", group="apps", namespace="shop"))
    assert model.allows(devs, Request("get", "secrets", namespace="shop", name="x"))
    assert not model.allows(devs, Request("create", "roles", group="rbac.authorization.k8s.io", namespace="shop"))  # admin only
    assert {r.name for r in bootstrap_cluster_roles()} >= {"cluster-admin", "admin", "edit", "view"}


# -- bindings and subjects (rule.go) ------------------------------------------------------------

BINDINGS = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: local, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
subjects:
  - {kind: ServiceAccount, name: web}
  - {kind: Group, apiGroup: rbac.authorization.k8s.io, name: "system:serviceaccounts:billing"}
  - {kind: User, apiGroup: rbac.authorization.k8s.io, name: "system:serviceaccount:ops:bot"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: everyone}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
subjects:
  - {kind: Group, apiGroup: rbac.authorization.k8s.io, name: "system:authenticated"}
  - {kind: ServiceAccount, name: nowhere}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: api, namespace: billing}
"""
CM = Request("get", "configmaps", namespace="shop", name="x")


def test_rolebinding_to_clusterrole_grants_only_in_its_namespace():
    model = RbacModel(load(BINDINGS))
    web = Subject("ServiceAccount", "web", "shop")  # namespace defaulted to the RoleBinding's
    grant, source = model.allows(web, CM)
    assert grant.binding.resource.name == "local" and source.rule.resources == ("configmaps",)
    only_local = [g for g in model.grants(web) if g.binding.resource.name == "local"]
    assert only_local and not only_local[0].applies_in("other") and not only_local[0].applies_in("")


def test_builtin_groups_expand_to_their_members():
    model = RbacModel(load(BINDINGS))
    billing = Subject("ServiceAccount", "api", "billing")
    assert any(
        g.binding.resource.name == "local" and g.bound.name == "system:serviceaccounts:billing" for g in model.grants(billing)
    )
    bot = Subject("ServiceAccount", "bot", "ops")  # bound as the User system:serviceaccount:ops:bot
    assert any(g.binding.resource.name == "local" for g in model.grants(bot))
    alice, anonymous = Subject("User", "alice"), Subject("User", "system:anonymous")
    assert model.allows(alice, Request("get", "configmaps", namespace="any", name="x"))  # system:authenticated, cluster-wide
    assert not model.allows(anonymous, CM)
    assert Subject("ServiceAccount", "api", "billing") in model.members("system:serviceaccounts:billing")
    assert Subject("User", "system:anonymous") not in model.members("system:authenticated")
    # a ServiceAccount subject without namespace in a ClusterRoleBinding matches no one, and says so
    assert any("no namespace" in n.message for n in model.notes)


def test_who_can_lists_every_binding_subject():
    model = RbacModel(load(BINDINGS))
    found = {(g.binding.resource.name, str(g.bound)) for g, _ in model.who_can(CM)}
    assert found == {
        ("local", "system:serviceaccount:shop:web"),
        ("local", "group:system:serviceaccounts:billing"),
        ("local", "user:system:serviceaccount:ops:bot"),
        ("everyone", "group:system:authenticated"),
    }
    assert {g.binding.resource.name for g, _ in model.who_can(Request("get", "configmaps", name="x"))} == {"everyone"}


@pytest.mark.parametrize(
    "bad",
    [
        "rules: x",
        "rules: [1, {verbs: get}, {verbs: [1, get], apiGroups: [''], resources: [pods]}]",
        "subjects: [1]",
        "subjects: x",
        "roleRef: x",
        "roleRef: {kind: 3, name: [x]}",
        "aggregationRule: x",
        "aggregationRule: {clusterRoleSelectors: [1, {matchLabels: x}]}",
        "subjects: [{kind: Robot, name: r}, {kind: User, name: 5}]",
    ],
)
def test_bad_input_never_crashes(bad):
    text = "\n---\n".join(
        f"apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata: {{name: x, namespace: shop}}\n{bad}\n"
        for kind in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
    )
    result, _ = scan_text(text, only=RBAC_CHECKS)
    assert not result.errors
    model = RbacModel(load(text))
    assert model.who_can(Request("get", "pods", namespace="shop", name="p")) is not None


def test_platform_subjects():
    assert is_platform_subject(Subject("User", "system:kube-controller-manager"))
    assert is_platform_subject(Subject("Group", "system:masters"))
    assert is_platform_subject(Subject("ServiceAccount", "clusterrole-aggregation-controller", "kube-system"))
    assert not is_platform_subject(Subject("ServiceAccount", "ops-bot", "kube-system"))
    assert not is_platform_subject(Subject("User", "system:anonymous"))
    assert not is_platform_subject(Subject("Group", "system:authenticated"))
    assert not is_platform_subject(Subject("Group", "system:serviceaccounts:kube-system"))


# -- risky grants on real data ---------------------------------------------------------------


@needs_recording
def test_recording_reports_sectest_admin_binding_and_nothing_of_the_bootstrap():
    inventory = Inventory(recorded_rbac())
    assessment = Assessment(inventory)
    admins = {(h.binding.resource.name, str(h.subject)) for h in assessment.findings("KW-R001")}
    assert ("sectest-admin-binding", "system:serviceaccount:sectest:default") in admins
    bootstrap = [h for h in assessment.hits if h.binding.bootstrap]
    assert bootstrap and all(h.platform for h in bootstrap)  # they exist, and are hidden by default
    assert not [h for h in assessment.ranked() if h.binding.resource.name.startswith("system:")]
    only_bootstrap = [r for r in recorded_rbac() if (r.metadata.get("labels") or {}).get("kubernetes.io/bootstrapping")]
    result, _ = _scan_resources(only_bootstrap)
    assert [f.message for f in result.findings if not f.suppressed] == []


def _scan_resources(resources):
    from kubeward.engine import scan

    config = Config()
    return scan(Inventory(resources), select_checks(config, RBAC_CHECKS), config), None


def test_each_risk_has_its_check_and_fixtures_fire_only_their_own_rule():
    ids = {r.check_id for r in RISKS}
    assert ids <= set(RBAC_CHECKS)
    for check_id in sorted(ids):
        result, _ = scan_text((DATA / "checks" / check_id / "fail.yaml").read_text(), only=[check_id])
        (first, *_) = result.findings
        assert first.path[0] == "subjects" and first.resource.kind.endswith("Binding"), check_id


def test_cluster_admin_subsumes_the_rest_of_its_binding():
    text = (DATA / "checks" / "KW-R001" / "fail.yaml").read_text()
    result, _ = scan_text(text, only=RBAC_CHECKS)
    assert {f.check_id for f in result.findings} == {"KW-R001"}


EXPOSED_APP = """
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: shop}
automountServiceAccountToken: false
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      %s
      containers: [{name: web, image: x}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, namespace: shop}
spec:
  rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: web-edit, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{kind: ServiceAccount, name: web, namespace: shop}]
"""


def test_ingress_backend_exposure_and_pod_automount_override():
    # the ServiceAccount says no token, the pod says yes: the pod wins
    mounted, _ = scan_text(EXPOSED_APP % "automountServiceAccountToken: true", only=["KW-R016", "KW-R017"])
    (finding,) = mounted.findings
    assert finding.check_id == "KW-R016" and "Ingress shop via Service web" in finding.message
    # neither says yes: the ServiceAccount's false holds, and the grant is unused
    unmounted, _ = scan_text(EXPOSED_APP % "", only=["KW-R016", "KW-R017"])
    assert [f.check_id for f in unmounted.findings] == ["KW-R017"]
    assessment = Assessment(Inventory(load(EXPOSED_APP % "automountServiceAccountToken: true")))
    ranked = assessment.ranked()
    assert ranked[0].exposed and ranked[0].rank() >= ranked[0].severity()


def test_released_scan_gives_the_same_findings(tmp_path):
    for check_id in ("KW-R016", "KW-R017", "KW-R003"):
        (tmp_path / f"{check_id}.yaml").write_text((DATA / "checks" / check_id / "fail.yaml").read_text())
    (tmp_path / "exposed.yaml").write_text(EXPOSED_APP % "automountServiceAccountToken: true")
    config = Config()
    released = scan_paths([str(tmp_path)], select_checks(config, only=RBAC_CHECKS), config, jobs=1)
    loaded = load_paths([str(tmp_path)])
    full, _ = _scan_resources(loaded.resources)

    def key(findings):
        return sorted((f.check_id, f.resource.ref, f.path, f.message) for f in findings)

    assert key(released.findings) == key(full.findings) and released.findings


# -- escalation paths --------------------------------------------------------------------------


@needs_recording
def test_pod_creation_in_kube_system_reaches_cluster_admin_through_a_controller():
    bootstrap = [r for r in recorded_rbac() if r.name == "system:controller:clusterrole-aggregation-controller"]
    text = """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: deployer, namespace: kube-system}
rules: [{apiGroups: [apps], resources: [deployments], verbs: [create]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: frontend-deployer, namespace: kube-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: deployer}
subjects: [{kind: ServiceAccount, name: frontend, namespace: web}]
"""
    inventory = Inventory([*load(text), *bootstrap])
    paths = Escalation(Assessment(inventory), inventory).paths()
    (path,) = [p for p in paths if str(p.start) == "system:serviceaccount:web:frontend"]
    assert [str(s.target) for s in path.steps] == [
        "system:serviceaccount:kube-system:clusterrole-aggregation-controller",
        "group:system:masters",
    ]
    assert "can create deployments in namespace kube-system" in path.steps[0].how
    assert "escalate ClusterRoles" in path.steps[1].how


@needs_recording
def test_recording_paths_include_impersonation_and_token_reading():
    inventory = Inventory(load_paths([str(RECORDING / "inventory")]).resources)
    paths = {str(p.start): p for p in Escalation(Assessment(inventory), inventory).paths()}
    assert "impersonate any group" in paths["system:serviceaccount:kube-system:ops-bot"].steps[0].how
    assert "bind ClusterRoles" in paths["user:alice@example.com"].steps[0].how
    assert "token Secret" in paths["system:serviceaccount:data:backup"].steps[0].how
    assert not [s for s in paths if is_platform_subject(parse_subject(s))]
