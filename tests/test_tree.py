"""The C tree copying (kubeward._tree) gives exactly what the engine's Python definition gives."""

from __future__ import annotations

import glob
import os
import sys
from collections import OrderedDict, defaultdict
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import DATA, ROOT, SHARED
from kubeward import engine
from kubeward.engine import _interned_tree
from kubeward.model import Resource
from kubeward.sources.files import load_bytes

_tree = engine._tree
needs_c = pytest.mark.skipif(_tree is None, reason="kubeward._tree is not built")
INVENTORY = SHARED / "recordings" / "k8s-1.28-api" / "inventory"


def test_the_extension_is_built_where_ci_runs():
    if _tree is None:
        if os.environ.get("CI"):  # CI must exercise the C path, never pass by falling back
            pytest.fail("kubeward._tree did not import: was the extension built?")
        pytest.skip("kubeward._tree is not built")
    assert engine._tree.interned_tree({"a": ["b"]}) == {"a": ["b"]}


# ---- how results are compared -----------------------------------------------------------------


def _nodes(value: Any) -> list[int]:
    """The ids of every object of a tree (keys included), in order: a source must keep them."""
    out = [id(value)]
    if issubclass(type(value), dict):  # read as a dict, whatever a subclass's items() says
        for k, v in dict.items(value):
            out.append(id(k))
            out.extend(_nodes(v))
    elif issubclass(type(value), list):
        for v in list.__iter__(value):
            out.extend(_nodes(v))
    return out


def snapshot(value: Any) -> tuple[str, list[int]]:
    return repr(value), _nodes(value)


def check_copy(src: Any, py: Any, c: Any, longest: int | None) -> None:
    """py and c are what _interned_tree(src, longest) defines: plain new containers with the same
    keys in the same order, interned strs (the very objects sys.intern returns), every other leaf
    the source's own object, and containers of the same allocated size."""
    if type(src) is str:
        expected = sys.intern(src) if longest is None or len(src) <= longest else src
        assert py is expected and c is expected, repr(src)
    elif isinstance(src, dict):
        assert type(py) is dict and type(c) is dict
        assert py is not src and c is not src and py is not c
        assert len(py) == len(c) == len(src)
        for ks, kp, kc in zip(src, py, c, strict=True):
            expected = sys.intern(ks) if type(ks) is str else ks
            assert kp is expected and kc is expected, repr(ks)
            check_copy(src[ks], py[kp], c[kc], longest)
        assert sys.getsizeof(py) == sys.getsizeof(c)  # built as the comprehension builds it
    elif isinstance(src, list):
        assert type(py) is list and type(c) is list
        assert py is not src and c is not src and py is not c
        assert len(py) == len(c) == len(src)
        for s, p, q in zip(src, py, c, strict=True):
            check_copy(s, p, q, longest)
        assert sys.getsizeof(py) == sys.getsizeof(c)
    else:
        assert py is src and c is src, repr(src)


def same_copy(src: Any, longest: int | None = None) -> Any:
    before = snapshot(src)
    py = _interned_tree(src, longest)
    c = _tree.interned_tree(src, longest)
    check_copy(src, py, c, longest)
    assert snapshot(src) == before
    return c


# ---- (a) interned_tree on generated trees -----------------------------------------------------

UNITS = ["a", "é", "日本", "😀x", "\ud800b", "ключ", "\x00"]
# fresh strs (never literals): short ones, lone surrogates, and lengths about 128
short_strs = st.text(max_size=12) | st.lists(st.sampled_from([*UNITS, "\udfff", "-", "/"]), max_size=6).map("".join)
long_strs = st.builds(lambda n, unit: (unit * n)[:n], st.integers(124, 132), st.sampled_from(UNITS))
strs = short_strs | long_strs
keys = strs | st.integers(-3, 300) | st.booleans() | st.none() | st.floats() | st.binary(max_size=3) | st.tuples(
    st.integers(0, 2), short_strs
)
leaves = (
    strs
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.booleans()
    | st.none()
    | st.binary(max_size=4)
    | st.tuples(st.lists(short_strs, max_size=2), short_strs)  # a tuple is a leaf, whatever it holds
)
trees = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=40,
)
longests = st.sampled_from([None, 128, 127, 129, 0, 1, 5, -1])


@needs_c
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees, longests)
def test_same_copy_of_generated_trees(tree, longest):
    same_copy(tree, longest)


@needs_c
@pytest.mark.parametrize("n", [0, 1, 126, 127, 128, 129, 130, 1000])
@pytest.mark.parametrize("unit", ["a", "é", "😀", "\ud800"])
def test_strs_around_the_limit(n, unit):
    value = (unit * (n + 1))[:n] if n else "".join([])
    tree = {(unit * 3)[:2] + "k": value, "list": [value, (value + "x")[: n + 1]]}
    for longest in (None, 128, n, n - 1):
        same_copy(tree, longest)
        same_copy(value, longest)


@needs_c
def test_longest_as_keyword_and_at_the_ends_of_int():
    tree = {"k": ["short", "x" * 300]}
    for longest in (True, False, 2**100, -(2**100), sys.maxsize, -sys.maxsize - 1):
        assert _tree.interned_tree(tree, longest=longest) == _interned_tree(tree, longest=longest)
        same_copy(tree, longest)
    assert _tree.interned_tree("x" * 200, longest=2**100) is sys.intern("x" * 200)
    long = "y" * 10
    assert _tree.interned_tree(long, -(2**100)) is long


@needs_c
def test_shared_subtrees_are_copied_each_time():
    shared = {"app": "web"}
    tree = {"a": shared, "b": [shared, shared]}
    c = same_copy(tree)
    assert c["a"] is not c["b"][0] and c["b"][0] is not c["b"][1]


@needs_c
def test_the_source_strs_become_the_interned_ones_when_first():
    # a str nobody interned yet is interned in place, by both (sys.intern does the same)
    for fn in (_interned_tree, _tree.interned_tree):
        fresh = "".join(["kubeward-tree-", fn.__module__, "-first"])
        assert fn([fresh])[0] is fresh and sys.intern("".join(fresh)) is fresh


# ---- (b) subclasses and objects claiming a type -----------------------------------------------


class Str(str):
    pass


class LongStr(str):
    def __len__(self):
        return 1000


class BadLen(str):
    def __len__(self):
        raise ValueError("no length")


class ClaimsStr:
    __class__ = property(lambda self: str)  # isinstance(x, str) is True; sys.intern refuses it


class ClaimsDict:
    __class__ = property(lambda self: dict)


class ClaimsList:
    __class__ = property(lambda self: list)

    def __iter__(self):
        return iter(["a", Str("b")])


class ReversedItems(dict):
    def items(self):
        return list(reversed(list(super().items())))


class BadItems(dict):
    def __init__(self, items):
        super().__init__(x=1)
        self._items = items

    def items(self):
        return self._items() if callable(self._items) else self._items  # a fresh iterator each time


class OtherIter(list):
    def __iter__(self):
        return iter(["other", ["x"]])


ODD = [
    Str("a"), [Str("a")], {"k": Str("a")}, {Str("k"): 1}, {1: 2, Str("k"): [1]},
    LongStr("abc"), BadLen("abc"), ClaimsStr(), [ClaimsStr()], {ClaimsStr(): 1},
    ClaimsDict(), ClaimsList(), [ClaimsList()],
    OrderedDict([("b", ["x"]), ("a", "y")]), defaultdict(list, a=["z"]), ReversedItems(a=1, b="x", c=[{"d": "e"}]),
    OtherIter(["a", "b"]), {"nested": OtherIter()},
    BadItems([("a", 1), ("b",)]), BadItems([("a", 1, 2)]), BadItems([5]), BadItems(5), BadItems([["a", "b"]]),
    BadItems(lambda: iter([("k", "v")])), BadItems([Str("a") and ("ok", "v")]),
]  # fmt: skip


@needs_c
@pytest.mark.parametrize("value", ODD, ids=lambda v: type(v).__name__)
@pytest.mark.parametrize("longest", [None, 128, 1])
def test_subclasses_and_claimed_types_as_python_has_them(value, longest):
    before = snapshot(value)
    try:
        py = _interned_tree(value, longest)
    except Exception as exc:  # noqa: BLE001
        with pytest.raises(type(exc)) as raised:
            _tree.interned_tree(value, longest)
        if not isinstance(exc, ValueError):  # unpacking's words vary between Python versions
            assert str(raised.value) == str(exc)
        return
    c = _tree.interned_tree(value, longest)
    assert repr(c) == repr(py) and type(c) is type(py)
    if isinstance(value, (dict, list)):
        assert type(c) in (dict, list) and c is not value
    assert snapshot(value) == before


@needs_c
def test_subclass_errors_are_sys_interns():
    with pytest.raises(TypeError, match="^can't intern Str$"):
        _tree.interned_tree({"k": Str("v")})
    with pytest.raises(TypeError, match="^intern\\(\\) argument must be str, not ClaimsStr$"):
        _tree.interned_tree([ClaimsStr()])
    assert _tree.interned_tree(Str("x" * 200), 128) == "x" * 200  # too long to intern: kept, no error


# ---- (c) real resources ----------------------------------------------------------------------


def _load(files) -> list[Resource]:
    resources = []
    for name in sorted(files):
        resources += load_bytes(Path(name).read_bytes(), name).resources
    return resources


def same_on(resources: list[Resource]) -> int:
    """interned_tree agrees on every object, whole (as release_resource copies what it keeps)
    and up to 128 characters (as share_strings copies the objects kept whole)."""
    for r in resources:
        same_copy(r.obj)
        same_copy(r.obj, 128)
    return len(resources)


@needs_c
def test_same_copy_of_test_data():
    assert same_on(_load(glob.glob(str(DATA / "**" / "*.yaml"), recursive=True))) > 500


@needs_c
@pytest.mark.skipif(not INVENTORY.is_dir(), reason=f"{INVENTORY} is not present")
def test_same_copy_of_the_recorded_inventory():
    assert same_on(_load(glob.glob(str(INVENTORY / "*.yaml")))) > 600


@needs_c
def test_same_copy_of_the_bench_corpus(tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import corpus
    finally:
        sys.path.remove(str(ROOT / "bench"))
    corpus.generate(tmp_path, 1500, seed=11)
    assert same_on(_load(glob.glob(str(tmp_path / "*.yaml")))) == 1500


@needs_c
def test_released_and_shared_objects_are_the_same_either_way(monkeypatch):
    resources = _load(glob.glob(str(DATA / "checks" / "*" / "*.yaml")))
    results = []
    for impl in (None, _tree):
        monkeypatch.setattr(engine, "_tree", impl)
        released = [Resource(r.obj, r.file, r.doc_index, source="text") for r in resources]
        for r in released:
            engine.release_resource(r)
        shared = [Resource(r.obj, r.file) for r in resources]
        for r in shared:
            engine.share_strings(r)
        results.append([r.obj for r in released + shared])
    assert len(resources) > 500
    for py, c in zip(*results, strict=True):
        same_result(py, c)


def same_result(a: Any, b: Any) -> None:
    """Two copies made from one object: the same shape, key order, strs (interned alike) and leaves."""
    assert type(a) is type(b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for (ka, va), (kb, vb) in zip(a.items(), b.items(), strict=True):
            assert ka is kb, ka
            same_result(va, vb)
        assert sys.getsizeof(a) == sys.getsizeof(b)
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            same_result(x, y)
        assert sys.getsizeof(a) == sys.getsizeof(b)
    else:
        assert a is b, (a, b)  # interned strs are one object; long strs and other leaves are the source's


# ---- (d) depth, mutation, arguments -----------------------------------------------------------


def deep(n: int, make) -> Any:
    value: Any = "leaf"
    for _ in range(n):
        value = make(value)
    return value


@needs_c
@pytest.mark.parametrize("make", [lambda v: [v], lambda v: {"k": v}, lambda v: [1, {"a": v}]])
def test_hostile_depth_raises_recursion_error_in_both(make):
    value = deep(100_000, make)
    for fn in (_interned_tree, _tree.interned_tree):
        with pytest.raises(RecursionError):
            fn(value)
        with pytest.raises(RecursionError):
            fn(value, 128)
    resource = Resource({"kind": "Service", "metadata": {"name": "d"}, "spec": value}, "a.yaml")
    obj = resource.obj
    engine.share_strings(resource)
    assert resource.obj is obj  # caught: kept as it was


@needs_c
def test_a_cycle_raises_recursion_error_in_both():
    cycle: dict = {"a": []}
    cycle["a"].append(cycle)
    for fn in (_interned_tree, _tree.interned_tree):
        with pytest.raises(RecursionError):
            fn(cycle)


@needs_c
def test_moderate_depth_is_copied_by_both():
    for make in (lambda v: [v], lambda v: {"k": v}):
        same_copy(deep(150, make))


@needs_c
def test_the_c_copy_goes_deeper_before_it_gives_up():
    # documented in _tree.c: one recursion level per container where Python spends two frames
    value = deep(sys.getrecursionlimit() * 3 // 4, lambda v: [v])
    with pytest.raises(RecursionError):
        _interned_tree(value)
    assert _tree.interned_tree(value) == value
    resource = Resource({"kind": "Service", "metadata": {"name": "d"}, "spec": value}, "a.yaml")
    engine.share_strings(resource)  # the C path: interned rather than left as it was
    assert resource.obj == {"kind": "Service", "metadata": {"name": "d"}, "spec": value}


class Mutating:
    """A key whose first hashing after arming mutates a container: what Python code run in the
    middle of a copy could do."""

    def __init__(self, mutate):
        self.mutate, self.armed = mutate, False

    def __hash__(self):
        if self.armed:
            self.armed = False
            self.mutate()
        return 7

    def __eq__(self, other):
        return self is other


@needs_c
def test_a_dict_changing_size_while_copied_raises_in_both():
    for fn in (_interned_tree, _tree.interned_tree):
        source: dict = {}
        key = Mutating(lambda source=source: source.__setitem__("added", 1))
        source.update({key: "v", "b": "w"})
        key.armed = True
        with pytest.raises(RuntimeError, match="dictionary changed size during iteration"):
            fn(source)


@needs_c
@pytest.mark.parametrize("change", ["append", "pop"])
def test_a_list_changing_size_while_copied_is_read_at_its_live_size_by_both(change):
    for fn in (_interned_tree, _tree.interned_tree):
        items: list = []
        key = Mutating(lambda items=items: items.append({"late": "x"}) if change == "append" else items.pop())
        items += [{key: "v"}, "b"]
        key.armed = True
        assert fn(items) == ([{key: "v"}, "b", {"late": "x"}] if change == "append" else [{key: "v"}])


@needs_c
def test_odd_arguments():
    with pytest.raises(TypeError):
        _tree.interned_tree()
    with pytest.raises(TypeError):
        _tree.interned_tree({}, 1, 2)
    with pytest.raises(TypeError):
        _tree.interned_tree({}, limit=1)
    with pytest.raises(TypeError):
        _tree.interned_tree({}, 1, longest=1)
    with pytest.raises(TypeError, match="longest must be None or an int"):
        _tree.interned_tree({}, 128.0)  # Python would compare with a float: documented difference


@needs_c
def test_references_are_given_back():
    obj = {"apiVersion": "v1", "metadata": {"name": "".join(["w", "eb"]), "labels": {"".join(["a", "pp"]): "x" * 300}},
           "spec": {"ports": [{"port": 80, "protocol": "".join(["TC", "P"])}], "t": (1, ["a"]), 2.5: [None]}}  # fmt: skip
    nodes = []

    def walk(v):
        nodes.append(v)
        if isinstance(v, dict):
            for k, x in v.items():
                nodes.append(k)
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(obj)
    nodes = [n for n in nodes if n is not None]
    _tree.interned_tree(obj, 128)  # interns in place what nobody interned before
    before = [sys.getrefcount(n) for n in nodes]
    for _ in range(1000):
        _tree.interned_tree(obj)
        _tree.interned_tree(obj, 128)
        _tree.interned_tree(obj, longest=0)
    assert [sys.getrefcount(n) for n in nodes] == before


# ---- (e) the engine's switch ------------------------------------------------------------------


@needs_c
def test_the_engine_takes_the_c_path(monkeypatch):
    calls = []

    def spy(*args):
        calls.append(args[1:])
        return _tree.interned_tree(*args)

    monkeypatch.setattr(engine, "_tree", SimpleNamespace(interned_tree=spy))
    deployment = Resource({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w", "namespace": "n"},
                           "spec": {"template": {"spec": {"containers": [{"name": "c"}]}}}}, "a.yaml")  # fmt: skip
    engine.release_resource(deployment)
    assert calls == [(), (), (), ()]  # name, namespace, apiVersion, kind
    assert deployment.obj == {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w", "namespace": "n"}}
    calls.clear()
    engine.share_strings(Resource({"kind": "Service", "metadata": {"name": "s"}}, "a.yaml"))
    assert calls == [(128,)]


def test_without_the_extension_python_copies(monkeypatch):
    monkeypatch.setattr(engine, "_tree", None)
    deployment = Resource({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "".join(["w", "eb"])},
                           "spec": {"replicas": 2}}, "a.yaml")  # fmt: skip
    engine.release_resource(deployment)
    assert deployment.obj == {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}
    assert deployment.obj["metadata"]["name"] is sys.intern("web")
    service = Resource({"kind": "Service", "metadata": {"name": "s"}, "spec": {"type": "".join(["Node", "Port"])}}, "a.yaml")
    engine.share_strings(service)
    assert service.obj["spec"]["type"] is sys.intern("NodePort")


# ---- dig ----------------------------------------------------------------------------------------

from kubeward import inventory  # noqa: E402
from kubeward.inventory import _dig  # noqa: E402


class _Dict(dict):
    def get(self, key, default=None):  # a subclass's own get is what Python's dig calls
        return ("sub", key)


class _List(list):
    def __len__(self):
        return 1  # what Python's dig compares the index with

    def __getitem__(self, index):
        return ("item", index)


class _ClaimsDict:
    __class__ = dict  # isinstance(x, dict) believes it; so must the port

    def get(self, key, default=None):
        return ("claims", key)


def _outcome(fn, obj, keys):
    """(result, None) or (None, exception type and message)."""
    try:
        return fn(obj, *keys), None
    except Exception as exc:  # noqa: BLE001 - the two must raise alike
        return None, (type(exc), str(exc))


def dig_same(obj: Any, *keys: Any) -> Any:
    """Assert the C dig gives what the Python definition gives: the very same object, or the same exception."""
    expected, raised = _outcome(_dig, obj, keys)
    got, got_raised = _outcome(_tree.dig, obj, keys)
    assert got_raised == raised, (obj, keys)
    # the very object, but for what a subclass's method makes afresh on every call
    assert got is expected or (type(got) is tuple and got == expected), (obj, keys)
    return expected


leaves = st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=3) | st.floats(allow_nan=False)
trees = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["a", "b", "c", 0, 1, True]), inner, max_size=4),
    max_leaves=15,
)
KEYS = ["a", "b", "c", "", 0, 1, 2, 3, -1, -2, -9, True, False, 2**70, -(2**70), 1.0, None, ("a",)]
keys = st.lists(st.sampled_from(KEYS), max_size=5)


@needs_c
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees, keys)
def test_dig_answers_as_its_definition(tree, path):
    dig_same(tree, *path)


@needs_c
@pytest.mark.parametrize(
    ("obj", "path"),
    [
        ({"a": {"b": [1, {"c": 3}]}}, ("a", "b", 1, "c")),
        ({"a": 1}, ()),
        ({"a": 1}, ("a", "b")),
        ([1, 2], (-1,)),  # Python indexes from the end
        ([1, 2], (-3,)),  # ... and raises IndexError past it
        ([1, 2], (2**70,)),  # not below len(): None
        ([1, 2], (-(2**70),)),  # below len(): obj[key] raises
        ([1, 2], (True,)),  # bool is an int
        ({True: 1, "a": 2}, (True,)),  # an int key never reads a dict
        ({"a": 1}, (["unhashable"],)),  # dict.get raises TypeError
        (_Dict(a=1), ("a",)),
        (_List([1, 2, 3]), (0,)),
        (_List([1, 2, 3]), (2,)),
        (_ClaimsDict(), ("x",)),
        (OrderedDict(a=[{"b": 1}]), ("a", 0, "b")),
        (defaultdict(list), ("missing",)),  # get() does not create it
        ("text", (0,)),
        (None, ("a",)),
    ],
)
def test_dig_edges(obj, path):
    dig_same(obj, *path)


@needs_c
def test_dig_without_an_object_raises_type_error():
    with pytest.raises(TypeError):
        _tree.dig()


@needs_c
def test_the_inventory_digs_with_the_port():
    assert inventory.dig is _tree.dig
