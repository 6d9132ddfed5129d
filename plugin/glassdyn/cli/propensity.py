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
0. Replicas are read and analysed one at a time: memory holds one replica's frames (T * N * d * 8
bytes) and the per-particle sums, not every replica's frames.

Files are found, streamed and written by :mod:`glassdyn.adapters.replicas`
(:func:`~glassdyn.adapters.replicas.analyze_replica_dumps`); the dynamics are the core's
:func:`glassdyn.dynamics.analyze_replicas`, the same numbers as :func:`~glassdyn.dynamics.analyze_ensemble`.
"""
from __future__ import annotations

import argparse
import os

from ..errors import UsageError
from ._common import (check_output_file, check_output_folder, check_suffix, ignored, nonnegative_float, output_folder,
                      positive_float, progress_wrapper, require)

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="REPLICA_DUMP_OR_FOLDER",
                        help="one LAMMPS dump per replica (unwrapped 'xu yu [zu]' or 'x y ix iy'), or a folder "
                             "written by 'glassdyn simulate' (with manifest.json)")
    parser.add_argument("--reference", metavar="CONFIG",
                        help="dump of the configuration the replicas started from (first frame); "
                             "not needed with a simulate folder")
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="output dump (one configuration) or folder (several configurations, or a name "
                             "ending in /)")
    parser.add_argument("--times", nargs="+", type=nonnegative_float, metavar="T",
                        help="times (timestep * dt) of the per-atom columns; all times by default")
    parser.add_argument("--dt", type=positive_float, default=None,
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
    parser.add_argument("--cage-cutoff", type=positive_float, help="cage cutoff (length units; default 1.5 sigma_ab)")
    parser.add_argument("--r-in", type=positive_float, help="bond cutoff at t = 0 (default 1.4 sigma_ab)")
    parser.add_argument("--r-out", type=positive_float, help="bond cutoff at t (default 1.8 sigma_ab)")
    parser.add_argument("--no-bond-breaking", action="store_true", help="skip the bond-breaking propensity")
    parser.add_argument("--q", type=positive_float,
                        help="wave number of F_s (default: first peak of S(q) of the reference)")
    parser.add_argument("--table", metavar="CSV", help="F_s table (default <OUT stem>_fs.csv; one configuration only)")
    parser.add_argument("--plot", action="store_true", help="write PNGs of F_s(q,t) and the propensity distribution")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bars (old spelling: --no-progress)")


def _output_paths(out: str, table: str | None, name: str, several: bool) -> tuple[str, str, str, str | None]:
    """``(dump, table, stem, folder)`` of one configuration; ``folder`` (to create) is None for a file."""
    folder = None
    if several or out.endswith(("/", os.sep)) or os.path.isdir(out):
        folder = out
        dump = os.path.join(out, f"{name}_propensity.dump")
    else:
        dump = out
    stem = os.path.splitext(dump)[0]
    return dump, table or f"{stem}_fs.csv", stem, folder


def _check_options(args) -> None:
    """The options alone, before anything is read (UsageError, exit code 2)."""
    from ..potentials import PRESETS
    if args.potential not in ("auto", *PRESETS):
        raise UsageError(f"unknown --potential '{args.potential}'; choose auto or one of {', '.join(PRESETS)}")
    if args.r_in is not None and args.r_out is not None and args.r_out <= args.r_in:
        raise UsageError(f"--r-out {args.r_out:g} must be larger than --r-in {args.r_in:g}")
    if args.no_bond_breaking and (args.r_in is not None or args.r_out is not None):
        ignored("--r-in/--r-out", "set the bond breaking, which --no-bond-breaking skips")
    if args.table:
        check_suffix(args.table, (".csv",), "--table", "the F_s table")
    if args.plot:
        require("matplotlib", "--plot")


def run(args: argparse.Namespace) -> int:
    from ..adapters.replicas import (DEFAULT_DT, analyze_replica_dumps, find_ensembles, read_reference,
                                     write_propensity_outputs)
    from ..potentials import resolve_potential
    _check_options(args)
    ensembles = find_ensembles(args.inputs, args.reference)
    several = len(ensembles) > 1
    if args.reference is not None and any(os.path.isdir(p) for p in args.inputs):
        raise UsageError("--reference is for replica dumps; a simulate folder names its own references")
    if several and args.table:
        raise UsageError(f"--table names one F_s table, but there are {len(ensembles)} configurations (each gets "
                         "<name>_propensity_fs.csv next to its dump); drop --table")
    plans = [(e, *_output_paths(args.output, args.table, e["name"], several)) for e in ensembles]
    for _, dump, table, _, folder in plans:  # every output, before any work
        if folder is not None:
            check_output_folder(folder)
        else:
            check_output_file(dump, inputs=[*args.inputs, *(e["reference"] for e in ensembles)])
        if table != f"{os.path.splitext(dump)[0]}_fs.csv":
            check_output_file(table, option="--table")
    folder = plans[0][4]  # the same for every configuration
    with output_folder(folder, create=folder is not None):
        for e, dump, table, stem, _ in plans:
            dt = args.dt if args.dt is not None else float(e.get("dt") or DEFAULT_DT)
            ref = read_reference(e["reference"])
            pot = resolve_potential(args.potential, ref)
            cage = {"auto": "auto", "cage-relative": True, "plain": False}[args.displacement]
            res = analyze_replica_dumps(e["replicas"], ref, dt=dt, potential=pot, cage_relative=cage,
                                        absolute=args.absolute, drift=not args.no_drift_removal,
                                        cage_cutoff=args.cage_cutoff, r_in=args.r_in, r_out=args.r_out, q=args.q,
                                        compute_bond_breaking=not args.no_bond_breaking,
                                        progress=progress_wrapper(desc="replicas", unit="replica",
                                                                  quiet=args.quiet))
            res.params["potential"] = pot.name
            params = f"{stem}_params.json"
            info = write_propensity_outputs(res, ref, dump, table, times=args.times, params_path=params)
            print(f"{e['name']}: {res.params['n_replicas']} replicas x {len(res.times)} times x {ref.n_atoms} atoms; "
                  f"q = {res.q:.3g}, tau_alpha = {res.tau_alpha[0]:.4g}; wrote {dump} ({len(info['columns'])} columns), "
                  f"{table}, {params}", flush=True)
            if args.plot:
                from ..plots.dynamics import fs_curves, plot_fs, plot_propensity_distribution
                plot_fs(path=f"{stem}_fs.png", **fs_curves(res))
                plot_propensity_distribution(res, f"{stem}_propensity.png")
                print(f"{e['name']}: wrote {stem}_fs.png, {stem}_propensity.png")
    return 0
