"""Read plain YAML fast: ruamel.yaml's parser events straight into dicts, lists and scalars.

ruamel's loaders build a node per value and resolve each scalar in Python, about 10 µs a value
with the round-trip loader keeping positions on top: 19 s and 300 MB for a subscribers file of
10,000 entries, where the parser alone (C, with ruamel.yaml.clib) takes 0.4 s. Here the events
become values directly, and a plain scalar is typed by ruamel's own YAML 1.2 rules, once per
distinct text. Only plain YAML is read: anchors, aliases, explicit tags, merge keys, duplicate
keys, directives and more than one document raise `NotPlain`, so that a caller can leave such
a file to ruamel's loaders, which read it fully (and say where a problem is).
"""

from __future__ import annotations

import functools
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.events import (
    CollectionStartEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver

_PLAIN_TAGS = {"str", "null", "bool", "int", "float"}  # the YAML 1.2 scalars read as themselves


class NotPlain(ValueError):
    """The text is not plain YAML (see the module docstring), or not YAML at all."""


def load(text: str) -> Any:
    """The one document of `text` as plain Python values, as ruamel's safe loader would read
    it (keys as str, as the round-trip loader's are read by `subscribers.plain_data`)."""
    events = iter(YAML(typ="safe").parse(text))
    try:
        if not isinstance(next(events), StreamStartEvent):
            raise NotPlain("no stream")
        start = next(events)
        if isinstance(start, StreamEndEvent):
            return None
        if not isinstance(start, DocumentStartEvent) or start.version or start.tags:
            raise NotPlain("a directive")
        value = _value(next(events), events)
        next(events)  # the document's end
        if not isinstance(next(events), StreamEndEvent):
            raise NotPlain("more than one document")
    except NotPlain:
        raise
    except Exception as exc:  # the parser's errors, and a stream cut short
        raise NotPlain(str(exc)) from None
    return value


def _value(event: Event, events: Any) -> Any:
    """The value that starts with `event`, reading the events of its items from `events`."""
    if isinstance(event, ScalarEvent):
        if event.anchor is not None or event.ctag is not None:
            raise NotPlain("an anchor or a tag")
        return _scalar(event.value) if event.implicit[0] else event.value
    if not isinstance(event, CollectionStartEvent):
        raise NotPlain(f"an unexpected {type(event).__name__}")  # an alias, mostly
    if event.anchor is not None or event.ctag is not None:
        raise NotPlain("an anchor or a tag")
    if isinstance(event, SequenceStartEvent):
        items: list[Any] = []
        for item in events:
            if isinstance(item, SequenceEndEvent):
                return items
            items.append(_value(item, events))
    if isinstance(event, MappingStartEvent):
        mapping: dict[str, Any] = {}
        keys: set[Any] = set()  # as read: ruamel refuses 1 and true as one key
        for item in events:
            if isinstance(item, MappingEndEvent):
                return mapping
            key = _value(item, events)
            if isinstance(key, dict | list):
                raise NotPlain("a complex key")
            if key in keys or str(key) in mapping:
                raise NotPlain("a duplicate key")
            keys.add(key)
            mapping[str(key)] = _value(next(events), events)
    raise NotPlain("a collection cut short")


_RESOLVER = VersionedResolver(version=(1, 2))


@functools.lru_cache(maxsize=4096)
def _scalar(text: str) -> Any:
    """A plain scalar typed by YAML 1.2 as ruamel reads it: text, null, a boolean or a
    number (read by ruamel itself); other types (timestamps, merge keys) are not plain."""
    tag = _RESOLVER.resolve(ScalarNode, text, (True, False))
    kind = str(tag).rpartition(":")[2]
    if kind not in _PLAIN_TAGS:
        raise NotPlain(f"a {kind} scalar")
    if kind == "str":
        return text
    return YAML(typ="safe").load(text)
