"""``glassdyn select``: information-imbalance feature selection.

::

    glassdyn select runs/*_propensity.dump --target propensity_t10 --mode supervised -o select_out \\
        [--features 'Theta_*' 'rho_*'] [--n-features 15] [--random-control] [--baselines lasso random]

Inputs: LAMMPS dumps (every frame is one configuration; features and target are per-atom columns,
e.g. written by ``glassdyn describe`` and ``glassdyn propensity``) or feature tables (``.csv`` with a
header, ``.npz`` with ``names`` + ``values``); one file is one configuration unless it has a ``config``
column. Outputs in the folder ``-o``: ``order.csv`` (pick, feature, Delta after the pick),
``curves.csv`` (every curve per configuration), ``selection.json`` (everything, with parameters),
``plane.csv`` and ``plane.png`` (supervised: the information-imbalance plane of single features),
``curve.png`` (Delta against the number of features, with the baselines).
"""
from __future__ import annotations

import argparse
import os

import numpy as np

from ..adapters.tables import read_configurations
from ..errors import InputError, UsageError
from ._common import (check_inputs, check_output_folder, ignored, n_jobs, nonnegative_int, positive_int,
                      output_folder, require, write_csv, write_json)

DEFAULT_N_FEATURES = 15
DEFAULT_N_RANDOM = 50

__all__ = ["configure", "run", "read_inputs"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="FEATURES",
                        help="LAMMPS dumps (one configuration per frame) or feature tables (.csv/.npz)")
    parser.add_argument("--target", help="target column (required for --mode supervised), e.g. propensity_t10")
    parser.add_argument("--mode", choices=("supervised", "unsupervised"), default="supervised")
    parser.add_argument("-o", "--output", required=True, help="output folder (created)")
    parser.add_argument("--features", nargs="+", metavar="PATTERN",
                        help="glob patterns of the feature columns (default: every numeric non-target column)")
    parser.add_argument("--n-features", "--n-select", dest="n_features", type=positive_int, default=None,
                        help=f"number of picks (default {DEFAULT_N_FEATURES} or all F features when there are "
                             "fewer; more than F is refused)")
    parser.add_argument("--protocol", choices=("pooled", "per-configuration"), default="pooled",
                        help="pooled: one order minimising the mean Delta over configurations (default); "
                             "per-configuration: the paper's protocol, a greedy selection in every configuration, "
                             "curves averaged, picks per configuration in selection.json and order_per_configuration.csv")
    parser.add_argument("--random-control", action="store_true",
                        help="append an N(0,1) feature 'random_control' (should be picked late)")
    parser.add_argument("--baselines", nargs="*", choices=("lasso", "random"), default=[],
                        help="also compute Lasso selection (supervised) and/or random orders")
    parser.add_argument("--n-random", type=positive_int, default=None,
                        help=f"random orders for --baselines random (default {DEFAULT_N_RANDOM})")
    parser.add_argument("--ties", choices=("average", "strict", "random"), default="average",
                        help="rank rule for equidistant points (default average: the expectation of random tie-breaking)")
    parser.add_argument("--nn-ties", choices=("average", "random", "first"), default="average",
                        help="rule for several nearest neighbours (default average)")
    parser.add_argument("--backend", choices=("exact", "dadapy"), default="exact")
    parser.add_argument("--maxk", type=positive_int, help="dadapy backend: neighbours ranked exactly (default N-1)")
    parser.add_argument("--seed", type=nonnegative_int, default=0)
    parser.add_argument("--n-jobs", "--jobs", dest="n_jobs", type=n_jobs, default=1,
                        help="threads over configurations and candidates (-1: all cores)")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")


def read_inputs(paths, target, patterns):
    """Per-configuration feature matrices, targets (or None) and the common feature names."""
    configs = read_configurations(paths, target=target, patterns=patterns, compute="never")
    names = list(configs[0].names)
    for c in configs[1:]:
        if list(c.names) != names:
            missing = sorted(set(names) ^ set(c.names))
            raise InputError(f"feature columns differ between configurations ({', '.join(missing[:10])}); "
                             "use --features to choose common columns", source=c.label)
    Xs = [np.asarray(c.values, float) for c in configs]
    ys = None if target is None else [np.asarray(c.target, float) for c in configs]
    return Xs, ys, names, [c.label for c in configs]


def check_options(args) -> None:
    """Every option and the output folder, before anything is read (UsageError: exit code 2;
    an unwritable folder or a missing package: exit code 1)."""
    supervised = args.mode == "supervised"
    if supervised and not args.target:
        raise UsageError("--mode supervised needs --target (the propensity column)")
    if not supervised and args.target:
        ignored("--target", "is for --mode supervised; the unsupervised selection uses no target")
    if "lasso" in args.baselines and not supervised:
        raise UsageError("the Lasso baseline needs a target (--mode supervised)")
    if args.n_random is not None and "random" not in args.baselines:
        ignored("--n-random", "sets the random baseline (--baselines random), which is not asked for")
    if args.maxk is not None and args.backend != "dadapy":
        ignored("--maxk", "is for --backend dadapy (the exact engine ranks every neighbour)")
    if args.backend == "dadapy":
        require("dadapy", "--backend dadapy")
    if not args.no_plots:
        try:
            require("matplotlib", "the plots (plane.png, curve.png)")
        except ImportError as exc:
            raise type(exc)(f"{exc}; or add --no-plots") from exc
    check_output_folder(args.output)


def run(args) -> int:
    check_options(args)
    check_inputs(args.inputs)
    from ..imbalance import imbalance_plane
    from ..selection import greedy_supervised, greedy_unsupervised, lasso_selection, random_orders

    supervised = args.mode == "supervised"
    Xs, ys, names, labels = read_inputs(args.inputs, args.target if supervised else None, args.features)
    F = len(names) + (1 if args.random_control else 0)
    if args.n_features is not None and args.n_features > F:
        raise UsageError(f"--n-features {args.n_features} is more than the {F} features of the inputs"
                         + (" (with random_control)" if args.random_control else ""))
    n_select = min(DEFAULT_N_FEATURES, F) if args.n_features is None else args.n_features
    common = dict(feature_names=names, ties=args.ties, nn_ties=args.nn_ties, seed=args.seed)
    protocol = args.protocol.replace("-", "_")
    out = {"inputs": labels}
    plane = None
    if supervised:
        sel = greedy_supervised(Xs, ys, n_features=n_select, random_control=args.random_control,
                                backend=args.backend, maxk=args.maxk, n_jobs=args.n_jobs, protocol=protocol, **common)
        plane = imbalance_plane(Xs, ys, backend=args.backend, maxk=args.maxk, **common)
        out["plane"] = plane.to_dict()
    else:
        sel = greedy_unsupervised(Xs, n_features=n_select, random_control=args.random_control,
                                  backend=args.backend, maxk=args.maxk, n_jobs=args.n_jobs, protocol=protocol, **common)
    out["selection"] = sel.to_dict()
    baselines = []
    nb = min(n_select, len(names))
    if "lasso" in args.baselines:
        lasso = lasso_selection(Xs, ys, n_features=nb, **common)
        baselines.append(lasso)
        out["lasso"] = lasso.to_dict()
    if "random" in args.baselines:
        rnd = random_orders(Xs, ys if supervised else None, n_features=nb,
                            n_orders=DEFAULT_N_RANDOM if args.n_random is None else args.n_random,
                            n_jobs=args.n_jobs, **common)
        baselines.append(rnd)
        out["random"] = rnd.to_dict()

    with output_folder(args.output):
        write_csv(os.path.join(args.output, "order.csv"), ["pick", "feature", "index", "delta_mean", "delta_std"],
                  [[d + 1, nm, k, f"{sel.curve[d]:.10g}", f"{sel.curve_per_config[:, d].std():.10g}"]
                   for d, (nm, k) in enumerate(zip(sel.order, sel.indices))])
        rows = []
        for key, arr in sel.curves.items():
            rows += [[key, c] + [f"{v:.10g}" for v in row] for c, row in enumerate(np.asarray(arr))]
            rows.append([key, "mean"] + [f"{v:.10g}" for v in np.nanmean(arr, axis=0)])
        for b in baselines:
            key = "random_mean" if hasattr(b, "spread") else "lasso"
            rows.append([key, "mean"] + [f"{v:.10g}" for v in b.curve])
            if hasattr(b, "spread"):
                rows.append(["random_spread", "std"] + [f"{v:.10g}" for v in b.spread])
        write_csv(os.path.join(args.output, "curves.csv"),
                  ["curve", "configuration"] + [f"d{d + 1}" for d in range(sel.curve.size)], rows)
        if plane is not None:
            write_csv(os.path.join(args.output, "plane.csv"), ["feature", "delta_feature_to_target", "delta_target_to_feature"],
                      [[nm, f"{plane.forward_mean[k]:.10g}", f"{plane.backward_mean[k]:.10g}"]
                       for k, nm in enumerate(plane.names)])
        if sel.orders_per_configuration is not None:
            write_csv(os.path.join(args.output, "order_per_configuration.csv"),
                      ["configuration"] + [f"pick{d + 1}" for d in range(len(sel.order))],
                      [[labels[c]] + list(o) for c, o in enumerate(sel.orders_per_configuration)])
        write_json(os.path.join(args.output, "selection.json"), out)
        written = ["order.csv", "curves.csv", "selection.json"]
        if plane is not None:
            written.append("plane.csv")
        if sel.orders_per_configuration is not None:
            written.append("order_per_configuration.csv")
        if not args.no_plots:
            from ..plots.imbalance import plot_curve, plot_plane
            if plane is not None:
                plot_plane(plane.forward_mean, plane.backward_mean, os.path.join(args.output, "plane.png"),
                           labels=plane.names, selection=sel)
                written.append("plane.png")
            plot_curve(sel, os.path.join(args.output, "curve.png"), baselines=baselines)
            written.append("curve.png")
    print(f"glassdyn select: {args.mode} order: {', '.join(sel.order)}")
    print(f"glassdyn select: Delta after each pick: {', '.join(f'{v:.3f}' for v in sel.curve)}")
    print(f"glassdyn select: wrote {args.output}/ ({', '.join(written)})")
    return 0
