"""`newsletter serve` as a real process: it fetches, sends at send time, stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from newsletter.models import DigestState
from newsletter.store import Store
from tests.conftest import HF_DAYS, REPO
from tests.smtp_server import SmtpServer

CLOCK_START = "2026-08-14T05:29:55+00:00"  # five seconds before 07:30 in Berlin
DEADLINE = 15.0


class _DailyPapers(BaseHTTPRequestHandler):
    """Answers `/api/daily_papers?date=D` with the recorded day, or `[]` for a day not recorded."""

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        recorded = HF_DAYS / f"{query.get('date', ['?'])[0]}.json"
        body = recorded.read_bytes() if recorded.is_file() else b"[]"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def hugging_face(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A local stand-in for huggingface.co, with NEWSLETTER_HF_BASE_URL pointing at it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _DailyPapers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("NEWSLETTER_HF_BASE_URL", url)
    yield url
    server.shutdown()
    server.server_close()


def _wait_for(condition: object, process: subprocess.Popen[str]) -> None:
    """Poll until `condition()` holds, failing if the process exits or the deadline passes."""
    deadline = time.monotonic() + DEADLINE
    while not condition():  # type: ignore[operator]
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_serve_sends_once_at_send_time_and_stops_cleanly_on_sigterm(
    workdir: Path, smtp: SmtpServer, hugging_face: str
) -> None:
    """Clock set 5 s before 07:30 Berlin: one digest arrives; SIGTERM then exits with code 0."""
    (workdir / "subscribers.yaml").write_text(
        'defaults: {timezone: Europe/Berlin, send_at: "07:30"}\n'
        "subscribers:\n  - {email: agents@lab.example, topics: [LLM agents]}\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-m", "newsletter.cli", "serve", "--clock-start", CLOCK_START]
    process = subprocess.Popen(argv, cwd=workdir, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: smtp.received, process)
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=DEADLINE)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, log
    assert [r.rcpt_tos for r in smtp.received] == [["agents@lab.example"]]
    assert "event=digest status=sent subscriber=agents@lab.example day=2026-08-13" in log
    assert "event=fetch source=hf day=2026-08-13 status=ok new=20" in log
    assert "event=stopping signal=SIGTERM" in log and "event=stopped" in log
    with Store.open(workdir / "newsletter.db") as store:
        [row] = [r for r in store.history() if r.state is DigestState.SENT]
    assert row.sent_at is not None and row.sent_at.isoformat() >= "2026-08-14T05:30:00"
