"""Namespace-aware Pod Security evaluation and `kubeward pss`."""

from __future__ import annotations

import json

import pytest

from helpers import EXAMPLES, run_cli
from kubeward.checks import pss
from kubeward.inventory import Inventory
from kubeward.psa import (
    LevelVersion,
    Policy,
    PsaConfig,
    PsaConfigError,
    analyse,
    load_psa_config,
    policy_for,
    recommended_labels,
)
from kubeward.sources.files import load_bytes

P = "pod-security.kubernetes.io/"


def test_labels_override_defaults_mode_by_mode():
    defaults = Policy(LevelVersion("baseline", "v1.25"), LevelVersion("baseline"), LevelVersion("restricted"))
    policy = policy_for({P + "enforce": "restricted", P + "audit-version": "v1.29"}, defaults)
    assert (str(policy.enforce), str(policy.audit), str(policy.warn)) == (
        "restricted:v1.25",
        "baseline:v1.29",
        "restricted:latest",
    )
    assert policy.errors == []


def test_invalid_labels_fail_closed_for_enforce_and_open_for_audit_and_warn():
    policy = policy_for({P + "enforce": "strict", P + "audit": "loud", P + "warn": "x", P + "enforce-version": "1.29"}, Policy())
    assert (str(policy.enforce), policy.audit.level, policy.warn.level) == ("restricted:latest", "privileged", "privileged")
    assert len(policy.errors) == 4


NS_AND_PODS = """apiVersion: v1
kind: Namespace
metadata:
  name: team
  labels: {pod-security.kubernetes.io/enforce: baseline, pod-security.kubernetes.io/warn: restricted}
---
apiVersion: v1
kind: Pod
metadata: {name: priv, namespace: team}
spec:
  containers: [{name: c, image: x, securityContext: {privileged: true}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ok, namespace: team}
spec:
  template:
    spec:
      runtimeClassName: gvisor
      containers: [{name: c, image: x}]
---
apiVersion: v1
kind: Pod
metadata: {name: loose, namespace: other}
spec:
  containers: [{name: c, image: x}]
"""


def _reports(config=None, level="restricted"):
    loaded = load_bytes(NS_AND_PODS.encode(), "ns.yaml")
    return {r.name: r for r in analyse(Inventory(loaded.resources), level, pss.LATEST, config or PsaConfig())}


def test_workloads_are_judged_by_their_namespace_policy():
    reports = _reports()
    team = {w.resource.name: w for w in reports["team"].workloads}
    assert team["priv"].rejected and team["priv"].strictest == "privileged"
    assert not team["ok"].rejected and team["ok"].strictest == "baseline"
    warn = next(m for m in team["ok"].modes if m.mode == "warn")
    assert not warn.allowed and warn.message().startswith('would violate PodSecurity "restricted:latest": ')
    assert reports["other"].labels is None  # no Namespace object: defaults (privileged) apply
    assert not reports["other"].workloads[0].rejected


def test_exemptions_by_namespace_and_runtime_class():
    config = PsaConfig(exempt_namespaces=frozenset({"other"}), exempt_runtime_classes=frozenset({"gvisor"}), source="psc.yaml")
    reports = _reports(config)
    team = {w.resource.name: w for w in reports["team"].workloads}
    assert team["ok"].exempt == "runtimeClass gvisor is exempt (psc.yaml)" and team["ok"].modes == []
    assert reports["other"].workloads[0].exempt.startswith("namespace other is exempt")


def test_recommendation_never_weakens_what_is_enforced():
    team = _reports()["team"]
    labels = recommended_labels(team, "v1.30")
    assert labels[P + "enforce"] == "baseline" and labels[P + "enforce-version"] == "v1.30"
    assert labels[P + "warn"] == "restricted"


def test_pod_security_configuration_file(tmp_path):
    psc = tmp_path / "psc.yaml"
    psc.write_text(
        "apiVersion: pod-security.admission.config.k8s.io/v1\nkind: PodSecurityConfiguration\n"
        "defaults: {enforce: baseline, enforce-version: v1.29, warn: restricted}\n"
        "exemptions: {namespaces: [kube-system], runtimeClasses: [], usernames: [admin]}\n"
    )
    config = load_psa_config(psc)
    assert str(config.defaults.enforce) == "baseline:v1.29" and str(config.defaults.warn) == "restricted:latest"
    assert config.exempt_namespaces == {"kube-system"} and config.exempt_usernames == {"admin"}
    wrapped = tmp_path / "admission.yaml"
    wrapped.write_text(
        "apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n"
        "  - name: PodSecurity\n    path: psc.yaml\n"
    )
    assert load_psa_config(wrapped).defaults == config.defaults


@pytest.mark.parametrize(
    "text,message",
    [
        ("kind: Pod\n", "expected kind PodSecurityConfiguration"),
        ("kind: PodSecurityConfiguration\ndefaults: {enforce: strict}\n", "defaults.enforce: 'strict' must be one of"),
        (
            "kind: PodSecurityConfiguration\ndefaults: {audit-version: '1.2'}\n",
            "defaults.audit-version: invalid",
        ),
        ("kind: PodSecurityConfiguration\nexemptions: {namespaces: kube-system}\n", "exemptions.namespaces must be a list"),
        ("kind: AdmissionConfiguration\nplugins: []\n", "has no PodSecurity plugin"),
    ],
)
def test_invalid_pod_security_configuration(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(PsaConfigError, match=message):
        load_psa_config(path)


def test_pss_command_on_the_examples():
    res = run_cli("pss", str(EXAMPLES))
    assert res.exit_code == 1
    out = res.stdout
    assert "Deployment/shop/web" in out and "satisfies: privileged (at latest)" in out
    assert '    - privileged (container "web" must not set securityContext.privileged=true)' in out
    assert "namespace shop enforce baseline:v1.30: its pods would be REJECTED" in out
    assert "enforce baseline:v1.30 is set, and rejects the pods of 3 workloads" in out
    assert "Rollout/shop/web-canary" in out  # custom resources carry pods too
    assert "shop-hardened\n" in out and "you can enforce restricted now" in out
    assert out.strip().endswith("6 workloads, 5 violate restricted:latest")


def test_pss_command_json_and_levels():
    report = json.loads(run_cli("pss", str(EXAMPLES / "hardened-app"), "-f", "json").stdout)
    (workload,) = report["workloads"]
    assert workload["strictestLevel"] == "restricted" and workload["violations"] == []
    assert report["namespaces"][0]["recommendedLabels"][P + "enforce"] == "restricted"
    cron = EXAMPLES / "insecure-app" / "cleanup-cronjob.yaml"
    assert run_cli("pss", str(cron), "--level", "baseline").exit_code == 0
    assert run_cli("pss", str(cron), "--level", "restricted").exit_code == 1
    assert run_cli("pss", str(cron), "--version", "1.30").exit_code == 2


def test_pss_namespaces_only():
    out = run_cli("pss", str(EXAMPLES), "--namespaces").stdout
    assert out.startswith("Namespaces\n  shop\n") and "satisfies:" not in out
