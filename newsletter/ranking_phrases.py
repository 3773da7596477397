"""Match one profile phrase against every candidate at once: a score in [0, 1) per paper.

A phrase is matched through its variants (`textmatch_phrases.variants`: the phrase, the parts of a
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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import NamedTuple

import numpy as np

from newsletter import textmatch_phrases
from newsletter.ranking_evidence import (
    PRESENT,
    TO,
    Directed,
    Evidence,
    Key,
    Table,
    central,
    passing,
)
from newsletter.ranking_index import Index, Mask, Matrix, Positions, Vector, shared
from newsletter.ranking_text import Pair, pair

BAG_SHARE = 0.5  # share of a topic's match from its words anywhere; the rest from words together
SYNONYM_FACTOR = 0.8  # a match through textmatch_phrases.SYNONYMS counts this much
MIN_TOPIC = 0.04  # topic matches below this are noise and dropped


@dataclass(frozen=True, slots=True)
class Phrase:
    """One way to match a profile phrase (itself, a part of it, or with a synonym swapped in).

    `units` are its words as textmatch analysed them, and `stems` their stems (the words' keys
    in `Evidence`); `links[i]` are the stem pairs that put word i and word i + 1 side by side,
    in either order (or, for the two sides of an "X-to-Y" compound, a directed link that
    only "X-to-Y" has: see `ranking_evidence`); `sources` say which words of the phrase each
    word stands for, and `sharing` by how many words each source is shared; `swapped` are the
    words a synonym brought in, which count only all together; `factor` discounts synonyms.
    """

    units: tuple[textmatch_phrases.Unit, ...]
    stems: tuple[tuple[str, ...], ...]
    links: tuple[tuple[Pair, ...] | tuple[Directed], ...]
    sources: tuple[tuple[int, ...], ...]
    sharing: tuple[int, ...]
    swapped: tuple[int, ...]
    factor: float


def _compile(variant: textmatch_phrases.Variant) -> Phrase:
    """Turn a textmatch variant into what the matcher needs."""
    stems = tuple([unit.stems for unit in variant.units])
    links = tuple([
        ((a.stems[-1], b.stems[0], TO),) if _directed(a, b) else _link(a.stems, b.stems)
        for a, b in pairwise(variant.units)
    ])
    sources = variant.sources
    if variant.synonym:
        sharing = tuple([sources.count(src) for src in sources])
        factor = 1.0 if variant.spelled_out else SYNONYM_FACTOR  # an acronym's long form: in full
    else:
        sharing, factor = _ONCE[: len(sources)], 1.0
    return Phrase(variant.units, stems, links, sources, sharing, variant.swapped, factor)


_ONCE = (1,) * textmatch_phrases.MAX_PHRASE_WORDS  # no word is shared when no synonym came in


def _directed(a: textmatch_phrases.Unit, b: textmatch_phrases.Unit) -> bool:
    """Whether two words of a phrase are the two sides of an "X-to-Y" compound, where the
    order is the meaning ("text-to-image" is not "image-to-text")."""
    if a.group != b.group:
        return False
    compound = f"{a.word}-to-{b.word}".casefold()
    return f"-{compound}-" in f"-{a.group.casefold()}-"


def _link(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[Pair, ...]:
    """The stem pairs that put word a and word b side by side, in either order."""
    forward, backward = pair(a[-1], b[0]), pair(b[-1], a[0])
    return (forward,) if forward == backward else tuple(sorted((forward, backward)))


@functools.lru_cache(maxsize=65536)
def variants(text: str) -> tuple[Phrase, ...]:
    """The ways to match a phrase (see `textmatch_phrases.variants`), compiled once per process."""
    return tuple(map(_compile, textmatch_phrases.variants(text)))


class PhraseMatch(NamedTuple):
    """A phrase matched against every candidate: the best score of its variants, and each
    variant's own scores (to tell, for the reasons, which variant a paper matched)."""

    score: Vector
    each: list[Vector]


def match(index: Index, text: str, evidence: Evidence) -> PhraseMatch:
    """Match every variant of a phrase against every candidate and keep the best per paper."""
    return match_many(index, [text], evidence.table(words([text])))[0]


def words(texts: Iterable[str]) -> Iterator[Key]:
    """The words and links of every variant of the phrases: the keys of their `Table`."""
    for text in texts:
        for phrase in variants(text):
            yield from phrase.stems
            yield from phrase.links


def match_many(index: Index, texts: Sequence[str], table: Table) -> list[PhraseMatch]:
    """`match` of many phrases at once, their words and links in `table`: their variants are
    scored together, a matrix per number of words, so that a batch of new phrases costs a few
    dozen numpy calls, not a dozen per variant (the per-call overhead was most of the cost of
    a new phrase)."""
    n = len(index)
    found = [variants(text) for text in texts]
    todo = [i for i, phrases in enumerate(found) if phrases and phrases[0].units]
    weighed = [weighed for i in todo for weighed in _weighed(index, found[i])]
    scores = shared(_score_variants(weighed, table, n))
    counts = [len(found[i]) for i in todo]
    starts = np.cumsum([0, *counts], dtype=np.intp)[:-1]
    best = np.maximum.reduceat(scores, starts, axis=0) if todo else np.zeros((0, n))
    best *= best >= MIN_TOPIC  # matches below MIN_TOPIC dropped (x * False is 0.0)
    shared(best)
    out = [PhraseMatch(shared(np.zeros(n)), [])] * len(texts)
    for row, (i, start, count) in enumerate(zip(todo, starts.tolist(), counts, strict=True)):
        out[i] = PhraseMatch(best[row], list(scores[start : start + count]))
    return out


def _weighed(index: Index, found: tuple[Phrase, ...]) -> list[tuple[Phrase, list[float]]]:
    """The variants of a phrase, each with the IDF of its words (`_variant_idfs`)."""
    own = [sum(map(index.idf_of, stems)) / len(stems) for stems in found[0].stems]
    return [(p, _variant_idfs(own, p)) for p in found]


def _variant_idfs(own: list[float], phrase: Phrase) -> list[float]:
    """IDF of a variant's words: a word swapped in shares the weight of the words it replaces,
    so a synonym neither adds nor removes importance."""
    return [
        sum(map(own.__getitem__, src)) / shared_by
        for src, shared_by in zip(phrase.sources, phrase.sharing, strict=True)
    ]


def _score_variants(weighed: list[tuple[Phrase, list[float]]], table: Table, n: int) -> Matrix:
    """Every variant's score for every candidate, a row each: variants with as many words are
    scored together (`_match_variants`)."""
    out = np.empty((len(weighed), n))
    by_size: dict[int, list[int]] = {}
    for row, (phrase, _) in enumerate(weighed):
        by_size.setdefault(len(phrase.stems), []).append(row)
    for rows in by_size.values():
        out[rows] = _match_variants([weighed[row] for row in rows], table)
    return out


def _match_variants(weighed: list[tuple[Phrase, list[float]]], table: Table) -> Matrix:
    """Blend each phrase's words found anywhere in each paper with its best run of linked
    words; the phrases all have as many words, and a row each.

    Both parts weigh each word by IDF and saturate the evidence, so "diffusion language models"
    in a title scores high, while "diffusion" alone somewhere scores a fraction of the bag part.
    A passing mention counts COMPONENT_FACTOR of it (see the module docstring).
    """
    scales = [p.factor / (sum(idfs) or 1.0) for p, idfs in weighed]
    words = table.rows([p.stems for p, _ in weighed])
    saturated = table.saturated(words)
    first = _column([idfs[0] * s for (_, idfs), s in zip(weighed, scales, strict=True)])
    score: Matrix = first * saturated[:, 0]
    for i in range(1, saturated.shape[1]):
        weights = _column([idfs[i] * s for (_, idfs), s in zip(weighed, scales, strict=True)])
        score += weights * saturated[:, i]
    links = table.rows([p.links for p, _ in weighed])
    if links.shape[1]:
        score *= BAG_SHARE
        run = _best_run(table.saturated(links), [idfs for _, idfs in weighed])
        run *= _column([(1.0 - BAG_SHARE) * s for s in scales])
        score += run
    score *= passing(table.flags(links if links.shape[1] else words[:, :1]))
    for row, (phrase, _) in enumerate(weighed):
        if phrase.swapped:
            np.putmask(score[row], ~_all_present(table, words[row, list(phrase.swapped)]), 0.0)
    return score


def _column(values: list[float]) -> Matrix:
    """Values as a column, to scale the rows of a matrix."""
    return np.array(values)[:, None]


def _all_present(table: Table, rows: Positions) -> Mask:
    """Where a paper has every one of the signals at `rows` of `table`."""
    every: Mask = np.logical_and.reduce(table.flags(rows)[:, PRESENT], axis=0)
    return every


def _best_run(links: Matrix, idfs: list[list[float]]) -> Matrix:
    """Per phrase (a row each, all with as many links) and paper, the run of linked words with
    the most IDF * saturated weakest-link evidence (`links`: the links' saturated evidence, an
    axis per link before the papers; saturation keeps the order of evidence)."""
    best: Matrix = _column([sum(row[0:2]) for row in idfs]) * links[:, 0]
    size = links.shape[1]
    if size == 1:
        return best
    for start in range(size):
        weakest = links[:, start]
        for end in range(start, size):
            if end > start:
                weakest = np.minimum(weakest, links[:, end])
            if end > 0:
                weight = _column([sum(row[start : end + 2]) for row in idfs])
                np.maximum(best, weight * weakest, out=best)
    return best


def complete(text: str, evidence: Evidence, *, whole: bool = False) -> Mask:
    """Where a paper has every word of the phrase, or of one of its variants; with `whole`,
    also each next to the next."""
    found = complete_many(evidence.index, [text], evidence.table(words([text])))
    mask: Mask = (found.whole if whole else found.every)[0]
    return mask


class Completeness(NamedTuple):
    """Per phrase (a row each) and candidate: whether the paper has every word of the phrase
    (or of a variant), has them whole (each next to the next), and has them whole where it
    shows what the paper is about (`ranking_evidence.central`)."""

    every: Mask
    whole: Mask
    central: Mask


def complete_many(index: Index, texts: Sequence[str], table: Table) -> Completeness:
    """`complete` of many phrases (their words and links in `table`), and where each is
    central (`Completeness`): their variants are looked up together, a matrix per number of
    words (a batch's exclude phrases cost a few numpy calls, not a few each)."""
    n = len(index)
    every, whole = np.zeros((len(texts), n), dtype=bool), np.zeros((len(texts), n), dtype=bool)
    about = np.zeros((len(texts), n), dtype=bool)
    by_size: dict[int, list[tuple[int, Phrase]]] = {}
    for row, text in enumerate(texts):
        for phrase in variants(text):
            if phrase.units:
                by_size.setdefault(len(phrase.stems), []).append((row, phrase))
    for size, found in by_size.items():
        rows = table.rows([[*phrase.stems, *phrase.links] for _, phrase in found])
        flags = table.flags(rows)
        present = flags[:, :, PRESENT]
        has_words = present[:, :size].all(axis=1)
        owners = np.array([row for row, _ in found])  # in order, a phrase's variants together
        first = np.flatnonzero(np.diff(owners, prepend=-1))
        every[owners[first]] |= np.logical_or.reduceat(has_words, first, axis=0)
        whole_words = has_words & present[:, size:].all(axis=1)
        whole[owners[first]] |= np.logical_or.reduceat(whole_words, first, axis=0)
        said = whole_words & central(flags[:, size:] if size > 1 else flags[:, :1])
        about[owners[first]] |= np.logical_or.reduceat(said, first, axis=0)
    return Completeness(every, whole, about)
