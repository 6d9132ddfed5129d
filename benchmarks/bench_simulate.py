"""Benchmark of `glassdyn simulate` (plain script, not part of pytest).

1. Ensemble throughput (replica-steps per second): R replicas run by the driver on 2 cores
   (two LAMMPS processes at once) against the same replicas one after another on 1 core.
2. Production cost: wall seconds per 10^6 MD steps for ka2d N = 4320 and ternary2d N = 1290
   (one core, Nose-Hoover NVT and Langevin), measured on a short run and extrapolated.

    python benchmarks/bench_simulate.py [--replicas 4] [--steps 20000] [--n 1000]
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import tempfile
import time
from pathlib import Path

from glassdyn.lammps import runner, simulate


def _loop_seconds(log: Path) -> float:
    """Sum of LAMMPS 'Loop time' of the MD runs in a log (excludes start-up)."""
    return sum(float(m) for m in re.findall(r"^Loop time of (\S+)", log.read_text(), flags=re.M))


def ensemble_throughput(tmp: Path, replicas: int, steps: int, n: int) -> None:
    """Whole `run_ensemble` wall time; its equilibration (100 steps + minimisation) is negligible here."""
    times = [0, steps // 10, steps]
    results = {}
    for cores in (1, 2):
        out = tmp / f"ens_{cores}"
        t0 = time.perf_counter()
        simulate.run_ensemble(out, model="ka2d", n=n, temperature=1.0, replicas=replicas, dynamics="langevin",
                              times=times, equilibration_steps=100, seed=1, cores=cores)
        wall = time.perf_counter() - t0
        results[cores] = wall
        print(f"  {cores} core(s): {replicas} replicas x {steps} steps of ka2d N={n} (Langevin) in {wall:.1f} s "
              f"-> {replicas * steps / wall:,.0f} replica-steps/s")
    print(f"  speed-up 2 cores / 1 core: {results[1] / results[2]:.2f}x (target >= 1.7x)")


def production_cost(tmp: Path, steps: int) -> None:
    exe = runner.find_lammps()
    for model, n in (("ka2d", 4320), ("ternary2d", 1290)):
        out = tmp / f"prod_{model}"
        simulate.run_equilibrate(out, model=model, n=n, temperature=1.0, equilibration_steps=steps, cores=1)
        log = out / "config_000" / "logs" / "equilibrate.log"
        md_loop = re.findall(r"^Loop time of (\S+) on \d+ procs for (\d+) steps", log.read_text(), flags=re.M)[-1]
        sec_md = float(md_loop[0]) / int(md_loop[1]) * 1e6
        data = simulate.reference_path(out, 0)
        lang_log = tmp / f"lang_{model}.log"
        runner.run_lammps("ensemble.in", {"model": model, "data": str(data), "T": 1.0, "dynamics": "langevin",
                                          "seed": 5, "out": str(tmp / f"lang_{model}.lammpstrj"),
                                          "times": [0, steps]}, log=lang_log, executable=exe)
        sec_lang = _loop_seconds(lang_log) / steps * 1e6
        print(f"  {model:9s} N={n}: NVT {sec_md / 60:6.1f} min per 1e6 steps ({1e6 / sec_md:,.0f} steps/s); "
              f"Langevin {sec_lang / 60:6.1f} min per 1e6 steps ({1e6 / sec_lang:,.0f} steps/s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicas", type=int, default=4)
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--prod-steps", type=int, default=5000)
    args = ap.parse_args()
    exe = runner.find_lammps()
    print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}; LAMMPS {runner.lammps_version(exe)}; "
          f"OPENMP styles: {runner.has_openmp(exe)}")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        print("ensemble throughput:")
        ensemble_throughput(tmp, args.replicas, args.steps, args.n)
        print("production cost (one core each, extrapolated from a short run):")
        production_cost(tmp, args.prod_steps)


if __name__ == "__main__":
    main()
