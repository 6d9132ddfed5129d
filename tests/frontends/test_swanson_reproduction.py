"""``glassdyn reproduce swanson --size reduced`` end to end with LAMMPS (the deep-classification study).

One run per test session, shared by the tests of this module and by every xdist worker (file lock,
like the demo fixture): ka2d N = 500, 8 data ramps per rate of 1e4 (fast) and 1e5 (slow) steps +
2 E_IS ramps per rate, the seven data sets, descriptor models, the CNN and the attention D-MPNN on
sets 1 and 6, attention analysis, report. The tests check the numbers behind the report against
independent computations (scikit-learn, scipy, the dumps themselves) and the physics that must
hold even at this size.
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.lammps, pytest.mark.slow]


@contextlib.contextmanager
def _lock(path: Path):
    try:
        import fcntl
    except ImportError:  # pragma: no cover
        yield
        return
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def study(tmp_path_factory):
    """The finished reduced study (run through the command line once per session)."""
    pytest.importorskip("torch")
    from glassdyn.errors import InputError
    from glassdyn.lammps.runner import find_lammps
    try:
        find_lammps()
    except InputError as exc:
        pytest.skip(f"LAMMPS is not available: {exc}")
    from glassdyn.cli import main
    from glassdyn.studies.deep_classification import run_study
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    work = root / "swanson_reduced"
    with _lock(root / "swanson_reduced.lock"):
        if not (work / "summary.json").exists():
            code = main(["reproduce", "swanson", "--size", "reduced", "-o", str(work), "--seed", "1", "--cores", "2",
                         "--quiet"])
            assert code == 0, "glassdyn reproduce swanson --size reduced failed"
    # every stage is cached: this returns at once with the same numbers
    res = run_study(work, size="reduced", seed=1, cores=2, verbose=False)
    res["work"] = work
    return res


def test_report_has_every_number_beside_the_published_one(study):
    work = study["work"]
    md = (work / "report.md").read_text()
    for published in ("-3.9029", "-3.8674", "-3.7647", "-3.8863", "0.39", "0.37", "> 0.98", "0.995", "0.957"):
        assert published in md, published
    for section in ("E_IS(T) and Tg", "ROC AUC", "attention", "Graph metrics", "CPU training time",
                    "What matches, what differs"):
        assert section in md, section
    assert "stand-in" in md
    for png in ("fig_eis.png", "fig_auc.png", "fig_roc.png", "fig_graph_vs_T.png", "fig_attention_windows.png",
                "fig_attention_maps.png"):
        p = work / png
        assert p.exists() and 2_000 < p.stat().st_size < 600_000, png
    s = json.loads((work / "summary.json").read_text())
    assert set(s["auc"]) == {"1", "2", "3", "4", "5", "6", "R"}
    assert {"cnn", "mpnn"} <= set(s["auc"]["1"]) and {"cnn", "mpnn"} <= set(s["auc"]["6"])
    assert s["training"]["mpnn"]["fits"] == 3 * 2 * 3 and s["training"]["cnn"]["fits"] == 3 * 2


def test_cooling_physics(study):
    """Slower cooling: a deeper glass; E_IS falls on cooling; the inherent structures lie below the
    snapshots; the shift correction matches an independent recomputation from the dump."""
    th = study["thermo"]
    fast, slow = th["eis"]["fast"], th["eis"]["slow"]
    assert slow["glass"]["mean"] < fast["glass"]["mean"] - 0.01
    T = np.asarray(slow["T"])
    hot, cold = np.asarray(slow["mean"])[T > 1.5].mean(), np.asarray(slow["mean"])[T < 0.3].mean()
    assert cold < hot - 0.05
    assert np.all(np.asarray(slow["mean"]) <= np.asarray(slow["epot_mean"]) + 1e-9)
    # the unshifted-LJ energy of one inherent structure, by the definition (scipy pairs, no glassdyn neighbours)
    from scipy.spatial import cKDTree

    from glassdyn.adapters.lammps_dump import read_dump
    from glassdyn.studies.deep_classification import get_size
    size = get_size("reduced")
    f = read_dump(study["work"] / "cooling_eis" / "config_000" / f"tcool_{size.slow}" / "inherent.lammpstrj", 0)
    L = f.box.lengths[0]
    pairs = cKDTree(f.positions % L, boxsize=L).query_pairs(2.5, output_type="ndarray")
    d = f.positions[pairs[:, 0]] - f.positions[pairs[:, 1]]
    r = np.linalg.norm(d - L * np.round(d / L), axis=1)
    ti, tj = f.types[pairs[:, 0]], f.types[pairs[:, 1]]
    eps = np.array([[1.0, 1.5], [1.5, 0.5]])[ti - 1, tj - 1]
    sig = np.array([[1.0, 0.8], [0.8, 0.88]])[ti - 1, tj - 1]
    inside = r < 2.5 * sig
    lj = 4 * eps * ((sig / r) ** 12 - (sig / r) ** 6)
    shift = 4 * eps * (2.5 ** -12 - 2.5 ** -6)
    e_shifted = np.sum((lj - shift)[inside]) / f.n_atoms
    e_plain = np.sum(lj[inside]) / f.n_atoms
    k0 = int(np.argmax(T))
    assert slow["per_ramp"][0][k0] == pytest.approx(e_shifted, abs=1e-6)       # eis.txt = LAMMPS = definition
    cached = np.loadtxt(study["work"] / "eis_shift" / f"config_000_tcool_{size.slow}.txt")
    assert cached[k0] == pytest.approx(e_plain - e_shifted, abs=1e-9)
    # set 6: the slow liquid sits where the slow E_IS(T) meets the fast glass's mean E_IS
    s6 = th["set6"]
    assert size.t_end < s6["T_match"] < size.t_start and abs(s6["T"] - s6["T_match"]) < 0.03


def test_splits_keep_each_ramp_on_one_side(study):
    for s, folds in study["splits"].items():
        rows = study["samples"][s]
        for f in folds:
            test_ramps = {rows[i]["config"] for i in f["test"]}
            train_ramps = {rows[i]["config"] for i in f["train"]}
            assert not (test_ramps & train_ramps)
            assert sorted({rows[i]["label"] for i in f["test"]}) == [0, 1]
        tested = [i for f in folds for i in f["test"]]
        assert len(tested) == len(set(tested)) == 12          # 3 disjoint test sets of 2 of the 8 ramps


def test_fast_vs_slow_glasses_are_told_apart_on_held_out_ramps(study):
    """Set R (glasses of the two rates, 1e4 vs 1e5 steps): a descriptor model separates held-out
    configurations. Honest margin: 12 out-of-fold configurations (6 per class, never seen in
    training, selection inside the training folds); under random labels the AUC of 6 vs 6 exceeds
    0.86 with probability < 1% (exact Mann-Whitney), so AUC >= 0.86 and p < 0.01 are required."""
    from scipy.stats import mannwhitneyu
    from sklearn.metrics import roc_auc_score
    y = np.array([r["label"] for r in study["samples"]["R"]])
    scores = np.asarray(study["descriptor"]["R"]["descriptors"]["scores"], float)
    ok = np.isfinite(scores)
    assert ok.sum() == 12 and y[ok].sum() == 6
    auc = roc_auc_score(y[ok], scores[ok])
    p = mannwhitneyu(scores[ok][y[ok] == 1], scores[ok][y[ok] == 0], alternative="greater", method="exact").pvalue
    assert auc >= 0.86 and p < 0.01, (auc, p)
    # the per-fold AUCs of the report are these scores' AUCs fold by fold
    folds = study["splits"]["R"]
    rep = study["descriptor"]["R"]["descriptors"]["auc"]
    for f, a in zip(folds, rep):
        assert a == pytest.approx(roc_auc_score(y[f["test"]], scores[f["test"]]))


def test_networks_learn_set_1_on_held_out_ramps(study):
    """Set 1 (glass vs liquid at T ~ 2): the attention D-MPNN ranks the held-out windows better
    than chance. 12 held-out configurations x 8 windows: window AUC > 0.75 (chance spread of an
    AUC over 48 vs 48 windows is ~0.06, windows of one configuration are correlated: the margin
    is several of those)."""
    from sklearn.metrics import roc_auc_score
    folds = study["deep"]["1"]["mpnn"]
    yw, pw = [], []
    for f in folds:
        lab = np.asarray(f["test"]["labels"])
        yw += lab[np.asarray(f["test"]["window_owner"])].tolist()
        pw += f["test"]["window_proba"]
    assert roc_auc_score(yw, pw) > 0.75
    assert all(f["chosen"] in ("k2", "k4") and len(f["inner"]) == 2 for f in folds)


def test_attention_files_and_metrics(study):
    from glassdyn.adapters.lammps_dump import read_dump
    att = study["attention"]
    assert att is not None and att["fold"] == 0
    for cls in ("glass", "liquid"):
        info = att["maps"][cls]
        f = read_dump(study["work"] / "attention" / info["dump"])
        assert {"attention", "attention_max", "attention_window", "p_glass"} <= set(f.properties)
        assert np.all(np.asarray(f.properties["attention"]) > 0)          # every particle is in a tile graph
        bonds = np.loadtxt(study["work"] / "attention" / info["bonds"], delimiter=",", skiprows=1)
        # per-atom attention = sum of the attention of its bonds (read back from the two files)
        ids = f.ids
        atom = np.zeros(len(ids))
        pos = {int(i): k for k, i in enumerate(ids)}
        for a, b, w, _ in bonds:
            atom[pos[int(a)]] += w
            atom[pos[int(b)]] += w
        np.testing.assert_allclose(atom, f.properties["attention"], rtol=1e-4, atol=1e-5)
    for rule in ("metrics", "metrics_relative"):
        assert set(att[rule]) == {"n_components", "n_bb_edges", "n_isolated_a", "n_isolated_b", "n_high"}


def test_resume_and_refuse_other_parameters(study, tmp_path):
    from glassdyn.cli import main
    from glassdyn.errors import InputError
    from glassdyn.studies.deep_classification import run_study
    with pytest.raises(InputError, match="holds a study with other parameters"):
        run_study(study["work"], size="reduced", seed=2, verbose=False)
    assert main(["reproduce", "swanson", "--size", "full", "--estimate"]) == 0
    assert main(["reproduce", "swanson", "--size", "reduced", "--temperature", "0.5", "-o", str(tmp_path)]) == 2
