"""Figures of the Swanson et al. reproduction, each beside the published numbers.

Drawn with matplotlib's object API through :mod:`glassdyn.plots` (this module imports no plotting
library itself); each function writes one PNG atomically and returns its file name.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ...plots import colormap, new_figure, save_figure
from .constants import PUBLISHED_AUC, PUBLISHED_EIS, PUBLISHED_TG, SET_TITLES

TYPE_COLOURS = {1: "#ff7f0e", 2: "#1f77b4"}   # the paper's orange A, blue B
RATE_COLOURS = {"fast": "tab:red", "slow": "tab:blue"}


def _save(fig, path: Path) -> str:
    save_figure(fig, path, dpi=90, tight=True)
    return Path(path).name


def eis_figure(thermo: dict, size, path: Path) -> str:
    """E_IS(T) per rate (mean +- sd over the E_IS ramps) with the two-line fits and Tg, beside the
    published liquid and glass energies and Tg; right: the data series' thermal E_pot(T)."""
    fig = new_figure(figsize=(11.0, 4.2))
    ax, ax2 = fig.subplots(1, 2)
    for rate in ("fast", "slow"):
        e = thermo["eis"][rate]
        T, m, sd = np.asarray(e["T"]), np.asarray(e["mean"]), np.asarray(e["std"])
        tc = size.fast if rate == "fast" else size.slow
        col = RATE_COLOURS[rate]
        ax.errorbar(T, m, yerr=sd, fmt="o", ms=3, color=col, capsize=1.5, label=f"{rate}: t_cool = {tc:.0e}")
        fit = e["fit"]
        tg = fit["tg"]
        lo, hi = fit["low"], fit["high"]
        tl = np.linspace(min(T), max(tg, min(T)) if np.isfinite(tg) else max(T), 20)
        th = np.linspace(min(max(tg, min(T)), max(T)) if np.isfinite(tg) else min(T), max(T), 20)
        ax.plot(tl, lo["slope"] * tl + lo["intercept"], "-", color=col, lw=1)
        ax.plot(th, hi["slope"] * th + hi["intercept"], "--", color=col, lw=1)
        if np.isfinite(tg) and min(T) <= tg <= max(T):
            ax.axvline(tg, color=col, ls=":", lw=1)
        d = thermo["data"][rate]
        ax2.plot(d["T"], d["epot"], "-", color=col, lw=1.2, label=f"{rate} (data series, thermal)")
    pl = PUBLISHED_EIS["liquid"]
    ax.plot(list(pl), list(pl.values()), "*", ms=10, color="k", mfc="none", label="published liquids (t_cool 2e7)")
    ax.plot([0.05], [PUBLISHED_EIS["slow_glass"]], "s", ms=8, color="tab:blue", mfc="none",
            label="published slow glass (2e7)")
    ax.plot([0.05], [PUBLISHED_EIS["fast_glass"]], "s", ms=8, color="tab:red", mfc="none",
            label="published fast glass (2e5)")
    for rate, tg in PUBLISHED_TG.items():
        ax.axvline(tg, color=RATE_COLOURS[rate], ls="-", lw=0.6, alpha=0.4)
    s6 = thermo["set6"]
    ax.axhline(s6["target"], color="grey", lw=0.8, ls="-.")
    ax.plot([s6["T_match"]], [s6["target"]], "D", color="grey", ms=6, label=f"set 6 match, T = {s6['T_match']:.3f}")
    ax.set_xlabel("T (set point of the ramp)")
    ax.set_ylabel("E_IS per particle")
    ax.set_title("inherent-structure energy (dotted: Tg of the fit; faint: published Tg)", fontsize=9)
    ax.legend(fontsize=6.5)
    ax.grid(alpha=0.3)
    ax2.set_xlabel("T")
    ax2.set_ylabel("E_pot per particle (snapshots)")
    ax2.set_title("what the classifiers see: thermal snapshots", fontsize=9)
    ax2.legend(fontsize=7)
    ax2.grid(alpha=0.3)
    return _save(fig, path)


def auc_figure(table: dict, sets: Sequence[str], models: Sequence[str], titles: dict, path: Path) -> str:
    """Grouped bars: mean outer-fold AUC (error bar: sd) per data set and classifier, with the
    published bound (> 0.98 for both networks)."""
    fig = new_figure(figsize=(11.0, 4.0))
    ax = fig.subplots()
    cmap = colormap("tab10")
    width = 0.8 / max(len(models), 1)
    x = np.arange(len(sets))
    for k, m in enumerate(models):
        mean = [table.get(s, {}).get(m, {}).get("auc_mean", np.nan) for s in sets]
        sd = [table.get(s, {}).get(m, {}).get("auc_std", np.nan) for s in sets]
        ax.bar(x + (k - (len(models) - 1) / 2) * width, np.nan_to_num(mean, nan=0.0), width, yerr=np.nan_to_num(sd),
               color=cmap(k % 10), label=titles.get(m, m), capsize=1.5)
    ax.axhline(PUBLISHED_AUC["networks_all_sets"], color="k", ls="--", lw=1, label="published: CNN and D-MPNN > 0.98")
    ax.axhline(0.5, color="grey", ls=":", lw=1)
    ax.set_xticks(x)
    ax.set_xticklabels([f"set {s}" for s in sets])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("ROC AUC (outer test folds, configurations)")
    ax.legend(fontsize=6.5, ncol=3, loc="lower left")
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def roc_figure(curves: dict, sets: Sequence[str], titles: dict, path: Path) -> str:
    """ROC curves of the pooled out-of-fold configuration scores, one panel per data set."""
    n = len(sets)
    ncol = min(4, n)
    nrow = int(np.ceil(n / ncol))
    fig = new_figure(figsize=(3.1 * ncol, 3.0 * nrow))
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
    cmap = colormap("tab10")
    for ax, s in zip(axes, sets):
        for k, (m, c) in enumerate(curves.get(s, {}).items()):
            if c is None:
                continue
            ax.plot(c["fpr"], c["tpr"], "-", color=cmap(k % 10), lw=1.2, label=f"{titles.get(m, m)} ({c['auc']:.2f})")
        ax.plot([0, 1], [0, 1], ":", color="grey")
        ax.set_title(f"set {s}: {SET_TITLES[s]}", fontsize=7.5)
        ax.set_xlabel("false positive rate", fontsize=7)
        ax.set_ylabel("true positive rate", fontsize=7)
        ax.legend(fontsize=5, loc="lower right")
    for ax in axes[n:]:
        ax.set_axis_off()
    return _save(fig, path)


def _segments(pos: np.ndarray, pairs: np.ndarray):
    xs, ys = [], []
    for a, b in pairs:
        xs += [pos[a, 0], pos[b, 0], np.nan]
        ys += [pos[a, 1], pos[b, 1], np.nan]
    return xs, ys


def attention_window_figure(renders: dict, path: Path) -> str:
    """A glass and a liquid window as the network sees them: particles by type (orange A, blue B),
    bonds drawn with a width growing with their relative attention, high-attention bonds green
    (the paper's Fig. 8)."""
    kinds = [k for k in ("glass", "liquid") if k in renders]
    fig = new_figure(figsize=(5.2 * len(kinds), 5.0))
    axes = np.atleast_1d(fig.subplots(1, len(kinds), squeeze=False)).ravel()
    for ax, kind in zip(axes, kinds):
        r = renders[kind]
        pos = np.asarray(r["positions"], float)
        types = np.asarray(r["types"])
        pairs = np.asarray(r["pairs"], dtype=np.int64).reshape(-1, 2)
        bond = np.asarray(r["bond"], float)
        high = np.asarray(r["high"], bool)
        if len(bond):
            edges = np.quantile(bond, [0.0, 0.5, 0.8, 0.95, 1.0])
            for q in range(4):
                sel = (bond >= edges[q]) & (bond <= edges[q + 1]) & ~high
                if sel.any():
                    xs, ys = _segments(pos, pairs[sel])
                    ax.plot(xs, ys, "-", color="0.6", lw=0.4 + 0.8 * q, zorder=1)
            if high.any():
                w = bond[high]
                cuts = np.quantile(w, [0.0, 0.5, 0.9, 1.0])
                for q in range(3):
                    sel = high & (bond >= cuts[q]) & (bond <= cuts[q + 1])
                    xs, ys = _segments(pos, pairs[sel])
                    ax.plot(xs, ys, "-", color="tab:green", lw=1.0 + 1.5 * q, zorder=2)
        for t, col in TYPE_COLOURS.items():
            m = types == t
            ax.scatter(pos[m, 0], pos[m, 1], s=14, color=col, zorder=3, edgecolors="none",
                       label="A" if t == 1 else "B")
        c = r["counts"]
        ax.set_title(f"{kind} (T = {r['T']:.2f}), p(glass) = {r['probability']:.2f}\n"
                     f"high-attention graph: {c['n_components']} components, {c['n_bb_edges']} B-B bonds, "
                     f"{c['n_isolated_a']} isolated A, {c['n_isolated_b']} isolated B", fontsize=7.5)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(fontsize=7, loc="upper right")
    return _save(fig, path)


def attention_map_figure(maps: dict, path: Path) -> str:
    """Per-particle attention (sum of the relative attention of its bonds) over whole
    configurations tiled with windows: a glass and a liquid."""
    kinds = [k for k in ("glass", "liquid") if k in maps]
    fig = new_figure(figsize=(5.0 * len(kinds), 4.6))
    axes = np.atleast_1d(fig.subplots(1, len(kinds), squeeze=False)).ravel()
    vmax = max(float(np.quantile(maps[k]["attention"], 0.99)) for k in kinds) if kinds else 1.0
    for ax, kind in zip(axes, kinds):
        m = maps[kind]
        pos = np.asarray(m["positions"], float)
        sc = ax.scatter(pos[:, 0], pos[:, 1], c=m["attention"], s=6, cmap="viridis", vmin=0, vmax=vmax,
                        edgecolors="none")
        b = np.asarray(m["types"]) == 2
        ax.scatter(pos[b, 0], pos[b, 1], s=1.5, color="white", edgecolors="none")
        fig.colorbar(sc, ax=ax, label="per-atom attention (sum over bonds)")
        ax.set_title(f"{kind} (T = {m['T']:.2f}): tiles of side {m['side']:.2f}, mean p(glass) = "
                     f"{m['probability']:.2f}; white dots: B", fontsize=7.5)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    return _save(fig, path)


def graph_vs_t_figure(gvt: dict, thermo: dict, names: Sequence[str], path: Path) -> str:
    """The three graph metrics per particle along the slow ramps (mean over ramps), both
    constructions, with their slope-change temperatures and the slow Tg."""
    fig = new_figure(figsize=(11.0, 3.6))
    axes = fig.subplots(1, 3)
    tg = thermo["eis"]["slow"]["fit"]["tg"]
    T = np.asarray(gvt["T"])
    for ax, (m, name) in zip(axes, enumerate(names)):
        for cons, col in (("text", "k"), ("code", "tab:purple")):
            arr = np.asarray(gvt[cons])[:, :, m]
            mean = arr.mean(0)
            sd = arr.std(0)
            ax.plot(T, mean, "-", color=col, lw=1.2, label=f"{cons} construction")
            ax.fill_between(T, mean - sd, mean + sd, color=col, alpha=0.15)
            fit = gvt["fits"][cons].get(name)
            if fit is not None and np.isfinite(fit["tg"]) and T.min() <= fit["tg"] <= T.max():
                ax.axvline(fit["tg"], color=col, ls=":", lw=1)
        if np.isfinite(tg):
            ax.axvline(tg, color="tab:blue", ls="--", lw=1, label=f"Tg slow = {tg:.2f}")
        ax.set_xlabel("T")
        ax.set_title(name.replace("_", " "), fontsize=8)
        ax.legend(fontsize=6)
        ax.grid(alpha=0.3)
    return _save(fig, path)
