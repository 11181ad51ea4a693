"""What `kubeward probe` may contact: explicit hosts and known ports only.

The prober never discovers targets. Every host is named on the command line
(a hostname, an IPv4 or an IPv6 address); CIDRs, ranges and wildcards are
refused rather than expanded, and the number of hosts is capped, so it cannot
be used as a network scanner.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

SERVICES = ("apiserver", "kubelet", "kubelet-readonly", "etcd", "dashboard")
# Which probes run on a port when --ports gives no service.
KNOWN_PORTS: dict[int, tuple[str, ...]] = {
    6443: ("apiserver",),
    443: ("apiserver", "dashboard"),
    8443: ("apiserver", "dashboard"),
    10250: ("kubelet",),
    10255: ("kubelet-readonly",),
    2379: ("etcd",),
    9090: ("dashboard",),
}
DEFAULT_PORTS = (6443, 10250, 10255, 2379)
MAX_HOSTS = 16

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?")


class TargetError(ValueError):
    """A host or port the prober refuses (a usage error)."""


@dataclass(frozen=True, slots=True)
class Target:
    host: str  # a hostname or an IP address without brackets
    port: int
    service: str

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_host(text: str) -> str:
    """One explicit host. Refuses CIDRs, ranges, wildcards and URLs instead of guessing."""
    host = text.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        raise TargetError("empty host")
    if "/" in host:
        raise TargetError(f"{text!r}: CIDRs and URLs are refused; the prober only contacts hosts named one by one")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if any(c in host for c in "*?,") or re.fullmatch(r"[\d.]+-[\d.]+", host):
        raise TargetError(f"{text!r}: ranges and wildcards are refused; name each host")
    if not _HOSTNAME.fullmatch(host) or re.fullmatch(r"[\d.]+", host):
        raise TargetError(f"{text!r} is not a hostname or IP address")
    return host.lower()


def parse_ports(specs: list[str] | tuple[str, ...]) -> list[tuple[int, str]]:
    """`--ports 6443,10250` or `--ports 8080:apiserver`: (port, service) pairs, in order, without duplicates.

    A port kubeward does not know needs its service after a colon.
    """
    pairs: list[tuple[int, str]] = []
    for spec in specs:
        for item in filter(None, (s.strip() for s in str(spec).split(","))):
            number, _, service = item.partition(":")
            if not number.isdigit() or not 0 < int(number) < 65536:
                raise TargetError(f"bad port {item!r} (expected PORT or PORT:SERVICE)")
            port = int(number)
            if service:
                if service not in SERVICES:
                    raise TargetError(f"unknown service {service!r} in {item!r} (one of: {', '.join(SERVICES)})")
                services: tuple[str, ...] = (service,)
            elif port in KNOWN_PORTS:
                services = KNOWN_PORTS[port]
            else:
                raise TargetError(f"port {port} has no default service; write it as {port}:SERVICE ({', '.join(SERVICES)})")
            pairs += [(port, s) for s in services if (port, s) not in pairs]
    return pairs


def plan(hosts: list[str] | tuple[str, ...], port_specs: list[str] | tuple[str, ...] = ()) -> list[Target]:
    """The targets for these hosts and --ports values (default: DEFAULT_PORTS)."""
    if not hosts:
        raise TargetError("name at least one HOST (e.g. 127.0.0.1)")
    parsed = list(dict.fromkeys(parse_host(h) for h in hosts))
    if len(parsed) > MAX_HOSTS:
        raise TargetError(f"{len(parsed)} hosts given; the prober takes at most {MAX_HOSTS} per run")
    pairs = parse_ports(port_specs) if port_specs else parse_ports([",".join(map(str, DEFAULT_PORTS))])
    return [Target(h, port, service) for h in parsed for port, service in pairs]
