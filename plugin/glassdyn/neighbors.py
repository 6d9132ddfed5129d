"""One periodic neighbour search, reused by every descriptor.

:func:`neighbor_list` returns a :class:`NeighborList`: a *full* list (each pair appears as
``(i, j)`` and ``(j, i)``), sorted by ``i``, with distances and minimum-image separation
vectors ``r_j - r_i``. Orthorhombic boxes use :class:`scipy.spatial.cKDTree` with
``boxsize``; triclinic boxes use explicit periodic images in a non-periodic tree, so both
give the same pairs for the same system.

Per-type cutoffs are handled by searching at the largest cutoff and keeping the pairs with
``r < cutoff[type_i, type_j]``.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np
from scipy.spatial import cKDTree

from .errors import InputError
from .frame import Box, Frame

__all__ = ["NeighborList", "neighbor_list", "pair_cutoff_matrix"]


@dataclass(frozen=True)
class NeighborList:
    """A full periodic neighbour list, grouped by ``i`` (ascending).

    Attributes
    ----------
    i, j : ndarray of int, shape (P,)
        Indices (rows of the frame, not atom ids) of each ordered pair.
    distances : ndarray, shape (P,)
        ``|r_ij|``.
    vectors : ndarray, shape (P, d)
        Minimum-image vectors ``r_j - r_i``.
    n_atoms : int
        Number of atoms of the frame.
    cutoff : float
        Largest cutoff used for the search.
    """

    i: np.ndarray
    j: np.ndarray
    distances: np.ndarray
    vectors: np.ndarray
    n_atoms: int
    cutoff: float

    @property
    def n_pairs(self) -> int:
        return len(self.i)

    def counts(self) -> np.ndarray:
        """Number of neighbours of each atom, shape (N,)."""
        return np.bincount(self.i, minlength=self.n_atoms)

    def offsets(self) -> np.ndarray:
        """CSR offsets: neighbours of atom ``k`` are ``slice(off[k], off[k+1])``; shape (N + 1,)."""
        off = np.zeros(self.n_atoms + 1, dtype=np.int64)
        np.cumsum(self.counts(), out=off[1:])
        return off

    def select(self, mask: np.ndarray) -> "NeighborList":
        """Keep the pairs where ``mask`` is True (order is preserved)."""
        return NeighborList(self.i[mask], self.j[mask], self.distances[mask], self.vectors[mask],
                            self.n_atoms, self.cutoff)

    def within(self, cutoff) -> "NeighborList":
        """Pairs closer than ``cutoff``: a float, or (with ``types``) see :meth:`within_types`."""
        return self.select(self.distances < cutoff)

    def within_types(self, types: np.ndarray, cutoffs: np.ndarray) -> "NeighborList":
        """Pairs with ``r < cutoffs[type_i - 1, type_j - 1]``."""
        cut = np.asarray(cutoffs, dtype=float)
        return self.select(self.distances < cut[types[self.i] - 1, types[self.j] - 1])


def pair_cutoff_matrix(cutoff, n_types: int) -> np.ndarray:
    """Expand a scalar or (n_types, n_types) cutoff into a symmetric matrix."""
    c = np.asarray(cutoff, dtype=float)
    if c.ndim == 0:
        return np.full((n_types, n_types), float(c))
    if c.shape[0] < n_types or c.shape[1] < n_types:
        raise InputError(f"cutoff matrix of shape {c.shape} does not cover {n_types} atom types")
    if not np.allclose(c, c.T):
        raise InputError("per-type cutoff matrix must be symmetric")
    return c


def _orthorhombic_pairs(pos: np.ndarray, box: Box, cutoff: float):
    lengths = np.diag(box.matrix)
    # cKDTree wants coordinates in [0, L); shifting by the origin does not change separations.
    rel = pos - box.origin
    rel = rel - np.floor(rel / lengths) * lengths
    rel[rel >= lengths] = 0.0  # floor rounding can land exactly on L
    tree = cKDTree(rel, boxsize=lengths)
    pairs = tree.query_pairs(cutoff, output_type="ndarray")
    a = np.ascontiguousarray(pairs[:, 0], dtype=np.int64)
    b = np.ascontiguousarray(pairs[:, 1], dtype=np.int64)
    del pairs
    # minimum image in place: one temporary instead of the three of Box.minimum_image
    vec = rel[b]
    vec -= rel[a]
    shift = np.round(vec / lengths)
    shift *= lengths
    vec -= shift
    return a, b, vec


def _triclinic_pairs(pos: np.ndarray, box: Box, cutoff: float):
    d = box.dimension
    n = len(pos)
    frac = box.to_fractional(pos)
    frac -= np.floor(frac)
    # Enough image layers to cover the cutoff in each direction, then keep only the ghosts
    # that lie within `cutoff` (in fractional units, per direction) of the primary cell.
    reach = cutoff / box.widths
    layers = np.ceil(reach).astype(int)
    shifts = np.array(list(product(*[range(-k, k + 1) for k in layers])), dtype=float)
    ghosts_frac = (frac[None, :, :] + shifts[:, None, :]).reshape(-1, d)
    owner = np.tile(np.arange(n), len(shifts))
    keep = np.all((ghosts_frac > -reach) & (ghosts_frac < 1.0 + reach), axis=1)
    ghosts = ghosts_frac[keep] @ box.matrix
    owner = owner[keep]
    primary = frac @ box.matrix
    tree_p = cKDTree(primary)
    tree_g = cKDTree(ghosts)
    sdm = tree_p.sparse_distance_matrix(tree_g, cutoff, output_type="ndarray")
    a = sdm["i"].astype(np.int64)
    g = sdm["j"].astype(np.int64)
    b = owner[g]
    vec = ghosts[g] - primary[a]
    not_self = np.any(np.abs(vec) > 1e-12, axis=1) | (a != b)
    a, b, vec = a[not_self], b[not_self], vec[not_self]
    # keep each unordered pair once, as (min, max), to share the symmetrisation below
    first = a < b
    return a[first], b[first], vec[first]


def neighbor_list(frame: Frame, cutoff, *, sort: bool = True) -> NeighborList:
    """Full periodic neighbour list of ``frame``.

    Parameters
    ----------
    frame : Frame
        The configuration (2D or 3D, orthorhombic or triclinic).
    cutoff : float or array_like, shape (n_types, n_types)
        Pairs with ``r < cutoff`` (per pair of types if a matrix, indexed by type - 1).
    sort : bool
        Group pairs by ``i`` in ascending order (default True; stable, so cheap); descriptors
        rely on the grouping. Order within a group is unspecified.

    Returns
    -------
    NeighborList

    Raises
    ------
    InputError
        If the cutoff is not positive or longer than half the narrowest box width, where the
        minimum-image convention breaks down.
    """
    cut_matrix = pair_cutoff_matrix(cutoff, frame.n_types)
    rmax = float(cut_matrix[: frame.n_types, : frame.n_types].max())
    if not np.isfinite(rmax) or rmax <= 0:
        raise InputError(f"neighbour cutoff must be positive and finite, got {rmax}",
                         source=frame.source, frame=frame.index)
    if rmax > frame.box.max_cutoff:
        raise InputError(f"neighbour cutoff {rmax:g} is longer than half the box width "
                         f"({frame.box.max_cutoff:g}); use a larger system or a shorter cutoff",
                         source=frame.source, frame=frame.index)
    if frame.box.is_orthorhombic:
        a, b, vec = _orthorhombic_pairs(frame.positions, frame.box, rmax)
    else:
        a, b, vec = _triclinic_pairs(frame.positions, frame.box, rmax)
    dist = np.sqrt(np.einsum("ij,ij->i", vec, vec))
    if np.ndim(cutoff) != 0:
        t = frame.types
        keep = dist < cut_matrix[t[a] - 1, t[b] - 1]
    else:
        keep = dist < rmax  # the tree search includes r == rmax; descriptors use r < cutoff
    if not keep.all():
        a, b, vec, dist = a[keep], b[keep], vec[keep], dist[keep]
    i = np.concatenate([a, b])
    j = np.concatenate([b, a])
    vectors = np.concatenate([vec, -vec])
    distances = np.concatenate([dist, dist])
    if sort:
        order = np.argsort(i, kind="stable")
        i, j, vectors, distances = i[order], j[order], vectors[order], distances[order]
    return NeighborList(i.astype(np.int64, copy=False), j.astype(np.int64, copy=False), distances, vectors,
                        frame.n_atoms, rmax)
