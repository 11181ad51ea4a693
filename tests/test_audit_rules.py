"""Audit detection rules: on the real audit-1.28 recording (every rule against the scenario
labels) and on a hand-written triggering and non-triggering event per rule."""

from __future__ import annotations

import base64
import os

import pytest

from audit_support import EVENTS, event, scenarios
from kubeward.audit.events import ReadStats, read_events
from kubeward.audit.rules import BY_ID, RULES, Detector, resolve
from kubeward.audit.settings import AuditConfigError, AuditSettings, parse_audit_settings
from kubeward.model import Severity

RECORDED = EVENTS.is_file()
if not RECORDED and os.environ.get("CI"):
    raise RuntimeError(f"recording not found at {EVENTS} (set KUBEWARD_SHARED)")
needs_recording = pytest.mark.skipif(not RECORDED, reason=f"{EVENTS} is not present")


def run(events, settings: AuditSettings | None = None):
    return Detector(settings).run(events)


def hits(alerts, rule_id: str) -> set[str]:
    return {i for a in alerts if a.rule.id == rule_id for i in a.audit_ids}


# -- the recording ---------------------------------------------------------------------------------


def _ref(ev):
    return ev.get("objectRef") or {}


def _res(*names):
    return lambda ev: _ref(ev).get("resource") in names


def _sub(*names):
    return lambda ev: _ref(ev).get("subresource") in names


# rule -> {scenario: which of its key events the rule must fire on (None: all)}. The rule must fire
# on exactly those key events, and on no event outside the listed scenarios.
# Deliberate differences from the scenario labels (stated, and checked by the "exactly"):
# - exec-into-pod skips `get pods/log` (a key event of exec-attach-portforward): reading logs is routine;
# - the setup / rbac-escalate-bind scenarios' key events are split between the rules that own them
#   (roles -> KW-AU007, bindings -> KW-AU006, TokenRequests -> KW-AU009); creating a ServiceAccount
#   is not an alert;
# - secret-access also fires on the secret reads inside the impersonation and anonymous scenarios,
#   and impersonation on the impersonated /version and get pods of exec-as-impersonated-oncall
#   (events of those scenarios that are not their key events: allowed by "within the scenarios").
EXPECTED = {
    "KW-AU001": {"anonymous-requests": None},
    "KW-AU002": {"bad-token-burst": None},
    "KW-AU003": {"exec-attach-portforward": _sub("exec", "attach", "portforward"), "exec-as-impersonated-oncall": None},
    "KW-AU004": {"ephemeral-debug-container": None},
    "KW-AU005": {"privileged-pod": None, "hostpath-pod": None, "hostnetwork-pod": None, "psa-enforce-rejection": None},
    "KW-AU006": {"crb-cluster-admin-to-sa": None, "rbac-escalate-bind": _res("rolebindings")},
    "KW-AU007": {"wildcard-role": None, "rbac-escalate-bind": _res("roles"), "setup": _res("roles")},
    "KW-AU008": {
        "cross-namespace-secret-read": None,
        "secret-bulk-read-admin": None,
        "limited-sa-secret-probing": None,
        "impersonation": _res("secrets"),
        "anonymous-requests": _res("secrets"),
    },
    "KW-AU009": {"tokenrequest": None, "setup": _sub("token")},
    "KW-AU010": {"legacy-sa-token-secret": None},
    "KW-AU011": {"impersonation": None, "exec-as-impersonated-oncall": None},
    "KW-AU012": {"nodes-proxy": None},
    "KW-AU013": {"csr-create-approve": None, "csr-system-masters-denied": None},
    "KW-AU014": {"webhook-config-changes": None},
    "KW-AU015": {"event-deletion": None},
    "KW-AU016": {"namespace-lifecycle": None},
    "KW-AU017": {"configmap-fake-credential": None},
    "KW-AU018": {"self-subject-reviews": None},
    "KW-AU019": {},  # off unless allowed-cidrs is configured: see test_source_ip_rule_on_the_recording
    "KW-AU020": {},  # nobody exec'd into kube-system in the recording: hand-written events below
    "KW-AU021": {"psa-label-weakening": None},
}
QUIET = ("admin-deploy", "ci-deploy", "browse-get-list-watch", "cleanup", "ephemeral-debug-client-error", "background")


@pytest.fixture(scope="module")
def recorded():
    stats = ReadStats()
    events = list(read_events([str(EVENTS)], stats))
    assert stats.problem_count == 0 and len(events) == 458
    return events, {e["auditID"]: e for e in events}, scenarios(), run(events)


def test_every_rule_has_expectations():
    assert set(EXPECTED) == {r.id for r in RULES}


@needs_recording
@pytest.mark.parametrize("rule_id", sorted(EXPECTED))
def test_rule_on_the_recording(recorded, rule_id):
    _, by_id, labels, alerts = recorded
    got = hits(alerts, rule_id)
    allowed: set[str] = set()
    for label, select in EXPECTED[rule_id].items():
        scenario = labels[label]
        keys = set(scenario["key_events"]["audit_ids"])
        required = {i for i in keys if select is None or select(by_id[i])}
        assert required, f"{label}: the selection picks no key event"
        assert got & keys == required, f"{rule_id} on {label}: missing {required - got}, extra {(got & keys) - required}"
        allowed |= set(scenario["audit_ids"])
    assert got <= allowed, f"{rule_id} fired outside its scenarios: {sorted(got - allowed)}"


@needs_recording
def test_ordinary_activity_is_quiet(recorded):
    _, _, labels, alerts = recorded
    fired = {i for a in alerts for i in a.audit_ids}
    for label in QUIET:
        noisy = fired & set(labels[label]["audit_ids"])
        assert not noisy, f"alerts on ordinary activity {label}: {[a.message for a in alerts if a.audit_ids[0] in noisy]}"


@needs_recording
def test_every_alerting_scenario_is_covered(recorded):
    """Each scenario with key events is claimed by some rule, except the ordinary ones and cleanup."""
    _, _, labels, _ = recorded
    claimed = {label for rules in EXPECTED.values() for label in rules}
    for label, scenario in labels.items():
        if scenario["key_events"]["audit_ids"] and label not in QUIET:
            assert label in claimed, label


@needs_recording
def test_source_ip_rule_on_the_recording(recorded):
    events, _, labels, _ = recorded
    settings = parse_audit_settings({"rules": {"unexpected-source-ip": {"allowed-cidrs": ["127.0.0.1/32"]}}}, "t")
    got = hits(run(events, settings), "KW-AU019")
    assert got == set(labels["anonymous-requests"]["audit_ids"]) | set(labels["bad-token-burst"]["audit_ids"])


@needs_recording
def test_burst_threshold_is_configurable(recorded):
    events, _, labels, _ = recorded
    settings = parse_audit_settings({"rules": {"auth-failure-burst": {"threshold": 31}}}, "t")
    assert not hits(run(events, settings), "KW-AU002")
    settings = parse_audit_settings({"rules": {"auth-failure-burst": {"threshold": 5, "window-seconds": 0.5}}}, "t")
    got = hits(run(events, settings), "KW-AU002")
    # at 5, the anonymous client's five 403s from 127.0.0.66 are a burst too
    assert got == set(labels["bad-token-burst"]["audit_ids"]) | set(labels["anonymous-requests"]["key_events"]["audit_ids"]) - {
        e for e in labels["anonymous-requests"]["audit_ids"] if recorded[1][e]["responseStatus"]["code"] != 403
    }


@needs_recording
def test_disable_and_allowlist(recorded):
    events = recorded[0]
    alerts = run(events, parse_audit_settings({"disable": ["event-deletion", "KW-AU016"]}, "t"))
    assert not hits(alerts, "KW-AU015") and not hits(alerts, "KW-AU016") and hits(alerts, "KW-AU014")
    alerts = run(events, parse_audit_settings({"allow-users": ["kubernetes-admin"]}, "t"))
    assert all(a.event["user"].get("username") != "kubernetes-admin" for a in alerts) and alerts
    alerts = run(events, parse_audit_settings({"enable": ["nodes-proxy"], "severity": {"nodes-proxy": "critical"}}, "t"))
    assert {a.rule.id for a in alerts} == {"KW-AU012"} and {a.severity for a in alerts} == {Severity.CRITICAL}


# -- hand-written events: one that triggers, one that does not --------------------------------------

ADMIN = {"user": "kubernetes-admin", "groups": ("system:masters", "system:authenticated")}


def _pod(spec, **kw):
    return event("create", "pods", namespace="apps", name="p", requestObject={"kind": "Pod", "spec": spec}, **ADMIN, **kw)


def _csr(org: str) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mallory"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return base64.b64encode(csr.public_bytes(serialization.Encoding.PEM)).decode()


PRIV = {"containers": [{"name": "c", "image": "x", "securityContext": {"privileged": True}}]}
PLAIN = {"containers": [{"name": "c", "image": "x"}]}
SA = {"user": "system:serviceaccount:ci:builder", "groups": ("system:serviceaccounts", "system:authenticated")}

CASES = {
    "KW-AU001": (
        event("list", "pods", namespace="default", user="system:anonymous", groups=("system:unauthenticated",)),
        event("list", "pods", namespace="default"),
    ),
    "KW-AU003": (
        event("create", "pods", "exec", namespace="apps", name="web", uri="/api/v1/namespaces/apps/pods/web/exec?command=sh"),
        event("get", "pods", "log", namespace="apps", name="web"),
    ),
    "KW-AU004": (
        event("patch", "pods", "ephemeralcontainers", namespace="apps", name="web",
              requestObject={"spec": {"ephemeralContainers": [{"name": "dbg", "image": "busybox"}]}}),
        event("patch", "pods", namespace="apps", name="web", requestObject={"metadata": {"labels": {"a": "b"}}}),
    ),  # fmt: skip
    "KW-AU005": (_pod(PRIV), _pod(PLAIN)),
    "KW-AU006": (
        event("create", "clusterrolebindings", name="x", group="rbac.authorization.k8s.io",
              requestObject={"roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}, "subjects": [{"name": "eve"}]}),
        event("create", "clusterrolebindings", name="x", group="rbac.authorization.k8s.io",
              requestObject={"roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": [{"kind": "User", "name": "eve"}]}),
    ),  # fmt: skip
    "KW-AU007": (
        event("create", "clusterroles", name="x", group="rbac.authorization.k8s.io",
              requestObject={"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}]}),
        event("create", "clusterroles", name="x", group="rbac.authorization.k8s.io",
              requestObject={"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]}),
    ),  # fmt: skip
    "KW-AU008": (
        event("get", "secrets", namespace="payments", name="db", **SA),
        event("get", "secrets", namespace="ci", name="db", **SA),
    ),
    "KW-AU009": (
        event("create", "serviceaccounts", "token", namespace="ci", name="deployer"),
        event("create", "serviceaccounts", "token", namespace="ci", name="deployer", user="system:node:worker-1"),
    ),
    "KW-AU010": (
        event("create", "secrets", namespace="ci", name="x",
              requestObject={"type": "kubernetes.io/service-account-token", "metadata": {"name": "x"}}),
        event("create", "secrets", namespace="ci", name="x", requestObject={"type": "Opaque", "metadata": {"name": "x"}}),
    ),  # fmt: skip
    "KW-AU011": (
        event("list", "pods", namespace="apps", impersonatedUser={"username": "bob"}),
        event("list", "pods", namespace="apps"),
    ),
    "KW-AU012": (event("get", "nodes", "proxy", name="worker-1"), event("get", "nodes", name="worker-1")),
    "KW-AU013": (
        event("create", "certificatesigningrequests", name="x", group="certificates.k8s.io",
              requestObject={"spec": {"request": _csr("developers"), "signerName": "kubernetes.io/kube-apiserver-client"}}),
        event("create", "certificatesigningrequests", name="x", group="certificates.k8s.io", user="system:node:worker-1"),
    ),  # fmt: skip
    "KW-AU014": (
        event("delete", "validatingwebhookconfigurations", name="policy", group="admissionregistration.k8s.io"),
        event("get", "validatingwebhookconfigurations", name="policy", group="admissionregistration.k8s.io"),
    ),
    "KW-AU015": (
        event("delete", "events", namespace="apps", name="e1"),
        event("delete", "events", namespace="apps", name="e1", user="system:serviceaccount:kube-system:namespace-controller"),
    ),
    "KW-AU016": (event("create", "namespaces", name="tmp"), event("get", "namespaces", name="tmp")),
    "KW-AU017": (
        event("create", "configmaps", namespace="apps", name="cfg", requestObject={"data": {"aws": "id=AKIAIOSFODNN7EXAMPLE"}}),
        event("create", "configmaps", namespace="apps", name="cfg", requestObject={"data": {"log-level": "debug"}}),
    ),
    "KW-AU018": (
        event("create", "selfsubjectrulesreviews", group="authorization.k8s.io", **SA),
        event("create", "subjectaccessreviews", group="authorization.k8s.io", **SA),
    ),
    "KW-AU020": (
        event("create", "pods", "exec", namespace="kube-system", name="etcd-cp-1"),
        event("create", "pods", "exec", namespace="apps", name="web"),
    ),
    "KW-AU021": (
        event("patch", "namespaces", name="apps",
              requestObject={"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "privileged"}}}),
        event("patch", "namespaces", name="apps", requestObject={"metadata": {"labels": {"team": "a"}}}),
    ),
}  # fmt: skip


def _burst(code: int, n: int, ip: str = "203.0.113.9"):
    return [
        event("list", "secrets", user="", groups=(), code=code, ip=ip, time=f"2026-11-24T11:00:{i:02d}.000000Z") for i in range(n)
    ]


def test_every_rule_has_hand_written_cases():
    assert set(CASES) | {"KW-AU002", "KW-AU019"} == {r.id for r in RULES}


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_triggers_and_stays_quiet(rule_id):
    trigger, quiet = CASES[rule_id]
    assert hits(run([trigger]), rule_id) == {trigger["auditID"]}
    assert not hits(run([quiet]), rule_id)


def test_burst_rule():
    burst = _burst(401, 10)
    alerts = run(burst)
    assert hits(alerts, "KW-AU002") == {e["auditID"] for e in burst}
    assert not hits(run(_burst(401, 9)), "KW-AU002")
    spread = [
        event("list", "pods", user="", code=401, ip="203.0.113.9", time=f"2026-11-24T11:{i:02d}:00.000000Z") for i in range(12)
    ]
    assert not hits(run(spread), "KW-AU002")  # one a minute: never 10 within 60 s


def test_source_ip_rule():
    settings = parse_audit_settings({"rules": {"unexpected-source-ip": {"allowed-cidrs": ["10.0.0.0/8"]}}}, "t")
    inside, outside = event("get", "pods", ip="10.1.2.3"), event("get", "pods", ip="198.51.100.7")
    assert hits(run([inside, outside], settings), "KW-AU019") == {outside["auditID"]}
    assert not hits(run([outside]), "KW-AU019")  # off without allowed-cidrs


def test_severities_follow_the_outcome():
    denied = _pod(PRIV, code=403)
    (alert,) = run([denied])
    assert alert.severity == Severity.MEDIUM
    masters = event("create", "certificatesigningrequests", name="x", group="certificates.k8s.io",
                    requestObject={"spec": {"request": _csr("system:masters")}})  # fmt: skip
    (alert,) = run([masters])
    assert alert.severity == Severity.CRITICAL and "system:masters" in alert.message
    public = event("get", "", uri="/version", user="system:anonymous", groups=("system:unauthenticated",))
    assert run([public])[0].severity == Severity.LOW


def test_workload_templates_and_patches_are_checked():
    deploy = event(
        "create",
        "deployments",
        namespace="apps",
        name="d",
        group="apps",
        requestObject={"kind": "Deployment", "spec": {"template": {"spec": {"hostNetwork": True, **PLAIN}}}},
    )
    patch = event(
        "patch",
        "daemonsets",
        namespace="apps",
        name="d",
        group="apps",
        requestObject={"spec": {"template": {"spec": {"volumes": [{"name": "h", "hostPath": {"path": "/"}}]}}}},
    )
    image = event("patch", "deployments", namespace="apps", name="d", group="apps",
                  requestObject={"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "y"}]}}}})  # fmt: skip
    assert hits(run([deploy, patch, image]), "KW-AU005") == {deploy["auditID"], patch["auditID"]}
    by_controller = _pod(PRIV)
    by_controller["user"] = {"username": "system:serviceaccount:kube-system:daemon-set-controller"}
    assert not run([by_controller])


def test_duplicate_stages_alert_once():
    ev = event("watch", "secrets", stage="ResponseStarted")
    again = dict(ev, stage="ResponseComplete")
    received = dict(ev, stage="RequestReceived", auditID="other")
    assert len(run([ev, again, received])) == 1


def test_bad_shapes_in_bodies_never_crash():
    bodies = [None, 1, "x", [], {"spec": 1}, {"spec": {"containers": "x"}}, {"rules": "x"}, {"rules": [1, None]},
              {"roleRef": "x", "subjects": [1]}, {"data": {"k": 1}}, {"metadata": {"labels": "x"}},
              {"spec": {"ephemeralContainers": [1]}}, {"spec": {"request": "!!"}}, {"webhooks": [1]}]  # fmt: skip
    for rule in RULES:
        for resource, sub in rule.on:
            for body in bodies:
                for verb in sorted(rule.verbs or {"get"}):
                    ev = event(verb, resource, sub, namespace="a", name="n", requestObject=body, responseObject=body)
                    for alert in run([ev]):  # any alert still names its event and carries a message
                        assert alert.audit_ids == (ev["auditID"],) and alert.message, (rule.id, body)


def test_config_errors():
    for data, message in (
        ({"disable": ["no-such-rule"]}, "no audit rule"),
        ({"rules": {"auth-failure-burst": {"threshold": 0}}}, "positive integer"),
        ({"rules": {"auth-failure-burst": {"nope": 1}}}, "unknown setting"),
        ({"rules": {"unexpected-source-ip": {"allowed-cidrs": ["10.0.0.0/33"]}}}, "10.0.0.0/33"),
        ({"severity": {"nodes-proxy": "urgent"}}, "unknown severity"),
        ({"bogus": 1}, "unknown key"),
        ("x", "mapping"),
    ):
        with pytest.raises(AuditConfigError, match=message):
            parse_audit_settings(data, "cfg")


def test_rule_metadata():
    for rule in RULES:
        assert rule.id.startswith("KW-AU") and rule.mitre.technique.startswith("T") and rule.description
        assert resolve(rule.slug) is rule and BY_ID[rule.id] is rule


def test_every_rule_is_documented():
    from helpers import ROOT

    text = (ROOT / "docs" / "audit.md").read_text()
    for rule in RULES:
        assert f"| {rule.id} | `{rule.slug}` | {rule.severity} | {rule.mitre.technique}" in text, rule.id
