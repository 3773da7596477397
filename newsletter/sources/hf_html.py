"""Hugging Face pages: the JSON islands (`div.SVELTE_HYDRATER`) of listing and paper pages.

The pages carry their data as JSON in `data-props`: `DailyPapers` holds the day's items in the
API's shape, `PaperContent` one paper object. Reading the islands (not the visible cards) keeps
one item parser for the API and the pages. A page without them means the layout changed: a
`SourceError`, never an empty day. Used for saved pages and when the API fails.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping

from bs4 import BeautifulSoup

from newsletter.errors import SourceError
from newsletter.models import Source
from newsletter.sources import Batch, hf
from newsletter.sources.http import Http

_ISLANDS = ("DailyPapers", "PaperContent")
_LAYOUT = "div.SVELTE_HYDRATER[data-target][data-props]"


def parse_page(html: bytes | str, listed_on: dt.date | None = None) -> Batch:
    """A listing page or a paper page → `Batch`, whichever island the page carries."""
    islands = _islands(html)
    if "DailyPapers" in islands:
        return _listing(islands["DailyPapers"], listed_on)
    if "PaperContent" in islands:
        return _paper_page(islands["PaperContent"], listed_on)
    raise SourceError(
        f"the Hugging Face page layout changed: no DailyPapers or PaperContent {_LAYOUT}"
    )


def _islands(html: bytes | str) -> dict[str, Mapping[str, object]]:
    """The props of the known islands, by `data-target` (the first of each kind)."""
    soup = BeautifulSoup(html, "html.parser")
    found: dict[str, Mapping[str, object]] = {}
    for div in soup.select(_LAYOUT):
        target, props = div.get("data-target"), div.get("data-props")
        if target in _ISLANDS and isinstance(target, str) and isinstance(props, str):
            found.setdefault(target, _props(target, props))
    return found


def _props(target: str, text: str) -> Mapping[str, object]:
    try:
        props = json.loads(text)
    except ValueError as exc:
        raise SourceError(f"the {target} island's data-props is not JSON ({exc})") from None
    if not isinstance(props, dict):
        raise SourceError(f"the {target} island's data-props is not an object")
    return props


def _listing(props: Mapping[str, object], listed_on: dt.date | None) -> Batch:
    """`DailyPapers`: a day's page says its day in `dateString`; week/month pages do not."""
    items = props.get("dailyPapers")
    if not isinstance(items, list):
        raise SourceError("the Hugging Face page layout changed: DailyPapers has no dailyPapers")
    day = listed_on or _page_day(props)
    return hf.parse_items(items, day)


def _page_day(props: Mapping[str, object]) -> dt.date | None:
    if props.get("periodType", "day") != "day":
        return None
    text = props.get("dateString")
    try:
        return dt.date.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _paper_page(props: Mapping[str, object], listed_on: dt.date | None) -> Batch:
    """`PaperContent`: the paper object; its discussion (`comments`) gives the comment count."""
    paper = props.get("paper")
    if not isinstance(paper, dict):
        raise SourceError("the Hugging Face page layout changed: PaperContent has no paper")
    comments = props.get("comments")
    item = {"paper": paper, "numComments": len(comments) if isinstance(comments, list) else 0}
    try:
        parsed = hf.parse_item(item, listed_on)
    except hf.BadItem as exc:
        raise SourceError(f"the paper on this page cannot be read: {exc}") from None
    return Batch(source=Source.HF, listed_on=parsed.listed_on, papers=(parsed,))


def fetch_day(http: Http, base_url: str, day: dt.date) -> Batch:
    """The listing page of `day` (`/papers/date/YYYY-MM-DD`), for when the API fails."""
    response = http.get(f"{base_url}/papers/date/{day.isoformat()}")
    props = _islands(response.body).get("DailyPapers")
    if props is None:
        raise SourceError(f"the Hugging Face page layout changed: no DailyPapers {_LAYOUT}")
    shown = _page_day(props)
    if shown is not None and shown != day:
        raise SourceError(f"asked for the papers of {day}, the page lists those of {shown}")
    return _listing(props, day)
