"""The text index of one set of candidate papers: postings, IDF and TF-IDF weights; built once.

Everything here depends on the papers alone, never on a profile, so the pipeline builds it once
per (window, sources) and every subscriber of a run ranks against it. Stems and pairs of stems
get ids (`vocab`); their postings are flat arrays (`ranking_postings.Columns`): field-weighted
counts, presence in the title, counts in the abstract. What the ranker derives from them is
cached as read-only vectors over the candidates (`Vector`, in `papers` order).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import chain
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from newsletter.models import Paper
from newsletter.ranking_postings import Floats, Ints, gather
from newsletter.ranking_text import Pair, PaperText, analyse_paper

Vector = npt.NDArray[np.float64]  # one value per candidate, in `Index.papers` order
Matrix = npt.NDArray[np.float64]  # rows of values per candidate
Mask = npt.NDArray[np.bool_]
Positions = npt.NDArray[np.intp]  # positions of candidates, in `Index.papers`
Key = str | Pair
ArrayT = TypeVar("ArrayT", bound=np.ndarray[Any, Any])


def shared(array: ArrayT) -> ArrayT:
    """Make a cached array read-only, so that no profile can change what others will read."""
    array.setflags(write=False)
    return array


class Index:
    """Postings of stems and stem pairs, their IDF, and TF-IDF weights (see `_weigh`)."""

    def __init__(self, papers: Sequence[Paper]) -> None:
        """Index `papers` (distinct ids)."""
        self.papers = tuple(papers)
        self.index_of = {p.id: i for i, p in enumerate(self.papers)}
        self.texts = [analyse_paper(p) for p in self.papers]
        self.vocab: dict[Key, int] = {}
        n, texts = len(self.papers), list(enumerate(self.texts))
        self.postings = gather(self.vocab, ((d, _counted(t)) for d, t in texts), n, grow=True)
        self.titles = gather(self.vocab, ((d, _titled(t)) for d, t in texts), n, grow=False)
        self.abstracts = gather(self.vocab, ((d, _said(t)) for d, t in texts), n, grow=False)
        self._weigh()

    def __len__(self) -> int:
        """How many distinct papers can be ranked."""
        return len(self.papers)

    def _weigh(self) -> None:
        """IDF of every key, and each entry's weight in its paper's unit-length TF-IDF vector.

        Two vector spaces, both with sublinear TF: `liked_weights` over stems (numbers left out)
        with BM25's IDF, to compare liked papers; `topic_weights` over stems and stem pairs with
        smoothed IDF (as scikit-learn's TfidfVectorizer), to compare topics.
        """
        n, entries = len(self.papers), self.postings
        self.df: Ints = entries.counts
        df = self.df.astype(np.float64)
        words = np.array([isinstance(k, str) and k.isalpha() for k in self.vocab], dtype=bool)
        bm25 = np.log1p((n - df + 0.5) / (df + 0.5))
        word_idf = np.where(words, bm25, 0.0)
        topic_idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
        self.idf: list[float] = bm25.tolist()
        self.topic_idf: list[float] = topic_idf.tolist()
        tf = _sublinear(entries.values)
        liked, topic = tf * word_idf[entries.keys], tf * topic_idf[entries.keys]
        self.liked_weights = liked / _norms(entries.docs, liked, n)[entries.docs]
        self.topic_weights = topic / _norms(entries.docs, topic, n)[entries.docs]
        self.paper_tfidf = _sublinear(entries.paper_values) * word_idf[entries.paper_keys]

    def idf_of(self, term: str) -> float:
        """BM25's IDF of a stem; a stem no candidate has counts as the rarest."""
        found = self.vocab.get(term)
        return _bm25_idf(len(self.papers), 0) if found is None else self.idf[found]

    def tfidf(self, counts: dict[str, float]) -> dict[str, float]:
        """Sublinear TF * IDF of a paper's stem counts (numbers and unknown stems dropped)."""
        vocab, idf = self.vocab, self.idf
        return {
            t: sublinear(e) * idf[vocab[t]] for t, e in counts.items() if t in vocab and t.isalpha()
        }


def sublinear(count: float) -> float:
    """1 + log(count) for a count of 1 or more, else the count itself (a fractional one)."""
    return 1.0 + math.log(count) if count >= 1.0 else count


def _sublinear(counts: Floats) -> Floats:
    """`sublinear` of every count."""
    return np.where(counts >= 1.0, 1.0 + np.log(np.maximum(counts, 1.0)), counts)


def _bm25_idf(n: int, df: int) -> float:
    """BM25's IDF: a word most candidates have weighs almost nothing, and never less than 0."""
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


def _norms(docs: Ints, weights: Floats, n: int) -> Floats:
    """The length of each paper's vector of weights (1 for an empty one)."""
    norms = np.sqrt(np.bincount(docs, weights * weights, minlength=n))
    norms[norms == 0.0] = 1.0
    return norms


def _counted(text: PaperText) -> dict[Key, float]:
    """A paper's field-weighted counts of stems and pairs."""
    return dict(chain(text.terms.items(), text.pairs.items()))


def _titled(text: PaperText) -> dict[Key, float]:
    """The stems and pairs of a paper's title."""
    return dict.fromkeys((*text.title_terms, *text.title_pairs), 1.0)


def _said(text: PaperText) -> dict[Key, float]:
    """How often the abstract says each stem and pair."""
    return dict(chain(text.abstract_terms.items(), text.abstract_pairs.items()))
