"""Rank a day's papers for one subscriber profile, and say why each paper was picked.

Pure: no I/O and no clock reads (the caller passes `today`). The day's papers are analysed once
into `Candidates`: stems and nearby stem pairs of every field, with field-weighted counts
(title > keywords > AI summary > abstract, as in BM25F) and IDF over the candidates. A profile
phrase is matched once per day against all candidates, whoever asked for it, and cached as a
vector (thousands of subscribers share "diffusion models"); ranking a profile is then a few
vector operations over the day (numpy), tens of microseconds.

The score of a picked paper (higher is better) is

    relevance * (1 + trending * votes) * (1 + RECENCY * freshness) * pushdown

- relevance adds weight * match for each topic, where a match is in [0, 1): about 0.4 for a
  phrase met once in the abstract, 0.6 in the title, 0.8 and more in title, keywords and
  abstract together, less for part of a phrase; plus LIKED_WEIGHT * the cosine similarity to
  the closest liked paper, and AUTHOR_BONUS for a followed author;
- votes is log(1 + upvotes) / log(1 + the most upvotes among the candidates), in [0, 1];
- freshness is 1 for a paper listed `today` and halves every HALF_LIFE_DAYS before it;
- pushdown is SOFT_EXCLUDE_FACTOR when an excluded phrase is mentioned in passing, else 1.

A paper needs relevance >= QUALIFY (or a followed author) to be picked.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import math
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

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
SOFT_EXCLUDE = 0.2  # ... matched this well (mentioned in passing) pushes the paper down
SOFT_EXCLUDE_FACTOR = 0.5
LIKED_WEIGHT = 1.2
LIKED_MIN = 0.18  # least cosine similarity to a liked paper that counts
LIKED_TERMS = 40  # a liked paper is summarised by its most telling stems
AUTHOR_BONUS = 1.0
RECENCY = 0.15
HALF_LIFE_DAYS = 7.0
HOT_SHARE = 0.2  # "trending" is said of the candidates' top fifth by votes ...
HOT_MIN_VOTES = 10  # ... that have at least this many votes

Pair = tuple[str, str]
Postings = dict[int, float]
Vector = npt.NDArray[np.float64]  # one value per candidate, in `Candidates.papers` order
Mask = npt.NDArray[np.bool_]  # one flag per candidate


@dataclass(frozen=True, slots=True)
class _Phrase:
    """One way to match a profile phrase (itself, a part of it, or with a synonym swapped in).

    `units` holds the stems of each word (an acronym's long form is one unit of several stems);
    `links[i]` are the stem pairs that put word i and word i + 1 side by side, in either order;
    `sources[i]` are the indexes of the user's own words that word i stands for.
    """

    shown: str
    units: tuple[tuple[str, ...], ...]
    words: tuple[str, ...]
    links: tuple[tuple[Pair, ...], ...]
    sources: tuple[tuple[int, ...], ...]
    factor: float


def _pair(a: str, b: str) -> Pair:
    """Pairs are unordered: "image editing" and "editing of images" are the same evidence."""
    return (a, b) if a < b else (b, a)


def _compile(text: str, variant: textmatch.Variant, whole: bool) -> _Phrase:
    """Turn a textmatch variant into what the matcher needs."""
    units = tuple(u for u, _, _ in variant.units)
    words = tuple(w for _, w, _ in variant.units)
    links = tuple(
        tuple(sorted({_pair(a[-1], b[0]), _pair(b[-1], a[0])}))
        for a, b in zip(units, units[1:], strict=False)
    )
    factor = SYNONYM_FACTOR if variant.synonym else 1.0
    return _Phrase(text if whole else " ".join(words), units, words, links, variant.sources, factor)


_variants_memo: dict[str, tuple[_Phrase, ...]] = {}


def _variants(text: str) -> tuple[_Phrase, ...]:
    """The ways to match a phrase (see `textmatch.variants`), compiled once per process."""
    found = _variants_memo.get(text)
    if found is None:
        found = tuple(_compile(text, v, i == 0) for i, v in enumerate(textmatch.variants(text)))
        _variants_memo[text] = found
    return found


@dataclass(frozen=True, slots=True)
class _Analysed:
    """One paper's text as sentences of stems: the title alone, and every field with its weight."""

    title: list[list[str]]
    fields: list[tuple[float, list[list[str]]]]


def analyse_paper(paper: Paper) -> _Analysed:
    """Stem every field of a paper, with the acronyms the paper defines expanded everywhere."""
    local = textmatch.find_definitions(f"{paper.title}. {paper.abstract}")
    title = textmatch.analyse(paper.title, local)
    abstract = textmatch.analyse(textmatch.strip_definitions(paper.abstract), local)
    keywords = [s for k in paper.ai_keywords for s in textmatch.analyse(k, local)]
    summary = textmatch.analyse(paper.ai_summary or "", local)
    return _Analysed(
        title,
        [
            (TITLE_WEIGHT, title),
            (ABSTRACT_WEIGHT, abstract),
            (SUMMARY_WEIGHT, summary),
            (KEYWORD_WEIGHT, keywords),
        ],
    )


def _evidence(analysed: _Analysed) -> tuple[dict[str, float], dict[Pair, float]]:
    """Field-weighted counts of each stem, and of each pair of stems at most one word apart."""
    terms: dict[str, float] = {}
    pairs: dict[Pair, float] = {}
    for weight, field in analysed.fields:
        for sentence in field:
            for i, term in enumerate(sentence):
                terms[term] = terms.get(term, 0.0) + weight
                for gap, factor in ((1, weight), (2, weight * GAP_WEIGHT)):
                    if i + gap < len(sentence) and sentence[i + gap] != term:
                        key = _pair(term, sentence[i + gap])
                        pairs[key] = pairs.get(key, 0.0) + factor
    return terms, pairs


def _title_pairs(title: list[list[str]]) -> frozenset[Pair]:
    """The pairs of stems at most one word apart in a title."""
    return frozenset(
        _pair(s[i], s[j]) for s in title for i in range(len(s)) for j in (i + 1, i + 2) if j < len(s)
    )


def normalise_name(name: str) -> str:
    """A person's name without accents, case or punctuation ("Jérôme d'Arc" → "jerome d arc")."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join("".join(c if c.isalnum() else " " for c in plain.casefold()).split())


def _name_keys(name: str) -> tuple[str, ...]:
    """Keys a paper's author is found under: the full name, and initial + last name."""
    parts = normalise_name(name).split()
    if len(parts) < 2:
        return tuple(parts)
    return (" ".join(parts), f"{parts[0][0]} {parts[-1]}")


_followed_memo: dict[str, str] = {}


def _followed_key(name: str) -> str:
    """A followed author's key: initial + last name when given as "P. Liang", else the name."""
    found = _followed_memo.get(name)
    if found is None:
        parts = normalise_name(name).split()
        short = len(parts) >= 2 and len(parts[0]) == 1
        found = f"{parts[0]} {parts[-1]}" if short else " ".join(parts)
        _followed_memo[name] = found
    return found


class Candidates:
    """The papers that can be sent, analysed once for every profile ranked against them.

    Holds postings of stems and of stem pairs (field-weighted counts per paper), IDF over the
    candidates, vote and freshness boosts, and caches of the work that profiles share: phrase
    matches, liked-paper similarities and reason labels.
    """

    def __init__(self, papers: Sequence[Paper], today: dt.date | None) -> None:
        """Use `Candidates.build`; this only sets up empty indexes."""
        self.papers = tuple(papers)
        self.today = today
        self.index_of = {p.id: i for i, p in enumerate(self.papers)}
        self.terms: dict[str, Postings] = {}
        self.pairs: dict[Pair, Postings] = {}
        self.idf: dict[str, float] = {}
        self.vectors: dict[str, Postings] = {}
        self.title_terms: list[frozenset[str]] = []
        self.title_pairs: list[frozenset[Pair]] = []
        self.authors: dict[str, list[int]] = {}
        self.author_keys: list[list[tuple[str, tuple[str, ...]]]] = []
        self.categories: dict[str, list[int]] = {}
        n = len(self.papers)
        self.upvotes = np.array([p.upvotes for p in self.papers], dtype=np.int64)
        self.votes: Vector = np.zeros(n)
        self.boost: Vector = np.ones(n)
        self.hot: list[bool] = [False] * n
        self.order = np.zeros(n, dtype=np.int64)
        self.counts: list[dict[str, float]] = []
        self._dense: dict[str | Pair, Vector] = {}
        self._unit: dict[str, Vector] = {}
        self._matches: dict[str, _PhraseMatch] = {}
        self._likes: dict[str, Vector] = {}
        self._labels: dict[tuple[str, int], str] = {}
        self._boosts: dict[float, Vector] = {}
        self._excludes: dict[str, tuple[Mask, Vector]] = {}
        self._below: dict[int, Mask] = {}

    @classmethod
    def build(cls, papers: Iterable[Paper], *, today: dt.date | None = None) -> Candidates:
        """Analyse the papers (the first copy of each id wins) and index them for ranking."""
        unique: dict[str, Paper] = {}
        for paper in papers:
            unique.setdefault(paper.id, paper)
        self = cls(list(unique.values()), today)
        self.counts = [self._index_text(doc, paper) for doc, paper in enumerate(self.papers)]
        self._index_idf()
        self._index_vectors(self.counts)
        self._index_people()
        self._index_votes()
        return self

    def __len__(self) -> int:
        """How many distinct papers can be ranked."""
        return len(self.papers)

    def _index_text(self, doc: int, paper: Paper) -> dict[str, float]:
        """Add one paper's stems and stem pairs to the postings; return its stem counts."""
        analysed = analyse_paper(paper)
        terms, pairs = _evidence(analysed)
        for term, evidence in terms.items():
            self.terms.setdefault(term, {})[doc] = evidence
        for key, evidence in pairs.items():
            self.pairs.setdefault(key, {})[doc] = evidence
        self.title_terms.append(frozenset(t for s in analysed.title for t in s))
        self.title_pairs.append(_title_pairs(analysed.title))
        return terms

    def _index_idf(self) -> None:
        """BM25's IDF over the candidates: a word most papers have weighs almost nothing."""
        n = len(self.papers)
        for term, postings in self.terms.items():
            df = len(postings)
            self.idf[term] = math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def idf_of(self, term: str) -> float:
        """IDF of a stem; a stem no candidate has counts as the rarest."""
        found = self.idf.get(term)
        if found is None:
            return math.log(1.0 + (len(self.papers) + 0.5) / 0.5)
        return found

    def tfidf(self, counts: dict[str, float]) -> dict[str, float]:
        """Sublinear TF * IDF of a paper's stem counts (numbers and unknown stems dropped)."""
        return {
            t: (1.0 + math.log(e) if e >= 1.0 else e) * self.idf[t]
            for t, e in counts.items()
            if t in self.idf and t.isalpha()
        }

    def _index_vectors(self, counts: list[dict[str, float]]) -> None:
        """Unit-length TF-IDF vectors of the papers, as postings, for liked-paper similarity."""
        for doc, terms in enumerate(counts):
            weights = self.tfidf(terms)
            norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            for term, weight in weights.items():
                self.vectors.setdefault(term, {})[doc] = weight / norm

    def _index_people(self) -> None:
        """Index papers by author name keys and by arXiv category."""
        for doc, paper in enumerate(self.papers):
            self.author_keys.append([(name, _name_keys(name)) for name in paper.authors])
            for _, keys in self.author_keys[-1]:
                for key in keys:
                    self.authors.setdefault(key, []).append(doc)
            for category in paper.categories:
                self.categories.setdefault(category.casefold(), []).append(doc)

    def _index_votes(self) -> None:
        """Vote boost in [0, 1], freshness, the "trending" flag and the tie-break order."""
        ups = [max(0, p.upvotes) for p in self.papers]
        top = math.log1p(max(ups, default=0)) or 1.0
        self.votes = np.log1p(np.array(ups, dtype=np.float64)) / top
        self.boost = 1.0 + RECENCY * np.array([self._freshness(p) for p in self.papers])
        cut = sorted(ups, reverse=True)[int(len(ups) * HOT_SHARE)] if ups else 0
        self.hot = [u >= max(cut, HOT_MIN_VOTES) for u in ups]
        ranked = sorted(range(len(ups)), key=lambda d: (-ups[d], self.papers[d].id))
        self.order[ranked] = np.arange(len(ups))

    def _freshness(self, paper: Paper) -> float:
        """1 for a paper listed `today`, halving every HALF_LIFE_DAYS; 0 when no `today`."""
        if self.today is None:
            return 0.0
        age = max(0, (self.today - paper.listed_on).days)
        return float(0.5 ** (age / HALF_LIFE_DAYS))

    def multiplier(self, trending: float) -> Vector:
        """(1 + trending * votes) * freshness boost, per candidate; cached per trending value."""
        found = self._boosts.get(trending)
        if found is None:
            found = (1.0 + trending * self.votes) * self.boost
            self._boosts[trending] = found
        return found

    def exclusion(self, text: str) -> tuple[Mask, Vector]:
        """For an exclude phrase: which candidates it disqualifies (matched at HARD_EXCLUDE),
        and a factor per candidate that pushes down those that mention it (SOFT_EXCLUDE)."""
        found = self._excludes.get(text)
        if found is None:
            match = self.phrase(text)
            factor = np.where(match >= SOFT_EXCLUDE, SOFT_EXCLUDE_FACTOR, 1.0)
            found = (match >= HARD_EXCLUDE, factor)
            self._excludes[text] = found
        return found

    def below(self, min_upvotes: int) -> Mask:
        """Which candidates have fewer upvotes than `min_upvotes` (cached per threshold)."""
        found = self._below.get(min_upvotes)
        if found is None:
            found = self.upvotes < min_upvotes
            self._below[min_upvotes] = found
        return found

    def dense(self, key: str | Pair) -> Vector:
        """The postings of a stem or stem pair as a vector over the candidates (cached)."""
        found = self._dense.get(key)
        if found is None:
            postings = self.terms.get(key, {}) if isinstance(key, str) else self.pairs.get(key, {})
            found = np.zeros(len(self.papers))
            if postings:
                found[list(postings)] = list(postings.values())
            self._dense[key] = found
        return found

    def unit_vector(self, term: str) -> Vector:
        """A stem's weight in every candidate's unit-length TF-IDF vector (cached)."""
        found = self._unit.get(term)
        if found is None:
            postings = self.vectors.get(term, {})
            found = np.zeros(len(self.papers))
            if postings:
                found[list(postings)] = list(postings.values())
            self._unit[term] = found
        return found

    def phrase(self, text: str) -> Vector:
        """Every candidate's match with a profile phrase, in [0, 1); computed once per day."""
        found = self._matches.get(text)
        if found is None:
            found = _match_text(self, text)
            self._matches[text] = found
        return found.score

    def liked(self, paper: Paper) -> Vector:
        """Every candidate's cosine similarity to a liked paper (0 below LIKED_MIN); cached."""
        found = self._likes.get(paper.id)
        if found is None:
            found = _similar(self, paper)
            self._likes[paper.id] = found
        return found

    def label(self, text: str, doc: int) -> str:
        """How a paper matched a phrase, in the user's words; cached.

        The variant (the phrase, a part of it, or a synonym) that matched best, whole when all
        its words are there side by side, else the words of it that the paper has; "(title)"
        when they are all in the title.
        """
        found = self._labels.get((text, doc))
        if found is None:
            self.phrase(text)
            match = self._matches[text]
            best = int(match.variant[doc])
            phrase = _variants(text)[best]
            if match.whole[best][doc]:
                found = phrase.shown + (" (title)" if _whole_in_title(self, phrase, doc) else "")
            else:
                found = _describe_part(self, phrase, doc)
            self._labels[(text, doc)] = found
        return found


class _PhraseMatch(NamedTuple):
    """A phrase matched against every candidate: the score, which variant scored it, and per
    variant whether all its words are there side by side."""

    score: Vector
    variant: npt.NDArray[np.intp]
    whole: list[Mask]


def _own_idfs(c: Candidates, phrase: _Phrase) -> list[float]:
    """IDF of each of the user's words (an acronym weighs the mean of its long form's stems)."""
    return [sum(map(c.idf_of, unit)) / len(unit) for unit in phrase.units]


def _variant_idfs(own: list[float], phrase: _Phrase) -> list[float]:
    """IDF of a variant's words: a word swapped in shares the weight of the words it replaces."""
    sharing = {src: phrase.sources.count(src) for src in phrase.sources}
    return [sum(own[j] for j in src) / sharing[src] for src in phrase.sources]


def _match_text(c: Candidates, text: str) -> _PhraseMatch:
    """The best match of any variant of a phrase per paper (synonyms discounted)."""
    variants = _variants(text)
    if not variants or not variants[0].units:
        return _PhraseMatch(np.zeros(len(c)), np.zeros(len(c), dtype=np.intp), [])
    own = _own_idfs(c, variants[0])
    each = [_match_phrase(c, phrase, _variant_idfs(own, phrase)) for phrase in variants]
    if len(each) == 1:
        best, whole = each[0]
        best[best < MIN_TOPIC] = 0.0
        return _PhraseMatch(best, np.zeros(len(c), dtype=np.intp), [whole])
    scores = np.array([score for score, _ in each])
    best = scores.max(axis=0)
    best[best < MIN_TOPIC] = 0.0
    return _PhraseMatch(best, scores.argmax(axis=0), [whole for _, whole in each])


def _match_phrase(c: Candidates, phrase: _Phrase, idfs: list[float]) -> tuple[Vector, Mask]:
    """Blend a phrase's words found anywhere in each paper with its best run of linked words.

    Both parts weigh each word by IDF and saturate the evidence, so "diffusion language models"
    in a title scores high, while "diffusion" alone somewhere scores a fraction of the bag part.
    Also returns where the whole phrase is found (all its words, each linked to the next).
    """
    total = sum(idfs) or 1.0
    bag = np.zeros(len(c))
    whole = np.ones(len(c), dtype=bool)
    for unit, idf in zip(phrase.units, idfs, strict=True):
        evidence = c.dense(unit[0])
        for stem in unit[1:]:
            evidence = np.minimum(evidence, c.dense(stem))
        bag += idf * _sat(evidence)
        whole &= evidence > 0
    if not phrase.links:
        return bag * (phrase.factor / total), whole
    evidence = _link_evidence(c, phrase, whole)
    run = _best_run(evidence, idfs)
    return (BAG_SHARE * bag + (1.0 - BAG_SHARE) * run) * (phrase.factor / total), whole


def _link_evidence(c: Candidates, phrase: _Phrase, whole: Mask) -> list[Vector]:
    """Evidence of each link of a phrase per paper (clearing `whole` where a link is missing)."""
    evidence = []
    for keys in phrase.links:
        found = [c.dense(k) for k in keys if k in c.pairs]
        link = (found[0] if len(found) == 1 else np.maximum.reduce(found)) if found else None
        if link is None:
            whole[:] = False
            link = np.zeros(len(c))
        else:
            whole &= link > 0
        evidence.append(link)
    return evidence


def _whole_in_title(c: Candidates, phrase: _Phrase, doc: int) -> bool:
    """Whether a paper's title has all the words of a phrase, each linked to the next."""
    terms, pairs = c.title_terms[doc], c.title_pairs[doc]
    return all(s in terms for unit in phrase.units for s in unit) and all(
        any(k in pairs for k in keys) for keys in phrase.links
    )


def _sat(evidence: Vector) -> Vector:
    """Saturate evidence into [0, 1): the first mention matters most."""
    return evidence / (evidence + SATURATION)


def _best_run(evidence: list[Vector], idfs: list[float]) -> Vector:
    """Per paper, the run of consecutive linked words with the most IDF * saturated evidence
    of its weakest link."""
    best = np.zeros(len(evidence[0]))
    for start in range(len(evidence)):
        weakest = evidence[start]
        for end in range(start, len(evidence)):
            if end > start:
                weakest = np.minimum(weakest, evidence[end])
            np.maximum(best, sum(idfs[start : end + 2]) * _sat(weakest), out=best)
    return best


def _describe_part(c: Candidates, phrase: _Phrase, doc: int) -> str:
    """The words of a phrase that a paper has, in the user's spelling and order; "(title)" when
    they are all in its title."""
    present = [i for i, unit in enumerate(phrase.units) if all(doc in c.terms.get(s, _NONE) for s in unit)]
    words = " ".join(dict.fromkeys(phrase.words[i] for i in present))
    title = c.title_terms[doc]
    in_title = all(s in title for i in present for s in phrase.units[i])
    return words + (" (title)" if in_title else "")


_NONE: Postings = {}


def _similar(c: Candidates, paper: Paper) -> Vector:
    """Cosine similarity of a liked paper's most telling stems to every candidate."""
    doc = c.index_of.get(paper.id)
    counts = c.counts[doc] if doc is not None else _paper_counts(paper)
    shared = 1 if doc is not None else 0  # its own words say nothing about the others
    weights = {t: w for t, w in c.tfidf(counts).items() if len(c.terms[t]) > shared}
    top = heapq.nlargest(LIKED_TERMS, weights.items(), key=lambda kv: kv[1])
    norm = math.sqrt(sum(w * w for _, w in top)) or 1.0
    sims = np.zeros(len(c))
    for term, weight in top:
        sims += (weight / norm) * c.unit_vector(term)
    sims[sims < LIKED_MIN] = 0.0
    return sims


@functools.lru_cache(maxsize=4096)
def _paper_counts(paper: Paper) -> dict[str, float]:
    """A paper's stem counts; memoised, as the same liked papers come back day after day."""
    return _evidence(analyse_paper(paper))[0]


class _Plan(NamedTuple):
    """A profile resolved against the candidates: what each of its parts matches."""

    profile: Profile
    topics: list[tuple[str, float, Vector]]
    excludes: list[tuple[str, Vector]]
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
    authors = [d for n in profile.authors for d in c.authors.get(_followed_key(n), ())]
    categories = [d for x in profile.arxiv_categories for d in c.categories.get(x.casefold(), ())]
    return _Plan(
        profile,
        topics,
        [(e, c.phrase(e)) for e in profile.exclude],
        likes,
        sorted(set(authors)),
        sorted(set(categories)),
        wanted,
        bool(topics or likes or profile.authors),
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
    for text, _ in plan.excludes:
        hard, factor = c.exclusion(text)
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
            blocked[_indexes(c, ids)] = True
    score[blocked] = 0.0
    return score


def _in_categories_or_unknown(plan: _Plan, c: Candidates) -> npt.NDArray[np.bool_]:
    """Papers in the profile's arXiv categories, or with no category known (HF listings)."""
    mask = np.array([not p.categories for p in c.papers], dtype=bool)
    mask[plan.in_categories] = True
    return mask


def _indexes(c: Candidates, ids: Collection[str]) -> list[int]:
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
    chosen = (np.flatnonzero(score >= floor) if floor > 0 else np.flatnonzero(score)).tolist()
    values = score[chosen].tolist()
    order = c.order[chosen].tolist()
    ranked = sorted(range(len(chosen)), key=lambda j: (-values[j], order[j]))
    return [chosen[j] for j in ranked[:k]]


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
    go to more upvotes, then to the smaller id. With `explain`, every other candidate is
    returned in `Ranking.excluded` with the reason it was left out.
    """
    c = candidates
    plan = _plan(profile, c, liked_papers)
    score = _scores(plan, c, seen)
    docs = _best(score, c, profile.max_papers)
    at = np.array(docs, dtype=np.intp)
    picked = [
        RankedPaper(c.papers[doc], round(value, 4), reasons)
        for doc, value, reasons in zip(docs, score[at].tolist(), _reasons(plan, c, docs, at), strict=True)
        if reasons
    ]
    excluded = _explain(plan, c, seen, score, picked) if explain else ()
    return Ranking(tuple(picked), excluded)


def _reasons(
    plan: _Plan, c: Candidates, docs: list[int], at: npt.NDArray[np.intp]
) -> list[tuple[str, ...]]:
    """What a reader is told about each pick, in this order: matched phrases (strongest first),
    followed authors, the closest liked paper, votes (or categories), and pushdowns.

    `at` holds the same positions as `docs`, as an array for indexing the match vectors.
    """
    hits: list[list[tuple[float, str]]] = [[] for _ in docs]
    for text, weight, match in plan.topics:
        if weight > 0:
            for j, value in enumerate(match[at].tolist()):
                if value > 0:
                    hits[j].append((weight * value, text))
    tails = _more_reasons(plan, c, docs, at)
    label = c.label
    out = []
    for doc, found, tail in zip(docs, hits, tails, strict=True):
        if len(found) > 1:
            found.sort(reverse=True)
        labels = ", ".join(dict.fromkeys([label(text, doc) for _, text in found]))
        out.append((f"matched: {labels}", *tail) if found else tuple(tail))
    return out


def _more_reasons(
    plan: _Plan, c: Candidates, docs: list[int], at: npt.NDArray[np.intp]
) -> list[list[str]]:
    """The reasons after "matched: ...", for each pick (see `_reasons`)."""
    votes = _vote_reason(plan)
    every = not plan.interests
    tails: list[list[str]] = [[] for _ in docs]
    if plan.authors or plan.likes or plan.excludes:
        _people_reasons(plan, c, docs, at, tails)
    if votes:
        for doc, tail in zip(docs, tails, strict=True):
            if every or c.hot[doc]:
                tail.append(votes.format(c.papers[doc].upvotes))
    if plan.excludes:
        for text, match in plan.excludes:
            for doc, tail, pushed in zip(docs, tails, (match[at] >= SOFT_EXCLUDE).tolist(), strict=True):
                if pushed and doc not in plan.authors:
                    tail.append(f"mentions {text} (pushed down)")
    return tails


def _people_reasons(
    plan: _Plan, c: Candidates, docs: list[int], at: npt.NDArray[np.intp], tails: list[list[str]]
) -> None:
    """Add "by <followed author>" and "like <liked paper>" to each pick's reasons."""
    likes = [(liked, m[at].tolist()) for liked, m in plan.likes]
    for j, (doc, tail) in enumerate(zip(docs, tails, strict=True)):
        if doc in plan.authors:
            tail.append("by " + ", ".join(_followed_names(plan.profile, c.author_keys[doc])))
        if likes:
            sim, liked = max((values[j], liked) for liked, values in likes)
            if sim > 0:
                tail.append(f"like {liked}")


def _vote_reason(plan: _Plan) -> str:
    """The template of the last positive reason: categories or votes ("" when votes don't count).

    A profile with no interests gets the day's top votes (or its categories), every pick with
    this reason; otherwise votes are mentioned for trending papers when the profile counts them.
    """
    profile = plan.profile
    if not plan.interests and profile.arxiv_categories:
        return "in " + ", ".join(profile.arxiv_categories).replace("{", "{{").replace("}", "}}")
    if not plan.interests or profile.trending > 0:
        return "trending: {} votes"
    return ""


def _followed_names(profile: Profile, authors: list[tuple[str, tuple[str, ...]]]) -> list[str]:
    """The paper's authors that the profile follows, as the paper spells them."""
    keys = {_followed_key(n) for n in profile.authors}
    return [name for name, found in authors if keys.intersection(found)]


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
    for phrase, match in plan.excludes:
        if match[doc] >= HARD_EXCLUDE:
            return f"excluded: {phrase}"
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
    rel = _relevance(plan, c)
    out = []
    for doc, paper in enumerate(c.papers):
        if paper.id not in chosen:
            reason = _block(plan, c, doc, seen) or _why_not(float(rel[doc]), float(score[doc]))
            out.append(Excluded(paper, reason))
    return tuple(out)


def _why_not(rel: float, score: float) -> str:
    """The reason for a paper that may be sent but was not picked."""
    if score > 0:
        return f"below the cut (score {score:.3f})"
    if rel <= 0:
        return "no topic matched"
    return f"weak match ({rel:.3f} < {QUALIFY})"
