"""Helpers shared by the glassdyn OVITO modifiers (translation, errors, caching, names).

Nothing here computes physics: frames are translated by :mod:`glassdyn.adapters.ovito_data`
and results come from the core.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable

import numpy as np

from ..errors import GlassdynError

__all__ = ["glassdyn_errors", "frame_from_data", "attach", "ovito_name", "ResultCache", "SHARED_CACHE",
           "DEFAULT_CACHE_BYTES", "set_cache_limit", "nbytes_of", "parse_floats", "parse_names", "content_key",
           "propensity_property_name", "match_properties", "scalar_property_filter"]


@contextlib.contextmanager
def glassdyn_errors(what: str):
    """Turn glassdyn errors into a concise ``RuntimeError`` (OVITO shows it as the modifier status).

    The original exception is not chained, so OVITO prints one line with the reason instead
    of a traceback.
    """
    try:
        yield
    except GlassdynError as exc:
        raise RuntimeError(f"{what}: {exc}") from None
    except (KeyError, ValueError) as exc:  # parameter parsing and missing-column lookups
        raise RuntimeError(f"{what}: {exc}") from None


def _dump_has_unwrapped_only(path) -> bool:
    """True when a LAMMPS dump's atom columns hold ``xu``/``xsu`` but no ``x``/``xs`` (OVITO then
    loads the unwrapped coordinates as ``Position``)."""
    from ..adapters.lammps_dump import dump_columns
    try:
        cols = set(dump_columns(path))
    except (OSError, GlassdynError):
        return False
    return not ({"x", "xs"} & cols) and bool({"xu", "xsu"} & cols)


def frame_from_data(data, *, force_2d: bool = False, source: str | None = None, index: int | None = None,
                    properties=False, unwrapped: bool | None = None):
    """A :class:`glassdyn.Frame` from an OVITO ``DataCollection`` (through the adapter).

    Parameters
    ----------
    data : ovito.data.DataCollection
    force_2d : bool
        Treat the data as 2D even if the cell is not flagged ``is2D`` (a 2D LAMMPS dump loads
        as a height-1, z-periodic 3D cell; the adapter also detects equal z by itself).
    source, index : optional
        Where the data came from, for error messages.
    properties : bool or list of str
        Copy particle properties into ``frame.properties`` (off by default: not needed).
    unwrapped : bool, optional
        ``Position`` holds unwrapped coordinates. None: decided from the source dump's columns
        (``xu yu [zu]`` without ``x y [z]``).
    """
    from ..adapters.ovito_data import frame_from_ovito

    if data.particles is None or data.particles.count == 0:
        raise GlassdynError("the pipeline holds no particles")
    if "Particle Type" not in data.particles:
        raise GlassdynError("the particles have no 'Particle Type' property; glassdyn needs the types "
                            "(1-based, as in LAMMPS) to pick pair parameters: load a dump with a 'type' "
                            "column or map a column to Particle Type in the import dialog")
    if unwrapped is None:
        src = data.attributes.get("SourceFile") if hasattr(data, "attributes") else None
        unwrapped = bool(src) and _dump_has_unwrapped_only(str(src))
    frame = frame_from_ovito(data, dimension=2 if force_2d else None, properties=properties,
                             unwrapped_positions=unwrapped, source=source, index=index)
    if frame.dimension == 2 and not data.cell.is2D:
        # a 2D dump detected by its equal z: tell OVITO too (rendering, downstream modifiers)
        data.cell_.is2D = True
    return frame


def ovito_name(name: str) -> str:
    """A legal OVITO property name: OVITO refuses '.' (it separates vector components)."""
    return str(name).replace(".", "_")


def attach(data, columns: dict, *, frame=None) -> None:
    """Attach per-atom columns (rows in OVITO's particle order) as particle properties.

    Names with '.' are stored with '_' (``Theta_L2.0`` -> ``Theta_L2_0``).
    """
    from ..adapters.ovito_data import attach_to_ovito

    for name, values in columns.items():
        attach_to_ovito(data, ovito_name(name), np.asarray(values))


def parse_floats(text: str, what: str) -> tuple[float, ...]:
    """Parse ``"0.5, 1, 1.5"`` or a range ``"0.5:5:0.5"`` (start:stop:step, stop included)."""
    text = str(text).strip()
    if not text:
        raise GlassdynError(f"{what}: no value given")
    try:
        if ":" in text:
            start, stop, step = (float(v) for v in text.split(":"))
            if step <= 0 or stop < start:
                raise ValueError
            n = int(np.floor((stop - start) / step + 1e-9)) + 1
            return tuple(float(round(start + k * step, 10)) for k in range(n))
        return tuple(float(v) for v in text.replace(";", ",").replace(" ", ",").split(",") if v)
    except ValueError:
        raise GlassdynError(f"{what}: cannot read '{text}'; give numbers separated by commas "
                            "(0.5, 1.0, 2.0) or a range start:stop:step (0.5:5:0.5)") from None


def parse_names(text: str) -> tuple[str, ...] | None:
    """Parse a comma-separated list of names; None for an empty string (use the defaults)."""
    names = tuple(v.strip() for v in str(text).replace(";", ",").split(",") if v.strip())
    return names or None


def scalar_property_filter(container, prop) -> bool:
    """``PropertyReference`` filter: list only scalar (one-component) properties."""
    return getattr(prop, "component_count", 1) == 1


def match_properties(patterns, available) -> list[str]:
    """Property names matching comma-separated names or shell-style patterns, in ``available`` order
    for a pattern and as given for a plain name (``Theta_*, rho_L2_0``; ``.`` in a name may be
    given as OVITO's ``_``).

    Raises
    ------
    GlassdynError
        A name or pattern that matches no property (the message lists the available ones).
    """
    import fnmatch

    out: list[str] = []
    for pat in patterns:
        name = ovito_name(pat)
        if any(ch in name for ch in "*?["):
            hits = [a for a in available if fnmatch.fnmatchcase(a, name)]
        else:
            hits = [name] if name in available else []
        if not hits:
            raise GlassdynError(f"no particle property matches '{pat}' (have: {', '.join(available)})")
        out.extend(h for h in hits if h not in out)
    return out


def content_key(*arrays: Iterable, params=()) -> str:
    """A digest of arrays and parameters, used as a cache key (changes when the data change)."""
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        a = np.ascontiguousarray(a)
        h.update(str(a.shape).encode())
        h.update(str(a.dtype).encode())
        h.update(a.tobytes())
    h.update(repr(params).encode())
    return h.hexdigest()


#: Byte budget of :data:`SHARED_CACHE` (256 MiB; ``GLASSDYN_OVITO_CACHE_MB`` overrides it).
DEFAULT_CACHE_BYTES = int(float(os.environ.get("GLASSDYN_OVITO_CACHE_MB", "256")) * 2 ** 20)


def nbytes_of(obj, _seen: set | None = None) -> int:
    """Estimated memory held by a cached result: numpy buffers plus a small overhead per object.

    Walks tuples, lists, dicts, dataclasses and objects with a ``__dict__`` (``FeatureTable``,
    ``PropensityResult``, ``ImbalancePlane``...); each object is counted once.
    """
    seen = set() if _seen is None else _seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        base = obj.base if isinstance(obj.base, np.ndarray) else None
        return 112 + (nbytes_of(base, seen) if base is not None else int(obj.nbytes))
    if isinstance(obj, (str, bytes, int, float, bool, type(None))):
        return sys.getsizeof(obj)
    if isinstance(obj, dict):
        return sys.getsizeof(obj) + sum(nbytes_of(k, seen) + nbytes_of(v, seen) for k, v in obj.items())
    if isinstance(obj, (list, tuple, set, frozenset)):
        return sys.getsizeof(obj) + sum(nbytes_of(v, seen) for v in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return 64 + sum(nbytes_of(getattr(obj, f.name), seen) for f in dataclasses.fields(obj))
    if hasattr(obj, "__dict__"):
        return 64 + nbytes_of(vars(obj), seen)
    return sys.getsizeof(obj)


class ResultCache:
    """A least-recently-used cache of results bounded by the memory they hold (bytes).

    OVITO evaluates a pipeline again when the user scrubs the timeline, changes a downstream
    modifier or renders; a key made with :func:`content_key` holds the input data and every
    parameter, so a hit is always the result the core would return again. Results are sized
    with :func:`nbytes_of`; the least recently used ones are dropped as soon as the total would
    exceed ``max_bytes``, and a single result larger than the budget is not stored at all. So
    the cache never holds more than ``max_bytes``, however long OVITO runs.

    Parameters
    ----------
    max_bytes : int
        Memory budget (bytes).
    name : str
        For ``repr``.
    """

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES, name: str = ""):
        self.max_bytes = int(max_bytes)
        self.name = name
        self._store: OrderedDict[str, tuple[object, int]] = OrderedDict()
        self._lock = threading.RLock()
        self.nbytes = 0
        self.hits = 0
        self.misses = 0
        self.rejected = 0

    def __len__(self) -> int:
        return len(self._store)

    def __contains__(self, key) -> bool:
        return key in self._store

    def __repr__(self) -> str:
        return (f"ResultCache({self.name!r}: {len(self)} results, {self.nbytes / 2 ** 20:.1f} of "
                f"{self.max_bytes / 2 ** 20:.1f} MiB, {self.hits} hits, {self.misses} misses)")

    def get(self, key: str):
        """The stored result for ``key`` (and mark it recently used), or None."""
        with self._lock:
            if key in self._store:
                self._store.move_to_end(key)
                self.hits += 1
                return self._store[key][0]
            self.misses += 1
            return None

    def put(self, key: str, value) -> bool:
        """Store ``value``; returns False when it alone exceeds the budget (then nothing is kept)."""
        size = nbytes_of(value)
        with self._lock:
            if key in self._store:
                self.nbytes -= self._store.pop(key)[1]
            if size > self.max_bytes:
                self.rejected += 1
                return False
            self._store[key] = (value, size)
            self.nbytes += size
            self._evict()
            return True

    def _evict(self) -> None:
        while self.nbytes > self.max_bytes and self._store:
            _, (_, size) = self._store.popitem(last=False)
            self.nbytes -= size

    def resize(self, max_bytes: int) -> None:
        """Change the budget, dropping the least recently used results that no longer fit."""
        with self._lock:
            self.max_bytes = int(max_bytes)
            self._evict()

    def clear(self) -> None:
        with self._lock:
            self._store.clear()
            self.nbytes = 0


#: The one cache of per-frame results that every glassdyn modifier shares (descriptors, graph
#: metrics, predictions, imbalance planes): 256 MiB in all, whatever the number of pipelines.
#: Whole-trajectory results (the Dynamic propensity ensemble) live in OVITO's own per-pipeline
#: ``data_cache`` instead, which OVITO empties when a parameter or the input changes and frees
#: with the pipeline.
SHARED_CACHE = ResultCache(DEFAULT_CACHE_BYTES, name="glassdyn OVITO modifiers")


def set_cache_limit(megabytes: float) -> None:
    """Set the memory budget of :data:`SHARED_CACHE` (MiB; 0 disables caching)."""
    SHARED_CACHE.resize(int(float(megabytes) * 2 ** 20))


def propensity_property_name(column: str) -> str:
    """OVITO property name of a propensity kind: ``propensity`` -> ``Propensity`` (plain
    ``<|dr|^2>``), ``propensity_cr`` -> ``Propensity CR`` (cage-relative), ``propensity_abs`` ->
    ``Propensity Abs`` (``<|dr|>``), ``propensity_cr_abs`` -> ``Propensity CR Abs``."""
    parts = str(column).split("_")
    if parts[0] != "propensity":
        raise ValueError(f"not a propensity column name: {column!r}")
    return " ".join(["Propensity"] + [p.upper() if p == "cr" else p.capitalize() for p in parts[1:]])
