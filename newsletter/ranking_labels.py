"""How a paper matched a profile phrase, in the subscriber's own words ("image editing (title)").

A label names the variant that matched best (the phrase, a part of it, or a synonym): all of it
when all its words are there, each next to the next, else the words of it the paper has (only
the telling ones: a word most candidates have explains nothing), and "(title)" when those are
all in the title. Papers that matched alike share a label, so a phrase has a handful of labels
for hundreds of papers: each paper gets a code (variant, whole, words, title), computed for
all the candidates at once from the cached signals (`ranking_evidence`), and each code is
spelled once.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from newsletter.ranking_evidence import Evidence, Signal
from newsletter.ranking_index import Index, Mask
from newsletter.ranking_phrases import Phrase, PhraseMatch, variants
from newsletter.textmatch import MAX_PHRASE_WORDS

LABEL_MIN_IDF = 0.5  # words in more than about 60% of the candidates are left out of reasons
_TITLE, _WHOLE, _VARIANT = 1 << MAX_PHRASE_WORDS, 1 << (MAX_PHRASE_WORDS + 1), MAX_PHRASE_WORDS + 2

Label = tuple[str, str]  # what the reader is shown, and a key equal for labels saying the same
Codes = npt.NDArray[np.int64]  # per candidate: a bit per word named, then the flags and variant


class PhraseLabels:
    """The labels of one phrase for every candidate (see the module docstring)."""

    def __init__(self, index: Index, text: str, match: PhraseMatch, evidence: Evidence) -> None:
        """Work out every candidate's label code; spell none yet."""
        self.text = text
        self.variants = variants(text)
        codes = np.zeros(len(index), dtype=np.int64)
        best = np.vstack(match.each).argmax(axis=0) if len(match.each) > 1 else None
        for number, phrase in enumerate(self.variants[: len(match.each)]):
            code = _codes(index, phrase, evidence) | (number << _VARIANT)
            codes = code if best is None else np.where(best == number, code, codes)
        self._codes = codes
        self._spelled: dict[int, Label] = {}
        self._matched: dict[int, str] = {}

    def __call__(self, doc: int) -> Label:
        """The label of one candidate."""
        code = int(self._codes[doc])
        found = self._spelled.get(code)
        if found is None:
            found = self._spelled[code] = self._spell(code)
        return found

    def matched(self, doc: int) -> str:
        """The reason of a pick that matched this phrase alone: "matched: <label>"."""
        code = int(self._codes[doc])
        found = self._matched.get(code)
        if found is None:
            found = self._matched[code] = "matched: " + self(doc)[0]
        return found

    def _spell(self, code: int) -> Label:
        """The words and key of a label code."""
        number = code >> _VARIANT
        phrase = self.variants[number]
        chosen = [i for i in range(len(phrase.units)) if code >> i & 1]
        if code & _WHOLE:
            words = self.text if number == 0 else _spell(phrase, range(len(phrase.units)))
        else:
            words = _spell(phrase, chosen)
        key = " ".join(sorted({s for i in chosen for s in phrase.units[i].stems}))
        if code & _TITLE:
            return f"{words} (title)", f"{key} (title)"
        return words, key


def _codes(index: Index, phrase: Phrase, evidence: Evidence) -> Codes:
    """Per candidate: the words of a variant a label names (a bit each), whether all of them
    are there and linked (_WHOLE), and whether the named words are in the title (_TITLE)."""
    n = len(index)
    words = [evidence(unit.stems) for unit in phrase.units]
    links = [evidence(keys) for keys in phrase.links]
    present, titled = _bits(words, n)
    full = (1 << len(words)) - 1
    whole = present == full
    for link in links:
        whole &= link.present
    telling = sum(1 << i for i, u in enumerate(phrase.units) if _telling(index, u.stems))
    partial = present & telling
    chosen = np.where(whole | (partial == 0), present, partial)
    in_title = (chosen & ~titled) == 0
    if links:
        in_title &= ~whole | _all_titled(links, n)
    codes: Codes = chosen | in_title * _TITLE | whole * _WHOLE
    return codes


def _bits(words: list[Signal], n: int) -> tuple[Codes, Codes]:
    """Per candidate, a bit per word it has, and a bit per word in its title."""
    present = np.zeros(n, dtype=np.int64)
    titled = np.zeros(n, dtype=np.int64)
    for i, word in enumerate(words):
        present |= word.present * (1 << i)
        titled[word.titled] |= 1 << i
    return present, titled


def _all_titled(links: list[Signal], n: int) -> Mask:
    """Which candidates have every link in the title."""
    times = np.bincount(np.concatenate([link.titled for link in links]), minlength=n)
    every: Mask = times == len(links)
    return every


def _telling(index: Index, stems: tuple[str, ...]) -> bool:
    """Whether a word is rare enough among the candidates to be worth naming."""
    return min(map(index.idf_of, stems)) >= LABEL_MIN_IDF


def _spell(phrase: Phrase, chosen: Iterable[int]) -> str:
    """The chosen words in the user's spelling; a hyphenated group is written whole when all
    its words are chosen ("text-to-image", not "text image")."""
    picked = set(chosen)
    units = phrase.units
    words = (
        units[i].group
        if picked.issuperset(j for j, other in enumerate(units) if other.group == units[i].group)
        else units[i].word
        for i in sorted(picked)
    )
    return " ".join(dict.fromkeys(words))
