"""A local HTTP server on 127.0.0.1 that answers like Hugging Face and arXiv, from recorded data.

It serves `../shared/fixtures` under the upstream URL shapes:

- `/api/daily_papers?date=|week=&p=&limit=&sort=`: `hf/daily_papers/<date>.json`, paged;
- `/papers/date/<date>` and `/papers/<id>`: the saved Hugging Face pages;
- `/api/query?id_list=|search_query=&start=&max_results=`: the arXiv API recordings (their status);
- `/atom/<category>`: the arXiv announcement feed of that category.

`FakeClock` and `make_http` go with it: an `Http` whose sleeps are recorded, never waited.

Answers carry an ETag and Last-Modified and honour `If-None-Match`. Faults are scripted per path
and consumed one per request: a status (429 with Retry-After, 503, ...), a truncated body, a
connection closed without an answer, a slow answer, or other bytes in place of the answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from newsletter.sources.http import Http, Policy, ValidatorCache

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
LAST_MODIFIED = "Wed, 20 Aug 2025 04:00:19 GMT"
NOW = dt.datetime(2025, 8, 20, 6, 0, tzinfo=dt.UTC)  # the wall clock of `make_http`


class FakeClock:
    """Monotonic seconds that advance only by the sleeps the code asks for (and records)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def make_http(
    client: httpx.Client,
    clock: FakeClock,
    *,
    jitter: float = 0.0,
    cache: ValidatorCache | None = None,
    **policy: Any,
) -> Http:
    """An `Http` on the fake clock; with `jitter` 0 each backoff is half its ceiling."""
    return Http(
        client,
        Policy(**policy),
        sleep=clock.sleep,
        clock=clock,
        now=lambda: NOW,
        rng=lambda: jitter,
        cache=cache,
    )


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour; `kind` is status, truncate, drop, slow or body."""

    kind: str
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    delay: float = 0.0
    content_type: str = "application/json"


def status(code: int, *, retry_after: str | None = None, body: bytes = b"") -> Fault:
    """Answer `code` (with `Retry-After` if given) instead of the data."""
    headers = (("Retry-After", retry_after),) if retry_after is not None else ()
    return Fault("status", status=code, headers=headers, body=body)


def truncated() -> Fault:
    """Announce the full Content-Length, send half of the real body, close the connection."""
    return Fault("truncate")


def dropped() -> Fault:
    """Close the connection without sending anything."""
    return Fault("drop")


def slow(seconds: float) -> Fault:
    """Wait, then give the real answer."""
    return Fault("slow", delay=seconds)


def body(data: bytes, content_type: str = "application/json", code: int = 200) -> Fault:
    """Answer with these bytes (wrong-shape JSON, a changed page, a cut JSON...)."""
    return Fault("body", status=code, body=data, content_type=content_type)


@dataclass
class Seen:
    """One request as the server received it."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


class FixtureServer:
    """Start with `with FixtureServer() as server:`; `server.url` is the base of every source."""

    def __init__(self, root: Path = FIXTURES) -> None:
        self.root = root
        self.requests: list[Seen] = []
        self._faults: dict[str, list[tuple[Fault, bool]]] = {}
        self._routes: dict[str, Answer] = {}
        self._lock = threading.Lock()
        self._api = _index_api_recordings(root / "arxiv" / "api")
        self._httpd = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.01,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FixtureServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def fail(self, path: str, *faults: Fault, forever: bool = False) -> None:
        """Queue faults for the next requests of `path`; with `forever` the last one repeats."""
        with self._lock:
            queue = self._faults.setdefault(path, [])
            queue.extend(
                (fault, forever and i == len(faults) - 1) for i, fault in enumerate(faults)
            )

    def serve(self, path: str, data: bytes, content_type: str = "application/atom+xml") -> None:
        """Answer `path` with these bytes from now on (another category's feed, say)."""
        self._routes[path] = Answer(200, data, content_type)

    def count(self, path: str) -> int:
        """How many requests `path` received."""
        return sum(1 for seen in self.requests if seen.path == path)

    def next_fault(self, path: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(path)
            if not queue:
                return None
            fault, repeat = queue[0]
            if not repeat:
                queue.pop(0)
            return fault

    def answer(self, path: str, query: dict[str, str]) -> Answer:
        """The real answer of a request, from the fixtures."""
        if path in self._routes:
            return self._routes[path]
        if path == "/api/daily_papers":
            return self._daily_papers(query)
        if path == "/api/query":
            return self._api.get(_api_key(query), _not_found("no arXiv recording for this query"))
        if match := re.fullmatch(r"/atom/([\w.\-]+)", path):
            return self._file(f"arxiv/rss/atom_{match[1]}_2025-08-20.xml", "application/atom+xml")
        if path == "/papers/date/2026-09-28":
            return self._file("hf/pages/listing_papers.html", "text/html; charset=utf-8")
        if path == "/papers/2509.24002":
            return self._file("hf/pages/paper_2509.24002.prettified.html", "text/html")
        return _not_found(f"no fixture for {path}")

    def _file(self, relative: str, content_type: str) -> Answer:
        path = self.root / relative
        if not path.is_file():
            return _not_found(f"no fixture {relative}")
        return Answer(200, path.read_bytes(), content_type)

    def _daily_papers(self, query: dict[str, str]) -> Answer:
        """Like the HF API: one day or an ISO week, `sort`, then page `p` of `limit` items."""
        try:
            items = self._hf_items(query)
            limit, page = int(query.get("limit", "50")), int(query.get("p", "0"))
        except ValueError as exc:
            return Answer(400, json.dumps({"error": str(exc)}).encode(), "application/json")
        if not 1 <= limit <= 100:
            return Answer(400, b'{"error": "limit must be between 1 and 100"}', "application/json")
        if query.get("sort") == "trending":
            items.sort(key=lambda item: -item["paper"]["upvotes"])
        chunk = items[page * limit : (page + 1) * limit]
        return Answer(200, json.dumps(chunk).encode(), "application/json")

    def _hf_items(self, query: dict[str, str]) -> list[dict[str, Any]]:
        if "week" in query:
            year, week = query["week"].split("-W")
            days = [dt.date.fromisocalendar(int(year), int(week), d) for d in range(1, 8)]
        else:
            days = [dt.date.fromisoformat(query.get("date", ""))]
        items: list[dict[str, Any]] = []
        for day in days:
            path = self.root / "hf" / "daily_papers" / f"{day.isoformat()}.json"
            items += json.loads(path.read_text("utf-8")) if path.is_file() else []
        return items


class _QuietServer(ThreadingHTTPServer):
    """A client that gave up (a read timeout under test) is expected, not worth a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _not_found(why: str) -> Answer:
    return Answer(404, json.dumps({"error": why}).encode(), "application/json")


def _strip_version(arxiv_id: str) -> str:
    return re.sub(r"v\d+$", "", arxiv_id)


def _api_key(query: dict[str, str]) -> tuple[str, ...]:
    """Recordings are found by id list (versions ignored) or by query, start and page size."""
    ids = query.get("id_list", "")
    if ids:
        return ("ids", *sorted(_strip_version(i) for i in ids.split(",")), query.get("start", "0"))
    return (
        "q",
        query.get("search_query", ""),
        query.get("start", "0"),
        query.get("max_results", "10"),
    )


def _index_api_recordings(folder: Path) -> dict[tuple[str, ...], Answer]:
    index: dict[tuple[str, ...], Answer] = {}
    for path in sorted(folder.glob("*.json")):
        recording = json.loads(path.read_text("utf-8"))
        query = {k: v[0] for k, v in parse_qs(urlsplit(recording["url"]).query).items()}
        raw = recording["body"].encode("latin-1")
        answer = Answer(recording["status_code"], raw, "application/atom+xml; charset=utf-8")
        index[_api_key(query)] = answer
    return index


def _handler_for(server: FixtureServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test output is the place for assertions, not access logs."""

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            server.requests.append(Seen(parts.path, query, dict(self.headers.items())))
            fault = server.next_fault(parts.path)
            if fault is not None and fault.kind == "drop":
                self.close_connection = True
                return
            if fault is not None and fault.kind == "slow":
                time.sleep(fault.delay)
            if fault is not None and fault.kind in ("status", "body"):
                self._send(
                    Answer(fault.status, fault.body, fault.content_type, dict(fault.headers))
                )
                return
            answer = server.answer(parts.path, query)
            self._send(answer, cut=fault is not None and fault.kind == "truncate")

        def _send(self, answer: Answer, *, cut: bool = False) -> None:
            etag = '"' + hashlib.sha1(answer.body).hexdigest()[:16] + '"'
            if answer.status == 200 and self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            if answer.status == 200:
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", LAST_MODIFIED)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.body[: len(answer.body) // 2] if cut else answer.body)
            self.wfile.flush()
            self.close_connection = cut

    return Handler


def iter_fixture_files(root: Path = FIXTURES) -> Iterator[Path]:
    """Every recorded file (not the README), in a stable order."""
    yield from sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".md")
