"""Where the control-plane components and the kubelet get their command lines.

Four sources, read the way the thing that starts the component reads them:

* static pod manifests (kubeadm's ``/etc/kubernetes/manifests``): a container's
  ``command`` followed by its ``args``, and its ``env`` (etcd reads ``ETCD_*``);
* running processes: ``/proc/<pid>/cmdline`` (NUL-separated) and ``environ``;
* systemd units and their drop-ins: ``ExecStart`` after ``Environment=`` and
  ``EnvironmentFile=`` expansion, as systemd does it for kubeadm's
  ``10-kubeadm.conf`` (``$KUBELET_KUBEADM_ARGS`` from ``kubeadm-flags.env``);
* command lines and files given explicitly.

Every path read here is a host path resolved under ``root`` so the same code
runs on a node (root ``/``) and offline on a copy of a node's files.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

COMPONENTS = ("apiserver", "controller-manager", "scheduler", "etcd", "kubelet")
_BINARIES = {
    "kube-apiserver": "apiserver",
    "kube-controller-manager": "controller-manager",
    "kube-scheduler": "scheduler",
    "etcd": "etcd",
    "kubelet": "kubelet",
}
# systemd's unit search path, highest precedence first
UNIT_DIRS = ("etc/systemd/system", "run/systemd/system", "lib/systemd/system", "usr/lib/systemd/system")
# which source wins when a component is found in several: what runs beats what is configured
_PRIORITY = {"command line": 0, "process": 1, "static pod": 2, "systemd": 3}


@dataclass
class Component:
    name: str  # one of COMPONENTS
    argv: list[str]
    origin: str  # "static pod", "process", "systemd", "command line"
    file: str  # where the command line came from (manifest, /proc/PID/cmdline, unit file)
    env: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    extra_files: list[str] = field(default_factory=list)  # drop-ins, environment files read


def component_of(argv: list[str]) -> str | None:
    """Which component a command line starts (hyperkube style ``hyperkube kubelet`` too)."""
    if not argv:
        return None
    base = os.path.basename(argv[0])
    if base in ("hyperkube", "kubernetes") and len(argv) > 1:
        sub = os.path.basename(argv[1]).removeprefix("kube-")
        base = "kubelet" if sub == "kubelet" else "etcd" if sub == "etcd" else f"kube-{sub}"
    return _BINARIES.get(base)


def host_path(root: Path, path: str) -> Path:
    """A host path as seen under ``root`` (absolute paths re-rooted, relative ones kept)."""
    p = Path(path)
    return root / p.relative_to("/") if p.is_absolute() else p


# -- static pods ---------------------------------------------------------------


def from_manifests(directory: Path) -> tuple[list[Component], list[str]]:
    """Components in the static pod manifests of ``directory`` (the kubelet reads *.yaml, *.yml, *.json)."""
    from ..sources.yamlparse import parse_documents

    found: list[Component] = []
    errors: list[str] = []
    if not directory.is_dir():
        return found, [f"{directory}: not a directory"]
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or not path.is_file():  # the kubelet ignores dot files
            continue
        try:
            text = path.read_text(errors="replace")
        except OSError as exc:
            errors.append(f"{path}: {exc.strerror or exc}")
            continue
        for doc in parse_documents(text):
            if doc.error:
                errors.append(f"{path}: {doc.error}")
                continue
            found.extend(_pod_components(doc.value, str(path)))
    return found, errors


def _pod_components(pod, file: str) -> list[Component]:
    if not isinstance(pod, dict) or pod.get("kind") != "Pod":
        return []
    spec = pod.get("spec")
    containers = spec.get("containers") if isinstance(spec, dict) else None
    out = []
    for c in containers if isinstance(containers, list) else []:
        if not isinstance(c, dict):
            continue
        command = c.get("command") if isinstance(c.get("command"), list) else []
        args = c.get("args") if isinstance(c.get("args"), list) else []
        argv = [str(a) for a in [*command, *args] if isinstance(a, str | int | float)]
        name = component_of(argv)
        if name is None:
            continue
        env = {}
        for item in c.get("env") if isinstance(c.get("env"), list) else []:
            if isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("value"), str):
                env[item["name"]] = item["value"]
        out.append(Component(name, argv, "static pod", file, env))
    return out


# -- processes -----------------------------------------------------------------


def from_proc(proc: Path) -> list[Component]:
    """Components among the processes under ``proc`` (a /proc mount; with hostPID, the node's)."""
    found = []
    try:
        entries = [e for e in proc.iterdir() if e.name.isdigit()]
    except OSError:
        return []
    for entry in sorted(entries, key=lambda e: int(e.name)):
        try:
            raw = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # gone, or a kernel thread
        argv = [a.decode(errors="replace") for a in raw.split(b"\0")]
        while argv and argv[-1] == "":
            argv.pop()
        name = component_of(argv)
        if name is None:
            continue
        env = {}
        try:
            for item in (entry / "environ").read_bytes().split(b"\0"):
                key, sep, value = item.decode(errors="replace").partition("=")
                if sep and key.startswith("ETCD_"):
                    env[key] = value
        except OSError:
            pass
        found.append(Component(name, argv, "process", str(entry / "cmdline"), env))
    return found


# -- systemd -------------------------------------------------------------------


def parse_unit(text: str) -> list[tuple[str, str, str]]:
    """(section, key, value) of a unit file, in order; backslash-newline joins lines with a space."""
    entries: list[tuple[str, str, str]] = []
    section = ""
    pending = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if not pending and (not line.strip() or line.lstrip()[:1] in ("#", ";")):
            continue
        if pending and line.lstrip()[:1] in ("#", ";"):  # comments inside a continuation are skipped
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1]
            continue
        key, sep, value = stripped.partition("=")
        if sep:
            entries.append((section, key.strip(), value.strip()))
    if pending.strip():
        key, sep, value = pending.strip().partition("=")
        if sep:
            entries.append((section, key.strip(), value.strip()))
    return entries


def parse_env_file(text: str) -> dict[str, str]:
    """An EnvironmentFile: KEY=VALUE lines, # and ; comments, quotes removed."""
    env = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        value = value.strip()
        try:
            words = shlex.split(value, comments=False)
            value = " ".join(words) if len(words) != 1 else words[0]
        except ValueError:
            pass
        env[key.strip()] = value
    return env


_WHOLE_VAR = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
_BRACED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_exec(command: str, env: dict[str, str]) -> list[str]:
    """systemd's ExecStart expansion: ``$VAR`` as a word of its own splits at whitespace
    into zero or more words; ``${VAR}`` anywhere is one word's worth of text; ``$$`` is ``$``."""
    command = command.lstrip("@-:+!")
    words = shlex.split(command.replace("$$", "\x00"))
    out: list[str] = []
    for word in words:
        m = _WHOLE_VAR.match(word)
        if m:
            out.extend(env.get(m.group(1), "").split())
            continue
        out.append(_BRACED.sub(lambda g: env.get(g.group(1), ""), word).replace("\x00", "$"))
    return out


def unit_files(root: Path, unit: str) -> tuple[Path | None, list[Path]]:
    """The unit file systemd would load and its drop-ins (``unit.d/*.conf``), in the order applied:
    sorted by file name, a name in a higher-precedence directory hiding the same name below."""
    main = next((root / d / unit for d in UNIT_DIRS if (root / d / unit).is_file()), None)
    dropins: dict[str, Path] = {}
    for d in reversed(UNIT_DIRS):  # lowest precedence first, so higher ones replace
        directory = root / d / f"{unit}.d"
        if directory.is_dir():
            for f in directory.glob("*.conf"):
                dropins[f.name] = f
    return main, [dropins[name] for name in sorted(dropins)]


def from_systemd(root: Path, units: tuple[str, ...] = ("kubelet.service", "etcd.service", "kube-apiserver.service",
                                                        "kube-controller-manager.service", "kube-scheduler.service")
                 ) -> tuple[list[Component], list[str]]:
    found, errors = [], []
    for unit in units:
        main, dropins = unit_files(root, unit)
        if main is None and not dropins:
            continue
        files = [f for f in [main, *dropins] if f is not None]
        env: dict[str, str] = {}
        env_files: list[tuple[str, bool]] = []
        exec_start: str | None = None
        for f in files:
            try:
                entries = parse_unit(f.read_text(errors="replace"))
            except OSError as exc:
                errors.append(f"{f}: {exc.strerror or exc}")
                continue
            for section, key, value in entries:
                if section != "Service":
                    continue
                if key == "ExecStart":
                    exec_start = value or None  # an empty ExecStart= resets the list
                elif key == "Environment":
                    try:
                        for assignment in shlex.split(value):
                            k, sep, v = assignment.partition("=")
                            if sep:
                                env[k] = v
                    except ValueError as exc:
                        errors.append(f"{f}: Environment: {exc}")
                elif key == "EnvironmentFile":
                    optional = value.startswith("-")
                    env_files.append((value.lstrip("-"), optional))
        read = []
        for path, optional in env_files:  # EnvironmentFile= settings override Environment=
            real = host_path(root, path)
            try:
                env.update(parse_env_file(real.read_text(errors="replace")))
                read.append(str(real))
            except OSError:
                if not optional:
                    errors.append(f"{real}: EnvironmentFile of {unit} is missing (systemd would refuse to start it)")
        if exec_start is None:
            continue
        try:
            argv = expand_exec(exec_start, env)
        except ValueError as exc:
            errors.append(f"{unit}: ExecStart: {exc}")
            continue
        name = component_of(argv)
        if name is None:
            continue
        comp = Component(name, argv, "systemd", str(files[-1] if dropins else files[0]), env={
            k: v for k, v in env.items() if k.startswith("ETCD_")})
        comp.extra_files = [str(f) for f in files] + read
        found.append(comp)
    return found, errors


# -- putting it together -------------------------------------------------------


@dataclass
class Discovery:
    components: dict[str, Component] = field(default_factory=dict)
    also_found: list[Component] = field(default_factory=list)  # lower-priority sources of the same component
    errors: list[str] = field(default_factory=list)
    root: Path | None = None  # host files are read under this (None: offline, explicit files only)
    manifests_dir: Path | None = None


def choose(candidates: list[Component]) -> tuple[dict[str, Component], list[Component]]:
    chosen: dict[str, Component] = {}
    rest: list[Component] = []
    for comp in sorted(candidates, key=lambda c: _PRIORITY.get(c.origin, 9)):
        if comp.name in chosen:
            rest.append(comp)
        else:
            chosen[comp.name] = comp
    return chosen, rest


def discover(
    *,
    root: Path | None = None,
    manifests_dir: Path | None = None,
    proc: Path | None = None,
    systemd: bool = True,
    commands: dict[str, str] | None = None,
) -> Discovery:
    """Find the components. ``root`` set: the static pods, processes and units of that node.
    ``commands``: explicit command lines per component, which win over everything found."""
    result = Discovery(root=root)
    candidates: list[Component] = []
    if manifests_dir is None and root is not None:
        default = root / "etc/kubernetes/manifests"
        manifests_dir = default if default.is_dir() else None
    result.manifests_dir = manifests_dir
    if manifests_dir is not None:
        comps, errors = from_manifests(manifests_dir)
        candidates += comps
        result.errors += errors
    if proc is not None:
        candidates += from_proc(proc)
    if root is not None and systemd:
        comps, errors = from_systemd(root)
        candidates += comps
        result.errors += errors
    for name, text in (commands or {}).items():
        try:
            argv = shlex.split(text)
        except ValueError as exc:
            result.errors.append(f"--{name}-cmd: {exc}")
            continue
        if argv and component_of(argv) is None:  # "--anonymous-auth=false ..." alone: the flags of NAME
            argv = [{"apiserver": "kube-apiserver", "controller-manager": "kube-controller-manager",
                     "scheduler": "kube-scheduler"}.get(name, name), *argv] if argv[0].startswith("-") else argv
        candidates.append(Component(name, argv, "command line", f"--{name}-cmd"))
    result.components, result.also_found = choose(candidates)
    return result
