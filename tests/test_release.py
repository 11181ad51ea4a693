"""release_resource keeps exactly a resource's identity and suppression annotations; the facts
taken before it are the ones the full object gives."""

from __future__ import annotations

import copy
import sys
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kubeward.config import Config
from kubeward.engine import Scanner, _ignore_annotations, release_resource, select_checks, share_strings
from kubeward.inventory import POD_SPEC_PATHS, Inventory, kind_key, pod_spec_of, workload_facts
from kubeward.model import Resource

# ---------------------------------------------------------------- the definition


def _reference_release(resource: Resource) -> dict:
    meta = resource.metadata
    identity = {k: v for k, v in meta.items() if k in ("name", "generateName", "namespace", "uid")}
    ignores = dict(_ignore_annotations(resource))
    if ignores:
        identity["annotations"] = ignores
    obj = resource.obj
    return {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "metadata": identity}


# ---------------------------------------------------------------- random objects

KEYS = ["spec", "template", "metadata", "labels", "containers", "ports", "replicas", "a"]
_leaf = st.none() | st.booleans() | st.integers(0, 3) | st.sampled_from(["x", "y", "spec"])
_trees = st.recursive(
    _leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=4),
    max_leaves=20,
)
_meta = st.fixed_dictionaries(
    {"name": st.sampled_from(["web", "db"])},
    optional={
        "namespace": st.sampled_from(["prod", ""]),
        "labels": st.dictionaries(st.sampled_from(["app", "tier"]), st.sampled_from(["web", "x"]), max_size=2),
        "annotations": st.dictionaries(
            st.sampled_from(["ignore-check.kubeward.io/KW-P001", "note", "ignore-check.kubeward.io/x.c"]), _leaf, max_size=2
        ),
    },
)
_kinds = st.sampled_from(
    [("v1", "Pod"), ("apps/v1", "Deployment"), ("batch/v1", "CronJob"), ("v1", "ConfigMap"), ("tekton.dev/v1", "Task")]
)


@settings(max_examples=300)
@given(_kinds, _meta, st.dictionaries(st.sampled_from(KEYS), _trees, max_size=4))
def test_release_keeps_what_the_definition_keeps(kind, meta, body):
    obj = {"apiVersion": kind[0], "kind": kind[1], "metadata": meta, **{k: v for k, v in body.items() if k != "metadata"}}
    if isinstance(body.get("metadata"), dict):  # Tekton keeps its pod template metadata on the object
        meta.update({k: v for k, v in body["metadata"].items() if k not in meta})
    expected = _reference_release(Resource(obj, "f.yaml"))
    resource = Resource(obj, "f.yaml", source="text")
    release_resource(resource)
    assert repr(resource.obj) == repr(expected)  # the same keys in the same order, the same values
    assert resource.source is None


def test_released_strings_are_interned():
    obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "".join(["w", "eb"])}}
    resource = Resource(obj, "f.yaml")
    release_resource(resource)
    assert resource.obj["metadata"]["name"] is sys.intern("web")


# ---------------------------------------------------------------- workload facts

_port = st.fixed_dictionaries(
    {}, optional={"containerPort": st.sampled_from([80, 0, 70000, True, "80"]), "name": st.sampled_from(["http", "", 3]),
                  "protocol": st.sampled_from(["TCP", "UDP", "tcp", None])},  # fmt: skip
)
_container = st.fixed_dictionaries({}, optional={"name": st.just("c"), "ports": st.lists(_port, max_size=3) | _leaf})
_pod_spec = st.fixed_dictionaries(
    {},
    optional={
        "containers": st.lists(_container | _leaf, max_size=3) | _leaf,
        "initContainers": st.lists(_container, max_size=2),
        "serviceAccountName": st.sampled_from(["app", "", None, 7]),
        "serviceAccount": st.sampled_from(["old", "", 7]),
        "automountServiceAccountToken": st.sampled_from([True, False, "yes", None]),
    },
)
_labels = st.dictionaries(st.sampled_from(["app", "tier"]), st.sampled_from(["web", 1, None]), max_size=2) | _leaf


@settings(max_examples=300)
@given(st.sampled_from(sorted(POD_SPEC_PATHS)), _pod_spec, _labels, st.sampled_from([None, 1, 3, "2", True]))
def test_a_released_workload_keeps_the_facts_of_the_full_object(key, spec, labels, replicas):
    """What the cross-resource checks read of a released workload is what they would read of it whole."""
    kind, _, group = key.partition(".")
    obj: dict[str, Any] = {"apiVersion": f"{group}/v1" if group else "apps/v1", "kind": kind, "metadata": {"name": "w"}}
    target = obj
    for part in POD_SPEC_PATHS[key][:-1]:
        target = target.setdefault(part, {})
    target[POD_SPEC_PATHS[key][-1]] = spec
    obj.setdefault("spec", {})["replicas"] = replicas
    meta = pod_spec_of(Resource(obj, "f.yaml")).template_meta
    meta["labels"] = labels
    whole = Resource(copy.deepcopy(obj), "f.yaml")
    expected = Inventory([whole]).facts(whole)
    assert expected == workload_facts(pod_spec_of(whole))

    config = Config()
    released = Resource(obj, "f.yaml")
    Scanner(select_checks(config), config).check_resources([released], release=True)
    assert "spec" not in released.obj or kind_key(released) not in POD_SPEC_PATHS
    assert Inventory([released]).facts(released) == expected


def test_facts_are_taken_even_when_no_per_resource_check_runs_on_the_kind():
    template = {"metadata": {"labels": {"app": "w"}}, "spec": {"serviceAccountName": "w"}}
    obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"},
           "spec": {"replicas": 3, "template": template}}
    config = Config()
    resource = Resource(obj, "f.yaml")
    Scanner(select_checks(config, only=["KW-O005"]), config).check_resources([resource], release=True)
    assert resource.facts.replicas == 3 and resource.facts.labels == {"app": "w"} and resource.facts.account == "w"


# ---------------------------------------------------------------- objects kept whole


def test_objects_kept_whole_share_their_short_strings_and_keep_their_content():
    import orjson

    def service(name: str) -> Resource:
        # built from fresh strings, as a parser makes them
        text = orjson.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": {"tier": "web"}},
                             "spec": {"ports": [{"protocol": "TCP", "port": 80}], "note": "x" * 500}})  # fmt: skip
        return Resource(orjson.loads(text), "a.yaml")

    a, b = service("a"), service("b")
    before = (orjson.dumps(a.obj), orjson.dumps(b.obj))
    for r in (a, b):
        share_strings(r)
    assert (orjson.dumps(a.obj), orjson.dumps(b.obj)) == before  # same content, same key order
    key_a = next(k for k in a.obj["metadata"]["labels"])
    key_b = next(k for k in b.obj["metadata"]["labels"])
    assert key_a is key_b and a.obj["spec"]["ports"][0]["protocol"] is b.obj["spec"]["ports"][0]["protocol"]
    assert a.obj["metadata"]["labels"]["tier"] is b.obj["metadata"]["labels"]["tier"]
    assert a.obj["spec"]["note"] is not b.obj["spec"]["note"]  # long values are left alone


def test_sharing_strings_survives_a_hostile_nesting_depth():
    deep: Any = "leaf"
    for _ in range(sys.getrecursionlimit() + 100):
        deep = [deep]
    obj = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "deep"}, "spec": {"x": deep}}
    resource = Resource(obj, "a.yaml")
    share_strings(resource)
    assert resource.obj is obj  # left as it was, nothing raised
