"""Benchmark `kubeward admission serve`: throughput and latency over HTTPS keep-alive.

Starts the real server (a subprocess, TLS with a throw-away CA), then for each
concurrency runs a closed-loop load generator on the same machine: worker
processes, each with threads holding one persistent TLS connection, sending
pre-encoded AdmissionReviews of a typical Deployment and Pod (alternating) and
reading the responses. Reports reviews/s and p50/p95/p99 latency per
concurrency, and fails (exit 1) on any error or non-200 answer.

    PYTHONPATH=src python bench/admission.py [--seconds 5] [--concurrency 1,4,8,16,32] [--procs 2]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import socket
import ssl
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent / "src"))

from admission_support import Server, client_context, make_ca, review  # noqa: E402

POLICY = """\
version: 1
default-mode: warn
rules:
  - checks: [tag:pss-baseline]
    mode: enforce
  - min-severity: critical
    mode: enforce
  - checks: [tag:reliability]
    mode: audit
"""

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "checkout", "namespace": "shop", "labels": {"app.kubernetes.io/name": "checkout"}},
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app.kubernetes.io/name": "checkout"}},
        "template": {
            "metadata": {"labels": {"app.kubernetes.io/name": "checkout"}},
            "spec": {
                "serviceAccountName": "checkout",
                "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [
                    {
                        "name": "app",
                        "image": "registry.example.com/shop/checkout:2.4.1",
                        "ports": [{"containerPort": 8080, "name": "http"}],
                        "env": [{"name": "LOG_LEVEL", "value": "info"}],
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}},
                        "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}},
                        "livenessProbe": {"httpGet": {"path": "/live", "port": "http"}},
                        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                    }
                ],
            },
        },
    },
}
POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "checkout-7d9f-abcde", "namespace": "shop", "labels": {"app.kubernetes.io/name": "checkout"}},
    "spec": DEPLOYMENT["spec"]["template"]["spec"],
}


def _request(obj: dict, uid: str) -> bytes:
    body = orjson.dumps(review(obj, uid=uid))
    head = (
        f"POST /validate?timeout=10s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _read_response(sock: ssl.SSLSocket, buf: bytearray) -> tuple[int, bytes]:
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            break
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    head = bytes(buf[:end]).decode("latin-1")
    status = int(head.split(" ", 2)[1])
    length = 0
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            length = int(value)
    total = end + 4 + length
    while len(buf) < total:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    body = bytes(buf[end + 4 : total])
    del buf[:total]
    return status, body


def _thread(
    port: int, ca_pem: bytes, requests: list[bytes], stop_at: float, measure_from: float, out: list, errors: list
) -> None:
    ctx = ssl.create_default_context(cadata=ca_pem.decode())
    try:
        raw = socket.create_connection(("127.0.0.1", port))
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock = ctx.wrap_socket(raw, server_hostname="localhost")
    except OSError as exc:
        errors.append(repr(exc))
        return
    buf = bytearray()
    i = 0
    try:
        while True:
            start = time.perf_counter()
            if start >= stop_at:
                break
            sock.sendall(requests[i % len(requests)])
            status, body = _read_response(sock, buf)
            end = time.perf_counter()
            if status != 200 or b'"uid"' not in body:
                errors.append(f"{status}: {body[:200]!r}")
            elif start >= measure_from:
                out.append(end - start)
            i += 1
    except OSError as exc:
        errors.append(repr(exc))
    finally:
        sock.close()


def _process(port: int, ca_pem: bytes, threads: int, seconds: float, warmup: float, queue) -> None:
    requests = [_request(DEPLOYMENT if i % 2 == 0 else POD, f"bench-{os.getpid()}-{i}") for i in range(64)]
    now = time.perf_counter()
    measure_from, stop_at = now + warmup, now + warmup + seconds
    latencies: list[float] = []
    errors: list[str] = []
    pool = [
        threading.Thread(target=_thread, args=(port, ca_pem, requests, stop_at, measure_from, latencies, errors))
        for _ in range(threads)
    ]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    queue.put((latencies, errors))


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    index = min(len(values) - 1, max(0, round(q / 100 * len(values)) - 1))
    return values[index]


def run_level(port: int, ca_pem: bytes, concurrency: int, procs: int, seconds: float, warmup: float) -> dict:
    procs = max(1, min(procs, concurrency))
    split = [concurrency // procs + (1 if i < concurrency % procs else 0) for i in range(procs)]
    queue: mp.Queue = mp.Queue()
    workers = [mp.Process(target=_process, args=(port, ca_pem, n, seconds, warmup, queue)) for n in split]
    for w in workers:
        w.start()
    latencies: list[float] = []
    errors: list[str] = []
    for _ in workers:
        lat, err = queue.get()
        latencies += lat
        errors += err
    for w in workers:
        w.join()
    latencies.sort()
    return {
        "concurrency": concurrency,
        "reviews": len(latencies),
        "per_second": len(latencies) / seconds,
        "p50_ms": _percentile(latencies, 50) * 1000,
        "p95_ms": _percentile(latencies, 95) * 1000,
        "p99_ms": _percentile(latencies, 99) * 1000,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "loadavg_1m": os.getloadavg()[0],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--concurrency", default="1,4,8,16,32")
    parser.add_argument("--procs", type=int, default=2, help="load generator processes")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    ca = make_ca()
    from admission_support import ca_pem

    pem = ca_pem(ca)
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp), ca, POLICY, log_level="warning")
        try:
            # sanity: the typical objects are admitted (with warnings), not denied
            for obj in (DEPLOYMENT, POD):
                assert server.review(review(obj))["allowed"], obj["kind"]
            assert client_context(ca)
            print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)", file=sys.stderr)
            results = [run_level(server.port, pem, c, args.procs, args.seconds, args.warmup) for c in levels]
        finally:
            server.stop()
    if args.json:
        print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())
    else:
        print(f"{'conc':>5} {'reviews/s':>10} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7} {'load1':>6}")
        for r in results:
            print(
                f"{r['concurrency']:>5} {r['per_second']:>10.0f} {r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f} {r['p99_ms']:>8.2f}"
                f" {r['errors']:>7} {r['loadavg_1m']:>6.2f}"
            )
    failed = [r for r in results if r["errors"]]
    for r in failed:
        print(f"errors at concurrency {r['concurrency']}: {r['first_error']}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
