"""Pair structure from the data: partial g_ab(r), neighbour cutoffs at its first minimum, and
the radial structure functions of Cubuk et al. (2015).

All functions take a :class:`~glassdyn.frame.Frame` and reuse one
:func:`~glassdyn.neighbors.neighbor_list` search (pass ``nl=`` to share a search made at a
longer cutoff; pairs are masked, never searched again).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import gaussian_filter1d

from .errors import InputError
from .frame import Frame
from .neighbors import NeighborList, neighbor_list

__all__ = ["sigma_matrix", "partial_rdf", "neighbor_cutoffs", "dataset_cutoffs", "radial_structure_functions",
           "rsf_names", "cutoffs_from_pairs", "FALLBACK_CUTOFF_FACTOR"]

#: Neighbour cutoff used, in units of sigma_ab, when g_ab(r) shows no clear first minimum.
FALLBACK_CUTOFF_FACTOR = 1.45


def sigma_matrix(frame: Frame, potential=None, sigma=None) -> np.ndarray:
    """The sigma matrix (length units) used for phi, Theta and cutoff scales.

    Parameters
    ----------
    frame : Frame
        Used for the number of types and for error messages.
    potential : PairPotential, optional
        Its ``sigma`` is used when ``sigma`` is not given.
    sigma : float or array_like, shape (n_types, n_types), optional
        User sigma (a scalar means one value for every pair).

    Returns
    -------
    ndarray, shape (n, n)
        ``n >= frame.n_types``; all ones when neither ``potential`` nor ``sigma`` is given.

    Raises
    ------
    InputError
        If the matrix is not symmetric and positive, or does not cover every type of the frame
        (the message names the atoms of unknown type).
    """
    if sigma is None and potential is not None:
        from .potentials import get_potential

        sigma = get_potential(potential).sigma
    if sigma is None:
        return np.ones((frame.n_types, frame.n_types))
    s = np.asarray(sigma, dtype=float)
    if s.ndim == 0:
        return np.full((frame.n_types, frame.n_types), float(s))
    if s.ndim != 2 or s.shape[0] != s.shape[1] or not np.allclose(s, s.T) or np.any(~(s > 0)):
        raise InputError(f"sigma must be a positive symmetric square matrix, got {s.tolist()}",
                         source=frame.source, frame=frame.index)
    bad = frame.types > s.shape[0]
    if bad.any():
        raise InputError(f"atom types {sorted(set(frame.types[bad].tolist()))} have no sigma "
                         f"(the sigma matrix covers types 1..{s.shape[0]}); give a larger matrix",
                         source=frame.source, frame=frame.index, atom_ids=frame.ids[bad])
    return s


def _shell_volume(r_lo, r_hi, dimension):
    if dimension == 2:
        return np.pi * (r_hi ** 2 - r_lo ** 2)
    return 4.0 / 3.0 * np.pi * (r_hi ** 3 - r_lo ** 3)


def partial_rdf(frame: Frame, r_max: float, bin_width: float = 0.02, *, n_types: int | None = None,
                nl: NeighborList | None = None):
    """Partial radial distribution functions g_ab(r) of one frame.

    Parameters
    ----------
    frame : Frame
    r_max : float
        Largest distance (length units).
    bin_width : float
        Histogram bin width (length units).
    n_types : int, optional
        Size of the type axes (default ``frame.n_types``).
    nl : NeighborList, optional
        A search at a cutoff >= ``r_max`` to reuse.

    Returns
    -------
    r : ndarray, shape (n_bins,)
        Bin centres.
    g : ndarray, shape (n_types, n_types, n_bins)
        ``g[a-1, b-1]`` = (ordered pairs i of type a, j of type b at distance r) /
        (N_a (N_b - delta_ab) / V * shell volume). NaN for pairs of types absent from the frame.
    """
    n_types = frame.n_types if n_types is None else n_types
    if nl is None:
        nl = neighbor_list(frame, r_max, sort=False)
    elif nl.cutoff < r_max:
        raise InputError(f"the neighbour list was built at {nl.cutoff:g} < r_max {r_max:g}",
                         source=frame.source, frame=frame.index)
    return _partial_rdf(frame, nl.i, nl.j, nl.distances, r_max, bin_width, n_types)


def _rdf_counts(frame, i, j, d, r_max, bin_width, n_types):
    """Pair histogram (n, n, bins) and its ideal-gas expectation (n, n, bins) of one frame; g = hist / ideal.

    Kept apart so that several frames can be pooled (sums of both) into one g_ab(r)."""
    n_bins = int(math.ceil(r_max / bin_width - 1e-9))
    edges = np.arange(n_bins + 1) * bin_width
    m = d < n_bins * bin_width
    t = frame.types - 1
    key = (t[i[m]] * n_types + t[j[m]]) * n_bins + (d[m] / bin_width).astype(np.int64).clip(0, n_bins - 1)
    hist = np.bincount(key, minlength=n_types * n_types * n_bins).reshape(n_types, n_types, n_bins).astype(float)
    counts = np.bincount(t, minlength=n_types).astype(float)
    shell = _shell_volume(edges[:-1], edges[1:], frame.dimension)
    norm = counts[:, None] * (counts[None, :] - np.eye(n_types)) / frame.box.volume
    return 0.5 * (edges[:-1] + edges[1:]), hist, np.maximum(norm, 0.0)[:, :, None] * shell[None, None, :]


def _partial_rdf(frame, i, j, d, r_max, bin_width, n_types):
    r, hist, ideal = _rdf_counts(frame, i, j, d, r_max, bin_width, n_types)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = hist / ideal
    g[ideal <= 0] = np.nan
    return r, g


def _first_minimum(r, g, sigma_ab, smoothing, min_depth):
    """First clear minimum after the first peak of a smoothed g(r); None if there is none."""
    if not np.all(np.isfinite(g)):
        return None, "types absent"
    dr = r[1] - r[0]
    gs = gaussian_filter1d(g, smoothing / dr, mode="nearest")
    core = r < 0.7 * sigma_ab
    if core.any() and gs[core].mean() > 0.1:
        return None, "no excluded core (not a dense liquid or solid)"
    peak_region = r < 1.5 * sigma_ab
    if not peak_region.any():
        return None, "range too short"
    k_peak = int(np.argmax(np.where(peak_region, gs, -np.inf)))
    if gs[k_peak] < 1.2:
        return None, "no first peak"
    w = max(1, int(round(0.15 * sigma_ab / dr)))
    limit = np.searchsorted(r, 2.2 * sigma_ab)
    for k in range(k_peak + 1, min(limit, len(gs) - w)):
        lo, hi = max(0, k - w), k + w + 1
        if gs[k] <= gs[lo:hi].min():
            if gs[k] > min_depth * gs[k_peak]:
                return None, "minimum too shallow"
            return float(r[k]), "first minimum"
    return None, "no minimum found"


def neighbor_cutoffs(frame: Frame, potential=None, *, sigma=None, nl: NeighborList | None = None,
                     bin_width: float = 0.01, smoothing: float = 0.03, min_depth: float = 0.8,
                     fallback: float = FALLBACK_CUTOFF_FACTOR, return_info: bool = False):
    """Per-type neighbour cutoffs at the first minimum of the partial g_ab(r) of the data.

    g_ab is histogrammed with ``bin_width * sigma_max`` bins up to ``2.2 sigma_ab``, smoothed
    with a Gaussian of standard deviation ``smoothing`` (length units), and the first minimum
    after the first peak is the first point that is the lowest within +-0.15 sigma_ab. It is
    accepted when the first peak exceeds 1.2 and the minimum lies below ``min_depth`` times
    the peak, and when g_ab is essentially zero below 0.7 sigma_ab (an excluded core, which
    rejects ideal-gas-like data where noise mimics a shell); otherwise (too few particles, a
    type absent, no clear shell) the cutoff is ``fallback * sigma_ab``.

    Parameters
    ----------
    frame : Frame
    potential : PairPotential, optional
        Supplies sigma (unless ``sigma`` is given).
    sigma : float or array_like, optional
        Sigma matrix (length units); ones if neither this nor ``potential`` is given.
    nl : NeighborList, optional
        A search at a cutoff >= 2.2 sigma_max to reuse.
    bin_width, smoothing, min_depth, fallback : float
        See above.
    return_info : bool
        Also return a dict with the method used for each pair of types.

    Returns
    -------
    cutoffs : ndarray, shape (n, n)
        Symmetric, length units.
    info : dict
        Only with ``return_info``: ``{"A-B": "first minimum" | "fallback (<reason>)", ...}``.
    """
    sig = sigma_matrix(frame, potential, sigma)
    r_max = 2.2 * float(sig.max())
    if nl is None:
        nl = neighbor_list(frame, min(r_max, frame.box.max_cutoff), sort=False)
    m = nl.distances < r_max
    cut, info = cutoffs_from_pairs(frame, nl.i[m], nl.j[m], nl.distances[m], sig, bin_width, smoothing,
                                    min_depth, fallback)
    return (cut, info) if return_info else cut


def cutoffs_from_pairs(frame, i, j, d, sig, bin_width, smoothing, min_depth, fallback):
    """:func:`neighbor_cutoffs` from pairs already found (``i``, ``j``, distances ``d``, both orders).

    Returns ``(cutoffs (n, n), info {"A-B": how})``; the parameters are those of
    :func:`neighbor_cutoffs`, ``sig`` the sigma matrix.
    """
    n = sig.shape[0]
    r_max = 2.2 * float(sig.max())
    bw = bin_width * float(sig.max())
    r, g = _partial_rdf(frame, i, j, d, r_max, bw, n)
    return _cutoffs_from_rdf(r, g, sig, smoothing, min_depth, fallback)


def _cutoffs_from_rdf(r, g, sig, smoothing, min_depth, fallback):
    n = sig.shape[0]
    cut = fallback * sig.copy()
    info = {}
    names = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for a in range(n):
        for b in range(a, n):
            label = f"{names[a] if a < 26 else a + 1}-{names[b] if b < 26 else b + 1}"
            ok = r < 2.2 * sig[a, b]
            gab = 0.5 * (g[a, b] + g[b, a])
            val, why = _first_minimum(r[ok], gab[ok], sig[a, b], smoothing, min_depth)
            if val is None:
                info[label] = f"fallback {fallback:g} sigma ({why})"
            else:
                cut[a, b] = cut[b, a] = val
                info[label] = "first minimum of g(r)"
    return cut, info


def dataset_cutoffs(frames, potential=None, *, sigma=None, bin_width: float = 0.01, smoothing: float = 0.03,
                    min_depth: float = 0.8, fallback: float = FALLBACK_CUTOFF_FACTOR) -> tuple[np.ndarray, dict]:
    """One set of neighbour cutoffs for a whole data set: the first minimum of the partial g_ab(r)
    pooled over every frame (pair histograms and their ideal-gas expectations summed).

    Each frame's own g(r) is noisy for small systems and gives every configuration slightly
    different neighbours; one set per data set, recorded with the features and reused at
    prediction time, keeps the descriptors comparable across configurations.

    Parameters
    ----------
    frames : iterable of Frame
        The configurations of the data set (consumed once; they may be a generator).
    potential, sigma
        Supply the sigma matrix (as :func:`neighbor_cutoffs`); it must cover every frame's types.
    bin_width, smoothing, min_depth, fallback
        As in :func:`neighbor_cutoffs`.

    Returns
    -------
    cutoffs : ndarray, shape (n, n)
    info : dict
        ``{"method": "dataset", "n_frames": ..., "pairs": {"A-B": how}}``, for the feature params.
    """
    hist = ideal = r = sig = None
    n_frames = 0
    for frame in frames:
        s = sigma_matrix(frame, potential, sigma)
        if sig is None:
            sig = s
            r_max = 2.2 * float(sig.max())
            bw = bin_width * float(sig.max())
        elif s.shape != sig.shape:
            raise InputError(f"the frames have different numbers of types ({s.shape[0]} here, {sig.shape[0]} in the "
                             "first frame); give a potential or sigma matrix covering all of them",
                             source=frame.source, frame=frame.index)
        reach = min(r_max, frame.box.max_cutoff)
        nl = neighbor_list(frame, reach, sort=False)
        r, h, e = _rdf_counts(frame, nl.i, nl.j, nl.distances, r_max, bw, sig.shape[0])
        if reach < r_max:  # a small box: bins beyond half its width hold no pairs, not zero density
            e[:, :, r >= reach] = 0.0
        hist = h if hist is None else hist + h
        ideal = e if ideal is None else ideal + e
        n_frames += 1
    if n_frames == 0:
        raise InputError("no frames to compute the neighbour cutoffs from")
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.where(ideal > 0, hist / np.where(ideal > 0, ideal, 1.0), np.nan)
    cut, info = _cutoffs_from_rdf(r, g, sig, smoothing, min_depth, fallback)
    return cut, {"method": "dataset", "n_frames": n_frames, "pairs": info}


def rsf_names(types, mu) -> list[str]:
    """Column names ``G{b}_mu{mu}`` of :func:`radial_structure_functions` (type-major order)."""
    return [f"G{b}_mu{round(float(m), 6)!r}" for b in types for m in mu]


def radial_structure_functions(frame: Frame, mu=None, width: float = 0.1, *, n_types: int | None = None,
                               truncation: float = 5.0, nl: NeighborList | None = None):
    """Radial structure functions of Cubuk et al. (2015).

    G_i(mu; b) = sum over neighbours j of type b (j != i) of exp(-(r_ij - mu)^2 / (2 width^2)).

    Parameters
    ----------
    frame : Frame
    mu : array_like, shape (M,), optional
        Shell radii (length units); default 0.5, 0.6, ..., 5.0.
    width : float
        Gaussian width w (length units).
    n_types : int, optional
        Number of types b (default ``frame.n_types``).
    truncation : float
        Pairs with ``|r - mu| >= truncation * width`` are skipped (their weight is below
        ``exp(-truncation^2 / 2)``, 3.7e-6 for the default 5); the search cutoff is
        ``max(mu) + truncation * width``.
    nl : NeighborList, optional
        A search at a cutoff >= ``max(mu) + truncation * width`` to reuse.

    Returns
    -------
    values : ndarray, shape (N, n_types * M)
        Columns in type-major order: all mu of type 1, then type 2, ...
    names : list of str
        ``G1_mu0.5``, ...
    """
    mu = np.arange(0.5, 5.0 + 1e-9, 0.1) if mu is None else np.asarray(mu, dtype=float).reshape(-1)
    if width <= 0 or len(mu) == 0:
        raise InputError("radial structure functions need a positive width and at least one mu",
                         source=frame.source, frame=frame.index)
    n_types = frame.n_types if n_types is None else n_types
    r_cut = float(mu.max() + truncation * width)
    if nl is None:
        nl = neighbor_list(frame, r_cut, sort=False)
    elif nl.cutoff < r_cut - 1e-12:
        raise InputError(f"the neighbour list was built at {nl.cutoff:g} < {r_cut:g} needed for the "
                         "radial structure functions", source=frame.source, frame=frame.index)
    m = nl.distances < r_cut
    i, d = nl.i[m], nl.distances[m]
    tb = frame.types[nl.j[m]] - 1
    n = frame.n_atoms
    key_base = i * n_types + tb
    out = np.empty((n, n_types, len(mu)))
    span = truncation * width
    # sort pairs by distance once so each mu touches only the pairs near it
    order = np.argsort(d, kind="stable")
    d_sorted = d[order]
    for k, m_k in enumerate(mu):
        lo, hi = np.searchsorted(d_sorted, [m_k - span, m_k + span])
        sel = order[lo:hi]
        w = np.exp(-((d[sel] - m_k) ** 2) / (2.0 * width * width))
        out[:, :, k] = np.bincount(key_base[sel], weights=w, minlength=n * n_types).reshape(n, n_types)
    return out.reshape(n, n_types * len(mu)), rsf_names(range(1, n_types + 1), mu)
