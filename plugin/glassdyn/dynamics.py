"""Dynamics from iso-configurational ensembles (SCIENCE.md section 3).

Arrays in, arrays out. The central array is a trajectory of *unwrapped* positions of shape
``(R, T, N, d)``: R replicas (iso-configurational runs started from the same configuration
with different random velocities), T times, N particles (rows in the same order in every
replica, see :mod:`glassdyn.ensemble`), d = 2 or 3 dimensions. Lengths are in the units of
the positions (sigma_AA in Lennard-Jones units), times in the units of the caller.

Quantities
----------
displacement
    ``dr_i(t) = r_i(t) - r_i(0)`` with the centre-of-mass drift (mean displacement over the
    N particles, equal masses) removed per replica and time.
cage-relative displacement
    ``dr_i^CR(t) = dr_i(t) - (1/n_i) sum_{j in N_i(0)} dr_j(t)``, ``N_i(0)`` the neighbours of
    i at t = 0 within ``1.5 sigma_ab`` by default. An atom without neighbours keeps ``dr_i``.
propensity
    ``p_i(t) = < |dr_i(t)|^2 >_iso`` (or ``< |dr_i(t)| >`` with ``absolute=True``), the mean
    over the replicas.
bond-breaking propensity
    ``C_B,i(t) = < n_i(t|0) / n_i(0) >_iso``; ``n_i(0)`` counts the neighbours within ``r_in``
    (1.4 sigma_ab) at t = 0 and ``n_i(t|0)`` those of them still within ``r_out`` (1.8
    sigma_ab) at t. NaN for an atom without neighbours at t = 0.
self-intermediate scattering function
    ``F_s(q, t) = < (1/N) sum_i J0(q |dr_i|) >`` in 2D (the angular average of
    ``exp(i q.dr)`` over directions in the plane) and ``< (1/N) sum_i sin(x)/x >``,
    ``x = q |dr_i|`` in 3D.
tau_alpha
    The time at which ``F_s(q, t)`` first falls below ``1/e``, interpolated linearly in
    ``log t`` between the two bracketing times (linearly in t when the earlier time is 0).

The wave number ``q`` defaults to the first peak of the static structure factor S(q) of the
reference configuration (:func:`first_peak_q`); for the 2D Kob-Andersen mixture at density
1.2 this lies near ``2 pi / sigma_AA = 6.28`` (:data:`DEFAULT_Q`), which is used when no
configuration is available.

Memory: functions that take ``(R, T, N, d)`` arrays loop over replicas internally, so their
temporaries are ``(T, N)`` or ``(T, N, d)`` at most; :func:`analyze_ensemble` works one
replica at a time on an ensemble held in memory, and :func:`analyze_replicas` also reads the
replicas one at a time (the same numbers, memory of one replica's frames instead of all).
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from scipy.special import j0

from ._util import glassdyn_version, to_jsonable
from .errors import InputError
from .frame import Box, Frame
from .neighbors import neighbor_list, pair_cutoff_matrix

__all__ = [
    "DEFAULT_Q", "CAGE_FACTOR", "R_IN_FACTOR", "R_OUT_FACTOR",
    "unwrap", "find_jumps", "displacements", "remove_drift", "pair_cutoffs", "cage_operator",
    "cage_relative", "propensity", "bond_breaking", "self_intermediate_scattering",
    "structure_factor", "first_peak_q", "tau_alpha", "time_label", "PropensityResult",
    "analyze_ensemble", "analyze_replicas", "default_cage_relative", "propensity_column",
]

#: Default wave number (2 pi / sigma_AA), used when S(q) cannot be estimated.
DEFAULT_Q = 2.0 * math.pi
#: Default cage (neighbour) cutoff, in units of sigma_ab.
CAGE_FACTOR = 1.5
#: Default bond cutoffs for bond breaking, in units of sigma_ab.
R_IN_FACTOR = 1.4
R_OUT_FACTOR = 1.8


# --------------------------------------------------------------------------- displacements
def unwrap(positions: np.ndarray, images: np.ndarray, box: Box) -> np.ndarray:
    """Unwrapped coordinates from wrapped positions and image flags.

    Parameters
    ----------
    positions : ndarray, shape (..., N, d)
        Wrapped Cartesian positions (length units).
    images : ndarray of int, shape (..., N, d)
        Periodic image flags (LAMMPS ``ix iy [iz]``).
    box : Box
        The periodic cell (rows are cell vectors).

    Returns
    -------
    ndarray, shape (..., N, d)
        ``positions + images @ box.matrix``.
    """
    return np.asarray(positions, dtype=float) + np.asarray(images, dtype=float) @ box.matrix


def find_jumps(previous: np.ndarray, current: np.ndarray, box: Box) -> np.ndarray:
    """Atoms that moved more than half a box width between two frames of wrapped positions.

    Such a jump means the atom crossed a periodic boundary (wrapped coordinates without image
    flags cannot give displacements).

    Parameters
    ----------
    previous, current : ndarray, shape (N, d)
        Positions of the same atoms in consecutive frames.
    box : Box

    Returns
    -------
    ndarray of bool, shape (N,)
    """
    df = (np.asarray(current, dtype=float) - np.asarray(previous, dtype=float)) @ np.linalg.inv(box.matrix)
    return np.any(np.abs(df) > 0.5, axis=-1)


def remove_drift(dr: np.ndarray) -> np.ndarray:
    """Subtract the centre-of-mass displacement (equal masses), in place.

    Parameters
    ----------
    dr : ndarray, shape (..., N, d)
        Displacements; modified in place.

    Returns
    -------
    ndarray
        ``dr`` itself.
    """
    n = dr.shape[-2]
    # (N,) @ (..., N, d): a BLAS reduction over atoms, much faster than mean(axis=-2)
    com = np.matmul(np.full(n, 1.0 / n), dr)
    dr -= com[..., None, :]
    return dr


def displacements(trajectory: np.ndarray, origin: np.ndarray | None = None, *, drift: bool = True,
                  out: np.ndarray | None = None) -> np.ndarray:
    """Displacements ``r_i(t) - r_i(0)`` from unwrapped positions, drift removed.

    Parameters
    ----------
    trajectory : ndarray, shape (..., T, N, d)
        Unwrapped positions (length units), e.g. ``(R, T, N, d)`` for R replicas.
    origin : ndarray, shape (..., N, d), optional
        Positions at t = 0 (broadcast against the leading axes); the first time of
        ``trajectory`` by default.
    drift : bool
        Subtract the centre-of-mass displacement of each replica at each time (default True).
    out : ndarray, optional
        Where to write the result (may be ``trajectory`` itself for an in-place computation).

    Returns
    -------
    ndarray, shape (..., T, N, d), float64
    """
    traj = np.asarray(trajectory, dtype=float)
    if traj.ndim < 3:
        raise InputError(f"trajectory must have shape (..., T, N, d), got {traj.shape}")
    org = traj[..., :1, :, :] if origin is None else np.asarray(origin, dtype=float)[..., None, :, :]
    dr = np.subtract(traj, org, out=out)
    if drift:
        remove_drift(dr)
    return dr


# --------------------------------------------------------------------------- cutoffs, cages
def pair_cutoffs(cutoff: Any, potential: Any = None, factor: float = CAGE_FACTOR,
                 n_types: int | None = None) -> np.ndarray | float:
    """Resolve a cutoff specification into a float or a per-type matrix.

    Parameters
    ----------
    cutoff : None, float or array_like (n_types, n_types)
        None: ``factor * sigma_ab`` of ``potential``; a float: the same cutoff for every pair
        (length units); a matrix: per pair of types (indexed by type - 1).
    potential : PairPotential or str, optional
        Needed when ``cutoff`` is None.
    factor : float
        Multiple of sigma_ab used when ``cutoff`` is None.
    n_types : int, optional
        Number of atom types the matrix must cover.

    Returns
    -------
    float or ndarray
    """
    if cutoff is None:
        if potential is None:
            raise InputError(f"give a cutoff (float or per-type matrix) or a potential whose sigma_ab "
                             f"sets the default cutoff {factor:g} sigma_ab")
        from .potentials import get_potential
        pot = get_potential(potential)
        mat = factor * pot.sigma
        if n_types is not None and n_types > pot.n_types:
            raise InputError(f"potential '{pot.name}' knows {pot.n_types} atom types, the configuration "
                             f"has {n_types}; choose another potential or give explicit cutoffs")
        return mat
    if np.ndim(cutoff) == 0:
        c = float(cutoff)
        if not np.isfinite(c) or c <= 0:
            raise InputError(f"cutoff must be positive, got {cutoff}")
        return c
    return pair_cutoff_matrix(cutoff, n_types or np.shape(cutoff)[0])


def cage_operator(frame: Frame, cutoff: Any = None, *, potential: Any = None) -> sparse.csr_matrix:
    """Sparse averaging operator over the neighbours of each atom at t = 0.

    Parameters
    ----------
    frame : Frame
        The reference configuration (t = 0).
    cutoff : None, float or array_like (n_types, n_types)
        Neighbour cutoff; default ``1.5 sigma_ab`` of ``potential``.
    potential : PairPotential or str, optional

    Returns
    -------
    scipy.sparse.csr_matrix, shape (N, N)
        Row i holds ``1 / n_i`` at the columns of the neighbours of i (zero row when i has
        none), so ``A @ dr`` is the mean displacement of the cage.
    """
    cut = pair_cutoffs(cutoff, potential, CAGE_FACTOR, frame.n_types)
    nl = neighbor_list(frame, cut)
    n = frame.n_atoms
    counts = nl.counts()
    w = 1.0 / np.maximum(counts, 1)
    return sparse.csr_matrix((w[nl.i], (nl.i, nl.j)), shape=(n, n))


def cage_relative(dr: np.ndarray, cage: sparse.spmatrix, *, out: np.ndarray | None = None) -> np.ndarray:
    """Cage-relative displacements ``dr_i - mean_{j in N_i(0)} dr_j``.

    Parameters
    ----------
    dr : ndarray, shape (..., N, d)
        Displacements (length units).
    cage : sparse matrix, shape (N, N)
        From :func:`cage_operator`.
    out : ndarray, optional
        Output array (may be ``dr`` for an in-place computation).

    Returns
    -------
    ndarray, shape (..., N, d)
    """
    dr = np.asarray(dr, dtype=float)
    n, d = dr.shape[-2:]
    if cage.shape != (n, n):
        raise InputError(f"cage operator of shape {cage.shape} does not match {n} atoms")
    res = np.empty_like(dr) if out is None else out
    flat_in = dr.reshape(-1, n, d)
    flat_out = res.reshape(-1, n, d)
    for k in range(flat_in.shape[0]):
        mean = cage @ flat_in[k]
        np.subtract(flat_in[k], mean, out=flat_out[k])
    return res


_cage_relative_fn = cage_relative  # reachable where a parameter shadows the name


# --------------------------------------------------------------------------- propensity
def _norms(dr_r: np.ndarray, squared: bool) -> np.ndarray:
    """|dr| or |dr|^2 over the last axis, shape dr.shape[:-1]."""
    s = np.einsum("...d,...d->...", dr_r, dr_r)
    if not squared:
        np.sqrt(s, out=s)
    return s


def propensity(dr: np.ndarray, *, absolute: bool = False) -> np.ndarray:
    """Per-particle propensity: the mean over replicas of ``|dr|^2`` (or ``|dr|``).

    Parameters
    ----------
    dr : ndarray, shape (R, T, N, d)
        Displacements of R replicas (drift removed, cage-relative or not).
    absolute : bool
        Average ``|dr|`` instead of ``|dr|^2``.

    Returns
    -------
    ndarray, shape (T, N)
        Squared length units (length units with ``absolute=True``).
    """
    dr = np.asarray(dr, dtype=float)
    if dr.ndim != 4:
        raise InputError(f"displacements must have shape (R, T, N, d), got {dr.shape}")
    acc = np.zeros(dr.shape[1:3])
    for r in range(dr.shape[0]):
        acc += _norms(dr[r], squared=not absolute)
    acc /= dr.shape[0]
    return acc


def bond_breaking(frame: Frame, dr: np.ndarray, r_in: Any = None, r_out: Any = None, *,
                  potential: Any = None) -> np.ndarray:
    """Bond-breaking propensity ``C_B,i(t) = < n_i(t|0) / n_i(0) >`` over replicas.

    Parameters
    ----------
    frame : Frame
        The configuration at t = 0 (the origin of ``dr``).
    dr : ndarray, shape (R, T, N, d)
        Displacements from ``frame`` (a uniform drift does not matter; not cage-relative).
    r_in, r_out : None, float or array_like (n_types, n_types)
        Bond cutoffs at t = 0 and at t; default ``1.4 sigma_ab`` and ``1.8 sigma_ab`` of
        ``potential``.
    potential : PairPotential or str, optional

    Returns
    -------
    ndarray, shape (T, N)
        Fraction of the initial bonds still present (1 = nothing broke); NaN for atoms with
        no neighbour within ``r_in`` at t = 0.
    """
    dr = np.asarray(dr, dtype=float)
    if dr.ndim != 4 or dr.shape[2] != frame.n_atoms:
        raise InputError(f"displacements must have shape (R, T, {frame.n_atoms}, d), got {dr.shape}")
    cin = pair_cutoffs(r_in, potential, R_IN_FACTOR, frame.n_types)
    cout = pair_cutoffs(r_out, potential, R_OUT_FACTOR, frame.n_types)
    nl = neighbor_list(frame, cin)
    n = frame.n_atoms
    n0 = nl.counts().astype(float)
    if np.ndim(cout) == 0:
        rout2 = float(cout) ** 2
    else:
        t = frame.types
        rout2 = np.asarray(cout, dtype=float)[t[nl.i] - 1, t[nl.j] - 1] ** 2
    acc = np.zeros(dr.shape[1:3])
    for r in range(dr.shape[0]):
        for k in range(dr.shape[1]):
            vec = dr[r, k][nl.j]
            vec -= dr[r, k][nl.i]
            vec += nl.vectors
            still = np.einsum("pd,pd->p", vec, vec) < rout2
            acc[k] += np.bincount(nl.i, weights=still, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc /= n0 * dr.shape[0]
    acc[:, n0 == 0] = np.nan
    return acc


# --------------------------------------------------------------------------- F_s(q, t)
def _scattering_kernel(x: np.ndarray, dimension: int) -> np.ndarray:
    """In place: J0(x) in 2D, sin(x)/x in 3D."""
    if dimension == 2:
        return j0(x, out=x)
    s = np.sin(x)
    np.divide(s, x, out=s, where=x > 0)
    s[x == 0] = 1.0
    x[...] = s
    return x


def self_intermediate_scattering(dr: np.ndarray, q: float, *, types: np.ndarray | None = None,
                                 per_replica: bool = False) -> np.ndarray:
    """Self-intermediate scattering function F_s(q, t).

    Parameters
    ----------
    dr : ndarray, shape (R, T, N, d)
        Displacements (drift removed; cage-relative for the cage-relative F_s); d = 2 uses
        ``J0(q |dr|)``, d = 3 uses ``sin(q |dr|) / (q |dr|)``.
    q : float
        Wave number (inverse length units).
    types : ndarray of int, shape (N,), optional
        Particle types; when given, the result has one row per type as well.
    per_replica : bool
        Return each replica's value instead of the mean over replicas.

    Returns
    -------
    ndarray
        Shape (T,) (or (R, T) with ``per_replica``) without ``types``; with ``types``,
        shape (n_types + 1, T) (or (R, n_types + 1, T)): row 0 averages all particles, row k
        the particles of type k (NaN for a type with no particle).
    """
    dr = np.asarray(dr, dtype=float)
    if dr.ndim != 4 or dr.shape[-1] not in (2, 3):
        raise InputError(f"displacements must have shape (R, T, N, 2 or 3), got {dr.shape}")
    if not np.isfinite(q) or q <= 0:
        raise InputError(f"wave number q must be positive, got {q}")
    R, T, N, d = dr.shape
    if types is not None:
        types = np.asarray(types).astype(np.int64)
        if types.shape != (N,):
            raise InputError(f"types has shape {types.shape} for {N} particles")
        ntypes = int(types.max())
        onehot = np.zeros((N, ntypes + 1))
        onehot[:, 0] = 1.0
        onehot[np.arange(N), types] = 1.0
        counts = onehot.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            weights = onehot / counts
        weights[:, counts == 0] = 0.0
        out = np.empty((R, ntypes + 1, T))
    else:
        out = np.empty((R, T))
    for r in range(R):
        x = _norms(dr[r], squared=False)  # (T, N)
        x *= q
        _scattering_kernel(x, d)
        if types is None:
            out[r] = x.mean(axis=1)
        else:
            out[r] = (x @ weights).T
            out[r, counts == 0] = np.nan
    return out if per_replica else out.mean(axis=0)


def tau_alpha(times: np.ndarray, fs: np.ndarray, *, level: float = 1.0 / math.e) -> float:
    """Structural relaxation time: first time at which ``fs`` falls below ``level``.

    Interpolates linearly in ``log t`` between the last time above and the first time below
    ``level`` (linearly in t when the earlier time is 0).

    Parameters
    ----------
    times : ndarray, shape (T,)
        Increasing times (time units).
    fs : ndarray, shape (T,)
        F_s(q, t).
    level : float
        Threshold, 1/e by default.

    Returns
    -------
    float
        tau_alpha in time units; NaN (with a :class:`RuntimeWarning`) when ``fs`` never
        falls below ``level``.
    """
    t = np.asarray(times, dtype=float)
    f = np.asarray(fs, dtype=float)
    if t.shape != f.shape or t.ndim != 1:
        raise InputError(f"times {t.shape} and F_s {f.shape} must be 1-D arrays of equal length")
    below = np.flatnonzero(f < level)
    if len(below) == 0:
        warnings.warn(f"F_s(q, t) stays above {level:.4g} up to t = {t.max() if len(t) else 0:g}: "
                      "tau_alpha is NaN; run the replicas longer", RuntimeWarning, stacklevel=2)
        return float("nan")
    k = int(below[0])
    if k == 0:
        return float(t[0])
    t0, t1, f0, f1 = t[k - 1], t[k], f[k - 1], f[k]
    w = (f0 - level) / (f0 - f1)
    if t0 > 0:
        return float(math.exp(math.log(t0) + w * (math.log(t1) - math.log(t0))))
    return float(t0 + w * (t1 - t0))


# --------------------------------------------------------------------------- S(q)
def _lattice_vectors(box: Box, q_min: float, q_max: float, n_bins: int, per_bin: int,
                     seed: int) -> np.ndarray:
    """Up to ``per_bin`` reciprocal-lattice vectors in each |k| bin of [q_min, q_max)."""
    d = box.dimension
    recip = 2.0 * math.pi * np.linalg.inv(box.matrix).T  # rows: reciprocal vectors b_i
    nmax = np.ceil(q_max * box.widths / (2.0 * math.pi)).astype(np.int64)
    rng = np.random.default_rng(seed)
    total = int(np.prod(2 * nmax + 1))
    if total <= 400_000:
        grids = np.meshgrid(*[np.arange(-m, m + 1) for m in nmax], indexing="ij")
        n = np.stack([g.ravel() for g in grids], axis=1)
    else:
        # large box: random targets in each shell, rounded to the nearest lattice vector
        m = 8 * per_bin * n_bins
        mag = q_min + (q_max - q_min) * (np.repeat(np.arange(n_bins), 8 * per_bin) + rng.random(m)) / n_bins
        direction = rng.normal(size=(m, d))
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        n = np.rint((direction * mag[:, None]) @ np.linalg.inv(recip)).astype(np.int64)
        n = np.unique(n, axis=0)
    k = n @ recip
    mag = np.linalg.norm(k, axis=1)
    keep = (mag >= q_min) & (mag < q_max)
    k, mag = k[keep], mag[keep]
    bins = np.minimum(((mag - q_min) / (q_max - q_min) * n_bins).astype(np.int64), n_bins - 1)
    order = rng.permutation(len(k))
    k, bins = k[order], bins[order]
    # keep the first `per_bin` (random) vectors of each bin
    srt = np.argsort(bins, kind="stable")
    b_sorted = bins[srt]
    start = np.searchsorted(b_sorted, b_sorted, side="left")
    rank = np.arange(len(b_sorted)) - start
    chosen = srt[rank < per_bin]
    return k[chosen]


def structure_factor(frame: Frame, *, q_range: tuple[float, float] = (2.0, 12.0), n_bins: int = 100,
                     per_bin: int = 16, types: Any = None, seed: int = 0, chunk: int = 64,
                     max_work: float = 2e7) -> tuple[np.ndarray, np.ndarray]:
    """Static structure factor ``S(q) = < |sum_j exp(i k.r_j)|^2 > / N`` on lattice vectors.

    Uses up to ``per_bin`` random reciprocal-lattice vectors k of the periodic box in each of
    ``n_bins`` shells of ``|k|``.

    Parameters
    ----------
    frame : Frame
    q_range : (float, float)
        Range of |k| (inverse length units).
    n_bins : int
    per_bin : int
        Wave vectors per shell (cost ~ N * n_bins * per_bin).
    types : int or sequence of int, optional
        Restrict to these particle types (partial S_aa); all particles by default.
    seed : int
        Seed of the choice of wave vectors.
    chunk : int
        Wave vectors per vectorised block (memory ~ N * chunk).
    max_work : float
        Cap on N * (number of wave vectors): large systems use fewer vectors per shell (at
        least 2), which their self-averaging S(k) tolerates.

    Returns
    -------
    q : ndarray, shape (n_bins,)
        Bin centres.
    s : ndarray, shape (n_bins,)
        S(q) (NaN for an empty shell).
    """
    pos = frame.positions
    if types is not None:
        pos = pos[np.isin(frame.types, np.atleast_1d(types))]
    if len(pos) == 0:
        raise InputError(f"no particle of type {types} for S(q)", source=frame.source, frame=frame.index)
    qmin, qmax = map(float, q_range)
    per_bin = int(max(2, min(per_bin, max_work // (len(pos) * n_bins))))
    k = _lattice_vectors(frame.box, qmin, qmax, n_bins, per_bin, seed)
    s_k = np.empty(len(k))
    for a in range(0, len(k), chunk):
        ph = pos @ k[a:a + chunk].T
        c = np.cos(ph).sum(axis=0)
        s = np.sin(ph).sum(axis=0)
        s_k[a:a + chunk] = (c * c + s * s) / len(pos)
    mag = np.linalg.norm(k, axis=1)
    bins = np.minimum(((mag - qmin) / (qmax - qmin) * n_bins).astype(np.int64), n_bins - 1)
    num = np.bincount(bins, weights=s_k, minlength=n_bins)
    den = np.bincount(bins, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        s_q = num / den
    centres = qmin + (np.arange(n_bins) + 0.5) * (qmax - qmin) / n_bins
    return centres, s_q


def first_peak_q(frame: Frame, *, q_range: tuple[float, float] = (3.0, 10.0), types: Any = None,
                 smooth: int = 5, **kwargs) -> float:
    """Wave number of the main (first) peak of S(q) of a configuration.

    S(q) from :func:`structure_factor`, smoothed by a running mean over ``smooth`` shells;
    the maximum within ``q_range`` (in dense Lennard-Jones liquids the first peak is the
    highest).

    Parameters
    ----------
    frame : Frame
    q_range : (float, float)
        Where to look (inverse length units).
    types : int or sequence of int, optional
        Use a partial structure factor.
    smooth : int
        Width of the running mean (shells).
    **kwargs
        Passed to :func:`structure_factor` (``n_bins``, ``per_bin``, ``seed``).

    Returns
    -------
    float
    """
    q, s = structure_factor(frame, q_range=q_range, types=types, **kwargs)
    ok = np.isfinite(s)
    if ok.sum() < 3:
        raise InputError("too few wave vectors to locate the S(q) peak (box too small?); give q explicitly",
                         source=frame.source, frame=frame.index)
    q, s = q[ok], s[ok]
    if smooth > 1 and len(s) > smooth:
        s = np.convolve(s, np.ones(smooth) / smooth, mode="same")
    return float(q[int(np.argmax(s))])


# --------------------------------------------------------------------------- labels
def time_label(t: float) -> str:
    """Column-name form of a time: ``10``, ``0p5`` (dot -> ``p``, safe for OVITO/LAMMPS names)."""
    t = float(t)
    if t == int(t) and abs(t) < 1e15:
        s = str(int(t))
    else:
        s = f"{t:.6g}"
    return s.replace(".", "p").replace("-", "m").replace("+", "")


# --------------------------------------------------------------------------- driver
@dataclass
class PropensityResult:
    """Per-particle propensities and F_s(q, t) of an iso-configurational ensemble.

    Attributes
    ----------
    times : ndarray, shape (T,)
        Times (time units), including t = 0 when the replicas hold it.
    timesteps : ndarray, shape (T,)
    ids, types : ndarray, shape (N,)
        Atom ids and types, rows in the order of the reference configuration sorted by id.
    propensity : ndarray, shape (T, N)
        ``<|dr|^2>`` (or ``<|dr|>``), over replicas.
    bond_breaking : ndarray, shape (T, N) or None
    fs : ndarray, shape (n_types + 1, T)
        F_s(q, t): row 0 all particles, row k type k.
    fs_per_replica : ndarray, shape (R, T)
        F_s of all particles in each replica.
    tau_alpha : ndarray, shape (n_types + 1,)
        From each row of ``fs`` (NaN if not reached).
    q : float
    params : dict
        Every parameter used and ``glassdyn`` version.

    The propensity's kind is in its name, :attr:`column` (``propensity``, ``propensity_cr``,
    ``propensity_cr_abs``, ...; :func:`propensity_column`).
    """

    times: np.ndarray
    timesteps: np.ndarray
    ids: np.ndarray
    types: np.ndarray
    propensity: np.ndarray
    bond_breaking: np.ndarray | None
    fs: np.ndarray
    fs_per_replica: np.ndarray
    tau_alpha: np.ndarray
    q: float
    params: dict = field(default_factory=dict)

    @property
    def column(self) -> str:
        """The per-atom column name of this propensity (says cage-relative and/or absolute)."""
        return propensity_column(bool(self.params.get("cage_relative")), bool(self.params.get("absolute")))

    def time_index(self, t: float) -> int:
        """Index of the time closest to ``t``."""
        return int(np.argmin(np.abs(self.times - float(t))))

    def fs_table(self) -> dict[str, np.ndarray]:
        """Columns ``time``, ``timestep``, ``fs_all``, ``fs_type<k>``, ``msd`` (mean propensity)."""
        cols: dict[str, np.ndarray] = {"time": self.times, "timestep": self.timesteps,
                                       "fs_all": self.fs[0]}
        for k in range(1, self.fs.shape[0]):
            if np.any(self.types == k):
                cols[f"fs_type{k}"] = self.fs[k]
        cols["mean_propensity"] = self.propensity.mean(axis=1)
        if self.bond_breaking is not None:
            cols["mean_bond_breaking"] = np.nanmean(self.bond_breaking, axis=1)
        return cols


#: What ``cage_relative="auto"`` means: cage-relative displacements in 2D (long-wavelength
#: Mermin-Wagner fluctuations dominate plain ones), plain displacements with the drift removed in
#: 3D (Bapst et al. 2020). SCIENCE.md section 3.
def default_cage_relative(dimension: int) -> bool:
    """True in 2D, False in 3D: the propensity convention of each dimension."""
    return int(dimension) == 2


def propensity_column(cage_relative: bool, absolute: bool) -> str:
    """Name of a propensity column that says which one it is: ``propensity`` (plain ``<|dr|^2>``),
    ``propensity_cr`` (cage-relative), with ``_abs`` for ``<|dr|>``."""
    return "propensity" + ("_cr" if cage_relative else "") + ("_abs" if absolute else "")


class _PropensityAccumulator:
    """The per-replica work of :func:`analyze_ensemble` and :func:`analyze_replicas`, and their result.

    ``add`` takes one replica's unwrapped positions (T, N, d) and origin (N, d); the sums are
    accumulated in replica order, so both drivers give bit-identical numbers.
    """

    def __init__(self, ref: Frame, n_replicas: int, *, potential, cage_relative, absolute, drift, cage_cutoff,
                 r_in, r_out, q, compute_bond_breaking, fs_cage_relative):
        d = ref.dimension
        if isinstance(cage_relative, str):
            if cage_relative != "auto":
                raise InputError(f"cage_relative must be True, False or 'auto', got {cage_relative!r}",
                                 source=ref.source)
            cage_relative = default_cage_relative(d)
        if n_replicas < 2:
            raise InputError(f"an iso-configurational ensemble needs at least 2 replicas, got {n_replicas}")
        self.ref, self.R = ref, n_replicas
        self.potential, self.absolute, self.drift = potential, absolute, drift
        self.cage_cutoff, self.r_in, self.r_out = cage_cutoff, r_in, r_out
        self.cage_relative = cage_relative
        self.fs_cr = cage_relative if fs_cage_relative is None else bool(fs_cage_relative)
        self.q_source = "given"
        if q is None:
            try:
                q = first_peak_q(ref)
                self.q_source = "first peak of S(q) of the reference"
            except InputError:
                q, self.q_source = DEFAULT_Q, "default 2 pi / sigma_AA"
        self.q = q
        self.cage = None
        if cage_relative or self.fs_cr:
            self.cage = cage_operator(ref, cage_cutoff, potential=potential)
        self.compute_bond_breaking = compute_bond_breaking
        self.ntypes = int(ref.types.max())
        self.prop = self.bb = self.fs_rep = self.dr = self.cr = None

    def _allocate(self, T: int):
        N, d = self.ref.n_atoms, self.ref.dimension
        self.prop = np.zeros((T, N))
        self.bb = np.zeros((T, N)) if self.compute_bond_breaking else None
        self.fs_rep = np.empty((self.R, self.ntypes + 1, T))
        self.dr = np.empty((1, T, N, d))
        self.cr = np.empty((1, T, N, d)) if self.cage is not None else None

    def add(self, r: int, positions: np.ndarray, origin: np.ndarray):
        if self.prop is None:
            self._allocate(positions.shape[0])
        dr, cr = self.dr, self.cr
        displacements(positions, origin, drift=self.drift, out=dr[0])
        if self.bb is not None:
            self.bb += bond_breaking(self.ref, dr, self.r_in, self.r_out, potential=self.potential)
        if self.cage is not None:
            _cage_relative_fn(dr, self.cage, out=cr)
        self.prop += propensity(cr if self.cage_relative else dr, absolute=self.absolute)
        self.fs_rep[r] = self_intermediate_scattering(cr if self.fs_cr else dr, self.q, types=self.ref.types)

    def result(self, times, timesteps, dt, sources) -> "PropensityResult":
        R, ref, potential = self.R, self.ref, self.potential
        prop, bb, fs_rep = self.prop, self.bb, self.fs_rep
        T = prop.shape[0]
        N, d = ref.n_atoms, ref.dimension
        prop /= R
        if bb is not None:
            bb /= R
        fs = fs_rep.mean(axis=0)
        tau = np.array([tau_alpha(times, fs[k]) if np.all(np.isfinite(fs[k])) else np.nan
                        for k in range(self.ntypes + 1)])
        params = {
            "n_replicas": R, "n_atoms": N, "dimension": d, "n_times": T,
            "potential": None if potential is None else getattr(potential, "name", str(potential)),
            "cage_relative": bool(self.cage_relative), "absolute": bool(self.absolute),
            "drift_removed": bool(self.drift),
            "cage_cutoff": to_jsonable(self.cage_cutoff if self.cage_cutoff is not None else
                                     (f"{CAGE_FACTOR} sigma_ab" if self.cage is not None else None)),
            "r_in": to_jsonable(self.r_in if self.r_in is not None else f"{R_IN_FACTOR} sigma_ab"),
            "r_out": to_jsonable(self.r_out if self.r_out is not None else f"{R_OUT_FACTOR} sigma_ab"),
            "bond_breaking": bool(self.compute_bond_breaking),
            "q": float(self.q), "q_source": self.q_source, "fs_cage_relative": self.fs_cr,
            "fs_kernel": "J0(q|dr|)" if d == 2 else "sin(q|dr|)/(q|dr|)",
            "tau_alpha_level": 1.0 / math.e,
            "dt": float(dt),
            "sources": list(sources),
            "reference": ref.source,
            "glassdyn_version": glassdyn_version(),
        }
        self.dr = self.cr = None
        return PropensityResult(times=np.asarray(times, dtype=float), timesteps=np.asarray(timesteps),
                                ids=ref.ids.copy(), types=ref.types.copy(), propensity=prop, bond_breaking=bb,
                                fs=fs, fs_per_replica=fs_rep[:, 0, :], tau_alpha=tau, q=float(self.q),
                                params=params)


def analyze_ensemble(ensemble, *, potential: Any = None, cage_relative: bool | str = "auto",
                     absolute: bool = False, drift: bool = True, cage_cutoff: Any = None,
                     r_in: Any = None, r_out: Any = None, q: float | None = None,
                     compute_bond_breaking: bool = True, fs_cage_relative: bool | None = None,
                     progress: Callable[[Iterable], Iterable] | None = None) -> PropensityResult:
    """Propensity, bond breaking, F_s(q, t) and tau_alpha of an ensemble, one replica at a time.

    Parameters
    ----------
    ensemble : glassdyn.ensemble.Ensemble
        Reference configuration and ``(R, T, N, d)`` unwrapped trajectories. To analyse replicas
        without holding them all in memory, see :func:`analyze_replicas` (same results).
    potential : PairPotential or str, optional
        Sets the default cutoffs (multiples of sigma_ab); needed unless every cutoff is given.
    cage_relative : bool or "auto"
        Propensity from cage-relative displacements; ``"auto"`` (default): in 2D, not in 3D
        (:func:`default_cage_relative`).
    absolute : bool
        Propensity ``<|dr|>`` instead of ``<|dr|^2>``.
    drift : bool
        Remove the centre-of-mass drift (default True).
    cage_cutoff, r_in, r_out : None, float or matrix
        Cage cutoff (1.5 sigma_ab), bond cutoffs (1.4 and 1.8 sigma_ab).
    q : float, optional
        Wave number; default the first peak of S(q) of the reference (:func:`first_peak_q`).
    compute_bond_breaking : bool
    fs_cage_relative : bool, optional
        Cage-relative F_s; follows ``cage_relative`` by default.
    progress : callable, optional
        Wraps the loop over replicas (e.g. ``tqdm.tqdm``; the core imports no progress library).

    Returns
    -------
    PropensityResult
    """
    ref = ensemble.reference
    traj = ensemble.positions
    origins = ensemble.origins
    R = traj.shape[0]
    acc = _PropensityAccumulator(ref, R, potential=potential, cage_relative=cage_relative, absolute=absolute,
                                 drift=drift, cage_cutoff=cage_cutoff, r_in=r_in, r_out=r_out, q=q,
                                 compute_bond_breaking=compute_bond_breaking, fs_cage_relative=fs_cage_relative)
    iterator = range(R)
    if progress:
        iterator = progress(iterator)
    for r in iterator:
        acc.add(r, traj[r], origins[r])
    return acc.result(ensemble.times, ensemble.timesteps, getattr(ensemble, "dt", float("nan")),
                      getattr(ensemble, "sources", []))


def analyze_replicas(reference: Frame, replicas, *, sources=None, times=None, dt: float | None = None,
                     origin_step: int = 0, potential: Any = None, cage_relative: bool | str = "auto",
                     absolute: bool = False, drift: bool = True, cage_cutoff: Any = None,
                     r_in: Any = None, r_out: Any = None, q: float | None = None,
                     compute_bond_breaking: bool = True, fs_cage_relative: bool | None = None,
                     progress: Callable[[Iterable], Iterable] | None = None) -> PropensityResult:
    """:func:`analyze_ensemble` of :func:`~glassdyn.ensemble.build_ensemble`, streaming the replicas.

    Each replica is read, checked and analysed before the next one is read, so memory holds one
    replica's frames (T x N x d) and per-particle sums (T x N), never every replica's frames
    (R x T x N x d): the numbers are identical, bit for bit, to
    ``analyze_ensemble(build_ensemble(reference, replicas, ...), ...)``, and so are the checks
    and their messages (:class:`~glassdyn.ensemble.ReplicaStream`); a bad replica is reported
    when the stream reaches it.

    Parameters
    ----------
    reference : Frame
        The configuration every replica was started from.
    replicas : sequence of iterables of Frame
        One iterable per replica, frames in time order, consumed once (e.g. one
        :func:`~glassdyn.adapters.lammps_dump.iter_dump` generator per file).
    sources, times, dt, origin_step
        As for :func:`~glassdyn.ensemble.build_ensemble` (``dt`` default
        :data:`glassdyn.ensemble.DEFAULT_DT`).
    potential, cage_relative, absolute, drift, cage_cutoff, r_in, r_out, q, compute_bond_breaking, fs_cage_relative
        As for :func:`analyze_ensemble`.
    progress : callable, optional
        Wraps the loop over replicas (reading and analysis together).

    Returns
    -------
    PropensityResult
    """
    from .ensemble import DEFAULT_DT, ReplicaStream  # ensemble imports this module

    stream = ReplicaStream(reference, replicas, sources=sources, times=times,
                           dt=DEFAULT_DT if dt is None else dt, origin_step=origin_step, progress=progress)
    acc = _PropensityAccumulator(stream.reference, len(stream), potential=potential, cage_relative=cage_relative,
                                 absolute=absolute, drift=drift, cage_cutoff=cage_cutoff, r_in=r_in, r_out=r_out,
                                 q=q, compute_bond_breaking=compute_bond_breaking, fs_cage_relative=fs_cage_relative)
    for r, positions, origin in stream:
        acc.add(r, positions, origin)
        del positions
    return acc.result(stream.times, stream.timesteps, stream.dt, stream.sources)
