"""What the candidates have of one word or one link of a profile phrase, as vectors (`Signal`).

A phrase word is a tuple of stems (several for an acronym's long form, all needed); a link is
the tuple of stem pairs that put two words side by side, in either order (any one will do), or
a directed link: the two stems of an "X-to-Y" compound ("text-to-speech"), which a paper that
only writes "Y-to-X" ("speech-to-text") does not have.
Thousands of phrases share their words ("diffusion", "language model"), so signals are cached
per word and per link (`Evidence`), and read off the flat postings of `ranking_postings`,
with what every signal needs of a posting (its saturated evidence, whether the abstract
repeats it) worked out once for all the postings when the candidates are indexed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import numpy as np

from newsletter import textmatch
from newsletter.models import Paper
from newsletter.ranking_index import Index, Mask, Matrix, Positions, Vector, shared
from newsletter.ranking_text import Pair

SATURATION = 2.0  # evidence e counts e / (e + SATURATION): repeats add less and less
COMPONENT_FACTOR = 0.8  # a phrase neither whole in the title nor repeated in the abstract
COMPONENT_MENTIONS = 1.0  # "repeated": said more often than this in the abstract

Directed = tuple[str, str, str]  # (stem of X, stem of Y, "to"): "X-to-Y", in that order
Key = tuple[str, ...] | tuple[Pair, ...] | tuple[Directed]
TO = "to"


class Signal:
    """One word or link across the candidates: saturated field-weighted evidence, where it is
    present, the papers with it in the title and those that repeat it in the abstract.

    What only some uses need is worked out on first use: the factor of a passing mention (for
    phrases of one word or one link).
    """

    __slots__ = ("_passing", "present", "repeated", "saturated", "titled")

    def __init__(
        self, saturated: Vector, present: Mask, titled: Positions, repeated: Positions
    ) -> None:
        """A signal of read-only arrays (`saturated` and `present` are made so here)."""
        self.saturated = shared(saturated)
        self.present = shared(present)
        self.titled = titled
        self.repeated = repeated
        self._passing: Vector | None = None

    def passing(self) -> Vector:
        """COMPONENT_FACTOR where it is neither in the title nor repeated in the abstract, else
        1: the factor of a passing mention."""
        if self._passing is None:
            factor = _component_factors(len(self.saturated)).copy()
            factor[self.titled] = 1.0
            factor[self.repeated] = 1.0
            self._passing = shared(factor)
        return self._passing


class Evidence:
    """`Signal`s of phrase words and links over one index, cached per key."""

    def __init__(self, index: Index) -> None:
        """Evidence over `index`: the per-posting arrays now, no signal until asked for."""
        self.index = index
        self._cache: dict[Key, Signal] = {}
        counts = index.postings.values
        self._saturated = shared(counts / (counts + SATURATION))  # per entry of `postings`
        said = index.abstracts
        self._repeated = said.select(said.values > COMPONENT_MENTIONS)
        self._zeros = shared(np.zeros(len(index)))  # copied, as that is cheaper than np.zeros
        self._compounds: dict[int, frozenset[tuple[str, str]]] = {}  # `_directions`

    def __call__(self, key: Key) -> Signal:
        """The signal of a phrase word (a tuple of stems) or of a link (a tuple of pairs)."""
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._signal(key)
        return found

    def prefetch(self, keys: Iterable[Key]) -> None:
        """Compute the signals not cached yet of many keys at once: those of a word or link
        with one stem or pair in the postings (most) in a few array operations for all of them,
        a row each of one matrix; one at a time, numpy's overhead per call was most of the cost
        of a batch's new words."""
        vocab, cache = self.index.vocab, self._cache
        todo: dict[Key, int] = {}
        for key in keys:
            if len(key) == 1 and key not in cache and key[0] in vocab:
                todo.setdefault(key, vocab[key[0]])
        if not todo:
            return
        index, n = self.index, len(self.index)
        ids = np.fromiter(todo.values(), dtype=np.intp, count=len(todo))
        at, rows, docs = index.postings.rows(ids)
        saturated = np.zeros((len(ids), n))
        saturated[rows, docs] = self._saturated[at]
        present = np.zeros((len(ids), n), dtype=bool)
        present[rows, docs] = True
        titles, repeated = index.titles, self._repeated
        for key, found, row_saturated, row_present in zip(
            todo, todo.values(), saturated, present, strict=True
        ):
            titled = titles.docs[titles.span(found)]
            cache[key] = Signal(row_saturated, row_present, titled, repeated[found])

    def _signal(self, key: Key) -> Signal:
        """Compute a `Signal` from the postings."""
        if isinstance(key[0], tuple) and len(key[0]) == 3:
            return self._directed(key[0][0], key[0][1])
        vocab = self.index.vocab
        if len(key) == 1:  # most words and links
            found = vocab.get(key[0])
            return _absent(len(self.index)) if found is None else self._single(found)
        every = isinstance(key[0], str)  # a word needs all its stems, a link any of its pairs
        ids = [vocab[k] for k in key if k in vocab]
        if not ids or (every and len(ids) < len(key)):
            return _absent(len(self.index))
        if len(ids) == 1:
            return self._single(ids[0])
        return self._combined(ids, every)

    def _directed(self, first: str, then: str) -> Signal:
        """The link of "first-to-then" (stems): the pair side by side, in the papers that write
        "first-to-then" or "first to then" (or an acronym of it that they define); not in
        those that write "then-to-first" (captioning is "image-to-text", not "text-to-image")
        or only "first or then"."""
        link = self(((min(first, then), max(first, then)),))
        wrong = np.array(
            [d for d in np.flatnonzero(link.present).tolist()
             if (first, then) not in self._directions(d)],
            dtype=np.intp,
        )
        if not len(wrong):
            return link
        saturated, present = link.saturated.copy(), link.present.copy()
        saturated[wrong], present[wrong] = 0.0, False
        titled = shared(np.setdiff1d(link.titled, wrong))
        return Signal(saturated, present, titled, shared(np.setdiff1d(link.repeated, wrong)))

    def _directions(self, doc: int) -> frozenset[tuple[str, str]]:
        """The (X, Y) stems of every "X-to-Y" of a candidate; worked out once, and only for
        the papers that have both words side by side."""
        found = self._compounds.get(doc)
        if found is None:
            found = self._compounds[doc] = _compounds(self.index.papers[doc])
        return found

    def _single(self, key: int) -> Signal:
        """The signal of one key, read off its postings and the per-posting arrays (the
        postings are read-only, so are the slices taken of them)."""
        index = self.index
        where = index.postings.span(key)
        docs = index.postings.docs[where]
        saturated = self._zeros.copy()
        saturated[docs] = self._saturated[where]
        present = np.zeros(len(index), dtype=bool)
        present[docs] = True
        titled = index.titles.docs[index.titles.span(key)]
        return Signal(saturated, present, titled, self._repeated[key])

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
        return Signal(saturated, counts > 0, shared(np.flatnonzero(titled)), shared(repeated))


def passing_many(groups: list[list[Signal]]) -> Matrix:
    """COMPONENT_FACTOR where a phrase is neither whole in the title nor said twice in the
    abstract (all its links, or its one word), else 1: a row per phrase, the phrases all with
    as many links."""
    if len(groups[0]) == 1:
        return np.array([signals[0].passing() for signals in groups])
    n = len(groups[0][0].saturated)
    titled = _in_every([[s.titled for s in signals] for signals in groups], n)
    repeated = _in_every([[s.repeated for s in signals] for signals in groups], n)
    return np.where(titled | repeated, 1.0, COMPONENT_FACTOR)


def _in_every(positions: list[list[Positions]], n: int) -> Mask:
    """Per row (a list of lists of papers, as many lists each) and paper, whether the paper is
    in every list of the row: counted for all the rows in one call."""
    flat = [docs for row in positions for docs in row]
    offsets = np.repeat(np.arange(len(positions)) * n, len(positions[0]))
    at = np.concatenate(flat) + offsets.repeat([len(docs) for docs in flat])
    counts = np.bincount(at, minlength=len(positions) * n).reshape(len(positions), n)
    every: Mask = counts == len(positions[0])
    return every


def _compounds(paper: Paper) -> frozenset[tuple[str, str]]:
    """The (X, Y) stems of each "X-to-Y" or "X to Y" in a paper's title, abstract, AI summary
    and keywords, acronyms the paper defines read as their long forms."""
    title, abstract = textmatch.fold(paper.title), textmatch.fold(paper.abstract)
    local = textmatch.find_definitions(f"{title}. {abstract}")
    found = set()
    for text in (title, abstract, paper.ai_summary or "", *paper.ai_keywords):
        for sentence in textmatch.sentences(textmatch.clean(textmatch.fold(text))):
            said = list(textmatch.words(sentence, local))
            for before, middle, after in zip(said, said[1:], said[2:], strict=False):
                if middle == TO:
                    first, then = textmatch.word_stems(before), textmatch.word_stems(after)
                    if first and then:
                        found.add((first[-1], then[0]))
    return frozenset(found)


@functools.lru_cache(maxsize=16)
def _component_factors(n: int) -> Vector:
    """COMPONENT_FACTOR for each of n candidates, read-only: copied where needed, as a copy
    costs less than a fill."""
    return shared(np.full(n, COMPONENT_FACTOR))


def _absent(n: int) -> Signal:
    """The signal of a word or link no candidate has."""
    none = shared(np.zeros(0, dtype=np.intp))
    return Signal(np.zeros(n), np.zeros(n, dtype=bool), none, none)
