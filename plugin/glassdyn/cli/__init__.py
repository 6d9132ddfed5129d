"""The ``glassdyn`` command line.

Each subcommand lives in its own module of this package exposing ``configure(parser)`` (add
arguments to an ``argparse`` sub-parser) and ``run(args) -> int``. Modules are imported only when
their subcommand runs, so ``glassdyn --help`` stays fast and a missing optional dependency only
affects the subcommand that needs it. Commands are thin: they parse, call the library (adapters
to read, the core to compute, adapters to write) and print.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from .._util import glassdyn_version
from ..errors import GlassdynError

__all__ = ["main", "build_parser", "COMMANDS"]

#: subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "simulate": ("glassdyn.cli.simulate", "run LAMMPS: equilibration, cooling series, iso-configurational ensembles"),
    "describe": ("glassdyn.cli.describe", "add per-atom structural descriptors to LAMMPS dumps"),
    "propensity": ("glassdyn.cli.propensity", "propensity, bond breaking, F_s(q,t) and tau_alpha from replicas"),
    "select": ("glassdyn.cli.select", "information-imbalance feature selection"),
    "train": ("glassdyn.cli.train", "train a model of propensity on feature tables"),
    "predict": ("glassdyn.cli.predict", "predict propensity for LAMMPS dumps with a trained model"),
    "classify": ("glassdyn.cli.classify", "liquid vs glass classification of configurations"),
    "render": ("glassdyn.cli.render", "render a per-atom property to a PNG with OVITO"),
    "reproduce": ("glassdyn.cli.reproduce", "information-imbalance reproduction study on the ternary 2D model, with its report"),
    "demo": ("glassdyn.cli.demo", "run the whole pipeline on a small 2D Kob-Andersen system"),
}


def _load(name: str):
    return importlib.import_module(COMMANDS[name][0])


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; only the subcommand ``only`` (all when None) gets its arguments."""
    parser = argparse.ArgumentParser(prog="glassdyn", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"glassdyn {glassdyn_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if only is None or only == name:
            _load(name).configure(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in COMMANDS else None
    try:
        parser = build_parser(only=command or "__none__")
    except ModuleNotFoundError as exc:
        print(f"glassdyn {command}: a dependency is missing ({exc}); "
              "install the extras with: pip install 'glassdyn[all]'", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    # warnings from the core (e.g. "tau_alpha is NaN: run longer") as one readable line
    warnings.formatwarning = lambda message, category, *rest, **kw: f"glassdyn: warning: {message}\n"
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(_load(args.command).run(args) or 0)
    except GlassdynError as exc:
        print(f"glassdyn {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"glassdyn {args.command}: interrupted; finished work is kept, run the same command again to resume",
              file=sys.stderr)
        return 130
