"""Importing recorded files: every fixture, format detection, listing days, and merging sources."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from newsletter.errors import InputError
from newsletter.models import Source
from newsletter.sources import load_file, merge
from tests.fixture_server import FIXTURES, iter_fixture_files

pytest_plugins = ["tests.conftest_sources"]

CopyFixture = Callable[..., Path]

# relative path → (papers, skipped, listing day) or the error a file must fail with
EXPECTED: dict[str, tuple[int, int, str | None] | str] = {
    "arxiv/api/id_0000.0000_s0_m100_8b51d9633a68.json": (0, 0, None),
    "arxiv/api/id_0808.05394_1707.08567_s0_m100_42e5aa0ec3af.json": (1, 0, "2017-07-27"),
    "arxiv/api/id_0808.05394_s0_m100_7b0c7d0a7cdd.json": (0, 0, None),
    "arxiv/api/id_1605.08386_s0_m100_199195aa31ad.json": (1, 0, "2016-05-26"),
    "arxiv/api/id_1707.08567_s0_m100_6a1afebfc6a3.json": (1, 0, "2017-07-27"),
    "arxiv/api/id_2104.12255v1_s0_m100_6ae69987ffe1.json": (1, 0, "2021-04-20"),
    "arxiv/api/id_abc_s0_m100_b79c8dcf6bc3.json": "arXiv API error: incorrect id format for abc",
    "arxiv/api/id_astro-ph_0601001_s0_m100_3150dca9dc76.json": (1, 0, "2006-01-02"),
    "arxiv/api/id_quant-ph_0201082v1_s0_m100_86989fe779ef.json": (1, 0, "2002-01-18"),
    "arxiv/api/legacy2016_id_list=1111.2011v2.xml": (1, 0, "2011-11-08"),
    "arxiv/api/legacy2016_search_query=au_del_maestro+AND+ti_checkerboard.xml": (
        1,
        0,
        "2006-03-02",
    ),
    "arxiv/api/legacy2016_search_query=au_del_maestro.xml": (10, 0, None),
    "arxiv/api/q_testing_s0_m100_cfe7536492ca.json": (100, 0, None),
    "arxiv/api/q_testing_s0_m10_bc5a6c384fe9.json": (10, 0, None),
    "arxiv/api/q_testing_s0_m15_80c242b59d59.json": (15, 0, None),
    "arxiv/api/q_testing_s10_m10_34e56e15aaac.json": (10, 0, None),
    "arxiv/api/q_testing_s20_m10_348a237fecab.json": (10, 0, None),
    "arxiv/api/q_testing_s30_m10_f2e39f0143dc.json": (10, 0, None),
    "arxiv/api/q_testing_s40_m10_96dd32eb854c.json": (10, 0, None),
    "arxiv/api/q_testing_s50_m10_7f488ab8598c.json": (10, 0, None),
    "arxiv/api/q_testing_s5_m10_c0e94a259d4a.json": (10, 0, None),
    "arxiv/api/q_testing_s5_m15_bbcf6b23085b.json": (15, 0, None),
    "arxiv/api/q_testing_s9_m15_0b78d4b4d476.json": (15, 0, None),
    "arxiv/api/query_cat_cs.CL_max2.xml": (2, 0, "2026-05-10"),
    "arxiv/rss/atom_cs.AI_2025-08-20.xml": (86, 0, "2025-08-20"),
    "arxiv/rss/atom_cs.AI_2025-08-20_truncated.xml": "not a well-formed Atom feed",
    "hf/daily_papers/2024-05-27.json": (13, 0, "2024-05-27"),
    "hf/daily_papers/2025-03-11.json": (26, 0, "2025-03-11"),
    "hf/daily_papers/2025-08-01.json": (14, 0, "2025-08-01"),
    "hf/daily_papers/2025-08-04.json": (9, 0, "2025-08-04"),
    "hf/daily_papers/2025-08-05.json": (13, 0, "2025-08-05"),
    "hf/daily_papers/2025-08-06.json": (11, 0, "2025-08-06"),
    "hf/daily_papers/2025-08-07.json": (21, 0, "2025-08-07"),
    "hf/daily_papers/2025-08-08.json": (18, 0, "2025-08-08"),
    "hf/daily_papers/2025-08-11.json": (9, 0, "2025-08-11"),
    "hf/daily_papers/2025-08-12.json": (19, 0, "2025-08-12"),
    "hf/daily_papers/2025-08-13.json": (17, 0, "2025-08-13"),
    "hf/daily_papers/2025-08-14.json": (12, 0, "2025-08-14"),
    "hf/daily_papers/2025-08-15.json": (8, 0, "2025-08-15"),
    "hf/daily_papers/2025-08-18.json": (7, 0, "2025-08-18"),
    "hf/daily_papers/2025-08-19.json": (12, 0, "2025-08-19"),
    "hf/daily_papers/2025-08-20.json": (14, 0, "2025-08-20"),
    "hf/daily_papers/2025-08-21.json": (12, 0, "2025-08-21"),
    "hf/daily_papers/2025-08-22.json": (12, 0, "2025-08-22"),
    "hf/daily_papers/2025-08-25.json": (13, 0, "2025-08-25"),
    "hf/daily_papers/2025-08-26.json": (13, 0, "2025-08-26"),
    "hf/daily_papers/2025-08-27.json": (21, 0, "2025-08-27"),
    "hf/daily_papers/2025-08-28.json": (11, 0, "2025-08-28"),
    "hf/daily_papers/2025-08-29.json": (16, 0, "2025-08-29"),
    "hf/daily_papers/2025-10-03.json": (39, 0, "2025-10-03"),
    "hf/daily_papers/2026-08-13.json": (20, 0, "2026-08-13"),
    "hf/daily_papers/2026-08-19.json": (26, 0, "2026-08-19"),
    "hf/daily_papers/2026-08-21.json": (17, 0, "2026-08-21"),
    "hf/daily_papers_2026-05_trimmed3.json": (3, 0, "2026-05-08"),
    "hf/pages/listing_papers.html": (28, 0, "2026-09-28"),
    "hf/pages/paper_2509.24002.prettified.html": (1, 0, "2025-10-01"),
}


def test_table_covers_every_fixture() -> None:
    """Every recorded file has an expected outcome here, so none is left untested."""
    found = [str(path.relative_to(FIXTURES)) for path in iter_fixture_files()]
    assert sorted(found) == sorted(EXPECTED)


@pytest.mark.parametrize(("relative", "expected"), sorted(EXPECTED.items()))
def test_every_fixture_imports(relative: str, expected: tuple[int, int, str | None] | str) -> None:
    """Each file imports with its counts and listing day, or fails with a message naming it."""
    path = FIXTURES / relative
    if isinstance(expected, str):
        with pytest.raises(InputError) as failure:
            load_file(path)
        assert str(failure.value).startswith(f"{path}: ") and expected in str(failure.value)
        return
    batch = load_file(path)
    day = batch.listed_on.isoformat() if batch.listed_on else None
    assert (len(batch.papers), len(batch.skipped), day) == expected
    assert batch.source is (Source.ARXIV if relative.startswith("arxiv") else Source.HF)
    assert batch.empty_day is (not batch.papers)


def test_listing_day_from_argument_then_name_then_data(copy_fixture: CopyFixture) -> None:
    """The argument wins over the file name, which wins over `submittedOnDailyAt`."""
    named = copy_fixture("hf/daily_papers/2025-08-20.json", "2025-08-21.json")
    unnamed = copy_fixture("hf/daily_papers/2025-08-20.json", "papers.json")
    assert load_file(named, dt.date(2025, 8, 22)).listed_on == dt.date(2025, 8, 22)
    assert load_file(named).listed_on == dt.date(2025, 8, 21)
    assert load_file(unnamed).listed_on == dt.date(2025, 8, 20)


def test_no_listing_day_at_all(copy_fixture: CopyFixture) -> None:
    """Items without `submittedOnDailyAt` in a file without a dated name cannot be placed."""
    path = copy_fixture("hf/daily_papers/2025-03-11.json", "march.json")
    with pytest.raises(InputError, match=r"march\.json: none of the 26 items .* no listing day"):
        load_file(path)
    assert len(load_file(path, dt.date(2025, 3, 11)).papers) == 26


def test_feed_day_can_be_overridden() -> None:
    """A listing day given for a feed replaces the feed's own date."""
    batch = load_file(FIXTURES / "arxiv/rss/atom_cs.AI_2025-08-20.xml", dt.date(2025, 8, 21))
    assert {paper.listed_on for paper in batch.papers} == {dt.date(2025, 8, 21)}


def test_unknown_format(tmp_path: Path) -> None:
    """A file of no known format names itself and what was expected."""
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(InputError, match=r"notes\.txt: unknown format; expected Hugging Face"):
        load_file(path)


def test_json_object_of_unknown_shape(tmp_path: Path) -> None:
    """A JSON object that is not a recording is an unknown format too."""
    path = tmp_path / "2025-08-20.json"
    path.write_text('{"papers": []}')
    with pytest.raises(InputError, match="unknown format"):
        load_file(path)


def test_unreadable_file(tmp_path: Path) -> None:
    """A missing file or a directory is an input error naming it."""
    with pytest.raises(InputError, match=r"missing\.json: cannot read it"):
        load_file(tmp_path / "missing.json")
    with pytest.raises(InputError, match="cannot read it"):
        load_file(tmp_path)


def test_truncated_json(copy_fixture: CopyFixture) -> None:
    """A JSON file cut short is refused as a whole, never read in part."""
    path = copy_fixture("hf/daily_papers/2025-08-20.json")
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(InputError, match=r"2025-08-20\.json: not valid JSON"):
        load_file(path)


def test_empty_hf_day(tmp_path: Path) -> None:
    """A saved `[]` is an empty day."""
    path = tmp_path / "2025-08-23.json"
    path.write_text("[]")
    batch = load_file(path)
    assert (batch.listed_on, batch.papers, batch.empty_day) == (dt.date(2025, 8, 23), (), True)


def test_hf_recording_with_error_status(tmp_path: Path) -> None:
    """A recorded non-200 answer is not data, whatever its body."""
    path = tmp_path / "hf.json"
    path.write_text(
        json.dumps(
            {"url": "https://huggingface.co/api/daily_papers", "status_code": 500, "body": "[]"}
        )
    )
    with pytest.raises(InputError, match="recorded answer is HTTP 500"):
        load_file(path)


# --- merge -----------------------------------------------------------------------------------

RSS = FIXTURES / "arxiv/rss/atom_cs.AI_2025-08-20.xml"


def test_paper_in_both_sources_is_stored_once() -> None:
    """2508.13167 is in the cs.AI feed and HF's 2025-08-20 list: one paper with both's data."""
    arxiv_day, hf_day = load_file(RSS), load_file(FIXTURES / "hf/daily_papers/2025-08-20.json")
    merged = merge([hf_day, arxiv_day])
    assert len(merged) == len(hf_day.papers) + len(arxiv_day.papers) - 1
    paper = next(p for p in merged if p.id == "2508.13167")
    assert paper.sources == {Source.HF, Source.ARXIV}
    assert paper.categories == ("cs.AI", "cs.CL")
    assert paper.upvotes == 37 and paper.ai_summary
    assert paper.listed_on == dt.date(2025, 8, 20)
    assert [p.id for p in merged][: len(hf_day.papers)] == [p.id for p in hf_day.papers]


def test_arxiv_entry_put_in_an_hf_item_merges(copy_fixture: CopyFixture) -> None:
    """An HF item given a feed entry's id, as v2, merges with the feed's v1 into one paper."""
    path = copy_fixture("hf/daily_papers/2025-08-20.json")
    items = json.loads(path.read_bytes())
    items[1]["paper"]["id"] = "2508.13171v2"
    path.write_text(json.dumps(items))
    merged = merge([load_file(RSS), load_file(path)])
    (paper,) = [p for p in merged if p.id == "2508.13171"]
    assert paper.sources == {Source.HF, Source.ARXIV}
    assert paper.title.startswith("Cognitive Workspace")  # arXiv's title wins
    assert paper.upvotes == items[1]["paper"]["upvotes"]
    assert paper.github_repo == items[1]["paper"].get("githubRepo")


def test_merge_of_one_source_changes_nothing() -> None:
    """Papers seen once come out as they went in."""
    batch = load_file(RSS)
    assert merge([batch]) == list(batch.papers)
