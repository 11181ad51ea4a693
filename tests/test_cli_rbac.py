"""`kubeward rbac`: who-can, can, risks, paths."""

from __future__ import annotations

import json

from helpers import DATA, EXAMPLES, run_cli

R003 = str(DATA / "checks" / "KW-R003" / "fail.yaml")
R016 = str(DATA / "checks" / "KW-R016" / "fail.yaml")


def test_who_can_names_the_subject_binding_and_rule():
    res = run_cli("rbac", "who-can", "list", "secrets", "-n", "shop", R003)
    assert res.exit_code == 0
    assert "system:serviceaccount:shop:app" in res.stdout and "RoleBinding/shop/app" in res.stdout
    assert "rules[1] of Role/shop/app" in res.stdout
    other = run_cli("rbac", "who-can", "list", "secrets", "-n", "elsewhere", R003)
    assert "no one" in other.stdout


def test_who_can_json_and_group_members():
    res = run_cli("rbac", "who-can", "create", "pods", "-n", "shop", "-f", "json", "-")
    assert res.exit_code == 0 and json.loads(res.stdout)["allowed"] == []
    text = (DATA / "checks" / "KW-R002" / "fail.yaml").read_text() + (
        "---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web, namespace: shop}\n"
    )
    res = run_cli("rbac", "who-can", "get", "pods", "-n", "shop", "-f", "json", "-", input=text)
    doc = json.loads(res.stdout)
    groups = {a["subject"]: a for a in doc["allowed"]}
    assert groups["group:system:authenticated"]["members"] == ["system:serviceaccount:shop:web"]
    assert groups["group:developers"]["rule"]["source"] == "ClusterRole/system:aggregate-to-view"


def test_can_lists_effective_permissions_with_groups():
    res = run_cli("rbac", "can", "system:serviceaccount:shop:app", R003)
    assert res.exit_code == 0
    assert "list secrets in group core" in res.stdout and "system:serviceaccounts:shop" in res.stdout
    doc = json.loads(run_cli("rbac", "can", "sa:shop/app", R003, "-f", "json").stdout)
    assert doc["grants"][0]["rules"][1]["rule"] == "list secrets in group core"
    assert run_cli("rbac", "can", "sa:shop/app", R003, "-n", "other", "-f", "json").stdout.count('"binding"') == 0


def test_bad_subject_is_a_usage_error():
    res = run_cli("rbac", "can", "sa:nonamespace", R003)
    assert res.exit_code == 2 and "kubeward: error:" in res.stderr


def test_risks_are_ranked_and_exit_1():
    res = run_cli("rbac", "risks", R016, "-f", "json")
    assert res.exit_code == 1
    risks = json.loads(res.stdout)["risks"]
    assert risks[0]["check"] == "KW-R016" and risks[0]["rank"] == "critical"
    assert risks[1]["check"] == "KW-R003" and risks[1]["rank"] == "critical"  # high, +1: mounted by an exposed Deployment
    assert risks[1]["exposedBy"][0]["workload"] == "Deployment/shop/web"


def test_paths_on_a_fixture(tmp_path):
    text = (DATA / "checks" / "KW-R001" / "fail.yaml").read_text() + (
        "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: devs, namespace: shop}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}\n"
        "subjects: [{kind: Group, apiGroup: rbac.authorization.k8s.io, name: devs}]\n"
    )
    res = run_cli("rbac", "paths", "-", input=text)
    assert res.exit_code == 1
    assert "1. group:devs" in res.stdout and "a pod can run as system:serviceaccount:shop:deployer" in res.stdout
    assert "is cluster-admin through ClusterRoleBinding/deployer-admin" in res.stdout


def test_examples_work_and_hardened_app_is_clean():
    for sub in ("who-can get secrets -n insecure-app", "can user:nobody", "risks", "paths"):
        res = run_cli("rbac", *sub.split(), str(EXAMPLES))
        assert res.exit_code in (0, 1), sub
    assert run_cli("rbac", "risks", str(EXAMPLES / "hardened-app")).exit_code == 0
