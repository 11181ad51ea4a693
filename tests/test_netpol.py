"""NetworkPolicy semantics, from the Kubernetes documentation ("Network Policies" concepts
page and the networking.k8s.io/v1 API reference), and the reachability matrix."""

from __future__ import annotations

import random

import pytest
import yaml

from kubeward.analysis.netpol import (
    ALL_PORTS,
    ANY,
    EGRESS,
    INGRESS,
    NO_PORTS,
    External,
    Network,
    PortSet,
    parse_policy,
)
from kubeward.inventory import Inventory
from kubeward.model import Resource
from kubeward.sources.files import load_bytes


def net_of(text: str) -> Network:
    loaded = load_bytes(text.encode(), "t.yaml")
    assert not loaded.errors
    return Network.from_inventory(Inventory(loaded.resources))


def deploy(ns: str, name: str, labels: dict, ports: list | None = None) -> str:
    container = {"name": "c", "image": "x"}
    if ports:
        container["ports"] = ports
    doc = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}},
    }
    return yaml.safe_dump(doc)


def namespace(name: str, labels: dict | None = None) -> str:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}})


def policy(ns: str, name: str, spec: dict) -> str:
    doc = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": name, "namespace": ns}}
    return yaml.safe_dump(doc | {"spec": spec})


def docs(*parts: str) -> str:
    return "---\n".join(parts)


def reach(net: Network, src: str, dst: str, port=None, protocol="TCP"):
    return net.allowed(net.find(src), net.find(dst), port, protocol)


WEB = deploy("shop", "web", {"app": "web"}, [{"name": "http", "containerPort": 8080}])
API = deploy("shop", "api", {"app": "api", "tier": "backend"}, [{"name": "http", "containerPort": 9090}])
DB = deploy("data", "db", {"app": "db"}, [{"name": "pg", "containerPort": 5432}])


# ------------------------------------------------------------------ isolation and policyTypes


def test_pods_no_policy_selects_accept_and_send_everything():
    net = net_of(docs(WEB, API))
    verdict = reach(net, "shop/web", "shop/api")
    assert verdict.allowed and verdict.ports.is_all
    assert not verdict.egress.isolated and not verdict.ingress.isolated


def test_default_deny_ingress_isolates_ingress_only():
    net = net_of(docs(WEB, API, policy("shop", "deny", {"podSelector": {}, "policyTypes": ["Ingress"]})))
    assert not reach(net, "shop/web", "shop/api").allowed
    web = net.find("shop/web")
    assert net.isolated(web, INGRESS) and not net.isolated(web, EGRESS)
    verdict = reach(net, "shop/web", "shop/api")
    assert [str(p) for p in verdict.ingress.isolating] == ["shop/deny"] and verdict.ingress.grants == []
    assert verdict.egress.ports.is_all  # egress untouched


@pytest.mark.parametrize(
    ("spec", "types"),
    [
        ({"podSelector": {}}, {"Ingress"}),  # absent: Ingress always
        ({"podSelector": {}, "policyTypes": []}, {"Ingress"}),  # empty list defaults too
        ({"podSelector": {}, "egress": []}, {"Ingress"}),  # no egress rule: no Egress
        ({"podSelector": {}, "egress": [{}]}, {"Ingress", "Egress"}),  # egress rules: Egress as well
        ({"podSelector": {}, "policyTypes": ["Egress"]}, {"Egress"}),  # explicit: as written
        ({"podSelector": {}, "policyTypes": ["Egress"], "ingress": [{}]}, {"Egress"}),  # ingress rules ignored
    ],
)
def test_policy_types_defaults(spec, types):
    parsed = parse_policy(Resource(yaml.safe_load(policy("shop", "p", spec)), "t"))
    assert parsed.valid and set(parsed.types) == types


def test_egress_rules_without_policy_types_isolate_egress_too():
    spec = {
        "podSelector": {"matchLabels": {"app": "web"}},
        "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "api"}}}]}],
    }
    net = net_of(docs(WEB, API, DB, policy("shop", "p", spec)))
    assert reach(net, "shop/web", "shop/api").egress.ports.is_all  # egress to api: allowed by the rule
    assert not reach(net, "shop/api", "shop/web").allowed  # web is isolated for ingress by the default type
    assert not reach(net, "shop/web", "data/db").allowed  # egress isolated: db is not in `to`


def test_policy_that_selects_other_pods_does_not_isolate():
    net = net_of(docs(WEB, API, policy("shop", "p", {"podSelector": {"matchLabels": {"app": "db"}}})))
    assert reach(net, "shop/web", "shop/api").allowed


def test_policy_of_another_namespace_does_not_isolate():
    net = net_of(docs(WEB, DB, policy("data-other", "deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})))
    assert reach(net, "shop/web", "data/db").allowed


def test_egress_isolation_blocks_even_when_ingress_allows():
    deny_egress = policy("shop", "deny-egress", {"podSelector": {}, "policyTypes": ["Egress"]})
    net = net_of(docs(WEB, DB, deny_egress))
    verdict = reach(net, "shop/web", "data/db")
    assert not verdict.allowed and verdict.ingress.ports.is_all and not verdict.egress.ports


# ------------------------------------------------------------------ empty vs absent rules and peers


@pytest.mark.parametrize(
    ("ingress", "allowed"),
    [
        (None, False),  # absent: nothing allowed
        ([], False),  # empty list: nothing allowed
        ([{}], True),  # one empty rule: everything allowed
        ([{"from": []}], True),  # empty from: every source
        ([{"from": [], "ports": []}], True),  # empty ports: every port
        ([{"ports": [{"port": 9090}]}], True),  # every source, on 9090
        ([{"ports": [{"port": 1234}]}], False),
    ],
)
def test_empty_absent_and_empty_object_rules(ingress, allowed):
    spec: dict = {"podSelector": {}, "policyTypes": ["Ingress"]}
    if ingress is not None:
        spec["ingress"] = ingress
    net = net_of(docs(WEB, API, policy("shop", "p", spec)))
    assert reach(net, "shop/web", "shop/api", 9090).allowed is allowed


def test_empty_egress_list_with_egress_type_denies_all_egress():
    spec = {"podSelector": {}, "policyTypes": ["Egress"], "egress": []}
    net = net_of(docs(WEB, API, policy("shop", "p", spec)))
    assert not reach(net, "shop/web", "shop/api").allowed


# ------------------------------------------------------------------ peers: AND within a peer, OR across peers

NS_PEERS = docs(
    namespace("shop"),
    namespace("data", {"team": "data"}),
    namespace("ops", {"team": "data"}),  # the same labels as data
    WEB,
    deploy("data", "client", {"role": "client"}),
    deploy("data", "other", {"role": "other"}),
    deploy("ops", "client", {"role": "client"}),
)


def _ingress_to_web(peers: list) -> Network:
    spec = {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"from": peers}]}
    return net_of(docs(NS_PEERS, policy("shop", "p", spec)))


def test_namespace_and_pod_selector_in_one_peer_are_anded():
    net = _ingress_to_web(
        [{"namespaceSelector": {"matchLabels": {"team": "data"}}, "podSelector": {"matchLabels": {"role": "client"}}}]
    )
    assert reach(net, "data/client", "shop/web").allowed
    assert reach(net, "ops/client", "shop/web").allowed  # identical namespace labels: both selected
    assert not reach(net, "data/other", "shop/web").allowed


def test_separate_peers_are_ored():
    net = _ingress_to_web(
        [{"namespaceSelector": {"matchLabels": {"team": "data"}}}, {"podSelector": {"matchLabels": {"role": "client"}}}]
    )
    assert reach(net, "data/other", "shop/web").allowed  # any pod of a team=data namespace
    assert reach(net, "ops/client", "shop/web").allowed


def test_pod_selector_alone_selects_in_the_policy_namespace_only():
    net = _ingress_to_web([{"podSelector": {"matchLabels": {"role": "client"}}}])
    assert not reach(net, "data/client", "shop/web").allowed
    assert not reach(net, "ops/client", "shop/web").allowed


def test_metadata_name_label_tells_namespaces_with_identical_labels_apart():
    net = _ingress_to_web([{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ops"}}}])
    assert reach(net, "ops/client", "shop/web").allowed
    assert not reach(net, "data/client", "shop/web").allowed


def test_namespace_selector_empty_selects_every_namespace():
    net = _ingress_to_web([{"namespaceSelector": {}}])
    assert all(reach(net, s, "shop/web").allowed for s in ("data/client", "data/other", "ops/client"))


def test_namespace_without_object_has_only_its_name_label():
    spec = {"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "data"}}}]}]}
    text = docs(WEB, deploy("ghost", "client", {"role": "client"}), policy("shop", "p", spec))
    net = net_of(text)
    assert net.namespace_labels("ghost") == {"kubernetes.io/metadata.name": "ghost"}
    assert not reach(net, "ghost/client", "shop/web").allowed
    by_name = {
        "podSelector": {},
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ghost"}}}]}],
    }
    assert reach(
        net_of(docs(WEB, deploy("ghost", "client", {}), policy("shop", "p", by_name))), "ghost/client", "shop/web"
    ).allowed


def test_metadata_name_label_cannot_be_spoofed_by_the_namespace_object():
    net = net_of(docs(namespace("evil", {"kubernetes.io/metadata.name": "kube-system"})))
    assert net.namespace_labels("evil")["kubernetes.io/metadata.name"] == "evil"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ({"key": "role", "operator": "In", "values": ["client", "x"]}, {"data/client"}),
        ({"key": "role", "operator": "NotIn", "values": ["client"]}, {"data/other", "data/bare"}),  # no label: not in
        ({"key": "role", "operator": "Exists"}, {"data/client", "data/other"}),
        ({"key": "role", "operator": "DoesNotExist"}, {"data/bare"}),
    ],
)
def test_match_expressions(expression, expected):
    spec = {
        "podSelector": {},
        "ingress": [{"from": [{"namespaceSelector": {}, "podSelector": {"matchExpressions": [expression]}}]}],
    }
    text = docs(NS_PEERS, deploy("data", "bare", {}), policy("shop", "p", spec))
    net = net_of(text)
    sources = {w.key for w in net.workloads if w.namespace == "data" and reach(net, w.key, "shop/web").allowed}
    assert sources == expected


def test_match_labels_and_expressions_are_anded():
    sel = {
        "matchLabels": {"role": "client"},
        "matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["ops"]}],
    }
    spec = {"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": sel}]}]}
    net = net_of(docs(namespace("ops2", {"role": "client"}), NS_PEERS, policy("shop", "p", spec)))
    assert not reach(net, "ops/client", "shop/web").allowed  # ops has no role label


# ------------------------------------------------------------------ multiple policies


def test_policies_are_ored_per_source_and_port():
    allow_client = {
        "podSelector": {"matchLabels": {"app": "web"}},
        "ingress": [
            {"from": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"role": "client"}}}], "ports": [{"port": 8080}]}
        ],
    }
    allow_other = {
        "podSelector": {},
        "ingress": [
            {"from": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"role": "other"}}}], "ports": [{"port": 9000}]}
        ],
    }
    deny = {"podSelector": {}, "policyTypes": ["Ingress"]}
    net = net_of(
        docs(NS_PEERS, policy("shop", "deny", deny), policy("shop", "client", allow_client), policy("shop", "other", allow_other))
    )
    assert reach(net, "data/client", "shop/web").ports.items() == ["TCP/8080"]
    assert reach(net, "data/other", "shop/web").ports.items() == ["TCP/9000"]
    verdict = reach(net, "data/client", "shop/web", 8080)
    assert verdict.allowed and [str(g.policy) for g in verdict.ingress.grants] == ["shop/client"]
    assert {str(p) for p in verdict.ingress.isolating} == {"shop/deny", "shop/client", "shop/other"}


def test_a_second_policy_cannot_take_away_what_one_allows():
    allow = {"podSelector": {}, "ingress": [{}]}
    deny = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    net = net_of(docs(WEB, API, policy("shop", "allow", allow), policy("shop", "deny", deny)))
    verdict = reach(net, "shop/web", "shop/api")
    assert verdict.ingress.ports.is_all and not verdict.egress.ports  # ingress open, egress closed by deny


# ------------------------------------------------------------------ ports


def _ports_net(ports: list, direction: str = INGRESS) -> Network:
    if direction == INGRESS:
        spec = {"podSelector": {}, "ingress": [{"ports": ports}]}
    else:
        spec = {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": ports}]}
    return net_of(docs(WEB, API, deploy("shop", "plain", {"app": "plain"}), policy("shop", "p", spec)))


def test_protocol_defaults_to_tcp():
    net = _ports_net([{"port": 53}])
    assert reach(net, "shop/web", "shop/api", 53, "TCP").allowed
    assert not reach(net, "shop/web", "shop/api", 53, "UDP").allowed


def test_port_without_number_means_every_port_of_the_protocol():
    net = _ports_net([{"protocol": "UDP"}])
    assert reach(net, "shop/web", "shop/api").ports.items() == ["UDP/*"]


def test_end_port_range_is_inclusive():
    net = _ports_net([{"port": 32000, "endPort": 32768}])
    assert [reach(net, "shop/web", "shop/api", p).allowed for p in (31999, 32000, 32768, 32769)] == [False, True, True, False]


def test_named_ingress_port_resolves_on_each_destination_pod():
    net = _ports_net([{"port": "http"}])
    assert reach(net, "shop/api", "shop/web").ports.items() == ["TCP/8080"]
    assert reach(net, "shop/web", "shop/api").ports.items() == ["TCP/9090"]
    assert not reach(net, "shop/web", "shop/plain").allowed  # declares no port named http
    assert reach(net, "shop/api", "shop/web", "http").allowed  # a queried name resolves too


def test_named_egress_port_resolves_on_the_destination_not_the_source():
    net = _ports_net([{"port": "http"}], EGRESS)
    assert reach(net, "shop/web", "shop/api").ports.items() == ["TCP/9090"]
    assert reach(net, "shop/api", "shop/web").ports.items() == ["TCP/8080"]
    assert not reach(net, "shop/web", "203.0.113.9").allowed  # no pod to name it


def test_named_port_protocol_must_match():
    pod = deploy("shop", "dns", {"app": "dns"}, [{"name": "dns", "containerPort": 53, "protocol": "UDP"}])
    spec = {"podSelector": {}, "ingress": [{"ports": [{"port": "dns"}]}]}  # TCP by default
    net = net_of(docs(WEB, pod, policy("shop", "p", spec)))
    assert not reach(net, "shop/web", "shop/dns").allowed
    spec["ingress"][0]["ports"][0]["protocol"] = "UDP"
    assert reach(net_of(docs(WEB, pod, policy("shop", "p", spec))), "shop/web", "shop/dns", 53, "UDP").allowed


def test_port_set_algebra():
    a = PortSet.of("TCP", 80) | PortSet.of("TCP", 81, 90) | PortSet.of("UDP", 53)
    assert a.items() == ["TCP/80-90", "UDP/53"]
    assert (a & PortSet.of("TCP", 85, 100)).items() == ["TCP/85-90"]
    assert not (a & PortSet.of("SCTP")) and (ALL_PORTS & a) == a and str(NO_PORTS) == "-"


# ------------------------------------------------------------------ ipBlock


def _cidr_net() -> Network:
    spec = {
        "podSelector": {},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.2.0.0/16"]}}]}],
        "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443}]}],
    }
    return net_of(docs(WEB, API, policy("shop", "p", spec)))


def test_ip_block_with_except():
    net = _cidr_net()
    assert reach(net, "10.1.0.0/16", "shop/web").allowed
    assert reach(net, "10.1.2.3", "shop/web").allowed
    assert not reach(net, "10.2.3.0/24", "shop/web").allowed  # inside except
    assert not reach(net, "10.0.0.0/8", "shop/web").allowed  # partly excepted: not all of it
    assert not reach(net, "192.168.0.1", "shop/web").allowed
    assert not reach(net, "2001:db8::1", "shop/web").allowed  # another family


def test_ip_block_never_matches_pods():
    net = _cidr_net()
    assert not reach(net, "shop/web", "shop/api").allowed
    assert reach(net, "shop/web", "203.0.113.7", 443).allowed and not reach(net, "shop/web", "203.0.113.7", 80).allowed


# ------------------------------------------------------------------ invalid policies


@pytest.mark.parametrize(
    "spec",
    [
        "x",
        {"podSelector": "web"},
        {"podSelector": {"matchLabels": ["a"]}},
        {"podSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}},
        {"podSelector": {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}},
        {"podSelector": {"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["x"]}]}},
        {"podSelector": {}, "ingress": "x"},
        {"podSelector": {}, "ingress": [1]},
        {"podSelector": {}, "ingress": [{"from": [{}]}]},
        {"podSelector": {}, "ingress": [{"from": "x"}]},
        {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}]},
        {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0"}}]}]},
        {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["192.168.0.0/16"]}}]}]},
        {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": "10.1.0.0/16"}}]}]},
        {"podSelector": {}, "ingress": [{"ports": [{"protocol": "tcp", "port": 80}]}]},
        {"podSelector": {}, "ingress": [{"ports": [{"port": 70000}]}]},
        {"podSelector": {}, "ingress": [{"ports": [{"port": "8080"}]}]},
        {"podSelector": {}, "ingress": [{"ports": [{"port": "http", "endPort": 90}]}]},
        {"podSelector": {}, "ingress": [{"ports": [{"port": 90, "endPort": 80}]}]},
        {"podSelector": {}, "ingress": [{"ports": [{"port": True}]}]},
        {"podSelector": {}, "ingress": [{"ports": "80"}]},
        {"podSelector": {}, "policyTypes": "Ingress"},
        {"podSelector": {}, "policyTypes": ["ingress"]},
    ],
)
def test_invalid_policies_are_reported_and_have_no_effect(spec):
    net = net_of(docs(WEB, API, policy("shop", "bad", spec)))
    (bad,) = net.policies
    assert bad.problems and not bad.valid
    assert all(isinstance(path, tuple) and message for path, message in bad.problems)
    assert reach(net, "shop/web", "shop/api").ports.is_all  # as if it did not exist


def test_find_names_ambiguous_and_missing_workloads():
    text = docs(
        WEB,
        yaml.safe_dump(
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": "web", "namespace": "shop"},
                "spec": {"template": {"spec": {"containers": []}}},
            }
        ),
    )
    net = net_of(text)
    with pytest.raises(LookupError, match="ambiguous"):
        net.find("shop/web")
    assert net.find("shop/Job/web").kind == "Job"
    with pytest.raises(LookupError, match="no workload"):
        net.find("shop/nope")
    with pytest.raises(LookupError):
        net.find("a/b/c/d")


# ------------------------------------------------------------------ the matrix agrees with allowed()


def _random_inventory(seed: int) -> str:
    r = random.Random(seed)
    namespaces = ["a", "b", "c"]
    labels = [{"app": "x"}, {"app": "y"}, {"app": "x", "tier": "t"}, {}]
    parts = [namespace("a", {"team": "one"}), namespace("b", {"team": "one"})]  # c has no object
    for i in range(8):
        ports = r.choice(
            [
                [],
                [{"name": "http", "containerPort": 8080}],
                [{"name": "http", "containerPort": 9090}, {"containerPort": 53, "protocol": "UDP"}],
            ]
        )
        parts.append(deploy(r.choice(namespaces), f"w{i}", r.choice(labels), ports))

    def peer():
        kind = r.randrange(5)
        if kind == 0:
            return {"podSelector": r.choice([{}, {"matchLabels": {"app": "x"}}])}
        if kind == 1:
            return {
                "namespaceSelector": r.choice(
                    [{}, {"matchLabels": {"team": "one"}}, {"matchLabels": {"kubernetes.io/metadata.name": "c"}}]
                )
            }
        if kind == 2:
            return {
                "namespaceSelector": {"matchLabels": {"team": "one"}},
                "podSelector": {"matchExpressions": [{"key": "tier", "operator": r.choice(["Exists", "DoesNotExist"])}]},
            }
        return {"ipBlock": r.choice([{"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}, {"cidr": "0.0.0.0/0"}])}

    def rule(to: str):
        out: dict = {}
        if r.random() < 0.7:
            out[to] = [peer() for _ in range(r.randint(1, 2))]
        if r.random() < 0.6:
            out["ports"] = [
                r.choice([{"port": 8080}, {"port": "http"}, {"protocol": "UDP", "port": 53}, {"port": 9000, "endPort": 9100}])
            ]
        return out

    for i in range(r.randint(1, 5)):
        spec: dict = {"podSelector": r.choice([{}, {"matchLabels": {"app": "x"}}, {"matchLabels": {"app": "y"}}])}
        if r.random() < 0.7:
            spec["ingress"] = [rule("from") for _ in range(r.randint(0, 2))]
        if r.random() < 0.5:
            spec["egress"] = [rule("to") for _ in range(r.randint(0, 2))]
        if r.random() < 0.5:
            spec["policyTypes"] = r.choice([["Ingress"], ["Egress"], ["Ingress", "Egress"]])
        parts.append(policy(r.choice(namespaces), f"p{i}", spec))
    return docs(*parts)


@pytest.mark.parametrize("seed", range(200))
def test_matrix_edges_expand_to_allowed_for_every_pair(seed):
    net = net_of(_random_inventory(seed))
    matrix = net.matrix()
    explicit: dict = {}
    wild_in: dict = {}
    wild_out: dict = {}
    for s, d, ports in matrix.edges():
        assert ports, "edges allow something"
        if s == ANY:
            wild_in[d] = ports
        elif d == ANY:
            wild_out[s] = ports
        else:
            assert (s, d) not in explicit
            explicit[(s, d)] = ports
    endpoints = [*net.workloads, *matrix.externals]
    for src in endpoints:
        for dst in endpoints:
            if isinstance(src, External) and isinstance(dst, External):
                continue
            expected = net.allowed(src, dst).ports
            s = matrix.class_of[id(src)] if not isinstance(src, External) else src
            d = matrix.class_of[id(dst)] if not isinstance(dst, External) else dst
            implied = NO_PORTS
            src_open = isinstance(src, External) or not net.isolated(src, EGRESS)
            dst_open = isinstance(dst, External) or not net.isolated(dst, INGRESS)
            if src_open:
                implied = implied | wild_in.get(d, NO_PORTS)
            if dst_open:
                implied = implied | wild_out.get(s, NO_PORTS)
            got = explicit.get((s, d), implied)
            assert got == expected, (src, dst, got, expected)
            assert matrix.cell(src, dst) == expected


# ------------------------------------------------------------------ checks: released scan == full inventory

NETPOL_CHECKS = ["KW-M003", "KW-N011", "KW-N012", "KW-N013", "KW-N014", "KW-N015", "KW-N016", "KW-N017", "KW-N018"]


def _facts(findings):
    return sorted((f.check_id, f.resource.ref, f.path_str, f.message) for f in findings)


def _both_ways(path, text=None):
    """Findings of the NetworkPolicy checks on a full Inventory and through `scan_paths`
    (resources released before the inventory checks run)."""
    from kubeward.config import Config
    from kubeward.engine import scan, select_checks
    from kubeward.runner import scan_paths
    from kubeward.sources.files import load_paths

    config = Config()
    checks = select_checks(config, only=NETPOL_CHECKS)
    loaded = load_paths([str(path)])
    full = scan(Inventory(loaded.resources), checks, config)
    released = scan_paths([str(path)], checks, config, jobs=1)
    assert not full.errors and not released.errors
    return _facts(full.findings), _facts(released.findings)


def test_checks_agree_after_release_on_fixtures_and_examples(tmp_path):
    from helpers import DATA, EXAMPLES

    paths = [DATA / "checks" / cid / f"{kind}.yaml" for cid in NETPOL_CHECKS for kind in ("pass", "fail")]
    for path in [*paths, EXAMPLES]:
        full, released = _both_ways(path)
        assert full == released, path


def test_checks_agree_after_release_on_a_generated_corpus(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    import corpus

    corpus.generate(tmp_path, 600, seed=3)
    extra = docs(
        WEB,
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "p", "namespace": "shop", "labels": {"app": "api"}},
                "spec": {"containers": [{"name": "c", "image": "x", "ports": [{"name": "http", "containerPort": 1}]}]},
            }
        ),
        policy("shop", "typo", {"podSelector": {"matchLabels": {"app": "apj"}}}),
        policy(
            "shop",
            "api",
            {
                "podSelector": {"matchLabels": {"app": "api"}},
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}],
            },
        ),
    )
    (tmp_path / "extra.yaml").write_text(extra)
    full, released = _both_ways(tmp_path)
    assert full == released
    checks = {c for c, *_ in full}
    assert {"KW-M003", "KW-N011", "KW-N012", "KW-N017"} <= checks
    assert (
        "KW-N017",
        "NetworkPolicy/shop/typo",
        "spec.podSelector",
        "podSelector {app=apj} selects no workload in namespace shop",
    ) in full
    assert not any(c == "KW-N012" and ref == "Pod/shop/p" for c, ref, *_ in full)  # the Pod's own labels are kept


@pytest.mark.parametrize(
    ("egress", "denies"),
    [
        ([], True),
        ([{"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}], True),  # DNS anywhere
        ([{"to": [{"namespaceSelector": {}}], "ports": [{"port": 53, "protocol": "UDP"}]}], True),
        ([{"ports": [{"port": 53, "protocol": "UDP"}, {"port": 443}]}], False),
        ([{"ports": [{"port": 53, "endPort": 54, "protocol": "UDP"}]}], False),
        ([{"ports": [{"protocol": "UDP"}]}], False),  # every UDP port
        ([{}], False),
    ],
)
def test_default_deny_egress_tolerates_dns_only(egress, denies):
    from kubeward.analysis.netpol import default_deny

    net = net_of(docs(WEB, policy("shop", "p", {"podSelector": {}, "policyTypes": ["Egress"], "egress": egress})))
    covered, reason = default_deny(net, "shop", EGRESS)
    assert covered is denies
    assert (reason == "") is denies
    assert default_deny(net, "shop", INGRESS) == (False, "namespace 'shop' has no default-deny ingress NetworkPolicy")


def test_invalid_default_deny_does_not_count():
    net = net_of(docs(WEB, policy("shop", "p", {"podSelector": {}, "policyTypes": ["Ingress", "egress"]})))
    from kubeward.analysis.netpol import default_deny

    assert default_deny(net, "shop", INGRESS)[0] is False


# ------------------------------------------------------------------ CLI


def _cli_inputs(tmp_path):
    from helpers import EXAMPLES

    frontend = deploy("ingress-nginx", "controller", {"app": "nginx"}, [{"name": "https", "containerPort": 443}])
    target = tmp_path / "extra.yaml"
    target.write_text(docs(frontend, namespace("ingress-nginx")))
    return [str(EXAMPLES / "hardened-app"), str(target)]


def test_cli_explain_allowed_and_blocked(tmp_path):
    from helpers import run_cli

    paths = _cli_inputs(tmp_path)
    allowed = run_cli("netpol", "explain", "ingress-nginx/controller", "shop-hardened/web", *paths, "--port", "8080")
    assert allowed.exit_code == 0, allowed.output
    assert "ingress-nginx/controller -> shop-hardened/web on TCP/8080: ALLOWED" in allowed.stdout
    assert "allowed by web-from-ingress ingress[0]" in allowed.stdout
    blocked = run_cli("netpol", "explain", "ingress-nginx/controller", "shop-hardened/web", *paths, "--port", "9090")
    assert blocked.exit_code == 1 and "BLOCKED" in blocked.stdout and "allows only TCP/8080" in blocked.stdout
    back = run_cli("netpol", "explain", "shop-hardened/web", "ingress-nginx/controller", *paths, "-f", "json")
    import json

    report = json.loads(back.stdout)
    assert back.exit_code == 1 and report["allowed"] is False
    assert report["egress"]["isolated"] and report["egress"]["policies"] == ["default-deny"] and not report["egress"]["allows"]
    assert report["ingress"]["isolated"] is False and report["ingress"]["allows"]


def test_cli_explain_errors(tmp_path):
    from helpers import run_cli

    paths = _cli_inputs(tmp_path)
    missing = run_cli("netpol", "explain", "shop/nope", "shop-hardened/web", *paths)
    assert missing.exit_code == 2 and "kubeward: error: no workload 'shop/nope' in the inputs" in missing.stderr
    both = run_cli("netpol", "explain", "10.0.0.1", "10.0.0.2", *paths)
    assert both.exit_code == 2


def test_cli_matrix_formats(tmp_path):
    import json

    from helpers import run_cli

    paths = _cli_inputs(tmp_path)
    table = run_cli("netpol", "matrix", *paths)
    assert table.exit_code == 0
    assert "ingress-nginx/controller  shop-hardened/web" in table.stdout and "TCP/8080" in table.stdout
    assert "shop-hardened/web         Deployment   ingress: isolated by default-deny, web-from-ingress" in table.stdout
    doc = json.loads(run_cli("netpol", "matrix", *paths, "-f", "json").stdout)
    edges = {(e["from"], e["to"]): e["ports"] for e in doc["edges"]}
    assert edges[("ingress-nginx/controller", "shop-hardened/web")] == ["TCP/8080"]
    assert edges[("*", "ingress-nginx/controller")] == ["all"]
    assert ("shop-hardened/web", "*") not in edges  # egress denied but DNS to pods not in the inputs
    assert {n["id"] for n in doc["nodes"]} == {"ingress-nginx/controller", "shop-hardened/web", "*"}
    dot = run_cli("netpol", "matrix", *paths, "-f", "dot").stdout
    assert dot.startswith("digraph netpol {") and '"ingress-nginx/controller" -> "shop-hardened/web" [label="TCP/8080"];' in dot
    filtered = json.loads(run_cli("netpol", "matrix", *paths, "-f", "json", "--port", "9090").stdout)
    assert ("ingress-nginx/controller", "shop-hardened/web") not in {(e["from"], e["to"]) for e in filtered["edges"]}


def test_cli_matrix_reports_invalid_policies(tmp_path):
    import json

    from helpers import run_cli

    target = tmp_path / "bad.yaml"
    target.write_text(docs(WEB, policy("shop", "bad", {"podSelector": {}, "ingress": [{"ports": [{"protocol": "tcp"}]}]})))
    res = run_cli("netpol", "matrix", str(target), "-f", "json")
    assert res.exit_code == 0
    assert "NetworkPolicy shop/bad is invalid and ignored: spec.ingress.0.ports.0.protocol" in res.stderr
    assert json.loads(res.stdout)["invalidPolicies"][0]["policy"] == "shop/bad"
