"""Helpers shared by the glassdyn OVITO modifiers (translation, errors, caching).

Nothing here computes physics: frames are translated by :mod:`glassdyn.adapters.ovito_data`
and results come from the core.
"""
from __future__ import annotations

import contextlib
import hashlib
from collections import OrderedDict
from collections.abc import Iterable

import numpy as np

from ..errors import GlassdynError

__all__ = ["glassdyn_errors", "frame_from_data", "attach", "ovito_name", "ResultCache", "parse_floats", "parse_names",
           "content_key"]


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


class ResultCache:
    """A small least-recently-used cache of results keyed by :func:`content_key`.

    OVITO evaluates a pipeline again when the user scrubs the timeline, changes a downstream
    modifier or renders; the key holds the input data and every parameter, so a hit is always
    the result the core would return again.
    """

    def __init__(self, maxsize: int = 16):
        self.maxsize = int(maxsize)
        self._store: OrderedDict[str, object] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: str):
        if key in self._store:
            self._store.move_to_end(key)
            self.hits += 1
            return self._store[key]
        self.misses += 1
        return None

    def put(self, key: str, value) -> None:
        self._store[key] = value
        self._store.move_to_end(key)
        while len(self._store) > self.maxsize:
            self._store.popitem(last=False)

    def clear(self) -> None:
        self._store.clear()
