"""Line recovery: the indentation reader agrees with libyaml's composer."""

from __future__ import annotations

import glob

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import DATA, EXAMPLES, ROOT
from kubeward.sources.locate import TextIndex, compose, line_of_node
from kubeward.sources.yamlparse import load_document, split_documents


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
            yield (*prefix, k, "missing-field")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))
        yield (*prefix, len(value))


def assert_lines_agree(text: str) -> int:
    value = load_document(text)
    root = compose(text)
    index = TextIndex(text)
    count = 0
    for path in _paths(value):
        expected = line_of_node(root, path)
        got = index.line_of(path)
        assert got == expected, (path, got, expected, text)
        count += 1
    return count


def _corpus_documents():
    files = glob.glob(str(EXAMPLES / "**" / "*.yaml"), recursive=True) + glob.glob(str(DATA / "checks" / "*" / "*.yaml"))
    files += sorted(glob.glob(str(ROOT / "bench" / ".corpus" / "n1000" / "*.yaml")))[:40]
    for name in sorted(files):
        for _, chunk in split_documents(open(name).read()):
            if chunk.strip(" -\n") and not chunk.lstrip(" -\n").startswith(("{", "[")):
                yield chunk


def test_text_index_matches_composer_on_every_path_of_real_manifests():
    total = sum(assert_lines_agree(doc) for doc in _corpus_documents())
    assert total > 500


BLOCKY = [
    "a:\n  b:\n  - c: 1\n    d:\n    - x\n    - y\n  - e: 2\n",
    "containers:\n-\n  name: x\n  image: y\n- name: z\n",
    "spec:\n  template: &t\n    spec: {containers: [{name: a}]}\nother: 1\n",
    "script: |\n  name: fake\n  key: v\nname: real\n",
    "'quoted': 1\n\"dq\": {a: 1}\nplain: 2\n",
    "a: 1  # comment\n# full comment\nb:\n  # inside\n  c: 2\n",
    "list:\n  - - a\n    - b\n  - c\n",
    "dup: 1\ndup: 2\n",
]


@pytest.mark.parametrize("text", BLOCKY)
def test_text_index_on_tricky_layouts(text):
    assert_lines_agree(text)


keys = st.sampled_from(["name", "spec", "containers", "image", "a", "b", "securityContext", "x-y"])
trees = st.recursive(
    st.just("leaf"),
    lambda c: st.lists(c, min_size=1, max_size=3) | st.dictionaries(keys, c, min_size=1, max_size=4),
    max_leaves=20,
)


class _IndentedSequences(yaml.SafeDumper):
    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, trees, min_size=1, max_size=4), st.booleans(), st.integers(min_value=2, max_value=4))
def test_text_index_matches_composer_on_generated_block_yaml(tree, indented, indent):
    def fill(v):
        if isinstance(v, dict):
            return {k: fill(x) for k, x in v.items()}
        if isinstance(v, list):
            return [fill(x) for x in v]
        return 1

    # PyYAML writes kubectl's style (sequences level with their key) or, indented, helm's
    dumper = _IndentedSequences if indented else yaml.SafeDumper
    assert_lines_agree(yaml.dump(fill(tree), Dumper=dumper, default_flow_style=False, indent=indent, sort_keys=False))
