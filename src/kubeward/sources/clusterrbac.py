"""The RBAC a `kubeward cluster` scan needs: `kubeward generate scanner-rbac`.

What the collector does (sources/cluster.py), and the permission each needs:

* discovery and ``GET /version``: the non-resource URLs below (every authenticated
  user has them through ``system:discovery``; granted again so the role stands alone);
* ``list`` on every resource, in every API group, custom resources included: the
  groups are discovered at run time, so the rule has to use ``*``;
* Secrets: listed as PartialObjectMetadataList, which the API server authorises as an
  ordinary ``list`` -- RBAC cannot tell a metadata-only list from a full one. The role
  grants ``list`` and nothing else (no ``get``, no ``watch``);
* ``create`` on selfsubjectrulesreviews (its own permissions).
"""

from __future__ import annotations

from typing import Any

DISCOVERY_URLS = ["/version", "/version/", "/api", "/api/*", "/apis", "/apis/*"]
LABELS = {"app.kubernetes.io/name": "kubeward", "app.kubernetes.io/component": "scanner"}


def scanner_rules() -> list[dict[str, Any]]:
    return [
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["list"]},
        {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectrulesreviews"], "verbs": ["create"]},
        {"nonResourceURLs": DISCOVERY_URLS, "verbs": ["get"]},
    ]


def scanner_rbac(name: str = "kubeward-scanner", namespace: str = "kubeward") -> list[dict[str, Any]]:
    """ServiceAccount, ClusterRole and ClusterRoleBinding, in apply order."""
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(LABELS)},
            "automountServiceAccountToken": False,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {
                "name": name,
                "labels": dict(LABELS),
                "annotations": {
                    "kubeward.io/note": "list (no get, no watch) on every resource: the scanner lists Secrets "
                    "as metadata only, but RBAC cannot restrict a list to metadata"
                },
            },
            "rules": scanner_rules(),
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": dict(LABELS)},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
        },
    ]
