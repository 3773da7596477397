"""The only module that talks HTTP: polite, bounded and retried GETs for the sources.

Every request carries our User-Agent, has connect/read timeouts and an overall deadline, and is
retried with exponential backoff and jitter on 429, 5xx, connection errors and truncated bodies,
honouring `Retry-After` up to a cap. Bodies are size-capped. Conditional requests (ETag /
Last-Modified) go through a `ValidatorCache`. Time is injected (`sleep`, `clock`, `now`) so tests
never wait, and a per-host minimum interval keeps us within arXiv's one-request-every-3-seconds.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import math
import random
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from newsletter import __version__
from newsletter.errors import SourceError

log = logging.getLogger(__name__)

USER_AGENT = f"newsletter/{__version__} (+https://github.com/newsletter)"
ARXIV_MIN_INTERVAL = 3.0  # arXiv asks for at most one request every 3 seconds

_RETRY_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class Policy:
    """Limits of one GET; `deadline` bounds all attempts and waits together (seconds)."""

    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    deadline: float = 120.0
    attempts: int = 5
    backoff: float = 1.0
    backoff_cap: float = 30.0
    retry_after_cap: float = 120.0
    max_bytes: int = 32 * 1024 * 1024
    min_interval: Mapping[str, float] = field(default_factory=dict)  # netloc → seconds

    @classmethod
    def for_timeout(cls, timeout: float, min_interval: Mapping[str, float] | None = None) -> Policy:
        """The policy for `Settings.http_timeout`: read timeout as set, a deadline of six."""
        return cls(
            connect_timeout=min(10.0, timeout),
            read_timeout=timeout,
            deadline=max(60.0, 6 * timeout),
            min_interval=dict(min_interval or {}),
        )


@dataclass(frozen=True, slots=True)
class Cached:
    """A body kept with its validators, returned again when the server answers 304."""

    body: bytes
    etag: str | None = None
    last_modified: str | None = None


class ValidatorCache(Protocol):
    """Where validators and bodies of earlier answers live, keyed by full URL."""

    def get(self, url: str) -> Cached | None: ...

    def put(self, url: str, entry: Cached) -> None: ...


class MemoryCache:
    """A `ValidatorCache` in a dict: enough for one process and for tests."""

    def __init__(self) -> None:
        self._entries: dict[str, Cached] = {}

    def get(self, url: str) -> Cached | None:
        return self._entries.get(url)

    def put(self, url: str, entry: Cached) -> None:
        self._entries[url] = entry


@dataclass(frozen=True, slots=True)
class Response:
    """A complete answer: the full URL asked, its status and its whole body."""

    url: str
    status: int
    body: bytes
    from_cache: bool = False


class _Retry(Exception):
    """A failure worth another attempt, with the server's `Retry-After` if it gave one."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_client() -> httpx.Client:
    """An httpx client as the sources want it (redirects followed, a few at most)."""
    return httpx.Client(follow_redirects=True, max_redirects=5)


def retry_after_seconds(value: str | None, now: dt.datetime) -> float | None:
    """Seconds to wait from a `Retry-After` value (delay-seconds or HTTP date), None if unusable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until(text, now)
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def _seconds_until(http_date: str, now: dt.datetime) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


def netloc(url: str) -> str:
    """The `host[:port]` of a URL, the key of `Policy.min_interval`."""
    return urlsplit(url).netloc.lower()


def _snippet(body: bytes, limit: int = 200) -> str:
    """The start of an error body, printable, for a message meant for a terminal."""
    text = body[: limit * 4].decode("utf-8", "replace")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(text.split())[:limit]


class Http:
    """GETs with the limits of a `Policy`; one instance per run keeps the per-host spacing."""

    def __init__(
        self,
        client: httpx.Client,
        policy: Policy | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], dt.datetime] = _utcnow,
        rng: Callable[[], float] = random.random,
        cache: ValidatorCache | None = None,
    ) -> None:
        self._client = client
        self._policy = policy or Policy()
        self._sleep = sleep
        self._clock = clock
        self._now = now
        self._rng = rng
        self._cache = cache
        self._last_request: dict[str, float] = {}

    def get(
        self,
        url: str,
        params: Mapping[str, str] | None = None,
        *,
        accept: Collection[int] = (),
        complete: Callable[[bytes], bool] | None = None,
    ) -> Response:
        """GET `url` until it answers 200 (or a status in `accept`), or raise `SourceError`.

        `complete` tells a whole body from a cut one (truncated JSON, a feed without its end tag);
        a body it rejects is retried like a dropped connection.
        """
        full = str(httpx.URL(url, params=params)) if params else url
        deadline_at = self._clock() + self._policy.deadline
        attempts = max(1, self._policy.attempts)
        for attempt in range(attempts):
            try:
                return self._attempt(full, accept, complete, deadline_at)
            except _Retry as exc:
                if attempt == attempts - 1:
                    raise SourceError(
                        f"{full}: gave up after {attempts} attempts: {exc.reason}"
                    ) from None
                self._pause(full, attempt, exc, deadline_at)
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(
        self,
        url: str,
        accept: Collection[int],
        complete: Callable[[bytes], bool] | None,
        deadline_at: float,
    ) -> Response:
        self._throttle(url)
        # The entry whose validators are sent is the one a 304 answers with: read once, as
        # another process may replace or forget the ledger's copy meanwhile.
        kept = self._cache.get(url) if self._cache is not None else None
        headers = {"User-Agent": USER_AGENT, **_conditional_headers(kept)}
        try:
            with self._client.stream(
                "GET", url, headers=headers, timeout=self._timeout(deadline_at)
            ) as response:
                return self._read(url, response, accept, complete, deadline_at, kept)
        except httpx.TimeoutException as exc:
            raise _Retry(f"timed out ({type(exc).__name__})") from None
        except (httpx.TransportError, httpx.DecodingError) as exc:
            raise _Retry(f"connection failed: {exc or type(exc).__name__}") from None
        except httpx.HTTPError as exc:
            raise SourceError(f"{url}: {exc}") from None

    def _read(
        self,
        url: str,
        response: httpx.Response,
        accept: Collection[int],
        complete: Callable[[bytes], bool] | None,
        deadline_at: float,
        kept: Cached | None,
    ) -> Response:
        status = response.status_code
        if status == 304:
            return _from_cache(url, kept)
        if status in _RETRY_STATUSES or status >= 500:
            wait = retry_after_seconds(response.headers.get("Retry-After"), self._now())
            raise _Retry(f"HTTP {status}", wait)
        body = self._body(url, response, deadline_at)
        if status != 200 and status not in accept:
            raise SourceError(f"{url}: HTTP {status}: {_snippet(body)}")
        if complete is not None and not complete(body):
            raise _Retry("the body was cut short")
        if status == 200:
            self._remember(url, response.headers, body)
        return Response(url, status, body)

    def _body(self, url: str, response: httpx.Response, deadline_at: float) -> bytes:
        """The whole body, refused past `max_bytes` and abandoned past the deadline."""
        limit = self._policy.max_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise SourceError(f"{url}: the answer is larger than {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise SourceError(f"{url}: the answer is larger than {limit} bytes")
            if self._clock() > deadline_at:
                raise _Retry("the answer was too slow")
            chunks.append(chunk)
        return b"".join(chunks)

    def _pause(self, url: str, attempt: int, exc: _Retry, deadline_at: float) -> None:
        """Sleep before the next attempt, or give up when the wait does not fit the limits."""
        delay = self._backoff(attempt)
        if exc.retry_after is not None:
            if exc.retry_after > self._policy.retry_after_cap:
                raise SourceError(
                    f"{url}: {exc.reason}, asked to retry after {exc.retry_after:.0f} s "
                    f"(more than {self._policy.retry_after_cap:.0f} s)"
                )
            delay = max(delay, exc.retry_after)
        if self._clock() + delay > deadline_at:
            raise SourceError(
                f"{url}: {exc.reason}; no retry fits in the {self._policy.deadline:.0f} s deadline"
            )
        log.warning("%s: %s; retrying in %.1f s", url, exc.reason, delay)
        self._sleep(delay)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with "equal jitter": between half and all of base * 2^attempt."""
        ceiling = min(self._policy.backoff_cap, self._policy.backoff * 2.0**attempt)
        return ceiling / 2 + self._rng() * ceiling / 2

    def _throttle(self, url: str) -> None:
        host = netloc(url)
        interval = self._policy.min_interval.get(host)
        if interval is None:
            return
        last = self._last_request.get(host)
        if last is not None:
            wait = last + interval - self._clock()
            if wait > 0:
                self._sleep(wait)
        self._last_request[host] = self._clock()

    def _timeout(self, deadline_at: float) -> httpx.Timeout:
        left = max(0.1, deadline_at - self._clock())
        read = min(self._policy.read_timeout, left)
        return httpx.Timeout(read, connect=min(self._policy.connect_timeout, left))

    def _remember(self, url: str, headers: httpx.Headers, body: bytes) -> None:
        etag, modified = headers.get("ETag"), headers.get("Last-Modified")
        if self._cache is not None and (etag or modified):
            self._cache.put(url, Cached(body, etag, modified))


def _conditional_headers(kept: Cached | None) -> dict[str, str]:
    """The validators of a kept response, to make a request conditional."""
    headers: dict[str, str] = {}
    if kept is not None and kept.etag:
        headers["If-None-Match"] = kept.etag
    if kept is not None and kept.last_modified:
        headers["If-Modified-Since"] = kept.last_modified
    return headers


def _from_cache(url: str, kept: Cached | None) -> Response:
    """The kept response a 304 points to."""
    if kept is None:
        raise SourceError(f"{url}: HTTP 304 for a request that was not conditional")
    return Response(url, 200, kept.body, from_cache=True)
