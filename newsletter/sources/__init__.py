"""Paper sources: fetching bytes over HTTP and parsing them into `Paper`s are separate steps.

The rest of the program uses only what this package exports:

- `Batch`: what one fetch or one imported file yielded.
- `load_file(path, listed_on)`: import a recorded response, its format detected.
- `fetch(source, day, settings, ...)`: fetch one listing day of one source over HTTP.
- `merge(batches)`: one paper per arXiv id, enriched by every source that listed it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from newsletter.models import Paper, Source


@dataclass(frozen=True, slots=True)
class Batch:
    """The papers of one listing (a day of one source), and the items that had to be skipped.

    `empty_day` is true when the source positively said "nothing announced that day"
    (an arXiv weekend), which is different from an error.
    """

    source: Source
    listed_on: dt.date | None
    papers: tuple[Paper, ...]
    skipped: tuple[str, ...] = ()
    empty_day: bool = False


# The parsers import `Batch` from here, so they are imported once it exists.
import json  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TypeVar  # noqa: E402

import httpx  # noqa: E402

from newsletter.config import Settings  # noqa: E402
from newsletter.errors import InputError, SourceError  # noqa: E402
from newsletter.sources import arxiv, hf, hf_html  # noqa: E402
from newsletter.sources.http import (  # noqa: E402
    ARXIV_MIN_INTERVAL,
    Http,
    Policy,
    ValidatorCache,
    netloc,
    new_client,
)

__all__ = ["Batch", "fetch", "load_file", "merge"]

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 64 * 1024 * 1024
_DAY_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EXPECTED = (
    "expected Hugging Face daily papers (a JSON array), a recorded arXiv response "
    '({"url", "status_code", "body"}), an arXiv Atom feed, or a saved Hugging Face page'
)

T = TypeVar("T")


# --- load_file -----------------------------------------------------------------------------


def load_file(path: Path, listed_on: dt.date | None = None) -> Batch:
    """Import a recorded response, its format detected from the content.

    The listing day is `listed_on`, else a file name `YYYY-MM-DD.json`, else what the data says.
    Anything unusable is an `InputError` naming the file.
    """
    body = _read(path)
    day = listed_on or _day_from_name(path)
    try:
        batch = _parse_any(body, day, status=200)
    except SourceError as exc:
        raise InputError(f"{path}: {exc}") from None
    if batch is None:
        raise InputError(f"{path}: unknown format; {_EXPECTED}")
    return batch


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputError(f"{path}: larger than {MAX_FILE_BYTES // 2**20} MB; {_EXPECTED}")
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror or exc}); {_EXPECTED}") from None


def _day_from_name(path: Path) -> dt.date | None:
    """`2025-08-20.json` says its listing day (how the HF archives name their files)."""
    if path.suffix != ".json" or not _DAY_NAME.match(path.stem):
        return None
    try:
        return dt.date.fromisoformat(path.stem)
    except ValueError:
        return None


def _parse_any(body: bytes, day: dt.date | None, status: int) -> Batch | None:
    """Route by the first bytes: JSON, XML (arXiv) or HTML (Hugging Face); None if none fits."""
    head = body.removeprefix(b"\xef\xbb\xbf").lstrip()[:1024].lower()
    if head.startswith((b"[", b"{")):
        return _parse_json(body, day, status)
    if head.startswith(b"<!doctype html") or head.startswith(b"<html"):
        _require_ok(status)
        return hf_html.parse_page(body, day)
    if head.startswith((b"<?xml", b"<feed", b"<rss")):
        return arxiv.parse_atom(body, status, day)
    return None


def _require_ok(status: int) -> None:
    if status != 200:
        raise SourceError(f"the recorded answer is HTTP {status}, not data")


def _parse_json(body: bytes, day: dt.date | None, status: int) -> Batch | None:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(f"not valid JSON ({exc})") from None
    if isinstance(value, list):
        _require_ok(status)
        return hf.parse_items(value, day)
    if isinstance(value, dict) and {"url", "status_code", "body"} <= value.keys():
        return _parse_recording(value, day)
    return None


def _parse_recording(recording: dict[str, object], day: dt.date | None) -> Batch | None:
    """A recorded response: `body` is the raw bytes decoded as latin-1 (arxiv.py's recordings)."""
    body, status = recording["body"], recording["status_code"]
    if not isinstance(body, str) or not isinstance(status, int):
        raise SourceError("a recording needs a text body and an integer status_code")
    try:
        raw = body.encode("latin-1")
    except UnicodeEncodeError:
        raw = body.encode("utf-8")  # a recording saved as plain text
    return _parse_any(raw, day, status)


# --- fetch ---------------------------------------------------------------------------------


def fetch(
    source: Source,
    day: dt.date,
    settings: Settings,
    *,
    categories: Sequence[str] = (),
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    cache: ValidatorCache | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Batch:
    """Fetch one listing day of one source; `SourceError` when it fails after retries.

    Hugging Face: the API, then the day's listing page if the API fails. arXiv: today's
    announcement feed of each category (only `new` and `cross` entries), merged; the papers
    carry the feed's announcement day, which is not always `day`. Never a partial list.
    """
    own = client is None
    session = client or new_client()
    try:
        http = Http(session, _policy(source, settings), sleep=sleep, clock=clock, cache=cache)
        if source is Source.HF:
            return _fetch_hf(http, settings.hf_base_url, day)
        return _fetch_arxiv(http, settings.arxiv_rss_url, categories, day)
    finally:
        if own:
            session.close()


def _policy(source: Source, settings: Settings) -> Policy:
    urls = (settings.arxiv_rss_url, settings.arxiv_base_url) if source is Source.ARXIV else ()
    policy = Policy.for_timeout(settings.http_timeout,
                                {netloc(u): ARXIV_MIN_INTERVAL for u in urls})
    return dataclasses.replace(policy, attempts=settings.http_attempts)


def _fetch_hf(http: Http, base_url: str, day: dt.date) -> Batch:
    """The API; its listing page when the API fails or answers something unreadable."""
    try:
        return hf.fetch_day(http, base_url, day)
    except SourceError as api_error:
        log.warning("Hugging Face API failed for %s (%s); trying the listing page", day, api_error)
        try:
            return hf_html.fetch_day(http, base_url, day)
        except SourceError as page_error:
            raise SourceError(
                f"Hugging Face papers of {day}: the API failed ({api_error}), "
                f"and so did the listing page ({page_error})"
            ) from None


def _fetch_arxiv(http: Http, rss_url: str, categories: Sequence[str], day: dt.date) -> Batch:
    announcement = arxiv.fetch_announcements(http, rss_url, categories)
    batch = announcement.batch
    if batch.listed_on is not None and batch.listed_on != day:
        log.info("the arXiv feed announces %s, not %s", batch.listed_on, day)
    if announcement.not_new:
        log.info("arXiv: %d new versions of older papers skipped", announcement.not_new)
    return batch


# --- merge ---------------------------------------------------------------------------------


def merge(batches: Iterable[Batch]) -> list[Paper]:
    """One paper per canonical id, in first-seen order, enriched by every listing of it.

    arXiv's metadata (title, abstract, authors, categories) wins over Hugging Face's; HF brings
    votes, comments, AI summary, code and project links. Counts take the largest (the latest)
    value, `listed_on` the first day it was listed, `sources` the union.
    """
    groups: dict[str, list[Paper]] = {}
    for batch in batches:
        for paper in batch.papers:
            groups.setdefault(paper.id, []).append(paper)
    return [_merged(group) for group in groups.values()]


def _merged(papers: list[Paper]) -> Paper:
    if len(papers) == 1:
        return papers[0]
    arx, hug = _ranked(papers, Source.ARXIV), _ranked(papers, Source.HF)
    return Paper(
        id=papers[0].id,
        title=_first(arx, lambda p: p.title),
        abstract=_first(arx, lambda p: p.abstract),
        listed_on=min(p.listed_on for p in papers),
        authors=_first(arx, lambda p: p.authors),
        published_at=min((p.published_at for p in papers if p.published_at), default=None),
        upvotes=max(p.upvotes for p in papers),
        comments=max(p.comments for p in papers),
        ai_summary=_first(hug, lambda p: p.ai_summary),
        ai_keywords=_first(hug, lambda p: p.ai_keywords),
        categories=tuple(dict.fromkeys(c for p in arx for c in p.categories)),
        github_repo=_first(hug, lambda p: p.github_repo),
        github_stars=max(
            (p.github_stars for p in papers if p.github_stars is not None), default=None
        ),
        project_page=_first(hug, lambda p: p.project_page),
        thumbnail=_first(hug, lambda p: p.thumbnail),
        organization=_first(hug, lambda p: p.organization),
        sources=frozenset(s for p in papers for s in p.sources),
    )


def _ranked(papers: list[Paper], preferred: Source) -> list[Paper]:
    """The preferred source's listings first, the most recent listing first within each."""
    return sorted(papers, key=lambda p: (preferred not in p.sources, -p.listed_on.toordinal()))


def _first(ranked: list[Paper], field: Callable[[Paper], T]) -> T:
    """The first non-empty value in rank order (the top one's, even empty, if none is set)."""
    return next((value for paper in ranked if (value := field(paper))), field(ranked[0]))
