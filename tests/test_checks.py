"""Every check has a failing and a passing fixture under tests/data/checks/<ID>/."""

from __future__ import annotations

import pytest

from helpers import DATA, scan_text
from kubeward.checks.registry import all_checks

CHECK_IDS = [c.id for c in all_checks()]


def test_every_check_has_fixtures():
    missing = [cid for cid in CHECK_IDS for kind in ("pass", "fail") if not (DATA / "checks" / cid / f"{kind}.yaml").is_file()]
    assert not missing, f"checks without fixtures: {missing}"


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_fail_fixture_is_flagged(check_id):
    text = (DATA / "checks" / check_id / "fail.yaml").read_text()
    result, loaded = scan_text(text, only=[check_id])
    assert not loaded.errors and not result.errors
    hits = [f for f in result.findings if f.check_id == check_id]
    assert hits, f"{check_id} did not fire on its fail fixture"
    for f in hits:
        assert f.line is not None and f.line >= 1
        assert f.message and f.path


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_pass_fixture_is_clean(check_id):
    text = (DATA / "checks" / check_id / "pass.yaml").read_text()
    result, loaded = scan_text(text, only=[check_id])
    assert not loaded.errors and not result.errors
    assert [f.message for f in result.findings] == []


def test_fail_fixtures_name_the_exact_field():
    result, _ = scan_text((DATA / "checks" / "KW-P001" / "fail.yaml").read_text(), only=["KW-P001"])
    (finding,) = result.findings
    assert finding.path_str == "spec.initContainers[0].securityContext.privileged"
    assert finding.container == "setup"
    assert finding.line == 8


def test_run_as_root_container_overrides_pod():
    result, _ = scan_text((DATA / "checks" / "KW-P006" / "fail.yaml").read_text(), only=["KW-P006"])
    (finding,) = result.findings
    assert "runAsUser: 0" in finding.message
    assert finding.path_str == "template.spec.containers[0].securityContext.runAsUser"


def test_capabilities_message_lists_only_disallowed():
    result, _ = scan_text((DATA / "checks" / "KW-P005" / "fail.yaml").read_text(), only=["KW-P005"])
    assert result.findings[0].message.endswith("adds capabilities NET_ADMIN, NET_RAW")


def test_duplicate_points_at_first_definition():
    result, _ = scan_text((DATA / "checks" / "KW-G001" / "fail.yaml").read_text(), only=["KW-G001"])
    (finding,) = result.findings
    assert finding.resource.doc_index == 1
    assert "test.yaml (document 1)" in finding.message
    assert finding.line == 8


@pytest.mark.parametrize(
    "kind,prefix",
    [
        ("Pod", "spec"),
        ("Deployment", "spec.template.spec"),
        ("ReplicaSet", "spec.template.spec"),
        ("StatefulSet", "spec.template.spec"),
        ("DaemonSet", "spec.template.spec"),
        ("Job", "spec.template.spec"),
        ("ReplicationController", "spec.template.spec"),
        ("CronJob", "spec.jobTemplate.spec.template.spec"),
        ("PodTemplate", "template.spec"),
    ],
)
def test_pod_spec_found_in_every_workload_kind(kind, prefix):
    spec = "{containers: [{name: c, image: x:1, securityContext: {privileged: true}}]}"
    nested = spec
    for key in reversed(prefix.split(".")):
        nested = f"{{{key}: {nested}}}"
    text = f"apiVersion: v1\nkind: {kind}\nmetadata: {{name: w}}\n" + nested[1:-1].replace(": {", ":\n  {", 0) + "\n"
    result, loaded = scan_text(text, only=["KW-P001"])
    assert not loaded.errors
    (finding,) = result.findings
    assert finding.path_str == f"{prefix}.containers[0].securityContext.privileged"
