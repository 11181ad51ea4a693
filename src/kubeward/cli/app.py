"""The `kubeward` click group and the pieces several subcommands share. Light: click only."""

from __future__ import annotations

import click

from .. import __version__

SEVERITIES = ("info", "low", "medium", "high", "critical")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="kubeward", message="%(prog)s %(version)s")
def cli() -> None:
    """Check Kubernetes manifests and clusters against security best practices."""


def _report_options(fn):
    """The report options `cluster` shares with `scan` (same names, same meaning)."""
    options = [
        click.option("-v", "--verbose", is_flag=True, help="Debug logging on stderr."),
        click.option("--color/--no-color", default=None, help="Colour the table (default: when stdout is a terminal)."),
        click.option(
            "--kubernetes-version", metavar="v1.N", help="Target version for API deprecation checks (default: the server's)."
        ),
        click.option(
            "--framework", type=click.Choice(["cis", "nsa", "mitre", "pss"]), help="Group results by this framework's controls."
        ),
        click.option("--show-suppressed", is_flag=True, help="List suppressed findings in the table too."),
        click.option("--skip", multiple=True, metavar="ID", help="Do not run these checks (id, slug or tag); repeatable."),
        click.option(
            "-c", "--check", "only", multiple=True, metavar="ID", help="Run only these checks (id, slug or tag); repeatable."
        ),
        click.option(
            "--fail-on",
            type=click.Choice([*SEVERITIES, "none"], case_sensitive=False),
            help="Exit 1 when a finding has this severity or higher (default: low).",
        ),
        click.option("--no-config", is_flag=True, help="Ignore .kubeward.yaml files."),
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False),
            help="Configuration file (default: the nearest .kubeward.yaml).",
        ),
        click.option(
            "-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), help="Write the report to FILE instead of stdout."
        ),
        click.option(
            "-f",
            "--format",
            "fmt",
            type=click.Choice(["table", "json", "sarif", "junit"]),
            default="table",
            show_default=True,
            help="Report format.",
        ),
    ]
    for option in options:
        fn = option(fn)
    return fn
