"""CIS Kubernetes Benchmark checks (v1.12 numbering) on effective configuration.

Each result names the effective value and where it came from, so a "fail"
can be fixed at its source (a flag in a manifest, a key in a drop-in) and a
"pass" that rests on a built-in default says so. Ids are the benchmark's
(numbering as in kube-bench cfg/cis-1.12); the few settings v1.12 does not
number carry kubeward ids KW-H0xx. Checks the benchmark marks Manual are
still evaluated where the effective configuration decides them, and reported
"manual" where a person has to judge (request timeout, event QPS).
"""

from __future__ import annotations

import stat as statmod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model import Severity
from .discover import Discovery, host_path
from .effective import Effective, Source, Value, resolve
from .encryption import STRONG, EncryptionAnalysis, load_config
from .kubelet import KubeletConfig, parse_duration, resolve_kubelet

BENCHMARK = "CIS Kubernetes Benchmark v1.12"
PASS, FAIL, MANUAL = "pass", "fail", "manual"

# CIS 1.2.29 / 4.2.12: the strong cipher suites
APISERVER_CIPHERS = frozenset(
    "TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384,TLS_CHACHA20_POLY1305_SHA256,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,"
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,"
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305,"
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256".split(",")
)
KUBELET_CIPHERS = frozenset(
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,"
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384".split(",")
)


@dataclass
class Result:
    id: str
    component: str
    title: str
    status: str  # pass | fail | manual
    severity: Severity
    value: Any
    source: str
    message: str
    remediation: str
    file: str = ""  # the file holding the configuration (for reports)
    notes: list[str] = field(default_factory=list)

    @property
    def cis(self) -> bool:
        return not self.id.startswith("KW-")

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "benchmark": BENCHMARK if self.cis else "kubeward",
            "component": self.component,
            "title": self.title,
            "status": self.status,
            "severity": str(self.severity),
            "value": self.value,
            "source": self.source,
            "message": self.message,
            "remediation": self.remediation,
            "file": self.file or None,
            "notes": self.notes,
        }


@dataclass
class NodeContext:
    discovery: Discovery
    apiserver: Effective | None = None
    controller_manager: Effective | None = None
    scheduler: Effective | None = None
    etcd: Effective | None = None
    kubelet: KubeletConfig | None = None
    encryption: EncryptionAnalysis | None = None
    root: Path | None = None
    errors: list[str] = field(default_factory=list)


@dataclass
class Spec:
    id: str
    component: str
    title: str
    severity: Severity
    remediation: str
    fn: Callable[[Any, NodeContext], tuple[str, Value | None, str]]  # -> (status, value, message)
    files: bool = False  # a file permission check: fn yields many results


SPECS: list[Spec] = []


def check(id: str, component: str, title: str, severity: Severity, remediation: str):
    def register(fn):
        SPECS.append(Spec(id, component, title, severity, remediation, fn))
        return fn

    return register


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | set | tuple):
        return ",".join(str(v) for v in value) if value else "(empty)"
    if value in (None, ""):
        return "(not set)"
    return str(value)


def _is(v: Value, expected: Any) -> tuple[str, Value, str]:
    ok = v.value == expected
    return (PASS if ok else FAIL), v, f"is {_show(v.value)}" + ("" if ok else f", should be {_show(expected)}")


def _set(*values: Value) -> tuple[str, Value, str]:
    missing = [v.source.key for v in values if not v.is_set]
    first = values[0]
    if missing:
        return FAIL, first, "not set: " + ", ".join(f"--{m}" for m in missing)
    return PASS, first, "set to " + ", ".join(_show(v.value) for v in values)


def _unset(v: Value) -> tuple[str, Value, str]:
    if v.is_set and v.source.kind in ("flag", "config", "drop-in", "env"):
        return FAIL, v, f"set to {_show(v.value)}"
    return PASS, v, "not set"


def _plugin(eff: Effective, name: str, want: bool) -> tuple[str, Value, str]:
    enabled, source = eff.admission_plugins()
    on = name in enabled
    state = "enabled" if on else "not enabled"
    return (PASS if on == want else FAIL), Value(f"{name} {state}", source), f"{name} is {state}"


# -- API server (1.2.x) ----------------------------------------------------------

API = "apiserver"
_API_FILE = "Edit the API server's static pod manifest (/etc/kubernetes/manifests/kube-apiserver.yaml) and "


@check("1.2.1", API, "Ensure that the --anonymous-auth argument is set to false", Severity.MEDIUM,
       _API_FILE + "set --anonymous-auth=false (or restrict anonymous requests with an AuthenticationConfiguration).")
def _anon(eff, ctx):
    if eff.flags.get("authentication-config"):
        return MANUAL, eff.flag("authentication-config"), "anonymous access is configured in --authentication-config"
    return _is(eff.flag("anonymous-auth"), False)


@check("1.2.2", API, "Ensure that the --token-auth-file parameter is not set", Severity.HIGH,
       _API_FILE + "remove --token-auth-file; use client certificates, OIDC or webhook authentication.")
def _token_file(eff, ctx):
    return _unset(eff.flag("token-auth-file"))


@check("1.2.3", API, "Ensure that the DenyServiceExternalIPs admission plugin is set", Severity.MEDIUM,
       _API_FILE + "add DenyServiceExternalIPs to --enable-admission-plugins.")
def _deny_external_ips(eff, ctx):
    return _plugin(eff, "DenyServiceExternalIPs", True)


@check("1.2.4", API, "Ensure that the --kubelet-client-certificate and --kubelet-client-key arguments are set",
       Severity.HIGH, _API_FILE + "set --kubelet-client-certificate and --kubelet-client-key.")
def _kubelet_client(eff, ctx):
    return _set(eff.flag("kubelet-client-certificate"), eff.flag("kubelet-client-key"))


@check("1.2.5", API, "Ensure that the --kubelet-certificate-authority argument is set", Severity.HIGH,
       _API_FILE + "set --kubelet-certificate-authority to the CA that signs the kubelets' serving certificates.")
def _kubelet_ca(eff, ctx):
    return _set(eff.flag("kubelet-certificate-authority"))


def _authz_modes(eff) -> tuple[Value, bool]:
    if eff.flags.get("authorization-config"):
        return eff.flag("authorization-config"), False
    return eff.flag("authorization-mode"), True


@check("1.2.6", API, "Ensure that the --authorization-mode argument is not set to AlwaysAllow", Severity.CRITICAL,
       _API_FILE + "set --authorization-mode=Node,RBAC.")
def _authz_not_always(eff, ctx):
    v, known = _authz_modes(eff)
    if not known:
        return MANUAL, v, "authorizers are configured in --authorization-config"
    bad = "AlwaysAllow" in v.value
    return (FAIL if bad else PASS), v, f"modes {_show(v.value)}"


@check("1.2.7", API, "Ensure that the --authorization-mode argument includes Node", Severity.HIGH,
       _API_FILE + "set --authorization-mode=Node,RBAC.")
def _authz_node(eff, ctx):
    v, known = _authz_modes(eff)
    if not known:
        return MANUAL, v, "authorizers are configured in --authorization-config"
    return (PASS if "Node" in v.value else FAIL), v, f"modes {_show(v.value)}"


@check("1.2.8", API, "Ensure that the --authorization-mode argument includes RBAC", Severity.HIGH,
       _API_FILE + "set --authorization-mode=Node,RBAC.")
def _authz_rbac(eff, ctx):
    v, known = _authz_modes(eff)
    if not known:
        return MANUAL, v, "authorizers are configured in --authorization-config"
    return (PASS if "RBAC" in v.value else FAIL), v, f"modes {_show(v.value)}"


@check("1.2.9", API, "Ensure that the admission control plugin EventRateLimit is set", Severity.LOW,
       _API_FILE + "add EventRateLimit to --enable-admission-plugins and configure it in --admission-control-config-file.")
def _event_rate(eff, ctx):
    status, value, message = _plugin(eff, "EventRateLimit", True)
    if status == PASS and not eff.flag("admission-control-config-file").is_set:
        return FAIL, value, "EventRateLimit is enabled but --admission-control-config-file (its limits) is not set"
    return status, value, message


@check("1.2.10", API, "Ensure that the admission control plugin AlwaysAdmit is not set", Severity.HIGH,
       _API_FILE + "remove AlwaysAdmit from --enable-admission-plugins.")
def _always_admit(eff, ctx):
    return _plugin(eff, "AlwaysAdmit", False)


@check("1.2.11", API, "Ensure that the admission control plugin AlwaysPullImages is set", Severity.LOW,
       _API_FILE + "add AlwaysPullImages to --enable-admission-plugins (weigh the registry load first).")
def _always_pull(eff, ctx):
    return _plugin(eff, "AlwaysPullImages", True)


@check("1.2.12", API, "Ensure that the admission control plugin ServiceAccount is set", Severity.MEDIUM,
       _API_FILE + "remove ServiceAccount from --disable-admission-plugins.")
def _sa_plugin(eff, ctx):
    return _plugin(eff, "ServiceAccount", True)


@check("1.2.13", API, "Ensure that the admission control plugin NamespaceLifecycle is set", Severity.MEDIUM,
       _API_FILE + "remove NamespaceLifecycle from --disable-admission-plugins.")
def _ns_lifecycle(eff, ctx):
    return _plugin(eff, "NamespaceLifecycle", True)


@check("1.2.14", API, "Ensure that the admission control plugin NodeRestriction is set", Severity.HIGH,
       _API_FILE + "add NodeRestriction to --enable-admission-plugins.")
def _node_restriction(eff, ctx):
    return _plugin(eff, "NodeRestriction", True)


@check("1.2.15", API, "Ensure that the --profiling argument is set to false", Severity.LOW, _API_FILE + "set --profiling=false.")
def _api_profiling(eff, ctx):
    return _is(eff.flag("profiling"), False)


@check("1.2.16", API, "Ensure that the --audit-log-path argument is set", Severity.MEDIUM,
       _API_FILE + "set --audit-log-path (e.g. /var/log/kubernetes/audit/audit.log) and mount it.")
def _audit_path(eff, ctx):
    if not eff.flag("audit-log-path").is_set and eff.flag("audit-webhook-config-file").is_set:
        return PASS, eff.flag("audit-webhook-config-file"), "audit events go to a webhook backend"
    return _set(eff.flag("audit-log-path"))


def _at_least(v: Value, minimum: int, what: str) -> tuple[str, Value, str]:
    try:
        n = int(v.value)
    except (TypeError, ValueError):
        return FAIL, v, f"{_show(v.value)} is not a number"
    return (PASS if n >= minimum else FAIL), v, f"{what} {n}" + ("" if n >= minimum else f", should be at least {minimum}")


@check("1.2.17", API, "Ensure that the --audit-log-maxage argument is set to 30 or as appropriate", Severity.LOW,
       _API_FILE + "set --audit-log-maxage=30 (days).")
def _audit_age(eff, ctx):
    return _at_least(eff.flag("audit-log-maxage"), 30, "days")


@check("1.2.18", API, "Ensure that the --audit-log-maxbackup argument is set to 10 or as appropriate", Severity.LOW,
       _API_FILE + "set --audit-log-maxbackup=10.")
def _audit_backup(eff, ctx):
    return _at_least(eff.flag("audit-log-maxbackup"), 10, "files")


@check("1.2.19", API, "Ensure that the --audit-log-maxsize argument is set to 100 or as appropriate", Severity.LOW,
       _API_FILE + "set --audit-log-maxsize=100 (MB).")
def _audit_size(eff, ctx):
    return _at_least(eff.flag("audit-log-maxsize"), 100, "MB")


@check("3.2.1", API, "Ensure that a minimal audit policy is created (--audit-policy-file)", Severity.MEDIUM,
       _API_FILE + "set --audit-policy-file to a policy logging at least Metadata for Secrets and RequestResponse "
       "for RBAC and pod exec; check it with `kubeward audit policy check`.")
def _audit_policy(eff, ctx):
    v = eff.flag("audit-policy-file")
    if not v.is_set:
        return FAIL, v, "no audit policy: the API server records no audit events"
    return PASS, v, f"policy {v.value}"


@check("1.2.20", API, "Ensure that the --request-timeout argument is set as appropriate", Severity.INFO,
       _API_FILE + "set --request-timeout only if needed (e.g. --request-timeout=300s).")
def _request_timeout(eff, ctx):
    v = eff.flag("request-timeout")
    seconds = parse_duration(v.value)
    if seconds is None:
        return FAIL, v, f"{_show(v.value)} is not a duration"
    return MANUAL, v, f"{_show(v.value)} ({seconds:g}s); judge whether it fits"


@check("1.2.21", API, "Ensure that the --service-account-lookup argument is set to true", Severity.MEDIUM,
       _API_FILE + "remove --service-account-lookup=false (the default is true).")
def _sa_lookup(eff, ctx):
    return _is(eff.flag("service-account-lookup"), True)


@check("1.2.22", API, "Ensure that the --service-account-key-file argument is set as appropriate", Severity.MEDIUM,
       _API_FILE + "set --service-account-key-file to the public key(s) verifying service account tokens.")
def _sa_key(eff, ctx):
    return _set(eff.flag("service-account-key-file"))


@check("1.2.23", API, "Ensure that the --etcd-certfile and --etcd-keyfile arguments are set as appropriate", Severity.HIGH,
       _API_FILE + "set --etcd-certfile and --etcd-keyfile to the API server's etcd client certificate.")
def _etcd_client(eff, ctx):
    return _set(eff.flag("etcd-certfile"), eff.flag("etcd-keyfile"))


@check("1.2.24", API, "Ensure that the --tls-cert-file and --tls-private-key-file arguments are set as appropriate",
       Severity.MEDIUM, _API_FILE + "set --tls-cert-file and --tls-private-key-file.")
def _api_tls(eff, ctx):
    return _set(eff.flag("tls-cert-file"), eff.flag("tls-private-key-file"))


@check("1.2.25", API, "Ensure that the --client-ca-file argument is set as appropriate", Severity.HIGH,
       _API_FILE + "set --client-ca-file.")
def _client_ca(eff, ctx):
    return _set(eff.flag("client-ca-file"))


@check("1.2.26", API, "Ensure that the --etcd-cafile argument is set as appropriate", Severity.HIGH,
       _API_FILE + "set --etcd-cafile to the CA of etcd's serving certificate.")
def _etcd_ca(eff, ctx):
    return _set(eff.flag("etcd-cafile"))


@check("1.2.27", API, "Ensure that the --encryption-provider-config argument is set as appropriate", Severity.HIGH,
       _API_FILE + "set --encryption-provider-config (`kubeward generate encryption-config` writes one).")
def _enc_set(eff, ctx):
    return _set(eff.flag("encryption-provider-config"))


@check("1.2.28", API, "Ensure that encryption providers are appropriately configured", Severity.HIGH,
       "Make aescbc, secretbox or (preferably) KMS v2 the FIRST provider for secrets, then rewrite all Secrets: "
       "kubectl get secrets -A -o json | kubectl replace -f -")
def _enc_providers(eff, ctx):
    v = eff.flag("encryption-provider-config")
    analysis = ctx.encryption
    if not v.is_set and analysis is None:
        return FAIL, v, "no encryption configuration: secrets are stored in plain text"
    if analysis is None:
        return MANUAL, v, "the configuration file could not be located on this host (pass --encryption-config)"
    src = Value(v.value, v.source) if v.is_set else Value(analysis.file, Source("flag", key="encryption-config"))
    if analysis.error:
        return FAIL, src, f"{analysis.file}: {analysis.error}"
    writer = analysis.writer("secrets")
    label = writer.label() if writer else "none"
    value = Value(label, Source("config", analysis.file, "resources[secrets].providers[0]"))
    fails = [i.message for i in analysis.issues if i.level == "fail"]
    if writer is None or writer.type not in STRONG or fails:
        return FAIL, value, "; ".join(fails) or f"secrets are written with {label}"
    if writer.type == "kms" and writer.kms_version != "v2":
        return FAIL, value, f"secrets are written with deprecated KMS v1 ({writer.name})"
    return PASS, value, f"secrets are written with {label}"


@check("1.2.29", API, "Ensure that the API Server only makes use of Strong Cryptographic Ciphers", Severity.MEDIUM,
       _API_FILE + "set --tls-cipher-suites to a subset of the CIS list (ECDHE with GCM or CHACHA20, TLS 1.3).")
def _api_ciphers(eff, ctx):
    v = eff.flag("tls-cipher-suites")
    if not v.is_set:
        return MANUAL, v, "not set: Go's default cipher suites are used"
    weak = sorted(set(v.value) - APISERVER_CIPHERS)
    return (FAIL if weak else PASS), v, ("weak: " + ",".join(weak)) if weak else "all strong"


@check("1.2.30", API, "Ensure that the --service-account-extend-token-expiration parameter is set to false", Severity.LOW,
       _API_FILE + "set --service-account-extend-token-expiration=false.")
def _extend_token(eff, ctx):
    return _is(eff.flag("service-account-extend-token-expiration"), False)


@check("KW-H001", API, "Ensure that the API server's TLS minimum version is 1.2 or later", Severity.MEDIUM,
       _API_FILE + "set --tls-min-version=VersionTLS12 (or VersionTLS13).")
def _tls_min(eff, ctx):
    v = eff.flag("tls-min-version")
    if not v.is_set:
        return PASS, Value("VersionTLS12", Source("default", detail="Go crypto/tls server default")), "TLS 1.2 (default)"
    ok = v.value in ("VersionTLS12", "VersionTLS13")
    return (PASS if ok else FAIL), v, f"is {v.value}"


@check("KW-H002", API, "Ensure that the API server has no insecure (plain HTTP) port", Severity.CRITICAL,
       _API_FILE + "remove --insecure-port and --insecure-bind-address (the insecure port was removed in v1.24).")
def _insecure_port(eff, ctx):
    port, address = eff.flag("insecure-port"), eff.flag("insecure-bind-address")
    if port.is_set and str(port.value) != "0":
        return FAIL, port, f"insecure port {port.value}: unauthenticated, unencrypted access"
    if address.is_set:
        return FAIL, address, f"insecure bind address {address.value}"
    return PASS, port, "no insecure port"


# -- controller manager (1.3.x) and scheduler (1.4.x) -------------------------------

CM = "controller-manager"
_CM_FILE = "Edit the controller manager's static pod manifest (/etc/kubernetes/manifests/kube-controller-manager.yaml) and "
_SCHED_FILE = "Edit the scheduler's static pod manifest (/etc/kubernetes/manifests/kube-scheduler.yaml) and "


@check("1.3.1", CM, "Ensure that the --terminated-pod-gc-threshold argument is set as appropriate", Severity.LOW,
       _CM_FILE + "set --terminated-pod-gc-threshold (e.g. 10).")
def _gc(eff, ctx):
    v = eff.flag("terminated-pod-gc-threshold")
    if not v.explicit:
        return MANUAL, v, f"default {v.value}: judge whether terminated pods are kept too long"
    return PASS, v, f"set to {v.value}"


@check("1.3.2", CM, "Ensure that the --profiling argument is set to false", Severity.LOW, _CM_FILE + "set --profiling=false.")
def _cm_profiling(eff, ctx):
    return _is(eff.flag("profiling"), False)


@check("1.3.3", CM, "Ensure that the --use-service-account-credentials argument is set to true", Severity.MEDIUM,
       _CM_FILE + "set --use-service-account-credentials=true.")
def _cm_sa_creds(eff, ctx):
    return _is(eff.flag("use-service-account-credentials"), True)


@check("1.3.4", CM, "Ensure that the --service-account-private-key-file argument is set as appropriate", Severity.MEDIUM,
       _CM_FILE + "set --service-account-private-key-file.")
def _cm_sa_key(eff, ctx):
    return _set(eff.flag("service-account-private-key-file"))


@check("1.3.5", CM, "Ensure that the --root-ca-file argument is set as appropriate", Severity.MEDIUM,
       _CM_FILE + "set --root-ca-file to the cluster CA bundle.")
def _cm_root_ca(eff, ctx):
    return _set(eff.flag("root-ca-file"))


@check("1.3.6", CM, "Ensure that the RotateKubeletServerCertificate argument is set to true", Severity.MEDIUM,
       _CM_FILE + "remove RotateKubeletServerCertificate=false from --feature-gates.")
def _cm_rotate(eff, ctx):
    gates = eff.gates()
    v = gates.get("RotateKubeletServerCertificate") or Value(True, Source("default", detail="feature gate default (true)"))
    return _is(v, True)


@check("1.3.7", CM, "Ensure that the --bind-address argument is set to 127.0.0.1", Severity.MEDIUM,
       _CM_FILE + "set --bind-address=127.0.0.1.")
def _cm_bind(eff, ctx):
    return _is(eff.flag("bind-address"), "127.0.0.1")


@check("1.4.1", "scheduler", "Ensure that the --profiling argument is set to false", Severity.LOW,
       _SCHED_FILE + "set --profiling=false (or enableProfiling: false in its --config file).")
def _sched_profiling(eff, ctx):
    return _is(eff.flag("profiling"), False)


@check("1.4.2", "scheduler", "Ensure that the --bind-address argument is set to 127.0.0.1", Severity.MEDIUM,
       _SCHED_FILE + "set --bind-address=127.0.0.1.")
def _sched_bind(eff, ctx):
    return _is(eff.flag("bind-address"), "127.0.0.1")


# -- etcd (2.x) -----------------------------------------------------------------------

_ETCD_FILE = "Edit etcd's static pod manifest (/etc/kubernetes/manifests/etcd.yaml) and "


@check("2.1", "etcd", "Ensure that the --cert-file and --key-file arguments are set as appropriate", Severity.HIGH,
       _ETCD_FILE + "set --cert-file and --key-file.")
def _etcd_tls(eff, ctx):
    return _set(eff.flag("cert-file"), eff.flag("key-file"))


@check("2.2", "etcd", "Ensure that the --client-cert-auth argument is set to true", Severity.CRITICAL,
       _ETCD_FILE + "set --client-cert-auth=true and --trusted-ca-file.")
def _etcd_cca(eff, ctx):
    return _is(eff.flag("client-cert-auth"), True)


@check("2.3", "etcd", "Ensure that the --auto-tls argument is not set to true", Severity.HIGH,
       _ETCD_FILE + "remove --auto-tls or set it to false.")
def _etcd_auto(eff, ctx):
    return _is(eff.flag("auto-tls"), False)


@check("2.4", "etcd", "Ensure that the --peer-cert-file and --peer-key-file arguments are set as appropriate",
       Severity.HIGH, _ETCD_FILE + "set --peer-cert-file and --peer-key-file.")
def _etcd_peer_tls(eff, ctx):
    return _set(eff.flag("peer-cert-file"), eff.flag("peer-key-file"))


@check("2.5", "etcd", "Ensure that the --peer-client-cert-auth argument is set to true", Severity.HIGH,
       _ETCD_FILE + "set --peer-client-cert-auth=true.")
def _etcd_peer_cca(eff, ctx):
    return _is(eff.flag("peer-client-cert-auth"), True)


@check("2.6", "etcd", "Ensure that the --peer-auto-tls argument is not set to true", Severity.HIGH,
       _ETCD_FILE + "remove --peer-auto-tls or set it to false.")
def _etcd_peer_auto(eff, ctx):
    return _is(eff.flag("peer-auto-tls"), False)


@check("2.7", "etcd", "Ensure that a unique Certificate Authority is used for etcd", Severity.MEDIUM,
       "Create a dedicated CA for etcd and set etcd's --trusted-ca-file to it (not the cluster CA of --client-ca-file).")
def _etcd_ca_unique(eff, ctx):
    ca = eff.flag("trusted-ca-file")
    if not ca.is_set:
        return FAIL, ca, "no --trusted-ca-file: client certificates are not verified"
    api = ctx.apiserver.flag("client-ca-file") if ctx.apiserver else None
    if api is None or not api.is_set:
        return MANUAL, ca, f"{ca.value}; the API server's client CA is unknown to compare with"
    if ca.value == api.value:
        return FAIL, ca, f"etcd trusts the cluster CA {api.value}: any cluster client certificate can reach etcd"
    a, b = eff.path(str(ca.value)), eff.path(str(api.value))
    try:
        if a is not None and b is not None and a.read_bytes() == b.read_bytes():
            return FAIL, ca, f"{ca.value} has the same content as the API server's client CA {api.value}"
    except OSError:
        return MANUAL, ca, f"{ca.value} differs by name from {api.value}; the files could not be compared"
    if a is None:
        return MANUAL, ca, f"{ca.value} differs by name from {api.value}; compare the files on the node"
    return PASS, ca, f"{ca.value} differs from the API server's client CA {api.value}"


# -- kubelet (4.2.x) ----------------------------------------------------------------

KUBELET = "kubelet"
_KUBELET_FIX = "In the kubelet config file (/var/lib/kubelet/config.yaml) set "


@check("4.2.1", KUBELET, "Ensure that the --anonymous-auth argument is set to false", Severity.HIGH,
       _KUBELET_FIX + "authentication.anonymous.enabled: false (and drop --anonymous-auth from the command line).")
def _k_anon(kc, ctx):
    return _is(kc.get("authentication.anonymous.enabled"), False)


@check("4.2.2", KUBELET, "Ensure that the --authorization-mode argument is not set to AlwaysAllow", Severity.CRITICAL,
       _KUBELET_FIX + "authorization.mode: Webhook.")
def _k_authz(kc, ctx):
    v = kc.get("authorization.mode")
    return (FAIL if v.value == "AlwaysAllow" else PASS), v, f"is {_show(v.value)}"


@check("4.2.3", KUBELET, "Ensure that the --client-ca-file argument is set as appropriate", Severity.HIGH,
       _KUBELET_FIX + "authentication.x509.clientCAFile to the cluster CA.")
def _k_ca(kc, ctx):
    return _set(kc.get("authentication.x509.clientCAFile"))


@check("4.2.4", KUBELET, "Verify that if defined, the --read-only-port argument is set to 0", Severity.HIGH,
       _KUBELET_FIX + "readOnlyPort: 0.")
def _k_ro(kc, ctx):
    return _is(kc.get("readOnlyPort"), 0)


@check("4.2.5", KUBELET, "Ensure that the --streaming-connection-idle-timeout argument is not set to 0", Severity.LOW,
       _KUBELET_FIX + "streamingConnectionIdleTimeout to a non-zero duration (e.g. 5m).")
def _k_stream(kc, ctx):
    v = kc.get("streamingConnectionIdleTimeout")
    seconds = parse_duration(v.value)
    if seconds is None:
        return FAIL, v, f"{_show(v.value)} is not a duration"
    return (FAIL if seconds == 0 else PASS), v, f"is {_show(v.value)}" + (": streams never time out" if seconds == 0 else "")


@check("4.2.6", KUBELET, "Ensure that the --make-iptables-util-chains argument is set to true", Severity.LOW,
       _KUBELET_FIX + "makeIPTablesUtilChains: true.")
def _k_iptables(kc, ctx):
    return _is(kc.get("makeIPTablesUtilChains"), True)


@check("4.2.7", KUBELET, "Ensure that the --hostname-override argument is not set", Severity.LOW,
       "Remove --hostname-override from the kubelet's command line (systemd drop-in or /etc/default/kubelet).")
def _k_hostname(kc, ctx):
    return _unset(kc.flag("hostname-override"))


@check("4.2.8", KUBELET, "Ensure that the eventRecordQPS argument is set to a level which ensures appropriate event capture",
       Severity.INFO, _KUBELET_FIX + "eventRecordQPS to a level that captures the events you need (0: no limit).")
def _k_qps(kc, ctx):
    v = kc.get("eventRecordQPS")
    try:
        n = int(v.value)
    except (TypeError, ValueError):
        return FAIL, v, f"{_show(v.value)} is not a number"
    if n < 0:
        return FAIL, v, f"{n} is negative"
    return MANUAL, v, f"{n} events/s" + (" (no limit)" if n == 0 else "") + "; judge whether it fits"


@check("4.2.9", KUBELET, "Ensure that the --tls-cert-file and --tls-private-key-file arguments are set as appropriate",
       Severity.MEDIUM, _KUBELET_FIX + "tlsCertFile and tlsPrivateKeyFile, or serverTLSBootstrap: true.")
def _k_tls(kc, ctx):
    cert, key = kc.get("tlsCertFile"), kc.get("tlsPrivateKeyFile")
    if cert.is_set and key.is_set:
        return PASS, cert, f"set to {cert.value}, {key.value}"
    boot = kc.get("serverTLSBootstrap")
    if boot.value is True:
        return PASS, boot, "no certificate files, but serverTLSBootstrap requests a CA-signed serving certificate"
    return FAIL, cert, "no serving certificate: the kubelet generates a self-signed one"


@check("4.2.10", KUBELET, "Ensure that the --rotate-certificates argument is not set to false", Severity.MEDIUM,
       _KUBELET_FIX + "rotateCertificates: true.")
def _k_rotate(kc, ctx):
    v = kc.get("rotateCertificates")
    status, value, message = _is(v, True)
    if status == FAIL and not v.explicit:
        message += " (the KubeletConfiguration default is false; kubeadm writes true)"
    return status, value, message


@check("4.2.11", KUBELET, "Verify that the RotateKubeletServerCertificate argument is set to true", Severity.MEDIUM,
       _KUBELET_FIX + "serverTLSBootstrap: true and keep the RotateKubeletServerCertificate feature gate on; approve the "
       "kubelet-serving CSRs.")
def _k_server_rotate(kc, ctx):
    gate = kc.gate("RotateKubeletServerCertificate")
    if gate is not None and gate.value is False:
        return FAIL, gate, "the RotateKubeletServerCertificate feature gate is off"
    boot = kc.get("serverTLSBootstrap")
    if boot.value is True:
        return PASS, boot, "serverTLSBootstrap is true: serving certificates are requested and rotated"
    cert = kc.get("tlsCertFile")
    if cert.is_set:
        return MANUAL, cert, "serving certificate from files: rotate it by other means"
    return FAIL, boot, "serverTLSBootstrap is false: the serving certificate is self-signed and never rotated"


@check("4.2.12", KUBELET, "Ensure that the Kubelet only makes use of Strong Cryptographic Ciphers", Severity.MEDIUM,
       _KUBELET_FIX + "tlsCipherSuites to a subset of the CIS list.")
def _k_ciphers(kc, ctx):
    v = kc.get("tlsCipherSuites")
    if not v.is_set:
        return FAIL, v, "not set: Go's default suites include ones CIS does not list"
    suites = v.value if isinstance(v.value, list) else [v.value]
    weak = sorted(set(map(str, suites)) - KUBELET_CIPHERS)
    return (FAIL if weak else PASS), v, ("weak: " + ",".join(weak)) if weak else "all strong"


@check("4.2.13", KUBELET, "Ensure that a limit is set on pod PIDs", Severity.MEDIUM, _KUBELET_FIX + "podPidsLimit (e.g. 4096).")
def _k_pids(kc, ctx):
    v = kc.get("podPidsLimit")
    try:
        n = int(v.value)
    except (TypeError, ValueError):
        return FAIL, v, f"{_show(v.value)} is not a number"
    return (PASS if n > 0 else FAIL), v, f"{n}" + ("" if n > 0 else ": no per-pod limit")


@check("4.2.14", KUBELET, "Ensure that the --seccomp-default parameter is set to true", Severity.MEDIUM,
       _KUBELET_FIX + "seccompDefault: true.")
def _k_seccomp(kc, ctx):
    return _is(kc.get("seccompDefault"), True)


@check("KW-H003", KUBELET, "Ensure that the kubelet protects kernel defaults (protectKernelDefaults)", Severity.LOW,
       _KUBELET_FIX + "protectKernelDefaults: true (after setting the kernel parameters the kubelet expects).")
def _k_kernel(kc, ctx):
    return _is(kc.get("protectKernelDefaults"), True)


@check("KW-H004", KUBELET, "Ensure that kubelet webhook authentication is enabled", Severity.HIGH,
       _KUBELET_FIX + "authentication.webhook.enabled: true.")
def _k_webhook(kc, ctx):
    return _is(kc.get("authentication.webhook.enabled"), True)


# -- file permissions (1.1.x, 4.1.x) ------------------------------------------------------


@dataclass
class FileRule:
    id: str
    component: str
    what: str
    mode: int | None  # maximum permissions, or None for an ownership rule
    owner: str = "root:root"


def _owner_names(root: Path) -> tuple[dict[int, str], dict[int, str]]:
    def table(name: str) -> dict[int, str]:
        out = {0: "root"}
        try:
            for line in (root / "etc" / name).read_text(errors="replace").splitlines():
                parts = line.split(":")
                if len(parts) > 2 and parts[2].isdigit():
                    out.setdefault(int(parts[2]), parts[0])
        except OSError:
            pass
        return out

    return table("passwd"), table("group")


def file_results(ctx: NodeContext) -> Iterator[Result]:
    """Permissions and ownership of the files the components use, on a node (``ctx.root``)."""
    root = ctx.root
    if root is None:
        return
    users, groups = _owner_names(root)
    comps = ctx.discovery.components
    targets: list[tuple[str, str, str, Path, int, str]] = []  # (mode id, owner id, what, path, max mode, owner)

    def add(mode_id, owner_id, what, path, mode, owner="root:root"):
        if path is not None:
            targets.append((mode_id, owner_id, what, path, mode, owner))

    for name, (m, o) in {"apiserver": ("1.1.1", "1.1.2"), "controller-manager": ("1.1.3", "1.1.4"),
                         "scheduler": ("1.1.5", "1.1.6"), "etcd": ("1.1.7", "1.1.8")}.items():
        comp = comps.get(name)
        if comp is not None and comp.origin == "static pod":
            add(m, o, f"{name} pod specification file", Path(comp.file), 0o600)
    if ctx.etcd is not None:
        data = ctx.etcd.flag("data-dir")
        add("1.1.11", "1.1.12", "etcd data directory", host_path(root, str(data.value or "/var/lib/etcd")), 0o700, "etcd:etcd")
    cni = root / "etc/cni/net.d"
    if cni.is_dir():  # the container network's configuration decides pod isolation
        for path in sorted(p for p in cni.iterdir() if p.is_file() and not p.is_symlink()):
            add("1.1.9", "1.1.10", "Container Network Interface file", path, 0o600)
    # kube-proxy runs as a DaemonSet on kubeadm clusters (its kubeconfig lives in a ConfigMap, not
    # on the host); where it runs from the host, its kubeconfig sits in one of these places
    for conf in ("var/lib/kube-proxy/kubeconfig.conf", "var/lib/kube-proxy/kubeconfig", "etc/kubernetes/proxy.conf"):
        add("4.1.3", "4.1.4", "proxy kubeconfig file", root / conf, 0o600)
    for conf in ("admin.conf", "super-admin.conf"):
        add("1.1.13", "1.1.14", "administrative kubeconfig", root / "etc/kubernetes" / conf, 0o600)
    for eff, default, m, o in ((ctx.scheduler, "scheduler.conf", "1.1.15", "1.1.16"),
                               (ctx.controller_manager, "controller-manager.conf", "1.1.17", "1.1.18")):
        if eff is not None:
            kubeconfig = eff.flag("kubeconfig").value or f"/etc/kubernetes/{default}"
            add(m, o, f"{default.removesuffix('.conf')} kubeconfig", host_path(root, str(kubeconfig)), 0o600)
    pki = root / "etc/kubernetes/pki"
    if pki.is_dir():
        for path in sorted(pki.rglob("*")):
            if path.is_dir() or path.is_symlink():
                continue
            mode_id = "1.1.20" if path.suffix == ".crt" else "1.1.21" if path.suffix == ".key" else ""
            targets.append((mode_id, "1.1.19", "PKI file", path, 0o644 if path.suffix == ".crt" else 0o600, "root:root"))
    kc = ctx.kubelet
    if kc is not None:
        comp = kc.component
        if comp.origin == "systemd":
            for f in comp.extra_files:
                if "/systemd/" in f:
                    add("4.1.1", "4.1.2", "kubelet service file", Path(f), 0o600)
        kubeconfig = kc.flag("kubeconfig")
        if kubeconfig.is_set:
            add("4.1.5", "4.1.6", "kubelet kubeconfig", host_path(root, str(kubeconfig.value)), 0o600)
        ca = kc.file_path(kc.get("authentication.x509.clientCAFile"))
        add("4.1.7", "4.1.8", "kubelet client CA file", ca, 0o644)
        if kc.config_file:
            add("4.1.9", "4.1.10", "kubelet config file", Path(kc.config_file), 0o600)
    for mode_id, owner_id, what, path, mode, owner in targets:
        try:
            st = path.stat()
        except OSError:
            continue  # absent files are not reported: the benchmark checks the files in use
        perms = statmod.S_IMODE(st.st_mode)
        shown = f"{perms:o}"
        if mode_id:
            ok = perms & ~mode == 0
            yield Result(mode_id, "files", f"Ensure that the {what} permissions are set to {mode:o} or more restrictive",
                         PASS if ok else FAIL, Severity.MEDIUM, shown, f"stat {path}",
                         shown + ("" if ok else f", should be {mode:o} or more restrictive"),
                         f"chmod {mode:o} {_unroot(root, path)}", str(path))
        actual = f"{users.get(st.st_uid, str(st.st_uid))}:{groups.get(st.st_gid, str(st.st_gid))}"
        ok = actual == owner
        yield Result(owner_id, "files", f"Ensure that the {what} ownership is set to {owner}", PASS if ok else FAIL,
                     Severity.MEDIUM, actual, f"stat {path}", actual + ("" if ok else f", should be {owner}"),
                     f"chown {owner} {_unroot(root, path)}", str(path))


def _unroot(root: Path, path: Path) -> str:
    try:
        return "/" + str(path.relative_to(root)) if root != Path("/") else str(path)
    except ValueError:
        return str(path)


# -- running everything ------------------------------------------------------------


def build_context(
    discovery: Discovery,
    *,
    kubelet_config: Path | None = None,
    kubelet_config_dir: Path | None = None,
    encryption_config: Path | None = None,
    file_root: Path | None = None,
) -> NodeContext:
    """Resolve every discovered component. ``file_root``: where host paths named by flags are read
    offline (default: the discovery root)."""
    root = discovery.root
    base = file_root or root
    ctx = NodeContext(discovery, root=root, errors=list(discovery.errors))
    for name, attr in (("apiserver", "apiserver"), ("controller-manager", "controller_manager"),
                       ("scheduler", "scheduler"), ("etcd", "etcd")):
        comp = discovery.components.get(name)
        if comp is not None:
            eff = resolve(comp, base, base)
            ctx.errors += eff.errors
            setattr(ctx, attr, eff)
    comp = discovery.components.get("kubelet")
    if comp is not None or kubelet_config is not None:
        ctx.kubelet = resolve_kubelet(comp, root=base, config_path=kubelet_config, config_dir=kubelet_config_dir)
        ctx.errors += ctx.kubelet.errors
    if encryption_config is not None:
        ctx.encryption = load_config(encryption_config)
    elif ctx.apiserver is not None:
        v = ctx.apiserver.flag("encryption-provider-config")
        path = ctx.apiserver.path(str(v.value)) if v.is_set else None
        if path is not None and path.exists():
            ctx.encryption = load_config(path)
    return ctx


def run_checks(ctx: NodeContext) -> list[Result]:
    subjects = {"apiserver": ctx.apiserver, "controller-manager": ctx.controller_manager, "scheduler": ctx.scheduler,
                "etcd": ctx.etcd, "kubelet": ctx.kubelet}
    results: list[Result] = []
    for spec in SPECS:
        subject = subjects.get(spec.component)
        if subject is None:
            continue
        try:
            status, value, message = spec.fn(subject, ctx)
        except Exception as exc:  # a check must never take the run down; report it
            status, value, message = MANUAL, None, f"could not evaluate: {type(exc).__name__}: {exc}"
        shown = _show(value.value) if value is not None else ""
        source = str(value.source) if value is not None else ""
        file = value.source.file if value is not None and value.source.file else subject.component.file
        results.append(Result(spec.id, spec.component, spec.title, status, spec.severity, shown, source, message,
                              spec.remediation, file))
    if ctx.apiserver is not None:
        results.extend(audit_policy_results(ctx))
    results.extend(file_results(ctx))
    return results


# -- the audit policy (item 5): wired to kubeward.audit.policy when that module exists ----------


def audit_policy_findings(path: Path) -> tuple[str, list]:
    """Check an audit policy file with `kubeward audit policy check`'s checker:
    ("pass" | "fail", the checker's PolicyIssue list)."""
    from ..audit.policy import check_policy, load_policy_file

    issues = list(check_policy(load_policy_file(path)))
    return (FAIL if issues else PASS), issues


def audit_policy_results(ctx: NodeContext) -> Iterator[Result]:
    v = ctx.apiserver.flag("audit-policy-file")
    path = ctx.apiserver.path(str(v.value)) if v.is_set else None
    if path is None:
        return
    if not path.exists():
        yield Result("3.2.2", API, "Ensure that the audit policy covers key security concerns", MANUAL, Severity.MEDIUM,
                     str(v.value), str(v.source), f"{path} not found on this host", "Review the audit policy.", str(path))
        return
    try:
        status, issues = audit_policy_findings(path)
    except Exception as exc:  # the policy file is the user's input: report, never crash
        status, issues = FAIL, [f"cannot read the policy: {exc}"]
    message = "; ".join(str(getattr(i, "message", i)) for i in issues) if issues else "reviewed by kubeward audit policy check"
    yield Result("3.2.2", API, "Ensure that the audit policy covers key security concerns", status, Severity.MEDIUM,
                 str(v.value), str(v.source), message,
                 "Fix the audit policy as `kubeward audit policy check` explains.", str(path))
