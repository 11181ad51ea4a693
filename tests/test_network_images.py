"""KW-N (Services and Ingresses) and KW-I002..KW-I008 (image references)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import DATA, run_cli, scan_text
from kubeward.checks.images import ImageRef, explicit_registry, image_matches, normalise_image, parse_image, registry_of
from kubeward.checks.network import _tls_covers
from kubeward.config import Config, parse_config
from kubeward.engine import Scanner, scan, select_checks
from kubeward.inventory import ContainerPort, Inventory
from kubeward.model import Resource, Severity
from kubeward.runner import scan_paths
from kubeward.selectors import service_selects
from kubeward.sources.files import load_bytes

DIGEST = "sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"


def _pod(*containers: str) -> str:
    """A Pod with one container per "image[|pullPolicy]"."""
    lines = ["apiVersion: v1", "kind: Pod", "metadata: {name: p, namespace: shop}", "spec:", "  containers:"]
    for i, spec in enumerate(containers):
        image, _, policy = spec.partition("|")
        lines.append(f"    - name: c{i}")
        lines.append(f'      image: "{image}"')
        if policy:
            lines.append(f"      imagePullPolicy: {policy}")
    return "\n".join(lines) + "\n"


def _messages(text: str, check_id: str, config: Config | None = None) -> list[str]:
    result, loaded = scan_text(text, only=[check_id], config=config)
    assert not loaded.errors and not result.errors
    return [f.message for f in result.findings]


# -- image references ----------------------------------------------------------


@pytest.mark.parametrize(
    "image,ref,registry,normalised",
    [
        ("nginx", ImageRef("nginx", None, None), "docker.io", "docker.io/library/nginx"),
        ("nginx:1.25.3", ImageRef("nginx", "1.25.3", None), "docker.io", "docker.io/library/nginx:1.25.3"),
        ("library/nginx:1.25", ImageRef("library/nginx", "1.25", None), "docker.io", "docker.io/library/nginx:1.25"),
        ("bitnami/redis:7.2.4", ImageRef("bitnami/redis", "7.2.4", None), "docker.io", "docker.io/bitnami/redis:7.2.4"),
        ("docker.io/nginx", ImageRef("docker.io/nginx", None, None), "docker.io", "docker.io/library/nginx"),
        ("index.docker.io/library/alpine:3.20", ImageRef("index.docker.io/library/alpine", "3.20", None), "index.docker.io",
         "docker.io/library/alpine:3.20"),
        ("Docker.IO/library/nginx:1", ImageRef("Docker.IO/library/nginx", "1", None), "Docker.IO", "docker.io/library/nginx:1"),
        ("localhost:5000/app", ImageRef("localhost:5000/app", None, None), "localhost:5000", "localhost:5000/app"),
        ("localhost/app:1.0", ImageRef("localhost/app", "1.0", None), "localhost", "localhost/app:1.0"),
        ("registry.example.com:5000/team/app:1.4.2", ImageRef("registry.example.com:5000/team/app", "1.4.2", None),
         "registry.example.com:5000", "registry.example.com:5000/team/app:1.4.2"),
        ("myregistry:5000/app", ImageRef("myregistry:5000/app", None, None), "myregistry:5000", "myregistry:5000/app"),
        (f"ghcr.io/org/tool@{DIGEST}", ImageRef("ghcr.io/org/tool", None, DIGEST), "ghcr.io", f"ghcr.io/org/tool@{DIGEST}"),
        (f"ghcr.io/org/tool:v1.2.0@{DIGEST}", ImageRef("ghcr.io/org/tool", "v1.2.0", DIGEST), "ghcr.io",
         f"ghcr.io/org/tool:v1.2.0@{DIGEST}"),
        (f"busybox@{DIGEST}", ImageRef("busybox", None, DIGEST), "docker.io", f"docker.io/library/busybox@{DIGEST}"),
        ("ghcr.io", ImageRef("ghcr.io", None, None), "docker.io", "docker.io/library/ghcr.io"),  # a bare name is a repository
    ],
)  # fmt: skip
def test_parse_and_normalise(image, ref, registry, normalised):
    assert parse_image(image) == ref
    assert (explicit_registry(ref.name) or "docker.io") == registry
    assert registry_of(image) == registry
    assert normalise_image(image) == normalised


@pytest.mark.parametrize(
    "image,globs,expected",
    [
        ("nginx", ("docker.io/*",), "docker.io/*"),  # the implicit registry is matched
        ("nginx", ("docker.io/library/*",), "docker.io/library/*"),
        ("bitnami/redis:7", ("docker.io/bitnami/*",), "docker.io/bitnami/*"),
        ("nginx:1.25", ("nginx:*",), "nginx:*"),  # the reference as written is matched too
        ("index.docker.io/library/alpine", ("docker.io/*",), "docker.io/*"),
        ("quay.io/prometheus/node-exporter:v1", ("docker.io/*", "quay.io/*"), "quay.io/*"),
        ("mysecure-registry.com/a/b:1", ("mysecure-registry.com/*",), "mysecure-registry.com/*"),  # * spans '/'
        ("mysecure-registry.com.evil.example/a", ("mysecure-registry.com/*",), None),
        ("registry.example.com/mirror/docker.io/nginx", ("docker.io/*",), None),
        ("localhost:5000/app", ("localhost/*",), None),  # the port is part of the host
        ("quay.io/a/b", (), None),
    ],
)
def test_glob_semantics(image, globs, expected):
    assert image_matches(image, globs) == expected


def test_allowed_registries_from_config():
    config = parse_config({"images": {"allowed-registries": ["mysecure-registry.com/*", "docker.io/library/*"]}}, "c")
    text = _pod("mysecure-registry.com/app:1", "nginx:1.27", "bitnami/redis:7", "ghcr.io/x/y:1")
    assert _messages(text, "KW-I003", config) == [
        "container 'c2' image 'bitnami/redis:7' is not from an allowed registry (docker.io)",
        "container 'c3' image 'ghcr.io/x/y:1' is not from an allowed registry (ghcr.io)",
    ]
    assert _messages(text, "KW-I003") == []  # no allowlist: every registry is allowed


def test_denied_registries_from_config():
    config = parse_config({"images": {"denied-registries": ["docker.io/*"]}}, "c")
    text = _pod("nginx", "docker.io/library/busybox:1.36", "quay.io/a/b:1", "localhost:5000/app:1")
    assert _messages(text, "KW-I004", config) == [
        "container 'c0' image 'nginx' matches denied registry 'docker.io/*'",
        "container 'c1' image 'docker.io/library/busybox:1.36' matches denied registry 'docker.io/*'",
    ]
    assert _messages(text, "KW-I004") == []


def test_digest_severity_is_configurable():
    text = _pod("registry.example.com/app:1.0")
    (default,) = scan_text(text, only=["KW-I002"])[0].findings
    assert default.severity is Severity.LOW
    config = parse_config({"severity": {"image-not-pinned-by-digest": "high"}}, "c")
    (raised,) = scan_text(text, only=["KW-I002"], config=config)[0].findings
    assert raised.severity is Severity.HIGH
    assert raised.message == "container 'c0' image 'registry.example.com/app:1.0' is not pinned by digest"


@pytest.mark.parametrize(
    "spec,expected",
    [
        ("r.example.com/app:1.0", "IfNotPresent (the default for a tagged image)"),
        ("r.example.com/app:1.0|IfNotPresent", "IfNotPresent"),
        ("r.example.com/app:latest|IfNotPresent", "IfNotPresent"),
        ("r.example.com/app", None),  # untagged defaults to Always
        ("r.example.com/app:latest", None),
        ("r.example.com/app:1.0|Always", None),
        (f"r.example.com/app@{DIGEST}", None),  # pinned: the cache cannot be stale
        (f"r.example.com/app:1.0@{DIGEST}|IfNotPresent", None),
        ("r.example.com/app:1.0|Never", None),  # KW-I007's finding
        ("localhost:5000/app", None),  # the port is no tag: untagged, Always
    ],
)
def test_effective_pull_policy(spec, expected):
    messages = _messages(_pod(spec), "KW-I005")
    image = spec.partition("|")[0]
    assert messages == ([f"container 'c0' pulls {image!r} with imagePullPolicy {expected}"] if expected else [])


def test_pull_policy_never():
    assert _messages(_pod("r.example.com/app:1.0|Never"), "KW-I007") == [
        "container 'c0' runs 'r.example.com/app:1.0' from the node cache only (Never)"
    ]
    assert _messages(_pod("r.example.com/app:1.0|IfNotPresent"), "KW-I007") == []


def test_implicit_docker_hub():
    text = _pod("nginx", "bitnami/redis:7", "docker.io/bitnami/redis:7", "localhost/app", "localhost:5000/app", "r.example.com/a")
    assert _messages(text, "KW-I006") == [
        "container 'c0' image 'nginx' names no registry (implicitly docker.io)",
        "container 'c1' image 'bitnami/redis:7' names no registry (implicitly docker.io)",
    ]


@pytest.mark.parametrize(
    "image,i001,i008",
    [
        ("r.example.com/app:stable", False, True),
        ("r.example.com/app:LTS", False, True),
        ("r.example.com/app:develop", False, True),
        ("r.example.com/app:latest", True, False),  # KW-I001 alone
        ("r.example.com/app", True, False),
        (f"r.example.com/app:nightly@{DIGEST}", False, False),
        ("r.example.com/app:1.2.0-beta.1", False, False),
        ("r.example.com:5000/stable", True, False),  # a registry port, then an untagged repository
    ],
)
def test_floating_tags_do_not_duplicate_latest(image, i001, i008):
    result, _ = scan_text(_pod(image), only=["KW-I001", "KW-I008"])
    ids = [f.check_id for f in result.findings]
    assert ids == ["KW-I001"] * i001 + ["KW-I008"] * i008


def test_image_checks_skip_missing_and_odd_images():
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
    text += "  containers: [{name: a}, {name: b, image: 42}, {name: c, image: ''}]\n"
    result, _ = scan_text(text, only=["KW-I002", "KW-I005", "KW-I006", "KW-I007", "KW-I008"])
    assert result.findings == [] and result.errors == []


# -- Services ------------------------------------------------------------------


def _lb(annotations: dict[str, str], extra: str = "") -> str:
    meta = json.dumps({"name": "lb", "namespace": "shop", "annotations": annotations})
    return f"apiVersion: v1\nkind: Service\nmetadata: {meta}\nspec:\n  type: LoadBalancer\n{extra}  ports: [{{port: 443}}]\n"


@pytest.mark.parametrize(
    "key,value",
    [
        ("service.beta.kubernetes.io/aws-load-balancer-internal", "true"),
        ("service.beta.kubernetes.io/aws-load-balancer-internal", "0.0.0.0/0"),
        ("service.beta.kubernetes.io/aws-load-balancer-scheme", "internal"),
        ("service.beta.kubernetes.io/azure-load-balancer-internal", "true"),
        ("networking.gke.io/load-balancer-type", "Internal"),
        ("cloud.google.com/load-balancer-type", "Internal"),
    ],
)
def test_internal_load_balancers_are_not_reported(key, value):
    assert _messages(_lb({key: value}), "KW-N002") == []


@pytest.mark.parametrize(
    "key,value",
    [
        ("service.beta.kubernetes.io/aws-load-balancer-internal", "false"),
        ("service.beta.kubernetes.io/aws-load-balancer-scheme", "internet-facing"),
        ("service.beta.kubernetes.io/azure-load-balancer-internal", "false"),
        ("networking.gke.io/load-balancer-type", "External"),
        ("example.com/internal", "true"),
    ],
)
def test_public_load_balancers_are_reported(key, value):
    assert _messages(_lb({key: value}), "KW-N002") == [
        "LoadBalancer Service is open to any address (no loadBalancerSourceRanges)"
    ]


def test_source_ranges_field_wins_over_annotation():
    annotation = {"service.beta.kubernetes.io/load-balancer-source-ranges": "0.0.0.0/0"}
    # as Kubernetes does: the annotation is read only when the field is empty
    assert _messages(_lb(annotation, "  loadBalancerSourceRanges: [10.0.0.0/8]\n"), "KW-N002") == []
    result, _ = scan_text(_lb(annotation), only=["KW-N002"])
    (finding,) = result.findings
    assert finding.message == "LoadBalancer Service allows 0.0.0.0/0 (any address)"
    assert finding.path_str == "metadata.annotations.service.beta.kubernetes.io/load-balancer-source-ranges"
    assert _messages(_lb({}, "  loadBalancerSourceRanges: ['::/0']\n"), "KW-N002") == [
        "LoadBalancer Service allows ::/0 (any address)"
    ]


def test_external_ips_and_external_name_messages():
    text = (DATA / "checks" / "KW-N003" / "fail.yaml").read_text()
    assert _messages(text, "KW-N003") == ["Service claims external IPs 8.8.8.8"]
    text = (DATA / "checks" / "KW-N008" / "fail.yaml").read_text()
    assert _messages(text, "KW-N008") == ["ExternalName Service redirects DNS to 'metadata.google.internal'"]


@pytest.mark.parametrize(
    "selector,labels,expected",
    [
        ({"app": "shop"}, {"app": "shop", "tier": "web"}, True),
        ({"app": "shop", "tier": "web"}, {"app": "shop", "tier": "web"}, True),
        ({"app": "shop", "tier": "db"}, {"app": "shop", "tier": "web"}, False),
        ({"app": "shop", "tier": "web"}, {"app": "shop"}, False),
        ({"app": "shop"}, {"app": "Shop"}, False),
        ({}, {"app": "shop"}, False),  # an empty selector selects nothing
        (None, {"app": "shop"}, False),
        ({"app": "shop"}, {}, False),
        ({"app": "shop"}, None, False),
    ],
)
def test_selector_matches(selector, labels, expected):
    assert service_selects(selector, labels) is expected


def _deployment(name: str, namespace: str | None, labels: str, ports: str = "[]") -> str:
    ns = f", namespace: {namespace}" if namespace else ""
    return f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}{ns}}}
spec:
  template:
    metadata:
      labels: {labels}
    spec:
      containers:
        - name: app
          image: registry.example.com/{name}:1.0
          ports: {ports}
"""


def _service(name: str, namespace: str | None, selector: str, ports: str = "[{port: 80, targetPort: http}]") -> str:
    ns = f", namespace: {namespace}" if namespace else ""
    return f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}{ns}}}\nspec:\n  selector: {selector}\n  ports: {ports}\n"


def test_service_selection_is_namespace_aware():
    text = "---\n".join(
        [
            _deployment("web", "a", "{app: web}", "[{name: http, containerPort: 8080}]"),
            _deployment("web", "b", "{app: other}", "[{name: admin, containerPort: 9000}]"),
            _service("web", "b", "{app: web}"),  # the matching pods are in namespace a
            _service("web", "a", "{app: web}", "[{port: 80, targetPort: admin}]"),  # admin is declared in b only
            _service("orphan", "c", "{app: web}"),  # no workload of c: unknown
        ]
    )
    assert _messages(text, "KW-N007") == ["selector app=web selects no workload in namespace b"]
    assert _messages(text, "KW-N006") == ["targetPort 'admin' is not declared by Deployment/a/web"]


def test_objects_without_namespace_match_each_other_only():
    text = "---\n".join(
        [
            _deployment("web", None, "{app: web}", "[{name: http, containerPort: 8080}]"),
            _service("web", None, "{app: web}"),
            _service("web", "default", "{app: web}"),  # "default" is not assumed for objects without one
        ]
    )
    assert _messages(text, "KW-N007") == []
    assert _messages(text, "KW-N006") == []
    text = _deployment("web", None, "{app: web}") + "---\n" + _service("api", None, "{app: api}")
    assert _messages(text, "KW-N007") == ["selector app=api selects no workload in namespace (no namespace)"]


def test_target_port_by_number_name_and_default():
    text = "---\n".join(
        [
            _deployment("web", "a", "{app: web}", "[{name: http, containerPort: 8080}, {containerPort: 9090}]"),
            _deployment("worker", "a", "{app: web, role: worker}", "[{name: grpc, containerPort: 7000}]"),
            _service(
                "web",
                "a",
                "{app: web}",
                "[{port: 80, targetPort: http}, {port: 81, targetPort: 8080}, {port: 9090}, {port: 82, targetPort: grpc},"
                " {port: 83, targetPort: 8081}, {port: 8443}]",
            ),
        ]
    )
    result, _ = scan_text(text, only=["KW-N006"])
    assert [(f.path_str, f.message) for f in result.findings] == [
        ("spec.ports[4].targetPort", "targetPort 8081 is not declared by Deployment/a/web, Deployment/a/worker"),
        ("spec.ports[5].port", "targetPort 8443 (= port) is not declared by Deployment/a/web, Deployment/a/worker"),
    ]


def test_external_name_selector_is_ignored():
    text = _deployment("web", "a", "{app: web}") + "---\n"
    text += "apiVersion: v1\nkind: Service\nmetadata: {name: x, namespace: a}\nspec:\n  type: ExternalName\n"
    text += "  externalName: x.example.com\n  selector: {app: nope}\n  ports: [{port: 80}]\n"
    assert _messages(text, "KW-N007") == [] and _messages(text, "KW-N006") == []


# -- Ingresses -----------------------------------------------------------------


@pytest.mark.parametrize(
    "tls_host,host,covered",
    [
        ("shop.example.com", "shop.example.com", True),
        ("Shop.Example.com", "shop.example.COM", True),
        ("*.example.com", "shop.example.com", True),
        ("*.example.com", "example.com", False),  # the apex is not covered
        ("*.example.com", "a.b.example.com", False),  # one label only
        ("*.example.com", "*.example.com", True),
        ("*.example.com", "*.b.example.com", False),
        ("*.example.com", ".example.com", False),
        ("shop.example.com", "*.example.com", False),
        ("*.example.com", "shopexample.com", False),
        ("*.example.com", "shop.example.com.evil.io", False),
    ],
)
def test_tls_host_coverage(tls_host, host, covered):
    assert _tls_covers(tls_host, host) is covered


def test_ingress_tls_messages():
    text = (DATA / "checks" / "KW-N004" / "fail.yaml").read_text()
    result, _ = scan_text(text, only=["KW-N004"])
    assert [(f.resource.name, f.path_str, f.message) for f in result.findings] == [
        ("plain", "spec.tls", "Ingress has no spec.tls: it serves plain HTTP"),
        ("partial", "spec.rules[1].host", "host 'example.com' is not covered by spec.tls"),
        ("partial", "spec.rules[2].host", "host 'api.eu.example.com' is not covered by spec.tls"),
        ("legacy", "spec.tls", "Ingress has no spec.tls: it serves plain HTTP"),
    ]


def test_hostless_rule_is_reported_once_as_catch_all():
    text = """apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: i, namespace: a}
spec:
  tls: [{hosts: [a.example.com], secretName: t}]
  rules:
    - host: a.example.com
    - http: {paths: []}
"""
    result, _ = scan_text(text, only=["KW-N004", "KW-N005"])
    assert [(f.check_id, f.path_str, f.message) for f in result.findings] == [
        ("KW-N005", "spec.rules[1]", "rule 1 has no host: it serves every hostname")
    ]


SNIPPET = "location /t { alias /var/run/secrets/kubernetes.io/serviceaccount/token; } # s3cr3t-Pa55"


def test_nginx_snippet_text_is_never_reported(tmp_path):
    text = f"""apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: snippet
  namespace: shop
  annotations:
    nginx.ingress.kubernetes.io/auth-snippet: "{SNIPPET}"
    nginx.ingress.kubernetes.io/stream-snippet: "{SNIPPET}"
spec:
  rules: [{{host: shop.example.com}}]
"""
    path = tmp_path / "ingress.yaml"
    path.write_text(text)
    assert _messages(text, "KW-N009") == [
        "annotation nginx.ingress.kubernetes.io/auth-snippet injects raw nginx configuration",
        "annotation nginx.ingress.kubernetes.io/stream-snippet injects raw nginx configuration",
    ]
    for fmt in ("json", "sarif", "table"):
        res = run_cli("scan", str(path), "--check", "KW-N009", "-f", fmt)
        assert res.exit_code == 1 and "auth-snippet" in res.stdout
        assert "s3cr3t" not in res.stdout and "serviceaccount/token" not in res.stdout


def test_backend_services_are_matched_per_namespace():
    text = (DATA / "checks" / "KW-N010" / "fail.yaml").read_text()
    result, _ = scan_text(text, only=["KW-N010"])
    assert [(f.resource.name, f.path_str, f.message) for f in result.findings] == [
        ("shop", "spec.defaultBackend.service.name", "backend Service 'shop-fallback' is not defined in namespace shop"),
        (
            "shop",
            "spec.rules[0].http.paths[1].backend.service.name",
            "backend Service 'billing' is not defined in namespace shop",
        ),
        (
            "legacy",
            "spec.rules[0].http.paths[0].backend.serviceName",
            "backend Service 'legacy' is not defined in namespace shop",
        ),
    ]


# -- cross-resource checks after release ----------------------------------------

INVENTORY_CHECKS = ["KW-N006", "KW-N007", "KW-N010"]


def _found(findings) -> list[tuple[str, str, str, str]]:
    return sorted((f.check_id, f.resource.ref, f.path_str, f.message) for f in findings)


@pytest.mark.parametrize("check_id", INVENTORY_CHECKS)
@pytest.mark.parametrize("kind", ["fail", "pass"])
def test_inventory_checks_survive_release(tmp_path, check_id, kind):
    text = (DATA / "checks" / check_id / f"{kind}.yaml").read_text()
    path = tmp_path / f"{kind}.yaml"
    path.write_text(text)
    config = Config()
    released = scan_paths([str(path)], select_checks(config, only=[check_id]), config, jobs=1)
    in_memory, _ = scan_text(text, only=[check_id])
    assert not released.errors
    assert _found(released.findings) == _found(in_memory.findings)
    assert bool(released.findings) == (kind == "fail")
    assert all(f.line is not None and f.line >= 1 for f in released.findings)


def test_inventory_checks_together_after_release(tmp_path):
    """Selected together, their kinds and kept fields add up; each still finds what it finds alone."""
    for check_id in INVENTORY_CHECKS:
        (tmp_path / f"{check_id}.yaml").write_text((DATA / "checks" / check_id / "fail.yaml").read_text())
    config = Config()
    together = scan_paths([str(tmp_path)], select_checks(config, only=INVENTORY_CHECKS), config, jobs=1)
    alone = [
        f
        for cid in INVENTORY_CHECKS
        for f in scan_paths([str(tmp_path)], select_checks(config, only=[cid]), config, jobs=1).findings
    ]
    assert _found(together.findings) == _found(alone)
    assert {f.check_id for f in together.findings} == set(INVENTORY_CHECKS)


def test_workloads_are_released_to_their_facts():
    loaded = load_bytes((DATA / "checks" / "KW-N006" / "fail.yaml").read_bytes(), "x.yaml")
    config = Config()
    scanner = Scanner(select_checks(config, only=["KW-N006"]), config)
    scanner.check_resources(loaded.resources, release=True)
    deployment = loaded.resources[0]
    assert "spec" not in deployment.obj  # only its identity stays, and the facts taken before
    assert deployment.facts.labels == {"app.kubernetes.io/name": "shop", "app.kubernetes.io/component": "web"}
    assert deployment.facts.declared == {"http", 8080}
    assert deployment.facts.ports == (ContainerPort(8080, "TCP", "http"),)
    assert loaded.resources[2].obj["spec"]["ports"]  # the Service is kept whole
    findings, errors = scanner.check_inventory(Inventory(loaded.resources))
    assert not errors and len(findings) == 3


# -- odd input -----------------------------------------------------------------

leaf = (
    st.none()
    | st.booleans()
    | st.integers(-5, 70000)
    | st.text(max_size=12)
    | st.sampled_from(["LoadBalancer", "NodePort", "ExternalName", "*.a.b", "0.0.0.0/0"])
)
names = st.sampled_from(
    ["spec", "type", "selector", "ports", "port", "targetPort", "name", "externalIPs", "loadBalancerSourceRanges",
     "externalName", "tls", "hosts", "rules", "host", "http", "paths", "backend", "service", "serviceName",
     "defaultBackend", "template", "metadata", "labels", "containers", "initContainers", "containerPort", "app"]
)  # fmt: skip
tree = st.recursive(leaf, lambda c: st.lists(c, max_size=3) | st.dictionaries(names, c, max_size=4), max_leaves=30)
annotations = st.dictionaries(
    st.sampled_from(
        ["nginx.ingress.kubernetes.io/server-snippet", "service.beta.kubernetes.io/load-balancer-source-ranges",
         "service.beta.kubernetes.io/aws-load-balancer-internal", "networking.gke.io/load-balancer-type"]
    ),
    leaf | tree,
    max_size=3,
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["Service", "Ingress", "Deployment", "Pod"]), tree, annotations), max_size=4))
def test_random_services_and_ingresses_never_crash(documents):
    resources = []
    for i, (kind, body, notes) in enumerate(documents):
        obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": f"r{i}", "namespace": "a", "annotations": notes}}
        obj.update(body if isinstance(body, dict) else {"spec": body})
        resources.append(Resource(obj, "random.yaml", doc_index=i))
    config = parse_config({"images": {"allowed-registries": ["r.example.com/*"], "denied-registries": ["docker.io/*"]}}, "c")
    checks = select_checks(config, only=["tag:network", "tag:images"])
    result = scan(Inventory(resources), checks, config)
    assert not [e for e in result.errors if "could not" in e.message]
