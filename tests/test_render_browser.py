"""The digest in a real browser engine: no horizontal overflow on a phone or a desktop, plus
screenshots to look at; and the `preview --open` helper.

The overflow check loads the email into two iframes of 375 and 800 CSS pixels inside one
headless Chromium page (its window cannot be made narrower than 500 px when dumping the DOM,
an iframe can) and reads each document's scrollWidth; that run also screenshots the 375 px
frame in dark mode. The screenshots (digest-375.png, digest-800.png, digest-375-dark.png) are
written to $NEWSLETTER_SCREENSHOTS, by default <tmp>/newsletter-screenshots/. The Chromium
test is skipped only when no Chromium is installed; CI installs Debian's `chromium`.
"""

from __future__ import annotations

import dataclasses
import html
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from newsletter.browser import open_in_browser
from newsletter.errors import RunError
from newsletter.models import Digest, Paper, RankedPaper, Source
from newsletter.render import Renderer
from tests.test_render_golden import golden_digest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                    "(apt-get install -y chromium); CI installs it")
WIDTHS = (375, 800)
SHOT_HEIGHTS = {375: 3600, 800: 2600}  # tall enough for the whole stress digest
LONG_WORD = "Pneumonoultramicroscopicsilicovolcanoconiosis" * 3
MANAGE = "visit https://newsletter.example.org/manage/" + "x" * 90 + " or reply to this email."

MEASURE = """
<script>
window.addEventListener("load", () => {
  for (const frame of document.querySelectorAll("iframe")) {
    const root = frame.contentDocument.documentElement;
    frame.setAttribute("data-scroll-width", root.scrollWidth);
    frame.setAttribute("data-client-width", root.clientWidth);
  }
});
</script>
"""


def stress_digest() -> Digest:
    """The golden digest plus a paper with unbreakable words in its title, authors and abstract."""
    digest = golden_digest()
    paper = Paper(id="2508.99999", title=f"On {LONG_WORD} in very long titles",
                  abstract=f"{LONG_WORD} " * 3, listed_on=digest.digest_date,
                  authors=(LONG_WORD, "B. Author"), upvotes=7, comments=1,
                  github_repo="https://github.com/example/" + "r" * 80, github_stars=12_345,
                  sources=frozenset({Source.ARXIV}))
    extra = RankedPaper(paper, 0.1, (f"matched: {LONG_WORD}",))
    return dataclasses.replace(digest, papers=(*digest.papers, extra))


def _chromium(profile: Path, *args: str) -> subprocess.Popen[str]:
    """Start headless Chromium with no network chatter and a throwaway profile."""
    assert CHROMIUM is not None
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--no-first-run", "--mute-audio", f"--user-data-dir={profile}", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)


def _harness(email: str) -> str:
    """A page holding the email in one iframe per width, tall enough to need no scrollbar."""
    frames = "".join(
        f'<iframe id="w{width}" style="width:{width}px;height:8000px;border:0;display:block" '
        f'srcdoc="{html.escape(email, quote=True)}"></iframe>' for width in WIDTHS)
    return f"<!doctype html><html><body style='margin:0'>{frames}{MEASURE}</body></html>"


def _png_width(path: Path) -> int:
    """The width stored in a PNG's IHDR chunk."""
    return int.from_bytes(path.read_bytes()[16:20], "big")


def _shots_dir() -> Path:
    folder = Path(os.environ.get("NEWSLETTER_SCREENSHOTS")
                  or Path(tempfile.gettempdir()) / "newsletter-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _start(tmp_path: Path, email: str) -> list[subprocess.Popen[str]]:
    """Start the measuring run and the two screenshot runs side by side (~1 s each)."""
    page, file = tmp_path / "harness.html", tmp_path / "email.html"
    page.write_text(_harness(email), encoding="utf-8")
    file.write_text(email, encoding="utf-8")
    shots = _shots_dir()
    # The measuring run shows the page in dark mode and screenshots its top: the 375 px frame.
    runs = [_chromium(tmp_path / "measure", "--window-size=375,1400", "--force-dark-mode",
                      "--blink-settings=preferredColorScheme=0", "--virtual-time-budget=5000",
                      f"--screenshot={shots / 'digest-375-dark.png'}", "--dump-dom",
                      page.as_uri())]
    for width in WIDTHS:
        runs.append(_chromium(tmp_path / f"shot{width}", f"--window-size={width},"
                              f"{SHOT_HEIGHTS[width]}",
                              f"--screenshot={shots / f'digest-{width}.png'}", file.as_uri()))
    return runs


@needs_chromium
@pytest.mark.timeout(60)
def test_no_horizontal_overflow_at_375_and_800_px(tmp_path: Path) -> None:
    """At 375 and 800 CSS pixels the digest is exactly as wide as the viewport."""
    runs = _start(tmp_path, Renderer().render(stress_digest(), MANAGE).html)
    dom = runs[0].communicate(timeout=45)[0]
    for run in runs[1:]:
        run.communicate(timeout=45)
    soup = BeautifulSoup(dom, "html.parser")
    for width in WIDTHS:
        frame = soup.find("iframe", id=f"w{width}")
        assert frame is not None and frame.get("data-client-width") == str(width), dom[-500:]
        assert frame.get("data-scroll-width") == str(width), f"overflow at {width}px"
        assert _png_width(_shots_dir() / f"digest-{width}.png") == width


def test_open_in_browser_writes_the_page_and_opens_it() -> None:
    """The helper writes the HTML to a temporary file and hands its file:// URL to the browser."""
    opened: list[str] = []

    def opener(url: str) -> bool:
        opened.append(url)
        return True

    path = open_in_browser("<p>digest ✓</p>", opener=opener)
    try:
        assert path.read_text(encoding="utf-8") == "<p>digest ✓</p>"
        assert opened == [path.as_uri()] and path.suffix == ".html"
    finally:
        path.unlink()


def test_open_in_browser_without_a_browser_names_the_file() -> None:
    """When no browser starts, the error says which file to open by hand."""
    with pytest.raises(RunError, match=r"no web browser could be started; open .*\.html") as info:
        open_in_browser("<p>x</p>", opener=lambda url: False)
    Path(str(info.value).rsplit("open ", 1)[1].removesuffix(" by hand")).unlink()
