"""Plots of information-imbalance results (matplotlib, Agg backend, PNG files).

- :func:`plot_plane`: the information-imbalance plane, Delta(X_j -> p) against Delta(p -> X_j) for every
  single feature (optionally the path of the greedy picks, Delta(X_S -> p) against Delta(p -> X_S)).
  For an :class:`~glassdyn.imbalance.ImbalancePlane` pass ``plane.forward_mean, plane.backward_mean,
  labels=plane.names``.
- :func:`plot_curve`: Delta against the number of selected features, with the components and baselines.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._base import colormap, new_figure, save_figure

__all__ = ["plot_plane", "plot_curve"]


def _save(fig, path) -> None:
    save_figure(fig, path, format="png", dpi=120, tight=True)


def plot_plane(forward, backward, path, *, labels: Sequence[str] | None = None, highlight: Sequence[int] | None = None,
               selection=None, annotate: int = 5, target: str = "p", title: str | None = None) -> str:
    """The information-imbalance plane, Delta(X_j -> target) against Delta(target -> X_j), to a PNG.

    Parameters
    ----------
    forward, backward : array_like, shape (F,)
        Delta(X_j -> target) and Delta(target -> X_j) of every feature (or feature set) j.
    path : path-like
        Output PNG.
    labels : sequence of str, optional
        Feature names; features named ``<descriptor>_L<length>`` are coloured by descriptor.
    highlight : sequence of int, optional
        Indices drawn in red and labelled (e.g. the selected features).
    selection : glassdyn.selection.SelectionResult, optional
        A supervised selection with curves ``subset_to_target`` and ``target_to_subset``: its path is drawn.
    annotate : int
        Label the ``annotate`` features with the smallest Delta(X_j -> target).
    target : str
        Name of the target space in the axis labels.
    """
    x = np.asarray(forward, dtype=float).reshape(-1)
    y = np.asarray(backward, dtype=float).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"imbalance arrays differ in length ({x.size} vs {y.size})")
    names = [f"f{k}" for k in range(x.size)] if labels is None else [str(n) for n in labels]
    fig = new_figure(figsize=(5.2, 5.0))
    ax = fig.add_subplot()
    families = [n.split("_L")[0] if "_L" in n else n.rstrip("0123456789.") for n in names]
    uniq = list(dict.fromkeys(families))
    cmap = colormap("tab10")
    for k, fam in enumerate(uniq):
        m = np.array([f == fam for f in families])
        ax.scatter(x[m], y[m], s=18, color=cmap(k % 10), label=fam if len(uniq) <= 12 else None)
    hl = [] if highlight is None else [int(h) for h in highlight]
    if hl:
        ax.scatter(x[hl], y[hl], s=34, color="tab:red", zorder=3)
    order = np.argsort(np.where(np.isfinite(x), x, np.inf))
    for q in sorted(set(order[:annotate].tolist()) | set(hl)):
        ax.annotate(names[q], (x[q], y[q]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    if selection is not None and "target_to_subset" in selection.curves:
        sx = selection.curves["subset_to_target"].mean(axis=0)
        sy = selection.curves["target_to_subset"].mean(axis=0)
        ax.plot(sx, sy, "-o", color="k", ms=3, lw=1, label="greedy picks $X_S$")
    ax.plot([0, 1.05], [0, 1.05], ":", color="grey", lw=1)
    ax.set_xlim(0, 1.05)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel(rf"$\Delta(X \to {target})$")
    ax.set_ylabel(rf"$\Delta({target} \to X)$")
    ax.set_title(title or "information-imbalance plane")
    if len(uniq) <= 12 or selection is not None:
        ax.legend(fontsize=7, loc="lower right")
    _save(fig, path)
    return path


def plot_curve(selection, path: str, *, baselines: Sequence = (), title: str | None = None) -> str:
    """Delta against the number of selected features, to a PNG.

    Parameters
    ----------
    selection : glassdyn.selection.SelectionResult
        Its ``curve`` (mean) with the configuration spread, and its component curves.
    baselines : sequence of SelectionResult or RandomBaseline
        Drawn as extra lines (Lasso: ``curve``; random: ``curve`` with ``spread`` band).
    """
    fig = new_figure(figsize=(6.0, 4.2))
    ax = fig.add_subplot()
    d = np.arange(1, selection.curve.size + 1)
    mode = selection.params.get("mode", "")
    label = {"supervised": r"greedy $\Delta(X_S \to p)$",
             "unsupervised": r"greedy $(\Delta(full \to X_S)+\Delta(X_S \to full))/\sqrt{2}$"}.get(mode, "greedy")
    sd = selection.curve_per_config.std(axis=0)
    ax.errorbar(d, selection.curve, yerr=sd, fmt="-o", ms=3, color="k", capsize=2, label=label)
    names = {"target_to_subset": r"$\Delta(p \to X_S)$", "full_to_subset": r"$\Delta(full \to X_S)$",
             "subset_to_full": r"$\Delta(X_S \to full)$"}
    for key, lab in names.items():
        if key in selection.curves:
            ax.plot(d, np.nanmean(selection.curves[key], axis=0), "--", lw=1, label=lab)
    for b in baselines:
        bd = np.arange(1, b.curve.size + 1)
        if hasattr(b, "spread"):
            ax.plot(bd, b.curve, "-", color="tab:grey", label=f"random orders (n={b.orders.shape[0]})")
            ax.fill_between(bd, b.curve - b.spread, b.curve + b.spread, color="tab:grey", alpha=0.25)
        else:
            ax.plot(bd, b.curve, "-s", ms=3, color="tab:red", label="Lasso selection")
    ax.set_xlabel("number of selected features d")
    ax.set_ylabel(r"information imbalance $\Delta$")
    ax.set_ylim(bottom=0)
    ax.set_title(title or "greedy feature selection")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    _save(fig, path)
    return path
