"""Information imbalance (Glielmo et al., PNAS Nexus 2022) with an exact, vectorised engine.

For N data points described in two feature spaces A and B (Euclidean distances),

    Delta(A -> B) = (2 / N) * < r^B_{i, j*(i)} >_i ,

where ``j*(i)`` is the nearest neighbour of ``i`` in A (``i`` itself excluded) and ``r^B_{ij}`` is the rank
of ``j`` among the distances from ``i`` in B (1 = nearest, ``i`` itself excluded). Delta near 0: A
predicts B; near 1: A carries no information on B. The minimum, reached for A = B without ties, is 2/N.

Distances and ties
------------------
Distances are compared exactly as computed in float64: ``|a_j - a_i|`` for a single feature and
``sum_k (a_jk - a_ik)**2`` (columns in the given order) for several. Two distances are tied when these
numbers are equal. Internally, fast approximate passes (KD-tree, BLAS) select candidates and every
comparison closer than a relative 1e-9 is re-done with the exact formula, so results equal a brute-force
evaluation of the definition.

Two tie rules, both parameters:

``ties`` (ranks in B), with ``n_less`` points strictly closer to ``i`` than ``j`` and ``n_eq`` points
(``j`` included, ``i`` excluded) at exactly the same distance as ``j``:

- ``"average"`` (default): ``r = 1 + n_less + (n_eq - 1) / 2``, the mean rank of the tied block: the
  expectation of random tie-breaking, hence of the authors' ``np.argsort`` ranks (ties broken by sort
  order, which is arbitrary with respect to the physics; SCIENCE.md section 4);
- ``"strict"``: ``r = 1 + n_less`` (count strictly closer points; a 1-D discrete target gets the most
  optimistic rank, which invents a "p predicts X better than X predicts p" asymmetry for discrete
  features such as z);
- ``"random"``: ``r = 1 + n_less + u``, ``u`` uniform in ``{0, ..., n_eq - 1}`` drawn with ``seed``.

``nn_ties`` (nearest neighbours in A): when several points share the smallest distance from ``i`` in A
(duplicate values of a discrete feature, duplicated rows),

- ``"average"`` (default): ``r^B_{i, j*(i)}`` is averaged over all of them (the expectation of choosing one
  at random; deterministic);
- ``"random"``: one of them is chosen uniformly with ``seed``;
- ``"first"``: the one with the smallest index.

Duplicate points (rows identical in A *and* B) make Delta artificially small: ``imbalance`` raises an
:class:`~glassdyn.errors.InputError` naming them unless ``duplicates="allow"`` (then the tie rules apply).
Duplicates in A alone (a discrete feature) are normal and handled by ``nn_ties``.

Backends
--------
``backend="exact"`` (default) is this module. ``backend="dadapy"`` calls
``dadapy.metric_comparisons.MetricComparisons`` (imported lazily). dadapy has no tie rule: equidistant
points are ordered as its neighbour search returns them, a point with duplicates may even get itself as
its "nearest neighbour", and with ``maxk < N - 1`` a neighbour beyond ``maxk`` gets a random rank in
``[maxk, N)``. With ``maxk = N - 1`` and no ties it equals the exact engine.

Building blocks
---------------
The exact engine's pieces that :mod:`glassdyn.selection` reuses are public here: the nearest
neighbours with their tie rule (:func:`nn_pairs`, :func:`nn_from_candidates`, :func:`resolve_nn`),
rank counts (:func:`rank_counts_multi`, :class:`Sorted1D` for one feature), exact distances
(:func:`exact_sqdist`, :func:`exact_rows`, re-done below the relative margin :data:`REL_MARGIN`),
:func:`rank_values`, and the argument checks :func:`check_tie_rules` and :func:`check_tables`.

Several configurations
----------------------
Every function accepts a list of arrays (one per configuration) or one array with a ``groups`` array of
configuration labels. Delta is computed per configuration and averaged with equal weights.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from ._util import glassdyn_version
from .errors import GlassdynError, InputError
from .stats import constant_columns

__all__ = [
    "TIE_RULES", "NN_TIE_RULES", "imbalance", "imbalance_per_configuration", "imbalance_pair", "point_ranks",
    "imbalance_plane", "ImbalancePlane", "split_configurations", "standardize_configurations",
    # building blocks shared with glassdyn.selection
    "REL_MARGIN", "Sorted1D", "check_tables", "check_tie_rules", "exact_rows", "exact_sqdist", "import_dadapy",
    "nn_from_candidates", "nn_pairs", "rank_counts_multi", "rank_values", "resolve_nn",
]

TIE_RULES = ("strict", "average", "random")
NN_TIE_RULES = ("average", "random", "first")
#: Relative margin under which approximate distance comparisons are re-done exactly.
REL_MARGIN = 1e-9
_MIN_POINTS = 3


# ----------------------------------------------------------------------------------------------------
# input handling
# ----------------------------------------------------------------------------------------------------
def _as_2d(x: Any, what: str, source: str | None = None, frame: int | None = None) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise InputError(f"{what} must be a 1-D array (one feature) or a 2-D array (points x features), "
                         f"got shape {a.shape}", source=source, frame=frame)
    return a


def split_configurations(x: Any, groups: Any = None) -> list[np.ndarray]:
    """Split data into configurations.

    Parameters
    ----------
    x : array (N,) or (N, d), or a sequence of such arrays (one per configuration)
    groups : array (N,), optional
        Configuration label of every row of ``x`` (only when ``x`` is one array).

    Returns
    -------
    list of float arrays, each (N_c, d), in the order of first appearance of the labels.
    """
    if isinstance(x, (list, tuple)):
        if groups is not None:
            raise InputError("pass either a list of per-configuration arrays or one array with groups, not both")
        return [_as_2d(xi, "data", frame=c) for c, xi in enumerate(x)]
    a = _as_2d(x, "data")
    if groups is None:
        return [a]
    g = np.asarray(groups)
    if g.shape != (a.shape[0],):
        raise InputError(f"groups has shape {g.shape} but the data has {a.shape[0]} rows: give one "
                         "configuration label per row")
    _, first, inv = np.unique(g, return_index=True, return_inverse=True)
    order_labels = np.argsort(first)
    return [a[inv == lab] for lab in order_labels]


def _check_space(a: np.ndarray, name: str, frame: int | None) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        rows, cols = np.nonzero(bad)
        raise InputError(f"space {name} has NaN or infinite values in column(s) {sorted(set(cols.tolist()))}; "
                         "remove or impute them before computing the imbalance (row indices follow)",
                         frame=frame, atom_ids=np.unique(rows))
    if a.shape[0] < _MIN_POINTS:
        raise InputError(f"space {name} has {a.shape[0]} points: the imbalance needs at least {_MIN_POINTS} "
                         "points per configuration (a nearest neighbour and a rank among the others)",
                         frame=frame)
    if np.all(a == a[0]):
        raise InputError(f"space {name} has a single distinct value for all {a.shape[0]} points (constant "
                         "feature or target): every distance is zero and the imbalance is meaningless",
                         frame=frame)


def _check_pair(a: np.ndarray, b: np.ndarray, frame: int | None, duplicates: str, full: bool = True) -> None:
    if a.shape[0] != b.shape[0]:
        raise InputError(f"spaces A and B have different numbers of points ({a.shape[0]} and {b.shape[0]}): "
                         "features and target must describe the same particles in the same order", frame=frame)
    _check_space(a, "A", frame)
    _check_space(b, "B", frame)
    if duplicates == "allow":
        return
    if duplicates != "error":
        raise GlassdynError(f"duplicates must be 'error' or 'allow', got {duplicates!r}")
    if not full:        # the exact engine checks on its nearest-neighbour pairs (_raise_duplicates)
        return
    ab = np.ascontiguousarray(np.hstack([a, b]))
    _, inv, counts = np.unique(ab, axis=0, return_inverse=True, return_counts=True)
    inv = np.ravel(inv)
    dup = np.nonzero(counts[inv] > 1)[0]
    if dup.size:
        raise InputError(f"{dup.size} points are identical in both spaces (duplicated rows, e.g. the same "
                         "particle listed twice); remove them, or pass duplicates='allow' to rank them by the "
                         "tie rules (row indices follow)", frame=frame, atom_ids=dup)


def check_tie_rules(ties: str, nn_ties: str) -> None:
    """Raise :class:`GlassdynError` unless ``ties`` is in :data:`TIE_RULES` and ``nn_ties`` in :data:`NN_TIE_RULES`."""
    if ties not in TIE_RULES:
        raise GlassdynError(f"ties must be one of {TIE_RULES}, got {ties!r}")
    if nn_ties not in NN_TIE_RULES:
        raise GlassdynError(f"nn_ties must be one of {NN_TIE_RULES}, got {nn_ties!r}")


# ----------------------------------------------------------------------------------------------------
# exact kernels
# ----------------------------------------------------------------------------------------------------
def _bisect(lo: np.ndarray, hi: np.ndarray, pred) -> np.ndarray:
    """Vectorised bisection: first index m in [lo, hi) with pred(q, m) true (pred monotone False..True).

    ``pred(q_idx, m)`` gets the indices of the active queries and candidate positions; returns hi when
    no position satisfies it.
    """
    lo = lo.astype(np.int64).copy()
    hi = hi.astype(np.int64).copy()
    active = np.nonzero(lo < hi)[0]
    while active.size:
        mid = (lo[active] + hi[active]) // 2
        ok = pred(active, mid)
        hi[active[ok]] = mid[ok]
        lo[active[~ok]] = mid[~ok] + 1
        active = active[lo[active] < hi[active]]
    return lo


class Sorted1D:
    """A 1-D space prepared for exact distance counting (sorted values)."""

    def __init__(self, x: np.ndarray):
        self.x = x
        self.order = np.argsort(x, kind="stable")
        self.s = x[self.order]
        self.n = x.size
        self.start = np.searchsorted(self.s, x, side="left")   # first sorted position with value >= x_i

    def _boundary(self, approx: np.ndarray, lo: np.ndarray, hi: np.ndarray, pred) -> np.ndarray:
        """First m in [lo, hi) with pred (monotone), starting from a searchsorted guess ``approx``.

        The guess comes from thresholds x_i +- d whose rounding can differ from the exact predicate on
        |s_m - x_i|; it is accepted only when the predicate confirms it, otherwise bisection decides.
        """
        b = np.clip(approx, lo, hi)
        q = np.arange(b.size)
        ok_here = (b == hi) | pred(q, np.minimum(b, self.n - 1))
        ok_prev = (b == lo) | ~pred(q, np.maximum(b - 1, 0))
        bad = np.nonzero(~(ok_here & ok_prev))[0]
        if bad.size:
            b[bad] = _bisect(lo[bad], hi[bad], lambda qq, m: pred(bad[qq], m))
        return b

    def count(self, i: np.ndarray, d: np.ndarray, strict: bool) -> np.ndarray:
        """#{k (i included): |x_k - x_i| < d} (strict) or <= d, exact in float64."""
        s, xi = self.s, self.x[i]
        st = self.start[i]
        n = np.full(i.size, self.n)
        zero = np.zeros_like(st)
        if strict:
            right = self._boundary(np.searchsorted(s, xi + d, side="left"), st, n,
                                   lambda q, m: np.abs(s[m] - xi[q]) >= d[q])
            left = self._boundary(np.searchsorted(s, xi - d, side="right"), zero, st,
                                  lambda q, m: np.abs(s[m] - xi[q]) < d[q])
        else:
            right = self._boundary(np.searchsorted(s, xi + d, side="right"), st, n,
                                   lambda q, m: np.abs(s[m] - xi[q]) > d[q])
            left = self._boundary(np.searchsorted(s, xi - d, side="left"), zero, st,
                                  lambda q, m: np.abs(s[m] - xi[q]) <= d[q])
        return (right - st) + (st - left)

    def ranks(self, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n_less, n_eq) for pairs (i, j): points other than i strictly closer / equally close to i as j."""
        d = np.abs(self.x[j] - self.x[i])
        lt = self.count(i, d, strict=True)
        le = self.count(i, d, strict=False)
        zero = d == 0
        # i itself has distance 0: it is "strictly closer" when d > 0 and "equal" when d == 0
        n_less = lt - (~zero)
        n_eq = le - lt - zero
        return n_less, n_eq

    def nn_ranges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Sorted-position ranges holding every nearest neighbour of each point (i itself excluded later).

        Returns (l0, l1, r0, r1): the neighbours are order[l0:l1] and order[r0:r1].
        """
        s, x, st, n = self.s, self.x, self.start, self.n
        # end of each point's value group
        en = np.searchsorted(s, x, side="right")
        grp = en - st
        dl = np.where(st > 0, x - s[np.maximum(st - 1, 0)], np.inf)
        dr = np.where(en < n, s[np.minimum(en, n - 1)] - x, np.inf)
        dmin = np.where(grp > 1, 0.0, np.minimum(dl, dr))
        # right side (values >= x_i): distances non-decreasing with the sorted position
        r0 = _bisect(st, np.full(n, n), lambda q, m: np.abs(s[m] - x[q]) >= dmin[q])
        r1 = _bisect(r0, np.full(n, n), lambda q, m: np.abs(s[m] - x[q]) > dmin[q])
        # left side (values < x_i): distances non-increasing; none is below dmin, so the block ends at st
        l0 = _bisect(np.zeros(n, np.int64), st, lambda q, m: np.abs(s[m] - x[q]) <= dmin[q])
        return l0, st.astype(np.int64), r0, r1


def exact_sqdist(b: np.ndarray, i: np.ndarray, k: np.ndarray) -> np.ndarray:
    """sum_c (b[k, c] - b[i, c])**2 for pairs, summed column by column (the documented formula)."""
    out = np.zeros(i.size)
    for c in range(b.shape[1]):
        diff = b[k, c] - b[i, c]
        out += diff * diff
    return out


def exact_rows(b: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Exact squared distances from each point in ``rows`` to every point, (len(rows), N)."""
    out = np.zeros((rows.size, b.shape[0]))
    for c in range(b.shape[1]):
        diff = b[None, :, c] - b[rows, c][:, None]
        out += diff * diff
    return out


def _pairs_from_sets(rows: np.ndarray, members: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    lens = np.array([m.size for m in members], dtype=np.int64)
    return np.repeat(rows, lens), (np.concatenate(members) if members else np.zeros(0, np.int64))


def nn_pairs(a: np.ndarray, nn_ties: str, rng: np.random.Generator | None,
              n_jobs: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest neighbours in A as weighted pairs (i, j, w), weights summing to 1 for each i."""
    i, j = _nn_raw(a, n_jobs)
    return resolve_nn(i, j, a.shape[0], nn_ties, rng)


def _nn_raw(a: np.ndarray, n_jobs: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Every (i, j) with j at the exact minimum distance from i in A (j != i), sorted by i."""
    n = a.shape[0]
    if a.shape[1] == 1:
        s1 = Sorted1D(a[:, 0])
        l0, l1, r0, r1 = s1.nn_ranges()
        lens = (l1 - l0) + (r1 - r0)
        rows = np.repeat(np.arange(n), lens)
        # positions: for each i, l0..l1-1 then r0..r1-1
        offs = np.arange(rows.size) - np.repeat(np.cumsum(lens) - lens, lens)
        nl = np.repeat(l1 - l0, lens)
        pos = np.where(offs < nl, np.repeat(l0, lens) + offs, np.repeat(r0, lens) + offs - nl)
        cols = s1.order[pos]
        keep = cols != rows
        return rows[keep], cols[keep]
    return _nn_pairs_kd(a, n_jobs)


def _raise_duplicates(a: np.ndarray, b: np.ndarray, i: np.ndarray, j: np.ndarray, frame: int | None) -> None:
    """Rows identical in A and B: a point's duplicates are always among its nearest neighbours in A."""
    zero = exact_sqdist(a, i, j) == 0
    if not zero.any():
        return
    same = zero & np.all(b[i] == b[j], axis=1)
    if same.any():
        dup = np.unique(np.concatenate([i[same], j[same]]))
        raise InputError(f"{dup.size} points are identical in both spaces (duplicated rows, e.g. the same "
                         "particle listed twice); remove them, or pass duplicates='allow' to rank them by the "
                         "tie rules (row indices follow)", frame=frame, atom_ids=dup)


def _nn_pairs_kd(a: np.ndarray, n_jobs: int = 1, tree: cKDTree | None = None) -> tuple[np.ndarray, np.ndarray]:
    n = a.shape[0]
    if tree is None:
        tree = cKDTree(a)
    kq = min(3, n)
    dist, idx = tree.query(a, k=kq, workers=n_jobs)
    return nn_from_candidates(a, dist ** 2, idx)


def nn_from_candidates(a: np.ndarray, d2: np.ndarray, idx: np.ndarray, rows: np.ndarray | None = None,
                        bound: np.ndarray | None = None, return_failed: bool = False):
    """Exact nearest-neighbour pairs from approximate candidates.

    ``d2`` (R, k) approximate squared distances from points ``rows`` (default 0..R-1) to candidate points
    ``idx``, sorted ascending per row (the point itself may be among them). A row whose best non-self
    candidate is not separated from the next one by a relative ``REL_MARGIN`` is resolved exactly (all points at
    the exact minimum distance). With ``bound`` (squared distance below which every non-candidate is known
    to lie farther), a row whose best candidate is not certified below it is resolved exactly too, or
    returned in ``failed`` when ``return_failed``.

    Returns (i, j) sorted by i, plus ``failed`` (point indices) when ``return_failed``.
    """
    nr, k = idx.shape
    ar = np.arange(nr) if rows is None else np.asarray(rows)
    notself = idx != ar[:, None]
    rank_ns = np.cumsum(notself, axis=1)
    first = np.argmax(notself & (rank_ns == 1), axis=1)
    has2 = rank_ns[:, -1] >= 2
    second = np.argmax(notself & (rank_ns == 2), axis=1)
    r = np.arange(nr)
    d1 = d2[r, first]
    dsec = np.where(has2, d2[r, second], np.inf)
    suspect = (dsec <= d1 * (1 + REL_MARGIN) + 1e-300) | (d1 <= 0) | ~has2 | ~np.any(notself, axis=1)
    failed = np.zeros(nr, bool)
    if bound is not None:
        failed = ~(d1 < bound[ar] * (1 - REL_MARGIN))
        if return_failed:
            suspect &= ~failed
        else:
            suspect |= failed
            failed[:] = False
    ok = ~suspect & ~failed
    pi = [ar[ok]]
    pj = [idx[r[ok], first[ok]].astype(np.int64)]
    sus = ar[suspect]
    if sus.size:
        n = a.shape[0]
        chunk = max(1, int(4_000_000 // max(1, n)))
        for s in range(0, sus.size, chunk):
            rr = sus[s:s + chunk]
            dd = exact_rows(a, rr)
            dd[np.arange(rr.size), rr] = np.inf
            m = dd.min(axis=1)
            q, c = np.nonzero(dd == m[:, None])
            pi.append(rr[q])
            pj.append(c.astype(np.int64))
    i = np.concatenate(pi).astype(np.int64)
    j = np.concatenate(pj)
    o = np.argsort(i, kind="stable")
    if return_failed:
        return i[o], j[o], ar[failed]
    return i[o], j[o]


def resolve_nn(i: np.ndarray, j: np.ndarray, n: int, nn_ties: str,
                rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest-neighbour pairs (i, j) -> weighted pairs (i, j, w) by the ``nn_ties`` rule (weights sum to 1 per i)."""
    counts = np.bincount(i, minlength=n)
    if np.all(counts == 1):
        return i, j, np.ones(i.size)
    if nn_ties == "average":
        return i, j, 1.0 / counts[i]
    starts = np.cumsum(counts) - counts
    if nn_ties == "first":
        o = np.lexsort((j, i))
        i, j = i[o], j[o]
        return i[starts], j[starts], np.ones(n)
    if rng is None:
        raise GlassdynError("nn_ties='random' needs a seed")
    pick = starts + (rng.random(n) * counts).astype(np.int64)
    pick = np.minimum(pick, starts + counts - 1)
    return i[pick], j[pick], np.ones(n)


def rank_counts_multi(b: np.ndarray, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n_less, n_eq) in a multi-dimensional space B for pairs (i, j), exact.

    Rows with a single pair: BLAS distances with a relative margin, ambiguous entries recomputed exactly.
    Rows with several pairs (ties in A): exact rows, sorted, bisection per pair.
    """
    n = b.shape[0]
    t = exact_sqdist(b, i, j)
    n_less = np.zeros(i.size, np.int64)
    n_eq = np.zeros(i.size, np.int64)
    counts = np.bincount(i, minlength=n)
    single = counts[i] == 1
    bc = b - b.mean(axis=0)
    sq = np.einsum("ij,ij->i", bc, bc)
    sq_max = sq.max()
    # single-pair rows: BLAS block, per-row thresholds shifted by |b_i|^2; a row is settled when exactly one
    # entry (j itself) falls in the +-tol window around t, otherwise it is recomputed exactly
    ps = np.nonzero(single)[0]
    chunk = max(1, int(2_000_000 // max(1, n)))
    redo = []
    for s in range(0, ps.size, chunk):
        p = ps[s:s + chunk]
        rows = i[p]
        blk = (-2.0 * bc[rows]) @ bc.T
        blk += sq[None, :]
        blk[np.arange(rows.size), rows] = np.inf
        tol = REL_MARGIN * (sq[rows] + sq_max + t[p]) + 1e-300
        lo = (t[p] - tol - sq[rows])[:, None]
        hi = (t[p] + tol - sq[rows])[:, None]
        c_lo = (blk < lo).view(np.int8).sum(axis=1, dtype=np.int64)
        c_hi = (blk <= hi).view(np.int8).sum(axis=1, dtype=np.int64)
        n_less[p] = c_lo
        n_eq[p] = 1
        redo.append(p[c_hi - c_lo != 1])
    redo = np.concatenate(redo) if redo else np.zeros(0, np.int64)
    for s in range(0, redo.size, chunk):
        p = redo[s:s + chunk]
        rows = i[p]
        dd = exact_rows(b, rows)
        dd[np.arange(rows.size), rows] = np.inf
        tp = t[p][:, None]
        n_less[p] = np.count_nonzero(dd < tp, axis=1)
        n_eq[p] = np.count_nonzero(dd == tp, axis=1)
    # multi-pair rows
    pm = np.nonzero(~single)[0]
    if pm.size:
        urows, inv = np.unique(i[pm], return_inverse=True)
        chunk = max(1, int(2_000_000 // max(1, n)))
        for s in range(0, urows.size, chunk):
            rows = urows[s:s + chunk]
            dd = exact_rows(b, rows)
            dd[np.arange(rows.size), rows] = np.inf
            dd.sort(axis=1)
            sel = np.nonzero((inv >= s) & (inv < s + rows.size))[0]
            p = pm[sel]
            loc = inv[sel] - s
            tp = t[p]
            full = np.full(p.size, n)
            lt = _bisect(np.zeros(p.size, np.int64), full, lambda q, m: dd[loc[q], m] >= tp[q])
            le = _bisect(lt, full, lambda q, m: dd[loc[q], m] > tp[q])
            n_less[p] = lt
            n_eq[p] = le - lt
    return n_less, n_eq


def rank_values(n_less: np.ndarray, n_eq: np.ndarray, ties: str, rng: np.random.Generator | None) -> np.ndarray:
    """Ranks from the counts of strictly closer (``n_less``) and tied (``n_eq``) points, by the ``ties`` rule."""
    if ties == "strict":
        return 1.0 + n_less
    if ties == "average":
        return 1.0 + n_less + (n_eq - 1) / 2.0
    if rng is None:
        raise GlassdynError("ties='random' needs a seed")
    return 1.0 + n_less + np.floor(rng.random(n_less.size) * n_eq)


def _point_ranks_one(a: np.ndarray, b: np.ndarray, ties: str, nn_ties: str, rng: np.random.Generator | None,
                     n_jobs: int = 1, b_sorted: Sorted1D | None = None, duplicates: str = "allow",
                     frame: int | None = None) -> np.ndarray:
    n = a.shape[0]
    i, j = _nn_raw(a, n_jobs)
    if duplicates == "error":
        _raise_duplicates(a, b, i, j, frame)
    i, j, w = resolve_nn(i, j, n, nn_ties, rng)
    return _ranks_for_pairs(b, i, j, w, n, ties, rng, b_sorted)


def _ranks_for_pairs(b: np.ndarray, i: np.ndarray, j: np.ndarray, w: np.ndarray, n: int, ties: str,
                     rng: np.random.Generator | None, b_sorted: Sorted1D | None = None) -> np.ndarray:
    if b.shape[1] == 1:
        sb = b_sorted if b_sorted is not None else Sorted1D(b[:, 0])
        n_less, n_eq = _chunked_1d_ranks(sb, i, j)
    else:
        n_less, n_eq = rank_counts_multi(b, i, j)
    r = rank_values(n_less, n_eq, ties, rng)
    return np.bincount(i, weights=w * r, minlength=n)


def _chunked_1d_ranks(sb: Sorted1D, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    step = 2_000_000
    if i.size <= step:
        return sb.ranks(i, j)
    outs = [sb.ranks(i[s:s + step], j[s:s + step]) for s in range(0, i.size, step)]
    return np.concatenate([o[0] for o in outs]), np.concatenate([o[1] for o in outs])


# ----------------------------------------------------------------------------------------------------
# dadapy backend
# ----------------------------------------------------------------------------------------------------
def import_dadapy():
    """dadapy's ``MetricComparisons`` (imported lazily), or a GlassdynError saying how to install it."""
    try:
        from dadapy.metric_comparisons import MetricComparisons
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise GlassdynError("backend='dadapy' needs dadapy (pip install dadapy==0.3.4, which requires "
                            f"numpy<2): {exc}") from exc
    return MetricComparisons


def _dadapy_pair(a: np.ndarray, b: np.ndarray, maxk: int | None) -> tuple[float, float]:
    MetricComparisons = import_dadapy()
    n = a.shape[0]
    mk = n - 1 if maxk is None else int(min(maxk, n - 1))
    x = np.hstack([a, b])
    mc = MetricComparisons(coordinates=x, maxk=mk, n_jobs=1)
    ca = list(range(a.shape[1]))
    cb = list(range(a.shape[1], x.shape[1]))
    ab, ba = mc.return_inf_imb_two_selected_coords(ca, cb)
    return float(ab), float(ba)


# ----------------------------------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------------------------------
def point_ranks(A: Any, B: Any, *, ties: str = "average", nn_ties: str = "average", seed: int | None = 0,
                duplicates: str = "error", n_jobs: int = 1) -> np.ndarray:
    """Per-point rank ``r^B_{i, j*(i)}`` of the A-nearest neighbour, one configuration.

    Parameters
    ----------
    A, B : array (N,) or (N, d)
        The two feature spaces (same points, same order).
    ties, nn_ties, seed, duplicates
        See the module docstring.
    n_jobs : int
        Threads for the KD-tree queries (-1: all cores).

    Returns
    -------
    ndarray (N,) float: ranks, 1 = nearest (non-integer with averaged ties).
    """
    check_tie_rules(ties, nn_ties)
    a = _as_2d(A, "A")
    b = _as_2d(B, "B")
    _check_pair(a, b, None, duplicates, full=False)
    rng = np.random.default_rng(seed)
    return _point_ranks_one(a, b, ties, nn_ties, rng, n_jobs, duplicates=duplicates)


def imbalance_per_configuration(A: Any, B: Any, *, groups: Any = None, ties: str = "average",
                                nn_ties: str = "average", seed: int | None = 0, backend: str = "exact",
                                maxk: int | None = None, duplicates: str = "error",
                                n_jobs: int = 1) -> np.ndarray:
    """Delta(A -> B) for each configuration.

    Parameters
    ----------
    A, B : array (N,) or (N, d), or sequences of such arrays (one per configuration)
        Feature spaces; Euclidean distances.
    groups : array (N,), optional
        Configuration label per row when A and B are single arrays.
    ties : {"strict", "average", "random"}
        Rank rule for equidistant points in B (module docstring).
    nn_ties : {"average", "random", "first"}
        Rule for several nearest neighbours in A.
    seed : int
        Seed of the random tie-breaking rules (and of dadapy's random ranks beyond ``maxk``: dadapy's own
        seed 42 is used there).
    backend : {"exact", "dadapy"}
        ``"dadapy"`` ignores ``ties``/``nn_ties`` (dadapy orders ties as its neighbour search returns them).
    maxk : int, optional
        dadapy only: neighbours ranked exactly (default N - 1, i.e. all).
    duplicates : {"error", "allow"}
        Rows identical in both spaces: raise (default) or rank them by the tie rules.
    n_jobs : int
        KD-tree threads.

    Returns
    -------
    ndarray (C,): Delta(A -> B) per configuration, dimensionless, in [2/N, ~1] (can exceed 1 slightly).
    """
    check_tie_rules(ties, nn_ties)
    As = split_configurations(A, groups)
    Bs = split_configurations(B, groups)
    if len(As) != len(Bs):
        raise InputError(f"A has {len(As)} configurations and B has {len(Bs)}")
    rng = np.random.default_rng(seed)
    out = np.empty(len(As))
    for c, (a, b) in enumerate(zip(As, Bs)):
        frame = c if len(As) > 1 else None
        _check_pair(a, b, frame, duplicates, full=backend != "exact")
        n = a.shape[0]
        if backend == "exact":
            out[c] = 2.0 / n * _point_ranks_one(a, b, ties, nn_ties, rng, n_jobs, duplicates=duplicates,
                                                 frame=frame).mean()
        elif backend == "dadapy":
            out[c] = _dadapy_pair(a, b, maxk)[0]
        else:
            raise GlassdynError(f"backend must be 'exact' or 'dadapy', got {backend!r}")
    return out


def imbalance(A: Any, B: Any, **kwargs: Any) -> float:
    """Delta(A -> B), averaged over configurations (equal weights).

    Same parameters as :func:`imbalance_per_configuration`. Returns a float (dimensionless).
    """
    return float(np.mean(imbalance_per_configuration(A, B, **kwargs)))


def imbalance_pair(A: Any, B: Any, **kwargs: Any) -> tuple[float, float]:
    """(Delta(A -> B), Delta(B -> A)), each averaged over configurations."""
    return imbalance(A, B, **kwargs), imbalance(B, A, **kwargs)


# ----------------------------------------------------------------------------------------------------
# imbalance plane
# ----------------------------------------------------------------------------------------------------
@dataclass
class ImbalancePlane:
    """The information-imbalance plane of single features against a target.

    Attributes
    ----------
    names : list of str
        Feature names (F).
    forward : ndarray (C, F)
        Delta(X_j -> target) per configuration.
    backward : ndarray (C, F)
        Delta(target -> X_j) per configuration.
    params : dict
        Every parameter used and the glassdyn version.
    """

    names: list[str]
    forward: np.ndarray
    backward: np.ndarray
    params: dict = field(default_factory=dict)

    @property
    def forward_mean(self) -> np.ndarray:
        """Delta(X_j -> target) averaged over configurations, (F,)."""
        return self.forward.mean(axis=0)

    @property
    def backward_mean(self) -> np.ndarray:
        """Delta(target -> X_j) averaged over configurations, (F,)."""
        return self.backward.mean(axis=0)

    def to_dict(self) -> dict:
        return {"names": list(self.names), "forward": self.forward.tolist(), "backward": self.backward.tolist(),
                "forward_mean": self.forward_mean.tolist(), "backward_mean": self.backward_mean.tolist(),
                "params": self.params}


def standardize_configurations(Xs: Sequence[np.ndarray], names: Sequence[str], what: str = "feature") -> list[np.ndarray]:
    """Z-score every column within every configuration (SCIENCE.md section 4).

    Raises :class:`InputError` naming a constant or non-finite column and its configuration.
    """
    out = []
    for c, x in enumerate(Xs):
        bad = ~np.isfinite(x)
        if bad.any():
            cols = sorted(set(np.nonzero(bad)[1].tolist()))
            raise InputError(f"{what}(s) {[names[k] for k in cols]} contain NaN or infinite values; remove the "
                             "column(s) or the particles (row indices follow)",
                             frame=c, atom_ids=np.unique(np.nonzero(bad)[0]))
        sd = x.std(axis=0)
        const = np.nonzero(constant_columns(x))[0]
        if const.size:
            raise InputError(f"{what}(s) {[names[k] for k in const]} are constant in configuration {c}: they "
                             "carry no information and cannot be standardised; drop them", frame=c)
        out.append((x - x.mean(axis=0)) / sd)
    return out


def imbalance_plane(features: Any, target: Any, *, feature_names: Sequence[str] | None = None, groups: Any = None,
                    standardize: bool = True, ties: str = "average", nn_ties: str = "average", seed: int = 0,
                    backend: str = "exact", maxk: int | None = None, n_jobs: int = 1) -> ImbalancePlane:
    """(Delta(X_j -> p), Delta(p -> X_j)) for every single feature j, per configuration.

    Parameters
    ----------
    features : array (N, F) or list of (N_c, F) arrays
    target : array (N,) or list of (N_c,) arrays
    feature_names : list of F str, optional
    groups, ties, nn_ties, seed, backend, maxk, n_jobs
        As in :func:`imbalance_per_configuration`.
    standardize : bool
        Z-score features and target per configuration first (no effect on 1-D ranks, kept for symmetry).

    Returns
    -------
    ImbalancePlane
    """
    Xs = split_configurations(features, groups)
    ps = split_configurations(target, groups)
    F = Xs[0].shape[1]
    names = [f"f{k}" for k in range(F)] if feature_names is None else list(feature_names)
    check_tables(Xs, ps, names)
    # a feature constant (to rounding) in some configuration has no ranks to speak of: NaN, not
    # ranks of rounding noise (rho_L0.5 holds only the particle itself)
    const = sorted(set().union(*[np.nonzero(constant_columns(x))[0].tolist() for x in Xs]))
    if const:
        warnings.warn(f"feature(s) {[names[k] for k in const]} are constant in a configuration: their "
                      "imbalances are NaN", RuntimeWarning, stacklevel=2)
        live = [k for k in range(F) if k not in const]
        Xs = [x.copy() for x in Xs]
        for x in Xs:
            x[:, const] = 0.0
    if standardize:
        if const:
            for x, z in zip(Xs, standardize_configurations([x[:, live] for x in Xs], [names[k] for k in live])):
                x[:, live] = z
        else:
            Xs = standardize_configurations(Xs, names)
        ps = standardize_configurations(ps, ["target"], what="target")
    rng = np.random.default_rng(seed)
    fwd = np.empty((len(Xs), F))
    bwd = np.empty((len(Xs), F))
    for c, (x, p) in enumerate(zip(Xs, ps)):
        n = x.shape[0]
        if backend == "dadapy":
            for f in range(F):
                fwd[c, f], bwd[c, f] = _dadapy_pair(x[:, [f]], p, maxk)
            continue
        sp = Sorted1D(p[:, 0])
        ip, jp, wp = nn_pairs(p, nn_ties, rng, n_jobs)
        for f in range(F):
            xf = x[:, [f]]
            sf = Sorted1D(xf[:, 0])
            i, j, w = nn_pairs(xf, nn_ties, rng, n_jobs)
            fwd[c, f] = 2.0 / n * _ranks_for_pairs(p, i, j, w, n, ties, rng, sp).mean()
            bwd[c, f] = 2.0 / n * _ranks_for_pairs(xf, ip, jp, wp, n, ties, rng, sf).mean()
    fwd[:, const] = np.nan
    bwd[:, const] = np.nan
    params = dict(standardize=standardize, ties=ties, nn_ties=nn_ties, seed=seed, backend=backend, maxk=maxk,
                  n_configurations=len(Xs), n_points=[int(x.shape[0]) for x in Xs],
                  constant_features=[names[k] for k in const], glassdyn_version=glassdyn_version())
    return ImbalancePlane(names=names, forward=fwd, backward=bwd, params=params)


def check_tables(Xs: list[np.ndarray], ps: list[np.ndarray] | None, names: Sequence[str]) -> None:
    """Check a list of per-configuration feature matrices (and targets) for equal widths, lengths and names."""
    F = Xs[0].shape[1]
    if len(names) != F:
        raise InputError(f"{len(names)} feature names for {F} feature columns")
    for c, x in enumerate(Xs):
        if x.shape[1] != F:
            raise InputError(f"configuration {c} has {x.shape[1]} features, the first has {F}", frame=c)
        if x.shape[0] < _MIN_POINTS:
            raise InputError(f"configuration {c} has {x.shape[0]} points; at least {_MIN_POINTS} are needed",
                             frame=c)
    if ps is None:
        return
    if len(ps) != len(Xs):
        raise InputError(f"{len(Xs)} feature configurations but {len(ps)} target configurations")
    for c, (x, p) in enumerate(zip(Xs, ps)):
        if p.shape[0] != x.shape[0]:
            raise InputError(f"configuration {c}: {x.shape[0]} rows of features but {p.shape[0]} target values; "
                             "features and target must describe the same particles in the same order", frame=c)
        if np.all(p == p[0]) and np.all(np.isfinite(p)):
            raise InputError(f"configuration {c}: the target has a single value ({p[0, 0]!r}) for all "
                             f"{p.shape[0]} particles; its ranks are meaningless", frame=c)
