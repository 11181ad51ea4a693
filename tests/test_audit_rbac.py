"""Least privilege from use: `kubeward audit rbac`."""

from __future__ import annotations

import json

import orjson
import pytest

from audit_support import EVENTS, event
from helpers import SHARED, run_cli
from kubeward.analysis.rbac import RbacModel, Subject, parse_request
from kubeward.audit.rbac_from_use import minimal_rbac, observe, unused_permissions
from kubeward.sources.files import load_bytes, load_paths

SA = Subject("ServiceAccount", "deployer", "ci")
ME = {"user": "system:serviceaccount:ci:deployer", "groups": ("system:serviceaccounts", "system:authenticated")}
INVENTORY = SHARED / "recordings" / "k8s-1.28-api" / "inventory"


def used_events():
    return [
        event("get", "deployments", namespace="apps", name="web", group="apps", **ME),
        event("patch", "deployments", namespace="apps", name="web", group="apps", **ME),
        event("list", "pods", namespace="apps", **ME),
        event("watch", "pods", namespace="apps", **ME, stage="ResponseStarted"),
        event("get", "configmaps", namespace="apps", name="missing", code=404, **ME),  # authorized, then not found
        event("list", "secrets", namespace="apps", code=403, **ME),  # denied: not a permission it has
        event("get", "nodes", name="n1", **ME),
        event("get", "", uri="/api", **ME),  # discovery: everyone may
        event("get", "", uri="/metrics", **ME),
        event("list", "pods", namespace="apps"),  # someone else
        event("get", "secrets", namespace="apps", name="x", user="kubernetes-admin", impersonatedUser={"username": ME["user"]}),
    ]


def test_minimal_rbac_covers_exactly_what_was_used():
    usage = observe(used_events(), SA)
    docs = minimal_rbac(usage)
    assert [d["kind"] for d in docs] == ["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"]
    # every observed request is allowed by the generated RBAC, evaluated by the RBAC model
    resources = load_bytes(orjson.dumps({"kind": "List", "apiVersion": "v1", "items": docs}), "gen.json", is_json=True).resources
    model = RbacModel(resources, defaults=False)
    for req in usage.requests:
        assert model.allows(SA, req), req
    denied = [("list", "secrets", "apps", ""), ("get", "deployments.apps", "apps", "db"), ("delete", "pods", "apps", "p"),
              ("get", "pods", "other", "p")]  # fmt: skip
    for verb, res, ns, name in denied:
        assert not model.allows(SA, parse_request(verb, res, namespace=ns, name=name)), (verb, res, ns, name)
    role = docs[0]
    named = [r for r in role["rules"] if r.get("resourceNames")]
    assert {tuple(r["resourceNames"]) for r in named} == {("web",), ("missing",), ("x",)}  # x: used by impersonation
    assert {"nonResourceURLs": ["/metrics"], "verbs": ["get"]} in docs[2]["rules"]


def test_many_names_drop_resource_names():
    events = [event("get", "pods", namespace="a", name=f"p{i}", **ME) for i in range(8)]
    (rule,) = minimal_rbac(observe(events, SA), max_names=5)[0]["rules"]
    assert "resourceNames" not in rule and rule["verbs"] == ["get"]


def test_unused_permissions_risky_first():
    inventory = """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: deployer, namespace: apps}
rules:
- {apiGroups: [apps], resources: [deployments], verbs: [get, patch]}
- {apiGroups: [""], resources: [pods], verbs: [list, watch]}
- {apiGroups: [""], resources: [secrets], verbs: [get, list]}
- {apiGroups: [""], resources: [services], verbs: [get]}
- {apiGroups: [""], resources: [pods/exec], verbs: [create]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: deployer, namespace: apps}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: deployer}
subjects: [{kind: ServiceAccount, name: deployer, namespace: ci}]
"""
    resources = load_bytes(inventory.encode(), "rbac.yaml").resources
    unused = unused_permissions(observe(used_events()[:-1], SA), resources)  # without the impersonated secret read
    assert [u.rule.describe() for u in unused] == [
        "get,list secrets in group core",
        "create pods/exec in group core",
        "get services in group core",
    ]
    assert unused[0].risks == ["read secrets"] and not unused[-1].risks


@pytest.mark.skipif(not EVENTS.is_file() or not INVENTORY.is_dir(), reason="recordings not present")
def test_cli_on_the_recordings():
    res = run_cli("audit", "rbac", "--serviceaccount", "ci/ci-deployer", str(EVENTS), "--inventory", str(INVENTORY), "-f", "json")
    assert res.exit_code == 0
    out = json.loads(res.stdout)
    kinds = [(d["kind"], d["metadata"].get("namespace")) for d in out["rbac"]]
    assert ("Role", "payments") in kinds and ("Role", "storefront") in kinds
    assert out["unused"] and out["unused"][0]["risks"]
    # what was generated covers every request it made, as the recorded cluster's RBAC also did
    loaded = load_paths([str(INVENTORY)])
    model = RbacModel(loaded.resources)
    usage = observe(
        __import__("kubeward.audit.events", fromlist=["read_events"]).read_events([str(EVENTS)]),
        Subject("ServiceAccount", "ci-deployer", "ci"),
    )
    assert usage.requests and all(model.allows(usage.subject, r) for r in usage.requests)


def test_cli_errors(tmp_path):
    (tmp_path / "log").write_bytes(orjson.dumps(event("get", "pods", namespace="a", name="p", **ME)) + b"\n")
    assert run_cli("audit", "rbac", str(tmp_path / "log")).exit_code == 2
    assert run_cli("audit", "rbac", "--serviceaccount", "nope", str(tmp_path / "log")).exit_code == 2
    res = run_cli("audit", "rbac", "--serviceaccount", "ci/deployer", str(tmp_path / "log"))
    assert res.exit_code == 0 and "kind: Role" in res.stdout
    res = run_cli("audit", "rbac", "--user", "nobody", str(tmp_path / "log"))
    assert res.exit_code == 0 and "no requests observed" in res.stdout
