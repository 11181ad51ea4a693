"""Every upstream Pod Security Admission fixture, every level and version.

The fixtures (../shared/conformance/pss, copied from k8s.io/pod-security-admission)
are read at test time. For each of the 4,537 pods: `allowed` means no violation
at that level and version; `denied` means a violation by the effective check
whose message contains upstream's expected substring.
"""

from __future__ import annotations

import json
import os
from collections import Counter

import pytest
import yaml

from helpers import SHARED, SUMMARY
from kubeward.checks import pss
from kubeward.inventory import pod_spec_of
from kubeward.model import Resource

CONFORMANCE = SHARED / "conformance" / "pss"
if not CONFORMANCE.is_dir():
    if os.environ.get("CI"):  # in CI the fixtures must be there: never pass by skipping
        raise RuntimeError(f"PSS conformance fixtures not found at {CONFORMANCE} (set KUBEWARD_SHARED)")
    pytestmark = pytest.mark.skip(reason=f"{CONFORMANCE} is not present (set KUBEWARD_SHARED)")


def _expected() -> list[dict]:
    return json.loads((CONFORMANCE / "expected.json").read_text())


def _evaluate(entry: dict) -> list[pss.PssResult]:
    obj = yaml.load((CONFORMANCE / "testdata" / entry["file"]).read_text(), Loader=yaml.CSafeLoader)
    pod = pod_spec_of(Resource(obj, entry["file"]))
    return pss.evaluate(pod, entry["level"], pss.parse_version(entry["version"]))


def test_every_upstream_fixture_agrees():
    entries = _expected()
    assert len(entries) == 4537
    disagreements = []
    outcome = Counter()
    for entry in entries:
        results = _evaluate(entry)
        if entry["expected"] == "allowed":
            ok = not results
        else:
            messages = [r.verdict.message for r in results if r.check_id == entry["effective_check_id"]]
            ok = bool(messages) and any(entry["expect_error_substring"] in m for m in messages)
        outcome[entry["expected"], ok] += 1
        if not ok:
            disagreements.append(f"{entry['file']} ({entry['level']} {entry['version']}): {[r.verdict.message for r in results]}")
    agreed = sum(n for (_, ok), n in outcome.items() if ok)
    SUMMARY.append(f"PSS conformance: {agreed}/{len(entries)} upstream fixtures agree ({100 * agreed / len(entries):.1f} %)")
    assert not disagreements, "\n".join(disagreements[:20])


def test_fixture_checks_match_the_upstream_check_list():
    upstream = json.loads((CONFORMANCE / "checks.json").read_text())
    assert {c["id"] for c in upstream} == set(pss.BY_ID)
    for c in upstream:
        ours = pss.BY_ID[c["id"]]
        assert ours.level == c["level"]
        assert [pss.format_version(i.min_version) for i in ours.impls] == [v["min_version"] for v in c["versions"]]
        assert [list(i.overrides) for i in ours.impls] == [v["overrides"] for v in c["versions"]]


def test_latest_and_future_versions_evaluate_as_the_newest():
    assert pss.parse_version("latest") == pss.LATEST == pss.parse_version("v1.99")
    with pytest.raises(ValueError):
        pss.parse_version("1.25")


def test_admission_message_reads_like_the_api_server():
    entry = {"file": "restricted/v1.37/fail/sysctls0.yaml", "level": "restricted", "version": "v1.37"}
    message = pss.admission_message("restricted", "latest", _evaluate(entry))
    assert message == 'violates PodSecurity "restricted:latest": forbidden sysctls (othersysctl)'
