"""`kubeward audit serve`: the API server's audit webhook backend, received durably.

Flow of a batch (an ``EventList`` POSTed by kube-apiserver's webhook backend):

1. the HTTP handler checks authentication (client certificate via TLS, and/or a
   bearer token), parses and validates the events;
2. the spool writer thread appends them as JSON lines to the current spool file
   and ``fsync``\\ s (one fsync covers every batch queued meanwhile: group commit);
3. only then is the request answered 200: an acknowledged event is on disk;
4. the analyser thread reads the spool up to the fsync'd end, runs the rules, and
   commits: alerts appended to ``alerts.jsonl`` (fsync), then the checkpoint
   (spool file, offset, alerts.jsonl length) replaced atomically. Only after the
   commit are the alerts printed and POSTed to the alert webhook.

A restart truncates ``alerts.jsonl`` to the checkpoint and analyses the spool from
the checkpoint: the unanalysed tail is replayed exactly once. Batches the API server
re-sends (a 200 lost in a crash) are recognised by (auditID, stage) and skipped, so
an event is analysed once even when it is spooled twice. Overload is refused, never
dropped: 429 (Retry-After) when the analyser lags more than ``max_lag`` events or
the writer has too much queued; 503 when the spool cannot be written.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import os
import queue
import signal
import ssl
import sys
import threading
import time
import urllib.request
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from .events import decode_without_response, validate
from .rules import Alert, Detector
from .settings import AuditSettings

MAX_HEAD = 16 * 1024
CHECKPOINT = "checkpoint.json"
ALERTS = "alerts.jsonl"
PREFIX, SUFFIX = "spool-", ".jsonl"
SEEN = 200_000  # (auditID, stage) keys remembered against re-sent batches
STATUS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
          411: "Length Required", 413: "Content Too Large", 429: "Too Many Requests", 503: "Service Unavailable"}  # fmt: skip


@dataclass(slots=True)
class ReceiverSettings:
    cert: Path
    key: Path
    spool: Path
    host: str = "0.0.0.0"
    port: int = 8443
    client_ca: Path | None = None  # require client certificates signed by this CA
    token_file: Path | None = None  # require "Authorization: Bearer <token>"
    max_body: int = 64 * 1024 * 1024
    spool_file_bytes: int = 256 * 1024 * 1024  # rotate at this size
    spool_keep: int = 8  # analysed spool files kept
    max_lag: int = 1_000_000  # events spooled but not analysed before answering 429
    max_pending: int = 256 * 1024 * 1024  # bytes queued for the writer before answering 429
    alert_webhook: str | None = None
    alerts_stdout: bool = True
    audit: AuditSettings = field(default_factory=AuditSettings)


def _log(message: str, **fields: Any) -> None:
    sys.stderr.write(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "msg": message, **fields}) + "\n")
    sys.stderr.flush()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def spool_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob(f"{PREFIX}*{SUFFIX}") if p.name[len(PREFIX) : -len(SUFFIX)].isdigit())


def spool_name(index: int) -> str:
    return f"{PREFIX}{index:08d}{SUFFIX}"


def _index(path: Path | str) -> int:
    name = Path(path).name
    return int(name[len(PREFIX) : -len(SUFFIX)])


# -- metrics ------------------------------------------------------------------------------------------


class Metrics:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received = 0  # events acknowledged (spooled)
        self.batches: dict[int, int] = defaultdict(int)  # by HTTP status
        self.malformed = 0
        self.analysed = 0
        self.duplicates = 0
        self.alerts: dict[str, int] = defaultdict(int)
        self.webhook_failures = 0
        self.spooled_bytes = 0

    def render(self, lag: int) -> bytes:
        with self.lock:
            out = [
                "# HELP kubeward_audit_events_received_total Audit events acknowledged (spooled and fsync'd).",
                "# TYPE kubeward_audit_events_received_total counter",
                f"kubeward_audit_events_received_total {self.received}",
                "# HELP kubeward_audit_batches_total Batches (POSTs) answered, by HTTP status code.",
                "# TYPE kubeward_audit_batches_total counter",
                *(f'kubeward_audit_batches_total{{code="{c}"}} {n}' for c, n in sorted(self.batches.items())),
                "# HELP kubeward_audit_events_malformed_total Events in batches that were not valid audit.k8s.io/v1 Events.",
                "# TYPE kubeward_audit_events_malformed_total counter",
                f"kubeward_audit_events_malformed_total {self.malformed}",
                "# HELP kubeward_audit_events_analysed_total Events run through the detection rules.",
                "# TYPE kubeward_audit_events_analysed_total counter",
                f"kubeward_audit_events_analysed_total {self.analysed}",
                "# HELP kubeward_audit_events_duplicate_total Re-sent events (same auditID and stage) not analysed again.",
                "# TYPE kubeward_audit_events_duplicate_total counter",
                f"kubeward_audit_events_duplicate_total {self.duplicates}",
                "# HELP kubeward_audit_alerts_total Alerts raised, by rule.",
                "# TYPE kubeward_audit_alerts_total counter",
                *(f'kubeward_audit_alerts_total{{rule="{r}"}} {n}' for r, n in sorted(self.alerts.items())),
                "# HELP kubeward_audit_spool_lag_events Events spooled but not yet analysed.",
                "# TYPE kubeward_audit_spool_lag_events gauge",
                f"kubeward_audit_spool_lag_events {lag}",
                "# HELP kubeward_audit_alert_webhook_failures_total Alert batches the alert webhook did not accept.",
                "# TYPE kubeward_audit_alert_webhook_failures_total counter",
                f"kubeward_audit_alert_webhook_failures_total {self.webhook_failures}",
            ]
        return ("\n".join(out) + "\n").encode()


# -- the spool writer ---------------------------------------------------------------------------------


class SpoolWriter:
    """Appends batches to the current spool file and fsyncs, on its own thread (group commit)."""

    def __init__(self, directory: Path, file_bytes: int, metrics: Metrics):
        self.directory = directory
        self.file_bytes = file_bytes
        self.metrics = metrics
        self.queue: queue.Queue = queue.Queue()
        self.pending = 0  # bytes queued, not yet written
        self.events_written = 0  # since start
        self.failed: str | None = None
        self.durable = threading.Condition()
        self.durable_end: tuple[int, int] = (0, 0)  # (file index, offset) fsync'd
        files = spool_files(directory)
        self.index = _index(files[-1]) if files else 1
        path = directory / spool_name(self.index)
        self.handle = open(path, "ab")  # noqa: SIM115
        self._drop_partial_line(path)
        self.durable_end = (self.index, self.handle.tell())
        self.thread = threading.Thread(target=self._run, name="spool-writer", daemon=True)
        self.thread.start()

    def _drop_partial_line(self, path: Path) -> None:
        """A crash mid-write leaves a partial last line, never acknowledged: cut it off."""
        size = self.handle.seek(0, os.SEEK_END)
        if size == 0:
            return
        with open(path, "rb") as f:
            f.seek(max(0, size - (1 << 20)))
            tail = f.read()
        cut = tail.rfind(b"\n") + 1
        keep = size - len(tail) + cut
        if keep != size:
            self.handle.truncate(keep)
            self.handle.seek(keep)
            os.fsync(self.handle.fileno())
            _log("spool: dropped a partial line left by a crash", file=path.name, bytes=size - keep)

    def submit(self, data: bytes, count: int, done: Callable[[str | None], None]) -> None:
        self.pending += len(data)
        self.queue.put((data, count, done))

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            items = [item]
            with contextlib.suppress(queue.Empty):
                while len(items) < 1024:
                    nxt = self.queue.get_nowait()
                    if nxt is None:
                        self.queue.put(None)
                        break
                    items.append(nxt)
            error = self._write(items)
            for data, count, done in items:
                self.pending -= len(data)
                if error is None:
                    with self.metrics.lock:
                        self.metrics.received += count
                        self.metrics.spooled_bytes += len(data)
                done(error)

    def _write(self, items: list) -> str | None:
        try:
            for data, count, _ in items:
                if self.handle.tell() and self.handle.tell() + len(data) > self.file_bytes:
                    self._rotate()
                self.handle.write(data)
                self.events_written += count
            self.handle.flush()
            os.fsync(self.handle.fileno())
        except OSError as exc:
            self.failed = str(exc)
            _log("spool: write failed", error=str(exc))
            with contextlib.suppress(OSError):  # keep the file at its last durable end
                self.handle.truncate(self.durable_end[1])
                self.handle.seek(self.durable_end[1])
            return str(exc)
        self.failed = None
        with self.durable:
            self.durable_end = (self.index, self.handle.tell())
            self.durable.notify_all()
        return None

    def _rotate(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        self.index += 1
        self.handle = open(self.directory / spool_name(self.index), "ab")  # noqa: SIM115
        _fsync_dir(self.directory)

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join(30)
        self.handle.close()


# -- the analyser ---------------------------------------------------------------------------------------


class Analyser:
    """Reads the spool from the checkpoint up to the durable end, runs the rules, commits."""

    def __init__(self, directory: Path, writer: SpoolWriter, settings: ReceiverSettings, metrics: Metrics):
        self.directory = directory
        self.writer = writer
        self.settings = settings
        self.metrics = metrics
        self.stop = threading.Event()
        self.events_analysed = 0  # since start (with writer.events_written: the lag)
        self.seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self.detector = Detector(settings.audit, self._collect)
        self.batch: list[Alert] = []
        self.outbox: queue.Queue = queue.Queue(maxsize=10000)
        self.index, self.offset, alerts_offset = self._load_checkpoint()
        self.alerts = open(directory / ALERTS, "ab")  # noqa: SIM115
        self.alerts.truncate(alerts_offset)  # alerts of an uncommitted chunk: they are raised again
        self.alerts.seek(alerts_offset)
        self._remember_analysed()
        self.thread = threading.Thread(target=self._run, name="analyser", daemon=True)
        self.webhook_thread = threading.Thread(target=self._deliver, name="alert-webhook", daemon=True)

    def start(self) -> None:
        self.thread.start()
        if self.settings.alert_webhook:
            self.webhook_thread.start()

    def _load_checkpoint(self) -> tuple[int, int, int]:
        path = self.directory / CHECKPOINT
        try:
            data = json.loads(path.read_text())
            return _index(data["file"]), int(data["offset"]), int(data["alerts_offset"])
        except FileNotFoundError:
            files = spool_files(self.directory)
            return (_index(files[0]) if files else self.writer.index), 0, 0
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: unreadable checkpoint ({exc}); move it away to re-analyse the whole spool") from None

    def _remember_analysed(self) -> None:
        """Rebuild the (auditID, stage) memory from the analysed part of the current spool file."""
        path = self.directory / spool_name(self.index)
        if not path.exists() or not self.offset:
            return
        with open(path, "rb") as f:
            data = f.read(self.offset)
        for line in data.splitlines()[-SEEN:]:
            with contextlib.suppress(orjson.JSONDecodeError, KeyError, TypeError):
                ev = orjson.loads(line)
                self.seen[(ev["auditID"], ev["stage"])] = None

    def lag(self) -> int:
        return max(0, self.writer.events_written - self.events_analysed)

    def _collect(self, alert: Alert) -> None:
        self.batch.append(alert)

    def _run(self) -> None:
        handle = None
        try:
            while not self.stop.is_set():
                with self.writer.durable:
                    end_index, end_offset = self.writer.durable_end
                    if (self.index, self.offset) == (end_index, end_offset):
                        self.writer.durable.wait(0.2)
                        continue
                if handle is None:
                    handle = open(self.directory / spool_name(self.index), "rb")  # noqa: SIM115
                    handle.seek(self.offset)
                limit = end_offset if self.index == end_index else os.fstat(handle.fileno()).st_size
                if self.offset >= limit:
                    if self.index < end_index:  # this file is complete: on to the next
                        handle.close()
                        handle = None
                        self.index += 1
                        self.offset = 0
                        self._commit()
                        self._prune()
                    continue
                data = handle.read(min(limit - self.offset, 4 << 20))
                cut = data.rfind(b"\n") + 1
                if cut == 0:
                    handle.seek(self.offset)
                    time.sleep(0.01)
                    continue
                if cut != len(data):
                    handle.seek(self.offset + cut)
                self._analyse(data[:cut])
                self.offset += cut
                self._commit()
        finally:
            if handle is not None:
                handle.close()

    def _analyse(self, data: bytes) -> None:
        process = self.detector.process
        seen = self.seen
        count = dup = 0
        for line in data.split(b"\n"):
            if not line:
                continue
            try:
                ev = decode_without_response(line)
            except orjson.JSONDecodeError:
                continue
            count += 1
            key = (ev.get("auditID"), ev.get("stage"))
            if key in seen:
                dup += 1
                continue
            seen[key] = None
            if len(seen) > SEEN:
                seen.popitem(last=False)
            process(ev)
        self.events_analysed += count
        with self.metrics.lock:
            self.metrics.analysed += count - dup
            self.metrics.duplicates += dup

    def _commit(self) -> None:
        """Alerts to alerts.jsonl (fsync), then the checkpoint (atomic replace), then out."""
        alerts, self.batch = self.batch, []
        if alerts:
            self.alerts.write(b"".join(orjson.dumps(a.to_dict()) + b"\n" for a in alerts))
            self.alerts.flush()
            os.fsync(self.alerts.fileno())
        state = {"file": spool_name(self.index), "offset": self.offset, "alerts_offset": self.alerts.tell()}
        tmp = self.directory / (CHECKPOINT + ".tmp")
        with open(tmp, "w") as f:
            json.dump(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.directory / CHECKPOINT)
        if not alerts:
            return
        with self.metrics.lock:
            for a in alerts:
                self.metrics.alerts[a.rule.id] += 1
        if self.settings.alerts_stdout:
            sys.stdout.buffer.write(b"".join(orjson.dumps(a.to_dict()) + b"\n" for a in alerts))
            sys.stdout.flush()
        if self.settings.alert_webhook:
            try:
                self.outbox.put_nowait([a.to_dict() for a in alerts])
            except queue.Full:
                with self.metrics.lock:
                    self.metrics.webhook_failures += 1

    def _prune(self) -> None:
        analysed = [p for p in spool_files(self.directory) if _index(p) < self.index]
        for path in analysed[: max(0, len(analysed) - self.settings.spool_keep)]:
            with contextlib.suppress(OSError):
                path.unlink()

    def _deliver(self) -> None:
        """POST alert batches to the alert webhook; a failing one is retried, then counted and dropped
        (they are in alerts.jsonl regardless)."""
        url = self.settings.alert_webhook or ""
        while True:
            batch = self.outbox.get()
            if batch is None:
                return
            body = orjson.dumps({"alerts": batch})
            for attempt in range(3):
                try:
                    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
                    with urllib.request.urlopen(request, timeout=10) as response:
                        if response.status < 300:
                            break
                except OSError as exc:
                    _log("alert webhook failed", error=str(exc), attempt=attempt + 1)
                time.sleep(0.5 * 2**attempt)
            else:
                with self.metrics.lock:
                    self.metrics.webhook_failures += 1

    def close(self) -> None:
        self.stop.set()
        self.thread.join(30)
        self.outbox.put(None)
        if self.webhook_thread.is_alive():
            self.webhook_thread.join(5)
        self.alerts.close()


# -- HTTP -------------------------------------------------------------------------------------------------


class Receiver:
    def __init__(self, settings: ReceiverSettings):
        self.settings = settings
        settings.spool.mkdir(parents=True, exist_ok=True)
        self.metrics = Metrics()
        self.writer = SpoolWriter(settings.spool, settings.spool_file_bytes, self.metrics)
        self.analyser = Analyser(settings.spool, self.writer, settings, self.metrics)
        self.stopping = False
        self.token = settings.token_file.read_text().strip().encode() if settings.token_file else None
        if settings.token_file and not self.token:
            raise ValueError(f"{settings.token_file}: empty token file")

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.settings.cert, self.settings.key)
        if self.settings.client_ca:
            ctx.load_verify_locations(cafile=str(self.settings.client_ca))
            ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 120)
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError, ssl.SSLError):
                    return
                keep = await self._request(head, reader, writer)
                if not keep:
                    return
        finally:
            with contextlib.suppress(Exception):
                if self.stopping:
                    # shutting down: drop the connection; a client that keeps an idle TLS
                    # connection open and never answers close_notify held the exit for 30 s
                    writer.transport.abort()
                else:
                    writer.close()
                    await writer.wait_closed()

    async def _request(self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, _version = lines[0].split(" ", 2)
        except ValueError:
            await self._respond(writer, 400, {"error": "bad request line"}, close=True)
            return False
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        close = headers.get("connection", "").lower() == "close"
        path = target.partition("?")[0]
        if method == "GET":
            if path in ("/healthz", "/readyz"):
                ok = path == "/healthz" or self.writer.failed is None
                await self._respond(writer, 200 if ok else 503, {"status": "ok" if ok else self.writer.failed}, close=close)
            elif path == "/metrics":
                await self._respond(writer, 200, self.metrics.render(self.analyser.lag()), close=close, text=True)
            else:
                await self._respond(writer, 404, {"error": "not found"}, close=close)
            return not close
        if method != "POST":
            await self._respond(writer, 405, {"error": "POST audit event batches"}, close=True)
            return False
        length = headers.get("content-length")
        if length is None or not length.isdigit():
            await self._respond(writer, 411, {"error": "Content-Length required"}, close=True)
            return False
        size = int(length)
        if size > self.settings.max_body:
            await self._respond(writer, 413, {"error": f"body over {self.settings.max_body} bytes"}, close=True)
            return False
        body = await reader.readexactly(size)
        if self.token is not None:
            auth = headers.get("authorization", "").encode()
            if not hmac.compare_digest(auth, b"Bearer " + self.token):
                await self._respond(writer, 401, {"error": "unauthorized"}, close=close)
                return not close
        if self.analyser.lag() > self.settings.max_lag or self.writer.pending > self.settings.max_pending:
            await self._respond(writer, 429, {"error": "overloaded: retry later"}, close=close, retry=True)
            return not close
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            await self._respond(writer, 400, {"error": "body is not JSON"}, close=close)
            return not close
        items = doc.get("items") if isinstance(doc, dict) and doc.get("kind") == "EventList" else [doc]
        if not isinstance(items, list):
            await self._respond(writer, 400, {"error": "expected an audit.k8s.io/v1 EventList"}, close=close)
            return not close
        good = [item for item in items if validate(item) is None]
        if len(good) != len(items):
            with self.metrics.lock:
                self.metrics.malformed += len(items) - len(good)
        if good:
            loop = asyncio.get_running_loop()
            done: asyncio.Future = loop.create_future()
            data = b"".join(orjson.dumps(item) + b"\n" for item in good)
            self.writer.submit(data, len(good), lambda error: loop.call_soon_threadsafe(_settle, done, error))
            error = await done
            if error is not None:
                await self._respond(writer, 503, {"error": "spool write failed"}, close=close, retry=True)
                return not close
        await self._respond(writer, 200, {"accepted": len(good), "malformed": len(items) - len(good)}, close=close)
        return not close

    async def _respond(self, writer, code: int, body, *, close: bool, text: bool = False, retry: bool = False) -> None:
        payload = body if isinstance(body, bytes) else orjson.dumps(body)
        kind = "text/plain; version=0.0.4" if text else "application/json"
        head = f"HTTP/1.1 {code} {STATUS.get(code, 'Error')}\r\nContent-Type: {kind}\r\nContent-Length: {len(payload)}\r\n"
        if retry:
            head += "Retry-After: 1\r\n"
        if close:
            head += "Connection: close\r\n"
        writer.write(head.encode() + b"\r\n" + payload)
        with self.metrics.lock:
            self.metrics.batches[code] += 1
        with contextlib.suppress(ConnectionError):
            await writer.drain()

    async def serve(self, ready: Callable[[int], None] | None = None) -> None:
        self.analyser.start()
        server = await asyncio.start_server(
            self.handle,
            self.settings.host,
            self.settings.port,
            ssl=self.ssl_context(),
            limit=MAX_HEAD,
            reuse_address=True,
            ssl_shutdown_timeout=2.0,  # a peer that never answers close_notify
        )
        port = server.sockets[0].getsockname()[1]
        _log("listening", host=self.settings.host, port=port, spool=str(self.settings.spool))
        if ready:
            ready(port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            # not on the main thread (a test or an embedding program runs us there): the
            # caller stops the server itself, so no handler is needed
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        async with server:
            await stop.wait()
        self.stopping = True
        _log("shutting down")
        self.writer.close()
        # let the analyser catch up with what was acknowledged, then stop it
        deadline = time.time() + 30
        while self.analyser.lag() and time.time() < deadline:
            await asyncio.sleep(0.05)
        self.analyser.close()


def _settle(future: asyncio.Future, error: str | None) -> None:
    if not future.done():
        future.set_result(error)


def run(settings: ReceiverSettings) -> None:
    import gc

    gc.set_threshold(50_000, 20, 20)  # decoded events make no cycles: collect far less often
    receiver = Receiver(settings)
    asyncio.run(receiver.serve())
