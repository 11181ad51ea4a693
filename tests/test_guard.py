"""The C guard (kubeward.sources._guard) answers exactly as the regexes it ports, for every str."""

from __future__ import annotations

import glob
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import DATA, ROOT, SHARED
from kubeward.sources import yamlparse
from kubeward.sources.yamlparse import _needs_faithful_regex, needs_faithful, split_documents

_guard = yamlparse._guard
needs_c = pytest.mark.skipif(_guard is None, reason="kubeward.sources._guard is not built")
INVENTORY = SHARED / "recordings" / "k8s-1.28-api" / "inventory"


def test_the_extension_is_built_where_ci_runs():
    if _guard is None:
        if os.environ.get("CI"):  # CI must exercise the C path, never pass by falling back
            pytest.fail("kubeward.sources._guard did not import: was the extension built?")
        pytest.skip("kubeward.sources._guard is not built")
    assert yamlparse._guard.needs_faithful("a: yes\n") is True


def same(text: str) -> bool:
    """Assert the C guard, the module's needs_faithful and the regexes agree; returns the answer."""
    expected = _needs_faithful_regex(text)
    assert _guard.needs_faithful(text) is expected, text
    assert needs_faithful(text) is expected, text
    return expected


# ---- (a) random texts from fragments ------------------------------------------------------------

# Every alternative of _UNSAFE_TOKEN and its neighbours, every character of _END, of the classes
# before a token and after "*"/"!", line ends Python's "$" does not take, and non-ASCII characters.
FRAGMENTS = [
    "yes", "Yes", "YES", "yES", "yeS", "y", "Y", "n", "N", "no", "No", "NO", "nO", "on", "On", "ON", "oN", "off", "Off",
    "OFF", "oFF", "o", "O", "e", "s", "f", "true", "name",
    "0", "00", "0755", "0x1F", "0X", "0b101", "0B", "0o17", "0O", "0x", "0xg", "1", "9", "a", "F", "_", "__", "0_",
    "1" * 18, "1" * 19, "0" * 19, "9" * 25, "1_" * 10, "_" * 19, "0.5", "1e3", "+", "-", "+0", "-0", "--", "+-",
    "*", "*alias", "!", "!tag", "!!str", "&a", "%", "%YAML", "<", "<<", "<<<",
    ":", ": ", ":\t", "::", ",", "[", "]", "{", "}", "#", " #", "?", "|", ">", ".", "...", "---",
    " ", "  ", "\t", "\r", "\n", "\r\n", "\n\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\x00",
    "'", '"', "é", "ß", "日本", "ключ", "\xa0", "\u3000", "😀", "\U0001f600yes",
    # keys a YAML 1.2 reader makes no string of
    "~", "null", "Null", "NULL", "nul", "nulls", "True", "TRUE", "tRUE", "false", "False", "FALSE", "fals", "t", "T",
    ".inf", ".Inf", ".INF", ".iNF", "-.inf", "+.Inf", ".nan", ".NaN", ".NAN", "-.nan", ".5", "-.5", "+.", "1.5", "1e3",
    "12:30", "2fa", "8080:80",
]
texts = st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join)


@needs_c
@settings(max_examples=6000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_same_answer_on_texts_from_fragments(text):
    same(text)


# the same fragments as YAML lines: keys, values, list items and flow collections around them
lines = st.tuples(
    st.sampled_from(["", "  ", "- ", "  - ", "key: ", "? ", "[", "{a: ", "a: [", "a: {b: "]),
    st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=4).map("".join),
    st.sampled_from(["", " ", ":", ": x", ",", "]", "}", " # c", "\r", "  \r", ", b]"]),
).map("".join)


@needs_c
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(lines, min_size=1, max_size=8), st.sampled_from(["\n", "\r\n"]))
def test_same_answer_on_yaml_like_lines(parts, newline):
    same(newline.join(parts))


@needs_c
@settings(max_examples=1500, deadline=None)
@given(st.text(max_size=60))
def test_same_answer_on_any_text(text):
    same(text)


# ---- (b) real manifests ---------------------------------------------------------------------------


def _compare_all(files) -> tuple[int, int]:
    """(documents, documents needing the faithful loader)"""
    docs = unsafe = 0
    for name in sorted(files):
        for _, chunk in split_documents(Path(name).read_text()):
            unsafe += same(chunk)
            docs += 1
    return docs, unsafe


@needs_c
def test_same_answer_on_test_data():
    files = glob.glob(str(DATA / "**" / "*.yaml"), recursive=True) + glob.glob(str(DATA / "**" / "*.yml"), recursive=True)
    docs, unsafe = _compare_all(files)
    assert docs > 500 and 0 < unsafe < docs


@needs_c
@pytest.mark.skipif(not INVENTORY.is_dir(), reason=f"{INVENTORY} is not present")
def test_same_answer_on_the_recorded_inventory():
    docs, unsafe = _compare_all(glob.glob(str(INVENTORY / "*.yaml")))
    assert docs > 600 and 0 < unsafe < docs


@needs_c
def test_same_answer_on_the_bench_corpus(tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import corpus
    finally:
        sys.path.remove(str(ROOT / "bench"))
    corpus.generate(tmp_path, 1500, seed=11)
    docs, unsafe = _compare_all(glob.glob(str(tmp_path / "*.yaml")))
    assert docs == 1500 and 0 < unsafe < docs


# ---- (c) edges ------------------------------------------------------------------------------------

EDGES = [
    # empty, blank, and tokens at the very start (matched by _UNSAFE_AT_START only)
    ("", False), ("\n", False), (" ", False), ("y", True), ("yes", True), ("on", True), ("o", False), ("0", False),
    ("00", True), ("0x", False), ("0x1", True), ("-0b1", True), ("+0o7", True), ("*a", True), ("*", False), ("!t", True),
    ("%", True), ("<<", True), ("<", False), ("_" * 19, True), ("_" * 18, False), ("+" + "_" * 19, True),
    (" " + "_" * 19, False),  # "_" is not in _UNSAFE's lookahead: a run starting with it counts at the start only
    ("-" + "1" * 19, True), ("-" + "1" * 18, False), ("1" * 19 + "x", False), ("1" * 19 + ".5", False),
    # at the very end, with and without a line end
    ("a: yes", True), ("a: yes\n", True), ("a: yes\r", True), ("a: yes\r\n", True), ("a: yes \t", True),
    ("a: yes \t\r", True), ("a: yes\r\r", False), ("a: yes\r ", False), ("a: yes\n\r", True), ("a: yesx", False),
    ("a: yes:", True), ("a: yes:x", False), ("a: yes: ", True), ("a: yes:\r", True), ("a: yes:\r\n", True),
    ("a: yes:\rx", False), ("a: yes #", True), ("a: yes#", True), ("[yes]", True), ("{a: no}", True), ("[n,y]", True),
    ("a: *", False), ("a: !", False), ("a: *\n", False), ("a: *é", True), ("a: !日本", True), ("a: *\xa0", True),
    ("a: *'", False), ('a: *"', False), ("a: *{", False), ("a: *,", False), ("a: %", True), ("a <", False),
    # after "\r" (not a token's left neighbour) and Unicode line breaks ("$" is "\n" only)
    ("a:\ryes", False), ("\ryes", False), ("a:\r\nyes", True), ("a: yes\x85", False), ("a: yes\u2028", False),
    ("a: yes\x0b", False), ("a: yes\x0c", False), ("\x0byes", False),
    # other left neighbours
    ("a:yes", True), ("a,yes", True), ("\tyes", True), ("a[no", True), ("a{no", True), ("a]no", False), ("a}no", False),
    ("a#no", False), ("a-no", False), ("éno", False), ("é no", True), ("😀 no", True), ("a: 0755", True),
    ("a: 0755x", False), ("a: 0x1F_", True), ("a: 0xz", False), ("a: 0b", False), ("a: 08", True), ("a: -0755", True),
    ("a: +-0", False), ("a: --0", False), ("a: 0.5", False), ("a: 1_000", False), ("a: 1\x00", False),
    ("a: y\x00", False), ("a: \x00yes", False), ("a: yes\x00", False), ("a: yes ,", True), ("a: yes ]", True),
    # keys YAML 1.2 reads as numbers, booleans or null (sigs.k8s.io/yaml makes JSON strings of them)
    ("1: a", True), ("a:\n  1: x", True), ("- 80: x", True), ("{1: a}", True), ("[a, 1: b]", True), ("1 : a", True),
    ("1\t:\ta", True), ("1:", True), ("1:\r\n", True), ("1:x", False), ("1 2: a", True), ("1,2: a", True),
    ("a: [1, 2]", False), ("cpu: 500m", False), ("x: 8080:80", False), ("x: 1.5", False), ("-1: a", True),
    ("+.5: a", True), ("-.: a", False), (".5e3: a", True), ("2fa: a", True), ("1#x: a", False), ("1 #x: a", False),
    ("true: a", True), ("a: true", False), ("True : a", True), ("tRUE: a", False), ("trueish: a", False),
    ("FALSE: a", True), ("null: a", True), ("nullable: a", False), ("~: a", True), ("~x: a", False), ("a: ~", False),
    (".inf: a", True), ("-.Inf: a", True), (".nan: a", True), ("-.nan: a", False), (".dockerconfigjson: a", False),
    ("? a\n: b", True), ("?x: a", False), ("a: b : c", True), ("a:: b", True), ("a: ::", True),
]


@needs_c
@pytest.mark.parametrize(("text", "expected"), EDGES)
def test_edges(text, expected):
    assert same(text) is expected


# every ASCII character and some others, in each place the regexes look at a character
CHARS = [chr(c) for c in range(128)] + ["\x80", "\x85", "\xa0", "é", "\u2028", "\u3000", "日", "\U0001f600", "\U0010ffff"]


@needs_c
@pytest.mark.parametrize("char", CHARS, ids=lambda c: f"U+{ord(c):04X}")
def test_every_character_in_every_place(char):
    w = char
    for text in [f"{w}yes", f"a{w}yes", f"yes{w}", f"a: yes{w}", f"a: yes{w}\n", f"a: yes:{w}", f"a: yes {w}",
                 f"1{w}: a", f"1{w}", f"1:{w}", f"{w}1: a", f".{w}5: a", f"true{w}: a", f"?{w}", f" :{w}",
                 f"a: 0{w}", f"a: 0x{w}", f"a: 0{w}1", f"*{w}", f"a: !{w}", f"a: *{w}x", f"a: {w}0755", f"{w}",
                 f"{w}<", f"<{w}", f"a: {'1' * 19}{w}", f"a: yes\r{w}", f"a:{w}\ryes"]:
        same(text)


@needs_c
def test_a_large_text():
    body = "".join(f"  key{i}: value-{i} # {'x' * (i % 50)}\n" for i in range(40_000))  # > 1 MB, nothing unsafe
    assert same(body) is False
    assert same(body + "  last: no") is True  # at the very end, without newline
    assert same(body[:-1] + "0") is False
    assert same("no\n" + body) is True
    assert same(body.replace("key20000: value-20000", "key20000: 0644")) is True


@needs_c
def test_lone_surrogates_fall_back_to_the_regex():
    for text, expected in [("a: \ud800 yes", True), ("a: \udcff", False), ("\ud800", False), ("*\ud800", True),
                           ("a: b\ud83d\n", False)]:
        with pytest.raises(UnicodeEncodeError):
            _guard.needs_faithful(text)
        assert needs_faithful(text) is _needs_faithful_regex(text) is expected


@needs_c
@pytest.mark.parametrize("value", [b"a: yes", None, 1, ["a: yes"]])
def test_non_str_raises_type_error_as_the_regex_does(value):
    with pytest.raises(TypeError):
        _guard.needs_faithful(value)
    with pytest.raises(TypeError):
        _needs_faithful_regex(value)
    with pytest.raises(TypeError):
        needs_faithful(value)


@needs_c
def test_the_loader_takes_the_c_path(monkeypatch):
    seen = []

    def spy(text):
        seen.append(text)
        return _guard.needs_faithful(text)

    monkeypatch.setattr(yamlparse, "_guard", SimpleNamespace(needs_faithful=spy))
    assert yamlparse.load_document("a: yes\n") == {"a": True}
    assert yamlparse.load_document("a: 1\n") == {"a": 1}
    assert seen == ["a: yes\n", "a: true\n", "a: 1\n"]  # the repaired text is guarded too


def test_without_the_extension_the_regex_decides(monkeypatch):
    monkeypatch.setattr(yamlparse, "_guard", None)
    assert needs_faithful("a: yes\n") is True
    assert needs_faithful("a: yesterday\n") is False
    assert yamlparse.load_document("mode: 0644\n") == {"mode": 420}
