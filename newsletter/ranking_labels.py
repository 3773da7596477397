"""How a paper matched a profile phrase, in the subscriber's own words ("image editing (title)").

A label names the variant that matched best (the phrase, a part of it, or a synonym): all of it
when all its words are there, each next to the next, else the words of it the paper has (only
the telling ones: a word most candidates have explains nothing), and "(title)" when those are
all in the title. Papers that matched alike share a label, so a phrase has a handful of labels
for hundreds of papers: each paper gets a code (variant, whole, words, title), and each code is
spelled once.

Only the picks of some profile are ever labelled, a few dozen of the papers a phrase matches,
so a paper's code is worked out the first time it is asked for, from the cached signals
(`ranking_evidence`), and kept.
"""

from __future__ import annotations

from collections.abc import Iterable

from newsletter.ranking_evidence import Evidence
from newsletter.ranking_index import Index
from newsletter.ranking_phrases import Phrase, PhraseMatch, variants
from newsletter.textmatch_phrases import MAX_PHRASE_WORDS, Unit

GAP = "…"  # stands for the words of a phrase that a label leaves out between two it names
LABEL_MIN_IDF = 0.5  # words in more than about 60% of the candidates are left out of reasons
_TITLE, _WHOLE, _VARIANT = 1 << MAX_PHRASE_WORDS, 1 << (MAX_PHRASE_WORDS + 1), MAX_PHRASE_WORDS + 2

Label = tuple[str, str]  # what the reader is shown, and a key equal for labels saying the same
Code = int  # a bit per word named, then the flags (_TITLE, _WHOLE), then the variant's number


class PhraseLabels:
    """The labels of one phrase for every candidate (see the module docstring)."""

    def __init__(self, index: Index, text: str, match: PhraseMatch, evidence: Evidence) -> None:
        """Keep what the labels are made of; work out nothing until a label is asked for."""
        self.text = text
        self.variants = variants(text)
        self._index, self._match, self._evidence = index, match, evidence
        self._words: list[_VariantWords | None] = [None] * len(match.each)  # by variant
        self._labels: dict[int, Label] = {}  # by candidate
        self._reasons: dict[int, str] = {}  # by candidate
        self._spelled: dict[Code, Label] = {}

    def __call__(self, doc: int) -> Label:
        """The label of one candidate."""
        found = self._labels.get(doc)
        if found is None:
            code = self._code(doc)
            found = self._spelled.get(code)
            if found is None:
                found = self._spelled[code] = self._spell(code)
            self._labels[doc] = found
        return found

    def matched(self, doc: int) -> str:
        """The reason of a pick that matched this phrase alone: "matched: <label>"."""
        found = self._reasons.get(doc)
        if found is None:
            found = self._reasons[doc] = "matched: " + self(doc)[0]
        return found

    def _code(self, doc: int) -> Code:
        """The code of the variant a candidate matched best (the first of equals)."""
        each = self._match.each
        if len(each) == 1:
            number = 0
        elif each:
            number = max(range(len(each)), key=lambda v: float(each[v][doc]))
        else:
            return 0
        words = self._words[number]
        if words is None:
            phrase = self.variants[number]
            words = self._words[number] = _VariantWords(self._index, phrase, self._evidence)
        return words.code(doc) | number << _VARIANT

    def _spell(self, code: Code) -> Label:
        """The words and key of a label code."""
        if code & _TITLE:
            untitled = code & ~_TITLE
            found = self._spelled.get(untitled)
            if found is None:
                found = self._spelled[untitled] = self._spell(untitled)
            words, key = found
            return f"{words} (title)", f"{key} (title)"
        number = code >> _VARIANT
        units = self.variants[number].units
        chosen = [i for i in range(len(units)) if code >> i & 1]
        key = " ".join(sorted({s for i in chosen for s in units[i].stems}))
        if code & _WHOLE:
            return self.text if number == 0 else _spell(units, range(len(units))), key
        return _spell(units, chosen), key


class _VariantWords:
    """What the codes of one variant are made of: per word its bit and the papers that have
    it, and have it in the title; per link the same; and the words telling enough to be named."""

    def __init__(self, index: Index, phrase: Phrase, evidence: Evidence) -> None:
        """Look up the signals of the variant's words and links."""
        words = list(map(evidence, phrase.stems))
        self.words = [(1 << i, w.present, w.title_docs()) for i, w in enumerate(words)]
        links = list(map(evidence, phrase.links))
        self.links = [(link.present, link.title_docs()) for link in links]
        units = phrase.units
        self.telling = sum(1 << i for i, u in enumerate(units) if _telling(index, u.stems))
        self.every = (1 << len(units)) - 1

    def code(self, doc: int) -> Code:
        """The words a label names for one candidate (a bit each), whether all of them are there
        and linked (_WHOLE), and whether the named words are in the title (_TITLE)."""
        present = titled = 0
        for bit, has, in_title in self.words:
            if has[doc]:
                present |= bit
            if doc in in_title:
                titled |= bit
        whole = present == self.every
        linked_in_title = True
        for has, in_title in self.links:
            whole = whole and bool(has[doc])
            linked_in_title = linked_in_title and doc in in_title
        partial = present & self.telling
        chosen = present if whole or not partial else partial
        named_in_title = not chosen & ~titled and (linked_in_title or not whole)
        return chosen | named_in_title * _TITLE | whole * _WHOLE


def _telling(index: Index, stems: tuple[str, ...]) -> bool:
    """Whether a word is rare enough among the candidates to be worth naming."""
    return min(map(index.idf_of, stems)) >= LABEL_MIN_IDF


def _spell(units: tuple[Unit, ...], chosen: Iterable[int]) -> str:
    """The chosen words in the user's spelling; a hyphenated group is written whole when all
    its words are chosen ("text-to-image", not "text image"), and GAP stands for the words
    left out between two chosen ones ("vision-language … training"), so that a few words of a
    phrase do not read as a phrase of their own."""
    picked = set(chosen)
    words: list[str] = []
    last = -1
    for i in sorted(picked):
        group = units[i].group
        whole = group == units[i].word or all(
            j in picked for j, unit in enumerate(units) if unit.group == group
        )
        if whole and words and i - 1 == last and units[last].group == group:
            last = i  # the group is written whole already
            continue
        if words and i > last + 1:
            words.append(GAP)
        words.append(group if whole else units[i].word)
        last = i
    return " ".join(words)
