"""`newsletter serve` (the scheduler daemon) and `newsletter status` (what it will do next)."""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from newsletter.cli_support import errors, out, subscribers_of
from newsletter.config import load_settings
from newsletter.daemon import Daemon, WallClock
from newsletter.daemon_status import StatusReport, SubscriberStatus, status_report
from newsletter.pipeline import utc_now
from newsletter.scheduler import Scheduler

QUIET_LOGGERS = {"apscheduler": logging.ERROR, "httpx": logging.WARNING,
                 # the daemon logs one structured line per digest; the pipeline's would repeat it
                 "newsletter.pipeline": logging.WARNING}


@errors
def serve(
    clock_start: Annotated[
        str | None,
        typer.Option("--clock-start", hidden=True,
                     help="Test hook: start the daemon's clock at this ISO instant."),
    ] = None,
) -> None:
    """Run the scheduler daemon: fetch and send on time, until SIGTERM or Ctrl-C."""
    settings = load_settings()
    clock = WallClock.starting_at(_instant(clock_start)) if clock_start else WallClock()
    daemon_logging()
    Daemon(settings, clock).run(Scheduler(clock.offset))


def _instant(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise typer.BadParameter(f"{text!r} is not an ISO instant with a UTC offset, e.g. "
                                 "2026-08-14T05:29:55+00:00", param_hint="--clock-start")
    return value.astimezone(dt.UTC)


def daemon_logging() -> None:
    """A daemon's log is its output: plain lines with a UTC timestamp, from INFO up."""
    debug = logging.getLogger().level == logging.DEBUG
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%SZ")
    formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    logging.basicConfig(level=logging.DEBUG if debug else logging.INFO, handlers=[handler],
                        force=True)
    for name, level in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(logging.NOTSET if debug else level)


@errors
def status() -> None:
    """Show the next fetch and send times per subscriber, and the last run's outcome."""
    settings = load_settings()
    report = status_report(settings, subscribers_of(settings), utc_now())
    out.print(f"now {report.now:%Y-%m-%d %H:%M} UTC", markup=False)
    for line in report.subscribers:
        out.print(_send_line(line), markup=False)
    for source, when in report.next_fetches:
        out.print(f"next fetch {source}: {when:%Y-%m-%d %H:%M} UTC", markup=False)
    out.print(_last_run(report), markup=False)


def _send_line(line: SubscriberStatus) -> str:
    """`EMAIL: next send <local> (<UTC>), digest of D; last digest: …` (one line, greppable)."""
    email, slot = line.subscriber.email, line.next_send
    if slot is None:
        return f"{email}: disabled ({line.disabled}); last digest: {_last(line)}"
    local = slot.at.astimezone(ZoneInfo(line.subscriber.timezone))
    due = "due now (catch-up), then " if line.due_now else ""
    return (f"{email}: {due}next send {local:%a %Y-%m-%d %H:%M %Z} ({slot.at:%Y-%m-%d %H:%M} "
            f"UTC), digest of {slot.digest_day.isoformat()}; last digest: {_last(line)}")


def _last(line: SubscriberStatus) -> str:
    row = line.last
    if row is None:
        return "none yet"
    text = f"{row.digest_date.isoformat()} {row.state.value}"
    if row.sent_at is not None:
        text += f" {row.sent_at:%Y-%m-%d %H:%M} UTC"
    elif row.last_reply:
        text += f" ({row.last_reply})"
    return text


def _last_run(report: StatusReport) -> str:
    states = ", ".join(f"{count} {state}" for state, count in report.last_states)
    lines = [f"last run: digests of {report.last_day.isoformat()}: {states}"
             if report.last_day else "last run: no digests yet"]
    for day, source, state, detail in report.fetches:
        lines.append(f"fetch {source} for {day.isoformat()}: {state}"
                     + (f" ({detail})" if detail else ""))
    return "\n".join(lines)
