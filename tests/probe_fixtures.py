"""Test-side infrastructure for the probe tests: a throwaway PKI, threaded
HTTP(S) stub servers, and a real etcd started on loopback."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from pki import Pki, make_pki  # noqa: F401 (re-exported for the probe and node tests)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- stub HTTP(S) servers ------------------------------------------------------

# path -> (status, content type, body bytes); or a callable(method, path) -> that tuple
Route = tuple[int, str, bytes]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # TLS failures from probes are expected
        pass


class StubServer:
    """A threaded stdlib HTTP server on loopback answering canned responses,
    over TLS (self-signed, `pki` server certificate) or in clear. Records requests."""

    def __init__(self, routes: dict[str, Route] | Callable[[str, str], Route], *, pki: Pki | None = None, port: int = 0):
        self.routes = routes
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                outer.requests.append((self.command, self.path, dict(self.headers)))
                if callable(outer.routes):
                    status, ctype, body = outer.routes(self.command, self.path)
                else:
                    status, ctype, body = outer.routes.get(self.path, (404, "text/plain", b"404 page not found\n"))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.httpd = _QuietServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        if pki is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(pki.server_cert, pki.server_key)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True, do_handshake_on_connect=False)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> StubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def json_route(status: int, body) -> Route:
    return status, "application/json", json.dumps(body).encode()


# -- real etcd -----------------------------------------------------------------

ETCD = shutil.which("etcd")


def require_etcd(module_globals: dict) -> None:
    """For test modules that start etcd: in CI a missing etcd is an error, never a skip;
    elsewhere the module is skipped."""
    if ETCD is not None:
        return
    if os.environ.get("CI"):
        raise RuntimeError("etcd is not installed (apt-get install etcd-server; scripts/test does it when root)")
    import pytest

    module_globals["pytestmark"] = pytest.mark.skip(reason="etcd is not installed (apt-get install etcd-server)")


class Etcd:
    """A single-member etcd on loopback with free ports and its own data dir.
    `pki` given: TLS with client-certificate authentication."""

    def __init__(
        self, workdir: Path, *, pki: Pki | None = None, client_cert_auth: bool = True, timeout: float = 10.0, port: int = 0
    ):
        assert ETCD, "etcd is not installed"
        self.workdir, self.pki, self.timeout = workdir, pki, timeout
        self.client_port, self.peer_port = port or free_port(), free_port()
        scheme = "https" if pki else "http"
        self.client_url = f"{scheme}://127.0.0.1:{self.client_port}"
        peer = f"http://127.0.0.1:{self.peer_port}"
        self.args = [
            ETCD,
            "--name=probe-test",
            f"--data-dir={workdir / 'data'}",
            f"--listen-client-urls={self.client_url}",
            f"--advertise-client-urls={self.client_url}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=probe-test={peer}",
            "--log-level=error",
        ]
        if pki:
            self.args += [f"--cert-file={pki.server_cert}", f"--key-file={pki.server_key}"]
            if client_cert_auth:
                self.args += ["--client-cert-auth", f"--trusted-ca-file={pki.ca}"]
        self.proc: subprocess.Popen | None = None
        self.log = workdir / "etcd.log"

    def __enter__(self) -> Etcd:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD")}  # no ETCD_* settings from outside
        self.proc = subprocess.Popen(self.args, stdout=self.log.open("wb"), stderr=subprocess.STDOUT, env=env)
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _client_context(self) -> ssl.SSLContext | None:
        if not self.pki:
            return None
        ctx = ssl.create_default_context(cafile=str(self.pki.ca))
        ctx.load_cert_chain(self.pki.client_cert, self.pki.client_key)
        return ctx

    def _wait_ready(self) -> None:
        """Poll /health (with the client certificate when TLS) until etcd says so."""
        import urllib.request

        deadline = time.monotonic() + self.timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"etcd exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.client_url}/health", timeout=1, context=self._client_context()) as r:
                    if json.loads(r.read()).get("health") == "true":
                        return
            except Exception as exc:  # not up yet
                last = exc
            time.sleep(0.05)
        raise TimeoutError(f"etcd not ready after {self.timeout}s ({last}): {self.log.read_text()[-2000:]}")

    def put(self, key: bytes, value: bytes) -> None:
        """Write a key through the gRPC gateway (with the client certificate when TLS)."""
        import base64
        import urllib.request

        body = json.dumps({"key": base64.b64encode(key).decode(), "value": base64.b64encode(value).decode()}).encode()
        req = urllib.request.Request(f"{self.client_url}/v3/kv/put", data=body, method="POST")
        with urllib.request.urlopen(req, timeout=5, context=self._client_context()) as r:
            r.read()

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
