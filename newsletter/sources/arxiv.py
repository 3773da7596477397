"""arXiv: the announcement feed (`rss.arxiv.org/atom/<cat>`) and the export API, via feedparser.

Both are Atom. In the feed only `new` and `cross` entries are newly announced papers; `replace`
and `replace-cross` are new versions of older papers, counted as `not_new` (they are not bad
items). The API reports a bad query as HTTP 400 with one entry titled `Error`; an id with no
paper is simply a feed with no entries. A feed that is not well-formed (cut off mid-entry) is a
`SourceError`, never a shorter list.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.sax
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import feedparser

from newsletter.errors import SourceError
from newsletter.models import Paper, Source, canonical_arxiv_id
from newsletter.sources import Batch
from newsletter.sources.hf import MAX_ABSTRACT, MAX_TITLE, BadItem, clean_text, common_day
from newsletter.sources.http import Http

ID_BATCH = 100  # ids per export-API request
PAGE_SIZE = 100
NEW_TYPES = frozenset({"new", "cross"})
NOT_NEW_TYPES = frozenset({"replace", "replace-cross"})

SortBy = Literal["relevance", "lastUpdatedDate", "submittedDate"]

_CATEGORY = re.compile(r"^[a-z][a-z\-]*(\.[A-Za-z\-]+)?$")
# "arXiv:2508.13167v1 Announce Type: new \nAbstract: …" (the feed's summary)
_PREFIX = re.compile(r"^\s*arXiv:\S+\s+Announce Type:\s*(?P<type>[\w\-]+)\s*(Abstract:)?\s*")

Entry = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Announcement:
    """One announcement feed read: the new papers, and how many entries were only new versions."""

    batch: Batch
    not_new: int = 0


@dataclass(frozen=True, slots=True)
class ApiPage:
    """One page of export-API results; `entries` counts read and skipped ones, to page on."""

    papers: tuple[Paper, ...]
    skipped: tuple[str, ...]
    total: int
    entries: int


def is_category(name: str) -> bool:
    """An arXiv category such as `cs.AI`, `astro-ph.GA` or `hep-th` (nothing to inject in a URL)."""
    return bool(_CATEGORY.match(name))


def _parse(body: bytes) -> Any:
    """feedparser's result, or `SourceError` when the XML is cut or is not a feed at all."""
    parsed = feedparser.parse(body)
    problem = parsed.get("bozo_exception")
    if parsed.get("bozo") and (isinstance(problem, xml.sax.SAXException) or not parsed.entries):
        raise SourceError(f"not a well-formed Atom feed (cut off?): {problem}")
    if not str(parsed.get("version", "")).startswith(("atom", "rss")):
        raise SourceError("not an Atom feed")
    return parsed


def is_api_response(parsed: Any) -> bool:
    """The export API's feeds carry OpenSearch totals; the announcement feed does not."""
    feed = parsed.get("feed", {})
    return "opensearch_totalresults" in feed or "/api/" in str(feed.get("id", ""))


def parse_atom(body: bytes, status: int = 200, listed_on: dt.date | None = None) -> Batch:
    """Any arXiv Atom document → `Batch`: an announcement feed or an export-API answer."""
    parsed = _parse(body)
    if is_api_response(parsed):
        page = _api_page(parsed, status, listed_on)
        day = listed_on or common_day(page.papers)
        return Batch(Source.ARXIV, day, page.papers, page.skipped, empty_day=not page.papers)
    return _announcement(parsed, listed_on).batch


# --- the announcement feed -----------------------------------------------------------------


def parse_feed(body: bytes, listed_on: dt.date | None = None) -> Announcement:
    """An announcement feed → its new papers; the listing day is the feed's unless given."""
    return _announcement(_parse(body), listed_on)


def _announcement(parsed: Any, listed_on: dt.date | None) -> Announcement:
    entries: list[Entry] = list(parsed.entries)
    day = listed_on or _feed_day(parsed, entries)
    papers: dict[str, Paper] = {}
    skipped: list[str] = []
    not_new = 0
    for index, entry in enumerate(entries):
        try:
            paper = _feed_paper(entry, day)
        except BadItem as exc:
            skipped.append(f"entry {index}{_hint(entry)}: {exc}")
            continue
        if paper is None:
            not_new += 1
        elif paper.id not in papers:
            papers[paper.id] = paper
    if skipped and not papers:
        raise SourceError(f"none of the {len(entries)} entries could be read; first: {skipped[0]}")
    found = tuple(papers.values())
    batch = Batch(Source.ARXIV, day, found, tuple(skipped), empty_day=not found)
    return Announcement(batch, not_new)


def _feed_day(parsed: Any, entries: Sequence[Entry]) -> dt.date | None:
    """The announcement day: the entries' most common `published` day, else the feed's `updated`."""
    days = Counter(day for entry in entries if (day := _date(entry.get("published"))))
    if days:
        return days.most_common(1)[0][0]
    return _date(parsed.get("feed", {}).get("updated"))


def _feed_paper(entry: Entry, listed_on: dt.date | None) -> Paper | None:
    """One feed entry → `Paper`, None for a replacement, `BadItem` for an unreadable one."""
    summary = _text(entry, "summary", MAX_ABSTRACT + 200)
    prefix = _PREFIX.match(summary)
    kind = str(entry.get("arxiv_announce_type") or (prefix["type"] if prefix else "")).lower()
    if kind in NOT_NEW_TYPES:
        return None
    if kind not in NEW_TYPES:
        raise BadItem(f"unknown announce type {kind[:40]!r}")
    abstract = summary[prefix.end() :] if prefix else summary
    authors = [name for author in _names(entry) for name in author.split(",")]
    return _paper(entry, abstract, authors, listed_on)


def _hint(entry: Entry) -> str:
    raw = entry.get("id")
    text = clean_text(raw)[:60] if isinstance(raw, str) else ""
    return f" ({text})" if text else ""


# --- the export API ------------------------------------------------------------------------


def parse_api(body: bytes, status: int = 200, listed_on: dt.date | None = None) -> ApiPage:
    """An export-API answer → its page of papers; arXiv's error entry → `SourceError`."""
    return _api_page(_parse(body), status, listed_on)


def _api_page(parsed: Any, status: int, listed_on: dt.date | None) -> ApiPage:
    entries: list[Entry] = list(parsed.entries)
    error = next((entry for entry in entries if "/api/errors" in str(entry.get("id", ""))), None)
    if error is not None:
        raise SourceError(f"arXiv API error: {clean_text(str(error.get('summary', '')))[:300]}")
    if status != 200:
        raise SourceError(f"arXiv API answered HTTP {status}")
    papers: dict[str, Paper] = {}
    skipped: list[str] = []
    for index, entry in enumerate(entries):
        try:
            paper = _paper(entry, _text(entry, "summary", MAX_ABSTRACT), _names(entry), listed_on)
        except BadItem as exc:
            skipped.append(f"entry {index}{_hint(entry)}: {exc}")
            continue
        papers.setdefault(paper.id, paper)
    if skipped and not papers:
        raise SourceError(f"none of the {len(entries)} entries could be read; first: {skipped[0]}")
    total = _int(parsed.get("feed", {}).get("opensearch_totalresults"), default=len(entries))
    return ApiPage(tuple(papers.values()), tuple(skipped), total, len(entries))


# --- one entry, either kind ----------------------------------------------------------------


def _paper(entry: Entry, abstract: str, authors: Iterable[str], listed_on: dt.date | None) -> Paper:
    raw_id = entry.get("id")
    paper_id = canonical_arxiv_id(raw_id) if isinstance(raw_id, str) else None
    if paper_id is None:
        raise BadItem("no arXiv id" if not raw_id else "not an arXiv id")
    title = _text(entry, "title", MAX_TITLE)
    if not title:
        raise BadItem("no title")
    when = _datetime(entry.get("published"))  # in arXiv's time zone, whose date is the day
    day = listed_on or (when.date() if when else None)
    if day is None:
        raise BadItem("no listing day (no published date and no date given)")
    names = tuple(name for name in (clean_text(author) for author in authors) if name)
    return Paper(
        id=paper_id,
        title=title,
        abstract=clean_text(abstract),
        listed_on=day,
        authors=names,
        published_at=when.astimezone(dt.UTC) if when else None,
        categories=_categories(entry),
        sources=frozenset({Source.ARXIV}),
    )


def _text(entry: Entry, key: str, limit: int) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str):
        raise BadItem(f"{key} is not text")
    if len(value) > limit:
        raise BadItem(f"{key} is longer than {limit} characters")
    return clean_text(value)


def _names(entry: Entry) -> list[str]:
    """Author names; the feed's `dc:creator` is one comma-separated string (split by the caller)."""
    authors = entry.get("authors") or []
    return [a["name"] for a in authors if isinstance(a, Mapping) and isinstance(a.get("name"), str)]


def _categories(entry: Entry) -> tuple[str, ...]:
    """The primary category first (API), then every `category` term, without repeats."""
    primary = entry.get("arxiv_primary_category")
    terms = [primary.get("term")] if isinstance(primary, Mapping) else []
    terms += [tag.get("term") for tag in entry.get("tags") or [] if isinstance(tag, Mapping)]
    return tuple(dict.fromkeys(t for t in terms if isinstance(t, str) and is_category(t)))


def _datetime(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _date(value: object) -> dt.date | None:
    """The calendar day of a timestamp as written (arXiv writes its own time zone)."""
    when = _datetime(value)
    return when.date() if when else None


def _int(value: object, default: int) -> int:
    try:
        return int(str(value))
    except ValueError:
        return default


def _ends_feed(body: bytes) -> bool:
    """False for a feed cut short (worth a retry); a body that is no feed at all is whole."""
    return b"<feed" not in body[:4096] or body.rstrip().endswith(b"</feed>")


# --- fetching ------------------------------------------------------------------------------


def fetch_announcements(http: Http, rss_url: str, categories: Sequence[str]) -> Announcement:
    """Today's new papers in `categories`, one feed each, merged; any failing feed fails all."""
    if not categories:
        raise SourceError("no arXiv category to fetch: add arxiv_categories to a profile")
    bad = [name for name in categories if not is_category(name)]
    if bad:
        raise SourceError(f"not arXiv categories (like cs.AI): {', '.join(map(repr, bad))}")
    reads = []
    for category in dict.fromkeys(categories):
        response = http.get(f"{rss_url}/atom/{category}", complete=_ends_feed)
        try:
            reads.append((category, parse_feed(response.body)))
        except SourceError as exc:
            raise SourceError(f"arXiv feed {category}: {exc}") from None
    return _merge_feeds(reads)


def _merge_feeds(reads: Sequence[tuple[str, Announcement]]) -> Announcement:
    """One paper per id across categories (a cross-list appears in several), categories joined."""
    papers: dict[str, Paper] = {}
    for _, read in reads:
        for paper in read.batch.papers:
            known = papers.get(paper.id)
            papers[paper.id] = paper if known is None else _join_categories(known, paper)
    found = tuple(papers.values())
    batch = Batch(
        source=Source.ARXIV,
        listed_on=common_day(found) if found else _same_day(read.batch for _, read in reads),
        papers=found,
        skipped=tuple(f"{name} {reason}" for name, read in reads for reason in read.batch.skipped),
        empty_day=all(read.batch.empty_day for _, read in reads),
    )
    return Announcement(batch, sum(read.not_new for _, read in reads))


def _join_categories(known: Paper, other: Paper) -> Paper:
    return replace(known, categories=tuple(dict.fromkeys(known.categories + other.categories)))


def _same_day(batches: Iterable[Batch]) -> dt.date | None:
    days = {batch.listed_on for batch in batches}
    return days.pop() if len(days) == 1 else None


def fetch_ids(http: Http, base_url: str, ids: Iterable[str]) -> Batch:
    """The API's metadata for arXiv ids (any version or form), asked ≤100 at a time."""
    wanted = list(dict.fromkeys(canonical_arxiv_id(raw) or raw for raw in ids))
    skipped = tuple(f"{raw[:60]!r}: not an arXiv id" for raw in wanted if not _is_id(raw))
    wanted = [raw for raw in wanted if _is_id(raw)]
    papers: dict[str, Paper] = {}
    for first in range(0, len(wanted), ID_BATCH):
        chunk = wanted[first : first + ID_BATCH]
        params = {"id_list": ",".join(chunk), "start": "0", "max_results": str(ID_BATCH)}
        page = _get_api(http, base_url, params)
        skipped += page.skipped
        for paper in page.papers:
            papers.setdefault(paper.id, paper)
    found = tuple(papers.values())
    return Batch(Source.ARXIV, common_day(found), found, skipped, empty_day=not found)


def _is_id(raw: str) -> bool:
    return canonical_arxiv_id(raw) == raw


def search(
    http: Http,
    base_url: str,
    query: str,
    *,
    max_results: int = 100,
    page_size: int = PAGE_SIZE,
    sort_by: SortBy = "submittedDate",
) -> Batch:
    """Up to `max_results` papers for an API `search_query` (`cat:cs.CL`), page by page."""
    papers: dict[str, Paper] = {}
    skipped: tuple[str, ...] = ()
    start, limit = 0, max_results
    while start < limit:
        size = min(page_size, limit - start)
        params = {"search_query": query, "start": str(start), "max_results": str(size)}
        page = _get_api(http, base_url, {**params, "sortBy": sort_by, "sortOrder": "descending"})
        if start == 0:  # later pages may under-report the total (arXiv's empty-page glitch)
            limit = min(limit, page.total)
        if page.entries == 0 and start < limit:
            raise SourceError(f"arXiv sent an empty page at {start} of {page.total} results")
        skipped += page.skipped
        for paper in page.papers:
            papers.setdefault(paper.id, paper)
        start += page.entries
    found = tuple(papers.values())
    return Batch(Source.ARXIV, common_day(found), found, skipped, empty_day=not found)


def _get_api(http: Http, base_url: str, params: Mapping[str, str]) -> ApiPage:
    response = http.get(f"{base_url}/api/query", params, accept=(400,), complete=_ends_feed)
    return parse_api(response.body, response.status)
