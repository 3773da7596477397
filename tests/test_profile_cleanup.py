"""A profile as the ranker sees it: a phrase written twice counts once, and `--explain` never
shows a paper left out as weak with numbers that read as if it were not."""

from __future__ import annotations

import datetime as dt

import pytest

from newsletter.matching import Candidates, rank
from newsletter.models import Paper, Profile, Ranking, Topic
from newsletter.ranking_explain import _why_not

DAY = dt.date(2025, 8, 12)
PAPERS = [
    ("2508.00001", "Dexterous robot manipulation with tactile sensing",
     "We learn robot manipulation policies from touch."),
    ("2508.00002", "World models for driving", "A world model predicts the road ahead."),
    ("2508.00003", "Manipulation of images", "An image editing method for robots in the loop."),
    ("2508.00004", "Convolutional networks for image classification",
     "We train convolutional networks."),
    ("2508.00005", "Speech recognition with transformers", "A transformer transcribes speech."),
    ("2508.00006", "Graph neural networks for molecules", "We predict molecular properties."),
]


def _candidates() -> Candidates:
    return Candidates.build([Paper(id=i, title=t, abstract=a, listed_on=DAY)
                             for i, t, a in PAPERS])


def _scores(ranking: Ranking) -> list[tuple[str, float]]:
    return [(r.paper.id, round(r.score, 9)) for r in ranking.picked]


def test_a_topic_written_twice_ranks_as_written_once() -> None:
    """"robot manipulation" in three spellings and a plural is one topic of weight 1, not a
    topic of weight 4, whoever builds the profile (the file, the benchmarks)."""
    twice = Profile(topics=(Topic("robot manipulation"), Topic("Robot Manipulation"),
                            Topic("robot  manipulation"), Topic("robot manipulations"),
                            Topic("world models")),
                    exclude=("image editing", "Image Editing"))
    once = Profile(topics=(Topic("robot manipulation"), Topic("world models")),
                   exclude=("image editing",))
    heavy = Profile(topics=(Topic("robot manipulation", 4.0), Topic("world models")),
                    exclude=("image editing",))
    assert twice == once
    candidates = _candidates()
    assert _scores(rank(twice, candidates)) == _scores(rank(once, candidates))
    assert _scores(rank(twice, candidates)) != _scores(rank(heavy, candidates))


def test_a_repeat_with_a_larger_weight_keeps_the_first_spelling() -> None:
    """The first spelling stays, with the largest weight written."""
    profile = Profile(topics=(Topic("Robot Manipulation", 0.5), Topic("world models"),
                              Topic("robot manipulations", 3.0), Topic("robot manipulation")))
    assert profile.topics == (Topic("Robot Manipulation", 3.0), Topic("world models"))


@pytest.mark.parametrize(
    ("rel", "least", "floor", "reason"),
    [
        # 0.1196 shown with 3 decimals is 0.120, which does not read as below 0.12
        (0.1196, 0.12, 0.0, "weak match (0.1196 < 0.12)"),
        (0.11996, 0.12, 0.0, "weak match (0.11996 < 0.12)"),
        (0.2236, 0.2237, 0.0, "weak match (0.2236 < 0.2237)"),
        (0.2496, 0.12, 0.25, "weak beside the best match (0.2496 < 0.2500; best)"),
        (0.2003, 0.12, 0.2004, "weak beside the best match (0.2003 < 0.2004; best)"),
        # three decimals that already read right stay as they were
        (0.110, 0.12, 0.0, "weak match (0.110 < 0.12)"),
        (0.179, 0.12, 0.25, "weak beside the best match (0.179 < 0.250; best)"),
    ],
)
def test_a_weak_match_reads_as_below_its_bound(rel: float, least: float, floor: float,
                                               reason: str) -> None:
    """As many decimals as it takes for the relevance to read as less than the bound."""
    assert _why_not(rel, 0.0, least, floor, "best") == reason
