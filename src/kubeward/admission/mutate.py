"""Secure defaults as JSONPatch (RFC 6902) for the pod spec of any pod-carrying kind.

Each mutation is opt-in (policy ``mutations``). A field the user set is left
alone unless ``override: true``, so running the patch twice (webhook
reinvocation) adds nothing the second time. Combinations the API server would
reject are never produced: allowPrivilegeEscalation stays unset on privileged
containers and those adding CAP_SYS_ADMIN, and Windows pods (spec.os.name:
windows) are not touched, since seccomp and capabilities are Linux-only fields.
"""

from __future__ import annotations

from typing import Any

from ..model import Path
from .policy import Mutations


def pointer(path: Path) -> str:
    """A JSON Pointer (RFC 6901) for a field path."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def patch_for(
    obj: dict[str, Any], spec_path: Path, m: Mutations, *, skip_containers: set[str] | frozenset = frozenset()
) -> list[dict]:
    spec: Any = obj
    for key in spec_path:
        spec = spec.get(key) if isinstance(spec, dict) else None
    if not isinstance(spec, dict):
        return []
    os_name = spec.get("os", {}).get("name") if isinstance(spec.get("os"), dict) else None
    if os_name == "windows":
        return []
    ops: list[dict] = []
    pod_sc: dict[str, Any] = {}
    if m.seccomp_profile:
        pod_sc["seccompProfile"] = _seccomp
    _merge(ops, spec, (*spec_path, "securityContext"), pod_sc, m.override)
    if m.automount_service_account_token:
        account = spec.get("serviceAccountName") or spec.get("serviceAccount")
        current = spec.get("automountServiceAccountToken")
        # only where no API access is needed: pods running as the namespace's default ServiceAccount
        if account in (None, "", "default") and (current is None or (m.override and current is True)):
            ops.append(_set(spec, (*spec_path, "automountServiceAccountToken"), "automountServiceAccountToken", False))
    for field in ("initContainers", "containers"):
        items = spec.get(field)
        if not isinstance(items, list):
            continue
        for i, container in enumerate(items):
            if not isinstance(container, dict) or container.get("name") in skip_containers:
                continue
            wanted: dict[str, Any] = {}
            sc = container.get("securityContext")
            sc = sc if isinstance(sc, dict) else {}
            if m.allow_privilege_escalation and not _needs_escalation(sc):
                wanted["allowPrivilegeEscalation"] = False
            if m.drop_all_capabilities:
                wanted["capabilities"] = _drop_all
            if m.read_only_root_filesystem:
                wanted["readOnlyRootFilesystem"] = True
            _merge(ops, container, (*spec_path, field, i, "securityContext"), wanted, m.override)
    return ops


_seccomp = {"type": "RuntimeDefault"}
_drop_all = {"drop": ["ALL"]}


def _needs_escalation(sc: dict[str, Any]) -> bool:
    """API validation rejects allowPrivilegeEscalation: false with privileged or CAP_SYS_ADMIN."""
    if sc.get("privileged") is True:
        return True
    caps = sc.get("capabilities")
    add = caps.get("add") if isinstance(caps, dict) else None
    return isinstance(add, list) and any(a in ("SYS_ADMIN", "CAP_SYS_ADMIN") for a in add)


def _set(parent: dict[str, Any], path: Path, key: str, value: Any) -> dict:
    return {"op": "replace" if key in parent else "add", "path": pointer(path), "value": value}


def _merge(ops: list[dict], parent: dict[str, Any], path: Path, wanted: dict[str, Any], override: bool) -> None:
    """Add the ``wanted`` fields under parent[path[-1]], creating it when absent."""
    if not wanted:
        return
    key = path[-1]
    current = parent.get(key)
    if current is None:
        ops.append({"op": "add", "path": pointer(path), "value": _copy(wanted)})
        return
    if not isinstance(current, dict):
        return  # a wrong type: the API server's validation reports it, not us
    for name, value in wanted.items():
        existing = current.get(name)
        if name == "capabilities":
            _capabilities(ops, current, (*path, name), override)
        elif existing is None:
            ops.append({"op": "add", "path": pointer((*path, name)), "value": _copy(value)})
        elif override and existing != value and not isinstance(value, dict):
            ops.append({"op": "replace", "path": pointer((*path, name)), "value": value})
        elif override and isinstance(value, dict) and isinstance(existing, dict) and existing.get("type") == "Unconfined":
            ops.append({"op": "replace", "path": pointer((*path, name)), "value": _copy(value)})


def _capabilities(ops: list[dict], sc: dict[str, Any], path: Path, override: bool) -> None:
    caps = sc.get("capabilities")
    if caps is None:
        ops.append({"op": "add", "path": pointer(path), "value": {"drop": ["ALL"]}})
        return
    if not isinstance(caps, dict):
        return
    drop = caps.get("drop")
    if drop is None:
        ops.append({"op": "add", "path": pointer((*path, "drop")), "value": ["ALL"]})
    elif override and isinstance(drop, list) and "ALL" not in drop:
        ops.append({"op": "add", "path": pointer((*path, "drop", "-")), "value": "ALL"})


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def apply_patch(doc: Any, ops: list[dict]) -> Any:
    """A small RFC 6902 applier (add, replace, remove, test) for tests and `admission test --mutate`."""
    import copy

    doc = copy.deepcopy(doc)
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        if not parts:
            doc = op.get("value")
            continue
        parent = doc
        for p in parts[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent[p]
        last = parts[-1]
        kind = op["op"]
        if isinstance(parent, list):
            index = len(parent) if last == "-" else int(last)
            if kind == "add":
                parent.insert(index, op["value"])
            elif kind == "replace":
                parent[index] = op["value"]
            elif kind == "remove":
                del parent[index]
            elif kind == "test" and parent[index] != op["value"]:
                raise ValueError(f"test failed at {op['path']}")
        else:
            if kind in ("add", "replace"):
                if kind == "replace" and last not in parent:
                    raise KeyError(op["path"])
                parent[last] = op["value"]
            elif kind == "remove":
                del parent[last]
            elif kind == "test" and parent.get(last) != op["value"]:
                raise ValueError(f"test failed at {op['path']}")
    return doc
