"""`yaml_plain` reads plain YAML as ruamel's loaders do, and declines everything else."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from newsletter import yaml_plain
from newsletter.subscribers import (
    SubscribersFile,
    _parse_plain,
    _validate,
    plain_data,
    yaml_from_text,
)

ROOT = Path(__file__).resolve().parents[1]


def round_trip(text: str) -> object:
    """What the round-trip loader reads, as plain values (`subscribers.plain_data`)."""
    return plain_data(YAML(typ="rt").load(text))


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: -2\nc: +3\nd: 0\ne: 1_000\nf: 0x1f\ng: 0o17\n",
        "a: 0.5\nb: 2.50\nc: 1e3\nd: -.5\ne: .inf\nf: -.Inf\n",
        "a: true\nb: False\nc: TRUE\nd: yes\ne: no\nf: on\ng: off\n",  # 1.2: yes/no/on are text
        "a: ~\nb: null\nc: Null\nd:\ne: ''\n",
        "send_at: 07:30\nday: 2025\nid: 2508.05635\nv: 1.2.3\nq: '07:30'\n",
        'a: "quoted: #not a comment"\nb: \'it\'\'s\'\nc: "\\u00e9\\t"\n',
        "a: |\n  two\n  lines\nb: >\n  folded\n  text\nc: plain # a comment\n",
        "topics: [RAG, 'sparse attention', {phrase: MoE, weight: 2}]\nempty: []\nnone: {}\n",
        "subscribers:\n  - email: a@x.org\n    topics:\n      - diffusion models\n      - x, y\n",
        "1: one\nfalse: f\nnull: n\n2.5: x\n",  # keys read as text, as plain_data reads them
        "- a\n- [b, [c]]\n- {d: e}\n",
        "",
        "# only a comment\n",
    ],
)
def test_plain_yaml_reads_as_the_round_trip_loader_does(text: str) -> None:
    """Every plain scalar type, quoting, block scalar and nesting: the same values, the same
    types (a YAML 1.2 `no` is text, `07:30` is text, not 450 minutes)."""
    loaded = yaml_plain.load(text)
    expected = round_trip(text)
    assert loaded == expected
    assert _types(loaded) == _types(expected)


def _types(value: object) -> object:
    """The value with every scalar replaced by its type, to tell 1 from 1.0 and True."""
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_types(v) for v in value]
    return type(value)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("a: &x 1\nb: *x\n", "anchor"),
        ("a: [*x]\n", "alias"),
        ("a: !!str 1\n", "tag"),
        ("a: ! 1\n", "tag"),
        ("base: {x: 1}\nb:\n  <<: {y: 2}\n", "merge"),
        ("a: 1\na: 2\n", "duplicate"),
        ("1: a\ntrue: b\n", "duplicate"),  # 1 == True: ruamel refuses the second
        ("1: a\n'1': b\n", "duplicate"),  # one key once read as text
        ("%YAML 1.1\n---\na: yes\n", "directive"),
        ("a: 1\n---\nb: 2\n", "documents"),
        ("? [a, b]\n: c\n", "complex key"),
        ("a: 2025-08-29\n", "timestamp"),
        ("a: [1, 2\n", "syntax"),
        ("a: b: c\n", "syntax"),
    ],
)
def test_what_is_not_plain_is_declined(text: str, why: str) -> None:
    """Anchors, aliases, tags, merge keys, duplicate keys, directives, several documents,
    complex keys and timestamps are read differently (or refused) by the round-trip loader:
    they are left to it."""
    with pytest.raises(yaml_plain.NotPlain):
        yaml_plain.load(text)


def test_random_documents_read_alike() -> None:
    """Nested mappings and lists of scalars drawn from every form above, written block and
    flow style: read as the round-trip loader reads them."""
    rng = random.Random(5)
    scalars = ["1", "-7", "0.25", "1e-3", "true", "no", "~", "07:30", "'quoted'", '"q: x"',
               "plain words", "2508.05635", "0x10", "1_0", "TRUE", "Null", "on", ".nan"]

    def value(depth: int) -> str:
        kind = rng.random()
        if depth > 2 or kind < 0.5:
            return rng.choice(scalars)
        if kind < 0.75:
            return "[" + ", ".join(value(depth + 1) for _ in range(rng.randint(0, 3))) + "]"
        keys = rng.sample(["a", "b", "c", "d"], rng.randint(0, 3))
        return "{" + ", ".join(f"{k}: {value(depth + 1)}" for k in keys) + "}"

    compared = 0
    for _ in range(200):
        lines = [f"k{i}: {value(0)}" for i in range(rng.randint(1, 5))]
        text = "\n".join(lines) + "\n"
        try:
            loaded = yaml_plain.load(text)
        except yaml_plain.NotPlain:  # libyaml refuses "[07:30]" in flow style: left to ruamel
            continue
        assert repr(loaded) == repr(round_trip(text)), text  # repr: nan == nan, 1 is not 1.0
        compared += 1
    assert compared > 100


def test_the_example_file_reads_alike_both_ways() -> None:
    """The bundled example (comments, defaults, weighted topics) gives the same model from the
    plain reader as from the round-trip loader."""
    path = ROOT / "newsletter" / "sample" / "subscribers.example.yaml"
    text = path.read_text(encoding="utf-8")
    fast = _parse_plain(text)
    assert fast is not None
    assert fast == _validate(yaml_from_text(text, path), text, path)


@pytest.mark.parametrize(
    "text",
    [
        "subscribers:\n  - email: a@x.org\n    enabled: &off false\n",  # an anchor
        "subscribers:\n  - email: a@x.org\n  - email: A@x.org\n",  # a duplicate address
        "subscribers:\n  - email: a@x.org\n    max_papers: 0\n",  # invalid
    ],
)
def test_files_the_plain_reader_declines_go_to_the_round_trip_loader(text: str) -> None:
    """Anything unusual or wrong is read (and explained) by the round-trip loader alone."""
    assert _parse_plain(text) is None


def test_a_model_read_plain_is_the_model(tmp_path: Path) -> None:
    """The plain reader's model is a `SubscribersFile` with every entry."""
    text = "subscribers:\n" + "".join(
        f"  - email: u{i}@x.org\n    topics: [t{i}, {{phrase: w{i}, weight: 2}}]\n"
        for i in range(50)
    )
    model = _parse_plain(text)
    assert isinstance(model, SubscribersFile)
    assert [e.email for e in model.subscribers] == [f"u{i}@x.org" for i in range(50)]
