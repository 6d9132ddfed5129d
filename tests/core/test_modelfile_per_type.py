"""Model files of per-type models (issue 12) and of files written before per-type models existed."""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from glassdyn import __version__
from glassdyn.errors import InputError
from glassdyn.learn import PropensityModel
from glassdyn.modelfile import load_model, read_meta, save_model

sio = pytest.importorskip("skops.io")

NAMES = ["rho_L1.0", "e_L0.5", "Theta_L2.0", "z_L1.0"]


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(400, 4))
    t = np.tile(np.repeat([1, 2], [65, 35]), 4)
    y = np.where(t == 1, X @ [1.0, -0.5, 0.0, 2.0], 0.5 * np.sin(2 * X[:, 2]) - X[:, 1]) + 0.05 * rng.normal(size=400)
    g = np.repeat(np.arange(4), 100)
    return X, y, g, t


def _members(path):
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _write(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for k, v in members.items():
            z.writestr(k, v)
    return path


@pytest.mark.parametrize("kind,mode,select", [("ridge", "separate", "pearson"), ("linear", "feature", None),
                                              ("mlp", "separate", None), ("gp", "separate", None),
                                              ("mlp", "feature", "lasso")])
def test_per_type_round_trip(tmp_path, kind, mode, select):
    X, y, g, t = _data()
    m = PropensityModel(kind, per_type=mode, select=select, n_features=2 if select else None, max_iter=40,
                        gp_max_samples=60, hidden_layer_sizes=(8,)).fit(X, y, g, types=t, feature_names=NAMES)
    path = save_model(m, tmp_path / "m.gdm", target="propensity")
    m2 = load_model(path)
    rng = np.random.default_rng(3)
    Xt, tt = rng.normal(size=(120, 4)), rng.choice([1, 2], size=120)
    for lab in (1, 2):  # equal predictions, type by type
        sel = tt == lab
        np.testing.assert_array_equal(m.predict(Xt[sel], types=tt[sel], feature_names=NAMES),
                                      m2.predict(Xt[sel], types=tt[sel], feature_names=NAMES))
    if kind == "gp":
        np.testing.assert_array_equal(m.predict(Xt, True, types=tt)[1], m2.predict(Xt, True, types=tt)[1])
    assert m2.per_type_ == mode and m2.types_.tolist() == [1, 2]
    assert m2.selected_features_ == m.selected_features_
    assert m2.n_train_by_type_ == m.n_train_by_type_ == {1: 260, 2: 140}
    if mode == "separate":
        assert m2.selected_features_by_type_ == m.selected_features_by_type_
    else:
        assert m2.type_columns_ == ["type=1", "type=2"]
    meta = read_meta(path)
    assert meta["format_version"] == 2 and meta["per_type"]["mode"] == mode and meta["per_type"]["types"] == [1, 2]
    with pytest.raises(InputError, match="pass types"):
        m2.predict(Xt, feature_names=NAMES)
    skops_members = sorted(n for n in _members(path) if n.endswith(".skops"))
    if kind in ("mlp", "gp"):
        assert skops_members == (["model_t0.skops", "model_t1.skops"] if mode == "separate" else ["model.skops"])
    else:
        assert skops_members == []


def test_joint_model_keeps_format_version_1(tmp_path):
    X, y, g, t = _data()
    path = save_model(PropensityModel("ridge").fit(X, y, g, types=t, feature_names=NAMES), tmp_path / "j.gdm")
    meta = read_meta(path)
    assert meta["format_version"] == 1 and meta["per_type"] == {"mode": "joint", "types": [1, 2],
                                                                "n_train_by_type": {"1": 260, "2": 140}}


def _legacy_file(path, model, kind):
    """The layout save_model wrote before per-type models (format 1, no per_type, params 'seed')."""
    params = {k: v for k, v in model.get_params().items() if k not in ("per_type", "min_type_rows", "random_state")}
    params["seed"] = 7
    params["hidden_layer_sizes"] = list(params["hidden_layer_sizes"])
    meta = {"format": "glassdyn-model", "format_version": 1, "glassdyn_version": "0.0.9", "model": kind,
            "params": params, "feature_names": NAMES, "support": model.support_.tolist(),
            "selected_features": model.selected_features_, "n_train": model.n_train_, "train_groups": [0, 1, 2, 3],
            "target": "propensity", "descriptor_params": {}, "metrics": {}, "extra": {}}
    arrays = {"scaler_mean": model.scaler_.mean_, "scaler_scale": model.scaler_.scale_,
              "scaler_var": model.scaler_.var_}
    members = {"meta.json": json.dumps(meta)}
    if kind in ("linear", "ridge", "lasso"):
        arrays.update(coef=model.estimator_.coef_, intercept=np.array([model.estimator_.intercept_]))
    else:
        members["model.skops"] = sio.dumps(model.estimator_)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    members["arrays.npz"] = buf.getvalue()
    return _write(path, members)


@pytest.mark.parametrize("kind", ["lasso", "mlp"])
def test_files_written_before_per_type_models_load(tmp_path, kind):
    X, y, g, _ = _data()
    m = PropensityModel(kind, select="pearson", n_features=3, max_iter=30, hidden_layer_sizes=(8,)).fit(
        X, y, g, feature_names=NAMES)
    old = load_model(_legacy_file(tmp_path / "old.gdm", m, kind))
    np.testing.assert_array_equal(old.predict(X, feature_names=NAMES), m.predict(X, feature_names=NAMES))
    assert old.per_type_ == "joint" and old.types_ is None and old.random_state == 7
    assert old.per_type == "joint" and "trained with glassdyn 0.0.9" in old.provenance_
    np.testing.assert_array_equal(old.predict(X, types=np.ones(len(X), int), feature_names=NAMES),
                                  m.predict(X, feature_names=NAMES))  # types are ignored by a joint model


# ---------------------------------------------------------------------------- tampering
def test_per_type_tampering_is_refused(tmp_path):
    X, y, g, t = _data()
    good = save_model(PropensityModel("mlp", per_type="separate", max_iter=20, hidden_layer_sizes=(4,)).fit(
        X, y, g, types=t, feature_names=NAMES), tmp_path / "good.gdm")
    members = _members(good)
    # 1. an extra skops member that meta.json does not declare
    extra = _write(tmp_path / "extra.gdm", {**members, "model_t2.skops": sio.dumps({"f": eval})})
    with pytest.raises(InputError, match=r"unexpected members \['model_t2.skops'\].*tampered"):
        load_model(extra)
    # 2. a declared per-type part replaced by one that names builtins.eval
    evil = _write(tmp_path / "evil.gdm", {**members, "model_t1.skops": sio.dumps({"f": eval})})
    with pytest.raises(InputError, match=r"refusing to load.*builtins\.eval"):
        load_model(evil)
    # 3. any other member is refused before anything is read
    pkl = _write(tmp_path / "pkl.gdm", {**members, "model_t1.pkl": b"\x80\x04K\x01."})
    with pytest.raises(InputError, match=r"unexpected members \['model_t1.pkl'\]"):
        load_model(pkl)
    # 4. a per-type part missing, or meta.json without its types
    missing = {k: v for k, v in members.items() if k != "model_t0.skops"}
    with pytest.raises(InputError, match="has no model_t0.skops part"):
        load_model(_write(tmp_path / "missing.gdm", missing))
    meta = json.loads(members["meta.json"])
    meta["per_type"]["types"] = []
    with pytest.raises(InputError, match="no valid particle types"):
        load_model(_write(tmp_path / "notypes.gdm", {**members, "meta.json": json.dumps(meta)}))
    meta = json.loads(members["meta.json"])
    meta["per_type"]["mode"] = "by_magic"
    with pytest.raises(InputError, match="unknown per-type mode"):
        load_model(_write(tmp_path / "mode.gdm", {**members, "meta.json": json.dumps(meta)}))
    assert load_model(good).per_type_ == "separate"  # the original still loads


def test_per_type_linear_arrays_are_checked(tmp_path):
    X, y, g, t = _data()
    path = save_model(PropensityModel("ridge", per_type="separate").fit(X, y, g, types=t, feature_names=NAMES),
                      tmp_path / "r.gdm")
    members = _members(path)
    with np.load(io.BytesIO(members["arrays.npz"])) as z:
        arrays = {k: z[k] for k in z.files}
    assert sorted(arrays) == sorted(f"t{k}_{a}" for k in (0, 1) for a in
                                    ("scaler_mean", "scaler_scale", "scaler_var", "coef", "intercept"))
    # the stored numbers alone give type 2's prediction
    z_ = (X - arrays["t1_scaler_mean"]) / arrays["t1_scaler_scale"]
    m = load_model(path)
    np.testing.assert_allclose(z_ @ arrays["t1_coef"] + arrays["t1_intercept"][0],
                               m.predict(X, types=np.full(len(X), 2), feature_names=NAMES), rtol=1e-12)
    del arrays["t1_coef"]
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    with pytest.raises(InputError, match="t1_coef"):
        load_model(_write(tmp_path / "bad.gdm", {**members, "arrays.npz": buf.getvalue()}))
    assert __version__ == read_meta(path)["glassdyn_version"]
