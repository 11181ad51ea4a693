"""Services and Ingresses (exposure, TLS, what they route to) and NetworkPolicies (who can reach whom)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from ..analysis import netpol
from ..analysis.workloads import workload_index
from ..inventory import Inventory, dig, kind_key, mapping, template_meta_path
from ..model import Path, Resource, Severity, Violation, format_path
from ..selectors import LabelIndex, SelectorIndex
from .registry import check

SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges"
OPEN_RANGES = frozenset({"0.0.0.0/0", "::/0"})
NGINX_SNIPPETS = tuple(f"nginx.ingress.kubernetes.io/{name}-snippet" for name in ("configuration", "server", "auth", "stream"))
# what a workload keeps after release for N006/N007: its pod labels and declared ports
# (init containers too: a native sidecar serves on its ports)
def _annotations(resource: Resource) -> dict[str, Any]:
    return mapping(resource.metadata.get("annotations"))


def _is_internal_lb(annotations: dict[str, Any]) -> bool:
    """Annotated as an internal (private-network) load balancer by a cloud provider."""

    def value(key: str) -> str:
        found = annotations.get(key)
        return str(found).strip().lower() if found is not None else ""

    aws_legacy = value("service.beta.kubernetes.io/aws-load-balancer-internal")
    return (
        aws_legacy not in ("", "false")  # in-tree AWS: any value but "false" ("true", "0.0.0.0/0")
        or value("service.beta.kubernetes.io/aws-load-balancer-scheme") == "internal"
        or value("service.beta.kubernetes.io/azure-load-balancer-internal") == "true"
        or value("networking.gke.io/load-balancer-type") == "internal"
        or value("cloud.google.com/load-balancer-type") == "internal"  # GKE's older spelling
    )


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _service_type(service: Resource) -> Any:
    return dig(service.obj, "spec", "type")


@check(
    id="KW-N001",
    slug="service-nodeport",
    title="Services should not be of type NodePort",
    severity=Severity.MEDIUM,
    kinds=("Service",),
    rationale="""A NodePort Service opens its port on every node of the cluster, on every node
        address: it bypasses the ingress controller and load balancer (their TLS, auth and
        source ranges) and is reachable wherever the nodes are.""",
    remediation="Use a ClusterIP Service behind an Ingress, or a LoadBalancer with source ranges.",
    example="""
        spec:
          type: ClusterIP
    """,
    refs={"nsa": "network/network-policies", "mitre": "T1133"},
    tags=("network",),
)
def service_nodeport(service: Resource) -> Iterator[Violation]:
    if _service_type(service) == "NodePort":
        yield Violation(("spec", "type"), "Service type NodePort opens its ports on every node")


@check(
    id="KW-N002",
    slug="loadbalancer-without-source-ranges",
    title="LoadBalancer Services should restrict their source ranges",
    severity=Severity.MEDIUM,
    kinds=("Service",),
    rationale="""A LoadBalancer Service without loadBalancerSourceRanges gets a cloud load balancer
        open to the whole internet. Internal load balancers (annotated for AWS, Azure or GKE)
        are on the private network and are not reported.""",
    remediation="Set spec.loadBalancerSourceRanges to the client networks, or annotate the Service as an internal load balancer.",
    example="""
        spec:
          type: LoadBalancer
          loadBalancerSourceRanges: ["203.0.113.0/24"]
    """,
    refs={"nsa": "network/network-policies", "mitre": "T1190"},
    tags=("network",),
)
def loadbalancer_without_source_ranges(service: Resource) -> Iterator[Violation]:
    annotations = _annotations(service)
    if _service_type(service) != "LoadBalancer" or _is_internal_lb(annotations):
        return
    ranges = _strings(dig(service.obj, "spec", "loadBalancerSourceRanges"))
    path: Path = ("spec", "loadBalancerSourceRanges")
    if not ranges:  # the annotation is read only when the field is empty
        annotation = annotations.get(SOURCE_RANGES_ANNOTATION)
        ranges = [r for r in annotation.split(",") if r.strip()] if isinstance(annotation, str) else []
        path = ("metadata", "annotations", SOURCE_RANGES_ANNOTATION) if ranges else path
    ranges = [r.strip() for r in ranges]
    if not ranges:
        yield Violation(path, "LoadBalancer Service is open to any address (no loadBalancerSourceRanges)")
    elif OPEN_RANGES.intersection(ranges):
        yield Violation(path, f"LoadBalancer Service allows {sorted(OPEN_RANGES.intersection(ranges))[0]} (any address)")


@check(
    id="KW-N003",
    slug="service-external-ips",
    title="Services must not set externalIPs",
    severity=Severity.HIGH,
    kinds=("Service",),
    rationale="""spec.externalIPs makes every node route traffic for those addresses to the
        Service, and nothing checks who owns the address: anyone who can create a Service can
        intercept traffic to any IP, inside or outside the cluster (CVE-2020-8554).""",
    remediation="Remove spec.externalIPs (use a LoadBalancer) and enable the DenyServiceExternalIPs admission plugin.",
    example="""
        spec:
          type: LoadBalancer
          loadBalancerSourceRanges: ["203.0.113.0/24"]
    """,
    refs={"nsa": "network/network-policies", "mitre": "T1557"},
    tags=("network",),
)
def service_external_ips(service: Resource) -> Iterator[Violation]:
    ips = _strings(dig(service.obj, "spec", "externalIPs"))
    if ips:
        yield Violation(("spec", "externalIPs"), f"Service claims external IPs {', '.join(ips)}")


def _tls_covers(tls_host: str, host: str) -> bool:
    """Does a TLS host (possibly *.example.com, one label deep) cover a rule host?"""
    tls_host, host = tls_host.lower(), host.lower()
    if tls_host == host:
        return True
    if tls_host.startswith("*."):
        label, dot, rest = host.partition(".")
        return bool(label) and dot == "." and label != "*" and "." + rest == tls_host[1:]
    return False


def _rules(ingress: Resource) -> Iterator[tuple[int, dict[str, Any]]]:
    rules = dig(ingress.obj, "spec", "rules")
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        if isinstance(rule, dict):
            yield i, rule


@check(
    id="KW-N004",
    slug="ingress-without-tls",
    title="Ingresses should serve their hosts over TLS",
    severity=Severity.MEDIUM,
    kinds=("Ingress",),
    rationale="""Without spec.tls (or without a TLS entry covering a rule's host) the Ingress
        serves that host over plain HTTP: credentials, cookies and data cross the network
        readable and modifiable by anyone on the path.""",
    remediation="Add a spec.tls entry whose hosts cover every rule host, with a certificate Secret.",
    example="""
        spec:
          tls:
            - hosts: ["shop.example.com"]
              secretName: shop-tls
    """,
    refs={"nsa": "network/network-policies", "mitre": "T1557"},
    tags=("network",),
)
def ingress_without_tls(ingress: Resource) -> Iterator[Violation]:
    tls = dig(ingress.obj, "spec", "tls")
    entries = [e for e in tls if isinstance(e, dict)] if isinstance(tls, list) else []
    if not entries:
        yield Violation(("spec", "tls"), "Ingress has no spec.tls: it serves plain HTTP")
        return
    # an entry without hosts means the controller's default (wildcard) certificate
    if any(not _strings(e.get("hosts")) for e in entries):
        return
    tls_hosts = [h for e in entries for h in _strings(e.get("hosts"))]
    for i, rule in _rules(ingress):
        host = rule.get("host")
        if not isinstance(host, str) or not host:
            continue  # a rule without host is KW-N005's finding
        if not any(_tls_covers(t, host) for t in tls_hosts):
            yield Violation(("spec", "rules", i, "host"), f"host {host!r} is not covered by spec.tls")


@check(
    id="KW-N005",
    slug="ingress-catch-all",
    title="Ingress rules should name their host",
    severity=Severity.LOW,
    kinds=("Ingress",),
    rationale="""A rule without host, or a default backend, serves every hostname that points at the
        ingress controller, including names the owner never meant to expose (an IP address, a
        stale DNS record, another team's domain).""",
    remediation="Set host on every rule and remove spec.defaultBackend.",
    example="""
        spec:
          rules:
            - host: shop.example.com
    """,
    refs={"nsa": "network/network-policies", "mitre": "T1190"},
    tags=("network",),
)
def ingress_catch_all(ingress: Resource) -> Iterator[Violation]:
    for key in ("defaultBackend", "backend"):  # backend: extensions/v1beta1
        if isinstance(dig(ingress.obj, "spec", key), dict):
            yield Violation(("spec", key), f"spec.{key} serves every hostname sent to the controller")
    for i, rule in _rules(ingress):
        host = rule.get("host")
        if not isinstance(host, str) or not host:
            yield Violation(("spec", "rules", i), f"rule {i} has no host: it serves every hostname")


def _selected(workloads: LabelIndex[Resource], service: Resource) -> list[Resource]:
    return workloads.service_selected(service.namespace, dig(service.obj, "spec", "selector"))


def _selecting_services(inventory: Inventory) -> Iterator[Resource]:
    """Services whose selector means something: an ExternalName Service ignores it."""
    return (s for s in inventory.kinds("Service") if _service_type(s) != "ExternalName")


@check(
    id="KW-N006",
    slug="service-target-port-undeclared",
    title="A Service's targetPort should be a port its pods declare",
    severity=Severity.LOW,
    scope="inventory",
    kinds=("Service",),
    rationale="""A targetPort no selected container declares either sends traffic nowhere, or to a
        port the workload never documented: network policies, meshes and reviewers that go by
        declared ports miss it. Reported only when the selector selects a workload in the input.""",
    remediation="Declare the port (containerPort, with a name) on the container, and target it by name.",
    example="""
        # Service
        ports: [{port: 80, targetPort: http}]
        # Deployment container
        ports: [{name: http, containerPort: 8080}]
    """,
    refs={"nsa": "network/network-policies", "mitre": "T1046"},
    tags=("network",),
)
def service_target_port_undeclared(inventory: Inventory) -> Iterator[tuple[Resource, Violation]]:
    workloads = workload_index(inventory)
    for service in _selecting_services(inventory):
        pods = _selected(workloads, service)
        ports = dig(service.obj, "spec", "ports")
        if not pods or not isinstance(ports, list):
            continue
        declared = frozenset().union(*(inventory.facts(pod).declared for pod in pods))
        for i, port in enumerate(ports):
            target = dig(port, "targetPort")
            key = "targetPort" if target is not None else "port"
            target = target if target is not None else dig(port, "port")  # targetPort defaults to port
            if isinstance(target, bool) or not isinstance(target, (int, str)) or target in declared:
                continue
            names = ", ".join(pod.ref for pod in pods[:3]) + (", …" if len(pods) > 3 else "")
            implicit = "" if key == "targetPort" else " (= port)"
            yield service, Violation(("spec", "ports", i, key), f"targetPort {target!r}{implicit} is not declared by {names}")


@check(
    id="KW-N007",
    slug="service-selects-nothing",
    title="A Service's selector should select a workload",
    severity=Severity.LOW,
    scope="inventory",
    kinds=("Service",),
    rationale="""A Service whose selector matches no workload has no endpoints, and whoever
        can later create a pod with matching labels in the namespace receives its traffic.
        Reported only when the input holds workloads of that namespace.""",
    remediation="Fix the selector (or the pod template labels) so the Service selects its workload, or delete it.",
    example="""
        # Service
        selector: {app.kubernetes.io/name: shop}
        # Deployment
        template:
          metadata:
            labels: {app.kubernetes.io/name: shop}
    """,
    refs={"nsa": "network/namespaces", "mitre": "T1557"},
    tags=("network",),
)
def service_selects_nothing(inventory: Inventory) -> Iterator[tuple[Resource, Violation]]:
    workloads = workload_index(inventory)
    for service in _selecting_services(inventory):
        selector = dig(service.obj, "spec", "selector")
        if not isinstance(selector, dict) or not selector or not workloads.by_ns.get(service.namespace):
            continue  # no selector (manual endpoints), or no workload of its namespace to compare
        if not _selected(workloads, service):
            text = ", ".join(f"{k}={v}" for k, v in selector.items())
            where = service.namespace or "(no namespace)"
            yield service, Violation(("spec", "selector"), f"selector {text} selects no workload in namespace {where}")


@check(
    id="KW-N008",
    slug="service-external-name",
    title="Services should not be of type ExternalName",
    severity=Severity.LOW,
    kinds=("Service",),
    rationale="""An ExternalName Service is a DNS alias anyone with Service rights can point at
        any name: it redirects in-cluster clients, and ingress controllers that route to it
        can be made to reach internal or cloud-metadata names (SSRF, CVE-2021-25740).""",
    remediation="Use a ClusterIP Service with explicit endpoints, or call the external name directly.",
    example="""
        spec:
          type: ClusterIP
          selector: {app.kubernetes.io/name: shop}
    """,
    refs={"nsa": "network/namespaces", "mitre": "T1190"},
    tags=("network",),
)
def service_external_name(service: Resource) -> Iterator[Violation]:
    if _service_type(service) == "ExternalName":
        target = dig(service.obj, "spec", "externalName")
        to = f" to {target!r}" if isinstance(target, str) and target else ""
        yield Violation(("spec", "type"), f"ExternalName Service redirects DNS{to}")


@check(
    id="KW-N009",
    slug="ingress-nginx-snippet",
    title="Ingresses must not inject nginx configuration snippets",
    severity=Severity.HIGH,
    kinds=("Ingress",),
    rationale="""Snippet annotations paste raw nginx configuration into the ingress-nginx
        controller, which holds a service-account token that reads every Secret of the
        cluster: whoever can write an Ingress can read that token (CVE-2021-25742).""",
    remediation="Use dedicated annotations instead of snippets, and run ingress-nginx with allow-snippet-annotations: false.",
    example="""
        metadata:
          annotations:
            nginx.ingress.kubernetes.io/proxy-body-size: 8m
    """,
    refs={"nsa": "network/secrets", "mitre": "T1190"},
    tags=("network",),
)
def ingress_nginx_snippet(ingress: Resource) -> Iterator[Violation]:
    annotations = _annotations(ingress)
    for key in NGINX_SNIPPETS:
        if annotations.get(key) not in (None, ""):  # never echo the snippet: it may hold credentials
            yield Violation(("metadata", "annotations", key), f"annotation {key} injects raw nginx configuration")


def _backends(ingress: Resource) -> Iterator[tuple[Path, str]]:
    """(path to the name, Service name) of every Service backend, v1 and v1beta1."""
    candidates: list[tuple[Path, Any]] = [(("spec", key), dig(ingress.obj, "spec", key)) for key in ("defaultBackend", "backend")]
    for i, rule in _rules(ingress):
        paths = dig(rule, "http", "paths")
        for j, item in enumerate(paths if isinstance(paths, list) else []):
            candidates.append((("spec", "rules", i, "http", "paths", j, "backend"), dig(item, "backend")))
    for path, backend in candidates:
        for key in (("service", "name"), ("serviceName",)):
            name = dig(backend, *key)
            if isinstance(name, str) and name:
                yield (*path, *key), name


@check(
    id="KW-N010",
    slug="ingress-backend-service-missing",
    title="An Ingress backend should be a Service defined alongside it",
    severity=Severity.LOW,
    scope="inventory",
    kinds=("Ingress",),
    rationale="""An Ingress routing to a Service that does not exist is a public route waiting
        for an owner: whoever creates a Service of that name in the namespace receives the
        traffic. Reported only when the input defines Services of that namespace.""",
    remediation="Fix the backend's Service name, or add the Service to the manifests.",
    example="""
        backend:
          service:
            name: shop     # a Service named shop in the Ingress's namespace
            port: {name: http}
    """,
    refs={"nsa": "network/namespaces", "mitre": "T1557"},
    tags=("network",),
)
def ingress_backend_service_missing(inventory: Inventory) -> Iterator[tuple[Resource, Violation]]:
    services: dict[str, set[str]] = defaultdict(set)
    for service in inventory.kinds("Service"):
        services[service.namespace].add(service.name)
    for ingress in inventory.kinds("Ingress"):
        defined = services.get(ingress.namespace)
        if not defined:
            continue  # no Service of this namespace in the input: we cannot know
        for path, name in _backends(ingress):
            if name not in defined:
                where = ingress.namespace or "(no namespace)"
                yield ingress, Violation(path, f"backend Service {name!r} is not defined in namespace {where}")


# ---------------------------------------------------------------- NetworkPolicies (see analysis/netpol.py)


def _policy(resource: Resource) -> netpol.Policy | None:
    """The parsed policy, or None when the API server would reject it (KW-N018 reports that)."""
    parsed = netpol.parse_policy(resource)
    return parsed if parsed.valid else None


def _applied_rules(policy: netpol.Policy) -> Iterator[netpol.Rule]:
    """The rules that take effect: those of the directions the policy covers."""
    for direction in netpol.DIRECTIONS:
        if direction in policy.types:
            yield from policy.rules(direction)


def _rule_path(rule: netpol.Rule) -> Path:
    return ("spec", "ingress" if rule.direction == netpol.INGRESS else "egress", rule.index)


def _ports_text(rule: netpol.Rule) -> str:
    return "every port" if rule.ports is None else "ports " + ", ".join(map(str, rule.ports))


@check(
    id="KW-N011",
    slug="namespace-without-default-deny-egress",
    title="Every namespace should have a default-deny egress NetworkPolicy",
    severity=Severity.MEDIUM,
    scope="inventory",
    kinds=("NetworkPolicy", "Namespace"),
    rationale="""Pods may connect anywhere -- other namespaces, the cloud metadata service, the internet --
        until a NetworkPolicy selects them for Egress. A default-deny egress policy makes a compromised
        pod unable to scan the cluster or send data out, except where its traffic is allowed. A namespace
        counts as default-deny when a valid policy selects every pod (podSelector: {}) for Egress and
        the policies selecting every pod allow no egress except DNS (port 53).""",
    remediation="Add a NetworkPolicy with podSelector: {}, policyTypes: [Egress] and at most a DNS (port 53) egress rule.",
    example="""
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: default-deny-egress, namespace: shop}
        spec:
          podSelector: {}
          policyTypes: [Egress]
          egress:
            - to:
                - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
                  podSelector: {matchLabels: {k8s-app: kube-dns}}
              ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
    """,
    refs={"cis": "5.3.2", "nsa": "network/network-policies", "mitre": "T1048"},
    tags=("namespaces", "network"),
)
def namespace_without_default_deny_egress(inventory: Inventory) -> Iterator[tuple[Resource, Violation]]:
    from .namespaces import default_deny_findings

    yield from default_deny_findings(inventory, netpol.EGRESS)


@check(
    id="KW-N012",
    slug="workload-without-network-policy",
    title="Every workload should be selected by a NetworkPolicy",
    severity=Severity.MEDIUM,
    scope="inventory",
    kinds=("NetworkPolicy",),
    rationale="""Pods that no NetworkPolicy selects accept connections from every pod of the cluster and
        may connect anywhere. Reported per workload (its pod template labels against the podSelector of
        every valid policy of its namespace); workloads without a namespace are skipped, as where they
        land is unknown.""",
    remediation="Add a default-deny NetworkPolicy to the namespace, or a policy whose podSelector matches the workload's pods.",
    example="""
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: web, namespace: shop}
        spec:
          podSelector: {matchLabels: {app: web}}
          policyTypes: [Ingress, Egress]
    """,
    refs={"cis": "5.3.2", "nsa": "network/network-policies", "mitre": "T1046"},
    tags=("network",),
)
def workload_without_network_policy(inventory: Inventory) -> Iterator[tuple[Resource, Violation]]:
    net = netpol.network_of(inventory)
    # the pod selectors of each namespace's valid policies, filed by a label they require:
    # testing every workload against every policy of its namespace grows with their product
    selectors = {ns: SelectorIndex(p.pod_selector for p in policies) for ns, policies in net.by_namespace.items()}
    for workload in net.workloads:
        if not workload.namespace:
            continue
        index = selectors.get(workload.namespace)
        if index is None or not index.selects(workload.labels):
            resource = workload.resource
            path = (*template_meta_path(kind_key(resource)), "labels")
            yield (
                resource,
                Violation(
                    path,
                    f"no NetworkPolicy selects the pods of {resource.kind} {resource.name!r}: they accept and send any traffic",
                ),
            )


@check(
    id="KW-N013",
    slug="network-policy-allows-all-sources",
    title="NetworkPolicy ingress rules should name their sources",
    severity=Severity.MEDIUM,
    kinds=("NetworkPolicy",),
    rationale="""An ingress rule without `from` (or with an empty list) matches every source: every pod of
        every namespace and every address outside the cluster, on the rule's ports. `ingress: [{}]`
        opens the selected pods completely.""",
    remediation="List the allowed sources in `from` (podSelector, namespaceSelector by kubernetes.io/metadata.name, or ipBlock).",
    example="""
        ingress:
          - from:
              - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}
            ports: [{port: 8080}]
    """,
    refs={"cis": "5.3.2", "nsa": "network/network-policies", "mitre": "T1021"},
    tags=("network",),
)
def network_policy_allows_all_sources(resource: Resource) -> Iterator[Violation]:
    policy = _policy(resource)
    for rule in policy.ingress if policy and netpol.INGRESS in policy.types else ():
        if rule.peers is None:
            yield Violation(_rule_path(rule), f"ingress[{rule.index}] allows every source on {_ports_text(rule)}")


def _peers(policy: netpol.Policy) -> Iterator[tuple[netpol.Rule, int, netpol.Peer]]:
    for rule in _applied_rules(policy):
        for j, peer in enumerate(rule.peers or ()):
            yield rule, j, peer


def _rule_name(rule: netpol.Rule) -> str:
    return f"{'ingress' if rule.direction == netpol.INGRESS else 'egress'}[{rule.index}]"


@check(
    id="KW-N014",
    slug="network-policy-allows-all-namespaces",
    title="NetworkPolicy peers should not select every namespace",
    severity=Severity.MEDIUM,
    kinds=("NetworkPolicy",),
    rationale="""`namespaceSelector: {}` selects every namespace, present and future. Alone it allows every
        pod of the cluster; with a podSelector, every pod with those labels in any namespace -- and
        whoever can create a pod anywhere can give it those labels.""",
    remediation="Select namespaces by name (kubernetes.io/metadata.name) or by labels only trusted namespaces carry.",
    example="""
        from:
          - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}
            podSelector: {matchLabels: {app.kubernetes.io/name: prometheus}}
    """,
    refs={"cis": "5.3.2", "nsa": "network/network-policies", "mitre": "T1021"},
    tags=("network",),
)
def network_policy_allows_all_namespaces(resource: Resource) -> Iterator[Violation]:
    policy = _policy(resource)
    for rule, j, peer in _peers(policy) if policy else ():
        selector = peer.namespace_selector
        if selector is not None and not selector.get("matchLabels") and not selector.get("matchExpressions"):
            pods = peer.pod_selector
            which = (
                "every pod"
                if not pods or (not pods.get("matchLabels") and not pods.get("matchExpressions"))
                else (f"pods {netpol.describe_selector(pods)}")
            )
            yield Violation(
                (*_rule_path(rule), rule.field, j, "namespaceSelector"), f"{_rule_name(rule)} allows {which} of every namespace"
            )


@check(
    id="KW-N015",
    slug="network-policy-allows-any-address",
    title="NetworkPolicy ipBlocks should not allow every address",
    severity=Severity.MEDIUM,
    kinds=("NetworkPolicy",),
    rationale="""An ipBlock of 0.0.0.0/0 or ::/0 allows the whole internet (and, on many network plugins,
        every pod and node address too), whatever its `except` list leaves out.""",
    remediation="Allow the address ranges the workload really talks to.",
    example="""
        to:
          - ipBlock: {cidr: 203.0.113.0/24}
        ports: [{port: 443}]
    """,
    refs={"cis": "5.3.2", "nsa": "network/network-policies", "mitre": "T1048"},
    tags=("network",),
)
def network_policy_allows_any_address(resource: Resource) -> Iterator[Violation]:
    policy = _policy(resource)
    for rule, j, peer in _peers(policy) if policy else ():
        if peer.network is not None and peer.network.prefixlen == 0:
            but = f" except {', '.join(map(str, peer.excepts))}" if peer.excepts else ""
            yield Violation(
                (*_rule_path(rule), rule.field, j, "ipBlock", "cidr"),
                f"{_rule_name(rule)} allows any address ({peer.network}{but}) on {_ports_text(rule)}",
            )


@check(
    id="KW-N016",
    slug="egress-not-restricted",
    title="NetworkPolicy egress rules should name their destinations (DNS aside)",
    severity=Severity.MEDIUM,
    kinds=("NetworkPolicy",),
    rationale="""An egress rule without `to` matches every destination: any pod, the cloud metadata service,
        the internet. Only DNS (port 53) is commonly needed everywhere; other egress should name the
        destinations the workload needs.""",
    remediation="Add `to` peers to the rule, or restrict it to port 53 for DNS.",
    example="""
        egress:
          - to:
              - podSelector: {matchLabels: {app: db}}
            ports: [{port: 5432}]
    """,
    refs={"nsa": "network/network-policies", "mitre": "T1048"},
    tags=("network",),
)
def egress_not_restricted(resource: Resource) -> Iterator[Violation]:
    policy = _policy(resource)
    for rule in policy.egress if policy and netpol.EGRESS in policy.types else ():
        if rule.peers is None and not netpol.is_dns_only(rule):
            yield Violation(_rule_path(rule), f"egress[{rule.index}] allows every destination on {_ports_text(rule)}")


@check(
    id="KW-N017",
    slug="network-policy-selects-nothing",
    title="A NetworkPolicy's selectors should select workloads",
    severity=Severity.LOW,
    scope="inventory",
    kinds=("NetworkPolicy",),
    rationale="""A podSelector that matches no workload -- often a typo in a label -- protects nothing (or
        allows nothing), and the pods meant to be covered stay open. Checked against the workloads of
        the policy's namespace, only when the input holds some: the policy's podSelector and the
        podSelector-only peers of its rules (those select in the same namespace).""",
    remediation="Fix the selector (or the workload's pod template labels) so that they match.",
    example="""
        podSelector:
          matchLabels: {app: web}   # the labels of the Deployment's pod template
    """,
    refs={"nsa": "network/network-policies", "mitre": "T1046"},
    tags=("network",),
)
def network_policy_selects_nothing(inventory: Inventory) -> Iterator[tuple[Resource, Violation]]:
    net = netpol.network_of(inventory)
    workloads = LabelIndex((w.namespace, w.labels, w) for w in net.workloads)
    for policy in net.active:
        if not workloads.by_ns.get(policy.namespace):
            continue
        where = policy.namespace or "(no namespace)"
        if not policy.selects_all and not workloads.selected(policy.namespace, policy.pod_selector):
            text = netpol.describe_selector(policy.pod_selector)
            yield (
                policy.resource,
                Violation(("spec", "podSelector"), f"podSelector {text} selects no workload in namespace {where}"),
            )
        for rule, j, peer in _peers(policy):
            if peer.namespace_selector is None and peer.pod_selector is not None:
                if not workloads.selected(policy.namespace, peer.pod_selector):
                    text = netpol.describe_selector(peer.pod_selector)
                    yield (
                        policy.resource,
                        Violation(
                            (*_rule_path(rule), rule.field, j, "podSelector"),
                            f"{_rule_name(rule)} podSelector {text} selects no workload in namespace {where}",
                        ),
                    )


@check(
    id="KW-N018",
    slug="network-policy-invalid",
    title="NetworkPolicies must be valid",
    severity=Severity.MEDIUM,
    kinds=("NetworkPolicy",),
    rationale="""The API server rejects a NetworkPolicy with a wrong type, an empty or mixed peer, an unknown
        protocol, a bad CIDR or port: the policy is never created and whatever it was meant to isolate
        stays open. kubeward's analysis treats such a policy as absent.""",
    remediation="Fix the field named in the finding (see the NetworkPolicy API reference).",
    example="""
        ingress:
          - from:
              - podSelector: {matchLabels: {app: web}}   # a peer needs a selector or an ipBlock, not both
            ports: [{protocol: TCP, port: 8080}]         # TCP, UDP or SCTP, upper case
    """,
    refs={"nsa": "network/network-policies", "mitre": "T1046"},
    tags=("network",),
)
def network_policy_invalid(resource: Resource) -> Iterator[Violation]:
    for path, message in netpol.parse_policy(resource).problems:
        yield Violation(path, f"{format_path(path)}: {message}")
