"""Profiles that are valid but will not do what their author meant (`subscribers validate`).

The schema accepts them, and refusing them would break a working file over a choice its author
may have made on purpose; so they are warnings: a phrase that is both wanted and excluded, arXiv
categories for a subscriber who reads only Hugging Face (whose listings carry none), liked
papers that are not stored, which count only once a fetch brings them, a phrase made only of
common words or symbols ("the of"), which matches nothing, a topic of more than LONG_TOPIC words
(a sentence, which papers match only in part), a phrase written twice ("robot
manipulation", "Robot Manipulations"), which counts once, and a followed author on no stored
paper, perhaps misspelt.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Sequence

from newsletter import textmatch
from newsletter.models import Source, Subscriber, Topic
from newsletter.profile_phrases import phrase_key, repeats
from newsletter.subscribers import SubscriberEntry, written_topics
from newsletter.textmatch_phrases import variants

LONG_TOPIC = 6  # a topic of more words than this is likely a sentence, matched in part only


def liked_ids(subscribers: Sequence[Subscriber]) -> set[str]:
    """Every arXiv id some subscriber liked (to look up in the store at once)."""
    return {paper_id for s in subscribers for paper_id in s.profile.liked}


def warnings(subscribers: Sequence[Subscriber], stored: Collection[str] | None,
             entries: Sequence[SubscriberEntry] = ()) -> list[str]:
    """One line per problem, naming the subscriber; `stored` is the liked ids the store has
    (None: no store yet, so nothing is said about them); `entries` are the subscribers as
    written, in the same order (their repeated phrases, which a `Subscriber` no longer has)."""
    lines: list[str] = []
    for index, subscriber in enumerate(subscribers):
        entry = entries[index] if index < len(entries) else None
        lines.extend(f"{subscriber.email}: {problem}"
                     for problem in _problems(subscriber, stored, entry))
    return lines


def _problems(subscriber: Subscriber, stored: Collection[str] | None,
              entry: SubscriberEntry | None) -> list[str]:
    profile, problems = subscriber.profile, []
    for topic in profile.topics:
        if not _has_words(topic.phrase):
            problems.append(f"topic \"{topic.phrase}\" has no word to match (only common words "
                            "or symbols): it matches nothing")
        elif (words := _words(topic.phrase)) > LONG_TOPIC:
            problems.append(f"topic \"{topic.phrase}\" has {words} words: a paper seldom has "
                            "them all; 2 to 5 work best (make it several topics)")
    for phrase in profile.exclude:
        if not _has_words(phrase):
            problems.append(f"exclude \"{phrase}\" has no word to match (only common words or "
                            "symbols): it excludes nothing")
    if entry is not None:
        problems += _repeated_topics(written_topics(entry))
        problems += [f"exclude \"{entry.exclude[index]}\" repeats \"{entry.exclude[first]}\": "
                     "it counts once" for index, first in repeats(entry.exclude).items()]
    excluded = {phrase_key(phrase) for phrase in profile.exclude}
    for topic in profile.topics:
        if phrase_key(topic.phrase) in excluded:
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


def unknown_authors(subscribers: Sequence[Subscriber], names: Collection[str]) -> list[str]:
    """Followed authors on no stored paper (`names`: the stored papers' authors), with the
    closest stored name when there is one: a misspelt name ("Furu Weii") never matches, and
    nothing else would say so. Nothing is said when no paper is stored yet."""
    if not names:
        return []
    keys = {key for name in names for key in textmatch.name_keys(name)}
    written = {textmatch.normalise_name(name): name for name in sorted(names)}
    lines = []
    for subscriber in subscribers:
        for author in subscriber.profile.authors:
            if textmatch.followed_key(author) in keys:
                continue
            close = difflib.get_close_matches(
                textmatch.normalise_name(author), list(written), n=1, cutoff=0.85
            )
            hint = (f"; did you mean \"{written[close[0]]}\"?" if close
                    else " yet: their papers count once a fetch brings one")
            lines.append(f"{subscriber.email}: author \"{author}\" is on no stored paper{hint}")
    return lines


def _repeated_topics(topics: Sequence[Topic]) -> list[str]:
    """A topic written twice, in any case, spacing or word form, counts once (`Profile`), with
    the largest weight written; said, as the author may have meant it to count twice."""
    again = repeats(topic.phrase for topic in topics)
    largest = {first: topics[first].weight for first in again.values()}
    for index, first in again.items():
        largest[first] = max(largest[first], topics[index].weight)
    problems = []
    for index, first in again.items():
        topic, kept = topics[index], topics[first]
        if topic.weight == kept.weight == largest[first]:
            problems.append(f"topic \"{topic.phrase}\" repeats \"{kept.phrase}\": it counts once "
                            "(use weight: 2 to make a topic count more)")
        else:
            problems.append(f"topic \"{topic.phrase}\" (weight {topic.weight:g}) repeats "
                            f"\"{kept.phrase}\" (weight {kept.weight:g}): it counts once, with "
                            f"the largest weight written, {largest[first]:g}")
    return problems


def _words(phrase: str) -> int:
    """How many words of a phrase the ranker matches (common words left out)."""
    return len(variants(phrase)[0].units)


def _has_words(phrase: str) -> bool:
    """Whether the ranker finds a word to match in a phrase ("the of", "🙂" have none)."""
    return any(variant.units for variant in variants(phrase))
