"""``glassdyn train``: train a model of propensity on feature tables or described dumps.

::

    glassdyn train runs/*_propensity.dump --target propensity_t10 --model ridge -o model.gdm \\
        [--select imbalance|lasso|pearson --n-features 8] [--cv loco|groupkfold] [--plot]

Inputs: LAMMPS dumps (every frame is one configuration; feature and target columns are per-atom
columns, e.g. written by ``glassdyn describe`` and ``glassdyn propensity``) or feature tables
(``.csv`` with a header, ``.npz``); every file is one configuration unless it has a ``config``
column (:func:`glassdyn.adapters.tables.read_configurations`). When a dump has no feature columns,
the default descriptors are computed. Writes the model file (``.gdm``, read by ``glassdyn
predict``, the OVITO and MDAnalysis front ends) and a cross-validation report (JSON).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..adapters.tables import load_descriptor_params, read_configurations
from ..errors import InputError
from ._common import write_json

__all__ = ["configure", "run", "stack_configurations"]


def stack_configurations(configs):
    """``X, y, groups, names`` of configurations read by :func:`read_configurations`, checked."""
    from ..learn import check_training_data, stack_tables
    X, y, groups, names = stack_tables([(c.names, c.values) for c in configs],
                                       None if configs[0].target is None else [c.target for c in configs])
    ids = np.concatenate([c.ids if c.ids is not None else np.arange(len(c.values)) for c in configs])
    sources = {k: c.label for k, c in enumerate(configs)}
    if y is not None:
        check_training_data(X, y, groups, ids=ids, sources=sources)
    return X, y, groups, names


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="FEATURE_TABLE_OR_DUMP",
                        help="LAMMPS dumps (one configuration per frame) or feature tables (.csv/.npz)")
    parser.add_argument("--target", required=True, help="target column, e.g. propensity_t10")
    parser.add_argument("--model", default="ridge", choices=["linear", "ridge", "lasso", "mlp", "gp"])
    parser.add_argument("-o", "--output", required=True, metavar="MODEL", help="model file to write (.gdm)")
    parser.add_argument("--select", choices=["imbalance", "lasso", "pearson"],
                        help="feature selection, fitted inside each training fold")
    parser.add_argument("--n-features", type=int, help="number of features to select")
    parser.add_argument("--cv", default="loco", choices=["loco", "groupkfold", "none"],
                        help="configuration-wise cross-validation (default leave-one-configuration-out)")
    parser.add_argument("--n-splits", type=int, default=5, help="folds of groupkfold (default 5)")
    parser.add_argument("--features", nargs="+", metavar="PATTERN",
                        help="glob patterns of feature columns (default: every descriptor column)")
    parser.add_argument("--alpha", type=float, help="regularisation (see glassdyn.learn.PropensityModel)")
    parser.add_argument("--hidden", type=int, nargs="+", default=[32, 16], help="MLP hidden layer sizes")
    parser.add_argument("--gp-max-samples", type=int, default=1000, help="GP training subsample (default 1000)")
    parser.add_argument("--min-distance", type=float,
                        help="keep training particles at mutual distances >= this (decorrelation length)")
    parser.add_argument("--descriptor-params", metavar="JSON_OR_NPZ",
                        help="descriptor parameters to store in the model: a JSON file or the .npz table of "
                             "'glassdyn describe --table' (default: those used to compute the features, when "
                             "this command computed them); glassdyn predict recomputes features with them")
    parser.add_argument("--potential", help="potential preset for computed descriptors (default auto)")
    parser.add_argument("--learning-curve", type=int, nargs="+", metavar="K",
                        help="also score these numbers of selected features (needs --select)")
    parser.add_argument("--report", metavar="JSON", help="cross-validation report (default MODEL.json)")
    parser.add_argument("--plot", action="store_true", help="parity plot (and learning curve) PNGs next to MODEL")
    parser.add_argument("--seed", type=int, default=0)


def run(args) -> int:
    from ..learn import PropensityModel
    from ..modelfile import save_model
    from ..validation import cross_validate, learning_curve_features, subsample_min_distance
    if args.select and not args.n_features:
        raise InputError("--select needs --n-features K")
    dparams = load_descriptor_params(args.descriptor_params)
    configs = read_configurations(args.inputs, target=args.target, patterns=args.features,
                                  descriptor_params=dparams, potential=args.potential)
    if args.min_distance:
        for c in configs:
            if c.frame is None:
                raise InputError("--min-distance needs positions: give dumps, not feature tables", source=c.label)
            keep = subsample_min_distance(c.frame, args.min_distance, seed=args.seed)
            c.values, c.target, c.ids = c.values[keep], c.target[keep], c.ids[keep]
    X, y, groups, names = stack_configurations(configs)
    if dparams is None:
        dparams = next((c.params for c in configs if c.params), {})
    model = PropensityModel(args.model, alpha=args.alpha, select=args.select, n_features=args.n_features,
                            hidden_layer_sizes=tuple(args.hidden), gp_max_samples=args.gp_max_samples,
                            random_state=args.seed)
    report: dict = {"inputs": [c.label for c in configs], "target": args.target, "features": names}
    metrics = {}
    cv_res = None
    if args.cv != "none":
        cv_res = cross_validate(model, X, y, groups, cv=args.cv, n_splits=args.n_splits, feature_names=names)
        report["cross_validation"] = cv_res.to_dict()
        metrics = {"cv": args.cv, **cv_res.summary()}
        s = cv_res.summary()
        print(f"held-out configurations ({args.cv}): Pearson r = {s['pearson']['mean']:.3f} +- "
              f"{s['pearson']['std']:.3f}, Spearman = {s['spearman']['mean']:.3f}, R^2 = {s['r2']['mean']:.3f}, "
              f"MAE = {s['mae']['mean']:.4g} ({s['pearson']['n']} configurations)")
    if args.learning_curve:
        if not args.select:
            raise InputError("--learning-curve needs --select")
        lc = learning_curve_features(model, X, y, groups, args.learning_curve,
                                     cv=args.cv if args.cv != "none" else "loco", n_splits=args.n_splits,
                                     feature_names=names)
        report["learning_curve_features"] = lc
    model.fit(X, y, groups, feature_names=names)
    if args.select:
        print(f"selected features: {', '.join(model.selected_features_)}")
    out = save_model(model, args.output, descriptor_params=dparams, metrics=metrics, target=args.target,
                     extra={"inputs": report["inputs"]})
    rep_path = args.report or str(Path(args.output).with_suffix(".json"))
    write_json(rep_path, report, parents=True)
    msg = f"wrote {out} and {rep_path}"
    if args.plot:
        from ..plots.learn import parity_plot, plot_learning_curve
        stem = str(Path(args.output).with_suffix(""))
        if cv_res is not None:
            parity_plot(y, cv_res.y_pred, f"{stem}_parity.png", groups=groups, label=args.target)
            msg += f", {stem}_parity.png"
        if args.learning_curve:
            lc = report["learning_curve_features"]
            plot_learning_curve(lc["n_features"], lc["mean"], f"{stem}_learning_curve.png", spread=lc["std"],
                                ylabel=f"held-out {lc['metric']} (per configuration)")
            msg += f", {stem}_learning_curve.png"
    print(msg)
    return 0
