"""Why each candidate that was not picked was left out (`newsletter preview --explain`).

The first reason that applies wins, in this order: "already sent", "liked: already read",
"excluded: <phrase>", "below min_upvotes (3 < 5)", "not in cs.CL", then for the papers that
could have been sent: "below the cut (score 0.412)" (followed, for a paper of another medium
than the profile's, by "; about audio, not images (pushed down)": its score was pushed down
before the cut), "weak match (0.080 < 0.12)", "weak beside the best match (0.140 < 0.180;
2508.12345 has 1.200)" or "no topic matched". Followed authors pass every filter but the first
two.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

import numpy as np

from newsletter.models import Excluded
from newsletter.ranking_candidates import Candidates
from newsletter.ranking_fields import elsewhere_reason
from newsletter.ranking_index import Vector
from newsletter.ranking_score import Plan, best_matches, floors, qualify, relevance


def explain(
    plan: Plan, c: Candidates, seen: Collection[str], score: Vector, picked: Collection[str]
) -> tuple[Excluded, ...]:
    """Every candidate that was not picked, with the first reason that applies to it."""
    matrix = relevance([plan], c)
    best, at = best_matches([plan], matrix, score[None, :])
    rel, scores = matrix[0].tolist(), score.tolist()
    top = f"{c.papers[int(at[0])].id} has {float(best[0]):.3f}" if len(c) else ""
    least = (qualify(plan), float(floors(best)[0]), top)
    blocks = _blocks(plan, c, seen)
    pushed = defaultdict(str, _pushed(plan, c))
    return tuple(
        Excluded(paper, blocks.get(doc) or _why_not(rel[doc], scores[doc], *least, pushed[doc]))
        for doc, paper in enumerate(c.papers)
        if paper.id not in picked
    )


def _pushed(plan: Plan, c: Candidates) -> dict[int, str]:
    """"; about <its medium>, not <the profile's> (pushed down)" for each paper of another
    medium than the profile's (`ranking_fields`), but those of followed authors."""
    if plan.elsewhere is None:
        return {}
    (medium, papers), head, authors = plan.elsewhere, c.paper_fields.head, set(plan.authors)
    return {
        doc: "; " + elsewhere_reason(head[doc], medium)
        for doc in np.flatnonzero(papers).tolist()
        if doc not in authors
    }


def _blocks(plan: Plan, c: Candidates, seen: Collection[str]) -> dict[int, str]:
    """Why each paper that may not be sent may not, by position (later rules overwrite
    earlier ones, so the first reason of the module docstring wins)."""
    profile = plan.profile
    out: dict[int, str] = {}
    if profile.arxiv_categories:
        inside = set(plan.in_categories)
        outside = f"not in {', '.join(profile.arxiv_categories)}"
        out.update((d, outside) for d, p in enumerate(c.papers) if p.categories and d not in inside)
    for doc, paper in enumerate(c.papers):
        if paper.upvotes < profile.min_upvotes:
            out[doc] = f"below min_upvotes ({paper.upvotes} < {profile.min_upvotes})"
    for text, hard, _ in reversed(plan.excludes):
        out.update((d, f"excluded: {text}") for d in hard.tolist())
    for doc in plan.authors:
        out.pop(doc, None)
    for ids, why in ((plan.liked_ids, "liked: already read"), (seen, "already sent")):
        out.update((c.index_of[i], why) for i in ids if i in c.index_of)
    return out


def _why_not(
    rel: float, score: float, least: float, floor: float, best: str, pushed: str = ""
) -> str:
    """The reason for a paper that may be sent but was not picked (`least`: the relevance it
    needed, `floor`: what it needed beside the best match, `best`: that paper's id and
    relevance, `pushed`: what follows "below the cut" for a paper of another medium)."""
    if score > 0:
        return f"below the cut (score {score:.3f}){pushed}"
    if rel <= 0:
        return "no topic matched"
    if rel < least:
        return f"weak match ({_less(rel, least, f'{least:g}')})"
    if rel < floor:
        return f"weak beside the best match ({_less(rel, floor)}; {best})"
    return f"below the cut (score {score:.3f})"


def _less(value: float, bound: float, written: str | None = None) -> str:
    """`value < bound` with 3 decimals, or as many more as it takes for the two to read as
    less (0.1196 below 0.12 is "0.1196 < 0.12", not "0.120 < 0.12"); `written` is the bound
    as the profile writes it, if it is shown so."""
    for places in range(3, 13):
        left = f"{value:.{places}f}"
        right = written if written is not None else f"{bound:.{places}f}"
        if float(left) < float(right):
            return f"{left} < {right}"
    return f"{value!r} < {written if written is not None else repr(bound)}"
