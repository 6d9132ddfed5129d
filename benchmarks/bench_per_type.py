"""Per-type propensity models on LAMMPS data: joint vs separate vs type-as-feature, hard vs exponential
coarse-graining, and the training size at which per-type fits start to pay.

Data: a ``glassdyn simulate ensemble`` folder (or the ``simulation/`` folder of a ``glassdyn demo``
output): every configuration's reference and replicas. Without ``--data`` the script simulates a small
2D Kob-Andersen ensemble itself (:func:`glassdyn.lammps.simulate.run_ensemble`: 6 configurations x 500
atoms x 20 replicas, Newtonian MD at T = 0.6).

Protocol (SCIENCE.md section 5): propensity = cage-relative ``<|dr|>`` over the replicas at the dumped
time closest to tau_alpha (as ``glassdyn demo``); the default 60 descriptors (``hard`` and
``exponential`` coarse-graining), columns that are NaN or constant in some configuration dropped;
Ridge (alpha = 1) on all usable features, leave one configuration out; held-out Pearson r computed per
configuration and per particle type (:func:`glassdyn.validation.cross_validate`), mean +- standard
deviation over the held-out configurations.

    python benchmarks/bench_per_type.py [--data DIR] [--simulate DIR] [--model ridge] [--output out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np


def find_simulation(folder: Path) -> Path:
    for cand in (folder, folder / "simulation"):
        if (cand / "manifest.json").is_file() and (cand / "config_000").is_dir():
            return cand
    raise SystemExit(f"{folder}: no glassdyn simulate folder (manifest.json + config_000/) here or in simulation/")


def load_data(sim: Path, weightings, lengths=None, exp_truncation: float = 3.0):
    """Per configuration: ids, types, propensity at t* ~ tau_alpha, features per weighting.

    Both weightings use the same lengths: the default ones (0.5 ... 5.0) whose exponential reach
    (``exp_truncation * L``) fits in half the box, unless ``lengths`` is given."""
    from glassdyn.adapters.replicas import load_ensemble, read_reference, reference_path
    from glassdyn.descriptors import compute_features
    from glassdyn.dynamics import analyze_ensemble, tau_alpha
    from glassdyn.potentials import get_potential

    man = json.loads((sim / "manifest.json").read_text())
    par = man["parameters"]
    dt = float(par.get("dt") or 0.005)
    pot = get_potential(par.get("model", "ka2d"))
    C = int(par["configurations"])
    results, frames = [], []
    for c in range(C):
        ref = read_reference(reference_path(sim, c, "dump"))
        reps = sorted(reference_path(sim, c, "dump").parent.glob("replica_*.lammpstrj"))
        ens = load_ensemble([str(p) for p in reps], ref, dt=dt)
        results.append(analyze_ensemble(ens, potential=pot, cage_relative=True, absolute=True,
                                        fs_cage_relative=False, compute_bond_breaking=False))
        frames.append(ref.sorted_by_id())
    times = results[0].times
    tau = float(tau_alpha(times, np.mean([r.fs[0] for r in results], axis=0)))
    pos = np.flatnonzero(times > 0)
    k = int(pos[np.argmin(np.abs(np.log(times[pos] / tau)))]) if np.isfinite(tau) else int(pos[-1])
    data = {"tau_alpha": tau, "t_star": float(times[k]), "n_replicas": len(reps), "configurations": C,
            "n_atoms": frames[0].n_atoms, "temperature": par.get("temperature"), "dynamics": par.get("dynamics"),
            "model": par.get("model", "ka2d"), "y": [], "types": [], "features": {w: [] for w in weightings}}
    if lengths is None:
        from glassdyn.descriptors import compute_features as _cf
        import inspect
        half = float(frames[0].box.max_cutoff)  # half the narrowest periodic width
        default = inspect.signature(_cf).parameters["lengths"].default
        lengths = [L for L in default if exp_truncation * L <= half]
    data["lengths"] = list(lengths)
    for r, fr in zip(results, frames):
        order = np.argsort(r.ids)
        assert np.array_equal(r.ids[order], fr.ids)
        data["y"].append(np.asarray(r.propensity[k], float)[order])
        data["types"].append(np.asarray(fr.types))
        for w in weightings:
            data["features"][w].append(compute_features(fr, potential=pot, lengths=lengths, weighting=w,
                                                        exp_truncation=exp_truncation))
    return data


def usable(tables):
    names = list(tables[0].names)
    keep = [j for j in range(len(names))
            if all(np.all(np.isfinite(t.values[:, j])) and np.ptp(t.values[:, j]) > 0 for t in tables)]
    return keep, [names[j] for j in keep]


def stack(data, w):
    keep, names = usable(data["features"][w])
    X = np.vstack([t.values[:, keep] for t in data["features"][w]])
    y = np.concatenate(data["y"])
    t = np.concatenate(data["types"])
    g = np.concatenate([np.full(len(v), c) for c, v in enumerate(data["y"])])
    return X, y, g, t, names


def fmt(s):
    return f"{s['mean']:.3f} +- {s['std']:.3f}"


def compare_modes(X, y, g, t, names, model, alpha, modes=("joint", "separate", "feature")):
    from glassdyn.learn import PropensityModel
    from glassdyn.validation import cross_validate
    out = {}
    for mode in modes:
        est = PropensityModel(model, alpha=alpha, per_type=mode, random_state=0)
        t0 = time.perf_counter()
        res = cross_validate(est, X, y, g, types=t, cv="loco", feature_names=names)
        out[mode] = {"all": res.summary()["pearson"],
                     **{f"type {k}": v["pearson"] for k, v in res.summary_by_type().items()},
                     "pearson_per_configuration": {"all": res.scores.pearson.tolist(),
                                                   **{f"type {k}": sc.pearson.tolist()
                                                      for k, sc in res.scores.by_type.items()}},
                     "seconds": time.perf_counter() - t0}
    return out


def paired(res, a, b, keys):
    """Mean and standard error over held-out configurations of the Pearson r of ``a`` minus ``b``."""
    out = {}
    for k in keys:
        d = np.asarray(res[a]["pearson_per_configuration"][k]) - np.asarray(res[b]["pearson_per_configuration"][k])
        d = d[np.isfinite(d)]
        out[k] = {"mean": float(d.mean()), "sem": float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else 0.0,
                  "wins": int(np.sum(d > 0)), "n": int(len(d))}
    return out


def size_scan(X, y, g, t, names, model, alpha, sizes, seed=0):
    """Held-out Pearson per type when every type has n training rows (random subsample per fold)."""
    from sklearn.base import clone
    from glassdyn.learn import PropensityModel
    from glassdyn.validation import configuration_splits, evaluate_by_configuration
    rng = np.random.default_rng(seed)
    labels = np.unique(t)
    out = {}
    for n in sizes:
        preds = {m: np.full(len(y), np.nan) for m in ("joint", "separate", "feature")}
        for tr, te in configuration_splits(g, "loco"):
            sub = np.sort(np.concatenate([rng.choice(tr[t[tr] == lab], size=min(n, int(np.sum(t[tr] == lab))),
                                                     replace=False) for lab in labels]))
            for m in preds:
                est = clone(PropensityModel(model, alpha=alpha, per_type=m, random_state=0))
                est.fit(X[sub], y[sub], g[sub], types=t[sub], feature_names=names)
                preds[m][te] = est.predict(X[te], types=t[te], feature_names=names)
        out[n] = {}
        for m, p in preds.items():
            sc = evaluate_by_configuration(y, p, g, types=t)
            out[n][m] = {"all": sc.summary()["pearson"]["mean"],
                         **{f"type {k}": v["pearson"]["mean"] for k, v in sc.summary_by_type().items()}}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="glassdyn simulate ensemble folder (or a demo output folder)")
    ap.add_argument("--simulate", type=Path, default=Path("bench_per_type_run"),
                    help="folder to simulate into when --data is not given")
    ap.add_argument("--configurations", type=int, default=6)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--replicas", type=int, default=20)
    ap.add_argument("--temperature", type=float, default=0.6)
    ap.add_argument("--model", default="ridge", choices=["linear", "ridge", "lasso", "mlp", "gp"])
    ap.add_argument("--alpha", type=float, help="regularisation (default: PropensityModel's, Ridge alpha = 1)")
    ap.add_argument("--sizes", type=int, nargs="*", default=[50, 100, 250, 500, 1000],
                    help="training rows per type for the size scan (empty: skip)")
    ap.add_argument("--lengths", type=float, nargs="+",
                    help="coarse-graining lengths (default: those of 0.5 ... 5.0 whose exponential reach fits the box)")
    ap.add_argument("--output", type=Path, help="write all figures as JSON")
    args = ap.parse_args()

    import glassdyn
    print(f"glassdyn {glassdyn.__version__}, Python {platform.python_version()}, numpy {np.__version__}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    if args.data is None:
        from glassdyn.lammps.simulate import run_ensemble
        t0 = time.perf_counter()
        run_ensemble(args.simulate, model="ka2d", n=args.n, temperature=args.temperature, replicas=args.replicas,
                     configurations=args.configurations, dynamics="md", steps=4000, equilibration_steps=15000,
                     points_per_decade=10, seed=0)
        print(f"simulated {args.configurations} x {args.n} atoms x {args.replicas} replicas in "
              f"{time.perf_counter() - t0:.0f} s")
        sim = find_simulation(args.simulate)
    else:
        sim = find_simulation(args.data)
    t0 = time.perf_counter()
    data = load_data(sim, ("hard", "exponential"), args.lengths)
    t_all = np.concatenate(data["types"])
    counts = {int(k): int(v) for k, v in zip(*np.unique(t_all, return_counts=True))}
    print(f"data: {sim} ({data['model']}, T = {data['temperature']}, {data['dynamics']}), "
          f"{data['configurations']} configurations x {data['n_atoms']} atoms x {data['n_replicas']} replicas; "
          f"particles per type {counts}; tau_alpha = {data['tau_alpha']:.3g}, propensity at t* = {data['t_star']:g} "
          f"(cage-relative <|dr|>); coarse-graining lengths {data['lengths']}; loaded in {time.perf_counter() - t0:.1f} s")
    report = {"data": {k: v for k, v in data.items() if k not in ("y", "types", "features")} | {
        "folder": str(sim), "particles_per_type": counts}, "model": args.model, "alpha": args.alpha, "results": {}}
    print(f"\nheld-out Pearson r (leave one configuration out, {args.model}, alpha = {args.alpha or 'default'}), "
          "mean +- std over configurations; a-b rows: paired difference, mean +- standard error "
          "(configurations where a wins / all)")
    print(f"{'weighting':<12} {'per_type':<9} {'all':>16} " + " ".join(f"{'type ' + str(k):>16}" for k in counts))
    for w in ("hard", "exponential"):
        X, y, g, t, names = stack(data, w)
        res = compare_modes(X, y, g, t, names, args.model, args.alpha)
        report["results"][w] = {"n_features": len(names), "modes": res}
        for mode, r in res.items():
            print(f"{w:<12} {mode:<9} {fmt(r['all']):>16} " + " ".join(f"{fmt(r[f'type {k}']):>16}" for k in counts))
        keys = ["all"] + [f"type {k}" for k in counts]
        for a, b in (("separate", "feature"), ("separate", "joint"), ("feature", "joint")):
            d = paired(res, a, b, keys)
            report["results"][w][f"{a}-{b}"] = d
            print(f"{'':<12} {a[:3]}-{b[:3]:<5} " + " ".join(
                f"{d[k]['mean']:+.3f} +- {d[k]['sem']:.3f} ({d[k]['wins']}/{d[k]['n']})".rjust(16 if k == 'all' else 17)
                for k in keys))
    # exponential against hard, same model and mode, paired by configuration
    for mode in ("joint", "separate", "feature"):
        keys = ["all"] + [f"type {k}" for k in counts]
        both = {"exponential": report["results"]["exponential"]["modes"][mode],
                "hard": report["results"]["hard"]["modes"][mode]}
        d = paired(both, "exponential", "hard", keys)
        report["results"][f"exponential-hard ({mode})"] = d
        print(f"{'exp-hard':<12} {mode:<9} " + " ".join(
            f"{d[k]['mean']:+.3f} +- {d[k]['sem']:.3f} ({d[k]['wins']}/{d[k]['n']})".rjust(16 if k == 'all' else 17)
            for k in keys))
    if args.sizes:
        X, y, g, t, names = stack(data, "hard")
        print("\nsize scan (hard weighting): held-out Pearson r with n training rows per type (random subsample)")
        scan = size_scan(X, y, g, t, names, args.model, args.alpha, args.sizes)
        report["size_scan"] = {str(n): v for n, v in scan.items()}
        print(f"{'n per type':>10} {'per_type':<9} {'all':>7} " + " ".join(f"{'type ' + str(k):>7}" for k in counts))
        for n, rows in scan.items():
            for mode, r in rows.items():
                print(f"{n:>10} {mode:<9} {r['all']:7.3f} " + " ".join(f"{r[f'type {k}']:7.3f}" for k in counts))
    if args.output:
        args.output.write_text(json.dumps(report, indent=1))
        print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
