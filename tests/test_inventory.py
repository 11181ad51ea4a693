"""The PodSpec and Container views: what they compute once, and dig on any input."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from kubeward.inventory import dig, pod_spec_of
from kubeward.model import Resource


def _reference_dig(obj: Any, *keys: str | int) -> Any:
    # the original, step-by-step definition
    for key in keys:
        if isinstance(key, int):
            if not isinstance(obj, list) or key >= len(obj):
                return None
        elif not isinstance(obj, dict):
            return None
        obj = obj[key] if isinstance(key, int) else obj.get(key)
    return obj


_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "0"]), inner, max_size=3),
    max_leaves=12,
)


@given(_values, st.lists(st.sampled_from(["a", "b", "0", 0, 1, 2, True]), max_size=4))
def test_dig_matches_its_definition(obj, keys):
    assert dig(obj, *keys) == _reference_dig(obj, *keys)


def _pod(spec: Any) -> Resource:
    return Resource({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}, "p.yaml")


def test_container_facts_are_read_once_and_right():
    pod = pod_spec_of(
        _pod(
            {
                "securityContext": {"runAsUser": 1},
                "initContainers": [{"name": "init"}],
                "containers": [{"securityContext": {"privileged": True}}, {"name": "b", "securityContext": "x"}],
                "ephemeralContainers": [{"name": "debug"}],
            }
        )
    )
    assert pod.security_context == {"runAsUser": 1}
    containers = pod.containers()
    assert containers is pod.containers()  # built once
    assert [c.name for c in containers] == ["init", "#0", "b", "debug"]
    assert [c.security_context for c in containers] == [{}, {"privileged": True}, {}, {}]
    assert [c.is_ephemeral for c in containers] == [False, False, False, True]
    assert containers[1].at("image") == ("spec", "containers", 0, "image")


def test_volumes_are_listed_once_and_a_wrong_type_is_one_problem():
    pod = pod_spec_of(_pod({"volumes": [{"name": "a"}, "x", {"name": "b"}]}))
    assert pod.volumes() == [(0, {"name": "a"}), (2, {"name": "b"})]
    assert pod.volumes() is pod.volumes()
    bad = pod_spec_of(_pod({"volumes": {"name": "a"}}))
    assert bad.volumes() == [] and bad.volumes() == []
    assert bad.problems == ["spec.volumes must be a list, not dict"]


def test_cached_computes_once_per_pod():
    calls = []
    pod = pod_spec_of(_pod({"containers": [{"name": "a"}]}))
    other = pod_spec_of(_pod({"containers": [{"name": "b"}]}))

    def names(p):
        calls.append(p)
        return [c.name for c in p.containers()]

    assert pod.cached("names", names) == ["a"]
    assert pod.cached("names", names) == ["a"]
    assert other.cached("names", names) == ["b"]
    assert calls == [pod, other]
