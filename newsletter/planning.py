"""Planning: which papers go into whose digest for a digest day, and previews of the same.

Pure decisions over the ledger: the window of a digest, whether a subscriber is due, and the
ranking of their unseen papers. Writing a plan is idempotent (see `Store.plan`).
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from email.message import EmailMessage
from typing import NamedTuple

from newsletter import matching
from newsletter.config import Ranker, Settings
from newsletter.delivery import build_message, make_message_id, manage_hint
from newsletter.models import (
    Digest,
    DigestState,
    Excluded,
    Frequency,
    OnEmpty,
    Paper,
    Profile,
    RankedPaper,
    Ranking,
    Source,
    Subscriber,
)
from newsletter.ranking_semantic import Embedder, load_embedder
from newsletter.render import RenderedDigest, Renderer
from newsletter.semantic_store import StoredEmbedder
from newsletter.store import DigestRow, EarlierDigests, Store

MAX_CATCH_UP_DAYS = 7
SEEN_READ_DAYS = 31  # the digests read to tell which candidates were sent (`Pool`)


def delivery_day(day: dt.date) -> dt.date:
    """The local day a digest of listing day `day` is delivered: the morning after.

    A 07:30 send covers the previous day's complete listing, so frequencies (`weekdays`,
    `weekly` on a chosen day) are about the delivery day, not the listing day.
    """
    return day + dt.timedelta(days=1)


def period_days(subscriber: Subscriber, day: dt.date) -> int:
    """How many listing days a digest of `day` covers for this subscriber's frequency."""
    if subscriber.frequency is Frequency.WEEKLY:
        return 7
    if subscriber.frequency is Frequency.WEEKDAYS and delivery_day(day).weekday() == 0:
        return 3  # Monday's digest also covers Friday's and Saturday's listings
    return 1


def is_due(subscriber: Subscriber, day: dt.date) -> bool:
    """Whether this subscriber gets a digest of listing day `day` (delivered the day after)."""
    weekday = delivery_day(day).weekday()
    if subscriber.frequency is Frequency.WEEKDAYS:
        return weekday < 5
    if subscriber.frequency is Frequency.WEEKLY:
        return weekday == subscriber.weekly_day
    return True


def window_start(store: Store, subscriber: Subscriber, day: dt.date) -> dt.date:
    """The first listing day of the digest: its period, stretched back to the last sent digest.

    Stretching means papers from a day whose digest failed, or from a source that was down,
    arrive in the next digest instead of being missed (at most `MAX_CATCH_UP_DAYS` back).
    """
    return _window_start(subscriber, day, _earlier(store, subscriber, day))


def _earlier(store: Store, subscriber: Subscriber, day: dt.date) -> EarlierDigests:
    """The subscriber's earlier digests, as far back as planning reaches."""
    return store.earlier_digests(subscriber.key, before=day, since=_reach(day))


def _reach(day: dt.date) -> dt.date:
    """The earliest digest day that can change a plan of `day`: a later last sent digest moves
    the window's start, an earlier one leaves it at the catch-up floor."""
    return day - dt.timedelta(days=MAX_CATCH_UP_DAYS)


def _window_start(subscriber: Subscriber, day: dt.date, earlier: EarlierDigests) -> dt.date:
    start = day - dt.timedelta(days=period_days(subscriber, day) - 1)
    last = earlier.last_sent
    # Nothing sent yet: reach back to the first digest ever planned (it may have expired).
    anchor = last + dt.timedelta(days=1) if last else earlier.first_window_start
    if anchor is not None:
        floor = day - dt.timedelta(days=MAX_CATCH_UP_DAYS - 1)
        start = max(min(start, anchor), floor)
    return start


_ListKey = tuple[dt.date, dt.date, frozenset[Source]]  # day, window start, sources
_IndexKey = tuple[dt.date, tuple[str, ...]]  # day, the candidates' ids


class Pool(NamedTuple):
    """A set of candidates, indexed, and where to look for those a subscriber was sent: in
    their digests since `seen_since`, and one by one for the few first listed before it."""

    candidates: matching.Candidates
    seen_since: dt.date
    listed_before: tuple[str, ...]

    @classmethod
    def of(cls, candidates: matching.Candidates, day: dt.date) -> Pool:
        """A digest sends papers listed by its day, so the digests since the earliest
        candidate's first listing hold all that were sent; at most SEEN_READ_DAYS of them are
        read (a paper featured again long after it was first listed is looked up alone)."""
        floor = day - dt.timedelta(days=SEEN_READ_DAYS)
        since = max(min((p.listed_on for p in candidates.papers), default=day), floor)
        return cls(candidates, since,
                   tuple(p.id for p in candidates.papers if p.listed_on < since))


class PaperCache:
    """Candidate papers and their ranking index, kept while the ledger's papers do not change.

    Everyone with the same window and sources has the same candidates, so their ranking index
    (`matching.Candidates`, where each topic phrase is matched once and then cached) is built
    once per distinct set of candidate papers instead of once per subscriber, which made
    ranking the bulk of a send. One cache serves a whole run, even one sent in many small
    batches (the scheduler's). It empties itself when papers are stored, by this connection or
    another (a fetch running meanwhile), so no paper stored during a run is left out.
    """

    LIMIT = 64  # candidate sets kept (a day has a few: one per window length and sources)

    def __init__(self) -> None:
        self._version: tuple[int, int] | None = None
        self._listed: dict[_ListKey, list[Paper]] = {}
        self._stored: dict[_ListKey, tuple[list[str], list[Paper]]] = {}  # by time stored
        self._indexes: dict[tuple[_IndexKey, bool], Pool] = {}

    def listed(self, store: Store, key: _ListKey) -> list[Paper]:
        """Papers listed by these sources in [start, day] (oldest first, as the store gives)."""
        self._forget_if_changed(store)
        found = self._listed.get(key)
        if found is None:
            day, start, sources = key
            found = self._listed[key] = store.papers_listed(start, day, sources)
        return found

    def stored_after(self, store: Store, key: _ListKey, when: dt.datetime) -> list[Paper]:
        """Papers listed by these sources in [start, day] and first stored after `when`, by id:
        one query per run, not one per subscriber (each has their own `when`), kept in the
        order they were stored, so that a subscriber's few late papers are a slice of it."""
        self._forget_if_changed(store)
        found = self._stored.get(key)
        if found is None:
            day, start, sources = key
            stored = sorted(store.papers_listed_stored(start, day, sources),
                            key=lambda pair: pair[0])
            found = self._stored[key] = [at for at, _ in stored], [p for _, p in stored]
        times, papers = found
        return sorted(papers[bisect_right(times, when.isoformat()):], key=lambda p: p.id)

    def _forget_if_changed(self, store: Store) -> None:
        """Empty the caches when papers may have been stored since they were filled."""
        version = store.papers_version()
        if version != self._version or len(self._indexes) > self.LIMIT:
            self._listed.clear()
            self._stored.clear()
            self._indexes.clear()
            self._version = version

    def index(self, key: _IndexKey, papers: list[Paper], embedder: Embedder | None = None) -> Pool:
        """The ranking index of these candidates (by meaning too, with an `embedder`)."""
        semantic = embedder is not None
        found = self._indexes.get((key, semantic))
        if found is None:
            candidates = matching.Candidates.build(papers, today=key[0], embedder=embedder)
            found = self._indexes[key, semantic] = Pool.of(candidates, key[0])
        return found


def embedder_for(settings: Settings | None, store: Store | None = None) -> Embedder | None:
    """The embedder of the semantic ranker when the settings ask for it, its vectors kept in
    the ledger when there is one (`semantic_store`); else None (lexical)."""
    if settings is None or settings.ranker is not Ranker.SEMANTIC:
        return None
    embedder = load_embedder()
    return embedder if store is None else StoredEmbedder(embedder, store)


class Planner:
    """Plans the digests of one listing day; the `PaperCache` is shared by a run's planners."""

    def __init__(self, store: Store, settings: Settings | None, day: dt.date,
                 cache: PaperCache | None = None) -> None:
        self.store, self.settings, self.day = store, settings, day
        self.cache = cache or PaperCache()
        self.embedder = embedder_for(settings, store)

    def warm_up(self, subscribers: Sequence[Subscriber]) -> None:
        """With the semantic ranker, embed every topic phrase of these subscribers in one batch
        now, instead of a few at a time as each is ranked (ten times slower)."""
        if self.embedder is not None:
            phrases = {t.phrase for s in subscribers for t in s.profile.topics}
            self.embedder.embed(sorted(phrases))

    def pool(self, subscriber: Subscriber, start: dt.date, considered: dt.datetime | None) -> Pool:
        """The index of papers listed in [start, day], and of papers of the catch-up horizon
        stored after `considered` (when the subscriber's previous digest was planned: a source
        that was down that day, then fetched later), so that they arrive late, not never."""
        sources, day = subscriber.sources, self.day
        papers = self.cache.listed(self.store, (day, start, sources))
        extra: list[Paper] = []
        if considered is not None:
            horizon = day - dt.timedelta(days=MAX_CATCH_UP_DAYS - 1)
            extra = self.cache.stored_after(self.store, (day, horizon, sources), considered)
            if extra:
                known = {p.id for p in papers}
                extra = [p for p in extra if p.id not in known]
        candidates = papers + extra
        return self.cache.index((day, tuple(p.id for p in candidates)), candidates, self.embedder)

    def rank(self, subscriber: Subscriber, start: dt.date, *, explain: bool = False,
             max_papers: int | None = None, late: bool = True) -> Ranking:
        """Rank the subscriber's unseen candidate papers against their profile (with `late`,
        also papers stored after their previous digest was planned, see `pool`)."""
        considered = _earlier(self.store, subscriber, self.day).last_planned_at if late else None
        return self._rank(subscriber, start, considered, explain=explain, max_papers=max_papers)

    def _rank(self, subscriber: Subscriber, start: dt.date, considered: dt.datetime | None, *,
              explain: bool = False, max_papers: int | None = None) -> Ranking:
        profile = subscriber.profile
        if max_papers is not None:
            profile = replace(profile, max_papers=max_papers)
        pool = self.pool(subscriber, start, considered)
        return matching.rank(profile, pool.candidates, seen=self.seen(subscriber, pool),
                             liked_papers=self._liked(profile), explain=explain)

    def seen(self, subscriber: Subscriber, pool: Pool) -> set[str]:
        """The subscriber's sent papers among (at least) the pool's candidates: what their
        recent digests sent (`Store.seen_ids`), and which of the few older ones were sent; the
        cost stays flat as the history grows."""
        found = self.store.seen_ids(subscriber.key, since=pool.seen_since)
        if pool.listed_before:
            found |= self.store.seen_among(subscriber.key, pool.listed_before)
        return found

    def _liked(self, profile: Profile) -> list[Paper]:
        return self.store.papers_by_id(profile.liked) if profile.liked else []

    def plan(self, subscriber: Subscriber, now: dt.datetime, *, write: bool = True) -> Planned:
        """The digest of (subscriber, day): the stored one if it exists, else a fresh ranking."""
        return self.plan_many([subscriber], lambda: now, write=write)[0]

    def plan_many(self, subscribers: Sequence[Subscriber], clock: Callable[[], dt.datetime], *,
                  write: bool = True) -> list[Planned]:
        """`plan` for many subscribers, in their order; those with a fresh ranking are ranked
        together (`matching.rank_many`, one call per set of candidates), which costs a
        fraction of ranking them one by one. Each plan is written in its own transaction."""
        store, day = self.store, self.day
        planned: dict[int, Planned] = {}
        fresh: dict[int, tuple[dt.date, matching.Candidates, matching.Request]] = {}
        for i, subscriber in enumerate(subscribers):
            row = store.digest(subscriber.key, day)
            if row is not None and row.state is not DigestState.EMPTY:
                papers = tuple(store.digest_papers(row.id))
                digest = Digest(subscriber, day, row.window_start, papers, row.message_id)
                planned[i] = Planned(digest, row)
                continue
            earlier = _earlier(store, subscriber, day)
            start = _window_start(subscriber, day, earlier)
            profile = subscriber.profile
            pool = self.pool(subscriber, start, earlier.last_planned_at)
            request = matching.Request(profile, self.seen(subscriber, pool), self._liked(profile))
            fresh[i] = start, pool.candidates, request
        picked = _rank_groups(fresh)
        for i, (start, _, _) in fresh.items():
            planned[i] = self._write(subscribers[i], start, picked[i], clock(), write)
        return [planned[i] for i in range(len(subscribers))]

    def _write(self, subscriber: Subscriber, start: dt.date, picked: tuple[RankedPaper, ...],
               now: dt.datetime, write: bool) -> Planned:
        assert self.settings is not None, "planning a digest needs the sender's address"
        store, day = self.store, self.day
        message_id = make_message_id(subscriber, day, self.settings.from_address)
        digest = Digest(subscriber, day, start, picked, message_id)
        if not write:
            return Planned(digest, None)
        note = subscriber.on_empty is OnEmpty.NOTE
        row = store.plan(subscriber.key, day, start, message_id, picked, now, note=note)
        return Planned(Digest(subscriber, day, row.window_start, picked, row.message_id), row)


def _rank_groups(
    fresh: dict[int, tuple[dt.date, matching.Candidates, matching.Request]],
) -> dict[int, tuple[RankedPaper, ...]]:
    """The picks of each subscriber to rank, ranked a group per set of candidates."""
    groups: dict[int, list[int]] = {}
    for i, (_, candidates, _) in fresh.items():
        groups.setdefault(id(candidates), []).append(i)
    picked: dict[int, tuple[RankedPaper, ...]] = {}
    for members in groups.values():
        candidates = fresh[members[0]][1]
        rankings = matching.rank_many([fresh[i][2] for i in members], candidates)
        picked.update((i, r.picked) for i, r in zip(members, rankings, strict=True))
    return picked


def rank_for(
    store: Store, subscriber: Subscriber, start: dt.date, day: dt.date, *, explain: bool = False,
    max_papers: int | None = None, late: bool = True, settings: Settings | None = None,
) -> Ranking:
    """Rank one subscriber's unseen candidate papers (for many, share one `Planner`); the
    `settings` choose the ranker (lexical without them)."""
    return Planner(store, settings, day).rank(subscriber, start, explain=explain,
                                              max_papers=max_papers, late=late)


@dataclass(frozen=True, slots=True)
class Planned:
    """A digest as planning saw it; `row` is None in a dry run (nothing is written)."""

    digest: Digest
    row: DigestRow | None


def empty_reasons(store: Store, subscriber: Subscriber, start: dt.date, day: dt.date) -> list[str]:
    """Why a digest has nothing new, for the subscriber's note: the days nothing was fetched
    for, what the fetches of the others recorded, and whether any papers came at all."""
    wanted = {s.value for s in subscriber.sources}
    reasons = [f"no papers were collected for {_span(first, last, '%d %b')}"
               for first, last in _runs(unfetched_days(store, subscriber, start, day))]
    listed = False
    for current in _days(start, day):
        listed = listed or bool(wanted & store.sources_listed(current))
        for source, status, detail in store.fetch_outcomes(current):
            if source not in wanted:
                continue
            name = _SOURCE_NAMES.get(source, source)
            if status == "error":
                reasons.append(f"{name} could not be fetched for {current:%d %b} ({detail}); "
                               "its papers will come in a later digest")
            elif status == "empty":
                reasons.append(f"{name} announced no papers on {current:%d %b}")
    if listed or not reasons:
        reasons.append("none of the new papers matched your topics")
    return reasons


def fetch_hint(store: Store, subscriber: Subscriber, start: dt.date, day: dt.date) -> str:
    """For the operator, what to run when a digest is empty because days of it were never
    fetched ("no papers stored for 2025-09-15; run `newsletter fetch --date 2025-09-15`");
    "" when every day was."""
    days = unfetched_days(store, subscriber, start, day)
    if not days:
        return ""
    spans = ", ".join(_span(first, last, "%Y-%m-%d") for first, last in _runs(days))
    command = (f"`newsletter fetch --date {days[0]:%Y-%m-%d}`" if len(days) == 1
               else "`newsletter fetch --date DAY` for each day")
    return f"no papers stored for {spans}; run {command}"


def unfetched_days(store: Store, subscriber: Subscriber, start: dt.date,
                   day: dt.date) -> list[dt.date]:
    """The days of [start, day] of which nothing is stored from the subscriber's sources: no
    fetch recorded them (not even as empty or failed) and no paper is listed on them."""
    missing = []
    for current in _days(start, day):
        expected = {s.value for s in subscriber.sources if _lists_on(s, current)}
        if not expected:
            continue
        stored = {source for source, _, _ in store.fetch_outcomes(current)}
        if not expected & (stored | store.sources_listed(current)):
            missing.append(current)
    return missing


_SOURCE_NAMES = {"hf": "Hugging Face", "arxiv": "arXiv"}


def _lists_on(source: Source, day: dt.date) -> bool:
    """Whether a source has a listing that day at all: arXiv announces Monday to Friday (its
    weekend is no missing fetch)."""
    return source is not Source.ARXIV or day.weekday() < 5


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def _runs(days: Sequence[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Sorted days as (first, last) of each run of consecutive ones."""
    runs: list[tuple[dt.date, dt.date]] = []
    for current in days:
        if runs and runs[-1][1] + dt.timedelta(days=1) == current:
            runs[-1] = (runs[-1][0], current)
        else:
            runs.append((current, current))
    return runs


def _span(first: dt.date, last: dt.date, form: str) -> str:
    return f"{first:{form}}" if first == last else f"{first:{form}} to {last:{form}}"


def render_digest(store: Store, renderer: Renderer, digest: Digest, manage: str) -> RenderedDigest:
    """The digest; or, when it is empty and the subscriber wants one, the note saying why (what
    `send` sends and `preview` shows)."""
    subscriber = digest.subscriber
    if digest.papers or subscriber.on_empty is not OnEmpty.NOTE:
        return renderer.render(digest, manage)
    reasons = empty_reasons(store, subscriber, digest.window_start, digest.digest_date)
    return renderer.render_note(subscriber, digest.digest_date, reasons, manage)


@dataclass(frozen=True, slots=True)
class Preview:
    """What `send` would plan that day (`planned`), and the digest shown, built without writing
    anything: the same one, or another ranking when `preview` was asked for one."""

    planned: Planned
    digest: Digest
    rendered: RenderedDigest
    message: EmailMessage
    excluded: tuple[Excluded, ...]


def preview(
    store: Store, settings: Settings, renderer: Renderer, subscriber: Subscriber, day: dt.date,
    now: dt.datetime, *, lookback: int | None = None, max_papers: int | None = None,
    explain: bool = False,
) -> Preview:
    """Plan without writing; with `lookback` (that many days ending on `day`), `max_papers` or
    `explain`, show a ranking made for them instead, still beside the plan `send` would use."""
    planner = Planner(store, settings, day)
    planned = planner.plan(subscriber, now, write=False)
    digest = planned.digest
    excluded: tuple[Excluded, ...] = ()
    if lookback is not None or max_papers is not None or explain:
        start = (day - dt.timedelta(days=lookback - 1) if lookback
                 else window_start(store, subscriber, day))
        ranking = planner.rank(subscriber, start, explain=explain, max_papers=max_papers,
                               late=lookback is None)
        message_id = make_message_id(subscriber, day, settings.from_address)
        digest = Digest(subscriber, day, start, ranking.picked, message_id)
        excluded = ranking.excluded
    rendered = render_digest(store, renderer, digest, manage_hint(settings))
    message = build_message(rendered, subscriber, settings, digest.message_id, now)
    return Preview(planned, digest, rendered, message, excluded)
