"""What a reader is told about each pick: the reasons of a `RankedPaper`.

A pick's reasons come in this order: the phrases it matched, strongest first ("matched: GUI
grounding (title), computer-use agents"), followed authors ("by Percy Liang"), the closest liked
paper ("like 2305.10431"), its votes ("trending: 87 votes") or the profile's categories, and the
exclude phrases it mentions ("mentions video generation (pushed down)"). Labels come from the
caches of `Candidates`, so a label is spelled once for all subscribers.
"""

from __future__ import annotations

import numpy as np

from newsletter import textmatch
from newsletter.models import RankedPaper
from newsletter.ranking_candidates import Candidates
from newsletter.ranking_index import Positions, Vector
from newsletter.ranking_labels import PhraseLabels
from newsletter.ranking_score import Plan

Reasons = tuple[str, ...]
_TRENDING = "trending"


def picks(plan: Plan, c: Candidates, docs: list[int], score: Vector) -> tuple[RankedPaper, ...]:
    """The picks as `RankedPaper`s with their reasons, best first; a pick with nothing to say
    for it is dropped.

    The phrases a pick matched are named strongest first (weight * match); ties go to the
    phrase that sorts last, so that the order never depends on the order of the topics.
    """
    at = np.array(docs, dtype=np.intp)
    values = score[at].round(4).tolist()
    tails = _tails(plan, c, docs, at)
    topics = [(t.weight, t.rows[0][at].tolist(), c.labels(t.text)) for t in plan.topics]
    topics = [topic for topic in topics if topic[0] > 0]
    out = []
    for j, doc in enumerate(docs):
        hits = [(w * v[j], labels.text, labels) for w, v, labels in topics if v[j] > 0]
        if len(hits) > 1:
            hits.sort(key=_strength, reverse=True)
        why = (_matched(doc, [h[2] for h in hits]), *tails[j]) if hits else tails[j]
        if why:
            out.append(RankedPaper(c.papers[doc], values[j], why))
    return tuple(out)


def _strength(hit: tuple[float, str, PhraseLabels]) -> tuple[float, str]:
    """How strongly a pick matched a phrase, then the phrase (the sort key of the hits)."""
    return hit[0], hit[1]


def _matched(doc: int, labels: list[PhraseLabels]) -> str:
    """ "matched: ..." with the labels of the phrases a pick matched, in the order given, each
    said once."""
    if len(labels) == 1:
        return labels[0].matched(doc)
    said: dict[str, str] = {}
    for phrase in labels:
        shown, key = phrase(doc)
        said.setdefault(key, shown)
    return "matched: " + ", ".join(said.values())


def _tails(plan: Plan, c: Candidates, docs: list[int], at: Positions) -> list[Reasons]:
    """The reasons after "matched: ...", for each pick."""
    votes = _vote_reason(plan)
    if not (plan.authors or plan.likes or plan.excludes):
        if votes == _TRENDING and plan.interests:
            hot, said = c.facts.hot, c.facts.vote_reasons
            return [(said[doc],) if hot[doc] else () for doc in docs]
        if votes:
            return [(c.facts.vote_reasons[doc] if votes == _TRENDING else votes,) for doc in docs]
        return [()] * len(docs)
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
        pushed = (factor[at] < 1.0).tolist()
        for doc, tail, flag in zip(docs, tails, pushed, strict=True):
            if flag and doc not in authors:
                tail.append(f"mentions {text} (pushed down)")
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
