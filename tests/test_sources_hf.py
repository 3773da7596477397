"""Hugging Face daily papers: every recorded schema, bad items, paging, the fetch entry point."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import httpx
import pytest

from newsletter.config import Settings
from newsletter.errors import SourceError
from newsletter.models import Source
from newsletter.sources import Batch, fetch, hf, merge
from tests.fixture_server import FIXTURES, FakeClock, FixtureServer, body, make_http, status

pytest_plugins = ["tests.conftest_sources"]

DAYS = FIXTURES / "hf" / "daily_papers"
DAY = "/api/daily_papers"

# papers per recorded day; no item of these real files is skipped
EXPECTED = {
    "2024-05-27": 13, "2025-03-11": 26, "2025-08-01": 14, "2025-08-04": 9, "2025-08-05": 13,
    "2025-08-06": 11, "2025-08-07": 21, "2025-08-08": 18, "2025-08-11": 9, "2025-08-12": 19,
    "2025-08-13": 17, "2025-08-14": 12, "2025-08-15": 8, "2025-08-18": 7, "2025-08-19": 12,
    "2025-08-20": 14, "2025-08-21": 12, "2025-08-22": 12, "2025-08-25": 13, "2025-08-26": 13,
    "2025-08-27": 21, "2025-08-28": 11, "2025-08-29": 16, "2025-10-03": 39, "2026-08-13": 20,
    "2026-08-19": 26, "2026-08-21": 17,
}  # fmt: skip


def _items(day: str) -> list[Any]:
    items: list[Any] = json.loads((DAYS / f"{day}.json").read_text("utf-8"))
    return items


def _day(day: str) -> Batch:
    return hf.parse_items(_items(day), dt.date.fromisoformat(day))


def test_every_recorded_day_is_covered() -> None:
    """The table of expected counts names every recorded day, so a new fixture gets a count."""
    assert sorted(path.stem for path in DAYS.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize(("day", "count"), sorted(EXPECTED.items()))
def test_every_schema_generation_parses(day: str, count: int) -> None:
    """Each recorded day gives all its papers, none skipped, listed on the requested day."""
    batch = _day(day)
    assert (len(batch.papers), batch.skipped, batch.empty_day) == (count, (), False)
    assert batch.listed_on == dt.date.fromisoformat(day)
    assert {paper.listed_on for paper in batch.papers} == {batch.listed_on}
    assert all(paper.sources == {Source.HF} for paper in batch.papers)


def test_trimmed_may_2026_items_use_submitted_day() -> None:
    """Without a requested day, the listing day is each item's `submittedOnDailyAt`."""
    items = json.loads((FIXTURES / "hf" / "daily_papers_2026-05_trimmed3.json").read_bytes())
    batch = hf.parse_items(items)
    assert [paper.id for paper in batch.papers] == ["2605.05242", "2605.06548", "2605.06130"]
    assert batch.listed_on == dt.date(2026, 5, 8)
    assert batch.papers[0].organization == "TIGER-Lab" and batch.papers[0].github_stars == 101


def test_fields_of_a_2025_item() -> None:
    """Every field is taken from where the API keeps it (votes in paper, comments top level)."""
    paper = next(p for p in _day("2025-10-03").papers if p.id == "2510.02283")
    assert paper.title == "Self-Forcing++: Towards Minute-Scale High-Quality Video Generation"
    assert paper.abstract.startswith("Diffusion models have revolutionized image and video")
    assert "\n" not in paper.abstract
    assert paper.authors[:3] == ("Justin Cui", "Jie Wu", "Ming Li") and len(paper.authors) == 9
    assert paper.published_at == dt.datetime(2025, 10, 2, 17, 55, 42, tzinfo=dt.UTC)
    assert (paper.upvotes, paper.comments, paper.github_stars) == (43, 2, 1)
    assert paper.ai_summary is not None and paper.ai_summary.startswith("A method is proposed")
    assert paper.ai_keywords[:2] == ("diffusion models", "transformer architectures")
    assert paper.github_repo == "https://github.com/justincui03/Self-Forcing-Plus-Plus"
    assert paper.project_page == "https://self-forcing-plus-plus.github.io/"
    assert paper.thumbnail == (
        "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2510.02283.png"
    )
    assert paper.organization == "ByteDance Seed"


def test_oldest_schema_media_url_is_the_thumbnail() -> None:
    """In 2024 the thumbnail was `mediaUrl`, and there were no AI keywords."""
    paper = _day("2024-05-27").papers[0]
    assert paper.thumbnail == (
        "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2405.15738.png"
    )
    assert (paper.ai_keywords, paper.ai_summary, paper.github_repo) == ((), None, None)


def test_line_folded_title_is_collapsed() -> None:
    """`paper.title` was line-folded until late 2025; the folding is not part of the title."""
    paper = next(p for p in _day("2024-05-27").papers if p.id == "2405.14906")
    assert paper.title == "AutoCoder: Enhancing Code Large Language Model with AIEV-Instruct"


def test_abstract_stays_plain_text() -> None:
    """LaTeX escapes and `<` in abstracts are kept as written, to be escaped on output."""
    by_id = {p.id: p for p in _day("2025-08-15").papers + _day("2025-08-07").papers}
    assert "Alignment \\& Sparse" in by_id["2508.10833"].abstract
    assert "(< 1.2 kg CO2e)" in by_id["2508.01630"].abstract


def _broken_day() -> list[Any]:
    """Four good items, then one of each kind of bad item."""
    good = _items("2025-08-20")[:4]
    long_abstract, bad_votes, no_title = (copy.deepcopy(good[0]) for _ in range(3))
    long_abstract["paper"]["summary"] = "x" * 20_001
    bad_votes["paper"]["upvotes"] = "12"
    no_title["paper"].pop("title")
    no_id = copy.deepcopy(good[1])
    no_id["paper"].pop("id")
    bad_id = copy.deepcopy(good[2])
    bad_id["paper"]["id"] = "not-an-id"
    return [*good, "a string", no_id, bad_id, no_title, long_abstract, bad_votes, good[3]]


def test_bad_items_are_skipped_and_counted() -> None:
    """Each bad item is skipped with its index and reason; the good ones are kept."""
    batch = hf.parse_items(_broken_day(), dt.date(2025, 8, 20))
    assert len(batch.papers) == 4
    assert batch.skipped == (
        "item 4: not an object but str",
        "item 5: no paper.id",
        "item 6 (not-an-id): paper.id: not an arXiv id: 'not-an-id'",
        "item 7 (2508.13167): no paper.title",
        "item 8 (2508.13167): paper.summary: String should have at most 20000 characters",
        "item 9 (2508.13167): paper.upvotes: Input should be a valid integer",
        "item 10 (2508.06905): listed twice",
    )


def test_absurdly_long_title_is_skipped() -> None:
    """A title over 1,000 characters is not a title."""
    items = _items("2025-08-20")[:2]
    items[1]["paper"]["title"] = "A" * 1_001
    batch = hf.parse_items(items, dt.date(2025, 8, 20))
    assert len(batch.papers) == 1
    assert batch.skipped[0].endswith("paper.title: String should have at most 1000 characters")


def test_wrong_shape_is_a_source_error() -> None:
    """Valid JSON that is not a list (an object, an error) fails the source."""
    with pytest.raises(SourceError, match="expected a JSON array of papers, got an object"):
        hf.parse_daily_papers(b'{"papers": []}')
    with pytest.raises(SourceError, match="got an error: Invalid date"):
        hf.parse_daily_papers(b'{"error": "Invalid date"}')


def test_empty_list_is_an_empty_day() -> None:
    """`[]` is a day without papers, said positively, not an error."""
    batch = hf.parse_daily_papers(b"[]", dt.date(2025, 8, 23))
    assert (batch.papers, batch.skipped, batch.empty_day) == ((), (), True)


def test_only_bad_items_is_a_source_error() -> None:
    """A non-empty list that yields no paper means the schema changed: an error, not a quiet day."""
    with pytest.raises(SourceError, match=r"none of the 2 items could be read; first: item 0"):
        hf.parse_items([{"paper": {}}, {"paper": {"id": "2508.13167"}}], dt.date(2025, 8, 20))


def test_no_listing_day_anywhere() -> None:
    """Items of 2025-03-11 have no `submittedOnDailyAt`: without a date they cannot be placed."""
    with pytest.raises(SourceError, match="no listing day"):
        hf.parse_items(_items("2025-03-11"))


def test_same_paper_on_two_days_is_one_id() -> None:
    """2608.12313 listed on 2026-08-13 and 2026-08-19 is one paper, first listed on the 13th."""
    first, second = _day("2026-08-13"), _day("2026-08-19")
    assert "2608.12313" in {p.id for p in first.papers} & {p.id for p in second.papers}
    merged = merge([first, second])
    assert len(merged) == len(first.papers) + len(second.papers) - 1
    paper = next(p for p in merged if p.id == "2608.12313")
    assert paper.listed_on == dt.date(2026, 8, 13)
    assert (paper.upvotes, paper.comments, paper.github_stars) == (27, 3, 1)


# --- fetching --------------------------------------------------------------------------------


def test_fetch_day_pages_until_a_short_page(
    server: FixtureServer,
    client: httpx.Client,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With pages of 5, the 14 papers of 2025-08-20 take three requests (p=0, 1, 2)."""
    monkeypatch.setattr(hf, "PAGE_SIZE", 5)
    batch = hf.fetch_day(make_http(client, clock), server.url, dt.date(2025, 8, 20))
    assert len(batch.papers) == 14
    pages = [(seen.query["p"], seen.query["limit"]) for seen in server.requests]
    assert pages == [("0", "5"), ("1", "5"), ("2", "5")]
    assert server.requests[0].query["date"] == "2025-08-20"


def test_fetch_day_stops_when_paging_is_ignored(
    server: FixtureServer,
    client: httpx.Client,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server that sends the same full page for every `p` does not loop forever."""
    monkeypatch.setattr(hf, "PAGE_SIZE", 2)
    page = json.dumps(_items("2025-08-20")[:2]).encode()
    server.fail(DAY, body(page), forever=True)
    batch = hf.fetch_day(make_http(client, clock), server.url, dt.date(2025, 8, 20))
    assert len(batch.papers) == 2 and server.count(DAY) == 2


def test_fetch_trending(server: FixtureServer, client: httpx.Client, clock: FakeClock) -> None:
    """`sort=trending` is asked for and the order of the answer is kept."""
    http = make_http(client, clock)
    batch = hf.fetch_day(http, server.url, dt.date(2025, 8, 20), sort="trending")
    assert server.requests[0].query["sort"] == "trending"
    assert [p.id for p in batch.papers[:2]] == ["2508.13167", "2508.14041"]
    assert [p.upvotes for p in batch.papers] == sorted(
        (p.upvotes for p in batch.papers), reverse=True
    )


def test_fetch_week(server: FixtureServer, client: httpx.Client, clock: FakeClock) -> None:
    """A week's papers keep the day each was listed on."""
    batch = hf.fetch_week(make_http(client, clock), server.url, "2025-W34")
    assert server.requests[0].query["week"] == "2025-W34"
    assert len(batch.papers) == 7 + 12 + 14 + 12 + 12
    assert batch.listed_on is None
    assert {p.listed_on for p in batch.papers} == {dt.date(2025, 8, d) for d in range(18, 23)}


def test_fetch_week_rejects_a_malformed_week() -> None:
    """Only `YYYY-Www` reaches the URL."""
    with pytest.raises(ValueError, match="ISO week"):
        hf.fetch_week(None, "http://unused", "2025-34")  # type: ignore[arg-type]


def test_fetch_entry_point(server: FixtureServer, settings: Settings, client: httpx.Client) -> None:
    """`fetch(Source.HF, day)` returns the day's papers through the API, with no fallback."""
    batch = fetch(Source.HF, dt.date(2025, 8, 20), settings, client=client, sleep=_no_sleep)
    assert (batch.source, batch.listed_on, len(batch.papers)) == (
        Source.HF,
        dt.date(2025, 8, 20),
        14,
    )
    assert [seen.path for seen in server.requests] == [DAY]


def test_fetch_entry_point_empty_day(settings: Settings, client: httpx.Client) -> None:
    """A Saturday the API answers `[]` for is an empty day, not an error."""
    batch = fetch(Source.HF, dt.date(2025, 8, 23), settings, client=client, sleep=_no_sleep)
    assert batch.papers == () and batch.empty_day


def test_fetch_entry_point_retries_then_succeeds(
    server: FixtureServer, settings: Settings, client: httpx.Client, clock: FakeClock
) -> None:
    """503 twice then 200: the papers arrive, after two waits in the backoff ranges."""
    server.fail(DAY, status(503), status(503))
    batch = fetch(
        Source.HF, dt.date(2025, 8, 20), settings, client=client, sleep=clock.sleep, clock=clock
    )
    assert len(batch.papers) == 14
    assert len(clock.sleeps) == 2
    assert 0.5 <= clock.sleeps[0] <= 1.0 and 1.0 <= clock.sleeps[1] <= 2.0


def test_fetch_entry_point_fails_when_api_and_page_fail(
    server: FixtureServer, settings: Settings, client: httpx.Client, clock: FakeClock
) -> None:
    """5xx forever from the API and no listing page: one `SourceError` naming both."""
    server.fail(DAY, status(500), forever=True)
    with pytest.raises(SourceError) as failure:
        fetch(
            Source.HF, dt.date(2025, 8, 20), settings, client=client, sleep=clock.sleep, clock=clock
        )
    message = str(failure.value)
    assert "the API failed" in message and "HTTP 500" in message
    assert "listing page" in message and "HTTP 404" in message
    assert server.count(DAY) == 5


def test_fetch_entry_point_wrong_shape_never_gives_a_partial_day(
    server: FixtureServer, settings: Settings, client: httpx.Client
) -> None:
    """Wrong-shape JSON from the API and no page to fall back on is an error, not zero papers."""
    server.fail(DAY, body(b'{"dailyPapers": []}'), forever=True)
    with pytest.raises(SourceError, match="expected a JSON array of papers, got an object"):
        fetch(Source.HF, dt.date(2025, 8, 20), settings, client=client, sleep=_no_sleep)


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"unexpected sleep of {seconds} s")
