"""`kubeward admission serve` as a real process, over real TLS, with a real HTTPS client."""

from __future__ import annotations

import concurrent.futures
import http.client
import signal
import socket
import ssl
import time

import orjson
import pytest

from admission_support import COMPLIANT_SC, Server, client_context, decode_patch, deployment, issue, make_ca, pod, review
from kubeward.admission import mutate

POLICY = """\
version: 1
default-mode: off
rules:
  - checks: [tag:pss-baseline]
    mode: enforce
  - checks: [tag:pss-restricted]
    mode: warn
  - checks: [KW-I001]
    mode: warn
  - checks: [KW-W001]
    mode: audit
mutations:
  seccomp-profile: true
  allow-privilege-escalation: true
  drop-all-capabilities: true
"""
STRICT = POLICY.replace("checks: [tag:pss-restricted]\n    mode: warn", "checks: [tag:pss-restricted]\n    mode: enforce")


@pytest.fixture(scope="module")
def ca():
    return make_ca()


@pytest.fixture(scope="module")
def server(tmp_path_factory, ca):
    s = Server(tmp_path_factory.mktemp("admission"), ca, POLICY)
    yield s
    s.stop()


def test_allowed(server):
    obj = deployment(securityContext=COMPLIANT_SC)
    response = server.review(review(obj, uid="allow-1"))
    assert response["uid"] == "allow-1" and response["allowed"] is True
    assert "status" not in response and "warnings" not in response and "patch" not in response


def test_denied_lists_every_check_field_and_fix(server):
    obj = pod(securityContext={"privileged": True}, ports=[{"containerPort": 80, "hostPort": 80}])
    response = server.review(review(obj, uid="deny-1"))
    assert response["uid"] == "deny-1" and response["allowed"] is False
    status = response["status"]
    assert status["code"] == 403 and status["reason"] == "Forbidden"
    for check_id, field in (
        ("KW-P001", "spec.containers[0].securityContext.privileged"),
        ("KW-P007", "spec.containers[0].ports[0].hostPort"),
    ):
        assert any(
            line.startswith(f"- {check_id}") and field in line and "Fix:" in line for line in status["message"].splitlines()
        )


def test_warned_and_audited(server):
    response = server.review(review(pod(image="registry.example.com/app:latest")))
    assert response["allowed"] is True
    warnings = response["warnings"]
    assert any(w.startswith("KW-I001") for w in warnings) and any(w.startswith("KW-P006") for w in warnings)
    assert all(len(w) <= 120 for w in warnings)
    assert "KW-W001" in response["auditAnnotations"]["violations"]


def test_mutated_object_passes_revalidation(tmp_path, ca):
    s = Server(tmp_path, ca, STRICT)
    try:
        obj = deployment(spec_extra={"securityContext": {"runAsNonRoot": True}})
        assert s.review(review(obj))["allowed"] is False
        response = s.review(review(obj), "/mutate")
        assert response["allowed"] is True
        patched = mutate.apply_patch(obj, decode_patch(response))
        assert s.review(review(patched))["allowed"] is True
        again = s.review(review(patched), "/mutate")
        assert "patch" not in again  # idempotent: reinvocation adds nothing
    finally:
        s.stop()


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'"a string"',
        b'{"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": {"uid": "x"}}',
        b'{"apiVersion": "admission.k8s.io/v1", "kind": "Status", "request": {"uid": "x"}}',
        b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}',
        b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"operation": "CREATE"}}',
        b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": "x", "operation": "CREATE",'
        b' "kind": {"kind": "Pod"}, "object": [1, 2]}}',
        b"",
    ],
)
def test_malformed_bodies_get_400_with_a_json_error(server, body):
    status, payload = server.post("/validate", body)
    assert status == 400
    error = orjson.loads(payload)
    assert error["code"] == 400 and error["error"].startswith("malformed AdmissionReview")


def test_malformed_http_gets_400_and_the_server_survives(server):
    with socket.create_connection(("127.0.0.1", server.port)) as raw:
        with client_context(server.ca).wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"GARBAGE\r\n\r\n")
            assert tls.recv(4096).startswith(b"HTTP/1.1 400")
    assert server.get("/healthz")[0] == 200


def test_oversized_body_gets_413_before_it_is_read(server):
    conn = server.connection()
    conn.putrequest("POST", "/validate")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(3 * 1024 * 1024 + 1))
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413 and orjson.loads(response.read())["code"] == 413
    conn.close()
    # a body of exactly the limit is read (and, not being a review, rejected as malformed)
    status, _ = server.post("/validate", b" " * (3 * 1024 * 1024))
    assert status == 400


def test_routes_methods_and_probes(server):
    assert server.get("/healthz")[0] == 200
    assert server.get("/readyz")[0] == 200
    assert server.get("/nowhere")[0] == 404
    assert server.get("/validate")[0] == 405
    assert server.post("/validate?timeout=10s", orjson.dumps(review(pod())))[0] == 200  # the API server adds ?timeout


def test_metrics(server):
    server.review(review(pod(securityContext={"privileged": True})))
    status, headers, body = server.get("/metrics")
    text = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert 'kubeward_admission_requests_total{endpoint="validate",operation="CREATE",kind="Pod",decision="deny"}' in text
    assert (
        'kubeward_admission_duration_seconds_bucket{endpoint="validate",operation="CREATE",kind="Pod",decision="deny",le="+Inf"}'
        in text
    )
    assert 'kubeward_admission_denials_total{check="KW-P001"}' in text
    assert 'kubeward_admission_http_errors_total{code="400"}' in text or "http_errors_total" in text


def test_keep_alive_and_concurrent_requests(server):
    def worker(n: int) -> list[bool]:
        conn = server.connection()
        try:
            out = []
            for i in range(10):
                bad = (n + i) % 2 == 0
                obj = pod(name=f"p{n}-{i}", securityContext={"privileged": True} if bad else COMPLIANT_SC)
                response = server.review(review(obj, uid=f"{n}-{i}"), conn=conn)
                out.append(response["uid"] == f"{n}-{i}" and response["allowed"] is (not bad))
            return out
        finally:
            conn.close()

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = [ok for batch in pool.map(worker, range(16)) for ok in batch]
    assert len(results) == 160 and all(results)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tls_1_1_is_refused(server):
    ctx = client_context(server.ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises((ssl.SSLError, OSError)):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
            ctx.wrap_socket(raw, server_hostname="localhost").close()


def test_logs_are_json_with_uid_and_no_object_contents(server):
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "shop"},
        "data": {"password": "aHVudGVyMg=="},
    }
    server.review(review(secret, uid="secret-uid"))
    server.review(review(pod(securityContext={"privileged": True}), uid="logged-uid"))
    time.sleep(0.1)
    lines = [orjson.loads(line) for line in server.log.read_text().splitlines() if line.strip()]
    assert any(rec.get("uid") == "logged-uid" and rec.get("decision") == "deny" for rec in lines)
    assert "aHVudGVyMg==" not in server.log.read_text()


def _wait_for(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_config_reload_valid_and_invalid(tmp_path, ca):
    s = Server(tmp_path, ca, POLICY)
    try:
        privileged = review(pod(securityContext={"privileged": True}))
        conn = s.connection()  # one keep-alive connection across the reloads: nothing is dropped
        assert s.review(privileged, conn=conn)["allowed"] is False
        s.policy.write_text(
            POLICY.replace("checks: [tag:pss-baseline]\n    mode: enforce", "checks: [tag:pss-baseline]\n    mode: warn")
        )
        assert _wait_for(lambda: s.review(privileged, conn=conn)["allowed"] is True)
        s.policy.write_text("version: 1\ndefault-mode: sometimes\n")
        assert _wait_for(lambda: "new policy rejected" in s.log.read_text())
        assert s.review(privileged, conn=conn)["allowed"] is True  # the previous policy keeps serving
        assert 'kubeward_admission_reloads_total{what="policy",result="rejected"} 1' in s.get("/metrics")[2].decode()
        s.policy.write_text(POLICY)
        assert _wait_for(lambda: s.review(privileged, conn=conn)["allowed"] is False)
        conn.close()
    finally:
        s.stop()


def test_certificate_rotation_without_restart(tmp_path, ca):
    s = Server(tmp_path, ca, POLICY)
    try:

        def served_cn() -> str:
            with socket.create_connection(("127.0.0.1", s.port), timeout=5) as raw:
                with client_context(new_ca).wrap_socket(raw, server_hostname="localhost") as tls:
                    cert = tls.getpeercert()
            return dict(x[0] for x in cert["subject"])["commonName"]

        old_conn = s.connection()
        assert s.review(review(pod()), conn=old_conn)["allowed"] is True
        new_ca = make_ca()
        issue(new_ca, tmp_path, "tls", common_name="rotated")  # the same files, new CA and key
        assert _wait_for(lambda: _try(served_cn) == "rotated")
        assert s.review(review(pod()), conn=old_conn)["allowed"] is True  # open connections keep working
        old_conn.close()
        assert s.proc.poll() is None
        with pytest.raises(ssl.SSLError):  # the old CA no longer verifies new connections
            s.get("/healthz")
    finally:
        s.stop()


def _try(fn):
    try:
        return fn()
    except (OSError, ssl.SSLError):
        return None


def test_graceful_shutdown_finishes_requests_in_flight(tmp_path, ca):
    s = Server(tmp_path, ca, POLICY)
    body = orjson.dumps(review(pod(securityContext={"privileged": True}), uid="in-flight"))
    conn = s.connection()
    conn.putrequest("POST", "/validate")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    conn.send(body[:100])  # the request is in flight when SIGTERM arrives
    time.sleep(0.2)
    s.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    with pytest.raises(OSError):  # no new connections once draining
        with socket.create_connection(("127.0.0.1", s.port), timeout=1):
            pass
    conn.send(body[100:])
    response = conn.getresponse()
    payload = orjson.loads(response.read())
    assert response.status == 200 and payload["response"]["uid"] == "in-flight" and payload["response"]["allowed"] is False
    assert response.getheader("Connection") == "close"
    assert s.proc.wait(10) == 0
    assert '"msg":"stopped"' in s.log.read_text()


def test_idle_connections_are_closed_on_shutdown(tmp_path, ca):
    s = Server(tmp_path, ca, POLICY)
    conn = s.connection()
    assert s.review(review(pod()), conn=conn)["allowed"] is True
    started = time.monotonic()
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(10) == 0 and time.monotonic() - started < 5  # an idle keep-alive does not hold it up
    with pytest.raises((http.client.HTTPException, OSError)):
        s.review(review(pod()), conn=conn)
