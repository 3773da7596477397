"""Rendering: the real templates, autoescaped, with only http(s) links and clean subjects."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser
from pathlib import Path

import pytest

from newsletter.errors import ConfigError
from newsletter.models import Digest, Paper, Profile, RankedPaper, Source, Subscriber, Topic
from newsletter.render import Renderer, clean_line, http_url, short_authors

HOSTILE_TITLE = 'Attack <script>alert(1)</script> <img src=x onerror="alert(2)"> </mj-text> "q"'


def _digest(paper: Paper) -> Digest:
    subscriber = Subscriber(email="r@lab.example", name="Reader",
                            profile=Profile(topics=(Topic("security"),)))
    return Digest(subscriber, dt.date(2025, 8, 29), dt.date(2025, 8, 29),
                  (RankedPaper(paper, 1.0, ("matched: security",)),), "<id@lab.example>")


def _paper(**changes: object) -> Paper:
    base = dict(id="2508.00001", title="A paper", abstract="An abstract.",
                listed_on=dt.date(2025, 8, 29), authors=("Ada",), sources=frozenset({Source.HF}))
    base.update(changes)
    return Paper(**base)  # type: ignore[arg-type]


class _Collect(HTMLParser):
    """Every element and attribute of a document, as the browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)


def test_autoescape_is_on_for_the_real_template_file() -> None:
    """The MJML template's real file name selects autoescaping; the text one does not."""
    env = Renderer().env
    assert env.autoescape("digest.mjml") is True  # type: ignore[operator]
    assert env.autoescape("digest.txt") is False  # type: ignore[operator]


def test_hostile_text_arrives_as_text() -> None:
    """Script, img onerror, a closing MJML tag and quotes in the data create no element."""
    rendered = Renderer().render(
        _digest(_paper(title=HOSTILE_TITLE, abstract=HOSTILE_TITLE, authors=(HOSTILE_TITLE,))),
        manage="reply.")
    parser = _Collect()
    parser.feed(rendered.html)
    assert "script" not in parser.tags
    assert not any(name.startswith("on") for name, _ in parser.attrs)
    assert "&lt;script&gt;" in rendered.html
    assert HOSTILE_TITLE.split()[0] in rendered.text and "<script>" in rendered.text


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "data:text/html,<b>x</b>", "JaVaScRiPt:alert(1)", "//evil.example",
    "https://", "https://ex ample.com", "https://a.example/\"onmouseover=x", "vbscript:x",
    "https://a.example/\r\nX: y",
])
def test_only_http_links_reach_an_href(url: str) -> None:
    """Dangerous or malformed project/code links are dropped from both parts."""
    rendered = Renderer().render(_digest(_paper(project_page=url, github_repo=url)), "reply.")
    parser = _Collect()
    parser.feed(rendered.html)
    hrefs = [value for name, value in parser.attrs if name == "href"]
    assert hrefs and all((h or "").startswith("https://") for h in hrefs)
    assert "Code:" not in rendered.text and "Project page:" not in rendered.text
    assert http_url(url) is None


def test_clean_line_removes_controls_and_invisibles() -> None:
    """CR, LF, tabs, zero-width and bidi controls never reach a header."""
    assert clean_line("a\r\nBcc: x@y\u200b\u202e\tz") == "a Bcc: x@y z"


def test_short_authors() -> None:
    """Long author lists are shortened, keeping the first three and the last."""
    assert short_authors(("A", "B")) == "A and B"
    assert short_authors(tuple("ABCDEFG")) == "A, B, C … G (+3 more)"


def test_broken_override_fails_at_start_with_file_and_line(tmp_path: Path) -> None:
    """A syntax error in a user's template is reported when the renderer is built."""
    (tmp_path / "digest.mjml").write_text("<mjml>\n{% for x in %}\n</mjml>\n")
    with pytest.raises(ConfigError, match=r"digest\.mjml:2: template error"):
        Renderer(tmp_path)


def test_override_that_does_not_compile_fails_the_self_test(tmp_path: Path) -> None:
    """An override that renders but is not valid MJML fails the start-up self-test."""
    (tmp_path / "digest.mjml").write_text("<mjml><mj-body><mj-section>{{ subject }}")
    renderer = Renderer(tmp_path)
    with pytest.raises(ConfigError, match="MJML"):
        renderer.self_test()


def test_subject_has_count_and_date() -> None:
    """The subject says how many papers and which day."""
    rendered = Renderer().render(_digest(_paper()), "reply.")
    assert rendered.subject == "1 new paper for you, Fri 29 Aug 2025"
