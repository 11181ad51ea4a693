"""SelectorIndex answers exactly what testing every selector answers."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kubeward.selectors import SelectorIndex, selector_matches

_keys = st.sampled_from(["app", "tier", "team", 1])
_values = st.sampled_from(["web", "db", "", 1, True, 1.0, None]) | st.lists(st.sampled_from(["web", 1]), max_size=2)
_labels = st.dictionaries(_keys, _values, max_size=3) | st.none() | st.just(["app"])
_requirement = st.fixed_dictionaries(
    {"key": _keys, "operator": st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist", "Bad"])},
    optional={"values": st.lists(_values, max_size=2)},
)
_selectors = (
    st.fixed_dictionaries(
        {},
        optional={
            "matchLabels": st.dictionaries(_keys, _values, max_size=2) | st.just("x") | st.none(),
            "matchExpressions": st.lists(_requirement, max_size=2) | st.just({}),
        },
    )
    | st.none()
    | st.just("app=web")
)


@settings(max_examples=500)
@given(st.lists(_selectors, max_size=6), st.lists(_labels, min_size=1, max_size=4))
def test_index_answers_as_every_selector(selectors, objects):
    index = SelectorIndex(selectors)
    for labels in objects:
        assert index.selects(labels) == any(selector_matches(s, labels) for s in selectors)


def test_index_files_selectors_under_a_required_label():
    web = {"matchLabels": {"app": "web", "tier": "front"}}
    index = SelectorIndex([web, {}, {"matchLabels": {"app": ["unhashable"]}}])
    assert index.by_label == {("app", "web"): [web]}
    assert len(index.others) == 2  # the empty selector selects everything; the other cannot be filed
    assert index.selects({"app": "db"})  # through {}
    assert not SelectorIndex([web]).selects({"app": "db", "tier": "front"})
    assert SelectorIndex([web]).selects({"tier": "front", "app": "web"})
