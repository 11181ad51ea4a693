"""A Kubernetes API server for tests: HTTPS on loopback, answering from recorded exchanges.

It serves ../shared/recordings/k8s-1.28-api/exchanges (a real kube-apiserver v1.28's
answers) as its README describes: requests are matched on method, path, query
(in any order), the Accept variant and the credentials; the continue tokens in the
recorded pages are the real ones. Where a request was not recorded the server
answers as the real one would, from recorded facts only:

* discovery, ``/version`` and reviews asked by the limited ServiceAccount: the answer
  recorded for admin when it does not depend on the caller (discovery), else 404;
* the limited ServiceAccount's lists: allowed or 403 by the SelfSubjectRulesReview the
  server recorded for that ServiceAccount in that namespace (403 cluster-wide);
* ``fieldSelector=metadata.name=X`` and, for Secrets, ``type=T``: the recorded full
  list filtered (a Secret's type from the inventory manifests, which is what was
  applied), in one page;
* anything else: 404 with a Status body.

``pages`` can also be given synthetic objects (bench/cluster.py): then every list is
served from them, paged with opaque tokens.
"""

from __future__ import annotations

import base64
import http.server
import json
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
import yaml

from helpers import SHARED
from pki import LOOPBACK, ca_pem, issue, new_ca

RECORDING = SHARED / "recordings" / "k8s-1.28-api"
ADMIN_TOKEN = "admin-token-for-tests"
LIMITED_TOKEN = "reporting-sa-token-for-tests"
LIMITED = "sa:storefront:reporting"


def make_certificate(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 (SAN IP); returns (ca, cert, key) paths."""
    ca = new_ca()
    (directory / "ca.crt").write_bytes(ca_pem(ca))
    cert, key = issue(ca, directory, "server", "kube-apiserver", sans=(LOOPBACK[1],))
    return directory / "ca.crt", cert, key


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    accept: str
    credentials: str
    body: Any = None


def _variant(accept: str) -> str:
    if "as=APIGroupDiscoveryList" in accept:
        return "aggregated"
    if "as=PartialObjectMetadataList" in accept:
        return "metadata-list"
    if "as=PartialObjectMetadata" in accept:
        return "metadata"
    return "json"


def _key(method: str, path: str, query: dict, accept: str, credentials: str, body: Any = None) -> tuple:
    spec = body.get("spec") if isinstance(body, dict) else None
    return method, path, tuple(sorted(query.items())), _variant(accept), credentials, json.dumps(spec, sort_keys=True)


@dataclass
class Recording:
    exchanges: dict[tuple, dict] = field(default_factory=dict)
    full_lists: dict[str, dict] = field(default_factory=dict)  # path -> body of the unpaged list (admin)
    secret_types: dict[tuple[str, str], str] = field(default_factory=dict)
    rules: dict[str, list[dict]] = field(default_factory=dict)  # limited SA: namespace -> resourceRules
    gone: tuple[str, dict] | None = None  # (expired token, the 410 exchange)

    @classmethod
    def load(cls, root: Path = RECORDING) -> Recording:
        rec = cls()
        index = json.loads((root / "index.json").read_text())
        for entry in index["exchanges"]:
            exchange = json.loads((root / entry["file"]).read_text())
            request = exchange["request"]
            if entry["category"] == "gone":
                if exchange["response"]["status"] == 410:
                    rec.gone = (request["query"]["continue"], exchange)
                continue
            key = _key(
                request["method"],
                request["path"],
                request["query"],
                request["headers"].get("Accept", ""),
                entry["credentials"],
                request.get("body"),
            )
            rec.exchanges[key] = exchange
            if entry["credentials"] == "admin" and entry["category"] in ("list", "list-metadata", "namespaced-list"):
                rec.full_lists[request["path"]] = exchange["response"]["body"]
            if entry["credentials"] == LIMITED and request["path"].endswith("selfsubjectrulesreviews"):
                body = exchange["response"]["body"]
                rec.rules[request["body"]["spec"]["namespace"]] = body["status"]["resourceRules"]
        for doc in yaml.safe_load_all("\n---\n".join(p.read_text() for p in sorted((root / "inventory").glob("*.yaml")))):
            if isinstance(doc, dict) and doc.get("kind") == "Secret":
                meta = doc["metadata"]
                rec.secret_types[(meta.get("namespace", "default"), meta["name"])] = doc.get("type", "Opaque")
        return rec


def _status(code: int, reason: str, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason,
            "code": code}  # fmt: skip


class ApiServer:
    """The HTTPS server; ``requests`` lists what it was asked, for assertions."""

    def __init__(self, directory: Path, recording: Recording | None = None, *, synthetic: dict[str, list[dict]] | None = None,
                 discovery: dict | None = None, expire_continue: bool = False):  # fmt: skip
        self.recording = recording
        self.synthetic = synthetic or {}
        self.synthetic_discovery = discovery
        self.expire_continue = expire_continue
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self.ca, cert, key = make_certificate(directory)
        handler = type("Handler", (_Handler,), {"api": self})
        self.httpd = _Server(("127.0.0.1", 0), handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        # the handshake runs in the connection's thread, not in the accepting one
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True, do_handshake_on_connect=False)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ApiServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def kubeconfig(self, path: Path, *, token: str | None = ADMIN_TOKEN, user: dict | None = None, context: str = "test") -> Path:
        user = user if user is not None else ({"token": token} if token else {})
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "recorded", "cluster": {"server": self.url, "certificate-authority": str(self.ca)}}],
            "users": [{"name": "tester", "user": user}],
            "contexts": [{"name": context, "context": {"cluster": "recorded", "user": "tester"}}],
            "current-context": context,
        }
        path.write_text(yaml.safe_dump(config))
        return path

    # ------------------------------------------------------------ answers

    def answer(self, req: Request) -> tuple[int, str, bytes]:
        if self.synthetic:
            return self._synthetic(req)
        rec = self.recording
        assert rec is not None
        if req.credentials == "invalid-bearer-token":
            return _json(401, _status(401, "Unauthorized", "Unauthorized"))
        if rec.gone and self.expire_continue and req.query.get("continue") == rec.gone[0]:
            with self.lock:
                self.expire_continue = False  # once
            response = rec.gone[1]["response"]
            return _json(response["status"], response["body"])
        exchange = self._find(req)
        if exchange is not None:
            response = exchange["response"]
            content_type = response["headers"].get("Content-Type", "application/json")
            body = response["body"]
            data = body.encode() if isinstance(body, str) else orjson.dumps(body)
            return response["status"], content_type, data
        if req.credentials == LIMITED and req.method == "GET":
            return self._limited(req)
        if req.credentials == "admin" and req.method == "GET" and "fieldSelector" in req.query:
            return self._field_selected(req)
        return _json(404, _status(404, "NotFound", f"the server could not find the requested resource ({req.path})"))

    def _find(self, req: Request) -> dict | None:
        rec = self.recording
        for credentials in (req.credentials, "admin") if _caller_independent(req) else (req.credentials,):
            exchange = rec.exchanges.get(_key(req.method, req.path, req.query, req.accept, credentials, req.body))
            if exchange is not None:
                return exchange
        return None

    def _limited(self, req: Request) -> tuple[int, str, bytes]:
        parts = req.path.strip("/").split("/")
        namespace = parts[parts.index("namespaces") + 1] if "namespaces" in parts[:-1] else None
        resource = parts[-1]
        group = "" if parts[0] == "api" else parts[1]
        if namespace is None:  # cluster-wide: only what every namespace's review shows (ClusterRoleBindings)
            reviews = list(self.recording.rules.values())
            rules = [r for r in reviews[0] if all(r in other for other in reviews[1:])]
        else:
            rules = self.recording.rules.get(namespace, [])
        allowed = any(
            ("list" in r.get("verbs", []) or "*" in r.get("verbs", []))
            and ({group, "*"} & set(r.get("apiGroups", [])))
            and ({resource, "*"} & set(r.get("resources", [])))
            for r in rules
        )
        if not allowed:
            scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
            message = (
                f'{resource} is forbidden: User "system:serviceaccount:storefront:reporting" cannot list resource '
                f'"{resource}" in API group "{group}" {scope}'
            )
            return _json(403, _status(403, "Forbidden", message))
        if "fieldSelector" in req.query:
            return self._field_selected(req)
        full = self.recording.full_lists.get(req.path)
        if full is None:
            return _json(404, _status(404, "NotFound", req.path))
        return _json(200, full)

    def _field_selected(self, req: Request) -> tuple[int, str, bytes]:
        selector = req.query["fieldSelector"]
        field_name, _, value = selector.partition("=")
        parts = req.path.strip("/").split("/")
        namespace = parts[parts.index("namespaces") + 1] if "namespaces" in parts[:-1] else None
        cluster_path = req.path if namespace is None else req.path.replace(f"/namespaces/{namespace}", "")
        full = self.recording.full_lists.get(cluster_path)
        if full is None or field_name not in ("metadata.name", "type"):
            return _json(404, _status(404, "NotFound", req.path))

        def keep(item: dict) -> bool:
            meta = item.get("metadata", {})
            if namespace and meta.get("namespace") != namespace:
                return False
            if field_name == "metadata.name":
                return meta.get("name") == value
            return self.recording.secret_types.get((meta.get("namespace"), meta.get("name"))) == value

        body = {**full, "metadata": {"resourceVersion": full["metadata"].get("resourceVersion", "1")}}
        body["items"] = [i for i in full["items"] if keep(i)]
        return _json(200, body)

    def _synthetic(self, req: Request) -> tuple[int, str, bytes]:
        if req.path == "/version":
            return _json(200, {"major": "1", "minor": "30", "gitVersion": "v1.30.2", "platform": "linux/amd64"})
        if req.path in ("/api", "/apis") and self.synthetic_discovery is not None:
            if req.credentials == "none":
                return _json(403, _status(403, "Forbidden", "forbidden"))
            body = self.synthetic_discovery[req.path]
            return 200, "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList", orjson.dumps(body)
        items = self.synthetic.get(req.path)
        if items is None or "fieldSelector" in req.query:
            return _json(404, _status(404, "NotFound", req.path))
        start = int(base64.b64decode(req.query["continue"]).decode()) if req.query.get("continue") else 0
        limit = int(req.query.get("limit") or 0) or len(items)
        page = items[start : start + limit]
        meta: dict[str, Any] = {"resourceVersion": "1"}
        if start + limit < len(items):
            meta["continue"] = base64.b64encode(str(start + limit).encode()).decode()
        return _json(200, {"kind": "List", "apiVersion": "v1", "metadata": meta, "items": page})


def _caller_independent(req: Request) -> bool:
    """Discovery documents: /version, /api, /apis, /api/v1, /apis/GROUP/VERSION."""
    parts = req.path.strip("/").split("/")
    return req.method == "GET" and (
        parts in (["version"], ["api"], ["apis"])
        or (parts[0] == "api" and len(parts) == 2)
        or (parts[0] == "apis" and len(parts) == 3)
    )


def _json(status: int, body: Any) -> tuple[int, str, bytes]:
    return status, "application/json", orjson.dumps(body)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the collector opens several connections at once


class _Handler(http.server.BaseHTTPRequestHandler):
    api: ApiServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        try:
            self.request.do_handshake()
        except (ssl.SSLError, OSError):
            pass  # the client gave up (e.g. it does not trust the certificate); reading fails next
        super().setup()

    def log_message(self, *args) -> None:  # quiet
        pass

    def _credentials(self) -> str:
        header = self.headers.get("Authorization")
        if not header:
            return "none"
        token = header.removeprefix("Bearer ").strip()
        return {ADMIN_TOKEN: "admin", LIMITED_TOKEN: LIMITED}.get(token, "invalid-bearer-token")

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        req = Request(method, url.path, dict(parse_qsl(url.query)), self.headers.get("Accept", ""), self._credentials(), body)
        with self.api.lock:
            self.api.requests.append(req)
        status, content_type, data = self.api.answer(req)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")
