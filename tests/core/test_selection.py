"""Greedy information-imbalance selection, baselines and the ``glassdyn select`` command."""
import csv
import json
import os

import numpy as np
import pytest

from glassdyn.errors import InputError
from glassdyn.imbalance import imbalance, imbalance_plane
from glassdyn.selection import (RANDOM_CONTROL, greedy_supervised, greedy_unsupervised, lasso_selection,
                                prepare_features, random_orders)


def _z(x):
    return (x - x.mean(0)) / x.std(0)


def _data(seed=0, n=400, C=3, F=8):
    g = np.random.default_rng(seed)
    Xs = [g.normal(size=(n, F)) for _ in range(C)]
    ps = [np.tanh(x[:, 0]) * 2 + x[:, 3] ** 2 + 0.05 * g.normal(size=n) for x in Xs]
    return Xs, ps


def test_target_of_features_0_and_3_picks_them_first():
    Xs, ps = _data()
    r = greedy_supervised(Xs, ps, n_features=3)
    assert set(r.indices[:2]) == {0, 3}
    assert r.curve[1] < 0.25 < r.curve[0]          # the pair predicts p much better than one feature
    assert r.order[:2] == [f"f{k}" for k in r.indices[:2]]


def test_greedy_curves_equal_direct_imbalance_of_the_subsets():
    Xs, ps = _data(seed=1, F=6)
    r = greedy_supervised(Xs, ps, n_features=4, random_control=True, seed=3)
    Xz, pz, names = prepare_features(Xs, None, None, ps, random_control=True, seed=3)
    assert names[-1] == RANDOM_CONTROL
    for d, S in enumerate(r.subsets):
        per = [imbalance(x[:, S], p) for x, p in zip(Xz, pz)]
        np.testing.assert_allclose(r.curve_per_config[:, d], per, atol=1e-12)
        back = [imbalance(p, x[:, S]) for x, p in zip(Xz, pz)]
        np.testing.assert_allclose(r.curves["target_to_subset"][:, d], back, atol=1e-12)
    # every candidate of step 2 was evaluated exactly
    S0 = r.indices[0]
    for f in range(len(names)):
        if f != S0:
            want = np.mean([imbalance(x[:, [S0, f]], p) for x, p in zip(Xz, pz)])
            assert r.candidates[1][f] == pytest.approx(want, abs=1e-12)


def test_random_control_not_picked_early():
    g = np.random.default_rng(4)
    Xs = [g.normal(size=(500, 6)) for _ in range(3)]
    ps = [x[:, 0] + 0.8 * x[:, 1] + 0.6 * x[:, 2] + 0.4 * x[:, 3] + 0.1 * g.normal(size=500) for x in Xs]
    r = greedy_supervised(Xs, ps, n_features=7, random_control=True)
    assert RANDOM_CONTROL in r.order
    assert r.order.index(RANDOM_CONTROL) >= 4
    assert set(r.indices[:4]) == {0, 1, 2, 3}


@pytest.mark.parametrize("sparse_per_row", [250, 0])
def test_unsupervised_duplicated_columns_never_picked_twice_before_new_information(sparse_per_row, monkeypatch):
    import glassdyn.selection as sel
    monkeypatch.setattr(sel, "_SPARSE_PER_ROW", sparse_per_row)
    g = np.random.default_rng(5)
    base = [g.normal(size=(300, 4)) * [1.0, 1.0, 1.0, 1.0] for _ in range(2)]
    Xs = [np.hstack([b, b + 1e-6 * g.normal(size=b.shape)]) for b in base]  # f4..f7 duplicate f0..f3
    r = greedy_unsupervised(Xs, n_features=5)
    groups = [k % 4 for k in r.indices[:4]]
    assert sorted(groups) == [0, 1, 2, 3]
    assert r.curve[3] < 0.05 < r.curve[0]
    # the curve equals the definition for the picked subsets
    Xz, _, _ = prepare_features(Xs)
    for d, S in enumerate(r.subsets):
        for c, x in enumerate(Xz):
            a = imbalance(x, x[:, S], duplicates="allow")
            b = imbalance(x[:, S], x, duplicates="allow")
            assert r.curves["full_to_subset"][c, d] == pytest.approx(a, abs=1e-12)
            assert r.curves["subset_to_full"][c, d] == pytest.approx(b, abs=1e-12)
            assert r.curve_per_config[c, d] == pytest.approx((a + b) / np.sqrt(2), abs=1e-12)


def test_lasso_exactly_d_nonzero_and_refit():
    g = np.random.default_rng(6)
    Xs = [g.normal(size=(400, 7)) for _ in range(2)]
    ps = [3 * x[:, 2] - 2 * x[:, 5] + 1 * x[:, 0] + 0.1 * g.normal(size=400) for x in Xs]
    L = lasso_selection(Xs, ps, n_features=3)
    assert L.subsets[0] == [2]
    assert sorted(L.subsets[1]) == [2, 5]
    assert sorted(L.subsets[2]) == [0, 2, 5]
    ls = L.params["least_squares"][2]
    coef = dict(zip(ls["features"], ls["coef"]))
    # refit by least squares on z-scored data: ratios of the true weights (x std 1 -> same as the z-score)
    assert coef["f2"] / coef["f5"] == pytest.approx(-1.5, rel=0.05)
    Xz, pz, _ = prepare_features(Xs, None, None, ps)
    assert L.curve[1] == pytest.approx(np.mean([imbalance(x[:, [2, 5]], p) for x, p in zip(Xz, pz)]), abs=1e-12)


def test_random_orders_mean_matches_manual():
    Xs, ps = _data(seed=7, F=5, n=200, C=2)
    R = random_orders(Xs, ps, n_features=3, n_orders=4, seed=9)
    Xz, pz, _ = prepare_features(Xs, None, None, ps)
    manual = np.array([[np.mean([imbalance(x[:, o[:d + 1]], p) for x, p in zip(Xz, pz)]) for d in range(3)]
                       for o in R.orders])
    np.testing.assert_allclose(R.curve, manual.mean(0), atol=1e-12)
    np.testing.assert_allclose(R.spread, manual.std(0, ddof=1), atol=1e-12)
    assert len({tuple(o) for o in R.orders}) > 1


def test_constant_feature_is_dropped_and_indices_name_input_columns():
    # a feature constant (to rounding) in one configuration is dropped with a warning; the picks
    # and their indices still refer to the input table's columns
    Xs, ps = _data(n=60, C=2, F=5)
    bad = [x.copy() for x in Xs]
    bad[1][:, 2] = 1.0 / (np.pi * 0.25) * (1 + 1e-15 * np.random.default_rng(0).normal(size=60))
    names = ["a", "b", "rho_L0.5", "d", "e"]
    with pytest.warns(RuntimeWarning, match=r"dropping feature\(s\) constant in a configuration: \['rho_L0.5'\]"):
        res = greedy_supervised(bad, ps, feature_names=names, n_features=4)
    assert "rho_L0.5" not in res.order and sorted(res.order) == ["a", "b", "d", "e"]
    assert [names[k] for k in res.indices] == res.order
    ref = greedy_supervised([np.delete(x, 2, axis=1) for x in bad], ps, feature_names=["a", "b", "d", "e"], n_features=4)
    assert ref.order == res.order
    np.testing.assert_allclose(ref.curve, res.curve, rtol=0, atol=1e-15)
    with pytest.warns(RuntimeWarning, match="are constant in a configuration: their imbalances are NaN"):
        plane = imbalance_plane(bad, ps, feature_names=names)
    assert np.isnan(plane.forward[:, 2]).all() and np.isfinite(np.delete(plane.forward, 2, axis=1)).all()


def test_selection_bad_inputs():
    Xs, ps = _data(n=50, C=2, F=4)
    bad = [x.copy() for x in Xs]
    bad[1][:, 2] = 5.0
    with pytest.raises(InputError, match=r"\['f2'\] are constant in configuration 1"):
        greedy_supervised(bad, ps, drop_constant=False)
    bad = [x.copy() for x in Xs]
    bad[0][7, 1] = np.nan
    with pytest.raises(InputError, match=r"\['f1'\] contain NaN.*atom ids: 7"):
        greedy_unsupervised(bad)
    with pytest.raises(InputError, match="50 rows of features but 49 target values"):
        greedy_supervised(Xs, [ps[0], ps[1][:-1]])
    with pytest.raises(InputError, match="target has a single value"):
        greedy_supervised(Xs, [ps[0], np.zeros(50)])
    with pytest.raises(InputError, match="at least 3"):
        greedy_supervised([x[:2] for x in Xs], [p[:2] for p in ps])


def test_cli_select_tables(tmp_path):
    from glassdyn.cli import main
    Xs, ps = _data(seed=8, n=300, C=2, F=5)
    paths = []
    for c, (x, p) in enumerate(zip(Xs, ps)):
        path = tmp_path / f"conf{c}.csv"
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["id"] + [f"feat_{k}" for k in range(5)] + ["propensity_t1"])
            for i in range(len(p)):
                w.writerow([i + 1] + [repr(float(v)) for v in x[i]] + [repr(float(p[i]))])
        paths.append(str(path))
    out = tmp_path / "sel"
    rc = main(["select", *paths, "--target", "propensity_t1", "--mode", "supervised", "-o", str(out),
               "--n-select", "3", "--baselines", "lasso", "random", "--n-random", "3"])
    assert rc == 0
    api = greedy_supervised(Xs, ps, n_features=3, feature_names=[f"feat_{k}" for k in range(5)])
    with open(out / "order.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["feature"] for r in rows] == api.order
    np.testing.assert_allclose([float(r["delta_mean"]) for r in rows], api.curve, rtol=1e-9)
    js = json.loads((out / "selection.json").read_text())
    assert js["selection"]["order"] == api.order and "lasso" in js and "random" in js
    for png in ("plane.png", "curve.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # unsupervised, and a missing target column is a clear error
    rc = main(["select", *paths, "--mode", "unsupervised", "-o", str(tmp_path / "u"), "--n-select", "2",
               "--no-plots"])
    assert rc == 0 and os.path.exists(tmp_path / "u" / "order.csv")
    assert main(["select", *paths, "--target", "nope", "-o", str(tmp_path / "x")]) == 1


@pytest.mark.parametrize("ties", ["strict", "average"])
@pytest.mark.parametrize("sparse_per_row", [250, 0])
def test_greedy_exact_with_discrete_features_and_target(ties, sparse_per_row, monkeypatch):
    """Ties everywhere (integer features, a target with few values): fast paths equal the definition.

    ``_SPARSE_PER_ROW = 0`` forces the KD-tree counting strategy of the unsupervised search."""
    import glassdyn.selection as sel
    monkeypatch.setattr(sel, "_SPARSE_PER_ROW", sparse_per_row)
    g = np.random.default_rng(12)
    Xs = [g.integers(0, 4, size=(160, 5)).astype(float) for _ in range(2)]
    Xs = [np.hstack([x, g.normal(size=(160, 1))]) for x in Xs]
    ps = [np.round(x[:, 0] + x[:, 2] + 0.3 * g.normal(size=160)) for x in Xs]
    r = greedy_supervised(Xs, ps, n_features=4, ties=ties)
    Xz, pz, _ = prepare_features(Xs, None, None, ps)
    for d, S in enumerate(r.subsets):
        per = [imbalance(x[:, S], p, ties=ties, duplicates="allow") for x, p in zip(Xz, pz)]
        np.testing.assert_allclose(r.curve_per_config[:, d], per, atol=1e-12)
        back = [imbalance(p, x[:, S], ties=ties, duplicates="allow") for x, p in zip(Xz, pz)]
        np.testing.assert_allclose(r.curves["target_to_subset"][:, d], back, atol=1e-12)
    u = greedy_unsupervised([x[:, :5] for x in Xs], n_features=4, ties=ties)
    Xz, _, _ = prepare_features([x[:, :5] for x in Xs])
    for d, S in enumerate(u.subsets):
        for c, x in enumerate(Xz):
            a = imbalance(x, x[:, S], ties=ties, duplicates="allow")
            b = imbalance(x[:, S], x, ties=ties, duplicates="allow")
            assert u.curves["full_to_subset"][c, d] == pytest.approx(a, abs=1e-12)
            assert u.curves["subset_to_full"][c, d] == pytest.approx(b, abs=1e-12)


def test_cli_select_lammps_dump_frames_are_configurations(tmp_path):
    """Two frames of a LAMMPS dump with descriptor and propensity columns = two configurations."""
    from glassdyn.adapters.lammps_dump import write_dump
    from glassdyn.cli import main
    from glassdyn.frame import Box, Frame
    Xs, ps = _data(seed=10, n=250, C=2, F=4)
    g = np.random.default_rng(0)
    frames = []
    for c, (x, p) in enumerate(zip(Xs, ps)):
        props = {f"Theta_L{k + 1}.0": x[:, k] for k in range(4)}
        props["propensity_t5"] = p
        frames.append(Frame(positions=g.uniform(0, 15, size=(250, 2)), types=np.ones(250, int),
                            box=Box.orthorhombic([15.0, 15.0]), properties=props, index=c, timestep=c))
    dump = tmp_path / "conf.dump"
    write_dump(str(dump), frames)
    out = tmp_path / "sel"
    assert main(["select", str(dump), "--target", "propensity_t5", "--features", "Theta_*", "-o", str(out),
                 "--n-select", "2", "--no-plots"]) == 0
    api = greedy_supervised(Xs, ps, n_features=2, feature_names=[f"Theta_L{k + 1}.0" for k in range(4)])
    js = json.loads((out / "selection.json").read_text())
    assert js["selection"]["order"] == api.order
    np.testing.assert_allclose(js["selection"]["curve_per_config"], api.curve_per_config, atol=1e-12)


def test_per_configuration_protocol_runs_the_greedy_in_each_configuration():
    """The paper's protocol: every configuration selects on its own; the curves are averaged."""
    Xs, ps = _data(seed=3, F=6, n=150, C=3)
    per = greedy_supervised(Xs, ps, n_features=3, protocol="per_configuration", seed=2)
    for c in range(3):
        own = greedy_supervised(Xs[c], ps[c], n_features=3, seed=2)
        assert per.orders_per_configuration[c] == own.order
        np.testing.assert_allclose(per.curve_per_config[c], own.curve, atol=1e-12)
    np.testing.assert_allclose(per.curve, per.curve_per_config.mean(axis=0), atol=1e-12)
    # the consensus order: features by mean pick position
    pos = {k: np.mean([o.index(k) + 1 if k in o else 4 for o in per.orders_per_configuration])
           for o in per.orders_per_configuration for k in o}
    assert [pos[k] for k in per.order] == sorted(pos[k] for k in per.order)
    assert per.params["protocol"] == "per_configuration"
    un = greedy_unsupervised(Xs, n_features=2, protocol="per_configuration", seed=2)
    assert un.orders_per_configuration[1] == greedy_unsupervised(Xs[1], n_features=2, seed=2).order
    with pytest.raises(InputError, match="unknown selection protocol"):
        greedy_supervised(Xs, ps, protocol="by_particle")
