"""LabelIndex (objects found by a selector) gives exactly what a pass over every object gives."""

from __future__ import annotations

import random

import pytest

from kubeward.selectors import LabelIndex, selector_matches, service_selects

KEYS = ["app", "tier", "team"]
VALUES = ["a", "b", "c"]


def _labels(rng: random.Random) -> dict:
    return {k: rng.choice(VALUES) for k in KEYS if rng.random() < 0.6}


def _label_selector(rng: random.Random) -> dict:
    selector: dict = {}
    if rng.random() < 0.7:
        selector["matchLabels"] = _labels(rng)
    if rng.random() < 0.5:
        op = rng.choice(["In", "NotIn", "Exists", "DoesNotExist"])
        req = {"key": rng.choice(KEYS), "operator": op}
        if op in ("In", "NotIn"):
            req["values"] = rng.sample(VALUES, 2)
        selector["matchExpressions"] = [req]
    return selector


@pytest.mark.parametrize("seed", range(30))
def test_index_agrees_with_brute_force(seed):
    rng = random.Random(seed)
    objects = [(rng.choice(["ns1", "ns2"]), _labels(rng), n) for n in range(60)]
    index = LabelIndex(objects)
    for _ in range(40):
        namespace = rng.choice(["ns1", "ns2", "ns3"])
        service = _labels(rng)
        expected = [n for ns, labels, n in objects if ns == namespace and service_selects(service, labels)]
        assert index.service_selected(namespace, service) == expected
        selector = _label_selector(rng)
        expected = [n for ns, labels, n in objects if ns == namespace and selector_matches(selector, labels)]
        assert index.selected(namespace, selector) == expected


def test_index_tolerates_bad_input():
    index = LabelIndex([("ns", {"app": ["unhashable"]}, 1), ("ns", "not a dict", 2), ("ns", {"app": "a"}, 3)])
    assert index.service_selected("ns", {"app": "a"}) == [3]
    assert index.service_selected("ns", {"app": ["x"]}) == []
    assert index.service_selected("ns", {}) == []  # an empty Service selector selects nothing
    assert index.selected("ns", {}) == [1, 2, 3]  # an empty LabelSelector selects everything
    assert index.selected("ns", None) == []
    assert index.selected("ns", {"matchLabels": "x"}) == []
