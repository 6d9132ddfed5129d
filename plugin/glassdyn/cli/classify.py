"""``glassdyn classify``: liquid vs glass (or fast vs slow cooling) classification of configurations.

::

    glassdyn classify --class fast fast/*.dump --class slow slow/*.dump -o report.json [--plot]
    glassdyn classify --class liquid liq*.dump --class glass gl*.dump --model mpnn --k 2 4 \\
                      -o report.json --save-model glass.gdnn          # D-MPNN with attention, nested CV
    glassdyn classify --apply glass.gdnn new/*.dump -o probs.csv \\
                      [--attention-dump att.lammpstrj --bonds bonds.csv]

Every frame of the dumps is one configuration. Descriptor models (``logistic``, ``mlp``,
``forest``) use the mean and spread of its per-atom descriptors (read or computed) and, by
default, the Swanson et al. graph metrics; they are scored by ROC AUC under nested
cross-validation (:func:`glassdyn.classification.classify_configurations`). The networks
(``cnn``, ``mpnn``; need the ``deep`` extra) classify random windows of each configuration and are
scored under the nested scheme of Swanson et al. (:func:`glassdyn.classification.nested_splits`,
3 outer test sets of 20% by default; several ``--k`` or ``--dropout`` values are searched inside
every outer fold); ``--save-model`` then trains one network on all configurations and writes it
in the safe ``.gdnn`` format (no pickle). ``--apply`` loads such a file and writes, per
configuration, the probability of the positive class (the mean over random windows, with its
spread); for an attention D-MPNN, ``--attention-dump`` writes the configurations with per-atom
attention columns and ``--bonds`` the attention of every bond.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..adapters.tables import load_descriptor_params, read_configurations
from ..errors import InputError, UsageError
from ._common import check_inputs, check_output_file, nonnegative_int, positive_int, require, write_csv, write_json

__all__ = ["configure", "run", "configuration_table", "DEEP_MODELS", "DESCRIPTOR_MODELS"]

DESCRIPTOR_MODELS = ("logistic", "mlp", "forest")
DEEP_MODELS = ("cnn", "mpnn")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--class", dest="classes", nargs="+", action="append", metavar=("LABEL", "DUMP"),
                        help="a class label followed by its dumps (every frame is one configuration); "
                             "give --class twice (the positive class is the later label in sorted order)")
    parser.add_argument("--apply", nargs="+", metavar=("MODEL", "DUMP"),
                        help="a .gdnn model file followed by dumps: write per-configuration probabilities (-o CSV)")
    parser.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="report to write (JSON), or with --apply the probabilities (CSV)")
    parser.add_argument("--features", nargs="+", metavar="PATTERN",
                        help="glob patterns of per-atom feature columns to average (default: descriptors "
                             "computed with --descriptor-params, or found in the dumps)")
    parser.add_argument("--descriptor-params", metavar="JSON", help="parameters of compute_features")
    parser.add_argument("--potential", help="potential preset for computed descriptors (default auto)")
    parser.add_argument("--no-graph", action="store_true", help="do not add the Swanson graph metrics")
    parser.add_argument("--graph-construction", choices=["text", "code"], default="text",
                        help="graph metrics as the paper's text (default) or the authors' code builds them")
    parser.add_argument("--b-type", type=positive_int, default=2, help="small-particle type for the graph metrics")
    parser.add_argument("--model", default="logistic", choices=list(DESCRIPTOR_MODELS + DEEP_MODELS))
    parser.add_argument("--outer", type=nonnegative_int, default=None,
                        help="outer folds (default 5 for descriptor models; 3 test sets of 20%% for the networks, "
                             "0 = no cross-validation, only --save-model)")
    parser.add_argument("--inner", type=positive_int, default=3, help="inner folds of the grid search (default 3)")
    parser.add_argument("--plot", action="store_true", help="ROC curve PNG next to the report")
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="seed of every random choice")
    deep = parser.add_argument_group("networks (--model cnn|mpnn)")
    deep.add_argument("--save-model", metavar="GDNN", help="train on all configurations and save the network here")
    deep.add_argument("--window-side", nargs=2, type=float, default=(0.1, 0.3), metavar=("LO", "HI"),
                      help="side range of the random windows in scaled units (default 0.1 0.3, the paper's)")
    deep.add_argument("--k", nargs="+", type=positive_int, default=[2],
                      help="D-MPNN nearest neighbours; several values are searched (default 2)")
    deep.add_argument("--hidden", type=positive_int, default=64, help="D-MPNN hidden size (default 64; paper 300-2400)")
    deep.add_argument("--steps", type=positive_int, default=3, help="D-MPNN message-passing steps (default 3)")
    deep.add_argument("--no-attention", action="store_true", help="D-MPNN without edge self-attention")
    deep.add_argument("--pixels", type=positive_int, default=64, help="CNN image side (default 64)")
    deep.add_argument("--dropout", nargs="+", type=float, default=None,
                      help="dropout; several values are searched (default 0.1 D-MPNN, 0 CNN)")
    deep.add_argument("--epochs", type=positive_int, default=10)
    deep.add_argument("--windows-per-frame", type=positive_int, default=24, help="training windows per configuration and epoch")
    deep.add_argument("--batch-size", type=positive_int, default=None, help="default 16 (D-MPNN), 8 (CNN)")
    deep.add_argument("--eval-windows", type=positive_int, default=20, help="windows per configuration when scoring")
    deep.add_argument("--threads", type=positive_int, default=1, help="torch threads (default 1)")
    deep.add_argument("--device", default="cpu", help="cpu (default), auto or a torch device")
    deep.add_argument("--attention-dump", metavar="DUMP",
                      help="with --apply (attention D-MPNN): write the configurations with per-atom attention")
    deep.add_argument("--bonds", metavar="CSV", help="with --apply: the attention of every bond")


def configuration_table(paths, *, patterns=None, descriptor_params=None, potential=None, graph: bool = True,
                        b_type: int = 2, construction: str = "text") -> tuple[list[dict], list[str]]:
    """Per-configuration feature dicts (mean/std of per-atom features + graph metrics) of dumps."""
    from ..classification import configuration_features
    from ..graph import graph_metrics
    configs = read_configurations(paths, target=None, patterns=patterns, descriptor_params=descriptor_params,
                                  potential=potential)
    rows, labels = [], []
    for c in configs:
        extra = {}
        if graph and c.frame is not None and c.frame.n_types >= b_type:
            counts = graph_metrics(c.frame, b_type=b_type, construction=construction).counts()
            extra = {f"graph_{k}": v / c.frame.n_atoms for k, v in counts.items()}
        rows.append(configuration_features(c.feature_columns(), extra=extra))
        labels.append(c.label)
    return rows, labels


def _read_frames(paths) -> tuple[list, list[tuple]]:
    """Every frame of the dumps (atoms sorted by id) and its (file, frame index, timestep)."""
    from ..adapters.lammps_dump import iter_dump
    frames, where = [], []
    for p in paths:
        if not Path(p).exists():
            raise InputError("file not found", source=str(p))
        for f in iter_dump(p):
            frames.append(f.sorted_by_id())
            where.append((str(p), int(f.index), f.timestep))
    return frames, where


def _candidates(args):
    from ..deep import Candidate
    side = [float(v) for v in args.window_side]
    train = {"epochs": args.epochs, "windows_per_frame": args.windows_per_frame, "val_windows_per_frame": 8,
             "select": "window_auc", "device": args.device}
    out = []
    if args.model == "mpnn":
        drops = args.dropout or [0.1]
        train.update(batch_size=args.batch_size or 16)
        for k in args.k:
            for d in drops:
                model = {"hidden": args.hidden, "steps": args.steps, "dropout": d, "ffn_layers": 2,
                         "ffn_hidden": max(args.hidden // 2, 1), "attention": not args.no_attention,
                         "attention_steps": max(args.steps - 1, 1), "readout": "mean"}
                out.append(Candidate(f"k{k}_dropout{d:g}", "mpnn", model,
                                     {"k": k, "side": side, "n_types": 2, "distance_offset": 1.0,
                                      "distance_scale": 0.1}, dict(train), "command line"))
    else:
        train.update(batch_size=args.batch_size or 8, lr_init=3e-4, lr_max=1e-3, lr_final=3e-4)
        for d in (args.dropout or [0.0]):
            out.append(Candidate(f"dropout{d:g}", "cnn", {"fc": 80, "dropout": d},
                                 {"pixels": args.pixels, "side": side, "augment": True, "center": True},
                                 dict(train), "command line"))
    return out


def _run_deep(args) -> int:
    from ..classification import nested_splits
    from ..deep import fit_candidate, nested_cv
    frames, where, labels = [], [], []
    for group in args.classes:  # _check made them two non-empty groups with different labels
        f, w = _read_frames(group[1:])
        frames += f
        where += w
        labels += [group[0]] * len(f)
    classes = sorted(set(labels))
    y = np.array([int(lab == classes[1]) for lab in labels])
    cands = _candidates(args)
    outer = 3 if args.outer is None else int(args.outer)
    rep = {"model": args.model, "classes": classes, "configurations": [f"{p}, frame {k}" for p, k, _ in where],
           "labels": labels, "candidates": [c.to_dict() for c in cands], "seed": args.seed}
    chosen = cands[0]
    if outer > 0:
        splits = nested_splits(y, n_outer=outer, test_fraction=min(0.2, 1.0 / outer), seed=args.seed)
        res = nested_cv(frames, y, splits, cands, seed=args.seed, n_eval_windows=args.eval_windows,
                        threads=args.threads, log=print)
        names = res["chosen"]
        chosen = next(c for c in cands if c.name == max(set(names), key=names.count))
        rep.update({"auc": res["auc"], "auc_mean": res["auc_mean"], "auc_std": res["auc_std"],
                    "auc_window": res["auc_window"], "auc_window_mean": res["auc_window_mean"],
                    "scores": res["scores"], "chosen": names, "train_seconds": res["train_seconds"],
                    "folds": [{k: v for k, v in f.items() if k != "history"} for f in res["folds"]],
                    "splits": [{k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in sp.items()}
                               for sp in splits]})
        print(f"ROC AUC ({args.model}, nested CV, {outer} outer test sets) = {res['auc_mean']:.3f} +- "
              f"{res['auc_std']:.3f} over configurations, {res['auc_window_mean']:.3f} over windows; "
              f"{len(frames)} configurations, {res['train_seconds']:.0f} s of training")
    if args.save_model:
        rng = np.random.default_rng(args.seed)
        val = np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), max(1, int(round(0.1 * np.sum(y == c)))),
                                                 replace=False) for c in (0, 1)]))
        tr = np.setdiff1d(np.arange(len(y)), val)
        clf, sec = fit_candidate(chosen, [frames[i] for i in tr], y[tr], [frames[i] for i in val], y[val],
                                 seed=args.seed, threads=args.threads)
        extra = {"classes": classes, "candidate": chosen.to_dict(), "source": "glassdyn classify",
                 "cv_auc_mean": rep.get("auc_mean"), "n_configurations": int(len(y))}
        clf.save(args.save_model, extra=extra)
        rep["saved_model"] = {"path": args.save_model, "candidate": chosen.name, "train_seconds": sec,
                              "best_epoch": clf.best_epoch_}
        print(f"saved {args.model} model ({chosen.name}, {sec:.0f} s of training) to {args.save_model}")
    write_json(args.output, rep, parents=True)
    msg = f"wrote {args.output}"
    if args.plot and outer > 0:
        from types import SimpleNamespace

        from ..plots.learn import roc_plot
        ok = np.isfinite(np.asarray(rep["scores"], float))
        res_like = SimpleNamespace(labels=np.array(labels)[ok], classes=classes,
                                   scores=np.asarray(rep["scores"], float)[ok], auc_mean=rep["auc_mean"],
                                   auc_std=rep["auc_std"])
        png = str(Path(args.output).with_suffix("")) + "_roc.png"
        roc_plot(res_like, png, title=f"{args.model}: out-of-fold configurations (nested CV)")
        msg += f", {png}"
    print(msg)
    return 0


def _run_apply(args) -> int:
    from ..adapters.lammps_dump import write_dump
    from ..classification import mean_by_owner
    from ..deep import attention_map, load_model
    from ..deep.data import draw_windows
    model_path, dumps = args.apply[0], args.apply[1:]
    if not dumps:
        raise InputError("--apply needs a model file and at least one dump: --apply MODEL.gdnn DUMP...")
    clf = load_model(model_path)
    meta = getattr(clf, "metadata_", {})
    classes = (meta.get("extra") or {}).get("classes") or ["class0", "class1"]
    frames, where = _read_frames(dumps)
    windows = draw_windows(clf.featurizer, frames, args.eval_windows, args.seed)
    pw = clf.predict_window_proba(frames, windows)[:, 1]
    owner = np.array([i for i, _ in windows])
    mean = mean_by_owner(pw, owner, len(frames))
    sq = mean_by_owner(pw * pw, owner, len(frames))
    sd = np.sqrt(np.maximum(sq - mean * mean, 0.0))
    counts = np.bincount(owner, minlength=len(frames))
    pos = str(classes[1])
    rows = [[p, k, "" if t is None else t, f"{m:.6f}", f"{s:.6f}", int(n), pos if m >= 0.5 else str(classes[0])]
            for (p, k, t), m, s, n in zip(where, mean, sd, counts)]
    write_csv(args.output, ["source", "frame", "timestep", f"p_{pos}", "p_std", "n_windows", "predicted"], rows)
    print(f"{len(frames)} configurations: mean p({pos}) = {float(np.mean(mean)):.3f}; wrote {args.output}")
    if args.attention_dump or args.bonds:
        if clf.kind != "mpnn" or not clf.model.attention:
            raise InputError("--attention-dump and --bonds need a D-MPNN model trained with attention",
                             source=model_path)
        out_frames, bond_rows = [], []
        for i, f in enumerate(frames):
            am = attention_map(clf, f)
            cols = am.per_atom(f"p_{pos}")
            out_frames.append(f.with_properties(**{k: np.asarray(v, float) for k, v in cols.items()}))
            for (a, b), wgt, h in zip(am.pairs, am.bond, am.high):
                bond_rows.append([i, int(f.ids[a]), int(f.ids[b]), f"{wgt:.6g}", int(h)])
        if args.attention_dump:
            write_dump(args.attention_dump, out_frames)
            print(f"wrote per-atom attention of {len(out_frames)} configurations to {args.attention_dump}")
        if args.bonds:
            write_csv(args.bonds, ["configuration", "id_i", "id_j", "attention", "high"], bond_rows)
            print(f"wrote {len(bond_rows)} bonds to {args.bonds}")
    return 0


def _check(args) -> None:
    """Option combinations and outputs, before any work (UsageError: exit code 2)."""
    if args.apply and args.classes:
        raise UsageError("give either --apply MODEL DUMP... or --class LABEL DUMP... twice, not both")
    if not args.apply and not args.classes:
        raise UsageError("give --class LABEL DUMP... twice (train and score), or --apply MODEL DUMP...")
    deep = bool(args.apply) or args.model in DEEP_MODELS
    if args.save_model and not (args.model in DEEP_MODELS and not args.apply):
        raise UsageError(f"--save-model saves a network trained with --class (--model cnn or mpnn); "
                         f"{'--apply uses a saved one' if args.apply else f'the {args.model} descriptor model is scored only'}")
    if (args.attention_dump or args.bonds) and not args.apply:
        raise UsageError("--attention-dump and --bonds go with --apply MODEL.gdnn DUMP...")
    if args.classes:
        if len(args.classes) != 2:
            raise UsageError(f"give exactly two --class LABEL DUMP... groups, got {len(args.classes)}")
        for group in args.classes:
            if len(group) < 2:
                raise UsageError(f"--class {group[0]} lists no dumps")
        if args.classes[0][0] == args.classes[1][0]:
            raise UsageError(f"the two --class groups need different labels, got {args.classes[0][0]} twice")
    if args.inner < 2:
        raise UsageError(f"--inner must be at least 2 folds, got {args.inner}")
    if args.outer == 1:
        raise UsageError("--outer must be 0 (networks: no cross-validation) or at least 2")
    if args.outer == 0 and not args.save_model:
        raise UsageError("--outer 0 skips the cross-validation: give --save-model")
    if args.outer == 0 and args.model not in DEEP_MODELS:
        raise UsageError("--outer 0 is for the networks (--model cnn or mpnn)")
    lo, hi = args.window_side
    if not 0 < lo <= hi <= 1:
        raise UsageError(f"--window-side needs 0 < LO <= HI <= 1 (scaled units), got {lo} {hi}")
    inputs = list(args.apply or []) + [p for g in (args.classes or []) for p in g[1:]]
    check_inputs(inputs)
    if args.descriptor_params:
        check_inputs([args.descriptor_params], "parameter file")
    check_output_file(args.output, parents=True, inputs=inputs, suffixes=(".csv",) if args.apply else (".json",))
    for opt, path, suf in (("--save-model", args.save_model, None), ("--attention-dump", args.attention_dump, None),
                           ("--bonds", args.bonds, (".csv",))):
        if path:
            check_output_file(path, option=opt, parents=True, inputs=inputs, suffixes=suf)
    if deep:
        require("torch", "glassdyn classify with a network (--model cnn/mpnn, --apply)")
    if args.plot:
        require("matplotlib", "glassdyn classify --plot")


def run(args) -> int:
    _check(args)
    if args.apply:
        return _run_apply(args)
    if args.model in DEEP_MODELS:
        return _run_deep(args)
    from ..classification import classify_configurations
    dparams = load_descriptor_params(args.descriptor_params)
    rows, labels, sources = [], [], []
    for group in args.classes:  # _check made them two non-empty groups with different labels
        r, s = configuration_table(group[1:], patterns=args.features, descriptor_params=dparams,
                                   potential=args.potential, graph=not args.no_graph, b_type=args.b_type,
                                   construction=args.graph_construction)
        rows += r
        sources += s
        labels += [group[0]] * len(r)
    outer = 5 if args.outer is None else args.outer
    res = classify_configurations(rows, np.array(labels), model=args.model, outer_splits=outer,
                                  inner_splits=args.inner, seed=args.seed)
    rep = res.to_dict()
    rep["configurations"] = sources
    write_json(args.output, rep, parents=True)
    print(f"ROC AUC (nested CV, {outer} outer folds) = {res.auc_mean:.3f} +- {res.auc_std:.3f}; "
          f"accuracy = {np.mean(res.accuracy):.3f}; {len(rows)} configurations, {len(res.feature_names)} features")
    msg = f"wrote {args.output}"
    if args.plot:
        from ..plots.learn import roc_plot
        png = str(Path(args.output).with_suffix("")) + "_roc.png"
        roc_plot(res, png)
        msg += f", {png}"
    print(msg)
    return 0
