"""Benchmark of glassdyn's LAMMPS dump IO against OVITO's and MDAnalysis' readers.

Plain script (not part of pytest):  python benchmarks/bench_io.py [--atoms 100000] [--frames 5]

Measures, on a synthetic 2D ka2d-like frame (N atoms, `id type x y z` + 3 extra columns):
reading one frame (native / OVITO / MDAnalysis), counting frames, random access to the last
frame, and writing a frame with 60 extra descriptor columns (the `glassdyn describe` output).
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
import warnings

import numpy as np

from glassdyn import Box, Frame
from glassdyn.adapters.lammps_dump import read_dump, write_dump


def timeit(fn, repeat=3):
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--atoms", type=int, default=100_000)
    ap.add_argument("--frames", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n = args.atoms
    rng = np.random.default_rng(0)
    L = np.sqrt(n / 1.2)
    box = Box.orthorhombic([L, L])
    base = Frame(rng.random((n, 2)) * L, rng.integers(1, 3, n), box, images=rng.integers(-2, 3, (n, 2)),
                 properties={"c_pe": rng.normal(size=n), "v_a": rng.random(n), "v_b": rng.random(n)})
    print(f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()} "
          f"python {platform.python_version()} numpy {np.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.dump")
        frames = [Frame(base.positions, base.types, box, images=base.images, properties=base.properties,
                        timestep=1000 * k) for k in range(args.frames)]
        t_w = timeit(lambda: write_dump(path, frames), 1)
        size = os.path.getsize(path) / 2**20
        print(f"write_dump {args.frames} frames x {n} atoms (id type x y z ix iy iz + 3 columns, %.17g): "
              f"{t_w:.2f} s ({size:.0f} MiB, {size / t_w:.0f} MiB/s)")
        t_c = timeit(lambda: _uncached_count(path), args.repeat)
        print(f"count_frames (uncached index scan): {t_c * 1e3:.1f} ms")
        t_r = timeit(lambda: read_dump(path, 0), args.repeat)
        print(f"native read_dump frame 0: {t_r:.3f} s")
        t_last = timeit(lambda: read_dump(path, -1), args.repeat)
        print(f"native read_dump last frame (indexed): {t_last:.3f} s")
        try:
            from ovito.io import import_file

            def ov():
                import_file(path).compute(0)

            t_o = timeit(ov, args.repeat)
            print(f"OVITO import_file + compute(0): {t_o:.3f} s  (time ratio OVITO/native {t_o / t_r:.1f})")
        except ImportError:
            print("OVITO not installed")
        try:
            import MDAnalysis as mda

            def md():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    u = mda.Universe(path, format="LAMMPSDUMP")
                    u.atoms.positions

            t_m = timeit(md, 1)
            print(f"MDAnalysis Universe(LAMMPSDUMP) first frame: {t_m:.3f} s  (time ratio MDAnalysis/native {t_m / t_r:.1f})")
        except ImportError:
            print("MDAnalysis not installed")
        wide = base.with_properties(**{f"f{k}_L{0.5 * (k % 10 + 1):.1f}": rng.random(n) for k in range(60)})
        out = os.path.join(tmp, "wide.dump")
        for fmt in ("%.17g", "%.10g"):
            t_wide = timeit(lambda: write_dump(out, wide, float_format=fmt), 1)
            print(f"write_dump 1 frame x {n} atoms with 63 extra columns, float_format={fmt}: {t_wide:.2f} s "
                  f"({os.path.getsize(out) / 2**20:.0f} MiB)")
        t_rw = timeit(lambda: read_dump(out), 1)
        print(f"native read_dump of that frame: {t_rw:.2f} s")


def _uncached_count(path):
    from glassdyn.adapters import lammps_dump as ld

    ld._INDEX_CACHE.clear()
    return ld.count_frames(path)


if __name__ == "__main__":
    main()
