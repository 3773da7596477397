"""The medium a paper works on (images, video, speech...), so that a method finds its field.

Many topic phrases name a method that papers of every medium use: "flow matching", "diffusion
guidance", "tokenizers". A profile that names one medium in at least two of its topics, and in
at least half of them ("autoregressive image generation", "visual tokenizers"), is about that
medium, and a speech codec that uses flow matching is a near miss for it, however well it
matches the phrase. Such a paper, one that says in its title or keywords that it works on
media of which the profile wants none (`Medium.named`), and does not name the profile's in its
abstract either, is pushed down (`FIELD_FACTOR`, `ranking_score`) and its reasons say so.

A multimodal paper ("multimodal LLM", "omni model", "VLM") is never of another medium. Neither
is a paper that names no medium in its title and keywords: a method paper may serve any.
On the judged sets, the profile about image generation went from 0.31 to 0.55 nDCG@10 (its
picks had been speech, music and motion papers that use flow matching); no other profile, by
month or by week, got worse.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Sequence
from itertools import pairwise
from typing import NamedTuple

from newsletter import textmatch
from newsletter.models import Paper, Profile

FIELD_FACTOR = 0.4  # a paper of another medium than the profile's is pushed down this much

# Each medium, the words that say a text works on it (casefolded; a hyphen parts words). Not
# "TTS" or "ASR" (also test-time scaling, attack success rate: `textmatch.AMBIGUOUS_ACRONYMS`),
# "sound" ("sound and complete") or "manipulation" (of images, of data).
FIELDS: dict[str, tuple[str, ...]] = {
    "images": (
        "image", "images", "vision", "visual", "pixel", "pixels", "photo", "photos", "photograph",
        "photographs", "photorealistic", "t2i", "picture", "pictures",
    ),
    "video": ("video", "videos"),
    "audio": ("speech", "audio", "voice", "voices", "spoken", "music", "acoustic"),
    "language models": ("llm", "llms", "language model", "language models"),
    "3D": (
        "3d", "mesh", "meshes", "point cloud", "point clouds", "nerf", "nerfs",
        "gaussian splatting",
    ),
    "motion": ("motion", "motions"),
    "robots": ("robot", "robots", "robotic", "robotics", "embodied", "vla", "vlas"),
    "molecules": (
        "molecule", "molecules", "molecular", "protein", "proteins", "drug", "drugs", "genome",
        "genomic", "genomics", "chemical", "chemistry",
    ),
}
# Words of a paper that works on several media at once: never of another medium.
MULTIMODAL = (
    "multimodal", "multi modal", "cross modal", "mllm", "mllms", "vlm", "vlms", "lmm", "lmms",
    "omni", "omnimodal", "modality", "modalities",
)

Fields = frozenset[str]
_TOKEN = textmatch.WORD  # on casefolded text
_NO_FIELD: Fields = frozenset()
_VLA = re.compile(r"\bvision[- ]language[- ]action\b")


class _Lexicon:
    """Words and two-word terms, each naming a medium, found in a text's words at C speed:
    a set intersection first (most words name nothing), then the pairs if a first word is in."""

    def __init__(self, named: dict[str, tuple[str, ...]]) -> None:
        """Index every word and pair of words of `named`."""
        self.single: dict[str, str] = {}
        self.pairs: dict[tuple[str, str], str] = {}
        for name, terms in named.items():
            for term in terms:
                first, *rest = term.split()
                if rest:
                    self.pairs[first, rest[0]] = name
                else:
                    self.single[first] = name
        self.firsts = {first for first, _ in self.pairs}
        self.known = self.single.keys() | self.firsts

    def find(self, words: list[str], present: set[str]) -> Fields:
        """The media named in `words` (`present`: the same, as a set)."""
        hits = self.known & present
        if not hits:
            return _NO_FIELD
        found = {self.single[word] for word in hits if word in self.single}
        if not hits.isdisjoint(self.firsts):
            pairs = self.pairs
            found.update(pairs[two] for two in pairwise(words) if two in pairs)
        return frozenset(found)


_FIELDS = _Lexicon(FIELDS)
_MULTIMODAL = _Lexicon({"multimodal": MULTIMODAL})


def fields_of(text: str) -> Fields:
    """The media a text names."""
    words = _read(text)
    return _FIELDS.find(words, set(words))


def _read(text: str) -> list[str]:
    """A text's words, casefolded; "vision-language-action" is read as "VLA": a robot policy,
    whose "vision" is what it sees, not a medium it works on."""
    return _TOKEN.findall(_VLA.sub("vla", text.casefold()))


def _words(texts: list[str]) -> list[str]:
    """The words of several texts (a title and keywords), with "" between two texts, so that
    no pair of words spans them ("sign language" and "model merging" are no language model)."""
    words: list[str] = []
    for text in texts:
        words += [*_read(text), ""]
    return words


class Medium(NamedTuple):
    """What a profile is about (`main`: named by at least two of its topics and at least half
    of them), and the media it wants papers of (`named`: also those of its topics that name
    another medium alone: "speech synthesis" beside "image generation" and "visual tokenizers"
    wants speech papers too, but "vision-language models" does not want language models)."""

    main: Fields
    named: Fields


def medium_of(profile: Profile) -> Medium | None:
    """The medium a profile is about, from the topics it wants (a topic of negative weight is
    one it does not), or None. Most profiles have fewer than two topics that name a medium,
    and are told so without a tuple of their topics (a `send` plans every profile once)."""
    naming = 0
    for topic in profile.topics:
        if topic.weight > 0 and _topic_fields(topic.phrase):
            naming += 1
    if naming < 2:
        return None
    return profile_medium(tuple([t.phrase for t in profile.topics if t.weight > 0]))


@functools.lru_cache(maxsize=65536)
def profile_medium(topics: tuple[str, ...]) -> Medium | None:
    """The medium of a profile's topics, or None if it is about none; memoised, as a daemon
    ranks the same profiles every day."""
    found = [fields for fields in map(_topic_fields, topics) if fields]
    if len(found) < 2:  # most profiles
        return None
    counts = Counter(name for fields in found for name in fields)
    main = frozenset(
        name for name, count in counts.items() if count >= 2 and 2 * count >= len(topics)
    )
    if not main:
        return None
    apart = [fields for fields in found if main.isdisjoint(fields)]  # not "vision-language"
    return Medium(main, main.union(*apart))


@functools.lru_cache(maxsize=65536)
def _topic_fields(phrase: str) -> Fields:
    """`fields_of` a topic phrase, memoised: subscribers share topics."""
    return fields_of(phrase)


class PaperFields:
    """The media each candidate says it works on (in its title or keywords), and whether it is
    multimodal; a paper's abstract is read only if its title and keywords name a medium."""

    def __init__(self, papers: Sequence[Paper]) -> None:
        """Read every paper's title and keywords once."""
        self.papers = papers
        self.head: list[Fields] = []
        self.multimodal: list[bool] = []
        for paper in papers:
            words = _words([paper.title, *paper.ai_keywords])
            present = set(words)
            self.head.append(_FIELDS.find(words, present))
            self.multimodal.append(bool(_MULTIMODAL.find(words, present)))
        self._abstracts: dict[int, Fields] = {}

    def elsewhere(self, medium: Medium) -> list[bool]:
        """Whether each candidate is of another medium than a profile's: its title or keywords
        name a medium, none the profile names, and its abstract does not name the profile's
        main one either (see the module docstring)."""
        named, main = medium.named, medium.main
        return [
            bool(head) and not multimodal and named.isdisjoint(head)
            and main.isdisjoint(self._abstract(doc))
            for doc, (head, multimodal) in enumerate(zip(self.head, self.multimodal, strict=True))
        ]

    def _abstract(self, doc: int) -> Fields:
        """The media a candidate's abstract names; read once."""
        found = self._abstracts.get(doc)
        if found is None:
            found = self._abstracts[doc] = fields_of(self.papers[doc].abstract)
        return found


def medium_note(medium: Medium) -> str:
    """What `subscribers show` says of a profile's medium."""
    return f"about {_listed(medium.main)}: papers of other media are pushed down"


def elsewhere_reason(paper_fields: Fields, medium: Medium) -> str:
    """"about audio, not images (pushed down)"."""
    return f"about {_listed(paper_fields)}, not {_listed(medium.main)} (pushed down)"


def _listed(fields: Fields) -> str:
    """Media in FIELDS order, joined with "and" ("video and robots")."""
    names = [name for name in FIELDS if name in fields]
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)
