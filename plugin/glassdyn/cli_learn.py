"""``glassdyn train``, ``glassdyn predict`` and ``glassdyn classify``.

::

    glassdyn train runs/*_propensity.dump --target propensity_t10 --model ridge -o model.gdm \\
        [--select imbalance|lasso|pearson --n-features 8] [--cv loco|groupkfold] [--plot]
    glassdyn predict new.dump --model model.gdm -o new_pred.dump [--plot]
    glassdyn classify --class fast fast/*.dump --class slow slow/*.dump -o report.json [--plot]

Inputs of ``train``: LAMMPS dumps (every frame is one configuration; feature and target columns
are per-atom columns, e.g. written by ``glassdyn describe`` and ``glassdyn propensity``) or feature
tables (``.csv`` with a header, ``.npz`` with ``names`` + ``values`` and target arrays); every file
is one configuration unless it has a ``config`` column. When a dump has no feature columns, the
default descriptors are computed (:func:`glassdyn.descriptors.compute_features`).

``predict`` reads the features the model needs from the dump columns when they are all there,
else recomputes them with the descriptor parameters stored in the model file, and writes
``propensity_pred`` (and ``propensity_std`` for the Gaussian process) as per-atom columns.
"""
from __future__ import annotations

import argparse
import fnmatch
import inspect
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._atomic import write_text_atomic
from .errors import GlassdynError, InputError

#: Per-atom columns that are never features by default (outputs, dynamics, graph flags, LAMMPS extras).
NON_FEATURE_PREFIXES = ("propensity", "bond_breaking", "cb_", "graph_", "c_", "v_", "f_", "dr_", "disp")
NON_FEATURE_NAMES = frozenset({"vx", "vy", "vz", "fx", "fy", "fz", "mass", "q", "mol", "radius", "diameter",
                               "label", "mobility", "dr", "dr2", "config"})
_TABLE_SUFFIXES = (".csv", ".npz")


# ============================================================================ inputs
@dataclass
class Configuration:
    """One configuration read from an input: feature matrix with names, optional target."""

    label: str
    names: list
    values: np.ndarray
    target: np.ndarray | None
    ids: np.ndarray | None = None
    frame: object = None
    params: dict = field(default_factory=dict)


def _is_table(path: str) -> bool:
    return path.lower().endswith(_TABLE_SUFFIXES)


def _is_feature_column(name: str, target: str | None) -> bool:
    if name == target:
        return False
    low = name.lower()
    return low not in NON_FEATURE_NAMES and not low.startswith(NON_FEATURE_PREFIXES)


def _pick_columns(props: dict, patterns, target, source, index) -> list[str]:
    one_d = [k for k, v in props.items() if np.ndim(v) == 1 and np.asarray(v).dtype.kind in "fiu"]
    if patterns:
        names = [k for k in one_d if any(fnmatch.fnmatchcase(k, p) for p in patterns) and k != target]
        if not names:
            raise InputError(f"no per-atom column matches --features {' '.join(patterns)}; columns are "
                             f"{', '.join(one_d) or '(none)'}", source=source, frame=index)
        return names
    return [k for k in one_d if _is_feature_column(k, target)]


def _compute_features(frame, params: dict | None = None, potential: str | None = None):
    """Features of ``frame`` with :func:`glassdyn.descriptors.compute_features` and ``params``."""
    try:
        from .descriptors import compute_features
    except ImportError as exc:
        raise GlassdynError(f"computing descriptors needs glassdyn.descriptors ({exc}); give dumps with "
                            "feature columns (glassdyn describe)") from exc
    sig = inspect.signature(compute_features).parameters
    kw = {k: v for k, v in (params or {}).items() if k in sig and k != "frame"}
    for k in ("lengths", "descriptors"):
        if isinstance(kw.get(k), list):
            kw[k] = tuple(kw[k])
    if potential is not None and "potential" in sig:
        kw["potential"] = potential
    pot = kw.get("potential")
    if isinstance(pot, dict):  # a serialised potential: use its name
        pot = pot.get("name")
    if pot in (None, "auto"):
        from .cli_propensity import default_potential
        kw["potential"] = default_potential(frame, "auto")
    elif isinstance(pot, str):
        from .potentials import get_potential
        kw["potential"] = get_potential(pot)
    return compute_features(frame, **kw)


def _read_table(path: str, target: str | None, patterns) -> list[Configuration]:
    if path.lower().endswith(".npz"):
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: np.asarray(z[k]) for k in z.files}
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read the feature table ({exc})", source=path) from None
        if "names" not in data or "values" not in data:
            raise InputError("an .npz feature table needs arrays 'names' and 'values'", source=path)
        names = [str(n) for n in data["names"]]
        values = np.asarray(data["values"], float)
        cols = {n: values[:, k] for k, n in enumerate(names)}
        # FeatureTable.save layout: ids, types, frame (-> configuration), params (JSON); other
        # 1-D arrays of the right length (e.g. a target) become columns
        for k, v in data.items():
            if k in ("names", "values", "params", "types", "type"):
                continue
            key = {"ids": "id", "frame": "config"}.get(k, k)
            if np.ndim(v) == 1 and len(v) == len(values):
                cols.setdefault(key, v)
    else:
        try:
            arr = np.genfromtxt(path, delimiter=",", names=True, dtype=float, comments="#",
                                deletechars="", replace_space="_")
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read the CSV feature table ({exc})", source=path) from None
        if arr.dtype.names is None:
            raise InputError("a CSV feature table needs a header line of column names", source=path)
        arr = np.atleast_1d(arr)
        cols = {n: np.asarray(arr[n], float) for n in arr.dtype.names}
    groups = cols.pop("config", None)
    ids = cols.pop("id", None)
    y = None
    if target is not None:
        if target not in cols:
            raise InputError(f"no target column '{target}'; columns are {', '.join(cols)}", source=path)
        y = cols.pop(target)
    names = _pick_columns(cols, patterns, target, path, None)
    values = np.column_stack([cols[n] for n in names])
    if groups is None:
        return [Configuration(path, names, values, y, ids)]
    out = []
    for g in np.unique(groups):
        m = groups == g
        out.append(Configuration(f"{path} config {g:g}", names, values[m], None if y is None else y[m],
                                 None if ids is None else ids[m]))
    return out


def read_configurations(paths, *, target: str | None, patterns=None, compute: str = "auto",
                        descriptor_params: dict | None = None, potential: str | None = None,
                        frames=None) -> list[Configuration]:
    """Read configurations (features + target) from dumps and feature tables.

    Parameters
    ----------
    paths : sequence of str
    target : str or None
        Target column (required for training).
    patterns : sequence of str, optional
        Glob patterns of feature columns (default: every numeric column except the target and
        known non-features such as propensity, graph flags, velocities).
    compute : {"auto", "always", "never"}
        Compute descriptors for dumps: when no feature column is found / always / never.
    descriptor_params : dict, optional
        Parameters for :func:`glassdyn.descriptors.compute_features`.
    """
    from .adapters.lammps_dump import iter_dump
    out: list[Configuration] = []
    for path in paths:
        if not os.path.exists(path):
            raise InputError("file not found", source=path)
        if _is_table(path):
            out.extend(_read_table(path, target, patterns))
            continue
        for frame in iter_dump(path, frames):
            frame = frame.sorted_by_id()
            props = frame.properties
            y = None
            if target is not None:
                if target not in props:
                    raise InputError(f"no per-atom column '{target}' (the target); columns are "
                                     f"{', '.join(props) or '(none)'}: run glassdyn propensity first or "
                                     "choose --target", source=path, frame=frame.index)
                y = np.asarray(props[target], float)
            names = [] if compute == "always" else _pick_columns(props, patterns, target, path, frame.index)
            params: dict = {}
            if names:
                values = np.column_stack([np.asarray(props[n], float) for n in names])
            elif compute == "never":
                raise InputError("no feature columns in the dump; run glassdyn describe first",
                                 source=path, frame=frame.index)
            else:
                table = _compute_features(frame, descriptor_params, potential)
                names, values, params = list(table.names), np.asarray(table.values, float), dict(table.params)
                # record the *requested* cutoffs (default: first minimum of g(r) of each frame), not
                # the values resolved on this frame, so that predict recomputes features the same way
                params["cutoffs_resolved"] = params.get("cutoffs")
                params["cutoffs"] = (descriptor_params or {}).get("cutoffs", "rdf")
                if not np.array_equal(np.asarray(table.ids), frame.ids):
                    order = np.argsort(np.asarray(table.ids))
                    values = values[order]
            label = f"{path}, frame {frame.index}"
            out.append(Configuration(label, names, values, y, frame.ids, frame, params))
    if not out:
        raise InputError("no configurations found in the inputs")
    return out


def _stack(configs: list[Configuration]):
    from .learn import check_training_data, stack_tables
    X, y, groups, names = stack_tables([(c.names, c.values) for c in configs],
                                       None if configs[0].target is None else [c.target for c in configs])
    ids = np.concatenate([c.ids if c.ids is not None else np.arange(len(c.values)) for c in configs])
    sources = {k: c.label for k, c in enumerate(configs)}
    if y is not None:
        check_training_data(X, y, groups, ids=ids, sources=sources)
    return X, y, groups, names


def _json_default(o):
    from .learn import _jsonable
    v = _jsonable(o)
    if v is o:
        return str(o)
    return v


def _write_json(path, obj) -> None:
    write_text_atomic(path, json.dumps(obj, indent=1, default=_json_default), parents=True)


def _load_params_file(path: str | None) -> dict | None:
    if path is None:
        return None
    if path.lower().endswith(".npz"):  # a FeatureTable written by glassdyn describe --table
        try:
            with np.load(path, allow_pickle=False) as z:
                return json.loads(str(z["params"]))
        except FileNotFoundError:
            raise InputError("descriptor parameter file not found", source=path) from None
        except (KeyError, ValueError, OSError) as exc:
            raise InputError(f"no descriptor parameters in this table ({exc})", source=path) from None
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise InputError("descriptor parameter file not found", source=path) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc})", source=path) from None


# ============================================================================ train
def configure_train(parser: argparse.ArgumentParser) -> None:
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


def run_train(args) -> int:
    from .learn import PropensityModel, cross_validate, learning_curve_features, subsample_min_distance
    from .modelfile import save_model
    if args.select and not args.n_features:
        raise InputError("--select needs --n-features K")
    dparams = _load_params_file(args.descriptor_params)
    configs = read_configurations(args.inputs, target=args.target, patterns=args.features,
                                  descriptor_params=dparams, potential=args.potential)
    if args.min_distance:
        for c in configs:
            if c.frame is None:
                raise InputError("--min-distance needs positions: give dumps, not feature tables", source=c.label)
            keep = subsample_min_distance(c.frame, args.min_distance, seed=args.seed)
            c.values, c.target, c.ids = c.values[keep], c.target[keep], c.ids[keep]
    X, y, groups, names = _stack(configs)
    if dparams is None:
        dparams = next((c.params for c in configs if c.params), {})
    model = PropensityModel(args.model, alpha=args.alpha, select=args.select, n_features=args.n_features,
                            hidden_layer_sizes=tuple(args.hidden), gp_max_samples=args.gp_max_samples,
                            seed=args.seed)
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
    _write_json(rep_path, report)
    msg = f"wrote {out} and {rep_path}"
    if args.plot:
        from .plots_learn import learning_curve_plot, parity_plot
        stem = str(Path(args.output).with_suffix(""))
        if cv_res is not None:
            parity_plot(y, cv_res.y_pred, f"{stem}_parity.png", groups=groups, label=args.target)
            msg += f", {stem}_parity.png"
        if args.learning_curve:
            learning_curve_plot(report["learning_curve_features"], f"{stem}_learning_curve.png")
            msg += f", {stem}_learning_curve.png"
    print(msg)
    return 0


# ============================================================================ predict
def configure_predict(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="DUMP", help="LAMMPS dumps to predict")
    parser.add_argument("--model", required=True, metavar="FILE", help="model file written by glassdyn train")
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="output dump (one input) or folder (several inputs)")
    parser.add_argument("--compute", choices=["auto", "always", "never"], default="auto",
                        help="recompute descriptors with the model's parameters: when columns are missing "
                             "(auto), always, or never")
    parser.add_argument("--column", default="propensity_pred", help="name of the prediction column")
    parser.add_argument("--plot", action="store_true",
                        help="maps of true (if the target column exists) vs predicted values, parity plot")


def _predict_frame(model, frame, compute: str):
    names = [str(n) for n in model.feature_names_in_]
    props = frame.properties
    have = all(n in props for n in names)
    if compute == "never" or (compute == "auto" and have):
        if not have:
            missing = [n for n in names if n not in props]
            raise InputError(f"the dump lacks feature columns {', '.join(missing[:10])}"
                             f"{' ...' if len(missing) > 10 else ''} needed by the model; use --compute auto",
                             source=frame.source, frame=frame.index)
        X = np.column_stack([np.asarray(props[n], float) for n in names])
        return X, names
    params = model.metadata_.get("descriptor_params") or {}
    table = _compute_features(frame, params)
    values = np.asarray(table.values, float)
    if not np.array_equal(np.asarray(table.ids), frame.ids):
        pos = {int(i): k for k, i in enumerate(np.asarray(table.ids))}
        values = values[[pos[int(i)] for i in frame.ids]]
    # computed columns are named: pick the model's by name (missing ones give a clear error)
    from .learn import check_feature_names
    try:
        idx = check_feature_names(names, list(table.names), reorder=True, context=model._context)
    except InputError as exc:
        raise InputError(f"{exc}", source=frame.source, frame=frame.index) from None
    return values[:, idx], names


def run_predict(args) -> int:
    from .adapters.lammps_dump import iter_dump, write_dump
    from .modelfile import load_model
    model = load_model(args.model)
    target = model.metadata_.get("target")
    multi = len(args.inputs) > 1 or args.output.endswith(os.sep) or os.path.isdir(args.output)
    written = []
    for path in args.inputs:
        if not os.path.exists(path):
            raise InputError("file not found", source=path)
        out_frames = []
        for frame in iter_dump(path):
            X, names = _predict_frame(model, frame, args.compute)
            cols = {}
            if model.model == "gp":
                pred, std = model.predict(X, return_std=True, feature_names=names)
                cols[args.column] = pred
                cols["propensity_std"] = std
            else:
                pred = model.predict(X, feature_names=names)
                cols[args.column] = pred
            out_frames.append(frame.with_properties(**cols))
            true = frame.properties.get(target) if target else None
            msg = f"{path}, frame {frame.index}: {frame.n_atoms} atoms"
            if true is not None:
                from .learn import evaluate_by_configuration
                s = evaluate_by_configuration(true, pred, np.zeros(len(pred)))
                msg += f", Pearson r with {target} = {s.pearson[0]:.3f}, Spearman = {s.spearman[0]:.3f}"
            print(msg)
        if multi:
            os.makedirs(args.output, exist_ok=True)
            out = os.path.join(args.output, f"{Path(path).name.split('.')[0]}_pred.dump")
        else:
            out = args.output
        write_dump(out, out_frames)
        written.append(out)
        if args.plot:
            from .plots_learn import parity_plot, propensity_maps
            stem = str(Path(out).with_suffix(""))
            f0 = out_frames[0]
            true = f0.properties.get(target) if target else None
            propensity_maps(f0.positions, true, f0.properties[args.column], f"{stem}_maps.png",
                            y_std=f0.properties.get("propensity_std"), box=f0.box)
            written.append(f"{stem}_maps.png")
            if true is not None:
                yt = np.concatenate([f.properties[target] for f in out_frames])
                yp = np.concatenate([f.properties[args.column] for f in out_frames])
                g = np.concatenate([np.full(f.n_atoms, k) for k, f in enumerate(out_frames)])
                parity_plot(yt, yp, f"{stem}_parity.png", groups=g, label=target)
                written.append(f"{stem}_parity.png")
    print("wrote " + ", ".join(written))
    return 0


# ============================================================================ classify
def configure_classify(parser: argparse.ArgumentParser) -> None:
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
    from .learn import configuration_features
    configs = read_configurations(paths, target=None, patterns=patterns, descriptor_params=descriptor_params,
                                  potential=potential)
    rows, labels = [], []
    for c in configs:
        extra = {}
        if graph and c.frame is not None and c.frame.n_types >= b_type:
            from .graph import graph_metrics
            counts = graph_metrics(c.frame, b_type=b_type).counts()
            extra = {f"graph_{k}": v / c.frame.n_atoms for k, v in counts.items()}
        rows.append(configuration_features(_named(c), extra=extra))
        labels.append(c.label)
    return rows, labels


def _named(c: Configuration):
    return {n: c.values[:, k] for k, n in enumerate(c.names)}


def run_classify(args) -> int:
    from .learn import classify_configurations
    if len(args.classes) != 2:
        raise InputError(f"give exactly two --class LABEL DUMP... groups, got {len(args.classes)}")
    dparams = _load_params_file(args.descriptor_params)
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
    _write_json(args.output, rep)
    print(f"ROC AUC (nested CV, {args.outer} outer folds) = {res.auc_mean:.3f} +- {res.auc_std:.3f}; "
          f"accuracy = {np.mean(res.accuracy):.3f}; {len(rows)} configurations, {len(res.feature_names)} features")
    msg = f"wrote {args.output}"
    if args.plot:
        from .plots_learn import roc_plot
        png = str(Path(args.output).with_suffix("")) + "_roc.png"
        roc_plot(res, png)
        msg += f", {png}"
    print(msg)
    return 0


if __name__ == "__main__":  # pragma: no cover
    from .cli import main
    sys.exit(main())
