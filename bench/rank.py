"""Time the ranker: one day of 500 papers for 10,000 subscribers.

    .venv/bin/python bench/rank.py                  # defaults: 500 papers, 10,000 profiles
    .venv/bin/python bench/rank.py --papers 200 --profiles 2000 --seed 3
    .venv/bin/python bench/rank.py --semantic       # the semantic ranker: model, embedding, ranking

The day is built from every daily-papers fixture (about 420 distinct papers), topped up to
--papers with copies under new ids. Profiles are drawn with a fixed seed: 1-5 topics from the
fixtures' ai_keywords (popular keywords are picked more often, as subscribers share interests),
and now and then exclusions, followed authors, liked papers, min_upvotes, trending and a few
already-sent ids. Prints the seconds for Candidates.build and for ranking every profile, twice
each way: the first pass computes every phrase, the second shows the cost once phrases are
cached. "batched" ranks PLAN_BATCH profiles per `rank_many` call, as a `send` run does; "one by
one" calls `rank` per profile, as `preview` does; "without reasons" is the batched ranking
without writing the picks' reasons. The last line is JSON. The target is ranking (batched,
phrases computed) ≤ 1 s on the 2-core development machine.

--semantic also times loading the model and embedding the candidates (copies get their id in
the title, so that every one of the --papers is embedded, none found in the cache) and the
topic phrases (in one batch, as `send` does).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from newsletter.matching import Candidates, Request, rank, rank_many
from newsletter.models import Paper, Profile, Topic
from newsletter.pipeline import PLAN_BATCH
from newsletter.ranking_score import best, plan, scores
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


def timed(work: Callable[..., object], *args: object) -> tuple[float, float]:
    """Wall-clock and CPU seconds of a call (CPU time is steadier on a busy machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    work(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def one_by_one(candidates: Candidates, requests: list[Request]) -> None:
    """Rank every profile alone (`rank`, as `preview` does)."""
    for r in requests:
        rank(r.profile, candidates, seen=r.seen, liked_papers=r.liked_papers)


def batched(candidates: Candidates, requests: list[Request]) -> None:
    """Rank the profiles PLAN_BATCH at a time (`rank_many`, as a `send` run does)."""
    for start in range(0, len(requests), PLAN_BATCH):
        rank_many(requests[start : start + PLAN_BATCH], candidates)


def scores_only(candidates: Candidates, requests: list[Request]) -> None:
    """`batched` without the reasons: what choosing the papers costs on its own."""
    for start in range(0, len(requests), PLAN_BATCH):
        batch = requests[start : start + PLAN_BATCH]
        plans = [plan(r.profile, candidates, r.liked_papers) for r in batch]
        score = scores(plans, candidates, [r.seen for r in batch])
        best(score, candidates, [r.profile.max_papers for r in batch])


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
    requests = [Request(p, seen, [by_id[i] for i in p.liked]) for p, seen in cases]
    today = papers[0].listed_on
    embedder = load_embedder() if args.semantic else None
    rows = [("load the model", timed(embedder.load))] if embedder else []

    def fresh() -> Candidates:
        return Candidates.build(papers, today=today, embedder=embedder)

    built: list[Candidates] = []
    build = timed(lambda: built.append(fresh()))
    rows.append(("Candidates.build", build))
    meaning = built[0].meaning
    if embedder and meaning:
        topics = sorted({t.phrase for p, _ in cases for t in p.topics})
        rows.append((f"embed the {len(papers)} papers", timed(lambda: meaning.matrix)))
        rows.append((f"embed the {len(topics)} topic phrases", timed(embedder.embed, topics)))
    for name, work in (("batched", batched), ("one by one", one_by_one)):
        candidates = fresh()
        for state in ("phrases computed", "phrases cached"):
            rows.append((f"rank all, {name} ({state})", timed(work, candidates, requests)))
    rows.append(("batched, without reasons (cached)", timed(scores_only, candidates, requests)))
    phrases = {t.phrase for p, _ in cases for t in p.topics} | {
        e for p, _ in cases for e in p.exclude
    }
    n = len(cases)
    print(
        f"papers {len(built[0])}, profiles {n}, distinct phrases {len(phrases)}, batch {PLAN_BATCH}"
    )
    print(f"{'':44}{'wall s':>8}{'cpu s':>8}{'µs/profile (cpu)':>18}")
    for name, (wall, cpu) in rows:
        per = f"{cpu / n * 1e6:18.1f}" if name.startswith(("rank", "batched")) else ""
        print(f"{name:44}{wall:8.3f}{cpu:8.3f}{per}")
    timing = dict(rows)
    print(
        json.dumps(
            {
                "ranker": "semantic" if embedder else "lexical",
                "papers": len(built[0]),
                "profiles": n,
                "phrases": len(phrases),
                "build_s": round(build[0], 3),
                "rank_cold_s": round(timing["rank all, batched (phrases computed)"][0], 3),
                "rank_warm_s": round(timing["rank all, batched (phrases cached)"][0], 3),
                "without_reasons_s": round(timing["batched, without reasons (cached)"][0], 3),
                "target_s": 1.0,
            }
        )
    )


if __name__ == "__main__":
    main()
