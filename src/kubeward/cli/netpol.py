"""`kubeward netpol`: who can reach whom under the NetworkPolicies of the inputs."""

from __future__ import annotations

import sys
from collections import defaultdict
from typing import Any

import click
import orjson

from ..analysis.netpol import ANY, EGRESS, INGRESS, External, Network, PortSet, Side, Verdict, Workload

EXIT_OK, EXIT_BLOCKED, EXIT_ERROR = 0, 1, 2
WILDCARD_NOTE = "* = any pod not isolated in that direction (no NetworkPolicy selects it for it), in the inputs or not"


def _load(paths, max_file_size) -> tuple[Network | None, bool]:
    from ..inventory import Inventory
    from ..sources.files import load_paths

    loaded = load_paths(list(paths) or ["."], max_file_bytes=max_file_size * 1024 * 1024)
    for error in loaded.errors:
        click.echo(f"kubeward: error: {error}", err=True)
    net = Network.from_inventory(Inventory(loaded.resources))
    for policy in net.policies:
        for path, message in policy.problems:
            where = ".".join(str(p) for p in path)
            click.echo(f"kubeward: warning: NetworkPolicy {policy} is invalid and ignored: {where}: {message}", err=True)
    return net, bool(loaded.errors)


def _port(text: str | None) -> int | str | None:
    if text is None:
        return None
    return int(text) if text.isdigit() else text


# ---------------------------------------------------------------- matrix


def _node_id(node: Any) -> str:
    return node if node == ANY else node.key


def _expanded_edges(net: Network) -> list[tuple[Any, Any, PortSet]]:
    """Edges between workloads (classes expanded to their members), externals and *."""
    matrix = net.matrix()
    out = []
    for s, d, ports in matrix.edges():
        sources = matrix.members[s] if isinstance(s, int) else [s]
        targets = matrix.members[d] if isinstance(d, int) else [d]
        out += [(a, b, ports) for a in sources for b in targets]
    out.sort(key=lambda e: (_node_id(e[0]) != ANY, _node_id(e[0]), _node_id(e[1]) != ANY, _node_id(e[1])))
    return out


def _allows(dst: Any, ports: PortSet, port: int | str | None, protocol: str) -> bool:
    if port is None:
        return True
    if isinstance(port, str):  # a name: resolved on the destination pod
        numbers = dst.named.get((port, protocol), ()) if isinstance(dst, Workload) else ()
        return any(ports.contains(n, protocol) for n in numbers)
    return ports.contains(port, protocol)


def _policies(net: Network, workload: Workload, direction: str) -> list[str]:
    return [p.name for p in net.selecting(workload, direction)]


def run_matrix(*, paths, fmt, port, protocol, max_file_size) -> int:
    net, failed = _load(paths, max_file_size)
    assert net is not None
    wanted = _port(port)
    edges = _expanded_edges(net)
    if wanted is not None:
        edges = [(a, b, p) for a, b, p in edges if _allows(b, p, wanted, protocol)]
    if fmt == "json":
        sys.stdout.write(_matrix_json(net, edges))
    elif fmt == "dot":
        sys.stdout.write(_matrix_dot(net, edges))
    else:
        sys.stdout.write(_matrix_table(net, edges, wanted, protocol))
    return EXIT_ERROR if failed else EXIT_OK


def _isolation(net: Network, workload: Workload, direction: str) -> str:
    names = _policies(net, workload, direction)
    return f"isolated by {', '.join(names)}" if names else "open"


def _matrix_table(net: Network, edges, port, protocol) -> str:
    out = ["Workloads"]
    width = max((len(w.key) for w in net.workloads), default=0)
    for w in sorted(net.workloads, key=lambda w: w.key):
        out.append(
            f"  {w.key:<{width}}  {w.kind:<12} ingress: {_isolation(net, w, INGRESS)}; egress: {_isolation(net, w, EGRESS)}"
        )
    if not net.workloads:
        out.append("  (none)")
    title = "Reachability" + (f" on {protocol}/{port}" if port is not None else "")
    out += ["", f"{title}  ({WILDCARD_NOTE})"]
    rows = [(_node_id(a), _node_id(b), str(p)) for a, b, p in edges]
    if rows:
        w1 = max(len("FROM"), *(len(r[0]) for r in rows))
        w2 = max(len("TO"), *(len(r[1]) for r in rows))
        out.append(f"  {'FROM':<{w1}}  {'TO':<{w2}}  PORTS")
        out += [f"  {a:<{w1}}  {b:<{w2}}  {p}" for a, b, p in rows]
    else:
        out.append("  (no connection is allowed)")
    out.append("")
    out.append(f"{len(net.workloads)} workloads, {len(net.policies)} NetworkPolicies, {len(edges)} allowed connections")
    return "\n".join(out) + "\n"


def _matrix_json(net: Network, edges) -> str:
    nodes: list[dict[str, Any]] = [
        {
            "id": w.key,
            "type": "workload",
            "kind": w.kind,
            "namespace": w.namespace,
            "name": w.name,
            "ingressPolicies": _policies(net, w, INGRESS),
            "egressPolicies": _policies(net, w, EGRESS),
            "ingressIsolated": net.isolated(w, INGRESS),
            "egressIsolated": net.isolated(w, EGRESS),
        }
        for w in sorted(net.workloads, key=lambda w: w.key)
    ]
    nodes += [{"id": e.key, "type": "external"} for e in net.externals()]
    nodes.append({"id": ANY, "type": "wildcard", "description": WILDCARD_NOTE})
    doc = {
        "schemaVersion": 1,
        "nodes": nodes,
        "edges": [{"from": _node_id(a), "to": _node_id(b), "ports": p.items()} for a, b, p in edges],
        "invalidPolicies": [
            {"policy": str(p), "problems": [{"path": ".".join(map(str, path)), "message": m} for path, m in p.problems]}
            for p in net.policies
            if p.problems
        ],
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _matrix_dot(net: Network, edges) -> str:
    out = ["digraph netpol {", "  rankdir=LR;", "  node [shape=box, style=rounded];"]
    by_ns: dict[str, list[Workload]] = defaultdict(list)
    for w in net.workloads:
        by_ns[w.namespace].append(w)
    for i, (namespace, workloads) in enumerate(sorted(by_ns.items())):
        out.append(f"  subgraph cluster_{i} {{")
        out.append(f"    label={_quote(namespace or '(no namespace)')};")
        for w in sorted(workloads, key=lambda w: w.key):
            out.append(f"    {_quote(w.key)} [label={_quote(f'{w.kind}/{w.name}')}];")
        out.append("  }")
    for ext in net.externals():
        out.append(f"  {_quote(ext.key)} [shape=note];")
    out.append(f"  {_quote(ANY)} [shape=ellipse, style=dashed, tooltip={_quote(WILDCARD_NOTE)}];")
    for a, b, ports in edges:
        out.append(f"  {_quote(_node_id(a))} -> {_quote(_node_id(b))} [label={_quote(str(ports))}];")
    out.append("}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- explain


def run_explain(*, src, dst, paths, port, protocol, fmt, max_file_size) -> int:
    net, failed = _load(paths, max_file_size)
    assert net is not None
    try:
        source, target = net.find(src), net.find(dst)
    except LookupError as exc:
        click.echo(f"kubeward: error: {exc}", err=True)
        return EXIT_ERROR
    if isinstance(source, External) and isinstance(target, External):
        click.echo("kubeward: error: one end of the connection must be a workload", err=True)
        return EXIT_ERROR
    verdict = net.allowed(source, target, _port(port), protocol)
    if fmt == "json":
        sys.stdout.write(_explain_json(verdict))
    else:
        sys.stdout.write(_explain_text(verdict))
    if failed:
        return EXIT_ERROR
    return EXIT_OK if verdict.allowed else EXIT_BLOCKED


def _query(verdict: Verdict) -> str:
    if verdict.port is None:
        return "any port"
    text = f"{verdict.protocol}/{verdict.port}"
    if isinstance(verdict.port, str):
        text += (
            f" (= {verdict.port_number})" if verdict.port_number is not None else f" (no {verdict.protocol} port of that name)"
        )
    return text


def _side_lines(verdict: Verdict, side: Side) -> list[str]:
    what = "egress of" if side.direction == EGRESS else "ingress to"
    head = f"{what} {side.endpoint}:"
    if not side.governed:
        return [f"{head} not governed by NetworkPolicies (an address outside the inputs' pods): allowed"]
    if not side.isolated:
        return [f"{head} not isolated: no NetworkPolicy selects it for {side.direction}: every connection allowed"]
    lines = [f"{head} isolated by {', '.join(p.name for p in side.isolating)}"]
    grants = [g for g in side.grants if g.ports and (verdict.port is None or _grant_covers(verdict, g.ports))]
    for grant in grants:
        lines.append(f"  allowed by {grant.policy.name} {grant.rule}: {grant.ports}")
    if not grants:
        peer = verdict.dst if side.direction == EGRESS else verdict.src
        lines.append(f"  BLOCKED: no {side.direction.lower()} rule of these policies matches {peer} on {_query(verdict)}")
        near = [g for g in side.grants if g.ports]
        for grant in near:  # the peer matches, other ports
            lines.append(f"  ({grant.policy.name} {grant.rule} allows only {grant.ports})")
    return lines


def _grant_covers(verdict: Verdict, ports: PortSet) -> bool:
    return verdict.port_number is not None and ports.contains(verdict.port_number, verdict.protocol)


def _explain_text(verdict: Verdict) -> str:
    outcome = "ALLOWED" if verdict.allowed else "BLOCKED"
    if verdict.port is None and verdict.allowed:
        outcome += f" on {verdict.ports}"
    lines = [f"{verdict.src} -> {verdict.dst} on {_query(verdict)}: {outcome}"]
    lines += _side_lines(verdict, verdict.egress)
    lines += _side_lines(verdict, verdict.ingress)
    if isinstance(verdict.src, Workload) and verdict.src is verdict.dst:
        lines.append("note: this is traffic between replicas; a pod can always reach itself")
    return "\n".join(lines) + "\n"


def _side_json(verdict: Verdict, side: Side) -> dict[str, Any]:
    return {
        "governed": side.governed,
        "isolated": side.isolated,
        "policies": [p.name for p in side.isolating],
        "allowedPorts": side.ports.items(),
        "allows": verdict.side_allows(side),
        "grants": [{"policy": g.policy.name, "rule": str(g.rule), "ports": g.ports.items()} for g in side.grants],
    }


def _explain_json(verdict: Verdict) -> str:
    doc = {
        "schemaVersion": 1,
        "from": verdict.src.key,
        "to": verdict.dst.key,
        "port": verdict.port,
        "protocol": verdict.protocol,
        "allowed": verdict.allowed,
        "allowedPorts": verdict.ports.items(),
        "egress": _side_json(verdict, verdict.egress),
        "ingress": _side_json(verdict, verdict.ingress),
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n"
