"""Tests of glassdyn.learn: configuration-wise learning, selection inside folds, subsampling,
classification. References are analytic laws, brute-force loops written here, and scipy."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from glassdyn import Box, Frame
from glassdyn.errors import InputError
from glassdyn.classification import classify_configurations, configuration_features
from glassdyn.learn import FeatureSelector, PropensityModel, check_feature_names, stack_tables
from glassdyn.validation import (configuration_splits, cross_validate, evaluate_by_configuration,
                                 learning_curve_features, learning_curve_size, subsample_min_distance)


def _linear_data(n_conf=8, n_per=150, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    w = np.array([1.5, -2.0, 0.0, 0.7, 3.0])
    X = rng.normal(size=(n_conf * n_per, 5)) * [1.0, 2.0, 0.5, 3.0, 0.2] + [0.0, 5.0, 1.0, -2.0, 0.3]
    y = X @ w + 0.4 + noise * rng.normal(size=len(X))
    g = np.repeat(np.arange(n_conf), n_per)
    return X, y, g, w


# ---------------------------------------------------------------------------- linear law
@pytest.mark.parametrize("model", ["linear", "ridge"])
def test_linear_model_recovers_weights(model):
    X, y, g, w = _linear_data(noise=0.01)
    names = [f"f{i}" for i in range(5)]
    m = PropensityModel(model, alpha=1e-6 if model == "ridge" else None).fit(X, y, g, feature_names=names)
    np.testing.assert_allclose(m.coef_, w, atol=5e-3)
    assert abs(m.intercept_ - 0.4) < 0.02
    res = cross_validate(PropensityModel(model), X, y, g, feature_names=names)
    s = res.summary()
    assert s["pearson"]["mean"] > 0.9999 and s["pearson"]["n"] == 8
    # independent check of the per-configuration Pearson with scipy
    for lab in range(8):
        m_ = g == lab
        assert res.scores.pearson[lab] == pytest.approx(stats.pearsonr(y[m_], res.y_pred[m_])[0])


def test_evaluate_by_configuration_against_direct_formulas():
    rng = np.random.default_rng(3)
    yt = rng.normal(size=300)
    yp = yt + rng.normal(size=300)
    g = np.repeat([10, 20, 30], 100)
    sc = evaluate_by_configuration(yt, yp, g)
    assert list(sc.groups) == [10, 20, 30]
    for k, lab in enumerate([10, 20, 30]):
        a, b = yt[g == lab], yp[g == lab]
        assert sc.pearson[k] == pytest.approx(np.corrcoef(a, b)[0, 1])
        assert sc.spearman[k] == pytest.approx(stats.spearmanr(a, b)[0])
        assert sc.mae[k] == pytest.approx(np.mean(np.abs(a - b)))
        assert sc.r2[k] == pytest.approx(1 - np.sum((a - b) ** 2) / np.sum((a - a.mean()) ** 2))
    summ = sc.summary()
    assert summ["pearson"]["mean"] == pytest.approx(np.mean(sc.pearson))
    assert summ["pearson"]["std"] == pytest.approx(np.std(sc.pearson, ddof=1))


# ---------------------------------------------------------------------------- splits
@pytest.mark.parametrize("cv,n_splits", [("loco", None), ("groupkfold", 3)])
def test_split_never_shares_a_configuration(cv, n_splits):
    rng = np.random.default_rng(1)
    g = rng.permutation(np.repeat([3, 7, 11, 12, 40, 41, 50], [5, 9, 2, 30, 7, 1, 12]))
    splits = configuration_splits(g, cv, n_splits or 5)
    assert len(splits) == (7 if cv == "loco" else 3)
    seen_test = []
    for tr, te in splits:
        assert set(g[tr]).isdisjoint(set(g[te]))
        assert len(np.intersect1d(tr, te)) == 0 and len(tr) + len(te) == len(g)
        seen_test.extend(te.tolist())
    assert sorted(seen_test) == list(range(len(g)))  # every row tested exactly once


def test_cross_validate_folds_hold_out_whole_configurations():
    X, y, g, _ = _linear_data(n_conf=6, noise=0.1)
    res = cross_validate(PropensityModel("ridge"), X, y, g, cv="groupkfold", n_splits=3)
    tested = sorted(sum((f["test_groups"] for f in res.folds), []))
    assert tested == list(range(6))
    for f in res.folds:
        assert f["n_train"] == int(np.sum(~np.isin(g, f["test_groups"])))


def test_too_few_configurations_for_split():
    X, y, g, _ = _linear_data(n_conf=3)
    with pytest.raises(InputError, match="at least 5 configurations, got 3"):
        cross_validate(PropensityModel("ridge"), X, y, g, cv="groupkfold", n_splits=5)
    with pytest.raises(InputError, match="at least 2 configurations, got 1"):
        configuration_splits(np.zeros(10), "loco")


def test_nan_targets_are_refused_with_location():
    X, y, g, _ = _linear_data(n_conf=4, n_per=20)
    y[[25, 27]] = np.nan
    with pytest.raises(InputError, match=r"2 targets are NaN.*configuration 1.*rows 25, 27"):
        PropensityModel("ridge").fit(X, y, g)
    with pytest.raises(InputError, match="NaN"):
        cross_validate(PropensityModel("ridge"), X, y, g)


# ---------------------------------------------------------------------------- leakage
def test_selection_inside_folds_avoids_the_leak():
    """Pure-noise features: picking the best-correlated features on all data and then
    cross-validating is optimistic; selecting inside each training fold is not."""
    rng = np.random.default_rng(7)
    n_conf, n_per, F, k = 20, 15, 400, 5
    X = rng.normal(size=(n_conf * n_per, F))
    y = rng.normal(size=n_conf * n_per)
    g = np.repeat(np.arange(n_conf), n_per)
    names = [f"noise{i}" for i in range(F)]

    # leaky protocol: select on all data, then cross-validate on those columns
    leaky_sel = FeatureSelector("pearson", k, names).fit(X, y)
    leaky = cross_validate(PropensityModel("linear"), X[:, leaky_sel.support_], y, g, cv="groupkfold", n_splits=5)
    # honest protocol: the selector is part of the model, refitted in each training fold
    honest = cross_validate(PropensityModel("linear", select="pearson", n_features=k), X, y, g,
                            cv="groupkfold", n_splits=5, feature_names=names)
    leaky_r = leaky.summary()["pearson"]["mean"]
    honest_r = honest.summary()["pearson"]["mean"]
    # the pooled out-of-fold correlation tells the same story
    assert leaky_r > 0.25, leaky_r
    assert abs(honest_r) < 0.12, honest_r
    assert np.corrcoef(leaky.y_pred, y)[0, 1] > 0.25
    # folds chose different feature sets, none equal to the all-data choice
    all_data = set(np.asarray(names)[leaky_sel.support_])
    fold_sets = [set(f["selected_features"]) for f in honest.folds]
    assert all(s != all_data for s in fold_sets)
    # and each fold's choice is what a brute-force |r| ranking on its training rows gives
    for (tr, _), s in zip(configuration_splits(g, "groupkfold", 5), fold_sets):
        r = [abs(np.corrcoef(X[tr, c], y[tr])[0, 1]) for c in range(F)]
        assert s == {names[c] for c in np.argsort(r)[::-1][:k]}


def test_lasso_selector_matches_exactly_d_nonzero_lasso():
    from sklearn.linear_model import Lasso
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 8))
    y = 3 * X[:, 2] - 2 * X[:, 5] + 1.0 * X[:, 0] + 0.5 * rng.normal(size=400)
    sel = FeatureSelector("lasso", 3).fit(X, y)
    assert set(sel.support_) == {0, 2, 5}
    assert list(sel.support_[:2]) == [2, 5]  # largest effects enter the path first
    # independent: bisection on alpha for exactly 3 non-zero Lasso weights
    Xs = (X - X.mean(0)) / X.std(0)
    lo, hi = 1e-4, 10.0
    for _ in range(60):
        mid = np.sqrt(lo * hi)
        nz = np.flatnonzero(Lasso(alpha=mid).fit(Xs, y).coef_)
        if len(nz) > 3:
            lo = mid
        elif len(nz) < 3:
            hi = mid
        else:
            break
    assert set(nz) == set(sel.support_)


def test_custom_selector_callable_and_names():
    X, y, g, _ = _linear_data()
    names = ["a", "b", "c", "d", "e"]

    def pick_last_two(X, y, groups, names, k, seed):
        assert groups is not None and len(groups) == len(y)
        return ["e", "d", "a"]

    m = PropensityModel("linear", select=pick_last_two, n_features=2).fit(X, y, g, feature_names=names)
    assert m.selected_features_ == ["e", "d"]
    assert m.coef_.shape == (2,)


# ---------------------------------------------------------------------------- predict checks
def test_predict_refuses_missing_or_reordered_features():
    X, y, g, w = _linear_data()
    names = ["a", "b", "c", "d", "e"]
    m = PropensityModel("linear").fit(X, y, g, feature_names=names)
    with pytest.raises(InputError, match=r"missing c"):
        m.predict(X[:, [0, 1, 3, 4]], feature_names=["a", "b", "d", "e"])
    perm = [1, 0, 2, 3, 4]
    with pytest.raises(InputError, match=r"another order.*column 0 is 'b'.*expects 'a'.*reorder=True"):
        m.predict(X[:, perm], feature_names=[names[i] for i in perm])
    with pytest.raises(InputError, match="extra columns zz"):
        m.predict(np.column_stack([X, X[:, 0]]), feature_names=names + ["zz"])
    with pytest.raises(InputError, match="has 4 columns but the model needs 5"):
        m.predict(X[:, :4])
    # with reorder=True the columns are picked by name and the result is the true law
    p = m.predict(X[:, perm], feature_names=[names[i] for i in perm], reorder=True)
    np.testing.assert_allclose(p, X @ w + 0.4, atol=1e-9)
    # a mapping of named columns (like FeatureTable.to_dict) works
    table = {n: X[:, k] for k, n in enumerate(names)}
    np.testing.assert_allclose(m.predict(table), p)


def test_check_feature_names_duplicates_and_unnamed():
    assert list(check_feature_names(["a", "b"], None, n_columns=2)) == [0, 1]
    with pytest.raises(InputError, match="duplicated columns: a"):
        check_feature_names(["a", "b"], ["a", "a", "b"])


def test_stack_tables_checks_names():
    t1 = (["a", "b"], np.ones((3, 2)))
    t2 = (["a", "c"], np.ones((4, 2)))
    with pytest.raises(InputError, match="missing b"):
        stack_tables([t1, t2])
    X, y, g, names = stack_tables([t1, (["b", "a"], np.array([[1.0, 2.0]]))], [np.zeros(3), np.ones(1)])
    assert names == ["a", "b"] and X[-1].tolist() == [2.0, 1.0] and g.tolist() == [0, 0, 0, 1]


# ---------------------------------------------------------------------------- GP
def test_gp_std_grows_away_from_training_data():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(300, 1))
    y = np.sin(3 * x[:, 0]) + 0.05 * rng.normal(size=300)
    m = PropensityModel("gp", gp_max_samples=200, random_state=1).fit(x, y, np.repeat(np.arange(3), 100))
    assert m.n_train_ == 200
    probe = np.array([[0.0], [1.5], [2.5], [4.0], [8.0]])
    mean, std = m.predict(probe, return_std=True)
    assert np.all(np.diff(std) > 0), std
    assert std[0] < 0.2 and std[-1] > 3 * std[0]
    assert abs(mean[0] - 0.0) < 0.15  # sin(0)
    with pytest.raises(InputError, match="only the Gaussian-process"):
        PropensityModel("ridge").fit(x, y).predict(probe, return_std=True)


# ---------------------------------------------------------------------------- learning curves
def test_learning_curves_behave():
    rng = np.random.default_rng(5)
    n_conf, n_per = 6, 120
    X = rng.normal(size=(n_conf * n_per, 12))
    y = 2 * X[:, 3] + 1.5 * X[:, 7] + X[:, 1] + 0.3 * rng.normal(size=len(X))
    g = np.repeat(np.arange(n_conf), n_per)
    base = PropensityModel("linear", select="pearson", n_features=1)
    lc = learning_curve_features(base, X, y, g, [1, 2, 3, 6])
    assert lc["n_features"] == [1, 2, 3, 6]
    assert lc["mean"][0] < lc["mean"][1] < lc["mean"][2] and lc["mean"][2] > 0.95
    # with the three informative features in, more noise columns can't help much
    assert lc["mean"][3] <= lc["mean"][2] + 0.01
    ls = learning_curve_size(PropensityModel("linear"), X, y, g, [6 / 600, 1.0], seed=0)
    assert ls["train_sizes"][0] < ls["train_sizes"][1]
    assert ls["mean"][1] > ls["mean"][0]
    with pytest.raises(InputError, match="selection method"):
        learning_curve_features(PropensityModel("linear"), X, y, g, [1, 2])


# ---------------------------------------------------------------------------- subsampling
def _brute_sequential(pos, L, d, order):
    kept = []
    for k in order:  # reference: the plain sequential rule
        ok = True
        for j in kept:
            v = pos[k] - pos[j]
            v -= L * np.round(v / L)
            if np.hypot(*v) < d:
                ok = False
                break
        if ok:
            kept.append(k)
    return sorted(kept)


def test_subsample_min_distance_matches_sequential_rule():
    rng = np.random.default_rng(4)
    L = np.array([12.0, 9.0])
    pos = rng.uniform(0, 1, size=(400, 2)) * L
    box = Box.orthorhombic(L)
    d = 1.7
    idx = subsample_min_distance(pos, d, box=box, seed=11)
    order = np.argsort(np.random.default_rng(11).permutation(400))  # priority -> order of visits
    assert idx.tolist() == _brute_sequential(pos, L, d, order)
    # every pair (periodic) is at least d apart
    v = pos[idx][:, None] - pos[idx][None]
    v -= L * np.round(v / L)
    r = np.hypot(v[..., 0], v[..., 1]) + np.eye(len(idx)) * 1e9
    assert r.min() >= d
    # maximal: every rejected particle has a kept one within d
    rej = np.setdiff1d(np.arange(400), idx)
    v = pos[rej][:, None] - pos[idx][None]
    v -= L * np.round(v / L)
    assert np.all(np.hypot(v[..., 0], v[..., 1]).min(axis=1) < d)
    # frame input, candidate mask
    fr = Frame(pos, np.where(np.arange(400) < 300, 1, 2), box)
    idx2 = subsample_min_distance(fr, d, seed=11, candidates=fr.types == 2)
    assert np.all(idx2 >= 300) and len(idx2) > 10
    with pytest.raises(InputError, match="box"):
        subsample_min_distance(pos, d)


# ---------------------------------------------------------------------------- classification
def test_configuration_features_are_means_and_stds():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(50, 2))
    f = configuration_features((v), ["a", "b"], extra={"n_components": 3})
    assert list(f) == ["a_mean", "b_mean", "a_std", "b_std", "n_components"]
    assert f["a_mean"] == pytest.approx(v[:, 0].mean()) and f["b_std"] == pytest.approx(v[:, 1].std())


def test_classification_nested_cv_separable_and_random():
    rng = np.random.default_rng(0)
    n = 25
    labels = np.array(["liquid"] * n + ["glass"] * n)
    feats = [{"e_mean": rng.normal(-2.0 if lab == "glass" else -1.6, 0.1), "noise": rng.normal()}
             for lab in labels]
    res = classify_configurations(feats, labels, outer_splits=5, inner_splits=3, seed=0)
    assert res.classes == ["glass", "liquid"]
    assert res.auc_mean > 0.98 and len(res.auc) == 5 and len(res.best_params) == 5
    assert np.all(np.isfinite(res.scores))
    # independent: AUC of the out-of-fold scores via the Mann-Whitney statistic
    pos, neg = res.scores[labels == "liquid"], res.scores[labels == "glass"]
    mw = stats.mannwhitneyu(pos, neg).statistic / (len(pos) * len(neg))
    assert mw > 0.95
    # pure noise: AUC near 0.5
    noise = rng.normal(size=(2 * n, 5))
    res2 = classify_configurations(noise, labels, seed=0)
    assert 0.25 < res2.auc_mean < 0.75


def test_classification_bad_input():
    with pytest.raises(InputError, match="exactly two classes"):
        classify_configurations(np.zeros((9, 2)), [0, 1, 2] * 3)
    with pytest.raises(InputError, match="at least 5 configurations"):
        classify_configurations(np.random.default_rng(0).normal(size=(8, 2)), [0] * 4 + [1] * 4)
    with pytest.raises(InputError, match="configuration 1 has different features"):
        classify_configurations([{"a": 1.0}, {"b": 2.0}], [0, 1])


def test_imbalance_selector_finds_nonlinear_feature():
    """The information-imbalance selector (glassdyn.selection) sees a quadratic dependence that
    a |Pearson r| ranking misses."""
    pytest.importorskip("glassdyn.selection")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1500, 8))
    y = np.exp(X[:, 3]) + 0.8 * X[:, 6] ** 2 + 0.1 * rng.normal(size=1500)
    g = np.repeat(np.arange(3), 500)
    imb = FeatureSelector("imbalance", 2).fit(X, y, g)
    assert set(imb.support_) == {3, 6}
    pear = FeatureSelector("pearson", 2).fit(X, y, g)
    assert 6 not in pear.support_[:1]
    # used inside a model, in folds
    res = cross_validate(PropensityModel("mlp", select="imbalance", n_features=2, max_iter=200), X, y, g)
    assert all(set(f["selected_features"]) == {"x3", "x6"} for f in res.folds)
