"""`kubeward cluster` against a real HTTPS server answering with a real kube-apiserver's
recorded responses (tests/apiserver.py), and snapshots."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from apiserver import ADMIN_TOKEN, LIMITED_TOKEN, RECORDING, ApiServer, Recording
from helpers import run_cli
from kubeward.analysis.rbac import RbacModel, Request, service_account
from kubeward.model import Resource
from kubeward.sources.cluster import (
    METADATA_ACCEPT,
    ApiResource,
    ClusterError,
    CollectOptions,
    RateLimiter,
    collect,
    select_resources,
    snapshot_bytes,
)
from kubeward.sources.clusterrbac import scanner_rbac

if not (RECORDING / "index.json").is_file():
    if os.environ.get("CI"):
        raise RuntimeError(f"recordings not found at {RECORDING} (set KUBEWARD_SHARED)")
    pytestmark = pytest.mark.skip(reason=f"{RECORDING} is not present")

KEY = ("check", "kind", "namespace", "name", "path", "message")


@pytest.fixture(scope="module")
def recording():
    return Recording.load()


@pytest.fixture(scope="module")
def server(recording, tmp_path_factory):
    with ApiServer(tmp_path_factory.mktemp("tls"), recording) as srv:
        yield srv


@pytest.fixture(scope="module")
def kubeconfig(server, tmp_path_factory):
    return server.kubeconfig(tmp_path_factory.mktemp("kube") / "config")


@pytest.fixture(scope="module")
def collected(server, kubeconfig):
    server.requests.clear()
    collection = collect(CollectOptions(kubeconfig=str(kubeconfig), chunk_size=50))
    return collection, list(server.requests)


@pytest.fixture(scope="module")
def cluster_run(kubeconfig, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    snapshot = out / "snap.json.gz"
    res = run_cli(
        "cluster", "--kubeconfig", str(kubeconfig), "--chunk-size", "50", "--no-config", "--fail-on", "none",
        "--save", str(snapshot), "-f", "json",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    return json.loads(res.stdout), snapshot


def _full_lists(recording) -> dict[str, dict]:
    """Cluster-wide full lists by path (the no-such-namespace list excluded)."""
    return {p: body for p, body in recording.full_lists.items() if "/namespaces/" not in p}


def _resource_of(path: str) -> tuple[str, str]:
    parts = path.strip("/").split("/")
    return ("", parts[-1]) if parts[0] == "api" else (parts[1], parts[-1])


def _identity(obj: dict) -> str:
    meta = obj["metadata"]
    return meta.get("uid") or f"{meta.get('namespace', '')}/{meta['name']}"  # ComponentStatuses have no uid


def _keys(report, *, exclude_kinds=("ClusterInfo",)) -> Counter:
    return Counter(tuple(f[k] for k in KEY) for f in report["findings"] if f["kind"] not in exclude_kinds)


# ---------------------------------------------------------------- collection


def test_every_object_of_the_recorded_full_lists_is_collected_exactly_once(recording, collected):
    collection, _ = collected
    expected = Counter()
    for path, body in _full_lists(recording).items():
        group, resource = _resource_of(path)
        expected.update((group, resource, _identity(item)) for item in body["items"])
    got = Counter()
    groups = {(r["kind"], r["group"]): r["resource"] for r in collection.info["resources"]}
    for res in collection.resources[1:]:
        group = res.api_version.rpartition("/")[0]
        got[(group, groups[(res.kind, group)], _identity(res.obj))] += 1
    assert got == expected
    assert max(got.values()) == 1 and len(got) > 900


def test_lists_follow_the_recorded_continue_tokens(recording, collected):
    _, requests = collected
    for resource, pages in (("pods", 2), ("configmaps", 2), ("events", 3)):
        asked = [r for r in requests if r.path == f"/api/v1/{resource}" and "fieldSelector" not in r.query]
        assert len(asked) == pages
        assert [bool(r.query.get("continue")) for r in asked] == [False] + [True] * (pages - 1)
        assert all(r.query["limit"] == "50" for r in asked)


def test_every_request_was_answered_from_the_recording_or_by_field_selector(collected):
    collection, requests = collected
    lists = [r for r in requests if r.method == "GET" and r.path not in ("/version", "/api", "/apis")]
    assert lists and not [e for e in collection.info["resources"] if "error" in e]


def test_secrets_are_only_ever_asked_for_as_metadata(collected):
    collection, requests = collected
    secret_requests = [r for r in requests if r.path.endswith("/secrets")]
    assert secret_requests and all(r.accept == METADATA_ACCEPT for r in secret_requests)
    secrets = [r for r in collection.resources if r.kind == "Secret"]
    assert len(secrets) == 67
    assert all(set(r.obj) <= {"apiVersion", "kind", "metadata", "type"} for r in secrets)
    assert {r.obj["apiVersion"] for r in secrets} == {"v1"}
    entry = next(e for e in collection.info["resources"] if e["resource"] == "secrets")
    assert entry["metadataOnly"] is True and entry["listed"] == 67


def test_secret_types_come_from_field_selected_metadata_lists(collected):
    collection, requests = collected
    typed = {(r.namespace, r.name): r.obj["type"] for r in collection.resources if r.kind == "Secret" and "type" in r.obj}
    assert typed[("ci", "ci-runner-token")] == "kubernetes.io/service-account-token"
    assert typed[("kube-system", "bootstrap-token-k7q2zt")] == "bootstrap.kubernetes.io/token"
    selectors = {r.query.get("fieldSelector") for r in requests if r.path == "/api/v1/secrets"}
    assert {"type=kubernetes.io/service-account-token", "type=bootstrap.kubernetes.io/token"} <= selectors


def test_cluster_info_records_version_anonymous_answers_and_discovery(collected):
    info = collected[0].info
    assert info["kind"] == "ClusterInfo" and info["version"]["gitVersion"] == "v1.28.0"
    assert info["anonymous"] == [
        {"path": "/version", "status": 200},
        {"path": "/api", "status": 403},
        {"path": "/apis", "status": 403},
    ]
    assert {"group": "apps", "version": "v1", "resource": "deployments", "kind": "Deployment", "namespaced": True,
            "listed": 19} in info["resources"]  # fmt: skip
    # flowcontrol: the preferred version (v1beta3), listed once
    assert [e["version"] for e in info["resources"] if e["group"] == "flowcontrol.apiserver.k8s.io"] == ["v1beta3"] * 2


def test_aggregated_discovery_is_used(collected):
    _, requests = collected
    discovery = [r for r in requests if r.path in ("/api", "/apis") and r.credentials == "admin"]
    assert len(discovery) == 2 and all("as=APIGroupDiscoveryList" in r.accept for r in discovery)
    assert not [r for r in requests if r.path.startswith("/apis/") and r.path.count("/") == 3]


def test_an_expired_continue_token_restarts_the_list_once(recording, tmp_path):
    with ApiServer(tmp_path, recording, expire_continue=True) as srv:
        config = srv.kubeconfig(tmp_path / "config")
        collection = collect(CollectOptions(kubeconfig=str(config), chunk_size=50, include_kinds=("ConfigMap",)))
        configmaps = [r for r in srv.requests if r.path == "/api/v1/configmaps"]
    assert any("410 Gone" in n and "configmaps" in n for n in collection.notes)
    uids = [r.metadata["uid"] for r in collection.resources if r.kind == "ConfigMap"]
    assert len(uids) == len(set(uids)) == len(recording.full_lists["/api/v1/configmaps"]["items"])
    assert len(configmaps) == 4  # page 1, 410, page 1 again, page 2


def test_include_and_exclude_kinds(collected, recording, kubeconfig):
    collection = collect(
        CollectOptions(kubeconfig=str(kubeconfig), chunk_size=50, include_kinds=("Pod", "deployments.apps", "events"))
    )
    kinds = Counter(r.kind for r in collection.resources)
    assert set(kinds) == {"ClusterInfo", "Pod", "Deployment", "Event"}
    assert kinds["Event"] == 2 * 117  # core and events.k8s.io both serve "events"
    collection = collect(CollectOptions(kubeconfig=str(kubeconfig), chunk_size=50, exclude_kinds=("Event", "secrets")))
    assert not {"Event", "Secret"} & {r.kind for r in collection.resources}


def test_kind_names_match_like_kubectl():
    deploy = ApiResource("apps", "v1", "deployments", "Deployment", True)
    pods = ApiResource("", "v1", "pods", "Pod", True)
    assert deploy.matches("Deployment") and deploy.matches("deployments.apps") and deploy.matches("deployment.apps")
    assert not deploy.matches("deployments.extensions") and pods.matches("pods") and pods.matches("POD")
    assert select_resources([deploy, pods], ("pod",), ()) == [pods]
    assert select_resources([deploy, pods], (), ("Deployment",)) == [pods]


def test_namespaced_collection_lists_only_those_namespaces(server, kubeconfig):
    server.requests.clear()
    collection = collect(CollectOptions(kubeconfig=str(kubeconfig), namespaces=("storefront",), chunk_size=0))
    namespaces = {r.namespace for r in collection.resources if r.namespace}
    assert namespaces == {"storefront"}
    assert [r.name for r in collection.resources if r.kind == "Namespace"] == ["storefront"]
    assert not {"Node", "ClusterRole"} & {r.kind for r in collection.resources}
    pods = [r for r in collection.resources if r.kind == "Pod"]
    recorded = [i for i in server.recording.full_lists["/api/v1/pods"]["items"] if i["metadata"]["namespace"] == "storefront"]
    assert len(pods) == len(recorded) > 0
    assert collection.info["namespaces"] == ["storefront"]


def test_label_selector_is_sent_on_every_list(server, kubeconfig):
    server.requests.clear()
    collect(CollectOptions(kubeconfig=str(kubeconfig), selector="app=web", chunk_size=50, include_kinds=("Pod", "Secret")))
    lists = [r for r in server.requests if r.path.endswith(("/pods", "/secrets"))]
    assert lists and all(r.query.get("labelSelector") == "app=web" for r in lists)


def test_rate_limiter_spaces_requests_beyond_the_burst():
    now = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(10, 2, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        limiter.wait()
    assert slept == pytest.approx([0.1, 0.1])
    RateLimiter(0, 1, clock=lambda: 0.0, sleep=sleep).wait()  # 0: unlimited
    assert len(slept) == 2


# ---------------------------------------------------------------- errors


def test_a_refused_token_is_a_one_line_error(server, tmp_path):
    config = server.kubeconfig(tmp_path / "config", token="not-a-valid-token")
    res = run_cli("cluster", "--kubeconfig", str(config), "--no-config")
    assert res.exit_code == 2
    assert res.stderr.count("\n") == 1 and "401 Unauthorized" in res.stderr and res.stderr.startswith("kubeward: error:")


def test_an_unreachable_server_is_a_one_line_error(server, tmp_path):
    config = server.kubeconfig(tmp_path / "config")
    text = config.read_text().replace(server.url, "https://127.0.0.1:1")
    config.write_text(text)
    res = run_cli("cluster", "--kubeconfig", str(config), "--no-config", "--request-timeout", "5")
    assert res.exit_code == 2 and "cannot reach the API server" in res.stderr and res.stderr.count("\n") == 1


def test_missing_kubeconfig_and_unknown_context(tmp_path, kubeconfig, monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    res = run_cli("cluster", "--kubeconfig", str(tmp_path / "nope"), "--no-config")
    assert res.exit_code == 2 and "no kubeconfig found" in res.stderr
    res = run_cli("cluster", "--kubeconfig", str(kubeconfig), "--context", "other", "--no-config")
    assert res.exit_code == 2 and "context 'other'" in res.stderr
    with pytest.raises(ClusterError):
        collect(CollectOptions(kubeconfig=str(tmp_path / "nope")))


def test_kubeconfig_from_the_environment(kubeconfig, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", f"/nonexistent/config{os.pathsep}{kubeconfig}")
    collection = collect(CollectOptions(include_kinds=("Namespace",), chunk_size=0))
    assert collection.name == "test" and len(collection.resources) > 10


def test_forbidden_lists_are_recorded_and_the_scan_goes_on(server, tmp_path):
    config = server.kubeconfig(tmp_path / "config", token=LIMITED_TOKEN)
    res = run_cli(
        "cluster", "--kubeconfig", str(config), "-n", "storefront", "--no-config", "--fail-on", "none", "--save",
        str(tmp_path / "snap.json"), "-f", "json",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    items = json.loads((tmp_path / "snap.json").read_text())["items"]
    info = items[0]
    errors = {e["resource"]: e["error"] for e in info["resources"] if "error" in e}
    assert errors["secrets"]["status"] == 403 and errors["deployments"]["status"] == 403
    assert {e["resource"] for e in info["resources"] if e.get("listed")} == {"pods", "configmaps", "namespaces"}
    assert info["selfSubjectRules"][0]["namespace"] == "storefront"
    assert {"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["pods", "pods/log", "configmaps"]} in info[
        "selfSubjectRules"
    ][0]["resourceRules"]
    assert {i["kind"] for i in items} == {"ClusterInfo", "Pod", "ConfigMap", "Namespace"}


def test_exec_credential_plugin(server, tmp_path):
    plugin = tmp_path / "plugin.py"
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"token": ADMIN_TOKEN},
    }
    plugin.write_text(f"import json\nprint(json.dumps({credential!r}))\n")
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": sys.executable,
            "args": [str(plugin)],
            "interactiveMode": "Never",
        }
    }
    config = server.kubeconfig(tmp_path / "config", user=user, context="exec")
    collection = collect(CollectOptions(kubeconfig=str(config), include_kinds=("Node",), chunk_size=0))
    assert collection.name == "exec" and sorted(r.name for r in collection.resources[1:]) == ["cp-1", "worker-1", "worker-2"]


# ---------------------------------------------------------------- findings


def test_cluster_findings_equal_a_scan_of_the_recorded_full_lists(recording, cluster_run, tmp_path):
    report, _ = cluster_run
    for i, (path, body) in enumerate(sorted(_full_lists(recording).items())):
        body = json.loads(json.dumps(body))
        if path == "/api/v1/secrets":  # as the collector gives them: kind Secret, type where a typed list said so
            body = {"apiVersion": "v1", "kind": "SecretList", "items": [_typed_secret(recording, i) for i in body["items"]]}
        (tmp_path / f"{i:03d}.json").write_text(json.dumps(body))
    res = run_cli("scan", str(tmp_path), "--no-config", "--fail-on", "none", "-f", "json", "--kubernetes-version", "v1.28")
    scanned = json.loads(res.stdout)
    assert scanned["errors"] == []
    assert _keys(report) == _keys(scanned)
    assert report["summary"]["resources"] == scanned["summary"]["resources"] + 1  # + ClusterInfo


def _typed_secret(recording, item: dict) -> dict:
    meta = item["metadata"]
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": meta}
    kind = recording.secret_types.get((meta["namespace"], meta["name"]))
    if kind in ("kubernetes.io/service-account-token", "bootstrap.kubernetes.io/token"):
        secret["type"] = kind
    return secret


def test_a_snapshot_rescans_with_the_same_findings(cluster_run):
    report, snapshot = cluster_run
    res = run_cli("scan", str(snapshot), "--no-config", "--fail-on", "none", "-f", "json")
    scanned = json.loads(res.stdout)
    assert _keys(report, exclude_kinds=()) == _keys(scanned, exclude_kinds=())
    assert report["summary"] == scanned["summary"]
    assert all(f["line"] is None for f in report["findings"])
    assert all(f["line"] and f["line"] >= 2 for f in scanned["findings"])


def test_snapshot_findings_point_at_the_line_of_their_object(cluster_run):
    report, snapshot = cluster_run
    import gzip

    lines = gzip.decompress(snapshot.read_bytes()).decode().split("\n")
    res = run_cli("scan", str(snapshot), "--no-config", "--fail-on", "none", "-f", "json")
    for f in json.loads(res.stdout)["findings"][:200]:
        obj = json.loads(lines[f["line"] - 1].rstrip(","))
        assert (obj["kind"], obj["metadata"]["name"]) == (f["kind"], f["name"])


def test_every_finding_on_the_recorded_cluster_is_explained_by_the_inventory(recording, cluster_run):
    report, _ = cluster_run
    res = run_cli("scan", str(RECORDING / "inventory"), "--no-config", "--fail-on", "none", "-f", "json")
    manifests = json.loads(res.stdout)
    applied = {(f["kind"], f["namespace"], f["name"]) for f in manifests["findings"]}
    docs = {}
    for path in (RECORDING / "inventory").glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and "metadata" in doc:
                docs[(doc["kind"], doc["metadata"].get("namespace", ""), doc["metadata"]["name"])] = doc
    inventory = set(docs)
    expected = {(f["check"], f["kind"], f["namespace"], f["name"]) for f in manifests["findings"]}
    unexplained = sorted(
        key
        for f in report["findings"]
        if (key := (f["check"], f["kind"], f["namespace"], f["name"]))[1:] in inventory
        and not f["check"].startswith("KW-C")
        and key not in expected
    )
    # The API server defaults secret volumes to defaultMode 420 (0644): KW-S008 flags the
    # explicit mode on the live object, which the manifest leaves unset (the same 0644).
    defaulted = [k for k in unexplained if k[0] == "KW-S008" and not _manifest_sets_default_mode(docs[k[1:]])]
    assert [k for k in unexplained if k not in defaulted] == []
    assert applied & inventory


def _manifest_sets_default_mode(doc: dict) -> bool:
    return "defaultMode" in json.dumps(doc)


# ---------------------------------------------------------------- RBAC for the scanner


def test_the_generated_scanner_role_allows_every_list_the_collector_makes(collected):
    _, requests = collected
    docs = scanner_rbac("kubeward-scanner", "kubeward")
    model = RbacModel([Resource(d, "rbac.yaml") for d in docs], defaults=False)
    subject = service_account("system:serviceaccount:kubeward:kubeward-scanner")
    asked = 0
    for r in requests:
        parts = r.path.strip("/").split("/")
        if r.method == "POST":
            assert model.allows(subject, Request("create", parts[-1], group=parts[1]))
        elif parts in (["version"], ["api"], ["apis"]):
            assert model.allows(subject, Request("get", path=r.path))
        else:
            group = "" if parts[0] == "api" else parts[1]
            namespace = parts[parts.index("namespaces") + 1] if "namespaces" in parts[:-1] else ""
            assert model.allows(subject, Request("list", parts[-1], group=group, namespace=namespace, name=None)), r.path
            asked += 1
    assert asked > 50
    for verb in ("get", "watch"):
        assert not model.allows(subject, Request(verb, "secrets", namespace="kube-system", name=None))
    assert not model.allows(subject, Request("create", "pods", namespace="default", name=None))


def test_generate_scanner_rbac_prints_the_three_objects():
    res = run_cli("generate", "scanner-rbac", "--namespace", "security")
    docs = list(yaml.safe_load_all(res.stdout))
    assert [d["kind"] for d in docs] == ["ServiceAccount", "ClusterRole", "ClusterRoleBinding"]
    assert docs[2]["subjects"] == [{"kind": "ServiceAccount", "name": "kubeward-scanner", "namespace": "security"}]
    res = run_cli("generate", "scanner-rbac", "-f", "json")
    assert [d["kind"] for d in json.loads(res.stdout)["items"]][1] == "ClusterRole"


# ---------------------------------------------------------------- snapshots and dumps


def test_snapshot_layout_is_a_json_list_with_one_object_per_line():
    objects = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}, "data": {"a": "x\ny"}} for i in range(3)]
    text = snapshot_bytes(objects).decode()
    assert json.loads(text)["items"] == objects
    assert text.split("\n")[1:4] == [json.dumps(o, separators=(",", ":")) + ("," if i < 2 else "") for i, o in enumerate(objects)]


@pytest.mark.skipif(not os.environ.get("KUBEWARD_TEST_KUBECONFIG"), reason="set KUBEWARD_TEST_KUBECONFIG to test a real cluster")
def test_a_real_cluster(tmp_path):
    res = run_cli(
        "cluster", "--kubeconfig", os.environ["KUBEWARD_TEST_KUBECONFIG"], "--no-config", "--fail-on", "none",
        "--save", str(tmp_path / "snap.json.gz"), "-f", "json",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    report = json.loads(res.stdout)
    rescan = json.loads(run_cli("scan", str(tmp_path / "snap.json.gz"), "--no-config", "--fail-on", "none", "-f", "json").stdout)
    assert _keys(report, exclude_kinds=()) == _keys(rescan, exclude_kinds=())


def test_recording_path_is_the_shared_one():
    assert Path(RECORDING).name == "k8s-1.28-api"


def test_gzip_inputs_and_bombs(tmp_path):
    import gzip

    from kubeward.sources.files import load_file

    doc = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
    (tmp_path / "a.yaml.gz").write_bytes(gzip.compress(doc))
    loaded = load_file(tmp_path / "a.yaml.gz")
    assert [r.name for r in loaded.resources] == ["a"] and not loaded.errors
    (tmp_path / "big.json.gz").write_bytes(gzip.compress(b" " * 3_000_000))
    loaded = load_file(tmp_path / "big.json.gz", max_file_bytes=1_000_000)
    assert "limit" in loaded.errors[0].message and not loaded.resources
    (tmp_path / "bad.json.gz").write_bytes(b"not gzip at all")
    assert "decompress" in load_file(tmp_path / "bad.json.gz").errors[0].message
    res = run_cli("scan", str(tmp_path), "--no-config", "--fail-on", "none", "-f", "json")
    assert json.loads(res.stdout)["summary"]["resources"] == 1  # the directory walk reads .yaml.gz too


def test_api_list_items_take_their_kind_from_the_list(tmp_path):
    from kubeward.sources.files import load_bytes

    body = {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": [{"metadata": {"name": "p"}, "spec": {}}]}
    loaded = load_bytes(json.dumps(body, indent=2).encode(), "pods.json", is_json=True)
    assert [(r.kind, r.api_version, r.list_path) for r in loaded.resources] == [("Pod", "v1", ("items", 0))]
    body = {"kind": "List", "apiVersion": "v1", "items": [{"metadata": {"name": "p"}}]}
    assert load_bytes(json.dumps(body).encode(), "x.json", is_json=True).resources == []  # a plain List says nothing


def _kubectl_yaml_list(count: int, size: int) -> str:
    items = "".join(
        f"- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: c{i}\n  data:\n    k: {'x' * size}\n" for i in range(count)
    )
    return f'apiVersion: v1\nitems:\n{items}kind: List\nmetadata:\n  resourceVersion: ""\n'


def test_large_lists_are_limited_per_item_not_per_document():
    from kubeward.sources.files import load_bytes

    text = _kubectl_yaml_list(40, 100_000)  # ~4 MiB: above the 3 MiB per-object limit as a whole
    loaded = load_bytes(text.encode(), "dump.yaml")
    assert len(text) > 3 * 1024 * 1024 and not loaded.errors and len(loaded.resources) == 40
    line = loaded.resources[7].start_line
    assert line == 1  # one document; finding lines come from the item path
    huge = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "x" * (3 * 1024 * 1024 + 10)}}
    big = {
        "kind": "List",
        "apiVersion": "v1",
        "items": [huge, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}],
    }
    loaded = load_bytes(json.dumps(big).encode(), "big.json", is_json=True)
    assert [r.name for r in loaded.resources] == ["b"] and "items[0]" in loaded.errors[0].message
    not_a_list = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  k: " + "x" * (3 * 1024 * 1024) + "\n"
    assert "3 MiB" in load_bytes(not_a_list.encode(), "one.yaml").errors[0].message


def test_a_kubectl_yaml_dump_scans_with_lines(tmp_path):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
           "spec": {"containers": [{"name": "c", "image": "nginx", "securityContext": {"privileged": True}}]}}  # fmt: skip
    (tmp_path / "pods.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [pod]}))
    res = run_cli("scan", str(tmp_path / "pods.yaml"), "--no-config", "-f", "json", "--check", "KW-P001")
    finding = json.loads(res.stdout)["findings"][0]
    text = (tmp_path / "pods.yaml").read_text().split("\n")
    assert "privileged" in text[finding["line"] - 1]


# ---------------------------------------------------------------- cluster-only checks on the recording


def test_cluster_only_checks_on_the_recorded_cluster(cluster_run):
    report, _ = cluster_run
    found = {(f["check"], f["kind"], f["name"]): f["message"] for f in report["findings"] if f["check"].startswith("KW-C")}
    # v1.28 is long out of support by the table's date; the message dates the table
    message = found[("KW-C001", "ClusterInfo", "test")]
    assert "v1.28.0" in message and "release table is of" in message and "days before this collection" in message
    # /api answered 403 to a request without credentials: anonymous auth on, nothing authorised
    assert ("KW-C007", "ClusterInfo", "test") in found and ("KW-C006", "ClusterInfo", "test") not in found
    # the bootstrap token Secret, seen metadata-only with its type from the field-selected list
    assert "does not read" in found[("KW-C009", "Secret", "bootstrap-token-k7q2zt")]
    # cp-1 is tainted; worker-2's v1.27 kubelet is one minor behind: allowed skew, but out of support
    assert ("KW-C004", "Node", "cp-1") not in found and ("KW-C002", "Node", "worker-2") not in found
    assert ("KW-C003", "Node", "worker-2") in found
    # the legacy token Secret is reported by KW-A003 from its type, as from the manifest
    assert any(f["check"] == "KW-A003" and f["name"] == "ci-runner-token" for f in report["findings"])
    assert ("KW-C008", "ClusterInfo", "test") not in found  # admin could list everything


def test_forbidden_kinds_name_the_checks_that_could_not_run(server, tmp_path):
    config = server.kubeconfig(tmp_path / "config", token=LIMITED_TOKEN)
    res = run_cli("cluster", "--kubeconfig", str(config), "-n", "storefront", "--no-config", "-f", "json", "--check", "KW-C008")
    (finding,) = json.loads(res.stdout)["findings"]
    assert "secrets (403)" not in finding["message"] and "secrets" in finding["message"]
    assert "KW-A003" in finding["message"] and "KW-C009" in finding["message"]  # they read Secrets
    assert res.exit_code == 0  # an info finding is below the default --fail-on


def test_skew_check_through_a_released_scan_equals_a_full_inventory():
    from helpers import DATA, scan_text

    text = (DATA / "checks" / "KW-C002" / "fail.yaml").read_text()
    full, _ = scan_text(text, only=["KW-C002"])
    res = run_cli("scan", "-", "--no-config", "-f", "json", "--check", "KW-C002", "--fail-on", "none", input=text)
    streamed = json.loads(res.stdout)["findings"]
    assert [(f.resource.name, f.message) for f in full.findings] == [(f["name"], f["message"]) for f in streamed]
    assert len(streamed) == 2
