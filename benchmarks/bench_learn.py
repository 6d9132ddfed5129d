"""Training and prediction times of glassdyn.learn models.

Synthetic data shaped like the information-imbalance paper's: 10 configurations x 4000 particles
x 60 features (correlated, coarse-grained-like columns), target = a non-linear function of a few
of them plus noise. For each model: fit on all 40 000 rows, predict 40 000 rows, save + load the
model file; then feature selection (inside one fold's worth of data) for each selector.

    python benchmarks/bench_learn.py [--configs 10] [--particles 4000] [--features 60]
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

import numpy as np


def synthetic(n_conf: int, n_per: int, n_feat: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n_conf * n_per, n_feat // 6 + 1))
    # columns = smoothed mixtures of a few base fields (like one descriptor at several lengths)
    mix = rng.normal(size=(base.shape[1], n_feat)) * (rng.random((base.shape[1], n_feat)) < 0.3)
    X = base @ mix + 0.3 * rng.normal(size=(len(base), n_feat))
    y = np.exp(0.5 * X[:, 3]) - 0.4 * X[:, 17] + 0.2 * X[:, 40] ** 2 + 0.5 * rng.normal(size=len(X))
    groups = np.repeat(np.arange(n_conf), n_per)
    return X, y, groups, [f"f{i}_L{(i % 10 + 1) / 2:.1f}" for i in range(n_feat)]


def timed(fn, repeat=1):
    best = np.inf
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", type=int, default=10)
    ap.add_argument("--particles", type=int, default=4000)
    ap.add_argument("--features", type=int, default=60)
    ap.add_argument("--gp-max-samples", type=int, default=1000)
    ap.add_argument("--skip-imbalance", action="store_true")
    args = ap.parse_args()

    import sklearn

    from glassdyn import __version__
    from glassdyn.learn import FeatureSelector, PropensityModel, evaluate_by_configuration
    from glassdyn.modelfile import load_model, save_model

    print(f"glassdyn {__version__}, scikit-learn {sklearn.__version__}, numpy {np.__version__}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} (shared with other jobs)")
    X, y, g, names = synthetic(args.configs, args.particles, args.features)
    train = g < args.configs - 1
    print(f"data: {args.configs} configurations x {args.particles} particles x {args.features} features "
          f"= {X.shape[0]} rows\n")
    print(f"{'model':<8} {'fit (s)':>9} {'predict (s)':>12} {'rows/s pred':>12} {'save+load (s)':>14} "
          f"{'held-out r':>11} {'file (kB)':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ["linear", "ridge", "lasso", "mlp", "gp"]:
            model = PropensityModel(kind, gp_max_samples=args.gp_max_samples, random_state=0)
            t_fit, _ = timed(lambda: model.fit(X, y, g, feature_names=names))
            if kind == "gp":
                t_pred, _ = timed(lambda: model.predict(X, return_std=True, feature_names=names))
            else:
                t_pred, _ = timed(lambda: model.predict(X, feature_names=names), repeat=3)
            path = os.path.join(tmp, f"{kind}.gdm")
            t_io, m2 = timed(lambda: (save_model(model, path), load_model(path))[1])
            # held-out score: train on the first configurations, score the last one
            held = PropensityModel(kind, gp_max_samples=args.gp_max_samples, random_state=0).fit(
                X[train], y[train], g[train], feature_names=names)
            r = evaluate_by_configuration(y[~train], held.predict(X[~train], feature_names=names), g[~train]).pearson[0]
            size = os.path.getsize(path) / 1024
            print(f"{kind:<8} {t_fit:9.2f} {t_pred:12.3f} {len(X) / t_pred:12.3g} {t_io:14.3f} {r:11.3f} {size:10.1f}")
    print("\nfeature selection of 10 features on all rows:")
    for method in ["pearson", "lasso"] + ([] if args.skip_imbalance else ["imbalance"]):
        t, sel = timed(lambda: FeatureSelector(method, 10, names).fit(X, y, g))
        print(f"  {method:<10} {t:8.2f} s   first picks: {', '.join(names[i] for i in sel.support_[:4])}")


if __name__ == "__main__":
    main()
