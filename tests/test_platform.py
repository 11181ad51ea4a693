"""Platform checks (KW-K): admission webhooks, aggregated APIs, the Dashboard, API versions."""

from __future__ import annotations

import json

import pytest

from helpers import DATA, run_cli, scan_text
from kubeward.checks.platform import DEPRECATED_APIS, NEWEST_VERSION
from kubeward.config import Config, parse_config
from kubeward.inventory import POD_SPEC_PATHS
from kubeward.runner import scan_paths


def _findings(text, check_id, config=None):
    result, loaded = scan_text(text, only=[check_id], config=config)
    assert not loaded.errors and not result.errors, (loaded.errors, result.errors)
    return [f for f in result.findings if f.check_id == check_id]


def _webhook_config(hook: str, *, api="admissionregistration.k8s.io/v1", kind="ValidatingWebhookConfiguration", name="cfg"):
    return f"apiVersion: {api}\nkind: {kind}\nmetadata: {{name: {name}}}\nwebhooks:\n  - {hook}\n"


# -- KW-K001 webhook-failure-open ---------------------------------------------


@pytest.mark.parametrize(
    "api,policy,fires",
    [
        ("admissionregistration.k8s.io/v1", None, False),  # v1 defaults to Fail
        ("admissionregistration.k8s.io/v1beta1", None, True),  # v1beta1 defaults to Ignore
        ("admissionregistration.k8s.io/v1", "Ignore", True),
        ("admissionregistration.k8s.io/v1beta1", "Fail", False),
        ("admissionregistration.k8s.io/v1", "Fail", False),
    ],
)
def test_failure_policy_default_depends_on_api_version(api, policy, fires):
    field = f", failurePolicy: {policy}" if policy else ""
    text = _webhook_config(f"{{name: validation.gatekeeper.sh{field}}}", api=api)
    assert bool(_findings(text, "KW-K001")) is fires


def test_failure_open_messages_say_whether_the_policy_was_defaulted():
    explicit = _findings(_webhook_config("{name: validate.kyverno.svc, failurePolicy: Ignore}"), "KW-K001")
    defaulted = _findings(_webhook_config("{name: validate.kyverno.svc}", api="admissionregistration.k8s.io/v1beta1"), "KW-K001")
    assert [f.message for f in explicit] == ["policy webhook 'validate.kyverno.svc' fails open (failurePolicy: Ignore)"]
    assert [f.message for f in defaulted] == [
        "policy webhook 'validate.kyverno.svc' fails open (failurePolicy defaults to Ignore in v1beta1)"
    ]
    assert defaulted[0].path_str == "webhooks[0].failurePolicy"


@pytest.mark.parametrize(
    "hook,config_name,fires",
    [
        ("{name: hook.example.com, failurePolicy: Ignore}", "opa-validating-webhook", True),  # configuration name
        (
            "{name: hook.example.com, failurePolicy: Ignore, clientConfig: {service: {name: falco-admission, namespace: f}}}",
            "cfg",
            True,  # service name
        ),
        ("{name: mutate.pod-security.example.com, failurePolicy: Ignore}", "cfg", True),
        ("{name: hook.example.com, failurePolicy: Ignore}", "opaque-things", False),  # "opa" only as a word
        ("{name: webhook.cert-manager.io, failurePolicy: Ignore}", "cert-manager-webhook", False),
    ],
)
def test_failure_open_looks_at_webhook_configuration_and_service_names(hook, config_name, fires):
    assert bool(_findings(_webhook_config(hook, name=config_name), "KW-K001")) is fires


# -- KW-K002 webhook-intercepts-kube-system -------------------------------------


@pytest.mark.parametrize(
    "selector,fires",
    [
        (None, True),
        ("{}", True),
        ("{matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system]}]}", False),
        ("{matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [other]}]}", True),
        ("{matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [shop, payments]}]}", False),
        ("{matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [kube-system]}]}", True),
        ("{matchLabels: {kubernetes.io/metadata.name: payments}}", False),
        ("{matchLabels: {kubernetes.io/metadata.name: kube-system}}", True),
        # labels kube-system may or may not carry are not trusted
        ("{matchExpressions: [{key: name, operator: NotIn, values: [kube-system]}]}", True),
        ("{matchExpressions: [{key: control-plane, operator: DoesNotExist}]}", True),
        ("{matchLabels: {team: payments}}", True),
        # the name exclusion anywhere in the ANDed requirements is enough
        (
            "{matchLabels: {team: payments}, matchExpressions: [{key: control-plane, operator: DoesNotExist},"
            " {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-node-lease, kube-system]}]}",
            False,
        ),
    ],
)
def test_namespace_selector_forms(selector, fires):
    field = f", namespaceSelector: {selector}" if selector is not None else ""
    found = _findings(_webhook_config(f"{{name: hook.example.com{field}}}"), "KW-K002")
    assert bool(found) is fires
    if fires:
        assert found[0].message == (
            "webhook 'hook.example.com' also intercepts kube-system"
            " (its namespaceSelector does not exclude it by kubernetes.io/metadata.name)"
        )


def test_webhook_on_cluster_scoped_objects_only_is_not_reported():
    cluster = "{name: h, rules: [{apiGroups: ['*'], apiVersions: ['*'], operations: ['*'], resources: [nodes], scope: Cluster}]}"
    mixed = "{name: h, rules: [{resources: [nodes], scope: Cluster}, {resources: [pods], scope: Namespaced}]}"
    assert not _findings(_webhook_config(cluster), "KW-K002")
    assert _findings(_webhook_config(mixed), "KW-K002")


# -- KW-K003 dashboard-skip-login -----------------------------------------------


def _dashboard(args: str, field: str = "args", kind: str = "Deployment") -> str:
    spec = f"{{containers: [{{name: dashboard, image: 'kubernetesui/dashboard:v2.7.0', {field}: {args}}}]}}"
    if kind == "Pod":
        return f"apiVersion: v1\nkind: Pod\nmetadata: {{name: d}}\nspec: {spec}\n"
    return f"apiVersion: apps/v1\nkind: {kind}\nmetadata: {{name: d}}\nspec:\n  template:\n    spec: {spec}\n"


@pytest.mark.parametrize(
    "arg,fires",
    [
        ("--enable-skip-login", True),
        ("--enable-skip-login=true", True),
        ("--enable-skip-login=True", True),
        ("--enable-skip-login=1", True),
        ("--enable-skip-login=false", False),
        ("--enable-skip-login=0", False),
        ("--enable-skip-login=nonsense", False),  # the Dashboard refuses to start
        ("--enable-skip-logins", False),
        ("--enable-insecure-login", True),
        ("--enable-insecure-login=true", True),
        ("--enable-insecure-login=false", False),
    ],
)
def test_dashboard_flag_forms(arg, fires):
    found = _findings(_dashboard(f"['--auto-generate-certificates', '{arg}']"), "KW-K003")
    assert bool(found) is fires
    if fires:
        assert found[0].path_str == "spec.template.spec.containers[0].args[1]"
        assert found[0].container == "dashboard"


def test_dashboard_flag_in_a_shell_command_and_exact_message():
    (finding,) = _findings(_dashboard("['/bin/sh', '-c', 'exec /dashboard --enable-skip-login']", "command", "Pod"), "KW-K003")
    assert finding.path_str == "spec.containers[0].command[2]"
    assert finding.message == (
        "container 'dashboard' runs with --enable-skip-login:"
        " it lets anyone reaching the Dashboard skip login and act as its service account"
    )


def test_dashboard_flags_of_odd_types_are_ignored():
    assert not _findings(_dashboard("[1, null, {a: b}, ['--enable-skip-login']]"), "KW-K003")
    assert not _findings(_dashboard("'--enable-skip-login'"), "KW-K003")  # a string, not a list


# -- KW-K004 dashboard-exposed ----------------------------------------------------


@pytest.mark.parametrize(
    "name,labels,selector,type_,fires",
    [
        ("web", "{app.kubernetes.io/name: kubernetes-dashboard}", "{}", "LoadBalancer", True),
        ("web", "{}", "{k8s-app: kubernetes-dashboard}", "NodePort", True),
        ("kubernetes-dashboard-web", "{}", "{}", "NodePort", True),
        ("kubernetes-dashboard", "{k8s-app: kubernetes-dashboard}", "{k8s-app: kubernetes-dashboard}", "ClusterIP", False),
        ("kubernetes-dashboard", "{}", "{}", None, False),  # type defaults to ClusterIP
        ("grafana", "{app: grafana}", "{app: grafana}", "LoadBalancer", False),
    ],
)
def test_dashboard_service_exposure(name, labels, selector, type_, fires):
    type_field = f"type: {type_}, " if type_ else ""
    text = (
        f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, labels: {labels}}}\n"
        f"spec: {{{type_field}selector: {selector}}}\n"
    )
    assert bool(_findings(text, "KW-K004")) is fires


# -- KW-K005 / KW-K006 deprecated and removed API versions --------------------------


def _at(version):
    config = Config()
    config.kubernetes_version = version
    return config


def _api_object(api, kind, name="x"):
    """A minimal object as YAML; workloads get a pod template so only API versions are in question."""
    obj = {"apiVersion": api, "kind": kind, "metadata": {"name": name}}
    if kind in POD_SPEC_PATHS:
        node = obj
        for key in POD_SPEC_PATHS[kind]:
            node = node.setdefault(key, {})
        node["containers"] = [{"name": "c", "image": "app:1.0"}]
    return "\n".join(f"{key}: {json.dumps(value)}" for key, value in obj.items()) + "\n"


def _api_findings(api, kind, version):
    text = _api_object(api, kind)
    result, _ = scan_text(text, only=["KW-K005", "KW-K006"], config=_at(version))
    assert not result.errors
    return [f.check_id for f in result.findings]


@pytest.mark.parametrize(
    "api,kind,version,expected",
    [
        ("batch/v1beta1", "CronJob", (1, 20), []),
        ("batch/v1beta1", "CronJob", (1, 21), ["KW-K005"]),  # deprecated from v1.21
        ("batch/v1beta1", "CronJob", (1, 24), ["KW-K005"]),
        ("batch/v1beta1", "CronJob", (1, 25), ["KW-K006"]),  # removed at v1.25
        ("batch/v1beta1", "CronJob", (1, 30), ["KW-K006"]),
        ("batch/v1beta1", "CronJob", None, ["KW-K006"]),  # no target: the newest version known
        ("autoscaling/v2beta2", "HorizontalPodAutoscaler", (1, 22), []),
        ("autoscaling/v2beta2", "HorizontalPodAutoscaler", (1, 23), ["KW-K005"]),
        ("autoscaling/v2beta2", "HorizontalPodAutoscaler", (1, 25), ["KW-K005"]),
        ("autoscaling/v2beta2", "HorizontalPodAutoscaler", (1, 26), ["KW-K006"]),
        ("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", (1, 28), []),
        ("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", (1, 31), ["KW-K005"]),
        ("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", (1, 32), ["KW-K006"]),
        ("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", None, ["KW-K006"]),
        ("storage.k8s.io/v1beta1", "CSIStorageCapacity", (1, 26), ["KW-K005"]),
        ("storage.k8s.io/v1beta1", "CSIStorageCapacity", (1, 27), ["KW-K006"]),
        ("storage.k8s.io/v1beta1", "CSIDriver", (1, 21), ["KW-K005"]),
        ("storage.k8s.io/v1beta1", "CSIDriver", (1, 22), ["KW-K006"]),
        # workload kinds reach the checks as pod specs
        ("extensions/v1beta1", "Deployment", (1, 15), ["KW-K005"]),
        ("extensions/v1beta1", "Deployment", (1, 16), ["KW-K006"]),
        ("apps/v1beta2", "DaemonSet", (1, 16), ["KW-K006"]),
        ("apps/v1", "Deployment", None, []),
        ("batch/v1", "CronJob", (1, 20), []),  # not in the table: never reported
        ("networking.k8s.io/v1", "Ingress", None, []),
        # keyed by apiVersion and kind: newer kinds of an old group version are not caught
        ("certificates.k8s.io/v1beta1", "ClusterTrustBundle", None, []),
        ("admissionregistration.k8s.io/v1beta1", "ValidatingAdmissionPolicy", None, []),
    ],
)
def test_version_table_boundaries(api, kind, version, expected):
    assert _api_findings(api, kind, version) == expected


def test_newest_version_is_the_newest_in_the_table():
    assert NEWEST_VERSION == (1, 32)
    assert all(e.deprecated < e.removed for e in DEPRECATED_APIS.values())


def test_api_version_messages_name_the_replacement():
    text = _api_object("batch/v1beta1", "CronJob", "nightly")
    (removed,) = _findings(text, "KW-K006", _at((1, 25)))
    (deprecated,) = _findings(text, "KW-K005", _at((1, 24)))
    assert removed.message == "batch/v1beta1 CronJob was removed in v1.25; use batch/v1"
    assert deprecated.message == "batch/v1beta1 CronJob is deprecated since v1.21 and removed in v1.25; use batch/v1"
    assert removed.path_str == "apiVersion" and removed.line == 1


def test_kubernetes_version_from_config_file():
    text = _api_object("policy/v1beta1", "PodDisruptionBudget", "web")
    assert _findings(text, "KW-K005", parse_config({"kubernetes-version": "v1.24"}, "c"))
    assert _findings(text, "KW-K006", parse_config({"kubernetes-version": "1.25.3"}, "c"))


@pytest.mark.parametrize("version,check_id,severity", [("v1.24", "KW-K005", "low"), ("v1.25", "KW-K006", "high")])
def test_cli_kubernetes_version_moves_cronjob_from_deprecated_to_removed(tmp_manifests, version, check_id, severity):
    path = tmp_manifests("cron.yaml", (DATA / "checks" / "KW-K006" / "fail.yaml").read_text().split("---")[0])
    res = run_cli("scan", "--no-config", "--kubernetes-version", version, str(path), "-f", "json", "--check", "api-versions")
    assert res.exit_code == 1
    findings = json.loads(res.stdout)["findings"]
    assert [(f["check"], f["severity"], f["kind"], f["path"]) for f in findings] == [
        (check_id, severity, "CronJob", "apiVersion")
    ]


def test_api_version_checks_through_the_runner(tmp_path):
    """The streaming runner (worker batches, released resources) gives the same answers."""
    fixture = DATA / "checks" / "KW-K006" / "fail.yaml"
    from kubeward.engine import select_checks

    config = parse_config({"kubernetes-version": "v1.25"}, "c")
    result = scan_paths([str(fixture)], select_checks(config, ["KW-K006"]), config, jobs=1)
    assert sorted(f.message for f in result.findings) == [
        "batch/v1beta1 CronJob was removed in v1.25; use batch/v1",
        "extensions/v1beta1 Ingress was removed in v1.22; use networking.k8s.io/v1",
    ]


# -- KW-K007 webhook-insecure-url -------------------------------------------------

SECRET = "s3cr3t-t0ken"


def test_insecure_webhook_url_hides_all_but_the_host(tmp_manifests):
    text = (DATA / "checks" / "KW-K007" / "fail.yaml").read_text()
    assert SECRET in text
    (finding,) = _findings(text, "KW-K007")
    assert finding.message == "webhook 'validate.policy.example.com' is called over plain http (host 'policy.example.com')"
    assert finding.path_str == "webhooks[0].clientConfig.url"
    path = tmp_manifests("hook.yaml", text)
    for fmt in ("json", "sarif", "table"):
        res = run_cli("scan", "--no-config", str(path), "-f", fmt, "--check", "KW-K007")
        assert "validate.policy.example.com" in res.stdout
        assert SECRET not in res.stdout and SECRET not in res.stderr


@pytest.mark.parametrize(
    "url,fires",
    [
        ("http://10.0.0.5:8080/validate", True),
        ("HTTP://policy.example.com", True),
        ("https://policy.example.com", False),
        ("httpsx://odd", False),
    ],
)
def test_insecure_webhook_url_forms(url, fires):
    text = _webhook_config(f"{{name: h, clientConfig: {{url: '{url}'}}}}", kind="MutatingWebhookConfiguration")
    assert bool(_findings(text, "KW-K007")) is fires


def test_insecure_crd_conversion_webhook():
    text = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  conversion:
    strategy: Webhook
    webhook:
      clientConfig: {url: "http://convert.example.com/convert"}
"""
    (finding,) = _findings(text, "KW-K007")
    assert finding.path_str == "spec.conversion.webhook.clientConfig.url"
    assert finding.message == "conversion webhook is called over plain http (host 'convert.example.com')"


# -- KW-K008 apiservice-insecure-tls ----------------------------------------------


def test_apiservice_insecure_tls_message():
    (finding,) = _findings((DATA / "checks" / "KW-K008" / "fail.yaml").read_text(), "KW-K008")
    assert finding.message == "APIService 'v1beta1.metrics.k8s.io' skips TLS verification of kube-system/metrics-server"
    assert finding.path_str == "spec.insecureSkipTLSVerify"


# -- every KW-K check on odd shapes --------------------------------------------------

ODD = """apiVersion: admissionregistration.k8s.io/v1beta1
kind: ValidatingWebhookConfiguration
metadata: {name: odd-policy}
webhooks: [1, "x", {name: 5, failurePolicy: [Ignore], clientConfig: {url: 7, service: "svc"},
           namespaceSelector: {matchLabels: [a],
                               matchExpressions: [1, {key: kubernetes.io/metadata.name, values: "kube-system"}]},
           rules: "all"}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: odd2}
webhooks: {a: b}
---
apiVersion: v1
kind: Service
metadata: {name: kubernetes-dashboard, labels: [x]}
spec: {type: [NodePort], selector: "x"}
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: odd}
spec: {insecureSkipTLSVerify: "true", service: [1]}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: odd}
spec: {conversion: {webhook: "http://x"}}
---
apiVersion: batch/v1beta1
kind: CronJob
metadata: {name: odd}
spec: {jobTemplate: {spec: {template: {spec: {containers: [{name: c, args: "--enable-skip-login"}]}}}}}
"""


def test_odd_shapes_never_raise():
    result, loaded = scan_text(ODD, only=["tag:platform"])
    assert not loaded.errors and not result.errors
    assert [(f.check_id, f.resource.doc_index, f.path_str) for f in result.findings] == [
        ("KW-K006", 0, "apiVersion"),
        ("KW-K002", 0, "webhooks[2].namespaceSelector"),  # no usable exclusion in that selector
        ("KW-K006", 5, "apiVersion"),
    ]
