"""The deep pieces the Swanson study adds: nested-CV folds, attention maps per atom and bond, input
normalisations, model files with them, and the command line (``glassdyn classify --model mpnn
--save-model`` / ``--apply``, tampered files refused). Every training here takes a few seconds."""
from __future__ import annotations

import csv
import json
import zipfile

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from glassdyn.adapters.lammps_dump import read_dump, write_dump  # noqa: E402
from glassdyn.classification import nested_splits  # noqa: E402
from glassdyn.cli import main  # noqa: E402
from glassdyn.deep import (Candidate, GraphFeaturizer, ImageFeaturizer, TrainConfig, attention_map,  # noqa: E402
                           evaluate_fold, high_attention, load_model, mpnn_classifier)
from glassdyn.deep.data import collate_graphs, graph_from_points  # noqa: E402
from glassdyn.errors import InputError  # noqa: E402
from glassdyn.frame import Box, Frame  # noqa: E402
from glassdyn.graph import undirected_weights  # noqa: E402
from glassdyn.windows import tile_windows  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def lattice_or_poisson(n_frames, *, cells=14, noise=0.08, seed=0):
    """Label 1: jittered square lattice, label 0: Poisson points, same density (as test_deep.py)."""
    rng = np.random.default_rng(seed)
    L = float(cells)
    grid = np.stack(np.meshgrid(np.arange(cells), np.arange(cells)), -1).reshape(-1, 2) + 0.5
    frames, labels = [], []
    for i in range(n_frames):
        label = i % 2
        pos = grid + rng.normal(0.0, noise, grid.shape) if label else rng.uniform(0.0, L, grid.shape)
        types = np.where(rng.random(len(grid)) < 0.65, 1, 2)
        frames.append(Frame(pos % L, types, Box.orthorhombic([L, L]), ids=np.arange(1, len(grid) + 1),
                            source=f"synthetic-{seed}", index=i))
        labels.append(label)
    return frames, np.array(labels)


TRAIN = {"epochs": 4, "batch_size": 10, "windows_per_frame": 3, "val_windows_per_frame": 3, "lr_init": 1e-3,
         "lr_max": 3e-3, "lr_final": 1e-3, "select": "window_auc"}


def _mpnn(name="k2", k=2, hidden=24):
    return Candidate(name, "mpnn", {"hidden": hidden, "steps": 2, "ffn_hidden": 12, "attention": True,
                                    "attention_steps": 1, "readout": "mean"},
                     {"k": k, "side": [0.3, 0.5], "distance_offset": 1.0, "distance_scale": 0.1}, TRAIN, "test")


@pytest.fixture(scope="module")
def task():
    return lattice_or_poisson(24, seed=11)


@pytest.fixture(scope="module")
def fold(task):
    frames, y = task
    split = nested_splits(y, seed=0)[0]
    return split, evaluate_fold(frames, y, split, [_mpnn("k2", 2), _mpnn("k3", 3, hidden=16)], seed=1,
                                n_eval_windows=4)


def test_evaluate_fold_searches_then_tests_on_held_out_configurations(task, fold):
    frames, y = task
    split, res = fold
    assert res["chosen"] in ("k2", "k3") and [r["candidate"] for r in res["inner"]] == ["k2", "k3"]
    assert all(r["scored_on"] == "inner_test" for r in res["inner"])
    assert res["test"]["indices"] == split["test"].tolist() and res["n_train"] == len(split["inner_train"]) + len(
        split["inner_test"])
    assert res["test"]["auc"] > 0.95 and res["test"]["auc_window"] > 0.9       # a separable task
    assert len(res["test"]["window_proba"]) == 4 * len(split["test"])
    json.dumps(res)                                                            # plain JSON
    with pytest.raises(InputError, match="share an architecture"):
        evaluate_fold(frames, y, split, [_mpnn(), Candidate("c", "cnn", {}, {"pixels": 16})])


def test_attention_map_per_atom_and_per_bond(task):
    frames, y = task
    clf = mpnn_classifier(k=2, side=(0.3, 0.5), hidden=12, steps=2, attention=True, attention_steps=1, seed=0)
    clf.fit(frames[:8], y[:8], frames[8:12], y[8:12], config=TrainConfig(epochs=1, batch_size=8))
    f = frames[1]
    am = attention_map(clf, f)                                # tiles of the mean side 0.4 -> 1/3
    assert len(am.windows) == 9 and np.all(am.window >= 0)
    assert np.all(np.isfinite(am.probability)) and len(am.metrics) == 9
    # by hand: every tile's graph, relative weights E a, mean over the two directions, sums per atom
    atom = np.zeros(f.n_atoms)
    for w in tile_windows(f, 0.4):
        att = clf.attention(f, w)
        a = att["weights"][0]
        assert a.sum() == pytest.approx(1.0, abs=1e-6)
        pairs, bond, part = undirected_weights(att["src"], att["dst"], a * a.size, f.n_atoms, reduce="mean")
        atom += part
    np.testing.assert_allclose(am.atom, atom, rtol=1e-6, atol=1e-9)
    assert am.atom_max.max() <= am.atom.max() + 1e-12
    cols = am.per_atom("p_glass")
    assert set(cols) == {"attention", "attention_max", "attention_window", "p_glass"}
    assert am.counts()["probability"] == pytest.approx(np.mean(am.window_probability))
    with pytest.raises(InputError, match="attention"):
        attention_map(mpnn_classifier(hidden=4, steps=1), f)


def test_high_attention_rules():
    w = np.array([0.001, 0.001, 0.5, 0.498])
    np.testing.assert_array_equal(high_attention(w), [False, False, True, True])     # authors: min-max > 0.0025
    np.testing.assert_array_equal(high_attention(w, 1.0), [False, False, True, True])  # relative E a > 1
    assert high_attention(np.full(5, 0.2)).all()
    with pytest.raises(InputError):
        high_attention(w, "median")


def test_input_normalisations():
    rng = np.random.default_rng(0)
    g = graph_from_points(rng.uniform(0, 4, (20, 2)), rng.integers(1, 3, 20), 2)
    b = collate_graphs([g], 2, distance_scale=0.1, distance_offset=1.0)
    np.testing.assert_allclose(b.edge_attr.numpy()[:, 0], (g.dist - 1.0) / 0.1, rtol=1e-5)
    assert GraphFeaturizer(distance_offset=1.0).config()["distance_offset"] == 1.0
    im = np.full((1, 4, 4, 3), 255, np.uint8)
    im[0, 0, 0] = 0
    t = ImageFeaturizer(pixels=4, center=True).collate([im[0]])
    assert float(t.max()) == 1.0 and float(t.min()) == -1.0
    assert float(ImageFeaturizer(pixels=4).collate([im[0]]).min()) == 0.0
    with pytest.raises(InputError, match="select"):
        TrainConfig(select="accuracy")


def _dumps(folder, frames, y, names=("poisson", "lattice")):
    paths = {0: [], 1: []}
    for k, (f, lab) in enumerate(zip(frames, y)):
        p = folder / f"{names[lab]}_{k:02d}.dump"
        write_dump(p, f)
        paths[int(lab)].append(str(p))
    return paths


def test_cli_trains_saves_applies_and_refuses_tampering(tmp_path, task, capsys):
    frames, y = task
    paths = _dumps(tmp_path, frames[:16], y[:16])
    rep, model = tmp_path / "rep.json", tmp_path / "model.gdnn"
    args = ["classify", "--class", "poisson", *paths[0], "--class", "lattice", *paths[1], "--model", "mpnn",
            "--k", "2", "--hidden", "16", "--steps", "2", "--epochs", "3", "--windows-per-frame", "3",
            "--window-side", "0.3", "0.5", "--eval-windows", "4", "-o", str(rep), "--save-model", str(model)]
    assert main(args) == 0
    r = json.loads(rep.read_text())
    assert r["classes"] == ["lattice", "poisson"] and len(r["auc"]) == 3 and len(r["configurations"]) == 16
    assert r["saved_model"]["candidate"] == "k2_dropout0.1"
    loaded = load_model(model)
    assert loaded.metadata_["extra"]["classes"] == ["lattice", "poisson"]
    assert loaded.featurizer.distance_offset == 1.0 and loaded.model.attention
    # --apply: the CSV holds the loaded model's window-mean probability of the positive class
    new = [tmp_path / f"new_{k}.dump" for k in range(4)]
    for p, f in zip(new, frames[16:20]):
        write_dump(p, f)
    probs, att, bonds = tmp_path / "p.csv", tmp_path / "att.lammpstrj", tmp_path / "bonds.csv"
    assert main(["classify", "--apply", str(model), *map(str, new), "-o", str(probs), "--eval-windows", "5",
                 "--attention-dump", str(att), "--bonds", str(bonds)]) == 0
    rows = list(csv.DictReader(open(probs)))
    assert [int(r["frame"]) for r in rows] == [0, 0, 0, 0] and "p_poisson" in rows[0]
    from glassdyn.deep.data import draw_windows
    fr = [read_dump(p).sorted_by_id() for p in new]
    wins = draw_windows(loaded.featurizer, fr, 5, 0)
    pw = loaded.predict_window_proba(fr, wins)[:, 1]
    want = [pw[[i for i, (o, _) in enumerate(wins) if o == k]].mean() for k in range(4)]
    np.testing.assert_allclose([float(r["p_poisson"]) for r in rows], want, atol=2e-6)
    a = read_dump(att, 0)
    assert {"attention", "attention_max", "attention_window", "p_poisson"} <= set(a.properties)
    b = list(csv.DictReader(open(bonds)))
    assert b and set(b[0]) == {"configuration", "id_i", "id_j", "attention", "high"}
    # a tampered model file is refused, naming the file, with a one-line error and exit code 1
    bad = tmp_path / "bad.gdnn"
    with zipfile.ZipFile(model) as zin, zipfile.ZipFile(bad, "w") as zout:
        for name in zin.namelist():
            zout.writestr(name, zin.read(name))
        zout.writestr("payload.pkl", b"\x80\x04K\x01.")
    capsys.readouterr()
    assert main(["classify", "--apply", str(bad), str(new[0]), "-o", str(tmp_path / "x.csv")]) == 1
    err = capsys.readouterr().err
    assert "bad.gdnn" in err and "refusing" in err and not (tmp_path / "x.csv").exists()
    # option combinations are refused before any work (usage error, exit code 2)
    assert main(["classify", "--class", "a", *paths[0], "--class", "b", *paths[1], "-o", str(rep),
                 "--save-model", str(model)]) == 2                       # a descriptor model is not saved
    assert main(["classify", "--apply", str(model), str(new[0]), "-o", str(tmp_path / "y.json")]) == 2   # not .csv
    assert "--save-model" in capsys.readouterr().err
