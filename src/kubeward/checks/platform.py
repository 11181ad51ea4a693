"""The cluster platform: admission webhooks, aggregated APIs, the Dashboard, API versions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from ..inventory import WORKLOADS, PodSpec, dig, mapping
from ..model import Resource, Severity, Violation
from .registry import check

if TYPE_CHECKING:
    from ..config import Config

WEBHOOK_KINDS = frozenset({"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"})
# Names that say "this webhook enforces a security policy".
SECURITY_WEBHOOK = re.compile(
    r"gatekeeper|kyverno|kubeward|polic|security|\bopa\b|validat|admission-controller|\bpsp\b"
    r"|image-policy|cosign|sigstore|notary|falco",
    re.IGNORECASE,
)
NAME_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every namespace
DASHBOARD = "kubernetes-dashboard"
DASHBOARD_FLAGS = {
    "--enable-skip-login": "lets anyone reaching the Dashboard skip login and act as its service account",
    "--enable-insecure-login": "accepts logins over plain HTTP, where tokens travel in clear text",
}
GO_TRUE = {"1", "t", "T", "TRUE", "true", "True"}  # strconv.ParseBool, as the Dashboard's flags parse


def _webhooks(resource: Resource) -> Iterator[tuple[int, dict[str, Any], str]]:
    """(index, webhook, name) for every webhook of a webhook configuration."""
    items = resource.obj.get("webhooks")
    for i, hook in enumerate(items if isinstance(items, list) else []):
        if isinstance(hook, dict):
            name = hook.get("name")
            yield i, hook, name if isinstance(name, str) else f"#{i}"


@check(
    id="KW-K001",
    slug="webhook-failure-open",
    title="Security policy webhooks must fail closed",
    severity=Severity.MEDIUM,
    kinds=WEBHOOK_KINDS,
    rationale="""With failurePolicy: Ignore the API server admits the object whenever the webhook
        errors or times out, so an attacker who slows or crashes the policy engine (Gatekeeper,
        Kyverno, an image-signature verifier) deploys what the policy forbids. The default is
        Fail in admissionregistration.k8s.io/v1 but Ignore in v1beta1.""",
    remediation="Set failurePolicy: Fail on policy webhooks and run them highly available.",
    example="""
        webhooks:
          - name: validation.gatekeeper.sh
            failurePolicy: Fail
    """,
    refs={"nsa": "pod-security/enforcement", "mitre": "T1562.001"},
    tags=("platform", "webhooks"),
)
def webhook_failure_open(resource: Resource) -> Iterator[Violation]:
    default = "Ignore" if resource.api_version == "admissionregistration.k8s.io/v1beta1" else "Fail"
    for i, hook, name in _webhooks(resource):
        policy = hook.get("failurePolicy")
        if policy is None:
            policy = default
        if policy != "Ignore":
            continue
        service = dig(hook, "clientConfig", "service", "name")
        names = (name, resource.name, service if isinstance(service, str) else "")
        if any(SECURITY_WEBHOOK.search(n) for n in names):
            how = (
                "failurePolicy: Ignore"
                if hook.get("failurePolicy") is not None
                else "failurePolicy defaults to Ignore in v1beta1"
            )
            yield Violation(("webhooks", i, "failurePolicy"), f"policy webhook {name!r} fails open ({how})")


def _excludes_kube_system(selector: dict[str, Any]) -> bool:
    """Does this namespaceSelector leave kube-system out, whatever labels kube-system carries?

    Only the name label is trusted: other labels (control-plane, name...) may be absent."""
    if NAME_LABEL in mapping(selector.get("matchLabels")):
        return selector["matchLabels"][NAME_LABEL] != "kube-system"
    expressions = selector.get("matchExpressions")
    for expr in expressions if isinstance(expressions, list) else []:
        values = mapping(expr).get("values")
        if mapping(expr).get("key") != NAME_LABEL or not isinstance(values, list):
            continue
        operator = expr.get("operator")
        if (operator == "NotIn" and "kube-system" in values) or (operator == "In" and "kube-system" not in values):
            return True
    return False


def _cluster_scoped_only(hook: dict[str, Any]) -> bool:
    rules = hook.get("rules")
    return isinstance(rules, list) and bool(rules) and all(mapping(r).get("scope") == "Cluster" for r in rules)


@check(
    id="KW-K002",
    slug="webhook-intercepts-kube-system",
    title="Admission webhooks should exclude kube-system",
    severity=Severity.LOW,
    kinds=WEBHOOK_KINDS,
    rationale="""A webhook that also intercepts kube-system sits in the path of the control plane's
        own objects: when it is down or slow, system pods, leases and config updates can be
        rejected, and the webhook that should be repaired may itself be blocked. Only the
        kubernetes.io/metadata.name label is guaranteed on kube-system; other labels are not.""",
    remediation="Add a namespaceSelector with kubernetes.io/metadata.name NotIn [kube-system].",
    example="""
        namespaceSelector:
          matchExpressions:
            - key: kubernetes.io/metadata.name
              operator: NotIn
              values: [kube-system]
    """,
    refs={"nsa": "network/control-plane", "mitre": "T1499"},
    tags=("platform", "webhooks"),
)
def webhook_intercepts_kube_system(resource: Resource) -> Iterator[Violation]:
    for i, hook, name in _webhooks(resource):
        if _cluster_scoped_only(hook) or _excludes_kube_system(mapping(hook.get("namespaceSelector"))):
            continue
        message = f"webhook {name!r} also intercepts kube-system (its namespaceSelector does not exclude it by {NAME_LABEL})"
        yield Violation(("webhooks", i, "namespaceSelector"), message)


def _flag_enabled(arg: str, flag: str) -> bool:
    # bool flags: "--flag" alone means true; "--flag=value" parses value like Go's strconv.ParseBool
    return arg == flag or (arg.startswith(flag + "=") and arg[len(flag) + 1 :] in GO_TRUE)


@check(
    id="KW-K003",
    slug="dashboard-skip-login",
    title="The Kubernetes Dashboard must require login",
    severity=Severity.CRITICAL,
    kinds=WORKLOADS,
    rationale="""--enable-skip-login puts a "Skip" button on the Dashboard's login page: anyone who
        reaches it acts with the Dashboard's own service account, which many installs bind to broad
        or cluster-admin rights. --enable-insecure-login allows logins over plain HTTP, exposing
        bearer tokens on the wire.""",
    remediation="Remove --enable-skip-login and --enable-insecure-login; log in with short-lived tokens or OIDC.",
    example="""
        args:
          - --auto-generate-certificates
          - --namespace=kubernetes-dashboard
    """,
    refs={"nsa": "authn-authz", "mitre": "T1133"},
    tags=("platform", "dashboard"),
)
def dashboard_skip_login(pod: PodSpec) -> Iterator[Violation]:
    for c in pod.containers():
        for field in ("command", "args"):
            items = c.data.get(field)
            for i, item in enumerate(items if isinstance(items, list) else []):
                if not isinstance(item, str) or not any(flag in item for flag in DASHBOARD_FLAGS):
                    continue  # most arguments name neither flag: skip them without splitting them into words
                words = item.split()  # also "sh -c '... --flag'"
                for flag, effect in DASHBOARD_FLAGS.items():
                    if any(_flag_enabled(w.strip("'\""), flag) for w in words):
                        yield Violation(c.at(field, i), f"container {c.name!r} runs with {flag}: it {effect}", c.name)


@check(
    id="KW-K004",
    slug="dashboard-exposed",
    title="The Kubernetes Dashboard must not be exposed outside the cluster",
    severity=Severity.HIGH,
    kinds={"Service"},
    rationale="""A NodePort or LoadBalancer Service puts the Dashboard, a full cluster management UI,
        on every node's address or the Internet, where Internet-wide scanners look for it.
        Reach it through kubectl port-forward, kubectl proxy or an authenticating proxy.""",
    remediation="Make the Dashboard Service ClusterIP and reach it with kubectl port-forward or an authenticating proxy.",
    example="""
        spec:
          type: ClusterIP
    """,
    refs={"nsa": "network/control-plane", "mitre": "T1133"},
    tags=("platform", "dashboard"),
)
def dashboard_exposed(resource: Resource) -> Iterator[Violation]:
    kind = dig(resource.obj, "spec", "type")
    if kind not in ("NodePort", "LoadBalancer"):
        return
    labels = mapping(resource.metadata.get("labels"))
    selector = mapping(dig(resource.obj, "spec", "selector"))
    values = (resource.name, *labels.values(), *selector.values())
    if any(isinstance(v, str) and DASHBOARD in v for v in values):
        yield Violation(("spec", "type"), f"Service {resource.name!r} exposes the Kubernetes Dashboard as {kind}")


class ApiLifecycle(NamedTuple):
    deprecated: tuple[int, int]
    removed: tuple[int, int]
    replacement: str


# Removed-in and replacements: the Kubernetes "Deprecated API Migration Guide",
# https://kubernetes.io/docs/reference/using-api/deprecation-guide/ (v1.16 to v1.32).
# Deprecated-in: the release from which the API server warns "<api> <kind> is deprecated in
# v1.N+", i.e. the prerelease-lifecycle tags of k8s.io/api (zz_generated.prerelease-lifecycle.go).
# (apiVersion, kinds, deprecated in 1.N, removed in 1.N, replacement)
_FLOWCONTROL_V1 = "flowcontrol.apiserver.k8s.io/v1 (v1.29+; v1beta3 before)"
_API_TABLE = [
    ("extensions/v1beta1", ("Deployment", "DaemonSet", "ReplicaSet"), 8, 16, "apps/v1"),
    ("extensions/v1beta1", ("NetworkPolicy",), 9, 16, "networking.k8s.io/v1"),
    ("extensions/v1beta1", ("PodSecurityPolicy",), 11, 16, "Pod Security Admission (policy/v1beta1 before v1.25)"),
    ("extensions/v1beta1", ("Ingress",), 14, 22, "networking.k8s.io/v1"),
    ("apps/v1beta1", ("Deployment", "StatefulSet", "ReplicaSet", "ControllerRevision"), 8, 16, "apps/v1"),
    ("apps/v1beta2", ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ControllerRevision"), 9, 16, "apps/v1"),
    ("networking.k8s.io/v1beta1", ("Ingress", "IngressClass"), 19, 22, "networking.k8s.io/v1"),
    (
        "admissionregistration.k8s.io/v1beta1",
        ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"),
        16,
        22,
        "admissionregistration.k8s.io/v1",
    ),
    ("apiextensions.k8s.io/v1beta1", ("CustomResourceDefinition",), 16, 22, "apiextensions.k8s.io/v1"),
    ("apiregistration.k8s.io/v1beta1", ("APIService",), 19, 22, "apiregistration.k8s.io/v1"),
    ("authentication.k8s.io/v1beta1", ("TokenReview",), 19, 22, "authentication.k8s.io/v1"),
    (
        "authorization.k8s.io/v1beta1",
        ("SubjectAccessReview", "LocalSubjectAccessReview", "SelfSubjectAccessReview"),
        19,
        22,
        "authorization.k8s.io/v1",
    ),
    ("certificates.k8s.io/v1beta1", ("CertificateSigningRequest",), 19, 22, "certificates.k8s.io/v1"),
    ("coordination.k8s.io/v1beta1", ("Lease",), 19, 22, "coordination.k8s.io/v1"),
    (
        "rbac.authorization.k8s.io/v1beta1",
        ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"),
        17,
        22,
        "rbac.authorization.k8s.io/v1",
    ),
    ("scheduling.k8s.io/v1beta1", ("PriorityClass",), 14, 22, "scheduling.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", ("CSINode",), 17, 22, "storage.k8s.io/v1"),
    ("storage.k8s.io/v1beta1", ("CSIDriver", "StorageClass", "VolumeAttachment"), 19, 22, "storage.k8s.io/v1"),
    ("batch/v1beta1", ("CronJob",), 21, 25, "batch/v1"),
    ("discovery.k8s.io/v1beta1", ("EndpointSlice",), 21, 25, "discovery.k8s.io/v1"),
    ("events.k8s.io/v1beta1", ("Event",), 22, 25, "events.k8s.io/v1"),
    ("autoscaling/v2beta1", ("HorizontalPodAutoscaler",), 22, 25, "autoscaling/v2"),
    ("policy/v1beta1", ("PodDisruptionBudget",), 21, 25, "policy/v1"),
    ("policy/v1beta1", ("PodSecurityPolicy",), 21, 25, "Pod Security Admission"),
    ("node.k8s.io/v1beta1", ("RuntimeClass",), 22, 25, "node.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta1", ("FlowSchema", "PriorityLevelConfiguration"), 23, 26, _FLOWCONTROL_V1),
    ("autoscaling/v2beta2", ("HorizontalPodAutoscaler",), 23, 26, "autoscaling/v2"),
    ("storage.k8s.io/v1beta1", ("CSIStorageCapacity",), 24, 27, "storage.k8s.io/v1"),
    ("flowcontrol.apiserver.k8s.io/v1beta2", ("FlowSchema", "PriorityLevelConfiguration"), 26, 29, _FLOWCONTROL_V1),
    (
        "flowcontrol.apiserver.k8s.io/v1beta3",
        ("FlowSchema", "PriorityLevelConfiguration"),
        29,
        32,
        "flowcontrol.apiserver.k8s.io/v1",
    ),
]
DEPRECATED_APIS: dict[tuple[str, str], ApiLifecycle] = {
    (api, kind): ApiLifecycle((1, deprecated), (1, removed), replacement)
    for api, kinds, deprecated, removed, replacement in _API_TABLE
    for kind in kinds
}
API_KINDS = frozenset(kind for _, kind in DEPRECATED_APIS)
NEWEST_VERSION = max(max(e.deprecated, e.removed) for e in DEPRECATED_APIS.values())


def _lifecycle(subject: Resource | PodSpec, config: Config) -> tuple[Resource, ApiLifecycle, tuple[int, int]] | None:
    resource = subject.resource if isinstance(subject, PodSpec) else subject  # workloads arrive as PodSpec
    entry = DEPRECATED_APIS.get((resource.api_version, resource.kind))
    if entry is None:
        return None
    return resource, entry, config.kubernetes_version or NEWEST_VERSION


def _v(version: tuple[int, int]) -> str:
    return f"v{version[0]}.{version[1]}"


@check(
    id="KW-K005",
    slug="deprecated-api-version",
    title="Objects should not use API versions deprecated at the target Kubernetes version",
    severity=Severity.LOW,
    kinds=API_KINDS,
    rationale="""A deprecated API version still works but is scheduled for removal: manifests that
        use it will be refused after an upgrade, and clusters that cannot upgrade stay on
        releases that no longer get security fixes. Set the target with kubernetes-version
        (or --kubernetes-version); without one, the newest version kubeward knows is assumed.""",
    remediation="Move the manifest to the replacement API version named in the finding (kubectl convert helps).",
    example="""
        apiVersion: batch/v1
        kind: CronJob
    """,
    refs={"nsa": "upgrading", "mitre": "T1068"},
    tags=("platform", "api-versions"),
    takes_config=True,
)
def deprecated_api_version(subject: Resource | PodSpec, config: Config) -> Iterator[Violation]:
    found = _lifecycle(subject, config)
    if found is None:
        return
    resource, entry, target = found
    if entry.deprecated <= target < entry.removed:
        yield Violation(
            ("apiVersion",),
            f"{resource.api_version} {resource.kind} is deprecated since {_v(entry.deprecated)} and removed in "
            f"{_v(entry.removed)}; use {entry.replacement}",
        )


@check(
    id="KW-K006",
    slug="removed-api-version",
    title="Objects must not use API versions removed at the target Kubernetes version",
    severity=Severity.HIGH,
    kinds=API_KINDS,
    rationale="""The API server no longer serves a removed API version: applying the manifest fails,
        and the workload, policy or RBAC rule it defines is missing from the upgraded cluster
        (a PodDisruptionBudget or NetworkPolicy that was never created protects nothing). Set
        the target with kubernetes-version (or --kubernetes-version); without one, the newest
        version kubeward knows is assumed.""",
    remediation="Move the manifest to the replacement API version named in the finding (kubectl convert helps).",
    example="""
        apiVersion: networking.k8s.io/v1
        kind: Ingress
    """,
    refs={"nsa": "upgrading", "mitre": "T1068"},
    tags=("platform", "api-versions"),
    takes_config=True,
)
def removed_api_version(subject: Resource | PodSpec, config: Config) -> Iterator[Violation]:
    found = _lifecycle(subject, config)
    if found is None:
        return
    resource, entry, target = found
    if target >= entry.removed:
        yield Violation(
            ("apiVersion",),
            f"{resource.api_version} {resource.kind} was removed in {_v(entry.removed)}; use {entry.replacement}",
        )


def _webhook_urls(resource: Resource) -> Iterator[tuple[tuple[str | int, ...], str, Any]]:
    if resource.kind == "CustomResourceDefinition":  # conversion webhooks carry custom resources
        path = ("spec", "conversion", "webhook", "clientConfig", "url")
        yield path, "conversion webhook", dig(resource.obj, *path)
    else:
        for i, hook, name in _webhooks(resource):
            yield ("webhooks", i, "clientConfig", "url"), f"webhook {name!r}", dig(hook, "clientConfig", "url")


@check(
    id="KW-K007",
    slug="webhook-insecure-url",
    title="Webhooks must be called over HTTPS",
    severity=Severity.HIGH,
    kinds=WEBHOOK_KINDS | {"CustomResourceDefinition"},
    rationale="""The API server sends webhooks whole objects, Secrets included, and obeys their
        answers: over http:// anyone on the path reads them and can admit, mutate or convert
        objects at will. (Current API servers refuse http:// webhook URLs, so such a manifest
        also fails to apply.)""",
    remediation="Serve the webhook over HTTPS with a caBundle, or reference it through clientConfig.service.",
    example="""
        clientConfig:
          url: https://policy.example.com/validate
          caBundle: LS0tLS1CRUdJTi...
    """,
    refs={"nsa": "network/control-plane", "mitre": "T1557"},
    tags=("platform", "webhooks"),
)
def webhook_insecure_url(resource: Resource) -> Iterator[Violation]:
    for path, what, url in _webhook_urls(resource):
        if isinstance(url, str) and url.strip().lower().startswith("http://"):
            try:
                host = urlsplit(url.strip()).hostname or "?"
            except ValueError:
                host = "?"
            # the host only: a URL may carry tokens in its path or query
            yield Violation(path, f"{what} is called over plain http (host {host!r})")


@check(
    id="KW-K008",
    slug="apiservice-insecure-tls",
    title="Aggregated APIs must verify their backend's TLS certificate",
    severity=Severity.HIGH,
    kinds={"APIService"},
    rationale="""With insecureSkipTLSVerify the API server proxies requests, with the caller's
        identity, to whatever answers at the service address: anyone able to impersonate or
        intercept that service (a rogue pod, a hijacked endpoint) serves the whole API group.""",
    remediation="Remove insecureSkipTLSVerify and set spec.caBundle to the CA that signed the service's certificate.",
    example="""
        spec:
          insecureSkipTLSVerify: false
          caBundle: LS0tLS1CRUdJTi...
    """,
    refs={"nsa": "network/control-plane", "mitre": "T1557"},
    tags=("platform",),
)
def apiservice_insecure_tls(resource: Resource) -> Iterator[Violation]:
    if dig(resource.obj, "spec", "insecureSkipTLSVerify") is True:
        service = mapping(dig(resource.obj, "spec", "service"))
        target = "/".join(str(service.get(k)) for k in ("namespace", "name") if service.get(k)) or "its backend"
        yield Violation(("spec", "insecureSkipTLSVerify"), f"APIService {resource.name!r} skips TLS verification of {target}")
