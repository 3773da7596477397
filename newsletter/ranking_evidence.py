"""What the candidates have of one word or one link of a profile phrase, as vectors (`Signal`).

A phrase word is a tuple of stems (several for an acronym's long form, all needed); a link is
the tuple of stem pairs that put two words side by side, in either order (any one will do), or
a directed link: the two stems of an "X-to-Y" compound ("text-to-speech"), which a paper that
only writes "Y-to-X" ("speech-to-text") does not have.

Signals are read off the flat postings of `ranking_postings`, with what every signal needs of a
posting (its saturated evidence, whether the abstract repeats it) worked out once for all the
postings when the candidates are indexed. The words and links of a batch of new phrases are
read together, as the rows of one `Table` made for the batch and dropped after it: a few array
operations for all of them, and one indexing call to gather the words of many phrases. Only
the few signals that take more than one posting list (a word of several stems, a link of
several pairs, an "X-to-Y" link) are cached, per key. A signal cached for every word cost an
object and 4 KB of new memory each, and its pages are slow to get on a busy machine.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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
PRESENT, TITLED, REPEATED = range(3)  # the flags of a signal in a `Table`


class Signal:
    """One word or link across the candidates: saturated field-weighted evidence, where it is
    present, the papers with it in the title and those that repeat it in the abstract."""

    __slots__ = ("present", "repeated", "saturated", "titled")

    def __init__(
        self, saturated: Vector, present: Mask, titled: Positions, repeated: Positions
    ) -> None:
        """A signal of read-only arrays (`saturated` and `present` are made so here)."""
        self.saturated = shared(saturated)
        self.present = shared(present)
        self.titled = titled
        self.repeated = repeated


class Table:
    """The signals of some words and links, a row each (row 0: what no candidate has): their
    saturated evidence over the candidates, and flags over the candidates (PRESENT, TITLED,
    REPEATED: see `Signal`)."""

    def __init__(self, rows: dict[Key, int], saturated: Matrix, flags: Mask) -> None:
        """A table of the keys' signals, at `rows`."""
        self._rows = rows
        self._saturated = saturated
        self._flags = flags

    def rows(self, keys: Sequence[Sequence[Key]]) -> Positions:
        """The rows of the keys, a row of rows per sequence of keys (all as long)."""
        found = self._rows
        return np.array([[found[key] for key in row] for row in keys], dtype=np.intp)

    def saturated(self, rows: Positions) -> Matrix:
        """The saturated evidence of the signals at `rows`: an axis more than `rows`, the
        candidates."""
        gathered: Matrix = self._saturated[rows]
        return gathered

    def flags(self, rows: Positions) -> Mask:
        """The flags of the signals at `rows`: two axes more than `rows`, the flags (PRESENT,
        TITLED, REPEATED) then the candidates."""
        gathered: Mask = self._flags[rows]
        return gathered


class Evidence:
    """`Signal`s of phrase words and links over one index: a `Table` of them at a time; the
    signals made of several posting lists are cached per key."""

    def __init__(self, index: Index) -> None:
        """Evidence over `index`: the per-posting arrays now, no signal until asked for."""
        self.index = index
        self._cache: dict[Key, Signal] = {}
        counts = index.postings.values
        self._saturated = shared(counts / (counts + SATURATION))  # per entry of `postings`
        said = index.abstracts
        self._said = shared(said.values > COMPONENT_MENTIONS)  # per entry of `abstracts`
        self._repeated = said.select(self._said)
        self._zeros = shared(np.zeros(len(index)))  # copied, as that is cheaper than np.zeros
        self._compounds: dict[int, frozenset[tuple[str, str]]] = {}  # `_directions`

    def table(self, keys: Iterable[Key]) -> Table:
        """A `Table` of the signals of the keys: those of one stem or pair (most) scattered
        from the postings of all of them at once, the others copied from the cache."""
        vocab, rows = self.index.vocab, {}
        ids: list[int] = []  # vocab ids of the keys of one stem or pair, from row 1 on
        others: list[Key] = []
        for key in keys:
            if key in rows:
                continue
            if len(key) > 1 or (isinstance(key[0], tuple) and len(key[0]) == 3):  # see `_signal`
                others.append(key)
                rows[key] = -1  # its row comes after those of `ids`
            elif (found := vocab.get(key[0])) is not None:
                ids.append(found)
                rows[key] = len(ids)
            else:
                rows[key] = 0  # no candidate has it
        size, n = 1 + len(ids) + len(others), len(self.index)
        saturated, flags = np.zeros((size, n)), np.zeros((size, 3, n), dtype=bool)
        if ids:
            self._scatter(np.array(ids, dtype=np.intp), saturated, flags)
        for row, key in enumerate(others, start=1 + len(ids)):
            rows[key] = row
            signal = self._cache.get(key)
            if signal is None:
                signal = self._cache[key] = self._signal(key)
            saturated[row] = signal.saturated
            flags[row, PRESENT] = signal.present
            flags[row, TITLED, signal.titled] = True
            flags[row, REPEATED, signal.repeated] = True
        return Table(rows, saturated, flags)

    def _scatter(self, ids: Positions, saturated: Matrix, flags: Mask) -> None:
        """Write the signals of keys of one stem or pair each (vocab ids) into rows 1 on."""
        index = self.index
        at, rows, docs = index.postings.rows(ids)
        rows += 1
        saturated[rows, docs] = self._saturated[at]
        flags[rows, PRESENT, docs] = True
        _, rows, docs = index.titles.rows(ids)
        flags[rows + 1, TITLED, docs] = True
        at, rows, docs = index.abstracts.rows(ids)
        repeated = self._said[at]
        flags[rows[repeated] + 1, REPEATED, docs[repeated]] = True

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
        link = self._signal(((min(first, then), max(first, then)),))
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


def central(flags: Mask) -> Mask:
    """Where a phrase is what a paper is about: whole in the title, or said twice in the
    abstract; a row per phrase, from the `Table.flags` of its links (or of its one word), an
    axis each."""
    every: Mask = np.logical_and.reduce(flags[:, :, TITLED:], axis=1)  # every link: title, repeated
    about: Mask = every[:, 0] | every[:, 1]
    return about


def passing(flags: Mask) -> Matrix:
    """COMPONENT_FACTOR where a phrase is not `central` to a paper, else 1 (same arguments)."""
    factors: Matrix = np.where(central(flags), 1.0, COMPONENT_FACTOR)
    return factors


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


def _absent(n: int) -> Signal:
    """The signal of a word or link no candidate has."""
    none = shared(np.zeros(0, dtype=np.intp))
    return Signal(np.zeros(n), np.zeros(n, dtype=bool), none, none)
