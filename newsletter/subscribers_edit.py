"""Changing `subscribers.yaml` from the command line without disturbing anything else.

People keep comments in this file and edit it by hand, so a command must change exactly what it
was asked to change, never leave an invalid or half-written file behind, and never overwrite an
edit someone made meanwhile. How:

- ruamel.yaml's round-trip mode loads the file with its comments, quoting and layout
  (`subscribers_document`); a change to one subscriber is applied to that tree
  (`subscribers_change`) and dumped again. The changed lines are then merged back into the
  original text (`line_merge`), so that lines ruamel would have reformatted stay exactly as
  written.
- Adding or removing a whole subscriber works on the text itself (`subscribers_entries`: the
  entry's lines and the comment block directly above it), because ruamel attaches a comment to
  the node before it.
- On a long list, a command works on a window of the file: the entries it needs, and its
  first ones for the file's style (`subscribers_window`); the change is carried back into the
  whole text. The round-trip loader reads about 500 entries a second, and it then reads a few
  dozen, not 10,000.
- Every result is validated with the schema of `subscribers.py` and must hold exactly the data
  intended; otherwise nothing is written.
- Writing is atomic and is refused when the file's content changed since it was read
  (`subscribers_file`).

The functions here take text and return text; they are pure.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from ruamel.yaml.comments import CommentedSeq

from newsletter import yaml_plain
from newsletter.errors import ConfigError, InputError
from newsletter.subscribers import parse_text, plain_data
from newsletter.subscribers_change import (
    Change,
    apply_change,
    find_subscriber,
    subscriber_index,
)
from newsletter.subscribers_document import Document
from newsletter.subscribers_entries import cut_entry, entry_spans, insert_entry, replace_entry
from newsletter.subscribers_style import Style
from newsletter.subscribers_window import Window, carried, window


def add_subscriber(text: str, path: Path, email: str, change: Change) -> str:
    """The text with a new subscriber appended, written in the style of the existing ones."""
    found = _window_for(text, email)
    if found is not None and found.position is None:
        edited = _quietly(lambda: _add_subscriber(found.window.text, path, email, change))
        whole = _carried(text, found, edited, path, lambda have, new: [*have, new[-1]])
        if whole is not None:
            return whole
    return _add_subscriber(text, path, email, change)


def change_subscriber(text: str, path: Path, email: str, change: Change) -> str:
    """The text with one subscriber changed; the same text when nothing would change."""
    found = _window_for(text, email)
    if found is not None and found.position is not None:
        index, part = found.position, found.window
        edited = _quietly(lambda: _change_subscriber(part.text, path, email, change))
        if edited is part.text:
            return text
        at = part.entry(index)
        whole = _carried(text, found, edited, path,
                         lambda have, new: [*have[:index], new[at], *have[index + 1:]])
        if whole is not None:
            return whole
    return _change_subscriber(text, path, email, change)


def remove_subscriber(text: str, path: Path, email: str) -> str:
    """The text without one subscriber and without the comment block directly above it."""
    found = _window_for(text, email)
    if found is not None and found.position is not None:
        index = found.position
        edited = _quietly(lambda: _remove_subscriber(found.window.text, path, email))
        whole = _carried(text, found, edited, path,
                         lambda have, new: [*have[:index], *have[index + 1:]])
        if whole is not None:
            return whole
    return _remove_subscriber(text, path, email)


def entry_text(text: str, path: Path, email: str) -> tuple[int, int, str]:
    """One subscriber's position in the list, first line number, and lines as written.

    The lines include the comments right above the entry: they usually say who this is.
    """
    found = _window_for(text, email)
    if found is not None and found.position is not None:
        part = found.window
        at, line, shown = _entry_text(part.text, path, email)
        return part.entries[at], part.origin[line - 1] + 1, shown
    return _entry_text(text, path, email)


def _add_subscriber(text: str, path: Path, email: str, change: Change) -> str:
    """`add_subscriber` on the whole text (or a window of it)."""
    doc = Document(text, path)
    address = email.strip()
    existing = subscriber_index(doc.data, address)
    if existing is not None:
        seq = doc.data["subscribers"]
        raise InputError(f"{path}:{seq.lc.item(existing)[0] + 1}: {seq[existing]['email']} is "
                         "already a subscriber; change it with `newsletter subscribers set`")
    style = Style.of(doc.data)
    entry = style.new_entry(address)
    apply_change(entry, change, style, address, path)
    if _is_block_seq(doc.data.get("subscribers")) and doc.data["subscribers"]:
        expected = doc.plain()
        expected["subscribers"].append(plain_data(entry))
        return doc.checked(insert_entry(doc, entry), expected)
    expected = doc.load()
    seq = expected.get("subscribers")
    if seq:
        seq.append(entry)
    else:
        expected["subscribers"] = CommentedSeq([entry])
    return doc.checked(doc.merged(expected), expected)


def _change_subscriber(text: str, path: Path, email: str, change: Change) -> str:
    """`change_subscriber` on the whole text (or a window of it)."""
    doc = Document(text, path)
    index = find_subscriber(doc.data, email, path)
    if _is_block_seq(doc.data["subscribers"]):
        entry = copy.deepcopy(doc.data["subscribers"][index])
        apply_change(entry, change, Style.of(doc.data), str(entry["email"]), path)
        expected = doc.plain()
        if plain_data(entry) == expected["subscribers"][index]:
            return text
        expected["subscribers"][index] = plain_data(entry)
        return doc.checked(replace_entry(doc, index, entry), expected)
    tree = doc.load()
    entry = tree["subscribers"][index]
    apply_change(entry, change, Style.of(doc.data), str(entry["email"]), path)
    if plain_data(tree) == doc.plain():
        return text
    return doc.checked(doc.merged(tree), tree)


def _remove_subscriber(text: str, path: Path, email: str) -> str:
    """`remove_subscriber` on the whole text (or a window of it)."""
    doc = Document(text, path)
    index = find_subscriber(doc.data, email, path)
    seq = doc.data["subscribers"]
    if not _is_block_seq(seq):
        tree = doc.load()
        del tree["subscribers"][index]
        return doc.checked(doc.merged(tree), tree)
    expected = doc.plain()
    del expected["subscribers"][index]
    lines = cut_entry(doc.lines, entry_spans(doc.lines, doc.data), index)
    if len(seq) == 1:  # ruamel cannot render an emptied list that had comments
        key_line = int(doc.data.lc.key("subscribers")[0])
        lines[key_line] = lines[key_line].replace("subscribers:", "subscribers: []", 1)
    return doc.checked("".join(lines), expected)


def _entry_text(text: str, path: Path, email: str) -> tuple[int, int, str]:
    """`entry_text` on the whole text (or a window of it)."""
    doc = Document(text, path)
    index = find_subscriber(doc.data, email, path)
    seq = doc.data["subscribers"]
    if not _is_block_seq(seq):
        return index, seq.lc.item(index)[0] + 1, doc.dump(seq[index])
    span = entry_spans(doc.lines, doc.data)[index]
    return index, span.lead + 1, "".join(doc.lines[span.lead:span.end + 1])


class _Found(NamedTuple):
    """A long file of plain YAML: its data, the subscriber's `position` in its list (None if
    not there), and the window of it holding that subscriber (`subscribers_window`)."""

    data: dict[str, Any]
    position: int | None
    window: Window


def _window_for(text: str, email: str) -> _Found | None:
    """The window for a command on this subscriber, the file read plain once for the command
    (addresses compared as `subscriber_index` does); None for a short list, or a file that is
    not plain YAML: the command then edits the whole file."""
    try:
        data = yaml_plain.load(text)
    except yaml_plain.NotPlain:
        return None
    entries = data.get("subscribers") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return None
    wanted = email.strip().lower()
    index = next((i for i, entry in enumerate(entries)
                  if isinstance(entry, dict) and str(entry.get("email")).strip().lower() == wanted),
                 None)
    part = window(text, () if index is None else [index])
    return _Found(data, index, part) if part is not None else None


def _quietly(edit: Callable[[], str]) -> str | None:
    """An edit of a window; None if it fails, so that the whole file's edit says why, with the
    file's own line numbers."""
    try:
        return edit()
    except (ConfigError, InputError):
        return None


def _carried(text: str, found: _Found, edited: str | None, path: Path,
             intended: Callable[[list[Any], list[Any]], list[Any]]) -> str | None:
    """The whole text with the window's edit carried into it (`carried`), if it is valid and
    its subscribers are exactly the `intended` list (made from the file's and the edited
    window's); else None, and the edit is made on the whole file."""
    whole = carried(text, found.window, edited) if edited is not None else None
    if edited is None or whole is None:
        return None
    try:
        parse_text(whole, path)
        window_after, after = yaml_plain.load(edited), yaml_plain.load(whole)
    except (ConfigError, yaml_plain.NotPlain):
        return None
    before = found.data
    expected = {**before, "subscribers": intended(before["subscribers"],
                                                  window_after["subscribers"])}
    return whole if after == expected else None


def diff_lines(old: str, new: str) -> list[str]:
    """The change as unified-diff hunks without context, for the person to see what was done."""
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), n=0, lineterm="")
    return [line for line in lines if not line.startswith(("---", "+++"))]


def _is_block_seq(node: Any) -> bool:
    return isinstance(node, CommentedSeq) and not node.fa.flow_style()
