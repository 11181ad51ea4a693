"""Exposure probes: `kubeward probe HOST...`.

Unauthenticated, read-only requests to explicitly named hosts (targets.py),
made by one bounded HTTP(S) client (net.py), following a fixed plan per
service (observe.py); pure rules turn the answers into findings (rules.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .net import fetch
from .observe import Fetch, Observation, observe_all
from .rules import RULES, ProbeFinding, ProbeRule, evaluate, verdict
from .targets import DEFAULT_PORTS, KNOWN_PORTS, MAX_HOSTS, SERVICES, Target, TargetError, plan

__all__ = [
    "DEFAULT_PORTS",
    "KNOWN_PORTS",
    "MAX_HOSTS",
    "RULES",
    "SERVICES",
    "ProbeFinding",
    "ProbeResult",
    "ProbeRule",
    "Target",
    "TargetError",
    "plan",
    "probe",
]


@dataclass(slots=True)
class ProbeResult:
    observation: Observation
    verdict: str
    why: str
    findings: list[ProbeFinding]

    @property
    def target(self) -> Target:
        return self.observation.target

    def as_dict(self) -> dict:
        obs = self.observation
        return {
            "host": self.target.host,
            "port": self.target.port,
            "service": self.target.service,
            "scheme": obs.scheme,
            "verdict": self.verdict,
            "why": self.why,
            "tls": obs.tls.as_dict() if obs.tls else None,
            "exchanges": [ex.as_dict() for ex in obs.exchanges],
            "findings": [f.rule.id for f in self.findings],  # details in the report's top-level findings
        }


def assess(obs: Observation) -> ProbeResult:
    """Pure: findings and verdict for one observation."""
    findings = evaluate(obs)
    state, why = verdict(obs, findings)
    return ProbeResult(obs, state, why, findings)


def probe(targets: Iterable[Target], *, timeout: float = 3.0, concurrency: int = 8, fetcher: Fetch = fetch) -> list[ProbeResult]:
    return [assess(obs) for obs in observe_all(targets, timeout=timeout, concurrency=concurrency, fetcher=fetcher)]
