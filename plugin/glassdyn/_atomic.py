"""Atomic writing of output files (internal helper shared by every glassdyn writer).

A result is written to a temporary file in the folder of its target and renamed onto the
target only when the writing has succeeded, so a reader never sees a half-written file and a
failure (an exception, Ctrl-C) leaves the old target untouched and no temporary file behind.

A failure of the file system (a missing or read-only folder, no permission, a full disk) raises
:class:`~glassdyn.errors.OutputError` naming the *target* (never the hidden temporary name)
and what to do; it is also the matching built-in :class:`OSError` subclass
(:class:`FileNotFoundError`, :class:`PermissionError`, ...). :func:`check_writable` tries the
same before any work is done, so a command can refuse an unwritable output at once.

The temporary file is created by :func:`tempfile.mkstemp`, which gives it mode ``0600``; before
the rename it gets the mode an ordinary ``open(path, "w")`` would give a new file,
``0o666 & ~umask`` (or the mode of the file it replaces, with ``keep_mode=True``).

::

    with atomic_path("fig.png", suffix=".png") as tmp:   # savefig picks the format from the suffix
        fig.savefig(tmp)
    write_text_atomic("report.md", text)
    write_bytes_atomic("model.gdm", data, fsync=True)
    savefig_atomic(fig, "curve.png", dpi=120)
    check_writable("out/run.dump")                        # OutputError now, not after an hour
"""
from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputError, output_error

__all__ = ["atomic_path", "write_text_atomic", "write_bytes_atomic", "savefig_atomic", "default_mode",
           "check_writable"]

#: error numbers of a failed write that carry no file name (``fh.write`` on a full disk): they are
#: about the file being written, whatever the writer was doing
_WRITE_ERRNOS = frozenset(e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EFBIG, errno.EROFS)
                          if e is not None)


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
    _refuse_special(target)
    if parents:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise output_error(target, exc, reason=f"cannot create the folder {folder} "
                                                   f"({exc.strerror or exc})") from exc
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" if suffix is None else suffix,
                                    dir=folder)
    except OSError as exc:  # name the target, not the temporary file
        raise output_error(target, exc) from exc
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
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:  # already gone (or the folder went away)
            pass
        if isinstance(exc, OSError) and _about_the_output(exc, tmp, target):
            raise output_error(target, exc) from exc
        raise


def _refuse_special(target: Path) -> None:
    """Refuse to replace what is not a regular file: a device (``/dev/full``), a pipe, a socket."""
    try:
        st = os.stat(target)
    except OSError:  # nothing there (or not reachable: mkstemp reports it)
        return
    if stat.S_ISDIR(st.st_mode):
        raise output_error(target, IsADirectoryError(errno.EISDIR, "Is a directory"))
    if not stat.S_ISREG(st.st_mode):
        raise output_error(target, reason="it is not a regular file (a device, pipe or socket) and an output "
                                          "replaces its target", advice="give the name of a regular file")


def _about_the_output(exc: OSError, tmp: Path, target: Path) -> bool:
    """Whether ``exc`` (raised while writing ``tmp``) is a failure to write the output.

    Errors naming the temporary file or the target are; so are the file-name-less errors of a
    write (``ENOSPC``, ``EFBIG``, ...). Other errors (reading an input inside the block, a
    writer's own ``OSError``) pass unchanged.
    """
    if isinstance(exc, OutputError):
        return False
    names = {os.fspath(n) for n in (exc.filename, exc.filename2) if n is not None}
    if names:
        return bool(names & {str(tmp), str(target), os.path.abspath(tmp), os.path.abspath(target)})
    return exc.errno in _WRITE_ERRNOS


def check_writable(path: str | os.PathLike, *, parents: bool = False, folder: bool = False) -> Path:
    """Check now that :func:`atomic_path` will be able to write ``path``; return ``Path(path)``.

    A temporary file is created and removed at once in the folder that would receive the
    output, so a missing folder, a file where a folder should be, a read-only disk or a
    folder without write permission are found before any work (a full disk is only found when
    the data are written; :func:`atomic_path` reports it the same way).

    Parameters
    ----------
    path : path-like
        The output file (or, with ``folder=True``, the output folder).
    parents : bool
        The missing folders of ``path`` will be created (``atomic_path(..., parents=True)``,
        ``os.makedirs``): check the nearest folder that exists instead.
    folder : bool
        ``path`` is a folder that will receive the outputs (created when missing; implies
        ``parents``).

    Raises
    ------
    OutputError
        Naming ``path`` and what to do.
    """
    target = Path(path)
    if str(path) == "":
        raise output_error(path, reason="the path is empty", advice="give a file name")
    if folder:
        if target.exists() and not target.is_dir():
            raise output_error(target, NotADirectoryError(errno.ENOTDIR, "Not a directory"),
                               reason="it is a file, not a folder", advice="choose a folder name")
        base = target
    else:
        _refuse_special(target)
        base = target.parent
    if folder or parents:
        while not base.exists() and base != base.parent:
            base = base.parent
    if base.exists() and not base.is_dir():
        raise output_error(target, NotADirectoryError(errno.ENOTDIR, "Not a directory"),
                           reason=f"{base} is a file, not a folder", advice="choose another output path")
    try:
        fd, name = tempfile.mkstemp(prefix=".glassdyn-check.", suffix=".tmp", dir=base)
    except OSError as exc:
        raise output_error(target, exc, folder=base) from exc
    os.close(fd)
    os.unlink(name)
    return target


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
