"""Shared test helpers (importable as `helpers`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner

from kubeward.cli.main import cli
from kubeward.config import Config
from kubeward.engine import scan, select_checks
from kubeward.inventory import Inventory
from kubeward.sources.files import load_bytes

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KUBEWARD_SHARED", ROOT.parent / "shared"))
SUMMARY: list[str] = []  # printed at the end of the test run
DATA = Path(__file__).resolve().parent / "data"
EXAMPLES = ROOT / "examples"


def scan_text(text: str, *, name: str = "test.yaml", config: Config | None = None, only=()):
    """Load YAML text and scan it; returns (ScanResult, LoadResult)."""
    loaded = load_bytes(text.encode(), name)
    config = config or Config()
    result = scan(Inventory(loaded.resources), select_checks(config, only), config)
    return result, loaded


def run_cli(*args: str, input: str | bytes | None = None):
    runner = CliRunner()
    return runner.invoke(cli, list(args), input=input, catch_exceptions=False)


def run_json(*args: str, input=None) -> tuple[int, dict]:
    res = run_cli(*args, "-f", "json", input=input)
    return res.exit_code, json.loads(res.stdout)
