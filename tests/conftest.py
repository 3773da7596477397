"""Shared fixtures: an isolated working folder with its settings, the recorded data, SMTP."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.smtp_server import SmtpServer

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
HF_DAYS = FIXTURES / "hf" / "daily_papers"
REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh folder as the working directory, with every NEWSLETTER_ setting pointing into it."""
    for name in list(os.environ):
        if name.startswith("NEWSLETTER_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSLETTER_DB", str(tmp_path / "newsletter.db"))
    monkeypatch.setenv("NEWSLETTER_SUBSCRIBERS", str(tmp_path / "subscribers.yaml"))
    monkeypatch.setenv("NEWSLETTER_OUTBOX", str(tmp_path / "outbox"))
    monkeypatch.setenv("NEWSLETTER_FROM", "Paper digest <digest@lab.example>")
    shutil.copy(DATA / "subscribers.yaml", tmp_path / "subscribers.yaml")
    return tmp_path


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    """An aiosmtpd server on 127.0.0.1, with the settings pointing at it (no TLS on loopback)."""
    with SmtpServer() as server:
        monkeypatch.setenv("NEWSLETTER_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("NEWSLETTER_SMTP_PORT", str(server.port))
        monkeypatch.setenv("NEWSLETTER_SMTP_SECURITY", "none")
        monkeypatch.setenv("NEWSLETTER_SMTP_TIMEOUT", "5")
        yield server
