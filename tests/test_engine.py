"""Configuration, selection, severities and suppressions."""

from __future__ import annotations

import datetime as dt

import pytest

from helpers import run_cli, run_json, scan_text
from kubeward.config import ConfigError, discover, load_config, parse_config
from kubeward.model import Severity

POD = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
  annotations: {ANNOTATIONS}
spec:
  template:
    metadata:
      annotations: {TEMPLATE}
    spec:
      containers:
        - name: app
          image: nginx
          securityContext: {privileged: true}
        - name: sidecar
          image: envoy
          securityContext: {privileged: true}
"""


def pod(annotations="{}", template="{}"):
    return POD.replace("{ANNOTATIONS}", annotations).replace("{TEMPLATE}", template)


def findings(text, config=None, check="KW-P001"):
    result, _ = scan_text(text, config=config, only=[check])
    return result.findings


def test_annotation_on_object_suppresses_with_reason():
    fs = findings(pod(annotations='{"ignore-check.kubeward.io/privileged-container": "CNI needs it"}'))
    assert len(fs) == 2 and all(f.suppressed for f in fs)
    assert fs[0].suppression == "CNI needs it (annotation ignore-check.kubeward.io/privileged-container)"


def test_annotation_on_pod_template_by_id():
    fs = findings(pod(template='{"ignore-check.kubeward.io/KW-P001": "reviewed"}'))
    assert all(f.suppressed for f in fs)


def test_container_scoped_annotation_suppresses_one_container():
    fs = findings(pod(annotations='{"ignore-check.kubeward.io/privileged-container.sidecar": "envoy needs it"}'))
    assert {f.container: f.suppressed for f in fs} == {"app": False, "sidecar": True}


def test_annotation_without_reason_is_ignored_and_says_so():
    fs = findings(pod(annotations='{"ignore-check.kubeward.io/privileged-container": ""}'))
    assert not any(f.suppressed for f in fs)
    assert "has no reason and is ignored" in fs[0].notes[0]


def test_annotation_for_another_check_does_not_suppress():
    fs = findings(pod(annotations='{"ignore-check.kubeward.io/host-path-volume": "x"}'))
    assert not any(f.suppressed for f in fs)


def _config(suppressions, **extra):
    return parse_config({"suppressions": suppressions, **extra}, "cfg.yaml")


def test_config_suppression_with_filters():
    config = _config(
        [{"check": "KW-P001", "kind": "Deployment", "namespace": "prod", "name": "w*", "container": "app", "reason": "ok"}]
    )
    fs = findings(pod(), config)
    assert {f.container: f.suppressed for f in fs} == {"app": True, "sidecar": False}
    assert fs[0].suppression == "ok (cfg.yaml: suppressions[0])"
    assert not any(f.suppressed for f in findings(pod(), _config([{"check": "*", "namespace": "dev", "reason": "x"}])))


def test_expired_config_suppression_stops_suppressing_and_says_so():
    config = _config([{"check": "privileged-container", "reason": "temporary", "expires": "2020-01-31"}])
    fs = findings(pod(), config)
    assert not any(f.suppressed for f in fs)
    assert fs[0].notes == ("suppression cfg.yaml: suppressions[0] expired on 2020-01-31",)
    future = _config([{"check": "privileged-container", "reason": "temporary", "expires": "2999-01-31"}])
    assert all(f.suppressed for f in findings(pod(), future))


def test_expiry_is_inclusive_of_the_day():
    from kubeward.config import Suppression

    rule = Suppression(check="*", reason="r", expires=dt.date(2026, 1, 31))
    assert not rule.expired(dt.date(2026, 1, 31)) and rule.expired(dt.date(2026, 2, 1))


def test_severity_override_and_selection():
    config = parse_config({"severity": {"image-tag-latest": "critical"}, "disable": ["tag:resources"]}, "c")
    result, _ = scan_text(pod(), config=config)
    ids = {f.check_id for f in result.findings}
    assert "KW-W002" not in ids and "KW-W003" not in ids and "KW-P001" in ids
    assert {f.severity for f in result.findings if f.check_id == "KW-I001"} == {Severity.CRITICAL}


def test_enable_runs_only_those():
    result, _ = scan_text(pod(), config=parse_config({"enable": ["pod-security"]}, "c"))
    assert {f.check_id[:4] for f in result.findings} == {"KW-P"}


@pytest.mark.parametrize(
    "data,message",
    [
        ({"disable": ["no-such-check"]}, "disable: no check, slug or tag is named 'no-such-check'"),
        ({"severity": {"KW-P001": "urgent"}}, "severity.KW-P001: unknown severity 'urgent'"),
        ({"suppressions": [{"check": "KW-P001"}]}, "suppressions[0]: 'reason' is required"),
        ({"suppressions": [{"check": "KW-P001", "reason": "r", "expires": "soon"}]}, "expires must be a date"),
        ({"suppressions": [{"check": "KW-P001", "reason": "r", "namespce": "x"}]}, "unknown key 'namespce'"),
        ({"fail-on": "loud"}, "fail-on: unknown severity"),
        ({"typo": 1}, "unknown key 'typo'"),
        ({"pod-security": {"level": "strict"}}, "pod-security: unknown Pod Security level 'strict'"),
        ({"pod-security": {"version": "1.30"}}, "pod-security: invalid Pod Security version '1.30'"),
        ([1, 2], "must be a mapping"),
    ],
)
def test_invalid_config_is_a_clear_error(data, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        parse_config(data, "cfg.yaml")


def test_config_is_discovered_upward_and_used(tmp_manifests):
    tmp_manifests("repo/.kubeward.yaml", "fail-on: critical\ndisable: [KW-P001]\n")
    target = tmp_manifests("repo/deploy/app/web.yaml", pod())
    assert discover(target) == target.parents[2] / ".kubeward.yaml"
    code, report = run_json("scan", str(target))
    assert "KW-P001" not in {f["check"] for f in report["findings"]}
    assert code == 0  # nothing critical is left
    code, report = run_json("scan", str(target), "--no-config")
    assert code == 1 and "KW-P001" in {f["check"] for f in report["findings"]}


def test_config_file_with_broken_yaml_exits_2(tmp_manifests):
    cfg = tmp_manifests("c.yaml", "disable: [\n")
    res = run_cli("scan", str(cfg), "--config", str(cfg))
    assert res.exit_code == 2 and "c.yaml: invalid YAML" in res.stderr
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(cfg.parent / "absent.yaml")


def test_expiry_warning_reaches_stderr(tmp_manifests):
    tmp_manifests(".kubeward.yaml", "suppressions:\n  - {check: KW-P001, reason: later, expires: 2021-05-01}\n")
    target = tmp_manifests("web.yaml", pod())
    res = run_cli("scan", str(target), "--check", "KW-P001")
    assert res.exit_code == 1
    assert "expired on 2021-05-01" in res.stderr


@pytest.mark.parametrize(
    "args,code",
    [
        ((), 1),
        (("--fail-on", "critical"), 1),
        (("--fail-on", "none"), 0),
        (("--check", "KW-I001", "--fail-on", "high"), 0),
        (("--check", "KW-I001", "--fail-on", "medium"), 1),
        (("--check", "nope"), 2),
        (("--format", "yaml"), 2),
    ],
)
def test_exit_codes(tmp_manifests, args, code):
    target = tmp_manifests("web.yaml", pod())
    assert run_cli("scan", str(target), "--no-config", *args).exit_code == code


def test_suppressed_findings_do_not_fail_the_build(tmp_manifests):
    target = tmp_manifests("web.yaml", pod(annotations='{"ignore-check.kubeward.io/KW-P001": "accepted"}'))
    code, report = run_json("scan", str(target), "--check", "KW-P001")
    assert code == 0
    assert report["summary"]["suppressed"] == 2 and all(f["suppressed"] for f in report["findings"])
