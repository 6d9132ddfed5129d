"""Native reader and writer of LAMMPS text dumps (``dump custom`` / ``dump atom``).

Reading
-------
:func:`iter_dump` yields one :class:`~glassdyn.frame.Frame` per selected snapshot,
:func:`read_dump` returns one, :func:`count_frames` counts them. The file is indexed once by
scanning for ``ITEM: TIMESTEP`` (a memory map and ``bytes.find``; the index is cached per
file, size and modification time), so reading frame 5000 of a long trajectory does not parse
the 4999 before it. A frame's atom block is parsed in one call (pandas' C parser when pandas
is installed, else one ``bytes.split`` + ``numpy`` conversion), never line by line in Python.

Understood items: ``ITEM: TIMESTEP``, ``ITEM: NUMBER OF ATOMS``, ``ITEM: BOX BOUNDS`` in the
orthogonal form (``pp pp pp``), the restricted triclinic form (``xy xz yz pp pp pp``, bounding
box converted to the parallelepiped as in the LAMMPS ``dump`` documentation) and the general
triclinic form (``abc origin``), ``ITEM: ATOMS <columns>``; other items (``TIME``, ``UNITS``)
are skipped. Compressed dumps (``*.gz``, ``*.bz2``, ``*.xz``; LAMMPS writes ``.gz``, MDAnalysis
ships ``.bz2`` test files) are decompressed into memory first. Windows line ends are accepted.

Atom columns:

==========================  ==================================================================
``id``, ``type``            atom ids and (1-based) types; ``id`` is required. A dump without
                            ``type`` (e.g. ``dump custom ... id x y z q``) is read as one
                            species: every atom gets type 1 and a :class:`SingleSpeciesWarning`
                            names the file (descriptors and potentials that need several
                            species then refuse the data with their own message)
``x y z``                   positions (kept as written, possibly slightly outside the cell)
``xs ys zs``                scaled (fractional) positions -> Cartesian ``positions``
``xu yu zu``                unwrapped positions -> ``unwrapped`` (and, wrapped into the cell,
                            ``positions`` when no ``x``/``xs`` column is present)
``xsu ysu zsu``             scaled unwrapped -> ``unwrapped`` (same rule)
``ix iy iz``                image flags -> ``images``
anything else               ``frame.properties[name]`` as written (``c_pe``, ``v_foo``,
                            ``f_x[1]``...), float64 (strings stay strings, e.g. ``element``)
==========================  ==================================================================

A 2D simulation writes ``z = 0`` for every atom: with ``dimension=None`` a frame whose z
coordinates are all equal (or that has no z column) is read as 2D (positions of shape (N, 2)).
Pass ``dimension=2`` or ``3`` to force it. The z bounds of a 2D dump are remembered on the
frame's box so that :func:`write_dump` writes them back.

Writing
-------
:func:`write_dump` writes ``id type x y z`` (+ ``xu yu zu`` when the frame holds unwrapped
coordinates, + ``ix iy iz`` when it holds image flags) and every per-atom property, with full
float precision, to a temporary file in the target folder that is renamed over the target
only when complete, so an interrupted write never leaves a half-written dump. ``append=True``
opens the existing file in append mode instead of copying it (an interrupted append can leave
a cut-off last frame, reported as truncated; every earlier frame stays readable). 2D frames are written with ``z = 0`` and
a z range so that LAMMPS, OVITO and MDAnalysis read them.
"""
from __future__ import annotations

import gzip
import io
import mmap
import os
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Sequence

import numpy as np

from .._atomic import atomic_path
from ..errors import InputError
from ..frame import Box, Frame

__all__ = ["iter_dump", "read_dump", "count_frames", "write_dump", "dump_timesteps", "dump_columns",
           "box_origins", "is_dump_file", "select_frames", "frame_offsets", "DEFAULT_Z_BOUNDS",
           "COMPRESSED_SUFFIXES", "SingleSpeciesWarning", "open_dump"]

#: File name endings read as compressed dumps (decompressed into memory).
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz")


class SingleSpeciesWarning(UserWarning):
    """A dump (or OVITO / MDAnalysis data) without atom types was read as one species (type 1)."""


def _opener(path: str):
    """The ``open`` function for ``path``: gzip, bz2 or lzma by the name's ending, else ``open``."""
    p = str(path)
    if p.endswith(".gz"):
        return gzip.open
    if p.endswith(".bz2"):
        import bz2
        return bz2.open
    if p.endswith(".xz"):
        import lzma
        return lzma.open
    return open


def _decompress_errors() -> tuple:
    """Exceptions a damaged compressed file raises while read (gzip, bz2 and lzma ones)."""
    errors = [OSError, EOFError, ValueError]
    try:
        import lzma
        errors.append(lzma.LZMAError)
    except ImportError:  # pragma: no cover - Python built without lzma
        pass
    return tuple(errors)


def open_dump(path):
    """Open a (possibly compressed) dump for binary reading (gzip, bz2 or xz by the name's ending).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    file object
        Binary, read-only; close it (or use it in a ``with`` block).
    """
    return _opener(os.fspath(path))(os.fspath(path), "rb")

#: z range written for 2D frames that did not come with one (LAMMPS convention for 2D boxes).
DEFAULT_Z_BOUNDS = (-0.5, 0.5)

_TIMESTEP = b"ITEM: TIMESTEP"
_COORD_SETS = {
    "wrapped": ("x", "y", "z"),
    "scaled": ("xs", "ys", "zs"),
    "unwrapped": ("xu", "yu", "zu"),
    "scaled_unwrapped": ("xsu", "ysu", "zsu"),
    "images": ("ix", "iy", "iz"),
}
_RESERVED = {"id", "type"} | {c for cols in _COORD_SETS.values() for c in cols}


# ---------------------------------------------------------------------------------------------
# file access and frame index
# ---------------------------------------------------------------------------------------------
class _Buffer:
    """Read-only bytes-like view of a dump file (memory map, or bytes for compressed / empty files)."""

    def __init__(self, path: str):
        self.path = path
        self._file = None
        self._map = None
        if str(path).endswith(COMPRESSED_SUFFIXES):
            self.data = _decompressed(str(path))
            return
        self._file = open(path, "rb")
        size = os.fstat(self._file.fileno()).st_size
        if size == 0:
            self.data = b""
        else:
            self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
            self.data = self._map

    def __len__(self):
        return len(self.data)

    def close(self):
        if self._map is not None:
            self._map.close()
        if self._file is not None:
            self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


#: the most recently decompressed dump (key, bytes): indexing a compressed file and then reading its
#: frames (or reading its headers for the MDAnalysis adapter) decompresses it once, not each time.
#: One file at most, and only up to ``_DECOMPRESSED_MAX`` bytes, so the memory held stays bounded.
_DECOMPRESSED: list = [None, b""]
_DECOMPRESSED_MAX = 64 * 2 ** 20


def _decompressed(path: str) -> bytes:
    """The decompressed content of a ``.gz``/``.bz2``/``.xz`` dump (the last one is kept, see above)."""
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    if _DECOMPRESSED[0] == key:
        return _DECOMPRESSED[1]
    try:
        with open_dump(path) as fh:
            data = fh.read()
    except _decompress_errors() as exc:  # gzip.BadGzipFile, bz2's OSError, lzma.LZMAError
        raise InputError(f"cannot decompress the file ({exc}); is it a complete "
                         f"{os.path.splitext(path)[1]} archive of a LAMMPS text dump?", source=path) from None
    _DECOMPRESSED[0], _DECOMPRESSED[1] = (key, data) if len(data) <= _DECOMPRESSED_MAX else (None, b"")
    return data


_INDEX_CACHE: "OrderedDict[tuple, np.ndarray]" = OrderedDict()
_INDEX_CACHE_SIZE = 64


def _check_exists(path) -> str:
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError("no such dump file", source=path)
    if os.path.isdir(path):
        raise InputError("is a directory, not a LAMMPS dump file", source=path)
    return path


def _scan_offsets(data) -> np.ndarray:
    offsets = []
    find = data.find
    pos = find(_TIMESTEP, 0)
    while pos >= 0:
        if pos == 0 or data[pos - 1:pos] == b"\n":
            offsets.append(pos)
        pos = find(_TIMESTEP, pos + len(_TIMESTEP))
    return np.asarray(offsets, dtype=np.int64)


def frame_offsets(path) -> np.ndarray:
    """Byte offsets of the ``ITEM: TIMESTEP`` line of every frame of a dump (cached).

    Parameters
    ----------
    path : str or path-like
        LAMMPS text dump (optionally ``.gz``; offsets then refer to the decompressed text).

    Returns
    -------
    ndarray of int64, shape (n_frames,)
    """
    path = _check_exists(path)
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    hit = _INDEX_CACHE.get(key)
    if hit is not None:
        _INDEX_CACHE.move_to_end(key)
        return hit
    with _Buffer(path) as buf:
        offsets = _scan_offsets(buf.data)
    _INDEX_CACHE[key] = offsets
    while len(_INDEX_CACHE) > _INDEX_CACHE_SIZE:
        _INDEX_CACHE.popitem(last=False)
    return offsets


def count_frames(path) -> int:
    """Number of frames (``ITEM: TIMESTEP`` blocks) in a LAMMPS dump; fast (no parsing).

    A frame whose header or atom block is cut off at the end of the file still counts; reading
    it raises :class:`~glassdyn.errors.InputError`.
    """
    return int(len(frame_offsets(path)))


def select_frames(frames, n: int, path: str) -> list[int]:
    """Indices (0-based, ascending as given) selected by ``frames`` among ``n`` frames of ``path``.

    ``frames``: None (all), an int (negative counts from the end), a slice or a list of ints;
    an index out of range is an :class:`~glassdyn.errors.InputError` naming the file.
    """
    if frames is None:
        return list(range(n))
    if isinstance(frames, slice):
        return list(range(n)[frames])
    if isinstance(frames, (int, np.integer)):
        frames = [int(frames)]
    out = []
    for f in frames:
        f = int(f)
        g = f + n if f < 0 else f
        if not 0 <= g < n:
            raise InputError(f"frame index {f} is out of range: the dump holds {n} frame(s) "
                             f"(valid indices 0..{n - 1} or negative from the end)", source=path)
        out.append(g)
    return out


def is_dump_file(path) -> bool:
    """True if ``path`` is a LAMMPS text dump: a compressed file (``.gz``, ``.bz2``, ``.xz``), or
    first non-blank line ``ITEM: ...``."""
    path = os.fspath(path)
    if path.endswith(COMPRESSED_SUFFIXES):
        return True
    with open(path, "rb") as fh:
        return fh.read(4096).lstrip().startswith(b"ITEM:")


def dump_columns(path) -> list[str]:
    """Names of the per-atom columns (``ITEM: ATOMS id type x y ...``) of the first frame of a dump.

    Reads only the head of the file (decompressed for ``.gz``, ``.bz2``, ``.xz``); an empty list when
    the head holds no ``ITEM: ATOMS`` line.
    """
    path = _check_exists(path)
    try:
        with open_dump(path) as fh:
            head = fh.read(1 << 16)
    except _decompress_errors() as exc:
        raise InputError(f"cannot read the head of the file ({exc})", source=path) from None
    at = head.find(b"ITEM: ATOMS")
    if at < 0:
        return []
    end = head.find(b"\n", at)
    return head[at:end if end >= 0 else len(head)].decode("utf-8", "replace").split()[2:]


def box_origins(path, frames: Sequence[int]) -> list[np.ndarray]:
    """Lower box corner ``(xlo, ylo, zlo)`` of the given frames of a dump (headers only, shape (3,) each)."""
    path = _check_exists(path)
    offs = frame_offsets(path)
    out = []
    with _Buffer(path) as buf:
        for k in select_frames(list(frames), len(offs), path):
            end = int(offs[k + 1]) if k + 1 < len(offs) else len(buf)
            at = buf.data.find(b"ITEM: ATOMS", int(offs[k]), end)
            hdr = _parse_header(bytes(buf.data[int(offs[k]):at if at > 0 else end]).decode(), path, k)
            _, origin, _, _ = _box_from_header(hdr, path, k, hdr.get("timestep"))
            out.append(np.asarray(origin, dtype=float))
    return out


# ---------------------------------------------------------------------------------------------
# parsing one frame
# ---------------------------------------------------------------------------------------------
def _error(path, index, timestep, message, atom_ids=None) -> InputError:
    where = f" (timestep {timestep})" if timestep is not None else ""
    return InputError(message + where, source=path, frame=index, atom_ids=atom_ids)


def _parse_header(text: str, path, index):
    """Parse the header lines (everything before ``ITEM: ATOMS``) into a dict."""
    lines = text.splitlines()
    out = {}
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line:
            continue
        if not line.startswith("ITEM:"):
            raise _error(path, index, out.get("timestep"),
                         f"unexpected line {line[:60]!r} in the frame header; is this a LAMMPS text dump?")
        name = line[5:].strip()
        values = []
        while i < len(lines) and not lines[i].lstrip().startswith("ITEM:"):
            if lines[i].strip():
                values.append(lines[i].strip())
            i += 1
        if name == "TIMESTEP":
            try:
                out["timestep"] = int(float(values[0].split()[0]))
            except (IndexError, ValueError):
                raise _error(path, index, None, "the TIMESTEP item has no valid value; "
                             "the header is cut off or corrupt") from None
        elif name.startswith("NUMBER OF ATOMS"):
            try:
                out["natoms"] = int(values[0].split()[0])
            except (IndexError, ValueError):
                raise _error(path, index, out.get("timestep"), "the NUMBER OF ATOMS item has no valid "
                             "value; the header is cut off or corrupt") from None
        elif name.startswith("BOX BOUNDS"):
            out["box_flags"] = name.split()[2:]
            out["box_lines"] = values
    return out


def _box_from_header(hdr: dict, path, index, timestep):
    """Return (Box3D-parameters) as (matrix 3x3, origin 3, periodic tuple 3)."""
    if "box_lines" not in hdr:
        raise _error(path, index, timestep, "the frame has no 'ITEM: BOX BOUNDS' section (missing box); "
                     "write the dump with LAMMPS 'dump custom' (which always writes the box)")
    flags = hdr["box_flags"]
    try:
        rows = [[float(v) for v in line.split()] for line in hdr["box_lines"]]
    except ValueError:
        raise _error(path, index, timestep, f"the BOX BOUNDS lines {hdr['box_lines']} are not numbers") from None
    general = len(flags) >= 2 and flags[0] == "abc" and flags[1] == "origin"
    triclinic = len(flags) >= 3 and flags[:3] == ["xy", "xz", "yz"]
    bflags = flags[2:] if general else flags[3:] if triclinic else flags
    need = 4 if general else 3 if triclinic else 2
    if len(rows) < 3 or any(len(r) < need for r in rows[:3]):
        raise _error(path, index, timestep, f"the BOX BOUNDS section is incomplete ({len(rows)} line(s): "
                     f"{hdr['box_lines']}); the header is cut off or corrupt")
    periodic = tuple(b == "pp" for b in bflags[:3]) if len(bflags) >= 3 else (True, True, True)
    if general:
        matrix = np.array([r[:3] for r in rows[:3]], dtype=float)
        origin = np.array([r[3] for r in rows[:3]], dtype=float)
        return matrix, origin, periodic, bflags
    if triclinic:
        (xlob, xhib, xy), (ylob, yhib, xz), (zlo, zhi, yz) = (r[:3] for r in rows[:3])
        xlo = xlob - min(0.0, xy, xz, xy + xz)
        xhi = xhib - max(0.0, xy, xz, xy + xz)
        ylo = ylob - min(0.0, yz)
        yhi = yhib - max(0.0, yz)
    else:
        (xlo, xhi), (ylo, yhi), (zlo, zhi) = (r[:2] for r in rows[:3])
        xy = xz = yz = 0.0
    matrix = np.array([[xhi - xlo, 0, 0], [xy, yhi - ylo, 0], [xz, yz, zhi - zlo]], dtype=float)
    return matrix, np.array([xlo, ylo, zlo]), periodic, bflags


def _parse_atoms_fast(block: bytes, ncol: int):
    """Pandas C parser; returns a float (N, ncol) array or None when anything looks odd."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is optional
        return None
    try:
        df = pd.read_csv(io.BytesIO(block), sep=r"\s+", header=None, engine="c",
                         skip_blank_lines=True, dtype=np.float64, na_filter=True)
    except Exception:  # ragged rows, strings in a column, ...: let the exact path explain
        return None
    arr = df.to_numpy(dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != ncol:
        return None
    if not np.isfinite(arr).all():
        return None  # real NaN, or a missing trailing field filled with NaN: re-check exactly
    return arr


def _parse_atoms_exact(block: bytes, ncol: int, natoms: int, cols, path, index, timestep, at_eof):
    """Token-exact parse; gives precise errors. Returns a list of per-column arrays."""
    lines = [ln.split() for ln in block.split(b"\n")]
    lines = [ln for ln in lines if ln]
    complete = [ln for ln in lines if len(ln) == ncol]
    bad = [k for k, ln in enumerate(lines) if len(ln) != ncol]
    id_col = cols.index("id") if "id" in cols else None

    def last_id():
        if id_col is None or not complete:
            return None
        try:
            return [int(float(complete[-1][id_col]))]
        except ValueError:
            return None

    if bad:
        k = bad[0]
        if k == len(lines) - 1 and len(lines) <= natoms:
            raise _error(path, index, timestep,
                         f"the dump is truncated: NUMBER OF ATOMS is {natoms} but only {len(complete)} complete "
                         f"atom line(s) follow and the last one is cut after {len(lines[k])} of {ncol} columns "
                         "(the file was cut while being written?); the last complete atom is given; read "
                         "only the complete frames (frames=slice(0, -1))", last_id())
        raise _error(path, index, timestep,
                     f"atom line {k + 1} of the frame has {len(lines[k])} values but the ATOMS header names "
                     f"{ncol} columns ({' '.join(cols)})")
    if len(lines) < natoms:
        raise _error(path, index, timestep,
                     f"the dump is truncated: NUMBER OF ATOMS is {natoms} but only {len(lines)} atom line(s) "
                     f"follow{' before the end of the file' if at_eof else ''}; the last atom read is given; "
                     "read only the complete frames (frames=slice(0, -1)) or regenerate the dump", last_id())
    if len(lines) > natoms:
        raise _error(path, index, timestep,
                     f"the frame has {len(lines)} atom lines but NUMBER OF ATOMS is {natoms}; the dump is corrupt")
    table = np.array(lines, dtype=object).reshape(natoms, ncol) if natoms else np.empty((0, ncol), object)
    out = []
    for c in range(ncol):
        raw = table[:, c].astype(bytes)
        try:
            out.append(raw.astype(np.float64))
        except ValueError:
            out.append(np.char.decode(raw, "utf-8"))
    return out


def _parse_frame(data, start: int, end: int, path: str, index: int, dimension):
    try:
        return _parse_frame_unchecked(data, start, end, path, index, dimension)
    except InputError:
        raise
    except (ValueError, IndexError, KeyError) as exc:
        # Garbage inside a frame (e.g. two processes wrote the same file): name the place.
        raise InputError(f"the frame is corrupt and cannot be parsed ({exc}); regenerate the dump",
                         source=path, frame=index) from None


def _parse_frame_unchecked(data, start: int, end: int, path: str, index: int, dimension):
    atoms_at = data.find(b"ITEM: ATOMS", start, end)
    if atoms_at < 0:
        hdr = _parse_header(bytes(data[start:end]).decode("utf-8", "replace"), path, index)
        ts = hdr.get("timestep")
        raise _error(path, index, ts, "the frame header is cut off (no 'ITEM: ATOMS' line follows "
                     "'ITEM: TIMESTEP'); the dump is truncated or corrupt: read only the complete frames "
                     "(frames=slice(0, -1))")
    hdr = _parse_header(bytes(data[start:atoms_at]).decode("utf-8", "replace"), path, index)
    ts = hdr.get("timestep")
    if "natoms" not in hdr:
        raise _error(path, index, ts, "the frame has no 'ITEM: NUMBER OF ATOMS' item; the dump is corrupt")
    natoms = hdr["natoms"]
    line_end = data.find(b"\n", atoms_at, end)
    if line_end < 0:
        line_end = end
    cols = bytes(data[atoms_at:line_end]).decode("utf-8", "replace").split()[2:]
    matrix, origin, periodic, bflags = _box_from_header(hdr, path, index, ts)
    if natoms == 0:
        raise _error(path, index, ts, "the frame holds no atoms (NUMBER OF ATOMS is 0)")
    if "id" not in cols:
        missing = [c for c in ("id", "type") if c not in cols]
        raise _error(path, index, ts, f"the dump has no {' and no '.join(repr(m) for m in missing)} column "
                     f"(columns: {' '.join(cols) or 'none'}); dump with 'dump custom ... id type x y z'")
    single_species = "type" not in cols
    have = {k: [c for c in v if c in cols] for k, v in _COORD_SETS.items()}
    if not any(len(have[k]) >= 2 and have[k][:2] == list(_COORD_SETS[k][:2])
               for k in ("wrapped", "scaled", "unwrapped", "scaled_unwrapped")):
        raise _error(path, index, ts, f"the dump has no position columns (columns: {' '.join(cols)}); "
                     "dump 'x y z', 'xs ys zs', 'xu yu zu' or 'xsu ysu zsu'")
    if len(set(cols)) != len(cols):
        dup = sorted({c for c in cols if cols.count(c) > 1})
        raise _error(path, index, ts, f"the ATOMS header repeats column(s) {dup}")

    block_end = data.find(b"ITEM:", line_end, end)
    if block_end < 0:
        block_end = end
    block = bytes(data[line_end + 1:block_end])
    at_eof = end >= len(data)
    ncol = len(cols)
    arr = _parse_atoms_fast(block, ncol)
    if arr is not None and arr.shape[0] == natoms:
        columns = {c: arr[:, k] for k, c in enumerate(cols)}
    else:
        parsed = _parse_atoms_exact(block, ncol, natoms, cols, path, index, ts, at_eof)
        columns = dict(zip(cols, parsed))
    if single_species:
        warnings.warn(f"{path}: the dump has no 'type' column (columns: {' '.join(cols)}); every atom is read "
                      "as type 1 (one species). Dump 'id type ...' for a mixture", SingleSpeciesWarning,
                      stacklevel=4)
        columns["type"] = np.ones(natoms)

    for c in ("id", "type"):
        if columns[c].dtype.kind not in "fiu":
            if c == "type":
                labels, inverse = np.unique(columns[c], return_inverse=True)
                columns["type"] = (inverse + 1).astype(np.float64)
                columns["type_label"] = np.asarray(labels)[inverse]
            else:
                raise _error(path, index, ts, "the 'id' column holds non-numeric values")
    ids = columns["id"]
    if not np.all(np.isfinite(ids)) or np.any(ids != np.round(ids)):
        raise _error(path, index, ts, "the 'id' column holds non-integer values")
    ids = ids.astype(np.int64)
    types = columns["type"]
    bad_t = ~np.isfinite(types) | (types != np.round(types))
    if bad_t.any():
        raise _error(path, index, ts, "atom types must be integers", ids[bad_t])
    types = types.astype(np.int64)

    def stack(kind):
        names = have[kind]
        if len(names) < 2 or names[:2] != list(_COORD_SETS[kind][:2]):
            return None
        return np.column_stack([columns[c].astype(np.float64) for c in names])

    # positions in Cartesian coordinates, 3 columns if the dump has z
    wrapped = stack("wrapped")
    scaled = stack("scaled")
    unwrapped = stack("unwrapped")
    scaled_u = stack("scaled_unwrapped")
    images = stack("images")

    # dimension detection (once, here): z missing, or all z equal -> 2D
    zsource = next((a for a in (wrapped, scaled, unwrapped, scaled_u) if a is not None))
    if dimension is None:
        if zsource.shape[1] < 3:
            dim = 2
        else:
            z = zsource[:, 2]
            dim = 2 if (np.all(np.isfinite(z)) and np.ptp(z) == 0.0 and natoms > 1) else 3
    else:
        dim = int(dimension)
        if dim not in (2, 3):
            raise InputError(f"dimension must be 2, 3 or None, got {dimension}", source=path, frame=index)
    if dim == 3 and zsource.shape[1] < 3:
        raise _error(path, index, ts, "dimension=3 was requested but the dump has no z column")
    if dim == 2:
        bper = periodic[:2]
    else:
        bper = periodic
    if not all(bper):
        axes = "xyz"[:dim]
        desc = " ".join(f"{a}:{b}" for a, b in zip(axes, bflags[:dim])) if len(bflags) >= dim else str(bper)
        raise _error(path, index, ts, f"the box is not periodic in every direction (boundaries {desc}); "
                     "glassdyn's descriptors need periodic boundaries: run LAMMPS with 'boundary p p p' "
                     "(or 'p p p' with 'dimension 2')")
    box = Box(matrix[:dim, :dim], origin[:dim], bper)
    if dim == 2:
        object.__setattr__(box, "_lammps_zbounds", (float(origin[2]), float(origin[2] + matrix[2, 2])))

    def to_cart(frac3):
        f = frac3[:, :dim]
        return box.to_cartesian(f)

    def cut(a):
        return None if a is None else np.ascontiguousarray(a[:, :dim])

    if scaled is not None:
        scaled = to_cart(scaled)
    if scaled_u is not None:
        scaled_u = to_cart(scaled_u)
    unw = cut(unwrapped) if unwrapped is not None else scaled_u
    pos = cut(wrapped) if wrapped is not None else scaled
    if pos is None:
        bad = ~np.all(np.isfinite(unw), axis=1)
        if bad.any():
            raise _error(path, index, ts, f"{int(bad.sum())} atoms have NaN or infinite coordinates", ids[bad])
        pos = box.wrap(unw)
    consumed = set()
    for kind in _COORD_SETS:
        consumed.update(have[kind])
    props = {c: columns[c] for c in cols if c not in consumed and c not in ("id", "type")}
    if "type_label" in columns and "type_label" not in cols:
        props["type_label"] = columns["type_label"]

    frame = Frame(pos, types, box, ids=ids, unwrapped=unw, images=cut(images), properties=props,
                  source=path, index=index, timestep=ts, validate=False)
    try:
        frame.check()
    except InputError as e:
        raise _error(path, index, ts, e.detail, e.atom_ids) from None
    return frame


# ---------------------------------------------------------------------------------------------
# public reading API
# ---------------------------------------------------------------------------------------------
def iter_dump(path, frames=None, *, dimension: int | None = None) -> Iterator[Frame]:
    """Iterate over the frames of a LAMMPS text dump.

    Parameters
    ----------
    path : str or path-like
        The dump file (``.gz`` accepted).
    frames : None, int, slice or sequence of int
        Which frames (0-based, negative from the end): all by default.
    dimension : {None, 2, 3}
        None detects 2D when every z coordinate of a frame is equal (LAMMPS writes ``z = 0`` in
        2D) or when there is no z column; 2 or 3 forces it.

    Yields
    ------
    Frame
        Validated frames with ``source=path``, ``index`` (position in the file) and ``timestep``;
        atoms in file order (use :meth:`Frame.sorted_by_id` to sort).

    Raises
    ------
    InputError
        Missing file, missing box, non-periodic boundaries, NaN/inf coordinates, duplicate ids,
        empty or truncated frame, missing id/type/position columns; the message names the file,
        the frame (index and timestep) and the atom ids at fault.
    """
    path = _check_exists(path)
    offsets = frame_offsets(path)
    if len(offsets) == 0:
        with _Buffer(path) as buf:
            empty = len(buf) == 0 or not bytes(buf.data[:4096]).strip()
        raise InputError("the file is empty" if empty else
                         "no 'ITEM: TIMESTEP' line found: this is not a LAMMPS text dump", source=path)
    selected = select_frames(frames, len(offsets), path)
    # checks above run at call time; parsing runs lazily, frame by frame
    return _iter_selected(path, offsets, selected, dimension)


def _iter_selected(path, offsets, selected, dimension) -> Iterator[Frame]:
    buf = _Buffer(path)
    try:
        for k in selected:
            start = int(offsets[k])
            end = int(offsets[k + 1]) if k + 1 < len(offsets) else len(buf)
            yield _parse_frame(buf.data, start, end, path, k, dimension)
    finally:
        buf.close()


def read_dump(path, index: int = 0, *, dimension: int | None = None) -> Frame:
    """Read one frame of a LAMMPS text dump (see :func:`iter_dump`); ``index`` may be negative."""
    return next(iter_dump(path, [index], dimension=dimension))


def dump_timesteps(path) -> np.ndarray:
    """Timesteps of every frame of a dump, shape (n_frames,), reading only the headers."""
    path = _check_exists(path)
    offsets = frame_offsets(path)
    out = np.empty(len(offsets), dtype=np.int64)
    with _Buffer(path) as buf:
        for k, off in enumerate(offsets):
            eol = buf.data.find(b"\n", int(off))
            eol2 = buf.data.find(b"\n", eol + 1)
            try:
                out[k] = int(float(bytes(buf.data[eol + 1:eol2 if eol2 > 0 else len(buf)]).split()[0]))
            except (ValueError, IndexError):
                raise InputError("the TIMESTEP item has no valid value", source=path, frame=k) from None
    return out


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------
def _restricted(box: Box):
    """LAMMPS restricted-triclinic parameters of ``box`` and the rotation to apply to positions.

    Returns (lo (3,), hi (3,), tilt (xy, xz, yz), rotation (d, d) or None).
    """
    d = box.dimension
    m = box.matrix
    rot = None
    if np.any(np.triu(m, 1) != 0.0):
        # general cell: rotate so that a is along x and b in the xy plane (A Q lower triangular)
        q, u = np.linalg.qr(m.T)
        s = np.sign(np.diag(u))
        s[s == 0] = 1.0
        q = q * s
        rot = q
        m = m @ q
        m[np.abs(m) < 1e-14 * np.abs(m).max()] = 0.0
        m = np.tril(m)
    o = box.origin
    if d == 2:
        zlo, zhi = getattr(box, "_lammps_zbounds", DEFAULT_Z_BOUNDS)
        lo = np.array([o[0], o[1], zlo])
        hi = np.array([o[0] + m[0, 0], o[1] + m[1, 1], zhi])
        tilt = (m[1, 0], 0.0, 0.0)
    else:
        lo = np.array(o, dtype=float)
        hi = lo + np.diag(m)
        tilt = (m[1, 0], m[2, 0], m[2, 1])
    return lo, hi, tilt, rot


def _header(frame: Frame, timestep: int, colnames: list[str]) -> str:
    lo, hi, (xy, xz, yz), _ = _restricted(frame.box)
    lines = ["ITEM: TIMESTEP", str(int(timestep)), "ITEM: NUMBER OF ATOMS", str(frame.n_atoms)]
    f = "%.17g"
    if xy == 0.0 and xz == 0.0 and yz == 0.0:
        lines.append("ITEM: BOX BOUNDS pp pp pp")
        for k in range(3):
            lines.append(f"{f % lo[k]} {f % hi[k]}")
    else:
        lines.append("ITEM: BOX BOUNDS xy xz yz pp pp pp")
        xlob = lo[0] + min(0.0, xy, xz, xy + xz)
        xhib = hi[0] + max(0.0, xy, xz, xy + xz)
        ylob = lo[1] + min(0.0, yz)
        yhib = hi[1] + max(0.0, yz)
        lines.append(f"{f % xlob} {f % xhib} {f % xy}")
        lines.append(f"{f % ylob} {f % yhib} {f % xz}")
        lines.append(f"{f % lo[2]} {f % hi[2]} {f % yz}")
    lines.append("ITEM: ATOMS " + " ".join(colnames))
    return "\n".join(lines) + "\n"


def _frame_columns(frame: Frame, columns, float_format: str):
    """Column names, per-column arrays and per-column formats for one frame."""
    n, d = frame.n_atoms, frame.dimension
    _, _, _, rot = _restricted(frame.box)

    def rotate(p, origin=True):
        if rot is None:
            return p
        o = frame.box.origin
        return (p - o) @ rot + o if origin else p @ rot

    names, arrays, fmts = ["id", "type"], [frame.ids, frame.types], ["%d", "%d"]
    pos = rotate(frame.positions)
    zero = np.zeros(n)
    for k, c in enumerate("xyz"):
        names.append(c)
        arrays.append(pos[:, k] if k < d else zero)
        fmts.append(float_format)
    if frame.unwrapped is not None:
        unw = rotate(frame.unwrapped)
        for k, c in enumerate(("xu", "yu", "zu")):
            names.append(c)
            arrays.append(unw[:, k] if k < d else zero)
            fmts.append(float_format)
    if frame.images is not None:
        if rot is not None:
            raise InputError("cannot write image flags of a frame whose cell is not in LAMMPS' restricted "
                             "triclinic form; drop the images (unwrapped coordinates are written instead)",
                             source=frame.source, frame=frame.index)
        for k, c in enumerate(("ix", "iy", "iz")):
            names.append(c)
            arrays.append(frame.images[:, k] if k < d else np.zeros(n, dtype=np.int64))
            fmts.append("%d")
    keys = list(frame.properties) if columns is None else list(columns)
    for key in keys:
        if key not in frame.properties:
            raise InputError(f"no per-atom property '{key}' to write (the frame has: "
                             f"{', '.join(frame.properties) or 'none'})", source=frame.source, frame=frame.index)
        if not key:
            raise InputError("a per-atom property has an empty name", source=frame.source, frame=frame.index)
        if key in _RESERVED:
            raise InputError(f"property name '{key}' clashes with a standard dump column; rename it",
                             source=frame.source, frame=frame.index)
        a = np.asarray(frame.properties[key])
        if a.shape[0] != n or a.ndim > 2:
            raise InputError(f"per-atom property '{key}' has shape {a.shape} for {n} atoms",
                             source=frame.source, frame=frame.index)
        sub = [a] if a.ndim == 1 else [a[:, k] for k in range(a.shape[1])]
        col_name = "_".join(key.split())  # OVITO names such as 'Potential Energy' -> Potential_Energy
        subnames = [col_name] if a.ndim == 1 else [f"{col_name}[{k + 1}]" for k in range(a.shape[1])]
        for nm, col in zip(subnames, sub):
            names.append(nm)
            if col.dtype.kind in "iub":
                arrays.append(col.astype(np.int64))
                fmts.append("%d")
            elif col.dtype.kind == "f":
                arrays.append(col)
                fmts.append(float_format)
            else:
                s = col.astype(str)
                if any(any(ch.isspace() for ch in v) or not v for v in s):
                    raise InputError(f"per-atom property '{key}' holds empty strings or strings with spaces",
                                     source=frame.source, frame=frame.index)
                arrays.append(s)
                fmts.append("%s")
    if len(set(names)) != len(names):
        dup = sorted({c for c in names if names.count(c) > 1})
        raise InputError(f"duplicate dump column names {dup}", source=frame.source, frame=frame.index)
    return names, arrays, fmts


def _write_frame(fh, frame: Frame, columns, float_format: str, chunk: int = 50_000):
    from . import numformat  # the vectorised formatter of the writer (imported here: the reader never needs it)

    names, arrays, fmts = _frame_columns(frame, columns, float_format)
    ts = frame.timestep if frame.timestep is not None else (frame.index or 0)
    fh.write(_header(frame, ts, names))
    row_fmt = " ".join(fmts) + "\n"
    n = frame.n_atoms
    numeric = all(a.dtype.kind in "iubf" for a in arrays)
    if numeric and n and all(numformat.supported(f) for f in fmts):
        # '%d' and '%.<P>g' columns: vectorised, byte-identical to the '%' formatting below
        for s in range(0, n, 8 * chunk):
            e = min(n, s + 8 * chunk)
            data = numformat.format_rows([a[s:e] for a in arrays], fmts)
            if hasattr(fh, "buffer"):  # a text file: write the bytes under it, in order
                fh.flush()
                fh.buffer.write(data)
            else:
                fh.write(data.decode("ascii"))
        return
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        if numeric:  # one float table; '%d' formats the exact integer-valued floats of ids/types/images
            values = np.column_stack([a[s:e] for a in arrays]).astype(np.float64).ravel().tolist()
        else:
            block = np.empty((e - s, len(arrays)), dtype=object)
            for k, a in enumerate(arrays):
                block[:, k] = a[s:e].tolist()
            values = block.ravel().tolist()
        fh.write((row_fmt * (e - s)) % tuple(values))


def write_dump(path, frames, columns: Sequence[str] | None = None, *, append: bool = False,
               float_format: str = "%.17g") -> str:
    """Write frames to a LAMMPS text dump, atomically.

    Parameters
    ----------
    path : str or path-like
        Target file. Written to a temporary file in the same folder, then renamed over it.
    frames : Frame or iterable of Frame
        One or several frames (written in order, each with its ``timestep``, else its index).
    columns : sequence of str, optional
        Which ``frame.properties`` to write, in this order; all of them by default. A 1-D
        property becomes one column ``name``; an (N, k) property becomes ``name[1]..name[k]``.
        Integer and boolean properties are written as integers, strings as strings; whitespace
        in a property name (OVITO's ``Potential Energy``) becomes ``_`` in the column name.
    append : bool
        Add the frames after those already in ``path``. The file is opened in append mode and
        only the new frames are written: the earlier bytes are never read, copied or rewritten.
        If writing fails (an exception, Ctrl-C, a full disk), the file is truncated back to its
        previous length, so it holds exactly its old frames again; a process killed outright
        in the middle of an append can leave a cut-off last frame, which the reader reports as
        truncated while every earlier frame stays readable. Without ``append`` (or when
        ``path`` does not exist yet) the frames go to a temporary file renamed over ``path``.
    float_format : str
        printf format of float columns; the default ``%.17g`` round-trips every float64 exactly.
        ``%d`` and ``%.<P>g`` columns (P <= 17) are formatted by a vectorised routine with output
        byte-identical to Python's ``%`` operator; other formats are formatted row by row.

    Returns
    -------
    str
        The path written.

    Notes
    -----
    Columns: ``id type x y z`` (+ ``xu yu zu`` when the frame has unwrapped coordinates,
    + ``ix iy iz`` when it has image flags) + the properties. A 2D frame is written with
    ``z = 0`` (also ``zu``, ``iz``) and the z bounds it was read with (``-0.5 0.5`` otherwise),
    which LAMMPS, OVITO (set ``cell.is2D``) and MDAnalysis read. A cell that is not in LAMMPS'
    restricted triclinic form (``a`` along x, ``b`` in the xy plane) is rotated into it, and the
    coordinates with it.
    """
    path = os.fspath(path)
    if isinstance(frames, Frame):
        frames = [frames]
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"the folder {folder} does not exist", source=path)
    if append and os.path.exists(path):
        fh = open(path, "a", encoding="utf-8", newline="\n")
        size = os.fstat(fh.fileno()).st_size  # what is there stays byte for byte
        try:
            nwritten = 0
            for frame in frames:
                if not isinstance(frame, Frame):
                    raise InputError(f"write_dump needs Frame objects, got {type(frame).__name__}", source=path)
                _write_frame(fh, frame, columns, float_format)
                nwritten += 1
            if nwritten == 0:
                raise InputError("no frames to write", source=path)
            fh.flush()
            os.fsync(fh.fileno())
        except BaseException:
            try:
                fh.close()  # flushes (or fails to flush) what is buffered, then the truncation drops it
            except Exception:
                pass
            os.truncate(path, size)
            raise
        fh.close()
        return path
    with atomic_path(path, keep_mode=True) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        nwritten = 0
        for frame in frames:
            if not isinstance(frame, Frame):
                raise InputError(f"write_dump needs Frame objects, got {type(frame).__name__}", source=path)
            _write_frame(fh, frame, columns, float_format)
            nwritten += 1
        if nwritten == 0:
            raise InputError("no frames to write", source=path)
        fh.flush()
        os.fsync(fh.fileno())
    return path
