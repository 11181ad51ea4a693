"""Encryption at rest: the EncryptionConfiguration read as the API server reads it,
what etcd actually holds, and a fresh configuration.

The API server (k8s.io/apiserver encryptionconfig) takes, for each resource, the
first ``resources`` entry that names it (exactly, or by ``*.group`` / ``*.*``
wildcards); within that entry the *first* provider encrypts every write and
all providers are tried on reads. So ``identity`` first means new writes are
stored in plain text, whatever follows it. Values the API server encrypted
start with ``k8s:enc:<provider>:v1:<key name>:`` in etcd; plain ones do not.

No key material and no stored value is ever printed: reports carry key names,
lengths and etcd key paths only.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import os
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KINDS = ("identity", "aescbc", "aesgcm", "secretbox", "kms")
KEY_SIZES = {"aescbc": (16, 24, 32), "aesgcm": (16, 24, 32), "secretbox": (32,)}
STRONG = ("aescbc", "secretbox", "kms")  # CIS 1.2.28: aescbc, kms or secretbox
ENC_PREFIX = b"k8s:enc:"


@dataclass
class Provider:
    type: str  # identity | aescbc | aesgcm | secretbox | kms | unknown name
    name: str = ""  # KMS plugin name
    keys: list[str] = field(default_factory=list)  # key names (never the secrets)
    kms_version: str = ""  # v1 | v2 (kms only; v1 when apiVersion is absent)

    def label(self) -> str:
        if self.type == "kms":
            return f"kms {self.kms_version} ({self.name or '?'})"
        if self.keys:
            return f"{self.type} (key {self.keys[0]})"
        return self.type


@dataclass
class Rule:
    resources: list[str]
    providers: list[Provider]


@dataclass
class Issue:
    level: str  # fail | warn | info
    message: str


@dataclass
class EncryptionAnalysis:
    file: str
    rules: list[Rule] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    error: str | None = None  # the file could not be read at all

    def rule_for(self, resource: str, group: str = "") -> Rule | None:
        """The first entry covering ``resource`` of API ``group`` ("" = core), as the API server picks it."""
        qualified = f"{resource}.{group}" if group else resource
        for rule in self.rules:
            for name in rule.resources:
                if name in (qualified, "*.*") or (name == f"*.{group}" and group) or (name == "*." and not group):
                    return rule
                if not group and name == f"{resource}.":
                    return rule
        return None

    def writer(self, resource: str, group: str = "") -> Provider | None:
        rule = self.rule_for(resource, group)
        return rule.providers[0] if rule and rule.providers else None

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "error": self.error,
            "resources": [
                {"resources": r.resources, "providers": [p.label() for p in r.providers], "writes": r.providers[0].label()
                 if r.providers else None}
                for r in self.rules
            ],
            "issues": [{"level": i.level, "message": i.message} for i in self.issues],
        }


def _provider(entry: Any, where: str, issues: list[Issue]) -> Provider | None:
    if not isinstance(entry, dict) or len(entry) != 1:
        issues.append(Issue("fail", f"{where}: a provider must be a mapping with exactly one provider type"))
        return None
    (kind, body), = entry.items()
    if kind not in KINDS:
        issues.append(Issue("fail", f"{where}: unknown provider type {kind!r}"))
        return Provider(str(kind))
    p = Provider(kind)
    body = body if isinstance(body, dict) else {}
    if kind == "kms":
        p.name = str(body.get("name") or "")
        p.kms_version = str(body.get("apiVersion") or "v1")
        return p
    if kind == "identity":
        return p
    keys = body.get("keys")
    if not isinstance(keys, list) or not keys:
        issues.append(Issue("fail", f"{where}: {kind} has no keys"))
        return p
    for i, key in enumerate(keys):
        if not isinstance(key, dict):
            issues.append(Issue("fail", f"{where}: {kind} key {i + 1} is not a mapping"))
            continue
        name = str(key.get("name") or f"#{i + 1}")
        p.keys.append(name)
        secret = key.get("secret")
        try:
            raw = base64.b64decode(secret if isinstance(secret, str) else "", validate=True)
        except (binascii.Error, ValueError):
            issues.append(Issue("fail", f"{where}: {kind} key {name!r} is not valid base64"))
            continue
        if len(raw) not in KEY_SIZES[kind]:
            sizes = " or ".join(str(n) for n in KEY_SIZES[kind])
            issues.append(Issue("fail", f"{where}: {kind} key {name!r} is {len(raw)} bytes; it must be {sizes}"))
    return p


def analyse_config(obj: Any, file: str = "") -> EncryptionAnalysis:
    """Read an EncryptionConfiguration and judge what it does to secrets and configmaps."""
    result = EncryptionAnalysis(file)
    issues = result.issues
    if not isinstance(obj, dict) or obj.get("kind") not in ("EncryptionConfiguration", "EncryptionConfig"):
        result.error = "not an EncryptionConfiguration"
        return result
    entries = obj.get("resources")
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        where = f"resources[{i}]"
        if not isinstance(entry, dict):
            issues.append(Issue("fail", f"{where} is not a mapping"))
            continue
        names = [str(r) for r in entry.get("resources") or [] if isinstance(r, str)] if isinstance(
            entry.get("resources"), list) else []
        providers = [p for j, e in enumerate(entry.get("providers") if isinstance(entry.get("providers"), list) else [])
                     if (p := _provider(e, f"{where}.providers[{j}]", issues)) is not None]
        if not providers:
            issues.append(Issue("fail", f"{where} ({', '.join(names)}) has no providers"))
        result.rules.append(Rule(names, providers))
        for p in providers:
            if p.type == "kms" and p.kms_version != "v2":
                issues.append(Issue("warn", f"{where}: KMS v1 ({p.name or '?'}) is deprecated since Kubernetes 1.28 and "
                                            "disabled by default since 1.29; use a KMS v2 plugin (apiVersion: v2)"))
    for resource in ("secrets", "configmaps"):
        rule = result.rule_for(resource)
        writer = rule.providers[0] if rule and rule.providers else None
        if writer is None:
            level = "fail" if resource == "secrets" else "info"
            issues.append(Issue(level, f"{resource} are not listed: they are stored in plain text"))
        elif writer.type == "identity":
            others = [p.type for p in rule.providers[1:]]
            tail = f" ({', '.join(others)} only decrypt what was written before)" if others else ""
            issues.append(Issue("fail" if resource == "secrets" else "warn",
                                f"{resource}: identity is the first provider, so new writes are stored in plain text{tail}"))
        elif writer.type == "aesgcm":
            issues.append(Issue("warn", f"{resource}: aesgcm writes with a random nonce; its key must be rotated before "
                                        "2^32 writes and the upstream docs advise against it without automated key rotation"))
        elif writer.type == "aescbc":
            issues.append(Issue("info", f"{resource}: aescbc is accepted by CIS 1.2.28, but upstream prefers KMS v2 or "
                                        "secretbox (CBC is open to padding-oracle attacks); the key sits on the host"))
    return result


def load_config(path: Path) -> EncryptionAnalysis:
    from .effective import load_yaml_file

    obj, error = load_yaml_file(path)
    if error:
        return EncryptionAnalysis(str(path), error=error)
    return analyse_config(obj, str(path))


# -- what etcd holds -----------------------------------------------------------


class EtcdError(Exception):
    pass


@dataclass
class EtcdScan:
    endpoint: str
    prefix: str
    total: int = 0
    plain: list[str] = field(default_factory=list)  # keys whose values lack the k8s:enc: prefix
    encrypted: dict[str, int] = field(default_factory=dict)  # "aescbc:v1:key1" -> count

    def as_dict(self) -> dict:
        return {"endpoint": self.endpoint, "prefix": self.prefix, "keys": self.total, "plain": self.plain,
                "encrypted": self.encrypted}


def prefix_end(prefix: bytes) -> bytes:
    """The range end covering every key that starts with ``prefix`` (etcd's clientv3.GetPrefixRangeEnd)."""
    end = bytearray(prefix)
    for i in range(len(end) - 1, -1, -1):
        if end[i] < 0xFF:
            end[i] += 1
            return bytes(end[: i + 1])
    return b"\x00"


def _context(cacert: str | None, cert: str | None, key: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=cacert) if cacert else ssl.create_default_context()
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def scan_etcd(
    endpoint: str,
    *,
    cacert: str | None = None,
    cert: str | None = None,
    key: str | None = None,
    prefix: str = "/registry/secrets/",
    page: int = 500,
    timeout: float = 10.0,
) -> EtcdScan:
    """Read every key under ``prefix`` through etcd's v3 JSON gateway (``/v3/kv/range``) and sort
    them by whether the stored value carries the ``k8s:enc:`` prefix. Values are only inspected."""
    url = endpoint.rstrip("/") + "/v3/kv/range"
    https = endpoint.startswith("https://")
    try:
        ctx = _context(cacert, cert, key) if https else None
    except (OSError, ssl.SSLError) as exc:
        raise EtcdError(f"cannot load the TLS files: {exc}") from None
    result = EtcdScan(endpoint, prefix)
    start = prefix.encode()
    end = prefix_end(start)
    while True:
        body = {"key": base64.b64encode(start).decode(), "range_end": base64.b64encode(end).decode(), "limit": page}
        request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=ctx) as response:
                reply = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise EtcdError(f"{url}: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError, ssl.SSLError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            text = str(reason)
            if https and not cert and ("certificate" in text.lower() or isinstance(reason, ConnectionResetError | ssl.SSLError)):
                raise EtcdError(f"{endpoint}: the TLS connection was refused ({text}); etcd requires a client "
                                "certificate: pass --cert and --key (and --cacert)") from None
            raise EtcdError(f"{endpoint}: {text}") from None
        kvs = reply.get("kvs") or []
        for kv in kvs:
            name = base64.b64decode(kv.get("key", "")).decode(errors="replace")
            value = base64.b64decode(kv.get("value", ""))
            result.total += 1
            if value.startswith(ENC_PREFIX):
                # k8s:enc:<provider>:v1:<key name>: ... ; kms v2 is k8s:enc:kms:v2:<plugin>:
                label = value[len(ENC_PREFIX):].split(b":", 3)[:3]
                tag = ":".join(p.decode(errors="replace") for p in label)
                result.encrypted[tag] = result.encrypted.get(tag, 0) + 1
            else:
                result.plain.append(name)
        if not reply.get("more") or not kvs:
            break
        start = base64.b64decode(kvs[-1]["key"]) + b"\x00"
    return result


# -- a fresh configuration -----------------------------------------------------

ROTATION = """\
# Key rotation (https://kubernetes.io/docs/tasks/administer-cluster/encrypt-data/#rotating-a-decryption-key):
#  1. Generate a new key (kubeward generate encryption-config --provider {provider}) and add it as the
#     SECOND key of the {provider} provider on every control-plane node; restart every kube-apiserver
#     (each server can now decrypt with the new key).
#  2. Move the new key FIRST in the keys list on every node; restart every kube-apiserver
#     (new writes now use the new key).
#  3. Rewrite all Secrets with the new key:
#       kubectl get secrets --all-namespaces -o json | kubectl replace -f -
#  4. Verify: kubeward node etcd-encryption --endpoint https://127.0.0.1:2379 --cacert ... --cert ... --key ...
#  5. Remove the old key from the list on every node; restart every kube-apiserver.
# Keep this file readable by root only (chmod 600): it holds the key. Back the key up: without it
# the data in etcd cannot be read.
"""


def generate_config(provider: str = "secretbox", resources: tuple[str, ...] = ("secrets",),
                    key_name: str | None = None, today: dt.date | None = None) -> str:
    """An EncryptionConfiguration with a fresh 32-byte key, the rotation procedure in comments."""
    if provider not in ("secretbox", "aescbc"):
        raise ValueError(f"provider must be secretbox or aescbc, not {provider!r}")
    key_name = key_name or f"key-{(today or dt.date.today()).strftime('%Y%m%d')}"
    secret = base64.b64encode(os.urandom(32)).decode()
    names = "\n".join(f"      - {r}" for r in resources)
    return (
        "# kube-apiserver --encryption-provider-config=/etc/kubernetes/enc/encryption-config.yaml\n"
        "# (mount the directory read-only into the kube-apiserver static pod).\n"
        f"# The first provider ({provider}) encrypts every write; identity, last, only lets the\n"
        "# API server read what was stored before encryption was turned on. After enabling, rewrite\n"
        "# existing Secrets (step 3 below) so none stays in plain text.\n"
        + ROTATION.format(provider=provider)
        + "apiVersion: apiserver.config.k8s.io/v1\n"
        "kind: EncryptionConfiguration\n"
        "resources:\n"
        "  - resources:\n"
        f"{names}\n"
        "    providers:\n"
        f"      - {provider}:\n"
        "          keys:\n"
        f"            - name: {key_name}\n"
        f"              secret: {secret}\n"
        "      - identity: {}\n"
    )
