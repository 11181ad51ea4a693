"""`kubeward generate node-job`: run `kubeward node` on a node, in a pod.

The pod must run at the Pod Security *privileged* level, for reasons each of
which is the point of the exercise:

* ``hostPID: true`` - the components' real command lines are in the host's
  /proc (``/proc/<pid>/cmdline``); a pod's own PID namespace shows none;
* read-only ``hostPath`` mounts of /etc/kubernetes (static pod manifests, PKI,
  kubeconfigs), /var/lib/kubelet (KubeletConfiguration, kubeadm-flags.env),
  /etc/systemd, /lib/systemd, /usr/lib/systemd (kubelet units and drop-ins),
  /etc/default, /var/lib/etcd (data directory mode) and /etc/passwd, /etc/group
  (owner names) - the files the benchmark is about;
* ``runAsUser: 0`` - manifests, PKI keys and kubeconfigs are root-only (600);
  reading them, and /proc/<pid>/environ of root processes (etcd's ``ETCD_*``),
  needs root with DAC_READ_SEARCH and SYS_PTRACE.

It is *not* a privileged container: every other capability is dropped, the
root filesystem is read-only, no privilege escalation, and every mount is
read-only. kubeward's own findings on it are suppressed with these reasons.
"""

from __future__ import annotations

MOUNTS = (
    ("etc-kubernetes", "/etc/kubernetes"),
    ("var-lib-kubelet", "/var/lib/kubelet"),
    ("etc-systemd", "/etc/systemd"),
    ("lib-systemd", "/lib/systemd"),
    ("usr-lib-systemd", "/usr/lib/systemd"),
    ("etc-default", "/etc/default"),
    ("var-lib-etcd", "/var/lib/etcd"),
    ("etc-passwd", "/etc/passwd"),
    ("etc-group", "/etc/group"),
)
_HOST = "reads the node's component configuration: the pod needs the host PID namespace and host files (kubeward node)"
SUPPRESSIONS = {
    "host-namespaces": "hostPID: the components' command lines are only visible in the host's /proc",
    "host-path-volume": "read-only hostPath mounts of the node's configuration files, which are what is checked",
    "run-as-root": "manifests, keys and kubeconfigs are root-only (mode 600); reading them needs uid 0",
    "run-as-non-root": "manifests, keys and kubeconfigs are root-only (mode 600); reading them needs uid 0",
    "run-as-user-root": "manifests, keys and kubeconfigs are root-only (mode 600); reading them needs uid 0",
    "run-as-group-root": "root-owned files with group root; uid 0 comes with gid 0 here",
    "non-default-capabilities": "DAC_READ_SEARCH to read root-only files, SYS_PTRACE to read /proc/<pid>/environ (etcd's ETCD_*)",
    "namespace-without-limitrange": "the pod sets its own requests and limits; a LimitRange is the operator's choice",
    "namespace-without-resourcequota": "the pod sets its own requests and limits; a ResourceQuota is the operator's choice",
    "namespace-without-default-deny": "NetworkPolicy kubeward-node-deny-all denies all of this pod's traffic",
    "namespace-without-default-deny-egress": "NetworkPolicy kubeward-node-deny-all denies all of this pod's traffic",
    "capabilities-added": "DAC_READ_SEARCH to read root-only files, SYS_PTRACE to read /proc/<pid>/environ (etcd's ETCD_*)",
    "sensitive-host-path": "read-only mounts of /etc/kubernetes and /var/lib/kubelet: the files the CIS checks are about",
}


def node_job(*, kind: str = "Job", namespace: str = "kubeward", image: str = "ghcr.io/kubeward/kubeward:0.1.0",
             node: str | None = None, control_plane: bool = True) -> list[dict]:
    """The Namespace-less manifests: ServiceAccount and a Job (one node) or DaemonSet (every node)."""
    labels = {"app.kubernetes.io/name": "kubeward-node", "app.kubernetes.io/component": "node-check"}
    annotations: dict[str, str] = {f"ignore-check.kubeward.io/{check}": reason for check, reason in SUPPRESSIONS.items()}
    container = {
        "name": "kubeward",
        "image": image,
        "imagePullPolicy": "Always",
        "command": ["kubeward", "node", "--root", "/host", "--proc", "/proc", "-f", "json", "--fail-on", "none"],
        "resources": {
            "requests": {"cpu": "50m", "memory": "64Mi", "ephemeral-storage": "16Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi", "ephemeral-storage": "64Mi"},
        },
        "securityContext": {
            "runAsUser": 0,
            "runAsGroup": 0,
            "runAsNonRoot": False,
            "privileged": False,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"], "add": ["DAC_READ_SEARCH", "SYS_PTRACE"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": name, "mountPath": f"/host{path}", "readOnly": True} for name, path in MOUNTS],
    }
    if kind == "DaemonSet":
        for probe in ("liveness-probe-missing", "readiness-probe-missing"):
            annotations[f"ignore-check.kubeward.io/{probe}"] = "runs the check once, then sleeps: no service to probe"
    if kind == "DaemonSet":  # keep the pod alive after the report so it can be read with kubectl logs
        container["command"] = ["sh", "-c", " ".join(container["command"]) + "; sleep infinity"]
    volumes = [{"name": name, "hostPath": {"path": path}} for name, path in MOUNTS]
    pod_spec: dict = {
        "serviceAccountName": "kubeward-node",
        "automountServiceAccountToken": False,
        "hostPID": True,
        "containers": [container],
        "volumes": volumes,
    }
    if control_plane:
        pod_spec["tolerations"] = [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}]
    if node:
        pod_spec["nodeName"] = node
    template = {"metadata": {"labels": dict(labels), "annotations": dict(annotations)}, "spec": pod_spec}
    sa = {"apiVersion": "v1", "kind": "ServiceAccount",
          "metadata": {"name": "kubeward-node", "namespace": namespace, "labels": dict(labels)},
          "automountServiceAccountToken": False}
    meta = {"name": "kubeward-node", "namespace": namespace, "labels": dict(labels), "annotations": {
        **annotations, "kubeward.io/why": _HOST}}
    if kind == "DaemonSet":
        workload = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta,
                    "spec": {"selector": {"matchLabels": dict(labels)}, "template": template}}
    else:
        pod_spec["restartPolicy"] = "Never"
        workload = {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
                    "spec": {"backoffLimit": 0, "ttlSecondsAfterFinished": 3600, "template": template}}
    # it needs no network at all: deny every connection in and out
    policy = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": {"name": "kubeward-node-deny-all", "namespace": namespace, "labels": dict(labels)},
              "spec": {"podSelector": {"matchLabels": dict(labels)}, "policyTypes": ["Ingress", "Egress"]}}
    return [sa, policy, workload]
