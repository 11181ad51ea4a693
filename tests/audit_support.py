"""Helpers for the audit tests: hand-written events and the audit-1.28 recording."""

from __future__ import annotations

import itertools
import json
from typing import Any

from helpers import SHARED

RECORDING = SHARED / "recordings" / "audit-1.28"
EVENTS = RECORDING / "events.jsonl"
_ids = itertools.count(1)


def event(
    verb: str,
    resource: str = "",
    subresource: str = "",
    *,
    namespace: str = "",
    name: str = "",
    group: str = "",
    user: str = "alice@example.com",
    groups: tuple[str, ...] = ("system:authenticated",),
    code: int = 200,
    ip: str = "10.0.0.5",
    uri: str | None = None,
    stage: str = "ResponseComplete",
    time: str = "2026-11-24T11:00:00.000000Z",
    **extra: Any,
) -> dict:
    """An audit.k8s.io/v1 Event as the API server writes it."""
    ev: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "RequestResponse",
        "auditID": f"test-{next(_ids):06d}",
        "stage": stage,
        "requestURI": uri or _uri(resource, subresource, namespace, name, group),
        "verb": verb,
        "user": {"username": user, "groups": list(groups)} if user else {},
        "sourceIPs": [ip],
        "userAgent": "kubectl/v1.30.0",
        "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": time,
        "stageTimestamp": time,
    }
    if resource:
        ref = {"resource": resource, "apiVersion": "v1"}
        for key, value in (("namespace", namespace), ("name", name), ("apiGroup", group), ("subresource", subresource)):
            if value:
                ref[key] = value
        ev["objectRef"] = ref
    ev.update(extra)
    return ev


def _uri(resource: str, subresource: str, namespace: str, name: str, group: str) -> str:
    if not resource:
        return "/api"
    base = f"/apis/{group}/v1" if group else "/api/v1"
    if namespace and resource != "namespaces":
        base += f"/namespaces/{namespace}"
    base += f"/{resource}"
    if name:
        base += f"/{name}"
    if subresource:
        base += f"/{subresource}"
    return base


def scenarios() -> dict[str, dict]:
    data = json.loads((RECORDING / "scenarios.json").read_text())
    out = {s["label"]: s for s in data["scenarios"]}
    out["background"] = {"label": "background", "audit_ids": data["background"]["audit_ids"], "key_events": {"audit_ids": []}}
    return out
