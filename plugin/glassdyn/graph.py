"""Graph metrics of Swanson et al. (Soft Matter 2020) for binary glass formers.

Two constructions of the graph (SCIENCE.md section 2), ``construction=``:

``"text"`` (default; the paper's text)
    every particle of the small species B is joined by an edge to each of its two nearest
    neighbours (any species; periodic minimum images for a whole configuration).
``"code"`` (the authors' published code, glassML ``graph_metric_analysis.py``)
    the symmetric two-nearest-neighbour graph over *all* particles (every particle joined to its
    two nearest neighbours, the union of both directions), of which only the edges that touch a
    B particle are kept. The code evaluated it on random non-periodic windows of side 0.3 of the
    box (about 389 of 4320 particles): pass ``window=``.

On the resulting graph:

(a) ``n_components``: connected components among the particles that touch at least one edge
    (particles touching no edge are not counted as components);
(b) ``n_bb_edges``: distinct B-B edges (an edge chosen by both of its ends counts once);
(c) ``n_isolated_a``: A particles touching no edge (``n_isolated_b`` likewise for B: always 0 in
    both constructions, nonzero only for graphs given by :func:`metrics_from_edges`, e.g. the
    high-attention edges of a D-MPNN).

Per-particle flags come with them: the degree (distinct edges touching the particle), the
component label (-1 for particles touching no edge), the size of that component, and whether
the particle is an A particle touching no edge. With ``window=`` only the window's particles
take part (the others get degree 0, component -1 and are not counted as isolated).

:func:`metrics_from_edges` counts the same quantities for any edge list (the attention graph of
the D-MPNN, thresholded), and :func:`undirected_weights` turns weights of directed edges into
weights of bonds and per-particle sums.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .errors import InputError
from .frame import Frame
from .neighbors import neighbor_list

__all__ = ["CONSTRUCTIONS", "GraphMetrics", "graph_metrics", "metrics_from_edges", "nearest_neighbors",
           "undirected_weights", "window_positions"]

#: the two graph constructions (see the module docstring)
CONSTRUCTIONS = ("text", "code")


@dataclass
class GraphMetrics:
    """Result of :func:`graph_metrics` for one configuration.

    Attributes
    ----------
    n_components, n_bb_edges, n_isolated_a : int
        The three per-configuration counts (see the module docstring).
    n_edges : int
        Distinct edges of the graph.
    edges : ndarray of int, shape (n_edges, 2)
        Distinct edges as row indices ``(min, max)`` of the frame.
    degree : ndarray of int, shape (N,)
        Distinct edges touching each particle.
    component : ndarray of int, shape (N,)
        Component label (0..n_components-1), -1 for particles touching no edge.
    component_size : ndarray of int, shape (N,)
        Number of particles in the particle's component (0 when it touches no edge).
    isolated_a : ndarray of bool, shape (N,)
        A particles touching no edge.
    params : dict
        The parameters used.
    n_isolated_b : int
        B particles touching no edge (0 for both constructions of :func:`graph_metrics`).
    members : ndarray of bool, shape (N,), or None
        The particles the metrics were evaluated on (a window); None means all.
    """

    n_components: int
    n_bb_edges: int
    n_isolated_a: int
    n_edges: int
    edges: np.ndarray
    degree: np.ndarray
    component: np.ndarray
    component_size: np.ndarray
    isolated_a: np.ndarray
    params: dict = field(default_factory=dict)
    n_isolated_b: int = 0
    members: np.ndarray | None = None

    @property
    def n_members(self) -> int:
        """Number of particles the metrics were evaluated on."""
        return int(self.degree.size if self.members is None else np.count_nonzero(self.members))

    def counts(self) -> dict:
        """The per-configuration counts as a dict."""
        return {"n_components": self.n_components, "n_bb_edges": self.n_bb_edges,
                "n_isolated_a": self.n_isolated_a, "n_edges": self.n_edges}

    def per_particle(self) -> dict:
        """Per-particle flags as a dict of (N,) arrays (names usable as dump columns)."""
        return {"graph_degree": self.degree, "graph_component": self.component,
                "graph_component_size": self.component_size, "graph_isolated_a": self.isolated_a.astype(np.int64)}


def nearest_neighbors(frame: Frame, k: int, rows=None, *, r_start: float | None = None):
    """The ``k`` nearest neighbours (periodic) of selected particles.

    Uses :func:`~glassdyn.neighbors.neighbor_list` at a radius that is doubled until every
    selected particle has ``k`` neighbours (up to half the box width).

    Parameters
    ----------
    frame : Frame
    k : int
        Number of neighbours.
    rows : array_like of int, optional
        Row indices of the particles (all by default).
    r_start : float, optional
        First search radius (length units); default: the radius holding about 3k neighbours
        on average.

    Returns
    -------
    ndarray of int, shape (len(rows), k)
        Row indices of the neighbours, nearest first.
    ndarray, shape (len(rows), k)
        Their distances.
    """
    rows = np.arange(frame.n_atoms) if rows is None else np.asarray(rows, dtype=np.int64)
    if frame.n_atoms <= k:
        raise InputError(f"{frame.n_atoms} atoms cannot have {k} nearest neighbours each",
                         source=frame.source, frame=frame.index)
    density = frame.n_atoms / frame.box.volume
    if r_start is None:
        r_start = (3 * k / density / (np.pi if frame.dimension == 2 else 4.0 / 3.0 * np.pi)) ** (1 / frame.dimension)
    r = min(float(r_start), frame.box.max_cutoff)
    sel = np.zeros(frame.n_atoms, dtype=bool)
    sel[rows] = True
    while True:
        nl = neighbor_list(frame, r, sort=False)
        m = sel[nl.i]
        i, j, d = nl.i[m], nl.j[m], nl.distances[m]
        cnt = np.bincount(i, minlength=frame.n_atoms)[rows]
        if np.all(cnt >= k):
            break
        if r >= frame.box.max_cutoff:
            bad = rows[cnt < k]
            raise InputError(f"particles have fewer than {k} neighbours within half the box width",
                             source=frame.source, frame=frame.index, atom_ids=frame.ids[bad])
        r = min(2 * r, frame.box.max_cutoff)
    order = np.lexsort((d, i))
    i, j, d = i[order], j[order], d[order]
    start = np.searchsorted(i, rows)
    take = start[:, None] + np.arange(k)[None, :]
    return j[take], d[take]


def window_positions(frame: Frame, rows) -> np.ndarray:
    """Non-periodic Cartesian positions (n, d) of the particles ``rows`` of a window: their wrapped
    scaled coordinates times the box matrix (a window never crosses the box edge)."""
    f = np.asarray(frame.box.to_fractional(frame.positions[np.asarray(rows, dtype=np.int64)]), dtype=float)
    f = f - np.floor(f)
    f[f >= 1.0] = 0.0
    return f @ frame.box.matrix


def _local_knn(pos: np.ndarray, rows_from: np.ndarray, k: int) -> np.ndarray:
    """k nearest other points (non-periodic) of the points ``rows_from`` of ``pos``: (len, k) local indices."""
    from scipy.spatial import cKDTree
    n = len(pos)
    _, nb = cKDTree(pos).query(pos[rows_from], k=k + 1)
    nb = np.asarray(nb, dtype=np.int64).reshape(len(rows_from), k + 1)
    not_self = nb != rows_from[:, None]
    first = np.argsort(~not_self, axis=1, kind="stable")[:, :k]   # drop the point itself wherever it sits
    out = np.take_along_axis(nb, first, axis=1)
    if np.any(out >= n):
        raise InputError(f"{n} particles cannot have {k} nearest neighbours each")
    return out


def metrics_from_edges(types, edges, *, b_type: int = 2, a_type: int = 1, members=None,
                       params: dict | None = None) -> GraphMetrics:
    """The counts and per-particle flags of :class:`GraphMetrics` for a given edge list.

    Parameters
    ----------
    types : array_like of int, shape (N,)
        Particle types.
    edges : array_like of int, shape (M, 2)
        Edges as row indices into ``types``, in any orientation; repeated edges (both directions
        of a directed graph) count once, self-loops are ignored.
    b_type, a_type : int
        The species whose pairs are counted (``n_bb_edges``) and whose untouched particles are
        counted (``n_isolated_a``; ``n_isolated_b`` for ``b_type``).
    members : array_like of bool (N,) or of int, optional
        The particles taking part (e.g. a window); isolated particles are counted among them only.
    params : dict, optional
        Recorded in the result.

    Returns
    -------
    GraphMetrics
    """
    t = np.asarray(types).reshape(-1)
    n = t.size
    e = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    if e.size and (e.min() < 0 or e.max() >= n):
        raise InputError(f"edge indices must lie in 0..{n - 1}")
    if members is None:
        mask = None
        inside = np.ones(n, dtype=bool)
    else:
        m = np.asarray(members)
        mask = m.astype(bool) if m.dtype == bool else np.isin(np.arange(n), m)
        if mask.shape != (n,):
            raise InputError(f"members must be a boolean mask of {n} particles or row indices")
        inside = mask
    e = e[e[:, 0] != e[:, 1]]
    lo, hi = np.minimum(e[:, 0], e[:, 1]), np.maximum(e[:, 0], e[:, 1])
    keys = np.unique(lo * n + hi)
    e0, e1 = keys // n, keys % n
    degree = np.bincount(e0, minlength=n) + np.bincount(e1, minlength=n)
    touched = degree > 0
    component = np.full(n, -1, dtype=np.int64)
    component_size = np.zeros(n, dtype=np.int64)
    n_comp = 0
    if len(keys):
        adj = coo_matrix((np.ones(len(e0)), (e0, e1)), shape=(n, n)).tocsr()
        _, labels = connected_components(adj, directed=False)
        uniq, comp = np.unique(labels[touched], return_inverse=True)
        component[touched] = comp
        sizes = np.bincount(comp, minlength=len(uniq))
        component_size[touched] = sizes[comp]
        n_comp = len(uniq)
    n_bb = int(np.sum((t[e0] == b_type) & (t[e1] == b_type)))
    isolated_a = (t == a_type) & ~touched & inside
    n_iso_b = int(np.sum((t == b_type) & ~touched & inside))
    p = {"b_type": b_type, "a_type": a_type, **(params or {})}
    return GraphMetrics(n_comp, n_bb, int(isolated_a.sum()), len(keys), np.column_stack([e0, e1]),
                        degree.astype(np.int64), component, component_size, isolated_a, p,
                        n_isolated_b=n_iso_b, members=mask)


def graph_metrics(frame: Frame, b_type: int = 2, a_type: int = 1, n_neighbors: int = 2, *,
                  construction: str = "text", window=None) -> GraphMetrics:
    """Graph metrics of Swanson et al. (see the module docstring).

    Parameters
    ----------
    frame : Frame
        A periodic configuration.
    b_type : int
        The small species (LAMMPS numbering; 2 = B of Kob-Andersen): it sends the edges
        (``"text"``), or the kept edges touch it (``"code"``).
    a_type : int
        The type counted in ``n_isolated_a``.
    n_neighbors : int
        Nearest neighbours per particle (2 in Swanson et al.).
    construction : {"text", "code"}
        The paper's text or the authors' code (module docstring).
    window : Window or array_like of int, optional
        Evaluate on these particles only (a :class:`glassdyn.windows.Window` or frame rows), as a
        non-periodic set (their wrapped positions); default the whole, periodic configuration.

    Returns
    -------
    GraphMetrics
        Per-particle arrays have the frame's N rows; with a window the others are not members.

    Examples
    --------
    >>> gm = graph_metrics(frame)                                  # doctest: +SKIP
    >>> gm.counts()                                                # doctest: +SKIP
    {'n_components': 310, 'n_bb_edges': 95, 'n_isolated_a': 402, 'n_edges': 2680}
    >>> from glassdyn.windows import random_windows                # doctest: +SKIP
    >>> w = random_windows(frame, 1, 0.3, seed=0)[0]               # doctest: +SKIP
    >>> graph_metrics(frame, construction="code", window=w).n_bb_edges    # doctest: +SKIP
    """
    if construction not in CONSTRUCTIONS:
        raise InputError(f"unknown graph construction {construction!r}; choose one of {', '.join(CONSTRUCTIONS)}")
    n_neighbors = int(n_neighbors)
    if n_neighbors < 1:
        raise InputError(f"n_neighbors must be >= 1, got {n_neighbors}")
    n = frame.n_atoms
    params = {"n_neighbors": n_neighbors, "construction": construction, "window": window is not None}
    t = frame.types
    if window is None:
        rows = np.arange(n)
        b_rows = np.flatnonzero(t == b_type)
        if construction == "text":
            if len(b_rows) == 0:
                return metrics_from_edges(t, np.zeros((0, 2), np.int64), b_type=b_type, a_type=a_type, params=params)
            nbr, _ = nearest_neighbors(frame, n_neighbors, b_rows)
            src = np.repeat(b_rows, n_neighbors)
        else:
            nbr, _ = nearest_neighbors(frame, n_neighbors)
            src = np.repeat(rows, n_neighbors)
        edges = np.column_stack([src, nbr.ravel()])
        members = None
    else:
        rows = np.asarray(getattr(window, "indices", window), dtype=np.int64).reshape(-1)
        if rows.size == 0:
            raise InputError("the window holds no particle", source=frame.source, frame=frame.index)
        if rows.size <= n_neighbors:
            raise InputError(f"a window of {rows.size} particles cannot give {n_neighbors} nearest neighbours each",
                             source=frame.source, frame=frame.index)
        pos = window_positions(frame, rows)
        local = np.arange(rows.size) if construction == "code" else np.flatnonzero(t[rows] == b_type)
        if local.size:
            nb = _local_knn(pos, local, n_neighbors)
            edges = np.column_stack([rows[np.repeat(local, n_neighbors)], rows[nb.ravel()]])
        else:
            edges = np.zeros((0, 2), np.int64)
        members = np.zeros(n, dtype=bool)
        members[rows] = True
    if construction == "code":
        keep = (t[edges[:, 0]] == b_type) | (t[edges[:, 1]] == b_type)
        edges = edges[keep]
    return metrics_from_edges(t, edges, b_type=b_type, a_type=a_type, members=members, params=params)


def undirected_weights(src, dst, weights, n: int | None = None, *, reduce: str = "sum"):
    """Weights of directed edges as weights of bonds (unordered pairs) and per-particle sums.

    Parameters
    ----------
    src, dst : array_like of int, shape (E,)
        Directed edges ``src -> dst``.
    weights : array_like, shape (E,)
        One weight per directed edge.
    n : int, optional
        Number of particles (default ``max(src, dst) + 1``).
    reduce : {"sum", "mean"}
        How the two directions of a bond combine.

    Returns
    -------
    pairs : ndarray of int64, shape (M, 2)
        Distinct bonds ``(i, j)`` with ``i < j``, sorted.
    bond : ndarray, shape (M,)
        Weight of each bond.
    atom : ndarray, shape (n,)
        Sum of the weights of the bonds touching each particle.
    """
    s = np.asarray(src, dtype=np.int64).reshape(-1)
    d = np.asarray(dst, dtype=np.int64).reshape(-1)
    w = np.asarray(weights, dtype=float).reshape(-1)
    if not (s.shape == d.shape == w.shape):
        raise InputError(f"src, dst and weights must have one entry per edge, got {s.size}, {d.size}, {w.size}")
    if reduce not in ("sum", "mean"):
        raise InputError(f"reduce must be 'sum' or 'mean', got {reduce!r}")
    if n is None:
        n = int(max(s.max(initial=-1), d.max(initial=-1)) + 1)
    lo, hi = np.minimum(s, d), np.maximum(s, d)
    keys, inv = np.unique(lo * n + hi, return_inverse=True)
    bond = np.bincount(inv, weights=w, minlength=len(keys))
    if reduce == "mean":
        bond = bond / np.bincount(inv, minlength=len(keys))
    pairs = np.column_stack([keys // n, keys % n]).astype(np.int64)
    atom = np.bincount(pairs[:, 0], weights=bond, minlength=n) + np.bincount(pairs[:, 1], weights=bond, minlength=n)
    return pairs, bond, atom
