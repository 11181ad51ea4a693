"""Shared helpers for the admission tests: certificates, reviews, a server process, an HTTPS client."""

from __future__ import annotations

import base64
import http.client
import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import orjson

from pki import ca_pem, issue
from pki import new_ca as make_ca  # noqa: F401 (the admission tests' name)

SRC = Path(__file__).resolve().parent.parent / "src"


def client_context(ca) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cadata=ca_pem(ca).decode())
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`kubeward admission serve` as a real process."""

    def __init__(self, tmp: Path, ca, policy: str | None, *extra: str, log_level: str = "info"):
        self.tmp = tmp
        self.ca = ca
        self.cert, self.key = issue(ca, tmp)
        self.policy = tmp / "policy.yaml"
        if policy is not None:
            self.policy.write_text(policy)
        self.port = free_port()
        self.log = tmp / "server.log"
        args = [
            sys.executable, "-m", "kubeward", "admission", "serve",
            "--tls-cert", str(self.cert), "--tls-key", str(self.key),
            "--host", "127.0.0.1", "--port", str(self.port),
            "--reload-interval", "0.1", "--log-level", log_level, *extra,
        ]  # fmt: skip
        if policy is not None:
            args += ["--config", str(self.policy)]
        env = {**os.environ, "PYTHONPATH": str(SRC), "POD_NAMESPACE": "kubeward-system"}
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.log.open("wb"), env=env)
        self.wait_ready()

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()}")
            try:
                status, _, _ = self.get("/readyz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server not ready: {self.log.read_text()}")

    def connection(self, ca=None) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=client_context(ca or self.ca), timeout=10)

    def get(self, path: str):
        conn = self.connection()
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def post(self, path: str, body: bytes, conn: http.client.HTTPSConnection | None = None, headers: dict | None = None):
        own = conn is None
        conn = conn or self.connection()
        try:
            conn.request("POST", path, body=body, headers={"Content-Type": "application/json", **(headers or {})})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            if own:
                conn.close()

    def review(self, review: dict, path: str = "/validate", conn=None) -> dict:
        status, body = self.post(path, orjson.dumps(review), conn)
        assert status == 200, (status, body)
        return orjson.loads(body)["response"]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def review(
    obj: dict | None,
    *,
    operation: str = "CREATE",
    old: dict | None = None,
    uid: str = "req-1",
    namespace: str | None = None,
    sub_resource: str | None = None,
    user: str = "alice",
    groups=("system:authenticated",),
    dry_run: bool = False,
) -> dict:
    source = obj or old or {}
    api_version = source.get("apiVersion", "v1")
    group, _, version = api_version.rpartition("/")
    kind = source.get("kind", "Pod")
    request = {
        "uid": uid,
        "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": group, "version": version, "resource": kind.lower() + "s"},
        "operation": operation,
        "namespace": namespace if namespace is not None else source.get("metadata", {}).get("namespace", "default"),
        "name": source.get("metadata", {}).get("name", ""),
        "userInfo": {"username": user, "groups": list(groups)},
        "object": obj,
        "oldObject": old,
        "dryRun": dry_run,
    }
    if sub_resource:
        request["subResource"] = sub_resource
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


def decode_patch(response: dict) -> list:
    assert response.get("patchType") == "JSONPatch"
    return orjson.loads(base64.b64decode(response["patch"]))


def pod(name: str = "web", namespace: str = "shop", **container) -> dict:
    c = {"name": "app", "image": "registry.example.com/app:1.0", **container}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace}, "spec": {"containers": [c]}}


def deployment(name: str = "web", namespace: str = "shop", *, spec_extra: dict | None = None, **container) -> dict:
    c = {"name": "app", "image": "registry.example.com/app:1.0", **container}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [c], **(spec_extra or {})}},
        },
    }


COMPLIANT_SC = {
    "allowPrivilegeEscalation": False,
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
