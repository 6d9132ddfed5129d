"""The ``glassdyn`` command line.

Each subcommand lives in its own module of this package exposing ``configure(parser)`` (add
arguments to an ``argparse`` sub-parser) and ``run(args) -> int``. Modules are imported only when
their subcommand runs, so ``glassdyn --help`` stays fast and a missing optional dependency only
affects the subcommand that needs it. Commands are thin: they parse, check every option and
output (before any work), call the library (adapters to read, the core to compute, adapters to
write) and print.

Exit codes (the same for every command):

* 0: success;
* 1: an input or data error (:class:`~glassdyn.errors.GlassdynError`: a missing or damaged file,
  bad data, an output that cannot be written, a missing optional package), or an unexpected
  error; one line on stderr names the file or the option and what to do;
* 2: a usage error: argparse (unknown option, missing argument, invalid choice or number) or an
  option value or combination refused before any work (:class:`~glassdyn.errors.UsageError`);
* 130: interrupted (Ctrl-C): finished outputs are kept, nothing is half-written; the message
  says how to resume.

No traceback is shown unless ``--debug`` is given (``glassdyn --debug describe ...`` or
``glassdyn describe ... --debug``) or ``GLASSDYN_DEBUG=1`` is set. Every command takes
``--quiet`` (no progress bars or progress messages); progress bars appear only on a terminal.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
import warnings

from .._util import glassdyn_version
from ..errors import EXTRAS, GlassdynError, UsageError, missing_dependency
from ._common import ArgumentParser, add_common_options

__all__ = ["main", "build_parser", "COMMANDS", "EXIT_OK", "EXIT_ERROR", "EXIT_USAGE", "EXIT_INTERRUPTED"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

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
    "cluster": ("glassdyn.cli.cluster", "start a dask cluster (SLURM, PBS, local) for glassdyn simulate --scheduler"),
}

#: what an interrupted command keeps and how to go on (default: _INTERRUPTED_DEFAULT)
_INTERRUPTED = {
    "simulate": "finished LAMMPS jobs are kept in {output}: run the same command again to resume",
    "reproduce": "finished stages are kept in {output}: run the same command again to resume",
    "demo": "finished work is kept in {output}: run the same command plus --resume to continue",
}
_INTERRUPTED_DEFAULT = ("outputs already written are complete and nothing is half-written; run the same "
                        "command again for the rest")


def _load(name: str):
    return importlib.import_module(COMMANDS[name][0])


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; only the subcommand ``only`` (all when None) gets its arguments."""
    parser = ArgumentParser(prog="glassdyn", description=__doc__.splitlines()[0],
                            epilog="exit codes: 0 success, 1 input or data error, 2 usage error, 130 interrupted")
    parser.add_argument("--version", action="version", version=f"glassdyn {glassdyn_version()}")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an error (also: GLASSDYN_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if only is None or only == name:
            _load(name).configure(p)
            add_common_options(p)
    return parser


def _env_debug() -> bool:
    return os.environ.get("GLASSDYN_DEBUG", "").strip().lower() not in ("", "0", "no", "false", "off")


def _say(command: str | None, text: str) -> None:
    prog = f"glassdyn {command}" if command else "glassdyn"
    print(f"{prog}: {' '.join(str(text).split())}", file=sys.stderr)


def _missing_package(exc: ImportError) -> str | None:
    """The top-level name of a missing optional package behind ``exc``, or None."""
    name = (getattr(exc, "name", None) or "").split(".")[0]
    return name if name in EXTRAS or name == "tqdm" else None


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (see the module docstring)."""
    try:
        return _main(argv)
    except KeyboardInterrupt:  # while the command was still being loaded: nothing was done
        _say(None, "interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader of our output went away (glassdyn ... | head): stop quietly
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout at exit
        except (OSError, ValueError):
            pass
        return EXIT_ERROR


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = _env_debug()
    while argv and argv[0] == "--debug":  # global option before the command
        debug = True
        argv.pop(0)
    command = argv[0] if argv and argv[0] in COMMANDS else None
    try:
        parser = build_parser(only=command or "__none__")
    except ImportError as exc:
        if debug:
            traceback.print_exc()
        missing = _missing_package(exc)
        if missing:
            _say(command, f"error: {missing_dependency(missing, f'glassdyn {command}')}")
        else:
            _say(command, f"error: cannot load the command ({exc}); reinstall glassdyn")
        return EXIT_ERROR
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # reported by the command's own parser: "glassdyn describe: error: unrecognized ..."
            sub = parser._subparsers._group_actions[0].choices.get(command) if command else None  # noqa: SLF001
            (sub or parser).error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:  # argparse: --help / --version (0) or a usage error (2), already printed
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USAGE
    debug = debug or bool(getattr(args, "debug", False))
    # warnings from the core (e.g. "tau_alpha is NaN: run longer") as one readable line
    warnings.formatwarning = lambda message, category, *rest, **kw: f"glassdyn: warning: {message}\n"
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    cmd = args.command
    try:
        return int(_load(cmd).run(args) or 0)
    except UsageError as exc:
        if debug:
            traceback.print_exc()
        _say(cmd, f"error: {exc} (see 'glassdyn {cmd} --help')")
        return EXIT_USAGE
    except GlassdynError as exc:
        if debug:
            traceback.print_exc()
        _say(cmd, f"error: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        hint = _INTERRUPTED.get(cmd, _INTERRUPTED_DEFAULT).format(output=getattr(args, "output", None) or "the output")
        _say(cmd, f"interrupted; {hint}")
        return EXIT_INTERRUPTED
    except ImportError as exc:
        if debug:
            traceback.print_exc()
        missing = _missing_package(exc)
        if missing is None:
            _say(cmd, f"unexpected error: {type(exc).__name__}: {exc}; run again with --debug for the traceback")
        else:
            _say(cmd, f"error: {missing_dependency(missing, f'glassdyn {cmd}')}")
        return EXIT_ERROR
    except BrokenPipeError:
        raise
    except OSError as exc:  # reading an input: permission denied, a folder, a vanished file
        if debug:
            traceback.print_exc()
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        _say(cmd, f"error: {where}{exc.strerror or exc}")
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - the command line never shows a traceback unasked
        if debug:
            traceback.print_exc()
        _say(cmd, f"unexpected error: {type(exc).__name__}: {exc}; run again with --debug for the traceback")
        return EXIT_ERROR
