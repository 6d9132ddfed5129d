"""OVITO adapter: ``ovito.data.DataCollection`` <-> :class:`Frame`.

* :func:`frame_from_ovito` translates a data collection (inside a modifier or after
  ``pipeline.compute()``): positions, ``Particle Type`` (numeric type ids), ``Particle
  Identifier``, ``Periodic Image`` and the cell (``data.cell``: columns are the cell vectors,
  the fourth column the origin). 2D when ``data.cell.is2D``, or, with ``dimension=None``, when
  every z coordinate is equal (OVITO loads a 2D LAMMPS dump as a 3D cell of height 1); the
  caller may force ``dimension=2``, which also sets ``data.cell_.is2D = True`` so that OVITO
  treats the data as 2D from there on.
* :func:`attach_to_ovito` adds a per-particle property (float, int or (N, k) vectors).
* :func:`frames_from_ovito_file` reads a LAMMPS dump with OVITO's own reader
  (``ovito.io.import_file``) and gives the same frames as the native reader.

``ovito`` is imported inside the functions only.
"""
from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator

import numpy as np

from ..errors import InputError
from ..frame import Box, Frame
from .lammps_dump import COMPRESSED_SUFFIXES, SingleSpeciesWarning, dump_columns, open_dump, select_frames

__all__ = ["frame_from_ovito", "attach_to_ovito", "frames_from_ovito_file"]

_STANDARD = {"Position", "Particle Type", "Particle Identifier", "Periodic Image"}


def frame_from_ovito(data, *, dimension: int | None = None, properties: bool | list = True,
                     unwrapped_positions: bool = False, source: str | None = None,
                     index: int | None = None, missing_types: str = "error") -> Frame:
    """Translate an OVITO ``DataCollection`` into a :class:`Frame`.

    Parameters
    ----------
    data : ovito.data.DataCollection
        Must hold particles with positions and a simulation cell.
    dimension : {None, 2, 3}
        None: 2D if ``data.cell.is2D`` or all z coordinates are equal; 2 forces 2D (and sets
        ``data.cell_.is2D = True``); 3 forces 3D.
    properties : bool or list of str
        Copy the other particle properties into ``frame.properties`` (all of them with True,
        the named ones with a list, none with False). Names are kept as in OVITO (``c_pe``,
        ``Velocity``...); vector properties become (N, k) arrays.
    unwrapped_positions : bool
        The ``Position`` property holds unwrapped coordinates (an OVITO import of a dump with
        ``xu yu zu``): store them as ``unwrapped`` and wrap them into the cell for ``positions``.
    source, index : optional
        File name and frame number for messages (default: ``SourceFile``/``SourceFrame``
        attributes of the data collection).
    missing_types : {"error", "single"}
        Particles without a ``Particle Type`` property: refuse them (default; the modifiers
        say how to map a column in OVITO's import dialog) or read them as one species (type 1,
        with a :class:`~glassdyn.adapters.lammps_dump.SingleSpeciesWarning`), as glassdyn's
        dump reader does for a dump without a ``type`` column.

    Returns
    -------
    Frame
        Atoms in OVITO's order; ``timestep`` from the ``Timestep`` attribute when present.
    """
    attrs = dict(data.attributes) if hasattr(data, "attributes") else {}
    source = source if source is not None else attrs.get("SourceFile")
    index = index if index is not None else attrs.get("SourceFrame")
    ts = attrs.get("Timestep")
    if getattr(data, "cell", None) is None:
        raise InputError("the OVITO data collection has no simulation cell (missing box)", source=source,
                         frame=index)
    parts = getattr(data, "particles", None)
    if parts is None or parts.count == 0:
        raise InputError("the OVITO data collection holds no particles", source=source, frame=index)
    if missing_types not in ("error", "single"):
        raise InputError(f"missing_types must be 'error' or 'single', got {missing_types!r}")
    if "Particle Type" not in parts and missing_types == "error":
        raise InputError("the particles have no 'Particle Type' property; glassdyn needs types",
                         source=source, frame=index)
    pos = np.array(parts.positions, dtype=float)
    cell = np.array(data.cell[...], dtype=float)
    if dimension is None:
        dim = 2 if (data.cell.is2D or (np.ptp(pos[:, 2]) == 0.0 and len(pos) > 1)) else 3
    else:
        dim = int(dimension)
        if dim not in (2, 3):
            raise InputError(f"dimension must be 2, 3 or None, got {dimension}", source=source, frame=index)
        if dim == 2 and not data.cell.is2D:
            data.cell_.is2D = True
    matrix = cell[:3, :3].T  # rows = cell vectors
    origin = cell[:3, 3]
    pbc = tuple(bool(p) for p in data.cell.pbc)
    box = Box(matrix[:dim, :dim], origin[:dim], pbc[:dim])
    if dim == 2:
        object.__setattr__(box, "_lammps_zbounds", (float(origin[2]), float(origin[2] + matrix[2, 2])))
    if "Particle Type" in parts:
        types = np.array(parts["Particle Type"], dtype=np.int64)
    else:
        warnings.warn(f"{source or 'the OVITO data'}: the particles have no 'Particle Type' property; every "
                      "particle is read as type 1 (one species)", SingleSpeciesWarning, stacklevel=2)
        types = np.ones(parts.count, dtype=np.int64)
    ids = np.array(parts["Particle Identifier"], dtype=np.int64) if "Particle Identifier" in parts else None
    images = np.array(parts["Periodic Image"], dtype=np.int64)[:, :dim] if "Periodic Image" in parts else None
    props = {}
    if properties:
        names = [k for k in parts.keys() if k not in _STANDARD] if properties is True else list(properties)
        for k in names:
            if k not in parts:
                raise InputError(f"no particle property '{k}' (have: {', '.join(parts.keys())})",
                                 source=source, frame=index)
            props[k] = np.array(parts[k])
    p = pos[:, :dim]
    unw = None
    if unwrapped_positions:
        unw = p
        p = box.wrap(p) if np.all(np.isfinite(p)) else p
    frame = Frame(p, types, box, ids=ids, unwrapped=unw, images=images, properties=props,
                  source=source, index=index, timestep=ts)
    return frame


def attach_to_ovito(data, name: str, values, *, components=None):
    """Add (or overwrite) a per-particle property in an OVITO data collection.

    Parameters
    ----------
    data : ovito.data.DataCollection
        Mutable data collection (e.g. inside a modifier function).
    name : str
        Property name (shown in OVITO's GUI; OVITO's standard names keep their meaning).
    values : array_like, shape (N,) or (N, k)
        One value (row) per particle, in OVITO's particle order. Integer arrays give integer
        properties, everything else float64.
    components : list of str, optional
        Component names of a vector property (default ``1..k``: ``name.1``...).

    Returns
    -------
    ovito.data.Property
    """
    vals = np.asarray(values)
    n = data.particles.count
    if vals.shape[0] != n or vals.ndim > 2:
        raise InputError(f"property '{name}' has shape {vals.shape} for {n} particles")
    if vals.dtype.kind == "b":
        vals = vals.astype(np.int32)
    dtype = np.int32 if vals.dtype.kind in "iu" else np.float64
    if vals.ndim == 2:
        comps = components or [str(k + 1) for k in range(vals.shape[1])]
        parts = data.particles_
        if name in parts:
            del parts[name]
        return parts.create_property(name, dtype=dtype, components=comps, data=vals.astype(dtype))
    return data.particles_.create_property(name, dtype=dtype, data=vals.astype(dtype))


def frames_from_ovito_file(path, frames=None, *, dimension: int | None = None) -> Iterator[Frame]:
    """Read a LAMMPS dump through OVITO's reader (``ovito.io.import_file``).

    Parameters
    ----------
    path : str or path-like
        The dump file.
    frames : None, int, slice or list of int
        Which frames (default all).
    dimension : {None, 2, 3}
        As in :func:`frame_from_ovito` (2D dumps are detected from their equal z).

    Yields
    ------
    Frame
        Same content as :func:`glassdyn.adapters.lammps_dump.iter_dump` (positions, unwrapped
        coordinates when the dump holds ``xu``/``xsu`` columns, images, ids, types, box,
        timestep; properties under OVITO's names, e.g. ``vx`` becomes ``Velocity`` (N, 3)). A
        dump without a ``type`` column is read as one species (type 1, with a
        :class:`~glassdyn.adapters.lammps_dump.SingleSpeciesWarning`), as the native reader does.
        OVITO reads ``.gz`` itself; ``.bz2`` and ``.xz`` dumps are decompressed to a temporary
        file first.
    """
    from ovito.io import import_file

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError("no such dump file", source=path)
    cols = dump_columns(path)
    unwrapped = not ({"x", "xs"} & set(cols)) and bool({"xu", "xsu"} & set(cols))
    # OVITO renames custom columns (lower case, '.' and spaces -> '_': Theta_L2.0 -> theta_l2_0);
    # give them back the names of the dump so that the frames match the native reader's.
    rename = {_ovito_name(c): c for c in cols if c not in _CONSUMED}
    with _ovito_readable(path) as readable:
        pipeline = import_file(readable)
        n = pipeline.source.num_frames
        for k in select_frames(frames, n, path):
            data = pipeline.compute(k)
            frame = frame_from_ovito(data, dimension=dimension, unwrapped_positions=unwrapped, source=path, index=k,
                                     missing_types="single")
            frame.properties = {rename.get(key, key): val for key, val in frame.properties.items()}
            yield frame


class _ovito_readable:
    """Context manager: a path OVITO can import (a decompressed temporary copy of .bz2/.xz files)."""

    def __init__(self, path: str):
        self.path = path
        self.tmp = None

    def __enter__(self) -> str:
        if not self.path.endswith(COMPRESSED_SUFFIXES) or self.path.endswith(".gz"):
            return self.path
        import shutil
        import tempfile
        base = os.path.basename(self.path).rsplit(".", 1)[0]
        self.tmp = tempfile.mkdtemp(prefix="glassdyn_ovito_")
        out = os.path.join(self.tmp, base)
        with open_dump(self.path) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
        return out

    def __exit__(self, *exc):
        if self.tmp is not None:
            import shutil
            shutil.rmtree(self.tmp, ignore_errors=True)


_CONSUMED = {"id", "type", "x", "y", "z", "xs", "ys", "zs", "xu", "yu", "zu", "xsu", "ysu", "zsu", "ix", "iy", "iz"}


def _ovito_name(column: str) -> str:
    """The particle property name OVITO's LAMMPS dump importer gives a custom column."""
    return re.sub(r"[^a-z0-9_\[\]]", "_", column.lower())
