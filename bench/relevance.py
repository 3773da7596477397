"""Score the ranker on a judged relevance set (August 2025): shared/relevance, or --set DIR.

    .venv/bin/python bench/relevance.py              # the whole month as one pool
    .venv/bin/python bench/relevance.py --week       # each ISO week of the month on its own
    .venv/bin/python bench/relevance.py --daily      # what a month of daily digests sends
    .venv/bin/python bench/relevance.py --daily --min-relevance 0.2   # every profile's knob
    .venv/bin/python bench/relevance.py --out run.json
    .venv/bin/python bench/relevance.py --semantic   # rank by meaning too (the `semantic` extra)
    .venv/bin/python bench/relevance.py --check-cli  # and check the real `preview` agrees
    .venv/bin/python bench/relevance.py --set bench/relevance_dev   # eight more profiles
    .venv/bin/python bench/relevance.py --all-sets   # all three sets, month and weeks, in one

Loads the August daily-papers fixtures with a tiny loader of its own, turns every profile of
profiles.yaml into a `Profile` (max_papers=10, the other knobs at their defaults), ranks with
`seen` empty and the liked papers given, writes a run file (profile id → ranked ids), prints
the table of shared/relevance/score.py, then nDCG@10 and P@10 beside the TF-IDF baseline's.

--week ranks each week's papers alone (as a weekly digest would, with `today` its last listing
day) and scores every (profile, week) that has a relevant paper that week against the month's
judgments restricted to that week; rows are "profile@week". The baseline beside it is the
TF-IDF run restricted to the same week (its IDF still comes from the whole month). The last
table gives each profile's mean over its weeks.

--set scores another judged set of the same papers: a folder with profiles.yaml, qrels.tsv and
runs/tfidf.json. bench/relevance_dev is one: eight more profiles, judged while developing the
ranker, to check that what helps the shared set is not tuned to its eight profiles.

--daily ranks each listing day alone, as a daily digest is made (up to 10 papers), and counts
what the month's digests would send, per profile: papers sent, of them relevant (grade 1 or 2),
precision and recall, the squarely relevant papers (grade 2) missed, and the papers sent on days
that had nothing relevant for the profile. nDCG@10 cannot see these: it scores an ordering, and
leaves out the days with nothing relevant, where every paper sent is a near miss.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple, cast

from ruamel.yaml import YAML

from newsletter.errors import ConfigError
from newsletter.matching import Candidates, rank
from newsletter.models import DEFAULT_MIN_RELEVANCE, Paper, Profile, Topic
from newsletter.ranking_semantic import Embedder, load_embedder, paper_text

SHARED = Path(__file__).resolve().parents[2] / "shared"
FIXTURES = SHARED / "fixtures" / "hf" / "daily_papers"
RELEVANCE = SHARED / "relevance"
ALL_SETS = {  # --all-sets: the shared set, the one checked while tuning, the one written after
    "shared": RELEVANCE,
    "dev": Path(__file__).resolve().parent / "relevance_dev",
    "holdout": Path(__file__).resolve().parent / "relevance_holdout",
}

Run = dict[str, list[str]]
Qrels = dict[str, dict[str, int]]


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


def load_profiles(min_relevance: float, judged: Path) -> dict[str, Profile]:
    """A judged set's profiles as the ranker sees them."""
    data: Any = YAML(typ="safe").load((judged / "profiles.yaml").read_text(encoding="utf-8"))
    return {
        entry["id"]: Profile(
            topics=tuple(Topic(phrase) for phrase in entry["topics"]),
            exclude=tuple(entry.get("exclude", ())),
            liked=tuple(entry.get("liked", ())),
            max_papers=10,
            min_relevance=min_relevance,
        )
        for entry in data["profiles"]
    }


def load_qrels(judged: Path) -> Qrels:
    """A judged set's judgments: profile → paper → grade."""
    qrels: Qrels = defaultdict(dict)
    for line in (judged / "qrels.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip():
            profile, paper, grade = line.split("\t")
            qrels[profile][paper] = int(grade)
    return qrels


def rank_pool(
    papers: list[Paper], profiles: dict[str, Profile], today: dt.date | None, known: list[Paper],
    embedder: Embedder | None = None,
) -> Run:
    """Rank one pool of candidates for every profile; liked papers come from all `known` ones.
    With an `embedder`, rank by meaning too (the semantic ranker)."""
    by_id = {p.id: p for p in known}
    candidates = Candidates.build(papers, today=today, embedder=embedder)
    run = {}
    for name, profile in profiles.items():
        liked = [by_id[i] for i in profile.liked if i in by_id]
        ranking = rank(profile, candidates, liked_papers=liked)
        run[name] = [r.paper.id for r in ranking.picked]
    return run


def weeks(papers: Iterable[Paper]) -> dict[str, list[Paper]]:
    """The papers grouped by ISO week of their listing day ("2025-W32" → papers)."""
    groups: dict[str, list[Paper]] = {}
    for paper in papers:
        iso = paper.listed_on.isocalendar()
        groups.setdefault(f"{iso.year}-W{iso.week:02d}", []).append(paper)
    return dict(sorted(groups.items()))


Scores = dict[str, tuple[float, float]]  # row → (nDCG@10, P@10)


def check_set(judged: Path, need_tfidf: bool) -> str | None:
    """What is wrong with a judged set's folder, or None: a missing file, or profiles, judgments
    and TF-IDF run that do not name the same profiles (score.py would score a missing one 0)."""
    files = ["profiles.yaml", "qrels.tsv", *(["runs/tfidf.json"] if need_tfidf else [])]
    missing = [name for name in files if not (judged / name).is_file()]
    if missing:
        return f"no {', '.join(missing)} in it"
    named = {
        "profiles.yaml": set(load_profiles(DEFAULT_MIN_RELEVANCE, judged)),
        "qrels.tsv": set(load_qrels(judged)),
        **({"runs/tfidf.json": set(load_tfidf(judged))} if need_tfidf else {}),
    }
    every = set().union(*named.values())
    lacking = [f"{name} lacks {', '.join(sorted(every - ids))}" for name, ids in named.items()
               if ids != every]
    return "; ".join(lacking) or None


def load_tfidf(judged: Path) -> Run:
    """A judged set's TF-IDF baseline run (made by shared/relevance/baselines.py)."""
    return cast(Run, json.loads((judged / "runs" / "tfidf.json").read_text(encoding="utf-8")))


def score(run: Run, qrels: Path, out: Path | None = None) -> Scores:
    """Write the run file, print score.py's table, and return nDCG@10 and P@10 per row."""
    path = out or Path(tempfile.mkdtemp()) / "run.json"
    path.write_text(json.dumps(run, indent=1), encoding="utf-8")
    command = [sys.executable, str(RELEVANCE / "score.py"), str(path), "--qrels", str(qrels)]
    table = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
    print(table, end="")
    rows = (line.split() for line in table.splitlines()[1:])
    return {row[0]: (float(row[1]), float(row[2])) for row in rows if row and row[0] != "mean"}


def compare(ours: Scores, baseline: Scores, title: str) -> None:
    """Print nDCG@10 and P@10 beside the baseline's, with the nDCG difference."""
    print(f"\n{title:<24} {'nDCG':>6} {'tfidf':>6} {'diff':>7} {'P@10':>6} {'tfidf':>6}")
    for name in sorted(ours):
        (ndcg, prec), (base_ndcg, base_prec) = ours[name], baseline[name]
        diff = ndcg - base_ndcg
        print(f"{name:<24} {ndcg:6.3f} {base_ndcg:6.3f} {diff:+7.3f} {prec:6.2f} {base_prec:6.2f}")
    mean = [sum(v[i] for v in ours.values()) / len(ours) for i in (0, 1)]
    base = [sum(v[i] for v in baseline.values()) / len(baseline) for i in (0, 1)]
    diff = mean[0] - base[0]
    print(f"{'mean':<24} {mean[0]:6.3f} {base[0]:6.3f} {diff:+7.3f} {mean[1]:6.2f} {base[1]:6.2f}")


def month(
    papers: list[Paper], profiles: dict[str, Profile], out: Path | None, embedder: Embedder | None,
    judged: Path, check_cli: bool = False,
) -> None:
    """Rank the month as one pool and score it beside the TF-IDF run, on the month's last
    listing day as `preview --date 2025-08-29 --lookback 31` does."""
    today = max(p.listed_on for p in papers)
    run = rank_pool(papers, profiles, today, papers, embedder)
    qrels = judged / "qrels.tsv"
    ours = score(run, qrels, out)
    print("\n(tfidf baseline)")
    baseline = score(load_tfidf(judged), qrels)
    compare(ours, baseline, "profile")
    if check_cli:
        print()
        least = next(iter(profiles.values())).min_relevance
        through_the_cli(run, embedder is not None, least, judged)


def week_runs(
    papers: list[Paper], profiles: dict[str, Profile], embedder: Embedder | None, judged: Path
) -> tuple[Run, Run, Qrels]:
    """Each week ranked alone: our run and TF-IDF's restricted to the week, a row per (profile,
    week) that has a relevant paper ("profile@week"), and each row's judgments (the month's,
    restricted to the week)."""
    qrels, tfidf = load_qrels(judged), load_tfidf(judged)
    run: Run = {}
    baseline_run: Run = {}
    week_qrels: Qrels = {}
    for week, pool in weeks(papers).items():
        ids = {p.id for p in pool}
        ranked = rank_pool(pool, profiles, max(p.listed_on for p in pool), papers, embedder)
        for name in profiles:
            this_week = {pid: grade for pid, grade in qrels[name].items() if pid in ids}
            if any(grade > 0 for grade in this_week.values()):
                row = f"{name}@{week}"
                run[row] = ranked[name]
                baseline_run[row] = [pid for pid in tfidf[name] if pid in ids]
                week_qrels[row] = this_week
    return run, baseline_run, week_qrels


def by_week(
    papers: list[Paper], profiles: dict[str, Profile], out: Path | None, embedder: Embedder | None,
    judged: Path,
) -> None:
    """Rank each week alone; score (profile, week) rows on that week's judgments."""
    run, baseline_run, week_qrels = week_runs(papers, profiles, embedder, judged)
    lines = [f"{row}\t{pid}\t{grade}" for row, judged_row in week_qrels.items()
             for pid, grade in judged_row.items()]
    qrels_file = Path(tempfile.mkdtemp()) / "qrels.tsv"
    qrels_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ours = score(run, qrels_file, out)
    print("\n(tfidf baseline, restricted to each week)")
    baseline = score(baseline_run, qrels_file)
    compare(_per_profile(ours), _per_profile(baseline), "profile (mean of weeks)")


def by_day(
    papers: list[Paper], profiles: dict[str, Profile], embedder: Embedder | None, judged: Path
) -> None:
    """Rank each listing day alone and count what the daily digests would send (see --daily)."""
    qrels = load_qrels(judged)
    counts = {name: Counter[str]() for name in profiles}
    for day in sorted({p.listed_on for p in papers}):
        pool = [p for p in papers if p.listed_on == day]
        ranked = rank_pool(pool, profiles, day, papers, embedder)
        for name, count in counts.items():
            sent = set(ranked[name])
            relevant = {p.id for p in pool if qrels[name].get(p.id, 0) >= 1}
            squarely = {p.id for p in pool if qrels[name].get(p.id, 0) == 2}
            count.update(sent=len(sent), relevant=len(sent & relevant),
                         missed=len(relevant - sent), missed_squarely=len(squarely - sent))
            if not relevant:
                count.update(sent_on_empty_days=len(sent))
    counts["all"] = sum(counts.values(), Counter[str]())
    print(f"{'profile':<16}{'sent':>6}{'relevant':>10}{'precision':>11}{'recall':>8}"
          f"{'missed':>8}{'of grade 2':>12}{'sent on days with nothing relevant':>36}")
    for name, c in counts.items():
        found = c["relevant"] + c["missed"]
        precision = c["relevant"] / c["sent"] if c["sent"] else 0.0
        recall = c["relevant"] / found if found else 0.0
        print(f"{name:<16}{c['sent']:6}{c['relevant']:10}{precision:11.2f}{recall:8.2f}"
              f"{c['missed']:8}{c['missed_squarely']:12}{c['sent_on_empty_days']:36}")


def through_the_cli(run: Run, semantic: bool, min_relevance: float, judged: Path) -> None:
    """Rank the month again with the real commands, `fetch --file` into a fresh ledger and
    `preview EMAIL --date 2025-08-29 --lookback 31 --max 10 --json` per profile, and say
    whether each profile gets the very list this benchmark scored."""
    folder = Path(tempfile.mkdtemp())
    entries = YAML(typ="safe").load((judged / "profiles.yaml").read_text(encoding="utf-8"))
    subscribers = [
        {"email": f"{e['id']}@example.org", "topics": e["topics"],
         "exclude": e.get("exclude", []), "liked": e.get("liked", [])}
        for e in entries["profiles"]
    ]
    defaults = {"min_relevance": min_relevance}
    YAML().dump({"defaults": defaults, "subscribers": subscribers}, folder / "subscribers.yaml")
    env = {"NEWSLETTER_DB": str(folder / "ledger.db"), "NEWSLETTER_FROM_ADDRESS": "n@example.org",
           "NEWSLETTER_SUBSCRIBERS": str(folder / "subscribers.yaml"),
           "NEWSLETTER_RANKER": "semantic" if semantic else "lexical", "PATH": ""}
    command = [str(Path(sys.executable).with_name("newsletter"))]
    files = [a for f in sorted(FIXTURES.glob("2025-08-*.json")) for a in ("--file", str(f))]
    subprocess.run([*command, "fetch", "--source", "hf", *files], env=env, check=True,
                   capture_output=True, cwd=folder)
    agree = 0
    for entry in entries["profiles"]:
        shown = subprocess.run(
            [*command, "preview", f"{entry['id']}@example.org", "--date", "2025-08-29",
             "--lookback", "31", "--max", "10", "--json"],
            env=env, check=True, capture_output=True, text=True, cwd=folder,
        ).stdout
        ids = [paper["id"] for paper in json.loads(shown)["papers"]]
        same = ids == run[entry["id"]]
        agree += same
        if not same:
            print(f"{entry['id']}: the CLI picks {ids}, the benchmark {run[entry['id']]}")
    print(f"newsletter preview --lookback 31 gives the scored list for {agree} of "
          f"{len(entries['profiles'])} profiles")


def _per_profile(rows: Scores) -> Scores:
    """Average "profile@week" rows per profile."""
    groups: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for row, value in rows.items():
        groups[row.split("@")[0]].append(value)
    return {
        name: (sum(v[0] for v in values) / len(values), sum(v[1] for v in values) / len(values))
        for name, values in groups.items()
    }


class SetScores(NamedTuple):
    """One judged set's mean nDCG@10 over the month and by week, TF-IDF's beside each, and the
    profiles below TF-IDF over the month."""

    month: float
    month_tfidf: float
    weeks: float
    weeks_tfidf: float
    below_tfidf_month: list[str]


def all_sets(papers: list[Paper], embedder: Embedder | None, min_relevance: float) -> None:
    """Mean nDCG@10 of every judged set, over the month and by week, beside TF-IDF's, and the
    mean of those six numbers: what a change to the ranker should raise, not one set alone.
    Scored in this process with score.py's own function (the tables of the other modes come
    from running it)."""
    found = {name: set_scores(papers, embedder, min_relevance, judged)
             for name, judged in ALL_SETS.items()}
    six = _mean(number for row in found.values() for number in (row.month, row.weeks))
    print(f"{'set':<10}{'month':>8}{'TF-IDF':>8}{'weeks':>8}{'TF-IDF':>8}  below TF-IDF (month)")
    for name, row in found.items():
        print(f"{name:<10}{row.month:8.3f}{row.month_tfidf:8.3f}{row.weeks:8.3f}"
              f"{row.weeks_tfidf:8.3f}  {', '.join(row.below_tfidf_month)}")
    print(f"mean of the six numbers: {six:.4f}")
    sets = {name: {key: round(value, 4) if isinstance(value, float) else value
                   for key, value in row._asdict().items()} for name, row in found.items()}
    print(json.dumps({"ranker": "semantic" if embedder else "lexical",
                      "min_relevance": min_relevance, "sets": sets, "mean_of_six": round(six, 4)}))


def set_scores(
    papers: list[Paper], embedder: Embedder | None, min_relevance: float, judged: Path
) -> SetScores:
    """`SetScores` of one judged set (weeks as `by_week` scores them: a profile's mean over
    its weeks, then the mean over profiles)."""
    official = _scorer()
    profiles = load_profiles(min_relevance, judged)
    qrels, tfidf = load_qrels(judged), load_tfidf(judged)

    def scored(ranked: list[str], judgments: dict[str, int]) -> tuple[float, float]:
        ndcg, precision, _ = official.score(ranked, judgments, 10)
        return float(ndcg), float(precision)

    run = rank_pool(papers, profiles, max(p.listed_on for p in papers), papers, embedder)
    ours = {name: scored(run[name], qrels[name])[0] for name in profiles}
    base = {name: scored(tfidf[name], qrels[name])[0] for name in profiles}
    week, week_base, week_qrels = week_runs(papers, profiles, embedder, judged)
    by_week = _per_profile({row: scored(week[row], week_qrels[row]) for row in week})
    base_week = _per_profile({row: scored(week_base[row], week_qrels[row]) for row in week})
    return SetScores(
        _mean(ours.values()), _mean(base.values()), _mean(v[0] for v in by_week.values()),
        _mean(v[0] for v in base_week.values()), sorted(p for p in profiles if ours[p] < base[p]),
    )


@functools.cache
def _scorer() -> Any:
    """shared/relevance/score.py as a module, for its `score` function."""
    spec = importlib.util.spec_from_file_location("relevance_score", RELEVANCE / "score.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _mean(values: Iterable[float]) -> float:
    found = list(values)
    return sum(found) / len(found) if found else 0.0


def main(argv: list[str] | None = None) -> None:
    """Parse flags, rank, score."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    pools = parser.add_mutually_exclusive_group()
    pools.add_argument("--week", action="store_true", help="rank each week of the month alone")
    pools.add_argument("--daily", action="store_true",
                       help="rank each day alone: what a month of daily digests sends")
    pools.add_argument("--all-sets", action="store_true",
                       help="every judged set (shared, dev, holdout), month and weeks, in one "
                       "summary with the mean of the six numbers")
    parser.add_argument("--min-relevance", type=float, default=DEFAULT_MIN_RELEVANCE,
                        help="every profile's min_relevance (default %(default)s)")
    parser.add_argument("--out", type=Path, help="where to write the run file")
    parser.add_argument("--check-cli", action="store_true",
                        help="also run the month through `newsletter fetch` and `preview`")
    parser.add_argument("--semantic", action="store_true",
                        help="rank by meaning too (NEWSLETTER_RANKER=semantic)")
    parser.add_argument("--set", type=Path, default=RELEVANCE, dest="judged",
                        help="the judged set: a folder with profiles.yaml, qrels.tsv and "
                        "runs/tfidf.json (default: shared/relevance; bench/relevance_dev has "
                        "eight more profiles on the same papers)")
    args = parser.parse_args(argv)
    if args.check_cli and (args.week or args.daily or args.all_sets):
        parser.error("--check-cli checks the month: not with --week, --daily or --all-sets")
    if args.out and (args.daily or args.all_sets):
        parser.error("--daily and --all-sets write no run file: no --out")
    if args.all_sets and args.judged != RELEVANCE:
        parser.error("--all-sets scores every judged set: no --set")
    for judged in ALL_SETS.values() if args.all_sets else [args.judged]:
        problem = check_set(judged, need_tfidf=not args.daily)
        if problem:
            parser.error(f"--set {judged}: {problem}")
    try:
        papers, embedder = load_month(), load_embedder() if args.semantic else None
    except ConfigError as exc:
        sys.exit(f"bench/relevance.py --semantic: {exc}")
    if embedder is not None:
        embedder.load()  # time the model apart from the ranking
        start = time.perf_counter()
        embedder.embed([paper_text(p) for p in papers])  # cached: each paper embedded once
        print(f"embedded {len(papers)} papers in {time.perf_counter() - start:.1f} s",
              file=sys.stderr)
    if args.all_sets:
        all_sets(papers, embedder, args.min_relevance)
        return
    profiles = load_profiles(args.min_relevance, args.judged)
    if args.daily:
        by_day(papers, profiles, embedder, args.judged)
    elif args.week:
        by_week(papers, profiles, args.out, embedder, args.judged)
    else:
        month(papers, profiles, args.out, embedder, args.judged, args.check_cli)


if __name__ == "__main__":
    main()
