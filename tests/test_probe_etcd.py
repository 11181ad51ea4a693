"""The probe against a real etcd (Debian package etcd-server), started here on
loopback: without TLS it must be reported exposed, with TLS and client-certificate
authentication protected. In CI etcd must be installed: these tests fail, never skip."""

from __future__ import annotations

import time

import pytest

from helpers import SUMMARY
from kubeward.probe import Target, probe
from probe_fixtures import Etcd, make_pki, require_etcd

require_etcd(globals())  # in CI etcd must be there: never pass by skipping

TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("etcd-pki"))


@pytest.fixture(scope="module", autouse=True)
def report_timings():
    start = time.monotonic()
    yield
    SUMMARY.append(
        f"etcd probe tests: {time.monotonic() - start:.1f}s ({', '.join(f'{k} {v:.2f}s' for k, v in TIMINGS.items())})"
    )


def probe_etcd(port: int):
    [result] = probe([Target("127.0.0.1", port, "etcd")], timeout=2)
    return result


def test_plain_http_etcd_is_exposed(tmp_path):
    start = time.monotonic()
    with Etcd(tmp_path / "etcd") as etcd:
        TIMINGS["plain start"] = time.monotonic() - start
        etcd.put(b"/registry/secrets/default/db", b"hunter2")
        result = probe_etcd(etcd.client_port)
    assert result.verdict == "exposed" and result.observation.scheme == "http"
    assert {f.rule.id for f in result.findings} == {"KW-X030", "KW-X031"}
    [readable] = [f for f in result.findings if f.rule.id == "KW-X030"]
    assert "1 key(s)" in readable.evidence[0]
    # the probe counted keys; it never read one
    assert not any(b"hunter2" in ex.body or b"registry" in ex.body for ex in result.observation.exchanges)


def test_tls_with_client_cert_auth_is_protected(tmp_path, pki):
    start = time.monotonic()
    with Etcd(tmp_path / "etcd", pki=pki) as etcd:
        TIMINGS["tls start"] = time.monotonic() - start
        result = probe_etcd(etcd.client_port)
        etcd.put(b"/probe/ok", b"1")  # with the client certificate the same port works: the probe saw auth, not an outage
    assert result.verdict == "protected" and result.findings == []
    assert result.observation.error == "client-cert-required"
    tls = result.observation.tls
    assert tls is not None and tls.subject == "CN=etcd-test-server" and tls.issuer == "CN=kubeward-test-ca"


def test_tls_without_client_cert_auth_is_exposed(tmp_path, pki):
    with Etcd(tmp_path / "etcd", pki=pki, client_cert_auth=False) as etcd:
        result = probe_etcd(etcd.client_port)
    assert result.observation.scheme == "https"
    assert {f.rule.id for f in result.findings} == {"KW-X030", "KW-X032"}


def test_cli_exit_codes_against_real_etcd(tmp_path, pki):
    from helpers import run_cli

    with Etcd(tmp_path / "plain") as plain, Etcd(tmp_path / "tls", pki=pki) as tls:
        exposed = run_cli("probe", "127.0.0.1", "-p", f"{plain.client_port}:etcd", "--timeout", "10")
        protected = run_cli("probe", "localhost", "-p", f"{tls.client_port}:etcd", "--timeout", "10")
    assert exposed.exit_code == 1 and "KW-X030" in exposed.stdout and "exposed" in exposed.stdout, exposed.stdout
    assert protected.exit_code == 0, protected.stdout
    assert "protected" in protected.stdout and "client certificate" in protected.stdout, protected.stdout
