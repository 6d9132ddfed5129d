"""Liquid vs glass (or fast vs slow cooling) classification of whole configurations (Swanson et al.).

Configuration-level features (:func:`configuration_features`: means and spreads of per-particle
descriptors, plus graph metrics) and nested cross-validation with ROC AUC
(:func:`classify_configurations`).
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

__all__ = ["configuration_features", "ClassificationResult", "classify_configurations"]


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
                "params": self.params}


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
                            param_grid: Mapping | None = None, seed: int = 0) -> ClassificationResult:
    """Classify whole configurations (liquid vs glass, fast vs slow cooling) with nested CV.

    The outer loop (:class:`~sklearn.model_selection.StratifiedKFold`, shuffled with ``seed``)
    holds out configurations for testing; inside each outer training set a
    :class:`~sklearn.model_selection.GridSearchCV` (stratified ``inner_splits`` folds, ROC AUC)
    chooses the hyperparameters, so the test folds never influence any choice.

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

    Returns
    -------
    ClassificationResult
    """
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
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
    need = max(outer_splits, 2)
    if counts.min() < need:
        raise InputError(f"each class needs at least {need} configurations for {outer_splits} outer folds; "
                         f"got {counts[0]} '{classes[0]}' and {counts[1]} '{classes[1]}'")
    bad = ~np.all(np.isfinite(X), axis=1)
    if bad.any():
        raise InputError(f"configurations {np.flatnonzero(bad).tolist()} have NaN or infinite features")
    pipe = Pipeline([("scale", StandardScaler()), ("clf", _make_classifier(model, seed))])
    grid = dict(param_grid) if param_grid is not None else _CLASSIFIER_GRIDS[model]
    outer = StratifiedKFold(n_splits=outer_splits, shuffle=True, random_state=seed)
    aucs, accs, best, scores = [], [], [], np.full(len(y), np.nan)
    for tr, te in outer.split(X, y):
        inner_k = int(min(inner_splits, np.bincount(y[tr], minlength=2).min()))
        if inner_k < 2:
            raise InputError("too few configurations per class for the inner cross-validation; add configurations")
        inner = StratifiedKFold(n_splits=inner_k, shuffle=True, random_state=seed + 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            search = GridSearchCV(pipe, grid, scoring="roc_auc", cv=inner, refit=True).fit(X[tr], y[tr])
        p = search.predict_proba(X[te])[:, 1]
        scores[te] = p
        aucs.append(roc_auc_score(y[te], p))
        accs.append(accuracy_score(y[te], (p >= 0.5).astype(int)))
        best.append(dict(search.best_params_))
    params = {"model": model, "outer_splits": outer_splits, "inner_splits": inner_splits, "seed": seed,
              "param_grid": {k: [to_jsonable(x) for x in v] for k, v in grid.items()},
              "glassdyn_version": glassdyn_version()}
    return ClassificationResult(np.array(aucs), np.array(accs), best, scores, y_raw, classes, names, params)
