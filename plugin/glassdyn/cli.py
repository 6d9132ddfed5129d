"""The ``glassdyn`` command line.

Each subcommand lives in its own module exposing ``configure(parser)`` (add arguments to an
``argparse`` sub-parser) and ``run(args) -> int``. Modules are imported only when their
subcommand runs, so ``glassdyn --help`` stays fast and a missing optional dependency only
affects the subcommand that needs it.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from .errors import GlassdynError

#: subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "simulate": ("glassdyn.lammps.cli_simulate", "run LAMMPS: equilibration, cooling series, iso-configurational ensembles"),
    "describe": ("glassdyn.cli_describe", "add per-atom structural descriptors to LAMMPS dumps"),
    "propensity": ("glassdyn.cli_propensity", "propensity, bond breaking, F_s(q,t) and tau_alpha from replicas"),
    "select": ("glassdyn.cli_select", "information-imbalance feature selection"),
    "train": ("glassdyn.cli_learn", "train a model of propensity on feature tables"),
    "predict": ("glassdyn.cli_learn", "predict propensity for LAMMPS dumps with a trained model"),
    "classify": ("glassdyn.cli_learn", "liquid vs glass classification of configurations"),
    "render": ("glassdyn.cli_render", "render a per-atom property to a PNG with OVITO"),
    "reproduce": ("glassdyn.cli_reproduce", "information-imbalance reproduction study on the ternary 2D model, with its report"),
    "demo": ("glassdyn.cli_demo", "run the whole pipeline on a small 2D Kob-Andersen system"),
}


def _load(name: str):
    module_name = COMMANDS[name][0]
    return importlib.import_module(module_name)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="glassdyn", description=__doc__.splitlines()[0])
    from . import __version__
    parser.add_argument("--version", action="version", version=f"glassdyn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if only is None or only == name:
            module = _load(name)
            configure = getattr(module, f"configure_{name}", None) or module.configure
            configure(p)
    return parser


def main(argv: list[str] | None = None) -> int:
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
    module = _load(args.command)
    run = getattr(module, f"run_{args.command}", None) or module.run
    try:
        return int(run(args) or 0)
    except GlassdynError as exc:
        print(f"glassdyn {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"glassdyn {args.command}: interrupted; finished work is kept, run the same command again to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
