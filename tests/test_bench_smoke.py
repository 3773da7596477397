"""The benchmarks at a tiny size, so that the scripts cannot rot: `bench/daily_run.py` at 20
subscribers against the test SMTP server, `bench/rank.py` at 40 profiles, `bench/edit.py` at
120 subscribers.

Nothing here checks a time: only that the bench runs end to end and reports what it promises.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO
from tests.smtp_server import SmtpServer


def _bench(name: str = "daily_run") -> ModuleType:
    """The script as a module (bench/ is a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / f"{name}.py")
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


def test_daily_run_writes_subscribers_that_read_back_alike(tmp_path: Path) -> None:
    """The subscribers the bench makes, written to its file, are read back the same."""
    bench = _bench()
    with bench.Store.open(tmp_path / "bench.db") as store:
        papers = bench.load_month(store)
    made = bench.make_subscribers(60, papers, 3)
    path = tmp_path / "subscribers.yaml"
    path.write_text(bench.subscribers_yaml(made), encoding="utf-8")
    assert list(bench.load_subscribers(path)) == made


def test_edit_bench_times_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    """The subscribers commands' bench runs each command and checks what it wrote."""
    _bench("edit").main(["-n", "120"])
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert result["subscribers"] == 120
    assert set(result["seconds"]) == {"validate", "show", "add", "set", "remove",
                                      "load_subscribers"}
    assert all(value > 0 for value in result["seconds"].values())


def test_rank_bench_reports_every_number(capsys: pytest.CaptureFixture[str]) -> None:
    """The ranking bench times every way of ranking and ends with its JSON line."""
    _bench("rank").main(["--papers", "60", "--profiles", "40"])
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (result["papers"], result["profiles"], result["ranker"]) == (60, 40, "lexical")
    assert result["phrases"] > 0
    for key in ("build_s", "rank_cold_s", "rank_warm_s", "without_reasons_s"):
        assert result[key] > 0


@pytest.mark.parametrize(
    ("mode", "total"), [([], "mean"), (["--week"], "mean"), (["--daily"], "all")]
)
def test_relevance_bench_scores_another_judged_set(
    mode: list[str], total: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--set` ranks and scores the profiles of bench/relevance_dev, in every mode: the last
    table has a row per profile of that set (and none of the shared set) and its total."""
    folder = REPO / "bench" / "relevance_dev"
    _bench("relevance").main(["--set", str(folder), *mode])
    last = capsys.readouterr().out.split("\nprofile ")[-1].splitlines()[1:]
    rows = {line.split()[0]: [float(v) for v in line.split()[1:]] for line in last if line}
    qrels = (folder / "qrels.tsv").read_text(encoding="utf-8").splitlines()
    assert set(rows) == {line.split()[0] for line in qrels} | {total}
    if not mode:  # nDCG, TF-IDF's, their difference, P@10, TF-IDF's
        for ndcg, tfidf, diff, precision, tfidf_precision in rows.values():
            assert 0 < ndcg <= 1 and 0 < tfidf <= 1 and abs(ndcg - tfidf - diff) < 0.0015
            assert 0 <= precision <= 1 and 0 <= tfidf_precision <= 1


def test_relevance_bench_refuses_a_set_that_does_not_add_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A judged set whose profiles and judgments name different profiles is refused before
    anything is ranked (score.py would score the missing profile 0, quietly)."""
    folder = REPO / "bench" / "relevance_dev"
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "tfidf.json").write_bytes((folder / "runs" / "tfidf.json").read_bytes())
    profiles = (folder / "profiles.yaml").read_text(encoding="utf-8")
    (tmp_path / "profiles.yaml").write_text(profiles.replace("speech-audio", "speech"))
    with pytest.raises(SystemExit):
        _bench("relevance").main(["--set", str(tmp_path)])
    assert "no qrels.tsv" in capsys.readouterr().err
    (tmp_path / "qrels.tsv").write_bytes((folder / "qrels.tsv").read_bytes())
    with pytest.raises(SystemExit):
        _bench("relevance").main(["--set", str(tmp_path)])
    assert "profiles.yaml lacks speech-audio" in capsys.readouterr().err


@pytest.mark.skipif(not (REPO / ".git").exists(), reason="needs a git checkout (worktrees)")
def test_in_turn_runs_a_bench_with_this_code_and_another_revision(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """bench/in_turn.py runs the ranking bench in new processes, this code and HEAD's in turn,
    and ends with the range of every number each reported; the worktree it made is gone."""
    script = ["bench/rank.py", "--papers", "60", "--profiles", "40"]
    _bench("in_turn").main(["--times", "1", "--against", "HEAD", *script])
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out[:2]] == ["1 this", "1 HEAD"]
    result = json.loads(out[-1])
    assert (result["script"], result["times"], result["against"]) == (script, 1, "HEAD")
    for code in ("this", "HEAD"):
        least, median, most = result["summary"][code]["rank_cold_s"]
        assert 0 < least == median == most
        assert result["summary"][code]["profiles"] == [40.0, 40.0, 40.0]
    worktrees = subprocess.run(["git", "worktree", "list"], cwd=REPO, text=True,
                               capture_output=True, check=True).stdout
    assert "in-turn-" not in worktrees


def test_in_turn_says_which_revision_it_cannot_check_out() -> None:
    """An --against that git does not know stops the script with git's reason, before any run."""
    with pytest.raises(SystemExit, match="--against no-such-revision"):
        _bench("in_turn").main(["--against", "no-such-revision", "bench/rank.py"])


def test_relevance_bench_sums_up_every_judged_set(capsys: pytest.CaptureFixture[str]) -> None:
    """`--all-sets` scores the three judged sets over the month and by week, beside TF-IDF, and
    its mean of the six numbers is the mean of what it reports; the profiles it names as below
    TF-IDF are profiles of that set."""
    bench = _bench("relevance")
    bench.main(["--all-sets"])
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert set(result["sets"]) == {"shared", "dev", "holdout"}
    six = [row[key] for row in result["sets"].values() for key in ("month", "weeks")]
    assert all(0 < value <= 1 for value in six)
    assert abs(result["mean_of_six"] - sum(six) / 6) < 0.0002
    for name, row in result["sets"].items():
        assert 0 < row["month_tfidf"] <= 1 and 0 < row["weeks_tfidf"] <= 1
        profiles = bench.load_profiles(0.12, bench.ALL_SETS[name])
        assert set(row["below_tfidf_month"]) <= set(profiles)
    with pytest.raises(SystemExit):
        bench.main(["--all-sets", "--set", str(REPO / "bench" / "relevance_dev")])
