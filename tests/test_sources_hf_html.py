"""Hugging Face pages: the JSON islands of the listing and paper pages, and the API fallback."""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup

from newsletter.config import Settings
from newsletter.errors import SourceError
from newsletter.models import Source
from newsletter.sources import fetch, hf_html
from tests.fixture_server import FIXTURES, FakeClock, FixtureServer, body, status

pytest_plugins = ["tests.conftest_sources"]

LISTING = FIXTURES / "hf" / "pages" / "listing_papers.html"
PAPER = FIXTURES / "hf" / "pages" / "paper_2509.24002.prettified.html"
API = "/api/daily_papers"
PAGE = "/papers/date/2026-09-28"


def test_listing_page_gives_the_days_papers() -> None:
    """The DailyPapers island holds the 28 papers of 2026-09-28, in the order of the cards."""
    batch = hf_html.parse_page(LISTING.read_bytes())
    assert (batch.source, batch.listed_on, len(batch.papers), batch.skipped) == (
        Source.HF,
        dt.date(2026, 9, 28),
        28,
        (),
    )
    cards = BeautifulSoup(LISTING.read_bytes(), "html.parser").select("article h3 > a")
    assert [p.id for p in batch.papers] == [str(a["href"]).removeprefix("/papers/") for a in cards]
    assert [p.title for p in batch.papers] == [" ".join(a.get_text().split()) for a in cards]
    first = batch.papers[0]
    assert (first.id, first.upvotes, first.comments) == ("2609.31620", 110, 2)
    assert first.organization == "USC Physical Superintelligence (PSI) Lab"


def test_listing_day_argument_wins() -> None:
    """A listing day given by the caller overrides the page's `dateString`."""
    batch = hf_html.parse_page(LISTING.read_bytes(), dt.date(2026, 9, 29))
    assert batch.listed_on == dt.date(2026, 9, 29)
    assert {p.listed_on for p in batch.papers} == {dt.date(2026, 9, 29)}


def test_paper_page_gives_its_paper() -> None:
    """The PaperContent island of a prettified paper page is read like an API item."""
    batch = hf_html.parse_page(PAPER.read_text("utf-8"))
    (paper,) = batch.papers
    assert paper.id == "2509.24002"
    assert (
        paper.title == "MCPMark: A Benchmark for Stress-Testing Realistic and Comprehensive MCP Use"
    )
    assert (paper.upvotes, paper.comments, paper.github_stars) == (118, 2, 182)
    assert paper.listed_on == batch.listed_on == dt.date(2025, 10, 1)
    assert paper.authors[:2] == ("Zijian Wu", "Xiangyan Liu") and len(paper.authors) == 15


def test_changed_layout_is_a_source_error(copy_fixture: Callable[..., Path]) -> None:
    """A page whose islands were renamed gives an error naming the selector, not an empty day."""
    page = copy_fixture("hf/pages/listing_papers.html")
    page.write_bytes(page.read_bytes().replace(b"SVELTE_HYDRATER", b"HYDRATION_ROOT"))
    with pytest.raises(SourceError, match=r"layout changed: .*div\.SVELTE_HYDRATER"):
        hf_html.parse_page(page.read_bytes())


def test_page_without_any_island() -> None:
    """An unrelated page (a login wall, a CDN error) is a layout error too."""
    with pytest.raises(SourceError, match="layout changed"):
        hf_html.parse_page(b"<!doctype html><html><body><h1>Sign in</h1></body></html>")


def _page_with(props: object) -> bytes:
    data = html.escape(json.dumps(props) if not isinstance(props, str) else props)
    island = f'<div class="SVELTE_HYDRATER contents" data-target="DailyPapers" data-props="{data}">'
    return f"<!doctype html><html><body>{island}</div></body></html>".encode()


def test_island_with_broken_json() -> None:
    """An island whose props are not JSON is an error of the source."""
    with pytest.raises(SourceError, match="DailyPapers island's data-props is not JSON"):
        hf_html.parse_page(_page_with('{"dailyPapers": ['))


def test_island_without_the_list() -> None:
    """A DailyPapers island that lost its `dailyPapers` list means the layout changed."""
    with pytest.raises(SourceError, match="DailyPapers has no dailyPapers"):
        hf_html.parse_page(_page_with({"dateString": "2026-09-28"}))


def test_island_with_an_empty_list_is_an_empty_day() -> None:
    """An island that says the day has no papers is an empty day."""
    batch = hf_html.parse_page(_page_with({"dateString": "2026-09-27", "dailyPapers": []}))
    assert (batch.listed_on, batch.papers, batch.empty_day) == (dt.date(2026, 9, 27), (), True)


def test_fetch_falls_back_to_the_listing_page(
    server: FixtureServer, settings: Settings, client: httpx.Client, clock: FakeClock
) -> None:
    """When the API answers 5xx forever, the day's listing page gives the same papers."""
    server.fail(API, status(503), forever=True)
    day = dt.date(2026, 9, 28)
    batch = fetch(Source.HF, day, settings, client=client, sleep=clock.sleep, clock=clock)
    assert (batch.listed_on, len(batch.papers)) == (day, 28)
    assert (server.count(API), server.count(PAGE)) == (5, 1)
    assert len(clock.sleeps) == 4


def test_fetch_falls_back_on_wrong_shape(
    server: FixtureServer, settings: Settings, client: httpx.Client, clock: FakeClock
) -> None:
    """Valid JSON of the wrong shape from the API also sends us to the page (no retry)."""
    server.fail(API, body(b'{"error": "maintenance"}'), forever=True)
    day = dt.date(2026, 9, 28)
    batch = fetch(Source.HF, day, settings, client=client, sleep=clock.sleep, clock=clock)
    assert len(batch.papers) == 28 and clock.sleeps == []


def test_fetch_fails_when_the_page_changed_too(
    server: FixtureServer, settings: Settings, client: httpx.Client, clock: FakeClock
) -> None:
    """API down and a page without islands: one error that names both failures."""
    server.fail(API, status(500), forever=True)
    changed = LISTING.read_bytes().replace(b"SVELTE_HYDRATER", b"HYDRATION_ROOT")
    server.fail(PAGE, body(changed, "text/html"), forever=True)
    with pytest.raises(SourceError) as failure:
        fetch(Source.HF, dt.date(2026, 9, 28), settings, client=client, sleep=clock.sleep)
    assert "the API failed" in str(failure.value) and "layout changed" in str(failure.value)


def test_fetch_refuses_a_page_of_another_day(
    server: FixtureServer, settings: Settings, client: httpx.Client, clock: FakeClock
) -> None:
    """A listing page that shows another day than asked is not that day's papers."""
    server.fail(API, status(500), forever=True)
    server.serve("/papers/date/2026-09-27", LISTING.read_bytes(), "text/html")
    with pytest.raises(SourceError, match="the page lists those of 2026-09-28"):
        fetch(Source.HF, dt.date(2026, 9, 27), settings, client=client, sleep=clock.sleep)
