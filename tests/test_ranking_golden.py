"""Golden rankings: what the ranker picks from the real papers of August 2025, committed.

The other ranking tests check rules on small made-up days, and that the batched and one-by-one
paths agree with each other. This one pins the output itself (picks, scores, reasons) for
varied profiles on a real month, so that work on speed can show it changed nothing, and a change
of the ranking shows up as a diff to review. After an intended change, refresh the file and
read the diff before committing it:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_ranking_golden.py -q -p no:cacheprovider
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest

from newsletter.matching import Candidates, Request, rank, rank_many
from newsletter.models import Paper, Profile, Ranking, Topic
from newsletter.sources.hf import parse_daily_papers
from tests.conftest import HF_DAYS
from tests.golden_check import check_golden

REFRESH = "UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_ranking_golden.py"
TODAY = dt.date(2025, 8, 29)
PROFILES = 60
BATCHES = (1, 7, 20, 32)  # batch sizes, in turn: ranking must not depend on the company kept


def month() -> list[Paper]:
    """Every Hugging Face paper listed in August 2025, each id once (its first listing)."""
    papers: dict[str, Paper] = {}
    for path in sorted(HF_DAYS.glob("2025-08-*.json")):
        day = dt.date.fromisoformat(path.stem)
        for paper in parse_daily_papers(path.read_bytes(), day).papers:
            papers.setdefault(paper.id, paper)
    return list(papers.values())


def requests(papers: list[Paper]) -> list[Request]:
    """Profiles drawn with a fixed seed from the papers' own keywords and authors, with every
    knob of the profile language in use somewhere, and a few papers already sent."""
    rng = random.Random(11)
    keywords = [k for k, _ in Counter(k for p in papers for k in p.ai_keywords).most_common(300)]
    authors = sorted({a for p in papers for a in p.authors})
    out = []
    for _ in range(PROFILES):
        liked = rng.sample(papers, rng.choice((0, 0, 1, 2)))
        profile = Profile(
            topics=tuple(Topic(k, rng.choice((1.0, 1.0, 0.5, 2.0, -1.0)))
                         for k in rng.sample(keywords, rng.randint(0, 4))),
            exclude=tuple(rng.sample(keywords, rng.choice((0, 0, 1)))),
            authors=tuple(rng.sample(authors, rng.choice((0, 0, 0, 1)))),
            liked=tuple(p.id for p in liked),
            min_upvotes=rng.choice((0, 0, 5)),
            max_papers=rng.choice((0, 3, 10)),
            trending=rng.choice((0.0, 0.3, 1.0)),
            recency=rng.choice((0.0, 0.0, 0.5)),
        )
        seen = {p.id for p in rng.sample(papers, rng.choice((0, 0, 5)))}
        out.append(Request(profile, seen, liked))
    return out


def written(rankings: list[Ranking]) -> str:
    """Rankings as text: a block per profile, a line per pick."""
    lines = []
    for number, ranking in enumerate(rankings):
        lines.append(f"profile {number}")
        lines.extend(f"  {r.paper.id} {r.score:.4f} {' | '.join(r.reasons)}"
                     for r in ranking.picked)
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def month_requests() -> tuple[list[Paper], list[Request]]:
    papers = month()
    return papers, requests(papers)


def test_batched_rankings_match_golden(month_requests: tuple[list[Paper], list[Request]]
                                       ) -> None:
    """Ranked in batches of varied sizes, as `send` does, the month gives the committed picks."""
    papers, asked = month_requests
    candidates = Candidates.build(papers, today=TODAY)
    rankings: list[Ranking] = []
    start, turn = 0, 0
    while start < len(asked):
        size = BATCHES[turn % len(BATCHES)]
        rankings += rank_many(asked[start : start + size], candidates)
        start, turn = start + size, turn + 1
    assert sum(bool(r.picked) for r in rankings) > PROFILES // 2  # the golden file says much
    check_golden("rankings.txt", written(rankings), REFRESH)


def test_one_by_one_rankings_match_golden(month_requests: tuple[list[Paper], list[Request]]
                                          ) -> None:
    """Ranked one at a time with fresh caches, as `preview` does, the same committed picks."""
    papers, asked = month_requests
    candidates = Candidates.build(papers, today=TODAY)
    rankings = [rank(r.profile, candidates, seen=r.seen, liked_papers=r.liked_papers)
                for r in reversed(asked)]
    check_golden("rankings.txt", written(rankings[::-1]), REFRESH)
