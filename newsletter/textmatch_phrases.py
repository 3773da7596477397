"""A profile phrase as the ranker matches it: its words (`Unit`) and its variants.

A phrase is analysed with `textmatch`, as papers are, so that it matches however a paper
writes it; but a phrase is also structure. Its words keep the user's spelling (for the
reasons), an acronym's long form stays one word, and a phrase has variants (`variants`): the
parts of a coordination ("hallucination measurement and mitigation" → "hallucination
measurement", "hallucination mitigation") and the other names of a thing (SYNONYMS). Memoised,
as thousands of subscribers share words and phrases.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple

from newsletter.textmatch import (
    AMBIGUOUS_ACRONYMS,
    STOPWORDS,
    WORD,
    expand_word,
    fold,
    join_prefixes,
    lower_word,
    stem,
)

# Phrases that ML papers use for the same thing. A profile phrase that contains one member is
# also matched with each other member in its place (at a discount, see `matching`).
SYNONYMS: tuple[tuple[str, ...], ...] = (
    (
        "vision-language model",
        "multimodal large language model",
        "large multimodal model",
        "multimodal model",
        "multimodal LLM",
    ),
    ("computer-use agent", "GUI agent"),
    ("talking head", "talking face", "talking avatar", "talking portrait"),
    ("image editing", "image manipulation"),
    ("image generation", "text-to-image", "image synthesis"),
    ("video generation", "text-to-video", "video synthesis"),
    ("text-to-speech", "speech synthesis"),
    ("generation", "synthesis"),
    ("question answering", "QA"),
    ("mathematical", "math"),
    ("speech", "spoken"),
    ("multilingual", "cross-lingual", "bilingual"),
)

# textmatch.AMBIGUOUS_ACRONYMS as (acronym, long form). One way: a phrase with the acronym is
# also matched with its long form (in full: it is the same term, not another name), but a phrase
# with the long form does not match the acronym in a paper that does not say what it means by it.
SPELLED_OUT: tuple[tuple[str, str], ...] = tuple(
    (acronym.upper(), long_form) for acronym, long_form in AMBIGUOUS_ACRONYMS.items()
)

MAX_PHRASE_WORDS = 16  # a topic is a phrase, not a paragraph: words past this are ignored

_CONJUNCTIONS = frozenset({"and", "or", "vs", "versus", "nor", "&", "+", "/"})
_PUNCTUATION = ",;/&+|()"


class Unit(NamedTuple):
    """One word of a profile phrase: its stems (several for an acronym's long form), the word
    as the user spelled it, the hyphenated group it belongs to ("text-to-image"), and whether
    "and", "or" or a comma stands between it and the word before."""

    stems: tuple[str, ...]
    word: str
    group: str
    after_and: bool = False


def analyse_phrase(phrase: str) -> list[Unit]:
    """A profile phrase as units, so that papers are matched the way the phrase is analysed.

    Keeping an acronym's long form as one unit stops "AI" from counting as a two-word phrase
    match; the words let reasons quote the user's own spelling; the conjunction flag tells
    where a coordination splits ("hallucination measurement and mitigation").
    """
    out: list[Unit] = []
    conjunction = False
    for chunk in phrase.split():
        found = _chunk(chunk)
        conjunction = conjunction or found.opens
        if found.conjunction:
            conjunction = True
            continue
        for unit, after_and in found.units:
            if not out or out[-1].stems != unit.stems:
                out.append(after_and if conjunction and out else unit)
                conjunction = False
        conjunction = conjunction or found.closes
    return out[:MAX_PHRASE_WORDS]


class _Chunk(NamedTuple):
    """One white-space separated chunk of a profile phrase, analysed: whether punctuation
    opens or closes it, whether it is a conjunction, and the units of its words (stop words
    left out), each as it is and as it is after "and"."""

    opens: bool
    closes: bool
    conjunction: bool
    units: tuple[tuple[Unit, Unit], ...]


@functools.lru_cache(maxsize=65536)
def _chunk(chunk: str) -> _Chunk:
    """Analyse a chunk of a profile phrase; memoised, as thousands of phrases share words.

    Words are matched with their prefixes joined ("multi-reference" as "multireference", see
    `join_prefixes`) but keep the user's spelling for the reasons (with accents folded, see
    `fold`).
    """
    group = fold(chunk.strip(_PUNCTUATION))
    joined = join_prefixes(group)
    words = WORD.findall(joined)
    units = []
    spelling = words if joined == group else _as_spelled(group, words)  # most join nothing
    for word, spelled in zip(words, spelling, strict=True):
        stems = _query_stems(word)
        if stems:
            units.append((Unit(stems, spelled, group),
                          Unit(stems, spelled, group, after_and=True)))
    opens, closes = chunk[0] in _PUNCTUATION, chunk[-1] in _PUNCTUATION
    return _Chunk(opens, closes, group.lower() in _CONJUNCTIONS, tuple(units))


def _as_spelled(group: str, words: list[str]) -> list[str]:
    """The words of `join_prefixes(group)` as `group` spells them: the same letters, with the
    hyphens that joining took out put back ("multireference" → "multi-reference")."""
    out = []
    at = 0
    for word in words:
        start = at = group.index(word[0], at)
        for letter in word:
            at = group.index(letter, at) + 1  # past a hyphen that joining took out
        out.append(group[start:at])
    return out


def _query_stems(word: str) -> tuple[str, ...]:
    """The stems of one word of a profile phrase (an acronym's are its long form's, a stop
    word has none)."""
    long_form = expand_word(word, {}, query=True)
    if long_form is None:
        parts = [lower_word(word, query=True)]
    else:
        parts = WORD.findall(join_prefixes(long_form).lower())
    return tuple(stem(w) for w in parts if w not in STOPWORDS)


@dataclass(frozen=True, slots=True)
class Variant:
    """One way to match a phrase: its units, and which units of the phrase each stands for.

    `sources[i]` are the indexes of the phrase's own units that unit i replaces, so a synonym
    carries the weight of the words it replaces rather than its own; `swapped` are the indexes
    of the units a synonym brought in (they only count together); `spelled_out`: the synonym
    is the long form of an acronym of the phrase (SPELLED_OUT), the same term.
    """

    units: tuple[Unit, ...]
    sources: tuple[tuple[int, ...], ...]
    synonym: bool
    swapped: tuple[int, ...] = ()
    spelled_out: bool = False


@functools.lru_cache(maxsize=65536)
def variants(phrase: str) -> tuple[Variant, ...]:
    """The phrase itself, its conjuncts ("X Y and Z" → "X Y", "X Z"), and their synonyms;
    memoised, as both the phrase matcher and the TF-IDF view of a topic ask for them."""
    units = tuple(analyse_phrase(phrase))
    whole = Variant(units, _EACH_ITSELF[: len(units)], synonym=False)
    found = [v for base in [whole, *_conjuncts(whole)] for v in [base, *_synonyms(base)]]
    if len(found) == 1:
        return tuple(found)
    out: dict[tuple[tuple[str, ...], ...], Variant] = {}
    for variant in found:
        out.setdefault(tuple(u.stems for u in variant.units), variant)
    return tuple(out.values())


_EACH_ITSELF = tuple((i,) for i in range(MAX_PHRASE_WORDS))  # the sources of a phrase's units


def _conjuncts(whole: Variant) -> list[Variant]:
    """Split a coordination: "X Y and Z" → "X Y", "X Z"; "X and Y Z" → "X Z", "Y Z".

    The shared word is the multi-word part's first word when the others come after it, and its
    last word when they come before it; with no shared word, each part stands alone.
    """
    parts: list[list[int]] = []
    for i, unit in enumerate(whole.units):
        if unit.after_and or not parts:
            parts.append([])
        parts[-1].append(i)
    if len(parts) < 2:
        return []
    if len(parts[0]) > 1 and all(len(p) == 1 for p in parts[1:]):
        picks = [parts[0]] + [parts[0][:-1] + p for p in parts[1:]]
    elif len(parts[-1]) > 1 and all(len(p) == 1 for p in parts[:-1]):
        picks = [p + parts[-1][1:] for p in parts[:-1]] + [parts[-1]]
    else:
        picks = parts
    return [
        Variant(
            tuple(whole.units[i]._replace(after_and=False) for i in pick),
            tuple(whole.sources[i] for i in pick),
            synonym=False,
        )
        for pick in picks
    ]


def _synonyms(base: Variant) -> list[Variant]:
    """`base` with each SYNONYMS member it contains swapped for the other members (and each
    SPELLED_OUT acronym for its long form)."""
    out: list[Variant] = []
    stems = {s for u in base.units for s in u.stems}
    if stems.isdisjoint(_synonym_stems()):
        return out
    for members, group_stems, one_way in _synonym_groups():
        if stems.isdisjoint(group_stems):
            continue
        for member in members[:1] if one_way else members:
            found = _find_units(base.units, member, stems)
            if found is None:
                continue
            start, end = found
            replaced = tuple(j for src in base.sources[start:end] for j in src)
            for other in members:
                if other is not member:
                    units = base.units[:start] + other.units + base.units[end:]
                    size = len(other.units)
                    sources = base.sources[:start] + (replaced,) * size + base.sources[end:]
                    swapped = tuple(range(start, start + size))
                    out.append(Variant(units, sources, True, swapped, spelled_out=one_way))
    return out


class _Member(NamedTuple):
    """A member of a SYNONYMS group, analysed: its units, and all their stems in order."""

    units: tuple[Unit, ...]
    stems: tuple[str, ...]


@functools.cache
def _synonym_groups() -> tuple[tuple[tuple[_Member, ...], frozenset[str], bool], ...]:
    """SYNONYMS and SPELLED_OUT analysed once: each group's members, every stem of the group
    (a phrase with none of them cannot contain a member), and whether it is one way (a
    SPELLED_OUT pair: only its first member, the acronym, is swapped for the other)."""
    out = []
    for group, one_way in [*((g, False) for g in SYNONYMS), *((g, True) for g in SPELLED_OUT)]:
        members = []
        for name in group:
            units = tuple(analyse_phrase(name))
            members.append(_Member(units, tuple(s for u in units for s in u.stems)))
        out.append((tuple(members), frozenset(s for m in members for s in m.stems), one_way))
    return tuple(out)


@functools.cache
def _synonym_stems() -> frozenset[str]:
    """Every stem of SYNONYMS: a phrase with none of them has no synonym variant."""
    return frozenset(s for _, group_stems, _ in _synonym_groups() for s in group_stems)


def _find_units(
    units: tuple[Unit, ...], member: _Member, stems: set[str]
) -> tuple[int, int] | None:
    """Where the stems of `member` run over whole consecutive units: (first, after last)."""
    wanted = member.stems
    if not stems.issuperset(wanted):
        return None
    for start in range(len(units)):
        found: list[str] = []
        end = start
        while end < len(units) and len(found) < len(wanted):
            found.extend(units[end].stems)
            end += 1
        if tuple(found) == wanted:
            return start, end
    return None
