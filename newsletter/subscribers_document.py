"""One valid subscribers file loaded for editing: its lines, its round-trip tree, its layout.

ruamel.yaml's round-trip mode keeps comments and quoting; the dumper is set to the indentation
that reproduces the file best, so that a changed tree renders like the original. The changed
lines are merged back into the original text (`line_merge`), and every result is validated and
compared with the data intended before it is handed back.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from newsletter import yaml_plain
from newsletter.errors import ConfigError
from newsletter.line_merge import matching_lines, merge_lines
from newsletter.subscribers import parse_text, plain_data

# (mapping, sequence, offset) indentations tried to reproduce a file; the first is the default.
_INDENTS = ((2, 4, 2), (2, 2, 0), (2, 3, 1), (4, 4, 2), (4, 6, 4), (4, 4, 0))


class Document:
    """A valid file: its lines, its round-trip tree, and a YAML dumper that reproduces its layout.

    Line endings and a byte-order mark are set aside while editing and put back at the end.
    """

    def __init__(self, text: str, path: Path) -> None:
        self.path = path
        self.crlf = "\r\n" in text
        self.bom = text.startswith("\ufeff")
        plain = text.removeprefix("\ufeff").replace("\r\n", "\n")
        self.final_newline = plain.endswith("\n") or not plain
        self.text = plain if self.final_newline else plain + "\n"
        try:
            parse_text(self.text, path)
        except ConfigError as exc:
            raise ConfigError(f"{exc}\n{path}: not changed; fix these first, "
                              "e.g. with `newsletter subscribers edit`") from None
        self.lines = self.text.splitlines(keepends=True)
        self.loader = _yaml()  # loading does not depend on the indentation; dumping does
        self.data = self.load()

    @functools.cached_property
    def yaml(self) -> YAML:
        """The dumper that reproduces the file best (`_best_yaml`), found when first needed."""
        return _best_yaml(self.data, self.text)

    def plain(self) -> Any:
        """The data as plain values, to compare with a result's (`checked`)."""
        return plain_data(self.data)

    def load(self) -> CommentedMap:
        """A fresh tree of the original text, to change without touching `data`."""
        data = self.loader.load(self.text)
        return data if isinstance(data, CommentedMap) else CommentedMap()

    def dump(self, data: Any) -> str:
        return _dump(self.yaml, data)

    def merged(self, expected: CommentedMap) -> str:
        """The original text with the lines the change touches replaced; a new file is dumped."""
        if not self.data:
            return self.text + self.dump(expected)
        base = self.dump(self.data).splitlines(keepends=True)
        theirs = self.dump(expected).splitlines(keepends=True)
        return "".join(merge_lines(self.lines, base, theirs))

    def checked(self, new_text: str, expected: Any) -> str:
        """Refuse a result that is invalid, or that does not hold exactly the intended data
        (a tree, or its `plain_data`)."""
        try:
            parse_text(new_text, self.path)
        except ConfigError as exc:
            raise ConfigError(f"{self.path} not changed: the result would be invalid:\n{exc}"
                              ) from None
        if _plain(new_text, self.loader) != plain_data(expected):
            raise ConfigError(f"{self.path} not changed: this change cannot be made without "
                              "disturbing other lines; make it with `newsletter subscribers edit`")
        return self._restore(new_text)

    def _restore(self, text: str) -> str:
        if not self.final_newline:
            text = text.removesuffix("\n")
        if self.crlf:
            text = text.replace("\n", "\r\n")
        return "\ufeff" + text if self.bom else text


def _yaml(indent: tuple[int, int, int] = _INDENTS[0]) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long line that was written on one line
    mapping, sequence, offset = indent
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def _dump(yaml: YAML, data: Any) -> str:
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue()


def _plain(text: str, yaml: YAML) -> Any:
    """The data of a text as plain values: read plain (`yaml_plain`) unless it is not plain YAML."""
    try:
        return yaml_plain.load(text)
    except yaml_plain.NotPlain:
        return plain_data(yaml.load(text))


def _best_yaml(data: CommentedMap, text: str) -> YAML:
    """The indentation under which ruamel reproduces the most lines of the file: of its first
    SAMPLE subscribers, in a long file (dumping and comparing all of 10,000 took minutes)."""
    if not data:
        return _yaml()
    data, text = _sample(data, text)
    lines = text.splitlines(keepends=True)
    best, best_score = _yaml(), -1
    for indent in _INDENTS:
        yaml = _yaml(indent)
        dumped = _dump(yaml, data)
        if dumped == text:
            return yaml
        score = len(matching_lines(lines, dumped.splitlines(keepends=True)))
        if score > best_score:
            best, best_score = yaml, score
    return best


SAMPLE = 50  # subscribers enough to tell a file's indentation


def _sample(data: CommentedMap, text: str) -> tuple[CommentedMap, str]:
    """The file up to its SAMPLE-th subscriber, as a tree and as text: the whole file unless
    `subscribers` is a longer list and the last key."""
    seq = data.get("subscribers")
    if not isinstance(seq, CommentedSeq) or len(seq) <= SAMPLE or list(data)[-1] != "subscribers":
        return data, text
    lines = text.splitlines(keepends=True)
    cut = dash_line(lines, int(seq.lc.item(SAMPLE)[0]))
    sample = CommentedMap(data)
    sample["subscribers"] = CommentedSeq(seq[:SAMPLE])
    return sample, "".join(lines[:cut])


def dash_line(lines: list[str], line: int) -> int:
    """The line of an item's `-` (the item itself may begin on the next line)."""
    while line > 0 and not lines[line].lstrip().startswith("-"):
        line -= 1
    return line
