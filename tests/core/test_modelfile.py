"""Tests of glassdyn.modelfile: round trips and refusal of files that would execute code."""
from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from glassdyn import __version__
from glassdyn.errors import InputError
from glassdyn.learn import PropensityModel
from glassdyn.modelfile import load_model, read_meta, save_model

sio = pytest.importorskip("skops.io")

MARKER_ENV = "GLASSDYN_TEST_MARKER"


class Bomb:
    """An object whose *loading* runs code: it creates the marker file named in the environment."""

    def __init__(self):
        self.payload = "boom"

    def __getstate__(self):
        return {"payload": self.payload}

    def __setstate__(self, state):
        Path(os.environ[MARKER_ENV]).write_text("code ran")
        self.__dict__.update(state)

    def __reduce__(self):  # the pickle route: unpickling calls os.system-like code
        return (Path(os.environ[MARKER_ENV]).write_text, ("code ran",))


@pytest.fixture
def marker(tmp_path, monkeypatch):
    m = tmp_path / "marker.txt"
    monkeypatch.setenv(MARKER_ENV, str(m))
    return m


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(600, 4))
    y = X @ [1.0, -0.5, 0.0, 2.0] + 0.3 * np.sin(3 * X[:, 0]) + 0.05 * rng.normal(size=600)
    g = np.repeat(np.arange(6), 100)
    return X, y, g, ["rho_L1.0", "e_L0.5", "Theta_L2.0", "z_L1.0"]


@pytest.mark.parametrize("kind,select", [("linear", None), ("ridge", "lasso"), ("lasso", None),
                                         ("mlp", None), ("gp", "pearson")])
def test_round_trip_identical_predictions(tmp_path, kind, select):
    X, y, g, names = _data()
    m = PropensityModel(kind, select=select, n_features=3 if select else None, max_iter=50,
                        gp_max_samples=80).fit(X, y, g, feature_names=names)
    params = {"lengths": [0.5, 1.0, 2.0], "weighting": "hard", "potential": "ka2d"}
    path = save_model(m, tmp_path / "m.gdm", descriptor_params=params, metrics={"pearson": 0.9},
                      target="propensity")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    m2 = load_model(path)
    Xt = np.random.default_rng(9).normal(size=(200, 4)) * 2
    p1 = m.predict(Xt, feature_names=names)
    p2 = m2.predict(Xt, feature_names=names)
    assert np.array_equal(p1, p2)
    if kind == "gp":
        assert np.array_equal(m.predict(Xt, True, feature_names=names)[1], m2.predict(Xt, True, feature_names=names)[1])
    meta = read_meta(path)
    assert meta["feature_names"] == names and meta["descriptor_params"] == params
    assert meta["glassdyn_version"] == __version__ and meta["metrics"] == {"pearson": 0.9}
    assert meta["target"] == "propensity" and m2.selected_features_ == m.selected_features_
    with zipfile.ZipFile(path) as z:
        assert ("model.skops" in z.namelist()) == (kind in ("mlp", "gp"))


def test_linear_file_is_plain_arrays_and_json(tmp_path):
    X, y, g, names = _data()
    m = PropensityModel("linear").fit(X, y, g, feature_names=names)
    path = save_model(m, tmp_path / "lin.gdm")
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["arrays.npz", "meta.json"]
        arr = np.load(io.BytesIO(z.read("arrays.npz")), allow_pickle=False)
        # predictions follow from the stored numbers alone
        z_ = (X - arr["scaler_mean"]) / arr["scaler_scale"]
        np.testing.assert_allclose(z_ @ arr["coef"] + arr["intercept"][0], m.predict(X, feature_names=names),
                                   rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------- tampering
def _gdm_with(tmp_path, members: dict, kind="mlp", name="bad.gdm"):
    meta = {"format": "glassdyn-model", "format_version": 1, "glassdyn_version": __version__, "model": kind,
            "params": {"model": kind}, "feature_names": ["a"], "support": [0], "selected_features": ["a"],
            "n_train": 1}
    buf = io.BytesIO()
    np.savez(buf, scaler_mean=np.zeros(1), scaler_scale=np.ones(1), scaler_var=np.ones(1))
    files = {"meta.json": json.dumps(meta), "arrays.npz": buf.getvalue(), **members}
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as z:
        for k, v in files.items():
            z.writestr(k, v)
    return path


def test_skops_payload_with_untrusted_type_is_refused(tmp_path, marker):
    data = sio.dumps({"x": Bomb()})
    # the payload is live: an unguarded load that trusts it runs code
    sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    assert marker.exists()
    marker.unlink()
    path = _gdm_with(tmp_path, {"model.skops": data})
    with pytest.raises(InputError, match=r"refusing to load.*Bomb.*tampered"):
        load_model(path)
    assert not marker.exists()


@pytest.mark.parametrize("func", [eval, os.system])
def test_skops_file_referencing_dangerous_functions_is_refused(tmp_path, func):
    data = sio.dumps({"f": func})
    path = _gdm_with(tmp_path, {"model.skops": data})
    with pytest.raises(InputError, match=r"refusing to load.*(eval|system)"):
        load_model(path)


def test_schema_edited_to_name_eval_is_refused(tmp_path):
    """A genuine MLP file whose schema is edited to construct builtins.eval instead."""
    X, y, g, names = _data()
    m = PropensityModel("mlp", max_iter=5).fit(X, y, g, feature_names=names)
    good = tmp_path / "good.gdm"
    save_model(m, good)
    with zipfile.ZipFile(good) as z:
        members = {n: z.read(n) for n in z.namelist()}
    inner = zipfile.ZipFile(io.BytesIO(members["model.skops"]))
    parts = {n: inner.read(n) for n in inner.namelist()}
    schema = json.loads(parts["schema.json"])
    schema["__module__"], schema["__class__"] = "builtins", "eval"
    parts["schema.json"] = json.dumps(schema).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for k, v in parts.items():
            z.writestr(k, v)
    members["model.skops"] = out.getvalue()
    bad = tmp_path / "bad.gdm"
    with zipfile.ZipFile(bad, "w") as z:
        for k, v in members.items():
            z.writestr(k, v)
    with pytest.raises(InputError, match=r"builtins\.eval"):
        load_model(bad)


def test_pickle_payloads_are_never_unpickled(tmp_path, marker):
    payload = pickle.dumps(Bomb())
    # the payload is live
    pickle.loads(payload)
    assert marker.exists()
    marker.unlink()
    # 1. a bare pickle named like a model
    bare = tmp_path / "model.gdm"
    bare.write_bytes(payload)
    with pytest.raises(InputError, match="not a glassdyn model file.*not a zip"):
        load_model(bare)
    # 2. an extra pickle member inside a model zip
    extra = _gdm_with(tmp_path, {"model.pkl": payload}, kind="linear", name="extra.gdm")
    with pytest.raises(InputError, match=r"unexpected members \['model.pkl'\]"):
        load_model(extra)
    # 3. an object array (pickled) inside arrays.npz
    buf = io.BytesIO()
    np.savez(buf, scaler_mean=np.array([Bomb()], dtype=object), scaler_scale=np.ones(1), scaler_var=np.ones(1))
    objnpz = _gdm_with(tmp_path, {}, kind="linear", name="obj.gdm")
    with zipfile.ZipFile(objnpz) as z:
        meta = z.read("meta.json")
    with zipfile.ZipFile(objnpz, "w") as z:
        z.writestr("meta.json", meta)
        z.writestr("arrays.npz", buf.getvalue())
    with pytest.raises(InputError, match="refusing to load arrays.npz"):
        load_model(objnpz)
    assert not marker.exists()


# ---------------------------------------------------------------------------- bad input
def test_model_from_another_version_with_different_features(tmp_path):
    X, y, g, names = _data()
    path = save_model(PropensityModel("ridge").fit(X, y, g, feature_names=names), tmp_path / "m.gdm")
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    meta = json.loads(members["meta.json"])
    meta["glassdyn_version"] = "0.0.1"
    meta["feature_names"] = ["rho_1.0", "e_0.5", "Theta_2.0", "z_1.0"]  # an older naming scheme
    members["meta.json"] = json.dumps(meta)
    old = tmp_path / "old.gdm"
    with zipfile.ZipFile(old, "w") as z:
        for k, v in members.items():
            z.writestr(k, v)
    m = load_model(old)
    with pytest.raises(InputError, match=r"trained with glassdyn 0\.0\.1; this is glassdyn .*missing rho_1\.0.*extra rho_L1\.0"):
        m.predict(X, feature_names=names)


def test_non_model_files_and_newer_format(tmp_path):
    txt = tmp_path / "notes.gdm"
    txt.write_text("hello")
    with pytest.raises(InputError, match=r"notes\.gdm: not a glassdyn model file"):
        load_model(txt)
    with pytest.raises(InputError, match="model file not found"):
        load_model(tmp_path / "nope.gdm")
    z = tmp_path / "other.zip"
    with zipfile.ZipFile(z, "w") as zz:
        zz.writestr("meta.json", json.dumps({"format": "something-else"}))
    with pytest.raises(InputError, match="does not declare format"):
        load_model(z)
    newer = _gdm_with(tmp_path, {}, kind="linear", name="newer.gdm")
    with zipfile.ZipFile(newer) as zz:
        members = {n: zz.read(n) for n in zz.namelist()}
    meta = json.loads(members["meta.json"])
    meta["format_version"] = 99
    members["meta.json"] = json.dumps(meta)
    with zipfile.ZipFile(newer, "w") as zz:
        for k, v in members.items():
            zz.writestr(k, v)
    with pytest.raises(InputError, match="format version 99 is newer"):
        load_model(newer)


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    X, y, g, names = _data()
    m = PropensityModel("ridge").fit(X, y, g, feature_names=names)
    path = save_model(m, tmp_path / "m.gdm")
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        save_model(PropensityModel("linear").fit(X, y, g, feature_names=names), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.gdm"]
