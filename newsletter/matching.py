"""Rank the candidate papers for one subscriber profile, and say why each paper was picked.

Pure: no I/O and no clock reads (the caller passes `today`). The papers are analysed once into
`Candidates` (`ranking_candidates`), which the pipeline shares between all the subscribers of a
run; a profile phrase is matched against all candidates once, whoever asked for it, and kept as
a vector. Ranking one profile is then a few vector operations and the reasons of its picks.

The modules, in the order the work flows:

- `textmatch`: words, stems, acronyms, phrase variants (the language of papers and profiles);
- `ranking_text`: one paper's counts of stems and pairs of stems, by field;
- `ranking_postings`, `ranking_index`: postings in flat arrays, IDF and TF-IDF weights;
- `ranking_facts`: votes, freshness, authors and categories of the candidates;
- `ranking_evidence`: one word or link of a phrase across the candidates;
- `ranking_phrases`: a profile phrase matched against every candidate;
- `ranking_similarity`: TF-IDF cosine of a phrase, and of a liked paper, to every candidate;
- `ranking_fields`: the medium of a profile and of each candidate (images, speech...);
- `ranking_labels`: how a paper matched a phrase, in the subscriber's words;
- `ranking_candidates`: `Candidates`, the index plus the caches that profiles share;
- `ranking_score`: relevance, score and filters of every candidate for one profile;
- `ranking_reasons`: the reasons of the picks (`ranking_tails`: those after "matched: ...");
- `ranking_explain`: why every other candidate was left out (`preview --explain`).

The score of a paper (higher is better) is

    relevance * (1 + trending * votes) * (1 + recency * freshness) * pushdown

- relevance blends two views of the topics, then adds the liked papers and followed authors
  (`ranking_score`):
  - the phrase matches: the sum of weight * match over the topics, where a match is in [0, 1)
    (`ranking_phrases`): about 0.33 for a phrase met once in the abstract, 0.6 in the title,
    0.75 in the title, the keywords and the abstract; less for part of a phrase (its words'
    share of the phrase's IDF); and COMPONENT_FACTOR of that when the phrase is neither whole
    in the title nor said twice in the abstract (`ranking_evidence`);
  - the TF-IDF cosine of the topics (each weighted) with the paper (`ranking_similarity`),
    scaled so that the profile's best paper has the value of the best phrase match, blended
    in with weight TOPICAL_SHARE among the papers that match a phrase: it favours papers that
    are about the topics over papers that mention them among other things;
  - plus LIKED_WEIGHT * the cosine similarity to the closest liked paper (LIKED_MIN and up),
    and AUTHOR_BONUS for a followed author;
- votes is log(1 + upvotes) / log(1 + the most upvotes among the candidates), in [0, 1]
  (`ranking_facts`);
- freshness is 1 for a paper listed `today` and halves every HALF_LIFE_DAYS before it (0
  when no `today` was given); `trending` and `recency` are the profile's knobs (recency is 0
  unless asked for: on the judged set, any age boost only cost relevance);
- pushdown is SOFT_EXCLUDE_FACTOR for each exclude phrase mentioned in passing
  (`ranking_candidates`), and FIELD_FACTOR for a paper of another medium than the profile's
  (`ranking_fields`), else 1.

A paper needs relevance >= the profile's `min_relevance` (QUALIFY, 0.12, unless it says
otherwise), and >= RELATIVE_FLOOR of the relevance of the best paper the profile may be sent,
at most FLOOR_CAP (a near miss beside a squarely relevant paper is left out), or a followed
author, to be picked; `min_relevance: 0` turns both off. An exclude phrase matched at HARD_EXCLUDE
disqualifies a paper. Followed authors' papers pass every filter (exclusions, min_upvotes,
categories) but not `seen` or `liked`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import NamedTuple

from newsletter.gc_paused import gc_paused
from newsletter.models import Paper, Profile, Ranking
from newsletter.ranking_candidates import Candidates
from newsletter.ranking_explain import explain as _explain
from newsletter.ranking_reasons import picks, picks_many
from newsletter.ranking_score import best, plan, scores

__all__ = ["Candidates", "Request", "rank", "rank_many"]


class Request(NamedTuple):
    """One subscriber to rank: their profile, the ids they have been sent, and the papers of
    `profile.liked` that the caller knows (they may be older than the candidates)."""

    profile: Profile
    seen: Collection[str] = frozenset()
    liked_papers: Sequence[Paper] = ()


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
    if not explain:
        return rank_many([Request(profile, seen, liked_papers)], candidates)[0]
    resolved = plan(profile, candidates, liked_papers)
    score = scores([resolved], candidates, [seen])[0]
    docs = best(score[None, :], candidates, [profile.max_papers])[0]
    picked = picks(resolved, candidates, docs, score) if docs else ()
    ids = {r.paper.id for r in picked}
    return Ranking(picked, _explain(resolved, candidates, seen, score, ids))


def rank_many(requests: Sequence[Request], candidates: Candidates) -> list[Ranking]:
    """`rank` for many subscribers against the same candidates, in one pass: their scores are
    rows of one matrix, so a run's subscribers cost a few numpy calls per batch, not each."""
    if not requests:
        return []
    with gc_paused():  # a batch makes many objects and no cycles (`gc_paused`)
        return _rank_many(requests, candidates)


def _rank_many(requests: Sequence[Request], candidates: Candidates) -> list[Ranking]:
    """`rank_many` of a non-empty batch."""
    candidates.prepare(
        (t.phrase for r in requests for t in r.profile.topics),
        (e for r in requests for e in r.profile.exclude),
        (p for r in requests if r.profile.liked for p in r.liked_papers if p.id in r.profile.liked),
    )
    plans = [plan(r.profile, candidates, r.liked_papers) for r in requests]
    score = scores(plans, candidates, [r.seen for r in requests])
    chosen = best(score, candidates, [r.profile.max_papers for r in requests])
    return [Ranking(picked) for picked in picks_many(plans, candidates, chosen, score)]
