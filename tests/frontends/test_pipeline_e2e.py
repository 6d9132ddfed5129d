"""End to end through the ``glassdyn`` subcommands on a small ka2d data set at T = 0.6:

simulate -> propensity -> describe -> select -> train -> predict, held-out Pearson r > 0.3 with
the default descriptors.

The LAMMPS data come from the shared tiny demo run (conftest ``demo_tiny``, to save CI time):
``glassdyn simulate ensemble`` is called with the demo's parameters on a copy of that folder and
must recognise the finished run (same parameters, every job done) without running anything.
Every later step is a CLI call on files; tau_alpha and t* are recomputed here from the F_s tables
that ``glassdyn propensity`` writes, with an interpolation written in this test.
"""
from __future__ import annotations

import csv
import json
import math
import shutil

import numpy as np
import pytest

pytestmark = [pytest.mark.lammps, pytest.mark.slow]


def _cli(*args) -> None:
    from glassdyn.cli import main

    rc = main([str(a) for a in args])
    assert rc == 0, f"glassdyn {' '.join(map(str, args))} exited with {rc}"


def _fs_table(path):
    with open(path) as fh:
        rows = [line for line in fh if not line.startswith("#")]
    data = list(csv.DictReader(rows))
    return np.array([float(r["time"]) for r in data]), np.array([float(r["fs_all"]) for r in data])


def _tau_from_curve(t, fs, level=math.exp(-1)):
    """First crossing of ``level``, linear in log t between the bracketing points."""
    k = int(np.argmax(fs < level))
    assert fs[k] < level and k > 0
    t0, t1, f0, f1 = t[k - 1], t[k], fs[k - 1], fs[k]
    if t0 <= 0:
        return t0 + (level - f0) * (t1 - t0) / (f1 - f0)
    return math.exp(math.log(t0) + (level - f0) * (math.log(t1) - math.log(t0)) / (f1 - f0))


def test_cli_pipeline_held_out_pearson(demo_tiny, tmp_path):
    from glassdyn.adapters.lammps_dump import read_dump

    s = json.loads((demo_tiny / "summary.json").read_text())
    p = s["parameters"]
    C, train, test = p["configurations"], s["train_configurations"], s["test_configurations"]

    # 1. simulate: same parameters on a copy of the finished run -> nothing is recomputed
    sim = tmp_path / "sim"
    shutil.copytree(demo_tiny / "simulation", sim)
    before = {q: q.stat().st_mtime_ns for q in sim.rglob("*.lammpstrj")}
    assert len(before) == C * (p["replicas"] + 1)
    _cli("simulate", "ensemble", "--model", "ka2d", "--n", p["n"], "--temperature", p["temperature"],
         "--replicas", p["replicas"], "--configurations", C, "--dynamics", "md", "--steps", p["steps"],
         "--points-per-decade", p["points_per_decade"], "--equilibration-steps", p["equilibration_steps"],
         "--seed", p["seed"], "--cores", 2, "--output", sim, "--quiet")
    assert {q: q.stat().st_mtime_ns for q in sim.rglob("*.lammpstrj")} == before

    # 2. propensity: F_s and tau_alpha (plain displacements) ...
    _cli("propensity", sim, "-o", tmp_path / "fs" / "", "--no-bond-breaking", "--no-progress", "--displacement", "plain")
    curves = [_fs_table(tmp_path / "fs" / f"config_{c:03d}_propensity_fs.csv") for c in range(C)]
    t = curves[0][0]
    tau = _tau_from_curve(t, np.mean([f for _, f in curves], axis=0))
    pos = t[t > 0]
    t_star = float(pos[np.argmin(np.abs(np.log(pos / tau)))])
    assert tau == pytest.approx(s["dynamics"]["tau_alpha"], rel=1e-6)
    assert t_star == pytest.approx(s["dynamics"]["t_star"])
    # ... and the target at t*: cage-relative <|dr|> (the demo's definition)
    _cli("propensity", sim, "-o", tmp_path / "prop" / "", "--cage-relative", "--absolute", "--times", t_star,
         "--no-bond-breaking", "--no-progress")
    probe = read_dump(tmp_path / "prop" / "config_000_propensity.dump")
    target = next(k for k in probe.properties if k.startswith("propensity_cr_abs_t"))
    assert [k for k in probe.properties if k.startswith("propensity_cr_abs_t")] == [target]

    # 3. describe: the default descriptors, one set of neighbour cutoffs for all configurations (as the demo)
    props = [tmp_path / "prop" / f"config_{c:03d}_propensity.dump" for c in range(C)]
    _cli("describe", *props, "-o", tmp_path / "desc", "--quiet")
    desc = [tmp_path / "desc" / q.name for q in props]
    f0 = read_dump(desc[0])
    features = [k for k in f0.properties if "_L" in k]
    assert len(features) == 60
    usable = s["features"]["used"]
    assert set(usable) <= set(features) and len(usable) >= 55

    # 4. select on the training configurations only: the greedy order of the demo
    d = s["features"]["n_selected"]
    n = d if d < len(usable) else 8
    _cli("select", *[desc[c] for c in train], "--target", target, "-o", tmp_path / "sel", "--features", *usable,
         "--n-features", n, "--no-plots")
    with open(tmp_path / "sel" / "order.csv") as fh:
        order = [row["feature"] for row in csv.DictReader(fh)]
    assert order == s["features"]["greedy_order"][:n]  # same data, same seed -> the demo's picks
    # the demo's inner cross-validation chose d features (d = all usable ones when no greedy prefix beat them)
    chosen = order[:d] if d < len(usable) else usable
    assert sorted(chosen) == sorted(s["features"]["selected"])

    # 5. train on the training configurations (leave-one-configuration-out CV report) ...
    _cli("train", *[desc[c] for c in train], "--target", target, "--model", "ridge", "--features", *chosen,
         "-o", tmp_path / "model.gdm", "--cv", "loco")
    report = json.loads((tmp_path / "model.json").read_text())
    assert report["cross_validation"]["scores"]["summary"]["pearson"]["n"] == len(train)

    # 6. ... predict the held-out ones
    _cli("predict", *[desc[c] for c in test], "--model", tmp_path / "model.gdm", "-o", tmp_path / "pred" / "")
    rs = []
    for c in test:
        f = read_dump(tmp_path / "pred" / f"config_{c:03d}_propensity_pred.dump")
        r = float(np.corrcoef(f.properties[target], f.properties["propensity_pred"])[0, 1])
        rs.append(r)
        # the CLI path reproduces the demo's prediction of this configuration
        assert r == pytest.approx(s["held_out"]["pearson"]["per_configuration"][f"config_{c:03d}"], abs=1e-6)
    assert np.mean(rs) > 0.3, f"held-out Pearson r {rs}"
