"""One sender at a time: an exclusive lock file beside the database.

`flock` is released by the kernel when the process dies, so a crash never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from newsletter.errors import RunError


class AlreadyRunning(RunError):
    """Another process holds the send lock (cron and the daemon at once, a double start)."""


@contextmanager
def send_lock(db_path: Path) -> Iterator[None]:
    """Hold `<db>.lock` for the duration; raise `AlreadyRunning` at once if it is taken."""
    path = db_path.with_name(db_path.name + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise AlreadyRunning(
                f"another newsletter process (pid {holder}) is sending; this run was skipped"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
