"""Operations checks (KW-O): probes, replicas, disruption budgets, selectors, housekeeping."""

from __future__ import annotations

import pytest

from helpers import DATA, scan_text
from kubeward import runner
from kubeward.checks.registry import all_checks
from kubeward.config import Config, parse_config
from kubeward.engine import select_checks
from kubeward.selectors import selector_matches

WEB = {"app": "web", "tier": "front"}
CONTAINER = "containers: [{name: app, image: x:1}]\n"


def _hits(text: str, check_id: str, config: Config | None = None) -> list[tuple[str, str, str]]:
    result, loaded = scan_text(text, only=[check_id], config=config)
    assert not loaded.errors and not result.errors
    return [(f.resource.ref, f.path_str, f.message) for f in result.findings]


def _deployment(name="web", namespace="shop", replicas="3", labels="{app: web, tier: front}", kind="Deployment") -> str:
    replicas_line = f"  replicas: {replicas}\n" if replicas is not None else ""
    return f"""apiVersion: apps/v1
kind: {kind}
metadata: {{name: {name}, namespace: {namespace}}}
spec:
{replicas_line}  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {labels}
    spec:
      containers:
        - name: app
          image: ghcr.io/shop/web:1.4.2
"""


def _pdb(name="web", namespace="shop", selector="{matchLabels: {app: web}}", api="policy/v1") -> str:
    ns = f", namespace: {namespace}" if namespace else ""
    return f"""apiVersion: {api}
kind: PodDisruptionBudget
metadata: {{name: {name}{ns}}}
spec:
  maxUnavailable: 1
  selector: {selector}
"""


# -- selector_matches ----------------------------------------------------------------


@pytest.mark.parametrize(
    "selector,labels,expected",
    [
        # missing, malformed and empty selectors
        (None, WEB, False),
        ("app=web", WEB, False),
        ({}, WEB, True),
        ({}, {}, True),
        ({"matchLabels": {}, "matchExpressions": []}, WEB, True),
        # matchLabels: every pair must be present with the same value
        ({"matchLabels": {"app": "web"}}, WEB, True),
        ({"matchLabels": {"app": "web", "tier": "front"}}, WEB, True),
        ({"matchLabels": {"app": "web", "tier": "back"}}, WEB, False),
        ({"matchLabels": {"app": "web", "track": "canary"}}, WEB, False),
        ({"matchLabels": {"app": "web"}}, {}, False),
        ({"matchLabels": {"app": "web"}}, None, False),
        ({"matchLabels": ["app"]}, WEB, False),
        # In
        ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "edge"]}]}, WEB, True),
        ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["back"]}]}, WEB, False),
        ({"matchExpressions": [{"key": "track", "operator": "In", "values": ["canary"]}]}, WEB, False),
        # NotIn: a pod without the label is not in the set
        ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["back"]}]}, WEB, True),
        ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]}, WEB, False),
        ({"matchExpressions": [{"key": "track", "operator": "NotIn", "values": ["canary"]}]}, WEB, True),
        # Exists / DoesNotExist
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, WEB, True),
        ({"matchExpressions": [{"key": "track", "operator": "Exists"}]}, WEB, False),
        ({"matchExpressions": [{"key": "track", "operator": "DoesNotExist"}]}, WEB, True),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, WEB, False),
        # requirements are ANDed, with matchLabels too
        (
            {
                "matchLabels": {"app": "web"},
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["front"]},
                    {"key": "debug", "operator": "DoesNotExist"},
                ],
            },
            WEB,
            True,
        ),
        (
            {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "tier", "operator": "Exists"}, {"key": "x", "operator": "Exists"}],
            },
            WEB,
            False,
        ),
        ({"matchLabels": {"app": "api"}, "matchExpressions": [{"key": "tier", "operator": "Exists"}]}, WEB, False),
        # malformed requirements select nothing, never raise
        ({"matchExpressions": [{"key": "tier", "operator": "Matches", "values": ["front"]}]}, WEB, False),
        ({"matchExpressions": [{"key": ["tier"], "operator": "Exists"}]}, WEB, False),
        ({"matchExpressions": [{"key": "tier", "operator": "In", "values": "front"}]}, WEB, False),
        ({"matchExpressions": ["tier"]}, WEB, False),
        ({"matchExpressions": {"key": "tier"}}, WEB, False),
    ],
)
def test_selector_matches(selector, labels, expected):
    assert selector_matches(selector, labels) is expected


# -- KW-O005: namespace-aware PDB matching and release safety -----------------------------


def test_pdb_in_another_namespace_does_not_count():
    assert _hits(_deployment() + "---\n" + _pdb(namespace="staging"), "KW-O005") == [
        ("Deployment/shop/web", "spec.replicas", "3 replicas but no PodDisruptionBudget in namespace 'shop' selects their pods")
    ]
    assert _hits(_deployment() + "---\n" + _pdb(namespace="staging") + "---\n" + _pdb(), "KW-O005") == []


def test_pdb_matching_without_namespaces_and_with_empty_selectors():
    # both namespaces decided at apply time: the same namespace
    assert _hits(_deployment(namespace='""') + "---\n" + _pdb(namespace=None), "KW-O005") == []
    # an explicit namespace is not the one decided at apply time
    (hit,) = _hits(_deployment(namespace='""') + "---\n" + _pdb(namespace="shop"), "KW-O005")
    assert hit[2] == "3 replicas but no PodDisruptionBudget in its namespace selects their pods"
    # policy/v1: {} selects every pod of the namespace; policy/v1beta1: none; a missing selector: none
    assert _hits(_deployment() + "---\n" + _pdb(selector="{}"), "KW-O005") == []
    assert len(_hits(_deployment() + "---\n" + _pdb(selector="{}", api="policy/v1beta1"), "KW-O005")) == 1
    assert len(_hits(_deployment() + "---\n" + _pdb(selector="null"), "KW-O005")) == 1


def test_pdb_check_counts_replicas_as_the_api_does():
    assert _hits(_deployment(replicas=None), "KW-O005") == []  # unset: 1
    assert _hits(_deployment(replicas="1"), "KW-O005") == []
    assert _hits(_deployment(replicas="0"), "KW-O005") == []
    assert _hits(_deployment(replicas='"3"'), "KW-O005") == []  # wrong type: not guessed
    assert len(_hits(_deployment(replicas="2", kind="StatefulSet"), "KW-O005")) == 1
    assert _hits(_deployment(kind="ReplicaSet") + "---\n" + _deployment(kind="DaemonSet"), "KW-O005") == []


def _released(paths, only):
    config = Config()
    result = runner.scan_paths([str(p) for p in paths], select_checks(config, only=only), config, jobs=1)
    assert not result.errors
    return sorted((f.check_id, f.resource.ref, f.path_str, f.message) for f in result.findings)


def _in_memory(text, only):
    result, _ = scan_text(text, only=only)
    return sorted((f.check_id, f.resource.ref, f.path_str, f.message) for f in result.findings)


@pytest.mark.parametrize("fixture", ["fail", "pass"])
def test_pdb_missing_after_release_equals_in_memory(tmp_path, fixture):
    text = (DATA / "checks" / "KW-O005" / f"{fixture}.yaml").read_text()
    path = tmp_path / "manifests.yaml"
    path.write_text(text)
    released = _released([path], ["KW-O005"])
    assert released == _in_memory(text, ["KW-O005"])
    assert bool(released) is (fixture == "fail")


def test_pdb_missing_after_release_across_files_and_with_every_check(tmp_path):
    (tmp_path / "a-deploy.yaml").write_text(_deployment() + "---\n" + _deployment(name="api", namespace="prod"))
    (tmp_path / "b-pdb.yaml").write_text(_pdb() + "---\n" + _pdb(namespace="staging"))
    expected = [
        (
            "KW-O005",
            "Deployment/prod/api",
            "spec.replicas",
            "3 replicas but no PodDisruptionBudget in namespace 'prod' selects their pods",
        )
    ]
    assert _released([tmp_path], ["KW-O005"]) == expected
    config = Config()
    result = runner.scan_paths([str(tmp_path)], select_checks(config), config, jobs=1)
    assert [(f.resource.ref, f.message) for f in result.findings if f.check_id == "KW-O005"] == [(expected[0][1], expected[0][3])]


# -- replicas --------------------------------------------------------------------------


def test_single_replica_defaults():
    assert _hits(_deployment(replicas=None), "KW-O004") == [
        ("Deployment/shop/web", "spec.replicas", "Deployment runs a single replica (spec.replicas unset)")
    ]
    assert _hits(_deployment(replicas="1", kind="StatefulSet"), "KW-O004") == [
        ("StatefulSet/shop/web", "spec.replicas", "StatefulSet runs a single replica")
    ]
    for replicas in ("0", "2", '"1"', "true", "-1"):
        assert _hits(_deployment(replicas=replicas), "KW-O004") == [], replicas
    assert _hits(_deployment(replicas=None, kind="ReplicaSet"), "KW-O004") == []


def test_spreading_needs_two_replicas_and_a_real_rule():
    assert _hits(_deployment(replicas=None), "KW-O009") == []
    assert _hits(_deployment(replicas="1"), "KW-O009") == []
    (hit,) = _hits(_deployment(replicas="2"), "KW-O009")
    assert hit == (
        "Deployment/shop/web",
        "spec.template.spec.affinity",
        "2 replicas without podAntiAffinity or topologySpreadConstraints: all may run on one node",
    )
    empty = _deployment().replace(
        "      containers:", "      affinity: {podAntiAffinity: {}}\n      topologySpreadConstraints: []\n      containers:"
    )
    assert len(_hits(empty, "KW-O009")) == 1


# -- probes ---------------------------------------------------------------------------

PROBES = ("KW-O001", "KW-O002", "KW-O003")
UNPROBED = """
  initContainers:
    - name: setup
      image: busybox:1.36
    - name: log-shipper          # a sidecar (restartPolicy: Always) is still an init container
      image: fluent/fluent-bit:3.0
      restartPolicy: Always
  containers:
    - name: app
      image: ghcr.io/shop/app:1.0
      livenessProbe: &probe
        httpGet: {path: /health, port: 8080}
      readinessProbe: *probe
"""


@pytest.mark.parametrize("check_id", PROBES)
def test_probes_are_never_required_on_init_or_ephemeral_containers(check_id):
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:" + UNPROBED.replace(
        "livenessProbe: &probe", "livenessProbe:"
    ).replace("readinessProbe: *probe", "readinessProbe: {httpGet: {path: /ready, port: 8080}}")
    text += "  ephemeralContainers:\n    - {name: debug, image: busybox:1.36}\n"
    assert _hits(text, check_id) == []


@pytest.mark.parametrize("check_id", PROBES)
@pytest.mark.parametrize(
    "kind,prefix",
    [
        ("Job", "spec:\n  template:\n    spec:"),
        ("CronJob", 'spec:\n  schedule: "@daily"\n  jobTemplate:\n    spec:\n      template:\n        spec:'),
    ],
)
def test_probes_are_never_required_on_jobs(check_id, kind, prefix):
    depth = prefix.count("\n") * 2
    body = "\n".join(
        " " * depth + line if line else line
        for line in "  restartPolicy: Never\n  containers:\n    - {name: task, image: busybox:1.36}".split("\n")
    )
    text = f"apiVersion: batch/v1\nkind: {kind}\nmetadata: {{name: j}}\n{prefix}\n{body}\n"
    result, loaded = scan_text(text, only=["KW-P001"])  # the document is a well-formed workload
    assert not loaded.errors and not result.errors
    assert _hits(text, check_id) == []


def test_probe_messages_name_the_container_and_cover_long_running_kinds():
    for kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
        assert _hits(_deployment(kind=kind), "KW-O001") == [
            (f"{kind}/shop/web", "spec.template.spec.containers[0].livenessProbe", "container 'app' has no livenessProbe")
        ]
    rc = "apiVersion: v1\nkind: ReplicationController\nmetadata: {name: rc}\nspec:\n  template:\n    spec:\n      " + CONTAINER
    assert _hits(rc, "KW-O002") == [
        ("ReplicationController/rc", "spec.template.spec.containers[0].readinessProbe", "container 'app' has no readinessProbe")
    ]
    always = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  restartPolicy: Always\n  " + CONTAINER
    assert len(_hits(always, "KW-O001")) == 1
    template = (
        "apiVersion: v1\nkind: PodTemplate\nmetadata: {name: t}\ntemplate:\n  spec:\n    containers: [{name: app, image: x:1}]\n"
    )
    assert _hits(template, "KW-O001") == []


def _probes(liveness: str, readiness: str) -> str:
    return f"""apiVersion: v1
kind: Pod
metadata: {{name: p}}
spec:
  containers:
    - name: app
      image: x:1
      livenessProbe: {liveness}
      readinessProbe: {readiness}
"""


@pytest.mark.parametrize(
    "liveness,readiness,identical",
    [
        ("{httpGet: {path: /h, port: 80}}", "{httpGet: {path: /h, port: 80}}", True),
        # explicit defaults are the same probe
        (
            "{httpGet: {path: /h, port: 80}, periodSeconds: 10, timeoutSeconds: 1}",
            "{httpGet: {path: /h, port: 80}, failureThreshold: 3}",
            True,
        ),
        # terminationGracePeriodSeconds is liveness-only and not part of the comparison
        ("{exec: {command: [ok]}, terminationGracePeriodSeconds: 5}", "{exec: {command: [ok]}}", True),
        ("{httpGet: {path: /h, port: 80}, failureThreshold: 6}", "{httpGet: {path: /h, port: 80}}", False),
        ("{httpGet: {path: /live, port: 80}}", "{httpGet: {path: /ready, port: 80}}", False),
        ("{tcpSocket: {port: 80}}", "{httpGet: {path: /, port: 80}}", False),
        ("{}", "{}", False),  # no handler: not a probe worth comparing
        ("{periodSeconds: 5}", "{periodSeconds: 5}", False),
        ("null", "{tcpSocket: {port: 80}}", False),
    ],
)
def test_identical_probes(liveness, readiness, identical):
    hits = _hits(_probes(liveness, readiness), "KW-O003")
    assert hits == (
        [("Pod/p", "spec.containers[0].livenessProbe", "container 'app' has identical liveness and readiness probes")]
        if identical
        else []
    )


# -- disruption budgets, namespaces, labels, housekeeping --------------------------------


@pytest.mark.parametrize(
    "field,value,reported",
    [
        ("maxUnavailable", "0", True),
        ("maxUnavailable", '"0%"', True),
        ("maxUnavailable", "1", False),
        ("maxUnavailable", '"25%"', False),
        ("maxUnavailable", "false", False),
        ("minAvailable", '"100%"', True),
        ("minAvailable", "100", False),  # an absolute count: depends on the replicas
        ("minAvailable", '"99%"', False),
        ("minAvailable", "0", False),
        ("minAvailable", "[100%]", False),
    ],
)
def test_pdb_blocks_eviction(field, value, reported):
    text = (
        f"apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: b}}\nspec:\n  {field}: {value}\n  selector: {{}}\n"
    )
    hits = _hits(text, "KW-O006")
    assert bool(hits) is reported
    if reported:
        assert hits[0][1] == f"spec.{field}" and "no pod can ever be evicted" in hits[0][2]


def test_default_namespace_only_when_explicit_and_namespaced():
    assert _hits(_deployment(namespace="default"), "KW-O007") == [
        ("Deployment/default/web", "metadata.namespace", "Deployment is placed in the default namespace")
    ]
    for kind in ("Secret", "RoleBinding", "PodDisruptionBudget", "ResourceQuota"):
        assert len(_hits(f"apiVersion: v1\nkind: {kind}\nmetadata: {{name: x, namespace: default}}\n", "KW-O007")) == 1
    assert _hits("apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n", "KW-O007") == []
    assert _hits("apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: x, namespace: default}\n", "KW-O007") == []


def test_recommended_labels_come_from_config():
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {app: web}\nspec:\n  containers: [{name: app, image: x:1}]\n"
    )
    assert _hits(text, "KW-O008") == [("Pod/p", "metadata.labels", "missing recommended label: app.kubernetes.io/name")]
    both = parse_config({"recommended-labels": ["app", "team"]}, "c")
    assert _hits(text, "KW-O008", both) == [("Pod/p", "metadata.labels", "missing recommended label: team")]
    assert _hits(text, "KW-O008", parse_config({"recommended-labels": []}, "c")) == []


def test_selector_mismatch_messages():
    assert _hits(_deployment(labels="{app: api}"), "KW-O013") == [
        ("Deployment/shop/web", "spec.selector", "spec.selector does not select the pod template labels {app=api}")
    ]
    no_labels = _deployment().replace("      labels: {app: web, tier: front}\n", "      annotations: {a: b}\n")
    assert _hits(no_labels, "KW-O013")[0][2] == "spec.selector does not select the pod template labels {}"
    empty = _deployment().replace("matchLabels: {app: web}", "matchLabels: {}")
    assert _hits(empty, "KW-O013") == [
        ("Deployment/shop/web", "spec.selector", "spec.selector is empty (the API server rejects it)")
    ]
    assert _hits(_deployment(), "KW-O013") == []


def test_bare_pod_job_ttl_and_cronjob_deadline():
    assert _hits("apiVersion: v1\nkind: Pod\nmetadata: {name: p, ownerReferences: []}\nspec: {}\n", "KW-O010") == [
        ("Pod/p", "metadata.ownerReferences", "bare Pod: no controller recreates it if its node fails or is drained")
    ]
    job = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n      " + CONTAINER
    assert _hits(job, "KW-O011") == [
        ("Job/j", "spec.ttlSecondsAfterFinished", "Job has no ttlSecondsAfterFinished: it and its pods are never cleaned up")
    ]
    assert _hits(job.replace("spec:\n  template", "spec:\n  ttlSecondsAfterFinished: 0\n  template"), "KW-O011") == []
    owned_by_other = job.replace("metadata: {name: j}", "metadata: {name: j, ownerReferences: [{kind: Workflow, name: w}]}")
    assert len(_hits(owned_by_other, "KW-O011")) == 1
    cron = "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  schedule: '@daily'\n"
    cron += "  jobTemplate: {spec: {template: {spec: {}}}}\n"
    assert _hits(cron, "KW-O012") == [("CronJob/c", "spec.startingDeadlineSeconds", "CronJob has no startingDeadlineSeconds")]
    assert _hits(cron, "KW-O011") == []


def test_metadata_follows_the_catalogue_rules():
    checks = [c for c in all_checks() if c.id.startswith("KW-O")]
    assert [c.id for c in checks] == [f"KW-O{i:03d}" for i in range(1, 14)]
    for c in checks:
        assert "reliability" in c.tags and c.example, c.id
        assert c.refs.get("mitre") and (c.refs.get("cis") or c.refs.get("nsa")), c.id
    pdb = next(c for c in checks if c.id == "KW-O005")
    assert pdb.scope == "inventory" and pdb.kinds == {"PodDisruptionBudget"}
    assert next(c for c in checks if c.id == "KW-O007").refs["cis"] == "5.7.4"
