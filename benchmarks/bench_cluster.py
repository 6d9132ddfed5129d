"""Benchmark of `glassdyn simulate` on a dask cluster (plain script, not part of pytest).

The same ensemble (ka2d, Langevin, R replicas x S steps, one configuration; the equilibration is short)
run three ways on this machine: through a distributed.LocalCluster of 1 worker process, of 2 worker
processes (one thread each, i.e. one LAMMPS job per worker at a time), and with the local thread runner
on 2 cores (no dask). Reports the wall times, the 1-vs-2-worker ratio and the dask overhead against the
local runner; it also checks that every run wrote the same replica files (same seeds).

    python benchmarks/bench_cluster.py [--replicas 8] [--steps 20000] [--n 1000]
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from distributed import LocalCluster

from glassdyn.lammps import runner, simulate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicas", type=int, default=8)
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--n", type=int, default=1000)
    args = ap.parse_args()
    exe = runner.find_lammps()
    print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}; LAMMPS {runner.lammps_version(exe)}")
    params = dict(model="ka2d", n=args.n, temperature=1.0, replicas=args.replicas, dynamics="langevin",
                  times=[0, args.steps // 10, args.steps], equilibration_steps=100, seed=1)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        walls = {}
        for label, workers in (("dask, 1 worker", 1), ("dask, 2 workers", 2), ("local runner, 2 cores", None)):
            out = tmp / label.replace(" ", "_").replace(",", "")
            if workers is None:
                t0 = time.perf_counter()
                simulate.run_ensemble(out, cores=2, **params)
                walls[label] = time.perf_counter() - t0
            else:
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
                try:
                    t0 = time.perf_counter()
                    simulate.run_ensemble(out, scheduler=cluster, **params)
                    walls[label] = time.perf_counter() - t0
                finally:
                    cluster.close()
            rate = args.replicas * args.steps / walls[label]
            print(f"  {label:22s}: {args.replicas} replicas x {args.steps} steps of ka2d N={args.n} (Langevin) in "
                  f"{walls[label]:.1f} s -> {rate:,.0f} replica-steps/s")
        folders = [tmp / label.replace(" ", "_").replace(",", "") for label in walls]
        same = all((f / "config_000" / f"replica_{r:03d}.lammpstrj").read_bytes()
                   == (folders[0] / "config_000" / f"replica_{r:03d}.lammpstrj").read_bytes()
                   for f in folders[1:] for r in range(args.replicas))
        print(f"  1 worker / 2 workers: {walls['dask, 1 worker'] / walls['dask, 2 workers']:.2f}x; "
              f"dask 2 workers / local runner 2 cores: "
              f"{walls['dask, 2 workers'] / walls['local runner, 2 cores']:.2f}x the wall time; "
              f"replica files identical: {same}")


if __name__ == "__main__":
    main()
