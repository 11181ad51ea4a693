"""Prometheus metrics in the text exposition format (0.0.4), written by hand:
a few counters and one histogram do not need a client library."""

from __future__ import annotations

from collections import defaultdict

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


def _labels(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    parts = []
    for n, v in zip(names, values, strict=True):
        v = str(v).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
        parts.append(f'{n}="{v}"')
    return "{" + ",".join(parts) + "}"


class Metrics:
    REQUEST_LABELS = ("endpoint", "operation", "kind", "decision")

    def __init__(self) -> None:
        self.requests: dict[tuple[str, ...], int] = defaultdict(int)
        self.latency: dict[tuple[str, ...], list[float]] = {}  # labels -> [count per bucket..., +Inf count, sum]
        self.denials: dict[str, int] = defaultdict(int)
        self.warnings: dict[str, int] = defaultdict(int)
        self.errors: dict[str, int] = defaultdict(int)  # HTTP errors by status code
        self.reloads: dict[tuple[str, str], int] = defaultdict(int)  # (what, result)
        self.policy_digest = ""

    def observe(self, endpoint: str, operation: str, kind: str, decision: str, seconds: float) -> None:
        key = (endpoint, operation, kind, decision)
        self.requests[key] += 1
        row = self.latency.get(key)
        if row is None:
            row = self.latency[key] = [0.0] * (len(BUCKETS) + 2)
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                row[i] += 1
                break
        else:
            row[len(BUCKETS)] += 1
        row[-1] += seconds

    def render(self) -> bytes:
        out = [
            "# HELP kubeward_admission_requests_total Admission reviews answered.",
            "# TYPE kubeward_admission_requests_total counter",
        ]
        for key, n in sorted(self.requests.items()):
            out.append(f"kubeward_admission_requests_total{_labels(self.REQUEST_LABELS, key)} {n}")
        out += [
            "# HELP kubeward_admission_duration_seconds Time to answer an admission review (body read to response written).",
            "# TYPE kubeward_admission_duration_seconds histogram",
        ]
        for key, row in sorted(self.latency.items()):
            cumulative = 0.0
            for bound, count in zip((*BUCKETS, "+Inf"), row[:-1], strict=True):
                cumulative += count
                labels = _labels((*self.REQUEST_LABELS, "le"), (*key, str(bound)))
                out.append(f"kubeward_admission_duration_seconds_bucket{labels} {int(cumulative)}")
            plain = _labels(self.REQUEST_LABELS, key)
            out.append(f"kubeward_admission_duration_seconds_sum{plain} {row[-1]:.6f}")
            out.append(f"kubeward_admission_duration_seconds_count{plain} {int(cumulative)}")
        for name, help_, table in (
            ("kubeward_admission_denials_total", "Enforced check failures that denied a request, per check.", self.denials),
            ("kubeward_admission_warnings_total", "Warn-mode check failures returned as warnings, per check.", self.warnings),
        ):
            out += [f"# HELP {name} {help_}", f"# TYPE {name} counter"]
            for check, n in sorted(table.items()):
                out.append(f'{name}{{check="{check}"}} {n}')
        out += [
            "# HELP kubeward_admission_http_errors_total Requests answered with an HTTP error.",
            "# TYPE kubeward_admission_http_errors_total counter",
        ]
        for code, n in sorted(self.errors.items()):
            out.append(f'kubeward_admission_http_errors_total{{code="{code}"}} {n}')
        out += [
            "# HELP kubeward_admission_reloads_total Policy and certificate reloads.",
            "# TYPE kubeward_admission_reloads_total counter",
        ]
        for (what, result), n in sorted(self.reloads.items()):
            out.append(f'kubeward_admission_reloads_total{{what="{what}",result="{result}"}} {n}')
        out += [
            "# HELP kubeward_admission_policy_info The policy being served.",
            "# TYPE kubeward_admission_policy_info gauge",
            f'kubeward_admission_policy_info{{sha256="{self.policy_digest}"}} 1',
        ]
        return ("\n".join(out) + "\n").encode()
