"""The audit event reader and `kubeward audit scan`."""

from __future__ import annotations

import gzip
import json
import os
import threading
import time

import orjson
import pytest

from audit_support import EVENTS, event
from helpers import run_cli
from kubeward.audit.events import ReadStats, follow, read_events, validate
from kubeward.audit.scan import parse_time, scan


def lines(*events) -> bytes:
    return b"".join(orjson.dumps(e) + b"\n" for e in events)


def read(path) -> tuple[list[dict], ReadStats]:
    stats = ReadStats()
    return list(read_events([str(path)], stats)), stats


def test_json_lines_gzip_and_eventlist(tmp_path):
    a, b = event("get", "pods"), event("create", "pods", "exec", namespace="x", name="y")
    (tmp_path / "log.jsonl").write_bytes(lines(a, b))
    (tmp_path / "log.jsonl.gz").write_bytes(gzip.compress(lines(a, b)))
    (tmp_path / "list.json").write_text(
        json.dumps({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [a, b]}, indent=2)
    )
    (tmp_path / "list-line.jsonl").write_bytes(orjson.dumps({"kind": "EventList", "items": [a, b]}) + b"\n" + lines(a))
    for name, count in (("log.jsonl", 2), ("log.jsonl.gz", 2), ("list.json", 2), ("list-line.jsonl", 3)):
        events, stats = read(tmp_path / name)
        assert [e["auditID"] for e in events][:2] == [a["auditID"], b["auditID"]] and len(events) == count, name
        assert stats.problem_count == 0


def test_malformed_and_truncated_lines_are_reported_not_fatal(tmp_path):
    good = event("get", "pods")
    bad_type = dict(event("get", "pods"), user="alice")
    wrong_kind = {"kind": "Pod", "apiVersion": "v1"}
    text = lines(good) + b"not json\n" + b"\n" + lines(bad_type) + lines(wrong_kind) + lines(good) + orjson.dumps(good)[:40]
    (tmp_path / "log").write_bytes(text)
    events, stats = read(tmp_path / "log")
    assert len(events) == 2
    got = [(p.line, p.message.split(":")[0]) for p in stats.problems]
    assert got == [
        (2, "not JSON"),
        (4, "user is missing or not an object"),
        (5, "kind is 'Pod', not 'Event'"),
        (7, "truncated line (no end of JSON)"),
    ]
    assert all(p.file.endswith("log") for p in stats.problems) and str(stats.problems[0]).endswith(
        ":2: not JSON: " + stats.problems[0].message[10:]
    )


def test_validate_shapes():
    ok = event("get", "pods")
    assert validate(ok) is None
    for key, value in (("auditID", 1), ("stage", "Done"), ("sourceIPs", "1.2.3.4"), ("objectRef", {"resource": 1}),
                       ("responseStatus", {"code": "200"}), ("impersonatedUser", "bob"), ("annotations", [])):  # fmt: skip
        assert validate(dict(ok, **{key: value})), key
    assert validate([]) and validate(dict(ok, apiVersion="audit.k8s.io/v1beta1"))


def test_damaged_gzip_and_missing_file(tmp_path):
    (tmp_path / "x.gz").write_bytes(gzip.compress(lines(event("get", "pods")) * 50)[:-30])
    events, stats = read(tmp_path / "x.gz")
    assert stats.problem_count == 1 and "read error" in stats.problems[0].message
    _, stats = read(tmp_path / "missing")
    assert "cannot read" in stats.problems[0].message


def test_follow_across_rotation_and_truncation(tmp_path):
    path = tmp_path / "audit.log"
    path.write_bytes(lines(event("get", "pods", name="one")))
    stats = ReadStats()
    seen: list[str] = []
    stop = threading.Event()

    def reader():
        for ev in follow(str(path), stats, poll=0.02, stop=stop.is_set):
            seen.append(ev["objectRef"]["name"])

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        _follow_steps(path, tmp_path, seen)
    finally:
        stop.set()
        thread.join(5)
    assert seen == ["one", "two", "three", "four", "five"] and stats.problem_count == 0


def _follow_steps(path, tmp_path, seen):

    def wait_for(n):
        deadline = time.time() + 5
        while len(seen) < n and time.time() < deadline:
            time.sleep(0.01)
        assert len(seen) >= n, seen

    wait_for(1)
    with path.open("ab") as f:  # a line written in two parts is read once, whole
        data = lines(event("get", "pods", name="two"))
        f.write(data[:20])
        f.flush()
        time.sleep(0.1)
        f.write(data[20:])
    wait_for(2)
    os.rename(path, tmp_path / "audit.log.1")  # rotation: the old file gets its last line, then the new one
    with (tmp_path / "audit.log.1").open("ab") as f:
        f.write(lines(event("get", "pods", name="three")))
    path.write_bytes(lines(event("get", "pods", name="four")))
    wait_for(4)
    path.write_bytes(b"")  # copytruncate: cut to zero, then the server keeps appending
    time.sleep(0.1)
    path.write_bytes(lines(event("get", "pods", name="five")))
    wait_for(5)


def test_since_until(tmp_path):
    events = [event("get", "pods", time=f"2026-11-24T11:0{i}:00.000000Z") for i in range(5)]
    (tmp_path / "log").write_bytes(lines(*events))
    result = scan([str(tmp_path / "log")], since=parse_time("2026-11-24T11:01:00Z"), until=parse_time("2026-11-24T11:03:00Z"))
    assert result.events == 3
    with pytest.raises(ValueError):
        parse_time("yesterday")
    assert parse_time("15m") < parse_time("1m")


# -- CLI ---------------------------------------------------------------------------------------


def test_cli_exit_codes_and_formats(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    quiet, noisy = event("get", "pods"), event("get", "nodes", "proxy", name="n1")
    (tmp_path / "quiet.log").write_bytes(lines(quiet) + b"garbage\n")
    (tmp_path / "noisy.log").write_bytes(lines(quiet, noisy))
    res = run_cli("audit", "scan", "quiet.log")
    assert res.exit_code == 0 and "1 events, 0 alerts" in res.stdout and "quiet.log:2: not JSON" in res.stderr
    res = run_cli("audit", "scan", "noisy.log", "-f", "jsonl")
    assert res.exit_code == 1
    (alert,) = [json.loads(line) for line in res.stdout.splitlines()]
    assert alert["rule"] == "KW-AU012" and alert["auditID"] == noisy["auditID"] and alert["sourceIP"] == "10.0.0.5"
    assert alert["verb"] == "get" and alert["resource"] == "nodes/proxy" and alert["time"] and alert["mitre"]["technique"]
    res = run_cli("audit", "scan", "noisy.log", "-f", "json")
    report = json.loads(res.stdout)
    assert report["summary"] == [{"rule": "KW-AU012", "slug": "nodes-proxy", "title": report["summary"][0]["title"], "count": 1}]
    res = run_cli("audit", "scan", "-", input=lines(noisy))
    assert res.exit_code == 1 and "KW-AU012" in res.stdout
    assert run_cli("audit", "scan", "missing.log").exit_code == 2
    assert run_cli("audit", "scan", "noisy.log", "--since", "soon").exit_code == 2
    (tmp_path / ".kubeward.yaml").write_text("audit:\n  disable: [nodes-proxy]\n")
    assert run_cli("audit", "scan", "noisy.log").exit_code == 0
    assert run_cli("audit", "scan", "noisy.log", "--no-config").exit_code == 1
    (tmp_path / ".kubeward.yaml").write_text("audit:\n  disable: [nope]\n")
    res = run_cli("audit", "scan", "noisy.log")
    assert res.exit_code == 2 and "no audit rule is named 'nope'" in res.stderr


@pytest.mark.skipif(not EVENTS.is_file(), reason="recording not present")
def test_cli_on_the_recording():
    res = run_cli("audit", "scan", str(EVENTS), "--no-config")
    assert res.exit_code == 1
    assert "458 events" in res.stdout and "KW-AU015" in res.stdout


def test_response_object_cut_is_safe():
    """The scanner skips responseObject by cutting the raw line; nested look-alikes never fool it."""
    from kubeward.audit.events import decode_without_response

    def ordered(ev):  # the API server's field order: bodies, then timestamps and annotations
        for key in ("requestReceivedTimestamp", "stageTimestamp", "annotations"):
            if key in ev:
                ev[key] = ev.pop(key)
        return ev

    plain = event("create", "pods", namespace="a", name="p", requestObject={"spec": {}}, responseObject={"big": [1] * 100})
    decoded = decode_without_response(orjson.dumps(ordered(plain)))
    assert "responseObject" not in decoded and decoded["requestObject"] == {"spec": {}} and decoded["stageTimestamp"]
    tricky = event("create", "configmaps", namespace="a", name="c",
                   requestObject={"data": {"x": '","responseObject":{'}, "responseObject": {"requestReceivedTimestamp": "y"}},
                   annotations={"requestReceivedTimestamp": "z"})  # fmt: skip
    decoded = decode_without_response(orjson.dumps(ordered(tricky)))
    assert decoded["requestObject"] == tricky["requestObject"] and decoded["annotations"] == tricky["annotations"]
    assert decoded["requestReceivedTimestamp"] == tricky["requestReceivedTimestamp"]
    no_response = orjson.dumps(event("get", "pods"))
    assert decode_without_response(no_response) == orjson.loads(no_response)
