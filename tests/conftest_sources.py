"""Fixtures shared by the `test_sources_*` modules, which load this file with `pytest_plugins`.

No test waits in real time: `clock` is a fake monotonic clock that moves only when the code
under test sleeps, and it records every sleep asked for.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from newsletter.config import Settings
from tests.fixture_server import FIXTURES, FakeClock, FixtureServer


@pytest.fixture
def copy_fixture(tmp_path: Path) -> Callable[..., Path]:
    """Copy one recorded file into `tmp_path` (under a name of choice) before breaking it."""

    def copy(relative: str, name: str | None = None) -> Path:
        target = tmp_path / (name or Path(relative).name)
        shutil.copyfile(FIXTURES / relative, target)
        return target

    return copy


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    """The fixture server, fresh for each test (faults are per test)."""
    with FixtureServer() as running:
        yield running


@pytest.fixture
def clock() -> FakeClock:
    """A fake monotonic clock; pass `clock.sleep` as the code's sleep."""
    return FakeClock()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """An httpx client that ignores proxy settings of the machine (the server is on loopback)."""
    with httpx.Client(trust_env=False, follow_redirects=True) as session:
        yield session


@pytest.fixture
def settings(server: FixtureServer) -> Settings:
    """Settings whose three upstream URLs all point at the fixture server."""
    return Settings(
        _env_file=None,
        hf_base_url=server.url,
        arxiv_base_url=server.url,
        arxiv_rss_url=server.url,
        http_timeout=5.0,
    )
