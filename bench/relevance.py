"""Score the ranker on the judged relevance set of shared/relevance (August 2025).

    .venv/bin/python bench/relevance.py              # the whole month as one pool
    .venv/bin/python bench/relevance.py --week       # each week of the month on its own
    .venv/bin/python bench/relevance.py --out run.json --detail gui-agents

Loads the August daily-papers fixtures with a tiny loader of its own, turns every profile of
profiles.yaml into a `Profile` (max_papers=10, the other knobs at their defaults), ranks, writes
a run file (profile id → ranked ids) and prints the table of shared/relevance/score.py. In
--week mode the week's picks are concatenated in order per profile, so the month's judgments
still score them: it shows whether the ranker holds up on small pools with unstable IDF.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from newsletter.matching import Candidates, rank
from newsletter.models import Paper, Profile, Topic

SHARED = Path(__file__).resolve().parents[2] / "shared"
FIXTURES = SHARED / "fixtures" / "hf" / "daily_papers"
RELEVANCE = SHARED / "relevance"


def _text(value: object) -> str:
    """Collapse white space (titles are line-folded upstream)."""
    return " ".join(str(value or "").split())


def load_day(path: Path) -> list[Paper]:
    """Papers of one daily-papers file, listed on the day the file name says."""
    day = dt.date.fromisoformat(path.stem)
    papers = []
    for item in json.loads(path.read_text(encoding="utf-8")):
        raw = item["paper"]
        papers.append(
            Paper(
                id=raw["id"],
                title=_text(raw["title"]),
                abstract=_text(raw.get("summary")),
                listed_on=day,
                authors=tuple(_text(a.get("name")) for a in raw.get("authors", [])),
                upvotes=int(raw.get("upvotes", 0)),
                ai_summary=_text(raw.get("ai_summary")) or None,
                ai_keywords=tuple(_text(k) for k in raw.get("ai_keywords", [])),
            )
        )
    return papers


def load_month(pattern: str = "2025-08-*.json") -> list[Paper]:
    """Every paper of the month, each id once (its first listing)."""
    seen: dict[str, Paper] = {}
    for path in sorted(FIXTURES.glob(pattern)):
        for paper in load_day(path):
            seen.setdefault(paper.id, paper)
    return list(seen.values())


def load_profiles() -> dict[str, Profile]:
    """The relevance set's profiles as the ranker sees them."""
    data: Any = YAML(typ="safe").load((RELEVANCE / "profiles.yaml").read_text(encoding="utf-8"))
    return {
        entry["id"]: Profile(
            topics=tuple(Topic(phrase) for phrase in entry["topics"]),
            exclude=tuple(entry.get("exclude", ())),
            liked=tuple(entry.get("liked", ())),
            max_papers=10,
        )
        for entry in data["profiles"]
    }


def rank_pool(
    papers: list[Paper], profiles: dict[str, Profile], today: dt.date | None, known: list[Paper]
) -> dict[str, list[str]]:
    """Rank one pool of candidates for every profile; liked papers come from all `known` ones."""
    by_id = {p.id: p for p in known}
    candidates = Candidates.build(papers, today=today)
    run = {}
    for name, profile in profiles.items():
        liked = [by_id[i] for i in profile.liked if i in by_id]
        ranking = rank(profile, candidates, liked_papers=liked)
        run[name] = [r.paper.id for r in ranking.picked]
    return run


def weeks(papers: Iterable[Paper]) -> list[list[Paper]]:
    """The papers grouped by ISO week of their listing day."""
    groups: dict[tuple[int, int], list[Paper]] = {}
    for paper in papers:
        iso = paper.listed_on.isocalendar()
        groups.setdefault((iso.year, iso.week), []).append(paper)
    return [groups[key] for key in sorted(groups)]


def score(run: dict[str, list[str]], out: Path | None) -> None:
    """Write the run file and print score.py's table."""
    path = out or Path(tempfile.mkstemp(suffix=".json")[1])
    path.write_text(json.dumps(run, indent=1), encoding="utf-8")
    subprocess.run([sys.executable, str(RELEVANCE / "score.py"), str(path)], check=True)


def main(argv: list[str] | None = None) -> None:
    """Parse flags, rank, score."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--week", action="store_true", help="rank each week of the month separately")
    parser.add_argument("--out", type=Path, help="where to write the run file (default: a temporary file)")
    args = parser.parse_args(argv)
    papers = load_month()
    profiles = load_profiles()
    if not args.week:
        run = rank_pool(papers, profiles, None, papers)
    else:
        run = {name: [] for name in profiles}
        for week in weeks(papers):
            today = max(p.listed_on for p in week)
            for name, ids in rank_pool(week, profiles, today, papers).items():
                run[name].extend(ids)
    score(run, args.out)


if __name__ == "__main__":
    main()
