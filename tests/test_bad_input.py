"""Bad input never crashes the scan: a one-line error naming the file (and
document), and everything else is still scanned."""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import run_cli, scan_text
from kubeward.config import Config
from kubeward.engine import scan, select_checks
from kubeward.inventory import Inventory
from kubeward.model import Resource
from kubeward.sources.files import load_paths

GOOD = """apiVersion: v1
kind: Pod
metadata: {name: good}
spec:
  containers: [{name: c, image: "nginx", securityContext: {privileged: true}}]
"""


def _scan_dir(path):
    res = run_cli("scan", str(path), "-f", "json", "--check", "KW-P001")
    return res.exit_code, json.loads(res.stdout), res.stderr


def test_broken_yaml_names_file_and_document_and_the_rest_is_scanned(tmp_manifests):
    tmp_manifests("a-broken.yaml", GOOD + "---\nkind: [unclosed\n---\n" + GOOD.replace("good", "after"))
    tmp_manifests("b-good.yaml", GOOD.replace("good", "other"))
    code, report, stderr = _scan_dir(tmp_manifests("x.txt", "").parent)
    assert code == 2
    names = sorted(f["name"] for f in report["findings"])
    assert names == ["after", "good", "other"]
    (error,) = report["errors"]
    assert error["file"].endswith("a-broken.yaml") and error["document"] == 2
    assert "a-broken.yaml (document 2): invalid YAML" in stderr
    assert "Traceback" not in stderr


def test_list_and_scalar_documents_are_errors(tmp_manifests):
    path = tmp_manifests("odd.yaml", "- a\n- b\n---\njust text\n---\n" + GOOD)
    result = load_paths([str(path)])
    assert [e.message for e in result.errors] == [
        "document is a list, not a Kubernetes object",
        "document is a scalar (str), not a Kubernetes object",
    ]
    assert [r.name for r in result.resources] == ["good"]


def test_wrong_field_types_are_reported_not_crashing():
    text = """apiVersion: apps/v1
kind: Deployment
metadata: {name: typo}
spec:
  template:
    spec:
      containers: "x"
      volumes: {a: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: typo2}
spec:
  containers:
    - "just a string"
    - name: c
      image: 42
      securityContext: "privileged"
      resources: [1, 2]
---
apiVersion: v1
kind: Pod
metadata: "not a mapping"
---
apiVersion: v1
kind: Pod
metadata: {name: nospec}
spec: [1]
"""
    result, loaded = scan_text(text)
    messages = [str(e) for e in (*loaded.errors, *result.errors)]
    assert any("(document 1)" in m and "spec.template.spec.containers must be a list, not str" in m for m in messages)
    assert any("spec.template.spec.volumes must be a list, not dict" in m for m in messages)
    assert any("(document 2)" in m and "spec.containers[0] must be an object, not str" in m for m in messages)
    assert any("(document 3)" in m and "metadata of Pod must be an object" in m for m in messages)
    assert any("(document 4)" in m and "spec must be an object, not list" in m for m in messages)
    # the well-typed container of document 2 is still checked
    assert any(f.resource.name == "typo2" and f.container == "c" for f in result.findings)


def test_fifty_megabyte_file_is_handled(tmp_manifests):
    # one 50 MB document cannot be applied (the API server takes 3 MiB): reported, not parsed
    big = tmp_manifests(
        "big.yaml",
        GOOD + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  blob: '" + "x" * (50 * 1024 * 1024) + "'\n",
    )
    tmp_manifests("small.yaml", GOOD.replace("good", "small"))
    code, report, stderr = _scan_dir(big.parent)
    assert code == 2
    assert sorted(f["name"] for f in report["findings"]) == ["good", "small"]
    assert "big.yaml (document 2): document is 50.0 MiB, larger than the API server accepts" in stderr


def test_file_over_the_size_limit_is_skipped(tmp_manifests):
    path = tmp_manifests("huge.yaml", GOOD * 1)
    os.truncate(path, 3 * 1024 * 1024)
    res = run_cli("scan", str(path), "--max-file-size", "2")
    assert res.exit_code == 2
    assert "huge.yaml: file is 3.0 MiB, above the 2 MiB limit (--max-file-size); skipped" in res.stderr


def test_billion_laughs_is_refused(tmp_manifests):
    lines = [
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata: {name: lol}",
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    ]
    prev = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = name
    path = tmp_manifests("lol.yaml", "\n".join(lines) + "\n---\n" + GOOD)
    code, report, stderr = _scan_dir(path)
    assert code == 2 and "excessive aliasing" in stderr
    assert [f["name"] for f in report["findings"]] == ["good"]


def test_binary_and_non_utf8_files(tmp_manifests):
    tmp_manifests("image.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    tmp_manifests("latin1.yaml", "metadata: {name: caf\xe9}\n".encode("latin-1"))
    tmp_manifests("ok.yaml", GOOD)
    code, report, stderr = _scan_dir(tmp_manifests("ok.yaml", GOOD).parent)
    assert code == 2
    assert "image.yaml: binary file, not a manifest; skipped" in stderr
    assert "latin1.yaml: not UTF-8 text (invalid byte 0xe9 on line 1); skipped" in stderr
    assert len(report["findings"]) == 1


def test_unreadable_and_missing_paths(tmp_manifests, tmp_path):
    dangling = tmp_path / "dangling.yaml"
    dangling.symlink_to(tmp_path / "gone.yaml")
    tmp_manifests("ok.yaml", GOOD)
    res = run_cli("scan", str(tmp_path / "ok.yaml"), str(dangling), str(tmp_path / "missing"), "--check", "KW-P001")
    assert res.exit_code == 2
    assert "dangling.yaml: no such file or directory" in res.stderr
    assert "missing: no such file or directory" in res.stderr
    assert "Pod/good" in res.stdout
    if os.geteuid() != 0:  # root reads any file
        locked = tmp_manifests("locked.yaml", GOOD)
        locked.chmod(0)
        assert "permission denied" in run_cli("scan", str(locked)).stderr


# -- property: no document, however odd, crashes the engine -------------------

json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
json_tree = st.recursive(
    json_leaf, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3), max_leaves=15
)
field_names = st.sampled_from(
    [
        "containers",
        "initContainers",
        "ephemeralContainers",
        "securityContext",
        "volumes",
        "hostPath",
        "privileged",
        "capabilities",
        "add",
        "image",
        "resources",
        "limits",
        "requests",
        "runAsUser",
        "runAsNonRoot",
        "hostNetwork",
        "template",
        "spec",
        "metadata",
        "annotations",
        "name",
        "jobTemplate",
        "readOnlyRootFilesystem",
        "allowPrivilegeEscalation",
        # custom resources, Services, webhooks, secrets
        "templates",
        "container",
        "script",
        "steps",
        "sidecars",
        "driver",
        "executor",
        "jobTargetRef",
        "webhooks",
        "rules",
        "ports",
        "selector",
        "type",
        "data",
        "stringData",
        "env",
        "envFrom",
        "valueFrom",
        "secretKeyRef",
        "value",
        "args",
        "command",
        "volumeMounts",
        "readOnly",
        "defaultMode",
        "tls",
        "hosts",
        "failurePolicy",
        "clientConfig",
        "url",
        "namespaceSelector",
        "replicas",
        "labels",
        "matchLabels",
    ]
)
k8s_tree = st.recursive(
    json_leaf,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(field_names, c, max_size=4),
    max_leaves=25,
)
kinds = st.sampled_from(
    [
        ("v1", "Pod"), ("apps/v1", "Deployment"), ("batch/v1", "CronJob"), ("v1", "PodTemplate"), ("apps/v1", "DaemonSet"),
        ("v1", "ConfigMap"), ("v1", "List"), ("v1", "Unknown"), ("v1", "Service"), ("networking.k8s.io/v1", "Ingress"),
        ("v1", "Secret"), ("v1", "Namespace"), ("v1", "ServiceAccount"), ("policy/v1", "PodDisruptionBudget"),
        ("networking.k8s.io/v1", "NetworkPolicy"), ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
        ("apiregistration.k8s.io/v1", "APIService"), ("batch/v1beta1", "CronJob"), ("argoproj.io/v1alpha1", "Workflow"),
        ("argoproj.io/v1alpha1", "Rollout"), ("tekton.dev/v1", "Task"), ("sparkoperator.k8s.io/v1beta2", "SparkApplication"),
        ("serving.knative.dev/v1", "Service"),
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kinds, k8s_tree, json_tree)
def test_random_documents_never_crash_the_engine(kind, body, extra):
    api_version, kind = kind
    annotations = extra if isinstance(extra, dict) else {}
    obj = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x", "annotations": annotations}}
    if isinstance(body, dict):
        obj.update(body)
    else:
        obj["spec"] = body
    resource = Resource(obj, "random.yaml")
    config = Config()
    result = scan(Inventory([resource]), select_checks(config), config)
    for error in result.errors:
        assert "could not evaluate" not in error.message, error  # checks handle every shape themselves
    for finding in result.findings:
        assert finding.message and finding.line is not None
