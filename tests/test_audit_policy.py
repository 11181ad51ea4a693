"""Audit policy matching (as checker.go), the checker, and `kubeward audit policy`."""

from __future__ import annotations

import json

import pytest

from audit_support import RECORDING
from helpers import run_cli
from kubeward.audit.policy import (
    RECOMMENDED,
    AuditRequest,
    PolicyError,
    check_policy,
    covers,
    level_for,
    load_policy_file,
    rule_matches,
    shadowed_rules,
)
from kubeward.sources.yamlparse import load_document

POD = AuditRequest("get", resource="pods", namespace="default", name="web")
EXEC = AuditRequest("create", resource="pods", subresource="exec", namespace="default", name="web")
NODE = AuditRequest("get", resource="nodes", name="n1")
HEALTH = AuditRequest("get", path="/healthz/etcd")


def res(*names, group="", resource_names=None):
    gr = {"group": group, "resources": list(names)}
    if resource_names:
        gr["resourceNames"] = resource_names
    return gr


@pytest.mark.parametrize(
    ("rule", "request_", "expected"),
    [
        ({}, POD, True),
        ({"users": ["bob"]}, POD, False),
        ({"users": ["alice@example.com"]}, POD, True),
        ({"userGroups": ["system:authenticated"]}, POD, True),
        ({"userGroups": ["system:masters"]}, POD, False),
        ({"verbs": ["list"]}, POD, False),
        ({"namespaces": ["default"]}, POD, True),
        ({"namespaces": ["kube-system"]}, POD, False),
        ({"namespaces": [""]}, NODE, True),  # cluster-scoped requests have namespace ""
        ({"namespaces": ["default"]}, HEALTH, False),  # resource constraints never match non-resource requests
        ({"resources": [res("pods")]}, POD, True),
        ({"resources": [res("pods")]}, EXEC, False),  # a subresource needs "pods/exec"
        ({"resources": [res("pods/exec")]}, EXEC, True),
        ({"resources": [res("*/exec")]}, EXEC, True),
        ({"resources": [res("pods/*")]}, EXEC, True),
        ({"resources": [res("pods/*")]}, POD, True),  # upstream: "pods/*" matches pods itself too
        ({"resources": [res("*")]}, EXEC, True),
        ({"resources": [res("pods", group="apps")]}, POD, False),
        ({"resources": [{"group": ""}]}, POD, True),  # a group with no resources: all of the group
        ({"resources": [res("pods", resource_names=["web"])]}, POD, True),
        ({"resources": [res("pods", resource_names=["db"])]}, POD, False),
        ({"nonResourceURLs": ["/healthz*"]}, HEALTH, True),
        ({"nonResourceURLs": ["/healthz"]}, HEALTH, False),
        ({"nonResourceURLs": ["*"]}, HEALTH, True),
        ({"nonResourceURLs": ["*"]}, POD, False),
        ({"nonResourceURLs": ["/healthz*"], "resources": [res("pods")]}, HEALTH, False),  # resources win
    ],
)
def test_rule_matching_is_upstreams(rule, request_, expected):
    assert rule_matches(rule, request_) is expected


def test_first_match_default_none_and_stages():
    policy = {"omitStages": ["RequestReceived"], "rules": [
        {"level": "None", "resources": [res("pods")]},
        {"level": "Metadata", "omitStages": ["ResponseStarted"]},
    ]}  # fmt: skip
    assert level_for(policy, POD) == ("None", frozenset({"RequestReceived"}), 0)
    assert level_for(policy, EXEC) == ("Metadata", frozenset({"RequestReceived", "ResponseStarted"}), 1)
    assert level_for({"rules": []}, POD) == ("None", frozenset(), None)


def test_recommended_policy_passes_its_own_check_and_logs_what_the_rules_need():
    policy = load_document(RECOMMENDED)
    assert check_policy(policy) == []
    assert level_for(policy, AuditRequest("get", resource="secrets", namespace="a", name="x"))[0] == "Metadata"
    assert level_for(policy, AuditRequest("create", resource="pods", namespace="a"))[0] == "Request"
    assert level_for(policy, AuditRequest("patch", resource="namespaces", name="a"))[0] == "Request"
    crb = AuditRequest("create", resource="clusterrolebindings", group="rbac.authorization.k8s.io", name="x")
    assert level_for(policy, crb)[0] == "RequestResponse"
    assert level_for(policy, AuditRequest("get", path="/livez"))[0] == "None"


@pytest.mark.skipif(not (RECORDING / "audit-policy.yaml").is_file(), reason="recording not present")
def test_recording_policy():
    assert check_policy(load_policy_file(RECORDING / "audit-policy.yaml")) == []


def ids(policy):
    return sorted({i.id for i in check_policy(policy)})


def test_checks_find_each_problem():
    logs_all = {"omitStages": ["RequestReceived"], "rules": [{"level": "RequestResponse"}]}
    assert ids(logs_all) == ["KW-AP001"]
    no_rbac = {"omitStages": ["RequestReceived"], "rules": [
        {"level": "Metadata", "resources": [res("secrets", "configmaps", "serviceaccounts/token"),
                                            res("tokenreviews", group="authentication.k8s.io")]},
        {"level": "None", "resources": [{"group": "rbac.authorization.k8s.io"}]},
        {"level": "None", "resources": [res("pods/exec")]},
        {"level": "Metadata"},
    ]}  # fmt: skip
    issues = check_policy(no_rbac)
    assert [i.id for i in issues] == ["KW-AP002", "KW-AP003"]
    assert issues[0].rule == 1 and "RBAC" in issues[0].message and issues[1].rule == 2
    # only for one user's secrets: the probe uses the policy's own users
    narrow = {"omitStages": ["RequestReceived"], "rules": [
        {"level": "RequestResponse", "users": ["ci-bot"], "resources": [res("secrets")]},
        {"level": "Metadata"},
    ]}  # fmt: skip
    (issue,) = check_policy(narrow)
    assert issue.id == "KW-AP001" and "ci-bot" in issue.example
    # streams of exec not logged because every stage is omitted
    omitted = {"omitStages": ["RequestReceived", "ResponseStarted", "ResponseComplete"], "rules": [{"level": "Metadata"}]}
    assert "KW-AP003" in ids(omitted) and "KW-AP002" in ids(omitted)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ({"level": "None"}, {"level": "Metadata", "users": ["x"]}, True),
        ({"users": ["x"]}, {"users": ["x", "y"]}, False),
        ({"users": ["x", "y"]}, {"users": ["x"]}, True),
        ({"verbs": ["get"]}, {}, False),
        ({"resources": [res("pods/*")]}, {"resources": [res("pods", "pods/log")]}, True),
        ({"resources": [res("*/exec")]}, {"resources": [res("pods/exec")]}, True),
        ({"resources": [res("pods")]}, {"resources": [res("pods/exec")]}, False),
        ({"resources": [res("pods")]}, {"resources": [res("pods")], "namespaces": ["a"]}, True),
        ({"resources": [res("pods")], "namespaces": ["a"]}, {"resources": [res("pods")]}, False),
        ({"resources": [res("secrets")]}, {"resources": [res("secrets", resource_names=["x"])]}, True),
        ({"resources": [res("secrets", resource_names=["x"])]}, {"resources": [res("secrets")]}, False),
        ({"nonResourceURLs": ["/healthz*"]}, {"nonResourceURLs": ["/healthz/etcd", "/healthz*"]}, True),
        ({"nonResourceURLs": ["/healthz*"]}, {"resources": [res("pods")]}, False),
        ({"resources": [res("pods")]}, {"nonResourceURLs": ["/x"]}, False),
        ({"resources": [{"group": "apps"}]}, {"resources": [res("deployments", group="apps")]}, True),
    ],
)
def test_shadowing(a, b, expected):
    assert covers(a, b) is expected


def test_shadowed_rule_reported():
    policy = {"rules": [{"level": "Metadata", "resources": [res("*")]}, {"level": "None", "resources": [res("events")]}]}
    assert shadowed_rules(policy) == [(1, 0)]


def test_bad_input_never_crashes(tmp_path):
    for policy in (
        {"rules": "x"},
        {"rules": [1, {"level": "Loud"}, {"level": "None", "users": "x", "resources": [1, {"group": 1}]}]},
        [],
    ):
        check_policy(policy)  # type: ignore[arg-type]
    (tmp_path / "p.yaml").write_text("kind: Pod\napiVersion: v1\n")
    with pytest.raises(PolicyError, match="not an audit policy"):
        load_policy_file(tmp_path / "p.yaml")
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy_file(tmp_path / "missing.yaml")


def test_cli(tmp_path):
    out = tmp_path / "policy.yaml"
    assert run_cli("audit", "policy", "generate", "-o", str(out)).exit_code == 0
    res = run_cli("audit", "policy", "check", str(out))
    assert res.exit_code == 0 and "0 issues" in res.stdout
    (tmp_path / "bad.yaml").write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: RequestResponse\n")
    res = run_cli("audit", "policy", "check", str(tmp_path / "bad.yaml"), "-f", "json")
    assert res.exit_code == 1 and {i["id"] for i in json.loads(res.stdout)["issues"]} == {"KW-AP001", "KW-AP005"}
    assert run_cli("audit", "policy", "check", str(tmp_path / "none.yaml")).exit_code == 2
    assert run_cli("audit", "policy", "generate").stdout == RECOMMENDED
