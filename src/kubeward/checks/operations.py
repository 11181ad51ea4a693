"""Operations: probes, replicas, disruption budgets, namespaces and housekeeping.

These are the facts that decide whether a workload survives a node drain, a
slow dependency or a bad rollout, and whether what runs can be traced back to
its owner.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..inventory import WORKLOADS, Container, Inventory, PodSpec, dig, mapping
from ..model import Resource, Severity, Violation
from ..selectors import SelectorIndex, selector_matches
from .registry import check

if TYPE_CHECKING:
    from ..config import Config

TAGS = ("reliability",)
LONG_RUNNING = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController"})
PROBED = LONG_RUNNING | {"Pod"}
REPLICATED = frozenset({"Deployment", "StatefulSet"})
SELECTING = frozenset({"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"})
NAMESPACED = WORKLOADS | {
    "Service", "ConfigMap", "Secret", "ServiceAccount", "Role", "RoleBinding", "Ingress", "NetworkPolicy",
    "PersistentVolumeClaim", "HorizontalPodAutoscaler", "PodDisruptionBudget", "LimitRange", "ResourceQuota",
}  # fmt: skip
# The probe fields that are not the handler, with the defaults the API server fills in.
PROBE_DEFAULTS = {
    "initialDelaySeconds": 0,
    "periodSeconds": 10,
    "timeoutSeconds": 1,
    "successThreshold": 1,
    "failureThreshold": 3,
}
PERCENT = re.compile(r"\s*(\d+)\s*%\s*")
AVAILABILITY = {"nsa": "network/resource-policies", "mitre": "T1499"}


def _labels_text(labels: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(labels.items(), key=str)) + "}"


# -- helpers -------------------------------------------------------------------------


def _resource(subject: PodSpec | Resource) -> Resource:
    # the engine hands workload kinds over as PodSpec views, other kinds as the Resource
    return subject.resource if isinstance(subject, PodSpec) else subject


def _replicas(obj: dict[str, Any]) -> int | None:
    """spec.replicas, 1 when unset (the API default), None when of the wrong type."""
    return _replica_count(dig(obj, "spec", "replicas"))


def _replica_count(value: Any) -> int | None:
    if value is None:
        return 1
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _probed_containers(pod: PodSpec) -> list[Container]:
    # run-to-completion pods need no probes; init and ephemeral containers cannot be probed
    if pod.resource.kind == "Pod" and pod.get("restartPolicy") in ("Never", "OnFailure"):
        return []
    return [c for c in pod.containers() if c.field == "containers"]


# -- probes --------------------------------------------------------------------------


@check(
    id="KW-O001",
    slug="liveness-probe-missing",
    title="Long-running containers should have a liveness probe",
    severity=Severity.LOW,
    kinds=PROBED,
    rationale="""Without a liveness probe a container that deadlocks or hangs keeps its process
        alive and is never restarted: it stays broken, holding its share of traffic and
        resources, until someone notices.""",
    remediation="Add a livenessProbe that fails only when the process itself is broken.",
    example="""
        livenessProbe:
          httpGet: {path: /livez, port: 8080}
          periodSeconds: 10
          failureThreshold: 6
    """,
    refs=AVAILABILITY,
    tags=TAGS,
)
def liveness_probe_missing(pod: PodSpec) -> Iterator[Violation]:
    for c in _probed_containers(pod):
        if not isinstance(c.data.get("livenessProbe"), dict):
            yield Violation(c.at("livenessProbe"), f"container {c.name!r} has no livenessProbe", c.name)


@check(
    id="KW-O002",
    slug="readiness-probe-missing",
    title="Long-running containers should have a readiness probe",
    severity=Severity.LOW,
    kinds=PROBED,
    rationale="""Without a readiness probe a pod receives traffic as soon as its process starts,
        before it can serve, and keeps receiving it while it cannot; rolling updates
        (DaemonSets' too) count it available at once and roll a broken version everywhere.""",
    remediation="Add a readinessProbe that fails while the container cannot serve requests.",
    example="""
        readinessProbe:
          httpGet: {path: /readyz, port: 8080}
          periodSeconds: 5
    """,
    refs=AVAILABILITY,
    tags=TAGS,
)
def readiness_probe_missing(pod: PodSpec) -> Iterator[Violation]:
    for c in _probed_containers(pod):
        if not isinstance(c.data.get("readinessProbe"), dict):
            yield Violation(c.at("readinessProbe"), f"container {c.name!r} has no readinessProbe", c.name)


def _probe_key(probe: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(handler, timing) with the API defaults filled in, so omitted and explicit defaults compare equal."""
    handler = {k: v for k, v in probe.items() if k not in PROBE_DEFAULTS and k != "terminationGracePeriodSeconds"}
    timing = {k: d if probe.get(k) is None else probe[k] for k, d in PROBE_DEFAULTS.items()}
    return handler, timing


@check(
    id="KW-O003",
    slug="identical-probes",
    title="Liveness and readiness probes should not be identical",
    severity=Severity.LOW,
    kinds=PROBED,
    rationale="""When both probes check the same thing with the same thresholds, a slow
        dependency makes them fail together: instead of being taken out of rotation until
        it recovers, the pod is restarted, and under load every replica restarts at once.""",
    remediation="Make the liveness probe check only the process itself, or give it a more tolerant threshold.",
    example="""
        readinessProbe:
          httpGet: {path: /readyz, port: 8080}   # checks dependencies
        livenessProbe:
          httpGet: {path: /livez, port: 8080}    # checks only the process
          failureThreshold: 6
    """,
    refs=AVAILABILITY,
    tags=TAGS,
)
def identical_probes(pod: PodSpec) -> Iterator[Violation]:
    for c in _probed_containers(pod):
        live, ready = c.data.get("livenessProbe"), c.data.get("readinessProbe")
        if isinstance(live, dict) and isinstance(ready, dict):
            key = _probe_key(live)
            if key[0] and key == _probe_key(ready):
                yield Violation(
                    c.at("livenessProbe"), f"container {c.name!r} has identical liveness and readiness probes", c.name
                )


# -- replicas and disruption -------------------------------------------------------------


@check(
    id="KW-O004",
    slug="single-replica",
    title="Deployments and StatefulSets should run at least two replicas",
    severity=Severity.LOW,
    kinds=REPLICATED,
    rationale="""A single replica is down whenever its pod is rescheduled: on every node drain,
        upgrade, eviction or crash, and during some rollouts. (replicas: 0, scaled down on
        purpose, is not reported.)""",
    remediation="Set spec.replicas to 2 or more (or let a HorizontalPodAutoscaler with minReplicas >= 2 manage it).",
    example="""
        spec:
          replicas: 3
    """,
    refs=AVAILABILITY,
    tags=TAGS,
)
def single_replica(pod: PodSpec) -> Iterator[Violation]:
    replicas = _replicas(pod.resource.obj)
    if replicas == 1:
        unset = dig(pod.resource.obj, "spec", "replicas") is None
        yield Violation(
            ("spec", "replicas"), f"{pod.resource.kind} runs a single replica{' (spec.replicas unset)' if unset else ''}"
        )


@check(
    id="KW-O005",
    slug="pdb-missing",
    title="Replicated workloads should be covered by a PodDisruptionBudget",
    severity=Severity.LOW,
    scope="inventory",
    kinds=("PodDisruptionBudget",),
    rationale="""Without a PodDisruptionBudget a node drain (a cluster upgrade, the autoscaler
        scaling down) may evict every replica at the same time, so routine maintenance becomes
        an outage and tends to be postponed.""",
    remediation="Add a PodDisruptionBudget in the same namespace whose selector matches the pod template labels.",
    example="""
        apiVersion: policy/v1
        kind: PodDisruptionBudget
        metadata: {name: web, namespace: shop}
        spec:
          maxUnavailable: 1
          selector:
            matchLabels: {app: web}
    """,
    refs={"nsa": "upgrading", "mitre": "T1499"},
    tags=TAGS,
)
def pdb_missing(inventory: Inventory) -> Iterator[tuple[Resource, Violation]]:
    selectors: dict[str, SelectorIndex] = {}
    for pdb in inventory.kinds("PodDisruptionBudget"):
        selector = dig(pdb.obj, "spec", "selector")
        if pdb.api_version == "policy/v1beta1" and selector == {}:
            continue  # in v1beta1 an empty selector selects nothing
        selectors.setdefault(pdb.namespace, SelectorIndex()).add(selector)
    for resource in inventory.kinds(*sorted(REPLICATED)):
        facts = inventory.facts(resource)
        replicas = _replica_count(facts.replicas) if facts is not None else None
        if replicas is None or replicas < 2:
            continue
        labels = facts.labels
        index = selectors.get(resource.namespace)
        if index is None or not index.selects(labels):
            where = f"namespace {resource.namespace!r}" if resource.namespace else "its namespace"
            message = f"{replicas} replicas but no PodDisruptionBudget in {where} selects their pods"
            yield resource, Violation(("spec", "replicas"), message)


@check(
    id="KW-O006",
    slug="pdb-blocks-eviction",
    title="PodDisruptionBudgets must allow at least one eviction",
    severity=Severity.LOW,
    kinds=("PodDisruptionBudget",),
    rationale="""A budget of maxUnavailable 0 or minAvailable 100% never allows a voluntary
        eviction: node drains hang, so node upgrades and security patches stall until someone
        deletes the budget by hand.""",
    remediation="Allow at least one disruption, e.g. maxUnavailable: 1, and run enough replicas to absorb it.",
    example="""
        spec:
          maxUnavailable: 1
          selector:
            matchLabels: {app: web}
    """,
    refs={"nsa": "upgrading", "mitre": "T1068"},
    tags=TAGS,
)
def pdb_blocks_eviction(pdb: Resource) -> Iterator[Violation]:
    spec = mapping(pdb.obj.get("spec"))
    max_unavailable, min_available = spec.get("maxUnavailable"), spec.get("minAvailable")
    if _quantity(max_unavailable) in ((0, False), (0, True)):
        yield Violation(("spec", "maxUnavailable"), f"maxUnavailable is {max_unavailable}: no pod can ever be evicted")
    elif _quantity(min_available) == (100, True):
        yield Violation(("spec", "minAvailable"), f"minAvailable is {min_available}: no pod can ever be evicted")


def _quantity(value: Any) -> tuple[int, bool] | None:
    """An int-or-percent as (number, is_percent); None for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value, False
    match = PERCENT.fullmatch(value) if isinstance(value, str) else None
    return (int(match.group(1)), True) if match else None


@check(
    id="KW-O009",
    slug="no-pod-anti-affinity",
    title="Replicas should be spread across nodes",
    severity=Severity.LOW,
    kinds=REPLICATED,
    rationale="""Without podAntiAffinity or topologySpreadConstraints the scheduler's default
        spreading is only a soft preference: every replica may land on one node, and that
        node's failure or drain takes them all down together.""",
    remediation="Add a topologySpreadConstraint on kubernetes.io/hostname (or a podAntiAffinity rule) for the pod labels.",
    example="""
        topologySpreadConstraints:
          - maxSkew: 1
            topologyKey: kubernetes.io/hostname
            whenUnsatisfiable: ScheduleAnyway
            labelSelector:
              matchLabels: {app: web}
    """,
    refs=AVAILABILITY,
    tags=TAGS,
)
def no_pod_anti_affinity(pod: PodSpec) -> Iterator[Violation]:
    replicas = _replicas(pod.resource.obj)
    if replicas is None or replicas < 2:
        return
    if pod.get("affinity", "podAntiAffinity") or pod.get("topologySpreadConstraints"):
        return
    message = f"{replicas} replicas without podAntiAffinity or topologySpreadConstraints: all may run on one node"
    yield Violation(pod.at("affinity"), message)


@check(
    id="KW-O013",
    slug="selector-mismatch",
    title="A workload's selector must select its own pod template",
    severity=Severity.MEDIUM,
    kinds=SELECTING,
    rationale="""The API server rejects a Deployment, ReplicaSet, StatefulSet or DaemonSet whose
        selector is empty or does not match its pod template labels: the apply fails, and in a
        pipeline the previous (perhaps vulnerable) version keeps running.""",
    remediation="Make spec.selector.matchLabels a subset of spec.template.metadata.labels.",
    example="""
        spec:
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels: {app: web, tier: front}
    """,
    refs={"nsa": "upgrading", "mitre": "T1499"},
    tags=TAGS,
)
def selector_mismatch(pod: PodSpec) -> Iterator[Violation]:
    resource = pod.resource
    selector = dig(resource.obj, "spec", "selector")
    if selector is None:
        if resource.api_version == "apps/v1":  # older API versions default it to the template labels
            yield Violation(("spec", "selector"), f"spec.selector is missing (required for {resource.kind} in apps/v1)")
        return
    if not isinstance(selector, dict):
        return
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        yield Violation(("spec", "selector"), "spec.selector is empty (the API server rejects it)")
    elif not selector_matches(selector, pod.template_meta.get("labels")):
        labels = _labels_text(mapping(pod.template_meta.get("labels")))
        yield Violation(("spec", "selector"), f"spec.selector does not select the pod template labels {labels}")


# -- namespaces, labels and housekeeping ------------------------------------------------


@check(
    id="KW-O007",
    slug="default-namespace",
    title="Objects should not be placed in the default namespace",
    severity=Severity.LOW,
    kinds=NAMESPACED,
    rationale="""The default namespace is shared by everything nobody put elsewhere: RBAC,
        NetworkPolicies, quotas and Pod Security labels cannot be scoped to one application
        there. (A manifest without a namespace is not reported: that is decided at apply time.)""",
    remediation="Set metadata.namespace to a namespace dedicated to the application.",
    example="""
        metadata:
          name: web
          namespace: shop
    """,
    refs={"cis": "5.7.4", "nsa": "network/namespaces", "mitre": "T1613"},
    tags=TAGS,
)
def default_namespace(subject: PodSpec | Resource) -> Iterator[Violation]:
    resource = _resource(subject)
    if resource.metadata.get("namespace") == "default":
        yield Violation(("metadata", "namespace"), f"{resource.kind} is placed in the default namespace")


@check(
    id="KW-O008",
    slug="recommended-labels",
    title="Workloads should carry the recommended labels",
    severity=Severity.INFO,
    kinds=WORKLOADS,
    takes_config=True,
    rationale="""Labels such as app.kubernetes.io/name tie a running workload to its application
        and owner in logs, audit events, alerts and cost reports; an unlabelled workload is hard
        to attribute during an incident and easy to overlook when it should not be there.""",
    remediation="Add the recommended labels (setting recommended-labels in .kubeward.yaml) to metadata.labels.",
    example="""
        metadata:
          labels:
            app.kubernetes.io/name: web
            app.kubernetes.io/version: "1.4.2"
    """,
    refs={"nsa": "audit-logging", "mitre": "T1610"},
    tags=TAGS,
)
def recommended_labels(pod: PodSpec, config: Config) -> Iterator[Violation]:
    labels = mapping(pod.resource.metadata.get("labels"))
    missing = [label for label in config.recommended_labels if label not in labels]
    if missing:
        yield Violation(
            ("metadata", "labels"), f"missing recommended label{'s' if len(missing) > 1 else ''}: {', '.join(missing)}"
        )


@check(
    id="KW-O010",
    slug="bare-pod",
    title="Pods should be managed by a controller",
    severity=Severity.LOW,
    kinds=("Pod",),
    rationale="""Nothing recreates a bare Pod when its node fails or is drained, and kubectl drain
        refuses to delete it without --force, which stalls node upgrades. (Static pods' mirrors
        and Helm hook pods are not reported.)""",
    remediation="Run the pod from a Deployment, StatefulSet, DaemonSet or Job.",
    example="""
        apiVersion: apps/v1
        kind: Deployment
        spec:
          template:
            spec:
              containers: [...]
    """,
    refs={"nsa": "upgrading", "mitre": "T1499"},
    tags=TAGS,
)
def bare_pod(pod: PodSpec) -> Iterator[Violation]:
    meta = pod.resource.metadata
    annotations = mapping(meta.get("annotations"))
    if meta.get("ownerReferences") or "kubernetes.io/config.mirror" in annotations or "helm.sh/hook" in annotations:
        return
    yield Violation(("metadata", "ownerReferences"), "bare Pod: no controller recreates it if its node fails or is drained")


@check(
    id="KW-O011",
    slug="job-without-ttl",
    title="Jobs should be cleaned up after they finish",
    severity=Severity.INFO,
    kinds=("Job",),
    rationale="""A finished Job and its pods stay until someone deletes them: their specs, logs and
        environment stay readable to anyone who may read pods, and they count against quotas.
        (Jobs owned by a CronJob are cleaned up by its history limits and are not reported.)""",
    remediation="Set spec.ttlSecondsAfterFinished so the Job is deleted some time after it finishes.",
    example="""
        spec:
          ttlSecondsAfterFinished: 3600
    """,
    refs={"nsa": "network/secrets", "mitre": "T1552.007"},
    tags=TAGS,
)
def job_without_ttl(pod: PodSpec) -> Iterator[Violation]:
    obj = pod.resource.obj
    owners = pod.resource.metadata.get("ownerReferences")
    if isinstance(owners, list) and any(isinstance(o, dict) and o.get("kind") == "CronJob" for o in owners):
        return
    if dig(obj, "spec", "ttlSecondsAfterFinished") is None:
        yield Violation(
            ("spec", "ttlSecondsAfterFinished"), "Job has no ttlSecondsAfterFinished: it and its pods are never cleaned up"
        )


@check(
    id="KW-O012",
    slug="cronjob-without-deadline",
    title="CronJobs should set startingDeadlineSeconds",
    severity=Severity.INFO,
    kinds=("CronJob",),
    rationale="""Without a starting deadline, a run missed while the controller was down (a
        control-plane upgrade) or the CronJob was suspended starts whenever the controller
        catches up, however late, at a time nobody planned for; older controllers instead
        stopped scheduling it for good after 100 missed runs.""",
    remediation="Set spec.startingDeadlineSeconds to how late a run may still usefully start.",
    example="""
        spec:
          schedule: "0 3 * * *"
          startingDeadlineSeconds: 600
    """,
    refs={"nsa": "upgrading", "mitre": "T1053.007"},
    tags=TAGS,
)
def cronjob_without_deadline(pod: PodSpec) -> Iterator[Violation]:
    if dig(pod.resource.obj, "spec", "startingDeadlineSeconds") is None:
        yield Violation(("spec", "startingDeadlineSeconds"), "CronJob has no startingDeadlineSeconds")
