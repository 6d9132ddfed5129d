"""Benchmark of glassdyn.dynamics: propensity, cage-relative propensity and F_s(q, t).

30 replicas x 100,000 particles in 2D (density 1.2, 65:35 types) x 4 times; synthetic random
walks from a jittered-lattice reference. Target: under 5 s in all on 2 cores.

    python benchmarks/bench_dynamics.py [--replicas 30] [--atoms 100000] [--times 4]
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from glassdyn import Box, Frame, __version__
from glassdyn.dynamics import (analyze_ensemble, bond_breaking, cage_operator, cage_relative, displacements,
                               first_peak_q, propensity, self_intermediate_scattering)
from glassdyn.ensemble import Ensemble


def reference(n: int, seed: int = 0) -> Frame:
    rng = np.random.default_rng(seed)
    m = int(np.ceil(np.sqrt(n)))
    L = np.sqrt(m * m / 1.2)
    g = np.stack(np.meshgrid(np.arange(m), np.arange(m), indexing="ij"), -1).reshape(-1, 2)[:n] * (L / m)
    box = Box.orthorhombic([L, L])
    pos = box.wrap(g + rng.normal(0, 0.08, g.shape))
    types = np.where(rng.random(n) < 0.65, 1, 2)
    return Frame(pos, types, box)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicas", type=int, default=30)
    ap.add_argument("--atoms", type=int, default=100_000)
    ap.add_argument("--times", type=int, default=4)
    args = ap.parse_args()
    R, N, T = args.replicas, args.atoms, args.times
    print(f"glassdyn {__version__}; numpy {np.__version__}; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f})")
    print(f"{R} replicas x {N} particles x {T} times, 2D, float64")
    ref = reference(N)
    rng = np.random.default_rng(1)
    traj = np.empty((R, T, N, 2))
    for r in range(R):
        steps = rng.normal(0, 0.3, (T, N, 2))
        steps[0] = 0
        np.cumsum(steps, axis=0, out=steps)
        np.add(steps, ref.positions, out=traj[r])
    origins = np.broadcast_to(ref.positions, (R, N, 2))
    times = np.arange(T, dtype=float)
    print(f"trajectory array {traj.nbytes / 1e6:.0f} MB")

    timings = {}

    def timed(name, fn):
        t0 = time.perf_counter()
        out = fn()
        timings[name] = time.perf_counter() - t0
        print(f"  {name:<44s} {timings[name]:7.3f} s")
        return out

    # streaming driver: one replica at a time (what `glassdyn propensity` runs)
    ens = Ensemble(ref, traj, np.ascontiguousarray(origins), np.arange(T), times, 0.005, [])
    t0 = time.perf_counter()
    res = analyze_ensemble(ens, potential="ka2d", cage_relative=True, fs_cage_relative=False, q=6.28,
                           compute_bond_breaking=False)
    t_an = time.perf_counter() - t0

    # array API on the whole (R, T, N, d) array, in place
    dr = timed("displacements + drift removal (in place)",
               lambda: displacements(traj, origins, out=traj))
    cage = timed("cage operator (neighbours at t=0, 1.5 sigma)", lambda: cage_operator(ref, potential="ka2d"))
    p = timed("propensity <|dr|^2>", lambda: propensity(dr))
    cr = timed("cage-relative displacements", lambda: cage_relative(dr, cage))
    pcr = timed("cage-relative propensity", lambda: propensity(cr))
    fs = timed("F_s(q, t) (J0), all + per type", lambda: self_intermediate_scattering(dr, 6.28, types=ref.types))
    core = sum(timings[k] for k in timings)
    print(f"  {'TOTAL (propensity, cage-relative, F_s)':<44s} {core:7.3f} s   (target < 5 s)")
    del cr

    print(f"  {'analyze_ensemble (streaming, same work)':<44s} {t_an:7.3f} s")
    assert np.allclose(res.propensity, pcr) and np.allclose(res.fs, fs)
    t0 = time.perf_counter()
    bond_breaking(ref, dr[:, 1:], potential="ka2d")
    print(f"  {'bond breaking (extra, T-1 times)':<44s} {time.perf_counter() - t0:7.3f} s")
    t0 = time.perf_counter()
    q = first_peak_q(ref)
    print(f"  {'first peak of S(q) (extra)':<44s} {time.perf_counter() - t0:7.3f} s  (q = {q:.3f})")
    print(f"mean propensity at the last time {p[-1].mean():.3f} (expected {2 * 0.09 * (T - 1):.3f})")


if __name__ == "__main__":
    main()
