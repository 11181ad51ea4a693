"""`kubeward scan --framework`: results by compliance control, with scores."""

from __future__ import annotations

import json

from helpers import EXAMPLES, run_cli
from kubeward.checks.registry import all_checks
from kubeward.report.framework import control_keys


def test_refs_listing_several_controls_map_to_each():
    by_id = {c.id: c for c in all_checks()}
    assert control_keys(by_id["KW-P002"], "cis") == ["5.2.3", "5.2.4", "5.2.5"]
    assert control_keys(by_id["KW-P001"], "pss") == ["baseline"]
    assert control_keys(by_id["KW-P001"], "mitre") == ["T1611"]


def test_framework_json_scores_controls():
    res = run_cli("scan", str(EXAMPLES / "insecure-app"), "--framework", "cis", "-f", "json")
    report = json.loads(res.stdout)["framework"]
    controls = {c["control"]: c for c in report["controls"]}
    assert report["framework"] == "cis"
    # 5.2.2 privileged: 5 workloads evaluated (Deployment, DaemonSet, 2 CronJobs, Rollout), 1 privileged
    assert controls["5.2.2"] == {
        "control": "5.2.2", "status": "FAIL", "checks": ["KW-P001"], "evaluated": 5, "failing": 1, "findings": 1, "score": 0.8
    }  # fmt: skip
    assert controls["5.2.13"]["status"] == "PASS" and controls["5.2.13"]["score"] == 1.0
    assert 0 < report["score"] < 1


def test_framework_table_groups_findings_by_control():
    out = run_cli("scan", str(EXAMPLES / "insecure-app"), "--framework", "pss").stdout
    assert "PSS baseline" in out and "PSS restricted" in out
    assert "Pod Security Standards: per-control coverage and score" in out
    assert out.strip().splitlines()[-1].startswith("2 controls, 2 failing")


def test_hardened_app_passes_every_pss_control():
    report = json.loads(run_cli("scan", str(EXAMPLES / "hardened-app"), "--framework", "pss", "-f", "json").stdout)
    assert {c["status"] for c in report["framework"]["controls"]} == {"PASS"}
    assert report["framework"]["score"] == 1.0
