"""One paper's text as the ranker counts it: stems and pairs of stems, weighted by field.

Every field (title, abstract, AI summary, keywords) goes through `textmatch.analyse` with the
acronyms the paper defines itself, so "Mixture-of-Experts (MoE)" and a later "MoE" count alike.
Counts are field-weighted (title > keywords > AI summary > abstract, as in BM25F); the title and
the abstract are also kept apart, because a phrase in the title says what a paper is about, and
a phrase said once in the abstract is often only a part it uses (see `ranking_phrases`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
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


@functools.lru_cache(maxsize=8192)
def analyse_paper(paper: Paper) -> PaperText:
    """Count a paper's stems and stem pairs; memoised, as the windows of a run share papers and
    the same liked papers come back day after day."""
    title, abstract, summary, keywords = _fields(paper)
    counts = [_count(field) for field in (title, abstract, summary, keywords)]
    terms: dict[str, float] = {}
    pairs: dict[Pair, float] = {}
    for weight, (own, side, apart) in zip(_WEIGHTS, counts, strict=True):
        _add(terms, own, weight)
        _add(pairs, side, weight)
        _add(pairs, apart, weight * GAP_WEIGHT)
    own, side, apart = counts[1]
    said = dict(side)
    _add(said, apart, 1.0)
    titled = counts[0]
    return PaperText(
        terms, pairs, frozenset(titled[0]), frozenset(titled[1]) | titled[2].keys(), own, said
    )


def _fields(paper: Paper) -> tuple[Sentences, Sentences, Sentences, Sentences]:
    """A paper's title, abstract, AI summary and keywords as sentences of stems, with the
    acronyms it defines ("Mixture-of-Experts (MoE)") expanded everywhere."""
    local = textmatch.find_definitions(f"{paper.title}. {paper.abstract}")
    title = textmatch.analyse(paper.title, local)
    abstract = textmatch.analyse(textmatch.strip_definitions(paper.abstract), local)
    summary = textmatch.analyse(paper.ai_summary or "", local)
    keywords = [s for k in paper.ai_keywords for s in textmatch.analyse(k, local)]
    return title, abstract, summary, keywords


def _count(field: Sentences) -> tuple[dict[str, float], dict[Pair, float], dict[Pair, float]]:
    """How often a field has each stem, each pair of stems side by side, and each pair one
    word apart."""
    terms: dict[str, float] = {}
    side: dict[Pair, float] = {}
    apart: dict[Pair, float] = {}
    for sentence in field:
        for i, term in enumerate(sentence):
            terms[term] = terms.get(term, 0.0) + 1.0
            for other, found in zip(sentence[i + 1 : i + 3], (side, apart), strict=False):
                if other != term:
                    key = pair(term, other)
                    found[key] = found.get(key, 0.0) + 1.0
    return terms, side, apart


def _add(total: dict[K, float], counts: dict[K, float], weight: float) -> None:
    """Add weight * counts to the total, key by key."""
    for key, count in counts.items():
        total[key] = total.get(key, 0.0) + weight * count
