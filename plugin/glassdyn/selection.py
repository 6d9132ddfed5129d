"""Greedy feature selection by information imbalance, with Lasso and random baselines.

- :func:`greedy_supervised`: pick the feature minimising Delta(X_S -> p), then keep adding the feature
  that minimises it together with the picks so far (Sharma et al.; Glielmo et al. 2022).
- :func:`greedy_unsupervised`: minimise (Delta(X_full -> X_S) + Delta(X_S -> X_full)) / sqrt(2), no dynamics.
- :func:`lasso_selection`: for d = 1, 2, ... the subset with exactly d non-zero Lasso weights, refitted by
  least squares; reports its imbalance.
- :func:`random_orders`: many random feature orders, mean and spread of the same curves.

Features are z-scored per configuration before any distance is computed (SCIENCE.md section 4). The
objective is averaged over configurations with equal weights; equal objectives are broken by the lower
feature index. Imbalances use :mod:`glassdyn.imbalance` (tie rules documented there); every function
also takes ``backend="dadapy"`` for a cross-check through dadapy's ``MetricComparisons``.

Duplicates: the selection functions do not reject repeated rows (discrete features repeat values all the
time); equidistant points are ranked by ``ties`` and several nearest neighbours by ``nn_ties``, exactly
as :func:`glassdyn.imbalance.imbalance` with ``duplicates="allow"``. Check raw tables for duplicated
particles with ``imbalance(X, p)`` (which raises on rows identical in both spaces).

Speed: with picks S fixed, the nearest neighbour of each point in S + {f} is found among its K nearest
neighbours in S (one KD-tree per step), since d^2_{S+f} = d^2_S + df^2 >= d^2_S; points whose answer is
not certified by that bound (or whose best candidates are within a relative 1e-9) are redone with a
KD-tree in S + {f} or exactly. Results equal :func:`glassdyn.imbalance.imbalance` on the same columns.
"""
from __future__ import annotations

import fnmatch
import itertools
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.spatial import cKDTree
from sklearn.exceptions import ConvergenceWarning

from .errors import GlassdynError, InputError
from ._util import glassdyn_version
from .imbalance import (REL_MARGIN, Sorted1D, check_tables, check_tie_rules, exact_rows, exact_sqdist, import_dadapy,
                        nn_from_candidates, nn_pairs, rank_counts_multi, rank_values, resolve_nn, split_configurations,
                        standardize_configurations)
from .stats import constant_columns

__all__ = ["SelectionResult", "RandomBaseline", "greedy_supervised", "greedy_unsupervised", "lasso_selection",
           "random_orders", "prepare_features", "lasso_supports", "lasso_order", "RANDOM_CONTROL", "PROTOCOLS"]

RANDOM_CONTROL = "random_control"
_K_HINT = 16
_SPARSE_PER_ROW = 250


# ----------------------------------------------------------------------------------------------------
# results
# ----------------------------------------------------------------------------------------------------
@dataclass
class SelectionResult:
    """Result of a feature selection.

    Attributes
    ----------
    order : list of str
        Names of the picked features, in the order picked (for Lasso: order of first appearance).
    indices : list of int
        Their column indices in the input table (``random_control`` = the appended last column).
    curve : ndarray (n_features,)
        The objective after d = 1..n_features picks, mean over configurations.
    curve_per_config : ndarray (C, n_features)
        The objective per configuration.
    curves : dict of str -> ndarray (C, n_features)
        Named component curves: supervised ``subset_to_target`` (= the objective) and ``target_to_subset``;
        unsupervised ``symmetric`` (= the objective), ``full_to_subset``, ``subset_to_full``.
    subsets : list of list of int
        Feature indices used for the d-th value (nested prefixes of ``indices`` for greedy; Lasso subsets
        need not be nested).
    candidates : list of ndarray
        Mean objective of every feature at every step (NaN for features already picked), (n_features,).
    params : dict
        Every parameter, the feature names and the glassdyn version.
    orders_per_configuration : list of list of str, optional
        ``protocol="per_configuration"``: the picks made in each configuration on its own (the
        paper's protocol); ``order`` is then their consensus (features by mean pick position,
        unpicked counted as ``n_features + 1``) and ``curve_per_config`` row c is configuration
        c's own greedy curve.
    """

    order: list[str]
    indices: list[int]
    curve: np.ndarray
    curve_per_config: np.ndarray
    curves: dict = field(default_factory=dict)
    subsets: list = field(default_factory=list)
    candidates: list = field(default_factory=list)
    params: dict = field(default_factory=dict)
    orders_per_configuration: list | None = None
    indices_per_configuration: list | None = None

    def to_dict(self) -> dict:
        out = {"order": list(self.order), "indices": [int(k) for k in self.indices],
               "curve": self.curve.tolist(), "curve_per_config": self.curve_per_config.tolist(),
               "curves": {k: np.asarray(v).tolist() for k, v in self.curves.items()},
               "subsets": [[int(k) for k in s] for s in self.subsets],
               "candidates": [np.asarray(c).tolist() for c in self.candidates], "params": self.params}
        if self.orders_per_configuration is not None:
            out["orders_per_configuration"] = [list(o) for o in self.orders_per_configuration]
            out["indices_per_configuration"] = [[int(k) for k in o] for o in self.indices_per_configuration]
        return out


@dataclass
class RandomBaseline:
    """Curves of random feature orders.

    Attributes
    ----------
    orders : ndarray (n_orders, n_features) of int
        The random orders (column indices).
    curves : ndarray (n_orders, C, n_features)
        Objective of every order, per configuration, after d picks.
    curve : ndarray (n_features,)
        Mean over orders and configurations.
    spread : ndarray (n_features,)
        Standard deviation over orders of the configuration-averaged curve.
    params : dict
    """

    orders: np.ndarray
    curves: np.ndarray
    curve: np.ndarray
    spread: np.ndarray
    params: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"orders": self.orders.tolist(), "curve": self.curve.tolist(), "spread": self.spread.tolist(),
                "curves": self.curves.tolist(), "params": self.params}


# ----------------------------------------------------------------------------------------------------
# preparation
# ----------------------------------------------------------------------------------------------------
def prepare_features(features: Any, feature_names: Sequence[str] | None = None, groups: Any = None,
                     target: Any = None, *, random_control: bool = False, seed: int = 0,
                     standardize: bool = True, select: Sequence[str] | None = None,
                     drop_constant: bool = True, return_columns: bool = False) -> tuple:
    """Split per configuration, choose columns, append the random control, z-score, validate.

    Parameters
    ----------
    features : array (N, F) or list of (N_c, F) arrays
    feature_names : list of F str, optional (default ``f0, f1, ...``)
    groups : array (N,), optional
    target : array (N,) or list, optional
    random_control : bool
        Append an N(0, 1) column named ``random_control`` (drawn with ``seed``).
    standardize : bool
        Z-score features (and target) per configuration.
    select : list of str, optional
        fnmatch patterns of the feature names to keep.
    drop_constant : bool
        Drop (with a warning naming them) features that are constant, to rounding, in any
        configuration, such as ``rho_L0.5`` (only the particle itself lies within 0.5): they carry
        no information and z-scoring would amplify their rounding noise. False: refuse them.
    return_columns : bool
        Also return, for every kept name, its column in the input table (``random_control``: the
        appended column ``F``).

    Returns
    -------
    (features per configuration, target per configuration or None, names[, columns])
    """
    Xs = split_configurations(features, groups)
    F = Xs[0].shape[1]
    names = [f"f{k}" for k in range(F)] if feature_names is None else [str(s) for s in feature_names]
    ps = None if target is None else split_configurations(target, groups)
    check_tables(Xs, ps, names)
    columns = list(range(F))
    if select:
        keep = [k for k, nm in enumerate(names) if any(fnmatch.fnmatchcase(nm, pat) for pat in select)]
        if not keep:
            raise InputError(f"no feature name matches {list(select)}; available: {names[:20]}"
                             + (" ..." if len(names) > 20 else ""))
        Xs = [x[:, keep] for x in Xs]
        names = [names[k] for k in keep]
        columns = [columns[k] for k in keep]
    if drop_constant and standardize:
        const = set().union(*[np.nonzero(constant_columns(x))[0].tolist() for x in Xs])
        if const:
            if len(const) == len(names):
                raise InputError(f"every feature is constant in some configuration: {names}")
            warnings.warn(f"dropping feature(s) constant in a configuration: {[names[k] for k in sorted(const)]}",
                          RuntimeWarning, stacklevel=3)
            keep = [k for k in range(len(names)) if k not in const]
            Xs = [x[:, keep] for x in Xs]
            names = [names[k] for k in keep]
            columns = [columns[k] for k in keep]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise InputError(f"duplicate feature names {dup}")
    if random_control:
        if RANDOM_CONTROL in names:
            raise InputError(f"a feature is already named {RANDOM_CONTROL!r}")
        rng = np.random.default_rng(seed)
        Xs = [np.hstack([x, rng.standard_normal((x.shape[0], 1))]) for x in Xs]
        names = names + [RANDOM_CONTROL]
        columns = columns + [F]
    if standardize:
        Xs = standardize_configurations(Xs, names)
        if ps is not None:
            ps = standardize_configurations(ps, ["target"] * ps[0].shape[1], what="target")
    else:
        for c, x in enumerate(Xs):
            if not np.all(np.isfinite(x)):
                standardize_configurations([x], names)  # raises the NaN message
    if ps is not None:
        for c, p in enumerate(ps):
            if not np.all(np.isfinite(p)):
                raise InputError("the target contains NaN or infinite values", frame=c,
                                 atom_ids=np.nonzero(~np.isfinite(p).all(axis=1))[0])
    if return_columns:
        return Xs, ps, names, columns
    return Xs, ps, names


# ----------------------------------------------------------------------------------------------------
# fast evaluators (exact engine)
# ----------------------------------------------------------------------------------------------------
class _StepNN:
    """Nearest neighbours in S + {f} for many candidates f, for one configuration and one S."""

    def __init__(self, x: np.ndarray, S: list[int], n_jobs: int):
        self.x = x
        self.S = list(S)
        self.n_jobs = n_jobs
        n = x.shape[0]
        if self.S:
            a = x[:, self.S]
            k = min(_K_HINT, n)
            d, idx = cKDTree(a).query(a, k=k, workers=n_jobs)
            self.idx = idx
            self.d2 = d * d
            self.bound = self.d2[:, -1] if k < n else np.full(n, np.inf)
            self.self_mask = self.idx == np.arange(n)[:, None]

    def pairs(self, f: int, nn_ties: str, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x, n = self.x, self.x.shape[0]
        cols = self.S + [f]
        a = x[:, cols]
        if not self.S:
            return nn_pairs(a, nn_ties, rng, self.n_jobs)
        xf = x[:, f]
        d2 = self.d2 + (xf[self.idx] - xf[:, None]) ** 2
        d2[self.self_mask] = np.inf
        rr = np.arange(n)
        k1 = np.argmin(d2, axis=1)
        v1 = d2[rr, k1]
        d2[rr, k1] = np.inf
        k2 = np.argmin(d2, axis=1)
        d2 = np.column_stack([v1, d2[rr, k2]])
        idx = np.column_stack([self.idx[rr, k1], self.idx[rr, k2]])
        i, j, failed = nn_from_candidates(a, d2, idx, bound=self.bound, return_failed=True)
        if failed.size:
            dd, ii = cKDTree(a).query(a[failed], k=3, workers=self.n_jobs)
            i2, j2 = nn_from_candidates(a, dd * dd, ii, rows=failed)
            i = np.concatenate([i, i2])
            j = np.concatenate([j, j2])
            o = np.argsort(i, kind="stable")
            i, j = i[o], j[o]
        return resolve_nn(i, j, n, nn_ties, rng)


class _FullRanks:
    """Rank table of a space for one configuration: less[i, k] = #{m != i: d_im < d_ik}, eq[i, k] = #{m != i:
    d_im == d_ik} (None when there are no ties). One (N, N) int16 table (int32 above 32767 points).

    1-D spaces are ranked on exact |x_k - x_i|; several dimensions on BLAS distances, with every row whose
    sorted distances come within a relative 1e-9 of each other recomputed exactly.
    """

    def __init__(self, x: np.ndarray):
        n = x.shape[0]
        dtype = np.int16 if n <= 32767 else np.int32
        self.less = np.empty((n, n), dtype=dtype)
        self.eq = None
        chunk = max(1, int(4_000_000 // n))
        eq_rows = {}
        ar = np.arange(n)
        pos = np.arange(n)
        one_d = x.shape[1] == 1
        if not one_d:
            xc = x - x.mean(axis=0)
            sq = np.einsum("ij,ij->i", xc, xc)
        for s in range(0, n, chunk):
            rows = ar[s:s + chunk]
            rr = np.arange(rows.size)
            if one_d:
                blk = np.abs(x[None, :, 0] - x[rows, 0][:, None])
            else:
                blk = (-2.0 * xc[rows]) @ xc.T
                blk += sq[rows][:, None]
                blk += sq[None, :]
            blk[rr, rows] = np.inf
            o = np.argsort(blk, axis=1)
            sv = np.take_along_axis(blk, o, axis=1)
            lr = np.empty((rows.size, n), dtype=dtype)
            if one_d:
                newg = np.ones(sv.shape, bool)
                newg[:, 1:] = sv[:, 1:] != sv[:, :-1]
                start = np.maximum.accumulate(np.where(newg, pos, 0), axis=1)
                np.put_along_axis(lr, o, start.astype(dtype), axis=1)
                if not newg[:, 1:-1].all():
                    endg = np.ones(sv.shape, bool)
                    endg[:, :-1] = newg[:, 1:]
                    end = np.minimum.accumulate(np.where(endg, pos, n)[:, ::-1], axis=1)[:, ::-1] + 1
                    e = np.empty((rows.size, n), dtype=dtype)
                    np.put_along_axis(e, o, (end - start).astype(dtype), axis=1)
                    for r in np.nonzero((e > 1).any(axis=1))[0]:
                        eq_rows[int(rows[r])] = e[r].copy()
            else:
                tol = REL_MARGIN * (sq[rows][:, None] + sq.max()) + 1e-300
                close = np.diff(sv, axis=1) <= 2 * tol
                bad = np.nonzero(close.any(axis=1) | (sv[:, 0] <= tol[:, 0]))[0]
                np.put_along_axis(lr, o, np.broadcast_to(pos.astype(dtype), (rows.size, n)), axis=1)
                if bad.size:
                    dd = exact_rows(x, rows[bad])
                    dd[np.arange(bad.size), rows[bad]] = np.inf
                    for r, row in zip(bad, dd):
                        srt = np.sort(row)
                        left = np.searchsorted(srt, row, side="left")
                        right = np.searchsorted(srt, row, side="right")
                        lr[r] = left
                        e = right - left
                        if np.any(e[np.isfinite(row)] > 1):
                            eq_rows[int(rows[r])] = e.astype(dtype)
            lr[rr, rows] = n - 1
            self.less[rows] = lr
        if eq_rows:
            self.eq = np.ones((n, n), dtype=dtype)
            for r, e in eq_rows.items():
                self.eq[r] = e
        # nearest neighbours: rank 0
        i, j = np.nonzero(self.less == 0)
        keep = i != j
        self.nn_i, self.nn_j = i[keep], j[keep]

    def lookup(self, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n_less = self.less[i, j].astype(np.int64)
        n_eq = np.ones(i.size, np.int64) if self.eq is None else self.eq[i, j].astype(np.int64)
        return n_less, n_eq


class _SubsetCounts:
    """Exact (n_less, n_eq) in S + {f} for fixed pairs (i, j), for many candidates f (one configuration).

    Two exact strategies, chosen once per step:

    - sparse: partial squared distances over the columns S are summed column by column (the documented
      exact formula), so adding the f column last gives exactly the value for the columns S + [f]. Only
      points within sqrt(d^2_S(i, j) + max_f df^2) of i in S can be closer than j; they are gathered once per
      step with a KD-tree. Used when they are few (on average at most ``_SPARSE_PER_ROW`` per point).
    - KD-tree counts: per candidate, a KD-tree in S + {f} counts the points within (1 - 1e-9) and
      (1 + 1e-9) times the distance to j; a point whose shell holds anything but j is recounted exactly.
    """

    def __init__(self, x: np.ndarray, S: list[int], pi: np.ndarray, pj: np.ndarray, cands: list[int]):
        self.x, self.S, self.pi, self.pj = x, list(S), pi, pj
        xS = x[:, self.S]
        self.t0 = exact_sqdist(xS, pi, pj)
        dmax = np.max((x[pi][:, cands] - x[pj][:, cands]) ** 2, axis=1)
        radius = np.sqrt(self.t0 + dmax) * (1 + 1e-7) + 1e-300
        self.sparse = False
        tree = cKDTree(xS)
        lens = tree.query_ball_point(xS[pi], radius, return_length=True)
        if lens.sum() <= _SPARSE_PER_ROW * pi.size:
            lists = tree.query_ball_point(xS[pi], radius, return_sorted=False)
            rows = np.repeat(np.arange(pi.size), lens)
            cols = np.fromiter(itertools.chain.from_iterable(lists), dtype=np.int64, count=int(lens.sum()))
            keep = cols != pi[rows]
            self.rows, self.cols = rows[keep], cols[keep]
            self.b = exact_sqdist(xS, pi[self.rows], self.cols)
            self.sparse = True

    def counts(self, f: int) -> tuple[np.ndarray, np.ndarray]:
        x, pi, pj = self.x, self.pi, self.pj
        xf = x[:, f]
        dj = xf[pj] - xf[pi]
        t = self.t0 + dj * dj
        if self.sparse:
            d = xf[self.cols] - xf[pi[self.rows]]
            v = self.b + d * d
            tt = t[self.rows]
            n_less = np.bincount(self.rows, weights=v < tt, minlength=pi.size).astype(np.int64)
            n_eq = np.bincount(self.rows, weights=v == tt, minlength=pi.size).astype(np.int64)
            return n_less, n_eq
        a = x[:, self.S + [f]]
        tree = cKDTree(a)
        r = np.sqrt(t)
        lo = tree.query_ball_point(a[pi], r * (1 - 1e-9), return_length=True)
        hi = tree.query_ball_point(a[pi], r * (1 + 1e-9), return_length=True)
        n_less = (lo - 1).astype(np.int64)          # i itself lies inside when r > 0
        n_eq = np.ones(pi.size, np.int64)
        redo = np.nonzero((hi - lo != 1) | (t <= 0))[0]
        n = x.shape[0]
        chunk = max(1, int(2_000_000 // n))
        for s in range(0, redo.size, chunk):
            q = redo[s:s + chunk]
            dd = exact_rows(a, pi[q])
            dd[np.arange(q.size), pi[q]] = np.inf
            tq = t[q][:, None]
            n_less[q] = np.count_nonzero(dd < tq, axis=1)
            n_eq[q] = np.count_nonzero(dd == tq, axis=1)
        return n_less, n_eq


def _weighted_rank_mean(i, w, r, n) -> float:
    return float(2.0 / n * np.bincount(i, weights=w * r, minlength=n).mean())


def _map(fn, items, n_jobs):
    if n_jobs is not None and n_jobs != 1 and len(items) > 1:
        workers = None if n_jobs < 0 else n_jobs
        with ThreadPoolExecutor(max_workers=workers) as ex:
            return list(ex.map(fn, items))
    return [fn(it) for it in items]


# ----------------------------------------------------------------------------------------------------
# dadapy evaluators
# ----------------------------------------------------------------------------------------------------
def _dadapy_target_candidates(x: np.ndarray, target: np.ndarray | None, S: list[int], cands: list[int],
                              maxk: int | None) -> np.ndarray:
    """dadapy: (2, len(cands)) [Delta(target -> S+f), Delta(S+f -> target)]; target None = full space."""
    MetricComparisons = import_dadapy()
    from dadapy._utils.utils import compute_nn_distances
    n = x.shape[0]
    mk = n - 1 if maxk is None else int(min(maxk, n - 1))
    mc = MetricComparisons(coordinates=x, maxk=mk, n_jobs=1)
    if target is None:
        _, ranks = compute_nn_distances(x, mk, "euclidean", None)
    else:
        _, ranks = compute_nn_distances(target, mk, "euclidean", None)
    coord_list = [list(S) + [f] for f in cands]
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):
        out = mc.return_inf_imb_target_selected_coords(ranks, coord_list)
    return np.asarray(out, dtype=float)


# ----------------------------------------------------------------------------------------------------
# greedy selection
# ----------------------------------------------------------------------------------------------------
def _common_params(**kw) -> dict:
    kw["glassdyn_version"] = glassdyn_version()
    return kw


def _prepare(features, feature_names, groups, target, n_features, ties: str, nn_ties: str, backend: str | None = None,
             **prepare_kw):
    """Check the tie rules, run :func:`prepare_features`, check ``n_features`` (None: every feature)
    and the ``backend`` (when given).

    Returns ``(Xs, ps, names, n_features, columns)``; ``columns[k]`` is the input column of ``names[k]``.
    """
    check_tie_rules(ties, nn_ties)
    Xs, ps, names, columns = prepare_features(features, feature_names, groups, target, return_columns=True,
                                              **prepare_kw)
    F = len(names)
    n_features = F if n_features is None else int(n_features)
    if not 1 <= n_features <= F:
        raise InputError(f"n_features must be between 1 and the number of features ({F}), got {n_features}")
    if backend is not None and backend not in ("exact", "dadapy"):
        raise GlassdynError(f"backend must be 'exact' or 'dadapy', got {backend!r}")
    return Xs, ps, names, n_features, columns


PROTOCOLS = ("pooled", "per_configuration")


def _per_configuration(function, features, target, groups, kwargs) -> SelectionResult:
    """Run a greedy selection in every configuration on its own and combine the results (the paper's
    protocol: picks per configuration, curves averaged)."""
    Xs = split_configurations(features, groups)
    ps = None if target is None else split_configurations(target, groups)
    runs = [function(x, p, **kwargs) if ps is not None else function(x, **kwargs)
            for x, p in zip(Xs, ps if ps is not None else [None] * len(Xs))]
    n = len(runs[0].order)
    names = list(dict.fromkeys(k for r in runs for k in r.order))
    pos = {k: np.mean([r.order.index(k) + 1 if k in r.order else n + 1 for r in runs]) for k in names}
    consensus = sorted(names, key=lambda k: (pos[k], names.index(k)))[:n]
    index_of = {k: i for r in runs for k, i in zip(r.order, r.indices)}
    curves = {key: np.vstack([r.curves[key] for r in runs]) for key in runs[0].curves}
    per = np.vstack([r.curve_per_config for r in runs])
    params = dict(runs[0].params, protocol="per_configuration", n_configurations=len(runs),
                  n_points=[int(np.shape(x)[0]) for x in Xs])
    return SelectionResult(order=consensus, indices=[index_of[k] for k in consensus], curve=per.mean(axis=0),
                           curve_per_config=per, curves=curves,
                           subsets=[[index_of[k] for k in consensus[:d + 1]] for d in range(n)], candidates=[],
                           params=params, orders_per_configuration=[list(r.order) for r in runs],
                           indices_per_configuration=[list(r.indices) for r in runs])


def greedy_supervised(features: Any, target: Any, *, feature_names: Sequence[str] | None = None, groups: Any = None,
                      n_features: int | None = None, random_control: bool = False, standardize: bool = True,
                      select: Sequence[str] | None = None, drop_constant: bool = True,
                      ties: str = "average", nn_ties: str = "average",
                      seed: int = 0, backend: str = "exact", maxk: int | None = None, reverse: bool = True,
                      target_table: bool = True, n_jobs: int = 1, protocol: str = "pooled") -> SelectionResult:
    """Greedy supervised selection minimising Delta(X_S -> p).

    Parameters
    ----------
    features : array (N, F) or list of (N_c, F) arrays
        Per-particle features (columns named by ``names``).
    target : array (N,) or list of (N_c,) arrays
        The target, e.g. the propensity.
    feature_names : list of F str, optional
    groups : array (N,), optional
        Configuration label per row (one array input).
    n_features : int, optional
        Number of picks (default: all features).
    random_control : bool
        Append an N(0, 1) ``random_control`` column (drawn with ``seed``); it should be picked late.
    standardize : bool
        Z-score per configuration (default True).
    select : list of str, optional
        fnmatch patterns of the feature names to consider.
    drop_constant : bool
        Drop features constant (to rounding) in a configuration, with a warning (default; the same
        in every selection function); False refuses them. ``indices`` always name input columns.
    ties, nn_ties, seed
        Tie rules (see :mod:`glassdyn.imbalance`); ``seed`` also draws the random control.
    backend : {"exact", "dadapy"}
    maxk : int, optional
        dadapy: neighbours ranked exactly (default N - 1).
    reverse : bool
        Also record Delta(p -> X_S) after each pick (curve ``target_to_subset``).
    target_table : bool
        Precompute the (N, N) int16 rank table of the target per configuration (32 MB for N = 4000) so that
        every candidate's ranks are a lookup; False ranks by bisection in the sorted target instead.
    n_jobs : int
        Threads (configurations are evaluated in parallel; -1 = all cores).
    protocol : {"pooled", "per_configuration"}
        ``pooled`` (default): one order for all configurations, each pick minimising the mean of
        Delta over configurations. ``per_configuration``: the paper's protocol, a separate greedy
        selection in every configuration, curves averaged, picks reported per configuration
        (``orders_per_configuration``; ``order`` is their consensus).

    Returns
    -------
    SelectionResult
    """
    if protocol not in PROTOCOLS:
        raise InputError(f"unknown selection protocol '{protocol}'; choose one of {', '.join(PROTOCOLS)}")
    if protocol == "per_configuration":
        return _per_configuration(greedy_supervised, features, target, groups, dict(
            feature_names=feature_names, n_features=n_features, random_control=random_control, standardize=standardize,
            select=select, drop_constant=drop_constant, ties=ties, nn_ties=nn_ties, seed=seed, backend=backend,
            maxk=maxk, reverse=reverse, target_table=target_table, n_jobs=n_jobs))
    Xs, ps, names, n_features, columns = _prepare(features, feature_names, groups, target, n_features, ties, nn_ties, backend,
                                       random_control=random_control, seed=seed, standardize=standardize,
                                       select=select, drop_constant=drop_constant)
    F = len(names)
    C = len(Xs)
    rngs = [np.random.default_rng([seed, c]) for c in range(C)]
    use_table = backend == "exact" and target_table
    sps = [Sorted1D(p[:, 0]) if p.shape[1] == 1 else None for p in ps]
    ttabs = _map(_FullRanks, ps, n_jobs) if use_table else None
    target_pairs = [nn_pairs(p, nn_ties, rngs[c]) for c, p in enumerate(ps)] if reverse else None

    def rank_in_target(c, i, j):
        p = ps[c]
        if ttabs is not None:
            return ttabs[c].lookup(i, j)
        if sps[c] is not None:
            return sps[c].ranks(i, j)
        return rank_counts_multi(p, i, j)

    S: list[int] = []
    fwd = np.empty((C, n_features))
    bwd = np.full((C, n_features), np.nan)
    cand_hist = []
    for step in range(n_features):
        cands = [f for f in range(F) if f not in S]

        def eval_config(c):
            x = Xs[c]
            n = x.shape[0]
            if backend == "dadapy":
                return _dadapy_target_candidates(x, ps[c], S, cands, maxk)[1]
            nn = _StepNN(x, S, 1)
            vals = np.empty(len(cands))
            for q, f in enumerate(cands):
                i, j, w = nn.pairs(f, nn_ties, rngs[c])
                n_less, n_eq = rank_in_target(c, i, j)
                vals[q] = _weighted_rank_mean(i, w, rank_values(n_less, n_eq, ties, rngs[c]), n)
            return vals

        vals = np.array(_map(eval_config, list(range(C)), n_jobs))       # (C, n_cands)
        mean = vals.mean(axis=0)
        best = int(np.argmin(mean))
        S.append(cands[best])
        fwd[:, step] = vals[:, best]
        full = np.full(F, np.nan)
        full[cands] = mean
        cand_hist.append(full)
        if reverse:
            def back(c):
                if backend == "dadapy":
                    return _dadapy_target_candidates(Xs[c], ps[c], S[:-1], [S[-1]], maxk)[0][0]
                x = Xs[c][:, S]
                i, j, w = target_pairs[c]
                if x.shape[1] == 1:
                    n_less, n_eq = Sorted1D(x[:, 0]).ranks(i, j)
                else:
                    n_less, n_eq = rank_counts_multi(x, i, j)
                return _weighted_rank_mean(i, w, rank_values(n_less, n_eq, ties, rngs[c]), x.shape[0])

            bwd[:, step] = _map(back, list(range(C)), n_jobs)
    curves = {"subset_to_target": fwd}
    if reverse:
        curves["target_to_subset"] = bwd
    params = _common_params(mode="supervised", n_features=n_features, random_control=random_control,
                            standardize=standardize, select=list(select) if select else None, ties=ties,
                            nn_ties=nn_ties, seed=seed, backend=backend, maxk=maxk, feature_names=names,
                            n_configurations=C, n_points=[int(x.shape[0]) for x in Xs])
    return SelectionResult(order=[names[k] for k in S], indices=[columns[k] for k in S], curve=fwd.mean(axis=0),
                           curve_per_config=fwd, curves=curves, subsets=[[columns[k] for k in S[:d + 1]] for d in range(n_features)],
                           candidates=cand_hist, params=params)


def greedy_unsupervised(features: Any, *, feature_names: Sequence[str] | None = None, groups: Any = None,
                        n_features: int | None = None, random_control: bool = False, standardize: bool = True,
                        select: Sequence[str] | None = None, drop_constant: bool = True,
                        ties: str = "average", nn_ties: str = "average",
                        seed: int = 0, backend: str = "exact", maxk: int | None = None,
                        n_jobs: int = 1, protocol: str = "pooled") -> SelectionResult:
    """Greedy unsupervised selection minimising (Delta(X_full -> X_S) + Delta(X_S -> X_full)) / sqrt(2).

    Parameters are those of :func:`greedy_supervised` without a target. The full space is every feature
    considered (after ``select``; the random control, when asked for, is part of it).

    Memory: one (N, N) int16 rank table per configuration (32 MB for N = 4000).

    Returns
    -------
    SelectionResult with curves ``symmetric``, ``full_to_subset``, ``subset_to_full``.
    """
    if protocol not in PROTOCOLS:
        raise InputError(f"unknown selection protocol '{protocol}'; choose one of {', '.join(PROTOCOLS)}")
    if protocol == "per_configuration":
        return _per_configuration(greedy_unsupervised, features, None, groups, dict(
            feature_names=feature_names, n_features=n_features, random_control=random_control, standardize=standardize,
            select=select, drop_constant=drop_constant, ties=ties, nn_ties=nn_ties, seed=seed, backend=backend,
            maxk=maxk, n_jobs=n_jobs))
    Xs, _, names, n_features, columns = _prepare(features, feature_names, groups, None, n_features, ties, nn_ties, backend,
                                      random_control=random_control, seed=seed, standardize=standardize,
                                      select=select, drop_constant=drop_constant)
    F = len(names)
    C = len(Xs)
    rngs = [np.random.default_rng([seed, c]) for c in range(C)]
    tables = _map(_FullRanks, Xs, n_jobs) if backend == "exact" else None
    full_nn = []
    if backend == "exact":
        for c in range(C):
            t = tables[c]
            full_nn.append(resolve_nn(t.nn_i, t.nn_j, Xs[c].shape[0], nn_ties, rngs[c]))
    S: list[int] = []
    sym = np.empty((C, n_features))
    f2s = np.empty((C, n_features))
    s2f = np.empty((C, n_features))
    cand_hist = []
    for step in range(n_features):
        cands = [f for f in range(F) if f not in S]

        def eval_config(c):
            x = Xs[c]
            n = x.shape[0]
            if backend == "dadapy":
                out = _dadapy_target_candidates(x, None, S, cands, maxk)
                return out[0], out[1]
            nn = _StepNN(x, S, 1)
            a_vals = np.empty(len(cands))
            b_vals = np.empty(len(cands))
            fi, fj, fw = full_nn[c]
            counter = _SubsetCounts(x, S, fi, fj, cands) if S else None
            for q, f in enumerate(cands):
                i, j, w = nn.pairs(f, nn_ties, rngs[c])
                n_less, n_eq = tables[c].lookup(i, j)
                b_vals[q] = _weighted_rank_mean(i, w, rank_values(n_less, n_eq, ties, rngs[c]), n)
                if counter is None:
                    n_less, n_eq = Sorted1D(x[:, f]).ranks(fi, fj)
                else:
                    n_less, n_eq = counter.counts(f)
                a_vals[q] = _weighted_rank_mean(fi, fw, rank_values(n_less, n_eq, ties, rngs[c]), n)
            return a_vals, b_vals

        res = _map(eval_config, list(range(C)), n_jobs)
        a = np.array([r[0] for r in res])
        b = np.array([r[1] for r in res])
        s = (a + b) / np.sqrt(2.0)
        mean = s.mean(axis=0)
        best = int(np.argmin(mean))
        S.append(cands[best])
        sym[:, step], f2s[:, step], s2f[:, step] = s[:, best], a[:, best], b[:, best]
        full = np.full(F, np.nan)
        full[cands] = mean
        cand_hist.append(full)
    params = _common_params(mode="unsupervised", n_features=n_features, random_control=random_control,
                            standardize=standardize, select=list(select) if select else None, ties=ties,
                            nn_ties=nn_ties, seed=seed, backend=backend, maxk=maxk, feature_names=names,
                            n_configurations=C, n_points=[int(x.shape[0]) for x in Xs])
    return SelectionResult(order=[names[k] for k in S], indices=[columns[k] for k in S], curve=sym.mean(axis=0),
                           curve_per_config=sym,
                           curves={"symmetric": sym, "full_to_subset": f2s, "subset_to_full": s2f},
                           subsets=[[columns[k] for k in S[:d + 1]] for d in range(n_features)], candidates=cand_hist, params=params)


# ----------------------------------------------------------------------------------------------------
# baselines
# ----------------------------------------------------------------------------------------------------
def _subset_objective(Xs, ps, subset, ties, nn_ties, rngs, tables=None, full_nn=None) -> np.ndarray:
    """Per-configuration objective of a fixed subset: supervised (ps given) or unsupervised (tables)."""
    out = np.empty(len(Xs))
    for c, x in enumerate(Xs):
        n = x.shape[0]
        sub = x[:, list(subset)]
        i, j, w = nn_pairs(sub, nn_ties, rngs[c])
        if ps is not None:
            p = ps[c]
            if p.shape[1] == 1:
                n_less, n_eq = Sorted1D(p[:, 0]).ranks(i, j)
            else:
                n_less, n_eq = rank_counts_multi(p, i, j)
            out[c] = _weighted_rank_mean(i, w, rank_values(n_less, n_eq, ties, rngs[c]), n)
        else:
            n_less, n_eq = tables[c].lookup(i, j)
            b = _weighted_rank_mean(i, w, rank_values(n_less, n_eq, ties, rngs[c]), n)
            fi, fj, fw = full_nn[c]
            if sub.shape[1] == 1:
                n_less, n_eq = Sorted1D(sub[:, 0]).ranks(fi, fj)
            else:
                n_less, n_eq = rank_counts_multi(sub, fi, fj)
            a = _weighted_rank_mean(fi, fw, rank_values(n_less, n_eq, ties, rngs[c]), n)
            out[c] = (a + b) / np.sqrt(2.0)
    return out


def lasso_supports(X: np.ndarray, y: np.ndarray, n_features: int, *, n_alphas: int = 300,
                   max_iter: int = 5000) -> tuple[list[list[int] | None], list[float]]:
    """Supports of the Lasso with exactly d non-zero weights, d = 1..``n_features`` (the one Lasso ranking).

    ``alpha`` is scanned with :func:`sklearn.linear_model.lasso_path` on a log grid from the
    smallest alpha that keeps every weight zero down to 1e-4 of it, and refined by bisection on
    log(alpha) until exactly d weights are non-zero. Used by :func:`lasso_selection` and by
    :class:`glassdyn.learn.FeatureSelector` (``method="lasso"``).

    Parameters
    ----------
    X : ndarray (N, F)
        Features (standardise them first: the penalty treats every column alike).
    y : ndarray (N,)
    n_features : int
        Largest support size wanted.

    Returns
    -------
    subsets : list of (list of int or None)
        ``subsets[d - 1]``: column indices with non-zero weight at exactly d weights, in
        increasing order; None for a d that no alpha reaches (the path can add two at once).
    alphas : list of float
        The alpha of each support (NaN where None).
    """
    from sklearn.linear_model import Lasso, lasso_path

    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float).reshape(-1)
    a_max = float(np.max(np.abs(X.T @ (y - y.mean()))) / X.shape[0])
    if not np.isfinite(a_max) or a_max <= 0:
        return [None] * int(n_features), [float("nan")] * int(n_features)
    grid = np.logspace(np.log10(a_max), np.log10(a_max * 1e-4), n_alphas)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        alphas, coefs, _ = lasso_path(X, y, alphas=grid, max_iter=max_iter)
    nnz = np.count_nonzero(coefs, axis=0)
    subsets: list[list[int] | None] = []
    alpha_used = []

    def fit(alpha):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            m = Lasso(alpha=alpha, max_iter=max_iter, tol=1e-8).fit(X, y)
        return np.nonzero(m.coef_)[0]

    for d in range(1, int(n_features) + 1):
        hit = np.nonzero(nnz == d)[0]
        if hit.size:
            a = float(alphas[hit[0]])
            sup = np.nonzero(coefs[:, hit[0]])[0]
        else:
            above = np.nonzero(nnz < d)[0]
            below = np.nonzero(nnz > d)[0]
            sup = None
            a = np.nan
            if above.size and below.size:
                hi, lo = np.log(alphas[above[-1]]), np.log(alphas[below[0]])
                for _ in range(40):
                    mid = 0.5 * (hi + lo)
                    s_mid = fit(np.exp(mid))
                    if s_mid.size == d:
                        sup, a = s_mid, float(np.exp(mid))
                        break
                    if s_mid.size < d:
                        hi = mid
                    else:
                        lo = mid
        subsets.append(None if sup is None else [int(k) for k in sup])
        alpha_used.append(a)
    return subsets, alpha_used


def lasso_order(subsets: Sequence, n_columns: int, fallback: Sequence[int] = ()) -> list[int]:
    """Columns in the order they first appear in ``subsets`` (from :func:`lasso_supports`), then
    the ``fallback`` order for the columns that never appear (e.g. by decreasing |Pearson r|)."""
    order: list[int] = []
    for sub in subsets:
        for k in sub or ():
            if k not in order:
                order.append(int(k))
    order += [int(k) for k in fallback if int(k) not in order]
    order += [k for k in range(n_columns) if k not in order]
    return order


def lasso_selection(features: Any, target: Any, *, feature_names: Sequence[str] | None = None, groups: Any = None,
                    n_features: int = 15, standardize: bool = True, select: Sequence[str] | None = None,
                    drop_constant: bool = True,
                    ties: str = "average", nn_ties: str = "average", seed: int = 0, n_alphas: int = 300,
                    max_iter: int = 5000) -> SelectionResult:
    """Lasso selection: for d = 1..n_features, the subset with exactly d non-zero weights.

    All configurations are pooled (features and target z-scored per configuration); ``alpha`` is scanned
    with :func:`sklearn.linear_model.lasso_path` on a log grid and refined by bisection on log(alpha) until
    exactly d weights are non-zero. Least squares is refitted on each subset (coefficients in
    ``params["least_squares"]``) and the subset's Delta(X_subset -> p) is reported (``curve``). A d that no
    alpha reaches (the path can add two features at once) gets NaN and is listed in ``params["missing_d"]``.
    """
    from sklearn.linear_model import LinearRegression

    Xs, ps, names, n_features, columns = _prepare(features, feature_names, groups, target, n_features, ties, nn_ties,
                                                standardize=standardize, select=select, drop_constant=drop_constant)
    X = np.vstack(Xs)
    y = np.concatenate([p[:, 0] for p in ps])
    subsets, alpha_used = lasso_supports(X, y, n_features, n_alphas=n_alphas, max_iter=max_iter)
    rngs = [np.random.default_rng([seed, c]) for c in range(len(Xs))]
    per_config = np.full((len(Xs), n_features), np.nan)
    ls = []
    for d, sub in enumerate(subsets):
        if sub is None:
            ls.append(None)
            continue
        per_config[:, d] = _subset_objective(Xs, ps, sub, ties, nn_ties, rngs)
        lr = LinearRegression().fit(X[:, sub], y)
        ls.append({"features": [names[k] for k in sub], "coef": lr.coef_.tolist(), "intercept": float(lr.intercept_)})
    order = [k for k in lasso_order(subsets, len(names)) if any(k in (s or ()) for s in subsets)]
    params = _common_params(mode="lasso", n_features=n_features, standardize=standardize,
                            select=list(select) if select else None, ties=ties, nn_ties=nn_ties, seed=seed,
                            n_alphas=n_alphas, alphas=alpha_used, least_squares=ls, feature_names=names,
                            missing_d=[d + 1 for d, s in enumerate(subsets) if s is None],
                            n_configurations=len(Xs))
    return SelectionResult(order=[names[k] for k in order], indices=[columns[k] for k in order], curve=np.nanmean(per_config, axis=0)
                           if np.isfinite(per_config).any() else per_config.mean(axis=0),
                           curve_per_config=per_config, curves={"subset_to_target": per_config},
                           subsets=[[columns[k] for k in s] if s is not None else [] for s in subsets], params=params)


def random_orders(features: Any, target: Any = None, *, feature_names: Sequence[str] | None = None, groups: Any = None,
                  n_features: int = 15, n_orders: int = 100, standardize: bool = True,
                  select: Sequence[str] | None = None, drop_constant: bool = True,
                      ties: str = "average", nn_ties: str = "average",
                  seed: int = 0, n_jobs: int = 1) -> RandomBaseline:
    """Random feature orders: the supervised (target given) or unsupervised objective after d picks.

    Returns the mean over ``n_orders`` orders (drawn with ``seed``) and their spread (standard deviation of
    the configuration-averaged curve over orders).
    """
    Xs, ps, names, n_features, columns = _prepare(features, feature_names, groups, target, n_features, ties, nn_ties,
                                                standardize=standardize, select=select, drop_constant=drop_constant)
    F = len(names)
    rng = np.random.default_rng(seed)
    orders = np.array([rng.permutation(F)[:n_features] for _ in range(n_orders)])
    C = len(Xs)
    tables = full_nn = None
    if ps is None:
        tables = _map(_FullRanks, Xs, n_jobs)
        full_nn = [resolve_nn(t.nn_i, t.nn_j, Xs[c].shape[0], nn_ties, np.random.default_rng([seed, 2, c]))
                   for c, t in enumerate(tables)]

    def one(q):
        rngs = [np.random.default_rng([seed, 1, q, c]) for c in range(C)]   # reproducible with threads
        return np.stack([_subset_objective(Xs, ps, orders[q][:d + 1], ties, nn_ties, rngs, tables, full_nn)
                         for d in range(n_features)], axis=1)

    curves = np.array(_map(one, list(range(n_orders)), n_jobs))          # (n_orders, C, n_features)
    per_order = curves.mean(axis=1)
    params = _common_params(mode="random", supervised=ps is not None, n_features=n_features, n_orders=n_orders,
                            standardize=standardize, select=list(select) if select else None, ties=ties,
                            nn_ties=nn_ties, seed=seed, feature_names=names, n_configurations=C)
    return RandomBaseline(orders=np.asarray(columns)[orders], curves=curves, curve=per_order.mean(axis=0),
                          spread=per_order.std(axis=0, ddof=1) if n_orders > 1 else np.zeros(n_features),
                          params=params)
