"""`kubeward probe`: target rules, answer semantics against stub servers that
replay a real kube-apiserver's anonymous answers, safety and bounds."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from helpers import SHARED, run_cli
from kubeward.model import Severity
from kubeward.probe import RULES, Target, TargetError, plan, probe
from kubeward.probe.net import MAX_BODY, Exchange
from kubeward.probe.observe import ETCD_COUNT, PLANS, Observation, observe_all
from kubeward.probe.rules import verdict
from kubeward.probe.targets import MAX_HOSTS, parse_ports
from probe_fixtures import StubServer, json_route, make_pki

EXCHANGES = SHARED / "recordings" / "k8s-1.28-api" / "exchanges"
needs_recording = pytest.mark.skipif(not EXCHANGES.is_dir(), reason=f"{EXCHANGES} is not present (set KUBEWARD_SHARED)")


def recorded(name: str):
    """A stub route replaying one recorded kube-apiserver response, byte for byte in meaning."""
    resp = json.loads((EXCHANGES / f"{name}.json").read_text())["response"]
    body = resp["body"]
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    return resp["status"], resp["headers"].get("Content-Type", "application/json"), raw


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"), server_cn="kube-apiserver-test")


def run(server: StubServer, service: str, timeout: float = 2.0):
    [result] = probe([Target("127.0.0.1", server.port, service)], timeout=timeout)
    return result


def ids(result) -> set[str]:
    return {f.rule.id for f in result.findings}


# -- targets -------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["10.0.0.0/24", "192.168.1.1-20", "*.cluster.local", "https://x", "a_b", "", "1.2.3"])
def test_ranges_cidrs_and_junk_are_refused(bad):
    with pytest.raises(TargetError):
        plan([bad])


def test_hosts_are_capped_and_deduplicated():
    assert len(plan(["127.0.0.1", "127.0.0.1", "localhost"], ["6443"])) == 2
    with pytest.raises(TargetError, match="at most"):
        plan([f"10.0.0.{i}" for i in range(MAX_HOSTS + 1)])
    with pytest.raises(TargetError, match="at least one HOST"):
        plan([])


def test_ports_default_known_and_explicit_services():
    assert [(t.port, t.service) for t in plan(["::1"])] == [
        (6443, "apiserver"),
        (10250, "kubelet"),
        (10255, "kubelet-readonly"),
        (2379, "etcd"),
    ]
    assert parse_ports(["8443", "9000:etcd,9000:etcd", "6443"]) == [
        (8443, "apiserver"),
        (8443, "dashboard"),
        (9000, "etcd"),
        (6443, "apiserver"),
    ]
    assert plan(["[::1]"], ["6443"])[0].address == "[::1]:6443"
    for bad in (["9000"], ["0"], ["70000"], ["x"], ["8080:ssh"]):
        with pytest.raises(TargetError):
            parse_ports(bad)


@pytest.mark.parametrize("args", [["10.0.0.0/8"], [], ["127.0.0.1", "-p", "9000"], ["127.0.0.1", "--timeout", "0"]])
def test_cli_usage_errors_exit_2(args):
    res = run_cli("probe", *args)
    assert res.exit_code == 2


def test_closed_ports_are_closed_not_exposed():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = run_cli("probe", "127.0.0.1", "-p", f"{port}:apiserver,{port}:etcd", "-f", "json")
    doc = json.loads(res.stdout)
    assert res.exit_code == 0 and doc["findings"] == []
    assert [t["verdict"] for t in doc["targets"]] == ["closed", "closed"]


# -- API server, from the recorded answers ------------------------------------


@needs_recording
def test_apiserver_default_anonymous_is_authenticated_not_open(pki):
    """A stock v1.28 server: /version and /healthz 200 (system:public-info-viewer),
    everything else 403 for system:anonymous. Anonymous auth is ON, nothing is open."""
    routes = {
        "/version": recorded("0211-GET-version--anonymous"),
        "/api": recorded("0212-GET-api--anonymous"),
        "/apis": recorded("0213-GET-apis--anonymous"),
        "/api/v1/namespaces/default/pods": recorded("0214-GET-api_v1_namespaces_default_pods--anonymous"),
        "/healthz": recorded("0215-GET-healthz--anonymous"),
    }
    with StubServer(routes, pki=pki) as server:
        result = run(server, "apiserver")
    assert result.observation.scheme == "https"
    assert ids(result) == {"KW-X003", "KW-X004"}
    assert result.verdict == "anonymous"
    x004 = next(f for f in result.findings if f.rule.id == "KW-X004")
    assert any('User "system:anonymous" cannot list resource "pods"' in e for e in x004.evidence)
    assert any("/version" in e and "v1.28.0" in e for f in result.findings for e in f.evidence)
    assert result.observation.tls.subject == "CN=kube-apiserver-test" and result.observation.tls.issuer == "CN=kubeward-test-ca"
    assert max(f.rule.severity for f in result.findings) == Severity.LOW


@needs_recording
def test_apiserver_without_anonymous_auth_is_protected(pki):
    """--anonymous-auth=false: every unauthenticated request gets the 401 Status the server
    gives an unknown token (recorded with a bad token: the same Unauthorized path)."""
    unauthorized = recorded("0208-GET-api_v1_namespaces--bad-token")
    routes = {path: unauthorized for _, path, _ in PLANS["apiserver"]}
    routes["/version"] = recorded("0210-GET-version--bad-token")
    routes["/api"] = recorded("0209-GET-api--bad-token")
    with StubServer(routes, pki=pki) as server:
        result = run(server, "apiserver")
    assert result.findings == [] and result.verdict == "protected"
    assert "401" in result.why


@needs_recording
def test_apiserver_open_to_anonymous(pki):
    """RBAC granting system:anonymous: 200 with real discovery and pod-list bodies."""
    routes = {
        "/version": recorded("0001-GET-version"),
        "/api": recorded("0002-GET-api"),
        "/apis": recorded("0003-GET-apis"),
        "/api/v1/namespaces/default/pods": recorded("0148-GET-api_v1_namespaces_storefront_pods"),
        "/healthz": recorded("0215-GET-healthz--anonymous"),
    }
    with StubServer(routes, pki=pki) as server:
        result = run(server, "apiserver")
    assert ids(result) == {"KW-X001", "KW-X002", "KW-X003", "KW-X004"}
    assert result.verdict == "exposed"
    [x001] = [f for f in result.findings if f.rule.id == "KW-X001"]
    assert x001.rule.severity == Severity.CRITICAL and "PodList with 12 items" in x001.evidence[0]


@needs_recording
def test_apiserver_over_plain_http_falls_back_and_is_critical():
    routes = {"/version": recorded("0001-GET-version"), "/api": recorded("0002-GET-api")}
    with StubServer(routes) as server:
        result = run(server, "apiserver")
        methods = {(m, p) for m, p, _ in server.requests}
    assert result.observation.scheme == "http"
    assert result.observation.exchanges[0].error == "not-tls"  # TLS was tried first
    assert {"KW-X005", "KW-X002", "KW-X003"} <= ids(result)
    assert ("GET", "/version") in methods


# -- kubelet -------------------------------------------------------------------

KUBELET_401 = (401, "text/plain; charset=utf-8", b"Unauthorized")


def kubelet_403(subresource: str):
    msg = f"Forbidden (user=system:anonymous, verb=get, resource=nodes, subresource={subresource})\n"
    return 403, "text/plain; charset=utf-8", msg.encode()


def test_kubelet_anonymous_disabled_is_protected(pki):
    with StubServer(lambda method, path: KUBELET_401, pki=pki) as server:
        result = run(server, "kubelet")
    assert result.verdict == "protected" and result.findings == []


def test_kubelet_anonymous_with_webhook_authorization(pki):
    """anonymous.enabled: true + authorization.mode: Webhook: 403 naming system:anonymous."""
    with StubServer(lambda m, p: kubelet_403("metrics" if p == "/metrics" else "proxy"), pki=pki) as server:
        result = run(server, "kubelet")
    assert ids(result) == {"KW-X011"} and result.verdict == "anonymous"
    assert result.findings[0].rule.severity < Severity.MEDIUM  # not "exposed": the exit code stays 0 by default
    assert all("user=system:anonymous" in e for e in result.findings[0].evidence)
    assert len(result.findings[0].evidence) == len(PLANS["kubelet"])


@needs_recording
def test_kubelet_always_allow_is_open(pki):
    pods = recorded("0148-GET-api_v1_namespaces_storefront_pods")
    routes = {
        "/pods": pods,
        "/runningpods/": pods,
        "/healthz": (200, "text/plain", b"ok"),
        "/metrics": (200, "text/plain; version=0.0.4", b"# HELP kubelet_running_pods Number of pods\n"),
    }
    with StubServer(routes, pki=pki) as server:
        result = run(server, "kubelet")
    assert ids(result) == {"KW-X010", "KW-X012"}
    assert next(f for f in result.findings if f.rule.id == "KW-X010").rule.severity == Severity.CRITICAL


@needs_recording
def test_kubelet_readonly_port_answering_is_exposed():
    routes = {"/pods": recorded("0148-GET-api_v1_namespaces_storefront_pods"), "/healthz": (200, "text/plain", b"ok")}
    with StubServer(routes) as server:
        result = run(server, "kubelet-readonly")
    assert result.observation.scheme == "http" and ids(result) == {"KW-X020"}
    assert len(result.findings[0].evidence) == 2


# -- dashboard -------------------------------------------------------------------


def test_dashboard_with_skip_login(pki):
    routes = {
        "/": (200, "text/html", b"<html><head><title>Kubernetes Dashboard</title></head></html>"),
        "/api/v1/login/status": json_route(
            200, {"tokenPresent": False, "headerPresent": False, "httpsMode": True, "impersonationPresent": False}
        ),
        "/api/v1/login/modes": json_route(200, {"modes": ["token"]}),
        "/api/v1/login/skippable": json_route(200, {"skippable": True}),
    }
    with StubServer(routes, pki=pki) as server:
        result = run(server, "dashboard")
        routes["/api/v1/login/skippable"] = json_route(200, {"skippable": False})
        without_skip = run(server, "dashboard")
    assert ids(result) == {"KW-X040", "KW-X041"}
    assert ids(without_skip) == {"KW-X040"}


# -- safety and bounds ---------------------------------------------------------


@needs_recording
def test_requests_are_anonymous_and_read_only(pki):
    seen = []
    with StubServer(lambda m, p: recorded("0212-GET-api--anonymous"), pki=pki) as server:
        probe([Target("127.0.0.1", server.port, s) for s in PLANS], timeout=2)
        seen = server.requests
    assert seen
    for method, path, headers in seen:
        lowered = {k.lower() for k in headers}
        assert not lowered & {"authorization", "cookie", "proxy-authorization", "impersonate-user"}
        assert headers["User-Agent"].startswith("kubeward-probe/")
        assert method == "GET" or (method, path) == ("POST", "/v3/kv/range")
    assert json.loads(ETCD_COUNT)["count_only"] is True  # the one POST reads a count, never values


def test_silent_server_times_out_quickly():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)  # accepts connections (in the backlog) but never answers
        port = s.getsockname()[1]
        start = time.monotonic()
        [result] = probe([Target("127.0.0.1", port, "apiserver")], timeout=0.3)
        elapsed = time.monotonic() - start
    assert result.verdict == "no answer" and result.findings == []
    assert elapsed < 2.0


def test_body_is_capped(pki):
    big = b"# HELP x\n" + b"x" * (3 * MAX_BODY)
    with StubServer(lambda m, p: (200, "text/plain", big), pki=pki) as server:
        result = run(server, "kubelet")
    metrics = result.observation.get("/metrics")
    assert metrics.truncated and len(metrics.body) == MAX_BODY


def test_concurrency_is_bounded():
    lock = threading.Lock()
    active = peak = 0

    def fetcher(host, port, path, **kw):
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.02)
        with lock:
            active -= 1
        return Exchange(kw.get("method", "GET"), path, kw["scheme"], error="refused", detail="connection refused")

    targets = [Target("127.0.0.1", 1000 + i, "apiserver") for i in range(12)]
    observations = observe_all(targets, timeout=1, concurrency=3, fetcher=fetcher)
    assert [o.target for o in observations] == targets
    assert 1 < peak <= 3


# -- rules are pure and robust ---------------------------------------------------

JUNK_BODIES = [
    b"",
    b"null",
    b"[1, 2]",
    b'"x"',
    b"{",
    b'{"kind": 1, "items": "x", "message": 1, "gitVersion": 3}',
    b'{"etcdserver": 1, "header": [], "skippable": "yes", "tokenPresent": 1}',
    b"\xff\xfe",
    b"<html>",
]


@pytest.mark.parametrize("service", sorted(PLANS))
@pytest.mark.parametrize("status", [200, 401, 403, 500])
def test_junk_answers_never_crash_nor_claim_exposure(service, status):
    from kubeward.probe import assess

    for body in JUNK_BODIES:
        obs = Observation(Target("127.0.0.1", 1, service), scheme="https")
        obs.exchanges = [Exchange(m, p, "https", status=status, body=body) for m, p, _ in PLANS[service]]
        result = assess(obs)
        assert all(f.rule.severity < Severity.HIGH for f in result.findings), (body, result.findings)
        assert result.verdict in ("unrecognised", "anonymous", "exposed", "protected")


def test_verdicts_for_transport_errors():
    for error, expected in [
        ("refused", "closed"),
        ("timeout", "no answer"),
        ("client-cert-required", "protected"),
        ("tls-error", "error"),
    ]:
        obs = Observation(Target("h", 1, "etcd"), error=error, detail="d")
        assert verdict(obs, [])[0] == expected


def test_rule_registry():
    assert len(RULES) >= 12
    for r in RULES.values():
        assert r.service in PLANS and r.title and r.remediation and isinstance(r.severity, Severity)
    with pytest.raises(ValueError):
        from kubeward.probe.rules import rule

        rule(id="KW-X001", service="etcd", title="dup", severity=Severity.LOW, remediation="x")


@needs_recording
def test_cli_json_and_fail_on(pki):
    """A stock API server only leaks its version and accepts anonymous requests (low):
    exit 0 under the default --fail-on medium, 1 under --fail-on low."""
    routes = {
        "/version": recorded("0211-GET-version--anonymous"),
        "/api": recorded("0212-GET-api--anonymous"),
        "/apis": recorded("0213-GET-apis--anonymous"),
        "/api/v1/namespaces/default/pods": recorded("0214-GET-api_v1_namespaces_default_pods--anonymous"),
        "/healthz": recorded("0215-GET-healthz--anonymous"),
    }
    with StubServer(routes, pki=pki) as server:
        default = run_cli("probe", "127.0.0.1", "-p", f"{server.port}:apiserver", "-f", "json")
        strict = run_cli("probe", "127.0.0.1", "-p", f"{server.port}:apiserver", "--fail-on", "low")
    doc = json.loads(default.stdout)
    assert default.exit_code == 0 and strict.exit_code == 1
    [target] = doc["targets"]
    assert target["verdict"] == "anonymous" and target["tls"]["subject"] == "CN=kube-apiserver-test"
    assert sorted(target["findings"]) == sorted(f["id"] for f in doc["findings"]) == ["KW-X003", "KW-X004"]
    assert [ex["status"] for ex in target["exchanges"]] == [200, 403, 403, 403, 200]
    assert doc["summary"]["bySeverity"] == {"low": 2}
    assert "KW-X004" in strict.stdout and "system:anonymous" in strict.stdout


def test_docs_list_every_rule():
    from helpers import ROOT

    text = (ROOT / "docs" / "probe.md").read_text()
    for r in RULES.values():
        assert f"| {r.id} | {r.service} | {r.severity} | {r.title} |" in text, r.id


def test_a_node_with_many_pods_is_still_recognised(pki):
    """A real node's /pods can exceed the body cap: the kind (written first) still identifies it."""
    pod = {"metadata": {"name": "p", "namespace": "default"}, "spec": {"containers": [{"name": "c", "image": "x" * 200}]}}
    big = {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": [pod] * 3000}
    route = json_route(200, big)
    assert len(route[2]) > MAX_BODY
    with StubServer({"/pods": route, "/runningpods/": route}, pki=pki) as server:
        result = run(server, "kubelet")
    [x010] = [f for f in result.findings if f.rule.id == "KW-X010"]
    assert "PodList (body over 256 KiB, not counted)" in x010.evidence[0]


def test_a_reset_tls_handshake_is_retried_in_clear():
    """etcd's plain port sometimes resets a TLS ClientHello rather than hanging up: still probed over HTTP."""
    from kubeward.probe.observe import observe

    calls = []

    def fetcher(host, port, path, *, scheme, timeout, method="GET", body=None):
        calls.append(scheme)
        if scheme == "https":
            return Exchange(method, path, scheme, error="reset", detail="connection reset by the server")
        return Exchange(method, path, scheme, status=200, content_type="application/json", body=b"{}")

    obs = observe(Target("127.0.0.1", 2379, "etcd"), timeout=1, fetcher=fetcher)
    assert calls[:2] == ["https", "http"] and obs.scheme == "http"
