"""One periodic neighbour search, reused by every descriptor.

:func:`neighbor_list` returns a :class:`NeighborList`: a *full* list (each pair appears as
``(i, j)`` and ``(j, i)``), sorted by ``i``, with distances and minimum-image separation
vectors ``r_j - r_i``. Orthorhombic boxes use :class:`scipy.spatial.cKDTree` with
``boxsize``; triclinic boxes use explicit periodic images in a non-periodic tree, so both
give the same pairs for the same system.

Per-type cutoffs are handled by searching at the largest cutoff and keeping the pairs with
``r < cutoff[type_i, type_j]``.

:func:`half_pairs` gives the same pairs, vectors and distances once each (``a < b``), in chunks,
searched by several threads for large orthorhombic boxes (one slab of the box each, plus the slab
boundaries; the tree releases the GIL): :func:`glassdyn.descriptors.compute_features` works on
these and lists both orders only for its short-range pairs. :class:`LazyNeighborList` stands for a
full list that is built on first use.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import product

import numpy as np
from scipy.spatial import cKDTree

from .errors import InputError
from .frame import Box, Frame

__all__ = ["NeighborList", "LazyNeighborList", "neighbor_list", "pair_cutoff_matrix", "half_pairs", "resolve_n_jobs",
           "from_half_pairs"]


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


def from_half_pairs(chunks, n_atoms: int, cutoff: float) -> NeighborList:
    """The full list (both orders, not sorted) of the unordered pairs of :func:`half_pairs`."""
    a = np.concatenate([c[0] for c in chunks])
    b = np.concatenate([c[1] for c in chunks])
    vec = np.concatenate([c[2] for c in chunks])
    dist = np.concatenate([c[3] for c in chunks])
    return NeighborList(np.concatenate([a, b]), np.concatenate([b, a]), np.concatenate([dist, dist]),
                       np.concatenate([vec, -vec]), n_atoms, float(cutoff))


class LazyNeighborList:
    """Stands for a :class:`NeighborList` that is built (by ``build()``) only when first used.

    ``n_atoms`` and ``cutoff`` are known without building; any other attribute or method
    (``i``, ``distances``, ``select``, ...) builds the list once and is served by it.
    """

    def __init__(self, build, n_atoms: int, cutoff: float):
        self._build = build
        self._nl = None
        self.n_atoms = int(n_atoms)
        self.cutoff = float(cutoff)

    @property
    def built(self) -> bool:
        return self._nl is not None

    def __getattr__(self, name):
        if name.startswith("__") or name in ("_build", "_nl"):
            raise AttributeError(name)
        if self._nl is None:
            self._nl = self._build()
            self._build = None
        return getattr(self._nl, name)


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


def _in_box(pos: np.ndarray, box: Box):
    """Orthorhombic box: (positions shifted into [0, L), box lengths)."""
    lengths = np.diag(box.matrix)
    # cKDTree wants coordinates in [0, L); shifting by the origin does not change separations.
    rel = pos - box.origin
    rel = rel - np.floor(rel / lengths) * lengths
    rel[rel >= lengths] = 0.0  # floor rounding can land exactly on L
    return rel, lengths


def _min_image(rel: np.ndarray, lengths: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Minimum-image vectors rel[b] - rel[a] (the same arithmetic for every search path).

    ``vec - round(vec / L) * L`` per coordinate; it changes only components longer than L / 2,
    so only those are recomputed (the others would subtract an exact 0).
    """
    vec = rel[b]
    vec -= rel[a]
    for k, length in enumerate(lengths):
        col = vec[:, k]
        far = np.flatnonzero(np.abs(col) > 0.5 * length)
        if len(far):
            c = col[far]
            col[far] = c - np.round(c / length) * length
    return vec


def _orthorhombic_pairs(pos: np.ndarray, box: Box, cutoff: float):
    rel, lengths = _in_box(pos, box)
    tree = cKDTree(rel, boxsize=lengths)
    pairs = tree.query_pairs(cutoff, output_type="ndarray")
    a = np.ascontiguousarray(pairs[:, 0], dtype=np.int64)
    b = np.ascontiguousarray(pairs[:, 1], dtype=np.int64)
    del pairs
    # minimum image in place: one temporary instead of the three of Box.minimum_image
    return a, b, _min_image(rel, lengths, a, b)


#: Below this many atoms the search runs in one thread (threads cost more than they save).
PARALLEL_MIN_ATOMS = 20_000


def resolve_n_jobs(n_jobs: int | None) -> int:
    """Threads to use: ``None`` or ``-1`` = every core (``os.cpu_count()``), else ``n_jobs`` (>= 1)."""
    if n_jobs is None or n_jobs == -1:
        return max(1, os.cpu_count() or 1)
    n_jobs = int(n_jobs)
    if n_jobs < 1:
        raise InputError(f"n_jobs must be a positive number of threads (or -1 / None for every core), got {n_jobs}")
    return n_jobs


def _slab_tasks(rel: np.ndarray, lengths: np.ndarray, cutoff: float, n_slabs: int):
    """Split the box into slabs along its longest axis; tasks that together find every pair once."""
    axis = int(np.argmax(lengths))
    width = lengths[axis] / n_slabs
    slab = np.minimum((rel[:, axis] / width).astype(np.int64), n_slabs - 1)
    members = [np.flatnonzero(slab == g) for g in range(n_slabs)]
    x = rel[:, axis]
    tasks = [("within", members[g], None) for g in range(n_slabs)]
    for g in range(n_slabs):  # the boundary between slab g and slab g + 1 (periodic)
        h = (g + 1) % n_slabs
        top = (g + 1) * width
        lo = members[g][x[members[g]] >= top - cutoff]
        hi_x = x[members[h]]
        hi = members[h][(hi_x < top + cutoff) if h else (hi_x < cutoff)]
        tasks.append(("across", lo, hi))
    return tasks


def _run_task(task, rel, lengths, cutoff):
    kind, p, q = task
    if kind == "within":
        if len(p) < 2:
            e = np.zeros(0, dtype=np.int64)
            return e, e, np.zeros((0, rel.shape[1]))
        pairs = cKDTree(rel[p], boxsize=lengths).query_pairs(cutoff, output_type="ndarray")
        a, b = p[pairs[:, 0]], p[pairs[:, 1]]  # p ascending: a < b
    else:
        if len(p) == 0 or len(q) == 0:
            e = np.zeros(0, dtype=np.int64)
            return e, e, np.zeros((0, rel.shape[1]))
        sdm = cKDTree(rel[p], boxsize=lengths).sparse_distance_matrix(
            cKDTree(rel[q], boxsize=lengths), cutoff, output_type="ndarray")
        u, v = p[sdm["i"].astype(np.int64)], q[sdm["j"].astype(np.int64)]
        a, b = np.minimum(u, v), np.maximum(u, v)
    return a, b, _min_image(rel, lengths, a, b)


def half_pairs(frame: Frame, cutoff: float, *, n_jobs: int | None = 1) -> list[tuple]:
    """Every unordered pair with ``r < cutoff``, once, as chunks ``(a, b, vectors, distances)`` with ``a < b``.

    The pairs, vectors (``r_b - r_a``, minimum image) and distances are exactly those of
    :func:`neighbor_list` (which lists each pair in both orders); only their order and the
    split into chunks differ. Orthorhombic boxes of at least :data:`PARALLEL_MIN_ATOMS` atoms
    are searched by ``n_jobs`` threads, one slab of the box each (plus the slab boundaries);
    triclinic boxes in one thread.

    Parameters
    ----------
    frame : Frame
    cutoff : float
        Largest distance (exclusive), at most half the narrowest box width.
    n_jobs : int or None
        Threads; None or -1: every core.

    Returns
    -------
    list of (a, b, vectors (P, d), distances (P,))
    """
    rmax = float(cutoff)
    if not np.isfinite(rmax) or rmax <= 0:
        raise InputError(f"neighbour cutoff must be positive and finite, got {rmax}",
                         source=frame.source, frame=frame.index)
    if rmax > frame.box.max_cutoff:
        raise InputError(f"neighbour cutoff {rmax:g} is longer than half the box width "
                         f"({frame.box.max_cutoff:g}); use a larger system or a shorter cutoff",
                         source=frame.source, frame=frame.index)
    jobs = resolve_n_jobs(n_jobs)
    tasks = None
    if frame.box.is_orthorhombic:
        rel, lengths = _in_box(frame.positions, frame.box)
        slabs = min(jobs, int(lengths.max() // (2.0 * rmax)))  # slabs at least 2 cutoffs wide
        if slabs >= 2 and frame.n_atoms >= PARALLEL_MIN_ATOMS:
            tasks = _slab_tasks(rel, lengths, rmax, slabs)
    if tasks is None:
        if frame.box.is_orthorhombic:
            chunks = [_orthorhombic_pairs(frame.positions, frame.box, rmax)]
        else:
            chunks = [_triclinic_pairs(frame.positions, frame.box, rmax)]
    else:
        with ThreadPoolExecutor(min(jobs, len(tasks))) as pool:
            chunks = list(pool.map(lambda t: _run_task(t, rel, lengths, rmax), tasks))
    out = []
    for a, b, vec in chunks:
        dist = np.sqrt(np.einsum("ij,ij->i", vec, vec))
        keep = dist < rmax  # the tree search includes r == rmax; descriptors use r < cutoff
        if not keep.all():
            a, b, vec, dist = a[keep], b[keep], vec[keep], dist[keep]
        out.append((a, b, vec, dist))
    return out


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
