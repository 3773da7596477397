"""Profiles checked against the stored papers (`subscribers validate`): what the file alone
cannot tell.

A topic or exclude word that no stored paper has, when they have a word one typo apart, is
likely a typo ("diffusion modles"): the ranker would match the phrase only in part,
or exclude nothing. That takes many papers (the latest VOCABULARY_PAPERS, at least
MIN_VOCABULARY): in a few days' papers, "clinical" and "molecular" are missing too.

A topic that most papers have ("language models") tells few of them apart, so the digest is a
list of near misses; an exclude phrase that leaves out a large share of the papers
("reasoning") may leave out more than its author meant. Those shares are measured on the papers
of the subscriber's sources listed in the WINDOW_DAYS days up to the latest listing day stored
(the latest MAX_PAPERS of them, indexed as the ranker indexes them), when there are at least
MIN_PAPERS.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from newsletter import textmatch
from newsletter.matching import Candidates
from newsletter.models import Profile, Source, Subscriber
from newsletter.ranking_phrases import complete
from newsletter.store import Store
from newsletter.textmatch_phrases import variants

WINDOW_DAYS = 7
MAX_PAPERS = 1000  # indexing takes about a second per 700 papers; validate stays quick
MIN_PAPERS = 30
COMMON_TOPIC = 1 / 3  # a topic whole in this share of the papers tells few of them apart
BROAD_EXCLUDE = 0.25  # an exclude phrase that leaves out this share is said
VOCABULARY_PAPERS = 5000
MIN_VOCABULARY = 250  # about a month of Hugging Face's daily papers
CLOSE_SPELLING = 0.7  # difflib's ratio of a word to the spellings it may have meant
MIN_TYPO_LETTERS = 4  # shorter words (acronyms, "GAN") are too alike to guess at


@dataclass
class Vocabulary:
    """The words of the latest stored papers: how often each is there, and their stems."""

    counts: Counter[str]
    stems: frozenset[str]


@dataclass
class Window:
    """The recent papers of a set of sources, indexed as the ranker indexes a day's papers."""

    candidates: Candidates
    start: dt.date
    end: dt.date

    def __str__(self) -> str:
        span = f"on {self.end}" if self.start == self.end else f"{self.start} to {self.end}"
        return f"the {len(self.candidates):,} papers listed {span}"


class StoredPapers:
    """What the checks read from the store, each read once: the recent window of each set of
    sources, and the words of the latest papers."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._end = store.latest_listing_day()
        self._windows: dict[frozenset[Source], Window | None] = {}
        self._vocabulary: Vocabulary | None = None

    def window(self, sources: frozenset[Source]) -> Window | None:
        """The recent papers of these sources, or None when fewer than MIN_PAPERS are stored."""
        if sources not in self._windows:
            self._windows[sources] = self._read_window(sources)
        return self._windows[sources]

    def _read_window(self, sources: frozenset[Source]) -> Window | None:
        if self._end is None:
            return None
        start = self._end - dt.timedelta(days=WINDOW_DAYS - 1)
        papers = self._store.papers_listed(start, self._end, sources)[-MAX_PAPERS:]
        if len(papers) < MIN_PAPERS:
            return None
        return Window(Candidates.build(papers, today=self._end), start, self._end)

    def vocabulary(self) -> Vocabulary:
        """The words of MIN_TYPO_LETTERS letters or more (lower case) in the titles and
        abstracts of the latest papers; none when fewer than MIN_VOCABULARY are stored."""
        if self._vocabulary is None:
            texts = self._store.recent_texts(VOCABULARY_PAPERS)
            counts: Counter[str] = Counter()
            if len(texts) >= MIN_VOCABULARY:
                for text in texts:
                    words = textmatch.WORD.findall(textmatch.join_prefixes(text))
                    counts.update(word.lower() for word in words
                                  if len(word) >= MIN_TYPO_LETTERS and word.isalpha())
            stems = frozenset(stem for word in counts for stem in textmatch.word_stems(word))
            self._vocabulary = Vocabulary(counts, stems)
        return self._vocabulary


def paper_warnings(subscribers: Sequence[Subscriber], stored: StoredPapers) -> list[str]:
    """One line per problem found against the stored papers, naming the subscriber."""
    lines: list[str] = []
    for subscriber in subscribers:
        lines.extend(f"{subscriber.email}: {problem}"
                     for problem in _problems(subscriber, stored))
    return lines


def _problems(subscriber: Subscriber, stored: StoredPapers) -> Iterator[str]:
    profile = subscriber.profile
    for kind, phrase in _phrases(profile):
        for word, meant in _typos(phrase, stored.vocabulary()):
            yield f"{kind} \"{phrase}\": no stored paper has \"{word}\"; did you mean \"{meant}\"?"
    window = stored.window(subscriber.sources)
    if window is None:
        return
    candidates = window.candidates
    for topic in profile.topics:
        share = float(complete(topic.phrase, candidates.evidence, whole=True).mean())
        if share >= COMMON_TOPIC:
            yield (f"topic \"{topic.phrase}\" is in {share:.0%} of {window}: it tells few of "
                   "them apart (a narrower phrase ranks better)")
    for phrase in profile.exclude:
        share = len(candidates.exclusion(phrase)[0]) / len(candidates)
        if share >= BROAD_EXCLUDE:
            yield (f"exclude \"{phrase}\" leaves out {share:.0%} of {window} (a narrower phrase "
                   "leaves out less)")


def _phrases(profile: Profile) -> Iterator[tuple[str, str]]:
    yield from (("topic", topic.phrase) for topic in profile.topics)
    yield from (("exclude", phrase) for phrase in profile.exclude)


def _typos(phrase: str, vocabulary: Vocabulary) -> Iterator[tuple[str, str]]:
    """The words of a phrase no stored paper has, each with the stored word it most likely
    meant: one letter added, dropped or changed, or two swapped, away (`_edits`), the most
    frequent of those ("modles": "models", not "modules")."""
    words = vocabulary.counts
    if not words:
        return
    for unit in variants(phrase)[0].units:
        word = unit.word.lower()
        if (len(word) < MIN_TYPO_LETTERS or not word.isalpha() or word in words
                or unit.stems != textmatch.word_stems(word)  # an acronym, expanded
                or any(stem in vocabulary.stems for stem in unit.stems)):
            continue
        near = difflib.get_close_matches(word, words, n=10, cutoff=CLOSE_SPELLING)
        scored = [(_edits(word, other), -words[other], other) for other in near]
        best = min((score for score in scored if score[0] == 1), default=None)
        if best is not None:
            meant = best[2]
            yield unit.word, meant.capitalize() if unit.word[0].isupper() else meant


def _edits(a: str, b: str) -> int:
    """Letters added, dropped, changed, or two side by side swapped, to make `a` into `b`
    (the optimal string alignment distance)."""
    before: list[int] = []
    previous, row = before, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        before, previous, row = previous, row, [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1,
                         previous[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], before[j - 2] + 1)
    return row[len(b)]
