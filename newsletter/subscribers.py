"""Reading and validating `subscribers.yaml`.

The file is parsed with ruamel.yaml (YAML 1.2: `no` and `on` stay strings, duplicate keys are
errors). A valid file of plain YAML is read from the parser's events, without positions
(`yaml_plain`); any other text goes to the round-trip loader, which keeps every value's
position, so that every problem can be reported as `file:line:col: message`. Validation is
strict: a number or boolean where text is meant is refused, not converted.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from newsletter import yaml_plain
from newsletter.errors import ConfigError
from newsletter.gc_paused import gc_paused
from newsletter.models import (
    DEFAULT_MIN_RELEVANCE,
    DEFAULT_RECENCY,
    DEFAULT_TRENDING,
    Frequency,
    OnEmpty,
    Profile,
    Source,
    Subscriber,
    Topic,
    canonical_arxiv_id,
)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
# pydantic's error types, worded as the file's other messages are: bounds (with the bound's
# name in the error's context) and the types a YAML scalar may have where another is meant.
_BOUNDS = {"greater_than": ("gt", "more than"), "greater_than_equal": ("ge", "at least"),
           "less_than": ("lt", "less than"), "less_than_equal": ("le", "at most")}
_MERGE = "tag:yaml.org,2002:merge"  # the tag of `<<` in `<<: *anchor`
_KINDS = {"bool_type": "must be true or false", "int_type": "must be a whole number",
          "float_type": "must be a number"}


def _text(value: Any) -> Any:
    """Refuse YAML scalars that were not text (an unquoted `2305.10431` is a float); the
    message quotes the value as written in the file when it can (see `_message`). Text is
    taken without the white space around it, so that a blank value is refused as empty."""
    if isinstance(value, bool | int | float):
        raise PydanticCustomError("text_type", 'must be text; write it in quotes: "{value}"',
                                  {"value": str(value)})
    return value.strip() if isinstance(value, str) else value


Text = Annotated[str, BeforeValidator(_text), Field(min_length=1, max_length=500)]


def _arxiv_id(value: str) -> str:
    """A liked paper as the store keys it: `arXiv:2508.05635`, `2508.05635v2` and the paper's
    arXiv or Hugging Face URL are all `2508.05635`; anything else is refused, as it could
    never match a paper."""
    paper_id = canonical_arxiv_id(value)
    if paper_id is None:
        raise ValueError(f"{value!r} is not an arXiv id (write it like 2508.05635)")
    return paper_id


ArxivId = Annotated[Text, AfterValidator(_arxiv_id)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class TopicEntry(_Strict):
    """A topic written as a mapping, when it needs a weight: `{phrase: RAG, weight: 2}`."""

    phrase: Text
    weight: float = Field(default=1.0, gt=0, le=10)


def _topic_form(value: Any) -> str | None:
    """A mapping is a `TopicEntry`, anything else should be the phrase: only that form is
    checked, so a bad weight is not also reported as "not a string" (a list is neither)."""
    if isinstance(value, dict):
        return "mapping"
    return None if isinstance(value, list) else "phrase"


TopicItem = Annotated[
    Annotated[Text, Tag("phrase")] | Annotated[TopicEntry, Tag("mapping")],
    Discriminator(_topic_form, custom_error_type="topic_type",
                  custom_error_message="must be a phrase, or a mapping such as "
                                       "{phrase: RLHF, weight: 2}"),
]


class Options(_Strict):
    """Settings that `defaults` gives everyone and a subscriber may override."""

    timezone: Text | None = None
    send_at: Text | None = None
    frequency: Literal["daily", "weekdays", "weekly"] | None = None
    day: Literal[WEEKDAYS] | None = None  # type: ignore[valid-type]
    max_papers: int | None = Field(default=None, ge=1, le=100)
    min_upvotes: int | None = Field(default=None, ge=0)
    trending: float | None = Field(default=None, ge=0, le=1)
    recency: float | None = Field(default=None, ge=0, le=1)
    min_relevance: float | None = Field(default=None, ge=0, le=1)
    sources: list[Literal["hf", "arxiv"]] | None = Field(default=None, min_length=1)
    on_empty: Literal["skip", "note"] | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r} (e.g. Europe/Berlin)") from None
        return value

    @field_validator("send_at")
    @classmethod
    def _hhmm(cls, value: str | None) -> str | None:
        if value is not None and not _TIME.match(value):
            raise ValueError(f"{value!r} is not a time of day written HH:MM, e.g. \"07:30\"")
        return value


class SubscriberEntry(Options):
    """One item of `subscribers:`."""

    email: Text
    name: Text | None = None
    topics: list[TopicItem] = Field(default_factory=list, max_length=50)
    exclude: list[Text] = Field(default_factory=list, max_length=50)
    arxiv_categories: list[Text] = Field(default_factory=list, max_length=50)
    authors: list[Text] = Field(default_factory=list, max_length=200)
    liked: list[ArxivId] = Field(default_factory=list, max_length=500)
    enabled: bool = True

    @field_validator("email")
    @classmethod
    def _address(cls, value: str) -> str:
        return _normal_address(value)


def _normal_address(value: str) -> str:
    """The address as it is compared and sent to (the domain in lower case), or `ValueError`."""
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"{value!r} is not a valid email address: {exc}") from None


class SubscribersFile(_Strict):
    """The whole file."""

    defaults: Options = Field(default_factory=Options)
    subscribers: list[SubscriberEntry] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in the file, at a 1-based line and column."""

    line: int
    column: int
    message: str


def load_subscribers(path: Path) -> tuple[Subscriber, ...]:
    """Read, validate and resolve the subscribers file; `ConfigError` lists every problem.

    With the garbage collector paused (`gc_paused`): most of what is made here is kept, and at
    10,000 subscribers its full collections, walking them again and again, were an eighth of
    the reading (1.15 s).
    """
    with gc_paused():
        return tuple(resolve(parse_file(path)))


def parse_file(path: Path) -> SubscribersFile:
    """Validate the file into its schema, or raise `ConfigError` with `file:line:col` lines."""
    return parse_text(read_text(path), path)


def parse_text(text: str, path: Path) -> SubscribersFile:
    """Validate YAML text as if it were the file at `path`, so an edit is checked before writing."""
    return _parse_plain(text) or _validate(yaml_from_text(text, path), text, path)


def _parse_plain(text: str) -> SubscribersFile | None:
    """The model of a valid file of plain YAML (`yaml_plain`: no anchors, tags or merge keys),
    read without the positions of the round-trip loader; None for any other text, which that
    loader then reads and explains. At 10,000 subscribers the round-trip loader took 19 s and
    300 MB; the positions it keeps are only for the messages."""
    try:
        data = yaml_plain.load(text)
        model = SubscribersFile.model_validate(data) if isinstance(data, dict) else None
    except (yaml_plain.NotPlain, ValidationError):
        return None
    if model is None:
        return None
    addresses = {entry.email.lower() for entry in model.subscribers}  # as `_duplicate_problems`
    return model if len(addresses) == len(model.subscribers) else None


def _validate(data: CommentedMap, text: str, path: Path) -> SubscribersFile:
    problems = [*_validation_problems(data, text), *_duplicate_problems(data)]
    if not problems:
        return SubscribersFile.model_validate(plain_data(data))
    raise ConfigError(_format(path, problems))


def missing_file_error(path: Path) -> ConfigError:
    """The message for a subscribers file that does not exist: what to do about it."""
    return ConfigError(
        f"{path}: no such file; create it (see subscribers.example.yaml) "
        "or set NEWSLETTER_SUBSCRIBERS"
    )


def read_text(path: Path) -> str:
    """The file's text; a missing or unreadable file becomes a `ConfigError`."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise missing_file_error(path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None


def yaml_from_text(text: str, path: Path) -> Any:
    """Load YAML text with positions kept, reporting problems against `path`."""
    try:
        data = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        raise ConfigError(_format(path, [Problem(line, col, f"YAML syntax: {what}")])) from None
    if data is None:
        return CommentedMap()
    if not isinstance(data, CommentedMap):
        raise ConfigError(_format(path, [Problem(1, 1, "the file must be a mapping with "
                                                 "`subscribers:` (and optional `defaults:`)")]))
    return data


def resolve(model: SubscribersFile) -> Iterator[Subscriber]:
    """Apply `defaults` to each entry and build the immutable `Subscriber`s."""
    base = model.defaults
    for entry in model.subscribers:
        yield _subscriber(entry, base)


def _pick(entry: Options, base: Options, name: str, fallback: Any) -> Any:
    value = getattr(entry, name)
    if value is None:
        value = getattr(base, name)
    return fallback if value is None else value


def written_topics(entry: SubscriberEntry) -> tuple[Topic, ...]:
    """The entry's topics as written, repeats included (the `Profile` counts a repeat once)."""
    return tuple(
        Topic(t) if isinstance(t, str) else Topic(t.phrase, t.weight) for t in entry.topics
    )


def _subscriber(entry: SubscriberEntry, base: Options) -> Subscriber:
    hour, minute = map(int, _pick(entry, base, "send_at", "07:30").split(":"))
    profile = Profile(
        topics=written_topics(entry),
        exclude=tuple(entry.exclude),
        arxiv_categories=tuple(entry.arxiv_categories),
        authors=tuple(entry.authors),
        liked=tuple(dict.fromkeys(entry.liked)),  # one paper in two forms is one
        min_upvotes=_pick(entry, base, "min_upvotes", 0),
        max_papers=_pick(entry, base, "max_papers", 10),
        trending=_pick(entry, base, "trending", DEFAULT_TRENDING),
        recency=_pick(entry, base, "recency", DEFAULT_RECENCY),
        min_relevance=_pick(entry, base, "min_relevance", DEFAULT_MIN_RELEVANCE),
    )
    return Subscriber(
        email=entry.email,
        name=entry.name,
        profile=profile,
        timezone=_pick(entry, base, "timezone", "UTC"),
        send_at=dt.time(hour, minute),
        frequency=Frequency(_pick(entry, base, "frequency", "daily")),
        weekly_day=WEEKDAYS.index(_pick(entry, base, "day", "monday")),
        sources=frozenset(Source(s) for s in _pick(entry, base, "sources", ["hf"])),
        enabled=entry.enabled,
        on_empty=OnEmpty(_pick(entry, base, "on_empty", "skip")),
    )


def plain_data(node: Any) -> Any:
    """ruamel's containers and scalar subclasses, as plain Python values for pydantic."""
    if isinstance(node, dict):
        return {str(k): plain_data(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain_data(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    for kind in (int, float, str):
        if isinstance(node, kind):
            return kind(node)
    return node


def _validation_problems(data: CommentedMap, text: str) -> Iterator[Problem]:
    try:
        SubscribersFile.model_validate(plain_data(data))
    except ValidationError as exc:
        nodes = YAML(typ="rt").compose(text)
        for error in exc.errors(include_url=False, include_input=False):
            loc = _untagged(error["loc"])
            line, col = _position(data, loc, error["type"])
            yield Problem(line, col, _message(error, loc, _written(nodes, loc)))


def _untagged(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """The location without the form pydantic puts after a topic's index (`topics, 2, mapping,
    weight`): the file has no such key, and the message names the topic's own key."""
    if loc[:1] == ("subscribers",) and loc[2:3] == ("topics",) and len(loc) > 4:
        return loc[:4] + loc[5:]
    return loc


def _duplicate_problems(data: CommentedMap) -> Iterator[Problem]:
    """The same address twice (in any case), among the entries whose address is valid: found
    in the loaded YAML, so that they are listed with the file's other problems."""
    entries = plain_data(data).get("subscribers")
    first_seen: dict[str, int] = {}
    for index, entry in enumerate(entries if isinstance(entries, list) else ()):
        email = _address_of(entry)
        if email is None:
            continue
        key = email.lower()
        if key in first_seen:
            line, col = _position(data, ("subscribers", index, "email"), "value")
            first_line, _ = _position(data, ("subscribers", first_seen[key], "email"), "value")
            yield Problem(line, col, f"duplicate subscriber {email} "
                                     f"(already on line {first_line})")
        else:
            first_seen[key] = index


def _address_of(entry: Any) -> str | None:
    """An entry's address as `SubscriberEntry` normalises it; None if it has no valid one
    (that is reported on its own)."""
    email = entry.get("email") if isinstance(entry, dict) else None
    if not isinstance(email, str):
        return None
    try:
        return _normal_address(email.strip())
    except ValueError:
        return None


def _position(data: Any, loc: tuple[int | str, ...], kind: str) -> tuple[int, int]:
    """Walk the loaded YAML along a pydantic error location to the line and column it names;
    a key merged in with `<<: *anchor` has no position in its mapping, which is named instead."""
    node, line, col = data, 1, 1
    for step in loc:
        if isinstance(node, CommentedMap) and step in node.lc.data:
            target = "key" if kind == "extra_forbidden" and step == loc[-1] else "value"
            line, col = node.lc.key(step) if target == "key" else node.lc.value(step)
            node = node[step]
        elif isinstance(node, CommentedSeq) and isinstance(step, int) and step < len(node):
            line, col = node.lc.item(step)
            node = node[step]
        elif isinstance(node, CommentedMap | CommentedSeq):
            line, col = node.lc.line, node.lc.col
            break
        else:
            break
    return line + 1, col + 1


def _written(node: Node | None, loc: tuple[int | str, ...]) -> str | None:
    """The scalar at `loc` as the file writes it: `2508.10390` and `TRUE`, where the loaded
    value is 2508.1039 and True (a hint to quote it must not change it); None if not a scalar."""
    for step in loc:
        if isinstance(node, MappingNode):
            node = _value_node(node, str(step))
        elif isinstance(node, SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
        else:
            return None
    return node.value if isinstance(node, ScalarNode) else None


def _value_node(mapping: MappingNode, key: str) -> Node | None:
    """The node of `key`'s value: the mapping's own, else the first of those it merges in."""
    pairs: list[tuple[Node, Node]] = mapping.value
    merged: list[Node] = []
    for name, value in pairs:
        if name.tag == _MERGE:
            merged += value.value if isinstance(value, SequenceNode) else [value]
        elif name.value == key:
            return value
    found = (_value_node(m, key) for m in merged if isinstance(m, MappingNode))
    return next((node for node in found if node is not None), None)


def _message(error: Any, loc: tuple[int | str, ...], written: str | None) -> str:
    key = str(loc[-1]) if loc else "file"
    if error["type"] == "extra_forbidden":
        allowed = _allowed_keys(loc)
        hint = difflib.get_close_matches(key, allowed, n=1)
        suggestion = (f"; did you mean `{hint[0]}`?" if hint
                      else f"; known keys: {', '.join(allowed)}")
        return f"unknown key `{key}`{suggestion}"
    if error["type"] == "missing":
        return f"missing required key `{key}`"
    return f"`{_field(loc)}`: {_complaint(error, written)}"


def _complaint(error: Any, written: str | None) -> str:
    """What is wrong with a value, in the file's words ("must be at most 10 (got 15)")."""
    kind = error["type"]
    if kind in _BOUNDS:
        bound, words = _BOUNDS[kind]
        got = f" (got {written})" if written is not None else ""
        return f"must be {words} {error['ctx'][bound]:g}{got}"
    if kind == "text_type" and written is not None:
        return f'must be text; write it in quotes: "{written}"'
    if kind in ("too_short", "too_long"):
        return _length(error)
    return _KINDS.get(kind) or str(error["msg"]).removeprefix("Value error, ")


def _length(error: Any) -> str:
    """A text or a list too short or too long ("must not be empty", "must have at most 50
    items (got 51)")."""
    ctx = error["ctx"]
    text = ctx.get("field_type") != "List"  # the text itself is "Value" here
    if error["type"] == "too_short":
        least = ctx["min_length"]
        if least == 1:
            return "must not be empty"
        return f"must have at least {least} {'characters' if text else 'items'}"
    unit = "characters" if text else "items"
    return f"must have at most {ctx['max_length']} {unit} (got {ctx['actual_length']})"


def _field(loc: tuple[int | str, ...]) -> str:
    """Where in its entry a value is (`liked[2]`, `topics[3].weight`); the line says which entry."""
    inner = loc[2:] if loc[:1] == ("subscribers",) else loc[1:] if loc[:1] == ("defaults",) else ()
    path = ""
    for step in inner or loc:
        path += f"[{step + 1}]" if isinstance(step, int) else f".{step}" if path else step
    return path or "file"


def _allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The keys of the mapping an unknown key is in: the file, `defaults`, an entry or a topic."""
    if len(loc) == 1:
        return list(SubscribersFile.model_fields)
    if loc[0] == "defaults":
        return list(Options.model_fields)
    return list((TopicEntry if loc[2:3] == ("topics",) else SubscriberEntry).model_fields)


def _format(path: Path, problems: list[Problem]) -> str:
    ordered = sorted(set((p.line, p.column, p.message) for p in problems))
    return "\n".join(f"{path}:{line}:{col}: {message}" for line, col, message in ordered)
