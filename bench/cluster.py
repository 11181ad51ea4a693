"""Time `kubeward cluster` end to end against a synthetic cluster served over HTTPS.

Usage:
    python bench/cluster.py [--resources 10000] [--chunk-size 500] [--concurrency 8] [--qps 50]

The objects come from bench/corpus.py (the same generator as the manifest benchmarks);
tests/apiserver.py serves them as paged lists behind aggregated discovery, with TLS and
token authentication, like the recorded-API tests. The command is run as a user would
(a subprocess, JSON report to a file) and timed from start to exit; the collection alone
is timed in-process as well.
"""

from __future__ import annotations

import argparse
import collections
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tests"), str(ROOT / "src")]

import corpus  # noqa: E402

from apiserver import ApiServer  # noqa: E402
from kubeward.sources.cluster import CollectOptions, collect  # noqa: E402
from kubeward.sources.files import load_paths  # noqa: E402

CLUSTER_SCOPED = {"Namespace", "Node", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass",
                  "PriorityClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "IngressClass",
                  "CustomResourceDefinition", "RuntimeClass"}  # fmt: skip


def plural(kind: str) -> str:
    lower = kind.lower()
    if lower.endswith("y"):
        return lower[:-1] + "ies"
    if lower.endswith(("s", "x")):
        return lower + "es"
    return lower + "s"


def synthetic_cluster(objects: list[dict]) -> tuple[dict[str, list[dict]], dict]:
    """List paths -> items, and the aggregated discovery documents for /api and /apis."""
    by_type: dict[tuple[str, str], list[dict]] = collections.defaultdict(list)
    for obj in objects:
        by_type[(obj["apiVersion"], obj["kind"])].append(obj)
    lists: dict[str, list[dict]] = {}
    groups: dict[str, dict[str, list[dict]]] = collections.defaultdict(lambda: collections.defaultdict(list))
    for (api_version, kind), items in sorted(by_type.items()):
        group, _, version = api_version.rpartition("/")
        resource = plural(kind)
        base = f"/apis/{group}/{version}" if group else f"/api/{version}"
        lists[f"{base}/{resource}"] = [{k: v for k, v in o.items() if k not in ("apiVersion", "kind")} for o in items]
        groups[group][version].append(
            {
                "resource": resource,
                "responseKind": {"group": "", "version": "", "kind": kind},
                "scope": "Cluster" if kind in CLUSTER_SCOPED else "Namespaced",
                "verbs": ["get", "list", "watch"],
            }
        )

    def document(names: list[str]) -> dict:
        return {
            "kind": "APIGroupDiscoveryList",
            "apiVersion": "apidiscovery.k8s.io/v2beta1",
            "items": [
                {"metadata": {"name": g}, "versions": [{"version": v, "resources": r} for v, r in groups[g].items()]}
                for g in names
            ],
        }

    discovery = {"/api": document([""] if "" in groups else []), "/apis": document(sorted(g for g in groups if g))}
    return lists, discovery


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--chunk-size", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--qps", type=float, default=50.0)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        corpus.generate(work / "corpus", args.resources, seed=1)
        objects = [r.obj for r in load_paths([str(work / "corpus")]).resources]
        lists, discovery = synthetic_cluster(objects)
        with ApiServer(work, synthetic=lists, discovery=discovery) as server:
            config = server.kubeconfig(work / "kubeconfig")
            options = CollectOptions(
                kubeconfig=str(config), chunk_size=args.chunk_size, concurrency=args.concurrency, qps=args.qps
            )
            start = time.perf_counter()
            collection = collect(options)
            collected = time.perf_counter() - start
            command = [
                sys.executable, "-m", "kubeward", "cluster", "--kubeconfig", str(config), "--no-config", "--fail-on", "none",
                "-f", "json", "-o", str(work / "report.json"), "--chunk-size", str(args.chunk_size),
                "--concurrency", str(args.concurrency), "--qps", str(args.qps), "--save", str(work / "snap.json.gz"),
            ]  # fmt: skip
            env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
            start = time.perf_counter()
            subprocess.run(command, check=True, env=env)
            total = time.perf_counter() - start
            start = time.perf_counter()
            rescan = [sys.executable, "-m", "kubeward", "scan", str(work / "snap.json.gz"), "--no-config", "--fail-on", "none",
                      "-f", "json", "-o", str(work / "rescan.json")]  # fmt: skip
            subprocess.run(rescan, check=True, env=env)
            offline = time.perf_counter() - start
        print(f"objects served:        {len(objects)} in {len(lists)} lists")
        count = len(collection.resources) - 1  # less the ClusterInfo
        print(f"collected:             {count} objects, {collection.requests} requests, {collected:.2f} s")
        print(f"kubeward cluster:      {total:.2f} s end to end (collect + scan + report + snapshot)")
        print(f"kubeward scan (snap):  {offline:.2f} s ({(work / 'snap.json.gz').stat().st_size / 1e6:.1f} MB gzip)")


if __name__ == "__main__":
    main()
