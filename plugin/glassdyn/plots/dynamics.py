"""Plots of dynamics results: F_s(q, t) and the distribution of propensities (matplotlib, PNG).

Uses the non-interactive Agg backend; every figure is written to a temporary file in the
target folder and renamed, so a plot is never half-written.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ._base import new_figure, save_figure

__all__ = ["plot_fs", "plot_propensity_distribution", "fs_curves"]


def _figure():
    return new_figure(figsize=(5.0, 3.8), dpi=120, layout="constrained")


def _save(fig, path) -> str:
    save_figure(fig, path, format="png")
    return os.fspath(path)


def plot_fs(times, fs, path, *, labels: Sequence[str] | None = None, tau_alpha=None,
            ylabel: str = r"$F_s(q, t)$") -> str:
    """F_s(q, t) curves against log t, the 1/e level and tau_alpha marked.

    Parameters
    ----------
    times : array_like, shape (T,)
        Lag times (time units); t = 0 is not drawn (log axis).
    fs : array_like, shape (T,) or (C, T)
        One curve or C curves (all particles and each type, temperatures, configurations).
    path : path-like
        PNG file to write.
    labels : sequence of str, optional
        One per curve.
    tau_alpha : float or sequence of float, optional
        Marked with vertical dashed lines (NaN skipped).
    ylabel : str

    Returns
    -------
    str
        The path written.
    """
    t = np.asarray(times, dtype=float).reshape(-1)
    f = np.atleast_2d(np.asarray(fs, dtype=float))
    if f.shape[1] != t.size:
        raise ValueError(f"F_s has {f.shape[1]} points per curve for {t.size} times")
    fig = _figure()
    ax = fig.add_subplot()
    pos = t > 0
    for k, curve in enumerate(f):
        ax.plot(t[pos], curve[pos], marker="o", ms=3, lw=1.2 if k == 0 else 0.8,
                label=None if labels is None else labels[k])
    ax.axhline(1.0 / np.e, color="grey", ls=":", lw=0.8)
    for ta in np.atleast_1d(np.asarray(tau_alpha if tau_alpha is not None else [], dtype=float)):
        if np.isfinite(ta):
            ax.axvline(ta, color="grey", ls="--", lw=0.8)
    ax.set_xscale("log")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("t")
    ax.set_ylabel(ylabel)
    if labels is not None:
        ax.legend(fontsize=7, frameon=False)
    return _save(fig, path)


def fs_curves(result) -> dict:
    """``plot_fs`` arguments for a :class:`glassdyn.dynamics.PropensityResult`: all particles and
    every type present, tau_alpha in the labels, q and the displacement kind in the axis label."""
    rows = [k for k in range(result.fs.shape[0]) if k == 0 or np.any(result.types == k)]
    labels = [("all" if k == 0 else f"type {k}")
              + (f"  tau_a = {result.tau_alpha[k]:.3g}" if np.isfinite(result.tau_alpha[k]) else "") for k in rows]
    cr = " (cage-relative)" if result.params.get("fs_cage_relative") else ""
    return {"times": result.times, "fs": result.fs[rows], "labels": labels, "tau_alpha": result.tau_alpha[0],
            "ylabel": f"F_s(q = {result.q:.3g}, t){cr}"}


def plot_propensity_distribution(result, path, times: Sequence[float] | None = None, bins: int = 60) -> str:
    """Histograms of the per-particle propensity at a few times.

    Parameters
    ----------
    result : glassdyn.dynamics.PropensityResult
    path : path-like
        PNG file to write.
    times : sequence of float, optional
        Times to show (nearest available); by default up to four log-spaced times with t > 0,
        including the one nearest tau_alpha.
    bins : int
        Largest number of bins (at most sqrt(N), at least 10).

    Returns
    -------
    str
    """
    fig = _figure()
    ax = fig.add_subplot()
    t = np.asarray(result.times, dtype=float)
    if times is None:
        cand = np.flatnonzero(t > 0)
        idx = list(cand[np.unique(np.linspace(0, len(cand) - 1, min(4, len(cand))).round().astype(int))])
        if np.isfinite(result.tau_alpha[0]):
            idx.append(result.time_index(result.tau_alpha[0]))
        idx = sorted(set(int(i) for i in idx))
    else:
        idx = sorted({result.time_index(x) for x in times})
    for k in idx:
        p = result.propensity[k]
        p = p[np.isfinite(p)]
        if len(p) == 0 or np.ptp(p) == 0:
            continue
        nb = int(min(bins, max(10, np.sqrt(len(p)))))  # fewer bins for small systems
        near_tau = np.isfinite(result.tau_alpha[0]) and k == result.time_index(result.tau_alpha[0])
        ax.hist(p / p.mean(), bins=nb, histtype="step", density=True,
                label=f"t = {t[k]:.3g}" + ("  (~tau_alpha)" if near_tau else ""))
    ax.set_yscale("log")
    kind = "<|dr|>" if result.params.get("absolute") else "<|dr|^2>"
    cr = " cage-relative" if result.params.get("cage_relative") else ""
    ax.set_xlabel(f"propensity / mean  ({kind}{cr})")
    ax.set_ylabel("probability density")
    ax.legend(fontsize=7, frameon=False)
    return _save(fig, path)
