"""Reproduction study: information-imbalance analysis of glassy dynamics on the ternary 2D model.

The pipeline of Sharma et al. ("Selecting relevant structural features for glassy dynamics by
information imbalance"), end to end with glassdyn's own pieces:

1. **temperature scan** (:func:`temperature_scan`): short Langevin runs of ``ternary2d`` at a few
   temperatures (1 configuration, 2 replicas) give the cage-relative tau_alpha(T); the study
   temperature is the lowest one whose tau_alpha fits the size's step budget.
2. **iso-configurational ensembles** (:func:`glassdyn.lammps.simulate.run_ensemble`, Langevin
   dynamics): ``configurations`` equilibrated configurations, ``replicas`` trajectories each, dumped
   at log-spaced times plus a dense grid around the scan's tau_alpha.
3. **dynamics** (:func:`glassdyn.dynamics.analyze_ensemble`, cage-relative as in the paper): F_s(q, t),
   tau_alpha of the configuration-averaged F_s, propensity ``<|dr^CR|^2>`` at t = tau_alpha.
4. **features** (:func:`glassdyn.descriptors.compute_features`): the 60 features rho, phi, e, psi6, Theta,
   z at L = 0.5..5.0 of every reference configuration (a feature constant in a configuration, such as
   ``rho_L0.5`` when no pair is closer than 0.5 sigma, is dropped and listed).
5. **analysis**: Pearson r and single-feature imbalances vs L (:func:`glassdyn.imbalance.imbalance_plane`),
   supervised and unsupervised greedy selection, Lasso and random baselines (:mod:`glassdyn.selection`),
   held-out prediction accuracy vs number of features (least squares, leave one configuration out,
   every selection redone on the training configurations only; :mod:`glassdyn.learn`).
6. **report** (:func:`glassdyn.studies.information_imbalance.report.write_report`): Markdown + PNG
   figures, each curve beside the published one from ``reference_dir`` (given by the caller) when it
   holds the published arrays.

Why Langevin: the paper ran Monte-Carlo dynamics (single-particle displacements, Metropolis); LAMMPS
refuses Monte-Carlo translation moves in 2D (``fix gcmc``: "Cannot use fix gcmc in a 2d simulation";
``fix tfmc`` leaves the plane). Stochastic dynamics gives the same glassy slowing down as MC (Berthier
and Kob 2007), so strongly damped Langevin dynamics stands in for it.

Every stage writes its result under ``output`` through a temporary file and is skipped when its result
exists (LAMMPS jobs through the resumable :mod:`glassdyn.lammps.simulate`), so an interrupted run resumes
where it stopped. The time actually spent in each stage is recorded in ``output/timings.json``.
"""
from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..._atomic import atomic_path, write_text_atomic
from ..._util import glassdyn_version, to_jsonable
from ...errors import GlassdynError, InputError
from ...stats import constant_columns, pearson
from ...adapters.replicas import load_ensemble, read_reference, reference_path, replica_path
from ...descriptors import compute_features
from ...dynamics import analyze_ensemble, tau_alpha
from ...imbalance import imbalance, imbalance_plane, standardize_configurations
from ...learn import PropensityModel
from ...selection import RANDOM_CONTROL, greedy_supervised, greedy_unsupervised, lasso_selection, random_orders
from ...validation import learning_curve_features
from .constants import DESCRIPTOR_ORDER, LENGTHS, MODEL
from .report import write_report

__all__ = ["StudySize", "SIZES", "get_size", "run_study", "mean_abs_r_least_squares", "temperature_scan",
           "simulate_ensembles", "measure_dynamics", "compute_feature_tables", "analyze", "heldout_prediction",
           "qualitative_checks"]

# ----------------------------------------------------------------------------------------------------
# sizes
# ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StudySize:
    """Every size parameter of a study run.

    Attributes
    ----------
    name : str
    n : int
        Particles per configuration (ternary2d composition 600:330:360 scaled).
    scan_temperatures : tuple of float
        Temperatures of the tau_alpha(T) scan, highest first (LJ units).
    scan_steps, scan_equilibration_steps, scan_replicas : int
        Length (MD steps of dt), NVT equilibration and replicas of each scan run (1 configuration).
    temperature : float or None
        Study temperature; None picks the lowest scanned temperature with
        ``tau_alpha / dt <= max_tau_steps``.
    max_tau_steps : int
        Step budget of tau_alpha for the automatic choice.
    configurations, replicas : int
        Iso-configurational ensembles of the study.
    equilibration_tau, run_tau : float
        NVT equilibration and replica length in units of the scan's tau_alpha.
    n_select : int
        Greedy picks reported (the paper: 15).
    n_random_orders : int
        Random orders of the imbalance baseline.
    heldout_random_orders : int
        Random orders of the held-out prediction baseline.
    unsupervised_random_orders : int
        Random orders of the unsupervised baseline curve (0: not computed).
    unsupervised_max_points : int or None
        Particles per configuration used by the unsupervised selection (a seeded subsample when
        smaller than n; None = all).
    dt, langevin_damp : float
        MD time step and Langevin friction time (LJ units).
    plateau_fraction : float
        A prediction curve has reached its plateau at the first d where the held-out |r| is at least
        this fraction of the held-out |r| of least squares on all features (the large-d limit).
    """

    name: str
    n: int
    scan_temperatures: tuple
    scan_steps: int
    scan_equilibration_steps: int
    scan_replicas: int
    temperature: float | None
    max_tau_steps: int
    configurations: int
    replicas: int
    equilibration_tau: float
    run_tau: float
    n_select: int = 15
    n_random_orders: int = 100
    heldout_random_orders: int = 100
    unsupervised_random_orders: int = 20
    unsupervised_max_points: int | None = None
    dt: float = 0.005
    langevin_damp: float = 0.1
    plateau_fraction: float = 0.9


SIZES: dict[str, StudySize] = {
    # the paper's ensemble (10 configurations x 30 replicas) at T = 0.45: about 26 million MD steps of
    # N = 1290, ~3 h on 2 idle cores here (run it on a cluster: glassdyn simulate --scheduler)
    "full": StudySize(name="full", n=1290, scan_temperatures=(0.6, 0.5, 0.45), scan_steps=80_000,
                      scan_equilibration_steps=80_000, scan_replicas=2, temperature=0.45,
                      max_tau_steps=50_000, configurations=10, replicas=30, equilibration_tau=10.0, run_tau=2.0,
                      n_random_orders=50, heldout_random_orders=100, unsupervised_max_points=800),
    # the paper's ensemble size at T = 0.6 (tau_alpha ~ 1e4 steps): ~6.8 million MD steps, ~1 h on 2 cores
    "medium": StudySize(name="medium", n=1290, scan_temperatures=(0.6,), scan_steps=40_000,
                        scan_equilibration_steps=40_000, scan_replicas=2, temperature=0.6,
                        max_tau_steps=16_000, configurations=10, replicas=30, equilibration_tau=5.0, run_tau=2.0,
                        n_random_orders=50, heldout_random_orders=100, unsupervised_max_points=800),
    # the CI test: a few minutes on 2 cores, one scan point that also fixes the run lengths
    "reduced": StudySize(name="reduced", n=400, scan_temperatures=(0.6,), scan_steps=24_000,
                         scan_equilibration_steps=10_000, scan_replicas=2, temperature=0.6,
                         max_tau_steps=12_000, configurations=4, replicas=12, equilibration_tau=1.5, run_tau=2.0,
                         n_random_orders=30, heldout_random_orders=30, unsupervised_random_orders=0),
}


def get_size(size: str | StudySize) -> StudySize:
    if isinstance(size, StudySize):
        return size
    if size not in SIZES:
        raise InputError(f"unknown study size '{size}'; choose one of {', '.join(SIZES)}")
    return SIZES[size]


# ----------------------------------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------------------------------
def _write_json(path: Path, data: dict) -> None:
    write_text_atomic(path, json.dumps(to_jsonable(data), indent=1), parents=True)


def _save_npz(path: Path, **arrays) -> None:
    with atomic_path(path, suffix=".npz", parents=True) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


class _Timer:
    """Seconds actually spent in each stage, kept across resumed runs in ``timings.json``."""

    def __init__(self, output: Path):
        self.path = output / "timings.json"
        self.data = json.loads(self.path.read_text()) if self.path.exists() else {}

    def record(self, stage: str, seconds: float) -> None:
        self.data[stage] = self.data.get(stage, 0.0) + float(seconds)
        _write_json(self.path, self.data)


def _log(msg: str, verbose: bool) -> None:
    if verbose:
        print(f"[study {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ----------------------------------------------------------------------------------------------------
# simulation and dynamics
# ----------------------------------------------------------------------------------------------------
def _analyze_folder(folder: Path, *, configurations: int, replicas: int, dt: float, halves: bool = False):
    """Cage-relative dynamics of every configuration of a ``run_ensemble`` folder.

    With ``halves``, also the propensities (T, N) of the even and of the odd replicas (a measure of
    how reproducible the propensity is with this many replicas); returns (results, halves).
    """
    out, half = [], []
    kw = dict(potential=MODEL, cage_relative=True, compute_bond_breaking=False)
    for c in range(configurations):
        ens = load_ensemble([replica_path(folder, c, r) for r in range(replicas)],
                            reference_path(folder, c, "lammpstrj"), dt=dt)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = analyze_ensemble(ens, **kw)
            out.append(res)
            if halves:
                a = analyze_ensemble(ens.subset(range(0, replicas, 2)), q=res.q, **kw).propensity
                b = analyze_ensemble(ens.subset(range(1, replicas, 2)), q=res.q, **kw).propensity
                half.append((a, b))
    return (out, half) if halves else out


def _tau(times, fs) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return tau_alpha(np.asarray(times, float), np.asarray(fs, float))


def temperature_scan(output, size: StudySize, *, seed: int = 1, cores: int | None = None,
                     verbose: bool = True, timer: _Timer | None = None) -> dict:
    """tau_alpha(T) from short Langevin runs (1 configuration, ``size.scan_replicas`` replicas).

    Results are cached in ``output/scan/scan.json`` per temperature. Scanning stops after the
    first temperature whose F_s does not reach 1/e within ``size.scan_steps``.

    Returns
    -------
    dict
        ``temperatures``, ``tau_alpha`` (time units, NaN = not reached), ``fs`` (per T: ``times``,
        ``fs`` cage-relative F_s of all particles), ``q``, the scan parameters and the wall time per T.
    """
    from ...lammps.simulate import run_ensemble
    output = Path(output)
    path = output / "scan" / "scan.json"
    cache = json.loads(path.read_text()) if path.exists() else {}
    points = cache.get("points", {})
    for T in size.scan_temperatures:
        key = f"{T:.3f}"
        if key in points:
            if points[key]["tau_alpha"] is None:
                break
            continue
        folder = output / "scan" / f"T{key}"
        t0 = time.time()
        _log(f"scan T = {T}: {size.scan_replicas} Langevin replicas of {size.scan_steps} steps, N = {size.n}",
             verbose)
        run_ensemble(folder, model=MODEL, n=size.n, temperature=T, replicas=size.scan_replicas,
                     configurations=1, dynamics="langevin", steps=size.scan_steps, points_per_decade=5,
                     equilibration_steps=size.scan_equilibration_steps, seed=seed, dt=size.dt,
                     langevin_damp=size.langevin_damp, cores=cores)
        res = _analyze_folder(folder, configurations=1, replicas=size.scan_replicas, dt=size.dt)[0]
        tau = float(res.tau_alpha[0])
        points[key] = {"temperature": T, "tau_alpha": tau if math.isfinite(tau) else None,
                       "times": res.times.tolist(), "fs": res.fs[0].tolist(), "q": res.q,
                       "seconds": time.time() - t0}
        if timer is not None:
            timer.record("scan", time.time() - t0)
        cache = {"points": points, "parameters": {
            "n": size.n, "replicas": size.scan_replicas, "steps": size.scan_steps,
            "equilibration_steps": size.scan_equilibration_steps, "dynamics": "langevin",
            "langevin_damp": size.langevin_damp, "dt": size.dt, "seed": seed,
            "fs": "cage-relative, all particles"}}
        _write_json(path, cache)
        _log(f"scan T = {T}: tau_alpha = {tau:.4g} ({time.time() - t0:.0f} s)", verbose)
        if not math.isfinite(tau):
            break
    temps = sorted((p["temperature"] for p in points.values()), reverse=True)
    taus = [points[f"{T:.3f}"]["tau_alpha"] for T in temps]
    return {"temperatures": temps, "tau_alpha": [np.nan if t is None else t for t in taus],
            "points": points, "parameters": cache.get("parameters", {})}


def choose_temperature(scan: dict, size: StudySize) -> tuple[float, float]:
    """(temperature, tau_alpha from the scan) of the study."""
    temps, taus = scan["temperatures"], scan["tau_alpha"]
    if size.temperature is not None:
        key = f"{size.temperature:.3f}"
        p = scan["points"].get(key)
        if p is None or p["tau_alpha"] is None:
            raise GlassdynError(f"the scan has no tau_alpha at the study temperature {size.temperature}; "
                                "scan that temperature or lengthen scan_steps")
        return float(size.temperature), float(p["tau_alpha"])
    ok = [(T, t) for T, t in zip(temps, taus) if np.isfinite(t) and t / size.dt <= size.max_tau_steps]
    if not ok:
        raise GlassdynError(f"no scanned temperature has tau_alpha <= {size.max_tau_steps} steps: {dict(zip(temps, taus))}")
    return min(ok)


def ensemble_times(tau: float, size: StudySize) -> list[int]:
    """Dump steps: log-spaced to ``run_tau * tau`` plus 16 linear points from 0.5 to ``run_tau`` tau."""
    from ...lammps.simulate import log_times
    tau_steps = tau / size.dt
    steps = int(math.ceil(size.run_tau * tau_steps))
    dense = np.rint(np.linspace(0.5, size.run_tau, 16) * tau_steps).astype(int)
    return sorted(set(log_times(steps, 5)) | set(int(x) for x in dense))


def simulate_ensembles(output, size: StudySize, temperature: float, tau_scan: float, *, seed: int = 1,
                       cores: int | None = None, verbose: bool = True, timer: _Timer | None = None) -> Path:
    """Run (or resume) the study's iso-configurational ensembles; returns their folder."""
    from ...lammps.simulate import run_ensemble
    folder = Path(output) / "ensembles"
    times = ensemble_times(tau_scan, size)
    eq = int(math.ceil(size.equilibration_tau * tau_scan / size.dt))
    _log(f"ensembles: T = {temperature}, {size.configurations} configurations x {size.replicas} replicas, "
         f"N = {size.n}, {times[-1]} steps each, equilibration {eq} steps", verbose)
    t0 = time.time()
    run_ensemble(folder, model=MODEL, n=size.n, temperature=temperature, replicas=size.replicas,
                 configurations=size.configurations, dynamics="langevin", times=times,
                 equilibration_steps=eq, seed=seed + 1000, dt=size.dt, langevin_damp=size.langevin_damp,
                 cores=cores, progress=verbose)
    if timer is not None:
        timer.record("simulation", time.time() - t0)
    return folder


def measure_dynamics(output, size: StudySize, *, verbose: bool = True, timer: _Timer | None = None) -> dict:
    """F_s, tau_alpha and the propensity at tau_alpha; cached in ``output/dynamics.npz``.

    tau_alpha is that of the configuration-averaged cage-relative F_s (all particles); the
    propensity is ``<|dr^CR|^2>`` over replicas at the dumped time closest to it. ``half_r`` is the
    Pearson r between the propensities of the even and of the odd replicas; by Spearman-Brown the
    best |r| any structural predictor can reach against the full-ensemble propensity is about
    ``sqrt(2 half_r / (1 + half_r))``.
    """
    path = Path(output) / "dynamics.npz"
    if path.exists():
        z = np.load(path, allow_pickle=False)
        return {k: z[k] for k in z.files}
    t0 = time.time()
    _log("dynamics: loading ensembles, cage-relative F_s and propensity", verbose)
    results, halves = _analyze_folder(Path(output) / "ensembles", configurations=size.configurations,
                                      replicas=size.replicas, dt=size.dt, halves=True)
    times = results[0].times
    fs = np.array([r.fs[0] for r in results])               # (C, T)
    fs_types = np.array([r.fs for r in results]).mean(axis=0)  # (types + 1, T)
    tau = _tau(times, fs.mean(axis=0))
    if not math.isfinite(tau):
        raise GlassdynError("F_s of the study ensembles did not reach 1/e: lengthen run_tau")
    k = int(np.argmin(np.abs(np.log(np.maximum(times, 1e-300)) - math.log(tau))))
    out = {"times": times, "fs": fs, "fs_types": fs_types, "tau_alpha": np.float64(tau),
           "tau_alpha_per_config": np.array([_tau(times, f) for f in fs]),
           "time_index": np.int64(k), "t_propensity": np.float64(times[k]),
           "propensity": np.array([r.propensity[k] for r in results]),   # (C, N)
           # Pearson r between the propensities of the even and the odd replicas, per configuration
           "half_r": np.array([np.corrcoef(a[k], b[k])[0, 1] for a, b in halves]),
           "ids": np.array([r.ids for r in results]), "types": np.array([r.types for r in results]),
           "q": np.float64(results[0].q)}
    _save_npz(path, **out)
    if timer is not None:
        timer.record("dynamics", time.time() - t0)
    return out


#: per-particle densities compared for rho and phi (their Pearson-vs-L profiles against the published ones)
DENSITY_OPTIONS = ("radical", "voronoi", "probe", "disc_count")
#: bumped when the analysis stage computes something new (invalidates cached analyses)
ANALYSIS_VERSION = 3


def compute_feature_tables(output, size: StudySize, dyn: dict, *, verbose: bool = True,
                           timer: _Timer | None = None) -> dict:
    """The 60 default features of every reference configuration, rows aligned with the propensity.

    One set of neighbour cutoffs for the study (g_ab(r) pooled over the reference configurations,
    :func:`glassdyn.structure.dataset_cutoffs`). Besides the default features (``values``, hard
    coarse-graining, the default per-particle density), ``density_values`` holds rho and phi for
    every entry of :data:`DENSITY_OPTIONS` (shape (options, C, N, 20)) and ``exponential_values``
    the 60 features with exponential weights (empty when the box is narrower than 6 L_max, the
    weights' reach), for the measurements that chose the defaults.
    Cached in ``output/features.npz`` (recomputed when the definitions recorded there differ).
    """
    from ...descriptors import DENSITIES
    from ...structure import dataset_cutoffs
    path = Path(output) / "features.npz"
    definition = {"density": DENSITIES[0], "weighting": "hard", "cutoffs": "dataset",
                  "density_options": list(DENSITY_OPTIONS), "exponential": True}
    if path.exists():
        z = np.load(path, allow_pickle=False)
        params = json.loads(str(z["params"]))
        if params.get("definition") == definition:
            return {"names": [str(s) for s in z["names"]], "values": z["values"], "params": params,
                    "density_values": z["density_values"], "exponential_values": z["exponential_values"]}
        _log("features: the cached features use other definitions; recomputing", verbose)
    t0 = time.time()
    _log("features: 60 coarse-grained descriptors per configuration (+ rho/phi variants, exponential weights)",
         verbose)
    frames = [read_reference(reference_path(Path(output) / "ensembles", c, "lammpstrj"))
              for c in range(size.configurations)]
    cut, cut_info = dataset_cutoffs(frames, MODEL)
    common = dict(potential=MODEL, lengths=LENGTHS, cutoffs=cut, cutoff_info=cut_info)
    # exponential weights reach 3 L (their default truncation): only where the box is wide enough
    with_exponential = frames[0].box.max_cutoff >= 3.0 * max(LENGTHS)
    vals, dens, expo, names, params = [], [], [], None, None
    for c, frame in enumerate(frames):
        tab = compute_features(frame, descriptors=DESCRIPTOR_ORDER, **common)
        order = np.argsort(tab.ids)
        if not np.array_equal(tab.ids[order], dyn["ids"][c]):
            raise GlassdynError(f"configuration {c}: feature rows and propensity rows hold different atom ids")
        vals.append(tab.values[order])
        names, params = list(tab.names), dict(tab.params)
        dens.append([compute_features(frame, descriptors=("rho", "phi"), density=d, **common).values[order]
                     for d in DENSITY_OPTIONS])
        if with_exponential:
            expo.append(compute_features(frame, descriptors=DESCRIPTOR_ORDER, weighting="exponential",
                                         **common).values[order])
    params["definition"] = definition
    values, density_values = np.array(vals), np.array(dens).transpose(1, 0, 2, 3)
    exponential_values = np.array(expo) if with_exponential else np.zeros((0,))  # empty: box too small
    _save_npz(path, names=np.array(names), values=values, params=np.array(json.dumps(to_jsonable(params))),
              density_values=density_values, exponential_values=exponential_values)
    if timer is not None:
        timer.record("features", time.time() - t0)
    return {"names": names, "values": values, "params": params, "density_values": density_values,
            "exponential_values": exponential_values}


# ----------------------------------------------------------------------------------------------------
# analysis
# ----------------------------------------------------------------------------------------------------
def _constant_columns(values: np.ndarray) -> list[int]:
    """Columns constant (to rounding, :func:`glassdyn.stats.constant_columns`) in any configuration."""
    return sorted(set().union(*[np.flatnonzero(constant_columns(v)).tolist() for v in values]))


def _plateau(curve: np.ndarray, level: float) -> int | None:
    hit = np.nonzero(np.asarray(curve) >= level)[0]
    return int(hit[0]) + 1 if hit.size else None


def tie_rule_comparison(Xs, ps, names, *, seed: int = 1) -> dict:
    """Delta(X_j -> p) and Delta(p -> X_j) of the features with many tied values (every ``z_*``, rho and
    phi at L <= 1) under the strict, average and random tie rules (SCIENCE.md section 4)."""
    cols = [k for k, n in enumerate(names)
            if n.startswith("z_") or n in ("rho_L0.5", "rho_L1.0", "phi_L0.5", "phi_L1.0")]
    out = {"features": [names[k] for k in cols]}
    if not cols:
        return out
    sub = [x[:, cols] for x in Xs]
    for rule in ("strict", "average", "random"):
        pl = imbalance_plane(sub, ps, feature_names=out["features"], ties=rule, seed=seed)
        out[rule] = {"forward": pl.forward_mean, "backward": pl.backward_mean}
    return out


def analyze(features: dict, dyn: dict, size: StudySize, *, seed: int = 1, verbose: bool = True,
            timer: _Timer | None = None) -> dict:
    """Pearson r, imbalance plane, greedy selections and baselines on all configurations."""

    all_names = features["names"]
    dropped = _constant_columns(features["values"])
    keep = [k for k in range(len(all_names)) if k not in dropped]
    names = [all_names[k] for k in keep]
    Xs = [v[:, keep] for v in features["values"]]
    ps = [p for p in dyn["propensity"]]
    C = len(Xs)
    out: dict[str, Any] = {"names": names, "all_names": all_names, "dropped": [all_names[k] for k in dropped]}
    out["feature_params"] = {k: features["params"].get(k) for k in ("density", "weighting", "cutoffs", "cutoff_method")}
    t0 = time.time()
    out["pearson_per_config"] = np.array([pearson(x, p) for x, p in zip(Xs, ps)])
    out["pearson"] = out["pearson_per_config"].mean(axis=0)
    _log("imbalance plane", verbose)
    plane = imbalance_plane(Xs, ps, feature_names=names, seed=seed)
    out["plane"] = plane
    _log("greedy supervised selection (all features, with the random control)", verbose)
    n_sup = min(len(names) + 1, 2 * size.n_select)
    sup = greedy_supervised(Xs, ps, feature_names=names, random_control=True, seed=seed, n_features=n_sup, n_jobs=2)
    out["supervised"] = sup
    out["supervised_picks"] = n_sup
    # rank of the random control among the picks; None = not picked in the first n_sup
    out["random_control_rank"] = sup.order.index(RANDOM_CONTROL) + 1 if RANDOM_CONTROL in sup.order else None
    _log("greedy unsupervised selection", verbose)
    Xu = Xs
    if size.unsupervised_max_points and size.unsupervised_max_points < Xs[0].shape[0]:
        rng = np.random.default_rng(seed)
        Xu = [x[np.sort(rng.choice(x.shape[0], size.unsupervised_max_points, replace=False))] for x in Xs]
    out["unsupervised"] = greedy_unsupervised(Xu, feature_names=names, n_features=size.n_select, seed=seed, n_jobs=2)
    _log("the paper's protocol: greedy selections run in every configuration on its own", verbose)
    out["supervised_per_configuration"] = greedy_supervised(Xs, ps, feature_names=names, seed=seed,
                                                            n_features=size.n_select, n_jobs=2,
                                                            protocol="per_configuration")
    out["unsupervised_per_configuration"] = greedy_unsupervised(Xu, feature_names=names, n_features=size.n_select,
                                                                seed=seed, n_jobs=2, protocol="per_configuration")
    _log("tie rules on the features with tied values (coordination numbers, small-L densities)", verbose)
    out["tie_rules"] = tie_rule_comparison(Xs, ps, names, seed=seed)
    _log("per-particle densities of rho and phi: Pearson r vs L", verbose)
    out["density_profiles"] = {
        d: np.mean([pearson(v, p) for v, p in zip(features["density_values"][k], ps)], axis=0)
        for k, d in enumerate(DENSITY_OPTIONS)}
    _log("Lasso and random baselines", verbose)
    out["lasso"] = lasso_selection(Xs, ps, feature_names=names, n_features=size.n_select, seed=seed)
    out["random"] = random_orders(Xs, ps, feature_names=names, n_features=size.n_select, n_orders=size.n_random_orders,
                                  seed=seed, n_jobs=2)
    out["random_unsupervised"] = (random_orders(Xu, None, feature_names=names, n_features=size.n_select,
                                                n_orders=size.unsupervised_random_orders, seed=seed, n_jobs=2)
                                  if size.unsupervised_random_orders else None)
    if timer is not None:
        timer.record("selection", time.time() - t0)
    t0 = time.time()
    _log("held-out prediction (leave one configuration out, selection on training configurations)", verbose)
    out["heldout"] = heldout_prediction(Xs, ps, names, size, seed=seed, verbose=verbose)
    _log("held-out prediction per particle type (all features, least squares: joint vs separate fits)", verbose)
    out["heldout_per_type"] = heldout_per_type(Xs, ps, names, dyn["types"])
    out["heldout_exponential"] = None
    if np.size(features["exponential_values"]):
        _log("held-out prediction with exponential coarse-graining weights (supervised order, all features)",
             verbose)
        Xe = [v[:, keep] for v in features["exponential_values"]]
        out["heldout_exponential"] = heldout_prediction(Xe, ps, names, size, seed=seed, verbose=verbose,
                                                        kinds=("supervised",))
    if timer is not None:
        timer.record("heldout", time.time() - t0)
    out["n_configurations"] = C
    return out


def _cached_analysis(output: Path, feats: dict, dyn: dict, size: StudySize, *, seed: int, verbose: bool,
                     timer: _Timer | None) -> dict:
    """:func:`analyze`, cached in ``output/analysis.pkl`` (a local cache written by this code, keyed by every
    size parameter, the seed and the glassdyn version; recomputed when any differs)."""
    import pickle
    path = output / "analysis.pkl"
    key = to_jsonable({"size": asdict(size), "seed": seed, "version": glassdyn_version(),
                       "features": feats["params"].get("definition"), "analysis": ANALYSIS_VERSION})
    if path.exists():
        with open(path, "rb") as fh:
            cached = pickle.load(fh)
        if cached.get("key") == key:
            _log("analysis: reusing analysis.pkl", verbose)
            return cached["analysis"]
    an = analyze(feats, dyn, size, seed=seed, verbose=verbose, timer=timer)
    with atomic_path(path, suffix=".pkl") as tmp, open(tmp, "wb") as fh:
        pickle.dump({"key": key, "analysis": an}, fh)
    return an


def mean_abs_r_least_squares(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray,
                             orders: np.ndarray) -> np.ndarray:
    """Mean over ``orders`` of the held-out |Pearson r| of least squares on the first d columns, d = 1..D.

    Plain ``numpy.linalg.lstsq`` with an intercept: the same fit as ``PropensityModel(model="linear")``
    without the estimator overhead of thousands of fits (random-order baseline).

    Parameters
    ----------
    X_train : (N_train, F) ; y_train : (N_train,) ; X_test : (N_test, F) ; y_test : (N_test,)
    orders : int array (n_orders, D) of column indices

    Returns
    -------
    ndarray (D,)
    """
    orders = np.atleast_2d(np.asarray(orders, dtype=np.int64))
    D = orders.shape[1]
    ones = np.ones((X_train.shape[0], 1))
    out = np.zeros(D)
    for o in orders:
        for d in range(1, D + 1):
            cols = list(o[:d])
            w = np.linalg.lstsq(np.hstack([ones, X_train[:, cols]]), y_train, rcond=None)[0]
            pred = w[0] + X_test[:, cols] @ w[1:]
            out[d - 1] += abs(np.corrcoef(pred, y_test)[0, 1])
    return out / len(orders)


def heldout_prediction(Xs: Sequence[np.ndarray], ps: Sequence[np.ndarray], names: Sequence[str], size: StudySize,
                       *, seed: int = 1, verbose: bool = False,
                       kinds: Sequence[str] = ("supervised", "unsupervised", "lasso")) -> dict:
    """|Pearson r| of least-squares predictions on each held-out configuration vs number of features.

    :func:`glassdyn.validation.learning_curve_features` (leave one configuration out) with
    :class:`glassdyn.learn.PropensityModel` (``model="linear"``) on the per-configuration z-scored
    features and target, for three selections made on the training configurations only: the greedy
    supervised and unsupervised information-imbalance orders and the Lasso (the support with exactly
    d non-zero weights); plus ``size.heldout_random_orders`` random orders (target-free, shared by all
    folds; :func:`mean_abs_r_least_squares`). Besides |r|, the held-out Delta(X_S -> p) of each
    selection is recorded (``imbalance``; random: mean of the first 20 orders).

    ``kinds`` chooses the selections (default all three).

    Returns
    -------
    dict
        ``supervised``, ``unsupervised``, ``lasso``, ``random``: arrays (C, n_select) of |r| per held-out
        configuration (row) and d (column); ``all_features``: (C,) with every feature; ``imbalance``:
        the same keys for the held-out Delta(X_S -> p), ``imbalance_all_features``;
        ``orders``: the orders picked in each fold.
    """
    names = list(names)
    Zs = standardize_configurations(list(Xs), names)
    ys = [((p - p.mean()) / p.std()) for p in ps]
    C, D, F = len(Zs), size.n_select, len(names)
    X = np.vstack(Zs)
    y = np.concatenate(ys)
    g = np.concatenate([np.full(len(v), c) for c, v in enumerate(ys)])
    ds = list(range(1, D + 1)) + ([F] if F > D else [])

    def unsupervised(Xtr, ytr, groups, feat_names, k, random_state):
        """Greedy unsupervised order of the training configurations (each subsampled to at most
        ``size.unsupervised_max_points`` particles, seeded by the training set)."""
        parts = [Xtr[groups == c] for c in np.unique(groups)]
        if size.unsupervised_max_points and size.unsupervised_max_points < parts[0].shape[0]:
            rng = np.random.default_rng([seed, *np.unique(groups).tolist()])
            parts = [x[np.sort(rng.choice(x.shape[0], size.unsupervised_max_points, replace=False))] for x in parts]
        return greedy_unsupervised(parts, feature_names=feat_names, n_features=k, seed=random_state, n_jobs=2).indices

    res: dict[str, Any] = {}
    curves = {}
    methods = {"supervised": "imbalance", "unsupervised": unsupervised, "lasso": "lasso"}
    for key in kinds:
        select = methods[key]
        _log(f"held-out prediction: {key} selection in every training fold", verbose)
        est = PropensityModel(model="linear", select=select, random_state=seed)
        curves[key] = learning_curve_features(est, X, y, g, ds, cv="loco", feature_names=names)
        per = np.abs(np.array(curves[key]["per_configuration"]))       # (len(ds), C)
        res[key] = per[:D].T
        if F > D:
            res["all_features"] = per[D]
    if F <= D:
        res["all_features"] = res[kinds[0]][:, F - 1]
    rng = np.random.default_rng([seed, 77])
    rand_orders = np.array([rng.permutation(F)[:D] for _ in range(size.heldout_random_orders)])
    n_imb_random = min(len(rand_orders), 20)
    res["random"] = np.array([mean_abs_r_least_squares(np.vstack([Zs[c] for c in range(C) if c != test]),
                                                       np.concatenate([ys[c] for c in range(C) if c != test]),
                                                       Zs[test], ys[test], rand_orders) for test in range(C)])

    # Delta(X_S -> p) on the held-out configuration (the supervised objective, out of sample)
    def test_imbalance(test, cols) -> float:
        return float(imbalance(Zs[test][:, list(cols)], ys[test], seed=seed))
    res["imbalance"] = {k: np.full((C, D), np.nan) for k in (*kinds, "random")}
    res["orders"] = []
    for test in range(C):
        order = {"test": test}
        for key in kinds:
            supports = curves[key]["supports"][test]
            order[key] = list(supports[D - 1])
            for d in range(1, D + 1):
                res["imbalance"][key][test, d - 1] = test_imbalance(test, [names.index(n) for n in supports[d - 1]])
        for d in range(1, D + 1):
            res["imbalance"]["random"][test, d - 1] = np.mean([test_imbalance(test, o[:d])
                                                               for o in rand_orders[:n_imb_random]])
        res["orders"].append(order)
        _log(f"held-out configuration {test}: {kinds[0]} d=1..3 |r| = "
             f"{np.round(res[kinds[0]][test, :3], 3).tolist()}", verbose)
    res["imbalance_all_features"] = np.array([test_imbalance(test, range(F)) for test in range(C)])
    return res


def heldout_per_type(Xs, ps, names, types) -> dict:
    """Held-out Pearson r of least squares on every feature, jointly and per particle type, for a
    joint fit, separate fits per type and the type as a feature (leave one configuration out;
    :func:`glassdyn.validation.cross_validate` with ``types``)."""
    from ...validation import cross_validate
    Zs = standardize_configurations(list(Xs), list(names))
    ys = [((p - p.mean()) / p.std()) for p in ps]
    X, y = np.vstack(Zs), np.concatenate(ys)
    g = np.concatenate([np.full(len(v), c) for c, v in enumerate(ys)])
    t = np.concatenate([np.asarray(tt) for tt in types])
    out = {}
    for mode in ("joint", "separate", "feature"):
        res = cross_validate(PropensityModel("linear", per_type=mode), X, y, g, types=t, feature_names=list(names))
        s = res.summary()["pearson"]
        out[mode] = {"all": s["mean"], "all_std": s["std"],
                     "by_type": {int(k): v["pearson"]["mean"] for k, v in res.summary_by_type().items()}}
    return out


def qualitative_checks(an: dict, size: StudySize) -> dict:
    """The three findings of the issue, each with the numbers behind it.

    1. the best single feature (lowest Delta(X_j -> p), and highest |r|) is coarse-grained (L > 0.5);
    2. supervised selection reaches its plateau with fewer features than the unsupervised and random
       orders, measured out of sample: every order is selected on the training configurations and its
       Delta(X_S -> p) evaluated on the held-out one; plateau = first d with 1 - Delta >=
       ``plateau_fraction`` x (1 - Delta of all features), the large-d limit; a curve that never gets
       there within ``n_select`` counts as n_select + 1. The same comparison on the held-out |r| of
       least squares (the paper's Fig. 7) is reported as ``plateau_prediction`` (informational: a linear
       model rewards Lasso-like picks, and it is noisy at small sizes);
    3. the random control feature is not among the first picks of the supervised selection (rank > 5).
    """
    names = an["names"]
    fwd = an["plane"].forward_mean
    best = names[int(np.argmin(fwd))]
    best_r = names[int(np.argmax(np.abs(an["pearson"])))]

    def length(n):
        return float(n.rsplit("_L", 1)[1])

    h = an["heldout"]
    curves = {k: np.nanmean(h[k], axis=0) for k in ("supervised", "unsupervised", "lasso", "random")}
    top = float(np.nanmean(h["all_features"]))
    level = size.plateau_fraction * top
    plateau = {k: _plateau(c, level) for k, c in curves.items()}
    # the same on the held-out imbalance: first d with 1 - Delta >= fraction x (1 - Delta of all features)
    hi = h.get("imbalance")
    gain_all = 1.0 - float(np.nanmean(h["imbalance_all_features"]))
    plateau_imb = {k: _plateau(1.0 - np.nanmean(hi[k], axis=0), size.plateau_fraction * gain_all) for k in hi}

    def fewer(pl, other):
        s_d, o = pl["supervised"], pl[other]
        return s_d is not None and (o is None or s_d < o)

    checks = {
        "best_single_feature": {"imbalance": best, "pearson": best_r, "L_imbalance": length(best),
                                "L_pearson": length(best_r), "delta": float(fwd.min()),
                                "passed": length(best) > 0.5},
        "plateau": {"measure": "held-out Delta(X_S -> p)", "fraction": size.plateau_fraction,
                    "all_features_delta": 1.0 - gain_all, "d": plateau_imb,
                    "passed": fewer(plateau_imb, "unsupervised") and fewer(plateau_imb, "random")},
        "plateau_prediction": {"measure": "held-out |r| of least squares", "level": level, "all_features_r": top,
                               "fraction": size.plateau_fraction, "d": plateau,
                               "passed": fewer(plateau, "unsupervised") and fewer(plateau, "random"),
                               "informational": True},
        "random_control": {"rank": an["random_control_rank"], "n_candidates": len(names) + 1,
                           "n_picks": an.get("supervised_picks"),
                           "passed": an["random_control_rank"] is None or an["random_control_rank"] > 5},
    }
    checks["all_passed"] = all(v["passed"] for v in checks.values() if isinstance(v, dict)
                               and not v.get("informational"))
    return checks


# ----------------------------------------------------------------------------------------------------
# the whole study
# ----------------------------------------------------------------------------------------------------
def run_study(output, size: str | StudySize = "full", seed: int = 1, reference_dir=None, *,
              report_dir=None, cores: int | None = None, temperature: float | None = None,
              command: str = "", verbose: bool = True) -> dict:
    """Run (or resume) the whole reproduction study and write its report.

    Parameters
    ----------
    output : path
        Work folder: simulations, cached dynamics/features, ``timings.json`` (large; do not commit).
    size : {"full", "medium", "reduced"} or StudySize
        See :data:`SIZES`.
    seed : int
        Base seed of every simulation and random choice.
    reference_dir : path, optional
        Folder of the published arrays of Sharma et al. (the ``.npy`` files); their curves are put
        beside ours when given. The report builds without them.
    report_dir : path, optional
        Where ``report.md``, the PNG figures and ``summary.json`` go (default ``output``).
    cores : int, optional
        LAMMPS processes at once (default: all CPUs).
    temperature : float, optional
        Override the study temperature (it must be one of the scanned temperatures).
    command : str
        The command line recorded in the report.
    verbose : bool
        Progress messages on stdout.

    Returns
    -------
    dict
        ``report`` (path), ``checks``, ``analysis``, ``dynamics``, ``scan``, ``temperature``, ``timings``.
    """
    size = get_size(size)
    if temperature is not None:
        scan_t = size.scan_temperatures if temperature in size.scan_temperatures else \
            tuple(sorted(set(size.scan_temperatures) | {float(temperature)}, reverse=True))
        size = replace(size, temperature=float(temperature), scan_temperatures=scan_t)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    params_path = output / "study.json"
    # only what the simulations and cached stages depend on; analysis settings may change between runs
    sim_fields = ("n", "scan_temperatures", "scan_steps", "scan_equilibration_steps", "scan_replicas",
                  "temperature", "max_tau_steps", "configurations", "replicas", "equilibration_tau", "run_tau",
                  "dt", "langevin_damp")
    params = {"size": {k: v for k, v in asdict(size).items() if k in sim_fields}, "seed": int(seed), "model": MODEL}
    if params_path.exists():
        old = json.loads(params_path.read_text())
        old["size"] = {k: v for k, v in old.get("size", {}).items() if k in sim_fields}
        if to_jsonable(old) != to_jsonable(params):
            raise InputError(f"work folder {output} holds a study with other parameters ({old}); choose another "
                             "folder or delete it to start again")
    else:
        _write_json(params_path, params)
    timer = _Timer(output)
    scan = temperature_scan(output, size, seed=seed, cores=cores, verbose=verbose, timer=timer)
    T, tau_scan = choose_temperature(scan, size)
    _log(f"study temperature T = {T} (scan tau_alpha = {tau_scan:.4g})", verbose)
    simulate_ensembles(output, size, T, tau_scan, seed=seed, cores=cores, verbose=verbose, timer=timer)
    dyn = measure_dynamics(output, size, verbose=verbose, timer=timer)
    _log(f"tau_alpha = {float(dyn['tau_alpha']):.4g}; propensity at t = {float(dyn['t_propensity']):.4g}", verbose)
    feats = compute_feature_tables(output, size, dyn, verbose=verbose, timer=timer)
    an = _cached_analysis(output, feats, dyn, size, seed=seed, verbose=verbose, timer=timer)
    checks = qualitative_checks(an, size)
    t0 = time.time()
    report = write_report(report_dir or output, an, dyn, scan, checks, size, temperature=T, reference_dir=reference_dir,
                          timings=timer.data, command=command, output=output, seed=seed)
    timer.record("report", time.time() - t0)
    _log(f"report: {report}; checks passed: {checks['all_passed']}", verbose)
    return {"report": report, "checks": checks, "analysis": an, "dynamics": dyn, "scan": scan, "temperature": T,
            "timings": dict(timer.data)}
