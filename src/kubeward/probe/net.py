"""The only code that touches the network: one bounded HTTP(S) request.

Stdlib `http.client` + `ssl` rather than an HTTP library: the prober needs the
raw TLS outcome (a server that demands a client certificate answers with a
TLS alert, which is the evidence), the peer certificate without verifying it,
no proxies taken from the environment, no redirects, no cookies and no
credential helpers — the defaults a general client brings would have to be
switched off one by one, and a missed one would change what is probed.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

from .. import __version__

USER_AGENT = f"kubeward-probe/{__version__}"
MAX_BODY = 256 * 1024  # enough to recognise a PodList; never read a whole kubelet /metrics

# OpenSSL reasons meaning "the server wants a client certificate": TLS 1.3
# certificate_required (116), and what TLS 1.2 servers send instead.
CLIENT_CERT_REASONS = frozenset(
    {
        "TLSV13_ALERT_CERTIFICATE_REQUIRED",
        "SSLV3_ALERT_BAD_CERTIFICATE",
        "SSLV3_ALERT_HANDSHAKE_FAILURE",
        "TLSV1_ALERT_ACCESS_DENIED",
    }
)
# ... and "this port does not speak TLS" (a plain HTTP server answered our ClientHello).
NOT_TLS_REASONS = frozenset(
    {"WRONG_VERSION_NUMBER", "HTTP_REQUEST", "PACKET_LENGTH_TOO_LONG", "RECORD_LAYER_FAILURE", "UNKNOWN_PROTOCOL"}
)


@dataclass(slots=True)
class TlsInfo:
    version: str
    cipher: str
    sha256: str
    subject: str = ""
    issuer: str = ""
    not_after: str = ""
    sans: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__slots__}


@dataclass(slots=True)
class Exchange:
    """One request and what came back. ``error`` is one of: refused, timeout,
    client-cert-required, not-tls, tls-error, not-http, reset, error (or None)."""

    method: str
    path: str
    scheme: str
    status: int | None = None
    content_type: str = ""
    body: bytes = b""
    truncated: bool = False
    error: str | None = None
    detail: str = ""
    elapsed: float = 0.0
    tls: TlsInfo | None = None

    def json(self) -> Any:
        if not self.body or self.truncated:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def text(self, limit: int = 200) -> str:
        return self.body[:limit].decode("utf-8", "replace").strip()

    def as_dict(self) -> dict:
        out: dict[str, Any] = {"method": self.method, "path": self.path, "scheme": self.scheme, "status": self.status}
        if self.error:
            out |= {"error": self.error, "detail": self.detail}
        if self.status is not None:
            out |= {"contentType": self.content_type, "body": self.text(300), "truncated": self.truncated}
        out["elapsedMs"] = round(self.elapsed * 1000, 1)
        return out


def tls_context() -> ssl.SSLContext:
    """TLS 1.2+, no verification (we record the certificate, not trust it), HTTP/1.1 via ALPN
    (etcd serves gRPC on the same port and would pick h2 otherwise), no client certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


_CONTEXT: ssl.SSLContext | None = None


def _ctx() -> ssl.SSLContext:
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = tls_context()
    return _CONTEXT


def describe_cert(der: bytes, sock: ssl.SSLSocket) -> TlsInfo:
    info = TlsInfo(version=sock.version() or "", cipher=(sock.cipher() or ("",))[0], sha256=hashlib.sha256(der).hexdigest())
    try:  # subject, issuer and expiry need an X.509 parser; cryptography is optional
        from cryptography import x509
    except ImportError:
        return info
    try:
        cert = x509.load_der_x509_certificate(der)
        info.subject = cert.subject.rfc4514_string()
        info.issuer = cert.issuer.rfc4514_string()
        info.not_after = cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            info.sans = [str(n.value) for n in ext][:20]
        except x509.ExtensionNotFound:
            pass
    except Exception:  # a malformed certificate is evidence too; keep the fingerprint
        pass
    return info


def classify(exc: BaseException) -> tuple[str, str]:
    """(error kind, detail) for an exception raised while connecting or talking."""
    if isinstance(exc, ssl.SSLError):
        reason = getattr(exc, "reason", None) or ""
        if reason in CLIENT_CERT_REASONS:
            return "client-cert-required", f"TLS alert: {reason.lower()}"
        if reason in NOT_TLS_REASONS:
            return "not-tls", f"no TLS on this port ({reason.lower()})"
        return "tls-error", str(exc)
    if isinstance(exc, ConnectionRefusedError):
        return "refused", "connection refused"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timeout", "no answer within the timeout"
    if isinstance(exc, http.client.HTTPException):
        return "not-http", f"not an HTTP answer ({type(exc).__name__})"
    if isinstance(exc, socket.gaierror):
        return "error", f"cannot resolve host: {exc.strerror}"
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return "reset", "connection reset by the server"
    return "error", f"{type(exc).__name__}: {exc}"


def fetch(
    host: str,
    port: int,
    path: str,
    *,
    scheme: str,
    timeout: float,
    method: str = "GET",
    body: bytes | None = None,
    max_body: int = MAX_BODY,
) -> Exchange:
    """One unauthenticated request. `timeout` bounds the connect and each read;
    the whole exchange is bounded by 3 x timeout so a trickling server cannot hold us."""
    ex = Exchange(method, path, scheme)
    chunks: list[bytes] = []
    start = time.monotonic()
    deadline = start + 3 * timeout
    if scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(host, port, timeout=timeout, context=_ctx())
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.connect()
        if isinstance(conn.sock, ssl.SSLSocket):
            der = conn.sock.getpeercert(binary_form=True)
            if der:
                ex.tls = describe_cert(der, conn.sock)
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json, */*", "Connection": "close"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        ex.status = resp.status
        ex.content_type = resp.getheader("Content-Type", "") or ""
        size = 0
        while size < max_body:
            if time.monotonic() > deadline:
                ex.truncated = True
                break
            chunk = resp.read1(min(65536, max_body - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        else:
            ex.truncated = bool(resp.read1(1))
    except (OSError, http.client.HTTPException) as exc:
        if ex.status is None:
            ex.error, ex.detail = classify(exc)
        else:  # the status line arrived; a body cut short is still an answer
            ex.truncated = True
    finally:
        conn.close()
        ex.body = b"".join(chunks)
        ex.elapsed = time.monotonic() - start
    return ex
