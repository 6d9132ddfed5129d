"""Per-particle-type models and scores (issue 12). References: brute-force per-type fits with plain
scikit-learn and numpy written here, and per-type Pearson r computed by hand."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.preprocessing import StandardScaler

from glassdyn.errors import InputError
from glassdyn.learn import AUTO_MIN_TYPE_ROWS, AUTO_PER_TYPE, PropensityModel, resolve_per_type
from glassdyn.validation import (configuration_splits, cross_validate, evaluate_by_configuration,
                                 learning_curve_features)

NAMES = ["rho_L1.0", "e_L1.0", "psi6_L1.0", "Theta_L2.0", "z_L1.0"]


def _two_species(n_conf=5, n_per=120, frac_a=0.65, noise=0.1, seed=0):
    """Type 1 moves with x0 and x1, type 2 with x3 (and a different offset): a per-type law."""
    rng = np.random.default_rng(seed)
    N = n_conf * n_per
    X = rng.normal(size=(N, 5)) * [1.0, 2.0, 0.5, 1.5, 1.0] + [0.0, 1.0, 0.0, -1.0, 2.0]
    per_conf = np.where(np.arange(n_per) < frac_a * n_per, 1, 2)
    t = np.tile(rng.permutation(per_conf), n_conf)
    y = np.where(t == 1, 1.5 * X[:, 0] - 0.25 * X[:, 1] + 0.2, -1.2 * X[:, 3] + 2.0) + noise * rng.normal(size=N)
    g = np.repeat(np.arange(n_conf), n_per)
    return X, y, g, t


# ---------------------------------------------------------------------------- fits against plain scikit-learn
def test_separate_equals_one_plain_pipeline_per_type():
    X, y, g, t = _two_species()
    m = PropensityModel("ridge", alpha=0.5, per_type="separate").fit(X, y, g, types=t, feature_names=NAMES)
    assert m.per_type_ == "separate" and sorted(m.models_) == [1, 2] and m.scaler_ is None
    assert m.n_train_by_type_ == {1: int(np.sum(t == 1)), 2: int(np.sum(t == 2))}
    rng = np.random.default_rng(5)
    Xt = rng.normal(size=(300, 5))
    tt = rng.choice([1, 2], size=300)
    got = m.predict(Xt, types=tt, feature_names=NAMES)
    for lab in (1, 2):
        s = StandardScaler().fit(X[t == lab])
        ref = Ridge(alpha=0.5).fit(s.transform(X[t == lab]), y[t == lab])
        np.testing.assert_allclose(got[tt == lab], ref.predict(s.transform(Xt[tt == lab])), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(m.models_[lab].coef_, ref.coef_ / s.scale_, rtol=1e-10)


def test_separate_selects_per_type():
    X, y, g, t = _two_species()
    m = PropensityModel("linear", select="pearson", n_features=1, per_type="separate").fit(
        X, y, g, types=t, feature_names=NAMES)
    # brute force: the largest |Pearson r| on each type's rows
    for lab in (1, 2):
        r = [abs(np.corrcoef(X[t == lab, c], y[t == lab])[0, 1]) for c in range(5)]
        assert m.selected_features_by_type_[lab] == [NAMES[int(np.argmax(r))]]
    assert m.selected_features_by_type_ == {1: ["rho_L1.0"], 2: ["Theta_L2.0"]}
    assert m.selected_features_ == ["rho_L1.0", "Theta_L2.0"]  # union, in order of first appearance
    with pytest.raises(AttributeError, match=r"models_\[type\]\.coef_"):
        m.coef_


def test_feature_mode_equals_one_hot_columns_before_scaling():
    X, y, g, t = _two_species()
    m = PropensityModel("linear", per_type="feature").fit(X, y, g, types=t, feature_names=NAMES)
    assert m.per_type_ == "feature" and m.type_columns_ == ["type=1", "type=2"]
    onehot = np.column_stack([t == 1, t == 2]).astype(float)
    A = np.hstack([X, onehot])
    s = StandardScaler().fit(A)
    ref = LinearRegression().fit(s.transform(A), y)
    rng = np.random.default_rng(2)
    Xt, tt = rng.normal(size=(50, 5)), rng.choice([1, 2], size=50)
    At = np.hstack([Xt, np.column_stack([tt == 1, tt == 2]).astype(float)])
    np.testing.assert_allclose(m.predict(Xt, types=tt), ref.predict(s.transform(At)), rtol=1e-9, atol=1e-9)
    assert m.coef_.shape == (7,)


def test_per_type_beats_joint_on_a_per_type_law():
    X, y, g, t = _two_species(noise=0.05)
    joint = cross_validate(PropensityModel("linear"), X, y, g, types=t)
    sep = cross_validate(PropensityModel("linear", per_type="separate"), X, y, g, types=t)
    js, ss = joint.summary_by_type(), sep.summary_by_type()
    assert ss[1]["pearson"]["mean"] > 0.99 and ss[2]["pearson"]["mean"] > 0.99
    assert js[2]["pearson"]["mean"] < 0.95 and sep.summary()["r2"]["mean"] > joint.summary()["r2"]["mean"] + 0.2
    assert {f["per_type"] for f in sep.folds} == {"separate"} and {f["per_type"] for f in joint.folds} == {"joint"}


def test_gp_separate_std_and_mlp_feature():
    X, y, g, t = _two_species(n_conf=3, n_per=100)
    gp = PropensityModel("gp", gp_max_samples=60, per_type="separate").fit(X, y, g, types=t)
    mean, std = gp.predict(X[:40], return_std=True, types=t[:40])
    assert np.all(std > 0) and np.all(np.isfinite(mean))
    for lab in (1, 2):
        sub_mean, sub_std = gp.models_[lab].predict(X[:40][t[:40] == lab], return_std=True)
        np.testing.assert_array_equal(mean[t[:40] == lab], sub_mean)
        np.testing.assert_array_equal(std[t[:40] == lab], sub_std)
    mlp = PropensityModel("mlp", hidden_layer_sizes=(8,), max_iter=30, per_type="feature").fit(X, y, g, types=t)
    assert mlp.estimator_.n_features_in_ == 7 and mlp.n_iter_ >= 1


# ---------------------------------------------------------------------------- auto and errors
def test_auto_threshold():
    assert AUTO_PER_TYPE in ("separate", "feature")
    enough = np.repeat([1, 2], [AUTO_MIN_TYPE_ROWS + 100, AUTO_MIN_TYPE_ROWS])
    few = np.repeat([1, 2], [AUTO_MIN_TYPE_ROWS + 100, AUTO_MIN_TYPE_ROWS - 1])
    assert resolve_per_type("auto", enough) == AUTO_PER_TYPE
    assert resolve_per_type("auto", few) == "joint"
    assert resolve_per_type("auto", np.ones(5000, int)) == "joint"  # one type
    assert resolve_per_type("auto", None) == "joint"
    assert resolve_per_type("auto", few, min_type_rows=10) == AUTO_PER_TYPE
    X, y, g, t = _two_species(n_conf=4, n_per=100)  # 260 / 140 rows per type
    assert PropensityModel(per_type="auto").fit(X, y, g, types=t).per_type_ == "joint"
    m = PropensityModel(per_type="auto", min_type_rows=100).fit(X, y, g, types=t)
    assert m.per_type_ == AUTO_PER_TYPE
    # float types from a CSV column are integers
    m2 = PropensityModel(per_type="separate").fit(X, y, g, types=t.astype(float))
    assert sorted(m2.models_) == [1, 2] and isinstance(next(iter(m2.models_)), int)


def test_per_type_errors():
    X, y, g, t = _two_species(n_conf=3, n_per=50)
    with pytest.raises(InputError, match=r"per_type='separate' needs the particle type of every row"):
        PropensityModel(per_type="separate").fit(X, y, g)
    with pytest.raises(InputError, match="unknown per_type 'bytype'"):
        PropensityModel(per_type="bytype").fit(X, y, g, types=t)
    with pytest.raises(InputError, match="149 particle types for 150 feature rows"):
        PropensityModel(per_type="feature").fit(X, y, g, types=t[:-1])
    m = PropensityModel(per_type="separate").fit(X, y, g, types=t)
    with pytest.raises(InputError, match=r"fitted per particle type \(per_type='separate', types 1, 2\): pass types"):
        m.predict(X)
    with pytest.raises(InputError, match=r"particle types 3 were not seen in training \(the model knows types 1, 2\)"):
        m.predict(X[:3], types=[1, 2, 3])
    # a joint model ignores types (front ends can always pass them)
    j = PropensityModel().fit(X, y, g)
    np.testing.assert_array_equal(j.predict(X, types=t), j.predict(X))


# ---------------------------------------------------------------------------- per-type scores
def test_evaluate_by_configuration_per_type_by_hand():
    rng = np.random.default_rng(4)
    g = np.repeat([3, 8, 9], 40)
    t = np.tile(np.repeat([1, 2], [25, 15]), 3)
    yt = rng.normal(size=120)
    yp = yt + np.where(t == 1, 0.3, 1.5) * rng.normal(size=120)
    sc = evaluate_by_configuration(yt, yp, g, types=t)
    assert sorted(sc.by_type) == [1, 2]
    for lab in (1, 2):
        s = sc.by_type[lab]
        assert s.groups.tolist() == [3, 8, 9]
        for k, c in enumerate([3, 8, 9]):
            m = (g == c) & (t == lab)
            a, b = yt[m], yp[m]
            # hand-computed Pearson r: covariance over the product of standard deviations
            r = np.sum((a - a.mean()) * (b - b.mean())) / np.sqrt(np.sum((a - a.mean()) ** 2) * np.sum((b - b.mean()) ** 2))
            assert s.pearson[k] == pytest.approx(r, rel=1e-12)
            assert s.spearman[k] == pytest.approx(stats.spearmanr(a, b)[0])
            assert s.mae[k] == pytest.approx(np.mean(np.abs(a - b)))
            assert s.r2[k] == pytest.approx(1 - np.sum((a - b) ** 2) / np.sum((a - a.mean()) ** 2))
    summ = sc.summary_by_type()
    assert summ[2]["pearson"]["mean"] == pytest.approx(np.mean(sc.by_type[2].pearson))
    assert summ[2]["pearson"]["std"] == pytest.approx(np.std(sc.by_type[2].pearson, ddof=1))
    assert summ[1]["pearson"]["mean"] > summ[2]["pearson"]["mean"]  # type 2 predicted with more noise
    d = sc.to_dict()
    assert d["by_type"]["2"]["pearson"] == pytest.approx(list(sc.by_type[2].pearson))
    # the joint scores are unchanged by passing types
    plain = evaluate_by_configuration(yt, yp, g)
    np.testing.assert_array_equal(plain.pearson, sc.pearson)
    assert plain.by_type is None and plain.summary_by_type() == {}


def test_cross_validate_per_type_scores_against_brute_force_folds():
    X, y, g, t = _two_species(n_conf=4, n_per=90, noise=0.5, seed=1)
    res = cross_validate(PropensityModel("ridge", per_type="separate"), X, y, g, types=t, cv="loco")
    pred = np.empty(len(y))
    for tr, te in configuration_splits(g, "loco"):  # plain scikit-learn, type by type
        for lab in (1, 2):
            a, b = tr[t[tr] == lab], te[t[te] == lab]
            s = StandardScaler().fit(X[a])
            pred[b] = Ridge().fit(s.transform(X[a]), y[a]).predict(s.transform(X[b]))
    np.testing.assert_allclose(res.y_pred, pred, rtol=1e-10)
    for lab in (1, 2):
        for k, c in enumerate(range(4)):
            m = (g == c) & (t == lab)
            assert res.scores.by_type[lab].pearson[k] == pytest.approx(np.corrcoef(y[m], pred[m])[0, 1], rel=1e-10)
    d = res.to_dict()
    assert set(d["scores"]["by_type"]) == {"1", "2"} and d["folds"][0]["per_type"] == "separate"


def test_learning_curve_features_per_type():
    X, y, g, t = _two_species(n_conf=4, n_per=100, noise=0.2, seed=2)
    sep = learning_curve_features(PropensityModel("linear", select="pearson", per_type="separate"), X, y, g,
                                  [1, 2, 5], types=t)
    joint = learning_curve_features(PropensityModel("linear", select="pearson"), X, y, g, [1, 2, 5], types=t)
    assert sep["per_type"] == ["separate"] * 4 and joint["per_type"] == ["joint"] * 4
    # every fold picks each type's own driver first: x0 for type 1, Theta (x3) for type 2
    assert all(o[1][0] == "x0" and o[2][0] == "x3" for o in sep["orders"])
    assert sep["supports"][0][0] == {1: ["x0"], 2: ["x3"]}
    assert sep["by_type"][2]["mean"][0] > 0.95 > joint["by_type"][2]["mean"][0]
    # with every feature, the curve is the per-type cross-validation
    cv = cross_validate(PropensityModel("linear", per_type="separate"), X, y, g, types=t)
    assert sep["mean"][2] == pytest.approx(cv.summary()["pearson"]["mean"], rel=1e-10)
    for lab in (1, 2):
        np.testing.assert_allclose(sep["by_type"][lab]["per_configuration"][2], cv.scores.by_type[lab].pearson,
                                   rtol=1e-10)
    feat = learning_curve_features(PropensityModel("linear", select="pearson", per_type="feature"), X, y, g,
                                   [5], types=t)
    cvf = cross_validate(PropensityModel("linear", per_type="feature"), X, y, g, types=t)
    assert feat["mean"][0] == pytest.approx(cvf.summary()["pearson"]["mean"], rel=1e-10)
