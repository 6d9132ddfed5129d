"""scikit-learn conventions of glassdyn.learn (issue 14): scikit-learn's own estimator checks, feature
names, width checks, and the routing of configuration labels (``groups``) and particle types through
scikit-learn's cross-validation with metadata routing.

References: scikit-learn's ``parametrize_with_checks``; for the routing, glassdyn's own
configuration-wise cross-validation and plain per-fold fits written here."""
from __future__ import annotations

import numpy as np
import pytest
import sklearn
from sklearn.metrics import make_scorer, r2_score
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut, cross_val_predict, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from glassdyn.errors import InputError
from glassdyn.learn import FeatureSelector, PropensityModel
from glassdyn.validation import cross_validate

# ---------------------------------------------------------------------------- scikit-learn's checks
_NO_N_ITER = ("max_iter is the MLP's epoch limit; linear regression and Ridge are solved directly and the GP "
              "has no iterations, so they have no n_iter_ (like scikit-learn's own LinearRegression and Ridge)")
_NAN_IN_DROPPED = ("predict refuses NaN only in the columns the selection kept: a descriptor that is NaN for some "
                   "particles (psi6 or Theta without neighbours) but was not selected does not enter the prediction")

ESTIMATORS = [
    PropensityModel(),                                               # ridge, all features
    PropensityModel("linear"),
    PropensityModel("lasso"),
    PropensityModel("mlp", hidden_layer_sizes=(16,), max_iter=100),
    PropensityModel(select="pearson", n_features=1),
    PropensityModel(per_type="auto"),                                # no types given: fits jointly
    FeatureSelector(),
    FeatureSelector("pearson", 1),
    FeatureSelector("lasso", 1),
]


def expected_failed_checks(estimator):
    """Every check a glassdyn estimator is known to fail, with the reason."""
    if not isinstance(estimator, PropensityModel):
        return {}
    out = {}
    if estimator.model in ("linear", "ridge", "gp"):
        out["check_non_transformer_estimators_n_iter"] = _NO_N_ITER
    if estimator.select is not None:
        out["check_estimators_nan_inf"] = _NAN_IN_DROPPED
    return out


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_expected_failures_are_still_failures():
    """The list above is not stale: each listed check really fails (and nothing else is listed)."""
    from sklearn.utils.estimator_checks import check_estimator
    for est in (PropensityModel(), PropensityModel(select="pearson", n_features=1)):
        res = check_estimator(est, on_fail=None, on_skip=None)
        failed = {r["check_name"] for r in res if r["status"] == "failed"}
        assert failed == set(expected_failed_checks(est)), (est, failed)


# ---------------------------------------------------------------------------- names and widths
def test_selector_width_and_names_from_dataframe():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5))
    y = 2 * X[:, 3] - X[:, 0] + 0.1 * rng.normal(size=120)
    sel = FeatureSelector("pearson", 2).fit(X, y)
    # issue 14: 7 columns after fitting on 5 used to return 2 of them silently
    with pytest.raises(ValueError, match="X has 7 features, but FeatureSelector is expecting 5 features"):
        sel.transform(np.hstack([X, X[:, :2]]))
    names = ["rho_L1.0", "e_L1.0", "psi6_L1.0", "Theta_L2.0", "z_L1.0"]
    df = pd.DataFrame(X, columns=names)
    sel = FeatureSelector("pearson", 2).fit(df, y)
    assert list(sel.feature_names_in_) == names and sel.support_.tolist() == [3, 0]
    assert sel.get_feature_names_out().tolist() == ["rho_L1.0", "Theta_L2.0"]  # column order, like transform
    np.testing.assert_array_equal(sel.transform(df), X[:, [0, 3]])
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        sel.transform(df[names[::-1]])
    # the names of an unnamed matrix come from feature_names
    assert FeatureSelector("pearson", 1, feature_names=names).fit(X, y).get_feature_names_out().tolist() == [
        "Theta_L2.0"]
    # in a Pipeline, the selector's output names feed the next step
    pipe = make_pipeline(FeatureSelector("pearson", 2), sklearn.preprocessing.StandardScaler()).fit(df, y)
    assert pipe.get_feature_names_out().tolist() == ["rho_L1.0", "Theta_L2.0"]


def test_model_names_and_width_messages():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(100, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.3
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    m = PropensityModel("linear").fit(df, y)
    assert list(m.feature_names_in_) == ["a", "b", "c"] and m.n_features_in_ == 3
    np.testing.assert_allclose(m.predict(df), X @ [1.0, -2.0, 0.5] + 0.3, atol=1e-10)
    # glassdyn's messages (an InputError is a ValueError), with the remedy
    with pytest.raises(InputError, match=r"another order.*reorder=True"):
        m.predict(df[["b", "a", "c"]])
    np.testing.assert_allclose(m.predict(df[["b", "a", "c"]], reorder=True), m.predict(df))
    with pytest.raises(InputError, match="X has 2 features, but PropensityModel is expecting 3 features.*needs 3 "
                                         r"\(a, b, c\)"):
        m.predict(X[:, :2])
    with pytest.raises(ValueError, match="Reshape your data"):
        m.predict(X[:, 0])
    # an unnamed matrix: no feature_names_in_ (scikit-learn's rule), columns called x0, x1, ... in messages
    u = PropensityModel("linear").fit(X, y)
    assert not hasattr(u, "feature_names_in_")
    with pytest.raises(InputError, match=r"needs 3 \(x0, x1, x2\)"):
        u.predict(X[:, :2])


# ---------------------------------------------------------------------------- routing of groups
def _configurations(n_conf=5, n_per=70, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_conf * n_per, 5))
    y = np.exp(X[:, 2]) + 0.8 * X[:, 4] ** 2 + 0.2 * rng.normal(size=len(X))
    g = np.repeat(np.arange(n_conf) * 10, n_per)  # labels 0, 10, 20, ...
    return X, y, g


def _pearson(a, b):
    return np.corrcoef(a, b)[0, 1]


def test_groups_routed_to_fit_give_glassdyn_held_out_scores():
    X, y, g = _configurations()
    est = PropensityModel("ridge", select="imbalance", n_features=2)
    ours = cross_validate(est, X, y, g, cv="groupkfold", n_splits=5)
    with sklearn.config_context(enable_metadata_routing=True):
        routed = sklearn.base.clone(est).set_fit_request(groups=True)
        cv = GroupKFold(n_splits=5)
        scores = cross_val_score(routed, X, y, cv=cv, params={"groups": g}, scoring=make_scorer(_pearson),
                                 error_score="raise")
        pred = cross_val_predict(routed, X, y, cv=cv, params={"groups": g})
    # one held-out configuration per fold: the fold scores are glassdyn's per-configuration scores
    test_groups = [np.unique(g[te]).item() for _, te in cv.split(X, y, groups=g)]
    by_group = dict(zip(ours.scores.groups.tolist(), ours.scores.pearson))
    np.testing.assert_allclose(scores, [by_group[k] for k in test_groups], rtol=1e-12)
    np.testing.assert_array_equal(pred, ours.y_pred)
    # and each fold's selection saw its training configurations, grouped: the picks of a direct fit
    direct = PropensityModel("ridge", select="imbalance", n_features=2).fit(X[g != 0], y[g != 0], g[g != 0])
    fold0 = next(f for f in ours.folds if f["test_groups"] == [0])
    assert fold0["selected_features"] == direct.selected_features_


def test_groups_missing_is_a_clear_error():
    X, y, g = _configurations()
    est = PropensityModel("ridge", select="imbalance", n_features=2)
    # scikit-learn without routing passes the groups to the splitter only: refused, with the recipe
    with pytest.raises(InputError, match=r"needs groups.*set_fit_request\(groups=True\)"):
        cross_val_score(est, X, y, groups=g, cv=GroupKFold(5), error_score="raise")
    with pytest.raises(InputError, match="needs groups"):
        FeatureSelector("imbalance", 2).fit(X, y)
    # routing enabled but the request not set: scikit-learn's own error names set_fit_request
    with sklearn.config_context(enable_metadata_routing=True):
        with pytest.raises(sklearn.exceptions.UnsetMetadataPassedError, match="set_fit_request"):
            cross_val_score(est, X, y, cv=GroupKFold(5), params={"groups": g})


def test_types_routed_to_fit_and_score_per_type_model():
    """A per-type model in cross_val_score: types routed to fit and to score (R^2)."""
    X, y, g = _configurations(n_conf=4, n_per=90, seed=3)
    types = np.tile(np.repeat([1, 2], [60, 30]), 4)
    y = np.where(types == 1, y, -3 * X[:, 0])
    est = PropensityModel("linear", per_type="separate")
    with sklearn.config_context(enable_metadata_routing=True):
        routed = sklearn.base.clone(est).set_fit_request(groups=True, types=True).set_score_request(types=True)
        scores = cross_val_score(routed, X, y, cv=LeaveOneGroupOut(), params={"groups": g, "types": types},
                                 error_score="raise")
    expect = []
    for tr, te in LeaveOneGroupOut().split(X, y, groups=g):
        pred = np.empty(len(te))
        for t in (1, 2):  # independent reference: plain least squares per type
            a, b = tr[types[tr] == t], types[te] == t
            A = np.column_stack([X[a], np.ones(len(a))])
            w = np.linalg.lstsq(A, y[a], rcond=None)[0]
            pred[b] = np.column_stack([X[te][b], np.ones(b.sum())]) @ w
        expect.append(r2_score(y[te], pred))
    np.testing.assert_allclose(scores, expect, rtol=1e-9)
