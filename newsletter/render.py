"""Turning a `Digest` into a subject, an HTML body (Jinja2 → MJML → HTML) and a text twin.

The only user of Jinja2 and mjml-python. Upstream text is untrusted: autoescape is on for the
MJML templates, links go through `http_url`, and the subject is stripped of control characters.
The HTML part is kept under Gmail's clipping size: texts are shortened first, then papers dropped,
and the email says so (see `Renderer.render`).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import re
import textwrap
import unicodedata
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup, escape
from mjml import mjml2html

from newsletter.errors import ConfigError
from newsletter.models import Digest, Paper, Profile, RankedPaper, Subscriber, Topic

log = logging.getLogger(__name__)

HTML_TEMPLATE = "digest.mjml"
TEXT_TEMPLATE = "digest.txt"
CARD_TEMPLATE = "_card.mjml"  # one paper's section, called from digest.mjml by `card_section`
NOTE_HTML_TEMPLATE = "note.mjml"
NOTE_TEXT_TEMPLATE = "note.txt"
DIGEST_TITLE = "Paper digest"

# Gmail clips an HTML part larger than 102 KB; stay a little below it.
HTML_BUDGET = 100_000
MATCHED = "matched: "  # how the ranker's reason of matched phrases begins

# How long a card's summary or abstract may be: the first is the normal length, the others are
# tried in turn when the HTML is over budget, before papers are dropped.
CLIP_STEPS = (600, 320, 160)
TRENDING_VOTES = 20
MAX_URL = 600  # longer links are not worth their bytes in a size-limited email
_TEMPLATE_SUFFIXES = (".mjml", ".txt", ".html")
_MEMO_SIZE = 8192  # distinct texts remembered per helper (titles, reasons, links of a run)

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _memoized(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Remember a pure text helper's results for plain `str` and `int` arguments.

    Thousands of digests of a run repeat the same titles, links and reasons. Anything else
    (a `Markup`, which compares equal to its text) is computed every time, so whether a result
    is escaped never depends on what was remembered.
    """
    cached: Callable[..., _R] = functools.lru_cache(maxsize=_MEMO_SIZE)(function)

    @functools.wraps(function)
    def call(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        if kwargs or any(type(arg) not in (str, int) for arg in args):
            return function(*args, **kwargs)
        return cached(*args)

    return call


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    """What delivery needs to build the message, and what the size budget left out.

    `papers_shown` counts the digest's first papers that are in the email; the pipeline should
    treat the rest as unseen. `abstracts_shortened` counts texts cut below their normal length.
    """

    subject: str
    preheader: str
    html: str
    text: str
    papers_shown: int = 0
    papers_dropped: int = 0
    abstracts_shortened: int = 0
    # `html` in pieces, when it was assembled from remembered card sections: the pieces of a
    # card recur in many digests, so delivery can encode each once (see `delivery._part`).
    html_parts: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def trimmed(self) -> bool:
        """True when the size budget shortened or dropped anything."""
        return bool(self.papers_dropped or self.abstracts_shortened)


@dataclass(frozen=True, slots=True)
class Card:
    """One paper as both parts show it: texts cleaned and clipped, links checked, labels ready.

    Templates use these fields; `item` (and `paper`) stay available for overrides that want more.
    """

    item: RankedPaper
    title: str
    url: str | None
    authors: str
    organization: str | None
    text: str
    text_label: str
    reasons: str
    links: tuple[tuple[str, str], ...]
    thumbnail: str | None
    trimmed: bool

    @property
    def paper(self) -> Paper:
        """The paper itself, for overrides that show more fields."""
        return self.item.paper


@_memoized
def http_url(value: object) -> str | None:
    """Return the URL if it is a well-formed http(s) link, else None (no javascript:, data:)."""
    if not isinstance(value, str) or not value or clean_line(value) != value.strip():
        return None
    url = value.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if len(url) > MAX_URL or any(ch in url for ch in ' "<>\\`'):
        return None
    return url


_INVISIBLE = {"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"}


@_memoized
def clean_line(text: str) -> str:
    """One line of text without control or invisible characters, for headers and subjects."""
    kept = (" " if unicodedata.category(ch) in _INVISIBLE or ch.isspace() else ch for ch in text)
    return " ".join("".join(kept).split())


def short_authors(authors: tuple[str, ...], limit: int = 4) -> str:
    """"A, B, C and D" or "A, B, C … Z (+N more)": long author lists shortened sensibly."""
    if not authors:
        return "Unknown authors"
    if len(authors) <= limit:
        return authors[0] if len(authors) == 1 else ", ".join(authors[:-1]) + " and " + authors[-1]
    return f"{', '.join(authors[:3])} … {authors[-1]} (+{len(authors) - 4} more)"


@_memoized
def clip(text: str | None, limit: int) -> str:
    """Trim long text at a word boundary, marking the cut with an ellipsis."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",.;:") + " …"


@_memoized
def wrap(text: str, width: int = 72, indent: int = 0) -> str:
    """Wrap for the text part; the template writes the first indent, later lines get it here.

    Long words (URLs) are never broken, so a line holding one may be longer than `width`.
    """
    pad = " " * indent
    return textwrap.fill(text, width=width, initial_indent=pad, subsequent_indent=pad,
                         break_long_words=False, break_on_hyphens=False)[indent:]


def short_count(number: int) -> str:
    """1234 → "1.2k": star counts read at a glance."""
    return str(number) if number < 1000 else f"{number / 1000:.1f}k".replace(".0k", "k")


def paper_links(paper: Paper) -> list[tuple[str, str]]:
    """(label, url) for the links a card shows, only those that are safe http(s) URLs."""
    candidates = [("Paper", paper.url), ("PDF", paper.pdf_url)]
    if paper.github_repo:
        stars = f" ★ {short_count(paper.github_stars)}" if paper.github_stars else ""
        candidates.append((f"Code{stars}", paper.github_repo))
    if paper.project_page:
        candidates.append(("Project page", paper.project_page))
    return [(label, url) for label, raw in candidates if (url := http_url(raw))]


@functools.lru_cache(maxsize=64)
def long_date(day: dt.date) -> str:
    """"Friday, 29 August 2025": the header's date, unambiguous in every locale."""
    return f"{day:%A}, {day.day} {day:%B %Y}"


_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"']+")


@_memoized
def linkify(text: str) -> Markup:
    """Escape a sentence and turn its http(s) URLs into links, e.g. the footer's manage page."""
    parts: list[str] = []
    last = 0
    for match in _URL_IN_TEXT.finditer(text):
        raw = match.group().rstrip(".,;:!?)")
        parts.append(escape(text[last:match.start()]))
        url = http_url(raw)
        parts.append(Markup('<a href="{0}">{0}</a>').format(url) if url else escape(raw))
        last = match.start() + len(raw)
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def _shown_text(paper: Paper) -> str:
    return " ".join((paper.ai_summary or paper.abstract).split())


def make_card(item: RankedPaper, limit: int) -> Card:
    """Everything a card prints, bounded: hostile upstream data cannot blow up the size."""
    face = _paper_face(item.paper, limit)
    return Card(item, *face[:6], clip("; ".join(item.reasons), 300), *face[6:])


_Face = tuple[str, str | None, str, str | None, str, str, tuple[tuple[str, str], ...], str | None,
              bool]


@functools.lru_cache(maxsize=4096)
def _paper_face(paper: Paper, limit: int) -> _Face:
    """The fields of a card that depend only on the paper (all but the reasons), in `Card`
    order: worked out once per paper and text length, not once per digest that shows it."""
    full = _shown_text(paper)
    text = clip(full, limit)
    label = "AI summary" if paper.ai_summary else "Abstract"
    if text != full:
        label += ", shortened" if paper.ai_summary else " (trimmed)"
    return (clip(paper.title, 300), http_url(paper.url),
            clip(short_authors(paper.authors), 300), clip(paper.organization, 80) or None,
            text or "No abstract.", label, tuple(paper_links(paper)), http_url(paper.thumbnail),
            text != full)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _is_squarely(item: RankedPaper, phrases: set[str]) -> bool:
    """Whether a pick has one of the profile's phrases whole ("matched: image editing"), is by
    a followed author or like a liked paper, rather than sharing some words with the topics
    ("matched: language"): a digest of only the latter must not claim to be on the topics."""
    for reason in item.reasons:
        if reason.startswith(("by ", "like ")):
            return True
        if reason.startswith(MATCHED):
            labels = reason[len(MATCHED):].split(", ")
            if any(label.removesuffix(" (title)").casefold() in phrases for label in labels):
                return True
    return False


def _summary(papers: Sequence[RankedPaper], topics: Sequence[str]) -> str:
    """The line under the title: how many papers, how many of them squarely on the topics (see
    `_is_squarely`), how many trending."""
    noun = "paper" if len(papers) == 1 else "papers"
    if not topics:
        summary = f"{len(papers)} new {noun} for you"
    else:
        phrases = {phrase.casefold() for phrase in topics}
        squarely = sum(1 for item in papers if _is_squarely(item, phrases))
        if squarely == len(papers):
            summary = f"{len(papers)} new {noun} on your topics"
        elif squarely:
            summary = f"{len(papers)} new {noun}, {squarely} squarely on your topics"
        else:
            summary = f"{len(papers)} new {noun} near your topics"
    trending = sum(1 for item in papers if _is_trending(item))
    return summary + (f", {trending} trending" if trending else "")


def _is_trending(item: RankedPaper) -> bool:
    return item.paper.upvotes >= TRENDING_VOTES or any(
        reason.startswith("trending") for reason in item.reasons)


class Renderer:
    """Loads the templates once (user overrides first) and renders digests and notes with them.

    Every template is parsed when the renderer is built, so that a syntax error in an override
    stops the program at start with the file and line; `self_test` renders samples for the rest.
    """

    def __init__(self, override_dir: Path | None = None, *, budget: int = HTML_BUDGET,
                 thumbnails: bool = False) -> None:
        loaders: list[jinja2.BaseLoader] = [jinja2.PackageLoader("newsletter", "templates")]
        if override_dir is not None:
            if not override_dir.is_dir():
                raise ConfigError(f"NEWSLETTER_TEMPLATES: {override_dir} is not a folder")
            loaders.insert(0, jinja2.FileSystemLoader(override_dir))
        self.budget = budget
        self.thumbnails = thumbnails
        self._sections = _Sections(override_dir is not None
                                   and (override_dir / CARD_TEMPLATE).is_file())
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=jinja2.select_autoescape(enabled_extensions=("mjml", "html")),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,  # parsed once at start: no file checks per subscriber
        )
        self.env.filters.update(
            http_url=http_url, short_authors=short_authors, clip=clip, wrap=wrap,
            links=paper_links, long_date=long_date, linkify=linkify, short_count=short_count,
        )
        for name in self.env.list_templates(filter_func=lambda n: n.endswith(_TEMPLATE_SUFFIXES)):
            self._load(name)

    def _load(self, name: str) -> jinja2.Template:
        try:
            return self.env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(f"{exc.filename or name}:{exc.lineno}: template error: "
                              f"{exc.message}") from None
        except (jinja2.TemplateNotFound, UnicodeDecodeError) as exc:
            raise ConfigError(f"{name}: template cannot be read: {exc}") from None

    # --- digests ---------------------------------------------------------------------------

    def render(self, digest: Digest, manage: str) -> RenderedDigest:
        """Render both parts, keeping the HTML under budget: shorter texts, then fewer papers.

        Usually one render: re-rendering happens only for a digest that is over the budget.
        """
        base = self._base_context(digest, manage)
        items = digest.papers
        rendered = self._attempt(base, items, len(items), CLIP_STEPS[0])
        for limit in CLIP_STEPS[1:]:
            if self._fits(rendered):
                return rendered
            if any(len(_shown_text(item.paper)) > limit for item in items):
                rendered = self._attempt(base, items, len(items), limit)
        return rendered if self._fits(rendered) else self._drop_papers(base, items, rendered)

    def _drop_papers(self, base: dict[str, object], items: Sequence[RankedPaper],
                     rendered: RenderedDigest) -> RenderedDigest:
        """Show as many papers as fit, estimating from the size per paper, then counting down."""
        per_paper = len(rendered.html.encode()) / max(len(items), 1)
        shown = max(1, min(len(items) - 1, int(self.budget / per_paper)))
        while True:
            rendered = self._attempt(base, items, shown, CLIP_STEPS[-1])
            if shown <= 1 or self._fits(rendered):
                return rendered
            shown -= 1

    def _fits(self, rendered: RenderedDigest) -> bool:
        return len(rendered.html.encode()) <= self.budget

    def _attempt(self, base: dict[str, object], items: Sequence[RankedPaper], shown: int,
                 limit: int) -> RenderedDigest:
        """One render of both parts with the first `shown` papers, texts cut at `limit`."""
        cards = [make_card(item, limit) for item in items[:shown]]
        shortened = 0
        if limit < CLIP_STEPS[0]:
            shortened = sum(1 for card in cards if len(_shown_text(card.paper)) > limit)
        dropped = len(items) - shown
        notices = []
        if shortened:
            notices.append(f"{_plural(shortened, 'abstract')} shortened to fit")
        if dropped:
            notices.append(f"{_plural(dropped, 'more paper')} not shown")
        splice = _Splice(self._sections, self._card_mjml)
        context = {**base, "cards": cards, "notices": notices, "papers": list(items[:shown]),
                   "card_section": splice.section}
        html, text = self._render_pair(HTML_TEMPLATE, TEXT_TEMPLATE, context)
        parts = splice.assemble(html)
        return RenderedDigest(str(base["subject"]), str(base["preheader"]), "".join(parts), text,
                              shown, dropped, shortened, html_parts=parts)

    def _card_mjml(self, card: Card) -> str:
        """One card's section (`_card.mjml`), given only the card and the thumbnails switch."""
        return self._run(CARD_TEMPLATE, {"card": card, "thumbnails": self.thumbnails})

    def _base_context(self, digest: Digest, manage: str) -> dict[str, object]:
        """What every attempt of one digest shares: header, subject, preheader, footer."""
        papers = digest.papers
        noun = "paper" if len(papers) == 1 else "papers"
        summary = _summary(papers, [t.phrase for t in digest.subscriber.profile.topics])
        titles = " · ".join(clean_line(item.paper.title) for item in papers[:3])
        return {
            **self._frame(digest.subscriber, digest.digest_date, manage),
            "subject": clean_line(f"{len(papers)} new {noun} for you, "
                                  f"{digest.digest_date:%a %d %b %Y}"),
            "preheader": clip(f"Top: {titles}" if titles else summary, 140),
            "summary": summary,
        }

    def _frame(self, subscriber: Subscriber, day: dt.date, manage: str) -> dict[str, object]:
        """The header and footer values shared by digests and notes."""
        return {
            "title": DIGEST_TITLE,
            "digest_date": day,
            "email": subscriber.email,
            "name": subscriber.name,
            "topics": [t.phrase for t in subscriber.profile.topics],
            "manage": manage,
            "thumbnails": self.thumbnails,
        }

    # --- notes -------------------------------------------------------------------------------

    def render_note(self, subscriber: Subscriber, day: dt.date, reasons: Sequence[str],
                    manage: str) -> RenderedDigest:
        """A short email for a day with nothing new, saying why (no announcement, no match, ...)."""
        lines = [clip(reason, 300) for reason in reasons if reason.strip()] or [
            "nothing new matched your topics"]
        context = {
            **self._frame(subscriber, day, manage),
            "subject": clean_line(f"No new papers for you, {day:%a %d %b %Y}"),
            "preheader": clip("No new papers today: " + "; ".join(lines), 140),
            "summary": "No new papers for you today",
            "reasons": lines,
            "notices": [],
        }
        html, text = self._render_pair(NOTE_HTML_TEMPLATE, NOTE_TEXT_TEMPLATE, context)
        return RenderedDigest(str(context["subject"]), str(context["preheader"]), html, text)

    # --- both --------------------------------------------------------------------------------

    def _render_pair(self, html_name: str, text_name: str,
                     context: dict[str, object]) -> tuple[str, str]:
        """Both parts of one email; a template bug becomes a `ConfigError` with file and line."""
        mjml = self._run(html_name, context)
        text = self._run(text_name, context)
        try:
            html = mjml2html(mjml, fonts={})
        except ValueError as exc:
            raise ConfigError(f"{html_name}: the rendered MJML does not compile: "
                              f"{_mjml_where(mjml, str(exc))}") from None
        return html, text.strip() + "\n"

    def _run(self, name: str, context: dict[str, object]) -> str:
        template = self._load(name)
        try:
            return template.render(context)
        except (jinja2.TemplateError, ArithmeticError, LookupError, TypeError, ValueError) as exc:
            where = _template_where(exc.__traceback__) or name
            raise ConfigError(f"{where}: template error: {exc}") from None

    def self_test(self) -> None:
        """Render a sample digest and note so that a broken template fails at start, not mid-run."""
        paper = Paper(id="2401.00001", title="Self-test <paper>", abstract="An abstract.",
                      listed_on=dt.date(2024, 1, 1), authors=("A. Author",), upvotes=1,
                      github_repo="https://github.com/example/self-test", github_stars=1,
                      project_page="https://example.org/", thumbnail="https://example.org/t.png")
        subscriber = Subscriber(email="self-test@example.org",
                                profile=Profile(topics=(Topic("self-test"),)))
        digest = Digest(subscriber, dt.date(2024, 1, 1), dt.date(2024, 1, 1),
                        (RankedPaper(paper, 1.0, ("matched: self-test",)),), "<self-test@x>")
        self.render(digest, manage="reply to this email.")
        self.render_note(subscriber, dt.date(2024, 1, 1), ["self-test"], "reply to this email.")
        self._check_splicing(replace(digest, papers=(
            *digest.papers, RankedPaper(replace(paper, id="2401.00002", title='A "quoted" & <b>'),
                                        0.5, ("matched: <i>x</i> & 'y'",)))))

    def _check_splicing(self, digest: Digest) -> None:
        """Reuse compiled card sections only if that gives byte for byte the HTML of compiling
        everything: checked here, with these templates, cold and warm. (A thumbnail adds styles
        to the head of the email, so with thumbnails every digest is compiled whole.)"""
        sections = self._sections
        sections.enabled = False
        whole = self.render(digest, "r.").html
        if self.thumbnails:
            return
        sections.enabled = True
        try:
            spliced = [self.render(digest, "r.").html for _ in range(2)]
        except ConfigError:  # e.g. a layout that puts the cards where a marker cannot go
            spliced = []
        sections.clear()
        sections.enabled = spliced == [whole, whole]
        if not sections.enabled:
            log.info("card sections are compiled in every digest: reusing them changed the HTML")


_SectionKey = Hashable


class _Sections:
    """Compiled card sections, remembered for the next digests that show the same card.

    In MJML's output every section is self-contained, so a card compiles to the same HTML in
    any digest. The first digest with a card compiles it in place, between two markers, and
    keeps its HTML; later digests put a one-line marker in its place instead, and after their
    one compile the remembered HTML goes back there. The shipped `_card.mjml` is compiled with
    a marker in place of the reasons, which differ between readers, so that a paper is compiled
    once per text length; an overridden one is remembered per whole card. Off until
    `Renderer.self_test` has checked that the result is identical to compiling everything.
    """

    LIMIT = 4096  # cards remembered (a run shows a few hundred distinct ones)

    def __init__(self, card_overridden: bool) -> None:
        self.enabled = False
        self.by_reasons = card_overridden  # an override may use anything of the card
        self.nonce = os.urandom(6).hex()  # markers no template or paper can contain
        self.marker = re.compile(f"<!--{self.nonce} ([0-9]+)( start| end)?-->")
        self.html: dict[_SectionKey, tuple[str, ...]] = {}

    def clear(self) -> None:
        self.html.clear()

    def key(self, card: Card) -> _SectionKey:
        """What a card's HTML depends on: with the shipped template, everything but reasons."""
        if self.by_reasons:
            return card
        return (card.paper, card.title, card.url, card.authors, card.organization, card.text,
                card.text_label, card.links, card.thumbnail)

    def remember(self, key: _SectionKey, html: str) -> None:
        if len(self.html) >= self.LIMIT:
            self.html.clear()
        slot = f"<!--{self.nonce} reasons-->"
        self.html[key] = (html,) if self.by_reasons else tuple(html.split(slot))


class _Splice:
    """The cards of one digest: what `digest.mjml` compiles for each (`section`, called as
    `card_section(card)`), then the compiled HTML with the remembered sections back (`assemble`).
    """

    def __init__(self, sections: _Sections, compile_card: Callable[[Card], str]) -> None:
        self.sections, self.compile_card = sections, compile_card
        self.cards: list[tuple[_SectionKey, Card, bool]] = []  # key, card, remembered before

    def section(self, card: Card) -> Markup:
        sections = self.sections
        if not sections.enabled:
            return Markup(self.compile_card(card))
        key, number, mark = sections.key(card), len(self.cards), f"<!--{sections.nonce} "
        known = key in sections.html
        self.cards.append((key, card, known))
        if known:
            return Markup(f"<mj-raw>{mark}{number}--></mj-raw>")
        shown = card if sections.by_reasons else replace(
            card, reasons=Markup(f"{mark}reasons-->"))
        return Markup(f"<mj-raw>{mark}{number} start--></mj-raw>\n{self.compile_card(shown)}"
                      f"\n<mj-raw>{mark}{number} end--></mj-raw>")

    def assemble(self, html: str) -> tuple[str, ...]:
        """The digest's HTML in pieces: its own, and each card's remembered ones."""
        if not self.cards:
            return (html,)
        parts: list[str] = []
        pos = 0
        for found in self.sections.marker.finditer(html):
            piece, pos = html[pos:found.start()], found.end()
            key, card, _ = self.cards[int(found[1])]
            if found[2] == " end":
                self.sections.remember(key, piece)
            else:
                parts.append(piece)
            if found[2] != " start":
                parts += self._filled(key, card)
        parts.append(html[pos:])
        return tuple(part for part in parts if part)

    def _filled(self, key: _SectionKey, card: Card) -> list[str]:
        pieces = self.sections.html[key]
        if len(pieces) == 1:
            return [pieces[0]]
        reasons = str(escape(card.reasons))
        return [pieces[0], *(piece for rest in pieces[1:] for piece in (reasons, rest))]


def _template_where(tb: TracebackType | None) -> str | None:
    """"file:line" of the innermost template frame (Jinja rewrites tracebacks to point there)."""
    where = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(_TEMPLATE_SUFFIXES):
            where = f"{filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


_POSITION = re.compile(r"at position (\d+)")


def _mjml_where(mjml: str, message: str) -> str:
    """mrml reports a byte offset into the rendered MJML; show its line, which names the tag."""
    match = _POSITION.search(message)
    if not match:
        return message
    offset = int(match[1])
    before = mjml.encode()[:offset].decode(errors="ignore")
    line = before.count("\n") + 1
    text = mjml.splitlines()[line - 1].strip() if mjml.splitlines() else ""
    return f"{message} (line {line} of the rendered MJML: {clip(text, 120)!r})"


_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]")
