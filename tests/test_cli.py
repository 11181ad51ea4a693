"""The command line: help, version, the check catalogue."""

from __future__ import annotations

import json
import subprocess
import sys

from helpers import run_cli
from kubeward import __version__
from kubeward.checks.registry import all_checks


def test_version():
    assert run_cli("version").stdout.strip() == f"kubeward {__version__}"
    assert run_cli("--version").stdout.strip() == f"kubeward {__version__}"


def test_help_does_not_import_heavy_modules():
    code = (
        "import sys\nfrom kubeward.cli.main import cli\n"
        "try:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = ('rich', 'yaml', 'yaml_rs', 'orjson', 'jsonschema')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m.startswith('kubeward.checks')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_checks_lists_the_catalogue():
    out = run_cli("checks").stdout
    for c in all_checks():
        assert c.id in out and c.slug in out
    rows = json.loads(run_cli("checks", "-f", "json").stdout)
    assert {r["id"] for r in rows} == {c.id for c in all_checks()}


def test_checks_explain_by_id_and_slug():
    by_id = run_cli("checks", "explain", "kw-p004").stdout
    assert by_id == run_cli("checks", "explain", "host-path-volume").stdout
    assert "Why:" in by_id and "Fix:" in by_id and "cis: 5.2.12" in by_id


def test_checks_explain_unknown_is_a_usage_error():
    res = run_cli("checks", "explain", "KW-Z999")
    assert res.exit_code == 2 and "no check is named 'KW-Z999'" in res.stderr


def test_console_scripts_are_installed():
    import importlib.metadata as md

    scripts = {ep.name: ep.value for ep in md.entry_points(group="console_scripts") if ep.value.startswith("kubeward")}
    assert scripts == {"kubeward": "kubeward.cli.main:main", "kubectl-kubeward": "kubeward.cli.main:main"}


def _entry_point(*args: str, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    """The installed console script's code path: kubeward.cli.main.main, which ends with os._exit."""
    return subprocess.run([sys.executable, "-m", "kubeward", *args], stdout=stdout, stderr=subprocess.PIPE, text=True)


def test_the_entry_point_flushes_everything_and_keeps_the_exit_status(tmp_path):
    from helpers import EXAMPLES

    scanned = _entry_point("scan", str(EXAMPLES / "insecure-app"), "-f", "json", "--no-config")
    assert scanned.returncode == 1  # findings
    report = json.loads(scanned.stdout)  # flushed to the last byte before the process ended
    assert report["summary"]["findings"] > 100
    written = _entry_point("scan", str(EXAMPLES / "insecure-app"), "-f", "sarif", "--no-config", "-o", str(tmp_path / "r.sarif"))
    assert written.returncode == 1 and json.loads((tmp_path / "r.sarif").read_text())["runs"]
    assert _entry_point("version").returncode == 0
    missing = _entry_point("scan", str(tmp_path / "missing.yaml"))
    assert missing.returncode == 2 and "kubeward: error:" in missing.stderr
    usage = _entry_point("scan", "--format", "nope")
    assert usage.returncode == 2 and "Invalid value" in usage.stderr


def test_the_entry_point_survives_a_closed_pipe():
    """`kubeward scan ... | head -1`: the reader goes away; no traceback, the status stays."""
    from helpers import EXAMPLES

    process = subprocess.Popen(
        [sys.executable, "-m", "kubeward", "scan", str(EXAMPLES / "insecure-app"), "--no-config", "-f", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.read(10)
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) in (1, 120) and "Traceback" not in stderr
