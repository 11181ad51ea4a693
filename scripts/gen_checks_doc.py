#!/usr/bin/env python3
"""Regenerate docs/checks.md from the checks' metadata (a test fails when it is stale)."""

from pathlib import Path

from kubeward.cli.checks import markdown_catalogue

TARGET = Path(__file__).resolve().parents[1] / "docs" / "checks.md"

if __name__ == "__main__":
    TARGET.write_text(markdown_catalogue(), encoding="utf-8")
    print(f"wrote {TARGET}")
