"""``glassdyn demo --size tiny``: the whole pipeline from one command (the run is shared, see conftest).

Checked against independent references: the held-out Pearson r of the report is recomputed from
the annotated dumps; the propensity column is recomputed by brute force from the LAMMPS replica
dumps (cage-relative displacements, all-pairs neighbour search written here); the prediction
column is recomputed from the saved model file; the OVITO example is run and must reproduce the
same Pearson r through the glassdyn OVITO modifiers.
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from glassdyn.demo.pipeline import PREDICTION, TARGET

pytestmark = [pytest.mark.lammps, pytest.mark.slow]

KA2D_SIGMA = np.array([[1.0, 0.8], [0.8, 0.88]])


def _summary(folder):
    return json.loads((folder / "summary.json").read_text())


def _glassdyn(*args, cwd=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "glassdyn.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


# ----------------------------------------------------------------------------- the numbers
def test_held_out_pearson_above_0_3_and_report_consistent(demo_tiny):
    from glassdyn.adapters.lammps_dump import read_dump

    s = _summary(demo_tiny)
    h = s["held_out"]["pearson"]
    assert h["mean"] > 0.3, f"held-out Pearson r {h['per_configuration']} (mean {h['mean']:.3f}) is not above 0.3"
    train, test = s["train_configurations"], s["test_configurations"]
    assert train and test and not set(train) & set(test)
    assert len(test) == h["n"] == len(h["per_configuration"])
    # recompute every held-out r from the annotated dumps
    rs = []
    for c in test:
        f = read_dump(demo_tiny / "annotated" / f"config_{c:03d}.dump")
        r = float(np.corrcoef(f.properties[TARGET], f.properties[PREDICTION])[0, 1])
        assert r == pytest.approx(h["per_configuration"][f"config_{c:03d}"], abs=1e-9)
        rs.append(r)
    assert np.mean(rs) == pytest.approx(h["mean"], abs=1e-9)
    assert np.std(rs, ddof=1) == pytest.approx(h["std"], abs=1e-9)
    # the report shows the same numbers
    md = (demo_tiny / "report.md").read_text()
    assert f"Pearson r = {h['mean']:.3f} +- {h['std']:.3f}" in md
    for c in test:
        assert re.search(rf"\| config_{c:03d} \| {h['per_configuration'][f'config_{c:03d}']:.3f} \|", md)
    for name in s["features"]["greedy_order"]:
        assert name in md
    if len(s["features"]["selected"]) == len(s["features"]["used"]):
        assert f"all {len(s['features']['used'])} usable features" in md
    else:
        assert f"the first {len(s['features']['selected'])} features of the greedy" in md
    assert f"{s['dynamics']['tau_alpha']:.3g}" in md
    html = (demo_tiny / "report.html").read_text()
    assert f"Pearson r = {h['mean']:.3f}" in html and "<img src='pictures/propensity_map.png'" in html
    # run time, parameters, seeds and versions are recorded
    assert s["timings"]["total"] > 0 and s["timings"]["simulate"] > 0
    assert s["parameters"]["seed"] == 0 and s["parameters"]["size"] == "tiny"
    assert s["versions"]["glassdyn"] and s["versions"]["lammps"]
    assert len(s["seeds"]["lammps"]) == s["parameters"]["configurations"]


def test_tau_alpha_and_t_star(demo_tiny):
    """tau_alpha is where the configuration-averaged F_s crosses 1/e; t* the dumped time closest to it."""
    d = _summary(demo_tiny)["dynamics"]
    t, fs, tau = np.array(d["times"]), np.array(d["fs_mean"]), d["tau_alpha"]
    assert np.isfinite(tau) and t[0] == 0 and fs[0] == pytest.approx(1.0)
    k = int(np.searchsorted(t, tau))
    assert fs[k - 1] > math.exp(-1) >= fs[k], "tau_alpha is not bracketed by the F_s crossing of 1/e"
    pos = t[t > 0]
    assert d["t_star"] == pos[np.argmin(np.abs(np.log(pos / tau)))]


def _brute_force_cage_propensity(folder, c, step):
    """<|dr_i^CR(t)|> over the replica dumps at ``step``: drift removed, neighbours at t = 0 within
    1.5 sigma_ab found over all pairs (minimum image in a square box)."""
    from glassdyn.adapters.lammps_dump import iter_dump, read_dump

    ref = read_dump(folder / "simulation" / f"config_{c:03d}" / "reference.lammpstrj").sorted_by_id()
    L = np.diag(ref.box.matrix)[:2]
    d = ref.positions[:, None, :] - ref.positions[None, :, :]
    d -= L * np.round(d / L)
    r = np.sqrt((d ** 2).sum(-1))
    cut = 1.5 * KA2D_SIGMA[ref.types[:, None] - 1, ref.types[None, :] - 1]
    A = ((r < cut) & ~np.eye(ref.n_atoms, dtype=bool)).astype(float)
    A /= A.sum(axis=1, keepdims=True)
    reps = sorted((folder / "simulation" / f"config_{c:03d}").glob("replica_*.lammpstrj"))
    p = np.zeros(ref.n_atoms)
    for path in reps:
        frames = {f.timestep: f.sorted_by_id() for f in iter_dump(path)}
        assert np.array_equal(frames[0].ids, ref.ids)
        dr = frames[step].unwrapped - frames[0].unwrapped
        dr -= dr.mean(axis=0)
        dr -= A @ dr
        p += np.sqrt((dr ** 2).sum(axis=1))
    return ref, p / len(reps)


def test_annotated_dumps_read_back_with_true_and_predicted_columns(demo_tiny):
    from glassdyn.adapters.lammps_dump import read_dump
    from glassdyn.descriptors import compute_features
    from glassdyn.modelfile import load_model

    s = _summary(demo_tiny)
    model = load_model(demo_tiny / "model.gdm")
    assert list(model.metadata_["feature_names"]) == s["features"]["selected"]
    step = s["dynamics"]["t_star_timestep"]
    assert s["parameters"]["cage_relative"] and s["parameters"]["absolute"]  # what the brute force below computes
    for c in range(s["parameters"]["configurations"]):
        f = read_dump(demo_tiny / "annotated" / f"config_{c:03d}.dump")
        ref = read_dump(demo_tiny / "simulation" / f"config_{c:03d}" / "reference.lammpstrj").sorted_by_id()
        assert f.dimension == 2
        assert np.array_equal(f.ids, ref.ids) and np.array_equal(f.types, ref.types)
        assert np.allclose(f.positions, ref.positions, atol=1e-12)
        for col in [TARGET, PREDICTION, "bond_breaking", *s["features"]["all"]]:
            assert col in f.properties, col
        for col in (TARGET, PREDICTION):
            assert np.all(np.isfinite(f.properties[col]))
        # the prediction column is the saved model applied to the descriptor columns
        X = np.column_stack([f.properties[n] for n in s["features"]["selected"]])
        assert np.allclose(model.predict(X, feature_names=s["features"]["selected"]), f.properties[PREDICTION],
                           rtol=1e-9, atol=1e-12)
    # one held-out configuration against independent computations
    c = s["test_configurations"][0]
    f = read_dump(demo_tiny / "annotated" / f"config_{c:03d}.dump")
    ref, p = _brute_force_cage_propensity(demo_tiny, c, step)
    assert np.allclose(f.properties[TARGET], p, rtol=1e-7, atol=1e-10)
    # one set of neighbour cutoffs for the demo's data set: g_ab(r) pooled over every configuration,
    # recorded in the model for glassdyn predict
    from glassdyn.structure import dataset_cutoffs
    refs = [read_dump(demo_tiny / "simulation" / f"config_{k:03d}" / "reference.lammpstrj")
            for k in range(s["parameters"]["configurations"])]
    cut, _ = dataset_cutoffs(refs, "ka2d")
    np.testing.assert_allclose(model.metadata_["descriptor_params"]["cutoffs"], cut)
    table = compute_features(ref, potential="ka2d", cutoffs=cut)
    for k, name in enumerate(table.names):
        assert np.allclose(f.properties[name], table.values[:, k], rtol=1e-12, atol=1e-12, equal_nan=True), name


def _pixels(path):
    import matplotlib.image as mpimg
    img = np.asarray(mpimg.imread(str(path)), float)
    return img[..., :3] if img.ndim == 3 else img


def test_pictures_exist_and_are_not_blank(demo_tiny):
    s = _summary(demo_tiny)
    pics = s["files"]["pictures"]
    for key in ("propensity_map", "propensity_map_matplotlib", "fs", "imbalance_plane", "imbalance_curve", "parity"):
        img = _pixels(pics[key])
        assert img.shape[0] > 200 and img.shape[1] > 200, key
        assert img.std() > 0.05, f"{key} looks blank (pixel std {img.std():.3f})"
        colours = np.unique((img.reshape(-1, 3) * 255).astype(np.uint8), axis=0)
        assert len(colours) > 50, f"{key} has only {len(colours)} colours"
    try:
        import ovito  # noqa: F401
    except ImportError:
        assert s["renderer"] == "matplotlib"
        return
    if s["renderer"] == "ovito":
        for name in ("propensity_true_ovito.png", "propensity_pred_ovito.png"):
            img = _pixels(demo_tiny / "pictures" / name)
            assert img.std() > 0.05, name


@pytest.mark.ovito
def test_ovito_example_and_session(demo_tiny):
    """open_in_ovito.py --recompute predicts with the glassdyn OVITO modifiers: same Pearson r as the report;
    demo_session.ovito loads back with both pipelines."""
    pytest.importorskip("ovito")
    s = _summary(demo_tiny)
    c = s["files"]["shown_configuration"]
    r_report = s["held_out"]["pearson"]["per_configuration"][f"config_{c:03d}"]
    proc = subprocess.run([sys.executable, "open_in_ovito.py", "--recompute"], cwd=demo_tiny, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = float(re.search(r"Pearson r\(true, predicted\) = (-?[0-9.]+)", proc.stdout).group(1))
    assert r == pytest.approx(r_report, abs=1.5e-3)
    session = demo_tiny / "demo_session.ovito"
    assert s["files"]["ovito_session"] and session.exists(), s.get("ovito_session_error")
    code = ("import sys, numpy as np\nfrom ovito import scene\nscene.load(sys.argv[1])\n"
            "ps = list(scene.pipelines)\nd = [p.compute() for p in ps]\n"
            "print(len(ps), ' '.join(sorted(k for k in d[1].particles.keys() if 'propensity' in k)), "
            f"float(np.corrcoef(d[0].particles['{TARGET}'], d[1].particles['{PREDICTION}'])[0, 1]))\n")
    proc = subprocess.run([sys.executable, "-c", code, str(session)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    words = proc.stdout.split()
    assert words[0] == "2" and PREDICTION in words[1:-1], proc.stdout
    assert float(words[-1]) == pytest.approx(r_report, abs=1e-6)


# ----------------------------------------------------------------------------- resume and bad input
def test_resume_reuses_everything_and_refuses_other_runs(demo_tiny, tmp_path):
    out = tmp_path / "demo"
    shutil.copytree(demo_tiny, out)
    before = {p: p.stat().st_mtime_ns for p in (out / "simulation").rglob("*.lammpstrj")}
    old = _summary(out)
    # without --resume: refused, nothing touched
    proc = _glassdyn("demo", "--size", "tiny", "-o", out, "--quiet")
    assert proc.returncode == 1 and "--resume" in proc.stderr
    # other parameters: refused, the message names the difference
    proc = _glassdyn("demo", "--size", "tiny", "-o", out, "--seed", "3", "--resume", "--quiet")
    assert proc.returncode == 1 and "seed" in proc.stderr and "3" in proc.stderr
    # --resume: no LAMMPS job and no ensemble analysis is redone; same numbers
    t0 = time.perf_counter()
    proc = _glassdyn("demo", "--size", "tiny", "-o", out, "--resume", "--no-render", "--quiet")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert time.perf_counter() - t0 < 120
    assert {p: p.stat().st_mtime_ns for p in (out / "simulation").rglob("*.lammpstrj")} == before
    new = _summary(out)
    assert new["held_out"] == old["held_out"]
    assert new["features"]["selected"] == old["features"]["selected"]
    assert new["renderer"] == "matplotlib"


@pytest.mark.parametrize("args, words, code", [
    (["--configurations", "3", "--train", "3"], ["train", "configurations"], 2),  # usage errors: exit code 2
    (["--n", "100"], ["n = 100", "too small"], 1),
    (["--replicas", "1"], ["at least 2 replicas"], 2),
])
def test_bad_parameters_are_refused_before_simulating(tmp_path, args, words, code, capsys):
    from glassdyn.cli import main

    out = tmp_path / "d"
    assert main(["demo", "--size", "tiny", "-o", str(out), "--quiet", *args]) == code
    err = capsys.readouterr().err
    for w in words:
        assert w in err, err
    assert not out.exists() or not any(out.iterdir())


def test_foreign_folder_is_refused(tmp_path, capsys):
    from glassdyn.cli import main

    (tmp_path / "something.txt").write_text("not a demo")
    assert main(["demo", "--size", "tiny", "-o", str(tmp_path), "--quiet"]) == 1
    assert "not empty" in capsys.readouterr().err
    assert os.listdir(tmp_path) == ["something.txt"]


def test_without_vulkan_the_demo_falls_back_to_matplotlib_pictures(demo_tiny, tmp_path):
    # failure injection: a Vulkan loader that finds no driver, as on a fresh machine without
    # mesa-vulkan-drivers; OVITO cannot render, the demo must still finish with its pictures
    out = tmp_path / "demo"
    shutil.copytree(demo_tiny, out)
    shutil.rmtree(out / "pictures")
    env = dict(os.environ, VK_ICD_FILENAMES="/nonexistent/icd.json", VK_DRIVER_FILES="/nonexistent/icd.json")
    proc = subprocess.run([sys.executable, "-m", "glassdyn.cli", "demo", "--size", "tiny", "-o", str(out),
                           "--resume", "--quiet"], capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    s = _summary(out)
    assert s["renderer"] == "matplotlib"
    assert s["held_out"] == _summary(demo_tiny)["held_out"]
    img = _pixels(s["files"]["pictures"]["propensity_map"])
    assert img.std() > 0.05
