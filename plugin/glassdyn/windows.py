"""Random square windows of a 2D configuration, their images and k-nearest-neighbour graphs.

This is the data side of the liquid/glass classifiers of Swanson et al. (CNN on images of a
configuration, D-MPNN on nearest-neighbour graphs of random windows; see :mod:`glassdyn.deep`).
It needs numpy and scipy only.

Conventions
-----------
* Windows live in *scaled* (fractional) coordinates ``s = to_fractional(r)`` wrapped into
  ``[0, 1)``: a window of side ``w`` has its lower corner ``(x0, y0)`` drawn uniformly in
  ``[0, 1 - w]`` and holds the particles with ``x0 <= s_x < x0 + w`` and ``y0 <= s_y < y0 + w``.
  Windows are not periodic (they never wrap around the box).
* Images are RGB ``uint8`` arrays of shape ``(pixels, pixels, 3)``: row 0 is the *top* of the
  window (largest ``s_y``), column 0 its left edge (smallest ``s_x``), as an image viewer shows
  it. Particles are drawn as filled discs of radius ``sigma_tt / 2`` (Kob-Andersen: 0.5 for type
  1, 0.44 for type 2, in length units) on a white background; pixels are hard (no
  anti-aliasing) and a pixel covered by several discs takes the colour of the particle listed
  last in the window, so the image is a deterministic function of its input.
* Graphs are lists of directed edges ``src -> dst`` with the Euclidean distance in length units.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from .errors import InputError
from .frame import Frame

__all__ = [
    "DEFAULT_COLOURS",
    "DEFAULT_RADII",
    "Window",
    "knn_graph",
    "random_windows",
    "scaled_positions",
    "side_range",
    "tile_windows",
    "window_image",
]

#: Colours of particle types in images (type 1 orange, type 2 blue, as matplotlib's first two
#: default colours, which the paper's images use); further types take the next tab10 colours.
DEFAULT_COLOURS: dict[int, tuple[int, int, int]] = {
    1: (255, 127, 14), 2: (31, 119, 180), 3: (44, 160, 44), 4: (214, 39, 40), 5: (148, 103, 189),
    6: (140, 86, 75), 7: (227, 119, 194), 8: (127, 127, 127), 9: (188, 189, 34), 10: (23, 190, 207),
}
#: Disc radii in length units: half the Kob-Andersen sigma_AA = 1 and sigma_BB = 0.88.
DEFAULT_RADII: dict[int, float] = {1: 0.5, 2: 0.44}
_FALLBACK_RADIUS = 0.5


@dataclass(frozen=True, eq=False)
class Window:
    """A square window of a configuration, in scaled coordinates.

    Attributes
    ----------
    indices : ndarray of int64, shape (n,)
        Rows of the frame's arrays (not atom ids) of the particles inside the window, increasing.
    origin : ndarray, shape (2,)
        Lower-left corner ``(x0, y0)`` in scaled units.
    side : float
        Side length in scaled units (fraction of the box edge).
    """

    indices: np.ndarray
    origin: np.ndarray
    side: float

    def __post_init__(self):
        idx = np.array(self.indices, dtype=np.int64).reshape(-1)
        idx.setflags(write=False)
        org = np.array(self.origin, dtype=float).reshape(2)
        org.setflags(write=False)
        object.__setattr__(self, "indices", idx)
        object.__setattr__(self, "origin", org)
        object.__setattr__(self, "side", float(self.side))

    @property
    def n(self) -> int:
        """Number of particles in the window."""
        return int(self.indices.size)

    def contains(self, scaled: np.ndarray) -> np.ndarray:
        """Boolean mask of the scaled positions (M, 2) that lie inside the window."""
        s = np.asarray(scaled, dtype=float)
        return np.all((s >= self.origin) & (s < self.origin + self.side), axis=1)

    def __eq__(self, other):
        if not isinstance(other, Window):
            return NotImplemented
        return (self.side == other.side and np.array_equal(self.origin, other.origin)
                and np.array_equal(self.indices, other.indices))

    def __repr__(self):
        return (f"Window(n={self.n}, origin=({self.origin[0]:.4f}, {self.origin[1]:.4f}), "
                f"side={self.side:.4f})")


def _require_2d(frame: Frame, what: str) -> None:
    if frame.dimension != 2:
        raise InputError(f"{what} needs a 2D configuration, this frame is {frame.dimension}D",
                         source=frame.source, frame=frame.index)


def scaled_positions(frame: Frame) -> np.ndarray:
    """Scaled (fractional) coordinates of every particle, wrapped into ``[0, 1)``."""
    f = np.asarray(frame.box.to_fractional(frame.positions), dtype=float)
    f = f - np.floor(f)
    f[f >= 1.0] = 0.0  # -1e-17 - floor(-1e-17) rounds to 1.0
    return f


def side_range(side) -> tuple[float, float]:
    """(lo, hi) window side in scaled units: a fixed side (a number) or a range, checked to lie in (0, 1]."""
    if isinstance(side, (int, float, np.integer, np.floating)):
        lo = hi = float(side)
    else:
        try:
            lo, hi = (float(v) for v in side)
        except (TypeError, ValueError):
            raise InputError(f"window side must be a number or a (low, high) pair, got {side!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and 0.0 < lo <= hi <= 1.0):
        raise InputError(f"window side must satisfy 0 < low <= high <= 1 (scaled units), got {side!r}")
    return lo, hi


def random_windows(frame: Frame, n_windows: int, side=(0.1, 0.3), *, seed) -> list[Window]:
    """Draw ``n_windows`` random square windows of a 2D frame.

    Parameters
    ----------
    frame : Frame
        A 2D configuration.
    n_windows : int
        Number of windows (>= 0).
    side : float or (float, float)
        Side in scaled units: fixed, or drawn uniformly from ``[low, high]`` for each window.
        ``side=1`` is the whole configuration.
    seed : int, SeedSequence or numpy Generator
        Passed to :func:`numpy.random.default_rng`; the same seed gives the same windows.

    Returns
    -------
    list of Window

    Raises
    ------
    InputError
        For a 3D frame, a side outside ``(0, 1]`` or a window that holds no particle (it names
        the frame's source and index; use larger windows).
    """
    _require_2d(frame, "random_windows")
    n_windows = int(n_windows)
    if n_windows < 0:
        raise InputError(f"n_windows must be >= 0, got {n_windows}", source=frame.source, frame=frame.index)
    lo, hi = side_range(side)
    rng = np.random.default_rng(seed)
    sides = np.full(n_windows, lo) if lo == hi else rng.uniform(lo, hi, size=n_windows)
    origins = rng.uniform(0.0, 1.0, size=(n_windows, 2)) * (1.0 - sides)[:, None]
    s = scaled_positions(frame)
    out = []
    for k in range(n_windows):
        o, w = origins[k], float(sides[k])
        idx = np.flatnonzero(np.all((s >= o) & (s < o + w), axis=1))
        if idx.size == 0:
            raise InputError(f"window {k} (origin ({o[0]:.4f}, {o[1]:.4f}), side {w:.4f} in scaled units) "
                             f"holds no particle of the {frame.n_atoms}; use larger windows",
                             source=frame.source, frame=frame.index)
        out.append(Window(idx, o, w))
    return out


def tile_windows(frame: Frame, side: float) -> list[Window]:
    """Cover a 2D configuration with non-overlapping square windows (tiles).

    ``n = ceil(1 / side)`` tiles per box edge, each of side ``1 / n`` (<= ``side``) in scaled units;
    every particle lies in exactly one tile (tile ``(i, j)`` holds ``floor(n s) = (i, j)``). Used to
    apply a classifier trained on windows of about ``side`` to a whole configuration, e.g. to map
    the D-MPNN's attention onto every particle. Empty tiles are left out.

    Parameters
    ----------
    frame : Frame
        A 2D configuration.
    side : float
        Largest tile side in scaled units, in (0, 1].

    Returns
    -------
    list of Window
        Row-major order (x fastest); ``Window.origin`` is the tile's lower-left corner.
    """
    _require_2d(frame, "tile_windows")
    lo, _ = side_range(side)
    n = int(np.ceil(1.0 / lo - 1e-9))
    s = scaled_positions(frame)
    cell = np.minimum(np.floor(s * n).astype(np.int64), n - 1)
    key = cell[:, 1] * n + cell[:, 0]
    order = np.argsort(key, kind="stable")
    uniq, start = np.unique(key[order], return_index=True)
    stops = np.append(start[1:], len(order))
    out = []
    for k, a, b in zip(uniq, start, stops):
        j, i = divmod(int(k), n)
        out.append(Window(np.sort(order[a:b]), (i / n, j / n), 1.0 / n))
    return out


def _lookup(table: Mapping | Sequence | None, default: Mapping, types: np.ndarray, what: str):
    """Per-type values from a mapping {type: value} or a sequence indexed by ``type - 1``."""
    values = {}
    for t in np.unique(types):
        t = int(t)
        v = None
        if table is not None:
            if isinstance(table, Mapping):
                v = table.get(t)
            elif 1 <= t <= len(table):
                v = table[t - 1]
        if v is None:
            v = default.get(t)
        if v is None:
            if what == "colour":
                palette = list(DEFAULT_COLOURS.values())
                v = palette[(t - 1) % len(palette)]
            else:
                v = _FALLBACK_RADIUS
        values[t] = v
    return values


def window_image(frame: Frame, window: Window, pixels: int = 250, *, colours=None, radii=None) -> np.ndarray:
    """Rasterise the particles of a window as coloured discs.

    Parameters
    ----------
    frame : Frame
        The 2D configuration the window was drawn from.
    window : Window
        The window; only its particles are drawn (discs are clipped at the window's edges).
    pixels : int
        Image side in pixels (the paper's images are 250 x 250).
    colours : mapping {type: (r, g, b)} or sequence indexed by type - 1, optional
        Colours (0-255); default :data:`DEFAULT_COLOURS` (type 1 orange, type 2 blue).
    radii : mapping {type: radius} or sequence, optional
        Disc radii in length units; default :data:`DEFAULT_RADII` (0.5 and 0.44).

    Returns
    -------
    ndarray of uint8, shape (pixels, pixels, 3)
        White background; row 0 is the top of the window.

    Notes
    -----
    A disc is the set of points within its radius in *Cartesian* space, so in a non-square or
    triclinic box (where the window is a parallelogram in space) it becomes an ellipse in the
    image. The work is vectorised over (particle, pixel offset) pairs, in chunks of about a
    million pairs.
    """
    _require_2d(frame, "window_image")
    pixels = int(pixels)
    if pixels < 1:
        raise InputError(f"pixels must be >= 1, got {pixels}", source=frame.source, frame=frame.index)
    img = np.full((pixels, pixels, 3), 255, dtype=np.uint8)
    idx = np.asarray(window.indices, dtype=np.int64)
    if idx.size == 0:
        return img
    types = frame.types[idx]
    col_of = _lookup(colours, DEFAULT_COLOURS, types, "colour")
    rad_of = _lookup(radii, DEFAULT_RADII, types, "radius")
    utypes = np.array(sorted(col_of), dtype=np.int64)
    rad = np.array([float(rad_of[int(t)]) for t in utypes])[np.searchsorted(utypes, types)]
    if np.any(~np.isfinite(rad)) or np.any(rad < 0):
        raise InputError("disc radii must be finite and non-negative", source=frame.source, frame=frame.index)

    # pixel coordinates: p = (s - origin) / side * pixels, x to the right, y upwards
    p = (scaled_positions(frame)[idx] - window.origin) / window.side * pixels
    # Cartesian displacement of a pixel offset dp: d = dp @ A; |d|^2 = dp G dp^T
    a = (window.side / pixels) * frame.box.matrix
    g = a @ a.T
    ginv = np.linalg.inv(g)
    rmax = float(rad.max())
    ext = np.ceil(rmax * np.sqrt(np.diag(ginv))).astype(int) + 1  # half-extent in pixels (x, y)
    c0 = np.floor(p).astype(np.int64)
    r2 = rad * rad
    winner = np.full(pixels * pixels, -1, dtype=np.int64)
    oy, ox = np.mgrid[-ext[1]:ext[1] + 1, -ext[0]:ext[0] + 1]
    offsets = np.stack([ox.ravel(), oy.ravel()], axis=1)  # (K, 2) pixel offsets of the bounding box
    chunk = max(1, 1_000_000 // len(offsets))  # particles per pass: about 1e6 (particle, offset) pairs
    for start in range(0, idx.size, chunk):
        sl = slice(start, min(start + chunk, idx.size))
        cx = c0[sl, None, 0] + offsets[None, :, 0]  # (P, K)
        cy = c0[sl, None, 1] + offsets[None, :, 1]
        dx = cx + 0.5 - p[sl, None, 0]
        dy = cy + 0.5 - p[sl, None, 1]
        q = g[0, 0] * dx * dx + 2.0 * g[0, 1] * dx * dy + g[1, 1] * dy * dy
        ok = (q <= r2[sl, None]) & (cx >= 0) & (cx < pixels) & (cy >= 0) & (cy < pixels)
        who = np.broadcast_to(np.arange(sl.start, sl.stop, dtype=np.int64)[:, None], ok.shape)
        flat = (pixels - 1 - cy[ok]) * pixels + cx[ok]  # row 0 at the top
        np.maximum.at(winner, flat, who[ok])
    hit = winner >= 0
    palette = np.array([col_of[int(t)] for t in utypes], dtype=np.int64)
    if np.any(palette < 0) or np.any(palette > 255) or palette.shape[1:] != (3,):
        raise InputError("colours must be (r, g, b) triples in 0..255", source=frame.source, frame=frame.index)
    ptype = np.searchsorted(utypes, types)
    img.reshape(-1, 3)[hit] = palette[ptype[winner[hit]]].astype(np.uint8)
    return img


def knn_graph(positions, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Symmetrised k-nearest-neighbour graph of a set of points (not periodic).

    Every point ``i`` is joined to its ``k`` nearest other points ``j`` (all others when there
    are fewer than ``k``); the edge set is the union of ``i -> j`` and ``j -> i``, each directed
    edge once, sorted by ``(src, dst)``. Ties at the k-th distance are broken by scipy's cKDTree.

    Parameters
    ----------
    positions : array_like, shape (n, d)
        Coordinates (length units).
    k : int
        Number of neighbours (>= 1).

    Returns
    -------
    src, dst : ndarray of int64, shape (E,)
        Directed edges ``src -> dst``; for every edge its reverse is present.
    dist : ndarray of float64, shape (E,)
        Euclidean length of each edge.
    """
    pos = np.asarray(positions, dtype=float)
    if pos.ndim != 2:
        raise InputError(f"positions must have shape (n, d), got {pos.shape}")
    if not np.all(np.isfinite(pos)):
        raise InputError("positions must be finite")
    k = int(k)
    if k < 1:
        raise InputError(f"k must be >= 1, got {k}")
    n = len(pos)
    kk = min(k, n - 1)
    if kk < 1:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0)
    _, nb = cKDTree(pos).query(pos, k=kk + 1)
    nb = np.asarray(nb, dtype=np.int64).reshape(n, kk + 1)
    not_self = nb != np.arange(n)[:, None]
    # with coincident points the point itself may not come first (or at all): keep the first kk others
    first = np.argsort(~not_self, axis=1, kind="stable")[:, :kk]
    nb = np.take_along_axis(nb, first, axis=1)
    src = np.repeat(np.arange(n, dtype=np.int64), kk)
    dst = nb.reshape(-1)
    keys = np.unique(np.concatenate([src * n + dst, dst * n + src]))
    src, dst = keys // n, keys % n
    dist = np.linalg.norm(pos[dst] - pos[src], axis=1)
    return src, dst, dist
