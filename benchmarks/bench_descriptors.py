"""Benchmark: the default 60-feature set (rho, phi, e, psi6, Theta, z at L = 0.5..5.0) on 2D
Kob-Andersen-like configurations of 10,000 and 100,000 particles (density 1.2, A:B = 65:35),
side by side with freud's ``order.Hexatic`` + ``density.LocalDensity`` at the same 10 lengths on
the same frame, in the same run, both free to use every core.

Configurations: a small ka2d system quenched from random positions (capped steepest descent
on the ka2d potential), tiled periodically to the target size (``--config quench``, default),
or a triangular lattice with Gaussian noise (``--config lattice``).

Run:  python benchmarks/bench_descriptors.py [--sizes 10000 100000] [--repeats 5] [--n-jobs N]

Prints the machine (CPU model, cores, load average: other processes may share the machine), then
for each size: glassdyn's ``compute_features`` and freud's 11 quantities, best and median wall
time of --repeats runs each, interleaved (glassdyn, freud, glassdyn, ...) so that both see the same
load, and the ratio of the best times (target: glassdyn <= 0.5 x freud); the parts of glassdyn's
time (one threaded neighbour search at r = 5, the radical Voronoi tessellation of rho/phi); and the
peak memory of one ``compute_features`` call (tracemalloc peak, and the maximum resident set size of
a fresh process that makes the frame and computes the features; target < 1 GiB).
"""
from __future__ import annotations

import argparse
import os
import platform
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


def machine() -> str:
    import subprocess

    model = platform.processor() or platform.machine()
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}"


def stats(ts):
    return min(ts), statistics.median(ts)


RSS_CHILD = r"""
import resource, sys, numpy as np
from glassdyn import Box, Frame
from glassdyn.descriptors import compute_features
z = np.load(sys.argv[1])
frame = Frame(z["pos"], z["types"], Box.orthorhombic(list(z["L"])))
def hwm():  # peak RSS of this process alone (ru_maxrss can include the parent's, kept across exec)
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
base = hwm()
compute_features(frame, "ka2d", n_jobs=None if sys.argv[2] == "all" else int(sys.argv[2]))
print(base, hwm())
"""


def main(argv=None):
    import subprocess
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--config", choices=("quench", "lattice"), default="quench")
    ap.add_argument("--n-jobs", default="all", help="threads of compute_features (default: every core)")
    args = ap.parse_args(argv)
    n_jobs = None if args.n_jobs == "all" else int(args.n_jobs)

    print(f"machine: {machine()}")
    print(f"glassdyn {__version__}, numpy {np.__version__}, python {platform.python_version()}; "
          f"compute_features n_jobs={args.n_jobs}")
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
        table = compute_features(frame, "ka2d", n_jobs=n_jobs)  # warm-up
        cut = np.array(table.params["cutoffs"])

        def run_glassdyn():
            return compute_features(frame, "ka2d", n_jobs=n_jobs)

        run_freud = None
        if freud is not None:
            Lx, Ly = np.diag(frame.box.matrix)
            fbox = freud.box.Box(Lx, Ly, is2D=True)
            pts = np.column_stack([frame.positions - np.array([Lx, Ly]) / 2, np.zeros(frame.n_atoms)])
            rc = float(cut[0, 0])

            def run_freud():
                hexa = freud.order.Hexatic(k=6).compute(system=(fbox, pts), neighbors={"r_max": rc})
                dens = [freud.density.LocalDensity(r_max=L, diameter=0.0).compute(system=(fbox, pts)).density
                        for L in np.arange(1, 11) * 0.5]
                return hexa, dens

            run_freud()  # warm-up
        g_t, f_t = [], []
        for _ in range(args.repeats):  # interleaved: both see the same load
            t = time.perf_counter()
            run_glassdyn()
            g_t.append(time.perf_counter() - t)
            if run_freud is not None:
                t = time.perf_counter()
                run_freud()
                f_t.append(time.perf_counter() - t)
        gb, gm = stats(g_t)
        print(f"glassdyn compute_features, {table.n_features} features: best {gb:.2f} s, median {gm:.2f} s "
              f"(runs {' '.join(f'{x:.2f}' for x in g_t)})")
        if f_t:
            fb, fm = stats(f_t)
            print(f"freud Hexatic (r_max {rc:.2f}) + LocalDensity at the 10 lengths (11 quantities): best {fb:.2f} s, "
                  f"median {fm:.2f} s (runs {' '.join(f'{x:.2f}' for x in f_t)})")
            print(f"  -> glassdyn / freud = {gb / fb:.2f} (best) / {gm / fm:.2f} (median)   [target <= 0.5]")
        from glassdyn.descriptors import particle_densities
        from glassdyn.neighbors import half_pairs
        from glassdyn.structure import sigma_matrix

        sig = sigma_matrix(frame, get_potential("ka2d"))
        ts = [0.0] * 3
        for k in range(3):
            t = time.perf_counter()
            chunks = half_pairs(frame, 5.0, n_jobs=n_jobs)
            ts[k] = time.perf_counter() - t
        pairs = sum(len(c[0]) for c in chunks)
        del chunks
        tv = []
        for _ in range(3):
            t = time.perf_counter()
            particle_densities(frame, sig, "radical")
            tv.append(time.perf_counter() - t)
        print(f"  parts: neighbour search at r = 5 ({pairs / 1e6:.2f} M pairs, threaded) best {min(ts):.2f} s; "
              f"radical Voronoi of rho/phi (qhull, one thread, run alongside the search) best {min(tv):.2f} s")
        tracemalloc.start()
        run_glassdyn()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        with tempfile.TemporaryDirectory() as tmp:
            np.savez(os.path.join(tmp, "f.npz"), pos=frame.positions, types=frame.types, L=np.diag(frame.box.matrix))
            out = subprocess.run([sys.executable, "-c", RSS_CHILD, os.path.join(tmp, "f.npz"), args.n_jobs],
                                 capture_output=True, text=True, check=False)
        try:
            before, after = (int(v) for v in out.stdout.split())
            rss = f"peak RSS of a fresh process {after / 2**30:.2f} GiB ({before / 2**30:.2f} GiB before the call)"
        except ValueError:
            rss = f"fresh-process RSS not measured ({out.stderr.strip()[-200:]})"
        print(f"  peak memory of one call: tracemalloc {peak / 2**30:.2f} GiB; {rss} (target < 1 GiB)")
        print(f"  cutoffs from g(r): AA {cut[0, 0]:.3f} AB {cut[0, 1]:.3f} BB {cut[1, 1]:.3f}; "
              f"mean psi6 {np.nanmean(table['psi6_L0.5']):.3f}, mean Theta {np.nanmean(table['Theta_L0.5']):.3f}")
    print(f"\nload average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
