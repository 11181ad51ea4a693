"""Render Helm charts and Kustomize directories with the tools users already have.

We never re-implement Helm or Kustomize: ``helm template`` and ``kubectl
kustomize`` produce exactly what would be applied, and we scan that.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from ..model import InputError
from .files import LoadResult, add_document
from .yamlparse import parse_documents

RENDER_TIMEOUT_S = 300
# helm prefixes every rendered document with the template it came from
_HELM_SOURCE = re.compile(r"^# Source: (\S+)", re.MULTILINE)


def helm_chart(chart: Path, values: list[str] | None) -> LoadResult:
    helm = shutil.which("helm")
    name = str(chart)
    if helm is None:
        return LoadResult(
            errors=[InputError(name, "is a Helm chart, but no 'helm' binary is on PATH; install Helm 3 to scan charts")]
        )
    cmd = [helm, "template", "kubeward-scan", name]
    for value_file in values or []:
        cmd += ["--values", value_file]
    out = _run(cmd, name)
    if isinstance(out, LoadResult):
        return out
    return _parse_rendered(out, name, by_helm_source=chart.parent)


def kustomize(directory: Path) -> LoadResult:
    name = str(directory)
    kubectl = shutil.which("kubectl")
    tool = shutil.which("kustomize")
    if kubectl:
        cmd = [kubectl, "kustomize", name]
    elif tool:
        cmd = [tool, "build", name]
    else:
        return LoadResult(errors=[InputError(name, "is a Kustomize directory, but neither 'kubectl' nor 'kustomize' is on PATH")])
    out = _run(cmd, name)
    if isinstance(out, LoadResult):
        return out
    return _parse_rendered(out, name)


def _run(cmd: list[str], name: str) -> str | LoadResult:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RENDER_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return LoadResult(errors=[InputError(name, f"{Path(cmd[0]).name} did not finish within {RENDER_TIMEOUT_S}s")])
    except OSError as exc:
        return LoadResult(errors=[InputError(name, f"cannot run {cmd[0]}: {exc.strerror or exc}")])
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return LoadResult(errors=[InputError(name, f"{Path(cmd[0]).name} failed: {detail}")])
    return proc.stdout


def _parse_rendered(text: str, name: str, by_helm_source: Path | None = None) -> LoadResult:
    """Parse rendered output; with Helm, each document is named after its template."""
    result = LoadResult(files=1)
    for doc in parse_documents(text):
        origin = name
        if by_helm_source is not None:
            match = _HELM_SOURCE.search(doc.text)
            if match:
                origin = str(by_helm_source / match.group(1))
        if doc.error:
            result.errors.append(InputError(origin, f"rendered output: {doc.error}", doc.index))
        else:
            add_document(result, doc.value, origin, doc.index, doc.start_line, doc.text)
    for resource in result.resources:
        resource.rendered = True
    return result
