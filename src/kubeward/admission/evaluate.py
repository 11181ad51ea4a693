"""One admission request through the same per-resource checks as `kubeward scan`,
and the decision the policy makes of the findings.

The checks run through :class:`kubeward.engine.Scanner` exactly as in a scan
(pod-carrying kinds get the PodSpec view). Cross-resource checks
(``scope="inventory"``) need the other objects of the cluster and do not run at
admission.

UPDATE semantics follow Pod Security Admission (pod-security-admission
``admission.go``): a Pod update that changes none of the fields that can
change on a running pod (images, seccomp annotations, ephemeral containers,
the number of containers) is allowed without evaluation, and so is a workload
update that leaves the pod template untouched, or any other object whose spec
is unchanged (a label edit, a status write): an existing non-compliant object
is never newly blocked by an unrelated change.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from typing import Any

from ..checks import pss
from ..checks.registry import Check, all_checks
from ..engine import SUPPRESS_PREFIX, Scanner, select_checks
from ..inventory import POD_SPEC_PATHS, dig, kind_key, pod_spec_of, template_meta_path
from ..model import Finding, Resource, format_path
from ..psa import LABEL_PREFIX, MODES, LevelVersion, policy_for
from ..psa import Policy as PsaPolicy
from . import mutate
from .policy import RANK, Exemption, Policy
from .review import AdmissionRequest, Decision, shorten

log = logging.getLogger("kubeward.admission")

# pod subresources that cannot change the pod spec (upstream ignoredPodSubresources)
IGNORED_POD_SUBRESOURCES = frozenset({"exec", "attach", "binding", "eviction", "log", "portforward", "proxy", "status"})
CONNECT_SUBRESOURCES = frozenset({"exec", "attach"})
SOURCE = "<admission>"
MAX_ANNOTATION = 4096


class NamespaceLabels:
    """Labels of the cluster's namespaces, for honouring Pod Security labels.

    Filled from Namespace objects the webhook sees and, in a cluster, by a
    poller listing namespaces (:func:`start_namespace_poller`).
    """

    def __init__(self, initial: dict[str, dict[str, str]] | None = None):
        self._labels: dict[str, dict[str, str]] = dict(initial or {})
        self._lock = threading.Lock()

    def get(self, name: str) -> dict[str, str] | None:
        return self._labels.get(name)

    def update(self, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata")
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
            return
        labels = meta.get("labels")
        with self._lock:
            self._labels[meta["name"]] = (
                {k: v for k, v in labels.items() if isinstance(v, str)} if isinstance(labels, dict) else {}
            )

    def replace(self, labels: dict[str, dict[str, str]]) -> None:
        with self._lock:
            self._labels = labels


def start_namespace_poller(cache: NamespaceLabels, interval: float = 30.0) -> threading.Thread | None:
    """In a cluster: list namespaces every ``interval`` seconds (needs get/list on namespaces)."""
    try:
        from kubernetes import client, config
    except ImportError:
        return None

    def run() -> None:
        try:
            config.load_incluster_config()
        except Exception:
            log.warning("namespace labels: not running in a cluster; only Namespace objects seen at admission are known")
            return
        api = client.CoreV1Api()
        stop = threading.Event()
        while not stop.wait(0):
            try:
                items = api.list_namespace(_request_timeout=10).items
                cache.replace({ns.metadata.name: dict(ns.metadata.labels or {}) for ns in items})
            except Exception as exc:
                log.warning("namespace labels: list failed: %s", exc)
            stop.wait(interval)

    thread = threading.Thread(target=run, name="namespace-labels", daemon=True)
    thread.start()
    return thread


class Evaluator:
    """A policy compiled for requests: the scanner(s) and the per-check modes."""

    def __init__(self, policy: Policy, labels: NamespaceLabels | None = None, today: dt.date | None = None):
        self.policy = policy
        self.labels = labels or NamespaceLabels()
        self.today = today or dt.date.today()
        config = policy.scan
        checks = [c for c in select_checks(config) if c.scope == "resource"]
        self.pss_checks: list[Check] = []
        if policy.namespace_labels:
            self.pss_checks = [c for c in checks if c.id.startswith("KW-P")]
            checks = [c for c in checks if not c.id.startswith("KW-P")]
        self.scanner = Scanner(checks, config, self.today)
        self._pss_scanners: dict[tuple[str, str], Scanner] = {}
        self.by_id = {c.id: c for c in all_checks()}
        self.exemptions = [e for e in policy.exemptions if not e.expired(self.today)]
        for e in policy.exemptions:
            if e.expired(self.today):
                log.warning("exemption %s (%s) expired on %s and no longer applies", e.origin, e.reason, e.expires)

    # -- entry points -------------------------------------------------------------------

    def review(self, request: AdmissionRequest, *, mutating: bool = False) -> Decision:
        if mutating:
            return self._mutate(request)
        return self._validate(request)

    def evaluate_object(
        self, obj: dict[str, Any], namespace: str = "", *, user: str = "", groups: tuple[str, ...] = ()
    ) -> Decision:
        """An object as if it were created (``kubeward admission test``)."""
        request = synthetic_request(obj, namespace, user=user, groups=groups)
        return self._validate(request)

    # -- validation ---------------------------------------------------------------------

    def _validate(self, req: AdmissionRequest) -> Decision:
        if req.operation == "CONNECT":
            return self._connect(req)
        if req.operation == "DELETE" or req.object is None:
            return Decision(outcome="skip")
        obj = req.object
        if req.kind == "Namespace" and req.group == "" and self.policy.namespace_labels:
            self.labels.update(obj)
        namespace = req.namespace or _namespace_of(obj)
        if namespace and self.policy.is_system_namespace(namespace):
            return Decision(outcome="skip")
        if req.sub_resource:
            if not (req.kind == "Pod" and req.sub_resource not in IGNORED_POD_SUBRESOURCES):
                return Decision(outcome="skip")
        if req.operation == "UPDATE" and req.old_object is not None and not significant_update(req, obj, req.old_object):
            return Decision(outcome="skip")
        resource = Resource(_with_namespace(obj, namespace), SOURCE, start_line=0)
        findings, errors = self.scanner.check_resources([resource])
        pss_modes: dict[int, str] = {}
        if self.pss_checks and kind_key(resource) in POD_SPEC_PATHS:
            findings += self._pss_findings(resource, namespace, pss_modes)
        exemptions = self._request_exemptions(req, resource)
        return self._decide(req, resource, namespace, findings, pss_modes, exemptions, [e.message for e in errors])

    def _connect(self, req: AdmissionRequest) -> Decision:
        if req.resource == "pods" and req.sub_resource in CONNECT_SUBRESOURCES:
            ns = req.namespace
            if any(_glob(ns, p) for p in self.policy.exec_deny_namespaces):
                for e in self.exemptions:
                    if not (e.images or e.containers or e.service_accounts) and e.matches_request(
                        ns, req.username, req.groups, None
                    ):
                        return Decision(outcome="exempt", audit={"exempted": f"pods/{req.sub_resource}: {e.origin}: {e.reason}"})
                return Decision(
                    allowed=False,
                    code=403,
                    reason="Forbidden",
                    message=f"kubeward: pods/{req.sub_resource} into namespace {ns} is denied by the admission policy "
                    f"(exec.deny-namespaces); use an exemption for break-glass users",
                    denied_checks=[f"pods/{req.sub_resource}"],
                )
        return Decision(outcome="allow")

    def _pss_findings(self, resource: Resource, namespace: str, modes: dict[int, str]) -> list[Finding]:
        """KW-P findings per the namespace's Pod Security labels: each gets the strongest
        mode (enforce > warn > audit) whose level it violates."""
        labels = self.labels.get(namespace) if namespace else None
        if not labels or not any(k.startswith(LABEL_PREFIX) for k in labels):
            # an unlabelled or unknown namespace: the policy's rules and scan.pod-security level
            found, _ = self._pss_scanner(
                self.policy.scan.pss_level, pss.format_version(self.policy.scan.pss_version)
            ).check_resources([resource])
            return found
        ns_policy = policy_for(labels, PsaPolicy())
        seen: dict[tuple[str, Any, Any], Finding] = {}
        for mode in MODES:  # enforce, audit, warn
            lv: LevelVersion = ns_policy.mode(mode)
            if lv.level == "privileged":
                continue
            found, _ = self._pss_scanner(lv.level, lv.version_text).check_resources([resource])
            for f in found:
                key = (f.check_id, f.path, f.container)
                if key not in seen:
                    seen[key] = f
                    modes[id(f)] = mode
                elif RANK[mode] > RANK[modes[id(seen[key])]]:
                    modes[id(seen[key])] = mode
        return list(seen.values())

    def _pss_scanner(self, level: str, version_text: str) -> Scanner:
        key = (level, version_text)
        scanner = self._pss_scanners.get(key)
        if scanner is None:
            config = dataclasses.replace(self.policy.scan, pss_level=level, pss_version=pss.parse_version(version_text))
            scanner = self._pss_scanners[key] = Scanner(self.pss_checks, config, self.today)
        return scanner

    def _request_exemptions(self, req: AdmissionRequest, resource: Resource) -> list[Exemption]:
        if not self.exemptions:
            return []
        sa = None
        pod = pod_spec_of(resource)
        if pod is not None:
            name = pod.spec.get("serviceAccountName") or pod.spec.get("serviceAccount") or "default"
            sa = f"{resource.namespace}/{name}"
        return [e for e in self.exemptions if e.matches_request(resource.namespace, req.username, req.groups, sa)]

    def _decide(
        self,
        req: AdmissionRequest,
        resource: Resource,
        namespace: str,
        findings: list[Finding],
        pss_modes: dict[int, str],
        exemptions: list[Exemption],
        errors: list[str],
    ) -> Decision:
        modes = self.policy.modes_for(namespace)
        images = _container_images(resource) if any(e.per_container for e in exemptions) else {}
        deny: list[Finding] = []
        warn: list[Finding] = []
        audit: list[Finding] = []
        exempted: list[str] = []
        suppressed: list[str] = []
        for f in findings:
            if f.suppressed and (self.policy.annotation_suppressions or not _from_annotation(f)):
                suppressed.append(f"{f.check_id}: {f.suppression}")
                continue
            mode = pss_modes.get(id(f)) or modes.get(f.check_id, "off")
            if mode == "off":
                continue
            check = self.by_id[f.check_id]
            exemption = next(
                (e for e in exemptions if e.matches_finding(check, f.container, images.get(f.container or ""))), None
            )
            if exemption is not None:
                exempted.append(f"{f.check_id} {format_path(f.path)}: {exemption.origin}: {exemption.reason}")
                continue
            (deny if mode == "enforce" else warn if mode == "warn" else audit).append(f)
        decision = Decision()
        what = f"{resource.kind} {_ref(resource, req)}"
        if deny:
            decision.allowed = False
            decision.code = 403
            decision.reason = "Forbidden"
            decision.message = deny_message(what, deny, self.by_id)
            decision.denied_checks = [f.check_id for f in deny]
        decision.warnings = [warning_text(f) for f in warn] + [shorten(f"kubeward could not check: {e}") for e in errors]
        decision.warned_checks = [f.check_id for f in warn]
        if audit:
            decision.audit["violations"] = _cap("; ".join(f"{f.check_id} {format_path(f.path)}: {f.message}" for f in audit))
        if exempted:
            decision.audit["exempted"] = _cap("; ".join(exempted))
        if suppressed:
            decision.audit["suppressed"] = _cap("; ".join(suppressed))
        if req.dry_run:
            decision.audit["dry-run"] = "true"
        return decision

    # -- mutation -----------------------------------------------------------------------

    def _mutate(self, req: AdmissionRequest) -> Decision:
        m = self.policy.mutations
        obj = req.object
        if not m.any or obj is None or req.operation not in ("CREATE", "UPDATE") or req.sub_resource:
            return Decision(outcome="skip")
        if req.kind == "Pod" and req.operation == "UPDATE":
            return Decision(outcome="skip")  # a running pod's spec is immutable
        namespace = req.namespace or _namespace_of(obj)
        if namespace and self.policy.is_system_namespace(namespace):
            return Decision(outcome="skip")
        if m.namespaces and not any(_glob(namespace, p) for p in m.namespaces):
            return Decision(outcome="skip")
        resource = Resource(obj, SOURCE, start_line=0)
        key = kind_key(resource)
        if key not in POD_SPEC_PATHS:
            return Decision(outcome="skip")
        exemptions = self._request_exemptions(req, Resource(_with_namespace(obj, namespace), SOURCE))
        if any(not e.per_container and not e.checks for e in exemptions):
            return Decision(outcome="exempt")
        skip = set()
        if exemptions:
            for name, image in _container_images(resource).items():
                if any(e.per_container and not e.checks and e.matches_finding(None, name, image) for e in exemptions):
                    skip.add(name)
        ops = mutate.patch_for(obj, POD_SPEC_PATHS[key], m, skip_containers=skip)
        return Decision(patch=ops or None, outcome="mutate" if ops else "allow")


def synthetic_request(
    obj: dict[str, Any], namespace: str = "", *, user: str = "", groups: tuple[str, ...] = ()
) -> AdmissionRequest:
    api_version = obj.get("apiVersion") if isinstance(obj.get("apiVersion"), str) else ""
    group, _, version = api_version.rpartition("/")
    kind = obj.get("kind") if isinstance(obj.get("kind"), str) else ""
    return AdmissionRequest(
        uid="offline",
        operation="CREATE",
        kind=kind,
        group=group,
        version=version,
        resource=kind.lower() + "s",
        sub_resource="",
        name=str(dig(obj, "metadata", "name") or ""),
        namespace=namespace or _namespace_of(obj),
        username=user,
        groups=groups,
        object=obj,
        old_object=None,
        dry_run=False,
    )


# -- helpers ----------------------------------------------------------------------------


def _glob(value: str, pattern: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(value, pattern)


def _namespace_of(obj: dict[str, Any]) -> str:
    ns = dig(obj, "metadata", "namespace")
    return ns if isinstance(ns, str) else ""


def _with_namespace(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The object with the request's namespace (a CREATE may leave it to the URL)."""
    meta = obj.get("metadata")
    if not namespace or (isinstance(meta, dict) and meta.get("namespace") == namespace):
        return obj
    return {**obj, "metadata": {**(meta if isinstance(meta, dict) else {}), "namespace": namespace}}


def _ref(resource: Resource, req: AdmissionRequest) -> str:
    name = resource.name or req.name or "<generated>"
    return f"{resource.namespace}/{name}" if resource.namespace else name


def _from_annotation(f: Finding) -> bool:
    return f"(annotation {SUPPRESS_PREFIX}" in (f.suppression or "")


def _container_images(resource: Resource) -> dict[str, str]:
    pod = pod_spec_of(resource)
    if pod is None:
        return {}
    out = {}
    for c in pod.containers():
        image = c.get("image")
        if isinstance(image, str):
            out[c.name] = image
    return out


def _cap(text: str) -> str:
    return text if len(text) <= MAX_ANNOTATION else text[: MAX_ANNOTATION - 3] + "..."


def hint(check: Check) -> str:
    """The first sentence of a check's remediation."""
    text = " ".join(check.remediation.split())
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]


def deny_message(what: str, findings: list[Finding], by_id: dict[str, Check]) -> str:
    lines = [f"kubeward denied {what}: {len(findings)} enforced check{'s' if len(findings) != 1 else ''} failed"]
    for f in findings:
        check = by_id[f.check_id]
        lines.append(f"- {f.check_id} {f.slug} at {format_path(f.path)}: {f.message}. Fix: {hint(check)}")
    return "\n".join(lines)


def warning_text(f: Finding) -> str:
    return shorten(f"{f.check_id} {f.slug}: {f.message}")


# -- UPDATE significance (pod-security-admission isSignificantPodUpdate) -------------------

SECCOMP_POD = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER = "container.seccomp.security.alpha.kubernetes.io/"


def significant_update(req: AdmissionRequest, new: dict[str, Any], old: dict[str, Any]) -> bool:
    if req.kind == "Pod" and req.group == "":
        return significant_pod_update(new, old)
    key = kind_key(Resource(new, SOURCE))
    if key in POD_SPEC_PATHS:
        spec_path = POD_SPEC_PATHS[key]
        meta_path = template_meta_path(key)
        return dig(new, *spec_path) != dig(old, *spec_path) or _meta(dig(new, *meta_path)) != _meta(dig(old, *meta_path))
    return _content(new) != _content(old)


def _meta(meta: Any) -> Any:
    if not isinstance(meta, dict):
        return meta
    return {"labels": meta.get("labels"), "annotations": meta.get("annotations")}


def _content(obj: dict[str, Any]) -> dict[str, Any]:
    """An object without status and server-managed metadata."""
    meta = obj.get("metadata")
    out = {k: v for k, v in obj.items() if k not in ("status", "metadata")}
    out["metadata"] = _meta(meta)
    return out


def significant_pod_update(pod: dict[str, Any], old: dict[str, Any]) -> bool:
    annotations = _dict(dig(pod, "metadata", "annotations"))
    old_annotations = _dict(dig(old, "metadata", "annotations"))
    if annotations.get(SECCOMP_POD) != old_annotations.get(SECCOMP_POD):
        return True
    for field in ("containers", "initContainers"):
        new_list, old_list = _items(dig(pod, "spec", field)), _items(dig(old, "spec", field))
        if len(new_list) != len(old_list):
            return True
        for c, oc in zip(new_list, old_list, strict=True):
            if _significant_container(c, oc, annotations, old_annotations):
                return True
    old_ephemeral = {c.get("name"): c for c in _items(dig(old, "spec", "ephemeralContainers"))}
    for c in _items(dig(pod, "spec", "ephemeralContainers")):
        oc = old_ephemeral.get(c.get("name"))
        if oc is None or _significant_container(c, oc, annotations, old_annotations):
            return True  # an ephemeral container was added or changed
    return False


def _significant_container(c: dict, oc: dict, annotations: dict, old_annotations: dict) -> bool:
    if c.get("image") != oc.get("image"):
        return True
    key = f"{SECCOMP_CONTAINER}{c.get('name')}"
    return annotations.get(key) != old_annotations.get(key)


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
