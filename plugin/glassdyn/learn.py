"""Learning propensity from structure, evaluated configuration by configuration.

Particles of one configuration are correlated (they share a box and a history), so every split
here is *by configuration*: leave-one-configuration-out (``cv="loco"``) or
:class:`~sklearn.model_selection.GroupKFold` (``cv="groupkfold"``), with ``groups`` holding the
configuration index of every row. Feature selection is a step of the model and is fitted on the
training configurations of each fold only (SCIENCE.md section 5); selecting on all data first and
cross-validating afterwards leaks the held-out configurations into the choice of features and
gives optimistic scores.

Main pieces
-----------
:class:`PropensityModel`
    scikit-learn regressor: optional :class:`FeatureSelector` -> ``StandardScaler`` -> least
    squares, Ridge, Lasso, MLP or Gaussian-process regression (with predictive standard
    deviation; fitted on a seeded subsample when N is large). ``fit`` returns ``self``; learned
    attributes end in ``_``. Saved and loaded safely by :mod:`glassdyn.modelfile`.
:func:`cross_validate`
    configuration-wise cross-validation returning per-configuration Pearson, Spearman, R^2 and
    MAE (mean and spread) and the out-of-fold predictions.
:func:`learning_curve_features`, :func:`learning_curve_size`
    held-out score against the number of selected features and against the training size.
:func:`subsample_min_distance`
    particles kept at mutual (periodic) distances of at least a decorrelation length.
:func:`classify_configurations`
    liquid vs glass (or fast vs slow cooling) classification of whole configurations from
    configuration-averaged descriptors and graph metrics, nested cross-validation and ROC AUC.

Every array here is plain numpy: ``X`` has shape ``(N_total, F)`` (rows = particles of all
configurations), ``y`` shape ``(N_total,)``, ``groups`` shape ``(N_total,)``.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

from .errors import GlassdynError, InputError, format_ids

__all__ = [
    "MODELS", "SELECTORS", "FeatureSelector", "PropensityModel", "check_feature_names",
    "as_named_matrix", "stack_tables", "check_training_data", "configuration_splits",
    "ConfigurationScores", "evaluate_by_configuration", "CVResult", "cross_validate",
    "learning_curve_features", "learning_curve_size", "subsample_min_distance",
    "configuration_features", "ClassificationResult", "classify_configurations",
]

#: Regression models understood by :class:`PropensityModel`.
MODELS = ("linear", "ridge", "lasso", "mlp", "gp")
#: Built-in feature-selection methods of :class:`FeatureSelector` (a callable also works).
SELECTORS = ("imbalance", "lasso", "pearson")


def _version() -> str:
    from . import __version__
    return __version__


# ============================================================================ named matrices
def as_named_matrix(X, feature_names: Sequence[str] | None = None) -> tuple[np.ndarray, list[str] | None]:
    """Split a feature table into a float matrix and its column names.

    Parameters
    ----------
    X : FeatureTable, pandas.DataFrame, mapping of name -> column, or array_like (N, F)
        Anything with ``.names`` and ``.values`` (glassdyn ``FeatureTable``), a DataFrame
        (``.columns``), a mapping of equal-length columns, or a plain matrix.
    feature_names : sequence of str, optional
        Names of the columns of a plain matrix (ignored when ``X`` carries names).

    Returns
    -------
    values : ndarray, shape (N, F)
    names : list of str or None
    """
    if hasattr(X, "names") and hasattr(X, "values") and not callable(X.values):
        return np.asarray(X.values, dtype=float), [str(n) for n in X.names]
    if hasattr(X, "columns") and hasattr(X, "to_numpy"):  # pandas DataFrame
        return X.to_numpy(dtype=float), [str(c) for c in X.columns]
    if isinstance(X, Mapping):
        names = [str(k) for k in X]
        return np.column_stack([np.asarray(X[k], dtype=float) for k in X]), names
    values = np.asarray(X, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    names = None if feature_names is None else [str(n) for n in feature_names]
    if names is not None and len(names) != values.shape[1]:
        raise InputError(f"{len(names)} feature names for a matrix of {values.shape[1]} columns")
    return values, names


def check_feature_names(expected: Sequence[str], given: Sequence[str] | None, *, reorder: bool = False,
                        n_columns: int | None = None, context: str = "the model") -> np.ndarray:
    """Column indices that put ``given`` columns in the ``expected`` order, or a clear error.

    The rule (documented choice): the columns must be exactly the expected names in the expected
    order. Missing names are always an error. Extra or reordered columns are an error unless
    ``reorder=True``, in which case the columns are picked by name (only possible because every
    expected name is present). A matrix without names is accepted only when its column count
    matches (nothing else can be checked).

    Parameters
    ----------
    expected : sequence of str
        Names the model was trained on, in order.
    given : sequence of str or None
        Names of the supplied columns.
    reorder : bool
        Pick columns by name when all are present but in another order or with extras.
    n_columns : int, optional
        Number of supplied columns (for unnamed matrices).
    context : str
        Description of the model for the message (e.g. its file and glassdyn version).

    Returns
    -------
    ndarray of int, shape (len(expected),)
        ``given_matrix[:, index]`` has the expected columns in the expected order.

    Raises
    ------
    InputError
        Naming the missing, extra or reordered features and what to do.
    """
    expected = [str(n) for n in expected]
    if given is None:
        if n_columns is not None and n_columns != len(expected):
            raise InputError(f"the feature matrix has {n_columns} columns but {context} needs "
                             f"{len(expected)} ({', '.join(expected[:8])}{', ...' if len(expected) > 8 else ''}); "
                             "pass a feature table with names")
        return np.arange(len(expected))
    given = [str(n) for n in given]
    if given == expected:
        return np.arange(len(expected))
    dup = sorted({n for n in given if given.count(n) > 1})
    if dup:
        raise InputError(f"the feature table has duplicated columns: {', '.join(dup)}")
    pos = {n: k for k, n in enumerate(given)}
    missing = [n for n in expected if n not in pos]
    extra = [n for n in given if n not in set(expected)]

    def _short(names):
        return ", ".join(names[:10]) + (f", ... ({len(names)} in all)" if len(names) > 10 else "")

    if missing:
        msg = f"features do not match {context}: missing {_short(missing)}"
        if extra:
            msg += f"; extra {_short(extra)}"
        msg += ("; compute the features with the descriptor parameters stored in the model "
                "(glassdyn predict does this) or retrain the model on these features")
        raise InputError(msg)
    index = np.array([pos[n] for n in expected], dtype=np.int64)
    if reorder:
        return index
    if extra:
        raise InputError(f"features do not match {context}: extra columns {_short(extra)}; "
                         "pass reorder=True to pick the model's columns by name")
    first = next(k for k, (a, b) in enumerate(zip(expected, given)) if a != b)
    raise InputError(f"features do not match {context}: same names in another order (column {first} is "
                     f"'{given[first]}', the model expects '{expected[first]}'); pass reorder=True to "
                     "reorder the columns by name")


# ============================================================================ data checks
def _group_labels(groups) -> np.ndarray:
    g = np.asarray(groups)
    if g.ndim != 1:
        raise InputError(f"groups must be one configuration label per row, got shape {g.shape}")
    return g


def check_training_data(X, y, groups=None, *, ids=None, sources: Mapping | None = None,
                        allow_nan_features: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate ``X``, ``y`` and ``groups`` and return them as arrays.

    Parameters
    ----------
    X : array_like, shape (N, F)
    y : array_like, shape (N,)
    groups : array_like, shape (N,), optional
        Configuration label of each row (all rows one configuration if omitted).
    ids : array_like of int, shape (N,), optional
        Atom ids, used to name the rows at fault.
    sources : mapping of group label -> str, optional
        File/frame description of each configuration for the messages.

    Raises
    ------
    InputError
        On shape mismatches and non-finite targets or features, naming the configuration and
        the atom ids (or row indices) at fault.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float).reshape(-1) if np.ndim(y) else np.asarray([y], float)
    if X.ndim != 2:
        raise InputError(f"features must be a 2-D array (particles x features), got shape {X.shape}")
    n = X.shape[0]
    if y.shape[0] != n:
        raise InputError(f"{y.shape[0]} targets for {n} feature rows")
    g = np.zeros(n, dtype=np.int64) if groups is None else _group_labels(groups)
    if g.shape[0] != n:
        raise InputError(f"{g.shape[0]} configuration labels (groups) for {n} feature rows")
    if n == 0:
        raise InputError("no training rows")
    row_ids = np.arange(n) if ids is None else np.asarray(ids).reshape(-1)
    kind = "atom ids" if ids is not None else "rows"

    def _where(bad_rows):
        labels = np.unique(g[bad_rows])
        first = labels[0]
        sel = bad_rows[g[bad_rows] == first]
        where = (sources or {}).get(first.item() if hasattr(first, "item") else first, f"configuration {first}")
        more = f" (and {len(labels) - 1} more configurations)" if len(labels) > 1 else ""
        return f"{where}{more}, {kind} {format_ids(row_ids[sel])}"

    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        raise InputError(f"{bad.size} targets are NaN or infinite: {_where(bad)}; remove those particles "
                         "or recompute the propensity (a replica may be missing)")
    if not allow_nan_features:
        bad = np.flatnonzero(~np.all(np.isfinite(X), axis=1))
        if bad.size:
            cols = np.flatnonzero(~np.all(np.isfinite(X[bad]), axis=0))
            raise InputError(f"{bad.size} feature rows hold NaN or infinite values (columns {cols[:10].tolist()}): "
                             f"{_where(bad)}; check the descriptor cutoffs or drop those particles")
    return X, y, g


def stack_tables(tables: Sequence, targets: Sequence | None = None, *, labels: Sequence | None = None
                 ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, list[str]]:
    """Stack per-configuration feature tables into ``X``, ``y`` and ``groups``.

    Parameters
    ----------
    tables : sequence of FeatureTable (or DataFrame / mapping / (names, values) pairs)
        One table per configuration; all must have the same feature names in the same order.
    targets : sequence of array_like, optional
        One target array per configuration (same length as the table).
    labels : sequence, optional
        Configuration labels (default 0, 1, ...).

    Returns
    -------
    X : ndarray (N_total, F)
    y : ndarray (N_total,) or None
    groups : ndarray (N_total,)
    names : list of str
    """
    if len(tables) == 0:
        raise InputError("no feature tables given")
    labels = list(range(len(tables))) if labels is None else list(labels)
    mats, names0 = [], None
    for k, t in enumerate(tables):
        if isinstance(t, tuple) and len(t) == 2:
            v, names = np.asarray(t[1], float), [str(n) for n in t[0]]
        else:
            v, names = as_named_matrix(t)
        if names0 is None:
            names0 = names
        elif names != names0:
            # same names in another order: pick by name (the tables are named); else a clear error
            idx = check_feature_names(names0, names, reorder=sorted(names) == sorted(names0),
                                      context=f"the features of configuration {labels[0]}")
            v = v[:, idx]
        mats.append(v)
    X = np.vstack(mats)
    groups = np.concatenate([np.full(len(m), lab) for m, lab in zip(mats, labels)])
    y = None
    if targets is not None:
        if len(targets) != len(tables):
            raise InputError(f"{len(targets)} target arrays for {len(tables)} feature tables")
        for m, t, lab in zip(mats, targets, labels):
            if len(t) != len(m):
                raise InputError(f"configuration {lab}: {len(t)} targets for {len(m)} feature rows")
        y = np.concatenate([np.asarray(t, float).reshape(-1) for t in targets])
    return X, y, groups, list(names0 or [f"x{k}" for k in range(X.shape[1])])


# ============================================================================ feature selection
def _pearson_order(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Features ranked by decreasing |Pearson r| with the target (constant columns last)."""
    Xc = X - X.mean(axis=0)
    yc = y - y.mean()
    den = np.sqrt((Xc ** 2).sum(axis=0) * (yc ** 2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.abs(Xc.T @ yc) / den
    r = np.where(np.isfinite(r), r, -1.0)
    return np.argsort(-r, kind="stable")


def _lasso_order(X: np.ndarray, y: np.ndarray, n_alphas: int = 200) -> np.ndarray:
    """Features in the order they enter the Lasso path (standardised X); never-entering ones last
    by |Pearson r|. Taking the first d gives the support of the Lasso with exactly d non-zero
    weights (SCIENCE.md section 4, baseline), up to the grid resolution."""
    from sklearn.linear_model import lasso_path
    s = X.std(axis=0)
    s[s == 0] = 1.0
    Xs = (X - X.mean(axis=0)) / s
    yc = y - y.mean()
    amax = np.abs(Xs.T @ yc).max() / len(y)
    if not np.isfinite(amax) or amax == 0:
        return _pearson_order(X, y)
    alphas = amax * np.logspace(0, -4, n_alphas)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _, coefs, _ = lasso_path(Xs, yc, alphas=alphas)
    nz = np.abs(coefs) > 0  # (F, n_alphas), alphas decreasing
    entered = np.where(nz.any(axis=1), nz.argmax(axis=1), n_alphas)
    # tie-break features entering at the same alpha by |weight| there, then by Pearson
    pear_rank = np.empty(X.shape[1], dtype=np.int64)
    pear_rank[_pearson_order(X, y)] = np.arange(X.shape[1])
    w_at_entry = np.abs(coefs[np.arange(X.shape[1]), np.minimum(entered, n_alphas - 1)])
    return np.lexsort((pear_rank, -w_at_entry, entered))


def _imbalance_order(X: np.ndarray, y: np.ndarray, groups: np.ndarray | None, names: list[str],
                     n_features: int, seed: int) -> np.ndarray:
    """Supervised greedy information-imbalance selection (:func:`glassdyn.selection.greedy_supervised`:
    features z-scored per configuration, Delta(X_S -> y) averaged over the configurations in
    ``groups``); imported lazily."""
    try:
        from .selection import greedy_supervised
    except ImportError as exc:  # pragma: no cover - depends on the other module being present
        raise GlassdynError("feature selection by information imbalance needs glassdyn.selection, "
                            f"which could not be imported ({exc}); use select='lasso' or 'pearson'") from exc
    res = greedy_supervised(X, y, names=list(names), groups=groups, n_select=int(n_features), seed=seed,
                            reverse=False)
    return np.asarray(res.indices, dtype=np.int64)


class FeatureSelector(TransformerMixin, BaseEstimator):
    """Keep the ``n_features`` best features, ranked on the data given to :meth:`fit` only.

    Parameters
    ----------
    method : {"imbalance", "lasso", "pearson"} or callable
        ``"imbalance"``: supervised greedy information-imbalance selection
        (:mod:`glassdyn.imbalance`, imported lazily); ``"lasso"``: order of entry along the Lasso
        path (standardised features); ``"pearson"``: decreasing |Pearson r| with the target.
        A callable ``f(X, y, groups, names, n_features, seed)`` returns an order of column
        indices or names.
    n_features : int, optional
        Number of features kept (all if None).
    feature_names : sequence of str, optional
        Column names (passed to the selection method, used by :meth:`get_feature_names_out`).
    seed : int
        Seed of any random choice of the method.

    Attributes
    ----------
    order_ : ndarray of int
        Ranking of the columns (best first) found by ``fit``.
    support_ : ndarray of int, shape (n_features,)
        Columns kept, in selection order.
    n_features_in_ : int
    """

    def __init__(self, method: str | Callable = "pearson", n_features: int | None = None,
                 feature_names: Sequence[str] | None = None, seed: int = 0):
        self.method = method
        self.n_features = n_features
        self.feature_names = feature_names
        self.seed = seed

    def fit(self, X, y, groups=None) -> "FeatureSelector":
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float).reshape(-1)
        F = X.shape[1]
        k = F if self.n_features is None else int(self.n_features)
        if not 1 <= k <= F:
            raise InputError(f"n_features={self.n_features} must be between 1 and the number of features ({F})")
        names = list(self.feature_names) if self.feature_names is not None else [f"x{i}" for i in range(F)]
        m = self.method
        if callable(m):
            order = m(X, y, groups, names, k, self.seed)
            order = [names.index(o) if isinstance(o, str) else int(o) for o in order]
            order = np.asarray(order, dtype=np.int64)
        elif m == "pearson":
            order = _pearson_order(X, y)
        elif m == "lasso":
            order = _lasso_order(X, y)
        elif m == "imbalance":
            order = _imbalance_order(X, y, groups, names, k, self.seed)
        else:
            raise InputError(f"unknown feature selection '{m}'; choose one of {', '.join(SELECTORS)}")
        if len(order) < k:
            raise GlassdynError(f"selection '{m}' returned {len(order)} features, {k} were requested")
        self.order_ = order
        self.support_ = order[:k].copy()
        self.n_features_in_ = F
        return self

    def transform(self, X) -> np.ndarray:
        return np.asarray(X, dtype=float)[:, self.support_]

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        names = input_features if input_features is not None else self.feature_names
        names = list(names) if names is not None else [f"x{i}" for i in range(self.n_features_in_)]
        return np.asarray([names[i] for i in self.support_], dtype=object)


# ============================================================================ the regressor
def _make_regressor(model: str, alpha: float | None, y_std: float, hidden_layer_sizes, max_iter: int,
                    gp_ard: bool, n_features: int, seed: int):
    from sklearn import linear_model
    if model == "linear":
        return linear_model.LinearRegression()
    if model == "ridge":
        return linear_model.Ridge(alpha=1.0 if alpha is None else float(alpha))
    if model == "lasso":
        rel = 1e-3 if alpha is None else float(alpha)
        return linear_model.Lasso(alpha=rel * max(y_std, 1e-300), max_iter=20000, random_state=seed)
    if model == "mlp":
        from sklearn.neural_network import MLPRegressor
        return MLPRegressor(hidden_layer_sizes=tuple(hidden_layer_sizes), alpha=1e-3 if alpha is None else float(alpha),
                            max_iter=max_iter, early_stopping=True, n_iter_no_change=15,
                            random_state=seed)
    if model == "gp":
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
        ls = np.ones(n_features) if gp_ard else 1.0
        kernel = (ConstantKernel(1.0, (1e-3, 1e3)) * RBF(length_scale=ls, length_scale_bounds=(1e-2, 1e3))
                  + WhiteKernel(noise_level=0.1, noise_level_bounds=(1e-6, 1e1)))
        return GaussianProcessRegressor(kernel=kernel, normalize_y=True, random_state=seed,
                                        alpha=1e-8 if alpha is None else float(alpha))
    raise InputError(f"unknown model '{model}'; choose one of {', '.join(MODELS)}")


class PropensityModel(RegressorMixin, BaseEstimator):
    """Per-particle regression of propensity (or any target) on structural features.

    Steps: optional :class:`FeatureSelector` (fitted in :meth:`fit`, so on the training
    configurations only) -> standardisation -> regressor.

    Parameters
    ----------
    model : {"linear", "ridge", "lasso", "mlp", "gp"}
        Least squares, Ridge, Lasso, multi-layer perceptron, or Gaussian-process regression
        (RBF + white-noise kernel, ``normalize_y``; gives a predictive standard deviation).
    alpha : float, optional
        Regularisation: Ridge alpha (default 1.0); for Lasso, in units of the training
        target's standard deviation (default 1e-3); MLP L2 penalty (default 1e-3); GP jitter
        added to the kernel diagonal (default 1e-8).
    select : {"imbalance", "lasso", "pearson"}, callable or None
        Feature selection method (see :class:`FeatureSelector`); None keeps all features.
    n_features : int, optional
        Number of selected features (required when ``select`` is set).
    hidden_layer_sizes : tuple of int
        MLP architecture.
    max_iter : int
        MLP epochs (early stopping on 10% of the training rows).
    gp_max_samples : int
        The GP is fitted on a seeded random subsample of at most this many training rows
        (exact GP cost grows as N^3).
    gp_ard : bool
        One RBF length per feature (automatic relevance determination) instead of one in all.
    seed : int
        Seed of the MLP initialisation, GP subsample and any selection randomness.

    Attributes
    ----------
    feature_names_in_ : ndarray of str, shape (n_features_in_,)
        Names of the columns ``fit`` saw (``x0, x1, ...`` for an unnamed matrix).
    n_features_in_ : int
    support_ : ndarray of int
        Columns used by the regressor, in selection order.
    selected_features_ : list of str
        Their names.
    selector_ : FeatureSelector or None
    scaler_ : sklearn.preprocessing.StandardScaler
        Fitted on the selected columns of the training rows.
    estimator_ : the fitted scikit-learn regressor.
    n_train_ : int
        Rows the regressor was fitted on (after the GP subsample).
    train_groups_ : list
        Configuration labels seen in training.
    """

    def __init__(self, model: str = "ridge", alpha: float | None = None, select: str | Callable | None = None,
                 n_features: int | None = None, hidden_layer_sizes: tuple[int, ...] = (32, 16),
                 max_iter: int = 300, gp_max_samples: int = 1000, gp_ard: bool = False, seed: int = 0):
        self.model = model
        self.alpha = alpha
        self.select = select
        self.n_features = n_features
        self.hidden_layer_sizes = hidden_layer_sizes
        self.max_iter = max_iter
        self.gp_max_samples = gp_max_samples
        self.gp_ard = gp_ard
        self.seed = seed

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, groups=None, feature_names: Sequence[str] | None = None) -> "PropensityModel":
        """Fit on rows of all training configurations.

        Parameters
        ----------
        X : FeatureTable, DataFrame or array_like, shape (N, F)
        y : array_like, shape (N,)
        groups : array_like, shape (N,), optional
            Configuration of each row (used by the information-imbalance selection, which
            works per configuration).
        feature_names : sequence of str, optional
            Names for an unnamed matrix.

        Returns
        -------
        self
        """
        if self.model not in MODELS:
            raise InputError(f"unknown model '{self.model}'; choose one of {', '.join(MODELS)}")
        values, names = as_named_matrix(X, feature_names)
        values, y, g = check_training_data(values, y, groups)
        F = values.shape[1]
        names = names or [f"x{i}" for i in range(F)]
        if self.select is not None:
            if self.n_features is None:
                raise InputError("feature selection needs n_features (the number of features to keep)")
            self.selector_ = FeatureSelector(self.select, self.n_features, names, self.seed).fit(values, y, g)
            support = self.selector_.support_
        else:
            if self.n_features is not None and self.n_features != F:
                raise InputError(f"n_features={self.n_features} given without a selection method (select=...)")
            self.selector_ = None
            support = np.arange(F)
        Xs = values[:, support]
        yt = y
        rng = np.random.default_rng(self.seed)
        if self.model == "gp" and len(yt) > self.gp_max_samples:
            keep = np.sort(rng.choice(len(yt), size=int(self.gp_max_samples), replace=False))
            Xs, yt = Xs[keep], yt[keep]
        from sklearn.preprocessing import StandardScaler
        self.scaler_ = StandardScaler().fit(Xs)
        est = _make_regressor(self.model, self.alpha, float(np.std(yt)), self.hidden_layer_sizes,
                              self.max_iter, self.gp_ard, Xs.shape[1], self.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(self.scaler_.transform(Xs), yt)
        self.estimator_ = est
        self.feature_names_in_ = np.asarray(names, dtype=object)
        self.n_features_in_ = F
        self.support_ = np.asarray(support, dtype=np.int64)
        self.selected_features_ = [names[i] for i in support]
        self.n_train_ = int(len(yt))
        self.train_groups_ = [v.item() if hasattr(v, "item") else v for v in np.unique(g)]
        return self

    # ------------------------------------------------------------------ predict
    def _columns(self, X, feature_names=None, reorder: bool = False, context: str | None = None) -> np.ndarray:
        if not hasattr(self, "estimator_"):
            from sklearn.exceptions import NotFittedError
            raise NotFittedError("this PropensityModel is not fitted yet; call fit() or load a model file")
        values, names = as_named_matrix(X, feature_names)
        ctx = context or getattr(self, "_context", None) or "the model"
        idx = check_feature_names(list(self.feature_names_in_), names, reorder=reorder,
                                  n_columns=values.shape[1], context=ctx)
        values = values[:, idx][:, self.support_]
        bad = ~np.all(np.isfinite(values), axis=1)
        if bad.any():
            raise InputError(f"{int(bad.sum())} rows hold NaN or infinite features (rows "
                             f"{format_ids(np.flatnonzero(bad))}); check the descriptors")
        return self.scaler_.transform(values)

    def predict(self, X, return_std: bool = False, *, feature_names: Sequence[str] | None = None,
                reorder: bool = False):
        """Predict the target for every row.

        Parameters
        ----------
        X : FeatureTable, DataFrame or array_like, shape (N, F)
            Must have the training feature names in the training order (see
            :func:`check_feature_names`; ``reorder=True`` picks columns by name).
        return_std : bool
            Also return the GP predictive standard deviation (target units); only for ``gp``.

        Returns
        -------
        y_pred : ndarray (N,)
        y_std : ndarray (N,), only with ``return_std``
        """
        Z = self._columns(X, feature_names, reorder)
        if return_std:
            if self.model != "gp":
                raise InputError(f"only the Gaussian-process model gives a standard deviation (this is '{self.model}')")
            mean, std = self.estimator_.predict(Z, return_std=True)
            return np.asarray(mean, float), np.asarray(std, float)
        return np.asarray(self.estimator_.predict(Z), dtype=float)

    # ------------------------------------------------------------------ linear weights
    @property
    def coef_(self) -> np.ndarray:
        """Weights of the selected features in original feature units (linear models only)."""
        if self.model not in ("linear", "ridge", "lasso"):
            raise AttributeError(f"coef_ exists only for linear models, not '{self.model}'")
        return np.asarray(self.estimator_.coef_, float) / self.scaler_.scale_

    @property
    def intercept_(self) -> float:
        """Intercept in original units (linear models only)."""
        c = self.coef_
        return float(self.estimator_.intercept_ - np.dot(c, self.scaler_.mean_))


# ============================================================================ splits and scores
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
    g = _group_labels(groups)
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
    """

    groups: np.ndarray
    pearson: np.ndarray
    spearman: np.ndarray
    r2: np.ndarray
    mae: np.ndarray

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

    def to_dict(self) -> dict:
        return {"groups": [x.item() if hasattr(x, "item") else x for x in self.groups],
                **{m: [float(v) for v in getattr(self, m)] for m in self.METRICS},
                "summary": self.summary()}


def evaluate_by_configuration(y_true, y_pred, groups) -> ConfigurationScores:
    """Pearson r, Spearman rho, R^2 and mean absolute error of each configuration.

    Parameters
    ----------
    y_true, y_pred : array_like, shape (N,)
    groups : array_like, shape (N,)

    Returns
    -------
    ConfigurationScores
        Correlations are NaN for a configuration with constant truth or prediction.
    """
    yt = np.asarray(y_true, float).reshape(-1)
    yp = np.asarray(y_pred, float).reshape(-1)
    g = _group_labels(groups)
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
        Per fold: ``test_groups``, ``selected_features``, ``n_train``.
    params : dict
        Model parameters, split, glassdyn version.
    """

    scores: ConfigurationScores
    y_pred: np.ndarray
    y_std: np.ndarray | None
    folds: list
    params: dict = field(default_factory=dict)

    def summary(self) -> dict:
        return self.scores.summary()

    def to_dict(self) -> dict:
        return {"scores": self.scores.to_dict(), "folds": self.folds, "params": self.params}


def _jsonable(v):
    if isinstance(v, (np.integer, np.floating, np.bool_)):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, tuple):
        return list(v)
    if callable(v):
        return getattr(v, "__name__", repr(v))
    return v


def cross_validate(estimator: PropensityModel, X, y, groups, *, cv: str = "loco", n_splits: int = 5,
                   feature_names: Sequence[str] | None = None) -> CVResult:
    """Configuration-wise cross-validation of a :class:`PropensityModel`.

    For each fold a clone of ``estimator`` is fitted on the training configurations only
    (feature selection included) and scored on each held-out configuration separately.

    Parameters
    ----------
    estimator : PropensityModel
        Unfitted template (cloned per fold).
    X : FeatureTable, DataFrame or array_like, shape (N, F)
    y : array_like (N,)
    groups : array_like (N,)
        Configuration label of every row.
    cv : {"loco", "groupkfold"}
    n_splits : int
        Folds of GroupKFold.

    Returns
    -------
    CVResult
    """
    values, names = as_named_matrix(X, feature_names)
    values, y, g = check_training_data(values, y, groups)
    names = names or [f"x{i}" for i in range(values.shape[1])]
    splits = configuration_splits(g, cv, n_splits)
    y_pred = np.full(len(y), np.nan)
    is_gp = getattr(estimator, "model", None) == "gp"
    y_std = np.full(len(y), np.nan) if is_gp else None
    folds = []
    for tr, te in splits:
        assert not set(np.unique(g[tr])) & set(np.unique(g[te]))
        est = clone(estimator).fit(values[tr], y[tr], g[tr], feature_names=names)
        if is_gp:
            y_pred[te], y_std[te] = est.predict(values[te], return_std=True, feature_names=names)
        else:
            y_pred[te] = est.predict(values[te], feature_names=names)
        folds.append({"test_groups": [_jsonable(v) for v in np.unique(g[te])],
                      "selected_features": list(est.selected_features_), "n_train": est.n_train_})
    scores = evaluate_by_configuration(y, y_pred, g)
    params = {k: _jsonable(v) for k, v in estimator.get_params().items()}
    params.update(cv=cv, n_splits=n_splits if cv == "groupkfold" else len(splits), glassdyn_version=_version())
    return CVResult(scores, y_pred, y_std, folds, params)


def learning_curve_features(estimator: PropensityModel, X, y, groups, n_features_list: Sequence[int], *,
                            cv: str = "loco", n_splits: int = 5, metric: str = "pearson",
                            feature_names: Sequence[str] | None = None) -> dict:
    """Held-out score against the number of selected features.

    ``estimator.select`` must be set; selection is redone inside every training fold.

    Returns
    -------
    dict
        ``n_features`` (list), ``mean``, ``std`` (of ``metric`` over held-out configurations),
        ``metric``, ``per_configuration`` (list of arrays).
    """
    if getattr(estimator, "select", None) is None:
        raise InputError("a learning curve in the number of features needs a selection method (select=...)")
    means, stds, per = [], [], []
    for k in n_features_list:
        res = cross_validate(clone(estimator).set_params(n_features=int(k)), X, y, groups, cv=cv,
                             n_splits=n_splits, feature_names=feature_names)
        s = res.summary()[metric]
        means.append(s["mean"]), stds.append(s["std"]), per.append(getattr(res.scores, metric))
    return {"x": "n_features", "n_features": [int(k) for k in n_features_list], "mean": means, "std": stds,
            "metric": metric, "per_configuration": per}


def learning_curve_size(estimator: PropensityModel, X, y, groups, train_sizes: Sequence[float] = (0.1, 0.25, 0.5, 1.0),
                        *, cv: str = "loco", n_splits: int = 5, metric: str = "pearson", seed: int = 0,
                        feature_names: Sequence[str] | None = None) -> dict:
    """Held-out score against the number of training particles.

    In every fold the training rows are subsampled (seeded, without replacement) to each
    fraction (values <= 1) or count (values > 1) of ``train_sizes``; test configurations are
    always scored in full.

    Returns
    -------
    dict
        ``train_sizes`` (mean number of training rows), ``mean``, ``std``, ``metric``.
    """
    values, names = as_named_matrix(X, feature_names)
    values, y, g = check_training_data(values, y, groups)
    names = names or [f"x{i}" for i in range(values.shape[1])]
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
            est = clone(estimator).fit(values[sub], y[sub], g[sub], feature_names=names)
            y_pred[te] = est.predict(values[te], feature_names=names)
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
    from .frame import Frame
    from .neighbors import neighbor_list
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


# ============================================================================ classification
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
                "best_params": [{k: _jsonable(v) for k, v in p.items()} for p in self.best_params],
                "classes": [_jsonable(c) for c in self.classes], "scores": self.scores.tolist(),
                "labels": [_jsonable(c) for c in self.labels], "feature_names": self.feature_names,
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
              "param_grid": {k: [_jsonable(x) for x in v] for k, v in grid.items()},
              "glassdyn_version": _version()}
    return ClassificationResult(np.array(aucs), np.array(accs), best, scores, y_raw, classes, names, params)
