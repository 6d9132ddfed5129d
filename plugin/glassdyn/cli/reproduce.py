"""``glassdyn reproduce``: the reproduction studies, each with its report.

Example::

    glassdyn reproduce --size reduced -o study_work                  # information imbalance (Sharma et al.)
    glassdyn reproduce sharma --size full -o study_work --report-dir .
    glassdyn reproduce swanson --size reduced -o swanson_work        # deep classification (Swanson et al.)
    glassdyn reproduce swanson --size full -o swanson_work --report-dir .   # ~2.3 h on 2 cores
    glassdyn reproduce swanson --size full --slow 2e7 -o work_2e7    # the paper's slow rate (~15 h on 2 cores)
    glassdyn reproduce swanson --size full --estimate                # print the cost estimate only

``sharma`` (the default; alias ``information-imbalance``) runs LAMMPS Langevin dynamics of the
ternary 2D model, the 60 features, imbalances, greedy selections and held-out accuracy
(:mod:`glassdyn.studies.information_imbalance`). ``swanson`` (alias ``deep-classification``) runs
cooling ramps of the 2D Kob-Andersen mixture, E_IS(T) and Tg, the six liquid/glass data sets,
descriptor models, the CNN and the attention D-MPNN under nested cross-validation and the attention
analysis (:mod:`glassdyn.studies.deep_classification`). Both are resumable: run the same command
again after an interruption.
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys

from ..errors import UsageError
from ._common import check_output_folder, nonnegative_int, positive_float, positive_int

__all__ = ["configure", "run", "STUDIES"]

#: study name -> canonical name
STUDIES = {"sharma": "sharma", "information-imbalance": "sharma", "swanson": "swanson",
           "deep-classification": "swanson"}


def _steps(text: str) -> int:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of steps: {text!r}") from None
    if v <= 0 or v != int(v):
        raise argparse.ArgumentTypeError(f"a positive whole number of steps is needed, got {text!r}")
    return int(v)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``reproduce`` arguments to ``parser``."""
    parser.add_argument("study", nargs="?", default="sharma", choices=sorted(STUDIES),
                        help="sharma / information-imbalance (default) or swanson / deep-classification")
    parser.add_argument("--size", choices=["full", "medium", "reduced"], default="reduced",
                        help="full (sharma: T = 0.45, ~3 h; swanson: ~2.3 h, on 2 cores), medium (sharma only: "
                             "T = 0.6, the paper's 10 x 30 ensembles, ~35 min) or reduced (a few minutes); "
                             "default reduced")
    parser.add_argument("-o", "--output", default=None,
                        help="work folder: simulations and cached stages (large; reused when resuming)")
    parser.add_argument("--report-dir", default=None, help="where report.md, figures and summary.json go "
                        "(default: the work folder)")
    parser.add_argument("--reference", default=None, metavar="DIR",
                        help="sharma: folder of the published arrays of Sharma et al. (the .npy files); the curves "
                             "are put beside ours when given, the report builds without them")
    parser.add_argument("--seed", type=nonnegative_int, default=7, help="base seed (default 7)")
    parser.add_argument("--cores", type=positive_int, default=None,
                        help="LAMMPS (and, swanson, training) processes at once (default: all CPUs)")
    parser.add_argument("--temperature", type=positive_float, default=None, help="sharma: override the study temperature")
    parser.add_argument("--slow", type=_steps, default=None, metavar="STEPS",
                        help="swanson: slow ramp duration t_cool (default 2e6; the paper's 2e7 takes 2.8 h per ramp "
                             "per core)")
    parser.add_argument("--ramps", type=positive_int, default=None,
                        help="swanson: data ramps per rate (= configurations per class; default 8 full, 8 reduced)")
    parser.add_argument("--eis-ramps", type=positive_int, default=None,
                        help="swanson: ramps per rate whose snapshots are all minimised (E_IS, Tg; default 2)")
    parser.add_argument("--estimate", action="store_true",
                        help="swanson: print the cost estimate of the size and exit")
    parser.add_argument("--quiet", action="store_true", help="no progress messages")


def _command(args) -> str:
    if sys.argv[1:2] == ["reproduce"]:
        return "glassdyn " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    return f"glassdyn reproduce {args.study} --size {args.size} -o {shlex.quote(str(args.output))}"


def _run_swanson(args) -> int:
    from dataclasses import replace

    from ..studies.deep_classification import describe_cost, get_size, run_study
    size = get_size(args.size)
    over = {k: v for k, v in (("slow", args.slow), ("ramps", args.ramps), ("eis_ramps", args.eis_ramps))
            if v is not None}
    if over:
        size = replace(size, **over)
    if args.estimate:
        print(describe_cost(size, args.cores or 2))
        return 0
    res = run_study(args.output, size=size, seed=args.seed, report_dir=args.report_dir, cores=args.cores,
                    command=_command(args), verbose=not args.quiet)
    print(f"glassdyn reproduce swanson: wrote {res['report']}")
    auc = res["summary"]["auc"]
    for s, row in auc.items():
        cells = ", ".join(f"{m} {v['auc_mean']:.2f}" for m, v in row.items()
                          if m in ("descriptors", "cnn", "mpnn") and v.get("auc_mean") is not None)
        print(f"  set {s}: {cells}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the study; sharma returns 0 when its three qualitative checks pass, 1 otherwise."""
    study = STUDIES[args.study]
    if args.output is None and not (study == "swanson" and args.estimate):
        raise UsageError("give the work folder with -o")
    if study == "sharma":
        for opt in ("slow", "ramps", "eis_ramps"):
            if getattr(args, opt) is not None:
                raise UsageError(f"--{opt.replace('_', '-')} is an option of the swanson study")
        if args.estimate:
            raise UsageError("--estimate is an option of the swanson study")
    elif args.temperature is not None or args.reference is not None:
        raise UsageError("--temperature and --reference are options of the sharma study")
    elif args.size == "medium":
        raise UsageError("--size medium is a size of the sharma study; swanson has full and reduced")
    if args.reference is not None and not os.path.isdir(args.reference):
        raise UsageError(f"--reference {args.reference}: no such folder (the published arrays, e.g. "
                         "examples/reproduce_information_imbalance/published)")
    if args.output is not None:
        check_output_folder(args.output)
        if args.report_dir:
            check_output_folder(args.report_dir)
    if study == "swanson":
        return _run_swanson(args)
    from ..studies.information_imbalance import run_study
    res = run_study(args.output, size=args.size, seed=args.seed, reference_dir=args.reference,
                    report_dir=args.report_dir, cores=args.cores, temperature=args.temperature,
                    command=_command(args), verbose=not args.quiet)
    print(f"glassdyn reproduce: wrote {res['report']}")
    for k, v in res["checks"].items():
        if isinstance(v, dict):
            print(f"  {k}: {'PASS' if v['passed'] else 'FAIL'}")
    return 0 if res["checks"]["all_passed"] else 1
