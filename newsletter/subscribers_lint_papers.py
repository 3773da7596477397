"""Profiles checked against the stored papers (`subscribers validate`): what the file alone
cannot tell.

A topic or exclude word that none of the latest papers has, when they often have a word one
typo away, is likely a typo ("diffusion modles"): the ranker would match the phrase only in
part, or exclude nothing. That takes many papers (the titles, abstracts and keywords of the
latest VOCABULARY_PAPERS, at least MIN_VOCABULARY): in a few days' papers, "clinical" and
"molecular" are missing too. Real words one letter apart are many ("remote", "remove"), so a
guess must be a word the papers use often, a changed letter counts only in a long word, and
acronyms and short words are not guessed at.

A topic that most papers have ("language models") tells few of them apart, so the digest is a
list of near misses; an exclude phrase that leaves out a large share of the papers
("reasoning") may leave out more than its author meant. Those shares are measured on the papers
of the subscriber's sources listed in the WINDOW_DAYS days up to their latest listing day (the
latest MAX_PAPERS of them, indexed as the ranker indexes them), when there are at least
MIN_PAPERS.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
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
MIN_TYPO_LETTERS = 5  # shorter words ("font", "lane", "GAN") are too alike to guess at
MIN_CHANGED_LETTERS = 8  # a changed letter is a typo only in a word this long ("optical")
COMMON_GUESS = 0.005  # a guess must be in this share of the papers read (at least twice)
_LETTERS = re.compile(rf"\b[a-z]{{{MIN_TYPO_LETTERS},}}\b")  # words of letters only, long enough


@dataclass
class Vocabulary:
    """The words of the latest stored papers: how often each is there, and their stems."""

    counts: Counter[str]
    stems: frozenset[str]
    guesses: list[str]  # the words often used, to guess a typo's meaning from
    papers: int  # how many papers the words come from


@dataclass
class Window:
    """The recent papers of a set of sources, indexed as the ranker indexes a day's papers."""

    candidates: Candidates
    start: dt.date
    end: dt.date
    listed: int  # papers listed in the window, of which `candidates` are the latest

    def __str__(self) -> str:
        span = f"{self.start} to {self.end}"
        kept = len(self.candidates)
        if self.listed > kept:
            return f"the latest {kept:,} of the {self.listed:,} papers listed {span}"
        return f"the {kept:,} papers listed {span}"


class StoredPapers:
    """What the checks read from the store, each read once: the recent window of each set of
    sources, and the words of the latest papers."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._windows: dict[frozenset[Source], Window | None] = {}
        self._vocabulary: Vocabulary | None = None

    def window(self, sources: frozenset[Source]) -> Window | None:
        """The recent papers of these sources, or None when fewer than MIN_PAPERS are stored."""
        if sources not in self._windows:
            self._windows[sources] = self._read_window(sources)
        return self._windows[sources]

    def _read_window(self, sources: frozenset[Source]) -> Window | None:
        end = self._store.latest_listing_day(sources)
        if end is None:
            return None
        start = end - dt.timedelta(days=WINDOW_DAYS - 1)
        listed = self._store.count_listed(start, end, sources)
        if listed < MIN_PAPERS:
            return None
        papers = self._store.papers_listed(start, end, sources, latest=MAX_PAPERS)
        return Window(Candidates.build(papers, today=end), start, end, listed)

    def vocabulary(self) -> Vocabulary:
        """The words of MIN_TYPO_LETTERS letters or more (lower case) in the titles, abstracts
        and keywords of the latest papers; none when fewer than MIN_VOCABULARY are stored."""
        if self._vocabulary is None:
            texts = self._store.recent_texts(VOCABULARY_PAPERS)
            counts: Counter[str] = Counter()
            if len(texts) >= MIN_VOCABULARY:
                for text in texts:
                    counts.update(_LETTERS.findall(textmatch.join_prefixes(text).lower()))
            stems = frozenset(stem for word in counts for stem in textmatch.word_stems(word))
            common = max(2, COMMON_GUESS * len(texts))
            guesses = [word for word, count in counts.items()
                       if count >= common and word not in textmatch.STOPWORDS]
            self._vocabulary = Vocabulary(counts, stems, guesses, len(texts))
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
        vocabulary = stored.vocabulary()
        for word, meant in _typos(phrase, vocabulary):
            yield (f"{kind} \"{phrase}\": \"{word}\" is in none of the {vocabulary.papers:,} "
                   f"latest papers; did you mean \"{meant}\"?")
    if not (profile.topics or profile.exclude):
        return
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
    """The words of a phrase (as written) none of the papers has, each with the word it most
    likely meant: one the papers often use, one letter added, dropped or changed (in a long
    word), or two swapped, away (`_edits`); the most frequent of those ("modles": "models",
    not "modules")."""
    words = vocabulary.counts
    if not words:
        return
    written = {textmatch.fold(w).lower(): w for w in reversed(re.findall(r"\w+", phrase))}
    for unit in variants(phrase)[0].units:
        word = unit.word.lower()
        as_written = written.get(word, unit.word)
        if (len(word) < MIN_TYPO_LETTERS or not word.isalpha() or word in words
                or textmatch.is_acronym_shaped(as_written)  # "QLoRA", "vLLM", "CUDA"
                or unit.stems != textmatch.word_stems(word)  # an acronym, expanded
                or any(stem in vocabulary.stems for stem in unit.stems)):
            continue
        near = difflib.get_close_matches(word, vocabulary.guesses, n=10, cutoff=CLOSE_SPELLING)
        scored = [(-words[other], other) for other in near if _one_typo(word, other)]
        if scored:
            meant = min(scored)[1]
            yield as_written, meant.capitalize() if as_written[0].isupper() else meant


def _one_typo(word: str, other: str) -> bool:
    """Whether `other` is one typo from `word`: a letter added or dropped, two side by side
    swapped, or (in a word of MIN_CHANGED_LETTERS or more) one letter changed; not in the last
    letter, where words differ by their form ("optimizer", "optimized"; "compiler",
    "compile")."""
    if _edits(word, other) != 1:
        return False
    shorter = min(len(word), len(other))
    same = next((i for i in range(shorter) if word[i] != other[i]), shorter)
    if same >= shorter - 1:
        return False
    changed = len(word) == len(other) and sorted(word) != sorted(other)
    return not changed or len(word) >= MIN_CHANGED_LETTERS


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
