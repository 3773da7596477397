"""The daily job against a local HTTP server serving recorded Hugging Face and arXiv data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter.cli import main
from newsletter.store import Store
from tests.fixture_server import FixtureServer, status
from tests.smtp_server import SmtpServer


@pytest.fixture
def upstream(monkeypatch: pytest.MonkeyPatch) -> Iterator[FixtureServer]:
    """The fixture server, with both sources' base URLs pointing at it."""
    with FixtureServer() as server:
        for name in ("HF_BASE_URL", "ARXIV_BASE_URL", "ARXIV_RSS_URL"):
            monkeypatch.setenv(f"NEWSLETTER_{name}", server.url)
        yield server


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_fetch_over_http_then_send(workdir: Path, upstream: FixtureServer, smtp: SmtpServer,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A day fetched from the HF API over HTTP is ranked, sent, and not sent twice."""
    code, out, _ = _run(capsys, "fetch", "--source", "hf", "--date", "2026-08-13")
    assert code == 0 and "hf 2026-08-13: 20 new, 0 updated, 0 skipped" in out, _
    assert upstream.count("/api/daily_papers") >= 1
    code, out, _ = _run(capsys, "send", "--date", "2026-08-13")
    assert code == 0 and len(smtp.received) == 3
    code, out, _ = _run(capsys, "fetch", "--source", "hf", "--date", "2026-08-13")
    assert code == 0 and "0 new" in out
    code, out, _ = _run(capsys, "send", "--date", "2026-08-13")
    assert code == 0 and len(smtp.received) == 3


def test_failing_source_is_recorded_and_the_papers_come_later(
    workdir: Path, upstream: FixtureServer, smtp: SmtpServer,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HF down for a day: fetch exits 1 saying why and records it; the day's papers arrive in a
    later digest once the source is back (the window stretches back to the last digest sent)."""
    monkeypatch.setenv("NEWSLETTER_HTTP_ATTEMPTS", "1")  # backoff itself: test_sources_http
    upstream.fail("/api/daily_papers", status(503), forever=True)
    upstream.fail("/papers/date/2026-08-13", status(503), forever=True)
    code, out, _ = _run(capsys, "fetch", "--source", "hf", "--date", "2026-08-13")
    assert code == 1 and "hf 2026-08-13: FAILED" in out and "503" in out
    with Store.open(workdir / "newsletter.db") as store:
        assert store.fetch_outcomes(dt.date(2026, 8, 13))[0][1] == "error"
    code, out, _ = _run(capsys, "send", "--date", "2026-08-13")
    assert code == 0 and out.count(": nothing new") == 3 and smtp.received == []
    upstream_back = FixtureServer()
    with upstream_back:
        monkeypatch.setenv("NEWSLETTER_HF_BASE_URL", upstream_back.url)
        code, out, _ = _run(capsys, "fetch", "--source", "hf", "--date", "2026-08-13")
    assert code == 0 and "20 new" in out
    code, out, _ = _run(capsys, "send", "--date", "2026-08-14")
    assert code == 0, out
    with Store.open(workdir / "newsletter.db") as store:
        row = store.digest("video@lab.example", dt.date(2026, 8, 14))
        assert row is not None and row.state.value == "sent"
        late = {r.paper.id for r in store.digest_papers(row.id)}
    assert "2608.11562" in late  # listed on the 13th, fetched on the 14th


def test_arxiv_feed_over_http(workdir: Path, upstream: FixtureServer,
                              capsys: pytest.CaptureFixture[str]) -> None:
    """An arXiv subscriber's category feed is fetched once and its new papers stored."""
    (workdir / "subscribers.yaml").write_text(
        "subscribers:\n  - {email: a@lab.example, topics: [agents], sources: [arxiv], "
        "arxiv_categories: [cs.AI]}\n")
    code, out, _ = _run(capsys, "fetch", "--source", "arxiv", "--date", "2025-08-20")
    assert code == 0 and "arxiv 2025-08-20: 86 new" in out, _
    assert upstream.count("/atom/cs.AI") == 1
    code, out, err = _run(capsys, "preview", "a@lab.example", "--json", "--date", "2025-08-20")
    assert code == 0, err
    assert '"papers": [' in out and "2508." in out
