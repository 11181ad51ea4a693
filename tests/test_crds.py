"""Pod specs inside common custom resources get the workload checks."""

from __future__ import annotations

from helpers import DATA, scan_text
from kubeward.inventory import kind_key, pod_spec_of
from kubeward.sources.files import load_bytes

TEXT = (DATA / "crds" / "workloads.yaml").read_text()


def test_kind_keys_keep_core_kinds_apart_from_custom_resources():
    keys = [kind_key(r) for r in load_bytes(TEXT.encode(), "crds.yaml").resources]
    assert keys == [
        "Rollout.argoproj.io",
        "Service.serving.knative.dev",
        "ScaledJob.keda.sh",
        "Workflow.argoproj.io",
        "Task.tekton.dev",
        "SparkApplication.sparkoperator.k8s.io",
        "Service",
    ]


def test_privileged_containers_are_found_in_every_custom_resource():
    result, loaded = scan_text(TEXT, only=["KW-P001"])
    assert not loaded.errors and not result.errors
    found = sorted((f.resource.kind, f.path_str) for f in result.findings)
    assert found == [
        ("Rollout", "spec.template.spec.containers[0].securityContext.privileged"),
        ("ScaledJob", "spec.jobTargetRef.template.spec.containers[0].securityContext.privileged"),
        ("Service", "spec.template.spec.containers[0].securityContext.privileged"),
        ("SparkApplication", "spec.driver.securityContext.privileged"),
        ("Task", "spec.steps[0].securityContext.privileged"),
        ("Workflow", "spec.templates[0].container.securityContext.privileged"),
    ]
    assert all(f.line for f in result.findings)


def test_pod_level_fields_and_template_annotations_of_custom_resources():
    resources = load_bytes(TEXT.encode(), "crds.yaml").resources
    workflow = pod_spec_of(resources[3])
    assert [c.path for c in workflow.containers()] == [("spec", "templates", 0, "container"), ("spec", "templates", 1, "script")]
    result, _ = scan_text(TEXT, only=["KW-P002", "KW-I001"])
    assert [(f.check_id, f.resource.kind) for f in result.findings if not f.suppressed] == [("KW-P002", "Workflow")]
    # the Rollout's pod template annotation suppresses its :latest finding
    assert [f.resource.kind for f in result.findings if f.suppressed] == ["Rollout"]
