"""The parallel runner gives exactly what a sequential scan gives."""

from __future__ import annotations

import json
import shutil
import sys

import pytest

from helpers import DATA, EXAMPLES
from kubeward import runner
from kubeward.config import Config
from kubeward.engine import Scanner, select_checks
from kubeward.inventory import ContainerPort, WorkloadFacts
from kubeward.model import Resource
from kubeward.report import jsonreport


def _report(paths, jobs, monkeypatch):
    monkeypatch.setattr(runner, "BATCH_BYTES", 1)  # one file per batch: many batches
    config = Config()
    result = runner.scan_paths([str(p) for p in paths], select_checks(config), config, jobs=jobs)
    return json.loads(jsonreport.render(result))


def test_parallel_scan_equals_sequential_scan(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    shutil.copytree(DATA / "checks", corpus / "checks")
    shutil.copytree(EXAMPLES, corpus / "examples")
    (corpus / "broken.yaml").write_text("a: [\n")
    sequential = _report([corpus], 1, monkeypatch)
    parallel = _report([corpus], 2, monkeypatch)
    assert sequential == parallel
    assert sequential["summary"]["resources"] > 20 and sequential["errors"]
    # cross-resource checks still see every object: the duplicate fixture is found
    assert any(f["check"] == "KW-G001" for f in parallel["findings"])


def test_released_resources_keep_identity_and_metadata(tmp_path, monkeypatch):
    target = tmp_path / "dup.yaml"
    target.write_text((DATA / "checks" / "KW-G001" / "fail.yaml").read_text())
    report = _report([target], 1, monkeypatch)
    (dup,) = [f for f in report["findings"] if f["check"] == "KW-G001"]
    assert (dup["kind"], dup["namespace"], dup["name"], dup["document"]) == ("ConfigMap", "app", "settings", 2)
    assert dup["line"] == 5  # released once checked: the line where its document starts


def test_worker_count():
    assert runner._worker_count(0, 3, 10**9) == 1  # few files
    assert runner._worker_count(0, 1000, 10**5) == 1  # little data
    assert runner._worker_count(0, 1000, 10**9) >= 1
    assert runner._worker_count(1, 1000, 10**9) == 1
    assert runner._worker_count(3, 3, 10) == 3


def test_streamed_report_equals_collected_report(tmp_path, monkeypatch):
    """The CLI streams findings into the report as batches arrive; the result must be
    the report written from a fully collected scan."""
    import io

    from helpers import run_cli

    corpus = tmp_path / "corpus"
    shutil.copytree(DATA / "checks", corpus / "checks")
    shutil.copytree(EXAMPLES, corpus / "examples")
    monkeypatch.setattr(runner, "BATCH_BYTES", 1)
    streamed = json.loads(run_cli("scan", str(corpus), "-f", "json", "--no-config", "-j", "2").stdout)
    config = Config()
    collected = runner.scan_paths([str(corpus)], select_checks(config), config, jobs=1)
    buffer = io.StringIO()
    jsonreport.write(collected, buffer)
    expected = json.loads(buffer.getvalue())
    assert streamed["findings"] == expected["findings"] and len(streamed["findings"]) > 100
    assert streamed["summary"] == expected["summary"]


def test_findings_and_resources_survive_the_trip_to_the_main_process():
    import pickle

    from kubeward.model import Finding, Resource, Severity

    resource = Resource({"kind": "Pod"}, "a.yaml", 2, 7, "kind: Pod\n", ("items", 0), True)
    finding = Finding("KW-P001", "privileged-container", Severity.HIGH, "m", resource, ("spec",), "c", 9, True, "r", ("n",))
    copy = pickle.loads(pickle.dumps(finding))
    assert (copy.__class__, copy.resource.__class__) == (Finding, Resource)
    for name in Finding.__slots__:
        if name != "resource":
            assert getattr(copy, name) == getattr(finding, name), name
    for name in Resource.__slots__:
        assert getattr(copy.resource, name) == getattr(resource, name), name


def _cli_report(corpus, fmt, jobs, out) -> bytes:
    from helpers import run_cli

    run_cli("scan", str(corpus), "-f", fmt, "--no-config", "--fail-on", "none", "-j", str(jobs), "-o", str(out))
    return out.read_bytes()


def test_workers_write_byte_identical_reports(tmp_path, monkeypatch):
    """Workers encode JSON and SARIF items themselves and the main process only writes
    them: the report must be the same bytes as an in-process scan's, and as a report
    written from the collected findings."""
    corpus = tmp_path / "corpus"
    for check_id in ("KW-P001", "KW-I001", "KW-G001", "KW-S003", "KW-O005"):
        shutil.copytree(DATA / "checks" / check_id, corpus / check_id)
    shutil.copytree(EXAMPLES, corpus / "examples")
    (corpus / "annotated.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n"
        '    ignore-check.kubeward.io/privileged-container: "lab only"\n'
        '    ignore-check.kubeward.io/image-tag-latest: " "\n'  # no reason: a note
        "spec:\n  containers:\n  - name: app\n    image: nginx\n    securityContext: {privileged: true}\n"
    )
    monkeypatch.setattr(runner, "BATCH_BYTES", 1)  # one file per batch: many batches, several per worker
    config = Config()
    collected = runner.scan_paths([str(corpus)], select_checks(config), config, jobs=1)
    assert len(collected.findings) > 50 and collected.suppressed and collected.notes
    from kubeward.report import sarif

    for fmt, writer in (("json", jsonreport), ("sarif", sarif)):
        sequential = _cli_report(corpus, fmt, 1, tmp_path / f"j1.{fmt}")
        parallel = _cli_report(corpus, fmt, 2, tmp_path / f"j2.{fmt}")
        assert sequential == parallel, fmt
        assert sequential.decode() == writer.render(collected), fmt


def test_a_text_stream_that_is_not_utf8_gets_text(tmp_path):
    """Encoded items go straight to the bytes under a UTF-8 file, else through the text layer."""
    import io

    from kubeward.report import JsonItems, encode_items

    items = [{"a": "é"}, {"b": 1}]
    utf8 = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    latin = io.TextIOWrapper(io.BytesIO(), encoding="latin-1")
    texts = io.StringIO()
    for out in (utf8, latin, texts):
        writer = JsonItems(out, {"items": jsonreport.ITEMS})
        writer.add_encoded(encode_items(items[:1], writer.prefix))
        writer.add_encoded(encode_items([], writer.prefix))
        writer.add(items[1:])
        writer.close({"items": jsonreport.ITEMS})
        out.flush()
    expected = '{\n  "items": [\n    {"a":"é"},\n    {"b":1}\n  ]\n}\n'
    assert texts.getvalue() == expected
    assert utf8.buffer.getvalue() == expected.encode("utf-8")
    assert latin.buffer.getvalue() == expected.encode("latin-1")


def test_items_from_a_file_equal_items_added_directly():
    """Workers leave encoded items in files; copying one in chunks (past the 1 MiB buffer)
    gives the bytes that adding the items gives, into UTF-8 files and other text streams."""
    import io

    from kubeward.report import JsonItems, encode_items

    items = [{"n": i, "text": "é" * 300} for i in range(2500)]  # > 1 MiB encoded
    expected = io.StringIO()
    writer = JsonItems(expected, {"items": jsonreport.ITEMS})
    writer.add(items)
    writer.close({"items": jsonreport.ITEMS})
    for encoding in ("utf-8", "latin-1", "ascii", None):
        out = io.StringIO() if encoding is None else io.TextIOWrapper(io.BytesIO(), encoding=encoding, errors="replace")
        writer = JsonItems(out, {"items": jsonreport.ITEMS})
        writer.add_encoded(io.BytesIO(encode_items(items[:2000], writer.prefix)))
        writer.add_encoded(io.BytesIO())  # a batch without findings
        writer.add_encoded(io.BytesIO(encode_items(items[2000:], writer.prefix)))
        writer.close({"items": jsonreport.ITEMS})
        out.flush()
        got = out.getvalue() if encoding is None else out.buffer.getvalue().decode(encoding)
        assert got == (expected.getvalue() if encoding != "ascii" else expected.getvalue().replace("é", "?"))


def test_worker_files_are_removed(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    corpus = tmp_path / "corpus"
    shutil.copytree(EXAMPLES, corpus)
    monkeypatch.setattr(runner, "BATCH_BYTES", 1)
    out = tmp_path / "report.json"
    _cli_report(corpus, "json", 2, out)
    assert json.loads(out.read_text())["findings"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "report.json"]


def _released_deployment() -> Resource:
    key = "".join(["app.kubernetes.io/", "name"])  # a fresh string, as a parser makes it
    template = {"metadata": {"labels": {key: "web"}}, "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]}}
    obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
           "spec": {"replicas": 2, "template": template}}  # fmt: skip
    resource = Resource(obj, "f.yaml", 3, 7, None, ("items", 1), True)
    config = Config()
    Scanner(select_checks(config), config).check_resources([resource], release=True)
    return resource


def test_shipped_resources_arrive_whole_with_their_strings_shared():
    """Workers ship what they checked as marshal data; the strings they interned stay
    interned on arrival, so a label key that recurs across batches is stored once."""
    resource = _released_deployment()
    shipped = runner._ship([resource, Resource({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}, "g")])
    assert isinstance(shipped, bytes)
    arrived, namespace = runner._unship(shipped)
    assert (arrived.obj, arrived.facts) == (resource.obj, resource.facts)
    assert type(arrived.facts) is WorkloadFacts and type(arrived.facts.ports[0]) is ContainerPort
    fields = ("file", "doc_index", "start_line", "source", "list_path", "rendered", "ref")
    assert [getattr(arrived, f) for f in fields] == ["f.yaml", 3, 7, None, ("items", 1), True, "Deployment/shop/web"]
    assert (namespace.ref, namespace.facts) == ("Namespace/shop", None)
    (label,) = arrived.facts.labels
    assert label is sys.intern("app.kubernetes.io/name") and arrived.obj["metadata"]["namespace"] is sys.intern("shop")


def test_a_resource_and_its_object_share_their_identity_strings_on_arrival():
    """The identity is read from the object before its strings are interned; shipped apart from
    the object's (interned) copies, every resource's four strings arrived as new objects (+23 MB
    at 100k resources)."""
    meta = {"name": "".join(["we", "b"]), "namespace": "".join(["sh", "op"])}  # fresh strings, as a parser makes them
    service = Resource({"apiVersion": "v1", "kind": "Service", "metadata": meta}, "s")
    released = _released_deployment()
    config = Config()
    Scanner(select_checks(config), config).check_resources([service], release=True)  # kept whole, strings shared
    for resource in runner._unship(runner._ship([released, service])):
        meta = resource.obj["metadata"]
        assert resource.kind is resource.obj["kind"] and resource.api_version is resource.obj["apiVersion"]
        assert resource.name is meta["name"] and resource.namespace is meta["namespace"]


def test_what_marshal_cannot_write_travels_pickled():
    """Parsers make only what marshal writes; a library caller's objects may hold more."""
    import datetime as dt
    import pickle

    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"at": dt.date(2026, 1, 2)}}
    shipped = runner._ship([_released_deployment(), Resource(obj, "f")])
    assert isinstance(shipped, list)
    deployment, config_map = runner._unship(pickle.loads(pickle.dumps(shipped)))
    assert config_map.ref == "ConfigMap/c" and config_map.obj["data"]["at"] == dt.date(2026, 1, 2)
    assert deployment.facts == _released_deployment().facts


def _corpus_of_batches(tmp_path, monkeypatch):
    for i in range(6):
        (tmp_path / f"cm{i}.yaml").write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\n")
    monkeypatch.setattr(runner, "BATCH_BYTES", 1)  # one file per batch


def _in(where: str, action):
    """runner._scan_files doing ``action`` in the worker processes or in the main one (which
    scans batches too), and scanning as usual elsewhere. Forked workers inherit the patch."""
    import os

    main, scan_files = os.getpid(), runner._scan_files

    def patched(scanner, files, *args):
        if (os.getpid() == main) == (where == "main"):
            action()
        return scan_files(scanner, files, *args)

    return patched


def _boom():
    raise ZeroDivisionError("boom")


@pytest.mark.parametrize("where", ["worker", "main"])
def test_a_failing_batch_fails_the_scan(tmp_path, monkeypatch, where):
    """An unexpected error (a bug) while a batch is scanned, in a worker or in the main process,
    reaches the caller; it is not swallowed, and no worker process is left behind."""
    import multiprocessing

    _corpus_of_batches(tmp_path, monkeypatch)
    monkeypatch.setattr(runner, "_scan_files", _in(where, _boom))
    config = Config()
    with pytest.raises(ZeroDivisionError, match="boom"):
        runner.scan_paths([str(tmp_path)], select_checks(config), config, jobs=2)
    assert not multiprocessing.active_children()


def test_a_worker_that_dies_is_an_error_not_a_hang(tmp_path, monkeypatch):
    """A worker killed mid-scan (the OOM killer, say) ends the scan with an error and exit
    status 2; multiprocessing.Pool used to wait for its result forever."""
    import os

    from helpers import run_cli

    _corpus_of_batches(tmp_path, monkeypatch)
    monkeypatch.setattr(runner, "_scan_files", _in("worker", lambda: os._exit(9)))
    result = run_cli("scan", str(tmp_path), "--no-config", "-j", "2", "-f", "json", "-o", str(tmp_path / "out.json"))
    assert result.exit_code == 2
    assert "kubeward: error: a scan worker stopped unexpectedly" in result.stderr
