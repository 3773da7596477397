"""Changing one subscriber in the round-trip tree: find the entry, set values, add/remove items.

Addresses are compared case-insensitively, and a miss suggests the nearest address or item, so
that a typo at the terminal is quickly fixed. New keys go where a person would put them, and new
values are written in the file's style (`subscribers_style`).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from newsletter.errors import InputError
from newsletter.models import canonical_arxiv_id
from newsletter.profile_phrases import phrase_key
from newsletter.subscribers_style import LIST_KEYS, Style

# Where a new key goes inside an entry: after the existing keys that come before it here.
KEY_ORDER = ("email", "name", *LIST_KEYS, "frequency", "day", "send_at", "timezone",
             "max_papers", "min_upvotes", "trending", "recency", "min_relevance", "sources",
             "enabled")
_ITEM_NAMES = {"topics": "topic", "exclude": "excluded topic", "arxiv_categories": "category",
               "authors": "author", "liked": "liked paper"}

Value = str | int | float | bool


@dataclass(frozen=True)
class Change:
    """What to change in one subscriber: values to set (None removes the key) and list items."""

    values: Mapping[str, Value | None] = field(default_factory=dict)
    add: Mapping[str, Sequence[str]] = field(default_factory=dict)
    remove: Mapping[str, Sequence[str]] = field(default_factory=dict)


# --- finding the entry ---------------------------------------------------------------------------


def subscriber_index(data: CommentedMap, email: str) -> int | None:
    """The position of the subscriber with this address, compared case-insensitively."""
    wanted = email.strip().lower()
    for index, entry in enumerate(data.get("subscribers") or ()):
        if str(entry["email"]).strip().lower() == wanted:
            return index
    return None


def find_subscriber(data: CommentedMap, email: str, path: Path) -> int:
    """The position of the subscriber with this address; an error naming near misses if none."""
    index = subscriber_index(data, email)
    if index is not None:
        return index
    raise no_subscriber(email, [str(entry["email"]) for entry in data.get("subscribers") or ()],
                        path)


def no_subscriber(email: str, addresses: Sequence[str], path: Path) -> InputError:
    """The error for an address not in the file, naming near misses: every command that takes
    an address says the same."""
    close = _close_addresses(email, addresses)
    hint = (f"; did you mean {' or '.join(close)}?" if close
            else "; `newsletter subscribers list` shows who is there")
    return InputError(f"{path}: no subscriber {email}{hint}")


def _close_addresses(email: str, addresses: Sequence[str]) -> list[str]:
    """Near misses; the part before the @ must be close too, as most share the lab's domain."""
    by_lower = {address.lower(): address for address in addresses}
    wanted = email.strip().lower()
    close = difflib.get_close_matches(wanted, list(by_lower), n=5, cutoff=0.8)
    local = wanted.partition("@")[0]
    return [by_lower[c] for c in close
            if difflib.SequenceMatcher(None, local, c.partition("@")[0]).ratio() >= 0.6][:2]


# --- changing it ---------------------------------------------------------------------------------


def apply_change(entry: CommentedMap, change: Change, style: Style, email: str,
                 path: Path) -> None:
    """Apply the change to the entry's tree: values, then removals, then additions."""
    for key, value in change.values.items():
        _set_value(entry, key, value, style)
    for key, items in change.remove.items():
        _remove_items(entry, key, items, f"{path}: {email}")
    for key, items in change.add.items():
        _add_items(entry, key, items, style, f"{path}: {email}")


def _set_value(entry: CommentedMap, key: str, value: Value | None, style: Style) -> None:
    if value is None:
        entry.pop(key, None)
        return
    if isinstance(value, str):
        value = style.styled(value, style.quote(key, entry.get(key)))
    if key in entry:
        entry[key] = value
    else:
        entry.insert(_position(entry, key), key, value)


def _position(entry: CommentedMap, key: str) -> int:
    """Where a new key goes: after the last existing key that comes before it in KEY_ORDER."""
    rank = KEY_ORDER.index(key)
    before = [i for i, k in enumerate(entry) if k in KEY_ORDER and KEY_ORDER.index(k) < rank]
    return before[-1] + 1 if before else 0


def _phrase(item: Any) -> str:
    """A list item's text: a weighted topic `{phrase: …, weight: …}` counts by its phrase."""
    return str(item["phrase"]) if isinstance(item, Mapping) else str(item)


def _add_items(entry: CommentedMap, key: str, items: Sequence[str], style: Style,
               who: str) -> None:
    """Add items, refusing one the list already has (naming it as the file writes it): a
    phrase that is the same to the ranker, or the same paper (`arXiv:2508.05635`)."""
    seq = entry.get(key)
    if seq is None:
        seq = style.new_list(key)
        entry.insert(_position(entry, key), key, seq)
    quote = style.quote(key, seq)
    for item in (_written(key, text.strip()) for text in items):
        same = _sameness(key, item)
        had = next((_phrase(x) for x in seq if _sameness(key, _phrase(x)) == same), None)
        if had is not None:
            raise InputError(f"{who} already has the {_ITEM_NAMES[key]} {had!r}")
        seq.append(style.styled(item, quote))


def _written(key: str, item: str) -> str:
    """How a new item is written: a liked paper as its bare id (a URL or `arXiv:` prefix, or a
    version, is dropped); anything else as given."""
    return (canonical_arxiv_id(item) or item) if key == "liked" else item


def _sameness(key: str, item: str) -> object:
    """What two items of a list must share to be one: a topic or exclude phrase its words (as
    the ranker matches them), a liked paper its id, anything else its text in any case."""
    if key in ("topics", "exclude"):
        return phrase_key(item)
    return _folded(key, item)


def _folded(key: str, item: str) -> str:
    if key == "liked":
        return canonical_arxiv_id(item) or item.casefold()
    return " ".join(item.casefold().split())


def _remove_items(entry: CommentedMap, key: str, items: Sequence[str], who: str) -> None:
    seq = entry.get(key) or CommentedSeq()
    for item in (text.strip() for text in items):
        phrases = [_phrase(x) for x in seq]
        folded = [_folded(key, p) for p in phrases]
        if _folded(key, item) not in folded:
            raise InputError(f"{who} has no {_ITEM_NAMES[key]} {item!r}{_nearest(item, phrases)}")
        del seq[folded.index(_folded(key, item))]
    if key in entry and not entry[key]:
        del entry[key]


def _nearest(item: str, phrases: list[str]) -> str:
    close = difflib.get_close_matches(item, phrases, n=1, cutoff=0.5)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; it has {', '.join(map(repr, phrases))}" if phrases else ""
