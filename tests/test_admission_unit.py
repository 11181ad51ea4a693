"""kubeward admission without the server: review parsing, policy, decisions, mutations, install."""

from __future__ import annotations

import base64
import datetime as dt
import subprocess
import sys

import orjson
import pytest
import yaml
from click.testing import CliRunner

from admission_support import COMPLIANT_SC, SRC, deployment, pod, review
from kubeward.admission import mutate
from kubeward.admission.evaluate import Evaluator, NamespaceLabels, significant_pod_update
from kubeward.admission.install import manifests
from kubeward.admission.policy import DEFAULT_POLICY, PolicyError, parse_policy_text
from kubeward.admission.review import MAX_WARNING, Decision, ReviewError, parse_review, response_body
from kubeward.cli.main import cli
from kubeward.inventory import BUILTIN_WORKLOADS, POD_SPEC_PATHS

ENFORCE_BASELINE = "version: 1\ndefault-mode: warn\nrules:\n  - checks: [tag:pss-baseline]\n    mode: enforce\n"
RESTRICTED = "version: 1\ndefault-mode: off\nrules:\n  - checks: [tag:pod-security]\n    mode: enforce\n"


def evaluator(text: str = ENFORCE_BASELINE, labels: NamespaceLabels | None = None, today: dt.date | None = None) -> Evaluator:
    return Evaluator(parse_policy_text(text, "policy.yaml", own_namespace="kubeward-system"), labels, today)


def decide(ev: Evaluator, rev: dict, *, mutating: bool = False) -> Decision:
    return ev.review(parse_review(orjson.dumps(rev)), mutating=mutating)


PRIVILEGED = {"securityContext": {"privileged": True}}

# -- review ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, error",
    [
        (b"not json", "not JSON"),
        (b"[]", "JSON object"),
        (b'{"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": {}}', "apiVersion"),
        (b'{"apiVersion": "admission.k8s.io/v1", "kind": "Pod", "request": {}}', "kind must be AdmissionReview"),
        (b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}', "request is missing"),
        (b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"operation": "CREATE"}}', "uid"),
        (b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": 5}}', "uid must be a string"),
    ],
)
def test_malformed_reviews_are_rejected_with_a_reason(body, error):
    with pytest.raises(ReviewError, match=error):
        parse_review(body)


@pytest.mark.parametrize(
    "field, value, error",
    [
        ("operation", "PATCH", "operation must be one of"),
        ("object", [1], "object must be an object"),
        ("oldObject", "x", "oldObject must be an object"),
        ("dryRun", "yes", "dryRun must be a boolean"),
        ("userInfo", {"groups": "admins"}, "groups must be a list"),
        ("kind", {"kind": 3}, "kind.kind must be a string"),
        ("namespace", ["a"], "namespace must be a string"),
    ],
)
def test_wrong_types_in_the_request_are_rejected(field, value, error):
    rev = review(pod())
    rev["request"][field] = value
    with pytest.raises(ReviewError, match=error):
        parse_review(orjson.dumps(rev))


def test_create_without_object_is_malformed():
    with pytest.raises(ReviewError, match="object is required"):
        parse_review(orjson.dumps(review(None, operation="CREATE")))


def test_response_echoes_uid_and_cuts_warnings():
    decision = Decision(allowed=False, code=403, reason="Forbidden", message="no", warnings=["x" * 500], audit={"a": "b"})
    body = orjson.loads(response_body("u-9", decision))
    assert body["apiVersion"] == "admission.k8s.io/v1" and body["kind"] == "AdmissionReview"
    response = body["response"]
    assert response["uid"] == "u-9" and response["allowed"] is False
    assert response["status"] == {"code": 403, "reason": "Forbidden", "message": "no"}
    assert len(response["warnings"][0]) == MAX_WARNING
    assert response["auditAnnotations"] == {"a": "b"}


def test_patch_only_from_mutate():
    decision = Decision(patch=[{"op": "add", "path": "/x", "value": 1}])
    assert "patch" not in orjson.loads(response_body("u", decision))["response"]
    response = orjson.loads(response_body("u", decision, mutating=True))["response"]
    assert response["patchType"] == "JSONPatch"
    assert orjson.loads(base64.b64decode(response["patch"])) == decision.patch


# -- policy ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, error",
    [
        ("- a", "must be a mapping"),
        ("version: 2", "version must be 1"),
        ("bogus: 1", "unknown key 'bogus'"),
        ("default-mode: block", "must be one of enforce, warn, audit, off"),
        ("rules: [{checks: [KW-Z999], mode: enforce}]", "no check, slug or tag is named 'KW-Z999'"),
        ("rules: [{mode: enforce}]", "name 'checks' and/or 'min-severity'"),
        ("rules: [{checks: [KW-P001]}]", "'mode' is required"),
        ("rules: [{min-severity: huge, mode: warn}]", "unknown severity"),
        ("rules: x", "rules must be a list"),
        ("namespaces: [{default-mode: warn}]", "name at least one namespace"),
        ("exemptions: [{namespaces: [a]}]", "'reason' is required"),
        ("exemptions: [{reason: because}]", "name at least one of"),
        ("exemptions: [{reason: r, namespaces: [a], expires: soon}]", "expires must be a date"),
        ("exemptions: [{reason: r, service-accounts: [web]}]", "NAMESPACE/NAME"),
        ("exemptions: [{reason: r, users: [1]}]", "must be a list of strings"),
        ("mutations: {seccomp-profile: yes please}", "must be true or false"),
        ("mutations: {tls: true}", "unknown key 'tls'"),
        ("pod-security: {level: baseline}", "namespace-labels"),
        ("scan: {fail-on: sometimes}", "scan"),
    ],
)
def test_invalid_policies_name_the_field(text, error):
    with pytest.raises(PolicyError, match=error):
        parse_policy_text(text, "policy.yaml")


def test_default_policy_parses_and_protects_system_namespaces():
    policy = parse_policy_text(DEFAULT_POLICY, own_namespace="kubeward-system")
    assert policy.is_system_namespace("kube-system") and policy.is_system_namespace("kubeward-system")
    assert not policy.is_system_namespace("default")
    modes = policy.modes_for("default")
    assert modes["KW-P001"] == "enforce"  # baseline
    assert modes["KW-S003"] == "enforce"  # critical
    assert modes["KW-O001"] == "audit"  # reliability
    assert modes["KW-I002"] == "warn"  # default
    assert not any(k.startswith("KW-R") for k in modes)  # cross-resource checks never run at admission


def test_first_matching_rule_wins_and_namespace_overrides_come_first():
    policy = parse_policy_text(
        "default-mode: audit\nrules:\n  - {checks: [KW-P001], mode: warn}\n  - {checks: [tag:pss-baseline], mode: enforce}\n"
        "namespaces:\n  - {names: ['dev-*'], default-mode: off, rules: [{checks: [KW-P002], mode: audit}]}\n"
    )
    assert policy.modes_for("prod")["KW-P001"] == "warn"
    assert policy.modes_for("prod")["KW-P002"] == "enforce"
    assert policy.modes_for("prod")["KW-I001"] == "audit"
    assert policy.modes_for("dev-1")["KW-P002"] == "audit"
    assert policy.modes_for("dev-1")["KW-P001"] == "warn"
    assert policy.modes_for("dev-1")["KW-I001"] == "off"


def test_min_severity_uses_the_configured_severity():
    policy = parse_policy_text(
        "default-mode: off\nrules: [{min-severity: high, mode: enforce}]\nscan: {severity: {KW-I002: critical}}"
    )
    modes = policy.modes_for("x")
    assert modes["KW-I002"] == "enforce" and modes["KW-P001"] == "enforce" and modes["KW-I005"] == "off"


# -- decisions ---------------------------------------------------------------------------------


def test_deny_message_lists_every_enforced_check_with_field_and_fix():
    obj = deployment(securityContext={"privileged": True}, ports=[{"containerPort": 80, "hostPort": 80}])
    obj["spec"]["template"]["spec"]["hostPID"] = True
    d = decide(evaluator(), review(obj))
    assert not d.allowed and d.code == 403 and d.reason == "Forbidden"
    assert set(d.denied_checks) == {"KW-P001", "KW-P002", "KW-P007"}
    for check_id, field in (
        ("KW-P001", "spec.template.spec.containers[0].securityContext.privileged"),
        ("KW-P002", "spec.template.spec.hostPID"),
        ("KW-P007", "spec.template.spec.containers[0].ports[0].hostPort"),
    ):
        line = next(line for line in d.message.splitlines() if line.startswith(f"- {check_id}"))
        assert field in line and "Fix: " in line
    assert all(len(w) <= MAX_WARNING for w in d.warnings)


def test_warn_audit_and_off_modes():
    text = "default-mode: off\nrules:\n  - {checks: [KW-I001], mode: warn}\n  - {checks: [KW-W001], mode: audit}\n"
    d = decide(evaluator(text), review(pod(image="nginx:latest")))
    assert d.allowed and d.label == "warn"
    assert d.warned_checks == ["KW-I001"] and d.warnings[0].startswith("KW-I001 image-tag-latest")
    assert "KW-W001" in d.audit["violations"]
    quiet = decide(evaluator("default-mode: off"), review(pod(image="nginx:latest")))
    assert quiet.allowed and not quiet.warnings and not quiet.audit


def test_compliant_object_is_allowed():
    obj = deployment(securityContext=COMPLIANT_SC)
    d = decide(evaluator(RESTRICTED), review(obj))
    assert d.allowed and not d.warnings, d.message


def test_system_namespaces_are_never_evaluated():
    ev = evaluator()
    for namespace in ("kube-system", "kubeward-system"):
        d = decide(ev, review(pod(namespace=namespace, **PRIVILEGED)))
        assert d.allowed and d.label == "skip"


def test_namespace_from_the_request_when_the_object_has_none():
    obj = pod(**PRIVILEGED)
    del obj["metadata"]["namespace"]
    assert decide(evaluator(), review(obj, namespace="kube-system")).label == "skip"
    d = decide(evaluator(), review(obj, namespace="shop"))
    assert not d.allowed and "Pod shop/web" in d.message


def _exempt(selector: str, **kw) -> str:
    return (
        ENFORCE_BASELINE
        + f"exemptions:\n  - reason: needed\n    {selector}\n"
        + "".join(f"    {k}: {v}\n" for k, v in kw.items())
    )


@pytest.mark.parametrize(
    "selector, rev_kwargs, exempt",
    [
        ("namespaces: [shop]", {}, True),
        ("namespaces: [other]", {}, False),
        ("users: ['ali*']", {}, True),
        ("users: [bob]", {}, False),
        ("groups: [system:masters]", {"groups": ("system:masters",)}, True),
        ("groups: [system:masters]", {}, False),
        ("service-accounts: [shop/default]", {}, True),
        ("service-accounts: [shop/agent]", {}, False),
        ("images: ['registry.example.com/*']", {}, True),
        ("images: ['docker.io/*']", {}, False),
        ("containers: [app]", {}, True),
        ("containers: [sidecar]", {}, False),
    ],
)
def test_exemptions(selector, rev_kwargs, exempt):
    d = decide(evaluator(_exempt(selector)), review(pod(**PRIVILEGED), **rev_kwargs))
    assert d.allowed is exempt
    if exempt:
        assert "KW-P001" in d.audit["exempted"] and "exemptions[0]: needed" in d.audit["exempted"]


def test_exemption_limited_to_checks_and_expiry():
    obj = pod(securityContext={"privileged": True}, ports=[{"containerPort": 80, "hostPort": 80}])
    d = decide(evaluator(_exempt("namespaces: [shop]", checks="[KW-P001]")), review(obj))
    assert not d.allowed and d.denied_checks == ["KW-P007"]
    text = _exempt("namespaces: [shop]", expires="2020-01-01")
    assert not decide(evaluator(text), review(pod(**PRIVILEGED))).allowed
    assert decide(evaluator(text, today=dt.date(2019, 12, 31)), review(pod(**PRIVILEGED))).allowed


def test_per_container_exemption_leaves_other_containers_enforced():
    obj = pod(**PRIVILEGED)
    obj["spec"]["containers"].append({"name": "sidecar", "image": "docker.io/evil:1", "securityContext": {"privileged": True}})
    d = decide(evaluator(_exempt("containers: [app]")), review(obj))
    assert not d.allowed and "containers[1]" in d.message and "containers[0]" not in d.message


def test_suppression_annotations_do_not_bypass_enforcement_unless_allowed():
    obj = pod(**PRIVILEGED)
    obj["metadata"]["annotations"] = {"ignore-check.kubeward.io/KW-P001": "trust me"}
    assert not decide(evaluator(), review(obj)).allowed
    d = decide(evaluator(ENFORCE_BASELINE + "annotation-suppressions: true\n"), review(obj))
    assert d.allowed and "KW-P001" in d.audit["suppressed"]


@pytest.mark.parametrize("kind", sorted(POD_SPEC_PATHS))
def test_every_workload_kind_is_evaluated(kind):
    from kubeward.inventory import CRD_WORKLOADS, template_meta_path

    key = kind
    name, _, group = key.partition(".")
    core = name in ("Pod", "PodTemplate", "ReplicationController")
    api_version = f"{group}/v1" if group else ("v1" if core else "apps/v1")
    obj: dict = {"apiVersion": api_version, "kind": name, "metadata": {"name": "w", "namespace": "shop"}}
    if name in ("Job", "CronJob"):
        obj["apiVersion"] = "batch/v1"
    spec_path = POD_SPEC_PATHS[key]
    container = {"name": "app", "image": "registry.example.com/app:1", "securityContext": {"privileged": True}}
    node = obj
    for part in spec_path:
        node = node.setdefault(part, {})
    if key in CRD_WORKLOADS and key.split(".", 1)[1] in ("argoproj.io",) and name != "Rollout":
        node["templates"] = [{"name": "t", "container": container}]
    elif key.endswith("tekton.dev"):
        node["steps"] = [container]
    elif key.endswith("sparkoperator.k8s.io"):
        node["driver"] = container
    else:
        node["containers"] = [container]
    assert template_meta_path(key)  # every kind has a place for its pod metadata
    d = decide(evaluator(), review(obj))
    assert not d.allowed and "KW-P001" in d.denied_checks, (kind, d.message)


def test_builtin_workloads_are_all_covered():
    assert {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"} <= set(BUILTIN_WORKLOADS)


def test_non_workload_kinds_run_their_checks():
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "shop"},
           "spec": {"type": "NodePort", "externalIPs": ["1.2.3.4"], "ports": [{"port": 80}]}}  # fmt: skip
    d = decide(evaluator("default-mode: off\nrules: [{checks: [KW-N003], mode: enforce}]"), review(svc))
    assert not d.allowed and d.denied_checks == ["KW-N003"]


# -- operations and UPDATE semantics -------------------------------------------------------------


def test_delete_and_dry_run():
    assert decide(evaluator(), review(None, operation="DELETE", old=pod(**PRIVILEGED))).allowed
    d = decide(evaluator(), review(pod(**PRIVILEGED), dry_run=True))
    assert not d.allowed and d.audit["dry-run"] == "true"


def test_pod_update_that_changes_nothing_significant_is_not_newly_blocked():
    old = pod(**PRIVILEGED)
    new = pod(**PRIVILEGED)
    new["metadata"]["labels"] = {"touched": "yes"}
    assert decide(evaluator(), review(new, operation="UPDATE", old=old)).label == "skip"
    new["spec"]["containers"][0]["image"] = "registry.example.com/app:2.0"
    assert not decide(evaluator(), review(new, operation="UPDATE", old=old)).allowed


def test_significant_pod_update_mirrors_upstream():
    old = pod()
    same = pod()
    assert not significant_pod_update(same, old)
    added_init = pod()
    added_init["spec"]["initContainers"] = [{"name": "i", "image": "x"}]
    assert significant_pod_update(added_init, old)
    seccomp = pod()
    seccomp["metadata"]["annotations"] = {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}
    assert significant_pod_update(seccomp, old)
    ephemeral = pod()
    ephemeral["spec"]["ephemeralContainers"] = [{"name": "debug", "image": "busybox"}]
    assert significant_pod_update(ephemeral, old)
    assert not significant_pod_update(ephemeral, ephemeral)


def test_ephemeral_containers_subresource_is_evaluated_and_status_is_not():
    old = pod(securityContext=COMPLIANT_SC)
    new = pod(securityContext=COMPLIANT_SC)
    new["spec"]["ephemeralContainers"] = [{"name": "debug", "image": "busybox:1", "securityContext": {"privileged": True}}]
    d = decide(evaluator(), review(new, operation="UPDATE", old=old, sub_resource="ephemeralcontainers"))
    assert not d.allowed and "ephemeralContainers[0]" in d.message
    status = decide(evaluator(), review(pod(**PRIVILEGED), operation="UPDATE", old=pod(), sub_resource="status"))
    assert status.label == "skip"


def test_workload_update_without_template_change_is_not_newly_blocked():
    old = deployment(**PRIVILEGED)
    scaled = deployment(**PRIVILEGED)
    scaled["spec"]["replicas"] = 5
    assert decide(evaluator(), review(scaled, operation="UPDATE", old=old)).label == "skip"
    changed = deployment(**PRIVILEGED)
    changed["spec"]["template"]["metadata"]["annotations"] = {"restartedAt": "now"}
    assert not decide(evaluator(), review(changed, operation="UPDATE", old=old)).allowed


def test_connect_exec_is_allowed_unless_the_policy_denies_the_namespace():
    rev = review({"apiVersion": "v1", "kind": "PodExecOptions", "command": ["sh"]}, operation="CONNECT", namespace="kube-system",
                 sub_resource="exec")  # fmt: skip
    rev["request"]["resource"] = {"group": "", "version": "v1", "resource": "pods"}
    assert decide(evaluator(), rev).allowed
    text = ENFORCE_BASELINE + "exec: {deny-namespaces: [kube-system]}\n"
    d = decide(evaluator(text), rev)
    assert not d.allowed and "pods/exec into namespace kube-system" in d.message
    breakglass = text + "exemptions: [{reason: on call, groups: [sre]}]\n"
    rev["request"]["userInfo"]["groups"] = ["sre"]
    assert decide(evaluator(breakglass), rev).allowed


def test_namespace_pod_security_labels_are_honoured():
    labels = NamespaceLabels(
        {
            "strict": {"pod-security.kubernetes.io/enforce": "restricted"},
            "loose": {"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted"},
            "open": {"pod-security.kubernetes.io/enforce": "privileged"},
        }
    )
    ev = evaluator("default-mode: off\npod-security: {namespace-labels: true}\n", labels)
    plain = pod()  # violates restricted only
    assert not decide(ev, review(pod(namespace="strict"))).allowed
    loose = decide(ev, review(pod(namespace="loose")))
    assert loose.allowed and any(w.startswith("KW-P003") for w in loose.warnings)
    assert not decide(ev, review(pod(namespace="loose", **PRIVILEGED))).allowed
    assert decide(ev, review(pod(namespace="open", **PRIVILEGED))).allowed
    # a Namespace object seen at admission updates the labels
    ns = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "fresh", "labels": {"pod-security.kubernetes.io/enforce": "baseline"}},
    }
    decide(ev, review(ns, namespace=""))
    assert not decide(ev, review(pod(namespace="fresh", **PRIVILEGED))).allowed
    assert plain["metadata"]["namespace"] == "shop"


# -- mutations ---------------------------------------------------------------------------------

MUTATE_ALL = (
    RESTRICTED + "mutations: {seccomp-profile: true, allow-privilege-escalation: true, drop-all-capabilities: true,"
    " automount-service-account-token: true, read-only-root-filesystem: true}\n"
)


def test_mutation_makes_the_object_pass_and_is_idempotent():
    ev = evaluator(MUTATE_ALL)
    obj = deployment(spec_extra={"securityContext": {"runAsNonRoot": True}})
    obj["spec"]["template"]["spec"]["initContainers"] = [{"name": "init", "image": "registry.example.com/i:1"}]
    assert not decide(ev, review(obj)).allowed
    d = decide(ev, review(obj), mutating=True)
    assert d.allowed and d.patch
    patched = mutate.apply_patch(obj, d.patch)
    assert decide(ev, review(patched)).allowed
    spec = patched["spec"]["template"]["spec"]
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for c in (*spec["containers"], *spec["initContainers"]):
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert decide(ev, review(patched), mutating=True).patch is None  # reinvocation adds nothing


def test_mutation_never_overrides_explicit_values_unless_configured():
    explicit = {"allowPrivilegeEscalation": True, "capabilities": {"drop": ["NET_RAW"]}, "readOnlyRootFilesystem": False}
    obj = pod(securityContext=explicit)
    obj["spec"]["securityContext"] = {"seccompProfile": {"type": "Unconfined"}}
    obj["spec"]["automountServiceAccountToken"] = True
    ev = evaluator(MUTATE_ALL)
    assert decide(ev, review(obj), mutating=True).patch is None
    ev = evaluator(MUTATE_ALL.replace("read-only-root-filesystem: true}", "read-only-root-filesystem: true, override: true}"))
    patched = mutate.apply_patch(obj, decide(ev, review(obj), mutating=True).patch)
    sc = patched["spec"]["containers"][0]["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"]["drop"] == ["NET_RAW", "ALL"]
    assert patched["spec"]["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert patched["spec"]["automountServiceAccountToken"] is False


def test_mutation_keeps_valid_combinations():
    ev = evaluator(MUTATE_ALL)
    privileged = pod(**PRIVILEGED)
    sc = mutate.apply_patch(privileged, decide(ev, review(privileged), mutating=True).patch)["spec"]["containers"][0][
        "securityContext"
    ]
    assert "allowPrivilegeEscalation" not in sc  # the API server rejects false with privileged
    windows = pod()
    windows["spec"]["os"] = {"name": "windows"}
    assert decide(ev, review(windows), mutating=True).patch is None
    with_sa = pod()
    with_sa["spec"]["serviceAccountName"] = "api-client"
    patched = mutate.apply_patch(with_sa, decide(ev, review(with_sa), mutating=True).patch)
    assert "automountServiceAccountToken" not in patched["spec"]  # it may need the API


def test_mutation_skips_system_namespaces_exempt_containers_and_pod_updates():
    ev = evaluator(MUTATE_ALL + "exemptions: [{reason: vendor image, containers: [vendor]}]\n")
    assert decide(ev, review(pod(namespace="kube-system")), mutating=True).patch is None
    assert decide(ev, review(pod(), operation="UPDATE", old=pod()), mutating=True).patch is None
    obj = pod()
    obj["spec"]["containers"].append({"name": "vendor", "image": "v:1"})
    ops = decide(ev, review(obj), mutating=True).patch
    assert ops and not any("/containers/1" in op["path"] for op in ops)


def test_pointer_escapes():
    assert mutate.pointer(("metadata", "annotations", "a/b~c")) == "/metadata/annotations/a~1b~0c"


# -- install -----------------------------------------------------------------------------------


def _install(*args: str) -> list[dict]:
    result = CliRunner().invoke(cli, ["admission", "install", *args])
    assert result.exit_code == 0, result.output
    return [d for d in yaml.safe_load_all(result.output) if d]


def test_install_manifests():
    docs = _install("--namespace", "guard")
    kinds = [d["kind"] for d in docs]
    for kind in ("Namespace", "ServiceAccount", "ConfigMap", "Secret", "Deployment", "PodDisruptionBudget", "Service",
                 "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):  # fmt: skip
        assert kind in kinds
    ns = docs[0]
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    dep = next(d for d in docs if d["kind"] == "Deployment")
    assert dep["spec"]["replicas"] >= 2 and "podAntiAffinity" in dep["spec"]["template"]["spec"]["affinity"]
    secret = next(d for d in docs if d["kind"] == "Secret")
    vwc = next(d for d in docs if d["kind"] == "ValidatingWebhookConfiguration")
    hook = vwc["webhooks"][0]
    assert hook["sideEffects"] == "None" and hook["failurePolicy"] == "Fail" and hook["timeoutSeconds"] == 5
    assert hook["namespaceSelector"]["matchExpressions"][0]["values"] == ["guard", "kube-system"]
    assert hook["matchConditions"]
    # the caBundle verifies the serving certificate in the Secret
    from cryptography import x509

    ca = x509.load_pem_x509_certificate(base64.b64decode(hook["clientConfig"]["caBundle"]))
    cert = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    cert.verify_directly_issued_by(ca)
    assert "kubeward-admission.guard.svc" in cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    ).value.get_values_for_type(x509.DNSName)
    assert not any(d["kind"] in ("ClusterRole", "ClusterRoleBinding") for d in docs)  # no API access needed


def test_install_with_cert_manager_and_rbac_for_namespace_labels(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("pod-security: {namespace-labels: true}\nexec: {deny-namespaces: [kube-system]}\n")
    docs = _install("--cert-manager", "--policy", str(policy), "--failure-policy", "Ignore")
    assert not any(d["kind"] == "Secret" for d in docs)
    vwc = next(d for d in docs if d["kind"] == "ValidatingWebhookConfiguration")
    assert vwc["metadata"]["annotations"]["cert-manager.io/inject-ca-from"] == "kubeward-system/kubeward-admission"
    assert vwc["webhooks"][0]["failurePolicy"] == "Ignore" and "caBundle" not in vwc["webhooks"][0]["clientConfig"]
    resources = {r for rule in vwc["webhooks"][0]["rules"] for r in rule["resources"]}
    assert {"namespaces", "pods/exec", "pods/ephemeralcontainers", "deployments"} <= resources
    role = next(d for d in docs if d["kind"] == "ClusterRole")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]}]
    assert not any(d["kind"] == "MutatingWebhookConfiguration" for d in docs)  # no mutations in this policy


@pytest.mark.parametrize(
    "extra",
    [[], ["--cert-manager", "--image", "ghcr.io/kubeward/kubeward@sha256:" + "ab" * 32, "--api-server-cidr", "10.0.0.1/32"]],
)
def test_install_output_scans_clean(extra):
    env_args = [sys.executable, "-m", "kubeward"]
    env = {"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([*env_args, "admission", "install", *extra], capture_output=True, check=True, env=env).stdout
    scan = subprocess.run(
        [*env_args, "scan", "-", "-f", "json", "--no-config", "--fail-on", "info"], input=out, capture_output=True, env=env
    )
    report = orjson.loads(scan.stdout)
    assert scan.returncode == 0, scan.stdout.decode()[:2000]
    assert report["findings"] == [] or all(f.get("suppressed") for f in report["findings"])
    if extra:  # pinned image, cert-manager and a known API server range: nothing even suppressed
        assert not report["findings"]


def test_install_rejects_an_invalid_policy(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("default-mode: maybe\n")
    result = CliRunner().invoke(cli, ["admission", "install", "--policy", str(policy)])
    assert result.exit_code == 2 and "default-mode" in result.output


def test_manifests_function_respects_replicas():
    policy = parse_policy_text(DEFAULT_POLICY)
    docs = manifests(namespace="x", policy_text=DEFAULT_POLICY, policy=policy, replicas=3, cert_manager=True)
    assert next(d for d in docs if d["kind"] == "Deployment")["spec"]["replicas"] == 3


# -- admission test ----------------------------------------------------------------------------


def test_admission_test_cli(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(MUTATE_ALL)
    good = deployment(securityContext={"runAsNonRoot": True})
    bad = pod(**PRIVILEGED)
    manifest = tmp_path / "m.yaml"
    manifest.write_text(yaml.safe_dump_all([good, bad]))
    runner = CliRunner()
    plain = runner.invoke(cli, ["admission", "test", str(policy), str(manifest)])
    assert plain.exit_code == 1 and plain.output.count("DENIED") == 2
    mutated = runner.invoke(cli, ["admission", "test", str(policy), str(manifest), "--mutate", "-f", "json"])
    assert mutated.exit_code == 1
    results = orjson.loads(mutated.output)
    assert [r["allowed"] for r in results] == [True, False] and results[0]["patch"]
    assert "KW-P001" in results[1]["message"]
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: 3\n")
    assert runner.invoke(cli, ["admission", "test", str(broken), str(manifest)]).exit_code == 2
