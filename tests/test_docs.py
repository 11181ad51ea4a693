"""Docs that are generated must be current."""

from __future__ import annotations

from helpers import ROOT
from kubeward.checks.registry import all_checks
from kubeward.cli.checks import markdown_catalogue


def test_checks_md_is_generated_and_current():
    current = (ROOT / "docs" / "checks.md").read_text(encoding="utf-8")
    assert current == markdown_catalogue(), "docs/checks.md is stale: run scripts/gen_checks_doc.py"


def test_every_check_is_documented_with_rationale_and_fix():
    for c in all_checks():
        assert c.rationale and c.remediation and c.title, c.id


def test_every_check_carries_references_and_an_example():
    for c in all_checks():
        assert "mitre" in c.refs and ({"cis", "nsa"} & set(c.refs)), c.id
        assert c.example, c.id
        if c.id.startswith("KW-P"):
            assert "pss" in c.refs, c.id


def test_nsa_references_use_the_documented_sections():
    sections = {
        "pod-security/non-root", "pod-security/immutable-filesystem", "pod-security/secure-images",
        "pod-security/enforcement", "pod-security/service-account-tokens", "pod-security/hardening",
        "network/namespaces", "network/network-policies", "network/resource-policies", "network/control-plane",
        "network/secrets", "authn-authz", "audit-logging", "upgrading",
    }  # fmt: skip
    for c in all_checks():
        if "nsa" in c.refs:
            assert c.refs["nsa"] in sections, (c.id, c.refs["nsa"])


def test_at_least_eighty_checks_beyond_pod_security():
    assert sum(1 for c in all_checks() if not c.id.startswith("KW-P")) >= 80
