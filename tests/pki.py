"""A throwaway PKI for the tests: a CA and the certificates it signs (servers, clients).

Every TLS test (the recorded API server, the admission webhook, the probes, etcd)
takes its certificates from here.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOOPBACK = (x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
_USAGES = {"server": ExtendedKeyUsageOID.SERVER_AUTH, "client": ExtendedKeyUsageOID.CLIENT_AUTH}

CA = tuple  # (certificate, private key)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _builder(subject: str, issuer: x509.Name, public_key) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
    )


def new_ca(common_name: str = "kubeward-test-ca") -> CA:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _builder(common_name, _name(common_name), key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def ca_pem(ca: CA) -> bytes:
    return ca[0].public_bytes(serialization.Encoding.PEM)


def key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def issue(
    ca: CA,
    directory: Path,
    stem: str = "tls",
    common_name: str = "kubeward-test",
    *,
    usages: tuple[str, ...] = ("server",),
    sans: tuple[x509.GeneralName, ...] = LOOPBACK,
) -> tuple[Path, Path]:
    """A certificate signed by ``ca`` written to ``stem``.crt / ``stem``.key; returns their paths.

    Files are written then renamed, as a kubelet updates a mounted Secret, so a
    server watching them never reads half a file (the rotation tests rely on it)."""
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    builder = _builder(common_name, ca_cert.subject, key.public_key()).add_extension(
        x509.ExtendedKeyUsage([_USAGES[u] for u in usages]), critical=False
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    for path, data in ((key_path, key_pem(key)), (cert_path, cert.public_bytes(serialization.Encoding.PEM))):
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return cert_path, key_path


@dataclass
class Pki:
    dir: Path
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def make_pki(directory: Path, *, server_cn: str = "etcd-test-server") -> Pki:
    """A CA (ca.crt), a server certificate for 127.0.0.1/localhost and a client certificate."""
    ca = new_ca()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ca.crt").write_bytes(ca_pem(ca))
    # etcd's gRPC gateway dials its own gRPC server with the server certificate, so with
    # --client-cert-auth that certificate must be valid for client auth too (as etcd's docs say)
    server = issue(ca, directory, "server", server_cn, usages=("server", "client"))
    client = issue(ca, directory, "client", "kubeward-test-client", usages=("client",), sans=())
    return Pki(directory, directory / "ca.crt", *server, *client)
