"""``glassdyn propensity``: propensity, bond breaking, F_s(q, t) and tau_alpha from replicas.

Usage::

    glassdyn propensity rep0.dump rep1.dump ... --reference config.dump -o config_prop.dump
    glassdyn propensity ensemble_folder/ -o results/          # written by `glassdyn simulate`

Writes, per configuration:

* ``OUT`` (a LAMMPS dump): the reference configuration with per-atom columns
  ``propensity_t<time>`` and ``bond_breaking_t<time>`` at the requested times (``--times``,
  all times by default; a ``.`` in a time becomes ``p``: ``propensity_t0p5``);
* ``<OUT stem>_fs.csv``: time, timestep, F_s(q, t) of all particles and per type, mean
  propensity and bond breaking; ``#`` header lines hold tau_alpha, q and every parameter;
* ``<OUT stem>_params.json``: parameters, q, tau_alpha and the glassdyn version;
* with ``--plot``: ``<OUT stem>_fs.png`` and ``<OUT stem>_propensity.png``.

Times are ``timestep * dt`` (``--dt``, 0.005 by default), counted from the replicas' timestep
0. All frames of every replica are held in memory: R * T * N * d * 8 bytes.
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np

from ._atomic import write_text_atomic
from .errors import InputError

__all__ = ["configure", "run", "find_ensembles", "write_outputs", "default_potential"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="REPLICA_DUMP_OR_FOLDER",
                        help="one LAMMPS dump per replica (unwrapped 'xu yu [zu]' or 'x y ix iy'), or a folder "
                             "written by 'glassdyn simulate' (with manifest.json)")
    parser.add_argument("--reference", metavar="CONFIG",
                        help="dump of the configuration the replicas started from (first frame); "
                             "not needed with a simulate folder")
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="output dump (one configuration) or folder (several configurations)")
    parser.add_argument("--times", nargs="+", type=float, metavar="T",
                        help="times (timestep * dt) of the per-atom columns; all times by default")
    parser.add_argument("--dt", type=float, default=None,
                        help="MD timestep (default: the simulate manifest's, else 0.005)")
    parser.add_argument("--potential", default="auto",
                        help="potential whose sigma_ab sets the default cutoffs: ka2d, ka3d, ternary2d or "
                             "'auto' (ka2d / ternary2d / ka3d by dimension and number of types)")
    parser.add_argument("--cage-relative", action="store_true",
                        help="propensity and F_s from cage-relative displacements")
    parser.add_argument("--absolute", action="store_true", help="propensity <|dr|> instead of <|dr|^2>")
    parser.add_argument("--no-drift-removal", action="store_true",
                        help="keep the centre-of-mass drift in the displacements")
    parser.add_argument("--cage-cutoff", type=float, help="cage cutoff (length units; default 1.5 sigma_ab)")
    parser.add_argument("--r-in", type=float, help="bond cutoff at t = 0 (default 1.4 sigma_ab)")
    parser.add_argument("--r-out", type=float, help="bond cutoff at t (default 1.8 sigma_ab)")
    parser.add_argument("--no-bond-breaking", action="store_true", help="skip the bond-breaking propensity")
    parser.add_argument("--q", type=float,
                        help="wave number of F_s (default: first peak of S(q) of the reference)")
    parser.add_argument("--table", metavar="CSV", help="F_s table (default <OUT stem>_fs.csv)")
    parser.add_argument("--plot", action="store_true", help="write PNGs of F_s(q,t) and the propensity distribution")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def default_potential(frame, name: str = "auto"):
    """The potential for the default cutoffs: ``name``, or by dimension and number of types."""
    from .potentials import get_potential
    if name != "auto":
        pot = get_potential(name)
    elif frame.dimension == 3:
        pot = get_potential("ka3d")
    else:
        pot = get_potential("ternary2d" if frame.n_types == 3 else "ka2d")
    pot.check_types(frame.types, frame.ids, source=frame.source, frame=frame.index)
    return pot


def _manifest_ensembles(folder: str) -> list[dict]:
    """Configurations listed in a ``glassdyn simulate`` folder's manifest.json."""
    path = os.path.join(folder, "manifest.json")
    with open(path, encoding="utf-8") as fh:
        try:
            man = json.load(fh)
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON ({exc})", source=path) from None
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
    """Configurations of a ``glassdyn simulate ensemble`` folder (layout of glassdyn.lammps.simulate)."""
    from .lammps.simulate import reference_path, replica_path
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


def find_ensembles(inputs: list[str], reference: str | None) -> list[dict]:
    """Resolve the command's inputs into ``[{name, reference, replicas, dt}]``."""
    folders = [p for p in inputs if os.path.isdir(p)]
    if folders:
        if len(folders) != len(inputs):
            raise InputError("give either replica dumps or simulate folders, not both", source=folders[0])
        ens = []
        for f in folders:
            if not os.path.isfile(os.path.join(f, "manifest.json")):
                raise InputError("this folder has no manifest.json; give the replica dumps and --reference "
                                 "explicitly", source=f)
            ens.extend(_manifest_ensembles(f))
        return ens
    if reference is None:
        raise InputError("give the reference configuration with --reference CONFIG (the dump the replicas "
                         "were started from)")
    return [{"name": os.path.splitext(os.path.basename(reference))[0], "reference": reference,
             "replicas": list(inputs), "dt": None}]


def _output_paths(out: str, table: str | None, name: str, several: bool) -> tuple[str, str, str]:
    if several or out.endswith(("/", os.sep)):
        os.makedirs(out, exist_ok=True)
        dump = os.path.join(out, f"{name}_propensity.dump")
        if several:
            table = None  # one table per configuration, next to its dump
    elif os.path.isdir(out):
        dump = os.path.join(out, f"{name}_propensity.dump")
    else:
        dump = out
    stem = os.path.splitext(dump)[0]
    return dump, table or f"{stem}_fs.csv", stem


def write_outputs(result, reference, dump_path: str, table_path: str, *, times=None,
                  params_path: str | None = None) -> dict:
    """Write the reference with per-atom columns, the F_s table and the parameters.

    Parameters
    ----------
    result : glassdyn.dynamics.PropensityResult
    reference : Frame
        The reference configuration (any atom order; written sorted by id).
    dump_path, table_path : str
    times : sequence of float, optional
        Times of the per-atom columns (each must be a time of ``result``); all by default.
    params_path : str, optional
        JSON file of parameters, q and tau_alpha.

    Returns
    -------
    dict
        ``{"columns": [...], "dump": ..., "table": ..., "params": ...}``.
    """
    from .adapters.lammps_dump import write_dump
    from .dynamics import time_label
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
    cols = {}
    for k in idx:
        lab = time_label(result.times[k])
        cols[f"propensity_t{lab}"] = result.propensity[k]
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


def run(args: argparse.Namespace) -> int:
    from .dynamics import analyze_ensemble
    from .replicas import DEFAULT_DT, load_ensemble, read_reference
    ensembles = find_ensembles(args.inputs, args.reference)
    several = len(ensembles) > 1
    progress = not args.no_progress
    for e in ensembles:
        dt = args.dt if args.dt is not None else float(e.get("dt") or DEFAULT_DT)
        ref = read_reference(e["reference"])
        pot = default_potential(ref, args.potential)
        ens = load_ensemble(e["replicas"], ref, dt=dt, progress=progress)
        res = analyze_ensemble(ens, potential=pot, cage_relative=args.cage_relative, absolute=args.absolute,
                               drift=not args.no_drift_removal, cage_cutoff=args.cage_cutoff, r_in=args.r_in,
                               r_out=args.r_out, q=args.q, compute_bond_breaking=not args.no_bond_breaking,
                               progress=progress)
        res.params["potential"] = pot.name
        dump, table, stem = _output_paths(args.output, args.table, e["name"], several)
        info = write_outputs(res, ens.reference, dump, table, times=args.times, params_path=f"{stem}_params.json")
        msg = (f"{e['name']}: {ens.n_replicas} replicas x {len(ens.times)} times x {ens.reference.n_atoms} atoms; "
               f"q = {res.q:.3g}, tau_alpha = {res.tau_alpha[0]:.4g}; wrote {dump} ({len(info['columns'])} columns), "
               f"{table}")
        if args.plot:
            from .plots_dynamics import plot_fs, plot_propensity_distribution
            plot_fs(res, f"{stem}_fs.png")
            plot_propensity_distribution(res, f"{stem}_propensity.png")
            msg += f", {stem}_fs.png, {stem}_propensity.png"
        print(msg)
    return 0
