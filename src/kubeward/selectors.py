"""Label selectors, as the API server evaluates them.

Two kinds exist: the ``LabelSelector`` of Deployments, PodDisruptionBudgets and
NetworkPolicies (``matchLabels`` + ``matchExpressions``; ``{}`` selects
everything) and the plain equality map of a Service's ``spec.selector`` (an
empty one selects nothing).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


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


class LabelIndex(Generic[T]):
    """Objects (workloads, say) by namespace and by label, so that finding what a
    selector selects costs a lookup per selector label instead of a pass over the
    namespace -- matching N selectors against N objects one by one is quadratic."""

    def __init__(self, items: Iterable[tuple[str, dict[str, Any] | Any, T]]):
        self.by_ns: dict[str, list[tuple[dict[str, Any], T]]] = defaultdict(list)
        self._by_label: dict[tuple[str, str, Any], list[int]] = defaultdict(list)
        for namespace, labels, item in items:
            labels = labels if isinstance(labels, dict) else {}
            entries = self.by_ns[namespace]
            for key, value in labels.items():
                if isinstance(value, (str, int, float, bool)) or value is None:
                    self._by_label[(namespace, key, value)].append(len(entries))
            entries.append((labels, item))

    def _candidates(self, namespace: str, required: dict[str, Any]) -> list[tuple[dict[str, Any], T]]:
        """The objects of the namespace that may carry every label of ``required`` (a superset)."""
        entries = self.by_ns.get(namespace, [])
        if not required:
            return entries
        try:
            lists = [self._by_label.get((namespace, k, v), []) for k, v in required.items()]
        except TypeError:  # an unhashable value matches no label
            return []
        return [entries[i] for i in min(lists, key=len)]

    def service_selected(self, namespace: str, selector: Any) -> list[T]:
        """What a Service selector (equality map; empty selects nothing) selects in a namespace."""
        if not isinstance(selector, dict) or not selector:
            return []
        return [item for labels, item in self._candidates(namespace, selector) if service_selects(selector, labels)]

    def selected(self, namespace: str, selector: Any) -> list[T]:
        """What a LabelSelector selects in a namespace (``{}``: everything there)."""
        if not isinstance(selector, dict):
            return []
        match_labels = selector.get("matchLabels")
        required = match_labels if isinstance(match_labels, dict) else {}
        return [item for labels, item in self._candidates(namespace, required) if selector_matches(selector, labels)]


class SelectorIndex:
    """LabelSelectors (of one namespace, say), found by a label they require.

    ``selects(labels)`` answers ``any(selector_matches(s, labels) for s in selectors)``
    but tests only the selectors that could select those labels: each selector with
    matchLabels is filed under one of its (key, value) pairs, which a selected object
    must carry. Checking every workload against every selector of its namespace grew
    with the square of the input (3.4 s of a 100k-resource scan for KW-O005).
    """

    def __init__(self, selectors: Iterable[Any] = ()):
        self.by_label: dict[tuple[Any, Any], list[Any]] = {}
        self.others: list[Any] = []  # no (hashable) matchLabels pair to file them under
        for selector in selectors:
            self.add(selector)

    def add(self, selector: Any) -> None:
        required = _required_label(selector)
        if required is None:
            self.others.append(selector)
        else:
            self.by_label.setdefault(required, []).append(selector)

    def selects(self, labels: Any) -> bool:
        """Does any of the selectors select an object with these labels?"""
        if any(selector_matches(s, labels) for s in self.others):
            return True
        if not isinstance(labels, dict):
            return False  # selector_matches reads them as {}: only selectors without matchLabels select them
        for item in labels.items():
            try:
                candidates = self.by_label.get(item)
            except TypeError:  # an unhashable value: no selector is filed under it
                continue
            if candidates and any(selector_matches(s, labels) for s in candidates):
                return True
        return False


def _required_label(selector: Any) -> tuple[Any, Any] | None:
    """A (key, value) label that every object the selector selects carries, if it has one."""
    match_labels = selector.get("matchLabels") if isinstance(selector, dict) else None
    if not isinstance(match_labels, dict) or not match_labels:
        return None
    pair = next(iter(match_labels.items()))
    try:
        hash(pair)
    except TypeError:
        return None
    return pair
