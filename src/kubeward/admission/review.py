"""AdmissionReview ``admission.k8s.io/v1``: parse and validate a request, build the response.

Reference: k8s.io/api/admission/v1 types.go. A malformed review raises
:class:`ReviewError`; the server answers it with HTTP 400 and a JSON error
body (the API server then applies the webhook's failurePolicy).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import orjson

API_VERSION = "admission.k8s.io/v1"
OPERATIONS = frozenset({"CREATE", "UPDATE", "DELETE", "CONNECT"})
MAX_WARNING = 120  # characters per warning: longer ones are cut (the API server may drop them)


class ReviewError(ValueError):
    """Not a well-formed AdmissionReview v1 request."""


@dataclass(slots=True)
class AdmissionRequest:
    uid: str
    operation: str
    kind: str  # object kind (kind.kind)
    group: str
    version: str
    resource: str  # plural, e.g. pods
    sub_resource: str
    name: str
    namespace: str
    username: str
    groups: tuple[str, ...]
    object: dict[str, Any] | None
    old_object: dict[str, Any] | None
    dry_run: bool
    options: dict[str, Any] | None = None

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


def _str(value: Any, field_name: str, *, required: bool = False) -> str:
    if value is None:
        if required:
            raise ReviewError(f"request.{field_name} is required")
        return ""
    if not isinstance(value, str):
        raise ReviewError(f"request.{field_name} must be a string, not {type(value).__name__}")
    if required and not value:
        raise ReviewError(f"request.{field_name} must not be empty")
    return value


def _obj(value: Any, field_name: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ReviewError(f"request.{field_name} must be an object, not {type(value).__name__}")
    return value


def parse_review(body: bytes | str) -> AdmissionRequest:
    """The request of an AdmissionReview body, validated; ReviewError when malformed."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ReviewError(f"body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ReviewError("body must be a JSON object (an AdmissionReview)")
    if data.get("apiVersion") != API_VERSION:
        raise ReviewError(f"apiVersion must be {API_VERSION}, not {data.get('apiVersion')!r}")
    if data.get("kind") != "AdmissionReview":
        raise ReviewError(f"kind must be AdmissionReview, not {data.get('kind')!r}")
    request = data.get("request")
    if not isinstance(request, dict):
        raise ReviewError("request is missing or not an object")
    uid = _str(request.get("uid"), "uid", required=True)
    operation = _str(request.get("operation"), "operation", required=True)
    if operation not in OPERATIONS:
        raise ReviewError(f"request.operation must be one of {', '.join(sorted(OPERATIONS))}, not {operation!r}")
    kind = _obj(request.get("kind"), "kind") or {}
    resource = _obj(request.get("resource"), "resource") or {}
    user = _obj(request.get("userInfo"), "userInfo") or {}
    groups = user.get("groups") or []
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise ReviewError("request.userInfo.groups must be a list of strings")
    dry_run = request.get("dryRun", False)
    if dry_run is None:
        dry_run = False
    if not isinstance(dry_run, bool):
        raise ReviewError(f"request.dryRun must be a boolean, not {type(dry_run).__name__}")
    obj = _obj(request.get("object"), "object")
    old = _obj(request.get("oldObject"), "oldObject")
    if operation in ("CREATE", "UPDATE") and obj is None:
        raise ReviewError(f"request.object is required for {operation}")
    return AdmissionRequest(
        uid=uid,
        operation=operation,
        kind=_str(kind.get("kind"), "kind.kind", required=True),
        group=_str(kind.get("group"), "kind.group"),
        version=_str(kind.get("version"), "kind.version"),
        resource=_str(resource.get("resource"), "resource.resource"),
        sub_resource=_str(request.get("subResource"), "subResource"),
        name=_str(request.get("name"), "name"),
        namespace=_str(request.get("namespace"), "namespace"),
        username=_str(user.get("username"), "userInfo.username"),
        groups=tuple(groups),
        object=obj,
        old_object=old,
        dry_run=dry_run,
        options=_obj(request.get("options"), "options"),
    )


def request_uid(body: bytes) -> str | None:
    """Best effort: the uid of a (possibly malformed) review, for logs."""
    try:
        data = orjson.loads(body)
        uid = data["request"]["uid"]
        return uid if isinstance(uid, str) else None
    except Exception:
        return None


@dataclass(slots=True)
class Decision:
    allowed: bool = True
    code: int = 200
    reason: str = ""  # Forbidden, BadRequest, ...
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    audit: dict[str, str] = field(default_factory=dict)
    patch: list[dict[str, Any]] | None = None
    # for metrics and logs
    denied_checks: list[str] = field(default_factory=list)
    warned_checks: list[str] = field(default_factory=list)
    outcome: str = ""  # allow / deny / warn / skip / exempt / mutate

    @property
    def label(self) -> str:
        if self.outcome:
            return self.outcome
        if not self.allowed:
            return "deny"
        return "warn" if self.warnings else "allow"


def shorten(text: str, limit: int = MAX_WARNING) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def response_body(uid: str, decision: Decision, *, mutating: bool = False) -> bytes:
    """The AdmissionReview response for a decision (a patch only from /mutate)."""
    response: dict[str, Any] = {"uid": uid, "allowed": decision.allowed}
    if not decision.allowed:
        response["status"] = {
            "code": decision.code,
            "reason": decision.reason or "Forbidden",
            "message": decision.message,
        }
    if decision.warnings:
        response["warnings"] = [shorten(w) for w in decision.warnings]
    if decision.audit:
        response["auditAnnotations"] = decision.audit
    if mutating and decision.patch:
        response["patchType"] = "JSONPatch"
        response["patch"] = base64.b64encode(orjson.dumps(decision.patch)).decode("ascii")
    return orjson.dumps({"apiVersion": API_VERSION, "kind": "AdmissionReview", "response": response})
