"""``glassdyn describe``: add per-atom structural descriptors to LAMMPS dumps.

Examples
--------
::

    glassdyn describe traj.lammpstrj -o traj_described.lammpstrj
    glassdyn describe traj.lammpstrj -o out.lammpstrj --frames 0:100:10 --table features.npz
    glassdyn describe a.dump b.dump -o described/ --lengths 0.5:5.0:0.5 --cutoffs 1.4,1.15,1.3

The output dump holds the input columns (``id type x y [z]``, unwrapped coordinates, image
flags, other per-atom columns) plus one column per feature (``rho_L0.5`` ... ``z_L5.0``).
OVITO turns dotted column names into ``rho_l0_5``; glassdyn's own reader keeps them.

Neighbour cutoffs (``--cutoffs rdf``, the default) are taken at the first minimum of the
partial g_ab(r) pooled over *every* frame processed (all inputs), one set for the data set,
recorded in the tables and used for every frame; ``--cutoffs frame`` recomputes them per frame.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from ..descriptors import DEFAULT_PROBE_RADIUS, DENSITIES
from ..errors import InputError, UsageError
from ._common import (check_inputs, check_output_file, check_output_folder, check_suffix, ignored, output_folder,
                      positive_float, progress_bar)

_EPILOG = """examples:
  glassdyn describe traj.lammpstrj -o traj_described.lammpstrj
  glassdyn describe traj.lammpstrj -o out.lammpstrj --frames 0:100:10 --table features.npz
  glassdyn describe a.dump b.dump -o described/ --lengths 0.5:5.0:0.5 --cutoffs 1.4,1.15,1.3

The output dump holds the input columns plus one column per feature (rho_L0.5 ... z_L5.0;
OVITO shows them as rho_l0_5 ...). With --cutoffs rdf (default) the neighbour cutoffs are the
first minimum of the partial g_ab(r) pooled over every frame processed, one set for all frames.
Particles without neighbours get NaN for psi6/q6 and Theta."""

__all__ = ["configure", "run", "parse_lengths", "parse_frames", "parse_cutoffs"]


def parse_lengths(values) -> list[float]:
    """Lengths from ``["0.5:5.0:0.5"]`` (inclusive range), ``["1,2,3"]`` or ``["1", "2"]``."""
    out: list[float] = []
    for v in values:
        for part in str(v).split(","):
            part = part.strip()
            if not part:
                continue
            if ":" in part:
                try:
                    start, stop, step = (float(x) for x in part.split(":"))
                except ValueError:
                    raise UsageError(f"bad --lengths range '{part}': write START:STOP:STEP, e.g. 0.5:5.0:0.5") from None
                if not (step > 0 and stop >= start > 0 and np.isfinite(stop)):
                    raise UsageError(f"bad --lengths range '{part}': need 0 < START <= STOP and STEP > 0")
                n = int(np.floor((stop - start) / step + 1e-9)) + 1
                out.extend(round(start + k * step, 10) for k in range(n))
            else:
                try:
                    out.append(float(part))
                except ValueError:
                    raise UsageError(f"bad --lengths value '{part}': give numbers or START:STOP:STEP") from None
                if not (np.isfinite(out[-1]) and out[-1] > 0):
                    raise UsageError(f"bad --lengths value '{part}': lengths must be positive")
    if not out:
        raise UsageError("no --lengths given")
    return out


def parse_frames(text: str | None):
    """``None``/``all`` -> all frames; ``5`` -> frame 5; ``START:STOP[:STEP]`` -> a slice."""
    if text is None or text == "all":
        return None
    try:
        if ":" in text:
            parts = [int(p) if p.strip() else None for p in text.split(":")]
            if len(parts) > 3 or parts[2:3] == [0]:
                raise ValueError
            return slice(*parts)
        return [int(text)]
    except ValueError:
        raise UsageError(f"bad --frames '{text}': give an index (5), a range START:STOP:STEP (0:100:10) "
                         "or 'all'") from None


def parse_cutoffs(text: str | None):
    """``rdf``/``frame`` (g(r) first minimum), a number, or the upper triangle ``AA,AB,BB[,...]``."""
    if text is None or text in ("rdf", "frame"):
        return text or "rdf"
    try:
        vals = [float(v) for v in text.split(",")]
    except ValueError:
        raise UsageError(f"bad --cutoffs '{text}': give 'rdf', 'frame', one number or the upper triangle "
                         "AA,AB,BB (types in order)") from None
    if not all(np.isfinite(v) and v > 0 for v in vals):
        raise UsageError(f"bad --cutoffs '{text}': cutoffs must be positive numbers")
    if len(vals) == 1:
        return vals[0]
    n = int(round((np.sqrt(8 * len(vals) + 1) - 1) / 2))
    if n * (n + 1) // 2 != len(vals):
        raise UsageError(f"--cutoffs has {len(vals)} values: give the upper triangle of the type matrix "
                         "(3 values for 2 types: AA,AB,BB; 6 for 3 types)")
    m = np.zeros((n, n))
    m[np.triu_indices(n)] = vals
    return m + np.triu(m, 1).T


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = "Add per-atom structural descriptors to LAMMPS dumps."
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = _EPILOG
    parser.add_argument("dumps", nargs="+", metavar="DUMP", help="LAMMPS text dump(s)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="output dump (one input) or folder (several inputs)")
    parser.add_argument("--frames", default=None, metavar="START:STOP:STEP",
                        help="frames to process: an index, a range or 'all' (default all)")
    parser.add_argument("--potential", default="auto",
                        help="pair potential preset for e and sigma: ka2d, ternary2d, ka3d, 'auto' (ka3d in 3D, "
                             "ternary2d for three types in 2D, else ka2d; default) or 'none' (no energy)")
    parser.add_argument("--lengths", nargs="+", default=None,
                        help="coarse-graining lengths: numbers, comma lists or START:STOP:STEP (default 0.5:5.0:0.5)")
    parser.add_argument("--descriptors", default=None,
                        help="comma list among rho,phi,e,z,psi6,q4,q6,Theta,G (default rho,phi,e,psi6|q6,Theta,z)")
    parser.add_argument("--cutoffs", default=None,
                        help="neighbour cutoffs: 'rdf' (first minimum of g_ab(r) pooled over every frame of every "
                             "input: one set for the data set; default), "
                             "'frame' (per frame), a number, or the upper triangle AA,AB,BB")
    parser.add_argument("--descriptor-params", metavar="JSON_NPZ_OR_GDM",
                        help="describe exactly as these parameters say (lengths, descriptors, cutoffs, density, "
                             "weighting): a JSON file, a table of 'describe --table' or a model file of 'glassdyn "
                             "train', whose features then match the model's (the other descriptor options "
                             "are refused with it)")
    parser.add_argument("--density", choices=DENSITIES, default=None,
                        help=f"per-particle density averaged by rho and phi (default {DENSITIES[0]}: 1 / radical Voronoi "
                             "cell area; disc_count: the old count of centres within L)")
    parser.add_argument("--probe-radius", type=positive_float, default=None,
                        help=f"probe radius of --density probe (default {DEFAULT_PROBE_RADIUS})")
    parser.add_argument("--weighting", choices=("hard", "exponential"), default=None,
                        help="coarse-graining weights (default hard)")
    parser.add_argument("--exp-truncation", type=positive_float, default=None,
                        help="exponential weights are cut at this many L (default 3)")
    parser.add_argument("--table", default=None, metavar="FILE",
                        help="also write all frames as a table: .npz, .csv or .parquet")
    parser.add_argument("--graph", action="store_true",
                        help="add the Swanson et al. graph flags (graph_degree, graph_component, "
                             "graph_component_size, graph_isolated_a) and print the per-frame counts")
    parser.add_argument("--dimension", type=int, choices=(2, 3), default=None,
                        help="force 2D or 3D (default: 2D when all z are equal)")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress bar and no 'wrote' messages (--graph counts are still printed)")


#: options that shape the descriptors; --descriptor-params fixes them all
_SHAPING = ("lengths", "descriptors", "cutoffs", "density", "probe_radius", "weighting", "exp_truncation")
_TABLE_SUFFIXES = (".npz", ".csv", ".parquet")


def check_options(args) -> tuple:
    """Every option, checked before any work: ``(frames, lengths, cutoffs, descriptors)`` parsed.

    Raises :class:`~glassdyn.errors.UsageError` for a bad value or a conflict (exit code 2).
    """
    from ..descriptors import DESCRIPTORS
    from ..potentials import PRESETS
    if args.descriptor_params is not None:
        given = [f"--{k.replace('_', '-')}" for k in _SHAPING if getattr(args, k) is not None]
        if given:
            raise UsageError(f"--descriptor-params fixes every descriptor parameter; drop {', '.join(given)}")
    frames_sel = parse_frames(args.frames)
    lengths = parse_lengths(args.lengths or ["0.5:5.0:0.5"])
    cut_arg = parse_cutoffs(args.cutoffs)
    descriptors = None if args.descriptors is None else [d.strip() for d in args.descriptors.split(",") if d.strip()]
    if descriptors is not None:
        unknown = [d for d in descriptors if d not in DESCRIPTORS]
        if unknown or not descriptors:
            raise UsageError(f"unknown --descriptors {', '.join(unknown) or repr(args.descriptors)}; choose among "
                             f"{','.join(DESCRIPTORS)}")
    if args.potential.lower() != "none" and args.potential not in ("auto", *PRESETS):
        raise UsageError(f"unknown --potential '{args.potential}'; choose auto, none or one of {', '.join(PRESETS)}")
    if args.probe_radius is not None and args.density != "probe":
        ignored("--probe-radius", "is used by --density probe only")
    if args.exp_truncation is not None and args.weighting != "exponential":
        ignored("--exp-truncation", "is used by --weighting exponential only")
    if args.table:
        check_suffix(args.table, _TABLE_SUFFIXES, "--table", "the table")
    return frames_sel, lengths, cut_arg, descriptors


def _selected(frames_sel, n: int, path: str) -> int:
    """How many of the ``n`` frames of ``path`` ``--frames`` selects (an error when none)."""
    if frames_sel is None:
        return n
    if isinstance(frames_sel, slice):
        k = len(range(n)[frames_sel])
    else:
        k = sum(1 for i in frames_sel if -n <= i < n)
    if k == 0:
        raise InputError(f"--frames selects no frame of this dump (it has {n} frames, 0 to {n - 1})", source=path)
    return k


def run(args) -> int:
    from ..adapters.lammps_dump import count_frames, iter_dump, write_dump
    from ..adapters.tables import check_table_path, load_descriptor_params, save_table
    from ..descriptors import FeatureTable, compute_features, features_from_params
    from ..graph import graph_metrics
    from ..potentials import resolve_potential

    # ---- every option and output, before any work
    frames_sel, lengths, cut_arg, descriptors = check_options(args)
    check_inputs(args.dumps, "dump file")
    several = len(args.dumps) > 1
    if several:
        check_output_folder(args.output)
        outputs = [os.path.join(args.output, os.path.basename(p)) for p in args.dumps]
        if len(set(outputs)) != len(outputs):
            raise UsageError("several input dumps share a file name; describe them one at a time")
        for src, dst in zip(args.dumps, outputs):
            if os.path.abspath(src) == os.path.abspath(dst):
                raise UsageError(f"-o {args.output} would overwrite the input {src}; choose another folder")
    else:
        if os.path.isdir(args.output):
            raise InputError(f"{args.output} is a folder; give an output file name for one input dump")
        outputs = [check_output_file(args.output, inputs=args.dumps)]
    if args.table:
        check_table_path(args.table)  # pandas/pyarrow for .parquet, the folder
        check_output_file(args.table, option="--table", inputs=args.dumps)
    dparams = load_descriptor_params(args.descriptor_params)
    weighting = args.weighting or "hard"
    exp_truncation = 3.0 if args.exp_truncation is None else args.exp_truncation
    density = args.density or DENSITIES[0]
    probe_radius = DEFAULT_PROBE_RADIUS if args.probe_radius is None else args.probe_radius

    totals = [_selected(frames_sel, count_frames(path), path) for path in args.dumps]
    bar = progress_bar(sum(totals), desc="describe", unit="frame", quiet=args.quiet)
    state = {"cutoffs": None, "cutoff_info": None, "tables": [], "frame_map": [], "graph": []}
    if dparams is None and isinstance(cut_arg, str) and cut_arg == "rdf":
        # one set of neighbour cutoffs for the whole data set: g_ab(r) pooled over every frame
        from ..structure import dataset_cutoffs

        def every_frame():
            for path in args.dumps:
                for frame in iter_dump(path, frames_sel, dimension=args.dimension):
                    yield frame
        first = next(iter_dump(args.dumps[0], frames_sel, dimension=args.dimension))
        pot0 = resolve_potential(args.potential, first)
        state["cutoffs"], state["cutoff_info"] = dataset_cutoffs(every_frame(), pot0)

    def described(path):
        for frame in iter_dump(path, frames_sel, dimension=args.dimension):
            pot = resolve_potential(args.potential, frame)
            desc = descriptors
            if desc is None:
                desc = ["rho", "phi", "e", "psi6" if frame.dimension == 2 else "q6", "Theta", "z"]
                if pot is None:
                    desc.remove("e")
            if isinstance(cut_arg, str) and cut_arg == "frame":
                cutoffs = None
            elif isinstance(cut_arg, str):
                cutoffs = state["cutoffs"]
            else:
                cutoffs = cut_arg
            if dparams is not None:
                table = features_from_params(frame, dparams, potential=None if args.potential == "auto"
                                             else args.potential)
            else:
                table = compute_features(frame, pot, lengths=lengths, descriptors=desc, cutoffs=cutoffs,
                                         weighting=weighting, exp_truncation=exp_truncation,
                                         density=density, probe_radius=probe_radius,
                                         cutoff_info=state["cutoff_info"] if cutoffs is state["cutoffs"] else None)
            cols = table.feature_columns()
            if args.graph:
                gm = graph_metrics(frame)
                cols.update(gm.per_particle())
                counts = dict(gm.counts(), source=frame.source, frame=frame.index, timestep=frame.timestep)
                state["graph"].append(counts)
                table.params["graph_counts"] = counts
            if args.table:
                state["tables"].append(table)
                state["frame_map"].append([frame.source, frame.index, frame.timestep])
            if bar is not None:
                bar.update(1)
            yield frame.with_properties(**cols)

    try:
        with output_folder(args.output, create=several):
            for path, out in zip(args.dumps, outputs):
                write_dump(out, described(path))
                if not args.quiet:
                    print(f"wrote {out}", file=sys.stderr)
    finally:
        if bar is not None:
            bar.close()
    if args.table:
        stacked = FeatureTable.concatenate(state["tables"])
        stacked.params["frame_map"] = state["frame_map"]
        if state["graph"]:
            stacked.params["graph_counts"] = state["graph"]
        save_table(stacked, args.table)
        if not args.quiet:
            print(f"wrote {args.table} ({stacked.n_rows} rows x {stacked.n_features} features)", file=sys.stderr)
    if args.graph:
        for c in state["graph"]:
            print(f"{c['source']} frame {c['frame']}: {c['n_components']} components, {c['n_bb_edges']} B-B edges, "
                  f"{c['n_isolated_a']} isolated A")
    return 0
