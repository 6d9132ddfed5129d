"""Replica ensembles on disk: the ``glassdyn simulate`` folder layout, reading replica dumps and
reference configurations, and writing propensity results as LAMMPS dumps and tables.

Folder layout written by :mod:`glassdyn.lammps.simulate` (and read here)::

    manifest.json                    parameters, seeds, versions, per-job results
    config_000/reference.data        equilibrated configuration (LAMMPS data file)
    config_000/reference.lammpstrj   the same, as a dump
    config_000/replica_007.lammpstrj ensemble: id type xu yu [zu] at every dump time

The matching of replicas to their reference (by atom id, with every check) is the core's
:func:`glassdyn.ensemble.build_ensemble`; this module only finds and opens the files.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from .._atomic import write_text_atomic
from ..ensemble import DEFAULT_DT, Ensemble, build_ensemble
from ..errors import InputError
from ..frame import Frame
from .lammps_data import read_data_file
from .lammps_dump import is_dump_file, iter_dump, read_dump, write_dump

__all__ = ["MANIFEST", "config_dir", "reference_path", "replica_path", "load_manifest", "read_reference",
           "load_ensemble", "analyze_replica_dumps", "find_ensembles", "write_propensity_outputs", "DEFAULT_DT"]

#: Name of the manifest of a ``glassdyn simulate`` folder.
MANIFEST = "manifest.json"


# ----------------------------------------------------------------------------- the simulate layout
def config_dir(output, config: int) -> Path:
    """``output/config_XXX``."""
    return Path(output) / f"config_{config:03d}"


def reference_path(output, config: int, kind: str = "data") -> Path:
    """``config_XXX/reference.data`` (``kind='data'``) or ``reference.lammpstrj`` (any other kind)."""
    return config_dir(output, config) / ("reference.data" if kind == "data" else "reference.lammpstrj")


def replica_path(output, config: int, replica: int) -> Path:
    """``config_XXX/replica_YYY.lammpstrj``."""
    return config_dir(output, config) / f"replica_{replica:03d}.lammpstrj"


def load_manifest(output) -> dict:
    """The ``manifest.json`` of a ``glassdyn simulate`` folder."""
    path = Path(output) / MANIFEST
    if not path.exists():
        raise InputError(f"{output} holds no {MANIFEST}: not a glassdyn simulate folder")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc})", source=str(path)) from None


# ----------------------------------------------------------------------------- reading
def read_reference(path: str | os.PathLike, index: int = 0, *, dimension: int | None = None) -> Frame:
    """Read a reference configuration: a LAMMPS dump (frame ``index``) or a LAMMPS data file.

    A file whose first non-blank line is ``ITEM: TIMESTEP`` (or a ``.gz`` file) is a dump;
    anything else is read as a data file (``write_data`` output, e.g. ``reference.data`` of
    ``glassdyn simulate``).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError("reference configuration not found", source=path)
    if is_dump_file(path):
        return read_dump(path, index, dimension=dimension)
    return read_data_file(path, dimension=dimension)


def _open_replicas(replica_paths, reference, reference_index: int):
    """The checks on replica files shared by :func:`load_ensemble` and :func:`analyze_replica_dumps`:
    returns (paths, reference Frame, lazy frame iterables, one per replica)."""
    paths = [os.fspath(p) for p in replica_paths]
    if len(paths) < 2:
        raise InputError(f"an iso-configurational ensemble needs at least 2 replicas, got {len(paths)}")
    for p in paths:
        if not os.path.isfile(p):
            raise InputError("replica file not found", source=p)
    real = [os.path.realpath(p) for p in paths]
    seen: dict[str, str] = {}
    for p, rp in zip(paths, real):
        if rp in seen:
            raise InputError(f"the same file is given twice (also as {seen[rp]}); each replica must be a "
                             "separate run", source=p)
        seen[rp] = p
    ref_path = reference.source if isinstance(reference, Frame) else os.fspath(reference)
    if ref_path and os.path.isfile(ref_path):
        for p, rp in zip(paths, real):
            if rp == os.path.realpath(ref_path):
                raise InputError("this replica is the reference configuration file itself; give the reference "
                                 "with --reference and the replica dumps as positional arguments", source=p)
    ref = reference if isinstance(reference, Frame) else read_reference(ref_path, reference_index)
    dimension = ref.dimension
    # iter_dump checks each file now (exists, is a dump) and parses its frames only when iterated
    return paths, ref, [iter_dump(p, dimension=dimension) for p in paths]


def load_ensemble(replica_paths: Sequence[str | os.PathLike], reference: str | os.PathLike | Frame, *,
                  times: Sequence[float] | None = None, dt: float = DEFAULT_DT, origin_step: int = 0,
                  reference_index: int = 0,
                  progress: Callable[[Iterable], Iterable] | None = None) -> Ensemble:
    """Read replica dumps and their reference configuration, and match them (core
    :func:`glassdyn.ensemble.build_ensemble`).

    Parameters
    ----------
    replica_paths : sequence of path
        One dump per replica (frames in time order, any atom order).
    reference : path or Frame
        The configuration the replicas were started from: a LAMMPS dump (frame
        ``reference_index``) or data file, see :func:`read_reference`.
    times, dt, origin_step, progress
        See :func:`glassdyn.ensemble.build_ensemble`.

    Returns
    -------
    Ensemble
        Every replica in memory (R * T * N * d * 8 bytes); :func:`analyze_replica_dumps` streams
        them through the analysis instead.
    """
    paths, ref, frames = _open_replicas(replica_paths, reference, reference_index)
    return build_ensemble(ref, frames, sources=paths, times=times, dt=dt, origin_step=origin_step,
                          progress=progress)


def analyze_replica_dumps(replica_paths: Sequence[str | os.PathLike], reference: str | os.PathLike | Frame, *,
                          times: Sequence[float] | None = None, dt: float = DEFAULT_DT, origin_step: int = 0,
                          reference_index: int = 0, progress: Callable[[Iterable], Iterable] | None = None,
                          **analysis):
    """Propensity of replica dumps, read one replica at a time (core :func:`glassdyn.dynamics.analyze_replicas`).

    The same numbers as ``analyze_ensemble(load_ensemble(replica_paths, reference, ...), **analysis)``
    and the same checks, but memory holds one replica's frames at a time instead of all of them.

    Parameters
    ----------
    replica_paths, reference, times, dt, origin_step, reference_index
        As for :func:`load_ensemble`.
    progress : callable, optional
        Wraps the loop over replicas.
    **analysis
        Options of :func:`glassdyn.dynamics.analyze_ensemble` (``potential``, ``cage_relative``,
        ``absolute``, ``drift``, ``cage_cutoff``, ``r_in``, ``r_out``, ``q``,
        ``compute_bond_breaking``, ``fs_cage_relative``).

    Returns
    -------
    glassdyn.dynamics.PropensityResult
        Rows follow the reference sorted by atom id (``result.ids``).
    """
    from ..dynamics import analyze_replicas

    paths, ref, frames = _open_replicas(replica_paths, reference, reference_index)
    return analyze_replicas(ref, frames, sources=paths, times=times, dt=dt, origin_step=origin_step,
                            progress=progress, **analysis)


def _manifest_ensembles(folder: str) -> list[dict]:
    """Configurations listed in a folder's manifest.json (``glassdyn simulate`` or a hand-written list)."""
    path = os.path.join(folder, MANIFEST)
    man = load_manifest(folder)
    if isinstance(man, dict) and man.get("task") == "ensemble":
        return _simulate_ensembles(folder, man, path)
    entries = None
    if isinstance(man, dict):
        for key in ("configurations", "ensembles", "isoconfigurational", "iso", "entries"):
            if isinstance(man.get(key), list):
                entries = man[key]
                break
        if entries is None and ("reference" in man and "replicas" in man):
            entries = [man]
    elif isinstance(man, list):
        entries = man
    if not entries:
        raise InputError("the manifest lists no iso-configurational ensemble (expected entries with "
                         "'reference' and 'replicas')", source=path)
    out = []
    for k, e in enumerate(entries):
        if not isinstance(e, dict) or "reference" not in e or "replicas" not in e:
            raise InputError(f"entry {k} has no 'reference' and 'replicas'", source=path)

        def resolve(p):
            return p if os.path.isabs(p) else os.path.join(folder, p)
        dt = e.get("dt", man.get("dt") if isinstance(man, dict) else None)
        name = e.get("name") or e.get("id") or os.path.splitext(os.path.basename(e["reference"]))[0]
        out.append({"name": str(name), "reference": resolve(e["reference"]),
                    "replicas": [resolve(p) for p in e["replicas"]], "dt": dt})
    return out


def _simulate_ensembles(folder: str, man: dict, path: str) -> list[dict]:
    """Configurations of a ``glassdyn simulate ensemble`` folder."""
    par = man.get("parameters", {})
    try:
        n_conf, n_rep = int(par["configurations"]), int(par["replicas"])
    except (KeyError, TypeError, ValueError):
        raise InputError("the manifest of this ensemble has no 'configurations'/'replicas' parameters",
                         source=path) from None
    out = []
    for c in range(n_conf):
        ref = reference_path(folder, c, "dump")
        if not ref.exists():
            ref = reference_path(folder, c, "data")
        reps = [replica_path(folder, c, r) for r in range(n_rep)]
        missing = [str(p) for p in [ref, *reps] if not p.exists()]
        if missing:
            raise InputError(f"{len(missing)} files of configuration {c} are missing ({', '.join(missing[:3])}"
                             f"{', ...' if len(missing) > 3 else ''}); run the same 'glassdyn simulate' command "
                             "again to finish the interrupted run", source=path)
        out.append({"name": f"config_{c:03d}", "reference": str(ref), "replicas": [str(p) for p in reps],
                    "dt": par.get("dt")})
    return out


def find_ensembles(inputs: Sequence[str], reference: str | None) -> list[dict]:
    """Resolve replica dumps (+ ``reference``) or ``glassdyn simulate`` folders into
    ``[{name, reference, replicas, dt}]``."""
    inputs = [os.fspath(p) for p in inputs]
    for p in inputs:
        if not os.path.exists(p):
            raise InputError("no such file or folder", source=p)
    folders = [p for p in inputs if os.path.isdir(p)]
    if folders:
        if len(folders) != len(inputs):
            raise InputError("give either replica dumps or simulate folders, not both", source=folders[0])
        ens = []
        for f in folders:
            if not os.path.isfile(os.path.join(f, MANIFEST)):
                raise InputError("this folder has no manifest.json; give the replica dumps and --reference "
                                 "explicitly", source=f)
            ens.extend(_manifest_ensembles(f))
        return ens
    if reference is None:
        raise InputError("give the reference configuration with --reference CONFIG (the dump the replicas "
                         "were started from)")
    return [{"name": os.path.splitext(os.path.basename(reference))[0], "reference": reference,
             "replicas": list(inputs), "dt": None}]


# ----------------------------------------------------------------------------- writing
def write_propensity_outputs(result, reference: Frame, dump_path: str, table_path: str, *, times=None,
                             params_path: str | None = None) -> dict:
    """Write the reference with per-atom propensity columns, the F_s table and the parameters.

    Parameters
    ----------
    result : glassdyn.dynamics.PropensityResult
    reference : Frame
        The reference configuration (any atom order; written sorted by id).
    dump_path, table_path : str
        LAMMPS dump with columns ``<result.column>_t<time>`` (``propensity_cr_t10`` for a
        cage-relative propensity at t = 10) and ``bond_breaking_t<time>``;
        CSV of time, timestep, F_s (all particles and per type), mean propensity and bond
        breaking, with ``#`` header lines holding q, tau_alpha and every parameter.
    times : sequence of float, optional
        Times of the per-atom columns (each must be a time of ``result``); all by default.
    params_path : str, optional
        JSON file of parameters, q and tau_alpha.

    Returns
    -------
    dict
        ``{"columns": [...], "dump": ..., "table": ..., "params": ...}``.
    """
    from ..dynamics import time_label
    ref = reference.sorted_by_id()
    if not np.array_equal(ref.ids, result.ids):
        raise InputError("the result does not belong to this reference (atom ids differ)", source=ref.source)
    if times is None:
        idx = list(range(len(result.times)))
    else:
        idx = []
        for t in times:
            k = result.time_index(t)
            if abs(result.times[k] - t) > 1e-6 * max(1.0, abs(t)):
                raise InputError(f"time {t:g} is not in the replicas; available times: "
                                 f"{', '.join(f'{x:g}' for x in result.times)}", source=ref.source)
            idx.append(k)
    prefix = result.column
    cols = {}
    for k in idx:
        lab = time_label(result.times[k])
        cols[f"{prefix}_t{lab}"] = result.propensity[k]
        if result.bond_breaking is not None:
            cols[f"bond_breaking_t{lab}"] = result.bond_breaking[k]
    keep = {k: v for k, v in ref.properties.items() if k not in cols}
    frame = ref.with_properties(**cols)
    frame.properties = {**keep, **cols}
    write_dump(dump_path, frame)
    table = result.fs_table()
    names = list(table)
    lines = [f"# glassdyn propensity {result.params.get('glassdyn_version')}",
             f"# q = {result.q:.6g}  ({result.params.get('q_source')})"]
    for k in range(len(result.tau_alpha)):
        if k == 0 or np.any(result.types == k):
            lines.append(f"# tau_alpha_{'all' if k == 0 else f'type{k}'} = {result.tau_alpha[k]:.6g}")
    lines.append("# params = " + json.dumps(result.params, default=str))
    lines.append(",".join(names))
    data = np.column_stack([np.asarray(table[n], dtype=float) for n in names])
    for row, ts in zip(data, result.timesteps):
        vals = [f"{v:.10g}" for v in row]
        vals[names.index("timestep")] = str(int(ts))
        lines.append(",".join(vals))
    write_text_atomic(table_path, "\n".join(lines) + "\n")
    if params_path:
        doc = {"q": result.q, "tau_alpha": {("all" if k == 0 else f"type{k}"): (None if not np.isfinite(v) else v)
                                            for k, v in enumerate(result.tau_alpha.tolist())
                                            if k == 0 or np.any(result.types == k)},
               "columns": list(cols), "params": result.params}
        write_text_atomic(params_path, json.dumps(doc, indent=2, default=str) + "\n")
    return {"columns": list(cols), "dump": dump_path, "table": table_path, "params": params_path}
