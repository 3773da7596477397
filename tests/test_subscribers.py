"""The subscribers file: strict validation with file:line:col for every problem."""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter.errors import ConfigError
from newsletter.models import Frequency, Source, Subscriber, Topic
from newsletter.subscribers import load_subscribers
from newsletter.subscribers_lint import warnings
from tests.conftest import DATA, REPO


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "subscribers.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_subscribers(path)
    return str(info.value).splitlines()


def test_example_file_validates() -> None:
    """The commented example shipped with the project is valid, uses every kind of field, and
    draws no warning (`subscribers validate`)."""
    subscribers = load_subscribers(REPO / "subscribers.example.yaml")
    assert warnings(subscribers, stored={"2508.20722"}) == []
    ada = subscribers[0]
    assert ada.email == "ada@example.org"
    assert Topic("reward models", 2.0) in ada.profile.topics
    assert ada.profile.exclude == ("video generation",)
    assert ada.profile.liked == ("2508.20722",)
    assert subscribers[1].send_at == dt.time(8, 0)
    assert subscribers[3].frequency is Frequency.WEEKLY and subscribers[3].weekly_day == 0


def test_defaults_apply_and_subscribers_override(tmp_path: Path) -> None:
    """`defaults` fill what a subscriber leaves out; a subscriber's own value wins."""
    path = _write(tmp_path, """
defaults: {max_papers: 4, sources: [hf, arxiv], timezone: Asia/Tokyo}
subscribers:
  - {email: a@x.org, topics: [a]}
  - {email: b@x.org, topics: [b], max_papers: 9, timezone: UTC}
""")
    first, second = load_subscribers(path)
    assert first.profile.max_papers == 4 and first.timezone == "Asia/Tokyo"
    assert first.sources == frozenset({Source.HF, Source.ARXIV})
    assert second.profile.max_papers == 9 and second.timezone == "UTC"


def test_recency_trending_and_min_relevance_knobs(tmp_path: Path) -> None:
    """`recency`, `trending` and `min_relevance` come from `defaults` or the subscriber, 0 to
    1; recency is off unless asked for, and a value out of range names its line."""
    path = _write(tmp_path, """
defaults: {trending: 0.5, min_relevance: 0.2}
subscribers:
  - {email: a@x.org, topics: [a]}
  - {email: b@x.org, topics: [b], recency: 0.4, trending: 0, min_relevance: 0.3}
""")
    first, second = load_subscribers(path)
    assert (first.profile.trending, first.profile.recency) == (0.5, 0.0)
    assert (second.profile.trending, second.profile.recency) == (0.0, 0.4)
    assert (first.profile.min_relevance, second.profile.min_relevance) == (0.2, 0.3)
    plain = _write(tmp_path, "subscribers:\n  - {email: a@x.org, topics: [a]}\n")
    assert load_subscribers(plain)[0].profile.min_relevance == 0.12
    for knob in ("recency", "min_relevance"):
        bad = _write(tmp_path, f"subscribers:\n  - {{email: a@x.org, topics: [a], {knob}: 2}}\n")
        (problem,) = _problems(bad)
        assert problem.startswith(f"{bad}:2:") and f"`{knob}`" in problem and "1" in problem


def test_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    """A YAML syntax error is reported as file:line:col."""
    text = "subscribers:\n  - email: a@b.org\n    topics: [x\n  - email: c@d.org\n"
    path = _write(tmp_path, text)
    (problem,) = _problems(path)
    assert problem.startswith(f"{path}:4:")
    assert "YAML syntax" in problem


def test_every_problem_listed_with_its_line(tmp_path: Path) -> None:
    """Unknown key (with a suggestion), unquoted id, bad address, bad bool, missing email."""
    path = _write(tmp_path, """subscribers:
  - email: ada@example.org
    topcs: ["x"]
    liked: [2305.10431]
  - email: not-an-address
  - email: b@example.org
    enabled: no
  - name: Bob
""")
    assert _problems(path) == [
        f"{path}:3:5: unknown key `topcs`; did you mean `topics`?",
        f'{path}:4:13: `liked[1]`: must be text; write it in quotes: "2305.10431"',
        f"{path}:5:12: `email`: 'not-an-address' is not a valid email address: "
        "An email address must have an @-sign.",
        f"{path}:7:14: `enabled`: must be true or false",
        f"{path}:8:5: missing required key `email`",
    ]



@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("weight: 15", "6:17: `topics[2].weight`: must be at most 10 (got 15)"),
        ("weight: 0", "6:17: `topics[2].weight`: must be more than 0 (got 0)"),
        ("weight: high", "6:17: `topics[2].weight`: must be a number"),
        ("weigth: 2", "6:9: unknown key `weigth`; did you mean `weight`?"),
        ("size: 2", "6:9: unknown key `size`; known keys: phrase, weight"),
    ],
)
def test_a_weighted_topic_names_its_own_keys(tmp_path: Path, topic: str, expected: str) -> None:
    """A mapping topic is checked as a mapping only: one problem, at its key, named from the
    subscriber's entry, not also "Input should be a valid string" with pydantic's internals."""
    path = _write(tmp_path, f"""subscribers:
  - email: a@x.org
    topics:
      - agents
      - phrase: RAG
        {topic}
""")
    assert _problems(path) == [f"{path}:{expected}"]


@pytest.mark.parametrize(
    ("topics", "expected"),
    [
        ("[agents, {weight: 2}]", "3:22: missing required key `phrase`"),
        ("[agents, [a, b]]", "3:22: `topics[2]`: must be a phrase, or a mapping such as "
                             "{phrase: RLHF, weight: 2}"),
        ("[agents, {phrase: 7}]",
         '3:31: `topics[2].phrase`: must be text; write it in quotes: "7"'),
    ],
)
def test_a_topic_in_neither_form_is_one_problem(tmp_path: Path, topics: str,
                                                expected: str) -> None:
    """A topic that is not a phrase nor a valid mapping is reported once, in its own terms."""
    path = _write(tmp_path, f"subscribers:\n  - email: a@x.org\n    topics: {topics}\n")
    assert _problems(path) == [f"{path}:{expected}"]

def test_duplicate_subscriber_is_case_insensitive(tmp_path: Path) -> None:
    """The same address twice, in another case, is refused with both lines named."""
    path = _write(tmp_path, "subscribers:\n  - email: a@x.org\n  - email: A@X.org\n")
    assert _problems(path) == [f"{path}:3:12: duplicate subscriber A@x.org (already on line 2)"]


def test_duplicate_mapping_key(tmp_path: Path) -> None:
    """A key written twice in one mapping is an error, not a silent overwrite."""
    path = _write(tmp_path, "subscribers:\n  - email: a@x.org\n    email: b@x.org\n")
    (problem,) = _problems(path)
    assert problem.startswith(f"{path}:3:5: YAML syntax: found duplicate key")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("name: 012", '`name`: must be text; write it in quotes: "012"'),
        ("name: true", '`name`: must be text; write it in quotes: "true"'),
        ("send_at: 7:30", "`send_at`: '7:30' is not a time of day written HH:MM"),
        ("timezone: Mars/Base", "`timezone`: unknown time zone 'Mars/Base'"),
        ("frequency: hourly", "`frequency`: Input should be 'daily', 'weekdays' or 'weekly'"),
        ("max_papers: 0", "`max_papers`: must be at least 1 (got 0)"),
        ("max_papers: 101", "`max_papers`: must be at most 100 (got 101)"),
        ("max_papers: 2.5", "`max_papers`: must be a whole number"),
        ("trending: 1.50", "`trending`: must be at most 1 (got 1.50)"),
        ("min_upvotes: -1", "`min_upvotes`: must be at least 0 (got -1)"),
        ('topics: ["  "]', "`topics[1]`: must not be empty"),
        ('topics: [{phrase: ""}]', "`topics[1].phrase`: must not be empty"),
        ('exclude: [""]', "`exclude[1]`: must not be empty"),
        ("sources: []", "`sources`: must not be empty"),
        (f"topics: [{'x' * 501}]", "`topics[1]`: must have at most 500 characters (got 501)"),
        (f"exclude: [{', '.join(['x'] * 51)}]", "`exclude`: must have at most 50 items (got 51)"),
    ],
)
def test_values_are_not_silently_converted(tmp_path: Path, line: str, expected: str) -> None:
    """YAML 1.1 surprises and bad values are rejected with what to write instead."""
    path = _write(tmp_path, f"subscribers:\n  - email: a@x.org\n    {line}\n")
    (problem,) = _problems(path)
    assert problem.startswith(f"{path}:3:")
    assert expected in problem


@pytest.mark.parametrize(
    ("lines", "where", "written"),
    [
        ('liked: ["2508.05615", 2508.10390]', "3:27: `liked[2]`", "2508.10390"),
        ("liked:\n      - 2508.10390", "4:9: `liked[1]`", "2508.10390"),
        ("authors: [1.50]", "3:15: `authors[1]`", "1.50"),
        ("exclude: [1_000]", "3:15: `exclude[1]`", "1_000"),
        ("arxiv_categories: [1.10]", "3:24: `arxiv_categories[1]`", "1.10"),
        ("topics: [0.10]", "3:14: `topics[1]`", "0.10"),
        ("topics: [{phrase: 2.50, weight: 2}]", "3:23: `topics[1].phrase`", "2.50"),
        ("name: TRUE", "3:11: `name`", "TRUE"),
        ("name: 0x1F", "3:11: `name`", "0x1F"),
        ("timezone: !!float 1", "3:15: `timezone`", "1"),
    ],
)
def test_quote_hint_keeps_the_value_as_written(tmp_path: Path, lines: str, where: str,
                                               written: str) -> None:
    """The hint quotes the value as the file writes it: quoting what YAML read instead would
    change it (`2508.10390` is read as the number 2508.1039, `TRUE` as True)."""
    path = _write(tmp_path, f"subscribers:\n  - email: a@x.org\n    {lines}\n")
    assert _problems(path) == [f'{path}:{where}: must be text; write it in quotes: "{written}"']



@pytest.mark.parametrize("merge", ["<<: *ada", "<<: [*ada]"])
def test_a_merged_value_is_reported_at_the_entry_that_merges_it(tmp_path: Path,
                                                                merge: str) -> None:
    """A bad value brought in with `<<: *anchor` is named at the entry that merges it (it has no
    line of its own there) and quoted as written at the anchor; it used to raise KeyError."""
    path = _write(tmp_path, f"""subscribers:
  - &ada {{email: a@x.org, liked: [2508.10390]}}
  - {merge}
    email: b@x.org
""")
    assert _problems(path) == [
        f'{path}:2:35: `liked[1]`: must be text; write it in quotes: "2508.10390"',
        f'{path}:3:5: `liked[1]`: must be text; write it in quotes: "2508.10390"',
    ]

def test_no_and_on_stay_text(tmp_path: Path) -> None:
    """YAML 1.2: `no` and `on` as topics are the words, not booleans."""
    path = _write(tmp_path, "subscribers:\n  - email: a@x.org\n    topics: [no, on]\n")
    (subscriber,) = load_subscribers(path)
    assert [t.phrase for t in subscriber.profile.topics] == ["no", "on"]


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    """A missing file names the setting to change."""
    with pytest.raises(ConfigError, match="NEWSLETTER_SUBSCRIBERS"):
        load_subscribers(tmp_path / "nope.yaml")


def test_test_data_file_is_valid() -> None:
    """The file the end-to-end tests use is itself valid."""
    assert [s.email for s in load_subscribers(DATA / "subscribers.yaml")] == [
        "agents@lab.example", "video@lab.example", "vision@lab.example"]


def test_liked_ids_in_any_form_are_the_bare_id(tmp_path: Path) -> None:
    """A liked paper written as `arXiv:…`, its arXiv or Hugging Face URL, or with a version, is
    the bare id the store keys papers by (else it never matches); written twice, it is one."""
    path = _write(tmp_path, """subscribers:
  - email: a@x.org
    liked:
      - arXiv:2508.05635
      - https://arxiv.org/abs/2508.05004
      - https://arxiv.org/pdf/2508.05004v2
      - https://huggingface.co/papers/2508.05004
      - 2508.10390v3
      - hep-th/9901001v2
""")
    (subscriber,) = load_subscribers(path)
    assert subscriber.profile.liked == ("2508.05635", "2508.05004", "2508.10390", "hep-th/9901001")


def test_a_liked_item_that_is_no_arxiv_id_is_refused(tmp_path: Path) -> None:
    """Anything else could never match a paper: refused at its line and column, with an
    example; an unquoted id keeps its quote hint."""
    path = _write(tmp_path, """subscribers:
  - email: a@x.org
    liked: ["2508.05635", foo, 2508.10390, "2599.00001", "https://example.org/x"]
""")
    assert _problems(path) == [
        f"{path}:3:27: `liked[2]`: 'foo' is not an arXiv id (write it like 2508.05635)",
        f'{path}:3:32: `liked[3]`: must be text; write it in quotes: "2508.10390"',
        f"{path}:3:44: `liked[4]`: '2599.00001' is not an arXiv id (write it like 2508.05635)",
        f"{path}:3:58: `liked[5]`: 'https://example.org/x' is not an arXiv id "
        "(write it like 2508.05635)",
    ]


def test_a_topic_written_twice_counts_once(tmp_path: Path) -> None:
    """The same phrase in another case, spacing or word form is one topic (it would count as
    weight 2): the first spelling stays, with the largest weight written; the same for
    exclude phrases."""
    path = _write(tmp_path, """subscribers:
  - email: a@x.org
    topics: [robot manipulation, Robot Manipulation, "robot  manipulation",
             robot manipulations, world models]
    exclude: [video generation, Video Generations]
  - email: b@x.org
    topics: [world models, {phrase: robot manipulation, weight: 0.5},
             {phrase: Robot Manipulations, weight: 3}, {phrase: robot manipulation, weight: 2}]
""")
    first, second = load_subscribers(path)
    assert first.profile.topics == (Topic("robot manipulation"), Topic("world models"))
    assert first.profile.exclude == ("video generation",)
    assert second.profile.topics == (Topic("world models"), Topic("robot manipulation", 3.0))


def test_duplicates_are_listed_with_the_other_problems(tmp_path: Path) -> None:
    """A subscriber written twice is reported in the same run as the file's other problems,
    not only once they are fixed."""
    path = _write(tmp_path, """subscribers:
  - email: m1@lab.org
    max_papers: 0
  - email: M1@Lab.org
    enabled: maybe
  - email: not-an-address
  - email: not-an-address
""")
    assert _problems(path) == [
        f"{path}:3:17: `max_papers`: must be at least 1 (got 0)",
        f"{path}:4:12: duplicate subscriber M1@lab.org (already on line 2)",
        f"{path}:5:14: `enabled`: must be true or false",
        f"{path}:6:12: `email`: 'not-an-address' is not a valid email address: "
        "An email address must have an @-sign.",
        f"{path}:7:12: `email`: 'not-an-address' is not a valid email address: "
        "An email address must have an @-sign.",
    ]


def test_reading_the_file_pauses_the_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    """The file is parsed and resolved with the cyclic collector off (`gc_paused`), and it is
    on again after: what reading makes is kept, and full collections walking it again and
    again were an eighth of reading 10,000 subscribers."""
    from newsletter import subscribers

    seen: list[bool] = []
    resolve = subscribers.resolve

    def noting(model: subscribers.SubscribersFile) -> Iterator[Subscriber]:
        seen.append(gc.isenabled())
        return resolve(model)

    monkeypatch.setattr(subscribers, "resolve", noting)
    assert load_subscribers(DATA / "subscribers.yaml")
    assert seen == [False] and gc.isenabled()
