"""Time the subscribers file's commands on a long list: validate, show, add, set and remove.

    .venv/bin/python bench/edit.py                 # 10,000 subscribers
    .venv/bin/python bench/edit.py -n 1000

Writes N subscribers like `bench/daily_run.py`'s (a comment line above every hundredth, as
people annotate their lists) and times the functions behind `newsletter subscribers validate`,
`show`, `add`, `set` and `remove` on the middle subscriber, each on the file's text (no disk,
no ledger). Every result is checked: the change is the one asked for, and nothing else. The
last line is JSON: seconds per command, and the peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from newsletter.store import Store
from newsletter.subscribers import load_subscribers, parse_text
from newsletter.subscribers_change import Change
from newsletter.subscribers_edit import (
    add_subscriber,
    change_subscriber,
    diff_lines,
    entry_text,
    remove_subscriber,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from daily_run import load_month, make_subscribers, subscribers_yaml

PATH = Path("subscribers.yaml")


def long_list(count: int, seed: int) -> str:
    """The text of a subscribers file of `count` entries, a comment above every hundredth."""
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "bench.db") as store:
        papers = load_month(store)
    lines = subscribers_yaml(make_subscribers(count, papers, seed)).splitlines(keepends=True)
    out, entry = [], 0
    for line in lines:
        if line.startswith("  - "):
            if entry % 100 == 0:
                out.append(f"  # group {entry // 100}\n")
            entry += 1
        out.append(line)
    return "".join(out)


def timed(work: Callable[[], Any]) -> tuple[Any, float]:
    """A call's result and wall seconds."""
    start = time.perf_counter()
    result = work()
    return result, round(time.perf_counter() - start, 3)


def main(argv: list[str] | None = None) -> None:
    """Write the list, time each command, check each result, print the JSON line last."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--subscribers", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    text = long_list(args.subscribers, args.seed)
    middle = f"reader{args.subscribers // 2:05d}@list.example"
    seconds: dict[str, float] = {}

    model, seconds["validate"] = timed(lambda: parse_text(text, PATH))
    assert len(model.subscribers) == args.subscribers
    (_, _, shown), seconds["show"] = timed(lambda: entry_text(text, PATH, middle))
    assert middle in shown
    added, seconds["add"] = timed(
        lambda: add_subscriber(text, PATH, "new@list.example", Change(add={"topics": ["RAG"]}))
    )
    _check(text, added, plus=['  - email: "new@list.example"', '    topics: ["RAG"]'])
    changed, seconds["set"] = timed(
        lambda: change_subscriber(text, PATH, middle, Change(values={"max_papers": 3}))
    )
    _check(text, changed, plus=["    max_papers: 3"], minus=1)
    removed, seconds["remove"] = timed(lambda: remove_subscriber(text, PATH, middle))
    assert len(text.splitlines()) - len(removed.splitlines()) >= 10
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "subscribers.yaml"
        path.write_text(text, encoding="utf-8")
        loaded, seconds["load_subscribers"] = timed(lambda: load_subscribers(path))
    assert len(loaded) == args.subscribers

    print(f"{args.subscribers} subscribers, {len(text) / 1e6:.1f} MB, "
          f"{len(text.splitlines())} lines")
    for name, value in seconds.items():
        print(f"  {name:18} {value:8.3f} s")
    peak = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps({"subscribers": args.subscribers, "seconds": seconds, "peak_rss_mb": peak}))


def _check(before: str, after: str, plus: list[str], minus: int = 0) -> None:
    """The change added exactly these lines (and removed `minus`), nothing else."""
    diff = diff_lines(before, after)
    added = [line[1:] for line in diff if line.startswith("+")]
    removed = [line for line in diff if line.startswith("-")]
    assert all(line in added for line in plus), diff
    assert len(removed) == minus, diff


if __name__ == "__main__":
    main()
