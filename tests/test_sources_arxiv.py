"""arXiv: the announcement feed, the export API, ids in every form, and fetching politely."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from newsletter.config import Settings
from newsletter.errors import SourceError
from newsletter.models import Source, canonical_arxiv_id
from newsletter.sources import arxiv, fetch, merge
from newsletter.sources.http import netloc
from tests.fixture_server import FIXTURES, FakeClock, FixtureServer, body, make_http, status

pytest_plugins = ["tests.conftest_sources"]

RSS = FIXTURES / "arxiv" / "rss" / "atom_cs.AI_2025-08-20.xml"
TRUNCATED = FIXTURES / "arxiv" / "rss" / "atom_cs.AI_2025-08-20_truncated.xml"
API = FIXTURES / "arxiv" / "api"
DAY = dt.date(2025, 8, 20)


def _recorded(prefix: str) -> tuple[bytes, int]:
    """The raw bytes and status of an API recording (its body was decoded as latin-1)."""
    (path,) = API.glob(f"{prefix}_{'?' * 12}.json")  # the recordings end in a 12-digit hash
    recording = json.loads(path.read_text("utf-8"))
    return recording["body"].encode("latin-1"), recording["status_code"]


# --- the announcement feed -------------------------------------------------------------------


def test_feed_gives_new_and_cross_papers() -> None:
    """The cs.AI feed of 2025-08-20 has 86 entries: 41 new and 45 cross-lists, all new papers."""
    read = arxiv.parse_feed(RSS.read_bytes())
    batch = read.batch
    assert (len(batch.papers), batch.skipped, read.not_new) == (86, (), 0)
    assert (batch.source, batch.listed_on, batch.empty_day) == (Source.ARXIV, DAY, False)
    assert {paper.listed_on for paper in batch.papers} == {DAY}


def test_feed_entry_fields() -> None:
    """Authors come from the one comma-separated `dc:creator`; the summary loses its prefix."""
    paper = arxiv.parse_feed(RSS.read_bytes()).batch.papers[0]
    assert paper.id == "2508.13167"
    assert paper.title.startswith("Chain-of-Agents: End-to-End Agent Foundation Models")
    assert paper.abstract.startswith("Recent advances in large language models (LLMs)")
    assert "Announce Type" not in paper.abstract
    assert paper.authors[:3] == ("Weizhen Li", "Jianbo Lin", "Zhuosong Jiang")
    assert len(paper.authors) == 30 and paper.authors[-1] == "Wangchunshu Zhou"
    assert paper.categories == ("cs.AI", "cs.CL")
    assert paper.published_at == dt.datetime(2025, 8, 20, 4, 0, tzinfo=dt.UTC)
    assert paper.sources == {Source.ARXIV}


def test_cross_list_keeps_its_primary_category_first() -> None:
    """A cross-listed paper's categories are the feed's terms, in the feed's order."""
    paper = arxiv.parse_feed(RSS.read_bytes()).batch.papers[-1]
    assert paper.categories == ("cs.LG", "cs.AI")


def test_replacements_are_not_new_and_not_bad() -> None:
    """`replace` and `replace-cross` entries are counted apart, never as skipped items."""
    text = RSS.read_text("utf-8")
    text = text.replace(">new</arxiv:announce_type>", ">replace</arxiv:announce_type>", 2)
    text = text.replace(">cross</arxiv:announce_type>", ">replace-cross</arxiv:announce_type>", 1)
    read = arxiv.parse_feed(text.encode())
    assert (len(read.batch.papers), read.batch.skipped, read.not_new) == (83, (), 3)


def test_announce_type_from_the_summary_when_the_element_is_missing() -> None:
    """Without `arxiv:announce_type`, the summary's `Announce Type:` decides."""
    text = RSS.read_text("utf-8").replace("<arxiv:announce_type>new</arxiv:announce_type>", "")
    text = text.replace("Announce Type: new", "Announce Type: replace", 1)
    read = arxiv.parse_feed(text.encode())
    assert (len(read.batch.papers), read.not_new) == (85, 1)


def test_truncated_feed_is_an_error() -> None:
    """The feed cut off mid-entry is not well-formed: an error, never the 86 entries before it."""
    with pytest.raises(SourceError, match="not a well-formed Atom feed"):
        arxiv.parse_feed(TRUNCATED.read_bytes())


def test_empty_feed_is_an_empty_day() -> None:
    """A feed with no entries (a weekend) is an empty day dated by the feed's `updated`."""
    text = RSS.read_text("utf-8")
    empty = text[: text.index("<entry>")] + "</feed>\n"
    read = arxiv.parse_feed(empty.encode())
    assert (read.batch.papers, read.batch.empty_day, read.batch.listed_on) == ((), True, DAY)


def test_bad_entries_are_skipped() -> None:
    """An entry without an id or with an unknown announce type is skipped with a reason."""
    text = RSS.read_text("utf-8")
    text = text.replace("<id>oai:arXiv.org:2508.13167v1</id>", "", 1)
    text = text.replace(">cross</arxiv:announce_type>", ">withdrawn</arxiv:announce_type>", 1)
    batch = arxiv.parse_feed(text.encode()).batch
    assert len(batch.papers) == 84
    assert batch.skipped[0] == "entry 0: no arXiv id"
    assert batch.skipped[1].endswith("unknown announce type 'withdrawn'")


def test_not_a_feed() -> None:
    """An HTML error page where a feed was expected is an error."""
    with pytest.raises(SourceError):
        arxiv.parse_feed(b"<html><body>Service unavailable</body></html>")


# --- the export API --------------------------------------------------------------------------

API_COUNTS = {
    "id_0000.0000_s0_m100": 0,
    "id_0808.05394_s0_m100": 0,
    "id_0808.05394_1707.08567_s0_m100": 1,
    "id_1605.08386_s0_m100": 1,
    "id_1707.08567_s0_m100": 1,
    "id_2104.12255v1_s0_m100": 1,
    "id_astro-ph_0601001_s0_m100": 1,
    "id_quant-ph_0201082v1_s0_m100": 1,
    "q_testing_s0_m10": 10,
    "q_testing_s0_m15": 15,
    "q_testing_s0_m100": 100,
    "q_testing_s5_m10": 10,
    "q_testing_s5_m15": 15,
    "q_testing_s9_m15": 15,
    "q_testing_s10_m10": 10,
    "q_testing_s20_m10": 10,
    "q_testing_s30_m10": 10,
    "q_testing_s40_m10": 10,
    "q_testing_s50_m10": 10,
}


@pytest.mark.parametrize(("prefix", "count"), sorted(API_COUNTS.items()))
def test_api_recordings(prefix: str, count: int) -> None:
    """Every API recording parses to its number of papers, none skipped."""
    page = arxiv.parse_api(*_recorded(prefix))
    assert (len(page.papers), page.skipped, page.entries) == (count, (), count)


def test_api_error_entry() -> None:
    """HTTP 400 with arXiv's `Error` entry is an error carrying arXiv's message."""
    with pytest.raises(SourceError, match="arXiv API error: incorrect id format for abc"):
        arxiv.parse_api(*_recorded("id_abc_s0_m100"))


def test_api_no_result_is_not_an_error() -> None:
    """An id with no paper (0000.0000) is a page of zero results."""
    page = arxiv.parse_api(*_recorded("id_0000.0000_s0_m100"))
    assert (page.papers, page.total) == ((), 0)


def test_api_entry_fields() -> None:
    """A versioned API entry becomes its version-less id, with the primary category first."""
    (paper,) = arxiv.parse_api(*_recorded("id_2104.12255v1_s0_m100")).papers
    assert (paper.id, paper.title, paper.categories) == ("2104.12255", "0", ("cs.CR",))
    assert paper.authors == ("Quan Thoi Minh Nguyen",)
    assert paper.listed_on == dt.date(2021, 4, 20)


def test_old_style_ids() -> None:
    """Old-style ids keep their archive: `astro-ph/0601001`, `quant-ph/0201082` (from v1)."""
    (astro,) = arxiv.parse_api(*_recorded("id_astro-ph_0601001_s0_m100")).papers
    (quant,) = arxiv.parse_api(*_recorded("id_quant-ph_0201082v1_s0_m100")).papers
    assert (astro.id, quant.id) == ("astro-ph/0601001", "quant-ph/0201082")
    assert quant.categories == ("quant-ph", "cs.PL")


def test_legacy_2016_format() -> None:
    """The 2016 answers parse too; the search for del Maestro has 10 entries of 31."""
    page = arxiv.parse_api((API / "legacy2016_search_query=au_del_maestro.xml").read_bytes())
    assert (len(page.papers), page.total) == (10, 31)
    assert "cond-mat/0412498" in {paper.id for paper in page.papers}


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("2401.01234v1", "2401.01234"),
        ("2401.01234v2", "2401.01234"),
        ("oai:arXiv.org:2508.13167v1", "2508.13167"),
        ("arXiv:2508.13167", "2508.13167"),
        ("http://arxiv.org/abs/2104.12255v1", "2104.12255"),
        ("https://arxiv.org/pdf/2401.01234v2.pdf", "2401.01234"),
        ("https://arxiv.org/abs/2401.01234v2?context=cs", "2401.01234"),
        ("https://arxiv.org/html/2508.05004v1", "2508.05004"),
        ("https://huggingface.co/papers/2508.05004", "2508.05004"),
        ("huggingface.co/papers/2508.05004#community", "2508.05004"),
        ("astro-ph/0601001v1", "astro-ph/0601001"),
        ("math.GT/0309136", "math/0309136"),
        ("0704.0001", "0704.0001"),
        ("0000.0000", None),
        ("0808.05394", None),
        ("2401.0123", None),
        ("abc", None),
        ("http://arxiv.org/api/errors#incorrect_id_format_for_abc", None),
    ],
)
def test_canonical_ids(raw: str, canonical: str | None) -> None:
    """Every form of an id maps to one key; impossible ids map to none."""
    assert canonical_arxiv_id(raw) == canonical


def test_two_versions_merge_into_one_paper() -> None:
    """The same paper read as v1 and as v2 is one paper after merge."""
    text = RSS.read_text("utf-8")
    v2 = text.replace("oai:arXiv.org:2508.13167v1", "oai:arXiv.org:2508.13167v2")
    first = arxiv.parse_feed(RSS.read_bytes()).batch
    second = arxiv.parse_feed(v2.encode()).batch
    assert len(merge([first, second])) == 86


# --- fetching --------------------------------------------------------------------------------


def _second_category(server: FixtureServer) -> None:
    """A cs.LG feed built from the first 10 cs.AI entries, so 10 papers are in both."""
    text = RSS.read_text("utf-8")
    starts = [i for i in range(len(text)) if text.startswith("<entry>", i)]
    cut = text[: starts[10]].replace("cs.AI updates", "cs.LG updates") + "</feed>\n"
    cut = cut.replace('<category term="cs.AI"/>', '<category term="cs.LG"/>')
    server.serve("/atom/cs.LG", cut.encode())


def test_fetch_merges_categories(
    server: FixtureServer, settings: Settings, client: httpx.Client, clock: FakeClock
) -> None:
    """Two categories: one paper per id, categories joined, the feeds 3 s apart."""
    _second_category(server)
    batch = fetch(
        Source.ARXIV,
        DAY,
        settings,
        categories=["cs.AI", "cs.LG"],
        client=client,
        sleep=clock.sleep,
        clock=clock,
    )
    assert (len(batch.papers), batch.listed_on, batch.skipped) == (86, DAY, ())
    assert batch.papers[0].categories == ("cs.AI", "cs.CL", "cs.LG")
    assert [seen.path for seen in server.requests] == ["/atom/cs.AI", "/atom/cs.LG"]
    assert clock.sleeps == [3.0]


def test_fetch_fails_if_one_category_fails(
    server: FixtureServer, settings: Settings, client: httpx.Client, clock: FakeClock
) -> None:
    """5xx forever on one feed fails the whole source: never a partial list."""
    server.fail("/atom/cs.LG", status(503), forever=True)
    with pytest.raises(SourceError, match=r"/atom/cs\.LG: gave up after 5 attempts: HTTP 503"):
        fetch(
            Source.ARXIV,
            DAY,
            settings,
            categories=["cs.AI", "cs.LG"],
            client=client,
            sleep=clock.sleep,
            clock=clock,
        )


def test_fetch_retries_a_cut_feed(
    server: FixtureServer, settings: Settings, client: httpx.Client, clock: FakeClock
) -> None:
    """The truncated recording served once is retried, then the whole feed is read."""
    server.fail("/atom/cs.AI", body(TRUNCATED.read_bytes(), "application/atom+xml"))
    batch = fetch(
        Source.ARXIV, DAY, settings, categories=["cs.AI"], client=client, sleep=clock.sleep
    )
    assert len(batch.papers) == 86 and server.count("/atom/cs.AI") == 2


def test_fetch_needs_categories(settings: Settings, client: httpx.Client) -> None:
    """arXiv without any category, or with one that is not a category, fails clearly."""
    with pytest.raises(SourceError, match="no arXiv category to fetch"):
        fetch(Source.ARXIV, DAY, settings, client=client)
    with pytest.raises(SourceError, match="not arXiv categories"):
        fetch(Source.ARXIV, DAY, settings, categories=["cs.AI/../x"], client=client)


def test_fetch_ids(server: FixtureServer, client: httpx.Client, clock: FakeClock) -> None:
    """Ids in any form are asked version-less; an impossible id is skipped, not sent."""
    http = make_http(client, clock)
    batch = arxiv.fetch_ids(http, server.url, ["0808.05394", "https://arxiv.org/abs/1707.08567v1"])
    assert [paper.id for paper in batch.papers] == ["1707.08567"]
    assert batch.skipped == ("'0808.05394': not an arXiv id",)
    assert server.requests[0].query["id_list"] == "1707.08567"


def test_fetch_ids_in_batches_of_100(
    server: FixtureServer, client: httpx.Client, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More ids than a batch holds take one request per batch, 3 s apart."""
    monkeypatch.setattr(arxiv, "ID_BATCH", 1)
    http = make_http(client, clock, min_interval={netloc(server.url): 3.0})
    batch = arxiv.fetch_ids(http, server.url, ["2104.12255v1", "astro-ph/0601001"])
    assert [paper.id for paper in batch.papers] == ["2104.12255", "astro-ph/0601001"]
    assert [seen.query["id_list"] for seen in server.requests] == [
        "2104.12255",
        "astro-ph/0601001",
    ]
    assert clock.sleeps == [3.0]


def test_search_pages(server: FixtureServer, client: httpx.Client, clock: FakeClock) -> None:
    """A search pages with start/max_results until it has what was asked."""
    http = make_http(client, clock, min_interval={netloc(server.url): 3.0})
    batch = arxiv.search(http, server.url, "testing", max_results=30, page_size=10)
    assert len(batch.papers) == 30
    assert [seen.query["start"] for seen in server.requests] == ["0", "10", "20"]
    assert {seen.query["max_results"] for seen in server.requests} == {"10"}
    assert clock.sleeps == [3.0, 3.0]


def test_search_error_entry_over_http(
    server: FixtureServer, client: httpx.Client, clock: FakeClock
) -> None:
    """arXiv's HTTP 400 with an error entry reaches the caller as arXiv's message, unretried."""
    error, code = _recorded("id_abc_s0_m100")
    server.fail("/api/query", body(error, "application/atom+xml", code=code))
    with pytest.raises(SourceError, match="incorrect id format for abc"):
        arxiv.search(make_http(client, clock), server.url, "testing", max_results=10)
    assert server.count("/api/query") == 1


def test_search_empty_page_before_the_end(
    server: FixtureServer, client: httpx.Client, clock: FakeClock
) -> None:
    """An empty page while results remain is an error (arXiv does this), not the end."""
    empty, _ = _recorded("id_0000.0000_s0_m100")
    first, _ = _recorded("q_testing_s0_m10")
    server.fail("/api/query", body(first, "application/atom+xml"), body(empty, "text/xml"))
    with pytest.raises(SourceError, match="empty page"):
        arxiv.search(make_http(client, clock), server.url, "testing", max_results=20, page_size=10)
