"""`kubeward rbac ...`."""

from __future__ import annotations

import sys

import click


def _rbac_options(fn):
    fn = click.option("--max-file-size", type=click.IntRange(min=1), default=256, show_default=True, metavar="MiB")(fn)
    fn = click.option(
        "--include-system", is_flag=True, help="Show platform-default subjects (control plane, bootstrap bindings) too."
    )(fn)
    return click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)(fn)


@click.group()
def rbac():
    """Who can do what: effective RBAC permissions, risky grants and escalation paths.

    Subjects are written user:NAME, group:NAME, or system:serviceaccount:NAMESPACE:NAME
    (also sa:NAMESPACE/NAME). Paths are files, directories or '-' as for `scan`.
    """


@rbac.command("who-can")
@click.argument("verb")
@click.argument("resource")
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@click.option("-n", "--namespace", help="Namespace of the request (default: cluster-wide, ClusterRoleBindings only).")
@click.option("--name", help="Name of the object (resourceNames).")
@_rbac_options
def rbac_who_can(**options):
    """Subjects allowed VERB on RESOURCE: pods, pods/exec, deployments.apps, '*', or a URL like /metrics."""
    from ..rbac import run_who_can

    sys.exit(run_who_can(**options))


@rbac.command("can")
@click.argument("subject")
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@click.option("-n", "--namespace", help="Only grants that apply in this namespace.")
@_rbac_options
def rbac_can(**options):
    """Effective permissions of SUBJECT, per binding, its built-in groups included."""
    from ..rbac import run_can

    sys.exit(run_can(**options))


@rbac.command("risks")
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@_rbac_options
def rbac_risks(**options):
    """Risky grants, ranked (exit 1 when there is one)."""
    from ..rbac import run_risks

    sys.exit(run_risks(**options))


@rbac.command("paths")
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@click.option("--max-depth", type=click.IntRange(min=1, max=8), default=4, show_default=True, help="Longest chain searched.")
@_rbac_options
def rbac_paths(**options):
    """Privilege-escalation chains to cluster-admin, shortest first (exit 1 when there is one)."""
    from ..rbac import run_paths

    sys.exit(run_paths(**options))
