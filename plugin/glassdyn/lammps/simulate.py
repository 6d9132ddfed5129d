"""Python API of ``glassdyn simulate``: equilibration, cooling-rate series, iso-configurational ensembles.

Every task runs the plain scripts of ``lammps_inputs/`` (the same files a user runs by hand
with ``lmp -in``) as one single-threaded LAMMPS process per job, ``cores`` jobs at a time.

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
finished jobs. A folder holding a different run (other parameters) is refused.
"""
from __future__ import annotations

import concurrent.futures as cf
import json
import os
import re
import shutil
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .._atomic import write_text_atomic
from .._util import glassdyn_version
from ..adapters.replicas import MANIFEST, config_dir, load_manifest, reference_path, replica_path
from ..errors import InputError
from ..potentials import PRESETS, get_potential
from ..tg import two_line_fit
from . import runner
from .runner import LammpsError

__all__ = ["run_ensemble", "run_equilibrate", "run_cooling", "log_times", "load_manifest",
           "replica_path", "reference_path", "MODELS", "DYNAMICS", "PRODUCTION_N", "ENV_FAIL_JOB"]

MODELS = ("ka2d", "ternary2d", "ka3d")
DYNAMICS = ("md", "langevin", "brownian")
#: production sizes (Swanson et al. ka2d L = 60; GlassBench ternary2d)
PRODUCTION_N = {"ka2d": 4320, "ternary2d": 1290, "ka3d": 1000}
#: failure injection for tests: a job whose name equals this variable gets a LAMMPS input that
#: fails (a model file that does not exist), exercising the real failure path.
ENV_FAIL_JOB = "GLASSDYN_FAIL_JOB"


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


# ----------------------------------------------------------------------------- jobs
@dataclass
class Job:
    """One LAMMPS run: ``script`` with ``variables``; ``finish`` renames temporaries and returns results."""

    name: str
    script: str
    variables: dict
    log: Path
    outputs: list[Path]
    finish: Callable[[str], dict]
    phase: int = 0
    result: dict = field(default_factory=dict)

    def done(self) -> bool:
        return all(p.exists() for p in self.outputs)


class _Session:
    """Manifest handling and parallel execution of jobs for one output folder."""

    def __init__(self, output, task: str, parameters: dict, *, executable: str, cores: int, omp: bool,
                 progress: bool):
        self.output = Path(output)
        self.task = task
        self.parameters = _normalise(parameters)
        self.executable = executable
        self.cores = cores
        self.omp = omp and runner.has_openmp(executable)
        self.progress = progress
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
        # stale temporaries of an interrupted run
        for stale in self.output.glob("config_*/*.tmp*"):
            if stale.is_dir():
                shutil.rmtree(stale)
            else:
                stale.unlink()
        self.save()

    def save(self) -> None:
        with self.lock:
            _write_json(self.output / MANIFEST, self.manifest)

    def run(self, jobs: list[Job]) -> None:
        """Run the jobs not yet done, phase by phase, ``cores`` at a time; keep finished ones on failure."""
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
        inject = os.environ.get(ENV_FAIL_JOB)

        def work(job: Job) -> None:
            variables = dict(job.variables)
            if inject and inject == job.name:
                variables["model"] = "glassdyn_injected_failure"
            text = runner.run_lammps(job.script, variables, log=job.log, executable=self.executable,
                                     omp=self.omp)
            result = job.finish(text)
            with self.lock:
                self.manifest["results"][job.name] = result
            self.save()

        try:
            for phase in sorted({j.phase for j in pending}):
                todo = [j for j in pending if j.phase == phase]
                if failures:  # a later phase needs the earlier one
                    break
                with cf.ThreadPoolExecutor(max_workers=self.cores) as pool:
                    futures = {pool.submit(work, j): j for j in todo}
                    try:
                        for fut in cf.as_completed(futures):
                            try:
                                fut.result()
                            except LammpsError as exc:
                                failures.append(exc)
                            if bar is not None:
                                bar.update(1)
                    except BaseException:
                        for f in futures:
                            f.cancel()
                        runner.terminate_all()
                        raise
        finally:
            if bar is not None:
                bar.close()
        if failures:
            first = failures[0]
            raise LammpsError(f"{len(failures)} LAMMPS job(s) failed; finished results are kept in {self.output} "
                              f"(run the same command again to resume). First failure: {first}",
                              log=first.log, errors=first.errors)


def _mean_temperature(text: str) -> float | None:
    match = re.findall(r"^GLASSDYN_TEMPERATURE_AVERAGE\s+(\S+)", text, flags=re.M)
    return float(match[-1]) if match else None


def _equilibrate_jobs(session: _Session, model: str, n: int, temperature: float, configurations: int,
                      steps: int, seed: int, dt: float) -> list[Job]:
    pot = get_potential(model)
    counts = pot.composition(n)
    jobs = []
    for c in range(configurations):
        cdir = config_dir(session.output, c)
        s = derive_seed(seed, 0, c)
        session.manifest["seeds"].setdefault(f"config_{c:03d}", {})["equilibrate"] = s
        tmp = cdir / "reference.tmp"

        def finish(text, cdir=cdir, tmp=tmp):
            os.replace(f"{tmp}.lammpstrj", cdir / "reference.lammpstrj")
            os.replace(f"{tmp}.data", cdir / "reference.data")
            return {}

        cdir.mkdir(parents=True, exist_ok=True)
        jobs.append(Job(name=f"config_{c:03d}/equilibrate", script="equilibrate.in",
                        variables={"model": model, "N": n, "T": temperature, "steps": steps, "seed": s,
                                   "dt": dt, "nB": int(counts[1]),
                                   "nC": int(counts[2]) if len(counts) > 2 else 0, "out": str(tmp)},
                        log=cdir / "logs" / "equilibrate.log",
                        outputs=[cdir / "reference.data", cdir / "reference.lammpstrj"], finish=finish, phase=0))
    return jobs


# ----------------------------------------------------------------------------- tasks
def run_equilibrate(output, *, model: str = "ka2d", n: int | None = None, temperature: float = 1.0,
                    configurations: int = 1, equilibration_steps: int = 100_000, seed: int = 1,
                    dt: float = 0.005, cores: int | None = None, executable=None, omp: bool = True,
                    progress: bool = False) -> dict:
    """Prepare and equilibrate ``configurations`` independent configurations at ``temperature``.

    Each configuration starts from its own random positions (seed derived from ``seed`` and
    its index), is minimised and run for ``equilibration_steps`` of Nose-Hoover NVT. Writes
    ``config_XXX/reference.data`` and ``reference.lammpstrj``. Returns the manifest (dict).
    """
    model, n, cores, exe = _check_common(model, n, configurations, seed, cores, executable)
    temperature = _check_positive("temperature", temperature)
    equilibration_steps = int(_check_positive("equilibration_steps", equilibration_steps))
    params = dict(model=model, n=n, temperature=temperature, configurations=configurations,
                  equilibration_steps=equilibration_steps, seed=seed, dt=dt, tdamp=100 * dt)
    session = _Session(output, "equilibrate", params, executable=exe, cores=cores, omp=omp, progress=progress)
    session.open()
    jobs = _equilibrate_jobs(session, model, n, temperature, configurations, equilibration_steps, seed, dt)
    session.save()
    session.run(jobs)
    return session.manifest


def run_ensemble(output, *, model: str = "ka2d", n: int | None = None, temperature: float = 1.0,
                 replicas: int = 30, configurations: int = 1, dynamics: str = "md",
                 times: Sequence[int] | None = None, steps: int = 100_000, points_per_decade: int = 5,
                 equilibration_steps: int = 100_000, seed: int = 1, dt: float = 0.005,
                 langevin_damp: float = 0.1, brownian_gamma: float = 100.0, cores: int | None = None,
                 executable=None, omp: bool = True, progress: bool = False,
                 references: Sequence | None = None) -> dict:
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
        time ``langevin_damp``, noise and velocities from the replica seed), or Brownian
        (3D only; LAMMPS ``fix brownian`` with ``brownian_gamma``).
    times : sequence of int, optional
        Dump steps (ascending; 0 is added). Default :func:`log_times` (``steps``, ``points_per_decade``).
    seed : int
        Base seed; every per-configuration and per-replica seed derives from it and is recorded.
    cores : int, optional
        LAMMPS processes run at once (default: all CPUs).
    executable : str, optional
        LAMMPS executable (default :func:`glassdyn.lammps.runner.find_lammps`).
    omp : bool
        Use the OPENMP pair styles with one thread each.
    progress : bool
        Show a progress bar (tqdm) on stderr.
    references : sequence of paths, optional
        Start from these LAMMPS data files (atom style atomic, one per configuration, already
        equilibrated at ``temperature``) instead of equilibrating new configurations:
        ``configurations`` and ``n`` are taken from them and ``equilibration_steps`` is unused.

    Returns
    -------
    dict
        The manifest written to ``output/manifest.json``. Files: see the module docstring;
        :func:`replica_path` and :func:`reference_path` give the paths.
    """
    user_frames = None
    if references is not None:
        references, user_frames = _read_references(references, model)
        configurations, n = len(references), user_frames[0].n_atoms
    model, n, cores, exe = _check_common(model, n, configurations, seed, cores, executable)
    temperature = _check_positive("temperature", temperature)
    if dynamics not in DYNAMICS:
        raise InputError(f"unknown dynamics '{dynamics}'; choose one of {', '.join(DYNAMICS)}")
    if dynamics == "brownian" and PRESETS[model].dimension == 2:
        raise InputError(f"brownian dynamics is not available for the 2D model '{model}' (LAMMPS fix brownian "
                         "loses atoms out of the plane); use --dynamics langevin, the stochastic stand-in")
    if int(replicas) != replicas or replicas < 1:
        raise InputError(f"replicas must be a positive integer, got {replicas}")
    equilibration_steps = int(_check_positive("equilibration_steps", equilibration_steps))
    langevin_damp = _check_positive("langevin_damp", langevin_damp)
    brownian_gamma = _check_positive("brownian_gamma", brownian_gamma)
    dt = _check_positive("dt", dt)
    if times is None:
        times = log_times(int(_check_positive("steps", steps)), points_per_decade)
    else:
        times = [int(t) for t in times]
        if any(t < 0 for t in times) or any(b <= a for a, b in zip(times, times[1:])):
            raise InputError(f"times must be non-negative and strictly ascending, got {times}")
        if not times or times[0] != 0:
            times = [0] + times
    params = dict(model=model, n=n, temperature=temperature, replicas=int(replicas),
                  configurations=int(configurations), dynamics=dynamics, times=times,
                  equilibration_steps=equilibration_steps, seed=int(seed), dt=dt, tdamp=100 * dt,
                  langevin_damp=langevin_damp if dynamics == "langevin" else None,
                  brownian_gamma=brownian_gamma if dynamics == "brownian" else None)
    if references is not None:
        params.update(equilibration_steps=None, references=[str(r) for r in references],
                      reference_sha256=[_sha256(r) for r in references])
    session = _Session(output, "ensemble", params, executable=exe, cores=cores, omp=omp, progress=progress)
    session.open()
    if references is None:
        jobs = _equilibrate_jobs(session, model, n, temperature, configurations, equilibration_steps, seed, dt)
    else:
        jobs = []
        for c, (path, frame) in enumerate(zip(references, user_frames)):
            _install_reference(session.output, c, path, frame)
            session.manifest["seeds"].setdefault(f"config_{c:03d}", {})
    for c in range(configurations):
        cdir = config_dir(session.output, c)
        seeds = [derive_seed(seed, 1, c, r) for r in range(replicas)]
        session.manifest["seeds"][f"config_{c:03d}"]["replicas"] = seeds
        for r in range(replicas):
            final = replica_path(session.output, c, r)
            tmp = final.with_name(final.name + ".tmp")

            def finish(text, final=final, tmp=tmp):
                os.replace(tmp, final)
                return {"temperature_average": _mean_temperature(text)}

            jobs.append(Job(name=f"config_{c:03d}/replica_{r:03d}", script="ensemble.in",
                            variables={"model": model, "data": str(cdir / "reference.data"), "T": temperature,
                                       "dynamics": dynamics, "seed": seeds[r], "dt": dt, "damp": langevin_damp,
                                       "gamma": brownian_gamma, "out": str(tmp), "times": times},
                            log=cdir / "logs" / f"replica_{r:03d}.log", outputs=[final], finish=finish, phase=1))
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
                equilibration_steps: int = 100_000, ftol: float = 1e-8, seed: int = 1, dt: float = 0.005,
                cores: int | None = None, executable=None, omp: bool = True, progress: bool = False,
                min_points: int = 3) -> dict:
    """Cooling-rate series with inherent structures and Tg (Swanson et al.).

    Each configuration is equilibrated at ``t_start`` and then, for every entry of ``rates``
    (the ramp duration t_cool in MD steps: slower cooling = larger value), cooled linearly to
    ``t_end`` with ``snapshots`` snapshots, each minimised (FIRE, force tolerance ``ftol``) to
    its inherent structure. Writes ``config_XXX/tcool_<t_cool>/{eis.txt, snapshots.lammpstrj,
    inherent.lammpstrj}``. The manifest gets ``tg``: per t_cool the two-line fit of the mean
    E_IS(T) over configurations (``mean``) and of each configuration (``per_config``).
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
    session = _Session(output, "cool", params, executable=exe, cores=cores, omp=omp, progress=progress)
    session.open()
    jobs = _equilibrate_jobs(session, model, n, t_start, configurations, equilibration_steps, seed, dt)
    for c in range(configurations):
        cdir = config_dir(session.output, c)
        for tc in tcools:
            final = cdir / f"tcool_{tc}"
            tmp = cdir / f"tcool_{tc}.tmp"

            def finish(text, final=final, tmp=tmp):
                os.replace(tmp, final)
                fit = two_line_fit(*_eis_columns(final / "eis.txt"), min_points=min_points)
                return {"tg": fit}

            def make_tmp(tmp=tmp):
                tmp.mkdir(parents=True, exist_ok=True)

            jobs.append(Job(name=f"config_{c:03d}/tcool_{tc}", script="cool.in",
                            variables={"model": model, "data": str(cdir / "reference.data"), "tcool": tc,
                                       "nsnap": snapshots, "Tstart": t_start, "Tend": t_end, "ftol": ftol,
                                       "dt": dt, "out": str(tmp) + "/"},
                            log=cdir / "logs" / f"tcool_{tc}.log", outputs=[final / "eis.txt"], finish=finish,
                            phase=1))
            jobs[-1].prepare = make_tmp
    session.save()
    for j in jobs:
        if getattr(j, "prepare", None) and not j.done():
            j.prepare()
    session.run(jobs)
    session.manifest["tg"] = tg_summary(session.output, tcools, configurations, min_points=min_points)
    session.save()
    return session.manifest


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
