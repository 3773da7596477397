"""What the ranker knows of the candidates besides their text: votes, age, authors, categories.

Built once per candidate set, like the text index (`ranking_index`), and read by every profile:
the vote boost and the "trending" flag, freshness against `today`, the tie-break order, and
where each followed-author key and each arXiv category is found.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import numpy as np

from newsletter import textmatch
from newsletter.models import Paper
from newsletter.ranking_index import Vector, shared
from newsletter.ranking_postings import Ints

HALF_LIFE_DAYS = 7.0
HOT_SHARE = 0.2  # "trending" is said of the candidates' top fifth by votes ...
HOT_MIN_VOTES = 10  # ... that have at least this many votes


class Facts:
    """Per-candidate votes, freshness, tie-break order, authors and categories."""

    def __init__(self, papers: Sequence[Paper], today: dt.date | None) -> None:
        """The facts of `papers` as they would be ranked on `today` (None: no freshness)."""
        self.papers = papers
        self._votes([max(0, p.upvotes) for p in papers])
        ages = [(today - p.listed_on).days if today else None for p in papers]
        self.freshness: Vector = shared(np.array([_freshness(a) for a in ages], dtype=np.float64))
        self._people()

    def _votes(self, ups: list[int]) -> None:
        """Vote boost in [0, 1], the "trending" flag and reason, and the tie-break order."""
        self.upvotes: Ints = shared(np.array(ups, dtype=np.intp))
        most = math.log1p(max(ups, default=0)) or 1.0
        self.votes: Vector = shared(np.log1p(np.array(ups, dtype=np.float64)) / most)
        cut = sorted(ups, reverse=True)[int(len(ups) * HOT_SHARE)] if ups else 0
        self.hot = [u >= max(cut, HOT_MIN_VOTES) for u in ups]
        self.vote_reasons = [f"trending: {u} votes" for u in ups]
        ranked = sorted(range(len(ups)), key=lambda d: (-ups[d], self.papers[d].id))
        self.by_order: Ints = shared(np.array(ranked, dtype=np.intp))  # more upvotes, smaller id

    def _people(self) -> None:
        """Index the papers by their authors' name keys and by their arXiv categories."""
        self.authors: dict[str, list[int]] = {}
        self.author_at: list[dict[str, list[int]]] = []  # per paper: key → author positions
        self.categories: dict[str, list[int]] = {}
        for doc, paper in enumerate(self.papers):
            at: dict[str, list[int]] = {}
            for position, name in enumerate(paper.authors):
                for key in textmatch.name_keys(name):
                    at.setdefault(key, []).append(position)
            self.author_at.append(at)
            for key in at:
                self.authors.setdefault(key, []).append(doc)
            for category in paper.categories:
                self.categories.setdefault(category.casefold(), []).append(doc)
        self.uncategorised = shared(np.array([not p.categories for p in self.papers], dtype=bool))

    def followed(self, doc: int, keys: list[str]) -> list[str]:
        """The authors of a paper found under any of the followed-author keys, in its order."""
        at = self.author_at[doc]
        found = sorted({p for key in keys for p in at.get(key, ())})
        authors = self.papers[doc].authors
        return [authors[p] for p in found]


def _freshness(age: int | None) -> float:
    """1 for a paper listed today, halving every HALF_LIFE_DAYS; 0 when no `today`."""
    return 0.0 if age is None else float(0.5 ** (max(0, age) / HALF_LIFE_DAYS))
