"""What the candidates have of one word or one link of a profile phrase, as vectors (`Signal`).

A phrase word is a tuple of stems (several for an acronym's long form, all needed); a link is
the tuple of stem pairs that put two words side by side, in either order (any one will do).
Thousands of phrases share their words ("diffusion", "language model"), so signals are cached
per word and per link (`Evidence`), and built from the flat postings of `ranking_postings`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from newsletter.ranking_index import Index, Mask, Positions, Vector, shared
from newsletter.ranking_text import Pair

SATURATION = 2.0  # evidence e counts e / (e + SATURATION): repeats add less and less
COMPONENT_FACTOR = 0.8  # a phrase neither whole in the title nor repeated in the abstract
COMPONENT_MENTIONS = 1.0  # "repeated": said more often than this in the abstract

Key = tuple[str, ...] | tuple[Pair, ...]


class Signal(NamedTuple):
    """One word or link across the candidates: saturated field-weighted evidence, where it is
    present, the papers with it in the title and those that repeat it in the abstract, and the
    factor of a passing mention (COMPONENT_FACTOR where it is neither, else 1)."""

    saturated: Vector
    present: Mask
    titled: Positions
    repeated: Positions
    passing: Vector


class Evidence:
    """`Signal`s of phrase words and links over one index, cached per key."""

    def __init__(self, index: Index) -> None:
        """Evidence over `index`; nothing is computed until asked for."""
        self.index = index
        self._cache: dict[Key, Signal] = {}

    def __call__(self, key: Key) -> Signal:
        """The signal of a phrase word (a tuple of stems) or of a link (a tuple of pairs)."""
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._signal(key)
        return found

    def _signal(self, key: Key) -> Signal:
        """Compute a `Signal` from the postings."""
        index, n = self.index, len(self.index)
        every = isinstance(key[0], str)  # a word needs all its stems, a link any of its pairs
        found = [index.vocab.get(k) for k in key]
        ids = [k for k in found if k is not None]
        if not ids or (every and len(ids) < len(found)):
            return _absent(n)
        if len(ids) == 1:
            raw, titled, repeated = _sparse(index, ids[0])
        else:
            raw, titled, repeated = _combined(index, ids, every)
        factor = np.full(n, COMPONENT_FACTOR)
        factor[titled] = 1.0
        factor[repeated] = 1.0
        return Signal(
            shared(raw / (raw + SATURATION)),
            shared(raw > 0),
            shared(titled),
            shared(repeated),
            shared(factor),
        )


def passing(groups: list[Signal]) -> Vector:
    """COMPONENT_FACTOR where a phrase is neither whole in the title nor said twice in the
    abstract (all its links, or its one word), else 1."""
    if len(groups) == 1:
        return groups[0].passing
    n = len(groups[0].passing)
    out = np.full(n, COMPONENT_FACTOR)
    for docs in ([g.titled for g in groups], [g.repeated for g in groups]):
        times = np.bincount(np.concatenate(docs), minlength=n)
        out[times == len(groups)] = 1.0
    return out


def _sparse(index: Index, key: int) -> tuple[Vector, Positions, Positions]:
    """A key's field-weighted counts over the candidates, the papers with it in the title, and
    those whose abstract says it more than COMPONENT_MENTIONS times."""
    raw = index.postings.vector(key, len(index))
    titled = index.titles.docs[index.titles.span(key)]
    where = index.abstracts.span(key)
    said = index.abstracts.docs[where][index.abstracts.values[where] > COMPONENT_MENTIONS]
    return raw, titled, said


def _combined(index: Index, keys: list[int], every: bool) -> tuple[Vector, Positions, Positions]:
    """`_sparse` of several keys: all of them (a word's stems) or any (a link's pairs)."""
    n = len(index)
    pick = np.minimum.reduce if every else np.maximum.reduce
    counts = pick([index.postings.vector(k, n) for k in keys])
    said = pick([index.abstracts.vector(k, n) for k in keys])
    masks = [index.titles.mask(k, n) for k in keys]
    titled = np.logical_and.reduce(masks) if every else np.logical_or.reduce(masks)
    return counts, np.flatnonzero(titled), np.flatnonzero(said > COMPONENT_MENTIONS)


def _absent(n: int) -> Signal:
    """The signal of a word or link no candidate has."""
    none = shared(np.zeros(0, dtype=np.intp))
    return Signal(
        shared(np.zeros(n)),
        shared(np.zeros(n, dtype=bool)),
        none,
        none,
        shared(np.full(n, COMPONENT_FACTOR)),
    )
