"""Typed, immutable value objects passed between the stages of the pipeline.

Nothing here does I/O: sources build `Paper`s, `subscribers` builds `Subscriber`s, `matching`
turns both into `RankedPaper`s, `render` and `delivery` consume a `Digest`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from enum import StrEnum

from newsletter.profile_phrases import repeats


class Source(StrEnum):
    """Where a paper was listed."""

    HF = "hf"
    ARXIV = "arxiv"


class Frequency(StrEnum):
    """How often a subscriber gets a digest."""

    DAILY = "daily"
    WEEKDAYS = "weekdays"
    WEEKLY = "weekly"


class OnEmpty(StrEnum):
    """What a subscriber gets on a digest day with nothing new."""

    SKIP = "skip"  # no email
    NOTE = "note"  # a short email saying why (no announcement, nothing matched, a source failed)


class DigestState(StrEnum):
    """The life of one digest row in the ledger (see `store.py`)."""

    PLANNED = "planned"
    SENDING = "sending"
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    EMPTY = "empty"


_NEW_ID = re.compile(r"^(\d{2})(\d{2})\.(\d{4,5})(v\d+)?$")
# Before April 2007: archive[.subject-class]/YYMMNNN; the subject class is not part of the id.
_OLD_ID = re.compile(r"^([a-z]+(?:-[a-z]+)?)(?:\.[a-z\-]+)?/(\d{2})(\d{2})(\d{3})(v\d+)?$", re.I)
_PREFIXES = ("oai:arxiv.org:", "arxiv:")


def canonical_arxiv_id(raw: str) -> str | None:
    """Return the version-less arXiv id (`2401.01234v2` → `2401.01234`), or None if not an id.

    Accepts bare ids, old-style ids (`astro-ph/0601001`, `math.GT/0309136` → `math/0309136`),
    OAI ids, and URLs of a paper's arXiv abs, pdf or html page or its Hugging Face page
    (`https://huggingface.co/papers/2508.05004`) that end in one. Impossible ids (month 00
    or 13, five digits before 2015, four after) are refused: arXiv has no such paper.
    """
    text = raw.strip()
    for prefix in _PREFIXES:
        if text.lower().startswith(prefix):
            text = text[len(prefix) :]
    for marker in ("/abs/", "/pdf/", "/html/", "huggingface.co/papers/"):
        if marker in text:
            text = text.split(marker, 1)[1].split("?", 1)[0].split("#", 1)[0]
    text = text.removesuffix(".pdf").strip("/")
    if match := _NEW_ID.match(text):
        year, month, number = int(match[1]), int(match[2]), match[3]
        digits = 5 if (year, month) >= (15, 1) else 4
        valid = 1 <= month <= 12 and (year, month) >= (7, 4) and len(number) == digits
        return f"{match[1]}{match[2]}.{number}" if valid else None
    if match := _OLD_ID.match(text):
        valid = 1 <= int(match[3]) <= 12
        return f"{match[1].lower()}/{match[2]}{match[3]}{match[4]}" if valid else None
    return None


@dataclass(frozen=True, slots=True)
class Paper:
    """One paper, keyed by its canonical arXiv id, as stored and ranked.

    `listed_on` is the day a source listed it (the listing day, not the arXiv date).
    Text fields hold plain text as published upstream: never HTML, always escaped on output.
    """

    id: str
    title: str
    abstract: str
    listed_on: dt.date
    authors: tuple[str, ...] = ()
    published_at: dt.datetime | None = None
    upvotes: int = 0
    comments: int = 0
    ai_summary: str | None = None
    ai_keywords: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    thumbnail: str | None = None
    organization: str | None = None
    sources: frozenset[Source] = frozenset()

    @property
    def url(self) -> str:
        """The paper's page on Hugging Face when it was listed there, else on arXiv."""
        if Source.HF in self.sources:
            return f"https://huggingface.co/papers/{self.id}"
        return f"https://arxiv.org/abs/{self.id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.id}"


@dataclass(frozen=True, slots=True)
class Topic:
    """A phrase the subscriber wants, with its weight (1.0 unless the profile says otherwise)."""

    phrase: str
    weight: float = 1.0


DEFAULT_TRENDING = 0.3
DEFAULT_RECENCY = 0.0
DEFAULT_MIN_RELEVANCE = 0.12  # see `ranking_score.QUALIFY`


@dataclass(frozen=True, slots=True)
class Profile:
    """What one subscriber wants to read; the input of `matching.rank`."""

    topics: tuple[Topic, ...] = ()
    exclude: tuple[str, ...] = ()
    arxiv_categories: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    liked: tuple[str, ...] = ()
    min_upvotes: int = 0
    max_papers: int = 10
    trending: float = DEFAULT_TRENDING
    recency: float = DEFAULT_RECENCY
    min_relevance: float = DEFAULT_MIN_RELEVANCE

    def __post_init__(self) -> None:
        """A phrase written twice counts once (`profile_phrases`): "robot manipulation" and
        "Robot Manipulations" are one topic, which keeps the first spelling and the largest
        weight written; the same for exclude phrases."""
        again = repeats(topic.phrase for topic in self.topics)
        if again:
            weights = {i: topic.weight for i, topic in enumerate(self.topics) if i not in again}
            for index, first in again.items():
                weights[first] = max(weights[first], self.topics[index].weight)
            object.__setattr__(self, "topics", tuple(
                replace(topic, weight=weights[i]) for i, topic in enumerate(self.topics)
                if i not in again))
        again = repeats(self.exclude)
        if again:
            object.__setattr__(self, "exclude", tuple(
                phrase for i, phrase in enumerate(self.exclude) if i not in again))


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A validated entry of `subscribers.yaml`, with the defaults applied."""

    email: str
    profile: Profile
    name: str | None = None
    timezone: str = "UTC"
    send_at: dt.time = dt.time(7, 30)
    frequency: Frequency = Frequency.DAILY
    weekly_day: int = 0  # Monday; used when frequency is weekly
    sources: frozenset[Source] = frozenset({Source.HF})
    enabled: bool = True
    on_empty: OnEmpty = OnEmpty.SKIP

    @property
    def key(self) -> str:
        """The identity used in the ledger: the address, compared case-insensitively."""
        return self.email.lower()


@dataclass(frozen=True, slots=True)
class RankedPaper:
    """A paper chosen for a subscriber, with its score and the reasons a reader understands."""

    paper: Paper
    score: float
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Excluded:
    """A candidate that did not make it, and why (for `preview --explain`)."""

    paper: Paper
    reason: str


@dataclass(frozen=True, slots=True)
class Ranking:
    """The outcome of ranking one profile against a set of candidates."""

    picked: tuple[RankedPaper, ...]
    excluded: tuple[Excluded, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Digest:
    """One subscriber's email for one digest day, ready to render and send."""

    subscriber: Subscriber
    digest_date: dt.date
    window_start: dt.date
    papers: tuple[RankedPaper, ...]
    message_id: str
