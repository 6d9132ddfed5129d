"""Markdown and HTML reports of a ``glassdyn demo`` run.

:func:`write_report` turns the demo summary (the dict also written as ``summary.json``) into
``report.md`` and a self-contained ``report.html`` (pictures linked by relative paths). Every
number in the report comes from the summary; nothing is computed here.
"""
from __future__ import annotations

import html
import os
from pathlib import Path

from .._atomic import write_text_atomic

__all__ = ["write_report", "markdown_report", "html_report"]


def _fmt(v, digits: int = 3) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{digits}g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"
    return str(v)


def _rel(path, root: Path) -> str:
    return os.path.relpath(str(path), str(root)).replace(os.sep, "/")


def _machine_text(s: dict) -> str:
    m = s.get("machine") or {}
    text = (f"Wall-clock seconds per stage and in total; CPU seconds include the LAMMPS processes. "
            f"{m.get('cores_used')} LAMMPS processes at once on a machine with {m.get('cpu_count')} CPUs")
    if m.get("load_average_at_end"):
        text += f" (load average at the end: {m['load_average_at_end'][0]:.1f})"
    return text + "."


def _definition(p: dict) -> str:
    dr = "dr^CR" if p.get("cage_relative") else "dr"
    core = f"|{dr}|" if p.get("absolute") else f"|{dr}|^2"
    text = f"<{core}>_iso"
    if p.get("cage_relative"):
        text += (" (cage-relative displacement: minus the mean displacement of the t = 0 neighbours within "
                 "1.5 sigma_ab, which removes the 2D long-wavelength motion)")
    return text


def _inner_text(f: dict) -> str:
    cv = f.get("inner_cv")
    if not cv:
        return f"The model uses the first {len(f['selected'])} picks (fixed by the user)."
    pairs = ", ".join(f"d = {d}{' (all)' if d == len(f['used']) else ''}: {m:.3f}" for d, m in zip(cv["d"], cv["mean"]))
    text = (f"The number of features d was chosen by leave-one-configuration-out cross-validation inside the "
            f"training configurations (greedy order recomputed in every inner fold; held-out configurations "
            f"unused; every usable feature is a candidate too): mean Pearson r {pairs}; chosen d = {cv['best']}.")
    if cv.get("all_features"):
        text += (" On these data no prefix of the greedy information-imbalance order beat the full feature set, "
                 "so the model uses every usable feature; the greedy order above still ranks the descriptors.")
    return text


def _sections(s: dict, root: Path) -> list[tuple[str, list]]:
    """The report as (heading, blocks); a block is ("p", text), ("table", header, rows),
    ("img", path, caption), ("list", items) or ("code", text)."""
    p = s["parameters"]
    d = s["dynamics"]
    h = s["held_out"]
    f = s["features"]
    pics = s["files"]["pictures"]
    per = h["pearson"]["per_configuration"]
    out: list[tuple[str, list]] = []
    out.append(("Result", [
        ("p", f"Propensity at t* = {_fmt(d['t_star'])} (closest dumped time to tau_alpha = {_fmt(d['tau_alpha'])}, "
              f"LJ time) predicted from local structure on held-out configurations: "
              f"**Pearson r = {h['pearson']['mean']:.3f} +- {h['pearson']['std']:.3f}** (mean +- standard deviation "
              f"over {h['pearson']['n']} held-out configurations; min {min(per.values()):.3f}), Spearman "
              f"{h['spearman']['mean']:.3f}, R^2 {h['r2']['mean']:.3f}. Model: {s['model']['kind']} trained on the "
              f"configurations {s['train_configurations']} with "
              + (f"all {len(f['used'])} usable features (chosen over the greedy information-imbalance prefixes "
                 f"by inner cross-validation)." if len(f["selected"]) == len(f["used"]) else
                 f"the first {len(f['selected'])} features of the greedy information-imbalance order (computed on "
                 f"the training configurations only); with all {len(f['used'])} usable features instead: "
                 f"Pearson r = {s['held_out_all_features']['pearson']['mean']:.3f}.")),
        ("table", ["held-out configuration", "Pearson r", "Spearman", "R^2", "MAE"],
         [[k, f"{v:.3f}", f"{h['spearman']['per_configuration'][k]:.3f}",
           f"{h['r2']['per_configuration'][k]:.3f}", _fmt(h['mae']['per_configuration'][k])]
          for k, v in per.items()]),
        ("img", pics.get("propensity_map"), f"True (left) and predicted (right) propensity of a held-out "
                                            f"configuration, rendered with "
                                            f"{'OVITO' if s['renderer'] == 'ovito' else 'matplotlib'}."),
    ]))
    out.append(("Dynamics", [
        ("p", f"Self-intermediate scattering function F_s(q, t) at q = {_fmt(d['q'])} (first peak of S(q)), "
              f"averaged over the {p['replicas']} replicas of each configuration; tau_alpha (F_s = 1/e) of the "
              f"configuration average = {_fmt(d['tau_alpha'])}, per configuration "
              f"{', '.join(_fmt(v) for v in d['tau_alpha_per_configuration'])}. The propensity "
              f"{_definition(p)} is taken at t* = {_fmt(d['t_star'])} (step {d['t_star_timestep']})."),
        ("img", pics.get("fs"), "F_s(q, t); dotted line: tau_alpha, dashed: 1/e."),
    ]))
    dropped = f["dropped"]
    out.append(("Features and information imbalance", [
        ("p", f"{len(f['all'])} default descriptors (rho, phi, e, psi6, Theta, z at L = 0.5 ... 5.0) per particle; "
              f"{len(f['used'])} usable"
              + (f" (dropped: {', '.join(f'{k} - {v}' for k, v in dropped.items())})" if dropped else "")
              + ". Greedy supervised selection minimising Delta(X_S -> p) on the training configurations picked, "
                "in order:"),
        ("table", ["pick", "feature", "Delta(X_S -> p)", "random orders (mean)", "used by the model"],
         [[str(k + 1), name, f"{f['selection_curve'][k]:.3f}", f"{f['random_curve'][k]:.3f}",
           "yes" if name in f["selected"] else ""]
          for k, name in enumerate(f.get("greedy_order", f["selected"]))]),
        ("p", _inner_text(f)),
        ("img", pics.get("n_features"), "Inner cross-validation: Pearson r against the number of features."),
        ("p", "Single features closest to the propensity in the imbalance plane: " + ", ".join(f["plane_best"]) + "."),
        ("img", pics.get("imbalance_plane"), "Information-imbalance plane of single features (training "
                                             "configurations), with the path of the greedy picks."),
        ("img", pics.get("imbalance_curve"), "Delta against the number of selected features, with random orders."),
        ("img", pics.get("parity"), "Predicted against true propensity, held-out configurations."),
    ]))
    t = s["timings"]
    out.append(("Run", [
        ("table", ["stage", "seconds"], [[k.replace("_", " "), f"{v:.1f}"] for k, v in t.items()]),
        ("p", _machine_text(s)),
        ("table", ["parameter", "value"],
         [[k, _fmt(v)] for k, v in p.items() if k != "dump_steps"]
         + [["dump steps", f"{len(p['dump_steps'])} log-spaced steps from 0 to {p['dump_steps'][-1]}"],
            ["train / test configurations", f"{s['train_configurations']} / {s['test_configurations']}"],
            ["base seed", str(s["seeds"]["base"])]]),
        ("p", "Every LAMMPS seed (equilibration and each replica) derives from the base seed and is listed in "
              "`simulation/manifest.json` and `summary.json`."),
        ("table", ["software", "version"], [[k, _fmt(v)] for k, v in s["versions"].items()]),
    ]))
    files = s["files"]
    items = [f"`{_rel(files['annotated'][files['shown_configuration']], root)}` and the other "
             "`annotated/config_XXX.dump`: reference configurations with every descriptor column, `propensity`, "
             "`propensity_cr_abs_pred`, `bond_breaking` (LAMMPS dump; OVITO and MDAnalysis read it)",
             f"`{_rel(files['model'], root)}`: the trained model; `glassdyn predict DUMP --model model.gdm -o OUT` "
             "applies it to any ka2d dump",
             f"`{_rel(files['ovito_script'], root)}`: builds the OVITO pipelines (`python open_in_ovito.py`, "
             "`--recompute` to run the glassdyn OVITO modifiers)"]
    if files.get("ovito_session"):
        items.append(f"`{_rel(files['ovito_session'], root)}`: OVITO session state (open it in OVITO)")
    elif s.get("ovito_session_error"):
        items.append(f"no OVITO session state: {s['ovito_session_error']}")
    items.append("`summary.json`: every number of this report")
    out.append(("Files", [("list", items)]))
    return out


def markdown_report(summary: dict, root) -> str:
    """The report as Markdown (pictures by paths relative to ``root``)."""
    root = Path(root)
    lines = [f"# {summary['title']}", ""]
    for head, blocks in _sections(summary, root):
        lines += [f"## {head}", ""]
        for b in blocks:
            if b[0] == "p":
                lines += [b[1], ""]
            elif b[0] == "table":
                lines += ["| " + " | ".join(b[1]) + " |", "|" + "---|" * len(b[1])]
                lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in b[2]]
                lines.append("")
            elif b[0] == "img" and b[1]:
                lines += [f"![{b[2]}]({_rel(b[1], root)})", "", f"*{b[2]}*", ""]
            elif b[0] == "list":
                lines += [f"- {it}" for it in b[1]] + [""]
    return "\n".join(lines)


def _inline(text: str) -> str:
    """Escape and turn **bold** and `code` into HTML."""
    import re
    t = html.escape(text)
    t = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", t)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", t)


def html_report(summary: dict, root) -> str:
    """The report as one HTML page (pictures linked relative to ``root``)."""
    root = Path(root)
    parts = ["<!DOCTYPE html>", "<html><head><meta charset='utf-8'>", f"<title>{html.escape(summary['title'])}</title>",
             "<style>body{font-family:sans-serif;max-width:60em;margin:auto;padding:1em}"
             "table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #bbb;padding:2px 8px}"
             "img{max-width:100%}figcaption{font-style:italic;color:#444}</style></head><body>",
             f"<h1>{html.escape(summary['title'])}</h1>"]
    for head, blocks in _sections(summary, root):
        parts.append(f"<h2>{html.escape(head)}</h2>")
        for b in blocks:
            if b[0] == "p":
                parts.append(f"<p>{_inline(b[1])}</p>")
            elif b[0] == "table":
                parts.append("<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in b[1]) + "</tr>")
                parts += ["<tr>" + "".join(f"<td>{_inline(str(c))}</td>" for c in row) + "</tr>" for row in b[2]]
                parts.append("</table>")
            elif b[0] == "img" and b[1]:
                parts.append(f"<figure><img src='{html.escape(_rel(b[1], root))}' alt='{html.escape(b[2])}'>"
                             f"<figcaption>{_inline(b[2])}</figcaption></figure>")
            elif b[0] == "list":
                parts.append("<ul>" + "".join(f"<li>{_inline(it)}</li>" for it in b[1]) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(output, summary: dict) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` into ``output``; returns both paths."""
    root = Path(output)
    md, page = root / "report.md", root / "report.html"
    write_text_atomic(md, markdown_report(summary, root))
    write_text_atomic(page, html_report(summary, root))
    return md, page
