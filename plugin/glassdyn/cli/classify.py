"""``glassdyn classify``: liquid vs glass (or fast vs slow cooling) classification of configurations.

::

    glassdyn classify --class fast fast/*.dump --class slow slow/*.dump -o report.json [--plot]

Every frame of the dumps is one configuration, described by the mean and spread of its per-atom
descriptors (read or computed) and, by default, the Swanson et al. graph metrics; the classifier
is scored by ROC AUC under nested cross-validation (:func:`glassdyn.classification.classify_configurations`).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..adapters.tables import load_descriptor_params, read_configurations
from ..errors import InputError
from ._common import write_json

__all__ = ["configure", "run", "configuration_table"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--class", dest="classes", nargs="+", action="append", required=True,
                        metavar=("LABEL", "DUMP"),
                        help="a class label followed by its dumps (every frame is one configuration); "
                             "give --class twice")
    parser.add_argument("-o", "--output", required=True, metavar="JSON", help="report to write")
    parser.add_argument("--features", nargs="+", metavar="PATTERN",
                        help="glob patterns of per-atom feature columns to average (default: descriptors "
                             "computed with --descriptor-params, or found in the dumps)")
    parser.add_argument("--descriptor-params", metavar="JSON", help="parameters of compute_features")
    parser.add_argument("--potential", help="potential preset for computed descriptors (default auto)")
    parser.add_argument("--no-graph", action="store_true", help="do not add the Swanson graph metrics")
    parser.add_argument("--b-type", type=int, default=2, help="small-particle type for the graph metrics")
    parser.add_argument("--model", default="logistic", choices=["logistic", "mlp", "forest"])
    parser.add_argument("--outer", type=int, default=5, help="outer folds (default 5)")
    parser.add_argument("--inner", type=int, default=3, help="inner folds of the grid search (default 3)")
    parser.add_argument("--plot", action="store_true", help="ROC curve PNG next to the report")
    parser.add_argument("--seed", type=int, default=0)


def configuration_table(paths, *, patterns=None, descriptor_params=None, potential=None, graph: bool = True,
                        b_type: int = 2) -> tuple[list[dict], list[str]]:
    """Per-configuration feature dicts (mean/std of per-atom features + graph metrics) of dumps."""
    from ..classification import configuration_features
    from ..graph import graph_metrics
    configs = read_configurations(paths, target=None, patterns=patterns, descriptor_params=descriptor_params,
                                  potential=potential)
    rows, labels = [], []
    for c in configs:
        extra = {}
        if graph and c.frame is not None and c.frame.n_types >= b_type:
            counts = graph_metrics(c.frame, b_type=b_type).counts()
            extra = {f"graph_{k}": v / c.frame.n_atoms for k, v in counts.items()}
        rows.append(configuration_features(c.feature_columns(), extra=extra))
        labels.append(c.label)
    return rows, labels


def run(args) -> int:
    from ..classification import classify_configurations
    if len(args.classes) != 2:
        raise InputError(f"give exactly two --class LABEL DUMP... groups, got {len(args.classes)}")
    dparams = load_descriptor_params(args.descriptor_params)
    rows, labels, sources = [], [], []
    for group in args.classes:
        if len(group) < 2:
            raise InputError(f"--class {group[0]} lists no dumps")
        r, s = configuration_table(group[1:], patterns=args.features, descriptor_params=dparams,
                                   potential=args.potential, graph=not args.no_graph, b_type=args.b_type)
        rows += r
        sources += s
        labels += [group[0]] * len(r)
    res = classify_configurations(rows, np.array(labels), model=args.model, outer_splits=args.outer,
                                  inner_splits=args.inner, seed=args.seed)
    rep = res.to_dict()
    rep["configurations"] = sources
    write_json(args.output, rep, parents=True)
    print(f"ROC AUC (nested CV, {args.outer} outer folds) = {res.auc_mean:.3f} +- {res.auc_std:.3f}; "
          f"accuracy = {np.mean(res.accuracy):.3f}; {len(rows)} configurations, {len(res.feature_names)} features")
    msg = f"wrote {args.output}"
    if args.plot:
        from ..plots.learn import roc_plot
        png = str(Path(args.output).with_suffix("")) + "_roc.png"
        roc_plot(res, png)
        msg += f", {png}"
    print(msg)
    return 0
