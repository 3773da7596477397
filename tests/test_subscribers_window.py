"""On a long list the subscribers commands edit a window of the file: the same text results.

The long list repeats the commented file's three entries (comments above some, a comment on a
value's line, nested lists, blank lines between them) under new addresses, and keeps its header,
`defaults` and trailing comment; every command is compared with the same command run on the
whole file (`_add_subscriber` and the others, which never take a window).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from newsletter import subscribers_document, subscribers_window
from newsletter.errors import InputError
from newsletter.subscribers_change import Change
from newsletter.subscribers_edit import (
    _add_subscriber,
    _change_subscriber,
    _entry_text,
    _remove_subscriber,
    add_subscriber,
    change_subscriber,
    entry_text,
    remove_subscriber,
)
from newsletter.subscribers_window import Window, carried, window
from tests.conftest import DATA

PATH = Path("subscribers.yaml")
COMMENTED = (DATA / "commented_subscribers.yaml").read_text(encoding="utf-8")


def long_list(count: int) -> str:
    """The commented file with its entries repeated to `count`, each under its own address."""
    head, rest = COMMENTED.split("subscribers:\n", 1)
    body, tail = rest.split("\n# Retired", 1)
    blocks = body.strip("\n").split("\n\n")
    entries = [
        re.sub(r"email: \S+", f"email: user{i}@example.org", blocks[i % len(blocks)])
        for i in range(count)
    ]
    return head + "subscribers:\n" + "\n\n".join(entries) + "\n\n# Retired" + tail


SAMPLE, WINDOW_FROM = 5, 20  # the window's sizes, made small so that the whole file is too
LONG = long_list(30)
LAST = 29
PICKED = [0, 1, SAMPLE - 1, 12, LAST - 1, LAST]  # in the sample, between, the end


@pytest.fixture(autouse=True)
def small_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """A window from WINDOW_FROM entries with its first SAMPLE ones (10,000 scaled down)."""
    monkeypatch.setattr(subscribers_window, "WINDOW_FROM", WINDOW_FROM)
    monkeypatch.setattr(subscribers_window, "SAMPLE", SAMPLE)
    monkeypatch.setattr(subscribers_document, "SAMPLE", SAMPLE)
CHANGES = [
    Change({"max_papers": 3}), Change({"name": None}), Change({"enabled": False}),
    Change({"frequency": "weekly", "day": "friday"}), Change({"max_papers": None}),
    Change(add={"topics": ["graph neural networks"]}), Change(add={"liked": ["2508.00001"]}),
    Change(remove={"topics": ["tool use"]}),
]


@pytest.mark.parametrize("number", PICKED)
def test_set_in_a_window_writes_what_the_whole_file_gives(number: int) -> None:
    """Every kind of change to entries inside and outside the window's first entries."""
    email = f"user{number}@example.org"
    for change in CHANGES:
        try:
            whole = _change_subscriber(LONG, PATH, email, change)
        except InputError as exc:  # removing a topic the entry does not have
            with pytest.raises(InputError, match=re.escape(str(exc))):
                change_subscriber(LONG, PATH, email, change)
            continue
        assert change_subscriber(LONG, PATH, email, change) == whole, change


@pytest.mark.parametrize("number", PICKED)
def test_remove_and_show_in_a_window_give_what_the_whole_file_gives(number: int) -> None:
    """The entry goes with its comment block; `show` gives the same lines, numbered as in the
    whole file."""
    email = f"user{number}@example.org"
    assert remove_subscriber(LONG, PATH, email) == _remove_subscriber(LONG, PATH, email)
    assert entry_text(LONG, PATH, email) == _entry_text(LONG, PATH, email)


def test_add_in_a_window_writes_what_the_whole_file_gives() -> None:
    """A new entry goes after the last one, above the file's trailing comment, in its style."""
    change = Change({"name": "Nia Noor"}, add={"topics": ["diffusion models"]})
    assert (add_subscriber(LONG, PATH, "nia@example.org", change)
            == _add_subscriber(LONG, PATH, "nia@example.org", change))


def test_errors_name_the_whole_files_lines() -> None:
    """An address already there, or one that is not, is reported as on the whole file."""
    whole = _error(lambda: _add_subscriber(LONG, PATH, "USER12@example.org", Change()))
    assert re.match(r"subscribers.yaml:\d+: user12@example.org is already", str(whole))
    assert str(_error(lambda: add_subscriber(LONG, PATH, "USER12@example.org", Change()))) == str(
        whole)
    with pytest.raises(InputError, match=re.escape("no subscriber nobody@example.org")):
        change_subscriber(LONG, PATH, "nobody@example.org", Change({"max_papers": 3}))


def _error(call: Callable[[], object]) -> Exception:
    """The error a call raises."""
    try:
        call()
    except Exception as exc:  # any error is the answer
        return exc
    raise AssertionError("no error")


def test_a_window_holds_the_entries_a_command_needs() -> None:
    """The first entries, the one asked for and the last, with the lines around the list; a
    short list, or a flow list, gets none."""
    part = window(LONG, [12])
    assert part is not None
    assert part.entries == (*range(SAMPLE), 12, LAST)
    assert part.text.startswith(COMMENTED.split("subscribers:\n")[0])
    assert "email: user12@example.org" in part.text
    assert "email: user11@example.org" not in part.text
    assert part.text.endswith("# Retired: bob@example.org (left in 2024); keep him out.\n")
    assert window(COMMENTED, [1]) is None
    flow = "subscribers: [" + ", ".join(f"{{email: u{i}@x.org}}" for i in range(30)) + "]\n"
    assert window(flow, [3]) is None


def test_a_change_across_the_windows_seam_is_not_carried() -> None:
    """Lines that are side by side in the window but not in the whole text cannot be changed
    as one run: the command then edits the whole file."""
    whole = "a\nb\nc\nd\n"
    part = Window("a\nd\n", (0, 3), (0, 1))
    assert carried(whole, part, "a\nD\n") == "a\nb\nc\nD\n"
    assert carried(whole, part, "a\nx\nd\n") == "a\nx\nb\nc\nd\n"
    assert carried(whole, part, "A\nD\n") is None


@pytest.mark.parametrize(
    "text",
    [
        LONG.replace("\n", "\r\n"),  # Windows line ends
        LONG.replace("user10@example.org", 'user10@example.org\n    exclude: &no ["robots"]')
        .replace("user12@example.org", "user12@example.org\n    authors: *no"),  # an alias
        LONG.replace("user1@example.org", 'user1@example.org\n    exclude: &no ["robots"]')
        .replace("user12@example.org", "user12@example.org\n    authors: *no"),
    ],
    ids=["crlf", "alias", "alias-in-window"],
)
def test_unusual_files_are_edited_as_the_whole_file_is(text: str) -> None:
    """Line ends are kept; an alias (to an entry in the window or not) sends the command to
    the whole file: the same text either way."""
    email = "user12@example.org"
    change = Change({"max_papers": 3})
    assert change_subscriber(text, PATH, email, change) == _change_subscriber(
        text, PATH, email, change)
    assert remove_subscriber(text, PATH, email) == _remove_subscriber(text, PATH, email)
    added = Change(add={"topics": ["RAG"]})
    assert add_subscriber(text, PATH, "nia@example.org", added) == _add_subscriber(
        text, PATH, "nia@example.org", added)


def test_no_window_where_python_and_yaml_may_count_lines_differently() -> None:
    """A form feed or a Unicode line separator is a line break to str.splitlines, which the
    window's line numbers come from, and perhaps not to the YAML parser: no window then."""
    assert window(LONG, [12]) is not None
    for odd in ("\x0c", "\u2028", "\r"):
        assert window(LONG.replace("# her thesis topic", f"# her{odd}thesis topic"), [12]) is None
