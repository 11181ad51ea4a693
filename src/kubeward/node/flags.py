"""Command lines read the way the components read them.

The Kubernetes components parse their flags with spf13/pflag (through cobra
and component-base); etcd with Go's standard ``flag`` package. Both differ from
a naive ``--name value`` split in ways that change a security setting:

* a boolean flag never takes the next word as its value: ``--anonymous-auth false``
  sets anonymous-auth to *true* and leaves ``false`` as a positional argument;
  only ``--anonymous-auth=false`` turns it off;
* a non-boolean flag without ``=`` takes the next word, whatever it looks like;
* a repeated scalar flag: the last one wins; a repeated slice flag
  (``--enable-admission-plugins``, pflag StringSlice) accumulates, the first
  occurrence replacing the default; feature gates accumulate key by key;
* ``_`` and ``-`` are the same in Kubernetes flag names (component-base's
  WordSepNormalizeFunc);
* pflag keeps parsing after positional arguments; Go's ``flag`` (etcd) stops at
  the first one, and accepts ``-name`` as well as ``--name``.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

# Boolean flags of the components, whatever the component (the names do not clash).
BOOL_FLAGS = frozenset(
    {
        # kube-apiserver
        "anonymous-auth", "profiling", "service-account-lookup", "allow-privileged", "enable-bootstrap-token-auth",
        "enable-aggregator-routing", "enable-priority-and-fairness", "enable-garbage-collector", "contention-profiling",
        "audit-log-compress", "service-account-extend-token-expiration", "enable-logs-handler",
        "watch-cache",
        # kube-controller-manager / scheduler
        "use-service-account-credentials", "leader-elect", "allocate-node-cidrs", "configure-cloud-routes",
        "enable-hostpath-provisioner", "enable-dynamic-provisioning",
        # kubelet
        "rotate-certificates", "rotate-server-certificates", "protect-kernel-defaults", "make-iptables-util-chains",
        "fail-swap-on", "authentication-token-webhook", "serialize-image-pulls", "register-node", "seccomp-default",
        "cgroups-per-qos", "enable-debugging-handlers", "enable-server", "exit-on-lock-contention", "kernel-memcg-notification",
        "keep-terminated-pod-volumes", "register-schedulable", "cpu-cfs-quota", "enable-controller-attach-detach",
        "local-storage-capacity-isolation", "fail-cgroupv1", "containerized",
        # etcd
        "client-cert-auth", "auto-tls", "peer-client-cert-auth", "peer-auto-tls", "enable-pprof", "strict-reconfig-check",
        "force-new-cluster", "enable-v2", "debug", "logtostderr", "alsologtostderr", "experimental-initial-corrupt-check",
        "enable-grpc-gateway", "v2-deprecation",
    }
)
# Flags whose values are lists, accumulated across occurrences (pflag StringSlice /
# StringArray): comma-separated per occurrence, the first occurrence replacing the default.
SLICE_FLAGS = frozenset(
    {
        "enable-admission-plugins", "disable-admission-plugins", "admission-control", "authorization-mode",
        "tls-cipher-suites", "api-audiences", "service-account-key-file", "service-account-issuer", "controllers",
        "cors-allowed-origins", "tls-sni-cert-key", "etcd-servers", "cipher-suites",
    }
)
# StringArray flags take each occurrence whole (no comma split).
ARRAY_FLAGS = frozenset({"service-account-key-file", "service-account-issuer", "tls-sni-cert-key"})
FEATURE_GATES = "feature-gates"

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def parse_bool(text: str) -> bool | None:
    """Go's strconv.ParseBool; None when it would fail."""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def normalise(name: str) -> str:
    return name.replace("_", "-")


@dataclass
class FlagSet:
    """What a command line set: last value per flag, lists accumulated, errors kept."""

    values: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)
    gates: dict[str, bool] = field(default_factory=dict)
    positional: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    program: str = ""

    def has(self, name: str) -> bool:
        return name in self.values

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def list(self, name: str) -> list[str] | None:
        return self.lists.get(name)


def split_command(text: str) -> list[str]:
    """A command line as a shell would split it (quotes, backslashes)."""
    return shlex.split(text)


def _set(flags: FlagSet, name: str, value: str) -> None:
    flags.values[name] = value
    if name in SLICE_FLAGS:
        items = [value] if name in ARRAY_FLAGS else [v.strip() for v in value.split(",") if v.strip()]
        flags.lists.setdefault(name, []).extend(items)
    elif name == FEATURE_GATES:
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            key, sep, raw = item.partition("=")
            parsed = parse_bool(raw.strip()) if sep else None
            if parsed is None:
                flags.errors.append(f"--feature-gates: invalid value {item!r}")
                continue
            flags.gates[key.strip()] = parsed


def parse_flags(argv: list[str], *, go_flag: bool = False, bool_flags: frozenset[str] = BOOL_FLAGS) -> FlagSet:
    """Parse ``argv`` (the program first) as pflag does, or as Go's ``flag`` when ``go_flag`` (etcd)."""
    flags = FlagSet(program=argv[0] if argv else "")
    args = list(argv[1:])
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            flags.positional.extend(args[i:])
            break
        if not arg.startswith("-") or arg == "-":
            if go_flag:  # Go's flag stops at the first non-flag argument
                flags.positional.extend(args[i - 1 :])
                break
            flags.positional.append(arg)
            continue
        if arg.startswith("--"):
            body = arg[2:]
        elif go_flag:
            body = arg[1:]
        else:
            body = arg[1:]
            # pflag: a single dash is shorthand; -v=2 / -v 2 is the one the components define
            if not body.startswith("v") or (len(body) > 1 and body[1] != "="):
                flags.errors.append(f"{arg}: single-dash flags are shorthands in pflag; ignored")
                continue
        name, eq, value = body.partition("=")
        name = normalise(name)
        if not name:
            flags.errors.append(f"{arg}: bad flag syntax")
            continue
        if eq:
            if name in bool_flags and parse_bool(value) is None:
                flags.errors.append(f"--{name}: invalid boolean {value!r}")
                continue
            _set(flags, name, value)
        elif name in bool_flags:
            _set(flags, name, "true")
        elif i < len(args):
            _set(flags, name, args[i])
            i += 1
        else:
            flags.errors.append(f"--{name}: flag needs an argument")
    return flags
