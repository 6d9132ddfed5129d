"""Per-particle structural descriptors and their coarse-graining (SCIENCE.md section 2).

Base descriptors (one value per particle)
-----------------------------------------
``e``      local potential energy e_i = 1/2 sum_j V_ab(r_ij), the potential's own cutoff
           (:func:`local_energy`).
``z``      coordination number: neighbours j with r_ij < r_cut[a, b] (:func:`coordination`).
``psi6``   2D bond-orientational order |(1/z_i) sum_j exp(6 i theta_ij)| (:func:`hexatic`).
``q4``,    3D Steinhardt order q_l = sqrt(4 pi / (2l+1) sum_m |q_lm|^2),
``q6``     q_lm = (1/z_i) sum_j Y_lm(r_ij) (:func:`steinhardt`).
``Theta``  steric bond order of Tong and Tanaka (PRX 2018) (:func:`tong_tanaka`):
           mean over adjacent neighbour pairs (j, k) of |theta_jk - theta1_jk|, where theta_jk is
           the measured angle at i and cos theta1_jk = (s_ij^2 + s_ik^2 - s_jk^2) / (2 s_ij s_ik)
           with s = sigma of the pair types. 2D: j, k are consecutive in the angular order around
           i (the wrap-around pair included) and theta_jk is the angle swept counter-clockwise
           from j to k (equal to the bond angle whenever it is below pi; with exactly two
           neighbours both gaps, theta and 2 pi - theta, are counted). 3D: j and k are
           neighbours of each other and theta_jk is the bond angle in [0, pi].

Density descriptors (the information-imbalance paper's Eqs. 8-10)
-----------------------------------------------------------------
``rho``    coarse-grained mean, over the particles j within L of i (i included), of a
           *per-particle* density rho_j; ``phi`` likewise of a per-particle area (volume) fraction
           phi_j = a_j rho_j, a_j = pi (sigma_jj/2)^2 (3D: 4/3 pi (sigma_jj/2)^3). The per-particle
           density is chosen with ``density`` (:data:`DENSITIES`, :func:`particle_densities`):

           ``"radical"`` (default)  1 / area of j's radical (power) Voronoi cell, radii sigma_jj/2
                                    (:mod:`glassdyn.voronoi`): the cell of a size-polydisperse mixture;
           ``"voronoi"``            1 / area of j's plain Voronoi cell;
           ``"probe"``              particles within ``probe_radius`` of j (j included) / probe area;
           ``"disc_count"``         the old definition: no per-particle density, rho_i(L) = (particles
                                    within L of i, i included) / (pi L^2) (3D: / (4/3 pi L^3)) and
                                    phi_i(L) = their area / (pi L^2) (:func:`local_density`,
                                    :func:`area_fraction`). It is constant at L = 0.5 (no two centres
                                    are that close), unlike the paper's rho.

           The default follows the measurement in the README (which per-particle density gives the
           published Pearson-vs-L profiles of rho and phi).

Coarse-graining
---------------
:func:`coarse_grain` turns any per-particle X into Xbar_i(L):

* ``weighting="hard"`` (default): mean of X_j over the particles with r_ij < L, i included
  (the form of the information-imbalance paper).
* ``weighting="exponential"``: weighted mean with weights exp(-r_ij / L) (i itself has weight
  1), truncated at r_ij < ``exp_truncation * L`` (default 3 L: neglected weights are below
  e^-3 = 0.05 each; pass a larger value for a smoother tail, at the cost of a longer search).
  ``rho`` and ``phi`` then use the same weights, normalised by the integral of the truncated
  weight over the disc (sphere), so that a uniform system gives its mean density.

The default feature set (``DEFAULT_DESCRIPTORS`` x ``DEFAULT_LENGTHS``) is the paper's 60:
rho, phi, e, psi6 (q6 in 3D), Theta and z, each coarse-grained at L = 0.5, 1.0, ..., 5.0 and
named ``<descriptor>_L<length>``, e.g. ``Theta_L2.0`` (:func:`compute_features`).

Neighbours and missing values
-----------------------------
Neighbour cutoffs r_cut[a, b] default to the first minimum of the partial g_ab(r) of the
frame itself (:func:`glassdyn.structure.neighbor_cutoffs`; fallback 1.45 sigma_ab), or are
given by the user (a scalar or a per-type matrix). A particle without neighbours gets NaN for
psi6 / q_l, and a particle with fewer than two neighbours (2D) or no pair of mutually
neighbouring neighbours (3D) gets NaN for Theta: never a silent 0. Coarse-grained means skip
NaN values (mean over the particles where X is defined); they are NaN only when X is undefined
for every particle within L.

All computations reuse one :func:`glassdyn.neighbors.neighbor_list` search at the largest
length needed, then mask it; everything is vectorised with numpy (no loop over particles)
and in float64.
"""
from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ._util import glassdyn_version
from .errors import InputError
from .frame import Frame
from .neighbors import NeighborList, neighbor_list, pair_cutoff_matrix
from .potentials import PairPotential, get_potential, resolve_potential
from .structure import cutoffs_from_pairs, radial_structure_functions, sigma_matrix

__all__ = ["FeatureTable", "compute_features", "features_from_params", "register_descriptor", "DescriptorContext",
           "DescriptorSpec", "REGISTRY", "DENSITIES", "DEFAULT_PROBE_RADIUS", "particle_densities", "DEFAULT_DESCRIPTORS", "DEFAULT_DESCRIPTORS_3D",
           "DEFAULT_LENGTHS", "DESCRIPTORS", "feature_name", "local_energy", "coordination", "hexatic",
           "steinhardt", "tong_tanaka", "local_density", "area_fraction", "coarse_grain",
           "resolve_cutoffs"]

#: The paper's six descriptors (2D); in 3D ``psi6`` is replaced by ``q6``.
DEFAULT_DESCRIPTORS = ("rho", "phi", "e", "psi6", "Theta", "z")
#: The 3D default set.
DEFAULT_DESCRIPTORS_3D = ("rho", "phi", "e", "q6", "Theta", "z")
#: Coarse-graining lengths L = 0.5, 1.0, ..., 5.0 (length units).
DEFAULT_LENGTHS = tuple(0.5 * k for k in range(1, 11))
#: Per-particle densities of ``rho`` and ``phi`` (see the module docstring); the first is the default.
DENSITIES = ("radical", "voronoi", "probe", "disc_count")
#: Default probe radius of ``density="probe"`` (length units): about the first minimum of g(r).
DEFAULT_PROBE_RADIUS = 1.5


# =============================================================================================
# feature table
def _fmt_length(length: float) -> str:
    return repr(round(float(length), 6))


def feature_name(descriptor: str, length: float) -> str:
    """Column name of a coarse-grained descriptor, e.g. ``feature_name("Theta", 2) == "Theta_L2.0"``."""
    return f"{descriptor}_L{_fmt_length(length)}"


@dataclass
class FeatureTable:
    """A named table of per-particle features.

    Attributes
    ----------
    names : list of str
        Column names, e.g. ``Theta_L2.0``.
    values : ndarray, shape (N, F)
        float64 feature values (NaN where a descriptor is undefined, see the module docstring).
    ids : ndarray of int, shape (N,)
        Atom ids of the rows.
    params : dict
        Every parameter used (lengths, cutoffs and how they were chosen, weighting, sigma,
        potential, dimension, source file and frame, ``glassdyn_version``); JSON-serialisable.
    types : ndarray of int, shape (N,), optional
        Atom types of the rows.
    frame : ndarray of int, shape (N,), optional
        Frame index of each row when tables of several frames are stacked
        (:meth:`concatenate`); None for a single frame.
    """

    names: list
    values: np.ndarray
    ids: np.ndarray
    params: dict = field(default_factory=dict)
    types: np.ndarray | None = None
    frame: np.ndarray | None = None

    def __post_init__(self):
        self.names = [str(n) for n in self.names]
        self.values = np.asarray(self.values, dtype=np.float64)
        self.ids = np.asarray(self.ids, dtype=np.int64).reshape(-1)
        if self.values.ndim != 2 or self.values.shape != (len(self.ids), len(self.names)):
            raise InputError(f"feature values of shape {self.values.shape} do not match {len(self.ids)} ids "
                             f"and {len(self.names)} names")
        if len(set(self.names)) != len(self.names):
            raise InputError("feature names must be unique")
        for attr in ("types", "frame"):
            a = getattr(self, attr)
            if a is not None:
                a = np.asarray(a, dtype=np.int64).reshape(-1)
                if len(a) != len(self.ids):
                    raise InputError(f"'{attr}' has {len(a)} rows for {len(self.ids)} ids")
                setattr(self, attr, a)

    # ------------------------------------------------------------------ access
    @property
    def n_rows(self) -> int:
        return len(self.ids)

    @property
    def n_features(self) -> int:
        return len(self.names)

    def __len__(self) -> int:
        return self.n_rows

    def column(self, name: str) -> np.ndarray:
        """One feature column, shape (N,)."""
        try:
            return self.values[:, self.names.index(name)]
        except ValueError:
            raise KeyError(f"no feature '{name}'; the table has {', '.join(self.names[:8])}"
                           f"{', ...' if len(self.names) > 8 else ''}") from None

    __getitem__ = column

    def select(self, names) -> "FeatureTable":
        """A table with only the named columns, in that order."""
        names = list(names)
        for n in names:
            if n not in self.names:
                self.column(n)  # raises KeyError naming the missing feature
        idx = [self.names.index(n) for n in names]
        return FeatureTable(names, self.values[:, idx], self.ids, dict(self.params), self.types, self.frame)

    def to_dict(self) -> dict:
        """``{"id": ids, [ "type": types, "frame": frame, ] name: column, ...}`` of (N,) arrays."""
        out = {"id": self.ids}
        if self.types is not None:
            out["type"] = self.types
        if self.frame is not None:
            out["frame"] = self.frame
        out.update(self.feature_columns())
        return out

    def feature_columns(self) -> dict[str, np.ndarray]:
        """``{name: column}`` of the features only (no id, type or frame), (N,) views in column order."""
        return {n: self.values[:, k] for k, n in enumerate(self.names)}

    def standardized(self) -> "FeatureTable":
        """Features z-scored per column (mean 0, standard deviation 1, NaN ignored; constant columns -> 0)."""
        mean = np.nanmean(self.values, axis=0)
        std = np.nanstd(self.values, axis=0)
        std = np.where(std > 0, std, 1.0)
        return FeatureTable(self.names, (self.values - mean) / std, self.ids, dict(self.params, standardized=True),
                            self.types, self.frame)

    # ------------------------------------------------------------------ stacking
    @classmethod
    def concatenate(cls, tables, frames=None) -> "FeatureTable":
        """Stack tables with equal columns; rows get a ``frame`` index (0, 1, ... or ``frames``)."""
        tables = list(tables)
        if not tables:
            raise InputError("no feature tables to concatenate")
        names = tables[0].names
        for t in tables[1:]:
            if t.names != names:
                raise InputError("feature tables to stack must have the same columns")
        frames = range(len(tables)) if frames is None else frames
        fr = np.concatenate([np.full(t.n_rows, f, dtype=np.int64) if t.frame is None else t.frame
                             for t, f in zip(tables, frames)])
        types = None if any(t.types is None for t in tables) else np.concatenate([t.types for t in tables])
        params = dict(tables[0].params)
        params["frames"] = [t.params.get("frame") for t in tables]
        params["sources"] = sorted({str(t.params.get("source")) for t in tables})
        return cls(names, np.concatenate([t.values for t in tables]), np.concatenate([t.ids for t in tables]),
                   params, types, fr)


# =============================================================================================
# input checks and shared pieces
def _check_lengths(frame: Frame, lengths) -> np.ndarray:
    arr = np.asarray(lengths, dtype=float).reshape(-1)
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise InputError(f"coarse-graining lengths must be positive and finite, got {arr.tolist()}",
                         source=frame.source, frame=frame.index)
    arr = np.unique(arr)
    return arr


def _check_reach(frame: Frame, r: float, what: str):
    if r > frame.box.max_cutoff:
        raise InputError(f"{what} needs pairs up to {r:g}, longer than half the narrowest box width "
                         f"({frame.box.max_cutoff:g}); use shorter lengths or cutoffs, or a larger system",
                         source=frame.source, frame=frame.index)


def _get_nl(frame: Frame, r: float, nl: NeighborList | None, what: str) -> NeighborList:
    _check_reach(frame, r, what)
    if nl is None:
        return neighbor_list(frame, r, sort=False)
    if nl.n_atoms != frame.n_atoms:
        raise InputError(f"the neighbour list is for {nl.n_atoms} atoms, the frame has {frame.n_atoms}",
                         source=frame.source, frame=frame.index)
    if nl.cutoff < r * (1 - 1e-12):
        raise InputError(f"the neighbour list was built at {nl.cutoff:g}, {what} needs {r:g}",
                         source=frame.source, frame=frame.index)
    return nl


def _volume_factor(dimension: int) -> float:
    """Area of the unit disc (2D) or volume of the unit sphere (3D)."""
    return math.pi if dimension == 2 else 4.0 / 3.0 * math.pi


def _particle_sizes(frame: Frame, sig: np.ndarray) -> np.ndarray:
    """Area (2D) or volume (3D) of each particle from sigma_jj, shape (N,)."""
    diam = np.diag(sig)[frame.types - 1]
    return _volume_factor(frame.dimension) * (0.5 * diam) ** frame.dimension


def _exp_normalisation(length: float, c: float, dimension: int) -> float:
    """Integral of exp(-r/L) over the disc (sphere) of radius c L."""
    e = math.exp(-c)
    if dimension == 2:
        return 2.0 * math.pi * length ** 2 * (1.0 - e * (1.0 + c))
    return 4.0 * math.pi * length ** 3 * (2.0 - e * (c * c + 2.0 * c + 2.0))


def resolve_cutoffs(frame: Frame, cutoffs=None, *, potential=None, sigma=None, nl: NeighborList | None = None):
    """The per-type neighbour cutoff matrix to use and how it was chosen.

    Parameters
    ----------
    frame : Frame
    cutoffs : None, "rdf", float or array_like (n_types, n_types)
        None or ``"rdf"``: first minimum of the partial g_ab(r) of ``frame``
        (:func:`glassdyn.structure.neighbor_cutoffs`); otherwise user values (length units).
    potential, sigma
        Supply the sigma matrix for the g(r) scan and its fallback.
    nl : NeighborList, optional
        Search to reuse.

    Returns
    -------
    cutoffs : ndarray, shape (n, n)
    info : dict
        ``{"method": "rdf" | "user", "pairs": {...}}``.
    """
    sig = sigma_matrix(frame, potential, sigma)
    if cutoffs is None or (isinstance(cutoffs, str) and cutoffs == "rdf"):
        r = min(2.2 * float(sig.max()), frame.box.max_cutoff)
        nl = _get_nl(frame, r, nl, "the g(r) scan for neighbour cutoffs")
        m = nl.distances < r
        cut, pairs = cutoffs_from_pairs(frame, nl.i[m], nl.j[m], nl.distances[m], sig, 0.01, 0.03, 0.8, 1.45)
        return cut, {"method": "rdf", "pairs": pairs}
    if isinstance(cutoffs, str):
        raise InputError(f"unknown cutoff choice '{cutoffs}'; give 'rdf', a number or a per-type matrix",
                         source=frame.source, frame=frame.index)
    cut = pair_cutoff_matrix(cutoffs, sig.shape[0] if np.ndim(cutoffs) == 0 else frame.n_types)
    if not np.all(np.isfinite(cut)) or np.any(cut <= 0):
        raise InputError(f"neighbour cutoffs must be positive and finite, got {np.asarray(cutoffs).tolist()}",
                         source=frame.source, frame=frame.index)
    return cut, {"method": "user"}


# =============================================================================================
# bonds within the neighbour cutoffs, grouped by i (2D: in angular order)
@dataclass
class _Bonds:
    i: np.ndarray
    j: np.ndarray
    d: np.ndarray
    vec: np.ndarray
    angle: np.ndarray | None  # 2D only
    counts: np.ndarray
    start: np.ndarray
    n: int


def _make_bonds(frame: Frame, nl: NeighborList, idx: np.ndarray | None, cut: np.ndarray) -> _Bonds:
    """Bonds with r < cut[a, b] from pairs ``idx`` (None: all) of ``nl``.

    ``idx`` may also be a :class:`NeighborList` holding the pairs to use instead of ``nl``
    (:func:`compute_features` passes its short-range list, so that the long search behind a
    lazily built ``nl`` is never needed for bonds).
    """
    t = frame.types - 1
    if isinstance(idx, NeighborList):
        nl, idx = idx, None
    if idx is None:
        i, j, d = nl.i, nl.j, nl.distances
    else:
        i, j, d = nl.i[idx], nl.j[idx], nl.distances[idx]
    m = np.flatnonzero(d < cut[t[i], t[j]])
    i, j, d = i[m], j[m], d[m]
    vec = nl.vectors[m if idx is None else idx[m]]
    angle = None
    if frame.dimension == 2:
        angle = np.arctan2(vec[:, 1], vec[:, 0])
        order = np.argsort(i * 8.0 + (angle + np.pi))
        angle = angle[order]
    else:
        order = np.argsort(i, kind="stable")
    i, j, d, vec = i[order], j[order], d[order], vec[order]
    n = frame.n_atoms
    counts = np.bincount(i, minlength=n)
    start = np.cumsum(counts) - counts
    return _Bonds(i, j, d, vec, angle, counts, start, n)


def _bonds_for(frame, cutoffs, potential, sigma, nl):
    sig = sigma_matrix(frame, potential, sigma)
    auto = cutoffs is None or (isinstance(cutoffs, str) and cutoffs == "rdf")
    if nl is None:
        if auto:
            r = min(2.2 * float(sig.max()), frame.box.max_cutoff)
        else:
            r = float(resolve_cutoffs(frame, cutoffs, potential=potential, sigma=sigma)[0].max())
        nl = _get_nl(frame, r, None, "the neighbour cutoff")
    cut, _ = resolve_cutoffs(frame, cutoffs, potential=potential, sigma=sigma, nl=nl)
    nl = _get_nl(frame, float(cut.max()), nl, "the neighbour cutoff")
    return _make_bonds(frame, nl, None, cut), sig


def _z(b: _Bonds) -> np.ndarray:
    return b.counts.astype(np.float64)


def _hexatic(b: _Bonds, k: int) -> np.ndarray:
    z = b.counts.astype(float)
    re = np.bincount(b.i, weights=np.cos(k * b.angle), minlength=b.n)
    im = np.bincount(b.i, weights=np.sin(k * b.angle), minlength=b.n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (re + 1j * im) / np.where(z > 0, z, np.nan)


def _steinhardt(b: _Bonds, ls) -> np.ndarray:
    from scipy.special import sph_harm_y

    z = b.counts.astype(float)
    cos_t = np.clip(b.vec[:, 2] / b.d, -1.0, 1.0)
    theta = np.arccos(cos_t)
    phi = np.mod(np.arctan2(b.vec[:, 1], b.vec[:, 0]), 2.0 * np.pi)
    out = np.empty((b.n, len(ls)))
    zz = np.where(z > 0, z, np.nan)
    for c, l in enumerate(ls):
        acc = np.zeros(b.n)
        for m in range(l + 1):
            y = sph_harm_y(l, m, theta, phi)
            re = np.bincount(b.i, weights=y.real, minlength=b.n) / zz
            im = np.bincount(b.i, weights=y.imag, minlength=b.n) / zz
            acc += (1.0 if m == 0 else 2.0) * (re * re + im * im)
        out[:, c] = np.sqrt(4.0 * np.pi / (2 * l + 1) * acc)
    return out


def _touching_angle(sig, ti, tj, tk):
    s_ij, s_ik, s_jk = sig[ti, tj], sig[ti, tk], sig[tj, tk]
    return np.arccos(np.clip((s_ij * s_ij + s_ik * s_ik - s_jk * s_jk) / (2.0 * s_ij * s_ik), -1.0, 1.0))


def _theta(frame: Frame, b: _Bonds, sig: np.ndarray) -> np.ndarray:
    t = frame.types - 1
    p = np.arange(len(b.i))
    end = b.start[b.i] + b.counts[b.i]
    if frame.dimension == 2:
        nxt = p + 1
        wrap = nxt == end
        nxt[wrap] = b.start[b.i[wrap]]
        gap = b.angle[nxt] - b.angle
        gap[wrap] += 2.0 * np.pi
        dev = np.abs(gap - _touching_angle(sig, t[b.i], t[b.j], t[b.j[nxt]]))
        owner = b.i
        ok = b.counts >= 2
    else:
        after = end - p - 1
        first = np.repeat(p, after)
        csum = np.cumsum(after) - after
        second = first + 1 + (np.arange(len(first)) - np.repeat(csum, after))
        jp, jq = b.j[first], b.j[second]
        keys = np.sort(b.i * b.n + b.j)
        probe = jp * b.n + jq
        pos = np.searchsorted(keys, probe).clip(0, max(len(keys) - 1, 0))
        adj = keys[pos] == probe if len(keys) else np.zeros(len(probe), dtype=bool)
        first, second = first[adj], second[adj]
        cosang = np.einsum("ij,ij->i", b.vec[first], b.vec[second]) / (b.d[first] * b.d[second])
        ang = np.arccos(np.clip(cosang, -1.0, 1.0))
        owner = b.i[first]
        dev = np.abs(ang - _touching_angle(sig, t[owner], t[b.j[first]], t[b.j[second]]))
        ok = np.bincount(owner, minlength=b.n) > 0
    npairs = np.bincount(owner, minlength=b.n).astype(float)
    s = np.bincount(owner, weights=dev, minlength=b.n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, s / npairs, np.nan)


def _energy(frame: Frame, potential: PairPotential, i, j, d) -> np.ndarray:
    half = i < j
    i, j, d = i[half], j[half], d[half]
    v = potential.energy(d, frame.types[i], frame.types[j])
    n = frame.n_atoms
    return 0.5 * (np.bincount(i, weights=v, minlength=n) + np.bincount(j, weights=v, minlength=n))


# =============================================================================================
# public per-particle functions
def local_energy(frame: Frame, potential, *, nl: NeighborList | None = None) -> np.ndarray:
    """Per-particle potential energy e_i = 1/2 sum_j V_ab(r_ij) (energy units).

    Parameters
    ----------
    frame : Frame
    potential : PairPotential or str
        The pair potential (or a preset name); pairs beyond its cutoff contribute 0.
    nl : NeighborList, optional
        A search at a cutoff >= the potential's largest cutoff to reuse.

    Returns
    -------
    ndarray, shape (N,)
        Same convention as LAMMPS ``compute pe/atom`` (half of each pair energy to each atom).
    """
    potential = get_potential(potential)
    potential.check_types(frame.types, frame.ids, source=frame.source, frame=frame.index)
    rc = potential.max_cutoff
    nl = _get_nl(frame, rc, nl, f"potential '{potential.name}' (cutoff {rc:g})")
    m = np.flatnonzero(nl.distances < rc)
    return _energy(frame, potential, nl.i[m], nl.j[m], nl.distances[m])


def coordination(frame: Frame, cutoffs=None, *, potential=None, sigma=None,
                 nl: NeighborList | None = None) -> np.ndarray:
    """Coordination number z_i: neighbours with r_ij < cutoffs[a, b]; shape (N,), float.

    ``cutoffs``: None (first minimum of g_ab(r), see :func:`resolve_cutoffs`), a number or a
    per-type matrix. ``potential``/``sigma`` supply the sigma matrix for the g(r) scan.
    """
    b, _ = _bonds_for(frame, cutoffs, potential, sigma, nl)
    return _z(b)


def hexatic(frame: Frame, cutoffs=None, *, k: int = 6, potential=None, sigma=None,
            nl: NeighborList | None = None, return_complex: bool = False) -> np.ndarray:
    """2D bond-orientational order psi_k,i = |(1/z_i) sum_j exp(i k theta_ij)|; shape (N,).

    theta_ij is the angle of r_j - r_i with the x axis. NaN for particles without neighbours.
    With ``return_complex`` the complex value (freud's ``Hexatic.particle_order``) is returned.
    """
    if frame.dimension != 2:
        raise InputError("psi6 (hexatic order) is defined for 2D frames; use steinhardt() (q6) in 3D",
                         source=frame.source, frame=frame.index)
    b, _ = _bonds_for(frame, cutoffs, potential, sigma, nl)
    psi = _hexatic(b, k)
    return psi if return_complex else np.abs(psi)


def steinhardt(frame: Frame, l=6, cutoffs=None, *, potential=None, sigma=None,
               nl: NeighborList | None = None) -> np.ndarray:
    """3D Steinhardt bond order q_l,i = sqrt(4 pi/(2l+1) sum_m |q_lm,i|^2), q_lm,i = mean_j Y_lm(r_ij).

    Parameters
    ----------
    l : int or sequence of int
        Degree(s).

    Returns
    -------
    ndarray, shape (N,) for an int ``l``, (N, len(l)) for a sequence. NaN without neighbours.
    """
    if frame.dimension != 3:
        raise InputError("Steinhardt q_l is defined for 3D frames; use hexatic() (psi6) in 2D",
                         source=frame.source, frame=frame.index)
    ls = [int(l)] if np.ndim(l) == 0 else [int(v) for v in l]
    b, _ = _bonds_for(frame, cutoffs, potential, sigma, nl)
    q = _steinhardt(b, ls)
    return q[:, 0] if np.ndim(l) == 0 else q


def tong_tanaka(frame: Frame, cutoffs=None, *, potential=None, sigma=None,
                nl: NeighborList | None = None) -> np.ndarray:
    """Tong-Tanaka steric bond order Theta_i (radians), shape (N,); see the module docstring.

    ``sigma`` (or ``potential.sigma``) gives the touching distances s_ab; NaN for particles
    with fewer than two neighbours (2D) or no pair of mutually neighbouring neighbours (3D).
    """
    b, sig = _bonds_for(frame, cutoffs, potential, sigma, nl)
    return _theta(frame, b, sig)


# =============================================================================================
# coarse-graining
def _length_bins(d: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Number of lengths <= d for each distance (so a pair counts at every L > d)."""
    n_l = len(lengths)
    if n_l > 1:
        h = lengths[1] - lengths[0]
        if np.allclose(np.diff(lengths), h, rtol=0.0, atol=1e-12 * lengths[-1]):
            b = ((d - lengths[0]) * (1.0 / h)).astype(np.int64)
            b += 1
            b[d < lengths[0]] = 0
            np.minimum(b, n_l, out=b)
            ext = np.concatenate([[-np.inf], lengths, [np.inf]])
            b -= d < ext[b]          # lengths[b-1] <= d must hold
            b += d >= ext[b + 1]      # d < lengths[b] must hold
            return b
    return np.searchsorted(lengths, d, side="right")


def _shell_matrix(rows_cols, n: int, n_l: int):
    """CSR matrix (n * (n_l + 1), n) with a 1 at row ``i * (n_l + 1) + shell``, column ``j`` for every
    given ordered pair; ``rows_cols`` is a list of (rows, cols) arrays (pairs beyond the last length
    already dropped)."""
    from scipy import sparse

    nrow = n * (n_l + 1)
    nnz = sum(len(r) for r, _ in rows_cols)
    dtype = np.int32 if max(nrow, n, nnz) < 2 ** 31 - 1 else np.int64
    rows = np.concatenate([r.astype(dtype, copy=False) for r, _ in rows_cols]) if rows_cols else np.zeros(0, dtype)
    cols = np.concatenate([c.astype(dtype, copy=False) for _, c in rows_cols]) if rows_cols else np.zeros(0, dtype)
    coo = sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(nrow, n))
    coo.has_canonical_format = True  # every (row, column) occurs once: skip scipy's sort-based duplicate sum
    return coo.tocsr()


def _cg_from_matrix(M, X, n: int, n_l: int, pool=None):
    """Counts (n, L) incl. self and means (n, k, L) of the columns of X from the shell matrix M
    (or the sum of a list of such matrices, multiplied in ``pool`` when given)."""
    mats = M if isinstance(M, list) else [M]
    per_row = np.diff(mats[0].indptr)
    for m in mats[1:]:
        per_row += np.diff(m.indptr)
    counts = np.cumsum(per_row.reshape(n, n_l + 1)[:, :n_l], axis=1).astype(np.float64)
    counts += 1.0
    k = X.shape[1]
    means = np.empty((n, k, n_l))
    if k == 0:
        return counts, means
    valid = np.isfinite(X)
    partial = [c for c in range(k) if not valid[:, c].all()]
    # one sparse product for every column (NaN -> 0) and, for columns with NaN, their valid indicators
    Y = np.where(valid, X, 0.0) if partial else np.asarray(X, dtype=np.float64)
    if partial:
        Y = np.concatenate([Y, valid[:, partial].astype(np.float64)], axis=1)
    products = list(pool.map(lambda m: m @ Y, mats)) if pool is not None and len(mats) > 1 else [m @ Y for m in mats]
    S = np.asarray(products[0])
    for extra in products[1:]:
        S += extra
    del products
    S = S.reshape(n, n_l + 1, Y.shape[1])[:, :n_l, :]
    np.cumsum(S, axis=1, out=S)
    for c in range(k):
        if c not in partial:
            means[:, c] = (S[:, :, c] + X[:, c, None]) / counts
        else:
            x0, v = Y[:, c], Y[:, k + partial.index(c)]
            nv = S[:, :, k + partial.index(c)] + v[:, None]
            with np.errstate(invalid="ignore", divide="ignore"):
                means[:, c] = np.where(nv > 0, (S[:, :, c] + x0[:, None]) / nv, np.nan)
    return counts, means


def _cg_hard(i, j, d, lengths, X, n):
    """Hard-cutoff sums. Returns counts (n, L) incl. self and means (n, k, L) of the columns of X.

    ``i, j, d``: every ordered pair (both orders). Sums run over one sparse shell matrix (rows:
    particle and shell between consecutive lengths), then accumulate over the shells.
    """
    n_l = len(lengths)
    b = _length_bins(d, lengths)
    keep = b < n_l
    rows = i[keep] * (n_l + 1) + b[keep] if not keep.all() else i * (n_l + 1) + b
    cols = j[keep] if not keep.all() else j
    return _cg_from_matrix(_shell_matrix([(rows, cols)], n, n_l), X, n, n_l)


def _half_shell_parts(chunk, lengths):
    """(rows, cols) of both orders of the unordered pairs of one :func:`~glassdyn.neighbors.half_pairs` chunk."""
    a, b, _, d = chunk
    n_l = len(lengths)
    s = _length_bins(d, lengths)
    keep = s < n_l
    if not keep.all():
        a, b, s = a[keep], b[keep], s[keep]
    return [(a * (n_l + 1) + s, b), (b * (n_l + 1) + s, a)]


def _cg_hard_half(chunks, lengths, n, pool=None):
    """The shell matrices of :func:`_cg_hard` from unordered pairs (chunks of ``half_pairs``): one per
    chunk (built in ``pool`` when given), to be summed by :func:`_cg_from_matrix`."""
    def build(chunk):
        return _shell_matrix(_half_shell_parts(chunk, lengths), n, len(lengths))
    chunks = [c for c in chunks if len(c[0])] or chunks[:1]
    return list(pool.map(build, chunks)) if pool is not None and len(chunks) > 1 else [build(c) for c in chunks]


def _cg_exp(i, j, d, lengths, X, n, c):
    """Exponential weights exp(-r/L) for r < c L. Returns weight sums (n, L) incl. self and means."""
    n_l = len(lengths)
    wsum = np.empty((n, n_l))
    means = np.empty((n, X.shape[1], n_l))
    valid_all = np.isfinite(X)
    X0 = np.where(valid_all, X, 0.0)
    for k, length in enumerate(lengths):
        m = np.flatnonzero(d < c * length)
        ii, jj = i[m], j[m]
        w = np.exp(-d[m] / length)
        wsum[:, k] = np.bincount(ii, weights=w, minlength=n) + 1.0
        for col in range(X.shape[1]):
            v = valid_all[:, col]
            s = np.bincount(ii, weights=w * X0[jj, col], minlength=n) + X0[:, col]
            if v.all():
                means[:, col, k] = s / wsum[:, k]
            else:
                ws = np.bincount(ii, weights=w * v[jj], minlength=n) + v
                with np.errstate(invalid="ignore", divide="ignore"):
                    means[:, col, k] = np.where(ws > 0, s / ws, np.nan)
    return wsum, means


def _weighting(frame, weighting):
    if weighting not in ("hard", "exponential"):
        raise InputError(f"unknown weighting '{weighting}'; use 'hard' or 'exponential'",
                         source=frame.source, frame=frame.index)


def coarse_grain(frame: Frame, values, lengths=DEFAULT_LENGTHS, *, weighting: str = "hard",
                 exp_truncation: float = 3.0, nl: NeighborList | None = None) -> np.ndarray:
    """Coarse-grain per-particle values over lengths (see the module docstring).

    Parameters
    ----------
    frame : Frame
    values : array_like, shape (N,) or (N, k)
        Per-particle values (NaN = undefined, skipped in the means).
    lengths : sequence of float
        Coarse-graining lengths L (length units); sorted and deduplicated.
    weighting : {"hard", "exponential"}
        Mean over r_ij < L (i included), or weights exp(-r_ij/L) truncated at
        ``exp_truncation * L``.
    exp_truncation : float
        Truncation of the exponential weights in units of L (default 3).
    nl : NeighborList, optional
        A search at a cutoff >= the largest radius needed.

    Returns
    -------
    ndarray, shape (N, n_lengths) for 1-D ``values``, (N, k, n_lengths) for 2-D.
    """
    _weighting(frame, weighting)
    lengths = _check_lengths(frame, lengths)
    X = np.asarray(values, dtype=float)
    one = X.ndim == 1
    X = X.reshape(len(X), -1)
    if len(X) != frame.n_atoms:
        raise InputError(f"{len(X)} values for {frame.n_atoms} atoms", source=frame.source, frame=frame.index)
    r = float(lengths.max()) * (exp_truncation if weighting == "exponential" else 1.0)
    nl = _get_nl(frame, r, nl, f"coarse-graining at L = {lengths.max():g}")
    if weighting == "hard":
        _, means = _cg_hard(nl.i, nl.j, nl.distances, lengths, X, frame.n_atoms)
    else:
        _, means = _cg_exp(nl.i, nl.j, nl.distances, lengths, X, frame.n_atoms, exp_truncation)
    return means[:, 0, :] if one else means


def _density_like(frame, sizes, lengths, weighting, exp_truncation, nl):
    _weighting(frame, weighting)
    lengths = _check_lengths(frame, lengths)
    r = float(lengths.max()) * (exp_truncation if weighting == "exponential" else 1.0)
    nl = _get_nl(frame, r, nl, f"local density at L = {lengths.max():g}")
    X = np.zeros((frame.n_atoms, 0)) if sizes is None else sizes[:, None]
    if weighting == "hard":
        counts, means = _cg_hard(nl.i, nl.j, nl.distances, lengths, X, frame.n_atoms)
        norm = _volume_factor(frame.dimension) * lengths ** frame.dimension
    else:
        counts, means = _cg_exp(nl.i, nl.j, nl.distances, lengths, X, frame.n_atoms, exp_truncation)
        norm = np.array([_exp_normalisation(L, exp_truncation, frame.dimension) for L in lengths])
    if sizes is None:
        return counts / norm
    return means[:, 0, :] * counts / norm


def local_density(frame: Frame, lengths=DEFAULT_LENGTHS, *, weighting: str = "hard", exp_truncation: float = 3.0,
                  nl: NeighborList | None = None) -> np.ndarray:
    """Local number density rho_i(L) (particles per area or volume), shape (N, n_lengths).

    Hard: (particles with r_ij < L, i included) / (pi L^2) in 2D, / (4/3 pi L^3) in 3D.
    Exponential: sum of exp(-r_ij/L) over r_ij < c L (i included, weight 1) divided by the
    integral of the same weight over the disc (sphere) of radius c L.
    """
    return _density_like(frame, None, lengths, weighting, exp_truncation, nl)


def area_fraction(frame: Frame, lengths=DEFAULT_LENGTHS, *, potential=None, sigma=None, weighting: str = "hard",
                  exp_truncation: float = 3.0, nl: NeighborList | None = None) -> np.ndarray:
    """Local area (2D) or volume (3D) fraction phi_i(L), shape (N, n_lengths).

    Sum over the particles within L of i (i included) of pi (sigma_jj/2)^2 (3D: 4/3 pi
    (sigma_jj/2)^3), divided by pi L^2 (4/3 pi L^3); weighted like :func:`local_density`.
    Sigma comes from ``sigma`` or ``potential`` (ones if neither is given).
    """
    sig = sigma_matrix(frame, potential, sigma)
    return _density_like(frame, _particle_sizes(frame, sig), lengths, weighting, exp_truncation, nl)


# =============================================================================================
# per-particle densities
def particle_densities(frame: Frame, sigma: np.ndarray, density: str = "radical", *,
                       probe_radius: float = DEFAULT_PROBE_RADIUS,
                       nl: NeighborList | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-particle density rho_j and area (volume) fraction phi_j = a_j rho_j of every particle.

    Parameters
    ----------
    frame : Frame
    sigma : ndarray (n, n)
        Sigma matrix; particle j has radius sigma_jj / 2 and size a_j = pi (sigma_jj/2)^2
        (3D: 4/3 pi (sigma_jj/2)^3).
    density : {"radical", "voronoi", "probe"}
        1 / radical-Voronoi cell measure (radii sigma_jj/2), 1 / plain Voronoi cell measure, or
        the particles within ``probe_radius`` of j (j included) divided by the probe disc area
        (sphere volume); phi_j of ``probe`` is the particles' size within the probe over its area.
    probe_radius : float
        Probe radius (length units) of ``density="probe"``.
    nl : NeighborList, optional
        A search at a cutoff >= ``probe_radius`` to reuse (``probe`` only).

    Returns
    -------
    rho, phi : ndarray, shape (N,)
        Per unit area (volume); dimensionless.
    """
    from .voronoi import cell_measures

    if density not in DENSITIES or density == "disc_count":
        raise InputError(f"unknown per-particle density '{density}'; choose one of "
                         f"{', '.join(d for d in DENSITIES if d != 'disc_count')}", source=frame.source,
                         frame=frame.index)
    sizes = _particle_sizes(frame, sigma)
    if density in ("radical", "voronoi"):
        radii = 0.5 * np.diag(sigma)[frame.types - 1]
        cells = cell_measures(frame, radii, method=density)
        return 1.0 / cells, sizes / cells
    r = float(probe_radius)
    if not (np.isfinite(r) and r > 0):
        raise InputError(f"probe_radius must be positive, got {probe_radius}", source=frame.source, frame=frame.index)
    nl = _get_nl(frame, r, nl, f"the density probe (radius {r:g})")
    m = nl.distances < r
    n = frame.n_atoms
    area = _volume_factor(frame.dimension) * r ** frame.dimension
    count = np.bincount(nl.i[m], minlength=n) + 1.0
    covered = np.bincount(nl.i[m], weights=sizes[nl.j[m]], minlength=n) + sizes
    return count / area, covered / area


# =============================================================================================
# the descriptor registry
@dataclass
class DescriptorContext:
    """What a registered descriptor function receives: the frame and everything shared.

    Attributes
    ----------
    frame : Frame
    potential : PairPotential or None
    sigma : ndarray (n, n)
        Sigma matrix (length units) for sizes, touching distances and cutoff scales.
    pairs : tuple of ndarray (i, j, d)
        Every pair within the short-range radius (the potential's cutoff and the neighbour
        cutoffs), both orders, from the one search of :func:`compute_features`.
    nl : NeighborList
        The whole search (up to the largest radius needed).
    options : dict
        Descriptor options given to :func:`compute_features` (``rsf_mu``, ``rsf_width``, ...).
    params : dict
        Parameters recorded in the table; a descriptor may add its own entries.
    """

    frame: Frame
    potential: PairPotential | None
    sigma: np.ndarray
    pairs: tuple
    nl: NeighborList
    options: dict
    params: dict
    cutoffs: np.ndarray | None = None
    _bonds: "_Bonds | None" = None
    _pair_index: np.ndarray | None = None
    _densities: tuple | None = None

    @property
    def densities(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-particle (rho_j, phi_j) of ``options["density"]`` (:func:`particle_densities`), computed once."""
        if self._densities is None:
            self._densities = particle_densities(self.frame, self.sigma, self.options["density"],
                                                 probe_radius=self.options["probe_radius"], nl=self.nl)
        return self._densities

    @property
    def bonds(self) -> "_Bonds":
        """Bonds within the neighbour cutoffs, grouped by particle (2D: in angular order)."""
        if self._bonds is None:
            self._bonds = _make_bonds(self.frame, self.nl, self._pair_index, self.cutoffs)
        return self._bonds


@dataclass(frozen=True)
class DescriptorSpec:
    """A registered descriptor (see :func:`register_descriptor`).

    Attributes
    ----------
    name : str
    function : callable
        ``function(ctx: DescriptorContext) -> ndarray``: (N,) per-particle values (``kind``
        ``"particle"`` or ``"disc"``), or ``(values (N, k), names)`` for ``kind="raw"``.
    kind : {"particle", "disc", "raw"} or callable
        ``particle``: a per-particle value, coarse-grained as the mean over the disc (sphere) of
        radius L (NaN skipped). ``disc``: a per-particle weight w_j (None = 1) summed over the
        disc and divided by its area (volume): a count density. ``raw``: columns written as they
        are (no coarse-graining). A callable ``kind(options) -> str`` chooses by the options
        (``rho``/``phi``: ``disc`` for ``density="disc_count"``, ``particle`` otherwise).
    dimensions : tuple of int
    needs : frozenset of str
        ``"potential"`` (a pair potential is required), ``"bonds"`` (neighbour cutoffs).
    wrong_dimension : str
        Message when requested for the other dimension.
    radius : callable, optional
        ``radius(ctx_frame, options) -> float``: the search radius the descriptor needs
        (beyond the coarse-graining length, the potential and the neighbour cutoffs).
    """

    name: str
    function: Callable
    kind: str = "particle"
    dimensions: tuple = (2, 3)
    needs: frozenset = frozenset()
    wrong_dimension: str = ""
    radius: Callable | None = None


#: name -> DescriptorSpec, in registration order (the order of :data:`DESCRIPTORS`).
REGISTRY: dict[str, DescriptorSpec] = {}


def register_descriptor(name: str, *, kind: str = "particle", dimensions=(2, 3), needs=(), wrong_dimension: str = "",
                        radius: Callable | None = None):
    """Decorator: make ``function(ctx) -> values`` the descriptor ``name`` of :func:`compute_features`.

    Adding a descriptor means writing one function and decorating it; see
    :class:`DescriptorSpec` for the arguments. The function receives a
    :class:`DescriptorContext`.
    """
    if not callable(kind) and kind not in ("particle", "disc", "raw"):
        raise ValueError(f"descriptor kind must be 'particle', 'disc', 'raw' or a callable, got {kind!r}")

    def deco(function):
        REGISTRY[name] = DescriptorSpec(name, function, kind, tuple(dimensions), frozenset(needs), wrong_dimension,
                                        radius)
        return function
    return deco


def _density_kind(options) -> str:
    return "disc" if options.get("density") == "disc_count" else "particle"


def _probe_reach(frame, options) -> float:
    return float(options["probe_radius"]) if options.get("density") == "probe" else 0.0


@register_descriptor("rho", kind=_density_kind, radius=_probe_reach)
def _rho(ctx: DescriptorContext):
    """Per-particle density rho_j (``density``), or for ``disc_count`` the count itself (weight 1)."""
    return None if ctx.options["density"] == "disc_count" else ctx.densities[0]


@register_descriptor("phi", kind=_density_kind, radius=_probe_reach)
def _phi(ctx: DescriptorContext):
    """Per-particle area (volume) fraction phi_j, or for ``disc_count`` the particle sizes (disc weights)."""
    if ctx.options["density"] == "disc_count":
        return _particle_sizes(ctx.frame, ctx.sigma)
    return ctx.densities[1]


@register_descriptor("e", needs=("potential",))
def _e(ctx: DescriptorContext):
    i, j, d = ctx.pairs
    return _energy(ctx.frame, ctx.potential, i, j, d)


@register_descriptor("z", needs=("bonds",))
def _z_descriptor(ctx: DescriptorContext):
    return _z(ctx.bonds)


@register_descriptor("psi6", dimensions=(2,), needs=("bonds",),
                     wrong_dimension="psi6 is a 2D descriptor; use q6 (or q4) for a 3D frame")
def _psi6(ctx: DescriptorContext):
    return np.abs(_hexatic(ctx.bonds, 6))


@register_descriptor("q4", dimensions=(3,), needs=("bonds",),
                     wrong_dimension="q4/q6 are 3D descriptors; use psi6 for a 2D frame")
def _q4(ctx: DescriptorContext):
    return _steinhardt(ctx.bonds, [4])[:, 0]


@register_descriptor("q6", dimensions=(3,), needs=("bonds",),
                     wrong_dimension="q4/q6 are 3D descriptors; use psi6 for a 2D frame")
def _q6(ctx: DescriptorContext):
    return _steinhardt(ctx.bonds, [6])[:, 0]


@register_descriptor("Theta", needs=("bonds",))
def _theta_descriptor(ctx: DescriptorContext):
    return _theta(ctx.frame, ctx.bonds, ctx.sigma)


def _rsf_mu(options) -> np.ndarray:
    mu = options.get("rsf_mu")
    return np.arange(0.5, 5.0 + 1e-9, 0.1) if mu is None else np.asarray(mu, dtype=float).reshape(-1)


@register_descriptor("G", kind="raw", radius=lambda frame, options: float(_rsf_mu(options).max()
                                                                          + 5.0 * options.get("rsf_width", 0.1)))
def _rsf(ctx: DescriptorContext):
    mu, width = _rsf_mu(ctx.options), float(ctx.options.get("rsf_width", 0.1))
    ctx.params["rsf_mu"] = mu.tolist()
    ctx.params["rsf_width"] = width
    return radial_structure_functions(ctx.frame, mu, width, n_types=ctx.sigma.shape[0], nl=ctx.nl)


#: Every descriptor name :func:`compute_features` understands (``G`` = radial structure functions,
#: not coarse-grained).
DESCRIPTORS = tuple(REGISTRY)


# =============================================================================================
# the feature set
def compute_features(frame: Frame, potential=None, lengths=DEFAULT_LENGTHS, descriptors=None, cutoffs=None,
                     weighting: str = "hard", *, sigma=None, exp_truncation: float = 3.0,
                     rsf_mu=None, rsf_width: float = 0.1, density: str = DENSITIES[0],
                     probe_radius: float = DEFAULT_PROBE_RADIUS, cutoff_info: dict | None = None,
                     n_jobs: int | None = None) -> FeatureTable:
    """Coarse-grained structural descriptors of every particle of one frame, as a named table.

    Parameters
    ----------
    frame : Frame
        One periodic configuration (2D or 3D, orthorhombic or triclinic).
    potential : PairPotential, str or None
        Pair potential, preset name (e.g. ``"ka2d"``) or ``"auto"``
        (:func:`glassdyn.potentials.resolve_potential`) for ``e`` and for sigma. Needed when
        ``e`` is requested; its types must cover the frame's. None: no potential.
    lengths : sequence of float
        Coarse-graining lengths L (length units), default 0.5, 1.0, ..., 5.0.
    descriptors : sequence of str, optional
        Subset of ``DESCRIPTORS``; default ``DEFAULT_DESCRIPTORS`` in 2D (rho, phi, e, psi6,
        Theta, z) and ``DEFAULT_DESCRIPTORS_3D`` in 3D (q6 for psi6). ``G`` adds the radial
        structure functions (not coarse-grained; columns ``G<type>_mu<mu>``).
    cutoffs : None, "rdf", float or array_like (n_types, n_types)
        Neighbour cutoffs for z, psi6/q_l and Theta: first minimum of g_ab(r) of this frame
        (default) or given values (length units), e.g. one set for a whole data set from
        :func:`glassdyn.structure.dataset_cutoffs` (what the command line, the demo and the
        studies use, so that every configuration has the same neighbour definition).
    weighting : {"hard", "exponential"}
        Coarse-graining weights (see :func:`coarse_grain`).
    sigma : float or array_like, optional
        Sigma matrix overriding the potential's (for phi, Theta, the g(r) scan).
    exp_truncation : float
        Exponential weights are truncated at ``exp_truncation * L`` (default 3).
    rsf_mu, rsf_width
        Shell radii and width of the radial structure functions (``G``); see
        :func:`glassdyn.structure.radial_structure_functions`.
    density : {"radical", "voronoi", "probe", "disc_count"}
        Per-particle density that ``rho`` and ``phi`` coarse-grain (module docstring).
    probe_radius : float
        Probe radius of ``density="probe"`` (length units).
    cutoff_info : dict, optional
        How given ``cutoffs`` were chosen (e.g. the ``info`` of
        :func:`~glassdyn.structure.dataset_cutoffs`), recorded as ``params["cutoff_method"]``.
    n_jobs : int, optional
        Threads (None or -1, the default: every core). The neighbour search runs over slabs of
        the box in parallel and the Voronoi tessellation of ``rho``/``phi`` alongside it; the
        values do not depend on it beyond floating-point summation order (1e-15 relative).

    Returns
    -------
    FeatureTable
        Columns ``<descriptor>_L<L>`` in descriptor-major order (all lengths of the first
        descriptor, then the next), then the raw (``G``) columns; rows in frame order.

    Raises
    ------
    InputError
        Unknown descriptor or weighting, ``e`` without a potential, types unknown to the
        potential or the sigma matrix (naming the atoms), lengths or cutoffs longer than half
        the box width, psi6 in 3D or q_l in 2D.

    Examples
    --------
    >>> table = compute_features(frame, potential="ka2d")          # doctest: +SKIP
    >>> table["Theta_L2.0"].shape                                   # doctest: +SKIP
    (4320,)
    """
    dim = frame.dimension
    if descriptors is None:
        descriptors = DEFAULT_DESCRIPTORS if dim == 2 else DEFAULT_DESCRIPTORS_3D
    descriptors = list(descriptors)
    unknown = [d for d in descriptors if d not in REGISTRY]
    if unknown or len(set(descriptors)) != len(descriptors):
        raise InputError(f"unknown or repeated descriptors {unknown or descriptors}; choose from {DESCRIPTORS}",
                         source=frame.source, frame=frame.index)
    specs = [REGISTRY[d] for d in descriptors]
    for spec in specs:
        if dim not in spec.dimensions:
            raise InputError(spec.wrong_dimension or f"{spec.name} is not defined for {dim}D frames",
                             source=frame.source, frame=frame.index)
    _weighting(frame, weighting)
    pot = resolve_potential(potential, frame)
    needs = set().union(*[spec.needs for spec in specs])
    if pot is None and "potential" in needs:
        raise InputError("the local energy 'e' needs a pair potential: pass potential='ka2d' (or another "
                         "preset, 'auto' or a PairPotential), or leave 'e' out of the descriptors",
                         source=frame.source, frame=frame.index)
    sig = sigma_matrix(frame, pot, sigma)
    if density not in DENSITIES:
        raise InputError(f"unknown per-particle density '{density}'; choose one of {', '.join(DENSITIES)}",
                         source=frame.source, frame=frame.index)
    options = {"rsf_mu": rsf_mu, "rsf_width": rsf_width, "density": density, "probe_radius": float(probe_radius)}
    kinds = {s.name: (s.kind(options) if callable(s.kind) else s.kind) for s in specs}
    cg = [s for s in specs if kinds[s.name] != "raw"]
    lengths = _check_lengths(frame, lengths) if cg else np.zeros(0)

    # radii: coarse-graining, potential, neighbour cutoffs, the descriptors' own
    radii, short = {}, []
    if cg:
        radii["coarse-graining at L = %g" % lengths.max()] = float(lengths.max()) * (
            exp_truncation if weighting == "exponential" else 1.0)
    if "potential" in needs:
        what = f"the potential cutoff ({pot.name})"
        radii[what] = pot.max_cutoff
        short.append(what)
    user_cut = None
    if "bonds" in needs:
        if cutoffs is None or (isinstance(cutoffs, str) and cutoffs == "rdf"):
            what = "the g(r) scan for neighbour cutoffs"
            radii[what] = min(2.2 * float(sig.max()), frame.box.max_cutoff)
        else:
            user_cut, _ = resolve_cutoffs(frame, cutoffs, potential=pot, sigma=sig)
            what = "the neighbour cutoff"
            radii[what] = float(user_cut.max())
        short.append(what)
    for spec in specs:
        r = spec.radius(frame, options) if spec.radius is not None else 0.0
        if r > 0:
            radii[f"descriptor {spec.name}"] = r
    if not radii:
        raise InputError("no descriptors requested", source=frame.source, frame=frame.index)
    for what, r in radii.items():
        _check_reach(frame, r, what)
    r_search = max(radii.values())
    # One search at r_search, each unordered pair once (threads over slabs of the box). The full
    # list (both orders) is built only if a descriptor asks for ctx.nl; the short-range pairs
    # (potential, neighbour cutoffs) are listed in both orders for the per-particle descriptors,
    # and the coarse-graining runs on the unordered pairs.
    from concurrent.futures import ThreadPoolExecutor

    from .neighbors import resolve_n_jobs

    jobs = resolve_n_jobs(n_jobs)
    pool = ThreadPoolExecutor(jobs) if jobs > 1 else None
    try:
        return _compute_features_pairs(frame, pot, sig, descriptors, specs, kinds, cg, lengths, needs, options,
                                       radii, short, r_search, user_cut, cutoff_info, weighting, exp_truncation,
                                       density, probe_radius, dim, jobs, pool)
    finally:
        if pool is not None:
            pool.shutdown(wait=True)


def _compute_features_pairs(frame, pot, sig, descriptors, specs, kinds, cg, lengths, needs, options, radii, short,
                            r_search, user_cut, cutoff_info, weighting, exp_truncation, density, probe_radius, dim,
                            jobs, pool):
    """The part of :func:`compute_features` after the checks: search, descriptors, coarse-graining."""
    from .neighbors import LazyNeighborList, from_half_pairs, half_pairs

    want_cells = bool({"rho", "phi"} & {s.name for s in specs}) and density in ("radical", "voronoi")
    cells = None
    if pool is not None and want_cells:  # qhull releases the GIL: tessellate while the pairs are found
        cells = pool.submit(particle_densities, frame, sig, density, probe_radius=float(probe_radius))
    chunks = half_pairs(frame, r_search, n_jobs=jobs)
    n = frame.n_atoms
    nl = LazyNeighborList(lambda: from_half_pairs(chunks, n, r_search), n, r_search)

    r_short = max([radii[w] for w in short], default=0.0)
    if 0 < r_short < r_search:
        sub = []
        for a, b, vec, d in chunks:
            m = np.flatnonzero(d < r_short)
            sub.append((a[m], b[m], vec[m], d[m]))
        short_nl = from_half_pairs(sub, n, r_short)
        del sub
        idx = short_nl
        pairs = (short_nl.i, short_nl.j, short_nl.distances)
    else:
        idx = None
        pairs = (nl.i, nl.j, nl.distances)

    params = {"glassdyn_version": glassdyn_version(), "descriptors": descriptors, "lengths": lengths.tolist(),
              "weighting": weighting, "dimension": dim, "sigma": sig.tolist(),
              "potential": None if pot is None else pot.name, "source": frame.source, "frame": frame.index,
              "timestep": frame.timestep, "n_atoms": frame.n_atoms,
              "nan_policy": "psi6/q_l NaN without neighbours; Theta NaN without an adjacent neighbour pair; "
                            "coarse-grained means skip NaN"}
    if weighting == "exponential":
        params["exp_truncation"] = exp_truncation
    if {"rho", "phi"} & set(descriptors):
        params["density"] = density
        if density == "probe":
            params["probe_radius"] = float(probe_radius)
    ctx = DescriptorContext(frame, pot, sig, pairs, nl, options, params, _pair_index=idx)
    if "bonds" in needs:
        if user_cut is None:
            i, j, d = pairs
            m = d < min(2.2 * float(sig.max()), frame.box.max_cutoff)
            cut, pair_info = cutoffs_from_pairs(frame, i[m], j[m], d[m], sig, 0.01, 0.03, 0.8, 1.45)
            cut_info = {"method": "rdf", "pairs": pair_info}
        else:
            cut, cut_info = user_cut, dict(cutoff_info) if cutoff_info else {"method": "user"}
        params["cutoffs"] = cut.tolist()
        params["cutoff_method"] = cut_info
        ctx.cutoffs = cut

    # descriptors that do not need the cell densities first, while the tessellation runs
    late = {"rho", "phi"} if cells is not None else set()
    values = {spec.name: spec.function(ctx) for spec in specs if spec.name not in late}
    shells = _cg_hard_half(chunks, lengths, n, pool) if cg and weighting == "hard" else None
    if cells is not None:
        ctx._densities = cells.result()
        values.update({spec.name: spec.function(ctx) for spec in specs if spec.name in late})
    values = {spec.name: values[spec.name] for spec in specs}

    # coarse-grain the per-particle values and the disc weights in one pass
    particle = [s.name for s in cg if kinds[s.name] == "particle"]
    weights = [s.name for s in cg if kinds[s.name] == "disc" and values[s.name] is not None]
    columns = particle + weights
    X = (np.column_stack([np.asarray(values[c], dtype=float) for c in columns]) if columns
         else np.zeros((frame.n_atoms, 0)))
    if cg:
        if weighting == "hard":
            counts, means = _cg_from_matrix(shells, X, n, len(lengths), pool)
            norm = _volume_factor(dim) * lengths ** dim
        else:
            counts, means = _cg_exp(nl.i, nl.j, nl.distances, lengths, X, frame.n_atoms, exp_truncation)
            norm = np.array([_exp_normalisation(L, exp_truncation, dim) for L in lengths])
    names, blocks = [], []
    for spec in cg:
        if kinds[spec.name] == "particle":
            block = means[:, columns.index(spec.name), :]
        elif values[spec.name] is None:
            block = counts / norm
        else:
            block = means[:, columns.index(spec.name), :] * counts / norm
        blocks.append(block)
        names.extend(feature_name(spec.name, L) for L in lengths)
    for spec in specs:
        if kinds[spec.name] == "raw":
            block, raw_names = values[spec.name]
            blocks.append(block)
            names.extend(raw_names)
    out = np.concatenate(blocks, axis=1) if len(blocks) > 1 else blocks[0]
    return FeatureTable(names, out, frame.ids.copy(), params, frame.types.copy())


def features_from_params(frame: Frame, params: dict | None = None, *, potential=None) -> FeatureTable:
    """Recompute features exactly as a table's (or a model file's) recorded parameters say.

    Parameters
    ----------
    frame : Frame
    params : dict, optional
        ``FeatureTable.params`` (or a model file's ``descriptor_params``): the keys that are
        parameters of :func:`compute_features` are used, the others ignored. A serialised
        potential (``{"name": ...}``) is looked up by name. Parameters recorded before ``density``
        existed (rho or phi without a ``density`` entry) mean ``density="disc_count"``.
    potential : str or PairPotential, optional
        Overrides the recorded potential; ``"auto"`` (or a missing entry) picks the default
        for the frame (:func:`glassdyn.potentials.resolve_potential`).

    Returns
    -------
    FeatureTable
    """
    sig = inspect.signature(compute_features).parameters
    params = dict(params or {})
    if "density" not in params and {"rho", "phi"} & set(params.get("descriptors") or ()):
        # tables and model files written before rho/phi averaged a per-particle density
        params["density"] = "disc_count"
    kw = {k: v for k, v in params.items() if k in sig and k != "frame"}
    if isinstance(params.get("cutoff_method"), dict) and not isinstance(kw.get("cutoffs"), (str, type(None))):
        kw["cutoff_info"] = params["cutoff_method"]
    for k in ("lengths", "descriptors"):
        if isinstance(kw.get(k), list):
            kw[k] = tuple(kw[k])
    pot = kw.get("potential") if potential is None else potential
    if isinstance(pot, dict):  # a serialised potential: use its name
        pot = pot.get("name")
    kw["potential"] = "auto" if pot is None else pot
    return compute_features(frame, **kw)
