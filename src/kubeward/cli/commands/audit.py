"""`kubeward audit ...`."""

from __future__ import annotations

import sys

import click


@click.group("audit")
def audit_group():
    """Audit logs: detect attacks, receive the webhook backend, write and check policies, least-privilege RBAC."""


def _audit_config_options(fn):
    fn = click.option("--no-config", is_flag=True, help="Ignore .kubeward.yaml files.")(fn)
    return click.option(
        "--config", "config_path", type=click.Path(dir_okay=False), help="Configuration file (its `audit:` section)."
    )(fn)


@audit_group.command("scan")
@click.argument("logs", nargs=-1, type=click.Path(allow_dash=True), metavar="LOG...")
@click.option("--since", metavar="TIME", help="Only events at or after TIME (RFC 3339, or a duration back from now: 15m, 2h).")
@click.option("--until", metavar="TIME", help="Only events at or before TIME.")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "jsonl", "json"]), default="table", show_default=True)
@click.option("--follow", is_flag=True, help="Keep reading the files as they grow, across rotation (Ctrl-C stops).")
@_audit_config_options
def audit_scan(**options):
    """Run the detection rules over audit logs (JSON lines, .gz, EventList JSON; - = stdin).

    Exit status: 0 no alerts, 1 alerts, 2 usage or input error.
    """
    from ..audit import run_scan

    sys.exit(run_scan(**options))


@audit_group.command("serve")
@click.option("--tls-cert", required=True, type=click.Path(dir_okay=False), help="Serving certificate (PEM).")
@click.option("--tls-key", required=True, type=click.Path(dir_okay=False), help="Private key (PEM).")
@click.option("--spool-dir", required=True, type=click.Path(file_okay=False), help="Spool, checkpoint and alerts.jsonl.")
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8443, show_default=True)
@click.option("--client-ca", type=click.Path(dir_okay=False), help="Require API server client certificates signed by this CA.")
@click.option("--token-file", type=click.Path(dir_okay=False), help="Require this bearer token (file holds the token).")
@click.option("--alert-webhook", metavar="URL", help="Also POST alerts (JSON) to this URL.")
@click.option("--spool-file-mb", type=click.IntRange(1, 65536), default=256, show_default=True, help="Spool file rotation size.")
@click.option("--spool-keep", type=click.IntRange(0, 10000), default=8, show_default=True, help="Analysed spool files kept.")
@click.option("--max-lag", type=click.IntRange(1), default=1_000_000, show_default=True, help="429 at this event backlog.")
@click.option("--no-stdout", is_flag=True, help="Do not print alerts on stdout (they are in SPOOL/alerts.jsonl).")
@_audit_config_options
def audit_serve(**options):
    """Receive the API server's audit webhook backend over HTTPS: spool durably (fsync before 200), analyse, alert.

    Alerts go to SPOOL/alerts.jsonl (exactly once), stdout (JSON lines) and --alert-webhook.
    GET /metrics (Prometheus), /healthz, /readyz.
    """
    from ..audit import run_serve

    sys.exit(run_serve(**options))


@audit_group.group("policy")
def audit_policy_group():
    """Write and check audit policies (audit.k8s.io/v1 Policy)."""


@audit_policy_group.command("generate")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), help="Write to FILE instead of stdout.")
def audit_policy_generate(**options):
    """Print the recommended audit policy (for kube-apiserver --audit-policy-file)."""
    from ..audit import run_policy_generate

    sys.exit(run_policy_generate(**options))


@audit_policy_group.command("check")
@click.argument("policy_file", type=click.Path(dir_okay=False), metavar="FILE")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def audit_policy_check(**options):
    """Flag secret bodies logged, RBAC/webhook changes missed, exec unlogged, shadowed rules.

    Exit status: 0 no issues, 1 issues, 2 unreadable or not a Policy.
    """
    from ..audit import run_policy_check

    sys.exit(run_policy_check(**options))


@audit_group.command("rbac")
@click.argument("logs", nargs=-1, type=click.Path(allow_dash=True), metavar="LOG...")
@click.option("--user", metavar="NAME", help="The user (impersonated requests count for the impersonated user).")
@click.option("--serviceaccount", metavar="NS/NAME", help="The service account.")
@click.option("--inventory", multiple=True, type=click.Path(exists=True), help="Manifests or cluster snapshot: unused grants.")
@click.option("--name", help="Name of the generated roles and bindings (default: NAME-least-privilege).")
@click.option("--max-names", type=click.IntRange(0, 100), default=5, show_default=True, help="Max resourceNames kept.")
@click.option("--since", metavar="TIME", help="Only events at or after TIME.")
@click.option("--until", metavar="TIME", help="Only events at or before TIME.")
@click.option("-f", "--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
def audit_rbac(**options):
    """The minimal Role/ClusterRole and bindings covering what a subject did, from audit logs.

    With --inventory, also the permissions it holds but never used, risky ones first.
    """
    from ..audit import run_rbac

    sys.exit(run_rbac(**options))
