"""MDAnalysis adapter: ``Universe`` / ``AtomGroup`` <-> :class:`Frame`.

* :func:`frame_from_mdanalysis` translates the current timestep of an ``AtomGroup`` (or all
  atoms of a ``Universe``): positions (MDAnalysis stores float32), ``dimensions`` -> box
  (triclinic through ``MDAnalysis.lib.mdamath.triclinic_vectors``, origin 0 as in
  MDAnalysis), ``types`` (strings) -> integers (numeric strings keep their value, other names
  are numbered 1..k in sorted order and kept as the ``type_name`` property), ``ids``, and every
  per-atom array of ``ts.data`` (the ``additional_columns`` of the LAMMPS dump reader) as a
  property. 2D when every z is equal (MDAnalysis has no notion of 2D), or forced.
* :func:`attach_to_mdanalysis` stores a per-atom result as a topology attribute: a new
  ``TopologyAttr`` class named after the result is registered once (float64, per atom,
  NaN for atoms outside the group), so ``ag.<name>`` reads it and selections such as
  ``"prop Theta > 0.5"`` work. Topology attributes do not change with the frame: attach again
  after moving to another frame.
* :func:`frames_from_mdanalysis_file` reads a LAMMPS dump through MDAnalysis'
  ``LAMMPSDUMP`` reader and gives the same frames as the native reader (atoms sorted by id, as
  MDAnalysis sorts them).

``MDAnalysis`` is imported inside the functions only.
"""
from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator

import numpy as np

from ..errors import InputError
from ..frame import Box, Frame
from .lammps_dump import box_origins, dump_columns, select_frames

__all__ = ["frame_from_mdanalysis", "attach_to_mdanalysis", "frames_from_mdanalysis_file", "universe_from_dump", "types_to_int"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def types_to_int(types) -> tuple[np.ndarray, np.ndarray | None]:
    """Map type names to positive integers.

    Numeric names (``"1"``, ``"2"``) keep their value; otherwise the sorted unique names are
    numbered 1..k. Returns (ints (N,), names (N,) or None when the names were numeric).
    """
    t = np.asarray(types).astype(str)
    try:
        vals = t.astype(np.float64)
        if np.all(vals == np.round(vals)) and np.all(vals >= 1):
            return vals.astype(np.int64), None
    except ValueError:
        pass
    uniq, inv = np.unique(t, return_inverse=True)
    return (inv + 1).astype(np.int64), t


def frame_from_mdanalysis(atoms, *, dimension: int | None = None, properties: bool = True,
                          source: str | None = None, index: int | None = None) -> Frame:
    """Translate the current frame of an MDAnalysis ``AtomGroup`` (or ``Universe``).

    Parameters
    ----------
    atoms : MDAnalysis.Universe or MDAnalysis.AtomGroup
    dimension : {None, 2, 3}
        None: 2D when every z coordinate is equal; 2 or 3 forces it.
    properties : bool
        Copy per-atom arrays of ``ts.data`` (e.g. LAMMPS dump ``additional_columns``).
    source, index : optional
        For messages; default the trajectory file name and ``ts.frame``.

    Returns
    -------
    Frame
        In the group's atom order; box origin at 0 (MDAnalysis' convention), ``timestep`` from
        ``ts.data["step"]`` when present.
    """
    ag = atoms.atoms if hasattr(atoms, "trajectory") else atoms
    u = ag.universe
    ts = u.trajectory.ts
    source = source if source is not None else getattr(u.trajectory, "filename", None)
    index = index if index is not None else int(ts.frame)
    dims = ts.dimensions
    if dims is None or not np.all(np.isfinite(dims)) or np.any(np.asarray(dims[:3]) <= 0):
        raise InputError("the MDAnalysis timestep has no (valid) box dimensions (missing box)",
                         source=source, frame=index)
    if ag.n_atoms == 0:
        raise InputError("the atom group is empty", source=source, frame=index)
    from MDAnalysis.lib.mdamath import triclinic_vectors

    matrix = np.array(triclinic_vectors(dims), dtype=float)
    pos = np.array(ag.positions, dtype=float)
    if dimension is None:
        dim = 2 if (np.ptp(pos[:, 2]) == 0.0 and len(pos) > 1) else 3
    else:
        dim = int(dimension)
        if dim not in (2, 3):
            raise InputError(f"dimension must be 2, 3 or None, got {dimension}", source=source, frame=index)
    if not hasattr(ag, "types"):
        raise InputError("the atoms have no 'types' attribute; glassdyn needs types", source=source, frame=index)
    types, names = types_to_int(ag.types)
    ids = np.array(ag.ids, dtype=np.int64) if hasattr(ag, "ids") else None
    props = {}
    if names is not None:
        props["type_name"] = names
    if properties:
        for key, val in ts.data.items():
            arr = np.asarray(val)
            if arr.ndim >= 1 and arr.shape[0] == u.atoms.n_atoms and key not in ("id", "type"):
                props[key] = arr[ag.indices]
    box = Box(matrix[:dim, :dim])
    if dim == 2:
        object.__setattr__(box, "_lammps_zbounds", (0.0, float(matrix[2, 2])))
    step = ts.data.get("step")
    return Frame(pos[:, :dim], types, box, ids=ids, properties=props, source=source, index=index,
                 timestep=None if step is None else int(step))


def _attr_class(name: str):
    from MDAnalysis.core import topologyattrs as ta

    existing = ta._TOPOLOGY_ATTRS.get(name)
    if existing is not None:
        return existing
    return type(f"Glassdyn_{name}", (ta.AtomAttr,), {
        "attrname": name, "singular": name, "dtype": float, "per_object": "atom",
        "_gen_initial_values": staticmethod(lambda na, nr, ns: np.full(na, np.nan)),
        "__doc__": f"Per-atom glassdyn result '{name}' (float64; NaN where not computed).",
    })


def attach_to_mdanalysis(atomgroup, name: str, values) -> None:
    """Attach a per-atom result to an MDAnalysis ``AtomGroup`` as a topology attribute.

    Parameters
    ----------
    atomgroup : MDAnalysis.AtomGroup or Universe
        Atoms the values belong to (in group order).
    name : str
        Attribute name (a Python identifier). Existing MDAnalysis attributes (``charges``...)
        are overwritten for the group's atoms; a new name registers a float64 ``TopologyAttr``
        (once per process), available as ``ag.<name>`` on every group of the universe, with NaN
        for atoms outside ``atomgroup``.
    values : array_like, shape (N,) or (N, k)
        One value per atom; (N, k) arrays are attached as ``<name>_1`` ... ``<name>_k``.

    Notes
    -----
    Topology attributes are static: after ``u.trajectory[i]`` the values are those of the
    last call. MDAnalysis has no LAMMPS dump writer with extra columns: write through
    ``glassdyn.adapters.lammps_dump.write_dump(path, frame_from_mdanalysis(ag).with_properties(...))``.
    """
    ag = atomgroup.atoms if hasattr(atomgroup, "trajectory") else atomgroup
    if not _NAME.match(name):
        raise InputError(f"attribute name {name!r} must be a Python identifier")
    vals = np.asarray(values)
    if vals.shape[0] != ag.n_atoms or vals.ndim > 2:
        raise InputError(f"'{name}' has shape {vals.shape} for {ag.n_atoms} atoms")
    if vals.ndim == 2:
        for k in range(vals.shape[1]):
            attach_to_mdanalysis(ag, f"{name}_{k + 1}", vals[:, k])
        return
    u = ag.universe
    if not hasattr(u.atoms, name):
        cls = _attr_class(name)
        u.add_TopologyAttr(cls(np.full(u.atoms.n_atoms, np.nan)))
    setattr(ag, name, vals)


def frames_from_mdanalysis_file(path, frames=None, *, dimension: int | None = None) -> Iterator[Frame]:
    """Read a LAMMPS dump through MDAnalysis' ``LAMMPSDUMP`` reader.

    Parameters
    ----------
    path : str or path-like
        The dump (every frame must hold the same atoms, an MDAnalysis requirement).
    frames : None, int, slice or list of int
        Which frames (default all).
    dimension : {None, 2, 3}
        As in :func:`frame_from_mdanalysis`.

    Yields
    ------
    Frame
        Atoms sorted by id. MDAnalysis moves the box origin to 0; the origin of the dump is
        restored here (and MDAnalysis 2.x's double subtraction of the origin for scaled
        ``xs``/``xsu`` coordinates is undone), so positions equal the native reader's to float32
        precision. With ``xu``/``xsu`` columns the positions are stored as ``unwrapped`` and
        wrapped into the box. Extra columns come through ``additional_columns=True`` (velocities
        and forces are consumed by MDAnalysis and not copied).
    """
    import MDAnalysis as mda

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError("no such dump file", source=path)
    cols = set(dump_columns(path))
    with warnings.catch_warnings():  # "Reader has no dt information" and similar
        warnings.simplefilter("ignore")
        u = mda.Universe(path, format="LAMMPSDUMP", additional_columns=True)
    conv = u.trajectory.lammps_coordinate_convention
    unwrapped = conv in ("unwrapped", "scaled_unwrapped") and not ({"x", "xs"} & cols)
    sel = select_frames(frames, len(u.trajectory), path)
    los = box_origins(path, sel)
    for k, lo in zip(sel, los):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            u.trajectory[k]
        f = frame_from_mdanalysis(u.atoms, dimension=dimension, source=path, index=k)
        d = f.dimension
        shift = lo[:d] * (2.0 if conv.startswith("scaled") else 1.0)
        box = Box(f.box.matrix, lo[:d])
        if d == 2:
            object.__setattr__(box, "_lammps_zbounds", (float(lo[2]), float(lo[2] + u.dimensions[2])))
        pos = f.positions + shift
        unw = None
        if unwrapped:
            unw = pos
            pos = box.wrap(pos)
        props = dict(f.properties)
        images = None
        if all(c in props for c in ("ix", "iy", "iz")[:d]):
            images = np.column_stack([props.pop(c) for c in ("ix", "iy", "iz")[:d]]).astype(np.int64)
            props.pop("iz", None)
        yield Frame(pos, f.types, box, ids=f.ids, unwrapped=unw, images=images, properties=props, source=path,
                    index=k, timestep=f.timestep)


def universe_from_dump(path, *, unwrapped: bool = False, **kwargs):
    """Open a LAMMPS text dump as an MDAnalysis ``Universe`` with every extra column.

    Parameters
    ----------
    path : str or path-like
        LAMMPS dump (``dump custom``) with ``id type`` and coordinates.
    unwrapped : bool
        Positions must be unwrapped (replicas for propensity): use the ``xu yu zu`` columns, or
        ``x y z`` with image flags ``ix iy iz``.
    **kwargs
        Passed to ``MDAnalysis.Universe``.

    Raises
    ------
    InputError
        Missing file, or ``unwrapped=True`` for a dump with neither unwrapped coordinates nor
        image flags.
    """
    import MDAnalysis as mda

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError("no such dump file", source=path)
    cols = dump_columns(path)
    if not cols:
        raise InputError("not a LAMMPS text dump (no 'ITEM: ATOMS' line)", source=path)
    known = {"id", "type", "x", "y", "z", "xs", "ys", "zs", "xu", "yu", "zu", "xsu", "ysu", "zsu",
             "ix", "iy", "iz", "vx", "vy", "vz", "fx", "fy", "fz", "mol", "element", "mass", "q"}
    extra = [c for c in cols if c not in known]
    opts = dict(format="LAMMPSDUMP")
    if extra:
        opts["additional_columns"] = extra
    if unwrapped:
        if "xu" in cols:
            opts["lammps_coordinate_convention"] = "unwrapped"
        elif "xsu" in cols:
            opts["lammps_coordinate_convention"] = "scaled_unwrapped"
        elif "ix" in cols:
            opts["unwrap_images"] = True
        else:
            raise InputError("the dump has neither unwrapped coordinates (xu yu [zu]) nor image flags "
                             "(ix iy [iz]): displacements cannot be computed; dump xu yu zu in LAMMPS",
                             source=path)
    opts.update(kwargs)
    return mda.Universe(path, **opts)
