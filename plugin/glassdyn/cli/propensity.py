"""``glassdyn propensity``: propensity, bond breaking, F_s(q, t) and tau_alpha from replicas.

Usage::

    glassdyn propensity rep0.dump rep1.dump ... --reference config.dump -o config_prop.dump
    glassdyn propensity ensemble_folder/ -o results/          # written by `glassdyn simulate`

Writes, per configuration:

* ``OUT`` (a LAMMPS dump): the reference configuration with per-atom columns
  ``propensity_cr_t<time>`` (cage-relative, the 2D default; ``propensity_t<time>`` for plain
  displacements, the 3D default; ``_abs`` added for ``--absolute``) and ``bond_breaking_t<time>``
  at the requested times (``--times``, all times by default; a ``.`` in a time becomes ``p``:
  ``propensity_cr_t0p5``);
* ``<OUT stem>_fs.csv``: time, timestep, F_s(q, t) of all particles and per type, mean
  propensity and bond breaking; ``#`` header lines hold tau_alpha, q and every parameter;
* ``<OUT stem>_params.json``: parameters, q, tau_alpha and the glassdyn version;
* with ``--plot``: ``<OUT stem>_fs.png`` and ``<OUT stem>_propensity.png``.

Times are ``timestep * dt`` (``--dt``, 0.005 by default), counted from the replicas' timestep
0. All frames of every replica are held in memory: R * T * N * d * 8 bytes.

Files are found and written by :mod:`glassdyn.adapters.replicas`; the dynamics are the core's
:func:`glassdyn.dynamics.analyze_ensemble`.
"""
from __future__ import annotations

import argparse
import os


from ._common import progress_wrapper

__all__ = ["configure", "run"]


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
                             "'auto' (ka3d in 3D, ternary2d for three types in 2D, else ka2d)")
    parser.add_argument("--displacement", choices=("auto", "cage-relative", "plain"), default="auto",
                        help="propensity and F_s from cage-relative or plain displacements; auto (default): "
                             "cage-relative in 2D, plain in 3D. The column name says which: propensity_cr_t<T> "
                             "or propensity_t<T>")
    parser.add_argument("--cage-relative", dest="displacement", action="store_const", const="cage-relative",
                        help="the same as --displacement cage-relative")
    parser.add_argument("--absolute", action="store_true",
                        help="propensity <|dr|> instead of <|dr|^2> (columns propensity[_cr]_abs_t<T>)")
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


def run(args: argparse.Namespace) -> int:
    from ..adapters.replicas import DEFAULT_DT, find_ensembles, load_ensemble, read_reference, write_propensity_outputs
    from ..dynamics import analyze_ensemble
    from ..potentials import resolve_potential
    ensembles = find_ensembles(args.inputs, args.reference)
    several = len(ensembles) > 1
    for e in ensembles:
        dt = args.dt if args.dt is not None else float(e.get("dt") or DEFAULT_DT)
        ref = read_reference(e["reference"])
        pot = resolve_potential(args.potential, ref)
        ens = load_ensemble(e["replicas"], ref, dt=dt,
                            progress=progress_wrapper(desc="reading replicas", unit="replica", quiet=args.no_progress))
        cage = {"auto": "auto", "cage-relative": True, "plain": False}[args.displacement]
        res = analyze_ensemble(ens, potential=pot, cage_relative=cage, absolute=args.absolute,
                               drift=not args.no_drift_removal, cage_cutoff=args.cage_cutoff, r_in=args.r_in,
                               r_out=args.r_out, q=args.q, compute_bond_breaking=not args.no_bond_breaking,
                               progress=progress_wrapper(desc="replicas", unit="replica", quiet=args.no_progress))
        res.params["potential"] = pot.name
        dump, table, stem = _output_paths(args.output, args.table, e["name"], several)
        info = write_propensity_outputs(res, ens.reference, dump, table, times=args.times, params_path=f"{stem}_params.json")
        msg = (f"{e['name']}: {ens.n_replicas} replicas x {len(ens.times)} times x {ens.reference.n_atoms} atoms; "
               f"q = {res.q:.3g}, tau_alpha = {res.tau_alpha[0]:.4g}; wrote {dump} ({len(info['columns'])} columns), "
               f"{table}")
        if args.plot:
            from ..plots.dynamics import fs_curves, plot_fs, plot_propensity_distribution
            plot_fs(path=f"{stem}_fs.png", **fs_curves(res))
            plot_propensity_distribution(res, f"{stem}_propensity.png")
            msg += f", {stem}_fs.png, {stem}_propensity.png"
        print(msg)
    return 0
