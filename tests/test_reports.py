"""Report formats: JSON schema, SARIF 2.1.0 (validated), JUnit, table."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from helpers import DATA, EXAMPLES, run_cli, run_json

SARIF_SCHEMA = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
JSON_FIELDS = {"check", "slug", "severity", "kind", "namespace", "name", "file", "line", "path", "message", "suppressed"}


@pytest.fixture(scope="module")
def insecure_json():
    code, report = run_json("scan", str(EXAMPLES / "insecure-app"))
    assert code == 1
    return report


def test_json_report_schema(insecure_json):
    assert insecure_json["schemaVersion"] == 1
    assert insecure_json["summary"]["resources"] == 12
    assert insecure_json["summary"]["findings"] == len(insecure_json["findings"]) > 10
    for f in insecure_json["findings"]:
        assert JSON_FIELDS <= f.keys()
        assert f["severity"] in {"info", "low", "medium", "high", "critical"}
        assert isinstance(f["line"], int) and f["line"] >= 1


def test_yaml11_privileged_yes_is_caught_on_its_line(insecure_json):
    (priv,) = [f for f in insecure_json["findings"] if f["check"] == "KW-P001"]
    assert priv["name"] == "web" and priv["container"] == "web"
    line = (EXAMPLES / "insecure-app" / "deployment.yaml").read_text().splitlines()[priv["line"] - 1]
    assert line.strip() == "privileged: yes"


def test_sarif_is_schema_valid_and_every_result_has_file_and_line():
    res = run_cli("scan", str(EXAMPLES / "insecure-app"), "-f", "sarif")
    log = json.loads(res.stdout)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert run["results"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        loc = result["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"].startswith(str(EXAMPLES).lstrip("/")) or loc["artifactLocation"]["uri"].startswith(
            "file://"
        )
        assert loc["region"]["startLine"] >= 1


def test_sarif_marks_suppressed_results_and_errors(tmp_manifests):
    pod = tmp_manifests(
        "s.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {ignore-check.kubeward.io/KW-P001: accepted}\n"
        "spec:\n  containers: [{name: c, image: x, securityContext: {privileged: true}}]\n",
    )
    broken = tmp_manifests("broken.yaml", "a: [\n")
    res = run_cli("scan", str(pod), str(broken), "-f", "sarif", "--check", "KW-P001")
    log = json.loads(res.stdout)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    (result,) = log["runs"][0]["results"]
    assert result["suppressions"] == [
        {"kind": "inSource", "justification": "accepted (annotation ignore-check.kubeward.io/KW-P001)"}
    ]
    invocation = log["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert "invalid YAML" in invocation["toolExecutionNotifications"][0]["message"]["text"]


def test_junit_report_counts_failures():
    res = run_cli("scan", str(EXAMPLES / "insecure-app"), "-f", "junit")
    root = ET.fromstring(res.stdout)
    assert root.tag == "testsuites"
    suites = {s.get("name").split()[0]: s for s in root.findall("testsuite")}
    assert suites["KW-P001"].get("failures") == "1"
    assert suites["KW-G001"].get("failures") == "0"  # no duplicates: one passing case
    assert int(root.get("failures")) == sum(int(s.get("failures")) for s in suites.values())
    failure = suites["KW-P001"].find("testcase/failure")
    assert "deployment.yaml:27" in failure.text


def test_table_groups_by_resource_and_summarises():
    res = run_cli("scan", str(EXAMPLES / "insecure-app"))
    out = res.stdout
    assert "Deployment/shop/web" in out and "DaemonSet/shop/log-collector" in out
    assert "CRITICAL KW-P001 privileged-container" in out
    summary = out.strip().splitlines()[-1]
    assert summary.startswith("135 findings (3 critical, 12 high, 50 medium, 60 low, 10 info) in 12 resources")
    assert "\x1b[" not in out  # no colour codes when not a terminal


def test_table_colours_on_request():
    assert "\x1b[" in run_cli("scan", str(EXAMPLES / "insecure-app"), "--color").stdout


ODD_TEXT = """\
apiVersion: v1
kind: Pod
metadata: {name: "tab\\there", namespace: "ns\\r"}
spec:
  containers: [{name: app, image: nginx, securityContext: {privileged: true}}]
---
apiVersion: v1
kind: Pod
metadata:
  name: "名前-ünï"
  annotations:
    ignore-check.kubeward.io/KW-P001: "  "
    ignore-check.kubeward.io/KW-I001: "pin\\tlater"
spec:
  containers: [{name: "\\u001b[31mred", image: nginx}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cm
  annotations: {"example.com/%s   ": "ghp_aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5"}
""" % ("k" * 90)


@pytest.mark.parametrize("show_suppressed", [False, True])
def test_plain_table_lines_are_what_rich_prints(tmp_path, show_suppressed):
    """Uncoloured, the table writes most lines itself (in scan workers); every line must be
    what rich prints for it: tabs, control and wide characters and long lines included."""
    import io

    from kubeward.config import Config
    from kubeward.engine import select_checks
    from kubeward.report import table
    from kubeward.runner import scan_paths

    (tmp_path / "odd.yaml").write_text(ODD_TEXT, encoding="utf-8")
    config = Config()
    result = scan_paths([str(tmp_path), str(EXAMPLES)], select_checks(config), config, jobs=1)
    assert result.suppressed and len(result.findings) > 100
    outputs = []
    for plain in (True, False):
        buffer = io.StringIO()
        stream = table.Stream(buffer, result.checks, show_suppressed=show_suppressed)
        if not plain:
            stream.encoder = None  # every line through rich
        stream.add(result.findings)
        outputs.append(buffer.getvalue())
    assert outputs[0] == outputs[1]
    assert "Pod/ns/tab " in outputs[0] and "\t" not in outputs[0] and "名前" in outputs[0]


def test_output_file(tmp_path):
    target = tmp_path / "report.sarif"
    res = run_cli("scan", str(EXAMPLES / "hardened-app"), "-f", "sarif", "-o", str(target))
    assert res.exit_code == 0 and res.stdout == ""
    results = json.loads(target.read_text())["runs"][0]["results"]
    assert {r["level"] for r in results} <= {"note"}  # advice only


def test_hardened_example_has_nothing_above_low():
    code, report = run_json("scan", str(EXAMPLES / "hardened-app"))
    assert code == 0 and report["summary"]["resources"] == 10
    assert {f["severity"] for f in report["findings"]} <= {"low", "info"}


def test_insecure_example_triggers_every_theme(insecure_json):
    themes = {f["check"][:4] for f in insecure_json["findings"]}
    assert themes >= {"KW-P", "KW-W", "KW-I", "KW-L", "KW-A", "KW-S", "KW-O", "KW-N", "KW-M", "KW-K"}
    # and a custom resource's pod template is checked like any workload
    assert any(f["kind"] == "Rollout" for f in insecure_json["findings"])
