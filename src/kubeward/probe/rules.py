"""Exposure rules: pure functions from an Observation to evidence lines.

They are not manifest checks (nothing here reads a Resource); they have their
own registry and ids KW-X001…, and share only Severity with the checks.

HTTP semantics, as the components give them:
- kube-apiserver: 401 = the request was not authenticated, i.e. anonymous
  authentication is off (``--anonymous-auth=false``). 403 = the request WAS
  authenticated, as ``system:anonymous`` (group ``system:unauthenticated``),
  and RBAC denied it: anonymous auth is on, this path is closed. 200 = open.
  Default clusters answer /version, /healthz, /livez, /readyz with 200 to
  anonymous users (ClusterRole ``system:public-info-viewer``).
- kubelet (10250): 401 "Unauthorized" = anonymous auth off; 403
  "Forbidden (user=system:anonymous, verb=..., resource=nodes, subresource=proxy)"
  = anonymous auth on, the authorizer (Webhook) denied; 200 = anonymous auth on
  and authorization ``AlwaysAllow``: the whole kubelet API (exec, run, logs) is open.
- kubelet read-only port (10255): no authentication at all; any answer = exposed.
- etcd: no client certificate demanded = anyone who reaches the port is a
  client; the gRPC gateway's /v3/kv/range answering = the keyspace is readable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..model import Severity
from .net import Exchange
from .observe import Observation
from .targets import Target

ID_PATTERN = re.compile(r"KW-X\d{3}")


@dataclass(frozen=True, slots=True)
class ProbeRule:
    id: str
    service: str
    title: str
    severity: Severity
    remediation: str
    refs: dict[str, str]
    fn: Callable[[Observation], Iterable[str]]


@dataclass(frozen=True, slots=True)
class ProbeFinding:
    rule: ProbeRule
    target: Target
    evidence: tuple[str, ...]

    def as_dict(self) -> dict:
        r = self.rule
        return {
            "id": r.id,
            "severity": str(r.severity),
            "title": r.title,
            "service": r.service,
            "host": self.target.host,
            "port": self.target.port,
            "evidence": list(self.evidence),
            "remediation": r.remediation,
            "refs": r.refs,
        }


RULES: dict[str, ProbeRule] = {}


def rule(*, id: str, service: str, title: str, severity: Severity, remediation: str, refs: dict[str, str] | None = None):
    if not ID_PATTERN.fullmatch(id) or id in RULES:
        raise ValueError(f"probe rule id {id!r} must be a new KW-X000")

    def register(fn: Callable[[Observation], Iterable[str]]):
        RULES[id] = ProbeRule(id, service, title, severity, remediation, dict(refs or {}), fn)
        return fn

    return register


def evaluate(obs: Observation) -> list[ProbeFinding]:
    """The findings on one observation (nothing when no HTTP answer came)."""
    if obs.scheme is None:
        return []
    out = []
    for r in RULES.values():
        if r.service == obs.target.service:
            evidence = tuple(r.fn(obs))
            if evidence:
                out.append(ProbeFinding(r, obs.target, evidence))
    return out


# -- recognising answers ---------------------------------------------------


def _obj(ex: Exchange | None) -> dict:
    data = ex.json() if ex is not None else None
    return data if isinstance(data, dict) else {}


_KIND = re.compile(rb'^\s*\{\s*"kind"\s*:\s*"(\w+)"')


def _kind(ex: Exchange | None) -> str:
    """The object's kind; for a body cut at the size cap (a node's /pods can be megabytes),
    the leading "kind" field, which Kubernetes serializers write first."""
    if ex is None:
        return ""
    kind = _obj(ex).get("kind")
    if isinstance(kind, str):
        return kind
    m = _KIND.match(ex.body[:256]) if ex.truncated else None
    return m.group(1).decode() if m else ""


def _ok(ex: Exchange | None) -> bool:
    return ex is not None and ex.status == 200


def _line(ex: Exchange, what: str = "") -> str:
    tail = f": {what}" if what else ""
    return f"{ex.method} {ex.path} -> {ex.status}{tail}"


def _items(ex: Exchange) -> str:
    items = _obj(ex).get("items")
    if isinstance(items, list):
        return f"{_kind(ex)} with {len(items)} item{'s' * (len(items) != 1)}"
    return f"{_kind(ex)} (body over {len(ex.body) // 1024} KiB, not counted)" if ex.truncated else _kind(ex)


def _status_message(ex: Exchange) -> str:
    msg = _obj(ex).get("message")
    return msg if isinstance(msg, str) else ex.text(160)


def is_anonymous_forbidden(ex: Exchange | None) -> bool:
    """403 for a request authenticated as system:anonymous (API server Status or kubelet text)."""
    return ex is not None and ex.status == 403 and "system:anonymous" in (_status_message(ex) or "")


def apiserver_recognised(obs: Observation) -> bool:
    if isinstance(_obj(obs.get("/version")).get("gitVersion"), str):
        return True
    return any(_kind(ex) in ("Status", "APIVersions", "APIGroupList", "PodList") for ex in obs.answered())


def kubelet_answer(ex: Exchange | None) -> bool:
    """An answer only a kubelet gives: its auth filter's texts, or a PodList."""
    if ex is None:
        return False
    if ex.status == 401:
        return ex.text().startswith("Unauthorized")
    if ex.status == 403:
        return ex.text().startswith("Forbidden (user=")
    return ex.status == 200 and _kind(ex) == "PodList"


def etcd_version(obs: Observation) -> str:
    v = _obj(obs.get("/version")).get("etcdserver")
    return v if _ok(obs.get("/version")) and isinstance(v, str) else ""


def dashboard_recognised(obs: Observation) -> bool:
    status = _obj(obs.get("/api/v1/login/status"))
    page = obs.get("/")
    return ("tokenPresent" in status and "httpsMode" in status) or (
        _ok(page) and b"<title>Kubernetes Dashboard</title>" in (page.body if page else b"")
    )


# -- API server --------------------------------------------------------------


@rule(
    id="KW-X001",
    service="apiserver",
    title="API server lists resources to anonymous users",
    severity=Severity.CRITICAL,
    remediation="Remove RBAC bindings to system:anonymous / system:unauthenticated, and set --anonymous-auth=false "
    "on kube-apiserver unless something needs it.",
    refs={"cis": "1.2.1", "mitre": "T1613"},
)
def apiserver_resources_open(obs: Observation):
    ex = obs.get("/api/v1/namespaces/default/pods")
    if _ok(ex) and _kind(ex) == "PodList":
        yield _line(ex, f"{_items(ex)}, without credentials")


@rule(
    id="KW-X002",
    service="apiserver",
    title="API server discovery open to anonymous users",
    severity=Severity.MEDIUM,
    remediation="Do not bind system:discovery or system:basic-user to system:unauthenticated; set --anonymous-auth=false.",
    refs={"cis": "1.2.1", "mitre": "T1613"},
)
def apiserver_discovery_open(obs: Observation):
    for path, kind in (("/api", "APIVersions"), ("/apis", "APIGroupList")):
        ex = obs.get(path)
        if _ok(ex) and _kind(ex) == kind:
            yield _line(ex, kind)


@rule(
    id="KW-X003",
    service="apiserver",
    title="API server version visible to anonymous users",
    severity=Severity.LOW,
    remediation="Tolerated by default (ClusterRole system:public-info-viewer); to hide it, set --anonymous-auth=false "
    "or unbind system:public-info-viewer from system:unauthenticated.",
    refs={"mitre": "T1592"},
)
def apiserver_version_leak(obs: Observation):
    ex = obs.get("/version")
    version = _obj(ex).get("gitVersion")
    if _ok(ex) and isinstance(version, str):
        yield _line(ex, f"gitVersion {version}")


@rule(
    id="KW-X004",
    service="apiserver",
    title="API server accepts anonymous requests (authenticated as system:anonymous)",
    severity=Severity.LOW,
    remediation="Set --anonymous-auth=false on kube-apiserver (then every unauthenticated request gets 401), or keep it "
    "for health checks and make sure no RBAC binding grants system:anonymous / system:unauthenticated more.",
    refs={"cis": "1.2.1", "mitre": "T1133"},
)
def apiserver_anonymous_auth(obs: Observation):
    denied = [ex for ex in obs.answered() if is_anonymous_forbidden(ex)]
    allowed = [ex for ex in obs.answered() if _ok(ex)]
    if not denied and not (allowed and apiserver_recognised(obs)):
        return
    for ex in denied:
        yield _line(ex, f"authenticated as system:anonymous, RBAC denied ({_status_message(ex)})")
    for ex in allowed:
        yield _line(ex, "answered without credentials")


@rule(
    id="KW-X005",
    service="apiserver",
    title="API server answers over plain HTTP",
    severity=Severity.CRITICAL,
    remediation="Serve only on the TLS port: remove --insecure-port / --insecure-bind-address (removed in v1.20) "
    "and any plain-HTTP proxy (kubectl proxy --address) in front of the API server.",
    refs={"mitre": "T1133"},
)
def apiserver_plain_http(obs: Observation):
    if obs.scheme == "http" and apiserver_recognised(obs):
        yield from (_line(ex, "over plain HTTP") for ex in obs.answered()[:3])


# -- kubelet -----------------------------------------------------------------


@rule(
    id="KW-X010",
    service="kubelet",
    title="kubelet API open to anonymous users",
    severity=Severity.CRITICAL,
    remediation="In the kubelet configuration set authentication.anonymous.enabled: false and "
    "authorization.mode: Webhook (flags --anonymous-auth=false --authorization-mode=Webhook).",
    refs={"cis": "4.2.2", "mitre": "T1609"},
)
def kubelet_open(obs: Observation):
    for path in ("/pods", "/runningpods/"):
        ex = obs.get(path)
        if _ok(ex) and _kind(ex) == "PodList":
            yield _line(ex, f"{_items(ex)}; exec and run are open too")


@rule(
    id="KW-X011",
    service="kubelet",
    title="kubelet accepts anonymous requests (authenticated as system:anonymous)",
    severity=Severity.LOW,
    remediation="Set authentication.anonymous.enabled: false in the kubelet configuration (--anonymous-auth=false); "
    "today only its authorizer stands between an anonymous client and the node.",
    refs={"cis": "4.2.1", "mitre": "T1133"},
)
def kubelet_anonymous_auth(obs: Observation):
    for ex in obs.answered():
        if is_anonymous_forbidden(ex) and kubelet_answer(ex):
            yield _line(ex, ex.text(160))


@rule(
    id="KW-X012",
    service="kubelet",
    title="kubelet metrics readable anonymously",
    severity=Severity.MEDIUM,
    remediation="Disable anonymous kubelet authentication and use authorization.mode: Webhook.",
    refs={"cis": "4.2.2", "mitre": "T1613"},
)
def kubelet_metrics_open(obs: Observation):
    ex = obs.get("/metrics")
    if _ok(ex) and b"# HELP" in ex.body and any(kubelet_answer(e) or _ok(e) for e in obs.answered() if e is not ex):
        yield _line(ex, "Prometheus metrics without credentials")


@rule(
    id="KW-X020",
    service="kubelet-readonly",
    title="kubelet read-only port is open",
    severity=Severity.HIGH,
    remediation="Set readOnlyPort: 0 in the kubelet configuration (--read-only-port=0); it has no authentication "
    "and serves every pod spec on the node, environment variables included.",
    refs={"cis": "4.2.4", "mitre": "T1613"},
)
def kubelet_readonly_open(obs: Observation):
    pods, health = obs.get("/pods"), obs.get("/healthz")
    if _ok(pods) and _kind(pods) == "PodList":
        yield _line(pods, f"{_items(pods)}, no authentication")
    if _ok(health) and health.text() == "ok" and (pods is None or pods.status in (200, 404)):
        yield _line(health, "ok")


# -- etcd --------------------------------------------------------------------


@rule(
    id="KW-X030",
    service="etcd",
    title="etcd key-value store readable without credentials",
    severity=Severity.CRITICAL,
    remediation="Require client certificates (--client-cert-auth=true --trusted-ca-file=...), serve TLS only, and "
    "bind the client port to the control-plane addresses; the keyspace holds every Secret in the cluster.",
    refs={"cis": "2.2", "mitre": "T1552"},
)
def etcd_readable(obs: Observation):
    ex = obs.get("/v3/kv/range")
    data = _obj(ex)
    if _ok(ex) and isinstance(data.get("header"), dict):
        yield _line(ex, f"count-only range over the whole keyspace allowed: {data.get('count', 0)} key(s); values not read")


@rule(
    id="KW-X031",
    service="etcd",
    title="etcd client port serves plain HTTP",
    severity=Severity.HIGH,
    remediation="Serve clients over TLS only: --listen-client-urls/--advertise-client-urls with https://, "
    "--cert-file, --key-file, --client-cert-auth=true.",
    refs={"cis": "2.1", "mitre": "T1557"},
)
def etcd_plain_http(obs: Observation):
    version = etcd_version(obs)
    if obs.scheme == "http" and version:
        yield _line(obs.get("/version"), f"etcd {version} over plain HTTP")


@rule(
    id="KW-X032",
    service="etcd",
    title="etcd accepts TLS clients without a client certificate",
    severity=Severity.HIGH,
    remediation="Set --client-cert-auth=true and --trusted-ca-file to the etcd client CA.",
    refs={"cis": "2.2", "mitre": "T1552"},
)
def etcd_no_client_cert(obs: Observation):
    version = etcd_version(obs)
    if obs.scheme == "https" and version:
        yield _line(obs.get("/version"), f"etcd {version}; TLS handshake completed without a client certificate")


# -- dashboard ---------------------------------------------------------------


@rule(
    id="KW-X040",
    service="dashboard",
    title="Kubernetes Dashboard reachable",
    severity=Severity.MEDIUM,
    remediation="Do not expose the Dashboard outside the cluster; reach it through kubectl port-forward or an "
    "authenticating proxy.",
    refs={"mitre": "T1133"},
)
def dashboard_reachable(obs: Observation):
    if not dashboard_recognised(obs):
        return
    for path in ("/", "/api/v1/login/status", "/api/v1/login/modes"):
        ex = obs.get(path)
        if _ok(ex):
            yield _line(ex, "login page" if path == "/" else ex.text(120))


@rule(
    id="KW-X041",
    service="dashboard",
    title="Kubernetes Dashboard login can be skipped",
    severity=Severity.HIGH,
    remediation="Remove --enable-skip-login: skipping acts with the Dashboard's own service account.",
    refs={"mitre": "T1078"},
)
def dashboard_skip_login(obs: Observation):
    ex = obs.get("/api/v1/login/skippable")
    if _ok(ex) and _obj(ex).get("skippable") is True:
        yield _line(ex, ex.text(80))


# -- verdicts ----------------------------------------------------------------

VERDICTS = ("exposed", "anonymous", "protected", "closed", "no answer", "unrecognised", "error")


def verdict(obs: Observation, findings: list[ProbeFinding]) -> tuple[str, str]:
    """(verdict, why) for one target: what the table's state column says."""
    if obs.scheme is None:
        if obs.error == "client-cert-required":
            return "protected", f"TLS requires a client certificate ({obs.detail})"
        if obs.error == "refused":
            return "closed", "connection refused"
        if obs.error == "timeout":
            return "no answer", obs.detail
        return "error", obs.detail
    worst = max((f.rule.severity for f in findings), default=None)
    if worst is not None and worst >= Severity.MEDIUM:
        return "exposed", f"{len(findings)} finding{'s' * (len(findings) != 1)}"
    answered = obs.answered()
    if any(is_anonymous_forbidden(ex) for ex in answered) or findings:
        return "anonymous", "anonymous requests are authenticated as system:anonymous; resources denied"
    if answered and all(ex.status == 401 for ex in answered) and _recognised(obs):
        return "protected", "every request answered 401: anonymous authentication is off"
    return "unrecognised", "answers do not look like " + obs.target.service


def _recognised(obs: Observation) -> bool:
    service = obs.target.service
    if service == "apiserver":
        return apiserver_recognised(obs)
    if service == "kubelet":
        return any(kubelet_answer(ex) for ex in obs.answered())
    if service == "etcd":
        return bool(etcd_version(obs))
    if service == "dashboard":
        return dashboard_recognised(obs)
    return False
