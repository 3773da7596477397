"""The polite HTTP client: retries, Retry-After, deadlines, size cap, validators, spacing."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from newsletter.errors import SourceError
from newsletter.sources.http import USER_AGENT, Cached, MemoryCache, netloc, retry_after_seconds
from tests.fixture_server import (
    NOW,
    FakeClock,
    FixtureServer,
    body,
    dropped,
    make_http,
    slow,
    status,
    truncated,
)

pytest_plugins = ["tests.conftest_sources"]

DAY = "/api/daily_papers"


def _day_url(server: FixtureServer) -> str:
    return f"{server.url}{DAY}?date=2025-08-20&limit=100"


def test_sends_user_agent(server: FixtureServer, client: httpx.Client, clock: FakeClock) -> None:
    """Every request names the program and where to find it."""
    make_http(client, clock).get(_day_url(server))
    assert server.requests[0].headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("newsletter/") and "(+https://github.com/newsletter)" in USER_AGENT


def test_429_waits_as_told_then_succeeds(
    server: FixtureServer, client: httpx.Client, clock: FakeClock
) -> None:
    """A 429 with `Retry-After: 7` is retried after 7 s (longer than the backoff), once."""
    server.fail(DAY, status(429, retry_after="7"))
    response = make_http(client, clock).get(_day_url(server))
    assert len(json.loads(response.body)) == 14
    assert clock.sleeps == [7.0]
    assert server.count(DAY) == 2


def test_retry_after_as_http_date(
    server: FixtureServer, client: httpx.Client, clock: FakeClock
) -> None:
    """`Retry-After` given as an HTTP date is turned into seconds from now."""
    when = (NOW + dt.timedelta(seconds=42)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    server.fail(DAY, status(503, retry_after=when))
    make_http(client, clock).get(_day_url(server))
    assert clock.sleeps == [42.0]


def test_retry_after_above_cap_gives_up_at_once(
    server: FixtureServer, client: httpx.Client, clock: FakeClock
) -> None:
    """A server asking for an hour's wait fails the source now rather than stalling the run."""
    server.fail(DAY, status(429, retry_after="3600"))
    with pytest.raises(SourceError, match=r"HTTP 429, asked to retry after 3600 s"):
        make_http(client, clock, retry_after_cap=120.0).get(_day_url(server))
    assert clock.sleeps == []
    assert server.count(DAY) == 1


def test_503_twice_then_ok_backs_off_exponentially(
    server: FixtureServer, client: httpx.Client, clock: FakeClock
) -> None:
    """Two 503s are retried after 0.5 s then 1 s (half the 1 s, 2 s ceilings with no jitter)."""
    server.fail(DAY, status(503), status(503))
    response = make_http(client, clock).get(_day_url(server))
    assert response.status == 200
    assert clock.sleeps == [0.5, 1.0]


def test_jitter_stays_between_half_and_full_ceiling(
    server: FixtureServer, client: httpx.Client, clock: FakeClock
) -> None:
    """With the largest jitter the wait is the whole ceiling (1 s, then 2 s)."""
    server.fail(DAY, status(502), status(504))
    make_http(client, clock, jitter=1.0).get(_day_url(server))
    assert clock.sleeps == [1.0, 2.0]


def test_5xx_forever_fails_after_the_attempts(
    server: FixtureServer, client: httpx.Client, clock: FakeClock
) -> None:
    """A server that always answers 500 makes the source fail after `attempts` requests."""
    server.fail(DAY, status(500), forever=True)
    with pytest.raises(SourceError, match=r"gave up after 4 attempts: HTTP 500"):
        make_http(client, clock, attempts=4).get(_day_url(server))
    assert server.count(DAY) == 4
    assert clock.sleeps == [0.5, 1.0, 2.0]


def test_deadline_stops_retries(
    server: FixtureServer, client: httpx.Client, clock: FakeClock
) -> None:
    """Retries stop when the next wait would pass the overall deadline."""
    server.fail(DAY, status(503), forever=True)
    with pytest.raises(SourceError, match=r"no retry fits in the 2 s deadline"):
        make_http(client, clock, attempts=10, deadline=2.0).get(_day_url(server))
    assert clock.sleeps == [0.5, 1.0]


def test_truncated_body_is_retried(
    server: FixtureServer, client: httpx.Client, clock: FakeClock
) -> None:
    """A connection closed mid-body is retried and the whole body is returned."""
    server.fail(DAY, truncated())
    response = make_http(client, clock).get(_day_url(server))
    assert len(json.loads(response.body)) == 14
    assert server.count(DAY) == 2


def test_truncated_forever_fails(
    server: FixtureServer, client: httpx.Client, clock: FakeClock
) -> None:
    """A body that is always cut short fails the source instead of returning part of it."""
    server.fail(DAY, truncated(), forever=True)
    with pytest.raises(SourceError, match=r"gave up after 3 attempts: connection failed"):
        make_http(client, clock, attempts=3).get(_day_url(server))


def test_dropped_connection_is_retried(
    server: FixtureServer, client: httpx.Client, clock: FakeClock
) -> None:
    """A connection closed before any answer is retried."""
    server.fail(DAY, dropped())
    assert make_http(client, clock).get(_day_url(server)).status == 200
    assert server.count(DAY) == 2


def test_incomplete_body_by_content_is_retried(
    server: FixtureServer, client: httpx.Client, clock: FakeClock
) -> None:
    """A well-framed but cut JSON body is retried when `complete` rejects it."""
    server.fail(DAY, body(b'[{"paper": {"id": "2508.1'))
    response = make_http(client, clock).get(_day_url(server), complete=_parses)
    assert len(json.loads(response.body)) == 14
    assert clock.sleeps == [0.5]


def _parses(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


def test_slow_answer_times_out_and_is_retried(
    server: FixtureServer, client: httpx.Client, clock: FakeClock
) -> None:
    """An answer slower than the read timeout is abandoned and asked again."""
    server.fail(DAY, slow(0.5))
    response = make_http(client, clock, read_timeout=0.1).get(_day_url(server))
    assert response.status == 200
    assert server.count(DAY) == 2


def test_size_cap(server: FixtureServer, client: httpx.Client, clock: FakeClock) -> None:
    """A body larger than the cap is refused without retrying."""
    with pytest.raises(SourceError, match=r"larger than 1000 bytes"):
        make_http(client, clock, max_bytes=1000).get(_day_url(server))
    assert server.count(DAY) == 1


def test_404_is_not_retried(server: FixtureServer, client: httpx.Client, clock: FakeClock) -> None:
    """A client error fails at once and quotes the start of the server's answer."""
    with pytest.raises(SourceError, match=r"HTTP 404: .*no fixture for /nowhere"):
        make_http(client, clock).get(f"{server.url}/nowhere")
    assert server.count("/nowhere") == 1 and clock.sleeps == []


def test_accepted_status_is_returned(
    server: FixtureServer, client: httpx.Client, clock: FakeClock
) -> None:
    """A status the caller accepts (arXiv's 400 with an error entry) comes back as a response."""
    url = f"{server.url}/api/query"
    response = make_http(client, clock).get(url, {"id_list": "abc"}, accept=(400,))
    assert response.status == 400
    assert b"incorrect id format for abc" in response.body


def test_conditional_request_uses_the_cache(
    server: FixtureServer, client: httpx.Client, clock: FakeClock
) -> None:
    """The second GET sends the validators and gets the body from the cache on 304."""
    cache = MemoryCache()
    http = make_http(client, clock, cache=cache)
    first = http.get(_day_url(server))
    second = http.get(_day_url(server))
    sent = server.requests[1].headers
    assert sent["If-None-Match"] == cache.get(_day_url(server)).etag  # type: ignore[union-attr]
    assert sent["If-Modified-Since"] == "Wed, 20 Aug 2025 04:00:19 GMT"
    assert (second.from_cache, second.body) == (True, first.body)


class _ForgetfulCache(MemoryCache):
    """A cache that another process empties right after it is read (`Store.keep_response`
    forgets old responses)."""

    def get(self, url: str) -> Cached | None:
        entry = super().get(url)
        self._entries.clear()
        return entry


def test_304_answers_with_the_entry_whose_validators_were_sent(
    server: FixtureServer, client: httpx.Client, clock: FakeClock
) -> None:
    """A 304 is answered with the response the request was made conditional on, even when the
    cache has forgotten it in the meantime."""
    memory, forgetful = MemoryCache(), _ForgetfulCache()
    first = make_http(client, clock, cache=memory).get(_day_url(server))
    kept = memory.get(_day_url(server))
    assert kept is not None and kept.etag
    forgetful.put(_day_url(server), kept)
    second = make_http(client, clock, cache=forgetful).get(_day_url(server))
    assert server.requests[1].headers["If-None-Match"] == kept.etag
    assert (second.from_cache, second.body) == (True, first.body)


def test_304_without_cache_entry_is_an_error(
    server: FixtureServer, client: httpx.Client, clock: FakeClock
) -> None:
    """A 304 to a request we did not make conditional cannot be used."""
    server.fail(DAY, status(304))
    with pytest.raises(SourceError, match="HTTP 304"):
        make_http(client, clock).get(_day_url(server))


def test_memory_cache_round_trip() -> None:
    """The in-memory cache returns what was stored for a URL, and nothing for another."""
    cache = MemoryCache()
    cache.put("https://a.example/x", Cached(b"[]", etag='"1"'))
    assert cache.get("https://a.example/x") == Cached(b"[]", '"1"', None)
    assert cache.get("https://a.example/y") is None


def test_min_interval_per_host(
    server: FixtureServer, client: httpx.Client, clock: FakeClock
) -> None:
    """Two requests to a throttled host are 3 s apart; time already passed counts."""
    http = make_http(client, clock, min_interval={netloc(server.url): 3.0})
    http.get(_day_url(server))
    http.get(_day_url(server))
    clock.now += 1.0
    http.get(_day_url(server))
    assert clock.sleeps == [3.0, 2.0]


def test_min_interval_also_spaces_retries(
    server: FixtureServer, client: httpx.Client, clock: FakeClock
) -> None:
    """A retry after a short backoff still waits for the host's interval."""
    server.fail(DAY, status(503))
    make_http(client, clock, min_interval={netloc(server.url): 3.0}).get(_day_url(server))
    assert clock.sleeps == [0.5, 2.5]


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        ("1.5", 1.5),
        ("Wed, 20 Aug 2025 06:01:00 GMT", 60.0),
        ("Wed, 20 Aug 2025 05:00:00 GMT", 0.0),
        ("-3", None),
        ("soon", None),
        ("", None),
        (None, None),
        ("inf", None),
    ],
)
def test_retry_after_seconds(value: str | None, seconds: float | None) -> None:
    """Retry-After is read as delay-seconds or an HTTP date; anything else is ignored."""
    assert retry_after_seconds(value, NOW) == seconds
