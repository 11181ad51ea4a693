"""`kubeward admission install`: the manifests that deploy the webhook.

The output passes `kubeward scan` with zero findings. Two facts a generator
cannot know are suppressed with an annotation saying how to lift them: the
release image digest (pass ``--image REF@sha256:...``) and the API server's
address range for the NetworkPolicy (``--api-server-cidr``). The serving
certificate's Secret is generated here (CA from ``cryptography``) unless
``--cert-manager``, and carries a suppression of KW-S006, since it is written
at install time and never committed.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from .. import __version__
from ..inventory import CRD_WORKLOADS
from .policy import Policy

NAME = "kubeward-admission"
IMAGE = f"ghcr.io/kubeward/kubeward:{__version__}"
PORT = 8443
UID = 10001
SUPPRESS = "ignore-check.kubeward.io/"

# (group, plural) of every kind a per-resource check reads, for the webhook rules.
# Webhook configurations themselves never reach a webhook, so they are not listed.
CORE_RESOURCES = {
    "": ["pods", "replicationcontrollers", "podtemplates", "services", "configmaps", "secrets", "serviceaccounts"],
    "apps": ["deployments", "replicasets", "statefulsets", "daemonsets"],
    "batch": ["jobs", "cronjobs"],
    "networking.k8s.io": ["ingresses", "networkpolicies"],
    "policy": ["poddisruptionbudgets"],
    "rbac.authorization.k8s.io": ["roles", "clusterroles", "rolebindings", "clusterrolebindings"],
    "apiregistration.k8s.io": ["apiservices"],
    "apiextensions.k8s.io": ["customresourcedefinitions"],
}
POD_CARRYING = {
    "": ["pods", "replicationcontrollers", "podtemplates"],
    "apps": ["deployments", "replicasets", "statefulsets", "daemonsets"],
    "batch": ["jobs", "cronjobs"],
}


def _crd_resources() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key in CRD_WORKLOADS:
        kind, _, group = key.partition(".")
        plural = kind.lower() + ("es" if kind.lower().endswith("s") else "s")
        out.setdefault(group, []).append(plural)
    return out


def generate_ca(namespace: str, days: int = 3650) -> tuple[bytes, bytes, bytes]:
    """(CA certificate PEM, serving certificate PEM, serving key PEM) for the Service's DNS names."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{NAME} CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    service = f"{NAME}.{namespace}.svc"
    names = [NAME, f"{NAME}.{namespace}", service, f"{service}.cluster.local"]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, service)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return ca.public_bytes(pem), cert.public_bytes(pem), key_pem


def _labels(component: str = "webhook") -> dict[str, str]:
    return {
        "app.kubernetes.io/name": NAME,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "kubeward",
        "app.kubernetes.io/version": __version__,
    }


def _meta(name: str, namespace: str | None = None, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["labels"] = _labels()
    meta.update(extra)
    return meta


def manifests(
    *,
    namespace: str,
    policy_text: str,
    policy: Policy,
    failure_policy: str = "Fail",
    cert_manager: bool = False,
    image: str = IMAGE,
    api_server_cidrs: tuple[str, ...] = (),
    replicas: int = 2,
    timeout_seconds: int = 5,
) -> list[dict[str, Any]]:
    selector = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/component": "webhook"}
    needs_api = policy.namespace_labels  # the namespace-label poller lists namespaces
    docs: list[dict[str, Any]] = []
    docs.append(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": namespace,
                "labels": {
                    **_labels(),
                    "kubernetes.io/metadata.name": namespace,
                    **{f"pod-security.kubernetes.io/{m}": "restricted" for m in ("enforce", "audit", "warn")},
                    **{f"pod-security.kubernetes.io/{m}-version": "latest" for m in ("enforce", "audit", "warn")},
                },
            },
        }
    )
    docs.append(
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(NAME, namespace), "automountServiceAccountToken": False}
    )
    if needs_api:
        docs.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": _meta(NAME),
                "rules": [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]}],
            }
        )
        docs.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": _meta(NAME),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME},
                "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": namespace}],
            }
        )
    docs.append(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta(f"{NAME}-policy", namespace),
            "data": {"policy.yaml": policy_text},
        }
    )
    ca_bundle = None
    if cert_manager:
        docs.append(
            {
                "apiVersion": "cert-manager.io/v1",
                "kind": "Issuer",
                "metadata": _meta(f"{NAME}-selfsigned", namespace),
                "spec": {"selfSigned": {}},
            }
        )
        service = f"{NAME}.{namespace}.svc"
        docs.append(
            {
                "apiVersion": "cert-manager.io/v1",
                "kind": "Certificate",
                "metadata": _meta(NAME, namespace),
                "spec": {
                    "secretName": f"{NAME}-tls",
                    "dnsNames": [service, f"{service}.cluster.local"],
                    "issuerRef": {"kind": "Issuer", "name": f"{NAME}-selfsigned"},
                    "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                    "duration": "2160h",
                    "renewBefore": "720h",
                },
            }
        )
    else:
        ca, cert, key = generate_ca(namespace)
        ca_bundle = base64.b64encode(ca).decode()
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": _meta(
                    f"{NAME}-tls",
                    namespace,
                    annotations={
                        f"{SUPPRESS}KW-S006": "serving certificate generated by `kubeward admission install`; "
                        "apply it, do not commit it (or use --cert-manager)"
                    },
                ),
                "type": "kubernetes.io/tls",
                "data": {"tls.crt": base64.b64encode(cert).decode(), "tls.key": base64.b64encode(key).decode()},
            }
        )
    docs.append(_deployment(namespace, image, selector, replicas, needs_api))
    docs.append(
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": _meta(NAME, namespace),
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector}},
        }
    )
    docs.append(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(NAME, namespace),
            "spec": {
                "type": "ClusterIP",
                "selector": selector,
                "ports": [{"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}],
            },
        }
    )
    docs += _network_policies(namespace, selector, api_server_cidrs, needs_api)
    docs.append(
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": _meta(NAME, namespace),
            "spec": {
                "limits": [
                    {
                        "type": "Container",
                        "default": {"cpu": "500m", "memory": "256Mi", "ephemeral-storage": "64Mi"},
                        "defaultRequest": {"cpu": "100m", "memory": "128Mi", "ephemeral-storage": "16Mi"},
                    }
                ]
            },
        }
    )
    docs.append(
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": _meta(NAME, namespace),
            "spec": {
                "hard": {"pods": "10", "requests.cpu": "2", "requests.memory": "2Gi", "limits.cpu": "4", "limits.memory": "4Gi"}
            },
        }
    )
    docs += _webhooks(namespace, policy, failure_policy, cert_manager, ca_bundle, timeout_seconds)
    return docs


def _deployment(namespace: str, image: str, selector: dict, replicas: int, needs_api: bool) -> dict[str, Any]:
    pinned = "@sha256:" in image
    annotations = {}
    if not pinned:
        annotations[f"{SUPPRESS}KW-I002"] = "kubeward release tag; pin it with --image REF@sha256:DIGEST"
        annotations[f"{SUPPRESS}KW-I005"] = "kubeward release tag; pin it with --image REF@sha256:DIGEST"
    container = {
        "name": "webhook",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": [
            "admission",
            "serve",
            "--config=/etc/kubeward/policy.yaml",
            "--tls-cert=/etc/kubeward/tls/tls.crt",
            "--tls-key=/etc/kubeward/tls/tls.key",
            f"--port={PORT}",
            "--shutdown-delay=5",
        ],
        "env": [{"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}],
        "ports": [{"name": "https", "containerPort": PORT, "protocol": "TCP"}],
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": "https", "scheme": "HTTPS"},
            "periodSeconds": 5,
            "failureThreshold": 2,
        },
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "https", "scheme": "HTTPS"},
            "periodSeconds": 10,
            "failureThreshold": 3,
            "timeoutSeconds": 3,
        },
        "resources": {
            "requests": {"cpu": "200m", "memory": "128Mi", "ephemeral-storage": "16Mi"},
            "limits": {"cpu": "1", "memory": "512Mi", "ephemeral-storage": "64Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": UID,
            "runAsGroup": UID,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [
            {"name": "policy", "mountPath": "/etc/kubeward", "readOnly": True},
            {"name": "tls", "mountPath": "/etc/kubeward/tls", "readOnly": True},
        ],
    }
    pod_labels = {**_labels(), **selector}
    spec: dict[str, Any] = {
        "serviceAccountName": NAME,
        "automountServiceAccountToken": needs_api,
        "hostUsers": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": UID,
            "runAsGroup": UID,
            "fsGroup": UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "terminationGracePeriodSeconds": 35,
        "affinity": {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "podAffinityTerm": {"labelSelector": {"matchLabels": selector}, "topologyKey": "kubernetes.io/hostname"},
                    }
                ]
            }
        },
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": selector},
            }
        ],
        "containers": [container],
        "volumes": [
            {"name": "policy", "configMap": {"name": f"{NAME}-policy", "defaultMode": 0o444}},
            # 0400: fsGroup makes the kubelet add group read for the container's group (SetVolumeOwnership)
            {"name": "tls", "secret": {"secretName": f"{NAME}-tls", "defaultMode": 0o400}},
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(NAME, namespace, **({"annotations": annotations} if annotations else {})),
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {"metadata": {"labels": pod_labels}, "spec": spec},
        },
    }


def _network_policies(namespace: str, selector: dict, cidrs: tuple[str, ...], needs_api: bool) -> list[dict[str, Any]]:
    deny = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta("default-deny", namespace),
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }
    annotations = {}
    if not cidrs:
        cidrs = ("0.0.0.0/0",)
        annotations[f"{SUPPRESS}KW-N015"] = "the API server's address is cluster-specific; narrow it with --api-server-cidr"
    peers = [{"ipBlock": {"cidr": c}} for c in cidrs]
    allow: dict[str, Any] = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(f"{NAME}-from-apiserver", namespace, **({"annotations": annotations} if annotations else {})),
        "spec": {
            "podSelector": {"matchLabels": selector},
            "policyTypes": ["Ingress", "Egress"] if needs_api else ["Ingress"],
            "ingress": [{"from": peers, "ports": [{"protocol": "TCP", "port": PORT}]}],
        },
    }
    if needs_api:
        allow["spec"]["egress"] = [{"to": peers, "ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]}]
    return [deny, allow]


def _rules(resources: dict[str, list[str]], operations: list[str]) -> list[dict[str, Any]]:
    return [
        {"operations": operations, "apiGroups": [group], "apiVersions": ["*"], "resources": sorted(plurals), "scope": "*"}
        for group, plurals in resources.items()
    ]


def _webhooks(
    namespace: str, policy: Policy, failure_policy: str, cert_manager: bool, ca_bundle: str | None, timeout: int
) -> list[dict[str, Any]]:
    annotations = {"cert-manager.io/inject-ca-from": f"{namespace}/{NAME}"} if cert_manager else {}
    excluded = sorted({namespace, "kube-system", *(n for n in policy.system_namespaces if "*" not in n)})
    namespace_selector = {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": excluded}]}

    def client(path: str) -> dict[str, Any]:
        config: dict[str, Any] = {"service": {"namespace": namespace, "name": NAME, "path": path, "port": 443}}
        if ca_bundle:
            config["caBundle"] = ca_bundle
        return config

    common = {
        "admissionReviewVersions": ["v1"],
        "sideEffects": "None",
        "failurePolicy": failure_policy,
        "matchPolicy": "Equivalent",
        "timeoutSeconds": timeout,
        "namespaceSelector": namespace_selector,
    }
    validate_rules = _rules({**CORE_RESOURCES, **_crd_resources()}, ["CREATE", "UPDATE"])
    validate_rules.append(
        {
            "operations": ["UPDATE"],
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "resources": ["pods/ephemeralcontainers"],
            "scope": "Namespaced",
        }
    )
    if policy.namespace_labels:
        validate_rules.append(
            {
                "operations": ["CREATE", "UPDATE"],
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "resources": ["namespaces"],
                "scope": "Cluster",
            }
        )
    if policy.exec_deny_namespaces:
        validate_rules.append(
            {
                "operations": ["CONNECT"],
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "resources": ["pods/exec", "pods/attach"],
                "scope": "Namespaced",
            }
        )
    docs = [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": _meta(NAME, **({"annotations": annotations} if annotations else {})),
            "webhooks": [
                {
                    "name": "validate.admission.kubeward.io",
                    "clientConfig": client("/validate"),
                    "rules": validate_rules,
                    **common,
                    # an update that changes no spec cannot be newly rejected (see docs/admission.md): skip the call
                    "matchConditions": [
                        {
                            "name": "skip-updates-without-spec-change",
                            "expression": "request.operation != 'UPDATE' || !has(object.spec) || !has(oldObject.spec)"
                            " || object.spec != oldObject.spec",
                        }
                    ],
                }
            ],
        }
    ]
    if policy.mutations.any:
        docs.append(
            {
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "MutatingWebhookConfiguration",
                "metadata": _meta(NAME, **({"annotations": annotations} if annotations else {})),
                "webhooks": [
                    {
                        "name": "mutate.admission.kubeward.io",
                        "clientConfig": client("/mutate"),
                        "rules": _rules({**POD_CARRYING, **_crd_resources()}, ["CREATE", "UPDATE"]),
                        "reinvocationPolicy": "IfNeeded",
                        **common,
                    }
                ],
            }
        )
    return docs
