"""`newsletter subscribers …`: read, check and edit the subscribers file.

Every change goes through `subscribers_edit` and `subscribers_file`: only the lines the change
needs are touched, the result is validated before it is written, and the write is atomic. Each
command prints the change it made as a diff, so that what happens to a hand-kept file is never a
surprise.
"""

from __future__ import annotations

import os
import shlex
import sqlite3
import subprocess
from collections.abc import Callable, Iterable
from enum import StrEnum
from importlib.resources import files
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Column, Table

from newsletter.cli_support import err, errors, out, subscribers_of
from newsletter.config import Settings, load_settings
from newsletter.errors import InputError, RunError
from newsletter.models import Frequency, Subscriber
from newsletter.ranking_fields import medium_note, medium_of
from newsletter.store import Store, damaged
from newsletter.subscribers import WEEKDAYS, SubscribersFile, parse_file, parse_text, resolve
from newsletter.subscribers_change import Change, Value
from newsletter.subscribers_edit import (
    add_subscriber,
    change_subscriber,
    diff_lines,
    entry_text,
    remove_subscriber,
)
from newsletter.subscribers_file import edit_in_editor, read_snapshot, write_atomic
from newsletter.subscribers_lint import liked_ids, unknown_authors, warnings
from newsletter.subscribers_lint_papers import StoredPapers, paper_warnings

subscribers_app = typer.Typer(help="Read, check and edit the subscribers file.",
                              no_args_is_help=True)


class Unsettable(StrEnum):
    """Keys `set --unset` may remove, so that the subscriber follows `defaults` again."""

    NAME = "name"
    FREQUENCY = "frequency"
    DAY = "day"
    SEND_AT = "send_at"
    TIMEZONE = "timezone"
    MAX_PAPERS = "max_papers"
    MIN_UPVOTES = "min_upvotes"
    TRENDING = "trending"
    RECENCY = "recency"
    MIN_RELEVANCE = "min_relevance"
    SOURCES = "sources"


Email = Annotated[str, typer.Argument(help="The subscriber's address (any case).")]
Name = Annotated[str | None, typer.Option(help="The name used in the greeting.")]
Often = Annotated[str | None, typer.Option("--frequency", help="daily, weekdays or weekly.")]
Day = Annotated[str | None, typer.Option(help="The day of a weekly digest, e.g. monday.")]
SendAt = Annotated[str | None, typer.Option(help="Local time of the send, HH:MM.")]
Zone = Annotated[str | None, typer.Option(help="An IANA time zone, e.g. Europe/Berlin.")]
MaxPapers = Annotated[int | None, typer.Option(help="At most this many papers (1-100).")]
DryRun = Annotated[bool, typer.Option(help="Print the change; write nothing.")]
Texts = list[str] | None


def _say(text: str) -> None:
    out.print(text, markup=False, emoji=False)


@subscribers_app.command("validate")
@errors
def validate() -> None:
    """Check the subscribers file; print every problem with file:line:column, then what is
    valid but will not do what it seems to (warnings)."""
    settings = load_settings()
    written = parse_file(settings.subscribers)
    subscribers = tuple(resolve(written))
    _say(f"{settings.subscribers}: ok, {_plural(len(subscribers), 'subscriber')}")
    _warn(settings, written)


def _warn_after_change(settings: Settings, written: SubscribersFile,
                       only: str | None = None) -> None:
    """`_warn` after a change was saved: a ledger that cannot be read is said, and does not
    make the command fail (its change stands)."""
    try:
        _warn(settings, written, only)
    except (InputError, RunError, sqlite3.DatabaseError) as exc:
        error = damaged(settings.db, exc) if isinstance(exc, sqlite3.DatabaseError) else exc
        err.print(f"warning: the stored papers were not checked: {error or exc}", markup=False,
                  emoji=False)


def _warn(settings: Settings, written: SubscribersFile, only: str | None = None) -> None:
    """Print the warnings of `validate` (`subscribers_lint`, `subscribers_lint_papers`), of
    every subscriber or `only` the one with this address."""
    pairs = list(zip(resolve(written), written.subscribers, strict=True))
    if only is not None:
        pairs = [pair for pair in pairs if pair[0].key == only.lower()]
    subscribers = [subscriber for subscriber, _ in pairs]
    stored, authors, against_papers = None, set(), []
    if settings.db.exists() and subscribers:
        with Store.open_readonly(settings.db) as store:
            stored = {p.id for p in store.papers_by_id(liked_ids(subscribers))}
            if any(s.profile.authors for s in subscribers):
                authors = store.author_names()
            against_papers = paper_warnings(subscribers, StoredPapers(store))
    for line in [*warnings(subscribers, stored, [entry for _, entry in pairs]),
                 *unknown_authors(subscribers, authors), *against_papers]:
        err.print(f"warning: {line}", markup=False, emoji=False)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


MAX_ZONE_WIDTH = 20  # longer zone names ("America/Argentina/ComodRivadavia") fold
LONG_LIST = 200  # a longer list prints as lines: rich took 8 s to lay out 10,000 rows
MAX_NAME_WIDTH = 24  # a longer name is cut with "…" in the lines of a long list


@subscribers_app.command("list")
@errors
def list_(
    plain: Annotated[bool, typer.Option(
        help=f"One line per subscriber, topics last (the default past {LONG_LIST}).")] = False,
) -> None:
    """The subscribers and their last digest: a table, or one line each for a long list."""
    settings = load_settings()
    subscribers = subscribers_of(settings)
    last = _last_digests(settings, [s.key for s in subscribers])
    rows = [(s.email, s.name or "", ", ".join(t.phrase for t in s.profile.topics), _frequency(s),
             f"{s.send_at:%H:%M} {s.timezone}", last.get(s.key, "—")) for s in subscribers]
    if plain or len(rows) > LONG_LIST:
        for line in _lines(rows):
            out.print(line, markup=False, emoji=False, crop=False)
        return
    zone = max((len(s.timezone) for s in subscribers), default=0)  # a zone is never split
    table = Table(Column("address", no_wrap=True), Column("name", min_width=8),
                  Column("topics", min_width=14, ratio=1), Column("frequency", min_width=9),
                  Column("time", min_width=min(zone, MAX_ZONE_WIDTH), overflow="fold"),
                  Column("last digest", no_wrap=True))
    for row in rows:
        table.add_row(*row)
    out.print(table)


def _lines(rows: list[tuple[str, str, str, str, str, str]]) -> list[str]:
    """A header and a line per row, every column but the topics padded to its widest value,
    the topics last and whole (`grep`, `cut` and `sort` read them)."""
    header = ("address", "name", "topics", "frequency", "time", "last digest")
    cut = [(row[0], _short(_one_line(row[1])), _one_line(row[2]), *row[3:]) for row in rows]
    widths = [max(len(row[i]) for row in [header, *cut]) for i in range(6)]
    order = (0, 1, 3, 4, 5, 2)
    return ["  ".join(row[i].ljust(widths[i]) if i != 2 else row[i] for i in order).rstrip()
            for row in [header, *cut]]


def _one_line(text: str) -> str:
    """A name or topics with every run of whitespace (a newline, a tab) as one space."""
    return " ".join(text.split())


def _short(name: str) -> str:
    """A name cut to MAX_NAME_WIDTH characters, with "…"."""
    return name if len(name) <= MAX_NAME_WIDTH else name[: MAX_NAME_WIDTH - 1] + "…"


def _frequency(subscriber: Subscriber) -> str:
    text = subscriber.frequency.value
    if subscriber.frequency is Frequency.WEEKLY:
        text += f" ({WEEKDAYS[subscriber.weekly_day]})"
    return text if subscriber.enabled else f"{text}, disabled"


def _last_digests(settings: Settings, keys: Iterable[str]) -> dict[str, str]:
    """Each subscriber's latest digest day and state; nothing when there is no database yet."""
    if not settings.db.exists():
        return {}
    try:
        with Store.open_readonly(settings.db) as store:
            rows = {key: store.history(key, 1) for key in keys}
    except InputError:
        return {}
    return {key: f"{r[0].digest_date.isoformat()} {r[0].state.value}"
            for key, r in rows.items() if r}


@subscribers_app.command("show")
@errors
def show(email: Email) -> None:
    """One subscriber as written in the file, with the settings in effect and the last digest."""
    settings = load_settings()
    text = read_snapshot(settings.subscribers).text
    index, line, block = entry_text(text, settings.subscribers, email)
    subscriber = list(resolve(parse_text(text, settings.subscribers)))[index]
    _say(f"# {settings.subscribers}, line {line}")
    _say(block.rstrip("\n"))
    _say(f"# in effect: {_effective(subscriber)}")
    if (medium := medium_of(subscriber.profile)) is not None:
        _say(f"# {medium_note(medium)}")
    last = _last_digests(settings, [subscriber.key]).get(subscriber.key, "none yet")
    _say(f"# last digest: {last}")


def _effective(s: Subscriber) -> str:
    sources = ", ".join(sorted(source.value for source in s.sources))
    return (f"{_frequency(s)} at {s.send_at:%H:%M} {s.timezone}, at most "
            f"{_plural(s.profile.max_papers, 'paper')}, from {sources}")


@subscribers_app.command("add")
@errors
def add(
    email: Email,
    name: Name = None,
    topic: Annotated[Texts, typer.Option(help="A topic phrase; repeat for more.")] = None,
    exclude: Annotated[Texts, typer.Option(help="Leave out papers about this.")] = None,
    category: Annotated[Texts, typer.Option(help="An arXiv category, e.g. cs.LG.")] = None,
    author: Annotated[Texts, typer.Option(help="An author whose papers qualify.")] = None,
    like: Annotated[Texts, typer.Option(help="A liked paper's arXiv id.")] = None,
    frequency: Often = None, day: Day = None, send_at: SendAt = None, timezone: Zone = None,
    max_papers: MaxPapers = None, dry_run: DryRun = False,
) -> None:
    """Add a subscriber, written like the ones already in the file."""
    change = Change(
        values=_values(name=name, frequency=frequency, day=day, send_at=send_at,
                       timezone=timezone, max_papers=max_papers),
        add=_lists(topics=topic, exclude=exclude, arxiv_categories=category, authors=author,
                   liked=like),
    )
    _save(lambda text, path: add_subscriber(text, path, email, change), f"added {email}",
          dry_run, missing_ok=True, warn_for=email)


@subscribers_app.command("set")
@errors
def set_(
    email: Email,
    name: Name = None, frequency: Often = None, day: Day = None, send_at: SendAt = None,
    timezone: Zone = None, max_papers: MaxPapers = None,
    add_topic: Annotated[Texts, typer.Option(help="Add a topic phrase.")] = None,
    remove_topic: Annotated[Texts, typer.Option(help="Remove a topic (by phrase).")] = None,
    add_exclude: Annotated[Texts, typer.Option(help="Add an excluded phrase.")] = None,
    remove_exclude: Annotated[Texts, typer.Option(help="Remove an excluded phrase.")] = None,
    add_category: Annotated[Texts, typer.Option(help="Add an arXiv category.")] = None,
    remove_category: Annotated[Texts, typer.Option(help="Remove an arXiv category.")] = None,
    add_author: Annotated[Texts, typer.Option(help="Add an author.")] = None,
    remove_author: Annotated[Texts, typer.Option(help="Remove an author.")] = None,
    like: Annotated[Texts, typer.Option(help="Add a liked paper (arXiv id).")] = None,
    unlike: Annotated[Texts, typer.Option(help="Remove a liked paper.")] = None,
    enable: Annotated[bool | None, typer.Option("--enable/--disable",
                                                help="Send digests or pause them.")] = None,
    unset: Annotated[list[Unsettable] | None,
                     typer.Option(help="Remove an own setting; `defaults` apply.")] = None,
    dry_run: DryRun = False,
) -> None:
    """Change one subscriber: values, list items added or removed, enabled or not."""
    values = _values(name=name, frequency=frequency, day=day, send_at=send_at,
                     timezone=timezone, max_papers=max_papers)
    values.update(_unset(values, unset or [], enable))
    change = Change(
        values=values,
        add=_lists(topics=add_topic, exclude=add_exclude, arxiv_categories=add_category,
                   authors=add_author, liked=like),
        remove=_lists(topics=remove_topic, exclude=remove_exclude,
                      arxiv_categories=remove_category, authors=remove_author, liked=unlike),
    )
    if not (change.values or change.add or change.remove):
        raise InputError("nothing to change: give an option such as --add-topic or --frequency "
                         "(see `newsletter subscribers set --help`)")
    _save(lambda text, path: change_subscriber(text, path, email, change), f"changed {email}",
          dry_run, warn_for=email)


def _values(**given: Value | None) -> dict[str, Value | None]:
    return {key: value for key, value in given.items() if value is not None}


def _lists(**given: Texts) -> dict[str, list[str]]:
    return {key: items for key, items in given.items() if items}


def _unset(values: dict[str, Value | None], unset: list[Unsettable],
           enable: bool | None) -> dict[str, Value | None]:
    """`--unset KEY` removes the key; `--enable` removes `enabled: false` (true is the default)."""
    both = [key.value for key in unset if key.value in values]
    if both:
        option = "--" + both[0].replace("_", "-")
        raise InputError(f"{option} and --unset {both[0]} contradict each other")
    removed: dict[str, Value | None] = {key.value: None for key in unset}
    if enable is not None:
        removed["enabled"] = None if enable else False
    return removed


@subscribers_app.command("remove")
@errors
def remove(email: Email, dry_run: DryRun = False) -> None:
    """Remove a subscriber, with the comment lines right above it."""
    _save(lambda text, path: remove_subscriber(text, path, email), f"removed {email}", dry_run)


def _save(edit: Callable[[str, Path], str], done: str, dry_run: bool, *,
          missing_ok: bool = False, warn_for: str | None = None) -> None:
    """Read, change and check the file, write it unless this is a dry run, print the diff,
    then the warnings `validate` would give of the subscriber `warn_for`."""
    settings = load_settings()
    path = settings.subscribers
    snapshot = read_snapshot(path, missing_ok=missing_ok)
    new = edit(snapshot.text, path)
    if new == snapshot.text:
        _say(f"{path}: nothing to change")
        return
    if not dry_run:
        write_atomic(snapshot, new)
    _say(f"{path}: {done}" + (" (dry run: nothing written)" if dry_run else ""))
    for line in diff_lines(snapshot.text, new):
        _say(line)
    if warn_for is not None:
        _warn_after_change(settings, parse_text(new, path), warn_for)


@subscribers_app.command("edit")
@errors
def edit() -> None:
    """Open the file in $VISUAL or $EDITOR (else vi); save it only once it is valid."""
    path = load_settings().subscribers
    snapshot = read_snapshot(path, missing_ok=True)
    start = None if snapshot.digest else _example()
    text = edit_in_editor(snapshot, _run_editor, _ask_reopen, start)
    if text is None:
        _say(f"{path}: no changes")
        return
    written = parse_text(text, path)
    _say(f"{path}: saved, {_plural(len(written.subscribers), 'subscriber')}")
    _warn_after_change(load_settings(), written)


def _example() -> str:
    """A new file starts as the commented example, to be adapted."""
    return (files("newsletter") / "sample" / "subscribers.example.yaml").read_text("utf-8")


def _run_editor(file: Path) -> None:
    command = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        status = subprocess.run([*shlex.split(command), str(file)], check=False).returncode
    except OSError as exc:
        raise InputError(f"cannot start the editor {command!r}: {exc.strerror}; "
                         "set $EDITOR") from None
    if status != 0:
        raise RunError(f"the editor {command!r} exited with status {status}; nothing changed")


def _ask_reopen(problems: str) -> bool:
    """Show what is wrong and ask whether to fix it; Enter means yes, end of input means no.

    The question goes to standard error (click's prompt would also write a space to standard
    output, which belongs to results).
    """
    err.print(problems, markup=False, emoji=False)
    while True:
        try:
            answer = err.input("Reopen the editor to fix this? [Y/n]: ", markup=False)
        except EOFError:
            return False
        if answer.strip().lower() in ("", "y", "yes", "n", "no"):
            return not answer.strip().lower().startswith("n")


@subscribers_app.command("path")
@errors
def path() -> None:
    """Print the subscribers file in use."""
    _say(str(load_settings().subscribers.resolve()))
