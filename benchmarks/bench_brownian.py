"""Benchmark of 2D Brownian dynamics (plain script, not part of pytest).

1. Cost per tau_alpha (default): ternary2d N = 1290 at T = 0.6, one equilibrated configuration, a
   short iso-configurational ensemble with Langevin dynamics (friction time 0.1, dt 0.005) and one with
   Brownian dynamics (fix brownian, gamma_t 100, dt from glassdyn.lammps.simulate.brownian_dt);
   tau_alpha from glassdyn.dynamics (F_s of all particles, cage-relative as the study uses) and the
   LAMMPS loop time per step of one replica (one core) give wall seconds per tau_alpha per core.
2. Time-step scan (--scan): where fix brownian loses atoms in 2D. N = 500, gamma_t = 1, --scan-steps
   steps per run, two seeds; prints per model and temperature the largest dt/gamma_t that survived,
   the first that failed, and the thermal step sqrt(2 T dt/gamma_t) / sigma_min at each (the number
   behind glassdyn.lammps.simulate.BROWNIAN_STEP_FRACTION).

    python benchmarks/bench_brownian.py [--replicas 4] [--tau 2.5]
    python benchmarks/bench_brownian.py --scan [--scan-steps 100000]
"""
from __future__ import annotations

import argparse
import glob
import math
import os
import platform
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from glassdyn.adapters import load_ensemble
from glassdyn.dynamics import analyze_ensemble
from glassdyn.lammps import runner, simulate
from glassdyn.potentials import get_potential


def _loop_seconds_per_step(logs) -> float:
    """Mean LAMMPS loop time per step over replica logs (one core each; start-up excluded)."""
    per = []
    for log in logs:
        text = Path(log).read_text()
        loops = re.findall(r"^Loop time of (\S+) on \d+ procs for (\d+) steps", text, flags=re.M)
        secs, steps = sum(float(a) for a, _ in loops), sum(int(b) for _, b in loops)
        per.append(secs / steps)
    return float(np.mean(per))


def _tau_alpha(folder: Path, dt: float) -> float:
    reps = sorted(glob.glob(str(folder / "config_000" / "replica_*.lammpstrj")))
    ens = load_ensemble(reps, folder / "config_000" / "reference.lammpstrj", dt=dt)
    res = analyze_ensemble(ens, potential="ternary2d", cage_relative=True, compute_bond_breaking=False)
    return float(res.tau_alpha[0])


def cost_per_tau(tmp: Path, replicas: int, tau_guess: float, cores: int) -> None:
    model, n, T = "ternary2d", 1290, 0.6
    # one equilibrated configuration (5 tau_alpha of Langevin at T = 0.6, tau ~ 40 from the study's scan)
    eq = tmp / "eq"
    t0 = time.perf_counter()
    simulate.run_equilibrate(eq, model=model, n=n, temperature=T, equilibration_steps=40_000, seed=3, cores=1)
    print(f"  equilibration (40,000 MD steps): {time.perf_counter() - t0:.0f} s")
    data = simulate.reference_path(eq, 0)
    dt_b = simulate.brownian_dt(model, T, 100.0)
    rows = {}
    for name, dynamics, dt, tau_steps in (("Langevin", "langevin", 0.005, 40.0 / 0.005),
                                           ("Brownian", "brownian", dt_b, None)):
        if tau_steps is None:  # Brownian tau_alpha ~ gamma_t tau_L / gamma_L (overdamped limit), in steps
            tau_steps = 40.0 * (100.0 / 10.0) / dt_b
        steps = int(tau_guess * tau_steps)
        out = tmp / name
        t0 = time.perf_counter()
        simulate.run_ensemble(out, model=model, temperature=T, replicas=replicas, dynamics=dynamics, dt=dt,
                              steps=steps, points_per_decade=12, references=[data], seed=5, cores=cores)
        wall = time.perf_counter() - t0
        tau = _tau_alpha(out, dt)
        per_step = _loop_seconds_per_step(sorted((out / "config_000" / "logs").glob("replica_*.log")))
        rows[name] = (dt, tau, tau / dt, per_step, per_step * tau / dt)
        print(f"  {name:8s} dt = {dt:g}: {replicas} replicas x {steps} steps in {wall:.0f} s wall; tau_alpha = "
              f"{tau:.4g} ({tau / dt:,.0f} steps); {1e6 * per_step:.0f} us/step on one core -> "
              f"{per_step * tau / dt:.1f} s per tau_alpha per core")
    lb, bb = rows["Langevin"], rows["Brownian"]
    print(f"  Brownian / Langevin: {bb[2] / lb[2]:.1f}x the steps per tau_alpha, {bb[3] / lb[3]:.2f}x the cost "
          f"per step -> {bb[4] / lb[4]:.1f}x the wall time per tau_alpha")


SCAN = {0.45: [1e-4, 2e-4, 3e-4, 3.5e-4, 4e-4, 5e-4], 0.6: [1e-4, 2e-4, 3e-4, 4e-4, 5e-4],
        1.0: [1e-4, 1.5e-4, 2e-4, 2.5e-4, 3e-4], 2.0: [5e-5, 1e-4, 1.5e-4, 2e-4]}


def scan(tmp: Path, steps: int) -> None:
    exe = runner.find_lammps()
    for model in ("ka2d", "ternary2d"):
        sigma_min = float(np.min(get_potential(model).sigma))
        for T, hs in SCAN.items():
            eq = tmp / f"eq_{model}_{T}"
            simulate.run_equilibrate(eq, model=model, n=500, temperature=T, equilibration_steps=20_000, seed=7,
                                     cores=2, executable=exe)
            data = simulate.reference_path(eq, 0)
            ok, bad = None, None
            for h in hs:
                failed = False
                for seed in (1, 2):
                    try:
                        runner.run_lammps("ensemble.in", {"model": model, "data": str(data), "T": T,
                                                          "dynamics": "brownian", "seed": seed, "dt": h,
                                                          "gamma": 1.0, "out": str(tmp / "scan.lammpstrj"),
                                                          "times": [0, steps]},
                                          log=tmp / "scan.log", executable=exe)
                    except runner.LammpsError:
                        failed = True
                        break
                if failed:
                    bad = h
                    break
                ok = h

            def frac(h):
                return "-" if h is None else f"{math.sqrt(2 * T * h) / sigma_min:.4f}"
            print(f"  {model:9s} T = {T:4}: survived dt/gamma_t = {ok} (thermal step {frac(ok)} sigma_min), "
                  f"lost atoms at {bad} ({frac(bad)} sigma_min); glassdyn's rule: "
                  f"{simulate.brownian_dt(model, T, 1.0):.2g} ({simulate.BROWNIAN_STEP_FRACTION} sigma_min)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicas", type=int, default=4)
    ap.add_argument("--tau", type=float, default=2.5, help="run length in (guessed) tau_alpha")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--scan", action="store_true", help="time-step scan instead of the cost per tau_alpha")
    ap.add_argument("--scan-steps", type=int, default=100_000)
    args = ap.parse_args()
    exe = runner.find_lammps()
    print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}; LAMMPS {runner.lammps_version(exe)}")
    with tempfile.TemporaryDirectory() as d:
        if args.scan:
            print(f"fix brownian time-step scan (N = 500, gamma_t = 1, {args.scan_steps} steps, seeds 1 and 2):")
            scan(Path(d), args.scan_steps)
        else:
            print("cost per tau_alpha, ternary2d N = 1290, T = 0.6:")
            cost_per_tau(Path(d), args.replicas, args.tau, args.cores)


if __name__ == "__main__":
    main()
