"""Benchmark: propensity of replica dumps streamed one replica at a time against the in-memory path.

    python benchmarks/bench_propensity_stream.py [--replicas 30] [--atoms 100000] [--times 20] [--keep DIR]

Setup (not measured): a 2D reference (jittered lattice, density 1.2, 65:35 types) and R replica
dumps of random walks from it, ``id type x y z xu yu zu`` at T times (t = 0 included), written
with ``write_dump(float_format="%.10g")`` into a temporary folder (or --keep DIR, reused when it
already holds them).

Measured, each in a fresh Python process (so that its peak resident set size is its own):

* streaming: ``glassdyn.adapters.replicas.analyze_replica_dumps`` (what ``glassdyn propensity``
  runs once it uses it): every replica read, checked and analysed before the next is read;
* in memory: ``analyze_ensemble(load_ensemble(...))``, which holds every replica (R x T x N x d).

Both with the 2D defaults (ka2d cutoffs, cage-relative propensity, bond breaking, F_s at the first
peak of S(q)). Printed: wall time, peak RSS of each process, and whether the results are identical
(bit for bit). Target for R = 30, N = 100,000, T = 20: streaming peak RSS under 2 GiB.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

CHILD = r"""
import json, resource, sys, time
import numpy as np
mode, folder, R, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
from glassdyn.adapters.replicas import analyze_replica_dumps, load_ensemble
from glassdyn.dynamics import analyze_ensemble
paths = [f"{folder}/replica_{r:03d}.dump" for r in range(R)]
ref = f"{folder}/reference.dump"
t0 = time.perf_counter()
if mode == "stream":
    res = analyze_replica_dumps(paths, ref, potential="ka2d")
else:
    res = analyze_ensemble(load_ensemble(paths, ref), potential="ka2d")
wall = time.perf_counter() - t0
np.savez(out, propensity=res.propensity, bond_breaking=res.bond_breaking, fs=res.fs, tau=res.tau_alpha)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
try:  # the peak of this process alone (ru_maxrss can include the parent's, kept across exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            rss = int(line.split()[1]) * 1024
except OSError:
    pass
print(json.dumps({"wall": wall, "rss": rss}))
"""


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}"


def write_replicas(folder: str, R: int, N: int, T: int, seed: int = 0):
    from glassdyn import Box, Frame
    from glassdyn.adapters.lammps_dump import write_dump

    rng = np.random.default_rng(seed)
    m = int(np.ceil(np.sqrt(N)))
    L = np.sqrt(m * m / 1.2)
    g = np.stack(np.meshgrid(np.arange(m), np.arange(m), indexing="ij"), -1).reshape(-1, 2)[:N] * (L / m)
    box = Box.orthorhombic([L, L])
    pos = box.wrap(g + rng.normal(0, 0.08, g.shape))
    types = np.where(rng.random(N) < 0.65, 1, 2)
    ids = np.arange(1, N + 1)
    ref = Frame(pos, types, box, ids=ids, timestep=0)
    write_dump(os.path.join(folder, "reference.dump"), ref, float_format="%.10g")
    steps = np.unique(np.round(np.geomspace(1, 2000, T - 1))).astype(int)
    steps = np.concatenate([[0], steps])
    while len(steps) < T:  # make exactly T distinct timesteps
        steps = np.unique(np.concatenate([steps, [steps[-1] + len(steps)]]))
    for r in range(R):
        u = pos.copy()
        frames = []
        for k, s in enumerate(steps):
            if k:
                u = u + rng.normal(0, 0.15, u.shape)
            frames.append(Frame(box.wrap(u), types, box, ids=ids, unwrapped=u, timestep=int(s)))
        write_dump(os.path.join(folder, f"replica_{r:03d}.dump"), frames, float_format="%.10g")
    return steps


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicas", type=int, default=30)
    ap.add_argument("--atoms", type=int, default=100_000)
    ap.add_argument("--times", type=int, default=20)
    ap.add_argument("--keep", help="folder for the replica dumps (kept and reused)")
    ap.add_argument("--skip-in-memory", action="store_true", help="measure the streaming path only")
    args = ap.parse_args()
    R, N, T = args.replicas, args.atoms, args.times
    print(f"machine: {machine()}; python {platform.python_version()}, numpy {np.__version__}")
    print(f"{R} replicas x {N} particles x {T} times, 2D (one replica's positions: {T * N * 2 * 8 / 2**20:.0f} MiB, "
          f"all of them: {R * T * N * 2 * 8 / 2**30:.2f} GiB)")
    tmp = None
    folder = args.keep
    if folder is None:
        tmp = tempfile.TemporaryDirectory()
        folder = tmp.name
    os.makedirs(folder, exist_ok=True)
    marker = os.path.join(folder, "bench.json")
    want = {"R": R, "N": N, "T": T}
    if not (os.path.exists(marker) and json.load(open(marker)) == want):
        t0 = time.perf_counter()
        write_replicas(folder, R, N, T)
        json.dump(want, open(marker, "w"))
        size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder)) / 2**30
        print(f"setup (not measured): wrote {R} replica dumps, {size:.1f} GiB, in {time.perf_counter() - t0:.0f} s")
    results = {}
    for mode in (["stream"] if args.skip_in_memory else ["stream", "in-memory"]):
        out = os.path.join(folder, f"result_{mode}.npz")
        proc = subprocess.run([sys.executable, "-c", CHILD, mode, folder, str(R), out], capture_output=True,
                              text=True, check=False)
        if proc.returncode:
            print(f"{mode}: failed\n{proc.stderr[-3000:]}")
            continue
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        results[mode] = (info, out)
        print(f"  {mode:<10s} wall {info['wall']:7.1f} s   peak RSS {info['rss'] / 2**30:5.2f} GiB   "
              f"(load average {os.getloadavg()[0]:.1f})", flush=True)
    if len(results) == 2:
        a, b = (np.load(results[m][1]) for m in ("stream", "in-memory"))
        same = all(np.array_equal(a[k], b[k], equal_nan=True) for k in a.files)
        ratio = results["in-memory"][0]["rss"] / results["stream"][0]["rss"]
        print(f"identical results (bit for bit): {same}; the in-memory path needs {ratio:.1f}x the memory, "
              f"streaming takes {results['stream'][0]['wall'] / results['in-memory'][0]['wall']:.2f}x its time")
    print(f"target: streaming peak RSS < 2 GiB; load average at the end {os.getloadavg()[0]:.1f}")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
