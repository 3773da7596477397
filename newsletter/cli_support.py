"""What every command module shares: the two consoles, error-to-exit-code mapping, lookups."""

from __future__ import annotations

import functools
import logging
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

import typer
from rich.console import Console
from rich.logging import RichHandler

from newsletter.config import Settings, load_settings
from newsletter.errors import ConfigError, InputError, NewsletterError
from newsletter.models import Subscriber
from newsletter.render import Renderer
from newsletter.store import damaged
from newsletter.subscribers import load_subscribers
from newsletter.subscribers_change import no_subscriber

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
_state = {"debug": False}


def configure_logging(verbose: bool, debug: bool) -> None:
    """Logs go to standard error; tracebacks only with --debug."""
    _state["debug"] = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False, show_time=False)],
        force=True,
    )


def report(exc: Exception) -> None:
    if _state["debug"]:
        err.print_exception()
    err.print(f"error: {exc}", markup=False)


def errors(command: Callable[..., None]) -> Callable[..., None]:
    """Turn the program's errors into a message and an exit code (2: config/input, 1: run)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except (ConfigError, InputError) as exc:
            report(exc)
            raise typer.Exit(2) from None
        except NewsletterError as exc:
            report(exc)
            raise typer.Exit(1) from None
        except sqlite3.DatabaseError as exc:  # a damaged ledger is found only when read
            error = damaged(load_settings().db, exc)
            if error is None:
                raise
            report(error)
            raise typer.Exit(1) from None

    return wrapper


def make_renderer(settings: Settings) -> Renderer:
    """The renderer of these settings, self-tested so a broken template fails now."""
    renderer = Renderer(settings.templates, thumbnails=settings.thumbnails)
    renderer.self_test()
    return renderer


def subscribers_of(settings: Settings) -> tuple[Subscriber, ...]:
    return load_subscribers(settings.subscribers)


def find_subscriber(
    subscribers: Sequence[Subscriber], email: str, settings: Settings
) -> Subscriber:
    for subscriber in subscribers:
        if subscriber.key == email.strip().lower():
            return subscriber
    raise no_subscriber(email, [s.email for s in subscribers], settings.subscribers)
