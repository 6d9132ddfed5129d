"""Nested cross-validation of the deep classifiers (Swanson et al. II.5), fold by fold.

The splits are those of :func:`glassdyn.classification.nested_splits` (by configuration or group
of configurations; every classifier of a study can share them). In every outer fold:

1. **search** (when there are several :class:`Candidate` hyperparameter sets): each candidate is
   trained on the fold's inner training configurations (the inner validation configurations
   choose its best epoch) and scored by the ROC AUC of its windows on the inner test
   configurations (window level: more resolution than a handful of configurations; ties broken
   by the log loss);
2. **final model**: the chosen candidate is trained again on inner training + inner test
   configurations, with the same validation configurations;
3. **test**: ``n_eval_windows`` random windows of every outer test configuration (seeded) are
   classified; a configuration's probability is the mean of its windows' probabilities. The fold
   reports the AUC over configurations and over windows.

:func:`evaluate_fold` returns plain JSON-serialisable results (a study caches them per fold and
runs folds in parallel processes); :func:`nested_cv` runs every fold.
"""
from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import InputError
from ..frame import Frame
from .data import draw_windows
from .train import DeepClassifier, TrainConfig, roc_auc

__all__ = ["Candidate", "evaluate_fold", "fit_candidate", "nested_cv", "score_configurations"]


@dataclass(frozen=True)
class Candidate:
    """One hyperparameter set of a deep classifier.

    Attributes
    ----------
    name : str
        Short label used in reports.
    kind : {"cnn", "mpnn"}
    model : dict
        Arguments of the network (:class:`~glassdyn.deep.cnn.CNN` or :class:`~glassdyn.deep.mpnn.DMPNN`).
    input : dict
        Arguments of the featurizer (image or graph: window side, pixels or k, ...).
    train : dict
        Fields of :class:`~glassdyn.deep.train.TrainConfig` (epochs, batch size, windows per frame, ...).
    why : str
        Why this candidate is in the search (documentation).
    """

    name: str
    kind: str
    model: dict = field(default_factory=dict)
    input: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)
    why: str = ""

    def __post_init__(self):
        if self.kind not in ("cnn", "mpnn"):
            raise InputError(f"unknown architecture {self.kind!r} (expected 'cnn' or 'mpnn')")

    def build(self, seed: int = 0) -> DeepClassifier:
        """An untrained classifier (weights initialised with ``seed``)."""
        params = dict(self.model)
        if self.kind == "cnn":
            params.setdefault("image_size", int(self.input.get("pixels", 250)))
        return DeepClassifier(self.kind, params, dict(self.input), seed=seed)

    def config(self, seed: int = 0, threads: int | None = None) -> TrainConfig:
        kw = dict(self.train)
        kw["seed"] = seed
        if threads is not None:
            kw["threads"] = threads
        return TrainConfig(**kw)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping) -> Candidate:
        return cls(**{k: d[k] for k in ("name", "kind", "model", "input", "train", "why") if k in d})


def _seed(*keys: int) -> int:
    return int(np.random.SeedSequence([int(k) for k in keys]).generate_state(1)[0] % (2 ** 31))


def fit_candidate(candidate: Candidate, frames: Sequence[Frame], labels, val_frames: Sequence[Frame], val_labels, *,
                  seed: int = 0, threads: int | None = None) -> tuple[DeepClassifier, float]:
    """Train ``candidate`` on ``frames`` (labels 0/1), validating on ``val_frames``; returns the
    classifier and the CPU wall seconds of the training."""
    clf = candidate.build(seed)
    t0 = time.perf_counter()
    clf.fit(list(frames), labels, list(val_frames), val_labels, config=candidate.config(seed + 1, threads))
    return clf, time.perf_counter() - t0


def score_configurations(clf: DeepClassifier, frames: Sequence[Frame], labels, *, n_windows: int = 20,
                         seed: int = 0) -> dict:
    """Window and configuration probabilities of class 1 and their ROC AUCs.

    Returns
    -------
    dict
        ``proba`` (n,) configuration probabilities, ``window_proba`` (W,), ``window_owner`` (W,),
        ``auc`` / ``auc_window`` (NaN without both classes), ``accuracy`` (threshold 0.5),
        ``log_loss`` (windows), ``seconds`` (prediction).
    """
    frames = list(frames)
    y = np.asarray(labels, dtype=np.int64)
    t0 = time.perf_counter()
    windows = draw_windows(clf.featurizer, frames, n_windows, seed)
    pw = clf.predict_window_proba(frames, windows)[:, 1]
    owner = np.array([i for i, _ in windows], dtype=np.int64)
    sums = np.bincount(owner, weights=pw, minlength=len(frames))
    pc = sums / np.maximum(np.bincount(owner, minlength=len(frames)), 1)
    yw = y[owner]
    both = len(set(y.tolist())) == 2
    eps = 1e-12
    ll = float(-np.mean(yw * np.log(np.clip(pw, eps, 1)) + (1 - yw) * np.log(np.clip(1 - pw, eps, 1))))
    return {"proba": pc.tolist(), "window_proba": pw.tolist(), "window_owner": owner.tolist(),
            "auc": roc_auc(y, pc) if both else float("nan"),
            "auc_window": roc_auc(yw, pw) if both else float("nan"),
            "accuracy": float(np.mean((pc >= 0.5) == (y == 1))), "log_loss": ll,
            "seconds": time.perf_counter() - t0}


def _take(frames, idx):
    return [frames[int(i)] for i in idx]


def evaluate_fold(frames: Sequence[Frame], labels, split: Mapping, candidates: Sequence[Candidate], *,
                  seed: int = 0, n_eval_windows: int = 20, threads: int | None = 1, model_path=None,
                  model_extra: Mapping | None = None, log=None) -> dict:
    """One outer fold of the nested cross-validation (module docstring).

    Parameters
    ----------
    frames : sequence of Frame
        All configurations of the data set.
    labels : array_like (n,)
        0/1 labels.
    split : mapping
        Row indices ``test``, ``inner_train``, ``inner_val``, ``inner_test`` and ``fold``
        (:func:`glassdyn.classification.nested_splits`).
    candidates : sequence of Candidate
        One (no search) or several hyperparameter sets of one architecture.
    seed : int
        Base seed of weight initialisation, window draws and evaluation windows.
    n_eval_windows : int
        Windows per configuration when scoring (inner test and outer test).
    threads : int, optional
        torch threads during training (1 is fastest for these small networks).
    model_path : path, optional
        Save the fold's final model there (``.gdnn``).
    model_extra : mapping, optional
        Extra information stored in the saved model.
    log : callable, optional
        Called with progress strings.

    Returns
    -------
    dict
        ``fold``, ``chosen`` (candidate name), ``candidates`` (their dicts), ``inner`` (per candidate:
        inner-test AUCs, log loss, training seconds, best epoch), ``test`` (indices, labels and
        the output of :func:`score_configurations`), ``train_seconds`` (all trainings of the fold),
        ``final_seconds``, ``history`` (of the final model), ``n_train``/``n_val``.
    """
    if not candidates:
        raise InputError("give at least one candidate")
    kinds = {c.kind for c in candidates}
    if len(kinds) != 1:
        raise InputError(f"the candidates of one search must share an architecture, got {sorted(kinds)}")
    y = np.asarray(labels, dtype=np.int64)
    fold = int(split.get("fold", 0))
    itr = np.asarray(split["inner_train"], dtype=np.int64)
    iva = np.asarray(split["inner_val"], dtype=np.int64)
    ite = np.asarray(split.get("inner_test", []), dtype=np.int64)
    te = np.asarray(split["test"], dtype=np.int64)
    if len(iva) == 0:
        raise InputError(f"fold {fold}: no inner validation configurations; add configurations")
    say = log or (lambda msg: None)
    inner, seconds = [], 0.0
    chosen = candidates[0]
    if len(candidates) > 1:
        score_on = ite if len(ite) and len(set(y[ite].tolist())) == 2 else iva
        for ci, cand in enumerate(candidates):
            clf, sec = fit_candidate(cand, _take(frames, itr), y[itr], _take(frames, iva), y[iva],
                                     seed=_seed(seed, fold, ci, 1), threads=threads)
            seconds += sec
            sc = score_configurations(clf, _take(frames, score_on), y[score_on], n_windows=n_eval_windows,
                                      seed=_seed(seed, fold, 99))
            inner.append({"candidate": cand.name, "auc_window": sc["auc_window"], "auc": sc["auc"],
                          "log_loss": sc["log_loss"], "train_seconds": sec, "best_epoch": clf.best_epoch_,
                          "scored_on": "inner_test" if score_on is ite else "inner_val"})
            say(f"fold {fold} candidate {cand.name}: inner AUC (windows) {sc['auc_window']:.3f}, {sec:.1f} s")
        best = max(range(len(candidates)),
                   key=lambda k: (np.nan_to_num(inner[k]["auc_window"], nan=-1.0), -inner[k]["log_loss"]))
        chosen = candidates[best]
    final_train = np.sort(np.concatenate([itr, ite]))
    clf, sec = fit_candidate(chosen, _take(frames, final_train), y[final_train], _take(frames, iva), y[iva],
                             seed=_seed(seed, fold, 1000), threads=threads)
    seconds += sec
    test = score_configurations(clf, _take(frames, te), y[te], n_windows=n_eval_windows, seed=_seed(seed, fold, 7))
    test.update({"indices": te.tolist(), "labels": y[te].tolist()})
    say(f"fold {fold} {chosen.name}: test AUC {test['auc']:.3f} (windows {test['auc_window']:.3f}), final {sec:.1f} s")
    if model_path is not None:
        clf.save(model_path, extra={"fold": fold, "candidate": chosen.to_dict(), **dict(model_extra or {})})
    return {"fold": fold, "chosen": chosen.name, "candidates": [c.to_dict() for c in candidates], "inner": inner,
            "test": test, "train_seconds": seconds, "final_seconds": sec, "history": clf.history_,
            "best_epoch": clf.best_epoch_, "n_train": int(len(final_train)), "n_val": int(len(iva))}


def nested_cv(frames: Sequence[Frame], labels, splits: Sequence[Mapping], candidates: Sequence[Candidate], *,
              seed: int = 0, n_eval_windows: int = 20, threads: int | None = 1, log=None) -> dict:
    """Every outer fold of :func:`evaluate_fold`; returns ``folds`` (their results), ``auc`` /
    ``auc_window`` per fold, their means, the pooled out-of-fold configuration ``scores`` (NaN for
    configurations in no test set) and ``train_seconds``."""
    frames = list(frames)
    res = [evaluate_fold(frames, labels, sp, candidates, seed=seed, n_eval_windows=n_eval_windows, threads=threads,
                         log=log) for sp in splits]
    scores = np.full(len(frames), np.nan)
    for r in res:
        scores[np.asarray(r["test"]["indices"], dtype=np.int64)] = r["test"]["proba"]
    auc = [r["test"]["auc"] for r in res]
    aw = [r["test"]["auc_window"] for r in res]
    return {"folds": res, "auc": auc, "auc_window": aw, "auc_mean": float(np.nanmean(auc)),
            "auc_std": float(np.nanstd(auc, ddof=1)) if len(auc) > 1 else 0.0,
            "auc_window_mean": float(np.nanmean(aw)), "scores": scores.tolist(),
            "train_seconds": float(sum(r["train_seconds"] for r in res)),
            "chosen": [r["chosen"] for r in res]}
