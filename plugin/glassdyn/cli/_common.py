"""Helpers shared by the commands: the argument parser, option checks, output checks, progress
bars and result files.

Every command checks its options and outputs *before* any work (:func:`check_output_file`,
:func:`check_output_folder`, :func:`require`, the ``type=`` functions below), so a typo costs a
second, not a computation:

* a bad option value or a conflict between options raises :class:`~glassdyn.errors.UsageError`
  (or is an argparse error): exit code 2;
* an output that cannot be written raises :class:`~glassdyn.errors.OutputError` naming it, a
  missing optional package :class:`~glassdyn.errors.MissingDependencyError` naming the extra
  to install: exit code 1.

The ``type=`` functions (:func:`positive_int`, :func:`positive_float`, ...) are meant for every
command's numeric options, e.g. ``parser.add_argument("--temperature", type=positive_float)``.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import functools
import importlib
import json
import math
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from .._atomic import atomic_path, check_writable, write_text_atomic
from .._util import json_default
from ..errors import InputError, UsageError, missing_dependency, output_error

__all__ = ["ArgumentParser", "add_common_options", "positive_int", "nonnegative_int", "positive_float",
           "nonnegative_float", "n_jobs", "ignored", "check_output_file", "check_output_folder", "make_folder", "output_folder",
           "check_inputs", "check_suffix", "require", "progress_bar", "progress_wrapper", "write_json", "write_csv"]


# ============================================================================ the parser
class ArgumentParser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` whose usage errors are one line (exit code 2):
    ``glassdyn train: error: argument --n-features: must be a positive integer, got '0' (see
    'glassdyn train --help')``."""

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(2, f"{self.prog}: error: {_one_line(message)} (see '{self.prog} --help')\n")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """The options every command has: ``--quiet`` (``-q``; the old spelling ``--no-progress`` is a
    hidden alias) and ``--debug`` (also accepted before the command: ``glassdyn --debug ...``)."""
    have = parser._option_string_actions  # noqa: SLF001 - the only way to ask argparse
    if "--quiet" not in have:
        flags = ["--quiet"] + ([] if "-q" in have else ["-q"])
        parser.add_argument(*flags, dest="quiet", action="store_true",
                            help="no progress bars or progress messages (results are still printed)")
    if "--no-progress" not in have:
        parser.add_argument("--no-progress", dest="quiet", action="store_true", help=argparse.SUPPRESS)
    if "--debug" not in have:
        parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                            help="show the traceback of an error (also: GLASSDYN_DEBUG=1)")


# ============================================================================ option values
def _number(kind: type, text: str, ok: Callable[[float], bool], what: str):
    value = None
    try:
        value = kind(text)
    except (TypeError, ValueError):
        try:  # integers written as 1e5
            f = float(text)
            if kind is int and math.isfinite(f) and f.is_integer():
                value = int(f)
        except (TypeError, ValueError):
            pass
    if value is None or (isinstance(value, float) and not math.isfinite(value)) or not ok(value):
        raise argparse.ArgumentTypeError(f"must be {what}, got '{text}'")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (``1e5`` is accepted as 100000)."""
    return _number(int, text, lambda v: v >= 1, "a positive integer")


def nonnegative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _number(int, text, lambda v: v >= 0, "an integer >= 0")


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    return _number(float, text, lambda v: v > 0, "a positive number")


def nonnegative_float(text: str) -> float:
    """argparse type: a finite number >= 0."""
    return _number(float, text, lambda v: v >= 0, "a number >= 0")


def n_jobs(text: str) -> int:
    """argparse type: a positive number of threads or processes, or -1 (all cores)."""
    return _number(int, text, lambda v: v >= 1 or v == -1, "a positive integer or -1 (all cores)")


def ignored(option: str, why: str) -> None:
    """Warn (one line on stderr: ``glassdyn: warning: ...``) that ``option`` has no effect here.

    For an option that does not apply to the other options given (``--alpha`` with the linear
    model); a contradiction (``--select`` without ``--n-features``) is a UsageError instead.
    """
    warnings.warn(f"{option} {why}; it is ignored", UserWarning, stacklevel=2)


# ============================================================================ files
def check_suffix(path, suffixes: Sequence[str], option: str = "-o", what: str = "the output") -> None:
    """:class:`UsageError` unless ``path`` ends with one of ``suffixes`` (case-insensitive)."""
    if not str(path).lower().endswith(tuple(s.lower() for s in suffixes)):
        raise UsageError(f"{option} {path}: {what} must end in {' or '.join(suffixes)}")


def check_output_file(path, *, option: str = "-o", suffixes: Sequence[str] | None = None,
                      parents: bool = False, inputs: Iterable = ()) -> str:
    """Check an output file before any work: its suffix (:class:`UsageError`), that it is not one
    of ``inputs``, and that it can be written (:class:`~glassdyn.errors.OutputError`, see
    :func:`glassdyn._atomic.check_writable`); ``parents``: missing folders will be created."""
    path = os.fspath(path)
    if suffixes:
        check_suffix(path, suffixes, option)
    for src in inputs:
        if os.path.abspath(os.fspath(src)) == os.path.abspath(path):
            raise UsageError(f"{option} {path} would overwrite the input {os.fspath(src)}; choose another name")
    check_writable(path, parents=parents)
    return path


def check_output_folder(path) -> str:
    """Check before any work that ``path`` is a folder, or can be created as one, where files can
    be written (:class:`~glassdyn.errors.OutputError` naming it otherwise); nothing is created."""
    path = os.fspath(path)
    check_writable(path, folder=True)
    return path


def make_folder(path) -> str:
    """``os.makedirs(path, exist_ok=True)``, a failure reported as an OutputError naming ``path``."""
    path = os.fspath(path)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise output_error(path, exc, reason=f"cannot create the folder ({exc.strerror or exc})",
                           advice="choose another output folder") from exc
    return path


@contextlib.contextmanager
def output_folder(path, *, create: bool = True) -> Iterator[str | None]:
    """Create the output folder ``path`` (when ``create``) for the block; if the block fails, the
    folders this created are removed again when they are still empty (nothing is left behind)."""
    if not create or path is None:
        yield path
        return
    missing = []
    p = Path(os.path.abspath(os.fspath(path)))
    while not p.exists() and p != p.parent:
        missing.append(p)  # deepest first
        p = p.parent
    make_folder(path)
    try:
        yield os.fspath(path)
    except BaseException:
        for d in missing:
            try:
                d.rmdir()
            except OSError:  # not empty (finished outputs are kept) or gone
                break
        raise


def check_inputs(paths: Iterable, what: str = "file") -> list[str]:
    """:class:`~glassdyn.errors.InputError` naming the first of ``paths`` that is not a file."""
    out = [os.fspath(p) for p in paths]
    for p in out:
        if not os.path.exists(p):
            raise InputError(f"no such {what}", source=p)
        if os.path.isdir(p):
            raise InputError(f"this is a folder; give a {what}", source=p)
    return out


def require(module: str, needed_for: str):
    """Import the optional package ``module`` now (before any work); a missing one raises
    :class:`~glassdyn.errors.MissingDependencyError` naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise missing_dependency(module, needed_for) from exc


# ============================================================================ progress
def progress_bar(total: int | None = None, *, desc: str = "", unit: str = "it", quiet: bool = False):
    """A tqdm bar on stderr, or None when quiet, when stderr is not a terminal (log files stay
    clean) or when tqdm is not installed."""
    if quiet or not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr)


def progress_wrapper(*, desc: str, unit: str, quiet: bool = False) -> Callable[[Iterable], Iterable] | None:
    """A ``progress=`` argument for the core (wraps a loop in a tqdm bar), or None (see :func:`progress_bar`)."""
    if quiet or not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return functools.partial(tqdm, desc=desc, unit=unit, file=sys.stderr)


# ============================================================================ result files
def write_json(path, obj, *, parents: bool = False) -> None:
    """``obj`` as indented JSON (numpy arrays and scalars converted; Python float NaN stays NaN), atomically."""
    write_text_atomic(path, json.dumps(obj, indent=1, default=json_default) + "\n", parents=parents)


def write_csv(path, header, rows) -> None:
    """A CSV file (``header`` then ``rows``), atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
