"""Hugging Face Daily Papers: the JSON API's items → `Paper`s, and the paged fetch of a day or week.

Parsing is pure and accepts every schema generation seen since 2024 (`mediaUrl` → `thumbnail`,
`organization` objects, `ai_summary_model`, ...). Each item is validated on its own: a bad one
is skipped with a reason, never the whole day (docs/reliability.md, "Upstream data").
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from newsletter.errors import SourceError
from newsletter.models import Paper, Source, canonical_arxiv_id
from newsletter.sources import Batch
from newsletter.sources.http import Http

MAX_TITLE = 1_000
MAX_ABSTRACT = 20_000
MAX_SHORT = 5_000  # ai_summary, names, links
MAX_LIST = 10_000  # authors (a few papers have thousands), keywords
PAGE_SIZE = 100  # the API's largest `limit`
MAX_PAGES = 50

Sort = Literal["publishedAt", "trending"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_WEEK = re.compile(r"^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$")


def clean_text(value: str) -> str:
    """Drop control characters and collapse white space (HF titles are line-folded)."""
    return " ".join(_CONTROL.sub("", value).split())


def _required_text(value: str) -> str:
    text = clean_text(value)
    if not text:
        raise ValueError("is empty")
    return text


def _arxiv_id(value: str) -> str:
    canonical = canonical_arxiv_id(value)
    if canonical is None:
        raise ValueError(f"not an arXiv id: {value[:40]!r}")
    return canonical


def _link(value: str) -> str | None:
    text = value.strip()
    return text if text.startswith(("https://", "http://")) else None


def _timestamp(value: object) -> object:
    """ISO 8601 strings only (pydantic would also take numbers); naive times are UTC."""
    if not isinstance(value, str):
        return value
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


Id = Annotated[str, Field(max_length=100), AfterValidator(_arxiv_id)]
Title = Annotated[str, Field(max_length=MAX_TITLE), AfterValidator(_required_text)]
Abstract = Annotated[str, Field(max_length=MAX_ABSTRACT), AfterValidator(clean_text)]
Short = Annotated[str, Field(max_length=MAX_SHORT), AfterValidator(clean_text)]
Link = Annotated[str, Field(max_length=MAX_SHORT), AfterValidator(_link)]
Count = Annotated[int, Field(ge=0)]
Timestamp = Annotated[dt.datetime, BeforeValidator(_timestamp)]


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class _Author(_Model):
    name: Short


class _Organization(_Model):
    name: Short | None = None
    fullname: Short | None = None


class _Paper(_Model):
    """`item.paper`: the arXiv metadata plus HF's votes and AI annotations."""

    id: Id
    title: Title
    summary: Abstract = ""
    authors: list[_Author] = Field(default_factory=list, max_length=MAX_LIST)
    publishedAt: Timestamp | None = None
    submittedOnDailyAt: Timestamp | None = None
    upvotes: Count = 0
    ai_summary: Short | None = None
    ai_keywords: list[Short] = Field(default_factory=list, max_length=MAX_LIST)
    githubRepo: Link | None = None
    githubStars: Count | None = None
    projectPage: Link | None = None
    organization: _Organization | None = None


class _Item(_Model):
    """One element of the daily list; only `paper` is required."""

    paper: _Paper
    numComments: Count = 0
    thumbnail: Link | None = None
    mediaUrl: Link | None = None  # the thumbnail before 2025
    organization: _Organization | None = None


class BadItem(Exception):
    """One item that cannot become a `Paper`; the message is the reason counted in `skipped`."""


def parse_item(item: object, listed_on: dt.date | None) -> Paper:
    """One API item → `Paper`; `listed_on` wins over the item's own `submittedOnDailyAt`."""
    if not isinstance(item, dict):
        raise BadItem(f"not an object but {type(item).__name__}")
    try:
        model = _Item.model_validate(item)
    except ValidationError as exc:
        raise BadItem(_explain(exc)) from None
    day = listed_on or _day_of(model.paper.submittedOnDailyAt)
    if day is None:
        raise BadItem("no listing day (no paper.submittedOnDailyAt and no date given)")
    return _paper(model, day)


def _day_of(when: dt.datetime | None) -> dt.date | None:
    return None if when is None else when.astimezone(dt.UTC).date()


def _explain(exc: ValidationError) -> str:
    """The first problem of a validation error, as `no paper.id` or `paper.title: too long`."""
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    reason = f"no {where}" if first["type"] == "missing" else f"{where}: {message}"
    return reason if len(errors) == 1 else f"{reason} (and {len(errors) - 1} more)"


def _paper(item: _Item, listed_on: dt.date) -> Paper:
    paper = item.paper
    organization = item.organization or paper.organization
    return Paper(
        id=paper.id,
        title=paper.title,
        abstract=paper.summary,
        listed_on=listed_on,
        authors=tuple(author.name for author in paper.authors if author.name),
        published_at=paper.publishedAt,
        upvotes=paper.upvotes,
        comments=item.numComments,
        ai_summary=paper.ai_summary or None,
        ai_keywords=tuple(keyword for keyword in paper.ai_keywords if keyword),
        github_repo=paper.githubRepo,
        github_stars=paper.githubStars,
        project_page=paper.projectPage,
        thumbnail=item.thumbnail or item.mediaUrl,
        organization=(organization.fullname or organization.name) if organization else None,
        sources=frozenset({Source.HF}),
    )


def parse_items(items: Sequence[object], listed_on: dt.date | None = None) -> Batch:
    """A decoded daily list → `Batch`; `[]` is an empty day, all-bad items a `SourceError`."""
    papers: dict[str, Paper] = {}
    skipped: list[str] = []
    for index, item in enumerate(items):
        try:
            paper = parse_item(item, listed_on)
        except BadItem as exc:
            skipped.append(f"item {index}{_hint(item)}: {exc}")
            continue
        if paper.id in papers:
            skipped.append(f"item {index} ({paper.id}): listed twice")
            continue
        papers[paper.id] = paper
    if items and not papers:
        raise SourceError(f"none of the {len(items)} items could be read; first: {skipped[0]}")
    found = tuple(papers.values())
    day = listed_on or common_day(found)
    return Batch(Source.HF, day, found, tuple(skipped), empty_day=not items)


def _hint(item: object) -> str:
    """` (2509.24002)` when the bad item still shows an id, to find it upstream."""
    paper = item.get("paper") if isinstance(item, dict) else None
    raw = paper.get("id") if isinstance(paper, dict) else None
    text = clean_text(raw)[:40] if isinstance(raw, str) else ""
    return f" ({text})" if text else ""


def common_day(papers: Sequence[Paper]) -> dt.date | None:
    """The listing day shared by all papers, or None when they differ (a week) or there are none."""
    days = {paper.listed_on for paper in papers}
    return days.pop() if len(days) == 1 else None


def parse_daily_papers(data: bytes | str, listed_on: dt.date | None = None) -> Batch:
    """The API's JSON text → `Batch`; anything but a JSON array is a `SourceError`."""
    return parse_items(load_list(data), listed_on)


def load_list(data: bytes | str) -> list[object]:
    """Decode a daily-papers body, insisting on a JSON array (HF answers errors as objects)."""
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(f"not valid JSON ({exc})") from None
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("error"), str):
        raise SourceError(f"expected a JSON array of papers, got an error: {value['error'][:200]}")
    raise SourceError(f"expected a JSON array of papers, got {_json_kind(value)}")


def _json_kind(value: object) -> str:
    kinds = {dict: "an object", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")


def _complete_json(body: bytes) -> bool:
    """False for JSON cut short (worth a retry); anything not even starting like JSON is whole."""
    if not body.lstrip().startswith((b"[", b"{")):
        return True
    try:
        json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return False
    return True


def fetch_day(http: Http, base_url: str, day: dt.date, *, sort: Sort = "publishedAt") -> Batch:
    """All papers listed on `day`, every page of `limit` items, as one `Batch`."""
    items = _fetch_all(http, f"{base_url}/api/daily_papers", {"date": day.isoformat()}, sort)
    return parse_items(items, day)


def fetch_week(http: Http, base_url: str, week: str, *, sort: Sort = "publishedAt") -> Batch:
    """All papers of an ISO week (`2025-W34`), each with the day it was listed on."""
    if not _WEEK.match(week):
        raise ValueError(f"not an ISO week like 2025-W34: {week!r}")
    items = _fetch_all(http, f"{base_url}/api/daily_papers", {"week": week}, sort)
    return parse_items(items, None)


def _fetch_all(http: Http, url: str, query: Mapping[str, str], sort: Sort) -> list[object]:
    """Page through `p=0,1,…` until a short page; a repeated page means paging is ignored."""
    params = {**query, "limit": str(PAGE_SIZE)}
    if sort == "trending":
        params["sort"] = "trending"
    items: list[object] = []
    previous: list[object] | None = None
    for page in range(MAX_PAGES):
        response = http.get(url, {**params, "p": str(page)}, complete=_complete_json)
        chunk = load_list(response.body)
        if chunk == previous:
            return items
        items.extend(chunk)
        if len(chunk) < PAGE_SIZE:
            return items
        previous = chunk
    raise SourceError(f"{url}: more than {MAX_PAGES} pages of {PAGE_SIZE}; refusing to go on")
