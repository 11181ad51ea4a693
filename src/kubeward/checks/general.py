"""Checks on the inventory as a whole."""

from __future__ import annotations

from collections.abc import Iterator

from ..inventory import Inventory
from ..model import Resource, Severity, Violation
from .registry import check


@check(
    id="KW-G001",
    slug="duplicate-resource",
    title="Each object must be defined only once",
    severity=Severity.LOW,
    scope="inventory",
    rationale="""When two manifests define the same object, the one applied last silently wins:
        a reviewer may approve the hardened copy while the other one is what runs.""",
    remediation="Keep one definition of the object and delete the other.",
    refs={"nsa": "upgrading", "mitre": "T1562.001"},
    example="""
        # deploy/web.yaml holds the only Deployment/prod/web; overlays patch it (kustomize)
        # instead of redefining it
    """,
    tags=("hygiene",),
)
def duplicate_resource(inventory: Inventory) -> Iterator[tuple[Resource, Violation]]:
    seen: dict[tuple[str, str, str, str], Resource] = {}
    for resource in inventory.resources:
        if not resource.name:
            continue  # generateName objects are distinct by design
        group = resource.api_version.rpartition("/")[0]
        key = (group, resource.kind, resource.namespace, resource.name)
        first = seen.setdefault(key, resource)
        if first is not resource:
            where = f"{first.file} (document {first.doc_index + 1})"
            yield resource, Violation(("metadata", "name"), f"{resource.ref} is also defined in {where}")
