"""Score every candidate for one profile: relevance, then votes and freshness, then filters.

A profile is first resolved against the candidates (`Plan`): each of its phrases, liked papers
and authors becomes a vector over the candidates, looked up in the caches of `Candidates`. The
rest is a few numpy operations per profile (see `matching` for the formula).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import NamedTuple

import numpy as np

from newsletter import textmatch
from newsletter.models import Paper, Profile
from newsletter.ranking_candidates import Candidates
from newsletter.ranking_index import Matrix, Positions, Vector

QUALIFY = 0.12  # least relevance for a paper to be picked
TOPICAL_SHARE = 0.25  # weight of the TF-IDF cosine beside the phrase matches (1 = as much)
LIKED_WEIGHT = 1.2
AUTHOR_BONUS = 1.0


class Topic(NamedTuple):
    """A topic phrase of the profile, with its weight and its rows (`Candidates.topic`)."""

    text: str
    weight: float
    rows: Matrix  # the phrase match, then the TF-IDF dot product


class Plan(NamedTuple):
    """A profile resolved against the candidates: what each of its parts matches."""

    profile: Profile
    topics: list[Topic]
    excludes: list[tuple[str, Positions, Vector]]  # phrase, what it disqualifies, pushdown
    likes: list[tuple[str, Vector]]
    authors: list[int]
    in_categories: list[int]
    liked_ids: frozenset[str]
    interests: bool  # False: no topics, likes or authors, so the day's top votes (or categories)


def plan(profile: Profile, c: Candidates, liked_papers: Sequence[Paper]) -> Plan:
    """Look up (or compute, once per candidate set) every phrase, liked paper and author."""
    wanted = frozenset(profile.liked)
    topics = [Topic(t.phrase, t.weight, c.topic(t.phrase)) for t in profile.topics]
    likes = [(p.id, c.liked(p)) for p in liked_papers if p.id in wanted] if wanted else []
    authors: set[int] = set()
    for name in profile.authors:
        authors.update(c.facts.authors.get(textmatch.followed_key(name), ()))
    categories: set[int] = set()
    for category in profile.arxiv_categories:
        categories.update(c.facts.categories.get(category.casefold(), ()))
    excludes = [(e, *c.exclusion(e)) for e in profile.exclude]
    interests = bool(topics or likes or profile.authors)
    return Plan(
        profile, topics, excludes, likes, sorted(authors), sorted(categories), wanted, interests
    )


def relevance(plan: Plan, c: Candidates) -> Vector:
    """Every candidate's relevance to the profile (see `matching`); a new array."""
    if not plan.interests:
        if not plan.profile.arxiv_categories:
            return c.facts.votes.copy()
        rel = np.zeros(len(c))
        rel[plan.in_categories] = QUALIFY
        return rel
    rel = _topics(plan.topics, len(c))
    if plan.likes:
        rel += LIKED_WEIGHT * np.maximum.reduce([m for _, m in plan.likes])
    if c.meaning is not None:  # the semantic ranker: closeness in meaning (`ranking_semantic`)
        rel += c.meaning.boost(plan, rel, QUALIFY)
    if plan.authors:
        rel[plan.authors] += AUTHOR_BONUS
    return rel


def _topics(topics: list[Topic], n: int) -> Vector:
    """The weighted sum of the topics' phrase matches, blended with their TF-IDF cosine.

    Both are scaled to the profile's best paper before they are blended, so that the blend
    keeps the scale of the phrase matches (what QUALIFY and the reasons are about). The cosine
    only reorders papers that match a phrase, so that every pick can say what it matched.
    """
    if not topics or not n:
        return np.zeros(n)
    both = topics[0].weight * topics[0].rows  # a new array, so the sums below are in place
    for topic in topics[1:]:
        if topic.weight == 1.0:
            both += topic.rows
        else:
            both += topic.weight * topic.rows
    matched: Vector = both[0]
    dot: Vector = both[1]
    top, top_dot = float(matched[matched.argmax()]), float(dot[dot.argmax()])
    if top <= 0.0 or top_dot <= 0.0 or TOPICAL_SHARE <= 0.0:
        return matched
    share = 1.0 / (1.0 + TOPICAL_SHARE)
    blended: Vector = np.dot((share, share * TOPICAL_SHARE * top / top_dot), both)
    blended *= matched > 0.0
    return blended


def scores(plan: Plan, c: Candidates, seen: Collection[str]) -> Vector:
    """Every candidate's final score, 0 where it may not be picked (see `matching`)."""
    rel = relevance(plan, c)
    score = rel * c.multiplier(plan.profile.trending)
    authors = plan.authors
    kept = score[authors] if authors else None  # followed authors pass every filter
    np.putmask(score, rel < QUALIFY, 0.0)
    _filter(plan, c, score)
    if kept is not None:
        score[authors] = kept
    for ids in (seen, plan.liked_ids):
        if ids:
            score[positions(c, ids)] = 0.0
    return score


def _filter(plan: Plan, c: Candidates, score: Vector) -> None:
    """Apply the profile's exclusions (push down, or disqualify), min_upvotes and arXiv
    categories to the scores, in place."""
    profile = plan.profile
    for _, hard, factor in plan.excludes:
        score *= factor
        score[hard] = 0.0
    if profile.min_upvotes > 0:
        score[c.below(profile.min_upvotes)] = 0.0
    if profile.arxiv_categories:
        allowed = c.facts.uncategorised.copy()
        allowed[plan.in_categories] = True
        score[~allowed] = 0.0


def positions(c: Candidates, ids: Collection[str]) -> list[int]:
    """Positions of the given arXiv ids among the candidates (unknown ids are skipped)."""
    if len(ids) > len(c):
        return [d for d, p in enumerate(c.papers) if p.id in ids]
    index_of = c.index_of
    return [index_of[i] for i in ids if i in index_of]


def best(score: Vector, c: Candidates, k: int) -> list[int]:
    """The k best papers by score, ties to more upvotes then the smaller id; only score > 0.

    `by_order` lists the candidates in tie-break order, so a stable sort by score alone
    breaks ties the right way.
    """
    if k <= 0 or not len(score):
        return []
    by_order = c.facts.by_order
    ranked = by_order[score[by_order] > 0.0]
    if len(ranked) > 1:
        ranked = ranked[np.argsort(-score[ranked], kind="stable")[:k]]
    picked: list[int] = ranked.tolist()
    return picked
