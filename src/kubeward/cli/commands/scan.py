"""`kubeward scan`."""

from __future__ import annotations

import sys

import click

from ..app import SEVERITIES


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "sarif", "junit"]),
    default="table",
    show_default=True,
    help="Report format.",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), help="Write the report to FILE instead of stdout."
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Configuration file (default: the nearest .kubeward.yaml above the first path).",
)
@click.option("--no-config", is_flag=True, help="Ignore .kubeward.yaml files.")
@click.option(
    "--fail-on",
    type=click.Choice([*SEVERITIES, "none"], case_sensitive=False),
    help="Exit 1 when a finding has this severity or higher (default: low).",
)
@click.option("-c", "--check", "only", multiple=True, metavar="ID", help="Run only these checks (id, slug or tag); repeatable.")
@click.option("--skip", multiple=True, metavar="ID", help="Do not run these checks (id, slug or tag); repeatable.")
@click.option("--show-suppressed", is_flag=True, help="List suppressed findings in the table too.")
@click.option(
    "--framework",
    type=click.Choice(["cis", "nsa", "mitre", "pss"]),
    help="Group results by this framework's controls, with a coverage and score table (table and json formats).",
)
@click.option("--kubernetes-version", metavar="v1.N", help="Target cluster version for deprecated and removed API checks.")
@click.option(
    "--values",
    "helm_values",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Values file for Helm charts; repeatable.",
)
@click.option(
    "--max-file-size",
    type=click.IntRange(min=1),
    default=256,
    show_default=True,
    metavar="MiB",
    help="Refuse input files larger than this.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Processes that scan, this one included; 0 = one per CPU for large inputs.",
)
@click.option("--color/--no-color", default=None, help="Colour the table (default: when stdout is a terminal).")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging on stderr.")
def scan(**options):
    """Scan manifests: files, directories, '-' for stdin, Helm charts and Kustomize dirs.

    Exit status: 0 when no finding reaches --fail-on, 1 when one does,
    2 on usage, configuration or input errors.
    """
    from ..scan import run_scan

    sys.exit(run_scan(**options))
