"""Front-end overheads: OVITO modifier vs direct core call, MDAnalysis backends, rendering.

    python benchmarks/bench_frontends.py [--n-side 66] [--frames 6]

Prints wall times (best of 3 where cheap) and the machine. Synthetic jittered-lattice 2D
configurations (ka2d types), written as LAMMPS dumps in a temporary folder.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import warnings


sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from frontend_synthetic import configuration  # noqa: E402

from glassdyn.adapters.lammps_dump import read_dump, write_dump  # noqa: E402


def best(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-side", type=int, default=66, help="atoms = n_side**2 (66 -> 4356)")
    ap.add_argument("--frames", type=int, default=6)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}")
    lengths = (1.0, 2.0, 3.0, 4.0, 5.0)
    with tempfile.TemporaryDirectory() as tmp:
        frames = [configuration(n_side=args.n_side, seed=s) for s in range(args.frames)]
        for k, f in enumerate(frames):
            f.timestep = 100 * k
        path = os.path.join(tmp, "traj.dump")
        write_dump(path, frames)
        n = frames[0].n_atoms
        print(f"{n} atoms, {args.frames} frames, lengths {lengths}, default descriptor set")

        from glassdyn.descriptors import compute_features
        fr = read_dump(path, 0)
        t_core = best(lambda: compute_features(fr, potential="ka2d", lengths=lengths), repeat=2)
        print(f"core compute_features, one frame:            {t_core:7.3f} s")

        from ovito.io import import_file
        from glassdyn.ovito import descriptors_modifier
        from glassdyn.ovito.descriptors_modifier import GlassDescriptorsModifier

        def ovito_once():
            descriptors_modifier._CACHE.clear()
            p = import_file(path)
            p.modifiers.append(GlassDescriptorsModifier(lengths="1:5:1"))
            p.compute(0)
        t_ov = best(ovito_once, repeat=2)
        print(f"OVITO pipeline (import + modifier), one frame: {t_ov:7.3f} s  (overhead {t_ov - t_core:+.3f} s)")
        p = import_file(path)
        p.modifiers.append(GlassDescriptorsModifier(lengths="1:5:1"))
        p.compute(0)
        p2 = import_file(path)
        p2.modifiers.append(GlassDescriptorsModifier(lengths="1:5:1"))
        t_hit = best(lambda: p2.compute(0), repeat=1)
        print(f"OVITO same frame again (glassdyn cache hit):  {t_hit:7.3f} s")

        from glassdyn.mdanalysis import GlassDescriptors, universe_from_dump
        u = universe_from_dump(path)
        for backend, kw in (("serial", {}), ("multiprocessing", dict(n_workers=2)), ("dask", dict(n_workers=2))):
            t = time.perf_counter()
            GlassDescriptors(u.atoms, lengths=lengths).run(backend=backend, **kw)
            print(f"MDAnalysis GlassDescriptors {backend:<15s}  {time.perf_counter() - t:7.3f} s "
                  f"({args.frames} frames)")

        from glassdyn.plots.render import render_property
        fr = fr.with_properties(x=fr.positions[:, 0])
        for r in ("opengl", "tachyon"):
            t = best(lambda: render_property(fr, "x", os.path.join(tmp, "r.png"), size=(800, 600), renderer=r),
                     repeat=2)
            print(f"render 800x600 ({r}):                       {t:7.3f} s")


if __name__ == "__main__":
    main()
