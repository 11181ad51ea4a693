"""Threat detection on audit events: the rule catalogue (ids ``KW-AU0NN``, their own
registry: they read API requests, not manifests) and the ``Detector`` that runs it.

Speed is the design constraint (a busy API server logs thousands of events a
second): events stay raw dicts, the detector reads five fields per event, and
rules are dispatched by ``objectRef`` (resource, subresource) so a rule's code
runs only on the events it is about. Only four cheap checks run on every
event (anonymous, impersonation, 401/403 bursts, source addresses).

Upstream references: the Event type (k8s.io/apiserver/pkg/apis/audit/v1/types.go),
MITRE ATT&CK for containers (attack.mitre.org/matrices/enterprise/containers).
"""

from __future__ import annotations

import base64
import fnmatch
import ipaddress
import re
import urllib.parse
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..analysis.rbac import ALL, Rule, parse_rule, rule_allows
from ..analysis.rbacrisk import RISKS
from ..checks import pss
from ..inventory import BUILTIN_WORKLOADS, PodSpec, mapping
from ..model import Resource, Severity
from .settings import AuditSettings

ANONYMOUS = "system:anonymous"
UNAUTHENTICATED = "system:unauthenticated"
SA_PREFIX = "system:serviceaccount:"
WRITE = frozenset({"create", "update", "patch"})
EMPTY: tuple = ()
CONTROLLERS = ("system:kube-controller-manager", "system:serviceaccount:kube-system:*")


@dataclass(frozen=True, slots=True)
class Mitre:
    technique: str  # T1609
    name: str

    def __str__(self) -> str:
        return f"{self.technique} {self.name}"


@dataclass(frozen=True, slots=True)
class AuditRule:
    id: str
    slug: str
    title: str
    severity: Severity
    description: str  # what triggers it
    mitre: Mitre
    fn: Callable[[Detector, dict, Any], None]
    on: tuple[tuple[str, str], ...] = ()  # (resource, subresource) dispatch keys; () = every event
    verbs: frozenset[str] = frozenset()  # () = any verb
    params: dict[str, tuple[str, Any]] = field(default_factory=dict)  # name -> (kind, default)


@dataclass(slots=True)
class Alert:
    rule: AuditRule
    severity: Severity
    message: str
    event: dict
    audit_ids: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        ev = self.event
        ref = ev.get("objectRef") or {}
        imp = ev.get("impersonatedUser")
        out = {
            "rule": self.rule.id,
            "slug": self.rule.slug,
            "title": self.rule.title,
            "severity": str(self.severity),
            "message": self.message,
            "mitre": {"technique": self.rule.mitre.technique, "name": self.rule.mitre.name},
            "auditID": ev.get("auditID"),
            "time": ev.get("requestReceivedTimestamp") or ev.get("stageTimestamp"),
            "user": (ev.get("user") or {}).get("username", ""),
            "impersonatedUser": imp.get("username") if isinstance(imp, dict) else None,
            "verb": ev.get("verb"),
            "resource": resource_text(ev),
            "namespace": ref.get("namespace", ""),
            "name": ref.get("name", ""),
            "sourceIP": source_ip(ev),
            "code": status_code(ev),
        }
        if len(self.audit_ids) > 1:
            out["auditIDs"] = list(self.audit_ids)
        return out


def status_code(ev: dict) -> int:
    status = ev.get("responseStatus")
    return status.get("code", 0) if status else 0


def source_ip(ev: dict) -> str:
    ips = ev.get("sourceIPs")
    return ips[0] if ips else ""


def resource_text(ev: dict) -> str:
    """pods/exec, deployments.apps, /healthz (non-resource requests)."""
    ref = ev.get("objectRef")
    if not ref or not ref.get("resource"):
        return ev.get("requestURI", "").partition("?")[0]
    text = ref["resource"]
    if ref.get("apiGroup"):
        text += "." + ref["apiGroup"]
    if ref.get("subresource"):
        text += "/" + ref["subresource"]
    return text


def _where(ev: dict) -> str:
    ref = ev.get("objectRef") or {}
    ns, name = ref.get("namespace", ""), ref.get("name", "")
    if ref.get("resource") == "namespaces":
        ns = ""
    return f"{ns}/{name}" if ns and name else name or (f"namespace {ns}" if ns else "cluster-wide")


def _who(ev: dict) -> str:
    user = (ev.get("user") or {}).get("username") or "(unauthenticated)"
    imp = ev.get("impersonatedUser")
    if isinstance(imp, dict) and imp.get("username"):
        return f"{user} as {imp['username']}"
    return user


def _outcome(code: int) -> str:
    if code in (401, 403):
        return f" (denied: {code})"
    return f" (failed: {code})" if code >= 400 else ""


def _denied(code: int) -> bool:
    return 400 <= code < 500 and code != 404


def _body(ev: dict, *, patch_ok: bool = True) -> dict | None:
    """The object written: requestObject for create/update (the patch itself for patch).
    responseObject is never read: the scanner leaves it out for speed."""
    obj = ev.get("requestObject")
    if isinstance(obj, dict) and (patch_ok or ev.get("verb") != "patch"):
        return obj
    return None


# -- the rules ------------------------------------------------------------------------------------

PUBLIC_PATHS = ("/version", "/version/", "/healthz", "/healthz/*", "/livez", "/livez/*", "/readyz", "/readyz/*")


def _anonymous(d: Detector, ev: dict, rule: AuditRule) -> None:
    code = status_code(ev)
    path = ev.get("requestURI", "").partition("?")[0]
    if code >= 400:
        d.alert(rule, ev, Severity.MEDIUM, f"anonymous {ev['verb']} {resource_text(ev)} from {source_ip(ev)}{_outcome(code)}")
    elif any(fnmatch.fnmatchcase(path, p) for p in d.param(rule, "public-paths")):
        d.alert(rule, ev, Severity.LOW, f"anonymous {ev['verb']} {path} from {source_ip(ev)} allowed (public endpoint)")
    else:
        d.alert(rule, ev, rule.severity, f"anonymous {ev['verb']} {resource_text(ev)} from {source_ip(ev)} was ALLOWED")


def _burst(d: Detector, ev: dict, rule: AuditRule) -> None:
    code = status_code(ev)
    user = ev["user"].get("username", "")
    key = (code, source_ip(ev), "" if code == 401 else user)
    when = d.seconds(ev)
    window = d.windows.get(key)
    if window is None:
        window = d.windows[key] = deque()
    window.append((when, ev["auditID"]))
    limit = when - d.param(rule, "window-seconds")
    while window and window[0][0] < limit:
        window.popleft()
    if len(window) >= d.param(rule, "threshold"):
        ids = tuple(i for _, i in window)
        window.clear()
        if code == 401:
            msg = f"{len(ids)} failed authentications (401) from {source_ip(ev)} within {d.param(rule, 'window-seconds'):g}s"
            d.alert(rule, ev, rule.severity, msg, ids)
        else:
            msg = f"{len(ids)} forbidden requests (403) by {user or '(unknown)'} from {source_ip(ev)} within "
            d.alert(rule, ev, Severity.MEDIUM, msg + f"{d.param(rule, 'window-seconds'):g}s", ids)


def _source_ip(d: Detector, ev: dict, rule: AuditRule) -> None:
    bad = [ip for ip in ev.get("sourceIPs") or EMPTY if not d.ip_allowed(ip)]
    if bad:
        d.alert(
            rule, ev, rule.severity, f"{ev['verb']} {resource_text(ev)} by {_who(ev)} from unexpected address {', '.join(bad)}"
        )


def _impersonation(d: Detector, ev: dict, rule: AuditRule) -> None:
    imp = ev.get("impersonatedUser")
    code = status_code(ev)
    if isinstance(imp, dict):
        groups = imp.get("groups") or EMPTY
        masters = "system:masters" in groups
        target = imp.get("username", "")
        severity = Severity.HIGH if masters else rule.severity
        extra = " in group system:masters" if masters else ""
        d.alert(rule, ev, severity, f"{ev['user'].get('username', '')} impersonated {target}{extra}: "
                f"{ev['verb']} {resource_text(ev)}{_outcome(code)}")  # fmt: skip
    else:
        msg = (ev.get("responseStatus") or {}).get("message", "")
        d.alert(rule, ev, Severity.HIGH, f"{_who(ev)} tried to impersonate without permission: {msg[:160]}")


def _exec_command(uri: str) -> str:
    query = urllib.parse.parse_qs(uri.partition("?")[2])
    return " ".join(query.get("command", []))


def _exec(d: Detector, ev: dict, rule: AuditRule) -> None:
    ref = ev["objectRef"]
    namespaces = d.param(BY_ID["KW-AU020"], "namespaces")
    if d.settings.enabled("KW-AU020") and ref.get("namespace", "") in namespaces:
        return  # the sensitive-namespace rule reports it, at its higher severity
    _report_exec(d, ev, rule)


def _report_exec(d: Detector, ev: dict, rule: AuditRule) -> None:
    sub = ev["objectRef"].get("subresource", "")
    command = _exec_command(ev.get("requestURI", "")) if sub == "exec" else ""
    what = {"exec": "exec into", "attach": "attach to", "portforward": "port-forward to"}.get(sub, sub)
    msg = f"{_who(ev)}: {what} pod {_where(ev)}" + (f" (command: {command})" if command else "")
    d.alert(rule, ev, rule.severity, msg + _outcome(status_code(ev)))


def _exec_sensitive(d: Detector, ev: dict, rule: AuditRule) -> None:
    if ev["objectRef"].get("namespace", "") in d.param(rule, "namespaces"):
        _report_exec(d, ev, rule)


def _ephemeral(d: Detector, ev: dict, rule: AuditRule) -> None:
    body = _body(ev)
    containers = (mapping(body.get("spec")).get("ephemeralContainers") if body else None) or EMPTY
    pod = _pod({"ephemeralContainers": containers if isinstance(containers, list) else []}, "Pod")
    verdicts = [v for v in (pss.privileged_1_0(pod), pss.capabilities_baseline_1_0(pod)) if v is not None]
    names = ", ".join(str(c.get("name")) for c in containers if isinstance(c, dict)) if isinstance(containers, list) else ""
    msg = f"{_who(ev)} added ephemeral containers to pod {_where(ev)}" + (f" ({names})" if names else "")
    if verdicts:
        d.alert(rule, ev, Severity.CRITICAL, msg + ": " + "; ".join(v.message for v in verdicts) + _outcome(status_code(ev)))
    else:
        d.alert(rule, ev, rule.severity, msg + _outcome(status_code(ev)))


KINDS = {
    "pods": "Pod", "deployments": "Deployment", "replicasets": "ReplicaSet", "statefulsets": "StatefulSet",
    "daemonsets": "DaemonSet", "jobs": "Job", "cronjobs": "CronJob", "replicationcontrollers": "ReplicationController",
    "podtemplates": "PodTemplate",
}  # fmt: skip
_RESOURCE = Resource(obj={}, file="<audit event>")


def _pod(spec: dict, kind: str) -> PodSpec:
    return PodSpec(_RESOURCE, spec, BUILTIN_WORKLOADS[kind], {})


def _spec_of(body: dict, kind: str) -> dict | None:
    node: Any = body
    for key in BUILTIN_WORKLOADS[kind]:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


HOST_CHECKS = (pss.privileged_1_0, pss.host_namespaces_1_0, pss.host_path_volumes_1_0)


def _privileged_pod(d: Detector, ev: dict, rule: AuditRule) -> None:
    body = _body(ev)
    if body is None:
        return
    kind = KINDS[ev["objectRef"]["resource"]]
    spec = _spec_of(body, kind)
    if spec is None:
        return
    pod = _pod(spec, kind)
    verdicts = [v for check in HOST_CHECKS if (v := check(pod)) is not None]
    if not verdicts:
        return
    code = status_code(ev)
    what = "; ".join(v.message for v in verdicts)
    msg = f"{_who(ev)} {ev['verb']} {kind} {_where(ev)}: {what}{_outcome(code)}"
    d.alert(rule, ev, Severity.MEDIUM if _denied(code) else rule.severity, msg)


def _binding(d: Detector, ev: dict, rule: AuditRule) -> None:
    body = _body(ev)
    ref = mapping(body.get("roleRef")) if body else {}
    role = ref.get("name")
    if not isinstance(role, str) or not any(fnmatch.fnmatchcase(role, p) for p in d.param(rule, "powerful-roles")):
        return
    subjects = body.get("subjects") if body else None
    names = []
    for s in subjects if isinstance(subjects, list) else EMPTY:
        if isinstance(s, dict):
            ns = f"{s.get('namespace')}/" if s.get("namespace") else ""
            names.append(f"{s.get('kind')} {ns}{s.get('name')}")
    code = status_code(ev)
    kind = "ClusterRoleBinding" if ev["objectRef"].get("resource") == "clusterrolebindings" else "RoleBinding"
    msg = f"{_who(ev)} {ev['verb']} {kind} {_where(ev)} to {ref.get('kind', 'ClusterRole')} {role}"
    msg += f" for {', '.join(names) or '(no subjects)'}{_outcome(code)}"
    severity = (
        Severity.CRITICAL if role == "cluster-admin" and kind == "ClusterRoleBinding" and not _denied(code) else rule.severity
    )
    d.alert(rule, ev, Severity.MEDIUM if _denied(code) else severity, msg)


ESCALATION_VERBS = ("escalate", "bind", "impersonate")


def _role(d: Detector, ev: dict, rule: AuditRule) -> None:
    body = _body(ev)
    raw = body.get("rules") if body else None
    if not isinstance(raw, list):
        return
    parsed = [r for r in (parse_rule(x) for x in raw) if r is not None]
    reasons = []
    for r in parsed:
        wild = [
            name
            for name, values in (("verbs", r.verbs), ("resources", r.resources), ("apiGroups", r.api_groups))
            if ALL in values
        ]
        if wild:
            reasons.append(f"'*' in {'/'.join(wild)} ({r.describe()})")
        esc = [v for v in ESCALATION_VERBS if v in r.verbs]
        if esc:
            reasons.append(f"{'/'.join(esc)} ({r.describe()})")
    if not reasons:
        return
    grants = _risk_labels(parsed)
    code = status_code(ev)
    kind = "ClusterRole" if ev["objectRef"].get("resource") == "clusterroles" else "Role"
    msg = f"{_who(ev)} {ev['verb']} {kind} {_where(ev)}: {'; '.join(reasons)}"
    if grants:
        msg += f"; grants: {', '.join(grants)}"
    d.alert(rule, ev, Severity.MEDIUM if _denied(code) else rule.severity, msg + _outcome(code))


def _risk_labels(rules: list[Rule]) -> list[str]:
    """What the rules allow, in the words of the RBAC risk catalogue (analysis/rbacrisk.py)."""
    return [risk.label for risk in RISKS if any(rule_allows(r, req) for req in risk.any_of for r in rules)]


def _secrets(d: Detector, ev: dict, rule: AuditRule) -> None:
    code = status_code(ev)
    if code == 401:
        return  # not authenticated: the burst rule's business
    ref = ev["objectRef"]
    ns = ref.get("namespace", "")
    user = ev["user"].get("username", "")
    verb = ev["verb"]
    imp = ev.get("impersonatedUser")
    if isinstance(imp, dict) and imp.get("username"):
        user = imp["username"]  # whose permissions were used
    what = (
        f"{verb} secrets {_where(ev)}"
        if ref.get("name")
        else f"{verb} secrets {'in namespace ' + ns if ns else 'in all namespaces'}"
    )
    if _denied(code):
        d.alert(rule, ev, Severity.MEDIUM, f"{_who(ev)} tried to {what}{_outcome(code)}")
    elif not ns and verb in ("list", "watch"):
        d.alert(rule, ev, rule.severity, f"{_who(ev)}: {what}")
    elif user.startswith(SA_PREFIX) and ns and user[len(SA_PREFIX) :].partition(":")[0] != ns:
        d.alert(rule, ev, rule.severity, f"service account {user} read secrets outside its namespace: {what}")


def _token_request(d: Detector, ev: dict, rule: AuditRule) -> None:
    code = status_code(ev)
    body = ev.get("requestObject")
    seconds = mapping(mapping(body).get("spec")).get("expirationSeconds") if isinstance(body, dict) else None
    life = f", {seconds}s" if isinstance(seconds, int) else ""
    d.alert(rule, ev, rule.severity, f"{_who(ev)} requested a token for service account {_where(ev)}{life}{_outcome(code)}")


def _legacy_token(d: Detector, ev: dict, rule: AuditRule) -> None:
    body = ev.get("requestObject")
    code = status_code(ev)
    if isinstance(body, dict):
        if body.get("type") != "kubernetes.io/service-account-token":
            return
        account = mapping(mapping(body.get("metadata")).get("annotations")).get("kubernetes.io/service-account.name")
        msg = f"{_who(ev)} created a legacy service-account token Secret {_where(ev)}" + (f" for {account}" if account else "")
        d.alert(rule, ev, rule.severity, msg + _outcome(code))
        return
    name = ev["objectRef"].get("name", "")
    if any(fnmatch.fnmatchcase(name, p) for p in d.param(rule, "name-patterns")):
        msg = f"{_who(ev)} created Secret {_where(ev)}: the body is not logged (Metadata level); "
        msg += "the name suggests a service-account token"
        d.alert(rule, ev, Severity.MEDIUM, msg + _outcome(code))


def _csr(d: Detector, ev: dict, rule: AuditRule) -> None:
    code = status_code(ev)
    if ev["objectRef"].get("subresource") == "approval":
        d.alert(rule, ev, Severity.HIGH, f"{_who(ev)} approved CertificateSigningRequest {_where(ev)}{_outcome(code)}")
        return
    body = _body(ev, patch_ok=False)
    spec = mapping(body.get("spec")) if body else {}
    subject = _csr_subject(spec.get("request"))
    signer = spec.get("signerName", "")
    severity = rule.severity
    details = []
    if signer:
        details.append(f"signer {signer}")
    if subject:
        details.append(subject[0])
        if "system:masters" in subject[1]:
            severity = Severity.CRITICAL if not _denied(code) else Severity.HIGH
    msg = f"{_who(ev)} created CertificateSigningRequest {_where(ev)}" + (f" ({', '.join(details)})" if details else "")
    d.alert(rule, ev, severity, msg + _outcome(code))


def _csr_subject(request: Any) -> tuple[str, tuple[str, ...]] | None:
    """The CSR's subject ("CN=x, O=y") and organisations, decoded with cryptography."""
    if not isinstance(request, str):
        return None
    try:
        from cryptography import x509
        from cryptography.x509.oid import NameOID

        csr = x509.load_pem_x509_csr(base64.b64decode(request))
        orgs = tuple(str(a.value) for a in csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME))
        return csr.subject.rfc4514_string(), orgs
    except (ValueError, TypeError):
        return None


def _webhook(d: Detector, ev: dict, rule: AuditRule) -> None:
    code = status_code(ev)
    kind = {"validatingwebhookconfigurations": "ValidatingWebhookConfiguration"}.get(
        ev["objectRef"].get("resource", ""), "MutatingWebhookConfiguration"
    )
    if ev["objectRef"].get("resource", "").startswith("validatingadmissionpolicy"):
        kind = "ValidatingAdmissionPolicy" + ("Binding" if "binding" in ev["objectRef"]["resource"] else "")
    detail = ""
    body = _body(ev)
    hooks = body.get("webhooks") if body else None
    if isinstance(hooks, list):
        ignore = [str(h.get("name")) for h in hooks if isinstance(h, dict) and h.get("failurePolicy") == "Ignore"]
        if ignore:
            detail = f" (failurePolicy Ignore: {', '.join(ignore)})"
    verb = ev["verb"]
    severity = Severity.HIGH if verb.startswith("delete") or detail else rule.severity
    d.alert(rule, ev, severity, f"{_who(ev)} {verb} {kind} {_where(ev)}{detail}{_outcome(code)}")


def _event_deletion(d: Detector, ev: dict, rule: AuditRule) -> None:
    code = status_code(ev)
    what = "every event" if ev["verb"] == "deletecollection" else "event"
    d.alert(rule, ev, rule.severity, f"{_who(ev)} deleted {what} {_where(ev)} ({resource_text(ev)}){_outcome(code)}")


def _namespace(d: Detector, ev: dict, rule: AuditRule) -> None:
    verb = ev["verb"]
    sub = ev["objectRef"].get("subresource", "")
    name = ev["objectRef"].get("name") or mapping(mapping(_body(ev)).get("metadata")).get("name") or "?"
    action = {"create": "created", "delete": "deleted"}.get(verb, f"{verb} {sub}")
    d.alert(rule, ev, rule.severity, f"{_who(ev)} {action} namespace {name}{_outcome(status_code(ev))}")


PSA_PREFIX = "pod-security.kubernetes.io/"
PSA_ORDER = {"restricted": 0, "baseline": 1, "privileged": 2}


def _psa_labels(d: Detector, ev: dict, rule: AuditRule) -> None:
    request = ev.get("requestObject")
    labels = mapping(mapping(request).get("metadata")).get("labels") if isinstance(request, dict) else None
    if not isinstance(labels, dict):
        return
    changed = {k: v for k, v in labels.items() if isinstance(k, str) and k.startswith(PSA_PREFIX)}
    if not changed:
        return
    weak = [k for k, v in changed.items() if v is None or (k.count("/") == 1 and v == "privileged")]
    severity = rule.severity if weak else Severity.LOW
    text = ", ".join(f"{k}={'(removed)' if v is None else v}" for k, v in sorted(changed.items()))
    d.alert(
        rule, ev, severity, f"{_who(ev)} changed Pod Security labels of namespace {_where(ev)}: {text}{_outcome(status_code(ev))}"
    )


CREDENTIAL_PATTERNS = (
    ("AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b")),
)
CREDENTIAL_KEYS = re.compile(r"(password|passwd|secret|token|api[_-]?key|access[_-]?key|credential)", re.IGNORECASE)


def _configmap(d: Detector, ev: dict, rule: AuditRule) -> None:
    body = _body(ev)
    name = ev["objectRef"].get("name") or mapping(mapping(body).get("metadata")).get("name") or ""
    code = status_code(ev)
    if body is not None and ("data" in body or "binaryData" in body):
        found = _credentials(mapping(body.get("data")))
        if found:
            d.alert(
                rule,
                ev,
                rule.severity,
                f"{_who(ev)} {ev['verb']} ConfigMap {_where(ev)} holding {', '.join(found)}{_outcome(code)}",
            )
        return
    if ev["verb"] == "create" and any(fnmatch.fnmatchcase(name.lower(), p) for p in d.param(rule, "name-patterns")):
        msg = f"{_who(ev)} created ConfigMap {_where(ev)}: the body is not logged (Metadata level); the name suggests credentials"
        d.alert(rule, ev, Severity.LOW, msg + _outcome(code))


def _credentials(data: dict) -> list[str]:
    found = []
    for key, value in data.items():
        if not isinstance(value, str):
            continue
        for label, pattern in CREDENTIAL_PATTERNS:
            if pattern.search(value):
                found.append(f"a {label} in {key!r}")
                break
        else:
            if isinstance(key, str) and CREDENTIAL_KEYS.search(key) and value.strip() and len(value) >= 6:
                found.append(f"a value under {key!r}")
    return found


REVIEWS = {
    "selfsubjectrulesreviews": "SelfSubjectRulesReview (list my permissions)",
    "selfsubjectaccessreviews": "SelfSubjectAccessReview",
    "selfsubjectreviews": "SelfSubjectReview (whoami)",
}


def _self_review(d: Detector, ev: dict, rule: AuditRule) -> None:
    resource = ev["objectRef"].get("resource", "")
    user = ev["user"].get("username", "")
    detail = ""
    body = ev.get("requestObject")
    attrs = mapping(mapping(body).get("spec")).get("resourceAttributes") if isinstance(body, dict) else None
    if isinstance(attrs, dict):
        res = attrs.get("resource", "") + (f"/{attrs['subresource']}" if attrs.get("subresource") else "")
        detail = f": can I {attrs.get('verb', '?')} {res}" + (f" in {attrs['namespace']}" if attrs.get("namespace") else "")
    kind = REVIEWS[resource]
    severity = rule.severity if user.startswith(SA_PREFIX) else Severity.LOW
    d.alert(rule, ev, severity, f"{_who(ev)} sent a {kind}{detail}")


def _nodes_proxy(d: Detector, ev: dict, rule: AuditRule) -> None:
    path = ev.get("requestURI", "").partition("?")[0]
    d.alert(
        rule, ev, rule.severity, f"{_who(ev)} {ev['verb']} {path} (kubelet API through the API server){_outcome(status_code(ev))}"
    )


def _p(**params: tuple[str, Any]) -> dict[str, tuple[str, Any]]:
    return params


EXEC_KEYS = (("pods", "exec"), ("pods", "attach"), ("pods", "portforward"))
WORKLOAD_KEYS = tuple((r, "") for r in KINDS)
RULES: tuple[AuditRule, ...] = (
    AuditRule("KW-AU001", "anonymous-request", "Anonymous request", Severity.HIGH,
              "A request by system:anonymous (or the system:unauthenticated group): HIGH when allowed beyond the public "
              "endpoints, LOW for public endpoints (/version, /healthz...), MEDIUM when denied.",
              Mitre("T1078.001", "Valid Accounts: Default Accounts"), _anonymous,
              params=_p(**{"public-paths": ("strings", PUBLIC_PATHS)})),
    AuditRule("KW-AU002", "auth-failure-burst", "Burst of failed or forbidden requests", Severity.HIGH,
              "At least `threshold` 401s from one source address (brute force), or 403s for one user from one address "
              "(reconnaissance), within `window-seconds`. One alert per `threshold` failures.",
              Mitre("T1110", "Brute Force"), _burst,
              params=_p(threshold=("int", 10), **{"window-seconds": ("float", 60.0)})),
    AuditRule("KW-AU003", "exec-into-pod", "Exec, attach or port-forward into a pod", Severity.MEDIUM,
              "pods/exec, pods/attach or pods/portforward (create, or get for websocket clients), allowed or not; "
              "the exec command from the request URI is in the message.",
              Mitre("T1609", "Container Administration Command"), _exec, EXEC_KEYS, frozenset({"create", "get"})),
    AuditRule("KW-AU004", "ephemeral-container", "Ephemeral container added to a pod", Severity.HIGH,
              "update or patch of pods/ephemeralcontainers (kubectl debug); CRITICAL when the new container is "
              "privileged or adds capabilities (Pod Security baseline checks).",
              Mitre("T1610", "Deploy Container"), _ephemeral, (("pods", "ephemeralcontainers"),), frozenset({"update", "patch"}),
              params=_p(**{"allow-users": ("strings", ())})),
    AuditRule("KW-AU005", "privileged-pod", "Privileged, host-namespace or hostPath pod", Severity.HIGH,
              "Create, update or patch of a pod or workload whose pod spec (requestObject) fails the Pod Security "
              "checks privileged, host namespaces (hostNetwork/hostPID/hostIPC) or hostPath volumes. MEDIUM when denied.",
              Mitre("T1611", "Escape to Host"), _privileged_pod, WORKLOAD_KEYS, WRITE,
              params=_p(**{"allow-users": ("strings", (*CONTROLLERS, "system:node:*"))})),
    AuditRule("KW-AU006", "powerful-role-binding", "Binding to cluster-admin or another powerful role", Severity.HIGH,
              "Create, update or patch of a RoleBinding or ClusterRoleBinding whose roleRef is one of `powerful-roles` "
              "(CRITICAL for a ClusterRoleBinding to cluster-admin; MEDIUM when denied).",
              Mitre("T1098", "Account Manipulation"), _binding, (("rolebindings", ""), ("clusterrolebindings", "")), WRITE,
              params=_p(**{"powerful-roles": ("strings", ("cluster-admin", "admin", "edit", "system:controller:*")),
                           "allow-users": ("strings", CONTROLLERS)})),  # fmt: skip
    AuditRule("KW-AU007", "rbac-wildcard-or-escalation", "RBAC role with wildcards or escalation verbs", Severity.HIGH,
              "Create, update or patch of a Role or ClusterRole with '*' in verbs, resources or apiGroups, or granting "
              "escalate, bind or impersonate; the message lists what the rules grant (RBAC risk catalogue).",
              Mitre("T1098", "Account Manipulation"), _role, (("roles", ""), ("clusterroles", "")), WRITE,
              params=_p(**{"allow-users": ("strings", CONTROLLERS)})),
    AuditRule("KW-AU008", "secret-access", "Unusual secret access", Severity.HIGH,
              "Listing or watching secrets in all namespaces; a service account reading secrets outside its own "
              "namespace; any denied secret request (MEDIUM: probing).",
              Mitre("T1552.007", "Unsecured Credentials: Container API"), _secrets, (("secrets", ""),),
              frozenset({"get", "list", "watch"}),
              params=_p(**{"allow-users": ("strings", (*CONTROLLERS, "system:kube-scheduler", "system:node:*",
                                                       "system:apiserver"))})),  # fmt: skip
    AuditRule("KW-AU009", "token-request", "Service account token requested", Severity.MEDIUM,
              "A TokenRequest (create serviceaccounts/token) by anyone but the kubelets and controllers.",
              Mitre("T1528", "Steal Application Access Token"), _token_request, (("serviceaccounts", "token"),),
              frozenset({"create"}), params=_p(**{"allow-users": ("strings", (*CONTROLLERS, "system:node:*"))})),
    AuditRule("KW-AU010", "legacy-token-secret", "Legacy service account token Secret created", Severity.HIGH,
              "Create of a Secret of type kubernetes.io/service-account-token (a token that never expires). When the "
              "body is not logged (Metadata level), a Secret whose name matches `name-patterns` (MEDIUM).",
              Mitre("T1098.001", "Account Manipulation: Additional Cloud Credentials"), _legacy_token, (("secrets", ""),),
              frozenset({"create"}),
              params=_p(**{"name-patterns": ("strings", ("*-token", "*-token-*", "*token*")),
                           "allow-users": ("strings", CONTROLLERS)})),  # fmt: skip
    AuditRule("KW-AU011", "impersonation", "Impersonation", Severity.MEDIUM,
              "A request made with impersonation (impersonatedUser set; HIGH when impersonating system:masters) or "
              "a denied attempt to impersonate (HIGH).",
              Mitre("T1078", "Valid Accounts"), _impersonation),
    AuditRule("KW-AU012", "nodes-proxy", "Kubelet API reached through nodes/proxy", Severity.HIGH,
              "Any request on the nodes/proxy subresource: the kubelet API (exec in any pod, read logs) bypassing "
              "the API server's authorization of pods/exec and the audit of what is done.",
              Mitre("T1609", "Container Administration Command"), _nodes_proxy, (("nodes", "proxy"),)),
    AuditRule("KW-AU013", "certificate-signing-request", "CertificateSigningRequest created or approved", Severity.MEDIUM,
              "Create of a CSR by anyone but kubelets/bootstrap tokens/controllers (CRITICAL when the subject has "
              "O=system:masters), and any approval (HIGH).",
              Mitre("T1649", "Steal or Forge Authentication Certificates"), _csr,
              (("certificatesigningrequests", ""), ("certificatesigningrequests", "approval")), WRITE,
              params=_p(**{"allow-users": ("strings", (*CONTROLLERS, "system:node:*", "system:bootstrap:*"))})),
    AuditRule("KW-AU014", "admission-webhook-change", "Admission webhook configuration changed", Severity.MEDIUM,
              "Create, update, patch or delete of a Validating/MutatingWebhookConfiguration or ValidatingAdmissionPolicy "
              "(Binding); HIGH for deletes and webhooks switched to failurePolicy Ignore.",
              Mitre("T1562.001", "Impair Defenses: Disable or Modify Tools"), _webhook,
              (("validatingwebhookconfigurations", ""), ("mutatingwebhookconfigurations", ""),
               ("validatingadmissionpolicies", ""), ("validatingadmissionpolicybindings", "")),
              frozenset({*WRITE, "delete", "deletecollection"})),  # fmt: skip
    AuditRule("KW-AU015", "event-deletion", "Events deleted", Severity.MEDIUM,
              "delete or deletecollection of events (core or events.k8s.io) by anyone but the namespace controller: "
              "covering tracks.",
              Mitre("T1070", "Indicator Removal"), _event_deletion, (("events", ""),), frozenset({"delete", "deletecollection"}),
              params=_p(**{"allow-users": ("strings", ("system:serviceaccount:kube-system:namespace-controller",
                                                       "system:kube-controller-manager"))})),  # fmt: skip
    AuditRule("KW-AU016", "namespace-lifecycle", "Namespace created or deleted", Severity.LOW,
              "Create or delete of a namespace, or a write to namespaces/finalize by anyone but the namespace controller.",
              Mitre("T1578", "Modify Cloud Compute Infrastructure"), _namespace,
              (("namespaces", ""), ("namespaces", "finalize")), frozenset({"create", "delete", "update"}),
              params=_p(**{"allow-users": ("strings", ("system:serviceaccount:kube-system:namespace-controller",))})),
    AuditRule("KW-AU017", "configmap-credentials", "ConfigMap holding credentials", Severity.HIGH,
              "Create, update or patch of a ConfigMap whose data holds an AWS key, private key, token, or a value "
              "under a key like password/token; when the body is not logged, a create whose name matches "
              "`name-patterns` (LOW).",
              Mitre("T1552.001", "Unsecured Credentials: Credentials In Files"), _configmap, (("configmaps", ""),), WRITE,
              params=_p(**{"name-patterns": ("strings", ("*cred*", "*secret*", "*password*", "*passwd*", "*token*",
                                                         "*apikey*", "*api-key*", "*aws*", "*s3*", "*gcp*", "*azure*")),
                           "allow-users": ("strings", CONTROLLERS)})),  # fmt: skip
    AuditRule("KW-AU018", "permission-enumeration", "Permission enumeration (self subject reviews)", Severity.MEDIUM,
              "SelfSubjectRulesReview, SelfSubjectAccessReview or SelfSubjectReview (kubectl auth can-i / whoami); "
              "MEDIUM for service accounts (a workload's token in someone's hands), LOW for users.",
              Mitre("T1069", "Permission Groups Discovery"), _self_review,
              tuple((r, "") for r in REVIEWS), frozenset({"create"})),
    AuditRule("KW-AU019", "unexpected-source-ip", "Request from an unexpected address", Severity.HIGH,
              "A request whose sourceIPs include an address outside `allowed-cidrs` (off until configured).",
              Mitre("T1133", "External Remote Services"), _source_ip, params=_p(**{"allowed-cidrs": ("cidrs", ())})),
    AuditRule("KW-AU020", "exec-into-system-pod", "Exec or attach into a kube-system pod", Severity.CRITICAL,
              "pods/exec, attach or portforward in one of `namespaces` (default kube-system): control plane and "
              "node agents, whose tokens are the cluster's most powerful.",
              Mitre("T1609", "Container Administration Command"), _exec_sensitive, EXEC_KEYS, frozenset({"create", "get"}),
              params=_p(namespaces=("strings", ("kube-system",)))),
    AuditRule("KW-AU021", "pod-security-label-change", "Pod Security admission labels changed", Severity.HIGH,
              "A create, update or patch of a namespace that sets or removes pod-security.kubernetes.io/* labels "
              "(HIGH when a mode is set to privileged or removed, LOW otherwise).",
              Mitre("T1562.001", "Impair Defenses: Disable or Modify Tools"), _psa_labels, (("namespaces", ""),), WRITE,
              params=_p(**{"allow-users": ("strings", ())})),
)  # fmt: skip
BY_ID = {r.id: r for r in RULES}
BY_SLUG = {r.slug: r for r in RULES}
for _rule in RULES:  # every rule takes an allowlist
    _rule.params.setdefault("allow-users", ("strings", ()))


def resolve(name: str) -> AuditRule | None:
    return BY_ID.get(name.upper()) or BY_SLUG.get(name)


# -- the detector ------------------------------------------------------------------------------------

DEDUP = 65536  # (rule, auditID) pairs remembered: a watch is logged twice, a retried batch again


class Detector:
    """Runs the enabled rules over events, one at a time (streaming: bursts keep state)."""

    def __init__(self, settings: AuditSettings | None = None, sink: Callable[[Alert], None] | None = None):
        self.settings = settings or AuditSettings()
        self.alerts: list[Alert] = []
        self.sink = sink or self.alerts.append
        self.windows: dict[tuple, deque] = {}
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._params: dict[str, dict[str, Any]] = {}
        self._allowed: dict[tuple[str, str], bool] = {}
        self._ips: dict[str, bool] = {}
        self.events = 0
        enabled = [r for r in RULES if self.settings.enabled(r.id)]
        for rule in RULES:
            values = {k: default for k, (_, default) in rule.params.items()}
            values.update(self.settings.params.get(rule.id, {}))
            self._params[rule.id] = values
        self.dispatch: dict[tuple[str, str], list[tuple[AuditRule, frozenset[str]]]] = {}
        for rule in enabled:
            for key in rule.on:
                self.dispatch.setdefault(key, []).append((rule, rule.verbs))
        on = {r.id for r in enabled}
        self.anonymous = BY_ID["KW-AU001"] if "KW-AU001" in on else None
        self.burst = BY_ID["KW-AU002"] if "KW-AU002" in on else None
        self.impersonation = BY_ID["KW-AU011"] if "KW-AU011" in on else None
        cidrs = self._params["KW-AU019"]["allowed-cidrs"]
        self.source = BY_ID["KW-AU019"] if "KW-AU019" in on and cidrs else None
        self._cidrs = cidrs

    def param(self, rule: AuditRule, name: str) -> Any:
        return self._params[rule.id][name]

    def ip_allowed(self, ip: str) -> bool:
        known = self._ips.get(ip)
        if known is None:
            try:
                addr = ipaddress.ip_address(ip)
                known = any(addr in net for net in self._cidrs)
            except ValueError:
                known = False
            if len(self._ips) > 100_000:
                self._ips.clear()
            self._ips[ip] = known
        return known

    @staticmethod
    def seconds(ev: dict) -> float:
        """requestReceivedTimestamp as epoch seconds (only needed by the burst rule)."""
        import datetime as dt

        text = ev.get("requestReceivedTimestamp") or ev.get("stageTimestamp") or ""
        try:
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return 0.0

    def _is_allowed(self, rule: AuditRule, user: str) -> bool:
        key = (rule.id, user)
        known = self._allowed.get(key)
        if known is None:
            patterns = (*self.settings.allow_users, *self._params[rule.id]["allow-users"])
            known = any(fnmatch.fnmatchcase(user, p) for p in patterns)
            if len(self._allowed) > 100_000:
                self._allowed.clear()
            self._allowed[key] = known
        return known

    def alert(self, rule: AuditRule, ev: dict, severity: Severity, message: str, ids: tuple[str, ...] | None = None) -> None:
        if self._is_allowed(rule, ev["user"].get("username", "")):
            return
        key = (rule.id, ev["auditID"])
        if key in self._seen:
            return
        self._seen[key] = None
        if len(self._seen) > DEDUP:
            self._seen.popitem(last=False)
        severity = self.settings.severity.get(rule.id, severity) if rule.id in self.settings.severity else severity
        self.sink(Alert(rule, severity, message, ev, ids or (ev["auditID"],)))

    def process(self, ev: dict) -> None:
        """Run every rule that applies to one (validated) event."""
        if ev["stage"] == "RequestReceived":
            return  # the same request is logged again at a later stage, with its outcome
        self.events += 1
        user = ev["user"]
        status = ev.get("responseStatus")
        code = status.get("code", 0) if status else 0
        if self.anonymous is not None and (user.get("username") == ANONYMOUS or UNAUTHENTICATED in (user.get("groups") or EMPTY)):
            _anonymous(self, ev, self.anonymous)
        if self.impersonation is not None and (
            "impersonatedUser" in ev or (code == 403 and "cannot impersonate" in status.get("message", ""))
        ):
            _impersonation(self, ev, self.impersonation)
        if self.burst is not None and (code == 401 or code == 403):
            _burst(self, ev, self.burst)
        if self.source is not None:
            _source_ip(self, ev, self.source)
        ref = ev.get("objectRef")
        if ref is not None:
            rules = self.dispatch.get((ref.get("resource", ""), ref.get("subresource", "")))
            if rules is not None:
                verb = ev["verb"]
                for rule, verbs in rules:
                    if not verbs or verb in verbs:
                        rule.fn(self, ev, rule)

    def run(self, events: Iterable[dict]) -> list[Alert]:
        process = self.process
        for ev in events:
            process(ev)
        return self.alerts
