"""`kubeward admission`: serve the webhook, print its install manifests, test a policy offline."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
import orjson

EXIT_OK, EXIT_DENIED, EXIT_ERROR = 0, 1, 2


def _error(message: str) -> int:
    click.echo(f"kubeward: error: {message}", err=True)
    return EXIT_ERROR


def run_serve(*, config_path, tls_cert, tls_key, host, port, namespace, reload_interval, shutdown_grace, shutdown_delay,
              request_timeout, idle_timeout, log_level) -> int:  # fmt: skip
    from ..admission.policy import PolicyError
    from ..admission.server import Settings, run

    settings = Settings(
        config=Path(config_path) if config_path else None,
        cert=Path(tls_cert),
        key=Path(tls_key),
        host=host,
        port=port,
        own_namespace=namespace or os.environ.get("POD_NAMESPACE") or None,
        reload_interval=reload_interval,
        shutdown_grace=shutdown_grace,
        shutdown_delay=shutdown_delay,
        request_timeout=request_timeout,
        idle_timeout=idle_timeout,
        log_level=log_level,
    )
    try:
        run(settings)
    except PolicyError as exc:
        return _error(str(exc))
    except (OSError, ValueError) as exc:  # unreadable certificate, port in use
        return _error(f"cannot start: {exc}")
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def _load_policy(path: str | None, namespace: str | None = None):
    from ..admission.policy import DEFAULT_POLICY, PolicyError, load_policy, parse_policy_text

    try:
        if path is None:
            return DEFAULT_POLICY, parse_policy_text(DEFAULT_POLICY, "<default policy>", own_namespace=namespace)
        return Path(path).read_text(encoding="utf-8"), load_policy(Path(path), own_namespace=namespace)
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read: {exc.strerror or exc}") from None


def run_install(
    *, namespace, failure_policy, cert_manager, policy_path, image, api_server_cidr, replicas, timeout_seconds, fmt
) -> int:
    from ..admission.install import IMAGE, manifests
    from ..admission.policy import PolicyError

    try:
        text, policy = _load_policy(policy_path, namespace)
    except PolicyError as exc:
        return _error(str(exc))
    docs = manifests(
        namespace=namespace,
        policy_text=text,
        policy=policy,
        failure_policy=failure_policy,
        cert_manager=cert_manager,
        image=image or IMAGE,
        api_server_cidrs=tuple(api_server_cidr),
        replicas=replicas,
        timeout_seconds=timeout_seconds,
    )
    if fmt == "json":
        sys.stdout.write(
            orjson.dumps({"apiVersion": "v1", "kind": "List", "items": docs}, option=orjson.OPT_INDENT_2).decode() + "\n"
        )
    else:
        import yaml

        sys.stdout.write(yaml.safe_dump_all(docs, sort_keys=False))
    return EXIT_OK


def run_test(*, policy_path, paths, namespace, user, groups, mutate, fmt, max_file_size) -> int:
    from ..admission import mutate as mutation
    from ..admission.evaluate import Evaluator, NamespaceLabels, synthetic_request
    from ..admission.policy import PolicyError
    from ..sources.files import load_paths

    try:
        _, policy = _load_policy(policy_path)
    except PolicyError as exc:
        return _error(str(exc))
    loaded = load_paths(list(paths) or ["."], max_file_bytes=max_file_size * 1024 * 1024)
    for error in loaded.errors:
        click.echo(f"kubeward: error: {error}", err=True)
    labels = NamespaceLabels()
    for r in loaded.resources:  # Namespace objects in the input give their Pod Security labels
        if r.kind == "Namespace":
            labels.update(r.obj)
    evaluator = Evaluator(policy, labels)
    results = []
    for r in loaded.resources:
        obj = r.obj
        request = synthetic_request(obj, r.namespace or namespace, user=user or "", groups=tuple(groups))
        patch = None
        if mutate:
            patch = evaluator.review(request, mutating=True).patch
            if patch:
                obj = mutation.apply_patch(obj, patch)
                request = synthetic_request(obj, r.namespace or namespace, user=user or "", groups=tuple(groups))
        decision = evaluator.review(request)
        results.append((r, decision, patch))
    if fmt == "json":
        out = [
            {
                "file": r.file,
                "document": r.doc_index + 1,
                "object": r.ref,
                "allowed": d.allowed,
                "decision": d.label,
                "message": d.message or None,
                "warnings": d.warnings,
                "auditAnnotations": d.audit,
                "patch": p,
            }
            for r, d, p in results
        ]
        sys.stdout.write(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        for r, d, p in results:
            verdict = {"deny": "DENIED", "warn": "WARNED", "skip": "SKIPPED", "exempt": "EXEMPT"}.get(d.label, "ALLOWED")
            click.echo(f"{verdict:8} {r.ref}  ({r.file})")
            if p:
                click.echo(f"  mutated: {len(p)} patch operation{'s' if len(p) != 1 else ''} applied before validation")
            if d.message:
                click.echo("  " + d.message.replace("\n", "\n  "))
            for w in d.warnings:
                click.echo(f"  warning: {w}")
            for key, value in d.audit.items():
                click.echo(f"  audit {key}: {value}")
        denied = sum(1 for _, d, _ in results if not d.allowed)
        click.echo(f"\n{len(results)} object{'s' if len(results) != 1 else ''}: {denied} denied")
    if loaded.errors:
        return EXIT_ERROR
    return EXIT_DENIED if any(not d.allowed for _, d, _ in results) else EXIT_OK
