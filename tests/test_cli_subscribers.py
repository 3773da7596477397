"""`newsletter subscribers …` through the command line: exact output, exit codes, and the file."""

from __future__ import annotations

import datetime as dt
import io
import json
import shlex
import shutil
import sys
from pathlib import Path

import pytest

from newsletter import cli_subscribers, cli_support
from newsletter.cli import main
from newsletter.store import Store
from newsletter.subscribers import load_subscribers
from tests.conftest import DATA, HF_DAYS

ORIGINAL = (DATA / "commented_subscribers.yaml").read_text(encoding="utf-8")

EDITOR = """\
import json, pathlib, sys
here = pathlib.Path(__file__).parent
calls = here / "calls"
step = int(calls.read_text()) if calls.exists() else 0
calls.write_text(str(step + 1))
todo = json.loads((here / "steps.json").read_text())[step]
draft = pathlib.Path(sys.argv[1])
draft.write_text(draft.read_text().replace(*todo["draft"]))
if todo.get("meanwhile"):
    real = here / "subscribers.yaml"
    real.write_text(real.read_text() + todo["meanwhile"])
"""


@pytest.fixture
def commented(workdir: Path) -> Path:
    """The working folder's subscribers file is the commented one."""
    path = workdir / "subscribers.yaml"
    shutil.copy(DATA / "commented_subscribers.yaml", path)
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["subscribers", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _editor(folder: Path, monkeypatch: pytest.MonkeyPatch, *steps: dict[str, object]) -> None:
    """$EDITOR is a script that makes the given replacements, one per time it is opened."""
    (folder / "editor.py").write_text(EDITOR)
    (folder / "steps.json").write_text(json.dumps(list(steps)))
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", f"{shlex.quote(sys.executable)} {folder / 'editor.py'}")


# --- reading -------------------------------------------------------------------------------------


def test_validate_says_ok(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A valid file: how many subscribers, and no warning for profiles that do what they say."""
    code, out, err = _run(capsys, "validate")
    count = len(load_subscribers(workdir / "subscribers.yaml"))
    assert code == 0 and out.strip() == f"{workdir / 'subscribers.yaml'}: ok, {count} subscribers"
    assert "warning" not in err


def test_validate_warns_of_profiles_that_will_not_do_what_they_say(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Valid, but not what its author meant: a phrase both wanted and excluded, arXiv
    categories for a Hugging Face reader, a liked paper that is not stored (yet), phrases with
    no word to match. The file is
    still valid (exit 0), and a liked paper that is stored says nothing, in whatever form it is
    written (its Hugging Face URL)."""
    assert main(["fetch", "--file", str(HF_DAYS / "2025-08-29.json")]) == 0
    stored = "2508.20722"  # in the listing of 2025-08-29
    (workdir / "subscribers.yaml").write_text(f"""\
subscribers:
  - email: a@lab.example
    topics: [video generation, sparse attention]
    exclude: [Video Generation]
    arxiv_categories: [cs.CV]
    liked: ["https://huggingface.co/papers/{stored}", "2508.99999"]
  - email: b@lab.example
    topics: [sparse attention]
    arxiv_categories: [cs.CL]
    sources: [hf, arxiv]
    liked: ["{stored}"]
  - email: c@lab.example
    topics: [sparse attention, "the of", "🙂",
             "methods that make language models reason better with less compute"]
    exclude: [and]
""", encoding="utf-8")
    capsys.readouterr()
    code, out, err = _run(capsys, "validate")
    assert code == 0 and out.strip().endswith("ok, 3 subscribers")
    assert err.splitlines() == [
        'warning: a@lab.example: "video generation" is both a topic and excluded: papers about '
        "it are left out",
        "warning: a@lab.example: arxiv_categories filters only papers that also came from arXiv, "
        "and sources has no arxiv: Hugging Face listings carry no categories",
        "warning: a@lab.example: liked 2508.99999 is not stored yet: it counts once a fetch "
        "brings it",
        'warning: c@lab.example: topic "the of" has no word to match (only common words or '
        "symbols): it matches nothing",
        'warning: c@lab.example: topic "🙂" has no word to match (only common words or '
        "symbols): it matches nothing",
        'warning: c@lab.example: topic "methods that make language models reason better with '
        'less compute" has 8 words: a paper seldom has them all; 2 to 5 work best (make it '
        "several topics)",
        'warning: c@lab.example: exclude "and" has no word to match (only common words or '
        "symbols): it excludes nothing",
    ]


def test_validate_warns_of_followed_authors_on_no_stored_paper(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A followed author on no stored paper is said, with the closest stored name when there
    is one (a misspelt name never matches); "Zang, Yuhang" is Yuhang Zang. Nothing is said
    before any paper is stored."""
    (workdir / "subscribers.yaml").write_text("""\
subscribers:
  - email: a@lab.example
    authors: [Yuhang Zangg, "Zang, Yuhang", Y. Zang, Jane Nobody]
""", encoding="utf-8")
    code, _, err = _run(capsys, "validate")
    assert code == 0 and "warning" not in err
    assert main(["fetch", "--file", str(HF_DAYS / "2025-08-29.json")]) == 0
    capsys.readouterr()
    code, _, err = _run(capsys, "validate")
    assert code == 0
    assert err.splitlines() == [
        'warning: a@lab.example: author "Yuhang Zangg" is on no stored paper; did you mean '
        '"Yuhang Zang"?',
        'warning: a@lab.example: author "Jane Nobody" is on no stored paper yet: their papers '
        "count once a fetch brings one",
    ]


def test_validate_checks_the_phrases_against_the_stored_papers(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With a month of papers stored: a typo, with the word meant, a topic most papers have,
    an exclude phrase that leaves out many (`subscribers_lint_papers`)."""
    (workdir / "subscribers.yaml").write_text("""\
subscribers:
  - email: a@lab.example
    topics: [diffusion modles, language models]
    exclude: [reasoning]
""", encoding="utf-8")
    code, _, err = _run(capsys, "validate")
    assert code == 0 and "warning" not in err
    assert main(["fetch", *map(str, sorted(HF_DAYS.glob("2025-08-*.json")))]) == 0
    capsys.readouterr()
    code, _, err = _run(capsys, "validate")
    week = "the 74 papers listed 2025-08-23 to 2025-08-29"
    assert code == 0
    assert err.splitlines() == [
        'warning: a@lab.example: topic "diffusion modles": "modles" is in none of the 282 latest '
        'papers; did you mean "models"?',
        f'warning: a@lab.example: topic "language models" is in 62% of {week}: it tells few of '
        "them apart (a narrower phrase ranks better)",
        f'warning: a@lab.example: exclude "reasoning" leaves out 27% of {week} (a narrower '
        "phrase leaves out less)",
    ]


def test_add_and_set_warn_of_the_subscriber_they_change(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`add` and `set` end with what `validate` would warn of the subscriber they changed (on
    standard error; the change is made), and of no other."""
    (workdir / "subscribers.yaml").write_text(
        "subscribers:\n  - email: a@lab.example\n    topics: [diffusion modles]\n",
        encoding="utf-8")
    assert main(["fetch", *map(str, sorted(HF_DAYS.glob("2025-08-*.json")))]) == 0
    capsys.readouterr()
    code, out, err = _run(capsys, "add", "b@lab.example", "--topic", "speculative decodng")
    assert code == 0 and "added b@lab.example" in out
    assert err.splitlines() == [
        'warning: b@lab.example: topic "speculative decodng": "decodng" is in none of the 282 '
        'latest papers; did you mean "decoding"?'
    ]
    code, out, err = _run(capsys, "set", "b@lab.example", "--remove-topic",
                          "speculative decodng", "--add-topic", "speculative decoding",
                          "--add-exclude", "reasoning", "--dry-run")
    week = "the 74 papers listed 2025-08-23 to 2025-08-29"
    assert code == 0 and "(dry run: nothing written)" in out
    assert err.splitlines() == [
        f'warning: b@lab.example: exclude "reasoning" leaves out 27% of {week} (a narrower '
        "phrase leaves out less)"
    ]
    assert "decodng" in (workdir / "subscribers.yaml").read_text(encoding="utf-8")


def _damage(db: Path) -> None:
    """Zero every page of a database but the first: it opens, and fails when read."""
    for extra in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        extra.unlink(missing_ok=True)
    data = db.read_bytes()
    page = int.from_bytes(data[16:18], "big")
    db.write_bytes(data[:page] + bytes(len(data) - page))


@pytest.mark.parametrize("ledger", ["not a database", "damaged pages"])
def test_a_change_is_made_when_the_ledger_cannot_be_read(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    ledger: str
) -> None:
    """The warnings after `add`, `set` and `edit` read the ledger; a ledger that cannot be read
    is said, and the change, already written, stands (exit 0)."""
    db = workdir / "newsletter.db"
    if ledger == "not a database":
        db.write_bytes(b"not a database")
    else:
        assert main(["fetch", str(HF_DAYS / "2025-08-29.json")]) == 0
        _damage(db)
    capsys.readouterr()
    code, out, err = _run(capsys, "add", "b@lab.example", "--topic", "GUI agents")
    assert code == 0 and "added b@lab.example" in out
    assert err.startswith(f"warning: the stored papers were not checked: {db}: cannot ")
    code, _, err = _run(capsys, "set", "b@lab.example", "--add-topic", "web agents")
    assert code == 0 and err.startswith("warning: the stored papers were not checked: ")
    _editor(workdir, monkeypatch, {"draft": ["web agents", "browser agents"]})
    code, out, err = _run(capsys, "edit")
    assert code == 0 and "saved" in out and err.startswith("warning: the stored papers were ")
    assert "browser agents" in (workdir / "subscribers.yaml").read_text(encoding="utf-8")


def test_a_damaged_ledger_is_a_clear_error(workdir: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """A database whose pages are damaged opens, and fails when read: said with the file and
    what to do, exit 1, not a traceback."""
    assert main(["fetch", str(HF_DAYS / "2025-08-29.json")]) == 0
    capsys.readouterr()
    db = workdir / "newsletter.db"
    _damage(db)
    code, _, err = _run(capsys, "validate")
    assert code == 1
    assert err.startswith(f"error: {db}: cannot read the database: ")
    assert f"sqlite3 {db} 'PRAGMA integrity_check'" in err and "Traceback" not in err


def test_validate_warns_of_a_phrase_written_twice(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A topic or exclude phrase written twice, in any case, spacing or word form, counts once:
    valid (exit 0), but said, as its author may have meant it to count twice."""
    (workdir / "subscribers.yaml").write_text("""\
subscribers:
  - email: a@x.org
    topics: [robot manipulation, Robot Manipulation, "robot  manipulation", world models]
    exclude: [video generation, Video Generations]
  - email: b@x.org
    topics: [robot manipulation, {phrase: robot manipulations, weight: 3}]
""", encoding="utf-8")
    code, out, err = _run(capsys, "validate")
    assert code == 0 and out.strip().endswith("ok, 2 subscribers")
    assert err.splitlines() == [
        'warning: a@x.org: topic "Robot Manipulation" repeats "robot manipulation": it counts '
        "once (use weight: 2 to make a topic count more)",
        'warning: a@x.org: topic "robot  manipulation" repeats "robot manipulation": it counts '
        "once (use weight: 2 to make a topic count more)",
        'warning: a@x.org: exclude "Video Generations" repeats "video generation": it counts once',
        'warning: b@x.org: topic "robot manipulations" (weight 3) repeats "robot manipulation" '
        "(weight 1): it counts once, with the largest weight written, 3",
    ]


def test_list_shows_the_last_digest(commented: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The table has the address and, once the ledger knows one, the subscriber's last digest."""
    now = dt.datetime(2026, 8, 14, 7, 30, tzinfo=dt.UTC)
    with Store.open(commented.parent / "newsletter.db") as store:
        store.plan("grace@example.org", dt.date(2026, 8, 13), dt.date(2026, 8, 13), "<m@x>",
                   [], now)
    code, out, _ = _run(capsys, "list")
    assert code == 0
    rows = {line.split()[1]: line for line in out.splitlines() if "@" in line}
    assert list(rows) == ["ada@example.org", "Grace@example.org", "alan@example.org"]
    assert "2026-08-13 empty" in rows["Grace@example.org"]
    assert "weekdays" in rows["Grace@example.org"] and "—" in rows["ada@example.org"]


def test_list_plain_prints_a_line_per_subscriber(commented: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """`--plain`: a header, then one line per subscriber, every column but the topics padded
    to its widest value, the topics last and whole (for grep, cut and sort)."""
    code, out, _ = _run(capsys, "list", "--plain")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split("  ")[0].strip() == "address" and lines[0].endswith("topics")
    grace = next(line for line in lines if line.startswith("Grace@example.org"))
    assert grace.endswith("LLM agents, tool use")
    assert "weekdays" in grace and "08:00 America/New_York" in grace
    assert len(lines) == 4 and lines[0].index("frequency") == grace.index("weekdays")


def test_a_long_list_prints_lines(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Past LONG_LIST subscribers, `list` prints lines, not a table (rich took 8 s to lay out
    10,000 rows); a long name is cut with "…"."""
    entries = "".join(
        f"  - email: r{i:03d}@example.org\n    name: {'Ada ' * 10 if i == 7 else 'R'}\n"
        f"    topics: [topic {i}]\n" for i in range(cli_subscribers.LONG_LIST + 1))
    (workdir / "subscribers.yaml").write_text(f"subscribers:\n{entries}", encoding="utf-8")
    code, out, _ = _run(capsys, "list")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == cli_subscribers.LONG_LIST + 2 and "│" not in out and "┃" not in out
    assert lines[1].startswith("r000@example.org") and lines[1].endswith("topic 0")
    assert "Ada Ada Ada Ada Ada Ada…" in lines[8]


def test_list_plain_prints_every_subscriber_on_one_line_as_written(
        workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A name or topic with a newline or a tab stays on its subscriber's line, and text that
    rich would read as an emoji code or markup is printed as written."""
    (workdir / "subscribers.yaml").write_text(
        'subscribers:\n  - email: a@example.org\n    name: "Ada\\nLovelace"\n'
        '    topics: ["diffusion :fire: models", "[bold]x[/bold]", "tab\\there"]\n',
        encoding="utf-8")
    code, out, _ = _run(capsys, "list", "--plain")
    assert code == 0
    assert out.splitlines()[1].split("  ")[0] == "a@example.org"
    assert "Ada Lovelace" in out and len(out.splitlines()) == 2
    assert out.splitlines()[1].endswith("diffusion :fire: models, [bold]x[/bold], tab here")


def test_list_never_splits_a_time_zone(commented: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """In 80 columns the topics wrap, but every time zone stays whole on its line (they were
    split: "Europe/B", "erlin")."""
    monkeypatch.setattr(cli_support.out, "width", 80)
    zones = {"Europe/Berlin", "America/New_York"}  # the file's
    code, out, _ = _run(capsys, "list")
    assert code == 0 and {zone for zone in zones if zone in out} == zones


def test_show_prints_the_entry_as_written(commented: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """`show` prints the lines from the file, with the comment above, and what is in effect."""
    code, out, _ = _run(capsys, "show", "GRACE@example.org")
    assert code == 0
    assert out == (
        f"# {commented}, line 23\n"
        "  # Grace only wants agent papers, on weekdays, in her morning.\n"
        "  - email: Grace@Example.org\n"
        "    name: Grace Hopper\n"
        '    topics: ["LLM agents", "tool use"]\n'
        "    frequency: weekdays\n"
        '    send_at: "08:00"\n'
        "    timezone: America/New_York\n"
        "# in effect: weekdays at 08:00 America/New_York, at most 8 papers, from arxiv, hf\n"
        "# last digest: none yet\n"
    )


def test_show_says_the_medium_a_profile_is_about(commented: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A profile whose topics name images twice is about images (`ranking_fields`): `show`
    says so, as papers of other media are pushed down; a profile about none says nothing."""
    topics = ["--topic", "autoregressive image generation", "--topic", "visual tokenizers",
              "--topic", "flow matching"]
    assert _run(capsys, "add", "ida@example.org", *topics)[0] == 0
    code, out, _ = _run(capsys, "show", "ida@example.org")
    assert code == 0
    assert out.splitlines()[-2:] == [
        "# about images: papers of other media are pushed down", "# last digest: none yet"]
    assert "pushed down" not in _run(capsys, "show", "grace@example.org")[1]


def test_unknown_address_suggests_a_close_one(commented: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """show, set and remove all name the near miss, with exit 2 and the file untouched."""
    for argv in (["show", "alan@exampel.org"], ["set", "alan@exampel.org", "--name", "A"],
                 ["remove", "alan@exampel.org"]):
        code, out, err = _run(capsys, *argv)
        assert (code, out) == (2, "")
        assert err == (f"error: {commented}: no subscriber alan@exampel.org; "
                       "did you mean alan@example.org?\n")
    assert commented.read_text(encoding="utf-8") == ORIGINAL


# --- add, set, remove ----------------------------------------------------------------------------


def test_add_prints_and_writes_exactly_the_new_entry(commented: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """The new entry follows the file's style and lands after the last one."""
    code, out, err = _run(capsys, "add", "nia@example.org", "--name", "Nia Noor",
                          "--topic", "diffusion models", "--topic", "video editing",
                          "--category", "cs.CV", "--frequency", "weekly")
    assert (code, err) == (0, "")
    assert out == (
        f"{commented}: added nia@example.org\n"
        "@@ -36,0 +37,6 @@\n"
        "+  - email: nia@example.org\n"
        "+    name: Nia Noor\n"
        '+    topics: ["diffusion models", "video editing"]\n'
        "+    arxiv_categories: [cs.CV]\n"
        "+    frequency: weekly\n"
        "+\n"
    )
    assert commented.read_text(encoding="utf-8") == ORIGINAL.replace(
        "\n# Retired", "\n  - email: nia@example.org\n    name: Nia Noor\n"
        '    topics: ["diffusion models", "video editing"]\n    arxiv_categories: [cs.CV]\n'
        "    frequency: weekly\n\n# Retired")


def test_add_creates_a_missing_file(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The first `add` on a new installation writes the file."""
    path = workdir / "subscribers.yaml"
    path.unlink()
    code, out, _ = _run(capsys, "add", "me@lab.example", "--topic", "agents")
    assert code == 0 and out.startswith(f"{path}: added me@lab.example\n")
    assert path.read_text() == 'subscribers:\n  - email: me@lab.example\n    topics: ["agents"]\n'


def test_set_prints_and_writes_exactly_the_change(commented: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Values, list items and `--disable` change their own lines and nothing else."""
    code, out, _ = _run(capsys, "set", "alan@example.org", "--max-papers", "6",
                        "--add-author", "Saining Xie", "--remove-topic", "POINT TRACKING",
                        "--disable")
    assert code == 0
    assert out == (
        f"{commented}: changed alan@example.org\n"
        "@@ -32 +32 @@\n"
        '-    topics: ["3D generation", \'point tracking\']\n'
        '+    topics: ["3D generation"]\n'
        "@@ -35 +35,3 @@\n"
        "-    max_papers: 5   # he reads on the train\n"
        '+      - "Saining Xie"\n'
        "+    max_papers: 6   # he reads on the train\n"
        "+    enabled: false\n"
    )
    assert commented.read_text(encoding="utf-8") == ORIGINAL.replace(
        "    topics: [\"3D generation\", 'point tracking']", '    topics: ["3D generation"]'
    ).replace('      - "Jiaqi Wang"\n    max_papers: 5',
              '      - "Jiaqi Wang"\n      - "Saining Xie"\n    max_papers: 6').replace(
        "he reads on the train\n", "he reads on the train\n    enabled: false\n")


def test_set_with_nothing_asked_is_a_usage_error(commented: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """`set EMAIL` alone says what to give; exit 2."""
    code, _, err = _run(capsys, "set", "ada@example.org")
    assert code == 2
    assert err == ("error: nothing to change: give an option such as --add-topic or --frequency "
                   "(see `newsletter subscribers set --help`)\n")


def test_set_what_is_already_so_writes_nothing(commented: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Setting the current value is fine (exit 0) and does not touch the file."""
    before = commented.stat().st_mtime_ns
    code, out, _ = _run(capsys, "set", "grace@example.org", "--frequency", "weekdays")
    assert (code, out) == (0, f"{commented}: nothing to change\n")
    assert commented.stat().st_mtime_ns == before


@pytest.mark.parametrize(("argv", "reason"), [
    (["set", "ada@example.org", "--send-at", "7:30"],
     ":22:14: `send_at`: '7:30' is not a time of day written HH:MM, e.g. \"07:30\""),
    (["set", "ada@example.org", "--timezone", "Mars/Olympus"],
     ":22:15: `timezone`: unknown time zone 'Mars/Olympus' (e.g. Europe/Berlin)"),
    (["add", "not-an-address", "--topic", "x"],
     ":37:12: `email`: 'not-an-address' is not a valid email address: "
     "An email address must have an @-sign."),
])
def test_an_invalid_edit_leaves_the_file_byte_identical(
    commented: Path, capsys: pytest.CaptureFixture[str], argv: list[str], reason: str
) -> None:
    """The edit is refused with the reason and exit 2; the file is not touched."""
    before = commented.read_bytes()
    code, out, err = _run(capsys, *argv)
    assert (code, out) == (2, "")
    assert err == (f"error: {commented} not changed: the result would be invalid:\n"
                   f"{commented}{reason}\n")
    assert commented.read_bytes() == before


def test_dry_run_prints_the_change_and_writes_nothing(commented: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """`--dry-run` shows the same diff and leaves the file alone."""
    code, out, _ = _run(capsys, "set", "grace@example.org", "--unset", "timezone", "--dry-run")
    assert code == 0
    assert out == (f"{commented}: changed grace@example.org (dry run: nothing written)\n"
                   "@@ -29 +28,0 @@\n"
                   "-    timezone: America/New_York\n")
    assert commented.read_text(encoding="utf-8") == ORIGINAL


def test_remove_takes_the_entry_and_its_comment(commented: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """The entry, the comment right above it and one blank line go; the rest stays."""
    code, out, _ = _run(capsys, "remove", "grace@example.org")
    assert code == 0
    lines = ORIGINAL.splitlines(keepends=True)
    assert commented.read_text(encoding="utf-8") == "".join(lines[:22] + lines[30:])
    assert out.splitlines()[:3] == [
        f"{commented}: removed grace@example.org", "@@ -23,8 +22,0 @@",
        "-  # Grace only wants agent papers, on weekdays, in her morning."]


# --- edit ----------------------------------------------------------------------------------------


def test_edit_saves_a_valid_edit(commented: Path, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The editor's change is written as it was made."""
    _editor(commented.parent, monkeypatch, {"draft": ["Grace Hopper", "Rear Adm. Hopper"]})
    code, out, _ = _run(capsys, "edit")
    assert (code, out) == (0, f"{commented}: saved, 3 subscribers\n")
    assert commented.read_text() == ORIGINAL.replace("Grace Hopper", "Rear Adm. Hopper")


def test_edit_ends_with_the_warnings_of_the_saved_file(
    commented: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A valid edit that will not do what it seems is saved, and said, as `validate` says it."""
    _editor(commented.parent, monkeypatch,
            {"draft": ["name: Grace Hopper", "name: Grace Hopper\n    exclude: [the of]"]})
    code, out, err = _run(capsys, "edit")
    assert (code, out) == (0, f"{commented}: saved, 3 subscribers\n")
    assert err == ('warning: Grace@example.org: exclude "the of" has no word to match (only '
                   "common words or symbols): it excludes nothing\n")


def test_edit_reopens_on_errors_until_valid(commented: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """An invalid edit shows its problems and asks to reopen; the fix is then saved."""
    _editor(commented.parent, monkeypatch, {"draft": ["send_at: \"08:00\"", "send_at: 8am"]},
            {"draft": ["send_at: 8am", "send_at: \"09:00\""]})
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))  # Enter: the default, yes
    code, out, err = _run(capsys, "edit")
    assert (code, out) == (0, f"{commented}: saved, 3 subscribers\n")
    assert err == (f"{commented}:28:14: `send_at`: '8am' is not a time of day written HH:MM, "
                   'e.g. "07:30"\nReopen the editor to fix this? [Y/n]: ')
    assert commented.read_text() == ORIGINAL.replace('"08:00"', '"09:00"')


def test_edit_declined_leaves_the_file_alone(commented: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Answering no ends with exit 2; the file is byte-identical and the draft is kept."""
    _editor(commented.parent, monkeypatch, {"draft": ["topics:", "topcs:"]})
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    code, _, err = _run(capsys, "edit")
    assert code == 2
    (draft,) = commented.parent.glob(".subscribers.*.edit.yaml")
    assert err.endswith(f"error: {commented} not changed; your edit is kept in {draft}\n")
    assert "unknown key `topcs`; did you mean `topics`?" in err
    assert commented.read_text() == ORIGINAL


def test_edit_refused_when_the_file_changed_meanwhile(
    commented: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change saved by someone else while the editor was open wins; exit 1 and why."""
    _editor(commented.parent, monkeypatch,
            {"draft": ["Ada Lovelace", "Ada"], "meanwhile": "# added meanwhile\n"})
    code, _, err = _run(capsys, "edit")
    assert code == 1
    (draft,) = commented.parent.glob(".subscribers.*.edit.yaml")
    assert err == (f"error: {commented} changed on disk since it was read; nothing was written. "
                   f"Run the command again.\nYour edit is kept in {draft}.\n")
    assert commented.read_text() == ORIGINAL + "# added meanwhile\n"


@pytest.mark.parametrize("knob", ["recency", "min_relevance"])
def test_unset_a_ranking_knob(workdir: Path, capsys: pytest.CaptureFixture[str],
                              knob: str) -> None:
    """`--unset` takes a ranking knob off a subscriber, who follows `defaults` again."""
    path = workdir / "subscribers.yaml"
    path.write_text(f"defaults: {{{knob}: 0.2}}\nsubscribers:\n  - email: ada@lab.example\n"
                    f"    topics: [agents]\n    {knob}: 0.5\n", encoding="utf-8")
    code, _, err = _run(capsys, "set", "ada@lab.example", "--unset", knob)
    assert (code, err) == (0, "")
    assert f"    {knob}" not in path.read_text(encoding="utf-8")
    assert getattr(load_subscribers(path)[0].profile, knob) == 0.2
