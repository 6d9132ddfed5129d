"""The Markdown report of the information-imbalance reproduction (every number beside the published one)."""
from __future__ import annotations

import json
import math
import os
import platform
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..._atomic import write_text_atomic
from ..._util import glassdyn_version, to_jsonable
from .constants import DESCRIPTOR_ORDER, load_reference
from .figures import (by_descriptor, fs_figure, heldout_figure, paper_feature, plane_figure, propensity_figure,
                      ref_by_descriptor, selection_figure, vs_L_figure)

def _fmt(x, nd=3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:.{nd}f}"


def write_report(report_dir, an: dict, dyn: dict, scan: dict, checks: dict, size, *,
                 temperature: float, reference_dir=None, timings: dict | None = None, command: str = "",
                 output: Path | None = None, seed: int = 1) -> Path:
    """Figures, ``summary.json`` and ``report.md`` in ``report_dir``; the published curves when available."""
    rd = Path(report_dir)
    rd.mkdir(parents=True, exist_ok=True)
    ref = load_reference(reference_dir)
    names = an["names"]
    figs = {}
    figs["fs"] = fs_figure(scan, dyn, temperature, rd / "fig_fs_tau.png")
    if output is not None:
        figs["map"] = propensity_figure(Path(output), dyn, rd / "fig_propensity_map.png")
    figs["pearson"] = vs_L_figure(by_descriptor(an["pearson"], names),
                                   ref_by_descriptor(ref["pearson"]) if ref else None,
                                   "Pearson r(feature, propensity)", "Pearson coefficient vs L", rd / "fig_pearson.png")
    pl = an["plane"]
    figs["single"] = vs_L_figure(by_descriptor(pl.forward_mean, names),
                                  ref_by_descriptor(ref["single"][:10].mean(0)) if ref else None,
                                  r"$\Delta(X_j \to p)$", "single-feature information imbalance vs L",
                                  rd / "fig_single_imbalance.png")
    figs["plane"] = plane_figure(an, ref, rd / "fig_plane.png")
    figs["supervised"] = selection_figure(an, ref, rd / "fig_supervised.png", "supervised")
    figs["unsupervised"] = selection_figure(an, ref, rd / "fig_unsupervised.png", "unsupervised")
    figs["heldout"] = heldout_figure(an["heldout"], ref, rd / "fig_prediction.png")

    h = an["heldout"]
    D = size.n_select
    sup = an["supervised"]
    uns = an["unsupervised"]
    summary = {
        "glassdyn_version": glassdyn_version(), "size": asdict(size), "seed": seed, "temperature": temperature,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "timings_seconds": timings or {},
        "scan": {"temperatures": scan["temperatures"], "tau_alpha": scan["tau_alpha"]},
        "tau_alpha": float(dyn["tau_alpha"]), "tau_alpha_per_config": dyn["tau_alpha_per_config"],
        "t_propensity": float(dyn["t_propensity"]), "q": float(dyn["q"]),
        "half_r": float(np.mean(dyn["half_r"])) if "half_r" in dyn else float("nan"),
        "r_ceiling": (float(np.sqrt(2 * np.mean(dyn["half_r"]) / (1 + np.mean(dyn["half_r"]))))
                      if "half_r" in dyn else float("nan")),
        "dropped_features": an["dropped"],
        "pearson": dict(zip(names, an["pearson"])),
        "delta_feature_to_p": dict(zip(names, pl.forward_mean)),
        "delta_p_to_feature": dict(zip(names, pl.backward_mean)),
        "supervised_order": sup.order[:D], "supervised_curve": sup.curve[:D],
        "supervised_reverse_curve": sup.curves["target_to_subset"][:, :D].mean(0),
        "random_control_rank": an["random_control_rank"],
        "unsupervised_order": uns.order, "unsupervised_curve": uns.curve,
        "lasso_curve": an["lasso"].curve, "random_curve": an["random"].curve,
        "heldout": {k: np.nanmean(h[k], axis=0) for k in ("supervised", "unsupervised", "lasso", "random")},
        "heldout_all_features": float(np.nanmean(h["all_features"])),
        "heldout_imbalance": {k: np.nanmean(v, axis=0) for k, v in h.get("imbalance", {}).items()},
        "heldout_imbalance_all_features": float(np.nanmean(h.get("imbalance_all_features", np.nan))),
        "heldout_orders": h["orders"],
        "checks": checks,
    }
    write_text_atomic(rd / "summary.json", json.dumps(to_jsonable(summary), indent=1))
    md = _report_markdown(summary, an, dyn, scan, checks, size, ref, figs, reference_dir, command)
    write_text_atomic(rd / "report.md", md)
    return rd / "report.md"


def _report_markdown(s: dict, an: dict, dyn: dict, scan: dict, checks: dict, size, ref, figs,
                     reference_dir, command: str) -> str:
    names = an["names"]
    D = size.n_select
    tim = s["timings_seconds"]
    total = sum(v for v in tim.values())
    pl = an["plane"]
    L = []
    w = L.append
    w("# Reproduction: information imbalance of structural features for glassy dynamics (ternary 2D model)\n")
    w(f"Generated by glassdyn {s['glassdyn_version']} (`glassdyn.studies.information_imbalance`), size **{size.name}**, seed {s['seed']}.\n")
    if command:
        w(f"Regenerate with:\n\n```\n{command}\n```\n")
    w(f"Wall time of the run on this machine ({s['machine']['cpus']} cores, shared with other jobs while it ran): "
      f"**{total / 60:.1f} min** in all — " + ", ".join(f"{k} {v / 60:.1f} min" for k, v in tim.items()) + ".\n")
    w("Published curves: " + (f"`{reference_dir}` (Sharma et al., 3-component 2D model, 10 configurations "
                              "x 4000 particles, Monte-Carlo dynamics, 30 replicas)." if ref is not None
                              else "**not found** — the figures show this study only.") + "\n")
    # ---------------------------------------------------------------- setup
    w("## What was run\n")
    w(f"- Model `ternary2d` (SCIENCE.md 1b: 2D Lennard-Jones A:B:C = 600:330:360 scaled to N = {size.n}, density "
      "1.192, potential smoothed to C2 at 2.5 sigma, LAMMPS spline table).")
    w(f"- Dynamics: **Langevin** (`fix langevin` friction time {size.langevin_damp} + `fix nve` + `fix enforce2d`, "
      f"dt = {size.dt}). The paper used Monte-Carlo dynamics (random single-particle displacements, Metropolis). "
      "LAMMPS refuses MC translation moves in 2D (`fix gcmc`: \"Cannot use fix gcmc in a 2d simulation\"; `fix "
      "tfmc` leaves the plane), so strongly damped stochastic dynamics stands in for MC (they give the same glassy "
      "slowing down, Berthier and Kob 2007). Times are LJ time units, not MC sweeps.")
    w(f"- Temperature scan (1 configuration, {size.scan_replicas} replicas, {size.scan_steps} steps, cage-relative "
      "F_s at the first peak of S(q)):\n")
    w("  | T | tau_alpha (LJ time) | tau_alpha (steps) |\n  |---|---|---|")
    for T, t in zip(scan["temperatures"], scan["tau_alpha"]):
        w(f"  | {T} | {_fmt(t, 1)} | {'not reached' if not np.isfinite(t) else int(round(t / size.dt))} |")
    w("")
    w(f"- Study temperature **T = {s['temperature']}**: the lowest scanned temperature whose tau_alpha fits the "
      f"budget of {size.max_tau_steps} steps (the paper used its lowest reachable temperature, deeper in the "
      "supercooled regime).")
    w(f"- {size.configurations} configurations x {size.replicas} replicas (the paper: 10 x 30 with 4000 particles), "
      f"each configuration equilibrated {size.equilibration_tau} tau_alpha (Nose-Hoover NVT from a random start after "
      f"minimisation), replicas run {size.run_tau} tau_alpha.")
    w(f"- Dynamics measured (cage-relative, as in the paper): tau_alpha = **{s['tau_alpha']:.1f}** "
      f"(configuration-averaged F_s at q = {s['q']:.2f}; per configuration "
      f"{', '.join(_fmt(x, 0) for x in s['tau_alpha_per_config'])}); propensity "
      f"<|dr^CR|^2> over replicas at t = {s['t_propensity']:.1f} (the dumped time closest to tau_alpha). "
      f"Reproducibility of the propensity: Pearson r between the even and the odd replicas = "
      f"{s['half_r']:.3f} (mean over configurations), so no structural predictor can exceed |r| = "
      f"{s['r_ceiling']:.2f} against the {size.replicas}-replica propensity (Spearman-Brown).")
    w("- Features: `glassdyn.descriptors.compute_features` (rho, phi, e, psi6, Theta, z at L = 0.5..5.0, hard "
      "coarse-graining, neighbour cutoffs at the first minimum of g_ab). "
      + (f"Dropped as constant: {', '.join(s['dropped_features'])} (no pair is closer than 0.5 sigma, so the "
         "density within L = 0.5 counts the particle itself only; the paper's rho at L = 0.5 varies, so its "
         "definition of the smallest-L density differs). " if s["dropped_features"] else "")
      + f"{len(names)} features, z-scored per configuration; a N(0,1) random control column in the supervised search.")
    w("- Information imbalance: exact ranks (`glassdyn.imbalance`, ties counted as strictly-closer), per "
      "configuration then averaged. Held-out prediction: least squares (`glassdyn.learn.PropensityModel`), "
      "leave one configuration out, **every order selected on the training configurations only** (the published "
      "arrays selected on the held-out configuration itself, see the reference README).\n")
    fig = figs.get("fs")
    w(f"![F_s and tau_alpha]({fig})\n")
    if figs.get("map"):
        w(f"![propensity map]({figs['map']})\n")
    # ---------------------------------------------------------------- checks
    w("## Qualitative checks (computed)\n")
    b = checks["best_single_feature"]
    w(f"1. Best single feature is coarse-grained (L > 0.5): **{'PASS' if b['passed'] else 'FAIL'}** — lowest "
      f"Delta(X_j -> p) is `{b['imbalance']}` ({b['delta']:.3f}); highest |r| is `{b['pearson']}` "
      f"(r = {s['pearson'][b['pearson']]:.3f}).")
    p = checks["plateau"]
    w(f"2. Supervised order reaches its plateau with fewer features than the unsupervised and random orders, out "
      f"of sample (orders selected on the training configurations, Delta(X_S -> p) on the held-out one; plateau = "
      f"first d with 1 - Delta >= {p['fraction']} x (1 - {p['all_features_delta']:.3f}), the value with all "
      f"features): **{'PASS' if p['passed'] else 'FAIL'}** — supervised d = {p['d']['supervised']}, unsupervised "
      f"d = {p['d']['unsupervised']}, random d = {p['d']['random']}, Lasso d = {p['d']['lasso']} (None: not within "
      f"{size.n_select}).")
    p = checks["plateau_prediction"]
    w(f"   - The same on held-out prediction accuracy (least squares |r|, the paper's Fig. 7; informational): "
      f"**{'holds' if p['passed'] else 'does not hold'}** — first d with |r| >= {p['fraction']} x "
      f"{p['all_features_r']:.3f} (all features): supervised d = {p['d']['supervised']}, unsupervised "
      f"d = {p['d']['unsupervised']}, random d = {p['d']['random']}, Lasso d = {p['d']['lasso']}.")
    rc = checks["random_control"]
    where = (f"picked at rank {rc['rank']}" if rc["rank"] is not None
             else f"not picked in the first {rc['n_picks']}")
    w(f"3. Random control is not among the first picks (rank > 5): **{'PASS' if rc['passed'] else 'FAIL'}** — "
      f"{where} of {rc['n_candidates']} candidates in the supervised greedy search.\n")
    # ---------------------------------------------------------------- comparison
    w("## Curve by curve, beside the published ones\n")
    rp = ref
    w("### Pearson coefficient vs L\n")
    w(f"![Pearson]({figs['pearson']})\n")
    top = np.argsort(-np.abs(an["pearson"]))[:5]
    w("Top |r| here: " + ", ".join(f"`{names[k]}` {an['pearson'][k]:+.3f}" for k in top) + ".")
    if rp is not None:
        rr = rp["pearson"]
        topr = np.argsort(-np.abs(rr))[:5]
        w(" Published: " + ", ".join(f"`{paper_feature(k)}` {rr[k]:+.3f}" for k in topr) + ".")
        ours = np.array([s["pearson"].get(paper_feature(j), np.nan) for j in range(60)])
        ok = np.isfinite(ours)
        sign = np.mean(np.sign(ours[ok]) == np.sign(rr[ok]))
        corr = np.corrcoef(ours[ok], rr[ok])[0, 1]
        w(f" Same sign for {sign * 100:.0f}% of the features; correlation of the two 60-vectors r = {corr:.2f}.")
    w("\n")
    w("### Single-feature imbalance vs L and the imbalance plane\n")
    w(f"![single]({figs['single']})\n\n![plane]({figs['plane']})\n")
    best = np.argsort(pl.forward_mean)[:5]
    w("Lowest Delta(X_j -> p) here: " + ", ".join(f"`{names[k]}` {pl.forward_mean[k]:.3f} "
                                                  f"(reverse {pl.backward_mean[k]:.3f})" for k in best) + ".")
    if rp is not None:
        f = rp["single"][:10].mean(0)
        bk = rp["single"][10:].mean(0)
        bb = np.argsort(f)[:5]
        w(" Published: " + ", ".join(f"`{paper_feature(k)}` {f[k]:.3f} (reverse {bk[k]:.3f})" for k in bb) + ".")
    gap = np.abs(pl.forward_mean - pl.backward_mean)
    kmax = int(np.argmax(gap))
    w(f" |Delta(X_j -> p) - Delta(p -> X_j)| here: median {np.median(gap):.3f}, largest {gap[kmax]:.3f} for "
      f"`{names[kmax]}` (a feature with many tied values: with the strict tie rule, ranks in a tied space are "
      "small, which lowers Delta(p -> X_j)). The paper's finding is a nearly symmetric plane: no single feature is "
      "more informative than the propensity.\n")
    w("### Greedy supervised selection\n")
    w(f"![supervised]({figs['supervised']})\n")
    sup = an["supervised"]
    w("Picks here: " + ", ".join(f"`{n}`" for n in sup.order[:D]) + ".")
    w(f" Delta(X_S -> p) for d = 1..{D}: " + ", ".join(f"{x:.3f}" for x in sup.curve[:D]) + ".")
    if rp is not None:
        r = rp["supervised"]
        w(" Published (mean of 10 configurations): " + ", ".join(f"{x:.3f}" for x in r[0:10, :D].mean(0)) + ".")
        firsts = [paper_feature(int(x)) for x in r[20:30, 0]]
        w(" Published first pick per configuration: " + ", ".join(f"`{x}`" for x in firsts) + ".")
    w(" Lasso-subset Delta: " + ", ".join(_fmt(x) for x in an["lasso"].curve) + "; random orders: "
      + ", ".join(f"{x:.3f}" for x in an["random"].curve) + ".\n")
    w("### Greedy unsupervised selection\n")
    w(f"![unsupervised]({figs['unsupervised']})\n")
    uns = an["unsupervised"]
    w("Picks here: " + ", ".join(f"`{n}`" for n in uns.order) + "; symmetric imbalance: "
      + ", ".join(f"{x:.3f}" for x in uns.curve) + ".")
    if rp is not None:
        r = rp["unsupervised"]
        w(" Published symmetric imbalance: " + ", ".join(f"{x:.3f}" for x in r[10:20, :D].mean(0)) + ".")
    w("\n")
    w("### Held-out prediction accuracy vs number of features\n")
    w(f"![prediction]({figs['heldout']})\n")
    w("| d | supervised | unsupervised | Lasso | random |" + (" published sup. | unsup. | Lasso | random |"
                                                              if rp is not None else ""))
    w("|---|---|---|---|---|" + ("---|---|---|---|" if rp is not None else ""))
    hm = s["heldout"]
    for d in range(D):
        row = f"| {d + 1} | " + " | ".join(_fmt(hm[k][d]) for k in ("supervised", "unsupervised", "lasso", "random"))
        if rp is not None:
            row += " | " + " | ".join(f"{rp[k].mean(0)[d]:.3f}" for k in
                                      ("pred_supervised", "pred_unsupervised", "pred_lasso", "pred_random"))
        w(row + " |")
    w(f"\nAll {len(names)} features (least squares): |r| = {s['heldout_all_features']:.3f}.\n")
    if s.get("heldout_imbalance"):
        hi = s["heldout_imbalance"]
        w("Held-out Delta(X_S -> p) of each order (orders from the training configurations, imbalance on the "
          f"held-out one; all features: {s['heldout_imbalance_all_features']:.3f}):\n")
        w("| d | supervised | unsupervised | Lasso | random |\n|---|---|---|---|---|")
        for d in range(D):
            w(f"| {d + 1} | " + " | ".join(_fmt(hi[k][d]) for k in ("supervised", "unsupervised", "lasso", "random"))
              + " |")
        w("")
    # ---------------------------------------------------------------- discussion
    w("## What matches, what differs, and why\n")
    w(_discussion(s, an, checks, size, rp))
    return "\n".join(L) + "\n"


def _discussion(s: dict, an: dict, checks: dict, size, ref) -> str:
    out = []
    b = checks["best_single_feature"]
    hm = s["heldout"]
    pl = an["plane"]
    p2, p2b = checks["plateau"], checks["plateau_prediction"]
    verdict = []
    verdict.append(f"best single feature coarse-grained: {'yes' if b['passed'] else 'no'} (`{b['imbalance']}`; "
                   "published `Theta_L2.0`)")
    verdict.append(f"supervised plateau first (held-out imbalance): {'yes' if p2['passed'] else 'no'} "
                   f"(d = {p2['d']['supervised']} vs unsupervised {p2['d']['unsupervised']}, random {p2['d']['random']})")
    verdict.append(f"same on held-out linear prediction: {'yes' if p2b['passed'] else 'no'} "
                   f"(d = {p2b['d']['supervised']} vs {p2b['d']['unsupervised']}, {p2b['d']['random']})")
    rc = checks["random_control"]
    verdict.append(f"random control late: {'yes' if rc['passed'] else 'no'} (rank {rc['rank'] or '> ' + str(rc['n_picks'])})")
    out.append("- **Qualitative findings**: " + "; ".join(verdict) + ".")
    ours_best = float(np.nanmax(hm["supervised"]))
    paper_best = float(ref["pred_supervised"].mean(0)[-1]) if ref is not None else float("nan")
    out.append(f"- **Level of predictability** (differs): held-out |r| reaches {ours_best:.2f} here "
               + (f"vs {paper_best:.2f} published" if ref is not None else "")
               + f"; the best single-feature imbalance is {pl.forward_mean.min():.3f}"
               + (" vs 0.840 published" if ref is not None else "") + ". Reasons: (i) **statistics of the "
               f"propensity** — {size.replicas} replicas instead of 30: the even and odd halves of the replicas "
               f"agree only with r = {s['half_r']:.2f}, which caps any structural predictor at |r| ~ "
               f"{s['r_ceiling']:.2f}; noise in the target lowers every correlation and pushes every imbalance towards 1; "
               f"(ii) **temperature** — T = {s['temperature']} (tau_alpha = {s['tau_alpha']:.0f} LJ time with "
               "friction time 0.1) is mildly supercooled; the paper worked at its lowest reachable temperature, where "
               "structure predicts more of the dynamics; (iii) **dynamics** — Langevin instead of MC (the same "
               f"glassy slowing down, another microscopic time); (iv) **size** — {size.configurations} x {size.n} "
               "particles instead of 10 x 4000: noisier imbalances, so the greedy picks beyond the first few are "
               "less stable.")
    if ref is not None:
        rr = ref["pearson"]
        ours = np.array([s["pearson"].get(paper_feature(j), np.nan) for j in range(60)])
        ok = np.isfinite(ours)
        corr = float(np.corrcoef(ours[ok], rr[ok])[0, 1])
        same = float(np.mean(np.sign(ours[ok]) == np.sign(rr[ok])))
        flips = [DESCRIPTOR_ORDER[b] for b in range(6)
                 if np.nanmean(np.sign(ours[10 * b:10 * b + 10]) != np.sign(rr[10 * b:10 * b + 10])) > 0.5]
        pbest = paper_feature(int(np.argmax(np.abs(rr))))
        out.append(f"- **Which descriptor**: highest |r| here `{b['pearson']}` (r = {s['pearson'][b['pearson']]:+.3f}), "
                   f"published `{pbest}` (r = {rr[np.argmax(np.abs(rr))]:+.3f})"
                   + (" — **the same feature**" if b["pearson"] == pbest else "")
                   + f". The 60 Pearson coefficients correlate with the published ones at r = {corr:.2f} and have the "
                   f"same sign for {same * 100:.0f}% of the features"
                   + (f"; the sign differs for most lengths of {', '.join(flips)}" if flips else "")
                   + f". Lowest single-feature imbalance: `{b['imbalance']}` here, `Theta_L2.0` published. Reasons for "
                   "the differences: the model (GlassBench ternary mixture, SCIENCE.md 1b) and temperature, and the "
                   "descriptor details (neighbour cutoffs at the first minimum of g_ab, hard coarse-graining including "
                   "the particle itself; the density at L = 0.5 is constant here, so the paper's rho must be defined "
                   "differently at small L).")
        if not p2b["passed"]:
            out.append("- **Held-out linear prediction** (differs): the supervised imbalance order is not the fastest "
                       "to the least-squares plateau here. Information imbalance rewards features that fix the "
                       "propensity's neighbourhood structure whatever the functional form (first picks here: "
                       + ", ".join(f"`{n}`" for n in an["supervised"].order[:5]) + "), while least squares only uses linear dependence, which Lasso and Pearson-like "
                       "orders target directly; with |r| of order 0.3 the curves are also within their spread "
                       "(shaded bands). On the out-of-sample imbalance, the measure the selection optimises, the "
                       "supervised order " + ("does" if p2["passed"] else "does not") + " reach its plateau first "
                       "(check 2).")
        out.append("- **Held-out protocol** (differs on purpose): the published prediction curves selected each "
                   "order on the held-out configuration itself (a leak for the supervised order, see the reference "
                   "README); here every order is selected on the training configurations only, which can only lower "
                   "the supervised curve.")
    out.append("- **Not reproduced**: the paper's Monte-Carlo dynamics (not available in LAMMPS 2D), its "
               "temperature (far too slow for 2 shared cores in an hour), 4000-particle configurations and 30 "
               "replicas; the published F_s(t) and tau_alpha(T) curves are not among the reference arrays, so "
               "they are shown for this study only.")
    return "\n".join(out) + "\n"
