"""The deep-learning classifiers (glassdyn.deep): CNN, D-MPNN with edge attention, training,
model files. Every training run here is tiny (a few seconds of one CPU thread)."""
from __future__ import annotations

import io
import json
import pickle
import zipfile

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from glassdyn.deep import (
    CNN,
    DMPNN,
    GraphFeaturizer,
    TrainConfig,
    augment_images,
    cnn_classifier,
    collate_graphs,
    graph_from_points,
    load_model,
    lr_schedule,
    mpnn_classifier,
    read_meta,
    resolve_device,
    save_model,
)
from glassdyn.deep.train import roc_auc
from glassdyn.errors import InputError
from glassdyn.frame import Box, Frame
from glassdyn.windows import Window


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: on a shared 2-core machine this is much faster than two."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def lattice_or_poisson(n_frames, *, cells=16, noise=0.08, seed=0):
    """Label 1: square lattice (spacing 1) with Gaussian noise; label 0: Poisson points at the
    same density. Types 1 and 2 drawn 65:35."""
    rng = np.random.default_rng(seed)
    L = float(cells)
    grid = np.stack(np.meshgrid(np.arange(cells), np.arange(cells)), -1).reshape(-1, 2) + 0.5
    frames, labels = [], []
    for i in range(n_frames):
        label = i % 2
        pos = grid + rng.normal(0.0, noise, grid.shape) if label else rng.uniform(0.0, L, grid.shape)
        types = np.where(rng.random(len(grid)) < 0.65, 1, 2)
        frames.append(Frame(pos % L, types, Box.orthorhombic([L, L]), source=f"synthetic-{seed}", index=i))
        labels.append(label)
    return frames, np.array(labels)


@pytest.fixture(scope="module")
def task():
    return {"train": lattice_or_poisson(40, seed=1), "val": lattice_or_poisson(16, seed=2),
            "test": lattice_or_poisson(30, seed=3)}


FAST = dict(epochs=5, batch_size=10, windows_per_frame=2, lr_init=1e-3, lr_max=3e-3, lr_final=1e-3, seed=0)


# ============================================================================ learning
def test_cnn_learns_lattice_vs_poisson(task):
    clf = cnn_classifier(pixels=48, side=(0.3, 0.5), fc=16, seed=0)
    assert clf.model.fc1.in_features == 16 * 9 * 9  # 48 -> 44 -> 22 -> 18 -> 9
    clf.fit(*task["train"], *task["val"], config=TrainConfig(**FAST))
    frames, y = task["test"]
    p = clf.predict_proba(frames, n_windows=3, seed=1)
    assert p.shape == (len(frames), 2) and np.allclose(p.sum(1), 1.0)
    assert roc_auc(y, p[:, 1]) > 0.95
    assert len(clf.history_) == FAST["epochs"] and clf.best_epoch_ is not None


@pytest.mark.parametrize("attention", [False, True])
def test_mpnn_learns_lattice_vs_poisson(task, attention):
    clf = mpnn_classifier(k=2, side=(0.3, 0.5), hidden=32, steps=2, ffn_hidden=16, attention=attention, seed=0)
    # attention after every step (the authors' choice) scales the last edge states by ~1/E: slower start
    clf.fit(*task["train"], *task["val"], config=TrainConfig(**{**FAST, "epochs": 10 if attention else 5}))
    frames, y = task["test"]
    p = clf.predict_proba(frames, n_windows=3, seed=1)
    assert roc_auc(y, p[:, 1]) > 0.95
    if attention:
        frame = frames[0]
        w = clf.featurizer.windows(frame, 1, seed=0)[0]
        att = clf.attention(frame, w)
        assert len(att["weights"]) == 2 and np.allclose([a.sum() for a in att["weights"]], 1.0)
        assert set(att["src"].tolist()) <= set(w.indices.tolist())


def test_training_is_reproducible(task):
    frames, y = task["val"]
    cfg = TrainConfig(epochs=2, batch_size=8, seed=3)
    a = mpnn_classifier(hidden=8, steps=2, dropout=0.2, seed=1).fit(frames, y, config=cfg, val_fraction=0.25)
    b = mpnn_classifier(hidden=8, steps=2, dropout=0.2, seed=1).fit(frames, y, config=cfg, val_fraction=0.25)
    c = mpnn_classifier(hidden=8, steps=2, dropout=0.2, seed=1).fit(frames, y, config=TrainConfig(epochs=2, batch_size=8, seed=4),
                                                                     val_fraction=0.25)
    sa, sb, sc = a.model.state_dict(), b.model.state_dict(), c.model.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


# ============================================================================ D-MPNN
def _graphs(sizes=(7, 12, 5), k=2, seed=0):
    rng = np.random.default_rng(seed)
    return [graph_from_points(rng.uniform(0, 3, (n, 2)), rng.integers(1, 3, n), k) for n in sizes]


def test_collate_offsets_and_reverse_edges():
    graphs = _graphs()
    b = collate_graphs(graphs, 2)
    assert b.n_graphs == 3 and b.n_nodes == sum(g.n_nodes for g in graphs)
    src, dst, rev = b.src.numpy(), b.dst.numpy(), b.rev.numpy()
    assert np.array_equal(src[rev], dst) and np.array_equal(dst[rev], src)
    ng, eg = b.node_graph.numpy(), b.edge_graph.numpy()
    assert np.array_equal(ng[src], eg) and np.array_equal(ng[dst], eg)  # no edge between graphs
    assert np.array_equal(b.x.numpy().argmax(1) + 1, np.concatenate([g.types for g in graphs]))
    off = graphs[0].n_nodes
    e0 = graphs[0].n_edges
    assert np.array_equal(src[e0:e0 + graphs[1].n_edges], graphs[1].src + off)


def _reference_dmpnn(model: DMPNN, graph, n_types=2):
    """The D-MPNN equations with explicit loops over edges (float64, one graph)."""
    p = {k: v.detach().double().numpy() for k, v in model.state_dict().items()}
    relu = lambda z: np.maximum(z, 0.0)
    x = np.eye(n_types)[graph.types - 1]
    edges = list(zip(graph.src.tolist(), graph.dst.tolist()))
    h0 = [relu(p["W_i.weight"] @ np.concatenate([x[v], [np.float32(graph.dist[e])]])) for e, (v, w) in enumerate(edges)]
    h = list(h0)
    alphas = []
    for t in range(model.steps):
        new = []
        for e, (v, w) in enumerate(edges):
            m = sum((h[f] for f, (kk, vv) in enumerate(edges) if vv == v and kk != w), np.zeros(model.hidden))
            new.append(relu(h0[e] + p["W_m.weight"] @ m))
        if model.attention and t < model.attention_steps:
            s = np.array([p["w_a.weight"][0] @ relu(p["W_a.weight"] @ he) + p["w_a.bias"][0] for he in new])
            a = np.exp(s - s.max())
            a /= a.sum()
            alphas.append(a)
            new = [a[e] * new[e] for e in range(len(edges))]
        h = new
    g = np.zeros(model.hidden)
    for v in range(graph.n_nodes):
        into = sum((h[f] for f, (kk, vv) in enumerate(edges) if vv == v), np.zeros(model.hidden))
        g += relu(p["W_o.weight"] @ np.concatenate([x[v], into]) + p["W_o.bias"])
    z = relu(p["ffn.1.weight"] @ g + p["ffn.1.bias"])
    return p["ffn.4.weight"] @ z + p["ffn.4.bias"], alphas


@pytest.mark.parametrize("attention", [False, True])
def test_dmpnn_matches_the_equations(attention):
    torch.manual_seed(0)
    model = DMPNN(hidden=6, steps=3, ffn_layers=2, ffn_hidden=4, attention=attention, attention_steps=2).double().eval()
    graph = _graphs(sizes=(9,), k=2, seed=4)[0]
    logits, alphas = model(collate_graphs([graph], 2).to(dtype=torch.float64))
    ref, ref_alphas = _reference_dmpnn(model, graph)
    assert np.allclose(logits.detach().numpy()[0], ref, atol=1e-10)
    assert len(alphas) == len(ref_alphas) == (2 if attention else 0)
    for a, r in zip(alphas, ref_alphas):
        assert np.allclose(a.detach().numpy(), r, atol=1e-12)


def test_attention_weights_per_edge_sum_to_one_in_each_graph():
    torch.manual_seed(1)
    model = DMPNN(hidden=16, steps=3, attention=True, attention_steps=2).eval()
    graphs = _graphs(sizes=(7, 30, 12, 3))
    batch = collate_graphs(graphs, 2)
    _, alphas = model(batch)
    assert len(alphas) == 2
    for a in alphas:
        a = a.detach().double().numpy()
        assert a.shape == (batch.n_edges,)
        assert np.all(a >= 0)
        sums = np.bincount(batch.edge_graph.numpy(), weights=a, minlength=batch.n_graphs)
        assert np.allclose(sums, 1.0, atol=1e-6)
        assert not np.allclose(a, np.repeat(1.0 / np.array([g.n_edges for g in graphs]),
                                            [g.n_edges for g in graphs]))  # not trivially uniform
    _, none = DMPNN(hidden=8, steps=2).eval()(batch)
    assert none == []


@pytest.mark.parametrize("attention", [False, True])
def test_mpnn_invariant_to_permutation_and_rotation(attention):
    torch.manual_seed(2)
    model = DMPNN(hidden=32, steps=3, attention=attention).double().eval()
    rng = np.random.default_rng(7)
    pos = rng.uniform(0, 8, (80, 2))
    types = rng.integers(1, 3, 80)
    perm = rng.permutation(80)
    rot = pos[:, ::-1] * [-1.0, 1.0]  # (x, y) -> (-y, x): 90 degrees
    variants = [(pos, types), (pos[perm], types[perm]), (rot, types), (rot[perm] + 3.0, types[perm])]
    def logits(p, t, net=model, dtype=torch.float64):
        with torch.no_grad():
            return net(collate_graphs([graph_from_points(p, t, 3)], 2).to(dtype=dtype))[0].numpy()[0]

    out = [logits(p, t) for p, t in variants]
    for o in out[1:]:
        assert np.allclose(o, out[0], atol=1e-5, rtol=0)
    # in float32 too, up to rounding (logits of an untrained sum-readout network are large)
    model32 = DMPNN(hidden=32, steps=3, attention=attention).eval()
    model32.load_state_dict({k: v.float() for k, v in model.state_dict().items()})
    out32 = [logits(p, t, model32, torch.float32) for p, t in variants]
    scale = np.abs(out32[0]).max()
    for o in out32[1:]:
        assert np.abs(o - out32[0]).max() <= 1e-5 * max(scale, 1.0)
    # and it does depend on the structure
    assert not np.allclose(logits(pos * 1.3, types), out[0], atol=1e-3)


# ============================================================================ CNN and data
def test_cnn_default_architecture_and_resampling():
    net = CNN()
    assert net.fc1.in_features == 16 * 59 * 59  # 250 -> 246 -> 123 -> 119 -> 59
    assert [net.conv1.out_channels, net.conv2.out_channels, net.fc1.out_features, net.out.out_features] == [6, 16, 80, 2]
    small = CNN(image_size=32, fc=8).eval()
    x = torch.rand(2, 3, 64, 64)
    assert small(x).shape == (2, 2)  # 64 px input resampled to 32 px
    assert torch.allclose(small(x), small(torch.nn.functional.avg_pool2d(x, 2)), atol=1e-6)
    with pytest.raises(ValueError):
        CNN(image_size=12)


def test_augmentation_rotates_and_flips():
    base = np.arange(4 * 4 * 3, dtype=np.uint8).reshape(1, 4, 4, 3)
    images = np.repeat(base, 800, axis=0)
    out = augment_images(images, np.random.default_rng(0))
    group = [np.rot90(base[0], k) for k in range(4)] + [np.rot90(base[0], k)[::-1] for k in range(4)]
    which = np.array([[np.array_equal(o, g) for g in group].index(True) for o in out])
    counts = np.bincount(which, minlength=8)
    assert np.all(counts > 60)  # all eight symmetries occur, about 100 times each
    assert abs(counts[4:].sum() / 800 - 0.5) < 0.06  # flipped with probability 0.5


def test_lr_schedule_warmup_then_exponential_decay():
    kw = dict(steps_per_epoch=10, epochs=10, lr_init=1e-4, lr_max=1e-3, lr_final=1e-5, warmup_epochs=2)
    lrs = np.array([lr_schedule(s, **kw) for s in range(101)])
    assert lrs[0] == pytest.approx(1e-4)
    assert lrs[10] == pytest.approx(1e-4 + 0.5 * 9e-4)
    assert lrs[20] == pytest.approx(1e-3) and lrs.argmax() == 20
    assert lrs[100] == pytest.approx(1e-5)
    assert np.all(np.diff(lrs[:21]) > 0) and np.all(np.diff(lrs[20:]) < 0)
    ratios = lrs[21:101] / lrs[20:100]
    assert np.allclose(ratios, ratios[0])  # exponential


def test_device_defaults_to_cpu():
    assert resolve_device("cpu").type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


def test_featurizer_refuses_unknown_types():
    f = Frame([[1.0, 1.0], [2.0, 2.0], [3.0, 1.0]], [1, 3, 2], Box.orthorhombic([4.0, 4.0]), source="t3.dump", index=1)
    with pytest.raises(InputError, match=r"t3\.dump.*frame 1.*type 3"):
        GraphFeaturizer(n_types=2).encode(f, Window([0, 1, 2], (0, 0), 1.0))


# ============================================================================ model files
@pytest.fixture(scope="module")
def saved(tmp_path_factory, task):
    frames, y = task["val"]
    cfg = TrainConfig(epochs=1, batch_size=8, seed=0)
    out = {}
    folder = tmp_path_factory.mktemp("models")
    for kind, clf in (("mpnn", mpnn_classifier(hidden=8, steps=2, side=(0.3, 0.5), attention=True, seed=0)),
                      ("cnn", cnn_classifier(pixels=32, side=0.4, fc=8, seed=0))):
        clf.fit(frames, y, config=cfg, val_fraction=0.25)
        path = folder / f"{kind}.gdnn"
        save_model(clf, path, extra={"note": "test"})
        out[kind] = (clf, path)
    return out


@pytest.mark.parametrize("kind", ["mpnn", "cnn"])
def test_model_file_round_trip(saved, task, kind):
    clf, path = saved[kind]
    loaded = load_model(path)
    frames, _ = task["test"]
    p0 = clf.predict_proba(frames[:6], n_windows=2, seed=5)
    p1 = loaded.predict_proba(frames[:6], n_windows=2, seed=5)
    assert np.abs(p0 - p1).max() < 1e-6
    assert loaded.architecture() == clf.architecture()
    assert loaded.featurizer == clf.featurizer
    meta = read_meta(path)
    assert meta["format"] == "glassdyn-deep-model" and meta["format_version"] == 1
    assert meta["torch_version"] == torch.__version__ and "glassdyn_version" in meta
    assert meta["architecture"]["params"] == clf.model.config()
    assert meta["extra"] == {"note": "test"} and len(meta["training"]["history"]) == 1
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["meta.json", "weights.npz"]


def _rewrite(src, dst, *, drop=(), add=None, replace=None):
    """Copy a model file, dropping / adding / replacing members."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            if name in drop:
                continue
            data = (replace or {}).get(name, zin.read(name))
            zout.writestr(name, data)
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return dst


def _weights(path) -> dict:
    with zipfile.ZipFile(path) as z, np.load(io.BytesIO(z.read("weights.npz")), allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def _npz(arrays: dict, allow_pickle=False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, a in arrays.items():
            b = io.BytesIO()
            np.save(b, a, allow_pickle=allow_pickle)
            z.writestr(f"{name}.npy", b.getvalue())
    return buf.getvalue()


class _MakesMarker:
    """Unpickling this creates a file (the payload of a malicious pickle)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_model_file_refuses_tampering(saved, tmp_path):
    _, good = saved["mpnn"]
    w = _weights(good)
    name0 = sorted(w)[0]
    cases = {
        "extra member": _rewrite(good, tmp_path / "extra.gdnn", add={"notes.txt": b"hello"}),
        "pickle-named member": _rewrite(good, tmp_path / "pkl.gdnn", add={"model.pkl": pickle.dumps([1, 2])}),
        "missing meta": _rewrite(good, tmp_path / "nometa.gdnn", drop={"meta.json"}),
        "missing array": _rewrite(good, tmp_path / "missing.gdnn",
                                  replace={"weights.npz": _npz({k: v for k, v in w.items() if k != name0})}),
        "extra array": _rewrite(good, tmp_path / "extraarr.gdnn",
                                replace={"weights.npz": _npz({**w, "backdoor": np.zeros(3, np.float32)})}),
        "pickle-named array": _rewrite(good, tmp_path / "pklarr.gdnn", replace={
            "weights.npz": _zip_with(_npz(w), {"W_i.weight.pkl": pickle.dumps(1)}).getvalue()}),
        "wrong shape": _rewrite(good, tmp_path / "shape.gdnn",
                                replace={"weights.npz": _npz({**w, "W_i.weight": np.zeros((3, 3), np.float32)})}),
        "wrong dtype": _rewrite(good, tmp_path / "dtype.gdnn",
                                replace={"weights.npz": _npz({**w, "W_i.weight": w["W_i.weight"].astype(np.float64)})}),
        "non-finite": _rewrite(good, tmp_path / "nan.gdnn",
                               replace={"weights.npz": _npz({**w, "W_i.weight": np.full_like(w["W_i.weight"], np.nan)})}),
        "unknown architecture": _rewrite(good, tmp_path / "arch.gdnn", replace={"meta.json": _meta(good, kind="evil")}),
        "unknown parameter": _rewrite(good, tmp_path / "param.gdnn", replace={"meta.json": _meta(good, hidden_layers=3)}),
        "architecture mismatch": _rewrite(good, tmp_path / "hidden.gdnn", replace={"meta.json": _meta(good, hidden=9)}),
    }
    not_zip = tmp_path / "notzip.gdnn"
    not_zip.write_bytes(b"PK? not really a zip file\n" * 10)
    cases["not a zip"] = not_zip
    raw_pickle = tmp_path / "raw.gdnn"
    raw_pickle.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    cases["a pickle"] = raw_pickle
    for what, path in cases.items():
        with pytest.raises(InputError) as info:
            load_model(path)
        assert path.name in str(info.value), what
    assert load_model(good) is not None  # the original still loads


def _zip_with(npz_bytes: bytes, extra: dict) -> io.BytesIO:
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(npz_bytes)) as zin, zipfile.ZipFile(buf, "w") as zout:
        for n in zin.namelist():
            zout.writestr(n, zin.read(n))
        for n, d in extra.items():
            zout.writestr(n, d)
    return buf


def _meta(path, kind=None, **params) -> bytes:
    with zipfile.ZipFile(path) as z:
        meta = json.loads(z.read("meta.json"))
    if kind is not None:
        meta["architecture"]["kind"] = kind
    meta["architecture"]["params"].update(params)
    return json.dumps(meta).encode()


def test_loading_never_unpickles(saved, tmp_path, monkeypatch):
    _, good = saved["mpnn"]
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_MakesMarker(marker))
    w = _weights(good)
    evil_array = np.empty(1, dtype=object)
    evil_array[0] = _MakesMarker(marker)
    files = [
        _rewrite(good, tmp_path / "a.gdnn", replace={"weights.npz": payload}),
        _rewrite(good, tmp_path / "b.gdnn", add={"data.pkl": payload}),
        _rewrite(good, tmp_path / "c.gdnn", replace={"weights.npz": _npz({**w, "W_i.weight": evil_array},
                                                                          allow_pickle=True)}),
        _rewrite(good, tmp_path / "d.gdnn", replace={"meta.json": payload}),
    ]
    for path in files:
        with pytest.raises(InputError):
            load_model(path)
        assert not marker.exists()

    def forbidden(*args, **kwargs):
        raise AssertionError("pickle or torch.load used while loading a model file")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    assert load_model(good).kind == "mpnn"
    monkeypatch.undo()
    # the payload is live: unpickling it does create the marker
    pickle.loads(payload).close()
    assert marker.exists()
