"""``glassdyn reproduce``: the information-imbalance reproduction study on the ternary 2D model.

Example::

    glassdyn reproduce --size reduced -o study_work              # a few minutes on 2 cores
    glassdyn reproduce --size full -o study_work --report-dir .  # ~45-60 min on 2 cores

Runs LAMMPS (Langevin dynamics), measures F_s, tau_alpha and the propensity, computes the 60
features, imbalances, greedy selections, baselines and held-out accuracy, and writes ``report.md``
with PNG figures beside the published curves (see :mod:`glassdyn.studies.information_imbalance`). Resumable: run the same
command again after an interruption.
"""
from __future__ import annotations

import argparse
import shlex
import sys

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``reproduce`` arguments to ``parser``."""
    from ..studies.information_imbalance import SIZES
    parser.add_argument("--size", choices=sorted(SIZES), default="reduced",
                        help="full (~45-60 min on 2 cores) or reduced (a few minutes); default reduced")
    parser.add_argument("-o", "--output", required=True,
                        help="work folder: simulations and cached stages (large; reused when resuming)")
    parser.add_argument("--report-dir", default=None, help="where report.md, figures and summary.json go "
                        "(default: the work folder)")
    parser.add_argument("--reference", default=None, metavar="DIR",
                        help="folder of the published arrays of Sharma et al. (the .npy files); the curves are "
                             "put beside ours when given, the report builds without them")
    parser.add_argument("--seed", type=int, default=7, help="base seed (default 7)")
    parser.add_argument("--cores", type=int, default=None, help="LAMMPS processes at once (default: all CPUs)")
    parser.add_argument("--temperature", type=float, default=None, help="override the study temperature")
    parser.add_argument("--quiet", action="store_true", help="no progress messages")


def run(args: argparse.Namespace) -> int:
    """Run the study; return 0 when the three qualitative checks pass, 1 otherwise."""
    from ..studies.information_imbalance import run_study
    command = "glassdyn " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["reproduce"] \
        else f"glassdyn reproduce --size {args.size} -o {shlex.quote(args.output)}"
    res = run_study(args.output, size=args.size, seed=args.seed, reference_dir=args.reference,
                    report_dir=args.report_dir, cores=args.cores, temperature=args.temperature,
                    command=command, verbose=not args.quiet)
    print(f"glassdyn reproduce: wrote {res['report']}")
    for k, v in res["checks"].items():
        if isinstance(v, dict):
            print(f"  {k}: {'PASS' if v['passed'] else 'FAIL'}")
    return 0 if res["checks"]["all_passed"] else 1
