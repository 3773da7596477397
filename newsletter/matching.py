"""Rank a day's papers for one subscriber profile, and say why each paper was picked.

Pure: no I/O and no clock reads (the caller passes `today`). The day's papers are analysed once
into `Candidates`: stems and nearby stem pairs of every field, with field-weighted counts
(title > keywords > AI summary > abstract, as in BM25F) and IDF over the candidates. A profile
phrase is matched once per day, whoever asked for it, and cached: thousands of subscribers
share "diffusion models". `rank` then reads each phrase's best papers first and stops as soon
as no unread paper can enter the top (Fagin's threshold algorithm), so a profile costs tens of
microseconds.

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
import heapq
import math
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class Match:
    """How well each candidate matches one phrase or liked paper: by paper, and best first."""

    scores: Postings
    ranked: tuple[tuple[float, int], ...]

    @classmethod
    def of(cls, scores: Postings) -> Match:
        """Index scores both ways."""
        ranked = sorted(((s, d) for d, s in scores.items()), reverse=True)
        return cls(scores, tuple(ranked))


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


def _sat(evidence: float) -> float:
    """Saturate evidence into [0, 1): the first mention matters most."""
    return evidence / (evidence + SATURATION)


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


def _followed_key(name: str) -> str:
    """A followed author's key: initial + last name when given as "P. Liang", else the name."""
    parts = normalise_name(name).split()
    if len(parts) >= 2 and len(parts[0]) == 1:
        return f"{parts[0]} {parts[-1]}"
    return " ".join(parts)


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
        self.authors: dict[str, frozenset[int]] = {}
        self.categories: dict[str, frozenset[int]] = {}
        self.votes: list[float] = []
        self.boost: list[float] = []
        self.hot: list[bool] = []
        self.order: list[int] = []
        self.by_votes = Match({}, ())
        self._matches: dict[str, Match] = {}
        self._likes: dict[str, Match] = {}
        self._labels: dict[tuple[str, int], str] = {}

    @classmethod
    def build(cls, papers: Iterable[Paper], *, today: dt.date | None = None) -> Candidates:
        """Analyse the papers (the first copy of each id wins) and index them for ranking."""
        unique: dict[str, Paper] = {}
        for paper in papers:
            unique.setdefault(paper.id, paper)
        self = cls(list(unique.values()), today)
        counts = [self._index_text(doc, paper) for doc, paper in enumerate(self.papers)]
        self._index_idf()
        self._index_vectors(counts)
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
        authors: dict[str, set[int]] = {}
        categories: dict[str, set[int]] = {}
        for doc, paper in enumerate(self.papers):
            for name in paper.authors:
                for key in _name_keys(name):
                    authors.setdefault(key, set()).add(doc)
            for category in paper.categories:
                categories.setdefault(category.casefold(), set()).add(doc)
        self.authors = {k: frozenset(v) for k, v in authors.items()}
        self.categories = {k: frozenset(v) for k, v in categories.items()}

    def _index_votes(self) -> None:
        """Vote boost in [0, 1], freshness, the "trending" flag and the tie-break order."""
        ups = [max(0, p.upvotes) for p in self.papers]
        top = math.log1p(max(ups, default=0)) or 1.0
        self.votes = [math.log1p(u) / top for u in ups]
        self.by_votes = Match.of({d: v for d, v in enumerate(self.votes) if v > 0})
        self.boost = [1.0 + RECENCY * self._freshness(p) for p in self.papers]
        cut = sorted(ups, reverse=True)[int(len(ups) * HOT_SHARE)] if ups else 0
        self.hot = [u >= max(cut, HOT_MIN_VOTES) for u in ups]
        ranked = sorted(range(len(ups)), key=lambda d: (-ups[d], self.papers[d].id))
        self.order = [0] * len(ups)
        for position, doc in enumerate(ranked):
            self.order[doc] = -position

    def _freshness(self, paper: Paper) -> float:
        """1 for a paper listed `today`, halving every HALF_LIFE_DAYS; 0 when no `today`."""
        if self.today is None:
            return 0.0
        age = max(0, (self.today - paper.listed_on).days)
        return float(0.5 ** (age / HALF_LIFE_DAYS))

    def phrase(self, text: str) -> Match:
        """Each candidate's match with a profile phrase, in [0, 1); computed once per day."""
        found = self._matches.get(text)
        if found is None:
            found = Match.of(_match_text(self, text))
            self._matches[text] = found
        return found

    def liked(self, paper: Paper) -> Match:
        """Each candidate's cosine similarity to a liked paper (at least LIKED_MIN)."""
        found = self._likes.get(paper.id)
        if found is None:
            found = Match.of(_similar(self, paper))
            self._likes[paper.id] = found
        return found

    def label(self, text: str, doc: int) -> str:
        """How a paper matched a phrase, in the user's words (see `_label`); cached."""
        found = self._labels.get((text, doc))
        if found is None:
            found = _label(self, text, doc)
            self._labels[(text, doc)] = found
        return found


def _own_idfs(c: Candidates, phrase: _Phrase) -> list[float]:
    """IDF of each of the user's words (an acronym weighs the mean of its long form's stems)."""
    return [sum(map(c.idf_of, unit)) / len(unit) for unit in phrase.units]


def _variant_idfs(own: list[float], phrase: _Phrase) -> list[float]:
    """IDF of a variant's words: a word swapped in shares the weight of the words it replaces."""
    sharing = {src: phrase.sources.count(src) for src in phrase.sources}
    return [sum(own[j] for j in src) / sharing[src] for src in phrase.sources]


def _match_text(c: Candidates, text: str) -> Postings:
    """The best match of any variant of a phrase, per paper (synonyms discounted)."""
    variants = _variants(text)
    if not variants or not variants[0].units:
        return {}
    own = _own_idfs(c, variants[0])
    out: Postings = {}
    for phrase in variants:
        for doc, score in _match_phrase(c, phrase, _variant_idfs(own, phrase)).items():
            if score > out.get(doc, 0.0):
                out[doc] = score
    return out


def _match_phrase(c: Candidates, phrase: _Phrase, idfs: list[float]) -> Postings:
    """Score every paper that could reach MIN_TOPIC: one with a telling word or a linked pair."""
    total = sum(idfs) or 1.0
    units = [[c.terms.get(s, {}) for s in unit] for unit in phrase.units]
    links = [[c.pairs[k] for k in keys if k in c.pairs] for keys in phrase.links]
    docs: set[int] = set()
    for postings, idf in zip(units, idfs, strict=True):
        if BAG_SHARE * idf / total * phrase.factor >= MIN_TOPIC:
            docs.update(min(postings, key=len))
    for found in links:
        for postings in found:
            docs.update(postings)
    out: Postings = {}
    for doc in docs:
        score = _phrase_score(doc, units, links, idfs, total) * phrase.factor
        if score >= MIN_TOPIC:
            out[doc] = score
    return out


def _phrase_score(
    doc: int,
    units: list[list[Postings]],
    links: list[list[Postings]],
    idfs: list[float],
    total: float,
) -> float:
    """Blend a phrase's words found anywhere in a paper with its longest run of linked words.

    Both parts weigh each word by IDF and saturate the evidence, so "diffusion language models"
    in a title scores high, while "diffusion" alone somewhere scores a fraction of the bag part.
    """
    bag = 0.0
    for postings, idf in zip(units, idfs, strict=True):
        evidence = min(p.get(doc, 0.0) for p in postings)
        if evidence:
            bag += idf * _sat(evidence)
    if not links:
        return bag / total
    return (BAG_SHARE * bag + (1.0 - BAG_SHARE) * _best_run(doc, links, idfs)) / total


def _best_run(doc: int, links: list[list[Postings]], idfs: list[float]) -> float:
    """The run of consecutive linked words with the most IDF * saturated weakest-link evidence."""
    best = 0.0
    start = 0
    weakest = math.inf
    for i in range(len(links) + 1):
        evidence = max((p.get(doc, 0.0) for p in links[i]), default=0.0) if i < len(links) else 0.0
        if evidence:
            weakest = min(weakest, evidence)
            continue
        if i > start:
            best = max(best, sum(idfs[start : i + 1]) * _sat(weakest))
        start, weakest = i + 1, math.inf
    return best


def _label(c: Candidates, text: str, doc: int) -> str:
    """How a paper matched a phrase: the phrase, or the words of it that matched, in the user's
    spelling, with "(title)" when they are all in the title. Uses the best-matching variant."""
    variants = _variants(text)
    own = _own_idfs(c, variants[0])
    best, best_score = variants[0], -1.0
    for phrase in variants:
        score = _match_phrase_one(c, phrase, _variant_idfs(own, phrase), doc)
        if score > best_score:
            best, best_score = phrase, score
    return _describe(c, best, doc)


def _match_phrase_one(c: Candidates, phrase: _Phrase, idfs: list[float], doc: int) -> float:
    """One paper's match with one variant (as `_match_phrase`, for a single paper)."""
    units = [[c.terms.get(s, {}) for s in unit] for unit in phrase.units]
    links = [[c.pairs[k] for k in keys if k in c.pairs] for keys in phrase.links]
    return _phrase_score(doc, units, links, idfs, sum(idfs) or 1.0) * phrase.factor


def _describe(c: Candidates, phrase: _Phrase, doc: int) -> str:
    """The words of a variant that a paper has: all of it when they are all there and linked,
    else its longest linked run, else the words present."""
    present = [all(doc in c.terms.get(s, {}) for s in unit) for unit in phrase.units]
    linked = [any(doc in c.pairs.get(k, {}) for k in keys) for keys in phrase.links]
    runs = _runs(linked)
    shown = max(runs, key=len) if runs else [i for i, ok in enumerate(present) if ok]
    if all(present) and len(shown) == len(present):
        words = phrase.shown
    else:
        words = " ".join(dict.fromkeys(phrase.words[i] for i in shown))
    title = c.title_terms[doc]
    in_title = all(s in title for i in shown for s in phrase.units[i]) and all(
        any(k in c.title_pairs[doc] for k in phrase.links[i]) for i in shown[:-1]
    )
    return words + (" (title)" if in_title else "")


def _runs(linked: list[bool]) -> list[list[int]]:
    """Runs of words joined by present links: [True, False, True] → [[0, 1], [2, 3]]."""
    runs: list[list[int]] = []
    for i, ok in enumerate(linked):
        if ok and runs and runs[-1][-1] == i:
            runs[-1].append(i + 1)
        elif ok:
            runs.append([i, i + 1])
    return runs


def _similar(c: Candidates, paper: Paper) -> Postings:
    """Cosine similarity of a liked paper's most telling stems to every candidate."""
    counts, _ = _evidence(analyse_paper(paper))
    shared = 1 if paper.id in c.index_of else 0  # its own words say nothing about the others
    weights = {t: w for t, w in c.tfidf(counts).items() if len(c.terms[t]) > shared}
    top = heapq.nlargest(LIKED_TERMS, weights.items(), key=lambda kv: kv[1])
    norm = math.sqrt(sum(w * w for _, w in top)) or 1.0
    sims: Postings = {}
    for term, weight in top:
        for doc, value in c.vectors.get(term, {}).items():
            sims[doc] = sims.get(doc, 0.0) + weight / norm * value
    return {doc: s for doc, s in sims.items() if s >= LIKED_MIN}


@dataclass(frozen=True, slots=True)
class _Plan:
    """A profile resolved against the candidates: what each of its parts matches.

    `base` replaces topic relevance for a profile with no interests (the day's top votes) or
    only arXiv categories. `lists` are the ranked matches the threshold algorithm reads.
    """

    profile: Profile
    topics: tuple[tuple[str, float, Match], ...]
    excludes: tuple[tuple[str, Postings], ...]
    likes: tuple[tuple[str, Match], ...]
    authors: frozenset[int]
    in_categories: frozenset[int]
    base: Match | None
    lists: tuple[tuple[float, Match], ...]
    liked_ids: frozenset[str]


def _plan(profile: Profile, c: Candidates, liked_papers: Sequence[Paper]) -> _Plan:
    """Look up (or compute, once per day) every phrase, liked paper and author of a profile."""
    topics = tuple((t.phrase, t.weight, c.phrase(t.phrase)) for t in profile.topics)
    excludes = tuple((e, c.phrase(e).scores) for e in profile.exclude)
    wanted = set(profile.liked)
    likes = tuple((p.id, c.liked(p)) for p in liked_papers if p.id in wanted)
    authors = frozenset(d for n in profile.authors for d in c.authors.get(_followed_key(n), ()))
    in_categories = frozenset(
        d for x in profile.arxiv_categories for d in c.categories.get(x.casefold(), ())
    )
    base = None
    if not (topics or likes or profile.authors):
        base = c.by_votes if not profile.arxiv_categories else Match.of(
            dict.fromkeys(in_categories, QUALIFY)
        )
    lists = [(w, m) for _, w, m in topics if w > 0] + [(LIKED_WEIGHT, m) for _, m in likes]
    lists += [(1.0, base)] if base else []
    return _Plan(
        profile, topics, excludes, likes, authors, in_categories, base, tuple(lists), frozenset(wanted)
    )


def _relevance(plan: _Plan, doc: int) -> float:
    """A paper's relevance to the profile (see the module docstring)."""
    if plan.base is not None:
        return plan.base.scores.get(doc, 0.0)
    rel = 0.0
    for _, weight, match in plan.topics:
        rel += weight * match.scores.get(doc, 0.0)
    if plan.likes:
        rel += LIKED_WEIGHT * max(m.scores.get(doc, 0.0) for _, m in plan.likes)
    if doc in plan.authors:
        rel += AUTHOR_BONUS
    return rel


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
    for phrase, scores in plan.excludes:
        if scores.get(doc, 0.0) >= HARD_EXCLUDE:
            return f"excluded: {phrase}"
    if paper.upvotes < profile.min_upvotes:
        return f"below min_upvotes ({paper.upvotes} < {profile.min_upvotes})"
    if profile.arxiv_categories and paper.categories and doc not in plan.in_categories:
        return f"not in {', '.join(profile.arxiv_categories)}"
    return ""


def _score(plan: _Plan, c: Candidates, doc: int, seen: Collection[str]) -> float:
    """A paper's final score, or 0 when it may not be picked (blocked or not relevant enough)."""
    rel = _relevance(plan, doc)
    if (rel < QUALIFY and doc not in plan.authors) or _block(plan, c, doc, seen):
        return 0.0
    pushdown = 1.0
    for _, scores in plan.excludes:
        if scores.get(doc, 0.0) >= SOFT_EXCLUDE and doc not in plan.authors:
            pushdown = SOFT_EXCLUDE_FACTOR
    return rel * (1.0 + plan.profile.trending * c.votes[doc]) * c.boost[doc] * pushdown


def _top(plan: _Plan, c: Candidates, seen: Collection[str]) -> dict[int, float]:
    """Score papers in the order the profile's ranked matches give, until none unread can win.

    Fagin's threshold algorithm: after reading `depth` papers of every list, an unread paper
    scores at most the sum of each list's next score, times the largest boost. Followed
    authors' papers are always read.
    """
    want = max(1, plan.profile.max_papers)
    most = (1.0 + max(0.0, plan.profile.trending)) * max(c.boost, default=1.0)
    scored = {doc: _score(plan, c, doc, seen) for doc in plan.authors}
    depth = 2 * want
    while True:
        for _, match in plan.lists:
            for _, doc in match.ranked[:depth]:
                if doc not in scored:
                    scored[doc] = _score(plan, c, doc, seen)
        bound = sum(w * m.ranked[depth][0] for w, m in plan.lists if len(m.ranked) > depth)
        if bound < QUALIFY:
            return scored
        top = heapq.nlargest(want, scored.values())
        if len(top) == want and top[-1] > bound * most:
            return scored
        depth *= 4


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
    if not isinstance(seen, set | frozenset):
        seen = frozenset(seen)
    plan = _plan(profile, c, liked_papers)
    if explain:
        scored = {doc: _score(plan, c, doc, seen) for doc in range(len(c))}
    else:
        scored = _top(plan, c, seen)
    best = heapq.nlargest(
        max(0, profile.max_papers),
        ((s, c.order[d], d) for d, s in scored.items() if s > 0),
    )
    picked = []
    for score, _, doc in best:
        reasons = _reasons(plan, c, doc)
        if reasons:
            picked.append(RankedPaper(c.papers[doc], round(score, 4), reasons))
    excluded = _explain(plan, c, seen, scored, picked) if explain else ()
    return Ranking(tuple(picked), excluded)


def _reasons(plan: _Plan, c: Candidates, doc: int) -> tuple[str, ...]:
    """What a reader is told about a pick: matched phrases, authors, likes, votes, pushdowns."""
    reasons = []
    hits = sorted(
        ((w * m.scores[doc], text) for text, w, m in plan.topics if w > 0 and doc in m.scores),
        reverse=True,
    )
    labels = dict.fromkeys(c.label(text, doc) for _, text in hits)
    if labels:
        reasons.append("matched: " + ", ".join(labels))
    if doc in plan.authors:
        reasons.append("by " + ", ".join(_followed_names(plan.profile, c.papers[doc])))
    like = max(((m.scores.get(doc, 0.0), i) for i, m in plan.likes), default=(0.0, ""))
    if like[0] > 0:
        reasons.append(f"like {like[1]}")
    if plan.base is not None and plan.profile.arxiv_categories and doc in plan.in_categories:
        reasons.append("in " + ", ".join(plan.profile.arxiv_categories))
    elif plan.base is not None or (plan.profile.trending > 0 and c.hot[doc]):
        reasons.append(f"trending: {c.papers[doc].upvotes} votes")
    reasons.extend(
        f"mentions {e} (pushed down)"
        for e, scores in plan.excludes
        if SOFT_EXCLUDE <= scores.get(doc, 0.0) and doc not in plan.authors
    )
    return tuple(reasons)


def _followed_names(profile: Profile, paper: Paper) -> list[str]:
    """The paper's authors that the profile follows, as the paper spells them."""
    keys = {_followed_key(n) for n in profile.authors}
    return [a for a in paper.authors if keys.intersection(_name_keys(a))]


def _explain(
    plan: _Plan,
    c: Candidates,
    seen: Collection[str],
    scored: dict[int, float],
    picked: list[RankedPaper],
) -> tuple[Excluded, ...]:
    """Every candidate that was not picked, with the first reason that applies to it."""
    chosen = {r.paper.id for r in picked}
    out = []
    for doc, paper in enumerate(c.papers):
        if paper.id in chosen:
            continue
        reason = _block(plan, c, doc, seen)
        if not reason:
            reason = _why_not(_relevance(plan, doc), scored.get(doc, 0.0))
        out.append(Excluded(paper, reason))
    return tuple(out)


def _why_not(rel: float, score: float) -> str:
    """The reason for a paper that may be sent but was not picked."""
    if score > 0:
        return f"below the cut (score {score:.3f})"
    if rel <= 0:
        return "no topic matched"
    return f"weak match ({rel:.3f} < {QUALIFY})"
