"""Validation of propensity models, configuration by configuration (SCIENCE.md section 5).

Particles of one configuration are correlated (they share a box and a history), so every split
here is *by configuration*: leave-one-configuration-out (``cv="loco"``) or
:class:`~sklearn.model_selection.GroupKFold` (``cv="groupkfold"``), with ``groups`` holding the
configuration index of every row. Feature selection is a step of the model
(:class:`glassdyn.learn.PropensityModel`) and is fitted on the training configurations of each
fold only.

* :func:`configuration_splits`, :func:`evaluate_by_configuration`, :func:`cross_validate`:
  per-configuration Pearson, Spearman, R^2 and MAE (mean and spread) and out-of-fold predictions,
  for all particles and, given ``types``, for every particle type on its own (SCIENCE.md
  section 5; Bapst et al. 2020 score type A).
* :func:`learning_curve_features`, :func:`learning_curve_size`: held-out score against the
  number of selected features (the one implementation, used by the CLI, the demo and the
  studies) and against the training size.
* :func:`subsample_min_distance`: particles kept at mutual (periodic) distances of at least a
  decorrelation length.

In scikit-learn's own tools (``cross_val_score``, ``GridSearchCV``) the configuration labels must
be routed as ``groups`` to a group-aware splitter (``GroupKFold``, ``LeaveOneGroupOut``) and, for the
information-imbalance selection, to ``fit`` (metadata routing: ``set_fit_request(groups=True)``); see
:class:`glassdyn.learn.PropensityModel`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats
from sklearn.base import clone
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

from ._util import glassdyn_version, to_jsonable
from .errors import InputError
from .frame import Frame
from .learn import (FeatureSelector, as_named_matrix, check_training_data, check_types, group_labels,
                    resolve_per_type)
from .neighbors import neighbor_list

__all__ = ["configuration_splits", "ConfigurationScores", "evaluate_by_configuration", "CVResult",
           "cross_validate", "learning_curve_features", "learning_curve_size", "subsample_min_distance"]


def configuration_splits(groups, cv: str = "loco", n_splits: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train/test row indices split by configuration.

    Parameters
    ----------
    groups : array_like, shape (N,)
        Configuration label of each row.
    cv : {"loco", "groupkfold"}
        Leave one configuration out, or :class:`~sklearn.model_selection.GroupKFold` with
        ``n_splits`` folds.
    n_splits : int
        Folds for ``groupkfold``.

    Returns
    -------
    list of (train_index, test_index)
        No configuration ever appears on both sides.

    Raises
    ------
    InputError
        If there are too few configurations for the requested split.
    """
    g = group_labels(groups)
    n_conf = len(np.unique(g))
    if cv == "loco":
        if n_conf < 2:
            raise InputError(f"leave-one-configuration-out needs at least 2 configurations, got {n_conf}; "
                             "add configurations (more frames or dumps)")
        splitter = LeaveOneGroupOut()
    elif cv == "groupkfold":
        if n_splits < 2:
            raise InputError(f"GroupKFold needs n_splits >= 2, got {n_splits}")
        if n_conf < n_splits:
            raise InputError(f"GroupKFold with {n_splits} folds needs at least {n_splits} configurations, "
                             f"got {n_conf}; lower --n-splits or add configurations")
        splitter = GroupKFold(n_splits=n_splits)
    else:
        raise InputError(f"unknown split '{cv}'; choose 'loco' or 'groupkfold'")
    idx = np.zeros((len(g), 1))
    return [(tr, te) for tr, te in splitter.split(idx, groups=g)]


@dataclass
class ConfigurationScores:
    """Scores computed separately on every configuration.

    Attributes
    ----------
    groups : ndarray
        Configuration labels.
    pearson, spearman, r2, mae : ndarray, shape (n_configurations,)
    by_type : dict of type -> ConfigurationScores, or None
        The same scores computed on the particles of each type alone (every configuration
        holding that type), when types were given.
    """

    groups: np.ndarray
    pearson: np.ndarray
    spearman: np.ndarray
    r2: np.ndarray
    mae: np.ndarray
    by_type: dict | None = None

    METRICS = ("pearson", "spearman", "r2", "mae")

    def summary(self) -> dict[str, dict[str, float]]:
        """``{metric: {"mean": ..., "std": ..., "n": ...}}`` over configurations (NaNs ignored)."""
        out = {}
        for m in self.METRICS:
            v = np.asarray(getattr(self, m), float)
            v = v[np.isfinite(v)]
            out[m] = {"mean": float(v.mean()) if v.size else float("nan"),
                      "std": float(v.std(ddof=1)) if v.size > 1 else 0.0, "n": int(v.size)}
        return out

    def summary_by_type(self) -> dict:
        """``{type: {metric: {"mean", "std", "n"}}}`` (empty without types)."""
        return {t: s.summary() for t, s in (self.by_type or {}).items()}

    def to_dict(self) -> dict:
        out = {"groups": [x.item() if hasattr(x, "item") else x for x in self.groups],
               **{m: [float(v) for v in getattr(self, m)] for m in self.METRICS},
               "summary": self.summary()}
        if self.by_type is not None:
            out["by_type"] = {str(t): s.to_dict() for t, s in self.by_type.items()}
        return out


def evaluate_by_configuration(y_true, y_pred, groups, types=None) -> ConfigurationScores:
    """Pearson r, Spearman rho, R^2 and mean absolute error of each configuration.

    Parameters
    ----------
    y_true, y_pred : array_like, shape (N,)
    groups : array_like, shape (N,)
    types : array_like, shape (N,), optional
        Particle type of every row: the scores are also computed per type
        (``ConfigurationScores.by_type``), each type's particles of a configuration on their own.

    Returns
    -------
    ConfigurationScores
        Correlations are NaN for a configuration with constant truth or prediction.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    >>> p = np.array([0.1, 0.9, 2.2, 3.3, 3.9, 5.2, 1.0, 0.0, 2.0, 5.0, 3.0, 4.0])
    >>> s = evaluate_by_configuration(y, p, np.repeat([0, 1], 6), types=np.tile([1, 1, 1, 2, 2, 2], 2))
    >>> [round(float(v), 3) for v in s.pearson]
    [0.996, 0.771]
    >>> {t: [round(float(v), 3) for v in sc.pearson] for t, sc in s.by_type.items()}
    {1: [0.991, 0.5], 2: [0.978, -0.5]}
    """
    yt = np.asarray(y_true, float).reshape(-1)
    yp = np.asarray(y_pred, float).reshape(-1)
    g = group_labels(groups)
    if types is not None:
        t = check_types(types, len(g))
        if len(yt) != len(g) or len(yp) != len(g):
            raise InputError(f"{len(yt)} true and {len(yp)} predicted values for {len(g)} configuration labels")
        scores = evaluate_by_configuration(yt, yp, g)
        scores.by_type = {(lab.item() if hasattr(lab, "item") else lab): evaluate_by_configuration(
            yt[t == lab], yp[t == lab], g[t == lab]) for lab in np.unique(t)}
        return scores
    labels = np.unique(g)
    res = {m: np.full(len(labels), np.nan) for m in ConfigurationScores.METRICS}
    for k, lab in enumerate(labels):  # loop over configurations, not atoms
        m = g == lab
        a, b = yt[m], yp[m]
        res["mae"][k] = np.mean(np.abs(a - b))
        ss = np.sum((a - a.mean()) ** 2)
        res["r2"][k] = 1.0 - np.sum((a - b) ** 2) / ss if ss > 0 else np.nan
        if len(a) > 2 and np.ptp(a) > 0 and np.ptp(b) > 0:
            res["pearson"][k] = stats.pearsonr(a, b)[0]
            res["spearman"][k] = stats.spearmanr(a, b)[0]
    return ConfigurationScores(labels, **res)


@dataclass
class CVResult:
    """Configuration-wise cross-validation result.

    Attributes
    ----------
    scores : ConfigurationScores
        Held-out scores of every configuration.
    y_pred : ndarray (N,)
        Out-of-fold prediction of every row.
    y_std : ndarray (N,) or None
        Out-of-fold GP standard deviation.
    folds : list of dict
        Per fold: ``test_groups``, ``selected_features``, ``n_train``, ``per_type`` (the mode
        fitted) and, for per-type models, ``selected_features_by_type``.
    params : dict
        Model parameters, split, glassdyn version.
    """

    scores: ConfigurationScores
    y_pred: np.ndarray
    y_std: np.ndarray | None
    folds: list
    params: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """Held-out scores of all particles: ``{metric: {"mean", "std", "n"}}``."""
        return self.scores.summary()

    def summary_by_type(self) -> dict:
        """Held-out scores per particle type: ``{type: {metric: {"mean", "std", "n"}}}`` (empty
        without types)."""
        return self.scores.summary_by_type()

    def to_dict(self) -> dict:
        return {"scores": self.scores.to_dict(), "folds": self.folds, "params": self.params}



def cross_validate(estimator, X, y, groups, *, types=None, cv: str = "loco", n_splits: int = 5,
                   feature_names: Sequence[str] | None = None) -> CVResult:
    """Configuration-wise cross-validation of a :class:`PropensityModel`.

    For each fold a clone of ``estimator`` is fitted on the training configurations only
    (feature selection included) and scored on each held-out configuration separately, for all
    particles and, given ``types``, per particle type.

    Parameters
    ----------
    estimator : glassdyn.learn.PropensityModel
        Unfitted template (cloned per fold).
    X : FeatureTable, DataFrame or array_like, shape (N, F)
    y : array_like (N,)
    groups : array_like (N,)
        Configuration label of every row.
    types : array_like (N,), optional
        Particle type of every row: passed to ``fit`` and ``predict`` (a model with
        ``per_type`` other than ``"joint"`` uses them) and scores per type.
    cv : {"loco", "groupkfold"}
    n_splits : int
        Folds of GroupKFold.

    Returns
    -------
    CVResult

    Examples
    --------
    >>> import numpy as np
    >>> from glassdyn.learn import PropensityModel
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(800, 3))
    >>> types = np.tile(np.repeat([1, 2], [130, 70]), 4)
    >>> y = np.where(types == 1, X[:, 0], -X[:, 1]) + 0.1 * rng.normal(size=800)
    >>> groups = np.repeat([0, 1, 2, 3], 200)
    >>> res = cross_validate(PropensityModel("linear", per_type="separate"), X, y, groups, types=types)
    >>> res.summary()["pearson"]["n"], sorted(res.summary_by_type())
    (4, [1, 2])
    >>> bool(res.summary_by_type()[2]["pearson"]["mean"] > 0.99)
    True
    """
    values, names = as_named_matrix(X, feature_names)
    values, y, g = check_training_data(values, y, groups)
    names = names or [f"x{i}" for i in range(values.shape[1])]
    t = None if types is None else check_types(types, len(y))
    splits = configuration_splits(g, cv, n_splits)
    y_pred = np.full(len(y), np.nan)
    is_gp = getattr(estimator, "model", None) == "gp"
    y_std = np.full(len(y), np.nan) if is_gp else None
    folds = []
    for tr, te in splits:
        assert not set(np.unique(g[tr])) & set(np.unique(g[te]))
        t_tr, t_te = (None, None) if t is None else (t[tr], t[te])
        est = clone(estimator).fit(values[tr], y[tr], g[tr], types=t_tr, feature_names=names)
        if is_gp:
            y_pred[te], y_std[te] = est.predict(values[te], return_std=True, types=t_te, feature_names=names)
        else:
            y_pred[te] = est.predict(values[te], types=t_te, feature_names=names)
        fold = {"test_groups": [to_jsonable(v) for v in np.unique(g[te])],
                "selected_features": list(est.selected_features_), "n_train": est.n_train_,
                "per_type": getattr(est, "per_type_", "joint")}
        if getattr(est, "selected_features_by_type_", None):
            fold["selected_features_by_type"] = {str(k): v for k, v in est.selected_features_by_type_.items()}
        folds.append(fold)
    scores = evaluate_by_configuration(y, y_pred, g, types=t)
    params = {k: to_jsonable(v) for k, v in estimator.get_params().items()}
    params.update(cv=cv, n_splits=n_splits if cv == "groupkfold" else len(splits), glassdyn_version=glassdyn_version())
    return CVResult(scores, y_pred, y_std, folds, params)


def learning_curve_features(estimator, X, y, groups, n_features_list: Sequence[int], *, types=None,
                            cv: str = "loco", n_splits: int = 5, metric: str = "pearson",
                            feature_names: Sequence[str] | None = None) -> dict:
    """Held-out score against the number of selected features.

    ``estimator.select`` must be set. In every training fold the selection runs once, for the
    largest number of features asked (fitted on that fold's training configurations only);
    each smaller number takes its features from that fit (:meth:`FeatureSelector.support_for`:
    the first k picks of a greedy or ranked order, the exactly-k support of the Lasso path),
    and a clone of ``estimator`` without selection is fitted on them and scored on every
    held-out configuration. Asking for every feature (k = F) uses all columns without selecting.

    Per particle type (``types`` given and ``estimator.per_type`` resolving, in a fold, to
    ``"separate"``): the selection and the fits run on each type's training rows alone, as
    :class:`~glassdyn.learn.PropensityModel` does; with ``"feature"`` the selection runs on the
    structural features of all rows and the one-hot type columns are added to every fit.

    Parameters
    ----------
    estimator : glassdyn.learn.PropensityModel
        Template with ``select`` set (its ``n_features`` is ignored).
    X, y, groups
        As in :func:`cross_validate`.
    n_features_list : sequence of int
        Numbers of features, each between 1 and F.
    types : array_like (N,), optional
        Particle type of every row (per-type models; scores per type).
    cv, n_splits
        As in :func:`cross_validate`.
    metric : {"pearson", "spearman", "r2", "mae"}
    feature_names : sequence of str, optional

    Returns
    -------
    dict
        ``n_features`` (list), ``mean``, ``std`` (of ``metric`` over held-out configurations),
        ``metric``, ``per_configuration`` (list of arrays, one per k), ``groups`` (held-out
        configuration labels), ``orders`` (per fold: the selected feature names, best first),
        ``supports`` (per fold, per k: the feature names used), ``per_type`` (per fold: the
        mode fitted). For a fold fitted ``"separate"`` its ``orders`` entry is ``{type: names}``
        and its ``supports`` entries are ``{type: names}``. With ``types``: ``by_type``,
        ``{type: {"mean", "std", "per_configuration", "groups"}}`` of the same metric on each
        type's particles.

    Examples
    --------
    >>> import numpy as np
    >>> from glassdyn.learn import PropensityModel
    >>> rng = np.random.default_rng(1)
    >>> X = rng.normal(size=(600, 6))
    >>> y = 2 * X[:, 3] + X[:, 0] + 0.3 * rng.normal(size=600)
    >>> lc = learning_curve_features(PropensityModel("linear", select="pearson"), X, y,
    ...                              np.repeat([0, 1, 2], 200), [1, 2, 6])
    >>> lc["n_features"], [round(v, 2) for v in lc["mean"]]
    ([1, 2, 6], [0.88, 0.99, 0.99])
    """
    if getattr(estimator, "select", None) is None:
        raise InputError("a learning curve in the number of features needs a selection method (select=...)")
    values, names = as_named_matrix(X, feature_names)
    values, y, g = check_training_data(values, y, groups)
    F = values.shape[1]
    names = names or [f"x{i}" for i in range(F)]
    t = None if types is None else check_types(types, len(y))
    ks = [int(k) for k in n_features_list]
    bad = [k for k in ks if not 1 <= k <= F]
    if bad:
        raise InputError(f"numbers of features {bad} are not between 1 and the number of features ({F})")
    k_select = max([k for k in ks if k < F], default=0)
    preds = {k: np.full(len(y), np.nan) for k in ks}
    orders, supports, modes = [], [], []
    plain = clone(estimator).set_params(select=None, n_features=None)
    seed = getattr(estimator, "random_state", 0)

    def fit_part(tr, te, mode):
        """Selection on rows ``tr``, then one fit per k, predictions of rows ``te``."""
        selector = None
        if k_select:
            selector = FeatureSelector(estimator.select, k_select, names, seed).fit(values[tr], y[tr], g[tr])
        subs = []
        for k in ks:
            cols = np.arange(F) if k == F else selector.support_for(k)
            sub = [names[c] for c in cols]
            subs.append(sub)
            tt = (t[tr], t[te]) if mode == "feature" else (None, None)
            est = clone(plain).set_params(per_type=mode).fit(values[tr][:, cols], y[tr], g[tr], types=tt[0],
                                                             feature_names=sub)
            preds[k][te] = est.predict(values[te][:, cols], types=tt[1], feature_names=sub)
        return (None if selector is None else [names[c] for c in selector.support_]), subs

    for tr, te in configuration_splits(g, cv, n_splits):
        mode = resolve_per_type(getattr(estimator, "per_type", "joint"), None if t is None else t[tr],
                                getattr(estimator, "min_type_rows", None))
        modes.append(mode)
        if mode != "separate":
            order, subs = fit_part(tr, te, mode)
            if order is not None:
                orders.append(order)
            supports.append(subs)
            continue
        unseen = sorted(set(np.unique(t[te]).tolist()) - set(np.unique(t[tr]).tolist()))
        if unseen:
            raise InputError(f"particle types {unseen} of the held-out configurations are missing from the "
                             "training configurations of a fold; a per-type model cannot predict them")
        order_t, subs_t = {}, {}
        for lab in np.unique(t[tr]):
            key = lab.item() if hasattr(lab, "item") else lab
            order_t[key], subs_t[key] = fit_part(tr[t[tr] == lab], te[t[te] == lab], "joint")
        if k_select:
            orders.append(order_t)
        supports.append([{key: subs_t[key][j] for key in subs_t} for j in range(len(ks))])
    means, stds, per = [], [], []
    groups_out = None
    by_type = None
    for k in ks:
        scores = evaluate_by_configuration(y, preds[k], g, types=t)
        s = scores.summary()[metric]
        means.append(s["mean"]), stds.append(s["std"]), per.append(getattr(scores, metric))
        groups_out = scores.groups
        if scores.by_type is not None:
            by_type = by_type or {lab: {"mean": [], "std": [], "per_configuration": [], "groups": None}
                                  for lab in scores.by_type}
            for lab, sc in scores.by_type.items():
                st = sc.summary()[metric]
                by_type[lab]["mean"].append(st["mean"]), by_type[lab]["std"].append(st["std"])
                by_type[lab]["per_configuration"].append(getattr(sc, metric))
                by_type[lab]["groups"] = sc.groups
    out = {"x": "n_features", "n_features": ks, "mean": means, "std": stds, "metric": metric,
           "per_configuration": per, "groups": groups_out, "orders": orders, "supports": supports,
           "per_type": modes}
    if by_type is not None:
        out["by_type"] = by_type
    return out


def learning_curve_size(estimator, X, y, groups, train_sizes: Sequence[float] = (0.1, 0.25, 0.5, 1.0),
                        *, types=None, cv: str = "loco", n_splits: int = 5, metric: str = "pearson", seed: int = 0,
                        feature_names: Sequence[str] | None = None) -> dict:
    """Held-out score against the number of training particles.

    In every fold the training rows are subsampled (seeded, without replacement) to each
    fraction (values <= 1) or count (values > 1) of ``train_sizes``; test configurations are
    always scored in full. ``types`` (particle type of every row) go to ``fit`` and ``predict``
    (per-type models); the scores are those of all particles.

    Returns
    -------
    dict
        ``train_sizes`` (mean number of training rows), ``mean``, ``std``, ``metric``.
    """
    values, names = as_named_matrix(X, feature_names)
    values, y, g = check_training_data(values, y, groups)
    names = names or [f"x{i}" for i in range(values.shape[1])]
    t = None if types is None else check_types(types, len(y))
    splits = configuration_splits(g, cv, n_splits)
    rng = np.random.default_rng(seed)
    sizes, means, stds = [], [], []
    for s in train_sizes:
        y_pred = np.full(len(y), np.nan)
        used = []
        for tr, te in splits:
            n = int(round(s * len(tr))) if s <= 1 else int(s)
            n = max(2, min(n, len(tr)))
            sub = np.sort(rng.choice(tr, size=n, replace=False))
            est = clone(estimator).fit(values[sub], y[sub], g[sub], types=None if t is None else t[sub],
                                       feature_names=names)
            y_pred[te] = est.predict(values[te], types=None if t is None else t[te], feature_names=names)
            used.append(n)
        sc = evaluate_by_configuration(y, y_pred, g).summary()[metric]
        sizes.append(float(np.mean(used))), means.append(sc["mean"]), stds.append(sc["std"])
    return {"x": "train_size", "train_sizes": sizes, "mean": means, "std": stds, "metric": metric}


# ============================================================================ decorrelated subsample
def subsample_min_distance(frame_or_positions, min_distance: float, *, box=None, seed: int = 0,
                           candidates=None) -> np.ndarray:
    """Particles kept so that every pair is at least ``min_distance`` apart (periodic).

    A random maximal set: particles get a random priority (seeded) and are accepted in that
    order unless an already accepted particle lies closer than ``min_distance``. The result is
    the same as that sequential rule but computed in vectorised rounds (a particle is decided
    when it has the best priority among its undecided neighbours), using
    :func:`glassdyn.neighbors.neighbor_list`.

    Parameters
    ----------
    frame_or_positions : Frame or array_like (N, d)
    min_distance : float
        Decorrelation length (length units); must be below half the box width.
    box : Box, optional
        Needed with plain positions.
    seed : int
    candidates : array_like of int or bool mask, optional
        Restrict the choice to these rows (e.g. one particle type).

    Returns
    -------
    ndarray of int
        Sorted row indices of the kept particles.
    """
    if isinstance(frame_or_positions, Frame):
        frame = frame_or_positions
    else:
        if box is None:
            raise InputError("subsampling plain positions needs the periodic box (box=...)")
        pos = np.asarray(frame_or_positions, float)
        frame = Frame(pos, np.ones(len(pos), dtype=np.int64), box)
    n = frame.n_atoms
    cand = np.ones(n, bool)
    if candidates is not None:
        c = np.asarray(candidates)
        cand = c.astype(bool) if c.dtype == bool else np.isin(np.arange(n), c)
    if min_distance <= 0:
        return np.flatnonzero(cand)
    nl = neighbor_list(frame, float(min_distance))
    mask = cand[nl.i] & cand[nl.j]
    i, j = nl.i[mask], nl.j[mask]
    prio = np.random.default_rng(seed).permutation(n).astype(np.int64)
    state = np.where(cand, 0, -1)  # 0 undecided, 1 kept, -1 removed
    big = np.iinfo(np.int64).max
    while np.any(state == 0):
        und = (state[i] == 0) & (state[j] == 0)
        best = np.full(n, big)
        np.minimum.at(best, i[und], prio[j[und]])
        accept = (state == 0) & (prio < best)
        state[accept] = 1
        hit = accept[i] & (state[j] == 0)
        state[j[hit]] = -1
    return np.flatnonzero(state == 1)
