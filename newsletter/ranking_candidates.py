"""`Candidates`: the papers that can be sent, indexed, with the work profiles share cached.

The pipeline builds one `Candidates` per (window, sources) and ranks every subscriber of the run
against it, so whatever depends on a phrase, a liked paper or a knob value, and not on the
profile as a whole, is computed once and kept here: thousands of subscribers share "diffusion
models". Cached arrays are read-only (`ranking_index.shared`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import cast

import numpy as np

from newsletter.models import Paper
from newsletter.ranking_evidence import Evidence, Table
from newsletter.ranking_facts import Facts
from newsletter.ranking_fields import Medium, PaperFields
from newsletter.ranking_index import ArrayT, Index, Mask, Matrix, Positions, Vector, shared
from newsletter.ranking_label_codes import Codes, label_codes
from newsletter.ranking_labels import PhraseLabels, matched_reasons
from newsletter.ranking_phrases import PhraseMatch, complete_many, match, match_many, words
from newsletter.ranking_semantic import Embedder, Meaning
from newsletter.ranking_similarity import liked_many, topical_many

HARD_EXCLUDE = 0.4  # an exclude phrase matched this well, and central to a paper, disqualifies it
SOFT_EXCLUDE = 0.2  # ... and matched this well (mentioned in passing) pushes the paper down
SOFT_EXCLUDE_FACTOR = 0.5
ROWS = 1024  # topic phrases the tables have room for at first (see `_grown`)
GROWTH = 4


class Candidates(Index):
    """The text index of the candidates (`Index`), their `facts`, and caches of phrase matches,
    topic rows, exclusions, liked-paper similarities and labels; with an embedder, also their
    `meaning` (the semantic ranker, `ranking_semantic`), else `meaning` is None."""

    def __init__(
        self, papers: list[Paper], today: dt.date | None, embedder: Embedder | None = None
    ) -> None:
        """Use `Candidates.build`."""
        super().__init__(papers)
        self.today = today
        self.meaning = Meaning(embedder, self.papers) if embedder is not None else None
        self.facts = Facts(self.papers, today)
        self.evidence = Evidence(self)
        self._matches: dict[str, PhraseMatch] = {}
        self._topics: dict[str, int] = {}  # rows of `topic_table`
        self._views: dict[str, Matrix] = {}  # `topic`
        self._table = np.zeros((ROWS, 2 * len(self)))  # row 0: no topic (zeros); see `topic_row`
        self._codes = np.zeros((ROWS, len(self)), dtype=np.int64)  # rows as `_table`'s
        self._phrases = [PhraseLabels("")]  # the phrase of each row, to spell its labels
        self._excludes: dict[str, tuple[Positions, Vector]] = {}
        self._together: dict[str, Mask] = {}  # `excluded_whole`
        self._likes: dict[str, Vector] = {}
        self._liked_titles: dict[str, str] = {}  # `liked_title`
        self._matched: dict[bytes, tuple[str, ...]] = {}
        self._multipliers: dict[tuple[float, float], Vector] = {}
        self._below: dict[int, Positions] = {}
        self._fields: PaperFields | None = None  # `paper_fields`, read when first asked
        self._elsewhere: dict[Medium, Mask] = {}

    @classmethod
    def build(
        cls, papers: Iterable[Paper], *, today: dt.date | None = None,
        embedder: Embedder | None = None,
    ) -> Candidates:
        """Analyse the papers (the first copy of each id wins) and index them for ranking; with
        an `embedder`, rank by meaning too (they are embedded when first needed)."""
        unique: dict[str, Paper] = {}
        for paper in papers:
            unique.setdefault(paper.id, paper)
        return cls(list(unique.values()), today, embedder)

    def match(self, text: str) -> PhraseMatch:
        """A profile phrase matched against every candidate (`ranking_phrases`); cached."""
        found = self._matches.get(text)
        if found is None:
            found = self._matches[text] = match(self, text, self.evidence)
        return found

    def phrase(self, text: str) -> Vector:
        """Every candidate's match with a profile phrase, in [0, 1)."""
        return self.match(text).score

    def topic(self, text: str) -> Matrix:
        """Two rows over the candidates: a topic phrase's match (`phrase`) and its TF-IDF dot
        product (`ranking_similarity.topical_many`), side by side so that a profile adds both up at
        once; cached, a row of `topic_table`."""
        found = self._views.get(text)
        if found is None:
            row = self.topic_row(text)
            found = self._views[text] = shared(self._table[row].reshape(2, len(self)))
        return found

    def topic_row(self, text: str) -> int:
        """The row of a topic phrase (`topic`) in `topic_table`."""
        found = self._topics.get(text)
        if found is None:
            self.prepare([text])
            found = self._topics[text]
        return found

    @property
    def topic_table(self) -> Matrix:
        """Every topic phrase asked for so far, a row each (`topic` flattened), after a row of
        zeros: a batch of profiles gathers its topics from it in one call (`ranking_score`)."""
        return self._table[: len(self._phrases)]

    @property
    def code_table(self) -> Codes:
        """The label code (`ranking_label_codes`) of every candidate for each topic phrase, in
        the rows of `topic_table` (row 0: code 0)."""
        return self._codes[: len(self._phrases)]

    def prepare(
        self, topics: Iterable[str], excludes: Iterable[str] = (), liked: Iterable[Paper] = ()
    ) -> None:
        """Match the topic and exclude phrases, and compare the liked papers, that are not cached
        yet, all together (`ranking_phrases.match_many`, `ranking_similarity.topical_many`,
        `ranking_similarity.liked_many`): a batch of profiles brings dozens of new phrases and
        liked papers, and one at a time, numpy's overhead per call was most of their cost."""
        new = [text for text in dict.fromkeys(topics) if text not in self._topics]
        unexcluded = [text for text in dict.fromkeys(excludes) if text not in self._excludes]
        if new or unexcluded:
            self._add_phrases(new, unexcluded)
        unliked: dict[str, Paper] = {}
        for paper in liked:
            if paper.id not in self._likes:
                unliked.setdefault(paper.id, paper)  # the first paper of an id, as when cached
        if unliked:
            self._add_likes(list(unliked.values()))

    def _add_phrases(self, new: list[str], unexcluded: list[str]) -> None:
        """Match new topic and exclude phrases (not cached yet), and add their rows: their
        words and links are looked up together, in one `Table` for the batch."""
        texts = list(dict.fromkeys([*new, *unexcluded]))
        table = self.evidence.table(words(texts))
        fresh = [text for text in texts if text not in self._matches]
        self._matches.update(zip(fresh, match_many(self, fresh, table), strict=True))
        if new:
            found = [(text, self._matches[text]) for text in new]
            codes = label_codes(self, found, table)
            self._add_rows(new, [m.score for _, m in found], topical_many(self, new), codes)
        if unexcluded:
            self._add_exclusions(unexcluded, table)

    def _add_rows(self, texts: list[str], scores: list[Vector], dots: Matrix, codes: Codes) -> None:
        """Add topic phrases to `topic_table` and `code_table`, a row each, in one go."""
        n, start, end = len(self), len(self._phrases), len(self._phrases) + len(texts)
        while end > len(self._table):  # views handed out keep the old copy
            self._table, self._codes = _grown(self._table), _grown(self._codes)
        self._table[start:end, :n] = scores
        self._table[start:end, n:] = dots
        self._codes[start:end] = codes
        self._topics.update(zip(texts, range(start, end), strict=True))
        self._phrases.extend(map(PhraseLabels, texts))

    def exclusion(self, text: str) -> tuple[Positions, Vector]:
        """For an exclude phrase: the candidates it disqualifies (matched at HARD_EXCLUDE,
        with the phrase central: whole in the title, or said twice in the abstract), and a
        factor per candidate that pushes down those that mention it (SOFT_EXCLUDE); cached.

        Only papers with all the words of the phrase (or of a variant) count: excluding
        "humanoid robot" says nothing against a paper on robots. A paper is disqualified only
        when the phrase is what it is about, by the rule a topic match is discounted by
        (`ranking_evidence.central`): "image" in one keyword and "video generation" in another
        is no image generation paper, and an image guidance paper that also tries its method on
        video, in one keyword and one sentence, is no video paper; both are pushed down (of the
        judged papers that only keywords or one mention disqualified, 4 in 17 were wanted; of
        those still disqualified, 3 in 49).
        """
        found = self._excludes.get(text)
        if found is None:
            self.prepare((), [text])
            found = self._excludes[text]
        return found

    def _add_exclusions(self, texts: list[str], table: Table) -> None:
        """`exclusion` of phrases already matched, their words and links in `table`, all in
        one go (a row each)."""
        matched = np.array([self._matches[text].score for text in texts])
        found = complete_many(self, texts, table)
        whole = shared(found.whole)  # its rows are cached below (`excluded_whole`)
        score = np.where(found.every, matched, 0.0)
        factors = shared(np.where(score >= SOFT_EXCLUDE, SOFT_EXCLUDE_FACTOR, 1.0))
        rows, hard = np.nonzero((score >= HARD_EXCLUDE) & found.central)
        each = np.split(shared(hard), np.searchsorted(rows, range(1, len(texts))))
        self._excludes.update(zip(texts, zip(each, factors, strict=True), strict=True))
        self._together.update(zip(texts, whole, strict=True))

    def excluded_whole(self, text: str) -> Mask:
        """For an exclude phrase: the candidates that have it whole (every word, each next to
        the next), as opposed to its words apart; cached with `exclusion`."""
        self.exclusion(text)
        return self._together[text]

    def liked(self, paper: Paper) -> Vector:
        """Every candidate's cosine similarity to a liked paper (`ranking_similarity`); cached."""
        found = self._likes.get(paper.id)
        if found is None:
            self.prepare((), (), [paper])
            found = self._likes[paper.id]
        return found

    def _add_likes(self, papers: list[Paper]) -> None:
        """`liked` of papers (distinct ids) not compared yet, all in one go (a row each)."""
        self._likes.update(
            zip([p.id for p in papers], shared(liked_many(self, papers)), strict=True)
        )
        self._liked_titles.update((p.id, p.title) for p in papers)
        if self.meaning is not None:
            for paper in papers:
                self.meaning.remember(paper)

    def liked_title(self, paper_id: str) -> str:
        """The title of a liked paper compared so far (`liked`), or "" if none was."""
        return self._liked_titles.get(paper_id, "")

    def matched(self, pairs: Codes) -> list[tuple[str, ...]]:
        """("matched: ...",) (`ranking_labels.matched_reasons`) for each pick, or () for a pick
        that matched no phrase. A pick is a row of `pairs`: the rows of the phrases it matched
        (`topic_row`), strongest first, each followed by its label code (`code_table`), then
        0s. Cached per pick, keyed by the row's bytes, as many picks read alike; those not
        cached yet are spelled all together."""
        rows = pairs.view(np.dtype((np.void, pairs.itemsize * pairs.shape[1]))).ravel()
        keys = cast(list[bytes], rows.tolist())
        said = self._matched
        missing = {key: i for i, key in enumerate(keys) if key not in said}
        if missing:
            spelled = matched_reasons(self._phrases, pairs[list(missing.values())])
            for key, reason in zip(missing, spelled, strict=True):
                said[key] = (reason,) if reason is not None else ()
        return list(map(said.__getitem__, keys))

    def multiplier(self, trending: float, recency: float) -> Vector:
        """(1 + trending * votes) * (1 + recency * freshness), per candidate; cached per pair
        of values (a run's profiles have a few)."""
        found = self._multipliers.get((trending, recency))
        if found is None:
            facts = self.facts
            boosted = 1.0 + trending * facts.votes
            if recency:
                boosted *= 1.0 + recency * facts.freshness
            found = self._multipliers[trending, recency] = shared(boosted)
        return found

    def below(self, min_upvotes: int) -> Positions:
        """The candidates with fewer upvotes than `min_upvotes`; cached per threshold."""
        found = self._below.get(min_upvotes)
        if found is None:
            below = np.flatnonzero(self.facts.upvotes < min_upvotes)
            found = self._below[min_upvotes] = shared(below)
        return found


    @property
    def paper_fields(self) -> PaperFields:
        """The media each candidate works on (`ranking_fields`), read when a profile first
        names one."""
        if self._fields is None:
            self._fields = PaperFields(self.papers)
        return self._fields

    def elsewhere(self, medium: Medium) -> Mask:
        """Which candidates are of another medium than a profile's (`ranking_fields`); cached
        per medium."""
        found = self._elsewhere.get(medium)
        if found is None:
            mask = np.array(self.paper_fields.elsewhere(medium), dtype=bool)
            found = self._elsewhere[medium] = shared(mask)
        return found


def _grown(table: ArrayT) -> ArrayT:
    """A copy of a table with GROWTH times the rows, the new ones zeros. np.zeros leaves the
    new rows to the OS to zero when first written, so rows never written cost no memory, and a
    few large steps copy less than many small ones (doubling from 64 rows cost 0.1 s of
    copying and page faults for 3,400 phrases)."""
    out = np.zeros((GROWTH * len(table), table.shape[1]), dtype=table.dtype)
    out[: len(table)] = table
    return cast(ArrayT, out)
