"""`newsletter preview EMAIL --open`: show a rendered digest in the reader's web browser.

The HTML is written to a private temporary file (browsers open files, not strings) that is left
in place, because the browser may read it after this process has exited.
"""

from __future__ import annotations

import os
import tempfile
import webbrowser
from collections.abc import Callable
from pathlib import Path

from newsletter.errors import RunError


def open_in_browser(html: str, opener: Callable[[str], bool] | None = None) -> Path:
    """Write `html` to a temporary file, open it in the default browser and return its path.

    Raises `RunError` when no browser could be started, naming the file to open by hand.
    """
    descriptor, name = tempfile.mkstemp(prefix="newsletter-preview-", suffix=".html")
    path = Path(name)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(html)
    if not (opener or webbrowser.open)(path.as_uri()):
        raise RunError(f"no web browser could be started; open {path} by hand")
    return path
