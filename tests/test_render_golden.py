"""Golden renders: a fixed digest of five real papers, and a note, against committed files.

After an intended change of the templates or of `render.py`, refresh the files and review the
diff before committing it:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_render_golden.py -q -p no:cacheprovider

The input is `golden/hf_2025-08-29_five.json`: five items of the Hugging Face list of
2025-08-29, copied unchanged from the shared fixtures; the fourth is turned into an arXiv-only
paper in code so that the abstract branch is covered too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from newsletter.models import Digest, Profile, RankedPaper, Source, Subscriber, Topic
from newsletter.render import RenderedDigest, Renderer
from newsletter.sources.hf import parse_daily_papers
from tests.golden_check import GOLDEN, check_golden

DAY = dt.date(2025, 8, 29)
MANAGE = "visit https://newsletter.example.org/manage or reply to this email."
REFRESH = "UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_render_golden.py"
REASONS = (
    ("matched: text-to-image, reinforcement learning", "trending: 45 votes"),
    ("matched: agents, reasoning", "trending: 34 votes"),
    ("matched: image generation", "trending: 23 votes"),
    ("matched: instruction tuning",),
    ("matched: video generation", "by Yu-Xiong Wang"),
)


def golden_subscriber() -> Subscriber:
    """The reader of the golden digest: a name, three topics."""
    topics = (Topic("image generation"), Topic("agents"), Topic("instruction tuning"))
    return Subscriber(email="reader@lab.example", name="Ada Reader",
                      profile=Profile(topics=topics))


def golden_digest() -> Digest:
    """Five papers of 2025-08-29 in a fixed order, the fourth as an arXiv-only paper."""
    data = (GOLDEN / "hf_2025-08-29_five.json").read_bytes()
    papers = list(parse_daily_papers(data, DAY).papers)
    papers[3] = dataclasses.replace(papers[3], ai_summary=None, sources=frozenset({Source.ARXIV}))
    items = tuple(RankedPaper(paper, 1.0 - i / 10, reasons)
                  for i, (paper, reasons) in enumerate(zip(papers, REASONS, strict=True)))
    return Digest(golden_subscriber(), DAY, DAY, items, "<golden@lab.example>")


def _check(name: str, actual: str) -> None:
    """Compare with the golden file, or rewrite it when UPDATE_GOLDEN=1."""
    check_golden(name, actual, REFRESH)


@pytest.fixture(scope="module")
def digest() -> RenderedDigest:
    """The golden digest, rendered once for the module."""
    return Renderer().render(golden_digest(), MANAGE)


def test_digest_html_matches_golden(digest: RenderedDigest) -> None:
    """The compiled HTML of the fixed digest is exactly the committed one."""
    _check("digest.html", digest.html)


def test_digest_text_matches_golden(digest: RenderedDigest) -> None:
    """The plain-text twin of the fixed digest is exactly the committed one."""
    _check("digest.txt", digest.text)


def test_digest_headers_match_golden(digest: RenderedDigest) -> None:
    """Subject and preheader of the fixed digest are the committed ones."""
    _check("digest.meta.txt", f"Subject: {digest.subject}\nPreheader: {digest.preheader}\n")
    assert digest.papers_shown == 5 and not digest.trimmed


def test_note_matches_golden() -> None:
    """A no-news note renders exactly the committed HTML and text."""
    note = Renderer().render_note(
        golden_subscriber(), dt.date(2025, 8, 30),
        ["arXiv made no announcement today (a weekend)", "nothing new matched your topics"],
        MANAGE)
    _check("note.html", note.html)
    _check("note.txt", note.text)
