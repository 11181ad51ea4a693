"""Collect a live cluster's objects as Resources (`kubeward cluster`).

The official ``kubernetes`` client loads the kubeconfig (contexts, client
certificates, tokens, exec and OIDC plugins with their refresh) or the in-cluster
service account; requests then go straight through its urllib3 pool as raw JSON,
decoded with orjson, because the client's typed models cost far more than the
network (docs/cluster.md has the measurements).

Discovery uses aggregated discovery (one request for every group) and falls back
to the per-group-version documents. Every listable resource is listed at its
preferred version, in pages (``limit`` + ``continue``), several lists at a time,
under a client-side rate limit. Secrets are listed as PartialObjectMetadata: the
scanner never receives a secret value. A list the scanner may not read (403) is
recorded in the ClusterInfo object and the scan goes on; bad credentials (401)
and an unreachable server stop the collection with a one-line error.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson

from ..model import Resource

log = logging.getLogger("kubeward.cluster")

JSON = "application/json"
AGGREGATED_ACCEPT = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
METADATA_ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
CLUSTER_INFO_API = "kubeward.io/v1alpha1"
CLUSTER_INFO_KIND = "ClusterInfo"
# kinds listed as metadata only: the scanner must never hold their values
METADATA_ONLY = frozenset({("", "secrets")})
# Secret types the collector asks for by field selector, so metadata-only Secrets
# can carry their `type` (a fact the API server states; the data stays unread)
TYPED_SECRET_LISTS = ("kubernetes.io/service-account-token", "bootstrap.kubernetes.io/token")
ANONYMOUS_PATHS = ("/version", "/api", "/apis")
RULES_REVIEW_PATH = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"
DEFAULT_CHUNK_SIZE = 500
DEFAULT_CONCURRENCY = 8
DEFAULT_QPS = 50.0
DEFAULT_BURST = 100
MAX_RULES_NAMESPACES = 10


class ClusterError(Exception):
    """The collection cannot go on (no config, unreachable, credentials refused): exit 2."""


@dataclass
class CollectOptions:
    kubeconfig: str | None = None
    context: str | None = None
    namespaces: tuple[str, ...] = ()  # empty: all namespaces
    selector: str | None = None
    include_kinds: tuple[str, ...] = ()
    exclude_kinds: tuple[str, ...] = ()
    chunk_size: int = DEFAULT_CHUNK_SIZE
    concurrency: int = DEFAULT_CONCURRENCY
    qps: float = DEFAULT_QPS
    burst: int = DEFAULT_BURST
    timeout: float = 60.0
    typed_secrets: bool = True  # field-selected lists that tell the type of metadata-only Secrets


@dataclass(frozen=True, slots=True)
class ApiResource:
    group: str
    version: str
    resource: str
    kind: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def metadata_only(self) -> bool:
        return (self.group, self.resource) in METADATA_ONLY

    def path(self, namespace: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        return f"{base}/namespaces/{namespace}/{self.resource}" if namespace else f"{base}/{self.resource}"

    def matches(self, name: str) -> bool:
        """Does NAME (Kind, plural, plural.group or Kind.group, any case) name this resource?"""
        name = name.lower()
        group = self.group.lower()
        names = {self.kind.lower(), self.resource.lower()}
        return (
            name in names
            or any(name == f"{n}.{group}" for n in names if group)
            or (not group and name in {f"{n}.core" for n in names})
        )


@dataclass
class Response:
    status: int  # 0: no answer (connection error, timeout)
    content_type: str
    data: bytes
    reason: str = ""

    def json(self) -> Any:
        try:
            return orjson.loads(self.data)
        except orjson.JSONDecodeError:
            return None


@dataclass
class Collection:
    name: str
    server: str
    resources: list[Resource] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    requests: int = 0


class RateLimiter:
    """A token bucket shared by the workers: ``qps`` per second, bursts up to ``burst``
    (client-go's flowcontrol semantics). qps <= 0 disables it."""

    def __init__(self, qps: float, burst: int, clock: Callable[[], float] = time.monotonic, sleep=time.sleep):
        self.qps, self.burst = qps, max(1, burst)
        self.tokens = float(self.burst)
        self.clock, self.sleep = clock, sleep
        self.last = clock()
        self.lock = threading.Lock()

    def wait(self) -> None:
        if self.qps <= 0:
            return
        with self.lock:
            now = self.clock()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.qps)
            self.last = now
            self.tokens -= 1
            delay = -self.tokens / self.qps if self.tokens < 0 else 0.0
        if delay:
            self.sleep(delay)


class Connection:
    """Raw requests to one API server with the credentials a kubeconfig gave."""

    def __init__(self, configuration: Any, name: str, *, concurrency: int = DEFAULT_CONCURRENCY, timeout: float = 60.0):
        import copy

        from kubernetes.client.rest import RESTClientObject

        configuration.connection_pool_maxsize = max(concurrency, 1)
        self.configuration = configuration
        self.name = name
        self.server = configuration.host.rstrip("/")
        self.timeout = timeout
        self.pool = RESTClientObject(configuration).pool_manager
        anonymous = copy.copy(configuration)
        anonymous.cert_file = anonymous.key_file = None
        anonymous.api_key = {}
        anonymous.refresh_api_key_hook = None
        self.anonymous_pool = RESTClientObject(anonymous).pool_manager
        self.limiter: RateLimiter | None = None
        self.count = 0
        self._count_lock = threading.Lock()

    def _headers(self, accept: str, anonymous: bool) -> dict[str, str]:
        headers = {"Accept": accept, "User-Agent": "kubeward"}
        if not anonymous:
            for setting in self.configuration.auth_settings().values():
                if setting.get("in") == "header" and setting.get("value"):
                    headers[setting["key"]] = setting["value"]
            basic = self.configuration.username and self.configuration.get_basic_auth_token()
            if basic and "authorization" not in headers:
                headers["authorization"] = basic
        return headers

    def request(
        self,
        method: str,
        path: str,
        query: dict[str, str] | None = None,
        *,
        accept: str = JSON,
        body: Any = None,
        anonymous: bool = False,
    ) -> Response:
        import urllib3

        if self.limiter is not None:
            self.limiter.wait()
        url = self.server + path + ("?" + urlencode(query) if query else "")
        headers = self._headers(accept, anonymous)
        data = None
        if body is not None:
            data = orjson.dumps(body)
            headers["Content-Type"] = JSON
        pool = self.anonymous_pool if anonymous else self.pool
        with self._count_lock:
            self.count += 1
        for attempt in (1, 2):
            try:
                answer = pool.request(
                    method, url, body=data, headers=headers, timeout=urllib3.Timeout(total=self.timeout), retries=False
                )
            except urllib3.exceptions.HTTPError as exc:
                # one more try for a dropped connection (a reused keep-alive socket the server closed)
                if attempt == 1 and not isinstance(exc, urllib3.exceptions.TimeoutError):
                    time.sleep(0.2)
                    continue
                return Response(0, "", b"", _reason(exc))
            return Response(answer.status, answer.headers.get("Content-Type", ""), answer.data)
        raise AssertionError("unreachable")  # pragma: no cover

    def get(self, path: str, query: dict[str, str] | None = None, *, accept: str = JSON, anonymous: bool = False) -> Response:
        return self.request("GET", path, query, accept=accept, anonymous=anonymous)

    def checked(self, response: Response, what: str) -> Response:
        """Stop on answers that make going on pointless: no server, bad credentials."""
        if response.status == 0:
            raise ClusterError(f"cannot reach the API server at {self.server} ({what}): {response.reason}")
        if response.status == 401:
            raise ClusterError(
                f"the API server at {self.server} refused the credentials of {self.name} (401 Unauthorized); "
                "log in again or check the kubeconfig"
            )
        return response


def _reason(exc: Exception) -> str:
    reason = getattr(exc, "reason", None) or exc
    text = str(reason)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "TLS certificate verification failed (is certificate-authority right?)"
    if "Connection refused" in text:
        return "connection refused"
    if "timed out" in text.lower():
        return "timed out"
    return text.split(": ", 1)[-1][:200]


# ---------------------------------------------------------------- configuration


def connect(
    kubeconfig: str | None = None,
    context: str | None = None,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float = 60.0,
) -> Connection:
    """Load credentials like kubectl: --kubeconfig, else $KUBECONFIG (a ':' list),
    else ~/.kube/config; when none exists inside a pod, the pod's service account."""
    try:
        from kubernetes import config as kube_config
        from kubernetes.client import Configuration
    except ImportError as exc:  # pragma: no cover - a dependency
        raise ClusterError(f"the kubernetes package is needed for cluster scans ({exc})") from None

    configuration = Configuration()
    paths = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
    existing = [p for p in paths.split(os.pathsep) if p and os.path.exists(os.path.expanduser(p))]
    try:
        if not existing and not kubeconfig and os.environ.get("KUBERNETES_SERVICE_HOST"):
            kube_config.load_incluster_config(client_configuration=configuration)
            name = "in-cluster"
        elif not existing:
            raise ClusterError(f"no kubeconfig found at {paths} (use --kubeconfig or set KUBECONFIG)")
        else:
            config_file = os.pathsep.join(existing)
            contexts, current = kube_config.list_kube_config_contexts(config_file)
            if context and not any(c.get("name") == context for c in contexts or []):
                raise ClusterError(f"context {context!r} is not in {config_file}")
            name = context or (current or {}).get("name") or urlsplit(configuration.host).hostname or "cluster"
            kube_config.load_kube_config(
                config_file=config_file, context=context, client_configuration=configuration, persist_config=False
            )
    except ClusterError:
        raise
    except Exception as exc:  # ConfigException, exec plugin failures, bad YAML
        message = " ".join(str(exc).split()) or type(exc).__name__
        raise ClusterError(f"cannot load the cluster configuration: {message}") from None
    return Connection(configuration, name, concurrency=concurrency, timeout=timeout)


# ---------------------------------------------------------------- discovery


def discover(conn: Connection) -> tuple[list[ApiResource], list[str]]:
    """Every listable resource at its group's preferred version, and notes."""
    notes: list[str] = []
    resources: list[ApiResource] = []
    aggregated = True
    for path in ("/api", "/apis"):
        response = conn.checked(conn.get(path, accept=AGGREGATED_ACCEPT), f"GET {path}")
        _refuse_forbidden(conn, response, path)
        body = response.json()
        if "as=APIGroupDiscoveryList" in response.content_type and isinstance(body, dict):
            resources.extend(_from_aggregated(body))
            continue
        aggregated = False
        break
    if not aggregated:
        resources, notes = _legacy_discovery(conn)
    unique: dict[tuple[str, str], ApiResource] = {}
    for r in resources:
        unique.setdefault((r.group, r.resource), r)
    return list(unique.values()), notes


def _refuse_forbidden(conn: Connection, response: Response, path: str) -> None:
    if response.status == 403:
        raise ClusterError(f"{conn.name} may not read the API discovery document {path} (403 Forbidden)")
    if response.status != 200:
        raise ClusterError(f"GET {path} answered {response.status} {_status_reason(response)}")


def _from_aggregated(body: dict) -> Iterable[ApiResource]:
    for group in body.get("items") or []:
        if not isinstance(group, dict):
            continue
        name = (group.get("metadata") or {}).get("name") or ""
        versions = [v for v in group.get("versions") or [] if isinstance(v, dict)]
        if not versions:
            continue
        preferred = versions[0]  # versions come in preference order
        for res in preferred.get("resources") or []:
            if not isinstance(res, dict) or "list" not in (res.get("verbs") or []):
                continue
            kind = (res.get("responseKind") or {}).get("kind")
            if not kind or "/" in str(res.get("resource")):
                continue
            yield ApiResource(name, preferred.get("version", ""), res["resource"], kind, res.get("scope") == "Namespaced")


def _legacy_discovery(conn: Connection) -> tuple[list[ApiResource], list[str]]:
    versions: list[tuple[str, str]] = []
    core = conn.checked(conn.get("/api"), "GET /api").json() or {}
    versions += [("", v) for v in (core.get("versions") or [])[:1]]
    groups = conn.checked(conn.get("/apis"), "GET /apis").json() or {}
    for group in groups.get("groups") or []:
        preferred = (group.get("preferredVersion") or {}).get("version")
        if preferred:
            versions.append((group.get("name", ""), preferred))
    notes: list[str] = []
    resources: list[ApiResource] = []
    for group, version in versions:
        path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        response = conn.checked(conn.get(path), f"GET {path}")
        if response.status != 200:
            notes.append(
                f"discovery of {path} failed ({response.status} {_status_reason(response)}); its resources are not listed"
            )
            continue
        for res in (response.json() or {}).get("resources") or []:
            if not isinstance(res, dict) or "/" in str(res.get("name")) or "list" not in (res.get("verbs") or []):
                continue
            resources.append(ApiResource(group, version, res["name"], res.get("kind", ""), bool(res.get("namespaced"))))
    return resources, notes


def select_resources(resources: list[ApiResource], include: Iterable[str], exclude: Iterable[str]) -> list[ApiResource]:
    include, exclude = list(include), list(exclude)
    chosen = [r for r in resources if not include or any(r.matches(n) for n in include)]
    return [r for r in chosen if not any(r.matches(n) for n in exclude)]


def unknown_kinds(resources: list[ApiResource], names: Iterable[str]) -> list[str]:
    return [n for n in names if not any(r.matches(n) for r in resources)]


# ---------------------------------------------------------------- listing


@dataclass
class ListResult:
    resource: ApiResource
    namespace: str | None
    items: list[dict] = field(default_factory=list)
    error: dict | None = None
    notes: list[str] = field(default_factory=list)


def list_resource(
    conn: Connection,
    resource: ApiResource,
    namespace: str | None = None,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    selector: str | None = None,
    field_selector: str | None = None,
) -> ListResult:
    """Every object of one resource (in one namespace, or all), page by page.

    An expired continue token (410) restarts the list once from the beginning:
    the token the server offers instead would give an inconsistent list.
    """
    result = ListResult(resource, namespace)
    accept = METADATA_ACCEPT if resource.metadata_only else JSON
    path = resource.path(namespace)
    restarted = False
    token = ""
    while True:
        query = {"limit": str(chunk_size)} if chunk_size else {}
        if selector:
            query["labelSelector"] = selector
        if field_selector:
            query["fieldSelector"] = field_selector
        if token:
            query["continue"] = token
        response = conn.checked(conn.get(path, query, accept=accept), f"GET {path}")
        if response.status == 410 and token and not restarted:
            restarted = True
            token = ""
            result.items.clear()
            result.notes.append(f"{_where(resource, namespace)}: the continue token expired (410 Gone); the list was restarted")
            continue
        if response.status != 200:
            result.error = {"status": response.status, "reason": _status_reason(response)}
            message = _status_message(response)
            if message:
                result.error["message"] = message
            result.items.clear()
            return result
        body = response.json()
        if not isinstance(body, dict):
            result.error = {"status": response.status, "reason": "InvalidResponse"}
            return result
        for item in body.get("items") or []:
            if isinstance(item, dict):
                result.items.append(_typed(item, resource))
        token = (body.get("metadata") or {}).get("continue") or ""
        if not token:
            return result


def _typed(item: dict, resource: ApiResource) -> dict:
    """List items lack apiVersion and kind (metadata-only ones say PartialObjectMetadata)."""
    item["apiVersion"] = resource.api_version
    item["kind"] = resource.kind
    return {"apiVersion": item.pop("apiVersion"), "kind": item.pop("kind"), **item}


def _where(resource: ApiResource, namespace: str | None) -> str:
    name = f"{resource.resource}.{resource.group}" if resource.group else resource.resource
    return f"{name} in namespace {namespace}" if namespace else name


def _status_reason(response: Response) -> str:
    body = response.json()
    if isinstance(body, dict) and isinstance(body.get("reason"), str) and body["reason"]:
        return body["reason"]
    return response.reason or {403: "Forbidden", 404: "NotFound", 410: "Expired"}.get(response.status, "Error")


def _status_message(response: Response) -> str:
    body = response.json()
    return body.get("message", "") if isinstance(body, dict) and isinstance(body.get("message"), str) else ""


# ---------------------------------------------------------------- the whole collection


def collect(options: CollectOptions, progress: Callable[[int, int, int], None] | None = None) -> Collection:
    """Discover, list everything in parallel, and build the ClusterInfo object.

    ``progress(done_lists, total_lists, objects)`` is called as lists finish.
    """
    conn = connect(options.kubeconfig, options.context, concurrency=options.concurrency, timeout=options.timeout)
    conn.limiter = RateLimiter(options.qps, options.burst)
    version = conn.checked(conn.get("/version"), "GET /version")
    if version.status == 403:
        raise ClusterError(f"{conn.name} may not read /version (403 Forbidden)")
    discovered, notes = discover(conn)
    for name in unknown_kinds(discovered, (*options.include_kinds, *options.exclude_kinds)):
        notes.append(f"no API resource is named {name!r}")
    chosen = select_resources(discovered, options.include_kinds, options.exclude_kinds)
    tasks = _tasks(chosen, options.namespaces)

    done = 0
    objects = 0
    lock = threading.Lock()

    def run(task: tuple[ApiResource, str | None, str | None]) -> ListResult:
        nonlocal done, objects
        resource, namespace, field_selector = task
        result = list_resource(
            conn, resource, namespace, chunk_size=options.chunk_size, selector=options.selector, field_selector=field_selector
        )
        with lock:
            done += 1
            objects += len(result.items)
            if progress is not None:
                progress(done, len(tasks), objects)
        return result

    if progress is not None:
        progress(0, len(tasks), 0)
    with ThreadPoolExecutor(max_workers=max(1, options.concurrency)) as pool:
        results = list(pool.map(run, tasks))
        typed = _secret_types(conn, pool, chosen, options) if options.typed_secrets else {}
        anonymous = [{"path": p, "status": conn.get(p, anonymous=True).status} for p in ANONYMOUS_PATHS]
        rules = list(pool.map(lambda ns: _rules_review(conn, ns), _rules_namespaces(options.namespaces)))

    collection = Collection(name=conn.name, server=conn.server)
    file = f"cluster:{conn.name}"
    entries: dict[ApiResource, dict[str, Any]] = {}
    for result in results:
        entry = entries.setdefault(result.resource, _entry(result.resource))
        collection.notes.extend(result.notes)
        if result.error is not None:
            entry.setdefault("errors", []).append(
                {**result.error, **({"namespace": result.namespace} if result.namespace else {})}
            )
            if result.error.get("status") != 403:
                collection.notes.append(
                    f"{_where(result.resource, result.namespace)}: listing failed "
                    f"({result.error['status'] or 'no answer'} {result.error['reason']}); its objects are not scanned"
                )
            continue
        entry["listed"] = entry.get("listed", 0) + len(result.items)
        if result.resource.metadata_only:
            for item in result.items:
                uid = (item.get("metadata") or {}).get("uid")
                if uid in typed:
                    item["type"] = typed[uid]
        collection.resources.extend(Resource(item, file, 0, 0) for item in result.items)
    resources_info = []
    for entry in entries.values():
        errors = entry.pop("errors", None)
        if errors:
            entry["error"] = errors[0] if len(errors) == 1 else {**errors[0], "count": len(errors)}
        resources_info.append(entry)
    collection.info = {
        "apiVersion": CLUSTER_INFO_API,
        "kind": CLUSTER_INFO_KIND,
        "metadata": {"name": conn.name},
        "server": conn.server,
        "collectedAt": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "version": version.json() if version.status == 200 else None,
        "namespaces": list(options.namespaces) or None,
        "anonymous": anonymous,
        "selfSubjectRules": rules,
        "resources": resources_info,
    }
    collection.notes[:0] = notes
    collection.resources.insert(0, Resource(collection.info, file, 0, 0))
    collection.requests = conn.count
    return collection


def _entry(resource: ApiResource) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "group": resource.group,
        "version": resource.version,
        "resource": resource.resource,
        "kind": resource.kind,
        "namespaced": resource.namespaced,
    }
    if resource.metadata_only:
        entry["metadataOnly"] = True
    return entry


def _tasks(resources: list[ApiResource], namespaces: tuple[str, ...]) -> list[tuple[ApiResource, str | None, str | None]]:
    """One list per resource; with -n, one per namespace, and the Namespaces named.

    Cluster-scoped kinds other than Namespace are not listed in a namespaced scan.
    """
    if not namespaces:
        return [(r, None, None) for r in resources]
    tasks: list[tuple[ApiResource, str | None, str | None]] = []
    for r in resources:
        if r.namespaced:
            tasks += [(r, ns, None) for ns in namespaces]
        elif r.group == "" and r.resource == "namespaces":
            tasks += [(r, None, f"metadata.name={ns}") for ns in namespaces]
    return tasks


def _secret_types(
    conn: Connection, pool: ThreadPoolExecutor, chosen: list[ApiResource], options: CollectOptions
) -> dict[str, str]:
    """uid -> type for the Secrets of the types checks care about (metadata only, by field selector)."""
    secrets = next((r for r in chosen if r.group == "" and r.resource == "secrets"), None)
    if secrets is None:
        return {}
    namespaces: tuple[str | None, ...] = options.namespaces or (None,)
    jobs = [(t, ns) for t in TYPED_SECRET_LISTS for ns in namespaces]
    found: dict[str, str] = {}

    def run(job):
        kind, ns = job
        return kind, list_resource(
            conn, secrets, ns, chunk_size=options.chunk_size, selector=options.selector, field_selector=f"type={kind}"
        )

    for kind, result in pool.map(run, jobs):
        for item in result.items:
            uid = (item.get("metadata") or {}).get("uid")
            if uid:
                found[uid] = kind
    return found


def _rules_namespaces(namespaces: tuple[str, ...]) -> list[str]:
    # the rules in one namespace include every cluster-wide grant; "default" always exists
    return list(namespaces[:MAX_RULES_NAMESPACES]) or ["default"]


def _rules_review(conn: Connection, namespace: str) -> dict[str, Any]:
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "spec": {"namespace": namespace}}
    response = conn.request("POST", RULES_REVIEW_PATH, body=body)
    answer = response.json()
    if response.status not in (200, 201) or not isinstance(answer, dict):
        return {"namespace": namespace, "error": {"status": response.status, "reason": _status_reason(response)}}
    status = answer.get("status") or {}
    return {
        "namespace": namespace,
        "resourceRules": status.get("resourceRules") or [],
        "nonResourceRules": status.get("nonResourceRules") or [],
        "incomplete": bool(status.get("incomplete")),
        "evaluationError": status.get("evaluationError") or "",
    }


# ---------------------------------------------------------------- snapshots

SNAPSHOT_HEAD = b'{"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},"items":[\n'


def snapshot_bytes(objects: Iterable[dict]) -> bytes:
    """A JSON List with one object per line: `kubeward scan` reads it with orjson and
    gives a finding the line of its object without indexing the file."""
    return SNAPSHOT_HEAD + b",\n".join(orjson.dumps(o) for o in objects) + b"\n]}\n"


def write_snapshot(path: str, objects: Iterable[dict]) -> None:
    """Write a snapshot; gzip-compressed when the name ends in .gz."""
    import gzip

    data = snapshot_bytes(objects)
    if path.endswith(".gz"):
        data = gzip.compress(data, compresslevel=6, mtime=0)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def info_kubernetes_version(info: Any) -> tuple[int, int] | None:
    """(1, 28) from a ClusterInfo's /version body ("minor" may read "28+" on managed clusters)."""
    version = info.get("version") if isinstance(info, dict) else None
    if not isinstance(version, dict):
        return None
    major, minor = str(version.get("major", "")), str(version.get("minor", "")).rstrip("+")
    return (int(major), int(minor)) if major.isdigit() and minor.isdigit() else None


def snapshot_kubernetes_version(paths: Iterable[str]) -> tuple[int, int] | None:
    """The cluster version recorded in the first snapshot among ``paths`` (its first item
    is the ClusterInfo, on line 2), reading only the start of the file."""
    import gzip

    for path in paths:
        if not path.endswith((".json", ".json.gz")) or not os.path.isfile(path):
            continue
        try:
            with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as fh:
                head = fh.readline(len(SNAPSHOT_HEAD) + 1)
                if head != SNAPSHOT_HEAD:
                    continue
                line = fh.readline(1024 * 1024).rstrip().rstrip(b",")
            item = orjson.loads(line)
        except (OSError, EOFError, ValueError):
            continue
        if isinstance(item, dict) and item.get("kind") == CLUSTER_INFO_KIND and item.get("apiVersion") == CLUSTER_INFO_API:
            return info_kubernetes_version(item)
    return None
