"""Run a benchmark several times, in fresh processes, and in turn with another revision's code.

    .venv/bin/python bench/in_turn.py bench/rank.py                         # 3 runs of this code
    .venv/bin/python bench/in_turn.py --against HEAD~1 bench/rank.py        # and of HEAD~1, in turn
    .venv/bin/python bench/in_turn.py --times 5 --against v1 bench/daily_run.py -n 1000

On a shared 2-core machine the same code measures a tenth or more apart from run to run, more
than most changes to the ranker are worth; and a process that has ranked once keeps the phrases
it parsed. So each run is a new process, and with --against the two codes take turns (this code,
then the other, --times over), so that both meet the same load. The benchmark script is this
tree's in both: only the `newsletter` package differs (the other revision's, checked out into a
temporary git worktree, goes first on PYTHONPATH), so both rank the same profiles. A benchmark
that needs something the other revision does not have fails, and says so.

Every run's last line (the benchmark's JSON) is printed as it comes; then, for every number in
it (nested ones as "phases_s.render"), the range and median of each code. The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

Numbers = dict[str, list[float]]


def numbers(result: dict[str, object], prefix: str = "") -> Iterator[tuple[str, float]]:
    """Every number of a JSON object, nested keys joined by dots (booleans are not numbers)."""
    for key, value in result.items():
        if isinstance(value, dict):
            yield from numbers(value, f"{prefix}{key}.")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            yield f"{prefix}{key}", float(value)


def run_once(script: list[str], code: Path) -> dict[str, object]:
    """One run of the benchmark in a new process with `code`'s package first on the path; its
    last line, which must be JSON."""
    path = os.pathsep.join(filter(None, [str(code), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    done = subprocess.run([sys.executable, *script], cwd=REPO, env=env, text=True,
                          capture_output=True, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        sys.exit(f"bench/in_turn.py: {' '.join(script)} with the code of {code} failed "
                 f"(exit {done.returncode}):\n{done.stderr.strip()[-2000:]}")
    try:
        result = json.loads(lines[-1])
    except json.JSONDecodeError:
        sys.exit(f"bench/in_turn.py: the last line of {' '.join(script)} is not JSON: {lines[-1]}")
    if not isinstance(result, dict):
        sys.exit(f"bench/in_turn.py: the last line of {' '.join(script)} is not a JSON object")
    return result


def summary(runs: list[dict[str, object]]) -> dict[str, list[float]]:
    """[least, median, most] of every number the runs reported (in the first run's order)."""
    seen: Numbers = {}
    for result in runs:
        for key, value in numbers(result):
            seen.setdefault(key, []).append(value)
    return {key: [round(x, 6) for x in (min(v), statistics.median(v), max(v))]
            for key, v in seen.items() if len(v) == len(runs)}


def other_code(revision: str, folder: Path) -> Path:
    """A checkout of `revision` in `folder` (a detached git worktree of this repository)."""
    added = subprocess.run(["git", "worktree", "add", "--detach", str(folder), revision],
                           cwd=REPO, text=True, capture_output=True, check=False)
    if added.returncode:
        sys.exit(f"bench/in_turn.py: --against {revision}: {added.stderr.strip()}")
    return folder


def main(argv: list[str] | None = None) -> None:
    """Parse flags, run the benchmark in turn, print every run and the summary."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--times", type=int, default=3, help="runs of each code (default 3)")
    parser.add_argument("--against", metavar="REV", help="also run this revision's code, in turn")
    parser.add_argument("script", nargs=argparse.REMAINDER,
                        help="the benchmark and its arguments, e.g. bench/rank.py --profiles 2000")
    args = parser.parse_args(argv)
    if not args.script:
        parser.error("name the benchmark to run, e.g. bench/rank.py")
    if args.times < 1:
        parser.error("--times must be at least 1")
    with tempfile.TemporaryDirectory(prefix="in-turn-") as scratch:
        codes = {"this": REPO}
        if args.against:
            codes[args.against] = other_code(args.against, Path(scratch) / "against")
        try:
            runs: dict[str, list[dict[str, object]]] = {name: [] for name in codes}
            for turn in range(1, args.times + 1):
                for name, code in codes.items():
                    result = run_once(args.script, code)
                    runs[name].append(result)
                    print(f"{turn} {name}: {json.dumps(result)}", flush=True)
        finally:
            if args.against:
                subprocess.run(["git", "worktree", "remove", "--force", str(codes[args.against])],
                               cwd=REPO, capture_output=True, check=False)
    summaries = {name: summary(results) for name, results in runs.items()}
    width = max(map(len, summaries["this"]), default=0)
    heading = "".join(f"{name + ': least, median, most':>36}" for name in codes)
    print(f"\n{'':{width}}{heading}")
    for key in summaries["this"]:
        cells = [summaries[name].get(key) for name in codes]
        print(f"{key:{width}}" + "".join(
            "    {:>10.6g}{:>11.6g}{:>11.6g}".format(*cell) if cell else " " * 36 for cell in cells
        ))
    print(json.dumps({"script": args.script, "times": args.times, "against": args.against,
                      "summary": summaries}))


if __name__ == "__main__":
    main()
