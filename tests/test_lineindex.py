"""The C LineIndex answers exactly as the Python TextIndex it ports, for any text and path."""

from __future__ import annotations

import glob
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import DATA, ROOT, SHARED
from kubeward.model import Resource
from kubeward.sources import locate
from kubeward.sources.locate import TextIndex
from kubeward.sources.yamlparse import split_documents

LineIndex = locate.LineIndex
needs_c = pytest.mark.skipif(LineIndex is None, reason="kubeward.sources._lineindex is not built")
INVENTORY = SHARED / "recordings" / "k8s-1.28-api" / "inventory"


def test_the_extension_is_built_where_ci_runs():
    if LineIndex is None:
        if os.environ.get("CI"):  # CI must exercise the C path, never pass by falling back
            pytest.fail("kubeward.sources._lineindex did not import: was the extension built?")
        pytest.skip("kubeward.sources._lineindex is not built")
    assert locate._index("a: 1\n").__class__ is LineIndex


def same(text: str, paths) -> int:
    """Assert both indexes give the same entries and lines; returns the number of paths."""
    py, c = TextIndex(text), LineIndex(text)
    assert c.entries() == py.entries, text
    assert len(c) == len(py.entries)
    count = 0
    for path in paths:
        assert c.line_of(path) == py.line_of(path), (path, text)
        count += 1
    return count


def node_paths(value, prefix=()):
    """Every node's path, plus a missing key and an out-of-range index under each."""
    yield prefix
    yield (*prefix, "missing-field")
    yield (*prefix, 0)
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str):
                yield from node_paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from node_paths(v, (*prefix, i))
        yield (*prefix, len(value))
        yield (*prefix, True)  # bool is an int to Python


# ---- (a) generated documents ---------------------------------------------------------------


class Block(str):
    """A block scalar (| or >) whose lines look like keys."""


KEYS = ["name", "spec", "a", "b", "x-y", "a b", "k.io/x", "ünï", "ключ", "日本", "containers", "-dash", "#hash"]
scalars = st.sampled_from(["1", "x", "true", "a b", "v: w", "'q'", "[1, 2]", "{a: 1}", "é"])
blocks = st.lists(st.sampled_from(["name: fake", "- x", "  spec:", "", "a: |", "#c"]), min_size=1, max_size=4)
leaves = scalars | blocks.map(lambda lines: Block("\n".join(lines)))
trees = st.recursive(
    leaves,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(KEYS), c, max_size=4),
    max_leaves=25,
)


class Emitter:
    """Block-style YAML for a tree, in layouts drawn by hypothesis."""

    def __init__(self, draw):
        self.draw = draw
        self.out: list[str] = []
        self.step = draw(st.sampled_from([1, 2, 4]))
        self.indent_seqs = draw(st.booleans())  # helm's style, else kubectl's (level with the key)

    def choose(self, *options):
        return self.draw(st.sampled_from(options))

    def noise(self, pad: str) -> None:
        for kind in self.draw(st.lists(st.sampled_from(["none", "none", "none", "blank", "comment", "spaces"]), max_size=2)):
            if kind == "blank":
                self.out.append("")
            elif kind == "comment":
                self.out.append(pad + self.choose("# a comment", "#", "# name: x"))
            elif kind == "spaces":
                self.out.append(pad + "   ")

    def key(self, k: str) -> str:
        style = self.choose("plain", "plain", "single", "double")
        return k if style == "plain" or "#" in k else ("'%s'" if style == "single" else '"%s"') % k

    def scalar(self, v: str) -> str:
        decor = self.choose("", "", "&anchor ", "!!str ", "!tag ")
        tail = self.choose("", "", "  # trailing")
        return f"{decor}{v}{tail}"

    def value(self, v, pad: str, lead: str) -> None:
        """Emit a node whose first line starts with ``lead`` (indentation, or "- " markers)."""
        if isinstance(v, dict) and v:
            self.mapping(v, pad, lead)
        elif isinstance(v, list) and v:
            self.sequence(v, pad, lead)
        else:
            self.out.append(lead + self.inline(v))

    def inline(self, v) -> str:
        if isinstance(v, Block):
            return "x"
        if isinstance(v, (dict, list)):
            return "{}" if isinstance(v, dict) else "[]"
        return self.scalar(v)

    def mapping(self, d: dict, pad: str, lead: str) -> None:
        for n, (k, v) in enumerate(d.items()):
            first = lead if n == 0 else pad
            if n:
                self.noise(pad)
                if self.draw(st.integers(0, 9)) == 0:  # an earlier duplicate: the last one wins
                    self.out.append(f"{pad}{self.key(k)}: dup")
            sep = self.choose(": ", ": ", ":\t", ":  ")
            head = f"{first}{self.key(k)}"
            if isinstance(v, Block):
                self.out.append(head + ": " + self.choose("|", ">", "|-", "| # c"))
                self.out.extend(pad + " " * self.step + line if line else "" for line in v.split("\n"))
            elif isinstance(v, (dict, list)) and v and self.draw(st.integers(0, 5)):
                decor = self.choose("", "", "", " &anchor", " !!map", " # comment", " &a !t")
                self.out.append(head + ":" + decor)
                inner = pad + " " * self.step
                if isinstance(v, list) and not self.indent_seqs:
                    inner = pad
                self.noise(inner)
                self.value(v, inner, inner)
            elif isinstance(v, (dict, list)) and v:  # a flow collection on the key's line
                self.out.append(head + sep + flow(v))
            else:
                self.out.append(head + sep + self.inline(v))

    def sequence(self, items: list, pad: str, lead: str) -> None:
        for n, v in enumerate(items):
            first = lead if n == 0 else pad
            if n:
                self.noise(pad)
            style = self.choose("same", "same", "alone", "wide")
            if style == "alone":  # "-" by itself, the item below it
                self.out.append(first + self.choose("-", "- ", "-  # item"))
                inner = pad + " " * max(self.step, 2)
                self.value(v, inner, inner)
            else:
                gap = "-" + " " * (1 if style == "same" else self.draw(st.integers(2, 4)))
                self.value(v, pad + " " * len(gap), first + gap)  # "- - x" for a list in a list

    def text(self, tree) -> str:
        self.value(tree, "", "")
        text = "\n".join(self.out) + self.choose("\n", "", "\n\n")
        ending = self.choose("lf", "lf", "crlf", "mixed")
        if ending == "crlf":
            text = text.replace("\n", "\r\n")
        elif ending == "mixed":
            text = "".join(line + self.choose("\n", "\r\n") for line in text.split("\n"))
        return self.choose("", "", "---\n", "--- # doc\n", "# head\n") + text


def flow(v) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(flow(x) for x in v) + "]"
    return "x" if isinstance(v, Block) else v


@st.composite
def documents(draw):
    tree = draw(st.dictionaries(st.sampled_from(KEYS), trees, min_size=1, max_size=5) | st.lists(trees, min_size=1, max_size=3))
    return tree, Emitter(draw).text(tree)


@needs_c
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_same_lines_on_generated_block_yaml(document):
    tree, text = document
    same(text, node_paths(tree))


# raw lines from fragments: whatever the text, the two readings agree (Unicode whitespace, quotes, markers...)
FRAGMENTS = [" ", "  ", "- ", "-", "--- ", "...", "a", "b", "name", "a b", ":", ": ", ":\t", "\t", "#", " #", "'", '"',
             "\r", "&x", "!t", " &x b", "|", "{a: 1}", "é", "\xa0", "\u3000", "\u2000", "\u2028", "\x85", "\x1c", "\u205f",
             "\u1680", "\u202f", "\x0b", "日本"]
path_keys = st.sampled_from(["a", "b", "name", "a b", "'a'", "é", "a\xa0", "", "-", "日本", "\xa0"])
path_parts = path_keys | st.integers(0, 3) | st.booleans()


@needs_c
@settings(max_examples=1500, deadline=None)
@given(st.lists(st.lists(st.sampled_from(FRAGMENTS), max_size=8).map("".join), max_size=12).map("\n".join),
       st.lists(st.lists(path_parts, max_size=5).map(tuple), min_size=1, max_size=20))
def test_same_lines_on_arbitrary_text(text, paths):
    same(text, paths)


# ---- (b) real manifests ---------------------------------------------------------------------


def _documents_of(files):
    for name in sorted(files):
        for _, chunk in split_documents(Path(name).read_text()):
            try:
                value = yaml.safe_load(chunk)
            except yaml.YAMLError:
                value = None  # still compared, on the root and what node_paths adds
            yield chunk, value


def _compare_all(files) -> int:
    return sum(same(text, node_paths(value)) for text, value in _documents_of(files))


@needs_c
def test_same_lines_on_test_data():
    files = glob.glob(str(DATA / "**" / "*.yaml"), recursive=True) + glob.glob(str(DATA / "**" / "*.yml"), recursive=True)
    assert _compare_all(files) > 5000


@needs_c
@pytest.mark.skipif(not INVENTORY.is_dir(), reason=f"{INVENTORY} is not present")
def test_same_lines_on_the_recorded_inventory():
    assert _compare_all(glob.glob(str(INVENTORY / "*.yaml"))) > 20000


@needs_c
def test_same_lines_on_the_bench_corpus(tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import corpus
    finally:
        sys.path.remove(str(ROOT / "bench"))
    corpus.generate(tmp_path, 300, seed=7)
    assert _compare_all(glob.glob(str(tmp_path / "*.yaml"))) > 20000


# ---- (c) edges ----------------------------------------------------------------------------------


EDGES = [
    "", "\n", "\n\n\n", "a", "a:", "a: 1", "-", "- ", "--", "---", "--- a", " ---", "...", "# only", "\r", "\r\n", " \r\n",
    "-\r\n  a: 1\r\n", "- - - x", "- -\n  - y", "'a': 1", "'a':x", "'a", '"a": 1', "a:\tb", "a:\t\n b: 1", "a: b: c",
    "k\xa0: v", "\xa0k: v", "é: 1\nè:\n  - x", "a: &x\n  b: 1", "a: &x b\nc: !t\n  d: 1", "a: !t # c\n  b: 1",
    "a:\n-\n  b: 1\n- c", "a:\n  - # c\n    b: 1", "-\n-\n-", "a: |\n  b: 1\nb: 2",
    "a:\n  - x\n - y\n  - z\n", "a:\n  - - x\n    - y\n   - z\n    - w\n", "- a: 1\n  b:\n  - c\n - d\n  - e",
]


@needs_c
@pytest.mark.parametrize("text", EDGES)
def test_same_lines_on_edges(text):
    parts = ["a", "b", "c", "d", "k", "é", "\xa0k", 0, 1, 2]
    same(text, [(), *((p,) for p in parts), *((p, q) for p in parts for q in parts)])


# every character Python's str.strip() and str.split() take for whitespace, and some neighbours that are not
SPACES = [chr(c) for c in range(0x110000) if chr(c).isspace()]
NOT_SPACES = ["\x08", "\x0e", "\x1b", "\x84", "\x86", "\xa1", "\u167f", "\u1681", "\u180e", "\u1fff", "\u200b", "\u2027",
              "\u202a", "\u202e", "\u2030", "\u205e", "\u2060", "\u2fff", "\u3001", "\ufeff"]


@needs_c
@pytest.mark.parametrize("char", SPACES + NOT_SPACES, ids=lambda c: f"U+{ord(c):04X}")
def test_same_lines_with_unicode_whitespace(char):
    w = char
    texts = [f"k{w}: 1\nb: 2", f"k:{w}\n  b: 1", f"k: {w}\n  b: 1", f"k: {w}x{w}\n  b: 1", f"k: &a{w}b\n  b: 1",
             f"k: &a{w}{w}#c\n  b: 1", f"k: !t{w}\n  b: 1", f"k{w}{w}:\n  b: 1", f"'k': {w}\n  b: 1", f"k:{w}{w}",
             f"- k{w}: {w}\n  b: 1", f"{w}k: 1\nk{w}: 2"]
    paths = [("k",), ("k", "b"), (f"k{w}",), (f"k{w}", "b"), (0, "k"), (0, "k", "b"), (0, "b"), (f"{w}k",)]
    for text in texts:
        same(text, paths)


@needs_c
def test_a_long_line_and_no_newline():
    key = "k" * 1_000_000
    text = f"a:\n  {key}: {'v' * 1_000_000}\n  b: 1"
    assert same(text, [("a", key), ("a", "b"), ("a", key + "x"), ("a", key, 0)]) == 4
    assert LineIndex(text).line_of(("a", key)) == 1


@needs_c
def test_a_hundred_thousand_lines():
    n = 100_000
    mapping = "".join(f"key{i}: {i}\n" for i in range(n - 2)) + "key5: dup\nlist:\n"
    sequence = "".join(f"- name: n{i}\n  v: {i}\n" for i in range(n))
    text = mapping + sequence
    paths = [(f"key{i}",) for i in range(0, n, 997)] + [("key5",), ("nokey",), ("list", n - 1, "v"), ("list", n)]
    paths += [("list", i, "name") for i in range(0, n, 4999)]
    same(text, paths)
    index = LineIndex(text)
    assert index.line_of(("key5",)) == n - 2  # the last duplicate
    assert index.line_of(("list", n - 1, "v")) == n + 2 * n - 1


@needs_c
def test_deep_nesting():
    depth = 400  # Python's TextIndex recurses once per path element
    text = "".join(" " * i + f"k{i}:\n" for i in range(depth)) + " " * depth + "- - - x\n"
    path = (*(f"k{i}" for i in range(depth)), 0, 0, 0)
    same(text, [path[:n] for n in range(len(path) + 1)])
    deeper = 5000  # the C walk is a loop: no limit but the text's
    text = "".join(" " * i + f"k{i}:\n" for i in range(deeper))
    assert LineIndex(text).line_of(tuple(f"k{i}" for i in range(deeper))) == deeper - 1
    items = "- " * 100_000 + "x"
    assert LineIndex(items).line_of((0,) * 100_000) == 0


@needs_c
@pytest.mark.parametrize("part", [-1, -(2**70), 1.0, None, b"a", ("a",), object()])
def test_other_path_elements_raise_and_the_caller_falls_back(part):
    text = "a:\n- x\n- y\n"
    index = LineIndex(text)
    with pytest.raises(TypeError):
        index.line_of(("a", part))

    def outcome(fn):
        try:
            return fn()
        except Exception as exc:  # Python's TextIndex may raise for these: the fallback must too
            return type(exc)

    def through_assign_lines():
        finding = SimpleNamespace(line=None)
        locate.assign_lines([(Resource({}, "f.yaml", start_line=10, source=text), ("a", part), finding)])
        return finding.line - 10

    assert locate._index(text).__class__ is LineIndex
    assert outcome(through_assign_lines) == outcome(lambda: TextIndex(text).line_of(("a", part)))
    # where the walk stops before the element, it is never looked at, as in Python
    assert index.line_of(("missing", part)) == TextIndex(text).line_of(("missing", part)) == 0


@needs_c
def test_odd_arguments():
    index = LineIndex("a:\n- x\n")
    assert index.line_of(("a", 2**70)) == TextIndex("a:\n- x\n").line_of(("a", 2**70)) == 0
    assert index.line_of(("\ud800",)) == 0  # a key no text can hold: not found
    with pytest.raises(TypeError):
        index.line_of(["a"])
    assert LineIndex("").line_of(["not", "a", "tuple"]) is None  # as TextIndex: None before any look at the path
    with pytest.raises(TypeError):
        LineIndex(b"a: 1")
    with pytest.raises(UnicodeEncodeError):
        LineIndex("a: \ud800")
    assert isinstance(locate._index("a: \ud800"), TextIndex)  # the fallback for text with no UTF-8


@needs_c
def test_the_index_keeps_its_text_alive_and_releases_it():
    text = "".join(f"k{i}: {i}\n" for i in range(50))  # built here: not shared with a constant
    before = sys.getrefcount(text)
    index = LineIndex(text)
    assert sys.getrefcount(text) == before + 1
    del text
    assert index.line_of(("k49",)) == 49
    text = index  # the index alone holds the text now
    assert text.line_of(("k7",)) == 7


@needs_c
def test_assign_lines_takes_the_c_path_and_gives_the_python_answers(monkeypatch):
    from helpers import scan_text

    manifest = (DATA / "checks").glob("*/fail.yaml")
    texts = [p.read_text() for p in sorted(manifest)]

    def lines(text):
        result, _ = scan_text(text)
        return [(f.check_id, f.resource.ref, tuple(f.path), f.line) for f in result.findings]

    with_c = [lines(t) for t in texts]
    monkeypatch.setattr(locate, "LineIndex", None)
    assert [lines(t) for t in texts] == with_c
    assert sum(len(x) for x in with_c) > 100


@pytest.mark.parametrize("text", [*EDGES, "{a: 1}", " - [1]", "\n\t{", "a: <<", "a: <\nb: <", "a: *x\nb: &y 1", "a: *x", "-- x"])
def test_documents_go_where_they_went(text):
    # _index skips copying the text for its checks: the same documents still go to libyaml
    head = text.lstrip(" \t\r\n-")
    composed = head[:1] in "{[" or "<<" in text or "*" in text and "&" in text
    index = locate._index(text)
    assert (index is None or isinstance(index, yaml.Node)) == composed
