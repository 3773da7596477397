"""Which words of a phrase each candidate has, as a label code (spelled by `ranking_labels`).

A code says which variant of a phrase a paper matched best (the first of equals), which of its
words a label names, whether they are all there, each next to the next (WHOLE), which of its
links the paper has (word i next to word i + 1, from LINKS on), and whether the named words are
all in the title (TITLE): papers that matched alike share a code, so a phrase has a handful of
labels for hundreds of papers.

Codes are worked out for every candidate when a batch of topic phrases is matched, in a few
numpy calls per batch, from the signals the match has just looked up (`ranking_evidence`): a
paper at a time, the Python work of the picks' codes was most of the cost of their reasons.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from newsletter.ranking_evidence import PRESENT, TITLED, Table
from newsletter.ranking_index import Index, Mask
from newsletter.ranking_phrases import Phrase, PhraseMatch, variants
from newsletter.textmatch_phrases import MAX_PHRASE_WORDS

LABEL_MIN_IDF = 0.5  # words in more than about 60% of the candidates are left out of reasons
TITLE, WHOLE, VARIANT = 1 << MAX_PHRASE_WORDS, 1 << (MAX_PHRASE_WORDS + 1), MAX_PHRASE_WORDS + 2
LINKS = VARIANT + 12  # the first link's bit (a phrase has far fewer than 4,096 variants)

Code = int  # a bit per word named, the flags (TITLE, WHOLE), the variant's number, the links
Codes = npt.NDArray[np.int64]


def label_codes(index: Index, found: Sequence[tuple[str, PhraseMatch]], table: Table) -> Codes:
    """The code of every candidate for each phrase (with its match; its words and links in
    `table`), a row each; 0 for a phrase with nothing to match."""
    n = len(index)
    out = np.zeros((len(found), n), dtype=np.int64)
    matched = [(p, match.each) for p, (_, match) in enumerate(found) if match.each]
    if not matched or not n:
        return out
    phrases = [v for p, each in matched for v in variants(found[p][0])[: len(each)]]
    codes = _variant_codes(index, phrases, table, n)
    starts = np.cumsum([0] + [len(each) for _, each in matched[:-1]], dtype=np.int64)
    number = np.zeros((len(matched), n), dtype=np.int64)  # the variant each paper matched best
    for row, (_, each) in enumerate(matched):
        if len(each) > 1:  # a few phrases: most have one variant
            number[row] = np.argmax(each, axis=0)  # the first of equals
    picked = codes[starts[:, None] + number, np.arange(n)]
    out[[p for p, _ in matched]] = picked | number << VARIANT
    return out


def _variant_codes(index: Index, phrases: list[Phrase], table: Table, n: int) -> Codes:
    """The code of every candidate for each variant, without its number: variants with as many
    words are worked out together (`_codes_of_size`)."""
    out = np.empty((len(phrases), n), dtype=np.int64)
    by_size: dict[int, list[int]] = {}
    for row, phrase in enumerate(phrases):
        by_size.setdefault(len(phrase.stems), []).append(row)
    for rows in by_size.values():
        out[rows] = _codes_of_size(index, [phrases[row] for row in rows], table)
    return out


def _codes_of_size(index: Index, phrases: list[Phrase], table: Table) -> Codes:
    """Codes of variants that all have as many words, a row each: a label names the words a
    paper has (only the telling ones, unless it has them all or none is telling)."""
    words = table.flags(table.rows([p.stems for p in phrases]))
    bits = 1 << np.arange(words.shape[1], dtype=np.int64)
    present = (words[:, :, PRESENT] * bits[:, None]).sum(axis=1)
    titled = (words[:, :, TITLED] * bits[:, None]).sum(axis=1)
    links = table.flags(table.rows([p.links for p in phrases]))
    whole = present == int(bits.sum())
    linked_in_title = np.ones_like(whole)
    linked = np.zeros_like(present)
    if links.shape[1]:
        has = links[:, :, PRESENT]
        whole &= has.all(axis=1)
        linked_in_title = links[:, :, TITLED].all(axis=1)
        linked = (has * (bits[:-1, None] << LINKS)).sum(axis=1)
    partial = present & (_telling(index, phrases) * bits[:, None]).sum(axis=1)
    chosen = np.where(whole | (partial == 0), present, partial)
    in_title = ((chosen & ~titled) == 0) & (linked_in_title | ~whole)
    codes: Codes = chosen | in_title * TITLE | whole * WHOLE | linked
    return codes


def _telling(index: Index, phrases: list[Phrase]) -> Mask:
    """Per variant (all with as many words) and word, whether the word is rare enough among
    the candidates to be worth naming (each of its stems); a column per variant."""
    words = [word for phrase in phrases for word in phrase.stems]
    idf = np.array([index.idf_of(stem) for word in words for stem in word])
    starts = np.cumsum([0] + [len(word) for word in words[:-1]])
    rare: Mask = np.minimum.reduceat(idf, starts) >= LABEL_MIN_IDF
    return rare.reshape(len(phrases), -1, 1)
