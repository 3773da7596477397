"""Profiles checked against the stored papers (`subscribers validate`): typos, topics most papers
have, exclude phrases that leave out much; on August 2025's recorded daily papers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter.fetching import import_files
from newsletter.models import Paper, Profile, Source, Subscriber, Topic
from newsletter.store import Store
from newsletter.subscribers_lint_papers import MAX_PAPERS, StoredPapers, _edits, paper_warnings
from tests.conftest import HF_DAYS

NOW = dt.datetime(2025, 8, 30, 6, 0, tzinfo=dt.UTC)
LAST_WEEK = "the 74 papers listed 2025-08-23 to 2025-08-29"


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A store with every August 2025 listing day of Hugging Face (282 papers)."""
    path = tmp_path_factory.mktemp("month") / "newsletter.db"
    with Store.open(path) as store:
        import_files(store, sorted(HF_DAYS.glob("2025-08-*.json")), None, lambda: NOW)
    with Store.open_readonly(path) as store:
        yield store


def _warnings(store: Store, topics: list[str], exclude: tuple[str, ...] = ()) -> list[str]:
    profile = Profile(topics=tuple(Topic(t) for t in topics), exclude=exclude)
    subscriber = Subscriber(email="a@lab.example", profile=profile)
    return paper_warnings([subscriber], StoredPapers(store))


@pytest.mark.parametrize(("written", "meant", "said"), [
    (["diffusion modles"], "models", "modles"),  # "modules" is as close; "models" more frequent
    (["speculative decodng"], "decoding", "decodng"),  # a letter dropped
    (["tranformers"], "transformers", "tranformers"),
    (["halucination detection"], "hallucination", "halucination"),
    (["Gaussain splatting"], "Gaussian", "Gaussain"),  # two letters swapped; capital kept
])
def test_a_typo_is_said_with_the_word_meant(month: Store, written: list[str], meant: str,
                                           said: str) -> None:
    assert _warnings(month, written) == [
        f'a@lab.example: topic "{written[0]}": "{said}" is in none of the 282 latest papers; '
        f'did you mean "{meant}"?'
    ]


@pytest.mark.parametrize("topic", [
    "reinforcment learning",  # the stem is the same: it matches as it is
    "reranking",  # no paper has it, but no word is one typo away
    "clinical trials", "molecular and chemistry LLMs", "persona vectors", "formal verification",
    "MoE", "ViT", "GAN",  # acronyms and short words are not guessed at
    "Schrödinger bridge", "diffusion language models", "LLM-as-a-judge",
    # real words one letter from a word the papers use: not guessed at (found by a review)
    "stock prediction", "remote sensing", "chip design", "poker agents", "hate speech",
    "patent analysis", "night images", "font generation", "floor plans", "optical flow",
    "compiler optimization", "learned optimizers", "Muon optimizer", "QLoRA", "CUDA kernels",
    "vLLM serving", "naïve Bayes", "Gödel machines",
])
def test_words_stored_papers_have_or_nothing_is_close_to_are_not_typos(month: Store,
                                                                       topic: str) -> None:
    assert _warnings(month, [topic]) == []


def test_an_exclude_typo_is_said_too(month: Store) -> None:
    assert _warnings(month, ["GUI agents"], ("video generaton",)) == [
        'a@lab.example: exclude "video generaton": "generaton" is in none of the 282 latest '
        'papers; did you mean "generation"?'
    ]


def test_a_topic_most_papers_have_and_a_broad_exclude_are_said(month: Store) -> None:
    """Shares of the last WINDOW_DAYS days' papers; "GUI agents" is in far fewer."""
    assert _warnings(month, ["language models", "GUI agents"], ("reasoning", "video")) == [
        f'a@lab.example: topic "language models" is in 62% of {LAST_WEEK}: it tells few of them '
        "apart (a narrower phrase ranks better)",
        f'a@lab.example: exclude "reasoning" leaves out 27% of {LAST_WEEK} (a narrower phrase '
        "leaves out less)",
    ]


def test_the_judged_profiles_draw_no_warning(month: Store) -> None:
    """The phrases researchers wrote for the relevance sets are all fine."""
    phrases = [
        "GUI grounding", "computer-use agents", "masked diffusion for text", "parallel decoding",
        "instruction-based image editing", "reward models for text-to-image",
        "AI for scientific discovery", "physics benchmarks", "LLM-as-a-judge",
        "hallucination measurement and mitigation", "benchmark validity", "virtual try-on",
        "talking avatar animation", "parametric body models", "hybrid Mamba-Transformer",
        "pretraining data filtering", "next-token prediction objective",
        "OCR and document understanding", "visual token pruning", "thinking with images",
        "reinforcement learning for LLM reasoning", "RLVR", "GRPO", "3D Gaussian splatting",
        "text-to-video generation", "audio-driven video", "software engineering agents",
        "vision-language-action models", "machine unlearning", "speech tokenizer",
        "retrieval-augmented generation", "KV cache compression", "sparse autoencoders",
    ]
    excludes = ("deep research agents", "video generation", "clinical", "image generation",
                "humanoid robot", "post-training quantization", "robot manipulation",
                "talking head", "multimodal")
    assert _warnings(month, phrases, excludes) == []


def test_nothing_is_said_of_too_few_papers(tmp_path: Path) -> None:
    """One day (16 papers): too few to know the field's words, or to measure shares."""
    path = tmp_path / "newsletter.db"
    with Store.open(path) as store:
        import_files(store, [HF_DAYS / "2025-08-29.json"], None, lambda: NOW)
        assert _warnings(store, ["diffusion modles", "language models"], ("reasoning",)) == []


def test_only_the_subscribers_sources_are_measured(month: Store) -> None:
    """An arXiv-only subscriber: no arXiv paper is stored, so no share is said."""
    profile = Profile(topics=(Topic("language models"),))
    subscriber = Subscriber(email="a@lab.example", profile=profile,
                            sources=frozenset({Source.ARXIV}))
    assert paper_warnings([subscriber], StoredPapers(month)) == []


def test_a_window_of_more_papers_than_are_read_says_so(tmp_path: Path) -> None:
    """Only the latest MAX_PAPERS of a busy week are indexed, and the warning says so."""
    day = dt.date(2025, 9, 1)
    papers = [Paper(id=f"2509.{n:05d}", title=f"Language models for task {n}",
                    abstract="We study language models.", listed_on=day)
              for n in range(MAX_PAPERS + 100)]
    with Store.open(tmp_path / "newsletter.db") as store:
        store.upsert_papers(papers, Source.HF, NOW)
        assert _warnings(store, ["language models"]) == [
            f'a@lab.example: topic "language models" is in 100% of the latest {MAX_PAPERS:,} of '
            f"the {MAX_PAPERS + 100:,} papers listed 2025-08-26 to 2025-09-01: it tells few of "
            "them apart "
            "(a narrower phrase ranks better)"
        ]


@pytest.mark.parametrize(("a", "b", "edits"), [
    ("models", "models", 0), ("modles", "models", 1), ("decodng", "decoding", 1),
    ("modls", "models", 1), ("modelz", "models", 1), ("reranking", "ranking", 2),
    ("", "abc", 3), ("abc", "", 3), ("ab", "ba", 1), ("abc", "ca", 3),
])
def test_edits_count_a_swap_as_one(a: str, b: str, edits: int) -> None:
    assert _edits(a, b) == edits
