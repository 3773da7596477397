"""Rank a day's papers for one subscriber profile, and say why each paper was picked.

Pure: no I/O and no clock reads (the caller passes `today`). The day's papers are analysed
once into `Candidates` (stems, postings, IDF over the candidates); `rank` then touches only
the postings of the profile's phrases. The per-phrase work is cached on the `Candidates`, so
the thousands of subscribers who share "diffusion models" pay for it once.

The score of a picked paper (higher is better) is

    relevance × (1 + trending × votes) × (1 + RECENCY × freshness) × pushdown

where `relevance` adds, for each topic, weight × a match in [0, 1) (about 0.3 for one mention
in the abstract, 0.6 for the phrase in the title, 0.8 and more for title, keywords and
abstract together), LIKED_WEIGHT × the cosine similarity to the closest liked paper, and
AUTHOR_BONUS per followed author; `votes` is log(1 + upvotes) / log(1 + the day's most upvotes);
`freshness` halves every week before `today`; `pushdown` is SOFT_EXCLUDE_FACTOR when an excluded
phrase is only mentioned in passing. A paper needs relevance ≥ QUALIFY to be picked.
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

# Weight of one occurrence of a word in each field (field-weighted term frequency, as BM25F).
TITLE_WEIGHT = 3.0
KEYWORD_WEIGHT = 2.0
SUMMARY_WEIGHT = 1.5
ABSTRACT_WEIGHT = 1.0
GAP_WEIGHT = 0.6  # a word pair one word apart counts this much of an adjacent pair
SATURATION = 2.0  # evidence e counts e / (e + SATURATION): repeats help less and less
BAG_SHARE = 0.35  # the rest of a topic's match comes from its words appearing as a phrase
MIN_TOPIC = 0.04  # topic matches below this are dropped as noise
QUALIFY = 0.12  # least relevance for a paper to be picked
HARD_EXCLUDE = 0.4  # an exclude phrase this central (title, keywords, repeated) disqualifies
SOFT_EXCLUDE = 0.2  # ... and one mentioned in passing pushes the paper down
SOFT_EXCLUDE_FACTOR = 0.5
LIKED_WEIGHT = 1.2
LIKED_MIN = 0.12  # least cosine similarity to a liked paper that counts
LIKED_TERMS = 40  # a liked paper is summarised by its most telling words
AUTHOR_BONUS = 1.0
RECENCY = 0.15
HALF_LIFE_DAYS = 7.0
HOT_SHARE = 0.2  # "trending" is said of the day's top fifth by votes ...
HOT_MIN_VOTES = 10  # ... with at least this many votes

Pair = tuple[str, str]
Postings = dict[int, float]


@dataclass(frozen=True, slots=True)
class _Phrase:
    """A profile phrase, analysed: its stems in order, the user's words, and the stems' IDF."""

    text: str
    stems: tuple[str, ...]
    surfaces: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Analysed:
    """One paper's text as sentences of stems, per field, with each field's weight."""

    title: list[list[str]]
    fields: list[tuple[float, list[list[str]]]]


def analyse_paper(paper: Paper) -> _Analysed:
    """Stem every field of a paper, with acronyms the paper defines expanded everywhere."""
    local = textmatch.find_definitions(f"{paper.title}. {paper.abstract}")
    title = textmatch.analyse(paper.title, local)
    fields = [
        (TITLE_WEIGHT, title),
        (ABSTRACT_WEIGHT, textmatch.analyse(textmatch.strip_definitions(paper.abstract), local)),
        (SUMMARY_WEIGHT, textmatch.analyse(paper.ai_summary or "", local)),
        (KEYWORD_WEIGHT, [s for k in paper.ai_keywords for s in textmatch.analyse(k, local)]),
    ]
    return _Analysed(title, fields)


def _evidence(analysed: _Analysed) -> tuple[dict[str, float], dict[Pair, float]]:
    """Field-weighted counts of each stem and of each pair of stems at most one word apart."""
    terms: dict[str, float] = {}
    pairs: dict[Pair, float] = {}
    for weight, field in analysed.fields:
        for sentence in field:
            for i, term in enumerate(sentence):
                terms[term] = terms.get(term, 0.0) + weight
                for gap, factor in ((1, 1.0), (2, GAP_WEIGHT)):
                    if i + gap < len(sentence) and sentence[i + gap] != term:
                        key = _pair(term, sentence[i + gap])
                        pairs[key] = pairs.get(key, 0.0) + weight * factor
    return terms, pairs


def _pair(a: str, b: str) -> Pair:
    """Pairs are unordered: "image editing" and "editing of images" are the same evidence."""
    return (a, b) if a < b else (b, a)


def _title_pairs(title: list[list[str]]) -> frozenset[Pair]:
    """The pairs of stems that appear near each other in a title."""
    return frozenset(
        _pair(s[i], s[j])
        for s in title
        for i in range(len(s))
        for j in (i + 1, i + 2)
        if j < len(s)
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
    full = normalise_name(name)
    parts = full.split()
    if len(parts) < 2:
        return (full,) if full else ()
    return (full, f"{parts[0][0]} {parts[-1]}")


def _profile_name_key(name: str) -> str:
    """A followed author's key: initial + last name when given as "P. Liang", else the name."""
    parts = normalise_name(name).split()
    if len(parts) >= 2 and len(parts[0]) == 1:
        return f"{parts[0]} {parts[-1]}"
    return " ".join(parts)


class Candidates:
    """The papers that can be sent today, analysed once for every profile ranked against them.

    Holds postings of stems and of nearby stem pairs (field-weighted counts), IDF over the
    candidates, vote and freshness boosts, and caches of per-phrase and per-liked-paper work.
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
        self.authors: dict[str, set[int]] = {}
        self.categories: dict[str, set[int]] = {}
        self.votes: list[float] = []
        self.boost: list[float] = []
        self.hot: list[bool] = []
        self.order: list[int] = []
        self.phrase_cache: dict[str, Postings] = {}
        self.liked_cache: dict[str, Postings] = {}

    @classmethod
    def build(cls, papers: Iterable[Paper], *, today: dt.date | None = None) -> Candidates:
        """Analyse the papers (first copy of each id wins) and index them for ranking."""
        unique = {p.id: p for p in reversed(list(papers))}
        self = cls(list(reversed(unique.values())), today)
        documents = [self._index_text(doc, p) for doc, p in enumerate(self.papers)]
        self._index_idf()
        self._index_vectors(documents)
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
        """BM25's IDF over the candidates: a word in most papers weighs almost nothing."""
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

    def _index_vectors(self, documents: list[dict[str, float]]) -> None:
        """Unit-length TF-IDF vectors of the papers, as postings, for liked-paper similarity."""
        for doc, terms in enumerate(documents):
            weights = self.tfidf(terms)
            norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            for term, weight in weights.items():
                self.vectors.setdefault(term, {})[doc] = weight / norm

    def tfidf(self, terms: dict[str, float]) -> dict[str, float]:
        """Sublinear TF × IDF of a paper's stem counts (stems unknown to the day are dropped)."""
        return {
            t: (1.0 + math.log(e)) * self.idf[t] if e >= 1.0 else e * self.idf[t]
            for t, e in terms.items()
            if t in self.idf
        }

    def _index_people(self) -> None:
        """Index authors by name keys and papers by arXiv category."""
        for doc, paper in enumerate(self.papers):
            for name in paper.authors:
                for key in _name_keys(name):
                    self.authors.setdefault(key, set()).add(doc)
            for category in paper.categories:
                self.categories.setdefault(category.casefold(), set()).add(doc)

    def _index_votes(self) -> None:
        """Vote boost in [0, 1], freshness, the "trending" flag and the tie-break order."""
        ups = [max(0, p.upvotes) for p in self.papers]
        top = math.log1p(max(ups, default=0)) or 1.0
        self.votes = [math.log1p(u) / top for u in ups]
        self.boost = [1.0 + RECENCY * self._freshness(p) for p in self.papers]
        cut = sorted(ups, reverse=True)[int(len(ups) * HOT_SHARE)] if ups else 0
        self.hot = [u >= max(cut, HOT_MIN_VOTES) for u in ups]
        ranked = sorted(range(len(ups)), key=lambda d: (-ups[d], self.papers[d].id))
        self.order = [0] * len(ups)
        for position, doc in enumerate(ranked):
            self.order[doc] = -position

    def _freshness(self, paper: Paper) -> float:
        """1 for a paper listed today (or when no `today` was given), halving every week."""
        if self.today is None:
            return 0.0
        age = max(0, (self.today - paper.listed_on).days)
        return float(0.5 ** (age / HALF_LIFE_DAYS))

    def phrase(self, text: str) -> Postings:
        """Each paper's match with a phrase, in [0, 1); computed once per phrase per day."""
        found = self.phrase_cache.get(text)
        if found is None:
            found = _match_phrase(self, _compile_phrase(text))
            self.phrase_cache[text] = found
        return found

    def liked(self, paper: Paper) -> Postings:
        """Each candidate's cosine similarity to a liked paper (at least LIKED_MIN)."""
        found = self.liked_cache.get(paper.id)
        if found is None:
            found = _similar(self, paper)
            self.liked_cache[paper.id] = found
        return found


def _compile_phrase(text: str) -> _Phrase:
    """Analyse a profile phrase once: stems (repeats next to each other merged) and words."""
    stems: list[str] = []
    surfaces: list[str] = []
    for term, surface in textmatch.analyse_phrase(text):
        if not stems or stems[-1] != term:
            stems.append(term)
            surfaces.append(surface)
    return _Phrase(text, tuple(stems), tuple(surfaces))


def _match_phrase(c: Candidates, phrase: _Phrase) -> Postings:
    """Score every paper that has the phrase's rarer words, or two of its words side by side."""
    unique = list(dict.fromkeys(phrase.stems))
    if not unique:
        return {}
    idfs = [c.idf_of(t) for t in unique]
    total = sum(idfs)
    links = [_pair(a, b) for a, b in zip(phrase.stems, phrase.stems[1:], strict=False)]
    docs = _touched(c, unique, idfs, links)
    out: Postings = {}
    for doc in docs:
        score = _phrase_score(c, doc, phrase.stems, unique, idfs, total, links)
        if score >= MIN_TOPIC:
            out[doc] = score
    return out


def _touched(c: Candidates, unique: list[str], idfs: list[float], links: list[Pair]) -> set[int]:
    """Papers worth scoring: those with a word rarer than half the day, or a phrase link."""
    floor = math.log(2.0) if max(idfs) > math.log(2.0) else 0.0
    docs: set[int] = set()
    for term, idf in zip(unique, idfs, strict=True):
        if idf >= floor:
            docs.update(c.terms.get(term, ()))
    for link in links:
        docs.update(c.pairs.get(link, ()))
    return docs


def _phrase_score(
    c: Candidates,
    doc: int,
    stems: tuple[str, ...],
    unique: list[str],
    idfs: list[float],
    total: float,
    links: list[Pair],
) -> float:
    """Blend the words' IDF-weighted presence with the best run of the phrase's words in a row.

    A paper with all of "diffusion language models" side by side scores near its saturation;
    one with only "diffusion" somewhere scores little, as the bag part is squared by coverage.
    """
    bag = covered = 0.0
    for term, idf in zip(unique, idfs, strict=True):
        evidence = c.terms.get(term, {}).get(doc, 0.0)
        if evidence:
            bag += idf * _sat(evidence)
            covered += idf
    if not links:
        return bag / total if total else 0.0
    run = _best_run(c, doc, stems, links, total)
    return BAG_SHARE * (bag / total) * (covered / total) + (1.0 - BAG_SHARE) * run


def _best_run(
    c: Candidates, doc: int, stems: tuple[str, ...], links: list[Pair], total: float
) -> float:
    """The best chain of linked words: its share of the phrase's IDF × its saturated evidence."""
    best = 0.0
    start = 0
    weakest = math.inf
    for i, link in enumerate(links + [("", "")]):
        evidence = c.pairs.get(link, {}).get(doc, 0.0)
        if evidence:
            weakest = min(weakest, evidence)
            continue
        if i > start:
            mass = sum(c.idf_of(t) for t in set(stems[start : i + 1]))
            best = max(best, mass / total * _sat(weakest))
        start, weakest = i + 1, math.inf
    return best


def _similar(c: Candidates, paper: Paper) -> Postings:
    """Cosine similarity of a liked paper's most telling stems to every candidate."""
    terms, _ = _evidence(analyse_paper(paper))
    weights = c.tfidf(terms)
    norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
    top = heapq.nlargest(LIKED_TERMS, weights.items(), key=lambda kv: kv[1])
    sims: Postings = {}
    for term, weight in top:
        for doc, value in c.vectors.get(term, {}).items():
            sims[doc] = sims.get(doc, 0.0) + weight / norm * value
    return {doc: s for doc, s in sims.items() if s >= LIKED_MIN}


@dataclass(frozen=True, slots=True)
class _Plan:
    """A profile resolved against the day's candidates: what each of its parts matches."""

    topics: tuple[tuple[str, float, Postings], ...]
    excludes: tuple[tuple[str, Postings], ...]
    liked: tuple[tuple[str, Postings], ...]
    authors: dict[int, tuple[str, ...]]
    categories: frozenset[str]
    in_categories: frozenset[int]
    interests: bool


def _plan(profile: Profile, c: Candidates, liked_papers: Sequence[Paper]) -> _Plan:
    """Look up (or compute once per day) every phrase, liked paper and author of a profile."""
    topics = tuple((t.phrase, t.weight, c.phrase(t.phrase)) for t in profile.topics)
    excludes = tuple((e, c.phrase(e)) for e in profile.exclude)
    wanted = set(profile.liked)
    liked = tuple((p.id, c.liked(p)) for p in liked_papers if p.id in wanted)
    categories = frozenset(x.casefold() for x in profile.arxiv_categories)
    in_categories = frozenset(d for x in categories for d in c.categories.get(x, ()))
    interests = bool(topics or liked or profile.authors or categories)
    return _Plan(
        topics, excludes, liked, _followed(profile, c), categories, in_categories, interests
    )


def _followed(profile: Profile, c: Candidates) -> dict[int, tuple[str, ...]]:
    """Papers by followed authors, with the names as the papers spell them."""
    found: dict[int, tuple[str, ...]] = {}
    for name in profile.authors:
        key = _profile_name_key(name)
        for doc in c.authors.get(key, ()):
            spelled = [a for a in c.papers[doc].authors if key in _name_keys(a)]
            found[doc] = found.get(doc, ()) + tuple(spelled[:1])
    return found


def _relevance(plan: _Plan, c: Candidates) -> Postings:
    """Sum the profile's evidence per paper: topics, liked-paper similarity, followed authors."""
    if not plan.interests:
        return {d: v for d, v in enumerate(c.votes) if v > 0}
    rel: Postings = {}
    for _, weight, postings in plan.topics:
        for doc, score in postings.items():
            rel[doc] = rel.get(doc, 0.0) + weight * score
    for doc, (_, sim) in _best_likes(plan).items():
        rel[doc] = rel.get(doc, 0.0) + LIKED_WEIGHT * sim
    for doc in plan.authors:
        rel[doc] = rel.get(doc, 0.0) + AUTHOR_BONUS
    if not (plan.topics or plan.liked or plan.authors):
        for doc in plan.in_categories:
            rel[doc] = rel.get(doc, 0.0) + QUALIFY
    return rel


def _best_likes(plan: _Plan) -> dict[int, tuple[str, float]]:
    """For each paper, the liked paper it is most similar to, and how similar."""
    best: dict[int, tuple[str, float]] = {}
    for liked_id, sims in plan.liked:
        for doc, sim in sims.items():
            if sim > best.get(doc, ("", 0.0))[1]:
                best[doc] = (liked_id, sim)
    return best


def _block(profile: Profile, plan: _Plan, c: Candidates, doc: int, seen: Collection[str]) -> str:
    """Why a paper may not be sent at all, or "" if it may (followed authors override filters)."""
    paper = c.papers[doc]
    if paper.id in seen:
        return "already sent"
    if paper.id in profile.liked:
        return "liked: already read"
    if doc in plan.authors:
        return ""
    for phrase, postings in plan.excludes:
        if postings.get(doc, 0.0) >= HARD_EXCLUDE:
            return f"excluded: {phrase}"
    if paper.upvotes < profile.min_upvotes:
        return f"below min_upvotes ({paper.upvotes} < {profile.min_upvotes})"
    if plan.categories and paper.categories and doc not in plan.in_categories:
        return f"not in {', '.join(profile.arxiv_categories)}"
    return ""


def _pushdown(plan: _Plan, doc: int) -> float:
    """SOFT_EXCLUDE_FACTOR if an excluded phrase is mentioned in passing, else 1."""
    for _, postings in plan.excludes:
        if postings.get(doc, 0.0) >= SOFT_EXCLUDE:
            return SOFT_EXCLUDE_FACTOR
    return 1.0


def rank(
    profile: Profile,
    candidates: Candidates,
    *,
    seen: Collection[str] = frozenset(),
    liked_papers: Sequence[Paper] = (),
    explain: bool = False,
) -> Ranking:
    """Pick at most `profile.max_papers` candidates for a profile, best first, with reasons.

    Papers already `seen`, liked, disqualified or below QUALIFY are never picked; ties go to
    more upvotes, then to the smaller id. With `explain`, every other candidate comes back in
    `Ranking.excluded` with the reason it was left out.
    """
    c = candidates
    seen = seen if isinstance(seen, set | frozenset) else frozenset(seen)
    plan = _plan(profile, c, liked_papers)
    scored = _scores(profile, plan, c, seen)
    best = heapq.nlargest(profile.max_papers, scored, key=lambda item: (item[0], c.order[item[1]]))
    picked = []
    for score, doc in best:
        reasons = _reasons(profile, plan, c, doc)
        if reasons:
            picked.append(RankedPaper(c.papers[doc], round(score, 4), reasons))
    excluded = _explain(profile, plan, c, seen, scored, picked) if explain else ()
    return Ranking(tuple(picked), excluded)


def _scores(
    profile: Profile, plan: _Plan, c: Candidates, seen: Collection[str]
) -> list[tuple[float, int]]:
    """(score, paper) for every paper that qualifies; see the module docstring for the formula."""
    out = []
    trending = profile.trending
    for doc, rel in _relevance(plan, c).items():
        if rel < QUALIFY and doc not in plan.authors:
            continue
        if _block(profile, plan, c, doc, seen):
            continue
        score = rel * (1.0 + trending * c.votes[doc]) * c.boost[doc] * _pushdown(plan, doc)
        if score > 0:
            out.append((score, doc))
    return out


def _reasons(profile: Profile, plan: _Plan, c: Candidates, doc: int) -> tuple[str, ...]:
    """What a reader is told about a pick: matched phrases, authors, likes, votes, pushdowns."""
    reasons = []
    labels = [_label(c, doc, text) for text, w, p in _by_strength(plan.topics, doc) if w > 0]
    if labels:
        reasons.append("matched: " + ", ".join(labels))
    if doc in plan.authors:
        reasons.append("by " + ", ".join(plan.authors[doc]))
    like = _best_likes(plan).get(doc)
    if like:
        reasons.append(f"like {like[0]}")
    if not plan.topics and not plan.liked and not plan.authors and doc in plan.in_categories:
        reasons.append("in " + ", ".join(profile.arxiv_categories))
    if (profile.trending > 0 or not plan.interests) and c.hot[doc]:
        reasons.append(f"trending: {c.papers[doc].upvotes} votes")
    elif not plan.interests and c.votes[doc] > 0:
        reasons.append(f"votes: {c.papers[doc].upvotes}")
    reasons.extend(
        f"mentions {e} (pushed down)" for e, p in plan.excludes if p.get(doc, 0) >= SOFT_EXCLUDE
    )
    return tuple(reasons)


def _by_strength(
    topics: tuple[tuple[str, float, Postings], ...], doc: int
) -> list[tuple[str, float, Postings]]:
    """The topics a paper matched, strongest contribution first."""
    hits = [t for t in topics if doc in t[2]]
    return sorted(hits, key=lambda t: -t[1] * t[2][doc])


def _label(c: Candidates, doc: int, text: str) -> str:
    """How a topic matched, in the user's words: "sparse attention (title)", or the words found."""
    phrase = _compile_phrase(text)
    links = [_pair(a, b) for a, b in zip(phrase.stems, phrase.stems[1:], strict=False)]
    if all(doc in c.pairs.get(link, {}) for link in links) and all(
        doc in c.terms.get(s, {}) for s in phrase.stems
    ):
        in_title = all(link in c.title_pairs[doc] for link in links) and all(
            s in c.title_terms[doc] for s in phrase.stems
        )
        return text + (" (title)" if in_title else "")
    found = [
        w for s, w in zip(phrase.stems, phrase.surfaces, strict=True) if doc in c.terms.get(s, {})
    ]
    words = list(dict.fromkeys(found))
    in_title = all(s in c.title_terms[doc] for s in phrase.stems if doc in c.terms.get(s, {}))
    return " ".join(words) + (" (title)" if in_title else "")


def _explain(
    profile: Profile,
    plan: _Plan,
    c: Candidates,
    seen: Collection[str],
    scored: list[tuple[float, int]],
    picked: list[RankedPaper],
) -> tuple[Excluded, ...]:
    """Every candidate that was not picked, with the first reason that applies to it."""
    chosen = {r.paper.id for r in picked}
    score_of = {doc: s for s, doc in scored}
    rel = _relevance(plan, c)
    out = []
    for doc, paper in enumerate(c.papers):
        if paper.id in chosen:
            continue
        reason = _block(profile, plan, c, doc, seen)
        if not reason and doc in score_of:
            reason = f"below the cut (score {score_of[doc]:.3f})"
        elif not reason:
            reason = _why_not(rel.get(doc, 0.0))
        out.append(Excluded(paper, reason))
    return tuple(out)


def _why_not(rel: float) -> str:
    """The reason for a paper that is allowed but not relevant enough."""
    if rel <= 0:
        return "no topic matched"
    return f"weak match ({rel:.3f} < {QUALIFY})"
