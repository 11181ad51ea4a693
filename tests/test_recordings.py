"""kubeward on the inventory of a real kube-apiserver v1.28 (../shared/recordings).

The recording documents what each namespace holds and which pods Pod Security
Admission rejected, with the API server's own messages: kubeward must agree.
"""

from __future__ import annotations

import json
import os

import pytest
import yaml

from helpers import SHARED, run_cli

INVENTORY = SHARED / "recordings" / "k8s-1.28-api" / "inventory"
if not INVENTORY.is_dir():
    if os.environ.get("CI"):
        raise RuntimeError(f"recordings not found at {INVENTORY} (set KUBEWARD_SHARED)")
    pytestmark = pytest.mark.skip(reason=f"{INVENTORY} is not present")


@pytest.fixture(scope="module")
def report():
    res = run_cli("scan", str(INVENTORY), "-f", "json", "--no-config", "--fail-on", "none")
    assert res.exit_code == 0, res.stderr
    return json.loads(res.stdout)


def _flagged(report, check):
    return {(f["kind"], f["namespace"], f["name"]) for f in report["findings"] if f["check"] == check}


def test_the_whole_inventory_reads_without_errors(report):
    assert report["errors"] == [] and report["summary"]["resources"] == 642


@pytest.mark.parametrize(
    "check,expected",
    [
        ("KW-K001", ("ValidatingWebhookConfiguration", "", "acme-policy-validator")),  # failurePolicy: Ignore
        ("KW-W014", ("Deployment", "storefront", "image-resizer")),  # hostPath docker.sock
        ("KW-N003", ("Service", "storefront", "catalog")),  # externalIPs
        ("KW-N009", ("Ingress", "legacy-apps", "wordpress")),  # snippet annotations
        ("KW-M002", ("Namespace", "", "platform-monitoring")),  # enforce: privileged
        ("KW-M001", ("Namespace", "", "ci")),  # no Pod Security labels
        ("KW-A003", ("Secret", "ci", "ci-runner-token")),  # legacy SA token secret
        ("KW-P001", ("DaemonSet", "kube-system", "kube-proxy")),  # privileged
        ("KW-W015", ("DaemonSet", "platform-monitoring", "node-exporter")),  # hostPath /
        ("KW-N002", ("Service", "platform-monitoring", "grafana")),  # 0.0.0.0/0 LoadBalancer
        ("KW-S003", ("Deployment", "storefront", "cart")),  # plaintext secret in env
    ],
)
def test_documented_problems_are_found(report, check, expected):
    assert expected in _flagged(report, check)


def test_the_compliant_namespace_has_no_pod_security_findings(report):
    pss = {f["name"] for f in report["findings"] if f["check"].startswith("KW-P") and f["namespace"] == "dev-sandbox"}
    assert pss == set()


def test_secret_values_never_reach_the_report(report):
    text = json.dumps(report)
    assert "FAKE-" not in text and "PLACEHOLDER" not in text


def test_pod_security_rejections_match_the_api_server_word_for_word():
    """The recorder's ReplicaSets carry the API server's own ReplicaFailure message."""
    res = run_cli("pss", str(INVENTORY), "-f", "json")
    workloads = json.loads(res.stdout)["workloads"]
    enforce = {(w["kind"], w["namespace"], w["name"]): w["namespacePolicy"].get("enforce") for w in workloads}
    rejected = {key for key, verdict in enforce.items() if verdict and not verdict["allowed"]}
    # exactly the two Deployments whose pods the API server refused
    assert {key for key in rejected if key[0] == "Deployment"} == {
        ("Deployment", "payments", "legacy-bridge"),
        ("Deployment", "storefront", "image-resizer"),
    }
    recorded = {}
    for doc in yaml.safe_load_all((INVENTORY / "40-controller-standins.yaml").read_text()):
        if doc and doc.get("kind") == "ReplicaSet":
            for condition in doc.get("status", {}).get("conditions", []):
                if condition.get("type") == "ReplicaFailure":
                    recorded[("ReplicaSet", doc["metadata"]["namespace"], doc["metadata"]["name"])] = condition["message"]
    assert len(recorded) == 2
    for key, message in recorded.items():
        assert message.split("is forbidden: ", 1)[1] == enforce[key]["message"]
