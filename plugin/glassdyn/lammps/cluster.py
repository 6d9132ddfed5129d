"""Run ``glassdyn simulate`` on existing distributed engines: a dask scheduler, SLURM or PBS.

glassdyn has no scheduler of its own. With ``scheduler=`` (``glassdyn simulate ...
--scheduler ADDRESS``) every LAMMPS job (equilibration, replica, cooling ramp) is one task of a
running ``dask.distributed`` scheduler; the workers write the results into the shared output
folder with the same temporary-name-and-rename writes as a local run, and send back only the
per-job results, which the submitting process records in ``manifest.json``. The files are the
same bytes as those of a local run with the same seeds, and a run stopped on the cluster
resumes locally and the other way round.

Batch systems come through dask-jobqueue: :func:`make_cluster` builds a ``SLURMCluster``,
``PBSCluster`` or a ``distributed.LocalCluster`` from a small configuration, e.g.
``cluster.toml``::

    kind = "slurm"              # slurm | pbs | local
    queue = "compute"
    account = "proj123"
    cores = 32                  # cores per batch job
    memory = "64GB"             # memory per batch job
    walltime = "04:00:00"
    jobs = 4                    # batch jobs to submit (each runs cores / ranks workers)
    ranks = 1                   # cores per LAMMPS job (use with glassdyn simulate --mpi-ranks)
    job_extra = ["--constraint=cpu"]
    prologue = ["source /path/to/venv/bin/activate"]

and ``glassdyn cluster --config cluster.toml`` prints the scheduler address and keeps the
cluster up until Ctrl-C (``--print-job-script`` shows the batch script instead). Every worker
runs one LAMMPS job at a time (one thread per worker, ``ranks`` cores each).

Workers need glassdyn and LAMMPS installed (the same environment on a shared file system is
simplest) and must see the output folder under the same path. A cancelled run (Ctrl-C of the
submitter) stops its LAMMPS processes on the workers; LAMMPS processes of a worker that shuts
down are terminated by a worker plugin. A worker killed outright may leave a LAMMPS process
running until it ends: it writes only its own temporary files, which are never renamed into
results and are removed the next time the run is opened.
"""
from __future__ import annotations

import dataclasses
import os
import uuid
from pathlib import Path
from typing import Iterator, Sequence

from ..errors import InputError
from . import runner
from .execution import Job, Settings, recover_result, run_unit

try:
    import distributed
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # pragma: no cover - the cluster extra is not installed
    distributed = None
    WorkerPlugin = object

__all__ = ["make_cluster", "job_script", "load_config", "resolve_client", "run_dask", "LammpsCleanup", "require_distributed",
           "CONFIG_KEYS", "KINDS"]

KINDS = ("local", "slurm", "pbs")
#: configuration keys of :func:`make_cluster` (any other key is refused, to catch typos)
CONFIG_KEYS = {
    "kind": "local | slurm | pbs",
    "queue": "batch queue / partition",
    "account": "account or project charged",
    "cores": "cores per batch job (local: cores in all)",
    "memory": "memory per batch job, e.g. '64GB'",
    "walltime": "wall time per batch job, e.g. '04:00:00'",
    "jobs": "batch jobs to submit (local: ignored)",
    "ranks": "cores per LAMMPS job (glassdyn simulate --mpi-ranks); workers per job = cores / ranks",
    "job_extra": "extra batch directives (list of strings)",
    "prologue": "shell lines run before the workers start (list of strings)",
    "interface": "network interface of the workers, e.g. 'ib0'",
    "local_directory": "scratch folder of the workers",
    "log_directory": "folder of the batch job logs",
    "python": "python of the workers",
    "dashboard_address": "dask dashboard, e.g. ':8787' (default: a free port; local: none)",
    "options": "table passed as is to the dask-jobqueue / LocalCluster constructor",
}


def require_distributed() -> None:
    """Raise :class:`~glassdyn.errors.InputError` naming the ``cluster`` extra when distributed is missing."""
    if distributed is None:
        raise InputError("running on a dask cluster needs distributed (and dask-jobqueue for SLURM/PBS): "
                         "pip install 'glassdyn[cluster]'")


class LammpsCleanup(WorkerPlugin):
    """Worker plugin: terminate the LAMMPS jobs this worker started when it shuts down."""

    name = "glassdyn-lammps-cleanup"

    def teardown(self, worker) -> None:  # noqa: D401 - dask API
        runner.terminate_all()


# ----------------------------------------------------------------------------- configuration
def load_config(path) -> dict:
    """Read a cluster configuration: TOML (``.toml``; keys at the top or in a ``[cluster]`` table) or JSON."""
    path = Path(path)
    if not path.is_file():
        raise InputError("cluster configuration not found", source=str(path))
    text = path.read_text()
    if path.suffix.lower() == ".json":
        import json
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON ({exc})", source=str(path)) from None
    else:
        try:
            import tomllib
        except ImportError:  # Python 3.10
            try:
                import tomli as tomllib
            except ImportError:
                raise InputError("reading TOML needs Python >= 3.11 or the tomli package; or write the "
                                 "configuration as JSON", source=str(path)) from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"not valid TOML ({exc})", source=str(path)) from None
    if isinstance(data.get("cluster"), dict):
        data = data["cluster"]
    return data


def _check_config(config: dict) -> dict:
    if not isinstance(config, dict):
        raise InputError(f"a cluster configuration is a table of settings, got {type(config).__name__}")
    unknown = sorted(set(config) - set(CONFIG_KEYS))
    if unknown:
        raise InputError(f"unknown cluster setting(s) {', '.join(unknown)}; known: {', '.join(CONFIG_KEYS)}")
    cfg = dict(config)
    kind = cfg.setdefault("kind", "local")
    if kind not in KINDS:
        raise InputError(f"unknown cluster kind '{kind}'; choose one of {', '.join(KINDS)}")
    for key in ("cores", "jobs", "ranks"):
        if key in cfg and (not isinstance(cfg[key], int) or isinstance(cfg[key], bool) or cfg[key] < 1):
            raise InputError(f"cluster setting {key} must be a positive integer, got {cfg[key]!r}")
    for key in ("job_extra", "prologue"):
        if key in cfg and (not isinstance(cfg[key], list) or not all(isinstance(v, str) for v in cfg[key])):
            raise InputError(f"cluster setting {key} must be a list of strings, got {cfg[key]!r}")
    if kind != "local":
        for key in ("cores", "memory"):
            if key not in cfg:
                raise InputError(f"a {kind} cluster needs '{key}' (per batch job)")
    ranks = cfg.get("ranks", 1)
    cores = cfg.get("cores", os.cpu_count() or 1)
    if cores % ranks:
        raise InputError(f"cores ({cores}) must be a multiple of ranks ({ranks}): each worker runs one LAMMPS "
                         f"job of {ranks} core(s)")
    return cfg


def _jobqueue_kwargs(cfg: dict) -> dict:
    ranks = cfg.get("ranks", 1)
    workers = cfg["cores"] // ranks
    kw = dict(cores=workers, processes=workers, memory=cfg["memory"])  # one thread per worker
    for key, name in (("queue", "queue"), ("account", "account"), ("walltime", "walltime"),
                      ("interface", "interface"), ("local_directory", "local_directory"),
                      ("log_directory", "log_directory"), ("python", "python")):
        if key in cfg:
            kw[name] = cfg[key]
    if cfg.get("job_extra"):
        kw["job_extra_directives"] = list(cfg["job_extra"])
    if cfg.get("prologue"):
        kw["job_script_prologue"] = list(cfg["prologue"])
    if ranks > 1:  # reserve every core of the job, not one per worker
        if cfg["kind"] == "slurm":
            kw["job_cpu"] = cfg["cores"]
        else:
            from dask.utils import parse_bytes
            from dask_jobqueue.pbs import pbs_format_bytes_ceil
            kw["resource_spec"] = f"select=1:ncpus={cfg['cores']}:mem={pbs_format_bytes_ceil(parse_bytes(cfg['memory']))}"
    kw["scheduler_options"] = {"dashboard_address": cfg.get("dashboard_address") or ":0"}  # any free port
    kw.update(cfg.get("options", {}))
    return kw


def make_cluster(config, *, start_jobs: bool = True):
    """A dask cluster from a small configuration (see the module docstring and :data:`CONFIG_KEYS`).

    Parameters
    ----------
    config : dict or path
        Settings, or a TOML/JSON file of them (:func:`load_config`).
    start_jobs : bool
        Submit ``jobs`` batch jobs (``cluster.scale(jobs=...)``); False builds the cluster
        without submitting anything (to look at :func:`job_script`).

    Returns
    -------
    distributed.deploy.Cluster
        ``dask_jobqueue.SLURMCluster`` / ``PBSCluster`` (one thread per worker, ``cores / ranks``
        workers per batch job), or ``distributed.LocalCluster`` (``cores / ranks`` worker
        processes of one thread) for ``kind = "local"``. Pass it (or its
        ``scheduler_address``) as ``scheduler=`` to :func:`glassdyn.lammps.simulate.run_ensemble`.
        Close it with ``cluster.close()``.

    Raises
    ------
    InputError
        Unknown or missing settings, or distributed / dask-jobqueue not installed.
    """
    require_distributed()
    cfg = _check_config(load_config(config) if isinstance(config, (str, os.PathLike)) else config)
    if cfg["kind"] == "local":
        cores = cfg.get("cores", os.cpu_count() or 1)
        kw = dict(n_workers=cores // cfg.get("ranks", 1), threads_per_worker=1, processes=True,
                  dashboard_address=cfg.get("dashboard_address"))
        if "local_directory" in cfg:
            kw["local_directory"] = cfg["local_directory"]
        kw.update(cfg.get("options", {}))
        return distributed.LocalCluster(**kw)
    try:
        import dask_jobqueue
    except ImportError:
        raise InputError(f"a {cfg['kind']} cluster needs dask-jobqueue: pip install 'glassdyn[cluster]'") from None
    cls = dask_jobqueue.SLURMCluster if cfg["kind"] == "slurm" else dask_jobqueue.PBSCluster
    cluster = cls(**_jobqueue_kwargs(cfg))
    if start_jobs:
        cluster.scale(jobs=cfg.get("jobs", 1))
    return cluster


def job_script(config) -> str:
    """The batch script dask-jobqueue would submit for ``config`` (nothing is submitted)."""
    cfg = _check_config(load_config(config) if isinstance(config, (str, os.PathLike)) else config)
    if cfg["kind"] == "local":
        raise InputError("a local cluster submits no batch job; use kind = 'slurm' or 'pbs'")
    cluster = make_cluster(cfg, start_jobs=False)
    try:
        return cluster.job_script()
    finally:
        cluster.close()


# ----------------------------------------------------------------------------- running tasks
def resolve_client(scheduler, *, timeout: str = "30s"):
    """(client, owned) for ``scheduler``: an address string, a ``distributed.Client`` or a cluster object.

    ``owned`` is True when the client was made here (close it when done); a cluster object
    (``LocalCluster``, ``SLURMCluster``) gets a new client, the cluster itself stays up.
    ``timeout`` bounds the wait for the scheduler.
    """
    require_distributed()
    if isinstance(scheduler, distributed.Client):
        return scheduler, False
    if isinstance(scheduler, (str, os.PathLike)) or hasattr(scheduler, "scheduler_address"):
        try:
            return distributed.Client(scheduler if not isinstance(scheduler, os.PathLike) else os.fspath(scheduler),
                                      timeout=timeout), True
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot reach the dask scheduler {scheduler}: {exc}") from None
    raise InputError(f"scheduler must be an address ('tcp://host:8786'), a distributed.Client or a dask "
                     f"cluster object, got {type(scheduler).__name__}")


def _lost_task(unit: Sequence[Job], exc: BaseException) -> dict:
    """Outcome of a task that raised (cancelled, worker lost): a job whose files are in place
    finished anyway (its result is read again from its log); the others failed."""
    results, errors = {}, []
    for job in unit:
        if job.done():
            results[job.name] = recover_result(job)
        else:
            errors.append(runner.LammpsError(f"the cluster task of {job.name} failed: {type(exc).__name__}: {exc}",
                                             log=Path(job.log), errors=[f"{type(exc).__name__}: {exc}"]))
    return {"results": results, "errors": errors}


def run_dask(units: Sequence[Sequence[Job]], settings: Settings, client) -> Iterator[tuple[list, dict]]:
    """Submit every unit as a task of ``client``; yield (unit, outcome) as tasks finish.

    Closing the generator early (an exception in the consumer, Ctrl-C) sets a
    ``distributed.Event`` the tasks poll: their LAMMPS jobs stop, and tasks not yet started
    are cancelled. A task that fails for another reason than LAMMPS (a worker lost too often,
    glassdyn missing on a worker) counts as a failure of its jobs.
    """
    event_name = f"glassdyn-stop-{uuid.uuid4().hex}"
    settings = dataclasses.replace(settings, stop_event=event_name)
    try:
        client.register_plugin(LammpsCleanup(), name=LammpsCleanup.name)
    except Exception:  # an old scheduler or a restricted one: cleanup is best effort
        pass
    futures = {}
    for unit in units:
        key = f"glassdyn-{unit[0].name.replace('/', '-')}-{uuid.uuid4().hex[:8]}"
        futures[client.submit(run_unit, list(unit), settings, key=key, pure=False, retries=0)] = list(unit)
    finished = False
    try:
        for fut in distributed.as_completed(list(futures)):
            unit = futures.pop(fut)
            try:
                outcome = fut.result()
            except Exception as exc:  # noqa: BLE001 - reported as a job failure
                outcome = _lost_task(unit, exc)
            # forget the task: a worker that leaves later must not make the scheduler run it again
            fut.release()
            del fut
            yield unit, outcome
        finished = True
    finally:
        if not finished:
            try:
                distributed.Event(event_name, client=client).set()
            except Exception:  # noqa: BLE001 - the scheduler may be gone already
                pass
            try:
                client.cancel(list(futures))
            except Exception:  # noqa: BLE001
                pass
