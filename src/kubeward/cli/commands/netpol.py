"""`kubeward netpol ...`."""

from __future__ import annotations

import sys

import click


@click.group("netpol")
def netpol_group():
    """NetworkPolicies: who can reach whom (`matrix`), and why (`explain`)."""


@netpol_group.command("matrix")
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json", "dot"]), default="table", show_default=True)
@click.option(
    "--port", metavar="PORT", help="Only connections allowed on this port (number, or a name resolved on the destination)."
)
@click.option("--protocol", type=click.Choice(["TCP", "UDP", "SCTP"]), default="TCP", show_default=True)
@click.option("--max-file-size", type=click.IntRange(min=1), default=256, show_default=True, metavar="MiB")
def netpol_matrix(**options):
    """Which workloads (and ipBlock CIDRs) can reach which, on which ports.

    `*` stands for any pod not isolated in that direction, in the inputs or not.
    Exit status: 0, or 2 on input errors.
    """
    from ..netpol import run_matrix

    sys.exit(run_matrix(**options))


@netpol_group.command("explain")
@click.argument("src")
@click.argument("dst")
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@click.option("--port", metavar="PORT", help="Port number or name (resolved on the destination); default: which ports.")
@click.option("--protocol", type=click.Choice(["TCP", "UDP", "SCTP"]), default="TCP", show_default=True)
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--max-file-size", type=click.IntRange(min=1), default=256, show_default=True, metavar="MiB")
def netpol_explain(**options):
    """Can SRC connect to DST, and which policies allow or block it?

    SRC and DST are workloads as namespace/name (or namespace/Kind/name), or an IP
    address / CIDR for one end. Exit status: 0 allowed, 1 blocked, 2 input error.
    """
    from ..netpol import run_explain

    sys.exit(run_explain(**options))
