"""Tests of the ranker (`newsletter.matching`, its `ranking_*` modules and `textmatch`): the
ranking rules, table by table."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import json
import threading
from pathlib import Path

import numpy as np
import pytest

from newsletter import textmatch
from newsletter.gc_paused import gc_paused
from newsletter.matching import Candidates, Request, rank, rank_many
from newsletter.models import Paper, Profile, Ranking, Topic
from newsletter.ranking_evidence import PRESENT, REPEATED, TITLED, Key
from newsletter.ranking_postings import gather
from newsletter.ranking_score import best
from newsletter.ranking_tails import short_title
from newsletter.ranking_text import analyse_paper, analyse_terms
from newsletter.textmatch_phrases import SPELLED_OUT

DAY = dt.date(2025, 8, 12)
FIXTURES = Path(__file__).parents[2] / "shared" / "fixtures" / "hf" / "daily_papers"

# Papers about other things, so that IDF over the candidates means something.
FILLER = [
    ("Convolutional networks for image classification", "We train convolutional networks."),
    ("Speech recognition with transformers", "A transformer model transcribes speech."),
    ("Graph neural networks for molecules", "We predict molecular properties with graphs."),
    ("Reinforcement learning for robot control", "A policy learns to control a robot arm."),
    ("Benchmarking code generation models", "We evaluate language models on code."),
    ("Efficient training of large models", "We make training of large models efficient."),
]


def paper(pid: str, title: str, abstract: str = "", **fields: object) -> Paper:
    """A paper listed on DAY (fields: any other Paper field)."""
    return Paper(id=pid, title=title, abstract=abstract, listed_on=DAY, **fields)  # type: ignore[arg-type]


def day(*papers: Paper, today: dt.date | None = None) -> Candidates:
    """Candidates made of `papers` plus the filler papers."""
    filler = [paper(f"2508.9{i:04d}", t, a) for i, (t, a) in enumerate(FILLER)]
    return Candidates.build([*papers, *filler], today=today)


def ids(ranking: Ranking) -> list[str]:
    """The picked ids, best first."""
    return [r.paper.id for r in ranking.picked]


def topics(*phrases: str, **profile: object) -> Profile:
    """A profile with these topic phrases (and any other Profile field)."""
    return Profile(topics=tuple(Topic(p) for p in phrases), **profile)  # type: ignore[arg-type]


def reasons_of(ranking: Ranking, pid: str) -> tuple[str, ...]:
    """The reasons given for one picked paper."""
    return next(r.reasons for r in ranking.picked if r.paper.id == pid)


def excluded_reason(ranking: Ranking, pid: str) -> str:
    """The reason one candidate was left out."""
    return next(e.reason for e in ranking.excluded if e.paper.id == pid)


@pytest.mark.parametrize(
    ("words", "same"),
    [
        (["model", "models", "modeling", "modelling", "modeled"], True),
        (["generation", "generative", "generate", "generated", "generator"], True),
        (["verification", "verifier", "verify", "verified"], True),
        (["hallucination", "hallucinations", "hallucinate"], True),
        (["editing", "edits", "edited", "edit"], True),
        (["agent", "agents", "agentic"], True),
        (["study", "studies"], True),
        (["reranker", "rerankers", "reranking", "rerank"], True),  # the tool and the act
        (["retriever", "retrieval", "retrieve", "retrieved"], True),
        (["tokenizer", "tokeniser", "tokenizers", "tokenization", "tokenize"], True),
        (["recommender", "recommendation", "recommend"], True),
        (["embedder", "embedding", "embeddings"], True),
        (["quantizer", "quantiser", "quantization"], True),
        (["optimizer", "optimization"], False),  # every "policy optimization" is no optimizer
        (["ranker", "low-rank"], False),
        (["planner", "plane"], False),
        (["decoder", "decoding"], False),  # a decoder-only model is no speculative decoding
        (["layer", "lay"], False),
        (["general", "generate"], False),
        (["physics", "physical"], False),
        (["transformer", "transform"], False),
        (["document", "docu"], False),
    ],
)
def test_stemmer_conflates_word_forms_only(words: list[str], same: bool) -> None:
    """Plurals and derived forms share a stem; unrelated words keep theirs."""
    assert (len({textmatch.stem(w) for w in words}) == 1) is same


def test_the_word_memos_stay_bounded_and_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A daemon reads new words for months: the memos of `stem` and `analyse` are emptied
    when full, and a word analysed again after that gets the same stems."""
    text = ("Mixture-of-Experts layers route tokens; sparse experts generalise, and routers "
            "balance the loads of the experts across devices while training large models.")
    fresh = textmatch.analyse(text)
    monkeypatch.setattr(textmatch, "MEMO_LIMIT", 5)
    monkeypatch.setattr(textmatch, "_word_memo", {})
    monkeypatch.setattr(textmatch, "_stem_memo", {})
    for _ in range(3):
        assert textmatch.analyse(text) == fresh
        assert [textmatch.word_stems(w) for w in ("experts", "routers")] == [("expert",),
                                                                                ("router",)]
        assert 0 < len(textmatch._word_memo) <= 5 and 0 < len(textmatch._stem_memo) <= 5


@pytest.mark.parametrize(
    ("text", "short", "long"),
    [
        (
            "We propose Discrete Diffusion Forcing (D2F), a decoding strategy.",
            "D2F",
            "Diffusion Forcing",
        ),
        ("A Mixture-of-Experts (MoE) layer routes tokens.", "MoE", "Mixture of Experts"),
        ("Large language models (LLMs) hallucinate.", "LLM", "Large language models"),
        ("We use the Sparse Token Router (STR) here.", "STR", "Sparse Token Router"),
    ],
)
def test_definitions_found_in_text(text: str, short: str, long: str) -> None:
    """A "Long Form (LF)" definition maps the short form to its long form."""
    assert textmatch.find_definitions(text)[short] == long


@pytest.mark.parametrize(
    ("phrase", "title"),
    [
        ("RAG", "Retrieval-augmented generation for open-domain questions"),
        ("retrieval-augmented generation", "Scaling RAG to a billion documents"),
        ("MoE", "Routing tokens in mixture-of-experts layers"),
        ("mixture-of-experts", "Load balancing for MoE models"),
        ("VLA", "Vision-language-action policies for household tasks"),
        ("vision-language-action models", "Scaling VLAs with web data"),
        ("pre-training", "Pretraining on synthetic text"),
        ("sparse token routing", "Faster STR: routing revisited"),
    ],
)
def test_abbreviations_match_their_long_forms(phrase: str, title: str) -> None:
    """An acronym matches its long form either way, including one the paper defines itself."""
    abstract = "We build a Sparse Token Routing (STR) layer." if "STR" in title else ""
    ranking = rank(topics(phrase), day(paper("2508.00001", title, abstract)))
    assert ids(ranking) == ["2508.00001"]


@pytest.mark.parametrize(
    ("phrase", "better", "worse"),
    [
        (
            "diffusion language models",
            ("Diffusion language models decode in parallel", ""),
            ("Diffusion in social networks", "We compare language use across models of opinion."),
        ),
        (
            "non-autoregressive generation",
            ("Non-autoregressive generation of text", ""),
            ("Autoregressive generation of text", ""),
        ),
        (
            "KV cache compression",
            ("Compressing the KV cache of long prompts", ""),
            ("Cache-friendly compression of images", "The KV store of a database."),
        ),
    ],
)
def test_phrase_beats_scattered_words(
    phrase: str, better: tuple[str, str], worse: tuple[str, str]
) -> None:
    """The words of a phrase side by side (in any order) beat the same words apart."""
    candidates = day(paper("2508.00001", *better), paper("2508.00002", *worse))
    assert ids(rank(topics(phrase), candidates))[0] == "2508.00001"


# What else the ambiguous acronyms (textmatch.AMBIGUOUS_ACRONYMS) stand for in ML papers.
OTHER_MEANING = {
    "ASR": "attack success rate", "TTS": "test-time scaling", "SLM": "spoken language model"
}


@pytest.mark.parametrize(
    ("acronym", "undefined", "defined", "spelled"),
    [
        ("ASR", "Faster ASR decoding", "Automatic speech recognition (ASR) in cars.",
         "Automatic speech recognition for children"),
        ("TTS", "Expressive TTS for audiobooks", "Text-to-speech (TTS) in cars.",
         "Text-to-speech with emotions"),
        ("SLM", "Distilling an SLM for phones", "A small language model (SLM) in cars.",
         "Small language models for phones"),
    ],
)
def test_an_ambiguous_acronym_in_a_phrase_matches_it_and_its_long_form(
    acronym: str, undefined: str, defined: str, spelled: str
) -> None:
    """A phrase "ASR", "TTS" or "SLM" (or their plurals) matches the acronym where a paper
    leaves it undefined (the subscriber wrote those letters), and the long form, spelled out or
    defined by the paper; not a paper that defines the acronym as something else."""
    candidates = day(
        paper("2508.00001", undefined), paper("2508.00002", "Noisy inputs", defined),
        paper("2508.00003", spelled),
        paper("2508.00004", "Plural", f"We compare {acronym}s on phones."),
        paper("2508.00005", "Other", f"A {OTHER_MEANING[acronym]} ({acronym}). {acronym} wins."),
    )
    for phrase in (acronym, f"{acronym}s", f"{acronym.lower()}s"):
        picked = ids(rank(topics(phrase), candidates))
        assert {"2508.00001", "2508.00002", "2508.00003", "2508.00004"} <= set(picked), phrase
        assert "2508.00005" not in picked


@pytest.mark.parametrize("acronym", ["ASR", "TTS", "SLM"])
def test_an_ambiguous_acronym_counts_in_full_where_a_paper_defines_it(acronym: str) -> None:
    """A paper that says what it means by the acronym matches a phrase with the acronym as well
    as one that leaves it undefined (not at a synonym's discount: it is the same term)."""
    long_form = dict(SPELLED_OUT)[acronym]
    undefined = paper("2508.00001", "Faster decoding", f"We make {acronym} decoding fast.")
    defined = paper("2508.00002", "Faster decoding", f"We make {long_form} ({acronym}) fast.")
    ranking = rank(topics(acronym), day(undefined, defined))
    score = {r.paper.id: r.score for r in ranking.picked}
    assert score["2508.00002"] >= score["2508.00001"] > 0


@pytest.mark.parametrize(
    ("title", "abstract"),
    [
        (  # "ASR": the attack success rate
            "Backdoor triggers for visual grounding",
            "An adaptive trigger generator writes text into images. The ASR@0.5 reaches 90%.",
        ),
        (  # "TTS": test-time scaling
            "Thinking longer on hard problems",
            "TTS generates many reasoning chains; our TTS budget is set per problem.",
        ),
        (  # "SLM": a spoken language model
            "Full-duplex dialogue",
            "Our SLM listens while it talks, and a small adapter keeps the SLM fluent.",
        ),
    ],
)
def test_an_ambiguous_acronym_is_not_spelled_out_in_papers(title: str, abstract: str) -> None:
    """In a safety paper "ASR" is the attack success rate, in a reasoning paper "TTS" is
    test-time scaling, in a speech paper "SLM" is a spoken language model: a paper that does not
    define them does not match the other meaning (it did, when the acronym table spelled them
    out as speech recognition, text-to-speech and small language model)."""
    other_meanings = topics("text-to-speech", "speech recognition", "small language models")
    picked = ids(rank(other_meanings, day(paper("2508.00001", title, abstract))))
    assert picked and "2508.00001" not in picked  # the filler's speech paper is picked


@pytest.mark.parametrize(
    ("phrase", "title"),
    [
        ("hallucination measurement and mitigation", "Mitigating hallucinations in dialogue"),
        ("molecular and chemistry LLMs", "Chemistry LLMs that reason about reactions"),
        ("vision-language models", "Training multimodal large language models"),
        ("talking avatar animation", "Talking head animation from audio"),
        ("human motion generation", "Human motion synthesis from text"),
        ("text-to-speech", "Expressive speech synthesis with flow matching"),
        ("multilingual benchmarks", "A bilingual benchmark for spoken dialogue models"),
        ("multilingual retrieval", "Cross-lingual retrieval with small encoders"),
    ],
)
def test_coordinations_and_synonyms_match(phrase: str, title: str) -> None:
    """ "X Y and Z" matches "X Z"; a small ML synonym table matches other names for a thing."""
    ranking = rank(topics(phrase), day(paper("2508.00001", title)))
    assert ids(ranking)[0] == "2508.00001"
    assert reasons_of(ranking, "2508.00001")[0].endswith("(title)")


@pytest.mark.parametrize(
    ("phrase", "forward", "backward"),
    [
        ("text-to-speech", "Fast text-to-speech for meetings", "Fast speech-to-text for meetings"),
        ("text-to-image", "Reward models for text to image models", "Image-to-text captioning"),
        ("sim-to-real", "Sim-to-real transfer of grasping", "Real-to-sim transfer of grasping"),
    ],
)
def test_a_compound_is_read_in_its_direction(phrase: str, forward: str, backward: str) -> None:
    """ "X-to-Y" is not "Y-to-X", nor "X or Y": only a paper that says it in that order (or
    an acronym of it that it defines) has the phrase whole; the others have its words."""
    first, then = phrase.split("-to-")
    acronym = f"{first[0]}T{then[0]}".upper()
    ranking = rank(topics(phrase, min_relevance=0.0), day(
        paper("2508.00001", backward),
        paper("2508.00002", forward),
        paper("2508.00003", f"The {acronym} model", f"A {phrase} ({acronym}). {acronym} is fast."),
        paper("2508.00004", f"The {first} model", f"It writes {first} or {then} as it listens."),
    ))
    score = {r.paper.id: r.score for r in ranking.picked}
    assert score["2508.00002"] > score["2508.00001"]
    assert score["2508.00003"] > score["2508.00004"]
    assert reasons_of(ranking, "2508.00002")[0].startswith(f"matched: {phrase}")
    assert reasons_of(ranking, "2508.00003")[0] == f"matched: {phrase} (title)"
    assert reasons_of(ranking, "2508.00001")[0] == f"matched: {first} … {then} (title)"
    assert reasons_of(ranking, "2508.00004")[0] == f"matched: {first} … {then}"


def test_a_synonym_is_named_as_the_paper_says_it() -> None:
    """ "Spoken language models" are speech language models: the paper that says so ranks
    above one that only shares "language models", and its reason quotes its own words."""
    ranking = rank(topics("speech language models"), day(
        paper("2508.00001", "A benchmark for spoken language models"),
        paper("2508.00002", "A benchmark for large language models"),
    ))
    assert ids(ranking)[:2] == ["2508.00001", "2508.00002"]
    assert reasons_of(ranking, "2508.00001") == ("matched: spoken language models (title)",)


@pytest.mark.parametrize(
    ("phrase", "title"),
    [
        ("Schrödinger bridge", "Schrodinger bridges for image translation"),
        ("Schrodinger bridge", "Schrödinger bridges for image translation"),
        ("fine-tuning", "Eﬃcient ﬁne-tuning of small models"),  # PDF ligatures
        ("pi0 policy", "Scaling the π0 policy to new robots"),
        ("π0 policy", "Scaling the pi0 policy to new robots"),
        ("beta-VAE", "Disentangling factors with β-VAE"),
        ("muP", "Hyperparameter transfer with µP (the micro sign)"),
        ("μP", "Hyperparameter transfer with µP (the micro sign)"),
        ("kappa-means", "Clustering by ϰ-means"),
        ("Straße scenes", "Understanding Strasse scenes"),
    ],
)
def test_accents_ligatures_and_greek_letters_match_plain_spelling(phrase: str, title: str) -> None:
    """Words are matched without accents, ligatures split and Greek letters spelled out, so a
    phrase matches however the paper types it (and the other way round)."""
    ranking = rank(topics(phrase), day(paper("2508.00001", title, "We write code.")))
    assert ids(ranking) == ["2508.00001"]
    assert reasons_of(ranking, "2508.00001")[0].endswith("(title)")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("Sparse attention for long inputs", ""), ("Long inputs", "We use sparse attention.")),
        (
            ("Sparse attention kernels", ""),
            ("Kernels", "Attention is sparse, attention is sparse."),
        ),
    ],
)
def test_title_matches_weigh_more(first: tuple[str, str], second: tuple[str, str]) -> None:
    """The same phrase in the title ranks above it in the abstract, even said twice there."""
    candidates = day(paper("2508.00002", *second), paper("2508.00001", *first))
    ranking = rank(topics("sparse attention"), candidates)
    assert ids(ranking)[0] == "2508.00001"
    assert reasons_of(ranking, "2508.00001")[0] == "matched: sparse attention (title)"


@pytest.mark.parametrize(
    ("phrase", "title", "reason"),
    [
        ("sparse attention kernels", "Sparse attention on GPUs", "sparse attention (title)"),
        ("sparse attention kernels", "Sparse kernels for GPUs", "sparse … kernels (title)"),
        (
            "multi-reference image composition",
            "Multi-reference image generation",
            "multi-reference image (title)",
        ),
        (
            "vision-language model training recipe",
            "Vision-language model training at scale",
            "vision-language model training (title)",
        ),
        (
            "vision-language model training recipe",
            "Vision-language pruning and training",
            "vision-language … training (title)",
        ),
        (
            "visual-language-action",
            "Action recognition from visual and language cues",
            "visual language … action (title)",
        ),
        ("world models", "Models for planning in an open world", "world … models (title)"),
        ("text-to-speech", "Fast speech-to-text for meetings", "text … speech (title)"),
    ],
)
def test_partial_matches_name_the_words_found_as_the_user_spelled_them(
    phrase: str, title: str, reason: str
) -> None:
    """A paper with some words of a phrase is told which, in the user's spelling, with a gap
    marked where words of the phrase are missing between them, or are not side by side in the
    paper (a hyphenated group is written whole only when the paper has it so)."""
    ranking = rank(topics(phrase), day(paper("2508.00001", title, "We write code.")))
    assert reasons_of(ranking, "2508.00001")[0] == f"matched: {reason}"


def test_a_part_already_said_by_another_label_is_left_out() -> None:
    """ "backdoor attacks (title), attacks (title)" says "attacks" twice: the part of "jailbreak
    attacks" goes; a phrase matched whole is always named, even inside another."""
    ranking = rank(
        topics("backdoor attacks", "jailbreak attacks", "LLM-as-a-judge", "large language models"),
        day(paper("2508.00001", "Backdoor attacks on LLM-as-a-judge", "Models judge.")),
    )
    assert reasons_of(ranking, "2508.00001") == (
        "matched: LLM-as-a-judge (title), large language models (title), backdoor attacks (title)",
    )


def test_common_words_weigh_little() -> None:
    """A word most candidates have counts for little next to a rare one of the same phrase."""
    common = [paper(f"2508.001{i:02d}", f"Efficient models {i}") for i in range(8)]
    rare = paper("2508.00001", "Speculative decoding for chat")
    ranking = rank(topics("efficient speculative decoding"), day(rare, *common))
    assert ids(ranking)[0] == "2508.00001"


@pytest.mark.parametrize(
    ("title", "abstract", "keywords", "outcome"),
    [
        ("Medical imaging with sparse attention", "", (), "excluded: medical imaging"),
        (
            "Sparse attention",
            "Medical imaging is one of many uses.",
            (),
            "mentions medical imaging (pushed down)",
        ),
        (  # said twice in the abstract: what the paper is about
            "Sparse attention",
            "Medical imaging is slow. We speed up medical imaging.",
            (),
            "excluded: medical imaging",
        ),
        (  # a keyword and one mention: a use of the method, not what the paper is about
            "Sparse attention",
            "We also try it on medical imaging.",
            ("sparse attention", "medical imaging"),
            "mentions medical imaging (pushed down)",
        ),
        ("Sparse attention", "Text and images.", (), None),
        ("Sparse attention for imaging", "Imaging at scale: imaging, imaging.", (), None),
        (  # the words apart, however central: pushed down, never disqualified
            "Medical sparse attention for imaging",
            "Medical records. Imaging, imaging and more imaging.",
            (),
            "mentions medical … imaging (pushed down)",
        ),
    ],
)
def test_exclusions_disqualify_or_push_down(
    title: str, abstract: str, keywords: tuple[str, ...], outcome: str | None
) -> None:
    """An exclude phrase central to a paper (whole in the title, or said twice in the abstract)
    disqualifies it; one said in passing pushes it down, even in a keyword, and so do its words
    apart (the reason says they are apart)."""
    candidates = day(paper("2508.00001", title, abstract, ai_keywords=keywords))
    ranking = rank(
        topics("sparse attention", exclude=("medical imaging",)), candidates, explain=True
    )
    if outcome and outcome.startswith("excluded"):
        assert excluded_reason(ranking, "2508.00001") == outcome
    else:
        reasons = reasons_of(ranking, "2508.00001")
        assert (outcome in reasons) if outcome else not any("mentions" in r for r in reasons)


def test_pushdown_halves_the_score() -> None:
    """A paper that mentions an excluded phrase scores half of what it would otherwise."""
    candidates = day(paper("2508.00001", "Sparse attention", "Medical imaging is one use."))
    plain = rank(topics("sparse attention"), candidates).picked[0].score
    pushed = rank(topics("sparse attention", exclude=("medical imaging",)), candidates).picked[0]
    assert pushed.score == pytest.approx(plain / 2, rel=1e-3)


@pytest.mark.parametrize(
    ("followed", "author", "picked"),
    [
        ("Percy Liang", "Percy Liang", True),
        ("P. Liang", "Percy Liang", True),
        ("percy liang", "Percy Liang", True),
        ("Jérôme Dupont", "Jerome Dupont", True),
        ("Lukasz Kaiser", "Łukasz Kaiser", True),
        ("Søren Hauberg", "Soren Hauberg", True),
        ("Liang, Percy", "Percy Liang", True),
        ("Liang, P.", "Percy Liang", True),
        ("Percy Liang", "Paul Liang", False),
        ("Percy Liang", "Liang Percy Chen", False),
    ],
)
def test_followed_authors_always_qualify(followed: str, author: str, picked: bool) -> None:
    """A followed author's paper is picked with no topic match, below min_upvotes, excluded."""
    candidates = day(paper("2508.00001", "Medical imaging at scale", authors=(author, "Ann Other")))
    profile = topics(
        "sparse attention", authors=(followed,), min_upvotes=5, exclude=("medical imaging",)
    )
    ranking = rank(profile, candidates)
    assert (ids(ranking) == ["2508.00001"]) is picked
    if picked:
        assert reasons_of(ranking, "2508.00001") == (f"by {author}",)


def test_liked_papers_pull_similar_ones_and_are_not_sent_again() -> None:
    """A paper like a liked one is picked with "like <id> (<short title>)"; the liked paper
    itself is not sent."""
    liked = paper(
        "2305.10431", "Speculative decoding with draft models", "Draft tokens verified in parallel."
    )
    similar = paper(
        "2508.00001", "Draft models for speculative decoding", "Parallel verification of drafts."
    )
    candidates = day(similar, paper("2305.10431", liked.title, liked.abstract))
    ranking = rank(Profile(liked=("2305.10431",)), candidates, liked_papers=[liked], explain=True)
    assert ids(ranking) == ["2508.00001"]
    assert "like 2305.10431 (Speculative decoding with draft models)" in reasons_of(
        ranking, "2508.00001"
    )
    assert excluded_reason(ranking, "2305.10431") == "liked: already read"


def test_equally_close_liked_papers_name_the_greater_id() -> None:
    """Of two liked papers as close as each other to a pick, the reason names the greater id,
    whatever the order they are listed in."""
    text = ("Speculative decoding with draft models", "Draft tokens verified in parallel.")
    older, newer = paper("2305.10431", *text), paper("2401.00002", *text)
    similar = paper(
        "2508.00001", "Draft models for speculative decoding", "Parallel verification of drafts."
    )
    for listed in ((older, newer), (newer, older)):
        profile = Profile(liked=tuple(p.id for p in listed))
        ranking = rank(profile, day(similar), liked_papers=list(listed))
        assert reasons_of(ranking, "2508.00001") == (
            "like 2401.00002 (Speculative decoding with draft models)",
        )


@pytest.mark.parametrize(
    ("title", "short"),
    [
        ("Genie Envisioner: A Unified World Foundation Platform", "Genie Envisioner"),
        ("Speculative decoding with draft models", "Speculative decoding with draft models"),
        ("Training LLMs to reason with long chains of thought",
         "Training LLMs to reason with long …"),
        ("A long name for a method that has no short name: a study", "A long name for a method …"),
    ],
)
def test_a_liked_paper_is_named_by_a_short_title(title: str, short: str) -> None:
    """An email reader does not know a paper by its arXiv id: "like" names it by the name
    before its title's colon, or its first six words."""
    assert short_title(title) == short


@pytest.mark.parametrize(("votes", "floor", "picked"), [(3, 5, False), (5, 5, True), (0, 0, True)])
def test_min_upvotes(votes: int, floor: int, picked: bool) -> None:
    """Papers with fewer votes than min_upvotes are left out, and explain says so."""
    candidates = day(paper("2508.00001", "Sparse attention", upvotes=votes))
    ranking = rank(topics("sparse attention", min_upvotes=floor), candidates, explain=True)
    assert (ids(ranking) == ["2508.00001"]) is picked
    if not picked:
        assert excluded_reason(ranking, "2508.00001") == f"below min_upvotes ({votes} < {floor})"


@pytest.mark.parametrize(("trending", "first"), [(0.0, "2508.00001"), (1.0, "2508.00002")])
def test_trending_blends_votes(trending: float, first: str) -> None:
    """With trending 0 the more relevant paper wins; with 1, votes lift a less relevant one."""
    candidates = day(
        paper("2508.00001", "Sparse attention for text", "Sparse attention, again.", upvotes=0),
        paper("2508.00002", "Sparse attention for code", upvotes=87),
    )
    ranking = rank(topics("sparse attention", trending=trending), candidates)
    assert ids(ranking)[0] == first
    assert ("trending: 87 votes" in reasons_of(ranking, "2508.00002")) is (trending > 0)


@pytest.mark.parametrize(
    ("recency", "today", "first"),
    [
        (0.5, DAY, "2508.00002"),  # asked for: the newer of two equal papers first
        (1.0, DAY, "2508.00002"),
        (0.0, DAY, "2508.00001"),  # the default: age does not count, the tie goes to the id
        (0.5, None, "2508.00001"),  # no `today`: no age to count
    ],
)
def test_recency_prefers_newer_papers_when_asked(
    recency: float, today: dt.date | None, first: str
) -> None:
    """A profile's `recency` lifts papers listed nearer `today`; 0 leaves age out."""
    old = Paper("2508.00001", "Sparse attention", "", DAY - dt.timedelta(days=6))
    new = Paper("2508.00002", "Sparse attention", "", DAY)
    profile = topics("sparse attention", recency=recency)
    assert ids(rank(profile, day(old, new, today=today)))[0] == first


def test_recency_does_not_outweigh_relevance() -> None:
    """Even at its strongest, recency reorders near ties: a week-old paper about the topic
    beats today's paper that only mentions it."""
    old = paper("2508.00001", "Sparse attention for long contexts",
                "We study sparse attention. Sparse attention is fast.")
    old = Paper(old.id, old.title, old.abstract, DAY - dt.timedelta(days=7))
    new = paper("2508.00002", "Protein folding", "Among other tools we use sparse attention.")
    ranking = rank(topics("sparse attention", recency=1.0), day(old, new, today=DAY))
    assert ids(ranking)[:2] == ["2508.00001", "2508.00002"]


def test_seen_papers_never_rank() -> None:
    """A paper already sent to the subscriber is never picked, whatever else it has."""
    best = paper("2508.00001", "Sparse attention", upvotes=500, authors=("Percy Liang",))
    profile = topics("sparse attention", authors=("Percy Liang",))
    ranking = rank(profile, day(best), seen=["2508.00001"], explain=True)
    assert ids(ranking) == []
    assert excluded_reason(ranking, "2508.00001") == "already sent"


def test_nothing_relevant_means_nothing_picked() -> None:
    """A digest with nothing relevant is empty; explain says no topic matched."""
    ranking = rank(topics("protein folding"), day(), explain=True)
    assert ranking.picked == ()
    assert {e.reason for e in ranking.excluded} == {"no topic matched"}


def test_explain_accounts_for_every_candidate() -> None:
    """With explain, every candidate is either picked or excluded with a reason."""
    candidates = day(
        *(paper(f"2508.000{i:02d}", f"Sparse attention {i}", upvotes=i) for i in range(15))
    )
    ranking = rank(topics("sparse attention", max_papers=10), candidates, explain=True)
    assert len(ranking.picked) == 10
    assert len(ranking.picked) + len(ranking.excluded) == len(candidates)
    assert all(
        e.reason.startswith("below the cut") for e in ranking.excluded if "Sparse" in e.paper.title
    )


def test_picks_have_reasons_positive_scores_and_deterministic_ties() -> None:
    """Every pick has a reason and a score > 0; ties go to more upvotes, then the smaller id."""
    twins = [
        paper(pid, "Sparse attention", upvotes=up)
        for pid, up in (("2508.00003", 1), ("2508.00002", 1), ("2508.00001", 0))
    ]
    ranking = rank(topics("sparse attention", trending=0.0), day(*twins))
    assert ids(ranking) == ["2508.00002", "2508.00003", "2508.00001"]
    assert all(r.reasons and r.score > 0 for r in ranking.picked)


def test_profile_without_interests_gets_the_days_top_votes() -> None:
    """No topics, authors or likes: the day's most upvoted papers, each saying so."""
    candidates = day(
        paper("2508.00001", "Anything", upvotes=40), paper("2508.00002", "Else", upvotes=90)
    )
    ranking = rank(Profile(max_papers=2), candidates)
    assert ids(ranking) == ["2508.00002", "2508.00001"]
    assert reasons_of(ranking, "2508.00002") == ("trending: 90 votes",)


@pytest.mark.parametrize(
    ("categories", "picked"), [(("cs.LG",), True), (("cs.CV",), False), ((), True)]
)
def test_arxiv_categories_filter_papers_that_have_them(
    categories: tuple[str, ...], picked: bool
) -> None:
    """A paper outside the profile's categories is left out; one with no categories is kept."""
    candidates = day(paper("2508.00001", "Sparse attention", categories=categories))
    ranking = rank(
        topics("sparse attention", arxiv_categories=("cs.LG", "cs.CL")), candidates, explain=True
    )
    assert (ids(ranking) == ["2508.00001"]) is picked
    if not picked:
        assert excluded_reason(ranking, "2508.00001") == "not in cs.LG, cs.CL"


def test_candidates_keep_the_first_copy_of_an_id() -> None:
    """The same id listed twice is one candidate."""
    candidates = Candidates.build([paper("2508.00001", "First"), paper("2508.00001", "Again")])
    assert len(candidates) == 1
    assert candidates.papers[0].title == "First"


def real_day() -> list[Paper]:
    """The papers of a recorded Hugging Face listing day."""
    papers = []
    for item in json.loads((FIXTURES / "2025-08-13.json").read_text(encoding="utf-8")):
        raw = item["paper"]
        papers.append(
            Paper(
                id=raw["id"],
                title=" ".join(raw["title"].split()),
                abstract=" ".join(raw["summary"].split()),
                listed_on=DAY,
                upvotes=raw.get("upvotes", 0),
                ai_summary=raw.get("ai_summary"),
                ai_keywords=tuple(raw.get("ai_keywords", ())),
            )
        )
    return papers


def test_real_day_of_papers() -> None:
    """On a real listing day, a GUI-agent profile gets GUI-agent papers first, all with reasons."""
    ranking = rank(
        topics("GUI agents", "computer-use agents", max_papers=3), Candidates.build(real_day())
    )
    assert [r.reasons[0] for r in ranking.picked[:2]] == [
        "matched: computer-use agents (title)",
        "matched: GUI agents",
    ]
    assert all(r.reasons[0].startswith("matched: ") for r in ranking.picked)


def test_a_papers_terms_alone_are_its_full_analysis_terms() -> None:
    """`analyse_terms` (liked papers that are not candidates) counts exactly what the full
    analysis of the same paper does, on every paper of a real day."""
    papers = real_day()
    assert papers
    for paper_ in papers:
        assert analyse_terms(paper_) == analyse_paper(paper_).terms


def test_a_definition_counts_once_in_every_field() -> None:
    """ "Mixture-of-Experts (MoE)" is one mention of the long form, in the keywords and the AI
    summary as in the abstract: counted twice, a phrase a paper only uses as a part ("a
    LoRA-based Mixture of Experts (LoRA-MoE)") looked as strong as one in its title."""
    defined = paper(
        "2508.00001", "Visual effects", "A Mixture-of-Experts (MoE) adapter.",
        ai_summary="It uses a Mixture-of-Experts (MoE) adapter.",
        ai_keywords=("Mixture-of-Experts (MoE)", "LoRA-based Mixture of Experts (LoRA-MoE)"),
    )
    plain = dataclasses.replace(
        defined, abstract="A Mixture-of-Experts adapter.",
        ai_summary="It uses a Mixture-of-Experts adapter.",
        ai_keywords=("Mixture-of-Experts", "LoRA-based Mixture of Experts"),
    )
    assert analyse_paper(defined) == analyse_paper(plain)
    assert analyse_terms(defined) == analyse_terms(plain)


def test_empty_day_and_empty_profile_parts() -> None:
    """No candidates, no max_papers or an empty phrase give an empty ranking, not an error."""
    assert rank(topics("sparse attention"), Candidates.build([]), explain=True) == Ranking(())
    candidates = day(paper("2508.00001", "Sparse attention"))
    assert rank(topics("sparse attention", max_papers=0), candidates).picked == ()
    assert rank(topics(""), candidates).picked == ()
    assert rank_many([], candidates) == []


@pytest.mark.parametrize(("weight", "first"), [(2.0, "2508.00002"), (-1.0, "2508.00001")])
def test_topic_weights(weight: float, first: str) -> None:
    """A topic's weight scales its matches; a negative weight pushes its matches down."""
    candidates = day(
        paper("2508.00001", "Sparse attention for text"),
        paper("2508.00002", "Sparse attention for speech recognition"),
    )
    profile = Profile(topics=(Topic("sparse attention"), Topic("speech recognition", weight)))
    ranking = rank(profile, candidates)
    assert ids(ranking)[0] == first
    if weight < 0:
        assert all("speech" not in reason for r in ranking.picked for reason in r.reasons)


def test_a_paragraph_as_a_topic_does_not_break_ranking() -> None:
    """A topic far longer than a phrase is cut to its first words, and still matches."""
    long_topic = "sparse attention " * 100
    ranking = rank(topics(long_topic), day(paper("2508.00001", "Sparse attention")))
    assert ids(ranking) == ["2508.00001"]


@pytest.mark.parametrize(
    "about",
    [
        paper("2508.00001", "Mixture-of-experts routing", "We route tokens to experts."),
        paper("2508.00001", "Routing", "A mixture of experts routes; mixture of experts: sparse."),
    ],
)
def test_a_passing_mention_counts_less(about: Paper) -> None:
    """The phrase in the title or said twice beats it said once, even echoed by the keywords."""
    passing = paper(
        "2508.00002",
        "Video effects",
        "A LoRA-based mixture of experts blends effects in videos.",
        ai_keywords=("mixture of experts",),
    )
    assert ids(rank(topics("mixture-of-experts"), day(passing, about)))[0] == "2508.00001"


def test_papers_about_a_topic_beat_papers_that_also_mention_it() -> None:
    """Of two papers that say a phrase alike, the one with less else to say ranks first."""
    focused = paper("2508.00002", "Sparse layers", "We study mixture of experts.")
    diffuse = paper(
        "2508.00001",
        "Sparse layers",
        "We study mixture of experts, video effects, audio codecs, robot arms and graph search.",
    )
    ranking = rank(topics("mixture-of-experts", trending=0.0), day(diffuse, focused))
    assert ids(ranking) == ["2508.00002", "2508.00001"]  # a tie would go to the smaller id
    assert all(r.reasons[0].startswith("matched: ") for r in ranking.picked)


def test_shared_caches_are_computed_once_and_read_only() -> None:
    """Profiles that share a phrase share its vectors, and no profile can change them."""
    candidates = day(paper("2508.00001", "Sparse attention"))
    first = rank(topics("sparse attention"), candidates)
    second = rank(topics("sparse attention", "speech recognition"), candidates)
    assert candidates.topic("sparse attention") is candidates.topic("sparse attention")
    assert not candidates.topic("sparse attention").flags.writeable
    assert ids(first) == ids(second)[:1] == ["2508.00001"]


@pytest.mark.parametrize(
    ("least", "picked", "left_out"),
    [
        (None, ["2508.00001", "2508.00003"], "weak match (0.110 < 0.12)"),
        (0.3, ["2508.00001"], "weak match (0.223 < 0.3)"),
        (1.0, [], "weak match (0.600 < 1)"),
    ],
)
def test_min_relevance_sets_how_strong_a_match_must_be(
    least: float | None, picked: list[str], left_out: str
) -> None:
    """`min_relevance` (0.12 unless set) is the least relevance a paper needs to be sent; a
    paper below it says so in `preview --explain`, with the profile's own value."""
    knob = {} if least is None else {"min_relevance": least}
    candidates = day(
        paper("2508.00001", "Sparse attention"),
        paper("2508.00002", "Attention for speech", "We sparsify nothing."),
        paper("2508.00003", "Kernels", "Sparse kernels and attention heads."),
    )
    ranking = rank(topics("sparse attention", **knob), candidates, explain=True)
    assert ids(ranking) == picked
    reasons = {e.paper.id: e.reason for e in ranking.excluded}
    assert left_out in reasons.values()


SQUARELY = paper(
    "2508.00001",
    "Sparse attention for long contexts",
    "Sparse attention shrinks the KV cache. We study sparse attention and KV cache eviction.",
)
IN_PASSING = paper("2508.00002", "Other things", "Attention heads in speech and sparse kernels.")
BY_AUTHOR = paper("2508.00003", "Protein folding", "Nothing here.", authors=("Ada Lovelace",))


@pytest.mark.parametrize(
    ("papers", "profile", "picked"),
    [
        ((SQUARELY, IN_PASSING), topics("sparse attention", "KV cache"), ["2508.00001"]),
        ((IN_PASSING,), topics("sparse attention", "KV cache"), ["2508.00002"]),
        (
            (SQUARELY, IN_PASSING),
            topics("sparse attention", "KV cache", min_relevance=0.0),
            ["2508.00001", "2508.00002"],
        ),
        (
            (BY_AUTHOR, IN_PASSING),
            topics("sparse attention", "KV cache", authors=("Ada Lovelace",)),
            ["2508.00003", "2508.00002"],
        ),
        (
            (SQUARELY, BY_AUTHOR, IN_PASSING),
            topics("sparse attention", "KV cache", authors=("Ada Lovelace",)),
            ["2508.00001", "2508.00003"],
        ),
    ],
)
def test_a_weak_match_beside_a_strong_one_is_left_out(
    papers: tuple[Paper, ...], profile: Profile, picked: list[str]
) -> None:
    """A paper that shares a few words with the profile (0.158 here, above min_relevance) is
    sent on a day without a better match, and left out on a day with a paper squarely about
    the topics (it has less than RELATIVE_FLOOR of that paper's relevance), unless
    min_relevance is 0. A followed author's paper is always sent, and its bonus for the author
    does not raise the bar for the others."""
    ranking = rank(profile, day(*papers), explain=True)
    assert ids(ranking) == picked
    if "2508.00002" not in picked:
        assert excluded_reason(ranking, "2508.00002") == (
            "weak beside the best match (0.158 < 0.182; 2508.00001 has 1.214)"
        )


MENTION = paper("2508.00006", "Faster inference", "We add speculative decoding to a server.")
ALL_FOUR = paper(
    "2508.00007",
    "Sparse attention, KV cache and speculative decoding for long context",
    "Sparse attention, KV cache, long context and speculative decoding.",
)


@pytest.mark.parametrize(
    ("profile", "papers", "picked", "left_out"),
    [
        (
            topics("sparse attention", "KV cache", "long context", "speculative decoding"),
            (ALL_FOUR, MENTION, IN_PASSING),
            ["2508.00007", "2508.00006"],
            "weak beside the best match (0.179 < 0.250; 2508.00007 has 2.667)",
        ),
        (
            Profile(topics=(Topic("sparse attention", 10.0), Topic("speculative decoding"))),
            (SQUARELY, MENTION),
            ["2508.00001", "2508.00006"],
            None,
        ),
    ],
)
def test_a_phrase_said_whole_survives_any_best_match(
    profile: Profile, papers: tuple[Paper, ...], picked: list[str], left_out: str | None
) -> None:
    """The floor is at most FLOOR_CAP, below a phrase said once in an abstract: a best paper
    that matches four topics, or a topic weighted 10, does not silence a paper that has one
    of the other phrases whole."""
    ranking = rank(dataclasses.replace(profile, trending=0.0), day(*papers), explain=True)
    assert ids(ranking) == picked
    if left_out:
        assert excluded_reason(ranking, "2508.00002") == left_out


def test_the_floor_explained_is_the_floor_applied() -> None:
    """A followed author's paper passes every filter, an exclude phrase included, so its
    relevance from the topics (without the author's bonus) is the best match that sets the
    floor, in the ranking and in its explanation alike."""
    excluded = paper(
        "2508.00008",
        "Sparse attention and KV cache for protein folding",
        "Sparse attention and KV cache for protein folding.",
        authors=("Ada Lovelace",),
    )
    profile = topics(
        "sparse attention", "KV cache", authors=("Ada Lovelace",), exclude=("protein folding",),
        trending=0.0,
    )
    ranking = rank(profile, day(excluded, SQUARELY, IN_PASSING), explain=True)
    assert [(r.paper.id, round(r.score, 3)) for r in ranking.picked] == [
        ("2508.00008", 2.333), ("2508.00001", 1.223)
    ]
    assert excluded_reason(ranking, "2508.00002") == (
        "weak beside the best match (0.159 < 0.200; 2508.00008 has 1.333)"
    )


@pytest.mark.parametrize(
    "profile", [Profile(min_relevance=1.0), Profile(arxiv_categories=("cs.CL",), min_relevance=1.0)]
)
def test_min_relevance_leaves_a_profile_without_interests_alone(profile: Profile) -> None:
    """A profile with no topics, likes or authors gets the day's top votes (or its categories)
    whatever its min_relevance: there is no match to be strong or weak."""
    candidates = day(*(paper(f"2508.0000{n}", f"Paper {n}", upvotes=votes, categories=("cs.CL",))
                       for n, votes in ((1, 40), (2, 12), (3, 5))))
    picked = ids(rank(profile, candidates))
    assert picked[:3] == ["2508.00001", "2508.00002", "2508.00003"]


EXCLUDING = topics("sparse attention", exclude=("sparse attention",))


@pytest.mark.parametrize(
    ("profile", "seen", "reason"),
    [
        (EXCLUDING, (), "excluded: sparse attention"),
        (topics("sparse attention", min_upvotes=5), (), "below min_upvotes (0 < 5)"),
        (EXCLUDING, ("2508.00001",), "already sent"),
        (topics("protein folding"), (), "no topic matched"),
        (topics("sparse attention", max_papers=0), (), "below the cut (score "),
    ],
)
def test_explain_gives_the_first_reason_that_applies(
    profile: Profile, seen: tuple[str, ...], reason: str
) -> None:
    """A left-out paper gets the first reason that applies, in the order the README gives."""
    ranking = rank(profile, day(paper("2508.00001", "Sparse attention")), seen=seen, explain=True)
    assert excluded_reason(ranking, "2508.00001").startswith(reason)


def test_followed_authors_are_named_in_the_papers_order() -> None:
    """ "by ..." names every followed author of a paper, in the order the paper lists them."""
    authors = ("Ann Zed", "Percy Liang", "Bo Yan", "Jane Doe")
    candidates = day(paper("2508.00001", "Anything", authors=authors))
    ranking = rank(Profile(authors=("Jane Doe", "P. Liang")), candidates)
    assert reasons_of(ranking, "2508.00001") == ("by Percy Liang, Jane Doe",)


def test_postings_columns_read_back_what_was_gathered() -> None:
    """Flat postings give back each key's papers and values, alone or summed with weights."""
    vocab: dict[str, int] = {}
    entries = [(0, {"a": 1.0, "b": 2.0}), (2, {"a": 3.0})]
    columns = gather(vocab, entries, 3, grow=True)
    assert columns.vector(vocab["a"], 3).tolist() == [1.0, 0.0, 3.0]
    assert columns.mask(vocab["b"], 3).tolist() == [True, False, False]
    summed = columns.weighted_sum([vocab["a"], vocab["b"]], [1.0, 10.0], columns.values, 3)
    assert summed.tolist() == [21.0, 0.0, 3.0]
    assert columns.counts.tolist() == [2, 1]
    rows = [[vocab["a"], vocab["b"]], [], [vocab["a"]]]
    many = columns.weighted_sums(rows, [[1.0, 10.0], [], [2.0]], columns.values, 3)
    assert many.tolist() == [[21.0, 0.0, 3.0], [0.0, 0.0, 0.0], [2.0, 0.0, 6.0]]


PHRASES = [
    "GUI agents",
    "",  # no words: matches nothing
    "video generation",
    "the",  # a stop word only
    "LLM",  # an acronym, and a synonym
    "hallucination measurement and mitigation",  # a coordination: several variants
    "vision language action models for robot manipulation",
    "agents",
    "GUI agents",  # twice in one batch
]


def test_phrases_prepared_together_equal_each_alone() -> None:
    """`Candidates.prepare` (a batch's new phrases matched at once) gives every phrase the very
    matches, variant scores and topic rows it gets when asked for alone."""
    together = Candidates.build(real_day(), today=DAY)
    together.prepare(PHRASES[:6], PHRASES[6:])
    alone = Candidates.build(real_day(), today=DAY)
    for text in PHRASES:
        mine, theirs = together.match(text), alone.match(text)
        assert mine.score.tolist() == theirs.score.tolist()
        assert [v.tolist() for v in mine.each] == [v.tolist() for v in theirs.each]
    for text in PHRASES[:6]:
        assert together.topic(text).tolist() == alone.topic(text).tolist()
    assert together.match("GUI agents").score.any()
    assert len(together.match("hallucination measurement and mitigation").each) > 1


def test_exclusions_likes_and_signals_prepared_together_equal_each_alone() -> None:
    """A batch's exclude phrases and liked papers are worked out together (`Candidates.prepare`),
    and its words' signals too (`Evidence.table`): each gets the very vectors it gets alone."""
    papers = real_day()
    liked = [papers[0], papers[5], papers[0], papers[-1]]
    together = Candidates.build(papers, today=DAY)
    together.prepare(PHRASES[:3], PHRASES, liked)
    alone = Candidates.build(papers, today=DAY)
    for text in PHRASES:
        (mine_hard, mine_factor), (their_hard, their_factor) = (
            together.exclusion(text), alone.exclusion(text)
        )
        assert mine_hard.tolist() == their_hard.tolist()
        assert mine_factor.tolist() == their_factor.tolist()
        assert not mine_factor.flags.writeable and not mine_hard.flags.writeable
    for paper in liked:
        assert together.liked(paper).tolist() == alone.liked(paper).tolist()
        assert not together.liked(paper).flags.writeable
    keys: list[Key] = [("agent",), ("video",), ("nosuchstem",), (("languag", "model"),), ("agent",)]
    keys += [("languag", "model"), (("agent", "gui"), ("model", "video"))]
    keys += [(("text", "video", "to"),)]  # several stems, several pairs, "X-to-Y"
    table = together.evidence.table(keys)
    for key in keys:
        theirs = alone.evidence._signal(key)
        row = table.rows([[key]])[0, 0]
        flags = table.flags(row)
        assert table.saturated(row).tolist() == theirs.saturated.tolist()
        assert flags[PRESENT].tolist() == theirs.present.tolist()
        assert np.flatnonzero(flags[TITLED]).tolist() == theirs.titled.tolist()
        assert np.flatnonzero(flags[REPEATED]).tolist() == theirs.repeated.tolist()
        assert not theirs.saturated.flags.writeable and not theirs.present.flags.writeable


def test_ranking_many_at_once_equals_ranking_each_alone() -> None:
    """`rank_many` (how a run ranks its subscribers) picks, scores and explains exactly what
    `rank` does for each profile alone, whatever the mix of profile parts in the batch."""
    papers = real_day()
    ids_of_day = [p.id for p in papers]
    author = papers[3].authors[0] if papers[3].authors else "Nobody"
    cases = [
        Request(topics("GUI agents", "computer-use agents")),
        Request(topics("video generation", "diffusion", max_papers=3), seen={ids_of_day[0]}),
        Request(Profile()),  # no interests: the day's top votes
        Request(topics("reinforcement learning", exclude=("robot",), min_upvotes=5)),
        Request(Profile(authors=(author,), trending=1.0)),
        Request(topics("agents", recency=0.5, trending=0.0)),
        Request(topics("agents", "language models", "reasoning", "benchmark", "vision")),
        Request(Profile(liked=(ids_of_day[1],)), liked_papers=[papers[1]]),
        Request(Profile(topics=(Topic("agents", 2.0), Topic("memory", 0.5)), max_papers=1)),
        Request(topics("nothing like this", max_papers=0)),
        Request(topics("benchmark", "reinforcement learning", min_relevance=0.3)),
        Request(topics("video generation", "reinforcement learning", min_relevance=0.0)),
    ]
    candidates = Candidates.build(papers, today=DAY)
    together = rank_many(cases, candidates)
    alone = [rank(c.profile, Candidates.build(papers, today=DAY), seen=c.seen,
                  liked_papers=c.liked_papers) for c in cases]
    assert together == alone
    assert sum(len(r.picked) for r in together) > 20  # the cases do pick papers


def test_the_topic_tables_grow_past_their_room_and_keep_every_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past the rows the topic tables have room for, they grow: every phrase keeps its row,
    a view handed out before still reads the same values, and profiles rank as on fresh
    candidates."""
    monkeypatch.setattr("newsletter.ranking_candidates.ROWS", 2)
    papers = real_day()
    candidates = Candidates.build(papers, today=DAY)
    early = candidates.topic("agents")
    kept = early.copy()
    phrases = ["video generation", "diffusion", "reinforcement learning", "benchmark",
               "language models", "reasoning", "vision", "memory", "speech", "robot"]
    cases = [Request(topics(phrase, "agents")) for phrase in phrases]
    together = rank_many(cases, candidates)
    assert len(candidates.topic_table) == len(phrases) + 2  # row 0, "agents", the others
    assert early.tolist() == kept.tolist()
    assert candidates.topic("agents").tolist() == kept.tolist()
    alone = [rank(c.profile, Candidates.build(papers, today=DAY)) for c in cases]
    assert together == alone
    assert sum(len(r.picked) for r in together) > 20


def test_the_garbage_collector_is_paused_while_batches_run_in_any_thread() -> None:
    """`gc_paused` blocks may overlap in threads (the scheduler's jobs): the collector stays off
    until the last one ends, even when the first to begin ends first, comes back on after an
    error, and stays off if it was off."""
    inside, release = threading.Event(), threading.Event()

    def batch() -> None:
        with gc_paused():
            inside.set()
            release.wait(5)

    assert gc.isenabled()
    other = threading.Thread(target=batch)
    with pytest.raises(ValueError), gc_paused():
        other.start()
        inside.wait(5)
        raise ValueError
    assert not gc.isenabled()  # the other thread's batch, begun second, still runs
    release.set()
    other.join(5)
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # off before, off after
    finally:
        gc.enable()


def test_cyclic_garbage_made_between_many_pauses_is_still_collected() -> None:
    """A daemon ranks in many short pauses; cyclic garbage made just before each one must still
    be collected by the collector on its own. (Freezing what was alive for each pause, which
    resets the collector's counts, let it pile up without end: 300,000 objects here.)"""
    class Node:
        def __init__(self) -> None:
            self.me = self  # a cycle: only the collector frees it

    gc.collect()
    before = len(gc.get_objects())
    for _ in range(1000):
        junk = [Node() for _ in range(300)]
        del junk
        with gc_paused():
            pass
    assert len(gc.get_objects()) - before < 30_000


@pytest.mark.parametrize("zeros", [0.0, 0.5, 0.97, 1.0])
def test_best_agrees_with_sorting_every_row(zeros: float) -> None:
    """`best` (partition, then sort the few that can make the cut) picks what sorting each row
    whole by (score, tie-break order) picks: rows mostly zero, ties, fewer positives than k."""
    candidates = day(*[paper(f"2508.{i:05d}", f"Paper {i}", upvotes=i % 4) for i in range(40)])
    rng = np.random.default_rng(3)
    score = rng.choice([0.5, 0.25, 0.125, 0.7], size=(60, len(candidates)))
    score[rng.random(score.shape) < zeros] = 0.0
    ks = rng.integers(0, 12, size=60).tolist()
    place = {doc: at for at, doc in enumerate(candidates.facts.by_order.tolist())}
    expected = []
    for row, k in zip(score, ks, strict=True):
        positive = [d for d in range(len(candidates)) if row[d] > 0]
        expected.append(sorted(positive, key=lambda d: (-row[d], place[d]))[:k])
    assert best(score, candidates, ks) == expected
    assert any(expected) or zeros == 1.0
