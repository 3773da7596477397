"""Whole subscriber entries as lines of text: where each one is, cutting one out, adding one.

Adding or removing a whole subscriber works on the text rather than on the round-trip tree,
because ruamel attaches a comment to the node before it: the comment block directly above an
entry, which usually says who this is, belongs to that entry here.
"""

from __future__ import annotations

from dataclasses import dataclass

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from newsletter.line_merge import filler_tail, is_filler, merge_lines
from newsletter.subscribers_document import Document, dash_line


@dataclass(frozen=True, slots=True)
class Span:
    """Where an entry is, 0-based and inclusive: its comment block, its `-` line, its last line."""

    lead: int
    start: int
    end: int


def entry_spans(lines: list[str], data: CommentedMap) -> list[Span]:
    """Where each entry of the block list `subscribers` is in the file's lines."""
    seq = data["subscribers"]
    starts = [dash_line(lines, seq.lc.item(i)[0]) for i in range(len(seq))]
    stop = _after(data, "subscribers", len(lines))
    spans = []
    for i, start in enumerate(starts):
        limit = starts[i + 1] if i + 1 < len(starts) else stop
        end = max(j for j in range(start, limit) if not is_filler(lines[j]))
        spans.append(Span(comment_lead(lines, start, seq.lc.col), start, end))
    return spans


def _after(data: CommentedMap, key: str, default: int) -> int:
    """The line of the top-level key after `key`, where that key's value ends at the latest."""
    keys = list(data)
    position = keys.index(key) + 1
    return int(data.lc.key(keys[position])[0]) if position < len(keys) else default


def comment_lead(lines: list[str], start: int, column: int) -> int:
    """The first line of the comments right above an entry, indented like its `-`."""
    prefix = " " * column + "#"
    while start > 0 and lines[start - 1].startswith(prefix):
        start -= 1
    return start


def cut_entry(lines: list[str], spans: list[Span], index: int) -> list[str]:
    """Remove an entry with its comment block and one side of the blank lines around it."""
    first, last = spans[index].lead, spans[index].end + 1
    if index == len(spans) - 1:
        while first > 0 and not lines[first - 1].strip():
            first -= 1
    else:
        while last < len(lines) and not lines[last].strip():
            last += 1
    return lines[:first] + lines[last:]


def insert_entry(doc: Document, entry: CommentedMap) -> str:
    """Insert the new entry's lines after the last entry, spaced like the others."""
    spans = entry_spans(doc.lines, doc.data)
    at = spans[-1].end + 1
    gap = ["\n"] if _spaced(doc.lines, spans) else []
    return "".join(doc.lines[:at] + gap + _rendered(doc, entry) + doc.lines[at:])


def replace_entry(doc: Document, index: int, entry: CommentedMap) -> str:
    """The text with one entry changed to `entry` (a changed copy of it): the change between
    the two entries rendered alone is merged into the entry's lines (`line_merge`), so that
    the rest of the file is not rendered, nor compared (at 10,000 entries that took minutes).
    The entry's lines go on over as many blank and comment lines after it as its rendering
    has: ruamel may hang those on the entry's last value, and render them with it."""
    span = entry_spans(doc.lines, doc.data)[index]
    base = _rendered(doc, doc.data["subscribers"][index])
    stop = span.end + 1 + len(filler_tail(base))
    merged = merge_lines(doc.lines[span.start:stop], base, _rendered(doc, entry))
    return "".join(doc.lines[:span.start] + merged + doc.lines[stop:])


def _rendered(doc: Document, entry: CommentedMap) -> list[str]:
    """An entry's lines as the file's dumper renders it in the list, at the list's column."""
    wrapper = CommentedMap()
    wrapper["subscribers"] = CommentedSeq([entry])
    rendered = doc.dump(wrapper).splitlines(keepends=True)[1:]
    shift = doc.data["subscribers"].lc.col - (len(rendered[0]) - len(rendered[0].lstrip(" ")))
    return [_shifted(line, shift) for line in rendered]


def _shifted(line: str, shift: int) -> str:
    """Indent (or dedent) a rendered line to the column of the file's entries."""
    if not line.strip():
        return line
    if shift >= 0:
        return " " * shift + line
    return line[min(-shift, len(line) - len(line.lstrip(" "))):]


def _spaced(lines: list[str], spans: list[Span]) -> bool:
    """Whether entries are separated by a blank line (a lone multi-line entry: yes)."""
    if len(spans) == 1:
        return spans[0].end > spans[0].start
    gaps = [not lines[span.lead - 1].strip() for span in spans[1:]]
    return gaps.count(True) >= gaps.count(False)
