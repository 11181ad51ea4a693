"""The check registry: the ``@check`` decorator, metadata, and selection.

A check is a pure function. Per-resource checks receive a
:class:`~kubeward.inventory.PodSpec` when their kinds are workloads, else the
:class:`~kubeward.model.Resource`; they yield :class:`Violation`. Cross-resource
checks (``scope="inventory"``) receive the whole Inventory and yield
``(resource, Violation)`` pairs.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..inventory import WORKLOADS
from ..model import Severity

ID_PATTERN = re.compile(r"KW-[A-Z]\d{3}")
SLUG_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")


@dataclass(frozen=True, slots=True)
class Check:
    id: str
    slug: str
    title: str
    severity: Severity
    fn: Callable
    kinds: frozenset[str] = frozenset()
    scope: str = "resource"  # "resource" or "inventory"
    rationale: str = ""
    remediation: str = ""
    refs: dict[str, str] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    takes_config: bool = False  # fn(subject, config): for checks with settings
    example: str = ""  # a YAML snippet showing the fix

    @property
    def takes_pod_spec(self) -> bool:
        return self.scope == "resource" and bool(self.kinds) and self.kinds <= WORKLOADS


_REGISTRY: dict[str, Check] = {}
_BY_SLUG: dict[str, Check] = {}


def check(
    *,
    id: str,
    slug: str,
    title: str,
    severity: Severity,
    kinds: Iterable[str] = (),
    scope: str = "resource",
    rationale: str = "",
    remediation: str = "",
    refs: dict[str, str] | None = None,
    tags: Iterable[str] = (),
    takes_config: bool = False,
    example: str = "",
) -> Callable[[Callable], Callable]:
    """Register a check function with its metadata.

    An inventory check (``scope="inventory"``) sees the resources of its ``kinds``
    whole; of the others, released after their per-resource checks, only their
    identity, and of workloads the facts taken before (``Inventory.facts``).
    """
    if not ID_PATTERN.fullmatch(id):
        raise ValueError(f"check id {id!r} must look like KW-X000")
    if not SLUG_PATTERN.fullmatch(slug):
        raise ValueError(f"check slug {slug!r} must be lower-case words joined by '-'")
    if scope not in ("resource", "inventory"):
        raise ValueError(f"scope must be 'resource' or 'inventory', not {scope!r}")

    def register(fn: Callable) -> Callable:
        if id in _REGISTRY or slug in _BY_SLUG:
            raise ValueError(f"duplicate check id or slug: {id} / {slug}")
        meta = Check(
            id=id,
            slug=slug,
            title=title,
            severity=severity,
            fn=fn,
            kinds=frozenset(kinds),
            scope=scope,
            rationale=" ".join(rationale.split()),
            remediation=remediation,
            refs=dict(refs or {}),
            tags=frozenset(tags),
            takes_config=takes_config,
            example=textwrap.dedent(example).strip("\n"),
        )
        _REGISTRY[id] = meta
        _BY_SLUG[slug] = meta
        return fn

    return register


def all_checks() -> list[Check]:
    """Every registered check, in id order."""
    _load_catalogue()
    return sorted(_REGISTRY.values(), key=lambda c: c.id)


def lookup(name: str) -> Check | None:
    """A check by id (any case) or slug."""
    _load_catalogue()
    return _REGISTRY.get(name.upper()) or _BY_SLUG.get(name.lower())


def matches(check_: Check, selector: str) -> bool:
    """Does a selector (id, slug, ``tag:NAME`` or a bare tag, or ``*``) name this check?"""
    if selector == "*":
        return True
    if selector.startswith("tag:"):
        return selector[4:] in check_.tags
    return selector.upper() == check_.id or selector.lower() == check_.slug or selector in check_.tags


def known_selector(selector: str) -> bool:
    checks = all_checks()
    return any(matches(c, selector) for c in checks)


def _load_catalogue() -> None:
    # Importing the theme modules registers their checks.
    from . import (  # noqa: F401
        cluster,
        general,
        images,
        namespaces,
        network,
        operations,
        platform,
        podsecurity,
        rbac,
        resources,
        secrets,
        serviceaccounts,
        workload,
    )
