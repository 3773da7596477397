"""Fetching: pull each source (or import recorded files) and store what it gave.

A failing source is recorded and reported; the others go on, and the papers it missed arrive in
a later digest (the digest window stretches back to the last digest sent).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from newsletter import sources
from newsletter.config import Settings
from newsletter.errors import SourceError
from newsletter.models import Source
from newsletter.sources.http import Cached
from newsletter.store import Store, UpsertCounts

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True, slots=True)
class FetchReport:
    """What one source (or one imported file) gave, for `newsletter fetch` to print."""

    source: Source
    label: str
    listed_on: dt.date | None
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    skipped: tuple[str, ...] = ()
    empty_day: bool = False
    error: str | None = None


def store_batch(store: Store, batch: sources.Batch, label: str, now: dt.datetime) -> FetchReport:
    """Store one batch and remember the fetch; an empty announcement day is recorded as such."""
    counts = store.upsert_papers(batch.papers, batch.source, now)
    status = "empty" if not batch.papers else "ok"
    detail = f"{len(batch.skipped)} skipped" if batch.skipped else ""
    store.record_fetch(batch.source, batch.listed_on, now, status, counts, len(batch.skipped),
                       detail)
    return FetchReport(batch.source, label, batch.listed_on, counts, batch.skipped,
                       batch.empty_day or not batch.papers)


def import_files(
    store: Store, paths: Sequence[Path], listed_on: dt.date | None, clock: Clock
) -> list[FetchReport]:
    """`fetch --file`: import recorded responses; a bad file raises `InputError` before storing."""
    batches = [(path, sources.load_file(path, listed_on)) for path in paths]
    return [store_batch(store, batch, str(path), clock()) for path, batch in batches]


class LedgerCache:
    """The HTTP validator cache kept in the ledger, so conditional requests survive restarts."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store, self.clock = store, clock

    def get(self, url: str) -> Cached | None:
        kept = self.store.cached_response(url)
        return None if kept is None else Cached(*kept)

    def put(self, url: str, entry: Cached) -> None:
        self.store.keep_response(url, entry.body, entry.etag, entry.last_modified, self.clock())


def fetch_sources(
    store: Store, settings: Settings, wanted: Iterable[Source], day: dt.date,
    categories: Sequence[str], clock: Clock,
) -> list[FetchReport]:
    """Fetch each source for a listing day; a failing source is recorded and the others go on."""
    reports = []
    for source in wanted:
        try:
            batch = sources.fetch(source, day, settings, categories=categories,
                                  cache=LedgerCache(store, clock))
        except SourceError as exc:
            log.warning("source %s failed for %s: %s", source.value, day, exc)
            store.record_fetch(source, day, clock(), "error", detail=str(exc))
            reports.append(FetchReport(source, source.value, day, error=str(exc)))
            continue
        reports.append(store_batch(store, batch, source.value, clock()))
    return reports


