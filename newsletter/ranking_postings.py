"""Postings in flat arrays: for each key (a stem or a pair of stems), the papers that have it.

A dict of dicts is simple but slow to turn into vectors: a common stem lives in hundreds of
papers, and every phrase that uses it would copy those entries out of Python objects. Here the
entries of all keys are arrays sorted by key, built once per candidate set, so the postings of
a key are two array slices, and a vector over the candidates is one assignment.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from itertools import chain
from typing import TypeVar

import numpy as np
import numpy.typing as npt

K = TypeVar("K", bound=Hashable)
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.intp]
Entries = Iterable[tuple[int, Mapping[K, float]]]  # (paper, {key: value})


class Columns:
    """(key id, paper, value) entries, grouped by key id (`keys`, `docs`, `values`) and, as
    given, by paper (`paper_keys`, `paper_values`)."""

    def __init__(self, keys: Ints, docs: Ints, values: Floats, shape: tuple[int, int]) -> None:
        """Group entries given paper by paper, in paper order; `shape` is (papers, key ids)."""
        papers, size = shape
        self.paper_keys: Ints = np.asarray(keys, dtype=np.intp)
        self.paper_values: Floats = np.asarray(values, dtype=np.float64)
        in_order = np.asarray(docs, dtype=np.intp)
        order = np.argsort(self.paper_keys, kind="stable")
        self.keys: Ints = self.paper_keys[order]
        self.docs: Ints = in_order[order]
        self.values: Floats = self.paper_values[order]
        self.counts: Ints = np.bincount(self.paper_keys, minlength=size)  # papers per key
        self._start = _offsets(self.counts)
        self._starts = np.array(self._start, dtype=np.intp)  # the same, for array indexing
        self._paper_start = _offsets(np.bincount(in_order, minlength=papers))
        for array in (self.paper_keys, self.paper_values, self.keys, self.docs, self.values):
            array.flags.writeable = False  # so that slices handed out are read-only too

    def span(self, key: int) -> slice:
        """Where the entries of one key are in `docs` and `values`."""
        return slice(self._start[key], self._start[key + 1])

    def paper(self, doc: int) -> slice:
        """Where one paper's entries are in `paper_keys` and `paper_values`."""
        return slice(self._paper_start[doc], self._paper_start[doc + 1])

    def vector(self, key: int, n: int, values: Floats | None = None) -> Floats:
        """A key's values (or its entries of `values`) as a vector over the n papers."""
        out = np.zeros(n)
        where = self.span(key)
        out[self.docs[where]] = (self.values if values is None else values)[where]
        return out

    def mask(self, key: int, n: int) -> npt.NDArray[np.bool_]:
        """Which of the n papers have a key."""
        out = np.zeros(n, dtype=bool)
        out[self.docs[self.span(key)]] = True
        return out

    def select(self, keep: npt.NDArray[np.bool_]) -> KeyDocs:
        """The papers of the entries that `keep` flags (in `docs` order), still by key."""
        return KeyDocs(self.keys[keep], self.docs[keep], len(self.counts))

    def weighted_sum(
        self, keys: Sequence[int] | Ints, weights: Sequence[float] | Floats, values: Floats, n: int
    ) -> Floats:
        """The sum over keys of weight * the key's entries of `values`, as a vector over the n
        papers, in one pass over the entries however many keys there are."""
        summed: Floats = self.weighted_sums([keys], [weights], values, n)[0]
        return summed

    def weighted_sums(
        self, keys: Sequence[Sequence[int] | Ints], weights: Sequence[Sequence[float] | Floats],
        values: Floats, n: int,
    ) -> Floats:
        """`weighted_sum` of many rows of keys and weights, a row each over the n papers, in
        one pass over all their entries."""
        flat = [key for row in keys for key in row]
        if not flat:
            return np.zeros((len(keys), n))
        at, counts = self._entries(np.array(flat, dtype=np.intp))
        scaled = values[at] * np.array([w for row in weights for w in row]).repeat(counts)
        rows = np.repeat(np.arange(len(keys)) * n, [len(row) for row in keys]).repeat(counts)
        summed = np.bincount(rows + self.docs[at], scaled, minlength=len(keys) * n)
        return summed.astype(np.float64, copy=False).reshape(len(keys), n)

    def rows(self, keys: Ints) -> tuple[Ints, Ints, Ints]:
        """Where the entries of the keys are in `docs` (key by key, in the order given), each
        entry's row (its key's position in `keys`) and paper: to scatter the entries of many
        keys into a matrix over the papers, a row per key, in one assignment."""
        if not len(keys):
            empty = np.zeros(0, dtype=np.intp)
            return empty, empty, empty
        at, counts = self._entries(keys)
        return at, np.arange(len(keys)).repeat(counts), self.docs[at]

    def _entries(self, keys: Ints) -> tuple[Ints, Ints]:
        """Where the entries of the keys are in `docs` (key by key, in the order given), and
        how many each key has: array operations whose number does not grow with the keys."""
        first = self._starts[keys]
        counts = self._starts[keys + 1] - first
        ends = counts.cumsum()
        return np.arange(ends[-1]) + (first - (ends - counts)).repeat(counts), counts


class KeyDocs:
    """Papers grouped by key id, as `Columns.docs` but for some of the entries only."""

    def __init__(self, keys: Ints, docs: Ints, size: int) -> None:
        """`docs[i]` has key id `keys[i]`, and `keys` is sorted; `size` is the number of key ids."""
        self.docs = docs
        self.docs.flags.writeable = False
        self._start = _offsets(np.bincount(keys, minlength=size))

    def __getitem__(self, key: int) -> Ints:
        """The papers of one key (a read-only view)."""
        return self.docs[self._start[key] : self._start[key + 1]]


def gather(vocab: dict[K, int], entries: Entries[K], papers: int, *, grow: bool) -> Columns:
    """Columns of entries, given as (paper, {key: value}) in paper order; with `grow`, keys not
    in `vocab` are added to it (in the order they first come), else they must be there already
    (another field of the same papers)."""
    given = list(entries)
    every_key = list(chain.from_iterable(counts for _, counts in given))
    if grow:
        new = [key for key in dict.fromkeys(every_key) if key not in vocab]
        vocab.update(zip(new, range(len(vocab), len(vocab) + len(new)), strict=True))
    keys = np.fromiter(map(vocab.__getitem__, every_key), dtype=np.intp, count=len(every_key))
    docs = np.repeat([doc for doc, _ in given], [len(counts) for _, counts in given])
    values = np.fromiter(
        chain.from_iterable(counts.values() for _, counts in given), np.float64, len(every_key)
    )
    return Columns(keys, docs, values, (papers, len(vocab)))


def _offsets(counts: Ints) -> list[int]:
    """Where each id's entries start once sorted by id (given how many each id has), and the
    end of the last."""
    ends: list[int] = np.cumsum(counts).tolist()
    return [0, *ends]
