"""``glassdyn train --per-type`` and ``glassdyn predict`` with per-type models, on dumps and tables whose
propensity follows a different law for each particle type (no LAMMPS needed)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from glassdyn import Box, Frame
from glassdyn.adapters.lammps_dump import read_dump, write_dump
from glassdyn.cli import main
from glassdyn.modelfile import load_model, read_meta

NAMES = ["rho_L1.0", "Theta_L1.0", "e_L2.0"]
W = {1: np.array([1.0, -0.5, 0.0]), 2: np.array([0.0, 0.3, -1.5])}
B = {1: 0.5, 2: 2.0}


def _frame(seed, n=400):
    rng = np.random.default_rng(seed)
    L = np.sqrt(n / 1.2)
    X = rng.normal(size=(n, 3))
    types = np.where(rng.random(n) < 0.6, 1, 2)
    law = np.where(types == 1, X @ W[1] + B[1], X @ W[2] + B[2])
    props = {name: X[:, k] for k, name in enumerate(NAMES)}
    props["propensity_t10"] = law + 0.05 * rng.normal(size=n)
    return Frame(rng.uniform(0, L, size=(n, 2)), types, Box.orthorhombic([L, L]), ids=rng.permutation(n) + 1,
                 properties=props, timestep=seed)


@pytest.fixture
def dumps(tmp_path):
    paths = []
    for k in range(4):
        p = tmp_path / f"c{k}.dump"
        write_dump(p, [_frame(10 * k)])
        paths.append(str(p))
    return paths


def test_train_separate_then_predict(tmp_path, dumps, capsys):
    out = tmp_path / "m.gdm"
    assert main(["train", *dumps, "--target", "propensity_t10", "--model", "linear", "--per-type", "separate",
                 "-o", str(out)]) == 0
    txt = capsys.readouterr().out
    assert "per_type separate" in txt and "type 1: Pearson r" in txt and "type 2: Pearson r" in txt
    meta = read_meta(out)
    assert meta["per_type"]["mode"] == "separate" and meta["per_type"]["types"] == [1, 2]
    assert meta["metrics"]["by_type"]["2"]["pearson"]["mean"] > 0.99
    rep = json.loads((tmp_path / "m.json").read_text())
    assert rep["per_type"]["requested"] == "separate" and rep["per_type"]["fitted"] == "separate"
    by_type = rep["cross_validation"]["scores"]["by_type"]
    assert set(by_type) == {"1", "2"} and len(by_type["2"]["pearson"]) == 4
    # each type's model recovers its own law
    m = load_model(out)
    for t in (1, 2):
        np.testing.assert_allclose(m.models_[t].coef_, W[t], atol=0.02)
    # predict a new configuration: per-type laws, per-type Pearson printed
    fr = _frame(99)
    new, pred = tmp_path / "new.dump", tmp_path / "pred.dump"
    write_dump(new, fr)
    assert main(["predict", str(new), "--model", str(out), "-o", str(pred)]) == 0
    txt = capsys.readouterr().out
    got = read_dump(pred).sorted_by_id()
    ref = fr.sorted_by_id()
    X = np.column_stack([ref.properties[n] for n in NAMES])
    expect = np.where(ref.types == 1, X @ W[1] + B[1], X @ W[2] + B[2])
    np.testing.assert_allclose(got.properties["propensity_pred"], expect, atol=0.03)
    # the printed per-type Pearson r is the hand-computed one
    for t in (1, 2):
        sel = ref.types == t
        a, b = ref.properties["propensity_t10"][sel], got.properties["propensity_pred"][sel]
        r = np.sum((a - a.mean()) * (b - b.mean())) / np.sqrt(np.sum((a - a.mean()) ** 2) * np.sum((b - b.mean()) ** 2))
        assert f"type {t}: r = {r:.3f}" in txt


def test_train_auto_and_joint(tmp_path, capsys):
    # 4 x 700 particles: ~1100 of type 2, above the auto threshold (AUTO_MIN_TYPE_ROWS = 1000)
    from glassdyn.learn import AUTO_MIN_TYPE_ROWS
    dumps = []
    for k in range(4):
        dumps.append(str(tmp_path / f"big{k}.dump"))
        write_dump(dumps[-1], [_frame(50 + k, n=700)])
    n2 = sum(int(np.sum(read_dump(p).types == 2)) for p in dumps)
    assert n2 >= AUTO_MIN_TYPE_ROWS > n2 / 2
    assert main(["train", *dumps, "--target", "propensity_t10", "--model", "ridge", "-o", str(tmp_path / "a.gdm"),
                 "--cv", "groupkfold", "--n-splits", "2"]) == 0
    rep = json.loads((tmp_path / "a.json").read_text())
    assert rep["per_type"]["requested"] == "auto" and rep["per_type"]["resolved"] == "separate"
    # the folds score the model that is saved, though each holds fewer particles than the threshold
    assert {f["per_type"] for f in rep["cross_validation"]["folds"]} == {"separate"}
    assert read_meta(tmp_path / "a.gdm")["per_type"]["mode"] == "separate"
    # two configurations: below the threshold, auto fits jointly
    assert main(["train", *dumps[:2], "--target", "propensity_t10", "-o", str(tmp_path / "b.gdm")]) == 0
    assert "per_type joint" in capsys.readouterr().out
    assert read_meta(tmp_path / "b.gdm")["per_type"]["mode"] == "joint"
    # joint and separate differ in their held-out per-type scores (type 2 follows another law)
    assert main(["train", *dumps, "--target", "propensity_t10", "--per-type", "joint", "-o",
                 str(tmp_path / "j.gdm")]) == 0
    joint = read_meta(tmp_path / "j.gdm")["metrics"]["by_type"]["2"]["pearson"]["mean"]
    sep = read_meta(tmp_path / "a.gdm")["metrics"]["by_type"]["2"]["pearson"]["mean"]
    assert sep > 0.99 and joint < 0.9


def test_train_per_type_from_csv_type_column(tmp_path, capsys):
    paths = []
    for k in range(3):
        fr = _frame(k)
        cols = ["id", "type"] + NAMES + ["propensity_t10"]
        data = np.column_stack([fr.ids, fr.types] + [fr.properties[c] for c in NAMES + ["propensity_t10"]])
        p = tmp_path / f"t{k}.csv"
        np.savetxt(p, data, delimiter=",", header=",".join(cols), comments="")
        paths.append(str(p))
    out = tmp_path / "m.gdm"
    assert main(["train", *paths, "--target", "propensity_t10", "--model", "linear", "--per-type", "feature",
                 "-o", str(out), "--learning-curve", "1", "3", "--select", "pearson", "--n-features", "3"]) == 0
    meta = read_meta(out)
    assert meta["feature_names"] == NAMES  # the type column is not a feature
    assert meta["per_type"]["mode"] == "feature" and meta["per_type"]["types"] == [1, 2]
    rep = json.loads((tmp_path / "m.json").read_text())
    assert set(rep["learning_curve_features"]["by_type"]) == {"1", "2"}
    # feature mode: one-hot types shift the intercept only; the slopes are shared, so type 2 is worse
    assert meta["metrics"]["by_type"]["2"]["pearson"]["mean"] < 0.95


def test_per_type_errors(tmp_path, capsys):
    fr = _frame(1)
    p = tmp_path / "t.npz"
    np.savez(p, names=np.array(NAMES), values=np.column_stack([fr.properties[n] for n in NAMES]),
             propensity_t10=fr.properties["propensity_t10"])
    q = tmp_path / "u.npz"
    np.savez(q, names=np.array(NAMES), values=np.column_stack([fr.properties[n] for n in NAMES]),
             propensity_t10=fr.properties["propensity_t10"])
    assert main(["train", str(p), str(q), "--target", "propensity_t10", "--per-type", "separate",
                 "-o", str(tmp_path / "m.gdm")]) == 1
    assert "needs the particle type of every row" in capsys.readouterr().err
    # an .npz table with types (as glassdyn describe --table writes them) is fine
    for path in (p, q):
        np.savez(path, names=np.array(NAMES), values=np.column_stack([fr.properties[n] for n in NAMES]),
                 types=fr.types, propensity_t10=fr.properties["propensity_t10"])
    assert main(["train", str(p), str(q), "--target", "propensity_t10", "--per-type", "separate",
                 "-o", str(tmp_path / "m.gdm")]) == 0
    assert read_meta(tmp_path / "m.gdm")["per_type"]["types"] == [1, 2]
