"""Writing the user's files so that a crash or a full disk never leaves half of one."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import UsageError


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary sibling, fsynced, then renamed over it.

    Raises UsageError naming the path when it cannot be written (a directory, a
    read-only place, a full disk); the old file, if any, is then unchanged.
    """
    partial = path.with_name(path.name + ".partial")
    try:
        with open(partial, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except OSError as exc:
        try:
            partial.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only directory: nothing was created there either
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}; choose another path") from exc
