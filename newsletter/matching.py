"""Rank a day's papers for one subscriber profile, and say why each paper was picked.

Pure: no I/O and no clock reads (the caller passes `today`). The day's papers are analysed once
into `Candidates`: the stems of every field and the pairs of stems at most one word apart, with
field-weighted counts (title > keywords > AI summary > abstract, as in BM25F), and IDF over the
candidates. A profile phrase is matched against all candidates once per day, whoever asked for
it, and kept as a vector (thousands of subscribers share "diffusion models"); ranking a profile
is then a few vector operations over the day and the reasons of the picks.

The score of a picked paper (higher is better) is

    relevance * (1 + trending * votes) * (1 + RECENCY * freshness) * pushdown

- relevance adds weight * match for each topic, where a match is in [0, 1): 0.33 for a phrase
  met once in the abstract, 0.6 once in the title, 0.75 in title, keywords and abstract, less
  for part of a phrase (its words' share of the phrase's IDF); plus LIKED_WEIGHT * the cosine
  similarity to the closest liked paper (0.18 and up), and AUTHOR_BONUS for a followed author;
- votes is log(1 + upvotes) / log(1 + the most upvotes among the candidates), in [0, 1];
- freshness is 1 for a paper listed `today` and halves every HALF_LIFE_DAYS before it (0
  when no `today` was given);
- pushdown is SOFT_EXCLUDE_FACTOR for each exclude phrase mentioned in passing, else 1.

A paper needs relevance >= QUALIFY (or a followed author) to be picked. Followed authors'
papers pass every filter (exclusions, min_upvotes, categories) but not `seen` or `liked`.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, NamedTuple, TypeVar

import numpy as np
import numpy.typing as npt

from newsletter import textmatch
from newsletter.models import Excluded, Paper, Profile, RankedPaper, Ranking

# Weight of one occurrence of a word in each field (a field-weighted term frequency).
TITLE_WEIGHT = 3.0
KEYWORD_WEIGHT = 2.0
SUMMARY_WEIGHT = 1.5
ABSTRACT_WEIGHT = 1.0
GAP_WEIGHT = 0.6  # two words one word apart count this much of two words side by side
SATURATION = 2.0  # evidence e counts e / (e + SATURATION): repeats add less and less
BAG_SHARE = 0.5  # share of a topic's match from its words anywhere; the rest from words together
SYNONYM_FACTOR = 0.8  # a match through textmatch.SYNONYMS counts this much
MIN_TOPIC = 0.04  # topic matches below this are noise and dropped
QUALIFY = 0.12  # least relevance for a paper to be picked
HARD_EXCLUDE = 0.4  # an exclude phrase matched this well (title, keywords, repeated) disqualifies
SOFT_EXCLUDE = 0.2  # ... and matched this well (mentioned in passing) pushes the paper down
SOFT_EXCLUDE_FACTOR = 0.5
LIKED_WEIGHT = 1.2
LIKED_MIN = 0.18  # least cosine similarity to a liked paper that counts
LIKED_TERMS = 40  # a liked paper is summarised by its most telling stems
AUTHOR_BONUS = 1.0
RECENCY = 0.15
HALF_LIFE_DAYS = 7.0
LABEL_MIN_IDF = 0.5  # words in more than about 60% of the candidates are left out of reasons
HOT_SHARE = 0.2  # "trending" is said of the candidates' top fifth by votes ...
HOT_MIN_VOTES = 10  # ... that have at least this many votes

Pair = tuple[str, str]
Postings = dict[int, float]  # paper position → field-weighted count
Vector = npt.NDArray[np.float64]  # one value per candidate, in `Candidates.papers` order
Mask = npt.NDArray[np.bool_]
Positions = npt.NDArray[np.intp]
_NONE: Postings = {}


def _pair(a: str, b: str) -> Pair:
    """Pairs are unordered: "image editing" and "editing of images" are the same evidence."""
    return (a, b) if a < b else (b, a)


@dataclass(frozen=True, slots=True)
class _Fields:
    """One paper's text as sentences of stems: the title, and every field with its weight."""

    title: list[list[str]]
    weighted: list[tuple[float, list[list[str]]]]


def _analyse_paper(paper: Paper) -> _Fields:
    """Stem every field of a paper, with the acronyms the paper defines expanded everywhere."""
    local = textmatch.find_definitions(f"{paper.title}. {paper.abstract}")
    title = textmatch.analyse(paper.title, local)
    abstract = textmatch.analyse(textmatch.strip_definitions(paper.abstract), local)
    summary = textmatch.analyse(paper.ai_summary or "", local)
    keywords = [s for k in paper.ai_keywords for s in textmatch.analyse(k, local)]
    weighted = [
        (TITLE_WEIGHT, title),
        (ABSTRACT_WEIGHT, abstract),
        (SUMMARY_WEIGHT, summary),
        (KEYWORD_WEIGHT, keywords),
    ]
    return _Fields(title, weighted)


def _counts(fields: _Fields) -> tuple[dict[str, float], dict[Pair, float]]:
    """Field-weighted counts of each stem, and of each pair of stems at most one word apart."""
    terms: dict[str, float] = {}
    pairs: dict[Pair, float] = {}
    for weight, field in fields.weighted:
        near = weight * GAP_WEIGHT
        for sentence in field:
            for i, term in enumerate(sentence):
                terms[term] = terms.get(term, 0.0) + weight
                for other, value in zip(sentence[i + 1 : i + 3], (weight, near), strict=False):
                    if other != term:
                        key = _pair(term, other)
                        pairs[key] = pairs.get(key, 0.0) + value
    return terms, pairs


@functools.lru_cache(maxsize=4096)
def _stem_counts(paper: Paper) -> dict[str, float]:
    """A paper's stem counts, memoised: the same liked papers come back day after day."""
    return _counts(_analyse_paper(paper))[0]


def _title_pairs(title: list[list[str]]) -> frozenset[Pair]:
    """The pairs of stems at most one word apart in a title."""
    return frozenset(
        _pair(s[i], s[j])
        for s in title
        for i in range(len(s))
        for j in (i + 1, i + 2)
        if j < len(s)
    )


class Candidates:
    """The papers that can be sent, analysed once for every profile ranked against them.

    Holds postings of stems and of stem pairs, IDF over the candidates, vote and freshness
    boosts, and caches of the work that profiles share: phrase matches, liked-paper
    similarities, reason labels, dense vectors of postings.
    """

    def __init__(self, papers: Sequence[Paper], today: dt.date | None) -> None:
        """Use `Candidates.build`; this only sets up empty indexes."""
        n = len(papers)
        self.papers = tuple(papers)
        self.today = today
        self.index_of = {p.id: i for i, p in enumerate(self.papers)}
        self.terms: dict[str, Postings] = {}
        self.pairs: dict[Pair, Postings] = {}
        self.stem_counts: list[dict[str, float]] = []
        self.idf: dict[str, float] = {}
        self.vectors: dict[str, Postings] = {}  # unit-length TF-IDF vectors, as postings
        self.title_terms: list[frozenset[str]] = []
        self.title_pairs: list[frozenset[Pair]] = []
        self.authors: dict[str, list[int]] = {}
        self.author_keys: list[list[tuple[str, tuple[str, ...]]]] = []
        self.categories: dict[str, list[int]] = {}
        self.upvotes = np.array([max(0, p.upvotes) for p in self.papers], dtype=np.int64)
        self.votes: Vector = np.zeros(n)
        self.boost: Vector = np.ones(n)
        self.hot: list[bool] = [False] * n
        self.order = np.zeros(n, dtype=np.int64)  # tie-break rank: more upvotes, then smaller id
        self._dense: dict[str | Pair, Vector] = {}
        self._unit: dict[str, Vector] = {}
        self._evidence: dict[tuple[str, ...] | tuple[Pair, ...], tuple[Vector, Mask]] = {}
        self._matches: dict[str, _PhraseMatch] = {}
        self._excludes: dict[str, tuple[Mask, Vector]] = {}
        self._likes: dict[str, Vector] = {}
        self._labels: dict[tuple[str, int], tuple[str, str]] = {}
        self._wordings: dict[tuple[str, int, bool, int], tuple[str, str, list[int]]] = {}
        self._multipliers: dict[float, Vector] = {}
        self._below: dict[int, Mask] = {}

    @classmethod
    def build(cls, papers: Iterable[Paper], *, today: dt.date | None = None) -> Candidates:
        """Analyse the papers (the first copy of each id wins) and index them for ranking."""
        unique: dict[str, Paper] = {}
        for paper in papers:
            unique.setdefault(paper.id, paper)
        self = cls(list(unique.values()), today)
        for doc, paper in enumerate(self.papers):
            self._index_text(doc, paper)
            self._index_people(doc, paper)
        self._index_idf()
        self._index_votes()
        return self

    def __len__(self) -> int:
        """How many distinct papers can be ranked."""
        return len(self.papers)

    def _index_text(self, doc: int, paper: Paper) -> None:
        """Add one paper's stems and stem pairs to the postings."""
        fields = _analyse_paper(paper)
        terms, pairs = _counts(fields)
        for term, count in terms.items():
            self.terms.setdefault(term, {})[doc] = count
        for key, count in pairs.items():
            self.pairs.setdefault(key, {})[doc] = count
        self.stem_counts.append(terms)
        self.title_terms.append(frozenset(t for s in fields.title for t in s))
        self.title_pairs.append(_title_pairs(fields.title))

    def _index_people(self, doc: int, paper: Paper) -> None:
        """Index a paper by its authors' name keys and by its arXiv categories."""
        self.author_keys.append([(name, textmatch.name_keys(name)) for name in paper.authors])
        for _, keys in self.author_keys[-1]:
            for key in keys:
                self.authors.setdefault(key, []).append(doc)
        for category in paper.categories:
            self.categories.setdefault(category.casefold(), []).append(doc)

    def _index_idf(self) -> None:
        """BM25's IDF over the candidates (a word most papers have weighs almost nothing), and
        the papers' unit-length TF-IDF vectors for liked-paper similarity."""
        n = len(self.papers)
        for term, postings in self.terms.items():
            self.idf[term] = math.log(1.0 + (n - len(postings) + 0.5) / (len(postings) + 0.5))
        for doc, counts in enumerate(self.stem_counts):
            weights = self.tfidf(counts)
            norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            for term, weight in weights.items():
                self.vectors.setdefault(term, {})[doc] = weight / norm

    def _index_votes(self) -> None:
        """Vote boost in [0, 1], freshness, the "trending" flag and the tie-break order."""
        ups = self.upvotes.tolist()
        self.votes = np.log1p(self.upvotes.astype(np.float64)) / (
            math.log1p(max(ups, default=0)) or 1.0
        )
        self.boost = 1.0 + RECENCY * np.array([self._freshness(p) for p in self.papers])
        cut = sorted(ups, reverse=True)[int(len(ups) * HOT_SHARE)] if ups else 0
        self.hot = [u >= max(cut, HOT_MIN_VOTES) for u in ups]
        ranked = sorted(range(len(ups)), key=lambda d: (-ups[d], self.papers[d].id))
        self.order[ranked] = np.arange(len(ups))
        for array in (self.upvotes, self.votes, self.boost, self.order):
            _shared(array)

    def _freshness(self, paper: Paper) -> float:
        """1 for a paper listed `today`, halving every HALF_LIFE_DAYS; 0 when no `today`."""
        if self.today is None:
            return 0.0
        return float(0.5 ** (max(0, (self.today - paper.listed_on).days) / HALF_LIFE_DAYS))

    def idf_of(self, term: str) -> float:
        """IDF of a stem; a stem no candidate has counts as the rarest."""
        found = self.idf.get(term)
        return math.log(1.0 + (len(self.papers) + 0.5) / 0.5) if found is None else found

    def tfidf(self, counts: dict[str, float]) -> dict[str, float]:
        """Sublinear TF * IDF of a paper's stem counts (numbers and unknown stems dropped)."""
        return {
            t: (1.0 + math.log(e) if e >= 1.0 else e) * self.idf[t]
            for t, e in counts.items()
            if t in self.idf and t.isalpha()
        }

    def dense(self, key: str | Pair) -> Vector:
        """The postings of a stem or stem pair as a vector over the candidates (cached)."""
        found = self._dense.get(key)
        if found is None:
            postings = (
                self.terms.get(key, _NONE) if isinstance(key, str) else self.pairs.get(key, _NONE)
            )
            found = _vector(len(self.papers), postings)
            self._dense[key] = found
        return found

    def evidence(self, key: tuple[str, ...] | tuple[Pair, ...]) -> tuple[Vector, Mask]:
        """Saturated evidence per candidate, and where it is present, of a phrase word (its
        stems, all needed) or of a link (its stem pairs, any one will do); cached."""
        found = self._evidence.get(key)
        if found is None:
            vectors = [self.dense(k) for k in key if isinstance(k, str) or k in self.pairs]
            if not vectors:
                raw = np.zeros(len(self.papers))
            elif len(vectors) == 1:
                raw = vectors[0]
            elif isinstance(key[0], str):
                raw = np.minimum.reduce(vectors)
            else:
                raw = np.maximum.reduce(vectors)
            found = (_shared(raw / (raw + SATURATION)), _shared(raw > 0))
            self._evidence[key] = found
        return found

    def unit_vector(self, term: str) -> Vector:
        """A stem's weight in every candidate's unit-length TF-IDF vector (cached)."""
        found = self._unit.get(term)
        if found is None:
            found = _vector(len(self.papers), self.vectors.get(term, _NONE))
            self._unit[term] = found
        return found

    def phrase(self, text: str) -> Vector:
        """Every candidate's match with a profile phrase, in [0, 1); computed once per day."""
        found = self._matches.get(text)
        if found is None:
            found = _match_text(self, text)
            _shared(found.score)
            self._matches[text] = found
        return found.score

    def exclusion(self, text: str) -> tuple[Mask, Vector]:
        """For an exclude phrase: which candidates it disqualifies (matched at HARD_EXCLUDE),
        and a factor per candidate that pushes down those that mention it (SOFT_EXCLUDE).

        Only papers with all the words of the phrase (or of a variant) count: excluding
        "humanoid robot" says nothing against a paper on robots.
        """
        found = self._excludes.get(text)
        if found is None:
            match = np.where(self._complete(text), self.phrase(text), 0.0)
            factor = np.where(match >= SOFT_EXCLUDE, SOFT_EXCLUDE_FACTOR, 1.0)
            found = (_shared(match >= HARD_EXCLUDE), _shared(factor))
            self._excludes[text] = found
        return found

    def _complete(self, text: str) -> Mask:
        """Where a paper has every word of the phrase, or of one of its variants."""
        self.phrase(text)
        complete = np.zeros(len(self.papers), dtype=bool)
        for bits, phrase in zip(self._matches[text].present, _variants(text), strict=False):
            complete |= bits == (1 << len(phrase.units)) - 1
        return complete

    def liked(self, paper: Paper) -> Vector:
        """Every candidate's cosine similarity to a liked paper (0 below LIKED_MIN); cached."""
        found = self._likes.get(paper.id)
        if found is None:
            found = _shared(_similarity(self, paper))
            self._likes[paper.id] = found
        return found

    def label(self, text: str, doc: int) -> tuple[str, str]:
        """How a paper matched a phrase, in the user's words, and a key that is the same for
        labels that say the same thing ("agent", "agents"); cached.

        The variant (the phrase, a part of it, or a synonym) that matched best: all of it when
        all its words are there, each next to the next, else the words of it the paper has;
        "(title)" when those are all in the title.
        """
        found = self._labels.get((text, doc))
        if found is None:
            self.phrase(text)
            match = self._matches[text]
            best = int(match.variant[doc]) if len(match.variant) else 0
            whole, bits = bool(match.whole[best][doc]), int(match.present[best][doc])
            wording = self._wordings.get((text, best, whole, bits))
            if wording is None:
                wording = _wording(self, _variants(text)[best], whole, bits)
                self._wordings[(text, best, whole, bits)] = wording
            words, key, chosen = wording
            if _in_title(self, _variants(text)[best], doc, chosen, whole):
                words, key = f"{words} (title)", f"{key} (title)"
            found = (words, key)
            self._labels[(text, doc)] = found
        return found

    def multiplier(self, trending: float) -> Vector:
        """(1 + trending * votes) * freshness boost, per candidate; cached per trending value."""
        found = self._multipliers.get(trending)
        if found is None:
            found = _shared((1.0 + trending * self.votes) * self.boost)
            self._multipliers[trending] = found
        return found

    def below(self, min_upvotes: int) -> Mask:
        """Which candidates have fewer upvotes than `min_upvotes` (cached per threshold)."""
        found = self._below.get(min_upvotes)
        if found is None:
            found = _shared(self.upvotes < min_upvotes)
            self._below[min_upvotes] = found
        return found


def _vector(n: int, postings: Postings) -> Vector:
    """Postings as a dense vector of n values (read-only, as it is cached and shared)."""
    out = np.zeros(n)
    if postings:
        out[list(postings)] = list(postings.values())
    return _shared(out)


ArrayT = TypeVar("ArrayT", bound=np.ndarray[Any, Any])


def _shared(array: ArrayT) -> ArrayT:
    """Make a cached array read-only, so that no profile can change what others will read."""
    array.flags.writeable = False
    return array


@dataclass(frozen=True, slots=True)
class _Phrase:
    """One way to match a profile phrase (itself, a part of it, or with a synonym swapped in).

    `units` are its words as textmatch analysed them; `links[i]` are the stem pairs that put
    word i and word i + 1 side by side, in either order; `swapped` are the words a synonym
    brought in, which count only all together; `factor` discounts synonyms.
    """

    shown: str
    units: tuple[textmatch.Unit, ...]
    links: tuple[tuple[Pair, ...], ...]
    sources: tuple[tuple[int, ...], ...]
    swapped: tuple[int, ...]
    factor: float
    groups: tuple[tuple[int, ...], ...]  # per word, the words of its hyphenated group


def _compile(text: str, variant: textmatch.Variant, original: bool) -> _Phrase:
    """Turn a textmatch variant into what the matcher needs."""
    links = tuple(
        tuple(sorted({_pair(a.stems[-1], b.stems[0]), _pair(b.stems[-1], a.stems[0])}))
        for a, b in pairwise(variant.units)
    )
    shown = text if original else " ".join(dict.fromkeys(u.group for u in variant.units))
    factor = SYNONYM_FACTOR if variant.synonym else 1.0
    units = variant.units
    groups = tuple(tuple(j for j, v in enumerate(units) if v.group == u.group) for u in units)
    return _Phrase(shown, units, links, variant.sources, variant.swapped, factor, groups)


_variants_memo: dict[str, tuple[_Phrase, ...]] = {}


def _variants(text: str) -> tuple[_Phrase, ...]:
    """The ways to match a phrase (see `textmatch.variants`), compiled once per process."""
    found = _variants_memo.get(text)
    if found is None:
        found = tuple(_compile(text, v, i == 0) for i, v in enumerate(textmatch.variants(text)))
        _variants_memo[text] = found
    return found


class _PhraseMatch(NamedTuple):
    """A phrase matched against every candidate: the best score of its variants, which variant
    gave it, and per variant where all its words are there, each next to the next, and which
    of its words each paper has."""

    score: Vector
    variant: Positions
    whole: list[Mask]
    present: list[npt.NDArray[np.int64]]  # per variant, a bit per word the paper has


def _match_text(c: Candidates, text: str) -> _PhraseMatch:
    """Match every variant of a phrase against every candidate and keep the best per paper."""
    variants = _variants(text)
    if not variants or not variants[0].units:
        return _PhraseMatch(np.zeros(len(c)), np.zeros(0, dtype=np.intp), [], [])
    own = [sum(map(c.idf_of, u.stems)) / len(u.stems) for u in variants[0].units]
    each = [_match_variant(c, phrase, _variant_idfs(own, phrase)) for phrase in variants]
    if len(each) == 1:
        best, which = each[0][0], np.zeros(0, dtype=np.intp)
    else:
        scores = np.array([score for score, _, _ in each])
        best, which = scores.max(axis=0), scores.argmax(axis=0)
    best[best < MIN_TOPIC] = 0.0
    return _PhraseMatch(best, which, [w for _, w, _ in each], [p for _, _, p in each])


def _variant_idfs(own: list[float], phrase: _Phrase) -> list[float]:
    """IDF of a variant's words: a word swapped in shares the weight of the words it replaces,
    so a synonym neither adds nor removes importance."""
    sharing = {src: phrase.sources.count(src) for src in phrase.sources}
    return [sum(own[j] for j in src) / sharing[src] for src in phrase.sources]


def _match_variant(
    c: Candidates, phrase: _Phrase, idfs: list[float]
) -> tuple[Vector, Mask, npt.NDArray[np.int64]]:
    """Blend a phrase's words found anywhere in each paper with its best run of linked words.

    Both parts weigh each word by IDF and saturate the evidence, so "diffusion language models"
    in a title scores high, while "diffusion" alone somewhere scores a fraction of the bag part.
    Also returns where the whole phrase is found (all its words, each linked to the next), and
    a bit per word the paper has (for the reasons).
    """
    scale = phrase.factor / (sum(idfs) or 1.0)
    bag = np.zeros(len(c))
    whole = np.ones(len(c), dtype=bool)
    synonym = np.ones(len(c), dtype=bool)
    bits = np.zeros(len(c), dtype=np.int64)
    for i, (unit, idf) in enumerate(zip(phrase.units, idfs, strict=True)):
        saturated, present = c.evidence(unit.stems)
        bag += (idf * scale) * saturated
        whole &= present
        bits |= present * (1 << i)
        if i in phrase.swapped:
            synonym &= present
    if phrase.links:
        links = []
        for keys in phrase.links:
            saturated, present = c.evidence(keys)
            whole &= present
            links.append(saturated)
        bag *= BAG_SHARE
        bag += (1.0 - BAG_SHARE) * scale * _best_run(links, idfs)
    if phrase.swapped:
        bag[~synonym] = 0.0
    return bag, whole, bits


def _best_run(links: list[Vector], idfs: list[float]) -> Vector:
    """Per paper, the run of linked words with the most IDF * saturated weakest-link evidence
    (`links` are already saturated, and saturation keeps the order of evidence)."""
    best = sum(idfs[0:2]) * links[0]
    for start in range(len(links)):
        weakest = links[start]
        for end in range(start, len(links)):
            if end > start:
                weakest = np.minimum(weakest, links[end])
            if end > 0:
                np.maximum(best, sum(idfs[start : end + 2]) * weakest, out=best)
    return best


def _wording(c: Candidates, phrase: _Phrase, whole: bool, bits: int) -> tuple[str, str, list[int]]:
    """The words of a variant that a paper has (`bits`: one per word), their stems as a key,
    and which words those are. Of a partial match, only the telling words: one that most
    candidates have ("use") explains nothing."""
    units = phrase.units
    chosen = [i for i in range(len(units)) if bits >> i & 1]
    if not whole:
        telling = [i for i in chosen if min(map(c.idf_of, units[i].stems)) >= LABEL_MIN_IDF]
        chosen = telling or chosen
    words = phrase.shown if whole else _spell(phrase, chosen)
    return words, " ".join(sorted({s for i in chosen for s in units[i].stems})), chosen


def _in_title(c: Candidates, phrase: _Phrase, doc: int, chosen: list[int], whole: bool) -> bool:
    """Whether the chosen words of a variant are all in the paper's title (linked, if whole)."""
    title = c.title_terms[doc]
    if not all(s in title for i in chosen for s in phrase.units[i].stems):
        return False
    pairs = c.title_pairs[doc]
    return not whole or all(any(k in pairs for k in keys) for keys in phrase.links)


def _spell(phrase: _Phrase, chosen: list[int]) -> str:
    """The chosen words in the user's spelling; a hyphenated group is written whole when all
    its words are chosen ("text-to-image", not "text image")."""
    picked = set(chosen)
    words = (
        phrase.units[i].group if picked.issuperset(phrase.groups[i]) else phrase.units[i].word
        for i in chosen
    )
    return " ".join(dict.fromkeys(words))


def _similarity(c: Candidates, paper: Paper) -> Vector:
    """Cosine similarity of a liked paper's most telling stems to every candidate."""
    doc = c.index_of.get(paper.id)
    counts = c.stem_counts[doc] if doc is not None else _stem_counts(paper)
    shared = 1 if doc is not None else 0  # a word only the liked paper has says nothing
    weights = {t: w for t, w in c.tfidf(counts).items() if len(c.terms[t]) > shared}
    top = heapq.nlargest(LIKED_TERMS, weights.items(), key=lambda kv: kv[1])
    norm = math.sqrt(sum(w * w for _, w in top)) or 1.0
    sims = np.zeros(len(c))
    for term, weight in top:
        sims += (weight / norm) * c.unit_vector(term)
    sims[sims < LIKED_MIN] = 0.0
    return sims


class _Plan(NamedTuple):
    """A profile resolved against the candidates: what each of its parts matches."""

    profile: Profile
    topics: list[tuple[str, float, Vector]]
    excludes: list[tuple[str, Mask, Vector]]  # phrase, where it disqualifies, pushdown factor
    likes: list[tuple[str, Vector]]
    authors: list[int]
    in_categories: list[int]
    liked_ids: frozenset[str]
    interests: bool  # False: no topics, likes or authors, so the day's top votes (or categories)


def _plan(profile: Profile, c: Candidates, liked_papers: Sequence[Paper]) -> _Plan:
    """Look up (or compute, once per day) every phrase, liked paper and author of a profile."""
    wanted = frozenset(profile.liked)
    topics = [(t.phrase, t.weight, c.phrase(t.phrase)) for t in profile.topics]
    likes = [(p.id, c.liked(p)) for p in liked_papers if p.id in wanted]
    authors = {d for n in profile.authors for d in c.authors.get(textmatch.followed_key(n), ())}
    categories = {d for x in profile.arxiv_categories for d in c.categories.get(x.casefold(), ())}
    excludes = [(e, *c.exclusion(e)) for e in profile.exclude]
    interests = bool(topics or likes or profile.authors)
    return _Plan(
        profile, topics, excludes, likes, sorted(authors), sorted(categories), wanted, interests
    )


def _relevance(plan: _Plan, c: Candidates) -> Vector:
    """Every candidate's relevance to the profile (see the module docstring)."""
    if not plan.interests:
        if not plan.profile.arxiv_categories:
            return c.votes
        rel = np.zeros(len(c))
        rel[plan.in_categories] = QUALIFY
        return rel
    rel = np.zeros(len(c))
    for _, weight, match in plan.topics:
        rel += match if weight == 1.0 else weight * match
    if plan.likes:
        rel += LIKED_WEIGHT * np.maximum.reduce([m for _, m in plan.likes])
    if plan.authors:
        rel[plan.authors] += AUTHOR_BONUS
    return rel


def _scores(plan: _Plan, c: Candidates, seen: Collection[str]) -> Vector:
    """Every candidate's final score, 0 where it may not be picked (see the module docstring)."""
    rel = _relevance(plan, c)
    profile = plan.profile
    multiplier = c.multiplier(profile.trending)
    score = rel * multiplier
    blocked = rel < QUALIFY
    for _, hard, factor in plan.excludes:
        blocked |= hard
        score *= factor
    if profile.min_upvotes > 0:
        blocked |= c.below(profile.min_upvotes)
    if profile.arxiv_categories:
        blocked |= ~_in_categories_or_unknown(plan, c)
    if plan.authors:
        blocked[plan.authors] = False
        score[plan.authors] = rel[plan.authors] * multiplier[plan.authors]
    for ids in (seen, plan.liked_ids):
        if ids:
            blocked[_positions(c, ids)] = True
    score[blocked] = 0.0
    return score


def _in_categories_or_unknown(plan: _Plan, c: Candidates) -> Mask:
    """Papers in the profile's arXiv categories, or with no category known (HF listings)."""
    mask = np.array([not p.categories for p in c.papers], dtype=bool)
    mask[plan.in_categories] = True
    return mask


def _positions(c: Candidates, ids: Collection[str]) -> list[int]:
    """Positions of the given arXiv ids among the candidates (unknown ids are skipped)."""
    if len(ids) > len(c):
        return [d for d, p in enumerate(c.papers) if p.id in ids]
    return [c.index_of[i] for i in ids if i in c.index_of]


def _best(score: Vector, c: Candidates, k: int) -> list[int]:
    """The k best papers by score, ties to more upvotes then the smaller id; only score > 0."""
    n = len(score)
    if k <= 0 or n == 0:
        return []
    floor = float(np.partition(score, n - k)[n - k]) if n > k else 0.0
    chosen = np.flatnonzero(score >= floor) if floor > 0 else np.flatnonzero(score)
    ranked = sorted(
        zip((-score[chosen]).tolist(), c.order[chosen].tolist(), chosen.tolist(), strict=True)
    )
    return [doc for _, _, doc in ranked[:k]]


def rank(
    profile: Profile,
    candidates: Candidates,
    *,
    seen: Collection[str] = frozenset(),
    liked_papers: Sequence[Paper] = (),
    explain: bool = False,
) -> Ranking:
    """Pick at most `profile.max_papers` candidates for a profile, best first, with reasons.

    Papers already `seen`, liked, disqualified or not relevant enough are never picked; ties
    go to more upvotes, then to the smaller id. `liked_papers` are the papers of
    `profile.liked` that the caller knows (they may be older than the candidates). With
    `explain`, every other candidate is returned in `Ranking.excluded` with the reason it was
    left out.
    """
    c = candidates
    plan = _plan(profile, c, liked_papers)
    score = _scores(plan, c, seen)
    docs = _best(score, c, profile.max_papers)
    at = np.array(docs, dtype=np.intp)
    picked = [
        RankedPaper(c.papers[doc], round(value, 4), reasons)
        for doc, value, reasons in zip(
            docs, score[at].tolist(), _reasons(plan, c, docs, at), strict=True
        )
        if reasons
    ]
    excluded = _explain(plan, c, seen, score, picked) if explain else ()
    return Ranking(tuple(picked), excluded)


def _reasons(plan: _Plan, c: Candidates, docs: list[int], at: Positions) -> list[tuple[str, ...]]:
    """What a reader is told about each pick, in this order: matched phrases (strongest first),
    followed authors, the closest liked paper, votes (or categories), pushdowns.

    `at` holds the same positions as `docs`, as an array for indexing the match vectors.
    """
    hits: list[list[tuple[float, str]]] = [[] for _ in docs]
    for text, weight, match in plan.topics:
        if weight > 0:
            for j, value in enumerate(match[at].tolist()):
                if value > 0:
                    hits[j].append((weight * value, text))
    tails = _more_reasons(plan, c, docs, at)
    cached, label = c._labels.get, c.label  # the cache first: most labels are asked again
    out = []
    for doc, found, tail in zip(docs, hits, tails, strict=True):
        if not found:
            out.append(tuple(tail))
            continue
        if len(found) > 1:
            found.sort(reverse=True)
        labels: dict[str, str] = {}
        for _, text in found:
            shown, key = cached((text, doc)) or label(text, doc)
            labels.setdefault(key, shown)
        out.append(("matched: " + ", ".join(labels.values()), *tail))
    return out


def _more_reasons(plan: _Plan, c: Candidates, docs: list[int], at: Positions) -> list[list[str]]:
    """The reasons after "matched: ...", for each pick (see `_reasons`)."""
    tails: list[list[str]] = [[] for _ in docs]
    if plan.authors or plan.likes:
        _people_reasons(plan, c, docs, at, tails)
    votes = _vote_reason(plan)
    if votes:
        for doc, tail in zip(docs, tails, strict=True):
            if c.hot[doc] or not plan.interests:
                tail.append(votes.format(c.papers[doc].upvotes))
    for text, _, factor in plan.excludes:
        pushed = (factor[at] < 1.0).tolist()
        for doc, tail, flag in zip(docs, tails, pushed, strict=True):
            if flag and doc not in plan.authors:
                tail.append(f"mentions {text} (pushed down)")
    return tails


def _people_reasons(
    plan: _Plan, c: Candidates, docs: list[int], at: Positions, tails: list[list[str]]
) -> None:
    """Add "by <followed author>" and "like <liked paper>" to each pick's reasons."""
    keys = {textmatch.followed_key(n) for n in plan.profile.authors}
    likes = [(liked, m[at].tolist()) for liked, m in plan.likes]
    for j, (doc, tail) in enumerate(zip(docs, tails, strict=True)):
        if doc in plan.authors:
            names = [name for name, found in c.author_keys[doc] if keys.intersection(found)]
            tail.append("by " + ", ".join(names))
        if likes:
            sim, liked = max((values[j], liked) for liked, values in likes)
            if sim > 0:
                tail.append(f"like {liked}")


def _vote_reason(plan: _Plan) -> str:
    """The template of the votes reason ("" when votes do not count for this profile).

    A profile with no interests gets the day's top votes (or its categories), each pick with
    this reason; otherwise votes are mentioned for trending papers when the profile counts them.
    """
    profile = plan.profile
    if not plan.interests and profile.arxiv_categories:
        categories = ", ".join(profile.arxiv_categories)
        return "in " + categories.replace("{", "{{").replace("}", "}}")
    if not plan.interests or profile.trending > 0:
        return "trending: {} votes"
    return ""


def _block(plan: _Plan, c: Candidates, doc: int, seen: Collection[str]) -> str:
    """Why a paper may not be sent, or "" if it may. Followed authors pass every filter."""
    paper = c.papers[doc]
    profile = plan.profile
    if paper.id in seen:
        return "already sent"
    if paper.id in plan.liked_ids:
        return "liked: already read"
    if doc in plan.authors:
        return ""
    for text, hard, _ in plan.excludes:
        if hard[doc]:
            return f"excluded: {text}"
    if paper.upvotes < profile.min_upvotes:
        return f"below min_upvotes ({paper.upvotes} < {profile.min_upvotes})"
    if profile.arxiv_categories and paper.categories and doc not in plan.in_categories:
        return f"not in {', '.join(profile.arxiv_categories)}"
    return ""


def _explain(
    plan: _Plan, c: Candidates, seen: Collection[str], score: Vector, picked: list[RankedPaper]
) -> tuple[Excluded, ...]:
    """Every candidate that was not picked, with the first reason that applies to it."""
    chosen = {r.paper.id for r in picked}
    rel = _relevance(plan, c).tolist()
    scores = score.tolist()
    return tuple(
        Excluded(paper, _block(plan, c, doc, seen) or _why_not(rel[doc], scores[doc]))
        for doc, paper in enumerate(c.papers)
        if paper.id not in chosen
    )


def _why_not(rel: float, score: float) -> str:
    """The reason for a paper that may be sent but was not picked."""
    if score > 0:
        return f"below the cut (score {score:.3f})"
    if rel <= 0:
        return "no topic matched"
    return f"weak match ({rel:.3f} < {QUALIFY})"
