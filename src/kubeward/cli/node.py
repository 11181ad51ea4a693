"""`kubeward node`: CIS checks on the effective configuration of a node's components,
`kubeward node etcd-encryption`, and the `generate encryption-config` / `generate node-job` commands."""

from __future__ import annotations

import sys
from pathlib import Path

import click

EXIT_OK, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


def _error(message: str) -> None:
    click.echo(f"kubeward: error: {message}", err=True)


def run_node(
    *,
    root,
    manifests_dir,
    proc,
    no_systemd,
    apiserver_cmd,
    controller_manager_cmd,
    scheduler_cmd,
    etcd_cmd,
    kubelet_cmd,
    kubelet_config,
    kubelet_config_dir,
    encryption_config,
    fmt,
    output,
    fail_on,
    color,
) -> int:
    from ..model import Severity
    from ..node.cis import build_context, run_checks
    from ..node.discover import discover
    from ..node.report import NodeReport, render

    commands = {
        name: text
        for name, text in (
            ("apiserver", apiserver_cmd),
            ("controller-manager", controller_manager_cmd),
            ("scheduler", scheduler_cmd),
            ("etcd", etcd_cmd),
            ("kubelet", kubelet_cmd),
        )
        if text
    }
    explicit = bool(commands or manifests_dir or kubelet_config or kubelet_config_dir)
    root_path = Path(root) if root else (None if explicit else Path("/"))
    if root_path is not None and not root_path.is_dir():
        _error(f"--root {root}: not a directory")
        return EXIT_ERROR
    proc_path = Path(proc) if proc else (Path("/proc") if root_path == Path("/") else None)
    discovery = discover(
        root=root_path,
        manifests_dir=Path(manifests_dir) if manifests_dir else None,
        proc=proc_path,
        systemd=not no_systemd,
        commands=commands,
    )
    ctx = build_context(
        discovery,
        kubelet_config=Path(kubelet_config) if kubelet_config else None,
        kubelet_config_dir=Path(kubelet_config_dir) if kubelet_config_dir else None,
        encryption_config=Path(encryption_config) if encryption_config else None,
    )
    if not discovery.components and ctx.kubelet is None:
        _error("no Kubernetes component found (give --root, --manifests-dir, --kubelet-config or --*-cmd)")
        for e in ctx.errors:
            _error(e)
        return EXIT_ERROR
    results = run_checks(ctx)
    also = discovery.also_found
    components = {
        name: {"origin": c.origin, "file": c.file, "also": [f"{o.origin} {o.file}" for o in also if o.name == name]}
        for name, c in sorted(discovery.components.items())
    }
    if ctx.kubelet is not None and "kubelet" not in components:
        components["kubelet"] = {"origin": "config file", "file": ctx.kubelet.config_file, "also": []}
    report = NodeReport(results, components, ctx.errors, ctx.encryption.as_dict() if ctx.encryption else None)
    text = render(report, fmt, **({"color": bool(color if color is not None else output is None and sys.stdout.isatty())}
                                  if fmt == "table" else {}))
    if output and output != "-":
        Path(output).write_text(text)
    else:
        sys.stdout.write(text)
    threshold = None if fail_on == "none" else Severity.parse(fail_on)
    if report.failed(threshold):
        return EXIT_FAIL
    return EXIT_OK


def run_etcd_encryption(*, endpoint, cacert, cert, key, prefix, encryption_config, fmt, timeout) -> int:
    from ..node.encryption import EtcdError, load_config, scan_etcd

    if bool(cert) != bool(key):
        _error("--cert and --key go together")
        return EXIT_ERROR
    analysis = load_config(Path(encryption_config)) if encryption_config else None
    try:
        result = scan_etcd(endpoint, cacert=cacert, cert=cert, key=key, prefix=prefix, timeout=timeout)
    except EtcdError as exc:
        _error(str(exc))
        return EXIT_ERROR
    if fmt == "json":
        import orjson

        doc = {**result.as_dict(), "encryptionConfig": analysis.as_dict() if analysis else None}
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        click.echo(f"{result.total} keys under {prefix} at {endpoint}")
        for tag, count in sorted(result.encrypted.items()):
            click.echo(f"  encrypted  {count:6d}  k8s:enc:{tag}")
        click.echo(f"  plain      {len(result.plain):6d}")
        for name in result.plain:
            click.echo(f"    {name}")
        if analysis is not None:
            writer = analysis.writer("secrets")
            label = writer.label() if writer else "nothing (plain)"
            click.echo(f"encryption config {analysis.file}: secrets written with {label}")
            for issue in analysis.issues:
                click.echo(f"  {issue.level}: {issue.message}")
        if result.plain:
            click.echo("Rewrite them with the current provider: kubectl get secrets -A -o json | kubectl replace -f -")
    return EXIT_FAIL if result.plain else EXIT_OK


def run_generate_encryption_config(*, provider, resources, output, key_name) -> int:
    from ..node.encryption import generate_config

    text = generate_config(provider, tuple(resources) or ("secrets",), key_name)
    if output and output != "-":
        path = Path(output)
        # the file holds a key: create it readable by its owner only
        import os

        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)
        click.echo(f"wrote {path} (mode 600)", err=True)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def run_generate_node_job(*, kind, namespace, image, node, control_plane, fmt) -> int:
    from ..node.job import node_job

    docs = node_job(kind=kind, namespace=namespace, image=image, node=node, control_plane=control_plane)
    if fmt == "json":
        import orjson

        sys.stdout.write(orjson.dumps({"apiVersion": "v1", "kind": "List", "items": docs}, option=orjson.OPT_INDENT_2).decode())
        sys.stdout.write("\n")
    else:
        import yaml

        sys.stdout.write(yaml.safe_dump_all(docs, sort_keys=False))
    return EXIT_OK
