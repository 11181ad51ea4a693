"""Indexes of an inventory's workloads that several analyses and checks share."""

from __future__ import annotations

from ..inventory import Inventory, dig
from ..model import Resource
from ..selectors import LabelIndex


def workload_index(inventory: Inventory) -> LabelIndex[Resource]:
    """Workloads by namespace and pod-template label, built once per inventory: what a
    Service or a selector selects is then a lookup per label, not a pass over the namespace."""
    return inventory.cached("workload_index", _build)


def _build(inventory: Inventory) -> LabelIndex[Resource]:
    return LabelIndex((resource.namespace, facts.labels, resource) for resource, facts in inventory.workload_facts())


def selected_by(inventory: Inventory, service: Resource) -> list[Resource]:
    """The workloads a Service's selector selects in its namespace: worked out once per Service
    (several checks and the RBAC exposure analysis ask)."""
    found: dict[int, list[Resource]] = inventory.cached("selected_by_service", lambda _: {})
    key = id(service)
    if key not in found:
        found[key] = workload_index(inventory).service_selected(service.namespace, dig(service.obj, "spec", "selector"))
    return found[key]
