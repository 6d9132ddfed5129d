"""Figures of the learning step (matplotlib, Agg backend; files written atomically).

* :func:`parity_plot` - predicted against true target, one colour per configuration, with the
  per-configuration Pearson r in the legend.
* :func:`plot_learning_curve` - held-out score (mean +- spread over configurations) against the
  number of selected features or the training size (one or several curves).
* :func:`propensity_maps` - side-by-side maps of true and predicted propensity (and the GP standard
  deviation when given), particles drawn as discs of their size, Pearson r in the title.
* :func:`roc_plot` - ROC curve of the out-of-fold scores of a configuration classifier.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..frame import Frame
from ..stats import pearson
from ._base import colormap, new_figure, save_figure

__all__ = ["parity_plot", "plot_learning_curve", "propensity_maps", "roc_plot"]


def _save(fig, path) -> Path:
    return save_figure(fig, path, dpi=120, tight=True)


def parity_plot(y_true, y_pred, path, *, groups=None, title: str | None = None, label: str = "propensity",
                max_points: int = 20000, seed: int = 0) -> Path:
    """Scatter of predicted against true values with the y = x line.

    Parameters
    ----------
    y_true, y_pred : array_like, shape (N,)
    path : str or Path
        Output PNG.
    groups : array_like, shape (N,), optional
        Configuration labels: one colour each (at most 10 are named in the legend).
    max_points : int
        Points drawn at most (seeded random subset); statistics use all points.
    """
    from ..validation import evaluate_by_configuration
    yt = np.asarray(y_true, float)
    yp = np.asarray(y_pred, float)
    g = np.zeros(len(yt), dtype=int) if groups is None else np.asarray(groups)
    sc = evaluate_by_configuration(yt, yp, g)
    rng = np.random.default_rng(seed)
    show = np.arange(len(yt)) if len(yt) <= max_points else np.sort(rng.choice(len(yt), max_points, replace=False))
    fig = new_figure(figsize=(5, 5))
    ax = fig.add_subplot()
    labels = np.unique(g)
    for k, lab in enumerate(labels):
        m = show[g[show] == lab]
        name = f"config {lab}: r = {sc.pearson[k]:.2f}" if k < 10 else None
        ax.scatter(yt[m], yp[m], s=3, alpha=0.4, label=name)
    lo = float(np.nanmin([yt.min(), yp.min()]))
    hi = float(np.nanmax([yt.max(), yp.max()]))
    ax.plot([lo, hi], [lo, hi], "k--", lw=1)
    s = sc.summary()["pearson"]
    ax.set_xlabel(f"true {label}")
    ax.set_ylabel(f"predicted {label}")
    ax.set_title(title or f"Pearson r = {s['mean']:.3f} +- {s['std']:.3f} ({s['n']} configurations)")
    if len(labels) > 1:
        ax.legend(fontsize=7, markerscale=3)
    return _save(fig, path)


def plot_learning_curve(x, scores, path, *, spread=None, labels: Sequence[str] | None = None,
                        xlabel: str = "number of selected features", ylabel: str = "held-out Pearson r",
                        log_x: bool = False, title: str | None = None, size=None) -> Path:
    """Held-out score against the number of features (or the training size), with a spread band.

    Parameters
    ----------
    x : array_like, shape (K,)
        Numbers of features or training sizes.
    scores : array_like, shape (K,) or (C, K)
        Mean held-out scores, one row per curve (e.g. ``learning_curve_features(...)["mean"]``).
    path : path-like
        Output PNG.
    spread : array_like, same shape as ``scores``, optional
        Standard deviation over held-out configurations (drawn as a band).
    labels : sequence of str, optional
        One per curve (legend).
    """
    xa = np.asarray(x, dtype=float).reshape(-1)
    y = np.atleast_2d(np.asarray(scores, dtype=float))
    s = None if spread is None else np.atleast_2d(np.asarray(spread, dtype=float))
    if y.shape[1] != xa.size:
        raise ValueError(f"{y.shape[1]} scores per curve for {xa.size} x values")
    fig = new_figure(size, figsize=(5.5, 4))
    ax = fig.add_subplot()
    for k, row in enumerate(y):
        ax.plot(xa, row, marker="o", label=None if labels is None else labels[k])
        if s is not None:
            ax.fill_between(xa, row - s[k], row + s[k], alpha=0.25)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if log_x:
        ax.set_xscale("log")
    if labels is not None:
        ax.legend()
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def _values(frame: Frame, v, what: str) -> np.ndarray:
    if isinstance(v, str):
        from .render import find_property
        return np.asarray(frame.properties[find_property(list(frame.properties), v, source=frame.source,
                                                         frame=frame.index)], dtype=float)
    arr = np.asarray(v, dtype=float).reshape(-1)
    if arr.shape != (frame.n_atoms,):
        raise InputError(f"{what} values have {arr.size} entries for {frame.n_atoms} atoms", source=frame.source,
                         frame=frame.index)
    return arr


def propensity_maps(frame: Frame, true, predicted, path: str | os.PathLike, *, std=None, cmap: str = "viridis",
                    titles: Sequence[str] | None = None, radii: Mapping[int, float] | float | None = None,
                    size=(1200, 560), common_scale: bool = False, title: str | None = None) -> Path:
    """True and predicted per-atom maps side by side (discs of the particle size), Pearson r in the title.

    Parameters
    ----------
    frame : Frame
        Positions (a 3D frame is projected on x-y), box and types.
    true : str, array_like (N,) or None
        True values, or the name of a ``frame.properties`` column; None omits the panel.
    predicted : str or array_like (N,)
    path : path-like
        Output image (written atomically).
    std : str or array_like (N,), optional
        Gaussian-process standard deviation: a third panel.
    cmap : str
        Matplotlib colour map of the true and predicted panels.
    titles : sequence of str, optional
        Panel titles.
    radii : float or dict type -> radius, optional
        Disc radii in length units (0.5 by default).
    size : (int, int) or "WxH"
        Image size in pixels.
    common_scale : bool
        One colour scale for the true and predicted panels. The default scales each to its own
        2nd-98th percentile range, since a model's predictions are usually narrower than the truth
        and what matters is whether the same regions light up.

    Returns
    -------
    pathlib.Path
    """
    from matplotlib.collections import EllipseCollection

    panels = []
    if true is not None:
        panels.append(("true propensity", _values(frame, true, "true"), cmap))
    panels.append(("predicted propensity", _values(frame, predicted, "predicted"), cmap))
    if std is not None:
        panels.append(("GP standard deviation", _values(frame, std, "std"), "magma"))
    if titles is not None:
        panels = [(t, v, c) for t, (_, v, c) in zip(list(titles) + [p[0] for p in panels[len(titles):]], panels)]
    n = frame.n_atoms
    r = float("nan")
    if true is not None:
        t, p = panels[0][1], panels[1][1]
        ok = np.isfinite(t) & np.isfinite(p)
        r = pearson(t[ok], p[ok]) if ok.sum() > 2 else float("nan")
    fig = new_figure(size)
    pos = frame.box.wrap(frame.positions)[:, :2]
    if isinstance(radii, Mapping):
        rad = np.array([radii.get(int(ty), 0.5) for ty in frame.types], dtype=float)
    else:
        rad = np.full(n, 0.5 if radii is None else float(radii))
    corners = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], float) @ frame.box.matrix[:2, :2] \
        + frame.box.origin[:2]
    vals = [v for name, v, _ in panels if name != "GP standard deviation"]
    shared = tuple(np.nanpercentile(np.concatenate(vals), [2, 98])) if common_scale else None
    for k, (name, v, cm) in enumerate(panels):
        lo, hi = shared if (shared and name != "GP standard deviation") else tuple(np.nanpercentile(v, [2, 98]))
        ax = fig.add_subplot(1, len(panels), k + 1)
        coll = EllipseCollection(2 * rad, 2 * rad, np.zeros(n), units="xy", offsets=pos,
                                 offset_transform=ax.transData, cmap=colormap(cm))
        coll.set_array(v)
        coll.set_clim(lo, hi if hi > lo else lo + 1e-12)
        ax.add_collection(coll)
        ax.plot(corners[:, 0], corners[:, 1], color="0.3", lw=0.8)
        ax.set_aspect("equal")
        ax.set_xlim(corners[:, 0].min() - 1, corners[:, 0].max() + 1)
        ax.set_ylim(corners[:, 1].min() - 1, corners[:, 1].max() + 1)
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(coll, ax=ax, shrink=0.8)
    head = title or frame.label
    fig.suptitle(f"Pearson r = {r:.3f}  ({head})" if true is not None else head)
    fig.tight_layout()
    return save_figure(fig, path)


def roc_plot(result, path, *, title: str | None = None) -> Path:
    """ROC curve of the out-of-fold scores of :func:`glassdyn.classification.classify_configurations`."""
    from sklearn.metrics import roc_curve
    y = (np.asarray(result.labels) == result.classes[1]).astype(int)
    fpr, tpr, _ = roc_curve(y, result.scores)
    fig = new_figure(figsize=(4.5, 4.5))
    ax = fig.add_subplot()
    ax.plot(fpr, tpr, lw=2, label=f"AUC = {result.auc_mean:.3f} +- {result.auc_std:.3f} (outer folds)")
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel(f"true positive rate ('{result.classes[1]}' positive)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title or "configuration classification (nested CV)")
    return _save(fig, path)
