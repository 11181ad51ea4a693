"""Benchmark `kubeward audit scan` (events/s per core, all rules) and `kubeward audit serve`
(sustained events/s with zero loss).

The log is generated from the real audit-1.28 recording (../shared/recordings/audit-1.28),
with fresh auditIDs and timestamps:

- ``recording`` mix: the recording's events in their recorded proportions (a third of them
  are attacks, so most rules fire constantly: the worst case for the rules);
- ``production`` mix: 95 % ordinary activity (the deploy/browse scenarios, discovery, the API
  server's own requests) and 5 % the whole recording, with bodies as the recommended policy
  logs them (reads at Metadata, writes at Request): what a busy cluster writes.

Scan is measured in-process on one core (CPU time of the reading + decoding + rules loop).
The receiver is the real server process (TLS, bearer token); client processes POST
EventList batches of 400 events (the API server's default --audit-webhook-batch-max-size)
for --seconds; then the spool is checked: every acknowledged event is there and was analysed.

    KUBEWARD_SHARED=../shared PYTHONPATH=src python bench/audit.py [--events 500000] [--seconds 10] [--clients 4]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent / "src"))

from helpers import SHARED  # noqa: E402
from kubeward.audit.scan import scan  # noqa: E402

RECORDING = SHARED / "recordings" / "audit-1.28"
ORDINARY = ("admin-deploy", "ci-deploy", "browse-get-list-watch")
READS = frozenset({"get", "list", "watch"})


def load_templates() -> tuple[list[dict], list[dict]]:
    events = [orjson.loads(line) for line in (RECORDING / "events.jsonl").read_bytes().splitlines()]
    labels = json.loads((RECORDING / "scenarios.json").read_text())
    ordinary_ids = set(labels["background"]["audit_ids"])
    for s in labels["scenarios"]:
        if s["label"] in ORDINARY:
            ordinary_ids |= set(s["audit_ids"])
    ordinary = [e for e in events if e["auditID"] in ordinary_ids]
    return events, ordinary


def _trim(ev: dict) -> dict:
    ev = dict(ev)
    ev.pop("responseObject", None)
    if ev["verb"] in READS:
        ev.pop("requestObject", None)
        ev["level"] = "Metadata"
    elif ev.get("level") == "RequestResponse":
        ev["level"] = "Request"
    return ev


def generate(n: int, mix: str, seed: int = 1) -> list[bytes]:
    events, ordinary = load_templates()
    rng = random.Random(seed)
    if mix == "production":
        ordinary = [_trim(e) for e in ordinary]
        everything = [_trim(e) for e in events]
    start = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
    out = []
    for i in range(n):
        if mix == "recording":
            tmpl = events[i % len(events)]
        else:
            tmpl = rng.choice(everything) if rng.random() < 0.05 else rng.choice(ordinary)
        ev = dict(tmpl)
        ev["auditID"] = f"bench-{i:012d}"
        stamp = (start + dt.timedelta(microseconds=i * 50)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # 20,000 events/s
        ev["requestReceivedTimestamp"] = ev["stageTimestamp"] = stamp
        out.append(orjson.dumps(ev) + b"\n")
    return out


def bench_scan(path: Path, events: int) -> dict:
    t0, c0 = time.perf_counter(), time.process_time()
    result = scan([str(path)])
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert result.events == events and result.stats.problem_count == 0
    return {"events": events, "alerts": len(result.alerts), "cpu_s": cpu, "wall_s": wall, "events_per_cpu_s": events / cpu}


# -- receiver ---------------------------------------------------------------------------------------


def _client(port: int, ca_pem: bytes, token: str, bodies: list[tuple[bytes, int]], seconds: float, q) -> None:
    import http.client
    import ssl

    ctx = ssl.create_default_context(cadata=ca_pem.decode())
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    acked, refused, sent = [], 0, 0
    deadline = time.time() + seconds
    i = 0
    while time.time() < deadline and i < len(bodies):
        body, first = bodies[i]
        conn.request("POST", "/audit", body, headers)
        response = conn.getresponse()
        response.read()
        sent += 1
        if response.status == 200:
            acked.append(first)
            i += 1
        elif response.status in (429, 503):
            refused += 1
            time.sleep(0.05)  # retry the same batch, as the API server does
        else:
            raise RuntimeError(f"status {response.status}")
    q.put((acked, refused, sent))


def bench_receiver(lines: list[bytes], seconds: float, clients: int, batch: int = 400) -> dict:
    from admission_support import ca_pem, free_port, issue, make_ca

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        ca = make_ca()
        cert, key = issue(ca, d, "server")
        (d / "token").write_text("bench-token")
        port = free_port()
        spool = d / "spool"
        import subprocess

        env = dict(os.environ, PYTHONPATH=str(HERE.parent / "src"))
        cmd = [sys.executable, "-m", "kubeward", "audit", "serve", "--tls-cert", str(cert), "--tls-key", str(key),
               "--spool-dir", str(spool), "--host", "127.0.0.1", "--port", str(port), "--token-file", str(d / "token"),
               "--no-stdout", "--no-config", "--spool-keep", "10000"]  # fmt: skip
        server = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        line = server.stderr.readline()
        assert '"listening"' in line, line
        batches = [lines[i : i + batch] for i in range(0, len(lines), batch)]
        bodies = [
            (b'{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[' + b",".join(x.rstrip(b"\n") for x in b) + b"]}", i)
            for i, b in enumerate(batches)
        ]
        q: mp.Queue = mp.Queue()
        pem = ca_pem(ca)
        token = "bench-token"
        procs = [mp.Process(target=_client, args=(port, pem, token, bodies[k::clients], seconds, q)) for k in range(clients)]

        t0 = time.perf_counter()
        for p in procs:
            p.start()
        results = [q.get() for _ in procs]
        elapsed = time.perf_counter() - t0
        for p in procs:
            p.join()
        acked = [i for r in results for i in r[0]]
        refused = sum(r[1] for r in results)
        expected = {orjson.loads(x)["auditID"] for i in acked for x in batches[i]}
        # wait for the analyser to finish, then stop the server (SIGTERM drains)
        deadline = time.time() + 120
        while time.time() < deadline:
            cp = spool / "checkpoint.json"
            files = sorted(spool.glob("spool-*.jsonl"))
            if cp.exists() and files:
                state = json.loads(cp.read_text())
                if state["file"] == files[-1].name and state["offset"] == files[-1].stat().st_size:
                    break
            time.sleep(0.1)
        analysed_s = time.perf_counter() - t0
        server.terminate()
        server.wait(60)
        spooled = set()
        for path in sorted(spool.glob("spool-*.jsonl")):
            for raw in path.read_bytes().splitlines():
                spooled.add(orjson.loads(raw)["auditID"])
        lost = len(expected - spooled)
        return {
            "events_acked": len(expected),
            "batches_refused_429": refused,
            "seconds": elapsed,
            "events_per_s": len(expected) / elapsed,
            "analysed_all_after_s": analysed_s,
            "lost": lost,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--skip-receiver", action="store_true")
    args = parser.parse_args()
    if not (RECORDING / "events.jsonl").is_file():
        print(f"recording not found at {RECORDING} (set KUBEWARD_SHARED)", file=sys.stderr)
        return 2
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    report = {"loadavg_1m_before": os.getloadavg()[0], "cpus": os.cpu_count(), "scan": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for mix in ("recording", "production"):
            lines = generate(args.events, mix)
            path = Path(tmp) / f"{mix}.jsonl"
            path.write_bytes(b"".join(lines))
            size = path.stat().st_size
            r = bench_scan(path, args.events)
            r["mean_event_bytes"] = size // args.events
            report["scan"][mix] = r
            print(f"scan {mix:<10} {args.events} events ({r['mean_event_bytes']} B avg), {r['alerts']} alerts: "
                  f"{r['events_per_cpu_s']:,.0f} events/s per core (cpu {r['cpu_s']:.2f}s, wall {r['wall_s']:.2f}s)")  # fmt: skip
    if not args.skip_receiver:
        rate_lines = generate(int(60_000 * args.seconds), "production", seed=2)
        r = bench_receiver(rate_lines, args.seconds, args.clients)
        report["receiver"] = r
        print(f"receiver: {r['events_acked']:,} events acknowledged in {r['seconds']:.1f}s = {r['events_per_s']:,.0f} events/s "
              f"({r['batches_refused_429']} batches refused 429 and retried), "
              f"all analysed after {r['analysed_all_after_s']:.1f}s, "
              f"lost {r['lost']}")  # fmt: skip
    report["loadavg_1m_after"] = os.getloadavg()[0]
    print(f"load average after: {report['loadavg_1m_after']:.2f}")
    print(json.dumps(report))
    return 1 if report.get("receiver", {}).get("lost") else 0


if __name__ == "__main__":
    sys.exit(main())
