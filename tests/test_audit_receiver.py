"""`kubeward audit serve`: the real receiver process over TLS, killed with SIGKILL mid-stream."""

from __future__ import annotations

import collections
import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest

from admission_support import SRC, ca_pem, client_context, free_port, issue, make_ca
from audit_support import event

TOKEN = "s3cr3t-test-token"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ca = make_ca()
    cert, key = issue(ca, d, "server")
    ccert, ckey = issue(ca, d, "client", common_name="kube-apiserver", usages=("client",))

    (d / "ca.pem").write_bytes(ca_pem(ca))
    (d / "token").write_text(TOKEN + "\n")
    return {"ca": ca, "cert": cert, "key": key, "client": (ccert, ckey), "ca_file": d / "ca.pem", "token": d / "token"}


class Process:
    def __init__(self, pki, spool: Path, port: int, *extra: str):
        cmd = [sys.executable, "-m", "kubeward", "audit", "serve", "--tls-cert", str(pki["cert"]), "--tls-key", str(pki["key"]),
               "--spool-dir", str(spool), "--host", "127.0.0.1", "--port", str(port), "--client-ca", str(pki["ca_file"]),
               "--token-file", str(pki["token"]), "--no-stdout", "--no-config", *extra]  # fmt: skip
        env = dict(os.environ, PYTHONPATH=str(SRC))
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.log: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()
        deadline = time.time() + 20
        while not any('"listening"' in line for line in self.log):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"receiver did not start: {self.log}")
            time.sleep(0.02)

    def _drain(self):
        for line in self.proc.stderr:
            self.log.append(line)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(40) == 0


def connect(pki, port, *, cert=True) -> http.client.HTTPSConnection:
    ctx = client_context(pki["ca"])
    if cert:
        ctx.load_cert_chain(*pki["client"])
    return http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)


def post(conn, events, token=TOKEN) -> tuple[int, dict]:
    body = orjson.dumps({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": events})
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    conn.request("POST", "/audit", body, headers)
    response = conn.getresponse()
    return response.status, json.loads(response.read() or b"{}")


def make_batches(n: int, size: int) -> list[list[dict]]:
    """Batches mixing ordinary reads with nodes/proxy requests (one KW-AU012 alert each)."""
    out = []
    for b in range(n):
        batch = []
        for i in range(size):
            if i % 5 == 0:
                batch.append(event("get", "nodes", "proxy", name=f"node-{b}-{i}"))
            else:
                batch.append(event("get", "pods", namespace="apps", name=f"web-{b}-{i}"))
        out.append(batch)
    return out


def spooled(spool: Path) -> list[dict]:
    events = []
    for path in sorted(spool.glob("spool-*.jsonl")):
        for line in path.read_bytes().splitlines():
            events.append(orjson.loads(line))
    return events


def alerts(spool: Path) -> list[dict]:
    path = spool / "alerts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def wait_analysed(spool: Path, expected: int, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if len(alerts(spool)) >= expected:
            return
        time.sleep(0.05)
    raise AssertionError(f"{len(alerts(spool))} alerts of {expected}")


def test_kill_mid_stream_loses_nothing_and_analyses_once(pki, tmp_path):
    spool = tmp_path / "spool"
    port = free_port()
    batches = make_batches(240, 50)
    pending = collections.deque(range(len(batches)))
    acked: set[int] = set()
    lock = threading.Lock()
    server = Process(pki, spool, port, "--spool-file-mb", "1", "--spool-keep", "1000")

    def sender():
        conn = connect(pki, port)
        while True:
            with lock:
                if not pending:
                    return
                b = pending.popleft()
            try:
                status, body = post(conn, batches[b])
            except (OSError, http.client.HTTPException):
                with lock:
                    pending.appendleft(b)  # unknown outcome: the API server sends it again
                return
            with lock:
                if status == 200:
                    assert body["accepted"] == len(batches[b])
                    acked.add(b)
                else:
                    pending.append(b)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(acked) < 60:  # the senders stop at their first error: never wait for them forever
        assert time.monotonic() < deadline and any(t.is_alive() for t in threads), f"only {len(acked)} batches acknowledged"
        time.sleep(0.005)
    server.kill()  # SIGKILL: no shutdown, no flush, mid-stream
    for t in threads:
        t.join(20)
    acked_before = set(acked)
    assert 60 <= len(acked_before) < len(batches), "the kill must land mid-stream"
    on_disk = {e["auditID"] for e in spooled(spool)}
    for b in acked_before:  # every acknowledged event survived the kill
        assert {e["auditID"] for e in batches[b]} <= on_disk

    server = Process(pki, spool, port, "--spool-file-mb", "1", "--spool-keep", "1000")
    threads = [threading.Thread(target=sender) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert acked == set(range(len(batches)))
    expected = {e["auditID"] for batch in batches for e in batch if e["objectRef"]["resource"] == "nodes"}
    wait_analysed(spool, len(expected))
    conn = connect(pki, port)
    conn.request("GET", "/metrics")
    metrics = conn.getresponse().read().decode()
    server.stop()
    got = collections.Counter(a["auditID"] for a in alerts(spool))
    assert set(got) == expected and set(got.values()) == {1}, "every alert exactly once"
    all_ids = [e["auditID"] for e in spooled(spool)]
    assert set(all_ids) == {e["auditID"] for batch in batches for e in batch}
    assert "kubeward_audit_spool_lag_events" in metrics and 'kubeward_audit_alerts_total{rule="KW-AU012"}' in metrics
    assert len(list(spool.glob("spool-*.jsonl"))) > 1  # rotated
    checkpoint = json.loads((spool / "checkpoint.json").read_text())
    assert checkpoint["alerts_offset"] == (spool / "alerts.jsonl").stat().st_size


def test_sigterm_does_not_wait_for_idle_keep_alive_connections(pki, tmp_path):
    # a client that keeps its TLS connection open and never answers close_notify
    # (the API server's webhook client between batches) must not hold the exit
    port = free_port()
    server = Process(pki, tmp_path / "spool", port)
    conn = connect(pki, port)
    assert post(conn, [event("get", "pods")])[0] == 200
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(10) == 0, "".join(server.log)
    assert any('"shutting down"' in line for line in server.log)
    conn.close()


def test_authentication_and_bad_requests(pki, tmp_path):
    port = free_port()
    server = Process(pki, tmp_path / "spool", port)
    try:
        conn = connect(pki, port)
        assert post(conn, [event("get", "pods")], token="wrong")[0] == 401
        assert post(conn, [event("get", "pods")])[0] == 200
        conn.request("POST", "/audit", b"{not json", {"Authorization": f"Bearer {TOKEN}"})
        assert conn.getresponse().status == 400
        conn = connect(pki, port)
        status, body = post(conn, [event("get", "pods"), {"kind": "Event", "user": 1}])
        assert status == 200 and body == {"accepted": 1, "malformed": 1}
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):  # no client certificate: refused by TLS
            c = connect(pki, port, cert=False)
            post(c, [event("get", "pods")])
        conn = connect(pki, port)
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        assert "kubeward_audit_events_received_total 2" in text and "kubeward_audit_events_malformed_total 1" in text
    finally:
        server.stop()


def test_overload_answers_429(pki, tmp_path):
    """With --max-lag 1 and the analyser made slow by a huge backlog, batches are refused, not dropped."""
    port = free_port()
    spool = tmp_path / "spool"
    server = Process(pki, spool, port, "--max-lag", "1")
    try:
        codes: collections.Counter = collections.Counter()
        sent = []
        big = make_batches(64, 2000)

        def send(part):
            conn = connect(pki, port)
            for batch in part:
                status, _ = post(conn, batch)
                codes[status] += 1
                sent.append((status, batch))

        threads = [threading.Thread(target=send, args=(big[i::8],)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        sent_ok = sum(len(b) for status, b in sent if status == 200)
        assert codes[429] > 0 and codes[200] > 0, codes
        deadline = time.time() + 30
        while len(spooled(spool)) < sent_ok and time.time() < deadline:
            time.sleep(0.05)
        ids = {e["auditID"] for e in spooled(spool)}
        assert len(ids) == sent_ok  # every 200 is on disk; every 429 is absent
        assert all(({e["auditID"] for e in b} <= ids) == (status == 200) for status, b in sent)
    finally:
        server.stop()
