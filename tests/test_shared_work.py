"""Work a run does once and shares between subscribers gives what doing it for each would.

Card sections compiled once and spliced into later digests, quoted-printable encoded piece by
piece, ranking indexes shared by a run, decoded papers kept by the store: each is checked
against the plain way of doing it.
"""

from __future__ import annotations

import binascii
import dataclasses
import datetime as dt
import random
from email import message_from_bytes, policy
from pathlib import Path

from newsletter.config import load_settings
from newsletter.delivery import _quoted_printable, build_message
from newsletter.models import Digest, Paper, Profile, Source, Subscriber, Topic
from newsletter.planning import PaperCache, Planner, rank_for
from newsletter.render import Renderer
from newsletter.store import Store
from tests.golden_check import GOLDEN
from tests.test_render_golden import MANAGE, golden_digest

DAY = dt.date(2025, 8, 29)
NOW = dt.datetime(2025, 8, 29, 5, 30, tzinfo=dt.UTC)


def _reader(n: int, topic: str = "agents") -> Subscriber:
    return Subscriber(email=f"r{n}@lab.example", profile=Profile(topics=(Topic(topic),)))


def _variants() -> list[Digest]:
    """The golden digest for other readers, with other (hostile) reasons, in another order."""
    golden = golden_digest()
    items = golden.papers
    hostile = tuple(dataclasses.replace(item, reasons=(f'matched: <b>"{n}"</b> & \'x\'',))
                    for n, item in enumerate(items))
    return [dataclasses.replace(golden, subscriber=_reader(1), papers=hostile),
            dataclasses.replace(golden, subscriber=_reader(2), papers=items[::-1]),
            dataclasses.replace(golden, subscriber=_reader(3), papers=items[1:3])]


def test_spliced_card_sections_give_the_html_of_a_whole_compile() -> None:
    """After the self-test, digests reuse compiled cards: byte for byte the same emails."""
    spliced, whole = Renderer(), Renderer()
    spliced.self_test()
    assert spliced._sections.enabled and not whole._sections.enabled
    for _ in range(2):  # cold, then every card remembered
        assert spliced.render(golden_digest(), MANAGE).html == (GOLDEN / "digest.html").read_text()
        for digest in _variants():
            assert spliced.render(digest, MANAGE) == whole.render(digest, MANAGE)
    budget = Renderer(budget=15_000)
    budget.self_test()
    assert budget.render(golden_digest(), MANAGE) == Renderer(budget=15_000).render(
        golden_digest(), MANAGE)


def test_thumbnails_and_card_overrides_stay_correct(tmp_path: Path) -> None:
    """With thumbnails every digest is compiled whole; an overridden card is kept per reader."""
    thumbnails = Renderer(thumbnails=True)
    thumbnails.self_test()
    assert not thumbnails._sections.enabled
    (tmp_path / "_card.mjml").write_text(
        '<mj-section><mj-column><mj-text><p>{{ card.title }}: {{ card.reasons }} '
        '{{ card.item.score }}</p></mj-text></mj-column></mj-section>\n')
    custom = Renderer(tmp_path)
    custom.self_test()
    assert custom._sections.enabled
    for digest in _variants() * 2:
        html = custom.render(digest, MANAGE).html
        assert html == Renderer(tmp_path).render(digest, MANAGE).html
        assert str(digest.papers[0].score) in html


def test_quoted_printable_in_pieces_decodes_to_the_whole() -> None:
    """Pieces joined by soft line breaks decode to their concatenation, lines within 76."""
    rng = random.Random(5)
    for _ in range(500):
        pieces = ["".join(rng.choice("ab =\t\u00e9\u4e2d<>\n") for _ in range(rng.randint(0, 300)))
                  for _ in range(rng.randint(1, 5))]
        encoded = _quoted_printable(pieces)
        assert all(len(line) <= 76 for line in encoded.split(b"\r\n"))
        assert binascii.a2b_qp(encoded).replace(b"\r\n", b"\n") == "".join(pieces).encode()


def test_message_from_spliced_html_parses_back_to_it() -> None:
    """The message built from a spliced digest carries exactly its HTML and text."""
    renderer = Renderer()
    renderer.self_test()
    settings = load_settings(smtp_host=None)
    for digest in _variants():
        rendered = renderer.render(digest, MANAGE)
        assert len(rendered.html_parts) > 1
        raw = bytes(build_message(rendered, digest.subscriber, settings, "<m@lab.example>", NOW))
        parsed = message_from_bytes(raw, policy=policy.default)
        html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert html.replace("\r\n", "\n") == rendered.html


def _paper(pid: str, title: str) -> Paper:
    return Paper(id=pid, title=title, abstract=f"{title}, with a longer abstract about it.",
                 listed_on=DAY, sources=frozenset({Source.HF}))


def test_shared_ranking_index_ranks_as_one_built_per_reader(tmp_path: Path) -> None:
    """One `PaperCache` for many readers ranks each as a fresh index would, and drops its
    indexes when papers are stored, so a paper stored mid-run is a candidate at once."""
    with Store.open(tmp_path / "n.db") as store:
        store.upsert_papers([_paper("2508.00001", "Agents that plan"),
                             _paper("2508.00002", "Video diffusion")], Source.HF, NOW)
        cache = PaperCache()
        planner = Planner(store, None, DAY, cache)
        readers = [_reader(1, "agents"), _reader(2, "video diffusion"), _reader(3, "agents")]
        for reader in readers:
            assert planner.rank(reader, DAY) == rank_for(store, reader, DAY, DAY)
        store.upsert_papers([_paper("2508.00003", "Agents for video")], Source.HF, NOW)
        picked = {r.paper.id for r in Planner(store, None, DAY, cache).rank(readers[0], DAY).picked}
        assert "2508.00003" in picked
        assert store.papers_by_id(["2508.00001"])[0] is store.papers_by_id(["2508.00001"])[0]
