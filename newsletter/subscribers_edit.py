"""Changing `subscribers.yaml` from the command line without disturbing anything else.

People keep comments in this file and edit it by hand, so a command must change exactly what it
was asked to change, never leave an invalid or half-written file behind, and never overwrite an
edit someone made meanwhile. How:

- ruamel.yaml's round-trip mode loads the file with its comments, quoting and layout; a change to
  one subscriber is applied to that tree and dumped again. The changed lines are then merged back
  into the original text (a three-way line merge), so that lines ruamel would have reformatted
  stay exactly as written.
- Adding or removing a whole subscriber works on the text itself (the entry's lines and the
  comment block directly above it), because ruamel attaches a comment to the node before it.
- Every result is validated with the schema of `subscribers.py` and must hold exactly the data
  intended; otherwise nothing is written.
- Writing is atomic (temporary file in the same folder, fsync, rename, same permissions) and is
  refused when the file's content changed since it was read.

The functions that take text and return text are pure; only `read_snapshot`, `write_atomic` and
`edit_in_editor` touch the disk.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import io
import os
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

from newsletter.errors import ConfigError, InputError, NewsletterError, RunError
from newsletter.subscribers import missing_file_error, parse_text, plain_data

LIST_KEYS = ("topics", "exclude", "arxiv_categories", "authors", "liked")
# Where a new key goes inside an entry: after the existing keys that come before it here.
KEY_ORDER = ("email", "name", *LIST_KEYS, "frequency", "day", "send_at", "timezone",
             "max_papers", "min_upvotes", "trending", "sources", "enabled")
_ITEM_NAMES = {"topics": "topic", "exclude": "excluded topic", "arxiv_categories": "category",
               "authors": "author", "liked": "liked paper"}
# (mapping, sequence, offset) indentations tried to reproduce a file; the first is the default.
_INDENTS = ((2, 4, 2), (2, 2, 0), (2, 3, 1), (4, 4, 2), (4, 6, 4), (4, 4, 0))

Value = str | int | float | bool


@dataclass(frozen=True)
class Change:
    """What to change in one subscriber: values to set (None removes the key) and list items."""

    values: Mapping[str, Value | None] = field(default_factory=dict)
    add: Mapping[str, Sequence[str]] = field(default_factory=dict)
    remove: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The file as it was read, with the fingerprint that detects a change before writing."""

    path: Path
    text: str
    digest: str | None  # SHA-256 of the bytes; None when the file did not exist


# --- reading and writing ---------------------------------------------------------------------


def read_snapshot(path: Path, *, missing_ok: bool = False) -> Snapshot:
    """Read the file's exact text (line endings kept) and fingerprint it."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if missing_ok:
            return Snapshot(path, "", None)
        raise missing_file_error(path) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    return Snapshot(path, text, _digest(path))


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def write_atomic(snapshot: Snapshot, text: str) -> None:
    """Replace the file by `text` all at once, unless its content changed since it was read.

    The content hash, not the modification time, decides: mtime can be too coarse to see a quick
    second write, and a touch without a change is no conflict. A symbolic link is kept: the file
    it points to is replaced.
    """
    target = snapshot.path.resolve()
    _check_unchanged(snapshot, target)
    try:
        _replace(target, text.encode("utf-8"), lambda: _check_unchanged(snapshot, target))
    except OSError as exc:
        raise RunError(f"{snapshot.path}: cannot be written: {exc}") from None


def _replace(target: Path, data: bytes, last_check: Callable[[], None]) -> None:
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        _copy_permissions(target, name)
        last_check()
        os.replace(name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise
    _fsync_folder(target.parent)


def _check_unchanged(snapshot: Snapshot, target: Path) -> None:
    if _digest(target) != snapshot.digest:
        raise RunError(f"{snapshot.path} changed on disk since it was read; nothing was written. "
                       "Run the command again.")


def _copy_permissions(target: Path, temporary: str) -> None:
    """The new file gets the old one's mode (and owner, when allowed); a new file the umask's."""
    try:
        info = target.stat()
    except FileNotFoundError:
        mask = os.umask(0o022)
        os.umask(mask)
        os.chmod(temporary, 0o666 & ~mask)
        return
    os.chmod(temporary, info.st_mode & 0o7777)
    with contextlib.suppress(OSError):
        os.chown(temporary, info.st_uid, info.st_gid)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; a no-op where folders cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def diff_lines(old: str, new: str) -> list[str]:
    """The change as unified-diff hunks without context, for the person to see what was done."""
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), n=0, lineterm="")
    return [line for line in lines if not line.startswith(("---", "+++"))]


# --- the edits ---------------------------------------------------------------------------------


def add_subscriber(text: str, path: Path, email: str, change: Change) -> str:
    """The text with a new subscriber appended, written in the style of the existing ones."""
    doc = _Document(text, path)
    address = email.strip()
    existing = _index(doc.data, address)
    if existing is not None:
        seq = doc.data["subscribers"]
        raise InputError(f"{path}:{seq.lc.item(existing)[0] + 1}: {seq[existing]['email']} is "
                         "already a subscriber; change it with `newsletter subscribers set`")
    style = _Style.of(doc.data)
    entry = style.new_entry(address)
    _apply(entry, change, style, address, path)
    expected = doc.load()
    seq = expected.get("subscribers")
    if _is_block_seq(seq) and seq:
        seq.append(entry)
        return doc.checked(_insert_entry(doc, entry), expected)
    if seq:
        seq.append(entry)
    else:
        expected["subscribers"] = CommentedSeq([entry])
    return doc.checked(doc.merged(expected), expected)


def change_subscriber(text: str, path: Path, email: str, change: Change) -> str:
    """The text with one subscriber changed; the same text when nothing would change."""
    doc = _Document(text, path)
    index = _find(doc.data, email, path)
    expected = doc.load()
    entry = expected["subscribers"][index]
    _apply(entry, change, _Style.of(doc.data), str(entry["email"]), path)
    if plain_data(expected) == plain_data(doc.data):
        return text
    return doc.checked(doc.merged(expected), expected)


def remove_subscriber(text: str, path: Path, email: str) -> str:
    """The text without one subscriber and without the comment block directly above it."""
    doc = _Document(text, path)
    index = _find(doc.data, email, path)
    expected = doc.load()
    del expected["subscribers"][index]
    seq = doc.data["subscribers"]
    if not _is_block_seq(seq):
        return doc.checked(doc.merged(expected), expected)
    lines = _cut_entry(doc.lines, _spans(doc.lines, doc.data), index)
    if len(seq) == 1:  # ruamel cannot render an emptied list that had comments
        key_line = int(doc.data.lc.key("subscribers")[0])
        lines[key_line] = lines[key_line].replace("subscribers:", "subscribers: []", 1)
    return doc.checked("".join(lines), expected)


def entry_text(text: str, path: Path, email: str) -> tuple[int, int, str]:
    """One subscriber's position in the list, first line number, and lines as written.

    The lines include the comments right above the entry: they usually say who this is.
    """
    doc = _Document(text, path)
    index = _find(doc.data, email, path)
    seq = doc.data["subscribers"]
    if not _is_block_seq(seq):
        return index, seq.lc.item(index)[0] + 1, doc.dump(seq[index])
    span = _spans(doc.lines, doc.data)[index]
    return index, span.lead + 1, "".join(doc.lines[span.lead:span.end + 1])


def edit_in_editor(
    snapshot: Snapshot, run_editor: Callable[[Path], None], reopen: Callable[[str], bool],
    start: str | None = None,
) -> str | None:
    """Let a person edit a copy (of the file, or `start`) until it validates, then write it.

    Returns the text written, or None when the person changed nothing. The copy lives next to
    the file, where the final rename happens anyway; it is kept, and named in the error, when the
    edit cannot be saved (a declined fix, a conflict) so that no work is lost.
    """
    first = snapshot.text if start is None else start
    draft = _draft(snapshot.path, first)
    text = _edit_until_valid(snapshot.path, draft, run_editor, reopen)
    if text == first:
        draft.unlink()
        return None
    try:
        write_atomic(snapshot, text)
    except RunError as exc:
        raise RunError(f"{exc}\nYour edit is kept in {draft}.") from None
    draft.unlink()
    return text


def _draft(path: Path, text: str) -> Path:
    folder = path.resolve().parent
    fd, name = tempfile.mkstemp(dir=folder, prefix=f".{path.stem}.", suffix=".edit.yaml")
    with os.fdopen(fd, "wb") as handle:
        handle.write(text.encode("utf-8"))
    return Path(name)


def _edit_until_valid(
    path: Path, draft: Path, run_editor: Callable[[Path], None], reopen: Callable[[str], bool]
) -> str:
    while True:
        try:
            run_editor(draft)
        except NewsletterError:
            draft.unlink()
            raise
        try:
            text = draft.read_bytes().decode("utf-8")
            parse_text(text, path)
            return text
        except UnicodeDecodeError as exc:
            problems = f"{path}: not UTF-8 text: {exc}"
        except ConfigError as exc:
            problems = str(exc)
        if not reopen(problems):
            raise ConfigError(f"{path} not changed; your edit is kept in {draft}")


# --- one loaded file ---------------------------------------------------------------------------


class _Document:
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
        self.yaml = _yaml()  # loading does not depend on the indentation; dumping does
        self.data = self.load()
        self.yaml = _best_yaml(self.data, self.text)

    def load(self) -> CommentedMap:
        """A fresh tree of the original text, to change without touching `data`."""
        data = self.yaml.load(self.text)
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

    def checked(self, new_text: str, expected: CommentedMap) -> str:
        """Refuse a result that is invalid, or that does not hold exactly the intended data."""
        try:
            parse_text(new_text, self.path)
        except ConfigError as exc:
            raise ConfigError(f"{self.path} not changed: the result would be invalid:\n{exc}"
                              ) from None
        if plain_data(self.yaml.load(new_text)) != plain_data(expected):
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


def _best_yaml(data: CommentedMap, text: str) -> YAML:
    """The indentation under which ruamel reproduces the most lines of the file."""
    if not data:
        return _yaml()
    lines = text.splitlines(keepends=True)
    best, best_score = _yaml(), -1
    for indent in _INDENTS:
        yaml = _yaml(indent)
        dumped = _dump(yaml, data)
        if dumped == text:
            return yaml
        score = len(_matches(lines, dumped.splitlines(keepends=True)))
        if score > best_score:
            best, best_score = yaml, score
    return best


# --- the three-way line merge ------------------------------------------------------------------


def merge_lines(original: list[str], base: list[str], theirs: list[str]) -> list[str]:
    """Apply the change base → theirs to `original`, which base renders (perhaps reformatted).

    A classic diff3 over the lines the three share. Where only the edit changed lines, its lines
    are taken; where only the rendering differs, the original's. Where both did, the edit wins.
    """
    to_original, to_theirs = _matches(base, original), _matches(base, theirs)
    anchors = [(b, to_original[b], to_theirs[b])
               for b in sorted(to_original.keys() & to_theirs.keys())]
    anchors.append((len(base), len(original), len(theirs)))
    out: list[str] = []
    b0 = o0 = t0 = 0
    for b, o, t in anchors:
        _resolve(out, original[o0:o], base[b0:b], theirs[t0:t])
        out.extend(original[o:o + 1])
        b0, o0, t0 = b + 1, o + 1, t + 1
    return out


def _matches(a: list[str], b: list[str]) -> dict[int, int]:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return {block.a + k: block.b + k
            for block in matcher.get_matching_blocks() for k in range(block.size)}


def _resolve(out: list[str], mine: list[str], base: list[str], theirs: list[str]) -> None:
    """One region between shared lines; works around where ruamel hangs comments.

    ruamel attaches a comment line to the node before it, so lines it adds after a node land
    after that node's trailing comments, and removing a node removes them: added lines go above
    a run of comment and blank lines, and a removal keeps such a trailing run.
    """
    if theirs == base:
        out.extend(mine)
    elif mine != base:
        out.extend(_both_changed(mine, base, theirs))
    elif not base:
        at = len(out) - len(_filler_tail(out)) or len(out)
        out[at:at] = theirs
    else:
        out.extend(theirs)
        tail = _filler_tail(base)
        if tail and theirs[len(theirs) - len(tail):] != tail:
            out.extend(tail)


def _both_changed(mine: list[str], base: list[str], theirs: list[str]) -> list[str]:
    """Rendering and edit touched one region: keep the original where the edit did not reach.

    That is only clear line by line when the rendering kept the number of lines (it usually
    does: it respaces, requotes or reindents); otherwise the edit's lines are taken whole.
    """
    if len(mine) != len(base):
        return theirs
    merged: list[str] = []
    matcher = difflib.SequenceMatcher(None, base, theirs, autojunk=False)
    for tag, b1, b2, t1, t2 in matcher.get_opcodes():
        merged.extend(mine[b1:b2] if tag == "equal" else theirs[t1:t2])
    return merged


def _filler(line: str) -> bool:
    """A blank or comment-only line."""
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _filler_tail(lines: list[str]) -> list[str]:
    end = len(lines)
    while end > 0 and _filler(lines[end - 1]):
        end -= 1
    return lines[end:]


# --- whole entries, on the text ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Span:
    """Where an entry is, 0-based and inclusive: its comment block, its `-` line, its last line."""

    lead: int
    start: int
    end: int


def _spans(lines: list[str], data: CommentedMap) -> list[_Span]:
    seq = data["subscribers"]
    starts = [_dash_line(lines, seq.lc.item(i)[0]) for i in range(len(seq))]
    stop = _after(data, "subscribers", len(lines))
    spans = []
    for i, start in enumerate(starts):
        limit = starts[i + 1] if i + 1 < len(starts) else stop
        end = max(j for j in range(start, limit) if not _filler(lines[j]))
        spans.append(_Span(_lead(lines, start, seq.lc.col), start, end))
    return spans


def _dash_line(lines: list[str], line: int) -> int:
    """The line of an item's `-` (the item itself may begin on the next line)."""
    while line > 0 and not lines[line].lstrip().startswith("-"):
        line -= 1
    return line


def _after(data: CommentedMap, key: str, default: int) -> int:
    """The line of the top-level key after `key`, where that key's value ends at the latest."""
    keys = list(data)
    position = keys.index(key) + 1
    return int(data.lc.key(keys[position])[0]) if position < len(keys) else default


def _lead(lines: list[str], start: int, column: int) -> int:
    """The first line of the comments right above an entry, indented like its `-`."""
    prefix = " " * column + "#"
    while start > 0 and lines[start - 1].startswith(prefix):
        start -= 1
    return start


def _cut_entry(lines: list[str], spans: list[_Span], index: int) -> list[str]:
    """Remove an entry with its comment block and one side of the blank lines around it."""
    first, last = spans[index].lead, spans[index].end + 1
    if index == len(spans) - 1:
        while first > 0 and not lines[first - 1].strip():
            first -= 1
    else:
        while last < len(lines) and not lines[last].strip():
            last += 1
    return lines[:first] + lines[last:]


def _insert_entry(doc: _Document, entry: CommentedMap) -> str:
    """Insert the new entry's lines after the last entry, spaced like the others."""
    spans = _spans(doc.lines, doc.data)
    at = spans[-1].end + 1
    wrapper = CommentedMap()
    wrapper["subscribers"] = CommentedSeq([entry])
    rendered = doc.dump(wrapper).splitlines(keepends=True)[1:]
    shift = doc.data["subscribers"].lc.col - (len(rendered[0]) - len(rendered[0].lstrip(" ")))
    rendered = [_shifted(line, shift) for line in rendered]
    gap = ["\n"] if _spaced(doc.lines, spans) else []
    return "".join(doc.lines[:at] + gap + rendered + doc.lines[at:])


def _shifted(line: str, shift: int) -> str:
    """Indent (or dedent) a rendered line to the column of the file's entries."""
    if not line.strip():
        return line
    if shift >= 0:
        return " " * shift + line
    return line[min(-shift, len(line) - len(line.lstrip(" "))):]


def _spaced(lines: list[str], spans: list[_Span]) -> bool:
    """Whether entries are separated by a blank line (a lone multi-line entry: yes)."""
    if len(spans) == 1:
        return spans[0].end > spans[0].start
    gaps = [not lines[span.lead - 1].strip() for span in spans[1:]]
    return gaps.count(True) >= gaps.count(False)


# --- changing one entry --------------------------------------------------------------------------


def _index(data: CommentedMap, email: str) -> int | None:
    """The position of the subscriber with this address, compared case-insensitively."""
    wanted = email.strip().lower()
    for index, entry in enumerate(data.get("subscribers") or ()):
        if str(entry["email"]).strip().lower() == wanted:
            return index
    return None


def _find(data: CommentedMap, email: str, path: Path) -> int:
    index = _index(data, email)
    if index is not None:
        return index
    addresses = [str(entry["email"]) for entry in data.get("subscribers") or ()]
    close = _close_addresses(email, addresses)
    hint = (f"; did you mean {' or '.join(close)}?" if close
            else "; `newsletter subscribers list` shows who is there")
    raise InputError(f"{path}: no subscriber {email}{hint}")


def _close_addresses(email: str, addresses: list[str]) -> list[str]:
    """Near misses; the part before the @ must be close too, as most share the lab's domain."""
    by_lower = {address.lower(): address for address in addresses}
    wanted = email.strip().lower()
    close = difflib.get_close_matches(wanted, list(by_lower), n=5, cutoff=0.8)
    local = wanted.partition("@")[0]
    return [by_lower[c] for c in close
            if difflib.SequenceMatcher(None, local, c.partition("@")[0]).ratio() >= 0.6][:2]


def _apply(entry: CommentedMap, change: Change, style: _Style, email: str, path: Path) -> None:
    """Apply the change to the entry's tree: values, then removals, then additions."""
    for key, value in change.values.items():
        _set_value(entry, key, value, style)
    for key, items in change.remove.items():
        _remove_items(entry, key, items, f"{path}: {email}")
    for key, items in change.add.items():
        _add_items(entry, key, items, style, f"{path}: {email}")


def _set_value(entry: CommentedMap, key: str, value: Value | None, style: _Style) -> None:
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


def _add_items(entry: CommentedMap, key: str, items: Sequence[str], style: _Style,
               who: str) -> None:
    seq = entry.get(key)
    if seq is None:
        seq = style.new_list(key)
        entry.insert(_position(entry, key), key, seq)
    quote = style.quote(key, seq)
    for item in (text.strip() for text in items):
        if item.casefold() in (_phrase(x).casefold() for x in seq):
            raise InputError(f"{who} already has the {_ITEM_NAMES[key]} {item!r}")
        seq.append(style.styled(item, quote))


def _remove_items(entry: CommentedMap, key: str, items: Sequence[str], who: str) -> None:
    seq = entry.get(key) or CommentedSeq()
    for item in (text.strip() for text in items):
        phrases = [_phrase(x) for x in seq]
        folded = [p.casefold() for p in phrases]
        if item.casefold() not in folded:
            raise InputError(f"{who} has no {_ITEM_NAMES[key]} {item!r}{_nearest(item, phrases)}")
        del seq[folded.index(item.casefold())]
    if key in entry and not entry[key]:
        del entry[key]


def _nearest(item: str, phrases: list[str]) -> str:
    close = difflib.get_close_matches(item, phrases, n=1, cutoff=0.5)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; it has {', '.join(map(repr, phrases))}" if phrases else ""


def _is_block_seq(node: Any) -> bool:
    return isinstance(node, CommentedSeq) and not node.fa.flow_style()


def _entries(data: CommentedMap) -> Iterator[CommentedMap]:
    yield from (e for e in data.get("subscribers") or () if isinstance(e, CommentedMap))


def _quote_of(value: str) -> str:
    if isinstance(value, DoubleQuotedScalarString):
        return '"'
    return "'" if isinstance(value, SingleQuotedScalarString) else ""


def _most(counter: Counter[Any], default: Any) -> Any:
    return counter.most_common(1)[0][0] if counter else default


@dataclass(frozen=True)
class _Style:
    """How this file writes things, so that new values look like their neighbours."""

    quotes: Mapping[str, Counter[str]]  # per key: how its text values (or items) are quoted
    items: Counter[str]  # how list items are quoted, all lists together
    flow: Mapping[str, Counter[bool]]  # per key: flow `[a, b]` or block lists
    lists: Counter[bool]
    entries: Counter[bool]  # entries written as flow mappings `- {email: …}` or not

    @classmethod
    def of(cls, data: CommentedMap) -> _Style:
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
