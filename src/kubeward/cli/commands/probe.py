"""`kubeward probe`."""

from __future__ import annotations

import sys

import click

from ..app import SEVERITIES


@click.command("probe")
@click.argument("hosts", nargs=-1, metavar="HOST...")
@click.option(
    "-p",
    "--ports",
    multiple=True,
    metavar="PORT[:SERVICE],...",
    help="Ports to probe (default 6443,10250,10255,2379); SERVICE is apiserver, kubelet, kubelet-readonly, etcd or "
    "dashboard, needed for ports other than 6443, 443, 8443, 10250, 10255, 2379, 9090. Repeatable.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 60),
    default=3.0,
    show_default=True,
    metavar="SECONDS",
    help="Connect and read timeout per request (a whole request is capped at 3x).",
)
@click.option("--concurrency", type=click.IntRange(1, 32), default=8, show_default=True, help="Targets probed at once.")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option(
    "--fail-on",
    type=click.Choice([*SEVERITIES, "none"], case_sensitive=False),
    default="medium",
    show_default=True,
    help="Exit 1 when a finding has this severity or higher.",
)
def probe_command(**options):
    """Exposure probes: what an unauthenticated client can reach on API servers,
    kubelets (10250, read-only 10255), etcd (2379) and the Dashboard.

    Only the HOSTs named (hostnames or IP addresses; at most 16, no CIDRs or
    ranges); only unauthenticated, read-only requests; certificates are
    recorded, not verified. Exit status: 0 nothing exposed, 1 a finding at
    --fail-on or above, 2 usage error.
    """
    from ..probe import run_probe

    sys.exit(run_probe(**options))
