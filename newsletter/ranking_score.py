"""Score every candidate for one profile: relevance, then votes and freshness, then filters.

A profile is first resolved against the candidates (`Plan`): each of its phrases, liked papers
and authors becomes a vector over the candidates, looked up in the caches of `Candidates`. The
rest works on many profiles at once, a row each (see `matching` for the formula): thousands of
subscribers are ranked in a few numpy calls rather than a few per subscriber.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import NamedTuple

import numpy as np

from newsletter import textmatch
from newsletter.models import DEFAULT_MIN_RELEVANCE, Paper, Profile
from newsletter.ranking_candidates import Candidates
from newsletter.ranking_fields import FIELD_FACTOR, Medium, medium_of
from newsletter.ranking_index import Mask, Matrix, Positions, Vector

QUALIFY = DEFAULT_MIN_RELEVANCE  # least relevance to be picked (a profile's min_relevance)
TOPICAL_SHARE = 0.25  # weight of the TF-IDF cosine beside the phrase matches (1 = as much)
LIKED_WEIGHT = 1.2
AUTHOR_BONUS = 1.0
RELATIVE_FLOOR = 0.15  # a pick needs this share of the relevance of the profile's best match
FLOOR_CAP = 0.25  # but never more: a whole phrase said once in an abstract scores about 0.26


class Topic(NamedTuple):
    """A topic phrase of the profile, with its weight and its row in `Candidates.topic_table`
    (the phrase match, then the TF-IDF dot product, `Candidates.topic`)."""

    text: str
    weight: float
    row: int


class Elsewhere(NamedTuple):
    """The medium a profile is about (`ranking_fields`), and which candidates are of another
    (pushed down)."""

    medium: Medium
    papers: Mask


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
    elsewhere: Elsewhere | None  # None: the profile is about no medium (most are not)


def plan(profile: Profile, c: Candidates, liked_papers: Sequence[Paper]) -> Plan:
    """Look up (or compute, once per candidate set) every phrase, liked paper and author."""
    row = c.topic_row
    topics = [Topic(t.phrase, t.weight, row(t.phrase)) for t in profile.topics]
    wanted = frozenset(profile.liked) if profile.liked else _NONE
    likes = [(p.id, c.liked(p)) for p in liked_papers if p.id in wanted] if wanted else []
    authors = _found(c.facts.authors, map(textmatch.followed_key, profile.authors))
    categories = _found(c.facts.categories, map(str.casefold, profile.arxiv_categories))
    excludes = [(e, *c.exclusion(e)) for e in profile.exclude] if profile.exclude else []
    interests = bool(topics or likes or profile.authors)
    medium = medium_of(profile) if topics else None
    elsewhere = Elsewhere(medium, c.elsewhere(medium)) if medium else None
    return Plan(profile, topics, excludes, likes, authors, categories, wanted, interests, elsewhere)


_NONE: frozenset[str] = frozenset()


def _found(where: dict[str, list[int]], keys: Iterable[str]) -> list[int]:
    """The candidates listed under any of the keys, sorted."""
    found = [where.get(key, ()) for key in keys]
    if not found:  # most profiles follow no author and name no category
        return []
    return sorted(set().union(*found))


def relevance(plans: Sequence[Plan], c: Candidates) -> Matrix:
    """Every candidate's relevance to each profile (see `matching`), a row per plan."""
    rel = _topics(plans, c)
    for row, plan in zip(rel, plans, strict=True):
        if not plan.interests:
            if plan.profile.arxiv_categories:
                row[plan.in_categories] = QUALIFY
            else:
                row[:] = c.facts.votes
            continue
        if plan.likes:
            row += LIKED_WEIGHT * np.maximum.reduce([m for _, m in plan.likes])
        if c.meaning is not None:  # the semantic ranker: closeness in meaning (`ranking_semantic`)
            row += c.meaning.boost(plan, row, qualify(plan))
        if plan.authors:
            row[plan.authors] += AUTHOR_BONUS
    return rel


def qualify(plan: Plan) -> float:
    """The least relevance for a paper to be picked: the profile's `min_relevance`, or QUALIFY
    for a profile without interests (its relevance is votes or categories, not a match)."""
    return plan.profile.min_relevance if plan.interests else QUALIFY


def topic_slots(topics: Sequence[Sequence[Topic]]) -> tuple[Positions, Matrix]:
    """Each profile's topics as a row of `Candidates.topic_table` rows and a row of weights,
    in the order given; shorter lists are padded with row 0 (all zeros) and weight 0."""
    slots = max(map(len, topics), default=0)
    rows = np.zeros((len(topics), slots), dtype=np.intp)
    weights = np.zeros((len(topics), slots))
    for b, listed in enumerate(topics):
        for slot, topic in enumerate(listed):
            rows[b, slot], weights[b, slot] = topic.row, topic.weight
    return rows, weights


def _topics(plans: Sequence[Plan], c: Candidates) -> Matrix:
    """The weighted sum of each profile's phrase matches, blended with their TF-IDF cosine.

    Both are scaled to the profile's best paper before they are blended, so that the blend
    keeps the scale of the phrase matches (what QUALIFY and the reasons are about). The cosine
    only reorders papers that match a phrase, so that every pick can say what it matched.
    The profiles' topics are gathered from `Candidates.topic_table` and summed a slot at a
    time for all the profiles at once: per profile, the Python overhead of a few small array
    operations was most of the ranking.
    """
    n = len(c)
    rows, weights = topic_slots([plan.topics for plan in plans])
    slots = rows.shape[1]
    if not slots or not n:
        return np.zeros((len(plans), n))
    table = c.topic_table
    both = table[rows[:, 0]] * weights[:, :1]
    for slot in range(1, slots):
        both += table[rows[:, slot]] * weights[:, slot : slot + 1]
    matched, dot = both[:, :n], both[:, n:]
    top, top_dot = matched.max(axis=1), dot.max(axis=1)
    blend = (top > 0.0) & (top_dot > 0.0) & (TOPICAL_SHARE > 0.0)
    share = 1.0 / (1.0 + TOPICAL_SHARE)
    scale = share * TOPICAL_SHARE * top[blend] / top_dot[blend]
    blended = share * matched[blend] + scale[:, None] * dot[blend]
    blended *= matched[blend] > 0.0
    matched[blend] = blended
    return matched


def scores(plans: Sequence[Plan], c: Candidates, seen: Sequence[Collection[str]]) -> Matrix:
    """Every candidate's final score for each profile, 0 where it may not be picked (see
    `matching`); a row per plan, `seen` the ids each has been sent."""
    rel = relevance(plans, c)
    score = rel * _multipliers(c, [(p.profile.trending, p.profile.recency) for p in plans])
    kept = [
        row[plan.authors] if plan.authors else None for row, plan in zip(score, plans, strict=True)
    ]
    np.putmask(score, rel < np.array([qualify(plan) for plan in plans])[:, None], 0.0)
    minimum = np.array([plan.profile.min_upvotes for plan in plans])
    if minimum.any():
        score[c.facts.upvotes[None, :] < minimum[:, None]] = 0.0
    for row, plan, authors, ids in zip(score, plans, kept, seen, strict=True):
        if plan.excludes or plan.profile.arxiv_categories or plan.elsewhere is not None:
            _filter(plan, c, row)
        if authors is not None:
            row[plan.authors] = authors  # followed authors pass every filter
        for unwanted in (ids, plan.liked_ids):
            if unwanted:
                row[positions(c, unwanted)] = 0.0
    weak = rel < floors(best_matches(plans, rel, score)[0])[:, None]
    for row, plan in zip(weak, plans, strict=True):
        if plan.authors:
            row[plan.authors] = False  # followed authors' papers are never weak
    np.putmask(score, weak, 0.0)
    return score


def best_matches(
    plans: Sequence[Plan], rel: Matrix, score: Matrix
) -> tuple[Vector, Positions]:
    """Each profile's best relevance among the papers it may be sent (a score above 0),
    leaving out the followed authors' bonus, and that paper; 0 for a profile the floor does
    not apply to (without interests, or with min_relevance 0). Alike from the scores before
    and after the floor (`ranking_explain` reads the final ones): the floor spares the best
    paper and the followed authors' papers.

    With the semantic ranker, meaning counts here (a paper close in meaning to the profile can
    stay beside its best match); min_relevance is still met by words alone.
    """
    basis = np.where(score > 0.0, rel, 0.0)
    for row, plan in zip(basis, plans, strict=True):
        if plan.authors:
            row[plan.authors] = np.maximum(row[plan.authors] - AUTHOR_BONUS, 0.0)
    if not basis.shape[1]:
        return np.zeros(len(plans)), np.zeros(len(plans), dtype=np.intp)
    at = basis.argmax(axis=1)
    active = [plan.interests and plan.profile.min_relevance > 0 for plan in plans]
    best: Vector = basis[np.arange(len(plans)), at] * np.array(active, dtype=bool)
    return best, at


def floors(best: Vector) -> Vector:
    """The least relevance a pick needs beside the profile's best match: RELATIVE_FLOOR of it,
    at most FLOOR_CAP.

    On a day with a paper squarely about several of a profile's topics, a paper that has only
    some words of one of them is a near miss; on a day without, the floor is below
    min_relevance and changes nothing. The cap keeps every paper that has a phrase whole,
    however strong the best match (a heavily weighted topic). On the judged month this left
    out a tenth of what daily digests send, for 2 of 349 relevant papers (none of grade 2).
    """
    least: Vector = np.minimum(RELATIVE_FLOOR * best, FLOOR_CAP)
    return least


def _multipliers(c: Candidates, knobs: list[tuple[float, float]]) -> Matrix:
    """`Candidates.multiplier` of each profile's (trending, recency), a row per profile."""
    distinct = list(dict.fromkeys(knobs))
    where = {knob: i for i, knob in enumerate(distinct)}
    rows = np.stack([c.multiplier(*knob) for knob in distinct])
    return rows[[where[knob] for knob in knobs]]


def _filter(plan: Plan, c: Candidates, score: Vector) -> None:
    """Apply the profile's exclusions (push down, or disqualify), its medium (push down the
    papers of another, `ranking_fields`) and arXiv categories to the scores, in place."""
    if plan.elsewhere is not None:
        score[plan.elsewhere.papers] *= FIELD_FACTOR
    for _, hard, factor in plan.excludes:
        score *= factor
        score[hard] = 0.0
    if plan.profile.arxiv_categories:
        allowed = c.facts.uncategorised.copy()
        allowed[plan.in_categories] = True
        score[~allowed] = 0.0


def positions(c: Candidates, ids: Collection[str]) -> list[int]:
    """Positions of the given arXiv ids among the candidates (unknown ids are skipped)."""
    if len(ids) > len(c):
        return [d for d, p in enumerate(c.papers) if p.id in ids]
    index_of = c.index_of
    return [index_of[i] for i in ids if i in index_of]


def best(score: Matrix, c: Candidates, ks: Sequence[int]) -> list[list[int]]:
    """Each row's k best papers by score, ties to more upvotes then the smaller id; only
    score > 0.

    `by_order` lists the candidates in tie-break order, so a stable sort by score alone
    breaks ties the right way. Only the papers that can make a row's top k are sorted (score
    at least its k-th best, found by partitioning), all the rows' together in one call: sorting
    every row whole was most of the cost. The zeros (most of a row) are told apart by distinct
    negative stand-ins before partitioning: numpy's selection slows ninefold on a row of equal
    values, and a k-th best below zero still means "every paper above zero".
    """
    n = score.shape[1]
    k_most = min(max(ks, default=0), n)
    if k_most <= 0:
        return [[] for _ in ks]
    by_order = c.facts.by_order
    ordered = score[:, by_order]
    distinct = np.where(ordered > 0.0, ordered, -1.0 - np.arange(n))
    kth = np.partition(distinct, n - k_most, axis=1)[:, n - k_most : n - k_most + 1]
    rows, at = np.nonzero((ordered >= kth) & (ordered > 0.0))  # by row, then tie-break order
    ranked = np.lexsort((-ordered[rows, at], rows))  # stable: ties keep the tie-break order
    docs = by_order[at[ranked]].tolist()
    ends = np.cumsum(np.bincount(rows, minlength=len(ks))).tolist()
    return [
        docs[start : min(start + k, end)]
        for start, end, k in zip([0, *ends[:-1]], ends, ks, strict=True)
    ]
