"""Crash-safe small-file writes: temporary file, fsync, rename, fsync of the folder.

After a power cut the path holds either the old bytes or the new bytes, never a mix.
"""

from __future__ import annotations

import os
from pathlib import Path

from codec.sealing import Sealer


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Owner-only by default (issue 17: a home's files are 0600, whatever the umask)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_sealed(path: Path, data: bytes, sealer: Sealer | None) -> None:
    """The file sealer seam: ``write_atomic`` of ``data`` sealed under ``sealer`` (as is when None).

    Any module of ``sync/`` that keeps a file (views, checkpoints…) writes it through this
    and reads it through :func:`read_sealed`, so a home's files are never plain.
    """
    write_atomic(path, data if sealer is None else sealer.seal_file(data))


def read_sealed(path: Path, sealer: Sealer | None) -> bytes:
    """The contents of a file written by :func:`write_sealed`; SealError if it does not open."""
    data = Path(path).read_bytes()
    return data if sealer is None else sealer.open_file(data, str(path))
