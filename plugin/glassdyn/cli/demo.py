"""``glassdyn demo``: the whole pipeline on a small 2D Kob-Andersen system (see :mod:`glassdyn.demo`)."""
from __future__ import annotations

import argparse
from dataclasses import replace

from ..demo import pipeline
from ..errors import UsageError
from ._common import check_output_folder, nonnegative_int, positive_float, positive_int

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = "examples:" + pipeline.__doc__.split("::", 1)[1].split("Steps", 1)[0].rstrip() + "\n"
    parser.add_argument("-o", "--output", default=pipeline.DEFAULT_OUTPUT,
                        help=f"output folder (default ./{pipeline.DEFAULT_OUTPUT})")
    parser.add_argument("--size", choices=sorted(pipeline.SIZES), default="small",
                        help="small: 10 configurations x 500 atoms x 30 replicas, about 2 minutes on 2 cores "
                             "(default); tiny: 6 x 500 x 24, about 1 minute (the test suite's size)")
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="base seed of every random choice (default 0)")
    parser.add_argument("--cores", type=positive_int, default=None, help="LAMMPS processes at once (default: all CPUs)")
    parser.add_argument("--resume", action="store_true",
                        help="continue a run in an existing output folder (same parameters); finished "
                             "simulations and analyses are reused")
    adv = parser.add_argument_group("overrides of the size's parameters (advanced)")
    adv.add_argument("--temperature", type=positive_float, help="temperature (LJ units)")
    adv.add_argument("--n", type=positive_int, help="atoms per configuration")
    adv.add_argument("--configurations", type=positive_int, help="independent configurations (at least 2)")
    adv.add_argument("--train", type=positive_int, help="training configurations (the others are held out)")
    adv.add_argument("--replicas", type=positive_int, help="replicas per configuration (at least 2)")
    adv.add_argument("--steps", type=positive_int, help="replica run length in MD steps")
    adv.add_argument("--equilibration-steps", type=nonnegative_int, help="equilibration steps per configuration")
    adv.add_argument("--n-select", type=positive_int, help="features selected and used by the model (default: chosen by "
                     "cross-validation inside the training configurations)")
    adv.add_argument("--model", choices=["linear", "ridge", "lasso", "mlp", "gp"], help="regression model")
    adv.add_argument("--no-render", action="store_true", help="skip the OVITO rendering (matplotlib maps only)")
    adv.add_argument("--quiet", "-q", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    size = pipeline.SIZES[args.size]
    over = {k: getattr(args, k) for k in ("temperature", "n", "configurations", "train", "replicas", "steps",
                                          "equilibration_steps", "n_select", "model")
            if getattr(args, k, None) is not None}
    if over:
        size = replace(size, **over)
    if size.configurations < 2:
        raise UsageError(f"--configurations {size.configurations}: the demo needs at least 2 (one to train on, "
                         "one to hold out)")
    if not size.train < size.configurations:
        raise UsageError(f"--train {size.train} must be smaller than the {size.configurations} configurations "
                         "(the others are held out)")
    if size.replicas < 2:
        raise UsageError(f"--replicas {size.replicas}: an iso-configurational ensemble needs at least 2 replicas")
    check_output_folder(args.output)
    # Ctrl-C: glassdyn.cli.main says that finished work is kept and to continue with --resume
    summary = pipeline.run_pipeline(args.output, size=size, size_name=args.size, seed=args.seed, cores=args.cores,
                                    resume=args.resume, render=not args.no_render, progress=not args.quiet)
    h = summary["held_out"]["pearson"]
    t = summary["timings"]
    print(f"glassdyn demo: held-out Pearson r = {h['mean']:.3f} +- {h['std']:.3f} over {h['n']} configurations "
          f"(tau_alpha = {summary['dynamics']['tau_alpha']:.3g}); {t['total']:.0f} s "
          f"({t['cpu_seconds']:.0f} CPU seconds)")
    print(f"glassdyn demo: report {summary['files']['report']}; open the OVITO example with "
          f"'python {summary['files']['ovito_script']}'")
    return 0
