"""`kubeward generate ...`: objects for `cluster` (scanner-rbac) and `node` (encryption-config, node-job)."""

from __future__ import annotations

import sys

import click


@click.group("generate")
def generate_group():
    """Generate Kubernetes objects kubeward needs."""


@generate_group.command("scanner-rbac")
@click.option(
    "--name", default="kubeward-scanner", show_default=True, help="Name of the ClusterRole, binding and ServiceAccount."
)
@click.option("--namespace", default="kubeward", show_default=True, help="Namespace of the ServiceAccount.")
@click.option("-f", "--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
def generate_scanner_rbac(**options):
    """The read-only ClusterRole, ClusterRoleBinding and ServiceAccount `kubeward cluster` needs."""
    from ..cluster import run_scanner_rbac

    sys.exit(run_scanner_rbac(**options))


@generate_group.command("encryption-config")
@click.option("--provider", type=click.Choice(["secretbox", "aescbc"]), default="secretbox", show_default=True)
@click.option("--resource", "resources", multiple=True, metavar="RESOURCE", help="Resources to encrypt (default: secrets).")
@click.option("--key-name", help="Name of the key (default: key-YYYYMMDD).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), help="Write to FILE (mode 600).")
def generate_encryption_config(**options):
    """An EncryptionConfiguration with a fresh 32-byte key and the key rotation procedure."""
    from ..node import run_generate_encryption_config

    sys.exit(run_generate_encryption_config(**options))


@generate_group.command("node-job")
@click.option("--kind", type=click.Choice(["Job", "DaemonSet"]), default="Job", show_default=True)
@click.option("--namespace", default="kubeward", show_default=True)
@click.option("--image", default="ghcr.io/kubeward/kubeward:0.1.0", show_default=True, help="kubeward image (pin a digest).")
@click.option("--node", help="Run on this node (Job; default: wherever it is scheduled).")
@click.option("--no-control-plane", "control_plane", flag_value=False, default=True, help="Do not tolerate control-plane taints.")
@click.option("-f", "--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
def generate_node_job(**options):
    """A Job (or DaemonSet) running `kubeward node` on a node: hostPID, read-only host mounts
    (see docs/node.md for why it needs the privileged Pod Security level)."""
    from ..node import run_generate_node_job

    sys.exit(run_generate_node_job(**options))
