"""Labelled xarray datasets / netCDF files / pandas tables of ensemble results, feature tables and
cross-validation results: round trips are exact, an independent netCDF reader (scipy.io.netcdf_file)
sees the same numbers, writes are atomic."""
from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("pandas")

from glassdyn.adapters import xarray_io as xio  # noqa: E402
from glassdyn.errors import InputError  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
from frontend_synthetic import configuration, replicas, write_ensemble  # noqa: E402


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    from glassdyn.adapters import load_ensemble
    from glassdyn.dynamics import analyze_ensemble

    folder = tmp_path_factory.mktemp("xio")
    ref = configuration(n_side=10, seed=2)
    ref_path, paths = write_ensemble(folder, ref, replicas(ref, n_replicas=3, steps=(0, 100, 200, 400), seed=3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return analyze_ensemble(load_ensemble(paths, ref_path), potential="ka2d", q=30.0)


def _same_result(a, b):
    for name in ("times", "timesteps", "ids", "types", "propensity", "fs", "fs_per_replica", "tau_alpha"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    np.testing.assert_array_equal(a.bond_breaking, b.bond_breaking)
    assert a.q == b.q and a.column == b.column
    assert b.timesteps.dtype == np.int64 and b.ids.dtype == np.int64


def test_propensity_dataset_is_labelled(result):
    ds = xio.propensity_dataset(result)
    assert dict(ds.sizes) == {"time": 4, "atom": 100, "species": 3, "replica": 3}
    assert list(ds["species"].values) == ["all", "type 1", "type 2"]
    assert ds["propensity"].attrs["kind"] == result.column == "propensity_cr" and ds.attrs["cage_relative"] == 1
    np.testing.assert_array_equal(ds["propensity"].sel(time=2.0).values, result.propensity[-1])
    np.testing.assert_array_equal(ds["fs"].sel(species="type 2").values, result.fs[2])
    np.testing.assert_array_equal(ds["tau_alpha"].values, result.tau_alpha)
    assert np.isfinite(result.tau_alpha).all()
    np.testing.assert_array_equal(ds["bond_breaking"].values, result.bond_breaking)
    np.testing.assert_array_equal(ds["atom"].values, result.ids)
    atom = int(result.ids[7])
    assert float(ds["propensity"].sel(atom=atom, time=1.0)) == result.propensity[result.time_index(1.0), 7]


@pytest.mark.parametrize("engine", ["scipy", "netcdf4", "h5netcdf"])
def test_propensity_netcdf_round_trip(result, tmp_path, engine):
    if engine != "scipy":
        pytest.importorskip({"netcdf4": "netCDF4", "h5netcdf": "h5netcdf"}[engine])
    path = tmp_path / "ensemble.nc"
    assert xio.write_netcdf(xio.propensity_dataset(result), path, engine=engine) == str(path)
    back = xio.propensity_result(xio.read_netcdf(path))
    _same_result(result, back)
    assert back.params["cage_relative"] is True and back.params["n_replicas"] == 3
    assert [f for f in os.listdir(tmp_path)] == ["ensemble.nc"]   # no temporary file left


def test_netcdf_read_by_an_independent_reader(result, tmp_path):
    """scipy's own netCDF-3 reader (not xarray) sees the same numbers and labels."""
    from scipy.io import netcdf_file

    path = tmp_path / "ensemble.nc"
    xio.write_netcdf(xio.propensity_dataset(result), path)
    with netcdf_file(str(path), "r", mmap=False) as f:
        np.testing.assert_array_equal(f.variables["propensity"][:], result.propensity)
        np.testing.assert_array_equal(f.variables["fs"][:], result.fs)
        np.testing.assert_array_equal(f.variables["atom"][:], result.ids)
        np.testing.assert_array_equal(f.variables["time"][:], result.times)
        assert f.variables["propensity"].dimensions == ("time", "atom")
        assert f.variables["propensity"].kind == b"propensity_cr"
        assert float(f.q) == result.q


def test_netcdf3_keeps_large_int64(result, tmp_path):
    import dataclasses

    big = dataclasses.replace(result, timesteps=result.timesteps + 2 ** 40, ids=result.ids + 2 ** 35)
    path = tmp_path / "big.nc"
    xio.write_netcdf(xio.propensity_dataset(big), path)
    back = xio.propensity_result(xio.read_netcdf(path))
    np.testing.assert_array_equal(back.timesteps, big.timesteps)
    np.testing.assert_array_equal(back.ids, big.ids)


def test_netcdf_write_is_atomic(result, tmp_path, monkeypatch):
    path = tmp_path / "ensemble.nc"
    xio.write_netcdf(xio.propensity_dataset(result), path)
    before = path.read_bytes()

    def broken(self, *args, **kwargs):
        with open(args[0], "wb") as fh:
            fh.write(b"half a file")
        raise RuntimeError("disk went away")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", broken)
    with pytest.raises(RuntimeError, match="disk went away"):
        xio.write_netcdf(xio.propensity_dataset(result), path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["ensemble.nc"]
    with pytest.raises(InputError, match="unknown netCDF engine"):
        xio.write_netcdf(xio.propensity_dataset(result), path, engine="hdf9")
    with pytest.raises(InputError, match="no such netCDF file"):
        xio.read_netcdf(tmp_path / "missing.nc")
    with pytest.raises(InputError, match="not a glassdyn propensity dataset"):
        xio.propensity_result(xr.Dataset())


def test_propensity_and_fs_dataframes(result):
    df = xio.propensity_dataframe(result)
    assert df.index.name == "id" and list(df.index) == list(result.ids)
    assert list(df.columns[:5]) == ["type", "propensity_cr_t0", "propensity_cr_t0p5", "propensity_cr_t1",
                                    "propensity_cr_t2"]
    np.testing.assert_array_equal(df["propensity_cr_t2"].to_numpy(), result.propensity[-1])
    np.testing.assert_array_equal(df["bond_breaking_t1"].to_numpy(), result.bond_breaking[2])
    assert df.attrs["tau_alpha"] == [float(v) for v in result.tau_alpha]
    fs = xio.fs_dataframe(result)
    np.testing.assert_array_equal(fs["fs_type1"].to_numpy(), result.fs[1])
    np.testing.assert_array_equal(fs["time"].to_numpy(), result.times)


def test_features_round_trip(tmp_path):
    from glassdyn.descriptors import FeatureTable, compute_features

    frames = [configuration(n_side=9, seed=s) for s in (0, 1)]
    tables = [compute_features(f, potential="ka2d", lengths=(1.0, 2.5), descriptors=("rho", "psi6", "z"))
              for f in frames]
    table = FeatureTable.concatenate(tables)          # two frames stacked: rows carry their frame
    ds = xio.features_dataset(table)
    assert list(ds["descriptor"].values[:2]) == ["rho", "rho"] and list(ds["length"].values[:2]) == [1.0, 2.5]
    np.testing.assert_array_equal(ds["features"].sel(feature="psi6_L2.5").values, table.column("psi6_L2.5"))
    path = tmp_path / "features.nc"
    xio.write_netcdf(ds, path)
    back = xio.features_table(xio.read_netcdf(path))
    assert back.names == table.names
    np.testing.assert_array_equal(back.values, table.values)
    np.testing.assert_array_equal(back.ids, table.ids)
    np.testing.assert_array_equal(back.types, table.types)
    assert table.frame is not None
    np.testing.assert_array_equal(back.frame, table.frame)
    import json
    from glassdyn._util import to_jsonable
    assert back.params == json.loads(json.dumps(to_jsonable(table.params)))
    df = xio.features_dataframe(table)
    np.testing.assert_array_equal(df["z_L1.0"].to_numpy(), table.column("z_L1.0"))


def test_cv_round_trip(tmp_path):
    from glassdyn.learn import PropensityModel
    from glassdyn.validation import cross_validate

    rng = np.random.default_rng(0)
    n_conf, n = 4, 60
    X = rng.normal(size=(n_conf * n, 3))
    types = rng.integers(1, 3, n_conf * n)
    y = X @ [1.0, -0.5, 0.2] + 0.3 * rng.normal(size=n_conf * n)
    groups = np.repeat(np.arange(n_conf), n)
    cv = cross_validate(PropensityModel("ridge"), X, y, groups, types=types, feature_names=["a", "b", "c"])
    ds = xio.cv_dataset(cv)
    np.testing.assert_array_equal(ds["pearson"].values, cv.scores.pearson)
    np.testing.assert_array_equal(ds["mae_by_type"].sel(type=2).values, cv.scores.by_type[2].mae)
    np.testing.assert_array_equal(ds["y_pred"].values, cv.y_pred)
    path = tmp_path / "cv.nc"
    xio.write_netcdf(ds, path)
    back = xio.read_netcdf(path)
    for m in ("pearson", "spearman", "r2", "mae", "pearson_by_type"):
        np.testing.assert_array_equal(back[m].values, ds[m].values, err_msg=m)
    assert back.attrs["pearson_mean"] == pytest.approx(cv.summary()["pearson"]["mean"])
    df = xio.cv_dataframe(cv)
    np.testing.assert_array_equal(df["r2"].to_numpy(), cv.scores.r2)
    np.testing.assert_array_equal(df["spearman_type1"].to_numpy(), cv.scores.by_type[1].spearman)
    assert len(df) == n_conf
