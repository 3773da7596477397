"""What a reader is told about each pick: the reasons of a `RankedPaper`.

A pick's reasons come in this order: the phrases it matched, strongest first ("matched: GUI
grounding (title), computer-use agents"), followed authors ("by Percy Liang"), the closest liked
paper ("like 2305.10431"), its votes ("trending: 87 votes") or the profile's categories, the
exclude phrases it mentions ("mentions video generation (pushed down)") and another medium
than the profile's ("about audio, not images (pushed down)"). Labels come from the
caches of `Candidates`, so a label is spelled once for all subscribers.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice

import numpy as np

from newsletter.models import RankedPaper
from newsletter.ranking_candidates import Candidates
from newsletter.ranking_index import Matrix, Positions, Vector
from newsletter.ranking_score import Plan, Topic, topic_slots
from newsletter.ranking_tails import tails

Reasons = tuple[str, ...]


def picks(plan: Plan, c: Candidates, docs: list[int], score: Vector) -> tuple[RankedPaper, ...]:
    """The picks as `RankedPaper`s with their reasons, best first; a pick with nothing to say
    for it is dropped."""
    return picks_many([plan], c, [docs], score[None, :])[0]


def picks_many(
    plans: Sequence[Plan], c: Candidates, chosen: Sequence[list[int]], score: Matrix
) -> list[tuple[RankedPaper, ...]]:
    """`picks` of many profiles, a row of `score` each: the numpy work of the reasons is done
    for all the picks of the batch at once, as per profile its overhead was most of the cost."""
    owner = np.repeat(np.arange(len(plans)), [len(docs) for docs in chosen])
    at = np.array([doc for docs in chosen for doc in docs], dtype=np.intp)
    values = score[owner, at].round(4).tolist()
    reasons = _matches(plans, c, chosen, owner, at)
    for said in tails(plans, c, owner, at):
        for pick, text in said.items():
            reasons[pick] += (text,)
    papers = c.papers
    made = [
        RankedPaper(papers[doc], value, why) if why else None
        for doc, value, why in zip(at.tolist(), values, reasons, strict=True)
    ]
    each = iter(made)
    return [tuple(filter(None, islice(each, len(docs)))) for docs in chosen]


def _matches(
    plans: Sequence[Plan], c: Candidates, chosen: Sequence[list[int]], owner: Positions,
    at: Positions,
) -> list[Reasons]:
    """("matched: ...",) for each pick of each profile, in one list (() for a pick that
    matched no phrase); `owner` is the profile of each pick, `at` its paper.

    The phrases a pick matched are named strongest first (weight * match); ties go to the
    phrase that sorts last, so that the order never depends on the order of the topics. The
    order is worked out for all the picks at once: reasons are most of the cost of ranking.
    """
    topics = [
        sorted((t for t in plan.topics if t.weight > 0), key=_text, reverse=True) if docs else []
        for plan, docs in zip(plans, chosen, strict=True)
    ]
    rows, weights = topic_slots(topics)
    if not rows.shape[1]:
        return [()] * len(at)
    picked = rows[owner]
    strengths = c.topic_table[picked, at[:, None]] * weights[owner]
    order = np.argsort(-strengths, axis=1, kind="stable")  # ties keep text order
    named = np.take_along_axis(picked * (strengths > 0.0), order, axis=1)  # then row 0s
    codes = c.code_table[named, at[:, None]]
    return c.matched(np.stack((named, codes), axis=2).reshape(len(at), -1))


def _text(topic: Topic) -> str:
    """A topic's phrase (the tie-break of the phrases a pick matched)."""
    return topic.text
