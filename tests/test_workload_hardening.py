"""KW-W004..KW-W022: workload hardening beyond the Pod Security Standards."""

from __future__ import annotations

import json

import pytest

from helpers import DATA, run_cli, scan_text
from kubeward.checks.registry import lookup
from kubeward.config import parse_config
from kubeward.inventory import WORKLOADS, pod_spec_of
from kubeward.model import Resource
from kubeward.runner import scan_paths

HARDENING_IDS = [f"KW-W{n:03d}" for n in range(4, 23)]
NSA = {
    "pod-security/non-root", "pod-security/immutable-filesystem", "pod-security/secure-images",
    "pod-security/enforcement", "pod-security/service-account-tokens", "pod-security/hardening",
    "network/namespaces", "network/network-policies", "network/resource-policies",
    "network/control-plane", "network/secrets", "authn-authz", "audit-logging", "upgrading",
}  # fmt: skip
BASELINE = parse_config({"pod-security": {"level": "baseline"}}, "c")


def pod(spec: str, meta: str = "") -> str:
    """A Pod document: ``spec`` and ``meta`` are YAML mapping bodies indented by two spaces."""
    return f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n{meta}spec:\n{spec}"


def findings(text: str, check_id: str, config=None) -> list[tuple[str, str | None, str]]:
    result, loaded = scan_text(text, only=[check_id], config=config)
    assert not loaded.errors and not result.errors
    return [(f.path_str, f.container, f.message) for f in result.findings]


@pytest.mark.parametrize("check_id", HARDENING_IDS)
def test_metadata(check_id):
    c = lookup(check_id)
    assert c.kinds == WORKLOADS and c.scope == "resource"
    assert "hardening" in c.tags
    assert c.rationale and c.remediation and c.example
    assert c.refs.get("mitre", "").startswith("T")
    assert "cis" in c.refs or "nsa" in c.refs
    assert c.refs.get("nsa", "pod-security/hardening") in NSA
    assert c.takes_config == (check_id in ("KW-W009", "KW-W010", "KW-W011"))


# --- W004..W006: the effective runAsUser / runAsGroup, inherited from the pod


def test_run_as_user_inherited_from_the_pod_and_overridden_by_the_container():
    text = pod("""  securityContext: {runAsUser: 1000}
  containers:
    - {name: a, image: x}
    - {name: b, image: x, securityContext: {runAsUser: 10001}}
    - {name: c, image: x, securityContext: {runAsUser: 999}}
""")
    assert findings(text, "KW-W004") == [
        ("spec.securityContext.runAsUser", "a", "container 'a' runs as UID 1000 (below 10000, set on the pod)"),
        ("spec.containers[2].securityContext.runAsUser", "c", "container 'c' runs as UID 999 (below 10000)"),
    ]


def test_run_as_user_unset_points_at_the_container_field():
    text = pod("  containers:\n    - {name: app, image: x, securityContext: {runAsNonRoot: true}}\n")
    assert findings(text, "KW-W004") == [
        ("spec.containers[0].securityContext.runAsUser", "app", "container 'app' sets no runAsUser (the image decides its UID)")
    ]


@pytest.mark.parametrize(
    "pod_value,container_value,reported",
    [
        ("0", None, False),  # root is KW-P018's business
        ("10000", None, False),  # the threshold itself is fine
        ("9999", None, True),
        ("0", "5", True),  # the container's value wins
        ("5", "0", False),
        ("true", None, False),  # YAML true is not UID 1
        ("'1000'", None, False),  # a string is a schema error, not a UID
    ],
)
def test_run_as_user_values(pod_value, container_value, reported):
    container_sc = f", securityContext: {{runAsUser: {container_value}}}" if container_value else ""
    text = pod(f"  securityContext: {{runAsUser: {pod_value}}}\n  containers:\n    - {{name: app, image: x{container_sc}}}\n")
    assert bool(findings(text, "KW-W004")) == reported


def test_user_namespace_and_windows_pods_have_no_low_id_findings():
    userns = pod("  hostUsers: false\n  containers: [{name: app, image: x}]\n")
    windows = pod("  os: {name: windows}\n  containers: [{name: app, image: x}]\n")
    for text in (userns, windows):
        assert findings(text, "KW-W004") == findings(text, "KW-W005") == []


def test_run_as_group_below_10000_and_root_group_split_at_zero():
    text = pod("""  securityContext: {runAsGroup: 0}
  containers:
    - {name: a, image: x}
    - {name: b, image: x, securityContext: {runAsGroup: 100}}
    - {name: c, image: x, securityContext: {runAsGroup: 10001}}
""")
    assert findings(text, "KW-W005") == [
        ("spec.containers[1].securityContext.runAsGroup", "b", "container 'b' runs as GID 100 (below 10000)")
    ]
    assert findings(text, "KW-W006") == [
        ("spec.securityContext.runAsGroup", "a", "container 'a' runs with GID 0 (the root group, set on the pod)")
    ]


def test_run_as_group_unset():
    text = pod("  securityContext: {runAsUser: 10001}\n  containers: [{name: app, image: x}]\n")
    assert findings(text, "KW-W005") == [
        ("spec.containers[0].securityContext.runAsGroup", "app", "container 'app' sets no runAsGroup (the image decides its GID)")
    ]
    assert findings(text, "KW-W006") == []


def test_root_group_in_supplemental_groups_and_fs_group():
    text = pod("  securityContext: {supplementalGroups: [10, 0, no], fsGroup: 0}\n  containers: [{name: app, image: x}]\n")
    # `no` is YAML 1.1 false, not GID 0
    assert findings(text, "KW-W007") == [
        ("spec.securityContext.supplementalGroups[1]", None, "the pod adds GID 0 (the root group) to every container")
    ]
    assert findings(text, "KW-W008") == [
        ("spec.securityContext.fsGroup", None, "the pod sets fsGroup: 0 (the root group owns its volumes)")
    ]


# --- W009..W011: silent when the configured Pod Security level reports the same fact

BARE = pod("  containers: [{name: app, image: x}]\n")


@pytest.mark.parametrize("check_id", ["KW-W009", "KW-W010", "KW-W011"])
def test_covered_by_pss_at_restricted_active_at_baseline(check_id):
    assert findings(BARE, check_id) == []  # restricted/latest is the default
    assert len(findings(BARE, check_id, BASELINE)) == 1
    privileged = parse_config({"pod-security": {"level": "privileged"}}, "c")
    assert len(findings(BARE, check_id, privileged)) == 1


@pytest.mark.parametrize(
    "check_id,version",
    [("KW-W009", "v1.21"), ("KW-W010", "v1.18"), ("KW-W011", "v1.7")],  # before the PSS check existed
)
def test_active_at_restricted_versions_without_the_pss_check(check_id, version):
    old = parse_config({"pod-security": {"level": "restricted", "version": version}}, "c")
    assert len(findings(BARE, check_id, old)) == 1


def test_the_pss_check_reports_what_the_silent_check_would():
    for check_id, pss_id in (("KW-W009", "KW-P019"), ("KW-W010", "KW-P014"), ("KW-W011", "KW-P003")):
        assert findings(BARE, check_id, BASELINE) and findings(BARE, pss_id)


def test_net_raw_message_and_spellings():
    text = pod("""  containers:
    - {name: a, image: x, securityContext: {capabilities: {drop: [NET_ADMIN]}}}
    - {name: b, image: x, securityContext: {capabilities: {drop: [net_raw]}}}
    - {name: c, image: x, securityContext: {capabilities: {drop: "ALL"}}}
""")
    assert findings(text, "KW-W009", BASELINE) == [
        (
            "spec.containers[0].securityContext.capabilities.drop",
            "a",
            "container 'a' keeps NET_RAW (drops neither ALL nor NET_RAW)",
        ),
        # a string is not a list: Kubernetes rejects it, and nothing is dropped
        (
            "spec.containers[2].securityContext.capabilities.drop",
            "c",
            "container 'c' keeps NET_RAW (drops neither ALL nor NET_RAW)",
        ),
    ]


@pytest.mark.parametrize(
    "pod_sc,container_sc,meta,hardened",
    [
        ("{}", "{}", "", False),
        ("{seccompProfile: {type: RuntimeDefault}}", "{}", "", True),
        # the container's Unconfined overrides the pod's profile
        ("{seccompProfile: {type: RuntimeDefault}}", "{seccompProfile: {type: Unconfined}}", "", False),
        ("{}", "{appArmorProfile: {type: Localhost, localhostProfile: p}}", "", True),
        ("{appArmorProfile: {type: Unconfined}}", "{}", "", False),
        ("{seLinuxOptions: {level: 's0:c1,c2'}}", "{}", "", True),
        ("{}", "{seLinuxOptions: {}}", "", False),
        ("{}", "{}", "container.apparmor.security.beta.kubernetes.io/app: runtime/default", True),
        ("{}", "{}", "container.apparmor.security.beta.kubernetes.io/app: unconfined", False),
        ("{}", "{}", "container.apparmor.security.beta.kubernetes.io/other: runtime/default", False),
        ("{}", "{}", "seccomp.security.alpha.kubernetes.io/pod: runtime/default", True),
        ("{}", "{}", "seccomp.security.alpha.kubernetes.io/pod: unconfined", False),
    ],
)
def test_no_linux_hardening(pod_sc, container_sc, meta, hardened):
    meta = f"  annotations:\n    {meta}\n" if meta else ""
    text = pod(f"  securityContext: {pod_sc}\n  containers: [{{name: app, image: x, securityContext: {container_sc}}}]\n", meta)
    message = "container 'app' has no seccomp, AppArmor or SELinux profile"
    expected = [] if hardened else [("spec.containers[0].securityContext.seccompProfile", "app", message)]
    assert findings(text, "KW-W010", BASELINE) == expected


def test_security_context_missing_counts_empty_as_missing():
    text = pod("""  securityContext: {}
  containers:
    - {name: a, image: x, securityContext: {}}
    - {name: b, image: x, securityContext: {runAsNonRoot: true}}
""")
    assert findings(text, "KW-W011", BASELINE) == [
        ("spec.containers[0].securityContext", "a", "container 'a' and its pod set no securityContext")
    ]
    with_pod = pod("  securityContext: {runAsNonRoot: true}\n  containers: [{name: a, image: x}]\n")
    assert findings(with_pod, "KW-W011", BASELINE) == []


# --- W012, W013: pod-level sharing


@pytest.mark.parametrize(
    "spec,reported",
    [
        ("", True),
        ("  hostUsers: true\n", True),
        ("  hostUsers: false\n", False),
        ("  hostUsers: off\n", False),  # YAML 1.1 false
        ("  hostUsers: 'false'\n", True),  # a string is not false
        ("  hostPID: true\n", False),  # the API refuses hostUsers: false with host namespaces
        ("  hostNetwork: yes\n", False),
    ],
)
def test_user_namespace_advice(spec, reported):
    text = pod(spec + "  containers: [{name: a, image: x}, {name: b, image: x}]\n")
    expected = [("spec.hostUsers", None, "the pod shares the node's user namespace (hostUsers is not false)")]
    assert findings(text, "KW-W012") == (expected if reported else [])


def test_user_namespace_is_info():
    assert str(lookup("KW-W012").severity) == "info" and str(lookup("KW-W022").severity) == "info"


@pytest.mark.parametrize("value,reported", [("true", True), ("on", True), ("false", False), ("'true'", False)])
def test_share_process_namespace(value, reported):
    text = pod(f"  shareProcessNamespace: {value}\n  containers: [{{name: a, image: x}}]\n")
    expected = [("spec.shareProcessNamespace", None, "the pod's containers share one process namespace")]
    assert findings(text, "KW-W013") == (expected if reported else [])


# --- W014..W017: host paths and mounts


@pytest.mark.parametrize(
    "raw,check_id,shown",
    [
        ("/var/run/docker.sock", "KW-W014", "/var/run/docker.sock"),
        ("/var/run/docker.sock/", "KW-W014", "/var/run/docker.sock"),
        ("//var//run///docker.sock", "KW-W014", "/var/run/docker.sock"),
        ("/var/./run/docker.sock", "KW-W014", "/var/run/docker.sock"),
        ("/run/k3s/containerd/containerd.sock", "KW-W014", "/run/k3s/containerd/containerd.sock"),
        ("/run/", "KW-W014", "/run"),
        ("/var/run/crio", "KW-W014", "/var/run/crio"),
        ("/", "KW-W015", "/"),
        ("//", "KW-W015", "/"),
        ("/etc/", "KW-W015", "/etc"),
        ("/etc//kubernetes/admin.conf", "KW-W015", "/etc/kubernetes/admin.conf"),
        ("/dev/shm", "KW-W015", "/dev/shm"),
        ("/var/lib/containerd/", "KW-W015", "/var/lib/containerd"),
        ("/etcd", None, None),
        ("/var/run/docker", None, None),
        ("/var/lib/kubelet-plugins", None, None),
        ("/var/log/pods", None, None),
        ("/run/containerd/io.containerd.runtime.v2.task", None, None),
    ],
)
def test_host_path_normalisation(raw, check_id, shown):
    text = pod(f"  volumes: [{{name: v, hostPath: {{path: '{raw}'}}}}]\n  containers: [{{name: a, image: x}}]\n")
    hits = {cid: findings(text, cid) for cid in ("KW-W014", "KW-W015")}
    assert [cid for cid, found in hits.items() if found] == ([check_id] if check_id else [])
    if check_id:
        ((path, container, message),) = hits[check_id]
        assert path == "spec.volumes[0].hostPath.path" and container is None
        assert ("the node's root filesystem" if shown == "/" else f" {shown} from the node") in message


def test_runtime_socket_and_sensitive_path_messages():
    text = pod("""  volumes:
    - {name: sock, hostPath: {path: /run/containerd/containerd.sock, type: Socket}}
    - {name: run, hostPath: {path: /var/run}}
    - {name: root, hostPath: {path: /}}
    - {name: pki, hostPath: {path: /etc/kubernetes/pki}}
    - {name: ssh, hostPath: {path: /root/.ssh}}
  containers: [{name: a, image: x}]
""")
    assert [m for _, _, m in findings(text, "KW-W014")] == [
        "volume 'sock' mounts the container runtime socket /run/containerd/containerd.sock from the node",
        "volume 'run' mounts /var/run from the node, which holds the container runtime socket",
    ]
    assert [m for _, _, m in findings(text, "KW-W015")] == [
        "volume 'root' mounts the node's root filesystem",
        "volume 'pki' mounts /etc/kubernetes/pki from the node (under /etc/kubernetes)",
        "volume 'ssh' mounts /root/.ssh from the node (under /root)",
    ]


@pytest.mark.parametrize(
    "read_only,reported",
    [("", True), ("true", False), ("yes", False), ("on", False), ("false", True), ("'true'", True), ("no", True)],
)
def test_host_path_writable_reads_yaml_11(read_only, reported):
    flag = f", readOnly: {read_only}" if read_only else ""
    text = pod(f"""  volumes:
    - {{name: logs, hostPath: {{path: /var/log//}}}}
    - {{name: tmp, emptyDir: {{}}}}
  containers:
    - name: a
      image: x
      volumeMounts: [{{name: logs, mountPath: /logs{flag}}}, {{name: tmp, mountPath: /tmp}}]
""")
    expected = [
        ("spec.containers[0].volumeMounts[0].readOnly", "a", "container 'a' mounts hostPath volume 'logs' (/var/log) writable")
    ]
    assert findings(text, "KW-W016") == (expected if reported else [])


def test_mount_propagation_bidirectional():
    text = pod("""  volumes: [{name: pods, hostPath: {path: /var/lib/kubelet/pods}}]
  containers:
    - name: csi
      image: x
      volumeMounts:
        - {name: pods, mountPath: /a, mountPropagation: HostToContainer}
        - {name: pods, mountPath: /b, mountPropagation: Bidirectional}
        - {name: pods, mountPath: /c, mountPropagation: bidirectional}
""")
    assert findings(text, "KW-W017") == [
        (
            "spec.containers[0].volumeMounts[1].mountPropagation",
            "csi",
            "container 'csi' propagates mounts of volume 'pods' back to the node",
        )
    ]


# --- W018..W022: container hygiene


def test_privileged_port():
    text = pod("""  containers:
    - name: web
      image: x
      ports: [{containerPort: 80}, {containerPort: 1023}, {containerPort: 1024}, {containerPort: 0}, {containerPort: true}]
""")
    assert findings(text, "KW-W018") == [
        ("spec.containers[0].ports[0].containerPort", "web", "container 'web' listens on privileged port 80"),
        ("spec.containers[0].ports[1].containerPort", "web", "container 'web' listens on privileged port 1023"),
    ]


def test_duplicate_env_var_names_the_entries_and_never_the_values(tmp_path):
    text = pod("""  containers:
    - name: api
      image: x
      env:
        - {name: DB_PASSWORD, value: hunter2-first-secret}
        - {name: MODE, value: prod}
        - {name: DB_PASSWORD, value: s3cr3t-second-value}
        - {name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}
""")
    message = "container 'api' sets DB_PASSWORD twice (env[0] and env[{}]); the later one wins"
    assert findings(text, "KW-W019") == [
        ("spec.containers[0].env[2].name", "api", message.format(2)),
        ("spec.containers[0].env[3].name", "api", message.format(3)),
    ]
    path = tmp_path / "env.yaml"
    path.write_text(text)
    for fmt in ("json", "sarif"):
        out = run_cli("scan", str(path), "--check", "KW-W019", "-f", fmt).stdout
        assert "DB_PASSWORD" in out and json.loads(out)
        assert "hunter2" not in out and "s3cr3t" not in out


def test_deprecated_annotations_name_the_annotation_field():
    meta = """  annotations:
    seccomp.security.alpha.kubernetes.io/pod: runtime/default
    seccomp.security.alpha.kubernetes.io/podx: runtime/default
    container.seccomp.security.alpha.kubernetes.io/app: runtime/default
    container.apparmor.security.beta.kubernetes.io/app: runtime/default
"""
    text = pod("  containers: [{name: app, image: x}]\n", meta)
    result, _ = scan_text(text, only=["KW-W020", "KW-W021"])
    assert [(f.check_id, f.path_str, f.line) for f in result.findings] == [
        ("KW-W020", "metadata.annotations.seccomp.security.alpha.kubernetes.io/pod", 6),
        ("KW-W020", "metadata.annotations.container.seccomp.security.alpha.kubernetes.io/app", 8),
        ("KW-W021", "metadata.annotations.container.apparmor.security.beta.kubernetes.io/app", 9),
    ]
    assert result.findings[-1].message == (
        "annotation container.apparmor.security.beta.kubernetes.io/app is deprecated since v1.30: "
        "use securityContext.appArmorProfile"
    )


def test_stdin_tty():
    text = pod("""  containers:
    - {name: a, image: x, stdin: true, tty: true}
    - {name: b, image: x, tty: y}
    - {name: c, image: x, stdin: false, stdinOnce: true}
  ephemeralContainers:
    - {name: debug, image: x, stdin: true, tty: true}
""")
    assert findings(text, "KW-W022") == [
        ("spec.containers[0].stdin", "a", "container 'a' sets stdin and tty: true"),
        ("spec.containers[1].tty", "b", "container 'b' sets tty: true"),
    ]


# --- robustness and the whole pipeline

ODD_SPECS = [
    {"securityContext": [], "containers": [{"name": 1, "securityContext": "x", "env": {}, "ports": [1, None]}]},
    {"securityContext": {"supplementalGroups": "0", "runAsUser": {}}, "volumes": "x", "containers": [None, "c"]},
    {
        "volumes": [{"name": None, "hostPath": {"path": 5}}, {"hostPath": "/etc"}, None],
        "containers": [{"volumeMounts": [None, 3]}],
    },
    {"containers": [{"env": [None, {"name": ["A"]}, {"name": "A"}, {"name": "A"}], "volumeMounts": [{"name": {}}]}]},
    {"hostUsers": [], "shareProcessNamespace": 1, "os": "linux", "containers": [{"securityContext": {"capabilities": []}}]},
]


@pytest.mark.parametrize("spec", ODD_SPECS)
def test_checks_never_raise_on_odd_input(spec):
    resource = Resource({"apiVersion": "v1", "kind": "Pod", "metadata": {"annotations": [1]}, "spec": spec}, "odd.yaml")
    for check_id in HARDENING_IDS:
        c = lookup(check_id)
        view = pod_spec_of(resource)
        args = (view, BASELINE) if c.takes_config else (view,)
        for violation in c.fn(*args):
            assert violation.message and violation.path


def test_fixtures_through_the_runner(tmp_path):
    """scan_paths (worker pipeline, resources released) gives the same findings as scan_text."""
    checks = [lookup(cid) for cid in HARDENING_IDS]
    for cid in HARDENING_IDS:
        (tmp_path / f"{cid}.yaml").write_text((DATA / "checks" / cid / "fail.yaml").read_text())
    result = scan_paths([str(tmp_path)], checks, BASELINE, jobs=1)
    assert not result.errors
    by_check = {f.check_id for f in result.findings if f.resource.file.endswith(f"{f.check_id}.yaml")}
    assert by_check == set(HARDENING_IDS)
    assert all(f.line for f in result.findings)
