"""Reading inputs: files, directories, stdin, Lists, JSON, Kustomize, Helm."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys

import pytest

from helpers import EXAMPLES
from kubeward.sources.files import load_bytes, load_paths

DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers: [{name: c, image: "nginx:1.27"}]
"""


def test_directory_is_walked_recursively_and_sorted(tmp_manifests):
    tmp_manifests("b/two.yml", DEPLOY.replace("web", "two"))
    tmp_manifests("a/one.yaml", DEPLOY.replace("web", "one"))
    tmp_manifests("a/three.json", '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "three"}}')
    tmp_manifests("a/notes.txt", "not a manifest")
    tmp_manifests(".hidden/x.yaml", DEPLOY)
    root = tmp_manifests("one.yaml", "").parent
    result = load_paths([str(root)])
    assert not result.errors
    assert [r.name for r in result.resources] == ["one", "three", "two"]


def test_multi_document_files_keep_index_and_start_line():
    text = "# header\n" + DEPLOY + "---\n" + DEPLOY.replace("web", "api")
    result = load_bytes(text.encode(), "m.yaml")
    assert [(r.name, r.doc_index, r.start_line) for r in result.resources] == [("web", 0, 1), ("api", 1, 9)]


def test_list_kinds_are_expanded_with_their_position():
    text = """apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ServiceList
    items:
      - {apiVersion: v1, kind: Service, metadata: {name: inner}}
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec: {template: {spec: {containers: [{name: c, image: nginx, securityContext: {privileged: true}}]}}}
"""
    result = load_bytes(text.encode(), "list.yaml")
    assert [(r.kind, r.list_path) for r in result.resources] == [
        ("Service", ("items", 0, "items", 0)),
        ("Deployment", ("items", 1)),
    ]
    from helpers import scan_text

    scanned, _ = scan_text(text, only=["KW-P001"])
    (finding,) = scanned.findings
    assert finding.line == 11  # the line inside the List, not the List's first line


def test_non_kubernetes_documents_are_skipped_quietly():
    result = load_bytes(b"name: my-values\nreplicas: 3\n---\n" + DEPLOY.encode(), "values.yaml")
    assert not result.errors
    assert result.skipped == 1 and len(result.resources) == 1


def test_json_file_and_json_stream_on_stdin():
    data = b'{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}}'
    assert load_bytes(data, "p.json", is_json=True).resources[0].name == "p"
    result = load_paths(["-"], stdin=io.BytesIO(data))
    assert result.resources[0].file == "<stdin>"


def test_stdin_through_the_real_command():
    proc = subprocess.run(
        [sys.executable, "-m", "kubeward", "scan", "-", "-f", "json", "--check", "KW-I001"],
        input=DEPLOY.replace("nginx:1.27", "nginx").encode(),
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    (finding,) = json.loads(proc.stdout)["findings"]
    assert (finding["file"], finding["line"]) == ("<stdin>", 7)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is needed to render Kustomize")
def test_kustomize_directory_is_rendered_with_kubectl(tmp_manifests):
    tmp_manifests("app/deployment.yaml", DEPLOY)
    tmp_manifests("app/kustomization.yaml", "resources: [deployment.yaml]\nnamespace: prod\nnamePrefix: k-\n")
    result = load_paths([str(tmp_manifests("app/x.txt", "").parent)])
    assert not result.errors
    (res,) = result.resources
    assert (res.name, res.namespace, res.rendered) == ("k-web", "prod", True)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is needed to render Kustomize")
def test_broken_kustomization_names_the_directory(tmp_manifests):
    path = tmp_manifests("bad/kustomization.yaml", "resources: [missing.yaml]\n").parent
    result = load_paths([str(path)])
    (error,) = result.errors
    assert error.file == str(path) and "kubectl failed" in error.message


def _chart(tmp_manifests):
    tmp_manifests("chart/Chart.yaml", "apiVersion: v2\nname: demo\nversion: 0.1.0\n")
    tmp_manifests("chart/values.yaml", "image: nginx\n")
    tmp_manifests("chart/templates/deploy.yaml", DEPLOY.replace('"nginx:1.27"', "{{ .Values.image | quote }}"))
    return tmp_manifests("chart/Chart.yaml", "apiVersion: v2\nname: demo\nversion: 0.1.0\n").parent


def test_helm_chart_without_helm_says_so(tmp_manifests, monkeypatch):
    chart = _chart(tmp_manifests)
    monkeypatch.setenv("PATH", "/nonexistent")
    result = load_paths([str(chart)])
    (error,) = result.errors
    assert "no 'helm' binary is on PATH" in error.message and error.file == str(chart)


def test_helm_output_is_attributed_to_each_template(tmp_manifests, monkeypatch, tmp_path):
    """Helm is not installable here; a script replays what `helm template` prints
    (the '# Source:' comments are helm's documented output format)."""
    chart = _chart(tmp_manifests)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "helm"
    fake.write_text(
        "#!/bin/sh\ncat <<'OUT'\n---\n# Source: demo/templates/deploy.yaml\n"
        + DEPLOY.replace('"nginx:1.27"', '"nginx"')
        + "OUT\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    result = load_paths([str(chart)])
    assert not result.errors
    (res,) = result.resources
    assert res.file == str(chart.parent / "demo/templates/deploy.yaml") and res.rendered


@pytest.mark.skipif(shutil.which("helm") is None, reason="needs a real helm binary")
def test_real_helm_renders_a_chart(tmp_manifests):
    result = load_paths([str(_chart(tmp_manifests))])
    assert not result.errors and result.resources[0].obj["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx"


def test_examples_load_without_errors():
    result = load_paths([str(EXAMPLES)])
    assert not result.errors and len(result.resources) >= 6
