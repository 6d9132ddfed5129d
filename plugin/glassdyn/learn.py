"""Learning propensity from structure: the scikit-learn models of glassdyn.

:class:`PropensityModel`
    scikit-learn regressor: optional :class:`FeatureSelector` -> ``StandardScaler`` -> least
    squares, Ridge, Lasso, MLP or Gaussian-process regression (with predictive standard
    deviation; fitted on a seeded subsample when N is large); jointly for all particle types,
    once per type, or with the type as a feature (``per_type``). ``fit`` returns ``self``;
    learned attributes end in ``_``. Saved and loaded safely by :mod:`glassdyn.modelfile`.
:class:`FeatureSelector`
    the selection step (information imbalance, Lasso, Pearson), fitted on the training data
    only; a scikit-learn ``SelectorMixin``.
:func:`features_for_model`, :func:`predict_frame`
    a model's feature matrix for a frame: the named per-atom columns when present, otherwise
    recomputed with the descriptor parameters stored in the model (as ``glassdyn predict`` does);
    and the prediction of a frame (its particle types passed to per-type models).

Validation by configuration lives in :mod:`glassdyn.validation` (cross-validation, learning
curves, scores per type), classification of whole configurations in :mod:`glassdyn.classification`.

Every array here is plain numpy: ``X`` has shape ``(N_total, F)`` (rows = particles of all
configurations), ``y`` shape ``(N_total,)``, ``groups`` and ``types`` shape ``(N_total,)``.
Both estimators pass scikit-learn's estimator checks except those listed, with the reason, in
``tests/core/test_sklearn_checks.py``; validation errors are :class:`~glassdyn.errors.InputError`
(a ``ValueError``) with glassdyn's messages where they say more than scikit-learn's.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.feature_selection import SelectorMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .errors import GlassdynError, InputError, format_ids
from .stats import pearson

__all__ = [
    "MODELS", "SELECTORS", "PER_TYPE", "AUTO_PER_TYPE", "AUTO_MIN_TYPE_ROWS", "FeatureSelector", "PropensityModel",
    "check_feature_names", "as_named_matrix", "stack_tables", "check_training_data", "group_labels", "check_types",
    "resolve_per_type", "features_for_model", "predict_with_std", "predict_frame",
]

#: Regression models understood by :class:`PropensityModel`.
MODELS = ("linear", "ridge", "lasso", "mlp", "gp")
#: Built-in feature-selection methods of :class:`FeatureSelector` (a callable also works).
SELECTORS = ("imbalance", "lasso", "pearson")
#: How particle types enter a :class:`PropensityModel` (``per_type``).
PER_TYPE = ("joint", "separate", "feature", "auto")
#: What ``per_type="auto"`` fits when every type has enough training rows: the better of
#: "separate" and "feature" on held-out configurations (benchmarks/bench_per_type.py: 2D
#: Kob-Andersen, T = 0.6, Ridge on the default descriptors, separate beat feature by +0.014 +- 0.004
#: in held-out Pearson r, +0.031 for type B).
AUTO_PER_TYPE = "separate"
#: ``per_type="auto"`` fits per type only when every type has at least this many training rows
#: (benchmarks/bench_per_type.py: below ~1000 rows per type, separate Ridge fits on ~50 features
#: predicted worse than one joint fit).
AUTO_MIN_TYPE_ROWS = 1000


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


# ============================================================================ inputs, types, per-type modes
def _input_names(X, feature_names: Sequence[str] | None = None):
    """``(matrix-like for scikit-learn's validation, column names or None)``.

    A glassdyn ``FeatureTable`` and a mapping of columns become a plain array with their names;
    a pandas DataFrame is passed through (scikit-learn reads its string column names itself);
    anything else is passed through with ``feature_names`` (if given) as its names.
    """
    if issparse(X):  # refused by scikit-learn's validation with its message (dok is also a Mapping)
        return X, None
    if hasattr(X, "names") and hasattr(X, "values") and not callable(X.values):  # FeatureTable
        return np.asarray(X.values), [str(n) for n in X.names]
    if hasattr(X, "columns") and hasattr(X, "iloc"):  # pandas DataFrame
        cols = list(X.columns)
        if cols and all(isinstance(c, str) for c in cols):
            return X, [str(c) for c in cols]
        return X, None if feature_names is None else [str(n) for n in feature_names]
    if isinstance(X, Mapping):
        if not X:
            raise InputError("an empty mapping of feature columns")
        return np.column_stack([np.asarray(X[k]) for k in X]), [str(k) for k in X]
    return X, None if feature_names is None else [str(n) for n in feature_names]


def _target_vector(y: np.ndarray) -> np.ndarray:
    """A validated target as 1-D: a column vector is raveled with scikit-learn's
    DataConversionWarning, several target columns are refused."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn("A column-vector y was passed when a 1d array was expected. Please change the shape of y "
                      "to (n_samples,), for example using ravel().", DataConversionWarning, stacklevel=3)
        return y[:, 0]
    if y.ndim != 1:
        raise InputError(f"y must be one target value per row (shape (N,)), got shape {y.shape}")
    return y


def _py(v):
    """A numpy scalar as the plain Python value (JSON- and dict-key-friendly)."""
    return v.item() if hasattr(v, "item") else v


def check_types(types, n: int | None = None) -> np.ndarray:
    """``types`` as a 1-D array of particle-type labels (one per row), or an InputError.

    Parameters
    ----------
    types : array_like, shape (N,)
        Integer LAMMPS types (``Frame.types``), integral floats (a CSV ``type`` column: made
        int64) or strings.
    n : int, optional
        Number of rows the types must match.

    Returns
    -------
    ndarray of int64 or str, shape (N,)

    Examples
    --------
    >>> check_types([1.0, 2.0, 2.0]).tolist()
    [1, 2, 2]
    """
    t = np.asarray(types)
    if t.ndim != 1:
        raise InputError(f"types must be one particle type per row, got shape {t.shape}")
    if n is not None and len(t) != n:
        raise InputError(f"{len(t)} particle types for {n} feature rows")
    if t.dtype.kind == "b":
        t = t.astype(np.int64)
    elif t.dtype.kind == "f":
        if not np.all(np.isfinite(t)) or not np.all(t == np.round(t)):
            raise InputError("particle types must be integers (or strings); got non-integral or NaN values")
        t = t.astype(np.int64)
    elif t.dtype.kind == "O":
        try:
            t = t.astype(np.int64) if all(isinstance(v, (int, np.integer)) for v in t) else t.astype(str)
        except (TypeError, ValueError):
            raise InputError("particle types must be integers or strings") from None
    if t.dtype.kind not in "iuU":
        raise InputError(f"particle types must be integers or strings, got dtype {t.dtype}")
    return t


def resolve_per_type(per_type: str, types=None, min_type_rows: int | None = None) -> str:
    """The per-type mode a :class:`PropensityModel` fits: ``"joint"``, ``"separate"`` or ``"feature"``.

    Parameters
    ----------
    per_type : {"joint", "separate", "feature", "auto"}
    types : array_like (N,), optional
        Particle type of every training row.
    min_type_rows : int, optional
        ``"auto"`` fits per type (as :data:`AUTO_PER_TYPE`) only when there are at least two
        types and every type has at least this many training rows (default
        :data:`AUTO_MIN_TYPE_ROWS`); otherwise, or without types, it fits jointly.

    Returns
    -------
    str

    Raises
    ------
    InputError
        For an unknown mode, or ``"separate"``/``"feature"`` without types.

    Examples
    --------
    >>> import numpy as np
    >>> resolve_per_type("auto", np.repeat([1, 2], [3000, 1500]))
    'separate'
    >>> resolve_per_type("auto", np.repeat([1, 2], [3000, 300]))
    'joint'
    """
    if per_type not in PER_TYPE:
        raise InputError(f"unknown per_type '{per_type}'; choose one of {', '.join(PER_TYPE)}")
    if per_type == "joint":
        return "joint"
    if types is None:
        if per_type == "auto":
            return "joint"
        raise InputError(f"per_type='{per_type}' needs the particle type of every row: pass types=... to fit "
                         "(glassdyn train reads the dump's type column or the table's 'type' column)")
    if per_type != "auto":
        return per_type
    _, counts = np.unique(check_types(types), return_counts=True)
    limit = AUTO_MIN_TYPE_ROWS if min_type_rows is None else int(min_type_rows)
    if len(counts) < 2 or counts.min() < limit:
        return "joint"
    return AUTO_PER_TYPE


def _one_hot(t: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return (t[:, None] == labels[None, :]).astype(float)


def _model_feature_names(model) -> list[str]:
    """The training column names of a fitted model (``x0, x1, ...`` for an unnamed matrix)."""
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return [str(n) for n in names]
    return [f"x{i}" for i in range(int(model.n_features_in_))]


_GROUPS_NEEDED = (
    "the information-imbalance selection compares neighbourhoods within each configuration and needs groups "
    "(the configuration label of every row); pass groups=... (np.zeros(N) for a single configuration). In "
    "scikit-learn's own cross-validation route them: sklearn.set_config(enable_metadata_routing=True), "
    "model.set_fit_request(groups=True), then cross_val_score(model, X, y, cv=GroupKFold(5), "
    "params={'groups': groups})")


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


class FeatureSelector(SelectorMixin, BaseEstimator):
    """Keep the ``n_features`` best features, ranked on the data given to :meth:`fit` only.

    A scikit-learn feature selector (:class:`~sklearn.feature_selection.SelectorMixin`):
    ``get_support``, ``transform``, ``inverse_transform`` and ``get_feature_names_out`` work as
    for scikit-learn's own selectors, inside a ``Pipeline`` too.

    Parameters
    ----------
    method : {"imbalance", "lasso", "pearson"} or callable
        ``"imbalance"``: supervised greedy information-imbalance selection
        (:func:`glassdyn.selection.greedy_supervised`; needs ``groups``); ``"lasso"``: the support
        of the Lasso with exactly ``n_features`` non-zero weights on standardised features
        (:func:`glassdyn.selection.lasso_supports`), in order of entry along the path;
        ``"pearson"``: decreasing |Pearson r| with the target. A callable
        ``f(X, y, groups, names, n_features, seed)`` returns an order of column indices or names.
    n_features : int, optional
        Number of features kept (all if None).
    feature_names : sequence of str, optional
        Column names of an unnamed matrix (passed to the selection method, used by
        :meth:`get_feature_names_out`). A DataFrame or FeatureTable brings its own names.
    random_state : int
        Seed of any random choice of the method.

    Attributes
    ----------
    order_ : ndarray of int
        Ranking of the columns (best first) found by ``fit``.
    support_ : ndarray of int, shape (n_features,)
        Columns kept, in selection order (``get_support(indices=True)`` lists them in column
        order, and ``transform`` keeps them in column order, as scikit-learn's selectors do).
    names_ : list of str
        Names of the input columns (from the DataFrame / FeatureTable, ``feature_names``, or
        ``x0, x1, ...``).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only after fitting on a DataFrame with string column names (scikit-learn's rule).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 5))
    >>> y = 3 * X[:, 4] - X[:, 1] + 0.1 * rng.normal(size=200)
    >>> sel = FeatureSelector("pearson", 2, feature_names=list("abcde")).fit(X, y)
    >>> sel.support_.tolist(), sel.get_feature_names_out().tolist()
    ([4, 1], ['b', 'e'])
    >>> sel.transform(X).shape
    (200, 2)
    """

    def __init__(self, method: str | Callable = "pearson", n_features: int | None = None,
                 feature_names: Sequence[str] | None = None, random_state: int = 0):
        self.method = method
        self.n_features = n_features
        self.feature_names = feature_names
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    def fit(self, X, y, groups=None) -> "FeatureSelector":
        """Rank the features on ``X``, ``y`` and keep the best ``n_features``.

        Parameters
        ----------
        X : FeatureTable, DataFrame or array_like, shape (N, F)
        y : array_like, shape (N,)
        groups : array_like, shape (N,), optional
            Configuration label of every row; required by ``"imbalance"`` (route it with
            ``set_fit_request(groups=True)`` in scikit-learn's cross-validation).

        Returns
        -------
        self
        """
        X_raw, given = _input_names(X, None)
        X, y = validate_data(self, X_raw, y, reset=True, dtype=np.float64, y_numeric=True)
        F = X.shape[1]
        if given is not None:
            if self.feature_names is not None and [str(n) for n in self.feature_names] != given:
                raise InputError("feature_names differ from the column names of X; give one or the other")
            names = given
        elif self.feature_names is not None:
            names = [str(n) for n in self.feature_names]
            if len(names) != F:
                raise InputError(f"{len(names)} feature names for a matrix of {F} columns")
        else:
            names = [f"x{i}" for i in range(F)]
        k = F if self.n_features is None else int(self.n_features)
        if not 1 <= k <= F:
            raise InputError(f"n_features={self.n_features} must be between 1 and the number of features: "
                             f"X has {F} feature(s)")
        if groups is not None:
            groups = group_labels(groups)
            if len(groups) != len(y):
                raise InputError(f"{len(groups)} configuration labels (groups) for {len(y)} feature rows")
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
            if groups is None:
                raise InputError(_GROUPS_NEEDED)
            order = _imbalance_order(X, y, groups, names, k, self.random_state)
        else:
            raise InputError(f"unknown feature selection '{m}'; choose one of {', '.join(SELECTORS)}")
        if len(order) < k:
            raise GlassdynError(f"selection '{m}' returned {len(order)} features, {k} were requested")
        self.order_ = order
        self.names_ = names
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

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self, "support_")
        mask = np.zeros(self.n_features_in_, dtype=bool)
        mask[self.support_] = True
        return mask

    def transform(self, X):
        """The selected columns of ``X`` (in column order), checked against the fitted width.

        A FeatureTable or mapping must carry the fitted names in the fitted order.
        """
        X_raw, given = _input_names(X, None)
        if given is not None and not (hasattr(X, "columns") and hasattr(X, "iloc")):
            check_feature_names(self.names_, given, context="the fitted selector")
        return super().transform(X_raw)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the selected columns, in column order (as :meth:`transform` returns them)."""
        check_is_fitted(self, "support_")
        if input_features is None and not hasattr(self, "feature_names_in_"):
            input_features = self.names_
        return super().get_feature_names_out(input_features)


# ============================================================================ the regressor
#: The MLP stops early on a validation tenth of its training rows when it has at least this many.
MLP_EARLY_STOPPING_ROWS = 200


def _make_regressor(model: str, alpha: float | None, y_std: float, hidden_layer_sizes, max_iter: int,
                    gp_ard: bool, n_features: int, seed: int, n_rows: int | None = None):
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
                            max_iter=max_iter, n_iter_no_change=15,
                            early_stopping=n_rows is None or n_rows >= MLP_EARLY_STOPPING_ROWS,
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
    configurations only) -> standardisation -> regressor; jointly for all particle types, once
    per type, or with the type as a feature (``per_type``).

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
        ``"imbalance"`` needs ``groups`` in :meth:`fit`.
    n_features : int, optional
        Number of selected features (required when ``select`` is set).
    hidden_layer_sizes : tuple of int
        MLP architecture.
    max_iter : int
        MLP epochs (early stopping on 10% of the training rows when there are at least
        :data:`MLP_EARLY_STOPPING_ROWS` of them).
    gp_max_samples : int
        The GP is fitted on a seeded random subsample of at most this many training rows
        (exact GP cost grows as N^3); per type with ``per_type="separate"``.
    gp_ard : bool
        One RBF length per feature (automatic relevance determination) instead of one in all.
    random_state : int
        Seed of the MLP initialisation, GP subsample and any selection randomness.
    per_type : {"joint", "separate", "feature", "auto"}
        How particle types (``types`` in :meth:`fit`) enter (SCIENCE.md section 5: species
        differ in mobility):

        * ``"joint"``: one model for all particles (types are ignored);
        * ``"separate"``: one complete model per type (selection, scaler, regressor fitted on
          that type's rows only; each type selects its own ``n_features``: the structure that
          matters for small particles need not be that of large ones);
        * ``"feature"``: one model, with the one-hot type columns appended to the selected
          features before scaling (selection runs on the structural features only);
        * ``"auto"``: :data:`AUTO_PER_TYPE` when there are at least two types and every type
          has at least ``min_type_rows`` training rows, ``"joint"`` otherwise (and without
          types).

        A model fitted per type needs ``types`` in :meth:`predict` too.
    min_type_rows : int
        Threshold of ``per_type="auto"`` (default :data:`AUTO_MIN_TYPE_ROWS`).

    Attributes
    ----------
    feature_names_in_ : ndarray of str, shape (n_features_in_,)
        Names of the columns ``fit`` saw, when it saw names (DataFrame, FeatureTable, mapping
        or ``feature_names``); absent for an unnamed matrix, whose columns are then called
        ``x0, x1, ...`` in messages and model files.
    n_features_in_ : int
    per_type_ : {"joint", "separate", "feature"}
        The mode fitted (``"auto"`` resolved).
    types_ : ndarray or None
        Particle types seen in training (sorted).
    n_train_by_type_ : dict or None
        Training rows per type.
    models_ : dict of type -> PropensityModel, or None
        The per-type models of ``per_type_ == "separate"``.
    type_columns_ : list of str
        Names of the one-hot columns of ``per_type_ == "feature"`` (``type=1``, ...).
    support_ : ndarray of int
        Columns used by the regressor, in selection order (for ``"separate"``: the union over
        types, in order of first appearance).
    selected_features_ : list of str
        Their names.
    selected_features_by_type_ : dict of type -> list of str, or None
        Per-type selections of ``"separate"``.
    selector_ : FeatureSelector or None
    scaler_ : sklearn.preprocessing.StandardScaler or None
        Fitted on the selected columns (and the one-hot type columns) of the training rows;
        None for ``"separate"`` (see ``models_``).
    estimator_ : the fitted scikit-learn regressor, or None for ``"separate"``.
    n_iter_ : int or ndarray
        Iterations of the MLP or Lasso solver (per type for ``"separate"``); absent for the
        direct solvers (linear, Ridge) and the GP.
    n_train_ : int
        Rows the regressor(s) were fitted on (after the GP subsample).
    train_groups_ : list
        Configuration labels seen in training.
    provenance_ : str
        Set by :func:`glassdyn.modelfile.load_model`: the model file and the glassdyn version
        that trained it, named in every feature-mismatch message.

    Notes
    -----
    The model follows scikit-learn's estimator conventions (``tests/core/test_sklearn_checks.py``
    runs scikit-learn's own checks; the few that do not apply are listed there with the reason).
    Rows of one configuration are correlated: in scikit-learn's own cross-validation use a
    group-aware splitter and route the configuration labels to both the splitter and ``fit``
    with metadata routing::

        sklearn.set_config(enable_metadata_routing=True)
        model = PropensityModel(select="imbalance", n_features=8).set_fit_request(groups=True)
        cross_val_score(model, X, y, cv=GroupKFold(5), params={"groups": groups})

    A per-type model also needs the types in ``fit`` and in ``score`` (the default scoring):
    ``.set_fit_request(groups=True, types=True).set_score_request(types=True)`` and
    ``params={"groups": groups, "types": types}``. Scikit-learn's scorers cannot pass metadata
    to ``predict``, so other scorings (and ``cross_val_predict``) work with joint models only;
    :func:`glassdyn.validation.cross_validate` scores per type and per configuration.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(600, 3))
    >>> types = np.repeat([1, 2], 300)
    >>> y = np.where(types == 1, 2 * X[:, 0], -X[:, 1]) + 0.05 * rng.normal(size=600)
    >>> groups = np.tile(np.repeat([0, 1, 2], 100), 2)
    >>> joint = PropensityModel("ridge").fit(X, y, groups)
    >>> per = PropensityModel("ridge", per_type="separate").fit(X, y, groups, types=types)
    >>> sorted(per.models_), per.per_type_
    ([1, 2], 'separate')
    >>> bool(per.score(X, y, types=types) > joint.score(X, y))
    True
    >>> per.predict(X[:2], types=types[:2]).shape
    (2,)
    """

    def __init__(self, model: str = "ridge", alpha: float | None = None, select: str | Callable | None = None,
                 n_features: int | None = None, hidden_layer_sizes: tuple[int, ...] = (32, 16),
                 max_iter: int = 300, gp_max_samples: int = 1000, gp_ard: bool = False, random_state: int = 0,
                 per_type: str = "joint", min_type_rows: int = AUTO_MIN_TYPE_ROWS):
        self.model = model
        self.alpha = alpha
        self.select = select
        self.n_features = n_features
        self.hidden_layer_sizes = hidden_layer_sizes
        self.max_iter = max_iter
        self.gp_max_samples = gp_max_samples
        self.gp_ard = gp_ard
        self.random_state = random_state
        self.per_type = per_type
        self.min_type_rows = min_type_rows

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, groups=None, types=None, feature_names: Sequence[str] | None = None) -> "PropensityModel":
        """Fit on rows of all training configurations.

        Parameters
        ----------
        X : FeatureTable, DataFrame or array_like, shape (N, F)
        y : array_like, shape (N,)
        groups : array_like, shape (N,), optional
            Configuration of each row (required by the information-imbalance selection, which
            works per configuration).
        types : array_like, shape (N,), optional
            Particle type of each row (required by ``per_type="separate"`` and ``"feature"``;
            ``"auto"`` fits jointly without it).
        feature_names : sequence of str, optional
            Names for an unnamed matrix.

        Returns
        -------
        self

        Raises
        ------
        InputError
            For NaN or infinite targets or features (naming configuration and rows), a
            selection without ``n_features``, the imbalance selection without ``groups``, or a
            per-type mode without ``types``.
        """
        if self.model not in MODELS:
            raise InputError(f"unknown model '{self.model}'; choose one of {', '.join(MODELS)}")
        if self.per_type not in PER_TYPE:
            raise InputError(f"unknown per_type '{self.per_type}'; choose one of {', '.join(PER_TYPE)}")
        X_raw, names = _input_names(X, feature_names)
        values, y = validate_data(self, X_raw, y, reset=True, validate_separately=(
            {"dtype": np.float64, "ensure_all_finite": False},
            {"ensure_2d": False, "dtype": np.float64, "ensure_all_finite": False}))
        y = _target_vector(y)
        values, y, g = check_training_data(values, y, groups)
        F = values.shape[1]
        if names is not None:
            if len(names) != F:
                raise InputError(f"{len(names)} feature names for a matrix of {F} columns")
            self.feature_names_in_ = np.asarray(names, dtype=object)
        names = names or [f"x{i}" for i in range(F)]
        if self.select == "imbalance" and groups is None:
            raise InputError(_GROUPS_NEEDED)
        t = None if types is None else check_types(types, len(y))
        mode = resolve_per_type(self.per_type, t, self.min_type_rows)
        for attr in ("n_iter_",):
            self.__dict__.pop(attr, None)
        self.per_type_ = mode
        self.types_ = None if t is None else np.unique(t)
        self.n_train_by_type_ = None if t is None else {_py(v): int(np.sum(t == v)) for v in self.types_}
        self.models_ = None
        self.type_columns_ = []
        self.selected_features_by_type_ = None
        if mode == "separate":
            self.models_ = {}
            for lab in self.types_:
                m = t == lab
                sub = clone(self).set_params(per_type="joint")
                self.models_[_py(lab)] = sub.fit(values[m], y[m], g[m], feature_names=names)
            self.selector_ = self.scaler_ = self.estimator_ = None
            order: list[int] = []
            for sub in self.models_.values():
                order += [int(c) for c in sub.support_ if int(c) not in order]
            support = np.asarray(order, dtype=np.int64)
            self.n_train_ = int(sum(sub.n_train_ for sub in self.models_.values()))
            self.selected_features_by_type_ = {k: list(sub.selected_features_) for k, sub in self.models_.items()}
            iters = [getattr(sub, "n_iter_", None) for sub in self.models_.values()]
            if all(i is not None for i in iters):
                self.n_iter_ = np.asarray(iters)
        else:
            onehot = None
            if mode == "feature":
                onehot = _one_hot(t, self.types_)
                self.type_columns_ = [f"type={_py(v)}" for v in self.types_]
            support = self._fit_arrays(values, y, g, names, onehot)
        self.support_ = np.asarray(support, dtype=np.int64)
        self.selected_features_ = [names[i] for i in self.support_]
        self.train_groups_ = [_py(v) for v in np.unique(g)]
        return self

    def _fit_arrays(self, values, y, g, names, onehot) -> np.ndarray:
        """Selection -> (one-hot types) -> scaler -> regressor on validated arrays; the support."""
        F = values.shape[1]
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
        if onehot is not None:
            Xs = np.hstack([Xs, onehot])
        yt = y
        rng = np.random.default_rng(self.random_state)
        if self.model == "gp" and len(yt) > self.gp_max_samples:
            keep = np.sort(rng.choice(len(yt), size=int(self.gp_max_samples), replace=False))
            Xs, yt = Xs[keep], yt[keep]
        from sklearn.preprocessing import StandardScaler
        self.scaler_ = StandardScaler().fit(Xs)
        est = _make_regressor(self.model, self.alpha, float(np.std(yt)), self.hidden_layer_sizes,
                              self.max_iter, self.gp_ard, Xs.shape[1], self.random_state, n_rows=len(yt))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(self.scaler_.transform(Xs), yt)
        self.estimator_ = est
        if getattr(est, "n_iter_", None) is not None:
            self.n_iter_ = est.n_iter_
        self.n_train_ = int(len(yt))
        return support

    # ------------------------------------------------------------------ predict
    def _columns(self, X, feature_names=None, reorder: bool = False, context: str | None = None) -> np.ndarray:
        """``X`` validated, as all training columns in the training order (not yet selected)."""
        check_is_fitted(self, "support_", msg="this %(name)s is not fitted yet; call fit() or load a model file")
        X_raw, names = _input_names(X, feature_names)
        values = check_array(X_raw, dtype=np.float64, ensure_all_finite=False, estimator=self, input_name="X")
        expected = _model_feature_names(self)
        ctx = context or getattr(self, "provenance_", None) or "the model"
        n = values.shape[1]
        if names is None and n != len(expected):
            shown = ", ".join(expected[:8]) + (", ..." if len(expected) > 8 else "")
            raise InputError(f"X has {n} features, but {type(self).__name__} is expecting {len(expected)} features "
                             f"as input: the feature matrix has {n} columns but {ctx} needs {len(expected)} "
                             f"({shown}); pass a feature table with names")
        values = values[:, check_feature_names(expected, names, reorder=reorder, n_columns=n, context=ctx)]
        with warnings.catch_warnings():  # the names were checked (and the columns ordered) above
            warnings.filterwarnings("ignore", message="X does not have valid feature names", category=UserWarning)
            values = validate_data(self, values, reset=False, skip_check_array=True)
        bad = ~np.all(np.isfinite(values[:, self.support_]), axis=1)
        if bad.any():
            raise InputError(f"{int(bad.sum())} rows hold NaN or infinite features (rows "
                             f"{format_ids(np.flatnonzero(bad))}); check the descriptors")
        return values

    def _types_for(self, types, n: int) -> np.ndarray | None:
        mode = getattr(self, "per_type_", "joint")
        if mode == "joint":
            return None if types is None else check_types(types, n)
        known = [_py(v) for v in self.types_]
        if types is None:
            raise InputError(f"this model was fitted per particle type (per_type='{mode}', types "
                             f"{', '.join(map(str, known))}): pass types=... (the type of every row, e.g. frame.types)")
        t = check_types(types, n)
        unknown = [_py(v) for v in np.unique(t) if _py(v) not in known]
        if unknown:
            raise InputError(f"particle types {', '.join(map(str, unknown))} were not seen in training (the model "
                             f"knows types {', '.join(map(str, known))})")
        return t

    def _predict_arrays(self, Z: np.ndarray, onehot, return_std: bool):
        Xs = Z[:, self.support_]
        if onehot is not None:
            Xs = np.hstack([Xs, onehot])
        Zs = self.scaler_.transform(Xs)
        if return_std:
            mean, std = self.estimator_.predict(Zs, return_std=True)
            return np.asarray(mean, float), np.asarray(std, float)
        return np.asarray(self.estimator_.predict(Zs), dtype=float)

    def predict(self, X, return_std: bool = False, *, types=None, feature_names: Sequence[str] | None = None,
                reorder: bool = False):
        """Predict the target for every row.

        Parameters
        ----------
        X : FeatureTable, DataFrame or array_like, shape (N, F)
            Must have the training feature names in the training order (see
            :func:`check_feature_names`; ``reorder=True`` picks columns by name).
        return_std : bool
            Also return the GP predictive standard deviation (target units); only for ``gp``.
        types : array_like, shape (N,), optional
            Particle type of every row; required when the model was fitted per type
            (``per_type_`` ``"separate"`` or ``"feature"``), ignored by a joint model.
        feature_names : sequence of str, optional
            Names of the columns of an unnamed matrix.
        reorder : bool
            Pick the training columns by name.

        Returns
        -------
        y_pred : ndarray (N,)
        y_std : ndarray (N,), only with ``return_std``
        """
        Z = self._columns(X, feature_names, reorder)
        if return_std and self.model != "gp":
            raise InputError(f"only the Gaussian-process model gives a standard deviation (this is '{self.model}')")
        t = self._types_for(types, len(Z))
        mode = getattr(self, "per_type_", "joint")
        if mode == "joint":
            return self._predict_arrays(Z, None, return_std)
        if mode == "feature":
            return self._predict_arrays(Z, _one_hot(t, self.types_), return_std)
        mean = np.full(len(Z), np.nan)
        std = np.full(len(Z), np.nan)
        for lab, sub in self.models_.items():
            m = t == lab
            if m.any():
                out = sub._predict_arrays(Z[m], None, return_std)
                if return_std:
                    mean[m], std[m] = out
                else:
                    mean[m] = out
        return (mean, std) if return_std else mean

    def score(self, X, y, sample_weight=None, types=None) -> float:
        """R^2 of the prediction on all rows (scikit-learn's default score); ``types`` as in
        :meth:`predict` (route it with ``set_score_request(types=True)``)."""
        from sklearn.metrics import r2_score
        return float(r2_score(y, self.predict(X, types=types), sample_weight=sample_weight))

    # ------------------------------------------------------------------ linear weights
    @property
    def coef_(self) -> np.ndarray:
        """Weights of the selected features (then of the one-hot type columns of
        ``per_type="feature"``) in original feature units (linear models only)."""
        if self.model not in ("linear", "ridge", "lasso"):
            raise AttributeError(f"coef_ exists only for linear models, not '{self.model}'")
        if getattr(self, "per_type_", "joint") == "separate":
            raise AttributeError("a per-type model (per_type='separate') has one set of weights per type: "
                                 "models_[type].coef_")
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
    names = _model_feature_names(model)
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


def predict_with_std(model: PropensityModel, X, feature_names=None, types=None
                     ) -> tuple[np.ndarray, np.ndarray | None]:
    """(prediction, predictive standard deviation or None) for a feature matrix in the model's
    column order; the standard deviation exists for the Gaussian-process model only.

    ``types`` (the particle type of every row) is required by a model fitted per type and
    ignored by a joint one, so front ends can always pass it.
    """
    if model.model == "gp":
        mean, std = model.predict(X, return_std=True, feature_names=feature_names, types=types)
        return np.asarray(mean, float), np.asarray(std, float)
    return np.asarray(model.predict(X, feature_names=feature_names, types=types), float), None


def predict_frame(model: PropensityModel, frame, compute: str = "auto") -> tuple[np.ndarray, np.ndarray | None]:
    """Prediction (and GP standard deviation or None) for every atom of ``frame``, in frame order.

    The features come from :func:`features_for_model`; the frame's particle types go to a model
    fitted per type.

    Parameters
    ----------
    model : PropensityModel
        Fitted (e.g. :func:`glassdyn.modelfile.load_model`).
    frame : glassdyn.frame.Frame
    compute : {"auto", "always", "never"}
        As in :func:`features_for_model`.

    Returns
    -------
    mean : ndarray (N,)
    std : ndarray (N,) or None

    Examples
    --------
    >>> from glassdyn.modelfile import load_model           # doctest: +SKIP
    >>> from glassdyn.adapters import load_frames           # doctest: +SKIP
    >>> mean, std = predict_frame(load_model("model.gdm"), load_frames("new.dump")[0])  # doctest: +SKIP
    """
    X, names = features_for_model(model, frame, compute)
    return predict_with_std(model, X, names, types=frame.types)
