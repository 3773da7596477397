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
from newsletter.ranking_score import Plan, Topic

Reasons = tuple[str, ...]
_TRENDING = "trending"


def picks(plan: Plan, c: Candidates, docs: list[int], score: Vector) -> tuple[RankedPaper, ...]:
    """The picks as `RankedPaper`s with their reasons, best first; a pick with nothing to say
    for it is dropped."""
    at = np.array(docs, dtype=np.intp)
    values = score[at].round(4).tolist()
    papers = c.papers
    out = []
    for doc, value, matched, tail in zip(
        docs, values, _matches(plan, c, docs, at), _tails(plan, c, docs, at), strict=True
    ):
        why = (matched, *tail) if matched else tail
        if why:
            out.append(RankedPaper(papers[doc], value, why))
    return tuple(out)


def _matches(plan: Plan, c: Candidates, docs: list[int], at: Positions) -> list[str]:
    """ "matched: ..." for each pick ("" for a pick that matched no phrase).

    The phrases a pick matched are named strongest first (weight * match); ties go to the
    phrase that sorts last, so that the order never depends on the order of the topics. The
    order is worked out for all the picks at once: reasons are most of the cost of ranking.
    """
    topics = sorted((t for t in plan.topics if t.weight > 0), key=_text, reverse=True)
    if not topics:
        return [""] * len(docs)
    if len(topics) == 1:
        only = c.labels(topics[0].text)
        hits = (topics[0].rows[0][at] > 0.0).tolist()
        return [only.matched(doc) if hit else "" for doc, hit in zip(docs, hits, strict=True)]
    strengths = np.array([t.weight * t.rows[0][at] for t in topics]).T.tolist()
    labels = [c.labels(t.text) for t in topics]
    out = []
    for doc, strength in zip(docs, strengths, strict=True):
        hits = [i for i, value in enumerate(strength) if value > 0.0]
        if len(hits) > 1:
            hits.sort(key=strength.__getitem__, reverse=True)  # stable: ties keep text order
        out.append(_matched(doc, [labels[i] for i in hits]) if hits else "")
    return out


def _text(topic: Topic) -> str:
    """A topic's phrase (the tie-break of the phrases a pick matched)."""
    return topic.text


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
