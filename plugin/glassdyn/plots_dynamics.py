"""Plots of dynamics results: F_s(q, t) and the distribution of propensities (matplotlib, PNG).

Uses the non-interactive Agg backend; every figure is written to a temporary file in the
target folder and renamed, so a plot is never half-written.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ._atomic import savefig_atomic

__all__ = ["plot_fs", "plot_propensity_distribution"]


def _figure():
    import matplotlib
    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    return Figure(figsize=(5.0, 3.8), dpi=120, layout="constrained")


def _save(fig, path) -> str:
    savefig_atomic(fig, path, format="png")
    return os.fspath(path)


def plot_fs(result, path) -> str:
    """F_s(q, t) against log t (all particles and each type) with tau_alpha marked.

    Parameters
    ----------
    result : glassdyn.dynamics.PropensityResult
    path : path-like
        PNG file to write.

    Returns
    -------
    str
        The path written.
    """
    fig = _figure()
    ax = fig.add_subplot()
    t = np.asarray(result.times, dtype=float)
    pos = t > 0
    labels = ["all"] + [f"type {k}" for k in range(1, result.fs.shape[0])]
    for k in range(result.fs.shape[0]):
        if k > 0 and not np.any(result.types == k):
            continue
        ax.plot(t[pos], result.fs[k][pos], marker="o", ms=3, lw=1.2 if k == 0 else 0.8,
                label=labels[k] + (f"  tau_a = {result.tau_alpha[k]:.3g}" if np.isfinite(result.tau_alpha[k]) else ""))
    ax.axhline(1.0 / np.e, color="grey", ls=":", lw=0.8)
    if np.isfinite(result.tau_alpha[0]):
        ax.axvline(result.tau_alpha[0], color="grey", ls="--", lw=0.8)
    ax.set_xscale("log")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("t")
    cr = " (cage-relative)" if result.params.get("fs_cage_relative") else ""
    ax.set_ylabel(f"F_s(q = {result.q:.3g}, t){cr}")
    ax.legend(fontsize=7, frameon=False)
    return _save(fig, path)


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
