"""``glassdyn train``: train a model of propensity on feature tables or described dumps.

::

    glassdyn train runs/*_propensity.dump --target propensity_t10 --model ridge -o model.gdm \\
        [--select imbalance|lasso|pearson --n-features 8] [--cv loco|groupkfold] \\
        [--per-type auto|joint|separate|feature] [--plot]

Inputs: LAMMPS dumps (every frame is one configuration; feature and target columns are per-atom
columns, e.g. written by ``glassdyn describe`` and ``glassdyn propensity``) or feature tables
(``.csv`` with a header, ``.npz``); every file is one configuration unless it has a ``config``
column (:func:`glassdyn.adapters.tables.read_configurations`). When a dump has no feature columns,
the default descriptors are computed. Particle types come from the dump's type column or the
table's ``type`` column (never a feature); ``--per-type`` chooses one model for all types, one per
type, or the type as a feature (:class:`glassdyn.learn.PropensityModel` ``per_type``), and the
held-out scores are printed and reported for all particles and per type. Writes the model file
(``.gdm``, read by ``glassdyn predict``, the OVITO and MDAnalysis front ends) and a
cross-validation report (JSON).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..adapters.tables import load_descriptor_params, read_configurations
from ..errors import InputError, UsageError
from ._common import (check_inputs, check_output_file, ignored, nonnegative_float, nonnegative_int, positive_float,
                      positive_int, require, write_json)

__all__ = ["configure", "run", "stack_configurations", "read_with_types"]

TYPE_COLUMNS = ("type", "types")
#: suffix of model files (glassdyn.modelfile.SUFFIX, not imported here: it imports scikit-learn)
MODEL_SUFFIX = ".gdm"


def _table_types(path: str, n_configs: int) -> list:
    """The ``type`` column of a feature table, split by configuration as ``read_configurations``
    splits the table (``config`` column of a CSV, ``frame`` array of an ``.npz``); None if absent."""
    if path.lower().endswith(".npz"):
        with np.load(path, allow_pickle=False) as z:
            data = {k: np.asarray(z[k]) for k in z.files if k in ("types", "type", "frame", "config")}
        types = data.get("types", data.get("type"))
        split = data.get("config", data.get("frame"))
    else:
        arr = np.atleast_1d(np.genfromtxt(path, delimiter=",", names=True, dtype=float, comments="#",
                                          deletechars="", replace_space="_"))
        cols = arr.dtype.names or ()
        types = np.asarray(arr["type"]) if "type" in cols else None
        split = np.asarray(arr["config"]) if "config" in cols else None
    if types is None:
        return [None] * n_configs
    parts = [types] if split is None else [types[split == v] for v in np.unique(split)]
    if len(parts) != n_configs:
        raise InputError(f"the type column splits into {len(parts)} configurations, the table into {n_configs}",
                         source=path)
    return parts


def read_with_types(inputs, **kwargs):
    """:func:`read_configurations` of all inputs (one call: computed descriptors share one set of
    neighbour cutoffs), each configuration with ``types`` (the dump's type column, the table's
    ``type`` column, or None); a table's type column is never a feature."""
    import os

    from ..adapters.tables import is_table_file
    configs = read_configurations(inputs, **kwargs)
    table_types: dict[int, object] = {}
    pos = 0
    for path in (os.fspath(p) for p in inputs):  # configurations come path by path, in order
        if is_table_file(path):
            n = 0
            while pos + n < len(configs) and configs[pos + n].frame is None and (
                    configs[pos + n].label == path or configs[pos + n].label.startswith(f"{path} config ")):
                n += 1
            for k, t in enumerate(_table_types(path, n) if n else []):
                table_types[pos + k] = t
            pos += n
        else:
            while pos < len(configs) and configs[pos].frame is not None and \
                    configs[pos].label.startswith(f"{path}, frame "):
                pos += 1
    for k, c in enumerate(configs):
        types = getattr(c, "types", None)
        if types is None and c.frame is not None:
            types = np.asarray(c.frame.types)
        drop = [j for j, n in enumerate(c.names) if n in TYPE_COLUMNS]
        if drop:
            if types is None:
                types = c.values[:, drop[0]]
            c.values = np.delete(c.values, drop, axis=1)
            c.names = [n for j, n in enumerate(c.names) if j not in drop]
        if types is None:
            types = table_types.get(k)
        if types is not None and len(types) != len(c.values):
            raise InputError(f"{len(types)} particle types for {len(c.values)} rows", source=c.label)
        c.types = types
    return configs


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


def stack_types(configs):
    """The particle types of all rows (None unless every configuration has them)."""
    from ..learn import check_types
    if any(getattr(c, "types", None) is None for c in configs):
        return None
    return check_types(np.concatenate([np.asarray(c.types) for c in configs]))


def _format_scores(summary: dict, by_type: dict) -> list[str]:
    lines = [f"Pearson r = {summary['pearson']['mean']:.3f} +- {summary['pearson']['std']:.3f}, "
             f"Spearman = {summary['spearman']['mean']:.3f}, R^2 = {summary['r2']['mean']:.3f}, "
             f"MAE = {summary['mae']['mean']:.4g} ({summary['pearson']['n']} configurations)"]
    for t, s in by_type.items():
        lines.append(f"  type {t}: Pearson r = {s['pearson']['mean']:.3f} +- {s['pearson']['std']:.3f}, "
                     f"Spearman = {s['spearman']['mean']:.3f}, R^2 = {s['r2']['mean']:.3f}, "
                     f"MAE = {s['mae']['mean']:.4g}")
    return lines


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="FEATURE_TABLE_OR_DUMP",
                        help="LAMMPS dumps (one configuration per frame) or feature tables (.csv/.npz)")
    parser.add_argument("--target", required=True, help="target column, e.g. propensity_t10")
    parser.add_argument("--model", default="ridge", choices=["linear", "ridge", "lasso", "mlp", "gp"])
    parser.add_argument("-o", "--output", required=True, metavar="MODEL", help="model file to write (.gdm)")
    parser.add_argument("--select", choices=["imbalance", "lasso", "pearson"],
                        help="feature selection, fitted inside each training fold")
    parser.add_argument("--n-features", type=positive_int, help="number of features to select (needs --select)")
    parser.add_argument("--cv", default="loco", choices=["loco", "groupkfold", "none"],
                        help="configuration-wise cross-validation (default leave-one-configuration-out)")
    parser.add_argument("--n-splits", type=positive_int, default=None, help="folds of --cv groupkfold (default 5)")
    parser.add_argument("--per-type", default="auto", choices=["auto", "joint", "separate", "feature"],
                        help="one model for all particle types (joint), one per type (separate), the type as a "
                             "one-hot feature (feature), or auto (default): separate when every type has at least "
                             "1000 training particles (glassdyn.learn.AUTO_MIN_TYPE_ROWS), else joint")
    parser.add_argument("--features", nargs="+", metavar="PATTERN",
                        help="glob patterns of feature columns (default: every descriptor column)")
    parser.add_argument("--alpha", type=nonnegative_float,
                        help="regularisation of ridge, lasso, mlp and gp (see glassdyn.learn.PropensityModel)")
    parser.add_argument("--hidden", type=positive_int, nargs="+", default=None,
                        help="MLP hidden layer sizes (default 32 16)")
    parser.add_argument("--gp-max-samples", type=positive_int, default=None,
                        help="GP training subsample (default 1000)")
    parser.add_argument("--min-distance", type=positive_float,
                        help="keep training particles at mutual distances >= this (decorrelation length)")
    parser.add_argument("--descriptor-params", metavar="JSON_OR_NPZ",
                        help="descriptor parameters to store in the model: a JSON file or the .npz table of "
                             "'glassdyn describe --table' (default: those used to compute the features, when "
                             "this command computed them); glassdyn predict recomputes features with them")
    parser.add_argument("--potential", help="potential preset for computed descriptors (default auto)")
    parser.add_argument("--learning-curve", type=positive_int, nargs="+", metavar="K",
                        help="also score these numbers of selected features (needs --select)")
    parser.add_argument("--report", metavar="JSON", help="cross-validation report (default MODEL.json)")
    parser.add_argument("--plot", action="store_true", help="parity plot (and learning curve) PNGs next to MODEL")
    parser.add_argument("--seed", type=nonnegative_int, default=0)


def check_options(args) -> str:
    """Every option and output, before anything is read; returns the report path.

    A bad value or a conflict raises :class:`~glassdyn.errors.UsageError` (exit code 2); an
    output that cannot be written or a missing package exits with 1.
    """
    from ..potentials import PRESETS
    if args.select and not args.n_features:
        raise UsageError("--select needs --n-features K")
    if args.n_features and not args.select:
        raise UsageError("--n-features is the number of features --select picks: add --select")
    if args.learning_curve and not args.select:
        raise UsageError("--learning-curve needs --select")
    if args.n_splits is not None and args.n_splits < 2:
        raise UsageError(f"--n-splits must be at least 2, got {args.n_splits}")
    if args.n_splits is not None and args.cv != "groupkfold":
        ignored("--n-splits", f"is for --cv groupkfold, not --cv {args.cv}")
    if args.alpha is not None and args.model == "linear":
        ignored("--alpha", "regularises ridge, lasso, mlp and gp; the linear model has none")
    if args.hidden is not None and args.model != "mlp":
        ignored("--hidden", f"sets the layers of --model mlp, not {args.model}")
    if args.gp_max_samples is not None and args.model != "gp":
        ignored("--gp-max-samples", f"is for --model gp, not {args.model}")
    if args.potential is not None and args.potential not in ("auto", *PRESETS):
        raise UsageError(f"unknown --potential '{args.potential}'; choose auto or one of {', '.join(PRESETS)}")
    if args.min_distance is not None:
        from ..adapters.tables import is_table_file
        tables = [p for p in args.inputs if is_table_file(p)]
        if tables:
            raise UsageError(f"--min-distance needs positions: give dumps, not feature tables ({tables[0]})")
    if args.model in ("mlp", "gp"):
        require("skops", f"saving a --model {args.model} file")
    if args.plot:
        require("matplotlib", "--plot")
    check_inputs(args.inputs)
    check_output_file(args.output, suffixes=(MODEL_SUFFIX,), parents=True, inputs=args.inputs)
    rep_path = args.report or str(Path(args.output).with_suffix(".json"))
    check_output_file(rep_path, option="--report", suffixes=(".json",), parents=True, inputs=args.inputs)
    return rep_path


def run(args) -> int:
    rep_path = check_options(args)  # first: a typo is refused before scikit-learn is even imported
    from ..learn import PropensityModel, resolve_per_type
    from ..modelfile import save_model
    from ..validation import cross_validate, learning_curve_features, subsample_min_distance
    n_splits = 5 if args.n_splits is None else args.n_splits
    dparams = load_descriptor_params(args.descriptor_params)
    configs = read_with_types(args.inputs, target=args.target, patterns=args.features,
                              descriptor_params=dparams, potential=args.potential)
    if args.min_distance:
        for c in configs:
            if c.frame is None:
                raise InputError("--min-distance needs positions: give dumps, not feature tables", source=c.label)
            keep = subsample_min_distance(c.frame, args.min_distance, seed=args.seed)
            c.values, c.target, c.ids = c.values[keep], c.target[keep], c.ids[keep]
            if c.types is not None:
                c.types = np.asarray(c.types)[keep]
    X, y, groups, names = stack_configurations(configs)
    for opt, k in (("--n-features", args.n_features), ("--learning-curve", max(args.learning_curve or [0]))):
        if k and k > len(names):
            raise UsageError(f"{opt} {k} is more than the {len(names)} feature columns of the inputs")
    types = stack_types(configs)
    if dparams is None:
        dparams = next((c.params for c in configs if c.params), {})
    # "auto" is decided once, on all training particles, so that the cross-validation scores the
    # model that is saved (a fold holds fewer particles and could fall below the threshold)
    per_type = resolve_per_type(args.per_type, types)
    model = PropensityModel(args.model, alpha=args.alpha, select=args.select, n_features=args.n_features,
                            hidden_layer_sizes=tuple(args.hidden or (32, 16)),
                            gp_max_samples=1000 if args.gp_max_samples is None else args.gp_max_samples,
                            random_state=args.seed, per_type=per_type)
    report: dict = {"inputs": [c.label for c in configs], "target": args.target, "features": names,
                    "per_type": {"requested": args.per_type, "resolved": per_type}}
    if types is not None:
        labels, counts = np.unique(types, return_counts=True)
        report["per_type"]["particles_per_type"] = {str(t): int(n) for t, n in zip(labels.tolist(), counts)}
    metrics = {}
    cv_res = None
    if args.cv != "none":
        cv_res = cross_validate(model, X, y, groups, types=types, cv=args.cv, n_splits=n_splits,
                                feature_names=names)
        report["cross_validation"] = cv_res.to_dict()
        metrics = {"cv": args.cv, **cv_res.summary()}
        by_type = cv_res.summary_by_type()
        if by_type:
            metrics["by_type"] = {str(t): v for t, v in by_type.items()}
        lines = _format_scores(cv_res.summary(), by_type)
        print(f"held-out configurations ({args.cv}, per_type {per_type}): {lines[0]}")
        for line in lines[1:]:
            print(line)
    if args.learning_curve:
        lc = learning_curve_features(model, X, y, groups, args.learning_curve, types=types,
                                     cv=args.cv if args.cv != "none" else "loco", n_splits=n_splits,
                                     feature_names=names)
        report["learning_curve_features"] = lc
    model.fit(X, y, groups, types=types, feature_names=names)
    report["per_type"].update(fitted=model.per_type_, types=None if model.types_ is None else model.types_.tolist())
    print(f"model: {args.model}, per_type {model.per_type_}"
          + ("" if model.types_ is None else f" (types {', '.join(map(str, model.types_.tolist()))})"))
    if args.select:
        if model.selected_features_by_type_:
            for t, feats in model.selected_features_by_type_.items():
                print(f"selected features, type {t}: {', '.join(feats)}")
        else:
            print(f"selected features: {', '.join(model.selected_features_)}")
    out = save_model(model, args.output, descriptor_params=dparams, metrics=metrics, target=args.target,
                     extra={"inputs": report["inputs"]})
    write_json(rep_path, report, parents=True)
    print(f"wrote {out} and {rep_path}", flush=True)
    if args.plot:
        msg = "wrote"
        from ..plots.learn import parity_plot, plot_learning_curve
        stem = str(Path(args.output).with_suffix(""))
        if cv_res is not None:
            parity_plot(y, cv_res.y_pred, f"{stem}_parity.png", groups=groups, label=args.target)
            msg += f" {stem}_parity.png"
        if args.learning_curve:
            lc = report["learning_curve_features"]
            plot_learning_curve(lc["n_features"], lc["mean"], f"{stem}_learning_curve.png", spread=lc["std"],
                                ylabel=f"held-out {lc['metric']} (per configuration)")
            msg += f"{',' if cv_res is not None else ''} {stem}_learning_curve.png"
        if msg != "wrote":
            print(msg)
    return 0
