from __future__ import annotations

from pathlib import Path

import pytest

from helpers import SUMMARY


@pytest.fixture
def tmp_manifests(tmp_path):
    def write(name: str, text: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        return path

    return write


def pytest_terminal_summary(terminalreporter):
    """Lines tests want in the run's summary (e.g. the PSS conformance score)."""
    for line in SUMMARY:
        terminalreporter.write_line(line)
