"""`kubeward checks`: the catalogue, from the checks' own metadata."""

from __future__ import annotations

import orjson

from ..checks.registry import all_checks, lookup


def list_checks(fmt: str) -> str:
    checks = all_checks()
    if fmt == "json":
        rows = [
            {
                "id": c.id,
                "slug": c.slug,
                "title": c.title,
                "severity": str(c.severity),
                "kinds": sorted(c.kinds),
                "scope": c.scope,
                "tags": sorted(c.tags),
                "refs": c.refs,
                "rationale": c.rationale,
                "remediation": c.remediation,
            }
            for c in checks
        ]
        return orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n"
    width = max(len(c.slug) for c in checks)
    lines = [f"{'ID':<8} {'SEVERITY':<9} {'SLUG':<{width}} TITLE"]
    lines += [f"{c.id:<8} {str(c.severity):<9} {c.slug:<{width}} {c.title}" for c in checks]
    return "\n".join(lines) + "\n"


def explain_check(name: str) -> str | None:
    c = lookup(name)
    if c is None:
        return None
    kinds = "all objects (cross-resource)" if c.scope == "inventory" else ", ".join(sorted(c.kinds))
    parts = [
        f"{c.id} {c.slug} ({c.severity})",
        c.title,
        "",
        f"Applies to: {kinds}",
        f"Tags: {', '.join(sorted(c.tags)) or '-'}",
        "",
        "Why:",
        f"  {c.rationale}",
        "",
        "Fix:",
        f"  {c.remediation}",
    ]
    if c.refs:
        parts += ["", "References:"] + [f"  {k}: {v}" for k, v in sorted(c.refs.items())]
    parts += ["", f"Suppress on an object: metadata.annotations: {{ignore-check.kubeward.io/{c.slug}: \"<reason>\"}}"]
    return "\n".join(parts)
