"""`kubeward pss`."""

from __future__ import annotations

import sys

import click


@click.command("pss")
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@click.option(
    "--level",
    type=click.Choice(["baseline", "restricted"]),
    default="restricted",
    show_default=True,
    help="Level to check against.",
)
@click.option(
    "--version", "version", default="latest", show_default=True, metavar="v1.N|latest", help="Pod Security policy version."
)
@click.option("--namespaces", is_flag=True, help="Only the namespace report: labels, what can be enforced, labels to apply.")
@click.option(
    "--pss-config",
    type=click.Path(exists=True, dir_okay=False),
    help="PodSecurityConfiguration (or AdmissionConfiguration) file.",
)
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--max-file-size", type=click.IntRange(min=1), default=256, show_default=True, metavar="MiB")
def pss_command(**options):
    """Pod Security Standards: the strictest level each workload satisfies, its
    violations of --level, what its namespace's Pod Security labels would do, and
    per namespace, what can be enforced and the labels to apply.

    Exit status: 0 all pass, 1 a workload violates --level or its namespace's
    enforce level, 2 input error.
    """
    from ..pss import run_pss

    sys.exit(run_pss(**options))
