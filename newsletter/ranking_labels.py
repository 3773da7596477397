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
from newsletter.textmatch import MAX_PHRASE_WORDS

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
        self._words: dict[int, _VariantWords] = {}  # by variant number
        self._codes: dict[int, Code] = {}  # by candidate
        self._spelled: dict[Code, Label] = {}
        self._matched: dict[Code, str] = {}

    def __call__(self, doc: int) -> Label:
        """The label of one candidate."""
        code = self._code(doc)
        found = self._spelled.get(code)
        if found is None:
            found = self._spelled[code] = self._spell(code)
        return found

    def matched(self, doc: int) -> str:
        """The reason of a pick that matched this phrase alone: "matched: <label>"."""
        code = self._code(doc)
        found = self._matched.get(code)
        if found is None:
            found = self._matched[code] = "matched: " + self(doc)[0]
        return found

    def _code(self, doc: int) -> Code:
        """The label code of one candidate, worked out on the first ask."""
        found = self._codes.get(doc)
        if found is None:
            found = self._codes[doc] = self._work_out(doc)
        return found

    def _work_out(self, doc: int) -> Code:
        """The code of the variant a candidate matched best (the first of equals)."""
        each = self._match.each
        if not each:
            return 0
        number = 0 if len(each) == 1 else max(range(len(each)), key=lambda v: each[v][doc])
        words = self._words.get(number)
        if words is None:
            phrase = self.variants[number]
            words = self._words[number] = _VariantWords(self._index, phrase, self._evidence)
        return words.code(doc) | number << _VARIANT

    def _spell(self, code: Code) -> Label:
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


class _VariantWords:
    """What the codes of one variant are made of: its words' and links' signals, the papers
    with each in the title, and which words are telling enough to be named."""

    def __init__(self, index: Index, phrase: Phrase, evidence: Evidence) -> None:
        """Look up the signals of the variant's words and links."""
        self.words = [evidence(unit.stems) for unit in phrase.units]
        self.links = [evidence(keys) for keys in phrase.links]
        self.word_titles = [frozenset(word.titled.tolist()) for word in self.words]
        self.link_titles = [frozenset(link.titled.tolist()) for link in self.links]
        units = phrase.units
        self.telling = sum(1 << i for i, u in enumerate(units) if _telling(index, u.stems))
        self.every = (1 << len(units)) - 1

    def code(self, doc: int) -> Code:
        """The words a label names for one candidate (a bit each), whether all of them are there
        and linked (_WHOLE), and whether the named words are in the title (_TITLE)."""
        present = titled = 0
        for i, (word, in_title) in enumerate(zip(self.words, self.word_titles, strict=True)):
            if word.present[doc]:
                present |= 1 << i
            if doc in in_title:
                titled |= 1 << i
        whole = present == self.every and all(link.present[doc] for link in self.links)
        partial = present & self.telling
        chosen = present if whole or not partial else partial
        in_title = not chosen & ~titled
        if whole and self.links:
            in_title = in_title and all(doc in titles for titles in self.link_titles)
        return chosen | in_title * _TITLE | whole * _WHOLE


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
