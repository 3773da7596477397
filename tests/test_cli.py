"""The daily job end to end through the command line: fetch → send → remember."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import pytest

from newsletter.cli import main
from newsletter.store import Store
from tests.conftest import HF_DAYS, REPO
from tests.smtp_server import SmtpServer

DAY1, DAY2 = "2026-08-13", "2026-08-19"
SHARED_PAPER = "2608.12313"  # listed on both days


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _texts(paper: dict[str, object]) -> str:
    return json.dumps(paper).lower()


def _fetch(capsys: pytest.CaptureFixture[str], day: str) -> str:
    code, out, _ = _run(capsys, "fetch", "--file", str(HF_DAYS / f"{day}.json"))
    assert code == 0
    return out


def test_fetch_imports_every_file_given(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--file` takes several files, as a shell glob gives them (`--file days/*.json`), and
    plain arguments are files too."""
    first, second, third = (str(HF_DAYS / f"2025-08-{day}.json") for day in (25, 26, 27))
    code, out, _ = _run(capsys, "fetch", "--file", first, second)
    assert code == 0 and "2025-08-25" in out and "2025-08-26" in out
    code, out, _ = _run(capsys, "fetch", third)
    assert code == 0 and "2025-08-27" in out and "new" in out


def test_daily_job_end_to_end(workdir: Path, smtp: SmtpServer,
                              capsys: pytest.CaptureFixture[str]) -> None:
    """One well-formed digest each; a rerun sends nothing; day two sends only unseen papers."""
    assert "20 new, 0 updated, 0 skipped" in _fetch(capsys, DAY1)
    code, out, _ = _run(capsys, "send", "--date", DAY1)
    assert code == 0, out
    first = {r.rcpt_tos[0]: r.message for r in smtp.received}
    assert sorted(first) == ["agents@lab.example", "video@lab.example", "vision@lab.example"]
    for address, message in first.items():
        assert message.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
        assert message["To"].addresses[0].addr_spec == address
        assert f"sent {message['Subject'].split()[0]} paper" in out
    with Store.open(workdir / "newsletter.db") as store:
        video_seen = store.seen_ids("video@lab.example")
    assert SHARED_PAPER in video_seen

    code, out, _ = _run(capsys, "send", "--date", DAY1)
    assert code == 0 and len(smtp.received) == 3
    assert out.count("already sent") == 3 and "nothing new since the last digest" in out

    _fetch(capsys, DAY2)
    code, out, _ = _run(capsys, "send", "--date", DAY2)
    assert code == 0
    second = smtp.received[3:]
    assert second, out
    for received in second:
        with Store.open(workdir / "newsletter.db") as store:
            row = store.digest(received.rcpt_tos[0], dt.date(2026, 8, 19))
            assert row is not None
            ids = {r.paper.id for r in store.digest_papers(row.id)}
        assert not ids & set(store_seen_before(workdir, received.rcpt_tos[0], row.id))
    assert SHARED_PAPER not in second_ids(workdir, "video@lab.example")


def store_seen_before(workdir: Path, subscriber: str, digest_id: int) -> set[str]:
    """Papers of this subscriber's earlier digests."""
    with Store.open(workdir / "newsletter.db") as store:
        return {row.paper.id for d in store.history(subscriber) if d.id != digest_id
                for row in store.digest_papers(d.id)}


def second_ids(workdir: Path, subscriber: str) -> set[str]:
    """Papers of this subscriber's digest of the second day."""
    with Store.open(workdir / "newsletter.db") as store:
        row = store.digest(subscriber, dt.date(2026, 8, 19))
        return set() if row is None else {r.paper.id for r in store.digest_papers(row.id)}


def test_digest_papers_match_topics(workdir: Path, smtp: SmtpServer,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Every paper in a preview has a reason, and a topic word occurs in it."""
    _fetch(capsys, DAY1)
    code, out, _ = _run(capsys, "preview", "video@lab.example", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["subscriber"] == "video@lab.example"
    assert data["papers"] and all(p["reasons"] for p in data["papers"])
    topic_words = {"video", "diffusion", "editing", "representation"}
    assert all(any(word in _texts(p) for word in topic_words) for p in data["papers"])
    assert "video" in _texts(data["papers"][0])
    assert set(data["papers"][0]) == {"id", "title", "score", "reasons"}


def test_preview_explain_as_text_lists_the_papers_left_out(
    workdir: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """`--explain` without `--json` adds, after the digest (or alone, with `--out`), each paper
    left out and why, the ones `--json --explain` lists."""
    _fetch(capsys, DAY1)
    _, out, _ = _run(capsys, "preview", "agents@lab.example", "--json", "--explain")
    excluded = json.loads(out)["excluded"]
    code, out, _ = _run(capsys, "preview", "agents@lab.example", "--explain")
    digest, _, left_out = out.partition("\nLeft out:\n")
    assert code == 0 and digest.startswith("Subject: ") and excluded
    lines = left_out.splitlines()
    assert len(lines) == len(excluded)
    for line, paper in zip(lines, excluded, strict=True):
        assert line.startswith(f"  {paper['id']}  {paper['title'][:20]}")
        assert line.endswith(f"  {paper['reason']}")
    code, out, _ = _run(capsys, "preview", "agents@lab.example", "--explain",
                        "--out", str(workdir / "p"))
    assert code == 0 and out == f"Left out:\n{left_out}"


def test_preview_leaves_database_byte_identical(workdir: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """`preview --json` and `--out` write nothing to the database file."""
    _fetch(capsys, DAY1)
    db = workdir / "newsletter.db"
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    code, out, _ = _run(capsys, "preview", "agents@lab.example", "--json")
    assert code == 0 and json.loads(out)["subject"]
    code, _, _ = _run(capsys, "preview", "agents@lab.example", "--out", str(workdir / "p"))
    assert code == 0
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in (workdir / "p").iterdir()) == [
        "digest.eml", "digest.html", "digest.txt"]
    assert (workdir / "p" / "digest.html").read_text().startswith("<!doctype html>")


PREVIEWED = ("subscribers:\n"
             "  - {email: lena@lab.example, topics: [video], frequency: weekly, day: friday}\n"
             "  - {email: tom@lab.example, topics: [video], enabled: false}\n"
             "  - {email: maya@lab.example, topics: [video]}\n"
             "  - {email: nora@lab.example, topics: [video], on_empty: note}\n")


@pytest.mark.parametrize(("email", "day", "why_not"), [
    ("lena@lab.example", DAY2, "not due (weekly digest, delivered on Fridays, not Thursdays)"),
    ("tom@lab.example", DAY1, "disabled (enabled: false)"),
    ("maya@lab.example", "2026-08-15",
     "nothing new (no papers stored for 2026-08-15; run `newsletter fetch --date 2026-08-15`)"),
])
def test_preview_says_when_send_would_not_send_it(
    workdir: Path, capsys: pytest.CaptureFixture[str], email: str, day: str, why_not: str,
) -> None:
    """preview still renders, but first says on standard error why `send` would not send it,
    in the words of `send --dry-run`; `--json` says it too."""
    (workdir / "subscribers.yaml").write_text(PREVIEWED)
    _fetch(capsys, DAY1)
    _fetch(capsys, DAY2)
    code, out, err = _run(capsys, "preview", email, "--date", day)
    assert code == 0 and out.startswith("Subject: ")
    assert err == f"note: `newsletter send --date {day}` would not send this: {why_not}\n"
    code, out, _ = _run(capsys, "preview", email, "--date", day, "--json")
    data = json.loads(out)
    assert code == 0 and (data["would_send"], data["why_not"]) == (False, why_not)
    code, out, _ = _run(capsys, "send", "--dry-run", "--date", day, "--only", email)
    assert code == 0 and f"  {email}: {why_not}\n" in out


def test_preview_says_nothing_when_send_would_send_it(
    workdir: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A digest send would send gets no note; once sent, preview says it was; a note about
    days never fetched is shown as send would send it, with the command to fetch them."""
    (workdir / "subscribers.yaml").write_text(PREVIEWED)
    _fetch(capsys, DAY1)
    for email in ("lena@lab.example", "maya@lab.example"):
        code, out, err = _run(capsys, "preview", email, "--date", DAY1, "--json")
        data = json.loads(out)
        assert (code, err, data["would_send"], data["why_not"]) == (0, "", True, None)
        assert data["papers"]
    assert _run(capsys, "send", "--date", DAY1, "--only", "maya@lab.example")[0] == 0
    _, _, err = _run(capsys, "preview", "maya@lab.example", "--date", DAY1)
    assert err.startswith(f"note: `newsletter send --date {DAY1}` would not send this: "
                          "already sent (sent ")
    code, out, err = _run(capsys, "preview", "nora@lab.example", "--date", "2026-08-15")
    assert code == 0 and out.startswith("Subject: No new papers for you, Sat 15 Aug 2026\n")
    assert "  - no papers were collected for 15 Aug\n" in out
    assert err == ("note: `newsletter send --date 2026-08-15` would send this note; no papers "
                   "stored for 2026-08-15; run `newsletter fetch --date 2026-08-15` first\n")


def test_dry_run_sends_and_marks_nothing(workdir: Path, smtp: SmtpServer,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """`send --dry-run` reports what it would send and leaves no trace."""
    _fetch(capsys, DAY1)
    code, out, _ = _run(capsys, "send", "--dry-run")
    assert code == 0 and out.count("would send") == 3
    assert smtp.received == []
    with Store.open(workdir / "newsletter.db") as store:
        assert store.history() == []


@pytest.mark.parametrize(("text", "expected"), [
    ("subscribers:\n  - email: a@b.org\n    topics: [x\n", ":4:1: YAML syntax"),
    ("subscribers:\n  - email: a@b.org\n    topcs: [x]\n", ":3:5: unknown key `topcs`"),
    ("subscribers:\n  - email: nobody\n", ":2:12: `email`: 'nobody' is not a valid email"),
])
def test_broken_subscribers_file_stops_before_anything(
    workdir: Path, smtp: SmtpServer, capsys: pytest.CaptureFixture[str], text: str,
    expected: str,
) -> None:
    """A broken file gives exit 2 with file:line, fetches nothing and sends nothing."""
    (workdir / "subscribers.yaml").write_text(text)
    for argv in (["fetch", "--file", str(HF_DAYS / f"{DAY1}.json")], ["send"]):
        code, _, err = _run(capsys, *argv)
        assert code == 2
        assert f"error: {workdir / 'subscribers.yaml'}{expected}" in err
    assert not (workdir / "newsletter.db").exists()
    assert smtp.received == []


def test_no_smtp_host_writes_to_outbox_and_says_where(workdir: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Without NEWSLETTER_SMTP_HOST the digests go to the Maildir outbox, one file each."""
    _fetch(capsys, DAY1)
    code, out, _ = _run(capsys, "send")
    assert code == 0
    files = sorted((workdir / "outbox" / "new").iterdir())
    assert len(files) == 3
    for path in files:
        assert str(path.relative_to(workdir)) in out


def test_demo_runs_offline_and_second_run_sends_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """The quick-start demo sends a digest to every example subscriber, then nothing new."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEWSLETTER_SMTP_HOST", raising=False)
    code, out, _ = _run(capsys, "demo")
    assert code == 0, out
    assert out.count(": sent ") == 3
    assert "edsger@example.org: not due (weekly digest, delivered on Mondays, not " in out
    assert len(list((tmp_path / "newsletter-demo" / "outbox" / "new").iterdir())) == 3
    code, out, _ = _run(capsys, "demo")
    assert code == 0 and out.count("nothing new since the last digest") == 3


def test_unknown_subscriber_in_preview(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Previewing an address not in the file is a usage error naming the file."""
    _fetch(capsys, DAY1)
    code, _, err = _run(capsys, "preview", "nobody@lab.example")
    assert code == 2
    assert err == (f"error: {workdir / 'subscribers.yaml'}: no subscriber nobody@lab.example; "
                   "`newsletter subscribers list` shows who is there\n")


@pytest.mark.parametrize("argv", [["preview", "agnets@lab.example"],
                                  ["send", "--only", "agnets@lab.example"]])
def test_unknown_address_suggests_a_close_one(workdir: Path, smtp: SmtpServer,
                                              capsys: pytest.CaptureFixture[str],
                                              argv: list[str]) -> None:
    """preview and send --only name the near miss as `subscribers show` does; nothing is sent."""
    _fetch(capsys, DAY1)
    code, out, err = _run(capsys, *argv)
    assert (code, out) == (2, "")
    assert err == (f"error: {workdir / 'subscribers.yaml'}: no subscriber agnets@lab.example; "
                   "did you mean agents@lab.example?\n")
    assert smtp.received == []


def test_example_and_sample_files_are_shipped() -> None:
    """The example file at the top is the one bundled in the package."""
    assert (REPO / "subscribers.example.yaml").resolve() == (
        REPO / "newsletter" / "sample" / "subscribers.example.yaml")


def test_history_explains_each_digest(workdir: Path, smtp: SmtpServer,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """`history EMAIL` shows the state, the attempts with the relay's reply, and the papers."""
    from tests.smtp_server import Fault

    _fetch(capsys, DAY1)
    smtp.fail(2, Fault("RCPT", "451 4.3.0 try later"))
    code, out, _ = _run(capsys, "send", "--date", DAY1)
    assert code == 0 and "video@lab.example: retry" in out
    code, out, _ = _run(capsys, "history", "video@lab.example")
    assert code == 0
    assert "retry" in out and "451 4.3.0 try later" in out and "next attempt" in out
    assert "attempt 1 at" in out and SHARED_PAPER in out
    code, out, _ = _run(capsys, "history")
    assert code == 0 and out.count("2026-08-13") >= 3


def test_history_details_the_digests_that_did_not_go_out(
    workdir: Path, smtp: SmtpServer, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Beyond the latest few, `history EMAIL` details the digests that did not go out (the
    one a reader asks about), each with what the fetch of its day recorded."""
    from newsletter import cli_history
    from tests.smtp_server import Fault

    monkeypatch.setattr(cli_history, "LATEST", 0)  # as if both were older than the latest few
    _fetch(capsys, DAY1)
    smtp.fail(2, Fault("RCPT", "451 4.3.0 try later"))
    assert _run(capsys, "send", "--date", DAY1)[0] == 0
    _fetch(capsys, DAY2)
    assert _run(capsys, "send", "--date", DAY2)[0] == 0
    code, out, _ = _run(capsys, "history", "video@lab.example")
    assert code == 0
    assert re.search(rf"^{DAY1}: (expired|retry), Message-ID", out, re.M), out
    assert not re.search(rf"^{DAY2}: ", out, re.M), out
    assert f"  fetch hf for {DAY1}: ok" in out


def test_preview_open_hands_the_html_to_a_browser(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`preview --open` writes the rendered HTML to a file and opens it in the browser."""
    import webbrowser

    opened: list[str] = []

    def open_url(url: str) -> bool:
        opened.append(url)
        return True

    monkeypatch.setattr(webbrowser, "open", open_url)
    _fetch(capsys, DAY1)
    code, _, err = _run(capsys, "preview", "agents@lab.example", "--open")
    assert code == 0 and len(opened) == 1
    path = Path(opened[0].removeprefix("file://"))
    assert path.read_text().startswith("<!doctype html>") and f"opened {path}" in err
