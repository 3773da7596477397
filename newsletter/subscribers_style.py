"""How a subscribers file writes its values, so that a new value looks like its neighbours.

Quoting (none, single, double) and list style (flow `[a, b]` or one item a line) are counted
over the file's entries and defaults; a new value follows the value it replaces, its list, its
key, or the file as a whole, in that order.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

LIST_KEYS = ("topics", "exclude", "arxiv_categories", "authors", "liked")


@dataclass(frozen=True)
class Style:
    """How this file writes things, so that new values look like their neighbours."""

    quotes: Mapping[str, Counter[str]]  # per key: how its text values (or items) are quoted
    items: Counter[str]  # how list items are quoted, all lists together
    flow: Mapping[str, Counter[bool]]  # per key: flow `[a, b]` or block lists
    lists: Counter[bool]
    entries: Counter[bool]  # entries written as flow mappings `- {email: …}` or not

    @classmethod
    def of(cls, data: CommentedMap) -> Style:
        quotes: defaultdict[str, Counter[str]] = defaultdict(Counter)
        flow: defaultdict[str, Counter[bool]] = defaultdict(Counter)
        entries = Counter(bool(e.fa.flow_style()) for e in _entries(data))
        defaults = data.get("defaults")
        for entry in [*_entries(data), *([defaults] if isinstance(defaults, Mapping) else [])]:
            for key, value in entry.items():
                if isinstance(value, CommentedSeq):
                    flow[key][bool(value.fa.flow_style())] += 1
                texts = value if isinstance(value, CommentedSeq) else [value]
                quotes[key].update(_quote_of(t) for t in texts if isinstance(t, str))
        items = sum((quotes[key] for key in LIST_KEYS), Counter[str]())
        lists = sum(flow.values(), Counter[bool]())
        return cls(dict(quotes), items, dict(flow), lists, entries)

    def quote(self, key: str, current: Any) -> str:
        """Quoting for a new value: like the one it replaces, its list, its key, or the file."""
        if isinstance(current, str):
            return _quote_of(current)
        if isinstance(current, CommentedSeq) and any(isinstance(x, str) for x in current):
            return str(_most(Counter(_quote_of(x) for x in current if isinstance(x, str)), ""))
        if self.quotes.get(key):
            return str(_most(self.quotes[key], ""))
        return str(_most(self.items, '"')) if key in LIST_KEYS or key == "send_at" else ""

    @staticmethod
    def styled(value: str, quote: str) -> str:
        """ruamel quotes a plain value itself when it would read as something else."""
        if quote == '"':
            return cast(str, DoubleQuotedScalarString(value))
        return cast(str, SingleQuotedScalarString(value)) if quote == "'" else value

    def new_list(self, key: str) -> CommentedSeq:
        seq = CommentedSeq()
        if _most(self.flow.get(key, Counter()), _most(self.lists, True)):
            seq.fa.set_flow_style()
        else:
            seq.fa.set_block_style()
        return seq

    def new_entry(self, email: str) -> CommentedMap:
        entry = CommentedMap()
        entry["email"] = self.styled(email, self.quote("email", None))
        if _most(self.entries, False):
            entry.fa.set_flow_style()
        return entry


def _entries(data: CommentedMap) -> Iterator[CommentedMap]:
    yield from (e for e in data.get("subscribers") or () if isinstance(e, CommentedMap))


def _quote_of(value: str) -> str:
    if isinstance(value, DoubleQuotedScalarString):
        return '"'
    return "'" if isinstance(value, SingleQuotedScalarString) else ""


def _most(counter: Counter[Any], default: Any) -> Any:
    return counter.most_common(1)[0][0] if counter else default
