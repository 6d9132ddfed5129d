#!/usr/bin/env python
"""Reproduce the information-imbalance analysis of glassy dynamics (Sharma et al.) on the ternary 2D model.

Runs LAMMPS (Langevin dynamics; the paper's Monte Carlo is not available in LAMMPS 2D), measures
F_s, tau_alpha and the propensity, computes the 60 structural features, the Pearson coefficients,
single-feature imbalances, greedy supervised/unsupervised selection with Lasso and random baselines,
held-out prediction accuracy, and writes ``report.md`` with PNG figures beside the published curves.

    python examples/reproduce_information_imbalance/reproduce.py --size full      # see README.md for the cost
    python examples/reproduce_information_imbalance/reproduce.py --size reduced   # ~2-3 min

The run is resumable: simulations and cached analysis stages in the work folder are reused.
Large outputs go to ``--work`` (default ``work/<size>`` next to this script, git-ignored); the report,
figures and ``summary.json`` go to ``--report-dir`` (default: this folder for the full size,
the work folder otherwise).
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: the published arrays of Sharma et al., shipped with this example
PUBLISHED = HERE / "published"


def main(argv=None) -> int:
    from glassdyn.studies.information_imbalance import SIZES, run_study

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", choices=sorted(SIZES), default="full")
    p.add_argument("--seed", type=int, default=7, help="base seed of every simulation and random choice")
    p.add_argument("--work", default=None, help="work folder (simulations and caches; default work/<size> here)")
    p.add_argument("--report-dir", default=None, help="where report.md, figures and summary.json go")
    p.add_argument("--reference", default=str(PUBLISHED),
                   help=f"folder of the published arrays (default {PUBLISHED})")
    p.add_argument("--cores", type=int, default=None, help="LAMMPS processes at once (default: all CPUs)")
    p.add_argument("--temperature", type=float, default=None, help="override the study temperature")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    work = Path(args.work) if args.work else HERE / "work" / args.size
    report_dir = Path(args.report_dir) if args.report_dir else (HERE if args.size == "full" else work)
    command = "python examples/reproduce_information_imbalance/reproduce.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    res = run_study(work, size=args.size, seed=args.seed, reference_dir=args.reference, report_dir=report_dir,
                    cores=args.cores, temperature=args.temperature, command=command.strip(),
                    verbose=not args.quiet)
    print(f"report: {res['report']}")
    for k, v in res["checks"].items():
        if isinstance(v, dict):
            print(f"  {k}: {'PASS' if v['passed'] else 'FAIL'}")
    return 0 if res["checks"]["all_passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
