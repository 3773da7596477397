"""Which words of a phrase each candidate has, as a label code (spelled by `ranking_labels`).

A code says which variant of a phrase a paper matched best (the first of equals), which of its
words a label names, whether they are all there, each next to the next (_WHOLE), and whether
the named words are all in the title (_TITLE): papers that matched alike share a code, so a
phrase has a handful of labels for hundreds of papers.

Codes are worked out for every candidate when a batch of topic phrases is matched, in a few
numpy calls per batch, from the signals the match has just looked up (`ranking_evidence`): a
paper at a time, the Python work of the picks' codes was most of the cost of their reasons.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from newsletter.ranking_evidence import Evidence, Signal
from newsletter.ranking_index import Index, Mask, Positions
from newsletter.ranking_phrases import Phrase, PhraseMatch, variants
from newsletter.textmatch_phrases import MAX_PHRASE_WORDS

LABEL_MIN_IDF = 0.5  # words in more than about 60% of the candidates are left out of reasons
TITLE, WHOLE, VARIANT = 1 << MAX_PHRASE_WORDS, 1 << (MAX_PHRASE_WORDS + 1), MAX_PHRASE_WORDS + 2

Code = int  # a bit per word named, then the flags (TITLE, WHOLE), then the variant's number
Codes = npt.NDArray[np.int64]


def label_codes(
    index: Index, found: Sequence[tuple[str, PhraseMatch]], evidence: Evidence
) -> Codes:
    """The code of every candidate for each phrase (with its match), a row each; 0 for a
    phrase with nothing to match."""
    n = len(index)
    out = np.zeros((len(found), n), dtype=np.int64)
    matched = [(p, match.each) for p, (_, match) in enumerate(found) if match.each]
    if not matched or not n:
        return out
    phrases = [v for p, each in matched for v in variants(found[p][0])[: len(each)]]
    codes = _variant_codes(index, phrases, evidence, n)
    scores = np.array([row for _, each in matched for row in each])
    starts = np.cumsum([0] + [len(each) for _, each in matched[:-1]], dtype=np.intp)
    owner = np.repeat(np.arange(len(matched)), [len(each) for _, each in matched])
    best = np.maximum.reduceat(scores, starts, axis=0)[owner]
    first = np.where(scores == best, np.arange(len(phrases))[:, None], len(phrases))
    chosen = np.minimum.reduceat(first, starts, axis=0)  # per phrase and paper, a variant row
    number = (chosen - starts[:, None]).astype(np.int64)
    out[[p for p, _ in matched]] = codes[chosen, np.arange(n)] | number << VARIANT
    return out


def _variant_codes(index: Index, phrases: list[Phrase], evidence: Evidence, n: int) -> Codes:
    """The code of every candidate for each variant, without its number: variants with as many
    words are worked out together (`_codes_of_size`)."""
    out = np.empty((len(phrases), n), dtype=np.int64)
    by_size: dict[int, list[int]] = {}
    for row, phrase in enumerate(phrases):
        by_size.setdefault(len(phrase.stems), []).append(row)
    for rows in by_size.values():
        out[rows] = _codes_of_size(index, [phrases[row] for row in rows], evidence, n)
    return out


def _codes_of_size(index: Index, phrases: list[Phrase], evidence: Evidence, n: int) -> Codes:
    """Codes of variants that all have as many words, a row each: a label names the words a
    paper has (only the telling ones, unless it has them all or none is telling)."""
    words = [list(map(evidence, p.stems)) for p in phrases]
    bits = 1 << np.arange(len(words[0]), dtype=np.int64)
    present = (np.array([[w.present for w in row] for row in words]) * bits[:, None]).sum(axis=1)
    titled = (_titled(words, n) * bits[:, None]).sum(axis=1)
    links = [list(map(evidence, p.links)) for p in phrases]
    whole = present == int(bits.sum())
    linked_in_title = np.ones_like(whole)
    if links[0]:
        whole &= np.array([[link.present for link in row] for row in links]).all(axis=1)
        linked_in_title = _titled(links, n).all(axis=1)
    telling = np.array([[_telling_bits(index, p)] for p in phrases], dtype=np.int64)
    partial = present & telling
    chosen = np.where(whole | (partial == 0), present, partial)
    in_title = ((chosen & ~titled) == 0) & (linked_in_title | ~whole)
    codes: Codes = chosen | in_title * TITLE | whole * WHOLE
    return codes


def _titled(signals: list[list[Signal]], n: int) -> Mask:
    """Per row of signals (as many each), signal and paper: whether the paper has it in the
    title, set for all of them in one call."""
    flat: list[Positions] = [s.titled for row in signals for s in row]
    at = np.concatenate(flat) + np.repeat(np.arange(len(flat)) * n, [len(d) for d in flat])
    mask = np.zeros(len(flat) * n, dtype=bool)
    mask[at] = True
    return mask.reshape(len(signals), len(signals[0]), n)


def _telling_bits(index: Index, phrase: Phrase) -> int:
    """A bit per word rare enough among the candidates to be worth naming."""
    return sum(1 << i for i, stems in enumerate(phrase.stems) if _telling(index, stems))


def _telling(index: Index, stems: tuple[str, ...]) -> bool:
    """Whether a word is rare enough among the candidates to be worth naming."""
    return min(map(index.idf_of, stems)) >= LABEL_MIN_IDF
