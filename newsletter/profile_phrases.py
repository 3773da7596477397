"""When two phrases of a profile are the same phrase to the ranker.

The ranker matches a phrase by the stems of its words (`textmatch_phrases`), so "robot
manipulation", "Robot  Manipulation" and "robot manipulations" match exactly the same papers.
Written twice, such a topic would count twice: as if it had weight 2, which nobody meant by
it. A profile keeps the first of them (`models.Profile`), and `subscribers validate` says so.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from newsletter.textmatch_phrases import variants


@functools.lru_cache(maxsize=65536)  # a list of 10,000 subscribers shares a few thousand phrases
def phrase_key(phrase: str) -> tuple[object, ...]:
    """What makes two phrases the same to the ranker: the stems of their words, in order, and
    where a coordination splits them ("X and Y" is two phrases to match, "X Y" one). A phrase
    with no word to match ("the of") is compared as text, case and spacing aside."""
    units = variants(phrase)[0].units
    if units:
        return tuple((unit.stems, unit.after_and) for unit in units)
    return (" ".join(phrase.casefold().split()),)


def repeats(phrases: Iterable[str]) -> dict[int, int]:
    """For each phrase that repeats an earlier one, its position and the first one's."""
    first: dict[tuple[object, ...], int] = {}
    out: dict[int, int] = {}
    for index, phrase in enumerate(phrases):
        out_of = first.setdefault(phrase_key(phrase), index)
        if out_of != index:
            out[index] = out_of
    return out
