"""Indexes of an inventory's workloads that several analyses and checks share."""

from __future__ import annotations

from ..inventory import Inventory
from ..model import Resource
from ..selectors import LabelIndex


def workload_index(inventory: Inventory) -> LabelIndex[Resource]:
    """Workloads by namespace and pod-template label, built once per inventory: what a
    Service or a selector selects is then a lookup per label, not a pass over the namespace."""
    return inventory.cached("workload_index", _build)


def _build(inventory: Inventory) -> LabelIndex[Resource]:
    return LabelIndex((resource.namespace, facts.labels, resource) for resource, facts in inventory.workload_facts())
