"""Size of the largest digest emails the fixtures can make, against Gmail's 102 KB clipping.

    .venv/bin/python bench/email_size.py

Takes the papers of August 2025 with the longest fields (title, abstract, AI summary, authors,
links) and renders digests of 10 and 20 of them, as Hugging Face lists them (AI summaries) and
as arXiv-only papers (no AI summary, so the abstract is shown: the larger case), with and without
thumbnails. Prints the HTML size, what the budget trimmed, the text and whole-message sizes and
the render time per digest.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Sequence
from pathlib import Path

from newsletter.config import Settings
from newsletter.delivery import build_message
from newsletter.models import Digest, Paper, Profile, RankedPaper, Source, Subscriber, Topic
from newsletter.render import HTML_BUDGET, Renderer
from newsletter.sources.hf import parse_daily_papers

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "hf" / "daily_papers"
MANAGE = "visit https://newsletter.example.org/manage or reply to this email."
REASONS = ("matched: multimodal large language models, video generation", "trending: 140 votes")


def load_month() -> list[Paper]:
    """Every paper of the August 2025 fixtures, through the real parser."""
    papers: list[Paper] = []
    for path in sorted(FIXTURES.glob("2025-08-*.json")):
        batch = parse_daily_papers(path.read_bytes(), dt.date.fromisoformat(path.stem))
        papers.extend(batch.papers)
    return papers


def weight(paper: Paper) -> int:
    """How many characters the paper brings to a card: the longest fields first."""
    links = (paper.github_repo, paper.project_page, paper.thumbnail, paper.organization)
    return (len(paper.title) + len(paper.abstract) + len(paper.ai_summary or "")
            + sum(map(len, paper.authors[:4])) + sum(len(v or "") for v in links))


def digest_of(papers: Sequence[Paper]) -> Digest:
    """A digest of `papers` for a subscriber with a few topics, on the last day of the month."""
    subscriber = Subscriber(email="reader@lab.example", name="A Reader", profile=Profile(
        topics=(Topic("multimodal large language models"), Topic("video generation"))))
    day = dt.date(2025, 8, 29)
    items = tuple(RankedPaper(paper, 1.0, REASONS) for paper in papers)
    return Digest(subscriber, day, day, items, "<bench@lab.example>")


def as_arxiv(paper: Paper) -> Paper:
    """The same paper as an arXiv-only listing: no AI summary, so the abstract is shown."""
    return dataclasses.replace(paper, ai_summary=None, sources=frozenset({Source.ARXIV}))


def measure(label: str, renderer: Renderer, papers: Sequence[Paper]) -> None:
    """Render one digest and print one line of sizes."""
    digest = digest_of(papers)
    start = time.perf_counter()
    rendered = renderer.render(digest, MANAGE)
    elapsed = time.perf_counter() - start
    settings = Settings(_env_file=None)
    message = build_message(rendered, digest.subscriber, settings, digest.message_id,
                            dt.datetime(2025, 8, 29, 7, 30, tzinfo=dt.UTC))
    html_kb = len(rendered.html.encode()) / 1024
    print(f"{label:<34} {len(papers):>3} {rendered.papers_shown:>5} {html_kb:>8.1f} "
          f"{rendered.abstracts_shortened:>6} {len(rendered.text.encode()) / 1024:>7.1f} "
          f"{len(bytes(message)) / 1024:>8.1f} {elapsed * 1000:>7.1f}")


def main() -> None:
    """Print the table for 10 and 20 papers in each variant."""
    papers = sorted(load_month(), key=weight, reverse=True)
    print(f"budget: {HTML_BUDGET / 1024:.1f} KB of HTML (Gmail clips above 102 KB); "
          f"{len(papers)} papers in the fixtures")
    print(f"{'digest':<34} {'n':>3} {'shown':>5} {'html KB':>8} {'short':>6} {'text KB':>7} "
          f"{'mail KB':>8} {'ms':>7}")
    plain, pictures = Renderer(), Renderer(thumbnails=True)
    for count in (10, 20):
        top = papers[:count]
        measure("HF (AI summaries)", plain, top)
        measure("HF (AI summaries), thumbnails", pictures, top)
        measure("arXiv-only (abstracts)", plain, [as_arxiv(p) for p in top])
        measure("arXiv-only (abstracts), thumbnails", pictures, [as_arxiv(p) for p in top])


if __name__ == "__main__":
    main()
