"""The reasons of a pick after "matched: ...": its followed authors ("by Percy Liang"), the
closest liked paper ("like 2305.10431 (Its Name)"), its votes ("trending: 87 votes") or the
profile's categories, the exclude phrases it mentions ("mentions video generation (pushed
down)") and another medium than the profile's ("about audio, not images (pushed
down)", `ranking_fields`), in that order.

They are worked out for all the picks of a batch of profiles at once, a kind of reason at a
time: a profile at a time, the Python overhead of a few small numpy calls and lists was most
of their cost.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from newsletter import textmatch, textmatch_phrases
from newsletter.ranking_candidates import Candidates
from newsletter.ranking_fields import elsewhere_reason
from newsletter.ranking_index import Mask, Positions, Vector
from newsletter.ranking_score import Plan

Said = dict[int, str]  # a reason of one kind, by pick
TRENDING = "trending"
SHORT_TITLE_WORDS = 6  # a liked paper is named by its title's name, or this many words


def tails(plans: Sequence[Plan], c: Candidates, owner: Positions, at: Positions) -> list[Said]:
    """The reasons after "matched: ...", a kind at a time in the order they are given, each
    by pick (`owner` is the plan of each pick, `at` its paper). Kinds, not a tuple per pick:
    the caller adds them to the picks' reasons, and tuples kept for the whole batch made the
    garbage collector run more."""
    authored = _authored(plans, len(c), owner, at)
    return [
        _author_reasons(plans, c, owner, at, authored),
        _like_reasons(plans, c, owner, at),
        _vote_reasons(plans, c, owner, at),
        *_exclude_reasons(plans, c, owner, at, authored),
        _field_reasons(plans, c, owner, at, authored),
    ]


def _authored(plans: Sequence[Plan], n: int, owner: Positions, at: Positions) -> Mask:
    """Whether each pick is by an author its profile follows."""
    followed = np.zeros((len(plans), n), dtype=bool)
    for b, plan in enumerate(plans):
        if plan.authors:
            followed[b, plan.authors] = True
    by_followed: Mask = followed[owner, at]
    return by_followed


def _author_reasons(
    plans: Sequence[Plan], c: Candidates, owner: Positions, at: Positions, authored: Mask
) -> Said:
    """"by <followed author>" for the picks by followed authors."""
    said: Said = {}
    for pick in np.flatnonzero(authored).tolist():
        keys = [textmatch.followed_key(n) for n in plans[owner[pick]].profile.authors]
        said[pick] = "by " + ", ".join(c.facts.followed(int(at[pick]), keys))
    return said


def _like_reasons(plans: Sequence[Plan], c: Candidates, owner: Positions, at: Positions) -> Said:
    """"like <liked paper> (<its short title>)" for the picks similar to a liked paper: the
    closest one, ties to the greater id."""
    liking = [b for b, plan in enumerate(plans) if plan.likes]
    if not liking:
        return {}
    width = max(len(plans[b].likes) for b in liking)
    rows = np.zeros((len(plans), width), dtype=np.intp)  # row 0: no liked paper (zeros)
    vectors: list[Vector] = [np.zeros(len(c))]
    texts = [""]
    for b in liking:  # greater ids first, so that the first of equals wins
        for slot, (liked, sims) in enumerate(sorted(plans[b].likes, key=_id, reverse=True)):
            rows[b, slot] = len(vectors)
            vectors.append(sims)
            name = short_title(c.liked_title(liked))
            texts.append(f"like {liked} ({name})" if name else f"like {liked}")
    sims = np.stack(vectors)[rows[owner], at[:, None]]
    closest = rows[owner, sims.argmax(axis=1)]
    picks = np.flatnonzero(sims.max(axis=1) > 0.0)
    return dict(zip(picks.tolist(), [texts[i] for i in closest[picks].tolist()], strict=True))


def short_title(title: str, words: int = SHORT_TITLE_WORDS) -> str:
    """A paper's title short enough for a reason: its name before a colon ("Genie Envisioner:
    A Unified World Foundation Platform" → "Genie Envisioner"), else its first words and "…";
    an email reader does not know a paper by its arXiv id."""
    name, colon, _ = title.partition(":")
    if colon and 0 < len(name.split()) <= words:
        return name.strip()
    said = title.split()
    return " ".join(said[:words]) + (" …" if len(said) > words else "")


def _id(like: tuple[str, Vector]) -> str:
    """A liked paper's id (the tie-break of equally close liked papers)."""
    return like[0]


def _vote_reasons(plans: Sequence[Plan], c: Candidates, owner: Positions, at: Positions) -> Said:
    """The votes reason of each pick, for the profiles that have one (`_vote_reason`): for
    every pick of a profile without interests, else for the trending ones."""
    kinds = [_vote_reason(plan) for plan in plans]
    voted = np.array([bool(kind) for kind in kinds])
    everyone = np.array([not plan.interests for plan in plans])
    hot = np.array(c.facts.hot, dtype=bool)
    picks = np.flatnonzero(voted[owner] & (everyone[owner] | hot[at]))
    said, docs = c.facts.vote_reasons, at[picks].tolist()
    return {
        pick: said[doc] if kinds[b] == TRENDING else kinds[b]
        for pick, b, doc in zip(picks.tolist(), owner[picks].tolist(), docs, strict=True)
    }


def _vote_reason(plan: Plan) -> str:
    """The votes reason: TRENDING, a fixed text, or "" when votes do not count for this profile.

    A profile with no interests gets the day's top votes (or its categories), each pick with
    this reason; otherwise votes are mentioned for trending papers when the profile counts them.
    """
    profile = plan.profile
    if not plan.interests and profile.arxiv_categories:
        return "in " + ", ".join(profile.arxiv_categories)
    if not plan.interests or profile.trending > 0:
        return TRENDING  # "trending: <votes> votes", see `Facts.vote_reasons`
    return ""


def _exclude_reasons(
    plans: Sequence[Plan], c: Candidates, owner: Positions, at: Positions, authored: Mask
) -> list[Said]:
    """"mentions <exclude phrase> (pushed down)" for the picks that mention one (not those by
    followed authors): a kind per exclude phrase of a profile, in the profile's order. A paper
    that has the phrase's words apart is told so ("mentions video … generation")."""
    width = max((len(plan.excludes) for plan in plans), default=0)
    if not width:
        return []
    rows = np.zeros((len(plans), width), dtype=np.intp)  # row 0: no exclude phrase (ones)
    factors: list[Vector] = [np.ones(len(c))]
    wholes: list[Mask] = [np.ones(len(c), dtype=bool)]
    texts, apart = [""], [""]
    for b, plan in enumerate(plans):
        for slot, (text, _, factor) in enumerate(plan.excludes):
            rows[b, slot] = len(factors)
            factors.append(factor)
            wholes.append(c.excluded_whole(text))
            texts.append(f"mentions {text} (pushed down)")
            apart.append(f"mentions {words_apart(text)} (pushed down)")
    slots = rows[owner]
    pushed = (np.stack(factors)[slots, at[:, None]] < 1.0) & ~authored[:, None]
    whole = np.stack(wholes)[slots, at[:, None]]
    out = []
    for slot in range(width):
        picks = np.flatnonzero(pushed[:, slot])
        said = [texts[i] if is_whole else apart[i] for i, is_whole in
                zip(slots[picks, slot].tolist(), whole[picks, slot].tolist(), strict=True)]
        out.append(dict(zip(picks.tolist(), said, strict=True)))
    return out


def _field_reasons(
    plans: Sequence[Plan], c: Candidates, owner: Positions, at: Positions, authored: Mask
) -> Said:
    """"about <its medium>, not <the profile's> (pushed down)" for the picks of another medium
    than their profile's (not those by followed authors)."""
    placed = np.array([plan.elsewhere is not None for plan in plans])
    maybe = np.flatnonzero(placed[owner] & ~authored)
    if not len(maybe):
        return {}
    head = c.paper_fields.head
    said: Said = {}
    for pick, b, doc in zip(maybe.tolist(), owner[maybe].tolist(), at[maybe].tolist(), strict=True):
        elsewhere = plans[b].elsewhere
        if elsewhere is not None and elsewhere.papers[doc]:
            said[pick] = elsewhere_reason(head[doc], elsewhere.medium)
    return said


def words_apart(text: str) -> str:
    """An exclude phrase's words with "…" between them, for a paper that has them apart."""
    found = textmatch_phrases.variants(text)
    units = found[0].units if found else ()
    groups = list(dict.fromkeys(unit.group for unit in units))
    parts = groups if len(groups) > 1 else [unit.word for unit in units]
    return " … ".join(parts) if len(parts) > 1 else text
