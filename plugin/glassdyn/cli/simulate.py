"""``glassdyn simulate``: run the LAMMPS scripts of ``lammps_inputs/`` with presets.

Examples
--------
    glassdyn simulate ensemble --model ka2d --n 4320 --temperature 0.45 --replicas 30 \\
        --configurations 10 --dynamics langevin --steps 1000000 --cores 8 --output run_T045
    glassdyn simulate cool --model ka2d --rates 2e5 2e7 --configurations 5 --output cooling
    glassdyn simulate equilibrate --model ternary2d --temperature 0.5 --output eq
    glassdyn simulate ensemble --model ka2d --temperature 0.45 --reference my_config.data --output run
    glassdyn simulate ensemble --model ternary2d --temperature 0.6 --dynamics brownian --output run_bd
    glassdyn simulate ensemble --model ka2d --temperature 0.45 --scheduler tcp://10.0.0.5:8786 --output run
    glassdyn simulate ensemble --model ka2d --n 100000 --temperature 0.45 --mpi-ranks 8 --output big
    glassdyn simulate ensemble --model ka2d --temperature 0.45 --replicas 32 --partitions 32 --output run

Interrupt with Ctrl-C and run the same command again to resume: finished jobs are kept. A run
started on a dask cluster (--scheduler, e.g. the address printed by `glassdyn cluster`) resumes
locally and the other way round; --cores, --scheduler, --mpi-ranks and --partitions may change
between the two.
"""
from __future__ import annotations

import argparse

from ..errors import UsageError
from ._common import check_inputs, check_output_folder, nonnegative_int, positive_float, positive_int

TASKS = ("equilibrate", "cool", "ensemble")
MODELS = ("ka2d", "ternary2d", "ka3d")
DYNAMICS = ("md", "langevin", "brownian")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = __doc__.split("Examples", 1)[1]
    parser.add_argument("task", nargs="?", choices=TASKS, help="what to run (or --task)")
    parser.add_argument("--task", dest="task_option", choices=TASKS, help=argparse.SUPPRESS)
    parser.add_argument("--model", default="ka2d", choices=MODELS, help="ka2d | ternary2d | ka3d (default ka2d)")
    parser.add_argument("--n", type=positive_int, default=None, help="number of atoms (default: production size: "
                        "ka2d 4320, ternary2d 1290, ka3d 1000)")
    parser.add_argument("--temperature", type=positive_float, default=None, help="temperature, LJ units "
                        "(equilibrate and ensemble; required)")
    parser.add_argument("--configurations", type=positive_int, default=1, help="independent configurations (default 1)")
    parser.add_argument("--replicas", type=positive_int, default=30, help="replicas per configuration (default 30)")
    parser.add_argument("--dynamics", default="md", choices=DYNAMICS, help="md | langevin | brownian (default md)")
    parser.add_argument("--steps", type=positive_int, default=100_000, help="ensemble length in MD steps "
                        "(default 1e5)")
    parser.add_argument("--points-per-decade", type=positive_int, default=5, help="log-spaced dumps per decade")
    parser.add_argument("--times", type=nonnegative_int, nargs="+", default=None, help="explicit dump steps (ascending)")
    parser.add_argument("--equilibration-steps", type=nonnegative_int, default=100_000, help="NVT steps after the "
                        "random start and minimisation (default 1e5; make it several tau_alpha)")
    parser.add_argument("--reference", nargs="+", default=None, metavar="DATA",
                        help="ensemble: start from these LAMMPS data files (atom style atomic, equilibrated at "
                        "--temperature), one configuration each, instead of equilibrating new ones")
    parser.add_argument("--rates", type=positive_float, nargs="+", default=[2e5], help="cooling: ramp durations "
                        "t_cool in MD steps, from T=2.0 to 0.05 (default 2e5; Swanson et al.: 2e5 2e7)")
    parser.add_argument("--snapshots", type=positive_int, default=200, help="cooling: snapshots along each ramp")
    parser.add_argument("--langevin-damp", type=positive_float, default=0.1, help="Langevin friction time (default 0.1)")
    parser.add_argument("--brownian-gamma", type=positive_float, default=100.0, help="Brownian friction gamma_t of fix "
                        "brownian (default 100)")
    parser.add_argument("--dt", type=positive_float, default=None, help="time step (default 0.005; Brownian dynamics in "
                        "2D: from gamma_t and the potential, dt = gamma_t * (0.01 sigma_min)^2 / (2 T))")
    parser.add_argument("--seed", type=nonnegative_int, default=1, help="base seed (default 1)")
    parser.add_argument("--cores", type=positive_int, default=None, help="CPU cores to use here (default: all); "
                        "cores / (mpi-ranks x partitions) LAMMPS jobs run at once")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS", help="run every LAMMPS job as a task of "
                        "this running dask scheduler (tcp://host:port; needs the cluster extra; workers must see "
                        "--output under the same path)")
    parser.add_argument("--mpi-ranks", type=positive_int, default=1, metavar="K", help="run each LAMMPS job under "
                        "mpiexec -n K (default 1: no MPI)")
    parser.add_argument("--partitions", type=positive_int, default=1, metavar="P", help="ensemble: run the replicas of "
                        "a configuration as one MPI job of P LAMMPS partitions (-partition PxK), each taking "
                        "the next replica (default 1)")
    parser.add_argument("--mpiexec", default=None, help="mpiexec to use (default: $GLASSDYN_MPIEXEC, the "
                        "mpich wheel's, then PATH)")
    parser.add_argument("-o", "--output", required=True, help="output folder (resumed if it holds the same run)")
    parser.add_argument("--lmp", default=None, help="LAMMPS executable (default: $GLASSDYN_LMP or lmp)")
    parser.add_argument("--no-omp", action="store_true", help="do not use the OPENMP styles (-sf omp)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    # every option is checked here, before LAMMPS starts (a usage error is exit 2, at once)
    task = args.task or args.task_option
    if task is None:
        raise UsageError(f"say what to run: glassdyn simulate {{{','.join(TASKS)}}} ...")
    if args.task and args.task_option and args.task != args.task_option:
        raise UsageError(f"two different tasks given: {args.task} and --task {args.task_option}")
    if args.partitions != 1 and task != "ensemble":
        raise UsageError("--partitions runs the replicas of an ensemble together: use it with "
                         "'glassdyn simulate ensemble'")
    if task in ("equilibrate", "ensemble") and args.temperature is None:
        raise UsageError(f"glassdyn simulate {task} needs --temperature")
    if args.reference is not None and task != "ensemble":
        raise UsageError("--reference starts iso-configurational ensembles: use it with 'glassdyn simulate ensemble'")
    if task == "ensemble" and args.replicas < 2:
        raise UsageError(f"--replicas {args.replicas}: an iso-configurational ensemble needs at least 2")
    if args.times is not None and list(args.times) != sorted(set(args.times)):
        raise UsageError("--times must be distinct and ascending")
    if args.reference is not None:
        check_inputs(args.reference, "LAMMPS data file")
    check_output_folder(args.output)

    from ..lammps import simulate

    common = dict(model=args.model, n=args.n, configurations=args.configurations, seed=args.seed,
                  cores=args.cores, executable=args.lmp, omp=not args.no_omp, progress=not args.quiet,
                  scheduler=args.scheduler, mpi_ranks=args.mpi_ranks, mpiexec=args.mpiexec)
    if args.dt is not None and task != "ensemble":
        common["dt"] = args.dt
    if task == "equilibrate":
        manifest = simulate.run_equilibrate(args.output, temperature=args.temperature,
                                            equilibration_steps=args.equilibration_steps, **common)
    elif task == "ensemble":
        manifest = simulate.run_ensemble(args.output, temperature=args.temperature, replicas=args.replicas,
                                         dynamics=args.dynamics, times=args.times, steps=args.steps,
                                         points_per_decade=args.points_per_decade,
                                         equilibration_steps=args.equilibration_steps,
                                         langevin_damp=args.langevin_damp, references=args.reference,
                                         brownian_gamma=args.brownian_gamma, dt=args.dt,
                                         partitions=args.partitions, **common)
    else:
        manifest = simulate.run_cooling(args.output, rates=args.rates, snapshots=args.snapshots,
                                        equilibration_steps=args.equilibration_steps, **common)
        for tc, entry in manifest["tg"].items():
            print(f"t_cool = {tc} steps: Tg = {entry['tg']['tg']:.4f}  "
                  f"<E_IS>(T_end) = {entry['eis_final_mean']:.5f}")
    print(f"glassdyn simulate {task}: done; manifest {args.output}/manifest.json "
          f"(LAMMPS {manifest['lammps_version']})")
    return 0
