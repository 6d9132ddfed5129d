"""Per-particle Voronoi cell measures: plain and radical (power, Laguerre) tessellations.

The information-imbalance local density ``rho_bar_i(L)`` averages, over the particles ``j``
within ``L`` of ``i``, a *per-particle* density ``rho_j = 1 / |cell_j|`` and area fraction
``phi_j = |particle_j| / |cell_j|``. This module gives ``|cell_j|`` (area in 2D, volume in 3D)
for every particle of a periodic :class:`~glassdyn.frame.Frame`:

``method="voronoi"``
    Plain Voronoi: ``x`` belongs to the cell of ``j`` minimising ``|x - x_j|^2``.
``method="radical"``
    Radical (power, Laguerre) Voronoi for size-polydisperse mixtures: ``x`` belongs to the
    cell of ``j`` minimising ``|x - x_j|^2 - R_j^2`` (minimum image). The cells still tile the
    box; a large particle gets a larger cell than plain Voronoi gives it. A small particle
    can have *no* cell (its disc lies in the cells of larger neighbours); that is an error.

Method
------
Both tessellations are computed by one route (plain Voronoi is the case ``R = 0``):

1. Periodic images of the particles within a *skin* around the primary cell are added
   (all of them: the kept region is the primary cell widened by ``skin`` along every face
   normal, so triclinic boxes work the same way).
2. The points are lifted to ``(x, (|x|^2 - R^2) / S)`` in ``d + 1`` dimensions (``S`` is a
   length, only for conditioning) and :class:`scipy.spatial.ConvexHull` (qhull) computes
   their hull. Its lower facets form the regular (weighted Delaunay) triangulation, and the
   vertex of the power diagram dual to a facet, its power centre ``c``, follows from the
   facet's plane ``n.x + n_z z + b = 0`` as ``c = -S n / (2 n_z)``. Co-circular or
   co-spherical points (lattices) give merged facets that qhull triangulates (``Qt``); the
   triangles of one merged facet share its plane, hence one power centre, so their
   degenerate dual edges have zero length and do no harm.
3. The measure of a cell is a sum of signed pyramids from the particle's position:
   ``|cell_i| = sum_j |F_ij| h_ij / d`` over the triangulation edges ``ij``, with ``F_ij``
   the face shared with ``j`` (2D: the segment between the power centres of the two
   triangles on the edge; 3D: the convex polygon of the power centres of the tetrahedra
   around the edge, ordered by angle about its centroid) and ``h_ij = (|x_ij|^2 + R_i^2 -
   R_j^2) / (2 |x_ij|)`` the signed distance from ``x_i`` to the face's plane. The sign
   matters: a power cell need not contain its own particle.
4. The skin is checked: every simplex touching a primary particle must be one of the
   infinite periodic tessellation. That holds when no point outside the kept region can lie
   in its power ball, i.e. when the ball about ``c`` of radius ``sqrt(rho^2 + R_max^2)``
   (``rho^2`` the power radius of the simplex) lies inside the region, and when no primary
   particle is on the hull's rim (an unclosed cell). Otherwise the skin is widened to what
   the failing simplices need and the hull is recomputed; after a few tries an
   :class:`~glassdyn.errors.InputError` names the atoms whose cells could not be closed.
   The first skin, 3.0 (2D) or 2.2 (3D) mean spacings ``(V/N)^(1/d)``, closes every cell
   of dense liquids and lattices at the first try (they need 1.5-2.0 spacings); uniformly
   random (ideal-gas) points need 2.3-2.9 and so, in 3D, a second hull.

Everything is vectorised (numpy over simplices and edges; qhull in C); the only Python loops
run over the ``3^d`` image shifts, the ``d + 1`` facet edges, and the few skin retries.

Timings
-------
Measured on the project's 2-core machine while a simulation kept both cores busy (load
average 4-7, so an idle machine is faster), best of 2-3 runs, on dense binary soft-sphere
configurations at number density 1.2; the radical method costs the same as the plain one
(within 20 %), and uniformly random (Poisson) points may cost a second hull:

==========  =================  ===============  ==========================================
N, dim      this module        freud 3.4        scipy.spatial.Voronoi (same images)
==========  =================  ===============  ==========================================
4,000, 2D   0.02-0.04 s        0.10 s           0.14 s to build, + 0.16 s Python loop
100,000 2D  1.4-1.7 s          3.2 s            2.9 s to build, + 3.4 s Python loop
4,000, 3D   0.5 s              0.13 s           0.76 s to build, + 13 s (a hull per cell)
==========  =================  ===============  ==========================================

80-90 % of the time is qhull's hull; ``ConvexHull`` of the lifted points and ``Delaunay``
of the plain ones take the same time within the noise (+-25 %), and neither point order nor
the qhull options ``Q3 Q5 Q8`` change it by more. ``scipy.spatial.Voronoi`` builds the same
qhull triangulation and then the diagram, so it is slower before its ragged regions are even
read (a Python loop over particles), and it takes no weights. freud (voro++, C++, float32
positions: results agree to 1e-6-1e-5, to 1e-13 for float32-exact input) is 4 times faster in 3D
but slower in 2D, computes plain Voronoi only (freud 3.4's ``locality.Voronoi`` takes no
radii) and is not a core dependency. pyvoro2 (voro++ with power cells) was not measured;
it runs the same voro++ cell algorithm.
"""
from __future__ import annotations

from itertools import product

import numpy as np
from scipy.spatial import ConvexHull, QhullError, cKDTree

from .errors import InputError
from .frame import Frame

__all__ = ["METHODS", "cell_measures", "voronoi_area_fraction", "voronoi_density"]

#: The tessellations :func:`cell_measures` knows.
METHODS = ("voronoi", "radical")

# First skin, in mean interparticle spacings (V/N)^(1/d), by dimension (see the module doc).
_SKIN0 = {2: 3.0, 3: 2.2}
# Widening of the skin at a retry (times what the failing simplices need) and retries.
_SKIN_GROWTH = 1.1
_MAX_TRIES = 8
# Refuse a skin that would hold more than this many points per particle (memory guard).
_MAX_IMAGE_FACTOR = 60
# Lower-hull facets have outward normals with n_z < -_LOWER_TOL (unit normals).
_LOWER_TOL = 1e-12


# ---------------------------------------------------------------------------- input checks
def _error(frame: Frame, message: str, rows=None) -> InputError:
    ids = None if rows is None else np.asarray(frame.ids)[np.asarray(rows, dtype=np.int64)]
    return InputError(message, source=frame.source, frame=frame.index, atom_ids=ids)


def _check_method(frame: Frame, method: str) -> str:
    if method not in METHODS:
        raise _error(frame, f"unknown Voronoi method {method!r}; use one of {', '.join(map(repr, METHODS))}")
    return method


def _check_radii(frame: Frame, radii, required: bool, what: str) -> np.ndarray | None:
    """Radii as a float array of shape (N,), all finite and positive (None if not given)."""
    if radii is None:
        if required:
            raise _error(frame, f"{what} needs per-particle radii, an array of shape ({frame.n_atoms},)")
        return None
    r = np.asarray(radii, dtype=float)
    if r.shape != (frame.n_atoms,):
        raise _error(frame, f"radii must have shape ({frame.n_atoms},) (one per particle, in frame order), "
                            f"got shape {r.shape}")
    bad = ~(np.isfinite(r) & (r > 0))
    if bad.any():
        raise _error(frame, f"radii must be positive and finite; {int(bad.sum())} are not "
                            f"(e.g. {r[bad][0]!r})", np.flatnonzero(bad))
    return r


# ---------------------------------------------------------------------------- geometry
def _images(frac: np.ndarray, reach: np.ndarray):
    """Points of the primary cell and their images with fractional coordinates in
    ``(-reach, 1 + reach)``; primary points first. Returns (fractional (M, d), owner (M,))."""
    n = len(frac)
    layers = np.ceil(reach).astype(int)
    shifts = [s for s in product(*[range(-k, k + 1) for k in layers]) if any(s)]
    parts, owners = [frac], [np.arange(n)]
    for s in shifts:  # a handful (3^d for a skin narrower than the box)
        g = frac + np.asarray(s, dtype=float)
        keep = np.all((g > -reach) & (g < 1.0 + reach), axis=1)
        if keep.any():
            parts.append(g[keep])
            owners.append(np.flatnonzero(keep))
    return np.concatenate(parts), np.concatenate(owners)


def _face_area_3d(y: np.ndarray, lo: np.ndarray, hi: np.ndarray, centres: np.ndarray):
    """Area of the polygon of power centres around each edge (lo, hi), grouped by edge.

    ``lo, hi, centres`` have one row per (edge, tetrahedron) incidence. Returns
    ``(edge_lo, edge_hi, area)`` with one row per distinct edge.
    """
    key = lo * np.int64(len(y)) + hi
    order = np.argsort(key, kind="stable")
    key, lo, hi, centres = key[order], lo[order], hi[order], centres[order]
    start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    count = np.diff(np.r_[start, len(key)])
    gid = np.repeat(np.arange(len(start)), count)
    e_lo, e_hi = lo[start], hi[start]
    centroid = np.add.reduceat(centres, start, axis=0) / count[:, None]
    # orthonormal basis (u, v) of the plane normal to the edge
    e = y[e_hi] - y[e_lo]
    e /= np.linalg.norm(e, axis=1)[:, None]
    helper = np.zeros_like(e)
    helper[np.arange(len(e)), np.argmin(np.abs(e), axis=1)] = 1.0
    u = np.cross(e, helper)
    u /= np.linalg.norm(u, axis=1)[:, None]
    v = np.cross(e, u)
    rel = centres - centroid[gid]
    pu = np.einsum("ij,ij->i", rel, u[gid])
    pv = np.einsum("ij,ij->i", rel, v[gid])
    order = np.lexsort((np.arctan2(pv, pu), gid))  # the face is convex: sort about its centroid
    pu, pv = pu[order], pv[order]
    nxt = np.arange(1, len(pu) + 1)
    nxt[start + count - 1] = start  # close each polygon
    area = 0.5 * np.add.reduceat(pu * pv[nxt] - pv * pu[nxt], start)
    return e_lo, e_hi, np.abs(area)


def _power_cells(frame: Frame, radii: np.ndarray | None) -> np.ndarray:
    """Cell measures of the power diagram with weights ``radii**2`` (plain Voronoi if None)."""
    box = frame.box
    d = frame.dimension
    n = frame.n_atoms
    pos = np.asarray(frame.positions, dtype=float)
    bad = ~np.all(np.isfinite(pos), axis=1)
    if bad.any():
        raise _error(frame, f"{int(bad.sum())} particles have NaN or infinite coordinates", np.flatnonzero(bad))
    matrix = box.matrix
    inv = np.linalg.inv(matrix)
    widths = box.widths
    frac = (pos - box.origin) @ inv
    frac -= np.floor(frac)
    frac[frac >= 1.0] = 0.0  # floor rounding
    w = np.zeros(n) if radii is None else radii ** 2
    w_max = float(w.max())
    spacing = (box.volume / n) ** (1.0 / d)
    skin = _SKIN0[d] * spacing

    for attempt in range(_MAX_TRIES):
        reach = skin / widths
        ext_frac, owner = _images(frac, reach)
        y = (ext_frac - 0.5) @ matrix  # centred on the primary cell
        wext = w[owner]
        m = len(y)
        scale = float(np.sqrt(np.einsum("ij,ij->i", y, y).max())) or 1.0
        lifted = np.empty((m, d + 1))
        lifted[:, :d] = y
        lifted[:, d] = (np.einsum("ij,ij->i", y, y) - wext) / scale
        try:
            hull = ConvexHull(lifted, qhull_options="Qt")
        except QhullError as exc:  # pragma: no cover - needs a degenerate frame
            raise _error(frame, f"qhull could not tessellate the frame: {str(exc).splitlines()[0]}") from exc
        eq = hull.equations
        simplices = hull.simplices
        lower = eq[:, d] < -_LOWER_TOL
        simp = simplices[lower]
        on_primary = simp < n

        # Every primary particle must be a vertex of the lower hull, away from its rim (a
        # primary vertex of a non-lower facet has an open cell: more images needed) ...
        rim = np.zeros(n, dtype=bool)
        upper = simplices[~lower]
        rim[upper[upper < n]] = True
        has_cell = np.zeros(n, dtype=bool)
        has_cell[simp[on_primary]] = True
        if not (has_cell | rim).all():  # fewer points only enlarge cells: these are truly empty
            _raise_missing(frame, y, owner, n, np.flatnonzero(~(has_cell | rim)), spacing, radii is not None)

        # ... and every simplex at a primary particle must be a simplex of the periodic tessellation.
        centres = -0.5 * scale * eq[lower, :d] / eq[lower, d:d + 1]
        touches = on_primary.any(axis=1)
        c_t = centres[touches]
        v0 = simp[touches, 0]
        rho2 = np.einsum("ij,ij->i", c_t - y[v0], c_t - y[v0]) - wext[v0]
        ball = np.sqrt(np.maximum(rho2 + w_max, 0.0))
        fc = c_t @ inv + 0.5
        room = np.minimum(fc + reach, 1.0 + reach - fc) * widths  # distance to the region's faces
        need = (ball[:, None] - room).max(axis=1)  # > 0: the power ball leaves the region
        short = need > 0.0
        if not short.any() and not rim.any():
            break
        extra = float(need[short].max()) if short.any() else 0.0
        new_skin = _SKIN_GROWTH * (skin + extra)
        if rim.any():
            new_skin = max(new_skin, 2.0 * skin, skin + spacing)
        # simplices on the rim of a too-thin layer of images can be huge: grow step by step
        new_skin = min(new_skin, max(3.0 * skin, skin + 2.0 * spacing))
        too_many = n * float(np.prod(1.0 + 2.0 * new_skin / widths)) > _MAX_IMAGE_FACTOR * n + 1000
        if attempt == _MAX_TRIES - 1 or too_many:
            rows = np.unique(np.r_[simp[touches][short][on_primary[touches][short]], np.flatnonzero(rim)])
            raise _error(frame, f"could not close the Voronoi cells of {len(rows)} particles with periodic "
                                f"images up to {skin:g} length units outside the box (is the system "
                                "extremely dilute or clustered?)", rows)
        skin = new_skin

    if d == 2:
        return _measures_2d(y, wext, n, simp, centres, hull.neighbors[lower], lower)
    return _measures_3d(y, wext, n, simp, centres)


def _raise_missing(frame, y, owner, n, rows, spacing, radical):
    """Explain why some primary particles have no cell: coincident particles or empty power cells."""
    tree = cKDTree(y)
    pairs = tree.query_pairs(1e-8 * spacing, output_type="ndarray")
    if len(pairs):
        a, b = owner[pairs[:, 0]], owner[pairs[:, 1]]
        hit = np.isin(a, rows) | np.isin(b, rows)
        if hit.any():
            both = np.unique(np.r_[a[hit], b[hit]])
            raise _error(frame, f"{len(both)} particles coincide with another particle (or its periodic "
                                "image); a Voronoi tessellation needs distinct positions", both)
    if radical:
        raise _error(frame, f"{len(rows)} particles have an empty radical Voronoi cell (each lies wholly "
                            "in the power cells of larger neighbours); check the radii, or use "
                            "method='voronoi'", rows)
    raise _error(frame, f"{len(rows)} particles got no Voronoi cell from qhull (nearly coincident "
                        "particles?)", rows)


def _measures_2d(y, w, n, simp, centres, neighbors, lower):
    """Cell areas from the triangles of the regular triangulation; (n,) for the primary points."""
    t_index = np.full(len(lower), -1, dtype=np.int64)
    t_index[lower] = np.arange(int(lower.sum()))
    nb = t_index[neighbors]  # -1: across the rim
    tri = np.arange(len(simp))
    area = np.zeros(len(y))
    for k in range(3):  # edge opposite vertex k of each triangle
        a, b, other = simp[:, (k + 1) % 3], simp[:, (k + 2) % 3], nb[:, k]
        once = (other > tri) & ((a < n) | (b < n))  # each edge once, from its lower-numbered side
        a, b, t, other = a[once], b[once], tri[once], other[once]
        seg = centres[t] - centres[other]
        length = np.sqrt(np.einsum("ij,ij->i", seg, seg))
        ab = y[b] - y[a]
        d2 = np.einsum("ij,ij->i", ab, ab)
        dl = np.sqrt(d2)
        area += np.bincount(a, length * (d2 + w[a] - w[b]) / (4.0 * dl), minlength=len(y))
        area += np.bincount(b, length * (d2 + w[b] - w[a]) / (4.0 * dl), minlength=len(y))
    return area[:n]


def _measures_3d(y, w, n, simp, centres):
    """Cell volumes from the tetrahedra of the regular triangulation; (n,) for the primary points."""
    lo_parts, hi_parts, c_parts = [], [], []
    for p, q in ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)):
        a, b = simp[:, p], simp[:, q]
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        keep = lo < n
        lo_parts.append(lo[keep])
        hi_parts.append(hi[keep])
        c_parts.append(centres[keep])
    lo, hi, face = _face_area_3d(y, np.concatenate(lo_parts), np.concatenate(hi_parts),
                                 np.concatenate(c_parts))
    ab = y[hi] - y[lo]
    d2 = np.einsum("ij,ij->i", ab, ab)
    dl = np.sqrt(d2)
    vol = np.bincount(lo, face * (d2 + w[lo] - w[hi]) / (6.0 * dl), minlength=len(y))
    vol += np.bincount(hi, face * (d2 + w[hi] - w[lo]) / (6.0 * dl), minlength=len(y))
    return vol[:n]


# ---------------------------------------------------------------------------- public API
def cell_measures(frame: Frame, radii=None, *, method: str = "voronoi") -> np.ndarray:
    """Area (2D) or volume (3D) of every particle's Voronoi cell in the periodic box.

    Parameters
    ----------
    frame : Frame
        The configuration, 2D or 3D, orthorhombic or triclinic (fully periodic).
    radii : array_like, shape (N,), optional
        Particle radii (length units), in frame order; required for ``method="radical"``.
        With ``method="voronoi"`` they are checked but not used.
    method : {"voronoi", "radical"}
        ``"voronoi"``: plain Voronoi cells (closest particle centre). ``"radical"``: radical
        (power, Laguerre) cells, ``x`` belonging to the particle minimising
        ``|x - x_j|^2 - R_j^2`` (minimum image), the right cell for size-polydisperse systems.

    Returns
    -------
    ndarray, shape (N,)
        Cell measures in length^d, in frame order; they sum to the box volume.

    Raises
    ------
    InputError
        For an unknown method; radii of the wrong shape, not positive or missing when needed;
        coincident particles; particles with an empty radical cell; cells that periodic images
        cannot close. The message names the atom ids at fault.
    """
    method = _check_method(frame, method)
    r = _check_radii(frame, radii, method == "radical", "the radical Voronoi tessellation")
    return _power_cells(frame, r if method == "radical" else None)


def voronoi_density(frame: Frame, radii=None, *, method: str = "voronoi") -> np.ndarray:
    """Per-particle density ``rho_j = 1 / |cell_j|``.

    Parameters
    ----------
    frame, radii, method
        As for :func:`cell_measures`.

    Returns
    -------
    ndarray, shape (N,)
        Number density of every particle's cell, in length^-d, frame order.
    """
    return 1.0 / cell_measures(frame, radii, method=method)


def voronoi_area_fraction(frame: Frame, radii, *, method: str = "voronoi") -> np.ndarray:
    """Per-particle area (2D) or volume (3D) fraction ``phi_j = |particle_j| / |cell_j|``.

    Parameters
    ----------
    frame : Frame
        The configuration.
    radii : array_like, shape (N,)
        Particle radii (length units), frame order: the particle measure is ``pi R^2`` (2D)
        or ``4/3 pi R^3`` (3D).
    method : {"voronoi", "radical"}
        Cell used, as for :func:`cell_measures` (the radii are also the radical weights).

    Returns
    -------
    ndarray, shape (N,)
        Dimensionless local packing fraction of every particle (may exceed 1 for overlapping
        particles), frame order.
    """
    method = _check_method(frame, method)
    r = _check_radii(frame, radii, True, "the area fraction")
    cells = _power_cells(frame, r if method == "radical" else None)
    particle = np.pi * r ** 2 if frame.dimension == 2 else (4.0 / 3.0) * np.pi * r ** 3
    return particle / cells
