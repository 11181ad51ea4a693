"""`kubeward node etcd-encryption` against a real etcd (Debian etcd-server) started on
loopback, without and with TLS client-certificate authentication. In CI etcd must be
installed: these tests fail, never skip."""

from __future__ import annotations

import json
import time

import pytest

from helpers import SUMMARY, run_cli
from kubeward.node.encryption import EtcdError, scan_etcd
from probe_fixtures import Etcd, make_pki, require_etcd

require_etcd(globals())

PLAIN = {
    "/registry/secrets/default/db-password": b"k8s\x00\n\x0c\n\x02v1\x12\x06Secret hunter2-plain",
    "/registry/secrets/kube-system/bootstrap-token-abcdef": b"k8s\x00 token-plain-value",
}
ENCRYPTED = {
    "/registry/secrets/default/api-key": b"k8s:enc:aescbc:v1:key1:\x8a\x13ciphertext-bytes",
    "/registry/secrets/prod/tls": b"k8s:enc:aescbc:v1:key1:\x01\x02\x03",
    "/registry/secrets/prod/other": b"k8s:enc:secretbox:v1:key2:\x00\xff",
}
OUTSIDE = {"/registry/configmaps/default/cm": b"plain-configmap", "/registry/secretsX/no": b"plain"}


def _fill(etcd: Etcd) -> None:
    for key, value in {**PLAIN, **ENCRYPTED, **OUTSIDE}.items():
        etcd.put(key.encode(), value)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("node-etcd-pki"))


@pytest.fixture(scope="module")
def plain_etcd(tmp_path_factory):
    start = time.monotonic()
    with Etcd(tmp_path_factory.mktemp("etcd-plain")) as etcd:
        _fill(etcd)
        SUMMARY.append(f"node etcd-encryption: plain etcd up and filled in {time.monotonic() - start:.2f}s")
        yield etcd


@pytest.fixture(scope="module")
def tls_etcd(tmp_path_factory, pki):
    with Etcd(tmp_path_factory.mktemp("etcd-tls"), pki=pki) as etcd:
        _fill(etcd)
        yield etcd


def test_reports_exactly_the_plain_secrets(plain_etcd):
    result = scan_etcd(plain_etcd.client_url)
    assert sorted(result.plain) == sorted(PLAIN)
    assert result.total == len(PLAIN) + len(ENCRYPTED)
    assert result.encrypted == {"aescbc:v1:key1": 2, "secretbox:v1:key2": 1}


def test_pagination_reads_every_key(plain_etcd):
    result = scan_etcd(plain_etcd.client_url, page=1)
    assert sorted(result.plain) == sorted(PLAIN) and result.total == 5


def test_cli_never_prints_a_value(plain_etcd):
    for fmt in ("table", "json"):
        result = run_cli("node", "etcd-encryption", "--endpoint", plain_etcd.client_url, "-f", fmt)
        assert result.exit_code == 1
        for value in [*PLAIN.values(), *ENCRYPTED.values()]:
            assert value.split(b":")[-1].decode(errors="replace") not in result.output
        assert "hunter2" not in result.output and "token-plain-value" not in result.output
        for key in PLAIN:
            assert key in result.output
    doc = json.loads(run_cli("node", "etcd-encryption", "--endpoint", plain_etcd.client_url, "-f", "json").output)
    assert sorted(doc["plain"]) == sorted(PLAIN)


def test_tls_with_client_certificate(tls_etcd, pki):
    result = scan_etcd(tls_etcd.client_url, cacert=str(pki.ca), cert=str(pki.client_cert), key=str(pki.client_key))
    assert sorted(result.plain) == sorted(PLAIN)
    cli = run_cli("node", "etcd-encryption", "--endpoint", tls_etcd.client_url, "--cacert", str(pki.ca),
                  "--cert", str(pki.client_cert), "--key", str(pki.client_key), "-f", "json")
    assert cli.exit_code == 1 and sorted(json.loads(cli.output)["plain"]) == sorted(PLAIN)


def test_tls_without_client_certificate_fails_cleanly(tls_etcd, pki):
    with pytest.raises(EtcdError, match="client certificate"):
        scan_etcd(tls_etcd.client_url, cacert=str(pki.ca), timeout=5)
    cli = run_cli("node", "etcd-encryption", "--endpoint", tls_etcd.client_url, "--cacert", str(pki.ca), "--timeout", "5")
    assert cli.exit_code == 2
    assert cli.output.startswith("kubeward: error:") and "--cert" in cli.output and "Traceback" not in cli.output


def test_unreachable_endpoint_fails_cleanly():
    from probe_fixtures import free_port

    cli = run_cli("node", "etcd-encryption", "--endpoint", f"http://127.0.0.1:{free_port()}", "--timeout", "2")
    assert cli.exit_code == 2 and cli.output.startswith("kubeward: error:")
