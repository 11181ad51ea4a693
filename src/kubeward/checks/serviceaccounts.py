"""Service accounts: which one a pod runs as, and whether its token is mounted."""

from __future__ import annotations

from collections.abc import Iterator

from ..inventory import AUTOMOUNT, POD_SPEC_PATHS, WORKLOADS, Inventory, PodSpec, dig, kind_key, service_account_field
from ..model import Path, Resource, Severity, Violation
from .registry import check


def _name(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def service_account_of(pod: PodSpec) -> tuple[str, Path]:
    """The ServiceAccount a pod runs as, and the field that says so ("default", at
    serviceAccountName, when neither serviceAccountName nor serviceAccount names one)."""
    field = service_account_field(pod)
    if field is None:
        return "default", pod.at("serviceAccountName")
    return pod.spec[field], pod.at(field)


@check(
    id="KW-A001",
    slug="automount-service-account-token",
    title="Pods should not mount a service account token they do not need",
    severity=Severity.MEDIUM,
    scope="inventory",
    kinds=("ServiceAccount",),
    rationale="""Unless told otherwise, Kubernetes mounts an API token into every container. Most
        applications never call the API, but anyone who compromises them can read the token and act
        with the service account's permissions.""",
    remediation="Set automountServiceAccountToken: false on the pod spec (or its ServiceAccount) unless the pod calls the API.",
    example="""
        spec:
          serviceAccountName: app
          automountServiceAccountToken: false
    """,
    refs={"cis": "5.1.6", "nsa": "pod-security/service-account-tokens", "mitre": "T1528"},
    tags=("service-accounts",),
)
def automount_service_account_token(inventory: Inventory) -> Iterator[tuple[Resource, Violation]]:
    # the last definition of a ServiceAccount is the one applied
    accounts = {(sa.namespace, sa.name): sa.obj.get(AUTOMOUNT) for sa in inventory.kinds("ServiceAccount")}
    for workload, facts in inventory.workload_facts():
        name, own = facts.account, facts.automount
        # namespaces must match exactly: "" (unknown) only matches "", as both land in the same namespace
        key = (workload.namespace, name)
        if isinstance(own, bool):
            mounted, how = own, ": the pod spec sets automountServiceAccountToken: true"
        elif isinstance(accounts.get(key), bool):
            mounted, how = (
                accounts[key],
                f": ServiceAccount {name!r} sets {AUTOMOUNT}: true and the pod spec does not override it",
            )
        elif key in accounts:
            how = f" by default (neither the pod spec nor ServiceAccount {name!r} sets {AUTOMOUNT})"
            mounted = True
        else:
            how = f" by default (the pod spec does not set {AUTOMOUNT} and ServiceAccount {name!r} is not in the input)"
            mounted = True
        if mounted:
            path = (*POD_SPEC_PATHS[kind_key(workload)], AUTOMOUNT)
            yield workload, Violation(path, f"service account token is mounted{how}")


@check(
    id="KW-A002",
    slug="default-service-account",
    title="Pods should run as their own ServiceAccount, not the namespace's default",
    severity=Severity.LOW,
    kinds=WORKLOADS,
    rationale="""Every pod of a namespace that names no ServiceAccount shares "default": a permission
        granted to one of them is granted to all, and their API calls cannot be told apart in the
        audit log.""",
    remediation="Create a ServiceAccount for the workload and set serviceAccountName to it.",
    example="""
        spec:
          serviceAccountName: app
    """,
    refs={"cis": "5.1.5", "nsa": "authn-authz", "mitre": "T1078"},
    tags=("service-accounts",),
)
def default_service_account(pod: PodSpec) -> Iterator[Violation]:
    name, path = service_account_of(pod)
    if name == "default":
        how = f"{path[-1]}: default" if _name(pod.get(path[-1])) else "serviceAccountName is not set"
        yield Violation(path, f"pod runs as the namespace's default ServiceAccount ({how})")


@check(
    id="KW-A003",
    slug="legacy-token-secret",
    title="Service account tokens should not be stored in long-lived Secrets",
    severity=Severity.MEDIUM,
    kinds=("Secret",),
    rationale="""A Secret of type kubernetes.io/service-account-token holds a token that never expires
        and stays valid until the Secret is deleted; anyone who reads it once keeps the account's
        access. Projected tokens from the TokenRequest API are short-lived and bound to the pod.""",
    remediation="Delete the Secret and use projected service account tokens (or kubectl create token) instead.",
    example="""
        volumes:
          - name: token
            projected:
              sources:
                - serviceAccountToken: {path: token, expirationSeconds: 3600}
    """,
    refs={"cis": "5.1.6", "nsa": "pod-security/service-account-tokens", "mitre": "T1528"},
    tags=("service-accounts", "secrets"),
)
def legacy_token_secret(secret: Resource) -> Iterator[Violation]:
    if secret.obj.get("type") == "kubernetes.io/service-account-token":
        account = dig(secret.metadata, "annotations", "kubernetes.io/service-account.name")
        target = f" for ServiceAccount {account!r}" if isinstance(account, str) else ""
        yield Violation(("type",), f"Secret {secret.name!r} holds a long-lived service account token{target}")


@check(
    id="KW-A004",
    slug="service-account-automount",
    title="ServiceAccounts should not automount their token by default",
    severity=Severity.LOW,
    kinds=("ServiceAccount",),
    rationale="""automountServiceAccountToken: false on the ServiceAccount makes not mounting the token
        the default for every pod using it; pods that need the API opt back in on their own spec.""",
    remediation="Set automountServiceAccountToken: false on the ServiceAccount.",
    example="""
        apiVersion: v1
        kind: ServiceAccount
        metadata: {name: app, namespace: shop}
        automountServiceAccountToken: false
    """,
    refs={"cis": "5.1.6", "nsa": "pod-security/service-account-tokens", "mitre": "T1528"},
    tags=("service-accounts",),
)
def service_account_automount(sa: Resource) -> Iterator[Violation]:
    value = sa.obj.get(AUTOMOUNT)
    if value is not False:
        how = "sets automountServiceAccountToken: true" if value is True else "does not set automountServiceAccountToken: false"
        yield Violation((AUTOMOUNT,), f"ServiceAccount {sa.name!r} {how}")


@check(
    id="KW-A005",
    slug="deprecated-service-account-field",
    title="Pods should use serviceAccountName, not the deprecated serviceAccount",
    severity=Severity.LOW,
    kinds=WORKLOADS,
    rationale="""spec.serviceAccount is a deprecated alias that the API server ignores whenever
        serviceAccountName is set. Reviewers and policies that read one field can be misled about
        which account, and which permissions, the pod really gets.""",
    remediation="Replace serviceAccount with serviceAccountName.",
    example="""
        spec:
          serviceAccountName: app
    """,
    refs={"nsa": "authn-authz", "mitre": "T1078"},
    tags=("service-accounts",),
)
def deprecated_service_account_field(pod: PodSpec) -> Iterator[Violation]:
    deprecated, name = _name(pod.get("serviceAccount")), _name(pod.get("serviceAccountName"))
    if deprecated is None:
        return
    if name is None:
        message = f"pod uses the deprecated field serviceAccount ({deprecated!r}); use serviceAccountName"
    elif name != deprecated:
        message = f"deprecated serviceAccount {deprecated!r} is ignored: serviceAccountName {name!r} wins"
    else:
        # the API server copies serviceAccountName into serviceAccount on every read:
        # an exported object (kubectl get -o yaml) always carries both, and that is not a defect
        return
    yield Violation(pod.at("serviceAccount"), message)
