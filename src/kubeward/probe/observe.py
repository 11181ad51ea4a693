"""What each probe asks, and running the probes with bounded concurrency.

Every request is unauthenticated and read-only: GETs, plus one etcd range
request with ``count_only`` (it returns how many keys there are, never a key
or a value). Redirects are not followed and nothing found in an answer (node
addresses, endpoints) is ever contacted.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .net import Exchange, TlsInfo, fetch
from .targets import Target

# the whole keyspace: key "\0" with range_end "\0" means every key >= "\0"
_ALL_KEYS = base64.b64encode(b"\0").decode()
ETCD_COUNT = json.dumps({"key": _ALL_KEYS, "range_end": _ALL_KEYS, "count_only": True}).encode()

# (method, path, body) per service, in the order asked; the first one also finds out the scheme.
PLANS: dict[str, tuple[tuple[str, str, bytes | None], ...]] = {
    "apiserver": (
        ("GET", "/version", None),
        ("GET", "/api", None),
        ("GET", "/apis", None),
        ("GET", "/api/v1/namespaces/default/pods", None),
        ("GET", "/healthz", None),
    ),
    "kubelet": (("GET", "/healthz", None), ("GET", "/pods", None), ("GET", "/runningpods/", None), ("GET", "/metrics", None)),
    "kubelet-readonly": (("GET", "/healthz", None), ("GET", "/pods", None)),
    "etcd": (("GET", "/version", None), ("GET", "/health", None), ("POST", "/v3/kv/range", ETCD_COUNT)),
    "dashboard": (
        ("GET", "/", None),
        ("GET", "/api/v1/login/status", None),
        ("GET", "/api/v1/login/modes", None),
        ("GET", "/api/v1/login/skippable", None),
    ),
}


@dataclass(slots=True)
class Observation:
    """Everything seen on one target. ``scheme`` is None when no HTTP answer came
    (``error`` then says why: refused, timeout, client-cert-required, ...)."""

    target: Target
    scheme: str | None = None
    error: str | None = None
    detail: str = ""
    tls: TlsInfo | None = None
    exchanges: list[Exchange] = field(default_factory=list)

    def get(self, path: str) -> Exchange | None:
        for ex in self.exchanges:
            if ex.path == path and ex.status is not None:
                return ex
        return None

    def answered(self) -> list[Exchange]:
        return [ex for ex in self.exchanges if ex.status is not None]


Fetch = Callable[..., Exchange]


def observe(target: Target, *, timeout: float, fetcher: Fetch = fetch) -> Observation:
    """Run the target's plan: TLS first, plain HTTP when the port does not speak TLS."""
    obs = Observation(target)
    plan = PLANS[target.service]
    method, path, body = plan[0]
    first = fetcher(target.host, target.port, path, scheme="https", timeout=timeout, method=method, body=body)
    obs.exchanges.append(first)
    if first.error in ("not-tls", "tls-error", "not-http", "reset"):
        # no TLS here (etcd's port multiplexer hangs up on a ClientHello, or resets the
        # connection when the hello arrives in pieces): try plain HTTP.
        # A server demanding a client certificate sends a TLS alert instead (in TLS 1.3 on
        # the first read), so it is never retried in clear.
        plain = fetcher(target.host, target.port, path, scheme="http", timeout=timeout, method=method, body=body)
        obs.exchanges.append(plain)
        if plain.status is not None or first.error == "not-tls":
            first = plain
    obs.tls = next((ex.tls for ex in obs.exchanges if ex.tls), None)
    if first.status is None:
        obs.error, obs.detail = first.error, first.detail
        return obs
    obs.scheme = first.scheme
    for method, path, body in plan[1:]:
        obs.exchanges.append(
            fetcher(target.host, target.port, path, scheme=obs.scheme, timeout=timeout, method=method, body=body)
        )
    return obs


def observe_all(targets: Iterable[Target], *, timeout: float, concurrency: int, fetcher: Fetch = fetch) -> list[Observation]:
    """Observe targets, at most `concurrency` at a time; results in the targets' order.

    One target's requests are sequential, so a host never sees more than
    `concurrency` connections from us at once."""
    targets = list(targets)
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(targets) or 1))) as pool:
        return list(pool.map(lambda t: observe(t, timeout=timeout, fetcher=fetcher), targets))
