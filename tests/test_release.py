"""release_resource keeps exactly what the path-by-path definition keeps, in the same order."""

from __future__ import annotations

import sys
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kubeward.engine import _ignore_annotations, release_resource, share_strings
from kubeward.inventory import POD_SPEC_PATHS, kind_key, template_meta_path
from kubeward.model import Resource

# ---------------------------------------------------------------- the definition


def _reference_release(resource: Resource, keep) -> dict:
    meta = resource.metadata
    identity = {k: v for k, v in meta.items() if k in ("name", "generateName", "namespace", "uid")}
    ignores = dict(_ignore_annotations(resource))
    if ignores:
        identity["annotations"] = ignores
    obj = resource.obj
    skeleton = {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "metadata": identity}
    key = kind_key(resource)
    spec_path = POD_SPEC_PATHS.get(key)
    for path in keep:
        if path[0] in ("$pod", "$template"):
            if spec_path is None:
                continue
            base = spec_path if path[0] == "$pod" else template_meta_path(key)
            path = (*base, *path[1:])
        _reference_copy(obj, skeleton, path)
    return _copied(skeleton)


def _copied(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copied(v) for v in value]
    return value


def _reference_copy(source: Any, target: dict, path) -> None:
    key, rest = path[0], path[1:]
    if key == "*" or not isinstance(source, dict) or key not in source:
        return
    value = source[key]
    if not rest:
        target[key] = value
    elif rest[0] == "*":
        if isinstance(value, list):
            items = target.setdefault(key, [{} for _ in value])
            if isinstance(items, list) and len(items) == len(value):
                for item_source, item_target in zip(value, items, strict=True):
                    if rest[1:] and isinstance(item_source, dict) and isinstance(item_target, dict):
                        _reference_copy(item_source, item_target, rest[1:])
    elif isinstance(value, dict):
        child = target.setdefault(key, {})
        if isinstance(child, dict):
            _reference_copy(value, child, rest)


# ---------------------------------------------------------------- random objects and keeps

KEYS = ["spec", "template", "metadata", "labels", "containers", "ports", "replicas", "a"]
_leaf = st.none() | st.booleans() | st.integers(0, 3) | st.sampled_from(["x", "y", "spec"])
_trees = st.recursive(
    _leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=4),
    max_leaves=20,
)
_paths = st.lists(st.sampled_from([*KEYS, "*"]), min_size=1, max_size=5).map(tuple)
_keep = st.lists(
    _paths | _paths.map(lambda p: ("$pod", *p)) | _paths.map(lambda p: ("$template", *p)),
    max_size=6,
).map(tuple)
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
@given(_kinds, _meta, st.dictionaries(st.sampled_from(KEYS), _trees, max_size=4), _keep)
def test_release_keeps_what_the_definition_keeps(kind, meta, body, keep):
    obj = {"apiVersion": kind[0], "kind": kind[1], "metadata": meta, **{k: v for k, v in body.items() if k != "metadata"}}
    if isinstance(body.get("metadata"), dict):  # Tekton keeps its pod template metadata on the object
        meta.update({k: v for k, v in body["metadata"].items() if k not in meta})
    expected = _reference_release(Resource(obj, "f.yaml"), keep)
    resource = Resource(obj, "f.yaml", source="text")
    release_resource(resource, keep)
    assert repr(resource.obj) == repr(expected)  # the same keys in the same order, the same values
    assert resource.source is None


def test_released_strings_are_interned():
    labels = {"".join(["ap", "p"]): "".join(["we", "b"])}
    obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"}}
    obj["spec"] = {"template": {"metadata": {"labels": labels}, "spec": {}}}
    resource = Resource(obj, "f.yaml")
    release_resource(resource, [("$template", "labels")])
    ((key, value),) = resource.obj["spec"]["template"]["metadata"]["labels"].items()
    assert key is sys.intern("app") and value is sys.intern("web")


def test_the_catalogue_keeps_through_a_tree():
    """The fast path (one tree walk) serves the checks we ship, for every workload kind."""
    from kubeward.config import Config
    from kubeward.engine import Scanner, _keep_plan, select_checks

    config = Config()
    keep = Scanner(select_checks(config), config).keep
    assert keep
    for kind in POD_SPEC_PATHS:
        assert _keep_plan(kind, keep)[1] is not None, kind


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
