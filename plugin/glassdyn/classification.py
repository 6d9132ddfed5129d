"""Liquid vs glass (or fast vs slow cooling) classification of whole configurations (Swanson et al.).

Configuration-level features (:func:`configuration_features`: means and spreads of per-particle
descriptors, plus graph metrics), the same per window of a configuration
(:func:`window_features`), and nested cross-validation with ROC AUC
(:func:`classify_configurations`).

Splits are by configuration, or by *group* of configurations (e.g. the liquid and the glass taken
from one cooling ramp): rows of one group are never on both sides of a split.
:func:`nested_splits` builds the protocol of Swanson et al. (II.5): three disjoint outer test sets
of 20% of the groups each, and inside every outer training set an 80/10/10 split into inner
training, validation and test groups; :func:`classify_configurations` takes such splits
(``splits=``), and so do the deep classifiers (:mod:`glassdyn.deep`), so that every classifier
of a study sees the same folds.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ._util import glassdyn_version, to_jsonable
from .errors import InputError
from .learn import as_named_matrix

__all__ = ["configuration_features", "window_features", "ClassificationResult", "classify_configurations",
           "nested_splits", "rows_of_groups", "mean_by_owner"]


def configuration_features(table, feature_names: Sequence[str] | None = None,
                           extra: Mapping[str, float] | None = None) -> dict[str, float]:
    """Configuration-level features: mean and standard deviation of every per-particle feature,
    plus any extra per-configuration numbers (e.g. graph metrics).

    Parameters
    ----------
    table : FeatureTable, DataFrame or array_like (N, F)
    extra : mapping of str -> float, optional
        Per-configuration quantities (the Swanson graph metrics, energies, ...).

    Returns
    -------
    dict
        ``{"<name>_mean": ..., "<name>_std": ..., **extra}`` (insertion ordered).
    """
    values, names = as_named_matrix(table, feature_names)
    names = names or [f"x{i}" for i in range(values.shape[1])]
    out: dict[str, float] = {}
    mean = np.nanmean(values, axis=0)
    std = np.nanstd(values, axis=0)
    for k, n in enumerate(names):
        out[f"{n}_mean"] = float(mean[k])
    for k, n in enumerate(names):
        out[f"{n}_std"] = float(std[k])
    for k, v in (extra or {}).items():
        out[str(k)] = float(v)
    return out


def window_features(table, windows, feature_names: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Window-level features: mean and standard deviation of every per-particle feature over the
    particles of each window (NaN values skipped), the window analogue of :func:`configuration_features`.

    Parameters
    ----------
    table : FeatureTable, DataFrame or array_like (N, F)
        Per-particle features of the whole configuration (rows = frame rows).
    windows : sequence of Window or of index arrays
        The windows (``.indices`` = frame rows) of that configuration.

    Returns
    -------
    values : ndarray, shape (n_windows, 2 F)
        Means then standard deviations, in the order of ``names``.
    names : list of str
        ``<name>_mean`` ... then ``<name>_std`` ...
    """
    values, names = as_named_matrix(table, feature_names)
    names = names or [f"x{i}" for i in range(values.shape[1])]
    rows = [np.asarray(getattr(w, "indices", w), dtype=np.int64) for w in windows]
    out = np.empty((len(rows), 2 * values.shape[1]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # an all-NaN column in a small window stays NaN
        for k, r in enumerate(rows):
            if r.size == 0:
                raise InputError(f"window {k} holds no particle")
            v = values[r]
            out[k, :values.shape[1]] = np.nanmean(v, axis=0)
            out[k, values.shape[1]:] = np.nanstd(v, axis=0)
    return out, [f"{n}_mean" for n in names] + [f"{n}_std" for n in names]


def mean_by_owner(values, owner, n: int | None = None) -> np.ndarray:
    """Mean of ``values`` (W,) or (W, k) over the rows of each owner (``owner`` (W,) in 0..n-1), e.g.
    window probabilities -> configuration probabilities; NaN for an owner without rows."""
    v = np.asarray(values, dtype=float)
    o = np.asarray(owner, dtype=np.int64).reshape(-1)
    n = int(o.max() + 1) if n is None else int(n)
    flat = v.reshape(len(o), -1)
    sums = np.zeros((n, flat.shape[1]))
    np.add.at(sums, o, flat)
    counts = np.bincount(o, minlength=n).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = sums / counts[:, None]
    return out.reshape((n,) + v.shape[1:])


def _group_index(groups, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(unique group labels, group index of every row)."""
    g = np.arange(n) if groups is None else np.asarray(groups).reshape(-1)
    if len(g) != n:
        raise InputError(f"{len(g)} group labels for {n} rows")
    return np.unique(g, return_inverse=True)


def rows_of_groups(group_index: np.ndarray, chosen) -> np.ndarray:
    """Rows (sorted) whose group index is in ``chosen``."""
    return np.flatnonzero(np.isin(group_index, np.asarray(chosen, dtype=np.int64)))


def nested_splits(labels, groups=None, *, n_outer: int = 3, test_fraction: float = 0.2,
                  inner_fractions: tuple = (0.8, 0.1, 0.1), seed: int = 0) -> list[dict]:
    """The nested cross-validation splits of Swanson et al. (II.5), by group.

    ``n_outer`` disjoint outer test sets, each holding ``test_fraction`` of the groups; the rest of
    the data is that fold's outer training set, split again into inner training, validation and
    test groups in the proportions ``inner_fractions``. With the paper's defaults (3 x 20%),
    40% of the groups are never in an outer test set.

    Groups are stratified by their *composition* (the sorted labels of their rows: a group holding
    a liquid and a glass of one cooling ramp, or a single configuration of either class), so every
    test set keeps the class balance; every validation and inner test set gets at least one group
    of each composition when the training set has three or more of it, so that it holds both
    classes. The assignment is a seeded shuffle.

    Parameters
    ----------
    labels : array_like (n,)
        Two classes.
    groups : array_like (n,), optional
        Group of every row (default: every row its own group).
    n_outer : int
    test_fraction : float
        Fraction of the groups in each outer test set (``n_outer * test_fraction <= 1``).
    inner_fractions : (float, float, float)
        Inner training, validation and test fractions of the outer training groups.
    seed : int

    Returns
    -------
    list of dict
        One per outer fold, each with row-index arrays (sorted, int64) ``train``, ``test``,
        ``inner_train``, ``inner_val``, ``inner_test`` (``train`` = the three inner parts), and
        ``fold``.

    Raises
    ------
    InputError
        When there are too few groups of some composition to give every test set one of them.

    Examples
    --------
    >>> y = [0, 1] * 10; g = [k // 2 for k in range(20)]        # 10 ramps, a liquid and a glass each
    >>> s = nested_splits(y, g, seed=0)
    >>> [len(f["test"]) for f in s]
    [4, 4, 4]
    """
    y = np.asarray(labels).reshape(-1)
    classes = np.unique(y)
    if len(classes) != 2:
        raise InputError(f"nested splits need exactly two classes, got {len(classes)}")
    uniq, gi = _group_index(groups, len(y))
    n_outer = int(n_outer)
    if n_outer < 1 or not (0 < test_fraction <= 1) or n_outer * test_fraction > 1 + 1e-9:
        raise InputError(f"need n_outer >= 1 and n_outer x test_fraction <= 1, got {n_outer} x {test_fraction}")
    fr = np.asarray(inner_fractions, dtype=float)
    if fr.shape != (3,) or np.any(fr < 0) or fr[0] <= 0:
        raise InputError(f"inner_fractions must be three non-negative numbers (train > 0), got {inner_fractions}")
    fr = fr / fr.sum()
    # composition of every group
    comp = []
    for k in range(len(uniq)):
        comp.append(tuple(sorted(np.searchsorted(classes, y[gi == k]).tolist())))
    kinds = sorted(set(comp))
    present = set()
    for c in kinds:
        present.update(c)
    rng = np.random.default_rng(seed)
    by_kind = {c: rng.permutation([k for k in range(len(uniq)) if comp[k] == c]) for c in kinds}
    tests: list[list[int]] = [[] for _ in range(n_outer)]
    for c in kinds:
        members = by_kind[c]
        m = len(members)
        per = int(round(test_fraction * m))
        if per < 1 and m >= n_outer:
            per = 1
        per = min(per, m // n_outer)
        for f in range(n_outer):
            tests[f].extend(members[f * per:(f + 1) * per].tolist())
    out = []
    for f in range(n_outer):
        test_g = np.array(sorted(tests[f]), dtype=np.int64)
        if not set(np.searchsorted(classes, y[rows_of_groups(gi, test_g)]).tolist()) >= {0, 1}:
            raise InputError(f"too few groups to give outer test set {f} both classes "
                             f"({len(uniq)} groups of compositions {kinds}); add configurations")
        parts = {"inner_train": [], "inner_val": [], "inner_test": []}
        frng = np.random.default_rng([seed, f + 1])
        for c in kinds:
            rest = [k for k in by_kind[c] if k not in set(test_g.tolist())]
            rest = frng.permutation(rest).tolist()
            m = len(rest)
            n_val = int(round(fr[1] * m))
            n_te = int(round(fr[2] * m))
            if m >= 3:
                n_val = max(n_val, 1) if fr[1] > 0 else 0
                n_te = max(n_te, 1) if fr[2] > 0 else 0
            while n_val + n_te >= m and (n_val or n_te):        # keep at least one training group
                if n_te >= n_val and n_te:
                    n_te -= 1
                else:
                    n_val -= 1
            parts["inner_val"] += rest[:n_val]
            parts["inner_test"] += rest[n_val:n_val + n_te]
            parts["inner_train"] += rest[n_val + n_te:]
        split = {k: rows_of_groups(gi, v) for k, v in parts.items()}
        split["train"] = np.sort(np.concatenate([split["inner_train"], split["inner_val"], split["inner_test"]]))
        split["test"] = rows_of_groups(gi, test_g)
        split["fold"] = f
        out.append(split)
    return out


@dataclass
class ClassificationResult:
    """Nested cross-validation of a configuration classifier.

    Attributes
    ----------
    auc : ndarray (outer_splits,)
        ROC AUC of every outer test fold.
    accuracy : ndarray (outer_splits,)
        Accuracy at the default threshold of every outer test fold.
    best_params : list of dict
        Hyperparameters chosen by the inner grid search of every outer fold.
    scores : ndarray (n_configurations,)
        Out-of-fold probability of the positive class (``classes[1]``).
    classes : list
        The two labels, negative then positive.
    feature_names : list of str
    params : dict
    """

    auc: np.ndarray
    accuracy: np.ndarray
    best_params: list
    scores: np.ndarray
    labels: np.ndarray
    classes: list
    feature_names: list
    params: dict
    test_folds: list | None = None

    @property
    def auc_mean(self) -> float:
        return float(np.mean(self.auc))

    @property
    def auc_std(self) -> float:
        return float(np.std(self.auc, ddof=1)) if len(self.auc) > 1 else 0.0

    def to_dict(self) -> dict:
        return {"auc": self.auc.tolist(), "auc_mean": self.auc_mean, "auc_std": self.auc_std,
                "accuracy": self.accuracy.tolist(), "accuracy_mean": float(np.mean(self.accuracy)),
                "best_params": [{k: to_jsonable(v) for k, v in p.items()} for p in self.best_params],
                "classes": [to_jsonable(c) for c in self.classes], "scores": self.scores.tolist(),
                "labels": [to_jsonable(c) for c in self.labels], "feature_names": self.feature_names,
                "params": self.params,
                "test_folds": None if self.test_folds is None else [np.asarray(t).tolist() for t in self.test_folds]}


_CLASSIFIER_GRIDS = {
    "logistic": {"clf__C": [0.01, 0.1, 1.0, 10.0, 100.0]},
    "mlp": {"clf__hidden_layer_sizes": [(16,), (32, 16)], "clf__alpha": [1e-4, 1e-2, 1.0]},
    "forest": {"clf__max_depth": [2, 4, None], "clf__min_samples_leaf": [1, 3]},
}


def _make_classifier(model: str, seed: int):
    if model == "logistic":
        from sklearn.linear_model import LogisticRegression
        return LogisticRegression(max_iter=5000)
    if model == "mlp":
        from sklearn.neural_network import MLPClassifier
        return MLPClassifier(max_iter=2000, random_state=seed)
    if model == "forest":
        from sklearn.ensemble import RandomForestClassifier
        return RandomForestClassifier(n_estimators=200, random_state=seed)
    raise InputError(f"unknown classifier '{model}'; choose logistic, mlp or forest")


def classify_configurations(features, labels, *, feature_names: Sequence[str] | None = None,
                            model: str = "logistic", outer_splits: int = 5, inner_splits: int = 3,
                            param_grid: Mapping | None = None, seed: int = 0, groups=None,
                            splits: Sequence[Mapping] | None = None) -> ClassificationResult:
    """Classify whole configurations (liquid vs glass, fast vs slow cooling) with nested CV.

    The outer loop (:class:`~sklearn.model_selection.StratifiedKFold`, shuffled with ``seed``;
    :class:`~sklearn.model_selection.StratifiedGroupKFold` with ``groups``) holds out
    configurations for testing; inside each outer training set a
    :class:`~sklearn.model_selection.GridSearchCV` (stratified ``inner_splits`` folds, ROC AUC)
    chooses the hyperparameters, so the test folds never influence any choice.

    With ``splits`` (e.g. from :func:`nested_splits`) the folds are given: each outer fold fits the
    grid on its ``inner_train`` rows, scores every candidate by ROC AUC on ``inner_val`` +
    ``inner_test`` and refits the best on all of ``train``; rows that are in no ``test`` set keep a
    NaN score. Rows may be windows of configurations (features from :func:`window_features`):
    aggregate their scores per configuration with :func:`mean_by_owner`.

    Parameters
    ----------
    features : sequence of dict, DataFrame, or array_like (n_configurations, F)
        One row per configuration; dicts (e.g. from :func:`configuration_features`) must share
        their keys.
    labels : array_like (n_configurations,)
        Two classes. The positive class (AUC) is the larger label in sorted order.
    model : {"logistic", "mlp", "forest"}
        StandardScaler + logistic regression, MLP or random forest.
    outer_splits, inner_splits : int
    param_grid : mapping, optional
        Grid over the ``clf__...`` parameters (a default grid per model otherwise).
    seed : int
    groups : array_like (n_configurations,), optional
        Rows of one group are never split (ignored when ``splits`` are given).
    splits : sequence of mapping, optional
        Precomputed folds with row-index arrays ``train``, ``test`` and optionally ``inner_train``,
        ``inner_val``, ``inner_test`` (without them the inner search uses stratified group folds of
        ``train``).

    Returns
    -------
    ClassificationResult
    """
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold, StratifiedKFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    if isinstance(features, Sequence) and len(features) and isinstance(features[0], Mapping):
        names = list(features[0].keys())
        for k, f in enumerate(features):
            if list(f.keys()) != names:
                missing = set(names) - set(f)
                extra = set(f) - set(names)
                raise InputError(f"configuration {k} has different features from configuration 0 "
                                 f"(missing {sorted(missing)}, extra {sorted(extra)})")
        X = np.array([[f[n] for n in names] for f in features], dtype=float)
    else:
        X, names = as_named_matrix(features, feature_names)
        names = names or [f"x{i}" for i in range(X.shape[1])]
    y_raw = np.asarray(labels).reshape(-1)
    if len(y_raw) != len(X):
        raise InputError(f"{len(y_raw)} labels for {len(X)} configurations")
    classes = sorted(np.unique(y_raw).tolist())
    if len(classes) != 2:
        raise InputError(f"classification needs exactly two classes, got {len(classes)} ({classes})")
    y = (y_raw == classes[1]).astype(int)
    counts = np.bincount(y, minlength=2)
    need = max(outer_splits, 2) if splits is None else 2
    if counts.min() < need:
        raise InputError(f"each class needs at least {need} configurations for {outer_splits} outer folds; "
                         f"got {counts[0]} '{classes[0]}' and {counts[1]} '{classes[1]}'")
    bad = ~np.all(np.isfinite(X), axis=1)
    if bad.any():
        raise InputError(f"configurations {np.flatnonzero(bad).tolist()} have NaN or infinite features")
    pipe = Pipeline([("scale", StandardScaler()), ("clf", _make_classifier(model, seed))])
    grid = dict(param_grid) if param_grid is not None else _CLASSIFIER_GRIDS[model]
    g = None if groups is None else np.asarray(groups).reshape(-1)
    if g is not None and len(g) != len(y):
        raise InputError(f"{len(g)} group labels for {len(y)} configurations")
    if splits is not None:
        folds = []
        for k, sp in enumerate(splits):
            tr = np.asarray(sp["train"], dtype=np.int64)
            te = np.asarray(sp["test"], dtype=np.int64)
            if np.intersect1d(tr, te).size:
                raise InputError(f"split {k}: rows {np.intersect1d(tr, te)[:10].tolist()} are in train and test")
            cv = None
            if "inner_train" in sp:
                itr = np.searchsorted(tr, np.asarray(sp["inner_train"], dtype=np.int64))
                iev = np.searchsorted(tr, np.concatenate([np.asarray(sp.get("inner_val", []), dtype=np.int64),
                                                          np.asarray(sp.get("inner_test", []), dtype=np.int64)]))
                cv = [(np.sort(itr), np.sort(iev))]
            folds.append((tr, te, cv))
    elif g is not None:
        outer = StratifiedGroupKFold(n_splits=outer_splits, shuffle=True, random_state=seed)
        folds = [(tr, te, None) for tr, te in outer.split(X, y, g)]
    else:
        outer = StratifiedKFold(n_splits=outer_splits, shuffle=True, random_state=seed)
        folds = [(tr, te, None) for tr, te in outer.split(X, y)]
    aucs, accs, best, scores, tests = [], [], [], np.full(len(y), np.nan), []
    for tr, te, cv in folds:
        if len(set(y[te].tolist())) < 2:
            raise InputError("an outer test fold holds configurations of one class only; add configurations "
                             "or use fewer folds")
        if cv is None:
            inner_k = int(min(inner_splits, np.bincount(y[tr], minlength=2).min()))
            if g is not None:
                inner_k = int(min(inner_k, len(np.unique(g[tr]))))
            if inner_k < 2:
                raise InputError("too few configurations per class for the inner cross-validation; add configurations")
            if g is not None:
                cv = StratifiedGroupKFold(n_splits=inner_k, shuffle=True, random_state=seed + 1)
            else:
                cv = StratifiedKFold(n_splits=inner_k, shuffle=True, random_state=seed + 1)
        elif len(set(y[tr][cv[0][1]].tolist())) < 2 or len(set(y[tr][cv[0][0]].tolist())) < 2:
            raise InputError("an inner training or evaluation set holds one class only; add configurations")
        fit_kw = {"groups": g[tr]} if (g is not None and not isinstance(cv, list)) else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            search = GridSearchCV(pipe, grid, scoring="roc_auc", cv=cv, refit=True).fit(X[tr], y[tr], **fit_kw)
        tests.append(te)
        p = search.predict_proba(X[te])[:, 1]
        scores[te] = p
        aucs.append(roc_auc_score(y[te], p))
        accs.append(accuracy_score(y[te], (p >= 0.5).astype(int)))
        best.append(dict(search.best_params_))
    params = {"model": model, "outer_splits": len(folds), "inner_splits": inner_splits, "seed": seed,
              "param_grid": {k: [to_jsonable(x) for x in v] for k, v in grid.items()},
              "splits": "given" if splits is not None else ("group k-fold" if g is not None else "k-fold"),
              "glassdyn_version": glassdyn_version()}
    return ClassificationResult(np.array(aucs), np.array(accs), best, scores, y_raw, classes, names, params,
                                test_folds=tests)
