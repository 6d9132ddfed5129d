"""Benchmark: the default 60-feature set (rho, phi, e, psi6, Theta, z at L = 0.5..5.0) on 2D
Kob-Andersen-like configurations of 10,000 and 100,000 particles (density 1.2, A:B = 65:35),
against freud's ``order.Hexatic`` + ``density.LocalDensity`` on the same frame.

Configurations: a small ka2d system quenched from random positions (capped steepest descent
on the ka2d potential), tiled periodically to the target size (``--config quench``, default),
or a triangular lattice with Gaussian noise (``--config lattice``).

Run:  python benchmarks/bench_descriptors.py [--sizes 10000 100000] [--repeats 5]

Prints, for each size: median wall and CPU time of ``compute_features`` (target: <= 3 s wall
at 100,000 particles on a 2-core machine), the time of one ``neighbor_list`` search at r = 5
(the floor of the computation), freud's times and the ratio, and the peak memory (tracemalloc
peak of one ``compute_features`` call and the process' maximum resident set size).
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc

import numpy as np

from glassdyn import Box, Frame, __version__, get_potential, neighbor_list
from glassdyn.descriptors import compute_features


def quenched(n: int, seed: int, steps: int = 300) -> Frame:
    pot = get_potential("ka2d")
    L = pot.box_length(n)
    rng = np.random.default_rng(seed)
    types = np.repeat([1, 2], pot.composition(n))
    rng.shuffle(types)
    box = Box.orthorhombic([L, L])
    pos = rng.random((n, 2)) * L
    for _ in range(steps):
        f = Frame(pos, types, box, validate=False)
        nl = neighbor_list(f, pot.max_cutoff)
        fv = -(pot.force(nl.distances, types[nl.i], types[nl.j]) / nl.distances)[:, None] * nl.vectors
        force = np.column_stack([np.bincount(nl.i, weights=fv[:, k], minlength=n) for k in range(2)])
        step = 0.002 * force
        pos = pos + step * np.minimum(1, 0.05 / np.maximum(np.linalg.norm(step, axis=1, keepdims=True), 1e-300))
    return Frame(box.wrap(pos), types, box)


def tiled(n: int, seed: int) -> Frame:
    """A quenched tile of n / k^2 particles repeated k x k times (k = 2 for 10k, 5 for 100k)."""
    k = 2 if n <= 20000 else 5
    small = quenched(n // (k * k), seed)
    L = small.box.matrix[0, 0]
    shifts = np.array([(a, b) for a in range(k) for b in range(k)], dtype=float) * L
    pos = (small.positions[None] + shifts[:, None]).reshape(-1, 2)
    types = np.tile(small.types, k * k)
    return Frame(pos, types, Box.orthorhombic([k * L, k * L]))


def lattice(n: int, seed: int) -> Frame:
    rng = np.random.default_rng(seed)
    a = np.sqrt(2 / (np.sqrt(3) * 1.2))
    nx = int(round(np.sqrt(n / (np.sqrt(3) / 2))))
    nx -= nx % 2
    ny = n // nx
    ny -= ny % 2
    ix, iy = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    pos = np.column_stack([((ix + 0.5 * (iy % 2)) * a).ravel(), (iy * a * np.sqrt(3) / 2).ravel()])
    box = Box.orthorhombic([nx * a, ny * a * np.sqrt(3) / 2])
    types = np.where(rng.random(len(pos)) < 0.65, 1, 2)
    return Frame(box.wrap(pos + rng.normal(0, 0.08, pos.shape)), types, box)


def timed(fn, repeats):
    walls, cpus = [], []
    out = None
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--config", choices=("quench", "lattice"), default="quench")
    args = ap.parse_args(argv)

    print(f"glassdyn {__version__}, numpy {np.__version__}, python {platform.python_version()}, "
          f"{platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} "
          f"(other processes share the machine)")
    try:
        import freud
        print(f"freud {freud.__version__} (its own threads: {freud.parallel.get_num_threads()})")
    except ImportError:
        freud = None
        print("freud not installed: no comparison")

    for n in args.sizes:
        t0 = time.perf_counter()
        frame = tiled(n, seed=1) if args.config == "quench" else lattice(n, seed=1)
        print(f"\n== N = {frame.n_atoms} ({args.config}, density {frame.n_atoms / frame.box.volume:.3f}; "
              f"made in {time.perf_counter() - t0:.1f} s)")
        compute_features(frame, "ka2d")  # warm-up
        wall, cpu, table = timed(lambda: compute_features(frame, "ka2d"), args.repeats)
        print(f"compute_features, default {table.n_features} features: median wall {wall:.2f} s, "
              f"CPU {cpu:.2f} s over {args.repeats} runs (target <= 3 s at 100k)")
        nwall, ncpu, nl = timed(lambda: neighbor_list(frame, 5.0, sort=False), max(3, args.repeats // 2))
        print(f"  of which one neighbor_list at r = 5 ({nl.n_pairs / 2 / 1e6:.2f} M pairs): "
              f"wall {nwall:.2f} s, CPU {ncpu:.2f} s")
        del nl
        cut = np.array(table.params["cutoffs"])
        print(f"  neighbour cutoffs from g(r): AA {cut[0, 0]:.3f} AB {cut[0, 1]:.3f} BB {cut[1, 1]:.3f}; "
              f"mean psi6 {np.nanmean(table['psi6_L0.5']):.3f}, mean Theta {np.nanmean(table['Theta_L0.5']):.3f}, "
              f"mean e {np.mean(table['e_L0.5']):.3f}")
        tracemalloc.start()
        compute_features(frame, "ka2d")
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"  peak memory: tracemalloc {peak / 2**30:.2f} GiB for one call; process max RSS "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB (target < 4 GiB)")
        if freud is not None:
            Lx, Ly = np.diag(frame.box.matrix)
            fbox = freud.box.Box(Lx, Ly, is2D=True)
            pts = np.column_stack([frame.positions - np.array([Lx, Ly]) / 2, np.zeros(frame.n_atoms)])
            rc = float(cut[0, 0])

            def run_freud(lengths):
                hexa = freud.order.Hexatic(k=6).compute(system=(fbox, pts), neighbors={"r_max": rc})
                dens = [freud.density.LocalDensity(r_max=L, diameter=0.0).compute(system=(fbox, pts)).density
                        for L in lengths]
                return hexa, dens

            fw1, fc1, _ = timed(lambda: run_freud([5.0]), args.repeats)
            fw10, fc10, _ = timed(lambda: run_freud(np.arange(1, 11) * 0.5), max(3, args.repeats // 2))
            print(f"freud Hexatic (r_max {rc:.2f}) + LocalDensity (L = 5): median wall {fw1:.2f} s, CPU {fc1:.2f} s"
                  f" -> glassdyn/freud wall ratio {wall / fw1:.2f}")
            print(f"freud Hexatic + LocalDensity at the 10 lengths: median wall {fw10:.2f} s, CPU {fc10:.2f} s"
                  f" -> ratio {wall / fw10:.2f} (glassdyn computes 60 features, freud 11)")
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
