"""A daily `send` at scale, measured against the ceiling of a bare aiosmtplib loop.

    .venv/bin/python bench/daily_run.py                        # 10,000 subscribers, 1 connection
    .venv/bin/python bench/daily_run.py -n 1000 --connections 4
    .venv/bin/python bench/daily_run.py --sink aiosmtpd        # without Postfix's smtp-sink
    .venv/bin/python bench/daily_run.py -n 1000 --history 365  # after a year of digests

Builds N subscribers with varied profiles (1-5 topics drawn from the fixtures' `ai_keywords`,
popular keywords more often; daily, weekdays or weekly; a few exclusions, followed authors,
liked papers, arXiv as a second source, `on_empty: note`), writes them to a `subscribers.yaml`,
imports the August 2025 daily-papers fixtures into a fresh ledger, then reads the file and runs
the real `pipeline.send_day` for one listing day (as `send` does) against a local SMTP sink
that accepts and discards: Postfix's `smtp-sink`, started here on 127.0.0.1 and stopped after
(`apt-get install postfix`), or aiosmtpd's `Sink` in a subprocess as a fallback.

Then, in the same run and against the same sink, the ceiling: as many messages as the run sent,
pre-built (bytes of messages the run itself built), sent by a bare aiosmtplib loop over the same
number of connections. The last line of output is one JSON object: digests per second end to
end, seconds per phase, peak RSS, the largest HTML part, the ceiling and the ratio.

With --history DAYS, the ledger first gets that many days of earlier digests, all sent, for every
subscriber (the days before DAY, 10 papers each out of 60 stored that day, none of them a
candidate now): what a ledger holds after running that long, to show whether a run slows down
as the history grows (it should not: planning reads only the recent digests).

Phases are timed by wrapping the functions that do them (exclusive time: a nested phase is not
counted twice); `load` is reading the subscribers file. Everything but SMTP is synchronous in
one thread, so those phases never overlap; `send` is the rest of the wall time: aiosmtplib's
own work, socket I/O and waiting for the sink.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import functools
import json
import os
import platform
import random
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib

from newsletter import matching, pipeline, planning
from newsletter.config import Settings, SmtpSecurity
from newsletter.delivery import make_transport
from newsletter.fetching import import_files
from newsletter.models import Frequency, OnEmpty, Paper, Profile, Source, Subscriber, Topic
from newsletter.render import RenderedDigest, Renderer
from newsletter.store import Store
from newsletter.store_rows import paper_to_json
from newsletter.subscribers import WEEKDAYS, load_subscribers

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "hf" / "daily_papers"
MONTH = "2025-08-*.json"
DAY = dt.date(2025, 8, 28)  # a Thursday's listing, delivered on Friday: weekday readers are due
NOW = dt.datetime(2025, 8, 29, 5, 30, tzinfo=dt.UTC)
SENDER = "Paper digest <digest@bench.example>"
POOL = 64  # distinct pre-built messages the ceiling cycles through
CEILING_TRIES = 3  # the ceiling is measured this many times and the fastest kept
PHASES = ("load", "plan", "rank", "render", "build_message", "send", "record")


# --- subscribers -------------------------------------------------------------------------------


def load_month(store: Store) -> list[Paper]:
    """Import the month of fixtures through the real importer; return what the ledger holds."""
    paths = sorted(FIXTURES.glob(MONTH))
    import_files(store, paths, None, lambda: NOW - dt.timedelta(days=1))
    first, last = dt.date.fromisoformat(paths[0].stem), dt.date.fromisoformat(paths[-1].stem)
    return store.papers_listed(first, last, [Source.HF])


def vocabulary(papers: list[Paper]) -> tuple[list[str], list[float]]:
    """Keyword phrases and Zipf-like weights: subscribers share the popular interests."""
    counts = Counter(k.strip() for p in papers for k in p.ai_keywords if k.strip())
    ranked = [k for k, _ in counts.most_common()]
    return ranked, [1.0 / (rank + 10) for rank in range(len(ranked))]


def make_profile(rng: random.Random, phrases: list[str], weights: list[float],
                 authors: list[str], ids: list[str]) -> Profile:
    """1-5 weighted topics; now and then exclusions, followed authors, likes, a vote floor."""
    topics = tuple(Topic(phrase, rng.choice((1.0, 1.0, 1.0, 0.5, 2.0)))
                   for phrase in dict.fromkeys(rng.choices(phrases, weights, k=rng.randint(1, 5))))
    return Profile(
        topics=topics,
        exclude=tuple(rng.choices(phrases, weights, k=rng.choice((0, 0, 0, 0, 1, 2)))),
        authors=tuple(rng.sample(authors, rng.choice((0, 0, 0, 0, 0, 1, 2)))),
        liked=tuple(rng.sample(ids, rng.choice((0, 0, 0, 0, 0, 1, 2)))),
        min_upvotes=rng.choice((0, 0, 0, 0, 1, 5)),
        max_papers=rng.choice((5, 10, 10, 10, 20)),
        trending=rng.choice((0.0, 0.3, 0.3, 0.3, 0.5, 1.0)),
    )


def make_subscribers(count: int, papers: list[Paper], seed: int) -> list[Subscriber]:
    """`count` subscribers, mostly daily, some weekday-only or weekly, a few wanting notes."""
    rng = random.Random(seed)
    phrases, weights = vocabulary(papers)
    authors = sorted({a for p in papers for a in p.authors})
    ids = sorted(p.id for p in papers)
    frequencies = [Frequency.DAILY] * 17 + [Frequency.WEEKDAYS] * 2 + [Frequency.WEEKLY]
    return [
        Subscriber(
            email=f"reader{i:05d}@list.example",
            name=f"Reader {i}" if rng.random() < 0.7 else None,
            profile=make_profile(rng, phrases, weights, authors, ids),
            frequency=rng.choice(frequencies), weekly_day=rng.randrange(7),
            sources=frozenset({Source.HF, Source.ARXIV}) if rng.random() < 0.1
            else frozenset({Source.HF}),
            on_empty=OnEmpty.NOTE if rng.random() < 0.15 else OnEmpty.SKIP,
        )
        for i in range(count)
    ]


def subscribers_yaml(subscribers: list[Subscriber]) -> str:
    """The subscribers as a `subscribers.yaml` would list them (strings in JSON's quotes, which
    YAML reads alike), so that the run loads them as `send` does."""
    q = json.dumps
    lines = ["subscribers:"]
    for s in subscribers:
        p = s.profile
        lines.append(f"  - email: {q(s.email)}")
        if s.name:
            lines.append(f"    name: {q(s.name)}")
        topics = ", ".join(q(t.phrase) if t.weight == 1.0 else
                           f"{{phrase: {q(t.phrase)}, weight: {t.weight}}}" for t in p.topics)
        lines.append(f"    topics: [{topics}]")
        for field in ("exclude", "authors", "liked"):
            if getattr(p, field):
                lines.append(f"    {field}: [{', '.join(map(q, getattr(p, field)))}]")
        lines += [f"    min_upvotes: {p.min_upvotes}", f"    max_papers: {p.max_papers}",
                  f"    trending: {p.trending}", f"    frequency: {s.frequency.value}",
                  f"    day: {WEEKDAYS[s.weekly_day]}",
                  f"    sources: [{', '.join(sorted(x.value for x in s.sources))}]",
                  f"    on_empty: {s.on_empty.value}"]
    return "\n".join(lines) + "\n"


def fill_history(path: Path, subscribers: list[Subscriber], days: int, seed: int) -> None:
    """`days` days of sent digests before DAY for every subscriber, written in bulk: a day
    stores 60 papers, each subscriber was sent 10 of them (planned before the month's papers
    were stored, so that they are no late arrivals)."""
    rng = random.Random(seed)
    planned = (NOW - dt.timedelta(hours=12)).isoformat()
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous = OFF")
    digest_id = db.execute("SELECT coalesce(max(id), 0) FROM digests").fetchone()[0]
    for ago in range(days, 0, -1):
        day = (DAY - dt.timedelta(days=ago)).isoformat()
        ids = [f"h{ago:04d}.{n:05d}" for n in range(60)]
        db.executemany("INSERT INTO papers VALUES (?, ?, ?, ?, ?)", [
            (pid, paper_to_json(Paper(id=pid, title=f"Paper {pid}", abstract="An abstract.",
                                      listed_on=DAY - dt.timedelta(days=ago))),
             day, planned, planned) for pid in ids])
        digests, papers, seen = [], [], []
        for subscriber in subscribers:
            digest_id += 1
            digests.append((digest_id, subscriber.key, day, day, "sent",
                            f"<h{digest_id}@bench.example>", 1, planned, planned, planned))
            for position, pid in enumerate(rng.sample(ids, 10)):
                papers.append((digest_id, position, pid, 1.0, '["matched: history"]'))
                seen.append((subscriber.key, pid, digest_id))
        db.executemany("INSERT INTO digests (id, subscriber, digest_date, window_start, state, "
                       "message_id, attempts, planned_at, updated_at, sent_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", digests)
        db.executemany("INSERT INTO digest_papers VALUES (?, ?, ?, ?, ?)", papers)
        db.executemany("INSERT INTO seen VALUES (?, ?, ?)", seen)
        db.commit()
    db.close()


# --- phase timing ------------------------------------------------------------------------------


class Phases:
    """Exclusive seconds per phase, from wrapped functions (undone by `close`)."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self._stack: list[list[float]] = []  # [start, seconds of nested phases]
        self._undo = contextlib.ExitStack()

    def wrap(self, owner: Any, name: str, phase: str) -> None:
        """Time every call of `owner.name` (a function, method or classmethod) as `phase`."""
        raw = vars(owner)[name] if isinstance(owner, type) else getattr(owner, name)
        inner = raw.__func__ if isinstance(raw, classmethod) else raw

        @functools.wraps(inner)
        def timed(*args: Any, **kwargs: Any) -> Any:
            frame = [time.perf_counter(), 0.0]
            self._stack.append(frame)
            try:
                return inner(*args, **kwargs)
            finally:
                self._stack.pop()
                elapsed = time.perf_counter() - frame[0]
                self.seconds[phase] += elapsed - frame[1]
                if self._stack:
                    self._stack[-1][1] += elapsed

        setattr(owner, name, classmethod(timed) if isinstance(raw, classmethod) else timed)
        self._undo.callback(setattr, owner, name, raw)

    def close(self) -> None:
        self._undo.close()


def instrument(phases: Phases, largest: list[int], pool: list[EmailMessage]) -> None:
    """Wrap the functions of each phase; note the largest HTML part; keep messages for the pool."""
    for owner, name, phase in (
        (pipeline, "cancel_ineligible", "plan"), (pipeline, "_skip_reason", "plan"),
        (pipeline, "_expire_unsent", "plan"), (pipeline, "_outcome", "plan"),
        (planning.Planner, "plan_many", "plan"),
        (matching.Candidates, "build", "rank"), (matching, "rank_many", "rank"),
        (pipeline.Delivery, "_render", "render"), (pipeline, "build_message", "build_message"),
        (Store, "sync", "plan"),
        (Store, "begin_attempt", "record"), (Store, "mark_sent", "record"),
        (Store, "mark_unsent", "record"), (Store, "record_hard_bounce", "record"),
    ):
        phases.wrap(owner, name, phase)  # fails loudly when a phase's function was renamed
    render, build = pipeline.Delivery._render, getattr(pipeline, "build_message")  # noqa: B009

    def render_noted(self: pipeline.Delivery, job: pipeline.Job) -> RenderedDigest:
        rendered = render(self, job)
        start = time.perf_counter()
        largest[0] = max(largest[0], len(rendered.html.encode()))
        phases.seconds["bench_overhead"] += time.perf_counter() - start
        return rendered

    def build_kept(*args: Any, **kwargs: Any) -> EmailMessage:
        message: EmailMessage = build(*args, **kwargs)
        if len(pool) < POOL:
            pool.append(message)
        return message

    setattr(pipeline.Delivery, "_render", render_noted)  # noqa: B010  (undone below)
    setattr(pipeline, "build_message", build_kept)  # noqa: B010
    phases._undo.callback(setattr, pipeline.Delivery, "_render", render)
    phases._undo.callback(setattr, pipeline, "build_message", build)


# --- the run and the ceiling -------------------------------------------------------------------


def settings_for(folder: Path, host: str, port: int, connections: int) -> Settings:
    """Plain SMTP to the sink on loopback, no rate limits, ignoring any `.env`."""
    return Settings(
        _env_file=None, db=folder / "bench.db", outbox=folder / "outbox",
        subscribers=folder / "subscribers.yaml",
        smtp_host=host, smtp_port=port, smtp_security=SmtpSecurity.NONE, smtp_timeout=60,
        smtp_connections=connections, rate_per_minute=None, rate_per_hour=None,
        unsubscribe="https://bench.example/manage", templates=None, NEWSLETTER_FROM=SENDER,
    )


def send_run(settings: Settings, phases: Phases) -> tuple[pipeline.RunReport, float]:
    """The real send of DAY, timed from reading the subscribers file to recording the last
    digest (the file's reading is the `load` phase)."""
    renderer = Renderer()
    renderer.self_test()
    with Store.open(settings.db) as store:
        runner = pipeline.Runner(settings, store, renderer, make_transport(settings),
                                 clock=lambda: NOW, connect=lambda: make_transport(settings))
        start = time.perf_counter()
        subscribers = load_subscribers(settings.subscribers)
        phases.seconds["load"] += time.perf_counter() - start
        report = asyncio.run(pipeline.send_day(runner, subscribers, DAY))
        return report, time.perf_counter() - start


async def ceiling(host: str, port: int, pool: list[bytes], count: int, connections: int,
                  sender: str) -> float:
    """Seconds for a bare aiosmtplib loop to send `count` pre-built messages."""
    left = iter(range(count))

    async def connection() -> None:
        async with aiosmtplib.SMTP(hostname=host, port=port, start_tls=False,
                                   use_tls=False, timeout=60) as client:
            for n in left:
                await client.sendmail(sender, [f"ceiling{n}@list.example"], pool[n % len(pool)])

    start = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    return time.perf_counter() - start


def peak_rss_mb() -> float:
    """The process's peak resident set size (Linux reports kilobytes)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_bench(count: int, connections: int, host: str, port: int, folder: Path,
              seed: int = 7, history: int = 0) -> dict[str, Any]:
    """Set up, send, measure the ceiling; return the numbers the JSON line reports."""
    settings = settings_for(folder, host, port, connections)
    setup = time.perf_counter()
    with Store.open(settings.db) as store:
        papers = load_month(store)
    subscribers = make_subscribers(count, papers, seed)
    settings.subscribers.write_text(subscribers_yaml(subscribers), encoding="utf-8")
    if history:
        fill_history(settings.db, subscribers, history, seed)
    del subscribers  # the run reads them from the file
    setup = time.perf_counter() - setup
    phases, largest, kept = Phases(), [0], list[EmailMessage]()
    instrument(phases, largest, kept)
    try:
        report, wall = send_run(settings, phases)
    finally:
        phases.close()
    statuses = Counter(r.status.value for r in report.results)
    sent = statuses[pipeline.Status.SENT.value]
    pool = [bytes(message) for message in kept] or [b"Subject: empty\r\n\r\nnothing\r\n"]
    tops = [asyncio.run(ceiling(host, port, pool, sent, connections, "digest@bench.example"))
            for _ in range(CEILING_TRIES)]
    return result_json(count, connections, statuses, wall, phases, largest[0], sent, tops,
                       setup) | {"history_days": history}


def result_json(count: int, connections: int, statuses: Counter[str], wall: float,
                phases: Phases, largest: int, sent: int, tops: list[float],
                setup: float) -> dict[str, Any]:
    """The JSON object of one run (rates are digests per second over the wall time; the
    ceiling is the fastest of its tries, so the ratio errs on the low side)."""
    seconds = {p: phases.seconds[p] for p in PHASES if p != "send"}
    seconds["send"] = wall - sum(seconds.values()) - phases.seconds["bench_overhead"]
    top, middle = min(tops), sorted(tops)[len(tops) // 2]
    ours, best = sent / wall if wall else 0.0, sent / top if top else 0.0
    return {
        "subscribers": count, "connections": connections, "day": DAY.isoformat(),
        "statuses": dict(sorted(statuses.items())), "sent": sent,
        "wall_s": round(wall, 3), "digests_per_s": round(ours, 1),
        "phases_s": {p: round(seconds[p], 3) for p in PHASES},
        "peak_rss_mb": peak_rss_mb(), "largest_html_bytes": largest,
        "ceiling": {"messages": sent, "wall_s": round(top, 3), "per_s": round(best, 1),
                    "tries_per_s": [round(sent / t, 1) if t else 0.0 for t in tops]},
        "ratio": round(ours / best, 3) if best else None,
        "ratio_to_median_try": round(ours * middle / sent, 3) if sent else None,
        "setup_s": round(setup, 2),
    }


# --- the sink ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the SMTP sink exited at start ({process.returncode})")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise SystemExit("the SMTP sink did not start listening within 10 s")


def sink_command(kind: str, port: int) -> tuple[str, list[str]]:
    """smtp-sink when installed (or asked for), else aiosmtpd's Sink handler."""
    found = shutil.which("smtp-sink") or next(
        (p for p in ("/usr/sbin/smtp-sink",) if os.access(p, os.X_OK)), None)
    if kind == "smtp-sink" and found is None:
        raise SystemExit("smtp-sink not found: apt-get install postfix, or use --sink aiosmtpd")
    if kind != "aiosmtpd" and found is not None:
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        return "smtp-sink", [found, *user, "-4", f"127.0.0.1:{port}", "1024"]
    return "aiosmtpd", [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                        "-c", "aiosmtpd.handlers.Sink"]


@contextlib.contextmanager
def sink(kind: str, cpu: int | None = None) -> Iterator[tuple[str, int, str]]:
    """A local SMTP server that accepts and discards, in its own process, stopped on exit
    (with `cpu`, pinned to that CPU)."""
    port = free_port()
    name, command = sink_command(kind, port)
    pin = (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               preexec_fn=pin)
    try:
        _wait_listening(port, process)
        yield "127.0.0.1", port, name
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str] | None = None) -> None:
    """Parse the options, run the bench in a temporary folder, print the JSON line last."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--subscribers", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--sink", choices=("auto", "smtp-sink", "aiosmtpd"), default="auto")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--history", type=int, default=0, metavar="DAYS",
                        help="first fill the ledger with DAYS days of sent digests")
    parser.add_argument("--pin", type=int, metavar="CPU",
                        help="run the sink and this process on one CPU (steadier numbers)")
    args = parser.parse_args(argv)
    if args.pin is not None:
        os.sched_setaffinity(0, {args.pin})
    with tempfile.TemporaryDirectory(prefix="daily-run-") as tmp, \
            sink(args.sink, args.pin) as (host, port, name):
        result = run_bench(args.subscribers, args.connections, host, port, Path(tmp), args.seed,
                           args.history)
    result |= {"sink": name, "pinned_cpu": args.pin, "machine": machine()}
    print(json.dumps(result))


def machine() -> str:
    """CPU model, cores and Python, for the README's table."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        model = next((line.split(":", 1)[1].strip() for line in info
                      if line.startswith("model name")), model)
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


if __name__ == "__main__":
    main()
