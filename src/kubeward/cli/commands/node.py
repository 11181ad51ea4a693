"""`kubeward node [etcd-encryption]`."""

from __future__ import annotations

import sys

import click

from ..app import SEVERITIES


@click.group("node", invoke_without_command=True)
@click.option("--root", type=click.Path(file_okay=False), help="The node's filesystem (e.g. /host in a pod; a copy offline).")
@click.option("--manifests-dir", type=click.Path(exists=True, file_okay=False), help="Static pod manifests directory.")
@click.option("--proc", type=click.Path(exists=True, file_okay=False), help="A /proc to read (default: /proc with --root /).")
@click.option("--no-systemd", is_flag=True, help="Do not read systemd units.")
@click.option("--apiserver-cmd", metavar="CMDLINE", help="The kube-apiserver command line (or just its flags).")
@click.option("--controller-manager-cmd", metavar="CMDLINE", help="The kube-controller-manager command line.")
@click.option("--scheduler-cmd", metavar="CMDLINE", help="The kube-scheduler command line.")
@click.option("--etcd-cmd", metavar="CMDLINE", help="The etcd command line.")
@click.option("--kubelet-cmd", metavar="CMDLINE", help="The kubelet command line.")
@click.option("--kubelet-config", type=click.Path(exists=True, dir_okay=False), help="KubeletConfiguration file (its --config).")
@click.option("--kubelet-config-dir", type=click.Path(exists=True, file_okay=False), help="The kubelet's --config-dir drop-ins.")
@click.option("--encryption-config", type=click.Path(exists=True, dir_okay=False), help="EncryptionConfiguration file to judge.")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json", "sarif", "junit"]), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), help="Write the report to FILE.")
@click.option(
    "--fail-on",
    type=click.Choice([*SEVERITIES, "none"], case_sensitive=False),
    default="low",
    show_default=True,
    help="Exit 1 when a failed check has this severity or higher.",
)
@click.option("--color/--no-color", default=None, help="Colour the table (default: when stdout is a terminal).")
@click.pass_context
def node_group(ctx, **options):
    """CIS Kubernetes Benchmark (v1.12) checks on the EFFECTIVE configuration of the API server,
    controller manager, scheduler, etcd and kubelet: flags parsed as the components parse them,
    kubelet config file + drop-ins + flags + built-in defaults, each value with its source.

    Discovery: static pod manifests, /proc, systemd units, or files and command lines given.
    Exit status: 0, 1 when a check at --fail-on or above fails, 2 on errors.
    """
    if ctx.invoked_subcommand is None:
        from ..node import run_node

        sys.exit(run_node(**options))


@node_group.command("etcd-encryption")
@click.option("--endpoint", required=True, help="etcd client URL, e.g. https://127.0.0.1:2379.")
@click.option("--cacert", type=click.Path(exists=True, dir_okay=False), help="CA of etcd's serving certificate.")
@click.option("--cert", type=click.Path(exists=True, dir_okay=False), help="Client certificate (etcd --client-cert-auth).")
@click.option("--key", type=click.Path(exists=True, dir_okay=False), help="Client key.")
@click.option("--prefix", default="/registry/secrets/", show_default=True, help="Key prefix to read.")
@click.option("--encryption-config", type=click.Path(exists=True, dir_okay=False), help="Also judge this config.")
@click.option("--timeout", type=click.FloatRange(0.1, 300), default=10.0, show_default=True, metavar="SECONDS")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def node_etcd_encryption(**options):
    """Which Secrets etcd stores without the k8s:enc: prefix (plain text). Key names only: no
    value is ever printed. Exit status: 0 all encrypted, 1 some are plain, 2 error."""
    from ..node import run_etcd_encryption

    sys.exit(run_etcd_encryption(**options))
