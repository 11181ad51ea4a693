"""KW-S: how workloads receive secrets, and credentials that must not be in manifests.

The first half of this module is a small credential detector: pure functions
over strings, used by the checks in the second half. It favours precision over
recall -- a finding must be worth someone's time -- so a value is reported
only on a strong signal:

1. a well-known credential format (AWS, GitHub, GitLab, Slack, Stripe, Google,
   JWT, Azure storage, PEM private keys, a password in a URL);
2. a name that says password / secret / token / API key ... holding a literal
   that is not a placeholder, a reference or (for non-password names) an
   identifier such as the name of a Secret;
3. a name that merely hints at a key (``..._KEY``, ``AUTH``, ``SALT`` ...)
   holding a long, high-entropy opaque token.

Entropy alone never reports anything: image digests, checksums and UUIDs are
random too. Names such as IMAGE, SHA, DIGEST, CHECKSUM, HASH or VERSION turn
the name and entropy heuristics off.

A :class:`Credential` is only ever shown through :meth:`Credential.describe`:
the kind, at most a public 4-character prefix of a token format, and a length
-- never the value.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import functools
import json
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..inventory import WORKLOADS, PodSpec, mapping
from ..model import Path, Resource, Severity, Violation
from .registry import check

# --------------------------------------------------------------------------- detector


@dataclass(frozen=True, slots=True)
class Credential:
    """A credential found in a string. ``value`` is kept out of repr() on purpose."""

    kind: str  # e.g. "AWS access key id", "password"
    value: str = field(repr=False)
    prefix: int = 0  # leading characters that are a public token-format prefix (<= 4)
    private_key: bool = False  # show nothing at all, not even a length

    def describe(self) -> str:
        """The kind and a redacted form: ``GitHub token (ghp_…, 40 chars)``, ``password (9 chars)``."""
        if self.private_key:
            return self.kind
        if self.prefix:
            return f"{self.kind} ({self.value[: min(self.prefix, 4)]}…, {len(self.value)} chars)"
        return f"{self.kind} ({len(self.value)} chars)"


# Token formats with a fixed public prefix: (kind, pattern, characters of prefix that may be shown).
_B = r"(?<![A-Za-z0-9_-])"  # token boundaries
_E = r"(?![A-Za-z0-9_-])"
TOKEN_PATTERNS: tuple[tuple[str, re.Pattern[str], int], ...] = (
    ("AWS access key id", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])"), 4),
    ("GitHub token", re.compile(_B + r"(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{60,251})" + _E), 4),
    ("GitLab token", re.compile(_B + r"glpat-[A-Za-z0-9_-]{20,64}" + _E), 4),
    ("Slack token", re.compile(_B + r"xox[baprs]-\d{4,}-[A-Za-z0-9-]{8,250}" + _E), 4),
    ("Stripe live key", re.compile(_B + r"[sr]k_live_[A-Za-z0-9]{16,247}" + _E), 4),
    ("Google API key", re.compile(_B + r"AIza[0-9A-Za-z_-]{35}" + _E), 4),
    ("JWT", re.compile(_B + r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}" + _E), 3),
)
# A 40-character AWS secret key is only recognisable next to its name.
AWS_SECRET = re.compile(
    r"(?i)(?:aws_?secret(?:_?access)?(?:_?key)?|secret_?access_?key)[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
)
AZURE_ACCOUNT_KEY = re.compile(r"AccountKey=([A-Za-z0-9+/]{40,}={0,2})")
PEM_PRIVATE_KEY = re.compile(r"-----BEGIN ((?:RSA |EC |OPENSSH |DSA |ENCRYPTED )?)PRIVATE KEY-----")
PEM_KINDS = {"RSA ": "RSA ", "EC ": "EC ", "OPENSSH ": "OpenSSH ", "DSA ": "DSA ", "ENCRYPTED ": "encrypted "}
# Authorization headers: "Bearer <opaque token>", "Basic base64(user:password)"
BEARER = re.compile(r"(?<![A-Za-z])Bearer[ \t]+([A-Za-z0-9+/_-]{20,}=*)(?![A-Za-z0-9+/_=.-])", re.I)
BASIC = re.compile(r"(?<![A-Za-z])Basic[ \t]+([A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])", re.I)
# scheme://user:password@host (the user may be empty: redis://:pw@host)
URL_CREDENTIALS = re.compile(r"(?i)(?<![A-Za-z0-9+.-])[a-z][a-z0-9+.-]{1,20}://[^\s:/?#@'\"]*:([^\s/?#@'\"]+)@[A-Za-z0-9\[]")
# key=value, key: value, "key": "value" where the key names a credential
ASSIGNMENT = re.compile(
    r"(?i)(?<![\w.-])([\w.-]{0,40}?(?:password|passwd|passphrase|pwd|secret|token|api[_.-]?key|access[_.-]?key|"
    r"private[_.-]?key|credential)[\w.-]{0,40})[\"']?[ \t]*[:=][ \t]*(?:\"([^\"\n]*)\"|'([^'\n]*)'|([^\s\"',;&]+))"
)
# --flag value (two words) in a shell command line
FLAG_VALUE = re.compile(r"(?<!\S)--?([A-Za-z][\w.-]{0,60})[ \t]+([^\s\"';&|-][^\s\"';&|]*)")

# Name heuristics work on the words of a name: "dbPassword", "DB_PASSWORD", "db.password" -> DB, PASSWORD.
PASSWORD_WORDS = ("PASSWORD", "PASSWD", "PASSPHRASE")  # also in DBPASSWORD, PGPASSWORD
PASSWORD_NAMES = ("PASS", "PWD")  # only as whole words: DB_PASS, but not PASSTHROUGH or OLDPWD
SECRET_WORDS = {  # kind reported for a name containing the key
    "API_KEY": "API key",
    "APIKEY": "API key",
    "ACCESS_KEY": "access key",
    "PRIVATE_KEY": "private key",
    "TOKEN": "token",
    "CREDENTIAL": "credential",
    "SECRET": "secret",
}
# Words that only hint at a key: a value is reported only if it is a high-entropy opaque token.
HINT_WORDS = frozenset(
    "KEY KEYS AUTH CRED CREDS SALT SIGNING HMAC COOKIE SESSION WEBHOOK DSN SIGNATURE LICENSE "
    "ENCRYPTION CIPHER JWT BEARER OAUTH".split()
)
# A name with one of these words holds something random that is not a credential.
HARMLESS_WORDS = frozenset(
    "IMAGE IMAGES SHA SHA1 SHA256 SHA512 MD5 DIGEST CHECKSUM HASH VERSION UUID COMMIT REVISION FINGERPRINT "
    "ETAG TOKENIZER TOKENIZERS".split()
)
# A name ending in one of these words describes a credential without holding it (TOKEN_FILE, SECRET_NAME).
QUALIFIER_WORDS = frozenset(
    "NAME NAMES FILE FILES PATH DIR REF KEYREF URL URI ENDPOINT HOST PORT ID TTL EXPIRY EXPIRATION EXPIRES "
    "LIFETIME TIMEOUT DURATION INTERVAL SECONDS MINUTES HOURS DAYS LENGTH LEN SIZE MIN MAX COUNT LIMIT "
    "ENABLED ENABLE DISABLED DISABLE REQUIRED TYPE MODE FORMAT HEADER ALGORITHM ALG POLICY PROVIDER SOURCE "
    "MOUNT LOCATION PREFIX SUFFIX FIELD PARAM STORE ROTATION ISSUER AUDIENCE SCOPE SCOPES HINT HASHER "
    "TEMPLATE RESET REGEX PATTERN LIVE".split()
)
# Values that stand in for a credential.
PLACEHOLDER_WORDS = frozenset(
    "changeme change-me change_me changeit redacted example dummy test testing placeholder secret password "
    "passwd pass pwd token null none nil undefined todo tbd fixme n/a - true false yes no on off".split()
)
PLACEHOLDER_PARTS = ("changeme", "change-me", "change_me", "example", "dummy", "redacted", "placeholder", "your_", "your-")
TEMPLATE_MARKS = ("${", "$(", "{{", "<%", "#{", "%(")
# Where a value points at a secret store or a file instead of holding the secret.
REFERENCE_PREFIXES = (
    "/", "./", "../", "~/", "file:", "vault:", "ref+", "arn:aws:", "sm://", "op://", "gcp:", "azurekeyvault",
    "keyvault:", "@microsoft.keyvault(", "projects/",
)  # fmt: skip
ENV_REFERENCE = re.compile(r"\$[A-Z_][A-Z0-9_]*|%[A-Za-z_][A-Za-z0-9_]*%")
DIGEST = re.compile(r"(?:sha(?:1|224|256|384|512)|md5):[0-9a-fA-F]{32,}")  # image and content digests
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?[A-Za-z]{0,2}")  # 3600, 1.5, 30s, 10Mi
OPAQUE = re.compile(r"[A-Za-z0-9+/=_-]{20,}")
# Every detector needs one of these substrings: texts without any (most values) are skipped at once.
TRIGGER = re.compile(
    r"(?i)akia|asia|gh[pousr]_|github_pat_|glpat-|xox[baprs]-|k_live_|aiza|eyj|accountkey=|private key|://|bearer|basic"
    r"|pass|pwd|secret|token|key|credential"
)
# TRIGGER without (?i), for lower-cased ASCII text: 5x faster than the case-insensitive
# search (~1 us instead of ~5 us per annotation, env or data value) and, on ASCII, the same
_TRIGGER_LOWER = re.compile(TRIGGER.pattern.removeprefix("(?i)"))


def _triggered(text: str) -> bool:
    if text.isascii():
        return _TRIGGER_LOWER.search(text.lower()) is not None
    return TRIGGER.search(text) is not None  # (?i) also folds non-ASCII letters (K for k, ſ for s)


def name_words(name: str) -> list[str]:
    """``"dbPassword"``, ``"DB_PASSWORD"``, ``"example.com/db-password"`` -> ``["DB", "PASSWORD"]``-like words."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)  # APIKey -> API_Key
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)  # dbPassword -> db_Password
    return [w for w in re.split(r"[^A-Za-z0-9]+", name.upper()) if w]


@functools.lru_cache(maxsize=4096)  # the same env and annotation names recur across a repository
def name_class(name: str) -> tuple[str, str] | None:
    """How much a name says about its value: ``("password" | "secret" | "hint", kind)`` or None."""
    words = name_words(name)
    if not words or HARMLESS_WORDS.intersection(words) or words[-1] in QUALIFIER_WORDS:
        return None
    joined = "_".join(words)
    if any(w in joined for w in PASSWORD_WORDS) or any(w in words for w in PASSWORD_NAMES):
        # DB_PASSWORD_KEY, passwordSecret: the name of a key or Secret holding the password
        if words[-1] in ("KEY", "KEYS", "SECRET", "SECRETS"):
            return "secret", "password"
        return "password", "password"
    for word, kind in SECRET_WORDS.items():
        if word in joined:
            return "secret", kind
    if HINT_WORDS.intersection(words):
        return "hint", "high-entropy key"
    return None


def is_placeholder(value: str) -> bool:
    """Empty, a stand-in word, a template or a reference to an environment variable."""
    v = value.strip().strip("\"'").strip()
    low = v.lower()
    return (
        not v
        or low in PLACEHOLDER_WORDS
        or any(p in low for p in PLACEHOLDER_PARTS)
        or any(m in v for m in TEMPLATE_MARKS)
        or (v.startswith("<") and v.endswith(">"))
        or re.fullmatch(r"[xX*•._#-]+|(.)\1+", v) is not None  # xxx, ***, 0000
        or ENV_REFERENCE.fullmatch(v) is not None
    )


def is_reference(value: str) -> bool:
    """A file path or a secret-store reference (vault:, arn:aws:..., op://...)."""
    return value.lower().startswith(REFERENCE_PREFIXES)


def shannon_entropy(value: str) -> float:
    """Bits per character."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def is_opaque_token(value: str) -> bool:
    """A long random-looking token: >= 20 chars of [A-Za-z0-9+/=_-], letters and digits, >= 4 bits/char."""
    return (
        OPAQUE.fullmatch(value) is not None
        and any(c.isalpha() for c in value)
        and any(c.isdigit() for c in value)
        and shannon_entropy(value) >= 4.0
        and decode_base64_text(value) is None  # base64 of plain text is not random
    )


def decode_base64_text(value: str) -> str | None:
    """The text a base64 string encodes, if it is printable text; else None."""
    if len(value) < 8 or len(value) % 4:
        return None
    try:
        text = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return text if len(text) >= 4 and text.isprintable() else None


def is_word_like(value: str) -> bool:
    """Identifiers, names and lists of names ("vault-creds", "secret/data/app", "db,api"):
    what a reference to a Secret looks like, not a secret."""
    segments = [s for s in re.split(r"[-_./:,\s]+", value) if s]
    return bool(segments) and all(
        (s.isalpha() and (s.islower() or s.isupper() or s.istitle())) or s.isdigit() or len(s) <= 3 for s in segments
    )


def _literal(value: str) -> bool:
    """Could this value be a credential at all?"""
    return not (
        is_placeholder(value)
        or is_reference(value)
        or any(c.isspace() for c in value)
        or NUMBER.fullmatch(value)
        or UUID.fullmatch(value)
        or DIGEST.search(value)
        or re.match(r"[a-z][a-z0-9+.-]*://", value, re.I)  # a URL (one with a password is a pattern)
        or value[:1] in "!&*"  # YAML tags, anchors, aliases
    )


def judge_named(name: str, value: str) -> Credential | None:
    """The name heuristics: is ``value``, held under ``name``, a credential?"""
    cls = name_class(name)
    if cls is None or not isinstance(value, str):
        return None
    strength, kind = cls
    raw = value.strip().strip("\"'")
    aws = AWS_SECRET.search(f"{name}={raw}")
    if aws and not is_placeholder(raw):
        return Credential("AWS secret access key", raw)
    v = decode_base64_text(raw) or raw  # base64 of text: judge the text
    if not _literal(v):
        return None
    if strength == "password":
        found = len(v) >= 4
    elif strength == "secret":
        found = len(v) >= 8 and not is_word_like(v)
    else:
        found = is_opaque_token(v)
    return Credential(kind, raw, private_key=kind == "private key") if found else None


def _is_jwt(token: str) -> bool:
    """Header and payload must decode to JSON objects, the header naming an algorithm."""
    parts = token.split(".")
    try:
        header, payload = (json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))) for p in parts[:2])
    except (ValueError, RecursionError):
        return False
    return isinstance(header, dict) and isinstance(payload, dict) and "alg" in header


def _private_keys(text: str) -> Iterator[tuple[int, int, Credential]]:
    gcp = "private_key_id" in text  # a service-account JSON key file
    for m in PEM_PRIVATE_KEY.finditer(text):
        body = re.sub(r"\\n|\s", "", text[m.end() : m.end() + 400])
        if re.search(r"[A-Za-z0-9+/]{40}", body):  # "-----BEGIN PRIVATE KEY-----\n..." is documentation
            kind = "GCP service-account key" if gcp and not m.group(1) else PEM_KINDS.get(m.group(1), "") + "private key"
            yield m.start(), m.end(), Credential(kind, m.group(0), private_key=True)


def _pattern_hits(text: str) -> Iterator[tuple[int, int, Credential]]:
    for kind, pattern, prefix in TOKEN_PATTERNS:
        for m in pattern.finditer(text):
            token = m.group(0)
            # a documentation stand-in ("ghp_" and a run of X) is neither random nor a token
            if not is_placeholder(token) and shannon_entropy(token) >= 3.0 and (kind != "JWT" or _is_jwt(token)):
                yield m.start(), m.end(), Credential(kind, token, prefix)
    for kind, pattern in (("AWS secret access key", AWS_SECRET), ("Azure storage account key", AZURE_ACCOUNT_KEY)):
        for m in pattern.finditer(text):
            if not is_placeholder(m.group(1)):
                yield m.start(1), m.end(1), Credential(kind, m.group(1))
    yield from _private_keys(text)
    for m in URL_CREDENTIALS.finditer(text):
        if not is_placeholder(m.group(1)):
            yield m.start(1), m.end(1), Credential("password in URL", m.group(1))
    for m in BEARER.finditer(text):
        if is_opaque_token(m.group(1)):
            yield m.start(1), m.end(1), Credential("bearer token", m.group(1))
    for m in BASIC.finditer(text):
        user_password = decode_base64_text(m.group(1)) or ""
        if ":" in user_password and not is_placeholder(user_password.partition(":")[2]):
            yield m.start(1), m.end(1), Credential("basic-auth credentials", m.group(1))


def _assignment_hits(text: str, flags: bool) -> Iterator[tuple[int, int, Credential]]:
    # line by line: key=value, key: value, "key": "value" (and "--flag value" in command lines)
    offset = 0
    for line in text.splitlines(keepends=True):
        if len(line) > 3:
            for m in ASSIGNMENT.finditer(line):
                value = next(g for g in m.groups()[1:] if g is not None)
                if not any(ch in value for ch in "([{"):
                    value = value.rstrip(")]}")  # {password: hunter2} in flow style
                cred = judge_named(m.group(1), value)
                if cred:
                    yield offset + m.start(), offset + m.end(), cred
            if flags:
                for m in FLAG_VALUE.finditer(line):
                    cred = judge_named(m.group(1), m.group(2))
                    if cred:
                        yield offset + m.start(), offset + m.end(), cred
        offset += len(line)


def find_in_text(text: Any, *, flags: bool = False) -> list[Credential]:
    """Every credential in a free text (a config file, a command line), in order, each once.

    ``flags``: also read ``--password VALUE`` (two words), for command lines.
    """
    if not isinstance(text, str) or len(text) < 8 or not _triggered(text):
        return []
    hits = sorted(_pattern_hits(text), key=lambda h: (h[0], -h[1]))
    hits += sorted(_assignment_hits(text, flags), key=lambda h: h[0])
    starts: list[int] = []  # accepted spans, sorted and disjoint
    spans: list[tuple[int, int, Credential]] = []
    for start, end, cred in hits:  # token formats first; an assignment around one adds nothing
        i = bisect.bisect_right(starts, start)
        if (i and spans[i - 1][1] > start) or (i < len(spans) and spans[i][0] < end):
            continue
        starts.insert(i, start)
        spans.insert(i, (start, end, cred))
    return [cred for _, _, cred in spans]


def find_in_value(name: Any, value: Any) -> list[Credential]:
    """The credentials in ``value``, held under ``name`` (an env var, a data key, an annotation)."""
    if not isinstance(value, str):
        return []
    if len(value) <= MEMO_CHARS and (name is None or isinstance(name, str)):
        return list(_find_in_short_value(name, value))
    return _find_in_value(name, value)


# The same short values (LOG_LEVEL=info, Helm's and Prometheus' annotations, "--port=8080")
# recur on most workloads of a repository: judging each (name, value) once saves ~5 us per
# workload. Credentials are immutable; only short values are kept, so the memory is bounded.
MEMO_CHARS = 256


@functools.lru_cache(maxsize=8192)
def _find_in_short_value(name: str | None, value: str) -> tuple[Credential, ...]:
    return tuple(_find_in_value(name, value))


@functools.lru_cache(maxsize=8192)
def _find_in_short_text(text: str, flags: bool) -> tuple[Credential, ...]:
    return tuple(find_in_text(text, flags=flags))


def _find_in_value(name: Any, value: str) -> list[Credential]:
    found = find_in_text(value)
    if not found and "\n" not in value.strip() and isinstance(name, str):
        cred = judge_named(name, value)
        found = [cred] if cred else []
    return found


def _summary(found: list[Credential]) -> str:
    more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
    return f"{found[0].describe()}{more}"


# --------------------------------------------------------------------------- checks

SECRET_REFS = {"cis": "5.4.1", "nsa": "network/secrets"}
ANNOTATED_KINDS = WORKLOADS | {
    "Service", "Ingress", "ConfigMap", "Secret", "ServiceAccount", "Namespace", "Role", "ClusterRole",
    "RoleBinding", "ClusterRoleBinding", "NetworkPolicy", "PersistentVolumeClaim", "PersistentVolume",
    "StorageClass", "HorizontalPodAutoscaler", "PodDisruptionBudget", "CustomResourceDefinition",
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
}  # fmt: skip
SKIPPED_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)
SKIPPED_ANNOTATION_PREFIXES = ("ignore-check.kubeward.io/",)  # suppression reasons


def _items(value: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict):
                yield i, item


@check(
    id="KW-S001",
    slug="secret-env-var",
    title="Secrets should be mounted as files, not passed in environment variables",
    severity=Severity.MEDIUM,
    kinds=WORKLOADS,
    rationale="""Environment variables leak: they are printed by crash handlers and debug pages, logged
        by tools that dump the environment, inherited by every child process and visible in
        /proc/<pid>/environ. A secret volume (read-only files) is read only by code that opens it.""",
    remediation="Mount the Secret as a volume and read the key from its file.",
    example="""
        volumeMounts:
          - {name: db, mountPath: /run/secrets/db, readOnly: true}
        # volumes: [{name: db, secret: {secretName: db, defaultMode: 0400}}]
    """,
    refs={**SECRET_REFS, "mitre": "T1552.007"},
    tags=("secrets",),
)
def secret_env_var(pod: PodSpec) -> Iterator[Violation]:
    for c in pod.containers():
        for i, env in _items(c.data.get("env")):
            ref = mapping(mapping(env.get("valueFrom")).get("secretKeyRef"))
            if ref:
                where = f"secret {ref.get('name')!r} key {ref.get('key')!r}"
                yield Violation(
                    c.at("env", i, "valueFrom", "secretKeyRef"),
                    f"container {c.name!r} env {env.get('name')!r} reads {where}",
                    c.name,
                )


@check(
    id="KW-S002",
    slug="secret-envfrom",
    title="Secrets should not be imported whole as environment variables",
    severity=Severity.MEDIUM,
    kinds=WORKLOADS,
    rationale="""envFrom.secretRef turns every key of a Secret -- including keys added later -- into an
        environment variable, where crash dumps, debug endpoints, logs and child processes can read
        them. Mounting the Secret as files keeps each value where only the code that needs it looks.""",
    remediation="Mount the Secret as a volume (or reference only the keys needed) instead of envFrom.secretRef.",
    example="""
        volumeMounts:
          - {name: app-secrets, mountPath: /run/secrets/app, readOnly: true}
    """,
    refs={**SECRET_REFS, "mitre": "T1552.007"},
    tags=("secrets",),
)
def secret_envfrom(pod: PodSpec) -> Iterator[Violation]:
    for c in pod.containers():
        for i, source in _items(c.data.get("envFrom")):
            ref = source.get("secretRef")
            if isinstance(ref, dict):
                yield Violation(
                    c.at("envFrom", i, "secretRef"),
                    f"container {c.name!r} imports every key of secret {ref.get('name')!r} as env vars",
                    c.name,
                )


@check(
    id="KW-S003",
    slug="credentials-in-env",
    title="Environment variables must not hold credentials in plain text",
    severity=Severity.CRITICAL,
    kinds=WORKLOADS,
    rationale="""A credential written into the manifest is readable by everyone with access to the
        repository, the CI logs and `get` on the workload, and it cannot be rotated without a
        commit. It also ends up in every environment dump of the container.""",
    remediation="Move the value into a Secret (managed by sealed-secrets, external-secrets or SOPS) and mount it.",
    example="""
        env:
          - name: DB_PASSWORD_FILE
            value: /run/secrets/db/password
    """,
    refs={**SECRET_REFS, "mitre": "T1552.001"},
    tags=("secrets",),
)
def credentials_in_env(pod: PodSpec) -> Iterator[Violation]:
    for c in pod.containers():
        for i, env in _items(c.data.get("env")):
            found = find_in_value(env.get("name"), env.get("value"))
            if found:
                yield Violation(
                    c.at("env", i, "value"),
                    f"container {c.name!r} env {env.get('name')!r} holds a credential: {_summary(found)}",
                    c.name,
                )


@check(
    id="KW-S004",
    slug="credentials-in-configmap",
    title="ConfigMaps must not hold credentials",
    severity=Severity.CRITICAL,
    kinds=("ConfigMap",),
    rationale="""ConfigMaps are not secret: they are stored unencrypted, readable by far more roles
        than Secrets, printed by `kubectl describe`, and committed with the manifest. A password or
        token in one is exposed to everyone who can read the namespace's configuration.""",
    remediation="Move the credential into a Secret (managed externally) and reference it from the config file.",
    example="""
        data:
          application.properties: |
            spring.datasource.password=${DB_PASSWORD}
    """,
    refs={"cis": "5.4.2", "nsa": "network/secrets", "mitre": "T1552.001"},
    tags=("secrets",),
)
def credentials_in_configmap(resource: Resource) -> Iterator[Violation]:
    for field_ in ("data", "binaryData"):
        for key, value in mapping(resource.obj.get(field_)).items():
            if field_ == "binaryData":
                try:  # only text can be read; other binaries are skipped
                    value = base64.b64decode(value, validate=True).decode("utf-8") if isinstance(value, str) else None
                except (binascii.Error, ValueError):
                    continue
            found = find_in_value(key, value)
            if found:
                yield Violation((field_, key), f"ConfigMap key {key!r} holds a credential: {_summary(found)}")


def _annotation_violations(annotations: Any, base: Path, where: str) -> Iterator[Violation]:
    for key, value in mapping(annotations).items():
        if not isinstance(key, str) or key in SKIPPED_ANNOTATIONS or key.startswith(SKIPPED_ANNOTATION_PREFIXES):
            continue
        found = find_in_value(key, value)
        if found:
            yield Violation((*base, key), f"{where} {key!r} holds a credential: {_summary(found)}")


@check(
    id="KW-S005",
    slug="credentials-in-annotations",
    title="Annotations must not hold credentials",
    severity=Severity.HIGH,
    kinds=ANNOTATED_KINDS,
    rationale="""Annotations are plain metadata: anyone who can list or get the object reads them,
        controllers copy them, and they are never encrypted at rest. A token placed there (often
        for a tool's integration) is exposed far beyond its intended reader.""",
    remediation="Put the credential in a Secret and have the tool read it from there.",
    example="""
        metadata:
          annotations:
            example.com/webhook-token-secret: webhook-token   # the name of a Secret, not the token
    """,
    refs={"nsa": "network/secrets", "cis": "5.4.2", "mitre": "T1552.001"},
    tags=("secrets",),
)
def credentials_in_annotations(subject: PodSpec | Resource) -> Iterator[Violation]:
    resource = subject.resource if isinstance(subject, PodSpec) else subject
    annotations = resource.metadata.get("annotations")
    if annotations:  # (most objects have none: no generator to start)
        yield from _annotation_violations(annotations, ("metadata", "annotations"), "annotation")
    if isinstance(subject, PodSpec) and len(subject.path) > 1:  # a Pod's template is the Pod itself
        annotations = subject.template_meta.get("annotations")
        if annotations:
            base = (*subject.path[:-1], "metadata", "annotations")
            yield from _annotation_violations(annotations, base, "pod template annotation")


def _secret_keys(data: dict[str, Any], encoded: bool) -> list[str]:
    """Keys with a real value: empty values and placeholders (also base64-encoded ones) do not count."""
    keys = []
    for key, value in data.items():
        text = value if isinstance(value, str) else ("" if value is None else str(value))
        if encoded:
            text = decode_base64_text(text) or text
        if not is_placeholder(text):
            keys.append(str(key))
    return keys


@check(
    id="KW-S006",
    slug="secret-data-in-manifest",
    title="Secret values must not be committed in manifests",
    severity=Severity.MEDIUM,
    kinds=("Secret",),
    rationale="""A Secret's data is only base64-encoded: whoever can read the repository, its history
        or the CI logs has the values, and removing them later does not un-leak them. Commit an
        encrypted or external reference instead and let the cluster materialise the Secret.""",
    remediation="Use sealed-secrets, external-secrets or SOPS; commit the encrypted form, not the Secret.",
    example="""
        apiVersion: external-secrets.io/v1beta1
        kind: ExternalSecret
        metadata: {name: db}
        spec:
          secretStoreRef: {name: vault, kind: ClusterSecretStore}
          target: {name: db}
          data: [{secretKey: password, remoteRef: {key: db, property: password}}]
    """,
    refs={"cis": "5.4.2", "nsa": "network/secrets", "mitre": "T1552.001"},
    tags=("secrets",),
)
def secret_data_in_manifest(resource: Resource) -> Iterator[Violation]:
    for field_ in ("data", "stringData"):
        keys = _secret_keys(mapping(resource.obj.get(field_)), encoded=field_ == "data")
        if keys:
            listed = ", ".join(repr(k) for k in keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
            count = f"{len(keys)} value{'s' if len(keys) > 1 else ''}"
            yield Violation((field_,), f"Secret {resource.name!r} commits {count} in {field_}: {listed}")


def _secret_volumes(pod: PodSpec) -> dict[str, int]:
    """Volume name -> index, for secret volumes and projected volumes with a secret source."""
    out = {}
    for i, vol in pod.volumes():
        sources = mapping(vol.get("projected")).get("sources")
        has_secret = isinstance(sources, list) and any(isinstance(s, dict) and "secret" in s for s in sources)
        if isinstance(vol.get("name"), str) and ("secret" in vol or has_secret):
            out[vol["name"]] = i
    return out


@check(
    id="KW-S007",
    slug="secret-volume-not-readonly",
    title="Secret volumes should be mounted with readOnly: true",
    severity=Severity.LOW,
    kinds=WORKLOADS,
    rationale="""Since Kubernetes v1.9.4 the kubelet mounts secret (and projected) volumes read-only
        whatever the mount says, so this is not an exposure today. readOnly: true states the intent
        in the manifest and keeps the mount read-only if the volume is ever changed to a type the
        kubelet does not protect (an emptyDir or a CSI secret-store volume).""",
    remediation="Add readOnly: true to every volumeMount of a secret volume.",
    example="""
        volumeMounts:
          - {name: tls, mountPath: /etc/tls, readOnly: true}
    """,
    refs={"nsa": "network/secrets", "cis": "5.4.1", "mitre": "T1552.001"},
    tags=("secrets", "hardening"),
)
def secret_volume_not_readonly(pod: PodSpec) -> Iterator[Violation]:
    secret_volumes = _secret_volumes(pod)
    if not secret_volumes:
        return
    for c in pod.containers():
        for j, mount in _items(c.data.get("volumeMounts")):
            name = mount.get("name")
            if isinstance(name, str) and name in secret_volumes and mount.get("readOnly") is not True:
                yield Violation(
                    c.at("volumeMounts", j, "readOnly"),
                    f"container {c.name!r} mounts secret volume {name!r} at {mount.get('mountPath')!r} without readOnly: true",
                    c.name,
                )


def octal_mode(mode: int) -> str:
    """420 -> "0644"; a decimal 644 (0o1204) -> "01204"."""
    return f"0{mode:o}"


def _mode_message(what: str, mode: int) -> str:
    text = f"{what} {octal_mode(mode)} lets group/others read the secret"
    if mode > 0o777 and set(str(mode)) <= set("01234567"):
        text += f" ({mode} was read as decimal: write 0{mode} in YAML or {int(str(mode), 8)} in JSON)"
    return text


def _secret_modes(pod: PodSpec) -> Iterator[tuple[Path, str, int]]:
    """(path, description, mode) of every explicit mode of a secret volume or projected secret source."""
    for i, vol in pod.volumes():
        name = vol.get("name")
        secret = mapping(vol.get("secret"))
        projected = mapping(vol.get("projected"))
        sources = [(k, mapping(s.get("secret"))) for k, s in _items(projected.get("sources")) if "secret" in s]
        if "secret" in vol:
            yield pod.at("volumes", i, "secret", "defaultMode"), f"secret volume {name!r} defaultMode", secret.get("defaultMode")
            for m, item in _items(secret.get("items")):
                path = pod.at("volumes", i, "secret", "items", m, "mode")
                yield path, f"secret volume {name!r} item {item.get('key')!r} mode", item.get("mode")
        if sources:
            path = pod.at("volumes", i, "projected", "defaultMode")
            yield path, f"projected volume {name!r} defaultMode", projected.get("defaultMode")
        for k, source in sources:
            for m, item in _items(source.get("items")):
                path = pod.at("volumes", i, "projected", "sources", k, "secret", "items", m, "mode")
                yield path, f"projected volume {name!r} secret item {item.get('key')!r} mode", item.get("mode")


@check(
    id="KW-S008",
    slug="secret-volume-permissive-mode",
    title="Secret volume files should not be readable by group or others",
    severity=Severity.LOW,
    kinds=WORKLOADS,
    rationale="""A mode with group or other bits (0644, 0444, ...) lets every user in the container --
        and, with fsGroup, every process of that group -- read the secret files, so a process
        that drops privileges or a second user keeps access. 0400 keeps the keys to their owner.
        (Unset, the mode is 0644: set it explicitly.)""",
    remediation="Set defaultMode (and items[].mode) to 0400 (256 in JSON manifests).",
    example="""
        volumes:
          - name: tls
            secret: {secretName: tls, defaultMode: 0400}   # JSON: 256
    """,
    refs={"nsa": "network/secrets", "mitre": "T1552.001"},
    tags=("secrets", "hardening"),
)
def secret_volume_permissive_mode(pod: PodSpec) -> Iterator[Violation]:
    for path, what, mode in _secret_modes(pod):
        # YAML 1.1 reads 0644 as octal (420); a mode is an int, never a bool
        if isinstance(mode, int) and not isinstance(mode, bool) and mode > 0 and mode & 0o077:
            yield Violation(path, _mode_message(what, mode))


_FLAG = re.compile(r"--?([A-Za-z][\w.-]*)")


def _arg_credentials(items: list[Any]) -> Iterator[tuple[int, list[Credential]]]:
    """(index, credentials) per command/args item: "--password=x", "--password" "x", shell lines, URLs."""
    for i, item in enumerate(items):
        if isinstance(item, str) and len(item) <= MEMO_CHARS:
            found: list[Credential] = list(_find_in_short_text(item, True))
        else:
            found = find_in_text(item, flags=True)
        previous = items[i - 1] if i else None
        if not found and isinstance(item, str) and isinstance(previous, str) and not item.startswith("-"):
            flag = _FLAG.fullmatch(previous)  # "--token", "abc" as two items
            cred = judge_named(flag.group(1), item) if flag else None
            found = [cred] if cred else []
        if found:
            yield i, found


@check(
    id="KW-S009",
    slug="credentials-in-args",
    title="Container commands and arguments must not hold credentials",
    severity=Severity.CRITICAL,
    kinds=WORKLOADS,
    rationale="""A password on the command line is in the manifest, in the pod spec any reader of the
        workload sees, and in /proc/<pid>/cmdline, which every process on the node that can list
        processes can read; it also shows up in `ps` output and process-monitoring logs.""",
    remediation="Pass the credential through a mounted Secret file (e.g. --password-file=/run/secrets/...).",
    example="""
        args: ["--db-password-file=/run/secrets/db/password"]
    """,
    refs={**SECRET_REFS, "mitre": "T1552.001"},
    tags=("secrets",),
)
def credentials_in_args(pod: PodSpec) -> Iterator[Violation]:
    for c in pod.containers():
        for field_ in ("command", "args"):
            items = c.data.get(field_)
            for i, found in _arg_credentials(items if isinstance(items, list) else []):
                yield Violation(
                    c.at(field_, i), f"container {c.name!r} {field_}[{i}] holds a credential: {_summary(found)}", c.name
                )
