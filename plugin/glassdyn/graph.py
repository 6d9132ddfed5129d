"""Graph metrics of Swanson et al. (Soft Matter 2020) for binary glass formers.

Every particle of the small species B is joined by an edge to each of its two nearest
neighbours (any species, periodic minimum images). On the graph made by those edges:

(a) ``n_components``: connected components among the particles that touch at least one edge
    (particles touching no edge are not counted as components);
(b) ``n_bb_edges``: distinct B-B edges (an edge chosen by both of its ends counts once);
(c) ``n_isolated_a``: A particles touching no edge.

Per-particle flags come with them: the degree (distinct edges touching the particle), the
component label (-1 for particles touching no edge), the size of that component, and whether
the particle is an A particle touching no edge.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .errors import InputError
from .frame import Frame
from .neighbors import neighbor_list

__all__ = ["GraphMetrics", "graph_metrics", "nearest_neighbors"]


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


def graph_metrics(frame: Frame, b_type: int = 2, a_type: int = 1, n_neighbors: int = 2) -> GraphMetrics:
    """Graph metrics of Swanson et al. (see the module docstring).

    Parameters
    ----------
    frame : Frame
        A periodic configuration.
    b_type : int
        The type whose particles send edges (LAMMPS numbering; 2 = B of Kob-Andersen).
    a_type : int
        The type counted in ``n_isolated_a``.
    n_neighbors : int
        Edges per B particle (2 in Swanson et al.).

    Returns
    -------
    GraphMetrics
    """
    n = frame.n_atoms
    b_rows = np.flatnonzero(frame.types == b_type)
    params = {"b_type": b_type, "a_type": a_type, "n_neighbors": n_neighbors}
    if len(b_rows) == 0:
        empty = np.zeros(n, dtype=np.int64)
        return GraphMetrics(0, 0, int(np.sum(frame.types == a_type)), 0, np.zeros((0, 2), dtype=np.int64),
                            empty, empty - 1, empty, frame.types == a_type, params)
    nbr, _ = nearest_neighbors(frame, n_neighbors, b_rows)
    src = np.repeat(b_rows, n_neighbors)
    dst = nbr.ravel()
    lo, hi = np.minimum(src, dst), np.maximum(src, dst)
    edges = np.unique(lo * n + hi)
    e0, e1 = edges // n, edges % n
    degree = np.bincount(e0, minlength=n) + np.bincount(e1, minlength=n)
    adj = coo_matrix((np.ones(len(e0)), (e0, e1)), shape=(n, n)).tocsr()
    _, labels = connected_components(adj, directed=False)
    touched = degree > 0
    uniq, comp = np.unique(labels[touched], return_inverse=True)
    component = np.full(n, -1, dtype=np.int64)
    component[touched] = comp
    sizes = np.bincount(comp, minlength=len(uniq))
    component_size = np.zeros(n, dtype=np.int64)
    component_size[touched] = sizes[comp]
    t = frame.types
    n_bb = int(np.sum((t[e0] == b_type) & (t[e1] == b_type)))
    isolated_a = (t == a_type) & ~touched
    return GraphMetrics(len(uniq), n_bb, int(isolated_a.sum()), len(edges), np.column_stack([e0, e1]),
                        degree.astype(np.int64), component, component_size, isolated_a, params)
