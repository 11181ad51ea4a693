"""Label selectors, as the API server evaluates them.

Two kinds exist: the ``LabelSelector`` of Deployments, PodDisruptionBudgets and
NetworkPolicies (``matchLabels`` + ``matchExpressions``; ``{}`` selects
everything) and the plain equality map of a Service's ``spec.selector`` (an
empty one selects nothing).
"""

from __future__ import annotations

from typing import Any


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, Any] | None) -> bool:
    """Does a LabelSelector select an object with these labels? As Kubernetes decides it:
    matchLabels and every matchExpressions requirement must hold; an empty selector
    ``{}`` selects everything, a missing (None) or malformed one selects nothing."""
    if not isinstance(selector, dict):
        return False
    if not isinstance(labels, dict):
        labels = {}
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not isinstance(match_labels, dict) or not isinstance(expressions, list):
        return False
    if any(key not in labels or labels[key] != value for key, value in match_labels.items()):
        return False
    return all(_requirement_matches(req, labels) for req in expressions)


def _requirement_matches(req: Any, labels: dict[str, Any]) -> bool:
    if not isinstance(req, dict) or not isinstance(req.get("key"), str):
        return False
    key, op, values = req["key"], req.get("operator"), req.get("values") or []
    if not isinstance(values, list):
        return False
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":  # an object without the label is not in the set
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    return False  # an unknown operator is rejected by the API server


def service_selects(selector_labels: dict, labels: dict) -> bool:
    """Does a Service selector (a plain equality map) select pods with these labels?
    An empty or missing one selects nothing (the Service's endpoints are managed by hand)."""
    if not isinstance(selector_labels, dict) or not selector_labels or not isinstance(labels, dict):
        return False
    return all(key in labels and labels[key] == value for key, value in selector_labels.items())
