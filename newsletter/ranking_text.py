"""One paper's text as the ranker counts it: stems and pairs of stems, weighted by field.

Every field (title, abstract, AI summary, keywords) goes through `textmatch.analyse` with the
acronyms the paper defines itself, so "Mixture-of-Experts (MoE)" and a later "MoE" count alike.
Counts are field-weighted (title > keywords > AI summary > abstract, as in BM25F); the title and
the abstract are also kept apart, because a phrase in the title says what a paper is about, and
a phrase said once in the abstract is often only a part it uses (see `ranking_phrases`).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import chain
from typing import TypeVar

from newsletter import textmatch
from newsletter.models import Paper

# Weight of one occurrence of a word in each field (a field-weighted term frequency).
TITLE_WEIGHT = 3.0
KEYWORD_WEIGHT = 2.0
SUMMARY_WEIGHT = 1.5
ABSTRACT_WEIGHT = 1.0
GAP_WEIGHT = 0.6  # two words one word apart count this much of two words side by side

Pair = tuple[str, str]
Sentences = list[list[str]]
K = TypeVar("K", str, Pair)
_WEIGHTS = (TITLE_WEIGHT, ABSTRACT_WEIGHT, SUMMARY_WEIGHT, KEYWORD_WEIGHT)


def pair(a: str, b: str) -> Pair:
    """Pairs are unordered: "image editing" and "editing of images" are the same evidence."""
    return (a, b) if a < b else (b, a)


@dataclass(frozen=True, slots=True)
class PaperText:
    """The counts the index is built from.

    `terms` and `pairs` are field-weighted counts of stems and of stem pairs at most one word
    apart; `title_*` say which are in the title; `abstract_*` count them in the abstract alone.
    """

    terms: dict[str, float]
    pairs: dict[Pair, float]
    title_terms: frozenset[str]
    title_pairs: frozenset[Pair]
    abstract_terms: dict[str, float]
    abstract_pairs: dict[Pair, float]


def analyse_paper(paper: Paper) -> PaperText:
    """Count a paper's stems and stem pairs (see `_analyse`)."""
    return _analyse(paper.title, paper.abstract, paper.ai_summary, paper.ai_keywords)


@functools.lru_cache(maxsize=8192)
def _analyse(
    title: str, abstract: str, summary: str | None, keywords: tuple[str, ...]
) -> PaperText:
    """Count the stems and stem pairs of a paper's text; memoised by the text, as the windows
    of a run share papers, the same liked papers come back day after day, and a paper
    fetched again with new votes (or under another id) says the same."""
    fields = _fields(title, abstract, summary, keywords)
    counts = [_count(field) for field in fields]
    terms: dict[str, float] = {}
    pairs: dict[Pair, float] = {}
    for weight, (own, side, apart) in zip(_WEIGHTS, counts, strict=True):
        _add(terms, own, weight)
        _add(pairs, side, weight)
        _add(pairs, apart, weight * GAP_WEIGHT)
    own, side, apart = counts[1]
    said_terms: dict[str, float] = {}
    _add(said_terms, own, 1.0)
    said: dict[Pair, float] = {}
    _add(said, side, 1.0)
    _add(said, apart, 1.0)
    title_terms, title_side, title_apart = counts[0]
    title_pairs = frozenset(title_side) | title_apart.keys()
    return PaperText(terms, pairs, frozenset(title_terms), title_pairs, said_terms, said)


def analyse_terms(paper: Paper) -> dict[str, float]:
    """A paper's field-weighted stem counts alone (`PaperText.terms`): what a liked paper that
    is not a candidate (one read days ago) is compared by, in a third of the time."""
    return _terms(paper.title, paper.abstract, paper.ai_summary, paper.ai_keywords)


@functools.lru_cache(maxsize=8192)
def _terms(title: str, abstract: str, summary: str | None, keywords: tuple[str, ...]
           ) -> dict[str, float]:
    terms: dict[str, float] = {}
    for weight, field in zip(_WEIGHTS, _fields(title, abstract, summary, keywords), strict=True):
        _add(terms, Counter(chain.from_iterable(field)), weight)
    return terms


def _fields(
    title: str, abstract: str, summary: str | None, keywords: tuple[str, ...]
) -> tuple[Sentences, Sentences, Sentences, Sentences]:
    """A paper's title, abstract, AI summary and keywords as sentences of stems, with the
    acronyms it defines ("Mixture-of-Experts (MoE)") expanded everywhere, accents folded."""
    title, abstract, summary = textmatch.fold(title), textmatch.fold(abstract), summary or ""
    summary, keywords = textmatch.fold(summary), tuple(map(textmatch.fold, keywords))
    local = textmatch.find_definitions(f"{title}. {abstract}")
    return (
        textmatch.analyse(title, local),
        textmatch.analyse(textmatch.strip_definitions(abstract), local),
        textmatch.analyse(textmatch.strip_definitions(summary), local),
        [s for k in keywords for s in textmatch.analyse(textmatch.strip_definitions(k), local)],
    )


def _count(field: Sentences) -> tuple[Counter[str], Counter[Pair], Counter[Pair]]:
    """How often a field has each stem, each pair of stems side by side, and each pair one
    word apart (a stem beside itself is no pair)."""
    terms = Counter(chain.from_iterable(field))
    side = Counter(chain.from_iterable(_pairs(sentence, 1) for sentence in field))
    apart = Counter(chain.from_iterable(_pairs(sentence, 2) for sentence in field))
    for found in (side, apart):
        for same in [key for key in found if key[0] == key[1]]:
            del found[same]
    return terms, side, apart


def _pairs(sentence: list[str], gap: int) -> Iterator[Pair]:
    """The pairs of stems `gap` words apart (see `pair`; a stem and itself included), made
    without a Python call per pair."""
    later = sentence[gap:]
    return zip(map(min, sentence, later), map(max, sentence, later), strict=True)


def _add(total: dict[K, float], counts: Mapping[K, float], weight: float) -> None:
    """Add weight * counts to the total, key by key."""
    known = total.get
    for key, count in counts.items():
        total[key] = known(key, 0.0) + weight * count
