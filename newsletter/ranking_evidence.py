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
    """`Signal`s of phrase words and links over one index, cached per key.

    What every signal needs of a key's postings is worked out once for all the entries when
    the index is built: the saturated evidence, and whether the abstract repeats the key.
    """

    def __init__(self, index: Index) -> None:
        """Evidence over `index`; no signal is computed until asked for."""
        self.index = index
        self._cache: dict[Key, Signal] = {}
        counts = index.postings.values
        self._saturated = shared(counts / (counts + SATURATION))  # per entry of `postings`
        said = index.abstracts
        self._repeated = said.select(said.values > COMPONENT_MENTIONS)
        self._passing = shared(np.full(len(index), COMPONENT_FACTOR))

    def __call__(self, key: Key) -> Signal:
        """The signal of a phrase word (a tuple of stems) or of a link (a tuple of pairs)."""
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._signal(key)
        return found

    def _signal(self, key: Key) -> Signal:
        """Compute a `Signal` from the postings."""
        index = self.index
        every = isinstance(key[0], str)  # a word needs all its stems, a link any of its pairs
        found = [index.vocab.get(k) for k in key]
        ids = [k for k in found if k is not None]
        if not ids or (every and len(ids) < len(found)):
            return _absent(len(index))
        if len(ids) == 1:
            return self._single(ids[0])
        return self._combined(ids, every)

    def _single(self, key: int) -> Signal:
        """The signal of one key, read off its postings and the per-entry arrays."""
        index, n = self.index, len(self.index)
        where = index.postings.span(key)
        docs = index.postings.docs[where]
        saturated = np.zeros(n)
        saturated[docs] = self._saturated[where]
        present = np.zeros(n, dtype=bool)
        present[docs] = True
        titled = index.titles.docs[index.titles.span(key)]
        return self._with_factor(saturated, present, titled, self._repeated[key])

    def _with_factor(
        self, saturated: Vector, present: Mask, titled: Positions, repeated: Positions
    ) -> Signal:
        """A `Signal`, its arrays read-only, with the factor of a passing mention."""
        factor = self._passing.copy()
        factor[titled] = 1.0
        factor[repeated] = 1.0
        arrays = (saturated, present, titled, repeated, factor)
        return Signal(*(shared(array) for array in arrays))

    def _combined(self, keys: list[int], every: bool) -> Signal:
        """The signal of several keys: all of them (a word's stems) or any (a link's pairs)."""
        index, n = self.index, len(self.index)
        pick = np.minimum.reduce if every else np.maximum.reduce
        counts = pick([index.postings.vector(k, n) for k in keys])
        said = pick([index.abstracts.vector(k, n) for k in keys])
        masks = [index.titles.mask(k, n) for k in keys]
        titled = np.logical_and.reduce(masks) if every else np.logical_or.reduce(masks)
        repeated = np.flatnonzero(said > COMPONENT_MENTIONS)
        saturated = counts / (counts + SATURATION)
        return self._with_factor(saturated, counts > 0, np.flatnonzero(titled), repeated)

    def passing(self, groups: list[Signal]) -> Vector:
        """COMPONENT_FACTOR where a phrase is neither whole in the title nor said twice in the
        abstract (all its links, or its one word), else 1."""
        if len(groups) == 1:
            return groups[0].passing
        out = self._passing.copy()
        out[_in_all([g.titled for g in groups])] = 1.0
        out[_in_all([g.repeated for g in groups])] = 1.0
        return out


def _in_all(positions: list[Positions]) -> list[int]:
    """The papers found in every one of the lists: these lists are short (the papers with a
    link in the title, say), so Python sets do it faster than array operations."""
    common = set(positions[0].tolist())
    for more in positions[1:]:
        common.intersection_update(more.tolist())
    return list(common)


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
