"""Results a scientist can open anywhere: labelled ``xarray`` datasets (netCDF files) and pandas tables.

glassdyn's own outputs are LAMMPS dumps (per-atom columns) and JSON; this module gives the same
results as self-describing arrays with named dimensions and coordinates, which xarray, pandas,
netCDF tools (``ncdump``, Panoply, ParaView), MATLAB, Julia and R read directly:

==================================  ==============================================================
function                            content
==================================  ==============================================================
:func:`propensity_dataset`          an ensemble (:class:`~glassdyn.dynamics.PropensityResult` of
                                    :func:`~glassdyn.dynamics.analyze_ensemble`, or of the
                                    MDAnalysis ``Propensity(...).to_result()``): propensity and bond
                                    breaking at every time ``(time, atom)``, F_s(q, t) of all
                                    particles and per type ``(species, time)``, F_s per replica,
                                    tau_alpha ``(species,)``, q and every parameter
:func:`features_dataset`            a :class:`~glassdyn.descriptors.FeatureTable` ``(row, feature)``
                                    with the atom id, type and frame of each row and the descriptor
                                    and coarse-graining length of each feature
:func:`cv_dataset`                  a :class:`~glassdyn.validation.CVResult`: per-configuration
                                    Pearson, Spearman, R^2, MAE (and per type), out-of-fold
                                    predictions, folds and parameters
:func:`write_netcdf`                any of these to a netCDF file, atomically
:func:`read_netcdf`                 a netCDF file back (loaded into memory, file closed)
:func:`propensity_result`           a propensity dataset back into a ``PropensityResult``
:func:`propensity_dataframe`,       pandas DataFrames: one row per atom (propensity and bond
:func:`fs_dataframe`,               breaking at every time), one row per time (F_s, mean propensity),
:func:`features_dataframe`,         one row per particle (features), one row per configuration
:func:`cv_dataframe`                (scores)
==================================  ==============================================================

netCDF engine
-------------
``engine="scipy"`` (the default) writes netCDF-3 (64-bit offset) with SciPy, which glassdyn
already depends on: no C library to install, and every netCDF reader (netCDF-C/netCDF4,
h5netcdf's netCDF-3 fallback, xarray with any engine) opens it. netCDF-3 has no 64-bit
integers: ids and timesteps are stored as 32-bit integers when they fit, otherwise as float64
(exact up to 2^53) with the attribute ``glassdyn_dtype = "int64"``, and :func:`read_netcdf` turns
them back. ``engine="netcdf4"`` or ``"h5netcdf"`` (when installed) write netCDF-4/HDF5 instead, with
native int64 and optional compression (``encoding``). Parameters (dicts) are stored as JSON text in
the ``params_json`` attribute.

``xarray`` and ``pandas`` are imported inside the functions only (extra ``tables`` / ``xarray``).
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping

import numpy as np

from .._atomic import atomic_path
from .._util import glassdyn_version, to_jsonable
from ..errors import InputError, missing_dependency

__all__ = ["propensity_dataset", "features_dataset", "cv_dataset", "write_netcdf", "read_netcdf", "propensity_result",
           "propensity_dataframe", "fs_dataframe", "features_dataframe", "cv_dataframe", "NETCDF_ENGINES"]

#: engines :func:`write_netcdf` accepts (``scipy`` needs nothing beyond SciPy)
NETCDF_ENGINES = ("scipy", "netcdf4", "h5netcdf")
_INT32 = np.iinfo(np.int32)
_LENGTH = re.compile(r"^(?P<descriptor>.+)_L(?P<length>[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)$")


def _xr():
    try:
        import xarray as xr
    except ImportError:  # pragma: no cover - depends on the environment
        raise missing_dependency("xarray", "labelled netCDF/xarray outputs") from None
    return xr


def _pd():
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - depends on the environment
        raise missing_dependency("pandas", "DataFrame outputs") from None
    return pd


def _params_json(params: Mapping) -> str:
    return json.dumps(to_jsonable(dict(params)), sort_keys=True)


def _species_labels(n_rows: int) -> list[str]:
    return ["all"] + [f"type {k}" for k in range(1, n_rows)]


# ------------------------------------------------------------------------------ datasets
def propensity_dataset(result):
    """An ensemble's results as a labelled ``xarray.Dataset``.

    Parameters
    ----------
    result : glassdyn.dynamics.PropensityResult
        From :func:`glassdyn.dynamics.analyze_ensemble` (or ``Propensity(...).to_result()`` of the
        MDAnalysis front end).

    Returns
    -------
    xarray.Dataset
        Dimensions ``time`` (T), ``atom`` (N), ``species`` (``all``, ``type 1``, ...) and ``replica``
        (R). Coordinates: ``time`` (LJ units), ``timestep (time)``, ``atom`` (atom ids),
        ``type (atom)``, ``species``. Variables: ``propensity (time, atom)`` (its kind in the
        attributes ``kind``, e.g. ``propensity_cr``, and ``long_name``), ``bond_breaking (time,
        atom)`` when computed, ``fs (species, time)``, ``fs_per_replica (replica, time)``,
        ``tau_alpha (species)``. Attributes: ``q``, ``kind``, ``cage_relative``, ``absolute``,
        ``glassdyn_version``, ``params_json`` (every parameter as JSON).
    """
    xr = _xr()
    kind = result.column
    params = dict(result.params)
    cage = bool(params.get("cage_relative"))
    absolute = bool(params.get("absolute"))
    what = ("<|dr|>" if absolute else "<|dr|^2>") + (" of cage-relative displacements" if cage else
                                                     " (drift removed)" if params.get("drift_removed", True) else "")
    fs = np.asarray(result.fs, dtype=float)
    coords = {
        "time": ("time", np.asarray(result.times, dtype=float), {"units": "LJ time (timestep * dt)"}),
        "timestep": ("time", np.asarray(result.timesteps, dtype=np.int64)),
        "atom": ("atom", np.asarray(result.ids, dtype=np.int64), {"long_name": "atom id"}),
        "type": ("atom", np.asarray(result.types, dtype=np.int64), {"long_name": "atom type (1-based)"}),
        "species": ("species", _species_labels(fs.shape[0]),
                    {"long_name": "particles averaged: all, or one type"}),
        "replica": ("replica", np.arange(np.asarray(result.fs_per_replica).shape[0], dtype=np.int64)),
    }
    data = {
        "propensity": (("time", "atom"), np.asarray(result.propensity, dtype=float),
                       {"long_name": f"propensity {what} over the replicas", "kind": kind}),
        "fs": (("species", "time"), fs, {"long_name": "self-intermediate scattering function F_s(q, t)",
                                         "kernel": str(params.get("fs_kernel", ""))}),
        "fs_per_replica": (("replica", "time"), np.asarray(result.fs_per_replica, dtype=float),
                           {"long_name": "F_s(q, t) of all particles in each replica"}),
        "tau_alpha": (("species",), np.asarray(result.tau_alpha, dtype=float),
                      {"long_name": "structural relaxation time: F_s(q, tau_alpha) = 1/e (NaN: not reached)",
                       "units": "LJ time"}),
    }
    if result.bond_breaking is not None:
        data["bond_breaking"] = (("time", "atom"), np.asarray(result.bond_breaking, dtype=float),
                                 {"long_name": "bond-breaking propensity C_B = <n_i(t|0) / n_i(0)> (NaN: no bond "
                                               "at t = 0)"})
    attrs = {"title": "glassdyn iso-configurational ensemble", "kind": kind, "cage_relative": int(cage),
             "absolute": int(absolute), "q": float(result.q), "glassdyn_version": glassdyn_version(),
             "params_json": _params_json(params)}
    return xr.Dataset(data, coords={k: v for k, v in coords.items()}, attrs=attrs)


def propensity_result(dataset):
    """A :class:`~glassdyn.dynamics.PropensityResult` from a :func:`propensity_dataset` (or its file).

    Parameters
    ----------
    dataset : xarray.Dataset
        As written by :func:`propensity_dataset` (e.g. :func:`read_netcdf` of its file).

    Returns
    -------
    glassdyn.dynamics.PropensityResult
    """
    from ..dynamics import PropensityResult

    ds = dataset
    for name in ("propensity", "fs", "fs_per_replica", "tau_alpha"):
        if name not in ds:
            raise InputError(f"not a glassdyn propensity dataset: no '{name}' variable")
    params = json.loads(ds.attrs.get("params_json", "{}"))
    bb = np.asarray(ds["bond_breaking"].values, dtype=float) if "bond_breaking" in ds else None
    return PropensityResult(times=np.asarray(ds["time"].values, dtype=float),
                            timesteps=np.asarray(ds["timestep"].values).astype(np.int64),
                            ids=np.asarray(ds["atom"].values).astype(np.int64),
                            types=np.asarray(ds["type"].values).astype(np.int64),
                            propensity=np.asarray(ds["propensity"].values, dtype=float), bond_breaking=bb,
                            fs=np.asarray(ds["fs"].values, dtype=float),
                            fs_per_replica=np.asarray(ds["fs_per_replica"].values, dtype=float),
                            tau_alpha=np.asarray(ds["tau_alpha"].values, dtype=float), q=float(ds.attrs["q"]),
                            params=params)


def features_dataset(table):
    """A feature table as a labelled ``xarray.Dataset``.

    Parameters
    ----------
    table : glassdyn.descriptors.FeatureTable

    Returns
    -------
    xarray.Dataset
        Variable ``features (row, feature)``; coordinates ``feature`` (names such as
        ``Theta_L2.0``), ``descriptor (feature)`` and ``length (feature)`` (the coarse-graining
        length L, NaN for raw columns such as ``G1_mu1.0``), ``id (row)``, ``type (row)`` and
        ``frame (row)`` when known. Attributes: ``glassdyn_version``, ``params_json``.
    """
    xr = _xr()
    names = list(table.names)
    desc, length = [], []
    for n in names:
        m = _LENGTH.match(n)
        desc.append(m.group("descriptor") if m else n)
        length.append(float(m.group("length")) if m else np.nan)
    coords = {"feature": ("feature", names), "descriptor": ("feature", desc),
              "length": ("feature", np.asarray(length), {"long_name": "coarse-graining length L (sigma units)"}),
              "row": ("row", np.arange(table.n_rows, dtype=np.int64)),
              "id": ("row", np.asarray(table.ids, dtype=np.int64), {"long_name": "atom id"})}
    if table.types is not None:
        coords["type"] = ("row", np.asarray(table.types, dtype=np.int64))
    if table.frame is not None:
        coords["frame"] = ("row", np.asarray(table.frame, dtype=np.int64))
    data = {"features": (("row", "feature"), np.asarray(table.values, dtype=float),
                         {"long_name": "per-particle structural descriptors (NaN: undefined)"})}
    return xr.Dataset(data, coords=coords, attrs={"title": "glassdyn feature table",
                                                  "glassdyn_version": glassdyn_version(),
                                                  "params_json": _params_json(table.params)})


def features_table(dataset):
    """A :class:`~glassdyn.descriptors.FeatureTable` from a :func:`features_dataset` (or its file)."""
    from ..descriptors import FeatureTable

    ds = dataset
    if "features" not in ds:
        raise InputError("not a glassdyn feature dataset: no 'features' variable")
    return FeatureTable(names=[str(n) for n in ds["feature"].values], values=np.asarray(ds["features"].values, float),
                        ids=np.asarray(ds["id"].values).astype(np.int64),
                        params=json.loads(ds.attrs.get("params_json", "{}")),
                        types=np.asarray(ds["type"].values).astype(np.int64) if "type" in ds.coords else None,
                        frame=np.asarray(ds["frame"].values).astype(np.int64) if "frame" in ds.coords else None)


def cv_dataset(cv):
    """A configuration-wise cross-validation result as a labelled ``xarray.Dataset``.

    Parameters
    ----------
    cv : glassdyn.validation.CVResult
        From :func:`glassdyn.validation.cross_validate`.

    Returns
    -------
    xarray.Dataset
        ``pearson``, ``spearman``, ``r2``, ``mae (configuration)``; with types also
        ``<metric>_by_type (type, configuration)`` (NaN where a configuration lacks the type);
        ``y_pred (row)`` and ``y_std (row)`` (the out-of-fold predictions). Attributes: the
        summary (``<metric>_mean``, ``<metric>_std``), ``folds_json``, ``params_json``.
    """
    xr = _xr()
    s = cv.scores
    groups = np.asarray(s.groups)
    conf = groups.astype(str) if groups.dtype.kind not in "iuf" else groups
    data = {m: (("configuration",), np.asarray(getattr(s, m), dtype=float)) for m in s.METRICS}
    coords = {"configuration": ("configuration", conf), "row": ("row", np.arange(len(cv.y_pred), dtype=np.int64))}
    if s.by_type:
        types = sorted(s.by_type)
        coords["type"] = ("type", np.asarray(types, dtype=np.int64))
        for m in s.METRICS:
            arr = np.full((len(types), len(groups)), np.nan)
            for i, t in enumerate(types):
                sub = s.by_type[t]
                pos = {g: j for j, g in enumerate(groups.tolist())}
                for g, v in zip(np.asarray(sub.groups).tolist(), np.asarray(getattr(sub, m), float)):
                    arr[i, pos[g]] = v
            data[f"{m}_by_type"] = (("type", "configuration"), arr)
    data["y_pred"] = (("row",), np.asarray(cv.y_pred, dtype=float), {"long_name": "out-of-fold prediction"})
    if cv.y_std is not None:
        data["y_std"] = (("row",), np.asarray(cv.y_std, dtype=float),
                         {"long_name": "out-of-fold Gaussian-process standard deviation"})
    attrs = {"title": "glassdyn configuration-wise cross-validation", "glassdyn_version": glassdyn_version(),
             "folds_json": json.dumps(to_jsonable(cv.folds)), "params_json": _params_json(cv.params)}
    for m, v in cv.summary().items():
        attrs[f"{m}_mean"] = float(v["mean"]) if v["mean"] == v["mean"] else np.nan
        attrs[f"{m}_std"] = float(v["std"])
    return xr.Dataset(data, coords=coords, attrs=attrs)


# ------------------------------------------------------------------------------ files
def _netcdf3_ready(ds):
    """A copy whose int64 / bool / object data netCDF-3 can hold (see the module docstring)."""
    out = ds.copy()
    for name in list(out.variables):
        var = out[name]
        if var.dtype.kind == "b":
            out[name] = var.astype(np.int8)
            out[name].attrs["glassdyn_dtype"] = "bool"
        elif var.dtype.kind in "iu" and var.dtype.itemsize > 4:
            vals = np.asarray(var.values)
            if vals.size and (vals.min() < _INT32.min or vals.max() > _INT32.max):
                conv = var.astype(np.float64)
            else:
                conv = var.astype(np.int32)
            conv.attrs = dict(var.attrs, glassdyn_dtype="int64")
            if name in out.indexes:
                out = out.assign_coords({name: conv})
            else:
                out[name] = conv
    return out


def _restore_dtypes(ds):
    for name in list(ds.variables):
        var = ds[name]
        want = var.attrs.get("glassdyn_dtype")
        if want in ("int64", "bool"):
            conv = var.astype(np.int64 if want == "int64" else bool)
            conv.attrs = {k: v for k, v in var.attrs.items() if k != "glassdyn_dtype"}
            if name in ds.coords:
                ds = ds.assign_coords({name: conv})
            else:
                ds[name] = conv
    return ds


def write_netcdf(dataset, path, *, engine: str = "scipy", encoding: dict | None = None) -> str:
    """Write a dataset of this module (or any ``xarray.Dataset``) to a netCDF file, atomically.

    The file is written to a temporary name in the target folder and renamed over ``path`` only
    when complete, so a reader never sees a half-written file.

    Parameters
    ----------
    dataset : xarray.Dataset
    path : str or path-like
        Target file (``.nc`` by convention).
    engine : {"scipy", "netcdf4", "h5netcdf"}
        ``scipy`` (default): netCDF-3, no extra library; the others: netCDF-4 (need ``netCDF4``
        or ``h5netcdf``).
    encoding : dict, optional
        Passed to ``Dataset.to_netcdf`` (e.g. ``{"propensity": {"zlib": True}}`` with netCDF-4).

    Returns
    -------
    str
        The path written.
    """
    _xr()
    if engine not in NETCDF_ENGINES:
        raise InputError(f"unknown netCDF engine {engine!r}; use one of {', '.join(NETCDF_ENGINES)}")
    path = os.fspath(path)
    ds = _netcdf3_ready(dataset) if engine == "scipy" else dataset
    with atomic_path(path, suffix=".nc") as tmp:
        try:
            ds.to_netcdf(str(tmp), engine=engine, format="NETCDF3_64BIT" if engine == "scipy" else "NETCDF4",
                         encoding=encoding)
        except (ImportError, ValueError) as exc:
            if isinstance(exc, ImportError) or "unrecognized engine" in str(exc) or "not installed" in str(exc):
                module = getattr(exc, "name", None) or {"netcdf4": "netCDF4", "h5netcdf": "h5netcdf"}[engine]
                if "h5py" in str(exc):
                    module = "h5py"
                raise missing_dependency(module, f"netCDF-4 files (engine={engine!r})") from None
            raise
    return path


def read_netcdf(path, *, engine: str | None = None):
    """Read a netCDF file written by :func:`write_netcdf` (loaded into memory; the file is closed).

    Parameters
    ----------
    path : str or path-like
    engine : str, optional
        xarray's choice by default.

    Returns
    -------
    xarray.Dataset
        With the 64-bit integers netCDF-3 could not hold restored.
    """
    xr = _xr()
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError("no such netCDF file", source=path)
    with xr.open_dataset(path, engine=engine) as ds:
        loaded = ds.load()
    return _restore_dtypes(loaded)


# ------------------------------------------------------------------------------ pandas
def propensity_dataframe(result):
    """One row per atom: ``id`` (index), ``type`` and the propensity (and bond breaking) at every time.

    Columns are named as the command line names its dump columns: ``<kind>_t<time>`` (e.g.
    ``propensity_cr_t10``) and ``bond_breaking_t<time>``. ``df.attrs`` holds ``q``,
    ``tau_alpha`` (list: all particles, then per type) and ``kind``.
    """
    from ..dynamics import time_label

    pd = _pd()
    cols = {"type": np.asarray(result.types)}
    for k, t in enumerate(result.times):
        cols[f"{result.column}_t{time_label(t)}"] = result.propensity[k]
    if result.bond_breaking is not None:
        for k, t in enumerate(result.times):
            cols[f"bond_breaking_t{time_label(t)}"] = result.bond_breaking[k]
    df = pd.DataFrame(cols, index=pd.Index(np.asarray(result.ids), name="id"))
    df.attrs.update(q=float(result.q), tau_alpha=[float(v) for v in result.tau_alpha], kind=result.column)
    return df


def fs_dataframe(result):
    """One row per time: ``time``, ``timestep``, ``fs_all``, ``fs_type<k>``, ``mean_propensity``
    (and ``mean_bond_breaking``), as :meth:`glassdyn.dynamics.PropensityResult.fs_table`."""
    pd = _pd()
    df = pd.DataFrame(result.fs_table())
    df.attrs.update(q=float(result.q), tau_alpha=[float(v) for v in result.tau_alpha], kind=result.column)
    return df


def features_dataframe(table):
    """One row per particle: ``id``, [``type``, ``frame``,] then one column per feature."""
    from .tables import to_dataframe

    df = to_dataframe(table)
    df.attrs["params_json"] = _params_json(table.params)
    return df


def cv_dataframe(cv):
    """One row per held-out configuration: ``pearson``, ``spearman``, ``r2``, ``mae`` (and, with
    types, ``<metric>_type<k>``); ``df.attrs["summary"]`` holds the means and standard deviations."""
    ds = cv_dataset(cv)
    pd = _pd()
    cols = {m: ds[m].values for m in cv.scores.METRICS}
    if "type" in ds.coords:
        for m in cv.scores.METRICS:
            for i, t in enumerate(ds["type"].values):
                cols[f"{m}_type{int(t)}"] = ds[f"{m}_by_type"].values[i]
    df = pd.DataFrame(cols, index=pd.Index(ds["configuration"].values, name="configuration"))
    df.attrs["summary"] = cv.summary()
    return df
