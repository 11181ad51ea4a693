"""RBAC: risky permissions, who runs with them, and bindings that grant nothing.

Every check reads one shared :class:`~kubeward.analysis.rbacrisk.Assessment`
of the inventory (built once per scan): each binding's subjects against every
rule of the bound role, ClusterRole aggregation resolved, the API server's
bootstrap ClusterRoles known. A finding points at the subject of the binding
that grants the permission (``subjects[i]``) and names the rule. Grants to
platform-default subjects (the control plane's own identities, bootstrap
bindings) are left out; ``kubeward rbac risks --include-system`` shows them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..analysis.rbac import RbacModel
from ..analysis.rbacrisk import CHECK_SEVERITY, Assessment
from ..inventory import Inventory
from ..model import Resource, Severity, Violation
from .registry import check

KINDS = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ServiceAccount", "Service", "Ingress")


def _hits(check_id: str) -> Callable[[Inventory], Iterator[tuple[Resource, Violation]]]:
    def run(inventory: Inventory) -> Iterator[tuple[Resource, Violation]]:
        for hit in Assessment.of(inventory).findings(check_id):
            yield hit.binding.resource, Violation(hit.grant.path, hit.message())

    run.__name__ = "rbac_" + check_id[3:].lower()
    return run


def _register(id: str, slug: str, title: str, rationale: str, remediation: str, refs: dict[str, str], example: str) -> None:
    check(
        id=id,
        slug=slug,
        title=title,
        severity=CHECK_SEVERITY[id],
        scope="inventory",
        kinds=KINDS,
        rationale=rationale,
        remediation=remediation,
        refs=refs,
        example=example,
        tags=("rbac",),
    )(_hits(id))


_NARROW_ROLE = """
    apiVersion: rbac.authorization.k8s.io/v1
    kind: Role
    metadata: {name: app, namespace: shop}
    rules:
      - apiGroups: [""]
        resources: [configmaps]
        resourceNames: [app-config]
        verbs: [get]
"""

_register(
    "KW-R001",
    "rbac-cluster-admin",
    "Only platform identities should hold cluster-admin (every verb on every resource)",
    """A rule with verbs, apiGroups and resources all "*" bound cluster-wide (cluster-admin is one) lets
    the subject do anything: read every Secret, run privileged pods on any node, and rewrite RBAC
    itself. A stolen token or a compromised pod running as such a subject owns the cluster.""",
    "Bind a role that lists the verbs and resources the subject needs, in the namespaces it needs them.",
    {"cis": "5.1.1, 5.1.3", "nsa": "authn-authz", "mitre": "T1078"},
    _NARROW_ROLE,
)
_register(
    "KW-R002",
    "rbac-anonymous-or-authenticated",
    "Roles should not be bound to system:anonymous, system:unauthenticated or system:authenticated",
    """system:authenticated holds every user and every service account of every namespace;
    system:unauthenticated and system:anonymous are requests with no credentials at all. A role bound
    to them is granted to everyone who can reach the API server.""",
    "Bind the role to the users, groups or service accounts that need it instead.",
    {"cis": "5.1.1", "nsa": "authn-authz", "mitre": "T1078"},
    """
    subjects:
      - kind: Group
        apiGroup: rbac.authorization.k8s.io
        name: shop-developers
    """,
)
_register(
    "KW-R003",
    "rbac-secrets-read",
    "Reading Secrets (get, list, watch) should be granted sparingly",
    """get, list or watch on secrets returns their values: credentials, TLS keys and, where legacy
    token Secrets exist, service account tokens of the namespace. list and watch return every Secret
    at once.""",
    "Drop secrets from the role, or limit it to get with resourceNames naming the Secrets the workload needs.",
    {"cis": "5.1.2", "nsa": "authn-authz", "mitre": "T1552.007"},
    """
    rules:
      - apiGroups: [""]
        resources: [secrets]
        resourceNames: [app-db]
        verbs: [get]
    """,
)
_register(
    "KW-R004",
    "rbac-create-pods",
    "Creating pods or pod controllers should be granted sparingly",
    """Whoever can create a pod (or a Deployment, Job, DaemonSet... that creates one) in a namespace can
    run it as any ServiceAccount of that namespace, mount its token and act with its permissions,
    and, unless Pod Security forbids it, mount the node's filesystem.""",
    "Grant create on pods and workloads only to deployment pipelines, and enforce Pod Security in the namespace.",
    {"cis": "5.1.4", "nsa": "authn-authz", "mitre": "T1610"},
    """
    rules:
      - apiGroups: [apps]
        resources: [deployments]
        verbs: [get, list, watch]
    """,
)
_register(
    "KW-R005",
    "rbac-pod-exec",
    "exec, attach, port-forward and ephemeral containers should be granted sparingly",
    """pods/exec, pods/attach and pods/portforward open a shell or a tunnel into running containers,
    with their files, environment and mounted service account tokens; pods/ephemeralcontainers
    adds a container of one's choosing to a running pod.""",
    "Remove pods/exec, pods/attach, pods/portforward and pods/ephemeralcontainers from everyday roles; grant them just in time.",
    {"nsa": "authn-authz", "mitre": "T1609"},
    """
    rules:
      - apiGroups: [""]
        resources: [pods, pods/log]
        verbs: [get, list]
    """,
)
_register(
    "KW-R006",
    "rbac-escalate-bind",
    "The escalate and bind verbs should not be granted",
    """RBAC stops a subject from granting permissions it does not hold, except for escalate (edit a
    role beyond one's own permissions) and bind (bind any role, such as cluster-admin). Either one
    is a direct path to every permission of its scope.""",
    "Remove escalate and bind; let a controller or administrator with the permissions create bindings.",
    {"cis": "5.1.8", "nsa": "authn-authz", "mitre": "T1098.006"},
    """
    rules:
      - apiGroups: [rbac.authorization.k8s.io]
        resources: [rolebindings]
        verbs: [get, list]
    """,
)
_register(
    "KW-R007",
    "rbac-impersonate",
    "Impersonating users or groups should not be granted",
    """impersonate on users or groups lets the subject send requests as any user and any group,
    system:masters included, which is cluster-admin.""",
    "Remove impersonate, or limit it with resourceNames to the identities a tool must act as.",
    {"cis": "5.1.8", "nsa": "authn-authz", "mitre": "T1078"},
    """
    rules:
      - apiGroups: [""]
        resources: [users]
        resourceNames: [ci-readonly]
        verbs: [impersonate]
    """,
)
_register(
    "KW-R008",
    "rbac-nodes-proxy",
    "Access to nodes/proxy should not be granted",
    """nodes/proxy reaches the kubelet API of every node through the API server: it can run commands
    in any container of the node (/exec, /run), bypassing admission control and audit of pod exec.""",
    "Grant nodes/metrics or nodes/stats for monitoring instead of nodes/proxy.",
    {"cis": "5.1.10", "nsa": "authn-authz", "mitre": "T1609"},
    """
    rules:
      - apiGroups: [""]
        resources: [nodes/metrics, nodes/stats]
        verbs: [get]
    """,
)
_register(
    "KW-R009",
    "rbac-service-account-token",
    "Creating service account tokens or impersonating service accounts should be granted sparingly",
    """create on serviceaccounts/token issues a fresh token for any ServiceAccount of the scope, and
    impersonate on serviceaccounts acts as one: either grants the permissions of every
    ServiceAccount there.""",
    "Remove the permission or limit it with resourceNames to the ServiceAccounts concerned.",
    {"cis": "5.1.13", "nsa": "authn-authz", "mitre": "T1528"},
    """
    rules:
      - apiGroups: [""]
        resources: [serviceaccounts/token]
        resourceNames: [deployer]
        verbs: [create]
    """,
)
_register(
    "KW-R010",
    "rbac-csr-approve",
    "Approving certificate signing requests should be limited to the control plane",
    """update on certificatesigningrequests/approval together with approve on a signer lets the
    subject approve a CSR for a client certificate with any user name and group, system:masters
    included; such a certificate cannot be revoked.""",
    "Leave CSR approval to the controller manager; grant it to people only for specific signers, just in time.",
    {"cis": "5.1.11", "nsa": "authn-authz", "mitre": "T1649"},
    """
    rules:
      - apiGroups: [certificates.k8s.io]
        resources: [certificatesigningrequests]
        verbs: [get, list, watch]
    """,
)
_register(
    "KW-R011",
    "rbac-webhook-config",
    "Editing admission webhook configurations should be limited",
    """Whoever edits ValidatingWebhookConfigurations or MutatingWebhookConfigurations can switch off
    policy enforcement, or route every object of the cluster, Secrets included, to a webhook of
    their choosing that can also rewrite them.""",
    "Limit webhook configuration changes to the operators that own them, with resourceNames.",
    {"cis": "5.1.12", "nsa": "authn-authz", "mitre": "T1562.001"},
    """
    rules:
      - apiGroups: [admissionregistration.k8s.io]
        resources: [validatingwebhookconfigurations]
        resourceNames: [my-operator]
        verbs: [get, update]
    """,
)
_register(
    "KW-R012",
    "rbac-edit-rbac",
    "Editing Roles and bindings should be limited to administrators",
    """Whoever writes Roles and RoleBindings can hand the permissions they hold to anyone, including
    themselves under another identity, and remove others' access. Escalation prevention limits it to
    the writer's own permissions, unless escalate or bind is granted as well.""",
    "Manage RBAC objects through a reviewed pipeline; grant create/update/patch on them to that pipeline only.",
    {"cis": "5.1.8", "nsa": "authn-authz", "mitre": "T1098.006"},
    """
    rules:
      - apiGroups: [rbac.authorization.k8s.io]
        resources: [roles, rolebindings]
        verbs: [get, list, watch]
    """,
)
_register(
    "KW-R013",
    "rbac-create-persistent-volumes",
    "Creating PersistentVolumes should be limited to storage provisioners",
    """A PersistentVolume can be a hostPath: whoever creates one and a claim bound to it mounts any
    directory of the node into a pod, which Pod Security does not see.""",
    "Let a provisioner create volumes from StorageClasses; grant create on persistentvolumes to no one else.",
    {"cis": "5.1.9", "nsa": "authn-authz", "mitre": "T1611"},
    """
    rules:
      - apiGroups: [""]
        resources: [persistentvolumeclaims]
        verbs: [create]
    """,
)
_register(
    "KW-R014",
    "rbac-kube-system-wildcard",
    "No one should hold every permission in kube-system",
    """kube-system holds the control plane's ServiceAccounts and their token Secrets, the
    controllers' leader-election leases, and configuration such as coredns and kube-proxy. All
    permissions there amount to cluster-admin.""",
    "Bind a narrow Role in kube-system, naming the objects the subject must manage.",
    {"cis": "5.1.3", "nsa": "authn-authz", "mitre": "T1078"},
    _NARROW_ROLE.replace("shop", "kube-system"),
)
_register(
    "KW-R015",
    "rbac-kube-system-configmaps",
    "Writing ConfigMaps in kube-system should be limited",
    """kube-system ConfigMaps configure the cluster: on EKS, aws-auth maps IAM identities to users and
    groups (system:masters included); coredns and kube-proxy decide name resolution and routing.""",
    "Limit create/update/patch on kube-system ConfigMaps to administrators, with resourceNames where possible.",
    {"nsa": "authn-authz", "mitre": "T1098"},
    """
    rules:
      - apiGroups: [""]
        resources: [configmaps]
        resourceNames: [my-operator-config]
        verbs: [get, update]
    """,
)
_register(
    "KW-R016",
    "rbac-exposed-workload-risky-permissions",
    "Internet-facing workloads should not run with risky permissions",
    """A workload reachable from outside the cluster (selected by a LoadBalancer or NodePort Service, or
    behind an Ingress) is the likeliest to be compromised; with its service account token mounted,
    its attacker gets the account's permissions. This check names the risky permissions of the
    account and the exposed workloads that mount it.""",
    "Run the workload as a ServiceAccount without risky permissions, or set automountServiceAccountToken: false.",
    {"cis": "5.1.6", "nsa": "pod-security/service-account-tokens", "mitre": "T1528"},
    """
    spec:
      serviceAccountName: web  # bound to a Role without risky permissions
      automountServiceAccountToken: false
    """,
)
_register(
    "KW-R017",
    "rbac-unused-risky-grant",
    "Risky permissions granted to a ServiceAccount no workload uses should be removed",
    """A ServiceAccount with risky permissions that no workload of its namespace mounts is unused, or
    used from outside the cluster with a long-lived token: either way the grant is attack surface
    that serves no pod. Only judged for namespaces that have workloads in the input.""",
    "Delete the binding (or the ServiceAccount), or document who uses it.",
    {"cis": "5.1.1", "nsa": "authn-authz", "mitre": "T1078"},
    """
    # remove the RoleBinding that grants the unused ServiceAccount its permissions
    """,
)


@check(
    id="KW-R018",
    slug="rbac-binding-role-missing",
    title="A binding should refer to a Role or ClusterRole that exists",
    severity=Severity.LOW,
    scope="inventory",
    kinds=KINDS,
    rationale="""A binding whose roleRef names no Role or ClusterRole of the input (nor a Kubernetes
        default) grants nothing today, but grants whatever a role created later under that name
        holds, to subjects nobody is reviewing any more.""",
    remediation="Fix roleRef, add the role to the manifests, or delete the binding.",
    example="""
        roleRef:
          apiGroup: rbac.authorization.k8s.io
          kind: ClusterRole
          name: view
    """,
    refs={"nsa": "authn-authz", "mitre": "T1078"},
    tags=("rbac",),
)
def rbac_binding_role_missing(inventory: Inventory) -> Iterator[tuple[Resource, Violation]]:
    for note in RbacModel.of(inventory).notes:
        if note.path == ("roleRef",):
            yield note.resource, Violation(note.path, note.message)
