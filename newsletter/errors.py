"""The few error types of the program, each written for the person at the terminal.

Only the CLI turns them into exit codes: `UsageError`/`ConfigError`/`InputError` → 2,
`RunError` → 1.
"""

from __future__ import annotations


class NewsletterError(Exception):
    """Base class: the message is complete and meant to be printed as it is."""


class ConfigError(NewsletterError):
    """A setting or the subscribers file is wrong; nothing was fetched or sent."""


class InputError(NewsletterError):
    """A file or argument given on the command line cannot be used."""


class SourceError(NewsletterError):
    """A source failed for this run (network, HTTP status, unparseable or changed data)."""


class RunError(NewsletterError):
    """A run could not complete (relay refused our credentials, database locked, ...)."""
