"""Time the ranker: one day of 500 papers for 10,000 subscribers.

    .venv/bin/python bench/rank.py                  # defaults: 500 papers, 10,000 profiles
    .venv/bin/python bench/rank.py --papers 200 --profiles 2000 --seed 3
    .venv/bin/python bench/rank.py --semantic       # the semantic ranker: model, embedding, ranking

The day is built from every daily-papers fixture (about 420 distinct papers), topped up to
--papers with copies under new ids. Profiles are drawn with a fixed seed: 1-5 topics from the
fixtures' ai_keywords (popular keywords are picked more often, as subscribers share interests),
and now and then exclusions, followed authors, liked papers, min_upvotes, trending and a few
already-sent ids. Prints the seconds for Candidates.build and for all the rank calls (the
first pass computes every phrase; the second shows the cost once phrases are cached), and µs
per profile. The target is rank calls ≤ 1 s on the 2-core development machine.

--semantic also times loading the model and embedding the candidates (copies get their id in
the title, so that every one of the --papers is embedded, none found in the cache).
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from newsletter.matching import Candidates, rank
from newsletter.models import Paper, Profile, Topic
from newsletter.ranking_semantic import load_embedder

sys.path.insert(0, str(Path(__file__).resolve().parent))
from relevance import FIXTURES, load_day


def day_of_papers(count: int, distinct: bool = False) -> list[Paper]:
    """Every fixture paper once, listed today, topped up with renamed copies to `count` (with
    `distinct`, each copy's title ends with its id)."""
    unique: dict[str, Paper] = {}
    for path in sorted(FIXTURES.glob("*.json")):
        for paper in load_day(path):
            unique.setdefault(paper.id, paper)
    base = list(unique.values())
    papers = base[:count]
    copy = 0
    while len(papers) < count:
        original = base[copy % len(base)]
        pid = f"9{copy // 99999:03d}.{copy % 99999:05d}"
        title = f"{original.title} ({pid})" if distinct else original.title
        papers.append(dataclasses.replace(original, id=pid, title=title))
        copy += 1
    today = max(p.listed_on for p in papers)
    return [dataclasses.replace(p, listed_on=today) for p in papers]


def vocabulary(papers: list[Paper]) -> tuple[list[str], list[float]]:
    """Candidate topic phrases and how popular each is (Zipf-like by keyword frequency)."""
    counts = Counter(k.strip() for p in papers for k in p.ai_keywords if k.strip())
    ranked = [k for k, _ in counts.most_common()]
    return ranked, [1.0 / (r + 10) for r in range(len(ranked))]


def profiles(papers: list[Paper], count: int, rng: random.Random) -> list[tuple[Profile, set[str]]]:
    """`count` varied profiles, each with the ids it has already been sent."""
    phrases, weights = vocabulary(papers)
    authors = sorted({a for p in papers for a in p.authors})
    ids = [p.id for p in papers]
    out = []
    for _ in range(count):
        topics = tuple(
            Topic(phrase, rng.choice((1.0, 1.0, 1.0, 0.5, 2.0)))
            for phrase in rng.choices(phrases, weights, k=rng.randint(1, 5))
        )
        profile = Profile(
            topics=topics,
            exclude=tuple(rng.choices(phrases, weights, k=rng.choice((0, 0, 0, 1, 2)))),
            authors=tuple(rng.sample(authors, rng.choice((0, 0, 0, 0, 1, 3)))),
            liked=tuple(rng.sample(ids, rng.choice((0, 0, 0, 0, 1, 2)))),
            min_upvotes=rng.choice((0, 0, 0, 1, 5, 10)),
            max_papers=rng.choice((5, 10, 10, 20)),
            trending=rng.choice((0.0, 0.3, 0.3, 0.5, 1.0)),
        )
        out.append((profile, set(rng.sample(ids, rng.choice((0, 0, 0, 3))))))
    return out


def timed(work: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of a call (CPU time is steadier on a busy machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def run(
    candidates: Candidates, cases: list[tuple[Profile, set[str]]], by_id: dict[str, Paper]
) -> None:
    """Rank every profile once."""
    for profile, seen in cases:
        liked = [by_id[i] for i in profile.liked]
        rank(profile, candidates, seen=seen, liked_papers=liked)


def main(argv: list[str] | None = None) -> None:
    """Build the day, draw the profiles, time the ranker."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--papers", type=int, default=500)
    parser.add_argument("--profiles", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--semantic", action="store_true", help="the semantic ranker")
    args = parser.parse_args(argv)
    papers = day_of_papers(args.papers, distinct=args.semantic)
    cases = profiles(papers, args.profiles, random.Random(args.seed))
    by_id = {p.id: p for p in papers}
    embedder = load_embedder() if args.semantic else None
    model = timed(embedder.load) if embedder else None
    built: list[Candidates] = []
    build = timed(lambda: built.append(
        Candidates.build(papers, today=papers[0].listed_on, embedder=embedder)))
    candidates = built[0]
    meaning = candidates.meaning
    embed = timed(lambda: meaning.matrix) if meaning else None
    phrases = {t.phrase for p, _ in cases for t in p.topics} | {
        e for p, _ in cases for e in p.exclude
    }
    topics = sorted({t.phrase for p, _ in cases for t in p.topics})
    batch = timed(lambda: embedder.embed(topics)) if embedder else None  # as `send` does
    cold = timed(lambda: run(candidates, cases, by_id))
    warm = timed(lambda: run(candidates, cases, by_id))
    n = len(cases)
    print(f"papers {len(candidates)}, profiles {n}, distinct phrases {len(phrases)}")
    print(f"{'':34}{'wall s':>8}{'cpu s':>8}{'µs/profile (cpu)':>18}")
    if model and embed:
        print(f"{'load the model':34}{model[0]:8.3f}{model[1]:8.3f}")
    print(f"{'Candidates.build':34}{build[0]:8.3f}{build[1]:8.3f}")
    if embed and batch:
        print(f"{f'embed the {len(candidates)} papers':34}{embed[0]:8.3f}{embed[1]:8.3f}")
        print(f"{f'embed the {len(topics)} topic phrases':34}{batch[0]:8.3f}{batch[1]:8.3f}")
    for name, (wall, cpu) in (
        ("rank all (phrases computed)", cold),
        ("rank all again (phrases cached)", warm),
    ):
        print(f"{name:34}{wall:8.3f}{cpu:8.3f}{cpu / n * 1e6:18.1f}")


if __name__ == "__main__":
    main()
