"""Learning propensity from structure: the scikit-learn models of glassdyn.

:class:`PropensityModel`
    scikit-learn regressor: optional :class:`FeatureSelector` -> ``StandardScaler`` -> least
    squares, Ridge, Lasso, MLP or Gaussian-process regression (with predictive standard
    deviation; fitted on a seeded subsample when N is large). ``fit`` returns ``self``; learned
    attributes end in ``_``. Saved and loaded safely by :mod:`glassdyn.modelfile`.
:class:`FeatureSelector`
    the selection step (information imbalance, Lasso, Pearson), fitted on the training data only.
:func:`features_for_model`
    a model's feature matrix for a frame: the named per-atom columns when present, otherwise
    recomputed with the descriptor parameters stored in the model (as ``glassdyn predict`` does).

Validation by configuration lives in :mod:`glassdyn.validation` (cross-validation, learning
curves), classification of whole configurations in :mod:`glassdyn.classification`.

Every array here is plain numpy: ``X`` has shape ``(N_total, F)`` (rows = particles of all
configurations), ``y`` shape ``(N_total,)``, ``groups`` shape ``(N_total,)``.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning

from .errors import GlassdynError, InputError, format_ids
from .stats import pearson

__all__ = [
    "MODELS", "SELECTORS", "FeatureSelector", "PropensityModel", "check_feature_names", "as_named_matrix",
    "stack_tables", "check_training_data", "group_labels", "features_for_model", "predict_with_std",
]

#: Regression models understood by :class:`PropensityModel`.
MODELS = ("linear", "ridge", "lasso", "mlp", "gp")
#: Built-in feature-selection methods of :class:`FeatureSelector` (a callable also works).
SELECTORS = ("imbalance", "lasso", "pearson")


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
def group_labels(groups) -> np.ndarray:
    """``groups`` as a 1-D array of configuration labels (one per row), or an InputError."""
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
    g = np.zeros(n, dtype=np.int64) if groups is None else group_labels(groups)
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
    r = np.abs(pearson(X, y))
    r = np.where(np.isfinite(r), r, -1.0)
    return np.argsort(-r, kind="stable")


def _lasso_supports(X: np.ndarray, y: np.ndarray, n_features: int):
    """Exactly-d Lasso supports on standardised X (:func:`glassdyn.selection.lasso_supports`) and the
    order of entry (never-entering features last, by |Pearson r|)."""
    from .selection import lasso_order, lasso_supports
    s = X.std(axis=0)
    s[s == 0] = 1.0
    subsets, _ = lasso_supports((X - X.mean(axis=0)) / s, y - y.mean(), n_features)
    return subsets, np.asarray(lasso_order(subsets, X.shape[1], _pearson_order(X, y)), dtype=np.int64)


def _imbalance_order(X: np.ndarray, y: np.ndarray, groups: np.ndarray | None, names: list[str],
                     n_features: int, seed: int) -> np.ndarray:
    """Supervised greedy information-imbalance selection (:func:`glassdyn.selection.greedy_supervised`:
    features z-scored per configuration, Delta(X_S -> y) averaged over the configurations in
    ``groups``)."""
    from .selection import greedy_supervised
    res = greedy_supervised(X, y, feature_names=list(names), groups=groups, n_features=int(n_features), seed=seed,
                            reverse=False)
    return np.asarray(res.indices, dtype=np.int64)


class FeatureSelector(TransformerMixin, BaseEstimator):
    """Keep the ``n_features`` best features, ranked on the data given to :meth:`fit` only.

    Parameters
    ----------
    method : {"imbalance", "lasso", "pearson"} or callable
        ``"imbalance"``: supervised greedy information-imbalance selection
        (:func:`glassdyn.selection.greedy_supervised`); ``"lasso"``: the support of the Lasso with
        exactly ``n_features`` non-zero weights on standardised features
        (:func:`glassdyn.selection.lasso_supports`), in order of entry along the path;
        ``"pearson"``: decreasing |Pearson r| with the target. A callable
        ``f(X, y, groups, names, n_features, seed)`` returns an order of column indices or names.
    n_features : int, optional
        Number of features kept (all if None).
    feature_names : sequence of str, optional
        Column names (passed to the selection method, used by :meth:`get_feature_names_out`).
    random_state : int
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
                 feature_names: Sequence[str] | None = None, random_state: int = 0):
        self.method = method
        self.n_features = n_features
        self.feature_names = feature_names
        self.random_state = random_state

    def fit(self, X, y, groups=None) -> "FeatureSelector":
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float).reshape(-1)
        F = X.shape[1]
        k = F if self.n_features is None else int(self.n_features)
        if not 1 <= k <= F:
            raise InputError(f"n_features={self.n_features} must be between 1 and the number of features ({F})")
        names = list(self.feature_names) if self.feature_names is not None else [f"x{i}" for i in range(F)]
        m = self.method
        self.lasso_supports_ = None
        if callable(m):
            order = m(X, y, groups, names, k, self.random_state)
            order = [names.index(o) if isinstance(o, str) else int(o) for o in order]
            order = np.asarray(order, dtype=np.int64)
        elif m == "pearson":
            order = _pearson_order(X, y)
        elif m == "lasso":
            self.lasso_supports_, order = _lasso_supports(X, y, k)
        elif m == "imbalance":
            order = _imbalance_order(X, y, groups, names, k, self.random_state)
        else:
            raise InputError(f"unknown feature selection '{m}'; choose one of {', '.join(SELECTORS)}")
        if len(order) < k:
            raise GlassdynError(f"selection '{m}' returned {len(order)} features, {k} were requested")
        self.order_ = order
        self.n_features_in_ = F
        self.support_ = self.support_for(k)
        return self

    def support_for(self, k: int) -> np.ndarray:
        """Columns of the best ``k`` features (k up to ``n_features``) from this fit.

        The first k of :attr:`order_`; for the Lasso, the support with exactly k non-zero
        weights (in order of entry) when the path has one.
        """
        k = int(k)
        subsets = getattr(self, "lasso_supports_", None)
        if subsets is not None and k <= len(subsets) and subsets[k - 1] is not None:
            sub = set(subsets[k - 1])
            return np.asarray([c for c in self.order_ if c in sub], dtype=np.int64)
        return np.asarray(self.order_[:k], dtype=np.int64).copy()

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
    random_state : int
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
    provenance_ : str
        Set by :func:`glassdyn.modelfile.load_model`: the model file and the glassdyn version
        that trained it, named in every feature-mismatch message.

    Notes
    -----
    Rows of one configuration are correlated: in scikit-learn's own cross-validation tools use a
    group-aware splitter and route the configuration labels, e.g.
    ``cross_val_score(model, X, y, groups=g, cv=GroupKFold(5))`` (or
    :func:`glassdyn.validation.cross_validate`).
    """

    def __init__(self, model: str = "ridge", alpha: float | None = None, select: str | Callable | None = None,
                 n_features: int | None = None, hidden_layer_sizes: tuple[int, ...] = (32, 16),
                 max_iter: int = 300, gp_max_samples: int = 1000, gp_ard: bool = False, random_state: int = 0):
        self.model = model
        self.alpha = alpha
        self.select = select
        self.n_features = n_features
        self.hidden_layer_sizes = hidden_layer_sizes
        self.max_iter = max_iter
        self.gp_max_samples = gp_max_samples
        self.gp_ard = gp_ard
        self.random_state = random_state

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
            self.selector_ = FeatureSelector(self.select, self.n_features, names, self.random_state).fit(values, y, g)
            support = self.selector_.support_
        else:
            if self.n_features is not None and self.n_features != F:
                raise InputError(f"n_features={self.n_features} given without a selection method (select=...)")
            self.selector_ = None
            support = np.arange(F)
        Xs = values[:, support]
        yt = y
        rng = np.random.default_rng(self.random_state)
        if self.model == "gp" and len(yt) > self.gp_max_samples:
            keep = np.sort(rng.choice(len(yt), size=int(self.gp_max_samples), replace=False))
            Xs, yt = Xs[keep], yt[keep]
        from sklearn.preprocessing import StandardScaler
        self.scaler_ = StandardScaler().fit(Xs)
        est = _make_regressor(self.model, self.alpha, float(np.std(yt)), self.hidden_layer_sizes,
                              self.max_iter, self.gp_ard, Xs.shape[1], self.random_state)
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
        ctx = context or getattr(self, "provenance_", None) or "the model"
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


# ============================================================================ applying a model to a frame
def features_for_model(model: PropensityModel, frame, compute: str = "auto") -> tuple[np.ndarray, list[str]]:
    """The model's feature matrix for ``frame``.

    Parameters
    ----------
    model : PropensityModel
        A fitted model (e.g. from :func:`glassdyn.modelfile.load_model`).
    frame : glassdyn.frame.Frame
    compute : {"auto", "always", "never"}
        Use the frame's per-atom columns named like the model's features when they are all
        there (``auto``) or always (``never`` recomputes nothing); otherwise recompute them with
        the descriptor parameters stored in the model (``model.metadata_["descriptor_params"]``,
        :func:`glassdyn.descriptors.features_from_params`; the defaults when none are stored).

    Returns
    -------
    X : ndarray, shape (N, F)
        Columns in the model's training order, rows in frame order.
    names : list of str
    """
    from .descriptors import features_from_params
    names = [str(n) for n in model.feature_names_in_]
    props = frame.properties
    have = all(n in props for n in names)
    if compute == "never" or (compute == "auto" and have):
        if not have:
            missing = [n for n in names if n not in props]
            raise InputError(f"the dump lacks feature columns {', '.join(missing[:10])}"
                             f"{' ...' if len(missing) > 10 else ''} needed by the model; let glassdyn compute "
                             "them (--compute auto)", source=frame.source, frame=frame.index)
        return np.column_stack([np.asarray(props[n], float) for n in names]), names
    # no stored parameters (a model trained on feature columns): the default descriptors, whose
    # names are checked against the model's below
    params = (getattr(model, "metadata_", None) or {}).get("descriptor_params") or {}
    table = features_from_params(frame, params)
    values = np.asarray(table.values, float)
    if not np.array_equal(np.asarray(table.ids), frame.ids):
        pos = {int(i): k for k, i in enumerate(np.asarray(table.ids))}
        values = values[[pos[int(i)] for i in frame.ids]]
    try:
        idx = check_feature_names(names, list(table.names), reorder=True,
                                  context=getattr(model, "provenance_", None) or "the model")
    except InputError as exc:
        raise InputError(exc.detail, source=frame.source, frame=frame.index) from None
    return values[:, idx], names


def predict_with_std(model: PropensityModel, X, feature_names=None) -> tuple[np.ndarray, np.ndarray | None]:
    """(prediction, predictive standard deviation or None) for a feature matrix in the model's
    column order; the standard deviation exists for the Gaussian-process model only."""
    if model.model == "gp":
        mean, std = model.predict(X, return_std=True, feature_names=feature_names)
        return np.asarray(mean, float), np.asarray(std, float)
    return np.asarray(model.predict(X, feature_names=feature_names), float), None
