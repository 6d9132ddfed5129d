"""``glassdyn train`` / ``predict`` / ``classify`` on dumps with a known law (no LAMMPS needed)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from glassdyn import Box, Frame
from glassdyn.adapters.lammps_dump import read_dump, write_dump
from glassdyn.cli import main
from glassdyn.modelfile import read_meta

NAMES = ["rho_L1.0", "Theta_L1.0", "e_L2.0", "noise_L1.0"]
W = np.array([0.8, -1.5, 0.4, 0.0])


def _frame(seed, n=300, law=True):
    rng = np.random.default_rng(seed)
    L = np.sqrt(n / 1.2)
    pos = rng.uniform(0, L, size=(n, 2))
    X = rng.normal(size=(n, 4))
    props = {name: X[:, k] for k, name in enumerate(NAMES)}
    if law:
        props["propensity_t10"] = X @ W + 1.0 + 0.05 * rng.normal(size=n)
    return Frame(pos, np.where(np.arange(n) < 0.65 * n, 1, 2), Box.orthorhombic([L, L]),
                 ids=rng.permutation(n) + 1, properties=props, timestep=seed)


@pytest.fixture
def dumps(tmp_path):
    paths = []
    for k in range(3):
        p = tmp_path / f"c{k}.dump"
        write_dump(p, [_frame(10 * k), _frame(10 * k + 1)])  # two configurations per file
        paths.append(str(p))
    return paths


@pytest.mark.parametrize("model", ["linear", "gp"])
def test_train_then_predict_end_to_end(tmp_path, dumps, model, capsys):
    out = tmp_path / "m.gdm"
    rc = main(["train", *dumps, "--target", "propensity_t10", "--model", model, "-o", str(out),
               "--select", "pearson", "--n-features", "3", "--cv", "groupkfold", "--n-splits", "3",
               "--gp-max-samples", "150", "--plot"])
    assert rc == 0
    txt = capsys.readouterr().out
    assert "Pearson r" in txt and "selected features" in txt
    meta = read_meta(out)
    assert meta["feature_names"] == NAMES and meta["target"] == "propensity_t10"
    assert set(meta["selected_features"]) == {"rho_L1.0", "Theta_L1.0", "e_L2.0"}
    assert meta["metrics"]["pearson"]["mean"] > 0.99 and meta["metrics"]["pearson"]["n"] == 6
    rep = json.loads((tmp_path / "m.json").read_text())
    assert len(rep["cross_validation"]["folds"]) == 3
    assert (tmp_path / "m_parity.png").stat().st_size > 1000
    # predict on a new configuration
    new = tmp_path / "new.dump"
    fr = _frame(99)
    write_dump(new, fr)
    pred = tmp_path / "pred.dump"
    assert main(["predict", str(new), "--model", str(out), "-o", str(pred), "--plot"]) == 0
    got = read_dump(pred).sorted_by_id()
    ref = fr.sorted_by_id()
    expect = np.column_stack([ref.properties[n] for n in NAMES]) @ W + 1.0
    tol = 0.02 if model == "linear" else 0.15
    np.testing.assert_allclose(got.properties["propensity_pred"], expect, atol=tol)
    assert ("propensity_std" in got.properties) == (model == "gp")
    np.testing.assert_array_equal(got.ids, ref.ids)
    np.testing.assert_allclose(got.positions, ref.positions)
    assert (tmp_path / "pred_maps.png").stat().st_size > 1000


def test_train_nan_target_names_file_frame_and_atoms(tmp_path, dumps, capsys):
    fr = _frame(5)
    y = fr.properties["propensity_t10"].copy()
    y[[3, 8]] = np.nan
    bad = tmp_path / "bad.dump"
    write_dump(bad, fr.with_properties(propensity_t10=y))
    rc = main(["train", *dumps, str(bad), "--target", "propensity_t10", "-o", str(tmp_path / "m.gdm")])
    assert rc == 1
    err = capsys.readouterr().err
    ids = sorted(fr.ids[[3, 8]])
    assert "2 targets are NaN" in err and "bad.dump, frame 0" in err and f"{ids[0]}, {ids[1]}" in err
    assert not (tmp_path / "m.gdm").exists()


def test_train_errors(tmp_path, dumps, capsys):
    assert main(["train", dumps[0], "--target", "nope", "-o", str(tmp_path / "m.gdm")]) == 1
    assert "no per-atom column 'nope'" in capsys.readouterr().err
    assert main(["train", dumps[0], "--target", "propensity_t10", "--cv", "groupkfold", "--n-splits", "5",
                 "-o", str(tmp_path / "m.gdm")]) == 1
    assert "needs at least 5 configurations, got 2" in capsys.readouterr().err
    assert main(["train", dumps[0], "--target", "propensity_t10", "--select", "lasso",
                 "-o", str(tmp_path / "m.gdm")]) == 2  # a usage error: found before any work
    assert "--n-features" in capsys.readouterr().err


def test_predict_errors(tmp_path, dumps, capsys):
    out = tmp_path / "m.gdm"
    assert main(["train", *dumps, "--target", "propensity_t10", "--model", "ridge", "-o", str(out),
                 "--cv", "none"]) == 0
    fr = _frame(7)
    props = dict(fr.properties)
    del props["Theta_L1.0"]
    miss = tmp_path / "miss.dump"
    write_dump(miss, Frame(fr.positions, fr.types, fr.box, ids=fr.ids, properties=props))
    capsys.readouterr()
    assert main(["predict", str(miss), "--model", str(out), "-o", str(tmp_path / "p.dump"),
                 "--compute", "never"]) == 1
    err = capsys.readouterr().err
    assert "miss.dump, frame 0" in err and "lacks feature columns Theta_L1.0" in err
    notmodel = tmp_path / "notes.txt"
    notmodel.write_text("not a model")
    assert main(["predict", dumps[0], "--model", str(notmodel), "-o", str(tmp_path / "p.dump")]) == 1
    assert "not a glassdyn model file" in capsys.readouterr().err


def test_train_from_csv_tables(tmp_path, capsys):
    paths = []
    for k in range(4):
        fr = _frame(k)
        cols = NAMES + ["propensity_t10"]
        data = np.column_stack([fr.properties[c] for c in cols])
        p = tmp_path / f"t{k}.csv"
        np.savetxt(p, data, delimiter=",", header=",".join(cols), comments="")
        paths.append(str(p))
    out = tmp_path / "m.gdm"
    assert main(["train", *paths, "--target", "propensity_t10", "--model", "ridge", "-o", str(out)]) == 0
    meta = read_meta(out)
    assert meta["feature_names"] == NAMES and meta["metrics"]["pearson"]["n"] == 4
    assert meta["metrics"]["pearson"]["mean"] > 0.99


def test_classify_cli_on_shifted_feature(tmp_path, capsys):
    """Two classes of dumps whose per-atom feature means differ: the CLI gets AUC near 1."""
    a, b = [], []
    for k in range(10):
        fa, fb = _frame(100 + k, law=False), _frame(200 + k, law=False)
        props = dict(fb.properties)
        props["rho_L1.0"] = props["rho_L1.0"] + 0.5
        fb = Frame(fb.positions, fb.types, fb.box, ids=fb.ids, properties=props)
        pa, pb = tmp_path / f"a{k}.dump", tmp_path / f"b{k}.dump"
        write_dump(pa, fa), write_dump(pb, fb)
        a.append(str(pa)), b.append(str(pb))
    rep = tmp_path / "rep.json"
    assert main(["classify", "--class", "liquid", *a, "--class", "glass", *b, "-o", str(rep),
                 "--no-graph", "--plot"]) == 0
    r = json.loads(rep.read_text())
    assert r["auc_mean"] > 0.95 and len(r["auc"]) == 5 and r["classes"] == ["glass", "liquid"]
    assert "rho_L1.0_mean" in r["feature_names"] and len(r["configurations"]) == 20
    assert (tmp_path / "rep_roc.png").exists()
    assert main(["classify", "--class", "liquid", *a, "-o", str(rep)]) == 2
    assert "exactly two" in capsys.readouterr().err


def test_train_learning_curve_and_plots(tmp_path, dumps):
    out = tmp_path / "lc.gdm"
    assert main(["train", *dumps, "--target", "propensity_t10", "--model", "linear", "-o", str(out),
                 "--select", "pearson", "--n-features", "3", "--learning-curve", "1", "2", "3", "--plot"]) == 0
    rep = json.loads((tmp_path / "lc.json").read_text())
    lc = rep["learning_curve_features"]
    assert lc["n_features"] == [1, 2, 3]
    # Theta (weight -1.5) alone, then + rho, then + e: the held-out r rises to ~1
    assert lc["mean"][0] < lc["mean"][1] < lc["mean"][2] and lc["mean"][2] > 0.99
    from matplotlib.image import imread
    img = imread(tmp_path / "lc_learning_curve.png")
    assert img.shape[0] > 200 and img[..., :3].std() > 0.05  # a drawn figure, not a blank canvas


def test_train_min_distance_subsample(tmp_path, dumps):
    from glassdyn.validation import subsample_min_distance
    out = tmp_path / "sub.gdm"
    assert main(["train", *dumps, "--target", "propensity_t10", "--model", "linear", "-o", str(out),
                 "--min-distance", "1.5", "--cv", "none"]) == 0
    meta = read_meta(out)
    # the same seeded subsample of every configuration, summed
    expect = sum(len(subsample_min_distance(f.sorted_by_id(), 1.5, seed=0))
                 for p in dumps for f in [read_dump(p, 0), read_dump(p, 1)])
    assert meta["n_train"] == expect < 6 * 300
