"""`kubeward admission ...`."""

from __future__ import annotations

import sys

import click


@click.group("admission")
def admission_group():
    """Admission webhook: the scan checks enforced when objects are created or updated."""


@admission_group.command("serve")
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), help="Policy file (reloaded on change; default: built-in)."
)
@click.option("--tls-cert", required=True, type=click.Path(dir_okay=False), help="Serving certificate (PEM; reloaded on change).")
@click.option("--tls-key", required=True, type=click.Path(dir_okay=False), help="Private key (PEM).")
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8443, show_default=True)
@click.option("--namespace", help="The webhook's own namespace, never evaluated (default: $POD_NAMESPACE).")
@click.option("--reload-interval", type=click.FloatRange(0.05, 60), default=1.0, show_default=True, metavar="SECONDS")
@click.option(
    "--shutdown-grace",
    type=click.FloatRange(0, 600),
    default=25.0,
    show_default=True,
    metavar="SECONDS",
    help="On SIGTERM, how long requests in flight may take.",
)
@click.option(
    "--shutdown-delay",
    type=click.FloatRange(0, 120),
    default=0.0,
    show_default=True,
    metavar="SECONDS",
    help="On SIGTERM, keep serving (readyz failing) this long before closing the listener.",
)
@click.option("--request-timeout", type=click.FloatRange(0.1, 300), default=10.0, show_default=True, metavar="SECONDS")
@click.option("--idle-timeout", type=click.FloatRange(0.1, 3600), default=120.0, show_default=True, metavar="SECONDS")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info", show_default=True)
def admission_serve(**options):
    """Serve /validate and /mutate over HTTPS (TLS 1.2+), with /healthz, /readyz and /metrics."""
    from ..admission import run_serve

    sys.exit(run_serve(**options))


@admission_group.command("install")
@click.option("-n", "--namespace", default="kubeward-system", show_default=True, help="Namespace to deploy into.")
@click.option("--failure-policy", type=click.Choice(["Fail", "Ignore"]), default="Fail", show_default=True)
@click.option("--cert-manager", is_flag=True, help="Let cert-manager issue the certificate and inject the CA bundle.")
@click.option("--policy", "policy_path", type=click.Path(exists=True, dir_okay=False), help="Policy file (default: built-in).")
@click.option("--image", help="Webhook image (pin it: REF@sha256:DIGEST).")
@click.option("--api-server-cidr", multiple=True, metavar="CIDR", help="Addresses of the API server, for the NetworkPolicy.")
@click.option("--replicas", type=click.IntRange(min=2), default=2, show_default=True)
@click.option("--timeout-seconds", type=click.IntRange(1, 30), default=5, show_default=True, help="Webhook timeoutSeconds.")
@click.option("-f", "--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
def admission_install(**options):
    """Print the manifests that deploy the webhook (pipe them to kubectl apply -f -)."""
    from ..admission import run_install

    sys.exit(run_install(**options))


@admission_group.command("test")
@click.argument("policy_path", type=click.Path(dir_okay=False), metavar="POLICY")
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True), metavar="MANIFESTS...")
@click.option("-n", "--namespace", default="default", show_default=True, help="Namespace of objects that name none.")
@click.option("--user", help="Requesting user (for user exemptions).")
@click.option("--group", "groups", multiple=True, help="Requesting user's groups; repeatable.")
@click.option("--mutate", is_flag=True, help="Apply /mutate's patch first, then validate the result.")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--max-file-size", type=click.IntRange(min=1), default=256, show_default=True, metavar="MiB")
def admission_test(**options):
    """Evaluate manifests as the webhook would on CREATE, offline (for CI).

    Exit status: 0 all admitted, 1 an object would be denied, 2 input error.
    """
    from ..admission import run_test

    sys.exit(run_test(**options))
