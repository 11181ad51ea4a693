"""`kubeward rbac`: who can do what, risky grants ranked, and escalation paths."""

from __future__ import annotations

import sys
from typing import Any

import click
import orjson

from ..analysis.rbac import (
    RbacModel,
    Request,
    RuleSource,
    Subject,
    is_platform_subject,
    parse_request,
    parse_subject,
)
from ..analysis.rbacrisk import Assessment, Escalation, Hit, is_platform_grant
from ..inventory import Inventory
from ..model import Resource

EXIT_OK, EXIT_FOUND, EXIT_ERROR = 0, 1, 2


def _load(paths: tuple[str, ...], max_file_size: int) -> tuple[Inventory | None, bool]:
    from ..sources.files import load_paths

    loaded = load_paths(list(paths) or ["."], max_file_bytes=max_file_size * 1024 * 1024)
    for error in loaded.errors:
        click.echo(f"kubeward: error: {error}", err=True)
    return Inventory(loaded.resources), bool(loaded.errors)


def _error(message: str) -> int:
    click.echo(f"kubeward: error: {message}", err=True)
    return EXIT_ERROR


def _where(resource: Resource) -> dict[str, Any]:
    return {"kind": resource.kind, "namespace": resource.namespace or None, "name": resource.name, "file": resource.file}


def _rule(source: RuleSource, role_ref: str | None) -> dict[str, Any]:
    return {"role": role_ref, "source": source.role.ref, "index": source.index, "rule": source.rule.describe()}


def _rule_text(source: RuleSource, role_ref: str | None) -> str:
    where = f"rules[{source.index}] of {source.role.ref}"
    if role_ref and source.role.ref.replace("/", " ", 1) != role_ref:
        where += f" (in {role_ref})"
    return f"{where}: {source.rule.describe()}"


def _subject_json(subject: Subject) -> dict[str, Any]:
    return {"subject": str(subject), "kind": subject.kind, "name": subject.name, "namespace": subject.namespace or None}


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def _dump(doc: Any) -> None:
    sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")


# -- who-can


def run_who_can(*, verb, resource, paths, namespace, name, fmt, include_system, max_file_size) -> int:
    try:
        request = parse_request(verb, resource, namespace=namespace or "", name=name or "")
    except ValueError as exc:
        return _error(str(exc))
    inventory, failed = _load(paths, max_file_size)
    model = RbacModel.of(inventory)
    matches = model.who_can(request)
    hidden = [m for m in matches if is_platform_grant(m[0])]
    if not include_system:
        matches = [m for m in matches if not is_platform_grant(m[0])]
    scope = f"in namespace {request.namespace}" if request.namespace else "cluster-wide"
    if fmt == "json":
        _dump(
            {
                "schemaVersion": 1,
                "request": _request_json(request),
                "allowed": [
                    {
                        **_subject_json(grant.bound),
                        "members": [str(s) for s in model.members(grant.bound.name)] if grant.bound.kind == "Group" else [],
                        "binding": _where(grant.binding.resource),
                        "subjectIndex": grant.index,
                        "scope": grant.binding.scope,
                        "rule": _rule(source, grant.binding.role.ref if grant.binding.role else None),
                        "platform": is_platform_grant(grant),
                    }
                    for grant, source in matches
                ],
                "platformHidden": 0 if include_system else len(hidden),
            }
        )
    else:
        out = [f"who can {request.describe()} {scope}:"]
        rows = []
        for grant, source in matches:
            role = grant.binding.role.ref if grant.binding.role else None
            rows.append([str(grant.bound), grant.binding.ref, grant.binding.scope, _rule_text(source, role)])
            if grant.bound.kind == "Group":
                members = model.members(grant.bound.name)
                if members:
                    shown = ", ".join(str(m) for m in members[:5]) + (f" and {len(members) - 5} more" if len(members) > 5 else "")
                    rows.append([f"  (covers {shown})", "", "", ""])
        out.append(_table(["SUBJECT", "BINDING", "SCOPE", "RULE"], rows) if rows else "  no one")
        if hidden and not include_system:
            out.append(f"({len(hidden)} platform-default grants hidden; --include-system shows them)")
        click.echo("\n".join(out))
    return EXIT_ERROR if failed else EXIT_OK


def _request_json(request: Request) -> dict[str, Any]:
    if not request.is_resource:
        return {"verb": request.verb, "nonResourceURL": request.path}
    return {
        "verb": request.verb,
        "group": request.group,
        "resource": request.resource,
        "subresource": request.subresource or None,
        "name": request.name or None,
        "namespace": request.namespace or None,
    }


# -- can


def run_can(*, subject, paths, namespace, fmt, include_system, max_file_size) -> int:
    try:
        who = parse_subject(subject)
    except ValueError as exc:
        return _error(str(exc))
    inventory, failed = _load(paths, max_file_size)
    model = RbacModel.of(inventory)
    grants = [g for g in model.grants(who) if namespace is None or g.applies_in(namespace)]
    if fmt == "json":
        _dump(
            {
                "schemaVersion": 1,
                **_subject_json(who),
                "groups": list(who.groups()),
                "platform": is_platform_subject(who),
                "grants": [
                    {
                        "via": None if g.bound == who else str(g.bound),
                        "binding": _where(g.binding.resource),
                        "subjectIndex": g.index,
                        "scope": g.binding.scope,
                        "role": g.binding.role.ref if g.binding.role else None,
                        "roleFound": g.binding.role is not None,
                        "rules": [_rule(s, g.binding.role.ref) for s in (g.binding.role.rules if g.binding.role else [])],
                    }
                    for g in grants
                ],
            }
        )
    else:
        out = [f"{who} (groups: {', '.join(who.groups())})"]
        if is_platform_subject(who):
            out.append("  a platform-default subject: its grants are the control plane working as designed")
        rows = []
        for g in grants:
            via = "" if g.bound == who else f"via {g.bound}"
            role = g.binding.role
            if role is None:
                rows.append([g.binding.scope, g.binding.ref, via, f"{g.binding.role_kind} {g.binding.role_name} (not found)"])
                continue
            for s in role.rules:
                rows.append([g.binding.scope, g.binding.ref, via, s.rule.describe()])
        out.append(_table(["SCOPE", "BINDING", "VIA", "PERMISSION"], rows) if rows else "  no permissions granted by RBAC")
        click.echo("\n".join(out))
    return EXIT_ERROR if failed else EXIT_OK


# -- risks


def _reach(hit: Hit) -> str:
    if hit.exposed:
        return "internet-facing: " + ", ".join(u.workload.ref for u in hit.exposed[:3])
    if hit.mounted:
        return "mounted by " + ", ".join(u.workload.ref for u in hit.mounted[:3])
    if hit.reach_known and hit.subject.kind == "ServiceAccount":
        return "unused (no workload of the input mounts it)"
    return ""


def _hit_json(hit: Hit) -> dict[str, Any]:
    role = hit.binding.role.ref if hit.binding.role else None
    return {
        "rank": str(hit.rank()),
        "severity": str(hit.severity()),
        "check": hit.check_id,
        **_subject_json(hit.subject),
        "permission": hit.label,
        "scope": hit.scope(),
        "binding": _where(hit.binding.resource),
        "subjectIndex": hit.grant.index,
        "rule": _rule(hit.source, role) if hit.source else None,
        "message": hit.message(),
        "platform": hit.platform,
        "mountedBy": [u.workload.ref for u in hit.mounted],
        "exposedBy": [{"workload": u.workload.ref, "exposure": list(u.exposure)} for u in hit.exposed],
    }


def run_risks(*, paths, fmt, include_system, max_file_size) -> int:
    inventory, failed = _load(paths, max_file_size)
    hits = Assessment.of(inventory).ranked(include_system)
    if fmt == "json":
        _dump({"schemaVersion": 1, "risks": [_hit_json(h) for h in hits]})
    else:
        rows = [
            [str(i), str(h.rank()), h.check_id, str(h.subject), h.label, h.scope(), h.binding.ref, _reach(h)]
            for i, h in enumerate(hits, 1)
        ]
        headers = ["#", "RANK", "CHECK", "SUBJECT", "PERMISSION", "SCOPE", "BINDING", "REACH"]
        click.echo(_table(headers, rows) if rows else "no risky RBAC grants")
        if rows:
            click.echo(f"{len(rows)} risky grants (rank: severity, +1 if an internet-facing workload mounts it, -1 if unused)")
    if failed:
        return EXIT_ERROR
    return EXIT_FOUND if hits else EXIT_OK


# -- paths


def run_paths(*, paths, fmt, include_system, max_depth, max_file_size) -> int:
    inventory, failed = _load(paths, max_file_size)
    found = Escalation(Assessment.of(inventory), inventory).paths(include_system, max_depth)
    if fmt == "json":
        _dump(
            {
                "schemaVersion": 1,
                "paths": [
                    {
                        "rank": i,
                        "start": str(p.start),
                        "exposedBy": [{"workload": u.workload.ref, "exposure": list(u.exposure)} for u in p.exposed],
                        "steps": [{"from": str(s.source), "to": str(s.target), "how": s.how} for s in p.steps],
                    }
                    for i, p in enumerate(found, 1)
                ],
            }
        )
    else:
        out = []
        for i, p in enumerate(found, 1):
            exposed = f"  [internet-facing: {', '.join(u.workload.ref for u in p.exposed[:3])}]" if p.exposed else ""
            out.append(f"{i}. {p.start}{exposed}")
            for step in p.steps:
                out.append(f"   -> {step.how}")
            out.append(f"   = {p.start} can become cluster-admin in {len(p.steps)} step{'s' if len(p.steps) != 1 else ''}")
            out.append("")
        out.append(f"{len(found)} escalation paths to cluster-admin" if found else "no escalation paths to cluster-admin")
        click.echo("\n".join(out))
    if failed:
        return EXIT_ERROR
    return EXIT_FOUND if found else EXIT_OK
