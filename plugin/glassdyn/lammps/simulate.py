"""Python API of ``glassdyn simulate``: equilibration, cooling-rate series, iso-configurational ensembles.

Every task runs the plain scripts of ``lammps_inputs/`` (the same files a user runs by hand
with ``lmp -in``) as one single-threaded LAMMPS process per job, ``cores`` jobs at a time.
Three ways to go wider, all with the same files, manifest and resume rules
(:mod:`glassdyn.lammps.execution`):

``scheduler=``
    every job is a task of a running dask scheduler (an address, a ``distributed.Client`` or a
    cluster object such as :func:`glassdyn.lammps.cluster.make_cluster` returns); the files
    are byte-identical to a local run with the same seeds, and a run stopped on the cluster
    resumes here and the other way round.
``mpi_ranks=K``
    every LAMMPS job runs under ``mpiexec -n K`` (domain decomposition; same energies as one
    rank to round-off, trajectories drift apart at round-off level like any two MD runs).
``partitions=P``
    the replicas of each configuration run as one MPI job of ``P`` LAMMPS partitions
    (``lammps_inputs/replicas.in``: each partition takes the next replica, with its own seed);
    the same replica files as separate runs. For whole HPC nodes.

Output folder layout (``output``)::

    manifest.json                    every parameter, every seed, LAMMPS and glassdyn versions,
                                     per-job results (mean kinetic temperature, Tg fits)
    config_000/reference.data        equilibrated configuration (LAMMPS data file, velocities included)
    config_000/reference.lammpstrj   the same, as a dump: id type x y [z] ix iy [iz]
    config_000/replica_007.lammpstrj ensemble: id type xu yu [zu] at every time of ``times``
                                     (first frame = step 0 = the reference positions)
    config_000/tcool_200000/         cooling: eis.txt, snapshots.lammpstrj, inherent.lammpstrj
    config_000/logs/*.log            LAMMPS logs

Results are written under temporary names and renamed when a job succeeds, so an
interrupted run never leaves a half-written result; running the same call again skips the
finished jobs. A folder holding a different run (other parameters) is refused. How a run is
executed (``cores``, ``scheduler``, ``mpi_ranks``, ``partitions``) is not a parameter of the
run: a run may be resumed with other settings.

Brownian dynamics (``dynamics='brownian'``, LAMMPS ``fix brownian``) in 2D gets its time step
from :func:`brownian_dt` unless ``dt`` is given: dx = F dt / gamma_t + sqrt(2 T dt / gamma_t) xi
depends on dt / gamma_t only, and the rule keeps the thermal step sqrt(2 T dt / gamma_t) and the
force step dt F_max / gamma_t at ``BROWNIAN_STEP_FRACTION`` (1%) of the smallest sigma_ab
(measured: atoms are lost above ~2.5%). A time step that loses atoms is reported as a
:class:`~glassdyn.lammps.runner.LammpsError` naming the time step and the rule's value.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from .._atomic import write_text_atomic
from .._util import glassdyn_version
from ..adapters.replicas import MANIFEST, config_dir, load_manifest, reference_path, replica_path
from ..errors import InputError
from ..potentials import PRESETS, get_potential
from ..tg import two_line_fit
from . import runner
from .execution import TMP, Job, Settings, make_units, recover_result, run_local
from .runner import LammpsError

__all__ = ["run_ensemble", "run_equilibrate", "run_cooling", "log_times", "load_manifest",
           "replica_path", "reference_path", "brownian_dt", "MODELS", "DYNAMICS", "PRODUCTION_N",
           "ENV_FAIL_JOB", "DEFAULT_DT", "BROWNIAN_STEP_FRACTION", "BROWNIAN_CONTACT_ENERGY"]

MODELS = ("ka2d", "ternary2d", "ka3d")
DYNAMICS = ("md", "langevin", "brownian")
#: production sizes (Swanson et al. ka2d L = 60; GlassBench ternary2d)
PRODUCTION_N = {"ka2d": 4320, "ternary2d": 1290, "ka3d": 1000}
#: failure injection for tests: a job whose name equals this variable gets a LAMMPS input that
#: fails (a model file that does not exist), exercising the real failure path.
ENV_FAIL_JOB = "GLASSDYN_FAIL_JOB"
#: MD time step (Nose-Hoover, Langevin, equilibration; and Brownian in 3D), LJ units
DEFAULT_DT = 0.005
#: Brownian rule: thermal and force steps per time step as a fraction of the smallest sigma_ab.
#: Measured (benchmarks/bench_brownian.py --scan): 2D ka2d and ternary2d lose atoms once the thermal
#: step reaches ~2.5% of sigma_min (T = 0.45 ... 2); 1% keeps a factor ~6 in dt below that.
BROWNIAN_STEP_FRACTION = 0.01
#: Brownian rule: F_max is the pair force where the pair energy is this many k_B T (closest approach)
BROWNIAN_CONTACT_ENERGY = 5.0


# ----------------------------------------------------------------------------- helpers
def log_times(steps: int, points_per_decade: int = 5) -> list[int]:
    """Log-spaced dump steps from 0 to ``steps``: 0, 1, ..., ``points_per_decade`` per decade, unique integers."""
    steps = int(steps)
    if steps < 1:
        raise InputError(f"steps must be positive, got {steps}")
    if points_per_decade < 1:
        raise InputError(f"points_per_decade must be positive, got {points_per_decade}")
    n = int(np.ceil(np.log10(steps) * points_per_decade)) + 1
    t = np.unique(np.round(np.logspace(0, np.log10(steps), max(n, 2))).astype(int))
    return [0] + [int(v) for v in t if 0 < v <= steps]


def derive_seed(base: int, *keys: int) -> int:
    """A LAMMPS seed (1 .. 9e8) derived from ``base`` and integer keys (numpy SeedSequence)."""
    state = np.random.SeedSequence([int(base), *[int(k) for k in keys]]).generate_state(1)[0]
    return int(state % 900_000_000) + 1


def _write_json(path: Path, data: dict) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def _normalise(obj):
    return json.loads(json.dumps(obj))


# ----------------------------------------------------------------------------- validation
def _check_common(model: str, n: int | None, configurations: int, seed: int, cores: int | None,
                  executable) -> tuple[str, int, int, str]:
    if model not in MODELS:
        raise InputError(f"unknown model '{model}'; choose one of {', '.join(MODELS)}")
    if n is None:
        n = PRODUCTION_N[model]
    if int(n) != n or n < 10:
        raise InputError(f"n (number of atoms) must be an integer >= 10, got {n}")
    if int(configurations) != configurations or configurations < 1:
        raise InputError(f"configurations must be a positive integer, got {configurations}")
    if int(seed) != seed or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed}")
    ncpu = os.cpu_count() or 1
    cores = ncpu if cores is None else cores
    if int(cores) != cores or cores < 1:
        raise InputError(f"cores must be a positive integer, got {cores}")
    exe = runner.find_lammps(executable)
    return model, int(n), int(cores), exe


def _check_positive(name: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(v) or v <= 0:
        raise InputError(f"{name} must be positive, got {value}")
    return v


def _check_count(name: str, value) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise InputError(f"{name} must be a positive integer, got {value}")
    return int(value)


# ----------------------------------------------------------------------------- Brownian time step
def _contact_force(potential, ti: int, tj: int, energy: float) -> float:
    """|F| of pair (ti, tj) at the distance (repulsive side) where its energy equals ``energy``."""
    sig = float(potential.sigma[ti - 1, tj - 1])
    lo, hi = 0.5 * sig, 2.0 ** (1.0 / 6.0) * sig  # V(lo) >> energy, hi = the LJ minimum
    if potential.energy(lo, ti, tj) <= energy:
        return float(abs(potential.force(lo, ti, tj)))
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if potential.energy(mid, ti, tj) > energy:
            lo = mid
        else:
            hi = mid
    return float(abs(potential.force(hi, ti, tj)))


def brownian_dt(model, temperature: float, gamma: float = 100.0, *, fraction: float = BROWNIAN_STEP_FRACTION,
                contact_energy: float = BROWNIAN_CONTACT_ENERGY) -> float:
    """Time step of overdamped Brownian dynamics (LAMMPS ``fix brownian``) for a pair potential.

    One step moves a particle by dx = F dt / gamma_t + sqrt(2 T dt / gamma_t) xi, so only
    dt / gamma_t matters. The rule keeps both terms at ``fraction`` of the smallest sigma_ab:

        dt = gamma_t * min( (f sigma_min)^2 / (2 T),  f sigma_min / F_max )

    with F_max the largest pair force at the closest approach, where a pair's energy is
    ``contact_energy`` k_B T. For ka2d and ternary2d the thermal term decides (sigma_min = 0.8:
    dt / gamma_t = 3.2e-5 / T).

    Parameters
    ----------
    model : str or PairPotential
    temperature : float
    gamma : float
        ``gamma_t`` of ``fix brownian`` (the default ``brownian_gamma`` of :func:`run_ensemble`).
    fraction : float
        Step per time step in units of sigma_min (default :data:`BROWNIAN_STEP_FRACTION`).
    contact_energy : float
        Pair energy, in k_B T, of the closest approach used for F_max.

    Returns
    -------
    float
        dt in LJ time units, rounded to two significant digits.

    Notes
    -----
    Measured with ``benchmarks/bench_brownian.py --scan`` (N = 500, gamma_t = 1, 1e5 steps): 2D
    ka2d and ternary2d lose atoms ("Lost atoms", or "Pair distance < table inner cutoff" for the
    ternary2d table) once the thermal step reaches about 0.025 sigma_min, at every temperature
    from 0.45 to 2; the default fraction 0.01 is a factor ~6 in dt below that.
    """
    pot = get_potential(model)
    temperature = _check_positive("temperature", temperature)
    gamma = _check_positive("brownian_gamma", gamma)
    sigma_min = float(np.min(pot.sigma))
    f_max = max(_contact_force(pot, a, b, contact_energy * temperature)
                for a in range(1, pot.n_types + 1) for b in range(a, pot.n_types + 1))
    h = min((fraction * sigma_min) ** 2 / (2.0 * temperature), fraction * sigma_min / f_max)
    return float(f"{gamma * h:.2g}")


def _step_hints(model: str, temperature: float, dynamics: str, dt: float, gamma: float | None) -> list:
    """Advice appended to a LAMMPS error that says particles moved too far in one step."""
    pattern = r"Lost atoms|Pair distance < table inner cutoff|Out of range atoms|Non-numeric atom coords"
    if dynamics == "brownian":
        pot = get_potential(model)
        sigma_min = float(np.min(pot.sigma))
        h = dt / gamma
        step = np.sqrt(2.0 * temperature * h) / sigma_min
        rule = brownian_dt(model, temperature, gamma)
        text = (f"Brownian dynamics moved particles too far in one step: the time step dt = {dt:g} (dt/gamma_t = "
                f"{h:.3g}, a thermal step sqrt(2 T dt/gamma_t) = {step:.3g} sigma_min) is too large for {model} at "
                f"T = {temperature:g}. Use a smaller --dt (dt = {rule:g} from glassdyn's rule for gamma_t = {gamma:g}, "
                "glassdyn.lammps.simulate.brownian_dt, which --dt left unset gives), or a larger --brownian-gamma.")
    else:
        text = (f"The time step dt = {dt:g} is too large for {model} at T = {temperature:g}: particles moved too "
                f"far in one step; use a smaller --dt (default {DEFAULT_DT}).")
    return [(pattern, text)]


class _Session:
    """Manifest handling and the execution of the jobs of one output folder."""

    def __init__(self, output, task: str, parameters: dict, *, executable: str, cores: int, omp: bool,
                 progress: bool, scheduler=None, ranks: int = 1, partitions: int = 1, mpiexec=None):
        # absolute: LAMMPS may run in another working directory (partitions) or on a cluster worker
        self.output = Path(os.path.abspath(output))
        self.task = task
        self.parameters = _normalise(parameters)
        self.executable = executable
        self.cores = cores
        self.omp = omp and runner.has_openmp(executable)
        self.progress = progress
        self.scheduler = scheduler
        self.ranks = _check_count("mpi_ranks", ranks)
        self.partitions = _check_count("partitions", partitions)
        self.mpiexec = None if mpiexec is None else str(mpiexec)
        if self.ranks * self.partitions > 1 and scheduler is None:
            runner.find_mpiexec(self.mpiexec, executable=executable)  # fail before anything runs
        if scheduler is not None:
            from .cluster import require_distributed
            require_distributed()  # an InputError naming the extra, before anything runs
        self.lock = threading.Lock()
        self.manifest = {"glassdyn_version": glassdyn_version(), "task": task,
                         "lammps_version": runner.lammps_version(executable),
                         "lammps_executable": executable, "parameters": self.parameters,
                         "seeds": {}, "results": {}}

    def open(self) -> None:
        """Check that the folder is empty or holds this same run; write the manifest."""
        path = self.output / MANIFEST
        if path.exists():
            old = json.loads(path.read_text())
            if old.get("task") != self.task or old.get("parameters") != self.parameters:
                diff = sorted(k for k in set(old.get("parameters", {})) | set(self.parameters)
                              if old.get("parameters", {}).get(k) != self.parameters.get(k))
                what = (f"task '{old.get('task')}'" if old.get("task") != self.task
                        else "parameters " + ", ".join(f"{k}={old.get('parameters', {}).get(k)!r} (now "
                                                        f"{self.parameters.get(k)!r})" for k in diff))
                raise InputError(f"output folder {self.output} holds a different run ({what}); choose "
                                 "another --output, or delete the folder to start again")
            self.manifest["results"] = old.get("results", {})
        elif self.output.exists() and any(self.output.iterdir()):
            raise InputError(f"output folder {self.output} is not empty and holds no {MANIFEST}; "
                             "choose an empty or new folder")
        self.output.mkdir(parents=True, exist_ok=True)
        # stale temporaries of an interrupted run (results, logs, partition scratch folders)
        for stale in [*self.output.glob("config_*/*.tmp*"), *self.output.glob("config_*/logs/*.tmp*")]:
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)
        self.save()

    def save(self) -> None:
        with self.lock:
            _write_json(self.output / MANIFEST, self.manifest)

    def _settings(self) -> Settings:
        return Settings(executable=self.executable, omp=self.omp, ranks=self.ranks, partitions=self.partitions,
                        mpiexec=self.mpiexec, inject=os.environ.get(ENV_FAIL_JOB) or None)

    def run(self, jobs: list[Job]) -> None:
        """Run the jobs not yet done, phase by phase (here ``cores`` at a time, or on the dask
        scheduler); keep finished ones on failure. Only this process writes the manifest."""
        recovered = False
        for j in jobs:  # finished by a task whose submitter had stopped: read its result again
            if j.done() and j.name not in self.manifest["results"]:
                self.manifest["results"][j.name] = recover_result(j)
                recovered = True
        if recovered:
            self.save()
        failures: list[LammpsError] = []
        pending = [j for j in jobs if not j.done()]
        bar = None
        if self.progress and sys.stderr.isatty():  # a bar on a terminal only: log files stay clean
            try:
                from tqdm import tqdm
                bar = tqdm(total=len(jobs), initial=len(jobs) - len(pending), unit="job",
                           desc=f"glassdyn simulate {self.task}", file=sys.stderr)
            except ImportError:  # tqdm is optional
                bar = None
        settings = self._settings()
        client, owned = None, False
        try:
            if pending and self.scheduler is not None:
                from .cluster import resolve_client
                client, owned = resolve_client(self.scheduler)
            for phase in sorted({j.phase for j in pending}):
                if failures:  # a later phase needs the earlier one
                    break
                units = make_units([j for j in pending if j.phase == phase], self.partitions)
                if client is not None:
                    from .cluster import run_dask
                    stream = run_dask(units, settings, client)
                else:
                    stream = run_local(units, settings, max(1, self.cores // settings.width))
                try:
                    for unit, outcome in stream:
                        if outcome["results"]:
                            with self.lock:
                                self.manifest["results"].update(outcome["results"])
                            self.save()
                        failures.extend(outcome["errors"])
                        if bar is not None:
                            bar.update(len(unit))
                finally:
                    stream.close()
        finally:
            if bar is not None:
                bar.close()
            if owned:
                client.close()
        if failures:
            first = failures[0]
            raise LammpsError(f"{len(failures)} LAMMPS job(s) failed; finished results are kept in {self.output} "
                              f"(run the same command again to resume). First failure: {first}",
                              log=first.log, errors=first.errors)


def _equilibrate_jobs(session: _Session, model: str, n: int, temperature: float, configurations: int,
                      steps: int, seed: int, dt: float) -> list[Job]:
    pot = get_potential(model)
    counts = pot.composition(n)
    jobs = []
    hints = _step_hints(model, temperature, "md", dt, None)
    for c in range(configurations):
        cdir = config_dir(session.output, c)
        s = derive_seed(seed, 0, c)
        session.manifest["seeds"].setdefault(f"config_{c:03d}", {})["equilibrate"] = s
        tmp = f"{cdir / 'reference'}.{TMP}"
        cdir.mkdir(parents=True, exist_ok=True)
        jobs.append(Job(name=f"config_{c:03d}/equilibrate", script="equilibrate.in",
                        variables={"model": model, "N": n, "T": temperature, "steps": steps, "seed": s,
                                   "dt": dt, "nB": int(counts[1]),
                                   "nC": int(counts[2]) if len(counts) > 2 else 0, "out": tmp},
                        log=cdir / "logs" / "equilibrate.log",
                        outputs=[cdir / "reference.data", cdir / "reference.lammpstrj"],
                        renames=[(f"{tmp}.lammpstrj", cdir / "reference.lammpstrj"),
                                 (f"{tmp}.data", cdir / "reference.data")],
                        kind="equilibrate", phase=0, hints=hints))
    return jobs


# ----------------------------------------------------------------------------- tasks
_EXECUTION_DOC = """    cores : int, optional
        CPU cores used here (default: all): ``cores // (mpi_ranks * partitions)`` LAMMPS jobs
        run at once. Ignored with ``scheduler``.
    executable : str, optional
        LAMMPS executable (default :func:`glassdyn.lammps.runner.find_lammps`).
    omp : bool
        Use the OPENMP pair styles with one thread each.
    progress : bool
        Show a progress bar (tqdm) on stderr when it is a terminal; it follows job (task) completion.
    scheduler : str, distributed.Client or dask cluster, optional
        Run every LAMMPS job as a task of this dask scheduler (``'tcp://host:8786'``, a
        ``Client``, or a ``LocalCluster`` / ``SLURMCluster`` as from
        :func:`glassdyn.lammps.cluster.make_cluster`). The workers must see ``output`` under the
        same path; the manifest is written here only. Needs the ``cluster`` extra.
    mpi_ranks : int
        MPI ranks per LAMMPS job (``mpiexec -n mpi_ranks``; default 1 = no MPI).
    mpiexec : str, optional
        The ``mpiexec`` (default :func:`glassdyn.lammps.runner.find_mpiexec`)."""


def run_equilibrate(output, *, model: str = "ka2d", n: int | None = None, temperature: float = 1.0,
                    configurations: int = 1, equilibration_steps: int = 100_000, seed: int = 1,
                    dt: float = DEFAULT_DT, cores: int | None = None, executable=None, omp: bool = True,
                    progress: bool = False, scheduler=None, mpi_ranks: int = 1, mpiexec=None) -> dict:
    """Prepare and equilibrate ``configurations`` independent configurations at ``temperature``.

    Each configuration starts from its own random positions (seed derived from ``seed`` and
    its index), is minimised and run for ``equilibration_steps`` of Nose-Hoover NVT. Writes
    ``config_XXX/reference.data`` and ``reference.lammpstrj``.

    Parameters
    ----------
    output : path
        Output folder (created; a folder holding the same run is resumed).
    model, n, temperature, configurations, equilibration_steps, seed
        As in :func:`run_ensemble`.
    dt : float
        MD time step.
    <execution settings>

    Returns
    -------
    dict
        The manifest written to ``output/manifest.json``.
    """
    model, n, cores, exe = _check_common(model, n, configurations, seed, cores, executable)
    temperature = _check_positive("temperature", temperature)
    equilibration_steps = int(_check_positive("equilibration_steps", equilibration_steps))
    params = dict(model=model, n=n, temperature=temperature, configurations=configurations,
                  equilibration_steps=equilibration_steps, seed=seed, dt=dt, tdamp=100 * dt)
    session = _Session(output, "equilibrate", params, executable=exe, cores=cores, omp=omp, progress=progress,
                       scheduler=scheduler, ranks=mpi_ranks, mpiexec=mpiexec)
    session.open()
    jobs = _equilibrate_jobs(session, model, n, temperature, configurations, equilibration_steps, seed, dt)
    session.save()
    session.run(jobs)
    return session.manifest


def run_ensemble(output, *, model: str = "ka2d", n: int | None = None, temperature: float = 1.0,
                 replicas: int = 30, configurations: int = 1, dynamics: str = "md",
                 times: Sequence[int] | None = None, steps: int = 100_000, points_per_decade: int = 5,
                 equilibration_steps: int = 100_000, seed: int = 1, dt: float | None = None,
                 langevin_damp: float = 0.1, brownian_gamma: float = 100.0, cores: int | None = None,
                 executable=None, omp: bool = True, progress: bool = False,
                 references: Sequence | None = None, scheduler=None, mpi_ranks: int = 1, partitions: int = 1,
                 mpiexec=None) -> dict:
    """Iso-configurational ensembles: ``replicas`` trajectories from each of ``configurations`` configurations.

    Parameters
    ----------
    output : path
        Output folder (created; a folder holding the same run is resumed).
    model : {'ka2d', 'ternary2d', 'ka3d'}
    n : int, optional
        Number of atoms (default: the production size of the model).
    temperature : float
        Equilibration and run temperature (LJ units).
    replicas : int
        Trajectories per configuration; they differ only in their seed.
    configurations : int
        Independent configurations, each equilibrated from its own random start for
        ``equilibration_steps`` (make it several tau_alpha).
    dynamics : {'md', 'langevin', 'brownian'}
        Newtonian NVT (velocities resampled at T with the replica seed), Langevin (friction
        time ``langevin_damp``, noise and velocities from the replica seed), or overdamped
        Brownian dynamics (LAMMPS ``fix brownian`` with ``gamma_t = brownian_gamma``, noise
        from the replica seed).
    times : sequence of int, optional
        Dump steps (ascending; 0 is added). Default :func:`log_times` (``steps``, ``points_per_decade``).
    seed : int
        Base seed; every per-configuration and per-replica seed derives from it and is recorded.
    dt : float, optional
        Time step of the replicas. Default :data:`DEFAULT_DT` (0.005), which the equilibration
        uses too; for Brownian dynamics in 2D the default is :func:`brownian_dt` (``model``,
        ``temperature``, ``brownian_gamma``) and the equilibration keeps 0.005 (recorded as
        ``equilibration_dt``). Brownian dynamics in 3D keeps 0.005.
    langevin_damp : float
        Langevin friction time.
    brownian_gamma : float
        ``gamma_t`` of ``fix brownian`` (only dt / gamma_t matters for the trajectory in steps).
    <execution settings>
    partitions : int
        Run the replicas of each configuration as ONE MPI job of ``partitions`` LAMMPS
        partitions of ``mpi_ranks`` ranks each (``lammps_inputs/replicas.in``, ``-partition
        PxK``): each partition takes the next replica with its own seed; the replica files are
        those of separate runs. For whole HPC nodes; default 1 (one job per replica).
    references : sequence of paths, optional
        Start from these LAMMPS data files (atom style atomic, one per configuration, already
        equilibrated at ``temperature``) instead of equilibrating new configurations:
        ``configurations`` and ``n`` are taken from them and ``equilibration_steps`` is unused.

    Returns
    -------
    dict
        The manifest written to ``output/manifest.json``. Files: see the module docstring;
        :func:`replica_path` and :func:`reference_path` give the paths.

    Raises
    ------
    InputError
        Bad parameters, or a folder holding another run (before anything runs).
    LammpsError
        Some LAMMPS jobs failed (the others are kept; run again to resume). A Brownian time
        step that loses atoms is named, with the value of :func:`brownian_dt`.
    """
    user_frames = None
    if references is not None:
        references, user_frames = _read_references(references, model)
        configurations, n = len(references), user_frames[0].n_atoms
    model, n, cores, exe = _check_common(model, n, configurations, seed, cores, executable)
    temperature = _check_positive("temperature", temperature)
    if dynamics not in DYNAMICS:
        raise InputError(f"unknown dynamics '{dynamics}'; choose one of {', '.join(DYNAMICS)}")
    if int(replicas) != replicas or replicas < 1:
        raise InputError(f"replicas must be a positive integer, got {replicas}")
    equilibration_steps = int(_check_positive("equilibration_steps", equilibration_steps))
    langevin_damp = _check_positive("langevin_damp", langevin_damp)
    brownian_gamma = _check_positive("brownian_gamma", brownian_gamma)
    brownian_2d = dynamics == "brownian" and PRESETS[model].dimension == 2
    equilibration_dt = DEFAULT_DT if brownian_2d else None
    if dt is None:
        dt = brownian_dt(model, temperature, brownian_gamma) if brownian_2d else DEFAULT_DT
    dt = _check_positive("dt", dt)
    if equilibration_dt is None:
        equilibration_dt = dt  # MD and Langevin (and 3D Brownian) replicas share the equilibration's dt
    partitions = _check_count("partitions", partitions)
    if times is None:
        times = log_times(int(_check_positive("steps", steps)), points_per_decade)
    else:
        times = [int(t) for t in times]
        if any(t < 0 for t in times) or any(b <= a for a, b in zip(times, times[1:])):
            raise InputError(f"times must be non-negative and strictly ascending, got {times}")
        if not times or times[0] != 0:
            times = [0] + times
    # the parameters of runs that existed before 2D Brownian dynamics are unchanged (resume)
    params = dict(model=model, n=n, temperature=temperature, replicas=int(replicas),
                  configurations=int(configurations), dynamics=dynamics, times=times,
                  equilibration_steps=equilibration_steps, seed=int(seed), dt=dt, tdamp=100 * equilibration_dt,
                  langevin_damp=langevin_damp if dynamics == "langevin" else None,
                  brownian_gamma=brownian_gamma if dynamics == "brownian" else None)
    if brownian_2d:
        params["equilibration_dt"] = equilibration_dt
    if references is not None:
        params.update(equilibration_steps=None, references=[str(r) for r in references],
                      reference_sha256=[_sha256(r) for r in references])
        if brownian_2d:
            params["equilibration_dt"] = None
    session = _Session(output, "ensemble", params, executable=exe, cores=cores, omp=omp, progress=progress,
                       scheduler=scheduler, ranks=mpi_ranks, partitions=partitions, mpiexec=mpiexec)
    session.open()
    if references is None:
        jobs = _equilibrate_jobs(session, model, n, temperature, configurations, equilibration_steps, seed,
                                 equilibration_dt)
    else:
        jobs = []
        for c, (path, frame) in enumerate(zip(references, user_frames)):
            _install_reference(session.output, c, path, frame)
            session.manifest["seeds"].setdefault(f"config_{c:03d}", {})
    hints = _step_hints(model, temperature, dynamics, dt, brownian_gamma)
    for c in range(configurations):
        cdir = config_dir(session.output, c)
        seeds = [derive_seed(seed, 1, c, r) for r in range(replicas)]
        session.manifest["seeds"][f"config_{c:03d}"]["replicas"] = seeds
        for r in range(replicas):
            final = replica_path(session.output, c, r)
            tmp = f"{final}.{TMP}"
            jobs.append(Job(name=f"config_{c:03d}/replica_{r:03d}", script="ensemble.in",
                            variables={"model": model, "data": str(cdir / "reference.data"), "T": temperature,
                                       "dynamics": dynamics, "seed": seeds[r], "dt": dt, "damp": langevin_damp,
                                       "gamma": brownian_gamma, "out": tmp, "times": times},
                            log=cdir / "logs" / f"replica_{r:03d}.log", outputs=[final], renames=[(tmp, final)],
                            kind="replica", phase=1, options={"frames": len(times)}, hints=hints))
    session.save()
    session.run(jobs)
    return session.manifest


def _sha256(path) -> str:
    import hashlib
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _read_references(references, model: str):
    """Read and check the user's starting configurations (data files) before anything runs."""
    from ..adapters.lammps_data import read_data_file

    paths = [Path(r).resolve() for r in references]
    if not paths:
        raise InputError("--reference needs at least one LAMMPS data file")
    pot = get_potential(model)
    frames = []
    for path in paths:
        if not path.is_file():
            raise InputError(f"reference configuration {path} does not exist")
        frame = read_data_file(path, dimension=pot.dimension)
        pot.check_types(frame.types, frame.ids, source=str(path))
        frames.append(frame)
    return paths, frames


def _install_reference(output, c: int, path: Path, frame) -> None:
    """``config_XXX/reference.data`` (a copy of the user's file) and ``reference.lammpstrj``."""
    from .._atomic import write_bytes_atomic
    from ..adapters.lammps_dump import write_dump

    cdir = config_dir(output, c)
    (cdir / "logs").mkdir(parents=True, exist_ok=True)
    if not (cdir / "reference.data").exists():
        write_bytes_atomic(cdir / "reference.data", path.read_bytes())
    if not (cdir / "reference.lammpstrj").exists():
        write_dump(cdir / "reference.lammpstrj", [frame])


def run_cooling(output, *, model: str = "ka2d", n: int | None = None, rates: Sequence[float] = (200_000,),
                configurations: int = 1, snapshots: int = 200, t_start: float = 2.0, t_end: float = 0.05,
                equilibration_steps: int = 100_000, ftol: float = 1e-8, seed: int = 1, dt: float = DEFAULT_DT,
                cores: int | None = None, executable=None, omp: bool = True, progress: bool = False,
                min_points: int = 3, scheduler=None, mpi_ranks: int = 1, mpiexec=None) -> dict:
    """Cooling-rate series with inherent structures and Tg (Swanson et al.).

    Each configuration is equilibrated at ``t_start`` and then, for every entry of ``rates``
    (the ramp duration t_cool in MD steps: slower cooling = larger value), cooled linearly to
    ``t_end`` with ``snapshots`` snapshots, each minimised (FIRE, force tolerance ``ftol``) to
    its inherent structure. Writes ``config_XXX/tcool_<t_cool>/{eis.txt, snapshots.lammpstrj,
    inherent.lammpstrj}``. The manifest gets ``tg``: per t_cool the two-line fit of the mean
    E_IS(T) over configurations (``mean``) and of each configuration (``per_config``).

    Parameters
    ----------
    output : path
        Output folder (created; a folder holding the same run is resumed).
    rates : sequence of int
        Ramp durations t_cool in MD steps, one cooling job per configuration and rate.
    snapshots, t_start, t_end, ftol, min_points
        Snapshots per ramp, temperatures of the ramp, FIRE tolerance, points per line of the Tg fit.
    model, n, configurations, equilibration_steps, seed, dt
        As in :func:`run_equilibrate` (equilibration at ``t_start``).
    <execution settings>

    Returns
    -------
    dict
        The manifest, with ``tg``.
    """
    model, n, cores, exe = _check_common(model, n, configurations, seed, cores, executable)
    if len(rates) == 0:
        raise InputError("give at least one cooling duration (rates, in MD steps)")
    tcools = []
    for r in rates:
        v = _check_positive("rate (t_cool in steps)", r)
        if v != int(v):
            raise InputError(f"rate (t_cool in steps) must be a whole number of steps, got {r}")
        tcools.append(int(v))
    t_start = _check_positive("t_start", t_start)
    t_end = _check_positive("t_end", t_end)
    if int(snapshots) != snapshots or snapshots < 2 * min_points:
        raise InputError(f"snapshots must be an integer >= {2 * min_points}, got {snapshots}")
    if any(t < snapshots - 1 for t in tcools):
        raise InputError(f"t_cool must be at least snapshots - 1 = {snapshots - 1} steps, got {tcools}")
    equilibration_steps = int(_check_positive("equilibration_steps", equilibration_steps))
    params = dict(model=model, n=n, rates=tcools, configurations=int(configurations), snapshots=int(snapshots),
                  t_start=t_start, t_end=t_end, equilibration_steps=equilibration_steps, ftol=float(ftol),
                  seed=int(seed), dt=dt, tdamp=100 * dt)
    session = _Session(output, "cool", params, executable=exe, cores=cores, omp=omp, progress=progress,
                       scheduler=scheduler, ranks=mpi_ranks, mpiexec=mpiexec)
    session.open()
    jobs = _equilibrate_jobs(session, model, n, t_start, configurations, equilibration_steps, seed, dt)
    hints = _step_hints(model, t_start, "md", dt, None)
    for c in range(configurations):
        cdir = config_dir(session.output, c)
        for tc in tcools:
            final = cdir / f"tcool_{tc}"
            tmp = f"{final}.{TMP}"
            jobs.append(Job(name=f"config_{c:03d}/tcool_{tc}", script="cool.in",
                            variables={"model": model, "data": str(cdir / "reference.data"), "tcool": tc,
                                       "nsnap": snapshots, "Tstart": t_start, "Tend": t_end, "ftol": ftol,
                                       "dt": dt, "out": tmp + "/"},
                            log=cdir / "logs" / f"tcool_{tc}.log", outputs=[final / "eis.txt"],
                            renames=[(tmp, final)], mkdirs=[tmp], kind="cool", phase=1,
                            options={"min_points": min_points}, hints=hints))
    session.save()
    session.run(jobs)
    session.manifest["tg"] = tg_summary(session.output, tcools, configurations, min_points=min_points)
    session.save()
    return session.manifest


for _task in (run_equilibrate, run_ensemble, run_cooling):
    _task.__doc__ = _task.__doc__.replace("    <execution settings>", _EXECUTION_DOC)
del _task


def _eis_columns(path: Path) -> tuple[np.ndarray, np.ndarray]:
    data = np.loadtxt(path, comments="#", ndmin=2)
    return data[:, 2], data[:, 5]


def tg_summary(output, tcools: Sequence[int], configurations: int, *, min_points: int = 3) -> dict:
    """Tg per t_cool: two-line fit of the configuration-mean E_IS(T_set) and of each configuration."""
    summary = {}
    for tc in tcools:
        curves = [_eis_columns(config_dir(output, c) / f"tcool_{tc}" / "eis.txt") for c in range(configurations)]
        temps = curves[0][0]
        mean_e = np.mean([e for _, e in curves], axis=0)
        per = [two_line_fit(t, e, min_points=min_points)["tg"] for t, e in curves]
        summary[str(tc)] = {"tg": two_line_fit(temps, mean_e, min_points=min_points),
                            "tg_per_config": per, "eis_final_mean": float(mean_e[np.argmin(temps)])}
    return summary
