"""How a paper matched a profile phrase, in the subscriber's own words ("image editing (title)").

A label names the variant that matched best (the phrase, a part of it, or a synonym): all of it
when all its words are there, each next to the next, else the words of it the paper has (only
the telling ones: a word most candidates have explains nothing), and "(title)" when those are
all in the title. Which of these a paper is, is its label code (`ranking_label_codes`); papers
that matched alike share a code, and each code is spelled once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from newsletter.ranking_label_codes import LINKS, TITLE, VARIANT, WHOLE, Code, Codes
from newsletter.ranking_phrases import variants
from newsletter.textmatch_phrases import Unit

GAP = "…"  # stands for the words of a phrase that a label leaves out between two it names

Label = tuple[str, str]  # what the reader is shown, and a key equal for labels saying the same


class PhraseLabels:
    """The labels of one phrase, by label code (see the module docstring)."""

    def __init__(self, text: str) -> None:
        """Keep the phrase's variants; spell nothing until a label is asked for."""
        self.text = text
        self.variants = variants(text)
        self._spelled: dict[Code, Label] = {}

    def __call__(self, code: Code) -> Label:
        """The label of a code; spelled once."""
        found = self._spelled.get(code)
        if found is None:
            found = self._spelled[code] = self._spell(code)
        return found

    def _spell(self, code: Code) -> Label:
        """The words and key of a label code."""
        if code & TITLE:
            words, key = self(code & ~TITLE)
            return f"{words} (title)", f"{key} (title)"
        number = (code & ((1 << LINKS) - 1)) >> VARIANT
        units = self.variants[number].units
        chosen = [i for i in range(len(units)) if code >> i & 1]
        key = " ".join(sorted({s for i in chosen for s in units[i].stems}))
        every = range(len(units))
        if code & WHOLE:
            return self.text if number == 0 else _spell(units, every, every), key
        return _spell(units, chosen, [i for i in every if code >> (LINKS + i) & 1]), key


def matched_reason(labels: Iterable[Label]) -> str:
    """ "matched: ..." with the labels of the phrases a pick matched, in the order given, each
    said once."""
    said: dict[str, str] = {}
    for shown, key in labels:
        said.setdefault(key, shown)
    return "matched: " + ", ".join(said.values())


def matched_reasons(phrases: Sequence[PhraseLabels], pairs: Codes) -> list[str | None]:
    """`matched_reason` for each row of `pairs`, or None for a row that names no phrase. A row
    is the index in `phrases` of each phrase a pick matched, strongest first, each followed by
    its label code, then 0s.

    Tens of thousands of picks matched a set of phrases no other pick did: each distinct label
    is looked up once for all the rows, and the rows whose labels all say different things
    (most) are joined a column at a time (a list per row, kept for the whole batch, made the
    garbage collector run more).
    """
    rows, codes = len(pairs), pairs[:, 1::2]
    span = int(codes.max()) + 1
    real = None
    if (int(pairs[:, 0::2].max()) + 1) * span >= 1 << 62:  # would overflow: number the codes
        real, dense = np.unique(codes, return_inverse=True)
        codes, span = dense.reshape(codes.shape), len(real)
    distinct, which = np.unique(pairs[:, 0::2] * span + codes, return_inverse=True)
    which = which.reshape(rows, -1)
    code_of = (lambda at: at % span) if real is None else (lambda at: int(real[at % span]))
    labels = [phrases[at // span](code_of(at)) if at else ("", "") for at in distinct.tolist()]
    keys: dict[str, int] = {}
    said = np.array([keys.setdefault(key, len(keys)) for _, key in labels])[which]
    named = pairs[:, 0::2] > 0  # the phrases of a row come first, then 0s
    whole = np.array([bool(at and code_of(at) & WHOLE) for at in distinct.tolist()])[which]
    covered = _covered(said, named, named & ~whole, list(keys))
    said[~named] = -1 - np.nonzero(~named)[1]  # no two unnamed alike
    said.sort(axis=1)
    first = ["matched: " + words for words, _ in labels]
    more = [", " + words for words, _ in labels]
    if not distinct[0]:
        more[0] = ""  # the 0s after a row's phrases
    out: list[str | None] = list(map(first.__getitem__, which[:, 0].tolist()))
    for column in which[:, 1:].T.tolist():
        out = [text + more[i] for text, i in zip(out, column, strict=True)]
    retold = (said[:, 1:] == said[:, :-1]).any(axis=1) | covered.any(axis=1)
    for row in np.flatnonzero(retold).tolist():
        kept = named[row] & ~covered[row]
        out[row] = matched_reason([labels[i] for i in which[row, kept].tolist()])
    for row in np.flatnonzero(~named[:, 0]).tolist():
        out[row] = None
    return out


def _covered(
    said: Codes, named: npt.NDArray[np.bool_], parts: npt.NDArray[np.bool_], keys: list[str]
) -> npt.NDArray[np.bool_]:
    """Per row and column of `said` (label keys, strongest first), whether an earlier label of
    the row already says it: "backdoor attacks (title), attacks (title)" says "attacks" twice.
    A part of a phrase (`parts`; a phrase matched whole is always named) is covered by a label
    that has all its words (and is in the title if it is). The pairs of labels that meet in
    some row are compared once for all the rows."""
    width = said.shape[1]
    earlier = np.triu(np.ones((width, width), dtype=bool), k=1)  # [i, j]: column i before j
    meet = named[:, :, None] & parts[:, None, :] & earlier
    rows, before, after = np.nonzero(meet)
    out = np.zeros_like(named)
    if not len(rows):
        return out
    size = len(keys)
    met, where = np.unique(said[rows, before] * size + said[rows, after], return_inverse=True)
    words = [_words(key) for key in keys]
    says = np.array([_says(words[m // size], words[m % size]) for m in met.tolist()], dtype=bool)
    out[rows[says[where]], after[says[where]]] = True
    return out


def _words(key: str) -> tuple[frozenset[str], bool]:
    """The stems of a label's key, and whether it is a title label."""
    stems = key.removesuffix(" (title)")
    return frozenset(stems.split()), stems != key


def _says(first: tuple[frozenset[str], bool], then: tuple[frozenset[str], bool]) -> bool:
    """Whether a label (`first`) already says all that a later one (`then`) does."""
    (have, titled), (need, in_title) = first, then
    return have != need and need <= have and (titled or not in_title)


def _spell(units: tuple[Unit, ...], chosen: Iterable[int], linked: Iterable[int]) -> str:
    """The chosen words in the user's spelling; a hyphenated group is written whole when the
    paper has all its words, each next to the next ("text-to-image", not "text image"), and
    GAP stands for the words left out between two chosen ones ("vision-language … training")
    and between two the paper does not have side by side ("world … models"), so that a few
    words of a phrase do not read as the phrase. `linked` are the words the paper has next to
    the word after them."""
    picked, joined = set(chosen), set(linked)
    words: list[str] = []
    last = -1
    for i in sorted(picked):
        group = units[i].group
        members = [j for j, unit in enumerate(units) if unit.group == group]
        whole = group == units[i].word or (
            all(j in picked for j in members) and all(j in joined for j in members[:-1])
        )
        if whole and words and i - 1 == last and units[last].group == group:
            last = i  # the group is written whole already
            continue
        if words and (i > last + 1 or last not in joined):
            words.append(GAP)
        words.append(group if whole else units[i].word)
        last = i
    return " ".join(words)
