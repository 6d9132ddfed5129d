"""The Markdown report of the Swanson et al. reproduction (every number beside the published one)."""
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
from .constants import (DATASETS, NO_MINIMISATION_FTOL, PAPER_FAST, PAPER_SEARCH, PAPER_SIZES, PAPER_SLOW,
                        PUBLISHED_ATTENTION, PUBLISHED_AUC, PUBLISHED_EIS, PUBLISHED_SET6, PUBLISHED_TG, SET_ORDER,
                        SET_TITLES)
from .figures import (attention_map_figure, attention_window_figure, auc_figure, eis_figure, graph_vs_t_figure,
                      roc_figure)
from .pipeline import GRAPH_NAMES, MODEL_TITLES, candidates, deep_summary, estimate_cost

__all__ = ["write_report", "auc_table"]


def _f(x, nd=3) -> str:
    if x is None:
        return "n/a"
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    return "n/a" if not math.isfinite(x) else f"{x:.{nd}f}"


def _pm(mean, sd, nd=3) -> str:
    if mean is None or not math.isfinite(float(mean)):
        return "n/a"
    return f"{_f(mean, nd)} ± {_f(sd, nd)}" if sd is not None and math.isfinite(float(sd)) else _f(mean, nd)


def _roc(y, s):
    from sklearn.metrics import roc_auc_score, roc_curve
    y = np.asarray(y)
    s = np.asarray(s, float)
    ok = np.isfinite(s)
    if ok.sum() < 2 or len(set(y[ok].tolist())) < 2:
        return None
    fpr, tpr, _ = roc_curve(y[ok], s[ok])
    return {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "auc": float(roc_auc_score(y[ok], s[ok])), "n": int(ok.sum())}


def auc_table(desc: dict, deep: dict, samples: dict) -> dict:
    """``{set: {model: {"auc": per fold, "auc_mean", "auc_std", "scores", ...}}}`` of every
    descriptor model and network (networks: :func:`~.pipeline.deep_summary`)."""
    out = {}
    for s in samples:
        row = {}
        for m, r in desc.get(s, {}).items():
            row[m] = dict(r)
        for m, folds in deep.get(s, {}).items():
            row[m] = deep_summary(folds, len(samples[s]))
        out[s] = row
    return out


def write_report(report_dir, *, size, thermo: dict, samples: dict, splits: dict, desc: dict, deep: dict,
                 attention: dict | None, graph_vs_t: dict, frames: dict | None = None, timings: dict | None = None,
                 command: str = "", seed: int = 1, cores: int | None = None):
    """Figures, ``summary.json`` and ``report.md`` in ``report_dir``; returns ``(path, summary)``."""
    rd = Path(report_dir)
    rd.mkdir(parents=True, exist_ok=True)
    table = auc_table(desc, deep, samples)
    sets = [s for s in SET_ORDER if s in samples]
    models = [m for m in ("descriptors", "descriptors_forest", "graph_text", "graph_code", "energy", "windows",
                          "cnn", "mpnn") if any(m in table[s] for s in sets)]
    figs = {"eis": eis_figure(thermo, size, rd / "fig_eis.png"),
            "auc": auc_figure(table, sets, models, MODEL_TITLES, rd / "fig_auc.png")}
    curves = {}
    for s in sets:
        y = [r["label"] for r in samples[s]]
        curves[s] = {m: _roc(y, table[s][m]["scores"]) for m in models if m in table[s]}
    figs["roc"] = roc_figure(curves, sets, MODEL_TITLES, rd / "fig_roc.png")
    figs["graph"] = graph_vs_t_figure(graph_vs_t, thermo, GRAPH_NAMES, rd / "fig_graph_vs_T.png")
    if attention is not None:
        if attention.get("renders"):
            figs["att_windows"] = attention_window_figure(attention["renders"], rd / "fig_attention_windows.png")
        maps = {}
        from ...adapters.lammps_dump import read_dump
        for cls, info in attention.get("maps", {}).items():
            p = rd / "attention" / info["dump"]
            if p.exists():
                f = read_dump(p)
                maps[cls] = {"positions": f.box.wrap(f.positions), "types": f.types,
                             "attention": np.asarray(f.properties["attention"], float), "T": info["T"],
                             "probability": info["probability"], "side": 1.0 / math.ceil(
                                 1.0 / float(np.mean(size.window_side)) - 1e-9)}
        if maps:
            figs["att_maps"] = attention_map_figure(maps, rd / "fig_attention_maps.png")

    cost = estimate_cost(size, cores or os.cpu_count() or 2)
    summary = {
        "glassdyn_version": glassdyn_version(), "study": "swanson", "size": asdict(size), "seed": seed,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()}, "timings_seconds": timings or {},
        "cost_estimate": cost,
        "thermo": {r: {"T": thermo["eis"][r]["T"], "eis_mean": thermo["eis"][r]["mean"],
                       "eis_std": thermo["eis"][r]["std"], "tg": thermo["eis"][r]["fit"]["tg"],
                       "tg_per_ramp": thermo["eis"][r]["tg_per_ramp"], "glass": thermo["eis"][r]["glass"]}
                   for r in ("fast", "slow")},
        "liquid_eis": thermo["liquid_eis"], "liquid_eis_unshifted": thermo["liquid_eis_unshifted"],
        "glass_eis_unshifted": {r: thermo["eis"][r]["glass_unshifted"] for r in ("fast", "slow")},
        "set6": thermo["set6"], "indices": thermo["indices"],
        "published": {"eis": PUBLISHED_EIS, "tg": PUBLISHED_TG, "auc": PUBLISHED_AUC, "set6": PUBLISHED_SET6},
        "auc": {s: {m: {k: v for k, v in r.items() if k in ("auc", "auc_mean", "auc_std", "auc_window",
                                                             "auc_window_mean", "chosen", "train_seconds",
                                                             "n_trainings", "best_params", "classifier", "level")}
                    for m, r in table[s].items()} for s in sets},
        "roc": curves,
        "splits": {s: [{k: v for k, v in f.items()} for f in splits[s]] for s in sets},
        "samples": samples,
        "attention": None if attention is None else {k: v for k, v in attention.items()
                                                     if k not in ("per_window", "renders")},
        "graph_vs_T": {"T": graph_vs_t["T"], "text_mean": np.asarray(graph_vs_t["text"]).mean(0),
                       "code_mean": np.asarray(graph_vs_t["code"]).mean(0),
                       "break_T": {c: {n: (None if f is None else f["tg"]) for n, f in graph_vs_t["fits"][c].items()}
                                   for c in ("text", "code")}},
        "training": _training(table, sets, timings or {}),
    }
    write_text_atomic(rd / "summary.json", json.dumps(to_jsonable(summary), indent=1))
    md = _markdown(summary, table, sets, models, figs, size, thermo, attention, graph_vs_t, command, cost)
    write_text_atomic(rd / "report.md", md)
    return rd / "report.md", summary


def _training(table: dict, sets, timings: dict) -> dict:
    out = {}
    for kind in ("cnn", "mpnn"):
        secs, fits = 0.0, 0
        finals = []
        for s in sets:
            for m, r in table[s].items():
                if m == kind or (kind == "mpnn" and m.startswith("mpnn_k")):
                    secs += r["train_seconds"]
                    fits += r["n_trainings"]
                    finals += r["final_seconds"]
        out[kind] = {"seconds": secs, "fits": fits, "per_fit": secs / fits if fits else float("nan"),
                     "final_fit_mean": float(np.mean(finals)) if finals else float("nan")}
    out["network_stage_wall"] = timings.get("networks", float("nan"))
    return out


def _markdown(s: dict, table: dict, sets, models, figs: dict, size, thermo: dict, att, gvt, command: str,
              cost: dict) -> str:
    L = []
    w = L.append
    w("# Reproduction: deep-learning classification of 2D liquids and glasses (Swanson et al.)\n")
    w(f"Generated by glassdyn {s['glassdyn_version']} (`glassdyn.studies.deep_classification`), size "
      f"**{size.name}**, seed {s['seed']}. A **stand-in** for the paper's data: {size.ramps} configurations per class "
      f"instead of 10,000, a slow rate of t_cool = {size.slow:.0e} instead of 2e7 (see the discussion).\n")
    if command:
        w(f"Regenerate with:\n\n```\n{command}\n```\n")
    tim = s["timings_seconds"]
    total = sum(float(v) for v in tim.values())
    w(f"Wall time of this run on this machine ({s['machine']['cpus']} cores, shared with other jobs while it ran): "
      f"**{total / 60:.1f} min** (" + ", ".join(f"{k} {float(v) / 60:.1f} min" for k, v in tim.items()) + "). "
      f"Estimated beforehand on idle cores from the measured speeds (`estimate_cost`): "
      f"{cost['wall_hours'] * 60:.0f} min.\n")
    # ------------------------------------------------------------------ set-up
    w("## What was run, beside the paper\n")
    w("| | this study | paper |\n|---|---|---|")
    w(f"| system | ka2d, N = {size.n} (L = {math.sqrt(size.n / 1.2):.1f}) | 2D Kob-Andersen 65:35, N = 4320, L = 60 |")
    w(f"| cooling, T = {size.t_start} -> {size.t_end} | fast t_cool = {size.fast:.0e}, slow {size.slow:.0e} steps | "
      f"fast {PAPER_FAST:.0e}, slow {PAPER_SLOW:.0e} |")
    w(f"| ramps per rate | {size.ramps} data ramps ({size.snapshots} snapshots, not minimised) + {size.eis_ramps} "
      f"E_IS ramps ({size.eis_snapshots} snapshots, each minimised by FIRE, force tolerance {size.eis_ftol:g}) | "
      "10,000 (200 snapshots, each minimised) |")
    w(f"| configurations per class and data set | {size.ramps} | {PAPER_SIZES['configurations_per_class']:,} |")
    w(f"| samples | random windows of side {size.window_side[0]}-{size.window_side[1]} of the box (both networks; "
      f"{size.pixels} px images for the CNN) | windows 0.1-0.3 (D-MPNN), whole configurations as 250 px images (CNN) |")
    w(f"| nested CV | {size.outer_folds} outer test sets of {size.test_fraction:.0%} of the ramps, inner 80/10/10; "
      f"{len(size.mpnn_candidates)} D-MPNN and {len(size.cnn_candidates)} CNN candidates | 3 x 20%, inner 80/10/10, "
      f"{PAPER_SIZES['tpe_iterations']} TPE iterations |")
    w(f"| D-MPNN | hidden {size.hidden}, {size.steps} steps, attention, k from the search; {size.epochs} epochs x "
      f"{size.windows_per_frame} windows per configuration | hidden {PAPER_SEARCH['hidden'][0]}-"
      f"{PAPER_SEARCH['hidden'][1]}, {PAPER_SEARCH['steps'][0]}-{PAPER_SEARCH['steps'][1]} steps, k 1-5; 10 epochs x "
      "1 window per configuration |")
    w("| splits | by ramp: the liquid and the glass of a ramp (and the fast ramp from the same start) are on one "
      "side | random configurations |\n")
    w("Data set temperatures (nearest data-series snapshot): " + ", ".join(
        f"set {k}: T = {v['T']:.3f}" for k, v in thermo["indices"].items()) + "; glasses at T = "
      f"{size.t_end}.\n")
    w("Hyperparameter candidates (`candidates`): " + "; ".join(
        f"`{c.name}` ({c.kind}: {c.why})" for c in candidates(size, "mpnn") + candidates(size, "cnn")) + ".\n")
    # ------------------------------------------------------------------ thermodynamics
    w("## Cooling: E_IS(T) and Tg per rate\n")
    w(f"![E_IS]({figs['eis']})\n")
    f, sl = thermo["eis"]["fast"], thermo["eis"]["slow"]

    def tg_row(e):
        per = [x for x in e["tg_per_ramp"] if x is not None and math.isfinite(x)]
        return f"{_f(e['fit']['tg'])} (ramps: {', '.join(_f(x) for x in per)})"
    w("E_IS is per particle. glassdyn's ka2d shifts the truncated LJ to zero at the cutoff (SCIENCE.md 1a); "
      "the published energies follow the plain truncated `lj/cut` (no shift): adding the shift energy of each "
      "inherent structure (`lj_shift_energy`, about -0.17 per particle; same forces, same minima) puts the T = 2 "
      "liquid on the published value. Both columns are given.\n")
    w("| quantity | this study (shifted LJ, as simulated) | this study, unshifted LJ | published |\n|---|---|---|---|")
    w(f"| Tg, fast (t_cool {size.fast:.0e}) | {tg_row(f)} | (same) | {PUBLISHED_TG['fast']} (2e5) |")
    w(f"| Tg, slow (t_cool {size.slow:.0e}) | {tg_row(sl)} | (same) | {PUBLISHED_TG['slow']} (2e7) |")
    w(f"| E_IS fast glass | {_pm(f['glass']['mean'], f['glass']['sd'], 4)} | {_f(f['glass_unshifted'], 4)} | "
      f"{PUBLISHED_EIS['fast_glass']} |")
    w(f"| E_IS slow glass | {_pm(sl['glass']['mean'], sl['glass']['sd'], 4)} | {_f(sl['glass_unshifted'], 4)} | "
      f"{PUBLISHED_EIS['slow_glass']} (2e7) |")
    for T, e in PUBLISHED_EIS["liquid"].items():
        w(f"| E_IS slow liquid, T = {T} | {_f(thermo['liquid_eis'][str(T)], 4)} | "
          f"{_f(thermo['liquid_eis_unshifted'][str(T)], 4)} | {e} |")
    s6 = thermo["set6"]
    w(f"| set 6: slow-liquid temperature at the fast glass's E_IS | {_f(s6['T_match'])} (snapshot T = {_f(s6['T'])}, "
      f"E_IS there {_f(s6['eis_at_T'], 4)} vs fast glass {_f(s6['target'], 4)}) | fast glass "
      f"{_f(s6.get('target_unshifted'), 4)} | {PUBLISHED_SET6['liquid_T']} "
      f"({PUBLISHED_SET6['liquid_eis'][0]} vs {PUBLISHED_SET6['glass_eis'][0]}) |\n")
    # ------------------------------------------------------------------ AUC
    w("## Classification: ROC AUC\n")
    w("Mean ± sd over the outer test folds, AUC over configurations (a configuration's score is the mean of its "
      "windows' probabilities for the networks and the window model); in brackets the AUC over windows. The paper "
      "reports AUC > 0.98 for both networks on all six data sets (0.995 for the attention D-MPNN, k = 2, set 1). "
      "Every classifier of a data set has the same folds.\n")
    w(f"![AUC]({figs['auc']})\n")
    head = "| set | " + " | ".join(MODEL_TITLES[m] for m in models) + " | published (networks) |"
    w(head)
    w("|---" * (len(models) + 2) + "|")
    for st in sets:
        cells = []
        for m in models:
            r = table[st].get(m)
            if r is None:
                cells.append("")
                continue
            c = _pm(r["auc_mean"], r["auc_std"], 2)
            if "auc_window_mean" in r:
                c += f" [{_f(r['auc_window_mean'], 2)}]"
            cells.append(c)
        pub = "> 0.98" if not DATASETS[st].get("extra") else "(not in the paper)"
        w(f"| {st}: {SET_TITLES[st]} | " + " | ".join(cells) + f" | {pub} |")
    w("")
    w(f"![ROC]({figs['roc']})\n")
    # ------------------------------------------------------------------ k scan
    ks = [m for m in table.get("1", {}) if m.startswith("mpnn_k")]
    if ks:
        w("### D-MPNN with attention on set 1: k nearest neighbours\n")
        w("| k | AUC (configurations) | AUC (windows) | training s |\n|---|---|---|---|")
        for m in sorted(ks, key=lambda x: int(x.split("_k")[1])):
            r = table["1"][m]
            w(f"| {m.split('_k')[1]} | {_pm(r['auc_mean'], r['auc_std'])} | {_f(r['auc_window_mean'])} | "
              f"{r['train_seconds']:.0f} |")
        w(f"\nPublished: {PUBLISHED_AUC['attention_set1']} with attention and k = 2 on one outer test set of set 1.\n")
    # ------------------------------------------------------------------ attention
    w("## What the D-MPNN looks at: attention\n")
    if att is None:
        w("No attention model was trained in this size.\n")
    else:
        w(f"Model: set 1, outer fold 0 (`{Path(att['model']).name}`), applied to its {len(att['test'])} outer test "
          f"configurations: {att['windows']} windows of side {att['window_side']} each (the paper's metric windows: "
          "side 0.3, ~389 particles). High-attention bonds by the authors' rule (min-max normalised weight above "
          "0.0025 within a window); per particle the sum of the relative attention of its bonds.\n")
        if figs.get("att_windows"):
            w(f"![attention windows]({figs['att_windows']})\n")
        if figs.get("att_maps"):
            w(f"![attention maps]({figs['att_maps']})\n")
        w("| per window (side %s) | glass | liquid | one-sided p (glass < liquid, per particle) | paper |" %
          att["window_side"])
        w("|---|---|---|---|---|")
        paper = {"n_components": "fewer in glass (one large graph)", "n_bb_edges": "none in glass, some in liquid",
                 "n_isolated_a": "fewer in glass", "n_isolated_b": "about 0 in both", "n_high": "-"}
        for k, v in att["metrics"].items():
            w(f"| {k} | {_f(v['glass_mean'], 1)} | {_f(v['liquid_mean'], 1)} | {_f(v['p_glass_less'], 4)} | "
              f"{paper.get(k, '')} |")
        if att.get("metrics_relative"):
            w(f"\nThe same with high attention = relative weight above {att['relative_threshold']:g} (above the window's "
              "mean; the authors' rule keeps almost every bond when the weights are not strongly peaked):\n")
            w("| per window | glass | liquid | one-sided p |\n|---|---|---|---|")
            for k, v in att["metrics_relative"].items():
                w(f"| {k} | {_f(v['glass_mean'], 1)} | {_f(v['liquid_mean'], 1)} | {_f(v['p_glass_less'], 4)} |")
        w(f"\nThe model on these larger windows: AUC {_f(att['auc_larger_windows'])} over windows, "
          f"{_f(att['auc_larger_configurations'])} over configurations (published: {PUBLISHED_AUC['attention_set1_larger']} "
          "on ~389-particle windows). Per-atom (`attention`, `attention_max`, `attention_window`, `p_glass`) "
          "and per-bond attention of one glass and one liquid configuration are in `attention/` (LAMMPS dumps for "
          "OVITO, bond tables as CSV); the OVITO modifier \"Glass attention\" and `glassdyn.mdanalysis.attention` "
          "attach the same to any configuration.\n")
        w(f"Paper: {PUBLISHED_ATTENTION}.\n")
    # ------------------------------------------------------------------ graph metrics
    w("## Graph metrics along the slow ramps\n")
    w(f"![graph metrics]({figs['graph']})\n")
    tg = thermo["eis"]["slow"]["fit"]["tg"]
    w("Temperature where each metric changes slope (two-line fit of the ramp mean; the paper: all three change "
      f"slope at Tg; slow Tg here {_f(tg)}):\n")
    w("| metric | text construction | code construction |\n|---|---|---|")
    for n in GRAPH_NAMES:
        a = s["graph_vs_T"]["break_T"]["text"].get(n)
        b = s["graph_vs_T"]["break_T"]["code"].get(n)
        w(f"| {n} | {_f(a)} | {_f(b)} |")
    w("")
    # ------------------------------------------------------------------ training time
    w("## CPU training time\n")
    tr = s["training"]
    w("| model | fits | training s (sum) | s per fit | s per final fit |\n|---|---|---|---|---|")
    for k in ("cnn", "mpnn"):
        t = tr[k]
        w(f"| {MODEL_TITLES[k]} | {t['fits']} | {t['seconds']:.0f} | {_f(t['per_fit'], 1)} | "
          f"{_f(t['final_fit_mean'], 1)} |")
    w(f"\nOne torch thread per fit, {tr['network_stage_wall'] / 60 if isinstance(tr['network_stage_wall'], float) else 0:.1f} "
      "min wall for the network stage (folds in parallel processes). Descriptor models: "
      f"{float(s['timings_seconds'].get('descriptor_models', float('nan'))):.0f} s for all of them.\n")
    # ------------------------------------------------------------------ discussion
    w("## What matches, what differs, and why\n")
    w(_discussion(s, table, sets, size, thermo, att))
    return "\n".join(L) + "\n"


def _discussion(s: dict, table: dict, sets, size, thermo: dict, att) -> str:
    out = []
    f, sl = thermo["eis"]["fast"], thermo["eis"]["slow"]
    d_glass = f["glass"]["mean"] - sl["glass"]["mean"]
    out.append(f"- **Rates and E_IS** ({'matches' if d_glass > 0 else 'differs'}): the slow glass lies "
               f"{d_glass:+.4f} per particle below the fast one (published: "
               f"{PUBLISHED_EIS['fast_glass'] - PUBLISHED_EIS['slow_glass']:+.4f} for a 100x slower rate; here the rates "
               f"differ {size.slow / size.fast:.0f}x). The slow rate is t_cool = {size.slow:.0e} instead of 2e7 "
               "because one 2e7 ramp of 4320 particles costs 2.8 h of one core (`--slow 2e7` runs the paper's rate); "
               "a faster slow rate makes a shallower glass and a higher Tg.")
    tgf, tgs = f["fit"]["tg"], sl["fit"]["tg"]
    ok = all(math.isfinite(x) and size.t_end < x < size.t_start for x in (tgf, tgs))
    out.append(f"- **Tg** ({'compare' if ok else 'not resolved'}): {_f(tgf)} (fast) and {_f(tgs)} (slow) from the "
               f"two-line fit of the mean of {size.eis_ramps} ramps per rate, published 0.39 and 0.37. "
               + ("" if ok else "At this size the E_IS curves are too noisy for the fit (few particles, few "
                                "ramps); the full size resolves it. ")
               + f"Only {size.eis_ramps} E_IS ramps per rate: each of their {size.eis_snapshots} FIRE minimisations "
               f"costs ~{s['cost_estimate']['is_per_snapshot']:.0f} s at N = {size.n}, so the data ramps skip them "
               f"(run_cooling with ftol = {NO_MINIMISATION_FTOL:g}: FIRE stops at once; their E_IS column is not used).")
    s6 = thermo["set6"]
    out.append(f"- **Set 6** (differs as expected): the slow liquid with the fast glass's mean E_IS is at T = "
               f"{_f(s6['T_match'])} (published 0.55 for 2e7 vs 2e5). With a 10x instead of 100x rate ratio the two "
               "E_IS curves separate only near Tg, so the matched liquid is barely above the slow Tg.")
    nets = [m for m in ("cnn", "mpnn") if any(m in table[x] for x in sets)]
    for m in nets:
        vals = {x: table[x][m]["auc_mean"] for x in sets if m in table[x]}
        hit = [x for x, v in vals.items() if v is not None and math.isfinite(v) and v > 0.98 and not
               DATASETS[x].get("extra")]
        paper_sets = [x for x in vals if not DATASETS[x].get("extra")]
        out.append(f"- **{MODEL_TITLES[m]}**: AUC > 0.98 on {len(hit)} of the {len(paper_sets)} paper data sets run "
                   f"here ({', '.join(hit) or 'none'}); " + ", ".join(f"set {x}: {_f(v, 2)}" for x, v in vals.items())
                   + ". The paper trained on 16,000 configurations per fold (160,000 D-MPNN windows); here "
                   f"~{int(2 * size.ramps * 0.8 * 0.9)} configurations x {size.windows_per_frame} windows x "
                   f"{size.epochs} epochs, hidden {size.hidden} instead of 300-2400, so the networks see ~100x less "
                   "data and lower AUCs are expected, most where the difference is subtle.")
    if "energy" in table.get("6", {}):
        e6 = table["6"]["energy"]["auc_mean"]
        out.append(f"- **What makes set 6 separable** (a caution the paper does not discuss): the configurations are "
                   f"thermal snapshots, the glass at T = {size.t_end} and the liquid at T = {_f(s6['T'])}; the potential "
                   f"energy per particle alone separates them with AUC {_f(e6, 2)}, because thermal vibrations raise "
                   "E_pot by about T per particle in 2D. Equal E_IS does not make the snapshots look alike; only "
                   "their inherent structures are alike. Classifying inherent structures needs them for every data "
                   "ramp, which run_cooling cannot yet do at an affordable cost (see the README).")
    if "R" in table:
        r = table["R"]
        best = max(((m, v["auc_mean"]) for m, v in r.items() if v["auc_mean"] is not None
                    and math.isfinite(v["auc_mean"])), key=lambda t: t[1], default=(None, float("nan")))
        out.append(f"- **Set R** (fast vs slow glasses, both at T = {size.t_end}; not in the paper): best "
                   f"{MODEL_TITLES.get(best[0], best[0])} AUC {_f(best[1], 2)}; here only structure (and E_IS, through "
                   "E_pot) can separate the classes.")
    if att is not None:
        m = att["metrics"]
        agree = [k for k in ("n_components", "n_bb_edges", "n_isolated_a")
                 if m[k]["glass_per_particle"] < m[k]["liquid_per_particle"]]
        out.append(f"- **Attention** ({len(agree)} of 3 metrics in the paper's direction: {', '.join(agree) or 'none'}): "
                   "glass vs liquid per window: " + "; ".join(
                       f"{k} {_f(m[k]['glass_mean'], 1)} vs {_f(m[k]['liquid_mean'], 1)} (p = {_f(m[k]['p_glass_less'], 3)})"
                       for k in ("n_components", "n_bb_edges", "n_isolated_a", "n_isolated_b")) +
                   f". Larger windows (side {att['window_side']}): AUC {_f(att['auc_larger_windows'], 2)} (published "
                   f"{PUBLISHED_AUC['attention_set1_larger']}).")
    out.append(f"- **Statistics**: {size.ramps} ramps per class and 3 outer test sets of "
               f"{int(round(size.test_fraction * size.ramps))} ramps each: a fold's configuration AUC is computed from "
               f"{2 * int(round(size.test_fraction * size.ramps))} configurations and moves in steps of "
               f"{1 / max(int(round(size.test_fraction * size.ramps)) ** 2, 1):.2f}; the window AUCs (in brackets) resolve "
               "finer. 40% of the ramps are in no outer test set, as in the paper's scheme.")
    out.append("- **Not reproduced**: 20,000 simulations, the 2e7 rate at this budget, the 15-iteration TPE search over "
               "7 hyperparameters (2 documented candidates here), hidden sizes of 300-2400, the CNN on whole "
               "250 px configurations (windows here, so that both networks see the same samples).")
    return "\n".join(out) + "\n"
