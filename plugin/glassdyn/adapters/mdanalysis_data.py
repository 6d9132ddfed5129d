"""MDAnalysis adapter: ``Universe`` / ``AtomGroup`` <-> :class:`Frame`.

* :func:`frame_from_mdanalysis` translates the current timestep of an ``AtomGroup`` (or all
  atoms of a ``Universe``): positions (MDAnalysis stores float32), ``dimensions`` -> box
  (triclinic through ``MDAnalysis.lib.mdamath.triclinic_vectors``), ``types`` (strings) ->
  integers (numeric strings keep their value, other names are numbered 1..k in sorted order and
  kept as the ``type_name`` property), ``ids``, and every per-atom array of ``ts.data`` (the
  ``additional_columns`` of the LAMMPS dump reader) as a property. 2D when every z is equal
  (MDAnalysis has no notion of 2D), or forced.

  **Box origin of LAMMPS dumps.** MDAnalysis moves the box origin to 0 and subtracts the
  dump's lower box corner ``lo`` from the coordinates; for scaled columns (``xs``/``xsu``)
  MDAnalysis 2.x subtracts it twice (MDAnalysis issue #4788). When the origin moves between
  frames (NPT, a recentred box: ``wat.lammpstrj`` of MDAnalysisTests) every displacement would
  carry that shift. For a Universe read from a LAMMPS dump the adapter therefore reads ``lo``
  of the current frame from the file header and gives back the coordinates as written, in a
  box with origin ``lo`` (the same frame as glassdyn's and OVITO's readers). How many ``lo``
  MDAnalysis subtracted is measured once per reader on a frame with ``lo != 0`` against the
  native reader, so a future MDAnalysis that fixes the double subtraction is handled too.
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

from ..ensemble import DEFAULT_DT
from ..errors import InputError
from ..frame import Box, Frame
from .lammps_dump import SingleSpeciesWarning, box_origins, dump_columns, frame_offsets, read_dump, select_frames

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
        In the group's atom order; ``timestep`` from ``ts.data["step"]`` when present. For a
        Universe read from a LAMMPS dump, positions and box origin as in the file (see the
        module docstring); otherwise box origin 0 (MDAnalysis' convention).
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
    lo, shift = _dump_origin(u)
    if shift is not None:
        pos += shift
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
    box = Box(matrix[:dim, :dim], lo[:dim])
    if dim == 2:
        object.__setattr__(box, "_lammps_zbounds", (float(lo[2]), float(lo[2] + matrix[2, 2])))
    step = ts.data.get("step")
    return Frame(pos[:, :dim], types, box, ids=ids, properties=props, source=source, index=index,
                 timestep=None if step is None else int(step))


# ------------------------------------------------------------------------------ LAMMPS dump origin
_ORIGINS: dict = {}


def _dump_reader(u):
    """The LAMMPS ``DumpReader`` behind a Universe and its file, or (None, None)."""
    reader = u.trajectory
    if type(reader).__name__ != "DumpReader" or not hasattr(reader, "lammps_coordinate_convention"):
        return None, None
    path = getattr(reader, "filename", None)
    if not path or not os.path.isfile(path):
        return None, None
    return reader, os.fspath(path)


def dump_box_origins(path) -> np.ndarray:
    """Lower box corners ``(xlo, ylo, zlo)`` of every frame of a dump, shape (n_frames, 3).

    Read from the headers once per file (cached by path, size and modification time).
    """
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    hit = _ORIGINS.get(key)
    if hit is None:
        n = len(frame_offsets(path))
        hit = np.array(box_origins(path, range(n)), dtype=float).reshape(n, 3)
        if len(_ORIGINS) > 64:
            _ORIGINS.clear()
        _ORIGINS[key] = hit
    return hit


def _reference_positions(path, k, reader):
    """The dump's own coordinates of frame ``k`` in the convention MDAnalysis read (sorted by id)."""
    fr = read_dump(path, k, dimension=3).sorted_by_id()
    conv = reader.lammps_coordinate_convention
    use_unwrapped = conv in ("unwrapped", "scaled_unwrapped") or getattr(reader, "_unwrap", False)
    pos = fr.unwrapped if (use_unwrapped and fr.unwrapped is not None) else fr.positions
    return fr.ids, pos


def _origin_factor(u, reader, path, k, lo) -> float:
    """How many times MDAnalysis subtracted ``lo`` from this reader's coordinates (0, 1 or 2).

    Measured on frame ``k`` (whose ``lo`` is not 0) against the native reader and remembered on
    the reader; MDAnalysis 2.x's behaviour (2 for scaled columns, 1 otherwise) when the native
    reader cannot read the frame.
    """
    factor = getattr(reader, "_glassdyn_origin_factor", None)
    if factor is not None:
        return factor
    default = 2.0 if reader.lammps_coordinate_convention.startswith("scaled") else 1.0
    factor = default
    try:
        ids, ref = _reference_positions(path, k, reader)
        mda_ids = np.asarray(u.atoms.ids)
        mda = np.asarray(u.atoms.positions, dtype=float)[np.argsort(mda_ids, kind="stable")]
        if np.array_equal(np.sort(mda_ids), ids):
            errors = [np.abs(mda + f * lo - ref).max() for f in (0.0, 1.0, 2.0)]
            best = int(np.argmin(errors))
            scale = float(np.abs(ref).max()) + 1.0
            if errors[best] <= 1e-4 * scale:
                factor = float(best)
    except (InputError, ValueError, IndexError):  # pragma: no cover - unreadable by the native reader
        pass
    try:
        reader._glassdyn_origin_factor = factor
    except AttributeError:  # pragma: no cover
        pass
    return factor


def _dump_origin(u):
    """(lo (3,), shift (3,) or None) that restore a LAMMPS dump's coordinates at the current frame."""
    reader, path = _dump_reader(u)
    if reader is None:
        return np.zeros(3), None
    try:
        origins = dump_box_origins(path)
    except InputError:
        return np.zeros(3), None
    k = int(reader.ts.frame)
    if not 0 <= k < len(origins) or len(origins) != reader.n_frames:
        return np.zeros(3), None
    lo = origins[k]
    if not np.any(lo):
        return lo, None
    return lo, _origin_factor(u, reader, path, k, lo) * lo


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
        Atoms sorted by id; positions and box origin as in the dump (the origin MDAnalysis moves
        to 0 is restored by :func:`frame_from_mdanalysis`), so positions equal the native
        reader's to float32 precision. With ``xu``/``xsu`` columns (and no ``x``/``xs``) the
        positions are stored as ``unwrapped`` and wrapped into the box. Extra columns come
        as MDAnalysis ``additional_columns`` (velocities and forces are consumed by MDAnalysis
        and not copied). A dump without a ``type`` column is read as one species (type 1) with a
        :class:`~glassdyn.adapters.lammps_dump.SingleSpeciesWarning`.
    """
    import MDAnalysis as mda

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError("no such dump file", source=path)
    cols = set(dump_columns(path))
    _warn_single_species(path, cols)
    # every column MDAnalysis does not parse itself, except the string column 'element' (it reads
    # additional columns as floats) and 'type' (MDAnalysis' topology)
    extra = [c for c in dump_columns(path) if c not in _MDA_PARSED and c not in ("element", "type")]
    with warnings.catch_warnings():  # "Reader has no dt information" and similar
        warnings.simplefilter("ignore")
        u = mda.Universe(path, format="LAMMPSDUMP", additional_columns=extra or None, dt=DEFAULT_DT)
    conv = u.trajectory.lammps_coordinate_convention
    unwrapped = conv in ("unwrapped", "scaled_unwrapped") and not ({"x", "xs"} & cols)
    sel = select_frames(frames, len(u.trajectory), path)
    for k in sel:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            u.trajectory[k]
        f = frame_from_mdanalysis(u.atoms, dimension=dimension, source=path, index=k)
        d = f.dimension
        box = f.box
        pos = f.positions
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


#: columns MDAnalysis' LAMMPS dump reader parses into positions, velocities and forces
_MDA_PARSED = {"id", "vx", "vy", "vz", "fx", "fy", "fz", "x", "y", "z", "xs", "ys", "zs", "xu", "yu", "zu",
               "xsu", "ysu", "zsu"}
#: dump columns universe_from_dump does not request as additional columns
_MDA_KNOWN = {"id", "type", "x", "y", "z", "xs", "ys", "zs", "xu", "yu", "zu", "xsu", "ysu", "zsu",
              "ix", "iy", "iz", "vx", "vy", "vz", "fx", "fy", "fz", "mol", "element", "mass", "q"}


def _warn_single_species(path, cols) -> None:
    if "type" not in cols and cols:
        warnings.warn(f"{path}: the dump has no 'type' column; MDAnalysis and glassdyn read every atom as type 1 "
                      "(one species). Dump 'id type ...' for a mixture", SingleSpeciesWarning, stacklevel=3)


def universe_from_dump(path, *, unwrapped: bool = False, dt: float | None = DEFAULT_DT, **kwargs):
    """Open a LAMMPS text dump as an MDAnalysis ``Universe`` with every extra column.

    Parameters
    ----------
    path : str or path-like
        LAMMPS dump (``dump custom``) with ``id type`` and coordinates (``.gz``/``.bz2`` accepted).
        A dump without a ``type`` column gives one species (type 1), with a
        :class:`~glassdyn.adapters.lammps_dump.SingleSpeciesWarning`.
    unwrapped : bool
        Positions must be unwrapped (replicas for propensity): use the ``xu yu zu`` columns, or
        ``x y z`` with image flags ``ix iy iz`` (orthogonal boxes only: MDAnalysis unwraps image
        flags with the box lengths, which is wrong for a tilted cell).
    dt : float or None
        MD timestep in time units per step (LJ units: 0.005 by default, as everywhere in glassdyn),
        passed as MDAnalysis' ``dt`` keyword: the LAMMPS dump reader sets ``ts.time = step * dt``
        and no longer warns "Reader has no dt information, set to 1.0 ps". MDAnalysis labels the
        time ps; with LJ units it is the LJ time. None leaves MDAnalysis' default (1.0, with the
        warning).
    **kwargs
        Passed to ``MDAnalysis.Universe``.

    Raises
    ------
    InputError
        Missing file; ``unwrapped=True`` for a dump with neither unwrapped coordinates nor image
        flags, or with image flags only in a triclinic box; a non-positive ``dt``.
    """
    import MDAnalysis as mda

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError("no such dump file", source=path)
    cols = dump_columns(path)
    if not cols:
        raise InputError("not a LAMMPS text dump (no 'ITEM: ATOMS' line)", source=path)
    _warn_single_species(path, set(cols))
    extra = [c for c in cols if c not in _MDA_KNOWN]
    opts = dict(format="LAMMPSDUMP")
    if extra:
        opts["additional_columns"] = extra
    if dt is not None:
        if not (float(dt) > 0):
            raise InputError(f"dt must be a positive MD timestep, got {dt}", source=path)
        opts["dt"] = float(dt)
    if unwrapped:
        if "xu" in cols:
            opts["lammps_coordinate_convention"] = "unwrapped"
        elif "xsu" in cols:
            opts["lammps_coordinate_convention"] = "scaled_unwrapped"
        elif "ix" in cols:
            if _is_triclinic(path):
                raise InputError("the dump holds a triclinic box and image flags but no unwrapped coordinates: "
                                 "MDAnalysis unwraps image flags with the box lengths only, which is wrong for a "
                                 "tilted cell; dump xu yu zu in LAMMPS, or read the replicas with "
                                 "glassdyn.adapters.load_ensemble", source=path)
            opts["unwrap_images"] = True
        else:
            raise InputError("the dump has neither unwrapped coordinates (xu yu [zu]) nor image flags "
                             "(ix iy [iz]): displacements cannot be computed; dump xu yu zu in LAMMPS",
                             source=path)
    opts.update(kwargs)
    return mda.Universe(path, **opts)


def _is_triclinic(path) -> bool:
    """True when the first frame's BOX BOUNDS item carries tilt factors (``xy xz yz``) or ``abc origin``."""
    from .lammps_dump import open_dump

    with open_dump(path) as fh:
        head = fh.read(1 << 14)
    at = head.find(b"ITEM: BOX BOUNDS")
    if at < 0:
        return False
    line = head[at:head.find(b"\n", at)].split()
    return b"xy" in line or b"abc" in line
