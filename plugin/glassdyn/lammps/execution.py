"""How the LAMMPS jobs of ``glassdyn simulate`` run: here, or as tasks of a dask cluster.

A :class:`Job` is plain data (script, ``-var`` variables, log, temporary and final file
names), so the same job runs in a thread of this process (:func:`run_local`) or as a task
on a ``dask.distributed`` worker (:func:`glassdyn.lammps.cluster.run_dask`); both call
:func:`run_unit`, which

1. gives every temporary file of the attempt a fresh random suffix (``replica_003.lammpstrj.tmp.<hex>``),
2. runs LAMMPS (``ranks`` MPI ranks; several replicas of one configuration at once with LAMMPS
   partitions when the unit holds several jobs),
3. checks that the outputs are complete (a replica has one frame per dump time) and renames
   them onto their final names (atomic on one file system),
4. returns the per-job results (mean kinetic temperature, Tg fit) instead of writing them: the
   manifest is written only by the submitting process.

A finished file is never written twice, so a run interrupted on a cluster resumes here and the
other way round, and the files are the same bytes whichever way they were made (the same seeds
and the same LAMMPS build; MPI ranks change the summation order and hence the trajectory at
round-off level, partitions do not).
"""
from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from ..tg import two_line_fit
from . import runner
from .runner import LammpsError

__all__ = ["Job", "Settings", "TMP", "run_unit", "run_local", "make_units", "job_result", "recover_result",
           "mean_temperature", "count_frames"]

#: placeholder of the per-attempt temporary suffix in :attr:`Job.variables`, :attr:`Job.renames`, :attr:`Job.mkdirs`
TMP = "{tmp}"


@dataclass
class Job:
    """One LAMMPS run of a ``glassdyn simulate`` task, as plain (picklable) data.

    Attributes
    ----------
    name : str
        ``config_000/replica_003`` etc.: the key of its result in the manifest.
    script : str
        File of ``lammps_inputs``.
    variables : dict
        ``-var`` values; strings may hold :data:`TMP`, replaced by ``tmp.<random hex>`` per attempt.
    log : Path
        LAMMPS log (written under a temporary name, renamed when LAMMPS exits).
    outputs : list of Path
        Final files; the job is done when all exist.
    renames : list of (str, str)
        (temporary template, final path) renamed once LAMMPS succeeded.
    kind : {'equilibrate', 'replica', 'cool', 'plain'}
        How the result is read (:func:`job_result`) and the output checked.
    phase : int
        Jobs of a phase need every job of the earlier phases (replicas need their reference).
    mkdirs : list of str
        Temporary folders (templates) to create before LAMMPS runs.
    options : dict
        ``frames`` (dump frames a replica must hold), ``min_points`` (Tg fit of a cooling ramp).
    hints : list of (str, str)
        (regular expression, advice): advice appended to a LAMMPS error whose ``ERROR`` line matches.
    """

    name: str
    script: str
    variables: dict
    log: Path
    outputs: list
    renames: list = field(default_factory=list)
    kind: str = "plain"
    phase: int = 0
    mkdirs: list = field(default_factory=list)
    options: dict = field(default_factory=dict)
    hints: list = field(default_factory=list)

    def done(self) -> bool:
        """All final outputs exist."""
        return all(Path(p).exists() for p in self.outputs)


@dataclass(frozen=True)
class Settings:
    """How LAMMPS is started for every job of a run.

    Attributes
    ----------
    executable : str
        LAMMPS executable (on a cluster worker where it does not exist, the worker's own
        :func:`~glassdyn.lammps.runner.find_lammps` is used).
    omp : bool
        OPENMP styles, one thread.
    ranks : int
        MPI ranks per LAMMPS instance (``mpiexec -n``).
    partitions : int
        Replicas of one configuration run at once as one MPI job (``-partition PxK``).
    mpiexec : str or None
        ``mpiexec`` (default :func:`~glassdyn.lammps.runner.find_mpiexec` where the job runs).
    inject : str or None
        Name of a job whose LAMMPS input is made to fail (tests: ``GLASSDYN_FAIL_JOB``).
    stop_event : str or None
        Name of a ``distributed.Event``; a task whose event is set stops its LAMMPS job.
    """

    executable: str
    omp: bool = True
    ranks: int = 1
    partitions: int = 1
    mpiexec: str | None = None
    inject: str | None = None
    stop_event: str | None = None

    @property
    def width(self) -> int:
        """Cores one unit of work occupies (ranks x partitions)."""
        return self.ranks * self.partitions


# ----------------------------------------------------------------------------- results
def mean_temperature(text: str) -> float | None:
    """The ``GLASSDYN_TEMPERATURE_AVERAGE`` printed by ``ensemble.in`` (None when absent)."""
    match = re.findall(r"^GLASSDYN_TEMPERATURE_AVERAGE\s+(\S+)", text, flags=re.M)
    return float(match[-1]) if match else None


def count_frames(path) -> int:
    """Number of frames (``ITEM: TIMESTEP`` lines) of a LAMMPS dump."""
    n = 0
    with open(path, "rb") as fh:
        for line in fh:
            if line.startswith(b"ITEM: TIMESTEP"):
                n += 1
    return n


def _eis_columns(path: Path) -> tuple[np.ndarray, np.ndarray]:
    data = np.loadtxt(path, comments="#", ndmin=2)
    return data[:, 2], data[:, 5]


def job_result(job: Job, text: str) -> dict:
    """The manifest entry of a finished job, from its log text and its final files."""
    if job.kind == "replica":
        return {"temperature_average": mean_temperature(text)}
    if job.kind == "cool":
        final = Path(job.outputs[0]).parent
        return {"tg": two_line_fit(*_eis_columns(final / "eis.txt"), min_points=job.options.get("min_points", 3))}
    return {}


def recover_result(job: Job) -> dict:
    """The result of a job found done without a manifest entry (its task finished after the
    submitting process had stopped): read again from its log and files."""
    text = Path(job.log).read_text(errors="replace") if Path(job.log).exists() else ""
    return job_result(job, text)


# ----------------------------------------------------------------------------- one unit of work
def _fill(value, tmp: str):
    if isinstance(value, str):
        return value.replace(TMP, tmp)
    if isinstance(value, (list, tuple)):
        return [_fill(v, tmp) for v in value]
    return value


def _remove(path) -> None:
    path = Path(path)
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()


def _hinted(exc: LammpsError, job: Job) -> LammpsError:
    advice = [text for pattern, text in job.hints if any(re.search(pattern, e) for e in exc.errors)]
    if not advice:
        return exc
    return LammpsError(f"{exc} -- {' '.join(dict.fromkeys(advice))}", log=exc.log, errors=exc.errors)


def _check_complete(job: Job, tmp: str) -> None:
    frames = job.options.get("frames")
    if job.kind == "replica" and frames is not None:
        for src, _ in job.renames:
            path = Path(_fill(src, tmp))
            got = count_frames(path) if path.exists() else 0
            if got != frames:
                raise LammpsError(f"{job.name}: LAMMPS wrote {got} of {frames} frames to {path} (removed while "
                                  f"running?); the job is not counted as done (log: {job.log})", log=Path(job.log),
                                  errors=[f"incomplete output: {got} of {frames} frames"])


def _executable(settings: Settings) -> str:
    exe = settings.executable
    if exe and os.path.isfile(exe) and os.access(exe, os.X_OK):
        return exe
    return runner.find_lammps()  # a cluster worker with LAMMPS installed elsewhere


def _stop_function(settings: Settings) -> Callable[[], bool] | None:
    if not settings.stop_event:
        return None
    try:
        from distributed import Event, get_worker
        get_worker()
    except (ImportError, ValueError):  # not on a dask worker
        return None
    event = Event(settings.stop_event)
    last = [0.0, False]

    def stop() -> bool:
        now = time.monotonic()
        if now - last[0] >= 2.0:  # ask the scheduler at most every 2 s
            last[0] = now
            try:
                last[1] = bool(event.is_set())
            except Exception:  # scheduler gone: keep running, the result is still valid
                pass
        return last[1]

    return stop


def _run_one(job: Job, settings: Settings, stop) -> dict:
    tmp = f"tmp.{uuid.uuid4().hex[:12]}"
    variables = {k: _fill(v, tmp) for k, v in job.variables.items()}
    if settings.inject and settings.inject == job.name:
        variables["model"] = "glassdyn_injected_failure"
    for d in job.mkdirs:
        Path(_fill(d, tmp)).mkdir(parents=True, exist_ok=True)
    try:
        text = runner.run_lammps(job.script, variables, log=job.log, executable=_executable(settings),
                                 omp=settings.omp, ranks=settings.ranks, mpiexec=settings.mpiexec, stop=stop)
        _check_complete(job, tmp)
        for src, dst in job.renames:
            os.replace(_fill(src, tmp), dst)
    except LammpsError as exc:
        for src, _ in job.renames:
            _remove(_fill(src, tmp))
        for d in job.mkdirs:
            _remove(_fill(d, tmp))
        raise _hinted(exc, job) from None
    result = job_result(job, text)
    if settings.ranks > 1:
        result["mpi_ranks"] = settings.ranks
    return result


def _run_partitioned(jobs: Sequence[Job], settings: Settings, stop) -> tuple[dict, list]:
    """Replicas of one configuration as one MPI job of ``lammps_inputs/replicas.in``."""
    first = jobs[0]
    cdir = Path(os.path.abspath(first.outputs[0])).parent  # LAMMPS runs in a scratch folder
    token = uuid.uuid4().hex[:12]
    scratch = cdir / f"partitions.tmp.{token}"
    scratch.mkdir(parents=True)
    outprefix = str(cdir / f"replicas.tmp.{token}.")
    logdir = Path(os.path.abspath(first.log)).parent
    logprefix = str(logdir / f"replicas.tmp.{token}.")
    variables = {k: v for k, v in first.variables.items() if k not in ("seed", "out", "times")}
    variables["data"] = os.path.abspath(variables["data"])
    variables.update(nreplicas=len(jobs), seeds="[" + ",".join(str(int(j.variables["seed"])) for j in jobs) + "]",
                     timelist=" ".join(str(int(t)) for t in first.variables["times"]),
                     outprefix=outprefix, logprefix=logprefix)
    if settings.inject and any(settings.inject == j.name for j in jobs):
        variables["model"] = "glassdyn_injected_failure"
    partitions = min(settings.partitions, len(jobs))
    failure = None
    try:
        runner.run_lammps("replicas.in", variables, log=logdir / "partitions.log",
                          executable=_executable(settings), omp=settings.omp, cwd=scratch, done_marker=None,
                          ranks=settings.ranks, partitions=partitions, mpiexec=settings.mpiexec, stop=stop)
    except LammpsError as exc:
        failure = exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    results, errors = {}, []
    for r, job in enumerate(jobs, start=1):
        out, log = Path(f"{outprefix}{r}"), Path(f"{logprefix}{r}")
        text = log.read_text(errors="replace") if log.exists() else ""
        if log.exists():
            os.replace(log, job.log)
        frames = count_frames(out) if out.exists() else 0
        if "GLASSDYN_DONE" in text and frames == job.options.get("frames", frames):
            os.replace(out, job.outputs[0])
            result = job_result(job, text)
            if settings.ranks > 1:
                result["mpi_ranks"] = settings.ranks
            results[job.name] = result
            continue
        _remove(out)
        lines = runner.error_lines(text) or (failure.errors if failure is not None else []) or \
            ["the partition job ended before this replica finished"]
        errors.append(_hinted(LammpsError(f"LAMMPS failed running replica {job.name} in a {partitions}-partition "
                                          f"job: {' | '.join(lines)} (log: {job.log})", log=Path(job.log),
                                          errors=lines), job))
    return results, errors


def run_unit(jobs: Sequence[Job], settings: Settings) -> dict:
    """Run one unit of work and return what the submitter records.

    Parameters
    ----------
    jobs : sequence of Job
        One job, or several replica jobs of one configuration (run as one partitioned MPI job
        when ``settings.partitions > 1``).
    settings : Settings

    Returns
    -------
    dict
        ``results``: job name -> manifest entry of every job that finished; ``errors``: a
        :class:`~glassdyn.lammps.runner.LammpsError` per job that failed (finished jobs of a
        failed partition job are kept).
    """
    stop = _stop_function(settings)
    if len(jobs) > 1:
        results, errors = _run_partitioned(jobs, settings, stop)
        return {"results": results, "errors": errors}
    job = jobs[0]
    try:
        return {"results": {job.name: _run_one(job, settings, stop)}, "errors": []}
    except LammpsError as exc:
        return {"results": {}, "errors": [exc]}


def make_units(jobs: Sequence[Job], partitions: int) -> list[list[Job]]:
    """Units of work: one per job, or (``partitions > 1``) the replicas of each configuration together."""
    if partitions <= 1:
        return [[j] for j in jobs]
    units, groups = [], {}
    for j in jobs:
        if j.kind == "replica" and j.script == "ensemble.in":
            groups.setdefault(str(j.variables["data"]), []).append(j)
        else:
            units.append([j])
    return units + list(groups.values())


# ----------------------------------------------------------------------------- local execution
def run_local(units: Sequence[Sequence[Job]], settings: Settings, slots: int) -> Iterator[tuple[list, dict]]:
    """Run units in ``slots`` threads here (each thread one LAMMPS job); yields (unit, outcome) as they finish.

    Closing the generator early (an exception in the consumer, Ctrl-C) cancels the units not
    started and terminates the running LAMMPS jobs.
    """
    import concurrent.futures as cf

    pool = cf.ThreadPoolExecutor(max_workers=max(1, int(slots)))
    futures = {pool.submit(run_unit, list(u), settings): list(u) for u in units}
    finished = False
    try:
        for fut in cf.as_completed(futures):
            yield futures[fut], fut.result()
        finished = True
    finally:
        if not finished:
            for f in futures:
                f.cancel()
            runner.terminate_all()
        pool.shutdown(wait=True)

