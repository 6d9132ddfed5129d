"""Atomic writing of output files (internal helper shared by every glassdyn writer).

A result is written to a temporary file in the folder of its target and renamed onto the
target only when the writing has succeeded, so a reader never sees a half-written file and a
failure (an exception, Ctrl-C) leaves the old target untouched and no temporary file behind.

The temporary file is created by :func:`tempfile.mkstemp`, which gives it mode ``0600``; before
the rename it gets the mode an ordinary ``open(path, "w")`` would give a new file,
``0o666 & ~umask`` (or the mode of the file it replaces, with ``keep_mode=True``).

::

    with atomic_path("fig.png", suffix=".png") as tmp:   # savefig picks the format from the suffix
        fig.savefig(tmp)
    write_text_atomic("report.md", text)
    write_bytes_atomic("model.gdm", data, fsync=True)
    savefig_atomic(fig, "curve.png", dpi=120)
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "write_text_atomic", "write_bytes_atomic", "savefig_atomic", "default_mode"]


def _current_umask() -> int:
    """The process umask, read without changing it where the system allows (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (not atomic with respect to other threads)
    os.umask(mask)
    return mask


def default_mode() -> int:
    """Permission bits of a newly created file: ``0o666 & ~umask``."""
    return 0o666 & ~_current_umask()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None, *, keep_mode: bool = False,
                parents: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` when the block succeeds.

    Parameters
    ----------
    path : path-like
        The target file.
    suffix : str, optional
        Ending of the temporary file name (default ``".tmp"``). Give the target's extension to
        writers that choose or append one from the name (``savefig`` picks the image format,
        ``np.savez`` appends ``.npz`` when it is missing, ``np.savetxt`` compresses ``.gz``).
    keep_mode : bool
        Give the result the permission bits of the file it replaces (when there is one)
        instead of ``0o666 & ~umask``.
    parents : bool
        Create the missing folders of ``path`` first (otherwise a missing folder raises
        :class:`FileNotFoundError`).

    Yields
    ------
    pathlib.Path
        An empty file, created in the folder of ``path`` (so the rename is atomic), for the
        block to overwrite. On success it gets its permissions and replaces ``path``; on any
        exception it is removed and the exception propagates, ``path`` untouched.
    """
    target = Path(path)
    folder = target.parent
    if parents:
        folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" if suffix is None else suffix,
                                dir=folder)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        mode = None
        if keep_mode:
            try:
                mode = os.stat(target).st_mode & 0o7777
            except OSError:  # no old file (or it cannot be read): a new file's mode
                pass
        os.chmod(tmp, default_mode() if mode is None else mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_bytes_atomic(path: str | os.PathLike, data: bytes, *, fsync: bool = False,
                       parents: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`); returns ``Path(path)``.

    ``fsync=True`` flushes the data to the disk before the rename (survives a power cut).
    """
    with atomic_path(path, parents=parents) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        if fsync:
            fh.flush()
            os.fsync(fh.fileno())
    return Path(path)


def write_text_atomic(path: str | os.PathLike, text: str, *, encoding: str = "utf-8",
                      newline: str | None = None, parents: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`); returns ``Path(path)``."""
    with atomic_path(path, parents=parents) as tmp, open(tmp, "w", encoding=encoding, newline=newline) as fh:
        fh.write(text)
    return Path(path)


def savefig_atomic(fig, path: str | os.PathLike, *, parents: bool = False, **savefig_kwargs) -> Path:
    """``fig.savefig`` to ``path`` atomically (see :func:`atomic_path`); returns ``Path(path)``.

    The temporary file keeps the suffix of ``path`` (``.png`` when it has none), from which
    matplotlib picks the image format unless ``format=`` is given in ``savefig_kwargs``.
    """
    path = Path(path)
    with atomic_path(path, suffix=path.suffix or ".png", parents=parents) as tmp:
        fig.savefig(tmp, **savefig_kwargs)
    return path
