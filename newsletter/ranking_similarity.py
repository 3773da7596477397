"""TF-IDF cosine similarity: of a topic phrase to every candidate, and of a liked paper.

Phrase matching (`ranking_phrases`) is precise when a paper uses the subscriber's words, but it
cannot tell a paper about mixture-of-experts from one that adds a mixture-of-experts layer to
something else; the cosine of TF-IDF vectors can, because a paper's vector is normalised over
everything the paper talks about. The ranker blends the two (see `ranking_score`).
"""

from __future__ import annotations

import functools
import heapq
from collections.abc import Sequence
from itertools import pairwise

import numpy as np

from newsletter import textmatch_phrases
from newsletter.models import Paper
from newsletter.ranking_index import Index, Key, Matrix, sublinear
from newsletter.ranking_postings import Floats, Ints
from newsletter.ranking_text import analyse_terms, pair

LIKED_MIN = 0.18  # least cosine similarity to a liked paper that counts
LIKED_TERMS = 40  # a liked paper is summarised by its most telling stems


def topical_many(index: Index, texts: Sequence[str]) -> Matrix:
    """The dot product of each phrase's TF-IDF vector (its stems and the pairs of stems side
    by side, sublinear TF, smoothed IDF) with every candidate's unit-length vector, a row per
    phrase, in one pass over the postings.

    Not divided by a phrase's own length: a profile adds its topics' vectors up, as if its
    phrases were one query, and the ranker only compares these values within one profile.
    """
    vocab, idf = index.vocab, index.topic_idf
    keys: list[list[int]] = [[] for _ in texts]
    weights: list[list[float]] = [[] for _ in texts]
    for text, row_keys, row_weights in zip(texts, keys, weights, strict=True):
        for key, tf in _topic_terms(text):
            found = vocab.get(key)
            if found is not None:
                row_keys.append(found)
                row_weights.append(tf * idf[found])
    return index.postings.weighted_sums(keys, weights, index.topic_weights, len(index))


@functools.lru_cache(maxsize=65536)
def _topic_terms(text: str) -> tuple[tuple[Key, float], ...]:
    """A phrase's stems and pairs of stems side by side, with their sublinear TF; memoised, as
    it depends on the phrase alone. An ambiguous acronym of the phrase (SPELLED_OUT) counts in
    both spellings: a paper that defines it writes the long form."""
    found = textmatch_phrases.variants(text)
    spellings = [found[0], *(v for v in found if v.spelled_out)] if found else []
    counts: dict[Key, float] = {}
    for variant in spellings:  # a term of several spellings counts as often as in the most
        stems = [s for unit in variant.units for s in unit.stems]
        own: dict[Key, float] = {}
        for term in stems:
            own[term] = own.get(term, 0.0) + 1.0
        for a, b in pairwise(stems):
            if a != b:
                own[pair(a, b)] = own.get(pair(a, b), 0.0) + 1.0
        for key, count in own.items():
            counts[key] = max(counts.get(key, 0.0), count)
    return tuple((key, sublinear(count)) for key, count in counts.items())


def liked_many(index: Index, papers: Sequence[Paper]) -> Matrix:
    """Cosine similarity of each liked paper's most telling stems (LIKED_TERMS of them, by
    TF-IDF) to every candidate, 0 below LIKED_MIN; a row per paper, in one pass over the
    postings (a batch of subscribers brings dozens of liked papers)."""
    keys: list[Ints] = []
    weights: list[Floats] = []
    for paper in papers:
        doc = index.index_of.get(paper.id)
        found, weighed = (
            _candidate_terms(index, doc) if doc is not None else _other_terms(index, paper)
        )
        keys.append(found)
        weights.append(weighed / (float(np.sqrt(np.dot(weighed, weighed))) or 1.0))
    sims = index.postings.weighted_sums(keys, weights, index.liked_weights, len(index))
    sims[sims < LIKED_MIN] = 0.0
    return sims


def _candidate_terms(index: Index, doc: int) -> tuple[Ints, Floats]:
    """The most telling stems of a candidate, and their TF-IDF: a stem no other candidate
    has says nothing about the others."""
    entries = index.postings
    where = entries.paper(doc)
    keys = entries.paper_keys[where]
    weights = index.paper_tfidf[where]
    weights = np.where(index.df[keys] > 1, weights, 0.0)
    if len(keys) > LIKED_TERMS:
        top = np.argpartition(-weights, LIKED_TERMS)[:LIKED_TERMS]
        keys, weights = keys[top], weights[top]
    keep = weights > 0
    return keys[keep], weights[keep]


def _other_terms(index: Index, paper: Paper) -> tuple[Ints, Floats]:
    """The most telling stems of a paper that is not a candidate (an older liked paper)."""
    vocab = index.vocab
    weights = index.tfidf(analyse_terms(paper))
    top = heapq.nlargest(LIKED_TERMS, weights.items(), key=lambda kv: kv[1])
    keys = np.array([vocab[t] for t, _ in top], dtype=np.intp)
    return keys, np.array([w for _, w in top])
