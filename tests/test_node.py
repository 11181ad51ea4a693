"""`kubeward node`: flags as pflag parses them, systemd expansion, the kubelet's
config/drop-in/flag/default order, CIS results with sources, encryption config
analysis, reports and the generated manifests."""

from __future__ import annotations

import base64
import json
import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from helpers import DATA, run_cli
from kubeward.node import cis, discover, encryption, flags, kubelet
from kubeward.node.discover import Component

KUBEADM = DATA / "node" / "kubeadm"


# -- flags ---------------------------------------------------------------------


def test_bool_flag_never_takes_the_next_word():
    fs = flags.parse_flags(["kube-apiserver", "--anonymous-auth", "false", "--profiling=false"])
    assert fs.get("anonymous-auth") == "true" and fs.positional == ["false"]
    assert fs.get("profiling") == "false"


def test_value_flag_takes_the_next_word_and_last_one_wins():
    fs = flags.parse_flags(["x", "--audit-log-maxage", "7", "--audit-log-maxage=30", "--token_auth_file", "/t.csv"])
    assert fs.get("audit-log-maxage") == "30"
    assert fs.get("token-auth-file") == "/t.csv"  # _ and - are one (WordSepNormalizeFunc)


def test_slice_flags_accumulate_and_gates_merge():
    fs = flags.parse_flags(
        [
            "x",
            "--enable-admission-plugins=NodeRestriction",
            "--enable-admission-plugins",
            "EventRateLimit,PodSecurity",
            "--feature-gates=A=true,B=false",
            "--feature-gates=B=true",
        ]
    )
    assert fs.list("enable-admission-plugins") == ["NodeRestriction", "EventRateLimit", "PodSecurity"]
    assert fs.gates == {"A": True, "B": True}


def test_bad_flags_are_reported_not_fatal():
    fs = flags.parse_flags(["x", "--anonymous-auth=maybe", "--feature-gates=A", "-abc", "--client-ca-file"])
    assert not fs.has("anonymous-auth")
    assert len(fs.errors) == 4


def test_go_flag_single_dash_and_stop_at_positional():
    fs = flags.parse_flags(["etcd", "-client-cert-auth", "-name", "a", "stray", "--auto-tls"], go_flag=True)
    assert fs.get("client-cert-auth") == "true" and fs.get("name") == "a"
    assert not fs.has("auto-tls") and fs.positional == ["stray", "--auto-tls"]


# -- systemd -------------------------------------------------------------------


def test_kubeadm_dropin_expands_like_systemd():
    comps, errors = discover.from_systemd(KUBEADM)
    assert errors == []
    [kubelet_unit] = comps
    assert kubelet_unit.argv == [
        "/usr/bin/kubelet",
        "--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf",
        "--kubeconfig=/etc/kubernetes/kubelet.conf",
        "--config=/var/lib/kubelet/config.yaml",
        "--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock",
        "--pod-infra-container-image=registry.k8s.io/pause:3.9",
        "--config-dir=/etc/kubernetes/kubelet.conf.d",
        "--read-only-port=10255",
        "--hostname-override=node-a",
    ]


def test_expansion_rules():
    env = {"A": "--x=1  --y=2", "B": "one two", "E": ""}
    assert discover.expand_exec("-/bin/kubelet $A ${B} pre${B}post $E $$HOME", env) == [
        "/bin/kubelet",
        "--x=1",
        "--y=2",
        "one two",
        "preone twopost",
        "$HOME",
    ]


def test_environment_file_overrides_environment_and_etc_overrides_lib(tmp_path):
    lib = tmp_path / "usr/lib/systemd/system"
    (lib / "kubelet.service.d").mkdir(parents=True)
    (lib / "kubelet.service").write_text("[Service]\nExecStart=/usr/bin/kubelet --v=1\n")
    (lib / "kubelet.service.d/10-a.conf").write_text(
        '[Service]\nEnvironment="ARGS=--read-only-port=1"\nEnvironmentFile=/env\nExecStart=\nExecStart=/usr/bin/kubelet $ARGS\n'
    )
    (tmp_path / "env").write_text("# comment\nARGS='--read-only-port=2'\n")
    [comp], errors = discover.from_systemd(tmp_path)
    assert comp.argv == ["/usr/bin/kubelet", "--read-only-port=2"] and errors == []
    etc = tmp_path / "etc/systemd/system/kubelet.service.d"
    etc.mkdir(parents=True)
    (etc / "10-a.conf").write_text("[Service]\nExecStart=\nExecStart=/usr/bin/kubelet \\\n  --anonymous-auth=false\n")
    [comp], _ = discover.from_systemd(tmp_path)
    assert comp.argv == ["/usr/bin/kubelet", "--anonymous-auth=false"]  # same-named drop-in in /etc hides /usr/lib's


def test_missing_required_environment_file_is_an_error(tmp_path):
    unit = tmp_path / "lib/systemd/system/kubelet.service"
    unit.parent.mkdir(parents=True)
    unit.write_text("[Service]\nEnvironmentFile=/nope\nExecStart=/usr/bin/kubelet\n")
    _, errors = discover.from_systemd(tmp_path)
    assert any("nope" in e for e in errors)


def test_proc_discovery(tmp_path):
    for pid, argv, env in (
        (1, [b"/sbin/init"], b""),
        (42, [b"etcd", b"--client-cert-auth=false"], b"ETCD_AUTO_TLS=true\0PATH=/x"),
        (77, [b"/usr/bin/kubelet", b"--read-only-port=0"], b""),
    ):
        d = tmp_path / str(pid)
        d.mkdir()
        (d / "cmdline").write_bytes(b"\0".join(argv) + b"\0")
        (d / "environ").write_bytes(env)
    (tmp_path / "self").mkdir()
    found = {c.name: c for c in discover.from_proc(tmp_path)}
    assert set(found) == {"etcd", "kubelet"}
    assert found["etcd"].env == {"ETCD_AUTO_TLS": "true"}
    result = discover.discover(proc=tmp_path)
    ctx = cis.build_context(result)
    assert ctx.etcd.flag("auto-tls").value is True and ctx.etcd.flag("auto-tls").source.kind == "env"


def test_running_process_wins_over_static_pod(tmp_path):
    d = tmp_path / "9"
    d.mkdir()
    (d / "cmdline").write_bytes(b"kube-apiserver\0--anonymous-auth=false\0")
    found = discover.discover(manifests_dir=KUBEADM / "etc/kubernetes/manifests", proc=tmp_path)
    assert found.components["apiserver"].origin == "process"
    assert [c.origin for c in found.also_found if c.name == "apiserver"] == ["static pod"]


# -- kubelet -------------------------------------------------------------------


def _kubelet(argv, **kw):
    return kubelet.resolve_kubelet(Component("kubelet", ["kubelet", *argv], "command line", "cmd"), **kw)


def test_kubelet_without_config_file_uses_legacy_defaults():
    kc = _kubelet([])
    assert kc.get("authentication.anonymous.enabled").value is True
    assert kc.get("authorization.mode").value == "AlwaysAllow"
    assert kc.get("readOnlyPort").value == 10255
    assert "applyLegacyDefaults" in str(kc.get("readOnlyPort").source)


def test_kubelet_config_file_defaults(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nstreamingConnectionIdleTimeout: 0s\n"
    )
    kc = _kubelet([f"--config={config}"])
    anon = kc.get("authentication.anonymous.enabled")
    assert anon.value is False and anon.source.kind == "default" and "defaults.go" in anon.source.detail
    assert kc.get("authorization.mode").value == "Webhook"
    assert kc.get("readOnlyPort").value == 0
    assert kc.get("eventRecordQPS").value == 50 and kc.get("podPidsLimit").value == -1
    assert kc.get("rotateCertificates").value is False and kc.get("seccompDefault").value is False
    stream = kc.get("streamingConnectionIdleTimeout")  # 0s is Go's zero value: defaulted to 4h
    assert stream.value == "4h0m0s" and stream.source.kind == "default"


def test_kubelet_dropins_merge_in_lexical_order_and_flags_win(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(
        "kind: KubeletConfiguration\nreadOnlyPort: 10255\nfeatureGates: {RotateKubeletServerCertificate: true}\n"
        "authentication: {anonymous: {enabled: true}, webhook: {enabled: true}}\n"
    )
    d = tmp_path / "conf.d"
    (d / "sub").mkdir(parents=True)
    (d / "20-b.conf").write_text("readOnlyPort: 2\nauthentication: {anonymous: {enabled: false}}\n")
    (d / "10-a.conf").write_text("readOnlyPort: 1\nseccompDefault: true\n")
    (d / "15-c.yaml").write_text("readOnlyPort: 99\n")  # not .conf: ignored
    (d / "sub" / "00.conf").write_text("podPidsLimit: 7\nauthentication: {webhook: null}\n")
    kc = _kubelet([f"--config={config}", f"--config-dir={d}", "--feature-gates=RotateKubeletServerCertificate=false"])
    assert [Path(p).name for p, _ in kc.dropins] == ["10-a.conf", "20-b.conf", "00.conf"]
    ro = kc.get("readOnlyPort")
    assert ro.value == 2 and ro.source.kind == "drop-in" and ro.source.file.endswith("20-b.conf")
    assert kc.get("authentication.anonymous.enabled").value is False
    assert kc.get("podPidsLimit").value == 7
    assert kc.merged["authentication"] == {"anonymous": {"enabled": False}}  # merge patch: null deletes
    assert kc.gate("RotateKubeletServerCertificate").value is False  # flag over config
    kc = _kubelet([f"--config={config}", f"--config-dir={d}", "--read-only-port=0", "--tls-cipher-suites=A,B"])
    assert kc.get("readOnlyPort").value == 0 and kc.get("readOnlyPort").source.kind == "flag"
    assert kc.get("tlsCipherSuites").value == ["A", "B"]


def test_kubelet_bad_config_never_crashes(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(
        "kind: KubeletConfiguration\nauthentication: 3\nreadOnlyPort: [1]\npodPidsLimit: lots\ntlsCipherSuites: x\n"
    )
    kc = _kubelet([f"--config={config}"])
    discovery = discover.Discovery()
    ctx = cis.NodeContext(discovery, kubelet=kc)
    results = {r.id: r for r in cis.run_checks(ctx)}
    assert results["4.2.13"].status == "fail" and results["4.2.4"].status == "fail"
    assert results["4.2.1"].value == "false"  # authentication: 3 is not a mapping: default
    (tmp_path / "broken.yaml").write_text("kind: [\n")
    assert _kubelet([f"--config={tmp_path / 'broken.yaml'}"]).errors


def test_durations():
    assert kubelet.parse_duration("4h0m0s") == 14400 and kubelet.parse_duration("1.5m") == 90
    assert kubelet.parse_duration("0") == 0 and kubelet.parse_duration("5") is None and kubelet.parse_duration("1x") is None


# -- CIS results on the kubeadm fixture ------------------------------------------


@pytest.fixture(scope="module")
def kubeadm_results():
    ctx = cis.build_context(discover.discover(root=KUBEADM))
    return ctx, {(r.id, r.file if r.component == "files" else ""): r for r in cis.run_checks(ctx)}


def _r(results, cid):
    return results[(cid, "")]


def test_kubeadm_fixture_statuses_and_sources(kubeadm_results):
    ctx, results = kubeadm_results
    assert set(ctx.discovery.components) == {"apiserver", "controller-manager", "scheduler", "etcd", "kubelet"}
    assert ctx.errors == []
    anon = _r(results, "1.2.1")
    assert anon.status == "fail" and anon.source == "default (kube-apiserver built-in)"
    assert _r(results, "1.2.14").status == "pass" and _r(results, "1.2.9").status == "pass"
    assert _r(results, "1.2.28").status == "pass" and "secretbox" in _r(results, "1.2.28").value
    assert _r(results, "1.3.7").status == "pass" and _r(results, "1.4.1").status == "fail"
    assert _r(results, "2.3").source.startswith("environment ETCD_AUTO_TLS")
    ro = _r(results, "4.2.4")  # the drop-in says 0, but /etc/default/kubelet's flag wins
    assert ro.status == "fail" and ro.value == "10255" and ro.source.startswith("flag --read-only-port")
    stream = _r(results, "4.2.5")
    assert stream.status == "pass" and stream.source.startswith("drop-in") and "20-hardening.conf" in stream.source
    assert _r(results, "4.2.13").value == "4096"  # 20-hardening.conf after 10-base.conf
    assert _r(results, "KW-H003").source.startswith("drop-in") and "10-base.conf" in _r(results, "KW-H003").source
    assert _r(results, "4.2.7").status == "fail"
    statuses = {r.status for r in results.values()}
    assert statuses == {"pass", "fail", "manual"}


def test_every_component_check_is_reported(kubeadm_results):
    _, results = kubeadm_results
    ids = {cid for cid, _ in results}
    assert {s.id for s in cis.SPECS} <= ids
    for r in results.values():
        assert r.source and r.remediation and r.title


def _copy_root(tmp_path) -> Path:
    root = tmp_path / "node"
    shutil.copytree(KUBEADM, root)
    return root


def test_file_permissions_on_a_node(tmp_path):
    root = _copy_root(tmp_path)
    pki = root / "etc/kubernetes/pki"
    pki.mkdir()
    (pki / "ca.crt").write_text("x")
    (pki / "ca.key").write_text("x")
    os.chmod(pki / "ca.crt", 0o644)
    os.chmod(pki / "ca.key", 0o640)
    (root / "etc/kubernetes/admin.conf").write_text("x")
    os.chmod(root / "etc/kubernetes/admin.conf", 0o600)
    os.chmod(root / "etc/kubernetes/manifests/kube-apiserver.yaml", 0o600)
    os.chmod(root / "var/lib/kubelet/config.yaml", 0o666)
    (root / "etc/cni/net.d").mkdir(parents=True)
    (root / "etc/cni/net.d/10-calico.conflist").write_text("{}")
    os.chmod(root / "etc/cni/net.d/10-calico.conflist", 0o644)
    (root / "var/lib/kube-proxy").mkdir(parents=True)
    (root / "var/lib/kube-proxy/kubeconfig.conf").write_text("x")
    os.chmod(root / "var/lib/kube-proxy/kubeconfig.conf", 0o600)
    ctx = cis.build_context(discover.discover(root=root))
    by = {(r.id, Path(r.file).name): r for r in cis.run_checks(ctx) if r.component == "files"}
    assert by[("1.1.1", "kube-apiserver.yaml")].status == "pass"
    assert by[("1.1.3", "kube-controller-manager.yaml")].status in ("pass", "fail")
    assert by[("1.1.13", "admin.conf")].status == "pass"
    assert by[("1.1.20", "ca.crt")].status == "pass" and by[("1.1.21", "ca.key")].status == "fail"
    assert by[("4.1.9", "config.yaml")].status == "fail" and by[("4.1.9", "config.yaml")].value == "666"
    assert by[("1.1.9", "10-calico.conflist")].status == "fail" and by[("4.1.3", "kubeconfig.conf")].status == "pass"
    expected_owner = "pass" if os.getuid() == 0 else "fail"
    assert by[("1.1.2", "kube-apiserver.yaml")].status == expected_owner
    if os.getuid() == 0:
        os.chown(root / "etc/kubernetes/admin.conf", 1000, 1000)
        ctx = cis.build_context(discover.discover(root=root))
        by = {(r.id, Path(r.file).name): r for r in cis.run_checks(ctx) if r.component == "files"}
        assert by[("1.1.14", "admin.conf")].status == "fail"


def test_offline_manifests_have_no_file_checks():
    ctx = cis.build_context(discover.discover(manifests_dir=KUBEADM / "etc/kubernetes/manifests"))
    results = cis.run_checks(ctx)
    assert results and not [r for r in results if r.component == "files"]
    assert {r.id for r in results if r.id == "1.2.28"} == {"1.2.28"}
    [enc] = [r for r in results if r.id == "1.2.28"]
    assert enc.status == "manual"  # the config file path is a host path: not readable offline


def test_apiserver_defaults_and_admission(tmp_path):
    comps = discover.discover(
        commands={
            "apiserver": "--authorization-mode=AlwaysAllow --disable-admission-plugins=ServiceAccount "
            "--enable-admission-plugins=AlwaysAdmit --insecure-port=8080"
        }
    )
    results = {r.id: r for r in cis.run_checks(cis.build_context(comps))}
    assert results["1.2.6"].status == "fail" and results["1.2.10"].status == "fail"
    assert results["1.2.12"].status == "fail" and results["1.2.13"].status == "pass"
    assert results["KW-H002"].status == "fail" and results["1.2.28"].status == "fail"


def test_scheduler_config_file_replaces_profiling_flag(tmp_path):
    (tmp_path / "sched.yaml").write_text(
        "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nenableProfiling: false\n"
    )
    comps = discover.discover(commands={"scheduler": f"kube-scheduler --profiling=true --config={tmp_path / 'sched.yaml'}"})
    ctx = cis.build_context(comps)
    v = ctx.scheduler.flag("profiling")
    assert v.value is False and v.source.kind == "config"


def test_etcd_config_file_wins_over_flags(tmp_path):
    (tmp_path / "etcd.yaml").write_text("client-transport-security:\n  client-cert-auth: true\n  cert-file: /c\n")
    comps = discover.discover(commands={"etcd": f"etcd --client-cert-auth=false --config-file={tmp_path / 'etcd.yaml'}"})
    ctx = cis.build_context(comps)
    assert ctx.etcd.flag("client-cert-auth").value is True
    assert ctx.etcd.flag("auto-tls").value is False


def test_etcd_unique_ca(tmp_path):
    comps = discover.discover(
        commands={"etcd": "etcd --trusted-ca-file=/pki/ca.crt", "apiserver": "kube-apiserver --client-ca-file=/pki/ca.crt"}
    )
    results = {r.id: r for r in cis.run_checks(cis.build_context(comps))}
    assert results["2.7"].status == "fail"


def test_audit_policy_file_is_judged_by_the_audit_policy_checker(tmp_path):
    from kubeward.audit.policy import recommended_policy

    good = tmp_path / "good.yaml"
    good.write_text(recommended_policy())
    assert cis.audit_policy_findings(good) == ("pass", [])
    everything = tmp_path / "everything.yaml"
    everything.write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: RequestResponse\n")
    status, issues = cis.audit_policy_findings(everything)
    assert status == "fail" and any("Secret" in i.message for i in issues)


# -- encryption configuration -----------------------------------------------------------


def _key(n: int) -> str:
    return base64.b64encode(b"k" * n).decode()


def test_identity_first_is_plain_text():
    a = encryption.analyse_config(
        {
            "kind": "EncryptionConfiguration",
            "resources": [
                {
                    "resources": ["secrets"],
                    "providers": [{"identity": {}}, {"aescbc": {"keys": [{"name": "k", "secret": _key(32)}]}}],
                }
            ],
        }
    )
    assert a.writer("secrets").type == "identity"
    assert any(i.level == "fail" and "plain text" in i.message for i in a.issues)
    assert any(i.level == "info" and i.message.startswith("configmaps are not listed") for i in a.issues)


def test_key_sizes_kms_versions_wildcards_and_no_secret_in_output():
    secret = _key(20)
    a = encryption.analyse_config(
        {
            "kind": "EncryptionConfiguration",
            "resources": [
                {"resources": ["configmaps"], "providers": [{"kms": {"name": "vault"}}]},
                {
                    "resources": ["*.*"],
                    "providers": [
                        {"aesgcm": {"keys": [{"name": "g", "secret": secret}]}},
                        {"secretbox": {"keys": [{"name": "s", "secret": "!!"}]}},
                    ],
                },
            ],
        }
    )
    assert a.writer("configmaps").kms_version == "v1"
    assert a.writer("secrets").type == "aesgcm" and a.writer("deployments", "apps").type == "aesgcm"
    messages = [i.message for i in a.issues]
    assert any("KMS v1" in m for m in messages) and any("20 bytes" in m for m in messages)
    assert any("not valid base64" in m for m in messages) and any("2^32" in m for m in messages)
    assert secret not in json.dumps(a.as_dict())


def test_bad_encryption_configs_never_crash():
    for obj in (
        None,
        [],
        {"kind": "EncryptionConfiguration", "resources": "x"},
        {"kind": "EncryptionConfiguration", "resources": [1, {"resources": [2], "providers": [3, {"a": 1, "b": 2}]}]},
        {"kind": "EncryptionConfiguration", "resources": [{"resources": ["secrets"], "providers": [{"aescbc": 5}]}]},
    ):
        analysis = encryption.analyse_config(obj)
        assert analysis.error or analysis.issues, obj  # refused, or judged with the problems named


def test_generated_config_has_a_fresh_32_byte_key(tmp_path):
    out = tmp_path / "enc.yaml"
    assert run_cli("generate", "encryption-config", "-o", str(out)).exit_code == 0
    assert out.stat().st_mode & 0o777 == 0o600
    text = out.read_text()
    assert "kubectl replace" in text and "Key rotation" in text
    obj = yaml.safe_load(text)
    [provider, identity] = obj["resources"][0]["providers"]
    assert identity == {"identity": {}}
    assert len(base64.b64decode(provider["secretbox"]["keys"][0]["secret"])) == 32
    analysis = encryption.analyse_config(obj)
    assert analysis.writer("secrets").type == "secretbox" and not [i for i in analysis.issues if i.level == "fail"]
    again = yaml.safe_load(run_cli("generate", "encryption-config", "--provider", "aescbc").output)
    assert again["resources"][0]["providers"][0]["aescbc"]["keys"][0]["secret"] != provider["secretbox"]["keys"][0]["secret"]


def test_prefix_end():
    assert encryption.prefix_end(b"/registry/secrets/") == b"/registry/secrets0"
    assert encryption.prefix_end(b"a\xff") == b"b"


# -- CLI and reports -----------------------------------------------------------------


def test_cli_offline_every_format(tmp_path):
    args = [
        "node",
        "--manifests-dir",
        str(KUBEADM / "etc/kubernetes/manifests"),
        "--kubelet-config",
        str(KUBEADM / "var/lib/kubelet/config.yaml"),
        "--encryption-config",
        str(KUBEADM / "etc/kubernetes/enc/encryption-config.yaml"),
    ]
    result = run_cli(*args, "-f", "json")
    assert result.exit_code == 1  # fails at low or above
    doc = json.loads(result.output)
    ids = {r["id"] for r in doc["results"]}
    assert {s.id for s in cis.SPECS} <= ids
    assert doc["summary"]["pass"] + doc["summary"]["fail"] + doc["summary"]["manual"] == len(doc["results"])
    [ro] = [r for r in doc["results"] if r["id"] == "4.2.4"]
    assert ro["status"] == "pass" and ro["source"].startswith("default (KubeletConfiguration v1beta1")
    sarif = json.loads(run_cli(*args, "-f", "sarif").output)
    kinds = {r["kind"] for r in sarif["runs"][0]["results"]}
    assert kinds == {"pass", "fail", "review"}
    junit = ET.fromstring(run_cli(*args, "-f", "junit").output)
    assert int(junit.get("failures")) == doc["summary"]["fail"] and int(junit.get("skipped")) == doc["summary"]["manual"]
    table = run_cli(*args, "--no-color")
    assert "4.2.4" in table.output and f"{doc['summary']['fail']} fail" in table.output
    assert run_cli(*args, "--fail-on", "none").exit_code == 0


def test_cli_nothing_found_is_an_error(tmp_path):
    result = run_cli("node", "--root", str(tmp_path), "--no-systemd")
    assert result.exit_code == 2 and "no Kubernetes component" in result.output


def test_node_job_scans_clean():
    from helpers import scan_text

    digest = "ghcr.io/kubeward/kubeward@sha256:" + "a" * 64
    for kind in ("Job", "DaemonSet"):
        out = run_cli("generate", "node-job", "--kind", kind, "--image", digest).output
        docs = list(yaml.safe_load_all(out))
        workload = docs[-1]
        spec = workload["spec"]["template"]["spec"]
        assert spec["hostPID"] is True and all(m["readOnly"] for m in spec["containers"][0]["volumeMounts"])
        assert spec["containers"][0]["securityContext"]["privileged"] is False
        result, _ = scan_text(out)
        active = [f for f in result.findings if not f.suppressed]
        assert active == [], [(f.check_id, f.message) for f in active]
        assert all(f.suppression for f in result.findings)
