"""`kubeward audit scan`: run the detection rules over audit logs and report alerts."""

from __future__ import annotations

import datetime as dt
import gc
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..model import Severity
from .events import ReadStats, follow, read_events
from .rules import RULES, Alert, Detector
from .settings import AuditSettings

_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_time(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """An RFC 3339 time (2026-11-24T11:37:00Z, or a date), or a duration back from now (90s, 15m, 2h, 7d)."""
    text = text.strip()
    match = _DURATION.fullmatch(text)
    if match:
        now = now or dt.datetime.now(dt.UTC)
        return now - dt.timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is neither an RFC 3339 time nor a duration like 15m") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def micro(value: dt.datetime) -> str:
    """The audit log's own timestamp format (metav1.MicroTime, UTC): compares as a string."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _in_window(ev: dict, since: str | None, until: str | None) -> bool:
    stamp = ev.get("requestReceivedTimestamp") or ev.get("stageTimestamp") or ""
    if len(stamp) != 27 or not stamp.endswith("Z"):  # not MicroTime: normalise first
        try:
            stamp = micro(parse_time(stamp))
        except ValueError:
            return True  # no usable time: never filtered out
    return (since is None or stamp >= since) and (until is None or stamp <= until)


def window(events: Iterable[dict], since: dt.datetime | None, until: dt.datetime | None) -> Iterator[dict]:
    if since is None and until is None:
        yield from events
        return
    lo = micro(since) if since else None
    hi = micro(until) if until else None
    for ev in events:
        if _in_window(ev, lo, hi):
            yield ev


@dataclass(slots=True)
class ScanResult:
    alerts: list[Alert]
    stats: ReadStats
    events: int = 0
    summary: Counter = field(default_factory=Counter)


def scan(
    paths: list[str],
    settings: AuditSettings | None = None,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    follow_files: bool = False,
    on_alert: Callable[[Alert], None] | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> ScanResult:
    """Every alert of the logs; with ``on_alert``, each is also handed over as it is found (streaming)."""
    stats = ReadStats()
    alerts: list[Alert] = []

    def sink(alert: Alert) -> None:
        alerts.append(alert)
        if on_alert is not None:
            on_alert(alert)

    detector = Detector(settings, sink)
    if follow_files:
        # one reader thread per file, merged in arrival order
        import queue
        import threading

        q: queue.Queue = queue.Queue(maxsize=10000)
        done = threading.Event()

        def pump(path: str) -> None:
            for ev in follow(path, stats, stop=lambda: stop() or done.is_set()):
                q.put(ev)

        threads = [threading.Thread(target=pump, args=(p,), daemon=True) for p in paths]
        for t in threads:
            t.start()
        try:
            while not stop():
                try:
                    ev = q.get(timeout=0.2)
                except queue.Empty:
                    continue
                for kept in window((ev,), since, until):
                    detector.process(kept)
        finally:
            done.set()
    else:
        # Decoded events hold no reference cycles, but alerts keep theirs alive, and the cyclic
        # GC would traverse them all again and again (a quarter of the scan time on an attack-heavy log).
        enabled = gc.isenabled()
        gc.disable()
        try:
            detector.run(window(read_events(paths, stats, responses=False), since, until))
        finally:
            if enabled:
                gc.enable()
    summary = Counter(a.rule.id for a in alerts)
    return ScanResult(alerts, stats, detector.events, summary)


# -- output ----------------------------------------------------------------------------------------


def alert_line(alert: Alert) -> bytes:
    return orjson.dumps(alert.to_dict()) + b"\n"


def report(result: ScanResult) -> dict[str, Any]:
    return {
        "events": result.events,
        "alerts": [a.to_dict() for a in result.alerts],
        "summary": [
            {"rule": r.id, "slug": r.slug, "title": r.title, "count": result.summary[r.id]} for r in RULES if result.summary[r.id]
        ],
        "problems": {"count": result.stats.problem_count, "items": [str(p) for p in result.stats.problems]},
    }


def _cell(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def table(result: ScanResult) -> str:
    lines = []
    if result.alerts:
        head = f"{'TIME':<20} {'SEVERITY':<8} {'RULE':<9} {'USER':<32} {'VERB':<8} {'RESOURCE':<28} {'SOURCE':<15} AUDIT ID"
        lines.append(head)
        for alert in result.alerts:
            d = alert.to_dict()
            time = (d["time"] or "")[:19].replace("T", " ")
            lines.append(
                f"{time:<20} {d['severity']:<8} {d['rule']:<9} {_cell(d['user'] or '(none)', 32):<32} {d['verb'] or '':<8} "
                f"{_cell(d['resource'], 28):<28} {d['sourceIP']:<15} {d['auditID']}"
            )
            lines.append(f"    {d['message']}")
        lines.append("")
    lines.append(f"{result.events} events, {len(result.alerts)} alerts")
    if result.alerts:
        lines.append(f"{'RULE':<9} {'COUNT':>6}  {'MAX':<8} TITLE")
        top: dict[str, Severity] = {}
        for a in result.alerts:
            top[a.rule.id] = max(top.get(a.rule.id, Severity.INFO), a.severity)
        for rule in RULES:
            if result.summary[rule.id]:
                lines.append(f"{rule.id:<9} {result.summary[rule.id]:>6}  {str(top[rule.id]):<8} {rule.title}")
    return "\n".join(lines) + "\n"
