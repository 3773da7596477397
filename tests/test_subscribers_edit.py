"""Editing the subscribers file: exactly the intended lines change, and nothing is written unsafely.

The golden cases run on `tests/data/commented_subscribers.yaml` and compare the result with the
original line by line (difflib), so any stray change to comments, order or quoting fails them.
"""

from __future__ import annotations

import difflib
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from newsletter.errors import ConfigError, InputError, RunError
from newsletter.line_merge import merge_lines
from newsletter.subscribers import parse_text, resolve
from newsletter.subscribers_change import Change, apply_change, find_subscriber
from newsletter.subscribers_document import SAMPLE, Document
from newsletter.subscribers_edit import (
    add_subscriber,
    change_subscriber,
    entry_text,
    remove_subscriber,
)
from newsletter.subscribers_file import Snapshot, edit_in_editor, read_snapshot, write_atomic
from newsletter.subscribers_style import Style
from tests.conftest import DATA

COMMENTED = DATA / "commented_subscribers.yaml"
EXAMPLE = DATA.parents[1] / "newsletter" / "sample" / "subscribers.example.yaml"
ORIGINAL = COMMENTED.read_text(encoding="utf-8")
LINES = ORIGINAL.splitlines(keepends=True)
PATH = Path("subscribers.yaml")


def _diff(old: str, new: str) -> list[str]:
    """The changed lines with their positions, as difflib reports them."""
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), n=0, lineterm="")
    return [line for line in lines if not line.startswith(("---", "+++"))]


def _without(first: int, last: int) -> str:
    """The original text without lines first..last (1-based, inclusive)."""
    return "".join(LINES[:first - 1] + LINES[last:])


def _change(email: str, **kwargs: object) -> str:
    return change_subscriber(ORIGINAL, PATH, email, Change(**kwargs))  # type: ignore[arg-type]


# --- add ---------------------------------------------------------------------------------------


def test_add_writes_the_new_entry_in_the_files_style() -> None:
    """Flow lists, double quotes, blank-line spacing and key order copy the existing entries."""
    new = add_subscriber(ORIGINAL, PATH, "nia@example.org", Change(
        values={"name": "Nia Noor", "send_at": "06:45", "max_papers": 3},
        add={"topics": ["diffusion models"], "arxiv_categories": ["cs.CV"],
             "liked": ["2401.01234"]},
    ))
    assert _diff(ORIGINAL, new) == [
        "@@ -36,0 +37,8 @@",
        "+  - email: nia@example.org",
        "+    name: Nia Noor",
        '+    topics: ["diffusion models"]',
        "+    arxiv_categories: [cs.CV]",
        '+    liked: ["2401.01234"]',
        '+    send_at: "06:45"',
        "+    max_papers: 3",
        "+",
    ]
    assert new.endswith("    max_papers: 3\n\n" + LINES[-1])
    assert list(resolve(parse_text(new, PATH)))[-1].profile.liked == ("2401.01234",)


def test_add_refuses_an_address_already_there_in_another_case() -> None:
    """Addresses compare case-insensitively; the message names the line and `set`."""
    with pytest.raises(InputError) as info:
        add_subscriber(ORIGINAL, PATH, "grace@EXAMPLE.org", Change())
    assert str(info.value) == ("subscribers.yaml:24: Grace@Example.org is already a subscriber; "
                               "change it with `newsletter subscribers set`")


def test_add_to_a_new_file_and_to_a_comment_only_file() -> None:
    """A missing file (empty text) or one with only comments gets a `subscribers:` list."""
    change = Change(add={"topics": ["agents"]})
    assert add_subscriber("", PATH, "a@x.org", change) == (
        'subscribers:\n  - email: a@x.org\n    topics: ["agents"]\n')
    assert add_subscriber("# ours\n", PATH, "a@x.org", change) == (
        '# ours\nsubscribers:\n  - email: a@x.org\n    topics: ["agents"]\n')


def test_add_to_flow_entries_writes_a_flow_entry() -> None:
    """A file written as one-line `- {email: …}` entries gets another one-line entry."""
    text = "subscribers:\n  - {email: a@x.org, topics: [a]}\n  - {email: b@x.org, topics: [b]}\n"
    new = add_subscriber(text, PATH, "c@x.org", Change(add={"topics": ["c"]}))
    assert new == text + "  - {email: c@x.org, topics: [c]}\n"


# --- set ---------------------------------------------------------------------------------------


_CHANGES = [
    Change({"max_papers": 3}), Change({"name": None}), Change({"enabled": False}),
    Change({"frequency": "weekly", "day": "friday"}), Change({"max_papers": None}),
    Change({"send_at": "09:15"}), Change(add={"topics": ["graph neural networks"]}),
    Change(add={"exclude": ["robots"]}), Change(add={"liked": ["2508.00001"]}),
    Change(add={"authors": ["Ann Other"]}),
]


@pytest.mark.parametrize("path", [COMMENTED, EXAMPLE])
def test_set_on_the_entry_alone_writes_what_the_whole_file_merge_writes(path: Path) -> None:
    """`set` renders and merges the changed entry alone (`replace_entry`); for every entry of
    the commented files and ten kinds of change, the text is the one the merge of the whole
    re-rendered file gives, comments, blank lines and quoting included."""
    text = path.read_text(encoding="utf-8")
    doc = Document(text, path)
    compared = 0
    for entry in doc.data["subscribers"]:
        email = str(entry["email"])
        for change in _CHANGES:
            tree = doc.load()
            apply_change(tree["subscribers"][find_subscriber(doc.data, email, path)], change,
                         Style.of(doc.data), email, path)
            whole = doc.checked(doc.merged(tree), tree)
            assert change_subscriber(text, path, email, change) == whole, (email, change)
            compared += 1
    assert compared >= 30


def test_a_long_files_indentation_is_found_from_its_first_entries() -> None:
    """The dumper's indentation is chosen on the first SAMPLE entries of a long list (a dash
    at column 1 here, as the file is written), so an added entry is written like the others."""
    entries = [f" - email: u{i}@x.org\n   topics: [t{i}]\n" for i in range(SAMPLE * 2)]
    text = "subscribers:\n" + "\n".join(entries)
    new = add_subscriber(text, PATH, "new@x.org", Change(add={"topics": ["RAG"]}))
    assert new == text + "\n - email: new@x.org\n   topics: [RAG]\n"


def test_set_changes_exactly_the_asked_lines() -> None:
    """A block list item, a flow list item (its comment kept) and a new key in schema order."""
    new = _change("ADA@example.org", values={"send_at": "09:00"},
                  add={"topics": ["bandits"], "exclude": ["robotics"]},
                  remove={"topics": ["rlhf"]})
    assert _diff(ORIGINAL, new) == [
        "@@ -18,2 +18,2 @@",
        "-      - {phrase: RLHF, weight: 2}",
        '-    exclude: ["video generation"]   # too many of these',
        "+      - bandits",
        '+    exclude: ["video generation", "robotics"] # too many of these',
        "@@ -21,0 +22 @@",
        '+    send_at: "09:00"',
    ]


def test_set_keeps_the_comment_of_a_changed_value() -> None:
    """Only the value changes; the comment on its line stays."""
    assert _diff(ORIGINAL, _change("alan@example.org", values={"max_papers": 6})) == [
        "@@ -35 +35 @@",
        "-    max_papers: 5   # he reads on the train",
        "+    max_papers: 6   # he reads on the train",
    ]


def test_set_adds_a_key_to_the_last_entry_above_the_trailing_comment() -> None:
    """ruamel would put it after the file's last comment; it goes after the entry instead."""
    new = _change("alan@example.org", values={"frequency": "weekly", "day": "friday"})
    assert _diff(ORIGINAL, new) == [
        "@@ -34,0 +35,2 @@", "+    frequency: weekly", "+    day: friday"]


def test_set_removing_the_last_key_keeps_the_comment_below_it() -> None:
    """Unsetting `max_papers` removes its line only, not the comment that follows it."""
    new = _change("alan@example.org", values={"max_papers": None})
    assert new == _without(35, 35)


def test_set_emptying_a_list_removes_the_key() -> None:
    """The last author removed: `authors:` goes too, rather than `authors: []`."""
    assert _change("alan@example.org", remove={"authors": ["jiaqi wang"]}) == _without(33, 34)


def test_set_disable_and_enable() -> None:
    """`enabled: false` is added in its place; enabling removes it again (true is the default)."""
    disabled = _change("grace@example.org", values={"enabled": False})
    assert _diff(ORIGINAL, disabled) == ["@@ -29,0 +30 @@", "+    enabled: false"]
    again = change_subscriber(disabled, PATH, "grace@example.org", Change({"enabled": None}))
    assert again == ORIGINAL


def test_set_what_is_already_so_returns_the_same_text() -> None:
    """Nothing to change is not an error, and not a write."""
    assert _change("grace@example.org", values={"frequency": "weekdays"}) is ORIGINAL


def test_set_unknown_list_item_suggests_the_close_one() -> None:
    """Removing an item that is not there is refused, with the nearest phrase."""
    with pytest.raises(InputError) as info:
        _change("ada@example.org", remove={"topics": ["reward model"]})
    assert str(info.value) == ("subscribers.yaml: ada@example.org has no topic 'reward model'; "
                               "did you mean 'reward models'?")


@pytest.mark.parametrize("topic", ["Reward Models", "reward  model", "reward modeling"])
def test_set_an_item_already_listed_is_refused(topic: str) -> None:
    """Adding a topic that is there (in any case, spacing or word form: the same phrase to the
    ranker) is refused rather than duplicated, naming the topic as the file writes it."""
    with pytest.raises(InputError) as info:
        _change("ada@example.org", add={"topics": [topic]})
    assert str(info.value) == ("subscribers.yaml: ada@example.org already has the topic "
                               "'reward models'")
    with pytest.raises(InputError) as info:
        _change("ada@example.org", add={"exclude": ["Video Generations"]})
    assert str(info.value) == ("subscribers.yaml: ada@example.org already has the excluded "
                               "topic 'video generation'")


def test_set_like_writes_the_bare_id() -> None:
    """`--like` with a URL, `arXiv:` or a version writes the bare id; the same paper in
    another form is refused as already liked, and `--unlike` takes any form."""
    new = _change("ada@example.org", add={"liked": ["https://arxiv.org/abs/2508.05004v2"]})
    assert _diff(ORIGINAL, new) == ['@@ -21 +21 @@', '-    liked: ["2305.10431"]',
                                    '+    liked: ["2305.10431", "2508.05004"]']
    with pytest.raises(InputError) as info:
        _change("ada@example.org", add={"liked": ["arXiv:2305.10431v3"]})
    assert str(info.value) == ("subscribers.yaml: ada@example.org already has the liked paper "
                               "'2305.10431'")
    unliked = _change("ada@example.org",
                      remove={"liked": ["https://huggingface.co/papers/2305.10431"]})
    assert unliked == _without(21, 21)


def test_unknown_address_suggests_close_addresses() -> None:
    """A typo in the address gets a suggestion; a stranger gets a pointer to `list`."""
    with pytest.raises(InputError) as info:
        _change("ada@exmple.org", values={"name": "A"})
    assert str(info.value) == ("subscribers.yaml: no subscriber ada@exmple.org; "
                               "did you mean ada@example.org?")
    with pytest.raises(InputError) as info:
        remove_subscriber(ORIGINAL, PATH, "bob@example.org")
    assert str(info.value) == ("subscribers.yaml: no subscriber bob@example.org; "
                               "`newsletter subscribers list` shows who is there")


def test_an_invalid_result_is_refused_with_the_reason() -> None:
    """The result is validated with the file's schema before anything could be written."""
    with pytest.raises(ConfigError) as info:
        _change("ada@example.org", values={"send_at": "7:30"})
    assert str(info.value) == (
        "subscribers.yaml not changed: the result would be invalid:\n"
        "subscribers.yaml:22:14: `send_at`: '7:30' is not a time of day written HH:MM, "
        'e.g. "07:30"')


def test_an_invalid_file_is_not_edited() -> None:
    """A file that is already wrong must be fixed first; the problems are listed."""
    text = "subscribers:\n  - email: a@x.org\n    topcs: [x]\n"
    with pytest.raises(ConfigError) as info:
        change_subscriber(text, PATH, "a@x.org", Change({"name": "A"}))
    assert str(info.value) == (
        "subscribers.yaml:3:5: unknown key `topcs`; did you mean `topics`?\n"
        "subscribers.yaml: not changed; fix these first, e.g. with `newsletter subscribers edit`")


def test_lines_ruamel_would_reformat_stay_as_written() -> None:
    """Odd spacing and indentation elsewhere survive; only the edited line is rewritten."""
    text = ("subscribers:\n- email: a@x.org\n  topics: [ a,  b ]   # spaced\n  exclude:\n  - x\n"
            "- email: b@x.org\n  topics:   [ c ]\n")
    new = change_subscriber(text, PATH, "b@x.org", Change(add={"topics": ["d"]}))
    assert _diff(text, new) == ["@@ -7 +7 @@", "-  topics:   [ c ]", "+  topics: [c, d]"]
    new = change_subscriber(text, PATH, "a@x.org", Change(add={"exclude": ["y"]}))
    assert _diff(text, new) == ["@@ -5,0 +6 @@", "+  - y"]


def test_line_endings_and_a_missing_final_newline_are_kept() -> None:
    """CRLF files stay CRLF; a file without a final newline gets none."""
    crlf = "subscribers:\r\n  - email: a@x.org   # me\r\n    topics: [a]\r\n"
    assert change_subscriber(crlf, PATH, "a@x.org", Change({"name": "A"})) == (
        "subscribers:\r\n  - email: a@x.org   # me\r\n    name: A\r\n    topics: [a]\r\n")
    bare = "subscribers:\n  - email: a@x.org\n    topics: [a]"
    assert change_subscriber(bare, PATH, "a@x.org", Change({"max_papers": 2})) == bare + (
        "\n    max_papers: 2")


# --- remove ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("email", "first", "last"), [
    ("ada@example.org", 12, 22),    # its comment block and the blank line after it
    ("grace@example.org", 23, 30),
    ("alan@example.org", 30, 35),   # the last: the blank line before it; the file's end stays
])
def test_remove_takes_the_entry_with_its_comment_block(email: str, first: int,
                                                       last: int) -> None:
    """Exactly the entry, the comments right above it and one blank line go."""
    assert remove_subscriber(ORIGINAL, PATH, email) == _without(first, last)


def test_remove_the_only_subscriber_leaves_an_empty_list() -> None:
    """The list stays (`[]`), so the file remains valid; comments elsewhere stay."""
    text = "# people\nsubscribers:   # who\n  # me\n  - email: a@x.org\n    topics: [a]\n# end\n"
    assert remove_subscriber(text, PATH, "A@x.org") == "# people\nsubscribers: []   # who\n# end\n"


def test_entry_text_shows_the_lines_as_written() -> None:
    """`show` prints the entry with its comment block, from its first line."""
    index, line, block = entry_text(ORIGINAL, PATH, "grace@example.org")
    assert (index, line) == (1, 23)
    assert block == "".join(LINES[22:29])


# --- the merge ---------------------------------------------------------------------------------


def test_merge_applies_the_edit_to_the_original_lines() -> None:
    """Lines the renderer changed but the edit did not stay as in the original."""
    original = ["a:  1\n", "b: 2\n", "# note\n"]
    base = ["a: 1\n", "b: 2\n", "# note\n"]
    theirs = ["a: 1\n", "b: 3\n", "# note\n", "c: 4\n"]
    assert merge_lines(original, base, theirs) == ["a:  1\n", "b: 3\n", "c: 4\n", "# note\n"]


# --- writing -----------------------------------------------------------------------------------


def _file(tmp_path: Path, text: str = ORIGINAL) -> Path:
    path = tmp_path / "subscribers.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_write_is_atomic_and_keeps_the_permissions(tmp_path: Path) -> None:
    """The file is replaced whole, keeps its mode, and no temporary file is left behind."""
    path = _file(tmp_path)
    path.chmod(0o640)
    write_atomic(read_snapshot(path), "subscribers: []\n")
    assert path.read_text() == "subscribers: []\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["subscribers.yaml"]


def test_write_is_refused_when_the_file_changed_on_disk(tmp_path: Path) -> None:
    """Someone saved the file between our read and our write: theirs stays, ours is refused."""
    path = _file(tmp_path)
    snapshot = read_snapshot(path)
    new = change_subscriber(snapshot.text, path, "ada@example.org", Change({"name": "Ada L."}))
    theirs = ORIGINAL.replace("max_papers: 5", "max_papers: 7")
    path.write_text(theirs, encoding="utf-8")
    with pytest.raises(RunError) as info:
        write_atomic(snapshot, new)
    assert str(info.value) == (f"{path} changed on disk since it was read; nothing was written. "
                               "Run the command again.")
    assert path.read_text(encoding="utf-8") == theirs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["subscribers.yaml"]


def test_write_of_a_new_file_is_refused_when_one_appeared(tmp_path: Path) -> None:
    """A file read as missing must still be missing when it is written."""
    path = tmp_path / "subscribers.yaml"
    snapshot = read_snapshot(path, missing_ok=True)
    path.write_text("subscribers: []\n")
    with pytest.raises(RunError):
        write_atomic(snapshot, "subscribers:\n  - email: a@x.org\n")
    assert path.read_text() == "subscribers: []\n"


def test_write_through_a_symlink_replaces_its_target(tmp_path: Path) -> None:
    """A linked subscribers file stays a link; the file it points to is replaced."""
    target = _file(tmp_path)
    link = tmp_path / "link.yaml"
    link.symlink_to(target)
    write_atomic(read_snapshot(link), "subscribers: []\n")
    assert link.is_symlink() and target.read_text() == "subscribers: []\n"


# --- edit in an editor -------------------------------------------------------------------------


def _editor(*texts: str) -> tuple[list[str], Callable[[Path], None]]:
    """A fake editor that writes the given texts in turn, recording what it was shown."""
    shown: list[str] = []

    def run(draft: Path) -> None:
        shown.append(draft.read_text(encoding="utf-8"))
        draft.write_text(texts[len(shown) - 1], encoding="utf-8")

    return shown, run


def test_edit_reopens_until_the_file_is_valid(tmp_path: Path) -> None:
    """Problems are shown; the person fixes them in the same draft; the valid text is saved."""
    path = _file(tmp_path)
    broken = ORIGINAL.replace("max_papers: 5", "max_papers: 0")
    fixed = ORIGINAL.replace("max_papers: 5", "max_papers: 4")
    shown, run = _editor(broken, fixed)
    problems: list[str] = []

    def reopen(text: str) -> bool:
        problems.append(text)
        return True

    result = edit_in_editor(read_snapshot(path), run, reopen)
    assert result == fixed and path.read_text(encoding="utf-8") == fixed
    assert shown == [ORIGINAL, broken]
    assert problems == [f"{path}:35:17: `max_papers`: must be at least 1 (got 0)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["subscribers.yaml"]


def test_edit_declined_leaves_the_file_and_keeps_the_draft(tmp_path: Path) -> None:
    """Saying no to reopening writes nothing, and the draft is kept for later."""
    path = _file(tmp_path)
    broken = ORIGINAL.replace("topics:", "topcs:", 1)
    _, run = _editor(broken)
    with pytest.raises(ConfigError) as info:
        edit_in_editor(read_snapshot(path), run, lambda _: False)
    (draft,) = [p for p in tmp_path.iterdir() if p.name != "subscribers.yaml"]
    assert str(info.value) == f"{path} not changed; your edit is kept in {draft}"
    assert path.read_text(encoding="utf-8") == ORIGINAL
    assert draft.read_text(encoding="utf-8") == broken


def test_edit_refused_when_the_file_changed_meanwhile(tmp_path: Path) -> None:
    """A change saved by someone else while the editor was open is not overwritten."""
    path = _file(tmp_path)
    snapshot = read_snapshot(path)
    theirs = ORIGINAL + "# a note added meanwhile\n"

    def run(draft: Path) -> None:
        path.write_text(theirs, encoding="utf-8")
        draft.write_text(ORIGINAL.replace("Ada Lovelace", "Ada"), encoding="utf-8")

    with pytest.raises(RunError) as info:
        edit_in_editor(snapshot, run, lambda _: False)
    assert "changed on disk since it was read; nothing was written" in str(info.value)
    assert path.read_text(encoding="utf-8") == theirs
    (draft,) = [p for p in tmp_path.iterdir() if p.name != "subscribers.yaml"]
    assert str(info.value).endswith(f"Your edit is kept in {draft}.")


def test_edit_that_is_not_utf8_is_a_problem_to_fix(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 are reported like any other problem, never written mangled."""
    path = _file(tmp_path)
    calls: list[str] = []

    def run(draft: Path) -> None:
        calls.append("edit")
        draft.write_bytes(b"\xff" if len(calls) == 1 else ORIGINAL.encode() + b"# ok\n")

    problems: list[str] = []

    def reopen(text: str) -> bool:
        problems.append(text)
        return True

    edit_in_editor(read_snapshot(path), run, reopen)
    assert problems[0].startswith(f"{path}: not UTF-8 text: 'utf-8' codec can't decode byte 0xff")
    assert path.read_text(encoding="utf-8") == ORIGINAL + "# ok\n"


def test_edit_without_changes_writes_nothing(tmp_path: Path) -> None:
    """Closing the editor without a change leaves the file (and its times) alone."""
    path = _file(tmp_path)
    before = path.stat().st_mtime_ns
    assert edit_in_editor(read_snapshot(path), lambda _: None, lambda _: False) is None
    assert path.stat().st_mtime_ns == before
    assert [p.name for p in tmp_path.iterdir()] == ["subscribers.yaml"]


def test_snapshot_of_a_missing_file(tmp_path: Path) -> None:
    """Without `missing_ok` a missing file is the usual configuration error."""
    path = tmp_path / "nope.yaml"
    assert read_snapshot(path, missing_ok=True) == Snapshot(path, "", None)
    with pytest.raises(ConfigError, match="NEWSLETTER_SUBSCRIBERS"):
        read_snapshot(path)
    assert not os.path.exists(path)
