"""The subscribers file on disk: read it, replace it safely, and let a person edit it by hand.

A write is atomic (temporary file in the same folder, fsync, rename, same permissions) and is
refused when the file's content changed since it was read, so that an edit someone made meanwhile
is never overwritten. These are the only functions of the subscribers editing that touch the disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from newsletter.errors import ConfigError, NewsletterError, RunError
from newsletter.subscribers import missing_file_error, parse_text


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The file as it was read, with the fingerprint that detects a change before writing."""

    path: Path
    text: str
    digest: str | None  # SHA-256 of the bytes; None when the file did not exist


# --- reading and writing ---------------------------------------------------------------------


def read_snapshot(path: Path, *, missing_ok: bool = False) -> Snapshot:
    """Read the file's exact text (line endings kept) and fingerprint it."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if missing_ok:
            return Snapshot(path, "", None)
        raise missing_file_error(path) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    return Snapshot(path, text, hashlib.sha256(data).hexdigest())  # the bytes read, not re-read


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def write_atomic(snapshot: Snapshot, text: str) -> None:
    """Replace the file by `text` all at once, unless its content changed since it was read.

    The content hash, not the modification time, decides: mtime can be too coarse to see a quick
    second write, and a touch without a change is no conflict. A symbolic link is kept: the file
    it points to is replaced.
    """
    target = snapshot.path.resolve()
    _check_unchanged(snapshot, target)
    try:
        _replace(target, text.encode("utf-8"), lambda: _check_unchanged(snapshot, target))
    except OSError as exc:
        raise RunError(f"{snapshot.path}: cannot be written: {exc}") from None


def _replace(target: Path, data: bytes, last_check: Callable[[], None]) -> None:
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        _copy_permissions(target, name)
        last_check()
        os.replace(name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise
    _fsync_folder(target.parent)


def _check_unchanged(snapshot: Snapshot, target: Path) -> None:
    if _digest(target) != snapshot.digest:
        raise RunError(f"{snapshot.path} changed on disk since it was read; nothing was written. "
                       "Run the command again.")


def _copy_permissions(target: Path, temporary: str) -> None:
    """The new file gets the old one's mode (and owner, when allowed); a new file the umask's."""
    try:
        info = target.stat()
    except FileNotFoundError:
        mask = os.umask(0o022)
        os.umask(mask)
        os.chmod(temporary, 0o666 & ~mask)
        return
    os.chmod(temporary, info.st_mode & 0o7777)
    with contextlib.suppress(OSError):
        os.chown(temporary, info.st_uid, info.st_gid)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; a no-op where folders cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --- editing by hand ---------------------------------------------------------------------------


def edit_in_editor(
    snapshot: Snapshot, run_editor: Callable[[Path], None], reopen: Callable[[str], bool],
    start: str | None = None,
) -> str | None:
    """Let a person edit a copy (of the file, or `start`) until it validates, then write it.

    Returns the text written, or None when the person changed nothing. The copy lives next to
    the file, where the final rename happens anyway; it is kept, and named in the error, when the
    edit cannot be saved (a declined fix, a conflict) so that no work is lost.
    """
    first = snapshot.text if start is None else start
    draft = _draft(snapshot.path, first)
    text = _edit_until_valid(snapshot.path, draft, run_editor, reopen)
    if text == first:
        draft.unlink()
        return None
    try:
        write_atomic(snapshot, text)
    except RunError as exc:
        raise RunError(f"{exc}\nYour edit is kept in {draft}.") from None
    draft.unlink()
    return text


def _draft(path: Path, text: str) -> Path:
    folder = path.resolve().parent
    fd, name = tempfile.mkstemp(dir=folder, prefix=f".{path.stem}.", suffix=".edit.yaml")
    with os.fdopen(fd, "wb") as handle:
        handle.write(text.encode("utf-8"))
    return Path(name)


def _edit_until_valid(
    path: Path, draft: Path, run_editor: Callable[[Path], None], reopen: Callable[[str], bool]
) -> str:
    while True:
        try:
            run_editor(draft)
        except NewsletterError:
            draft.unlink()
            raise
        try:
            text = draft.read_bytes().decode("utf-8")
            parse_text(text, path)
            return text
        except UnicodeDecodeError as exc:
            problems = f"{path}: not UTF-8 text: {exc}"
        except ConfigError as exc:
            problems = str(exc)
        if not reopen(problems):
            raise ConfigError(f"{path} not changed; your edit is kept in {draft}")
