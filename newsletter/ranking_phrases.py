"""Match one profile phrase against every candidate at once: a score in [0, 1) per paper.

A phrase is matched through its variants (`textmatch.variants`: the phrase, the parts of a
coordination, synonyms). Each variant blends two things, both IDF-weighted and saturated so that
repeats add less and less: its words found anywhere in the paper (the "bag"), and its best run
of words that stand side by side or one word apart (the "links"). The best variant wins, paper by
paper.

A match that shows the phrase is not what the paper is about counts COMPONENT_FACTOR of its
score (`ranking_evidence`): the phrase is not whole in the title, and the abstract says it at
most once ("we add a mixture-of-experts adapter") or has only some of its words. Keywords and
the AI summary are left out of that count: they are written from the abstract and repeat it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from itertools import pairwise
from typing import NamedTuple

import numpy as np

from newsletter import textmatch
from newsletter.ranking_evidence import Evidence, Signal, passing
from newsletter.ranking_index import Index, Mask, Vector, shared
from newsletter.ranking_text import Pair, pair

BAG_SHARE = 0.5  # share of a topic's match from its words anywhere; the rest from words together
SYNONYM_FACTOR = 0.8  # a match through textmatch.SYNONYMS counts this much
MIN_TOPIC = 0.04  # topic matches below this are noise and dropped


@dataclass(frozen=True, slots=True)
class Phrase:
    """One way to match a profile phrase (itself, a part of it, or with a synonym swapped in).

    `units` are its words as textmatch analysed them, and `stems` their stems (the words' keys
    in `Evidence`); `links[i]` are the stem pairs that put word i and word i + 1 side by side,
    in either order; `sources` say which words of the phrase each word stands for, and
    `sharing` by how many words each source is shared; `swapped` are the words a synonym
    brought in, which count only all together; `factor` discounts synonyms.
    """

    units: tuple[textmatch.Unit, ...]
    stems: tuple[tuple[str, ...], ...]
    links: tuple[tuple[Pair, ...], ...]
    sources: tuple[tuple[int, ...], ...]
    sharing: tuple[int, ...]
    swapped: tuple[int, ...]
    factor: float


def _compile(variant: textmatch.Variant) -> Phrase:
    """Turn a textmatch variant into what the matcher needs."""
    stems = tuple([unit.stems for unit in variant.units])
    links = tuple([_link(a, b) for a, b in pairwise(stems)])
    sources = variant.sources
    if variant.synonym:
        sharing, factor = tuple([sources.count(src) for src in sources]), SYNONYM_FACTOR
    else:
        sharing, factor = _ONCE[: len(sources)], 1.0
    return Phrase(variant.units, stems, links, sources, sharing, variant.swapped, factor)


_ONCE = (1,) * textmatch.MAX_PHRASE_WORDS  # no word is shared when no synonym came in


def _link(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[Pair, ...]:
    """The stem pairs that put word a and word b side by side, in either order."""
    forward, backward = pair(a[-1], b[0]), pair(b[-1], a[0])
    return (forward,) if forward == backward else tuple(sorted((forward, backward)))


@functools.lru_cache(maxsize=65536)
def variants(text: str) -> tuple[Phrase, ...]:
    """The ways to match a phrase (see `textmatch.variants`), compiled once per process."""
    return tuple(map(_compile, textmatch.variants(text)))


class PhraseMatch(NamedTuple):
    """A phrase matched against every candidate: the best score of its variants, and each
    variant's own scores (to tell, for the reasons, which variant a paper matched)."""

    score: Vector
    each: list[Vector]


def match(index: Index, text: str, evidence: Evidence) -> PhraseMatch:
    """Match every variant of a phrase against every candidate and keep the best per paper."""
    found = variants(text)
    if not found or not found[0].units:
        return PhraseMatch(shared(np.zeros(len(index))), [])
    own = [sum(map(index.idf_of, stems)) / len(stems) for stems in found[0].stems]
    each = [shared(_match_variant(p, _variant_idfs(own, p), evidence)) for p in found]
    best = each[0]
    for other in each[1:]:
        best = np.maximum(best, other)
    best = best * (best >= MIN_TOPIC)  # matches below MIN_TOPIC dropped (x * False is 0.0)
    return PhraseMatch(shared(best), each)


def _variant_idfs(own: list[float], phrase: Phrase) -> list[float]:
    """IDF of a variant's words: a word swapped in shares the weight of the words it replaces,
    so a synonym neither adds nor removes importance."""
    return [
        sum(map(own.__getitem__, src)) / shared_by
        for src, shared_by in zip(phrase.sources, phrase.sharing, strict=True)
    ]


def _match_variant(phrase: Phrase, idfs: list[float], evidence: Evidence) -> Vector:
    """Blend a phrase's words found anywhere in each paper with its best run of linked words.

    Both parts weigh each word by IDF and saturate the evidence, so "diffusion language models"
    in a title scores high, while "diffusion" alone somewhere scores a fraction of the bag part.
    A passing mention counts COMPONENT_FACTOR of it (see the module docstring).
    """
    scale = phrase.factor / (sum(idfs) or 1.0)
    words = list(map(evidence, phrase.stems))
    score = (idfs[0] * scale) * words[0].saturated
    for i in range(1, len(words)):
        score += (idfs[i] * scale) * words[i].saturated
    links = list(map(evidence, phrase.links))
    if links:
        score *= BAG_SHARE
        run = _best_run(links, idfs)
        run *= (1.0 - BAG_SHARE) * scale
        score += run
    score *= passing(links or words[:1])
    if phrase.swapped:
        np.putmask(score, ~_all_present([words[i] for i in phrase.swapped]), 0.0)
    return score


def _all_present(words: list[Signal]) -> Mask:
    """Where a paper has every one of the words (the signal's own array for a single word)."""
    every = words[0].present
    for word in words[1:]:
        every = every & word.present
    return every


def _best_run(signals: list[Signal], idfs: list[float]) -> Vector:
    """Per paper, the run of linked words with the most IDF * saturated weakest-link evidence
    (the links' saturated evidence: saturation keeps the order of evidence)."""
    links = [signal.saturated for signal in signals]
    best = sum(idfs[0:2]) * links[0]
    if len(links) == 1:
        return best
    for start in range(len(links)):
        weakest = links[start]
        for end in range(start, len(links)):
            if end > start:
                weakest = np.minimum(weakest, links[end])
            if end > 0:
                np.maximum(best, sum(idfs[start : end + 2]) * weakest, out=best)
    return best


def complete(text: str, evidence: Evidence) -> Mask:
    """Where a paper has every word of the phrase, or of one of its variants (not to be
    changed: it may be the array of a cached signal)."""
    out: Mask | None = None
    for phrase in variants(text):
        if phrase.units:
            every = _all_present(list(map(evidence, phrase.stems)))
            out = every if out is None else out | every
    return out if out is not None else np.zeros(len(evidence.index), dtype=bool)
