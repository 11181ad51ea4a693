"""Resources (KW-L), service accounts (KW-A) and namespaces (KW-M): messages, quantities,
namespace-aware cross-resource matching, and inventory checks after resources are released."""

from __future__ import annotations

from fractions import Fraction

import pytest

from helpers import DATA, run_cli, run_json, scan_text
from kubeward.checks.resources import parse_quantity
from kubeward.config import Config
from kubeward.engine import select_checks
from kubeward.runner import scan_paths


def _scan_paths(path, check_id):
    """A scan through the runner: resources are released before inventory checks run."""
    config = Config()
    return scan_paths([str(path)], select_checks(config, only=[check_id]), config, jobs=1)


def _facts(result):
    return [(f.resource.ref, f.path_str, f.message) for f in result.findings]


def both_ways(text, check_id, tmp_path):
    """Findings via scan_text (resources whole) and via scan_paths (released): they must agree."""
    result, loaded = scan_text(text, only=[check_id])
    assert not loaded.errors and not result.errors
    target = tmp_path / "input.yaml"
    target.write_text(text)
    released = _scan_paths(target, check_id)
    assert not released.errors
    assert _facts(released) == _facts(result)
    return _facts(result)


def _workload(kind, name, namespace=None, spec=""):
    ns = f", namespace: {namespace}" if namespace else ""
    return f"""apiVersion: v1
kind: {kind}
metadata: {{name: {name}{ns}}}
spec:
  {spec}
  containers: [{{name: app, image: ghcr.io/acme/app:1.0}}]
"""


def _docs(*docs):
    return "---\n".join(docs)


# --- quantities ---------------------------------------------------------------


@pytest.mark.parametrize(
    "a,b",
    [
        ("500m", "0.5"),
        ("500m", 0.5),
        ("1Gi", "1024Mi"),
        ("1Mi", "1024Ki"),
        ("1e3", "1k"),
        ("1e3", 1000),
        ("1E3", "1000"),
        ("1.5Gi", "1536Mi"),
        (".5", "500m"),
        ("1e-3", "1m"),
        ("1e+20", 1e20),
        ("2", 2),
        ("1000000n", "1m"),
        ("1000u", "1m"),
    ],
)
def test_equal_quantities(a, b):
    assert parse_quantity(a) == parse_quantity(b) is not None


def test_quantity_values():
    assert parse_quantity("1Ki") == 1024
    assert parse_quantity("1k") == 1000
    assert parse_quantity("1E") == 10**18  # E alone is exa, not an exponent
    assert parse_quantity("1Ei") == 2**60
    assert parse_quantity("100m") == Fraction(1, 10)
    assert parse_quantity("1G") < parse_quantity("1Gi")
    assert isinstance(parse_quantity("1"), Fraction)


@pytest.mark.parametrize(
    "value", [None, True, False, "", "abc", "1K", "1KiB", "1e", "Gi", "1 Gi", " 1", "inf", float("nan"), [], {}]
)
def test_unparsable_quantities_are_none(value):
    assert parse_quantity(value) is None


def test_hostile_quantities_are_refused_cheaply():
    assert parse_quantity("1e999999999") is None
    assert parse_quantity("9" * 10_000) is None  # more digits than int() converts


# --- KW-L001 / KW-L002 ----------------------------------------------------------


def test_ephemeral_storage_limit_message_and_ephemeral_containers():
    result, _ = scan_text((DATA / "checks" / "KW-L001" / "fail.yaml").read_text(), only=["KW-L001"])
    assert _facts(result) == [
        (
            "Deployment/shop/web",
            "spec.template.spec.initContainers[0].resources.limits.ephemeral-storage",
            "container 'migrate' has no ephemeral-storage limit",
        ),
        (
            "Deployment/shop/web",
            "spec.template.spec.containers[0].resources.limits.ephemeral-storage",
            "container 'web' has no ephemeral-storage limit",
        ),
    ]
    assert [f.container for f in result.findings] == ["migrate", "web"]


def test_limits_below_requests_messages():
    result, _ = scan_text((DATA / "checks" / "KW-L002" / "fail.yaml").read_text(), only=["KW-L002"])
    assert [(f.path_str.rsplit(".", 1)[1], f.message) for f in result.findings] == [
        ("cpu", "container 'postgres': cpu limit 500m is below the request 1"),
        ("memory", "container 'postgres': memory limit 1000Mi is below the request 1Gi"),
        ("ephemeral-storage", "container 'postgres': ephemeral-storage limit 2G is below the request 2Gi"),
    ]


@pytest.mark.parametrize(
    "request_,limit,fires",
    [
        ("500m", "0.5", False),
        ("0.5", "499m", True),
        ("1Gi", "1024Mi", False),
        ("1Gi", "1023Mi", True),
        ("1k", "1e3", False),
        ("1001", "1e3", True),
        ("1Gi", "1G", True),  # 10^9 < 2^30
        ("1G", "1Gi", False),
        ("lots", "1Gi", False),  # unparsable: skipped
    ],
)
def test_limits_below_requests_compares_quantities(request_, limit, fires):
    text = f"""apiVersion: v1
kind: Pod
metadata: {{name: p}}
spec:
  containers:
    - name: app
      image: x:1
      resources:
        requests: {{memory: "{request_}"}}
        limits: {{memory: "{limit}"}}
"""
    result, _ = scan_text(text, only=["KW-L002"])
    assert bool(result.findings) is fires


def test_resource_checks_survive_odd_types():
    text = """apiVersion: v1
kind: Pod
metadata: {name: odd}
spec:
  containers:
    - name: a
      image: x:1
      resources: {limits: [1, 2], requests: "big"}
    - name: b
      image: x:1
      resources: {limits: {cpu: {x: 1}, memory: true}, requests: {cpu: [1], memory: 1}}
"""
    result, _ = scan_text(text, only=["KW-L001", "KW-L002"])
    assert not result.errors
    assert [(f.check_id, f.container) for f in result.findings] == [("KW-L001", "a"), ("KW-L001", "b")]


# --- KW-L003 / KW-L004 ----------------------------------------------------------


@pytest.mark.parametrize("check_id,kind", [("KW-L003", "LimitRange"), ("KW-L004", "ResourceQuota")])
def test_namespace_policies_fail_fixture_after_release(check_id, kind, tmp_path):
    text = (DATA / "checks" / check_id / "fail.yaml").read_text()
    assert both_ways(text, check_id, tmp_path) == [
        ("Namespace/shop", "metadata.name", f"namespace 'shop' has workloads but no {kind}"),
        ("CronJob/batch/report", "metadata.namespace", f"namespace 'batch' has workloads but no {kind}"),
    ]


@pytest.mark.parametrize("check_id,kind", [("KW-L003", "LimitRange"), ("KW-L004", "ResourceQuota")])
def test_namespace_policies_are_matched_by_namespace(check_id, kind, tmp_path):
    policy = f"apiVersion: v1\nkind: {kind}\nmetadata: {{name: p, namespace: a}}\n"
    text = _docs(
        policy,
        _workload("Pod", "one", "a"),
        _workload("Pod", "two", "b"),
        _workload("Pod", "three", "b"),  # one finding per namespace, on its first workload
        _workload("Pod", "nowhere"),  # no namespace: skipped
    )
    assert both_ways(text, check_id, tmp_path) == [
        ("Pod/b/two", "metadata.namespace", f"namespace 'b' has workloads but no {kind}"),
    ]


def test_namespace_policies_pass_fixture_after_release(tmp_path):
    for check_id in ("KW-L003", "KW-L004"):
        text = (DATA / "checks" / check_id / "pass.yaml").read_text()
        assert both_ways(text, check_id, tmp_path) == []


# --- KW-A001 ------------------------------------------------------------------


def _sa(name, namespace, automount=None):
    line = "" if automount is None else f"automountServiceAccountToken: {str(automount).lower()}\n"
    return f"apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: {name}, namespace: {namespace}}}\n{line}"


def _pod(name, namespace, sa=None, automount=None, field="serviceAccountName"):
    lines = []
    if sa is not None:
        lines.append(f"{field}: {sa}")
    if automount is not None:
        lines.append(f"automountServiceAccountToken: {str(automount).lower()}")
    return _workload("Pod", name, namespace, "\n  ".join(lines))


POD_SAYS = "service account token is mounted: the pod spec sets automountServiceAccountToken: true"


def _sa_says(name):
    return (
        f"service account token is mounted: ServiceAccount {name!r} sets automountServiceAccountToken: true"
        " and the pod spec does not override it"
    )


def _default_says(name, in_input):
    if in_input:
        return (
            f"service account token is mounted by default (neither the pod spec nor ServiceAccount {name!r}"
            " sets automountServiceAccountToken)"
        )
    return (
        "service account token is mounted by default (the pod spec does not set automountServiceAccountToken"
        f" and ServiceAccount {name!r} is not in the input)"
    )


@pytest.mark.parametrize(
    "pod_value,sa_value,sa_present,expected",
    [
        (True, False, True, POD_SAYS),  # the pod wins over the ServiceAccount
        (False, True, True, None),
        (True, None, False, POD_SAYS),
        (False, None, False, None),
        (None, True, True, _sa_says("app")),  # then the ServiceAccount
        (None, False, True, None),
        (None, None, True, _default_says("app", True)),  # then the default: mounted
        (None, None, False, _default_says("app", False)),
    ],
)
def test_automount_precedence_pod_then_service_account_then_default(pod_value, sa_value, sa_present, expected, tmp_path):
    docs = [_pod("p", "shop", "app", pod_value)]
    if sa_present:
        docs.append(_sa("app", "shop", sa_value))
    facts = both_ways(_docs(*docs), "KW-A001", tmp_path)
    assert facts == ([] if expected is None else [("Pod/shop/p", "spec.automountServiceAccountToken", expected)])


def test_automount_matches_service_account_by_namespace_and_name(tmp_path):
    text = _docs(
        _sa("app", "other", False),  # same name, other namespace: does not count
        _sa("worker", "shop", False),  # same namespace, other name: does not count
        _pod("p", "shop", "app"),
    )
    assert both_ways(text, "KW-A001", tmp_path) == [
        ("Pod/shop/p", "spec.automountServiceAccountToken", _default_says("app", False))
    ]


def test_automount_follows_the_account_the_pod_really_uses(tmp_path):
    text = _docs(
        _sa("default", "shop", False),
        _sa("legacy", "shop", False),
        _sa("new", "shop", True),
        _pod("implicit", "shop"),  # no name: "default"
        _pod("old", "shop", "legacy", field="serviceAccount"),  # the deprecated alias still counts
        _workload("Pod", "both", "shop", "serviceAccountName: new\n  serviceAccount: legacy"),  # serviceAccountName wins
    )
    assert both_ways(text, "KW-A001", tmp_path) == [("Pod/shop/both", "spec.automountServiceAccountToken", _sa_says("new"))]


def test_automount_fixtures_after_release(tmp_path):
    fail = both_ways((DATA / "checks" / "KW-A001" / "fail.yaml").read_text(), "KW-A001", tmp_path)
    assert fail == [
        ("Deployment/shop/operator", "spec.template.spec.automountServiceAccountToken", POD_SAYS),
        ("Deployment/shop/web", "spec.template.spec.automountServiceAccountToken", _sa_says("web")),
        ("Job/shop/worker", "spec.template.spec.automountServiceAccountToken", _default_says("worker", False)),
    ]
    assert both_ways((DATA / "checks" / "KW-A001" / "pass.yaml").read_text(), "KW-A001", tmp_path) == []


def test_released_workloads_really_lose_their_containers(tmp_path):
    """The release-safety tests above are meaningful only if the runner does release."""
    target = tmp_path / "p.yaml"
    target.write_text(_pod("p", "shop", "app", True))
    (finding,) = _scan_paths(target, "KW-A001").findings
    assert "spec" not in finding.resource.obj
    assert (finding.resource.facts.account, finding.resource.facts.automount) == ("app", True)


# --- KW-A002 .. KW-A005 ---------------------------------------------------------


def test_default_service_account_messages():
    result, _ = scan_text((DATA / "checks" / "KW-A002" / "fail.yaml").read_text(), only=["KW-A002"])
    assert _facts(result) == [
        (
            "Deployment/shop/web",
            "spec.template.spec.serviceAccountName",
            "pod runs as the namespace's default ServiceAccount (serviceAccountName is not set)",
        ),
        (
            "Pod/shop/debug",
            "spec.serviceAccountName",
            "pod runs as the namespace's default ServiceAccount (serviceAccountName: default)",
        ),
    ]
    result, _ = scan_text(_pod("p", "shop", "default", field="serviceAccount"), only=["KW-A002"])
    assert _facts(result) == [
        ("Pod/shop/p", "spec.serviceAccount", "pod runs as the namespace's default ServiceAccount (serviceAccount: default)")
    ]


TOKEN = "eyJhbGciOiJSUzI1NiIsImtpZCI6IlNFQ1JFVCJ9.c2VjcmV0LXBheWxvYWQ"


def test_legacy_token_secret_message_never_shows_the_token(tmp_manifests):
    path = tmp_manifests(
        "token.yaml",
        f"""apiVersion: v1
kind: Secret
metadata:
  name: ci-deployer-token
  namespace: ci
  annotations: {{kubernetes.io/service-account.name: ci-deployer}}
type: kubernetes.io/service-account-token
data:
  token: {TOKEN}
stringData:
  plain: {TOKEN}
""",
    )
    result, _ = scan_text(path.read_text(), only=["KW-A003"])
    assert _facts(result) == [
        (
            "Secret/ci/ci-deployer-token",
            "type",
            "Secret 'ci-deployer-token' holds a long-lived service account token for ServiceAccount 'ci-deployer'",
        )
    ]
    code, report = run_json("scan", "--no-config", "-c", "KW-A003", str(path))
    assert code == 1 and [f["check"] for f in report["findings"]] == ["KW-A003"]
    sarif = run_cli("scan", "--no-config", "-c", "KW-A003", "-f", "sarif", str(path)).stdout
    for text in (result.findings[0].message, str(report), sarif):
        assert TOKEN not in text and TOKEN[:12] not in text


def test_legacy_token_secret_without_annotation():
    text = "apiVersion: v1\nkind: Secret\nmetadata: {name: t}\ntype: kubernetes.io/service-account-token\n"
    result, _ = scan_text(text, only=["KW-A003"])
    assert [f.message for f in result.findings] == ["Secret 't' holds a long-lived service account token"]


def test_service_account_automount_messages():
    result, _ = scan_text((DATA / "checks" / "KW-A004" / "fail.yaml").read_text(), only=["KW-A004"])
    assert _facts(result) == [
        (
            "ServiceAccount/shop/web",
            "automountServiceAccountToken",
            "ServiceAccount 'web' does not set automountServiceAccountToken: false",
        ),
        (
            "ServiceAccount/shop/operator",
            "automountServiceAccountToken",
            "ServiceAccount 'operator' sets automountServiceAccountToken: true",
        ),
    ]


def test_deprecated_service_account_field_messages():
    result, _ = scan_text((DATA / "checks" / "KW-A005" / "fail.yaml").read_text(), only=["KW-A005"])
    assert [f.message for f in result.findings] == [
        "pod uses the deprecated field serviceAccount ('web'); use serviceAccountName",
        "deprecated serviceAccount 'agent-admin' is ignored: serviceAccountName 'agent' wins",
    ]
    # both fields equal: what the API server returns for every pod (kubectl get -o yaml), not a defect
    result, _ = scan_text(_workload("Pod", "p", "shop", "serviceAccountName: web\n  serviceAccount: web"), only=["KW-A005"])
    assert result.findings == []


# --- namespaces ---------------------------------------------------------------


def _namespace(name, **labels):
    body = "".join(f"\n    pod-security.kubernetes.io/{mode}: {level}" for mode, level in labels.items()) or " {}"
    return f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels:{body}\n"


def test_psa_label_messages():
    result, _ = scan_text(
        _docs(_namespace("a"), _namespace("b", enforce="privileged"), _namespace("c", enforce="restricted", audit="restricted")),
        only=["KW-M001", "KW-M002", "KW-M004"],
    )
    assert sorted((f.check_id, f.resource.name, f.path_str, f.message) for f in result.findings) == [
        (
            "KW-M001",
            "a",
            "metadata.labels.pod-security.kubernetes.io/enforce",
            "namespace 'a' has no pod-security.kubernetes.io/enforce label",
        ),
        (
            "KW-M002",
            "b",
            "metadata.labels.pod-security.kubernetes.io/enforce",
            "namespace 'b' enforces the privileged Pod Security level, which allows everything",
        ),
        (
            "KW-M004",
            "a",
            "metadata.labels",
            "namespace 'a' has neither a pod-security.kubernetes.io/warn nor a pod-security.kubernetes.io/audit label",
        ),
        (
            "KW-M004",
            "b",
            "metadata.labels",
            "namespace 'b' has neither a pod-security.kubernetes.io/warn nor a pod-security.kubernetes.io/audit label",
        ),
    ]


def test_kube_system_workload_message():
    result, _ = scan_text((DATA / "checks" / "KW-M005" / "fail.yaml").read_text(), only=["KW-M005"])
    assert _facts(result) == [
        ("Deployment/kube-system/metrics-proxy", "metadata.namespace", "Deployment 'metrics-proxy' is deployed into kube-system")
    ]


def _policy(namespace, spec):
    return (
        f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: np, namespace: {namespace}}}\nspec: {spec}\n"
    )


@pytest.mark.parametrize(
    "spec,denies",
    [
        ("{podSelector: {}, policyTypes: [Ingress]}", True),
        ("{podSelector: {}}", True),  # no policyTypes: Ingress is implied
        ("{}", True),  # no podSelector: the empty selector
        ("{podSelector: null, ingress: null}", True),
        ("{podSelector: {matchLabels: {}, matchExpressions: []}, policyTypes: [Ingress, Egress], ingress: []}", True),
        ("{podSelector: {}, egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}}]}]}", True),  # Ingress is always implied
        ("{podSelector: {}, policyTypes: [Egress]}", False),
        ("{podSelector: {}, ingress: [{}]}", "ingress[0] (from every peer; ports every port)"),  # allows everything
        ("{podSelector: {}, ingress: [{from: [{podSelector: {}}]}]}", "ingress[0] (from podSelector {}; ports every port)"),
        ("{podSelector: {matchLabels: {app: web}}, policyTypes: [Ingress]}", False),
        ("{podSelector: {matchExpressions: [{key: app, operator: Exists}]}}", False),
        ("{podSelector: web, policyTypes: Ingress}", False),  # odd types: not a default deny, and no crash
    ],
)
def test_default_deny_ingress_shapes(spec, denies, tmp_path):
    text = _docs(_namespace("shop", enforce="restricted"), _policy("shop", spec))
    facts = both_ways(text, "KW-M003", tmp_path)
    if isinstance(denies, str):  # a policy selects every pod but allows this rule's traffic
        message = f"namespace 'shop' is not default-deny for ingress: NetworkPolicy 'np' selects every pod and allows {denies}"
        assert facts == [("Namespace/shop", "metadata.name", message)]
        return
    assert facts == (
        [] if denies else [("Namespace/shop", "metadata.name", "namespace 'shop' has no default-deny ingress NetworkPolicy")]
    )


def test_default_deny_is_matched_by_namespace(tmp_path):
    text = _docs(
        _policy("a", "{podSelector: {}}"),
        _policy("", "{podSelector: {}}"),  # no namespace: covers nothing known
        _namespace("a"),
        _namespace("b"),  # a Namespace without workloads still needs one
        _workload("Deployment", "one", "a"),
        _workload("Deployment", "two", "c"),
        _workload("Deployment", "three", "c"),
        _workload("Deployment", "nowhere"),
    )
    assert both_ways(text, "KW-M003", tmp_path) == [
        ("Namespace/b", "metadata.name", "namespace 'b' has no default-deny ingress NetworkPolicy"),
        ("Deployment/c/two", "metadata.namespace", "namespace 'c' has no default-deny ingress NetworkPolicy"),
    ]


def test_default_deny_fixtures_after_release(tmp_path):
    fail = both_ways((DATA / "checks" / "KW-M003" / "fail.yaml").read_text(), "KW-M003", tmp_path)
    assert [ref for ref, _, _ in fail] == ["Namespace/shop", "Deployment/batch/report", "Deployment/tools/toolbox"]
    assert both_ways((DATA / "checks" / "KW-M003" / "pass.yaml").read_text(), "KW-M003", tmp_path) == []


def test_inventory_checks_together_after_release(tmp_path):
    """The four inventory checks in one run: their kinds and keeps combine without losing anything."""
    text = _docs(
        _namespace("shop", enforce="restricted"),
        _sa("web", "shop", True),
        "apiVersion: v1\nkind: LimitRange\nmetadata: {name: lr, namespace: shop}\n",
        "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: rq, namespace: batch}\n",
        _policy("batch", "{podSelector: {}}"),
        _pod("web", "shop", "web"),
        _pod("job", "batch", automount=False),
    )
    checks = ["KW-A001", "KW-L003", "KW-L004", "KW-M003"]
    result, _ = scan_text(text, only=checks)
    target = tmp_path / "input.yaml"
    target.write_text(text)
    config = Config()
    released = scan_paths([str(target)], select_checks(config, only=checks), config, jobs=1)

    def facts(r):
        return sorted((f.check_id, f.resource.ref, f.path_str, f.message) for f in r.findings)

    assert (
        facts(released)
        == facts(result)
        == [
            ("KW-A001", "Pod/shop/web", "spec.automountServiceAccountToken", _sa_says("web")),
            ("KW-L003", "Pod/batch/job", "metadata.namespace", "namespace 'batch' has workloads but no LimitRange"),
            ("KW-L004", "Namespace/shop", "metadata.name", "namespace 'shop' has workloads but no ResourceQuota"),
            ("KW-M003", "Namespace/shop", "metadata.name", "namespace 'shop' has no default-deny ingress NetworkPolicy"),
        ]
    )
