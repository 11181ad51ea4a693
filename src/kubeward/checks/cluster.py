"""Checks only a live cluster can answer: versions, nodes, anonymous access, the
scanner's own permissions, bootstrap tokens.

They read the ClusterInfo object the collector adds (sources/cluster.py) and the Node
objects, so a snapshot re-scans to the same findings. Versions are judged against
the release table in kubeward/data/k8s-releases.json, as of the table's date.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import json
import re
from collections.abc import Iterator
from importlib import resources as package_data
from typing import Any

from ..inventory import Inventory, dig, mapping
from ..model import Resource, Severity, Violation
from .registry import check

VERSION = re.compile(r"v?(\d+)\.(\d+)")
CONTROL_PLANE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")
STANDARD_LABELS = ("kubernetes.io/os", "kubernetes.io/arch", "kubernetes.io/hostname")
BOOTSTRAP_TYPE = "bootstrap.kubernetes.io/token"
BOOTSTRAP_PREFIX = "bootstrap-token-"
# container runtimes whose release lines are out of support upstream
# (containerd: https://containerd.io/releases/ -- 1.6 ended 2025; 1.5 and older long before)
CONTAINERD_OLDEST = (1, 7)


def minor_of(text: Any) -> tuple[int, int] | None:
    match = VERSION.match(text) if isinstance(text, str) else None
    return (int(match.group(1)), int(match.group(2))) if match else None


def _v(version: tuple[int, int]) -> str:
    return f"v{version[0]}.{version[1]}"


@functools.cache
def release_table() -> dict[str, Any]:
    return json.loads(package_data.files("kubeward.data").joinpath("k8s-releases.json").read_text())


def support_window(table: dict[str, Any] | None = None) -> tuple[list[tuple[int, int]], dict[tuple[int, int], dict], dt.date]:
    """The supported minors (newest first) as of the table's date, every release, and that date."""
    table = table or release_table()
    as_of = dt.date.fromisoformat(table["asOf"])
    releases = {minor_of(r["version"]): r for r in table["releases"]}
    released = sorted((v for v, r in releases.items() if dt.date.fromisoformat(r["released"]) <= as_of), reverse=True)
    window = [v for v in released[: table.get("supportedMinors", 3)] if dt.date.fromisoformat(releases[v]["endOfLife"]) >= as_of]
    return window, releases, as_of


def unsupported(version: tuple[int, int]) -> str | None:
    """Why ``version`` is out of upstream support per the table, or None."""
    window, releases, as_of = support_window()
    if version in window or not window or version > window[0]:
        return None
    release = releases.get(version)
    eol = f"; {_v(version)} reached end of life on {release['endOfLife']}" if release else ""
    return f"outside the upstream support window ({_v(window[-1])}-{_v(window[0])} as of {as_of.isoformat()}){eol}"


def _table_age(info: Resource) -> str:
    as_of = support_window()[2]
    collected = info.obj.get("collectedAt")
    try:
        days = (dt.date.fromisoformat(str(collected)[:10]) - as_of).days
    except ValueError:
        return f"kubeward's release table is of {as_of.isoformat()}"
    return f"kubeward's release table is of {as_of.isoformat()}, {days} days before this collection"


@check(
    id="KW-C001",
    slug="cluster-version-unsupported",
    title="The Kubernetes version should be one the upstream project still supports",
    severity=Severity.HIGH,
    kinds=("ClusterInfo",),
    rationale="""Upstream Kubernetes supports its newest three minor releases with security fixes; an
        older API server gets no patches for vulnerabilities found since. The window is taken from
        the release table shipped with kubeward (kubeward/data/k8s-releases.json) as of its date,
        so results do not change with the day of the scan; the finding says how old the table is.""",
    remediation="Upgrade the control plane (one minor version at a time) to a supported release, then the nodes.",
    example="""
        # kubectl version
        Server Version: v1.37.1
    """,
    refs={"nsa": "upgrading", "mitre": "T1190"},
    tags=("cluster", "versions"),
)
def cluster_version_unsupported(info: Resource) -> Iterator[Violation]:
    git = dig(info.obj, "version", "gitVersion")
    version = minor_of(git) or _minor_fields(info.obj.get("version"))
    if version is None:
        return
    why = unsupported(version)
    if why:
        yield Violation(("version", "gitVersion"), f"Kubernetes {git or _v(version)} is {why} ({_table_age(info)})")


def _minor_fields(version: Any) -> tuple[int, int] | None:
    major, minor = str(mapping(version).get("major", "")), str(mapping(version).get("minor", "")).rstrip("+")
    return (int(major), int(minor)) if major.isdigit() and minor.isdigit() else None


@check(
    id="KW-C002",
    slug="kubelet-version-skew",
    title="Kubelets should be within the supported version skew of the API server",
    severity=Severity.MEDIUM,
    scope="inventory",
    kinds=("ClusterInfo", "Node"),
    rationale="""The version-skew policy lets a kubelet be at most three minor versions older than the
        API server (two before v1.25) and never newer. Outside that range the combination is untested:
        features and security fixes the API server relies on may be missing on the node.""",
    remediation="Upgrade the node's kubelet (drain, upgrade, uncordon) to the API server's minor version.",
    example="""
        status:
          nodeInfo: {kubeletVersion: v1.37.1}   # API server v1.37
    """,
    refs={"nsa": "upgrading", "mitre": "T1190"},
    tags=("cluster", "nodes", "versions"),
)
def kubelet_version_skew(inventory: Inventory) -> Iterator[tuple[Resource, Violation]]:
    infos = inventory.kinds("ClusterInfo")
    server = next(
        (v for i in infos if (v := minor_of(dig(i.obj, "version", "gitVersion")) or _minor_fields(i.obj.get("version")))), None
    )
    if server is None:
        return
    for node in inventory.kinds("Node"):
        text = dig(node.obj, "status", "nodeInfo", "kubeletVersion")
        kubelet = minor_of(text)
        if kubelet is None or kubelet[0] != server[0]:
            continue
        allowed = 3 if kubelet[1] >= 25 else 2
        if kubelet > server:
            why = f"newer than the API server ({_v(server)}); kubelets must not be newer"
        elif server[1] - kubelet[1] > allowed:
            behind = server[1] - kubelet[1]
            why = f"{behind} minor versions older than the API server ({_v(server)}); at most {allowed} is supported"
        else:
            continue
        yield node, Violation(("status", "nodeInfo", "kubeletVersion"), f"kubelet {text} on node {node.name!r} is {why}")


@check(
    id="KW-C003",
    slug="node-version-unsupported",
    title="Nodes should run a kubelet and container runtime that are still supported",
    severity=Severity.MEDIUM,
    kinds=("Node",),
    rationale="""A kubelet from a minor release out of upstream support, or a container runtime line that
        no longer gets fixes (containerd before 1.7), runs every pod of the node without security patches.""",
    remediation="Upgrade the node image (kubelet and container runtime) to supported releases.",
    example="""
        status:
          nodeInfo:
            kubeletVersion: v1.37.1
            containerRuntimeVersion: containerd://2.1.4
    """,
    refs={"nsa": "upgrading", "mitre": "T1190"},
    tags=("cluster", "nodes", "versions"),
)
def node_version_unsupported(node: Resource) -> Iterator[Violation]:
    info = mapping(dig(node.obj, "status", "nodeInfo"))
    kubelet = minor_of(info.get("kubeletVersion"))
    why = unsupported(kubelet) if kubelet else None
    if why:
        yield Violation(("status", "nodeInfo", "kubeletVersion"), f"kubelet {info['kubeletVersion']} is {why}")
    runtime = info.get("containerRuntimeVersion")
    if isinstance(runtime, str) and runtime.startswith("containerd://"):
        version = minor_of(runtime.removeprefix("containerd://"))
        if version and version < CONTAINERD_OLDEST:
            yield Violation(
                ("status", "nodeInfo", "containerRuntimeVersion"),
                f"container runtime {runtime} is a containerd release line no longer supported (before {_v(CONTAINERD_OLDEST)})",
            )


@check(
    id="KW-C004",
    slug="control-plane-node-schedulable",
    title="Control-plane nodes should carry the NoSchedule taint",
    severity=Severity.MEDIUM,
    kinds=("Node",),
    rationale="""Without the node-role.kubernetes.io/control-plane:NoSchedule taint any pod can be
        scheduled next to the API server and etcd, where a container escape reaches the cluster's keys.""",
    remediation="kubectl taint nodes NODE node-role.kubernetes.io/control-plane:NoSchedule",
    example="""
        spec:
          taints:
            - {key: node-role.kubernetes.io/control-plane, effect: NoSchedule}
    """,
    refs={"nsa": "network/control-plane", "mitre": "T1611"},
    tags=("cluster", "nodes"),
)
def control_plane_node_schedulable(node: Resource) -> Iterator[Violation]:
    labels = mapping(node.metadata.get("labels"))
    role = next((label for label in CONTROL_PLANE_LABELS if label in labels), None)
    if role is None:
        return
    taints = dig(node.obj, "spec", "taints")
    for taint in taints if isinstance(taints, list) else []:
        taint = mapping(taint)
        if taint.get("key") in CONTROL_PLANE_LABELS and taint.get("effect") in ("NoSchedule", "NoExecute"):
            return
    yield Violation(("spec", "taints"), f"control-plane node {node.name!r} (label {role}) has no NoSchedule taint")


@check(
    id="KW-C005",
    slug="node-standard-labels-missing",
    title="Nodes should carry the standard kubernetes.io labels",
    severity=Severity.LOW,
    kinds=("Node",),
    rationale="""The kubelet sets kubernetes.io/os, kubernetes.io/arch and kubernetes.io/hostname on
        every node it registers. A node without them was registered or edited by hand, and node
        selectors and NetworkPolicy/affinity rules that rely on them silently miss it.""",
    remediation="Let the kubelet register the node (or restore the labels with kubectl label node).",
    example="""
        metadata:
          labels: {kubernetes.io/os: linux, kubernetes.io/arch: amd64, kubernetes.io/hostname: worker-1}
    """,
    refs={"nsa": "network/control-plane", "mitre": "T1610"},
    tags=("cluster", "nodes"),
)
def node_standard_labels_missing(node: Resource) -> Iterator[Violation]:
    labels = mapping(node.metadata.get("labels"))
    missing = [label for label in STANDARD_LABELS if label not in labels]
    if missing:
        yield Violation(("metadata", "labels"), f"node {node.name!r} lacks the label(s) {', '.join(missing)}")


def _anonymous(info: Resource) -> list[tuple[int, str, int]]:
    answers = info.obj.get("anonymous")
    out = []
    for i, answer in enumerate(answers if isinstance(answers, list) else []):
        answer = mapping(answer)
        if isinstance(answer.get("path"), str) and isinstance(answer.get("status"), int):
            out.append((i, answer["path"], answer["status"]))
    return out


@check(
    id="KW-C006",
    slug="anonymous-api-access",
    title="Anonymous requests should not be authorised to read the API",
    severity=Severity.HIGH,
    kinds=("ClusterInfo",),
    rationale="""kubeward asked /api and /apis with no credentials at all. A 200 means RBAC grants
        system:anonymous (or system:unauthenticated) more than the version: anyone who reaches the API
        server learns its resources and whatever else is bound to those groups.""",
    remediation="Remove bindings to system:anonymous and system:unauthenticated, or set --anonymous-auth=false.",
    example="""
        anonymous:
          - {path: /api, status: 401}
    """,
    refs={"cis": "1.2.1", "nsa": "authn-authz", "mitre": "T1190"},
    tags=("cluster", "authentication"),
)
def anonymous_api_access(info: Resource) -> Iterator[Violation]:
    for i, path, status in _anonymous(info):
        if path != "/version" and status == 200:
            yield Violation(
                ("anonymous", i, "status"), f"an unauthenticated GET {path} is answered 200: anonymous requests are authorised"
            )


@check(
    id="KW-C007",
    slug="anonymous-auth-enabled",
    title="Anonymous authentication should be disabled on the API server",
    severity=Severity.LOW,
    kinds=("ClusterInfo",),
    rationale="""A 403 (not 401) to a request without credentials means anonymous authentication is on:
        the request was authenticated as system:anonymous and only RBAC stood in the way. By default
        that user can read /version, /healthz and the like (the version tells an attacker which CVEs
        apply); any binding to system:anonymous or system:unauthenticated opens more.""",
    remediation="Set --anonymous-auth=false (from v1.32, an AuthenticationConfiguration can limit it to /healthz).",
    example="""
        anonymous:
          - {path: /version, status: 401}
    """,
    refs={"cis": "1.2.1", "nsa": "authn-authz", "mitre": "T1190"},
    tags=("cluster", "authentication"),
)
def anonymous_auth_enabled(info: Resource) -> Iterator[Violation]:
    answers = _anonymous(info)
    if any(status == 200 and path != "/version" for _, path, status in answers):
        return  # KW-C006 says more
    authenticated = [(i, path, status) for i, path, status in answers if status in (200, 403)]
    if authenticated:
        i = authenticated[0][0]
        said = ", ".join(f"{path} {status}" for _, path, status in authenticated)
        leak = " (/version discloses the server version)" if any(p == "/version" and s == 200 for _, p, s in answers) else ""
        yield Violation(
            ("anonymous", i, "status"), f"requests without credentials are authenticated as system:anonymous ({said}){leak}"
        )


@check(
    id="KW-C008",
    slug="scanner-permissions-incomplete",
    title="The scanner should be able to list everything its checks read",
    severity=Severity.INFO,
    kinds=("ClusterInfo",),
    rationale="""A list the API server refused (403) leaves those objects unchecked: a clean report
        then means "not seen", not "not there". This lists what could not be read and which checks
        read those kinds.""",
    remediation="Bind the scanner's identity to the role `kubeward generate scanner-rbac` prints.",
    example="""
        resources:
          - {group: "", version: v1, resource: secrets, kind: Secret, listed: 40, metadataOnly: true}
    """,
    refs={"nsa": "authn-authz", "mitre": "T1078"},
    tags=("cluster",),
)
def scanner_permissions_incomplete(info: Resource) -> Iterator[Violation]:
    from .registry import all_checks

    entries = info.obj.get("resources")
    forbidden = []
    for entry in entries if isinstance(entries, list) else []:
        entry = mapping(entry)
        if mapping(entry.get("error")).get("status") == 403 and isinstance(entry.get("kind"), str):
            group = entry.get("group") or ""
            forbidden.append((entry["kind"], f"{entry.get('resource')}{'.' + group if group else ''}"))
    if not forbidden:
        return
    kinds = {kind for kind, _ in forbidden}
    blind = sorted(c.id for c in all_checks() if c.kinds & kinds and c.id != "KW-C008")
    listed = ", ".join(name for _, name in forbidden)
    checks = ", ".join(blind) if blind else "none"
    yield Violation(("resources",), f"the scanner may not list {listed} (403); checks that read those kinds saw none: {checks}")


@check(
    id="KW-C009",
    slug="bootstrap-token-secret",
    title="Bootstrap token Secrets should not outlive the node joins they were made for",
    severity=Severity.MEDIUM,
    kinds=("Secret",),
    rationale="""A bootstrap token (kube-system Secret bootstrap-token-<id>) authenticates as
        system:bootstrappers, which may create certificate signing requests -- with kubeadm's
        defaults, enough to join a node. kubeadm gives tokens a 24 h expiration; a token with
        none stays valid until deleted. From a metadata-only listing the expiration (in the
        Secret's data) cannot be seen, so kubeward reports every bootstrap token Secret.""",
    remediation="Delete bootstrap tokens after use (kubeadm token delete ID); create them with a short --ttl.",
    example="""
        # kubeadm token create --ttl 1h ... and kubeadm token delete <id> after the join
    """,
    refs={"nsa": "authn-authz", "mitre": "T1078"},
    tags=("cluster", "secrets"),
)
def bootstrap_token_secret(secret: Resource) -> Iterator[Violation]:
    is_type = secret.obj.get("type") == BOOTSTRAP_TYPE
    if not is_type and not (secret.namespace == "kube-system" and secret.name.startswith(BOOTSTRAP_PREFIX)):
        return
    if secret.namespace not in ("kube-system", ""):
        return  # the token authenticator reads kube-system only
    expiration = _data_value(secret.obj, "expiration")
    if expiration is not None:
        state = f"it expires at {expiration} (remove it once that has passed)"
    elif "data" in secret.obj or "stringData" in secret.obj:
        state = "it has no expiration: valid until deleted"
    else:
        state = "its expiration is in its data, which kubeward does not read"
    path = ("type",) if is_type else ("metadata", "name")
    yield Violation(path, f"bootstrap token Secret {secret.name!r}: {state}")


def _data_value(obj: dict, key: str) -> str | None:
    plain = mapping(obj.get("stringData")).get(key)
    if isinstance(plain, str):
        return plain
    encoded = mapping(obj.get("data")).get(key)
    if isinstance(encoded, str):
        try:
            return base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
    return None
