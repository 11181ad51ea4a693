"""Every check has a failing and a passing fixture under tests/data/checks/<ID>/."""

from __future__ import annotations

import pytest

from helpers import DATA, scan_text
from kubeward.checks.registry import all_checks
from kubeward.config import load_config

CHECK_IDS = [c.id for c in all_checks()]


def test_every_check_has_fixtures():
    missing = [cid for cid in CHECK_IDS for kind in ("pass", "fail") if not (DATA / "checks" / cid / f"{kind}.yaml").is_file()]
    assert not missing, f"checks without fixtures: {missing}"


def _fixture_config(check_id):
    """tests/data/checks/<ID>/config.yaml, for checks that need settings (e.g. a registry allowlist)."""
    path = DATA / "checks" / check_id / "config.yaml"
    return load_config(path) if path.is_file() else None


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_fail_fixture_is_flagged(check_id):
    text = (DATA / "checks" / check_id / "fail.yaml").read_text()
    result, loaded = scan_text(text, only=[check_id], config=_fixture_config(check_id))
    assert not loaded.errors and not result.errors
    hits = [f for f in result.findings if f.check_id == check_id]
    assert hits, f"{check_id} did not fire on its fail fixture"
    for f in hits:
        assert f.line is not None and f.line >= 1
        assert f.message and f.path


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_pass_fixture_is_clean(check_id):
    text = (DATA / "checks" / check_id / "pass.yaml").read_text()
    result, loaded = scan_text(text, only=[check_id], config=_fixture_config(check_id))
    assert not loaded.errors and not result.errors
    assert [f.message for f in result.findings] == []


def test_fail_fixtures_name_the_exact_field():
    result, _ = scan_text((DATA / "checks" / "KW-P001" / "fail.yaml").read_text(), only=["KW-P001"])
    (finding,) = result.findings
    assert finding.path_str == "spec.initContainers[0].securityContext.privileged"
    assert finding.container == "setup"
    assert finding.line == 8


def test_container_run_as_non_root_false_overrides_pod():
    result, _ = scan_text((DATA / "checks" / "KW-P006" / "fail.yaml").read_text(), only=["KW-P006"])
    (finding,) = result.findings
    assert finding.message == 'runAsNonRoot != true (container "app" must not set securityContext.runAsNonRoot=false)'
    assert finding.path_str == "template.spec.containers[0].securityContext.runAsNonRoot"


def test_pss_messages_are_upstream_words():
    result, _ = scan_text((DATA / "checks" / "KW-P005" / "fail.yaml").read_text(), only=["KW-P005"])
    (finding,) = result.findings
    assert finding.message == (
        'non-default capabilities (container "cni" must not include "NET_ADMIN", "NET_RAW" in securityContext.capabilities.add)'
    )


def test_overridden_baseline_checks_keep_their_facts_at_restricted_level():
    """hostPath is restrictedVolumes' business in upstream's restricted profile; kubeward
    reports it once, as host-path-volume (high), and restricted-volume-types reports the rest."""
    text = """apiVersion: v1
kind: Pod
metadata: {name: vols}
spec:
  volumes:
    - {name: host, hostPath: {path: /etc}}
    - {name: share, nfs: {server: x, path: /}}
  containers: [{name: c, image: x}]
"""
    result, _ = scan_text(text, only=["KW-P004", "KW-P017"])
    assert sorted((f.check_id, f.path_str) for f in result.findings) == [
        ("KW-P004", "spec.volumes[0].hostPath"),
        ("KW-P017", "spec.volumes[1].nfs"),
    ]


def test_pss_level_and_version_come_from_config():
    from kubeward.config import parse_config

    text = (DATA / "checks" / "KW-P019" / "fail.yaml").read_text()
    assert scan_text(text, only=["KW-P019"])[0].findings
    baseline = parse_config({"pod-security": {"level": "baseline"}}, "c")
    assert not scan_text(text, config=baseline, only=["KW-P019"])[0].findings
    old = parse_config({"pod-security": {"version": "v1.21"}}, "c")  # capabilities_restricted starts at v1.22
    assert not scan_text(text, config=old, only=["KW-P019"])[0].findings


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
