"""The only importer of APScheduler: runs the daemon's jobs at the times `schedule` computes.

APScheduler brings the background thread, the wake-ups, coalescing of missed runs,
`max_instances=1` and the events; it decides nothing about what is due (the ledger does, see
`schedule.due_digests`). The timing rules are pure functions of an instant in the daemon's
clock, which may run ahead of the wall clock by a fixed offset (the hidden
`serve --clock-start` test hook); `RuleTrigger` shifts them into real time.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger

log = logging.getLogger(__name__)

Rule = Callable[[dt.datetime], dt.datetime]
Job = Callable[[], object]
WORKERS = 4  # the tick and the two fetch jobs may run at once
RULE_RETRY = dt.timedelta(minutes=1)


class RuleTrigger(BaseTrigger):  # type: ignore[misc]  # APScheduler 3 ships no type hints
    """Fires at the instants of `rule` (the next instant strictly after a given one).

    `offset` is how far the daemon's clock runs ahead of the wall clock: rules see daemon
    time, APScheduler sees wall time.
    """

    def __init__(self, rule: Rule, offset: dt.timedelta) -> None:
        self.rule = rule
        self.offset = offset

    def get_next_fire_time(
        self, previous_fire_time: dt.datetime | None, now: dt.datetime
    ) -> dt.datetime:
        """The rule's next instant; if the rule fails, a minute from now (never a dead job)."""
        after = previous_fire_time or now - dt.timedelta(microseconds=1)
        try:
            return self.rule(after + self.offset) - self.offset
        except Exception:
            # An exception here would end APScheduler's thread, and the daemon with it, silently.
            log.exception('event=job-error job=%s error="timing rule failed"', self)
            return now + RULE_RETRY

    def __str__(self) -> str:
        return f"rule[{getattr(self.rule, '__name__', 'rule')}]"


class Scheduler:
    """A background scheduler whose jobs never overlap themselves and never pile up.

    Each job has `max_instances=1` (a run still going when the next one is due is skipped and
    logged) and `coalesce=True` (runs missed while the machine slept become one run).
    """

    def __init__(self, offset: dt.timedelta = dt.timedelta(0)) -> None:
        self.offset = offset
        self._rules: dict[str, Rule] = {}
        self._aps = BackgroundScheduler(
            timezone=dt.UTC, executors={"default": ThreadPoolExecutor(WORKERS)},
        )
        self._aps.add_listener(
            self._on_event, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED | EVENT_JOB_ERROR
        )

    def add(self, job_id: str, job: Job, rule: Rule, *, grace: float) -> None:
        """Run `job` at each instant of `rule`; a run later than `grace` seconds is dropped."""
        self._rules[job_id] = rule
        self._aps.add_job(
            job, RuleTrigger(rule, self.offset), id=job_id, name=job_id, coalesce=True,
            max_instances=1, misfire_grace_time=max(1, round(grace)), replace_existing=True,
        )

    def refresh(self, job_id: str) -> None:
        """Recompute a job's next run (its rule reads data that changed, e.g. send times)."""
        self._aps.reschedule_job(job_id, trigger=RuleTrigger(self._rules[job_id], self.offset))

    def run_now(self, job_id: str) -> None:
        """Make a job due at once (it is still skipped if a run of it is going)."""
        self._aps.modify_job(job_id, next_run_time=dt.datetime.now(dt.UTC))

    def next_run(self, job_id: str) -> dt.datetime | None:
        """When a job runs next, in the daemon's clock (None before `start`)."""
        job = self._aps.get_job(job_id)
        when = getattr(job, "next_run_time", None) if job is not None else None
        return None if when is None else when.astimezone(dt.UTC) + self.offset

    def start(self) -> None:
        self._aps.start()

    @property
    def running(self) -> bool:
        return bool(self._aps.running)

    def shutdown(self) -> None:
        """Stop firing and wait for the runs in progress (they finish their message in flight)."""
        if self._aps.running:
            self._aps.shutdown(wait=True)

    def _on_event(self, event: JobEvent) -> None:
        """One structured log line per skipped, missed or crashed run."""
        code: Any = event.code
        if code == EVENT_JOB_MAX_INSTANCES:
            log.warning('event=skipped job=%s reason="the previous run is still going"',
                        event.job_id)
        elif code == EVENT_JOB_MISSED:
            when = getattr(event, "scheduled_run_time", None)
            log.warning("event=missed job=%s scheduled=%s", event.job_id,
                        "?" if when is None else (when + self.offset).isoformat())
        else:
            log.error('event=job-error job=%s error="%s"', event.job_id,
                      getattr(event, "exception", "?"))
