"""Reader of LAMMPS data files (``read_data`` / ``write_data`` format) into a :class:`Frame`.

Only what glassdyn needs is read: the header (atom count, box bounds, tilt factors, or the
general-triclinic ``avec/bvec/cvec/abc origin`` lines) and the ``Atoms`` section (ids, types,
positions, image flags when present; other per-atom columns of the atom style, e.g. ``q`` or
``mol``, become ``frame.properties``). ``Velocities`` and the force-field sections are
ignored. The atom style comes from the ``Atoms # style`` comment written by ``write_data``,
else from the ``atom_style`` argument.

Data files do not record ``dimension 2``; with ``dimension=None`` a file whose z coordinates
are all equal is read as 2D (LAMMPS requires z = 0 in 2D). Data files do not record the
boundary either: the box is taken as periodic.
"""
from __future__ import annotations

import os

import numpy as np

from ..errors import InputError
from ..frame import Box, Frame

__all__ = ["read_data_file", "ATOM_STYLES"]

#: column layout (before the optional three image flags) of the supported atom styles:
#: names of the columns, ``x``/``y``/``z`` marking the positions.
ATOM_STYLES = {
    "atomic": ("id", "type", "x", "y", "z"),
    "charge": ("id", "type", "q", "x", "y", "z"),
    "bond": ("id", "mol", "type", "x", "y", "z"),
    "angle": ("id", "mol", "type", "x", "y", "z"),
    "molecular": ("id", "mol", "type", "x", "y", "z"),
    "full": ("id", "mol", "type", "q", "x", "y", "z"),
    "sphere": ("id", "type", "diameter", "density", "x", "y", "z"),
    "dipole": ("id", "type", "q", "x", "y", "z", "mux", "muy", "muz"),
}

_SECTIONS = {
    "Atoms", "Velocities", "Masses", "Ellipsoids", "Lines", "Triangles", "Bodies", "Bonds", "Angles",
    "Dihedrals", "Impropers", "Pair Coeffs", "PairIJ Coeffs", "Bond Coeffs", "Angle Coeffs",
    "Dihedral Coeffs", "Improper Coeffs", "BondBond Coeffs", "BondAngle Coeffs",
    "MiddleBondTorsion Coeffs", "EndBondTorsion Coeffs", "AngleTorsion Coeffs",
    "AngleAngleTorsion Coeffs", "BondBond13 Coeffs", "AngleAngle Coeffs", "Atom Type Labels",
    "Bond Type Labels", "Angle Type Labels", "Dihedral Type Labels", "Improper Type Labels",
}


def read_data_file(path, *, dimension: int | None = None, atom_style: str = "atomic") -> Frame:
    """Read a LAMMPS data file.

    Parameters
    ----------
    path : str or path-like
        The data file.
    dimension : {None, 2, 3}
        None: 2D when every z coordinate is equal (and there is more than one atom); 2 or 3 forces it.
    atom_style : str
        Atom style to assume when the ``Atoms`` line carries no ``# style`` comment; one of
        :data:`ATOM_STYLES`.

    Returns
    -------
    Frame
        Validated, atoms in file order, ``source=path``, ``index=0``, ``timestep`` from the
        ``timestep = N`` note of ``write_data`` headers when present.

    Raises
    ------
    InputError
        Missing file, box or ``Atoms`` section, truncated ``Atoms`` section, unknown atom style,
        NaN coordinates, duplicate ids (the message names the file and atom ids).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError("no such LAMMPS data file", source=path)
    with open(path, "r", encoding="utf-8", errors="replace") as fh:
        lines = fh.read().splitlines()

    def err(msg, ids=None):
        return InputError(msg, source=path, frame=0, atom_ids=ids)

    timestep = None
    first = lines[0] if lines else ""
    if "timestep =" in first:
        try:
            timestep = int(first.split("timestep =")[1].split(",")[0])
        except ValueError:
            timestep = None
    natoms = None
    lo = [None, None, None]
    hi = [None, None, None]
    tilt = (0.0, 0.0, 0.0)
    gvec = {}
    k = 1
    # header: until the first section keyword
    while k < len(lines):
        raw = lines[k].split("#")[0].strip()
        if raw in _SECTIONS or raw.split("#")[0].strip() in _SECTIONS:
            break
        toks = raw.split()
        k += 1
        if not toks:
            continue
        try:
            if toks[-1] == "atoms" and len(toks) == 2:
                natoms = int(toks[0])
            elif toks[-2:] in (["xlo", "xhi"], ["ylo", "yhi"], ["zlo", "zhi"]):
                a = "xyz".index(toks[-2][0])
                lo[a], hi[a] = float(toks[0]), float(toks[1])
            elif toks[-3:] == ["xy", "xz", "yz"]:
                tilt = (float(toks[0]), float(toks[1]), float(toks[2]))
            elif toks[-1] in ("avec", "bvec", "cvec"):
                gvec[toks[-1]] = [float(t) for t in toks[:3]]
            elif toks[-2:] == ["abc", "origin"]:
                gvec["origin"] = [float(t) for t in toks[:3]]
        except (ValueError, IndexError):
            raise err(f"cannot parse header line {lines[k - 1]!r}") from None
    if natoms is None:
        raise err("the header has no 'N atoms' line; is this a LAMMPS data file?")
    general = len(gvec) == 4
    if not general and any(v is None for v in lo + hi):
        raise err("the header does not define the box (missing 'xlo xhi', 'ylo yhi' or 'zlo zhi' line)")
    if natoms == 0:
        raise err("the data file holds no atoms (0 atoms)")

    # Atoms section
    start = None
    style = atom_style
    for m in range(k, len(lines)):
        head = lines[m].split("#")
        if head[0].strip() == "Atoms":
            start = m + 1
            if len(head) > 1 and head[1].strip():
                style = head[1].strip().split()[0]
            break
    if start is None:
        raise err("no 'Atoms' section")
    if style not in ATOM_STYLES:
        raise err(f"atom style '{style}' is not supported (supported: {', '.join(ATOM_STYLES)})")
    layout = ATOM_STYLES[style]
    body = []
    m = start
    while m < len(lines) and len(body) < natoms:
        s = lines[m].split("#")[0].strip()
        m += 1
        if not s:
            continue
        if s in _SECTIONS:
            break
        body.append(s)
    if len(body) < natoms:
        raise err(f"the Atoms section is truncated: the header says {natoms} atoms but only {len(body)} "
                  "atom line(s) follow")
    text = "\n".join(body)
    toks = text.split()
    ncol = len(body[0].split())
    if ncol not in (len(layout), len(layout) + 3) or len(toks) != ncol * natoms:
        bad = next((i for i, b in enumerate(body) if len(b.split()) != ncol), 0)
        raise err(f"Atoms line {bad + 1} ({body[bad][:60]!r}) does not match atom style '{style}' "
                  f"(expected {len(layout)} or {len(layout) + 3} columns: {' '.join(layout)} [ix iy iz])")
    try:
        table = np.array(toks, dtype=np.float64).reshape(natoms, ncol)
    except ValueError:
        raise err(f"the Atoms section holds non-numeric values (type labels are not supported); atom style "
                  f"'{style}'") from None
    col = {name: table[:, i] for i, name in enumerate(layout)}
    ids = col["id"].astype(np.int64)
    types = col["type"].astype(np.int64)
    pos = np.column_stack([col["x"], col["y"], col["z"]])
    images = table[:, len(layout):].astype(np.int64) if ncol == len(layout) + 3 else None

    if dimension is None:
        z = pos[:, 2]
        dim = 2 if (np.all(np.isfinite(z)) and np.ptp(z) == 0.0 and natoms > 1) else 3
    else:
        dim = int(dimension)
        if dim not in (2, 3):
            raise err(f"dimension must be 2, 3 or None, got {dimension}")
    if general:
        m3 = np.array([gvec["avec"], gvec["bvec"], gvec["cvec"]], dtype=float)
        o3 = np.array(gvec["origin"], dtype=float)
        box = Box(m3[:dim, :dim], o3[:dim])
        zb = (o3[2], o3[2] + m3[2, 2])
    else:
        box = Box.from_lammps(lo, hi, tilt, dimension=dim)
        zb = (lo[2], hi[2])
    if dim == 2:
        object.__setattr__(box, "_lammps_zbounds", (float(zb[0]), float(zb[1])))
    props = {name: col[name] for name in layout if name not in ("id", "type", "x", "y", "z")}
    frame = Frame(pos[:, :dim], types, box, ids=ids, images=None if images is None else images[:, :dim],
                  properties=props, source=path, index=0, timestep=timestep, validate=False)
    try:
        frame.check()
    except InputError as e:
        raise InputError(e.detail, source=path, frame=0, atom_ids=e.atom_ids) from None
    return frame
