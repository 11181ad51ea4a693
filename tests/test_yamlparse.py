"""The YAML loader reads manifests as sigs.k8s.io/yaml (go-yaml v2) does,
and the fast path is taken only where it provably agrees."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubeward.sources import yamlparse
from kubeward.sources.yamlparse import (
    YamlError,
    load_document,
    load_faithful,
    needs_faithful,
    parse_documents,
    split_documents,
)

# value written in a manifest -> what kubectl sends to the API server
GO_YAML_V2 = [
    ("yes", True),
    ("Yes", True),
    ("YES", True),
    ("y", True),
    ("Y", True),
    ("on", True),
    ("On", True),
    ("ON", True),
    ("true", True),
    ("True", True),
    ("TRUE", True),
    ("no", False),
    ("n", False),
    ("N", False),
    ("off", False),
    ("OFF", False),
    ("false", False),
    ("False", False),
    ("yEs", "yEs"),  # not in go-yaml's table: a string
    ("0755", 493),
    ("0644", 420),
    ("-010", -8),
    ("0o17", 15),
    ("0x1F", 31),
    ("0X1f", 31),
    ("0b101", 5),
    ("1_000", 1000),
    ("08", 8.0),
    ("09.5", 9.5),
    ("42", 42),
    ("+42", 42),
    ("-0", 0),
    ("1e3", 1000.0),
    ("1.5", 1.5),
    (".5", 0.5),
    ("1.", 1.0),
    (".inf", math.inf),
    ("-.Inf", -math.inf),
    ("1:20", "1:20"),  # no base-60 in go-yaml
    ("2024-01-01", "2024-01-01"),
    ("2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00"),  # timestamps stay text
    ("~", None),
    ("null", None),
    ("Null", None),
    ("NULL", None),
    ("", None),
    ("nginx:1.2", "nginx:1.2"),
    ("0.0.0.0", "0.0.0.0"),
    ("1.2.3", "1.2.3"),
    ("12Mi", "12Mi"),
    ("9223372036854775807", 9223372036854775807),
    ("99999999999999999999", 1e20),
]


@pytest.mark.parametrize("text,expected", GO_YAML_V2)
def test_plain_scalars_read_as_go_yaml_v2(text, expected):
    value = load_document(f"v: {text}\n")["v"]
    if isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(value)
    else:
        assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("text", ['"yes"', "'0755'", '"2024-01-01"', "!!str 0755", "!!str yes"])
def test_quoted_or_tagged_scalars_stay_strings(text):
    assert isinstance(load_document(f"v: {text}\n")["v"], str)


def test_keys_become_json_strings():
    # "on" and "y" are both the boolean true; the later one wins
    assert load_document("on: 1\ny: 2\n3: x\nnull: z\n") == {"true": 2, "3": "x", "null": "z"}


def test_keys_become_json_strings_in_documents_without_yaml11_scalars():
    """YAML 1.2 reads these keys as numbers, booleans and null too: the guard must not let
    yaml-rs hand them over as such (they used to arrive as {1: ..., True: ...})."""
    text = "3: x\nnull: z\ntrue: t\nnested:\n  - {8080: http, ~: none}\n"
    assert needs_faithful(text)
    assert load_document(text) == {"3": "x", "null": "z", "true": "t", "nested": [{"8080": "http", "null": "none"}]}


def test_merge_keys_merge():
    doc = load_document("base: &b {cpu: 1, memory: 2}\nlimits:\n  <<: *b\n  cpu: 3\n")
    assert doc["limits"] == {"cpu": 3, "memory": 2}


def test_the_examples_privileged_yes_is_true():
    doc = load_document("securityContext:\n  privileged: yes\n  readOnlyRootFilesystem: off\n")
    assert doc["securityContext"] == {"privileged": True, "readOnlyRootFilesystem": False}


@pytest.mark.parametrize(
    "text",
    [
        "privileged: yes\n",
        "a:\n  - on\n",
        "- - off\n",
        "flow: [a, n, b]\n",
        "map: {x: Y}\n",
        "anchored: &a yes\n",
        "mode: 0644\n",
        "mode: -0755\n",
        "hex: 0X1F\n",
        "x: !!bool true\n",
        "a: &x 1\nb: *x\n",
        "<<: {a: 1}\n",
        "%YAML 1.1\n---\na: 1\n",
        "yes: 1\n",
        "? off\n: 1\n",
        '{"a":no}\n',
        "k: no   # comment\n",
    ],
)
def test_guard_sends_yaml11_documents_to_the_faithful_loader(text):
    assert needs_faithful(text)


@pytest.mark.parametrize(
    "text",
    [
        "a: true\nb: 1\nc: nginx:1.2\n",
        "command: ['echo', 'on']\n",
        'args: ["-n", "ns"]\n',
        "description: turn it on now\n",
        "ratio: 0.5\nport: 8080\n",
        "name: yesterday\nother: nothing\n",
    ],
)
def test_guard_lets_plain_yaml12_documents_take_the_fast_path(text):
    assert not needs_faithful(text)


# A property test: over documents built from the scalars where YAML 1.1 and 1.2
# disagree, whenever the guard lets a document through, the fast loader reads
# it exactly as the faithful one does.
TRICKY = [t for t, _ in GO_YAML_V2 if t not in ("", ".inf", "-.Inf")] + [
    "abc",
    "on-call",
    "no_proxy",
    "yes please",
    "0.5",
    "0",
    "-1",
    "1e-3",
    "on:",
    "#x",
    "- x",
]
SAFE_PLAIN = st.sampled_from(TRICKY)
KEYS = st.sampled_from(
    ["a", "b", "on", "y", "n", "name", "0755", "k8s", "1", "-2", "1.5", ".5", "true", "False", "null", "~", ".inf", "1e3", "2fa"]
)


def _emit(value, indent=0) -> str:
    pad = " " * indent
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                out.append(f"{pad}{k}:\n{_emit(v, indent + 2)}")
            else:
                out.append(f"{pad}{k}: {_scalar(v)}\n")
        return "".join(out) or f"{pad}{{}}\n"
    if isinstance(value, list):
        out = []
        for v in value:
            if isinstance(v, (dict, list)) and v:
                inner = _emit(v, indent + 2)
                out.append(f"{pad}-{inner[indent + 1 :]}")
            else:
                out.append(f"{pad}- {_scalar(v)}\n")
        return "".join(out)
    return f"{pad}{_scalar(value)}\n"


def _scalar(v) -> str:
    if isinstance(v, dict):
        return "{}"
    if isinstance(v, list):
        return "[]"
    return v if v not in ("on:", "#x", "- x") else f"'{v}'"


tree = st.recursive(
    SAFE_PLAIN,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(KEYS, tree, min_size=1, max_size=5))
def test_fast_path_agrees_with_faithful_loader(doc):
    text = _emit(doc)
    if yamlparse.yaml_rs is None or needs_faithful(text):
        return
    assert repr(yamlparse._load_fast(text)) == repr(load_faithful(text)), text  # repr: True is not 1


# ---- repair: documents with YAML 1.1 scalars, rewritten and read by yaml-rs -----------------------

needs_yaml_rs = pytest.mark.skipif(yamlparse.yaml_rs is None, reason="yaml-rs is not installed")
WORDS = ["yes", "No", "on", "OFF", "y", "n", "0644", "-0755", "0x1F", "0b101", "0o17", "08", "0_7", "yes please", "on-call"]


def _repaired(text):
    value = yamlparse._load_repaired(text)
    return None if value is yamlparse._NOT_REPAIRED else value


@needs_yaml_rs
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("privileged: yes\nmode: 0644\n", {"privileged": True, "mode": 420}),
        ("a: [on, off, 'yes', \"no\"]\nb: {c: n, d: 0x1F}\n", {"a": [True, False, "yes", "no"], "b": {"c": False, "d": 31}}),
        ("- y\n- - -0755 # octal\n", [True, [-493]]),
        ("k: no   # comment: yes\n", {"k": False}),
    ],
)
def test_yaml11_scalars_are_repaired_for_yaml_rs(text, expected):
    assert repr(_repaired(text)) == repr(expected) == repr(load_faithful(text))
    assert repr(load_document(text)) == repr(expected)


@needs_yaml_rs
@pytest.mark.parametrize(
    "text",
    [
        "a: yes\nb: |\n  enabled: no\n",  # the word inside a block scalar: rewriting it would change the string
        "a: yes\nb: >-\n  no\n",  # ... even where the string is the word alone
        'a: yes\nb: "one\n  no\n  two"\n',  # a multi-line quoted scalar
        "a: yes\nb: one\n  no\n",  # a multi-line plain scalar
        "yes: 1\n",  # a key: true: is a key YAML 1.2 makes no string of
        "a: &x yes\nb: *x\n",  # aliases
        "a: 08\n",  # go-yaml reads a float: not rewritten
        "a: 0" + "7" * 30 + "\n",  # beyond int64
    ],
)
def test_what_the_repair_cannot_prove_goes_to_the_faithful_loader(text):
    assert _repaired(text) is None
    assert repr(load_document(text)) == repr(load_faithful(text))


# how a word stands in a document: where it is a plain scalar, and where it is part of a string
STYLES = {
    "plain": "{w}",
    "quoted": '"x {w}"',
    "flow": "[{w}, a, {w}]",
    "map": "{{k: {w}}}",
    "block": "|\n  line: {w}\n  {w}",
    "folded": ">-\n  {w}",
    "multiquoted": '"x\n  {w}"',
    "multiplain": "x\n  {w}",
}

entries = st.tuples(st.sampled_from(WORDS + ["abc", "1", "true"]), st.sampled_from(list(STYLES)), st.sampled_from(["", " # c"]))


@needs_yaml_rs
@settings(max_examples=600, deadline=None)
@given(st.lists(entries, min_size=1, max_size=6), st.booleans())
def test_every_document_reads_as_the_faithful_loader_reads_it(items, in_a_list):
    """Whichever path a document takes (fast, repaired, faithful), the result is go-yaml's."""
    lines = []
    for i, (word, style, comment) in enumerate(items):
        value = STYLES[style].format(w=word)
        lines.append(f"k{i}: {value}{comment if style in ('plain', 'flow', 'map', 'quoted') else ''}")
    text = "\n".join(lines) + "\n"
    if in_a_list:
        text = "items:\n" + "".join(f"  - {line}\n" if i == 0 else f"    {line}\n" for i, line in enumerate(text.splitlines()))
        text = text.replace("\n  ", "\n      ").replace("\n      - ", "\n  - ").replace("\n      k", "\n    k")
    try:
        expected = repr(load_faithful(text))
    except Exception:  # noqa: BLE001 - an invalid document: it must be an error either way
        with pytest.raises(YamlError):
            load_document(text)
        return
    assert repr(load_document(text)) == expected, text


@needs_yaml_rs
def test_the_repair_reads_the_bench_corpus_as_the_faithful_loader(tmp_path):
    import sys

    from helpers import ROOT

    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import corpus
    finally:
        sys.path.remove(str(ROOT / "bench"))
    corpus.generate(tmp_path, 3000, seed=5)
    flagged = repaired = 0
    for file in sorted(tmp_path.glob("*.yaml")):
        for _, chunk in split_documents(file.read_text()):
            if needs_faithful(chunk):
                flagged += 1
                value = _repaired(chunk)
                repaired += value is not None
                assert repr(load_document(chunk)) == repr(load_faithful(chunk)), chunk
    assert flagged > 20 and repaired > flagged // 2  # the corpus's YAML 1.1 scalars are all plain


def test_documents_split_on_markers_with_their_first_line():
    text = "a: 1\n---\n# only a comment\n---\nb: 2\n--- \nc: 3\n...\n---\nd: 4\n"
    starts = [line for line, _ in split_documents(text)]
    assert starts == [1, 2, 4, 6, 9]
    docs = list(parse_documents(text))
    assert [(d.index, d.start_line, d.value) for d in docs] == [
        (0, 1, {"a": 1}),
        (2, 4, {"b": 2}),
        (3, 6, {"c": 3}),
        (4, 9, {"d": 4}),
    ]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["---", "--", "-", "\n", "\r", " ", "\t", "a", "...", "%YAML 1.1", "\n---\n"]), max_size=14))
def test_marker_lines_are_the_lines_a_multiline_regex_finds(parts):
    import re

    text = "".join(parts)
    expected = [m.start() for m in re.finditer(r"^---(?=[ \t\r\n]|$)", text, re.MULTILINE)]
    assert list(yamlparse._marker_lines(text)) == expected


def test_a_broken_document_costs_only_itself():
    docs = list(parse_documents("a: 1\n---\nb: [1, 2\n---\nc: 3\n"))
    assert [d.value for d in docs] == [{"a": 1}, None, {"c": 3}]
    assert docs[1].error.startswith("invalid YAML:") and "(line 4" in docs[1].error


def test_alias_bomb_is_refused_quickly():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = name
    with pytest.raises(YamlError, match="excessive aliasing"):
        load_document("\n".join(lines) + "\n")


def test_small_aliases_are_fine():
    assert load_document("a: &x [1, 2]\nb: *x\n") == {"a": [1, 2], "b": [1, 2]}


def test_oversized_document_is_reported_not_parsed(monkeypatch):
    monkeypatch.setattr(yamlparse, "MAX_DOCUMENT_BYTES", 1000)
    docs = list(parse_documents("a: 1\n---\nb: '" + "x" * 2000 + "'\n"))
    assert docs[0].value == {"a": 1}
    assert "larger than the API server accepts" in docs[1].error


def test_deep_nesting_is_an_error_not_a_crash():
    with pytest.raises(YamlError):
        load_document("a: " + "[" * 100000 + "]" * 100000 + "\n")
