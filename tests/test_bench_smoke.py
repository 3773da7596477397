"""`bench/daily_run.py` at 20 subscribers against the test SMTP server, so the script cannot rot.

Nothing here checks a time: only that the bench runs end to end and reports what it promises.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from tests.conftest import REPO
from tests.smtp_server import SmtpServer


def _bench() -> ModuleType:
    """The script as a module (bench/ is a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("daily_run", REPO / "bench" / "daily_run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_daily_run_bench_reports_every_number(tmp_path: Path) -> None:
    """A small run sends through the real pipeline, then the ceiling sends as many again."""
    bench = _bench()
    with SmtpServer() as server:
        result = bench.run_bench(20, 2, "127.0.0.1", server.port, tmp_path)
    sent = result["sent"]
    assert sent > 0 and sum(result["statuses"].values()) == 20
    assert len(server.received) == sent * (1 + bench.CEILING_TRIES)
    assert set(result["phases_s"]) == set(bench.PHASES)
    assert result["digests_per_s"] > 0 and result["ceiling"]["per_s"] > 0
    assert result["ratio"] > 0 and result["peak_rss_mb"] > 0
    assert 0 < result["largest_html_bytes"] <= 100_000
