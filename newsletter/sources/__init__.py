"""Paper sources: fetching bytes over HTTP and parsing them into `Paper`s are separate steps.

The rest of the program uses only what this package exports:

- `Batch`: what one fetch or one imported file yielded.
- `load_file(path, listed_on)`: import a recorded response, its format detected.
- `fetch(source, day, settings, ...)`: fetch one listing day of one source over HTTP.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from newsletter.models import Paper, Source


@dataclass(frozen=True, slots=True)
class Batch:
    """The papers of one listing (a day of one source), and the items that had to be skipped.

    `empty_day` is true when the source positively said "nothing announced that day"
    (an arXiv weekend), which is different from an error.
    """

    source: Source
    listed_on: dt.date | None
    papers: tuple[Paper, ...]
    skipped: tuple[str, ...] = ()
    empty_day: bool = False
