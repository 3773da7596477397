"""What a reader is told about each pick: the reasons of a `RankedPaper`.

A pick's reasons come in this order: the phrases it matched, strongest first ("matched: GUI
grounding (title), computer-use agents"), followed authors ("by Percy Liang"), the closest liked
paper ("like 2305.10431"), its votes ("trending: 87 votes") or the profile's categories, and the
exclude phrases it mentions ("mentions video generation (pushed down)"). Labels come from the
caches of `Candidates`, so a label is spelled once for all subscribers.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice

import numpy as np

from newsletter import textmatch
from newsletter.models import RankedPaper
from newsletter.ranking_candidates import Candidates
from newsletter.ranking_index import Matrix, Positions, Vector
from newsletter.ranking_score import Plan, Topic

Reasons = tuple[str, ...]
_TRENDING = "trending"


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
    start = 0
    for plan, docs in zip(plans, chosen, strict=True):
        end = start + len(docs)
        tails = _tails(plan, c, docs, at[start:end]) if docs else None
        if tails is not None:
            for pick, tail in enumerate(tails, start):
                if tail:
                    reasons[pick] = reasons[pick] + tail
        start = end
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
    slots = max(map(len, topics), default=0)
    if not slots:
        return [()] * len(at)
    rows = np.zeros((len(plans), slots), dtype=np.intp)  # row 0 of the table is all zeros
    weights = np.zeros((len(plans), slots))
    for b, ranked in enumerate(topics):
        for slot, topic in enumerate(ranked):
            rows[b, slot], weights[b, slot] = topic.row, topic.weight
    picked = rows[owner]
    strengths = c.topic_table[picked, at[:, None]] * weights[owner]
    order = np.argsort(-strengths, axis=1, kind="stable")  # ties keep text order
    named = np.take_along_axis(picked * (strengths > 0.0), order, axis=1)  # then row 0s
    codes = c.code_table[named, at[:, None]]
    return c.matched(np.stack((named, codes), axis=2).reshape(len(at), -1))


def _text(topic: Topic) -> str:
    """A topic's phrase (the tie-break of the phrases a pick matched)."""
    return topic.text


def _tails(plan: Plan, c: Candidates, docs: list[int], at: Positions) -> list[Reasons] | None:
    """The reasons after "matched: ...", for each pick; None when there are none."""
    votes = _vote_reason(plan)
    if not (plan.authors or plan.likes or plan.excludes):
        if votes == _TRENDING and plan.interests:
            hot, said = c.facts.hot, c.facts.vote_reasons
            return [(said[doc],) if hot[doc] else () for doc in docs]
        if votes:
            return [(c.facts.vote_reasons[doc] if votes == _TRENDING else votes,) for doc in docs]
        return None
    return [tuple(tail) for tail in _more_reasons(plan, c, docs, at, votes)]


def _more_reasons(
    plan: Plan, c: Candidates, docs: list[int], at: Positions, votes: str
) -> list[list[str]]:
    """The reasons after "matched: ...", for each pick, when the profile has authors, liked
    papers or exclusions."""
    tails: list[list[str]] = [[] for _ in docs]
    if plan.authors:
        _author_reasons(plan, c, docs, tails)
    if plan.likes:
        _like_reasons(plan, at, tails)
    if votes:
        hot, said, everyone = c.facts.hot, c.facts.vote_reasons, not plan.interests
        for doc, tail in zip(docs, tails, strict=True):
            if everyone or hot[doc]:
                tail.append(said[doc] if votes == _TRENDING else votes)
    authors = set(plan.authors)
    for text, _, factor in plan.excludes:
        for pick in np.flatnonzero(factor[at] < 1.0).tolist():
            if docs[pick] not in authors:
                tails[pick].append(f"mentions {text} (pushed down)")
    return tails


def _author_reasons(plan: Plan, c: Candidates, docs: list[int], tails: list[list[str]]) -> None:
    """Add "by <followed author>" to the picks by followed authors."""
    keys = [textmatch.followed_key(n) for n in plan.profile.authors]
    authors = set(plan.authors)
    for doc, tail in zip(docs, tails, strict=True):
        if doc in authors:
            tail.append("by " + ", ".join(c.facts.followed(doc, keys)))


def _like_reasons(plan: Plan, at: Positions, tails: list[list[str]]) -> None:
    """Add "like <liked paper>" to the picks similar to a liked paper (the closest one)."""
    likes = [(liked, m[at].tolist()) for liked, m in plan.likes]
    for j, tail in enumerate(tails):
        sim, liked = max((values[j], liked) for liked, values in likes)
        if sim > 0:
            tail.append(f"like {liked}")


def _vote_reason(plan: Plan) -> str:
    """The votes reason: _TRENDING, a fixed text, or "" when votes do not count for this profile.

    A profile with no interests gets the day's top votes (or its categories), each pick with
    this reason; otherwise votes are mentioned for trending papers when the profile counts them.
    """
    profile = plan.profile
    if not plan.interests and profile.arxiv_categories:
        return "in " + ", ".join(profile.arxiv_categories)
    if not plan.interests or profile.trending > 0:
        return _TRENDING  # "trending: <votes> votes", see `Index.vote_reasons`
    return ""
