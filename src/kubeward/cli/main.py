"""The `kubeward` command. Subcommands import what they need when they run,
so `kubeward --help` stays fast. Their declarations live in cli/commands/."""

from __future__ import annotations

from .app import cli
from .commands import admission, audit, checks, cluster, generate, netpol, node, probe, pss, rbac, scan

# Registration order (the order of cli.commands; help lists them sorted).
for _command in (
    scan.scan,
    pss.pss_command,
    rbac.rbac,
    netpol.netpol_group,
    checks.checks,
    checks.version,
    probe.probe_command,
    cluster.cluster_command,
    generate.generate_group,
    admission.admission_group,
    node.node_group,
    audit.audit_group,
):
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="kubeward")
