"""A profile as the ranker sees it: `--explain` never shows a paper left out as weak with
numbers that read as if it were not."""

from __future__ import annotations

import pytest

from newsletter.ranking_explain import _why_not


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
