"""Reproduction study: deep-learning classification of 2D liquids and glasses (Swanson et al.).

"Deep learning for automated classification and characterization of amorphous materials" on the
2D Kob-Andersen mixture (``ka2d``, SCIENCE.md 1a), end to end with glassdyn's own pieces:

1. **cooling ramps** (:func:`glassdyn.lammps.simulate.run_cooling`): linear ramps T = 2.0 -> 0.05
   at a fast and a slow rate, in two series (:func:`simulate`):

   * the *E_IS series*: ``eis_ramps`` ramps per rate whose ``eis_snapshots`` snapshots are all
     minimised (FIRE, force tolerance ``eis_ftol``) to their inherent structures: E_IS(T), Tg per
     rate from the two-line fit (:func:`glassdyn.tg.two_line_fit`) and the temperature at which the
     slow liquid has the mean E_IS of the fast glass (data set 6);
   * the *data series*: ``ramps`` ramps per rate with ``snapshots`` snapshots (the paper's 200)
     that are not minimised (``ftol`` = :data:`~.constants.NO_MINIMISATION_FTOL`): the
     configurations that are classified.

   Why two series: one FIRE inherent structure of N = 4320 particles takes ~18,600 iterations
   (~15 s of one core, :data:`~.constants.FIRE_ITERATIONS_4320`), so 200 of them cost 50 min per
   ramp, more than the slow ramp itself; ``run_cooling`` minimises every snapshot it writes.
   With inherent structures at chosen snapshots only (a ``run_cooling`` option proposed in the
   study README) one series would do both.
2. **data sets** (:func:`dataset_samples`): the paper's six (glasses at T = 0.05 of the slow
   rate vs its liquids at T = 1.99, 1.76, 0.96, 0.55, 0.44; fast-rate glasses vs slow-rate
   liquids at equal mean E_IS) and "R" (glasses of the two rates, not in the paper). Every
   sample is a thermal snapshot, as in the paper. One *group* per data-series start
   configuration: the liquid and the glass of one ramp (and the fast ramp from the same start)
   are always on the same side of a split.
3. **splits** (:func:`glassdyn.classification.nested_splits`): the paper's nested scheme, three
   disjoint outer test sets of 20% of the groups and an 80/10/10 inner split of each outer
   training set, shared by every classifier of a data set.
4. **descriptor models** (:func:`descriptor_classification`): logistic regression (and a random
   forest) on configuration-averaged descriptors, on the Swanson graph metrics in the paper's
   and in the authors' code's construction (:func:`glassdyn.graph.graph_metrics`), on the
   configuration's potential energy alone (a thermal control) and on window-averaged
   descriptors + code graph metrics (random windows of side ``window_side``).
5. **networks** (:func:`deep_classification`, :mod:`glassdyn.deep`): the CNN on rendered images
   of random windows (coloured by type) and the D-MPNN with edge self-attention on k-nearest-
   neighbour graphs of random windows, a small documented hyperparameter search inside every
   outer fold (:func:`candidates`), CPU; folds run in ``cores`` processes, each result cached;
   plus a scan of k = 1..5 on set 1 (the paper's attention model is k = 2).
6. **attention** (:func:`attention_analysis`): the set-1 k = 2 attention model on its test
   configurations: high-attention graph metrics of glasses and liquids (the paper's three
   metrics), per-atom and per-bond attention of whole configurations (dumps + CSV), windows of
   the paper's larger side 0.3.
7. **graph metrics vs T** (:func:`graph_metrics_vs_temperature`) along the slow ramps, with the
   temperature of their slope change.
8. **report** (:func:`glassdyn.studies.deep_classification.report.write_report`).

Every stage caches its result under ``output`` (LAMMPS through the resumable ``run_cooling``,
folds as JSON), so an interrupted run resumes where it stopped; ``output/timings.json`` keeps the
seconds spent per stage.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..._atomic import atomic_path, write_text_atomic
from ..._util import to_jsonable
from ...errors import GlassdynError, InputError
from .constants import (CNN_SECONDS_PER_WINDOW_64PX, DATASETS, FIRE_ITERATION_IN_MD_STEPS, FIRE_ITERATIONS_4320,
                        FIRE_ITERATIONS_EXPONENT, MD_SECONDS_PER_STEP_4320, MODEL, MPNN_SECONDS_PER_WINDOW_4320,
                        NO_MINIMISATION_FTOL, PAPER_SLOW, SET_ORDER, SNAPSHOT_SECONDS_500)

__all__ = ["StudySize", "SIZES", "get_size", "estimate_cost", "describe_cost", "candidates", "simulate", "thermodynamics",
           "lj_shift_energy", "matched_temperature", "deep_summary", "run_task",
           "dataset_samples", "load_samples", "study_splits", "descriptor_features", "descriptor_classification",
           "deep_classification", "attention_analysis", "graph_metrics_vs_temperature", "run_study"]


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
        Particles (ka2d, density 1.2; the paper: 4320, L = 60).
    fast, slow : int
        Ramp durations t_cool in MD steps (the paper: 2e5 and 2e7).
    ramps : int
        Data-series ramps per rate (= configurations per class of every data set).
    snapshots : int
        Data-series snapshots per ramp (not minimised; the paper: 200).
    eis_ramps, eis_snapshots, eis_ftol
        E_IS series: ramps per rate, snapshots per ramp (each minimised), FIRE force tolerance.
    equilibration_steps : int
        NVT steps at T = 2.0 before each ramp.
    window_side : (float, float)
        Side range of the random windows (scaled units; the paper: 0.1-0.3).
    pixels : int
        Side of the CNN's window images.
    hidden, ffn_hidden, steps : int
        D-MPNN hidden size, FFN width and message-passing steps (the paper searched 300-2400 and 2-6).
    cnn_fc : int
        Width of the CNN's dense layer (the paper: 80).
    epochs, batch_size, windows_per_frame, val_windows_per_frame : int
        Training (:class:`glassdyn.deep.TrainConfig`).
    lr : (float, float, float)
        Learning-rate schedule of the D-MPNN (initial, maximum, final; the paper's 1e-4, 1e-3, 1e-4).
    cnn_batch_size, cnn_lr
        Batch size and schedule of the CNN (smaller batches, a higher start: more steps for the
        few images of a small study).
    n_eval_windows : int
        Windows per configuration when a network scores it.
    mpnn_candidates, cnn_candidates : tuple of str
        Names of the hyperparameter candidates searched inside every outer fold (:func:`candidates`).
    deep_sets : tuple of str
        Data sets the networks are trained on.
    kscan : tuple of int
        k of the attention D-MPNN scanned on set 1 (outer folds, no search).
    descriptor_lengths : tuple of float
        Coarse-graining lengths of the descriptors (length units).
    descriptor_models : tuple of str
        Which of :data:`DESCRIPTOR_MODELS` run.
    descriptor_windows : int
        Random windows per configuration for the window-level descriptor model.
    graph_window_side : float
        Window side of the authors' code construction of the graph metrics (0.3).
    graph_windows : int
        Such windows per configuration.
    attention_windows : int
        Windows of side ``graph_window_side`` per test configuration for the attention metrics.
    metric_stride : int
        Every how many data-series snapshots the graph metrics vs T are computed.
    outer_folds, test_fraction : int, float
        The paper's outer scheme (3 x 20%).
    t_start, t_end, dt : float
    """

    name: str
    n: int
    fast: int
    slow: int
    ramps: int
    snapshots: int
    eis_ramps: int
    eis_snapshots: int
    eis_ftol: float = 1e-2
    equilibration_steps: int = 20_000
    window_side: tuple = (0.1, 0.3)
    pixels: int = 64
    hidden: int = 64
    ffn_hidden: int = 32
    steps: int = 3
    cnn_fc: int = 80
    epochs: int = 10
    batch_size: int = 16
    windows_per_frame: int = 24
    val_windows_per_frame: int = 8
    lr: tuple = (1e-4, 1e-3, 1e-4)
    cnn_batch_size: int = 8
    cnn_lr: tuple = (3e-4, 1e-3, 3e-4)
    n_eval_windows: int = 20
    mpnn_candidates: tuple = ("k2", "k4")
    cnn_candidates: tuple = ("dropout0", "dropout0.3")
    deep_sets: tuple = SET_ORDER
    kscan: tuple = (1, 2, 3, 4, 5)
    descriptor_lengths: tuple = (0.5, 2.0)
    descriptor_models: tuple = ("descriptors", "descriptors_forest", "graph_text", "graph_code", "energy", "windows")
    descriptor_windows: int = 20
    graph_window_side: float = 0.3
    graph_windows: int = 10
    attention_windows: int = 20
    metric_stride: int = 1
    outer_folds: int = 3
    test_fraction: float = 0.2
    t_start: float = 2.0
    t_end: float = 0.05
    dt: float = 0.005


SIZES: dict[str, StudySize] = {
    # ~2.3 h on 2 idle cores (estimate_cost): N = 4320 as the paper, slow rate 2e6 (the paper's 2e7 is
    # 2.8 h per ramp per core: --slow 2e7), 8 data ramps + 2 E_IS ramps per rate
    "full": StudySize(name="full", n=4320, fast=200_000, slow=2_000_000, ramps=8, snapshots=200, eis_ramps=2,
                      eis_snapshots=36),
    # the CI test: ~3 min on 2 cores. N = 500, ramps of 1e4 and 1e5 steps, tiny networks
    "reduced": StudySize(name="reduced", n=500, fast=10_000, slow=100_000, ramps=8, snapshots=40, eis_ramps=2,
                         eis_snapshots=10, equilibration_steps=2_000, window_side=(0.3, 0.5), pixels=32, hidden=32,
                         ffn_hidden=16, steps=3, cnn_fc=16, epochs=6, batch_size=16, windows_per_frame=12,
                         val_windows_per_frame=6, n_eval_windows=8, mpnn_candidates=("k2", "k4"),
                         cnn_candidates=("dropout0",), deep_sets=("1", "6"), kscan=(), descriptor_windows=8,
                         descriptor_models=("descriptors", "graph_text", "graph_code", "energy", "windows"),
                         graph_window_side=0.4, graph_windows=4, attention_windows=6, metric_stride=2),
}


def get_size(size: str | StudySize) -> StudySize:
    """A :class:`StudySize` by name (``full``, ``reduced``) or as given."""
    if isinstance(size, StudySize):
        return size
    if size not in SIZES:
        raise InputError(f"unknown study size '{size}'; choose one of {', '.join(SIZES)}")
    return SIZES[size]


#: simulation parameters (a work folder holding other values is refused)
SIM_FIELDS = ("n", "fast", "slow", "ramps", "snapshots", "eis_ramps", "eis_snapshots", "eis_ftol",
              "equilibration_steps", "t_start", "t_end", "dt")


# ----------------------------------------------------------------------------------------------------
# cost
# ----------------------------------------------------------------------------------------------------
def _n_trainings(size: StudySize) -> dict:
    def per_fold(c):
        return len(c) + 1 if len(c) > 1 else 1
    sets = len(size.deep_sets)
    return {"cnn": sets * size.outer_folds * per_fold(size.cnn_candidates),
            "mpnn": sets * size.outer_folds * per_fold(size.mpnn_candidates) + len(size.kscan) * size.outer_folds}


def estimate_cost(size: str | StudySize, cores: int = 2) -> dict:
    """Cost of a study run on an idle machine, from measured speeds (:mod:`.constants`).

    Per ramp and core: MD ``t_cool x 0.498 ms x N/4320`` (README: 8.3 min per 1e6 steps at
    N = 4320); an inherent structure ``18,600 (N/4320)^0.81`` FIRE iterations of 1.6 MD steps each;
    a snapshot without minimisation 25 ms x N/500. Training: windows per epoch x epochs x the
    measured seconds per window (D-MPNN 8 ms, CNN 3.5 ms at N = 4320 and 64 px), for every
    candidate and final model of every fold (:func:`candidates`).

    Returns
    -------
    dict
        Seconds per item (``md_fast``, ``md_slow``, ``is_per_snapshot``, ``ramp_*``), core-seconds of
        the two series and of training, and ``wall_hours`` on ``cores`` cores.
    """
    s = get_size(size)
    scale = s.n / 4320
    md = MD_SECONDS_PER_STEP_4320 * scale
    it = FIRE_ITERATIONS_4320 * scale ** FIRE_ITERATIONS_EXPONENT
    is_snap = it * FIRE_ITERATION_IN_MD_STEPS * md
    snap = SNAPSHOT_SECONDS_500 * s.n / 500
    equil = s.equilibration_steps * md + 3000 * FIRE_ITERATION_IN_MD_STEPS * md
    ramp = {"data_fast": s.fast * md + s.snapshots * snap, "data_slow": s.slow * md + s.snapshots * snap,
            "eis_fast": s.fast * md + s.eis_snapshots * is_snap, "eis_slow": s.slow * md + s.eis_snapshots * is_snap}
    data = s.ramps * (ramp["data_fast"] + ramp["data_slow"] + equil)
    eis = s.eis_ramps * (ramp["eis_fast"] + ramp["eis_slow"] + equil)
    n_train = _n_trainings(s)
    # configurations per training: inner train (+ inner test for the final model) of a fold
    per_class_train = s.ramps * (1 - s.test_fraction) * 0.9
    windows = 2 * per_class_train * s.windows_per_frame * s.epochs
    side = float(np.mean(s.window_side))
    t_mpnn = MPNN_SECONDS_PER_WINDOW_4320 * (s.n * side ** 2) / (4320 * 0.04)
    t_cnn = CNN_SECONDS_PER_WINDOW_64PX * (s.pixels / 64) ** 2
    train = n_train["mpnn"] * windows * t_mpnn + n_train["cnn"] * windows * t_cnn
    slow_wall = max(ramp["data_slow"], ramp["eis_slow"])
    sim_wall = max((data + eis) / cores, slow_wall)
    total = sim_wall + train / cores
    return {"md_seconds_per_step": md, "fire_iterations": it, "is_per_snapshot": is_snap,
            "snapshot_overhead": snap, "equilibration": equil, "ramp": ramp,
            "data_core_seconds": data, "eis_core_seconds": eis, "trainings": n_train,
            "train_core_seconds": train, "simulation_wall_seconds": sim_wall, "cores": cores,
            "wall_seconds": total, "wall_hours": total / 3600,
            "paper_slow_ramp_hours": PAPER_SLOW * md / 3600}


def describe_cost(size: str | StudySize, cores: int = 2) -> str:
    """One paragraph: the cost estimate of :func:`estimate_cost` in words."""
    s = get_size(size)
    c = estimate_cost(s, cores)
    r = c["ramp"]

    def t(sec):
        return f"{sec / 3600:.1f} h" if sec >= 5400 else (f"{sec / 60:.1f} min" if sec >= 90 else f"{sec:.0f} s")
    return (f"size {s.name}, N = {s.n}: data series {s.ramps} ramps per rate ({s.snapshots} snapshots, not minimised), "
            f"{t(r['data_fast'])} per fast ramp (t_cool {s.fast:.0e}) and {t(r['data_slow'])} per slow one "
            f"({s.slow:.0e}); E_IS series {s.eis_ramps} ramps per rate with {s.eis_snapshots} FIRE inherent "
            f"structures each ({c['is_per_snapshot']:.1f} s, {c['fire_iterations']:.0f} iterations per minimisation), "
            f"{t(r['eis_fast'])} and {t(r['eis_slow'])} per ramp; simulation {t(c['data_core_seconds'])} + "
            f"{t(c['eis_core_seconds'])} of one core; training {c['trainings']['cnn']} CNN + {c['trainings']['mpnn']} "
            f"D-MPNN fits, {t(c['train_core_seconds'])} of one core. About {t(c['wall_seconds'])} on {cores} idle "
            f"cores (one ramp of the paper's slow rate, 2e7, alone takes {t(c['paper_slow_ramp_hours'] * 3600)} "
            f"of one core at this N).")


# ----------------------------------------------------------------------------------------------------
# hyperparameter candidates
# ----------------------------------------------------------------------------------------------------
def candidates(size: StudySize, kind: str, names: Sequence[str] | None = None) -> list:
    """The hyperparameter candidates searched inside every outer fold (few, documented).

    D-MPNN (edge self-attention after the first ``steps - 1`` message-passing steps, mean readout
    as the authors' code, hidden ``size.hidden``, dropout 0.1, two FFN layers):

    * ``k2``: k = 2 nearest neighbours, the paper's optimum for its attention model;
    * ``k4``: k = 4, a denser graph (each message sees twice as many neighbours), the other end of
      what a few candidates can cover of the paper's k = 1..5;
    * ``k<k>``: any k (the k scan).

    CNN (two 5x5 conv layers with 6 and 16 kernels + 2x2 max pooling, dense ``size.cnn_fc``, on
    ``size.pixels`` images of the windows; the paper searched only dropout and batch size):

    * ``dropout0``: no dropout;
    * ``dropout0.3``: dropout 0.3 on the dense layer, the middle of the paper's 0-0.5 range.

    Hidden sizes, FFN depth, the learning-rate schedule and the batch size are fixed: the search
    has 2 candidates (not the paper's 15 TPE iterations) so that one study fits the CPU budget.
    Two input normalisations keep the information but make these small networks learn from few
    configurations (measured on the reduced study's set 6: D-MPNN window AUC 0.72 -> 1.00):
    edge feature ``(r - 1) / 0.1`` instead of ``r``, images ``2 x - 1`` instead of ``x``. The epoch
    kept is the one with the best validation AUC over *windows* (a handful of validation
    configurations give an AUC of 0, 0.5 or 1).
    """
    from ...deep import Candidate
    train = {"epochs": size.epochs, "batch_size": size.batch_size, "windows_per_frame": size.windows_per_frame,
             "val_windows_per_frame": size.val_windows_per_frame, "lr_init": size.lr[0], "lr_max": size.lr[1],
             "lr_final": size.lr[2], "select": "window_auc"}
    cnn_train = dict(train, batch_size=size.cnn_batch_size, lr_init=size.cnn_lr[0], lr_max=size.cnn_lr[1],
                     lr_final=size.cnn_lr[2])
    side = list(size.window_side)
    out = []
    if kind == "mpnn":
        names = list(names or size.mpnn_candidates)
        for name in names:
            if not name.startswith("k"):
                raise InputError(f"unknown D-MPNN candidate {name!r} (k2, k4, ...)")
            k = int(name[1:])
            why = {2: "the paper's optimum for the attention model (k = 2)",
                   4: "a denser graph: twice the neighbours per message"}.get(k, f"k scan: k = {k}")
            out.append(Candidate(name, "mpnn", {"hidden": size.hidden, "steps": size.steps, "dropout": 0.1,
                                                "ffn_layers": 2, "ffn_hidden": size.ffn_hidden, "attention": True,
                                                "attention_steps": max(size.steps - 1, 1), "readout": "mean"},
                                 {"k": k, "side": side, "n_types": 2, "distance_offset": 1.0,
                                  "distance_scale": 0.1}, train, why))
    elif kind == "cnn":
        names = list(names or size.cnn_candidates)
        for name in names:
            if not name.startswith("dropout"):
                raise InputError(f"unknown CNN candidate {name!r} (dropout0, dropout0.3)")
            p = float(name[len("dropout"):])
            why = "no dropout" if p == 0 else f"dropout {p} on the dense layer (the paper searched 0-0.5)"
            out.append(Candidate(name, "cnn", {"fc": size.cnn_fc, "dropout": p},
                                 {"pixels": size.pixels, "side": side, "augment": True, "center": True}, cnn_train,
                                 why))
    else:
        raise InputError(f"unknown architecture {kind!r}")
    return out


# ----------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------
def _write_json(path: Path, data) -> None:
    write_text_atomic(path, json.dumps(to_jsonable(data), indent=1), parents=True)


def _read_json(path: Path):
    return json.loads(Path(path).read_text())


def _nan(x) -> float:
    return float("nan") if x is None else float(x)


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
        print(f"[swanson {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _series_dir(output: Path, series: str) -> Path:
    return Path(output) / f"cooling_{series}"


def _ramp_dir(output: Path, series: str, config: int, tcool: int) -> Path:
    return _series_dir(output, series) / f"config_{config:03d}" / f"tcool_{tcool}"


def _rates(size: StudySize) -> dict:
    return {"fast": int(size.fast), "slow": int(size.slow)}


# ----------------------------------------------------------------------------------------------------
# 1. simulations
# ----------------------------------------------------------------------------------------------------
def simulate(output, size: StudySize, *, seed: int = 1, cores: int | None = None, verbose: bool = True,
             timer: _Timer | None = None) -> dict:
    """Both cooling series with :func:`glassdyn.lammps.simulate.run_cooling` (resumable).

    The data series (``output/cooling_data``) runs first: many jobs pack the cores well; then the
    E_IS series (``output/cooling_eis``). Returns both manifests.
    """
    from ...lammps.simulate import run_cooling
    output = Path(output)
    rates = [size.fast, size.slow]
    common = dict(model=MODEL, n=size.n, rates=rates, t_start=size.t_start, t_end=size.t_end,
                  equilibration_steps=size.equilibration_steps, dt=size.dt, cores=cores, progress=verbose)
    out = {}
    for series, kw in (("data", dict(configurations=size.ramps, snapshots=size.snapshots,
                                     ftol=NO_MINIMISATION_FTOL, seed=seed + 100)),
                       ("eis", dict(configurations=size.eis_ramps, snapshots=size.eis_snapshots,
                                    ftol=size.eis_ftol, seed=seed + 200))):
        done = all((_ramp_dir(output, series, c, t) / "eis.txt").exists()
                   for c in range(kw["configurations"]) for t in rates)
        t0 = time.time()
        if not done:
            _log(f"{series} series: {kw['configurations']} ramps per rate (t_cool {size.fast} and {size.slow}), "
                 f"N = {size.n}, {kw['snapshots']} snapshots" + (" (minimised)" if series == "eis" else ""), verbose)
        out[series] = run_cooling(_series_dir(output, series), **common, **kw)
        if timer is not None and not done:
            timer.record(f"simulation_{series}", time.time() - t0)
    return out


def _eis_table(path: Path) -> np.ndarray:
    """Columns index step T_set T_kin E_pot E_IS of an ``eis.txt``."""
    return np.loadtxt(path, comments="#", ndmin=2)


def _smooth3(y: np.ndarray) -> np.ndarray:
    if len(y) < 3:
        return y.copy()
    out = y.copy()
    out[1:-1] = (y[:-2] + y[1:-1] + y[2:]) / 3.0
    return out


def matched_temperature(temperatures, energies, target: float) -> float:
    """Highest temperature at which a (3-point smoothed) E(T) curve falls to ``target``, by linear
    interpolation; NaN when it never does."""
    t = np.asarray(temperatures, float)
    order = np.argsort(-t)
    t = t[order]
    e = _smooth3(np.asarray(energies, float)[order])
    below = np.flatnonzero(e <= target)
    if below.size == 0:
        return float("nan")
    k = int(below[0])
    if k == 0:
        return float(t[0])
    t0, t1, e0, e1 = t[k - 1], t[k], e[k - 1], e[k]
    return float(t0 + (target - e0) * (t1 - t0) / (e1 - e0)) if e1 != e0 else float(t1)


def lj_shift_energy(frame) -> float:
    """Per-particle energy of the cutoff shift of the truncated-and-shifted Lennard-Jones potential:
    ``1/(2N) sum_{i != j, r_ij < r_c} V_ab(r_c,ab)`` (negative). Adding it to an energy of the shifted
    potential (glassdyn's ``ka2d``, SCIENCE.md 1a) gives the energy of the same configuration with the
    plain truncated ``lj/cut`` without ``pair_modify shift`` (the convention the published E_IS follow:
    at T = 2 the corrected E_IS lands on the paper's liquid value; forces are the same)."""
    from ...neighbors import neighbor_list
    from ...potentials import get_potential
    pot = get_potential(MODEL)
    rc = pot.cutoff_matrix()
    nl = neighbor_list(frame, pot.max_cutoff)
    ti, tj = frame.types[nl.i] - 1, frame.types[nl.j] - 1
    r_c = rc[ti, tj]
    inside = nl.distances < r_c
    eps, sig, r_c = pot.epsilon[ti, tj][inside], pot.sigma[ti, tj][inside], r_c[inside]
    v_rc = 4.0 * eps * ((sig / r_c) ** 12 - (sig / r_c) ** 6)
    return float(v_rc.sum() / (2.0 * frame.n_atoms))


def _shift_series(output: Path, size: StudySize, tc: int) -> np.ndarray:
    """:func:`lj_shift_energy` of every inherent structure of the E_IS ramps of one rate, (R, S);
    cached in ``output/eis_shift/``."""
    from ...adapters.lammps_dump import iter_dump
    out = []
    for c in range(size.eis_ramps):
        d = _ramp_dir(output, "eis", c, tc)
        cache = Path(output) / "eis_shift" / f"config_{c:03d}_tcool_{tc}.txt"
        if cache.exists():
            out.append(np.loadtxt(cache, ndmin=1))
            continue
        vals = np.array([lj_shift_energy(f) for f in iter_dump(d / "inherent.lammpstrj", dimension=2)])
        write_text_atomic(cache, "\n".join(f"{v:.12g}" for v in vals) + "\n", parents=True)
        out.append(vals)
    return np.array(out)


def thermodynamics(output, size: StudySize) -> dict:
    """E_IS(T) and Tg per rate (E_IS series), the data-series temperature grid and set 6's temperature.

    Returns
    -------
    dict
        ``eis``: per rate ``T`` (grid, descending), ``per_ramp`` (R, S) E_IS, ``mean``, ``std``,
        ``epot_mean``, ``fit`` (two-line fit of the mean curve), ``tg_per_ramp``, ``glass`` (mean and
        sd of E_IS at T_end); ``liquid_eis``: slow-rate E_IS interpolated at the paper's liquid
        temperatures; ``set6``: ``target`` (fast glass E_IS), ``T_match`` (interpolated),
        ``index``/``T`` (nearest data-series snapshot) and ``eis_at_T`` (slow E_IS there);
        ``data``: per rate the data grid ``T`` and the mean thermal ``epot``; ``indices``:
        data-series snapshot index of every data-set temperature.
    """
    from ...tg import two_line_fit
    out: dict[str, Any] = {"eis": {}, "data": {}}
    for rate, tc in _rates(size).items():
        tabs = [_eis_table(_ramp_dir(output, "eis", c, tc) / "eis.txt") for c in range(size.eis_ramps)]
        T = tabs[0][:, 2]
        E = np.array([t[:, 5] for t in tabs])
        P = np.array([t[:, 4] for t in tabs])
        mean = E.mean(0)
        fit = two_line_fit(T, mean)
        per = []
        for e in E:
            try:
                per.append(two_line_fit(T, e)["tg"])
            except InputError:
                per.append(float("nan"))
        k_end = int(np.argmin(T))
        shift = _shift_series(Path(output), size, tc)
        U = E + shift
        out["eis"][rate] = {"T": T, "per_ramp": E, "mean": mean, "std": E.std(0, ddof=1) if len(E) > 1 else 0 * mean,
                            "epot_mean": P.mean(0), "fit": fit, "tg_per_ramp": per,
                            "glass": {"mean": float(E[:, k_end].mean()),
                                      "sd": float(E[:, k_end].std(ddof=1)) if len(E) > 1 else float("nan")},
                            "shift_mean": shift.mean(0), "unshifted_mean": U.mean(0),
                            "glass_unshifted": float(U[:, k_end].mean())}
        dtabs = [_eis_table(_ramp_dir(output, "data", c, tc) / "eis.txt") for c in range(size.ramps)]
        out["data"][rate] = {"T": dtabs[0][:, 2], "epot": np.mean([t[:, 4] for t in dtabs], axis=0),
                             "epot_per_ramp": np.array([t[:, 4] for t in dtabs])}
    slow = out["eis"]["slow"]
    order = np.argsort(slow["T"])
    out["liquid_eis"] = {str(T): float(np.interp(T, slow["T"][order], slow["mean"][order]))
                         for T in (1.99, 1.76, 0.96, 0.55, 0.44)}
    out["liquid_eis_unshifted"] = {str(T): float(np.interp(T, slow["T"][order], slow["unshifted_mean"][order]))
                                   for T in (1.99, 1.76, 0.96, 0.55, 0.44)}
    target = out["eis"]["fast"]["glass"]["mean"]
    t_match = matched_temperature(slow["T"], slow["mean"], target)
    grid = out["data"]["slow"]["T"]
    if not math.isfinite(t_match):
        raise GlassdynError("the slow-rate E_IS(T) never reaches the fast glass's mean E_IS: data set 6 cannot be "
                            "built (is the slow rate slower than the fast one?)")
    k6 = int(np.argmin(np.abs(grid - t_match)))
    out["set6"] = {"target": target, "T_match": t_match, "index": k6, "T": float(grid[k6]),
                   "target_unshifted": out["eis"]["fast"]["glass_unshifted"],
                   "eis_at_T": float(np.interp(grid[k6], slow["T"][order], slow["mean"][order]))}
    idx = {}
    for s, d in DATASETS.items():
        if d["liquid_T"] is not None:
            k = int(np.argmin(np.abs(grid - d["liquid_T"])))
            idx[s] = {"index": k, "T": float(grid[k])}
    idx["6"] = {"index": k6, "T": float(grid[k6])}
    out["indices"] = idx
    out["glass_index"] = {r: int(np.argmin(out["data"][r]["T"])) for r in ("fast", "slow")}
    return out


# ----------------------------------------------------------------------------------------------------
# 2. data sets
# ----------------------------------------------------------------------------------------------------
def dataset_samples(thermo: dict, size: StudySize, sets: Sequence[str] = SET_ORDER) -> dict:
    """Per data set the list of samples: ``rate``, ``config`` (data-series ramp = group),
    ``index`` (snapshot), ``T`` (set temperature of the snapshot) and ``label`` (1 glass / slow glass)."""
    out = {}
    gi = thermo["glass_index"]
    for s in sets:
        d = DATASETS[s]
        rows = []
        for c in range(size.ramps):
            if s == "R":
                rows.append({"rate": "fast", "config": c, "index": gi["fast"], "label": 0})
                rows.append({"rate": "slow", "config": c, "index": gi["slow"], "label": 1})
                continue
            rows.append({"rate": d["liquid_rate"], "config": c, "index": thermo["indices"][s]["index"], "label": 0})
            rows.append({"rate": d["glass_rate"], "config": c, "index": gi[d["glass_rate"]], "label": 1})
        for r in rows:
            r["T"] = float(thermo["data"][r["rate"]]["T"][r["index"]])
        out[s] = rows
    return out


def _key(sample: dict) -> tuple:
    return (sample["rate"], int(sample["config"]), int(sample["index"]))


def load_samples(output, size: StudySize, samples: dict) -> dict:
    """Frames of every sample, keyed ``(rate, config, index)`` (each snapshot read once, atoms by id)."""
    from ...adapters.lammps_dump import iter_dump
    want: dict[tuple, set] = {}
    for rows in samples.values():
        for r in rows:
            want.setdefault((r["rate"], r["config"]), set()).add(int(r["index"]))
    rates = _rates(size)
    frames = {}
    for (rate, c), idx in sorted(want.items()):
        path = _ramp_dir(output, "data", c, rates[rate]) / "snapshots.lammpstrj"
        order = sorted(idx)
        for k, f in zip(order, iter_dump(path, order, dimension=2)):
            frames[(rate, c, k)] = f.sorted_by_id()
    return frames


def study_splits(samples: dict, size: StudySize, seed: int) -> dict:
    """The nested splits of every data set (groups = data-series ramps), as index lists."""
    from ...classification import nested_splits
    out = {}
    for s, rows in samples.items():
        y = np.array([r["label"] for r in rows])
        g = np.array([r["config"] for r in rows])
        sp = nested_splits(y, g, n_outer=size.outer_folds, test_fraction=size.test_fraction, seed=seed)
        out[s] = [{k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in f.items()} for f in sp]
    return out


# ----------------------------------------------------------------------------------------------------
# 3. descriptor models
# ----------------------------------------------------------------------------------------------------
DESCRIPTORS = ("e", "psi6", "Theta", "z", "rho", "phi")
#: bumped when the descriptor stage computes something new (invalidates its cache)
DESCRIPTOR_VERSION = 2


def _graph_counts(gm) -> np.ndarray:
    n = gm.n_members
    return np.array([gm.n_components, gm.n_bb_edges, gm.n_isolated_a]) / max(n, 1)


GRAPH_NAMES = ("components_per_particle", "bb_edges_per_particle", "isolated_a_per_particle")


def descriptor_features(output, size: StudySize, frames: dict, *, seed: int = 1, verbose: bool = True) -> dict:
    """Per configuration: descriptor means/stds, graph metrics (text: whole configuration; code:
    mean over ``graph_windows`` windows of side ``graph_window_side``), and per window
    (``descriptor_windows`` random windows of side ``window_side``): window-averaged descriptors
    + code graph metrics. Cached in ``output/descriptors.npz``."""
    from ...classification import configuration_features, window_features
    from ...descriptors import compute_features
    from ...graph import graph_metrics
    from ...structure import dataset_cutoffs
    from ...windows import random_windows
    path = Path(output) / "descriptors.npz"
    keys = sorted(frames)
    key_text = json.dumps([list(k) for k in keys])
    definition = json.dumps({"version": DESCRIPTOR_VERSION, "descriptors": DESCRIPTORS,
                             "lengths": list(size.descriptor_lengths), "windows": size.descriptor_windows,
                             "side": list(size.window_side), "graph_side": size.graph_window_side,
                             "graph_windows": size.graph_windows, "seed": seed})
    if path.exists():
        z = np.load(path, allow_pickle=False)
        if str(z["keys"]) == key_text and str(z["definition"]) == definition:
            return {"keys": [tuple(k) for k in json.loads(str(z["keys"]))], "conf": z["conf"],
                    "conf_names": [str(s) for s in z["conf_names"]], "win": z["win"],
                    "win_names": [str(s) for s in z["win_names"]], "win_owner": z["win_owner"]}
    _log(f"descriptors and graph metrics of {len(keys)} configurations", verbose)
    cut, info = dataset_cutoffs([frames[k] for k in keys], MODEL)
    conf, wins, owner = [], [], []
    conf_names = win_names = None
    for i, k in enumerate(keys):
        f = frames[k]
        tab = compute_features(f, potential=MODEL, descriptors=DESCRIPTORS, lengths=size.descriptor_lengths,
                               cutoffs=cut, cutoff_info=info)
        text = _graph_counts(graph_metrics(f, construction="text"))
        rng = np.random.default_rng([seed, i, 5])
        gw = random_windows(f, size.graph_windows, size.graph_window_side, seed=rng)
        code = np.mean([_graph_counts(graph_metrics(f, construction="code", window=w)) for w in gw], axis=0)
        extra = {f"text_{n}": v for n, v in zip(GRAPH_NAMES, text)}
        extra.update({f"code_{n}": v for n, v in zip(GRAPH_NAMES, code)})
        d = configuration_features(tab, extra=extra)
        conf_names = list(d)
        conf.append([d[n] for n in conf_names])
        ww = random_windows(f, size.descriptor_windows, size.window_side, seed=rng)
        wv, wn = window_features(tab, ww)
        wg = np.array([_graph_counts(graph_metrics(f, construction="code", window=w)) for w in ww])
        wins.append(np.hstack([wv, wg]))
        win_names = wn + [f"code_{n}" for n in GRAPH_NAMES]
        owner += [i] * len(ww)
    out = {"keys": keys, "conf": np.array(conf), "conf_names": conf_names, "win": np.vstack(wins),
           "win_names": win_names, "win_owner": np.array(owner, dtype=np.int64)}
    with atomic_path(path, suffix=".npz", parents=True) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, keys=np.array(key_text), definition=np.array(definition), conf=out["conf"],
                 conf_names=np.array(conf_names), win=out["win"], win_names=np.array(win_names),
                 win_owner=out["win_owner"])
    return out


#: grids of the inner search of the descriptor models (the forest's is small: 200-tree forests in a
#: 7 x 3-fold study are the slowest descriptor fits)
DESCRIPTOR_GRIDS = {"logistic": {"clf__C": [0.01, 0.1, 1.0, 10.0, 100.0]},
                    "forest": {"clf__n_estimators": [100], "clf__max_depth": [3, None]}}
#: the descriptor models: name -> (feature selector, classifier, level)
DESCRIPTOR_MODELS = {
    "descriptors": ("descriptor", "logistic", "configuration"),
    "descriptors_forest": ("descriptor", "forest", "configuration"),
    "graph_text": ("text", "logistic", "configuration"),
    "graph_code": ("code", "logistic", "configuration"),
    "energy": ("energy", "logistic", "configuration"),
    "windows": ("window", "logistic", "window"),
}
MODEL_TITLES = {
    "descriptors": "logistic: descriptor means/stds", "descriptors_forest": "forest: descriptor means/stds",
    "graph_text": "logistic: graph metrics (paper's text)", "graph_code": "logistic: graph metrics (authors' code)",
    "energy": "logistic: potential energy alone", "windows": "logistic: window descriptors + code graph",
    "cnn": "CNN (window images)", "mpnn": "D-MPNN + attention (kNN graphs)",
}


def _auc(y, s) -> float:
    from sklearn.metrics import roc_auc_score
    y = np.asarray(y)
    if len(set(y.tolist())) < 2:
        return float("nan")
    return float(roc_auc_score(y, s))


def descriptor_classification(feats: dict, samples: dict, splits: dict, *, seed: int = 1,
                              models: Sequence[str] | None = None) -> dict:
    """ROC AUC of every descriptor model (:data:`DESCRIPTOR_MODELS`) on every data set, on the
    study's nested splits (:func:`glassdyn.classification.classify_configurations` with ``splits``).

    Returns
    -------
    dict
        ``{set: {model: {"auc": per outer fold, "auc_mean", "auc_std", "scores": out-of-fold
        configuration scores (NaN never tested), "best_params", "features"}}}``.
    """
    from ...classification import classify_configurations, mean_by_owner
    keys = [tuple(k) for k in feats["keys"]]
    row_of = {k: i for i, k in enumerate(keys)}
    cn = feats["conf_names"]
    cols = {"descriptor": [i for i, n in enumerate(cn) if not n.startswith(("text_", "code_"))],
            "text": [i for i, n in enumerate(cn) if n.startswith("text_")],
            "code": [i for i, n in enumerate(cn) if n.startswith("code_")],
            "energy": [cn.index("e_L0.5_mean")]}
    out = {}
    for s, rows in samples.items():
        y = np.array([r["label"] for r in rows])
        idx = np.array([row_of[_key(r)] for r in rows])
        res_s = {}
        for name, (sel, model, level) in DESCRIPTOR_MODELS.items():
            if models is not None and name not in models:
                continue
            if level == "configuration":
                X = feats["conf"][idx][:, cols[sel]]
                names = [cn[i] for i in cols[sel]]
                res = classify_configurations(X, y, feature_names=names, model=model, splits=splits[s], seed=seed,
                                              param_grid=DESCRIPTOR_GRIDS[model])
                scores = res.scores
                best = res.best_params
            else:
                owner_all = feats["win_owner"]
                w_rows, w_owner = [], []
                for j, i in enumerate(idx):
                    r = np.flatnonzero(owner_all == i)
                    w_rows.append(r)
                    w_owner.append(np.full(len(r), j))
                w_rows, w_owner = np.concatenate(w_rows), np.concatenate(w_owner)
                Xw, yw = feats["win"][w_rows], y[w_owner]
                wsplits = []
                for sp in splits[s]:
                    m = {k: np.flatnonzero(np.isin(w_owner, np.asarray(v))) for k, v in sp.items() if k != "fold"}
                    wsplits.append(m)
                res = classify_configurations(Xw, yw, feature_names=feats["win_names"], model=model, splits=wsplits,
                                              seed=seed, param_grid=DESCRIPTOR_GRIDS[model])
                scores = mean_by_owner(np.nan_to_num(res.scores, nan=0.0), w_owner, len(y))
                tested = np.zeros(len(y), bool)
                for sp in splits[s]:
                    tested[np.asarray(sp["test"])] = True
                scores[~tested] = np.nan
                best = res.best_params
                names = feats["win_names"]
            aucs = [_auc(y[np.asarray(sp["test"])], scores[np.asarray(sp["test"])]) for sp in splits[s]]
            res_s[name] = {"auc": aucs, "auc_mean": float(np.nanmean(aucs)),
                           "auc_std": float(np.nanstd(aucs, ddof=1)) if len(aucs) > 1 else 0.0,
                           "scores": scores, "best_params": best, "features": names, "level": level,
                           "classifier": model}
            if level == "window":
                res_s[name]["auc_window"] = [float(a) for a in res.auc]
        out[s] = res_s
    return out


# ----------------------------------------------------------------------------------------------------
# 4. networks
# ----------------------------------------------------------------------------------------------------
def _frames_of(refs: Sequence[dict]) -> list:
    """Frames (atoms sorted by id) of ``[{"path", "index"}, ...]``, each file read once."""
    from ...adapters.lammps_dump import iter_dump
    by_path: dict[str, list] = {}
    for k, r in enumerate(refs):
        by_path.setdefault(r["path"], []).append((int(r["index"]), k))
    out = [None] * len(refs)
    for path, items in by_path.items():
        idx = sorted({i for i, _ in items})
        got = {i: f.sorted_by_id() for i, f in zip(idx, iter_dump(path, idx, dimension=2))}
        for i, k in items:
            out[k] = got[i]
    return out


def run_task(task_path) -> dict:
    """Run one fold task written by :func:`deep_classification` (a JSON file: frame references, labels,
    split, candidates, seeds, output paths) and write its result JSON; returns the result. This is what
    ``python -m glassdyn.studies.deep_classification.worker TASK.json`` runs in a worker process."""
    import torch
    from ...deep import Candidate, evaluate_fold
    task = _read_json(task_path)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    frames = _frames_of(task["frames"])
    res = evaluate_fold(frames, np.asarray(task["labels"]), task["split"],
                        [Candidate.from_dict(c) for c in task["candidates"]], seed=task["seed"],
                        n_eval_windows=task["n_eval_windows"], threads=1, model_path=task.get("model_path"),
                        model_extra=task.get("model_extra"))
    res["task"] = {k: task[k] for k in ("set", "model", "fold")}
    res["wall_seconds"] = time.perf_counter() - t0
    _write_json(Path(task["out"]), res)
    return res


def _task_path(output: Path, s: str, model: str, fold: int) -> Path:
    return Path(output) / "deep" / f"set_{s}" / model / f"fold{fold}.json"


def _task_cost(task_file) -> float:
    """Relative cost of a fold task (number of trainings x cost per training window) for load balancing."""
    t = _read_json(task_file)
    n_fits = len(t["candidates"]) + 1 if len(t["candidates"]) > 1 else 1
    return n_fits * (2.0 if t["model"].startswith("mpnn") else 1.0)


def _run_workers(task_files: list, workers: int, verbose: bool) -> None:
    """Run the task files in ``workers`` concurrent ``python -m ...worker`` processes, each taking a
    balanced share of the tasks (plain subprocesses, not multiprocessing: the calling script needs
    no ``__main__`` guard, and torch is imported once per worker)."""
    import subprocess
    import sys
    order = sorted(task_files, key=_task_cost, reverse=True)
    shares: list[list] = [[] for _ in range(workers)]
    load = [0.0] * workers
    for tf in order:                                  # greedy: the next task to the least loaded worker
        k = int(np.argmin(load))
        shares[k].append(tf)
        load[k] += _task_cost(tf)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    procs = []
    logs = []
    outs = {str(_read_json(tf)["out"]): tf for tf in task_files}
    seen: set = set()
    try:
        for k, share in enumerate(shares):
            if not share:
                continue
            log_path = Path(share[0]).parent.parent.parent / f"worker_{k}.log"
            log = open(log_path, "a")
            logs.append((log, log_path))
            procs.append(subprocess.Popen([sys.executable, "-m", "glassdyn.studies.deep_classification.worker",
                                           *map(str, share)], stdout=log, stderr=subprocess.STDOUT, env=env))
        while True:
            for out, tf in outs.items():
                if out not in seen and Path(out).exists():
                    seen.add(out)
                    task = _read_json(tf)
                    r = _read_json(out)
                    _log(f"  [{len(seen)}/{len(outs)}] set {task['set']} {task['model']} fold {task['fold']}: test AUC "
                         f"{_nan(r['test']['auc']):.3f} (windows {_nan(r['test']['auc_window']):.3f}; "
                         f"{r['train_seconds']:.0f} s of training)", verbose)
            codes = [p.poll() for p in procs]
            if any(c not in (None, 0) for c in codes):
                bad = [lp for (_, lp), c in zip(logs, codes) if c not in (None, 0)]
                raise GlassdynError(f"a network training worker failed; its log {bad[0]} ends with:\n"
                                    f"{Path(bad[0]).read_text()[-3000:]}")
            if all(c == 0 for c in codes):
                break
            time.sleep(0.5)
        missing = [out for out in outs if not Path(out).exists()]
        if missing:
            raise GlassdynError(f"network training workers finished without writing {missing[:3]}")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        for log, _ in logs:
            log.close()


def deep_classification(output, size: StudySize, samples: dict, splits: dict, *, seed: int = 1,
                        cores: int | None = None, verbose: bool = True, timer: _Timer | None = None) -> dict:
    """The CNN and the attention D-MPNN on every data set of ``size.deep_sets`` and the k scan on
    set 1, fold by fold (:func:`glassdyn.deep.evaluate_fold`), ``cores`` folds at a time in worker
    processes (one torch thread each); each fold is cached as JSON (and, for the D-MPNN, its model
    as ``.gdnn``), so a rerun only trains what is missing.

    Returns
    -------
    dict
        ``{set: {model: [fold results]}}`` with models ``cnn``, ``mpnn`` and, on set 1, ``mpnn_k<k>``.
    """
    output = Path(output)
    rates = _rates(size)
    task_files = []
    model_specs = {"cnn": candidates(size, "cnn"), "mpnn": candidates(size, "mpnn")}
    plan = [(s, m) for s in size.deep_sets if s in samples for m in ("cnn", "mpnn")]
    if "1" in samples:
        plan += [("1", f"mpnn_k{k}") for k in size.kscan]
    for s, m in plan:
        cands = model_specs[m] if m in model_specs else candidates(size, "mpnn", [m.split("_")[1]])
        rows = samples[s]
        refs = [{"path": str(_ramp_dir(output, "data", r["config"], rates[r["rate"]]) / "snapshots.lammpstrj"),
                 "index": int(r["index"])} for r in rows]
        y = [r["label"] for r in rows]
        for f, sp in enumerate(splits[s]):
            out = _task_path(output, s, m, f)
            if out.exists():
                continue
            task = {"set": s, "model": m, "fold": f, "frames": refs, "labels": y, "split": sp,
                    "candidates": [c.to_dict() for c in cands], "seed": int(seed) * 1000 + f,
                    "n_eval_windows": size.n_eval_windows, "out": str(out)}
            if m.startswith("mpnn"):
                task["model_path"] = str(out.with_suffix(".gdnn"))
                task["model_extra"] = {"set": s, "classes": ["liquid", "glass"] if s != "R" else ["fast", "slow"],
                                       "study": "swanson"}
            tf = out.with_suffix(".task.json")
            _write_json(tf, task)
            task_files.append(tf)
    if task_files:
        t0 = time.time()
        workers = max(1, min(int(cores or os.cpu_count() or 1), len(task_files)))
        _log(f"networks: {len(task_files)} folds to train ({workers} worker process(es), one torch thread each)",
             verbose)
        if workers == 1:
            for k, tf in enumerate(task_files):
                r = run_task(tf)
                _log(f"  [{k + 1}/{len(task_files)}] {r['task']}: test AUC {_nan(r['test']['auc']):.3f} "
                     f"({r['train_seconds']:.0f} s)", verbose)
        else:
            _run_workers(task_files, workers, verbose)
        if timer is not None:
            timer.record("networks", time.time() - t0)
    out: dict[str, dict] = {}
    for s, m in plan:
        out.setdefault(s, {})[m] = [_read_json(_task_path(output, s, m, f)) for f in range(len(splits[s]))]
    return out


def deep_summary(folds: list, n: int) -> dict:
    """Mean/sd of the per-fold test AUCs, pooled out-of-fold scores (n,), training seconds."""
    auc = [_nan(f["test"]["auc"]) for f in folds]
    aw = [_nan(f["test"]["auc_window"]) for f in folds]
    scores = np.full(n, np.nan)
    for f in folds:
        scores[np.asarray(f["test"]["indices"], dtype=np.int64)] = f["test"]["proba"]
    return {"auc": auc, "auc_mean": float(np.nanmean(auc)), "auc_std": float(np.nanstd(auc, ddof=1)) if len(auc) > 1
            else 0.0, "auc_window": aw, "auc_window_mean": float(np.nanmean(aw)), "scores": scores,
            "chosen": [f["chosen"] for f in folds], "train_seconds": float(sum(f["train_seconds"] for f in folds)),
            "final_seconds": [float(f["final_seconds"]) for f in folds], "n_trainings":
            int(sum(len(f["inner"]) + 1 for f in folds))}


# ----------------------------------------------------------------------------------------------------
# 5. attention
# ----------------------------------------------------------------------------------------------------
def attention_model_path(output, deep: dict) -> Path | None:
    """The paper's attention model: set 1, k = 2, outer fold 0 (k scan), else the set-1 D-MPNN of fold 0."""
    for m in ("mpnn_k2", "mpnn"):
        p = _task_path(Path(output), "1", m, 0).with_suffix(".gdnn")
        if m in deep.get("1", {}) and p.exists():
            return p
    return None


#: second rule for high-attention bonds: relative weight above the window's mean (E a > 1)
RELATIVE_THRESHOLD = 1.0


def attention_analysis(output, size: StudySize, samples: dict, splits: dict, frames: dict, deep: dict, *,
                       seed: int = 1, report_dir=None, verbose: bool = True) -> dict | None:
    """High-attention graph metrics of glasses and liquids, attention maps, larger windows.

    The attention model (:func:`attention_model_path`) is applied to the outer test
    configurations of its fold: ``attention_windows`` random windows of side
    ``graph_window_side`` per configuration (the paper's metric windows: side 0.3), counts of
    the high-attention graph per window (components, B-B bonds, isolated A and B) for glasses and
    liquids with one-sided Mann-Whitney tests (glass below liquid); its AUC on such windows (the
    paper: 0.957 on side 0.3); and tiled whole-configuration maps of one glass and one liquid,
    written as dumps with per-atom ``attention`` columns and a bond table (``report_dir/attention``).
    Cached in ``output/attention.json``.
    """
    from ...adapters.lammps_dump import write_dump
    from ...deep import attention_map, load_model
    from ...graph import window_positions
    from ...windows import random_windows
    path = Path(output) / "attention.json"
    mp = attention_model_path(output, deep)
    if mp is None or "1" not in samples:
        return None
    if path.exists():
        cached = _read_json(path)
        if cached.get("model") == str(mp) and cached.get("windows") == size.attention_windows:
            return cached
    _log("attention: high-attention graph metrics of the set-1 test configurations", verbose)
    clf = load_model(mp)
    rows = samples["1"]
    sp = splits["1"][0]
    per = {"glass": [], "liquid": []}
    per_rel = {"glass": [], "liquid": []}
    win_scores, win_labels, conf_scores = [], [], []
    maps, renders = {}, {}
    for j in sp["test"]:
        r = rows[j]
        f = frames[_key(r)]
        rng = np.random.default_rng([seed, j, 11])
        wins = random_windows(f, size.attention_windows, size.graph_window_side, seed=rng)
        am = attention_map(clf, f, wins)
        am_rel = attention_map(clf, f, wins, threshold=RELATIVE_THRESHOLD)
        cls = "glass" if r["label"] == 1 else "liquid"
        for store, a in ((per, am), (per_rel, am_rel)):
            for m, w in zip(a.metrics, wins):
                store[cls].append({"n_components": m.n_components, "n_bb_edges": m.n_bb_edges,
                                   "n_isolated_a": m.n_isolated_a, "n_isolated_b": m.n_isolated_b,
                                   "n_high": m.n_edges, "n": w.n})
        win_scores += am.window_probability.tolist()
        win_labels += [r["label"]] * len(wins)
        conf_scores.append(float(np.mean(am.window_probability)))
        if cls not in maps:
            maps[cls] = (j, r, f)
            w = random_windows(f, 1, float(np.mean(size.window_side)), seed=np.random.default_rng([seed, j, 13]))[0]
            one = attention_map(clf, f, [w])
            local = {int(a): i for i, a in enumerate(w.indices.tolist())}
            renders[cls] = {"sample": j, "T": r["T"], "positions": window_positions(f, w.indices),
                            "types": f.types[w.indices], "side_length": float(w.side * f.box.lengths[0]),
                            "pairs": [[local[int(a)], local[int(b)]] for a, b in one.pairs],
                            "bond": one.bond, "high": one.high.astype(int), "probability": float(one.window_probability[0]),
                            "counts": {k: getattr(one.metrics[0], k) for k in
                                       ("n_components", "n_bb_edges", "n_isolated_a", "n_isolated_b", "n_edges")}}
    from scipy.stats import mannwhitneyu

    def compare(store):
        stats = {}
        for k in ("n_components", "n_bb_edges", "n_isolated_a", "n_isolated_b", "n_high"):
            g = np.array([d[k] for d in store["glass"]], float)
            li = np.array([d[k] for d in store["liquid"]], float)
            ng = np.array([d["n"] for d in store["glass"]], float)
            nl = np.array([d["n"] for d in store["liquid"]], float)
            try:
                p = float(mannwhitneyu(g / ng, li / nl, alternative="less").pvalue)
            except ValueError:
                p = float("nan")
            stats[k] = {"glass_mean": float(g.mean()), "liquid_mean": float(li.mean()),
                        "glass_per_particle": float(np.mean(g / ng)), "liquid_per_particle": float(np.mean(li / nl)),
                        "p_glass_less": p}
        return stats
    stats = compare(per)
    stats_rel = compare(per_rel)
    y_test = [rows[j]["label"] for j in sp["test"]]
    result = {"model": str(mp), "windows": size.attention_windows, "window_side": size.graph_window_side,
              "trained_side": list(size.window_side), "fold": 0, "test": list(sp["test"]),
              "metrics": stats, "metrics_relative": stats_rel, "relative_threshold": RELATIVE_THRESHOLD,
              "n_windows": {k: len(v) for k, v in per.items()},
              "auc_larger_windows": _auc(win_labels, win_scores), "auc_larger_configurations": _auc(y_test, conf_scores),
              "per_window": per, "maps": {}, "renders": renders}
    rd = Path(report_dir or output) / "attention"
    rd.mkdir(parents=True, exist_ok=True)
    for cls, (j, r, f) in maps.items():
        am = attention_map(clf, f)          # tiles of the model's mean window side: every particle
        cols = am.per_atom("p_glass")
        dump = rd / f"{cls}_attention.lammpstrj"
        write_dump(dump, f.with_properties(**{k: np.asarray(v, float) for k, v in cols.items()}))
        bonds = rd / f"{cls}_bonds.csv"
        ids = f.ids
        lines = ["id_i,id_j,attention,high"] + [f"{ids[a]},{ids[b]},{w:.6g},{int(h)}"
                                                 for (a, b), w, h in zip(am.pairs, am.bond, am.high)]
        write_text_atomic(bonds, "\n".join(lines) + "\n")
        result["maps"][cls] = {"sample": j, "T": r["T"], "dump": dump.name, "bonds": bonds.name,
                               "probability": am.counts()["probability"], "n_windows": len(am.windows),
                               "high_fraction": float(np.mean(am.high)) if len(am.high) else float("nan"),
                               "counts": am.counts()}
    _write_json(path, result)
    return result


# ----------------------------------------------------------------------------------------------------
# 6. graph metrics along the ramps
# ----------------------------------------------------------------------------------------------------
def graph_metrics_vs_temperature(output, size: StudySize, *, seed: int = 1, verbose: bool = True) -> dict:
    """The three graph metrics (per particle) of every ``metric_stride``-th snapshot of the slow
    data ramps, in both constructions, their mean over ramps and the temperature where each
    changes slope (two-line fit, as Tg). Cached in ``output/graph_vs_T.npz``."""
    from ...adapters.lammps_dump import iter_dump
    from ...graph import graph_metrics
    from ...tg import two_line_fit
    from ...windows import random_windows
    path = Path(output) / "graph_vs_T.npz"
    if path.exists():
        z = np.load(path, allow_pickle=False)
        if int(z["stride"]) == size.metric_stride and int(z["ramps"]) == size.ramps:
            out = {k: z[k] for k in ("T", "text", "code")}
        else:
            out = None
    else:
        out = None
    if out is None:
        _log("graph metrics along the slow ramps (both constructions)", verbose)
        text, code, T = [], [], None
        for c in range(size.ramps):
            d = _ramp_dir(output, "data", c, size.slow)
            tab = _eis_table(d / "eis.txt")
            sel = list(range(0, len(tab), size.metric_stride))
            if sel[-1] != len(tab) - 1:
                sel.append(len(tab) - 1)
            T = tab[sel, 2]
            tt, cc = [], []
            for k, f in zip(sel, iter_dump(d / "snapshots.lammpstrj", sel, dimension=2)):
                tt.append(_graph_counts(graph_metrics(f, construction="text")))
                rng = np.random.default_rng([seed, c, k])
                ws = random_windows(f, size.graph_windows, size.graph_window_side, seed=rng)
                cc.append(np.mean([_graph_counts(graph_metrics(f, construction="code", window=w)) for w in ws], axis=0))
            text.append(tt)
            code.append(cc)
        out = {"T": np.asarray(T), "text": np.array(text), "code": np.array(code)}    # (R, S, 3)
        with atomic_path(path, suffix=".npz", parents=True) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, stride=size.metric_stride, ramps=size.ramps, **out)
    fits = {}
    for cons in ("text", "code"):
        fits[cons] = {}
        mean = out[cons].mean(0)
        for m, name in enumerate(GRAPH_NAMES):
            try:
                fits[cons][name] = two_line_fit(out["T"], mean[:, m])
            except InputError:
                fits[cons][name] = None
    out["fits"] = fits
    return out


# ----------------------------------------------------------------------------------------------------
# the whole study
# ----------------------------------------------------------------------------------------------------
def run_study(output, size: str | StudySize = "full", seed: int = 1, *, report_dir=None, cores: int | None = None,
              slow: int | None = None, ramps: int | None = None, eis_ramps: int | None = None, command: str = "",
              verbose: bool = True) -> dict:
    """Run (or resume) the whole reproduction study and write its report.

    Parameters
    ----------
    output : path
        Work folder: simulations, cached stages, models, ``timings.json`` (large; do not commit).
    size : {"full", "reduced"} or StudySize
        See :data:`SIZES` and :func:`estimate_cost`.
    seed : int
        Base seed of every simulation and random choice.
    report_dir : path, optional
        Where ``report.md``, the figures, ``summary.json`` and the attention files go (default ``output``).
    cores : int, optional
        LAMMPS processes and training processes at once (default: all CPUs).
    slow, ramps, eis_ramps : int, optional
        Override the slow ramp duration (e.g. the paper's 2e7), the data ramps per rate and the
        E_IS ramps per rate of ``size``.
    command : str
        The command line recorded in the report.
    verbose : bool

    Returns
    -------
    dict
        ``report`` (path), ``summary`` (the numbers of the report), ``thermo``, ``descriptor``, ``deep``,
        ``attention``, ``graph_vs_T``, ``timings``.

    Examples
    --------
    >>> res = run_study("work", size="reduced")           # doctest: +SKIP
    >>> res["summary"]["auc"]["1"]["mpnn"]["auc_mean"]     # doctest: +SKIP
    """
    size = get_size(size)
    over = {k: int(v) for k, v in (("slow", slow), ("ramps", ramps), ("eis_ramps", eis_ramps)) if v is not None}
    if over:
        size = replace(size, **over)
    if size.slow <= size.fast:
        raise InputError(f"the slow ramp ({size.slow} steps) must be longer than the fast one ({size.fast})")
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    params_path = output / "study.json"
    params = {"study": "swanson", "size": {k: v for k, v in asdict(size).items() if k in SIM_FIELDS},
              "seed": int(seed), "model": MODEL}
    if params_path.exists():
        old = _read_json(params_path)
        old["size"] = {k: v for k, v in old.get("size", {}).items() if k in SIM_FIELDS}
        if to_jsonable(old) != to_jsonable(params):
            raise InputError(f"work folder {output} holds a study with other parameters ({old}); choose another "
                             "folder or delete it to start again")
    else:
        _write_json(params_path, params)
    timer = _Timer(output)
    _log(describe_cost(size, cores or os.cpu_count() or 2), verbose)
    simulate(output, size, seed=seed, cores=cores, verbose=verbose, timer=timer)
    thermo = thermodynamics(output, size)
    _log(f"Tg fast {thermo['eis']['fast']['fit']['tg']:.3f}, slow {thermo['eis']['slow']['fit']['tg']:.3f}; set 6 "
         f"liquid at T = {thermo['set6']['T']:.3f} (E_IS match at {thermo['set6']['T_match']:.3f})", verbose)
    samples = dataset_samples(thermo, size)
    splits = study_splits(samples, size, seed)
    frames = load_samples(output, size, samples)
    t0 = time.time()
    feats = descriptor_features(output, size, frames, seed=seed, verbose=verbose)
    desc = descriptor_classification(feats, samples, splits, seed=seed, models=size.descriptor_models)
    timer.record("descriptor_models", time.time() - t0)
    deep = deep_classification(output, size, samples, splits, seed=seed, cores=cores, verbose=verbose, timer=timer)
    att = attention_analysis(output, size, samples, splits, frames, deep, seed=seed, report_dir=report_dir,
                             verbose=verbose)
    gvt = graph_metrics_vs_temperature(output, size, seed=seed, verbose=verbose)
    from .report import write_report
    t0 = time.time()
    rep, summary = write_report(report_dir or output, size=size, thermo=thermo, samples=samples, splits=splits,
                                desc=desc, deep=deep, attention=att, graph_vs_t=gvt, frames=frames,
                                timings=timer.data, command=command, seed=seed, cores=cores)
    timer.record("report", time.time() - t0)
    _log(f"report: {rep}", verbose)
    return {"report": rep, "summary": summary, "thermo": thermo, "samples": samples, "splits": splits,
            "descriptor": desc, "deep": deep, "attention": att, "graph_vs_T": gvt, "timings": dict(timer.data),
            "size": size}
