"""`newsletter subscribers …`: read and check the subscribers file."""

from __future__ import annotations

import typer
from rich.table import Table

from newsletter.cli_support import errors, out, subscribers_of
from newsletter.config import load_settings

subscribers_app = typer.Typer(help="Read and check the subscribers file.", no_args_is_help=True)


@subscribers_app.command("validate")
@errors
def validate() -> None:
    """Check the subscribers file; print every problem with file:line:column."""
    settings = load_settings()
    count = len(subscribers_of(settings))
    out.print(f"{settings.subscribers}: ok, {count} subscriber{'s' if count != 1 else ''}",
              markup=False)


@subscribers_app.command("list")
@errors
def list_() -> None:
    """A table of the subscribers."""
    settings = load_settings()
    table = Table("email", "name", "topics", "frequency", "time")
    for s in subscribers_of(settings):
        table.add_row(s.email, s.name or "", ", ".join(t.phrase for t in s.profile.topics),
                      s.frequency.value, f"{s.send_at:%H:%M} {s.timezone}")
    out.print(table)


@subscribers_app.command("path")
@errors
def path() -> None:
    """Print the subscribers file in use."""
    out.print(str(load_settings().subscribers.resolve()), markup=False)
