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
from ..errors import InputError
from ._common import progress_bar

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
                    raise InputError(f"bad length range '{part}': write START:STOP:STEP, e.g. 0.5:5.0:0.5") from None
                if step <= 0 or stop < start:
                    raise InputError(f"bad length range '{part}': need STEP > 0 and STOP >= START")
                n = int(np.floor((stop - start) / step + 1e-9)) + 1
                out.extend(round(start + k * step, 10) for k in range(n))
            else:
                try:
                    out.append(float(part))
                except ValueError:
                    raise InputError(f"bad length '{part}': give numbers or START:STOP:STEP") from None
    if not out:
        raise InputError("no lengths given")
    return out


def parse_frames(text: str | None):
    """``None``/``all`` -> all frames; ``5`` -> frame 5; ``START:STOP[:STEP]`` -> a slice."""
    if text is None or text == "all":
        return None
    try:
        if ":" in text:
            parts = [int(p) if p.strip() else None for p in text.split(":")]
            if len(parts) > 3:
                raise ValueError
            return slice(*parts)
        return [int(text)]
    except ValueError:
        raise InputError(f"bad --frames '{text}': give an index (5), a range START:STOP:STEP (0:100:10) "
                         "or 'all'") from None


def parse_cutoffs(text: str | None):
    """``rdf``/``frame`` (g(r) first minimum), a number, or the upper triangle ``AA,AB,BB[,...]``."""
    if text is None or text in ("rdf", "frame"):
        return text or "rdf"
    try:
        vals = [float(v) for v in text.split(",")]
    except ValueError:
        raise InputError(f"bad --cutoffs '{text}': give 'rdf', 'frame', one number or the upper triangle "
                         "AA,AB,BB (types in order)") from None
    if len(vals) == 1:
        return vals[0]
    n = int(round((np.sqrt(8 * len(vals) + 1) - 1) / 2))
    if n * (n + 1) // 2 != len(vals):
        raise InputError(f"--cutoffs has {len(vals)} values: give the upper triangle of the type matrix "
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
    parser.add_argument("--lengths", nargs="+", default=["0.5:5.0:0.5"],
                        help="coarse-graining lengths: numbers, comma lists or START:STOP:STEP (default 0.5:5.0:0.5)")
    parser.add_argument("--descriptors", default=None,
                        help="comma list among rho,phi,e,z,psi6,q4,q6,Theta,G (default rho,phi,e,psi6|q6,Theta,z)")
    parser.add_argument("--cutoffs", default="rdf",
                        help="neighbour cutoffs: 'rdf' (first minimum of g_ab(r) pooled over every frame of every "
                             "input: one set for the data set; default), "
                             "'frame' (per frame), a number, or the upper triangle AA,AB,BB")
    parser.add_argument("--descriptor-params", metavar="JSON_NPZ_OR_GDM",
                        help="describe exactly as these parameters say (lengths, descriptors, cutoffs, density, "
                             "weighting): a JSON file, a table of 'describe --table' or a model file of 'glassdyn "
                             "train', whose features then match the model's; other options are ignored")
    parser.add_argument("--density", choices=DENSITIES, default=DENSITIES[0],
                        help="per-particle density averaged by rho and phi (default %(default)s: 1 / radical Voronoi "
                             "cell area; disc_count: the old count of centres within L)")
    parser.add_argument("--probe-radius", type=float, default=DEFAULT_PROBE_RADIUS,
                        help="probe radius of --density probe (default %(default)s)")
    parser.add_argument("--weighting", choices=("hard", "exponential"), default="hard",
                        help="coarse-graining weights (default hard)")
    parser.add_argument("--exp-truncation", type=float, default=3.0,
                        help="exponential weights are cut at this many L (default 3)")
    parser.add_argument("--table", default=None, metavar="FILE",
                        help="also write all frames as a table: .npz, .csv or .parquet")
    parser.add_argument("--graph", action="store_true",
                        help="add the Swanson et al. graph flags (graph_degree, graph_component, "
                             "graph_component_size, graph_isolated_a) and print the per-frame counts")
    parser.add_argument("--dimension", type=int, choices=(2, 3), default=None,
                        help="force 2D or 3D (default: 2D when all z are equal)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from ..adapters.lammps_dump import count_frames, iter_dump, write_dump
    from ..adapters.tables import check_table_path, load_descriptor_params, save_table
    from ..descriptors import FeatureTable, compute_features, features_from_params
    from ..graph import graph_metrics
    from ..potentials import resolve_potential

    frames_sel = parse_frames(args.frames)
    dparams = load_descriptor_params(args.descriptor_params)
    lengths = parse_lengths(args.lengths)
    cut_arg = parse_cutoffs(args.cutoffs)
    descriptors = None if args.descriptors is None else [d.strip() for d in args.descriptors.split(",") if d.strip()]
    for path in args.dumps:
        if not os.path.isfile(path):
            raise InputError("no such dump file", source=path)
    if args.table:
        check_table_path(args.table)  # fail before the computation, not after it
    several = len(args.dumps) > 1
    if several:
        os.makedirs(args.output, exist_ok=True)
        outputs = [os.path.join(args.output, os.path.basename(p)) for p in args.dumps]
        if len(set(outputs)) != len(outputs):
            raise InputError("several input dumps share a file name; describe them one at a time")
    else:
        if os.path.isdir(args.output):
            raise InputError(f"{args.output} is a folder; give an output file name for one input dump")
        outputs = [args.output]
    for src, dst in zip(args.dumps, outputs):
        if os.path.abspath(src) == os.path.abspath(dst):
            raise InputError("the output would overwrite the input dump; choose another name", source=src)

    totals = []
    for path in args.dumps:
        n = count_frames(path)
        sel = range(n) if frames_sel is None else (range(n)[frames_sel] if isinstance(frames_sel, slice)
                                                   else frames_sel)
        totals.append(len(sel))
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
                                         weighting=args.weighting, exp_truncation=args.exp_truncation,
                                         density=args.density, probe_radius=args.probe_radius,
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
