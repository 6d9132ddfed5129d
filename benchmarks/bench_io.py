"""Benchmark of glassdyn's LAMMPS dump IO against OVITO's and MDAnalysis' readers and OVITO's writer.

Plain script (not part of pytest):  python benchmarks/bench_io.py [--atoms 100000] [--frames 5] [--repeat 3]

Measures, on a synthetic 2D ka2d-like frame (N atoms, `id type x y z ix iy iz` + 3 extra columns):
reading one frame (native / OVITO / MDAnalysis), counting frames, random access to the last
frame; writing a frame with 60 extra descriptor columns (the `glassdyn describe` output, 100,000 x
63 columns) with the vectorised writer, with the row-by-row '%' writer it replaced (same bytes,
same run) and with OVITO's `export_file`; appending one frame to a 5-frame dump (append mode, no
copy of the file). Every figure is the best of --repeat runs; the machine (CPU model, cores, load
average) is printed, because other processes may share it.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import tempfile
import time
import warnings
from unittest import mock

import numpy as np

from glassdyn import Box, Frame
from glassdyn.adapters import numformat
from glassdyn.adapters.lammps_dump import read_dump, write_dump


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return (f"{model}, {os.cpu_count()} cores, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; "
            f"python {platform.python_version()}, numpy {np.__version__}")


def best(fn, repeat=3):
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return min(ts), ts


def fmt_runs(ts):
    return "runs " + " ".join(f"{t:.2f}" for t in ts)


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
    print(f"machine: {machine()}")
    print(f"(best of {args.repeat} runs each; the load average says how busy the machine was)")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.dump")
        frames = [Frame(base.positions, base.types, box, images=base.images, properties=base.properties,
                        timestep=1000 * k) for k in range(args.frames)]
        t_w, _ = best(lambda: write_dump(path, frames), 1)
        size = os.path.getsize(path) / 2**20
        print(f"write_dump {args.frames} frames x {n} atoms (id type x y z ix iy iz + 3 columns, %.17g): "
              f"{t_w:.2f} s ({size:.0f} MiB, {size / t_w:.0f} MiB/s)")
        t_c, _ = best(lambda: _uncached_count(path), args.repeat)
        print(f"count_frames (uncached index scan): {t_c * 1e3:.1f} ms")
        t_r, _ = best(lambda: read_dump(path, 0), args.repeat)
        print(f"native read_dump frame 0: {t_r:.3f} s")
        t_last, _ = best(lambda: read_dump(path, -1), args.repeat)
        print(f"native read_dump last frame (indexed): {t_last:.3f} s")
        try:
            from ovito.io import import_file

            def ov():
                import_file(path).compute(0)

            t_o, _ = best(ov, args.repeat)
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

            t_m, _ = best(md, 1)
            print(f"MDAnalysis Universe(LAMMPSDUMP) first frame: {t_m:.3f} s  (time ratio MDAnalysis/native {t_m / t_r:.1f})")
        except ImportError:
            print("MDAnalysis not installed")

        # ---- wide frames: 3 + 60 descriptor columns
        wide = base.with_properties(**{f"f{k}_L{0.5 * (k % 10 + 1):.1f}": rng.random(n) for k in range(60)})
        out = os.path.join(tmp, "wide.dump")
        old = os.path.join(tmp, "wide_rows.dump")
        print(f"\nwrite one frame of {n} atoms x {8 + 63} columns (id type x y z ix iy iz + 63 float columns):")
        for fmt in ("%.17g", "%.10g"):
            t_new, runs_new = best(lambda: write_dump(out, wide, float_format=fmt), args.repeat)
            with mock.patch.object(numformat, "supported", return_value=False):  # the row-by-row '%' writer
                t_old, runs_old = best(lambda: write_dump(old, wide, float_format=fmt), max(1, args.repeat - 1))
            same = open(out, "rb").read() == open(old, "rb").read()
            print(f"  float_format={fmt}: vectorised {t_new:.2f} s ({fmt_runs(runs_new)}) | row-by-row '%' "
                  f"{t_old:.2f} s ({fmt_runs(runs_old)}) -> {t_old / t_new:.1f}x faster; identical bytes: {same}; "
                  f"{os.path.getsize(out) / 2**20:.0f} MiB")
        try:
            from ovito.io import export_file, import_file

            data = import_file(out).compute(0)
            cols = ["Particle Identifier", "Particle Type", "Position.X", "Position.Y", "Position.Z",
                    "Periodic Image.X", "Periodic Image.Y", "Periodic Image.Z"]
            cols += [k for k in data.particles.keys() if k not in ("Particle Identifier", "Particle Type",
                                                                     "Position", "Periodic Image")]
            ov_out = os.path.join(tmp, "ovito.dump")
            for prec in (17, 10):
                t_ov, runs_ov = best(lambda: export_file(data, ov_out, "lammps/dump", columns=cols, precision=prec),
                                     args.repeat)
                print(f"  OVITO export_file lammps/dump, precision {prec}, same {len(cols)} columns: {t_ov:.2f} s "
                      f"({fmt_runs(runs_ov)}) -> glassdyn %.{prec}g takes "
                      f"{best(lambda: write_dump(out, wide, float_format=f'%.{prec}g'), 1)[0] / t_ov:.2f}x OVITO's time")
        except ImportError:
            print("  OVITO not installed: no writer to compare with (MDAnalysis has no LAMMPS dump writer)")
        t_rw, _ = best(lambda: read_dump(out), 1)
        print(f"native read_dump of that frame: {t_rw:.2f} s")

        # ---- appending: no copy of the file
        app = os.path.join(tmp, "append.dump")
        write_dump(app, frames)
        size0 = os.path.getsize(app)
        t_app, runs_app = best(lambda: write_dump(app, frames[0], append=True), args.repeat)
        print(f"\nappend one {n}-atom frame to a {args.frames}-frame dump ({size0 / 2**20:.0f} MiB before): "
              f"{t_app:.2f} s ({fmt_runs(runs_app)}); the file is opened in append mode, earlier bytes untouched")
    print(f"\nload average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def _uncached_count(path):
    from glassdyn.adapters import lammps_dump as ld

    ld._INDEX_CACHE.clear()
    return ld.count_frames(path)


if __name__ == "__main__":
    main()
