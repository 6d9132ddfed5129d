"""Small helpers shared by every ring: the glassdyn version and one JSON converter.

Internal module (its names are public so that the modules which share them import public names);
it imports nothing beyond numpy and the standard library.
"""
from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

__all__ = ["glassdyn_version", "to_jsonable", "json_default"]


def glassdyn_version() -> str:
    """The installed glassdyn version (``0.1.0`` when running from a source tree)."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("glassdyn")
    except PackageNotFoundError:  # running from a source tree without installation
        return "0.1.0"


def to_jsonable(obj: Any) -> Any:
    """A plain-Python copy of ``obj`` that :func:`json.dumps` writes as standard JSON.

    Dicts (keys become strings), lists, tuples, sets (sorted) and numpy arrays become dicts and
    lists; numpy scalars become Python scalars; NaN and infinities become ``None`` (JSON has no
    NaN); paths become strings; callables become their ``__name__``. Anything else is returned
    unchanged (``json.dumps`` then decides; pass :func:`json_default` as ``default=`` to turn it
    into a string).
    """
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return [to_jsonable(v) for v in sorted(obj, key=repr)]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if callable(obj) and not isinstance(obj, type):
        return getattr(obj, "__name__", repr(obj))
    return obj


def json_default(obj: Any) -> Any:
    """``default=`` hook for :func:`json.dumps`: :func:`to_jsonable`, else ``str(obj)``."""
    out = to_jsonable(obj)
    return str(obj) if out is obj else out
