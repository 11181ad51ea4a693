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
