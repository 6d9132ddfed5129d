"""Helpers shared by the commands: progress bars and result files."""
from __future__ import annotations

import csv
import functools
import json
import sys
from collections.abc import Callable, Iterable

from .._atomic import atomic_path, write_text_atomic
from .._util import json_default

__all__ = ["progress_bar", "progress_wrapper", "write_json", "write_csv"]


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


def write_json(path, obj, *, parents: bool = False) -> None:
    """``obj`` as indented JSON (numpy arrays and scalars converted; Python float NaN stays NaN), atomically."""
    write_text_atomic(path, json.dumps(obj, indent=1, default=json_default) + "\n", parents=parents)


def write_csv(path, header, rows) -> None:
    """A CSV file (``header`` then ``rows``), atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
