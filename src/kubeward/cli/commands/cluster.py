"""`kubeward cluster`."""

from __future__ import annotations

import sys

import click

from ..app import _report_options


@click.command("cluster")
@click.option(
    "--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)."
)
@click.option("--context", help="Kubeconfig context (default: the current one).")
@click.option(
    "-n",
    "--namespace",
    "namespaces",
    multiple=True,
    metavar="NS",
    help="Only these namespaces (and no cluster-scoped kinds); repeatable.",
)
@click.option("-A", "--all-namespaces", is_flag=True, help="Every namespace and cluster-scoped kind (the default).")
@click.option("-l", "--selector", metavar="SELECTOR", help="Only objects with these labels (a label selector, as kubectl -l).")
@click.option(
    "--include-kinds", multiple=True, metavar="KINDS", help="Only these kinds (Kind, plural or plural.group; comma-separated)."
)
@click.option("--exclude-kinds", multiple=True, metavar="KINDS", help="Not these kinds (e.g. Event,Lease; comma-separated).")
@click.option(
    "--save",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Also write the objects to a snapshot (.json or .json.gz) for `kubeward scan`.",
)
@click.option(
    "--chunk-size", type=click.IntRange(min=1), default=500, show_default=True, help="Objects per list request (limit)."
)
@click.option("--concurrency", type=click.IntRange(min=1, max=64), default=8, show_default=True, help="Lists running at once.")
@click.option("--qps", type=click.FloatRange(min=0), default=50.0, show_default=True, help="Requests per second (0: no limit).")
@click.option("--burst", type=click.IntRange(min=1), default=100, show_default=True, help="Requests allowed at once above --qps.")
@click.option("--request-timeout", type=click.FloatRange(min=1), default=60.0, show_default=True, metavar="SECONDS")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: when stderr is a terminal).")
@_report_options
def cluster_command(**options):
    """Scan a live cluster: every manifest check on every object, plus cluster-only checks.

    Lists every resource the API offers (Secrets as metadata only: values are never
    read). Exit status as for `scan`: 0, 1 when a finding reaches --fail-on, 2 on
    errors (no kubeconfig, server unreachable, credentials refused).
    """
    from ..cluster import run_cluster

    sys.exit(run_cluster(**options))
