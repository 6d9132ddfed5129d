"""The :class:`Frame` (one configuration) and its periodic :class:`Box`.

A frame holds plain numpy arrays. All validation of particle data happens here and nowhere
else: every other module may assume finite coordinates, unique ids and a periodic box.

Conventions
-----------
* ``dimension`` is 2 or 3; positions have shape ``(N, dimension)`` (a 2D frame stores no z).
* The box matrix holds the cell vectors as *rows* in LAMMPS' restricted triclinic form:
  ``a = (lx, 0, 0)``, ``b = (xy, ly, 0)``, ``c = (xz, yz, lz)`` (2D: ``a = (lx, 0)``,
  ``b = (xy, ly)``). Any other matrix with a positive determinant works as well.
* Types are positive integers (LAMMPS numbering, 1-based).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import InputError

__all__ = ["Box", "Frame"]


@dataclass(frozen=True)
class Box:
    """A periodic simulation cell.

    Parameters
    ----------
    matrix : array_like, shape (d, d)
        Cell vectors as rows (length units).
    origin : array_like, shape (d,), optional
        Lower corner of the cell (LAMMPS ``xlo, ylo[, zlo]``); zeros by default.
    periodic : array_like of bool, shape (d,), optional
        Periodicity of each cell vector; all True by default. glassdyn's descriptors need a
        fully periodic cell and :meth:`Frame.validate` refuses anything else.
    """

    matrix: np.ndarray
    origin: np.ndarray | None = None
    periodic: tuple[bool, ...] | None = None

    def __post_init__(self):
        m = np.array(self.matrix, dtype=float)
        if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] not in (2, 3):
            raise InputError(f"box matrix must be 2x2 or 3x3, got shape {m.shape}")
        if not np.all(np.isfinite(m)):
            raise InputError(f"box matrix has non-finite entries: {m.tolist()}")
        if np.linalg.det(m) <= 0:
            raise InputError(f"box matrix has non-positive volume (determinant {np.linalg.det(m):g}); "
                             "cell vectors must be given as rows in right-handed order")
        m.setflags(write=False)
        object.__setattr__(self, "matrix", m)
        d = m.shape[0]
        o = np.zeros(d) if self.origin is None else np.array(self.origin, dtype=float).reshape(d)
        o.setflags(write=False)
        object.__setattr__(self, "origin", o)
        p = (True,) * d if self.periodic is None else tuple(bool(v) for v in self.periodic)
        if len(p) != d:
            raise InputError(f"periodic flags {p} do not match box dimension {d}")
        object.__setattr__(self, "periodic", p)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def orthorhombic(cls, lengths, origin=None, periodic=None) -> "Box":
        """Rectangular (2D) or cuboid (3D) box with the given edge lengths."""
        return cls(np.diag(np.asarray(lengths, dtype=float)), origin, periodic)

    @classmethod
    def from_lammps(cls, lo, hi, tilt=(0.0, 0.0, 0.0), dimension: int = 3, periodic=None) -> "Box":
        """Box from LAMMPS ``xlo xhi ylo yhi zlo zhi`` and tilt factors ``xy xz yz``.

        ``lo`` and ``hi`` are the bounds of the *parallelepiped* (as in a data file, not the
        bounding box of a triclinic dump, which the dump reader converts first).
        """
        lo = np.asarray(lo, dtype=float)
        hi = np.asarray(hi, dtype=float)
        xy, xz, yz = (float(t) for t in tilt)
        lx, ly = hi[0] - lo[0], hi[1] - lo[1]
        if dimension == 2:
            return cls(np.array([[lx, 0.0], [xy, ly]]), lo[:2], None if periodic is None else periodic[:2])
        lz = hi[2] - lo[2]
        return cls(np.array([[lx, 0, 0], [xy, ly, 0], [xz, yz, lz]], dtype=float), lo[:3], periodic)

    # ------------------------------------------------------------------ properties
    @property
    def dimension(self) -> int:
        return self.matrix.shape[0]

    @property
    def is_orthorhombic(self) -> bool:
        m = self.matrix
        return bool(np.all(m[~np.eye(self.dimension, dtype=bool)] == 0.0))

    @property
    def lengths(self) -> np.ndarray:
        """Edge lengths ``|a|, |b|[, |c|]``."""
        return np.linalg.norm(self.matrix, axis=1)

    @property
    def volume(self) -> float:
        """Area in 2D, volume in 3D."""
        return float(np.linalg.det(self.matrix))

    @property
    def widths(self) -> np.ndarray:
        """Perpendicular distances between opposite faces (2D: edges) of the cell."""
        inv = np.linalg.inv(self.matrix)  # columns are the reciprocal vectors
        return 1.0 / np.linalg.norm(inv, axis=0)

    @property
    def max_cutoff(self) -> float:
        """Longest cutoff for which the minimum-image convention is unambiguous (half the narrowest width)."""
        return 0.5 * float(self.widths.min())

    # ------------------------------------------------------------------ geometry
    def to_fractional(self, positions: np.ndarray) -> np.ndarray:
        """Cartesian positions (N, d) to fractional coordinates (relative to ``origin``)."""
        return (np.asarray(positions) - self.origin) @ np.linalg.inv(self.matrix)

    def to_cartesian(self, fractional: np.ndarray) -> np.ndarray:
        return np.asarray(fractional) @ self.matrix + self.origin

    def wrap(self, positions: np.ndarray) -> np.ndarray:
        """Map positions into the primary cell."""
        f = self.to_fractional(positions)
        return self.to_cartesian(f - np.floor(f))

    def minimum_image(self, vectors: np.ndarray) -> np.ndarray:
        """Minimum-image form of separation vectors (N, d); exact for |v| < :attr:`max_cutoff`."""
        v = np.asarray(vectors, dtype=float)
        if self.is_orthorhombic:
            lengths = np.diag(self.matrix)
            return v - lengths * np.round(v / lengths)
        f = v @ np.linalg.inv(self.matrix)
        return (f - np.round(f)) @ self.matrix

    def same_as(self, other: "Box", rtol: float = 1e-9) -> bool:
        return (self.dimension == other.dimension
                and np.allclose(self.matrix, other.matrix, rtol=rtol, atol=rtol)
                and np.allclose(self.origin, other.origin, rtol=rtol, atol=rtol))


@dataclass
class Frame:
    """One configuration: positions, types, ids and a periodic box.

    Parameters
    ----------
    positions : array_like, shape (N, d)
        Cartesian coordinates (wrapped or not; descriptors use minimum images).
    types : array_like of int, shape (N,)
        Particle types, 1-based as in LAMMPS.
    box : Box
        The periodic cell; its dimension sets the frame's dimension.
    ids : array_like of int, shape (N,), optional
        Atom ids (unique); ``1..N`` by default.
    unwrapped : array_like, shape (N, d), optional
        Unwrapped coordinates (for dynamics).
    images : array_like of int, shape (N, d), optional
        Periodic image flags; with wrapped ``positions`` they define unwrapped coordinates.
    properties : dict of str to array, optional
        Extra per-atom columns (shape (N,) or (N, k)), e.g. read from a dump.
    source : str, optional
        Where the frame came from (file name), used in error messages.
    index : int, optional
        Frame number within ``source`` (0-based).
    timestep : int, optional
        MD timestep of the frame.
    validate : bool
        Check the data (default True). Errors name ``source``, ``index`` and atom ids.
    """

    positions: np.ndarray
    types: np.ndarray
    box: Box
    ids: np.ndarray | None = None
    unwrapped: np.ndarray | None = None
    images: np.ndarray | None = None
    properties: dict = field(default_factory=dict)
    source: str | None = None
    index: int | None = None
    timestep: int | None = None
    validate: bool = field(default=True, repr=False)

    def __post_init__(self):
        if self.box is None:
            raise InputError("the frame has no simulation box", source=self.source, frame=self.index)
        d = self.box.dimension
        pos = np.asarray(self.positions, dtype=float)
        if pos.ndim != 2:
            raise InputError(f"positions must have shape (N, {d}), got {pos.shape}",
                             source=self.source, frame=self.index)
        if pos.shape[1] == 3 and d == 2:
            pos = pos[:, :2]
        self.positions = np.ascontiguousarray(pos)
        n = len(self.positions)
        self.types = np.asarray(self.types).astype(np.int64, copy=False).reshape(-1)
        self.ids = (np.arange(1, n + 1, dtype=np.int64) if self.ids is None
                    else np.asarray(self.ids).astype(np.int64, copy=False).reshape(-1))
        if self.unwrapped is not None:
            u = np.asarray(self.unwrapped, dtype=float)
            self.unwrapped = np.ascontiguousarray(u[:, :d] if u.ndim == 2 else u)
        if self.images is not None:
            im = np.asarray(self.images).astype(np.int64, copy=False)
            self.images = im[:, :d] if im.ndim == 2 else im
        self.properties = dict(self.properties)
        if self.validate:
            self.check()

    # ------------------------------------------------------------------ validation
    def _error(self, message: str, atom_ids=None) -> InputError:
        return InputError(message, source=self.source, frame=self.index, atom_ids=atom_ids)

    def check(self) -> "Frame":
        """Validate the frame; raise :class:`InputError` naming the atoms at fault."""
        d = self.box.dimension
        n = len(self.positions)
        if n == 0:
            raise self._error("the frame holds no atoms")
        if self.positions.shape != (n, d):
            raise self._error(f"positions must have shape (N, {d}) for a {d}D box, got {self.positions.shape}")
        for name in ("types", "ids"):
            arr = getattr(self, name)
            if arr.shape != (n,):
                raise self._error(f"{name} has {arr.size} entries for {n} atoms")
        if not all(self.box.periodic):
            raise self._error(f"the box is not periodic in every direction (periodic={self.box.periodic}); "
                              "glassdyn's descriptors assume periodic boundaries (LAMMPS 'boundary p p p')")
        bad = ~np.all(np.isfinite(self.positions), axis=1)
        if bad.any():
            raise self._error(f"{int(bad.sum())} atoms have NaN or infinite coordinates", self.ids[bad])
        uniq, counts = np.unique(self.ids, return_counts=True)
        if len(uniq) != n:
            raise self._error(f"{int((counts > 1).sum())} atom ids occur more than once", uniq[counts > 1])
        if np.any(self.types < 1):
            raise self._error("atom types must be positive integers (LAMMPS numbering)", self.ids[self.types < 1])
        for name in ("unwrapped", "images"):
            arr = getattr(self, name)
            if arr is not None and arr.shape != (n, d):
                raise self._error(f"{name} must have shape ({n}, {d}), got {arr.shape}")
        if self.unwrapped is not None:
            bad = ~np.all(np.isfinite(self.unwrapped), axis=1)
            if bad.any():
                raise self._error(f"{int(bad.sum())} atoms have NaN or infinite unwrapped coordinates",
                                  self.ids[bad])
        for key, arr in self.properties.items():
            if len(arr) != n:
                raise self._error(f"per-atom property '{key}' has {len(arr)} rows for {n} atoms")
        return self

    # ------------------------------------------------------------------ accessors
    @property
    def n_atoms(self) -> int:
        return len(self.positions)

    @property
    def dimension(self) -> int:
        return self.box.dimension

    @property
    def n_types(self) -> int:
        return int(self.types.max())

    @property
    def label(self) -> str:
        """Human-readable location for messages: ``file, frame k``."""
        parts = [self.source or "<in memory>"]
        if self.index is not None:
            parts.append(f"frame {self.index}")
        return ", ".join(parts)

    def unwrapped_positions(self) -> np.ndarray:
        """Unwrapped coordinates: stored ones, else ``positions + images @ box``.

        Raises
        ------
        InputError
            If the frame has neither unwrapped coordinates nor image flags.
        """
        if self.unwrapped is not None:
            return self.unwrapped
        if self.images is not None:
            return self.positions + self.images @ self.box.matrix
        raise self._error("no unwrapped coordinates: dump 'xu yu [zu]' or 'x y [z] ix iy [iz]' "
                          "(wrapped coordinates alone cannot give displacements)")

    def sorted_by_id(self) -> "Frame":
        """A copy with atoms in increasing id order (dumps may be unsorted)."""
        order = np.argsort(self.ids, kind="stable")
        if np.all(order == np.arange(self.n_atoms)):
            return self
        return self.take(order)

    def take(self, index) -> "Frame":
        """A new frame holding the atoms selected by ``index`` (mask or integer array)."""
        sel = lambda a: None if a is None else a[index]  # noqa: E731
        return Frame(self.positions[index], self.types[index], self.box, ids=self.ids[index],
                     unwrapped=sel(self.unwrapped), images=sel(self.images),
                     properties={k: v[index] for k, v in self.properties.items()},
                     source=self.source, index=self.index, timestep=self.timestep, validate=False)

    def with_properties(self, **columns) -> "Frame":
        """A shallow copy with extra per-atom columns added."""
        props = dict(self.properties)
        props.update(columns)
        return Frame(self.positions, self.types, self.box, ids=self.ids, unwrapped=self.unwrapped,
                     images=self.images, properties=props, source=self.source, index=self.index,
                     timestep=self.timestep, validate=False)
