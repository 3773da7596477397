"""A long subscribers file cut down to the entries an edit needs, and the edit carried back.

Edits need ruamel's round-trip loader (it keeps comments and layout), which reads about 500
subscribers a second: on a list of 10,000 a command spent 20 s loading entries it never
touched. On a long list a command works on a window of the file instead: the lines before the
list, its first SAMPLE entries (the file's style and indentation are learnt from them), the
entry it changes, the last entry (after which `add` writes), and the lines after the list, each
entry with the comment block right above it. The change the command made to the window is then
carried back into the whole text line by line (`carried`), where it must hold exactly the data
intended; the caller does anything this cannot carry on the whole file, as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ruamel.yaml import YAML
from ruamel.yaml.events import (
    CollectionEndEvent,
    CollectionStartEvent,
    ScalarEvent,
    SequenceStartEvent,
)

from newsletter.subscribers_document import SAMPLE, dash_line
from newsletter.subscribers_entries import comment_lead

WINDOW_FROM = 4 * SAMPLE  # entries from which a command works on a window of the file
# Line breaks that str.splitlines and the YAML parser may count differently: no window then.
_ODD_BREAKS = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


@dataclass(frozen=True, slots=True)
class Window:
    """Some entries of a long list as a file of their own: its `text`, the line of the whole
    text each of its lines is (`origin`), and the number in the whole list of each entry it
    holds (`entries`)."""

    text: str
    origin: tuple[int, ...]
    entries: tuple[int, ...]

    def entry(self, number: int) -> int:
        """The window's number for an entry of the whole list."""
        return self.entries.index(number)


def window(text: str, wanted: Iterable[int]) -> Window | None:
    """The window holding the first SAMPLE entries, the `wanted` ones and the last; None for
    a list too short to need one, or not a block list under `subscribers`."""
    found = _entry_leads(text) if not _ODD_BREAKS.search(text.replace("\r\n", "\n")) else None
    if found is None:
        return None
    lines = text.splitlines(keepends=True)
    leads, end = found
    if len(leads) < WINDOW_FROM:
        return None
    keep = sorted({*range(SAMPLE), *wanted, len(leads) - 1})
    bounds = [*leads, end]
    origin = [*range(leads[0])]
    for number in keep:
        origin += range(bounds[number], bounds[number + 1])
    origin += range(end, len(lines))
    return Window("".join(lines[i] for i in origin), tuple(origin), tuple(keep))


def carried(whole: str, part: Window, edited: str) -> str | None:
    """The whole text with the change that turned `part.text` into `edited`, made where those
    lines are in the whole text. A command changes one run of lines (between the longest
    common start and end of the two texts); None when that run is not one run of the whole
    text (it spans the seam between two entries that the window put side by side)."""
    lines = whole.splitlines(keepends=True)
    before, after = part.text.splitlines(keepends=True), edited.splitlines(keepends=True)
    start = 0
    while start < min(len(before), len(after)) and before[start] == after[start]:
        start += 1
    end = 0  # lines alike at the end, not counting those alike at the start
    while (end < min(len(before), len(after)) - start
           and before[-1 - end] == after[-1 - end]):
        end += 1
    changed = part.origin[start:len(before) - end]
    # lines inserted go right after the line before them (the last of an entry, for `add`)
    at = changed[0] if changed else part.origin[start - 1] + 1 if start else 0
    if list(changed) != list(range(at, at + len(changed))):
        return None
    return "".join(lines[:at] + after[start:len(after) - end] + lines[at + len(changed):])


def _entry_leads(text: str) -> tuple[list[int], int] | None:
    """The first line of each entry of the block list `subscribers` (its comment block right
    above, if any, else its `-` line), and the line where the list ends; None when the file
    has no such list, or cannot be parsed."""
    lines = text.splitlines(keepends=True)
    depth, starts, column, end = 0, list[int](), None, len(lines)
    in_list = ended = False
    previous: object = None
    try:
        for event in YAML(typ="safe").parse(text):
            if ended and isinstance(event, ScalarEvent):  # the next top-level key
                end = event.start_mark.line
            ended = False
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if in_list and depth == 3:
                    starts.append(event.start_mark.line)
                elif depth == 2 and _is_key(previous, "subscribers"):
                    if not isinstance(event, SequenceStartEvent) or event.flow_style:
                        return None
                    in_list, column = True, event.start_mark.column
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
                if in_list and depth == 1:
                    in_list, ended = False, True
            elif in_list and depth == 2 and isinstance(event, ScalarEvent):
                return None  # an entry that is not a mapping: left to the whole-file path
            previous = event
    except Exception:  # an invalid file: the whole-file path says what is wrong
        return None
    if column is None or not starts:
        return None
    return [comment_lead(lines, dash_line(lines, line), column) for line in starts], end


def _is_key(event: object, name: str) -> bool:
    """Whether an event is the top-level key `name` (the value follows it)."""
    return isinstance(event, ScalarEvent) and event.value == name
