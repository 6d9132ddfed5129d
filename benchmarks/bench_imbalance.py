"""Benchmark of the information-imbalance engine and greedy selection.

    python benchmarks/bench_imbalance.py                 # exact engine: single Delta, supervised, unsupervised
    python benchmarks/bench_imbalance.py --quick         # smaller: 3 configurations
    /work/venv-dadapy/bin/python benchmarks/bench_imbalance.py --dadapy   # same single evaluation via dadapy

Data: synthetic stand-in for the paper's descriptors: 10 configurations of 4000 particles in a periodic 2D box
(density 1.2), 6 raw per-particle fields (3 spatially correlated, 3 white), each coarse-grained with
exp(-r/L) weights at L = 0.5, 1.0, ..., 5.0 (60 strongly correlated features, as in the paper), and a
propensity-like target built from a few coarse-grained fields plus noise. Targets: one Delta(X_S -> p) for
N = 4000, |S| = 10 under 20 ms; supervised greedy (15 picks from 60) on 10 x 4000 under 60 s; unsupervised
under 5 minutes; on 2 cores.
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
from scipy.spatial import cKDTree


def make_configuration(seed: int, n: int = 4000, density: float = 1.2):
    rng = np.random.default_rng(seed)
    box = np.sqrt(n / density)
    pos = rng.uniform(0, box, size=(n, 2))
    tree = cKDTree(pos, boxsize=box)
    # raw fields: 3 smooth (white noise smoothed over ~1.5), 3 white
    white = rng.normal(size=(n, 6))
    pairs = tree.sparse_distance_matrix(tree, 10.0, output_type="ndarray")
    i, j, r = pairs["i"], pairs["j"], pairs["v"]
    raw = white.copy()
    w = np.exp(-(r / 1.5) ** 2)
    for c in range(3):
        raw[:, c] = np.bincount(i, weights=w * white[j, c], minlength=n) / np.bincount(i, weights=w, minlength=n)
    feats, names = [], []
    fam = ["rho", "phi", "e", "psi6", "Theta", "z"]
    for c in range(6):
        for L in np.arange(1, 11) * 0.5:
            wl = np.exp(-r / L) * (r < min(3 * L, 10.0))
            feats.append(np.bincount(i, weights=wl * raw[j, c], minlength=n) / np.bincount(i, weights=wl, minlength=n))
            names.append(f"{fam[c]}_L{L:.1f}")
    X = np.column_stack(feats)
    p = (np.tanh(2 * X[:, 43]) + 0.6 * X[:, 3] ** 2 - 0.5 * X[:, 25] + 0.4 * X[:, 8] * X[:, 47]) / np.std(X[:, 43])
    p = p + 0.3 * p.std() * rng.normal(size=n)
    return X, p, names


def timeit(fn, repeat=5):
    """(best wall s, median wall s, result, best CPU s of this process)."""
    ts, cs = [], []
    for _ in range(repeat):
        c0 = time.process_time()
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
        cs.append(time.process_time() - c0)
    return min(ts), float(np.median(ts)), out, min(cs)


def load() -> str:
    try:
        return "load average %.1f %.1f %.1f" % os.getloadavg()
    except OSError:
        return "load average unknown"


def timed(fn):
    c0 = time.process_time()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--dadapy", action="store_true", help="time the single evaluation through dadapy (maxk=N-1)")
    ap.add_argument("--skip-unsupervised", action="store_true")
    ap.add_argument("--parts", default="single,supervised,unsupervised",
                    help="comma-separated subset of single,supervised,unsupervised")
    ap.add_argument("--cache", help="keep the generated data in this .npz (reused when it exists)")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    import glassdyn
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, python "
          f"{platform.python_version()}, numpy {np.__version__}, glassdyn {glassdyn.__version__}")
    C = 1 if args.dadapy else (3 if args.quick else 10)
    parts = set(args.parts.split(","))
    t0 = time.perf_counter()
    if args.cache and os.path.exists(args.cache):
        z = np.load(args.cache)
        Xs, ps, names = list(z["X"][:C]), list(z["p"][:C]), [str(n) for n in z["names"]]
    else:
        data = [make_configuration(100 + c) for c in range(C)]
        Xs = [d[0] for d in data]
        ps = [d[1] for d in data]
        names = data[0][2]
        if args.cache:
            np.savez(args.cache, X=np.array(Xs), p=np.array(ps), names=np.array(names))
    print(f"data: {C} configurations x 4000 particles x 60 features, ready in {time.perf_counter() - t0:.1f} s")
    Xz = [(x - x.mean(0)) / x.std(0) for x in Xs]
    S = [43, 3, 25, 8, 47, 13, 30, 55, 17, 38]
    A, p = Xz[0][:, S], ps[0]
    print(f"(wall-clock times depend on the machine's load: {load()}; CPU times of this process are given too)")
    if "single" in parts or args.dadapy:
        single(A, p, args)
    if args.dadapy:
        return
    run_selection(Xs, ps, names, C, parts, args)


def single(A, p, args):
    from glassdyn.imbalance import imbalance
    best, med, val, cpu = timeit(lambda: imbalance(A, p, duplicates="allow"), repeat=7)
    print(f"single Delta(X_S -> p), N=4000, |S|=10, exact, 1 thread: best {1e3 * best:.1f} ms, median "
          f"{1e3 * med:.1f} ms, CPU {1e3 * cpu:.1f} ms (target < 20 ms), Delta = {val:.4f}")
    best2, med2, _, cpu2 = timeit(lambda: imbalance(A, p, duplicates="allow", n_jobs=2), repeat=7)
    print(f"single Delta(X_S -> p), exact, KD-tree on 2 threads: best {1e3 * best2:.1f} ms, median "
          f"{1e3 * med2:.1f} ms, CPU {1e3 * cpu2:.1f} ms")
    best_b, med_b, val_b, cpu_b = timeit(lambda: imbalance(p, A, duplicates="allow"), repeat=3)
    print(f"single Delta(p -> X_S), exact: best {1e3 * best_b:.1f} ms, median {1e3 * med_b:.1f} ms, "
          f"CPU {1e3 * cpu_b:.1f} ms, Delta = {val_b:.4f}")
    if args.dadapy:
        bd, md, vd, cd = timeit(lambda: imbalance(A, p, backend="dadapy", maxk=A.shape[0] - 1), repeat=2)
        print(f"single Delta(X_S -> p) via dadapy 0.3.4, maxk=N-1: best {bd:.2f} s (CPU {cd:.2f} s), "
              f"Delta = {vd:.4f} (|exact - dadapy| = {abs(vd - val):.1e}); speed-up of the exact engine: "
              f"{bd / best:.0f}x wall, {cd / cpu:.0f}x CPU")


def run_selection(Xs, ps, names, C, parts, args):
    if "supervised" in parts:
        supervised(Xs, ps, names, C, args)
    if args.skip_unsupervised or "unsupervised" not in parts:
        return
    unsupervised(Xs, names, C, args)


def supervised(Xs, ps, names, C, args):
    from glassdyn.selection import greedy_supervised
    t_sup, c_sup, sup = timed(lambda: greedy_supervised(Xs, ps, feature_names=names, n_features=15, n_jobs=args.jobs))
    print(f"supervised greedy, 15 picks of 60, {C} x 4000, n_jobs={args.jobs}: {t_sup:.1f} s wall, "
          f"{c_sup:.1f} s CPU summed over threads (target < 60 s wall on 2 idle cores); {load()}")
    print("  order:", ", ".join(sup.order))
    print("  Delta(X_S -> p):", " ".join(f"{v:.3f}" for v in sup.curve))
    print("  Delta(p -> X_S):", " ".join(f"{v:.3f}" for v in sup.curves["target_to_subset"].mean(0)))


def unsupervised(Xs, names, C, args):
    from glassdyn.selection import greedy_unsupervised
    t_uns, c_uns, uns = timed(lambda: greedy_unsupervised(Xs, feature_names=names, n_features=15, n_jobs=args.jobs))
    print(f"unsupervised greedy, 15 picks of 60, {C} x 4000, n_jobs={args.jobs}: {t_uns:.1f} s wall, "
          f"{c_uns:.1f} s CPU summed over threads (target < 300 s wall on 2 idle cores); {load()}")
    print("  order:", ", ".join(uns.order))
    print("  symmetric Delta:", " ".join(f"{v:.3f}" for v in uns.curve))


if __name__ == "__main__":
    main()
