"""The webhook's HTTPS server: a lean HTTP/1.1 server on asyncio's Protocol API.

Why not a framework: a review costs ~0.15 ms of check evaluation, so parsing,
TLS and dispatch overhead decide the throughput; a Protocol that parses the
request head itself and evaluates synchronously in ``data_received`` does no
per-request task or stream allocation (see docs/admission.md for figures).
It also gives exact control over what matters for a webhook: the 3 MiB body
limit is enforced from Content-Length before the body is read (413), malformed
requests get 400 with a JSON body, timeouts per phase, TLS certificate hot
reload (an SNI callback hands each new handshake the current SSLContext), and
draining shutdown.

Endpoints: POST /validate, POST /mutate, GET /healthz, /readyz, /metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import os
import signal
import socket
import ssl
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from .evaluate import Evaluator, NamespaceLabels, start_namespace_poller
from .metrics import Metrics
from .policy import Policy, PolicyError, parse_policy_text
from .review import ReviewError, parse_review, request_uid, response_body

MAX_BODY = 3 * 1024 * 1024  # the API server's own request limit
MAX_HEAD = 16 * 1024
STATUS = {
    100: "Continue", 200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
    408: "Request Timeout", 411: "Length Required", 413: "Content Too Large", 415: "Unsupported Media Type",
    431: "Request Header Fields Too Large", 500: "Internal Server Error", 503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}  # fmt: skip


# -- logging ---------------------------------------------------------------------------------

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


class JsonLog:
    """One JSON object per line on stderr. Never given object contents, only identities."""

    def __init__(self, level: str = "info", stream=None):
        self.level = LEVELS[level]
        self.stream = stream or sys.stderr

    def __call__(self, level: str, msg: str, **fields: Any) -> None:
        if LEVELS[level] < self.level:
            return
        record = {"ts": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"), "level": level, "msg": msg, **fields}
        try:
            self.stream.write(orjson.dumps(record, default=str).decode() + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass


class _LogBridge(logging.Handler):
    """Python logging (evaluator warnings) into the JSON log."""

    def __init__(self, log: JsonLog):
        super().__init__()
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        self.log(
            record.levelname.lower() if record.levelname.lower() in LEVELS else "info", record.getMessage(), logger=record.name
        )


# -- settings and state ----------------------------------------------------------------------


@dataclass
class Settings:
    config: Path | None
    cert: Path
    key: Path
    host: str = "0.0.0.0"
    port: int = 8443
    own_namespace: str | None = None
    reload_interval: float = 1.0
    shutdown_grace: float = 25.0
    shutdown_delay: float = 0.0
    request_timeout: float = 10.0
    idle_timeout: float = 120.0
    log_level: str = "info"
    namespace_poll: float = 30.0


def _fingerprint(*paths: Path) -> tuple:
    out = []
    for p in paths:
        st = p.stat()
        out.append((st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(out)


def make_ssl_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.options |= ssl.OP_NO_COMPRESSION
    ctx.set_alpn_protocols(["http/1.1"])
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


class App:
    def __init__(self, settings: Settings):
        self.s = settings
        self.log = JsonLog(settings.log_level)
        self.metrics = Metrics()
        self.labels = NamespaceLabels()
        self.evaluator = self._load_policy()
        self.metrics.policy_digest = self.evaluator.policy.digest
        self._failed_digest = ""
        self.tls = make_ssl_context(settings.cert, settings.key)
        self._tls_seen = _fingerprint(settings.cert, settings.key)
        # the listening context only dispatches: each handshake switches to the current one
        self.listen_tls = make_ssl_context(settings.cert, settings.key)
        self.listen_tls.sni_callback = self._sni
        self.connections: set[Connection] = set()
        self.draining = False
        self.ready = False
        self.today = dt.date.today()

    # -- policy and certificate reload --

    def _read_policy(self) -> tuple[str, str]:
        if self.s.config is None:
            from .policy import DEFAULT_POLICY

            return DEFAULT_POLICY, hashlib.sha256(DEFAULT_POLICY.encode()).hexdigest()
        text = self.s.config.read_text(encoding="utf-8")
        return text, hashlib.sha256(text.encode()).hexdigest()

    def _load_policy(self) -> Evaluator:
        text, _ = self._read_policy()
        policy = parse_policy_text(text, str(self.s.config or "<default>"), own_namespace=self.s.own_namespace)
        return Evaluator(policy, self.labels)

    def reload_policy(self) -> None:
        try:
            text, digest = self._read_policy()
        except (OSError, UnicodeDecodeError) as exc:
            if self._failed_digest != "unreadable":
                self.log("error", "policy unreadable; keeping the current one", error=str(exc))
                self.metrics.reloads[("policy", "error")] += 1
                self._failed_digest = "unreadable"
            return
        if digest in (self.evaluator.policy.digest, self._failed_digest) and dt.date.today() == self.today:
            return
        self.today = dt.date.today()  # a new day: recompile, so exemptions expire on time
        try:
            policy: Policy = parse_policy_text(text, str(self.s.config), own_namespace=self.s.own_namespace)
            evaluator = Evaluator(policy, self.labels)
        except PolicyError as exc:
            self._failed_digest = digest
            self.metrics.reloads[("policy", "rejected")] += 1
            self.log("error", "new policy rejected; the previous one keeps serving", error=str(exc), sha256=digest)
            return
        except Exception as exc:  # never let a reload take the server down
            self._failed_digest = digest
            self.metrics.reloads[("policy", "rejected")] += 1
            self.log("error", "new policy could not be compiled; the previous one keeps serving", error=repr(exc))
            return
        changed = digest != self.evaluator.policy.digest
        self.evaluator = evaluator  # one reference swap: requests in progress keep the old one
        self._failed_digest = ""
        self.metrics.policy_digest = digest
        if changed:
            self.metrics.reloads[("policy", "ok")] += 1
            self.log("info", "policy reloaded", sha256=digest, source=str(self.s.config))

    def reload_tls(self) -> None:
        try:
            seen = _fingerprint(self.s.cert, self.s.key)
        except OSError:
            return  # mid-rotation: try again at the next tick
        if seen == self._tls_seen:
            return
        try:
            ctx = make_ssl_context(self.s.cert, self.s.key)
        except (ssl.SSLError, OSError, ValueError) as exc:
            # a half-written rotation (new cert, old key) fails here; retried next tick
            self.log("warning", "certificate reload failed; keeping the current one", error=str(exc))
            self.metrics.reloads[("certificate", "error")] += 1
            return
        self.tls = ctx
        self._tls_seen = seen
        self.metrics.reloads[("certificate", "ok")] += 1
        self.log("info", "certificate reloaded", cert=str(self.s.cert))

    def _sni(self, sslobj, server_name, ctx) -> None:
        sslobj.context = self.tls
        return None

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(self.s.reload_interval)
            self.reload_tls()
            self.reload_policy()

    # -- request handling --

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, bytes, bytes]:
        """(status, content type, body) of one request; never raises."""
        route = path.split("?", 1)[0]
        if route in ("/validate", "/mutate"):
            if method != "POST":
                return self.error(405, f"{route} accepts POST only")
            return self.admission(route[1:], body)
        if method not in ("GET", "HEAD"):
            return self.error(405, f"{route} accepts GET only")
        if route == "/healthz":
            return 200, b"text/plain", b"ok\n"
        if route == "/readyz":
            if self.ready and not self.draining:
                return 200, b"text/plain", b"ok\n"
            return 503, b"text/plain", b"draining\n" if self.draining else b"starting\n"
        if route == "/metrics":
            return 200, b"text/plain; version=0.0.4; charset=utf-8", self.metrics.render()
        return self.error(404, f"no route {route}; use /validate, /mutate, /healthz, /readyz or /metrics")

    def error(self, code: int, message: str, uid: str | None = None) -> tuple[int, bytes, bytes]:
        self.metrics.errors[str(code)] += 1
        body: dict[str, Any] = {"error": message, "code": code}
        if uid:
            body["uid"] = uid
        return code, b"application/json", orjson.dumps(body)

    def admission(self, endpoint: str, body: bytes) -> tuple[int, bytes, bytes]:
        started = time.perf_counter()
        try:
            req = parse_review(body)
        except ReviewError as exc:
            uid = request_uid(body)
            self.log("warning", "malformed admission review", endpoint=endpoint, error=str(exc), uid=uid)
            return self.error(400, f"malformed AdmissionReview: {exc}", uid)
        evaluator = self.evaluator
        try:
            decision = evaluator.review(req, mutating=endpoint == "mutate")
            out = response_body(req.uid, decision, mutating=endpoint == "mutate")
        except Exception as exc:  # a bug must cost one request, not the worker
            self.log("error", "evaluation failed", uid=req.uid, error=repr(exc), kind=req.kind)
            return self.error(500, f"kubeward could not evaluate the request: {type(exc).__name__}", req.uid)
        label = decision.label
        for check in decision.denied_checks:
            self.metrics.denials[check] += 1
        for check in decision.warned_checks:
            self.metrics.warnings[check] += 1
        elapsed = time.perf_counter() - started
        self.metrics.observe(endpoint, req.operation, req.kind, label, elapsed)
        level = "info" if label in ("deny", "exempt") else "debug"
        if LEVELS[level] >= self.log.level:
            self.log(
                level,
                "admission",
                uid=req.uid,
                endpoint=endpoint,
                operation=req.operation,
                kind=req.kind,
                sub_resource=req.sub_resource or None,
                namespace=req.namespace,
                name=req.name,
                user=req.username,
                dry_run=req.dry_run,
                decision=label,
                denied=decision.denied_checks or None,
                warned=decision.warned_checks or None,
                patch_ops=len(decision.patch) if decision.patch else None,
                ms=round(elapsed * 1000, 3),
            )
        return 200, b"application/json", out


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection."""

    __slots__ = ("app", "transport", "buf", "head", "timer", "closing", "busy")

    def __init__(self, app: App):
        self.app = app
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.head: tuple[str, str, int, bool] | None = None  # method, path, content length, keep-alive
        self.timer: asyncio.TimerHandle | None = None
        self.closing = False
        self.busy = False  # part of a request received

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.app.connections.add(self)
        self._arm(self.app.s.idle_timeout)

    def connection_lost(self, exc) -> None:
        self.app.connections.discard(self)
        if self.timer:
            self.timer.cancel()

    def _arm(self, seconds: float) -> None:
        if self.timer:
            self.timer.cancel()
        self.timer = asyncio.get_running_loop().call_later(seconds, self._timeout)

    def _timeout(self) -> None:
        if self.busy:
            self._send(408, b"application/json", orjson.dumps({"error": "request timed out", "code": 408}), close=True)
        else:
            self.close()

    def close(self) -> None:
        self.closing = True
        if self.transport and not self.transport.is_closing():
            self.transport.close()

    def idle(self) -> bool:
        return not self.busy and not self.buf

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        if not self.busy:
            self.busy = True
            self._arm(self.app.s.request_timeout)
        self.buf += data
        while not self.closing:
            if self.head is None:
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(self.buf) > MAX_HEAD:
                        self._fail(431, "request head too large")
                    return
                if end > MAX_HEAD:
                    self._fail(431, "request head too large")
                    return
                head = bytes(self.buf[:end])
                del self.buf[: end + 4]
                if not self._parse_head(head):
                    return
            method, path, length, keep_alive = self.head  # type: ignore[misc]
            if len(self.buf) < length:
                return
            body = bytes(self.buf[:length])
            del self.buf[:length]
            self.head = None
            try:
                status, ctype, payload = self.app.handle(method, path, body)
            except Exception as exc:  # last resort: answer, keep the worker
                self.app.log("error", "request failed", error=repr(exc))
                status, ctype, payload = 500, b"application/json", b'{"error":"internal error","code":500}'
            close = not keep_alive or self.app.draining
            self._send(status, ctype, payload, close=close, head_only=method == "HEAD")
            if not self.buf:
                self.busy = False
                if not self.closing:
                    self._arm(self.app.s.idle_timeout)

    def _parse_head(self, head: bytes) -> bool:
        try:
            text = head.decode("latin-1")
            request_line, *lines = text.split("\r\n")
            method, path, version = request_line.split(" ")
        except ValueError:
            self._fail(400, "malformed request line")
            return False
        if version not in ("HTTP/1.1", "HTTP/1.0"):
            self._fail(505, f"unsupported protocol {version[:20]!r}")
            return False
        length = 0
        keep_alive = version == "HTTP/1.1"
        for line in lines:
            name, sep, value = line.partition(":")
            if not sep:
                self._fail(400, "malformed header line")
                return False
            name = name.strip().lower()
            value = value.strip()
            if name == "content-length":
                if not value.isdigit():
                    self._fail(400, "invalid Content-Length")
                    return False
                length = int(value)
            elif name == "transfer-encoding":
                self._fail(411, "chunked bodies are not accepted; send Content-Length")
                return False
            elif name == "connection":
                token = value.lower()
                if token == "close":
                    keep_alive = False
                elif token == "keep-alive":
                    keep_alive = True
            elif name == "expect" and value.lower() == "100-continue":
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if length > MAX_BODY:
            self._fail(413, f"body of {length} bytes exceeds the limit of {MAX_BODY} bytes")
            return False
        self.head = (method, path, length, keep_alive)
        return True

    def _fail(self, code: int, message: str) -> None:
        self.app.metrics.errors[str(code)] += 1
        self.app.log("warning", "bad http request", code=code, error=message)
        self._send(code, b"application/json", orjson.dumps({"error": message, "code": code}), close=True)

    def _send(self, status: int, ctype: bytes, payload: bytes, *, close: bool = False, head_only: bool = False) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        reason = STATUS.get(status, "Unknown").encode()
        head = b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n" % (
            status,
            reason,
            ctype,
            len(payload),
            b"Connection: close\r\n" if close else b"",
        )
        self.transport.write(head if head_only else head + payload)
        if close:
            self.closing = True
            self.transport.close()


async def serve(settings: Settings, *, started: asyncio.Event | None = None) -> None:
    app = App(settings)
    logging.getLogger("kubeward").addHandler(_LogBridge(app.log))
    logging.getLogger("kubeward").setLevel(LEVELS[settings.log_level])
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: Connection(app),
        settings.host,
        settings.port,
        ssl=app.listen_tls,
        reuse_address=True,
        backlog=1024,
        ssl_handshake_timeout=settings.request_timeout,
        ssl_shutdown_timeout=2.0,
    )
    for sock in server.sockets:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if app.evaluator.policy.namespace_labels:
        start_namespace_poller(app.labels, settings.namespace_poll)
    watcher = asyncio.create_task(app.watch())
    app.ready = True
    bound = [s.getsockname() for s in server.sockets]
    app.log(
        "info",
        "serving",
        addresses=[f"{a[0]}:{a[1]}" for a in bound],
        policy=str(settings.config or "<default>"),
        pid=os.getpid(),
    )
    if started is not None:
        started.set()
    await stop.wait()
    # Graceful shutdown: fail readiness, keep serving for shutdown_delay (endpoints
    # propagate), stop accepting, close idle connections, let requests in flight finish.
    app.draining = True
    app.log("info", "shutting down", delay=settings.shutdown_delay, connections=len(app.connections))
    if settings.shutdown_delay:
        await asyncio.sleep(settings.shutdown_delay)
    server.close()
    deadline = loop.time() + settings.shutdown_grace
    while loop.time() < deadline:
        for conn in list(app.connections):
            if conn.idle() and not conn.closing and conn.transport is not None:
                conn.closing = True
                conn.transport.abort()  # nothing to flush; no close_notify round trip to wait for
        if all(conn.closing for conn in app.connections):
            break  # every response is written; what is left is TLS close_notify
        await asyncio.sleep(0.02)
    linger = loop.time() + 1.0
    while app.connections and loop.time() < linger:
        await asyncio.sleep(0.02)
    for conn in list(app.connections):
        if conn.transport is not None:
            conn.transport.abort()  # peers that never answer close_notify
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    app.log("info", "stopped")


def run(settings: Settings) -> None:
    try:
        import uvloop  # optional: a faster event loop when installed

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    runner(serve(settings))
