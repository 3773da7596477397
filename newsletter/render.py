"""Turning a `Digest` into a subject, an HTML body (Jinja2 → MJML → HTML) and a text twin.

The only user of Jinja2 and mjml-python. Upstream text is untrusted: autoescape is on for the
MJML template, links go through `http_url`, and the subject is stripped of control characters.
"""

from __future__ import annotations

import datetime as dt
import re
import textwrap
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from mjml import mjml2html

from newsletter.errors import ConfigError
from newsletter.models import Digest, Paper, Profile, RankedPaper, Subscriber

HTML_TEMPLATE = "digest.mjml"
TEXT_TEMPLATE = "digest.txt"
DIGEST_TITLE = "Paper digest"


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    """What delivery needs to build the message."""

    subject: str
    preheader: str
    html: str
    text: str


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
    if any(ch in url for ch in ' "<>\\`'):
        return None
    return url


_INVISIBLE = {"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"}


def clean_line(text: str) -> str:
    """One line of text without control or invisible characters, for headers and subjects."""
    kept = (" " if unicodedata.category(ch) in _INVISIBLE or ch.isspace() else ch for ch in text)
    return " ".join("".join(kept).split())


def short_authors(authors: tuple[str, ...], limit: int = 4) -> str:
    """"A, B, C and D" or "A, B, C … and 17 more (Z)": long author lists shortened sensibly."""
    if not authors:
        return "Unknown authors"
    if len(authors) <= limit:
        return authors[0] if len(authors) == 1 else ", ".join(authors[:-1]) + " and " + authors[-1]
    return f"{', '.join(authors[:3])} … {authors[-1]} (+{len(authors) - 4} more)"


def clip(text: str | None, limit: int) -> str:
    """Trim long text at a word boundary, marking the cut with an ellipsis."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",.;:") + " …"


def wrap(text: str, width: int = 72, indent: int = 0) -> str:
    """Wrap for the text part; continuation lines are indented to line up with the first."""
    return textwrap.fill(text, width=width - indent, subsequent_indent=" " * indent,
                         break_long_words=False, break_on_hyphens=False)


def paper_links(paper: Paper) -> list[tuple[str, str]]:
    """(label, url) for the links a card shows, only those that are safe http(s) URLs."""
    candidates = [("Paper", paper.url), ("PDF", paper.pdf_url)]
    if paper.github_repo:
        stars = f" ★ {paper.github_stars}" if paper.github_stars else ""
        candidates.append((f"Code{stars}", paper.github_repo))
    if paper.project_page:
        candidates.append(("Project page", paper.project_page))
    return [(label, url) for label, raw in candidates if (url := http_url(raw))]


def long_date(day: dt.date) -> str:
    return f"{day:%A}, {day.day} {day:%B %Y}"


class Renderer:
    """Loads the templates once (user overrides first) and renders digests with them."""

    def __init__(self, override_dir: Path | None = None) -> None:
        loaders: list[jinja2.BaseLoader] = [jinja2.PackageLoader("newsletter", "templates")]
        if override_dir is not None:
            if not override_dir.is_dir():
                raise ConfigError(f"NEWSLETTER_TEMPLATES: {override_dir} is not a folder")
            loaders.insert(0, jinja2.FileSystemLoader(override_dir))
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=jinja2.select_autoescape(enabled_extensions=("mjml", "html")),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(
            http_url=http_url, short_authors=short_authors, clip=clip, wrap=wrap,
            links=paper_links, long_date=long_date,
        )
        self._html = self._load(HTML_TEMPLATE)
        self._text = self._load(TEXT_TEMPLATE)

    def _load(self, name: str) -> jinja2.Template:
        try:
            return self.env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(f"{exc.filename or name}:{exc.lineno}: template error: "
                              f"{exc.message}") from None

    def render(self, digest: Digest, manage: str) -> RenderedDigest:
        """Render both parts; a template bug becomes a `ConfigError` naming the template."""
        context = self._context(digest, manage)
        try:
            mjml = self._html.render(context)
            text = self._text.render(context)
        except jinja2.TemplateError as exc:
            raise ConfigError(f"template error: {exc}") from None
        try:
            html = mjml2html(mjml)
        except ValueError as exc:
            raise ConfigError(f"{HTML_TEMPLATE}: the MJML does not compile: {exc}") from None
        return RenderedDigest(context["subject"], context["preheader"], html, text.strip() + "\n")

    def _context(self, digest: Digest, manage: str) -> dict[str, object]:
        papers = digest.papers
        count = len(papers)
        noun = "paper" if count == 1 else "papers"
        trending = sum(1 for item in papers if item.paper.upvotes >= 20)
        summary = f"{count} new {noun} on your topics" + (f", {trending} trending" if trending
                                                           else "")
        subject = clean_line(f"{count} new {noun} for you, {digest.digest_date:%a %d %b %Y}")
        preheader = clean_line("; ".join(item.paper.title for item in papers[:3]))[:150]
        return {
            "title": DIGEST_TITLE,
            "subject": subject,
            "preheader": preheader,
            "summary": summary,
            "digest_date": digest.digest_date,
            "papers": papers,
            "email": digest.subscriber.email,
            "name": digest.subscriber.name,
            "topics": [t.phrase for t in digest.subscriber.profile.topics],
            "manage": manage,
        }

    def self_test(self) -> None:
        """Render a sample digest so that a broken template fails at start, not mid-run."""
        paper = Paper(id="2401.00001", title="Self-test <paper>", abstract="An abstract.",
                      listed_on=dt.date(2024, 1, 1), authors=("A. Author",), upvotes=1)
        subscriber = Subscriber(email="self-test@example.org", profile=Profile())
        digest = Digest(subscriber, dt.date(2024, 1, 1), dt.date(2024, 1, 1),
                        (RankedPaper(paper, 1.0, ("matched: self-test",)),), "<self-test@x>")
        self.render(digest, manage="reply to this email.")


_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]")
