"""`kubeward audit`: scan audit logs, receive the webhook backend, write and check audit
policies, and derive least-privilege RBAC from what subjects did."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import orjson

EXIT_OK, EXIT_ALERTS, EXIT_ERROR = 0, 1, 2


def _error(message: str) -> int:
    click.echo(f"kubeward: error: {message}", err=True)
    return EXIT_ERROR


def load_audit_settings(config_path: str | None, no_config: bool):
    """The `audit:` settings of the configuration (explicit, or the nearest .kubeward.yaml above the cwd)."""
    from ..audit.settings import AuditSettings
    from ..config import discover, load_config

    if config_path:
        return load_config(Path(config_path)).audit
    if not no_config:
        found = discover(Path.cwd())
        if found is not None:
            return load_config(found).audit
    return AuditSettings()


def _problems(stats) -> None:
    for problem in stats.problems:
        click.echo(f"kubeward: warning: {problem}", err=True)
    if stats.problem_count > len(stats.problems):
        click.echo(f"kubeward: warning: {stats.problem_count - len(stats.problems)} more malformed lines", err=True)


def run_scan(*, logs, since, until, fmt, follow, config_path, no_config) -> int:
    from ..audit.scan import alert_line, parse_time, report, scan, table
    from ..config import ConfigError

    try:
        settings = load_audit_settings(config_path, no_config)
        lo = parse_time(since) if since else None
        hi = parse_time(until) if until else None
    except (ConfigError, ValueError) as exc:
        return _error(str(exc))
    paths = list(logs) or ["-"]
    if follow and "-" in paths:
        return _error("--follow needs files, not stdin")
    streaming = fmt == "jsonl"
    out = sys.stdout.buffer

    def emit(alert) -> None:
        out.write(alert_line(alert))
        out.flush()

    try:
        result = scan(paths, settings, since=lo, until=hi, follow_files=follow, on_alert=emit if streaming else None)
    except KeyboardInterrupt:
        return EXIT_OK
    if fmt == "json":
        out.write(orjson.dumps(report(result), option=orjson.OPT_INDENT_2) + b"\n")
    elif fmt == "table":
        sys.stdout.write(table(result))
    _problems(result.stats)
    if result.stats.files == 0 or any(p.line == 0 and "cannot read" in p.message for p in result.stats.problems):
        return EXIT_ERROR
    return EXIT_ALERTS if result.alerts else EXIT_OK


def run_serve(*, tls_cert, tls_key, spool_dir, host, port, client_ca, token_file, alert_webhook, spool_file_mb, spool_keep,
              max_lag, no_stdout, config_path, no_config) -> int:  # fmt: skip
    from ..audit.receiver import ReceiverSettings, run
    from ..config import ConfigError

    try:
        settings = ReceiverSettings(
            cert=Path(tls_cert),
            key=Path(tls_key),
            spool=Path(spool_dir),
            host=host,
            port=port,
            client_ca=Path(client_ca) if client_ca else None,
            token_file=Path(token_file) if token_file else None,
            alert_webhook=alert_webhook,
            spool_file_bytes=spool_file_mb * 1024 * 1024,
            spool_keep=spool_keep,
            max_lag=max_lag,
            alerts_stdout=not no_stdout,
            audit=load_audit_settings(config_path, no_config),
        )
        run(settings)
    except ConfigError as exc:
        return _error(str(exc))
    except (OSError, ValueError, __import__("ssl").SSLError) as exc:
        return _error(f"cannot start: {exc}")
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def run_policy_generate(*, output) -> int:
    from ..audit.policy import recommended_policy

    text = recommended_policy()
    if output and output != "-":
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            return _error(f"{output}: cannot write: {exc.strerror or exc}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def run_policy_check(*, policy_file, fmt) -> int:
    from ..audit.policy import PolicyError, check_policy, load_policy_file

    try:
        issues = check_policy(load_policy_file(policy_file))
    except PolicyError as exc:
        return _error(str(exc))
    if fmt == "json":
        sys.stdout.buffer.write(
            orjson.dumps({"file": policy_file, "issues": [i.to_dict() for i in issues]}, option=orjson.OPT_INDENT_2)
        )
        sys.stdout.write("\n")
    else:
        for issue in issues:
            click.echo(f"{str(issue.severity).upper():<8} {issue.id}  {issue.message}")
            if issue.example:
                click.echo(f"         e.g. {issue.example}")
        click.echo(f"{policy_file}: {len(issues)} issue{'s' if len(issues) != 1 else ''}")
    return EXIT_ALERTS if issues else EXIT_OK


def run_rbac(*, user, serviceaccount, logs, inventory, name, max_names, fmt, since, until) -> int:
    from ..analysis.rbac import Subject
    from ..audit.events import ReadStats, read_events
    from ..audit.rbac_from_use import minimal_rbac, observe, unused_permissions
    from ..audit.scan import parse_time, window

    if bool(user) == bool(serviceaccount):
        return _error("give exactly one of --user and --serviceaccount")
    if serviceaccount:
        ns, sep, sa = serviceaccount.partition("/")
        if not sep or not ns or not sa:
            return _error(f"--serviceaccount {serviceaccount!r} must be NAMESPACE/NAME")
        subject = Subject("ServiceAccount", sa, ns)
    else:
        subject = Subject("User", user)
    try:
        lo = parse_time(since) if since else None
        hi = parse_time(until) if until else None
    except ValueError as exc:
        return _error(str(exc))
    stats = ReadStats()
    usage = observe(window(read_events(list(logs) or ["-"], stats), lo, hi), subject)
    _problems(stats)
    if stats.files == 0:
        return EXIT_ERROR
    docs = minimal_rbac(usage, name, max_names)
    unused = None
    if inventory:
        from ..sources.files import load_paths

        loaded = load_paths(list(inventory))
        for error in loaded.errors:
            click.echo(f"kubeward: error: {error}", err=True)
        if loaded.errors:
            return EXIT_ERROR
        unused = unused_permissions(usage, loaded.resources)
    if fmt == "json":
        out = {"subject": str(subject), "requests": usage.events, "rbac": docs}
        if unused is not None:
            out["unused"] = [u.to_dict() for u in unused]
        sys.stdout.buffer.write(orjson.dumps(out, option=orjson.OPT_INDENT_2) + b"\n")
        return EXIT_OK
    import yaml

    sys.stdout.write(f"# least privilege for {subject} from {usage.events} observed requests\n")
    sys.stdout.write(yaml.safe_dump_all(docs, sort_keys=False, explicit_start=True) if docs else "# (no requests observed)\n")
    if unused is not None:
        sys.stdout.write(f"# granted but unused ({len(unused)} rules, risky first):\n")
        for u in unused:
            risk = f"  [{'; '.join(u.risks)}]" if u.risks else ""
            sys.stdout.write(f"#   {u.binding} -> {u.role} ({u.scope}): {u.rule.describe()}{risk}\n")
    return EXIT_OK
