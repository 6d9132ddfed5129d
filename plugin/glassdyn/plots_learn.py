"""Figures of the learning step (matplotlib, Agg backend; files written atomically).

* :func:`parity_plot` - predicted against true target, one colour per configuration, with the
  per-configuration Pearson r in the legend.
* :func:`learning_curve_plot` - held-out score (mean +- spread over configurations) against the
  number of selected features or the training size.
* :func:`propensity_maps` - side-by-side scatter maps of true and predicted propensity (and the
  GP standard deviation when given) on the particle positions.
* :func:`roc_plot` - ROC curve of the out-of-fold scores of a configuration classifier.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ._atomic import savefig_atomic

__all__ = ["parity_plot", "learning_curve_plot", "propensity_maps", "roc_plot"]


def _plt():
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path) -> Path:
    try:
        return savefig_atomic(fig, path, parents=True, dpi=120, bbox_inches="tight")
    finally:
        _plt().close(fig)


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
    from .learn import evaluate_by_configuration
    plt = _plt()
    yt = np.asarray(y_true, float)
    yp = np.asarray(y_pred, float)
    g = np.zeros(len(yt), dtype=int) if groups is None else np.asarray(groups)
    sc = evaluate_by_configuration(yt, yp, g)
    rng = np.random.default_rng(seed)
    show = np.arange(len(yt)) if len(yt) <= max_points else np.sort(rng.choice(len(yt), max_points, replace=False))
    fig, ax = plt.subplots(figsize=(5, 5))
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


def learning_curve_plot(curves: Mapping | Sequence[Mapping], path, *, title: str | None = None) -> Path:
    """Plot one or several learning curves from :func:`glassdyn.learn.learning_curve_features`
    or :func:`~glassdyn.learn.learning_curve_size` (mean +- std over held-out configurations).

    Curves with an extra ``"label"`` key are named in the legend.
    """
    plt = _plt()
    if isinstance(curves, Mapping):
        curves = [curves]
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for c in curves:
        x = c["n_features"] if c.get("x") == "n_features" else c["train_sizes"]
        m, s = np.asarray(c["mean"], float), np.asarray(c["std"], float)
        ax.errorbar(x, m, yerr=s, marker="o", capsize=3, label=c.get("label"))
    first = curves[0]
    ax.set_xlabel("number of selected features" if first.get("x") == "n_features" else "training particles")
    if first.get("x") != "n_features":
        ax.set_xscale("log")
    ax.set_ylabel(f"held-out {first.get('metric', 'pearson')} (per configuration)")
    if any(c.get("label") for c in curves):
        ax.legend()
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def propensity_maps(positions, y_true, y_pred, path, *, y_std=None, box=None, title: str | None = None,
                    size: float | None = None) -> Path:
    """Side-by-side maps (scatter plots on x, y) of true and predicted propensity.

    Parameters
    ----------
    positions : array_like, shape (N, 2) or (N, 3)
        Particle positions (3D frames are projected on x, y).
    y_true : array_like (N,) or None
        True values (panel omitted if None).
    y_pred : array_like (N,)
    y_std : array_like (N,), optional
        GP standard deviation: a third panel.
    box : Box, optional
        Draws the cell outline and sets the limits.
    """
    plt = _plt()
    pos = np.asarray(positions, float)[:, :2]
    panels = []
    if y_true is not None:
        panels.append(("true", np.asarray(y_true, float), "viridis"))
    panels.append(("predicted", np.asarray(y_pred, float), "viridis"))
    if y_std is not None:
        panels.append(("GP standard deviation", np.asarray(y_std, float), "magma"))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 4.4), squeeze=False)
    # shared colour range for true and predicted (robust percentiles)
    both = np.concatenate([p[1] for p in panels if p[0] != "GP standard deviation"])
    vmin, vmax = np.nanpercentile(both, [2, 98])
    s = size if size is not None else max(1.0, 6000.0 / max(len(pos), 1))
    for ax, (name, vals, cmap) in zip(axes[0], panels):
        kw = {"vmin": vmin, "vmax": vmax} if name != "GP standard deviation" else {}
        im = ax.scatter(pos[:, 0], pos[:, 1], c=vals, s=s, cmap=cmap, linewidths=0, **kw)
        ax.set_aspect("equal")
        ax.set_title(name)
        ax.set_xticks([]), ax.set_yticks([])
        if box is not None:
            o = np.asarray(box.origin)[:2]
            a, b = np.asarray(box.matrix)[0, :2], np.asarray(box.matrix)[1, :2]
            corners = np.array([o, o + a, o + a + b, o + b, o])
            ax.plot(corners[:, 0], corners[:, 1], "k-", lw=0.8)
        fig.colorbar(im, ax=ax, shrink=0.8)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def roc_plot(result, path, *, title: str | None = None) -> Path:
    """ROC curve of the out-of-fold scores of :func:`glassdyn.learn.classify_configurations`."""
    from sklearn.metrics import roc_curve
    plt = _plt()
    y = (np.asarray(result.labels) == result.classes[1]).astype(int)
    fpr, tpr, _ = roc_curve(y, result.scores)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(fpr, tpr, lw=2, label=f"AUC = {result.auc_mean:.3f} +- {result.auc_std:.3f} (outer folds)")
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel(f"true positive rate ('{result.classes[1]}' positive)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title or "configuration classification (nested CV)")
    return _save(fig, path)
