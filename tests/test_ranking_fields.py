"""Tests of the medium rule (`newsletter.ranking_fields`): a profile about images is not sent
the speech papers that share its methods, and says so when one still makes the cut."""

from __future__ import annotations

import pytest

from newsletter.matching import Request, rank, rank_many
from newsletter.models import Paper, Profile, Topic
from newsletter.ranking_fields import FIELD_FACTOR, Medium, fields_of, profile_medium
from tests.test_matching import day, excluded_reason, ids, paper, reasons_of, topics

IMAGES = ("autoregressive image generation", "visual tokenizers", "flow matching")
SPEECH = paper("2508.00001", "Flow matching for speech synthesis", "A codec for spoken audio.")
PICTURE = paper("2508.00002", "Flow matching for image generation", "We generate images.")
METHOD = paper("2508.00003", "A theory of flow matching", "We study flow matching.")
REASON = "about audio, not images (pushed down)"


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("Autoregressive image generation", {"images"}),
        ("Text-to-Image diffusion", {"images"}),
        ("TaDiCodec: a speech tokenizer", {"audio"}),
        ("Point clouds and meshes", {"3D"}),
        ("vision-language models", {"images", "language models"}),
        ("Vision-Language-Action policies", {"robots"}),  # what a robot sees is no medium
        ("LLM-as-a-judge", {"language models"}),
        ("MotionFlux: text-guided motion generation", {"motion"}),
        ("Mol-R1: long-CoT reasoning in molecule discovery", {"molecules"}),
        ("flow matching", set()),
        ("imagery and pointwise clouds", set()),  # whole words and whole pairs only
        ("Test-time scaling (TTS) and the attack success rate (ASR)", set()),  # ambiguous
        ("A sound and complete proof; data manipulation", set()),
        ("", set()),
    ],
)
def test_the_media_a_text_names(text: str, fields: set[str]) -> None:
    assert fields_of(text) == fields


@pytest.mark.parametrize(
    ("phrases", "medium"),
    [
        (IMAGES, Medium(frozenset({"images"}), frozenset({"images"}))),
        # a topic naming another medium alone wants its papers too
        ([*IMAGES, "speech synthesis"],
         Medium(frozenset({"images"}), frozenset({"images", "audio"}))),
        # "language models" of "vision-language models" is how the images are read, not a want
        (["vision-language models", "visual token pruning", "OCR"],
         Medium(frozenset({"images"}), frozenset({"images"}))),
        (["image generation", "flow matching"], None),  # one topic names it: no medium
        (["image generation", "visual tokenizers", "speech", "flow matching", "RL", "MoE"], None),
        (["image generation", "video generation", "flow matching"], None),
        (["flow matching", "diffusion guidance"], None),
        ([], None),
    ],
)
def test_the_medium_of_a_profile_needs_two_topics_and_half(
    phrases: list[str], medium: Medium | None
) -> None:
    assert profile_medium(tuple(phrases)) == medium


def test_a_paper_of_another_medium_is_pushed_down_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    c = day(SPEECH, PICTURE, METHOD)
    ranking = rank(topics(*IMAGES), c)
    assert ids(ranking)[0] == PICTURE.id
    assert REASON in reasons_of(ranking, SPEECH.id)
    for pid in (PICTURE.id, METHOD.id):  # the profile's medium, and none: no reason
        assert not [r for r in reasons_of(ranking, pid) if "pushed down" in r]
    monkeypatch.setattr("newsletter.ranking_score.FIELD_FACTOR", 1.0)
    unpushed = rank(topics(*IMAGES), day(SPEECH, PICTURE, METHOD))
    score = {r.paper.id: r.score for r in ranking.picked}
    before = {r.paper.id: r.score for r in unpushed.picked}
    assert score[SPEECH.id] == pytest.approx(FIELD_FACTOR * before[SPEECH.id], abs=1e-4)
    assert score[PICTURE.id] == before[PICTURE.id]
    assert score[METHOD.id] == before[METHOD.id]


@pytest.mark.parametrize(
    "spared",
    [
        # the abstract names the profile's medium
        paper("2508.00004", "Flow matching for speech", "Speech, then images too."),
        # multimodal: every medium at once
        paper("2508.00004", "An omni model: flow matching for speech", "One model for all."),
        paper("2508.00004", "Flow matching", "A codec.", ai_keywords=("MLLMs", "speech")),
        # the title and keywords name no medium (the abstract's speech does not count)
        paper("2508.00004", "Flow matching made fast", "We synthesise speech."),
        # the title names the profile's medium beside another
        paper("2508.00004", "Flow matching for speech and images", "A codec."),
    ],
)
def test_a_paper_that_may_serve_the_profiles_medium_is_not_pushed_down(spared: Paper) -> None:
    ranking = rank(topics(*IMAGES), day(spared, PICTURE))
    assert "2508.00004" in ids(ranking)
    assert not [r for r in reasons_of(ranking, "2508.00004") if "pushed down" in r]


def test_no_pair_of_words_spans_the_title_and_a_keyword() -> None:
    """"sign language" ending the title and "model merging" a keyword are no language model."""
    signs = paper("2508.00004", "Flow matching for sign language", "Hands.",
                  ai_keywords=("model merging",))
    spoken = paper("2508.00005", "Flow matching for speech", "A codec.")
    ranking = rank(topics(*IMAGES), day(signs, spoken, PICTURE))
    assert not [r for r in reasons_of(ranking, signs.id) if "pushed down" in r]
    assert reasons_of(ranking, spoken.id)[-1] == REASON


def test_keywords_say_a_papers_medium() -> None:
    keyed = paper("2508.00004", "Flow matching made fast", "A codec.", ai_keywords=("voice",))
    ranking = rank(topics(*IMAGES), day(keyed, PICTURE))
    assert REASON in reasons_of(ranking, keyed.id)


def test_a_topic_naming_another_medium_alone_wants_its_papers() -> None:
    ranking = rank(topics(*IMAGES, "speech synthesis"), day(SPEECH, PICTURE))
    assert not [r for r in reasons_of(ranking, SPEECH.id) if "pushed down" in r]


def test_topics_of_negative_weight_give_no_medium() -> None:
    profile = Profile(
        topics=(Topic("image generation", -1.0), Topic("visual tokenizers", -1.0),
                Topic("flow matching"))
    )
    ranking = rank(profile, day(SPEECH, PICTURE, METHOD))
    assert not [r for r in reasons_of(ranking, SPEECH.id) if "pushed down" in r]


def test_a_followed_authors_paper_is_never_pushed_down() -> None:
    by_her = paper("2508.00005", "Flow matching for speech", "Audio.", authors=("Ada Lovelace",))
    ranking = rank(topics(*IMAGES, authors=("Ada Lovelace",)), day(by_her, PICTURE))
    assert reasons_of(ranking, by_her.id)[-1] == "by Ada Lovelace"
    assert ids(ranking)[0] == by_her.id


def test_explain_says_a_paper_left_out_was_of_another_medium() -> None:
    ranking = rank(topics(*IMAGES, max_papers=1), day(SPEECH, PICTURE, METHOD), explain=True)
    assert ids(ranking) == [PICTURE.id]
    assert excluded_reason(ranking, SPEECH.id).startswith("below the cut (score ")
    assert excluded_reason(ranking, SPEECH.id).endswith("); " + REASON)
    assert "pushed down" not in excluded_reason(ranking, METHOD.id)
    # the filler's speech paper matches no topic: the pushdown changed nothing for it
    assert excluded_reason(ranking, "2508.90001") == "no topic matched"


def test_batched_and_alone_agree_with_and_without_a_medium() -> None:
    c = day(SPEECH, PICTURE, METHOD)
    profiles = [topics(*IMAGES), topics("flow matching"), topics(*IMAGES, "speech synthesis")]
    together = rank_many([Request(p) for p in profiles], c)
    for profile, batched in zip(profiles, together, strict=True):
        alone = rank(profile, day(SPEECH, PICTURE, METHOD))
        assert [(r.paper.id, r.score, r.reasons) for r in batched.picked] == [
            (r.paper.id, r.score, r.reasons) for r in alone.picked
        ]
