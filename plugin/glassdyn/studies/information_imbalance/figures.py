"""Figures of the information-imbalance reproduction: every curve beside the published one.

Drawn with matplotlib's object API through :mod:`glassdyn.plots` (this module imports no plotting
library itself); each function writes one PNG atomically and returns its file name.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ...plots import colormap, new_figure, save_figure
from .constants import DESCRIPTOR_ORDER, LENGTHS, PAPER_NAMES


def _savefig(fig, path: Path) -> str:
    save_figure(fig, path, dpi=90, tight=True)
    return path.name


def by_descriptor(values: np.ndarray, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Feature values re-shaped as {descriptor: array over LENGTHS} (NaN for dropped columns)."""
    out = {}
    for d in DESCRIPTOR_ORDER:
        arr = np.full(len(LENGTHS), np.nan)
        for k, L in enumerate(LENGTHS):
            n = f"{d}_L{L:.1f}"
            if n in names:
                arr[k] = values[list(names).index(n)]
        out[d] = arr
    return out


def ref_by_descriptor(values: np.ndarray) -> dict[str, np.ndarray]:
    return {d: values[10 * b:10 * b + 10] for b, d in enumerate(DESCRIPTOR_ORDER)}


def paper_feature(j: int) -> str:
    if j == 1000:
        return "random_control"
    return f"{DESCRIPTOR_ORDER[j // 10]}_L{0.5 * (j % 10 + 1):.1f}"


def vs_L_figure(ours: dict, ref: dict | None, ylabel: str, title: str, path: Path) -> str:
    ncol = 2 if ref is not None else 1
    fig = new_figure(figsize=(5.2 * ncol, 3.9))
    axes = fig.subplots(1, ncol, sharey=True, squeeze=False)
    cmap = colormap("tab10")
    panels = [("this study", ours)] + ([("published (Sharma et al.)", ref)] if ref is not None else [])
    for ax, (lab, data) in zip(axes[0], panels):
        for k, d in enumerate(DESCRIPTOR_ORDER):
            ax.plot(LENGTHS, data[d], "-o", ms=3, color=cmap(k), label=PAPER_NAMES[d] if data is ref else d)
        ax.set_xlabel("coarse-graining length L")
        ax.set_title(lab, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
    axes[0][0].set_ylabel(ylabel)
    fig.suptitle(title, fontsize=11)
    return _savefig(fig, path)


def heldout_figure(h: dict, ref: dict | None, path: Path) -> str:
    ncol = 2 if ref is not None else 1
    fig = new_figure(figsize=(5.2 * ncol, 3.9))
    axes = fig.subplots(1, ncol, sharey=True, squeeze=False)
    styles = {"supervised": ("k", "o", "supervised imbalance order"),
              "unsupervised": ("tab:blue", "s", "unsupervised imbalance order"),
              "lasso": ("tab:red", "^", "Lasso subsets"), "random": ("tab:grey", "", "random orders (mean)")}
    refkeys = {"supervised": "pred_supervised", "unsupervised": "pred_unsupervised", "lasso": "pred_lasso",
               "random": "pred_random"}
    for ax, which in zip(axes[0], ["ours", "ref"][:ncol]):
        for k, (col, m, lab) in styles.items():
            arr = h[k] if which == "ours" else ref[refkeys[k]]
            d = np.arange(1, arr.shape[1] + 1)
            mean = np.nanmean(arr, axis=0)
            sd = np.nanstd(arr, axis=0)
            ax.plot(d, mean, "-" + m, ms=3, color=col, label=lab)
            ax.fill_between(d, mean - sd, mean + sd, color=col, alpha=0.12)
        if which == "ours":
            ax.axhline(np.nanmean(h["all_features"]), color="tab:green", ls="--", lw=1,
                       label="all features")
        ax.set_xlabel("number of features d")
        ax.set_title("this study (held-out, selection on training configs)" if which == "ours"
                     else "published", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("|Pearson r| predicted vs true propensity")
    return _savefig(fig, path)


def selection_figure(an: dict, ref: dict | None, path: Path, mode: str) -> str:
    fig = new_figure(figsize=(6.0, 4.2))
    ax = fig.subplots()
    D = an["unsupervised"].curve.size
    d = np.arange(1, D + 1)
    if mode == "supervised":
        s = an["supervised"]
        cur = s.curves["subset_to_target"][:, :D]
        ax.errorbar(d, cur.mean(0), yerr=cur.std(0), fmt="-o", ms=3, color="k", capsize=2,
                    label=r"this study: greedy $\Delta(X_S\to p)$")
        ax.plot(d, s.curves["target_to_subset"][:, :D].mean(0), "--", color="k", lw=1,
                label=r"this study: $\Delta(p\to X_S)$")
        ax.plot(d, an["lasso"].curve, "-^", ms=3, color="tab:red", label="this study: Lasso subsets")
        rb = an["random"]
        ax.plot(d, rb.curve, "-", color="tab:grey", label="this study: random orders")
        ax.fill_between(d, rb.curve - rb.spread, rb.curve + rb.spread, color="tab:grey", alpha=0.25)
        if ref is not None:
            r = ref["supervised"]
            ax.errorbar(d, r[0:10, :D].mean(0), yerr=r[0:10, :D].std(0), fmt="-o", ms=3, color="tab:orange",
                        capsize=2, mfc="none", label=r"published: greedy $\Delta(X_S\to p)$")
            ax.plot(d, r[10:20, :D].mean(0), "--", color="tab:orange", lw=1, label=r"published: $\Delta(p\to X_S)$")
        ax.set_title("supervised greedy selection")
    else:
        u = an["unsupervised"]
        ax.errorbar(d, u.curve, yerr=u.curve_per_config.std(0), fmt="-o", ms=3, color="k", capsize=2,
                    label="this study: greedy symmetric imbalance")
        for key, ls in (("full_to_subset", "--"), ("subset_to_full", ":")):
            ax.plot(d, np.nanmean(u.curves[key], axis=0), ls, color="k", lw=1, label=f"this study: {key}")
        rb = an["random_unsupervised"]
        if rb is not None:
            ax.plot(d, rb.curve, "-", color="tab:grey", label="this study: random orders")
            ax.fill_between(d, rb.curve - rb.spread, rb.curve + rb.spread, color="tab:grey", alpha=0.25)
        if ref is not None:
            r = ref["unsupervised"]
            ax.errorbar(d, r[10:20, :D].mean(0), yerr=r[10:20, :D].std(0), fmt="-o", ms=3, color="tab:orange",
                        capsize=2, mfc="none", label="published: greedy symmetric imbalance")
            ax.plot(d, r[20:30, :D].mean(0), "--", color="tab:orange", lw=1, label="published: full_to_subset")
            ax.plot(d, r[30:40, :D].mean(0), ":", color="tab:orange", lw=1, label="published: subset_to_full")
        ax.set_title("unsupervised greedy selection")
    ax.set_xlabel("number of selected features d")
    ax.set_ylabel("information imbalance")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _savefig(fig, path)


def plane_figure(an: dict, ref: dict | None, path: Path) -> str:
    ncol = 2 if ref is not None else 1
    fig = new_figure(figsize=(4.6 * ncol, 4.4))
    axes = fig.subplots(1, ncol, squeeze=False)
    cmap = colormap("tab10")
    pl = an["plane"]
    ours_x = by_descriptor(pl.forward_mean, an["names"])
    ours_y = by_descriptor(pl.backward_mean, an["names"])
    panels = [("this study", ours_x, ours_y)]
    if ref is not None:
        s = ref["single"]
        panels.append(("published", ref_by_descriptor(s[:10].mean(0)), ref_by_descriptor(s[10:].mean(0))))
    for ax, (lab, xs, ys) in zip(axes[0], panels):
        for k, d in enumerate(DESCRIPTOR_ORDER):
            ax.scatter(xs[d], ys[d], s=10 + 6 * np.arange(10), color=cmap(k), label=d)
        ax.plot([0.6, 1.05], [0.6, 1.05], ":", color="grey")
        ax.set_xlim(0.6, 1.05)
        ax.set_ylim(0.6, 1.05)
        ax.set_xlabel(r"$\Delta(X_j \to p)$")
        ax.set_ylabel(r"$\Delta(p \to X_j)$")
        ax.set_title(f"{lab} (marker size grows with L)", fontsize=9)
        ax.legend(fontsize=7)
    return _savefig(fig, path)


def fs_figure(scan: dict, dyn: dict, temperature: float, path: Path) -> str:
    fig = new_figure(figsize=(10, 3.9))
    axes = fig.subplots(1, 2)
    ax = axes[0]
    cmap = colormap("viridis")
    temps = scan["temperatures"]
    for k, T in enumerate(temps):
        p = scan["points"][f"{T:.3f}"]
        t = np.asarray(p["times"])
        ax.plot(t[t > 0], np.asarray(p["fs"])[t > 0], "-", color=cmap(k / max(1, len(temps) - 1)), lw=1,
                label=f"scan T = {T}")
    t = dyn["times"]
    m = dyn["fs"].mean(0)
    ax.plot(t[t > 0], m[t > 0], "-o", ms=3, color="k", label=f"study T = {temperature} (mean of configs)")
    ax.axhline(1 / np.e, color="grey", ls=":")
    ax.axvline(float(dyn["tau_alpha"]), color="grey", ls="--")
    ax.set_xscale("log")
    ax.set_xlabel("t (LJ time, Langevin)")
    ax.set_ylabel("cage-relative F_s(q, t)")
    ax.legend(fontsize=7)
    ax = axes[1]
    tt = np.array(scan["tau_alpha"], float)
    ok = np.isfinite(tt)
    ax.semilogy(1 / np.array(temps)[ok], tt[ok], "o-", color="k", label="scan (1 config, few replicas)")
    ax.semilogy([1 / temperature], [float(dyn["tau_alpha"])], "*", ms=12, color="tab:red", label="study")
    ax.set_xlabel("1/T")
    ax.set_ylabel("tau_alpha (LJ time)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _savefig(fig, path)


def propensity_figure(output: Path, dyn: dict, path: Path) -> str | None:
    from ...adapters.replicas import read_reference, reference_path
    ref = reference_path(output / "ensembles", 0, "lammpstrj")
    if not ref.exists():
        return None
    f = read_reference(ref).sorted_by_id()
    fig = new_figure(figsize=(4.8, 4.4))
    ax = fig.subplots()
    p = dyn["propensity"][0]
    sc = ax.scatter(f.positions[:, 0], f.positions[:, 1], c=np.log10(p), s=9, cmap="coolwarm")
    fig.colorbar(sc, ax=ax, label="log10 propensity at tau_alpha")
    ax.set_aspect("equal")
    ax.set_title("configuration 0: propensity map", fontsize=9)
    return _savefig(fig, path)


def density_figure(an: dict, ref: dict | None, path: Path) -> str:
    """Pearson r of rho and phi with the propensity vs L for every per-particle density, beside the published."""
    fig = new_figure(figsize=(10.4, 3.9))
    axes = fig.subplots(1, 2, sharey=True)
    cmap = colormap("tab10")
    prof = an["density_profiles"]
    for b, (ax, what) in enumerate(zip(axes, ("rho", "phi"))):
        for k, (opt, r) in enumerate(prof.items()):
            r = np.asarray(r, dtype=float)
            ax.plot(LENGTHS, r[10 * b:10 * b + 10], "-o", ms=3, color=cmap(k), label=opt)
        if ref is not None:
            ax.plot(LENGTHS, ref["pearson"][10 * b:10 * b + 10], "k--s", ms=3, label="published")
        ax.axhline(0, color="grey", lw=0.6)
        ax.set_xlabel("coarse-graining length L")
        ax.set_title(f"{what}: per-particle density choices", fontsize=9)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("Pearson r(feature, propensity)")
    return _savefig(fig, path)
