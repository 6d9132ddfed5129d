"""``glassdyn demo``: the whole pipeline on a small 2D Kob-Andersen system, one command.

::

    glassdyn demo                         # ~170 CPU seconds (about 2 minutes on 2 cores), writes ./glassdyn-demo/
    glassdyn demo -o out --size tiny      # ~80 CPU seconds (about 1 minute on 2 cores): the test suite's size
    glassdyn demo -o out --resume         # continue an interrupted run (finished work is kept)

Steps (each calls the core; nothing is re-derived here):

1. **simulate** (:func:`glassdyn.lammps.simulate.run_ensemble`): a few independent ka2d
   configurations at T = 0.6 (density 1.2, Nose-Hoover NVT), each equilibrated for about
   ten tau_alpha, and for each one an iso-configurational ensemble of Newtonian MD replicas
   (Maxwell-Boltzmann velocities drawn with different seeds), dumped at log-spaced times.
2. **propensity** (:func:`glassdyn.replicas.load_ensemble`,
   :func:`glassdyn.dynamics.analyze_ensemble`): F_s(q, t) at the first peak of S(q), its
   configuration average and tau_alpha (F_s = 1/e); the per-particle propensity
   ``<|dr|^2>_iso`` at the dumped time t* closest to tau_alpha (on a log scale).
3. **descriptors** (:func:`glassdyn.descriptors.compute_features`): the default 60 features
   (rho, phi, e, psi6, Theta, z at L = 0.5 ... 5.0) of every reference configuration. Columns
   that are constant (``rho_L0.5``: only the particle itself lies within 0.5) or undefined in
   some configuration are dropped and listed in the report.
4. **select** (:func:`glassdyn.imbalance.imbalance_plane`,
   :func:`glassdyn.selection.greedy_supervised`, :func:`glassdyn.selection.random_orders`):
   information-imbalance plane and greedy supervised selection on the *training*
   configurations only.
5. **train / predict** (:class:`glassdyn.learn.PropensityModel`, Ridge by default, saved as a
   safe model file by :func:`glassdyn.modelfile.save_model`): fit on the training
   configurations with the selected features, predict the held-out ones, score each held-out
   configuration (:func:`glassdyn.learn.evaluate_by_configuration`).
6. **write**: annotated dumps (reference configuration + every descriptor + ``propensity`` +
   ``propensity_cr_abs_pred`` + ``bond_breaking``), pictures, ``open_in_ovito.py`` and (when OVITO
   is installed) ``demo_session.ovito``, ``report.md``, ``report.html`` and ``summary.json``.

Output folder::

    demo.json                      parameters of this run (``--resume`` checks them)
    simulation/                    a ``glassdyn simulate ensemble`` folder (manifest.json, config_XXX/)
    cache/                         per-configuration propensity and feature tables (.npz)
    annotated/config_XXX.dump      reference + descriptors + propensity_cr_abs + propensity_cr_abs_pred
    model.gdm                      the trained model (``glassdyn predict DUMP --model model.gdm``)
    pictures/*.png                 propensity maps (OVITO), F_s(q,t), imbalance plane, Delta(d), parity
    open_in_ovito.py, demo_session.ovito
    report.md, report.html, summary.json
"""
from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .._atomic import atomic_path, write_text_atomic
from .._util import glassdyn_version, to_jsonable
from ..errors import GlassdynError, InputError
from ..stats import constant_columns

__all__ = ["DemoSize", "SIZES", "run_pipeline", "DEFAULT_OUTPUT"]

DEFAULT_OUTPUT = "glassdyn-demo"
STATE_FILE = "demo.json"
SUMMARY_FILE = "summary.json"
#: the demo's target column: cage-relative <|dr|> (the name says which propensity it is)
TARGET = "propensity_cr_abs"
PREDICTION = TARGET + "_pred"


@dataclass(frozen=True)
class DemoSize:
    """Parameters of one demo size (Lennard-Jones units; times in MD steps of dt = 0.005).

    Attributes
    ----------
    n : int
        Atoms per configuration.
    temperature : float
    configurations : int
        Independent configurations; the first ``train`` are the training set, the others held out.
    train : int
    replicas : int
        Replicas per iso-configurational ensemble.
    equilibration_steps : int
        NVT steps after the random start and minimisation (about ten tau_alpha at T = 0.6).
    steps : int
        Length of every replica run (a few tau_alpha).
    points_per_decade : int
        Log-spaced dump times per decade.
    n_select : int or None
        Features used by the model, the first ``n_select`` of the greedy information-imbalance
        order. None (default): chosen among ``d_grid`` by leave-one-configuration-out
        cross-validation inside the training configurations (the greedy order is recomputed in
        every inner fold); the held-out configurations play no part in the choice.
    d_grid : tuple of int
        Candidate numbers of features; the greedy selection runs up to the largest. Every
        usable feature (no selection) is always a candidate too: on small data sets the
        greedy order does not always beat it, and the report says which one won.
    model : str
        Regression model of :class:`glassdyn.learn.PropensityModel`.
    alpha : float
        Its regularisation (Ridge alpha on standardised features).
    n_random : int
        Random feature orders of the baseline curve.
    cage_relative : bool
        Propensity from cage-relative displacements (SCIENCE.md section 3; removes the 2D
        long-wavelength Mermin-Wagner motion that no local structure can predict). F_s(q, t)
        and tau_alpha always use the plain displacements.
    absolute : bool
        Propensity ``<|dr|>`` instead of ``<|dr|^2>`` (less dominated by the rare replica in
        which a particle hops far, hence less noisy at a given number of replicas).
    """

    n: int
    temperature: float
    configurations: int
    train: int
    replicas: int
    equilibration_steps: int
    steps: int
    points_per_decade: int = 10
    n_select: int | None = None
    d_grid: tuple = (2, 4, 8, 12, 16, 20, 24)
    model: str = "ridge"
    alpha: float = 1.0
    n_random: int = 20
    cage_relative: bool = True
    absolute: bool = True


SIZES = {
    "small": DemoSize(n=500, temperature=0.6, configurations=10, train=6, replicas=30,
                      equilibration_steps=20_000, steps=4_000),
    "tiny": DemoSize(n=500, temperature=0.6, configurations=6, train=3, replicas=24,
                     equilibration_steps=15_000, steps=4_000),
}


# ============================================================================ helpers
class _Progress:
    """Numbered stage messages with elapsed times, on stdout."""

    def __init__(self, total: int, enabled: bool = True):
        self.total = total
        self.k = 0
        self.t0 = time.perf_counter()
        self.enabled = enabled
        self.timings: dict[str, float] = {}
        self._stage = None
        self._start = None

    def stage(self, name: str, text: str) -> None:
        self.done()
        self.k += 1
        self._stage, self._start = name, time.perf_counter()
        print(f"[glassdyn demo {self.k}/{self.total}] {text} ...", flush=True)

    def note(self, text: str) -> None:
        print(f"    {text}", flush=True)

    def done(self) -> None:
        if self._stage is not None:
            dt = time.perf_counter() - self._start
            self.timings[self._stage] = self.timings.get(self._stage, 0.0) + dt
            print(f"    done in {dt:.1f} s (total {time.perf_counter() - self.t0:.0f} s)", flush=True)
            self._stage = None


def _versions(manifest: dict) -> dict:
    out = {"glassdyn": glassdyn_version(), "python": platform.python_version(), "platform": platform.platform(),
           "lammps": manifest.get("lammps_version")}
    for mod in ("numpy", "scipy", "sklearn", "matplotlib", "ovito"):
        m = sys.modules.get(mod)
        if m is None:
            try:
                from importlib.metadata import version
                out[mod] = version({"sklearn": "scikit-learn"}.get(mod, mod))
            except Exception:  # noqa: BLE001 - not installed
                out[mod] = None
        else:
            out[mod] = getattr(m, "__version__", None) or getattr(m, "version_string", None)
    return out


def _cpu_seconds() -> float:
    """CPU time (user + system) of this process and its finished children (the LAMMPS runs)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return time.process_time()
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def _check_size(size: DemoSize) -> None:
    if size.configurations < 2:
        raise InputError(f"the demo needs at least 2 configurations (got {size.configurations}): one to train on, "
                         "one to hold out")
    if not 1 <= size.train < size.configurations:
        raise InputError(f"train must be between 1 and configurations - 1 = {size.configurations - 1}, "
                         f"got {size.train}")
    if size.replicas < 2:
        raise InputError(f"an iso-configurational ensemble needs at least 2 replicas, got {size.replicas}")
    if size.n < 150:
        raise InputError(f"n = {size.n} atoms is too small for the default descriptors (coarse-graining up to "
                         "L = 5 needs a box wider than 10, i.e. n >= 150 at density 1.2)")
    if size.n_select is not None and size.n_select < 1:
        raise InputError(f"n_select must be positive, got {size.n_select}")
    if size.n_select is None and (not size.d_grid or min(size.d_grid) < 1):
        raise InputError(f"d_grid must hold positive numbers of features, got {size.d_grid}")


def _open_output(output: Path, state: dict, resume: bool) -> None:
    """Refuse a folder holding something else; with ``resume``, check the parameters match."""
    path = output / STATE_FILE
    if path.exists():
        old = json.loads(path.read_text())
        if not resume:
            raise InputError(f"{output} already holds a glassdyn demo; add --resume to continue or reuse it, or "
                             "choose another -o folder")
        if old.get("parameters") != state["parameters"]:
            diff = sorted(k for k in set(old.get("parameters", {})) | set(state["parameters"])
                          if old.get("parameters", {}).get(k) != state["parameters"].get(k))
            raise InputError(f"{output} holds a demo run with other parameters ("
                             + ", ".join(f"{k}: {old.get('parameters', {}).get(k)!r} there, "
                                         f"{state['parameters'].get(k)!r} now" for k in diff)
                             + "); choose another -o folder or the same parameters")
        return
    if output.exists() and any(output.iterdir()):
        raise InputError(f"output folder {output} is not empty and holds no glassdyn demo; choose a new folder")
    output.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(state, indent=1) + "\n", parents=True)


# ============================================================================ stages
def _propensity_stage(sim: Path, cache: Path, c: int, dt: float, cage_relative: bool, absolute: bool) -> dict:
    """F_s, tau_alpha and propensity of configuration ``c`` (cached in ``cache``)."""
    from ..adapters.replicas import load_ensemble, read_reference, reference_path
    from ..dynamics import analyze_ensemble
    from ..potentials import get_potential

    path = cache / f"config_{c:03d}_propensity.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            out = {k: z[k] for k in z.files}
        out["params"] = json.loads(str(out["params"]))
        return out
    ref = read_reference(reference_path(sim, c, "dump"))
    reps = sorted(reference_path(sim, c, "dump").parent.glob("replica_*.lammpstrj"))
    ens = load_ensemble([str(p) for p in reps], ref, dt=dt)
    res = analyze_ensemble(ens, potential=get_potential("ka2d"), cage_relative=cage_relative,
                           absolute=absolute, fs_cage_relative=False, progress=False)
    out = dict(times=res.times, timesteps=res.timesteps, ids=res.ids, types=res.types,
               propensity=res.propensity, bond_breaking=res.bond_breaking, fs=res.fs,
               fs_per_replica=res.fs_per_replica, tau_alpha=res.tau_alpha, q=np.array(res.q),
               params=np.array(json.dumps(to_jsonable(res.params))))
    with atomic_path(path, suffix=".npz", parents=True) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **out)
    out["params"] = res.params
    return out


def _feature_stage(sim: Path, cache: Path, c: int, cutoffs, cutoff_info):
    """Default descriptors of the reference configuration of ``c`` with the data set's cutoffs (cached)."""
    from ..adapters.replicas import read_reference, reference_path
    from ..adapters.tables import load_table, save_table
    from ..descriptors import compute_features

    path = cache / f"config_{c:03d}_features.npz"
    if path.exists():
        return load_table(path)
    ref = read_reference(reference_path(sim, c, "dump")).sorted_by_id()
    table = compute_features(ref, potential="ka2d", cutoffs=cutoffs, cutoff_info=cutoff_info)
    save_table(table, path)
    return table


def _dataset_cutoffs(sim: Path, C: int):
    """One set of neighbour cutoffs for the demo's configurations (g_ab(r) pooled over all of them;
    structure only, no propensity, so using the held-out configurations leaks nothing)."""
    from ..adapters.replicas import read_reference, reference_path
    from ..structure import dataset_cutoffs
    return dataset_cutoffs((read_reference(reference_path(sim, c, "dump")) for c in range(C)), "ka2d")


def _pick_time(times: np.ndarray, tau: float) -> int:
    """Index of the positive time closest to ``tau`` on a log scale (the last time if tau is NaN)."""
    pos = np.flatnonzero(times > 0)
    if not np.isfinite(tau):
        return int(pos[-1])
    return int(pos[np.argmin(np.abs(np.log(times[pos] / tau)))])


def _usable_features(tables) -> tuple[list[int], dict[str, str]]:
    """Columns finite and non-constant in every configuration; the others with the reason."""
    names = tables[0].names
    keep, dropped = [], {}
    for k, name in enumerate(names):
        cols = [t.values[:, k] for t in tables]
        if any(not np.all(np.isfinite(v)) for v in cols):
            dropped[name] = "undefined (NaN) for some particles"
        elif any(constant_columns(v)[0] for v in cols):
            dropped[name] = "constant within a configuration"
        else:
            keep.append(k)
    return keep, dropped


def _inner_cv(X, y, train, names, grid, size: DemoSize, seed: int) -> dict:
    """Held-out Pearson r against the number of greedy picks d, leave one *training* configuration out.

    :func:`glassdyn.validation.learning_curve_features` with the greedy information-imbalance
    selection: in every inner fold the greedy order is recomputed on the remaining training
    configurations, so the choice of d never sees the configuration it is scored on (nor the test
    set). The last candidate, d = len(names), is every usable feature (no selection needed).
    """
    from ..learn import PropensityModel
    from ..validation import learning_curve_features
    F = len(names)
    cands = sorted({d for d in grid if d < F} | {F})
    Xtr = np.vstack([X[c] for c in train])
    ytr = np.concatenate([y[c] for c in train])
    gtr = np.concatenate([np.full(len(y[c]), c) for c in train])
    est = PropensityModel(size.model, alpha=size.alpha, select="imbalance", random_state=seed)
    lc = learning_curve_features(est, Xtr, ytr, gtr, cands, cv="loco", feature_names=names)
    scores = np.array(lc["per_configuration"]).T          # (training configurations, candidates)
    mean = scores.mean(axis=0)
    best = int(cands[int(np.argmax(np.round(mean, 3)))])  # ties (to 3 decimals) -> fewer features
    return {"d": cands, "mean": mean, "std": scores.std(axis=0, ddof=1) if len(train) > 1 else 0 * mean,
            "per_configuration": scores, "best": best, "all_features": best == F}


# ============================================================================ the demo
def run_pipeline(output=DEFAULT_OUTPUT, *, size: DemoSize | str = "small", size_name: str | None = None,
             seed: int = 0, cores: int | None = None, resume: bool = False, render: bool = True,
             progress: bool = True) -> dict:
    """Run the whole pipeline and write the report; returns the summary (also ``summary.json``).

    Parameters
    ----------
    output : path
        Output folder (created; must be new or empty unless ``resume``).
    size : DemoSize or {"small", "tiny"}
        Parameters (see :data:`SIZES`).
    seed : int
        Base seed: LAMMPS seeds of every configuration and replica derive from it (recorded in
        ``simulation/manifest.json``), as do the selection's and the model's.
    cores : int, optional
        LAMMPS processes at once (default: all CPUs).
    resume : bool
        Continue in a folder holding the same demo run.
    render : bool
        Try the OVITO renderer for the propensity maps (matplotlib otherwise).
    progress : bool
        Progress bars of the simulation.

    Returns
    -------
    dict
        The summary: parameters, seeds, versions, tau_alpha, held-out scores, selected
        features, files and timings.
    """
    from ..adapters.replicas import load_manifest
    from ..lammps.simulate import log_times, run_ensemble

    if isinstance(size, str):
        size_name = size_name or size
        if size not in SIZES:
            raise InputError(f"unknown demo size '{size}'; choose one of {', '.join(SIZES)}")
        size = SIZES[size]
    _check_size(size)
    if int(seed) != seed or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed}")
    output = Path(output)
    times = log_times(size.steps, size.points_per_decade)
    params = {**asdict(size), "size": size_name, "seed": int(seed), "model_name": "ka2d", "dynamics": "md",
              "dump_steps": times}
    params = json.loads(json.dumps(params))  # tuples -> lists, as read back from demo.json
    state = {"task": "glassdyn demo", "parameters": params}
    _open_output(output, state, resume)
    sim, cache, pics, ann = (output / "simulation", output / "cache", output / "pictures", output / "annotated")
    prog = _Progress(total=6)
    cpu0 = _cpu_seconds()
    C, train = size.configurations, list(range(size.train))
    test = [c for c in range(C) if c not in train]

    # ------------------------------------------------------------------ 1. simulate
    prog.stage("simulate", f"simulate: {C} ka2d configurations x {size.n} atoms at T = {size.temperature}, "
                           f"{size.replicas} MD replicas each, {size.steps} steps (LAMMPS)")
    run_ensemble(sim, model="ka2d", n=size.n, temperature=size.temperature, replicas=size.replicas,
                 configurations=C, dynamics="md", times=times, equilibration_steps=size.equilibration_steps,
                 seed=int(seed), cores=cores, progress=progress)
    manifest = load_manifest(sim)
    dt = float(manifest["parameters"]["dt"])

    # ------------------------------------------------------------------ 2. propensity
    prog.stage("propensity", "propensity: F_s(q,t), tau_alpha and per-particle propensity from the ensembles")
    props = [_propensity_stage(sim, cache, c, dt, size.cage_relative, size.absolute)
             for c in range(C)]
    t_all = props[0]["times"]
    fs_mean = np.mean([p["fs"][0] for p in props], axis=0)
    from ..dynamics import tau_alpha as _tau
    tau = float(_tau(t_all, fs_mean))
    tau_per = [float(p["tau_alpha"][0]) for p in props]
    k_star = _pick_time(t_all, tau)
    t_star = float(t_all[k_star])
    prog.note(f"q = {float(np.mean([p['q'] for p in props])):.3g}; tau_alpha = {tau:.3g} (per configuration "
              f"{', '.join(f'{v:.3g}' for v in tau_per)}); propensity at t* = {t_star:g} (step "
              f"{int(props[0]['timesteps'][k_star])})")
    y = [np.asarray(p["propensity"][k_star], float) for p in props]

    # ------------------------------------------------------------------ 3. descriptors
    prog.stage("describe", "descriptors: the default 60 features of every reference configuration")
    cutoffs, cutoff_info = _dataset_cutoffs(sim, C)
    tables = [_feature_stage(sim, cache, c, cutoffs, cutoff_info) for c in range(C)]
    for c, (t, p) in enumerate(zip(tables, props)):
        if not np.array_equal(t.ids, p["ids"]):
            raise GlassdynError(f"configuration {c}: the feature table and the propensity rows differ in atom ids "
                                f"(delete {cache} and run again with --resume)")
    keep, dropped = _usable_features(tables)
    names = [tables[0].names[k] for k in keep]
    X = [t.values[:, keep] for t in tables]
    prog.note(f"{len(tables[0].names)} features, {len(names)} usable; dropped: "
              + (", ".join(f"{k} ({v})" for k, v in dropped.items()) or "none"))

    # ------------------------------------------------------------------ 4. select
    n_max = min(size.n_select if size.n_select is not None else max(size.d_grid), len(names))
    prog.stage("select", f"information imbalance on the {len(train)} training configurations: plane, greedy "
                         f"selection of {n_max} features, {size.n_random} random orders")
    from ..imbalance import imbalance_plane
    from ..selection import greedy_supervised, random_orders
    Xtr, ytr = [X[c] for c in train], [y[c] for c in train]
    plane = imbalance_plane(Xtr, ytr, feature_names=names, seed=seed)
    sel = greedy_supervised(Xtr, ytr, feature_names=names, n_features=n_max, seed=seed, reverse=True)
    rnd = random_orders(Xtr, ytr, feature_names=names, n_features=n_max, n_orders=size.n_random, seed=seed)
    prog.note("greedy order: " + ", ".join(f"{n} ({d:.3f})" for n, d in zip(sel.order, sel.curve)))

    # ------------------------------------------------------------------ 5. train / predict
    from ..learn import PropensityModel
    from ..modelfile import save_model
    from ..validation import evaluate_by_configuration
    if size.n_select is None:
        prog.stage("learn", f"choose the number of features by cross-validation inside the training "
                            f"configurations, train {size.model} on {train}, predict {test}")
        inner = _inner_cv(X, y, train, names, [d for d in size.d_grid if d <= n_max], size, seed)
        if inner["all_features"]:
            prog.note(f"every usable feature beat the greedy prefixes in the inner cross-validation: the model "
                      f"uses all {len(names)}")
        d_best = inner["best"]
        prog.note("inner leave-one-configuration-out Pearson r: "
                  + ", ".join(f"d={d}: {m:.3f}" for d, m in zip(inner["d"], inner["mean"]))
                  + f" -> d = {d_best}")
    else:
        prog.stage("learn", f"train {size.model} on configurations {train}, predict {test}")
        inner, d_best = None, n_max
    selected = list(names) if d_best == len(names) else list(sel.order[:d_best])
    idx = [names.index(n) for n in selected]
    Xtr_s = np.vstack([X[c][:, idx] for c in train])
    ytr_all = np.concatenate(ytr)
    gtr = np.concatenate([np.full(len(y[c]), c) for c in train])
    model = PropensityModel(size.model, alpha=size.alpha, random_state=seed).fit(Xtr_s, ytr_all, gtr, feature_names=selected)
    preds = [model.predict(X[c][:, idx], feature_names=selected) for c in range(C)]
    gte = np.concatenate([np.full(len(y[c]), c) for c in test])
    held = evaluate_by_configuration(np.concatenate([y[c] for c in test]),
                                     np.concatenate([preds[c] for c in test]), gte)
    insample = evaluate_by_configuration(ytr_all, np.concatenate([preds[c] for c in train]), gtr)
    # references on the same split: every usable feature; the d best single features of the plane
    full = PropensityModel(size.model, alpha=size.alpha, random_state=seed).fit(
        np.vstack([X[c] for c in train]), ytr_all, gtr, feature_names=names)
    held_full = evaluate_by_configuration(np.concatenate([y[c] for c in test]),
                                          np.concatenate([full.predict(X[c], feature_names=names) for c in test]),
                                          gte)
    hs = held.summary()
    prog.note("held-out Pearson r per configuration: "
              + ", ".join(f"config {int(g)}: {r:.3f}" for g, r in zip(held.groups, held.pearson))
              + f"; mean {hs['pearson']['mean']:.3f} +- {hs['pearson']['std']:.3f} "
                f"(all {len(names)} features: {held_full.summary()['pearson']['mean']:.3f})")
    dparams = dict(tables[0].params)
    for k in ("source", "frame", "timestep"):
        dparams.pop(k, None)
    # the data set's cutoffs (a matrix, with how they were found) are in the params: glassdyn predict and
    # the OVITO prediction modifier recompute the features with the same neighbours
    model_path = save_model(model, output / "model.gdm", descriptor_params=dparams,
                            metrics={"held_out": held.to_dict(), "train_configurations": train,
                                     "test_configurations": test},
                            target=TARGET, extra={"t_star": t_star, "tau_alpha": tau, "demo": params})

    # ------------------------------------------------------------------ 6. write
    prog.stage("write", "annotated dumps, pictures, OVITO example and report")
    from ..adapters.lammps_dump import write_dump
    from ..adapters.replicas import read_reference, reference_path
    dumps = []
    for c in range(C):
        ref = read_reference(reference_path(sim, c, "dump")).sorted_by_id()
        cols = tables[c].feature_columns()
        cols[TARGET] = y[c]
        cols[PREDICTION] = preds[c]
        if props[c].get("bond_breaking") is not None and np.ndim(props[c]["bond_breaking"]) == 2:
            cols["bond_breaking"] = np.asarray(props[c]["bond_breaking"][k_star], float)
        path = ann / f"config_{c:03d}.dump"
        ann.mkdir(parents=True, exist_ok=True)
        write_dump(path, ref.with_properties(**cols))
        dumps.append(path)
    show = test[0]
    pictures, renderer = _pictures(pics, dumps[show], y, preds, props, t_all, fs_mean, tau, t_star, plane, sel,
                                   rnd, test, inner, render, prog)
    script = _write_ovito_script(output, dumps[show], model_path)
    session, session_error = _save_session(output, script)
    prog.done()
    timings = dict(prog.timings)
    timings["total"] = float(sum(timings.values()))
    timings["cpu_seconds"] = _cpu_seconds() - cpu0
    summary = {
        "title": "glassdyn demo: propensity of a 2D Kob-Andersen liquid predicted from structure",
        "parameters": params,
        "seeds": {"base": int(seed), "lammps": load_manifest(sim).get("seeds", {}),
                  "selection": int(seed), "model": int(seed)},
        "versions": _versions(manifest),
        "machine": {"cpu_count": os.cpu_count(), "cores_used": cores or os.cpu_count(),
                    "load_average_at_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None},
        "dynamics": {"q": float(np.mean([p["q"] for p in props])), "tau_alpha": tau, "tau_alpha_per_configuration":
                     tau_per, "t_star": t_star, "t_star_timestep": int(props[0]["timesteps"][k_star]),
                     "times": t_all, "fs_mean": fs_mean,
                     "mean_propensity_at_t_star": [float(np.mean(v)) for v in y],
                     "temperature_measured": [v.get("temperature_average") for v in
                                              manifest.get("results", {}).values() if isinstance(v, dict)
                                              and v.get("temperature_average") is not None]},
        "features": {"all": list(tables[0].names), "dropped": dropped, "used": names, "selected": selected,
                     "greedy_order": sel.order, "n_selected": len(selected),
                     "inner_cv": None if inner is None else {k: v for k, v in inner.items()},
                     "selection_curve": sel.curve, "random_curve": rnd.curve, "random_spread": rnd.spread,
                     "plane_best": [names[k] for k in np.argsort(plane.forward_mean)[:5]],
                     "plane_forward_mean": plane.forward_mean, "plane_backward_mean": plane.backward_mean},
        "train_configurations": train, "test_configurations": test,
        "held_out": {m: {"per_configuration": {f"config_{int(g):03d}": float(v)
                                               for g, v in zip(held.groups, getattr(held, m))},
                         **hs[m]} for m in ("pearson", "spearman", "r2", "mae")},
        "held_out_all_features": held_full.summary(),
        "training_in_sample": insample.summary(),
        "model": {"kind": size.model, "alpha": size.alpha, "features": selected,
                  "coef": model.coef_ if size.model in ("linear", "ridge", "lasso") else None,
                  "intercept": model.intercept_ if size.model in ("linear", "ridge", "lasso") else None},
        "renderer": renderer,
        "ovito_session_error": session_error,
        "files": {"report": str(output / "report.md"), "report_html": str(output / "report.html"),
                  "summary": str(output / SUMMARY_FILE), "annotated": [str(p) for p in dumps],
                  "shown_configuration": show, "model": str(model_path), "pictures": {k: str(v) for k, v in
                                                                                      pictures.items()},
                  "ovito_script": str(script), "ovito_session": None if session is None else str(session),
                  "simulation": str(sim)},
        "timings": timings,
    }
    summary = to_jsonable(summary)
    from .report import write_report
    write_report(output, summary)
    write_text_atomic(output / SUMMARY_FILE, json.dumps(summary, indent=1) + "\n", parents=True)
    return summary


# ============================================================================ pictures
def _pictures(pics: Path, dump: Path, y, preds, props, times, fs_mean, tau, t_star, plane, sel, rnd, test,
              inner, render: bool, prog: _Progress) -> tuple[dict, str]:
    from ..adapters.lammps_dump import read_dump
    from ..plots.dynamics import plot_fs
    from ..plots.imbalance import plot_curve, plot_plane
    from ..plots.learn import parity_plot, plot_learning_curve, propensity_maps

    pics.mkdir(parents=True, exist_ok=True)
    out = {}
    frame = read_dump(dump)
    out["propensity_map_matplotlib"] = propensity_maps(frame, TARGET, PREDICTION,
                                                       pics / "propensity_map_matplotlib.png",
                                                       titles=(f"true propensity, t = {t_star:g}",
                                                               "predicted from structure"))
    renderer = "matplotlib"
    if render:
        try:
            out["propensity_map"] = _ovito_maps(dump, frame, pics)
            renderer = "ovito"
        except Exception as exc:  # noqa: BLE001 - any OVITO/GL failure falls back to matplotlib
            prog.note(f"OVITO rendering unavailable ({type(exc).__name__}: {exc}); using the matplotlib maps")
    if renderer == "matplotlib":
        import shutil
        with atomic_path(pics / "propensity_map.png", suffix=".png") as tmp:
            shutil.copyfile(out["propensity_map_matplotlib"], tmp)
        out["propensity_map"] = pics / "propensity_map.png"
    labels = ["mean over configurations"] + [f"config {c}" for c in range(len(props))]
    curves = np.vstack([fs_mean] + [p["fs"][0] for p in props])
    out["fs"] = plot_fs(times, curves, pics / "fs.png", labels=labels, tau_alpha=tau)
    out["imbalance_plane"] = plot_plane(plane.forward_mean, plane.backward_mean, pics / "imbalance_plane.png",
                                        labels=plane.names, selection=sel,
                                        title="information-imbalance plane (training configurations)")
    out["imbalance_curve"] = plot_curve(sel, pics / "imbalance_curve.png", baselines=[rnd],
                                        title="greedy selection: Delta(X_S -> p) vs number of features")
    yt = np.concatenate([y[c] for c in test])
    yp = np.concatenate([preds[c] for c in test])
    g = np.concatenate([np.full(len(y[c]), c) for c in test])
    out["parity"] = parity_plot(yt, yp, pics / "parity.png", groups=g, label=f"propensity at t = {t_star:g}",
                                title="held-out configurations")
    if inner is not None:
        out["n_features"] = plot_learning_curve(inner["d"], inner["mean"], pics / "n_features.png",
                                                spread=inner["std"], ylabel="Pearson r (inner cross-validation)",
                                                xlabel="number of features d (greedy information-imbalance order)")
    return {k: Path(v) for k, v in out.items()}, renderer


def _ovito_maps(dump: Path, frame, pics: Path) -> Path:
    """Render true and predicted propensity with OVITO and put them side by side (one PNG)."""
    from ..plots.render import render_property, side_by_side_images
    from ..stats import pearson
    lo_hi = {}
    for name in (TARGET, PREDICTION):
        v = np.asarray(frame.properties[name], float)
        lo_hi[name] = tuple(float(x) for x in np.nanpercentile(v, [2, 98]))
    radii = {1: 0.5, 2: 0.44}  # sigma_AA / 2 and sigma_BB / 2 of ka2d
    a = render_property(dump, TARGET, pics / "propensity_true_ovito.png", size=(900, 600), radii=radii,
                        value_range=lo_hi[TARGET], title="p")
    b = render_property(dump, PREDICTION, pics / "propensity_pred_ovito.png", size=(900, 600), radii=radii,
                        value_range=lo_hi[PREDICTION], title="p pred")
    r = pearson(frame.properties[TARGET], frame.properties[PREDICTION])
    return side_by_side_images([a, b], ["true propensity", "predicted from structure"], pics / "propensity_map.png",
                               suptitle=f"held-out configuration {Path(dump).stem}: Pearson r = {r:.3f} "
                                        "(rendered with OVITO)")


# ============================================================================ OVITO example
def _write_ovito_script(output: Path, dump: Path, model: Path) -> Path:
    """``open_in_ovito.py`` next to the results: the shipped template with the dump and model names."""
    from importlib import resources
    text = resources.files("glassdyn.demo").joinpath("templates", "open_in_ovito.py").read_text(encoding="utf-8")
    text = text.replace('"__DUMP__"', repr(os.path.relpath(dump, output)))
    text = text.replace('"__MODEL__"', repr(os.path.relpath(model, output)))
    text = text.replace('"__TARGET__"', repr(TARGET))
    path = output / "open_in_ovito.py"
    write_text_atomic(path, text, parents=True)
    return path


def _save_session(output: Path, script: Path) -> tuple[Path | None, str | None]:
    """Run the OVITO script in a subprocess (a clean scene) to write ``demo_session.ovito``."""
    import subprocess
    try:
        import importlib.util
        if importlib.util.find_spec("ovito") is None:
            return None, "ovito is not installed (pip install ovito)"
    except (ImportError, ValueError):
        return None, "ovito is not installed (pip install ovito)"
    try:
        proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                              cwd=str(output))
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"could not run {script.name}: {exc}"
    session = output / "demo_session.ovito"
    if proc.returncode != 0 or not session.exists():
        tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-3:]
        return None, f"{script.name} failed: {' | '.join(tail)}"
    return session, None
