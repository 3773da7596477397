"""Rendering: the real templates, autoescaped, with only http(s) links, clean headers, a size
budget, the no-news note and user overrides that fail at start."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from mjml import mjml2html

import newsletter.render as render_module
from newsletter.config import load_settings
from newsletter.delivery import build_message
from newsletter.errors import ConfigError
from newsletter.models import Digest, Paper, Profile, RankedPaper, Source, Subscriber, Topic
from newsletter.render import (
    CLIP_STEPS,
    HTML_BUDGET,
    Renderer,
    clean_line,
    clip,
    http_url,
    linkify,
    short_authors,
    wrap,
)
from tests.test_render_golden import golden_digest

HOSTILE_TITLE = 'Attack <script>alert(1)</script> <img src=x onerror="alert(2)"> </mj-text> "q"'
TEMPLATES = Path(render_module.__file__).parent / "templates"
NOW = dt.datetime(2025, 8, 29, 5, 30, tzinfo=dt.UTC)


def _digest(*papers: Paper, subscriber: Subscriber | None = None,
            reasons: tuple[str, ...] = ("matched: security",)) -> Digest:
    subscriber = subscriber or Subscriber(email="r@lab.example", name="Reader",
                                          profile=Profile(topics=(Topic("security"),)))
    return Digest(subscriber, dt.date(2025, 8, 29), dt.date(2025, 8, 29),
                  tuple(RankedPaper(p, 1.0, reasons) for p in papers), "<id@lab.example>")


def _paper(**changes: object) -> Paper:
    base = dict(id="2508.00001", title="A paper", abstract="An abstract.",
                listed_on=dt.date(2025, 8, 29), authors=("Ada",), sources=frozenset({Source.HF}))
    base.update(changes)
    return Paper(**base)  # type: ignore[arg-type]


def _long_papers(count: int, abstract_words: int = 400) -> list[Paper]:
    """arXiv-only papers (no AI summary) whose abstracts are far longer than a card shows."""
    words = " ".join(f"word{i}" for i in range(abstract_words))
    return [_paper(id=f"2508.{i:05d}", title=f"Paper {i}", abstract=words,
                   sources=frozenset({Source.ARXIV})) for i in range(1, count + 1)]


class _Collect(HTMLParser):
    """Every element and attribute of a document, as the browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)


def _message(rendered: render_module.RenderedDigest, subscriber: Subscriber) -> EmailMessage:
    """The final message as a mail client parses it from the bytes on the wire."""
    settings = load_settings(smtp_host=None)
    raw = bytes(build_message(rendered, subscriber, settings, "<id@lab.example>", NOW))
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _parts(message: EmailMessage) -> tuple[str, str]:
    """(text, html) of a multipart/alternative message, decoded."""
    text_part = message.get_body(("plain",))
    html_part = message.get_body(("html",))
    assert text_part is not None and html_part is not None
    return str(text_part.get_content()), str(html_part.get_content())


# --- helpers --------------------------------------------------------------------------------


def test_autoescape_is_on_for_the_real_template_files() -> None:
    """The MJML templates' real file names select autoescaping; the text ones do not."""
    env = Renderer().env
    for name in ("digest.mjml", "note.mjml", "_layout.mjml"):
        assert env.autoescape(name) is True  # type: ignore[operator]
    for name in ("digest.txt", "note.txt", "_layout.txt"):
        assert env.autoescape(name) is False  # type: ignore[operator]


def test_clean_line_removes_controls_and_invisibles() -> None:
    """CR, LF, tabs, zero-width and bidi controls never reach a header."""
    assert clean_line("a\r\nBcc: x@y\u200b\u202e\tz") == "a Bcc: x@y z"


def test_short_authors() -> None:
    """Long author lists are shortened, keeping the first three and the last."""
    assert short_authors(("A", "B")) == "A and B"
    assert short_authors(tuple("ABCDEFG")) == "A, B, C … G (+3 more)"
    assert short_authors(()) == "Unknown authors"


def test_clip_cuts_at_a_word_and_marks_the_cut() -> None:
    """Clipped text ends at a word boundary with an ellipsis; short text is left alone."""
    assert clip("one two three four", 12) == "one two …"
    assert clip("  short\n text ", 50) == "short text"


def test_wrap_keeps_every_line_within_the_width() -> None:
    """Wrapped lines, with the indent the template writes, fit 72 columns."""
    text = "    " + wrap("word " * 60, 72, 4)
    assert all(len(line) <= 72 for line in text.splitlines())
    assert all(line.startswith("    ") for line in text.splitlines())


def test_linkify_links_only_http_urls_and_escapes_the_rest() -> None:
    """The manage sentence gets a link for its https URL; markup and other schemes stay text."""
    html = str(linkify("visit https://a.example/m?x=1&y=2. or <b>javascript:alert(1)</b>"))
    assert '<a href="https://a.example/m?x=1&amp;y=2">https://a.example/m?x=1&amp;y=2</a>.' in html
    assert "&lt;b&gt;javascript:alert(1)&lt;/b&gt;" in html


# --- safety -----------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["title", "abstract", "ai_summary", "authors", "organization",
                                   "reasons"])
def test_hostile_text_arrives_as_text_in_the_final_message(workdir: Path, field: str) -> None:
    """Script, img onerror, a closing MJML tag and quotes in any field create no element."""
    changes: dict[str, object] = {"sources": frozenset({Source.ARXIV}),
                                  "thumbnail": "https://cdn.example/t.png"}
    reasons = ("matched: security",)
    if field == "authors":
        changes["authors"] = (HOSTILE_TITLE,)
    elif field == "reasons":
        reasons = (HOSTILE_TITLE,)
    else:
        changes[field] = HOSTILE_TITLE
    digest = _digest(_paper(**changes), reasons=reasons)
    rendered = Renderer(thumbnails=True).render(digest, "reply.")
    text, html = _parts(_message(rendered, digest.subscriber))
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find("script") is None and soup.find(string=lambda s: "alert(2)" in s)
    assert not [a for tag in soup.find_all(True) for a in tag.attrs if a.startswith("on")]
    assert not soup.find_all(lambda tag: tag.name.startswith("mj-"))
    assert HOSTILE_TITLE in " ".join(soup.get_text().split())
    assert HOSTILE_TITLE in " ".join(text.split())
    image = soup.find("img")
    assert image is not None and set(image.attrs) == {"alt", "height", "src", "width", "style"}


def test_hostile_text_in_the_subscriber_entry_is_escaped() -> None:
    """The subscriber's address and topics, written by the operator, are escaped as well."""
    subscriber = Subscriber(email="r@lab.example", name=HOSTILE_TITLE,
                            profile=Profile(topics=(Topic(HOSTILE_TITLE),)))
    rendered = Renderer().render(_digest(_paper(), subscriber=subscriber), HOSTILE_TITLE)
    parser = _Collect()
    parser.feed(rendered.html)
    assert "script" not in parser.tags
    assert not any(name.startswith("on") for name, _ in parser.attrs)
    assert "&lt;script&gt;" in rendered.html


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "data:text/html,<b>x</b>", "JaVaScRiPt:alert(1)", "//evil.example",
    "https://", "https://ex ample.com", "https://a.example/\"onmouseover=x", "vbscript:x",
    "https://a.example/\r\nX: y", " javascript:alert(1)", "data:image/png;base64,AAAA",
    "https://a.example/" + "x" * 1000, "http://[::1", "file:///etc/passwd",
])
def test_only_http_links_reach_an_href_or_src(url: str) -> None:
    """Dangerous or malformed code, project and thumbnail links are dropped from both parts."""
    paper = _paper(project_page=url, github_repo=url, thumbnail=url)
    rendered = Renderer(thumbnails=True).render(_digest(paper), "reply.")
    soup = BeautifulSoup(rendered.html, "html.parser")
    links = [tag.get("href") for tag in soup.find_all(href=True)]
    links += [tag.get("src") for tag in soup.find_all(src=True)]
    assert links and all(str(link).startswith("https://") for link in links)
    assert soup.find("img") is None
    assert "Code" not in rendered.text and "Project page:" not in rendered.text
    assert http_url(url) is None


def test_a_safe_thumbnail_is_shown_with_alt_text_when_enabled() -> None:
    """With thumbnails on, an https thumbnail becomes an img with the title as alt text."""
    paper = _paper(thumbnail="https://cdn.example/t.png", title='T "q" <b>')
    soup = BeautifulSoup(Renderer(thumbnails=True).render(_digest(paper), "r.").html,
                         "html.parser")
    image = soup.find("img")
    assert image is not None and image["src"] == "https://cdn.example/t.png"
    assert image["alt"] == 'T "q" <b>'
    assert BeautifulSoup(Renderer().render(_digest(paper), "r.").html,
                         "html.parser").find("img") is None


def test_crlf_in_header_material_adds_no_header(workdir: Path) -> None:
    """CR/LF in the subscriber's name, a title or a reason never adds a header to the message."""
    subscriber = Subscriber(email="r@lab.example", name="Re\r\nBcc: evil@x.example",
                            profile=Profile(topics=(Topic("a\r\nX-Evil: 1"),)))
    paper = _paper(title="T\r\nBcc: evil@x.example\r\n\r\n<b>body</b>")
    digest = _digest(paper, subscriber=subscriber, reasons=("r\r\nX-Evil: 2",))
    renderer = Renderer()
    for rendered in (renderer.render(digest, "reply.\r\nX-Evil: 3"),
                     renderer.render_note(subscriber, digest.digest_date, ["a\r\nX-Evil: 4"],
                                          "reply.\r\nX-Evil: 5")):
        message = _message(rendered, subscriber)
        assert message["Bcc"] is None and message["X-Evil"] is None
        assert set(message.keys()) == {
            "From", "To", "Subject", "Date", "Message-ID", "List-Id", "List-Unsubscribe",
            "Auto-Submitted", "MIME-Version", "Content-Type"}
        assert "\n" not in rendered.subject and "\n" not in rendered.preheader


def test_html_has_no_script_external_css_or_web_fonts() -> None:
    """The compiled email carries no JavaScript, stylesheet link, @import or font download."""
    html = Renderer().render(golden_digest(), "reply.").html
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find("script") is None and soup.find("link") is None
    assert "@import" not in html and "googleapis" not in html
    assert "prefers-color-scheme: dark" in html
    assert soup.find("meta", attrs={"name": "color-scheme"}) is not None


# --- content ----------------------------------------------------------------------------------


def test_subject_has_count_and_date() -> None:
    """The subject says how many papers and which day."""
    rendered = Renderer().render(_digest(_paper()), "reply.")
    assert rendered.subject == "1 new paper for you, Fri 29 Aug 2025"
    assert rendered.papers_shown == 1 and not rendered.trimmed


def test_header_summary_counts_papers_and_trending() -> None:
    """The header's one line counts the papers and those trending (votes or a trending reason)."""
    papers = [_paper(id="2508.00001", upvotes=25), _paper(id="2508.00002", upvotes=3),
              _paper(id="2508.00003")]
    digest = _digest(*papers)
    digest = dataclasses.replace(digest, papers=(
        *digest.papers[:2], RankedPaper(papers[2], 1.0, ("trending: 12 votes",))))
    rendered = Renderer().render(digest, "reply.")
    assert "3 new papers, 2 squarely on your topics, 2 trending" in rendered.text
    assert "3 new papers, 2 squarely on your topics, 2 trending" in rendered.html


@pytest.mark.parametrize(
    ("reasons", "summary"),
    [
        ([("matched: security (title)",), ("matched: Security, attacks",)],
         "2 new papers on your topics"),
        ([("matched: security",), ("matched: attacks",)],
         "2 new papers, 1 squarely on your topics"),
        ([("matched: attacks",), ("matched: language, attacks (title)",)],
         "2 new papers near your topics"),
        ([("matched: attacks", "by Ada Lovelace"), ("matched: attacks", "like 2508.00009")],
         "2 new papers on your topics"),
    ],
)
def test_header_says_how_many_papers_are_squarely_on_the_topics(
    reasons: list[tuple[str, ...]], summary: str
) -> None:
    """A digest of papers that only share words with the topics ("matched: language" for
    "secure language models") does not claim to be on them: a pick is squarely on them when
    it has a phrase whole, is by a followed author or like a liked paper."""
    profile = Profile(topics=(Topic("security"), Topic("secure language models")))
    subscriber = Subscriber(email="r@lab.example", name="Reader", profile=profile)
    papers = [_paper(id=f"2508.0000{i}") for i in (1, 2)]
    digest = Digest(subscriber, dt.date(2025, 8, 29), dt.date(2025, 8, 29),
                    tuple(RankedPaper(p, 1.0, r) for p, r in zip(papers, reasons, strict=True)),
                    "<id@lab.example>")
    rendered = Renderer().render(digest, "reply.")
    assert summary in rendered.text and summary in rendered.html


def test_card_shows_every_part_of_a_paper() -> None:
    """Title link, authors, votes, comments, summary, reasons and the PDF/code/project links."""
    paper = _paper(title="Big Model", ai_summary="It is big.", upvotes=42, comments=3,
                   authors=tuple(f"Author {i}" for i in range(12)), organization="Lab",
                   github_repo="https://github.com/x/y", github_stars=1234,
                   project_page="https://x.example/")
    rendered = Renderer().render(_digest(paper, reasons=("matched: big", "trending")), "r.")
    soup = BeautifulSoup(rendered.html, "html.parser")
    title = soup.find("h2")
    assert title is not None and title.a is not None
    assert title.a["href"] == "https://huggingface.co/papers/2508.00001"
    text = " ".join(soup.get_text(" ").split())
    for part in ("Author 0, Author 1, Author 2 … Author 11 (+8 more) · Lab", "▲ 42 votes",
                 "3 comments", "AI summary: It is big.", "Why you got this: matched: big; trending",
                 "PDF", "Code ★ 1.2k", "Project page"):
        assert part in text, part
    assert "Code ★ 1.2k: https://github.com/x/y" in rendered.text


def test_abstract_is_trimmed_and_marked_when_there_is_no_ai_summary() -> None:
    """An arXiv paper shows its abstract, cut to the card length and labelled as trimmed."""
    rendered = Renderer().render(_digest(*_long_papers(1)), "r.")
    assert "Abstract (trimmed):" in rendered.text and "Abstract (trimmed):" in rendered.html
    assert "word399" not in rendered.text and " …" in rendered.text


def test_text_twin_fits_72_columns_and_keeps_the_order() -> None:
    """Every text line fits 72 columns (a lone URL may not) and papers come in the HTML order."""
    digest = golden_digest()
    rendered = Renderer().render(digest, "visit https://newsletter.example.org/manage now.")
    for line in rendered.text.splitlines():
        assert len(line) <= 72 or line.split()[-1].startswith("https://"), line
    titles = [clean_line(item.paper.title) for item in digest.papers]
    soup = BeautifulSoup(rendered.html, "html.parser")
    assert [" ".join(h.get_text().split()) for h in soup.find_all("h2")] == titles
    flat = " ".join(rendered.text.split())
    assert [flat.index(t) for t in titles] == sorted(flat.index(t) for t in titles)


def test_footer_says_why_and_links_the_manage_page() -> None:
    """The footer names the address and topics and links an https manage page."""
    rendered = Renderer().render(_digest(_paper()), "visit https://n.example/manage or reply.")
    soup = BeautifulSoup(rendered.html, "html.parser")
    assert soup.find("a", href="https://n.example/manage") is not None
    text = " ".join(soup.get_text(" ").split())
    assert "You get this email because r@lab.example is subscribed to Paper digest" in text
    assert "with the topics: security" in text
    assert "To change your topics or to unsubscribe, visit" in " ".join(rendered.text.split())


def test_preheader_names_the_top_papers() -> None:
    """The preheader lists the first titles and is short enough for an inbox preview."""
    papers = [_paper(id=f"2508.0000{i}", title=f"Title number {i} " * 5) for i in range(1, 5)]
    rendered = Renderer().render(_digest(*papers), "r.")
    assert rendered.preheader.startswith("Top: Title number 1")
    assert len(rendered.preheader) <= 142
    hidden = BeautifulSoup(rendered.html, "html.parser").find("div", style=lambda s: bool(
        s and "display:none" in s))
    assert hidden is not None and hidden.get_text().startswith(rendered.preheader)


# --- size budget ------------------------------------------------------------------------------


def test_digest_under_budget_is_compiled_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A digest within the budget costs one MJML compile: no re-render."""
    calls: list[int] = []

    def counting(source: str, **options: Any) -> str:
        calls.append(1)
        return mjml2html(source, **options)

    monkeypatch.setattr(render_module, "mjml2html", counting)
    rendered = Renderer().render(golden_digest(), "r.")
    assert calls == [1] and not rendered.trimmed


def test_over_budget_shortens_abstracts_first_and_says_so() -> None:
    """Just over the budget, abstracts get shorter, every paper stays, and the email says so."""
    digest = _digest(*_long_papers(20))
    full = Renderer().render(digest, "r.")
    budget = len(full.html.encode()) - 2_000
    rendered = Renderer(budget=budget).render(digest, "r.")
    assert len(rendered.html.encode()) <= budget
    assert rendered.papers_shown == 20 and rendered.papers_dropped == 0
    assert rendered.abstracts_shortened == 20 and rendered.trimmed
    assert "20 abstracts shortened to fit" in rendered.html
    assert "20 abstracts shortened to fit" in rendered.text


def test_far_over_budget_drops_papers_and_says_so() -> None:
    """When short abstracts are not enough, the last papers go, and both parts say how many."""
    digest = _digest(*_long_papers(20))
    rendered = Renderer(budget=40_000).render(digest, "r.")
    assert len(rendered.html.encode()) <= 40_000
    assert 1 <= rendered.papers_shown < 20
    assert rendered.papers_shown + rendered.papers_dropped == 20
    notice = f"{rendered.papers_dropped} more papers not shown"
    assert notice in rendered.html and notice in rendered.text
    assert "Paper 1" in rendered.text and "Paper 20\n" not in rendered.text
    soup = BeautifulSoup(rendered.html, "html.parser")
    abstracts = [p.get_text().split(":", 1)[1].strip() for p in soup.find_all("p")
                 if p.get_text().startswith("Abstract")]
    assert len(abstracts) == rendered.papers_shown
    assert all(len(text) <= CLIP_STEPS[-1] + 2 for text in abstracts)


def test_worst_case_digest_of_20_papers_stays_under_gmail_limit() -> None:
    """Twenty papers with every field at its upstream maximum still fit the real budget."""
    huge = "&<>\"' " * 2_000
    papers = [_paper(id=f"2508.{i:05d}", title=huge[:1_000], abstract=huge, ai_summary=huge[:5_000],
                     authors=(huge[:5_000],) * 20, organization=huge[:5_000], upvotes=99_999,
                     comments=9_999, github_repo="https://github.com/" + "a" * 580,
                     github_stars=99_999, project_page="https://p.example/" + "b" * 580,
                     thumbnail="https://t.example/" + "c" * 580) for i in range(1, 21)]
    rendered = Renderer(thumbnails=True).render(_digest(*papers, reasons=(huge,)), "r.")
    assert len(rendered.html.encode()) <= HTML_BUDGET < 102 * 1024
    assert rendered.papers_shown >= 1


# --- the no-news note -------------------------------------------------------------------------


def test_note_says_why_there_is_nothing() -> None:
    """A note has its own subject and lists the reasons in both parts, escaped in the HTML."""
    subscriber = Subscriber(email="r@lab.example", profile=Profile())
    note = Renderer().render_note(subscriber, dt.date(2025, 8, 30),
                                  ["arXiv made no announcement", "<b>HF</b> was down"], "reply.")
    assert note.subject == "No new papers for you, Sat 30 Aug 2025"
    assert note.preheader.startswith("No new papers today: arXiv made no announcement")
    soup = BeautifulSoup(note.html, "html.parser")
    assert [li.get_text() for li in soup.find_all("li")] == [
        "arXiv made no announcement", "<b>HF</b> was down"]
    assert soup.find("b") is None
    assert "  - arXiv made no announcement\n" in note.text
    assert note.papers_shown == 0


def test_note_without_reasons_still_explains() -> None:
    """With no reason given, the note falls back to "nothing new matched"."""
    subscriber = Subscriber(email="r@lab.example", profile=Profile())
    note = Renderer().render_note(subscriber, dt.date(2025, 8, 30), [" "], "reply.")
    assert "nothing new matched your topics" in note.text


# --- overrides --------------------------------------------------------------------------------


def test_broken_override_fails_at_start_with_file_and_line(tmp_path: Path) -> None:
    """A syntax error in a user's template is reported when the renderer is built."""
    (tmp_path / "digest.mjml").write_text("<mjml>\n{% for x in %}\n</mjml>\n")
    with pytest.raises(ConfigError, match=r"digest\.mjml:2: template error"):
        Renderer(tmp_path)


def test_broken_layout_override_fails_at_start(tmp_path: Path) -> None:
    """A syntax error in a shared template (not rendered directly) is also caught at start."""
    (tmp_path / "_layout.txt").write_text("ok\n\nok\n{{ title | }}\n")
    with pytest.raises(ConfigError, match=r"_layout\.txt:4: template error"):
        Renderer(tmp_path)


def test_override_runtime_error_names_file_and_line(tmp_path: Path) -> None:
    """An unknown variable in an override fails the self-test, naming the file and line."""
    (tmp_path / "note.txt").write_text("line one\n{{ no_such_thing }}\n")
    renderer = Renderer(tmp_path)
    with pytest.raises(ConfigError, match=r"note\.txt:2: template error: .*no_such_thing"):
        renderer.self_test()


def test_override_that_does_not_compile_fails_the_self_test(tmp_path: Path) -> None:
    """An override that renders but is not valid MJML fails the start-up self-test."""
    (tmp_path / "digest.mjml").write_text("<mjml><mj-body><mj-section>{{ subject }}")
    renderer = Renderer(tmp_path)
    with pytest.raises(ConfigError, match=r"digest\.mjml: the rendered MJML does not compile"):
        renderer.self_test()


def test_mjml_error_points_at_the_rendered_line(tmp_path: Path) -> None:
    """An MJML syntax error with a position is reported with the offending rendered line."""
    (tmp_path / "note.mjml").write_text(  # mrml refuses spaces between head elements
        "<mjml>\n<mj-head>\n<mj-title>{{ subject }}</mj-title>  <mj-preview>p</mj-preview>\n"
        "</mj-head><mj-body></mj-body></mjml>\n")
    with pytest.raises(ConfigError, match=r"line 3 of the rendered MJML: '<mj-title>No new"):
        Renderer(tmp_path).self_test()


def test_copy_of_the_templates_renders_the_same(tmp_path: Path) -> None:
    """A full copy used as an override (with a stray non-template file) changes nothing."""
    shutil.copytree(TEMPLATES, tmp_path / "t")
    (tmp_path / "t" / "notes.bin").write_bytes(b"\xff\xfe")
    digest = golden_digest()
    assert Renderer(tmp_path / "t").render(digest, "r.") == Renderer().render(digest, "r.")


def test_partial_override_changes_only_its_template(tmp_path: Path) -> None:
    """Overriding only note.txt leaves the digest and the note's HTML as shipped."""
    (tmp_path / "note.txt").write_text("Nothing today for {{ email }}.\n")
    renderer = Renderer(tmp_path)
    subscriber = Subscriber(email="r@lab.example", profile=Profile())
    assert renderer.render_note(subscriber, dt.date(2025, 8, 30), [], "r.").text == (
        "Nothing today for r@lab.example.\n")
    assert renderer.render(_digest(_paper()), "r.") == Renderer().render(_digest(_paper()), "r.")
    renderer.self_test()


def test_missing_override_folder_is_a_config_error(tmp_path: Path) -> None:
    """NEWSLETTER_TEMPLATES pointing nowhere stops the program with the setting's name."""
    with pytest.raises(ConfigError, match=r"NEWSLETTER_TEMPLATES: .* is not a folder"):
        Renderer(tmp_path / "nope")


def test_self_test_of_the_shipped_templates_passes() -> None:
    """The shipped templates render a sample digest and note."""
    Renderer().self_test()
