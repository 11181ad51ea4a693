"""NetworkPolicy semantics: who can reach whom.

A pure model of the networking.k8s.io/v1 NetworkPolicy API as the Kubernetes
documentation defines it (concepts page "Network Policies" and the API reference
of NetworkPolicySpec / NetworkPolicyPeer / NetworkPolicyPort):

- A pod is *isolated* for a direction once any policy of its namespace selects it
  (``spec.podSelector``) with that direction in ``policyTypes``; an isolated pod
  accepts (sends) only what some rule of those policies allows: policies are
  OR-ed, never subtracted. A pod no policy selects for a direction is open.
- ``policyTypes`` absent (or empty) defaults to ``[Ingress]`` plus ``Egress``
  when the policy has at least one egress rule.
- ``ingress``/``egress`` absent or ``[]``: no rule, nothing allowed; ``[{}]``: one
  rule that allows everything.
- In a rule, ``from``/``to`` absent or ``[]`` matches every peer and ``ports``
  absent or ``[]`` every port; both must match (AND); peers and ports are OR-ed.
- A peer with ``podSelector`` only selects pods of the policy's namespace; with
  ``namespaceSelector`` only, every pod of the selected namespaces; with both (one
  peer) the pods matching podSelector in those namespaces (AND). Namespaces are
  matched by their labels, always including ``kubernetes.io/metadata.name``.
- ``ipBlock`` selects addresses in ``cidr`` minus ``except``. Pod IPs are not
  known from manifests (and the docs say ipBlock is meant for cluster-external
  addresses), so an ipBlock never matches a workload here; it matches the
  external CIDR endpoints.
- A port is ``protocol`` (default TCP) plus a number, a range ``port..endPort``,
  or a name resolved against the *destination* pod's container ports (for
  ingress the selected pod, for egress the peer); no ``port`` means every port
  of that protocol.

Policies the API server would reject are reported (``Policy.problems``) and have
no effect. Replicas of a workload are different pods, so a workload's traffic to
itself is evaluated like any other pair (a single pod can always reach itself).
"""

from __future__ import annotations

import ipaddress
import re
import weakref
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..inventory import MAX_PORT, PROTOCOLS, ContainerPort, Inventory, WorkloadFacts, dig, mapping
from ..model import Path, Resource
from ..selectors import selector_matches

INGRESS, EGRESS = "Ingress", "Egress"
DIRECTIONS = (INGRESS, EGRESS)
NAME_LABEL = "kubernetes.io/metadata.name"
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_SVC_NAME = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")

Ranges = tuple[tuple[int, int], ...]


def _merge(ranges: Iterable[tuple[int, int]]) -> Ranges:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return tuple(out)


def _intersect(a: Ranges, b: Ranges) -> Ranges:
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


class PortSet:
    """A set of (protocol, port number) pairs, as merged ranges per protocol. Immutable."""

    __slots__ = ("ranges", "_key", "_items")

    def __init__(self, ranges: Mapping[str, Ranges] | None = None):
        self.ranges: dict[str, Ranges] = {p: r for p, r in (ranges or {}).items() if r}
        self._key = tuple(sorted(self.ranges.items()))
        self._items: list[str] | None = None

    @classmethod
    def of(cls, protocol: str, lo: int | None = None, hi: int | None = None) -> PortSet:
        """One port (lo), a range (lo..hi), or every port of the protocol (neither)."""
        if lo is None:
            return cls({protocol: ((1, MAX_PORT),)})
        return cls({protocol: ((lo, hi if hi is not None else lo),)})

    def __or__(self, other: PortSet) -> PortSet:
        if not other.ranges or self is ALL_PORTS or self is other:
            return self
        if not self.ranges or other is ALL_PORTS:
            return other
        protocols = set(self.ranges) | set(other.ranges)
        return PortSet({p: _merge((*self.ranges.get(p, ()), *other.ranges.get(p, ()))) for p in protocols})

    def __and__(self, other: PortSet) -> PortSet:
        if self is other or other is ALL_PORTS:
            return self
        if self is ALL_PORTS:
            return other
        return PortSet({p: _intersect(r, other.ranges[p]) for p, r in self.ranges.items() if p in other.ranges})

    def __bool__(self) -> bool:
        return bool(self.ranges)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PortSet) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def contains(self, port: int, protocol: str = "TCP") -> bool:
        return any(lo <= port <= hi for lo, hi in self.ranges.get(protocol, ()))

    @property
    def is_all(self) -> bool:
        return all(self.ranges.get(p) == ((1, MAX_PORT),) for p in PROTOCOLS)

    def items(self) -> list[str]:
        """["TCP/8080", "TCP/9000-9100", "UDP/*"], or ["all"] / [] ."""
        if self._items is None:
            self._items = self._describe()
        return list(self._items)

    def _describe(self) -> list[str]:
        if self.is_all:
            return ["all"]
        out = []
        for protocol in PROTOCOLS:
            for lo, hi in self.ranges.get(protocol, ()):
                text = "*" if (lo, hi) == (1, MAX_PORT) else str(lo) if lo == hi else f"{lo}-{hi}"
                out.append(f"{protocol}/{text}")
        return out

    def __str__(self) -> str:
        return ",".join(self.items()) or "-"

    def __repr__(self) -> str:
        return f"PortSet({self})"


ALL_PORTS = PortSet({p: ((1, MAX_PORT),) for p in PROTOCOLS})
NO_PORTS = PortSet()
# a container port name and protocol -> the port numbers of that name
NamedPorts = Mapping[tuple[str, str], tuple[int, ...]]


# ---------------------------------------------------------------- endpoints


@dataclass(slots=True, eq=False)
class Workload:
    """The pods of one workload: their namespace, template labels and container ports."""

    resource: Resource
    namespace: str
    labels: dict[str, str]
    ports: tuple[ContainerPort, ...] = ()
    _named: dict[tuple[str, str], tuple[int, ...]] | None = field(default=None, repr=False)

    @property
    def named(self) -> dict[tuple[str, str], tuple[int, ...]]:
        """(port name, protocol) -> the port numbers of that name: worked out when a rule names a port
        (most analyses never do, and a scan holds one Workload per workload of the input)."""
        if self._named is None:
            named: dict[tuple[str, str], tuple[int, ...]] = {}
            for port in self.ports:
                if port.name:
                    key = (port.name, port.protocol)
                    named[key] = (*named.get(key, ()), port.number)
            self._named = named
        return self._named

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.resource.name}"

    @property
    def name(self) -> str:
        return self.resource.name

    @property
    def kind(self) -> str:
        return self.resource.kind

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True, slots=True)
class External:
    """Addresses outside the pods of the inputs, named by a CIDR."""

    network: IPNetwork

    @property
    def key(self) -> str:
        return str(self.network)

    def __str__(self) -> str:
        return self.key


Endpoint = Workload | External


def workload_of(resource: Resource, facts: WorkloadFacts) -> Workload:
    labels = mapping(facts.labels)
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        labels = {k: v for k, v in labels.items() if isinstance(k, str) and isinstance(v, str)}
    return Workload(resource, resource.namespace, labels, facts.ports)


# ---------------------------------------------------------------- policies


@dataclass(frozen=True, slots=True)
class PortRule:
    protocol: str
    port: int | str | None
    end_port: int | None

    def resolve(self, named: NamedPorts | None) -> PortSet:
        if self.port is None:
            return PortSet.of(self.protocol)
        if isinstance(self.port, str):  # a named port of the destination pod
            numbers = named.get((self.port, self.protocol), ()) if named else ()
            return PortSet({self.protocol: _merge((n, n) for n in numbers)})
        return PortSet.of(self.protocol, self.port, self.end_port or self.port)

    def __str__(self) -> str:
        if self.port is None:
            return f"{self.protocol}/*"
        return f"{self.protocol}/{self.port}" + (f"-{self.end_port}" if self.end_port else "")


@dataclass(frozen=True, slots=True, eq=False)
class Peer:
    pod_selector: dict | None = None
    namespace_selector: dict | None = None
    network: IPNetwork | None = None
    excepts: tuple[IPNetwork, ...] = ()

    def covers(self, network: IPNetwork) -> bool:
        """Does this ipBlock hold every address of network?"""
        if self.network is None or network.version != self.network.version:
            return False
        return network.subnet_of(self.network) and not any(network.overlaps(e) for e in self.excepts)  # type: ignore[arg-type]

    def __str__(self) -> str:
        if self.network is not None:
            text = f"ipBlock {self.network}"
            return text + (f" except {', '.join(map(str, self.excepts))}" if self.excepts else "")
        parts = []
        if self.namespace_selector is not None:
            parts.append(f"namespaceSelector {describe_selector(self.namespace_selector)}")
        if self.pod_selector is not None:
            parts.append(f"podSelector {describe_selector(self.pod_selector)}")
        return " and ".join(parts)


@dataclass(frozen=True, slots=True, eq=False)
class Rule:
    """One ingress or egress rule: peers (None = every peer) and ports (None = every port)."""

    direction: str
    index: int
    peers: tuple[Peer, ...] | None
    ports: tuple[PortRule, ...] | None

    @property
    def has_named_ports(self) -> bool:
        return bool(self.ports) and any(isinstance(p.port, str) for p in self.ports or ())

    def port_set(self, named: NamedPorts | None) -> PortSet:
        if self.ports is None:
            return ALL_PORTS
        result = NO_PORTS
        for port in self.ports:
            result = result | port.resolve(named)
        return result

    @property
    def field(self) -> str:
        return "from" if self.direction == INGRESS else "to"

    def __str__(self) -> str:
        name = "ingress" if self.direction == INGRESS else "egress"
        peers = "every peer" if self.peers is None else "; ".join(map(str, self.peers))
        ports = "every port" if self.ports is None else ", ".join(map(str, self.ports))
        return f"{name}[{self.index}] ({self.field} {peers}; ports {ports})"


@dataclass(slots=True, eq=False)
class Policy:
    resource: Resource
    namespace: str
    pod_selector: dict
    types: frozenset[str]
    ingress: tuple[Rule, ...]
    egress: tuple[Rule, ...]
    problems: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.resource.name

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def selects_all(self) -> bool:
        return not self.pod_selector.get("matchLabels") and not self.pod_selector.get("matchExpressions")

    def rules(self, direction: str) -> tuple[Rule, ...]:
        return self.ingress if direction == INGRESS else self.egress

    def selects(self, workload: Workload) -> bool:
        return workload.namespace == self.namespace and selector_matches(self.pod_selector, workload.labels)

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


def describe_selector(selector: Any) -> str:
    """{app=web, tier in (a,b)} -- or {} for the selector of everything."""
    if not isinstance(selector, dict):
        return "(invalid)"
    parts = [f"{k}={v}" for k, v in mapping(selector.get("matchLabels")).items()]
    expressions = selector.get("matchExpressions")
    for req in expressions if isinstance(expressions, list) else ():
        key, op, values = dig(req, "key"), dig(req, "operator"), dig(req, "values")
        if op in ("In", "NotIn"):
            parts.append(f"{key} {op.lower()} ({','.join(map(str, values or []))})")
        elif op == "Exists":
            parts.append(str(key))
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return "{" + ", ".join(parts) + "}"


def _selector_problems(selector: Any, path: Path) -> list[tuple[Path, str]]:
    """What the API server's LabelSelector validation would reject."""
    if not isinstance(selector, dict):
        return [(path, f"must be a label selector (object), not {type(selector).__name__}")]
    problems: list[tuple[Path, str]] = []
    labels = selector.get("matchLabels")
    if labels is not None:
        if not isinstance(labels, dict):
            problems.append(((*path, "matchLabels"), "must be a map of strings"))
        else:
            for key, value in labels.items():
                if not isinstance(key, str) or not isinstance(value, str):
                    problems.append(((*path, "matchLabels", str(key)), "label keys and values must be strings"))
    expressions = selector.get("matchExpressions")
    if expressions is not None:
        if not isinstance(expressions, list):
            return [*problems, ((*path, "matchExpressions"), "must be a list")]
        for i, req in enumerate(expressions):
            at = (*path, "matchExpressions", i)
            if not isinstance(req, dict) or not isinstance(req.get("key"), str):
                problems.append((at, "must be an object with a string key"))
                continue
            op, values = req.get("operator"), req.get("values")
            if op not in _OPERATORS:
                problems.append(((*at, "operator"), f"operator {op!r} is not one of {', '.join(_OPERATORS)}"))
            elif op in ("In", "NotIn") and (not isinstance(values, list) or not values):
                problems.append(((*at, "values"), f"operator {op} needs a non-empty list of values"))
            elif op in ("Exists", "DoesNotExist") and values:
                problems.append(((*at, "values"), f"operator {op} takes no values"))
            elif isinstance(values, list) and not all(isinstance(v, str) for v in values):
                problems.append(((*at, "values"), "values must be strings"))
    return problems


def _network(text: Any) -> IPNetwork | None:
    if not isinstance(text, str) or "/" not in text:
        return None
    try:
        return ipaddress.ip_network(text.strip(), strict=False)  # the API server accepts host bits
    except ValueError:
        return None


def _parse_peer(item: Any, path: Path, problems: list[tuple[Path, str]]) -> Peer | None:
    if not isinstance(item, dict):
        problems.append((path, "a peer must be an object"))
        return None
    pod_sel, ns_sel, block = item.get("podSelector"), item.get("namespaceSelector"), item.get("ipBlock")
    if pod_sel is None and ns_sel is None and block is None:
        problems.append((path, "must specify a peer (podSelector, namespaceSelector or ipBlock)"))
        return None
    if block is not None and (pod_sel is not None or ns_sel is not None):
        problems.append((path, "ipBlock may not be combined with podSelector or namespaceSelector"))
        return None
    if block is not None:
        network = _network(dig(block, "cidr"))
        if network is None:
            problems.append(((*path, "ipBlock", "cidr"), f"{dig(block, 'cidr')!r} is not a CIDR"))
            return None
        excepts: list[IPNetwork] = []
        raw = dig(block, "except")
        if raw is not None and not isinstance(raw, list):
            problems.append(((*path, "ipBlock", "except"), "must be a list of CIDRs"))
            return None
        for j, text in enumerate(raw or []):
            excluded = _network(text)
            if excluded is None or excluded.version != network.version or not excluded.subnet_of(network) or excluded == network:  # type: ignore[arg-type]
                problems.append(((*path, "ipBlock", "except", j), f"{text!r} must be a CIDR strictly inside {network}"))
                return None
            excepts.append(excluded)
        return Peer(network=network, excepts=tuple(excepts))
    found = []
    for key, selector in (("podSelector", pod_sel), ("namespaceSelector", ns_sel)):
        if selector is not None:
            found += _selector_problems(selector, (*path, key))
    if found:
        problems += found
        return None
    return Peer(pod_selector=pod_sel, namespace_selector=ns_sel)


def _parse_port(item: Any, path: Path, problems: list[tuple[Path, str]]) -> PortRule | None:
    if not isinstance(item, dict):
        problems.append((path, "a port must be an object"))
        return None
    protocol = item.get("protocol")
    protocol = "TCP" if protocol is None else protocol
    port, end_port = item.get("port"), item.get("endPort")
    before = len(problems)
    if protocol not in PROTOCOLS:
        problems.append(((*path, "protocol"), f"protocol {protocol!r} is not one of {', '.join(PROTOCOLS)}"))
    if isinstance(port, bool) or (port is not None and not isinstance(port, (int, str))):
        problems.append(((*path, "port"), "must be a port number or name"))
    elif isinstance(port, int) and not 1 <= port <= MAX_PORT:
        problems.append(((*path, "port"), f"port {port} is not in 1-{MAX_PORT}"))
    elif isinstance(port, str) and (len(port) > 15 or not _SVC_NAME.fullmatch(port) or "--" in port or port.isdigit()):
        problems.append(((*path, "port"), f"{port!r} is not a valid port name"))
    if end_port is not None:
        if isinstance(end_port, bool) or not isinstance(end_port, int):
            problems.append(((*path, "endPort"), "must be a number"))
        elif not isinstance(port, int) or isinstance(port, bool):
            problems.append(((*path, "endPort"), "endPort needs a numeric port"))
        elif not port <= end_port <= MAX_PORT:
            problems.append(((*path, "endPort"), f"endPort {end_port} must be between port {port} and {MAX_PORT}"))
    if len(problems) > before:
        return None
    return PortRule(protocol, port, end_port)


def _parse_rules(value: Any, direction: str, problems: list[tuple[Path, str]]) -> tuple[Rule, ...]:
    key = "ingress" if direction == INGRESS else "egress"
    peer_key = "from" if direction == INGRESS else "to"
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append((("spec", key), "must be a list of rules"))
        return ()
    rules = []
    for i, item in enumerate(value):
        at: Path = ("spec", key, i)
        if not isinstance(item, dict):
            problems.append((at, "a rule must be an object"))
            continue
        peers: tuple[Peer, ...] | None = None
        raw_peers = item.get(peer_key)
        if raw_peers is not None and not isinstance(raw_peers, list):
            problems.append(((*at, peer_key), "must be a list of peers"))
        elif raw_peers:
            peers = tuple(p for j, x in enumerate(raw_peers) if (p := _parse_peer(x, (*at, peer_key, j), problems)) is not None)
        ports: tuple[PortRule, ...] | None = None
        raw_ports = item.get("ports")
        if raw_ports is not None and not isinstance(raw_ports, list):
            problems.append(((*at, "ports"), "must be a list of ports"))
        elif raw_ports:
            ports = tuple(p for j, x in enumerate(raw_ports) if (p := _parse_port(x, (*at, "ports", j), problems)) is not None)
        rules.append(Rule(direction, i, peers, ports))
    return tuple(rules)


def parse_policy(resource: Resource) -> Policy:
    """A NetworkPolicy as the API server would store it (defaults applied); wrong types
    become ``problems`` (the policy would be rejected) instead of exceptions."""
    problems: list[tuple[Path, str]] = []
    namespace = resource.namespace
    spec = resource.obj.get("spec")
    if not isinstance(spec, dict):
        problems.append((("spec",), "spec is missing" if spec is None else "spec must be an object"))
        spec = {}
    selector = spec.get("podSelector")
    if selector is None:
        selector = {}  # a missing podSelector decodes to the empty selector: every pod
    else:
        problems += _selector_problems(selector, ("spec", "podSelector"))
        selector = selector if isinstance(selector, dict) else {}
    ingress = _parse_rules(spec.get("ingress"), INGRESS, problems)
    egress = _parse_rules(spec.get("egress"), EGRESS, problems)
    raw_types = spec.get("policyTypes")
    if raw_types is not None and not isinstance(raw_types, list):
        problems.append((("spec", "policyTypes"), "must be a list"))
        raw_types = None
    if raw_types:
        bad = [t for t in raw_types if t not in DIRECTIONS]
        if bad or len(raw_types) > 2:
            problems.append((("spec", "policyTypes"), f"policyTypes {raw_types!r} must be Ingress and/or Egress"))
        types = frozenset(t for t in raw_types if t in DIRECTIONS)
    else:  # the API server's default: Ingress always, Egress when there are egress rules
        raw_egress = spec.get("egress")
        types = frozenset((INGRESS, EGRESS)) if isinstance(raw_egress, list) and raw_egress else frozenset((INGRESS,))
    return Policy(resource, namespace, selector, types, ingress, egress, problems)


# ---------------------------------------------------------------- verdicts


@dataclass(slots=True)
class Grant:
    """A rule that lets the connection through, with the ports it allows."""

    policy: Policy
    rule: Rule
    ports: PortSet


@dataclass(slots=True)
class Side:
    """One direction of a connection: the source's egress or the destination's ingress."""

    direction: str
    endpoint: Endpoint
    governed: bool  # False: an external address, which NetworkPolicies do not govern
    isolating: list[Policy]  # the policies that select the endpoint for this direction
    grants: list[Grant]
    ports: PortSet  # what this side allows

    @property
    def isolated(self) -> bool:
        return bool(self.isolating)


@dataclass(slots=True)
class Verdict:
    src: Endpoint
    dst: Endpoint
    egress: Side
    ingress: Side
    ports: PortSet  # what both sides allow
    port: int | str | None = None
    protocol: str = "TCP"
    port_number: int | None = None  # the queried port, a name resolved on the destination

    @property
    def allowed(self) -> bool:
        if self.port is None:
            return bool(self.ports)
        return self.port_number is not None and self.ports.contains(self.port_number, self.protocol)

    def side_allows(self, side: Side) -> bool:
        if self.port is None:
            return bool(side.ports)
        return self.port_number is not None and side.ports.contains(self.port_number, self.protocol)


# ---------------------------------------------------------------- the model


def namespace_labels(resource: Resource) -> dict[str, str]:
    labels = mapping(resource.metadata.get("labels"))
    return {k: v for k, v in labels.items() if isinstance(k, str) and isinstance(v, str)}


class Network:
    """Workloads, namespaces and NetworkPolicies of one inventory, and who can reach whom."""

    def __init__(self, workloads: list[Workload], namespaces: Mapping[str, Mapping[str, str]], policies: list[Policy]):
        self.workloads = workloads
        self.policies = policies
        self.active = [p for p in policies if p.valid]
        self._selecting: dict[tuple[int, str], list[Policy]] = {}
        self.by_namespace: dict[str, list[Policy]] = defaultdict(list)
        for policy in self.active:
            self.by_namespace[policy.namespace].append(policy)
        names = {*namespaces, *(w.namespace for w in workloads), *(p.namespace for p in policies)}
        # the API server always sets kubernetes.io/metadata.name to the namespace's name
        # ("" is the namespace of objects that name none: where they land, and its labels, are unknown)
        self.namespaces: dict[str, dict[str, str]] = {
            n: {**namespaces.get(n, {}), NAME_LABEL: n} if n else {} for n in sorted(names)
        }

    @classmethod
    def from_inventory(cls, inventory: Inventory) -> Network:
        workloads = [workload_of(resource, facts) for resource, facts in inventory.workload_facts()]
        namespaces = {ns.name: namespace_labels(ns) for ns in inventory.kinds("Namespace") if ns.name}
        policies = [parse_policy(r) for r in inventory.kinds("NetworkPolicy")]
        return cls(workloads, namespaces, policies)

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        found = self.namespaces.get(namespace)
        return found if found is not None else {NAME_LABEL: namespace} if namespace else {}

    def selecting(self, workload: Workload, direction: str) -> list[Policy]:
        """The valid policies that select the workload's pods for this direction."""
        key = (id(workload), direction)
        found = self._selecting.get(key)
        if found is None:
            policies = self.by_namespace.get(workload.namespace, ())
            found = self._selecting[key] = [p for p in policies if direction in p.types and p.selects(workload)]
        return found

    def isolated(self, workload: Workload, direction: str) -> bool:
        return bool(self.selecting(workload, direction))

    def peer_matches(self, peer: Peer, policy: Policy, endpoint: Endpoint) -> bool:
        if isinstance(endpoint, External):
            return peer.covers(endpoint.network)
        if peer.network is not None:
            return False  # pod addresses are not known from manifests
        if peer.namespace_selector is None:
            in_namespace = endpoint.namespace == policy.namespace
        else:
            in_namespace = selector_matches(peer.namespace_selector, self.namespace_labels(endpoint.namespace))
        return in_namespace and (peer.pod_selector is None or selector_matches(peer.pod_selector, endpoint.labels))

    def rule_matches(self, rule: Rule, policy: Policy, peer: Endpoint) -> bool:
        return rule.peers is None or any(self.peer_matches(p, policy, peer) for p in rule.peers)

    def side(self, direction: str, endpoint: Endpoint, peer: Endpoint) -> Side:
        """What the policies of `endpoint` allow in `direction` with `peer` (ports resolved
        on the destination of the connection)."""
        if isinstance(endpoint, External):
            return Side(direction, endpoint, False, [], [], ALL_PORTS)
        isolating = self.selecting(endpoint, direction)
        if not isolating:
            return Side(direction, endpoint, True, [], [], ALL_PORTS)
        destination = endpoint if direction == INGRESS else peer
        named = destination.named if isinstance(destination, Workload) else None
        grants, ports = [], NO_PORTS
        for policy in isolating:
            for rule in policy.rules(direction):
                if self.rule_matches(rule, policy, peer):
                    allowed = rule.port_set(named)
                    grants.append(Grant(policy, rule, allowed))
                    ports = ports | allowed
        return Side(direction, endpoint, True, isolating, grants, ports)

    def allowed(self, src: Endpoint, dst: Endpoint, port: int | str | None = None, protocol: str = "TCP") -> Verdict:
        """Can src open a connection to dst (on port/protocol, or on which ports)?"""
        egress = self.side(EGRESS, src, dst)
        ingress = self.side(INGRESS, dst, src)
        number: int | None = None
        if isinstance(port, int):
            number = port
        elif isinstance(port, str) and isinstance(dst, Workload):
            numbers = dst.named.get((port, protocol), ())
            number = numbers[0] if numbers else None
        return Verdict(src, dst, egress, ingress, egress.ports & ingress.ports, port, protocol, number)

    def externals(self) -> list[External]:
        """Every CIDR named by an ipBlock of a valid policy."""
        seen: dict[IPNetwork, None] = {}
        for policy in self.active:
            for rule in (*policy.ingress, *policy.egress):
                for peer in rule.peers or ():
                    if peer.network is not None:
                        seen.setdefault(peer.network)
        return [External(n) for n in sorted(seen, key=lambda n: (n.version, n))]

    def find(self, text: str) -> Endpoint:
        """A workload by namespace/name (or namespace/Kind/name), or an address / CIDR.
        Raises LookupError with a message naming the candidates."""
        network = ipaddress.ip_network(text) if _is_ip(text) else _network(text)
        if network is not None:
            return External(network)
        parts = text.split("/")
        if len(parts) == 2:
            found = [w for w in self.workloads if w.namespace == parts[0] and w.name == parts[1]]
        elif len(parts) == 3:
            kind = parts[1].lower()
            found = [w for w in self.workloads if w.namespace == parts[0] and w.kind.lower() == kind and w.name == parts[2]]
        else:
            raise LookupError(f"{text!r}: name a workload as namespace/name or namespace/Kind/name, or give an IP or CIDR")
        if len(found) == 1:
            return found[0]
        if not found:
            raise LookupError(f"no workload {text!r} in the inputs")
        names = ", ".join(f"{w.namespace}/{w.kind}/{w.name}" for w in found)
        raise LookupError(f"{text!r} is ambiguous: {names}")

    def matrix(self) -> Matrix:
        return Matrix(self)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------- the matrix

ANY = "*"  # the wildcard node: any pod not isolated in that direction, in the inputs or not


class Matrix:
    """Reachability between every workload (and every ipBlock CIDR) of a Network.

    Workloads with the same namespace, pod labels and ports behave identically, so
    the work is done once per such *class*. Rule peers are matched once per class
    (policies indexed by namespace), and :meth:`edges` visits only the pairs some
    rule names; the rest is summarised by the wildcard node ``*``: ``* -> D`` is what
    D accepts from any source that no egress policy restricts, ``S -> *`` what S may
    send to any destination no ingress policy restricts.
    """

    def __init__(self, net: Network):
        self.net = net
        classes: dict[tuple, int] = {}
        self.members: list[list[Workload]] = []
        self.class_of: dict[int, int] = {}
        for w in net.workloads:
            key = (w.namespace, frozenset(w.labels.items()), w.ports)
            cid = classes.setdefault(key, len(classes))
            if cid == len(self.members):
                self.members.append([])
            self.members[cid].append(w)
            self.class_of[id(w)] = cid
        self.reps = [m[0] for m in self.members]
        self.externals = net.externals()
        by_ns: dict[str, list[int]] = defaultdict(list)
        for cid, rep in enumerate(self.reps):
            by_ns[rep.namespace].append(cid)
        # per class and direction: the (policy, rule) pairs that apply, or None when open
        self.rules: dict[str, list[list[tuple[Policy, Rule]] | None]] = {}
        for direction in DIRECTIONS:
            per_class: list[list[tuple[Policy, Rule]] | None] = []
            for rep in self.reps:
                isolating = net.selecting(rep, direction)
                per_class.append([(p, r) for p in isolating for r in p.rules(direction)] if isolating else None)
            self.rules[direction] = per_class
        # per rule: the classes and externals its peers match (None = every peer)
        self.targets: dict[int, tuple[frozenset[int], frozenset[int]] | None] = {}
        for policy in net.active:
            for rule in (*policy.ingress, *policy.egress):
                self.targets[id(rule)] = None if rule.peers is None else self._rule_targets(policy, rule, by_ns)
        self._ports: dict[tuple[int, int], PortSet] = {}

    def _rule_targets(self, policy: Policy, rule: Rule, by_ns: Mapping[str, list[int]]) -> tuple[frozenset[int], frozenset[int]]:
        classes: set[int] = set()
        externals: set[int] = set()
        for peer in rule.peers or ():
            if peer.network is not None:
                externals.update(i for i, e in enumerate(self.externals) if peer.covers(e.network))
                continue
            if peer.namespace_selector is None:
                namespaces = [policy.namespace]
            else:
                namespaces = [n for n in by_ns if selector_matches(peer.namespace_selector, self.net.namespace_labels(n))]
            for namespace in namespaces:
                for cid in by_ns.get(namespace, ()):
                    if peer.pod_selector is None or selector_matches(peer.pod_selector, self.reps[cid].labels):
                        classes.add(cid)
        return frozenset(classes), frozenset(externals)

    def _rule_ports(self, rule: Rule, dst: int | None) -> PortSet:
        """The rule's ports, named ones resolved on destination class dst (None: not a pod)."""
        key = (id(rule), -1 if dst is None or not rule.has_named_ports else dst)
        found = self._ports.get(key)
        if found is None:
            found = self._ports[key] = rule.port_set(self.reps[dst].named if key[1] >= 0 else None)
        return found

    def _matches(self, rule: Rule, cid: int | None, ext: int | None) -> bool:
        targets = self.targets[id(rule)]
        if targets is None:
            return True
        return cid in targets[0] if cid is not None else ext in targets[1]

    def _side(self, direction: str, owner: int, peer_cid: int | None, peer_ext: int | None, dst: int | None) -> PortSet:
        rules = self.rules[direction][owner]
        if rules is None:
            return ALL_PORTS
        result = NO_PORTS
        for _policy, rule in rules:
            if self._matches(rule, peer_cid, peer_ext):
                result = result | self._rule_ports(rule, dst)
        return result

    def cell(self, src: Workload | External, dst: Workload | External) -> PortSet:
        """The ports on which src can reach dst (the same answer as Network.allowed)."""
        s_cid = self.class_of.get(id(src)) if isinstance(src, Workload) else None
        d_cid = self.class_of.get(id(dst)) if isinstance(dst, Workload) else None
        s_ext = self._ext_index(src)
        d_ext = self._ext_index(dst)
        if isinstance(src, Workload) and s_cid is None or isinstance(dst, Workload) and d_cid is None:
            return self.net.allowed(src, dst).ports
        egress = ALL_PORTS if s_cid is None else self._side(EGRESS, s_cid, d_cid, d_ext, d_cid)
        ingress = ALL_PORTS if d_cid is None else self._side(INGRESS, d_cid, s_cid, s_ext, d_cid)
        return egress & ingress

    def _ext_index(self, endpoint: Any) -> int | None:
        if not isinstance(endpoint, External):
            return None
        try:
            return self.externals.index(endpoint)
        except ValueError:  # an address no policy names: matched by covering ipBlocks only
            self.externals.append(endpoint)
            for policy in self.net.active:
                for rule in (*policy.ingress, *policy.egress):
                    targets = self.targets.get(id(rule))
                    if targets is not None and any(p.covers(endpoint.network) for p in rule.peers or ()):
                        self.targets[id(rule)] = (targets[0], targets[1] | {len(self.externals) - 1})
            return len(self.externals) - 1

    def class_cell(self, s: int, d: int) -> PortSet:
        return self._side(EGRESS, s, d, None, d) & self._side(INGRESS, d, s, None, d)

    def _wildcard(self, direction: str, owner: int, dst: int | None) -> PortSet:
        """What the owner's rules that match every peer allow (ALL when it is open)."""
        rules = self.rules[direction][owner]
        if rules is None:
            return ALL_PORTS
        result = NO_PORTS
        for _policy, rule in rules:
            if self.targets[id(rule)] is None:
                result = result | self._rule_ports(rule, dst)
        return result

    def edges(self) -> Iterator[tuple[Any, Any, PortSet]]:
        """(source, destination, ports) with classes as ints, externals as External and
        the wildcard as ANY; only edges that allow something, each pair once."""
        n = len(self.reps)
        in_rules, eg_rules = self.rules[INGRESS], self.rules[EGRESS]
        eg_open = [eg_rules[c] is None for c in range(n)]
        in_open = [in_rules[c] is None for c in range(n)]
        # sources whose egress names specific destinations, indexed by destination
        egress_to: dict[int, set[int]] = defaultdict(set)
        all_egress: list[int] = []  # egress-isolated sources with a rule to every destination
        named_all: list[int] = []  # ... whose every-destination rule uses named ports (resolved per destination)
        for s in range(n):
            for _policy, rule in eg_rules[s] or ():
                targets = self.targets[id(rule)]
                if targets is None:
                    all_egress.append(s)
                    if rule.has_named_ports:
                        named_all.append(s)
                else:
                    for d in targets[0]:
                        egress_to[d].add(s)
        all_egress = list(dict.fromkeys(all_egress))
        named_all = list(dict.fromkeys(named_all))
        wild_out = [self._wildcard(EGRESS, s, None) for s in range(n)]
        wild_ins = [self._wildcard(INGRESS, d, d) for d in range(n)]
        for d in range(n):
            wild_in = wild_ins[d]
            if wild_in:
                yield ANY, d, wild_in
            candidates: set[int] = set(egress_to.get(d, ()))
            candidates.update(named_all)
            if not in_open[d]:
                every_source = False
                for _policy, rule in in_rules[d] or ():
                    targets = self.targets[id(rule)]
                    if targets is None:
                        every_source = True
                    else:
                        candidates.update(targets[0])
                if every_source:
                    candidates.update(all_egress)
            for s in sorted(candidates):
                ports = self.class_cell(s, d)
                implied = NO_PORTS
                if eg_open[s]:
                    implied = implied | wild_in
                if in_open[d]:
                    implied = implied | wild_out[s]
                if ports and ports != implied:
                    yield s, d, ports
        for s in range(n):
            if wild_out[s]:
                yield s, ANY, wild_out[s]
        for e, ext in enumerate(self.externals):
            for c in range(n):
                out = self._side(EGRESS, c, None, e, None)
                if out and out != wild_out[c]:  # the wildcard covers what c sends anywhere
                    yield c, ext, out
                into = self._side(INGRESS, c, None, e, c)
                if into and into != wild_ins[c]:
                    yield ext, c, into


# ---------------------------------------------------------------- what checks ask

_NETWORKS: weakref.WeakKeyDictionary[Inventory, Network] = weakref.WeakKeyDictionary()


def network_of(inventory: Inventory) -> Network:
    """The Network of an inventory, built once for all the checks that ask."""
    net = _NETWORKS.get(inventory)
    if net is None:
        net = _NETWORKS[inventory] = Network.from_inventory(inventory)
    return net


def is_dns_only(rule: Rule) -> bool:
    """Does the rule allow port 53 (UDP/TCP) and nothing else? Its peers do not matter."""
    return bool(rule.ports) and all(
        p.port == 53 and p.end_port in (None, 53) and p.protocol in ("UDP", "TCP") for p in rule.ports or ()
    )


def default_deny(net: Network, namespace: str, direction: str) -> tuple[bool, str]:
    """Is the namespace default-deny for this direction, and if not, why?

    Default-deny means: a valid policy of the namespace selects every pod
    (``podSelector: {}``) for the direction, and the policies that select every pod
    allow nothing in that direction (for Egress, rules to port 53 only -- DNS -- are
    tolerated). What is allowed then depends on policies that select particular
    workloads: each one is closed until its traffic is allowed.
    """
    select_all = [p for p in net.by_namespace.get(namespace, ()) if p.selects_all and direction in p.types]
    word = direction.lower()
    if not select_all:
        return False, f"namespace {namespace!r} has no default-deny {word} NetworkPolicy"
    for policy in select_all:
        for rule in policy.rules(direction):
            if direction == EGRESS and is_dns_only(rule):
                continue
            return False, (
                f"namespace {namespace!r} is not default-deny for {word}: NetworkPolicy {policy.name!r} selects every pod "
                f"and allows {rule}"
            )
    return True, ""
