"""`newsletter history [EMAIL]`: the answer to "why did I (not) get my email today?"."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from newsletter.cli_support import errors, out
from newsletter.config import load_settings
from newsletter.models import DigestState
from newsletter.store import DigestRow, Store

_EXPLAIN = {
    DigestState.EMPTY: "nothing new matched that day",
    DigestState.PLANNED: "planned, not sent yet",
    DigestState.SENDING: "in flight (or the sender stopped); the next run re-sends it",
    DigestState.CANCELLED: "cancelled: the subscriber was removed or disabled",
}


@errors
def history(
    email: Annotated[str | None, typer.Argument(help="Only this subscriber.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many digests to show.")] = 30,
) -> None:
    """What was sent, when, and what failed and why."""
    settings = load_settings()
    with Store.open_readonly(settings.db) as store:
        rows = store.history(email.strip().lower() if email else None, limit)
        if not rows:
            out.print("no digests yet" + (f" for {email}" if email else ""), markup=False)
            return
        out.print(_table(store, rows))
        if email:
            for row in _detailed(rows):
                _details(store, row)
                _fetches(store, row, indent="  ")
        else:
            _fetches(store, rows[0])
        disabled = store.disabled(rows[0].subscriber) if email else None
    if disabled:
        out.print(f"{email} is disabled: {disabled}", markup=False)


def _table(store: Store, rows: list[DigestRow]) -> Table:
    table = Table("digest day", "subscriber", "state", "tries", "papers", "last reply / why")
    for row in rows:
        count = len(store.digest_papers(row.id))
        why = row.last_reply or _EXPLAIN.get(row.state, "")
        if row.state is DigestState.RETRY and row.next_attempt_at:
            why += f" (next attempt {row.next_attempt_at:%Y-%m-%d %H:%M} UTC)"
        table.add_row(row.digest_date.isoformat(), row.subscriber, row.state.value,
                      str(row.attempts), str(count), why)
    return table


_TROUBLE = (DigestState.RETRY, DigestState.FAILED, DigestState.EXPIRED, DigestState.SENDING)
LATEST = 3  # digests always detailed for one subscriber; older ones only when in trouble


def _detailed(rows: list[DigestRow]) -> list[DigestRow]:
    """The rows whose details one subscriber's history shows: the latest few, and any older
    one that did not go out (the one a reader asks about)."""
    return rows[:LATEST] + [row for row in rows[LATEST:] if row.state in _TROUBLE]


def _details(store: Store, row: DigestRow) -> None:
    out.print(f"\n{row.digest_date.isoformat()}: {row.state.value}, Message-ID {row.message_id}",
              markup=False)
    if row.state is DigestState.RETRY and row.next_attempt_at:
        out.print(f"  next attempt {row.next_attempt_at:%Y-%m-%d %H:%M} UTC", markup=False)
    for attempt in store.attempts(row.id):
        reply = f" ({attempt.reply})" if attempt.reply else ""
        out.print(f"  attempt {attempt.attempt} at {attempt.at:%Y-%m-%d %H:%M:%S} UTC: "
                  f"{attempt.outcome}{reply}", markup=False)
    for ranked in store.digest_papers(row.id):
        out.print(f"  {ranked.paper.id}  {ranked.paper.title}", markup=False)


def _fetches(store: Store, row: DigestRow, indent: str = "") -> None:
    """What the fetches of the row's digest day recorded."""
    for source, status, detail in store.fetch_outcomes(row.digest_date):
        out.print(f"{indent}fetch {source} for {row.digest_date}: {status}"
                  f"{': ' + detail if detail else ''}", markup=False)
