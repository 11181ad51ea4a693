"""Generate a realistic, deterministic corpus of Kubernetes manifests for benchmarks.

Usage:
    python bench/corpus.py OUTDIR --resources N [--seed S] [--docs-per-file K]

Writes OUTDIR/app-XXXX.yaml, each a multi-document YAML file holding K documents
(the last file may hold fewer) for a total of exactly N resources. The mix of kinds,
security postures and misconfigurations resembles a real cluster. About 2% of the
documents use YAML 1.1 scalars (``privileged: yes``, ``readOnlyRootFilesystem: on``,
``defaultMode: 0644``) that a YAML 1.2 parser reads differently.

From Python (bench/ is not a package)::

    sys.path.insert(0, "bench"); import corpus
    corpus.generate(pathlib.Path("/tmp/corpus"), 5000, seed=1)
    # -> {"files": 1000, "resources": 5000, "bytes": ...}
"""

from __future__ import annotations

import argparse
import base64
import json
import pathlib
import random
import re
from typing import Any

Doc = dict[str, Any]


class Literal(str):
    """A multi-line string emitted as a literal block (``|``); must end with exactly one newline."""


NAMESPACES = [
    "default", "kube-system", "monitoring", "logging", "ingress-nginx", "cert-manager",
    "payments", "checkout", "catalog", "search", "auth", "billing", "analytics", "data",
    "ml-serving", "staging", "prod", "dev", "platform", "batch",
]
WORDS = [
    "api", "web", "worker", "frontend", "backend", "cart", "orders", "users", "inventory",
    "gateway", "redis", "postgres", "kafka", "etl", "reporter", "notifier", "scheduler",
    "indexer", "cache", "auth", "metrics", "exporter", "proxy", "sync", "billing", "search",
]
IMAGES = [
    "nginx", "busybox", "alpine", "python", "postgres", "docker.io/library/redis",
    "bitnami/kafka", "grafana/grafana", "gcr.io/google-samples/hello-app",
    "quay.io/prometheus/node-exporter", "ghcr.io/acme/orders-api", "public.ecr.aws/acme/worker",
    "registry.k8s.io/ingress-nginx/controller", "docker.elastic.co/beats/filebeat",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/payments/api", "acmecorp.azurecr.io/checkout/web",
]
KINDS: dict[str, int] = {  # relative weights, out of 100
    "Deployment": 25, "StatefulSet": 4, "DaemonSet": 3, "CronJob": 4, "Job": 3, "Pod": 2,
    "Service": 14, "Ingress": 5, "NetworkPolicy": 4, "ServiceAccount": 5, "Role": 3,
    "ClusterRole": 2, "RoleBinding": 3, "ClusterRoleBinding": 2, "ConfigMap": 7, "Secret": 4,
    "Namespace": 1, "LimitRange": 1, "ResourceQuota": 1, "HorizontalPodAutoscaler": 4,
    "PodDisruptionBudget": 3,
}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding"}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job", "Pod"}
LEGACY_RATE = 0.045  # of workloads (~41% of docs) -> ~2% of all documents
# Applied to the dumped text of "legacy" documents only: YAML 1.1 spellings.
LEGACY_SUBS = [
    ("privileged: true\n", "privileged: yes\n"),
    ("readOnlyRootFilesystem: true\n", "readOnlyRootFilesystem: on\n"),
    ("allowPrivilegeEscalation: false\n", "allowPrivilegeEscalation: off\n"),
    ("hostNetwork: true\n", "hostNetwork: yes\n"),
    ("readOnly: true\n", "readOnly: yes\n"),
    ("defaultMode: 420\n", "defaultMode: 0644\n"),
]
HARDENED_CTX: Doc = {
    "runAsNonRoot": True, "runAsUser": 10001, "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
SCRIPT = """#!/bin/sh
set -eu
echo "starting {app} in $POD_NAMESPACE"
until nc -z {app}-db 5432; do echo waiting for db; sleep 2; done
if [ -f /config/migrate.sql ]; then
  psql "$DATABASE_URL" -f /config/migrate.sql
fi
exec /app/{app} --config=/config/app.yaml --log-level=info
"""


def _token(r: random.Random, n: int = 12) -> str:
    return r.randbytes(n).hex()


def _image(r: random.Random) -> str:
    repo, x = r.choice(IMAGES), r.random()
    if x < 0.10:
        return f"{repo}:latest"
    if x < 0.18:
        return repo
    tag = f"{r.randint(1, 9)}.{r.randint(0, 30)}.{r.randint(0, 12)}"
    if x < 0.38:
        return f"{repo}@sha256:{_token(r, 32)}" if x < 0.3 else f"{repo}:{tag}@sha256:{_token(r, 32)}"
    return f"{repo}:{tag}"


def _labels(r: random.Random, app: str, component: str) -> dict[str, str]:
    labels = {"app.kubernetes.io/name": app, "app.kubernetes.io/component": component}
    if r.random() < 0.6:
        labels |= {"app.kubernetes.io/part-of": app.split("-")[0], "app.kubernetes.io/managed-by": "Helm",
                   "app.kubernetes.io/version": f"{r.randint(1, 5)}.{r.randint(0, 20)}.0"}
    if r.random() < 0.5:
        labels |= {"team": r.choice(["core", "growth", "sre", "data", "payments"]),
                   "env": r.choice(["prod", "staging", "dev"])}
    return labels


def _meta(r: random.Random, kind: str, name: str, ns: str, app: str) -> Doc:
    m: Doc = {"name": name}
    if kind not in CLUSTER_SCOPED:
        m["namespace"] = ns
    m["labels"] = _labels(r, app, kind.lower())
    if r.random() < 0.3:
        m["annotations"] = {"meta.helm.sh/release-name": app, "meta.helm.sh/release-namespace": ns,
                            "kubeward.io/owner": f"{app.split('-')[0]}-team@example.com"}
    return m


def _resources(r: random.Random) -> Doc | None:
    cpu, mem = f"{r.choice([50, 100, 250, 500])}m", f"{r.choice([64, 128, 256, 512])}Mi"
    x = r.random()
    if x < 0.55:
        return {"requests": {"cpu": cpu, "memory": mem}, "limits": {"cpu": "1", "memory": "1Gi"}}
    if x < 0.70:
        return {"requests": {"cpu": cpu, "memory": mem}}
    if x < 0.80:
        return {"limits": {"memory": mem}}
    return None


def _probe(r: random.Random, port: int) -> Doc:
    x = r.random()
    if x < 0.6:
        p: Doc = {"httpGet": {"path": r.choice(["/healthz", "/ready", "/livez"]), "port": port}}
    elif x < 0.85:
        p = {"tcpSocket": {"port": port}}
    else:
        p = {"exec": {"command": ["/bin/sh", "-c", "test -f /tmp/healthy"]}}
    p["initialDelaySeconds"] = r.choice([5, 10, 30])
    if r.random() < 0.3:
        p |= {"periodSeconds": 10, "failureThreshold": 3}
    return p


def _sec_ctx(r: random.Random, posture: str) -> Doc | None:
    if posture == "hardened":
        return dict(HARDENED_CTX)
    if posture == "default":
        return r.choice([None, None, {"runAsNonRoot": True}, {"allowPrivilegeEscalation": False}])
    ctx: Doc = {}
    if r.random() < 0.4:
        ctx["privileged"] = True
    if r.random() < 0.4:
        ctx["runAsUser"] = 0
    if r.random() < 0.4:
        ctx["capabilities"] = {"add": r.sample(["SYS_ADMIN", "NET_ADMIN", "NET_RAW", "SYS_PTRACE"], r.randint(1, 2))}
    if r.random() < 0.3:
        ctx["allowPrivilegeEscalation"] = True
    if r.random() < 0.3 or not ctx:
        ctx["readOnlyRootFilesystem"] = False
    return ctx


def _container(r: random.Random, name: str, app: str, posture: str, mounts: list[Doc], role: str) -> Doc:
    """role is "main", "sidecar" or "init"; only the main container gets the full treatment."""
    c: Doc = {"name": name, "image": _image(r)}
    init, main = role == "init", role == "main"
    if r.random() < 0.3:
        c["imagePullPolicy"] = r.choice(["Always", "IfNotPresent"])
    if init or r.random() < 0.2:
        c["command"] = ["/bin/sh", "-c"]
        c["args"] = [f"/scripts/{'init' if init else 'run'}.sh --app={app}"]
    port = r.choice([8080, 8443, 9090, 3000, 5432, 6379])
    if not init:
        c["ports"] = [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        if r.random() < 0.3:
            c["ports"].append({"name": "metrics", "containerPort": 9102, "protocol": "TCP"})
    env: list[Doc] = [{"name": "LOG_LEVEL", "value": r.choice(["info", "debug", "warn"])}]
    if main and r.random() < 0.5:
        env.append({"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}})
    if r.random() < (0.5 if main else 0.15):
        env.append({"name": "DATABASE_PASSWORD",
                    "valueFrom": {"secretKeyRef": {"name": f"{app}-db", "key": "password"}}})
    if main and r.random() < 0.15:
        env.append({"name": "API_TOKEN", "value": _token(r, 16)})  # hard-coded secret
    if main and r.random() < 0.3:
        ref = {"configMapKeyRef": {"name": f"{app}-config", "key": "flags"}}
        env.append({"name": "FEATURE_FLAGS", "valueFrom": ref})
    c["env"] = env
    if main and r.random() < 0.3:
        c["envFrom"] = [{"configMapRef": {"name": f"{app}-config"}}]
        if r.random() < 0.5:
            c["envFrom"].append({"secretRef": {"name": f"{app}-env"}})
    if (res := _resources(r)) is not None:
        c["resources"] = res
    if not init and r.random() < (0.7 if main else 0.2):
        c["livenessProbe"] = _probe(r, port)
        if r.random() < 0.6:
            c["readinessProbe"] = _probe(r, port)
    if mounts:
        c["volumeMounts"] = r.sample(mounts, r.randint(1, len(mounts)))
    if (ctx := _sec_ctx(r, posture)) is not None:
        c["securityContext"] = ctx
    return c


def _pod_spec(r: random.Random, kind: str, app: str, legacy: bool) -> Doc:
    posture = r.choices(["hardened", "default", "insecure"], [50, 20, 30])[0]
    if kind == "DaemonSet" and r.random() < 0.5:
        posture = "insecure"
    vols: list[Doc] = [{"name": "config", "configMap": {"name": f"{app}-config"}}]
    mounts: list[Doc] = [{"name": "config", "mountPath": "/config", "readOnly": True}]
    if legacy or r.random() < 0.3:
        vols[0]["configMap"]["defaultMode"] = 420
    if r.random() < 0.35:
        vols.append({"name": "tls", "secret": {"secretName": f"{app}-tls", "defaultMode": 256}})
        mounts.append({"name": "tls", "mountPath": "/etc/tls", "readOnly": True})
    if r.random() < 0.5 or posture == "hardened":
        vols.append({"name": "tmp", "emptyDir": r.choice([{}, {"medium": "Memory", "sizeLimit": "64Mi"}])})
        mounts.append({"name": "tmp", "mountPath": "/tmp"})
    if kind in ("Deployment", "Pod") and r.random() < 0.15:
        vols.append({"name": "data", "persistentVolumeClaim": {"claimName": f"{app}-data"}})
        mounts.append({"name": "data", "mountPath": "/data"})
    spec: Doc = {}
    if posture == "insecure":
        spec |= {k: True for k in ("hostNetwork", "hostPID", "hostIPC") if r.random() < 0.25}
        if r.random() < 0.5:
            path = r.choice(["/var/run/docker.sock", "/var/log", "/", "/etc", "/var/lib/kubelet"])
            vols.append({"name": "host", "hostPath": {"path": path, "type": r.choice(["Directory", "Socket", ""])}})
            mounts.append({"name": "host", "mountPath": "/host"})
    if r.random() < 0.8:
        spec["serviceAccountName"] = app
    if posture == "hardened":
        spec["automountServiceAccountToken"] = False
        spec["securityContext"] = {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 10001,
                                   "seccompProfile": {"type": "RuntimeDefault"}}
    if kind in ("Job", "CronJob"):
        spec["restartPolicy"] = r.choice(["OnFailure", "Never"])
    if r.random() < 0.15:
        spec["initContainers"] = [_container(r, "init", app, posture, mounts, "init")]
    names = [app.split("-")[-1], "sidecar", "log-shipper"]
    spec["containers"] = [
        _container(r, names[i], app, "default" if i and posture == "insecure" else posture, mounts,
                   "sidecar" if i else "main") for i in range(r.choices([1, 2, 3], [75, 20, 5])[0])]
    if legacy and posture != "insecure":
        spec["containers"][0]["securityContext"] = dict(HARDENED_CTX)
    if r.random() < 0.2:
        spec["nodeSelector"] = {"kubernetes.io/os": "linux"}
    if kind == "DaemonSet" or r.random() < 0.1:
        spec["tolerations"] = [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists",
                                "effect": "NoSchedule"}]
    spec["volumes"] = vols
    return spec


def _workload(r: random.Random, kind: str, meta: Doc, app: str, legacy: bool) -> Doc:
    pod = _pod_spec(r, kind, app, legacy)
    if kind == "Pod":
        return {"apiVersion": "v1", "kind": kind, "metadata": meta, "spec": pod}
    tmeta: Doc = {"labels": {"app.kubernetes.io/name": app, "app.kubernetes.io/component": kind.lower()}}
    if r.random() < 0.4:
        tmeta["annotations"] = {"prometheus.io/scrape": "true", "prometheus.io/port": "9102",
                                "checksum/config": _token(r, 32)}
    template = {"metadata": tmeta, "spec": pod}
    if kind in ("Job", "CronJob"):
        job = {"backoffLimit": r.choice([0, 3, 6]), "ttlSecondsAfterFinished": 3600, "template": template}
        if kind == "Job":
            return {"apiVersion": "batch/v1", "kind": kind, "metadata": meta, "spec": job}
        spec = {"schedule": r.choice(["*/15 * * * *", "0 3 * * *", "30 1 * * 0"]),
                "concurrencyPolicy": r.choice(["Forbid", "Allow", "Replace"]), "jobTemplate": {"spec": job}}
        return {"apiVersion": "batch/v1", "kind": kind, "metadata": meta, "spec": spec}
    spec = {"selector": {"matchLabels": dict(tmeta["labels"])}}
    if kind != "DaemonSet":
        spec["replicas"] = r.choice([1, 2, 3, 5])
    if kind == "StatefulSet":
        spec["serviceName"] = app
        spec["volumeClaimTemplates"] = [{"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "storageClassName": "gp3",
            "resources": {"requests": {"storage": f"{r.choice([10, 50, 100])}Gi"}}}}]
        pod["containers"][0].setdefault("volumeMounts", []).append({"name": "data", "mountPath": "/data"})
    elif kind == "Deployment" and r.random() < 0.3:
        spec["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}}
    spec["template"] = template
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": meta, "spec": spec}


def _rules(r: random.Random) -> list[Doc]:
    x = r.random()
    if x < 0.15:
        return [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
    rules = [{"apiGroups": [""], "resources": ["pods", "services", "configmaps"], "verbs": ["get", "list", "watch"]}]
    if x < 0.4:
        rules.append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]})
    if 0.3 < x < 0.5:
        rules.append({"apiGroups": [""], "resources": ["pods/exec", "pods/attach"], "verbs": ["create"]})
    if 0.45 < x < 0.6:
        rules.append({"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"]})
    return rules


def _binding(r: random.Random, kind: str, app: str, ns: str) -> Doc:
    cluster = kind == "ClusterRoleBinding" or r.random() < 0.3
    role = r.choice(["cluster-admin", "edit", "view", app]) if cluster else app
    subjects: list[Doc] = [{"kind": "ServiceAccount", "name": app, "namespace": ns}]
    if r.random() < 0.1:
        subjects.append({"kind": "Group", "apiGroup": "rbac.authorization.k8s.io",
                         "name": r.choice(["system:authenticated", "system:serviceaccounts", "developers"])})
    return {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole" if cluster else "Role",
                        "name": role}, "subjects": subjects}


def _config_data(r: random.Random, app: str) -> Doc:
    data: Doc = {"LOG_LEVEL": "info", "flags": "new-checkout,fast-search"}
    props = [f"server.port={r.choice([8080, 9090])}", f"db.host={app}-db.svc.cluster.local", "db.pool=20"]
    if r.random() < 0.3:
        props += [f"db.password={_token(r, 8)}", f"aws_secret_access_key={_token(r, 20)}"]
    data["app.properties"] = Literal("\n".join(props) + "\n")
    if r.random() < 0.5:
        data["entrypoint.sh"] = Literal(SCRIPT.format(app=app))
    if r.random() < 0.4:
        data["app.yaml"] = Literal(f"name: {app}\nreplicas: 3\ncache:\n  ttl: 300s\n  size: 1024\n")
    return data


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def _simple(r: random.Random, kind: str, app: str, ns: str) -> Doc:
    """Body (everything but apiVersion/kind/metadata) of a non-workload resource."""
    sel = {"app.kubernetes.io/name": app}
    if kind == "Service":
        t = r.choices(["ClusterIP", "NodePort", "LoadBalancer", "Headless"], [60, 15, 15, 10])[0]
        spec: Doc = {"type": "ClusterIP" if t == "Headless" else t, "selector": sel,
                     "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}
        if t == "Headless":
            spec["clusterIP"] = "None"
        if t == "NodePort":
            spec["ports"][0]["nodePort"] = r.randint(30000, 32767)
        return {"spec": spec}
    if kind == "Ingress":
        host = f"{app}.{r.choice(['example.com', 'acme.io', 'internal.acme.net'])}"
        spec = {"ingressClassName": "nginx", "rules": [{"host": host, "http": {"paths": [
            {"path": p, "pathType": "Prefix", "backend": {"service": {"name": app, "port": {"number": 80}}}}
            for p in r.sample(["/", "/api", "/static", "/admin"], r.randint(1, 3))]}}]}
        if r.random() < 0.6:
            spec["tls"] = [{"hosts": [host], "secretName": f"{app}-tls"}]
        return {"spec": spec}
    if kind == "NetworkPolicy":
        if r.random() < 0.3:
            return {"spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}
        return {"spec": {"podSelector": {"matchLabels": sel}, "policyTypes": ["Ingress"], "ingress": [{"from": [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}},
            {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway"}}}],
            "ports": [{"protocol": "TCP", "port": 8080}]}]}}
    if kind == "ServiceAccount":
        body: Doc = {}
        if r.random() < 0.4:
            body["automountServiceAccountToken"] = False
        if r.random() < 0.3:
            body["imagePullSecrets"] = [{"name": "regcred"}]
        return body
    if kind in ("Role", "ClusterRole"):
        return {"rules": _rules(r)}
    if kind in ("RoleBinding", "ClusterRoleBinding"):
        return _binding(r, kind, app, ns)
    if kind == "ConfigMap":
        return {"data": _config_data(r, app)}
    if kind == "Secret":
        if r.random() < 0.2:
            return {"type": "kubernetes.io/service-account-token", "data": {"token": _b64(_token(r, 48)),
                    "ca.crt": _b64(_token(r, 64)), "namespace": _b64(ns)}}
        return {"type": "Opaque", "data": {"username": _b64(app), "password": _b64(_token(r, 12)),
                                           "url": _b64(f"postgres://{app}:{_token(r, 6)}@{app}-db:5432/{app}")}}
    if kind == "LimitRange":
        return {"spec": {"limits": [{"type": "Container", "default": {"cpu": "500m", "memory": "512Mi"},
                                     "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                                     "max": {"cpu": "2", "memory": "2Gi"}}]}}
    if kind == "ResourceQuota":
        return {"spec": {"hard": {"requests.cpu": "20", "requests.memory": "64Gi", "limits.cpu": "40",
                                  "limits.memory": "128Gi", "pods": "200", "services.loadbalancers": "2"}}}
    if kind == "HorizontalPodAutoscaler":
        return {"spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app},
                         "minReplicas": r.choice([1, 2, 3]), "maxReplicas": r.choice([5, 10, 20]), "metrics": [
                             {"type": "Resource", "resource": {"name": "cpu", "target": {
                                 "type": "Utilization", "averageUtilization": r.choice([60, 70, 80])}}}]}}
    if kind == "PodDisruptionBudget":
        budget = {"minAvailable": 1} if r.random() < 0.5 else {"maxUnavailable": "25%"}
        return {"spec": budget | {"selector": {"matchLabels": sel}}}
    return {}  # Namespace


API_VERSIONS = {
    "Ingress": "networking.k8s.io/v1", "NetworkPolicy": "networking.k8s.io/v1",
    "Role": "rbac.authorization.k8s.io/v1", "ClusterRole": "rbac.authorization.k8s.io/v1",
    "RoleBinding": "rbac.authorization.k8s.io/v1", "ClusterRoleBinding": "rbac.authorization.k8s.io/v1",
    "HorizontalPodAutoscaler": "autoscaling/v2", "PodDisruptionBudget": "policy/v1",
}


def _document(r: random.Random, kind: str, name: str, ns: str, app: str) -> tuple[Doc, bool]:
    """Build one resource; returns (doc, legacy) where legacy means 'emit YAML 1.1 scalars'."""
    meta = _meta(r, kind, name, ns, app)
    if kind in WORKLOADS:
        legacy = r.random() < LEGACY_RATE
        return _workload(r, kind, meta, app, legacy), legacy
    if kind == "Namespace":
        meta["name"] = name = f"{ns}-{name}"
        meta["labels"]["kubernetes.io/metadata.name"] = name
        if r.random() < 0.6:
            meta["labels"]["pod-security.kubernetes.io/enforce"] = r.choice(["restricted", "baseline", "privileged"])
    doc = {"apiVersion": API_VERSIONS.get(kind, "v1"), "kind": kind, "metadata": meta}
    return doc | _simple(r, kind, app, ns), False


# Strings safe to emit unquoted under both YAML 1.1 and 1.2; everything else is JSON-quoted.
_PLAIN = re.compile(r"[A-Za-z/][\w./@%+:=,-]*\Z")
# digit-led strings are plain only if they contain a letter that cannot occur in a number: 250m, 64Mi
_PLAIN_DIGIT = re.compile(r"(?!0[xXoObB])[0-9][\w./@%+:=,-]*[a-df-zA-DF-Z][\w./@%+:=,-]*\Z")
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def _scalar(v: str | int | bool) -> str:
    if v is True or v is False:
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if (_PLAIN.match(v) or _PLAIN_DIGIT.match(v)) and v[-1] != ":" and v.lower() not in _RESERVED:
        return v
    return json.dumps(v)


def _emit_map(d: Doc, pad: str, out: list[str]) -> None:
    for k, v in d.items():
        t, key = type(v), _scalar(k)
        if t is dict or t is list:
            if not v:
                out.append(f"{pad}{key}: {'{}' if t is dict else '[]'}\n")
            elif t is dict:
                out.append(f"{pad}{key}:\n")
                _emit_map(v, pad + "  ", out)
            else:
                out.append(f"{pad}{key}:\n")
                _emit_seq(v, pad, out)  # block sequences are not indented under their key
        elif t is Literal:
            body = "".join(f"{pad}  {line}\n" if line else "\n" for line in v[:-1].split("\n"))
            out.append(f"{pad}{key}: |\n{body}")
        else:
            out.append(f"{pad}{key}: {_scalar(v)}\n")


def _emit_seq(items: list[Any], pad: str, out: list[str]) -> None:
    for v in items:
        if type(v) is dict and v:
            first = len(out)
            _emit_map(v, pad + "  ", out)
            out[first] = f"{pad}- {out[first][len(pad) + 2:]}"
        else:
            out.append(f"{pad}- {_scalar(v)}\n")


def _dump(doc: Doc, legacy: bool) -> str:
    """Block-style YAML for one document (a small, fast emitter for the shapes built here)."""
    out = ["---\n"]
    _emit_map(doc, "", out)
    text = "".join(out)
    if legacy:  # rewrite canonical scalars into their YAML 1.1 spellings
        for old, new in LEGACY_SUBS:
            text = text.replace(old, new)
    return text


def generate(outdir: pathlib.Path, resources: int, seed: int = 1, docs_per_file: int = 5) -> dict[str, int]:
    """Write the corpus into outdir; returns {"files", "resources", "bytes"}."""
    if resources < 0 or docs_per_file < 1:
        raise ValueError("resources must be >= 0 and docs_per_file >= 1")
    r = random.Random(seed)
    outdir = pathlib.Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    kinds, weights = list(KINDS), list(KINDS.values())
    nfiles = -(-resources // docs_per_file)
    width = max(4, len(str(nfiles - 1)))
    total = 0
    for i in range(nfiles):
        app = f"{r.choice(WORDS)}-{r.choice(WORDS)}"
        ns = r.choice(NAMESPACES)
        count = min(docs_per_file, resources - i * docs_per_file)
        seen: dict[str, int] = {}
        parts = []
        for kind in r.choices(kinds, weights, k=count):
            n = seen[kind] = seen.get(kind, 0) + 1
            doc, legacy = _document(r, kind, app if n == 1 else f"{app}-{n}", ns, app)
            parts.append(_dump(doc, legacy))
        data = "".join(parts).encode()
        (outdir / f"app-{i:0{width}d}.yaml").write_bytes(data)
        total += len(data)
    return {"files": nfiles, "resources": resources, "bytes": total}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("outdir", type=pathlib.Path)
    p.add_argument("--resources", type=int, required=True, help="total number of documents")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--docs-per-file", type=int, default=5)
    a = p.parse_args(argv)
    s = generate(a.outdir, a.resources, a.seed, a.docs_per_file)
    print(f"{a.outdir}: {s['files']} files, {s['resources']} resources, {s['bytes']} bytes")


if __name__ == "__main__":
    main()
