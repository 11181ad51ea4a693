"""Reading audit.k8s.io/v1 Events: JSON lines (the log backend), gzip, stdin, an
EventList document (the webhook backend's body), and ``--follow`` across rotation.

Events stay the raw dicts orjson gives: the rules read a handful of fields, so
building objects per event would cost more than the detection itself. A line
that is not JSON, is truncated, or is not an Event of the shape the rules rely
on is a ``Problem`` (file, line number, message), counted and reported, never
fatal.
"""

from __future__ import annotations

import gzip
import io
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import orjson

GZIP_MAGIC = b"\x1f\x8b"
STAGES = frozenset({"RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"})
LEVELS = frozenset({"None", "Metadata", "Request", "RequestResponse"})


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int  # 1-based; 0 = the file as a whole
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


@dataclass(slots=True)
class ReadStats:
    events: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0  # problems beyond MAX_PROBLEMS are counted, not kept
    files: int = 0

    MAX_PROBLEMS = 1000

    def problem(self, file: str, line: int, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < self.MAX_PROBLEMS:
            self.problems.append(Problem(file, line, message))


def _is_str(value: Any) -> bool:
    return type(value) is str


_REF_KEYS = ("resource", "subresource", "namespace", "name", "apiGroup")


def validate(event: Any) -> str | None:
    """Why ``event`` is not an audit.k8s.io/v1 Event the rules can read (None: it is).

    The fast path checks every field ``explain`` does, without building a message."""
    if type(event) is not dict:
        return explain(event)
    get = event.get
    user = get("user")
    ips = get("sourceIPs", ())
    ref = get("objectRef")
    status = get("responseStatus")
    imp = get("impersonatedUser")
    annotations = get("annotations")
    if (
        get("kind", "Event") == "Event"
        and get("apiVersion", "audit.k8s.io/v1") == "audit.k8s.io/v1"
        and type(get("auditID")) is str
        and type(get("verb")) is str
        and type(get("requestURI")) is str
        and get("stage") in STAGES
        and type(user) is dict
        and type(user.get("username", "")) is str
        and type(user.get("groups", ())) in (list, tuple)
        and type(ips) in (list, tuple)
        and all(type(ip) is str for ip in ips)
        and (ref is None or (type(ref) is dict and all(type(ref.get(k, "")) is str for k in _REF_KEYS)))
        and (status is None or (type(status) is dict and type(status.get("code", 0)) is int))
        and (imp is None or (type(imp) is dict and type(imp.get("username", "")) is str))
        and type(get("requestReceivedTimestamp", "")) is str
        and type(get("stageTimestamp", "")) is str
        and (annotations is None or type(annotations) is dict)
    ):
        return None
    return explain(event) or "not an audit.k8s.io/v1 Event"


def explain(event: Any) -> str | None:
    """The message for ``validate``: the first field that is wrong.

    Checked: the fields the rules and reports use, with their types. Unknown
    fields are allowed (newer servers add some); optional ones may be absent.
    """
    if type(event) is not dict:
        return f"expected an Event object, not {type(event).__name__}"
    kind = event.get("kind", "Event")
    if kind != "Event":
        return f"kind is {kind!r}, not 'Event'"
    api = event.get("apiVersion")
    if api is not None and api != "audit.k8s.io/v1":
        return f"apiVersion {api!r} is not audit.k8s.io/v1"
    for key in ("auditID", "stage", "verb", "requestURI"):
        if not _is_str(event.get(key)):
            return f"{key} is missing or not a string"
    if event["stage"] not in STAGES:
        return f"stage {event['stage']!r} is not one of {', '.join(sorted(STAGES))}"
    user = event.get("user")
    if type(user) is not dict:
        return "user is missing or not an object"
    if not _is_str(user.get("username", "")) or type(user.get("groups", [])) is not list:
        return "user.username must be a string and user.groups a list"
    ips = event.get("sourceIPs", [])
    if type(ips) is not list or not all(_is_str(ip) for ip in ips):
        return "sourceIPs must be a list of strings"
    ref = event.get("objectRef")
    if ref is not None:
        if type(ref) is not dict:
            return "objectRef must be an object"
        for key in ("resource", "subresource", "namespace", "name", "apiGroup"):
            if not _is_str(ref.get(key, "")):
                return f"objectRef.{key} must be a string"
    status = event.get("responseStatus")
    if status is not None and (type(status) is not dict or type(status.get("code", 0)) is not int):
        return "responseStatus must be an object with an integer code"
    imp = event.get("impersonatedUser")
    if imp is not None and (type(imp) is not dict or not _is_str(imp.get("username", ""))):
        return "impersonatedUser must be an object with a string username"
    if not _is_str(event.get("requestReceivedTimestamp", "")) or not _is_str(event.get("stageTimestamp", "")):
        return "timestamps must be strings"
    annotations = event.get("annotations")
    if annotations is not None and type(annotations) is not dict:
        return "annotations must be an object"
    return None


def _open(path: str) -> BinaryIO:
    if path == "-":
        stream: BinaryIO = sys.stdin.buffer
    else:
        stream = open(path, "rb")  # noqa: SIM115 - closed by the caller
    head = stream.peek(2)[:2] if hasattr(stream, "peek") else b""
    if head == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=stream)  # type: ignore[return-value]
    return stream


def _items(value: Any, name: str, line: int, stats: ReadStats) -> Iterator[dict]:
    """Events of one decoded JSON value: an Event, an EventList, or a list of Events."""
    if type(value) is dict and value.get("kind") == "EventList":
        items = value.get("items")
        if items is None:
            return
        if type(items) is not list:
            stats.problem(name, line, "EventList items must be a list")
            return
        for i, item in enumerate(items):
            why = validate(item)
            if why is None:
                stats.events += 1
                yield item
            else:
                stats.problem(name, line, f"items[{i}]: {why}")
        return
    if type(value) is list:
        for i, item in enumerate(value):
            yield from _items(item, f"{name}[{i}]" if line == 0 else name, line, stats)
        return
    why = validate(value)
    if why is None:
        stats.events += 1
        yield value
    else:
        stats.problem(name, line, why)


def _decode_line(raw: bytes, name: str, number: int, stats: ReadStats, last: bool) -> Iterator[dict]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        what = "truncated line (no end of JSON)" if last or "unexpected end" in str(exc).lower() else f"not JSON: {exc}"
        stats.problem(name, number, what)
        return
    yield from _items(value, name, number, stats)


def read_stream(stream: BinaryIO, name: str, stats: ReadStats, responses: bool = True) -> Iterator[dict]:
    """Events of one stream: JSON lines, or one JSON document spread over many lines."""
    first = stream.readline()
    while first and not first.strip():
        first = stream.readline()
    if not first:
        return
    try:
        value = orjson.loads(first)
    except orjson.JSONDecodeError:
        value = None
        if first.lstrip()[:1] in (b"{", b"["):  # a pretty-printed EventList or Event
            whole = first + stream.read()
            try:
                value = orjson.loads(whole)
            except orjson.JSONDecodeError:
                pass
            else:
                yield from _items(value, name, 0, stats)
                return
            yield from _lines(io.BytesIO(whole), name, stats, 0)
            return
        stats.problem(name, 1, "not JSON")
        yield from _lines(stream, name, stats, 1, responses)
        return
    yield from _items(value, name, 1, stats)
    yield from _lines(stream, name, stats, 1, responses)


RESPONSE = b',"responseObject":'
TAIL = b',"requestReceivedTimestamp":'


def decode_without_response(raw: bytes) -> Any:
    """orjson.loads of an event line, leaving responseObject out when it can (see _lines)."""
    start = raw.find(RESPONSE)
    if start != -1:
        end = raw.rfind(TAIL)
        if end > start:
            try:
                return orjson.loads(raw[:start] + raw[end:])
            except orjson.JSONDecodeError:
                pass
    return orjson.loads(raw)


def _lines(stream: BinaryIO, name: str, stats: ReadStats, number: int, responses: bool = True) -> Iterator[dict]:
    loads = orjson.loads
    error = orjson.JSONDecodeError
    for raw in stream:
        number += 1
        # the fast path: one valid Event per line
        try:
            value = None
            if not responses:
                # The rules never read responseObject, often the bulk of a line (list responses).
                # The API server writes it just before requestReceivedTimestamp: cut it out. A bare
                # '"key":' cannot occur inside a JSON string (quotes are escaped there), so the cut
                # is either at the top level on both ends, or unbalanced and refused by the decoder.
                start = raw.find(RESPONSE)
                if start != -1:
                    end = raw.rfind(TAIL)
                    if end > start:
                        try:
                            value = loads(raw[:start] + raw[end:])
                        except error:
                            value = None
            if value is None:
                value = loads(raw)
        except error:
            if raw.strip():  # only the last line can lack its newline: that one was cut off
                yield from _decode_line(raw, name, number, stats, not raw.endswith(b"\n"))
            continue
        if type(value) is dict and value.get("kind", "Event") == "Event" and validate(value) is None:
            stats.events += 1
            yield value
        else:
            yield from _items(value, name, number, stats)


def read_events(paths: Iterable[str], stats: ReadStats | None = None, *, responses: bool = True) -> Iterator[dict]:
    """Every valid Event of the files (``-`` = stdin, gzip detected by its magic bytes), in order.
    ``responses=False`` leaves out responseObject (faster; the detection rules do not need it)."""
    stats = stats if stats is not None else ReadStats()
    for path in paths:
        name = "<stdin>" if path == "-" else path
        try:
            stream = _open(path)
        except OSError as exc:
            stats.problem(name, 0, f"cannot read: {exc.strerror or exc}")
            continue
        stats.files += 1
        try:
            yield from read_stream(stream, name, stats, responses)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:  # a damaged .gz: keep what was read
            stats.problem(name, 0, f"read error: {exc}")
        finally:
            if path != "-":
                stream.close()


# -- follow -------------------------------------------------------------------------------------


def follow(
    path: str,
    stats: ReadStats,
    *,
    poll: float = 0.25,
    stop: Callable[[], bool] = lambda: False,
    from_start: bool = True,
) -> Iterator[dict]:
    """Tail a growing JSON-lines file like ``tail -F``: keeps reading across rotation
    (the name now points at a new inode: the old file is drained first, then the new
    one is read from its start) and truncation (size below our offset: start over).

    A line is decoded only once its newline has arrived, so a half-written event is
    never mistaken for a truncated one.
    """
    handle = None
    inode = None
    number = 0
    buffer = b""
    while not stop():
        if handle is None:
            try:
                handle = open(path, "rb")  # noqa: SIM115
            except FileNotFoundError:
                time.sleep(poll)
                continue
            st = os.fstat(handle.fileno())
            inode = (st.st_dev, st.st_ino)
            if not from_start:
                handle.seek(0, os.SEEK_END)
                from_start = True  # a rotated-in file is read from its start
            number, buffer = 0, b""
        chunk = handle.read(1 << 20)
        if chunk:
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for raw in lines:
                number += 1
                if raw.strip():
                    yield from _decode_line(raw, path, number, stats, False)
            continue
        # at the end: rotated, truncated, or just nothing new yet?
        try:
            st = os.stat(path)
        except FileNotFoundError:
            st = None
        if st is not None and (st.st_dev, st.st_ino) != inode:
            rest = handle.read(1 << 20)  # written to the old file between our last read and the rename
            if rest:
                buffer += rest
                *lines, buffer = buffer.split(b"\n")
                for raw in lines:
                    number += 1
                    if raw.strip():
                        yield from _decode_line(raw, path, number, stats, False)
                continue
            if buffer.strip():
                stats.problem(path, number + 1, "truncated line (file rotated)")
            handle.close()
            handle = None
            continue
        if st is not None and st.st_size < handle.tell():
            handle.seek(0)
            number, buffer = 0, b""
            continue
        time.sleep(poll)
    if handle is not None:
        handle.close()
