"""`kubeward checks [explain]` and `kubeward version`."""

from __future__ import annotations

import click

from ... import __version__


@click.group(invoke_without_command=True)
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table", show_default=True)
@click.pass_context
def checks(ctx, fmt):
    """List the check catalogue; `checks explain ID` describes one check."""
    if ctx.invoked_subcommand is None:
        from ..checks import list_checks

        click.echo(list_checks(fmt), nl=False)


@checks.command()
@click.argument("name")
def explain(name):
    """Title, rationale, remediation and references of one check (id or slug)."""
    from ..checks import explain_check

    text = explain_check(name)
    if text is None:
        raise click.UsageError(f"no check is named {name!r}; run 'kubeward checks' for the list")
    click.echo(text)


@click.command()
def version():
    """Print the version."""
    click.echo(f"kubeward {__version__}")
