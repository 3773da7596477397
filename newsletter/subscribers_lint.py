"""Profiles that are valid but will not do what their author meant (`subscribers validate`).

The schema accepts them, and refusing them would break a working file over a choice its author
may have made on purpose; so they are warnings: a phrase that is both wanted and excluded, arXiv
categories for a subscriber who reads only Hugging Face (whose listings carry none), liked
papers that are not stored, which count only once a fetch brings them, and a phrase made only of
common words or symbols ("the of"), which matches nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from newsletter.models import Source, Subscriber
from newsletter.textmatch_phrases import variants


def liked_ids(subscribers: Sequence[Subscriber]) -> set[str]:
    """Every arXiv id some subscriber liked (to look up in the store at once)."""
    return {paper_id for s in subscribers for paper_id in s.profile.liked}


def warnings(subscribers: Sequence[Subscriber], stored: Collection[str] | None) -> list[str]:
    """One line per problem, naming the subscriber; `stored` is the liked ids the store has
    (None: no store yet, so nothing is said about them)."""
    lines: list[str] = []
    for subscriber in subscribers:
        lines.extend(f"{subscriber.email}: {problem}" for problem in _problems(subscriber, stored))
    return lines


def _problems(subscriber: Subscriber, stored: Collection[str] | None) -> list[str]:
    profile, problems = subscriber.profile, []
    for topic in profile.topics:
        if not _has_words(topic.phrase):
            problems.append(f"topic \"{topic.phrase}\" has no word to match (only common words "
                            "or symbols): it matches nothing")
    for phrase in profile.exclude:
        if not _has_words(phrase):
            problems.append(f"exclude \"{phrase}\" has no word to match (only common words or "
                            "symbols): it excludes nothing")
    excluded = {phrase.casefold() for phrase in profile.exclude}
    for topic in profile.topics:
        if topic.phrase.casefold() in excluded:
            problems.append(f"\"{topic.phrase}\" is both a topic and excluded: papers about it "
                            "are left out")
    if profile.arxiv_categories and Source.ARXIV not in subscriber.sources:
        problems.append("arxiv_categories filters only papers that also came from arXiv, "
                        "and sources has no arxiv: Hugging Face listings carry no categories")
    if stored is not None:
        missing = [paper_id for paper_id in profile.liked if paper_id not in stored]
        if len(missing) == 1:
            problems.append(f"liked {missing[0]} is not stored yet: it counts once a fetch "
                            "brings it")
        elif missing:
            problems.append(f"liked {', '.join(missing)} are not stored yet: they count once a "
                            "fetch brings them")
    return problems


def _has_words(phrase: str) -> bool:
    """Whether the ranker finds a word to match in a phrase ("the of", "🙂" have none)."""
    return any(variant.units for variant in variants(phrase))
