"""KW-S: the credential detector, the secrets checks, and redaction in every report format."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import DATA, run_cli, scan_text
from kubeward import runner
from kubeward.checks import secrets
from kubeward.checks.registry import all_checks
from kubeward.checks.secrets import (
    Credential,
    find_in_text,
    find_in_value,
    is_opaque_token,
    is_placeholder,
    name_class,
    shannon_entropy,
)
from kubeward.config import Config
from kubeward.engine import select_checks


def _jwt(header: dict, payload: dict, signature: str = "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c") -> str:
    def enc(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{enc(header)}.{enc(payload)}.{signature}"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# Fake credentials in the real formats (random-looking, never issued).
AWS_KEY_ID = "AKIAZ3MSJV4WQKX7PBNH"
AWS_SECRET = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0MTIz"
GITHUB = "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
SLACK = "xoxb-284719365012-3948571029384-Kq7TzR2mXw9LpV4nBc8YdF1s"
STRIPE = "sk_live_51HxQ2mKz8RtVw3YpLs7NcBd"
GOOGLE = "AIzaSyB7fK2mQ9xZ4vL1pR8tW3nJ6cH0dG5aE2u"
GITLAB = "glpat-Zq8Rk3Tv9Ly2Wm5Pn7Xc"
JWT = _jwt({"alg": "HS256", "typ": "JWT"}, {"sub": "1234567890", "name": "Jane", "iat": 1516239022})
AZURE_KEY = "q8Zk3Jx7Lm2Np9Rs4Tv6Wy1Ab5Cd0EfQ8zK3jX7lM2nP9rS4tV6wY1aB5cD0eF7gH8iJ9kL0mN1oP2qR3sT4uV5w=="
PEM_BODY = "MIIEowIBAAKCAQEA1c7+9z5Pad7OejecsQ0bu3aozN3tihPmljnnudb9G3HECdnH"


def _pem(kind: str = "") -> str:
    return f"-----BEGIN {kind}PRIVATE KEY-----\n{PEM_BODY}\nq8Zk3Jx7Lm2Np9Rs4Tv6Wy1Ab5Cd0Ef\n-----END {kind}PRIVATE KEY-----\n"


# --------------------------------------------------------------------------- the detector


@pytest.mark.parametrize(
    "text,kind",
    [
        (f"AWS_ACCESS_KEY_ID={AWS_KEY_ID}", "AWS access key id"),
        ("key: ASIAQ7XJ2MZK4WPLN3VB", "AWS access key id"),
        (f"aws_secret_access_key = {AWS_SECRET}", "AWS secret access key"),
        (f'"SecretAccessKey": "{AWS_SECRET}"', "AWS secret access key"),
        (json.dumps({"type": "service_account", "private_key_id": "3f2a", "private_key": _pem()}), "GCP service-account key"),
        (_pem(), "private key"),
        (_pem("RSA "), "RSA private key"),
        (_pem("EC "), "EC private key"),
        (_pem("OPENSSH "), "OpenSSH private key"),
        (_pem("DSA "), "DSA private key"),
        (_pem("ENCRYPTED "), "encrypted private key"),
        (_pem("RSA ").replace("\n", "\\n"), "RSA private key"),  # JSON-escaped newlines
        (f"token {GITHUB}", "GitHub token"),
        ("gho_Zq8Rk3Tv9Ly2Wm5Pn7Xc4Hs8Jf2Ql6Wn9Rt3Yv", "GitHub token"),
        ("ghu_Zq8Rk3Tv9Ly2Wm5Pn7Xc4Hs8Jf2Ql6Wn9Rt3Yv", "GitHub token"),
        ("ghs_Zq8Rk3Tv9Ly2Wm5Pn7Xc4Hs8Jf2Ql6Wn9Rt3Yv", "GitHub token"),
        ("ghr_Zq8Rk3Tv9Ly2Wm5Pn7Xc4Hs8Jf2Ql6Wn9Rt3Yv", "GitHub token"),
        ("github_pat_11ABCDEFG0Zq8Rk3Tv9Ly2_Wm5Pn7Xc4Hs8Jf2Ql6Wn9Rt3YvKd4Hs8Jf2Ql6Wn9Rt3Yv8Zq8Rk3Tv9Ly2", "GitHub token"),
        (GITLAB, "GitLab token"),
        (SLACK, "Slack token"),
        ("xoxp-2847193650-3948571029-Kq7TzR2mXw9LpV4n", "Slack token"),
        (STRIPE, "Stripe live key"),
        ("rk_live_51HxQ2mKz8RtVw3YpLs7NcBd", "Stripe live key"),
        (f"maps.key={GOOGLE}", "Google API key"),
        (f"Authorization: Bearer {JWT}", "JWT"),
        (
            f"DefaultEndpointsProtocol=https;AccountName=shop;AccountKey={AZURE_KEY};EndpointSuffix=core.windows.net",
            "Azure storage account key",
        ),
        ("spring.datasource.password=Wint3r-is-c0ming", "password"),
        ("passwd: Wint3r-is-c0ming", "password"),
        ("pwd=Wint3r-is-c0ming", "password"),
        ('{"db": {"password": "Wint3r-is-c0ming"}}', "password"),
        ("client_secret: 9f86d081884c7d659a2feaa0c55ad015", "secret"),
        ("auth_token=Tk7Zq8Rk3Tv9Ly2Wm5Pn", "token"),
        ('{"api_key": "Tk7Zq8Rk3Tv9Ly2Wm5Pn"}', "API key"),
        ("postgres://app:Wint3r-is-c0ming@db:5432/shop", "password in URL"),
        ("redis://:Wint3r-is-c0ming@redis:6379/0", "password in URL"),
        ("Authorization: Bearer q8Zk3Jx7Lm2Np9Rs4Tv6Wy1Ab5Cd0Ef", "bearer token"),
        (f"Authorization: Basic {_b64('admin:Wint3r-is-c0ming')}", "basic-auth credentials"),
    ],
)
def test_detector_finds(text, kind):
    found = find_in_text(text)
    assert [c.kind for c in found] == [kind]


@pytest.mark.parametrize(
    "name,value,kind",
    [
        ("POSTGRES_PASSWORD", "Wint3r-is-c0ming", "password"),
        ("dbPassword", "admin", "password"),
        ("PGPASSWORD", "postgres", "password"),
        ("DB_PASS", "hunter22", "password"),
        ("AWS_SECRET_ACCESS_KEY", AWS_SECRET, "AWS secret access key"),
        ("JWT_SECRET", "Tk7Zq8Rk3Tv9Ly2Wm5Pn", "secret"),
        ("SENDGRID_API_KEY", "SG.Zq8Rk3Tv9Ly2Wm5Pn7Xc", "API key"),
        ("apiKey", "abcd1234efgh5678", "API key"),
        ("MINIO_ACCESS_KEY", "Zq8Rk3Tv9Ly2", "access key"),
        ("VAULT_TOKEN", "hvs.CAESIJZq8Rk3Tv9Ly2Wm5Pn7Xc", "token"),
        ("REGISTRY_CREDENTIALS", "robot$ci+Zq8Rk3Tv9", "credential"),
        ("ENCRYPTION_KEY", "q8Zk3Jx7Lm2Np9Rs4Tv6Wy1Ab5Cd0Ef", "high-entropy key"),  # a hint and entropy
        ("SECRET", _b64("Wint3r-is-c0ming"), "secret"),  # base64 of a password is judged as the password
    ],
)
def test_name_heuristics_find(name, value, kind):
    assert [c.kind for c in find_in_value(name, value)] == [kind]


NEGATIVES = [
    ("IMAGE", "ghcr.io/shop/api@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
    ("SIDECAR_DIGEST", "sha256:8d969eef6ecad3c29a3a629280e686cf0c3f5d5a86aff3ca12020c923adc6c92"),
    ("checksum/config", "8d969eef6ecad3c29a3a629280e686cf0c3f5d5a86aff3ca12020c923adc6c92"),
    ("checksum/secret", "q8Zk3Jx7Lm2Np9Rs4Tv6Wy1Ab5Cd0Ef7Gh"),
    ("deployment.kubernetes.io/config-hash", "Xk29fLq8TzR4mWv7Pn3Yc"),
    ("GIT_SHA", "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"),
    ("APP_VERSION", "v1.2.3-rc1+build.a94a8fe5"),
    ("INSTANCE_ID", "123e4567-e89b-12d3-a456-426614174000"),
    ("API_TOKEN", "123e4567-e89b-12d3-a456-426614174000"),  # a UUID, even under a token name
    ("BUILD", "q8Zk3Jx7Lm2Np9Rs4Tv6Wy1Ab5Cd0Ef"),  # entropy alone never reports
    ("HEADER", "eyJub3RqdXN0.eyJhbHNvbm90.c2lnbmF0dXJlc2lnbmF0dXJl"),  # JWT-looking, not JSON
    ("X", _jwt({"typ": "JWT"}, {"sub": "x"}) + "x"),  # decodes, but names no algorithm
    ("config.yaml", "database:\n  password: ${DB_PASSWORD}\n"),
    ("DB_PASSWORD", "${DB_PASSWORD}"),
    ("DB_PASSWORD", "$(DB_PASSWORD)"),
    ("DB_PASSWORD", "$DB_PASSWORD"),
    ("DB_PASSWORD", "{{ .Values.db.password }}"),
    ("DB_PASSWORD", "/run/secrets/db/password"),
    ("DB_PASSWORD_FILE", "/run/secrets/db/password"),
    ("DB_PASSWORD", "vault:secret/data/db#password"),
    ("DB_PASSWORD", "changeme"),
    ("DB_PASSWORD", ""),
    ("API_TOKEN", "<your-token-here>"),
    ("API_TOKEN", "xxxxxxxx"),
    ("API_TOKEN", "********"),
    ("PASSWORD", "REDACTED"),
    ("PASSWORD", "example"),
    ("PASSWORD", "dummy"),
    ("PASSWORD", "test"),
    ("NOTE", "VGhpcyBpcyBhIHBsYWluIHNlbnRlbmNl"),  # base64 of plain words
    ("SESSION_KEY", "VGhpcyBpcyBhIHBsYWluIHNlbnRlbmNl"),
    ("SECRET", _b64("changeme")),
    ("X", "AKIAIOSFODNN7EXAMPLE"),  # AWS's documentation key
    ("X", "ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"),
    ("X", "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----"),
    ("X", "postgres://app:${DB_PASSWORD}@db/app"),
    ("X", "https://user:pass@registry.internal"),
    ("DATABASE_URL", "postgres://app@db:5432/app"),
    ("SECRET_NAME", "db-credentials"),
    ("existingSecret", "db-credentials"),
    ("passwordKey", "db-pass"),
    ("nginx.ingress.kubernetes.io/auth-secret", "admin-basic-auth"),
    ("secret.reloader.stakater.com/reload", "db-credentials,api-keys"),
    ("vault.hashicorp.com/agent-inject-secret-config", "secret/data/app/config"),
    ("TOKEN_TTL", "3600"),
    ("PASSWORD_MIN_LENGTH", "12"),
    ("MYSQL_ALLOW_EMPTY_PASSWORD", "yes"),
    ("TOKENIZERS_PARALLELISM", "false"),
    ("OIDC_TOKEN_URL", "https://accounts.google.com/o/oauth2/token"),
    ("JAVA_OPTS", "-Xmx1g -Djavax.net.ssl.trustStorePassword=changeit"),
    ("prometheus.yml", "bearer_token_file: /var/run/secrets/kubernetes.io/serviceaccount/token"),
    ("README", "Set password: to the value from the vault, never a literal."),
]


@pytest.mark.parametrize("name,value", NEGATIVES)
def test_detector_ignores(name, value):
    assert find_in_value(name, value) == []


def test_at_least_fifteen_realistic_negatives():
    assert len(NEGATIVES) >= 15


@pytest.mark.parametrize(
    "name,expected",
    [
        ("DB_PASSWORD", ("password", "password")),
        ("db.password", ("password", "password")),
        ("dbPassword", ("password", "password")),
        ("DB_PASSWORD_KEY", ("secret", "password")),  # the name of a key holding the password
        ("stripeApiKey", ("secret", "API key")),
        ("APIKey", ("secret", "API key")),
        ("OIDC_CLIENT_SECRET", ("secret", "secret")),
        ("SIGNING_KEY", ("hint", "high-entropy key")),
        ("DB_PASSWORD_FILE", None),
        ("secretName", None),
        ("tokenSecretRef", None),
        ("SECRET_HASH", None),
        ("IMAGE_PULL_SECRET_DIGEST", None),
        ("LOG_LEVEL", None),
        ("", None),
    ],
)
def test_name_class(name, expected):
    assert name_class(name) == expected


def test_placeholders():
    for value in ("", "  ", "changeme", "CHANGEME", "<password>", "${X}", "$(X)", "{{ x }}", "xxx", "***", "REDACTED",
                  "example", "dummy", "test", "my-example-key", "null", "'changeme'"):  # fmt: skip
        assert is_placeholder(value), value
    for value in ("hunter22", "Wint3r-is-c0ming", "testing123!", "root"):
        assert not is_placeholder(value), value


def test_entropy_and_opaque_tokens():
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcd") == pytest.approx(2.0)
    assert is_opaque_token("q8Zk3Jx7Lm2Np9Rs4Tv6Wy1Ab5Cd0Ef")
    assert not is_opaque_token("q8Zk3Jx7Lm2Np9Rs4Tv")  # 19 characters
    assert not is_opaque_token("abcdefghijklmnopqrstuvwxyzABCDEF")  # no digits
    assert not is_opaque_token("8d969eef-6eca-d3c2-9a3a-629280e686cf".replace("-", "")[:20] + "0000")  # low entropy
    assert not is_opaque_token("VGhpcyBpcyBhIHBsYWluIHNlbnRlbmNl")  # base64 of plain words


@given(st.text(alphabet="aAkKsSpPtTeEyYjJ:/_-= \u212a\u017f\u0130\u00e9", max_size=16))
def test_fast_trigger_is_the_case_insensitive_pattern(text):
    # the lower-cased ASCII fast path must answer exactly as TRIGGER (?i) does, Unicode folding included
    assert secrets._triggered(text) == (secrets.TRIGGER.search(text) is not None)


def test_fast_trigger_examples():
    for text in ("PASSWORD", "Bearer", "x://y", "GHP_", "nothing here", "\u212aEY", "pa\u017f\u017f", "Tok\u0130en"):
        assert secrets._triggered(text) == (secrets.TRIGGER.search(text) is not None), text


def test_memoised_short_values_answer_as_the_detector():
    pairs = [("DB_PASSWORD", "Wint3r-is-c0ming"), ("LOG_LEVEL", "debug"), ("token", GITHUB), (None, GITHUB), ("x", "y" * 300)]
    for name, value in pairs * 2:
        found = find_in_value(name, value)
        assert found == secrets._find_in_value(name, value)
        found.append("mutated")  # a caller's list is its own
    assert find_in_value("DB_PASSWORD", "Wint3r-is-c0ming")[-1] != "mutated"
    assert secrets._find_in_short_value.cache_info().hits >= 4


def test_findings_come_in_order_and_once():
    text = f"url=postgres://u:Wint3r-is-c0ming@db/x\ntoken: {GITHUB}\npassword={_b64('x')}Zq8Rk3Tv9\n"
    assert [c.kind for c in find_in_text(text)] == ["password in URL", "GitHub token", "password"]


def test_detector_never_raises_on_odd_input():
    for value in (None, 42, b"bytes", ["password=hunter22"], {"a": 1}, "\x00" * 20, "=" * 50, "eyJ" * 30 + ".eyJ" + "." * 20):
        assert find_in_text(value) == [] or isinstance(value, str)
        find_in_value(value, value)
        find_in_value("DB_PASSWORD", value)


def test_large_texts_stay_linear():
    import time

    text = "line password: hunter22\n" * 20000 + "token=" + "a" * 200000
    started = time.perf_counter()
    assert len(find_in_text(text, flags=True)) == 20000
    assert time.perf_counter() - started < 5


def test_credential_description_is_redacted():
    cred = Credential("GitHub token", GITHUB, 4)
    assert cred.describe() == "GitHub token (ghp_…, 40 chars)"
    assert GITHUB not in repr(cred)
    assert Credential("password", "Wint3r-is-c0ming").describe() == "password (16 chars)"
    assert Credential("RSA private key", "-----BEGIN RSA PRIVATE KEY-----", private_key=True).describe() == "RSA private key"
    assert Credential("x", "abcdefgh", 9).describe() == "x (abcd…, 8 chars)"  # never more than 4 characters
    for text, _ in [(f"k={AWS_KEY_ID}", 0), (JWT, 0), (SLACK, 0), (STRIPE, 0), (GOOGLE, 0), (GITLAB, 0)]:
        (cred,) = find_in_text(text)
        shown = cred.describe().split("(", 1)[1]
        assert shown.split("…")[0] in text[:12] + JWT[:4] and len(shown.split("…")[0]) <= 4


# --------------------------------------------------------------------------- the checks


def _messages(text: str, check_id: str) -> list[tuple[str, str]]:
    result, loaded = scan_text(text, only=[check_id])
    assert not loaded.errors and not result.errors
    return [(f.path_str, f.message) for f in result.findings]


def _pod(spec: str, kind: str = "Pod", meta: str = "") -> str:
    return f"apiVersion: v1\nkind: {kind}\nmetadata:\n  name: p\n{meta}spec:\n{spec}"


def test_secret_env_var_and_envfrom_messages():
    text = _pod(
        """  containers:
    - name: app
      image: app:1
      env:
        - name: DB_PASSWORD
          valueFrom: {secretKeyRef: {name: db, key: password}}
        - {name: HOST, valueFrom: {configMapKeyRef: {name: db, key: host}}}
      envFrom:
        - configMapRef: {name: cfg}
        - secretRef: {name: app-env}
"""
    )
    assert _messages(text, "KW-S001") == [
        ("spec.containers[0].env[0].valueFrom.secretKeyRef", "container 'app' env 'DB_PASSWORD' reads secret 'db' key 'password'")
    ]
    assert _messages(text, "KW-S002") == [
        ("spec.containers[0].envFrom[1].secretRef", "container 'app' imports every key of secret 'app-env' as env vars")
    ]


def test_credentials_in_env_message_and_container():
    text = _pod(
        f"""  containers:
    - name: app
      image: app:1
      env:
        - {{name: LOG_LEVEL, value: info}}
        - {{name: AWS_ACCESS_KEY_ID, value: {AWS_KEY_ID}}}
        - {{name: SETTINGS, value: '{{"db": {{"password": "Wint3r-is-c0ming"}}, "slack": "{SLACK}"}}'}}
"""
    )
    result, _ = scan_text(text, only=["KW-S003"])
    assert [(f.path_str, f.message, f.container) for f in result.findings] == [
        (
            "spec.containers[0].env[1].value",
            "container 'app' env 'AWS_ACCESS_KEY_ID' holds a credential: AWS access key id (AKIA…, 20 chars)",
            "app",
        ),
        (
            "spec.containers[0].env[2].value",
            "container 'app' env 'SETTINGS' holds a credential: password (16 chars) (+1 more)",
            "app",
        ),
    ]


def test_credentials_in_configmap_reports_each_key_once():
    text = f"""apiVersion: v1
kind: ConfigMap
metadata: {{name: cfg}}
data:
  app.ini: |
    [db]
    password = Wint3r-is-c0ming
    [aws]
    aws_access_key_id = {AWS_KEY_ID}
    aws_secret_access_key = {AWS_SECRET}
  GITHUB_TOKEN: {GITHUB}
  plain: hello
binaryData:
  key.pem: {_b64(_pem("EC "))}
  blob: {base64.b64encode(bytes(range(256))).decode()}
"""
    assert _messages(text, "KW-S004") == [
        ("data.app.ini", "ConfigMap key 'app.ini' holds a credential: password (16 chars) (+2 more)"),
        ("data.GITHUB_TOKEN", "ConfigMap key 'GITHUB_TOKEN' holds a credential: GitHub token (ghp_…, 40 chars)"),
        ("binaryData.key.pem", "ConfigMap key 'key.pem' holds a credential: EC private key"),
    ]


def test_credentials_in_annotations_of_any_listed_kind_and_templates():
    annotations = f"  annotations:\n    acme.io/api-token: {GITLAB}\n"
    for kind in ("Namespace", "ServiceAccount", "Secret", "Ingress", "CustomResourceDefinition", "MutatingWebhookConfiguration"):
        text = f"apiVersion: v1\nkind: {kind}\nmetadata:\n  name: x\n{annotations}"
        assert _messages(text, "KW-S005") == [
            (
                "metadata.annotations.acme.io/api-token",
                "annotation 'acme.io/api-token' holds a credential: GitLab token (glpa…, 26 chars)",
            )
        ], kind
    # a kind outside the list (a custom resource) is not read
    assert _messages(f"apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n  name: x\n{annotations}", "KW-S005") == []
    # a Pod's metadata is its own template: reported once
    pod = _pod("  containers: [{name: c, image: x}]\n", meta=annotations)
    assert len(_messages(pod, "KW-S005")) == 1
    cronjob = """apiVersion: batch/v1
kind: CronJob
metadata: {name: job}
spec:
  schedule: "@daily"
  jobTemplate:
    spec:
      template:
        metadata:
          annotations:
            checksum/config: 8d969eef6ecad3c29a3a629280e686cf0c3f5d5a86aff3ca12020c923adc6c92
            acme.io/db-url: mysql://app:Wint3r-is-c0ming@db/app
        spec:
          containers: [{name: c, image: x}]
"""
    assert _messages(cronjob, "KW-S005") == [
        (
            "spec.jobTemplate.spec.template.metadata.annotations.acme.io/db-url",
            "pod template annotation 'acme.io/db-url' holds a credential: password in URL (16 chars)",
        )
    ]


def test_last_applied_configuration_and_suppression_reasons_are_skipped():
    applied = json.dumps({"kind": "Secret", "stringData": {"password": "Wint3r-is-c0ming", "token": GITHUB}})
    text = f"""apiVersion: v1
kind: Service
metadata:
  name: s
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{applied}'
    ignore-check.kubeward.io/credentials-in-env: "token=Zq8Rk3Tv9Ly2Wm5Pn7Xc is a test fixture"
"""
    assert _messages(text, "KW-S005") == []


def test_secret_data_lists_key_names_only():
    keys = "\n".join(f"  key{i}: {_b64(f'Wint3r-is-c0ming-{i}')}" for i in range(7))
    text = (
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: db}}\ndata:\n{keys}\n  empty: ''\n  placeholder: {_b64('changeme')}\n"
    )
    assert _messages(text, "KW-S006") == [
        ("data", "Secret 'db' commits 7 values in data: 'key0', 'key1', 'key2', 'key3', 'key4' and 2 more")
    ]
    one = "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: Wint3r-is-c0ming, user: ''}\n"
    assert _messages(one, "KW-S006") == [("stringData", "Secret 'db' commits 1 value in stringData: 'password'")]


def test_secret_volume_not_readonly():
    text = _pod(
        """  containers:
    - name: app
      image: app:1
      volumeMounts:
        - {name: tls, mountPath: /tls, readOnly: false}
        - {name: creds, mountPath: /creds}
        - {name: token, mountPath: /token}
        - {name: cfg, mountPath: /cfg}
  volumes:
    - {name: tls, secret: {secretName: tls}}
    - name: creds
      projected: {sources: [{configMap: {name: a}}, {secret: {name: b}}]}
    - name: token
      projected: {sources: [{serviceAccountToken: {path: token}}]}
    - {name: cfg, configMap: {name: cfg}}
"""
    )
    assert _messages(text, "KW-S007") == [
        (
            "spec.containers[0].volumeMounts[0].readOnly",
            "container 'app' mounts secret volume 'tls' at '/tls' without readOnly: true",
        ),
        (
            "spec.containers[0].volumeMounts[1].readOnly",
            "container 'app' mounts secret volume 'creds' at '/creds' without readOnly: true",
        ),
    ]


@pytest.mark.parametrize(
    "mode,expected",
    [
        ("0644", "secret volume 's' defaultMode 0644 lets group/others read the secret"),  # YAML 1.1 octal = 420
        ("0640", "secret volume 's' defaultMode 0640 lets group/others read the secret"),
        ("0444", "secret volume 's' defaultMode 0444 lets group/others read the secret"),
        ("420", "secret volume 's' defaultMode 0644 lets group/others read the secret"),  # the JSON way to write 0644
        (
            "644",  # decimal 644 = 0o1204: has group/other bits too
            "secret volume 's' defaultMode 01204 lets group/others read the secret "
            "(644 was read as decimal: write 0644 in YAML or 420 in JSON)",
        ),
        ("0400", None),
        ("0600", None),
        ("256", None),  # 0400 in decimal
        ("'0644'", None),  # a string: the API server rejects it, not our business
        ("true", None),
    ],
)
def test_secret_volume_mode_yaml_readings(mode, expected):
    text = _pod(
        f"  containers: [{{name: c, image: x}}]\n  volumes:\n    - {{name: s, secret: {{secretName: s, defaultMode: {mode}}}}}\n"
    )
    messages = [m for _, m in _messages(text, "KW-S008")]
    assert messages == ([expected] if expected else [])


def test_secret_volume_mode_items_and_projected_sources():
    text = _pod(
        """  containers: [{name: c, image: x}]
  volumes:
    - name: s
      secret:
        secretName: s
        defaultMode: 0400
        items: [{key: a, path: a, mode: 0600}, {key: b, path: b, mode: 0604}]
    - name: p
      projected:
        defaultMode: 0644
        sources:
          - configMap: {name: c}
          - secret: {name: x, items: [{key: k, path: k, mode: 0400}, {key: j, path: j, mode: 0755}]}
    - name: cm
      projected:
        defaultMode: 0644
        sources: [{configMap: {name: c}}]
"""
    )
    assert _messages(text, "KW-S008") == [
        ("spec.volumes[0].secret.items[1].mode", "secret volume 's' item 'b' mode 0604 lets group/others read the secret"),
        ("spec.volumes[1].projected.defaultMode", "projected volume 'p' defaultMode 0644 lets group/others read the secret"),
        (
            "spec.volumes[1].projected.sources[1].secret.items[1].mode",
            "projected volume 'p' secret item 'j' mode 0755 lets group/others read the secret",
        ),
    ]


def test_secret_volume_mode_in_json_manifest():
    doc = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "containers": [{"name": "c", "image": "x"}],
            "volumes": [
                {"name": "a", "secret": {"secretName": "a", "defaultMode": 420}},
                {"name": "b", "secret": {"defaultMode": 256}},
            ],
        },
    }
    result, _ = scan_text(json.dumps(doc, indent=2), name="pod.json", only=["KW-S008"])
    assert [(f.path_str, f.message) for f in result.findings] == [
        ("spec.volumes[0].secret.defaultMode", "secret volume 'a' defaultMode 0644 lets group/others read the secret")
    ]


def test_credentials_in_args_forms():
    text = _pod(
        f"""  containers:
    - name: app
      image: app:1
      command: ["app", "--token", "Zq8Rk3Tv9Ly2Wm5Pn7Xc", "--password=Wint3r-is-c0ming"]
      args:
        - --log-level=debug
        - --db-url=postgres://app:Wint3r-is-c0ming@db/app
        - sh -c 'mysql --user root --password Wint3r-is-c0ming'
        - --github-token={GITHUB}
        - -pWint3r-is-c0ming
        - -p
        - Wint3r-is-c0ming
        - --password-file=/run/secrets/db
        - --password=$(DB_PASSWORD)
        - --secret-name
        - db-credentials
        - --token-ttl
        - "3600"
"""
    )
    assert _messages(text, "KW-S009") == [
        ("spec.containers[0].command[2]", "container 'app' command[2] holds a credential: token (20 chars)"),
        ("spec.containers[0].command[3]", "container 'app' command[3] holds a credential: password (16 chars)"),
        ("spec.containers[0].args[1]", "container 'app' args[1] holds a credential: password in URL (16 chars)"),
        ("spec.containers[0].args[2]", "container 'app' args[2] holds a credential: password (16 chars)"),
        ("spec.containers[0].args[3]", "container 'app' args[3] holds a credential: GitHub token (ghp_…, 40 chars)"),
    ]


def test_checks_survive_wrong_types():
    text = _pod(
        """  containers:
    - name: c
      image: x
      env: [{name: [1], value: {a: 1}}, {name: X, valueFrom: [1]}, "str", {name: P, value: 12345678}]
      envFrom: [{secretRef: "x"}, 1]
      command: [1, null, ["--password", "x"]]
      args: "--password=Wint3r-is-c0ming"
      volumeMounts: [{name: [1]}, {name: s, readOnly: "yes"}]
  volumes: [{name: s, secret: "x"}, {name: p, projected: {sources: "x", defaultMode: "0644"}}, 1]
"""
    )
    result, _ = scan_text(text, only=["tag:secrets"])
    assert not result.errors
    assert [(f.check_id, f.path_str) for f in result.findings] == [("KW-S007", "spec.containers[0].volumeMounts[1].readOnly")]


def test_scan_paths_gives_the_same_findings(tmp_path):
    """Release-safety: through the runner (which releases resources after checking) findings are unchanged."""
    checks = select_checks(Config(), ["tag:secrets"])
    paths = sorted(str(p) for p in (DATA / "checks").glob("KW-S*/fail.yaml"))
    released = runner.scan_paths(paths, checks, Config(), jobs=1)
    direct = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            result, _ = scan_text(fh.read(), only=["tag:secrets"])
        direct += [(f.check_id, f.path_str, f.message, f.line) for f in result.findings]
    got = [(f.check_id, f.path_str, f.message, f.line) for f in released.findings]
    assert sorted(got) == sorted(direct) and len(got) >= 9


def test_catalogue_metadata():
    ours = [c for c in all_checks() if c.id.startswith("KW-S")]
    assert [c.id for c in ours] == [f"KW-S00{i}" for i in range(1, 10)]
    for c in ours:
        assert "secrets" in c.tags and "mitre" in c.refs and ("cis" in c.refs or "nsa" in c.refs), c.id
        assert c.example and c.rationale and c.remediation
    assert {c.id: str(c.severity) for c in ours} == {
        "KW-S001": "medium", "KW-S002": "medium", "KW-S003": "critical", "KW-S004": "critical", "KW-S005": "high",
        "KW-S006": "medium", "KW-S007": "low", "KW-S008": "low", "KW-S009": "critical",
    }  # fmt: skip
    assert secrets.ANNOTATED_KINDS >= {"Deployment", "Service", "ConfigMap", "Secret", "ValidatingWebhookConfiguration"}


# --------------------------------------------------------------------------- redaction in every report


LEAKS = {
    "password": "Wint3r-is-c0ming",
    "aws": AWS_KEY_ID,
    "github": GITHUB,
    "slack": SLACK,
    "stripe": STRIPE,
    "gitlab": GITLAB,
    "jwt": JWT,
    "pem": PEM_BODY,
    "url": "Rabb1tPa55w0rd",
    "arg": "Zq8Rk3Tv9Ly2Wm5Pn7Xc",
    "secret-data": "S3cr3t-D4ta-V4lue",
}
LEAKY_MANIFEST = f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: leaky
  annotations:
    acme.io/deploy-token: {LEAKS["gitlab"]}
spec:
  selector: {{matchLabels: {{app: leaky}}}}
  template:
    metadata:
      labels: {{app: leaky}}
      annotations:
        acme.io/session: {LEAKS["jwt"]}
    spec:
      containers:
        - name: app
          image: app:1
          env:
            - {{name: DB_PASSWORD, value: {LEAKS["password"]}}}
            - {{name: AWS_ACCESS_KEY_ID, value: {LEAKS["aws"]}}}
            - {{name: BROKER_URL, value: "amqp://app:{LEAKS["url"]}@mq/"}}
          args: ["--api-token", "{LEAKS["arg"]}", "--gh={LEAKS["github"]}"]
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: leaky}}
data:
  notify.ini: |
    slack = {LEAKS["slack"]}
    stripe = {LEAKS["stripe"]}
  key.pem: |
    -----BEGIN RSA PRIVATE KEY-----
    {PEM_BODY}
    -----END RSA PRIVATE KEY-----
---
apiVersion: v1
kind: Secret
metadata: {{name: leaky}}
data:
  password: {_b64(LEAKS["secret-data"])}
stringData:
  api: {LEAKS["secret-data"]}
"""


def _windows(secret: str, size: int = 6):
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


@pytest.mark.parametrize("fmt", ["table", "json", "sarif", "junit"])
def test_no_secret_text_in_any_report(tmp_manifests, fmt):
    path = tmp_manifests("leaky.yaml", LEAKY_MANIFEST)
    res = run_cli("scan", str(path), "--no-config", "--check", "tag:secrets", "-f", fmt)
    out = res.stdout + res.stderr
    assert res.exit_code == 1, out
    for check_id in ("KW-S003", "KW-S004", "KW-S005", "KW-S006", "KW-S009"):
        assert check_id in out
    assert out.count("holds a credential") >= 9
    for name, secret in LEAKS.items():
        assert secret not in out, name
        leaked = [w for w in _windows(secret) if w in out]
        assert not leaked, (name, leaked)
    assert _b64(LEAKS["secret-data"]) not in out
