"""The send run with an injected clock and sleeper: rate limits and parallel connections."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from newsletter.config import load_settings
from newsletter.delivery import make_transport
from newsletter.fetching import import_files
from newsletter.models import DigestState
from newsletter.pipeline import Runner, RunReport, Status, send_day
from newsletter.render import Renderer
from newsletter.store import Store
from newsletter.subscribers import load_subscribers
from tests.conftest import HF_DAYS
from tests.smtp_server import SmtpServer

DAY = dt.date(2026, 8, 13)
TOPICS = ["LLM agents", "video", "diffusion", "benchmark", "3D world", "safety"]


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 8, 14, 5, 30, tzinfo=dt.UTC)
        self.sleeps: list[float] = []

    def clock(self) -> dt.datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def six(workdir: Path) -> Path:
    """Six subscribers, each with a non-empty digest on DAY."""
    lines = ["subscribers:"] + [f"  - {{email: s{i}@lab.example, topics: [\"{t}\"]}}"
                                for i, t in enumerate(TOPICS)]
    (workdir / "subscribers.yaml").write_text("\n".join(lines) + "\n")
    with Store.open(workdir / "newsletter.db") as store:
        import_files(store, [HF_DAYS / "2026-08-13.json"], None, FakeTime().clock)
    return workdir


def _run(workdir: Path, time: FakeTime, **settings: object) -> list[Status]:
    return [result.status for result in _report(workdir, time, settings=settings).results]


def _report(workdir: Path, time: FakeTime, day: dt.date = DAY, *, dry_run: bool = False,
            settings: dict[str, object] | None = None) -> RunReport:
    config = load_settings(**settings or {})
    subscribers = load_subscribers(workdir / "subscribers.yaml")
    with Store.open(workdir / "newsletter.db") as store:
        runner = Runner(config, store, Renderer(), make_transport(config), clock=time.clock,
                        sleep=time.sleep, connect=lambda: make_transport(config))
        return asyncio.run(send_day(runner, subscribers, day, dry_run=dry_run))


def test_rate_limit_per_minute_waits_for_slots(six: Path, smtp: SmtpServer) -> None:
    """With 2 messages a minute, six digests go out in three rounds, waiting (not failing)."""
    time = FakeTime()
    statuses = _run(six, time, rate_per_minute=2, smtp_connections=1)
    assert statuses == [Status.SENT] * 6
    assert len(smtp.received) == 6
    assert len(time.sleeps) == 2 and all(55 <= s <= 60 for s in time.sleeps)


def test_rate_limit_per_hour_survives_a_restart(six: Path, smtp: SmtpServer) -> None:
    """With 2 an hour, the rest stay queued, and a restarted run still counts the first two."""
    time = FakeTime()
    assert _run(six, time, rate_per_hour=2, smtp_connections=1) == \
        [Status.SENT] * 2 + [Status.QUEUED] * 4
    time.now += dt.timedelta(minutes=10)
    assert _run(six, time, rate_per_hour=2) == \
        [Status.ALREADY_SENT] * 2 + [Status.QUEUED] * 4
    assert len(smtp.received) == 2
    with Store.open(six / "newsletter.db") as store:
        states = [row.state for row in store.history()]
        assert states.count(DigestState.PLANNED) == 4 and store.seen_ids("s5@lab.example") == set()
    time.now += dt.timedelta(hours=1)
    assert _run(six, time, rate_per_hour=2).count(Status.SENT) == 2


def _track_concurrency(smtp: SmtpServer) -> list[int]:
    """Make each DATA take 0.2 s and record how many were in progress at once."""
    inner, peak, now = smtp.handler.handle_DATA, [0], [0]

    async def slow_data(server: object, session: object, envelope: object) -> str:
        now[0] += 1
        peak[0] = max(peak[0], now[0])
        await asyncio.sleep(0.2)
        now[0] -= 1
        return await inner(server, session, envelope)

    smtp.handler.handle_DATA = slow_data  # type: ignore[method-assign]
    return peak


def test_parallel_connections_overlap(six: Path, smtp: SmtpServer) -> None:
    """With three connections, up to three messages are in flight at once, each sent once."""
    peak = _track_concurrency(smtp)
    statuses = _run(six, FakeTime(), smtp_connections=3)
    assert statuses == [Status.SENT] * 6
    received = [r.rcpt_tos[0] for r in smtp.received]
    assert sorted(received) == sorted(f"s{i}@lab.example" for i in range(6))
    assert peak[0] == 3


def test_one_connection_keeps_order(six: Path, smtp: SmtpServer) -> None:
    """With one connection, digests go out in file order over that connection."""
    peak = _track_concurrency(smtp)
    statuses = _run(six, FakeTime(), smtp_connections=1)
    assert statuses == [Status.SENT] * 6 and peak[0] == 1
    assert [r.rcpt_tos[0] for r in smtp.received] == [f"s{i}@lab.example" for i in range(6)]


def test_empty_day_note_says_why_once(workdir: Path, smtp: SmtpServer) -> None:
    """`on_empty: note` sends one short email saying nothing matched; `skip` sends nothing."""
    (workdir / "subscribers.yaml").write_text(
        "subscribers:\n"
        "  - {email: n@lab.example, topics: [\"quantum chromodynamics\"], on_empty: note}\n"
        "  - {email: s@lab.example, topics: [\"quantum chromodynamics\"]}\n")
    with Store.open(workdir / "newsletter.db") as store:
        import_files(store, [HF_DAYS / "2026-08-13.json"], None, FakeTime().clock)
    assert _run(workdir, FakeTime()) == [Status.SENT, Status.NOTHING_NEW]
    (note,) = smtp.received
    assert note.rcpt_tos == ["n@lab.example"]
    assert note.message["Subject"].startswith("No new papers for you")
    text = note.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "none of the new papers matched your topics" in text
    assert _run(workdir, FakeTime()) == [Status.ALREADY_SENT, Status.NOTHING_NEW]
    assert len(smtp.received) == 1


NOTE_AND_SKIP = ("subscribers:\n"
                 "  - {email: n@lab.example, topics: [\"LLM agents\"], on_empty: note}\n"
                 "  - {email: s@lab.example, topics: [\"LLM agents\"]}\n")


def test_empty_note_for_a_day_never_fetched(workdir: Path, smtp: SmtpServer) -> None:
    """A day nothing was fetched for is not "nothing matched": the note says no papers were
    collected, and the report names the command that fetches them."""
    (workdir / "subscribers.yaml").write_text(NOTE_AND_SKIP)
    with Store.open(workdir / "newsletter.db") as store:
        import_files(store, [HF_DAYS / "2026-08-13.json"], None, FakeTime().clock)
    hint = "no papers stored for 2026-08-15; run `newsletter fetch --date 2026-08-15`"
    dry = _report(workdir, FakeTime(), dt.date(2026, 8, 15), dry_run=True).results
    assert [(r.status, r.detail) for r in dry] == [
        (Status.WOULD_SEND, f"No new papers for you, Sat 15 Aug 2026; {hint}"),
        (Status.NOTHING_NEW, hint)]
    sent = _report(workdir, FakeTime(), dt.date(2026, 8, 15)).results
    assert sent[0].status is Status.SENT and sent[0].detail.endswith(f"; {hint}")
    (note,) = smtp.received
    text = note.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "  - no papers were collected for 15 Aug\r\n" in text
    assert "matched" not in text and "newsletter fetch" not in text


def test_empty_note_for_a_day_announced_empty(workdir: Path, smtp: SmtpServer) -> None:
    """A day recorded as empty is said to be one, with no advice to fetch it."""
    (workdir / "subscribers.yaml").write_text(NOTE_AND_SKIP)
    empty = workdir / "2026-08-15.json"
    empty.write_text("[]")
    with Store.open(workdir / "newsletter.db") as store:
        import_files(store, [empty], None, FakeTime().clock)
    results = _report(workdir, FakeTime(), dt.date(2026, 8, 15)).results
    assert [(r.status, r.detail) for r in results][1:] == [
        (Status.NOTHING_NEW, "nothing new since the last digest")]
    assert "newsletter fetch" not in results[0].detail
    text = smtp.received[0].message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Hugging Face announced no papers on 15 Aug" in text and "collected" not in text


def test_only_papers_in_the_email_become_seen(six: Path, smtp: SmtpServer,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """When the size budget drops papers, only those shown are marked seen."""
    from newsletter import render

    original = render.Renderer.render

    def tight(self: render.Renderer, digest: object, manage: str) -> render.RenderedDigest:
        full = original(self, digest, manage)  # type: ignore[arg-type]
        return render.RenderedDigest(full.subject, full.preheader, full.html, full.text,
                                     papers_shown=1, papers_dropped=full.papers_shown - 1)

    monkeypatch.setattr(render.Renderer, "render", tight)
    assert _run(six, FakeTime(), smtp_connections=1)[0] is Status.SENT
    with Store.open(six / "newsletter.db") as store:
        row = store.digest("s0@lab.example", DAY)
        assert row is not None and len(store.digest_papers(row.id)) > 1
        first = store.digest_papers(row.id)[0].paper.id
        assert store.seen_ids("s0@lab.example") == {first}
