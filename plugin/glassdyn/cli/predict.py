"""``glassdyn predict``: apply a trained model to LAMMPS dumps.

::

    glassdyn predict new.dump --model model.gdm -o new_pred.dump [--plot]

The features the model needs are read from the dump's columns when they are all there, else
recomputed with the descriptor parameters stored in the model file
(:func:`glassdyn.learn.features_for_model`); the prediction is written as the per-atom column
``propensity_pred`` (and ``propensity_std`` for the Gaussian process). A model trained per particle
type (``glassdyn train --per-type``) predicts every atom with its type's model (or type columns),
taking the types from the dump. When the dump holds the target column, Pearson r and Spearman
rho are printed for all atoms and per type.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from ..adapters.lammps_dump import iter_dump, write_dump
from ..errors import UsageError
from ._common import check_inputs, check_output_file, check_output_folder, output_folder, progress_bar, require

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
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


def _outputs(args) -> tuple[list[str], bool]:
    """The output dump of every input and whether ``-o`` is a folder, checked before any work."""
    multi = len(args.inputs) > 1 or args.output.endswith(("/", os.sep)) or os.path.isdir(args.output)
    if multi:
        check_output_folder(args.output)
        outs = [os.path.join(args.output, f"{Path(p).name.split('.')[0]}_pred.dump") for p in args.inputs]
        if len(set(outs)) != len(outs):
            raise UsageError("several inputs would be written to the same <name>_pred.dump; predict them one at a time")
        for out in outs:  # the folder may not exist yet
            check_output_file(out, parents=True, inputs=args.inputs)
    else:
        outs = [check_output_file(args.output, inputs=args.inputs)]
    return outs, multi


def _predict_frames(path, model, target, args, bar) -> list:
    """The frames of ``path`` with the prediction columns; prints the scores when the target is there."""
    from ..learn import features_for_model, predict_with_std
    from ..validation import evaluate_by_configuration
    out_frames = []
    for frame in iter_dump(path):
        X, names = features_for_model(model, frame, args.compute)
        pred, std = predict_with_std(model, X, names, types=frame.types)
        cols = {args.column: pred}
        if std is not None:
            cols["propensity_std"] = std
        out_frames.append(frame.with_properties(**cols))
        true = frame.properties.get(target) if target else None
        msg = f"{path}, frame {frame.index}: {frame.n_atoms} atoms"
        if true is not None:
            s = evaluate_by_configuration(true, pred, np.zeros(len(pred)), types=frame.types)
            msg += f", Pearson r with {target} = {s.pearson[0]:.3f}, Spearman = {s.spearman[0]:.3f}"
            if len(s.by_type) > 1:
                msg += " (" + ", ".join(f"type {t}: r = {sc.pearson[0]:.3f}" for t, sc in s.by_type.items()) + ")"
        if bar is not None:
            bar.write(msg)
            bar.update(1)
        else:
            print(msg)
    return out_frames


def run(args) -> int:
    if not args.column or any(c.isspace() for c in args.column):
        raise UsageError(f"--column '{args.column}' must be a non-empty name without spaces")
    if args.plot:
        require("matplotlib", "--plot")
    check_inputs(args.inputs, "dump file")
    outputs, multi = _outputs(args)
    from ..modelfile import load_model  # after the checks: it imports scikit-learn
    model = load_model(args.model)
    target = model.metadata_.get("target")
    if model.per_type_ != "joint":
        print(f"model: {model.model}, per_type {model.per_type_} (types {', '.join(map(str, model.types_.tolist()))})")
    with output_folder(args.output, create=multi):
        for path, out in zip(args.inputs, outputs):
            written = []
            bar = progress_bar(desc=f"predict {Path(path).name}", unit="frame", quiet=args.quiet)
            try:
                out_frames = _predict_frames(path, model, target, args, bar)
            finally:
                if bar is not None:
                    bar.close()
            write_dump(out, out_frames)
            written.append(out)
            if args.plot:
                from ..plots.learn import parity_plot, propensity_maps
                stem = str(Path(out).with_suffix(""))
                f0 = out_frames[0]
                true = f0.properties.get(target) if target else None
                propensity_maps(f0, true, f0.properties[args.column], f"{stem}_maps.png",
                                std=f0.properties.get("propensity_std"))
                written.append(f"{stem}_maps.png")
                if true is not None:
                    yt = np.concatenate([f.properties[target] for f in out_frames])
                    yp = np.concatenate([f.properties[args.column] for f in out_frames])
                    g = np.concatenate([np.full(f.n_atoms, k) for k, f in enumerate(out_frames)])
                    parity_plot(yt, yp, f"{stem}_parity.png", groups=g, label=target)
                    written.append(f"{stem}_parity.png")
            print("wrote " + ", ".join(written), flush=True)
    return 0
