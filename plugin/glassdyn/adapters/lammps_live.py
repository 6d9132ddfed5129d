"""Adapter for a live ``lammps`` Python instance (``from lammps import lammps``).

:func:`frame_from_lammps` copies the current configuration of a running LAMMPS instance into a
:class:`Frame`; :func:`set_per_atom` stores a per-atom result back into the instance as a
custom per-atom property ``d_<name>`` (created with ``fix property/atom`` on first use) that
LAMMPS computes, variables and dumps can use (``dump ... custom ... d_<name>``,
``compute ... property/atom d_<name>``). Both work inside a LAMMPS input that runs Python
(``python ... source``/``invoke`` with ``lmp = lammps(ptr=ptr)``) as well as from a driver
script. Nothing here imports ``lammps``: the instance is passed in.

Example
-------
>>> from lammps import lammps                                           # doctest: +SKIP
>>> lmp = lammps(cmdargs=["-log", "none", "-screen", "none"])          # doctest: +SKIP
>>> lmp.file("in.ka2d")                                                 # doctest: +SKIP
>>> frame = frame_from_lammps(lmp)                                      # doctest: +SKIP
>>> table = glassdyn.descriptors.compute_features(frame, "ka2d")        # doctest: +SKIP
>>> set_per_atom(lmp, "Theta", table.values[:, table.names.index("Theta_L2.0")], ids=table.ids)  # doctest: +SKIP
>>> lmp.command("dump d all custom 100 out.dump id type x y d_Theta")  # doctest: +SKIP
"""
from __future__ import annotations

import re

import numpy as np

from ..errors import InputError
from ..frame import Box, Frame

__all__ = ["frame_from_lammps", "set_per_atom", "decode_images"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _instance(lmp):
    # PyLammps / IPyLammps wrap the plain instance as ``.lmp``
    return lmp.lmp if hasattr(lmp, "lmp") and hasattr(lmp.lmp, "extract_box") else lmp


def decode_images(image: np.ndarray, lmp=None) -> np.ndarray:
    """Decode LAMMPS packed image flags (``imageint``) into (N, 3) integers.

    Parameters
    ----------
    image : ndarray of int, shape (N,)
        Packed flags as stored in ``atom->image``.
    lmp : lammps, optional
        Instance to ask for ``IMGMASK``/``IMGBITS``/``IMG2BITS``/``IMGMAX`` (default: the
        standard ``-DLAMMPS_SMALLBIG`` values 1023, 10, 20, 512).
    """
    mask, bits, bits2, imax = 1023, 10, 20, 512
    if lmp is not None:
        try:
            mask, bits, bits2, imax = (int(lmp.extract_setting(k)) for k in ("IMGMASK", "IMGBITS", "IMG2BITS", "IMGMAX"))
        except Exception:  # pragma: no cover - older LAMMPS without these settings
            pass
    im = np.asarray(image).astype(np.int64)
    return np.column_stack([(im & mask) - imax, ((im >> bits) & mask) - imax, (im >> bits2) - imax])


def frame_from_lammps(lmp, *, dimension: int | None = None, with_images: bool = True) -> Frame:
    """The current configuration of a live LAMMPS instance as a :class:`Frame`.

    Parameters
    ----------
    lmp : lammps.lammps (or PyLammps)
        A LAMMPS instance whose box and atoms are defined.
    dimension : {None, 2, 3}
        None uses LAMMPS' own ``dimension`` setting; 2 or 3 forces it.
    with_images : bool
        Also copy the image flags (so :meth:`Frame.unwrapped_positions` works).

    Returns
    -------
    Frame
        Positions as held by LAMMPS (wrapped into the box at the last re-neighbouring), types,
        ids, image flags, ``timestep`` = current step, ``source="<lammps>"``. On one MPI rank the
        atoms are in LAMMPS' local storage order; with several ranks they are gathered and sorted
        by id (ids must then be 1..N, as for ``gather_atoms``).
    """
    lmp = _instance(lmp)
    boxlo, boxhi, xy, yz, xz, periodicity, _ = lmp.extract_box()
    dim_l = int(lmp.extract_setting("dimension"))
    dim = dim_l if dimension is None else int(dimension)
    if dim not in (2, 3):
        raise InputError(f"dimension must be 2, 3 or None, got {dimension}", source="<lammps>")
    step = int(lmp.get_thermo("step")) if hasattr(lmp, "get_thermo") else None
    nprocs = int(lmp.extract_setting("world_size"))
    if nprocs == 1:
        n = int(lmp.extract_setting("nlocal"))
        x = np.array(lmp.numpy.extract_atom("x")[:n], dtype=float)
        ids = np.array(lmp.numpy.extract_atom("id")[:n], dtype=np.int64)
        types = np.array(lmp.numpy.extract_atom("type")[:n], dtype=np.int64)
        image = np.array(lmp.numpy.extract_atom("image")[:n]) if with_images else None
    else:  # pragma: no cover - needs an MPI run
        n = int(lmp.get_natoms())
        x = np.ctypeslib.as_array(lmp.gather_atoms("x", 1, 3)).reshape(n, 3).astype(float)
        types = np.ctypeslib.as_array(lmp.gather_atoms("type", 0, 1)).astype(np.int64)
        ids = np.arange(1, n + 1, dtype=np.int64)
        image = np.ctypeslib.as_array(lmp.gather_atoms("image", 0, 1)) if with_images else None
    images = decode_images(image, lmp) if image is not None else None
    periodic = tuple(bool(p) for p in periodicity)
    box = Box.from_lammps(boxlo, boxhi, (xy, xz, yz), dimension=dim, periodic=periodic[:dim])
    if dim == 2:
        object.__setattr__(box, "_lammps_zbounds", (float(boxlo[2]), float(boxhi[2])))
    return Frame(x[:, :dim], types, box, ids=ids, images=None if images is None else images[:, :dim],
                 source="<lammps>", index=0, timestep=step)


def set_per_atom(lmp, name: str, values, ids=None) -> str:
    """Store a per-atom column in a live LAMMPS instance as custom property ``d_<name>``.

    Parameters
    ----------
    lmp : lammps.lammps (or PyLammps)
        The instance.
    name : str
        Property name (letters, digits, underscores). The first call creates it with
        ``fix glassdyn_<name> all property/atom d_<name>`` (or ``d2_<name> k`` for (N, k)
        values); later calls overwrite it.
    values : array_like, shape (N,) or (N, k)
        One value (or row) per atom.
    ids : array_like of int, shape (N,), optional
        Atom ids the rows of ``values`` belong to (e.g. ``frame.ids`` or ``FeatureTable.ids``).
        Without it, rows must follow the current local storage order (the order of
        :func:`frame_from_lammps` with no run in between). With it the assignment is by id,
        which is robust to LAMMPS re-sorting atoms and works on every MPI rank when each
        rank passes the full arrays.

    Returns
    -------
    str
        The LAMMPS name of the property, ``d_<name>`` or ``d2_<name>``, for use in dumps
        (``d2_<name>[1]``...), computes and variables.

    Raises
    ------
    InputError
        Bad name, wrong number of rows, ids that LAMMPS does not hold.
    """
    lmp = _instance(lmp)
    if not _NAME.match(name):
        raise InputError(f"per-atom property name {name!r} must be letters, digits and underscores",
                         source="<lammps>")
    vals = np.asarray(values, dtype=float)
    if vals.ndim not in (1, 2):
        raise InputError(f"values must have shape (N,) or (N, k), got {vals.shape}", source="<lammps>")
    k = 1 if vals.ndim == 1 else vals.shape[1]
    lname = f"d_{name}" if vals.ndim == 1 else f"d2_{name}"
    n = int(lmp.extract_setting("nlocal"))
    existing = None
    try:
        if lmp.extract_atom_datatype(lname) >= 0:
            existing = lmp.numpy.extract_atom(lname)
    except Exception:
        existing = None
    if existing is None:
        spec = lname if vals.ndim == 1 else f"{lname} {k}"
        lmp.command(f"fix glassdyn_{name} all property/atom {spec}")
        existing = lmp.numpy.extract_atom(lname)
        if existing is None and n > 0:  # pragma: no cover
            raise InputError(f"LAMMPS did not create per-atom property {lname}", source="<lammps>")
    if n == 0:
        return lname
    store = existing[:n]
    if vals.ndim == 2 and store.shape[1:] != (k,):
        raise InputError(f"LAMMPS property {lname} has {store.shape[1:]} columns, values have {k}",
                         source="<lammps>")
    local_ids = np.array(lmp.numpy.extract_atom("id")[:n], dtype=np.int64)
    if ids is None:
        if len(vals) != n:
            raise InputError(f"{len(vals)} values for {n} atoms held by LAMMPS; pass ids= to assign by id",
                             source="<lammps>")
        store[...] = vals
        return lname
    ids = np.asarray(ids, dtype=np.int64).reshape(-1)
    if len(ids) != len(vals):
        raise InputError(f"{len(ids)} ids for {len(vals)} values", source="<lammps>")
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    pos = np.searchsorted(sorted_ids, local_ids)
    pos_c = np.minimum(pos, len(sorted_ids) - 1)
    found = sorted_ids[pos_c] == local_ids
    nproc = int(lmp.extract_setting("world_size"))
    if not found.all() and nproc == 1:
        raise InputError(f"no value given for {int((~found).sum())} atoms held by LAMMPS", source="<lammps>",
                         atom_ids=local_ids[~found])
    store[found] = vals[order[pos_c[found]]]
    return lname
